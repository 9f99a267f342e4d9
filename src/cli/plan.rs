//! `restore-drill plan`: what a run of a drill would do, offline or with each recovery point
//! resolved.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::run::worse;
use super::runtime::with_result;
use crate::drill::{load_drill, render_plan};
use crate::exit;

/// The drill files `paths` name (files as given, folders searched for `*.toml`), without the
/// tiers files (read beside their drills); `None` after saying why when there are none.
fn drill_files(paths: &[PathBuf], err: &mut dyn Write) -> Option<Vec<PathBuf>> {
    match crate::drill::find_drill_files(paths) {
        Ok(files) => Some(
            files
                .into_iter()
                .filter(|f| f.file_name().is_none_or(|n| n != crate::drill::TIERS_FILE))
                .collect(),
        ),
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            None
        }
    }
}

/// `restore-drill plan PATH...`: prints what a run of each drill would do, offline; exit 20
/// when any is invalid (every one is still shown).
pub fn plan(paths: &[PathBuf], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let Some(files) = drill_files(paths, err) else {
        return exit::INVALID;
    };
    let mut code = exit::OK;
    for (i, file) in files.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out);
        }
        if print_plan(file, out, err).is_none() {
            code = exit::INVALID;
        }
    }
    code
}

/// `plan --resolve` for each drill `paths` name, one after the other; the worst exit code.
pub fn plan_resolved_all(
    paths: &[PathBuf],
    incident_at: Option<chrono::DateTime<chrono::Utc>>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let Some(files) = drill_files(paths, err) else {
        return exit::INVALID;
    };
    let mut code = exit::OK;
    for (i, file) in files.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out);
        }
        code = worse(code, plan_resolved(file, incident_at, out, err));
    }
    code
}

/// Loads a drill and prints its plan (or its problems); the plan when it is valid.
pub(super) fn print_plan(
    file: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Option<crate::drill::DrillPlan> {
    let checked = load_drill(file);
    for d in &checked.diagnostics {
        let _ = writeln!(err, "{d}");
    }
    match checked.plan {
        Some(plan) => {
            let _ = write!(out, "{}", render_plan(&plan));
            Some(plan)
        }
        None => {
            let _ = writeln!(err, "error: {} is invalid; nothing to plan", file.display());
            None
        }
    }
}

/// `restore-drill plan --resolve`: the plan, then each restore's recovery point as the
/// provider resolves it now, read-only (describe and list calls; nothing is created).
pub fn plan_resolved(
    file: &Path,
    incident_at: Option<chrono::DateTime<chrono::Utc>>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let Some(plan) = print_plan(file, out, err) else {
        return exit::INVALID;
    };
    let incident = incident_at.unwrap_or_else(|| plan.incident.at.resolve(chrono::Utc::now()));
    let _ = writeln!(
        out,
        "\nRecovery points (resolved read-only, incident at {}):",
        incident.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let results = with_result(|| async {
        let preflight = crate::provider::aws::preflight::check(&plan).await;
        let mut results = Vec::new();
        for r in &plan.restores {
            let resolved = match crate::provider::Restorer::new(&plan, r) {
                Ok(mut rest) => rest.resolve(incident).await.map(|mut rp| {
                    for n in rest.notes() {
                        if !rp.notes.contains(&n) {
                            rp.notes.push(n);
                        }
                    }
                    rp
                }),
                Err(e) => Err(e),
            };
            results.push((r.id.clone(), resolved));
        }
        (results, preflight)
    });
    let (results, preflight) = match results {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    let mut code = exit::OK;
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    for (id, r) in results {
        match r {
            Ok(rp) => {
                let _ = writeln!(out, "  {id}: {} {}", rp.kind, rp.id);
                if let Some(t) = time(rp.time) {
                    let _ = writeln!(out, "    restores to      {t}");
                }
                if let Some(t) = time(rp.latest_restorable) {
                    let _ = writeln!(out, "    latest restorable {t}");
                }
                for n in &rp.notes {
                    let _ = writeln!(out, "    {n}");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "  {id}: cannot be resolved: {}", e.message);
                code = worse(
                    code,
                    match e.blame {
                        crate::provider::Blame::Restore => exit::FAILED,
                        crate::provider::Blame::Harness => exit::ERROR,
                    },
                );
            }
        }
    }
    worse(code, print_preflight(&plan, &preflight, out, err))
}

/// The AWS objects the drill names (issue 15 item 6): each missing one is an error naming the
/// drill file, the key and the object (exit 20: the drill does not fit the account); a
/// lookup that could not be made is exit 30.
fn print_preflight(
    plan: &crate::drill::DrillPlan,
    found: &crate::provider::aws::preflight::Preflight,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    if !matches!(plan.provider, crate::drill::ProviderSpec::Aws { .. }) {
        return exit::OK;
    }
    let mut code = exit::OK;
    let _ = writeln!(
        out,
        "\nAWS objects the drill names (KMS keys, subnet groups, security groups, IAM roles): {}",
        if found.missing.is_empty() && found.errors.is_empty() {
            "all found"
        } else {
            "see the errors"
        }
    );
    for m in &found.missing {
        let _ = writeln!(
            err,
            "error: {}: restore \"{}\": key \"{}\": {}",
            plan.file.display(),
            m.restore,
            m.key,
            m.message
        );
        code = worse(code, exit::INVALID);
    }
    for e in &found.errors {
        let _ = writeln!(
            err,
            "error: {}: cannot check: {}",
            plan.file.display(),
            e.message
        );
        code = worse(code, exit::ERROR);
    }
    code
}
