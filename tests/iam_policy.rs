//! The IAM policies in `ci/`: each one valid JSON and within IAM's 6,144-character limit of
//! a managed policy (whitespace does not count), and together granting every action the
//! code calls: the S3 calls are found in the source (every `.operation().bucket(…)` and
//! `list_buckets`), so a new call without a policy line fails here.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

/// IAM's limit for a customer managed policy, whitespace excluded.
const MANAGED_POLICY_LIMIT: usize = 6144;

const DRILL: &str = "ci/iam-policy.json";
const S3: &str = "ci/iam-policy-s3.json";
const SWEEP: &str = "ci/iam-policy-sweep.json";

/// Each S3 operation the code calls → the IAM actions it needs and the policies that grant
/// them (drills in `iam-policy-s3.json`, `restore-drill sweep` in `iam-policy-sweep.json`).
const S3_CALLS: &[(&str, &[&str], &[&str])] = &[
    (
        "list_object_versions",
        &["s3:ListBucketVersions"],
        &[S3, SWEEP],
    ),
    ("list_objects_v2", &["s3:ListBucket"], &[S3, SWEEP]),
    ("head_bucket", &["s3:ListBucket"], &[S3]),
    (
        "get_bucket_location",
        &["s3:GetBucketLocation"],
        &[S3, SWEEP],
    ),
    (
        "head_object",
        &["s3:GetObjectVersion", "s3:GetObject"],
        &[S3],
    ),
    (
        "get_object_attributes",
        &["s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"],
        &[S3],
    ),
    (
        "get_object",
        &["s3:GetObject", "s3:GetObjectVersion"],
        &[S3, SWEEP],
    ),
    ("get_object_tagging", &["s3:GetObjectVersionTagging"], &[S3]),
    (
        "copy_object",
        &["s3:PutObject", "s3:PutObjectTagging", "s3:GetObjectVersion"],
        &[S3],
    ),
    (
        "upload_part_copy",
        &["s3:PutObject", "s3:GetObjectVersion"],
        &[S3],
    ),
    ("create_multipart_upload", &["s3:PutObject"], &[S3]),
    ("complete_multipart_upload", &["s3:PutObject"], &[S3]),
    (
        "abort_multipart_upload",
        &["s3:AbortMultipartUpload"],
        &[S3, SWEEP],
    ),
    (
        "list_multipart_uploads",
        &["s3:ListBucketMultipartUploads"],
        &[S3, SWEEP],
    ),
    ("put_object", &["s3:PutObject"], &[S3]),
    (
        "delete_objects",
        &["s3:DeleteObject", "s3:DeleteObjectVersion"],
        &[S3, SWEEP],
    ),
    ("delete_bucket", &["s3:DeleteBucket"], &[S3, SWEEP]),
    ("create_bucket", &["s3:CreateBucket"], &[S3]),
    ("put_bucket_tagging", &["s3:PutBucketTagging"], &[S3]),
    // Sweep reads run tags; a Backup S3 restore's teardown checks its bucket's.
    ("get_bucket_tagging", &["s3:GetBucketTagging"], &[S3, SWEEP]),
    ("list_buckets", &["s3:ListAllMyBuckets"], &[SWEEP]),
    (
        "get_object_lock_configuration",
        &["s3:GetBucketObjectLockConfiguration"],
        &[S3],
    ),
    ("get_object_retention", &["s3:GetObjectRetention"], &[S3]),
];

/// Actions beyond the S3 calls: KMS for SSE-KMS copies, the lock an evidence upload sets,
/// and what RDS and AWS Backup drills and the sweep of their leftovers call.
const OTHER: &[(&str, &[&str])] = &[
    (
        S3,
        &[
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:DescribeKey",
            "s3:PutObjectRetention",
        ],
    ),
    (
        DRILL,
        &[
            "rds:DescribeDBInstances",
            "rds:DescribeDBClusters",
            "rds:DescribeDBSnapshots",
            "rds:DescribeDBInstanceAutomatedBackups",
            "rds:DescribeDBClusterSnapshots",
            "rds:RestoreDBClusterFromSnapshot",
            "rds:CopyDBClusterSnapshot",
            "rds:DeleteDBClusterSnapshot",
            "kms:CreateGrant",
            "kms:DescribeKey",
            "rds:RestoreDBInstanceToPointInTime",
            "rds:RestoreDBInstanceFromDBSnapshot",
            "rds:RestoreDBClusterToPointInTime",
            "rds:CreateDBInstance",
            "rds:CopyDBSnapshot",
            "rds:AddTagsToResource",
            "rds:DeleteDBInstance",
            "rds:DeleteDBCluster",
            "rds:DeleteDBSnapshot",
            "rds:ModifyDBInstance",
            "rds:ModifyDBCluster",
            "backup:DescribeRecoveryPoint",
            "backup:DescribeRestoreJob",
            "backup:GetRecoveryPointRestoreMetadata",
            "backup:ListRecoveryPointsByBackupVault",
            "backup:StartRestoreJob",
            "backup:PutRestoreValidationResult",
            "iam:PassRole",
        ],
    ),
    (
        SWEEP,
        &[
            "rds:DescribeDBInstances",
            "rds:DescribeDBClusters",
            "rds:DescribeDBSnapshots",
            "rds:DeleteDBInstance",
            "rds:DeleteDBCluster",
            "rds:DeleteDBSnapshot",
            "rds:DescribeDBClusterSnapshots",
            "rds:DeleteDBClusterSnapshot",
        ],
    ),
];

fn load(file: &str) -> Value {
    let text = std::fs::read_to_string(common::root().join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not valid JSON: {e}"))
}

/// The actions `policy` allows (as written: exact names or `service:*`).
fn allowed(policy: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in policy["Statement"].as_array().expect("a Statement list") {
        if s["Effect"] != "Allow" {
            continue;
        }
        match &s["Action"] {
            Value::String(a) => {
                out.insert(a.clone());
            }
            Value::Array(all) => {
                out.extend(all.iter().filter_map(|a| a.as_str().map(str::to_owned)))
            }
            other => panic!("an Action that is neither a string nor a list: {other}"),
        }
    }
    out
}

fn grants(allowed: &BTreeSet<String>, action: &str) -> bool {
    let service = action.split(':').next().unwrap_or_default();
    allowed.contains(action) || allowed.contains(&format!("{service}:*"))
}

#[test]
fn each_policy_is_valid_json_within_the_managed_policy_limit() {
    for file in [DRILL, S3, SWEEP] {
        let policy = load(file);
        assert_eq!(policy["Version"], "2012-10-17", "{file}");
        let compact = serde_json::to_string(&policy).unwrap();
        let size = compact.chars().filter(|c| !c.is_whitespace()).count();
        assert!(
            size <= MANAGED_POLICY_LIMIT,
            "{file} is {size} characters without whitespace, over IAM's {MANAGED_POLICY_LIMIT}"
        );
        let sids: Vec<&str> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap_or_default())
            .collect();
        let unique: BTreeSet<&str> = sids.iter().copied().collect();
        assert_eq!(unique.len(), sids.len(), "{file}: Sids repeat: {sids:?}");
    }
}

#[test]
fn the_policies_grant_every_action_the_code_calls() {
    let mut missing = Vec::new();
    for (call, actions, files) in S3_CALLS {
        for file in *files {
            let a = allowed(&load(file));
            for action in *actions {
                if !grants(&a, action) {
                    missing.push(format!("{file}: {action} (for {call})"));
                }
            }
        }
    }
    for (file, actions) in OTHER {
        let a = allowed(&load(file));
        for action in *actions {
            if !grants(&a, action) {
                missing.push(format!("{file}: {action}"));
            }
        }
    }
    assert!(missing.is_empty(), "not granted:\n{}", missing.join("\n"));
}

/// Every `.rs` file under `dir`.
fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_s3_call_in_the_code_is_in_the_list_above() {
    let mut files = Vec::new();
    sources(&common::root().join("src"), &mut files);
    let op = regex::Regex::new(r"\.([a-z0-9_]+)\(\)\s*\.(bucket|into_paginator)\(").unwrap();
    let known: BTreeSet<&str> = S3_CALLS.iter().map(|(c, _, _)| *c).collect();
    let mut found = BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for m in op.captures_iter(&text) {
            let name = m[1].to_owned();
            // RDS and Backup paginators are not S3 calls.
            if m[2] == *"into_paginator" && !name.starts_with("list_") {
                continue;
            }
            if name.starts_with("list_")
                && m[2] == *"into_paginator"
                && !known.contains(name.as_str())
            {
                // list_recovery_points_… and other non-S3 paginated lists.
                if !name.contains("bucket") && !name.contains("object") {
                    continue;
                }
            }
            found.insert(name);
        }
    }
    let unknown: Vec<&String> = found
        .iter()
        .filter(|n| !known.contains(n.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "S3 calls with no IAM actions listed in tests/iam_policy.rs (add them and grant them in ci/): {unknown:?}"
    );
    // And the list is not stale: each listed call is made somewhere.
    for call in &known {
        assert!(
            found.contains(*call),
            "tests/iam_policy.rs lists {call}, which the code no longer calls"
        );
    }
}

/// Issue 16: the `RecordStore` statement of `ci/iam-policy.json` grants every S3 action the
/// store (`src/provider/aws/store.rs`) calls, with and without Object Lock retention, and
/// nothing that deletes; runners that assume drill roles may.
#[test]
fn the_record_store_statement_grants_what_the_store_calls_and_no_delete() {
    let policy = load(DRILL);
    let statement = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "RecordStore")
        .expect("a RecordStore statement in ci/iam-policy.json");
    let granted = allowed(&serde_json::json!({ "Statement": [statement] }));
    let text = std::fs::read_to_string(common::root().join("src/provider/aws/store.rs")).unwrap();
    let op = regex::Regex::new(r"\.([a-z0-9_]+)\(\)\s*\.bucket\(").unwrap();
    let calls: BTreeSet<String> = op.captures_iter(&text).map(|m| m[1].to_owned()).collect();
    assert!(
        calls.contains("put_object") && calls.contains("get_object"),
        "{calls:?}"
    );
    let mut missing = Vec::new();
    for call in &calls {
        let (_, actions, _) = S3_CALLS
            .iter()
            .find(|(c, _, _)| c == call)
            .unwrap_or_else(|| panic!("{call} is not in S3_CALLS"));
        // GetObject/HeadObject list the version action first; the store reads latest only.
        let needed: Vec<&&str> = actions.iter().filter(|a| !a.contains("Version")).collect();
        for a in needed {
            if !grants(&granted, a) {
                missing.push(format!("{a} (for {call})"));
            }
        }
    }
    // Locked writes set retention on PutObject.
    for a in [
        "s3:PutObjectRetention",
        "s3:GetBucketObjectLockConfiguration",
    ] {
        if !grants(&granted, a) {
            missing.push(a.to_owned());
        }
    }
    assert!(missing.is_empty(), "RecordStore lacks: {missing:?}");
    assert!(
        !granted
            .iter()
            .any(|a| a.contains("Delete") || a.ends_with(":*")),
        "the store never deletes: {granted:?}"
    );
    assert!(grants(&allowed(&policy), "sts:AssumeRole"));
}

/// `describe_db_cluster_snapshots` → `DescribeDBClusterSnapshots`: an SDK method's IAM action.
fn action_of(method: &str) -> String {
    method
        .split('_')
        .map(|w| match w {
            "db" => "DB".to_owned(),
            w => {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
        })
        .collect()
}

/// Issue 17: every RDS and AWS Backup call in the code (found by its SDK method name) is
/// granted by the drill policy, so a new call without its policy line fails here; and the
/// restore role the drill passes to AWS Backup for S3 is passable.
#[test]
fn every_rds_and_backup_call_in_the_code_is_granted() {
    let mut files = Vec::new();
    sources(&common::root().join("src/provider/aws"), &mut files);
    let rds = regex::Regex::new(
        r"\.((?:describe|restore|copy|delete|create|modify)_db_[a-z_]+|add_tags_to_resource)\(\)",
    )
    .unwrap();
    let backup = regex::Regex::new(
        r"\.(start_restore_job|describe_restore_job|describe_recovery_point|get_recovery_point_restore_metadata|list_recovery_points_by_backup_vault|put_restore_validation_result)\(\)",
    )
    .unwrap();
    let mut actions = BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for m in rds.captures_iter(&text) {
            actions.insert(format!("rds:{}", action_of(&m[1])));
        }
        for m in backup.captures_iter(&text) {
            actions.insert(format!("backup:{}", action_of(&m[1])));
        }
    }
    for a in [
        "rds:RestoreDBClusterFromSnapshot",
        "rds:CopyDBClusterSnapshot",
        "rds:DescribeDBInstanceAutomatedBackups",
        "backup:StartRestoreJob",
    ] {
        assert!(
            actions.contains(a),
            "the scan no longer finds {a}: {actions:?}"
        );
    }
    let granted = allowed(&load(DRILL));
    let missing: Vec<&String> = actions.iter().filter(|a| !grants(&granted, a)).collect();
    assert!(
        missing.is_empty(),
        "{DRILL} does not grant what the code calls: {missing:?}"
    );
    // The drill's PassRole names both restore roles (RDS/Aurora, and S3).
    let policy = load(DRILL);
    let pass = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == "iam:PassRole")
        .expect("a PassRole statement");
    let roles = pass["Resource"].to_string();
    for role in ["role/drill-restore", "role/drill-s3-restore"] {
        assert!(roles.contains(role), "PassRole lacks {role}: {roles}");
    }
    assert_eq!(
        action_of("describe_db_instance_automated_backups"),
        "DescribeDBInstanceAutomatedBackups"
    );
}
