//! End-to-end drills of `pg_pitr` from pgBackRest repositories (issue 13): a real source
//! cluster archiving with `pgbackrest archive-push`, a full backup taken with `pgbackrest
//! backup`, a concurrent write load, and the drill run as users run it — from the drill's
//! folder, with a relative `config = "pgbackrest.conf"`. Truth comes from the source's commit
//! timestamps.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use chrono::{DateTime, SubsecRound, Utc};
use common::pg::{
    FakeClock, Load, Scratch, assert_stop_named, checks_found, exact_rows_checks, pg,
    processes_under, source_with, truth,
};
use restore_drill::provider::local::{PgEnv, SourceCluster, SourceOptions};
use restore_drill::report::{CheckOutcome, RpoSource, RunReport, Verdict};

const BIN: &str = env!("CARGO_BIN_EXE_restore-drill");
const STANZA: &str = "main";

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Runs `pgbackrest --config=… --stanza=… ARGS` as the server's user, as the source's owner
/// would (pgBackRest refuses some commands as root).
fn pgbackrest(pg: &PgEnv, conf: &Path, stanza: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("pgbackrest");
    cmd.arg(format!("--config={}", conf.display()))
        .arg(format!("--stanza={stanza}"))
        .args(args)
        .current_dir("/")
        // pgBackRest reaches the source by TCP (it listens on loopback only).
        .env("PGHOST", "127.0.0.1");
    if let Some((uid, gid)) = pg.run_as {
        cmd.uid(uid).gid(gid);
    }
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run pgbackrest ({e}): run ci/test (it installs it), or apt-get install pgbackrest")
    })
}

fn pgbackrest_ok(pg: &PgEnv, conf: &Path, args: &[&str]) -> String {
    let out = pgbackrest(pg, conf, STANZA, args);
    assert!(
        out.status.success(),
        "pgbackrest {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The stanza's `info --output=json` entry.
fn info(pg: &PgEnv, conf: &Path) -> serde_json::Value {
    let text = pgbackrest_ok(pg, conf, &["info", "--output=json"]);
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    all[0].clone()
}

/// A configuration for the test's repository (`repo` holds the `repo1-*` lines): lock and
/// log paths in the test's own dir, the source's data dir and (once known) port.
fn write_conf(root: &Path, repo: &str, port: Option<u16>) -> PathBuf {
    let conf = root.join("pgbackrest.conf");
    let text = format!(
        "[global]\n{repo}\nlock-path={lock}\nlog-path={log}\nlog-level-console=warn\nlog-level-file=info\nstart-fast=y\nrepo1-retention-full=9\n\n[{STANZA}]\npg1-path={data}\n{port}",
        lock = root.join("pgbr/lock").display(),
        log = root.join("pgbr/log").display(),
        data = root.join("src/source").display(),
        port = port.map(|p| format!("pg1-port={p}\n")).unwrap_or_default(),
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// A source archiving into a pgBackRest repository, with a full backup of its first `rows`
/// rows. `repo` holds the repository's `repo1-*` lines.
async fn pgbackrest_source(pg: &PgEnv, s: &Scratch, repo: &str, rows: u32) -> SourceCluster {
    pgbackrest_source_with(pg, s, repo, rows, Vec::new()).await
}

/// `pgbackrest_source`, its `postgres` run with `env` too.
async fn pgbackrest_source_with(
    pg: &PgEnv,
    s: &Scratch,
    repo: &str,
    rows: u32,
    env: Vec<(String, String)>,
) -> SourceCluster {
    let root = s.path();
    for d in ["pgbr/repo", "pgbr/lock", "pgbr/log", "work"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let conf = write_conf(root, repo, None);
    pg.give(root).unwrap();
    let options = SourceOptions {
        archive_command: Some(format!(
            "pgbackrest --config={} --stanza={STANZA} archive-push %p",
            conf.display()
        )),
        env,
    };
    let src = source_with(pg, root, rows, &options).await;
    write_conf(root, repo, Some(src.port()));
    pg.give(&conf).unwrap();
    pgbackrest_ok(pg, &conf, &["stanza-create"]);
    pgbackrest_ok(pg, &conf, &["backup", "--type=full"]);
    src
}

fn posix_repo(root: &Path) -> String {
    format!("repo1-path={}", root.join("pgbr/repo").display())
}

/// A drill restoring the pgBackRest source to the incident, with `checks` appended.
fn write_drill(dir: &Path, stanza: &str, config: &str, checks: &str) {
    let text = format!(
        r#"name = "pgbackrest-test"
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
to = "incident"
[restore.pgbackrest]
stanza = "{stanza}"
config = "{config}"
[restore.target]
work_dir = "work"
[restore.connect]
database = "postgres"
user = "postgres"
{checks}"#
    );
    std::fs::write(dir.join("drill.toml"), text).unwrap();
}

/// `restore-drill ARGS` from the drill's folder, as a user runs it.
fn restore_drill(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `restore-drill run drill.toml --incident-at T --format json` and its report.
fn run_drill(dir: &Path, incident: DateTime<Utc>) -> (i32, RunReport, String) {
    let (code, stdout, stderr) = restore_drill(
        dir,
        &[
            "run",
            "drill.toml",
            "--incident-at",
            &rfc3339(incident),
            "--format",
            "json",
            "--reports",
            "reports",
        ],
    );
    let report: RunReport = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON report on stdout ({e}); stderr:\n{stderr}"));
    (code, report, stderr)
}

fn assert_torn_down(s: &Scratch) {
    let work = s.path().join("work");
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

/// Loads the source, stops at an incident in the middle of the load (after `not_before`),
/// and archives everything. Returns the incident.
async fn load_around_incident(src: &mut SourceCluster, not_before: DateTime<Utc>) -> DateTime<Utc> {
    let load = Load::start(src, 2, 3).await;
    load.wait_for_more(150).await;
    // A fast load may reach 150 commits within the backup's last (whole) second.
    while Utc::now() <= not_before {
        load.wait_for_more(10).await;
    }
    let incident = Utc::now();
    load.wait_for_more(150).await;
    load.stop().await;
    src.archive_now().await.unwrap();
    incident
}

/// The drill restores exactly the rows committed by the target, measures the RPO from the
/// data within a second of the truth, never writes into the repository, and leaves nothing.
async fn restores_exactly_the_committed_rows(s: &Scratch, src: &mut SourceCluster, read: &str) {
    let pg = pg();
    let conf = s.path().join("pgbackrest.conf");
    let set = info(&pg, &conf)["backup"][0].clone();
    let label = set["label"].as_str().unwrap().to_owned();
    // pgBackRest's stop time is whole seconds: the set ended by the second after it.
    let ended_by =
        DateTime::from_timestamp(set["timestamp"]["stop"].as_i64().unwrap() + 1, 0).unwrap();
    let incident = load_around_incident(src, ended_by).await;
    let truth = truth(src, incident).await;
    src.stop().await.unwrap();
    assert!(
        truth.created_before_committed_after > 0,
        "the load should leave rows created before the target but committed after it"
    );
    let before = info(&pg, &conf);

    write_drill(
        s.path(),
        STANZA,
        "pgbackrest.conf",
        &exact_rows_checks(&truth),
    );
    // The drill needs only the repository: the source's data dir (pg1-path) is out of reach.
    let data = s.path().join("src/source");
    let moved = s.path().join("src/source-away");
    std::fs::rename(&data, &moved).unwrap();
    let t0 = Instant::now();
    let (code, r, stderr) = run_drill(s.path(), incident);
    eprintln!("drill took {:.1}s", t0.elapsed().as_secs_f64());
    std::fs::rename(&moved, &data).unwrap();
    assert!(!data.join("postmaster.pid").exists());
    // What each check found first: a long report is cut in CI's summary.
    let found = checks_found(&r);
    assert_eq!(
        code, 0,
        "checks: {found}; truth {} rows, md5 {}\n{stderr}\n{r:#?}",
        truth.count, truth.ids_md5
    );
    assert_eq!(r.verdict, Verdict::Met, "{}", r.verdict_reason);
    assert_eq!(r.checks.len(), 3);
    assert!(
        r.checks.iter().all(|c| c.outcome == CheckOutcome::Passed),
        "{:#?}",
        r.checks
    );
    let true_rpo = (incident - truth.newest_commit).num_microseconds().unwrap() as f64 / 1e6;
    let rpo = r.measured.rpo_seconds.unwrap();
    assert_eq!(r.measured.rpo_source, Some(RpoSource::Data));
    assert!(
        (rpo - true_rpo).abs() < 1.0,
        "measured RPO {rpo}, true {true_rpo}"
    );
    let point = r.restores[0].recovery_point.as_ref().unwrap();
    assert!(point.id.contains(&label), "{point:?}");
    assert_stop_named(&point.notes, &truth);
    assert_eq!(point.time, Some(incident.trunc_subsecs(6)));
    assert!(
        point
            .notes
            .iter()
            .any(|n| n.contains("pgBackRest backup set")),
        "{:?}",
        point.notes
    );
    assert!(
        point
            .notes
            .iter()
            .any(|n| n.starts_with(&format!("newest archived WAL read {read}"))),
        "{:?}",
        point.notes
    );
    // The restore never archived into the source's repository.
    let after = info(&pg, &conf);
    assert_eq!(before["archive"], after["archive"]);
    assert_torn_down(s);
}

/// `pg_pitr.rs`'s source whose clock steps back, archiving into pgBackRest: the restore
/// brings back the first pass of the target, exactly the truth in WAL order, and names the
/// commits stamped in time after the step, read from WAL that pgBackRest's archive-get (the
/// restored server's own restore_command) fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_source_clock_stepped_back_restores_the_first_pass_and_names_the_late_commits() {
    let pg = pg();
    let s = Scratch::new(&pg);
    let clock = FakeClock::new(&pg, s.path());
    let mut src = pgbackrest_source_with(&pg, &s, &posix_repo(s.path()), 100, clock.env()).await;
    let conf = s.path().join("pgbackrest.conf");
    let set = info(&pg, &conf)["backup"][0].clone();
    // pgBackRest's stop time is whole seconds: the set ended by the second after it.
    let ended_by =
        DateTime::from_timestamp(set["timestamp"]["stop"].as_i64().unwrap() + 1, 0).unwrap();
    let load = Load::start(&src, 2, 0).await;
    // Commits for a second and a half after the set ended, the clock two seconds back, and
    // two seconds more.
    let step_at = ended_by.max(Utc::now()) + chrono::TimeDelta::milliseconds(1500);
    tokio::time::sleep((step_at - Utc::now()).to_std().unwrap_or_default()).await;
    let stepped = Utc::now();
    clock.set_offset(-2);
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    load.stop().await;
    src.archive_now().await.unwrap();
    let incident = stepped - chrono::TimeDelta::seconds(1);
    let truth = truth(&src, incident).await;
    src.stop().await.unwrap();
    assert!(
        truth.late_in_wal.len() > 10,
        "the second pass should commit many transactions stamped before the target: {}",
        truth.late_in_wal.len()
    );

    write_drill(
        s.path(),
        STANZA,
        "pgbackrest.conf",
        &exact_rows_checks(&truth),
    );
    let (code, r, stderr) = run_drill(s.path(), incident);
    let found = checks_found(&r);
    assert_eq!(
        code, 0,
        "checks: {found}; truth {} rows\n{stderr}\n{r:#?}",
        truth.count
    );
    let point = r.restores[0].recovery_point.as_ref().unwrap();
    assert_stop_named(&point.notes, &truth);
    assert_torn_down(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_posix_repository_restores_exactly_what_committed_before_the_target() {
    let pg = pg();
    let s = Scratch::new(&pg);
    // Bundled (small files packed together, pg_control among them): resolve reads the WAL
    // with repo-get; the S3 test covers archive-get.
    let repo = format!("{}\nrepo1-bundle=y", posix_repo(s.path()));
    let mut src = pgbackrest_source(&pg, &s, &repo, 500).await;
    restores_exactly_the_committed_rows(&s, &mut src, "with repo-get").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plan_resolve_names_the_backup_set_and_the_latest_restorable_commit() {
    let pg = pg();
    let s = Scratch::new(&pg);
    let mut src = pgbackrest_source(&pg, &s, &posix_repo(s.path()), 200).await;
    let set = info(&pg, &s.path().join("pgbackrest.conf"))["backup"][0].clone();
    let label = set["label"].as_str().unwrap().to_owned();
    // Commits until one lands after the set's end (whole seconds, rounded up): the latest
    // restorable time is then that commit, not the set's end.
    let ended_by =
        DateTime::from_timestamp(set["timestamp"]["stop"].as_i64().unwrap() + 1, 0).unwrap();
    let c = src.client("postgres").await.unwrap();
    let insert = "insert into events (writer, payload) values (1, 'last')";
    while Utc::now() <= ended_by {
        c.batch_execute(insert).await.unwrap();
    }
    // Sent after the set's end, so committed after it.
    c.batch_execute(insert).await.unwrap();
    src.archive_now().await.unwrap();
    let newest = truth(&src, Utc::now()).await.newest_commit;
    assert!(newest > ended_by);
    src.stop().await.unwrap();
    write_drill(s.path(), STANZA, "pgbackrest.conf", "");
    let incident = Utc::now();
    let (code, out, err) = restore_drill(
        s.path(),
        &[
            "plan",
            "drill.toml",
            "--resolve",
            "--incident-at",
            &rfc3339(incident),
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!("pgBackRest backup set {label}")),
        "{out}"
    );
    assert!(out.contains("archive 15-1: WAL "), "{out}");
    let latest = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("latest restorable commit "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no latest restorable commit in:\n{out}"));
    let latest = DateTime::parse_from_rfc3339(latest).unwrap();
    let off = (latest.with_timezone(&Utc) - newest)
        .num_milliseconds()
        .abs();
    assert!(
        off <= 1,
        "latest restorable {latest}, newest commit {newest}"
    );
    // Nothing restored, nothing left.
    assert!(
        std::fs::read_dir(s.path().join("work"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn a_missing_config_file_is_invalid_with_exit_20_naming_key_and_line() {
    let pg = pg();
    let s = Scratch::new(&pg);
    write_drill(s.path(), STANZA, "missing.conf", "");
    let (code, out, err) = restore_drill(s.path(), &["validate", "drill.toml"]);
    assert_eq!(code, 20, "{out}\n{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains("drill.toml:20:10: restore \"events\": key \"pgbackrest.config\""),
        "{all}"
    );
    assert!(all.contains("missing.conf is not a file"), "{all}");
}

#[test]
fn files_and_pgbackrest_together_are_invalid_with_exit_20() {
    let pg = pg();
    let s = Scratch::new(&pg);
    write_drill(s.path(), STANZA, "pgbackrest.conf", "");
    write_conf(s.path(), &posix_repo(s.path()), None);
    let text = std::fs::read_to_string(s.path().join("drill.toml"))
        .unwrap()
        .replace(
            "to = \"incident\"\n",
            "to = \"incident\"\nbase_backups = \"base\"\nwal_archive = \"wal\"\n",
        );
    std::fs::write(s.path().join("drill.toml"), text).unwrap();
    let (code, out, err) = restore_drill(s.path(), &["validate", "drill.toml"]);
    assert_eq!(code, 20, "{out}\n{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains("drill.toml:18:16: restore \"events\": key \"base_backups\": a pg_pitr restore reads either"),
        "{all}"
    );
}

#[test]
fn an_unknown_stanza_fails_the_run_with_exit_11_naming_it() {
    let pg = pg();
    let s = Scratch::new(&pg);
    for d in ["pgbr/repo", "pgbr/lock", "pgbr/log", "work"] {
        std::fs::create_dir_all(s.path().join(d)).unwrap();
    }
    write_conf(s.path(), &posix_repo(s.path()), None);
    pg.give(s.path()).unwrap();
    write_drill(s.path(), "no-such-stanza", "pgbackrest.conf", "");
    let (code, r, stderr) = run_drill(s.path(), Utc::now());
    assert_eq!(code, 11, "{stderr}\n{r:#?}");
    assert_eq!(r.verdict, Verdict::Failed);
    let resolve = &r.restores[0].phases[0];
    assert_eq!(resolve.name, "resolve");
    let error = resolve.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("stanza \"no-such-stanza\"") && error.contains("missing stanza path"),
        "{error}"
    );
    assert_torn_down(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_s3_repository_on_moto_restores_exactly_what_committed_before_the_target() {
    let moto = common::moto::Moto::start();
    moto.s3()
        .await
        .create_bucket()
        .bucket("pgbackrest")
        .send()
        .await
        .unwrap();
    // pgBackRest speaks only HTTPS to S3.
    let tls = common::tls_proxy::TlsProxy::start(moto.port);
    let repo = format!(
        "repo1-type=s3\nrepo1-path=/repo\nrepo1-s3-bucket=pgbackrest\nrepo1-s3-endpoint=127.0.0.1\nrepo1-s3-port={}\nrepo1-s3-region={}\nrepo1-s3-key={}\nrepo1-s3-key-secret={}\nrepo1-s3-uri-style=path\nrepo1-s3-verify-tls=n",
        tls.port,
        common::moto::REGION,
        common::moto::ACCESS_KEY,
        common::moto::SECRET_KEY
    );
    let pg = pg();
    let s = Scratch::new(&pg);
    let mut src = pgbackrest_source(&pg, &s, &repo, 500).await;
    restores_exactly_the_committed_rows(&s, &mut src, "with archive-get").await;
}

#[test]
fn a_missing_pgbackrest_program_is_a_harness_error_with_exit_30() {
    let pg = pg();
    let s = Scratch::new(&pg);
    std::fs::create_dir_all(s.path().join("work")).unwrap();
    write_conf(s.path(), &posix_repo(s.path()), None);
    write_drill(s.path(), STANZA, "pgbackrest.conf", "");
    let out = Command::new(BIN)
        .args([
            "run",
            "drill.toml",
            "--format",
            "json",
            "--reports",
            "reports",
        ])
        .current_dir(s.path())
        .env_remove("RUST_LOG")
        .env("PATH", s.path().join("empty-path"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(30), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("pgbackrest is not installed")
            && stdout.contains("apt-get install pgbackrest"),
        "{stdout}\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_target_after_the_last_commit_recovers_the_whole_archive_and_never_into_pg1_path() {
    let pg = pg();
    let s = Scratch::new(&pg);
    let mut src = pgbackrest_source(&pg, &s, &posix_repo(s.path()), 300).await;
    let c = src.client("postgres").await.unwrap();
    for i in 0..3 {
        c.batch_execute(&format!("insert into events (writer) values ({i})"))
            .await
            .unwrap();
    }
    src.archive_now().await.unwrap();
    let newest = truth(&src, Utc::now()).await.newest_commit;
    src.stop().await.unwrap();
    // Well after the last commit: no transaction in the archive ends after the target.
    let incident = newest + chrono::TimeDelta::minutes(5);
    write_drill(
        s.path(),
        STANZA,
        "pgbackrest.conf",
        "\n[[check]]\nrestore = \"events\"\nkind = \"sql\"\nquery = \"select count(*) from events\"\nexpect = \"= 303\"\n",
    );
    let (code, r, stderr) = run_drill(s.path(), incident);
    assert_eq!(code, 0, "{stderr}\n{r:#?}");
    let point = r.restores[0].recovery_point.as_ref().unwrap();
    assert_eq!(point.time, None, "{point:?}");
    assert!(
        point
            .notes
            .iter()
            .any(|n| n.contains("recovering to the end of the archive")),
        "{:?}",
        point.notes
    );
    assert!(
        point.notes.iter().any(|n| n.starts_with("replayed to ")),
        "{:?}",
        point.notes
    );
    // No target, so no stop to name.
    assert!(
        !point
            .notes
            .iter()
            .any(|n| n.starts_with("recovery stopped before")),
        "{:?}",
        point.notes
    );
    assert_torn_down(&s);

    // A configuration whose pg1-path holds the run's dir: refused before anything is written.
    let conf = s.path().join("pgbackrest.conf");
    let text = std::fs::read_to_string(&conf).unwrap().replace(
        &format!("pg1-path={}", s.path().join("src/source").display()),
        &format!("pg1-path={}", s.path().join("work").display()),
    );
    std::fs::write(&conf, text).unwrap();
    let (code, r, stderr) = run_drill(s.path(), incident);
    assert_eq!(code, 11, "{stderr}\n{r:#?}");
    let restore = r.restores[0]
        .phases
        .iter()
        .find(|p| p.name == "restore")
        .unwrap_or_else(|| panic!("no restore phase: {:#?}", r.restores[0].phases));
    let error = restore.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("refusing to restore into") && error.contains("source's pg1-path"),
        "{error}"
    );
    assert_torn_down(&s);
}

#[test]
fn a_failing_pgbackrest_command_fails_the_run_with_exit_11_and_its_message() {
    let pg = pg();
    let s = Scratch::new(&pg);
    for d in ["pgbr/lock", "pgbr/log", "work"] {
        std::fs::create_dir_all(s.path().join(d)).unwrap();
    }
    // A repository type pgBackRest does not know: every command stops with an error.
    write_conf(s.path(), "repo1-type=tape", None);
    pg.give(s.path()).unwrap();
    write_drill(s.path(), STANZA, "pgbackrest.conf", "");
    let (code, r, stderr) = run_drill(s.path(), Utc::now());
    assert_eq!(code, 11, "{stderr}\n{r:#?}");
    let error = r.restores[0].phases[0].error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("pgbackrest info (stanza \"main\", config ")
            && error.contains("'tape' is not allowed for 'repo1-type' option"),
        "{error}"
    );
    assert_torn_down(&s);
}
