//! Teardown: deletes what this run created, and only what carries its run tag, waiting until it is
//! gone.

use aws_sdk_rds::types::Tag;

use crate::provider::ProviderError;
use crate::provider::aws::Session;
use crate::provider::aws::wait::{Seen, until_ready};

use super::api::{describe_cluster, describe_instance, sdk_error};
use super::state::{Created, RdsRestore, TAG_RUN_ID};

pub(super) fn run_tag(tags: &[Tag]) -> Option<&str> {
    tags.iter()
        .find(|t| t.key() == Some(TAG_RUN_ID))
        .and_then(|t| t.value())
}

/// Deletes one resource if it carries this run's tag, then waits until it is gone.
pub(in crate::provider::aws) async fn delete(
    session: &Session,
    c: &Created,
    run_id: &str,
) -> Result<(), String> {
    let client = session.rds(Some(c.region()));
    delete_with(
        &client,
        session.settings.endpoint_url.as_deref(),
        c,
        run_id,
        false,
    )
    .await
}

/// Deletes the exact resource this run named and created (an AWS Backup restore's instance,
/// whose identifier did not exist before the run's job), even if it is not tagged yet: a job
/// that failed or was cut off before the tags were set leaves nothing behind. Another run's
/// tag still forbids it.
pub(in crate::provider::aws) async fn delete_rendered(
    session: &Session,
    c: &Created,
    run_id: &str,
) -> Result<(), String> {
    let client = session.rds(Some(c.region()));
    delete_with(
        &client,
        session.settings.endpoint_url.as_deref(),
        c,
        run_id,
        true,
    )
    .await
}

pub(in crate::provider::aws) async fn delete_with(
    client: &aws_sdk_rds::Client,
    hint: Option<&str>,
    c: &Created,
    run_id: &str,
    untagged_ok: bool,
) -> Result<(), String> {
    let id = c.id();
    let ours = |tag: Option<&str>| match (tag, untagged_ok) {
        (None, true) => Ok(()),
        (tag, _) => ours(tag, run_id),
    };
    match c {
        Created::Instance { .. } => {
            let Some(db) = describe_instance(client, id)
                .await
                .map_err(|err| sdk_error("DescribeDBInstances", err, hint).message)?
            else {
                return Ok(());
            };
            ours(run_tag(db.tag_list()))?;
            if db.db_instance_status() != Some("deleting") {
                client
                    .delete_db_instance()
                    .db_instance_identifier(id)
                    .skip_final_snapshot(true)
                    .delete_automated_backups(true)
                    .send()
                    .await
                    .map_err(|err| sdk_error("DeleteDBInstance", err, hint).message)?;
            }
            gone(c, || async {
                describe_instance(client, id)
                    .await
                    .map(|d| d.is_some())
                    .map_err(|err| sdk_error("DescribeDBInstances", err, hint))
            })
            .await
        }
        Created::Cluster { .. } => {
            let Some(cl) = describe_cluster(client, id)
                .await
                .map_err(|err| sdk_error("DescribeDBClusters", err, hint).message)?
            else {
                return Ok(());
            };
            ours(run_tag(cl.tag_list()))?;
            if cl.status() != Some("deleting") {
                client
                    .delete_db_cluster()
                    .db_cluster_identifier(id)
                    .skip_final_snapshot(true)
                    // The restored cluster's own automated backups go with it.
                    .delete_automated_backups(true)
                    .send()
                    .await
                    .map_err(|err| sdk_error("DeleteDBCluster", err, hint).message)?;
            }
            gone(c, || async {
                describe_cluster(client, id)
                    .await
                    .map(|d| d.is_some())
                    .map_err(|err| sdk_error("DescribeDBClusters", err, hint))
            })
            .await
        }
        Created::ClusterSnapshot { .. } => {
            let snap = match client
                .describe_db_cluster_snapshots()
                .db_cluster_snapshot_identifier(id)
                .send()
                .await
            {
                Ok(o) => o.db_cluster_snapshots().first().cloned(),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|s| s.is_db_cluster_snapshot_not_found_fault()) =>
                {
                    None
                }
                Err(err) => {
                    return Err(sdk_error("DescribeDBClusterSnapshots", err, hint).message);
                }
            };
            let Some(snap) = snap else { return Ok(()) };
            ours(run_tag(snap.tag_list()))?;
            client
                .delete_db_cluster_snapshot()
                .db_cluster_snapshot_identifier(id)
                .send()
                .await
                .map_err(|err| sdk_error("DeleteDBClusterSnapshot", err, hint).message)?;
            Ok(())
        }
        Created::Snapshot { .. } => {
            let snap = match client
                .describe_db_snapshots()
                .db_snapshot_identifier(id)
                .send()
                .await
            {
                Ok(o) => o.db_snapshots().first().cloned(),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|s| s.is_db_snapshot_not_found_fault()) =>
                {
                    None
                }
                Err(err) => {
                    return Err(sdk_error("DescribeDBSnapshots", err, hint).message);
                }
            };
            let Some(snap) = snap else { return Ok(()) };
            ours(run_tag(snap.tag_list()))?;
            client
                .delete_db_snapshot()
                .db_snapshot_identifier(id)
                .send()
                .await
                .map_err(|err| sdk_error("DeleteDBSnapshot", err, hint).message)?;
            Ok(())
        }
    }
}

pub(super) fn ours(tag: Option<&str>, run_id: &str) -> Result<(), String> {
    match tag {
        Some(t) if t == run_id => Ok(()),
        Some(t) => Err(format!(
            "not deleted: it carries run id {t}, not this run's {run_id}"
        )),
        None => Err(format!(
            "not deleted: it does not carry the {TAG_RUN_ID} tag, so it is not this run's"
        )),
    }
}

/// Waits, with the same polling as every other wait, until a deleted resource is gone
/// (bounded by the teardown phase's timeout).
pub(super) async fn gone<F, Fut>(what: &Created, mut exists: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, ProviderError>>,
{
    until_ready(&format!("deleting {what}"), || {
        let probe = exists();
        async move {
            Ok(if probe.await? {
                Seen::Pending("deleting".into())
            } else {
                Seen::Ready
            })
        }
    })
    .await
    .map(|_| ())
    .map_err(|e| e.message)
}

impl RdsRestore {
    /// Deletes what the run created, instances before their cluster, then copied snapshots,
    /// and waits until they are gone. Returns what could not be removed.
    pub async fn teardown(&mut self) -> Result<(), Vec<String>> {
        if self.kept || self.created.is_empty() {
            return Ok(());
        }
        let (Ok(session), Some(run_id)) = (self.target_session(), self.run_id.clone()) else {
            return Ok(());
        };
        let mut left = Vec::new();
        let mut created = self.created.clone();
        // Instances first: a cluster cannot go while it has members.
        created.sort_by_key(|c| match c {
            Created::Instance { .. } => 0,
            Created::Cluster { .. } => 1,
            Created::Snapshot { .. } | Created::ClusterSnapshot { .. } => 2,
        });
        for c in &created {
            match delete(session, c, &run_id).await {
                Ok(()) => {}
                Err(e) => left.push(format!("{c}: {e}")),
            }
        }
        self.created.clear();
        if left.is_empty() { Ok(()) } else { Err(left) }
    }
}
