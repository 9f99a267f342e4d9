//! Uploading an evidence bundle to S3 under Object Lock, so that nobody (in compliance mode
//! not even the account root) can delete or overwrite it before its retention date.
//!
//! The bucket must have Object Lock enabled (which also means versioning): that is checked
//! first, and nothing is uploaded into a bucket without it. Every object is written with its
//! lock mode and retain-until date, and read back with `GetObjectRetention` for the version
//! PutObject returned (HeadObject shows the lock headers only to a caller that also holds
//! `s3:GetObjectRetention`, and says nothing without it): an S3-compatible store that
//! accepts the headers but ignores them is an error, not silently mutable evidence.
//! Plain types in and out; SDK types stay in this module.

use std::path::PathBuf;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectLockEnabled, ObjectLockMode};
use chrono::{DateTime, Utc};

use super::{AwsSettings, Session, error_chain};
use crate::provider::ProviderError;

/// Object Lock retention mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// No one can shorten the retention or delete a locked version, the root user included.
    Compliance,
    /// Users with `s3:BypassGovernanceRetention` can; everyone else cannot.
    Governance,
}

impl LockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
        }
    }

    pub(super) fn sdk(self) -> ObjectLockMode {
        match self {
            LockMode::Compliance => ObjectLockMode::Compliance,
            LockMode::Governance => ObjectLockMode::Governance,
        }
    }
}

/// One object to upload: its key and the local file.
#[derive(Debug, Clone)]
pub struct UploadObject {
    pub key: String,
    pub path: PathBuf,
}

/// One object as uploaded and read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedObject {
    pub key: String,
    pub version_id: Option<String>,
}

/// Uploads `objects` to `bucket`, each locked in `mode` until `retain_until`, and confirms
/// the server holds each with that lock. Stops at the first failure: what was uploaded
/// before it stays (it is locked; that is the point).
pub async fn upload_locked(
    settings: &AwsSettings,
    bucket: &str,
    objects: &[UploadObject],
    mode: LockMode,
    retain_until: DateTime<Utc>,
) -> Result<Vec<LockedObject>, ProviderError> {
    let session = Session::load(settings).await?;
    let s3 = session.s3(None);
    match s3
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => {
            let enabled = out
                .object_lock_configuration()
                .and_then(|c| c.object_lock_enabled())
                == Some(&ObjectLockEnabled::Enabled);
            if !enabled {
                return Err(no_lock(bucket));
            }
        }
        Err(e) => {
            let service = e.as_service_error();
            if service.and_then(|s| s.code()) == Some("ObjectLockConfigurationNotFoundError") {
                return Err(no_lock(bucket));
            }
            return Err(ProviderError::harness(format!(
                "cannot read the Object Lock configuration of bucket {bucket}: {}",
                error_chain(&e)
            )));
        }
    }
    // S3 keeps retention dates to the second.
    let until_secs = retain_until.timestamp();
    let until = aws_sdk_s3::primitives::DateTime::from_secs(until_secs);
    let mut done = Vec::with_capacity(objects.len());
    for o in objects {
        let body = ByteStream::from_path(&o.path).await.map_err(|e| {
            ProviderError::harness(format!("cannot read {}: {e}", o.path.display()))
        })?;
        // The SDK adds a CRC32 checksum, which S3 requires for a locked upload.
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(&o.key)
            .body(body)
            .content_type(content_type(&o.key))
            .object_lock_mode(mode.sdk())
            .object_lock_retain_until_date(until)
            .send()
            .await
            .map_err(|e| {
                ProviderError::harness(format!(
                    "cannot upload s3://{bucket}/{}: {}",
                    o.key,
                    error_chain(&e)
                ))
            })?;
        // The version just written, not whatever is newest by now.
        let version = put.version_id().map(str::to_owned);
        let (got_mode, got_until) = match s3
            .get_object_retention()
            .bucket(bucket)
            .key(&o.key)
            .set_version_id(version.clone())
            .send()
            .await
        {
            Ok(out) if out.retention().and_then(|r| r.mode()).is_some() => {
                let held = out.retention();
                (
                    held.and_then(|r| r.mode()).map(|m| m.as_str().to_owned()),
                    held.and_then(|r| r.retain_until_date()).copied(),
                )
            }
            // Stores without GetObjectRetention (moto answers it with the object) may still
            // show the lock in HeadObject's headers, which S3 only sends for a real lock.
            answer => match s3
                .head_object()
                .bucket(bucket)
                .key(&o.key)
                .set_version_id(version.clone())
                .send()
                .await
            {
                Ok(h) if h.object_lock_mode().is_some() => (
                    h.object_lock_mode().map(|m| m.as_str().to_owned()),
                    h.object_lock_retain_until_date().copied(),
                ),
                _ => {
                    if let Err(e) = answer {
                        return Err(ProviderError::harness(format!(
                            "cannot read back the retention of s3://{bucket}/{} (it needs s3:GetObjectRetention): {}",
                            o.key,
                            error_chain(&e)
                        )));
                    }
                    (None, None)
                }
            },
        };
        if got_mode.as_deref() != Some(mode.as_str())
            || got_until.is_none_or(|d| d.secs() < until_secs)
        {
            return Err(ProviderError::harness(format!(
                "s3://{bucket}/{} was stored without the retention asked for (mode {}, until \
                 {}): this store does not apply Object Lock, so the evidence is not immutable",
                o.key,
                got_mode.as_deref().unwrap_or("none"),
                got_until
                    .as_ref()
                    .and_then(super::to_chrono)
                    .map_or_else(|| "none".to_owned(), |t| t.to_rfc3339())
            )));
        }
        done.push(LockedObject {
            key: o.key.clone(),
            version_id: version,
        });
    }
    Ok(done)
}

fn no_lock(bucket: &str) -> ProviderError {
    ProviderError::harness(format!(
        "bucket {bucket} does not have Object Lock enabled, so evidence there could be \
         deleted or overwritten; use a bucket created with Object Lock \
         (aws s3api create-bucket --object-lock-enabled-for-bucket ...); nothing was uploaded"
    ))
}

fn content_type(key: &str) -> &'static str {
    let ext = key.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" => "text/html; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "gz" => "application/gzip",
        "toml" | "sha256" | "sig" | "xml" | "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
