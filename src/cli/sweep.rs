//! `restore-drill sweep`: removes what killed runs left behind, on AWS or in a local work dir.

use std::io::Write;
use std::path::Path;

use super::runtime::with_result;
use crate::exit;

/// `restore-drill sweep`: removes what killed runs left on AWS. Exit 0 when nothing stale
/// remains, 40 when something could not be deleted, 30 when AWS could not be asked.
pub fn sweep(
    args: &crate::provider::aws::sweep::SweepArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
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
