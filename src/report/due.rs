//! `restore-drill due`: which drills are overdue.

use chrono::{DateTime, Utc};

use super::HistoryRow;
use crate::drill::DrillPlan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueState {
    Ok,
    Overdue,
    NeverRun,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DueRow {
    pub drill: String,
    pub state: DueState,
    pub last_pass: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
}

pub fn due(_plans: &[DrillPlan], _history: &[HistoryRow], _now: DateTime<Utc>) -> Vec<DueRow> {
    Vec::new()
}
