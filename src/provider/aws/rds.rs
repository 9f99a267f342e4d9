//! RDS restores: point in time (`rds_pitr`), snapshots with an optional cross-region copy
//! (`rds_snapshot`) and Aurora clusters (`rds_cluster_pitr`).
//!
//! Every resource is created with the run's tags and in the drill's isolation settings
//! (subnet group, security groups, never public, never Multi-AZ, no deletion protection).
//! Teardown deletes only resources that carry this run's `restore-drill:run-id` tag.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_rds::Client;
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::{DbCluster, DbInstance, DbSnapshot, Tag};
use chrono::{DateTime, Utc};

use super::wait::{Seen, until_ready};
use super::{AwsSettings, Secret, Session, error_chain, to_aws, to_chrono};
use crate::drill::{
    ClusterTarget, Connect, DrillPlan, InstanceTarget, PointSpec, RestoreKind, RestorePlan,
    SnapshotCopy, SnapshotSelector, human, render_template,
};
use crate::provider::{ProviderError, RecoveryPoint, RunContext, Target, Waited};

pub const TAG_RUN_ID: &str = "restore-drill:run-id";
pub const TAG_DRILL: &str = "restore-drill:drill";
pub const TAG_RESTORE: &str = "restore-drill:restore";
pub const TAG_EXPIRES_AT: &str = "restore-drill:expires-at";

#[derive(Debug, Clone)]
enum Kind {
    Pitr {
        source: String,
        to: PointSpec,
        target: InstanceTarget,
    },
    Snapshot {
        source: String,
        selector: SnapshotSelector,
        copy: Option<SnapshotCopy>,
        target: InstanceTarget,
    },
    Cluster {
        source: String,
        to: PointSpec,
        target: ClusterTarget,
    },
}

/// Something this run created (or may have: a call that was cut off still counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Created {
    Instance { region: String, id: String },
    Cluster { region: String, id: String },
    Snapshot { region: String, id: String },
}

impl fmt::Display for Created {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Created::Instance { region, id } => write!(f, "RDS instance {id} ({region})"),
            Created::Cluster { region, id } => write!(f, "RDS cluster {id} ({region})"),
            Created::Snapshot { region, id } => write!(f, "RDS snapshot {id} ({region})"),
        }
    }
}

/// What resolve chose.
#[derive(Debug, Clone)]
enum Point {
    /// Restore to this moment, or (None) to the latest restorable time.
    Time {
        time: Option<DateTime<Utc>>,
        /// An automated-backup ARN replicated to the DR region, instead of the source id.
        automated_backup_arn: Option<String>,
    },
    /// A snapshot's ARN (or, after a copy, the copy's identifier in the DR region).
    Snapshot { arn: String },
}

#[derive(Debug)]
pub struct RdsRestore {
    id: String,
    drill: String,
    kind: Kind,
    connect: Connect,
    password: Option<Secret>,
    settings: AwsSettings,
    /// How long created resources may live before `sweep` may take them.
    lifetime: std::time::Duration,
    session: Option<Session>,
    source_region: String,
    point: Option<Point>,
    run_id: Option<String>,
    created: Vec<Created>,
    /// The restored instance (or cluster) and its region.
    restored: Option<(String, String)>,
    kept: bool,
    notes: Vec<String>,
}

impl RdsRestore {
    pub fn new(
        plan: &DrillPlan,
        r: &RestorePlan,
        settings: AwsSettings,
    ) -> Result<Self, ProviderError> {
        let (kind, connect) = match &r.kind {
            RestoreKind::RdsPitr {
                source,
                to,
                target,
                connect,
            } => (
                Kind::Pitr {
                    source: source.clone(),
                    to: *to,
                    target: target.clone(),
                },
                connect,
            ),
            RestoreKind::RdsSnapshot {
                source,
                snapshot,
                copy,
                target,
                connect,
            } => (
                Kind::Snapshot {
                    source: source.clone(),
                    selector: snapshot.clone(),
                    copy: copy.clone(),
                    target: target.clone(),
                },
                connect,
            ),
            RestoreKind::RdsClusterPitr {
                source,
                to,
                target,
                connect,
            } => (
                Kind::Cluster {
                    source: source.clone(),
                    to: *to,
                    target: target.clone(),
                },
                connect,
            ),
            other => {
                return Err(ProviderError::harness(format!(
                    "restore \"{}\": kind {} is not an RDS restore",
                    r.id,
                    other.name()
                )));
            }
        };
        let password = Secret::from_env(&r.id, connect.password_env.as_deref())?;
        Ok(RdsRestore {
            id: r.id.clone(),
            drill: plan.name.clone(),
            kind,
            connect: connect.clone(),
            password,
            settings,
            lifetime: plan.timeouts.total(),
            session: None,
            source_region: String::new(),
            point: None,
            run_id: None,
            created: Vec::new(),
            restored: None,
            kept: false,
            notes: Vec::new(),
        })
    }

    pub fn has_copy(&self) -> bool {
        matches!(&self.kind, Kind::Snapshot { copy: Some(_), .. })
    }

    fn session(&self) -> Result<&Session, ProviderError> {
        self.session
            .as_ref()
            .ok_or_else(|| ProviderError::harness("the AWS session was not loaded"))
    }

    /// The region the restored resource lives in.
    fn target_region(&self) -> String {
        let (region, copy) = match &self.kind {
            Kind::Pitr { target, .. } => (target.region.clone(), None),
            Kind::Snapshot { target, copy, .. } => (target.region.clone(), copy.as_ref()),
            Kind::Cluster { target, .. } => (target.cluster.region.clone(), None),
        };
        copy.map(|c| c.region.clone())
            .or(region)
            .unwrap_or_else(|| self.source_region.clone())
    }

    fn endpoint_hint(&self, region: &str) -> String {
        match &self.settings.endpoint_url {
            Some(u) => u.clone(),
            None => format!("the RDS endpoint of {region}"),
        }
    }

    pub async fn resolve(
        &mut self,
        incident: DateTime<Utc>,
    ) -> Result<RecoveryPoint, ProviderError> {
        let session = Session::load(&self.settings).await?;
        self.source_region = session.region();
        self.session = Some(session);
        let target_region = self.target_region();
        match self.kind.clone() {
            Kind::Pitr { source, to, .. } => {
                let wanted = to.time(incident);
                let (client, region, backup_arn) =
                    if source.starts_with("arn:aws:rds:") && source.contains(":auto-backup:") {
                        // A replicated automated backup: it lives in its ARN's region.
                        let region = source.split(':').nth(3).unwrap_or_default().to_owned();
                        (
                            self.session()?.rds(Some(&region)),
                            region,
                            Some(source.clone()),
                        )
                    } else {
                        let region = self.source_region.clone();
                        (self.session()?.rds(None), region, None)
                    };
                let window = match &backup_arn {
                    Some(arn) => self.backup_window(&client, arn, &region).await?,
                    None => self.instance_window(&client, &source, &region).await?,
                };
                if backup_arn.is_none() && target_region != self.source_region {
                    return Err(ProviderError::harness(format!(
                        "restore \"{}\": target.region {target_region} differs from the source's region {}; \
                         a point-in-time restore into another region needs the automated backups replicated \
                         there: set source to the replicated backup's ARN (arn:aws:rds:{target_region}:...:auto-backup:...)",
                        self.id, self.source_region
                    )));
                }
                check_window(&source, wanted, &window)?;
                self.point = Some(Point::Time {
                    time: wanted,
                    automated_backup_arn: backup_arn,
                });
                Ok(RecoveryPoint {
                    kind: "pitr".into(),
                    id: source,
                    time: wanted,
                    latest_restorable: Some(window.latest),
                    notes: vec![format!(
                        "restorable window: {} to {} ({} days of retention)",
                        window.earliest.to_rfc3339(),
                        window.latest.to_rfc3339(),
                        window.retention_days
                    )],
                })
            }
            Kind::Cluster { source, to, .. } => {
                let wanted = to.time(incident);
                let client = self.session()?.rds(None);
                if target_region != self.source_region {
                    return Err(ProviderError::harness(format!(
                        "restore \"{}\": an Aurora point-in-time restore happens in the source's region ({}), not {target_region}",
                        self.id, self.source_region
                    )));
                }
                let c = describe_cluster(&client, &source)
                    .await
                    .map_err(|e| self.api_error("DescribeDBClusters", e))?
                    .ok_or_else(|| {
                        ProviderError::restore(format!(
                            "source cluster {source} not found in {}",
                            self.source_region
                        ))
                    })?;
                let latest = c.latest_restorable_time().and_then(to_chrono).ok_or_else(|| {
                    ProviderError::restore(format!(
                        "source cluster {source} has no latest restorable time: are its automated backups on?"
                    ))
                })?;
                let retention = c.backup_retention_period().unwrap_or(0);
                let earliest = c
                    .earliest_restorable_time()
                    .and_then(to_chrono)
                    .unwrap_or(latest - chrono::Duration::days(retention.into()));
                let window = Window {
                    earliest,
                    latest,
                    retention_days: retention,
                };
                check_window(&source, wanted, &window)?;
                self.point = Some(Point::Time {
                    time: wanted,
                    automated_backup_arn: None,
                });
                Ok(RecoveryPoint {
                    kind: "pitr".into(),
                    id: c.db_cluster_arn().unwrap_or(&source).to_owned(),
                    time: wanted,
                    latest_restorable: Some(latest),
                    notes: vec![format!(
                        "restorable window: {} to {} ({retention} days of retention)",
                        earliest.to_rfc3339(),
                        latest.to_rfc3339(),
                    )],
                })
            }
            Kind::Snapshot {
                source,
                selector,
                copy,
                ..
            } => {
                let client = self.session()?.rds(None);
                if copy.is_none() && target_region != self.source_region {
                    return Err(ProviderError::harness(format!(
                        "restore \"{}\": target.region {target_region} differs from the snapshot's region {}: \
                         set copy_to_region to copy the snapshot there first",
                        self.id, self.source_region
                    )));
                }
                let snap = self
                    .choose_snapshot(&client, &source, &selector, incident)
                    .await?;
                let id = snap.db_snapshot_identifier().unwrap_or_default().to_owned();
                let arn = snap.db_snapshot_arn().unwrap_or(&id).to_owned();
                let time = snap.snapshot_create_time().and_then(to_chrono);
                self.point = Some(Point::Snapshot { arn: arn.clone() });
                let mut notes = vec![format!(
                    "{} snapshot {id} of {source}",
                    snap.snapshot_type().unwrap_or("a")
                )];
                if let Some(c) = &copy {
                    notes.push(format!("copied to {} before the restore", c.region));
                }
                Ok(RecoveryPoint {
                    kind: "snapshot".into(),
                    id: arn,
                    time,
                    latest_restorable: None,
                    notes,
                })
            }
        }
    }

    async fn instance_window(
        &self,
        client: &Client,
        source: &str,
        region: &str,
    ) -> Result<Window, ProviderError> {
        let db = describe_instance(client, source)
            .await
            .map_err(|e| self.api_error("DescribeDBInstances", e))?
            .ok_or_else(|| {
                ProviderError::restore(format!("source instance {source} not found in {region}"))
            })?;
        let retention = db.backup_retention_period().unwrap_or(0);
        if retention == 0 {
            return Err(ProviderError::restore(format!(
                "source instance {source} has automated backups turned off (backup retention 0 days): \
                 it cannot be restored to a point in time"
            )));
        }
        let latest = db
            .latest_restorable_time()
            .and_then(to_chrono)
            .ok_or_else(|| {
                ProviderError::restore(format!(
                    "source instance {source} has no latest restorable time yet"
                ))
            })?;
        // The automated backups' restore window is exact; older APIs and emulators may not
        // give it, then the retention period bounds it.
        let mut earliest = latest - chrono::Duration::days(retention.into());
        if let Some(created) = db.instance_create_time().and_then(to_chrono) {
            earliest = earliest.max(created);
        }
        if let Ok(out) = client
            .describe_db_instance_automated_backups()
            .db_instance_identifier(source)
            .send()
            .await
            && let Some(e) = out
                .db_instance_automated_backups()
                .iter()
                .filter_map(|b| b.restore_window()?.earliest_time())
                .filter_map(to_chrono)
                .min()
        {
            earliest = e;
        }
        Ok(Window {
            earliest,
            latest,
            retention_days: retention,
        })
    }

    async fn backup_window(
        &self,
        client: &Client,
        arn: &str,
        region: &str,
    ) -> Result<Window, ProviderError> {
        let out = client
            .describe_db_instance_automated_backups()
            .db_instance_automated_backups_arn(arn)
            .send()
            .await
            .map_err(|e| self.api_error("DescribeDBInstanceAutomatedBackups", e))?;
        let b = out.db_instance_automated_backups().first().ok_or_else(|| {
            ProviderError::restore(format!("automated backup {arn} not found in {region}"))
        })?;
        let w = b.restore_window();
        let (Some(earliest), Some(latest)) = (
            w.and_then(|w| w.earliest_time()).and_then(to_chrono),
            w.and_then(|w| w.latest_time()).and_then(to_chrono),
        ) else {
            return Err(ProviderError::restore(format!(
                "automated backup {arn} has no restore window (status {})",
                b.status().unwrap_or("unknown")
            )));
        };
        Ok(Window {
            earliest,
            latest,
            retention_days: b.backup_retention_period().unwrap_or(0),
        })
    }

    async fn choose_snapshot(
        &self,
        client: &Client,
        source: &str,
        selector: &SnapshotSelector,
        incident: DateTime<Utc>,
    ) -> Result<DbSnapshot, ProviderError> {
        let (kind, at) =
            match selector {
                SnapshotSelector::Id(id) => {
                    let out = client
                        .describe_db_snapshots()
                        .db_snapshot_identifier(id)
                        .send()
                        .await;
                    return match out {
                        Ok(o) => o.db_snapshots().first().cloned().ok_or_else(|| {
                            ProviderError::restore(format!("snapshot {id} not found"))
                        }),
                        Err(e)
                            if e.as_service_error()
                                .is_some_and(|s| s.is_db_snapshot_not_found_fault()) =>
                        {
                            Err(ProviderError::restore(format!(
                                "snapshot {id} not found in {}",
                                self.source_region
                            )))
                        }
                        Err(e) => Err(self.api_error("DescribeDBSnapshots", e)),
                    };
                }
                SnapshotSelector::LatestAutomated(p) => ("automated", p.time(incident)),
                SnapshotSelector::LatestManual(p) => ("manual", p.time(incident)),
            };
        let mut all = Vec::new();
        let mut pages = client
            .describe_db_snapshots()
            .db_instance_identifier(source)
            .snapshot_type(kind)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.api_error("DescribeDBSnapshots", e))?;
            all.extend(page.db_snapshots().iter().cloned());
        }
        let available = all
            .iter()
            .filter(|s| s.status() == Some("available"))
            .filter_map(|s| Some((s.snapshot_create_time().and_then(to_chrono)?, s)));
        let best = available
            .filter(|(t, _)| at.is_none_or(|at| *t <= at))
            .max_by_key(|(t, _)| *t)
            .map(|(_, s)| s.clone());
        best.ok_or_else(|| {
            ProviderError::restore(format!(
                "no available {kind} snapshot of {source}{} ({} {kind} snapshots in all)",
                at.map(|t| format!(" taken at or before {}", t.to_rfc3339()))
                    .unwrap_or_default(),
                all.len()
            ))
        })
    }

    fn tags(&self, run_id: &str) -> Vec<Tag> {
        let expires = crate::drill::after(Utc::now(), self.lifetime);
        [
            (TAG_RUN_ID, run_id.to_owned()),
            (TAG_DRILL, self.drill.clone()),
            (TAG_RESTORE, self.id.clone()),
            (
                TAG_EXPIRES_AT,
                expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        ]
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
    }

    fn render(&self, template: &str, run_id: &str) -> String {
        render_template(template, &self.drill, &self.id, run_id).to_lowercase()
    }

    /// Copies the chosen snapshot to the DR region (phase `copy`).
    pub async fn copy(&mut self, cx: &RunContext) -> Result<Waited, ProviderError> {
        self.run_id = Some(cx.run_id.clone());
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
        let client = self.session()?.rds(Some(&copy.region));
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
        call.send()
            .await
            .map_err(|e| self.api_error("CopyDBSnapshot", e))?;
        let what = format!("snapshot copy {copy_id} in {}", copy.region);
        let waited = until_ready(&what, || {
            let client = client.clone();
            let copy_id = copy_id.clone();
            async move {
                let out = client
                    .describe_db_snapshots()
                    .db_snapshot_identifier(&copy_id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeDBSnapshots", e, None))?;
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
        .await?;
        self.point = Some(Point::Snapshot { arn: copy_id });
        Ok(waited)
    }

    pub async fn restore(&mut self, cx: &RunContext) -> Result<Waited, ProviderError> {
        self.run_id = Some(cx.run_id.clone());
        let run_id = cx.run_id.to_lowercase();
        let region = self.target_region();
        let client = self.session()?.rds(Some(&region));
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
                let mut call = client
                    .restore_db_instance_to_point_in_time()
                    .target_db_instance_identifier(&ident)
                    .set_db_instance_class(target.instance_class.clone())
                    .set_db_subnet_group_name(target.subnet_group.clone())
                    .set_db_parameter_group_name(target.parameter_group.clone())
                    .set_vpc_security_group_ids(non_empty(&target.security_groups))
                    .publicly_accessible(false)
                    .multi_az(false)
                    .deletion_protection(false)
                    .copy_tags_to_snapshot(false)
                    .set_tags(Some(tags));
                call = match &automated_backup_arn {
                    Some(arn) => call.source_db_instance_automated_backups_arn(arn),
                    None => call.source_db_instance_identifier(&source),
                };
                call = match time {
                    Some(t) => call.restore_time(to_aws(t)),
                    None => call.use_latest_restorable_time(true),
                };
                call.send()
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
                self.created.push(Created::Cluster {
                    region: region.clone(),
                    id: ident.clone(),
                });
                let mut call = client
                    .restore_db_cluster_to_point_in_time()
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
                self.created.insert(
                    0,
                    Created::Instance {
                        region: region.clone(),
                        id: member.clone(),
                    },
                );
                client
                    .create_db_instance()
                    .db_instance_identifier(&member)
                    .db_cluster_identifier(&ident)
                    .engine(&engine)
                    .db_instance_class(&class)
                    .publicly_accessible(false)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| self.restore_error("CreateDBInstance", e))?;
                let w2 = self.wait_instance(&client, &member).await?;
                Ok(Waited {
                    polls: w1.polls + w2.polls,
                    resolution: w2.resolution,
                })
            }
        }
    }

    async fn writer_class(
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

    async fn wait_instance(&self, client: &Client, ident: &str) -> Result<Waited, ProviderError> {
        let what = format!("RDS instance {ident}");
        until_ready(&what, || {
            let client = client.clone();
            let ident = ident.to_owned();
            let endpoint = self.settings.endpoint_url.clone();
            async move {
                let db = describe_instance(&client, &ident)
                    .await
                    .map_err(|e| sdk_error("DescribeDBInstances", e, endpoint.as_deref()))?;
                Ok(seen(db.as_ref().and_then(|d| d.db_instance_status())))
            }
        })
        .await
    }

    async fn wait_cluster(&self, client: &Client, ident: &str) -> Result<Waited, ProviderError> {
        let what = format!("RDS cluster {ident}");
        until_ready(&what, || {
            let client = client.clone();
            let ident = ident.to_owned();
            let endpoint = self.settings.endpoint_url.clone();
            async move {
                let c = describe_cluster(&client, &ident)
                    .await
                    .map_err(|e| sdk_error("DescribeDBClusters", e, endpoint.as_deref()))?;
                Ok(seen(c.as_ref().and_then(|c| c.status())))
            }
        })
        .await
    }

    /// Sets the drill's own master password (a restored database keeps the source's), waits
    /// for the change, and says where the target is.
    pub async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        let Some((ident, region)) = self.restored.clone() else {
            return Err(ProviderError::harness("prepare before restore"));
        };
        let client = self.session()?.rds(Some(&region));
        let cluster = matches!(self.kind, Kind::Cluster { .. });
        let mut waited = Waited::default();
        if let Some(pw) = &self.password {
            if cluster {
                client
                    .modify_db_cluster()
                    .db_cluster_identifier(&ident)
                    .master_user_password(pw.expose())
                    .apply_immediately(true)
                    .send()
                    .await
                    .map_err(|e| self.api_error("ModifyDBCluster", e))?;
                waited = self.wait_cluster(&client, &ident).await?;
            } else {
                waited = set_instance_password(
                    &client,
                    &ident,
                    pw.expose(),
                    self.settings.endpoint_url.as_deref(),
                )
                .await?;
            }
        } else {
            self.notes.push(
                "connect.password_env is not set: the target keeps the source's master password"
                    .into(),
            );
        }
        if !cluster {
            let target = instance_target(
                &client,
                &ident,
                &region,
                &self.connect,
                self.settings.endpoint_url.as_deref(),
            )
            .await?;
            return Ok((target, waited));
        }
        let c = describe_cluster(&client, &ident)
            .await
            .map_err(|e| self.api_error("DescribeDBClusters", e))?
            .ok_or_else(|| ProviderError::restore(format!("cluster {ident} disappeared")))?;
        let mut details = BTreeMap::new();
        details.insert("region".into(), region.clone());
        if let Some(arn) = c.db_cluster_arn() {
            details.insert("arn".into(), arn.into());
        }
        if let Kind::Cluster { target, .. } = &self.kind {
            details.insert(
                "instance".into(),
                self.render(
                    &target.instance_identifier,
                    &self.run_id.clone().unwrap_or_default(),
                ),
            );
        }
        isolation_details(
            &mut details,
            None,
            c.vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id())
                .collect(),
            c.db_subnet_group(),
        );
        connect_details(&mut details, &self.connect);
        let address = c
            .endpoint()
            .map(|h| format!("{h}:{}", c.port().unwrap_or(5432)));
        Ok((
            Target {
                kind: "rds_cluster".into(),
                name: ident,
                address,
                details,
            },
            waited,
        ))
    }

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

    pub fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    /// `--keep`: leave the target up; say how to reach it and remove it.
    pub fn keep(&mut self) -> Option<String> {
        let (ident, region) = self.restored.clone()?;
        self.kept = true;
        let what = if matches!(self.kind, Kind::Cluster { .. }) {
            format!(
                "cluster {ident} in {region}; remove it with `restore-drill sweep --run-id {} --region {region}`",
                self.run_id.clone().unwrap_or_default()
            )
        } else {
            format!(
                "instance {ident} in {region}; remove it with `restore-drill sweep --run-id {} --region {region}` \
                 or `aws rds delete-db-instance --region {region} --db-instance-identifier {ident} --skip-final-snapshot`",
                self.run_id.clone().unwrap_or_default()
            )
        };
        Some(what)
    }

    fn api_error<E>(
        &self,
        call: &str,
        e: SdkError<E, aws_sdk_rds::config::http::HttpResponse>,
    ) -> ProviderError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let hint = self.endpoint_hint(&self.source_region);
        sdk_error(call, e, Some(&hint))
    }

    /// A restore call's failure: the backup's fault when the service says the restore
    /// itself is impossible, else the harness's.
    fn restore_error<E>(
        &self,
        call: &str,
        e: SdkError<E, aws_sdk_rds::config::http::HttpResponse>,
    ) -> ProviderError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        const RESTORE_FAULTS: [&str; 6] = [
            "InvalidRestoreFault",
            "PointInTimeRestoreNotEnabled",
            "PointInTimeRestoreNotEnabledFault",
            "DBSnapshotNotFound",
            "DBInstanceNotFound",
            "DBClusterNotFoundFault",
        ];
        let restore = e.code().is_some_and(|c| RESTORE_FAULTS.contains(&c));
        let mut err = self.api_error(call, e);
        if restore {
            err.blame = crate::provider::Blame::Restore;
        }
        err
    }
}

/// Sets the master password of an instance (a restored database keeps the source's) and
/// waits until the change has been applied: `modifying`, then a pending value, then clear.
pub(super) async fn set_instance_password(
    client: &Client,
    ident: &str,
    password: &str,
    endpoint: Option<&str>,
) -> Result<Waited, ProviderError> {
    client
        .modify_db_instance()
        .db_instance_identifier(ident)
        .master_user_password(password)
        .apply_immediately(true)
        .send()
        .await
        .map_err(|e| sdk_error("ModifyDBInstance", e, endpoint))?;
    let what = format!("RDS instance {ident} (new master password)");
    until_ready(&what, || {
        let client = client.clone();
        let ident = ident.to_owned();
        let endpoint = endpoint.map(str::to_owned);
        async move {
            let db = describe_instance(&client, &ident)
                .await
                .map_err(|e| sdk_error("DescribeDBInstances", e, endpoint.as_deref()))?;
            let Some(db) = db else {
                return Ok(Seen::Failed("deleted".into()));
            };
            let pending = db
                .pending_modified_values()
                .and_then(|p| p.master_user_password())
                .is_some();
            Ok(match db.db_instance_status() {
                Some("available") if !pending => Seen::Ready,
                Some(s) if is_failed_status(s) => Seen::Failed(s.to_owned()),
                Some(s) => Seen::Pending(s.to_owned()),
                None => Seen::Pending("unknown".into()),
            })
        }
    })
    .await
}

/// Where a restored instance is and how it is isolated; refuses a public one.
pub(super) async fn instance_target(
    client: &Client,
    ident: &str,
    region: &str,
    connect: &Connect,
    endpoint: Option<&str>,
) -> Result<Target, ProviderError> {
    let mut details = BTreeMap::new();
    details.insert("region".into(), region.to_owned());
    let db = describe_instance(client, ident)
        .await
        .map_err(|e| sdk_error("DescribeDBInstances", e, endpoint))?
        .ok_or_else(|| ProviderError::restore(format!("instance {ident} disappeared")))?;
    if let Some(arn) = db.db_instance_arn() {
        details.insert("arn".into(), arn.into());
    }
    if let Some(c) = db.db_instance_class() {
        details.insert("instance_class".into(), c.into());
    }
    details.insert(
        "multi_az".into(),
        db.multi_az().unwrap_or(false).to_string(),
    );
    if db.publicly_accessible() == Some(true) {
        return Err(ProviderError::restore(format!(
            "instance {ident} came up publicly accessible although the restore asked for a private one"
        )));
    }
    isolation_details(
        &mut details,
        Some(db.publicly_accessible().unwrap_or(false)),
        db.vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .collect(),
        db.db_subnet_group().and_then(|g| g.db_subnet_group_name()),
    );
    connect_details(&mut details, connect);
    Ok(Target {
        kind: "rds_instance".into(),
        name: ident.to_owned(),
        address: db
            .endpoint()
            .and_then(|e| Some(format!("{}:{}", e.address()?, e.port().unwrap_or(5432)))),
        details,
    })
}

#[derive(Debug, Clone, Copy)]
struct Window {
    earliest: DateTime<Utc>,
    latest: DateTime<Utc>,
    retention_days: i32,
}

/// Refuses a point outside the restorable window, saying which side and by how much.
fn check_window(
    source: &str,
    wanted: Option<DateTime<Utc>>,
    w: &Window,
) -> Result<(), ProviderError> {
    let Some(t) = wanted else { return Ok(()) };
    let by = |a: DateTime<Utc>, b: DateTime<Utc>| human((a - b).to_std().unwrap_or_default());
    if t > w.latest {
        return Err(ProviderError::restore(format!(
            "{source} cannot be restored to {}: its latest restorable time is {} ({} earlier); \
             RDS ships transaction logs about every 5 minutes, so a very recent point is not restorable yet",
            t.to_rfc3339(),
            w.latest.to_rfc3339(),
            by(t, w.latest)
        )));
    }
    if t < w.earliest {
        return Err(ProviderError::restore(format!(
            "{source} cannot be restored to {}: it is {} before the earliest restorable time {} \
             (backup retention {} days)",
            t.to_rfc3339(),
            by(w.earliest, t),
            w.earliest.to_rfc3339(),
            w.retention_days
        )));
    }
    Ok(())
}

fn refuse_source(target: &str, source: &str) -> Result<(), ProviderError> {
    let source_id = source.rsplit(':').next().unwrap_or(source);
    if target.eq_ignore_ascii_case(source) || target.eq_ignore_ascii_case(source_id) {
        return Err(ProviderError::harness(format!(
            "refusing to restore into {target}: it is the source's own identifier"
        )));
    }
    Ok(())
}

fn isolation_details(
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

/// How checks reach the target, for the report.
fn connect_details(details: &mut BTreeMap<String, String>, connect: &Connect) {
    if let Some(via) = &connect.via {
        details.insert("connect_via".into(), via.clone());
    }
    details.insert("tls".into(), connect.tls.name().into());
}

/// What an instance's or cluster's status says about a wait for it.
fn seen(status: Option<&str>) -> Seen {
    match status {
        Some("available") => Seen::Ready,
        Some(s) if is_failed_status(s) => Seen::Failed(s.to_owned()),
        Some(s) => Seen::Pending(s.to_owned()),
        None => Seen::Pending("not visible yet".into()),
    }
}

fn is_failed_status(s: &str) -> bool {
    matches!(
        s,
        "failed"
            | "incompatible-restore"
            | "incompatible-parameters"
            | "incompatible-network"
            | "incompatible-option-group"
            | "inaccessible-encryption-credentials"
            | "inaccessible-encryption-credentials-recoverable"
            | "restore-error"
            | "storage-full"
            | "deleting"
    )
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// One line for a failed SDK call: the call, the service's code and message, or for a
/// transport failure the cause and where the endpoint was.
pub(super) fn sdk_error<E>(
    call: &str,
    e: SdkError<E, aws_sdk_rds::config::http::HttpResponse>,
    endpoint: Option<&str>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let msg = match (&e, e.code()) {
        (SdkError::ServiceError(_), Some(code)) => {
            format!(
                "{call} failed: {code}: {}",
                e.message().unwrap_or("no message")
            )
        }
        (SdkError::DispatchFailure(_) | SdkError::TimeoutError(_), _) => format!(
            "{call} failed: cannot reach {}: {}",
            endpoint.unwrap_or("the AWS endpoint"),
            error_chain(&e)
        ),
        _ => format!("{call} failed: {}", error_chain(&e)),
    };
    ProviderError::harness(msg)
}

pub(super) async fn describe_instance(
    client: &Client,
    ident: &str,
) -> Result<
    Option<DbInstance>,
    SdkError<
        aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError,
        aws_sdk_rds::config::http::HttpResponse,
    >,
> {
    match client
        .describe_db_instances()
        .db_instance_identifier(ident)
        .send()
        .await
    {
        Ok(o) => Ok(o.db_instances().first().cloned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_instance_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub(super) async fn describe_cluster(
    client: &Client,
    ident: &str,
) -> Result<
    Option<DbCluster>,
    SdkError<
        aws_sdk_rds::operation::describe_db_clusters::DescribeDBClustersError,
        aws_sdk_rds::config::http::HttpResponse,
    >,
> {
    match client
        .describe_db_clusters()
        .db_cluster_identifier(ident)
        .send()
        .await
    {
        Ok(o) => Ok(o.db_clusters().first().cloned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_cluster_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn run_tag(tags: &[Tag]) -> Option<&str> {
    tags.iter()
        .find(|t| t.key() == Some(TAG_RUN_ID))
        .and_then(|t| t.value())
}

/// Deletes one resource if it carries this run's tag, then waits until it is gone.
pub(super) async fn delete(session: &Session, c: &Created, run_id: &str) -> Result<(), String> {
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

fn ours(tag: Option<&str>, run_id: &str) -> Result<(), String> {
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
async fn gone<F, Fut>(what: &Created, mut exists: F) -> Result<(), String>
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
