//! End-to-end drills of the local PostgreSQL point-in-time restore, on real clusters started
//! here, under a concurrent write load. Each test knows the ground truth from the source and
//! checks the drill against it.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::pg::{
    FakeClock, Load, Scratch, Truth, assert_stop_named, checks_found, exact_rows_checks,
    late_after_first_past, pg, processes_under, source, source_with, sql_time, truth, wal_ends,
};
use restore_drill::provider::local::SourceOptions;
use restore_drill::report::{CheckOutcome, Outcome, RpoSource, RunReport, Verdict};

const BIN: &str = env!("CARGO_BIN_EXE_restore-drill");

struct Ran {
    code: i32,
    report: RunReport,
    stderr: String,
    wall: f64,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Runs `restore-drill run drill --incident-at T --format json` and reads its report.
fn run_drill(dir: &Path, incident: DateTime<Utc>) -> Ran {
    let t0 = Instant::now();
    let out = Command::new(BIN)
        .arg("run")
        .arg(dir.join("drill.toml"))
        .args([
            "--incident-at",
            &rfc3339(incident),
            "--format",
            "json",
            "--reports",
        ])
        .arg(dir.join("reports"))
        .arg("--junit")
        .arg(dir.join("junit.xml"))
        .arg("--metrics-file")
        .arg(dir.join("metrics.prom"))
        .output()
        .unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: RunReport = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report on stdout ({e}); stderr:\n{stderr}"));
    Ran {
        code: out.status.code().unwrap_or(-1),
        report,
        stderr,
        wall,
    }
}

/// A drill restoring the test source to the incident, with `checks` appended.
fn write_drill(dir: &Path, tier: &str, allowance: &str, checks: &str) {
    let text = format!(
        r#"name = "pitr-test"
tier = "{tier}"
schedule = "weekly"

[incident]
detect_allowance = "{allowance}"

[provider]
kind = "local"

[timeouts]
restore = "5m"

[[restore]]
id = "events"
kind = "pg_pitr"
base_backups = "src/base"
wal_archive = "src/wal"
to = "incident"
[restore.target]
work_dir = "work"
[restore.connect]
database = "postgres"
user = "postgres"
{checks}"#
    );
    std::fs::write(dir.join("drill.toml"), text).unwrap();
}

/// Runs the drill with checks that the restored rows are exactly `truth`'s, and requires it
/// to pass; when it does not, says first what each check found (CI cuts long reports).
fn run_exact(s: &Scratch, incident: DateTime<Utc>, truth: &Truth) -> Ran {
    write_drill(s.path(), "silver", "1m", &exact_rows_checks(truth));
    let ran = run_drill(s.path(), incident);
    assert_eq!(
        ran.code,
        0,
        "checks: {}; truth {} rows, md5 {}\n{}\n{:#?}",
        checks_found(&ran.report),
        truth.count,
        truth.ids_md5,
        ran.stderr,
        ran.report
    );
    ran
}

/// A `sql` check of the restored events' row count.
fn count_is(expect: &str) -> String {
    format!(
        "\n[[check]]\nrestore = \"events\"\nkind = \"sql\"\nquery = \"select count(*) from events\"\nexpect = \"{expect}\"\n"
    )
}

fn assert_torn_down(s: &Scratch) {
    let work = s.work();
    let left: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "teardown left {left:?}");
    assert!(
        processes_under(&work).is_empty(),
        "a server still runs under {}",
        work.display()
    );
}

/// The truth the PITR tests compare with: commit stamps, less a commit whose record reached
/// the WAL after one stamped past the target (it had not committed at the target, and
/// recovery stops before the record stamped past it).
#[test]
fn the_truth_leaves_out_a_commit_written_after_one_stamped_past_the_target() {
    let out = "\
rmgr: Transaction len (rec/tot):     34/    34, tx:        737, lsn: 0/01A3E0B8, prev 0/01A3E080, desc: COMMIT 2026-11-30 14:58:01.000100 UTC
rmgr: Transaction len (rec/tot):     34/    34, tx:        739, lsn: 0/01A3E0E0, prev 0/01A3E0B8, desc: COMMIT 2026-11-30 14:58:01.000300 UTC
rmgr: Transaction len (rec/tot):     34/    34, tx:        738, lsn: 0/01A3E108, prev 0/01A3E0E0, desc: COMMIT 2026-11-30 14:58:01.000200 UTC; subxacts: 741 742
rmgr: Transaction len (rec/tot):     34/    34, tx:        743, lsn: 0/01A3E130, prev 0/01A3E108, desc: ABORT 2026-11-30 14:58:01.000150 UTC
rmgr: Transaction len (rec/tot):     50/    50, tx:          0, lsn: 0/01A3E158, prev 0/01A3E130, desc: COMMIT_PREPARED 744: 2026-11-30 14:58:01.000250 UTC
rmgr: Standby     len (rec/tot):     50/    50, tx:          0, lsn: 0/01A3E188, prev 0/01A3E158, desc: RUNNING_XACTS nextXid 745
rmgr: Transaction len (rec/tot):     34/    34, tx:        745, lsn: 0/01A3E1C0, prev 0/01A3E188, desc: COMMIT 2026-11-30 14:58:01.000400 UTC
";
    let ends = wal_ends(out);
    assert_eq!(ends.len(), 6, "{ends:?}");
    assert_eq!(ends[2].xids, [738, 741, 742]);
    assert_eq!(ends[4].xids, [744]);
    assert!(!ends[3].commit);
    let at = |us: u32| {
        DateTime::parse_from_rfc3339(&format!("2026-11-30T14:58:01.{us:06}Z"))
            .unwrap()
            .with_timezone(&Utc)
    };
    // Target between 738's stamp and 739's: 739 is the first record past it, so 738 (and its
    // subtransactions) and the prepared 744, stamped in time but written after 739, are late;
    // the abort is no commit.
    assert_eq!(late_after_first_past(&ends, at(260)), [738, 741, 742, 744]);
    // A stamp equal to the target is in time (recovery_target_inclusive): 738 is late at
    // 200, and at 300 739 is replayed, then 738 and 744 before 745, the first past it.
    assert_eq!(late_after_first_past(&ends, at(200)), [738, 741, 742]);
    assert!(late_after_first_past(&ends, at(300)).is_empty());
    // In order around the target: nothing is late.
    assert!(late_after_first_past(&ends, at(100)).is_empty());
    assert!(late_after_first_past(&ends, at(399)).is_empty());
    // After the WAL's last end: recovery replays it all.
    assert!(late_after_first_past(&ends, at(400)).is_empty());
    // A WAL read that starts after the target cannot tell what committed before it.
    let read = std::panic::catch_unwind(|| late_after_first_past(&ends, at(50)));
    assert!(
        read.is_err(),
        "a read that starts after the target was taken"
    );
}

/// A source whose clock steps back: the target moment happens twice. Recovery replays the
/// WAL in order and stops before the first transaction end stamped past the target, so it
/// brings back the first pass only; what was committed in the second pass, stamped in time
/// but written later, is not restored (it had not committed the first time the target came).
/// The truth, in WAL order from pg_waldump, says so; the restore matches it exactly, while
/// the commit stamps alone count the late rows too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_source_clock_stepped_back_restores_the_first_pass_of_the_target() {
    let pg = pg();
    let s = Scratch::new(&pg);
    s.work();
    let clock = FakeClock::new(&pg, s.path());
    let options = SourceOptions {
        env: clock.env(),
        ..SourceOptions::default()
    };
    let mut src = source_with(&pg, s.path(), 100, &options).await;
    src.base_backup("base-1", false).await.unwrap();
    let load = Load::start(&src, 2, 0).await;
    // A second and a half of commits, the clock two seconds back, two seconds more.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stepped = Utc::now();
    clock.set_offset(-2);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    load.stop().await;
    src.archive_now().await.unwrap();
    // A second before the step: the clock read it before the step and again after.
    let incident = stepped - chrono::TimeDelta::seconds(1);
    let truth = truth(&src, incident).await;
    let stamped_in_time: i64 = src
        .client("postgres")
        .await
        .unwrap()
        .query_one(
            &format!(
                "select count(*) from events where pg_xact_commit_timestamp(xmin) <= {}",
                sql_time(incident)
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    src.stop().await.unwrap();
    assert!(
        truth.late_in_wal.len() > 10,
        "the second pass should commit many transactions stamped before the target: {:?}",
        truth.late_in_wal
    );
    assert!(
        stamped_in_time > truth.count + 10,
        "stamps alone: {stamped_in_time} rows, WAL order: {}",
        truth.count
    );

    let ran = run_exact(&s, incident, &truth);
    let r = &ran.report;
    let point = r.restores[0].recovery_point.as_ref().unwrap();
    eprintln!("notes: {:#?}", point.notes);
    assert_stop_named(&point.notes, &truth);
    assert_torn_down(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restores_exactly_what_committed_before_the_target_under_load() {
    let pg = pg();
    let s = Scratch::new(&pg);
    s.work();
    let mut src = source(&pg, s.path(), 500).await;
    src.base_backup("base-1", false).await.unwrap();
    let load = Load::start(&src, 2, 3).await;
    load.wait_for_more(150).await;
    let incident = Utc::now();
    load.wait_for_more(150).await;
    load.stop().await;
    src.archive_now().await.unwrap();
    let truth = truth(&src, incident).await;
    src.stop().await.unwrap();
    assert!(
        truth.created_before_committed_after > 0,
        "the load should leave rows created before the target but committed after it"
    );

    let ran = run_exact(&s, incident, &truth);
    let r = &ran.report;
    assert_eq!(r.verdict, Verdict::Met, "{}", r.verdict_reason);
    assert!(
        r.checks.iter().all(|c| c.outcome == CheckOutcome::Passed),
        "{:#?}",
        r.checks
    );
    assert_eq!(r.checks.len(), 3);

    // RPO from the data, within a second of the truth.
    let true_rpo = (incident - truth.newest_commit).num_microseconds().unwrap() as f64 / 1e6;
    let rpo = r.measured.rpo_seconds.unwrap();
    assert_eq!(r.measured.rpo_source, Some(RpoSource::Data));
    assert!(
        (rpo - true_rpo).abs() < 1.0,
        "measured RPO {rpo}, true {true_rpo}"
    );
    // RTO includes the declared detection allowance.
    assert!(r.measured.rto_seconds.unwrap() >= 60.0);
    // Where recovery stopped, as the source's WAL says it must.
    assert_stop_named(
        &r.restores[0].recovery_point.as_ref().unwrap().notes,
        &truth,
    );

    // Phases account for the run's wall time.
    let phases = &r.restores[0].phases;
    let names: Vec<&str> = phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["resolve", "restore", "prepare", "verify", "teardown"]
    );
    assert!(phases.iter().all(|p| p.outcome == Outcome::Ok));
    let sum: f64 = phases.iter().map(|p| p.seconds).sum();
    assert!(
        (r.seconds - sum).abs() < 0.5,
        "phases {sum}s, run {}s",
        r.seconds
    );
    assert!(
        (ran.wall - sum).abs() < 0.5,
        "phases {sum}s, process {}s",
        ran.wall
    );
    let restore = &phases[1];
    assert!(
        restore.polls >= 1 && restore.resolution_seconds > 0.0,
        "{restore:?}"
    );

    // The report files are written, and the same as stdout.
    let dir = s.path().join("reports/pitr-test").join(&r.run_id);
    let on_disk: RunReport =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(&on_disk, r);
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.starts_with("# Drill pitr-test: MET\n"), "{md}");
    assert!(md.contains("| restore |"), "{md}");
    assert_eq!(r.drill.sha256.len(), 64);
    for f in ["report.html", "phases.csv"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }

    // The run is in the history, chained, with the report's hash; JUnit and metrics say met.
    let history =
        restore_drill::report::read_history(&s.path().join("reports/history.csv")).unwrap();
    assert!(history.problems.is_empty(), "{:?}", history.problems);
    assert_eq!(history.rows.len(), 1);
    let row = &history.rows[0];
    assert_eq!(
        (row.run_id.as_str(), row.verdict.as_str()),
        (r.run_id.as_str(), "met")
    );
    assert_eq!(
        row.report_sha256,
        restore_drill::drill::sha256_hex(&std::fs::read(dir.join("report.json")).unwrap())
    );
    let junit = std::fs::read_to_string(s.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<testsuite name=\"pitr-test\""), "{junit}");
    assert!(
        !junit.contains("<failure") && !junit.contains("<error"),
        "{junit}"
    );
    let metrics = std::fs::read_to_string(s.path().join("metrics.prom")).unwrap();
    assert!(
        metrics.contains(
            "restore_drill_last_verdict{drill=\"pitr-test\",tier=\"silver\",verdict=\"met\"} 1"
        ),
        "{metrics}"
    );
    assert_torn_down(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_strict_tier_is_missed_with_exit_10() {
    // A tar-format base backup this time.
    let (s, incident) = small_source(200, true).await;
    std::fs::write(
        s.path().join("tiers.toml"),
        "[tier.instant]\nrpo = \"1h\"\nrto = \"1m\"\nmax_interval = \"7d\"\n",
    )
    .unwrap();
    write_drill(s.path(), "instant", "5m", &count_is("= 200"));
    let ran = run_drill(s.path(), incident);
    assert_eq!(ran.code, 10, "{}", ran.stderr);
    assert_eq!(ran.report.verdict, Verdict::Missed);
    assert!(
        ran.report
            .verdict_reason
            .contains("exceeds the instant target 1m by"),
        "{}",
        ran.report.verdict_reason
    );
    assert!(
        ran.report.restores[0]
            .recovery_point
            .as_ref()
            .unwrap()
            .notes[0]
            .contains("(tar, ")
    );
    assert_torn_down(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sql_check_fails_the_run_with_exit_11() {
    let (s, incident) = small_source(300, false).await;
    write_drill(
        s.path(),
        "gold",
        "0s",
        "\n[[check]]\nrestore = \"events\"\nkind = \"sql\"\nname = \"wrong count\"\nquery = \"select count(*) from events\"\nexpect = \"= 999999\"\n",
    );
    let ran = run_drill(s.path(), incident);
    assert_eq!(ran.code, 11, "{}", ran.stderr);
    let r = &ran.report;
    assert_eq!(r.verdict, Verdict::Failed);
    let check = &r.checks[0];
    assert_eq!(check.outcome, CheckOutcome::Failed);
    assert_eq!(check.findings.len(), 1);
    assert_eq!(
        (
            check.findings[0].expected.as_str(),
            check.findings[0].found.as_str()
        ),
        ("= 999999", "300")
    );
    let verify = r.restores[0]
        .phases
        .iter()
        .find(|p| p.name == "verify")
        .unwrap();
    assert_eq!(verify.outcome, Outcome::Failed);
    assert_eq!(verify.error.as_deref(), Some("1 of 1 checks did not pass"));
    assert_torn_down(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_wal_archive_is_a_clear_failure_with_exit_11() {
    let pg = pg();
    let s = Scratch::new(&pg);
    s.work();
    let mut src = source(&pg, s.path(), 100).await;
    src.base_backup("base-1", false).await.unwrap();
    let c = src.client("postgres").await.unwrap();
    for i in 0..3 {
        c.batch_execute(&format!("insert into events (writer) values ({i})"))
            .await
            .unwrap();
        src.archive_now().await.unwrap();
    }
    let incident = Utc::now();
    c.batch_execute("insert into events (writer) values (99)")
        .await
        .unwrap();
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();
    // Lose one segment from the middle of the archive.
    let mut segs: Vec<_> = std::fs::read_dir(s.path().join("src/wal"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 24)
        .collect();
    segs.sort();
    assert!(segs.len() >= 4, "{segs:?}");
    let lost = segs[segs.len() - 2].clone();
    std::fs::remove_file(s.path().join("src/wal").join(&lost)).unwrap();

    write_drill(s.path(), "gold", "0s", &count_is(">= 1"));
    let ran = run_drill(s.path(), incident);
    assert_eq!(ran.code, 11, "{}", ran.stderr);
    let r = &ran.report;
    assert_eq!(r.verdict, Verdict::Failed);
    let resolve = &r.restores[0].phases[0];
    assert_eq!(
        (resolve.name.as_str(), resolve.outcome),
        ("resolve", Outcome::Failed)
    );
    let error = resolve.error.as_deref().unwrap();
    assert!(
        error.contains(&format!("is missing segment {lost}")),
        "{error}"
    );
    assert!(
        r.verdict_reason.contains("is missing segment"),
        "{}",
        r.verdict_reason
    );
    assert!(ran.stderr.contains("resolve failed"), "{}", ran.stderr);
    assert_torn_down(&s);
}

/// A stopped source with `rows` rows and a base backup (plain or tar), one more commit after
/// the incident time, and its archive complete.
async fn small_source(rows: u32, tar: bool) -> (Scratch, DateTime<Utc>) {
    let pg = pg();
    let s = Scratch::new(&pg);
    s.work();
    let mut src = source(&pg, s.path(), rows).await;
    src.base_backup("base-1", tar).await.unwrap();
    let incident = Utc::now();
    let c = src.client("postgres").await.unwrap();
    c.batch_execute("insert into events (writer) values (1)")
        .await
        .unwrap();
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();
    (s, incident)
}

/// A stopped source whose archive holds ~200 MB of WAL after its base backup, so that
/// replaying it takes a while; and the incident time, just before its last commit.
async fn big_wal_source() -> (Scratch, DateTime<Utc>) {
    let pg = pg();
    let s = Scratch::new(&pg);
    s.work();
    let mut src = source(&pg, s.path(), 100).await;
    src.base_backup("base-1", false).await.unwrap();
    let c = src.client("postgres").await.unwrap();
    c.batch_execute("insert into events (writer, payload) select 7, repeat('x', 500) from generate_series(1, 400000)")
        .await
        .unwrap();
    let incident = Utc::now();
    c.batch_execute("insert into events (writer) values (8)")
        .await
        .unwrap();
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();
    (s, incident)
}

/// Runs a drill whose restore replays a lot of WAL, sends `signal` once the restore phase has
/// started and `ready(work dir)` holds, and checks the run tore down and exited 130.
async fn interrupted_during_restore(signal: i32, name: &str, ready: fn(&Path) -> bool) {
    let (s, incident) = big_wal_source().await;
    let work = s.work();
    write_drill(s.path(), "gold", "0s", &count_is(">= 1"));

    let mut child = Command::new(BIN)
        .arg("run")
        .arg(s.path().join("drill.toml"))
        .args([
            "--incident-at",
            &rfc3339(incident),
            "--format",
            "json",
            "--reports",
        ])
        .arg(s.path().join("reports"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("events: restore started") {
            break;
        }
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while !ready(&work) {
        assert!(
            Instant::now() < deadline,
            "the restore never reached the point to interrupt"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(pid, signal) };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    let stderr = format!("{}\n{}", seen.join("\n"), rest.join("\n"));
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let r: RunReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.interrupted_by.as_deref(), Some(name));
    let phases = &r.restores[0].phases;
    let restore = phases.iter().find(|p| p.name == "restore").unwrap();
    assert_eq!(restore.outcome, Outcome::Interrupted, "{phases:#?}");
    assert_eq!(
        restore.error.as_deref(),
        Some(format!("interrupted by {name}").as_str())
    );
    let teardown = phases.iter().find(|p| p.name == "teardown").unwrap();
    assert_eq!(teardown.outcome, Outcome::Ok);
    assert_eq!(r.teardown.outcome, "done");
    assert_eq!(r.verdict, Verdict::Error);
    assert!(
        stderr.contains(&format!("{name} received; tearing down before exit")),
        "{stderr}"
    );
    assert_torn_down(&s);
}

/// The server of the restore is up and replaying archived WAL.
fn replaying(work: &Path) -> bool {
    std::fs::read_dir(work)
        .into_iter()
        .flatten()
        .flatten()
        .any(|run| {
            std::fs::read_to_string(run.path().join("postgres.log"))
                .is_ok_and(|log| log.contains("restored log file"))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_copying_the_backup_tears_down_and_exits_130() {
    interrupted_during_restore(libc::SIGINT, "SIGINT", |_| true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_replaying_wal_tears_down_and_exits_130() {
    interrupted_during_restore(libc::SIGTERM, "SIGTERM", replaying).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_over_its_timeout_fails_and_tears_down() {
    let (s, incident) = big_wal_source().await;
    write_drill(s.path(), "gold", "0s", &count_is(">= 1"));
    let text = std::fs::read_to_string(s.path().join("drill.toml")).unwrap();
    std::fs::write(
        s.path().join("drill.toml"),
        text.replace("restore = \"5m\"", "restore = \"1s\""),
    )
    .unwrap();
    let ran = run_drill(s.path(), incident);
    assert_eq!(ran.code, 11, "{}", ran.stderr);
    let phases = &ran.report.restores[0].phases;
    let restore = phases.iter().find(|p| p.name == "restore").unwrap();
    assert_eq!(restore.outcome, Outcome::Timeout, "{phases:#?}");
    assert_eq!(
        restore.error.as_deref(),
        Some("the restore phase did not finish within its timeout of 1s")
    );
    assert!((1.0..3.0).contains(&restore.seconds), "{}", restore.seconds);
    assert_eq!(ran.report.verdict, Verdict::Failed);
    assert_torn_down(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_on_failure_leaves_a_reachable_target() {
    let (s, incident) = small_source(300, false).await;
    write_drill(s.path(), "gold", "0s", &count_is("= 0"));
    let out = Command::new(BIN)
        .arg("run")
        .arg(s.path().join("drill.toml"))
        .args([
            "--incident-at",
            &rfc3339(incident),
            "--format",
            "json",
            "--keep-on-failure",
            "--reports",
        ])
        .arg(s.path().join("reports"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{stderr}");
    let r: RunReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.teardown.outcome, "kept");
    assert!(r.restores[0].phases.iter().all(|p| p.name != "teardown"));
    let target = r.restores[0].target.clone().unwrap();
    let port: u16 = target
        .address
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!(
        stderr.contains(&format!(
            "psql \"host=127.0.0.1 port={port} dbname=postgres user=postgres\""
        )),
        "{stderr}"
    );

    // The kept server answers, with the restored data.
    let c = restore_drill::provider::local::connect(port, "postgres", "postgres", None)
        .await
        .unwrap();
    let n: i64 = c
        .query_one("select count(*) from events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 300);
    drop(c);

    // Stop it the way the message says, and clean up.
    let pid: i32 = target.details["pid"].parse().unwrap();
    // SAFETY: signalling the server this test caused to be started.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "the kept server did not stop");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for e in std::fs::read_dir(s.work()).unwrap().flatten() {
        std::fs::remove_dir_all(e.path()).unwrap();
    }
    assert_torn_down(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_of_one_drill_run_concurrently() {
    let (s, incident) = small_source(250, false).await;
    write_drill(
        s.path(),
        "gold",
        "0s",
        r#"
[[restore]]
id = "again"
kind = "pg_pitr"
base_backups = "src/base"
wal_archive = "src/wal"
to = "incident"
[restore.target]
work_dir = "work"
[restore.connect]
database = "postgres"
user = "postgres"

[[check]]
restore = "events"
kind = "sql"
query = "select count(*) from events"
expect = "= 250"

[[check]]
restore = "again"
kind = "sql"
query = "select count(*) from events"
expect = "= 250"
"#,
    );
    let ran = run_drill(s.path(), incident);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let r = &ran.report;
    assert_eq!(r.restores.len(), 2);
    let span = |i: usize| {
        let p = r.restores[i]
            .phases
            .iter()
            .find(|p| p.name == "restore")
            .unwrap();
        let start = p.started_at;
        (
            start,
            start + chrono::Duration::milliseconds((p.seconds * 1000.0) as i64),
        )
    };
    let (a, b) = (span(0), span(1));
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "the restore phases did not overlap: {a:?} {b:?}"
    );
    assert_ne!(r.restores[0].target, r.restores[1].target);
    assert_torn_down(&s);
}

/// A drill that needs nothing on disk to fail early: its backups do not exist.
fn write_minimal_drill(dir: &Path, connect_extra: &str) {
    let text = format!(
        "name = \"early\"\ntier = \"gold\"\nschedule = \"weekly\"\n[provider]\nkind = \"local\"\n[[restore]]\nid = \"db\"\nkind = \"pg_pitr\"\nbase_backups = \"none\"\nwal_archive = \"none\"\n[restore.connect]\ndatabase = \"postgres\"\nuser = \"postgres\"\n{connect_extra}\n[[check]]\nrestore = \"db\"\nkind = \"sql\"\nquery = \"select 1\"\nexpect = \"= 1\"\n"
    );
    std::fs::write(dir.join("drill.toml"), text).unwrap();
}

#[test]
fn missing_postgres_binaries_are_a_harness_error_with_exit_30() {
    let dir = tempfile::tempdir().unwrap();
    write_minimal_drill(dir.path(), "");
    let out = Command::new(BIN)
        .arg("run")
        .arg(dir.path().join("drill.toml"))
        .args(["--format", "json", "--reports"])
        .arg(dir.path().join("reports"))
        .env("PG_BIN", "/nonexistent/pg/bin")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(30),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: RunReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.verdict, Verdict::Error);
    let error = r.restores[0].phases[0].error.clone().unwrap();
    assert!(
        error.starts_with("PostgreSQL server binaries not found (looked in /nonexistent/pg/bin (PG_BIN)); install them"),
        "{error}"
    );
}

#[test]
fn a_missing_password_variable_is_named_and_exits_30() {
    let dir = tempfile::tempdir().unwrap();
    write_minimal_drill(dir.path(), "password_env = \"RD_TEST_UNSET_PASSWORD\"");
    let out = Command::new(BIN)
        .arg("run")
        .arg(dir.path().join("drill.toml"))
        .args(["--format", "json", "--reports"])
        .arg(dir.path().join("reports"))
        .env_remove("RD_TEST_UNSET_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(30));
    let r: RunReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r.restores[0].phases[0].error.as_deref(),
        Some(
            "restore \"db\": the environment variable RD_TEST_UNSET_PASSWORD (connect.password_env) is not set"
        )
    );
    assert_eq!(r.teardown.outcome, "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_after_the_last_archived_commit_recovers_the_whole_archive() {
    let pg = pg();
    let s = Scratch::new(&pg);
    s.work();
    let mut src = source(&pg, s.path(), 120).await;
    src.base_backup("base-1", false).await.unwrap();
    let c = src.client("postgres").await.unwrap();
    c.batch_execute("insert into events (writer) values (1)")
        .await
        .unwrap();
    // No commit follows the incident: recovery cannot find its stop point, and the state at
    // the target time is the end of the archive.
    let incident = Utc::now();
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();
    write_drill(s.path(), "gold", "0s", &count_is("= 121"));
    let ran = run_drill(s.path(), incident);
    assert_eq!(ran.code, 0, "{}\n{:#?}", ran.stderr, ran.report);
    let notes = &ran.report.restores[0]
        .recovery_point
        .as_ref()
        .unwrap()
        .notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("recovering to the end of the archive")),
        "{notes:?}"
    );
    assert_torn_down(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_matches_the_manifest_taken_at_the_incident() {
    let pg = pg();
    let s = Scratch::new(&pg);
    s.work();
    let mut src = source(&pg, s.path(), 3000).await;
    src.base_backup("base-1", false).await.unwrap();
    let c = src.client("postgres").await.unwrap();
    c.batch_execute("update events set payload = 'changed after the backup' where id % 100 = 0")
        .await
        .unwrap();
    // The reference: the source as it is at the incident, writes paused.
    let incident = Utc::now();
    let out = Command::new(BIN)
        .args([
            "manifest",
            "--port",
            &src.port().to_string(),
            "--database",
            "postgres",
        ])
        .args([
            "--user",
            "postgres",
            "--table",
            "events:id",
            "--schema",
            "public",
            "--ranges",
            "50",
            "--out",
        ])
        .arg(s.path().join("manifests/events.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("events: 3000 rows in 50 ranges (key id)"),
        "{stdout}"
    );
    assert!(stdout.contains("schema: 1 tables"), "{stdout}");
    // Writes after the incident must not be in the restore.
    c.batch_execute(
        "delete from events where id = 42; create index events_late on events (writer)",
    )
    .await
    .unwrap();
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();
    write_drill(
        s.path(),
        "gold",
        "0s",
        r#"
[[check]]
restore = "events"
kind = "table_checksum"
table = "events"
key = "id"
reference = { manifest = "manifests/events.json" }

[[check]]
restore = "events"
kind = "schema"
reference = { manifest = "manifests/events.json" }

[[check]]
restore = "events"
kind = "pg_amcheck"
heapallindexed = true
"#,
    );
    let ran = run_drill(s.path(), incident);
    assert_eq!(ran.code, 0, "{}\n{:#?}", ran.stderr, ran.report.checks);
    let kinds: Vec<&str> = ran.report.checks.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["table_checksum", "schema", "pg_amcheck"]);
    assert!(
        ran.report
            .checks
            .iter()
            .all(|c| c.outcome == CheckOutcome::Passed)
    );
    assert_torn_down(&s);
}

#[test]
fn manifest_refuses_a_table_without_a_key() {
    let out = Command::new(BIN)
        .args([
            "manifest",
            "--database",
            "postgres",
            "--user",
            "postgres",
            "--table",
            "events",
            "--out",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(20));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: --table events: expected TABLE:KEY or TABLE:KEY1,KEY2 (e.g. orders:id)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_restore_leaves_a_dir_that_sweep_removes() {
    let (s, incident) = big_wal_source().await;
    let work = s.work();
    write_drill(s.path(), "gold", "0s", &count_is(">= 1"));
    let mut child = Command::new(BIN)
        .arg("run")
        .arg(s.path().join("drill.toml"))
        .args(["--incident-at", &rfc3339(incident), "--reports"])
        .arg(s.path().join("reports"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while !replaying(&work) {
        assert!(
            Instant::now() < deadline,
            "the restore never started replaying"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // kill -9: no teardown runs. The server follows its parent down on its own.
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while !processes_under(&work).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the server outlived restore-drill"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let left: Vec<_> = std::fs::read_dir(&work).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "the killed run's dir is there");

    let sweep = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("sweep")
            .arg("--local-work-dir")
            .arg(&work)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = sweep(&["--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("restore events  would remove"), "{out}");
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 1);
    let (code, out, err) = sweep(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("restore events  removed"), "{out}");
    assert!(
        err.contains("1 local restore dirs, 1 stale, 1 removed, 0 left"),
        "{err}"
    );
    assert_torn_down(&s);
}

/// Every file under `dir` with its length and SHA-256, sorted.
fn tree_digest(dir: &Path) -> Vec<(String, u64, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    bytes.len() as u64,
                    restore_drill::drill::sha256_hex(&bytes),
                ));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_backups_and_archive_are_untouched_by_a_drill() {
    let pg = pg();
    let s = Scratch::new(&pg);
    s.work();
    let mut src = source(&pg, s.path(), 200).await;
    src.base_backup("base-1", false).await.unwrap();
    let c = src.client("postgres").await.unwrap();
    c.batch_execute("insert into events (writer) values (1)")
        .await
        .unwrap();
    let incident = Utc::now();
    src.archive_now().await.unwrap();
    let rows_before: i64 = c
        .query_one("select count(*) from events", &[])
        .await
        .unwrap()
        .get(0);
    let base = s.path().join("src/base");
    let wal = s.path().join("src/wal");
    let (base_before, wal_before) = (tree_digest(&base), tree_digest(&wal));
    write_drill(s.path(), "gold", "0s", &count_is("= 201"));
    // The source keeps running during the drill, as production does.
    let ran = run_drill(s.path(), incident);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let rows_after: i64 = c
        .query_one("select count(*) from events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows_after, rows_before);
    assert_eq!(tree_digest(&base), base_before, "the base backups changed");
    // The archive may only grow by the source's own segments, never by the restore's: every
    // file there before is byte-identical, and nothing new came from a restore (archiving is
    // off on restores; a restore's timeline history would show as a *.history file).
    let wal_after = tree_digest(&wal);
    for f in &wal_before {
        assert!(wal_after.contains(f), "{} changed or vanished", f.0);
    }
    assert!(
        wal_after
            .iter()
            .all(|(name, _, _)| !name.ends_with(".history")),
        "a restore wrote into the source's archive: {wal_after:?}"
    );
    assert_torn_down(&s);
    src.stop().await.unwrap();
}
