//! RDS restores: point in time (`rds_pitr`), snapshots with an optional cross-region copy
//! (`rds_snapshot`) and Aurora clusters (`rds_cluster_pitr`).
//!
//! Every resource is created with the run's tags and in the drill's isolation settings
//! (subnet group, security groups, never public, never Multi-AZ, no deletion protection).
//! Teardown deletes only resources that carry this run's `restore-drill:run-id` tag.
//!
//! The state of one RDS restore (`RdsRestore`), its kinds and what it created, and the helpers
//! every phase shares: sessions, regions, tags, names and errors.

use std::fmt;

use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::Tag;
use chrono::{DateTime, Utc};

use crate::drill::{
    ClusterTarget, Connect, DrillPlan, InstanceTarget, PointSpec, RestoreKind, RestorePlan,
    SnapshotCopy, SnapshotSelector, render_template,
};
use crate::provider::ProviderError;
use crate::provider::aws::{AwsSettings, Secret, Session};

use super::api::sdk_error;

pub const TAG_RUN_ID: &str = "restore-drill:run-id";

pub const TAG_DRILL: &str = "restore-drill:drill";

pub const TAG_RESTORE: &str = "restore-drill:restore";

pub const TAG_EXPIRES_AT: &str = "restore-drill:expires-at";

#[derive(Debug, Clone)]
pub(super) enum Kind {
    Pitr {
        source: String,
        to: PointSpec,
        target: InstanceTarget,
    },
    Snapshot {
        source: String,
        selector: SnapshotSelector,
        copy: Option<SnapshotCopy>,
        target: InstanceTarget,
    },
    Cluster {
        source: String,
        to: PointSpec,
        target: ClusterTarget,
    },
    /// An Aurora cluster snapshot, optionally copied to the DR region first.
    ClusterSnapshot {
        source: String,
        selector: SnapshotSelector,
        copy: Option<SnapshotCopy>,
        target: ClusterTarget,
    },
}

/// Something this run created (or may have: a call that was cut off still counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::provider::aws) enum Created {
    Instance { region: String, id: String },
    Cluster { region: String, id: String },
    Snapshot { region: String, id: String },
    ClusterSnapshot { region: String, id: String },
}

impl Created {
    pub(in crate::provider::aws) fn region(&self) -> &str {
        match self {
            Created::Instance { region, .. }
            | Created::Cluster { region, .. }
            | Created::Snapshot { region, .. }
            | Created::ClusterSnapshot { region, .. } => region,
        }
    }

    pub(in crate::provider::aws) fn id(&self) -> &str {
        match self {
            Created::Instance { id, .. }
            | Created::Cluster { id, .. }
            | Created::Snapshot { id, .. }
            | Created::ClusterSnapshot { id, .. } => id,
        }
    }
}

impl fmt::Display for Created {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Created::Instance { region, id } => write!(f, "RDS instance {id} ({region})"),
            Created::Cluster { region, id } => write!(f, "RDS cluster {id} ({region})"),
            Created::Snapshot { region, id } => write!(f, "RDS snapshot {id} ({region})"),
            Created::ClusterSnapshot { region, id } => {
                write!(f, "RDS cluster snapshot {id} ({region})")
            }
        }
    }
}

/// What resolve chose.
#[derive(Debug, Clone)]
pub(super) enum Point {
    /// Restore to this moment, or (None) to the latest restorable time.
    Time {
        time: Option<DateTime<Utc>>,
        /// An automated-backup ARN replicated to the DR region, instead of the source id.
        automated_backup_arn: Option<String>,
    },
    /// A snapshot's ARN (or, after a copy, the copy's identifier in the DR region).
    Snapshot { arn: String },
}

#[derive(Debug)]
pub struct RdsRestore {
    pub(super) id: String,
    pub(super) drill: String,
    pub(super) kind: Kind,
    pub(super) connect: Connect,
    pub(super) password: Option<Secret>,
    pub(super) settings: AwsSettings,
    /// How long created resources may live before `sweep` may take them.
    pub(super) lifetime: std::time::Duration,
    pub(super) session: Option<Session>,
    /// The DR account's session (`copy_role_arn`): the copy, the restore, prepare and
    /// teardown run as that role. `None` when everything runs in the drill's own account.
    pub(super) dr_session: Option<Session>,
    pub(super) source_region: String,
    /// Whether the chosen snapshot is encrypted: a copy to another region then carries a
    /// pre-signed URL (`presign`).
    pub(super) source_encrypted: bool,
    /// The engine of the chosen cluster snapshot (RestoreDBClusterFromSnapshot needs it).
    pub(super) snapshot_engine: Option<String>,
    pub(super) point: Option<Point>,
    pub(super) run_id: Option<String>,
    pub(super) created: Vec<Created>,
    /// The restored instance (or cluster) and its region.
    pub(super) restored: Option<(String, String)>,
    pub(super) kept: bool,
    pub(super) notes: Vec<String>,
}

impl RdsRestore {
    pub fn new(
        plan: &DrillPlan,
        r: &RestorePlan,
        settings: AwsSettings,
    ) -> Result<Self, ProviderError> {
        let (kind, connect) = match &r.kind {
            RestoreKind::RdsPitr {
                source,
                to,
                target,
                connect,
            } => (
                Kind::Pitr {
                    source: source.clone(),
                    to: *to,
                    target: target.clone(),
                },
                connect,
            ),
            RestoreKind::RdsSnapshot {
                source,
                snapshot,
                copy,
                target,
                connect,
            } => (
                Kind::Snapshot {
                    source: source.clone(),
                    selector: snapshot.clone(),
                    copy: copy.clone(),
                    target: target.clone(),
                },
                connect,
            ),
            RestoreKind::RdsClusterPitr {
                source,
                to,
                target,
                connect,
            } => (
                Kind::Cluster {
                    source: source.clone(),
                    to: *to,
                    target: target.clone(),
                },
                connect,
            ),
            RestoreKind::RdsClusterSnapshot {
                source,
                snapshot,
                copy,
                target,
                connect,
            } => (
                Kind::ClusterSnapshot {
                    source: source.clone(),
                    selector: snapshot.clone(),
                    copy: copy.clone(),
                    target: target.clone(),
                },
                connect,
            ),
            other => {
                return Err(ProviderError::harness(format!(
                    "restore \"{}\": kind {} is not an RDS restore",
                    r.id,
                    other.name()
                )));
            }
        };
        let password = Secret::from_env(&r.id, connect.password_env.as_deref())?;
        Ok(RdsRestore {
            id: r.id.clone(),
            drill: plan.name.clone(),
            kind,
            connect: connect.clone(),
            password,
            settings,
            lifetime: plan.timeouts.total(),
            session: None,
            dr_session: None,
            source_region: String::new(),
            source_encrypted: false,
            snapshot_engine: None,
            point: None,
            run_id: None,
            created: Vec::new(),
            restored: None,
            kept: false,
            notes: Vec::new(),
        })
    }

    pub fn has_copy(&self) -> bool {
        matches!(
            &self.kind,
            Kind::Snapshot { copy: Some(_), .. } | Kind::ClusterSnapshot { copy: Some(_), .. }
        )
    }

    /// Runs on this session instead of loading one at resolve: whole drills on the SDK's
    /// mocks, for the paths no server implements (replicated automated backups).
    #[doc(hidden)]
    pub fn with_session(mut self, session: Session) -> Self {
        self.session = Some(session);
        self
    }

    pub(super) fn session(&self) -> Result<&Session, ProviderError> {
        self.session
            .as_ref()
            .ok_or_else(|| ProviderError::harness("the AWS session was not loaded"))
    }

    /// The session that creates, waits on and deletes the target: the DR account's for a
    /// cross-account copy, else the drill's own.
    pub(super) fn target_session(&self) -> Result<&Session, ProviderError> {
        match &self.dr_session {
            Some(s) => Ok(s),
            None => self.session(),
        }
    }

    /// The snapshot copy this restore makes, if any.
    pub(super) fn snapshot_copy(&self) -> Option<&crate::drill::SnapshotCopy> {
        match &self.kind {
            Kind::Snapshot { copy, .. } | Kind::ClusterSnapshot { copy, .. } => copy.as_ref(),
            Kind::Pitr { .. } | Kind::Cluster { .. } => None,
        }
    }

    /// The region the restored resource lives in.
    pub(super) fn target_region(&self) -> String {
        let (region, copy) = match &self.kind {
            // A replicated automated backup is restored in its own region.
            Kind::Pitr { target, source, .. } => (
                target
                    .region
                    .clone()
                    .or_else(|| super::api::automated_backup_region(source).map(str::to_owned)),
                None,
            ),
            Kind::Snapshot { target, copy, .. } => (target.region.clone(), copy.as_ref()),
            Kind::Cluster { target, .. } => (target.cluster.region.clone(), None),
            Kind::ClusterSnapshot { target, copy, .. } => {
                (target.cluster.region.clone(), copy.as_ref())
            }
        };
        copy.map(|c| c.region.clone())
            .or(region)
            .unwrap_or_else(|| self.source_region.clone())
    }

    pub(super) fn endpoint_hint(&self, region: &str) -> String {
        match &self.settings.endpoint_url {
            Some(u) => u.clone(),
            None => format!("the RDS endpoint of {region}"),
        }
    }

    pub(super) fn tags(&self, run_id: &str) -> Vec<Tag> {
        let expires = crate::drill::after(Utc::now(), self.lifetime);
        [
            (TAG_RUN_ID, run_id.to_owned()),
            (TAG_DRILL, self.drill.clone()),
            (TAG_RESTORE, self.id.clone()),
            (
                TAG_EXPIRES_AT,
                expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        ]
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
    }

    pub(super) fn render(&self, template: &str, run_id: &str) -> String {
        render_template(template, &self.drill, &self.id, run_id).to_lowercase()
    }

    /// Whether the restore makes an Aurora cluster (with one instance) rather than an instance.
    pub(super) fn is_cluster(&self) -> bool {
        matches!(
            self.kind,
            Kind::Cluster { .. } | Kind::ClusterSnapshot { .. }
        )
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    /// `--keep`: leave the target up; say how to reach it and remove it.
    pub fn keep(&mut self) -> Option<String> {
        let (ident, region) = self.restored.clone()?;
        self.kept = true;
        let what = if self.is_cluster() {
            format!(
                "cluster {ident} in {region}; remove it with `restore-drill sweep --run-id {} --region {region}`",
                self.run_id.clone().unwrap_or_default()
            )
        } else {
            format!(
                "instance {ident} in {region}; remove it with `restore-drill sweep --run-id {} --region {region}` \
                 or `aws rds delete-db-instance --region {region} --db-instance-identifier {ident} --skip-final-snapshot`",
                self.run_id.clone().unwrap_or_default()
            )
        };
        Some(what)
    }

    pub(super) fn api_error<E>(
        &self,
        call: &str,
        e: SdkError<E, aws_sdk_rds::config::http::HttpResponse>,
    ) -> ProviderError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let hint = self.endpoint_hint(&self.source_region);
        sdk_error(call, e, Some(&hint))
    }

    /// A restore call's failure: the backup's fault when the service says the restore
    /// itself is impossible, else the harness's.
    pub(super) fn restore_error<E>(
        &self,
        call: &str,
        e: SdkError<E, aws_sdk_rds::config::http::HttpResponse>,
    ) -> ProviderError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        const RESTORE_FAULTS: [&str; 8] = [
            "InvalidRestoreFault",
            "PointInTimeRestoreNotEnabled",
            "PointInTimeRestoreNotEnabledFault",
            "DBSnapshotNotFound",
            "DBInstanceNotFound",
            "DBClusterNotFoundFault",
            "DBClusterSnapshotNotFoundFault",
            "InvalidDBClusterSnapshotStateFault",
        ];
        let restore = e.code().is_some_and(|c| RESTORE_FAULTS.contains(&c));
        let mut err = self.api_error(call, e);
        if restore {
            err.blame = crate::provider::Blame::Restore;
        }
        err
    }
}
