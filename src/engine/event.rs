//! What the engine reports while it runs: one stream of typed events, each stamped with the
//! moment it happened on the monotonic clock (tokio's, so tests can pause it). Every sink —
//! the progress display, the report builder — consumes the same stream; the report is built
//! from it and from nothing else.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::drill::DrillPlan;
use crate::provider::{Blame, RecoveryPoint, Target, Waited};
use crate::report::{CheckReport, Operator, Outcome, RunReport, WarmupReport};

#[derive(Debug)]
pub enum Event<'a> {
    RunStarted {
        plan: &'a DrillPlan,
        run_id: &'a str,
        /// The run's start by the wall clock, for display.
        started_at: DateTime<Utc>,
        incident_at: DateTime<Utc>,
        restores: &'a [String],
        operator: Option<&'a Operator>,
    },
    PhaseStarted {
        restore: &'a str,
        phase: &'a str,
        started_at: DateTime<Utc>,
        /// What this drill's history expects the phase to take.
        expected: Option<Duration>,
    },
    /// The provider looked at what it waits for (stamped with the moment of the look).
    Poll {
        restore: &'a str,
        phase: &'a str,
    },
    PhaseFinished {
        restore: &'a str,
        phase: &'a str,
        outcome: Outcome,
        blame: Option<Blame>,
        error: Option<&'a str>,
        /// What the provider said it waited for, when the phase returned.
        reported: Option<Waited>,
    },
    /// Resolve found the recovery point (notes included).
    Resolved {
        restore: &'a str,
        point: &'a RecoveryPoint,
    },
    /// Prepare made the target reachable.
    Prepared {
        restore: &'a str,
        target: &'a Target,
    },
    CheckFinished {
        check: &'a CheckReport,
        /// The newest data a freshness check found.
        newest: Option<DateTime<Utc>>,
    },
    /// The warmup that ended the verify phase (`[restore.warmup]`): its latency curve.
    WarmupFinished {
        restore: &'a str,
        warmup: &'a WarmupReport,
    },
    TeardownFinished {
        restore: &'a str,
        /// What teardown could not remove.
        leaked: &'a [String],
    },
    /// A kept target, and how to reach it.
    Kept {
        restore: &'a str,
        how: &'a str,
    },
    Interrupted {
        reason: &'a str,
    },
    /// The report the builder made from this stream, for displays.
    RunFinished {
        report: &'a RunReport,
    },
}

pub trait EventSink: Send + Sync {
    fn event(&self, at: Instant, event: &Event<'_>);
}

/// A sink that drops everything.
impl EventSink for () {
    fn event(&self, _: Instant, _: &Event<'_>) {}
}
