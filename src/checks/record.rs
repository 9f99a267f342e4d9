//! `restore-drill manifest`: records what a database or an S3 prefix holds now, as a
//! reference manifest for later checks. Apart from `manifest.rs` (the types), so the checks
//! that read manifests and the recorders that use those checks do not import each other.

use chrono::{DateTime, Utc};

use super::context::CheckTarget;
use super::manifest::{MANIFEST_VERSION, Manifest, ObjectManifest};

/// Records a manifest of `tables` (each with its key columns) and the schema of `schemas`.
pub async fn record_manifest(
    target: &CheckTarget,
    tables: &[(String, Vec<String>)],
    schemas: &[String],
    ranges: u32,
) -> Result<Manifest, String> {
    let mut out = Vec::new();
    for (table, key) in tables {
        out.push(super::checksum::manifest_of(target, table, key, ranges).await?);
    }
    let schema = if schemas.is_empty() {
        None
    } else {
        let client = target.client().await?;
        Some(super::schema::snapshot(&client, schemas).await?)
    };
    Ok(Manifest {
        format_version: MANIFEST_VERSION,
        kind: "postgresql".into(),
        taken_at: Utc::now(),
        source: format!("{}:{}/{}", target.host, target.port, target.database),
        tables: out,
        schema,
        bucket: None,
        prefix: None,
        as_of: None,
        objects: Vec::new(),
    })
}

/// Records a manifest of the objects under `s3://bucket/prefix` that were current at `at`
/// (default: now): key, size and SHA-256 of each, read with the drill-independent AWS
/// settings given.
pub async fn record_s3_manifest(
    settings: &crate::provider::aws::AwsSettings,
    bucket: &str,
    prefix: &str,
    at: Option<DateTime<Utc>>,
    concurrency: usize,
) -> Result<Manifest, String> {
    let taken_at = Utc::now();
    let objects =
        crate::provider::aws::s3::manifest_objects(settings, bucket, prefix, at, concurrency)
            .await?;
    Ok(Manifest {
        format_version: MANIFEST_VERSION,
        kind: "s3".into(),
        taken_at,
        source: format!("s3://{bucket}/{prefix}"),
        tables: Vec::new(),
        schema: None,
        bucket: Some(bucket.to_owned()),
        prefix: Some(prefix.to_owned()),
        as_of: Some(at.unwrap_or(taken_at)),
        objects: objects
            .into_iter()
            .map(|o| ObjectManifest {
                key: o.key,
                size: o.size,
                sha256: o.sha256,
                version_id: Some(o.version_id),
                last_modified: Some(o.last_modified),
            })
            .collect(),
    })
}
