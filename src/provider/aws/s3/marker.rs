//! The run marker: one object at target prefix + `.restore-drill-run.json`, written before the
//! first copy and deleted last, that says which run wrote the prefix and until when it may
//! live. A run killed mid-copy leaves it behind, and `sweep` finds the run's objects by it.
//!
//! The key is the prefix itself followed by the name (`drill/RUN/.restore-drill-run.json`
//! for `drill/RUN/`), so a listing of the prefix holds it: teardown and sweep delete it with
//! the rest (last), and the restored-set view leaves it out.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::sdk_error;
use crate::provider::ProviderError;

/// What follows the target prefix in the marker's key.
pub(crate) const MARKER_NAME: &str = ".restore-drill-run.json";

/// The marker's key for a target prefix.
pub(crate) fn key_of(prefix: &str) -> String {
    format!("{prefix}{MARKER_NAME}")
}

/// What the marker holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RunMarker {
    pub run_id: String,
    pub drill: String,
    pub restore: String,
    pub bucket: String,
    pub prefix: String,
    /// The run created the bucket (and tagged it with its run id).
    pub created_bucket: bool,
    pub created_at: DateTime<Utc>,
    /// The same moment as the bucket's `restore-drill:expires-at` tag.
    pub expires_at: DateTime<Utc>,
}

/// Writes the marker of `run` into its bucket.
pub(crate) async fn write(client: &Client, run: &RunMarker) -> Result<(), ProviderError> {
    let body = serde_json::to_vec_pretty(run)
        .map_err(|e| ProviderError::harness(format!("cannot encode the run marker: {e}")))?;
    let key = key_of(&run.prefix);
    client
        .put_object()
        .bucket(&run.bucket)
        .key(&key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| {
            sdk_error(
                &format!("cannot write the run marker s3://{}/{key}", run.bucket),
                &e,
            )
        })?;
    Ok(())
}

/// Reads the marker at `key` of `bucket`. `Ok(None)`: the object is not a marker of this
/// bucket and prefix (unreadable, or copied from elsewhere), so nothing may be deleted by it.
pub(crate) async fn read(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<RunMarker>, String> {
    let Some(prefix) = key.strip_suffix(MARKER_NAME) else {
        return Ok(None);
    };
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read s3://{bucket}/{key}: {}",
                super::error_chain(&e)
            )
        })?;
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| format!("cannot read s3://{bucket}/{key}: {e}"))?
        .into_bytes();
    let Ok(run) = serde_json::from_slice::<RunMarker>(&body) else {
        return Ok(None);
    };
    // A marker copied along with other objects (a kept target restored again) names
    // another place: it is not the marker of what sits here.
    if run.bucket != bucket || run.prefix != prefix || prefix.is_empty() {
        return Ok(None);
    }
    Ok(Some(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips_with_kebab_case_fields() {
        let run = RunMarker {
            run_id: "20261130T160000Z-ab12".into(),
            drill: "files".into(),
            restore: "docs".into(),
            bucket: "b".into(),
            prefix: "drill/x/".into(),
            created_bucket: true,
            created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            expires_at: DateTime::from_timestamp(1_700_003_600, 0).unwrap_or_default(),
        };
        let text = serde_json::to_string(&run).unwrap_or_default();
        assert!(
            text.contains("\"expires-at\":\"2023-11-14T23:13:20Z\""),
            "{text}"
        );
        assert!(
            text.contains("\"run-id\":\"20261130T160000Z-ab12\""),
            "{text}"
        );
        let back: RunMarker = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, run);
        assert_eq!(key_of("drill/x/"), "drill/x/.restore-drill-run.json");
    }
}
