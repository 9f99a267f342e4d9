//! The commands behind the CLI. Each writes its normal output to `out`, its diagnostics to
//! `err`, and returns the exit code.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::drill::{Severity, find_drill_files, load_drill, render_plan};
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
    for file in &files {
        let checked = load_drill(file);
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

/// `restore-drill plan FILE`: prints what a run of the drill would do, offline.
pub fn plan(file: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let checked = load_drill(file);
    for d in &checked.diagnostics {
        let _ = writeln!(err, "{d}");
    }
    match checked.plan {
        Some(plan) => {
            let _ = write!(out, "{}", render_plan(&plan));
            exit::OK
        }
        None => {
            let _ = writeln!(err, "error: {} is invalid; nothing to plan", file.display());
            exit::INVALID
        }
    }
}
