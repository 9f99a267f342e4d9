//! The S3 half of `restore-drill sweep`: finds what killed `s3_versions` runs left behind by
//! their run markers (`marker.rs`) and by the `restore-drill:run-id` tag of buckets a run
//! created, and deletes it: every version and delete marker under the run's target prefix,
//! the marker last, then the bucket if a run created it and nothing else is left in it.
//!
//! Only a marker whose bucket and prefix match where it sits, or a bucket tag, names
//! anything to delete: a bucket without either (a source) is only listed, never written. A
//! bucket whose tagging failed when a run created it is known by that run's marker
//! (`created-bucket`), and deleted, like a tagged one, only once it is empty.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::EncodingType;
use chrono::{DateTime, Utc};

use super::marker::{self, MARKER_NAME, RunMarker};
use super::{TAG_DRILL, TAG_EXPIRES_AT, TAG_RUN_ID, delete_prefix, error_chain, keys};
use crate::provider::ProviderError;
use crate::provider::aws::Session;

/// One run prefix or bucket found, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Found {
    pub resource: String,
    pub run_id: String,
    pub drill: String,
    pub created: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
    pub stale: bool,
    /// `None` = deleted (or would be, on a dry run); `Some` = why it is still there.
    pub error: Option<String>,
}

/// Decides whether a run's leftovers are stale: (run id, created, expires).
pub(crate) type IsStale<'a> =
    &'a dyn Fn(&str, Option<DateTime<Utc>>, Option<DateTime<Utc>>) -> bool;

/// Sweeps the buckets located in `region`.
pub(crate) async fn sweep(
    session: &Session,
    region: &str,
    is_stale: IsStale<'_>,
    dry_run: bool,
) -> Result<Vec<S3Found>, ProviderError> {
    let client = session.s3(Some(region));
    let mut buckets = Vec::new();
    let mut pages = client.list_buckets().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            ProviderError::harness(format!("cannot list the S3 buckets: {}", error_chain(&e)))
        })?;
        for b in page.buckets() {
            if let Some(name) = b.name() {
                buckets.push((
                    name.to_owned(),
                    b.creation_date().and_then(crate::provider::aws::to_chrono),
                ));
            }
        }
    }
    let mut found = Vec::new();
    let home = session.region();
    for (bucket, created) in buckets {
        if !in_region(&client, &bucket, region, &home).await {
            continue;
        }
        found.extend(sweep_bucket(&client, &bucket, created, is_stale, dry_run).await);
    }
    Ok(found)
}

/// Whether `bucket` lives in `region`. A bucket that cannot be located is left alone, but
/// for one case: a store that answers `GetBucketLocation` with a 200 the SDK cannot read
/// (SeaweedFS sends `<CreateBucketConfiguration>` instead of S3's `<LocationConstraint>`)
/// has no regions, and its buckets are taken as in the configured region `home`, there only.
async fn in_region(client: &Client, bucket: &str, region: &str, home: &str) -> bool {
    match client.get_bucket_location().bucket(bucket).send().await {
        Ok(out) => {
            let at = match out.location_constraint().map(|c| c.as_str()) {
                None | Some("") => "us-east-1",
                Some("EU") => "eu-west-1",
                Some(other) => other,
            };
            at == region
        }
        Err(e) => {
            let unreadable_200 =
                e.raw_response().is_some_and(|r| r.status().as_u16() == 200) && e.code().is_none();
            if unreadable_200 {
                return region == home;
            }
            tracing::warn!("cannot locate bucket {bucket}: {}", error_chain(&e));
            false
        }
    }
}

async fn sweep_bucket(
    client: &Client,
    bucket: &str,
    created: Option<DateTime<Utc>>,
    is_stale: IsStale<'_>,
    dry_run: bool,
) -> Vec<S3Found> {
    let tags = bucket_tags(client, bucket).await;
    let tag = |k: &str| tags.iter().find(|(t, _)| t == k).map(|(_, v)| v.clone());
    let mut found = Vec::new();
    let markers = match markers(client, bucket).await {
        Ok(m) => m,
        Err(e) => {
            // A bucket a run created still counts as found, and stays; any other is skipped.
            let Some(run_id) = tag(TAG_RUN_ID) else {
                tracing::warn!("skipped, no run markers looked for: {e}");
                return found;
            };
            let expires = tag(TAG_EXPIRES_AT).and_then(|t| parse_time(&t));
            found.push(S3Found {
                resource: format!("S3 bucket s3://{bucket}"),
                stale: is_stale(&run_id, created, expires),
                run_id,
                drill: tag(TAG_DRILL).unwrap_or_default(),
                created,
                expires,
                error: Some(e),
            });
            return found;
        }
    };
    let mut live_runs = Vec::new();
    // The stale run whose marker says it created the bucket: the bucket is still its, should
    // tagging the bucket have failed when it was created.
    let mut creator: Option<RunMarker> = None;
    for run in markers {
        let stale = is_stale(&run.run_id, Some(run.created_at), Some(run.expires_at));
        let mut f = S3Found {
            resource: format!("S3 objects s3://{bucket}/{}", run.prefix),
            run_id: run.run_id.clone(),
            drill: run.drill.clone(),
            created: Some(run.created_at),
            expires: Some(run.expires_at),
            stale,
            error: None,
        };
        if !stale {
            live_runs.push(run.run_id.clone());
        } else if !dry_run {
            let last = marker::key_of(&run.prefix);
            f.error = match delete_prefix(client, bucket, &run.prefix, Some(&last)).await {
                Ok(0) => None,
                Ok(n) => Some(format!("{n} object versions are still there")),
                Err(e) => Some(e),
            };
        }
        if stale && f.error.is_none() && run.created_bucket {
            creator = Some(run);
        }
        found.push(f);
    }
    let (run_id, drill, expires, stale) = match (tag(TAG_RUN_ID), creator) {
        (Some(run_id), _) => {
            let expires = tag(TAG_EXPIRES_AT).and_then(|t| parse_time(&t));
            let stale = is_stale(&run_id, created, expires);
            (run_id, tag(TAG_DRILL).unwrap_or_default(), expires, stale)
        }
        (None, Some(run)) => (run.run_id, run.drill, Some(run.expires_at), true),
        (None, None) => return found,
    };
    let mut f = S3Found {
        resource: format!("S3 bucket s3://{bucket}"),
        run_id,
        drill,
        created,
        expires,
        // A later run may restore into a bucket an earlier one created: while that run is
        // not stale, the bucket stays.
        stale: stale && live_runs.is_empty(),
        error: None,
    };
    if f.stale && !dry_run {
        f.error = delete_empty_bucket(client, bucket).await.err();
    }
    found.push(f);
    found
}

/// The bucket's tags; none when it has none or they cannot be read.
async fn bucket_tags(client: &Client, bucket: &str) -> Vec<(String, String)> {
    match client.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
        Err(e) => {
            use aws_sdk_s3::error::ProvideErrorMetadata;
            if e.code() != Some("NoSuchTagSet") {
                tracing::warn!(
                    "cannot read the tags of bucket {bucket}: {}",
                    error_chain(&e)
                );
            }
            Vec::new()
        }
    }
}

/// Every run marker in `bucket` that names where it sits.
async fn markers(client: &Client, bucket: &str) -> Result<Vec<RunMarker>, String> {
    let mut keys_found = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .encoding_type(EncodingType::Url)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("cannot list s3://{bucket}: {}", error_chain(&e)))?;
        let encoded = matches!(page.encoding_type(), Some(EncodingType::Url));
        for o in page.contents() {
            let key = keys::listed_key(o.key(), encoded)?;
            if key.ends_with(MARKER_NAME) {
                keys_found.push(key);
            }
        }
    }
    let mut out = Vec::new();
    for key in keys_found {
        match marker::read(client, bucket, &key).await? {
            Some(run) => out.push(run),
            None => tracing::warn!("s3://{bucket}/{key} is not a run marker of where it sits"),
        }
    }
    Ok(out)
}

/// Deletes `bucket` if nothing is left in it: not a version, not a delete marker.
async fn delete_empty_bucket(client: &Client, bucket: &str) -> Result<(), String> {
    let left = client
        .list_object_versions()
        .bucket(bucket)
        .max_keys(1)
        .send()
        .await
        .map_err(|e| format!("cannot list s3://{bucket}: {}", error_chain(&e)))?;
    if !left.versions().is_empty() || !left.delete_markers().is_empty() {
        return Err("the bucket still holds objects no run marker accounts for".into());
    }
    client
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    Ok(())
}

fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
