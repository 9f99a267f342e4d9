//! The history of runs: `reports/history.csv`, append-only and hash-chained.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::RunReport;

/// One run in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub drill: String,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub tier: String,
    pub verdict: String,
    pub rto_seconds: Option<f64>,
    pub rpo_seconds: Option<f64>,
    /// (phase name, seconds), summed over the run's restores.
    pub phases: Vec<(String, f64)>,
    pub report_sha256: String,
    pub prev_hash: String,
    pub row_hash: String,
}

/// A history file as read: its rows, and every problem found (a broken chain, a torn line).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub rows: Vec<HistoryRow>,
    pub problems: Vec<String>,
}

/// Appends one run under a file lock, fsynced; returns the row written.
pub fn append_history(
    _path: &Path,
    _report: &RunReport,
    _report_sha256: &str,
) -> std::io::Result<HistoryRow> {
    Err(std::io::Error::other("history is not built yet"))
}

/// Reads a history file and checks its hash chain. A missing file is an empty history.
pub fn read_history(_path: &Path) -> std::io::Result<History> {
    Ok(History::default())
}
