//! `restore-drill validate`: checks drill files and reports every problem; also how the other
//! commands load drills.

use std::io::Write;
use std::path::PathBuf;

use crate::drill::{Severity, TIERS_FILE, TierCatalog, find_drill_files};

/// "1 problem", "3 problems".
fn problems_word(n: usize) -> String {
    format!("{n} problem{}", if n == 1 { "" } else { "s" })
}
use crate::exit;

/// `restore-drill validate [PATH...]`: checks every drill file, reports every problem. A file
/// named `tiers.toml` given by name (as `validate drills/*.toml` does) is checked as a tiers
/// file, not as a drill.
pub fn validate(paths: &[PathBuf], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let files = match find_drill_files(paths) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::INVALID;
        }
    };
    let (tier_files, files): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|f| f.file_name().is_some_and(|n| n == TIERS_FILE));
    let mut invalid_tiers = 0;
    for file in &tier_files {
        let checked = std::fs::read_to_string(file)
            .map_err(|e| vec![format!("{}: cannot read: {e}", file.display())])
            .and_then(|text| {
                TierCatalog::default()
                    .with_file(file, &text)
                    .map_err(|ds| ds.iter().map(ToString::to_string).collect())
            });
        match checked {
            Ok(_) => {
                let _ = writeln!(out, "ok       {} (tiers file)", file.display());
            }
            Err(problems) => {
                invalid_tiers += 1;
                for p in &problems {
                    let _ = writeln!(err, "{p}");
                }
                let _ = writeln!(
                    out,
                    "INVALID  {} (tiers file, {})",
                    file.display(),
                    problems_word(problems.len())
                );
            }
        }
    }
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
            let _ = writeln!(
                out,
                "INVALID  {} ({})",
                file.display(),
                problems_word(errors)
            );
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
    if !tier_files.is_empty() {
        let k = tier_files.len();
        let _ = writeln!(
            out,
            "{k} tiers file{} checked: {} valid, {invalid_tiers} invalid",
            if k == 1 { "" } else { "s" },
            k - invalid_tiers
        );
    }
    if invalid + invalid_tiers > 0 {
        exit::INVALID
    } else {
        exit::OK
    }
}

/// Loads every drill under `paths`; prints the problems of invalid ones. `None` when any is
/// invalid.
pub(super) fn load_all(
    paths: &[PathBuf],
    err: &mut dyn Write,
) -> Option<Vec<crate::drill::DrillPlan>> {
    let files = match find_drill_files(paths) {
        // A tiers file named among the drills (`drills/*.toml`) is read beside them, not as a
        // drill (`validate` checks it as a tiers file).
        Ok(f) => f
            .into_iter()
            .filter(|f| f.file_name().is_none_or(|n| n != TIERS_FILE))
            .collect::<Vec<_>>(),
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
