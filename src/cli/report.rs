//! `restore-drill report`: statistics over the history.

use std::io::Write;
use std::path::Path;

use super::due::history_rows;
use crate::exit;

/// `restore-drill report`: statistics over the history, as text (and optionally HTML).
pub fn report(
    reports: &Path,
    drill: Option<&str>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    html: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let rows = match history_rows(reports, err) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // Targets of the built-in tiers, and of a tiers.toml in drills/ when there is one.
    let tiers = crate::drill::TierCatalog::for_dir(Path::new("drills")).unwrap_or_default();
    let targets = crate::report::Summary::rto_targets(&tiers);
    let summary = crate::report::summarize(&rows, drill, since, &targets);
    let _ = write!(out, "{}", crate::report::render_summary_text(&summary));
    if let Some(path) = html {
        if let Err(e) = write_atomic_file(
            path,
            crate::report::render_summary_html(&summary).as_bytes(),
        ) {
            let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
            return exit::ERROR;
        }
        let _ = writeln!(
            err,
            "restore-drill: HTML report written to {}",
            path.display()
        );
    }
    exit::OK
}

pub(super) fn write_atomic_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    crate::report::write_atomic(path, bytes)
}
