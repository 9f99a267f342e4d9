//! Issue #20, the S3 items: what moto hides of real S3. Each test puts the S3 proxy
//! (`common/s3_proxy.rs`) in front of moto, rewriting moto's answers into what AWS sends
//! (SSE-KMS ETags and headers, SSE-C's bare 400, 301 redirects to a bucket's region,
//! SlowDown, InvalidRequest, archive and restore headers, a copy's 200 held open, Object
//! Lock as seen without HeadObject's lock headers) and runs the real binary or library
//! against it.

mod common;

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use common::moto::Moto;
use common::s3::*;
use common::s3_proxy::{S3Fault, S3Proxy};
use futures_util::StreamExt;

const SOURCE: &str = "src-prod";

/// A drill restoring all of `source` into `target` (created by the run) through `endpoint`.
fn write_drill(dir: &Path, endpoint: &str, name: &str, source: &str, target: &str, extra: &str) {
    let text = format!(
        r#"name = "{name}"
tier = "bronze"
schedule = "quarterly"

[provider]
kind = "aws"
region = "us-east-1"
endpoint_url = "{endpoint}"

[[restore]]
id = "files"
kind = "s3_versions"
bucket = "{source}"
to = "latest"
concurrency = 8
{extra}
[restore.target]
bucket = "{target}"
prefix = "drill/{{run_id}}/"
"#
    );
    std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
}

fn run(dir: &Path, moto: &Moto, drill: &str) -> common::Run {
    restore_drill_env(
        dir,
        &["run", &format!("{drill}.toml"), "--format", "none"],
        &moto.env(),
    )
}

fn report_of(dir: &Path, drill: &str) -> serde_json::Value {
    let runs = dir.join("reports").join(drill);
    let mut all: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    all.sort();
    let last = all.last().expect("a run dir");
    serde_json::from_slice(&std::fs::read(last.join("report.json")).unwrap()).unwrap()
}

/// (name, outcome, error) of each phase of the first restore.
fn phases(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["restores"][0]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["outcome"].as_str().unwrap_or_default().to_owned(),
                p["error"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn detail(report: &serde_json::Value, name: &str) -> Option<String> {
    report["restores"][0]["target"]["details"][name]
        .as_str()
        .map(str::to_owned)
}

async fn source_with(s3: &Client, bucket: &str, objects: &[(&str, &[u8])]) {
    create_versioned_bucket(s3, bucket).await;
    for (k, b) in objects {
        put(s3, bucket, k, b).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_1_sse_kms_sources_pass_their_checks_and_stay_under_kms() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    source_with(
        &s3,
        SOURCE,
        &[
            ("kms/a.csv", b"alpha"),
            ("kms/b.csv", b"bravo bravo"),
            ("plain/c.csv", b"charlie"),
        ],
    )
    .await;
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| r.kms_marker = Some("kms/".into()));
    let dir = tempfile::tempdir().unwrap();
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "kms",
        SOURCE,
        "drill-kms",
        "",
    );
    let out = run(dir.path(), &moto, "kms");
    let report = report_of(dir.path(), "kms");
    assert_eq!(out.code, 0, "{}{}\n{report:#}", out.stdout, out.stderr);
    let checks = report["checks"].as_array().unwrap();
    assert!(!checks.is_empty());
    for c in checks {
        assert_eq!(c["outcome"], "passed", "{c:#}");
        assert_eq!(c["findings"].as_array().map(Vec::len), Some(0), "{c:#}");
    }
    // Each SSE-KMS version was copied under KMS with its own key; the plain one was not.
    let copies: Vec<_> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.op == "CopyObject")
        .collect();
    assert_eq!(copies.len(), 3, "{copies:#?}");
    for c in &copies {
        let sse = c.headers.get("x-amz-server-side-encryption").cloned();
        let key = c
            .headers
            .get("x-amz-server-side-encryption-aws-kms-key-id")
            .cloned();
        if c.key.contains("kms/") {
            assert_eq!(sse.as_deref(), Some("aws:kms"), "{c:#?}");
            assert_eq!(
                key.as_deref(),
                Some("arn:aws:kms:us-east-1:123456789012:key/source-key"),
                "{c:#?}"
            );
        } else {
            assert_eq!(sse, None, "{c:#?}");
        }
    }
    // With `copy_kms_key`, that key is asked for instead.
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "kms-own-key",
        SOURCE,
        "drill-kms2",
        "copy_kms_key = \"alias/drill-restores\"",
    );
    let before = proxy.calls().len();
    let out = run(dir.path(), &moto, "kms-own-key");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let keys: Vec<String> = proxy.calls()[before..]
        .iter()
        .filter(|c| c.op == "CopyObject" && c.key.contains("kms/"))
        .filter_map(|c| {
            c.headers
                .get("x-amz-server-side-encryption-aws-kms-key-id")
                .cloned()
        })
        .collect();
    assert_eq!(keys, ["alias/drill-restores", "alias/drill-restores"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_1_an_sse_c_source_is_refused_at_resolve_by_name() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    source_with(
        &s3,
        SOURCE,
        &[("ok/a", b"a"), ("ssec/secret.bin", b"customer key")],
    )
    .await;
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| r.ssec_marker = Some("ssec/".into()));
    let dir = tempfile::tempdir().unwrap();
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "ssec",
        SOURCE,
        "drill-ssec",
        "",
    );
    let out = run(dir.path(), &moto, "ssec");
    assert_eq!(out.code, 11, "{}{}", out.stdout, out.stderr);
    let report = report_of(dir.path(), "ssec");
    let p = phases(&report);
    assert_eq!(p[0].0, "resolve", "{p:?}");
    assert_eq!(p[0].1, "failed", "{p:?}");
    assert!(
        p[0].2.contains("customer-provided keys (SSE-C)") && p[0].2.contains("\"ssec/secret.bin\""),
        "{}",
        p[0].2
    );
    assert_eq!(proxy.count("CopyObject"), 0, "nothing is copied");
    // Never reported as changed data.
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("\"changed\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_2_a_copy_outlives_the_general_per_call_timeout() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    source_with(&s3, SOURCE, &[("big/object.bin", b"pretend this is 5 GiB")]).await;
    let proxy = S3Proxy::start(moto.port);
    // S3 holds a copy's 200 open while it copies: here for longer than the 30 s a call of
    // any other kind may take.
    proxy.rules(|r| {
        r.holds.insert("CopyObject", Duration::from_secs(33));
    });
    let dir = tempfile::tempdir().unwrap();
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "slowcopy",
        SOURCE,
        "drill-slow",
        "",
    );
    let out = run(dir.path(), &moto, "slowcopy");
    let report = report_of(dir.path(), "slowcopy");
    assert_eq!(out.code, 0, "{}{}\n{report:#}", out.stdout, out.stderr);
    let aws = &report["aws"];
    assert!(
        aws["copy_attempt_timeout_seconds"].as_f64().unwrap()
            > aws["attempt_timeout_seconds"].as_f64().unwrap() + 33.0,
        "{aws:#}"
    );
    assert_eq!(proxy.count("CopyObject"), 1, "one attempt, never cut off");
    assert_all_checks_passed(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_3_a_source_in_another_region_is_read_through_a_client_of_its_region() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    s3.create_bucket()
        .bucket("src-eu")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_bucket_versioning()
        .bucket("src-eu")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    put(&s3, "src-eu", "eu/a.txt", b"from ireland").await;
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| {
        r.regions.insert("src-eu".into(), "eu-west-1".into());
        r.regions.insert("drill-us".into(), "us-east-1".into());
    });
    let dir = tempfile::tempdir().unwrap();
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "xregion",
        "src-eu",
        "drill-us",
        "",
    );
    let out = run(dir.path(), &moto, "xregion");
    let report = report_of(dir.path(), "xregion");
    assert_eq!(out.code, 0, "{}{}\n{report:#}", out.stdout, out.stderr);
    let calls = proxy.calls();
    let listed: Vec<&str> = calls
        .iter()
        .filter(|c| c.op == "ListObjectVersions" && c.bucket == "src-eu")
        .map(|c| c.region.as_str())
        .collect();
    assert!(!listed.is_empty());
    assert!(listed.iter().all(|r| *r == "eu-west-1"), "{listed:?}");
    assert!(
        calls
            .iter()
            .filter(|c| c.op == "CopyObject")
            .all(|c| c.region == "us-east-1")
    );
    assert_eq!(detail(&report, "objects").as_deref(), Some("1"));
    assert_all_checks_passed(&report);
}

fn assert_all_checks_passed(report: &serde_json::Value) {
    let checks = report["checks"].as_array().unwrap();
    assert!(!checks.is_empty(), "{report:#}");
    for c in checks {
        assert_eq!(c["outcome"], "passed", "{c:#}");
    }
}

/// `n` objects under `hot/` in the source, copied by the drill "hot" through a proxy in front
/// of moto that answers the first `faults` calls of `op` with `fault`: the run, its report and
/// the proxy (for its counts).
async fn faulted_copies(
    moto: &Moto,
    n: usize,
    op: &'static str,
    fault: S3Fault,
    faults: usize,
) -> (common::Run, serde_json::Value, S3Proxy) {
    let s3 = moto.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    for i in 0..n {
        put(
            &s3,
            SOURCE,
            &format!("hot/{i:02}"),
            format!("object {i}").as_bytes(),
        )
        .await;
    }
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| {
        r.faults.insert(op, (fault, faults));
    });
    let dir = tempfile::tempdir().unwrap();
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "hot",
        SOURCE,
        "drill-hot",
        "",
    );
    // `-v`: each call's attempts are logged.
    let out = restore_drill_env(
        dir.path(),
        &["run", "hot.toml", "--format", "none", "-v"],
        &moto.env(),
    );
    let report = report_of(dir.path(), "hot");
    (out, report, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_10_slowdowns_are_counted_apart_from_latency_and_halve_the_concurrency() {
    let moto = Moto::start();
    let (out, report, proxy) = faulted_copies(&moto, 16, "CopyObject", S3Fault::SlowDown, 3).await;
    assert_eq!(out.code, 0, "{}{}\n{report:#}", out.stdout, out.stderr);
    assert_eq!(detail(&report, "copy_slowdowns").as_deref(), Some("3"));
    // 16 copies and 3 refusals: every attempt reached the server through our own retries.
    assert_eq!(proxy.count("CopyObject"), 19);
    let min: usize = detail(&report, "copy_concurrency_min")
        .unwrap()
        .parse()
        .unwrap();
    assert!(min <= 4, "concurrency 8 halved at least once: {min}");
    let text = serde_json::to_string(&report).unwrap();
    assert!(text.contains("S3 answered 503 SlowDown 3 times"), "{text}");
}

/// Issue 18: a HeadObject S3 throttles is tried again, as the SDK's retry did before
/// HeadObjects went out without it (`wire.rs`): two SlowDowns cost two more HEADs, not the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_a_throttled_head_object_is_tried_again_not_the_end_of_the_run() {
    let moto = Moto::start();
    let (out, report, proxy) = faulted_copies(&moto, 8, "HeadObject", S3Fault::SlowDown, 2).await;
    assert_eq!(out.code, 0, "{}{}\n{report:#}", out.stdout, out.stderr);
    assert_eq!(detail(&report, "copy_client").as_deref(), Some("direct"));
    assert_eq!(
        detail(&report, "objects").as_deref(),
        Some("8"),
        "{report:#}"
    );
    let source_heads = proxy
        .calls()
        .iter()
        .filter(|c| c.op == "HeadObject" && c.bucket == SOURCE)
        .count();
    assert_eq!(source_heads, 10, "8 versions looked at, 2 of them twice");
}

/// Issue 18: a copy answered 200 with an `<Error>` body (S3 sends a copy's status before it
/// is done) is a failed copy, retried as the transient error it is, not counted as copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_an_error_inside_a_200_copy_answer_is_retried_not_taken_for_a_copy() {
    let moto = Moto::start();
    let (out, report, proxy) =
        faulted_copies(&moto, 8, "CopyObject", S3Fault::InternalErrorIn200, 2).await;
    assert_eq!(out.code, 0, "{}{}\n{report:#}", out.stdout, out.stderr);
    assert_eq!(detail(&report, "copy_client").as_deref(), Some("direct"));
    assert_eq!(
        detail(&report, "copy_retries").as_deref(),
        Some("2"),
        "{report:#}"
    );
    assert_eq!(
        detail(&report, "objects").as_deref(),
        Some("8"),
        "{report:#}"
    );
    // 8 copies and the 2 that failed inside their 200s, each tried again.
    assert_eq!(proxy.count("CopyObject"), 10);
    // The log numbers each copy's attempts as they were made: 8 first ones, 2 second ones.
    let attempts = |n: u32| {
        out.stderr
            .lines()
            .filter(|l| l.contains(&format!("s3 CopyObject attempt {n}: HTTP 200")))
            .count()
    };
    assert_eq!((attempts(1), attempts(2)), (8, 2), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_12_invalid_request_on_a_copy_is_a_request_error_not_the_backups() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    source_with(&s3, SOURCE, &[("a", b"a")]).await;
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| {
        r.faults
            .insert("CopyObject", (S3Fault::InvalidRequest, usize::MAX));
    });
    let dir = tempfile::tempdir().unwrap();
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "invalid",
        SOURCE,
        "drill-inv",
        "",
    );
    let out = run(dir.path(), &moto, "invalid");
    // 30: harness or infrastructure; 11 would blame the backup.
    assert_eq!(out.code, 30, "{}{}", out.stdout, out.stderr);
    let report = report_of(dir.path(), "invalid");
    let p = phases(&report);
    let restore = p.iter().find(|p| p.0 == "restore").unwrap();
    assert!(
        restore.2.contains("InvalidRequest") && restore.2.contains("Requester Pays"),
        "{}",
        restore.2
    );
    assert_eq!(
        proxy.count("CopyObject"),
        1,
        "a request error is not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_13_archive_tiers_are_refused_and_restored_glacier_objects_are_copied() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    source_with(&s3, "src-tier", &[("t/warm", b"w"), ("t/archived", b"x")]).await;
    source_with(&s3, "src-glacier", &[("g/restored", b"thawed")]).await;
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| {
        r.archived.insert(
            ("src-tier".into(), "t/archived".into()),
            "ARCHIVE_ACCESS".into(),
        );
        r.glacier.insert(
            ("src-glacier".into(), "g/restored".into()),
            Some("ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2040 00:00:00 GMT\"".into()),
        );
    });
    let dir = tempfile::tempdir().unwrap();
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "tier",
        "src-tier",
        "drill-tier",
        "",
    );
    let out = run(dir.path(), &moto, "tier");
    assert_eq!(out.code, 11, "{}{}", out.stdout, out.stderr);
    let p = phases(&report_of(dir.path(), "tier"));
    assert_eq!(p[0].0, "resolve");
    assert!(
        p[0].2.contains("Intelligent-Tiering archive tier")
            && p[0].2.contains("t/archived (ARCHIVE_ACCESS)"),
        "{}",
        p[0].2
    );
    assert_eq!(proxy.count("CopyObject"), 0);
    // With copy_encryption = "target_default" the listing's storage class still sends the
    // archived version to HeadObject (and only it): refused the same way.
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "tier-fast",
        "src-tier",
        "drill-tier-fast",
        "copy_encryption = \"target_default\"",
    );
    let before = proxy.calls().len();
    let out = run(dir.path(), &moto, "tier-fast");
    assert_eq!(out.code, 11, "{}{}", out.stdout, out.stderr);
    let p = phases(&report_of(dir.path(), "tier-fast"));
    assert!(p[0].2.contains("t/archived (ARCHIVE_ACCESS)"), "{}", p[0].2);
    let heads: Vec<String> = proxy.calls()[before..]
        .iter()
        .filter(|c| c.op == "HeadObject" && c.bucket == "src-tier")
        .map(|c| c.key.clone())
        .collect();
    assert_eq!(heads, ["t/archived"]);
    assert_eq!(proxy.count("CopyObject"), 0);

    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "glacier",
        "src-glacier",
        "drill-glacier",
        "",
    );
    let out = run(dir.path(), &moto, "glacier");
    let report = report_of(dir.path(), "glacier");
    assert_eq!(out.code, 0, "{}{}\n{report:#}", out.stdout, out.stderr);
    assert_eq!(proxy.count("CopyObject"), 1);
    let notes = serde_json::to_string(&report).unwrap();
    assert!(notes.contains("with a restored copy"), "{notes}");

    // Not yet restored: refused, by name.
    proxy.rules(|r| {
        r.glacier
            .insert(("src-glacier".into(), "g/restored".into()), None);
    });
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "glacier-cold",
        "src-glacier",
        "drill-glacier",
        "",
    );
    let out = run(dir.path(), &moto, "glacier-cold");
    assert_eq!(out.code, 11, "{}{}", out.stdout, out.stderr);
    let p = phases(&report_of(dir.path(), "glacier-cold"));
    assert!(
        p[0].2.contains("without a restored copy") && p[0].2.contains("g/restored (GLACIER)"),
        "{}",
        p[0].2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_15_object_lock_is_confirmed_with_get_object_retention_of_the_version_written() {
    use restore_drill::provider::aws::evidence_upload::{LockMode, UploadObject, upload_locked};
    let moto = Moto::start();
    let s3 = moto.s3().await;
    s3.create_bucket()
        .bucket("evidence")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| r.lock_as_aws = true);
    let settings = settings_for(&moto, proxy.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    std::fs::write(&file, b"{}").unwrap();
    // A second version written first: the check must look at the version just written.
    put(&s3, "evidence", "run/report.json", b"older").await;
    let until = chrono::Utc::now() + chrono::Duration::days(1);
    let done = upload_locked(
        &settings,
        "evidence",
        &[UploadObject {
            key: "run/report.json".into(),
            path: file,
        }],
        LockMode::Governance,
        until,
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.message));
    let version = done[0].version_id.clone().expect("a version id");
    let asked: Vec<String> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.op == "GetObjectRetention")
        .map(|c| c.query)
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].contains(&format!("versionId={version}")),
        "{asked:?}"
    );
}

/// Settings for calling the library through `endpoint`, with moto's dummy credentials.
fn settings_for(moto: &Moto, endpoint: String) -> restore_drill::provider::aws::AwsSettings {
    for (k, v) in moto.env() {
        // SAFETY: nextest runs each test in a process of its own, and every test of this file
        // would set the same values; only the SDK's credential chain reads them.
        unsafe { std::env::set_var(k, v) };
    }
    restore_drill::provider::aws::AwsSettings {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint),
        retry_mode: "standard".into(),
        max_attempts: 3,
        initial_backoff_seconds: 0.1,
        max_backoff_seconds: 1.0,
        connect_timeout_seconds: 5.0,
        attempt_timeout_seconds: 30.0,
        operation_timeout_seconds: 60.0,
        copy_attempt_timeout_seconds: 600.0,
        copy_operation_timeout_seconds: 1800.0,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_1_a_changed_sse_kms_object_is_still_found_by_its_content() {
    use restore_drill::checks::restored_set_check;
    use restore_drill::provider::aws::s3::RestoredObjects;
    let moto = Moto::start();
    let s3 = moto.s3().await;
    source_with(
        &s3,
        SOURCE,
        &[("kms/a.csv", b"alpha"), ("kms/b.csv", b"bravo")],
    )
    .await;
    s3.create_bucket().bucket("kept").send().await.unwrap();
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| r.kms_marker = Some("kms/".into()));
    let dir = tempfile::tempdir().unwrap();
    write_drill(dir.path(), &proxy.endpoint(), "kept", SOURCE, "kept", "");
    let out = restore_drill_env(
        dir.path(),
        &["run", "kept.toml", "--keep", "--format", "none"],
        &moto.env(),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report = report_of(dir.path(), "kept");
    let name = report["restores"][0]["target"]["name"].as_str().unwrap();
    let prefix = name.strip_prefix("s3://kept/").unwrap().to_owned();
    // Same size, other content: only the content can tell.
    put(&s3, "kept", &format!("{prefix}kms/a.csv"), b"ALPHA").await;
    let settings = settings_for(&moto, proxy.endpoint());
    let objects =
        RestoredObjects::attach(&settings, "kept", &prefix, SOURCE, "", chrono::Utc::now())
            .await
            .unwrap();
    let set = restored_set_check("files", &objects).await;
    let found: Vec<(&str, &str)> = set
        .findings
        .iter()
        .map(|f| (f.kind.as_str(), f.object.as_str()))
        .collect();
    assert_eq!(found, [("changed", "kms/a.csv")], "{set:#?}");
}

/// Issue 18: a source too large to be listed by the end of resolve goes on listing during
/// the restore phase, alongside the copies. An SSE-C version met only then still refuses the
/// restore by name, in the restore phase; the copies stop and teardown removes what they
/// wrote, with the bucket the run created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_an_sse_c_version_met_after_the_copies_started_fails_the_restore_phase() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    // 300 keys ahead of it in the listing: more than resolve waits for at concurrency 8.
    futures_util::stream::iter(0..300)
        .map(|i| {
            let s3 = &s3;
            async move { put(s3, SOURCE, &format!("ok/k{i:03}"), b"plain").await }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    put(&s3, SOURCE, "ssec/secret.bin", b"customer key").await;
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| r.ssec_marker = Some("ssec/".into()));
    let dir = tempfile::tempdir().unwrap();
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "late",
        SOURCE,
        "drill-late",
        "",
    );
    let out = run(dir.path(), &moto, "late");
    assert_eq!(out.code, 11, "{}{}", out.stdout, out.stderr);
    let report = report_of(dir.path(), "late");
    let p = phases(&report);
    assert_eq!(
        (p[0].0.as_str(), p[0].1.as_str()),
        ("resolve", "ok"),
        "{p:?}"
    );
    assert_eq!(p[1].0, "restore", "{p:?}");
    assert_eq!(p[1].1, "failed", "{p:?}");
    assert!(
        p[1].2.contains("customer-provided keys (SSE-C)") && p[1].2.contains("\"ssec/secret.bin\""),
        "{}",
        p[1].2
    );
    let notes = report["restores"][0]["recovery_point"]["notes"].to_string();
    assert!(notes.contains("runs during the restore phase"), "{notes}");
    assert_eq!(report["teardown"]["outcome"], "done", "{report:#}");
    let gone = s3.head_bucket().bucket("drill-late").send().await;
    assert!(gone.is_err(), "the bucket the run created is gone");
}

/// Issue 18: `copy_encryption = "target_default"` trades each version's own encryption for
/// half the requests: no HeadObject of a source version, SSE-KMS versions copied under the
/// target's default (and their content still proved equal), said in the report. An SSE-C
/// version, no longer seen before the copy, fails its copy by name (exit 11, as at resolve)
/// and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_copy_encryption_target_default_looks_at_no_version_and_says_what_it_costs() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    source_with(
        &s3,
        SOURCE,
        &[
            ("kms/a.csv", b"alpha"),
            ("kms/b.csv", b"bravo bravo"),
            ("plain/c.csv", b"charlie"),
        ],
    )
    .await;
    let proxy = S3Proxy::start(moto.port);
    proxy.rules(|r| r.kms_marker = Some("kms/".into()));
    let dir = tempfile::tempdir().unwrap();
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "fast",
        SOURCE,
        "drill-fast",
        "copy_encryption = \"target_default\"",
    );
    let out = run(dir.path(), &moto, "fast");
    let report = report_of(dir.path(), "fast");
    assert_eq!(out.code, 0, "{}{}\n{report:#}", out.stdout, out.stderr);
    let checks = report["checks"].as_array().unwrap();
    assert!(!checks.is_empty());
    for c in checks {
        assert_eq!(c["outcome"], "passed", "{c:#}");
        assert_eq!(c["findings"].as_array().map(Vec::len), Some(0), "{c:#}");
    }
    let calls = proxy.calls();
    let heads: Vec<_> = calls
        .iter()
        .filter(|c| c.op == "HeadObject" && c.bucket == SOURCE)
        .collect();
    assert!(
        heads.is_empty(),
        "no source version is looked at: {heads:#?}"
    );
    let copies: Vec<_> = calls.iter().filter(|c| c.op == "CopyObject").collect();
    assert_eq!(copies.len(), 3, "{copies:#?}");
    for c in &copies {
        assert_eq!(
            c.headers.get("x-amz-server-side-encryption"),
            None,
            "the target's default, SSE-KMS versions included: {c:#?}"
        );
    }
    let notes = report["restores"][0]["recovery_point"]["notes"].to_string();
    assert!(
        notes.contains("copy_encryption = \\\"target_default\\\"")
            && notes.contains("SSE-KMS versions included"),
        "{notes}"
    );
    // The same drill without the key looks at every version (the control).
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "looked",
        SOURCE,
        "drill-looked",
        "",
    );
    let before = proxy.calls().len();
    let out = run(dir.path(), &moto, "looked");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let heads = proxy.calls()[before..]
        .iter()
        .filter(|c| c.op == "HeadObject" && c.bucket == SOURCE)
        .count();
    assert_eq!(heads, 3, "as_source looks at each version");

    // An SSE-C version fails its copy, by name, as a restore failure; the target is gone.
    let s3c = "src-third";
    source_with(
        &s3,
        s3c,
        &[("ok/a", b"a"), ("ssec/secret.bin", b"customer key")],
    )
    .await;
    proxy.rules(|r| r.ssec_marker = Some("ssec/".into()));
    write_drill(
        dir.path(),
        &proxy.endpoint(),
        "fast-ssec",
        s3c,
        "drill-fast-ssec",
        "copy_encryption = \"target_default\"",
    );
    let out = run(dir.path(), &moto, "fast-ssec");
    assert_eq!(out.code, 11, "{}{}", out.stdout, out.stderr);
    let report = report_of(dir.path(), "fast-ssec");
    let p = phases(&report);
    let restore = p
        .iter()
        .find(|p| p.0 == "restore")
        .expect("a restore phase");
    assert_eq!(restore.1, "failed", "{p:?}");
    assert!(
        restore.2.contains("CopyObject")
            && restore.2.contains("\"ssec/secret.bin\"")
            && restore.2.contains("customer-provided key (SSE-C)"),
        "{}",
        restore.2
    );
    let left = s3.list_buckets().send().await.unwrap();
    assert!(
        !left
            .buckets()
            .iter()
            .any(|b| b.name() == Some("drill-fast-ssec")),
        "teardown removed the target bucket"
    );
}

/// Issue 18: `copy_encryption` takes two values, and not with `copy_kms_key`.
#[test]
fn issue_18_copy_encryption_is_checked_at_validation() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra, wanted) in [
        (
            "bogus",
            "copy_encryption = \"none\"",
            "key \"copy_encryption\": \"none\" is not \"as_source\"",
        ),
        (
            "both",
            "copy_encryption = \"target_default\"\ncopy_kms_key = \"alias/x\"",
            "key \"copy_kms_key\": not with copy_encryption = \"target_default\"",
        ),
    ] {
        write_drill(dir.path(), "http://127.0.0.1:9", name, SOURCE, "t", extra);
        let out = common::restore_drill_in(dir.path(), &["validate", &format!("{name}.toml")]);
        assert_eq!(out.code, 20, "{}{}", out.stdout, out.stderr);
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(text.contains(wanted), "{text}");
        assert!(
            text.contains(&format!("{name}.toml:")),
            "names file and line: {text}"
        );
    }
}
