//! Making a bundle: gather the runs of a period from the history and the reports folder,
//! copy their reports and drill files, work out coverage and controls, write the index
//! pages, the manifest and its signature, then the `.tar.gz`.
//!
//! The bundle is built in a hidden folder beside its destination and renamed into place
//! only when complete, so a failed export never leaves a half bundle that looks whole. An
//! existing bundle is never overwritten.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::bundle::{
    BUNDLE_FILE, BundleInfo, DRILLS_DIR, DrillFileEntry, FORMAT, HistoryInfo, HistoryLine,
    INDEX_HTML, INDEX_MD, Period, RUNS_DIR, RunEntry, Segregation, TargetIsolation,
};
use super::chain::{HISTORY_FILE, extract_segment, tail};
use super::controls::{DrillFacts, coverage, evaluate};
use super::hex;
use super::index::{render_index_html, render_index_markdown};
use super::keys::SecretKey;
use super::manifest::{MANIFEST, SIGNATURE, is_safe_name, read_tree, render_manifest};
use crate::drill::{DrillPlan, TierCatalog, find_drill_files, load_drill};
use crate::report::{HistoryRow, RunReport, read_history};

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The reports folder: `<reports>/history.csv` and `<reports>/<drill>/<run_id>/`.
    pub reports: PathBuf,
    /// The drills folder: drill files (their current tier and schedule) and `tiers.toml`.
    pub drills: PathBuf,
    pub since: Option<DateTime<Utc>>,
    /// The end of the period; the export time when not given.
    pub until: Option<DateTime<Utc>>,
    pub drill: Option<String>,
    pub now: DateTime<Utc>,
}

/// A written bundle.
#[derive(Debug)]
pub struct Exported {
    pub dir: PathBuf,
    pub tarball: PathBuf,
    pub info: BundleInfo,
    /// The files the manifest lists, relative to the bundle's folder (besides them the
    /// bundle holds only the manifest and its signature).
    pub files: Vec<String>,
    /// Notes for the operator (not problems with the evidence).
    pub warnings: Vec<String>,
}

/// Where `--out PATH` puts the folder and the archive: `X.tar.gz` → (`X`, `X.tar.gz`), `X` →
/// (`X`, `X.tar.gz`).
pub fn out_paths(out: &Path) -> (PathBuf, PathBuf) {
    let s = out.as_os_str().to_string_lossy();
    let s = s.trim_end_matches('/');
    match s.strip_suffix(".tar.gz") {
        Some(dir) => (PathBuf::from(dir), PathBuf::from(s)),
        None => (PathBuf::from(s), PathBuf::from(format!("{s}.tar.gz"))),
    }
}

/// Builds the bundle into `dir` and `tarball`. Errors are failures to read or write; what
/// is wrong with the evidence itself goes into the bundle's `problems`.
pub fn export_bundle(
    req: &ExportRequest,
    key: &SecretKey,
    dir: &Path,
    tarball: &Path,
) -> Result<Exported, String> {
    for p in [dir, tarball] {
        if p.exists() {
            return Err(format!(
                "{} exists; evidence is never overwritten (choose another --out)",
                p.display()
            ));
        }
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| is_safe_name(n))
        .ok_or_else(|| format!("{}: not a usable folder name", dir.display()))?;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = build(req, key, &staging).and_then(|(info, files, warnings)| {
        std::fs::rename(&staging, dir)
            .map_err(|e| format!("cannot move the bundle to {}: {e}", dir.display()))?;
        write_tarball(dir, &name, tarball, info.created_at)?;
        // The two renames above are entries in the parent folder: make them durable too.
        std::fs::File::open(parent)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("cannot sync {}: {e}", parent.display()))?;
        Ok(Exported {
            dir: dir.to_owned(),
            tarball: tarball.to_owned(),
            info,
            files,
            warnings,
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn build(
    req: &ExportRequest,
    key: &SecretKey,
    out: &Path,
) -> Result<(BundleInfo, Vec<String>, Vec<String>), String> {
    let until = req.until.unwrap_or(req.now);
    if let Some(since) = req.since
        && since > until
    {
        return Err(format!(
            "the period is empty: --since {} is after --until {}",
            super::controls::day(since),
            super::controls::day(until)
        ));
    }
    let period = Period {
        since: req.since,
        until,
        drill: req.drill.clone(),
    };
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    let write = |rel: &str, bytes: &[u8]| -> Result<(), String> {
        let path = out.join(rel);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    // The history: its text (copied byte for byte) and its rows (chain checked).
    let history_path = req.reports.join("history.csv");
    let text = match std::fs::read_to_string(&history_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            warnings.push(format!(
                "{} does not exist: no run is in the history",
                history_path.display()
            ));
            String::new()
        }
        Err(e) => return Err(format!("cannot read {}: {e}", history_path.display())),
    };
    let history = read_history(&history_path)
        .map_err(|e| format!("cannot read {}: {e}", history_path.display()))?;
    let history_problems: Vec<String> = history
        .problems
        .iter()
        .map(|p| format!("{}: {p}", history_path.display()))
        .collect();
    let by_hash: HashMap<&str, &HistoryRow> = history
        .rows
        .iter()
        .map(|r| (r.row_hash.as_str(), r))
        .collect();
    // Source line → row, for the rows of the period.
    let mut picked: BTreeMap<usize, &HistoryRow> = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if let Some(row) = tail(line).and_then(|t| by_hash.get(t.row_hash))
            && period.contains(&row.drill, row.started_at)
        {
            picked.insert(i + 1, row);
        }
    }
    let segment = extract_segment(&text, |n, _| picked.contains_key(&n));
    write(HISTORY_FILE, segment.text.as_bytes())?;
    let mut lines = Vec::new();
    if let Some((first, last)) = segment.source_lines {
        for (i, line) in text.lines().enumerate().take(last).skip(first - 1) {
            let n = i + 1;
            let row = tail(line).and_then(|t| by_hash.get(t.row_hash));
            lines.push(HistoryLine {
                line: n - first + 2,
                drill: row.map(|r| r.drill.clone()),
                run_id: row.map(|r| r.run_id.clone()),
                started_at: row.map(|r| r.started_at),
                verdict: row.map(|r| r.verdict.clone()),
                in_period: picked.contains_key(&n),
            });
        }
    }

    // The runs: every history row of the period, then report folders of the period that
    // the history does not know.
    let mut runs = Vec::new();
    for (&source_line, row) in &picked {
        let mut entry = RunEntry {
            drill: row.drill.clone(),
            run_id: row.run_id.clone(),
            started_at: row.started_at,
            tier: row.tier.clone(),
            verdict: row.verdict.clone(),
            history_line: segment.bundle_line(source_line),
            row_hash: Some(row.row_hash.clone()),
            dir: None,
            files: Vec::new(),
            report_sha256: None,
            drill_file: None,
            isolation: Vec::new(),
            problems: Vec::new(),
            report: None,
        };
        copy_run(req, out, &mut entry, Some(&row.report_sha256))?;
        runs.push(entry);
    }
    let chained: BTreeSet<(&str, &str)> = history
        .rows
        .iter()
        .map(|r| (r.drill.as_str(), r.run_id.as_str()))
        .collect();
    for (drill, run_id) in report_dirs(&req.reports, period.drill.as_deref())? {
        if chained.contains(&(drill.as_str(), run_id.as_str())) {
            continue;
        }
        let path = req.reports.join(&drill).join(&run_id).join("report.json");
        let Some(report) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<RunReport>(&b).ok())
        else {
            continue;
        };
        if !period.contains(&drill, report.started_at) {
            continue;
        }
        let mut entry = RunEntry {
            drill,
            run_id,
            started_at: report.started_at,
            tier: report.tier.name.clone(),
            verdict: report.verdict.as_str().to_owned(),
            history_line: None,
            row_hash: None,
            dir: None,
            files: Vec::new(),
            report_sha256: None,
            drill_file: None,
            isolation: Vec::new(),
            problems: vec![
                "not in the history: the run's record is not hash-chained (was the history \
                 append refused?)"
                    .to_owned(),
            ],
            report: None,
        };
        copy_run(req, out, &mut entry, None)?;
        runs.push(entry);
    }
    runs.sort_by(|a, b| {
        (a.started_at, &a.drill, &a.run_id).cmp(&(b.started_at, &b.drill, &b.run_id))
    });

    // Drill files, copied once per content.
    let mut copied: HashMap<(String, String), DrillFileEntry> = HashMap::new();
    for r in &mut runs {
        let Some(rep) = &r.report else { continue };
        let k = (rep.drill.file.clone(), rep.drill.sha256.clone());
        if let Some(e) = copied.get(&k) {
            r.drill_file = Some(e.clone());
            continue;
        }
        let e = copy_drill_file(out, &rep.drill.file, &rep.drill.sha256)?;
        copied.insert(k, e.clone());
        r.drill_file = Some(e);
    }

    // Coverage per drill and the controls.
    let plans = load_plans(&req.drills, period.drill.as_deref(), &mut warnings);
    let catalog = TierCatalog::for_dir(&req.drills).unwrap_or_else(|d| {
        warnings.push(format!(
            "{} is invalid ({} problem{}): the built-in tiers are used",
            req.drills.join(crate::drill::TIERS_FILE).display(),
            d.len(),
            if d.len() == 1 { "" } else { "s" }
        ));
        TierCatalog::default()
    });
    let due = crate::report::due(&plans, &history.rows, until);
    let mut names: BTreeSet<String> = history
        .rows
        .iter()
        .filter(|r| period.drill.as_deref().is_none_or(|d| d == r.drill) && r.started_at <= until)
        .map(|r| r.drill.clone())
        .collect();
    names.extend(plans.iter().map(|p| p.name.clone()));
    names.extend(runs.iter().map(|r| r.drill.clone()));
    let drills: Vec<_> = names
        .into_iter()
        .map(|name| {
            let rows: Vec<&HistoryRow> = history.rows.iter().filter(|r| r.drill == name).collect();
            let plan = plans.iter().find(|p| p.name == name);
            let (tier, interval, tier_from) = match plan {
                Some(p) => (
                    Some(p.tier.name.clone()),
                    Some(p.tier.max_interval),
                    p.file.display().to_string(),
                ),
                None => {
                    let newest = rows
                        .iter()
                        .filter(|r| r.started_at <= until)
                        .max_by_key(|r| r.started_at)
                        .map(|r| r.tier.clone())
                        .or_else(|| {
                            runs.iter()
                                .rev()
                                .find(|r| r.drill == name)
                                .map(|r| r.tier.clone())
                        });
                    let interval = newest
                        .as_deref()
                        .and_then(|t| catalog.get(t))
                        .map(|t| t.max_interval);
                    (newest, interval, "its newest run".to_owned())
                }
            };
            let due_at_end = due.iter().find(|d| d.drill == name).map(describe_due);
            coverage(
                &DrillFacts {
                    drill: name.clone(),
                    tier,
                    interval,
                    tier_from,
                    rows,
                    due_at_end,
                },
                &period,
                &runs,
            )
        })
        .collect();
    let controls = evaluate(&drills, &runs);

    for r in &runs {
        problems.extend(r.problems.iter().map(|p| format!("{}: {p}", r.label())));
    }
    problems.extend(history_problems.iter().cloned());
    let info = BundleInfo {
        format: FORMAT.to_owned(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: req.now,
        exported_by: super::operator::current_operator(),
        signing_key: key.public().to_string(),
        period,
        reports: req.reports.display().to_string(),
        history: HistoryInfo {
            file: HISTORY_FILE.to_owned(),
            source_first_line: segment.source_lines.map(|s| s.0),
            source_last_line: segment.source_lines.map(|s| s.1),
            anchor: segment.anchor.clone(),
            rows: lines.len(),
            rows_in_period: picked.len(),
            problems_at_export: history_problems,
            lines,
        },
        runs,
        drills,
        controls,
        problems,
    };
    let json = serde_json::to_vec_pretty(&info)
        .map_err(|e| format!("cannot encode {BUNDLE_FILE}: {e}"))?;
    write(BUNDLE_FILE, &json)?;
    write(INDEX_MD, render_index_markdown(&info).as_bytes())?;
    write(INDEX_HTML, render_index_html(&info).as_bytes())?;

    // The manifest over every file written, and its signature.
    let tree =
        read_tree(out, &[]).map_err(|e| format!("cannot read back {}: {e}", out.display()))?;
    if let Some(p) = tree.problems.first() {
        return Err(format!("the bundle being written holds something odd: {p}"));
    }
    let manifest = render_manifest(&tree.hashes);
    write(MANIFEST, manifest.as_bytes())?;
    write(SIGNATURE, key.sign_file(manifest.as_bytes()).as_bytes())?;
    sync_bundle(out)?;
    Ok((info, tree.hashes.keys().cloned().collect(), warnings))
}

/// Copies a run's report folder into `runs/<drill>/<run_id>/` and reads its report.
fn copy_run(
    req: &ExportRequest,
    out: &Path,
    entry: &mut RunEntry,
    history_sha256: Option<&str>,
) -> Result<(), String> {
    if !is_safe_name(&entry.drill) || !is_safe_name(&entry.run_id) {
        entry.problems.push(
            "its drill or run id is not a usable folder name; its reports were not copied"
                .to_owned(),
        );
        return Ok(());
    }
    let src = req.reports.join(&entry.drill).join(&entry.run_id);
    let rel = format!("{RUNS_DIR}/{}/{}", entry.drill, entry.run_id);
    let mut names = match std::fs::read_dir(&src) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| is_safe_name(n) && !n.starts_with('.'))
            .collect::<Vec<_>>(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            entry.problems.push(format!(
                "its reports are missing: {} does not exist",
                src.display()
            ));
            return Ok(());
        }
        Err(e) => return Err(format!("cannot read {}: {e}", src.display())),
    };
    names.sort();
    let dst = out.join(&rel);
    std::fs::create_dir_all(&dst).map_err(|e| format!("cannot create {}: {e}", dst.display()))?;
    for n in &names {
        let bytes = std::fs::read(src.join(n))
            .map_err(|e| format!("cannot read {}: {e}", src.join(n).display()))?;
        if n == "report.json" {
            let sha = crate::drill::sha256_hex(&bytes);
            if let Some(expected) = history_sha256
                && expected != sha
            {
                entry.problems.push(format!(
                    "report.json differs from the SHA-256 its history row recorded \
                     ({expected}; now {sha}): edited after the run?"
                ));
            }
            match serde_json::from_slice::<RunReport>(&bytes) {
                Ok(r) => {
                    entry.isolation = isolation_of(&r);
                    entry.report = Some(r);
                }
                Err(e) => entry
                    .problems
                    .push(format!("report.json cannot be read as a run report: {e}")),
            }
            entry.report_sha256 = Some(sha);
        }
        std::fs::write(dst.join(n), &bytes)
            .map_err(|e| format!("cannot write {}: {e}", dst.join(n).display()))?;
    }
    if !names.iter().any(|n| n == "report.json") {
        entry
            .problems
            .push(format!("its report.json is missing from {}", src.display()));
    }
    entry.dir = Some(rel);
    entry.files = names;
    Ok(())
}

/// The largest drill file copied into a bundle.
const MAX_DRILL_FILE: u64 = 16 << 20;

/// Copies a drill file into `drills/<sha256>/<name>` when it still has the SHA-256 the run
/// recorded; says why not otherwise.
fn copy_drill_file(out: &Path, file: &str, sha256: &str) -> Result<DrillFileEntry, String> {
    let mut entry = DrillFileEntry {
        path: file.to_owned(),
        sha256: sha256.to_owned(),
        copy: None,
        note: None,
    };
    // Only a regular file of a drill's size: a report names the path, and a report is data.
    let read = std::fs::metadata(file).and_then(|m| {
        if !m.is_file() {
            Err(std::io::Error::other("it is not a regular file"))
        } else if m.len() > MAX_DRILL_FILE {
            Err(std::io::Error::other(
                "it is larger than a drill file can be",
            ))
        } else {
            std::fs::read(file)
        }
    });
    match read {
        Ok(bytes) => {
            let now = crate::drill::sha256_hex(&bytes);
            if now != sha256 || !hex::is_sha256(sha256) {
                entry.note = Some(format!(
                    "the file has changed since the run (its SHA-256 is now {now})"
                ));
            } else {
                let base = Path::new(file)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .filter(|n| is_safe_name(n))
                    .unwrap_or_else(|| "drill.toml".to_owned());
                let rel = format!("{DRILLS_DIR}/{sha256}/{base}");
                let path = out.join(&rel);
                if let Some(d) = path.parent() {
                    std::fs::create_dir_all(d)
                        .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
                }
                std::fs::write(&path, &bytes)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                entry.copy = Some(rel);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            entry.note = Some("the file no longer exists".to_owned());
        }
        Err(e) => entry.note = Some(format!("the file cannot be read: {e}")),
    }
    Ok(entry)
}

/// `(drill, run_id)` of every report folder, sorted.
fn report_dirs(reports: &Path, drill: Option<&str>) -> Result<Vec<(String, String)>, String> {
    let subdirs = |p: &Path| -> Result<Vec<String>, String> {
        match std::fs::read_dir(p) {
            Ok(rd) => Ok(rd
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| is_safe_name(n) && !n.starts_with('.'))
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(format!("cannot read {}: {e}", p.display())),
        }
    };
    let mut out = Vec::new();
    for d in subdirs(reports)? {
        if drill.is_some_and(|x| x != d) {
            continue;
        }
        for r in subdirs(&reports.join(&d))? {
            out.push((d.clone(), r));
        }
    }
    out.sort();
    Ok(out)
}

fn load_plans(drills: &Path, only: Option<&str>, warnings: &mut Vec<String>) -> Vec<DrillPlan> {
    if !drills.is_dir() {
        return Vec::new();
    }
    let files = match find_drill_files(&[drills.to_owned()]) {
        Ok(f) => f,
        Err(e) => {
            warnings.push(format!("cannot list the drill files: {e}"));
            return Vec::new();
        }
    };
    let mut plans = Vec::new();
    for f in files {
        match load_drill(&f).plan {
            Some(p) if only.is_none_or(|d| d == p.name) => plans.push(p),
            Some(_) => {}
            None => warnings.push(format!(
                "{} is invalid (see restore-drill validate): its tier and schedule are taken \
                 from its runs",
                f.display()
            )),
        }
    }
    plans
}

fn describe_due(d: &crate::report::DueRow) -> String {
    use crate::report::DueState;
    match d.state {
        DueState::Ok => format!(
            "ok, next pass due {}",
            d.due_at
                .map_or_else(|| "-".to_owned(), super::controls::day)
        ),
        DueState::Overdue => format!(
            "overdue since {}",
            d.due_at
                .map_or_else(|| "-".to_owned(), super::controls::day)
        ),
        DueState::NeverRun => "never passed".to_owned(),
    }
}

/// Keys of `Target.details` that say how a target is isolated.
const ISOLATION_KEYS: [&str; 6] = [
    "publicly_accessible",
    "subnet_group",
    "security_groups",
    "vpc",
    "region",
    "connect_via",
];

/// What each restore's target recorded about its isolation, and a judgement of it.
pub(crate) fn isolation_of(report: &RunReport) -> Vec<TargetIsolation> {
    let mut out = Vec::new();
    for r in &report.restores {
        let Some(t) = &r.target else { continue };
        let get = |k: &str| t.details.get(k).map(String::as_str);
        let mut settings: Vec<String> = ISOLATION_KEYS
            .iter()
            .filter_map(|k| get(k).map(|v| format!("{k}={v}")))
            .collect();
        if let Some(a) = &t.address {
            settings.push(format!("address={a}"));
        }
        let (segregation, reason) = if get("publicly_accessible") == Some("true") {
            (
                Segregation::NotSegregated,
                "publicly accessible, so not segregated from other networks".to_owned(),
            )
        } else if get("subnet_group").is_some() || get("security_groups").is_some() {
            let public = match get("publicly_accessible") {
                Some("false") => ", not publicly accessible",
                _ => "",
            };
            (
                Segregation::Segregated,
                format!("in its own subnet group / security groups{public}"),
            )
        } else if t.kind == "postgresql" {
            (
                Segregation::Segregated,
                "a separate PostgreSQL cluster (own data folder and port) restored from base \
                 backups and WAL; physical separation depends on the host"
                    .to_owned(),
            )
        } else if t.kind.starts_with("s3") {
            (
                Segregation::Segregated,
                "a separate bucket or prefix (restore-drill refuses one overlapping the source)"
                    .to_owned(),
            )
        } else {
            (
                Segregation::NotRecorded,
                "no network isolation settings were recorded for it".to_owned(),
            )
        };
        out.push(TargetIsolation {
            restore: r.id.clone(),
            target: format!("{} {}", t.kind, t.name),
            settings,
            segregation,
            reason,
        });
    }
    out
}

/// Makes the bundle durable before it is renamed into place, so a crash after export cannot
/// leave a signed manifest over files that never reached the disk. One `syncfs(2)` of its
/// filesystem is a third of the time of an fsync per file on a bundle of thousands of files;
/// where it fails, every file and folder is fsynced instead.
fn sync_bundle(dir: &Path) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    if let Ok(d) = std::fs::File::open(dir) {
        // SAFETY: syncfs on a descriptor this `File` owns and keeps open for the call.
        if unsafe { libc::syncfs(d.as_raw_fd()) } == 0 {
            return Ok(());
        }
    }
    sync_tree(dir)
}

fn sync_tree(dir: &Path) -> Result<(), String> {
    let err = |p: &Path, e: std::io::Error| format!("cannot sync {}: {e}", p.display());
    for e in std::fs::read_dir(dir).map_err(|e| err(dir, e))? {
        let e = e.map_err(|e| err(dir, e))?;
        let p = e.path();
        if e.file_type().map_err(|x| err(&p, x))?.is_dir() {
            sync_tree(&p)?;
        } else {
            std::fs::File::open(&p)
                .and_then(|f| f.sync_all())
                .map_err(|x| err(&p, x))?;
        }
    }
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| err(dir, e))
}

/// Writes `dir` as `tarball`, every entry under `name/`, in sorted order with fixed owners,
/// modes and times, so the same bundle makes the same archive.
fn write_tarball(
    dir: &Path,
    name: &str,
    tarball: &Path,
    mtime: DateTime<Utc>,
) -> Result<(), String> {
    let tmp = tarball.with_file_name(format!(
        ".{}.partial-{}",
        tarball
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let mtime = u64::try_from(mtime.timestamp()).unwrap_or(0);
        let add_dir = |tar: &mut tar::Builder<_>, rel: &str| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_mtime(mtime);
            h.set_size(0);
            tar.append_data(&mut h, format!("{rel}/"), std::io::empty())
        };
        add_dir(&mut tar, name)?;
        let mut stack = vec![(dir.to_owned(), name.to_owned())];
        while let Some((d, rel)) = stack.pop() {
            let mut entries = std::fs::read_dir(&d)?.collect::<Result<Vec<_>, _>>()?;
            entries.sort_by_key(|e| e.file_name());
            // Folders after files, in order: pushed in reverse so they pop sorted.
            let mut subdirs = Vec::new();
            for e in entries {
                let n = e.file_name().to_string_lossy().into_owned();
                let r = format!("{rel}/{n}");
                if e.file_type()?.is_dir() {
                    add_dir(&mut tar, &r)?;
                    subdirs.push((e.path(), r));
                } else {
                    let bytes = std::fs::read(e.path())?;
                    let mut h = tar::Header::new_gnu();
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(0o644);
                    h.set_mtime(mtime);
                    h.set_size(bytes.len() as u64);
                    tar.append_data(&mut h, &r, bytes.as_slice())?;
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        let gz = tar.into_inner()?;
        let mut file = gz.finish()?;
        file.flush()?;
        file.sync_all()?;
        std::fs::rename(&tmp, tarball)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", tarball.display()));
    }
    Ok(())
}
