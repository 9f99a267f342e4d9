//! Stage one of reading a drill: strict serde types that mirror the file. Every table denies
//! unknown keys. Values that need parsing (times, durations, cron, expectations) stay text
//! here, with their spans, so that stage two can report all of their problems at once.
//!
//! `[[restore]]`, `[[check]]` and `[provider]` are tagged by `kind`. The tag is read by hand
//! (see `load.rs`) instead of with `#[serde(tag = "kind")]`: serde buffers internally tagged
//! enums, which throws away the line numbers every error message needs.

use serde::Deserialize;
use toml::Spanned;

use super::time::TimeText;

pub(crate) type Text = Spanned<String>;

/// The top-level keys that are not tables of their own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMeta {
    pub(crate) name: Text,
    pub(crate) tier: Text,
    pub(crate) schedule: Text,
    pub(crate) owner: Option<Text>,
    pub(crate) description: Option<Text>,
}

/// The table keys handled outside `RawMeta`; listed so a typo of them gets a suggestion.
pub(crate) const SECTION_KEYS: &[&str] = &["incident", "provider", "timeouts", "restore", "check"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIncident {
    pub(crate) at: Option<Spanned<TimeText>>,
    pub(crate) detect_allowance: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeouts {
    pub(crate) resolve: Option<Text>,
    pub(crate) copy: Option<Text>,
    pub(crate) restore: Option<Text>,
    pub(crate) prepare: Option<Text>,
    pub(crate) verify: Option<Text>,
    pub(crate) teardown: Option<Text>,
}

pub(crate) const PROVIDER_KINDS: &[&str] = &["aws", "local"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAwsProvider {
    pub(crate) region: Option<Text>,
    pub(crate) profile: Option<Text>,
    pub(crate) endpoint_url: Option<Text>,
    pub(crate) role_arn: Option<Text>,
    pub(crate) external_id: Option<Text>,
    pub(crate) session_name: Option<Text>,
    pub(crate) duration: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLocalProvider {
    /// Where `postgres`, `pg_ctl` and friends live; default: `pg_config --bindir`, then PATH.
    pub(crate) pg_bin_dir: Option<Text>,
}

/// How checks reach a restored database.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConnect {
    pub(crate) database: Text,
    pub(crate) user: Text,
    pub(crate) password_env: Option<Text>,
    pub(crate) via: Option<Text>,
    pub(crate) tls: Option<Text>,
    pub(crate) ca_bundle: Option<Text>,
}

pub(crate) const RESTORE_KINDS: &[&str] = &[
    "pg_pitr",
    "rds_pitr",
    "rds_snapshot",
    "rds_cluster_pitr",
    "s3_versions",
    "backup_recovery_point",
    "rds_cluster_snapshot",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPgPitr {
    pub(crate) id: Text,
    /// With `wal_archive`; or `pgbackrest` instead of both.
    pub(crate) base_backups: Option<Text>,
    pub(crate) wal_archive: Option<Text>,
    pub(crate) pgbackrest: Option<RawPgBackRest>,
    pub(crate) to: Option<Spanned<TimeText>>,
    pub(crate) connect: RawConnect,
    pub(crate) target: Option<RawLocalTarget>,
    /// `[restore.warmup]`: run a query until its latency settles, as the last step of verify.
    pub(crate) warmup: Option<RawWarmup>,
}

/// `[restore.pgbackrest]`: a pgBackRest repository as the source of a `pg_pitr` restore.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPgBackRest {
    pub(crate) stanza: Text,
    /// The pgbackrest.conf naming the repository (relative to the drill file's folder).
    pub(crate) config: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLocalTarget {
    /// 0 or absent: a free loopback port.
    pub(crate) port: Option<Spanned<u16>>,
    /// Where the restored data dir is made; default: the system temp dir.
    pub(crate) work_dir: Option<Text>,
}

/// Isolation settings of a restored RDS instance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstanceTarget {
    pub(crate) identifier: Option<Text>,
    pub(crate) region: Option<Text>,
    pub(crate) instance_class: Option<Text>,
    pub(crate) subnet_group: Option<Text>,
    pub(crate) security_groups: Option<Vec<Text>>,
    pub(crate) parameter_group: Option<Text>,
    pub(crate) allow_shared_network: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRdsPitr {
    pub(crate) id: Text,
    /// A DB instance identifier, or the ARN of an automated backup replicated to another region.
    pub(crate) source: Text,
    pub(crate) to: Option<Spanned<TimeText>>,
    pub(crate) target: RawInstanceTarget,
    pub(crate) connect: RawConnect,
    /// `[restore.warmup]`: run a query until its latency settles, as the last step of verify.
    pub(crate) warmup: Option<RawWarmup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRdsSnapshot {
    pub(crate) id: Text,
    pub(crate) source: Text,
    /// `latest_automated` (default), `latest_manual`, or a snapshot identifier / ARN.
    pub(crate) snapshot: Option<Text>,
    pub(crate) to: Option<Spanned<TimeText>>,
    pub(crate) copy_to_region: Option<Text>,
    pub(crate) copy_kms_key: Option<Text>,
    /// A role in the DR account: the copy lands there, and the restore runs there.
    pub(crate) copy_role_arn: Option<Text>,
    pub(crate) target: RawInstanceTarget,
    pub(crate) connect: RawConnect,
    /// `[restore.warmup]`: run a query until its latency settles, as the last step of verify.
    pub(crate) warmup: Option<RawWarmup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClusterTarget {
    pub(crate) identifier: Option<Text>,
    pub(crate) instance_identifier: Option<Text>,
    pub(crate) region: Option<Text>,
    pub(crate) instance_class: Option<Text>,
    pub(crate) subnet_group: Option<Text>,
    pub(crate) security_groups: Option<Vec<Text>>,
    pub(crate) allow_shared_network: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRdsClusterPitr {
    pub(crate) id: Text,
    pub(crate) source: Text,
    pub(crate) to: Option<Spanned<TimeText>>,
    pub(crate) target: RawClusterTarget,
    pub(crate) connect: RawConnect,
    /// `[restore.warmup]`: run a query until its latency settles, as the last step of verify.
    pub(crate) warmup: Option<RawWarmup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawS3Target {
    pub(crate) bucket: Text,
    pub(crate) prefix: Option<Text>,
    pub(crate) region: Option<Text>,
    pub(crate) tag: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawS3Versions {
    pub(crate) id: Text,
    pub(crate) bucket: Text,
    pub(crate) prefix: Option<Text>,
    pub(crate) to: Option<Spanned<TimeText>>,
    pub(crate) target: RawS3Target,
    pub(crate) concurrency: Option<Spanned<u32>>,
    pub(crate) copy_kms_key: Option<Text>,
    pub(crate) copy_encryption: Option<Text>,
    /// Only to say clearly that an object store has nothing to warm up.
    pub(crate) warmup: Option<RawWarmup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackupTarget {
    pub(crate) identifier: Option<Text>,
    pub(crate) region: Option<Text>,
    pub(crate) instance_class: Option<Text>,
    pub(crate) subnet_group: Option<Text>,
    pub(crate) security_groups: Option<Vec<Text>>,
    pub(crate) allow_shared_network: Option<bool>,
    pub(crate) bucket: Option<Text>,
    pub(crate) prefix: Option<Text>,
    /// The one instance added to a restored Aurora cluster (Aurora recovery points only).
    pub(crate) instance_identifier: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackupRecoveryPoint {
    pub(crate) id: Text,
    pub(crate) vault: Text,
    pub(crate) resource_arn: Option<Text>,
    pub(crate) recovery_point_arn: Option<Text>,
    pub(crate) to: Option<Spanned<TimeText>>,
    pub(crate) iam_role_arn: Text,
    pub(crate) target: RawBackupTarget,
    pub(crate) connect: Option<RawConnect>,
    /// `[restore.warmup]`: run a query until its latency settles, as the last step of verify.
    pub(crate) warmup: Option<RawWarmup>,
}

/// `[restore.warmup]`: a query run over and over on the restored database until the p95 of
/// its latency falls to `until_p95`, for at most `max`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWarmup {
    pub(crate) query: Text,
    pub(crate) until_p95: Text,
    pub(crate) max: Text,
}

/// `kind = "rds_cluster_snapshot"`: an Aurora cluster snapshot, like `rds_snapshot`'s keys
/// with a cluster target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRdsClusterSnapshot {
    pub(crate) id: Text,
    /// The source Aurora cluster's identifier.
    pub(crate) source: Text,
    /// `latest_automated` (default), `latest_manual`, or a cluster snapshot identifier / ARN.
    pub(crate) snapshot: Option<Text>,
    pub(crate) to: Option<Spanned<TimeText>>,
    pub(crate) copy_to_region: Option<Text>,
    pub(crate) copy_kms_key: Option<Text>,
    /// A role in the DR account: the copy lands there, and the restore runs there.
    pub(crate) copy_role_arn: Option<Text>,
    pub(crate) target: RawClusterTarget,
    pub(crate) connect: RawConnect,
    /// `[restore.warmup]`, as for the other database restores.
    pub(crate) warmup: Option<RawWarmup>,
}

pub(crate) const CHECK_KINDS: &[&str] = &[
    "sql",
    "freshness",
    "table_checksum",
    "schema",
    "s3_manifest",
    "pg_amcheck",
    "canary",
    "s3_replication_lag",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSqlCheck {
    pub(crate) restore: Text,
    pub(crate) name: Option<Text>,
    pub(crate) query: Text,
    pub(crate) expect: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFreshnessCheck {
    pub(crate) restore: Text,
    pub(crate) name: Option<Text>,
    pub(crate) query: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReference {
    pub(crate) manifest: Option<Text>,
    pub(crate) connect: Option<RawReferenceConnect>,
    pub(crate) restore: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReferenceConnect {
    pub(crate) host: Text,
    pub(crate) port: Option<u16>,
    pub(crate) database: Text,
    pub(crate) user: Text,
    pub(crate) password_env: Option<Text>,
    pub(crate) tls: Option<Text>,
    pub(crate) ca_bundle: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTableChecksumCheck {
    pub(crate) restore: Text,
    pub(crate) name: Option<Text>,
    pub(crate) table: Option<Text>,
    pub(crate) query: Option<Text>,
    pub(crate) key: Text,
    pub(crate) reference: Spanned<RawReference>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSchemaCheck {
    pub(crate) restore: Text,
    pub(crate) name: Option<Text>,
    pub(crate) schemas: Option<Vec<Text>>,
    pub(crate) reference: Spanned<RawReference>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawS3ManifestCheck {
    pub(crate) restore: Text,
    pub(crate) name: Option<Text>,
    pub(crate) manifest: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawS3ReplicationLagCheck {
    pub(crate) restore: Text,
    pub(crate) name: Option<Text>,
    /// The primary bucket the restore's source replicates from.
    pub(crate) primary: Text,
    pub(crate) region: Option<Text>,
    pub(crate) max_lag: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPgAmcheckCheck {
    pub(crate) restore: Text,
    pub(crate) name: Option<Text>,
    pub(crate) heapallindexed: Option<bool>,
    pub(crate) tables: Option<Vec<Text>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCanaryCheck {
    pub(crate) restore: Text,
    pub(crate) name: Option<Text>,
    pub(crate) table: Option<Text>,
    pub(crate) time_column: Option<Text>,
    pub(crate) every: Option<Text>,
    pub(crate) prefix: Option<Text>,
}

/// One tier in `tiers.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTier {
    pub(crate) rpo: Text,
    pub(crate) rto: Text,
    pub(crate) max_interval: Text,
    pub(crate) description: Option<Text>,
}
