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
use super::resolve::{check_copy_key, check_window, refuse_multi_az_cluster};
use super::restore::{serverless_v2_scaling, wait_instance};
use super::state::{Created, Kind, RdsRestore, TAG_RUN_ID};
use super::teardown::delete_with;
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
        role_arn: None,
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

const REPLICATED: &str = "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-orders";

/// An `rds_pitr` restore of a replicated automated backup (`source` = its ARN).
fn replicated_restore() -> RdsRestore {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("drill.toml");
    std::fs::write(
        &file,
        format!(
            r#"name = "orders-dr"
tier = "gold"
schedule = "weekly"

[provider]
kind = "aws"
region = "us-east-1"

[[restore]]
id = "orders"
kind = "rds_pitr"
source = "{REPLICATED}"
to = "-10m"
[restore.target]
identifier = "drill-orders-{{run_id}}"
subnet_group = "drill-isolated"
security_groups = ["sg-0drill"]
[restore.connect]
database = "orders"
user = "drill"
"#
        ),
    )
    .unwrap();
    let checked = crate::drill::load_drill(&file);
    let plan = checked
        .plan
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    let settings = crate::provider::aws::AwsSettings::of(&plan.provider).unwrap();
    let mut r = RdsRestore::new(&plan, &plan.restores[0], settings).unwrap();
    r.source_region = "us-east-1".into();
    r
}

fn replicated_backup(
    earliest: i64,
    latest: i64,
) -> aws_sdk_rds::operation::describe_db_instance_automated_backups::DescribeDbInstanceAutomatedBackupsOutput
{
    use aws_sdk_rds::primitives::DateTime as AwsTime;
    use aws_sdk_rds::types::{DbInstanceAutomatedBackup, RestoreWindow};
    aws_sdk_rds::operation::describe_db_instance_automated_backups::DescribeDbInstanceAutomatedBackupsOutput::builder()
        .db_instance_automated_backups(
            DbInstanceAutomatedBackup::builder()
                .db_instance_automated_backups_arn(REPLICATED)
                .db_instance_identifier("orders-prod")
                .region("us-east-1")
                .status("replicating")
                .backup_retention_period(7)
                .restore_window(
                    RestoreWindow::builder()
                        .earliest_time(AwsTime::from_secs(earliest))
                        .latest_time(AwsTime::from_secs(latest))
                        .build(),
                )
                .build(),
        )
        .build()
}

/// Issue 17 item 3: the restorable window of a replicated automated backup comes from
/// DescribeDBInstanceAutomatedBackups in the DR region, asked by the backup's ARN (moto has
/// no such API); a point outside it is refused, saying which side.
#[tokio::test]
async fn issue_17_a_replicated_backups_window_is_asked_by_its_arn() {
    let describe = mock!(aws_sdk_rds::Client::describe_db_instance_automated_backups)
        .match_requests(|r| {
            r.db_instance_automated_backups_arn() == Some(REPLICATED)
                && r.db_instance_identifier().is_none()
        })
        .then_output(|| replicated_backup(1_000_000, 1_600_000));
    let rds = mock_client!(aws_sdk_rds, RuleMode::Sequential, &[&describe]);
    let r = replicated_restore();
    assert_eq!(r.target_region(), "us-west-2");
    let w = r
        .backup_window(&rds, REPLICATED, "us-west-2")
        .await
        .unwrap();
    assert_eq!(describe.num_calls(), 1);
    let at = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
    assert_eq!(
        (w.earliest, w.latest, w.retention_days),
        (at(1_000_000), at(1_600_000), 7)
    );
    assert!(check_window(REPLICATED, Some(at(1_500_000)), &w).is_ok());
    let late = check_window(REPLICATED, Some(at(1_600_060)), &w).unwrap_err();
    assert!(
        late.message.starts_with(&format!(
            "{REPLICATED} cannot be restored to 1970-01-19T12:27:40+00:00: its latest restorable time is 1970-01-19T12:26:40+00:00 (1m earlier)"
        )),
        "{}",
        late.message
    );
    let early = check_window(REPLICATED, Some(at(999_000)), &w).unwrap_err();
    assert!(
        early
            .message
            .contains("before the earliest restorable time"),
        "{}",
        early.message
    );

    // A backup without a restore window (replication just started) is refused by name.
    let describe = mock!(aws_sdk_rds::Client::describe_db_instance_automated_backups)
        .then_output(|| {
            aws_sdk_rds::operation::describe_db_instance_automated_backups::DescribeDbInstanceAutomatedBackupsOutput::builder()
                .db_instance_automated_backups(
                    aws_sdk_rds::types::DbInstanceAutomatedBackup::builder()
                        .db_instance_automated_backups_arn(REPLICATED)
                        .status("pending")
                        .build(),
                )
                .build()
        });
    let rds = mock_client!(aws_sdk_rds, RuleMode::Sequential, &[&describe]);
    let e = r
        .backup_window(&rds, REPLICATED, "us-west-2")
        .await
        .unwrap_err();
    assert_eq!(e.blame, Blame::Restore);
    assert_eq!(
        e.message,
        format!("automated backup {REPLICATED} has no restore window (status pending)")
    );
}

/// Issue 17 item 3: the restore names the replicated backup (SourceDBInstanceAutomatedBackupsArn,
/// never the source instance), at the chosen time, with the drill's isolation and tags; its
/// teardown deletes the instance only while it carries this run's tag, and waits until a
/// describe no longer finds it.
#[tokio::test(start_paused = true)]
async fn issue_17_a_replicated_backup_is_restored_by_its_arn_isolated_and_removed() {
    use aws_sdk_rds::operation::delete_db_instance::DeleteDbInstanceOutput;
    use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;
    use aws_sdk_rds::operation::restore_db_instance_to_point_in_time::RestoreDbInstanceToPointInTimeOutput;
    use aws_sdk_rds::types::Tag;
    use aws_sdk_rds::types::error::DbInstanceNotFoundFault;

    let r = replicated_restore();
    let Kind::Pitr { target, .. } = r.kind.clone() else {
        panic!("{:?}", r.kind)
    };
    let t = chrono::DateTime::from_timestamp(1_500_000, 0).unwrap();
    let restore = mock!(aws_sdk_rds::Client::restore_db_instance_to_point_in_time)
        .match_requests(move |q| {
            q.source_db_instance_automated_backups_arn() == Some(REPLICATED)
                && q.source_db_instance_identifier().is_none()
                && q.restore_time().map(|x| x.secs()) == Some(1_500_000)
                && q.use_latest_restorable_time().is_none()
                && q.target_db_instance_identifier() == Some("drill-orders-r1")
                && q.publicly_accessible() == Some(false)
                && q.multi_az() == Some(false)
                && q.deletion_protection() == Some(false)
                && q.db_subnet_group_name() == Some("drill-isolated")
                && q.vpc_security_group_ids() == ["sg-0drill".to_owned()]
                && q.tags()
                    .iter()
                    .any(|t| t.key() == Some(TAG_RUN_ID) && t.value() == Some("r1"))
        })
        .then_output(|| RestoreDbInstanceToPointInTimeOutput::builder().build());
    let rds = mock_client!(aws_sdk_rds, RuleMode::Sequential, &[&restore]);
    super::restore::pitr_request(
        &rds,
        "drill-orders-r1",
        REPLICATED,
        Some(REPLICATED),
        Some(t),
        &target,
        r.tags("r1"),
    )
    .send()
    .await
    .expect("the request carries what it must");
    assert_eq!(restore.num_calls(), 1);

    // Teardown: tagged with this run → deleted, then gone.
    let tagged = |run: &'static str| {
        move || {
            DescribeDbInstancesOutput::builder()
                .db_instances(
                    DbInstance::builder()
                        .db_instance_identifier("drill-orders-r1")
                        .db_instance_status("available")
                        .tag_list(Tag::builder().key(TAG_RUN_ID).value(run).build())
                        .build(),
                )
                .build()
        }
    };
    let describe = mock!(aws_sdk_rds::Client::describe_db_instances)
        .sequence()
        .output(tagged("r1"))
        .output(|| instance("deleting", false))
        .error(|| {
            DescribeDBInstancesError::DbInstanceNotFoundFault(
                DbInstanceNotFoundFault::builder().build(),
            )
        })
        .build();
    let delete = mock!(aws_sdk_rds::Client::delete_db_instance)
        .match_requests(|q| {
            q.db_instance_identifier() == Some("drill-orders-r1")
                && q.skip_final_snapshot() == Some(true)
        })
        .then_output(|| DeleteDbInstanceOutput::builder().build());
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe, &delete]);
    let c = Created::Instance {
        region: "us-west-2".into(),
        id: "drill-orders-r1".into(),
    };
    delete_with(&rds, None, &c, "r1", false).await.unwrap();
    assert_eq!((delete.num_calls(), describe.num_calls()), (1, 3));

    // Another run's instance is never deleted.
    let describe = mock!(aws_sdk_rds::Client::describe_db_instances).then_output(tagged("r0"));
    let delete = mock!(aws_sdk_rds::Client::delete_db_instance)
        .then_output(|| DeleteDbInstanceOutput::builder().build());
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe, &delete]);
    let e = delete_with(&rds, None, &c, "r1", false).await.unwrap_err();
    assert!(e.contains("carries run id r0"), "{e}");
    assert_eq!(delete.num_calls(), 0);
}

/// The negative of the above: a point-in-time request that names the source instance
/// instead of the replicated backup does not match what must be sent (the mock refuses it).
#[tokio::test]
#[should_panic(expected = "rule did not match")]
async fn issue_17_a_pitr_request_without_the_backups_arn_does_not_match() {
    use aws_sdk_rds::operation::restore_db_instance_to_point_in_time::RestoreDbInstanceToPointInTimeOutput;
    let r = replicated_restore();
    let Kind::Pitr { target, .. } = r.kind.clone() else {
        panic!("{:?}", r.kind)
    };
    let strict = mock!(aws_sdk_rds::Client::restore_db_instance_to_point_in_time)
        .match_requests(|q| q.source_db_instance_automated_backups_arn() == Some(REPLICATED))
        .then_output(|| RestoreDbInstanceToPointInTimeOutput::builder().build());
    let rds = mock_client!(aws_sdk_rds, RuleMode::Sequential, &[&strict]);
    let _ = super::restore::pitr_request(
        &rds,
        "drill-orders-r1",
        "orders-prod",
        None,
        None,
        &target,
        r.tags("r1"),
    )
    .send()
    .await;
}
