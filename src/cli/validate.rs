//! `restore-drill validate`: checks drill files and reports every problem; also how the other
//! commands load drills.

use std::io::Write;
use std::path::PathBuf;

use crate::drill::{Severity, find_drill_files};
use crate::exit;

/// `restore-drill validate [PATH...]`: checks every drill file, reports every problem.
pub fn validate(paths: &[PathBuf], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let files = match find_drill_files(paths) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::INVALID;
        }
    };
    let mut invalid = 0;
    for (file, checked) in &crate::drill::load_drills(&files) {
        for d in &checked.diagnostics {
            let _ = writeln!(err, "{d}");
        }
        let errors = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        if checked.plan.is_some() {
            let _ = writeln!(out, "ok       {}", file.display());
        } else {
            invalid += 1;
            let s = if errors == 1 { "" } else { "s" };
            let _ = writeln!(out, "INVALID  {} ({errors} problem{s})", file.display());
        }
    }
    let n = files.len();
    let _ = writeln!(
        out,
        "{} drill file{} checked: {} valid, {invalid} invalid",
        n,
        if n == 1 { "" } else { "s" },
        n - invalid
    );
    if invalid > 0 { exit::INVALID } else { exit::OK }
}

/// Loads every drill under `paths`; prints the problems of invalid ones. `None` when any is
/// invalid.
pub(super) fn load_all(
    paths: &[PathBuf],
    err: &mut dyn Write,
) -> Option<Vec<crate::drill::DrillPlan>> {
    let files = match find_drill_files(paths) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return None;
        }
    };
    let mut plans = Vec::new();
    let mut invalid = false;
    for (_, checked) in crate::drill::load_drills(&files) {
        for d in &checked.diagnostics {
            let _ = writeln!(err, "{d}");
        }
        match checked.plan {
            Some(p) => plans.push(p),
            None => invalid = true,
        }
    }
    (!invalid).then_some(plans)
}
