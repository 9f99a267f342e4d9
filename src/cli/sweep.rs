//! `restore-drill sweep`: removes what killed runs left behind, on AWS or in a local work dir.

use std::io::Write;
use std::path::Path;

use super::runtime::with_result;
use crate::exit;

/// `restore-drill sweep`: removes what killed runs left on AWS. Exit 0 when nothing stale
/// remains, 40 when something could not be deleted, 30 when AWS could not be asked.
///
/// Besides the configured region and those given, it looks in every region the runs under
/// `reports` recorded (`regions touched` in each restore's recovery point notes, and the
/// target's region), so snapshot copies and restores in a DR region are found too.
pub fn sweep(
    args: &crate::provider::aws::sweep::SweepArgs,
    reports: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut args = args.clone();
    if let Some(dir) = reports {
        for r in recorded_regions(dir) {
            if !args.regions.contains(&r) {
                args.regions.push(r);
            }
        }
    }
    let args = &args;
    let found = with_result(|| async {
        crate::provider::aws::sweep::sweep(args, chrono::Utc::now()).await
    });
    let found = match found {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => {
            let _ = writeln!(err, "error: {e}");
            return exit::ERROR;
        }
        Err(e) => {
            let _ = writeln!(err, "error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(
            || "-".to_owned(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
    };
    let (mut stale, mut left) = (0, 0);
    for f in &found {
        let action = match (&f.error, f.stale, args.dry_run) {
            (_, false, _) => "kept (not stale)".to_owned(),
            // Also on a dry run: what could not even be looked at would not be deleted.
            (Some(e), true, _) => format!("NOT deleted: {e}"),
            (None, true, true) => "would delete".to_owned(),
            (None, true, false) => "deleted".to_owned(),
        };
        stale += usize::from(f.stale);
        left += usize::from(f.stale && f.error.is_some());
        let _ = writeln!(
            out,
            "{}  run {}  drill {}  created {}  expires {}  {action}",
            f.resource,
            f.run_id,
            if f.drill.is_empty() { "-" } else { &f.drill },
            time(f.created),
            time(f.expires),
        );
    }
    let _ = writeln!(
        err,
        "restore-drill: {} resources tagged by restore-drill, {stale} stale, {}",
        found.len(),
        if args.dry_run {
            format!(
                "{} would be deleted (dry run){}",
                stale - left,
                if left > 0 {
                    format!(", {left} could not be looked at")
                } else {
                    String::new()
                }
            )
        } else {
            format!("{} deleted, {left} left", stale - left)
        }
    );
    if left > 0 { exit::LEAKED } else { exit::OK }
}

/// `restore-drill sweep --local-work-dir DIR`: removes killed local restores' run dirs.
pub fn sweep_local(
    dir: &Path,
    run_id: Option<&str>,
    dry_run: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let found = match crate::provider::local::sweep_local(dir, run_id, dry_run) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::ERROR;
        }
    };
    let (mut stale, mut left) = (0, 0);
    for f in &found {
        let action = match (&f.kept_because, &f.error, dry_run) {
            (Some(why), _, _) => format!("kept: {why}"),
            (None, _, true) => "would remove".to_owned(),
            (None, None, false) => "removed".to_owned(),
            (None, Some(e), false) => format!("NOT removed: {e}"),
        };
        stale += usize::from(f.kept_because.is_none());
        left += usize::from(f.kept_because.is_none() && f.error.is_some());
        let _ = writeln!(
            out,
            "{}  run {}  restore {}  {action}",
            f.dir.display(),
            f.marker.run_id,
            f.marker.restore
        );
    }
    let _ = writeln!(
        err,
        "restore-drill: {} local restore dirs, {stale} stale, {}",
        found.len(),
        if dry_run {
            format!("{stale} would be removed (dry run)")
        } else {
            format!("{} removed, {left} left", stale - left)
        }
    );
    if left > 0 { exit::LEAKED } else { exit::OK }
}

/// Every region the runs under `dir` (`<dir>/<drill>/<run_id>/report.json`) recorded. A
/// report that cannot be read is skipped: sweep still covers the configured regions.
pub(crate) fn recorded_regions(dir: &Path) -> Vec<String> {
    let mut regions = Vec::new();
    let Ok(drills) = std::fs::read_dir(dir) else {
        return regions;
    };
    for drill in drills.flatten() {
        let Ok(runs) = std::fs::read_dir(drill.path()) else {
            continue;
        };
        for run in runs.flatten() {
            let Ok(text) = std::fs::read(run.path().join("report.json")) else {
                continue;
            };
            let Ok(report) = serde_json::from_slice::<serde_json::Value>(&text) else {
                continue;
            };
            let restores = report["restores"].as_array().cloned().unwrap_or_default();
            for r in restores {
                let notes = r["recovery_point"]["notes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let from_notes = notes.iter().filter_map(|n| {
                    n.as_str()?
                        .strip_prefix(crate::provider::aws::rds::REGIONS_NOTE)
                        .map(|l| l.split(", ").map(str::to_owned).collect::<Vec<_>>())
                });
                let target = r["target"]["details"]["region"].as_str().map(str::to_owned);
                for region in from_notes.flatten().chain(target) {
                    let plausible = !region.is_empty()
                        && region
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                    if plausible && !regions.contains(&region) {
                        regions.push(region);
                    }
                }
            }
        }
    }
    regions.sort();
    regions
}
