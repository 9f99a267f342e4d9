//! Copy: a snapshot copied to the DR region before it is restored there.

use aws_sdk_rds::Client;

use crate::provider::aws::wait::{Seen, until_ready};
use crate::provider::{ProviderError, RunContext, Waited};

use super::api::sdk_error;
use super::state::{Created, Kind, Point, RdsRestore};
use crate::drill::SnapshotCopy;

impl RdsRestore {
    /// Copies the chosen snapshot to the DR region (phase `copy`).
    pub async fn copy(&mut self, cx: &RunContext) -> Result<Waited, ProviderError> {
        self.run_id = Some(cx.run_id.clone());
        if let Kind::ClusterSnapshot {
            copy: Some(copy), ..
        } = self.kind.clone()
        {
            return self.copy_cluster_snapshot(cx, &copy).await;
        }
        let Kind::Snapshot {
            copy: Some(copy), ..
        } = self.kind.clone()
        else {
            return Ok(Waited::default());
        };
        let Some(Point::Snapshot { arn, .. }) = self.point.clone() else {
            return Err(ProviderError::harness("copy before resolve"));
        };
        let run_id = cx.run_id.clone();
        let copy_id = format!("drill-copy-{run_id}-{}", self.id).to_lowercase();
        let client = self.target_session()?.rds(Some(&copy.region));
        self.created.push(Created::Snapshot {
            region: copy.region.clone(),
            id: copy_id.clone(),
        });
        let mut call = client
            .copy_db_snapshot()
            .source_db_snapshot_identifier(&arn)
            .target_db_snapshot_identifier(&copy_id)
            .copy_tags(false)
            .set_tags(Some(self.tags(&run_id)));
        if let Some(k) = &copy.kms_key {
            call = call.kms_key_id(k);
        }
        if let Some(url) = self
            .presigned_copy(
                "CopyDBSnapshot",
                ("SourceDBSnapshotIdentifier", &arn),
                ("TargetDBSnapshotIdentifier", &copy_id),
                &copy,
            )
            .await?
        {
            call = call.pre_signed_url(url);
        }
        call.send()
            .await
            .map_err(|e| self.api_error("CopyDBSnapshot", e))?;
        let endpoint = self.settings.endpoint_url.clone();
        let waited =
            wait_snapshot_copy(&client, &copy_id, &copy.region, endpoint.as_deref()).await?;
        self.point = Some(Point::Snapshot { arn: copy_id });
        Ok(waited)
    }
}

impl RdsRestore {
    /// Copies the chosen Aurora cluster snapshot to the DR region (CopyDBClusterSnapshot),
    /// pre-signed for the source region when it is encrypted and the regions differ.
    async fn copy_cluster_snapshot(
        &mut self,
        cx: &RunContext,
        copy: &SnapshotCopy,
    ) -> Result<Waited, ProviderError> {
        let Some(Point::Snapshot { arn, .. }) = self.point.clone() else {
            return Err(ProviderError::harness("copy before resolve"));
        };
        let run_id = cx.run_id.clone();
        let copy_id = format!("drill-copy-{run_id}-{}", self.id).to_lowercase();
        let client = self.target_session()?.rds(Some(&copy.region));
        self.created.push(Created::ClusterSnapshot {
            region: copy.region.clone(),
            id: copy_id.clone(),
        });
        let mut call = client
            .copy_db_cluster_snapshot()
            .source_db_cluster_snapshot_identifier(&arn)
            .target_db_cluster_snapshot_identifier(&copy_id)
            .copy_tags(false)
            .set_tags(Some(self.tags(&run_id)));
        if let Some(k) = &copy.kms_key {
            call = call.kms_key_id(k);
        }
        if let Some(url) = self
            .presigned_copy(
                "CopyDBClusterSnapshot",
                ("SourceDBClusterSnapshotIdentifier", &arn),
                ("TargetDBClusterSnapshotIdentifier", &copy_id),
                copy,
            )
            .await?
        {
            call = call.pre_signed_url(url);
        }
        call.send()
            .await
            .map_err(|e| self.api_error("CopyDBClusterSnapshot", e))?;
        let endpoint = self.settings.endpoint_url.clone();
        let waited =
            wait_cluster_snapshot_copy(&client, &copy_id, &copy.region, endpoint.as_deref())
                .await?;
        self.point = Some(Point::Snapshot { arn: copy_id });
        Ok(waited)
    }
}

impl RdsRestore {
    /// The `PreSignedUrl` an encrypted snapshot's copy to another region carries: the same
    /// call signed for the source region with the credentials the copy runs as (what other
    /// SDKs derive from SourceRegion; the Rust SDK does not). `None` when none is needed.
    async fn presigned_copy(
        &self,
        action: &str,
        source: (&str, &str),
        target: (&str, &str),
        copy: &SnapshotCopy,
    ) -> Result<Option<String>, ProviderError> {
        if !self.source_encrypted || copy.region == self.source_region {
            return Ok(None);
        }
        let kms = copy.kms_key.clone().ok_or_else(|| {
            ProviderError::harness("an encrypted snapshot's copy needs copy_kms_key")
        })?;
        let keys = self.target_session()?.signing_keys().await?;
        crate::provider::aws::presign::presigned_url(
            action,
            &[source, target, ("KmsKeyId", &kms)],
            &keys,
            &self.source_region,
            &copy.region,
            std::time::SystemTime::now(),
        )
        .map(Some)
        .map_err(ProviderError::harness)
    }
}

/// Waits until a cluster snapshot copy is available (not visible yet is pending, as for
/// `wait_snapshot_copy`).
pub(super) async fn wait_cluster_snapshot_copy(
    client: &Client,
    copy_id: &str,
    region: &str,
    endpoint: Option<&str>,
) -> Result<Waited, ProviderError> {
    let what = format!("cluster snapshot copy {copy_id} in {region}");
    until_ready(&what, || {
        let client = client.clone();
        let copy_id = copy_id.to_owned();
        let endpoint = endpoint.map(str::to_owned);
        async move {
            let out = match client
                .describe_db_cluster_snapshots()
                .db_cluster_snapshot_identifier(&copy_id)
                .send()
                .await
            {
                Ok(o) => o,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_db_cluster_snapshot_not_found_fault()) =>
                {
                    return Ok(Seen::Pending("not visible yet".into()));
                }
                Err(e) => {
                    return Err(sdk_error(
                        "DescribeDBClusterSnapshots",
                        e,
                        endpoint.as_deref(),
                    ));
                }
            };
            Ok(
                match out.db_cluster_snapshots().first().and_then(|s| s.status()) {
                    Some("available") => Seen::Ready,
                    Some(s @ ("failed" | "incompatible-restore" | "deleted")) => {
                        Seen::Failed(s.to_owned())
                    }
                    Some(s) => Seen::Pending(s.to_owned()),
                    None => Seen::Pending("not visible yet".into()),
                },
            )
        }
    })
    .await
}

/// Waits until a snapshot copy is available. Right after CopyDBSnapshot the copy may not be
/// visible yet (`DBSnapshotNotFound`, eventual consistency across the RDS API): that is
/// pending, as in every other wait, not a failure.
pub(super) async fn wait_snapshot_copy(
    client: &Client,
    copy_id: &str,
    region: &str,
    endpoint: Option<&str>,
) -> Result<Waited, ProviderError> {
    let what = format!("snapshot copy {copy_id} in {region}");
    until_ready(&what, || {
        let client = client.clone();
        let copy_id = copy_id.to_owned();
        let endpoint = endpoint.map(str::to_owned);
        async move {
            let out = match client
                .describe_db_snapshots()
                .db_snapshot_identifier(&copy_id)
                .send()
                .await
            {
                Ok(o) => o,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_db_snapshot_not_found_fault()) =>
                {
                    return Ok(Seen::Pending("not visible yet".into()));
                }
                Err(e) => return Err(sdk_error("DescribeDBSnapshots", e, endpoint.as_deref())),
            };
            Ok(match out.db_snapshots().first().and_then(|s| s.status()) {
                Some("available") => Seen::Ready,
                Some(s @ ("failed" | "incompatible-restore" | "deleted")) => {
                    Seen::Failed(s.to_owned())
                }
                Some(s) => Seen::Pending(s.to_owned()),
                None => Seen::Pending("not visible yet".into()),
            })
        }
    })
    .await
}
