//! `restore-drill schedule export`: scheduler definitions from drill files.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::validate::load_all;
use crate::exit;
use crate::scheduler::{Options, Target};

/// Writes one definition per drill (and the daily sweep and due) for `target` into `out_dir`,
/// and lists the files written on stdout.
pub fn schedule_export(
    target: Target,
    files: &[PathBuf],
    opts: &Options,
    out_dir: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let Some(plans) = load_all(files, err) else {
        let _ = writeln!(err, "error: invalid drill files; nothing was exported");
        return exit::INVALID;
    };
    let defs = match crate::scheduler::export(target, &plans, opts) {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::INVALID;
        }
    };
    match crate::scheduler::write(out_dir, &defs) {
        Ok(paths) => {
            for p in paths {
                let _ = writeln!(out, "{}", p.display());
            }
            exit::OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: cannot write under {}: {e}", out_dir.display());
            exit::ERROR
        }
    }
}
