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
    let (region, id) = match c {
        Created::Instance { region, id }
        | Created::Cluster { region, id }
        | Created::Snapshot { region, id } => (region, id),
    };
    let client = session.rds(Some(region));
    let hint = session.settings.endpoint_url.clone();
    match c {
        Created::Instance { .. } => {
            let Some(db) = describe_instance(&client, id)
                .await
                .map_err(|err| sdk_error("DescribeDBInstances", err, hint.as_deref()).message)?
            else {
                return Ok(());
            };
            ours(run_tag(db.tag_list()), run_id)?;
            if db.db_instance_status() != Some("deleting") {
                client
                    .delete_db_instance()
                    .db_instance_identifier(id)
                    .skip_final_snapshot(true)
                    .delete_automated_backups(true)
                    .send()
                    .await
                    .map_err(|err| sdk_error("DeleteDBInstance", err, hint.as_deref()).message)?;
            }
            gone(c, || async {
                describe_instance(&client, id)
                    .await
                    .map(|d| d.is_some())
                    .map_err(|err| sdk_error("DescribeDBInstances", err, hint.as_deref()))
            })
            .await
        }
        Created::Cluster { .. } => {
            let Some(cl) = describe_cluster(&client, id)
                .await
                .map_err(|err| sdk_error("DescribeDBClusters", err, hint.as_deref()).message)?
            else {
                return Ok(());
            };
            ours(run_tag(cl.tag_list()), run_id)?;
            if cl.status() != Some("deleting") {
                client
                    .delete_db_cluster()
                    .db_cluster_identifier(id)
                    .skip_final_snapshot(true)
                    .send()
                    .await
                    .map_err(|err| sdk_error("DeleteDBCluster", err, hint.as_deref()).message)?;
            }
            gone(c, || async {
                describe_cluster(&client, id)
                    .await
                    .map(|d| d.is_some())
                    .map_err(|err| sdk_error("DescribeDBClusters", err, hint.as_deref()))
            })
            .await
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
                    return Err(sdk_error("DescribeDBSnapshots", err, hint.as_deref()).message);
                }
            };
            let Some(snap) = snap else { return Ok(()) };
            ours(run_tag(snap.tag_list()), run_id)?;
            client
                .delete_db_snapshot()
                .db_snapshot_identifier(id)
                .send()
                .await
                .map_err(|err| sdk_error("DeleteDBSnapshot", err, hint.as_deref()).message)?;
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
        let (Some(session), Some(run_id)) = (self.session.as_ref(), self.run_id.clone()) else {
            return Ok(());
        };
        let mut left = Vec::new();
        let mut created = self.created.clone();
        // Instances first: a cluster cannot go while it has members.
        created.sort_by_key(|c| match c {
            Created::Instance { .. } => 0,
            Created::Cluster { .. } => 1,
            Created::Snapshot { .. } => 2,
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
