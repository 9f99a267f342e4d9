//! What the engine reports while it runs. Sinks (the progress display; later the JUnit
//! writer) consume the same stream.

use crate::report::{CheckReport, PhaseReport, RunReport};

#[derive(Debug)]
pub enum Event<'a> {
    RunStarted {
        drill: &'a str,
        run_id: &'a str,
        restores: &'a [String],
    },
    PhaseStarted {
        restore: &'a str,
        phase: &'a str,
    },
    PhaseFinished {
        restore: &'a str,
        phase: &'a PhaseReport,
    },
    CheckFinished {
        check: &'a CheckReport,
    },
    /// A kept target, and how to reach it.
    Kept {
        restore: &'a str,
        how: &'a str,
    },
    RunFinished {
        report: &'a RunReport,
    },
}

pub trait EventSink: Send + Sync {
    fn event(&self, event: &Event<'_>);
}

/// A sink that drops everything.
impl EventSink for () {
    fn event(&self, _: &Event<'_>) {}
}
