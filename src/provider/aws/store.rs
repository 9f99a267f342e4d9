//! The S3 side of a shared store (`--store s3://bucket/prefix`): objects read, listed and
//! written with S3's conditional writes (`If-None-Match: *` creates only a new object,
//! `If-Match: ETAG` replaces only the version that was read), optionally each under Object
//! Lock retention from the moment it is written. No lock service: a write that loses a race
//! is told so by S3 (412 PreconditionFailed, or 409 ConditionalRequestConflict while another
//! conditional write of the key is in flight) and the caller decides again.
//!
//! Plain types in and out; SDK types stay in this module. The history chain built on these
//! objects lives in `crate::store`.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectLockEnabled;
use chrono::{Duration, Utc};

use super::evidence_upload::LockMode;
use super::{AwsSettings, Session, error_chain};
use crate::provider::ProviderError;

/// How long and how every object is locked when it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub mode: LockMode,
    pub days: u32,
}

/// An object as read: its bytes and the ETag a conditional replace names.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub etag: String,
}

/// The condition of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Only if no object has the key (`If-None-Match: *`).
    New,
    /// Only if the object still has this ETag (`If-Match`).
    Unchanged(String),
}

/// What a conditional write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The object is written; its version id when the bucket is versioned.
    Yes { version_id: Option<String> },
    /// The condition did not hold (another writer was first): nothing was written.
    Lost,
}

/// A bucket and prefix holding a store.
#[derive(Debug, Clone)]
pub struct S3Store {
    s3: Client,
    pub bucket: String,
    /// Empty, or ends with `/`.
    pub prefix: String,
    pub retention: Option<Retention>,
}

impl S3Store {
    /// Connects to the store's bucket (in whatever region it lives) and checks it can be
    /// read; with `retention`, that the bucket has Object Lock enabled, before anything is
    /// written.
    pub async fn open(
        settings: &AwsSettings,
        bucket: &str,
        prefix: &str,
        retention: Option<Retention>,
    ) -> Result<S3Store, ProviderError> {
        let session = Session::load(settings).await?;
        let probe = session.s3(None);
        let region = super::s3::inspect::bucket_region(&probe, bucket).await;
        let s3 = match region {
            Some(r) if r != session.region() => session.s3(Some(&r)),
            _ => probe,
        };
        if let Err(e) = s3.head_bucket().bucket(bucket).send().await {
            let missing = e.as_service_error().is_some_and(|s| s.is_not_found());
            return Err(ProviderError::harness(if missing {
                format!("the store's bucket {bucket} does not exist (create it first)")
            } else {
                format!(
                    "cannot reach the store's bucket {bucket}: {}",
                    error_chain(&e)
                )
            }));
        }
        if retention.is_some() {
            let enabled = match s3
                .get_object_lock_configuration()
                .bucket(bucket)
                .send()
                .await
            {
                Ok(out) => {
                    out.object_lock_configuration()
                        .and_then(|c| c.object_lock_enabled())
                        == Some(&ObjectLockEnabled::Enabled)
                }
                Err(e) if e.code() == Some("ObjectLockConfigurationNotFoundError") => false,
                Err(e) => {
                    return Err(ProviderError::harness(format!(
                        "cannot read the Object Lock configuration of the store's bucket \
                         {bucket}: {}",
                        error_chain(&e)
                    )));
                }
            };
            if !enabled {
                return Err(ProviderError::harness(format!(
                    "--store-retain-days needs Object Lock, and the store's bucket {bucket} \
                     does not have it enabled (create the bucket with \
                     --object-lock-enabled-for-bucket); nothing was run"
                )));
            }
        }
        let prefix = prefix.trim_matches('/');
        Ok(S3Store {
            s3,
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            retention,
        })
    }

    /// The full key of a key relative to the store's prefix.
    pub fn key(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }

    /// `s3://bucket/prefix/rel`, for messages.
    pub fn url(&self, rel: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(rel))
    }

    /// Reads an object; `None` when there is none.
    pub async fn get(&self, rel: &str) -> Result<Option<Fetched>, ProviderError> {
        let out = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(self.key(rel))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => {
                return Err(ProviderError::harness(format!(
                    "cannot read {}: {}",
                    self.url(rel),
                    error_chain(&e)
                )));
            }
        };
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let body = out.body.collect().await.map_err(|e| {
            ProviderError::harness(format!(
                "cannot read {}: {}",
                self.url(rel),
                error_chain(&e)
            ))
        })?;
        Ok(Some(Fetched {
            body: body.into_bytes().to_vec(),
            etag,
        }))
    }

    /// Writes an object if `condition` holds, under the store's retention if it has one
    /// (retained from now for its days).
    pub async fn put(
        &self,
        rel: &str,
        body: Vec<u8>,
        condition: Condition,
    ) -> Result<Written, ProviderError> {
        let mut put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(rel))
            .content_type(content_type(rel))
            .body(ByteStream::from(body));
        put = match &condition {
            Condition::New => put.if_none_match("*"),
            Condition::Unchanged(etag) => put.if_match(etag),
        };
        if let Some(r) = self.retention {
            let until = Utc::now() + Duration::days(i64::from(r.days));
            // The SDK adds a CRC32 checksum, which S3 requires for a locked upload.
            put = put
                .object_lock_mode(r.mode.sdk())
                .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(
                    until.timestamp(),
                ));
        }
        match put.send().await {
            Ok(out) => Ok(Written::Yes {
                version_id: out.version_id().map(str::to_owned),
            }),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let code = e.code();
                if status == Some(412)
                    || status == Some(409)
                    || matches!(
                        code,
                        Some("PreconditionFailed") | Some("ConditionalRequestConflict")
                    )
                {
                    return Ok(Written::Lost);
                }
                Err(ProviderError::harness(format!(
                    "cannot write {}: {}",
                    self.url(rel),
                    error_chain(&e)
                )))
            }
        }
    }

    /// The keys under `rel_prefix` (relative to the store's prefix), in S3's order (by
    /// UTF-8 bytes), every page.
    pub async fn list(&self, rel_prefix: &str) -> Result<Vec<String>, ProviderError> {
        let mut keys = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.key(rel_prefix))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                ProviderError::harness(format!(
                    "cannot list {}: {}",
                    self.url(rel_prefix),
                    error_chain(&e)
                ))
            })?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    keys.push(k.strip_prefix(&self.prefix).unwrap_or(k).to_owned());
                }
            }
        }
        Ok(keys)
    }
}

fn content_type(key: &str) -> &'static str {
    match key.rsplit_once('.').map_or("", |(_, e)| e) {
        "json" => "application/json",
        "html" => "text/html; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        _ => "application/octet-stream",
    }
}
