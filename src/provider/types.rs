//! What providers hand back to the engine: recovery points, targets, errors and the cost of
//! waiting (polls and resolution). SDK and server types never leave a provider.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

/// How long a phase waited, and how precisely its end is known.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Waited {
    pub polls: u32,
    /// Worst-case error of the measured end time (the last poll interval).
    pub resolution: Duration,
}

/// Whose fault a failure is: the restore's (exit 11) or the harness's (exit 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Blame {
    /// The backup or the restore failed: the thing a drill exists to catch.
    Restore,
    /// The harness or its infrastructure: missing binaries, credentials, unreachable endpoints.
    Harness,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub blame: Blame,
    pub message: String,
}

impl ProviderError {
    pub fn restore(message: impl Into<String>) -> Self {
        ProviderError {
            blame: Blame::Restore,
            message: message.into(),
        }
    }

    pub fn harness(message: impl Into<String>) -> Self {
        ProviderError {
            blame: Blame::Harness,
            message: message.into(),
        }
    }
}

/// What teardown could not remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leftovers(pub Vec<String>);
