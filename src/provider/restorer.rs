//! One restore of a drill, whatever its kind: the engine drives it through resolve, copy,
//! restore, prepare and teardown without knowing the platform.

use chrono::{DateTime, Utc};

use super::aws::{AwsSettings, backup::BackupRestore, rds::RdsRestore, s3::S3Restore};
use super::local::LocalPitr;
use super::{ProviderError, RecoveryPoint, Target, Waited};
use crate::drill::{DrillPlan, ProviderSpec, RestoreKind, RestorePlan};

/// What every restore of a run shares.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: String,
    /// Whether targets die with this process (false when they may be kept).
    pub tied: bool,
}

/// A restore in progress. An enum rather than a trait object: each platform's restore is a
/// state machine with async steps, and the set of platforms is closed.
#[derive(Debug)]
pub enum Restorer {
    LocalPitr(Box<LocalPitr>),
    Rds(Box<RdsRestore>),
    S3(Box<S3Restore>),
    Backup(Box<BackupRestore>),
}

impl Restorer {
    /// Builds the restore for a plan entry. Fails (blaming the harness) for kinds this build
    /// cannot restore yet, and when a password variable the drill names is not set.
    pub fn new(plan: &DrillPlan, r: &RestorePlan) -> Result<Self, ProviderError> {
        match &r.kind {
            RestoreKind::PgPitr {
                source,
                to,
                target,
                connect,
            } => {
                let password = match &connect.password_env {
                    Some(var) => Some(std::env::var(var).map_err(|_| {
                        ProviderError::harness(format!(
                            "restore \"{}\": the environment variable {var} (connect.password_env) is not set",
                            r.id
                        ))
                    })?),
                    None => None,
                };
                let pg_bin_dir = match &plan.provider {
                    ProviderSpec::Local { pg_bin_dir } => pg_bin_dir.as_deref(),
                    ProviderSpec::Aws { .. } => None,
                };
                Ok(Restorer::LocalPitr(Box::new(LocalPitr::new(
                    &r.id,
                    source,
                    *to,
                    target.clone(),
                    connect.clone(),
                    password,
                    pg_bin_dir,
                ))))
            }
            RestoreKind::S3Versions {
                bucket,
                prefix,
                to,
                target,
                concurrency,
            } => Ok(Restorer::S3(Box::new(S3Restore::new(
                &r.id,
                &plan.name,
                bucket,
                prefix,
                *to,
                target.clone(),
                *concurrency,
                aws_settings(plan, r)?,
                plan.timeouts.total(),
            )))),
            RestoreKind::BackupRecoveryPoint { .. } => Ok(Restorer::Backup(Box::new(
                BackupRestore::new(plan, r, aws_settings(plan, r)?)?,
            ))),
            RestoreKind::RdsPitr { .. }
            | RestoreKind::RdsSnapshot { .. }
            | RestoreKind::RdsClusterPitr { .. }
            | RestoreKind::RdsClusterSnapshot { .. } => Ok(Restorer::Rds(Box::new(
                RdsRestore::new(plan, r, aws_settings(plan, r)?)?,
            ))),
        }
    }

    /// Whether the restore has a `copy` phase (a cross-region snapshot copy).
    pub fn has_copy(&self) -> bool {
        match self {
            Restorer::Rds(r) => r.has_copy(),
            Restorer::LocalPitr(_) | Restorer::S3(_) | Restorer::Backup(_) => false,
        }
    }

    pub async fn resolve(
        &mut self,
        incident: DateTime<Utc>,
    ) -> Result<RecoveryPoint, ProviderError> {
        match self {
            Restorer::LocalPitr(r) => r.resolve(incident).await,
            Restorer::Rds(r) => r.resolve(incident).await,
            Restorer::S3(r) => r.resolve(incident).await,
            Restorer::Backup(r) => r.resolve(incident).await,
        }
    }

    pub async fn copy(&mut self, cx: &RunContext) -> Result<Waited, ProviderError> {
        match self {
            Restorer::Rds(r) => r.copy(cx).await,
            Restorer::LocalPitr(_) | Restorer::S3(_) | Restorer::Backup(_) => Ok(Waited::default()),
        }
    }

    pub async fn restore(&mut self, cx: &RunContext) -> Result<Waited, ProviderError> {
        match self {
            Restorer::LocalPitr(r) => r.restore(&cx.run_id, cx.tied).await,
            Restorer::Rds(r) => r.restore(cx).await,
            Restorer::S3(r) => r.restore(cx).await,
            Restorer::Backup(r) => r.restore(cx).await,
        }
    }

    pub async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        match self {
            Restorer::LocalPitr(r) => r.prepare().await,
            Restorer::Rds(r) => r.prepare().await,
            Restorer::S3(r) => r.prepare().await,
            Restorer::Backup(r) => r.prepare().await,
        }
    }

    /// Removes everything the restore created. Idempotent; `Err` lists what remains.
    pub async fn teardown(&mut self) -> Result<(), Vec<String>> {
        match self {
            Restorer::LocalPitr(r) => r.teardown().await,
            Restorer::Rds(r) => r.teardown().await,
            Restorer::S3(r) => r.teardown().await,
            Restorer::Backup(r) => r.teardown().await,
        }
    }

    /// Notes for the report's recovery point, gathered after resolve (e.g. a fallback).
    pub fn notes(&self) -> Vec<String> {
        match self {
            Restorer::LocalPitr(r) => r.notes().to_vec(),
            Restorer::Rds(r) => r.notes(),
            Restorer::S3(r) => r.notes(),
            Restorer::Backup(r) => r.notes(),
        }
    }

    /// How to reach a target left up by `--keep`, and stop it later.
    pub fn keep(&mut self) -> Option<String> {
        match self {
            Restorer::LocalPitr(r) => {
                let how = r.how_to_reach();
                r.keep();
                how
            }
            Restorer::Rds(r) => r.keep(),
            Restorer::S3(r) => r.keep(),
            Restorer::Backup(r) => r.keep(),
        }
    }
}

/// The AWS settings of a drill whose provider is AWS (validation guarantees it for AWS kinds).
fn aws_settings(plan: &DrillPlan, r: &RestorePlan) -> Result<AwsSettings, ProviderError> {
    AwsSettings::of(&plan.provider).ok_or_else(|| {
        ProviderError::harness(format!(
            "restore \"{}\": kind {} needs [provider] kind = \"aws\"",
            r.id,
            r.kind_name()
        ))
    })
}

impl Restorer {
    /// What checks see of an object restore (`s3_versions`), once its objects are copied.
    pub fn objects(&self) -> Option<super::aws::s3::RestoredObjects> {
        match self {
            Restorer::S3(r) => r.objects(),
            Restorer::Backup(r) => r.objects(),
            Restorer::LocalPitr(_) | Restorer::Rds(_) => None,
        }
    }
}
