//! `restore-drill run`: runs drills, writes their reports and history rows, and combines their
//! exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;

use super::runtime::with_signals;
use super::validate::load_all;
use crate::exit;

/// What `run` prints on stdout for each drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Md,
    Json,
    None,
}

/// How bad an exit code is, for combining several drills into one code.
pub(super) fn severity(code: u8) -> u8 {
    match code {
        exit::LEAKED => 6,
        exit::INTERRUPTED => 5,
        exit::ERROR => 4,
        exit::INVALID => 3,
        exit::FAILED => 2,
        exit::TARGET_MISSED => 1,
        _ => 0,
    }
}

/// The worse of two exit codes.
pub fn worse(a: u8, b: u8) -> u8 {
    if severity(b) > severity(a) { b } else { a }
}

/// Where `run` writes besides the per-run reports.
#[derive(Debug, Clone)]
pub struct RunArgs {
    pub opts: crate::engine::RunOptions,
    /// Reports go to `<reports>/<drill>/<run_id>/`, the history to `<reports>/history.csv`.
    pub reports: PathBuf,
    pub format: Format,
    /// One JUnit XML file for all runs.
    pub junit: Option<PathBuf>,
    /// Prometheus metrics from the whole history, for node_exporter's textfile collector.
    pub metrics_file: Option<PathBuf>,
    /// How many drills run at once.
    pub jobs: usize,
    /// A store in S3 to record to instead of `reports` (`--store`, `RESTORE_DRILL_STORE`).
    pub store: Option<crate::store::StoreUrl>,
    /// Object Lock retention of everything written to that store (`--store-retain-days`).
    pub retention: Option<crate::store::Retention>,
}

/// The history file under a reports folder.
pub fn history_path(reports: &Path) -> PathBuf {
    reports.join("history.csv")
}

/// Writes a run's reports and appends it to the history; returns the exit code that any
/// failure to do so adds.
pub fn record_run(reports: &Path, report: &crate::report::RunReport, err: &mut dyn Write) -> u8 {
    record_run_signed(reports, report, None, err)
}

/// `record_run`, and with a key, the run's signature (`report.sig` beside `report.json`) over
/// its drill, run id and report hash, written before the history row: a run whose row exists
/// is signed.
pub fn record_run_signed(
    reports: &Path,
    report: &crate::report::RunReport,
    key: Option<&crate::evidence::SecretKey>,
    err: &mut dyn Write,
) -> u8 {
    match crate::report::write_reports(reports, report) {
        Ok((dir, sha256)) => {
            let _ = writeln!(err, "restore-drill: report written to {}", dir.display());
            if let Err(code) = sign_run(&dir, report, &sha256, key, err) {
                return code;
            }
            let history = history_path(reports);
            if let Err(e) = crate::report::append_history(&history, report, &sha256) {
                // The error names the file and line already.
                let _ = writeln!(err, "error: cannot append the run to the history: {e}");
                return exit::ERROR;
            }
            exit::OK
        }
        Err(e) => {
            let _ = writeln!(
                err,
                "error: cannot write the report under {}: {e}",
                reports.display()
            );
            exit::ERROR
        }
    }
}

/// With a key, writes the run's signature (`report.sig`) into its report folder `dir`.
fn sign_run(
    dir: &Path,
    report: &crate::report::RunReport,
    sha256: &str,
    key: Option<&crate::evidence::SecretKey>,
    err: &mut dyn Write,
) -> Result<(), u8> {
    let Some(key) = key else { return Ok(()) };
    let sig = key.sign_run(&report.drill.name, &report.run_id, sha256);
    let path = dir.join(crate::evidence::RUN_SIGNATURE);
    crate::report::write_atomic(&path, sig.as_bytes()).map_err(|e| {
        let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
        exit::ERROR
    })
}

/// `record_run_signed` into a store: a reports folder as it does, or a store in S3: the
/// reports are written into `staging`, signed there, written to the store (each object only
/// if new), and then the history row is appended to the store's chain. A run whose row exists
/// has its reports (and signature) in the store.
pub async fn record_run_in(
    store: &crate::store::Store,
    staging: &Path,
    report: &crate::report::RunReport,
    key: Option<&crate::evidence::SecretKey>,
    err: &mut dyn Write,
) -> u8 {
    if let crate::store::Store::Local(reports) = store {
        return record_run_signed(reports, report, key, err);
    }
    let (dir, sha256) = match crate::report::write_reports(staging, report) {
        Ok(done) => done,
        Err(e) => {
            let _ = writeln!(
                err,
                "error: cannot write the report under {}: {e}",
                staging.display()
            );
            return exit::ERROR;
        }
    };
    if let Err(code) = sign_run(&dir, report, &sha256, key, err) {
        return code;
    }
    let rel = dir
        .strip_prefix(staging)
        .unwrap_or(&dir)
        .to_string_lossy()
        .into_owned();
    if let Err(e) = store.publish(&dir, &rel).await {
        let _ = writeln!(
            err,
            "error: cannot write the run to {}: {e}; its report is kept in {}",
            store.describe(),
            dir.display()
        );
        return exit::ERROR;
    }
    if let Err(e) = store.append(report, &sha256).await {
        let _ = writeln!(
            err,
            "error: cannot append the run to the history in {}: {e}; its report is kept in {}",
            store.describe(),
            dir.display()
        );
        return exit::ERROR;
    }
    let _ = writeln!(
        err,
        "restore-drill: report written to {}/{rel}/",
        store.describe()
    );
    let _ = std::fs::remove_dir_all(&dir);
    exit::OK
}

/// `restore-drill run FILE...`: runs drills (up to `jobs` at once), writes their reports, and
/// returns the worst exit code.
pub fn run(files: &[PathBuf], args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let (opts, reports, format) = (&args.opts, args.reports.as_path(), args.format);
    // Every drill is checked before any runs: a typo in the third must not surface after the
    // first two spent an hour restoring.
    let Some(plans) = load_all(files, err) else {
        let _ = writeln!(err, "error: invalid drill files; nothing was run");
        return exit::INVALID;
    };
    // Runs are signed as they end when the runner holds a key; a key that cannot be read
    // stops everything before any restore.
    let key = match crate::evidence::signing_key_from_env() {
        Ok(k) => k,
        Err(e) => {
            let _ = writeln!(err, "error: {e}; nothing was run");
            return exit::ERROR;
        }
    };
    let key = key.as_ref();
    with_signals(|cancel| async move {
        // The store is opened (and with retention, its Object Lock checked) before any
        // restore: a run that cannot be recorded must not start.
        let store = match super::store::open(args.store.as_ref(), reports, args.retention).await {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(err, "error: {e}; nothing was run");
                return exit::ERROR;
            }
        };
        let staging = super::store::scratch_dir("run");
        let progress = crate::engine::Progress::stderr();
        let jobs = args.jobs.max(1);
        // Waits aim their polls at how long each drill's phases usually take.
        let past = match store.history().await {
            Ok(h) => Some(h),
            Err(e) => {
                let _ = writeln!(err, "warning: {e}; polls are not aimed by past runs");
                None
            }
        };
        let (cancel, progress, past) = (&cancel, &progress, &past);
        let mut code = exit::OK;
        let mut done = Vec::new();
        // Up to `jobs` drills at once; each finished one is recorded (report, history row,
        // stdout) here, one at a time, while the others go on.
        let drills = futures_util::stream::iter(plans.iter())
            .map(|plan| async move {
                if cancel.reason().is_some() {
                    return None;
                }
                let mut opts = opts.clone();
                if let Some(h) = past {
                    opts.expected = crate::report::expected_phases(h, &plan.name, 10);
                }
                let labelled;
                let sink: &crate::engine::Progress = if jobs > 1 {
                    labelled = progress.for_drill(&plan.name);
                    &labelled
                } else {
                    progress
                };
                Some(crate::engine::run_drill(plan, &opts, cancel, sink).await)
            })
            .buffer_unordered(jobs);
        let mut drills = std::pin::pin!(drills);
        while let Some(output) = drills.next().await {
            let Some(output) = output else { continue };
            let report = &output.report;
            code = worse(
                code,
                record_run_in(&store, &staging, report, key, err).await,
            );
            match format {
                Format::Md => {
                    let _ = write!(out, "{}", crate::report::render_markdown(report));
                }
                Format::Json => {
                    let _ = writeln!(
                        out,
                        "{}",
                        serde_json::to_string_pretty(report).unwrap_or_default()
                    );
                }
                Format::None => {}
            }
            let _ = out.flush();
            code = worse(code, crate::engine::exit_code(report));
            done.push(output.report);
        }
        if let Some(path) = &args.junit {
            let xml = crate::report::render_junit(&done);
            if let Err(e) = crate::report::write_atomic(path, xml.as_bytes()) {
                let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
                code = worse(code, exit::ERROR);
            }
        }
        if let Some(path) = &args.metrics_file {
            // Only this invocation's drills: node_exporter refuses a series that two textfiles
            // both define, and each drill may have a file of its own.
            let names: std::collections::HashSet<&str> =
                plans.iter().map(|p| p.name.as_str()).collect();
            let written = store.history().await.and_then(|h| {
                let rows: Vec<_> = h
                    .rows
                    .into_iter()
                    .filter(|r| names.contains(r.drill.as_str()))
                    .collect();
                crate::report::write_atomic(path, crate::report::render_metrics(&rows).as_bytes())
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = written {
                let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
                code = worse(code, exit::ERROR);
            }
        }
        // Staged reports are removed once in the store; any kept after a failure stay.
        remove_empty_dirs(&staging);
        code
    })
}

/// Removes `dir` and the folders under it when none of them holds a file.
fn remove_empty_dirs(dir: &Path) {
    fn holds_files(dir: &Path) -> bool {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                e.file_type()
                    .map_or(true, |t| !t.is_dir() || holds_files(&e.path()))
            })
        })
    }
    if dir.exists() && !holds_files(dir) {
        let _ = std::fs::remove_dir_all(dir);
    }
}
