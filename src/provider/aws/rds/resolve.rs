//! Resolve: the recovery point of an RDS restore: the restore window of a source instance or
//! replicated automated backup, or the snapshot to restore from.

use aws_sdk_rds::Client;
use aws_sdk_rds::types::{DbCluster, DbClusterSnapshot, DbSnapshot};
use chrono::{DateTime, Utc};

use crate::drill::{SnapshotCopy, SnapshotSelector, human};
use crate::provider::aws::{Session, to_chrono};
use crate::provider::{ProviderError, RecoveryPoint};

use super::api::{automated_backup_region, describe_cluster, describe_instance};
use super::state::{Kind, Point, RdsRestore};

#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub(super) earliest: DateTime<Utc>,
    pub(super) latest: DateTime<Utc>,
    pub(super) retention_days: i32,
}

/// Refuses a point outside the restorable window, saying which side and by how much.
pub(super) fn check_window(
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

pub(super) fn refuse_source(target: &str, source: &str) -> Result<(), ProviderError> {
    let source_id = source.rsplit(':').next().unwrap_or(source);
    if target.eq_ignore_ascii_case(source) || target.eq_ignore_ascii_case(source_id) {
        return Err(ProviderError::harness(format!(
            "refusing to restore into {target}: it is the source's own identifier"
        )));
    }
    Ok(())
}

/// A Multi-AZ DB cluster (a non-Aurora engine) makes its own instances, so the writer a
/// drill adds to an Aurora cluster cannot be added: refused with the reason.
pub(super) fn refuse_multi_az_cluster(source: &str, src: &DbCluster) -> Result<(), ProviderError> {
    let engine = src.engine().unwrap_or("aurora-postgresql");
    if engine.starts_with("aurora") {
        return Ok(());
    }
    Err(ProviderError::harness(format!(
        "source cluster {source} is a Multi-AZ DB cluster (engine {engine}), not an Aurora cluster: \
         rds_cluster_pitr restores Aurora clusters only (RestoreDBClusterToPointInTime would create \
         the cluster's own instances, and adding a writer fails)"
    )))
}

/// An encrypted snapshot copied to another region needs a key there: KMS keys are regional,
/// and CopyDBSnapshot fails without `KmsKeyId` across regions.
pub(super) fn check_copy_key(snap: &DbSnapshot, copy: &SnapshotCopy) -> Result<(), ProviderError> {
    if snap.encrypted() == Some(true) && copy.kms_key.is_none() {
        return Err(ProviderError::harness(format!(
            "snapshot {} is encrypted (KMS key {}), and KMS keys do not cross regions: set \
             copy_kms_key to a key in {} for the copy",
            snap.db_snapshot_identifier().unwrap_or_default(),
            snap.kms_key_id().unwrap_or("unknown"),
            copy.region
        )));
    }
    Ok(())
}

/// The same for an Aurora cluster snapshot: an encrypted one needs `copy_kms_key` to cross
/// regions.
pub(super) fn check_cluster_copy_key(
    snap: &DbClusterSnapshot,
    copy: &SnapshotCopy,
) -> Result<(), ProviderError> {
    if snap.storage_encrypted() == Some(true) && copy.kms_key.is_none() {
        return Err(ProviderError::harness(format!(
            "cluster snapshot {} is encrypted (KMS key {}), and KMS keys do not cross regions: set \
             copy_kms_key to a key in {} for the copy",
            snap.db_cluster_snapshot_identifier().unwrap_or_default(),
            snap.kms_key_id().unwrap_or("unknown"),
            copy.region
        )));
    }
    Ok(())
}

/// A snapshot of a Multi-AZ DB cluster (a non-Aurora engine) restores into a cluster that
/// makes its own instances: refused, as for `rds_cluster_pitr`.
pub(super) fn refuse_non_aurora_snapshot(snap: &DbClusterSnapshot) -> Result<(), ProviderError> {
    let engine = snap.engine().unwrap_or("aurora-postgresql");
    if engine.starts_with("aurora") {
        return Ok(());
    }
    Err(ProviderError::harness(format!(
        "cluster snapshot {} is of a Multi-AZ DB cluster (engine {engine}), not an Aurora cluster: \
         rds_cluster_snapshot restores Aurora clusters only",
        snap.db_cluster_snapshot_identifier().unwrap_or_default()
    )))
}

/// The note that records every region a run of a restore touches (read back by `sweep`,
/// which looks in each one).
pub const REGIONS_NOTE: &str = "regions touched: ";

impl RdsRestore {
    /// The recovery point, with the regions the run will touch recorded in its notes.
    pub async fn resolve(
        &mut self,
        incident: DateTime<Utc>,
    ) -> Result<RecoveryPoint, ProviderError> {
        let mut rp = self.resolve_point(incident).await?;
        let mut regions = vec![self.source_region.clone(), self.target_region()];
        if let Kind::Pitr { source, .. } = &self.kind
            && let Some(r) = automated_backup_region(source)
        {
            regions.push(r.to_owned());
        }
        regions.sort();
        regions.dedup();
        regions.retain(|r| !r.is_empty());
        rp.notes
            .push(format!("{REGIONS_NOTE}{}", regions.join(", ")));
        Ok(rp)
    }

    async fn resolve_point(
        &mut self,
        incident: DateTime<Utc>,
    ) -> Result<RecoveryPoint, ProviderError> {
        let session = match self.session.take() {
            Some(s) => s,
            None => Session::load(&self.settings).await?,
        };
        self.source_region = session.region();
        self.session = Some(session);
        if let Some(role) = self.snapshot_copy().and_then(|c| c.role_arn.clone()) {
            self.dr_session = Some(self.load_dr_session(&role).await?);
        }
        let target_region = self.target_region();
        match self.kind.clone() {
            Kind::Pitr { source, to, .. } => {
                let wanted = to.time(incident);
                let (client, region, backup_arn) = match automated_backup_region(&source) {
                    // A replicated automated backup (in any partition): it lives in its ARN's
                    // region, and the restore runs there (`target_region`).
                    Some(region) => {
                        if target_region != region {
                            return Err(ProviderError::harness(format!(
                                "restore \"{}\": target.region {target_region} differs from the region of \
                                 the automated backup {source} ({region}): a restore from a replicated \
                                 backup runs in the backup's region; remove target.region or set it to {region}",
                                self.id
                            )));
                        }
                        (
                            self.session()?.rds(Some(region)),
                            region.to_owned(),
                            Some(source.clone()),
                        )
                    }
                    None => {
                        let region = self.source_region.clone();
                        (self.session()?.rds(None), region, None)
                    }
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
                refuse_multi_az_cluster(&source, &c)?;
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
            Kind::ClusterSnapshot {
                source,
                selector,
                copy,
                ..
            } => {
                let client = self.session()?.rds(None);
                if copy.is_none() && target_region != self.source_region {
                    return Err(ProviderError::harness(format!(
                        "restore \"{}\": target.region {target_region} differs from the cluster snapshot's region {}: \
                         set copy_to_region to copy the snapshot there first",
                        self.id, self.source_region
                    )));
                }
                let snap = self
                    .choose_cluster_snapshot(&client, &source, &selector, incident)
                    .await?;
                refuse_non_aurora_snapshot(&snap)?;
                if let Some(c) = &copy {
                    check_cluster_copy_key(&snap, c)?;
                    let arn = snap
                        .db_cluster_snapshot_arn()
                        .unwrap_or_default()
                        .to_owned();
                    self.check_shared(&client, &arn, c, true).await?;
                }
                self.source_encrypted = snap.storage_encrypted() == Some(true);
                self.snapshot_engine = snap.engine().map(str::to_owned);
                let id = snap
                    .db_cluster_snapshot_identifier()
                    .unwrap_or_default()
                    .to_owned();
                let arn = snap.db_cluster_snapshot_arn().unwrap_or(&id).to_owned();
                let time = snap.snapshot_create_time().and_then(to_chrono);
                // A copy names its source by ARN (it may be in another region); a restore in
                // the snapshot's own region names it by identifier (both are accepted by
                // RDS; some emulators take only the identifier).
                self.point = Some(Point::Snapshot {
                    arn: if copy.is_some() {
                        arn.clone()
                    } else {
                        id.clone()
                    },
                });
                let mut notes = vec![format!(
                    "{} cluster snapshot {id} of {source}",
                    snap.snapshot_type().unwrap_or("a")
                )];
                if let Some(c) = &copy {
                    notes.push(copy_note(c));
                }
                Ok(RecoveryPoint {
                    kind: "cluster_snapshot".into(),
                    id: arn,
                    time,
                    latest_restorable: None,
                    notes,
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
                if let Some(c) = &copy {
                    check_copy_key(&snap, c)?;
                }
                if let Some(c) = &copy {
                    let arn = snap.db_snapshot_arn().unwrap_or_default().to_owned();
                    self.check_shared(&client, &arn, c, false).await?;
                }
                self.source_encrypted = snap.encrypted() == Some(true);
                let id = snap.db_snapshot_identifier().unwrap_or_default().to_owned();
                let arn = snap.db_snapshot_arn().unwrap_or(&id).to_owned();
                let time = snap.snapshot_create_time().and_then(to_chrono);
                self.point = Some(Point::Snapshot { arn: arn.clone() });
                let mut notes = vec![format!(
                    "{} snapshot {id} of {source}",
                    snap.snapshot_type().unwrap_or("a")
                )];
                if let Some(c) = &copy {
                    notes.push(copy_note(c));
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

    /// The cluster snapshot an `rds_cluster_snapshot` restore starts from, like `choose_snapshot`.
    pub(super) async fn choose_cluster_snapshot(
        &self,
        client: &Client,
        source: &str,
        selector: &SnapshotSelector,
        incident: DateTime<Utc>,
    ) -> Result<DbClusterSnapshot, ProviderError> {
        let (kind, at) = match selector {
            SnapshotSelector::Id(id) => {
                let out = client
                    .describe_db_cluster_snapshots()
                    .db_cluster_snapshot_identifier(id)
                    .send()
                    .await;
                return match out {
                    Ok(o) => o.db_cluster_snapshots().first().cloned().ok_or_else(|| {
                        ProviderError::restore(format!(
                            "cluster snapshot {id} not found in {}",
                            self.source_region
                        ))
                    }),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_db_cluster_snapshot_not_found_fault()) =>
                    {
                        Err(ProviderError::restore(format!(
                            "cluster snapshot {id} not found in {}",
                            self.source_region
                        )))
                    }
                    Err(e) => Err(self.api_error("DescribeDBClusterSnapshots", e)),
                };
            }
            SnapshotSelector::LatestAutomated(p) => ("automated", p.time(incident)),
            SnapshotSelector::LatestManual(p) => ("manual", p.time(incident)),
        };
        let mut all = Vec::new();
        let mut pages = client
            .describe_db_cluster_snapshots()
            .db_cluster_identifier(source)
            .snapshot_type(kind)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.api_error("DescribeDBClusterSnapshots", e))?;
            all.extend(page.db_cluster_snapshots().iter().cloned());
        }
        let best = all
            .iter()
            .filter(|s| s.status() == Some("available"))
            .filter_map(|s| Some((s.snapshot_create_time().and_then(to_chrono)?, s)))
            .filter(|(t, _)| at.is_none_or(|at| *t <= at))
            .max_by_key(|(t, _)| *t)
            .map(|(_, s)| s.clone());
        best.ok_or_else(|| {
            ProviderError::restore(format!(
                "no available {kind} cluster snapshot of {source}{} ({} {kind} cluster snapshots in all)",
                at.map(|t| format!(" taken at or before {}", t.to_rfc3339()))
                    .unwrap_or_default(),
                all.len()
            ))
        })
    }

    pub(super) async fn instance_window(
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

    pub(super) async fn backup_window(
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

    pub(super) async fn choose_snapshot(
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
}

/// The recovery point's note on a copy: where it went, and into which account as which role.
fn copy_note(c: &SnapshotCopy) -> String {
    match (&c.role_arn, c.account()) {
        (Some(role), Some(account)) => format!(
            "copied to {} in account {account} before the restore; the copy, the restore and \
             the teardown ran as {role}",
            c.region
        ),
        _ => format!("copied to {} before the restore", c.region),
    }
}

impl RdsRestore {
    /// The DR account's session for a cross-account copy: the drill's settings with the copy
    /// role assumed from the runner's own credentials instead of `[provider] role_arn`.
    async fn load_dr_session(&self, role: &str) -> Result<Session, ProviderError> {
        let mut dr = self.settings.clone();
        dr.role_arn = Some(role.to_owned());
        dr.role_external_id = None;
        Session::load(&dr).await.map_err(|mut e| {
            e.message = format!(
                "restore \"{}\": key \"copy_role_arn\": {}",
                self.id, e.message
            );
            e
        })
    }

    /// A copy into another account needs the source snapshot shared with it beforehand
    /// (`restore` attribute naming the account, or `all`): restore-drill never shares a
    /// snapshot itself, as that would change the source. Read-only:
    /// DescribeDB[Cluster]SnapshotAttributes in the source account. Automated snapshots cannot
    /// be shared at all; the error says what to do instead.
    async fn check_shared(
        &self,
        client: &Client,
        arn: &str,
        copy: &SnapshotCopy,
        cluster: bool,
    ) -> Result<(), ProviderError> {
        let Some(dr) = copy.account() else {
            return Ok(());
        };
        let source = super::api::parse_arn(arn)
            .map(|a| a.account)
            .unwrap_or_default();
        if source == dr {
            return Ok(());
        }
        let what = if cluster {
            "cluster snapshot"
        } else {
            "snapshot"
        };
        let ident = arn.rsplit(':').next().unwrap_or(arn);
        if arn.split(':').nth(6) == Some("rds") {
            return Err(ProviderError::harness(format!(
                "restore \"{}\": {what} {arn} is automated, and RDS cannot share automated \
                 snapshots with another account ({dr}, of copy_role_arn): copy it to a manual \
                 snapshot in the source account, share that with {dr}, and name it in \"snapshot\" \
                 (or set snapshot = \"latest_manual\")",
                self.id
            )));
        }
        let values: Vec<String> = if cluster {
            let out = client
                .describe_db_cluster_snapshot_attributes()
                .db_cluster_snapshot_identifier(ident)
                .send()
                .await
                .map_err(|e| self.api_error("DescribeDBClusterSnapshotAttributes", e))?;
            out.db_cluster_snapshot_attributes_result()
                .map(|r| r.db_cluster_snapshot_attributes())
                .unwrap_or_default()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().iter().cloned())
                .collect()
        } else {
            let out = client
                .describe_db_snapshot_attributes()
                .db_snapshot_identifier(ident)
                .send()
                .await
                .map_err(|e| self.api_error("DescribeDBSnapshotAttributes", e))?;
            out.db_snapshot_attributes_result()
                .map(|r| r.db_snapshot_attributes())
                .unwrap_or_default()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().iter().cloned())
                .collect()
        };
        if values.iter().any(|v| v == dr || v == "all") {
            return Ok(());
        }
        Err(ProviderError::harness(format!(
            "restore \"{}\": {what} {arn} (account {source}) is not shared with account {dr} \
             (of copy_role_arn), so the DR account cannot copy it; share it from the source \
             account first (aws rds modify-db{}-snapshot-attribute --attribute-name restore \
             --values-to-add {dr}); restore-drill never changes a source. Shared with: {}",
            self.id,
            if cluster { "-cluster" } else { "" },
            if values.is_empty() {
                "nobody".to_owned()
            } else {
                values.join(", ")
            }
        )))
    }
}
