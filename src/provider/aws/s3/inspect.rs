//! What a version listing does not say, asked of S3 at resolve: the region each bucket lives
//! in (the Rust SDK does not follow a 301 PermanentRedirect to it), and per chosen version
//! its encryption and whether it can be copied at all. One `HeadObject` per version:
//!
//! - SSE-KMS versions are copied under KMS again (their ETag is no MD5, so checks compare
//!   content another way); SSE-C versions cannot be read without their key, and S3 answers
//!   their `HeadObject` with a bare 400: they are refused here, by name.
//! - GLACIER and DEEP_ARCHIVE versions are copyable once restored
//!   (`x-amz-restore: ongoing-request="false", …`); Intelligent-Tiering versions are not
//!   while they sit in an archive tier (`x-amz-archive-status`).

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use futures_util::StreamExt;

use super::SourceObject;
use crate::provider::ProviderError;
use crate::provider::aws::error_chain;

/// Versions quoted by name in a refusal; the count covers all of them.
const QUOTED: usize = 5;

/// The region `bucket` lives in: `x-amz-bucket-region` of its `HeadBucket` answer (S3 sends
/// it on a 200, on the 301 of a request to the wrong region and on a 403), else
/// `GetBucketLocation`. `None` when neither names one (the bucket is missing, or the store
/// has no regions): callers keep the drill's region and let the next call tell.
pub(crate) async fn bucket_region(client: &Client, bucket: &str) -> Option<String> {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(out) => {
            if let Some(r) = out.bucket_region().filter(|r| !r.is_empty()) {
                return Some(r.to_owned());
            }
        }
        Err(e) => {
            if let Some(r) = e
                .raw_response()
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .filter(|r| !r.is_empty())
            {
                return Some(r.to_owned());
            }
            if e.as_service_error().is_some_and(|s| s.is_not_found()) {
                return None;
            }
        }
    }
    let out = client
        .get_bucket_location()
        .bucket(bucket)
        .send()
        .await
        .ok()?;
    // An empty constraint is us-east-1 on AWS, but S3-compatible stores answer it too: keep
    // the drill's region then (AWS always sends the HeadBucket header anyway).
    match out.location_constraint().map(|c| c.as_str()) {
        None | Some("") => None,
        Some("EU") => Some("eu-west-1".to_owned()),
        Some(other) => Some(other.to_owned()),
    }
}

/// What `HeadObject` said of the chosen versions.
#[derive(Debug, Default)]
pub(crate) struct Inspected {
    /// Keys of SSE-C versions.
    pub sse_c: Vec<String>,
    /// (key, archive status) of Intelligent-Tiering versions in an archive tier.
    pub archived: Vec<(String, String)>,
    /// (key, storage class) of GLACIER / DEEP_ARCHIVE versions not restored.
    pub cold: Vec<(String, String)>,
    /// GLACIER / DEEP_ARCHIVE versions with a restored copy, copyable.
    pub restored_cold: u64,
    pub kms: u64,
}

pub(crate) enum Head {
    Seen {
        encryption: Option<String>,
        kms_key_id: Option<String>,
        sse_c: bool,
        archive_status: Option<String>,
        storage_class: Option<String>,
        restore: Option<String>,
    },
    /// A bare 400: what S3 answers for an SSE-C object read without its key.
    SseC,
}

/// Looks at every version with `HeadObject`, `concurrency` at a time, and records each
/// one's encryption in it.
pub(crate) async fn inspect(
    client: &Client,
    bucket: &str,
    objects: &mut [SourceObject],
    concurrency: usize,
) -> Result<Inspected, ProviderError> {
    let heads: Vec<Result<Head, ProviderError>> = futures_util::stream::iter(objects.iter())
        .map(|o| head(client, None, bucket, o))
        .buffered(concurrency.clamp(1, 256))
        .collect()
        .await;
    let mut out = Inspected::default();
    for (o, h) in objects.iter_mut().zip(heads) {
        out.record(o, h?);
    }
    Ok(out)
}

impl Inspected {
    /// Records what `HeadObject` said of `o` (its encryption goes into it); whether it can
    /// be copied as it is.
    pub(crate) fn record(&mut self, o: &mut SourceObject, h: Head) -> bool {
        match h {
            Head::SseC => {
                self.sse_c.push(o.key.clone());
                false
            }
            Head::Seen {
                encryption,
                kms_key_id,
                sse_c,
                archive_status,
                storage_class,
                restore,
            } => {
                if sse_c {
                    self.sse_c.push(o.key.clone());
                    return false;
                }
                if encryption
                    .as_deref()
                    .is_some_and(|e| e.starts_with("aws:kms"))
                {
                    self.kms += 1;
                }
                o.encryption = encryption;
                o.kms_key_id = kms_key_id;
                if let Some(a) = archive_status {
                    self.archived.push((o.key.clone(), a));
                    return false;
                }
                let class = storage_class.or_else(|| o.storage_class.clone());
                if matches!(class.as_deref(), Some("GLACIER" | "DEEP_ARCHIVE")) {
                    if restored(restore.as_deref()) {
                        self.restored_cold += 1;
                    } else {
                        self.cold.push((o.key.clone(), class.unwrap_or_default()));
                        return false;
                    }
                }
                true
            }
        }
    }

    /// Whether any version seen so far is one S3 will not copy as it is.
    pub(crate) fn refuses(&self) -> bool {
        !self.sse_c.is_empty() || !self.archived.is_empty() || !self.cold.is_empty()
    }
}

/// Whether the listing's storage class says a version may sit in an archive (GLACIER,
/// DEEP_ARCHIVE, or an archive tier of Intelligent-Tiering): only `HeadObject` tells whether
/// it can be copied, so such versions are looked at whatever `copy_encryption` says.
pub(crate) fn may_be_archived(o: &SourceObject) -> bool {
    matches!(
        o.storage_class.as_deref(),
        Some("GLACIER" | "DEEP_ARCHIVE" | "INTELLIGENT_TIERING")
    )
}

/// What is known of a version not looked at (`copy_encryption = "target_default"`): what
/// its listing said, nothing more; its copy gets the target bucket's default encryption.
pub(crate) fn unseen() -> Head {
    Head::Seen {
        encryption: None,
        kms_key_id: None,
        sse_c: false,
        archive_status: None,
        storage_class: None,
        restore: None,
    }
}

/// Whether `x-amz-restore` says a restored copy is there to read.
fn restored(header: Option<&str>) -> bool {
    header.is_some_and(|h| h.replace(' ', "").contains("ongoing-request=\"false\""))
}

/// `HeadObject` of `o`'s version: through `wire` when there is one for the bucket
/// (`wire.rs`), else the SDK's client.
pub(crate) async fn head(
    client: &Client,
    wire: Option<&super::wire::Wire>,
    bucket: &str,
    o: &SourceObject,
) -> Result<Head, ProviderError> {
    let answer = match wire.filter(|w| w.bucket() == bucket) {
        Some(w) => w
            .head_object(&o.key, &o.version_id)
            .await
            .map_err(|e| (e.status, e.code.clone(), format!("HeadObject: {e}"))),
        None => client
            .head_object()
            .bucket(bucket)
            .key(&o.key)
            .version_id(&o.version_id)
            .send()
            .await
            .map(|h| super::wire::HeadAnswer {
                encryption: h.server_side_encryption().map(|e| e.as_str().to_owned()),
                kms_key_id: h.ssekms_key_id().map(str::to_owned),
                sse_customer_algorithm: h.sse_customer_algorithm().map(str::to_owned),
                archive_status: h.archive_status().map(|a| a.as_str().to_owned()),
                storage_class: h.storage_class().map(|c| c.as_str().to_owned()),
                restore: h.restore().map(str::to_owned),
            })
            .map_err(|e| {
                (
                    e.raw_response().map(|r| r.status().as_u16()),
                    code(&e).map(str::to_owned),
                    error_chain(&e),
                )
            }),
    };
    match answer {
        Ok(h) => Ok(Head::Seen {
            encryption: h.encryption,
            kms_key_id: h.kms_key_id,
            sse_c: h.sse_customer_algorithm.is_some(),
            archive_status: h.archive_status,
            storage_class: h.storage_class,
            restore: h.restore,
        }),
        Err((status, code, detail)) => {
            let message = format!(
                "cannot read the headers of s3://{bucket}/{} (version {}): {detail}",
                o.key, o.version_id
            );
            if status == Some(400) {
                Ok(Head::SseC)
            } else if status == Some(404) || super::source_missing(code.as_deref()) {
                Err(ProviderError::restore(message))
            } else {
                Err(ProviderError::harness(message))
            }
        }
    }
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    e.as_service_error().and_then(|s| s.code())
}

/// The refusal of versions S3 will not copy as they are, if any.
pub(crate) fn refusal(found: &Inspected, source: &str) -> Option<ProviderError> {
    if !found.sse_c.is_empty() {
        return Some(ProviderError::restore(format!(
            "{} of the versions to restore under {source} are encrypted with customer-provided keys (SSE-C): S3 answers HeadObject for them with 400 Bad Request and copies them only with their key, which a drill cannot supply; restore them with their key outside restore-drill or re-encrypt them with SSE-S3 or SSE-KMS ({})",
            found.sse_c.len(),
            quoted(found.sse_c.iter().map(String::as_str))
        )));
    }
    if !found.archived.is_empty() {
        return Some(ProviderError::restore(format!(
            "{} of the versions to restore under {source} are in an Intelligent-Tiering archive tier and cannot be copied before a RestoreObject request ({})",
            found.archived.len(),
            quoted(found.archived.iter().map(|(k, a)| format!("{k} ({a})")))
        )));
    }
    if !found.cold.is_empty() {
        return Some(ProviderError::restore(format!(
            "{} of the versions to restore under {source} are in GLACIER or DEEP_ARCHIVE without a restored copy and cannot be copied before a RestoreObject request ({})",
            found.cold.len(),
            quoted(found.cold.iter().map(|(k, c)| format!("{k} ({c})")))
        )));
    }
    None
}

fn quoted<S: AsRef<str>>(keys: impl Iterator<Item = S>) -> String {
    let all: Vec<S> = keys.collect();
    let mut s: Vec<String> = all
        .iter()
        .take(QUOTED)
        .map(|k| format!("\"{}\"", k.as_ref()))
        .collect();
    if all.len() > QUOTED {
        s.push(format!("and {} more", all.len() - QUOTED));
    }
    s.join(", ")
}

#[cfg(test)]
mod tests {
    use super::restored;

    #[test]
    fn only_a_finished_restore_is_copyable() {
        assert!(restored(Some(
            "ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\""
        )));
        assert!(!restored(Some("ongoing-request=\"true\"")));
        assert!(!restored(None));
    }
}
