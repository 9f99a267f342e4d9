//! A drill runs unattended against production accounts: interrupts in every phase, API faults
//! (throttling, 500s, slow answers, dropped connections), a database that never answers and
//! debug logs must all end in a clear outcome, with teardown, and without a secret leaking.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::proxy::Fault;
use common::rds::*;
use restore_drill::report::{Outcome, RunReport};

/// A snapshot restore copied to us-west-2: it has every phase (resolve, copy, restore,
/// prepare, verify).
fn snapshot_drill(s: &Stand, check: &str) {
    s.write(&format!(
        r#"[[restore]]
id = "orders"
kind = "rds_snapshot"
source = "orders-prod"
snapshot = "latest_manual"
to = "latest"
copy_to_region = "us-west-2"
[restore.target]
identifier = "drill-orders-{{run_id}}"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
        s.sg
    ));
    if !check.is_empty() {
        let path = s.dir.path().join("drill.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace("select count(*) from events", check);
        std::fs::write(path, text).unwrap();
    }
}

async fn snapshot_stand() -> Stand {
    let s = stand(&["us-east-1", "us-west-2"]).await;
    source_instance(&s.moto).await;
    manual_snapshot(&s.moto).await;
    s
}

/// Runs the drill, sends `signal` once `phase` has started, and returns the exit code and
/// the report printed on stdout.
fn interrupt_in(s: &Stand, phase: &str, signal: i32) -> (i32, RunReport, String) {
    let mut child = Command::new(BIN)
        .arg("run")
        .arg(s.dir.path().join("drill.toml"))
        .args(["--format", "json", "--reports"])
        .arg(s.dir.path().join("reports"))
        .envs(s.moto.env())
        .env("RD_TEST_PW", PW)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let want = format!("restore-drill: orders: {phase} started");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line == want {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the {phase} phase never started"));
    std::thread::sleep(Duration::from_millis(400));
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = reader.join().unwrap();
    let report: RunReport = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}); stderr:\n{stderr}"));
    (out.status.code().unwrap_or(-1), report, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_and_sigterm_in_every_phase_tear_down_and_exit_130() {
    let s = snapshot_stand().await;
    let before = describe_all(&s.moto, "us-east-1").await;
    for (phase, signal, name) in [
        ("resolve", libc::SIGINT, "SIGINT"),
        ("copy", libc::SIGTERM, "SIGTERM"),
        ("restore", libc::SIGINT, "SIGINT"),
        ("prepare", libc::SIGTERM, "SIGTERM"),
        ("verify", libc::SIGINT, "SIGINT"),
        ("resolve", libc::SIGTERM, "SIGTERM"),
        ("copy", libc::SIGINT, "SIGINT"),
        ("restore", libc::SIGTERM, "SIGTERM"),
        ("prepare", libc::SIGINT, "SIGINT"),
        ("verify", libc::SIGTERM, "SIGTERM"),
    ] {
        // Hold the phase under test long enough to be interrupted in it.
        let long = Duration::from_secs(60);
        let short = Duration::from_millis(100);
        s.proxy.fault(
            "DescribeDBSnapshots",
            Fault::Slow(if phase == "resolve" { long } else { short }),
            1,
        );
        s.proxy
            .hold_for("CopyDBSnapshot", if phase == "copy" { long } else { short });
        s.proxy.hold_for(
            "RestoreDBInstanceFromDBSnapshot",
            if phase == "restore" { long } else { short },
        );
        s.proxy.hold_for(
            "ModifyDBInstance",
            if phase == "prepare" { long } else { short },
        );
        snapshot_drill(
            &s,
            if phase == "verify" {
                "select count(*) from events, pg_sleep(60)"
            } else {
                ""
            },
        );
        let t0 = Instant::now();
        let (code, report, stderr) = interrupt_in(&s, phase, signal);
        let ctx = format!("{phase}/{name}: stderr:\n{stderr}");
        assert_eq!(code, 130, "{ctx}");
        assert!(t0.elapsed() < Duration::from_secs(50), "{ctx}");
        assert_eq!(report.interrupted_by.as_deref(), Some(name), "{ctx}");
        let phases = &report.restores[0].phases;
        let hit = phases.iter().find(|p| p.name == phase).unwrap();
        assert_eq!(hit.outcome, Outcome::Interrupted, "{ctx}");
        assert_eq!(
            hit.error.as_deref(),
            Some(format!("interrupted by {name}").as_str()),
            "{ctx}"
        );
        let teardown = phases.iter().find(|p| p.name == "teardown").unwrap();
        assert_eq!(teardown.outcome, Outcome::Ok, "{ctx}");
        assert_eq!(report.teardown.leaked, Vec::<String>::new(), "{ctx}");
        for region in ["us-east-1", "us-west-2"] {
            assert_eq!(tagged(&s.moto, region).await, Vec::<String>::new(), "{ctx}");
        }
    }
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_500s_and_dropped_connections_are_retried() {
    let s = snapshot_stand().await;
    snapshot_drill(&s, "");
    s.proxy
        .fault("RestoreDBInstanceFromDBSnapshot", Fault::Throttle, 2);
    s.proxy.fault("DescribeDBInstances", Fault::ServerError, 2);
    s.proxy.fault("DescribeDBSnapshots", Fault::Drop, 2);
    s.proxy
        .fault("CopyDBSnapshot", Fault::Slow(Duration::from_secs(2)), 1);
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    // Two refused, the third went through; exactly one instance was made.
    assert_eq!(s.proxy.count("RestoreDBInstanceFromDBSnapshot"), 3);
    assert_eq!(s.proxy.count("DeleteDBInstance"), 1);
    for region in ["us-east-1", "us-west-2"] {
        assert_eq!(tagged(&s.moto, region).await, Vec::<String>::new());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_keeps_failing_is_named_and_torn_down() {
    let s = snapshot_stand().await;
    snapshot_drill(&s, "");
    s.proxy
        .fault("RestoreDBInstanceFromDBSnapshot", Fault::ServerError, 1000);
    let t0 = Instant::now();
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 30, "stderr:\n{}", ran.stderr);
    assert!(t0.elapsed() < Duration::from_secs(60));
    let report = ran.report.unwrap();
    let restore = phase(&report, "restore");
    assert_eq!(restore.outcome, Outcome::Failed);
    assert_eq!(
        restore.error.as_deref(),
        Some("RestoreDBInstanceFromDBSnapshot failed: InternalFailure: injected by the test proxy")
    );
    // Five attempts (the standard retry mode), then teardown removed the snapshot copy.
    assert_eq!(s.proxy.count("RestoreDBInstanceFromDBSnapshot"), 5);
    assert_eq!(phase(&report, "teardown").outcome, Outcome::Ok);
    for region in ["us-east-1", "us-west-2"] {
        assert_eq!(tagged(&s.moto, region).await, Vec::<String>::new());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_api_never_holds_a_phase_past_its_timeout() {
    let s = snapshot_stand().await;
    snapshot_drill(&s, "");
    let path = s.dir.path().join("drill.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("restore = \"2m\"", "restore = \"3s\"");
    std::fs::write(&path, text).unwrap();
    // The first look at the new instance hangs; teardown's later calls are answered.
    s.proxy.fault(
        "DescribeDBInstances",
        Fault::Slow(Duration::from_secs(25)),
        1,
    );
    let t0 = Instant::now();
    let ran = run(s.dir.path(), &s.moto, &[]);
    let wall = t0.elapsed();
    assert_eq!(ran.code, 11, "stderr:\n{}", ran.stderr);
    let report = ran.report.unwrap();
    let restore = phase(&report, "restore");
    assert_eq!(restore.outcome, Outcome::Timeout);
    assert_eq!(
        restore.error.as_deref(),
        Some("the restore phase did not finish within its timeout of 3s")
    );
    assert!(
        restore.seconds < 4.0,
        "the phase ended by its timeout: {restore:?}"
    );
    assert!(wall < Duration::from_secs(20), "{wall:?}");
    for region in ["us-east-1", "us-west-2"] {
        assert_eq!(tagged(&s.moto, region).await, Vec::<String>::new());
    }
}

/// A listener that accepts and never says a word: a database that never answers.
fn silent_listener() -> (
    u16,
    std::thread::JoinHandle<()>,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let t = std::thread::spawn(move || {
        let mut held = Vec::new();
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((c, _)) = l.accept() {
                held.push(c);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    (port, t, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_never_answers_fails_verify_by_its_timeout() {
    let s = snapshot_stand().await;
    snapshot_drill(&s, "");
    let (port, t, stop) = silent_listener();
    let path = s.dir.path().join("drill.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace(
            &format!("via = \"127.0.0.1:{}\"", s.source_pg.port()),
            &format!("via = \"127.0.0.1:{port}\""),
        )
        .replace("[timeouts]\n", "[timeouts]\nverify = \"3s\"\n");
    std::fs::write(&path, text).unwrap();
    let ran = run(s.dir.path(), &s.moto, &[]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    t.join().unwrap();
    assert_eq!(ran.code, 11, "stderr:\n{}", ran.stderr);
    let report = ran.report.unwrap();
    let verify = phase(&report, "verify");
    assert_eq!(verify.outcome, Outcome::Timeout);
    assert_eq!(
        verify.error.as_deref(),
        Some("the verify phase did not finish within its timeout of 3s")
    );
    assert_eq!(phase(&report, "teardown").outcome, Outcome::Ok);
    for region in ["us-east-1", "us-west-2"] {
        assert_eq!(tagged(&s.moto, region).await, Vec::<String>::new());
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_is_in_no_output_even_with_trace_logs() {
    let s = snapshot_stand().await;
    // A failing check too, so error paths print what they print.
    snapshot_drill(&s, "select count(*) from no_such_table");
    let out = Command::new(BIN)
        .arg("-vv")
        .arg("run")
        .arg(s.dir.path().join("drill.toml"))
        .args(["--format", "json", "--reports"])
        .arg(s.dir.path().join("reports"))
        .arg("--junit")
        .arg(s.dir.path().join("junit.xml"))
        .envs(s.moto.env())
        .env("RD_TEST_PW", PW)
        // Everything, the SDK's own request logging included.
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{stderr}");
    // The password really went out: the target got it.
    assert_eq!(s.proxy.count("ModifyDBInstance"), 1);
    assert!(
        stderr.contains("ModifyDBInstance"),
        "trace logs show the call"
    );
    assert!(!stdout.contains(PW), "the password is on stdout");
    assert!(!stderr.contains(PW), "the password is in the logs");
    for f in files_under(s.dir.path()) {
        let text = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains(PW),
            "the password is in {}",
            f.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_and_sigterm_during_an_s3_restore_remove_what_it_wrote() {
    use common::s3::{all_versions, create_versioned_bucket, put};
    let moto = common::moto::Moto::start();
    let s3 = moto.s3().await;
    create_versioned_bucket(&s3, "files-prod").await;
    for i in 0..400 {
        put(
            &s3,
            "files-prod",
            &format!("data/{i:04}"),
            format!("v{i}").as_bytes(),
        )
        .await;
    }
    let source_before = all_versions(&s3, "files-prod", "").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("drill.toml"),
        format!(
            r#"name = "s3-interrupt"
tier = "bronze"
schedule = "quarterly"

[provider]
kind = "aws"
region = "us-east-1"
endpoint_url = "{}"

[[restore]]
id = "files"
kind = "s3_versions"
bucket = "files-prod"
to = "latest"
concurrency = 1
[restore.target]
bucket = "files-drill"
prefix = "drill/{{run_id}}/"
"#,
            moto.endpoint()
        ),
    )
    .unwrap();
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let mut child = Command::new(BIN)
            .arg("run")
            .arg(dir.path().join("drill.toml"))
            .args(["--format", "json", "--reports"])
            .arg(dir.path().join("reports"))
            .envs(moto.env())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line == "restore-drill: files: restore started" {
                    let _ = tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the restore started");
        // Some objects are copied by now, most are not.
        std::thread::sleep(Duration::from_millis(700));
        unsafe {
            libc::kill(child.id() as i32, signal);
        }
        let out = child.wait_with_output().unwrap();
        let stderr = reader.join().unwrap();
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        let report: RunReport = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report.interrupted_by.as_deref(), Some(name));
        let restore = report.restores[0]
            .phases
            .iter()
            .find(|p| p.name == "restore")
            .unwrap();
        assert_eq!(restore.outcome, Outcome::Interrupted, "{stderr}");
        let teardown = report.restores[0]
            .phases
            .iter()
            .find(|p| p.name == "teardown")
            .unwrap();
        assert_eq!(teardown.outcome, Outcome::Ok, "{stderr}");
        // The run made the target bucket; teardown removed every version it wrote, and the
        // bucket.
        let buckets = s3.list_buckets().send().await.unwrap();
        let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
        assert_eq!(names, ["files-prod"], "{stderr}");
    }
    // The source's full version list is exactly as it was.
    assert_eq!(all_versions(&s3, "files-prod", "").await, source_before);
}
