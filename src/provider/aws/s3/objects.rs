//! What checks see of an `s3_versions` restore, as plain data: the versions that were meant
//! to come back, what the target prefix holds, and SHA-256 hashes of restored objects. Also
//! what `restore-drill manifest --s3` records. The SDK stays in here.
//!
//! Neither side is held in full: the versions meant to come back are read from the spill
//! file the restore wrote (`spill.rs`), the target's listing a page at a time
//! (`TargetListing`), both in key order, so the checks can merge them.

use std::sync::Arc;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::EncodingType;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::spill::{ExpectedReader, Spill};
use super::{Session, keys, list_as_of, list_into};
use crate::provider::aws::{AwsSettings, error_chain};

/// The version of one key that was current at the restore point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    /// The full source key.
    pub key: String,
    pub version_id: String,
    pub size: u64,
    /// As listed, quoted (`"9b2c…"`; multipart uploads end in `-N`).
    pub etag: String,
    pub last_modified: DateTime<Utc>,
    pub storage_class: Option<String>,
    /// The version carries a SHA-256 checksum.
    pub sha256: bool,
    /// Its server-side encryption as HeadObject tells it at resolve: `AES256` (SSE-S3),
    /// `aws:kms` or `aws:kms:dsse` (SSE-KMS); `None` when unencrypted or not looked at.
    pub encryption: Option<String>,
    /// The KMS key of an SSE-KMS version.
    pub kms_key_id: Option<String>,
}

impl SourceObject {
    /// Whether its ETag is an MD5 of its content: a single-part upload that is unencrypted
    /// or under SSE-S3 (SSE-KMS and SSE-C ETags are not; multipart ones end in `-N`).
    pub fn etag_is_md5(&self) -> bool {
        !self.etag.contains('-') && matches!(self.encryption.as_deref(), None | Some("AES256"))
    }
}

/// An object in the target prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The source key it stands for: its target key less the target prefix.
    pub key: String,
    pub size: u64,
    pub etag: String,
}

/// An object's content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedObject {
    pub key: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
    pub version_id: String,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug)]
pub(crate) struct Parts {
    pub session: Session,
    /// A client of the source bucket's region.
    pub source: Client,
    pub target: Client,
    pub bucket: String,
    pub prefix: String,
    pub source_bucket: String,
    pub source_prefix: String,
    pub restored_to: DateTime<Utc>,
    /// The versions meant to be there, in key order.
    pub expected: Arc<Spill>,
    pub concurrency: usize,
}

/// A restore's objects, for checks. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RestoredObjects {
    inner: Arc<Parts>,
}

impl RestoredObjects {
    pub(crate) fn new(parts: Parts) -> Self {
        RestoredObjects {
            inner: Arc::new(parts),
        }
    }

    /// A view of objects restored earlier (e.g. kept with `--keep`) under
    /// `s3://bucket/prefix`, from `s3://source_bucket/source_prefix` as of `at`: resolves the
    /// source again to know what should be there. The listing is collected here (as
    /// `list_as_of` does), then written to a spill file like a restore's.
    pub async fn attach(
        settings: &AwsSettings,
        bucket: &str,
        prefix: &str,
        source_bucket: &str,
        source_prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<RestoredObjects, String> {
        let session = Session::load(settings).await.map_err(|e| e.message)?;
        let home = session.s3(None);
        let source = session.s3(super::inspect::bucket_region(&home, source_bucket)
            .await
            .as_deref());
        let target = session.s3(super::inspect::bucket_region(&home, bucket)
            .await
            .as_deref());
        let (mut expected, _) = list_as_of(&source, source_bucket, source_prefix, at)
            .await
            .map_err(|e| e.message)?;
        super::inspect::inspect(&source, source_bucket, &mut expected, 32)
            .await
            .map_err(|e| e.message)?;
        let (spill, mut writer) = Spill::create()?;
        for o in &expected {
            writer.push(o)?;
        }
        writer.finish()?;
        drop(expected);
        Ok(RestoredObjects::new(Parts {
            session,
            source,
            target,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            source_bucket: source_bucket.to_owned(),
            source_prefix: source_prefix.to_owned(),
            restored_to: at,
            expected: spill,
            concurrency: 32,
        }))
    }

    /// `s3://bucket/prefix` of the target.
    pub fn location(&self) -> String {
        format!("s3://{}/{}", self.inner.bucket, self.inner.prefix)
    }

    /// `s3://bucket/prefix` of the source.
    pub fn source_location(&self) -> String {
        format!(
            "s3://{}/{}",
            self.inner.source_bucket, self.inner.source_prefix
        )
    }

    pub fn restored_to(&self) -> DateTime<Utc> {
        self.inner.restored_to
    }

    /// The versions that were current at the restore point, in key order, read from disk.
    pub fn expected(&self) -> Result<ExpectedReader, String> {
        self.inner.expected.reader()
    }

    /// Every object in the target prefix whose source key starts with `under`, in key order.
    pub async fn list(&self, under: &str) -> Result<Vec<StoredObject>, String> {
        let mut listing = self.listing(under);
        let mut out = Vec::new();
        while let Some(page) = listing.next_page().await? {
            out.extend(page);
        }
        Ok(out)
    }

    /// The objects in the target prefix whose source key starts with `under`, a page at a
    /// time, in key order.
    pub fn listing(&self, under: &str) -> TargetListing {
        TargetListing {
            objects: self.clone(),
            full: format!("{}{under}", self.inner.prefix),
            token: None,
            ended: false,
        }
    }

    /// How far the source (a replica) is behind `primary` under `prefix` at the restore
    /// point: the versions current in the primary then whose key the replica lacks or holds
    /// with another size or ETag (replication keeps both): how many, and the oldest (the
    /// first in key order among the oldest). The primary's listing streams (`list_into`) and
    /// is merged with the restored set; neither is held in full.
    pub async fn unreplicated(
        &self,
        primary: &str,
        region: Option<&str>,
        prefix: &str,
    ) -> Result<Behind, String> {
        let p = &self.inner;
        let client = p.session.s3(region);
        let mut replica = self.expected()?.peekable();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<SourceObject>(1024);
        let flow = super::pipeline::Flow::default();
        // `list_into` sends keys in strictly increasing order or fails (it refuses a listing
        // that goes backwards), and the replica's reader refuses the same: the merge can
        // rely on both.
        let merge = async move {
            let mut behind = Behind::default();
            while let Some(o) = rx.recv().await {
                // The replica's keys before this one are not in the primary: not lag.
                while replica
                    .next_if(|r| {
                        r.as_ref()
                            .is_ok_and(|r| r.key.as_bytes() < o.key.as_bytes())
                    })
                    .is_some()
                {}
                let same = match replica.next_if(|r| r.as_ref().map_or(true, |r| r.key == o.key)) {
                    Some(r) => {
                        let r = r?;
                        r.size == o.size && r.etag == o.etag
                    }
                    None => false,
                };
                if !same {
                    behind.count += 1;
                    if behind
                        .oldest
                        .as_ref()
                        .is_none_or(|b| o.last_modified < b.last_modified)
                    {
                        behind.oldest = Some(o.clone());
                    }
                }
            }
            Ok::<_, String>(behind)
        };
        let (listed, behind) = tokio::join!(
            async {
                let r = list_into(&client, primary, prefix, p.restored_to, &tx, &flow).await;
                drop(tx);
                r
            },
            merge
        );
        let behind = behind?;
        listed.map_err(|e| e.message)?;
        Ok(behind)
    }

    /// Whether each restored object holds the same content as its source version, for
    /// objects whose ETags say nothing (SSE-KMS) or disagree: equal `x-amz-checksum-*` of
    /// both (GetObjectAttributes) when both have the same full-object checksum, else SHA-256
    /// of both read in full. Each is asked as (source key, source version id). `Ok(None)` =
    /// the same; `Ok(Some((source, restored)))` = what differs. Results come back in the
    /// order asked.
    pub async fn same_content(
        &self,
        versions: &[(String, String)],
    ) -> Vec<Result<Option<(String, String)>, String>> {
        let p = &self.inner;
        futures_util::stream::iter(versions)
            .map(|(k, version)| async move {
                let target_key = format!("{}{k}", p.prefix);
                let (a, b) = tokio::join!(
                    checksum(&p.source, &p.source_bucket, k, Some(version)),
                    checksum(&p.target, &p.bucket, &target_key, None)
                );
                if let (Some(a), Some(b)) = (a, b)
                    && a.0 == b.0
                {
                    return Ok((a.1 != b.1)
                        .then(|| (format!("{} {}", a.0, a.1), format!("{} {}", b.0, b.1))));
                }
                let a = hash(&p.source, &p.source_bucket, k.clone(), Some(version)).await?;
                let b = hash(&p.target, &p.bucket, target_key, None).await?;
                Ok((a != b).then(|| (format!("sha256 {a}"), format!("sha256 {b}"))))
            })
            .buffered(p.concurrency.clamp(1, 64))
            .collect()
            .await
    }

    /// SHA-256 of each restored object (by source key), read in full, a bounded number at a
    /// time. Results come back in the order asked.
    pub async fn sha256(&self, source_keys: &[String]) -> Vec<Result<String, String>> {
        let p = &self.inner;
        futures_util::stream::iter(source_keys)
            .map(|k| hash(&p.target, &p.bucket, format!("{}{k}", p.prefix), None))
            .buffered(p.concurrency.clamp(1, 64))
            .collect()
            .await
    }
}

/// How far a replica is behind its primary (`RestoredObjects::unreplicated`).
#[derive(Debug, Default, Clone)]
pub struct Behind {
    /// Versions current in the primary that the replica lacks or holds otherwise.
    pub count: usize,
    /// The oldest of them.
    pub oldest: Option<SourceObject>,
}

/// The target's listing, a page at a time (`ListObjectsV2`, continued by its token).
#[derive(Debug)]
pub struct TargetListing {
    objects: RestoredObjects,
    /// The full target prefix listed.
    full: String,
    token: Option<String>,
    ended: bool,
}

impl TargetListing {
    /// The next page's objects, in S3's key order (the run marker left out); `None` once the
    /// listing has ended. The checks' merge (`checks::s3::Merge`) refuses a listing that
    /// goes backwards.
    pub async fn next_page(&mut self) -> Result<Option<Vec<StoredObject>>, String> {
        if self.ended {
            return Ok(None);
        }
        let p = &self.objects.inner;
        let location = self.objects.location();
        let page = p
            .target
            .list_objects_v2()
            .bucket(&p.bucket)
            .prefix(&self.full)
            .encoding_type(EncodingType::Url)
            .set_continuation_token(self.token.clone())
            .send()
            .await
            .map_err(|e| format!("cannot list {location}: {}", error_chain(&e)))?;
        // As the SDK's paginator does: on while there is a token, and not the same again.
        let asked = self.token.take();
        self.token = page
            .next_continuation_token()
            .filter(|t| !t.is_empty() && Some(*t) != asked.as_deref())
            .map(str::to_owned);
        self.ended = self.token.is_none();
        let encoded = matches!(page.encoding_type(), Some(EncodingType::Url));
        let mut out = Vec::with_capacity(page.contents().len());
        for o in page.contents() {
            let key = keys::listed_key(o.key(), encoded)?;
            // The run marker is restore-drill's, not a restored object.
            if key == super::marker::key_of(&p.prefix) {
                continue;
            }
            let Some(source_key) = key.strip_prefix(&p.prefix) else {
                return Err(format!(
                    "the listing of {location} returned \"{key}\", outside it"
                ));
            };
            out.push(StoredObject {
                key: source_key.to_owned(),
                size: o.size().unwrap_or(0).max(0) as u64,
                etag: o.e_tag().unwrap_or_default().to_owned(),
            });
        }
        Ok(Some(out))
    }
}

/// An object's full-object checksum from GetObjectAttributes: (algorithm, value). `None`
/// when it has none, it is a composite (multipart) one, or the store does not answer.
async fn checksum(
    client: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Option<(&'static str, String)> {
    let out = client
        .get_object_attributes()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .object_attributes(aws_sdk_s3::types::ObjectAttributes::Checksum)
        .send()
        .await
        .ok()?;
    let c = out.checksum()?;
    let found = [
        ("sha256", c.checksum_sha256()),
        ("sha1", c.checksum_sha1()),
        ("crc64nvme", c.checksum_crc64_nvme()),
        ("crc32c", c.checksum_crc32_c()),
        ("crc32", c.checksum_crc32()),
    ];
    found
        .into_iter()
        .find_map(|(alg, v)| v.filter(|v| !v.contains('-')).map(|v| (alg, v.to_owned())))
}

/// Reads one object (version) in full and hashes it.
async fn hash(
    client: &Client,
    bucket: &str,
    key: String,
    version: Option<&str>,
) -> Result<String, String> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(&key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .map_err(|e| format!("cannot read s3://{bucket}/{key}: {}", error_chain(&e)))?;
    let mut body = out.body;
    let mut h = Sha256::new();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| format!("cannot read s3://{bucket}/{key}: {}", error_chain(&e)))?;
        h.update(&chunk);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The objects under `s3://bucket/prefix` with their SHA-256: the versions current at `at`
/// (default: now), for `restore-drill manifest --s3`.
pub async fn manifest_objects(
    settings: &AwsSettings,
    bucket: &str,
    prefix: &str,
    at: Option<DateTime<Utc>>,
    concurrency: usize,
) -> Result<Vec<HashedObject>, String> {
    let session = Session::load(settings).await.map_err(|e| e.message)?;
    let region = super::inspect::bucket_region(&session.s3(None), bucket).await;
    let client = session.s3(region.as_deref());
    let (objects, _) = list_as_of(&client, bucket, prefix, at.unwrap_or_else(Utc::now))
        .await
        .map_err(|e| e.message)?;
    let hashes: Vec<Result<String, String>> = futures_util::stream::iter(&objects)
        .map(|o| hash(&client, bucket, o.key.clone(), Some(&o.version_id)))
        .buffered(concurrency.clamp(1, 64))
        .collect()
        .await;
    objects
        .into_iter()
        .zip(hashes)
        .map(|(o, h)| {
            Ok(HashedObject {
                sha256: h?,
                key: o.key,
                size: o.size,
                version_id: o.version_id,
                last_modified: o.last_modified,
            })
        })
        .collect()
}
