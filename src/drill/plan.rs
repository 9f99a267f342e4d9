//! The checked plan: what a drill will do, after every rule in `validate.rs` has passed. The
//! engine runs only these types; nothing here can be half-valid.

use std::path::PathBuf;
use std::time::Duration;

use super::expect::Expect;
use super::schedule::Schedule;
use super::tier::Tier;
use super::time::{IncidentAt, PointSpec};

/// A drill, checked and ready to run.
#[derive(Debug, Clone)]
pub struct DrillPlan {
    pub name: String,
    /// The drill file as the user named it.
    pub file: PathBuf,
    /// SHA-256 of the drill file's text, so a report names exactly what ran.
    pub sha256: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub tier: Tier,
    pub schedule: Schedule,
    pub incident: IncidentSpec,
    pub provider: ProviderSpec,
    pub timeouts: Timeouts,
    pub restores: Vec<RestorePlan>,
    pub checks: Vec<CheckPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSpec {
    pub at: IncidentAt,
    /// Declared detection and decision time, added to the measured RTO.
    pub detect_allowance: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderSpec {
    Aws {
        region: Option<String>,
        profile: Option<String>,
        endpoint_url: Option<String>,
        /// A role to assume (STS) from whatever credentials the runner has.
        role: Option<AssumeRole>,
    },
    Local {
        pg_bin_dir: Option<PathBuf>,
    },
}

/// `[provider] role_arn` and its companions: every AWS call of the drill runs as this role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    pub arn: String,
    pub external_id: Option<String>,
    /// Default: `restore-drill-<drill>`, so CloudTrail names the drill.
    pub session_name: Option<String>,
    /// How long the role's credentials last (15 minutes to 12 hours); the SDK renews them.
    pub duration: Option<Duration>,
}

/// The longest each phase may take before the run gives up on it (and tears down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub resolve: Duration,
    pub copy: Duration,
    pub restore: Duration,
    pub prepare: Duration,
    pub verify: Duration,
    pub teardown: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MIN: u64 = 60;
        Timeouts {
            resolve: Duration::from_secs(5 * MIN),
            copy: Duration::from_secs(120 * MIN),
            restore: Duration::from_secs(120 * MIN),
            prepare: Duration::from_secs(30 * MIN),
            verify: Duration::from_secs(30 * MIN),
            teardown: Duration::from_secs(30 * MIN),
        }
    }
}

impl Timeouts {
    /// The longest a run can legally take: the sum of all phase timeouts. Created resources
    /// carry `restore-drill:expires-at` = run start + this, so `sweep` knows they are stale.
    pub fn total(&self) -> Duration {
        // Each is at most ten years (validation), but a sum never panics anyway.
        [
            self.copy,
            self.restore,
            self.prepare,
            self.verify,
            self.teardown,
        ]
        .into_iter()
        .fold(self.resolve, Duration::saturating_add)
    }
}

/// One restore of a drill.
#[derive(Debug, Clone)]
pub struct RestorePlan {
    pub id: String,
    pub kind: RestoreKind,
    /// `[restore.warmup]`, for a restored database.
    pub warmup: Option<Warmup>,
}

/// `[restore.warmup]`: after every check passed, `query` runs over and over on the restored
/// database, in batches of `WARMUP_BATCH` runs, until one batch's p95 latency is at most
/// `until_p95`; a warmup that has not got there after `max` is a finding. It is the last step
/// of `verify`, so its time counts toward the measured RTO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warmup {
    pub query: String,
    pub until_p95: Duration,
    pub max: Duration,
}

/// How many runs of the warmup query make one batch: the p95 of a batch is judged, and each
/// batch is one point of the report's latency curve.
pub const WARMUP_BATCH: u32 = 20;

impl RestorePlan {
    /// The `kind` as written in drill files.
    pub fn kind_name(&self) -> &'static str {
        self.kind.name()
    }

    /// Whether checks of this restore talk SQL to a database.
    pub fn is_database(&self) -> bool {
        match &self.kind {
            RestoreKind::PgPitr { .. }
            | RestoreKind::RdsPitr { .. }
            | RestoreKind::RdsSnapshot { .. }
            | RestoreKind::RdsClusterPitr { .. }
            | RestoreKind::RdsClusterSnapshot { .. } => true,
            RestoreKind::S3Versions { .. } => false,
            RestoreKind::BackupRecoveryPoint { connect, .. } => connect.is_some(),
        }
    }
}

impl RestoreKind {
    /// The point in time the restore goes back to, for the kinds that name one (`to`).
    pub fn point(&self) -> Option<PointSpec> {
        match self {
            RestoreKind::PgPitr { to, .. }
            | RestoreKind::RdsPitr { to, .. }
            | RestoreKind::RdsClusterPitr { to, .. }
            | RestoreKind::S3Versions { to, .. } => Some(*to),
            RestoreKind::RdsSnapshot { .. }
            | RestoreKind::RdsClusterSnapshot { .. }
            | RestoreKind::BackupRecoveryPoint { .. } => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum RestoreKind {
    /// Self-managed PostgreSQL: base backups plus a WAL archive, replayed locally.
    PgPitr {
        source: PgSource,
        to: PointSpec,
        target: LocalTarget,
        connect: Connect,
    },
    RdsPitr {
        source: String,
        to: PointSpec,
        target: InstanceTarget,
        connect: Connect,
    },
    RdsSnapshot {
        source: String,
        snapshot: SnapshotSelector,
        copy: Option<SnapshotCopy>,
        target: InstanceTarget,
        connect: Connect,
    },
    RdsClusterPitr {
        source: String,
        to: PointSpec,
        target: ClusterTarget,
        connect: Connect,
    },
    S3Versions {
        bucket: String,
        prefix: String,
        to: PointSpec,
        target: S3Target,
        concurrency: u32,
    },
    BackupRecoveryPoint {
        vault: String,
        point: BackupPointSelector,
        iam_role_arn: String,
        target: BackupTarget,
        connect: Option<Connect>,
    },
    /// An Aurora cluster snapshot (optionally copied to the DR region first), restored with
    /// `RestoreDBClusterFromSnapshot` plus one instance.
    RdsClusterSnapshot {
        source: String,
        snapshot: SnapshotSelector,
        copy: Option<SnapshotCopy>,
        target: ClusterTarget,
        connect: Connect,
    },
}

impl RestoreKind {
    pub fn name(&self) -> &'static str {
        match self {
            RestoreKind::PgPitr { .. } => "pg_pitr",
            RestoreKind::RdsPitr { .. } => "rds_pitr",
            RestoreKind::RdsSnapshot { .. } => "rds_snapshot",
            RestoreKind::RdsClusterPitr { .. } => "rds_cluster_pitr",
            RestoreKind::S3Versions { .. } => "s3_versions",
            RestoreKind::BackupRecoveryPoint { .. } => "backup_recovery_point",
            RestoreKind::RdsClusterSnapshot { .. } => "rds_cluster_snapshot",
        }
    }
}

/// Where a `pg_pitr` restore reads its backups and WAL from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgSource {
    /// `pg_basebackup` output and what `archive_command` copied (`base_backups`, `wal_archive`).
    Files {
        base_backups: PathBuf,
        wal_archive: PathBuf,
    },
    /// A pgBackRest repository (`[restore.pgbackrest]`): its stanza and configuration file.
    PgBackRest { stanza: String, config: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTarget {
    /// `None`: a free loopback port chosen at run time.
    pub port: Option<u16>,
    pub work_dir: Option<PathBuf>,
}

/// Isolation settings for a restored RDS instance. `identifier` is a template with
/// `{run_id}`, `{drill}` and `{restore}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceTarget {
    pub identifier: String,
    pub region: Option<String>,
    pub instance_class: Option<String>,
    pub subnet_group: Option<String>,
    pub security_groups: Vec<String>,
    pub parameter_group: Option<String>,
    /// The drill accepts a restore outside an isolated subnet group / security groups.
    pub allow_shared_network: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterTarget {
    pub cluster: InstanceTarget,
    /// The one instance created in the restored cluster (a template like `identifier`).
    pub instance_identifier: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Target {
    pub bucket: String,
    /// A template with `{run_id}`, `{drill}` and `{restore}`; each object lands at
    /// prefix + its full source key.
    pub prefix: String,
    pub region: Option<String>,
    /// Tag every restored object with the run (`restore-drill:run-id`, …) instead of keeping
    /// each source version's own tags.
    pub tag: bool,
    /// `copy_kms_key`: the KMS key SSE-KMS versions are copied under; `None` keeps each
    /// version's own key.
    pub kms_key: Option<String>,
    /// `copy_encryption`: whose encryption the copies get.
    pub encryption: CopyEncryption,
}

/// `copy_encryption` of an `s3_versions` restore: whose encryption each copy gets, and so
/// whether every version is looked at with `HeadObject` before it is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CopyEncryption {
    /// `"as_source"` (the default): every version is looked at with `HeadObject`; SSE-KMS
    /// versions are copied under KMS again, SSE-C and archived versions are refused by name
    /// before anything is copied.
    #[default]
    AsSource,
    /// `"target_default"`: no `HeadObject` per version (half the requests, and on S3-like
    /// stores most of the server's work besides the copies); every copy gets the target
    /// bucket's default encryption, SSE-KMS versions included. Versions the listing shows in
    /// an archive class are still looked at; an SSE-C version fails its copy, by name.
    TargetDefault,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupTarget {
    pub identifier: Option<String>,
    pub region: Option<String>,
    pub instance_class: Option<String>,
    pub subnet_group: Option<String>,
    pub security_groups: Vec<String>,
    pub allow_shared_network: bool,
    /// An S3 recovery point's new bucket (a template with `{run_id}`).
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    /// The one instance added to a restored Aurora cluster (a template like `identifier`);
    /// `None` for the default `rd-{restore}-{run_id}-1`.
    pub instance_identifier: Option<String>,
}

/// What an AWS Backup recovery point holds, from its resource type (or a `resource_arn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupResource {
    /// `RDS`: an RDS DB instance.
    RdsInstance,
    /// `Aurora`: an Aurora cluster, restored with one instance added.
    Aurora,
    /// `S3`: a bucket, restored into a new bucket.
    S3,
}

impl BackupResource {
    /// From a recovery point's `ResourceType`.
    pub fn of_type(t: &str) -> Option<Self> {
        match t {
            "RDS" => Some(BackupResource::RdsInstance),
            "Aurora" => Some(BackupResource::Aurora),
            "S3" => Some(BackupResource::S3),
            _ => None,
        }
    }

    /// From a protected resource's ARN (`arn:*:s3:::bucket`, `arn:*:rds:...:db:x`,
    /// `arn:*:rds:...:cluster:x`).
    pub fn of_arn(arn: &str) -> Option<Self> {
        let mut p = arn.splitn(6, ':');
        if p.next()? != "arn" {
            return None;
        }
        let _partition = p.next()?;
        let service = p.next()?;
        let (_region, _account) = (p.next()?, p.next()?);
        let resource = p.next()?;
        match service {
            "s3" => Some(BackupResource::S3),
            "rds" if resource.starts_with("cluster:") => Some(BackupResource::Aurora),
            "rds" if resource.starts_with("db:") => Some(BackupResource::RdsInstance),
            _ => None,
        }
    }

    /// The `ResourceType` AWS Backup names it by.
    pub fn type_name(self) -> &'static str {
        match self {
            BackupResource::RdsInstance => "RDS",
            BackupResource::Aurora => "Aurora",
            BackupResource::S3 => "S3",
        }
    }
}

/// The target keys that do not fit a recovery point of type `r` (each with why), so a drill
/// is told before a restore job starts.
pub fn backup_target_misfits(
    r: BackupResource,
    t: &BackupTarget,
    has_connect: bool,
) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    let db_keys: [(&str, bool); 6] = [
        ("target.identifier", t.identifier.is_some()),
        ("target.instance_class", t.instance_class.is_some()),
        ("target.subnet_group", t.subnet_group.is_some()),
        ("target.security_groups", !t.security_groups.is_empty()),
        ("target.allow_shared_network", t.allow_shared_network),
        (
            "target.instance_identifier",
            t.instance_identifier.is_some(),
        ),
    ];
    match r {
        BackupResource::S3 => {
            for (key, given) in db_keys {
                if given {
                    out.push((key, "an S3 recovery point restores into a bucket (target.bucket), not a database"));
                }
            }
            if has_connect {
                out.push((
                    "connect",
                    "an S3 recovery point restores a bucket: there is no database to connect to",
                ));
            }
            if t.bucket.is_none() {
                out.push(("target.bucket", "an S3 recovery point needs target.bucket: the new bucket it is restored into, named with {run_id}"));
            }
        }
        BackupResource::RdsInstance | BackupResource::Aurora => {
            for (key, given) in [
                ("target.bucket", t.bucket.is_some()),
                ("target.prefix", t.prefix.is_some()),
            ] {
                if given {
                    out.push((key, "a database recovery point (RDS or Aurora) is restored into an instance or cluster, not a bucket"));
                }
            }
            if r == BackupResource::RdsInstance && t.instance_identifier.is_some() {
                out.push((
                    "target.instance_identifier",
                    "an RDS instance's recovery point restores one instance (target.identifier); instance_identifier is for Aurora clusters",
                ));
            }
            if r == BackupResource::Aurora && t.instance_class.is_none() {
                out.push((
                    "target.instance_class",
                    "an Aurora recovery point restores a cluster without instances: target.instance_class names the class of the one instance added",
                ));
            }
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotSelector {
    /// The newest automated snapshot taken at or before the point.
    LatestAutomated(PointSpec),
    /// The newest manual snapshot taken at or before the point.
    LatestManual(PointSpec),
    /// Exactly this snapshot (identifier or ARN).
    Id(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotCopy {
    pub region: String,
    pub kms_key: Option<String>,
    /// `copy_role_arn`: the role in the DR account the copy, the restore and the teardown run
    /// as (a cross-account copy); `None` copies within the drill's own account.
    pub role_arn: Option<String>,
}

impl SnapshotCopy {
    /// The account of `role_arn`, when the copy goes to another account.
    pub fn account(&self) -> Option<&str> {
        self.role_arn.as_deref().and_then(role_account)
    }
}

/// The account of an IAM role ARN (`arn:aws:iam::123456789012:role/x` → `123456789012`).
pub fn role_account(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    (parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty()))
    .then(|| parts[4])
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupPointSelector {
    /// The newest completed recovery point of this resource at or before the point.
    Resource { arn: String, to: PointSpec },
    /// Exactly this recovery point.
    RecoveryPoint { arn: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Disable,
    Require,
    VerifyFull,
}

impl Tls {
    pub fn name(self) -> &'static str {
        match self {
            Tls::Disable => "disable",
            Tls::Require => "require",
            Tls::VerifyFull => "verify-full",
        }
    }
}

/// How checks connect to a restored database. The password is never here: only the name of
/// the environment variable that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub database: String,
    pub user: String,
    pub password_env: Option<String>,
    /// `host:port` to connect through instead of the target's own endpoint.
    pub via: Option<String>,
    pub tls: Tls,
    pub ca_bundle: Option<PathBuf>,
}

/// One integrity check.
#[derive(Debug, Clone)]
pub struct CheckPlan {
    /// The id of the restore it checks.
    pub restore: String,
    pub name: String,
    pub kind: CheckKind,
}

#[derive(Debug, Clone)]
pub enum CheckKind {
    Sql {
        query: String,
        expect: Expect,
    },
    /// Newest data present, which gives the measured RPO. `None` for object stores, where the
    /// newest restored `LastModified` is used.
    Freshness {
        query: Option<String>,
    },
    TableChecksum {
        source: RowSource,
        key: Vec<String>,
        reference: Reference,
    },
    Schema {
        schemas: Vec<String>,
        reference: Reference,
    },
    S3Manifest {
        manifest: PathBuf,
    },
    PgAmcheck {
        heapallindexed: bool,
        tables: Vec<String>,
    },
    Canary {
        at: CanaryAt,
    },
    /// How far a replicated (CRR) source bucket is behind its primary at the restore point:
    /// the oldest version current in the primary that the replica lacks. Its time is the
    /// newest data the restore can rely on, so it counts toward the measured RPO; past
    /// `max_lag` it is a finding.
    S3ReplicationLag {
        primary: String,
        region: Option<String>,
        max_lag: Option<Duration>,
    },
}

impl CheckKind {
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Sql { .. } => "sql",
            CheckKind::Freshness { .. } => "freshness",
            CheckKind::TableChecksum { .. } => "table_checksum",
            CheckKind::Schema { .. } => "schema",
            CheckKind::S3Manifest { .. } => "s3_manifest",
            CheckKind::PgAmcheck { .. } => "pg_amcheck",
            CheckKind::Canary { .. } => "canary",
            CheckKind::S3ReplicationLag { .. } => "s3_replication_lag",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowSource {
    Table(String),
    Query(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A manifest written earlier by `restore-drill manifest`.
    Manifest(PathBuf),
    /// Another database (a replica, or the source while writes are paused).
    Connect(ReferenceConnect),
    /// Another restore of the same drill.
    Restore(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceConnect {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password_env: Option<String>,
    pub tls: Tls,
    pub ca_bundle: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanaryAt {
    /// Rows of a table, each written at the time in `time_column`; when `every` is given, one
    /// is written at least that often, so the newest before the restore point must be recent.
    Table {
        table: String,
        time_column: String,
        every: Option<Duration>,
    },
    /// Objects under a prefix, each written at its `LastModified`.
    Prefix(String),
}
