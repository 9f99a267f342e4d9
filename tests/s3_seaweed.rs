//! SeaweedFS as a failing server: stopped (SIGKILL, by its PID) in the middle of an
//! `s3_versions` copy. The run fails naming the call that failed (CopyObject) with exit 30
//! (the infrastructure, not the backup); once the server is back on the same directory,
//! either the run's own teardown removes what it wrote (the server came back while teardown
//! was still trying), or, when it stayed down through teardown, `sweep` does. The source's
//! versions are never touched.

mod common;

use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

use common::s3::*;
use common::seaweed::{S3Server, Seaweed};
use futures_util::StreamExt;

const SOURCE: &str = "src-prod";
const TARGET: &str = "drill-out";
const KEYS: usize = 3000;

/// The drill the tests run: the prefix as of now from `SOURCE` to `TARGET`, at `endpoint`
/// when given (else wherever the environment says), with `concurrency` when given.
fn drill_toml(endpoint: Option<&str>, concurrency: Option<u32>) -> String {
    let endpoint = endpoint
        .map(|e| format!("endpoint_url = \"{e}\"\n"))
        .unwrap_or_default();
    let concurrency = concurrency
        .map(|c| format!("concurrency = {c}\n"))
        .unwrap_or_default();
    format!(
        r#"name = "outage"
tier = "bronze"
schedule = "quarterly"

[provider]
kind = "aws"
region = "us-east-1"
{endpoint}
[[restore]]
id = "files"
kind = "s3_versions"
bucket = "{SOURCE}"
to = "latest"
{concurrency}[restore.target]
bucket = "{TARGET}"
prefix = "drill/{{run_id}}/"
"#
    )
}

fn write_drill(dir: &Path, srv: &Seaweed) {
    std::fs::write(
        dir.join("outage.toml"),
        drill_toml(Some(&srv.endpoint()), Some(1)),
    )
    .unwrap();
}

fn report_of(dir: &Path) -> serde_json::Value {
    let runs = dir.join("reports").join("outage");
    let mut all: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    all.sort();
    let last = all.last().expect("a run dir");
    serde_json::from_slice(&std::fs::read(last.join("report.json")).unwrap()).unwrap()
}

/// The source keys a kept run restored under its target prefix (`drill/<run id>/`), as
/// another client lists them, sorted, the run's marker left out.
async fn restored_keys(s3: &aws_sdk_s3::Client, report: &serde_json::Value) -> Vec<String> {
    let run_id = report["run_id"].as_str().expect("the report has a run id");
    let prefix = format!("drill/{run_id}/");
    let mut keys: Vec<String> = all_versions(s3, TARGET, &prefix)
        .await
        .into_iter()
        .map(|v| v.key[prefix.len()..].to_owned())
        .filter(|k| k != ".restore-drill-run.json")
        .collect();
    keys.sort();
    keys
}

/// A source of `KEYS` small objects with some history, and its version list.
async fn source(s3: &aws_sdk_s3::Client) -> Vec<Listed> {
    create_versioned_bucket(s3, SOURCE).await;
    futures_util::stream::iter(0..KEYS)
        .map(|i| async move {
            put(
                s3,
                SOURCE,
                &format!("data/{i:05}"),
                format!("v{i}").as_bytes(),
            )
            .await
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    put(s3, SOURCE, "data/00000", b"overwritten").await;
    delete(s3, SOURCE, "data/00001").await;
    all_versions(s3, SOURCE, "").await
}

/// Starts the run, waits until it has copied some objects, and kills the server. Returns
/// the run's process and its stderr lines as they come.
async fn run_and_kill_mid_copy(
    dir: &Path,
    srv: &mut Seaweed,
    s3: &aws_sdk_s3::Client,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    write_drill(dir, srv);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_restore-drill"))
        .args(["run", "outage.toml", "--format", "none"])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .envs(srv.env())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = s3
            .list_object_versions()
            .bucket(TARGET)
            .prefix("drill/")
            .send()
            .await;
        if listed.is_ok_and(|l| l.versions().len() >= 10) {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no copies in s3://{TARGET}/drill/ after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    srv.kill();
    (child, lines)
}

/// Waits for the stderr line that says the restore phase ended, and returns it.
fn restore_phase_end(lines: &std::sync::mpsc::Receiver<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        match lines.recv_timeout(Duration::from_secs(1)) {
            Ok(l)
                if l.starts_with("restore-drill: files: restore ") && !l.ends_with(" started") =>
            {
                return l;
            }
            Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("the run never said how its restore phase ended");
}

fn assert_the_copy_failure_is_named(report: &serde_json::Value) {
    let phases = report["restores"][0]["phases"].as_array().unwrap();
    let restore = phases.iter().find(|p| p["name"] == "restore").unwrap();
    assert_eq!(restore["outcome"], "failed", "{report:#}");
    let err = restore["error"].as_str().unwrap();
    assert!(
        err.contains("copies failed") && err.contains("CopyObject: "),
        "the failed call is named: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_copy_fails_the_run_and_teardown_clears_once_it_is_back() {
    let mut srv = Seaweed::start();
    let s3 = srv.s3().await;
    let before = source(&s3).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, lines) = run_and_kill_mid_copy(dir.path(), &mut srv, &s3).await;
    // The copies give up while the server is down; teardown starts right after and keeps
    // trying: the server comes back meanwhile.
    let ended = restore_phase_end(&lines);
    assert!(ended.contains("restore failed"), "{ended}");
    srv.restart();
    let status = child.wait().unwrap();
    let report = report_of(dir.path());
    assert_eq!(status.code(), Some(30), "{report:#}");
    assert_the_copy_failure_is_named(&report);
    assert_eq!(report["teardown"]["outcome"], "done", "{report:#}");
    // Everything the run wrote is gone, the bucket it created too; the source is as it was.
    let buckets = s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, [SOURCE], "{report:#}");
    assert_eq!(all_versions(&s3, SOURCE, "").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_still_down_at_teardown_leaves_what_sweep_clears_once_it_is_back() {
    let mut srv = Seaweed::start();
    let s3 = srv.s3().await;
    let before = source(&s3).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, lines) = run_and_kill_mid_copy(dir.path(), &mut srv, &s3).await;
    let ended = restore_phase_end(&lines);
    assert!(ended.contains("restore failed"), "{ended}");
    let status = child.wait().unwrap();
    let report = report_of(dir.path());
    // Teardown could not reach the server: 40 says something was left behind.
    assert_eq!(status.code(), Some(40), "{report:#}");
    assert_the_copy_failure_is_named(&report);
    let left = report["teardown"].to_string();
    assert!(left.contains(&format!("s3://{TARGET}/drill/")), "{left}");
    let run_id = report["run_id"].as_str().unwrap().to_owned();

    srv.restart();
    // After a SIGKILL, SeaweedFS lists before it can read its volumes again (reads answer
    // 500 InternalError for a while): wait until the run's marker reads, as an operator
    // would wait for the store to be healthy before sweeping.
    let marker = format!("drill/{run_id}/.restore-drill-run.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while let Err(e) = s3.get_object().bucket(TARGET).key(&marker).send().await {
        assert!(
            std::time::Instant::now() < deadline,
            "SeaweedFS cannot read s3://{TARGET}/{marker} a minute after its restart: {e:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let written = all_versions(&s3, TARGET, "").await;
    assert!(
        written.len() > 1 && written.len() < KEYS,
        "what the run wrote before the outage is still there: {}",
        written.len()
    );
    let endpoint = srv.endpoint();
    let swept = restore_drill_env(
        dir.path(),
        &[
            "sweep",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &endpoint,
            "--run-id",
            &run_id,
        ],
        &srv.env(),
    );
    // SeaweedFS speaks no RDS: the RDS half of sweep says it could not search (exit 40);
    // that is the only thing it leaves undone.
    assert_eq!(swept.code, 40, "{}{}", swept.stdout, swept.stderr);
    let not_done: Vec<&str> = swept
        .stdout
        .lines()
        .filter(|l| l.contains("NOT deleted"))
        .collect();
    assert!(
        not_done.len() == 1 && not_done[0].starts_with("RDS (us-east-1)"),
        "{}",
        swept.stdout
    );
    assert!(
        swept
            .stdout
            .contains(&format!("S3 bucket s3://{TARGET}  run {run_id}")),
        "{}",
        swept.stdout
    );
    let buckets = s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, [SOURCE], "{}", swept.stdout);
    assert_eq!(all_versions(&s3, SOURCE, "").await, before);
}

/// What a server does where SeaweedFS is known to depart from S3's documentation.
#[derive(Debug, PartialEq, Eq)]
struct Behaviour {
    /// The key a put of `odd//double` lists under (S3 keeps `//`).
    double_slash_key: String,
    /// Whether CopyObject from a version id answers `x-amz-copy-source-version-id` (S3 does).
    copy_names_the_source_version: bool,
    /// Whether a copy from an old version id brings back that version's bytes.
    copy_of_an_old_version_is_that_version: bool,
}

async fn behaviour(srv: &impl S3Server) -> Behaviour {
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, "probe").await;
    put(&s3, "probe", "odd//double", b"x").await;
    let listed = all_versions(&s3, "probe", "odd/").await;
    let old = s3
        .put_object()
        .bucket("probe")
        .key("k")
        .body(b"old".to_vec().into())
        .send()
        .await
        .unwrap();
    put(&s3, "probe", "k", b"new").await;
    let copied = s3
        .copy_object()
        .bucket("probe")
        .key("copy")
        .copy_source(format!("probe/k?versionId={}", old.version_id().unwrap()))
        .send()
        .await
        .unwrap();
    Behaviour {
        double_slash_key: listed[0].key.clone(),
        copy_names_the_source_version: copied.copy_source_version_id().is_some(),
        copy_of_an_old_version_is_that_version: get(&s3, "probe", "copy").await == b"old",
    }
}

/// The known differences, asserted so a new SeaweedFS that changes them is noticed: moto
/// follows S3's documentation on both; SeaweedFS collapses `//` in keys and sends no
/// `x-amz-copy-source-version-id`. Neither matters to restore-drill's copies, which never
/// read that header; a source key with `//` cannot exist on SeaweedFS in the first place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seaweedfs_departs_from_s3_where_known_and_moto_does_not() {
    let moto = behaviour(&common::moto::Moto::start()).await;
    assert_eq!(
        moto,
        Behaviour {
            double_slash_key: "odd//double".into(),
            copy_names_the_source_version: true,
            copy_of_an_old_version_is_that_version: true,
        }
    );
    let seaweed = behaviour(&Seaweed::start()).await;
    assert_eq!(
        seaweed,
        Behaviour {
            double_slash_key: "odd/double".into(),
            copy_names_the_source_version: false,
            copy_of_an_old_version_is_that_version: true,
        }
    );
}

/// Issue 18: copies and `HeadObject`s go out without the SDK's orchestrator (`wire.rs`),
/// signed by restore-drill itself. A restore through SeaweedFS proves those signatures only
/// because SeaweedFS checks them: a copy signed with a wrong secret is refused. And the SDK
/// path stays one environment variable away (`RESTORE_DRILL_S3_CLIENT=sdk`), restoring the
/// same objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_copies_are_signature_checked_and_the_sdk_path_stays() {
    let srv = Seaweed::start();
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    let keys = ["plain.txt", "a b+c/é%25?.txt", "deep/x=1&y=2/#hash"];
    for k in keys {
        put(&s3, SOURCE, k, format!("old {k}").as_bytes()).await;
        put(&s3, SOURCE, k, format!("new {k}").as_bytes()).await;
    }

    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            common::moto::ACCESS_KEY,
            "not-the-secret",
            None,
            None,
            "tests",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let wrong = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .endpoint_url(srv.endpoint())
            .force_path_style(true)
            .build(),
    );
    let refused = wrong
        .copy_object()
        .bucket(SOURCE)
        .key("copied.txt")
        .copy_source(format!("{SOURCE}/plain.txt"))
        .send()
        .await
        .expect_err("a copy signed with the wrong secret is refused");
    assert_eq!(
        refused.raw_response().map(|r| r.status().as_u16()),
        Some(403),
        "{refused:?}"
    );
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&refused),
        Some("SignatureDoesNotMatch"),
        "{refused:?}"
    );

    for (client, extra) in [
        ("direct", vec![]),
        ("sdk", vec![("RESTORE_DRILL_S3_CLIENT", "sdk".to_owned())]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_drill(dir.path(), &srv);
        let mut env = srv.env();
        env.extend(extra);
        let run = restore_drill_env(
            dir.path(),
            &["run", "outage.toml", "--format", "none"],
            &env,
        );
        let report = report_of(dir.path());
        assert_eq!(run.code, 0, "{}{}\n{report:#}", run.stdout, run.stderr);
        let details = &report["restores"][0]["target"]["details"];
        assert_eq!(details["copy_client"], client, "{report:#}");
        assert_eq!(details["objects"], keys.len().to_string(), "{report:#}");
        let checks = report["checks"].as_array().unwrap();
        assert!(
            checks
                .iter()
                .any(|c| c["kind"] == "s3_restored_set" && c["outcome"] == "passed"),
            "{report:#}"
        );
    }
    // Both runs tore their copies down; the source is as it was.
    let names: Vec<String> = s3
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, [SOURCE]);
}

/// Issue 18: over HTTPS the direct copies trust what the SDK's client trusts (the system's
/// roots, or `SSL_CERT_FILE`) and nothing more. Through a TLS terminator with a self-signed
/// certificate: a run told to trust it restores with direct copies; the direct client in a
/// process that was not told refuses the endpoint instead of copying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_copies_over_https_trust_what_the_sdk_trusts_and_nothing_more() {
    let srv = Seaweed::start();
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    for k in ["a.txt", "b/c.txt"] {
        put(&s3, SOURCE, k, k.as_bytes()).await;
    }
    let tls = common::tls_proxy::TlsProxy::start(srv.port);
    let endpoint = format!("https://127.0.0.1:{}", tls.port);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &tls.cert_pem).unwrap();
    std::fs::write(
        dir.path().join("tls.toml"),
        drill_toml(Some(&endpoint), None),
    )
    .unwrap();
    let mut env = srv.env();
    env.push((
        "SSL_CERT_FILE",
        dir.path().join("ca.pem").display().to_string(),
    ));
    let run = restore_drill_env(dir.path(), &["run", "tls.toml", "--format", "none"], &env);
    let report = report_of(dir.path());
    assert_eq!(run.code, 0, "{}{}\n{report:#}", run.stdout, run.stderr);
    let details = &report["restores"][0]["target"]["details"];
    assert_eq!(details["copy_client"], "direct", "{report:#}");
    assert_eq!(details["objects"], "2", "{report:#}");

    // This test process trusts only the system's roots (or whatever SSL_CERT_FILE it was
    // started with, never the certificate made above): the direct client refuses the
    // self-signed endpoint, and nothing is copied.
    let direct = restore_drill::provider::aws::s3::DirectCopy::new(
        &endpoint,
        "us-east-1",
        TARGET,
        Some((common::moto::ACCESS_KEY, common::moto::SECRET_KEY)),
    )
    .await
    .unwrap();
    s3.create_bucket().bucket(TARGET).send().await.unwrap();
    let refused = direct
        .copy("copied.txt", &format!("{SOURCE}/a.txt"))
        .await
        .expect_err("an untrusted certificate is refused");
    assert!(refused.contains("no answer"), "{refused}");
    assert!(
        all_versions(&s3, TARGET, "").await.is_empty(),
        "nothing was copied"
    );
}

/// A runner whose clock is an hour behind signs requests an hour in the past, which S3
/// refuses (`RequestTimeTooSkewed`, HTTP 403). The SDK measures the server's clock from each
/// answer's `Date` and signs the next attempt in the server's time; the direct copies do the
/// same. SeaweedFS checks the signing time as S3 does, so this is a real refusal and a real
/// correction: the first copy is refused for its time and marked worth another attempt, the
/// next one, signed at the measured skew, is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_with_a_wrong_clock_is_refused_once_and_then_signs_in_the_servers_time() {
    let srv = Seaweed::start();
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    put(&s3, SOURCE, "a.txt", b"a").await;
    s3.create_bucket().bucket(TARGET).send().await.unwrap();
    let direct = restore_drill::provider::aws::s3::DirectCopy::new(
        &srv.endpoint(),
        "us-east-1",
        TARGET,
        Some((common::moto::ACCESS_KEY, common::moto::SECRET_KEY)),
    )
    .await
    .unwrap();

    direct.assume_clock_behind(-3_600_000);
    let refused = direct
        .copy("first.txt", &format!("{SOURCE}/a.txt"))
        .await
        .expect_err("a copy signed an hour off is refused");
    assert!(refused.contains("403"), "{refused}");
    assert!(refused.contains("worth another attempt"), "{refused}");
    direct
        .copy("second.txt", &format!("{SOURCE}/a.txt"))
        .await
        .expect("the next copy is signed in the server's time");
    let copied: Vec<String> = all_versions(&s3, TARGET, "")
        .await
        .into_iter()
        .map(|v| v.key)
        .collect();
    assert_eq!(copied, ["second.txt"]);

    // Within the threshold nothing is corrected: a refusal that is not about the time
    // (a wrong secret) is not marked worth another attempt.
    let wrong = restore_drill::provider::aws::s3::DirectCopy::new(
        &srv.endpoint(),
        "us-east-1",
        TARGET,
        Some((common::moto::ACCESS_KEY, "not-the-secret")),
    )
    .await
    .unwrap();
    let refused = wrong
        .copy("third.txt", &format!("{SOURCE}/a.txt"))
        .await
        .expect_err("a wrong secret is refused");
    assert!(refused.contains("403"), "{refused}");
    assert!(!refused.contains("worth another attempt"), "{refused}");
}

/// A drill without `endpoint_url` on a runner whose environment names the S3 endpoint: the
/// direct copies go where the SDK's calls go, in the SDK's order. `AWS_ENDPOINT_URL_S3` wins
/// over `AWS_ENDPOINT_URL` (here a closed port: a copy sent there gets no answer and fails
/// the run), and `AWS_ENDPOINT_URL` alone is taken when nothing more specific is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_copies_follow_the_endpoint_the_environment_names_in_the_sdks_order() {
    let srv = Seaweed::start();
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    for k in ["a.txt", "b/c.txt", "d e.txt"] {
        put(&s3, SOURCE, k, k.as_bytes()).await;
    }
    s3.create_bucket().bucket(TARGET).send().await.unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("env.toml"), drill_toml(None, None)).unwrap();
    let cases = [
        (
            "the S3 variable over the general one",
            vec![
                ("AWS_ENDPOINT_URL_S3", srv.endpoint()),
                ("AWS_ENDPOINT_URL", closed.clone()),
            ],
        ),
        (
            "the general variable alone",
            vec![("AWS_ENDPOINT_URL", srv.endpoint())],
        ),
        // A host name, not an address: path style, as for any custom endpoint (there is no
        // `src-prod.localhost`).
        (
            "the S3 variable alone, by host name",
            vec![(
                "AWS_ENDPOINT_URL_S3",
                srv.endpoint().replace("127.0.0.1", "localhost"),
            )],
        ),
    ];
    for (case, extra) in cases {
        let mut env = srv.env();
        env.extend(extra);
        let run = restore_drill_env(
            dir.path(),
            &["run", "env.toml", "--format", "none", "--keep"],
            &env,
        );
        let report = report_of(dir.path());
        assert_eq!(
            run.code, 0,
            "{case}: {}{}\n{report:#}",
            run.stdout, run.stderr
        );
        let details = &report["restores"][0]["target"]["details"];
        assert_eq!(details["copy_client"], "direct", "{case}: {report:#}");
        // The report says where S3's calls went.
        let (general, s3_own) = (
            &report["aws"]["endpoint_url"],
            &report["aws"]["s3_endpoint_url"],
        );
        if case == "the S3 variable over the general one" {
            assert_eq!(general.as_str(), Some(closed.as_str()), "{report:#}");
            assert_eq!(s3_own.as_str(), Some(srv.endpoint().as_str()), "{report:#}");
        } else if case.starts_with("the S3 variable alone") {
            assert!(general.is_null(), "{report:#}");
            assert!(
                s3_own.as_str().is_some_and(|u| u.contains("localhost")),
                "{report:#}"
            );
        } else {
            assert_eq!(
                general.as_str(),
                Some(srv.endpoint().as_str()),
                "{report:#}"
            );
            assert!(s3_own.is_null(), "{report:#}");
        }
        assert_eq!(
            restored_keys(&s3, &report).await,
            ["a.txt", "b/c.txt", "d e.txt"],
            "{case}"
        );
        std::fs::remove_dir_all(dir.path().join("reports")).ok();
    }
}

/// A whole run on a runner whose clock is an hour behind (libfaketime in the restore-drill
/// process only), through both clients. The SDK's calls and the direct copies each measure
/// the skew from S3's answers and sign in S3's time, and `to = "latest"` is taken in S3's
/// time: every current object is restored (listed by another client), and the report says
/// the clock is off. With the incident given in real time the run passes; left to this
/// machine's clock, the incident is an hour early, and the run fails loudly as past its
/// target instead of passing with data missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_run_on_a_runner_an_hour_behind_restores_through_both_clients() {
    let srv = Seaweed::start();
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    for k in ["a.txt", "b/c.txt"] {
        put(&s3, SOURCE, k, k.as_bytes()).await;
    }
    s3.create_bucket().bucket(TARGET).send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("skew.toml"),
        drill_toml(Some(&srv.endpoint()), None),
    )
    .unwrap();
    let lib = common::pg::faketime_lib();
    // (client, whether the incident is given in real time)
    for (client, real_incident) in [("direct", true), ("sdk", true), ("direct", false)] {
        let case = format!("{client}, incident in real time: {real_incident}");
        let mut env = srv.env();
        env.extend([
            ("LD_PRELOAD", lib.display().to_string()),
            ("FAKETIME", "-3600".to_owned()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_owned()),
            ("RESTORE_DRILL_S3_CLIENT", client.to_owned()),
        ]);
        // Written a moment before the run, in the second S3 is in when the run reads its
        // clock: "latest" must still hold it (the `Date` has whole seconds).
        put(&s3, SOURCE, "fresh.txt", case.as_bytes()).await;
        // In real time, after that write (S3 stamps whole seconds).
        let incident = (chrono::Utc::now() + chrono::TimeDelta::seconds(2))
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut args = vec!["run", "skew.toml", "--format", "none", "--keep"];
        if real_incident {
            args.extend(["--incident-at", &incident]);
        }
        let run = restore_drill_env(dir.path(), &args, &env);
        let report = report_of(dir.path());
        let said = format!("{case}: {}{}\n{report:#}", run.stdout, run.stderr);
        if real_incident {
            assert_eq!(run.code, 0, "{said}");
        } else {
            assert_eq!(run.code, 11, "{said}");
            let reason = report["verdict_reason"].as_str().unwrap();
            assert!(reason.contains("newer than the incident"), "{said}");
        }
        // The process really ran an hour behind: its run started then, by its own clock.
        let started = chrono::DateTime::parse_from_rfc3339(report["started_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
        let behind = (chrono::Utc::now() - started).num_seconds();
        assert!(
            (3500..3700).contains(&behind),
            "{case}: started {behind} s ago"
        );
        // The skew, from `Date` (whole seconds) at the middle of the round trip: an hour.
        let notes = report["restores"][0]["recovery_point"]["notes"].to_string();
        let skew: Option<u32> = notes
            .split("this machine's clock is ")
            .nth(1)
            .and_then(|r| r.split(" s behind S3's").next())
            .and_then(|n| n.parse().ok());
        assert!(
            skew.is_some_and(|s| (3595..=3605).contains(&s)),
            "{skew:?}: {said}"
        );
        let details = &report["restores"][0]["target"]["details"];
        assert_eq!(details["copy_client"], client, "{said}");
        assert_eq!(
            restored_keys(&s3, &report).await,
            ["a.txt", "b/c.txt", "fresh.txt"],
            "{case}"
        );
        std::fs::remove_dir_all(dir.path().join("reports")).ok();
    }
}
