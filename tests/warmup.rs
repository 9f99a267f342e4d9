//! Issue 17, "available is not usable": the `[restore.warmup]` phase. On tokio's paused clock
//! with a scripted restorer and a scripted query (the figures are exact: the warmup's time is
//! inside RTO, the curve is the nearest-rank truth of the scripted latencies); on real
//! PostgreSQL restores with a cold cache (a table far larger than `shared_buffers`, no
//! `pg_prewarm`, its pages never read since they were written, so the first read of each sets
//! its hint bits and logs and writes it); and after an RDS restore on moto through
//! `connect.via`. Plus every validation rule of the keys.

mod common;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use restore_drill::drill::{DrillPlan, RestorePlan, Severity, TierCatalog, check_drill};
use restore_drill::engine::{
    Cancel, CheckDone, RestoreDriver, RunOptions, RunOutput, VerifyJob, WarmupJob, WarmupProbe,
    exit_code, run_with, warm_up,
};
use restore_drill::provider::{ProviderError, RecoveryPoint, RunContext, Target, Waited};
use restore_drill::report::{
    CheckOutcome, CheckReport, Outcome, RunReport, Verdict, WarmupBatch, WarmupReport,
};
use tokio::time::sleep;

// --- the engine, on the paused clock --------------------------------------------------------

/// A restore whose phases take fixed times and whose warmup query takes the scripted
/// latencies in turn (the last one for ever after), or fails at run `fail_at`.
#[derive(Clone)]
struct Scripted {
    id: String,
    check_passes: bool,
    latencies: Vec<f64>,
    fail_at: Option<usize>,
}

struct Probe {
    latencies: Vec<f64>,
    fail_at: Option<usize>,
    ran: usize,
}

impl WarmupProbe for Probe {
    async fn open(&mut self) -> Result<(), String> {
        Ok(())
    }

    async fn run_once(&mut self) -> Result<(), String> {
        if self.fail_at == Some(self.ran) {
            return Err("the warmup query failed: relation \"nope\" does not exist".into());
        }
        let l = self
            .latencies
            .get(self.ran)
            .or(self.latencies.last())
            .copied()
            .unwrap_or(0.0);
        self.ran += 1;
        sleep(Duration::from_secs_f64(l)).await;
        Ok(())
    }
}

impl RestoreDriver for Scripted {
    fn has_copy(&self) -> bool {
        false
    }

    async fn resolve(&mut self, incident: DateTime<Utc>) -> Result<RecoveryPoint, ProviderError> {
        sleep(Duration::from_secs(1)).await;
        Ok(RecoveryPoint {
            kind: "pitr".into(),
            id: "scripted".into(),
            time: Some(incident),
            latest_restorable: Some(incident),
            notes: vec![],
        })
    }

    async fn copy(&mut self, _: &RunContext) -> Result<Waited, ProviderError> {
        Ok(Waited::default())
    }

    async fn restore(&mut self, _: &RunContext) -> Result<Waited, ProviderError> {
        sleep(Duration::from_secs(10)).await;
        Ok(Waited::default())
    }

    async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        sleep(Duration::from_secs(4)).await;
        Ok((
            Target {
                kind: "scripted".into(),
                name: self.id.clone(),
                address: None,
                details: Default::default(),
            },
            Waited::default(),
        ))
    }

    async fn verify(
        &mut self,
        _: &VerifyJob<'_>,
        done: CheckDone<'_>,
    ) -> Result<(), ProviderError> {
        sleep(Duration::from_secs(5)).await;
        done(
            &CheckReport {
                restore: self.id.clone(),
                kind: "scripted".into(),
                name: "rows are back".into(),
                outcome: if self.check_passes {
                    CheckOutcome::Passed
                } else {
                    CheckOutcome::Failed
                },
                findings: vec![],
                seconds: 5.0,
                found: None,
            },
            None,
        );
        Ok(())
    }

    async fn teardown(&mut self) -> Result<(), Vec<String>> {
        sleep(Duration::from_secs(30)).await;
        Ok(())
    }

    fn notes(&self) -> Vec<String> {
        vec![]
    }

    fn keep(&mut self) -> Option<String> {
        None
    }

    async fn warmup(&mut self, job: &WarmupJob<'_>) -> WarmupReport {
        let mut probe = Probe {
            latencies: self.latencies.clone(),
            fail_at: self.fail_at,
            ran: 0,
        };
        warm_up(job.spec, &mut probe).await
    }
}

/// A local drill of one restore with the given warmup table, gold tier, incident at the run's
/// start and no detection allowance: RTO is exactly the time to usable.
fn plan(warmup: &str) -> DrillPlan {
    let text = format!(
        r#"name = "warm"
tier = "gold"
schedule = "weekly"

[provider]
kind = "local"

[[restore]]
id = "orders"
kind = "pg_pitr"
base_backups = "base"
wal_archive = "wal"
[restore.connect]
database = "orders"
user = "postgres"
[restore.warmup]
{warmup}

[[check]]
restore = "orders"
kind = "sql"
query = "select 1"
expect = "= 1"
"#
    );
    let checked = check_drill(
        Path::new("/nonexistent/warm.toml"),
        &text,
        &TierCatalog::default(),
    );
    checked
        .plan
        .unwrap_or_else(|| panic!("the test drill is valid: {:?}", checked.diagnostics))
}

async fn run(plan: &DrillPlan, s: &Scripted) -> RunOutput {
    run_with(
        plan,
        &RunOptions::default(),
        &Cancel::new(),
        &(),
        |_: &DrillPlan, r: &RestorePlan| {
            Ok(Scripted {
                id: r.id.clone(),
                ..s.clone()
            })
        },
    )
    .await
}

/// The nearest-rank percentile of some latencies: the truth an HDR histogram approximates.
fn nearest_rank(latencies: &[f64], q: f64) -> f64 {
    let mut v = latencies.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Within the histogram's precision (3 significant digits).
fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= want * 1e-3 + 1e-6
}

fn assert_batch(b: &WarmupBatch, runs: &[f64], at: f64) {
    assert_eq!(b.runs as usize, runs.len(), "{b:?}");
    assert!((b.at_seconds - at).abs() < 1e-6, "{b:?} should end at {at}");
    for (got, q) in [
        (b.p50_seconds, 0.50),
        (b.p95_seconds, 0.95),
        (b.p99_seconds, 0.99),
        (b.max_seconds, 1.0),
    ] {
        let want = nearest_rank(runs, q);
        assert!(close(got, want), "p{q}: {got} vs {want} in {b:?}");
    }
}

fn phase_seconds(r: &RunReport, name: &str) -> f64 {
    r.restores[0]
        .phases
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no {name} phase"))
        .seconds
}

#[tokio::test(start_paused = true)]
async fn the_warmup_is_the_last_step_of_verify_and_its_seconds_are_inside_rto() {
    // Batch 1 cold (300 ms), batch 2 warming (half 100 ms, half 20 ms: p95 100 ms), batch 3
    // warm (10 ms, one 40 ms outlier that p95 ignores).
    let b1 = vec![0.3; 20];
    let mut b2 = vec![0.1; 10];
    b2.extend(vec![0.02; 10]);
    let mut b3 = vec![0.01; 19];
    b3.insert(7, 0.04);
    let all: Vec<f64> = [b1.clone(), b2.clone(), b3.clone()].concat();
    let s = Scripted {
        id: String::new(),
        check_passes: true,
        latencies: all.clone(),
        fail_at: None,
    };
    let out = run(
        &plan("query = \"select 1\"\nuntil_p95 = \"50ms\"\nmax = \"10m\""),
        &s,
    )
    .await;
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Met, "{}", r.verdict_reason);
    let w = r.restores[0]
        .warmup
        .as_ref()
        .expect("the warmup is reported");
    assert!(w.reached);
    assert_eq!(w.runs, 60);
    assert_eq!(w.batch_runs, 20);
    assert_eq!((w.until_p95_seconds, w.max_seconds), (0.05, 600.0));
    let warm_total: f64 = all.iter().sum();
    assert!(
        (w.seconds - warm_total).abs() < 1e-6,
        "{} vs {warm_total}",
        w.seconds
    );
    assert_eq!(w.batches.len(), 3);
    let t1: f64 = b1.iter().sum();
    let t2: f64 = t1 + b2.iter().sum::<f64>();
    assert_batch(&w.batches[0], &b1, t1);
    assert_batch(&w.batches[1], &b2, t2);
    assert_batch(&w.batches[2], &b3, warm_total);
    // The curve falls, and the 40 ms outlier of the last batch is its max, not its p95.
    assert!(w.batches[0].p95_seconds > w.batches[2].p95_seconds);
    assert!(close(w.batches[2].max_seconds, 0.04));
    assert!(close(w.batches[2].p95_seconds, 0.01));
    // Verify = its check (5 s) + the warmup; RTO = resolve 1 + restore 10 + prepare 4 +
    // verify, and teardown (30 s) is not in it.
    let verify = phase_seconds(r, "verify");
    assert!(
        (verify - (5.0 + warm_total)).abs() < 1e-6,
        "verify {verify}"
    );
    let rto = r.measured.rto_seconds.expect("measured");
    assert!(
        (rto - (1.0 + 10.0 + 4.0 + 5.0 + warm_total)).abs() < 1e-6,
        "RTO {rto}"
    );
    // The warmup is a check of its restore too, passed, with what it found.
    let c = r
        .checks
        .iter()
        .find(|c| c.kind == "warmup")
        .expect("a warmup check");
    assert_eq!(c.outcome, CheckOutcome::Passed);
    assert_eq!(c.found.as_deref(), Some("p95 10ms"));
    assert_eq!(c.name, "warmup (orders)");
    assert_eq!(exit_code(r), 0);
}

#[tokio::test(start_paused = true)]
async fn a_target_that_never_warms_fails_verify_with_a_finding_and_exit_11() {
    // Every run takes 300 ms; the bound is 50 ms, for at most 10 s.
    let s = Scripted {
        id: String::new(),
        check_passes: true,
        latencies: vec![0.3],
        fail_at: None,
    };
    let out = run(
        &plan("query = \"select 1\"\nuntil_p95 = \"50ms\"\nmax = \"10s\""),
        &s,
    )
    .await;
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Failed, "{}", r.verdict_reason);
    assert_eq!(
        exit_code(r),
        11,
        "a target that never warms is a finding, not a harness error"
    );
    assert_eq!(r.measured.rto_seconds, None, "never usable: no RTO");
    let w = r.restores[0].warmup.as_ref().unwrap();
    assert!(!w.reached);
    // 33 whole runs in 9.9 s, then the 34th is cut at 10 s after 0.1 s.
    assert_eq!(w.runs, 34);
    assert!((w.seconds - 10.0).abs() < 1e-6, "{}", w.seconds);
    assert_eq!(w.batches.len(), 2);
    assert_batch(&w.batches[0], &[0.3; 20], 6.0);
    let mut cut = vec![0.3; 13];
    cut.push(0.1);
    assert_batch(&w.batches[1], &cut, 10.0);
    let verify = r.restores[0]
        .phases
        .iter()
        .find(|p| p.name == "verify")
        .unwrap();
    assert_eq!(verify.outcome, Outcome::Failed);
    assert!((verify.seconds - 15.0).abs() < 1e-6);
    let c = r.checks.iter().find(|c| c.kind == "warmup").unwrap();
    assert_eq!(c.outcome, CheckOutcome::Failed);
    let f = &c.findings[0];
    assert_eq!(f.kind, "not_warm");
    assert_eq!(f.object, "orders");
    assert_eq!(f.expected, "p95 at most 50ms within 10.00s");
    assert_eq!(f.found, "p95 300ms after 34 runs");
    assert_eq!(
        r.verdict_reason,
        "Restored and checked, but not usable in time: restore \"orders\": verify failed: the warmup query's p95 latency did not fall to 50ms within 10.00s (34 runs; p95 of the last full batch 300ms).",
        "{}",
        r.verdict_reason
    );
    // Teardown still ran.
    assert_eq!(r.teardown.outcome, "done");
}

#[tokio::test(start_paused = true)]
async fn a_warmup_query_that_fails_is_an_error_of_its_check_and_fails_the_run() {
    let s = Scripted {
        id: String::new(),
        check_passes: true,
        latencies: vec![0.01],
        fail_at: Some(3),
    };
    let out = run(
        &plan("query = \"select 1\"\nuntil_p95 = \"50ms\"\nmax = \"1m\""),
        &s,
    )
    .await;
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Failed, "{}", r.verdict_reason);
    assert_eq!(exit_code(r), 11);
    let w = r.restores[0].warmup.as_ref().unwrap();
    assert_eq!((w.reached, w.runs), (false, 3));
    assert!(
        w.error
            .as_deref()
            .unwrap()
            .contains("\"nope\" does not exist")
    );
    let c = r.checks.iter().find(|c| c.kind == "warmup").unwrap();
    assert_eq!(c.outcome, CheckOutcome::Error);
}

#[tokio::test(start_paused = true)]
async fn no_warmup_runs_after_a_failed_check() {
    let s = Scripted {
        id: String::new(),
        check_passes: false,
        latencies: vec![0.01],
        fail_at: None,
    };
    let out = run(
        &plan("query = \"select 1\"\nuntil_p95 = \"50ms\"\nmax = \"1m\""),
        &s,
    )
    .await;
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Failed);
    assert!(r.restores[0].warmup.is_none());
    assert!(r.checks.iter().all(|c| c.kind != "warmup"));
    assert!((phase_seconds(r, "verify") - 5.0).abs() < 1e-6);
}

// --- validation -----------------------------------------------------------------------------

/// The errors of a drill whose one restore is `restore` (and optional `[timeouts]`), as
/// `line: message`.
fn errors(restore: &str, timeouts: &str) -> Vec<String> {
    let text = format!(
        "name = \"warm\"\ntier = \"gold\"\nschedule = \"weekly\"\n{timeouts}\n[provider]\n{}\n\n{restore}",
        if restore.contains("pg_pitr") {
            "kind = \"local\"\n"
        } else {
            "kind = \"aws\"\nregion = \"us-east-1\""
        },
    );
    let checked = check_drill(Path::new("warm.toml"), &text, &TierCatalog::default());
    checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.line, d.message))
        .collect()
}

const PG: &str = r#"[[restore]]
id = "orders"
kind = "pg_pitr"
base_backups = "base"
wal_archive = "wal"
[restore.connect]
database = "orders"
user = "postgres"
[restore.warmup]
"#;

#[test]
fn every_bad_warmup_key_is_named_with_its_line() {
    // The restore's `[restore.warmup]` starts on line 17 (after 8 header lines, the timeouts
    // line and the restore's 8).
    let e = errors(
        &format!("{PG}query = \" \"\nuntil_p95 = \"0ms\"\nmax = \"0s\"\n"),
        "",
    );
    assert_eq!(
        e,
        [
            "18: key \"warmup.query\": must not be empty",
            "19: key \"warmup.until_p95\": must be more than zero (no query answers in no time)",
            "20: key \"warmup.max\": must be more than zero",
        ]
    );
    let e = errors(
        &format!("{PG}query = \"select 1\"\nuntil_p95 = \"2h\"\nmax = \"3h\"\n"),
        "timeouts = { verify = \"4h\" }",
    );
    assert_eq!(
        e,
        [
            "19: key \"warmup.until_p95\": 2h is not a latency a warm database answers in; use at most 1h"
        ]
    );
    let e = errors(
        &format!("{PG}query = \"select 1\"\nuntil_p95 = \"50\"\nmax = \"soon\"\n"),
        "",
    );
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with(
            "19: key \"warmup.until_p95\": duration \"50\" has no unit; write e.g. \"50ms\""
        ),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("20: key \"warmup.max\": invalid duration \"soon\""),
        "{e:?}"
    );
    let e = errors(
        &format!("{PG}query = \"select 1\"\nuntil_p95 = \"2s\"\nmax = \"2s\"\n"),
        "",
    );
    assert_eq!(
        e,
        [
            "19: key \"warmup.until_p95\" (2s) must be shorter than \"warmup.max\" (2s): one run alone would use up the warmup"
        ]
    );
    // The warmup runs inside verify: it must end before verify's timeout does.
    let e = errors(
        &format!("{PG}query = \"select 1\"\nuntil_p95 = \"50ms\"\nmax = \"30m\"\n"),
        "",
    );
    assert_eq!(
        e,
        [
            "20: key \"warmup.max\" (30m) must be shorter than the verify timeout (30m, [timeouts] verify): the warmup runs inside the verify phase, after the checks"
        ]
    );
    let e = errors(
        &format!("{PG}query = \"select 1\"\nuntil_p95 = \"50ms\"\nmax = \"30m\"\n"),
        "timeouts = { verify = \"1h\" }",
    );
    assert_eq!(e, Vec::<String>::new());
    // Unknown and missing keys.
    let e = errors(
        &format!("{PG}query = \"select 1\"\nuntil_p95 = \"50ms\"\nmax = \"1m\"\np99 = \"1s\"\n"),
        "",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("21: unknown key \"warmup.p99\""), "{e:?}");
    let e = errors(&format!("{PG}query = \"select 1\"\n"), "");
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e.iter().any(|m| m.contains("\"warmup.until_p95\"")),
        "{e:?}"
    );
    assert!(e.iter().any(|m| m.contains("\"warmup.max\"")), "{e:?}");
}

#[test]
fn a_warmup_needs_a_database() {
    let s3 = r#"[[restore]]
id = "files"
kind = "s3_versions"
bucket = "src-bucket"
[restore.target]
bucket = "dst-bucket"
[restore.warmup]
query = "select 1"
until_p95 = "50ms"
max = "1m"
"#;
    assert_eq!(
        errors(s3, ""),
        [
            "16: key \"warmup\": an s3_versions restore brings back objects, not a database: there is nothing to warm up; remove [restore.warmup]"
        ]
    );
    let backup = r#"[[restore]]
id = "db"
kind = "backup_recovery_point"
vault = "v"
recovery_point_arn = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-1"
iam_role_arn = "arn:aws:iam::123456789012:role/backup"
[restore.target]
allow_shared_network = true
[restore.warmup]
query = "select 1"
until_p95 = "50ms"
max = "1m"
"#;
    assert_eq!(
        errors(backup, ""),
        [
            "18: key \"warmup\": this backup_recovery_point restore has no [restore.connect], so no database to warm up; add [restore.connect] or remove [restore.warmup]"
        ]
    );
    // With a database to query, the same warmup is fine.
    let with_db = backup.replace(
        "[restore.warmup]",
        "[restore.connect]\ndatabase = \"d\"\nuser = \"u\"\n[restore.warmup]",
    );
    assert_eq!(errors(&with_db, ""), Vec::<String>::new());
}

#[test]
fn plan_shows_the_warmup() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "name = \"warm\"\ntier = \"gold\"\nschedule = \"weekly\"\n\n[provider]\nkind = \"local\"\n\n{PG}query = \"select 1\"\nuntil_p95 = \"50ms\"\nmax = \"2m\"\n"
    );
    std::fs::write(dir.path().join("warm.toml"), text).unwrap();
    let run = common::restore_drill_in(dir.path(), &["plan", "warm.toml"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "  warmup    after the checks, runs \"select 1\" in batches of 20 until a batch's p95 latency is at most 50ms, for at most 2m; counted in RTO"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn validate_exits_20_on_a_bad_warmup() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "name = \"warm\"\ntier = \"gold\"\nschedule = \"weekly\"\n\n[provider]\nkind = \"local\"\n\n{PG}query = \"select 1\"\nuntil_p95 = \"0ms\"\nmax = \"1m\"\n"
    );
    std::fs::write(dir.path().join("warm.toml"), text).unwrap();
    let run = common::restore_drill_in(dir.path(), &["validate", "warm.toml"]);
    assert_eq!(run.code, 20, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "warm.toml:18:13: restore \"orders\": key \"warmup.until_p95\": must be more than zero"
        ),
        "{}",
        run.stderr
    );
}

// --- real PostgreSQL, cold cache --------------------------------------------------------------

/// Runs `restore-drill run dir/drill.toml --format json` with reports (and JUnit) in `dir`.
fn run_cli(dir: &Path) -> (i32, RunReport, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_restore-drill"))
        .arg("run")
        .arg(dir.join("drill.toml"))
        .args(["--format", "json", "--reports"])
        .arg(dir.join("reports"))
        .arg("--junit")
        .arg(dir.join("junit.xml"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: RunReport = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report on stdout ({e}); stderr:\n{stderr}"));
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// A `pg_pitr` drill of the test source (to the latest WAL), with `warmup` and `checks`.
fn write_pg_drill(dir: &Path, warmup: &str, checks: &str) {
    let text = format!(
        r#"name = "warm-pg"
tier = "silver"
schedule = "weekly"

[provider]
kind = "local"

[timeouts]
restore = "5m"
verify = "5m"

[[restore]]
id = "events"
kind = "pg_pitr"
base_backups = "src/base"
wal_archive = "src/wal"
to = "latest"
[restore.target]
work_dir = "work"
[restore.connect]
database = "postgres"
user = "postgres"
[restore.warmup]
{warmup}
{checks}"#
    );
    std::fs::write(dir.join("drill.toml"), text).unwrap();
}

fn sql_check(name: &str, query: &str, expect: &str) -> String {
    format!(
        "\n[[check]]\nrestore = \"events\"\nkind = \"sql\"\nname = \"{name}\"\nquery = \"{query}\"\nexpect = \"{expect}\"\n"
    )
}

fn assert_nothing_left(s: &common::pg::Scratch) {
    let work = s.work();
    let left: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "teardown left {left:?}");
    assert!(common::pg::processes_under(&work).is_empty());
}

/// The restored server starts cold: 128 kB of shared buffers (16 pages) against a 20 MB
/// table, no `pg_prewarm`, and pages that were written but never read since, so the first
/// read of each sets its hint bits, which (with `wal_log_hints`) logs a full-page image and
/// writes the page back with the WAL flushed first. The warmup reads one of ten buckets at
/// random per run: the first batch meets mostly cold buckets, later ones only warm pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_restore_warms_up_and_the_curve_shows_it() {
    let pg = common::pg::pg();
    let s = common::pg::Scratch::new(&pg);
    s.work();
    let mut src = restore_drill::provider::local::SourceCluster::start(&pg, &s.path().join("src"))
        .await
        .unwrap();
    let c = src.client("postgres").await.unwrap();
    // One statement at a time: ALTER SYSTEM refuses to run in a transaction block.
    for sql in [
        "alter system set shared_buffers = '128kB'",
        "alter system set wal_log_hints = on",
        "alter system set fsync = on",
        "alter system set wal_sync_method = open_datasync",
        "create table warm (id int primary key, bucket int not null, payload text not null)
             with (autovacuum_enabled = off)",
        "create index on warm (bucket)",
        "insert into warm select g, g % 10, repeat(md5(g::text), 30)
             from generate_series(1, 20000) g order by g % 10, g",
    ] {
        c.batch_execute(sql).await.unwrap();
    }
    drop(c);
    src.base_backup("base-1", false).await.unwrap();
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();

    // The premise, proved on the restored server by checks that read no page of `warm`.
    let checks = [
        sql_check(
            "16 shared buffers",
            "select setting from pg_settings where name = 'shared_buffers'",
            "= 16",
        ),
        sql_check(
            "the table is far larger than shared_buffers",
            "select pg_relation_size('warm') / 8192",
            ">= 2000",
        ),
        sql_check(
            "no pg_prewarm",
            "select count(*) from pg_extension where extname = 'pg_prewarm'",
            "= 0",
        ),
        sql_check(
            "no pg_prewarm preloaded",
            "select count(*) from pg_settings where name = 'shared_preload_libraries' and setting like '%prewarm%'",
            "= 0",
        ),
        sql_check(
            "hint bits are logged",
            "select setting from pg_settings where name = 'wal_log_hints'",
            "matches ^on$",
        ),
    ]
    .concat();
    write_pg_drill(
        s.path(),
        "query = \"select count(*) from warm where bucket = (select floor(random() * 10)::int)\"\nuntil_p95 = \"15ms\"\nmax = \"2m\"",
        &checks,
    );
    let (code, r, stderr) = run_cli(s.path());
    assert_eq!(code, 0, "{stderr}\n{r:#?}");
    assert_eq!(r.verdict, Verdict::Met, "{}", r.verdict_reason);
    let w = r.restores[0].warmup.as_ref().expect("a warmup");
    for b in &w.batches {
        eprintln!(
            "batch of {} runs: p50 {:.1}ms p95 {:.1}ms max {:.1}ms",
            b.runs,
            b.p50_seconds * 1e3,
            b.p95_seconds * 1e3,
            b.max_seconds * 1e3
        );
    }
    assert!(w.reached, "{w:#?}");
    assert!(w.batches.len() >= 2, "the first batch is cold: {w:#?}");
    let (first, last) = (&w.batches[0], w.batches.last().unwrap());
    assert!(
        first.p95_seconds > last.p95_seconds,
        "the first batch is slower than the last: {w:#?}"
    );
    assert!(first.p95_seconds > 0.015, "{w:#?}");
    assert!(last.p95_seconds <= 0.015, "{w:#?}");
    assert_eq!(last.runs, 20);
    assert_eq!(w.runs, 20 * w.batches.len() as u64);
    // The warmup is inside verify, and verify inside RTO.
    let verify = r.restores[0]
        .phases
        .iter()
        .find(|p| p.name == "verify")
        .unwrap();
    assert!(verify.seconds >= w.seconds, "{verify:?} {w:?}");
    let to_verified: f64 = r.restores[0]
        .phases
        .iter()
        .filter(|p| p.name != "teardown")
        .map(|p| p.seconds)
        .sum();
    let rto = r.measured.rto_seconds.unwrap();
    assert!(
        rto + 0.05 >= to_verified,
        "RTO {rto} vs phases {to_verified}"
    );
    assert!(
        r.checks
            .iter()
            .any(|c| c.kind == "warmup" && c.outcome == CheckOutcome::Passed)
    );
    // The curve is in every report.
    let dir = restore_drill::report::run_dir(&s.path().join("reports"), &r);
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("- warmup: reached p95 <= 15ms after"), "{md}");
    assert!(
        md.contains("| batch | runs | ended at | p50 | p95 | p99 | max |"),
        "{md}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Warmup"), "no warmup in the HTML");
    assert!(
        html.contains("<svg id=\"warmup-curve\""),
        "no latency curve in the HTML"
    );
    let junit = std::fs::read_to_string(s.path().join("junit.xml")).unwrap();
    assert!(junit.contains("name=\"check warmup (events)\""), "{junit}");
    assert!(stderr.contains("warmup reached p95 <= 15ms"), "{stderr}");
    assert_nothing_left(&s);
}

/// A query that can never answer under the bound: the warmup ends at `max` with a finding,
/// the run fails with exit 11 (a finding, not a harness error), and teardown still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_that_never_warms_is_a_finding_with_exit_11() {
    let pg = common::pg::pg();
    let s = common::pg::Scratch::new(&pg);
    s.work();
    let mut src = common::pg::source(&pg, s.path(), 10).await;
    src.base_backup("base-1", false).await.unwrap();
    src.archive_now().await.unwrap();
    src.stop().await.unwrap();
    write_pg_drill(
        s.path(),
        "query = \"select pg_sleep(0.1)\"\nuntil_p95 = \"20ms\"\nmax = \"2s\"",
        &sql_check("rows are back", "select count(*) from events", "= 10"),
    );
    let (code, r, stderr) = run_cli(s.path());
    assert_eq!(code, 11, "{stderr}\n{r:#?}");
    assert_eq!(r.verdict, Verdict::Failed);
    assert_eq!(r.measured.rto_seconds, None);
    let w = r.restores[0].warmup.as_ref().expect("a warmup");
    assert!(!w.reached);
    assert!(w.error.is_none(), "{w:?}");
    assert!(w.seconds >= 2.0, "{w:?}");
    // About 20 runs of 100 ms in 2 s; each at least 100 ms.
    assert!((10..=21).contains(&w.runs), "{w:?}");
    assert!(w.batches.iter().all(|b| b.p50_seconds >= 0.1), "{w:?}");
    let c = r.checks.iter().find(|c| c.kind == "warmup").unwrap();
    assert_eq!(c.outcome, CheckOutcome::Failed);
    assert_eq!(c.findings[0].kind, "not_warm");
    assert!(
        r.verdict_reason
            .contains("the warmup query's p95 latency did not fall to 20ms within 2.00s"),
        "{}",
        r.verdict_reason
    );
    assert_eq!(r.teardown.outcome, "done");
    assert_nothing_left(&s);
}

// --- after an RDS restore on moto, through connect.via ---------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rds_restore_warms_up_through_connect_via_and_the_warmup_counts_in_rto() {
    use common::rds::*;
    let s = stand(&["us-east-1"]).await;
    source_instance(&s.moto).await;
    s.write(&format!(
        r#"[[restore]]
id = "orders"
kind = "rds_pitr"
source = "orders-prod"
to = "latest"
[restore.target]
identifier = "drill-orders-{{run_id}}"
instance_class = "db.t4g.medium"
subnet_group = "drill-isolated"
security_groups = ["{}"]
[restore.warmup]
query = "select count(*) from events where payload like '%a%'"
until_p95 = "2s"
max = "1m""#,
        s.sg
    ));
    let ran = run(s.dir.path(), &s.moto, &[]);
    let report = ran
        .report
        .as_ref()
        .unwrap_or_else(|| panic!("no report; stderr:\n{}", ran.stderr));
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    assert_eq!(report.verdict, Verdict::Met, "{}", report.verdict_reason);
    let w = report.restores[0].warmup.as_ref().expect("a warmup");
    // The local server answers well under 2 s: one full batch reaches the bound.
    assert!(w.reached, "{w:?}");
    assert_eq!((w.runs, w.batches.len()), (20, 1), "{w:?}");
    assert!(w.batches[0].p95_seconds <= 2.0);
    let verify = phase(report, "verify");
    assert_eq!(verify.outcome, Outcome::Ok);
    assert!(verify.seconds >= w.seconds, "{verify:?} {w:?}");
    let to_verified: f64 = report.restores[0]
        .phases
        .iter()
        .filter(|p| p.name != "teardown")
        .map(|p| p.seconds)
        .sum();
    // RTO = the 1-minute allowance + the time until verified, the warmup included.
    let rto = report.measured.rto_seconds.unwrap();
    assert!(
        rto + 0.05 >= 60.0 + to_verified,
        "RTO {rto} vs {to_verified}"
    );
    let c = report.checks.iter().find(|c| c.kind == "warmup").unwrap();
    assert_eq!(c.outcome, CheckOutcome::Passed);
    // The target is gone and the password never appears.
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
    assert_no_secret(s.dir.path(), &ran);
}
