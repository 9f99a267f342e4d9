//! `pg_pitr` on the archives real clusters leave behind, each restored by the binary run the
//! way people run it (from the drill's folder, relative paths) and compared with the truth
//! from the source's commit timestamps: a plain archive, a failover to a second timeline,
//! gzip and zstd WAL with compressed tar base backups; and the broken archives that must
//! fail naming the file (unreadable, missing history, unknown compression, damaged).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::pg::{
    Load, Scratch, Truth, pg, processes_under, rows_checks, source, source_with, truth,
};
use restore_drill::provider::local::{PgEnv, Server, SourceCluster, SourceOptions};
use restore_drill::report::{RpoSource, RunReport, Verdict};

const BIN: &str = env!("CARGO_BIN_EXE_restore-drill");

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

struct Ran {
    code: i32,
    report: RunReport,
    stderr: String,
    /// Wall-clock moment the progress line "verify done" was read from the pipe.
    verify_seen: Option<DateTime<Utc>>,
}

/// Runs `restore-drill run DRILL --incident-at T --format json` in `cwd`, reading its
/// progress as it comes, and time-stamping the line that says verify is done.
fn run_in(cwd: &Path, drill: &str, incident: DateTime<Utc>) -> Ran {
    let mut child = Command::new(BIN)
        .args(["run", drill, "--incident-at", &rfc3339(incident)])
        .args(["--format", "json", "--reports", "reports"])
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let mut seen = None;
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if seen.is_none() && line.contains(": verify done in ") {
                seen = Some(Utc::now());
            }
            text.push_str(&line);
            text.push('\n');
        }
        (text, seen)
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    let (stderr, verify_seen) = reader.join().unwrap();
    let report: RunReport = serde_json::from_slice(&stdout)
        .unwrap_or_else(|e| panic!("no JSON report on stdout ({e}); stderr:\n{stderr}"));
    Ran {
        code: status.code().unwrap_or(-1),
        report,
        stderr,
        verify_seen,
    }
}

/// `restore-drill plan DRILL --resolve --incident-at T` in `cwd`: (exit code, stdout).
fn plan_in(cwd: &Path, drill: &str, incident: DateTime<Utc>) -> (i32, String) {
    let out = Command::new(BIN)
        .args([
            "plan",
            drill,
            "--resolve",
            "--incident-at",
            &rfc3339(incident),
        ])
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A drill with the given (relative) backup and archive paths, checking the restored rows
/// against `truth` and reading freshness from the data.
fn drill_text(base: &str, wal: &str, work: &str, t: Option<&Truth>) -> String {
    let checks = t.map(rows_checks).unwrap_or_default();
    format!(
        r#"name = "archive-test"
tier = "silver"
schedule = "weekly"

[incident]
detect_allowance = "1m"

[provider]
kind = "local"

[timeouts]
restore = "5m"

[[restore]]
id = "events"
kind = "pg_pitr"
base_backups = "{base}"
wal_archive = "{wal}"
to = "incident"
[restore.target]
work_dir = "{work}"
[restore.connect]
database = "postgres"
user = "postgres"
{checks}
[[check]]
restore = "events"
kind = "freshness"
name = "newest commit"
query = "select max(pg_xact_commit_timestamp(xmin)) from events"
"#
    )
}

/// The drill met its targets, restored exactly `t`, and measured the RPO from the data
/// within a second of the truth.
fn assert_exact(ran: &Ran, incident: DateTime<Utc>, t: &Truth) {
    let r = &ran.report;
    assert_eq!(ran.code, 0, "{}\n{:#?}", ran.stderr, r.checks);
    assert_eq!(r.verdict, Verdict::Met, "{}", r.verdict_reason);
    assert_eq!(r.measured.rpo_source, Some(RpoSource::Data));
    let true_rpo = (incident - t.newest_commit).num_microseconds().unwrap() as f64 / 1e6;
    let rpo = r.measured.rpo_seconds.unwrap();
    assert!(
        (rpo - true_rpo).abs() < 1.0,
        "measured RPO {rpo}, true {true_rpo}"
    );
}

fn notes(ran: &Ran) -> Vec<String> {
    ran.report.restores[0]
        .recovery_point
        .as_ref()
        .map(|p| p.notes.clone())
        .unwrap_or_default()
}

/// Nothing is left in the work dir and no server runs on it.
fn assert_torn_down(work: &Path) {
    let left: Vec<_> = std::fs::read_dir(work)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "teardown left {left:?}");
    assert!(processes_under(work).is_empty(), "a server still runs");
}

/// A source under load: base backup, then writes; returns the source (still running), a
/// target time in the middle of the load and its truth.
async fn loaded_source(
    src: SourceCluster,
    backup: impl AsyncFnOnce(&SourceCluster),
) -> (SourceCluster, DateTime<Utc>, Truth) {
    backup(&src).await;
    let load = Load::start(&src, 2, 2).await;
    load.wait_for_more(120).await;
    let incident = Utc::now();
    load.wait_for_more(120).await;
    load.stop().await;
    let t = truth(&src, incident).await;
    assert!(t.created_before_committed_after > 0 || t.count > 300);
    (src, incident, t)
}

/// `pg_basebackup` of the source into `base_backups/NAME` as a tar with `compress` (`-z`,
/// `--compress=lz4`, …).
async fn tar_backup(src: &SourceCluster, name: &str, compress: &str) {
    let dest = src.base_backups.join(name).display().to_string();
    let port = src.port().to_string();
    src.pg
        .run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &dest,
                "-F",
                "t",
                compress,
                "-X",
                "fetch",
                "-c",
                "fast",
                "--no-sync",
            ],
        )
        .await
        .unwrap();
}

fn wal_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relative_paths_from_the_drills_folder_and_from_a_parent() {
    let pg = pg();
    let s = Scratch::new(&pg);
    let (mut src, incident, t) = loaded_source(source(&pg, s.path(), 300).await, async |src| {
        src.base_backup("base-1", false).await.unwrap();
    })
    .await;
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();

    // From the drill's own folder: `run drill.toml`, paths relative to it.
    std::fs::write(
        s.path().join("drill.toml"),
        drill_text("src/base", "src/wal", "work", Some(&t)),
    )
    .unwrap();
    std::fs::create_dir_all(s.path().join("work")).unwrap();
    let before = Utc::now();
    let ran = run_in(s.path(), "drill.toml", incident);
    assert_exact(&ran, incident, &t);
    assert_torn_down(&s.path().join("work"));
    // RTO = detection allowance + (verify end − incident): against an outside stopwatch,
    // the moment the progress line saying so reached this test.
    let seen = ran.verify_seen.expect("a 'verify done' progress line");
    let outside = 60.0 + (seen - incident).num_microseconds().unwrap() as f64 / 1e6;
    let rto = ran.report.measured.rto_seconds.unwrap();
    assert!(
        (rto - outside).abs() < 0.1,
        "RTO {rto} s, outside stopwatch {outside} s"
    );
    assert!(seen > before);
    assert!(
        !notes(&ran).iter().any(|n| n.contains("end of the archive")),
        "{:?}",
        notes(&ran)
    );

    // From a parent folder: `run drills/x.toml`, paths relative to drills/.
    std::fs::create_dir_all(s.path().join("drills")).unwrap();
    std::fs::write(
        s.path().join("drills/x.toml"),
        drill_text("../src/base", "../src/wal", "../work", Some(&t)),
    )
    .unwrap();
    let ran = run_in(s.path(), "drills/x.toml", incident);
    assert_exact(&ran, incident, &t);
    assert_torn_down(&s.path().join("work"));
}

/// Promotes the stopped source out of an archive recovery, as a failover does: it goes on
/// as timeline 2, archiving into the same archive.
async fn fail_over(pg: &PgEnv, src: &mut SourceCluster) {
    src.stop().await.unwrap();
    let archive = src.wal_archive.display().to_string();
    let auto = src.data_dir.join("postgresql.auto.conf");
    let mut conf = std::fs::read_to_string(&auto).unwrap();
    conf.push_str(&format!(
        "\nrestore_command = 'cp \"{archive}/%f\" \"%p\"'\nrecovery_target_timeline = 'latest'\n"
    ));
    std::fs::write(&auto, conf).unwrap();
    std::fs::write(src.data_dir.join("recovery.signal"), "").unwrap();
    pg.give(&src.data_dir).unwrap();
    let port = src.port();
    src.server = Server::start(
        pg,
        &src.data_dir,
        port,
        &src.root.join("source-2.log"),
        true,
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(c) = src.client("postgres").await
            && let Ok(row) = c.query_one("select pg_is_in_recovery()", &[]).await
            && !row.get::<_, bool>(0)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            src.server.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let history = src.wal_archive.join("00000002.history");
    while !history.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "00000002.history never archived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failover_is_followed_after_the_switch_and_not_before() {
    let pg = pg();
    let s = Scratch::new(&pg);
    let (mut src, before_switch, t1) =
        loaded_source(source(&pg, s.path(), 300).await, async |src| {
            src.base_backup("base-1", false).await.unwrap();
        })
        .await;
    src.archive_now().await.unwrap();
    fail_over(&pg, &mut src).await;
    let load = Load::start(&src, 2, 2).await;
    load.wait_for_more(120).await;
    let after_switch = Utc::now();
    load.wait_for_more(120).await;
    load.stop().await;
    let t2 = truth(&src, after_switch).await;
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();
    assert!(t2.count > t1.count);

    std::fs::write(
        s.path().join("drill.toml"),
        drill_text("src/base", "src/wal", "work", Some(&t2)),
    )
    .unwrap();
    let (code, plan) = plan_in(s.path(), "drill.toml", after_switch);
    assert_eq!(code, 0, "{plan}");
    assert!(plan.contains("base backup base-1 (plain"), "{plan}");
    assert!(plan.contains("timelines: 1 → 2 (switch at "), "{plan}");
    assert!(plan.contains("latest restorable commit "), "{plan}");

    let ran = run_in(s.path(), "drill.toml", after_switch);
    assert_exact(&ran, after_switch, &t2);
    assert!(
        notes(&ran)
            .iter()
            .any(|n| n.contains("crossing timelines 1 → 2")),
        "{:?}",
        notes(&ran)
    );
    assert_torn_down(&s.path().join("work"));

    // Before the switch: timeline 1's rows only.
    std::fs::write(
        s.path().join("drill.toml"),
        drill_text("src/base", "src/wal", "work", Some(&t1)),
    )
    .unwrap();
    let ran = run_in(s.path(), "drill.toml", before_switch);
    assert_exact(&ran, before_switch, &t1);
    assert!(
        notes(&ran).iter().any(|n| n.contains("on timeline 1")),
        "{:?}",
        notes(&ran)
    );

    // The history file gone: the failover cannot be followed, and it says which file.
    std::fs::remove_file(s.path().join("src/wal/00000002.history")).unwrap();
    let ran = run_in(s.path(), "drill.toml", after_switch);
    assert_eq!(ran.code, 11, "{}", ran.stderr);
    assert_ne!(ran.report.verdict, Verdict::Met);
    assert!(
        ran.stderr
            .contains("but not its history file 00000002.history"),
        "{}",
        ran.stderr
    );
    assert_torn_down(&s.path().join("work"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gzip_wal_and_a_gzip_tar_base_backup() {
    let pg = pg();
    let s = Scratch::new(&pg);
    let gzip = SourceOptions {
        archive_command: Some(format!(
            "gzip < %p > \"{}/%f.gz\"",
            s.path().join("src/wal").display()
        )),
        ..SourceOptions::default()
    };
    let src = source_with(&pg, s.path(), 300, &gzip).await;
    let (mut src, incident, t) = loaded_source(src, async |src| {
        tar_backup(src, "base-gz", "-z").await;
    })
    .await;
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();
    let plain: Vec<_> = wal_files(&src.wal_archive)
        .into_iter()
        .filter(|p| p.extension().is_none())
        .collect();
    assert!(
        plain.is_empty(),
        "uncompressed files in the archive: {plain:?}"
    );
    assert!(s.path().join("src/base/base-gz/base.tar.gz").is_file());

    std::fs::write(
        s.path().join("drill.toml"),
        drill_text("src/base", "src/wal", "work", Some(&t)),
    )
    .unwrap();
    let (code, plan) = plan_in(s.path(), "drill.toml", incident);
    assert_eq!(code, 0, "{plan}");
    assert!(plan.contains("base backup base-gz (tar, gzip"), "{plan}");
    assert!(plan.contains("(gzip), the newest "), "{plan}");
    assert!(plan.contains("latest restorable commit "), "{plan}");
    let ran = run_in(s.path(), "drill.toml", incident);
    assert_exact(&ran, incident, &t);
    assert_torn_down(&s.path().join("work"));

    // A damaged segment in the middle: the restore fails naming it, never "met".
    let mut gz: Vec<PathBuf> = wal_files(&src.wal_archive)
        .into_iter()
        // Segments only: 24 hex digits and ".gz".
        .filter(|p| p.file_name().unwrap().len() == 27)
        .collect();
    gz.sort();
    assert!(gz.len() >= 3, "{gz:?}");
    let victim = gz[gz.len() - 2].clone();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let name = victim.file_name().unwrap().to_string_lossy()[..24].to_owned();
    let ran = run_in(s.path(), "drill.toml", incident);
    assert_eq!(ran.code, 11, "{}", ran.stderr);
    assert_ne!(ran.report.verdict, Verdict::Met);
    assert!(
        ran.stderr.contains(&name),
        "the error should name {name}:\n{}",
        ran.stderr
    );
    assert_torn_down(&s.path().join("work"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn zstd_wal_and_an_lz4_tar_base_backup() {
    let pg = pg();
    let s = Scratch::new(&pg);
    let (mut src, incident, t) = loaded_source(source(&pg, s.path(), 300).await, async |src| {
        tar_backup(src, "base-lz4", "--compress=lz4").await;
    })
    .await;
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();
    // As pg_receivewal --compress=zstd or an archive script leaves it: only .zst files.
    for p in wal_files(&src.wal_archive) {
        let data = std::fs::read(&p).unwrap();
        let mut out = std::fs::File::create(format!("{}.zst", p.display())).unwrap();
        out.write_all(&zstd::stream::encode_all(&data[..], 3).unwrap())
            .unwrap();
        std::fs::remove_file(&p).unwrap();
    }
    assert!(s.path().join("src/base/base-lz4/base.tar.lz4").is_file());

    std::fs::write(
        s.path().join("drill.toml"),
        drill_text("src/base", "src/wal", "work", Some(&t)),
    )
    .unwrap();
    let (code, plan) = plan_in(s.path(), "drill.toml", incident);
    assert_eq!(code, 0, "{plan}");
    assert!(plan.contains("base backup base-lz4 (tar, lz4"), "{plan}");
    assert!(plan.contains("(zstd), the newest "), "{plan}");
    let ran = run_in(s.path(), "drill.toml", incident);
    assert_exact(&ran, incident, &t);
    assert_torn_down(&s.path().join("work"));

    // Only a compression this tool cannot read: refused, naming a segment.
    for p in wal_files(&src.wal_archive) {
        let name = p.to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".zst") {
            std::fs::rename(&p, format!("{stem}.xz")).unwrap();
        }
    }
    let ran = run_in(s.path(), "drill.toml", incident);
    assert_eq!(ran.code, 11, "{}", ran.stderr);
    assert_ne!(ran.report.verdict, Verdict::Met);
    assert!(
        ran.stderr
            .contains("compressed in a way restore-drill cannot read")
            && ran.stderr.contains(".xz"),
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreadable_archive_segment_fails_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let pg = pg();
    let s = Scratch::new(&pg);
    let (mut src, incident, t) = loaded_source(source(&pg, s.path(), 300).await, async |src| {
        src.base_backup("base-1", false).await.unwrap();
    })
    .await;
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();
    let segs: Vec<PathBuf> = wal_files(&src.wal_archive)
        .into_iter()
        .filter(|p| p.file_name().unwrap().len() == 24)
        .collect();
    let victim = segs[segs.len() - 2].clone();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::write(
        s.path().join("drill.toml"),
        drill_text("src/base", "src/wal", "work", Some(&t)),
    )
    .unwrap();
    let ran = run_in(s.path(), "drill.toml", incident);
    assert_eq!(ran.code, 11, "{}", ran.stderr);
    assert_ne!(ran.report.verdict, Verdict::Met);
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        ran.stderr.contains(&name)
            && (ran.stderr.contains("not readable") || ran.stderr.contains("ermission denied")),
        "{}",
        ran.stderr
    );
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
}
