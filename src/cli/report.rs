//! `restore-drill report`: statistics over the history.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path};

use super::due::history_rows;
use crate::exit;
use crate::report::{DueState, HistoryPageContext, NextDue};

/// When each drill with a valid file under `drills` must pass again. Drill files that do not
/// load are left out quietly: `validate` is the place to hear about them.
fn next_due(
    drills: &Path,
    rows: &[crate::report::HistoryRow],
    now: chrono::DateTime<chrono::Utc>,
) -> BTreeMap<String, NextDue> {
    let Ok(files) = crate::drill::find_drill_files(&[drills.to_path_buf()]) else {
        return BTreeMap::new();
    };
    let plans: Vec<_> = crate::drill::load_drills(&files)
        .into_iter()
        .filter_map(|(_, checked)| checked.plan)
        .collect();
    crate::report::due(&plans, rows, now)
        .into_iter()
        .map(|d| {
            let when = match (d.state, d.due_at) {
                (DueState::Ok, Some(t)) => NextDue::At(t),
                (DueState::Overdue, Some(t)) => NextDue::Overdue(t),
                _ => NextDue::NeverPassed,
            };
            (d.drill, when)
        })
        .collect()
}

/// The path from the folder of `page` to `reports`, as a link prefix ending in `/` (`""` when
/// they are the same folder); `None` when either cannot be made absolute.
fn relative_href(page: &Path, reports: &Path) -> Option<String> {
    let dir = page
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let from = std::path::absolute(dir).ok()?;
    let to = std::path::absolute(reports).ok()?;
    let norm = |p: &Path| -> Vec<String> {
        let mut parts: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                Component::ParentDir => {
                    parts.pop();
                }
                Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
                _ => {}
            }
        }
        parts
    };
    let (from, to) = (norm(&from), norm(&to));
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut href = "../".repeat(from.len() - common);
    for part in &to[common..] {
        href.push_str(part);
        href.push('/');
    }
    Some(href)
}

/// `restore-drill report`: statistics over the history, as text (and optionally HTML).
/// `in_store`: `reports` is a scratch copy of a store, removed once the report is written,
/// so the page links to no run (links into it would be dead).
pub fn report(
    reports: &Path,
    in_store: bool,
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
    let drills = Path::new("drills");
    let tiers = crate::drill::TierCatalog::for_dir(drills).unwrap_or_default();
    let targets = crate::report::Summary::targets(&tiers);
    let summary = crate::report::summarize(&rows, drill, since, &targets);
    let _ = write!(out, "{}", crate::report::render_summary_text(&summary));
    if let Some(path) = html {
        let cx = HistoryPageContext {
            next_due: next_due(drills, &rows, chrono::Utc::now()),
            reports_href: if in_store {
                None
            } else {
                relative_href(path, reports)
            },
        };
        if let Err(e) = write_atomic_file(
            path,
            crate::report::render_summary_html(&summary, &cx).as_bytes(),
        ) {
            let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
            return exit::ERROR;
        }
        let _ = writeln!(
            err,
            "restore-drill: HTML report written to {}{}",
            path.display(),
            if in_store {
                " (without links to each run's report: the runs are in the store; \
                 `restore-drill evidence export` makes a bundle that holds them)"
            } else {
                ""
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_links_are_relative_to_the_page() {
        assert_eq!(
            relative_href(Path::new("reports/history.html"), Path::new("reports")),
            Some(String::new())
        );
        assert_eq!(
            relative_href(Path::new("out/site/h.html"), Path::new("reports")),
            Some("../../reports/".to_owned())
        );
        assert_eq!(
            relative_href(Path::new("/a/b/h.html"), Path::new("/a/c/reports")),
            Some("../c/reports/".to_owned())
        );
    }
}
