//! Restore: the instance or Aurora cluster (with its writer) created from the recovery point, in
//! the drill's isolation settings, and the waits until they are available.

use std::collections::BTreeMap;

use aws_sdk_rds::Client;
use aws_sdk_rds::types::{DbCluster, ServerlessV2ScalingConfiguration};

use crate::provider::aws::to_aws;
use crate::provider::aws::wait::until_ready;
use crate::provider::{ProviderError, RunContext, Waited};

use super::api::{describe_cluster, describe_instance, sdk_error, seen};
use super::resolve::{refuse_multi_az_cluster, refuse_source};
use super::state::{Created, Kind, Point, RdsRestore};

pub(super) fn isolation_details(
    details: &mut BTreeMap<String, String>,
    public: Option<bool>,
    sgs: Vec<&str>,
    subnet_group: Option<&str>,
) {
    if let Some(p) = public {
        details.insert("publicly_accessible".into(), p.to_string());
    }
    if !sgs.is_empty() {
        details.insert("security_groups".into(), sgs.join(","));
    }
    if let Some(g) = subnet_group {
        details.insert("subnet_group".into(), g.into());
    }
}

pub(super) fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

impl RdsRestore {
    pub async fn restore(&mut self, cx: &RunContext) -> Result<Waited, ProviderError> {
        self.run_id = Some(cx.run_id.clone());
        let run_id = cx.run_id.to_lowercase();
        let region = self.target_region();
        let client = self.target_session()?.rds(Some(&region));
        let tags = self.tags(&cx.run_id);
        match self.kind.clone() {
            Kind::Pitr { source, target, .. } => {
                let ident = self.render(&target.identifier, &run_id);
                refuse_source(&ident, &source)?;
                let Some(Point::Time {
                    time,
                    automated_backup_arn,
                }) = self.point.clone()
                else {
                    return Err(ProviderError::harness("restore before resolve"));
                };
                self.created.push(Created::Instance {
                    region: region.clone(),
                    id: ident.clone(),
                });
                pitr_request(
                    &client,
                    &ident,
                    &source,
                    automated_backup_arn.as_deref(),
                    time,
                    &target,
                    tags,
                )
                .send()
                .await
                .map_err(|e| self.restore_error("RestoreDBInstanceToPointInTime", e))?;
                self.restored = Some((ident.clone(), region.clone()));
                self.wait_instance(&client, &ident).await
            }
            Kind::Snapshot { source, target, .. } => {
                let ident = self.render(&target.identifier, &run_id);
                refuse_source(&ident, &source)?;
                let Some(Point::Snapshot { arn, .. }) = self.point.clone() else {
                    return Err(ProviderError::harness("restore before resolve"));
                };
                self.created.push(Created::Instance {
                    region: region.clone(),
                    id: ident.clone(),
                });
                client
                    .restore_db_instance_from_db_snapshot()
                    .db_instance_identifier(&ident)
                    .db_snapshot_identifier(&arn)
                    .set_db_instance_class(target.instance_class.clone())
                    .set_db_subnet_group_name(target.subnet_group.clone())
                    .set_db_parameter_group_name(target.parameter_group.clone())
                    .set_vpc_security_group_ids(non_empty(&target.security_groups))
                    .publicly_accessible(false)
                    .multi_az(false)
                    .deletion_protection(false)
                    .copy_tags_to_snapshot(false)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| self.restore_error("RestoreDBInstanceFromDBSnapshot", e))?;
                self.restored = Some((ident.clone(), region.clone()));
                self.wait_instance(&client, &ident).await
            }
            Kind::Cluster { source, target, .. } => {
                let ident = self.render(&target.cluster.identifier, &run_id);
                let member = self.render(&target.instance_identifier, &run_id);
                refuse_source(&ident, &source)?;
                let Some(Point::Time { time, .. }) = self.point.clone() else {
                    return Err(ProviderError::harness("restore before resolve"));
                };
                let src = describe_cluster(&client, &source)
                    .await
                    .map_err(|e| self.api_error("DescribeDBClusters", e))?
                    .ok_or_else(|| {
                        ProviderError::restore(format!("source cluster {source} not found"))
                    })?;
                let engine = src.engine().unwrap_or("aurora-postgresql").to_owned();
                let class = match &target.cluster.instance_class {
                    Some(c) => c.clone(),
                    None => self.writer_class(&client, &src).await?,
                };
                refuse_multi_az_cluster(&source, &src)?;
                if class == "db.serverless" && src.serverless_v2_scaling_configuration().is_none() {
                    return Err(ProviderError::harness(format!(
                        "restore \"{}\": instance class db.serverless needs a Serverless v2 scaling \
                         configuration, and source cluster {source} has none: set target.instance_class \
                         to a provisioned class",
                        self.id
                    )));
                }
                self.created.push(Created::Cluster {
                    region: region.clone(),
                    id: ident.clone(),
                });
                let mut call = client
                    .restore_db_cluster_to_point_in_time()
                    .set_serverless_v2_scaling_configuration(serverless_v2_scaling(&src))
                    .source_db_cluster_identifier(&source)
                    .db_cluster_identifier(&ident)
                    .set_db_subnet_group_name(target.cluster.subnet_group.clone())
                    .set_vpc_security_group_ids(non_empty(&target.cluster.security_groups))
                    .set_db_cluster_parameter_group_name(target.cluster.parameter_group.clone())
                    .deletion_protection(false)
                    .copy_tags_to_snapshot(false)
                    .set_tags(Some(tags.clone()));
                call = match time {
                    Some(t) => call.restore_to_time(to_aws(t)),
                    None => call.use_latest_restorable_time(true),
                };
                call.send()
                    .await
                    .map_err(|e| self.restore_error("RestoreDBClusterToPointInTime", e))?;
                self.restored = Some((ident.clone(), region.clone()));
                let w1 = self.wait_cluster(&client, &ident).await?;
                self.add_member(&client, &region, &ident, &member, &engine, &class, tags, w1)
                    .await
            }
            Kind::ClusterSnapshot { source, target, .. } => {
                let ident = self.render(&target.cluster.identifier, &run_id);
                let member = self.render(&target.instance_identifier, &run_id);
                refuse_source(&ident, &source)?;
                let Some(Point::Snapshot { arn }) = self.point.clone() else {
                    return Err(ProviderError::harness("restore before resolve"));
                };
                let engine = self
                    .snapshot_engine
                    .clone()
                    .unwrap_or_else(|| "aurora-postgresql".to_owned());
                let class = match &target.cluster.instance_class {
                    Some(c) => c.clone(),
                    None => {
                        // The source cluster lives in the source region (the snapshot may
                        // have been copied away from it).
                        let home = self.session()?.rds(None);
                        let src = describe_cluster(&home, &source)
                            .await
                            .map_err(|e| self.api_error("DescribeDBClusters", e))?
                            .ok_or_else(|| {
                                ProviderError::harness(format!(
                                    "restore \"{}\": source cluster {source} is gone, so its writer's class \
                                     is unknown: set target.instance_class",
                                    self.id
                                ))
                            })?;
                        self.writer_class(&home, &src).await?
                    }
                };
                self.created.push(Created::Cluster {
                    region: region.clone(),
                    id: ident.clone(),
                });
                client
                    .restore_db_cluster_from_snapshot()
                    .db_cluster_identifier(&ident)
                    .snapshot_identifier(&arn)
                    .engine(&engine)
                    .set_db_subnet_group_name(target.cluster.subnet_group.clone())
                    .set_vpc_security_group_ids(non_empty(&target.cluster.security_groups))
                    .set_db_cluster_parameter_group_name(target.cluster.parameter_group.clone())
                    .deletion_protection(false)
                    .copy_tags_to_snapshot(false)
                    .set_tags(Some(tags.clone()))
                    .send()
                    .await
                    .map_err(|e| self.restore_error("RestoreDBClusterFromSnapshot", e))?;
                self.restored = Some((ident.clone(), region.clone()));
                let w1 = self.wait_cluster(&client, &ident).await?;
                self.add_member(&client, &region, &ident, &member, &engine, &class, tags, w1)
                    .await
            }
        }
    }

    /// The one instance of a restored Aurora cluster, private and tagged, waited for.
    #[allow(clippy::too_many_arguments)]
    async fn add_member(
        &mut self,
        client: &Client,
        region: &str,
        cluster: &str,
        member: &str,
        engine: &str,
        class: &str,
        tags: Vec<aws_sdk_rds::types::Tag>,
        before: Waited,
    ) -> Result<Waited, ProviderError> {
        self.created.insert(
            0,
            Created::Instance {
                region: region.to_owned(),
                id: member.to_owned(),
            },
        );
        client
            .create_db_instance()
            .db_instance_identifier(member)
            .db_cluster_identifier(cluster)
            .engine(engine)
            .db_instance_class(class)
            .publicly_accessible(false)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| self.restore_error("CreateDBInstance", e))?;
        let w2 = self.wait_instance(client, member).await?;
        Ok(Waited {
            polls: before.polls + w2.polls,
            resolution: w2.resolution,
        })
    }

    pub(super) async fn writer_class(
        &self,
        client: &Client,
        src: &DbCluster,
    ) -> Result<String, ProviderError> {
        let writer = src
            .db_cluster_members()
            .iter()
            .find(|m| m.is_cluster_writer() == Some(true))
            .or_else(|| src.db_cluster_members().first())
            .and_then(|m| m.db_instance_identifier());
        if let Some(w) = writer
            && let Some(db) = describe_instance(client, w)
                .await
                .map_err(|e| self.api_error("DescribeDBInstances", e))?
            && let Some(c) = db.db_instance_class()
        {
            return Ok(c.to_owned());
        }
        Err(ProviderError::harness(format!(
            "restore \"{}\": the source cluster has no instance to copy the class from: set target.instance_class",
            self.id
        )))
    }

    pub(super) async fn wait_instance(
        &self,
        client: &Client,
        ident: &str,
    ) -> Result<Waited, ProviderError> {
        wait_instance(client, ident, self.settings.endpoint_url.as_deref()).await
    }

    pub(super) async fn wait_cluster(
        &self,
        client: &Client,
        ident: &str,
    ) -> Result<Waited, ProviderError> {
        wait_cluster(client, ident, self.settings.endpoint_url.as_deref()).await
    }
}

/// The point-in-time restore of an instance, isolated and tagged: from the source instance,
/// or from an automated backup replicated to the DR region (`SourceDBInstanceAutomatedBackupsArn`).
pub(super) fn pitr_request(
    client: &Client,
    ident: &str,
    source: &str,
    automated_backup_arn: Option<&str>,
    time: Option<chrono::DateTime<chrono::Utc>>,
    target: &crate::drill::InstanceTarget,
    tags: Vec<aws_sdk_rds::types::Tag>,
) -> aws_sdk_rds::operation::restore_db_instance_to_point_in_time::builders::RestoreDBInstanceToPointInTimeFluentBuilder{
    let mut call = client
        .restore_db_instance_to_point_in_time()
        .target_db_instance_identifier(ident)
        .set_db_instance_class(target.instance_class.clone())
        .set_db_subnet_group_name(target.subnet_group.clone())
        .set_db_parameter_group_name(target.parameter_group.clone())
        .set_vpc_security_group_ids(non_empty(&target.security_groups))
        .publicly_accessible(false)
        .multi_az(false)
        .deletion_protection(false)
        .copy_tags_to_snapshot(false)
        .set_tags(Some(tags));
    call = match automated_backup_arn {
        Some(arn) => call.source_db_instance_automated_backups_arn(arn),
        None => call.source_db_instance_identifier(source),
    };
    match time {
        Some(t) => call.restore_time(to_aws(t)),
        None => call.use_latest_restorable_time(true),
    }
}

/// The source cluster's Serverless v2 scaling range, for the restored cluster: without it,
/// a `db.serverless` writer cannot be added (CreateDBInstance fails).
pub(super) fn serverless_v2_scaling(src: &DbCluster) -> Option<ServerlessV2ScalingConfiguration> {
    let s = src.serverless_v2_scaling_configuration()?;
    Some(
        ServerlessV2ScalingConfiguration::builder()
            .set_min_capacity(s.min_capacity())
            .set_max_capacity(s.max_capacity())
            .set_seconds_until_auto_pause(s.seconds_until_auto_pause())
            .build(),
    )
}

/// Waits until an instance is usable (`api::seen`).
pub(in crate::provider::aws) async fn wait_instance(
    client: &Client,
    ident: &str,
    endpoint: Option<&str>,
) -> Result<Waited, ProviderError> {
    let what = format!("RDS instance {ident}");
    until_ready(&what, || {
        let client = client.clone();
        let ident = ident.to_owned();
        let endpoint = endpoint.map(str::to_owned);
        async move {
            let db = describe_instance(&client, &ident)
                .await
                .map_err(|e| sdk_error("DescribeDBInstances", e, endpoint.as_deref()))?;
            Ok(seen(db.as_ref().and_then(|d| d.db_instance_status())))
        }
    })
    .await
}

/// Waits until a cluster is usable (`api::seen`).
pub(in crate::provider::aws) async fn wait_cluster(
    client: &Client,
    ident: &str,
    endpoint: Option<&str>,
) -> Result<Waited, ProviderError> {
    let what = format!("RDS cluster {ident}");
    until_ready(&what, || {
        let client = client.clone();
        let ident = ident.to_owned();
        let endpoint = endpoint.map(str::to_owned);
        async move {
            let c = describe_cluster(&client, &ident)
                .await
                .map_err(|e| sdk_error("DescribeDBClusters", e, endpoint.as_deref()))?;
            Ok(seen(c.as_ref().and_then(|c| c.status())))
        }
    })
    .await
}
