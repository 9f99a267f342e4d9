//! What moto hides (issue 20), against the SDK's own mocks: each answer is what real RDS
//! sends (statuses moto never shows, errors of eventual consistency), each test named after
//! its item.

use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
use aws_sdk_rds::operation::describe_db_snapshots::{
    DescribeDBSnapshotsError, DescribeDbSnapshotsOutput,
};
use aws_sdk_rds::operation::modify_db_cluster::ModifyDbClusterOutput;
use aws_sdk_rds::operation::modify_db_instance::ModifyDbInstanceOutput;
use aws_sdk_rds::types::error::DbSnapshotNotFoundFault;
use aws_sdk_rds::types::{
    ClusterPendingModifiedValues, DbCluster, DbInstance, DbSnapshot, PendingModifiedValues,
    ServerlessV2ScalingConfigurationInfo,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::api::{automated_backup_region, parse_arn};
use super::copy::wait_snapshot_copy;
use super::prepare::{PASSWORD_GRACE, set_cluster_password, set_instance_password};
use super::resolve::{check_copy_key, refuse_multi_az_cluster};
use super::restore::{serverless_v2_scaling, wait_instance};
use super::state::RdsRestore;
use crate::provider::Blame;

fn instance(status: &str, password_pending: bool) -> DescribeDbInstancesOutput {
    let mut db = DbInstance::builder()
        .db_instance_identifier("drill-orders-r1")
        .db_instance_status(status);
    if password_pending {
        db = db.pending_modified_values(
            PendingModifiedValues::builder()
                .master_user_password("****")
                .build(),
        );
    }
    DescribeDbInstancesOutput::builder()
        .db_instances(db.build())
        .build()
}

fn cluster(status: &str, password_pending: bool) -> DescribeDbClustersOutput {
    let mut c = DbCluster::builder()
        .db_cluster_identifier("drill-ledger-r1")
        .status(status);
    if password_pending {
        c = c.pending_modified_values(
            ClusterPendingModifiedValues::builder()
                .master_user_password("****")
                .build(),
        );
    }
    DescribeDbClustersOutput::builder()
        .db_clusters(c.build())
        .build()
}

/// Item 4: real RDS answers `available` (nothing pending) right after ModifyDBInstance and
/// only then shows `resetting-master-credentials`; the wait must not end on that first look.
#[tokio::test(start_paused = true)]
async fn issue_20_item_4_the_password_wait_ends_only_after_the_reset_was_seen() {
    let modify = mock!(aws_sdk_rds::Client::modify_db_instance)
        .then_output(|| ModifyDbInstanceOutput::builder().build());
    let describe = mock!(aws_sdk_rds::Client::describe_db_instances)
        .sequence()
        .output(|| instance("available", false))
        .output(|| instance("available", true))
        .output(|| instance("resetting-master-credentials", false))
        .output(|| instance("available", false))
        .build();
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&modify, &describe]);
    let w = set_instance_password(&rds, "drill-orders-r1", "pw", None)
        .await
        .unwrap();
    assert_eq!(w.polls, 4, "ended before the new password applied");

    // Aurora clusters the same way.
    let modify = mock!(aws_sdk_rds::Client::modify_db_cluster)
        .then_output(|| ModifyDbClusterOutput::builder().build());
    let describe = mock!(aws_sdk_rds::Client::describe_db_clusters)
        .sequence()
        .output(|| cluster("available", false))
        .output(|| cluster("resetting-master-credentials", true))
        .output(|| cluster("available", false))
        .build();
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&modify, &describe]);
    let w = set_cluster_password(&rds, "drill-ledger-r1", "pw", None)
        .await
        .unwrap();
    assert_eq!(w.polls, 3);

    // A change never seen: `available` is accepted once the grace period has passed.
    let modify = mock!(aws_sdk_rds::Client::modify_db_instance)
        .then_output(|| ModifyDbInstanceOutput::builder().build());
    let describe = mock!(aws_sdk_rds::Client::describe_db_instances)
        .then_output(|| instance("available", false));
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&modify, &describe]);
    let t0 = tokio::time::Instant::now();
    let w = set_instance_password(&rds, "drill-orders-r1", "pw", None)
        .await
        .unwrap();
    assert!(t0.elapsed() >= PASSWORD_GRACE, "{:?}", t0.elapsed());
    assert!(w.polls > 1);
}

/// Item 9: RDS takes the first backup of a restored instance (`backing-up`) while it accepts
/// connections: usable, RTO stops. `stopped` and the incompatible states never clear: the
/// wait fails on the first look, saying what the status means.
#[tokio::test(start_paused = true)]
async fn issue_20_item_9_usable_and_terminal_statuses_end_the_wait_at_once() {
    for usable in [
        "backing-up",
        "configuring-enhanced-monitoring",
        "storage-optimization",
    ] {
        let describe = mock!(aws_sdk_rds::Client::describe_db_instances)
            .then_output(move || instance(usable, false));
        let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe]);
        let w = wait_instance(&rds, "drill-orders-r1", None).await.unwrap();
        assert_eq!(w.polls, 1, "{usable}");
    }
    for (terminal, meaning) in [
        ("incompatible-restore", "RDS cannot restore this backup"),
        ("incompatible-parameters", "parameter group"),
        ("inaccessible-encryption-credentials", "KMS key"),
        ("stopped", "stopped"),
    ] {
        let describe = mock!(aws_sdk_rds::Client::describe_db_instances)
            .then_output(move || instance(terminal, false));
        let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe]);
        let e = wait_instance(&rds, "drill-orders-r1", None)
            .await
            .unwrap_err();
        assert_eq!(e.blame, Blame::Restore, "{}", e.message);
        assert!(
            e.message.starts_with(&format!(
                "RDS instance drill-orders-r1 failed: its status is \"{terminal}\" ("
            )) && e.message.contains(meaning),
            "{}",
            e.message
        );
        assert_eq!(describe.num_calls(), 1, "{terminal}: one look");
    }
}

/// Item 16: right after CopyDBSnapshot, DescribeDBSnapshots may answer DBSnapshotNotFound
/// (eventual consistency): still on its way, not a failed copy.
#[tokio::test(start_paused = true)]
async fn issue_20_item_16_a_copy_not_visible_yet_is_waited_for() {
    let describe = mock!(aws_sdk_rds::Client::describe_db_snapshots)
        .sequence()
        .error(|| {
            DescribeDBSnapshotsError::DbSnapshotNotFoundFault(
                DbSnapshotNotFoundFault::builder()
                    .message("DBSnapshot drill-copy-r1-orders not found.")
                    .build(),
            )
        })
        .output(|| {
            DescribeDbSnapshotsOutput::builder()
                .db_snapshots(
                    DbSnapshot::builder()
                        .db_snapshot_identifier("drill-copy-r1-orders")
                        .status("creating")
                        .build(),
                )
                .build()
        })
        .output(|| {
            DescribeDbSnapshotsOutput::builder()
                .db_snapshots(
                    DbSnapshot::builder()
                        .db_snapshot_identifier("drill-copy-r1-orders")
                        .status("available")
                        .build(),
                )
                .build()
        })
        .build();
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe]);
    let w = wait_snapshot_copy(&rds, "drill-copy-r1-orders", "us-west-2", None)
        .await
        .unwrap();
    assert_eq!(w.polls, 3);
}

/// Item 6: a Serverless v2 source's scaling range goes to the restored cluster (else its
/// `db.serverless` writer cannot be created); a Multi-AZ DB cluster is refused with the reason.
#[test]
fn issue_20_item_6_serverless_v2_scaling_is_carried_and_multi_az_clusters_refused() {
    let src = DbCluster::builder()
        .db_cluster_identifier("ledger-prod")
        .engine("aurora-postgresql")
        .serverless_v2_scaling_configuration(
            ServerlessV2ScalingConfigurationInfo::builder()
                .min_capacity(0.5)
                .max_capacity(16.0)
                .build(),
        )
        .build();
    let s = serverless_v2_scaling(&src).expect("carried over");
    assert_eq!(
        (s.min_capacity(), s.max_capacity()),
        (Some(0.5), Some(16.0))
    );
    assert!(refuse_multi_az_cluster("ledger-prod", &src).is_ok());
    let provisioned = DbCluster::builder().engine("aurora-postgresql").build();
    assert!(serverless_v2_scaling(&provisioned).is_none());

    let multi_az = DbCluster::builder()
        .db_cluster_identifier("orders-maz")
        .engine("postgres")
        .build();
    let e = refuse_multi_az_cluster("orders-maz", &multi_az).unwrap_err();
    assert!(
        e.message.starts_with(
            "source cluster orders-maz is a Multi-AZ DB cluster (engine postgres), not an Aurora cluster"
        ),
        "{}",
        e.message
    );
}

/// Item 7: an encrypted snapshot cannot be copied to another region without a key there.
#[test]
fn issue_20_item_7_an_encrypted_cross_region_copy_needs_copy_kms_key() {
    let snap = DbSnapshot::builder()
        .db_snapshot_identifier("orders-manual-1")
        .encrypted(true)
        .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/prod")
        .build();
    let mut copy = crate::drill::SnapshotCopy {
        region: "us-west-2".into(),
        kms_key: None,
    };
    let e = check_copy_key(&snap, &copy).unwrap_err();
    assert_eq!(
        e.message,
        "snapshot orders-manual-1 is encrypted (KMS key arn:aws:kms:us-east-1:123456789012:key/prod), \
         and KMS keys do not cross regions: set copy_kms_key to a key in us-west-2 for the copy"
    );
    copy.kms_key = Some("alias/drill-dr".into());
    assert!(check_copy_key(&snap, &copy).is_ok());
    let plain = DbSnapshot::builder().encrypted(false).build();
    copy.kms_key = None;
    assert!(check_copy_key(&plain, &copy).is_ok());
}

/// Item 11: ARNs of every partition are ARNs, and a replicated automated backup's ARN sets
/// the region the restore runs in.
#[test]
fn issue_20_item_11_arns_of_other_partitions_and_the_backups_region() {
    for (arn, region) in [
        (
            "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-x",
            "us-west-2",
        ),
        (
            "arn:aws-cn:rds:cn-northwest-1:123456789012:auto-backup:ab-x",
            "cn-northwest-1",
        ),
        (
            "arn:aws-us-gov:rds:us-gov-west-1:123456789012:auto-backup:ab-x",
            "us-gov-west-1",
        ),
    ] {
        assert_eq!(automated_backup_region(arn), Some(region), "{arn}");
    }
    assert_eq!(automated_backup_region("orders-prod"), None);
    assert_eq!(
        automated_backup_region("arn:aws-cn:rds:cn-north-1:123456789012:db:orders-prod"),
        None
    );
    let a = parse_arn("arn:aws-us-gov:rds:us-gov-east-1:123456789012:db:orders").unwrap();
    assert_eq!(
        (a.partition, a.service, a.region, a.resource),
        ("aws-us-gov", "rds", "us-gov-east-1", "db:orders")
    );
    assert!(parse_arn("orders-prod").is_none());

    // The drill names no target.region: the restore runs where the replicated backup is,
    // not in the provider's region.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("drill.toml");
    std::fs::write(
        &file,
        r#"name = "orders-dr"
tier = "gold"
schedule = "weekly"

[provider]
kind = "aws"
region = "us-east-1"

[[restore]]
id = "orders"
kind = "rds_pitr"
source = "arn:aws-cn:rds:cn-northwest-1:123456789012:auto-backup:ab-orders"
to = "latest"
[restore.target]
identifier = "drill-orders-{run_id}"
subnet_group = "drill-isolated"
security_groups = ["sg-0drill"]
[restore.connect]
database = "orders"
user = "drill"
"#,
    )
    .unwrap();
    let checked = crate::drill::load_drill(&file);
    let plan = checked
        .plan
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    let settings = crate::provider::aws::AwsSettings::of(&plan.provider).unwrap();
    let mut r = RdsRestore::new(&plan, &plan.restores[0], settings).unwrap();
    r.source_region = "us-east-1".into();
    assert_eq!(r.target_region(), "cn-northwest-1");
}
