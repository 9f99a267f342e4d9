//! Issue 16: a shared store in S3 (`--store s3://bucket/prefix`), on moto.
//!
//! Many processes append to one history with S3's conditional writes and no lock service;
//! one of them killed with SIGKILL mid-append leaves its row absent or whole; `report`, `due`
//! and `evidence export` read the store; with `--store-retain-days` every object is locked.
//!
//! moto 5.2 checks a PUT's `If-None-Match`/`If-Match` and then stores without a lock, so two
//! racing writers can both win there; S3 applies the condition atomically. The writers go
//! through `S3Proxy` with `atomic_conditional_writes`, which forwards conditional PUTs one at
//! a time: S3's behaviour, nothing more. The rows are then checked by an independent reading
//! of the bucket (another client, the chain recomputed here with sha2).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::moto::Moto;
use common::s3::restore_drill_env;
use common::s3_proxy::S3Proxy;
use sha2::{Digest, Sha256};

const WRITERS: usize = 8;
const RUNS: usize = 25;

/// The environment of a process using the store through `endpoint`.
fn store_env(moto: &Moto, endpoint: &str) -> Vec<(&'static str, String)> {
    let mut env = moto.env();
    env.push(("AWS_ENDPOINT_URL", endpoint.into()));
    env
}

/// One writer process: this test binary, running `child_writer` with its orders in the
/// environment.
/// A writer process recording `runs` runs into `store`. Its reports are staged under
/// `staging` (the calling test's temp dir), so that one killed mid-run leaves nothing behind
/// once the test ends.
fn spawn_writer(
    env: &[(&str, String)],
    staging: &Path,
    store: &str,
    writer: usize,
    runs: usize,
) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .env("STORE_TEST_URL", store)
        .env("STORE_TEST_WRITER", writer.to_string())
        .env("STORE_TEST_RUNS", runs.to_string())
        .env("STORE_TEST_STAGING", staging.join(format!("w{writer}")))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The writer: records `STORE_TEST_RUNS` runs, one after the other, through the same code
/// `run` records with (`record_run_in`), each a copy of the golden report under its own run
/// id `w<writer>-<i>`.
#[test]
#[ignore = "a child process of the store tests, not a test of its own"]
fn child_writer() {
    let Ok(url) = std::env::var("STORE_TEST_URL") else {
        return;
    };
    let writer: usize = std::env::var("STORE_TEST_WRITER").unwrap().parse().unwrap();
    let runs: usize = std::env::var("STORE_TEST_RUNS").unwrap().parse().unwrap();
    // The golden report with its placeholders filled in.
    let text = std::fs::read_to_string(common::root().join("tests/golden/met.json"))
        .unwrap()
        .replace("\"<time>\"", "\"2026-11-30T12:00:00Z\"")
        .replace("<secs>", "1.5")
        .replace("<run_id>", "r");
    let golden: restore_drill::report::RunReport = serde_json::from_str(&text).unwrap();
    let staging = std::path::PathBuf::from(std::env::var("STORE_TEST_STAGING").unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = restore_drill::store::StoreUrl::parse(&url).unwrap();
        let store = restore_drill::store::Store::open_s3(&url, None)
            .await
            .unwrap();
        for i in 0..runs {
            let mut report = golden.clone();
            report.run_id = format!("w{writer}-{i:02}");
            report.drill.name = format!("drill-{}", writer % 3);
            report.started_at += chrono::Duration::seconds((writer * 100 + i) as i64);
            let mut err = Vec::new();
            let code =
                restore_drill::cli::record_run_in(&store, &staging, &report, None, &mut err).await;
            assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
            // Tells the parent how far this writer got.
            eprintln!("appended {}", report.run_id);
        }
    });
}

/// The rows in the store as another client reads them: (seq, line), in key order.
async fn rows_as_listed(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(format!("{prefix}/history/rows/"))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for o in page.unwrap().contents() {
            let key = o.key().unwrap().to_owned();
            let name = key.rsplit('/').next().unwrap();
            let seq: u64 = name.trim_end_matches(".csv").parse().unwrap();
            let got = s3
                .get_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .unwrap();
            let body = got.body.collect().await.unwrap().into_bytes();
            out.push((seq, String::from_utf8(body.to_vec()).unwrap()));
        }
    }
    out
}

/// Checks the chain of `rows` independently of the tool: sequence numbers 1..n with no gap,
/// every line whole (16 fields, a newline), each row's hash = sha256(prev + "\n" + the line up
/// to the comma before prev_hash), each prev_hash the row above's hash. Returns the run ids.
fn check_chain(rows: &[(u64, String)]) -> Vec<String> {
    let mut prev = "0".repeat(64);
    let mut ids = Vec::new();
    for (i, (seq, line)) in rows.iter().enumerate() {
        assert_eq!(*seq, i as u64 + 1, "row numbers run 1..n without a gap");
        assert!(
            line.ends_with('\n') && line.matches('\n').count() == 1,
            "a whole line: {line:?}"
        );
        let line = line.trim_end_matches('\n');
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 16, "{line}");
        let (record, hashes) = line.split_at(line.len() - 2 * 64 - 2);
        assert_eq!(&hashes[1..65], prev, "row {seq} links to the row above");
        let mut h = Sha256::new();
        h.update(prev.as_bytes());
        h.update(b"\n");
        h.update(record.as_bytes());
        let hash = hex(&h.finalize());
        assert_eq!(&hashes[66..], hash, "row {seq}'s hash covers its fields");
        prev = hash;
        ids.push(fields[1].to_owned());
    }
    ids
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn wait_all(children: Vec<Child>) {
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a writer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

async fn bucket(s3: &aws_sdk_s3::Client, name: &str, lock: bool) {
    s3.create_bucket()
        .bucket(name)
        .object_lock_enabled_for_bucket(lock)
        .send()
        .await
        .unwrap();
}

/// moto, the proxy that makes its conditional writes atomic as S3's are, and a store bucket.
async fn stand_up() -> (Moto, S3Proxy, aws_sdk_s3::Client) {
    let moto = Moto::start();
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| r.atomic_conditional_writes = true);
    let s3 = moto.s3().await;
    bucket(&s3, "drill-store", false).await;
    (moto, proxy, s3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_eight_processes_append_two_hundred_rows_none_lost_or_duplicated() {
    let (moto, proxy, s3) = stand_up().await;
    let url = "s3://drill-store/fleet";
    let env = store_env(&moto, &proxy.endpoint());
    let staging = tempfile::tempdir().unwrap();
    let writers: Vec<Child> = (0..WRITERS)
        .map(|w| spawn_writer(&env, staging.path(), url, w, RUNS))
        .collect();
    wait_all(writers);
    let rows = rows_as_listed(&s3, "drill-store", "fleet").await;
    assert_eq!(rows.len(), WRITERS * RUNS, "one row per run");
    let ids = check_chain(&rows);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), WRITERS * RUNS, "no run twice");
    let expected: BTreeSet<String> = (0..WRITERS)
        .flat_map(|w| (0..RUNS).map(move |i| format!("w{w}-{i:02}")))
        .collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    // Each writer's runs are in its own order in the chain.
    for w in 0..WRITERS {
        let mine: Vec<&String> = ids
            .iter()
            .filter(|id| id.starts_with(&format!("w{w}-")))
            .collect();
        let mut sorted = mine.clone();
        sorted.sort();
        assert_eq!(mine, sorted);
    }
    // Races were real: writers lost conditional writes and went on (the proxy saw 412s).
    let conditional = proxy
        .calls()
        .iter()
        .filter(|c| c.method == "PUT" && c.key.contains("/history/rows/"))
        .count();
    assert!(
        conditional > WRITERS * RUNS,
        "no race happened ({conditional} row writes)"
    );
    // Every row's report is in the store, and its hash is the row's report_sha256.
    for (_, line) in rows.iter().step_by(17) {
        let f: Vec<&str> = line.trim_end().split(',').collect();
        let key = format!("fleet/{}/{}/report.json", f[0], f[1]);
        let got = s3
            .get_object()
            .bucket("drill-store")
            .key(&key)
            .send()
            .await
            .unwrap();
        let body = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(hex(&Sha256::digest(&body)), f[13], "{key}");
    }
    // The tool reads the same history, its chain intact.
    let dir = tempfile::tempdir().unwrap();
    let r = restore_drill_env(
        dir.path(),
        &["report", "--store", url],
        &store_env(&moto, &moto.endpoint()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    for d in 0..3 {
        assert!(r.stdout.contains(&format!("drill-{d}")), "{}", r.stdout);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_a_writer_killed_mid_append_leaves_its_row_absent_or_whole() {
    let (moto, proxy, s3) = stand_up().await;
    let url = "s3://drill-store/killed";
    let env = store_env(&moto, &proxy.endpoint());
    let staging = tempfile::tempdir().unwrap();
    let mut writers: Vec<Child> = (0..WRITERS)
        .map(|w| spawn_writer(&env, staging.path(), url, w, RUNS))
        .collect();
    // Kill writer 0 with SIGKILL once the store holds some rows: every writer is then in
    // the middle of its appends (reading rows, writing a report, writing its row).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n = proxy
            .calls()
            .iter()
            .filter(|c| c.method == "PUT" && c.key.contains("/history/rows/"))
            .count();
        if n >= 30 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let victim = writers.remove(0);
    let pid = victim.id();
    // SAFETY: kill(2) of a child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let out = victim.wait_with_output().unwrap();
    assert!(!out.status.success(), "the victim was killed, not finished");
    wait_all(writers);
    // A later run appends after whatever the killed one left.
    wait_all(vec![spawn_writer(&env, staging.path(), url, 9, 1)]);
    let rows = rows_as_listed(&s3, "drill-store", "killed").await;
    let ids = check_chain(&rows);
    let victim_rows: Vec<&String> = ids.iter().filter(|id| id.starts_with("w0-")).collect();
    let others = ids.iter().filter(|id| !id.starts_with("w0-")).count();
    assert_eq!(
        others,
        (WRITERS - 1) * RUNS + 1,
        "every other run is there once"
    );
    assert!(
        victim_rows.len() < RUNS,
        "the victim was killed before it finished"
    );
    // The victim's rows are its first k runs, each once: none torn, none lost in between.
    let expected: Vec<String> = (0..victim_rows.len())
        .map(|i| format!("w0-{i:02}"))
        .collect();
    assert_eq!(
        victim_rows.into_iter().cloned().collect::<Vec<_>>(),
        expected
    );
    assert_eq!(ids.last().unwrap(), "w9-00");
}

/// The s3_versions drill of the end-to-end tests: one object restored as of now.
fn write_drill(dir: &Path, moto: &Moto, name: &str) {
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!(
            r#"name = "{name}"
tier = "bronze"
schedule = "weekly"

[provider]
kind = "aws"
region = "us-east-1"
endpoint_url = "{}"

[[restore]]
id = "files"
kind = "s3_versions"
bucket = "source-data"
to = "latest"
[restore.target]
bucket = "drill-target"
prefix = "drill/{{run_id}}/"
"#,
            moto.endpoint()
        ),
    )
    .unwrap();
}

async fn source(s3: &aws_sdk_s3::Client) {
    for b in ["source-data", "drill-target"] {
        common::s3::create_versioned_bucket(s3, b).await;
    }
    common::s3::put(s3, "source-data", "a.txt", b"alpha").await;
}

async fn all_keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, Option<String>)> {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    out.versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap().to_owned(),
                v.version_id().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_run_records_to_the_store_and_report_due_and_evidence_read_it() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    source(&s3).await;
    bucket(&s3, "drill-store", false).await;
    let dir = tempfile::tempdir().unwrap();
    write_drill(dir.path(), &moto, "files-a");
    write_drill(dir.path(), &moto, "files-b");
    let mut env = store_env(&moto, &moto.endpoint());
    env.push(("RESTORE_DRILL_STORE", "s3://drill-store/team".into()));
    let key = dir.path().join("k");
    let r = restore_drill_env(
        dir.path(),
        &["evidence", "keygen", "--out", key.to_str().unwrap()],
        &env,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut signed = env.clone();
    signed.push((
        "RESTORE_DRILL_SIGNING_KEY",
        std::fs::read_to_string(&key).unwrap(),
    ));
    // The store comes from RESTORE_DRILL_STORE; nothing is written to reports/.
    let r = restore_drill_env(
        dir.path(),
        &["run", "files-a.toml", "files-b.toml", "--format", "none"],
        &signed,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("report written to s3://drill-store/team/files-a/"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("reports").exists(), "nothing local");
    let keys: BTreeSet<String> = all_keys(&s3, "drill-store")
        .await
        .into_iter()
        .map(|k| k.0)
        .collect();
    for drill in ["files-a", "files-b"] {
        for file in [
            "report.json",
            "report.md",
            "report.html",
            "phases.csv",
            "report.sig",
        ] {
            assert!(
                keys.iter()
                    .any(|k| k.starts_with(&format!("team/{drill}/")) && k.ends_with(file)),
                "{drill}/{file} in {keys:?}"
            );
        }
    }
    assert!(keys.contains("team/history/rows/000000000001.csv"));
    assert!(keys.contains("team/history/rows/000000000002.csv"));
    assert!(keys.contains("team/history/head"));
    // report and due read the store (RESTORE_DRILL_STORE), and --store says so too.
    let r = restore_drill_env(dir.path(), &["report"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("files-a") && r.stdout.contains("files-b"),
        "{}",
        r.stdout
    );
    // The HTML page of a store's history links to no run: the runs were read into a scratch
    // folder that is gone once the page is written (links into it were dead).
    let r = restore_drill_env(dir.path(), &["report", "--html", "site/history.html"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("without links"), "{}", r.stderr);
    let page = std::fs::read_to_string(dir.path().join("site/history.html")).unwrap();
    assert!(
        page.contains("files-a") && page.contains("<circle"),
        "{page}"
    );
    assert!(!page.contains("report.html"), "no link to a run: {page}");
    let r = restore_drill_env(dir.path(), &["due", "files-a.toml", "files-b.toml"], &env);
    assert_eq!(r.code, 0, "both passed this week: {}{}", r.stdout, r.stderr);
    // A local reports folder has no runs: both are due there (the store was really read).
    let r = restore_drill_env(
        dir.path(),
        &["due", "files-a.toml", "--reports", "reports"],
        &store_env(&moto, &moto.endpoint()),
    );
    assert_eq!(r.code, 10, "{}{}", r.stdout, r.stderr);
    // The evidence bundle from the store verifies, every run signed when it ran.
    let pubkey = format!("{}.pub", key.display());
    let r = restore_drill_env(
        dir.path(),
        &[
            "evidence",
            "export",
            "--store",
            "s3://drill-store/team",
            "--drills",
            ".",
            "--out",
            "bundle",
            "--signing-key",
            key.to_str().unwrap(),
        ],
        &store_env(&moto, &moto.endpoint()),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = restore_drill_env(
        dir.path(),
        &["evidence", "verify", "bundle", "--public-key", &pubkey],
        &env,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("2 runs signed"), "{}", r.stdout);
    // No scratch folder of the store is left behind.
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("restore-drill-store-")
                && n.contains(&format!("-{}-", std::process::id()))
        })
        .collect();
    assert!(left.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_with_object_lock_every_object_of_the_run_is_retained() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    source(&s3).await;
    bucket(&s3, "locked-store", true).await;
    bucket(&s3, "plain-store", false).await;
    let dir = tempfile::tempdir().unwrap();
    write_drill(dir.path(), &moto, "files-a");
    let env = store_env(&moto, &moto.endpoint());
    // Negative: retention asked of a bucket without Object Lock stops the run before any
    // restore, and writes nothing.
    let r = restore_drill_env(
        dir.path(),
        &[
            "run",
            "files-a.toml",
            "--store",
            "s3://plain-store/p",
            "--store-retain-days",
            "2",
        ],
        &env,
    );
    assert_eq!(r.code, 30, "{}", r.stderr);
    assert!(
        r.stderr.contains("plain-store") && r.stderr.contains("Object Lock"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was run"), "{}", r.stderr);
    assert!(all_keys(&s3, "plain-store").await.is_empty());
    assert_eq!(
        all_keys(&s3, "drill-target").await.len(),
        0,
        "no restore ran"
    );
    // Negative: a local folder has no Object Lock.
    let r = restore_drill_env(
        dir.path(),
        &["run", "files-a.toml", "--store-retain-days", "2"],
        &env,
    );
    assert_eq!(r.code, 30, "{}", r.stderr);
    assert!(r.stderr.contains("needs a store in S3"), "{}", r.stderr);
    let before = Instant::now();
    let r = restore_drill_env(
        dir.path(),
        &[
            "run",
            "files-a.toml",
            "--format",
            "none",
            "--store",
            "s3://locked-store/p",
            "--store-retain-days",
            "2",
            "--store-lock-mode",
            "governance",
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let written = all_keys(&s3, "locked-store").await;
    let keys: BTreeMap<String, Option<String>> = written.iter().cloned().collect();
    assert!(
        keys.contains_key("p/history/rows/000000000001.csv"),
        "{keys:?}"
    );
    assert!(keys.contains_key("p/history/head"), "{keys:?}");
    assert!(keys.keys().any(|k| k.ends_with("/report.json")), "{keys:?}");
    let now = chrono::Utc::now();
    for (key, version) in &written {
        let head = s3
            .head_object()
            .bucket("locked-store")
            .key(key)
            .set_version_id(version.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.object_lock_mode().map(|m| m.as_str()),
            Some("GOVERNANCE"),
            "{key}"
        );
        let until = head.object_lock_retain_until_date().unwrap().secs();
        let days = (until - now.timestamp()) as f64 / 86_400.0;
        assert!((1.9..=2.01).contains(&days), "{key}: retained {days} days");
        // A delete of that very version is refused.
        let del = s3
            .delete_object()
            .bucket("locked-store")
            .key(key)
            .set_version_id(version.clone())
            .send()
            .await;
        assert!(del.is_err(), "{key} version {version:?} could be deleted");
    }
    assert_eq!(all_keys(&s3, "locked-store").await.len(), written.len());
    let _ = before;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_a_store_that_cannot_be_used_is_named_and_nothing_runs() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    source(&s3).await;
    let dir = tempfile::tempdir().unwrap();
    write_drill(dir.path(), &moto, "files-a");
    let env = store_env(&moto, &moto.endpoint());
    for (store, says) in [
        ("s3://no-such-store/p", "no-such-store does not exist"),
        ("reports-elsewhere", "not an s3://bucket/prefix address"),
        ("s3://Bad_Bucket/p", "is not an S3 bucket name"),
    ] {
        let r = restore_drill_env(dir.path(), &["run", "files-a.toml", "--store", store], &env);
        assert_eq!(r.code, 30, "{store}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{store}: {}", r.stderr);
        assert_eq!(
            all_keys(&s3, "drill-target").await.len(),
            0,
            "no restore ran"
        );
        let r = restore_drill_env(dir.path(), &["report", "--store", store], &env);
        assert_eq!(r.code, 30, "{store}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{store}: {}", r.stderr);
    }
    // A row in the store that is not one (written by something else) stops appends and is
    // named; nothing is chained after it.
    bucket(&s3, "drill-store", false).await;
    s3.put_object()
        .bucket("drill-store")
        .key("p/history/rows/000000000001.csv")
        .body(b"not,a,row\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let r = restore_drill_env(
        dir.path(),
        &[
            "run",
            "files-a.toml",
            "--format",
            "none",
            "--store",
            "s3://drill-store/p",
        ],
        &env,
    );
    assert_eq!(r.code, 30, "{}", r.stderr);
    assert!(r.stderr.contains("000000000001.csv"), "{}", r.stderr);
    // The report is kept where the message says, whole; the test then clears it (the
    // runner's temp dir is the user's to clear after reading it).
    let kept = r
        .stderr
        .split("its report is kept in ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .map(|p| std::path::PathBuf::from(p.trim()))
        .expect("the kept report's folder is named");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(kept.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["drill"]["name"], "files-a", "{report:#}");
    let staging = kept
        .ancestors()
        .find(|a| {
            a.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("restore-drill-store-run-"))
        })
        .expect("kept under the run's staging folder");
    std::fs::remove_dir_all(staging).unwrap();
    let rows = all_keys(&s3, "drill-store").await;
    assert!(
        !rows.iter().any(|(k, _)| k.ends_with("000000000002.csv")),
        "{rows:?}"
    );
}
