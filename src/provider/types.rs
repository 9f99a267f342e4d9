//! What providers hand back to the engine: recovery points, targets, errors and the cost of
//! waiting (polls and resolution). SDK and server types never leave a provider.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::model::{RecoveryPoint, Target};

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
