//! `restore-drill due`: which drills are overdue, by the history of passing runs; and reading
//! the history for commands.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::run::history_path;
use super::validate::load_all;
use crate::exit;

/// Reads the history, printing what is wrong with it as warnings.
pub(super) fn history_rows(
    reports: &Path,
    err: &mut dyn Write,
) -> Result<Vec<crate::report::HistoryRow>, u8> {
    let path = history_path(reports);
    match crate::report::read_history(&path) {
        Ok(h) => {
            for p in &h.problems {
                let _ = writeln!(err, "warning: {}: {p}", path.display());
            }
            Ok(h.rows)
        }
        Err(e) => {
            let _ = writeln!(err, "error: cannot read {}: {e}", path.display());
            Err(exit::ERROR)
        }
    }
}

pub(super) fn whole_minutes(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(d.as_secs() / 60 * 60)
}

/// `restore-drill due [PATH...]`: which drills are overdue, by the history of passing runs.
pub fn due(
    paths: &[PathBuf],
    reports: &Path,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let Some(plans) = load_all(paths, err) else {
        return exit::INVALID;
    };
    let rows = match history_rows(reports, err) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let due = crate::report::due(&plans, &rows, now);
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(
            || "-".to_owned(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
    };
    let width = due.iter().map(|d| d.drill.len()).max().unwrap_or(5).max(5);
    let _ = writeln!(
        out,
        "{:<width$}  {:<9}  {:<20}  due",
        "drill", "state", "last pass"
    );
    let mut late = 0;
    for d in &due {
        let (state, when) = match d.state {
            crate::report::DueState::Ok => (
                "ok",
                d.due_at
                    .and_then(|t| (t - now).to_std().ok())
                    .map(|left| format!(" (in {})", crate::drill::human(whole_minutes(left))))
                    .unwrap_or_default(),
            ),
            crate::report::DueState::Overdue => {
                late += 1;
                let by = d
                    .overdue_by
                    .and_then(|b| b.to_std().ok())
                    .unwrap_or_default();
                (
                    "OVERDUE",
                    format!(" ({} ago)", crate::drill::human(whole_minutes(by))),
                )
            }
            crate::report::DueState::NeverRun => {
                late += 1;
                let ran = match &d.last_run {
                    Some((at, verdict)) => {
                        format!(" (ran {}: {verdict}; never passed)", time(Some(*at)))
                    }
                    None => String::new(),
                };
                ("NEVER RUN", ran)
            }
        };
        let _ = writeln!(
            out,
            "{:<width$}  {state:<9}  {:<20}  {}{when}",
            d.drill,
            time(d.last_pass),
            time(d.due_at)
        );
    }
    let _ = writeln!(out, "{} drills: {} due or never run", due.len(), late);
    if late > 0 {
        exit::TARGET_MISSED
    } else {
        exit::OK
    }
}
