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
    match print_plan(file, out, err) {
        Some(_) => exit::OK,
        None => exit::INVALID,
    }
}

/// Loads a drill and prints its plan (or its problems); the plan when it is valid.
fn print_plan(
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

/// What `run` prints on stdout for each drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Md,
    Json,
    None,
}

/// How bad an exit code is, for combining several drills into one code.
fn severity(code: u8) -> u8 {
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

/// Runs `work` on a fresh runtime, with a cancel flag that SIGINT and SIGTERM set.
fn with_signals<F, Fut>(work: F) -> u8
where
    F: FnOnce(crate::engine::Cancel) -> Fut,
    Fut: std::future::Future<Output = u8>,
{
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    rt.block_on(async {
        let cancel = crate::engine::Cancel::new();
        watch_signals(&cancel);
        work(cancel).await
    })
}

fn watch_signals(cancel: &crate::engine::Cancel) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
    ] {
        let cancel = cancel.clone();
        if let Ok(mut s) = signal(kind) {
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    cancel.cancel(name);
                    eprintln!("restore-drill: {name} received; tearing down before exit");
                }
            });
        }
    }
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
}

/// The history file under a reports folder.
pub fn history_path(reports: &Path) -> PathBuf {
    reports.join("history.csv")
}

/// Writes a run's reports and appends it to the history; returns the exit code that any
/// failure to do so adds.
pub fn record_run(reports: &Path, report: &crate::report::RunReport, err: &mut dyn Write) -> u8 {
    match crate::report::write_reports(reports, report) {
        Ok((dir, sha256)) => {
            let _ = writeln!(err, "restore-drill: report written to {}", dir.display());
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

/// `restore-drill run FILE...`: runs drills one after the other, writes their reports, and
/// returns the worst exit code.
pub fn run(files: &[PathBuf], args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let (opts, reports, format) = (&args.opts, args.reports.as_path(), args.format);
    // Every drill is checked before any runs: a typo in the third must not surface after the
    // first two spent an hour restoring.
    let Some(plans) = load_all(files, err) else {
        let _ = writeln!(err, "error: invalid drill files; nothing was run");
        return exit::INVALID;
    };
    with_signals(|cancel| async move {
        let progress = crate::engine::Progress::stderr();
        let mut code = exit::OK;
        let mut done = Vec::new();
        for plan in &plans {
            if cancel.reason().is_some() {
                break;
            }
            // Waits aim their polls at how long this drill's phases usually take.
            let mut opts = opts.clone();
            if let Ok(history) = crate::report::read_history(&history_path(reports)) {
                opts.expected = crate::report::expected_phases(&history, &plan.name, 10);
            }
            let output = crate::engine::run_drill(plan, &opts, &cancel, &progress).await;
            let report = &output.report;
            code = worse(code, record_run(reports, report, err));
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
            let written = crate::report::read_history(&history_path(reports)).and_then(|h| {
                let rows: Vec<_> = h
                    .rows
                    .into_iter()
                    .filter(|r| names.contains(r.drill.as_str()))
                    .collect();
                crate::report::write_atomic(path, crate::report::render_metrics(&rows).as_bytes())
            });
            if let Err(e) = written {
                let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
                code = worse(code, exit::ERROR);
            }
        }
        code
    })
}

/// `restore-drill demo`.
pub fn demo(reports: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    with_signals(|cancel| async move { crate::demo::demo(reports, &cancel, out, err).await })
}

/// What `restore-drill manifest` records, and where from.
#[derive(Debug, Clone)]
pub struct ManifestArgs {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password_env: Option<String>,
    /// `table:key[,key...]`
    pub tables: Vec<String>,
    pub schemas: Vec<String>,
    pub ranges: u32,
    pub out: PathBuf,
    /// Record an S3 prefix instead of a database.
    pub s3: Option<S3ManifestArgs>,
}

/// `restore-drill manifest --s3`.
#[derive(Debug, Clone)]
pub struct S3ManifestArgs {
    /// `s3://bucket/prefix`
    pub url: String,
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// `restore-drill manifest`: records row counts, hashes per key range and the schema of a
/// database, as the reference for `table_checksum` and `schema` checks.
pub fn manifest(args: &ManifestArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if let Some(s3) = &args.s3 {
        return s3_manifest(s3, &args.out, out, err);
    }
    let mut tables = Vec::new();
    for spec in &args.tables {
        match spec.split_once(':') {
            Some((t, keys)) if !t.is_empty() && keys.split(',').all(|k| !k.trim().is_empty()) => {
                tables.push((
                    t.to_owned(),
                    keys.split(',')
                        .map(|k| k.trim().to_owned())
                        .collect::<Vec<_>>(),
                ))
            }
            _ => {
                let _ = writeln!(
                    err,
                    "error: --table {spec}: expected TABLE:KEY or TABLE:KEY1,KEY2 (e.g. orders:id)"
                );
                return exit::INVALID;
            }
        }
    }
    if tables.is_empty() && args.schemas.is_empty() {
        let _ = writeln!(
            err,
            "error: nothing to record: give --table and/or --schema"
        );
        return exit::INVALID;
    }
    let password = match &args.password_env {
        Some(var) => match std::env::var(var) {
            Ok(p) => Some(p),
            Err(_) => {
                let _ = writeln!(
                    err,
                    "error: the environment variable {var} (--password-env) is not set"
                );
                return exit::ERROR;
            }
        },
        None => None,
    };
    let target = crate::checks::CheckTarget {
        host: args.host.clone(),
        port: args.port,
        database: args.database.clone(),
        user: args.user.clone(),
        password,
        tls: crate::drill::Tls::Disable,
        ca_bundle: None,
        server_name: None,
    };
    with_signals(|_| async move {
        let manifest = match crate::checks::record_manifest(
            &target,
            &tables,
            &args.schemas,
            args.ranges,
        )
        .await
        {
            Ok(m) => m,
            Err(e) => {
                let _ = writeln!(err, "error: cannot record the manifest: {e}");
                return exit::ERROR;
            }
        };
        let json = match serde_json::to_vec_pretty(&manifest) {
            Ok(j) => j,
            Err(e) => {
                let _ = writeln!(err, "error: cannot encode the manifest: {e}");
                return exit::ERROR;
            }
        };
        if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = crate::report::write_atomic(&args.out, &json) {
            let _ = writeln!(err, "error: cannot write {}: {e}", args.out.display());
            return exit::ERROR;
        }
        for t in &manifest.tables {
            let _ = writeln!(
                out,
                "{}: {} rows in {} ranges (key {})",
                t.table,
                t.rows,
                t.ranges.len(),
                t.key.join(", ")
            );
        }
        if let Some(s) = &manifest.schema {
            let _ = writeln!(out, "schema: {} tables", s.tables.len());
        }
        let _ = writeln!(out, "manifest written to {}", args.out.display());
        exit::OK
    })
}

/// `restore-drill manifest --s3`: key, size and SHA-256 of every object under a prefix (the
/// versions current at `--at`), for `s3_manifest` checks.
fn s3_manifest(args: &S3ManifestArgs, path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let Some((bucket, prefix)) = args
        .url
        .strip_prefix("s3://")
        .map(|r| r.split_once('/').unwrap_or((r, "")))
        .filter(|(b, _)| !b.is_empty())
    else {
        let _ = writeln!(err, "error: --s3 {}: expected s3://BUCKET/PREFIX", args.url);
        return exit::INVALID;
    };
    let Some(settings) = crate::provider::aws::AwsSettings::of(&crate::drill::ProviderSpec::Aws {
        region: args.region.clone(),
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
    }) else {
        return exit::ERROR;
    };
    with_signals(|_| async move {
        let manifest =
            match crate::checks::record_s3_manifest(&settings, bucket, prefix, args.at, 32).await {
                Ok(m) => m,
                Err(e) => {
                    let _ = writeln!(err, "error: cannot record the manifest: {e}");
                    return exit::ERROR;
                }
            };
        let json = match serde_json::to_vec_pretty(&manifest) {
            Ok(j) => j,
            Err(e) => {
                let _ = writeln!(err, "error: cannot encode the manifest: {e}");
                return exit::ERROR;
            }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = crate::report::write_atomic(path, &json) {
            let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
            return exit::ERROR;
        }
        let bytes: u64 = manifest.objects.iter().map(|o| o.size).sum();
        let _ = writeln!(
            out,
            "s3://{bucket}/{prefix}: {} objects, {bytes} bytes, as of {}",
            manifest.objects.len(),
            manifest
                .as_of
                .unwrap_or(manifest.taken_at)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let _ = writeln!(out, "manifest written to {}", path.display());
        exit::OK
    })
}

/// Loads every drill under `paths`; prints the problems of invalid ones. `None` when any is
/// invalid.
fn load_all(paths: &[PathBuf], err: &mut dyn Write) -> Option<Vec<crate::drill::DrillPlan>> {
    let files = match find_drill_files(paths) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return None;
        }
    };
    let mut plans = Vec::new();
    let mut invalid = false;
    for file in &files {
        let checked = load_drill(file);
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

/// Reads the history, printing what is wrong with it as warnings.
fn history_rows(reports: &Path, err: &mut dyn Write) -> Result<Vec<crate::report::HistoryRow>, u8> {
    let path = history_path(reports);
    match crate::report::read_history(&path) {
        Ok(h) => {
            for p in &h.problems {
                let _ = writeln!(err, "warning: {}: {p}", path.display());
            }
            Ok(h.rows)
        }
        Err(e) => {
            let _ = writeln!(err, "error: cannot read {}: {e}", path.display());
            Err(exit::ERROR)
        }
    }
}

fn whole_minutes(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(d.as_secs() / 60 * 60)
}

/// `restore-drill due [PATH...]`: which drills are overdue, by the history of passing runs.
pub fn due(
    paths: &[PathBuf],
    reports: &Path,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let Some(plans) = load_all(paths, err) else {
        return exit::INVALID;
    };
    let rows = match history_rows(reports, err) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let due = crate::report::due(&plans, &rows, now);
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(
            || "-".to_owned(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
    };
    let width = due.iter().map(|d| d.drill.len()).max().unwrap_or(5).max(5);
    let _ = writeln!(
        out,
        "{:<width$}  {:<9}  {:<20}  due",
        "drill", "state", "last pass"
    );
    let mut late = 0;
    for d in &due {
        let (state, when) = match d.state {
            crate::report::DueState::Ok => (
                "ok",
                d.due_at
                    .and_then(|t| (t - now).to_std().ok())
                    .map(|left| format!(" (in {})", crate::drill::human(whole_minutes(left))))
                    .unwrap_or_default(),
            ),
            crate::report::DueState::Overdue => {
                late += 1;
                let by = d
                    .overdue_by
                    .and_then(|b| b.to_std().ok())
                    .unwrap_or_default();
                (
                    "OVERDUE",
                    format!(" ({} ago)", crate::drill::human(whole_minutes(by))),
                )
            }
            crate::report::DueState::NeverRun => {
                late += 1;
                let ran = match &d.last_run {
                    Some((at, verdict)) => {
                        format!(" (ran {}: {verdict}; never passed)", time(Some(*at)))
                    }
                    None => String::new(),
                };
                ("NEVER RUN", ran)
            }
        };
        let _ = writeln!(
            out,
            "{:<width$}  {state:<9}  {:<20}  {}{when}",
            d.drill,
            time(d.last_pass),
            time(d.due_at)
        );
    }
    let _ = writeln!(out, "{} drills: {} due or never run", due.len(), late);
    if late > 0 {
        exit::TARGET_MISSED
    } else {
        exit::OK
    }
}

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

fn write_atomic_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    crate::report::write_atomic(path, bytes)
}

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
            (_, true, true) => "would delete".to_owned(),
            (None, true, false) => "deleted".to_owned(),
            (Some(e), true, false) => format!("NOT deleted: {e}"),
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
            format!("{stale} would be deleted (dry run)")
        } else {
            format!("{} deleted, {left} left", stale - left)
        }
    );
    if left > 0 { exit::LEAKED } else { exit::OK }
}

/// Runs `work` on a fresh runtime, for commands without signal handling of their own.
fn with_result<F, Fut, T>(work: F) -> std::io::Result<T>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    Ok(rt.block_on(work()))
}

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
    let result = with_result(|| async {
        crate::provider::aws::backup::validate_restore_job(&plan, &id, job).await
    });
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
        results
    });
    let results = match results {
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
    code
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
