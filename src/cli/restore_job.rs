//! `restore-drill validate-restore-job`: the validator of an AWS Backup restore testing plan.

use std::io::Write;
use std::path::Path;

use super::runtime::with_result;
use super::validate::load_all;
use crate::exit;

/// `restore-drill validate-restore-job`: act as the validator of an AWS Backup restore
/// testing plan. Exit 0 when validation succeeded (and was reported), 11 when it failed
/// (reported as FAILED), 20 for an invalid drill, 30 when AWS could not be asked.
pub fn validate_restore_job(
    drill: &Path,
    restore: Option<&str>,
    job: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let Some(plans) = load_all(&[drill.to_path_buf()], err) else {
        return exit::INVALID;
    };
    let Some(plan) = plans.into_iter().next() else {
        let _ = writeln!(err, "error: {} holds no drill", drill.display());
        return exit::INVALID;
    };
    let backups: Vec<&str> = plan
        .restores
        .iter()
        .filter(|r| r.kind_name() == "backup_recovery_point")
        .map(|r| r.id.as_str())
        .collect();
    let id = match (restore, backups.as_slice()) {
        (Some(id), _) => id.to_owned(),
        (None, [only]) => (*only).to_owned(),
        (None, []) => {
            let _ = writeln!(
                err,
                "error: {} has no backup_recovery_point restore to validate",
                drill.display()
            );
            return exit::INVALID;
        }
        (None, many) => {
            let _ = writeln!(
                err,
                "error: {} has several backup_recovery_point restores ({}): name one with --restore",
                drill.display(),
                many.join(", ")
            );
            return exit::INVALID;
        }
    };
    let result =
        with_result(|| async { crate::engine::validate_restore_job(&plan, &id, job).await });
    match result {
        Ok(Ok((v, reports))) => {
            for c in &reports {
                let _ = writeln!(out, "check \"{}\": {:?}", c.name, c.outcome);
                for f in &c.findings {
                    let _ = writeln!(out, "  {}", f.message);
                }
            }
            let _ = writeln!(
                out,
                "restore job {job}: {} reported to AWS Backup: {}",
                if v.successful { "SUCCESSFUL" } else { "FAILED" },
                v.message
            );
            if v.successful { exit::OK } else { exit::FAILED }
        }
        Ok(Err(e)) => {
            let _ = writeln!(err, "error: {e}");
            exit::ERROR
        }
        Err(e) => {
            let _ = writeln!(err, "error: cannot start the async runtime: {e}");
            exit::ERROR
        }
    }
}
