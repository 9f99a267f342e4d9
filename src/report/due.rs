//! `restore-drill due`: which drills are overdue. A drill is due one schedule interval after its
//! last *passing* run, and never later than its tier's `max_interval` after it: a run that
//! missed its targets or failed proves nothing, so it does not reset the clock.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use super::HistoryRow;
use crate::drill::{DrillPlan, Schedule};

/// The verdict of a passing run.
const MET: &str = "met";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueState {
    /// Passed recently enough; due later.
    Ok,
    /// The due time has come (a drill due exactly now is overdue).
    Overdue,
    /// No passing run in the history: never run, or never passed (see `DueRow::last_run`).
    NeverRun,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DueRow {
    pub drill: String,
    /// The tier the plan names now (not the one recorded with the runs).
    pub tier: String,
    /// The plan's schedule as `Display` writes it: `weekly`, `cron "0 6 * * mon"`.
    pub schedule: String,
    pub state: DueState,
    /// `started_at` of the newest run with verdict `met`.
    pub last_pass: Option<DateTime<Utc>>,
    /// When the next passing run is needed; `None` when there has never been one (due now).
    pub due_at: Option<DateTime<Utc>>,
    /// `now - due_at` when `Overdue` (zero when due exactly now); `None` otherwise.
    pub overdue_by: Option<chrono::Duration>,
    /// The newest run whatever its verdict: (`started_at`, verdict). With `NeverRun`, `Some`
    /// means it ran but never passed.
    pub last_run: Option<(DateTime<Utc>, String)>,
}

/// One row per plan, in order: overdue and never-passed drills first (never-passed before
/// overdue, then the longest overdue first), then the rest by due time; ties by name.
pub fn due(plans: &[DrillPlan], history: &[HistoryRow], now: DateTime<Utc>) -> Vec<DueRow> {
    let mut rows: Vec<DueRow> = plans.iter().map(|p| due_row(p, history, now)).collect();
    rows.sort_by(|a, b| {
        let urgent = |r: &DueRow| r.state == DueState::Ok;
        // `None` (never passed) sorts before any due time.
        urgent(a)
            .cmp(&urgent(b))
            .then_with(|| a.due_at.cmp(&b.due_at))
            .then_with(|| a.drill.cmp(&b.drill))
    });
    rows
}

fn due_row(plan: &DrillPlan, history: &[HistoryRow], now: DateTime<Utc>) -> DueRow {
    let runs = || history.iter().filter(|r| r.drill == plan.name);
    // `max_by` keeps the last of equal elements: for two runs with the same start, the one
    // written later wins.
    let newest = |a: &&HistoryRow, b: &&HistoryRow| -> Ordering { a.started_at.cmp(&b.started_at) };
    let last_run = runs()
        .max_by(newest)
        .map(|r| (r.started_at, r.verdict.clone()));
    let last_pass = runs()
        .filter(|r| r.verdict == MET)
        .max_by(newest)
        .map(|r| r.started_at);
    let due_at = last_pass.map(|pass| due_after(&plan.schedule, plan.tier.max_interval, pass));
    let state = match due_at {
        None => DueState::NeverRun,
        Some(at) if now < at => DueState::Ok,
        Some(_) => DueState::Overdue,
    };
    DueRow {
        drill: plan.name.clone(),
        tier: plan.tier.name.clone(),
        schedule: plan.schedule.to_string(),
        state,
        last_pass,
        due_at,
        overdue_by: due_at
            .filter(|_| state == DueState::Overdue)
            .map(|at| now - at),
        last_run,
    }
}

/// When a drill that passed at `pass` is due again: the schedule's next occurrence, capped at
/// the tier's longest allowed interval.
fn due_after(
    schedule: &Schedule,
    max_interval: std::time::Duration,
    pass: DateTime<Utc>,
) -> DateTime<Utc> {
    let cap = add(pass, max_interval);
    let scheduled = match schedule {
        Schedule::Cron(cron) => cron.next_after(pass),
        named => named.nominal_interval().map(|every| add(pass, every)),
    };
    // A cron expression that never fires (`0 0 30 2 *`) leaves only the tier's cap.
    scheduled.map_or(cap, |s| s.min(cap))
}

/// `t + d`, saturating at the latest representable time: an interval too long for the
/// calendar (a tier with `max_interval = "100000y"`) is never due.
fn add(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
