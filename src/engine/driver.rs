//! What the engine drives: one restore, phase by phase. `Restorer` (every real platform) is
//! one implementation; tests drive the engine with a scripted one that finishes each phase at
//! a chosen moment on a paused clock.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::checks::{CheckContext, CheckTarget, restored_set_check, run_check, run_object_check};
use crate::drill::{CheckPlan, RestoreKind, RestorePlan};
use crate::provider::{ProviderError, RecoveryPoint, Restorer, RunContext, Target, Waited};
use crate::report::{CheckReport, WarmupReport};

use super::warmup::WarmupJob;

/// What the `verify` phase of one restore has to work with.
#[derive(Debug, Clone)]
pub struct VerifyJob<'a> {
    pub restore: &'a RestorePlan,
    /// The checks that name this restore, in drill order.
    pub checks: Vec<&'a CheckPlan>,
    /// How SQL checks reach the target; `None` for a target that is not a database.
    pub target: Option<CheckTarget>,
    /// The recovery point's newest data by metadata.
    pub restored_to: Option<DateTime<Utc>>,
    pub pg_bin_dir: Option<PathBuf>,
    /// How to reach the other restores of the run, for checks that compare.
    pub others: HashMap<String, CheckTarget>,
}

/// Called with every finished check and the newest data a freshness check found.
pub type CheckDone<'a> = &'a (dyn Fn(&CheckReport, Option<DateTime<Utc>>) + Sync);

/// One restore, as the engine drives it. Each phase returns what it waited for; a provider
/// that polls also reports every look through `provider::poll`, so the engine knows its polls
/// even when it drops the phase (timeout, interruption).
pub trait RestoreDriver {
    /// Whether the restore has a `copy` phase (a cross-region snapshot copy).
    fn has_copy(&self) -> bool;

    fn resolve(
        &mut self,
        incident: DateTime<Utc>,
    ) -> impl Future<Output = Result<RecoveryPoint, ProviderError>>;

    fn copy(&mut self, cx: &RunContext) -> impl Future<Output = Result<Waited, ProviderError>>;

    fn restore(&mut self, cx: &RunContext) -> impl Future<Output = Result<Waited, ProviderError>>;

    fn prepare(&mut self) -> impl Future<Output = Result<(Target, Waited), ProviderError>>;

    /// Runs every check of the restore, calling `done` as each finishes. `Err` only when the
    /// checks could not run at all; failed checks are told through `done`.
    fn verify(
        &mut self,
        job: &VerifyJob<'_>,
        done: CheckDone<'_>,
    ) -> impl Future<Output = Result<(), ProviderError>>;

    /// Removes everything the restore created. Idempotent; `Err` lists what remains.
    fn teardown(&mut self) -> impl Future<Output = Result<(), Vec<String>>>;

    /// Notes for the report's recovery point, gathered after resolve (e.g. a fallback).
    fn notes(&self) -> Vec<String>;

    /// Leaves the target up; says how to reach it.
    fn keep(&mut self) -> Option<String>;

    /// Warms the restored database up (`[restore.warmup]`), after every check passed: by
    /// default, the query in a session on the target. Never fails: the report says whether
    /// the bound was reached, and why not.
    fn warmup(&mut self, job: &WarmupJob<'_>) -> impl Future<Output = WarmupReport> {
        super::warmup::on_database(job)
    }
}

impl RestoreDriver for Restorer {
    fn has_copy(&self) -> bool {
        Restorer::has_copy(self)
    }

    fn resolve(
        &mut self,
        incident: DateTime<Utc>,
    ) -> impl Future<Output = Result<RecoveryPoint, ProviderError>> {
        Restorer::resolve(self, incident)
    }

    fn copy(&mut self, cx: &RunContext) -> impl Future<Output = Result<Waited, ProviderError>> {
        Restorer::copy(self, cx)
    }

    fn restore(&mut self, cx: &RunContext) -> impl Future<Output = Result<Waited, ProviderError>> {
        Restorer::restore(self, cx)
    }

    fn prepare(&mut self) -> impl Future<Output = Result<(Target, Waited), ProviderError>> {
        Restorer::prepare(self)
    }

    /// A restore of objects is first checked against the versions it was meant to restore,
    /// then by its checks of objects; a database by SQL.
    async fn verify(
        &mut self,
        job: &VerifyJob<'_>,
        done: CheckDone<'_>,
    ) -> Result<(), ProviderError> {
        let objects = self.objects();
        let cx = job.target.clone().map(|target| CheckContext {
            target,
            restored_to: job.restored_to,
            pg_bin_dir: job.pg_bin_dir.clone(),
            others: job.others.clone(),
        });
        let source_prefix = match &job.restore.kind {
            RestoreKind::S3Versions { prefix, .. } => prefix.as_str(),
            _ => "",
        };
        if let Some(objects) = &objects {
            done(&restored_set_check(&job.restore.id, objects).await, None);
        }
        for check in &job.checks {
            let (report, fresh) = match (&objects, &cx) {
                (Some(objects), _) => run_object_check(check, objects, source_prefix).await,
                (None, Some(cx)) => run_check(check, cx).await,
                (None, None) => {
                    return Err(ProviderError::harness(
                        "this target cannot be checked with SQL",
                    ));
                }
            };
            done(&report, fresh);
        }
        Ok(())
    }

    fn teardown(&mut self) -> impl Future<Output = Result<(), Vec<String>>> {
        Restorer::teardown(self)
    }

    fn notes(&self) -> Vec<String> {
        Restorer::notes(self)
    }

    fn keep(&mut self) -> Option<String> {
        Restorer::keep(self)
    }
}
