//! Issue 17: whole drills of the DR paths no server implements, through the engine, on the
//! SDK's own mocks (`aws-smithy-mocks`): resolve, restore, prepare, the drill's checks on a real
//! PostgreSQL (reached through `connect.via`), measured RTO and RPO, and teardown.
//!
//! The mocks answer from a small record of what exists (the cluster and instance a restore job
//! and CreateDBInstance made, removed by the deletes), so "nothing left" is a describe after
//! the run, as it would be on AWS. Every call that creates something is matched on what must
//! be sent (the isolation, the tags, no public access): a request missing one matches no rule
//! and the drill fails.

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_backup::operation::describe_restore_job::DescribeRestoreJobOutput;
use aws_sdk_backup::operation::get_recovery_point_restore_metadata::GetRecoveryPointRestoreMetadataOutput;
use aws_sdk_backup::operation::list_recovery_points_by_backup_vault::ListRecoveryPointsByBackupVaultOutput;
use aws_sdk_backup::operation::start_restore_job::StartRestoreJobOutput;
use aws_sdk_backup::primitives::DateTime as BackupTime;
use aws_sdk_backup::types::{RecoveryPointByBackupVault, RecoveryPointStatus, RestoreJobStatus};
use aws_sdk_rds::operation::add_tags_to_resource::AddTagsToResourceOutput;
use aws_sdk_rds::operation::create_db_instance::CreateDbInstanceOutput;
use aws_sdk_rds::operation::delete_db_cluster::DeleteDbClusterOutput;
use aws_sdk_rds::operation::delete_db_instance::DeleteDbInstanceOutput;
use aws_sdk_rds::operation::describe_db_clusters::{
    DescribeDBClustersError, DescribeDbClustersOutput,
};
use aws_sdk_rds::operation::describe_db_instances::{
    DescribeDBInstancesError, DescribeDbInstancesOutput,
};
use aws_sdk_rds::types::{DbCluster, DbInstance, Endpoint, Tag};
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use chrono::{DateTime, Utc};
use restore_drill::drill::{DrillPlan, RestorePlan, check_drill};
use restore_drill::engine::{Cancel, RunOptions, exit_code, run_with};
use restore_drill::provider::aws::backup::BackupRestore;
use restore_drill::provider::aws::rds::RdsRestore;
use restore_drill::provider::aws::{AwsSettings, GivenClients, Session};
use restore_drill::provider::{ProviderError, Restorer};
use restore_drill::report::{CheckOutcome, RpoSource, Verdict};

const RUN_TAG: &str = "restore-drill:run-id";
const POINT: &str = "arn:aws:backup:eu-west-1:123456789012:recovery-point:ledger-7";
const SOURCE: &str = "arn:aws:rds:eu-west-1:123456789012:cluster:ledger-prod";

/// What exists in the mocked account: the restored cluster and its instance, with their
/// tags, and how often each was looked at.
#[derive(Default)]
struct World {
    job_looks: u32,
    cluster: Option<(String, Vec<Tag>)>,
    instance: Option<(String, Vec<Tag>, u32)>,
    ever_created: Vec<String>,
}

type Shared = Arc<Mutex<World>>;

fn cluster_arn(id: &str) -> String {
    format!("arn:aws:rds:eu-west-1:123456789012:cluster:{id}")
}

fn has_run_tag(tags: &[Tag]) -> bool {
    tags.iter()
        .any(|t| t.key() == Some(RUN_TAG) && t.value().is_some_and(|v| !v.is_empty()))
}

fn drill_text(pg_port: u16, subnet_group: &str) -> String {
    format!(
        r#"name = "ledger-backup-aurora"
tier = "silver"
schedule = "monthly"

[provider]
kind = "aws"
region = "eu-west-1"

[timeouts]
restore = "2m"
prepare = "1m"
teardown = "1m"

[[restore]]
id = "ledger"
kind = "backup_recovery_point"
vault = "prod-vault"
resource_arn = "{SOURCE}"
to = "latest"
iam_role_arn = "arn:aws:iam::123456789012:role/drill-restore"
[restore.target]
identifier = "drill-ledger-{{run_id}}"
instance_identifier = "drill-ledger-{{run_id}}-a"
instance_class = "db.r6g.large"
subnet_group = "{subnet_group}"
security_groups = ["sg-0drill"]
[restore.connect]
database = "postgres"
user = "postgres"
via = "127.0.0.1:{pg_port}"
tls = "disable"

[[check]]
restore = "ledger"
kind = "sql"
name = "events are back"
query = "select count(*) from events"
expect = "= 50"
"#
    )
}

/// The AWS Backup side: one completed recovery point of the cluster, created at `created`;
/// its restore metadata; a restore job that must carry the drill's isolation, which runs for
/// one look and then has made the cluster.
fn backup_client(
    world: &Shared,
    created: DateTime<Utc>,
) -> (aws_sdk_backup::Client, [aws_smithy_mocks::Rule; 1]) {
    let list = mock!(aws_sdk_backup::Client::list_recovery_points_by_backup_vault)
        .match_requests(|q| {
            q.backup_vault_name() == Some("prod-vault") && q.by_resource_arn() == Some(SOURCE)
        })
        .then_output(move || {
            ListRecoveryPointsByBackupVaultOutput::builder()
                .recovery_points(
                    RecoveryPointByBackupVault::builder()
                        .recovery_point_arn(POINT)
                        .resource_arn(SOURCE)
                        .resource_type("Aurora")
                        .status(RecoveryPointStatus::Completed)
                        .creation_date(BackupTime::from_millis(created.timestamp_millis()))
                        .build(),
                )
                .build()
        });
    let meta = mock!(aws_sdk_backup::Client::get_recovery_point_restore_metadata)
        .match_requests(|q| {
            q.backup_vault_name() == Some("prod-vault") && q.recovery_point_arn() == Some(POINT)
        })
        .then_output(|| {
            GetRecoveryPointRestoreMetadataOutput::builder()
                .restore_metadata("DBClusterIdentifier", "ledger-prod")
                .restore_metadata("Engine", "aurora-postgresql")
                .restore_metadata("DBSubnetGroupName", "prod-subnets")
                .restore_metadata("VpcSecurityGroupIds", r#"["sg-0prod"]"#)
                .build()
        });
    // Only a job into the drill's isolation is accepted.
    let start = mock!(aws_sdk_backup::Client::start_restore_job)
        .match_requests(|q| {
            let Some(m) = q.metadata() else { return false };
            q.recovery_point_arn() == Some(POINT)
                && q.resource_type() == Some("Aurora")
                && q.iam_role_arn() == Some("arn:aws:iam::123456789012:role/drill-restore")
                && m.get("DBClusterIdentifier")
                    .is_some_and(|c| c.starts_with("drill-ledger-"))
                && m.get("DBSubnetGroupName").map(String::as_str) == Some("drill-isolated")
                && m.get("VpcSecurityGroupIds").map(String::as_str) == Some(r#"["sg-0drill"]"#)
                && m.get("DeletionProtection").map(String::as_str) == Some("false")
        })
        .then_compute_output({
            let world = world.clone();
            move |q| {
                let id = q.metadata().unwrap()["DBClusterIdentifier"].clone();
                world.lock().unwrap().ever_created.push(id);
                StartRestoreJobOutput::builder()
                    .restore_job_id("job-ledger-1")
                    .build()
            }
        });
    let job = mock!(aws_sdk_backup::Client::describe_restore_job)
        .match_requests(|q| q.restore_job_id() == Some("job-ledger-1"))
        .then_compute_output({
            let world = world.clone();
            move |_| {
                let mut w = world.lock().unwrap();
                w.job_looks += 1;
                if w.job_looks < 2 {
                    return DescribeRestoreJobOutput::builder()
                        .restore_job_id("job-ledger-1")
                        .status(RestoreJobStatus::Running)
                        .build();
                }
                let id = w.ever_created[0].clone();
                if w.cluster.is_none() && w.job_looks == 2 {
                    // The job made the cluster (untagged: AWS Backup does not tag it).
                    w.cluster = Some((id.clone(), Vec::new()));
                }
                DescribeRestoreJobOutput::builder()
                    .restore_job_id("job-ledger-1")
                    .status(RestoreJobStatus::Completed)
                    .created_resource_arn(cluster_arn(&id))
                    .build()
            }
        });
    // Any other job is refused, as a role limited to the drill's network would be.
    let refused = mock!(aws_sdk_backup::Client::start_restore_job).then_error(|| {
        aws_sdk_backup::operation::start_restore_job::StartRestoreJobError::InvalidParameterValueException(
            aws_sdk_backup::types::error::InvalidParameterValueException::builder()
                .message("not the drill's isolation")
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_backup,
        RuleMode::MatchAny,
        &[&list, &meta, &start, &refused, &job]
    );
    (client, [start])
}

/// The RDS side: the cluster and instance as the world has them.
fn rds_client(world: &Shared, pg_port: u16) -> (aws_sdk_rds::Client, [aws_smithy_mocks::Rule; 2]) {
    let clusters = mock!(aws_sdk_rds::Client::describe_db_clusters).then_compute_response({
        let world = world.clone();
        move |q| {
            let w = world.lock().unwrap();
            match &w.cluster {
                Some((id, tags)) if q.db_cluster_identifier() == Some(id.as_str()) => {
                    MockResponse::Output(
                        DescribeDbClustersOutput::builder()
                            .db_clusters(
                                DbCluster::builder()
                                    .db_cluster_identifier(id)
                                    .db_cluster_arn(cluster_arn(id))
                                    .status("available")
                                    .engine("aurora-postgresql")
                                    .endpoint("ledger.cluster.eu-west-1.rds.example")
                                    .port(pg_port as i32)
                                    .db_subnet_group("drill-isolated")
                                    .vpc_security_groups(
                                        aws_sdk_rds::types::VpcSecurityGroupMembership::builder()
                                            .vpc_security_group_id("sg-0drill")
                                            .build(),
                                    )
                                    .set_tag_list(Some(tags.clone()))
                                    .build(),
                            )
                            .build(),
                    )
                }
                _ => MockResponse::Error(DescribeDBClustersError::DbClusterNotFoundFault(
                    aws_sdk_rds::types::error::DbClusterNotFoundFault::builder().build(),
                )),
            }
        }
    });
    let tag = mock!(aws_sdk_rds::Client::add_tags_to_resource)
        .match_requests(|q| has_run_tag(q.tags()))
        .then_compute_output({
            let world = world.clone();
            move |q| {
                let mut w = world.lock().unwrap();
                if let Some((id, tags)) = &mut w.cluster
                    && q.resource_name() == Some(cluster_arn(id).as_str())
                {
                    tags.extend(q.tags().iter().cloned());
                }
                AddTagsToResourceOutput::builder().build()
            }
        });
    // The one instance: private and tagged, in the restored cluster.
    let create = mock!(aws_sdk_rds::Client::create_db_instance)
        .match_requests({
            let world = world.clone();
            move |q| {
                let w = world.lock().unwrap();
                let cluster = w.cluster.as_ref().map(|c| c.0.clone());
                q.db_cluster_identifier().map(str::to_owned) == cluster
                    && q.db_instance_identifier()
                        .is_some_and(|i| i.starts_with("drill-ledger-") && i.ends_with("-a"))
                    && q.db_instance_class() == Some("db.r6g.large")
                    && q.publicly_accessible() == Some(false)
                    && has_run_tag(q.tags())
            }
        })
        .then_compute_output({
            let world = world.clone();
            move |q| {
                let mut w = world.lock().unwrap();
                let id = q.db_instance_identifier().unwrap().to_owned();
                w.ever_created.push(id.clone());
                w.instance = Some((id, q.tags().to_vec(), 0));
                CreateDbInstanceOutput::builder().build()
            }
        });
    let (instances, delete_instance) = instance_rules(world, "eu-west-1", pg_port);
    let delete_cluster = mock!(aws_sdk_rds::Client::delete_db_cluster)
        .match_requests(|q| q.skip_final_snapshot() == Some(true))
        .then_compute_output({
            let world = world.clone();
            move |q| {
                let mut w = world.lock().unwrap();
                // A cluster goes only once its instance has.
                if w.instance.is_none()
                    && w.cluster.as_ref().map(|c| c.0.as_str()) == q.db_cluster_identifier()
                {
                    w.cluster = None;
                }
                DeleteDbClusterOutput::builder().build()
            }
        });
    let client = mock_client!(
        aws_sdk_rds,
        RuleMode::MatchAny,
        &[
            &clusters,
            &tag,
            &create,
            &instances,
            &delete_instance,
            &delete_cluster
        ]
    );
    (client, [create, tag])
}

/// The instance a run made, as DescribeDBInstances shows it (`creating` at the first look,
/// then `available`, private, in the drill's isolation, with the tags it was made with; not
/// found once deleted), and DeleteDBInstance (only without a final snapshot).
fn instance_rules(
    world: &Shared,
    region: &'static str,
    pg_port: u16,
) -> (aws_smithy_mocks::Rule, aws_smithy_mocks::Rule) {
    let describe = mock!(aws_sdk_rds::Client::describe_db_instances).then_compute_response({
        let world = world.clone();
        move |q| {
            let mut w = world.lock().unwrap();
            match &mut w.instance {
                Some((id, tags, looks)) if q.db_instance_identifier() == Some(id.as_str()) => {
                    *looks += 1;
                    let status = if *looks < 2 { "creating" } else { "available" };
                    MockResponse::Output(
                        DescribeDbInstancesOutput::builder()
                            .db_instances(
                                DbInstance::builder()
                                    .db_instance_identifier(id.as_str())
                                    .db_instance_arn(format!(
                                        "arn:aws:rds:{region}:123456789012:db:{id}"
                                    ))
                                    .db_instance_status(status)
                                    .db_instance_class("db.t4g.medium")
                                    .publicly_accessible(false)
                                    .multi_az(false)
                                    .db_subnet_group(
                                        aws_sdk_rds::types::DbSubnetGroup::builder()
                                            .db_subnet_group_name("drill-isolated")
                                            .build(),
                                    )
                                    .vpc_security_groups(
                                        aws_sdk_rds::types::VpcSecurityGroupMembership::builder()
                                            .vpc_security_group_id("sg-0drill")
                                            .build(),
                                    )
                                    .endpoint(
                                        Endpoint::builder()
                                            .address(format!("{id}.{region}.rds.example"))
                                            .port(pg_port as i32)
                                            .build(),
                                    )
                                    .set_tag_list(Some(tags.clone()))
                                    .build(),
                            )
                            .build(),
                    )
                }
                _ => MockResponse::Error(DescribeDBInstancesError::DbInstanceNotFoundFault(
                    aws_sdk_rds::types::error::DbInstanceNotFoundFault::builder().build(),
                )),
            }
        }
    });
    let delete = mock!(aws_sdk_rds::Client::delete_db_instance)
        .match_requests(|q| q.skip_final_snapshot() == Some(true))
        .then_compute_output({
            let world = world.clone();
            move |q| {
                let mut w = world.lock().unwrap();
                if w.instance.as_ref().map(|i| i.0.as_str()) == q.db_instance_identifier() {
                    w.instance = None;
                }
                DeleteDbInstanceOutput::builder().build()
            }
        });
    (describe, delete)
}

fn plan_of(text: &str) -> DrillPlan {
    let checked = check_drill(
        std::path::Path::new("/nonexistent/drill.toml"),
        text,
        &restore_drill::drill::TierCatalog::default(),
    );
    checked
        .plan
        .unwrap_or_else(|| panic!("the test drill is valid: {:?}", checked.diagnostics))
}

/// Runs the drill through the engine, each restore on a session whose clients are `clients`
/// (the SDK's mocks; a service left out is built from the drill's provider as usual).
async fn run_on_mocks(plan: &DrillPlan, clients: GivenClients) -> restore_drill::engine::RunOutput {
    run_with(
        plan,
        &RunOptions::default(),
        &Cancel::new(),
        &(),
        |plan: &DrillPlan, r: &RestorePlan| -> Result<Restorer, ProviderError> {
            let settings = AwsSettings::of(&plan.provider).unwrap();
            let session = Session::with_clients(&settings, clients.clone());
            Ok(match r.kind {
                restore_drill::drill::RestoreKind::BackupRecoveryPoint { .. } => Restorer::Backup(
                    Box::new(BackupRestore::new(plan, r, settings)?.with_session(session)),
                ),
                _ => Restorer::Rds(Box::new(
                    RdsRestore::new(plan, r, settings)?.with_session(session),
                )),
            })
        },
    )
    .await
}

/// An AWS Backup recovery point of an Aurora cluster, as a whole drill: the newest point is
/// chosen, the restore job goes into the drill's isolation, the cluster is tagged with the run
/// once it shows, its one private instance is added and waited for, the drill's check passes on
/// the data, RPO is the incident minus the point's creation, RTO spans the phases, and teardown
/// leaves neither the instance nor the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_backup_aurora_recovery_point_as_a_whole_drill() {
    let pg = common::pg::pg();
    let scratch = common::pg::Scratch::new(&pg);
    let source = common::pg::source(&pg, scratch.path(), 50).await;
    let created = Utc::now() - chrono::Duration::minutes(35);
    let world: Shared = Default::default();
    let (backup, [start]) = backup_client(&world, created);
    let (rds, [create, tag]) = rds_client(&world, source.port());
    let plan = plan_of(&drill_text(source.port(), "drill-isolated"));

    let t0 = std::time::Instant::now();
    let out = run_on_mocks(
        &plan,
        GivenClients {
            rds: Some(rds.clone()),
            backup: Some(backup.clone()),
            s3: None,
        },
    )
    .await;
    let outside = t0.elapsed().as_secs_f64();
    let report = out.report;
    assert_eq!(
        exit_code(&report),
        0,
        "{}\n{:#?}",
        report.verdict_reason,
        report.restores
    );
    assert_eq!(report.verdict, Verdict::Met);

    // Isolation: the job and the instance matched only with it; both happened once.
    assert_eq!((start.num_calls(), create.num_calls()), (1, 1));
    assert!(tag.num_calls() >= 1, "the cluster was never tagged");

    // The check ran on the data that came back.
    assert_eq!(report.checks.len(), 1);
    assert_eq!(report.checks[0].outcome, CheckOutcome::Passed);
    assert_eq!(report.checks[0].found.as_deref(), Some("50"));

    // RPO: the incident minus the recovery point's creation (AWS Backup's own figure).
    let rp = report.restores[0].recovery_point.as_ref().unwrap();
    assert_eq!(rp.id, POINT);
    assert_eq!(report.measured.rpo_source, Some(RpoSource::Metadata));
    let want = (report.incident_at - created).num_milliseconds() as f64 / 1e3;
    let rpo = report.measured.rpo_seconds.unwrap();
    assert!((rpo - want).abs() < 0.002, "rpo {rpo} vs {want}");

    // RTO: at least every phase up to verify's end, plus the detection allowance; never more
    // than the outside stopwatch plus that allowance.
    let phases: Vec<(&str, f64)> = report.restores[0]
        .phases
        .iter()
        .map(|p| (p.name.as_str(), p.seconds))
        .collect();
    let names: Vec<&str> = phases.iter().map(|p| p.0).collect();
    assert_eq!(
        names,
        ["resolve", "restore", "prepare", "verify", "teardown"]
    );
    let until_verified: f64 = phases
        .iter()
        .filter(|p| p.0 != "teardown")
        .map(|p| p.1)
        .sum();
    let allowance = plan.incident.detect_allowance.as_secs_f64();
    let rto = report.measured.rto_seconds.unwrap();
    assert!(
        rto + 0.01 >= allowance + until_verified,
        "{rto} vs {phases:?}"
    );
    assert!(
        rto <= allowance + outside + 0.01,
        "{rto} vs stopwatch {outside}"
    );
    let restore = report.restores[0]
        .phases
        .iter()
        .find(|p| p.name == "restore")
        .unwrap();
    // Two looks at the job, one at the cluster, two at the instance.
    assert!(restore.polls >= 5, "{restore:?}");

    // The target: the restored cluster, in the isolation, named in the report.
    let target = report.restores[0].target.as_ref().unwrap();
    assert_eq!(target.kind, "rds_cluster");
    assert_eq!(target.details["subnet_group"], "drill-isolated");
    assert_eq!(target.details["security_groups"], "sg-0drill");
    assert_eq!(target.details["restore_job_id"], "job-ledger-1");

    // Nothing left: what the run made is gone, as a describe after the run says.
    let made = {
        let w = world.lock().unwrap();
        assert_eq!(w.ever_created.len(), 2, "{:?}", w.ever_created);
        assert!(w.cluster.is_none() && w.instance.is_none());
        w.ever_created.clone()
    };
    for id in &made {
        let gone = if id.ends_with("-a") {
            rds.describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
                .is_err()
        } else {
            rds.describe_db_clusters()
                .db_cluster_identifier(id)
                .send()
                .await
                .is_err()
        };
        assert!(gone, "{id} is still there");
    }
    assert_eq!(report.teardown.outcome, "done", "{:?}", report.teardown);
    assert!(report.teardown.leaked.is_empty(), "{:?}", report.teardown);
}

/// The isolation is what the job is matched on: a drill whose subnet group is not the one
/// the account expects gets no restore job (refused, as for a role limited to the drill's
/// network), the run fails naming the call, and nothing was made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_backup_aurora_job_outside_the_isolation_is_never_started() {
    let world: Shared = Default::default();
    let (backup, [start]) = backup_client(&world, Utc::now() - chrono::Duration::minutes(35));
    let (rds, [create, _]) = rds_client(&world, 9);
    let plan = plan_of(&drill_text(9, "prod-subnets"));
    let out = run_on_mocks(
        &plan,
        GivenClients {
            rds: Some(rds.clone()),
            backup: Some(backup.clone()),
            s3: None,
        },
    )
    .await;
    assert_ne!(exit_code(&out.report), 0, "{}", out.report.verdict_reason);
    let failed = format!("{:?}", out.report.restores[0]);
    assert!(failed.contains("StartRestoreJob"), "{failed}");
    assert_eq!((start.num_calls(), create.num_calls()), (0, 0));
    let w = world.lock().unwrap();
    assert!(w.ever_created.is_empty() && w.cluster.is_none() && w.instance.is_none());
    assert!(
        out.report.teardown.leaked.is_empty(),
        "{:?}",
        out.report.teardown
    );
}

const REPLICA: &str = "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-orders7xq2";

/// The RDS side of a restore from automated backups replicated to the DR region: the
/// backup's restore window, and the instance RestoreDBInstanceToPointInTime makes from it,
/// accepted only with the drill's isolation and tags and the replicated backup as source.
fn replicated_rds(
    world: &Shared,
    latest: DateTime<Utc>,
    pg_port: u16,
) -> (aws_sdk_rds::Client, [aws_smithy_mocks::Rule; 2]) {
    use aws_sdk_rds::operation::describe_db_instance_automated_backups::DescribeDbInstanceAutomatedBackupsOutput;
    use aws_sdk_rds::operation::restore_db_instance_to_point_in_time::RestoreDbInstanceToPointInTimeOutput;
    use aws_sdk_rds::primitives::DateTime as RdsTime;
    use aws_sdk_rds::types::{DbInstanceAutomatedBackup, RestoreWindow};

    let window = mock!(aws_sdk_rds::Client::describe_db_instance_automated_backups)
        .match_requests(|q| q.db_instance_automated_backups_arn() == Some(REPLICA))
        .then_output(move || {
            DescribeDbInstanceAutomatedBackupsOutput::builder()
                .db_instance_automated_backups(
                    DbInstanceAutomatedBackup::builder()
                        .db_instance_automated_backups_arn(REPLICA)
                        .region("us-west-2")
                        .status("replicating")
                        .backup_retention_period(7)
                        .restore_window(
                            RestoreWindow::builder()
                                .earliest_time(RdsTime::from_millis(
                                    (latest - chrono::Duration::days(6)).timestamp_millis(),
                                ))
                                .latest_time(RdsTime::from_millis(latest.timestamp_millis()))
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let restore = mock!(aws_sdk_rds::Client::restore_db_instance_to_point_in_time)
        .match_requests(|q| {
            q.source_db_instance_automated_backups_arn() == Some(REPLICA)
                && q.source_db_instance_identifier().is_none()
                && q.use_latest_restorable_time() == Some(true)
                && q.target_db_instance_identifier()
                    .is_some_and(|i| i.starts_with("drill-orders-"))
                && q.db_subnet_group_name() == Some("drill-isolated")
                && q.vpc_security_group_ids() == ["sg-0drill"]
                && q.publicly_accessible() == Some(false)
                && q.multi_az() == Some(false)
                && q.deletion_protection() == Some(false)
                && has_run_tag(q.tags())
        })
        .then_compute_output({
            let world = world.clone();
            move |q| {
                let mut w = world.lock().unwrap();
                let id = q.target_db_instance_identifier().unwrap().to_owned();
                w.ever_created.push(id.clone());
                w.instance = Some((id, q.tags().to_vec(), 0));
                RestoreDbInstanceToPointInTimeOutput::builder().build()
            }
        });
    let (instances, delete) = instance_rules(world, "us-west-2", pg_port);
    let client = mock_client!(
        aws_sdk_rds,
        RuleMode::MatchAny,
        &[&window, &restore, &instances, &delete]
    );
    (client, [restore, delete])
}

/// A point-in-time restore from automated backups replicated to the DR region (`source` =
/// the replicated backup's ARN), as a whole drill: the window is read in the DR region, the
/// instance restored there from the replicated backup into the drill's isolation, the check
/// passes on the data, RPO is the incident minus the window's latest restorable time, RTO
/// spans the phases, and teardown leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_replicated_automated_backup_as_a_whole_drill() {
    let pg = common::pg::pg();
    let scratch = common::pg::Scratch::new(&pg);
    let source = common::pg::source(&pg, scratch.path(), 50).await;
    let latest = Utc::now() - chrono::Duration::minutes(4);
    let world: Shared = Default::default();
    let (rds, [restore_rule, delete]) = replicated_rds(&world, latest, source.port());
    let plan = plan_of(&format!(
        r#"name = "orders-dr-pitr"
tier = "gold"
schedule = "weekly"

[provider]
kind = "aws"
region = "us-east-1"

[timeouts]
restore = "2m"
prepare = "1m"
teardown = "1m"

[[restore]]
id = "orders"
kind = "rds_pitr"
source = "{REPLICA}"
to = "latest"
[restore.target]
identifier = "drill-orders-{{run_id}}"
subnet_group = "drill-isolated"
security_groups = ["sg-0drill"]
[restore.connect]
database = "postgres"
user = "postgres"
via = "127.0.0.1:{}"
tls = "disable"

[[check]]
restore = "orders"
kind = "sql"
name = "events are back"
query = "select count(*) from events"
expect = "= 50"
"#,
        source.port()
    ));
    let t0 = std::time::Instant::now();
    let out = run_on_mocks(
        &plan,
        GivenClients {
            rds: Some(rds.clone()),
            ..Default::default()
        },
    )
    .await;
    let outside = t0.elapsed().as_secs_f64();
    let report = out.report;
    assert_eq!(
        exit_code(&report),
        0,
        "{}\n{:#?}",
        report.verdict_reason,
        report.restores
    );
    assert_eq!(restore_rule.num_calls(), 1, "restored once, isolated");
    assert_eq!(report.checks[0].outcome, CheckOutcome::Passed);
    assert_eq!(report.checks[0].found.as_deref(), Some("50"));

    let r = &report.restores[0];
    let rp = r.recovery_point.as_ref().unwrap();
    assert_eq!(rp.kind, "pitr");
    assert_eq!(
        rp.latest_restorable.map(|t| t.timestamp_millis()),
        Some(latest.timestamp_millis())
    );
    assert_eq!(report.measured.rpo_source, Some(RpoSource::Metadata));
    let want = (report.incident_at - latest).num_milliseconds() as f64 / 1e3;
    let rpo = report.measured.rpo_seconds.unwrap();
    assert!((rpo - want).abs() < 0.002, "rpo {rpo} vs {want}");

    let until_verified: f64 = r
        .phases
        .iter()
        .filter(|p| p.name != "teardown")
        .map(|p| p.seconds)
        .sum();
    let allowance = plan.incident.detect_allowance.as_secs_f64();
    let rto = report.measured.rto_seconds.unwrap();
    assert!(
        rto + 0.01 >= allowance + until_verified,
        "{rto} vs {:?}",
        r.phases
    );
    assert!(
        rto <= allowance + outside + 0.01,
        "{rto} vs stopwatch {outside}"
    );

    // Restored in the backup's region, into the isolation.
    let target = r.target.as_ref().unwrap();
    assert_eq!(target.details["region"], "us-west-2");
    assert_eq!(target.details["subnet_group"], "drill-isolated");
    assert_eq!(target.details["security_groups"], "sg-0drill");
    assert_eq!(target.details["publicly_accessible"], "false");

    // Nothing left, by a describe after the run.
    assert_eq!(delete.num_calls(), 1);
    let made = {
        let w = world.lock().unwrap();
        assert_eq!(w.ever_created.len(), 1);
        assert!(w.instance.is_none());
        w.ever_created.clone()
    };
    let after = rds
        .describe_db_instances()
        .db_instance_identifier(&made[0])
        .send()
        .await;
    assert!(after.is_err(), "{} is still there", made[0]);
    assert!(report.teardown.leaked.is_empty(), "{:?}", report.teardown);
}

const S3_POINT: &str = "arn:aws:backup:us-east-1:123456789012:recovery-point:invoices-3";

/// What the S3 restore job was asked for, and whether "AWS Backup" (the test's own client
/// on moto) has finished filling the new bucket.
#[derive(Default)]
struct S3Job {
    destination: Option<String>,
    done: bool,
}

/// The AWS Backup side of an S3 recovery point created at `created`: the job must go into a
/// new bucket named with the run, with the S3 restore role; it runs until the test's stand-in
/// for AWS Backup has filled that bucket.
fn s3_backup(
    job: &Arc<Mutex<S3Job>>,
    created: DateTime<Utc>,
) -> (aws_sdk_backup::Client, aws_smithy_mocks::Rule) {
    let list = mock!(aws_sdk_backup::Client::list_recovery_points_by_backup_vault)
        .match_requests(|q| q.by_resource_arn() == Some("arn:aws:s3:::invoices-archive"))
        .then_output(move || {
            ListRecoveryPointsByBackupVaultOutput::builder()
                .recovery_points(
                    RecoveryPointByBackupVault::builder()
                        .recovery_point_arn(S3_POINT)
                        .resource_arn("arn:aws:s3:::invoices-archive")
                        .resource_type("S3")
                        .status(RecoveryPointStatus::Completed)
                        .creation_date(BackupTime::from_millis(created.timestamp_millis()))
                        .build(),
                )
                .build()
        });
    let meta = mock!(aws_sdk_backup::Client::get_recovery_point_restore_metadata)
        .match_requests(|q| q.recovery_point_arn() == Some(S3_POINT))
        .then_output(|| {
            GetRecoveryPointRestoreMetadataOutput::builder()
                .restore_metadata("DestinationBucketName", "invoices-archive")
                .restore_metadata("NewBucket", "false")
                .build()
        });
    let start = mock!(aws_sdk_backup::Client::start_restore_job)
        .match_requests(|q| {
            let Some(m) = q.metadata() else { return false };
            q.recovery_point_arn() == Some(S3_POINT)
                && q.resource_type() == Some("S3")
                && q.iam_role_arn() == Some("arn:aws:iam::123456789012:role/drill-s3-restore")
                && m.get("NewBucket").map(String::as_str) == Some("true")
                && m.get("DestinationBucketName")
                    .is_some_and(|b| b.starts_with("drill-invoices-") && b != "invoices-archive")
        })
        .then_compute_output({
            let job = job.clone();
            move |q| {
                job.lock().unwrap().destination =
                    Some(q.metadata().unwrap()["DestinationBucketName"].clone());
                StartRestoreJobOutput::builder()
                    .restore_job_id("job-invoices-1")
                    .build()
            }
        });
    let describe = mock!(aws_sdk_backup::Client::describe_restore_job)
        .match_requests(|q| q.restore_job_id() == Some("job-invoices-1"))
        .then_compute_output({
            let job = job.clone();
            move |_| {
                let j = job.lock().unwrap();
                let b = DescribeRestoreJobOutput::builder().restore_job_id("job-invoices-1");
                if j.done {
                    b.status(RestoreJobStatus::Completed)
                        .created_resource_arn(format!(
                            "arn:aws:s3:::{}",
                            j.destination.clone().unwrap_or_default()
                        ))
                        .build()
                } else {
                    b.status(RestoreJobStatus::Running).build()
                }
            }
        });
    let client = mock_client!(
        aws_sdk_backup,
        RuleMode::MatchAny,
        &[&list, &meta, &start, &describe]
    );
    (client, start)
}

/// Puts `body` at `key` in the source and returns its version id and LastModified, as moto
/// reports them to this (independent) client.
async fn put_version(s3: &aws_sdk_s3::Client, key: &str, body: &str) -> (String, DateTime<Utc>) {
    let v = s3
        .put_object()
        .bucket("invoices-archive")
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    let head = s3
        .head_object()
        .bucket("invoices-archive")
        .key(key)
        .version_id(&v)
        .send()
        .await
        .unwrap();
    let t = head.last_modified().unwrap();
    (
        v,
        DateTime::from_timestamp_millis(t.to_millis().unwrap()).unwrap(),
    )
}

/// Runs the S3 recovery point drill with `restore(dest)` as what AWS Backup does once the job
/// is started; returns the report and the destination bucket.
async fn s3_backup_drill(
    moto: &common::moto::Moto,
    created: DateTime<Utc>,
    job_copies: Vec<(&'static str, String)>,
) -> (restore_drill::report::RunReport, String, f64) {
    let s3 = moto.s3().await;
    let job: Arc<Mutex<S3Job>> = Default::default();
    let (backup, start) = s3_backup(&job, created);
    // The stand-in for AWS Backup: once the job is started, fill the new bucket with the
    // versions given (key, version id of the source), then say the job is done.
    let stand_in = tokio::spawn({
        let job = job.clone();
        let s3 = s3.clone();
        async move {
            let dest = loop {
                if let Some(d) = job.lock().unwrap().destination.clone() {
                    break d;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            };
            s3.create_bucket().bucket(&dest).send().await.unwrap();
            for (key, version) in job_copies {
                s3.copy_object()
                    .bucket(&dest)
                    .key(key)
                    .copy_source(format!("invoices-archive/{key}?versionId={version}"))
                    .send()
                    .await
                    .unwrap();
            }
            job.lock().unwrap().done = true;
            dest
        }
    });
    let plan = plan_of(&format!(
        r#"name = "invoices-backup-s3"
tier = "bronze"
schedule = "quarterly"

[provider]
kind = "aws"
region = "us-east-1"
endpoint_url = "{}"

[timeouts]
restore = "1m"
prepare = "1m"
teardown = "1m"

[[restore]]
id = "invoices"
kind = "backup_recovery_point"
vault = "prod-vault"
resource_arn = "arn:aws:s3:::invoices-archive"
to = "latest"
iam_role_arn = "arn:aws:iam::123456789012:role/drill-s3-restore"
[restore.target]
bucket = "drill-invoices-{{run_id}}"

[[check]]
restore = "invoices"
kind = "freshness"
"#,
        moto.endpoint()
    ));
    let t0 = std::time::Instant::now();
    let out = run_on_mocks(
        &plan,
        GivenClients {
            backup: Some(backup.clone()),
            s3: Some(s3.clone()),
            ..Default::default()
        },
    )
    .await;
    let outside = t0.elapsed().as_secs_f64();
    assert_eq!(start.num_calls(), 1, "one job, into a new bucket");
    let dest = stand_in.await.unwrap();
    (out.report, dest, outside)
}

/// An AWS Backup recovery point of an S3 bucket, as a whole drill, against moto's S3 (only
/// the Backup API is mocked): the job goes into a new bucket named with the run; the bucket
/// must hold exactly the source's versions current at the point (what AWS Backup restores),
/// which the test writes with its own client; RPO from the data (the newest LastModified
/// restored, as this client read it); teardown deletes the bucket. A job that restored a
/// version from after the point fails the drill, and its bucket is still removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_backup_s3_recovery_point_as_a_whole_drill() {
    let moto = common::moto::Moto::start();
    // The run's own session (the checks list the buckets) finds moto's dummy credentials in
    // the environment, as the binary would. Set before anything else reads it.
    for (k, v) in moto.env() {
        // SAFETY: nextest runs this test alone in its process, and nothing reads the
        // environment concurrently at this point.
        unsafe { std::env::set_var(k, v) };
    }
    let s3 = moto.s3().await;
    s3.create_bucket()
        .bucket("invoices-archive")
        .send()
        .await
        .unwrap();
    s3.put_bucket_versioning()
        .bucket("invoices-archive")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (a1, _) = put_version(&s3, "2026/a.json", "a-1").await;
    let (b1, b1_at) = put_version(&s3, "2026/b.json", "b-1").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let created = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (a2, _) = put_version(&s3, "2026/a.json", "a-2").await;
    put_version(&s3, "2026/c.json", "c-1").await;

    let (report, dest, outside) = s3_backup_drill(
        &moto,
        created,
        vec![("2026/a.json", a1.clone()), ("2026/b.json", b1.clone())],
    )
    .await;
    assert_eq!(
        exit_code(&report),
        0,
        "{}\n{:#?}",
        report.verdict_reason,
        report.checks
    );
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.outcome == CheckOutcome::Passed),
        "{:#?}",
        report.checks
    );
    // The restored set was checked against the source at the point (a-1, b-1; not a-2, c).
    assert!(report.checks.len() >= 2, "{:#?}", report.checks);
    // RPO from the data: the incident minus the newest LastModified restored (b-1's).
    assert_eq!(report.measured.rpo_source, Some(RpoSource::Data));
    let want = (report.incident_at - b1_at).num_milliseconds() as f64 / 1e3;
    let rpo = report.measured.rpo_seconds.unwrap();
    assert!((rpo - want).abs() < 0.002, "rpo {rpo} vs {want}");
    // RTO (no detection allowance in this drill): every phase up to verify's end, within the
    // outside stopwatch.
    let rto = report.measured.rto_seconds.unwrap();
    let until_verified: f64 = report.restores[0]
        .phases
        .iter()
        .filter(|p| p.name != "teardown")
        .map(|p| p.seconds)
        .sum();
    assert!(rto + 0.01 >= until_verified, "{rto} vs {until_verified}");
    assert!(rto <= outside + 0.01, "{rto} vs stopwatch {outside}");
    let target = report.restores[0].target.as_ref().unwrap();
    assert_eq!(target.kind, "s3_bucket");
    assert_eq!(target.name, dest);
    assert!(dest.starts_with("drill-invoices-"), "{dest}");
    // Nothing left: the new bucket is gone, the source untouched (its three keys' versions).
    let head = s3.head_bucket().bucket(&dest).send().await;
    assert!(head.is_err(), "s3://{dest} is still there");
    assert!(report.teardown.leaked.is_empty(), "{:?}", report.teardown);
    let versions = s3
        .list_object_versions()
        .bucket("invoices-archive")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 4);

    // A job that restored the wrong version: the drill fails on the content, exit 11, and
    // its bucket goes all the same.
    let (report, dest, _) = s3_backup_drill(
        &moto,
        created,
        vec![("2026/a.json", a2.clone()), ("2026/b.json", b1.clone())],
    )
    .await;
    assert_eq!(exit_code(&report), 11, "{}", report.verdict_reason);
    let failed: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.outcome != CheckOutcome::Passed)
        .collect();
    assert!(format!("{failed:?}").contains("2026/a.json"), "{failed:#?}");
    assert!(s3.head_bucket().bucket(&dest).send().await.is_err());
}
