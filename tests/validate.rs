//! `validate` and `plan` on the shipped examples and on a set of bad drill files, each of
//! which must exit 20 with exactly the expected messages.

mod common;

use common::{example_drills, restore_drill, root};

#[test]
fn every_example_drill_validates() {
    let drills = example_drills();
    assert!(
        drills.len() >= 6,
        "one example per restore kind: {drills:?}"
    );
    let run = restore_drill(&["validate", "drills"]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    for d in &drills {
        assert!(
            run.stdout.contains(&format!("ok       {d}")),
            "{d} not ok:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains(&format!(
        "{} drill files checked: {} valid, 0 invalid",
        drills.len(),
        drills.len()
    )));
    assert_eq!(run.stderr, "", "the examples carry no warnings");
}

#[test]
fn every_restore_kind_has_an_example() {
    let mut kinds = std::collections::BTreeSet::new();
    for d in example_drills() {
        let text = std::fs::read_to_string(root().join(&d)).unwrap();
        for line in text.lines() {
            if let Some(k) = line.strip_prefix("kind = \"") {
                kinds.insert(k.trim_end_matches('"').to_owned());
            }
        }
    }
    for kind in [
        "pg_pitr",
        "rds_pitr",
        "rds_snapshot",
        "rds_cluster_pitr",
        "s3_versions",
        "backup_recovery_point",
        "rds_cluster_snapshot",
    ] {
        assert!(kinds.contains(kind), "no example drill of kind {kind}");
    }
}

#[test]
fn plan_prints_every_example() {
    for d in example_drills() {
        let run = restore_drill(&["plan", &d]);
        assert_eq!(run.code, 0, "{d}: {}", run.stderr);
        assert!(run.stdout.starts_with("drill     "), "{d}:\n{}", run.stdout);
        assert!(run.stdout.contains("restore \""), "{d}:\n{}", run.stdout);
        assert!(
            run.stdout.contains("restore-drill:run-id={run_id}"),
            "{d}: tags missing"
        );
        assert!(
            run.stdout.contains("RTO = detection allowance"),
            "{d}: targets missing"
        );
        assert!(run.stdout.contains("Nothing was contacted"), "{d}");
    }
}

#[test]
fn plan_shows_targets_tags_and_tier() {
    let run = restore_drill(&["plan", "drills/orders-rds-pitr.toml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "tier      gold: RPO 5m, RTO 15m, a passing drill at least every 30d",
        "  from      RDS instance \"orders-prod\", point in time: the incident time",
        "  into      RDS instance \"drill-orders-{run_id}\" (in us-west-2, db.t4g.medium); deleted at teardown, no final snapshot",
        "  network   subnet group drill-isolated; security groups sg-0drill; not publicly accessible, single-AZ, no deletion protection",
        "  tags      restore-drill:run-id={run_id}, restore-drill:drill=orders-rds-pitr, restore-drill:expires-at=<run start + 4h>",
        "  check     orders are back: sql `select count(*) from orders` expects >= 1000",
        "RPO = incident time - newest data present, from the data (freshness checks on \"orders\"); target 5m.",
    ] {
        assert!(
            run.stdout.lines().any(|l| l == expected),
            "missing line {expected:?} in:\n{}",
            run.stdout
        );
    }
}

#[test]
fn plan_uses_tiers_toml_beside_the_drill() {
    let run = restore_drill(&["plan", "drills/ledger-aurora.toml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(
        "tier      platinum: RPO 1m, RTO 5m, a passing drill at least every 7d (from drills/tiers.toml)"
    ));
}

/// Each bad file, and exactly what `validate` must say about it.
const BAD: &[(&str, &[&str])] = &[
    (
        "unknown-key",
        &[
            "unknown-key.toml:14:1: restore \"orders\": unknown key \"target.instnce_class\" (did you mean \"instance_class\"?)",
        ],
    ),
    (
        "wrong-type",
        &[
            "wrong-type.toml:16:19: restore \"orders\": key \"target.security_groups\": expected an array, found string \"sg-0drill\"",
        ],
    ),
    (
        "missing-key",
        &["missing-key.toml:9:1: restore \"orders\": missing required key \"source\""],
    ),
    (
        // Issue 19: every missing key at once, not one per run of `validate`.
        "missing-keys",
        &[
            "missing-keys.toml:1:1: missing required key \"name\"",
            "missing-keys.toml:1:1: missing required key \"tier\"",
            "missing-keys.toml:1:1: missing required key \"schedule\"",
        ],
    ),
    (
        // ... also inside a table of a restore.
        "missing-nested-keys",
        &[
            "missing-nested-keys.toml:16:1: restore \"shop\": missing required key \"connect.database\"",
            "missing-nested-keys.toml:16:1: restore \"shop\": missing required key \"connect.user\"",
        ],
    ),
    (
        "duplicate-id",
        &[
            "duplicate-id.toml:23:6: restore \"orders\": duplicate restore id \"orders\" (first defined on line 10)",
        ],
    ),
    (
        "dangling-check",
        &[
            "dangling-check.toml:10:6: warning: restore \"orders\": no [[check]] names this restore: the drill will prove it restores, not that the data is right",
            "dangling-check.toml:23:11: check #1: key \"restore\": no restore has the id \"ordrs\" (did you mean \"orders\"?)",
        ],
    ),
    (
        "unknown-tier",
        &[
            "unknown-tier.toml:2:8: key \"tier\": unknown tier \"platnum\" (known tiers: bronze, gold, silver; define more in tiers.toml beside the drill)",
        ],
    ),
    (
        "target-equals-source",
        &[
            "target-equals-source.toml:14:14: restore \"orders\": key \"target.identifier\": the target \"orders-prod\" is the source itself; a drill never writes to its source (use a name with {run_id})",
        ],
    ),
    (
        "overlapping-s3-prefix",
        &[
            "overlapping-s3-prefix.toml:16:10: restore \"invoices\": target \"s3://invoices-prod/2026/drill/{run_id}/\" overlaps the source \"s3://invoices-prod/2026/\": a restore must never write under its source; use another bucket or a prefix outside the source's",
        ],
    ),
    (
        "negative-duration",
        &[
            "negative-duration.toml:10:20: incident: key \"detect_allowance\": duration \"-5m\" is negative; durations must be positive",
        ],
    ),
    (
        // Issue 15 item 2: only documented units, at most ten years; nothing that could
        // overflow a time later gets past validation.
        "absurd-times",
        &[
            "absurd-times.toml:10:6: incident: key \"at\": invalid relative time \"-300000y\" (expected e.g. \"-30m\" or \"-2h\"): invalid duration \"300000y\": \"y\" is not a unit; write whole numbers with s, m, h or d, e.g. \"90s\", \"15m\", \"4h\", \"1h 30m\" or \"30d\"",
            "absurd-times.toml:11:20: incident: key \"detect_allowance\": invalid duration \"1.5h\": fractions are not allowed; write whole numbers with s, m, h or d, e.g. \"90s\", \"15m\", \"4h\", \"1h 30m\" or \"30d\"",
            "absurd-times.toml:14:11: timeouts: key \"restore\": invalid duration \"99999999999d\": it is longer than ten years (3650d); write whole numbers with s, m, h or d, e.g. \"90s\", \"15m\", \"4h\", \"1h 30m\" or \"30d\"",
            "absurd-times.toml:15:10: timeouts: key \"verify\": invalid duration \"100ms\": \"ms\" is not a unit; write whole numbers with s, m, h or d, e.g. \"90s\", \"15m\", \"4h\", \"1h 30m\" or \"30d\"",
            "absurd-times.toml:21:6: restore \"orders\": key \"to\": invalid relative time \"-2w\" (expected e.g. \"-30m\" or \"-2h\"): invalid duration \"2w\": \"w\" is not a unit; write whole numbers with s, m, h or d, e.g. \"90s\", \"15m\", \"4h\", \"1h 30m\" or \"30d\"",
        ],
    ),
    (
        // Issue 17: an Aurora cluster snapshot's keys, each problem with its line.
        "cluster-snapshot-keys",
        &[
            "cluster-snapshot-keys.toml:14:6: restore \"ledger\": key \"to\" has no meaning when \"snapshot\" names a snapshot (\"ledger-manual-1\"); remove one of them",
            "cluster-snapshot-keys.toml:18:10: restore \"ledger\": key \"target.region\" (\"us-east-1\") differs from \"copy_to_region\" (\"eu-central-1\"): the copy is restored where it was copied",
            "cluster-snapshot-keys.toml:29:16: restore \"ledger-b\": key \"copy_kms_key\" needs \"copy_to_region\"",
            "cluster-snapshot-keys.toml:31:14: restore \"ledger-b\": missing \"target.subnet_group\": without an isolated DB subnet group the restore lands in the default VPC, next to production; name one, or set target.allow_shared_network = true",
            "cluster-snapshot-keys.toml:31:14: restore \"ledger-b\": missing \"target.security_groups\": without them the restore gets the VPC's default security group; name isolated ones, or set target.allow_shared_network = true",
            "cluster-snapshot-keys.toml:32:23: restore \"ledger-b\": key \"target.instance_identifier\": the target \"ledger-prod\" is the source itself; a drill never writes to its source (use a name with {run_id})",
        ],
    ),
    (
        // Issue 17: an AWS Backup target must fit the recovery point's resource type.
        "backup-target-misfit",
        &[
            "backup-target-misfit.toml:16:10: restore \"invoices\": key \"target.bucket\": the target \"invoices-archive\" is the source itself; a drill never writes to its source (use a name with {run_id})",
            "backup-target-misfit.toml:17:10: restore \"invoices\": key \"target.prefix\": an AWS Backup restore of an S3 recovery point keeps each object's own key (StartRestoreJob has no destination prefix); restore into a new bucket named with {run_id} (target.bucket) instead",
            "backup-target-misfit.toml:18:16: restore \"invoices\": key \"target.subnet_group\": an S3 recovery point restores into a bucket (target.bucket), not a database (recovery points of arn:aws:s3:::invoices-archive are of type S3)",
            "backup-target-misfit.toml:21:6: restore \"ledger\": key \"target.instance_class\": an Aurora recovery point restores a cluster without instances: target.instance_class names the class of the one instance added (recovery points of arn:aws:rds:us-east-1:123456789012:cluster:ledger-prod are of type Aurora)",
        ],
    ),
    (
        "invalid-cron",
        &[
            "invalid-cron.toml:3:12: key \"schedule\": invalid cron expression \"0 6 32 * *\": day of month 32 is out of range 1-31",
        ],
    ),
    (
        "not-toml",
        &[
            "not-toml.toml:1:6: not valid TOML: key with no value, expected \"=\"",
            "not-toml.toml:2:9: not valid TOML: key with no value, expected \"=\"",
        ],
    ),
    (
        "three-problems",
        &[
            "three-problems.toml:13:6: restore \"orders\": key \"to\": invalid restore point \"yesterday\": expected \"latest\", \"incident\", a negative offset from the incident such as \"-15m\", or an RFC 3339 timestamp",
            "three-problems.toml:25:10: check #1: key \"expect\": invalid expectation \"about 1000\": expected one of \"= N\", \"!= N\", \"> N\", \">= N\", \"< N\", \"<= N\", \"between A and B\", \"matches REGEX\" or \"no rows\"",
            "three-problems.toml:28:11: check #2: key \"restore\": no restore has the id \"orderz\" (did you mean \"orders\"?)",
        ],
    ),
];

#[test]
fn each_bad_drill_exits_20_with_the_exact_messages() {
    let dir = "tests/fixtures/invalid";
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".toml")
                .to_owned()
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = BAD.iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "every fixture has its expected messages here"
    );

    for (name, expected) in BAD {
        let file = format!("{dir}/{name}.toml");
        let run = restore_drill(&["validate", &file]);
        assert_eq!(run.code, 20, "{file} must be invalid:\n{}", run.stderr);
        let want: Vec<String> = expected.iter().map(|l| format!("{dir}/{l}")).collect();
        let got: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(got, want, "{file}");
        assert!(
            run.stdout.contains(&format!("INVALID  {file}")),
            "{}",
            run.stdout
        );

        // `plan` refuses the same file with the same messages.
        let plan = restore_drill(&["plan", &file]);
        assert_eq!(plan.code, 20, "{file}");
        assert!(plan.stdout.is_empty(), "no plan for an invalid drill");
        assert!(
            plan.stderr.starts_with(&want.join("\n")),
            "{file}: {}",
            plan.stderr
        );
    }
}

#[test]
fn three_problems_are_reported_together() {
    let run = restore_drill(&["validate", "tests/fixtures/invalid/three-problems.toml"]);
    assert_eq!(run.code, 20);
    assert_eq!(run.stderr.lines().count(), 3, "{}", run.stderr);
    assert!(run.stdout.contains("(3 problems)"), "{}", run.stdout);
}

#[test]
fn a_directory_mixes_valid_and_invalid_files() {
    let run = restore_drill(&["validate", "drills", "tests/fixtures/invalid"]);
    assert_eq!(run.code, 20);
    assert!(run.stdout.contains("ok       drills/demo-local.toml"));
    assert!(
        run.stdout
            .contains("INVALID  tests/fixtures/invalid/not-toml.toml (2 problems)")
    );
    let n = example_drills().len();
    let bad = BAD.len();
    assert!(
        run.stdout.contains(&format!(
            "{} drill files checked: {n} valid, {bad} invalid",
            n + bad
        )),
        "{}",
        run.stdout
    );
}

/// Issue 19: `validate drills/*.toml` names tiers.toml too; it is checked as a tiers file.
#[test]
fn a_tiers_file_given_by_name_is_checked_as_one() {
    let run = restore_drill(&["validate", "drills/tiers.toml", "drills/demo-local.toml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("ok       drills/tiers.toml (tiers file)\n")
    );
    assert!(run.stdout.contains(
        "1 drill file checked: 1 valid, 0 invalid\n1 tiers file checked: 1 valid, 0 invalid"
    ));

    let bad = restore_drill(&["validate", "tests/fixtures/tiers-bad/tiers.toml"]);
    assert_eq!(bad.code, 20);
    assert!(
        bad.stderr
            .starts_with("tests/fixtures/tiers-bad/tiers.toml:3:7: tier \"fast\": key \"rto\""),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stdout
            .contains("INVALID  tests/fixtures/tiers-bad/tiers.toml (tiers file, 1 problem)")
    );
}

#[test]
fn a_bad_tiers_file_is_named() {
    let run = restore_drill(&["validate", "tests/fixtures/tiers-bad/drill.toml"]);
    assert_eq!(run.code, 20);
    assert_eq!(
        run.stderr.trim_end(),
        "tests/fixtures/tiers-bad/tiers.toml:3:7: tier \"fast\": key \"rto\": invalid duration \"five minutes\": expected a number and a unit, e.g. \"90s\", \"15m\", \"4h\" or \"30d\""
    );
}

#[test]
fn missing_paths_and_empty_directories_are_errors() {
    let run = restore_drill(&["validate", "no/such/drill.toml"]);
    assert_eq!(run.code, 20);
    assert_eq!(
        run.stderr.trim_end(),
        "error: no/such/drill.toml: no such file or directory"
    );

    let run = restore_drill(&["validate", "tests/fixtures/empty-dir"]);
    assert_eq!(run.code, 20);
    assert_eq!(
        run.stderr.trim_end(),
        "error: tests/fixtures/empty-dir: no drill files (*.toml) in this directory"
    );

    // plan finds its files as validate and run do, and says so the same way.
    let run = restore_drill(&["plan", "no/such/drill.toml"]);
    assert_eq!(run.code, 20);
    assert_eq!(
        run.stderr.trim_end(),
        "error: no/such/drill.toml: no such file or directory"
    );
}

#[test]
fn a_file_that_is_not_text_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("binary.toml");
    std::fs::write(&file, [0xff, 0xfe, 0x00, 0x80, b'\n']).unwrap();
    let run = restore_drill(&["validate", file.to_str().unwrap()]);
    assert_eq!(run.code, 20);
    assert!(
        run.stderr
            .ends_with(":1:1: not valid TOML: the file is not UTF-8 text\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn help_explains_every_command_with_an_example() {
    let top = restore_drill(&["--help"]);
    assert_eq!(top.code, 0);
    for word in [
        "validate",
        "plan",
        "Exit codes:",
        "20   a drill file is invalid",
    ] {
        assert!(
            top.stdout.contains(word),
            "--help lacks {word:?}:\n{}",
            top.stdout
        );
    }
    for cmd in ["validate", "plan"] {
        let run = restore_drill(&[cmd, "--help"]);
        assert_eq!(run.code, 0);
        assert!(
            run.stdout.contains("Example"),
            "{cmd} --help has no example:\n{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&format!("restore-drill {cmd}")),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn the_format_guide_shows_every_example_verbatim() {
    let guide = std::fs::read_to_string(root().join("drills/README.md")).unwrap();
    for d in example_drills()
        .into_iter()
        .chain(["drills/tiers.toml".to_owned()])
    {
        let text = std::fs::read_to_string(root().join(&d)).unwrap();
        assert!(
            guide.contains(&text),
            "drills/README.md does not show {d} as it is"
        );
    }
}

#[test]
fn item_7_a_password_in_password_env_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/invalid/negative-duration.toml"))
            .unwrap()
            .replace("detect_allowance = \"-5m\"", "detect_allowance = \"5m\"")
            .replace("\"ORDERS_DRILL_PASSWORD\"", "\"Tr0ub4dor&3-horse\"");
    let file = dir.path().join("drill.toml");
    std::fs::write(&file, text).unwrap();
    for cmd in ["validate", "plan"] {
        let run = restore_drill(&[cmd, file.to_str().unwrap()]);
        assert_eq!(run.code, 20, "{}", run.stderr);
        assert!(
            !run.stderr.contains("Tr0ub4dor") && !run.stdout.contains("Tr0ub4dor"),
            "{cmd} echoed the secret:\n{}{}",
            run.stdout,
            run.stderr
        );
        assert!(
            run.stderr.contains(
                "drill.toml:23:16: restore \"orders\": key \"connect.password_env\": the value is not an environment variable name"
            ),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn item_5_two_drills_with_one_name_are_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("drills/demo-local.toml")).unwrap();
    std::fs::write(dir.path().join("a.toml"), &text).unwrap();
    std::fs::write(dir.path().join("b.toml"), &text).unwrap();
    let d = dir.path().display().to_string();
    for cmd in [
        &["validate", &d][..],
        &["run", &d, "--reports", &format!("{d}/r")][..],
    ] {
        let run = restore_drill(cmd);
        assert_eq!(run.code, 20, "{}{}", run.stdout, run.stderr);
        for (me, other) in [("a", "b"), ("b", "a")] {
            assert!(
                run.stderr.contains(&format!(
                    "{d}/{me}.toml:5:1: key \"name\": drill name \"demo-local\" is also the name of {d}/{other}.toml"
                )),
                "{}",
                run.stderr
            );
        }
    }
    assert!(!dir.path().join("r").exists(), "nothing ran");
}

#[test]
fn item_10_targets_no_run_can_meet_are_warned() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = std::fs::read_to_string(root().join("drills/ledger-aurora.toml"))
        .unwrap()
        .replace("at = \"now\"", "at = \"-30m\"")
        .replace("to = \"incident\"", "to = \"-15m\"");
    std::fs::write(dir.path().join("ledger.toml"), ledger).unwrap();
    std::fs::copy(
        root().join("drills/tiers.toml"),
        dir.path().join("tiers.toml"),
    )
    .unwrap();
    let fixed = std::fs::read_to_string(root().join("drills/invoices-s3.toml"))
        .unwrap()
        .replacen("at = \"now\"", "at = \"2026-11-21T13:00:00Z\"", 1);
    std::fs::write(dir.path().join("invoices.toml"), fixed).unwrap();
    std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
    std::fs::copy(
        root().join("drills/manifests/invoices-2026.json"),
        dir.path().join("manifests/invoices-2026.json"),
    )
    .unwrap();
    let d = dir.path().display().to_string();
    let run = restore_drill(&["validate", &d]);
    assert_eq!(
        run.code, 0,
        "warnings do not make a drill invalid: {}",
        run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stderr);
    assert!(lines[0].starts_with(&format!(
        "{d}/invoices.toml:1:1: warning: incident: the time since the fixed incident at 2026-11-21T13:00:00Z ("
    )), "{}", lines[0]);
    assert!(lines[0].ends_with(
        "by now) plus detect_allowance (10m) reaches tier \"silver\"'s RTO target (4h): no run can meet it"
    ), "{}", lines[0]);
    assert_eq!(
        lines[1],
        format!(
            "{d}/ledger.toml:1:1: warning: incident: the incident lead (30m) plus detect_allowance (1m) reaches tier \"platinum\"'s RTO target (5m): no run can meet it"
        )
    );
    assert!(
        lines[2].starts_with(&format!("{d}/ledger.toml:")),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with(
        "warning: restore \"ledger\": key \"to\": restoring to 15m before the incident loses at least that much, more than tier \"platinum\"'s RPO target (1m): no run can meet it"
    ), "{}", lines[2]);
}

#[test]
fn item_6_files_a_drill_reads_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("drills/orders-rds-pitr.toml"),
        dir.path().join("drill.toml"),
    )
    .unwrap();
    let d = dir.path().display().to_string();
    let file = format!("{d}/drill.toml");
    let run = restore_drill(&["validate", &file]);
    assert_eq!(run.code, 20, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "{file}:38:13: restore \"orders\": key \"connect.ca_bundle\": {d}/certs/global-bundle.pem does not exist (paths are relative to the drill file's folder)"
            ),
            format!(
                "{file}:58:26: check #3: key \"reference.manifest\": {d}/manifests/orders.json does not exist (paths are relative to the drill file's folder)"
            ),
        ],
        "{}",
        run.stderr
    );
    // There but wrong: named for what is wrong with it.
    std::fs::create_dir_all(dir.path().join("certs")).unwrap();
    std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("certs/global-bundle.pem"), "not a cert\n").unwrap();
    std::fs::write(dir.path().join("manifests/orders.json"), "{\"rows\": 3}").unwrap();
    let run = restore_drill(&["run", &file, "--reports", &format!("{d}/r")]);
    assert_eq!(run.code, 20, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("global-bundle.pem holds no PEM certificate"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("orders.json is JSON but not a manifest"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("r").exists(), "nothing ran");
}

#[test]
fn item_1_a_backup_restore_never_skips_the_drills_isolation() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("drills/payments-backup.toml")).unwrap();
    // A bucket target for an RDS instance's recovery point: refused (issue 17: it fits S3
    // recovery points only), and the isolation is still required.
    let bucket = text
        .replace(
            "subnet_group = \"drill-isolated\"\n",
            "bucket = \"drill-bucket\"\n",
        )
        .replace("security_groups = [\"sg-0drill\"]\n", "");
    let file = dir.path().join("drill.toml");
    std::fs::write(&file, bucket).unwrap();
    let run = restore_drill(&["validate", file.to_str().unwrap()]);
    assert_eq!(run.code, 20, "{}", run.stderr);
    assert!(
        run.stderr.contains("key \"target.bucket\": a database recovery point (RDS or Aurora) is restored into an instance or cluster, not a bucket (recovery points of arn:aws:rds:us-east-1:123456789012:db:payments-prod are of type RDS)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("subnet_group"), "{}", run.stderr);
}

/// `plan` takes files and folders like `validate` and `run` (issue 19), and a `tiers.toml`
/// named among the drills (`drills/*.toml` in a shell) is read as the tiers file beside them,
/// not as a drill, by `plan`, `due` and `schedule export` too.
#[test]
fn plan_takes_files_and_folders_and_tiers_toml_is_never_a_drill() {
    let all = restore_drill(&["plan", "drills/"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    let n = std::fs::read_dir("drills")
        .unwrap()
        .filter(|e| {
            let p = e.as_ref().unwrap().path();
            p.extension().is_some_and(|x| x == "toml") && !p.ends_with("tiers.toml")
        })
        .count();
    assert_eq!(
        all.stdout.matches("\ndrill ").count() + usize::from(all.stdout.starts_with("drill ")),
        n,
        "{}",
        all.stdout
    );
    let two = restore_drill(&["plan", "drills/tiers.toml", "drills/demo-local.toml"]);
    assert_eq!(two.code, 0, "{}", two.stderr);
    assert!(two.stdout.contains("demo-local"), "{}", two.stdout);
    assert!(!two.stderr.contains("tiers.toml"), "{}", two.stderr);
    let due = restore_drill(&[
        "due",
        "drills/tiers.toml",
        "drills/demo-local.toml",
        "--reports",
        "/nonexistent-reports",
    ]);
    assert!(!due.stderr.contains("tiers.toml"), "{}", due.stderr);
    assert_ne!(due.code, 20, "{}", due.stderr);
    // One invalid file among valid ones: every plan is shown, and exit 20.
    let bad = restore_drill(&[
        "plan",
        "drills/demo-local.toml",
        "tests/fixtures/invalid/missing-keys.toml",
    ]);
    assert_eq!(bad.code, 20);
    assert!(bad.stdout.contains("demo-local"), "{}", bad.stdout);
}
