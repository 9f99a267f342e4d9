//! `s3_versions`: an S3 prefix as of a moment, rebuilt from object versions into an isolated
//! bucket/prefix with server-side copies.

use chrono::{DateTime, Utc};

use super::AwsSettings;
use crate::drill::{PointSpec, S3Target};
use crate::provider::{ProviderError, RecoveryPoint, RunContext, Target, Waited};

#[derive(Debug)]
pub struct S3Restore {
    id: String,
    drill: String,
    bucket: String,
    prefix: String,
    to: PointSpec,
    target: S3Target,
    concurrency: u32,
    settings: AwsSettings,
    notes: Vec<String>,
}

impl S3Restore {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: &str,
        drill: &str,
        bucket: &str,
        prefix: &str,
        to: PointSpec,
        target: S3Target,
        concurrency: u32,
        settings: AwsSettings,
    ) -> Self {
        S3Restore {
            id: id.to_owned(),
            drill: drill.to_owned(),
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            to,
            target,
            concurrency,
            settings,
            notes: Vec::new(),
        }
    }

    pub async fn resolve(
        &mut self,
        _incident: DateTime<Utc>,
    ) -> Result<RecoveryPoint, ProviderError> {
        let _ = (
            &self.id,
            &self.drill,
            &self.bucket,
            &self.prefix,
            &self.to,
            &self.target,
            self.concurrency,
            &self.settings,
        );
        Err(ProviderError::harness(
            "s3_versions restores are not built yet",
        ))
    }

    pub async fn restore(&mut self, _cx: &RunContext) -> Result<Waited, ProviderError> {
        Err(ProviderError::harness(
            "s3_versions restores are not built yet",
        ))
    }

    pub async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        Err(ProviderError::harness(
            "s3_versions restores are not built yet",
        ))
    }

    pub async fn teardown(&mut self) -> Result<(), Vec<String>> {
        Ok(())
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    /// `--keep`: leave the restored objects; returns how to find and remove them.
    pub fn keep(&mut self) -> Option<String> {
        None
    }
}
