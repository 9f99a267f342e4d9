//! RDS drills end to end against moto in server mode, behind a proxy that holds created
//! resources in `creating`/`modifying`/`copying` for a while (as real RDS does), with the
//! checks running against a real local PostgreSQL through `connect.via`.

mod common;

use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use common::rds::*;
use restore_drill::report::RunReport;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rds_pitr_to_latest_restores_checks_and_tears_down() {
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
security_groups = ["{}"]"#,
        s.sg
    ));
    let before = describe_all(&s.moto, "us-east-1").await;
    let ran = run(s.dir.path(), &s.moto, &[]);
    let report = ran
        .report
        .as_ref()
        .unwrap_or_else(|| panic!("no report; stderr:\n{}", ran.stderr));
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    assert_eq!(report.verdict.as_str(), "met");
    // The report records how AWS was asked.
    let aws = report.aws.as_ref().expect("the AWS settings are recorded");
    assert_eq!(
        aws.endpoint_url.as_deref(),
        Some(s.proxy.endpoint().as_str())
    );
    assert_eq!(aws.region.as_deref(), Some("us-east-1"));
    assert_eq!((aws.retry_mode.as_str(), aws.max_attempts), ("standard", 5));
    assert_eq!(
        (aws.attempt_timeout_seconds, aws.operation_timeout_seconds),
        (30.0, 120.0)
    );
    let r = &report.restores[0];
    let rp = r.recovery_point.as_ref().unwrap();
    assert_eq!(rp.kind, "pitr");
    assert_eq!(rp.time, None, "to = latest has no fixed time");
    assert!(rp.latest_restorable.is_some());
    let target = r.target.as_ref().unwrap();
    assert_eq!(target.kind, "rds_instance");
    assert!(target.name.starts_with("drill-orders-"), "{}", target.name);
    assert_eq!(target.details["publicly_accessible"], "false");
    assert_eq!(target.details["multi_az"], "false");
    assert_eq!(target.details["subnet_group"], "drill-isolated");
    assert_eq!(target.details["security_groups"], s.sg);
    assert_eq!(target.details["instance_class"], "db.t4g.medium");
    // The proxy held the instance in `creating` for 2 s: the wait polled more than once,
    // and knows the end only to within its last poll interval.
    let restore = phase(report, "restore");
    assert!(restore.polls >= 3, "{restore:?}");
    // Resolve's looks at the source are its API calls (issue 14): at least the describe of
    // the source instance; it waits for nothing, so its end is exact.
    let resolve = phase(report, "resolve");
    assert!(resolve.polls >= 1, "{resolve:?}");
    assert!(restore.seconds >= HOLD.as_secs_f64(), "{restore:?}");
    assert!(restore.resolution_seconds > 0.0, "{restore:?}");
    let prepare = phase(report, "prepare");
    assert!(
        prepare.polls >= 2,
        "the password change was waited for: {prepare:?}"
    );
    assert_eq!(phase(report, "teardown").outcome.as_str(), "ok");
    assert_eq!(
        report.checks[0].outcome,
        restore_drill::report::CheckOutcome::Passed
    );
    // The drill's password was set on the target, never on the source.
    assert_eq!(s.proxy.count("ModifyDBInstance"), 1);
    assert_eq!(s.proxy.count("RestoreDBInstanceToPointInTime"), 1);
    assert_eq!(s.proxy.count("DeleteDBInstance"), 1);
    // Nothing of the run remains; the source is as it was.
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before);
    assert_no_secret(s.dir.path(), &ran);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rds_pitr_to_a_timestamp_and_outside_the_window() {
    let s = stand(&["us-east-1"]).await;
    source_instance(&s.moto).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = Utc::now() - chrono::Duration::milliseconds(500);
    let restore = |to: &str| {
        format!(
            r#"[[restore]]
id = "orders"
kind = "rds_pitr"
source = "orders-prod"
to = "{to}"
[restore.target]
identifier = "drill-orders-{{run_id}}"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
            s.sg
        )
    };
    let ts = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    s.write(&restore(&ts));
    let ran = run(s.dir.path(), &s.moto, &[]);
    let report = ran.report.as_ref().expect("a report");
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    let rp = report.restores[0].recovery_point.as_ref().unwrap();
    assert_eq!(
        rp.time.map(|x| x.timestamp_millis()),
        Some(t.timestamp_millis())
    );
    // RPO from metadata: the incident (run start) minus the restore point.
    assert_eq!(
        report.measured.rpo_source,
        Some(restore_drill::report::RpoSource::Metadata)
    );
    assert!(report.measured.rpo_seconds.unwrap() >= 0.5);

    // A day before the source existed is outside the restorable window: refused at resolve,
    // nothing created.
    let early =
        (Utc::now() - chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    s.write(&restore(&early));
    let calls_before = s.proxy.calls().len();
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 11, "stderr:\n{}", ran.stderr);
    let report = ran.report.as_ref().expect("a report");
    let resolve = phase(report, "resolve");
    let msg = resolve.error.as_deref().unwrap();
    assert!(
        msg.starts_with(&format!(
            "orders-prod cannot be restored to {}",
            early.replace('Z', "+00:00")
        )) && msg.contains("before the earliest restorable time"),
        "{msg}"
    );
    let calls: Vec<String> = s.proxy.calls()[calls_before..].to_vec();
    assert!(
        calls.iter().all(|c| c.starts_with("Describe")),
        "only describes after a refused point: {calls:?}"
    );
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rds_snapshot_copied_to_the_dr_region_is_timed_and_removed() {
    let s = stand(&["us-east-1", "us-west-2"]).await;
    source_instance(&s.moto).await;
    manual_snapshot(&s.moto).await;
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
instance_class = "db.t4g.medium"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
        s.sg
    ));
    let before_east = describe_all(&s.moto, "us-east-1").await;
    let ran = run(s.dir.path(), &s.moto, &[]);
    let report = ran.report.as_ref().expect("a report");
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    let names: Vec<&str> = report.restores[0]
        .phases
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "resolve", "copy", "restore", "prepare", "verify", "teardown"
        ]
    );
    let copy = phase(report, "copy");
    assert!(
        copy.seconds >= HOLD.as_secs_f64() && copy.polls >= 3,
        "{copy:?}"
    );
    let rp = report.restores[0].recovery_point.as_ref().unwrap();
    assert_eq!(rp.kind, "snapshot");
    assert!(rp.id.ends_with(":snapshot:orders-manual-1"), "{}", rp.id);
    let target = report.restores[0].target.as_ref().unwrap();
    assert_eq!(target.details["region"], "us-west-2");
    assert_eq!(s.proxy.count("CopyDBSnapshot"), 1);
    // An unencrypted snapshot's copy carries no pre-signed URL (issue 17).
    assert_eq!(s.proxy.field("CopyDBSnapshot", "PreSignedUrl"), None);
    assert_eq!(s.proxy.count("DeleteDBSnapshot"), 1);
    assert_eq!(tagged(&s.moto, "us-west-2").await, Vec::<String>::new());
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before_east);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aurora_cluster_pitr_adds_one_instance_and_removes_both() {
    let s = stand(&["us-east-1"]).await;
    let rds = s.moto.rds("us-east-1").await;
    rds.create_db_cluster()
        .db_cluster_identifier("ledger-prod")
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("source-secret")
        .backup_retention_period(7)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    s.write(&format!(
        r#"[[restore]]
id = "orders"
kind = "rds_cluster_pitr"
source = "ledger-prod"
to = "latest"
[restore.target]
identifier = "drill-ledger-{{run_id}}"
instance_identifier = "drill-ledger-{{run_id}}-a"
instance_class = "db.r6g.large"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
        s.sg
    ));
    let before = describe_all(&s.moto, "us-east-1").await;
    let ran = run(s.dir.path(), &s.moto, &[]);
    let report = ran.report.as_ref().expect("a report");
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    let target = report.restores[0].target.as_ref().unwrap();
    assert_eq!(target.kind, "rds_cluster");
    assert!(target.details["instance"].ends_with("-a"));
    assert!(
        phase(report, "restore").polls >= 4,
        "cluster and instance were both waited for"
    );
    assert_eq!(s.proxy.count("RestoreDBClusterToPointInTime"), 1);
    assert_eq!(s.proxy.count("CreateDBInstance"), 1);
    assert_eq!(s.proxy.count("ModifyDBCluster"), 1);
    assert_eq!(s.proxy.count("DeleteDBInstance"), 1);
    assert_eq!(s.proxy.count("DeleteDBCluster"), 1);
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_named_like_the_source_is_refused_before_any_call() {
    let s = stand(&["us-east-1"]).await;
    source_instance(&s.moto).await;
    s.write(&format!(
        r#"[[restore]]
id = "orders"
kind = "rds_pitr"
source = "orders-prod"
to = "latest"
[restore.target]
identifier = "orders-prod"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
        s.sg
    ));
    let before = describe_all(&s.moto, "us-east-1").await;
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 20, "stderr:\n{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("drill.toml:25:14: restore \"orders\": key \"target.identifier\""),
        "{}",
        ran.stderr
    );
    assert_eq!(s.proxy.calls(), Vec::<String>::new(), "no AWS call at all");
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_restore_is_cleaned_up_by_sweep() {
    let s = stand(&["us-east-1"]).await;
    source_instance(&s.moto).await;
    // The restored instance stays `creating` far longer than the test waits.
    s.proxy.set_hold(Duration::from_secs(600));
    s.write(&format!(
        r#"[[restore]]
id = "orders"
kind = "rds_pitr"
source = "orders-prod"
to = "latest"
[restore.target]
identifier = "drill-orders-{{run_id}}"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
        s.sg
    ));
    let before = describe_all(&s.moto, "us-east-1").await;
    let mut child = Command::new(BIN)
        .arg("run")
        .arg(s.dir.path().join("drill.toml"))
        .arg("--reports")
        .arg(s.dir.path().join("reports"))
        .envs(s.moto.env())
        .env("RD_TEST_PW", PW)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while s.proxy.count("DescribeDBInstances") < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the restore never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // kill -9: no teardown can run.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();
    let left = tagged(&s.moto, "us-east-1").await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("instance drill-orders-"), "{left:?}");

    // Its expiry (run start + every phase timeout) has not passed: a plain sweep keeps it,
    // a dry run by age only lists it.
    let (code, out, err) = sweep(&s.moto, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("kept (not stale)"), "{out}");
    assert!(
        err.contains("1 resources tagged by restore-drill, 0 stale"),
        "{err}"
    );
    let (code, out, _) = sweep(&s.moto, &["--older-than", "0s", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(out.contains("would delete"), "{out}");
    assert_eq!(tagged(&s.moto, "us-east-1").await.len(), 1);

    let (code, out, err) = sweep(&s.moto, &["--older-than", "0s"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("RDS instance drill-orders-"), "{out}");
    assert!(out.contains("  deleted"), "{out}");
    assert!(err.contains("1 deleted, 0 left"), "{err}");
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
    // moto copies no run tag onto the source, and sweep keys on the run tag only: the source
    // is exactly as it was.
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_a_harness_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("drill.toml"),
        drill(
            &format!("http://127.0.0.1:{port}"),
            r#"[[restore]]
id = "orders"
kind = "rds_pitr"
source = "orders-prod"
to = "latest"
[restore.target]
identifier = "drill-orders-{run_id}"
allow_shared_network = true"#,
            5432,
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("run")
        .arg(dir.path().join("drill.toml"))
        .args(["--format", "json", "--reports"])
        .arg(dir.path().join("reports"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RD_TEST_PW", PW)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(30));
    let report: RunReport = serde_json::from_slice(&out.stdout).unwrap();
    let resolve = phase(&report, "resolve");
    let msg = resolve.error.as_deref().unwrap();
    assert!(
        msg.starts_with(&format!(
            "DescribeDBInstances failed: cannot reach http://127.0.0.1:{port}: "
        )),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_credentials_are_one_clear_harness_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("drill.toml"),
        drill(
            "http://127.0.0.1:9",
            r#"[[restore]]
id = "orders"
kind = "rds_pitr"
source = "orders-prod"
to = "latest"
[restore.target]
identifier = "drill-orders-{run_id}"
allow_shared_network = true"#,
            5432,
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("run")
        .arg(dir.path().join("drill.toml"))
        .args(["--format", "json", "--reports"])
        .arg(dir.path().join("reports"))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RD_TEST_PW", PW)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(30));
    let report: RunReport = serde_json::from_slice(&out.stdout).unwrap();
    let msg = phase(&report, "resolve").error.clone().unwrap();
    assert!(msg.starts_with("no AWS credentials found: "), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_resolve_shows_the_recovery_point_and_changes_nothing() {
    let s = stand(&["us-east-1"]).await;
    source_instance(&s.moto).await;
    manual_snapshot(&s.moto).await;
    s.write(&format!(
        r#"[[restore]]
id = "orders"
kind = "rds_snapshot"
source = "orders-prod"
snapshot = "latest_manual"
to = "latest"
[restore.target]
identifier = "drill-orders-{{run_id}}"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
        s.sg
    ));
    let before = describe_all(&s.moto, "us-east-1").await;
    let out = Command::new(BIN)
        .arg("plan")
        .arg(s.dir.path().join("drill.toml"))
        .arg("--resolve")
        .envs(s.moto.env())
        .env("RD_TEST_PW", PW)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "  orders: snapshot arn:aws:rds:us-east-1:123456789012:snapshot:orders-manual-1\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("    manual snapshot orders-manual-1 of orders-prod\n"),
        "{stdout}"
    );
    let calls = s.proxy.calls();
    assert!(
        !calls.is_empty() && calls.iter().all(|c| c.starts_with("Describe")),
        "read-only: {calls:?}"
    );
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before);

    // No such snapshot: exit 11 and the reason.
    s.moto
        .rds("us-east-1")
        .await
        .delete_db_snapshot()
        .db_snapshot_identifier("orders-manual-1")
        .send()
        .await
        .unwrap();
    let out = Command::new(BIN)
        .arg("plan")
        .arg(s.dir.path().join("drill.toml"))
        .arg("--resolve")
        .envs(s.moto.env())
        .env("RD_TEST_PW", PW)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(11), "{stdout}");
    assert!(
        stdout.contains(
            "  orders: cannot be resolved: no available manual snapshot of orders-prod (0 manual snapshots in all)\n"
        ),
        "{stdout}"
    );
}

/// Issue 20 item 7: an instance with encrypted storage has encrypted snapshots (moto says
/// `Encrypted=false`; the proxy answers as AWS does). Copied to another region without
/// `copy_kms_key`, CopyDBSnapshot would fail: refused at resolve, before anything is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_20_item_7_an_encrypted_copy_without_copy_kms_key_is_refused_at_resolve() {
    let s = stand(&["us-east-1", "us-west-2"]).await;
    source_instance(&s.moto).await;
    manual_snapshot(&s.moto).await;
    s.proxy.rewrite(
        "DescribeDBSnapshots",
        "<Encrypted>false</Encrypted>",
        "<Encrypted>true</Encrypted>",
    );
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
    let ran = run(s.dir.path(), &s.moto, &[]);
    let report = ran.report.as_ref().expect("a report");
    assert_eq!(ran.code, 30, "stderr:\n{}", ran.stderr);
    let msg = phase(report, "resolve").error.clone().unwrap();
    assert!(
        msg.starts_with("snapshot orders-manual-1 is encrypted")
            && msg.ends_with("set copy_kms_key to a key in us-west-2 for the copy"),
        "{msg}"
    );
    assert_eq!(s.proxy.count("CopyDBSnapshot"), 0);
    assert_eq!(tagged(&s.moto, "us-west-2").await, Vec::<String>::new());
}

/// Issue 20 item 6: a Serverless v2 source's scaling range is sent with the cluster restore
/// (without it AWS refuses the `db.serverless` writer); a Multi-AZ DB cluster (non-Aurora) is
/// refused at resolve with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_20_item_6_serverless_v2_scaling_is_restored_and_multi_az_clusters_refused() {
    let s = stand(&["us-east-1"]).await;
    let rds = s.moto.rds("us-east-1").await;
    rds.create_db_cluster()
        .db_cluster_identifier("ledger-prod")
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("source-secret")
        .backup_retention_period(7)
        .serverless_v2_scaling_configuration(
            aws_sdk_rds::types::ServerlessV2ScalingConfiguration::builder()
                .min_capacity(0.5)
                .max_capacity(8.0)
                .build(),
        )
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let restore = |source: &str| {
        format!(
            r#"[[restore]]
id = "orders"
kind = "rds_cluster_pitr"
source = "{source}"
to = "latest"
[restore.target]
identifier = "drill-ledger-{{run_id}}"
instance_identifier = "drill-ledger-{{run_id}}-a"
instance_class = "db.serverless"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
            s.sg
        )
    };
    s.write(&restore("ledger-prod"));
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    let sent = s.proxy.bodies("RestoreDBClusterToPointInTime");
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].contains("ServerlessV2ScalingConfiguration.MinCapacity=0.5")
            && sent[0].contains("ServerlessV2ScalingConfiguration.MaxCapacity=8"),
        "{}",
        sent[0]
    );
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());

    rds.create_db_cluster()
        .db_cluster_identifier("orders-maz")
        .engine("postgres")
        .master_username("admin")
        .master_user_password("source-secret")
        .db_cluster_instance_class("db.m6gd.large")
        .allocated_storage(100)
        .storage_type("io1")
        .iops(1000)
        .backup_retention_period(7)
        .send()
        .await
        .unwrap();
    s.write(&restore("orders-maz"));
    let calls_before = s.proxy.calls().len();
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 30, "stderr:\n{}", ran.stderr);
    let msg = phase(ran.report.as_ref().unwrap(), "resolve")
        .error
        .clone()
        .unwrap();
    assert!(
        msg.starts_with("source cluster orders-maz is a Multi-AZ DB cluster (engine postgres)"),
        "{msg}"
    );
    assert!(
        s.proxy.calls()[calls_before..]
            .iter()
            .all(|c| c.starts_with("Describe")),
        "nothing created"
    );
}

fn plan_resolve(s: &Stand) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("plan")
        .arg(s.dir.path().join("drill.toml"))
        .arg("--resolve")
        .envs(s.moto.env())
        .env("RD_TEST_PW", PW)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 15 item 6: `plan --resolve` looks up the KMS key of the copy (in the DR region,
/// enabled), the subnet group and security groups (in the region the target is made in) and
/// the Backup role, and names each one missing: the drill file, the key, the object; exit 20.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_item_6_plan_resolve_names_each_missing_aws_object() {
    let s = stand(&["us-east-1"]).await;
    source_instance(&s.moto).await;
    manual_snapshot(&s.moto).await;
    let drill = |key: &str, sg: &str| {
        format!(
            r#"[[restore]]
id = "orders"
kind = "rds_snapshot"
source = "orders-prod"
snapshot = "latest_manual"
to = "latest"
copy_to_region = "us-west-2"
copy_kms_key = "{key}"
[restore.target]
identifier = "drill-orders-{{run_id}}"
subnet_group = "drill-isolated"
security_groups = ["{sg}"]"#
        )
    };
    // The network exists in us-east-1 only; the copy and its restore go to us-west-2.
    s.write(&drill("alias/drill-dr", &s.sg));
    let (code, _, err) = plan_resolve(&s);
    assert_eq!(code, 20, "{err}");
    let file = s.dir.path().join("drill.toml");
    let file = file.display();
    for line in [
        format!(
            "error: {file}: restore \"orders\": key \"copy_kms_key\": KMS key alias/drill-dr does not exist in us-west-2"
        ),
        format!(
            "error: {file}: restore \"orders\": key \"target.subnet_group\": DB subnet group drill-isolated does not exist in us-west-2"
        ),
        format!(
            "error: {file}: restore \"orders\": key \"target.security_groups\": security group {} does not exist in us-west-2",
            s.sg
        ),
    ] {
        assert!(err.contains(&line), "{line}\nnot in\n{err}");
    }

    // In us-west-2: the network, and a key that exists but is disabled.
    let sg_west = network(&s.moto, "us-west-2").await;
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&s.moto.sdk().await)
            .region(aws_config::Region::new("us-west-2"))
            .build(),
    );
    let key = kms.create_key().send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    s.write(&drill(&key_id, &sg_west));
    let (code, _, err) = plan_resolve(&s);
    assert_eq!(code, 20, "{err}");
    assert!(
        err.contains(&format!(
            "key \"copy_kms_key\": KMS key {key_id} in us-west-2 is Disabled, not Enabled"
        )),
        "{err}"
    );
    assert_eq!(err.matches("error: ").count(), 1, "{err}");

    kms.enable_key().key_id(&key_id).send().await.unwrap();
    let (code, out, err) = plan_resolve(&s);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("AWS objects the drill names"), "{out}");
    assert!(out.contains(": all found"), "{out}");
    let calls = s.proxy.calls();
    assert!(
        calls.iter().all(|c| c.starts_with("Describe")),
        "read-only: {calls:?}"
    );
    assert!(calls.iter().any(|c| c == "DescribeKey"), "{calls:?}");
    assert!(
        calls.iter().any(|c| c == "DescribeSecurityGroups"),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|c| c == "DescribeDBSubnetGroups"),
        "{calls:?}"
    );
}

/// Issue 15 item 6: the IAM role AWS Backup restores with is looked up (GetRole).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_item_6_plan_resolve_names_a_missing_backup_role() {
    let s = stand(&["us-east-1"]).await;
    s.write(&format!(
        r#"[[restore]]
id = "orders"
kind = "backup_recovery_point"
vault = "prod-vault"
resource_arn = "arn:aws:rds:us-east-1:123456789012:db:orders-prod"
iam_role_arn = "arn:aws:iam::123456789012:role/drill-restore"
[restore.target]
identifier = "drill-orders-{{run_id}}"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
        s.sg
    ));
    let (code, _, err) = plan_resolve(&s);
    let file = s.dir.path().join("drill.toml");
    // moto keeps no recovery points, so resolve itself cannot find one (exit 30 is worse
    // than 20); the role is looked up all the same.
    assert_eq!(code, 30, "{err}");
    assert!(
        err.contains(&format!(
            "error: {}: restore \"orders\": key \"iam_role_arn\": IAM role drill-restore \
             (arn:aws:iam::123456789012:role/drill-restore) does not exist",
            file.display()
        )),
        "{err}"
    );
    let iam = aws_sdk_iam::Client::new(&s.moto.sdk().await);
    iam.create_role()
        .role_name("drill-restore")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"backup.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let (_, _, err) = plan_resolve(&s);
    assert!(!err.contains("iam_role_arn"), "{err}");
    assert!(s.proxy.calls().iter().any(|c| c == "GetRole"));
}

/// Issue 20 item 16: a run records every region it touches, and `sweep` looks in each region
/// the runs under the reports folder recorded, besides the configured one: a snapshot copy a
/// killed run left in the DR region is found and removed without `--region us-west-2`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_20_item_16_sweep_finds_a_killed_runs_copy_in_the_recorded_dr_region() {
    let s = stand(&["us-east-1", "us-west-2"]).await;
    source_instance(&s.moto).await;
    manual_snapshot(&s.moto).await;
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
    // A run that completes records the regions it touched.
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    let notes = &ran.report.as_ref().unwrap().restores[0]
        .recovery_point
        .as_ref()
        .unwrap()
        .notes;
    assert!(
        notes.contains(&"regions touched: us-east-1, us-west-2".to_owned()),
        "{notes:?}"
    );

    // The next run is killed while its copy is being made in us-west-2.
    s.proxy.hold_for("CopyDBSnapshot", Duration::from_secs(600));
    let mut child = Command::new(BIN)
        .arg("run")
        .arg(s.dir.path().join("drill.toml"))
        .arg("--reports")
        .arg(s.dir.path().join("reports"))
        .envs(s.moto.env())
        .env("RD_TEST_PW", PW)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let copies_before = s.proxy.count("CopyDBSnapshot");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while s.proxy.count("CopyDBSnapshot") == copies_before
        || s.proxy.count("DescribeDBSnapshots") < 6
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the copy never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();
    let left = tagged(&s.moto, "us-west-2").await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("snapshot drill-copy-"), "{left:?}");

    // Only the configured region is named; the reports say where else to look.
    let reports = s.dir.path().join("reports");
    let (code, out, err) = sweep(
        &s.moto,
        &["--older-than", "0s", "--reports", reports.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("RDS snapshot drill-copy-") && out.contains("(us-west-2)"),
        "{out}"
    );
    assert_eq!(tagged(&s.moto, "us-west-2").await, Vec::<String>::new());
}

/// Issue 17: the copy of an encrypted snapshot to another region carries the PreSignedUrl RDS
/// requires (moto does not check it; real RDS refuses the copy without one): the same call,
/// signed for the source region with the run's credentials, naming the destination region and
/// the copy's KMS key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_an_encrypted_copy_across_regions_carries_a_presigned_url() {
    let s = stand(&["us-east-1", "us-west-2"]).await;
    source_instance(&s.moto).await;
    manual_snapshot(&s.moto).await;
    s.proxy.rewrite(
        "DescribeDBSnapshots",
        "<Encrypted>false</Encrypted>",
        "<Encrypted>true</Encrypted>",
    );
    // A key in the DR region (moto checks that the copy's key exists).
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&s.moto.sdk().await)
            .region(aws_config::Region::new("us-west-2"))
            .build(),
    );
    let created = kms.create_key().send().await.unwrap();
    let key = created.key_metadata().unwrap().arn().unwrap().to_owned();
    let key = key.as_str();
    s.write(&format!(
        r#"[[restore]]
id = "orders"
kind = "rds_snapshot"
source = "orders-prod"
snapshot = "latest_manual"
to = "latest"
copy_to_region = "us-west-2"
copy_kms_key = "{key}"
[restore.target]
identifier = "drill-orders-{{run_id}}"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
        s.sg
    ));
    let snap_time = s
        .moto
        .rds("us-east-1")
        .await
        .describe_db_snapshots()
        .db_snapshot_identifier("orders-manual-1")
        .send()
        .await
        .unwrap()
        .db_snapshots()[0]
        .snapshot_create_time()
        .map(|t| chrono::DateTime::from_timestamp_millis(t.to_millis().unwrap()).unwrap())
        .unwrap();
    let before_east = describe_all(&s.moto, "us-east-1").await;
    let before_west = describe_all(&s.moto, "us-west-2").await;
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    let report = ran.report.as_ref().expect("a report");
    // The drill's check ran on what came back.
    let checks = &report.checks;
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(
        checks[0].outcome,
        restore_drill::report::CheckOutcome::Passed,
        "{checks:?}"
    );
    // RPO from metadata: the incident minus the snapshot's create time, as moto reports it.
    assert_eq!(
        report.measured.rpo_source,
        Some(restore_drill::report::RpoSource::Metadata)
    );
    let want = (report.incident_at - snap_time).num_milliseconds() as f64 / 1e3;
    let rpo = report.measured.rpo_seconds.unwrap();
    assert!((rpo - want).abs() < 0.002, "rpo {rpo} vs {want}");
    // RTO covers the allowance, the copy and the restore (both held by the proxy).
    let (copy, restore) = (phase(report, "copy"), phase(report, "restore"));
    assert!(
        copy.seconds >= HOLD.as_secs_f64() && copy.polls >= 3,
        "{copy:?}"
    );
    let rto = report.measured.rto_seconds.unwrap();
    assert!(rto >= 60.0 + copy.seconds + restore.seconds, "{rto}");
    // The restore from the copy goes into the drill's isolation, tagged with the run.
    let sent = s.proxy.bodies("RestoreDBInstanceFromDBSnapshot");
    assert_eq!(sent.len(), 1);
    for part in [
        "DBSubnetGroupName=drill-isolated".to_owned(),
        format!("VpcSecurityGroupIds.VpcSecurityGroupId.1={}", s.sg),
        "PubliclyAccessible=false".to_owned(),
        "DBSnapshotIdentifier=drill-copy-".to_owned(),
        "Key=restore-drill:run-id".to_owned(),
        "Key=restore-drill:expires-at".to_owned(),
    ] {
        assert!(sent[0].contains(&part), "{part} missing in {}", sent[0]);
    }
    let url = s
        .proxy
        .field("CopyDBSnapshot", "PreSignedUrl")
        .expect("the copy carries a PreSignedUrl");
    assert!(
        url.starts_with(
            "https://rds.us-east-1.amazonaws.com/?Action=CopyDBSnapshot&Version=2014-10-31&\
             SourceDBSnapshotIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3A"
        ),
        "{url}"
    );
    let encoded_key = restore_drill::provider::aws::presign::encode(key);
    for part in [
        format!("&KmsKeyId={encoded_key}&DestinationRegion=us-west-2&"),
        "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=testing%2F".to_owned(),
        "%2Fus-east-1%2Frds%2Faws4_request&".to_owned(),
        "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=".to_owned(),
    ] {
        assert!(url.contains(&part), "{part} missing in {url}");
    }
    assert_eq!(
        s.proxy.field("CopyDBSnapshot", "KmsKeyId").as_deref(),
        Some(key)
    );
    assert_eq!(s.proxy.count("DeleteDBInstance"), 1);
    assert_eq!(s.proxy.count("DeleteDBSnapshot"), 1);
    assert_eq!(tagged(&s.moto, "us-west-2").await, Vec::<String>::new());
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before_east);
    assert_eq!(describe_all(&s.moto, "us-west-2").await, before_west);
    assert_no_secret(s.dir.path(), &ran);
}

/// Issue 17: an Aurora cluster snapshot, encrypted, copied to the DR region with the
/// pre-signed URL and the DR key, restored there with RestoreDBClusterFromSnapshot plus one
/// instance, each create call carrying the drill's isolation and tags; RPO from the
/// snapshot's create time; everything removed, the source region as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_an_aurora_cluster_snapshot_copied_to_the_dr_region_is_restored_and_removed() {
    let s = stand(&["us-east-1", "us-west-2"]).await;
    source_cluster_with_snapshot(&s.moto).await;
    s.proxy.rewrite(
        "DescribeDBClusterSnapshots",
        "<StorageEncrypted>false</StorageEncrypted>",
        "<StorageEncrypted>true</StorageEncrypted>",
    );
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&s.moto.sdk().await)
            .region(aws_config::Region::new("us-west-2"))
            .build(),
    );
    let key = kms.create_key().send().await.unwrap();
    let key = key.key_metadata().unwrap().arn().unwrap().to_owned();
    s.write(&format!(
        r#"[[restore]]
id = "orders"
kind = "rds_cluster_snapshot"
source = "ledger-prod"
snapshot = "latest_manual"
to = "latest"
copy_to_region = "us-west-2"
copy_kms_key = "{key}"
[restore.target]
identifier = "drill-ledger-{{run_id}}"
instance_identifier = "drill-ledger-{{run_id}}-a"
instance_class = "db.r6g.large"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
        s.sg
    ));
    let snap_time = s
        .moto
        .rds("us-east-1")
        .await
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier("ledger-manual-1")
        .send()
        .await
        .unwrap()
        .db_cluster_snapshots()[0]
        .snapshot_create_time()
        .map(|t| chrono::DateTime::from_timestamp_millis(t.to_millis().unwrap()).unwrap())
        .unwrap();
    let before_east = describe_all(&s.moto, "us-east-1").await;
    let before_west = describe_all(&s.moto, "us-west-2").await;
    let ran = run(s.dir.path(), &s.moto, &[]);
    let report = ran
        .report
        .as_ref()
        .unwrap_or_else(|| panic!("no report; stderr:\n{}", ran.stderr));
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    let names: Vec<&str> = report.restores[0]
        .phases
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "resolve", "copy", "restore", "prepare", "verify", "teardown"
        ]
    );
    let rp = report.restores[0].recovery_point.as_ref().unwrap();
    assert_eq!(rp.kind, "cluster_snapshot");
    assert!(
        rp.id.ends_with(":cluster-snapshot:ledger-manual-1"),
        "{}",
        rp.id
    );
    // RPO from metadata: the incident (run start) minus the snapshot's create time, as
    // moto itself reports it.
    assert_eq!(
        report.measured.rpo_source,
        Some(restore_drill::report::RpoSource::Metadata)
    );
    let want = (report.incident_at - snap_time).num_milliseconds() as f64 / 1e3;
    let rpo = report.measured.rpo_seconds.unwrap();
    assert!((rpo - want).abs() < 0.002, "rpo {rpo} vs {want}");
    // RTO covers the copy and the restore (both held by the proxy) plus the allowance.
    let (copy, restore) = (phase(report, "copy"), phase(report, "restore"));
    assert!(
        copy.polls >= 3 && copy.seconds >= HOLD.as_secs_f64(),
        "{copy:?}"
    );
    assert!(
        restore.polls >= 4,
        "cluster and instance waited for: {restore:?}"
    );
    let rto = report.measured.rto_seconds.unwrap();
    assert!(rto >= 60.0 + copy.seconds + restore.seconds, "{rto}");
    let target = report.restores[0].target.as_ref().unwrap();
    assert_eq!(target.kind, "rds_cluster");
    assert_eq!(target.details["region"], "us-west-2");
    assert!(target.details["instance"].ends_with("-a"));

    // The copy: pre-signed for the source region, with the DR key.
    let url = s
        .proxy
        .field("CopyDBClusterSnapshot", "PreSignedUrl")
        .expect("the copy carries a PreSignedUrl");
    assert!(
        url.starts_with(
            "https://rds.us-east-1.amazonaws.com/?Action=CopyDBClusterSnapshot&Version=2014-10-31&\
             SourceDBClusterSnapshotIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3A"
        ),
        "{url}"
    );
    let encoded_key = restore_drill::provider::aws::presign::encode(&key);
    assert!(
        url.contains(&format!(
            "&KmsKeyId={encoded_key}&DestinationRegion=us-west-2&"
        )),
        "{url}"
    );
    assert_eq!(
        s.proxy
            .field("CopyDBClusterSnapshot", "KmsKeyId")
            .as_deref(),
        Some(key.as_str())
    );
    // Isolation and tags on each create call.
    let sent = s.proxy.bodies("RestoreDBClusterFromSnapshot");
    assert_eq!(sent.len(), 1);
    for part in [
        "DBSubnetGroupName=drill-isolated".to_owned(),
        format!("VpcSecurityGroupIds.VpcSecurityGroupId.1={}", s.sg),
        "DeletionProtection=false".to_owned(),
        "Engine=aurora-postgresql".to_owned(),
        "SnapshotIdentifier=drill-copy-".to_owned(),
        "Key=restore-drill:run-id".to_owned(),
        "Key=restore-drill:expires-at".to_owned(),
    ] {
        assert!(sent[0].contains(&part), "{part} missing in {}", sent[0]);
    }
    let member = s.proxy.bodies("CreateDBInstance");
    assert_eq!(member.len(), 1);
    for part in [
        "PubliclyAccessible=false",
        "DBInstanceClass=db.r6g.large",
        "Key=restore-drill:run-id",
    ] {
        assert!(member[0].contains(part), "{part} missing in {}", member[0]);
    }
    assert_eq!(s.proxy.count("ModifyDBCluster"), 1, "the drill's password");
    assert_eq!(s.proxy.count("DeleteDBInstance"), 1);
    assert_eq!(s.proxy.count("DeleteDBCluster"), 1);
    assert_eq!(s.proxy.count("DeleteDBClusterSnapshot"), 1);
    assert_eq!(tagged(&s.moto, "us-west-2").await, Vec::<String>::new());
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
    // The restored cluster's automated backups go with it: DeleteAutomatedBackups=true
    // (moto ignores the flag; `describe_all` says how that is accounted for).
    assert_eq!(
        s.proxy
            .field("DeleteDBCluster", "DeleteAutomatedBackups")
            .as_deref(),
        Some("true")
    );
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before_east);
    assert_eq!(describe_all(&s.moto, "us-west-2").await, before_west);
    assert_no_secret(s.dir.path(), &ran);
}

/// Issue 17: the same in the source's region from a named snapshot, without a copy (no copy
/// phase, no pre-signed URL); an encrypted snapshot copied without `copy_kms_key` is refused
/// at resolve, and a named snapshot that does not exist is the restore's failure (exit 11),
/// both before anything is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_an_aurora_cluster_snapshot_in_place_and_its_refusals() {
    let s = stand(&["us-east-1", "us-west-2"]).await;
    source_cluster_with_snapshot(&s.moto).await;
    let restore = |extra: &str| {
        format!(
            r#"[[restore]]
id = "orders"
kind = "rds_cluster_snapshot"
source = "ledger-prod"
{extra}
[restore.target]
identifier = "drill-ledger-{{run_id}}"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
            s.sg
        )
    };
    let before = describe_all(&s.moto, "us-east-1").await;
    s.write(&restore(r#"snapshot = "ledger-manual-1""#));
    // No target.instance_class: the source writer's class would be copied, and the source
    // has no writer; the drill is told to name one.
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 30, "stderr:\n{}", ran.stderr);
    let report = ran.report.as_ref().expect("a report");
    let msg = phase(report, "restore").error.clone().unwrap();
    assert!(msg.contains("set target.instance_class"), "{msg}");
    assert_eq!(s.proxy.count("RestoreDBClusterFromSnapshot"), 0);
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());

    s.write(&restore(r#"snapshot = "ledger-manual-1""#).replace(
        "subnet_group",
        "instance_class = \"db.r6g.large\"\nsubnet_group",
    ));
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    let report = ran.report.as_ref().unwrap();
    let names: Vec<&str> = report.restores[0]
        .phases
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["resolve", "restore", "prepare", "verify", "teardown"]
    );
    assert_eq!(s.proxy.count("CopyDBClusterSnapshot"), 0);
    assert_eq!(s.proxy.count("RestoreDBClusterFromSnapshot"), 1);
    assert_eq!(
        s.proxy
            .field("RestoreDBClusterFromSnapshot", "SnapshotIdentifier")
            .as_deref(),
        Some("ledger-manual-1")
    );
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before);

    // Encrypted, copied without a key for the DR region: refused at resolve.
    s.proxy.rewrite(
        "DescribeDBClusterSnapshots",
        "<StorageEncrypted>false</StorageEncrypted>",
        "<StorageEncrypted>true</StorageEncrypted>",
    );
    s.write(&restore(
        "snapshot = \"latest_manual\"\ncopy_to_region = \"us-west-2\"",
    ));
    let calls = s.proxy.calls().len();
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 30, "stderr:\n{}", ran.stderr);
    let report = ran.report.as_ref().unwrap();
    let msg = phase(report, "resolve").error.clone().unwrap();
    assert!(
        msg.starts_with("cluster snapshot ledger-manual-1 is encrypted")
            && msg.contains("set copy_kms_key to a key in us-west-2"),
        "{msg}"
    );
    let after: Vec<String> = s.proxy.calls()[calls..].to_vec();
    assert!(after.iter().all(|c| c.starts_with("Describe")), "{after:?}");

    // A snapshot that is not there: the restore's failure, nothing created.
    s.write(&restore(r#"snapshot = "ledger-gone""#));
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 11, "stderr:\n{}", ran.stderr);
    let report = ran.report.as_ref().unwrap();
    let msg = phase(report, "resolve").error.clone().unwrap();
    assert_eq!(msg, "cluster snapshot ledger-gone not found in us-east-1");
    assert_eq!(tagged(&s.moto, "us-west-2").await, Vec::<String>::new());
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before);
}

/// Issue 17: a run killed while its cluster snapshot copy is being made leaves the copy in the
/// DR region; `sweep` finds it there (the region the reports recorded) by its run tag and
/// deletes it, as it does instance snapshot copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_sweep_removes_a_killed_runs_cluster_snapshot_copy() {
    let s = stand(&["us-east-1", "us-west-2"]).await;
    source_cluster_with_snapshot(&s.moto).await;
    s.write(&format!(
        r#"[[restore]]
id = "orders"
kind = "rds_cluster_snapshot"
source = "ledger-prod"
snapshot = "latest_manual"
to = "latest"
copy_to_region = "us-west-2"
[restore.target]
identifier = "drill-ledger-{{run_id}}"
instance_class = "db.r6g.large"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
        s.sg
    ));
    s.proxy
        .hold_for("CopyDBClusterSnapshot", Duration::from_secs(600));
    let reports = s.dir.path().join("reports");
    let mut child = Command::new(BIN)
        .arg("run")
        .arg(s.dir.path().join("drill.toml"))
        .arg("--reports")
        .arg(&reports)
        .envs(s.moto.env())
        .env("RD_TEST_PW", PW)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while s.proxy.count("CopyDBClusterSnapshot") == 0
        || s.proxy.count("DescribeDBClusterSnapshots") < 4
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the copy never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();
    let left = tagged(&s.moto, "us-west-2").await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0].starts_with("cluster snapshot drill-copy-"),
        "{left:?}"
    );
    // The killed run wrote no report: the DR region is named to the sweep.
    let (code, out, err) = sweep(&s.moto, &["--older-than", "0s", "--region", "us-west-2"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("RDS cluster snapshot drill-copy-") && out.contains("(us-west-2)"),
        "{out}"
    );
    assert_eq!(
        s.proxy.count("DeleteDBClusterSnapshot"),
        0,
        "sweep went to moto directly"
    );
    assert_eq!(tagged(&s.moto, "us-west-2").await, Vec::<String>::new());
    // The source's own manual snapshot is never a candidate.
    let (_, out, _) = sweep(&s.moto, &["--older-than", "0s", "--dry-run"]);
    assert!(!out.contains("ledger-manual-1"), "{out}");
}
