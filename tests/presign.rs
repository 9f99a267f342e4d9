//! The `PreSignedUrl` of cross-region RDS calls (issue 17), byte for byte what botocore
//! generates (`botocore.handlers.inject_presigned_url_rds`, run from the test venv that holds
//! moto) for the same credentials, time, regions and parameters.

mod common;

use std::process::Command;
use std::time::{Duration, SystemTime};

use restore_drill::provider::aws::presign::{Keys, presigned_url};

/// Prints the PreSignedUrl botocore injects into `op` called in `dest` with `SourceRegion` =
/// `src`, at a fixed time, without sending anything.
const BOTOCORE: &str = r#"
import datetime, json, sys
from urllib.parse import parse_qs
import botocore.auth, botocore.session
a = json.loads(sys.argv[1])
fixed = datetime.datetime.fromtimestamp(a["time"], datetime.timezone.utc)
botocore.auth.get_current_datetime = lambda *x, **k: fixed
client = botocore.session.get_session().create_client(
    "rds", region_name=a["dest"], aws_access_key_id=a["key"],
    aws_secret_access_key=a["secret"], aws_session_token=a.get("token"))
class Sent(Exception):
    pass
seen = {}
def grab(request, **kw):
    body = request.body.decode() if isinstance(request.body, bytes) else request.body
    seen["url"] = parse_qs(body)["PreSignedUrl"][0]
    raise Sent()
client.meta.events.register("before-send.rds.*", grab)
params = dict(a["params"])
params["SourceRegion"] = a["src"]
try:
    getattr(client, a["op"])(**params)
except Sent:
    pass
print(seen["url"])
"#;

fn botocore(
    op: &str,
    params: &[(&str, &str)],
    keys: &Keys,
    src: &str,
    dest: &str,
    time: u64,
) -> String {
    let python = common::root().join("target/moto-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ci/test (it installs moto, with botocore, into target/moto-venv)",
        python.display()
    );
    // Integers stay integers for botocore's validator.
    let params: Vec<(String, serde_json::Value)> = params
        .iter()
        .map(|(k, v)| {
            let v = match v.parse::<i64>() {
                Ok(n) => serde_json::json!(n),
                Err(_) => serde_json::json!(v),
            };
            (k.to_string(), v)
        })
        .collect();
    let arg = serde_json::json!({
        "op": op, "params": params, "src": src, "dest": dest, "time": time,
        "key": keys.access_key_id, "secret": keys.secret_access_key, "token": keys.session_token,
    });
    let out = Command::new(python)
        .args(["-c", BOTOCORE])
        .arg(arg.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "botocore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

const TIME: u64 = 1_796_041_234; // 2026-11-30T12:20:34Z

fn keys(token: bool) -> Keys {
    Keys {
        access_key_id: "AKIDEXAMPLE7RESTORE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: token
            .then(|| "IQoJb3JpZ2luX2VjEJ//////////wEaCXVzLWVhc3QtMSJH+test=".into()),
    }
}

fn same(action: &str, op: &str, params: &[(&str, &str)], token: bool) {
    let k = keys(token);
    let (src, dest) = ("us-east-1", "us-west-2");
    let ours = presigned_url(
        action,
        params,
        &k,
        src,
        dest,
        SystemTime::UNIX_EPOCH + Duration::from_secs(TIME),
    )
    .unwrap();
    let theirs = botocore(op, params, &k, src, dest, TIME);
    assert_eq!(ours, theirs, "{action} (session token: {token})");
    assert!(
        ours.starts_with("https://rds.us-east-1.amazonaws.com/?Action="),
        "{ours}"
    );
    assert!(ours.contains("&DestinationRegion=us-west-2&"), "{ours}");
}

const KEY: &str = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[test]
fn copy_db_snapshot_is_signed_as_botocore_signs_it() {
    let params = [
        (
            "SourceDBSnapshotIdentifier",
            "arn:aws:rds:us-east-1:123456789012:snapshot:rds:orders-prod-2026-11-30-03-10",
        ),
        (
            "TargetDBSnapshotIdentifier",
            "drill-orders-20261130t122034z-7f3a",
        ),
        ("KmsKeyId", KEY),
    ];
    same("CopyDBSnapshot", "copy_db_snapshot", &params, false);
    same("CopyDBSnapshot", "copy_db_snapshot", &params, true);
}

#[test]
fn copy_db_cluster_snapshot_is_signed_as_botocore_signs_it() {
    let params = [
        (
            "SourceDBClusterSnapshotIdentifier",
            "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:ledger-2026-11-30-03-10",
        ),
        (
            "TargetDBClusterSnapshotIdentifier",
            "drill-ledger-20261130t122034z-7f3a",
        ),
        ("KmsKeyId", KEY),
    ];
    same(
        "CopyDBClusterSnapshot",
        "copy_db_cluster_snapshot",
        &params,
        false,
    );
    same(
        "CopyDBClusterSnapshot",
        "copy_db_cluster_snapshot",
        &params,
        true,
    );
}

#[test]
fn start_automated_backups_replication_is_signed_as_botocore_signs_it() {
    let params = [
        (
            "SourceDBInstanceArn",
            "arn:aws:rds:us-east-1:123456789012:db:orders-prod",
        ),
        ("BackupRetentionPeriod", "7"),
        ("KmsKeyId", KEY),
    ];
    same(
        "StartDBInstanceAutomatedBackupsReplication",
        "start_db_instance_automated_backups_replication",
        &params,
        false,
    );
}

#[test]
fn a_different_secret_gives_a_different_signature() {
    // The comparison above can fail: botocore's URL for other credentials differs from ours.
    let params = [
        ("SourceDBSnapshotIdentifier", "a"),
        ("TargetDBSnapshotIdentifier", "b"),
        ("KmsKeyId", KEY),
    ];
    let ours = presigned_url(
        "CopyDBSnapshot",
        &params,
        &keys(false),
        "us-east-1",
        "us-west-2",
        SystemTime::UNIX_EPOCH + Duration::from_secs(TIME),
    )
    .unwrap();
    let mut other = keys(false);
    other.secret_access_key.push('x');
    let theirs = botocore(
        "copy_db_snapshot",
        &params,
        &other,
        "us-east-1",
        "us-west-2",
        TIME,
    );
    assert_ne!(ours, theirs);
    let sig = |u: &str| u.rsplit_once("X-Amz-Signature=").unwrap().1.to_owned();
    assert_ne!(sig(&ours), sig(&theirs));
    assert_eq!(
        ours.rsplit_once("&X-Amz-Signature=").unwrap().0,
        theirs.rsplit_once("&X-Amz-Signature=").unwrap().0
    );
}
