//! Fleet scale (issue 16): `run --jobs N` drives many RDS drills at once from one process,
//! against moto behind a proxy that throttles like RDS does (a bucket of 300 calls refilled at
//! 12 per second, per account and region). The pacing keeps every call under that limit.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::rds::*;

const DRILLS: usize = 40;
const JOBS: usize = 20;
/// The one slow drill's restore (a snapshot restore) is held this long; the others are held
/// for `HOLD` (2 s).
const SLOW: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_rds_drills_twenty_at_a_time_stay_under_the_api_limit_and_clean_up() {
    let s = stand(&["us-east-1"]).await;
    source_instance(&s.moto).await;
    manual_snapshot(&s.moto).await;
    let drills = s.dir.path().join("drills");
    std::fs::create_dir_all(&drills).unwrap();
    for i in 0..DRILLS {
        // Drill 0 restores the manual snapshot, held for SLOW: the longest drill of the fleet.
        let (kind, extra) = if i == 0 {
            ("rds_snapshot", "snapshot = \"latest_manual\"\n")
        } else {
            ("rds_pitr", "")
        };
        let restore = format!(
            r#"[[restore]]
id = "orders"
kind = "{kind}"
source = "orders-prod"
{extra}to = "latest"
[restore.target]
identifier = "drill-f{i:02}-{{run_id}}"
instance_class = "db.t4g.medium"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
            s.sg
        );
        let text = drill(&s.proxy.endpoint(), &restore, s.source_pg.port()).replacen(
            "name = \"rds-test\"",
            &format!("name = \"fleet-{i:02}\""),
            1,
        );
        std::fs::write(drills.join(format!("fleet-{i:02}.toml")), text).unwrap();
    }
    s.proxy.hold_for("RestoreDBInstanceFromDBSnapshot", SLOW);
    s.proxy.rate_limit(300.0, 12.0);
    let run = |what: &std::path::Path, jobs: usize, reports: &std::path::Path| {
        let t0 = Instant::now();
        let out = Command::new(BIN)
            .arg("run")
            .arg(what)
            .args(["--jobs", &jobs.to_string(), "--format", "none", "--reports"])
            .arg(reports)
            .envs(s.moto.env())
            .env("RD_TEST_PW", PW)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        (out, t0.elapsed())
    };
    // The slowest drill alone first: the yardstick of the fleet's wall time.
    let (alone, alone_wall) = run(
        &drills.join("fleet-00.toml"),
        1,
        &s.dir.path().join("alone"),
    );
    assert_eq!(alone.status.code(), Some(0));
    let reports = s.dir.path().join("reports");
    let calls_before = s.proxy.calls().len();
    let (out, wall) = run(&drills, JOBS, &reports);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");

    // Every drill wrote its report and its history row, once.
    let history = restore_drill::report::read_history(&reports.join("history.csv")).unwrap();
    let mut names: Vec<&str> = history.rows.iter().map(|r| r.drill.as_str()).collect();
    names.sort();
    let want: Vec<String> = (0..DRILLS).map(|i| format!("fleet-{i:02}")).collect();
    assert_eq!(names, want.iter().map(String::as_str).collect::<Vec<_>>());
    let mut longest = 0.0f64;
    for name in &want {
        let runs: Vec<_> = std::fs::read_dir(reports.join(name)).unwrap().collect();
        assert_eq!(runs.len(), 1, "{name}");
        let dir = runs.into_iter().next().unwrap().unwrap().path();
        let report: restore_drill::report::RunReport =
            serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
        assert_eq!(report.verdict.as_str(), "met", "{name}");
        longest = longest.max(report.seconds);
    }
    // Drills ran side by side, never more than --jobs at once.
    assert_eq!(s.proxy.peak_in_flight(), JOBS as i64);
    assert_eq!(s.proxy.count("RestoreDBInstanceToPointInTime"), DRILLS - 1);
    assert_eq!(s.proxy.count("RestoreDBInstanceFromDBSnapshot"), 2);
    assert_eq!(s.proxy.count("DeleteDBInstance"), DRILLS + 1);
    // The pacing kept the fleet under RDS's limit: not one call was throttled.
    assert_eq!(s.proxy.throttled(), 0, "calls: {}", s.proxy.calls().len());
    // Nothing of any run remains.
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
    // One line per active drill: every progress line names its drill.
    assert!(
        stderr.contains("fleet-07/orders: restore done"),
        "stderr:\n{stderr}"
    );
    // The figure for ci/bench (not asserted: speed is measured by benchmarks).
    let mut by_call = std::collections::BTreeMap::<String, usize>::new();
    for c in &s.proxy.calls()[calls_before..] {
        *by_call.entry(c.clone()).or_default() += 1;
    }
    println!("fleet calls by action: {by_call:?}");
    println!(
        "fleet: {DRILLS} drills, --jobs {JOBS}: wall {:.1} s; the slowest drill alone {:.1} s; \
         ratio {:.2}; longest drill inside the fleet {longest:.1} s; {} RDS calls, 0 throttled",
        wall.as_secs_f64(),
        alone_wall.as_secs_f64(),
        wall.as_secs_f64() / alone_wall.as_secs_f64(),
        s.proxy.calls().len() - calls_before
    );
}

/// The pacing is what keeps a fleet under the limit: against an account whose RDS bucket is
/// small (30 calls, 1.5 per second), ten drills at once are throttled when the pacing is off,
/// and never when it is set below that bucket (`RESTORE_DRILL_API_PACE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pacing_a_small_account_limit_throttles_and_with_it_nothing_does() {
    let s = stand(&["us-east-1"]).await;
    source_instance(&s.moto).await;
    let drills = s.dir.path().join("drills");
    std::fs::create_dir_all(&drills).unwrap();
    for i in 0..10 {
        let restore = format!(
            r#"[[restore]]
id = "orders"
kind = "rds_pitr"
source = "orders-prod"
to = "latest"
[restore.target]
identifier = "drill-p{i:02}-{{run_id}}"
instance_class = "db.t4g.medium"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
            s.sg
        );
        let text = drill(&s.proxy.endpoint(), &restore, s.source_pg.port()).replacen(
            "name = \"rds-test\"",
            &format!("name = \"paced-{i:02}\""),
            1,
        );
        std::fs::write(drills.join(format!("paced-{i:02}.toml")), text).unwrap();
    }
    let run = |pace: &str, reports: &str| {
        Command::new(BIN)
            .arg("run")
            .arg(&drills)
            .args(["--jobs", "10", "--format", "none", "--reports"])
            .arg(s.dir.path().join(reports))
            .envs(s.moto.env())
            .env("RD_TEST_PW", PW)
            .env("RESTORE_DRILL_API_PACE", pace)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    s.proxy.rate_limit(30.0, 1.5);
    let off = run("rds=off", "off");
    let throttled_off = s.proxy.throttled();
    assert!(
        throttled_off > 0,
        "unpaced, the fleet must exceed the bucket; stderr:\n{}",
        String::from_utf8_lossy(&off.stderr)
    );
    println!(
        "unpaced: exit {:?}, {throttled_off} calls throttled",
        off.status.code()
    );
    // Unpaced, teardown too can be throttled past the SDK's retries (seen here: exit 40):
    // what it left is counted, and the paced run must add nothing to it.
    let left_unpaced = tagged(&s.moto, "us-east-1").await;
    s.proxy.rate_limit(30.0, 1.5);
    let paced = run("rds=25/1.2", "paced");
    assert_eq!(
        paced.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&paced.stderr)
    );
    assert_eq!(
        s.proxy.throttled(),
        throttled_off,
        "the paced run was throttled"
    );
    assert!(
        !left_unpaced.is_empty(),
        "the unpaced run's teardown was not throttled"
    );
    assert_eq!(tagged(&s.moto, "us-east-1").await, left_unpaced);

    // A malformed setting is one clear harness error before any call.
    let calls = s.proxy.calls().len();
    let bad = run("rds=lots", "bad");
    assert_eq!(bad.status.code(), Some(30));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("RESTORE_DRILL_API_PACE") && stderr.contains("rds=lots"),
        "{stderr}"
    );
    assert_eq!(s.proxy.calls().len(), calls);
}

/// `[provider] role_arn`: the drill assumes the role through STS from the runner's own
/// credentials, and every call after `AssumeRole` is signed with the role's credentials; the
/// report names the role and its account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_runs_as_its_role_on_every_call_after_assume_role() {
    let s = stand(&["us-east-1"]).await;
    source_instance(&s.moto).await;
    // moto keeps resources per account: the role is in the source's account (moto's default),
    // as a role in another account would not see the source.
    let role = "arn:aws:iam::123456789012:role/restore-drill-runner";
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
    let path = s.dir.path().join("drill.toml");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "[provider]\n",
        &format!(
            "[provider]\nrole_arn = \"{role}\"\nexternal_id = \"dr-campaign-7\"\n\
             session_name = \"drill-orders\"\nduration = \"1h\"\n"
        ),
        1,
    );
    std::fs::write(&path, text).unwrap();
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    let report = ran.report.unwrap();
    let aws = report.aws.as_ref().unwrap();
    assert_eq!(aws.role_arn.as_deref(), Some(role));
    assert_eq!(aws.account.as_deref(), Some("123456789012"));
    assert_eq!(aws.role_session_name.as_deref(), Some("drill-orders"));
    // The SDK's behaviour is pinned to a named version, recorded (issue 17).
    assert_eq!(aws.behavior_version.as_deref(), Some("2026-01-12"));

    let calls = s.proxy.calls();
    let keys = s.proxy.access_keys();
    let first = calls
        .iter()
        .position(|c| c == "AssumeRole")
        .expect("AssumeRole was called");
    assert_eq!(
        calls[..first],
        Vec::<String>::new(),
        "a call went before the role"
    );
    // AssumeRole itself is signed with the runner's credentials (moto's "testing")...
    let base = &keys[first];
    assert_eq!(base, "testing");
    assert_eq!(
        s.proxy.field("AssumeRole", "RoleArn").as_deref(),
        Some(role)
    );
    assert_eq!(
        s.proxy.field("AssumeRole", "ExternalId").as_deref(),
        Some("dr-campaign-7")
    );
    assert_eq!(
        s.proxy.field("AssumeRole", "RoleSessionName").as_deref(),
        Some("drill-orders")
    );
    assert_eq!(
        s.proxy.field("AssumeRole", "DurationSeconds").as_deref(),
        Some("3600")
    );
    // ...and every RDS call with the role's.
    let mut rds = 0;
    for (call, key) in calls.iter().zip(&keys) {
        if call == "AssumeRole" {
            continue;
        }
        rds += 1;
        assert_ne!(key, base, "{call} ran with the runner's own credentials");
        assert!(!key.is_empty(), "{call} was not signed");
    }
    assert!(rds >= 5, "{calls:?}");
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());

    // A role STS will not hand out is one harness error naming it; nothing else is called.
    s.proxy
        .fault("AssumeRole", common::proxy::Fault::ServerError, 100);
    let before = s.proxy.calls().len();
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 30, "stderr:\n{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!("cannot assume role {role}")),
        "{}",
        ran.stderr
    );
    assert!(
        s.proxy.calls()[before..].iter().all(|c| c == "AssumeRole"),
        "{:?}",
        &s.proxy.calls()[before..]
    );
}

/// A role the validator cannot accept is named with its key and line before anything runs.
#[test]
fn role_keys_are_checked_at_validation() {
    let dir = tempfile::tempdir().unwrap();
    let base = drill(
        "http://127.0.0.1:9",
        "[[restore]]\nid = \"orders\"\nkind = \"rds_pitr\"\nsource = \"orders-prod\"\nto = \"latest\"\n[restore.target]\nidentifier = \"drill-{run_id}\"\nsubnet_group = \"g\"\nsecurity_groups = [\"sg-1\"]\n",
        5432,
    );
    for (keys, want) in [
        ("role_arn = \"restore-drill\"\n", "is not an IAM role ARN"),
        (
            "role_arn = \"arn:aws:iam::12345:role/x\"\n",
            "is not an IAM role ARN",
        ),
        ("external_id = \"abc\"\n", "only with role_arn"),
        (
            "role_arn = \"arn:aws:iam::123456789012:role/x\"\nduration = \"13h\"\n",
            "15m to 12h",
        ),
        (
            "role_arn = \"arn:aws:iam::123456789012:role/x\"\nsession_name = \"has space\"\n",
            "key \"session_name\"",
        ),
    ] {
        let path = dir.path().join("drill.toml");
        std::fs::write(
            &path,
            base.replacen("[provider]\n", &format!("[provider]\n{keys}"), 1),
        )
        .unwrap();
        let out = Command::new(BIN)
            .arg("validate")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(20), "{keys}: {stderr}");
        assert!(stderr.contains(want), "{keys}: {stderr}");
        assert!(stderr.contains("drill.toml:"), "no file:line in {stderr}");
    }
}

/// `copy_role_arn` keys are checked at validation, with their line.
#[test]
fn copy_role_keys_are_checked_at_validation() {
    let dir = tempfile::tempdir().unwrap();
    for (keys, want) in [
        (
            "copy_role_arn = \"arn:aws:iam::210987654321:role/restore-drill-dr\"\n",
            "key \"copy_role_arn\" needs \"copy_to_region\"",
        ),
        (
            "copy_to_region = \"us-west-2\"\ncopy_role_arn = \"restore-drill-dr\"\n",
            "key \"copy_role_arn\": \"restore-drill-dr\" is not an IAM role ARN",
        ),
        (
            "copy_to_region = \"us-west-2\"\ncopy_role_arn = \"arn:aws:iam::2109876:role/x\"\n",
            "is not an IAM role ARN",
        ),
    ] {
        let restore = format!(
            "[[restore]]\nid = \"orders\"\nkind = \"rds_snapshot\"\nsource = \"orders-prod\"\n\
             snapshot = \"latest_manual\"\n{keys}[restore.target]\nidentifier = \"drill-{{run_id}}\"\n\
             subnet_group = \"g\"\nsecurity_groups = [\"sg-1\"]\n"
        );
        let path = dir.path().join("drill.toml");
        std::fs::write(&path, drill("http://127.0.0.1:9", &restore, 5432)).unwrap();
        let out = Command::new(BIN)
            .arg("validate")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(20), "{keys}: {stderr}");
        assert!(stderr.contains(want), "{keys}: {stderr}");
        assert!(stderr.contains("drill.toml:"), "no file:line in {stderr}");
    }
}

/// A snapshot copied into a DR account (`copy_to_region` with `copy_role_arn`): the source is
/// read with the runner's credentials, and the copy, the restore and the teardown are signed
/// with the DR role's; the report names the account and the role. A copy into another account
/// needs the snapshot shared with it first: restore-drill checks (read-only) and refuses
/// before creating anything, and never shares it itself.
///
/// moto keeps resources per account but looks a source snapshot's ARN up in the caller's own
/// account, so a real copy across accounts cannot complete on it: the full run uses a DR role
/// in the source's account, and the other-account case is checked up to the copy call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_account_copy_runs_as_the_dr_role_and_needs_the_snapshot_shared() {
    let s = stand(&["us-east-1", "us-west-2"]).await;
    source_instance(&s.moto).await;
    manual_snapshot(&s.moto).await;
    let write = |role: &str| {
        s.write(&format!(
            r#"[[restore]]
id = "orders"
kind = "rds_snapshot"
source = "orders-prod"
snapshot = "latest_manual"
copy_to_region = "us-west-2"
copy_role_arn = "{role}"
[restore.target]
identifier = "drill-orders-{{run_id}}"
instance_class = "db.t4g.medium"
subnet_group = "drill-isolated"
security_groups = ["{}"]"#,
            s.sg
        ))
    };
    let dr = "arn:aws:iam::123456789012:role/restore-drill-dr";
    write(dr);
    let before = describe_all(&s.moto, "us-east-1").await;
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    let report = ran.report.unwrap();
    let target = report.restores[0].target.as_ref().unwrap();
    assert_eq!(target.details["account"], "123456789012");
    assert_eq!(target.details["role_arn"], dr);
    assert_eq!(target.details["region"], "us-west-2");
    let rp = report.restores[0].recovery_point.as_ref().unwrap();
    assert!(
        rp.notes
            .iter()
            .any(|n| n.contains("account 123456789012") && n.contains(dr)),
        "{:?}",
        rp.notes
    );
    assert_eq!(s.proxy.field("AssumeRole", "RoleArn").as_deref(), Some(dr));
    let calls = s.proxy.calls();
    let keys = s.proxy.access_keys();
    let signed = |call: &str| -> Vec<&String> {
        calls
            .iter()
            .zip(&keys)
            .filter(|(c, _)| *c == call)
            .map(|(_, k)| k)
            .collect()
    };
    // The source is looked at as the runner ("testing", moto's default credentials)...
    let looked = signed("DescribeDBSnapshots");
    let first = looked
        .first()
        .expect("resolve described the source snapshot");
    assert_eq!(first.as_str(), "testing");
    // ...and everything that creates or deletes runs as the DR role.
    for call in [
        "CopyDBSnapshot",
        "RestoreDBInstanceFromDBSnapshot",
        "DeleteDBInstance",
        "DeleteDBSnapshot",
    ] {
        let ks = signed(call);
        assert!(!ks.is_empty(), "{call} was not called: {calls:?}");
        for k in ks {
            assert_ne!(k, "testing", "{call} ran with the runner's credentials");
        }
    }
    assert_eq!(tagged(&s.moto, "us-west-2").await, Vec::<String>::new());
    assert_eq!(tagged(&s.moto, "us-east-1").await, Vec::<String>::new());
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before);

    // Another account the snapshot is not shared with: refused at resolve, naming both, and
    // nothing is copied or created.
    let other = "arn:aws:iam::210987654321:role/restore-drill-dr";
    write(other);
    let n = s.proxy.calls().len();
    let ran = run(s.dir.path(), &s.moto, &[]);
    assert_eq!(ran.code, 30, "stderr:\n{}", ran.stderr);
    assert!(
        ran.stderr.contains("orders-manual-1")
            && ran
                .stderr
                .contains("is not shared with account 210987654321")
            && ran.stderr.contains("never changes a source"),
        "{}",
        ran.stderr
    );
    let after: Vec<String> = s.proxy.calls()[n..].to_vec();
    assert!(
        after.contains(&"DescribeDBSnapshotAttributes".to_owned()),
        "{after:?}"
    );
    for write in [
        "CopyDBSnapshot",
        "RestoreDBInstanceFromDBSnapshot",
        "ModifyDBSnapshotAttribute",
    ] {
        assert!(!after.iter().any(|c| c == write), "{write} in {after:?}");
    }

    // Shared by its owner: the check passes and the DR role asks RDS for the copy by the
    // source's full ARN (where moto, not RDS, stops: see above).
    s.moto
        .rds("us-east-1")
        .await
        .modify_db_snapshot_attribute()
        .db_snapshot_identifier("orders-manual-1")
        .attribute_name("restore")
        .values_to_add("210987654321")
        .send()
        .await
        .unwrap();
    let n = s.proxy.calls().len();
    let ran = run(s.dir.path(), &s.moto, &[]);
    let after = &s.proxy.calls()[n..];
    let keys = &s.proxy.access_keys()[n..];
    let copy = after
        .iter()
        .position(|c| c == "CopyDBSnapshot")
        .unwrap_or_else(|| panic!("no copy after sharing: {after:?}\n{}", ran.stderr));
    assert_ne!(keys[copy], "testing");
    assert_eq!(
        s.proxy
            .field("CopyDBSnapshot", "SourceDBSnapshotIdentifier")
            .as_deref(),
        Some("arn:aws:rds:us-east-1:123456789012:snapshot:orders-manual-1")
    );
    assert_eq!(tagged(&s.moto, "us-west-2").await, Vec::<String>::new());
    assert_eq!(describe_all(&s.moto, "us-east-1").await, before);
}
