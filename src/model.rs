//! The one canonical run report, as plain data: a leaf module that imports nothing of the
//! crate. Every renderer (JSON, Markdown, JUnit, HTML, history) is a pure function of this
//! value; the engine's report builder is the only place one is assembled. Field names are a
//! contract with scripts outside this repository: add fields, never rename them (and bump
//! `format_version` when a meaning changes).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// 2: phases may carry `expected_seconds`; `measured.rpo_seconds` is signed (negative when a
/// restore holds data newer than the incident); history phase columns hold the critical path.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub format_version: u32,
    pub tool_version: String,
    pub drill: DrillRef,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Wall time of the whole run, start to end of teardown, from a monotonic clock.
    pub seconds: f64,
    pub incident_at: DateTime<Utc>,
    pub tier: TierRef,
    pub verdict: Verdict,
    /// Why the verdict is what it is, in one sentence.
    pub verdict_reason: String,
    pub measured: Measured,
    pub restores: Vec<RestoreReport>,
    pub checks: Vec<CheckReport>,
    pub teardown: TeardownReport,
    /// Set when the run was stopped by SIGINT or SIGTERM (exit 130 after teardown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// Who ran the drill: user, host and CI job. Absent in reports written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// For drills on AWS: the region, profile, endpoint and the retry and timeout settings
    /// every call of the run used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsSettings>,
}

/// Who or what ran a drill, as evidence for auditors: the operating-system user and host,
/// and the CI system, job link and triggering account when the run happened in CI. Taken
/// from the environment when the report is written; never a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `github-actions`, `gitlab-ci`, `jenkins`, `circleci`, `buildkite`, `azure-pipelines`,
    /// or `ci` for another system that sets `CI=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<String>,
    /// The pipeline or job run, as a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_run_url: Option<String>,
    /// The account that triggered the pipeline, as the CI system names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_actor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillRef {
    pub name: String,
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierRef {
    pub name: String,
    pub rto_seconds: f64,
    pub rpo_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    Missed,
    Failed,
    Invalid,
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "missed",
            Verdict::Failed => "failed",
            Verdict::Invalid => "invalid",
            Verdict::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RpoSource {
    /// The newest data found in the restored target by a freshness check.
    Data,
    /// The recovery point's metadata (target time, latest restorable time).
    Metadata,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// `None` when the run never got every restore usable.
    pub rto_seconds: Option<f64>,
    pub rpo_seconds: Option<f64>,
    pub rpo_source: Option<RpoSource>,
    pub detect_allowance_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreReport {
    pub id: String,
    pub kind: String,
    pub recovery_point: Option<RecoveryPoint>,
    pub target: Option<Target>,
    pub phases: Vec<PhaseReport>,
    /// Newest data present, from this restore's freshness checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_data_at: Option<DateTime<Utc>>,
    /// The warmup (`[restore.warmup]`) the verify phase ended with: its latency curve and
    /// whether it reached its bound. Absent when the drill has none or it did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<WarmupReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
    Timeout,
    Interrupted,
    /// Not run, because an earlier phase did not succeed.
    Skipped,
    /// Not run, because the target was kept (`--keep`).
    Kept,
}

impl Outcome {
    /// The outcome as `report.json` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Timeout => "timeout",
            Outcome::Interrupted => "interrupted",
            Outcome::Skipped => "skipped",
            Outcome::Kept => "kept",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub seconds: f64,
    pub polls: u32,
    /// Worst-case error of the end time, from polling.
    pub resolution_seconds: f64,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long this drill's previous runs took for this phase (their median), which the
    /// polling aimed at. Absent without history, and in reports before format 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seconds: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    Passed,
    Failed,
    /// The check could not run: never counted as a pass.
    Error,
}

impl CheckOutcome {
    /// As report.json spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckOutcome::Passed => "passed",
            CheckOutcome::Failed => "failed",
            CheckOutcome::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub restore: String,
    pub kind: String,
    pub name: String,
    pub outcome: CheckOutcome,
    pub findings: Vec<Finding>,
    pub seconds: f64,
    /// What the check found when it has one value to show, passed or not: the first value an
    /// `sql` check's query returned (`NULL`, or `no rows`). Absent for other checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `mismatch`, `missing`, `extra`, `changed`, `error`, …
    pub kind: String,
    /// The table, key or object key concerned.
    pub object: String,
    pub expected: String,
    pub found: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeardownReport {
    /// `done`, `kept`, or `leaked`.
    pub outcome: String,
    pub leaked: Vec<String>,
}

/// The thing a restore came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryPoint {
    /// e.g. `pitr`, `snapshot`, `object_versions`, `backup_recovery_point`.
    pub kind: String,
    /// e.g. the base backup's folder, a snapshot id.
    pub id: String,
    /// The point in time the restore goes back to; `None` = everything available.
    pub time: Option<DateTime<Utc>>,
    /// The newest moment the recovery point could restore to.
    pub latest_restorable: Option<DateTime<Utc>>,
    /// Anything a reader of the report should know about how the point was chosen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl RecoveryPoint {
    /// The newest data the point can hold, by metadata: the target time, else the latest
    /// restorable time.
    pub fn metadata_time(&self) -> Option<DateTime<Utc>> {
        match (self.time, self.latest_restorable) {
            (Some(t), Some(l)) => Some(t.min(l)),
            (t, l) => t.or(l),
        }
    }
}

/// A restored, reachable resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// e.g. `postgresql`, `rds_instance`, `s3_prefix`.
    pub kind: String,
    /// Its name: a data dir, an instance identifier, a bucket/prefix.
    pub name: String,
    /// `host:port` for databases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

/// The AWS settings of a run, as the report records them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// S3's own endpoint, when the environment gives S3 one (`AWS_ENDPOINT_URL_S3`) and the
    /// drill names none: S3's calls went there, not to `endpoint_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_endpoint_url: Option<String>,
    /// The AWS SDK behaviour version the clients were pinned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior_version: Option<String>,
    pub retry_mode: String,
    pub max_attempts: u32,
    pub initial_backoff_seconds: f64,
    pub max_backoff_seconds: f64,
    pub connect_timeout_seconds: f64,
    pub attempt_timeout_seconds: f64,
    pub operation_timeout_seconds: f64,
    /// The role every call ran as (`[provider] role_arn`), assumed with STS from the runner's
    /// own credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The account the calls ran in: the role's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The role session's name, as CloudTrail shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_session_name: Option<String>,
    #[serde(skip)]
    pub role_external_id: Option<String>,
    #[serde(skip)]
    pub role_duration_seconds: Option<u64>,
    /// Server-side copies (CopyObject, UploadPartCopy, CompleteMultipartUpload) keep their
    /// answer open while they copy: they get their own, longer timeouts.
    #[serde(default)]
    pub copy_attempt_timeout_seconds: f64,
    #[serde(default)]
    pub copy_operation_timeout_seconds: f64,
    /// `endpoint_url` is `AWS_ENDPOINT_URL`'s, not the drill's: the SDK is left to read the
    /// environment itself, so that a service's own variable (`AWS_ENDPOINT_URL_S3`) or a
    /// profile's `services` section still comes first for that service, as in any SDK.
    #[serde(skip)]
    pub endpoint_url_from_env: bool,
}

/// A warmup: the query run over and over on the restored database, in batches, until a
/// batch's p95 latency was at most the bound (`reached`) or the warmup's `max` passed. Its
/// time is part of the `verify` phase, and so of the measured RTO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupReport {
    /// The bound a batch's p95 had to reach.
    pub until_p95_seconds: f64,
    /// The longest the warmup could take.
    pub max_seconds: f64,
    /// Runs per batch (the last batch may be shorter, when `max` cut it).
    pub batch_runs: u32,
    pub reached: bool,
    /// Every run of the query, in all batches.
    pub runs: u64,
    /// From its first run to its end, by the monotonic clock.
    pub seconds: f64,
    /// The latency curve: one point per batch, in order.
    pub batches: Vec<WarmupBatch>,
    /// Why the query could not run (a connection or SQL error); the curve holds the runs
    /// before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One batch of warmup runs: its latency percentiles (from an HDR histogram, 3 significant
/// digits) and when it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupBatch {
    pub runs: u32,
    /// When the batch ended, in seconds from the warmup's start.
    pub at_seconds: f64,
    pub p50_seconds: f64,
    pub p95_seconds: f64,
    pub p99_seconds: f64,
    pub max_seconds: f64,
}
