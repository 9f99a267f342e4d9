//! `backup_recovery_point`: restores an AWS Backup recovery point with `StartRestoreJob`
//! and waits for the job: an RDS instance's or an Aurora cluster's (the drill's isolation laid
//! over the point's own restore metadata; a cluster gets one instance added), or an S3
//! bucket's (into a new bucket named with the run id, checked like an `s3_versions` target). And the other direction: `validate-restore-job`, where restore-drill is
//! the validator of an AWS Backup restore testing plan and reports with
//! `PutRestoreValidationResult`.

use std::collections::HashMap;

use aws_sdk_backup::Client as BackupClient;
use aws_sdk_backup::types::{RecoveryPointStatus, RestoreJobStatus, RestoreValidationStatus};
use aws_sdk_rds::Client as RdsClient;
use chrono::{DateTime, Utc};

use super::rds::{
    Created, TAG_DRILL, TAG_EXPIRES_AT, TAG_RESTORE, TAG_RUN_ID, delete_rendered, describe_cluster,
    instance_target, sdk_error, set_cluster_password, set_instance_password, wait_cluster,
    wait_instance,
};
use super::s3::RestoredObjects;
use super::wait::{Seen, until_ready};
use super::{AwsSettings, Secret, Session, to_chrono};
use crate::drill::{
    BackupPointSelector, BackupResource, BackupTarget, Connect, DrillPlan, RestoreKind,
    RestorePlan, backup_target_misfits, render_template,
};
use crate::provider::{ProviderError, RecoveryPoint, RunContext, Target, Waited};

/// The recovery point resolve chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Chosen {
    pub arn: String,
    pub created: DateTime<Utc>,
    pub resource_type: String,
    pub resource_arn: Option<String>,
    /// For a continuous recovery point: the moment restored to. Its creation date is when
    /// continuous backup began (one point is updated for weeks), not what is restored.
    pub restore_to: Option<RestoreTo>,
}

/// Where a continuous (point-in-time) recovery point is restored to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RestoreTo {
    Time(DateTime<Utc>),
    Latest,
}

/// A continuous backup's recovery point (`...:recovery-point:continuous:...`).
pub(super) fn is_continuous(arn: &str) -> bool {
    arn.contains(":recovery-point:continuous:")
}

/// Sets the restore time of a continuous point in the restore metadata (RDS: `RestoreTime`
/// or `UseLatestRestorableTime`); a value inherited from the point is replaced.
pub(super) fn restore_time_metadata(meta: &mut HashMap<String, String>, at: &RestoreTo) {
    meta.remove("RestoreTime");
    meta.remove("UseLatestRestorableTime");
    match at {
        RestoreTo::Time(t) => {
            meta.insert(
                "RestoreTime".into(),
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
        RestoreTo::Latest => {
            meta.insert("UseLatestRestorableTime".into(), "true".into());
        }
    }
}

#[derive(Debug)]
pub struct BackupRestore {
    id: String,
    drill: String,
    vault: String,
    point: BackupPointSelector,
    iam_role_arn: String,
    target: BackupTarget,
    connect: Option<Connect>,
    password: Option<Secret>,
    settings: AwsSettings,
    lifetime: std::time::Duration,
    session: Option<Session>,
    chosen: Option<Chosen>,
    run_id: Option<String>,
    /// The restored instance and its region.
    restored: Option<(String, String)>,
    job_id: Option<String>,
    kept: bool,
    notes: Vec<String>,
    /// What the chosen recovery point holds (resolve).
    resource: Option<BackupResource>,
    /// An Aurora restore's added instance, once its creation was asked for.
    member: Option<String>,
    /// An S3 restore's new bucket and its region.
    bucket: Option<(String, String)>,
    /// An S3 restore's objects, for the checks (prepare).
    objects: Option<RestoredObjects>,
}

impl BackupRestore {
    pub fn new(
        plan: &DrillPlan,
        r: &RestorePlan,
        settings: AwsSettings,
    ) -> Result<Self, ProviderError> {
        let RestoreKind::BackupRecoveryPoint {
            vault,
            point,
            iam_role_arn,
            target,
            connect,
        } = &r.kind
        else {
            return Err(ProviderError::harness(format!(
                "restore \"{}\" is not a backup_recovery_point restore",
                r.id
            )));
        };
        let password = Secret::from_env(
            &r.id,
            connect.as_ref().and_then(|c| c.password_env.as_deref()),
        )?;
        Ok(BackupRestore {
            id: r.id.clone(),
            drill: plan.name.clone(),
            vault: vault.clone(),
            point: point.clone(),
            iam_role_arn: iam_role_arn.clone(),
            target: target.clone(),
            connect: connect.clone(),
            password,
            settings,
            lifetime: plan.timeouts.total(),
            session: None,
            chosen: None,
            run_id: None,
            restored: None,
            job_id: None,
            kept: false,
            notes: Vec::new(),
            resource: None,
            member: None,
            bucket: None,
            objects: None,
        })
    }

    fn session(&self) -> Result<&Session, ProviderError> {
        self.session
            .as_ref()
            .ok_or_else(|| ProviderError::harness("the AWS session was not loaded"))
    }

    fn region(&self) -> String {
        self.target.region.clone().unwrap_or_else(|| {
            self.session
                .as_ref()
                .map(Session::region)
                .unwrap_or_default()
        })
    }

    /// Runs on this session instead of loading one at resolve: whole drills on the SDK's
    /// mocks, where no server implements AWS Backup restore jobs.
    #[doc(hidden)]
    pub fn with_session(mut self, session: Session) -> Self {
        self.session = Some(session);
        self
    }

    pub async fn resolve(
        &mut self,
        incident: DateTime<Utc>,
    ) -> Result<RecoveryPoint, ProviderError> {
        if self.session.is_none() {
            self.session = Some(Session::load(&self.settings).await?);
        }
        let region = self.region();
        let backup = self.session()?.backup(Some(&region));
        let chosen =
            choose_point(&backup, &self.vault, &self.point, incident, self.endpoint()).await?;
        let resource = fit(&self.id, &chosen, &self.target, self.connect.is_some())?;
        self.resource = Some(resource);
        self.chosen = Some(chosen.clone());
        let (time, continuous) = match chosen.restore_to {
            None => (Some(chosen.created), None),
            Some(RestoreTo::Time(t)) => (
                Some(t),
                Some(format!(
                    "continuous recovery point (continuous backup since {}): restored to {} (RestoreTime)",
                    chosen.created.to_rfc3339(),
                    t.to_rfc3339()
                )),
            ),
            Some(RestoreTo::Latest) => (
                None,
                Some(format!(
                    "continuous recovery point (continuous backup since {}): restored to its latest \
                     restorable time (UseLatestRestorableTime)",
                    chosen.created.to_rfc3339()
                )),
            ),
        };
        let mut notes = Vec::from_iter(continuous);
        let home = self.session()?.region();
        let mut regions = vec![home, region.clone()];
        regions.sort();
        regions.dedup();
        notes.push(format!(
            "{}{}",
            super::rds::REGIONS_NOTE,
            regions.join(", ")
        ));
        notes.insert(
            0,
            format!(
                "{} recovery point in vault {}{}",
                chosen.resource_type,
                self.vault,
                chosen
                    .resource_arn
                    .map(|a| format!(" of {a}"))
                    .unwrap_or_default()
            ),
        );
        Ok(RecoveryPoint {
            kind: "backup_recovery_point".into(),
            id: chosen.arn,
            time,
            latest_restorable: None,
            notes,
        })
    }

    fn endpoint(&self) -> Option<&str> {
        self.settings.endpoint_url.as_deref()
    }

    pub async fn restore(&mut self, cx: &RunContext) -> Result<Waited, ProviderError> {
        self.run_id = Some(cx.run_id.clone());
        let Some(chosen) = self.chosen.clone() else {
            return Err(ProviderError::harness("restore before resolve"));
        };
        match self.resource {
            Some(BackupResource::Aurora) => return self.restore_aurora(cx, &chosen).await,
            Some(BackupResource::S3) => return self.restore_s3(cx, &chosen).await,
            _ => {}
        }
        let region = self.region();
        let session = self.session()?;
        let backup = session.backup(Some(&region));
        let rds = session.rds(Some(&region));
        let template = self
            .target
            .identifier
            .clone()
            .unwrap_or_else(|| "rd-{restore}-{run_id}".into());
        let ident = render_template(&template, &self.drill, &self.id, &cx.run_id).to_lowercase();
        let meta = restore_metadata(&backup, &self.vault, &chosen.arn, self.endpoint()).await?;
        let mut meta = rds_overrides(meta, &ident, &self.target)?;
        if let Some(at) = &chosen.restore_to {
            restore_time_metadata(&mut meta, at);
        }
        // The identifier is this run's only if nothing had it before the job: teardown then
        // deletes it even before it carries the run tag.
        if super::rds::describe_instance(&rds, &ident)
            .await
            .map_err(|e| sdk_error("DescribeDBInstances", e, self.endpoint()))?
            .is_some()
        {
            return Err(ProviderError::harness(format!(
                "refusing to restore into {ident} in {region}: an instance with that identifier \
                 already exists (put {{run_id}} in target.identifier)"
            )));
        }
        let job = start_job(
            &backup,
            &chosen.arn,
            &self.iam_role_arn,
            meta,
            "RDS",
            self.endpoint(),
        )
        .await?;
        self.job_id = Some(job.clone());
        // The job may create the instance before it reports done: teardown looks for it.
        self.restored = Some((ident.clone(), region.clone()));
        // AWS Backup does not tag what it restores: the wait tags the instance as soon as the
        // job or a describe shows it, so a job that fails or a run that is cut off leaves
        // nothing untagged for sweep to miss.
        let tagger = Tagger {
            rds: rds.clone(),
            ident: ident.clone(),
            tags: self.tags(&cx.run_id),
            tagged: Default::default(),
        };
        let (waited, created) = wait_job(&backup, &job, self.endpoint(), Some(&tagger)).await?;
        if let Some(arn) = &created {
            self.notes.push(format!("restore job {job} created {arn}"));
        }
        if !tagger.tagged.load(std::sync::atomic::Ordering::Relaxed) {
            tag_instance(&rds, &ident, &tagger.tags, self.endpoint()).await?;
        }
        Ok(waited)
    }

    fn tags(&self, run_id: &str) -> Vec<(String, String)> {
        let expires = crate::drill::after(Utc::now(), self.lifetime);
        vec![
            (TAG_RUN_ID.into(), run_id.to_owned()),
            (TAG_DRILL.into(), self.drill.clone()),
            (TAG_RESTORE.into(), self.id.clone()),
            (
                TAG_EXPIRES_AT.into(),
                expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        ]
    }

    /// An Aurora recovery point: the cluster, in the drill's isolation, by a restore job;
    /// tagged once it shows; then the one instance the checks run on.
    async fn restore_aurora(
        &mut self,
        cx: &RunContext,
        chosen: &Chosen,
    ) -> Result<Waited, ProviderError> {
        let region = self.region();
        let session = self.session()?;
        let backup = session.backup(Some(&region));
        let rds = session.rds(Some(&region));
        self.restore_aurora_with(&backup, &rds, &region, cx, chosen)
            .await
    }

    pub(super) async fn restore_aurora_with(
        &mut self,
        backup: &BackupClient,
        rds: &RdsClient,
        region: &str,
        cx: &RunContext,
        chosen: &Chosen,
    ) -> Result<Waited, ProviderError> {
        let (backup, rds, region) = (backup.clone(), rds.clone(), region.to_owned());
        let endpoint = self.settings.endpoint_url.clone();
        let endpoint = endpoint.as_deref();
        let render = |t: &str| render_template(t, &self.drill, &self.id, &cx.run_id).to_lowercase();
        let ident = render(
            self.target
                .identifier
                .as_deref()
                .unwrap_or("rd-{restore}-{run_id}"),
        );
        let member = render(
            self.target
                .instance_identifier
                .as_deref()
                .unwrap_or("rd-{restore}-{run_id}-1"),
        );
        let class = self.target.instance_class.clone().ok_or_else(|| {
            ProviderError::harness("an Aurora restore needs target.instance_class")
        })?;
        let meta = restore_metadata(&backup, &self.vault, &chosen.arn, endpoint).await?;
        let mut meta = aurora_overrides(meta, &ident, &self.target)?;
        if let Some(at) = &chosen.restore_to {
            restore_time_metadata(&mut meta, at);
        }
        let engine = meta
            .get("Engine")
            .cloned()
            .unwrap_or_else(|| "aurora-postgresql".to_owned());
        if describe_cluster(&rds, &ident)
            .await
            .map_err(|e| sdk_error("DescribeDBClusters", e, endpoint))?
            .is_some()
        {
            return Err(ProviderError::harness(format!(
                "refusing to restore into {ident} in {region}: a cluster with that identifier \
                 already exists (put {{run_id}} in target.identifier)"
            )));
        }
        let job = start_job(
            &backup,
            &chosen.arn,
            &self.iam_role_arn,
            meta,
            "Aurora",
            endpoint,
        )
        .await?;
        self.job_id = Some(job.clone());
        self.restored = Some((ident.clone(), region.clone()));
        let (w0, created) = wait_job(&backup, &job, endpoint, None).await?;
        if let Some(arn) = &created {
            self.notes.push(format!("restore job {job} created {arn}"));
        }
        let tags = self.tags(&cx.run_id);
        let c = describe_cluster(&rds, &ident)
            .await
            .map_err(|e| sdk_error("DescribeDBClusters", e, endpoint))?
            .ok_or_else(|| {
                ProviderError::restore(format!(
                    "the restore job finished but cluster {ident} does not exist"
                ))
            })?;
        add_tags(
            &rds,
            c.db_cluster_arn().unwrap_or_default(),
            &tags,
            endpoint,
        )
        .await?;
        let w1 = wait_cluster(&rds, &ident, endpoint).await?;
        self.member = Some(member.clone());
        add_member(&rds, &ident, &member, &engine, &class, &tags, endpoint).await?;
        let w2 = wait_instance(&rds, &member, endpoint).await?;
        Ok(Waited {
            polls: w0.polls + w1.polls + w2.polls,
            resolution: w2.resolution,
        })
    }

    /// An S3 recovery point: restored by a restore job into a new bucket named with the run
    /// id (never an existing bucket, never the source), tagged with the run once it exists.
    async fn restore_s3(
        &mut self,
        cx: &RunContext,
        chosen: &Chosen,
    ) -> Result<Waited, ProviderError> {
        let region = self.region();
        let session = self.session()?;
        let backup = session.backup(Some(&region));
        let s3 = session.s3(Some(&region));
        self.restore_s3_with(&backup, &s3, &region, cx, chosen)
            .await
    }

    pub(super) async fn restore_s3_with(
        &mut self,
        backup: &BackupClient,
        s3: &aws_sdk_s3::Client,
        region: &str,
        cx: &RunContext,
        chosen: &Chosen,
    ) -> Result<Waited, ProviderError> {
        let (backup, s3, region) = (backup.clone(), s3.clone(), region.to_owned());
        let endpoint = self.settings.endpoint_url.clone();
        let endpoint = endpoint.as_deref();
        let template =
            self.target.bucket.clone().ok_or_else(|| {
                ProviderError::harness("an S3 recovery point needs target.bucket")
            })?;
        let bucket = render_template(&template, &self.drill, &self.id, &cx.run_id).to_lowercase();
        let source = chosen.resource_arn.as_deref().map(s3_bucket_of);
        if source == Some(bucket.as_str()) {
            return Err(ProviderError::harness(format!(
                "refusing to restore into s3://{bucket}: it is the source bucket"
            )));
        }
        match s3.head_bucket().bucket(&bucket).send().await {
            Ok(_) => {
                return Err(ProviderError::harness(format!(
                    "refusing to restore into s3://{bucket}: the bucket exists already (a restore \
                     goes into a new bucket, which teardown deletes; put {{run_id}} in target.bucket)"
                )));
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
            Err(e) => {
                return Err(ProviderError::harness(format!(
                    "HeadBucket {bucket} failed: {}",
                    super::error_chain(&e)
                )));
            }
        }
        let meta = restore_metadata(&backup, &self.vault, &chosen.arn, endpoint).await?;
        let mut meta = s3_overrides(meta, &bucket, &cx.run_id);
        if let Some(at) = &chosen.restore_to {
            restore_time_metadata(&mut meta, at);
        }
        let job = start_job(
            &backup,
            &chosen.arn,
            &self.iam_role_arn,
            meta,
            "S3",
            endpoint,
        )
        .await?;
        self.job_id = Some(job.clone());
        // The job creates the bucket: from here teardown looks for it.
        self.bucket = Some((bucket.clone(), region.clone()));
        let (waited, _) = wait_job(&backup, &job, endpoint, None).await?;
        tag_bucket(&s3, &bucket, &self.tags(&cx.run_id)).await?;
        Ok(waited)
    }

    /// The restore point an S3 restore's content is checked against: what the job restored
    /// to (a continuous point's restore time, else the point's creation).
    fn restored_to(&self) -> Option<DateTime<Utc>> {
        let c = self.chosen.as_ref()?;
        Some(match c.restore_to {
            Some(RestoreTo::Time(t)) => t,
            Some(RestoreTo::Latest) | None => c.created,
        })
    }

    pub async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        if let Some((bucket, region)) = self.bucket.clone() {
            return self.prepare_s3(&bucket, &region).await;
        }
        if self.resource == Some(BackupResource::Aurora) {
            return self.prepare_aurora().await;
        }
        let Some((ident, region)) = self.restored.clone() else {
            return Err(ProviderError::harness("prepare before restore"));
        };
        let rds = self.session()?.rds(Some(&region));
        let mut waited = Waited::default();
        if let Some(pw) = &self.password {
            waited = set_instance_password(&rds, &ident, pw.expose(), self.endpoint()).await?;
        }
        let connect = self.connect.clone().unwrap_or(Connect {
            database: String::new(),
            user: String::new(),
            password_env: None,
            via: None,
            tls: crate::drill::Tls::Require,
            ca_bundle: None,
        });
        let mut target = instance_target(&rds, &ident, &region, &connect, self.endpoint()).await?;
        if let Some(job) = &self.job_id {
            target.details.insert("restore_job_id".into(), job.clone());
        }
        Ok((target, waited))
    }

    async fn prepare_s3(
        &mut self,
        bucket: &str,
        region: &str,
    ) -> Result<(Target, Waited), ProviderError> {
        let source = self
            .chosen
            .as_ref()
            .and_then(|c| c.resource_arn.as_deref())
            .map(s3_bucket_of)
            .ok_or_else(|| ProviderError::harness("the S3 recovery point names no source bucket"))?
            .to_owned();
        let at = self
            .restored_to()
            .ok_or_else(|| ProviderError::harness("prepare before resolve"))?;
        // What the bucket must hold: the source's versions current at the restore point
        // (AWS Backup restores the current version of each key), listed from the source.
        let objects = RestoredObjects::attach(&self.settings, bucket, "", &source, "", at)
            .await
            .map_err(ProviderError::harness)?;
        self.objects = Some(objects);
        let mut details = std::collections::BTreeMap::new();
        details.insert("region".into(), region.to_owned());
        details.insert("bucket".into(), bucket.to_owned());
        details.insert("source_bucket".into(), source);
        if let Some(job) = &self.job_id {
            details.insert("restore_job_id".into(), job.clone());
        }
        Ok((
            Target {
                kind: "s3_bucket".into(),
                name: bucket.to_owned(),
                address: Some(format!("s3://{bucket}/")),
                details,
            },
            Waited::default(),
        ))
    }

    async fn prepare_aurora(&mut self) -> Result<(Target, Waited), ProviderError> {
        let Some((ident, region)) = self.restored.clone() else {
            return Err(ProviderError::harness("prepare before restore"));
        };
        let rds = self.session()?.rds(Some(&region));
        let endpoint = self.settings.endpoint_url.clone();
        let endpoint = endpoint.as_deref();
        let mut waited = Waited::default();
        if let Some(pw) = &self.password {
            waited = set_cluster_password(&rds, &ident, pw.expose(), endpoint).await?;
        }
        let c = describe_cluster(&rds, &ident)
            .await
            .map_err(|e| sdk_error("DescribeDBClusters", e, endpoint))?
            .ok_or_else(|| ProviderError::restore(format!("cluster {ident} disappeared")))?;
        let mut details = std::collections::BTreeMap::new();
        details.insert("region".into(), region.clone());
        if let Some(arn) = c.db_cluster_arn() {
            details.insert("arn".into(), arn.into());
        }
        if let Some(m) = &self.member {
            details.insert("instance".into(), m.clone());
        }
        let sgs: Vec<&str> = c
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .collect();
        if !sgs.is_empty() {
            details.insert("security_groups".into(), sgs.join(","));
        }
        if let Some(g) = c.db_subnet_group() {
            details.insert("subnet_group".into(), g.into());
        }
        if let Some(job) = &self.job_id {
            details.insert("restore_job_id".into(), job.clone());
        }
        if let Some(c) = &self.connect {
            if let Some(via) = &c.via {
                details.insert("connect_via".into(), via.clone());
            }
            details.insert("tls".into(), c.tls.name().into());
        }
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

    /// What checks see of an S3 restore's bucket.
    pub fn objects(&self) -> Option<RestoredObjects> {
        self.objects.clone()
    }

    pub async fn teardown(&mut self) -> Result<(), Vec<String>> {
        if self.kept {
            return Ok(());
        }
        if let (Some(session), Some(run_id), Some((bucket, region))) = (
            self.session.as_ref(),
            self.run_id.clone(),
            self.bucket.clone(),
        ) {
            let s3 = session.s3(Some(&region));
            delete_bucket(&s3, &bucket, &run_id)
                .await
                .map_err(|e| vec![format!("bucket s3://{bucket} ({region}): {e}")])?;
            self.bucket = None;
            self.objects = None;
            return Ok(());
        }
        if self.resource == Some(BackupResource::Aurora) {
            let (Some(session), Some(run_id), Some((ident, region))) = (
                self.session.as_ref(),
                self.run_id.clone(),
                self.restored.clone(),
            ) else {
                return Ok(());
            };
            let mut left = Vec::new();
            if let Some(m) = self.member.clone() {
                let c = Created::Instance {
                    region: region.clone(),
                    id: m,
                };
                if let Err(e) = delete_rendered(session, &c, &run_id).await {
                    left.push(format!("{c}: {e}"));
                }
            }
            let c = Created::Cluster { region, id: ident };
            if left.is_empty()
                && let Err(e) = delete_rendered(session, &c, &run_id).await
            {
                left.push(format!("{c}: {e}"));
            }
            if !left.is_empty() {
                return Err(left);
            }
            self.restored = None;
            self.member = None;
            return Ok(());
        }
        let (Some(session), Some(run_id), Some((ident, region))) = (
            self.session.as_ref(),
            self.run_id.clone(),
            self.restored.take(),
        ) else {
            return Ok(());
        };
        let c = Created::Instance { region, id: ident };
        // The exact identifier this run rendered, which did not exist before its job: deleted
        // even if the job failed before it was tagged (never if another run's tag is on it).
        delete_rendered(session, &c, &run_id)
            .await
            .map_err(|e| vec![format!("{c}: {e}")])
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    pub fn keep(&mut self) -> Option<String> {
        if let Some((bucket, region)) = self.bucket.clone() {
            self.kept = true;
            return Some(format!(
                "bucket s3://{bucket} in {region}; empty and delete it (every version) when done"
            ));
        }
        let (ident, region) = self.restored.clone()?;
        self.kept = true;
        if self.resource == Some(BackupResource::Aurora) {
            return Some(format!(
                "cluster {ident} in {region}; remove it with `restore-drill sweep --run-id {} --region {region}`",
                self.run_id.clone().unwrap_or_default()
            ));
        }
        Some(format!(
            "instance {ident} in {region}; remove it with `restore-drill sweep --run-id {} --region {region}`",
            self.run_id.clone().unwrap_or_default()
        ))
    }
}

/// The newest completed recovery point of the resource at or before the point, or exactly
/// the one named.
pub(super) async fn choose_point(
    backup: &BackupClient,
    vault: &str,
    selector: &BackupPointSelector,
    incident: DateTime<Utc>,
    endpoint: Option<&str>,
) -> Result<Chosen, ProviderError> {
    match selector {
        BackupPointSelector::RecoveryPoint { arn } => {
            let out = backup
                .describe_recovery_point()
                .backup_vault_name(vault)
                .recovery_point_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeRecoveryPoint", e, endpoint))?;
            if out.status() != Some(&RecoveryPointStatus::Completed) {
                return Err(ProviderError::restore(format!(
                    "recovery point {arn} is {}, not COMPLETED",
                    out.status()
                        .map(|s| s.as_str())
                        .unwrap_or("of unknown status")
                )));
            }
            Ok(Chosen {
                arn: arn.clone(),
                created: out.creation_date().and_then(to_chrono).ok_or_else(|| {
                    ProviderError::restore(format!("recovery point {arn} has no creation date"))
                })?,
                resource_type: out.resource_type().unwrap_or_default().to_owned(),
                resource_arn: out.resource_arn().map(str::to_owned),
                // One named point, no `to`: a continuous one is restored to its latest.
                restore_to: is_continuous(arn).then_some(RestoreTo::Latest),
            })
        }
        BackupPointSelector::Resource { arn, to } => {
            let at = to.time(incident);
            let mut all = Vec::new();
            let mut pages = backup
                .list_recovery_points_by_backup_vault()
                .backup_vault_name(vault)
                .by_resource_arn(arn)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| sdk_error("ListRecoveryPointsByBackupVault", e, endpoint))?;
                all.extend(page.recovery_points().iter().cloned());
            }
            // A continuous point that began before the moment restores to that exact moment,
            // which no snapshot point can beat; else the newest snapshot point before it.
            let best = all
                .iter()
                .filter(|p| p.status() == Some(&RecoveryPointStatus::Completed))
                .filter_map(|p| Some((p.creation_date().and_then(to_chrono)?, p)))
                .filter(|(t, _)| at.is_none_or(|at| *t <= at))
                .max_by_key(|(t, p)| (p.recovery_point_arn().is_some_and(is_continuous), *t));
            let Some((created, p)) = best else {
                return Err(ProviderError::restore(format!(
                    "no completed recovery point of {arn} in vault {vault}{} ({} recovery points in all)",
                    at.map(|t| format!(" created at or before {}", t.to_rfc3339()))
                        .unwrap_or_default(),
                    all.len()
                )));
            };
            let arn = p.recovery_point_arn().unwrap_or_default().to_owned();
            let restore_to = is_continuous(&arn).then_some(match at {
                Some(t) => RestoreTo::Time(t),
                None => RestoreTo::Latest,
            });
            Ok(Chosen {
                arn,
                created,
                resource_type: p.resource_type().unwrap_or_default().to_owned(),
                resource_arn: p.resource_arn().map(str::to_owned),
                restore_to,
            })
        }
    }
}

/// The chosen point's resource type, and whether the drill's target keys fit it.
pub(super) fn fit(
    restore: &str,
    chosen: &Chosen,
    target: &BackupTarget,
    has_connect: bool,
) -> Result<BackupResource, ProviderError> {
    let resource = BackupResource::of_type(&chosen.resource_type).ok_or_else(|| {
        ProviderError::harness(format!(
            "recovery point {} is of resource type {}: restore-drill restores AWS Backup recovery \
             points of RDS instances, Aurora clusters and S3 buckets",
            chosen.arn, chosen.resource_type
        ))
    })?;
    let misfits = backup_target_misfits(resource, target, has_connect);
    if misfits.is_empty() {
        return Ok(resource);
    }
    Err(ProviderError::harness(format!(
        "restore \"{restore}\": recovery point {} is of resource type {}, and the drill's target does not fit it: {}",
        chosen.arn,
        resource.type_name(),
        misfits
            .iter()
            .map(|(k, why)| format!("key \"{k}\": {why}"))
            .collect::<Vec<_>>()
            .join("; ")
    )))
}

/// `arn:aws:s3:::bucket` → `bucket`.
pub(super) fn s3_bucket_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// An Aurora point's restore metadata with the drill's isolation laid over it: its own
/// cluster identifier, no deletion protection, the isolated subnet group and security
/// groups (never the point's own network, nor its zones).
pub(super) fn aurora_overrides(
    mut meta: HashMap<String, String>,
    ident: &str,
    t: &BackupTarget,
) -> Result<HashMap<String, String>, ProviderError> {
    if meta
        .get("DBClusterIdentifier")
        .is_some_and(|s| s.eq_ignore_ascii_case(ident))
    {
        return Err(ProviderError::harness(format!(
            "refusing to restore into {ident}: it is the source's own identifier"
        )));
    }
    if !t.allow_shared_network && (t.subnet_group.is_none() || t.security_groups.is_empty()) {
        return Err(ProviderError::harness(format!(
            "refusing to restore {ident} without the drill's isolation: give target.subnet_group \
             and target.security_groups (or allow_shared_network = true), or the cluster would land \
             in the recovery point's own network"
        )));
    }
    meta.insert("DBClusterIdentifier".into(), ident.to_owned());
    meta.insert("DeletionProtection".into(), "false".into());
    meta.insert("CopyTagsToSnapshot".into(), "false".into());
    if !t.allow_shared_network {
        for k in [
            "DBSubnetGroupName",
            "VpcSecurityGroupIds",
            "AvailabilityZones",
        ] {
            meta.remove(k);
        }
    }
    if let Some(g) = &t.subnet_group {
        meta.remove("AvailabilityZones");
        meta.insert("DBSubnetGroupName".into(), g.clone());
    }
    if !t.security_groups.is_empty() {
        let list = serde_json::to_string(&t.security_groups)
            .map_err(|e| ProviderError::harness(e.to_string()))?;
        meta.insert("VpcSecurityGroupIds".into(), list);
    }
    for k in [
        "Endpoint",
        "ReaderEndpoint",
        "DBClusterArn",
        "DbClusterResourceId",
        "DBClusterMembers",
    ] {
        meta.remove(k);
    }
    Ok(meta)
}

/// An S3 point's restore metadata: the whole bucket into a new bucket `bucket`, created by
/// the job, `CreationToken` the run id (a retried start does not make a second job).
pub(super) fn s3_overrides(
    mut meta: HashMap<String, String>,
    bucket: &str,
    run_id: &str,
) -> HashMap<String, String> {
    meta.remove("ItemsToRestore");
    meta.insert("DestinationBucketName".into(), bucket.to_owned());
    meta.insert("NewBucket".into(), "true".into());
    meta.insert("CreationToken".into(), run_id.to_owned());
    meta
}

/// The one writer instance of a restored Aurora cluster: private, tagged.
pub(super) async fn add_member(
    rds: &RdsClient,
    cluster: &str,
    member: &str,
    engine: &str,
    class: &str,
    tags: &[(String, String)],
    endpoint: Option<&str>,
) -> Result<(), ProviderError> {
    rds.create_db_instance()
        .db_instance_identifier(member)
        .db_cluster_identifier(cluster)
        .engine(engine)
        .db_instance_class(class)
        .publicly_accessible(false)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| sdk_error("CreateDBInstance", e, endpoint))?;
    Ok(())
}

/// Tags the bucket a restore job created with the run, so `sweep` knows it.
pub(super) async fn tag_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    tags: &[(String, String)],
) -> Result<(), ProviderError> {
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .set_tag_set(Some(
            tags.iter()
                .filter_map(|(k, v)| {
                    aws_sdk_s3::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .ok()
                })
                .collect(),
        ))
        .build()
        .map_err(|e| ProviderError::harness(e.to_string()))?;
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| {
            ProviderError::harness(format!(
                "PutBucketTagging {bucket} failed: {}",
                super::error_chain(&e)
            ))
        })?;
    Ok(())
}

/// Deletes a bucket an S3 restore job created for this run: every version and delete marker,
/// then the bucket. Never a bucket that carries another run's tag. Gone already is done.
pub(super) async fn delete_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    run_id: &str,
) -> Result<(), String> {
    match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => {
            let tag = out
                .tag_set()
                .iter()
                .find(|t| t.key() == TAG_RUN_ID)
                .map(|t| t.value().to_owned());
            if let Some(t) = tag
                && t != run_id
            {
                return Err(format!(
                    "not deleted: it carries run id {t}, not this run's {run_id}"
                ));
            }
        }
        Err(e) => {
            let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e).map(str::to_owned);
            match code.as_deref() {
                Some("NoSuchBucket") => return Ok(()),
                // Not tagged (yet): the name is this run's (it has the run id and did not
                // exist before the job).
                Some("NoSuchTagSet") => {}
                _ => {
                    return Err(format!(
                        "GetBucketTagging failed: {}",
                        super::error_chain(&e)
                    ));
                }
            }
        }
    }
    for _ in 0..4 {
        let mut ids = Vec::new();
        let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let page = s3
                .list_object_versions()
                .bucket(bucket)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(|e| super::error_chain(&e))?;
            for v in page.versions() {
                ids.push((
                    v.key().unwrap_or_default().to_owned(),
                    v.version_id().map(str::to_owned),
                ));
            }
            for m in page.delete_markers() {
                ids.push((
                    m.key().unwrap_or_default().to_owned(),
                    m.version_id().map(str::to_owned),
                ));
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
            if key_marker.is_none() {
                return Err(format!(
                    "the version listing of s3://{bucket} is truncated but names no next key"
                ));
            }
        }
        if ids.is_empty() {
            break;
        }
        for chunk in ids.chunks(1000) {
            let objects: Result<Vec<_>, _> = chunk
                .iter()
                .map(|(k, v)| {
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key(k)
                        .set_version_id(v.clone())
                        .build()
                })
                .collect();
            let delete = objects
                .and_then(|o| {
                    aws_sdk_s3::types::Delete::builder()
                        .set_objects(Some(o))
                        .quiet(true)
                        .build()
                })
                .map_err(|e| e.to_string())?;
            s3.delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| super::error_chain(&e))?;
        }
    }
    s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| format!("DeleteBucket failed: {}", super::error_chain(&e)))?;
    Ok(())
}

pub(super) async fn restore_metadata(
    backup: &BackupClient,
    vault: &str,
    arn: &str,
    endpoint: Option<&str>,
) -> Result<HashMap<String, String>, ProviderError> {
    let out = backup
        .get_recovery_point_restore_metadata()
        .backup_vault_name(vault)
        .recovery_point_arn(arn)
        .send()
        .await
        .map_err(|e| sdk_error("GetRecoveryPointRestoreMetadata", e, endpoint))?;
    Ok(out.restore_metadata().cloned().unwrap_or_default())
}

/// The point's restore metadata with the drill's isolation laid over it: its own identifier,
/// never public, never Multi-AZ, the isolated subnet group and security groups.
pub(super) fn rds_overrides(
    mut meta: HashMap<String, String>,
    ident: &str,
    t: &BackupTarget,
) -> Result<HashMap<String, String>, ProviderError> {
    if meta
        .get("DBInstanceIdentifier")
        .is_some_and(|s| s.eq_ignore_ascii_case(ident))
    {
        return Err(ProviderError::harness(format!(
            "refusing to restore into {ident}: it is the source's own identifier"
        )));
    }
    meta.insert("DBInstanceIdentifier".into(), ident.to_owned());
    meta.insert("PubliclyAccessible".into(), "false".into());
    meta.insert("MultiAZ".into(), "false".into());
    meta.insert("DeletionProtection".into(), "false".into());
    if let Some(c) = &t.instance_class {
        meta.insert("DBInstanceClass".into(), c.clone());
    }
    // The network comes from the drill, never from the recovery point: the point's own
    // subnet group and security groups are production's.
    if !t.allow_shared_network && (t.subnet_group.is_none() || t.security_groups.is_empty()) {
        return Err(ProviderError::harness(format!(
            "refusing to restore {ident} without the drill's isolation: give target.subnet_group \
             and target.security_groups (or allow_shared_network = true), or the copy would land \
             in the recovery point's own network"
        )));
    }
    for k in [
        "DBSubnetGroupName",
        "VpcSecurityGroupIds",
        "AvailabilityZone",
    ] {
        if !t.allow_shared_network {
            meta.remove(k);
        }
    }
    if let Some(g) = &t.subnet_group {
        // A zone of the source's subnets may not exist in the isolated group.
        meta.remove("AvailabilityZone");
        meta.insert("DBSubnetGroupName".into(), g.clone());
    }
    if !t.security_groups.is_empty() {
        let list = serde_json::to_string(&t.security_groups)
            .map_err(|e| ProviderError::harness(e.to_string()))?;
        meta.insert("VpcSecurityGroupIds".into(), list);
    }
    // Source-only settings that must not follow the copy.
    for k in ["Endpoint", "DBInstanceArn", "DbiResourceId"] {
        meta.remove(k);
    }
    Ok(meta)
}

pub(super) async fn start_job(
    backup: &BackupClient,
    arn: &str,
    role: &str,
    meta: HashMap<String, String>,
    resource_type: &str,
    endpoint: Option<&str>,
) -> Result<String, ProviderError> {
    let out = backup
        .start_restore_job()
        .recovery_point_arn(arn)
        .iam_role_arn(role)
        .set_metadata(Some(meta))
        .resource_type(resource_type)
        .send()
        .await
        .map_err(|e| sdk_error("StartRestoreJob", e, endpoint))?;
    out.restore_job_id()
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::harness("StartRestoreJob returned no job id"))
}

/// Polls `DescribeRestoreJob` until the job is done; returns the created resource's ARN.
/// Tags the instance a restore job creates, once it can be seen.
pub(super) struct Tagger {
    pub rds: RdsClient,
    pub ident: String,
    pub tags: Vec<(String, String)>,
    pub tagged: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Tagger {
    /// Tags the instance if it exists now (named by the job or found by its identifier).
    /// A failure is only logged: the next poll tries again, and the end of the wait tags it
    /// for good.
    async fn try_tag(&self, created_arn: Option<&str>, endpoint: Option<&str>) {
        use std::sync::atomic::Ordering;
        if self.tagged.load(Ordering::Relaxed) {
            return;
        }
        let arn = match created_arn {
            Some(a) => Some(a.to_owned()),
            None => match super::rds::describe_instance(&self.rds, &self.ident).await {
                Ok(Some(db)) => db.db_instance_arn().map(str::to_owned),
                Ok(None) => None,
                Err(e) => {
                    tracing::debug!("{}", sdk_error("DescribeDBInstances", e, endpoint));
                    None
                }
            },
        };
        let Some(arn) = arn else { return };
        match add_tags(&self.rds, &arn, &self.tags, endpoint).await {
            Ok(()) => self.tagged.store(true, Ordering::Relaxed),
            Err(e) => tracing::info!("tagging {} failed, tried again: {e}", self.ident),
        }
    }
}

pub(super) async fn wait_job(
    backup: &BackupClient,
    job: &str,
    endpoint: Option<&str>,
    tagger: Option<&Tagger>,
) -> Result<(Waited, Option<String>), ProviderError> {
    // (created resource, status message), as last seen.
    let seen: std::sync::Arc<std::sync::Mutex<(Option<String>, Option<String>)>> =
        Default::default();
    let what = format!("AWS Backup restore job {job}");
    let waited = until_ready(&what, || {
        let backup = backup.clone();
        let endpoint = endpoint.map(str::to_owned);
        let seen = seen.clone();
        async move {
            let out = backup
                .describe_restore_job()
                .restore_job_id(job)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeRestoreJob", e, endpoint.as_deref()))?;
            if let Ok(mut s) = seen.lock() {
                *s = (
                    out.created_resource_arn().map(str::to_owned),
                    out.status_message().map(str::to_owned),
                );
            }
            if let Some(t) = tagger {
                t.try_tag(out.created_resource_arn(), endpoint.as_deref())
                    .await;
            }
            Ok(match out.status() {
                Some(RestoreJobStatus::Completed) => Seen::Ready,
                Some(s @ (RestoreJobStatus::Aborted | RestoreJobStatus::Failed)) => {
                    Seen::Failed(s.as_str().to_owned())
                }
                Some(s) => Seen::Pending(s.as_str().to_owned()),
                None => Seen::Pending("unknown".into()),
            })
        }
    })
    .await;
    let (created, message) = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let waited = waited.map_err(|mut e| {
        if let Some(m) = &message {
            e.message.push_str(&format!(": {m}"));
        }
        e
    })?;
    Ok((waited, created))
}

async fn tag_instance(
    rds: &RdsClient,
    ident: &str,
    tags: &[(String, String)],
    endpoint: Option<&str>,
) -> Result<(), ProviderError> {
    let db = super::rds::describe_instance(rds, ident)
        .await
        .map_err(|e| sdk_error("DescribeDBInstances", e, endpoint))?
        .ok_or_else(|| {
            ProviderError::restore(format!(
                "the restore job finished but instance {ident} does not exist"
            ))
        })?;
    let arn = db.db_instance_arn().unwrap_or_default().to_owned();
    add_tags(rds, &arn, tags, endpoint).await
}

async fn add_tags(
    rds: &RdsClient,
    arn: &str,
    tags: &[(String, String)],
    endpoint: Option<&str>,
) -> Result<(), ProviderError> {
    rds.add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| sdk_error("AddTagsToResource", e, endpoint))?;
    Ok(())
}

/// The outcome `validate-restore-job` reports back to AWS Backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub successful: bool,
    pub message: String,
}

/// What a restore testing job restored: the instance and where to reach it.
pub(super) async fn restored_by_job(
    backup: &BackupClient,
    rds: &RdsClient,
    job: &str,
    connect: &Connect,
    region: &str,
    endpoint: Option<&str>,
) -> Result<Target, ProviderError> {
    let out = backup
        .describe_restore_job()
        .restore_job_id(job)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeRestoreJob", e, endpoint))?;
    if out.status() != Some(&RestoreJobStatus::Completed) {
        return Err(ProviderError::restore(format!(
            "restore job {job} is {}, not COMPLETED{}",
            out.status()
                .map(|s| s.as_str())
                .unwrap_or("of unknown status"),
            out.status_message()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )));
    }
    let arn = out.created_resource_arn().ok_or_else(|| {
        ProviderError::restore(format!("restore job {job} names no created resource"))
    })?;
    // arn:aws:rds:REGION:ACCOUNT:db:IDENTIFIER
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 7 || parts[2] != "rds" || parts[5] != "db" {
        return Err(ProviderError::harness(format!(
            "restore job {job} created {arn}: restore-drill validates RDS instances only"
        )));
    }
    instance_target(rds, parts[6], region, connect, endpoint).await
}

/// Reports the validation result to AWS Backup.
pub(super) async fn put_validation(
    backup: &BackupClient,
    job: &str,
    v: &Validation,
    endpoint: Option<&str>,
) -> Result<(), ProviderError> {
    // The API caps the message; keep the head, which names the first failure.
    let mut message = v.message.clone();
    if message.len() > 1000 {
        let mut cut = 997;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("...");
    }
    backup
        .put_restore_validation_result()
        .restore_job_id(job)
        .validation_status(if v.successful {
            RestoreValidationStatus::Successful
        } else {
            RestoreValidationStatus::Failed
        })
        .validation_status_message(message)
        .send()
        .await
        .map_err(|e| sdk_error("PutRestoreValidationResult", e, endpoint))?;
    Ok(())
}

/// An AWS Backup restore testing job, as its validator sees it: what it restored, and where
/// the validation result goes. The checks themselves are the engine's
/// (`engine::validate_restore_job`): providers restore, they never run checks.
#[derive(Debug)]
pub struct RestoreJob {
    backup: BackupClient,
    rds: RdsClient,
    job: String,
    connect: Connect,
    region: String,
    endpoint: Option<String>,
}

impl RestoreJob {
    /// The job `job` of the drill's restore `restore_id` (a `backup_recovery_point` restore
    /// with a `[restore.connect]`).
    pub async fn open(
        plan: &DrillPlan,
        restore_id: &str,
        job: &str,
    ) -> Result<Self, ProviderError> {
        let settings = AwsSettings::of(&plan.provider)
            .ok_or_else(|| ProviderError::harness("the drill's [provider] is not aws"))?;
        let session = Session::load(&settings).await?;
        let r = plan
            .restores
            .iter()
            .find(|r| r.id == restore_id)
            .ok_or_else(|| {
                ProviderError::harness(format!("the drill has no restore \"{restore_id}\""))
            })?;
        let (connect, region) = match &r.kind {
            RestoreKind::BackupRecoveryPoint {
                connect: Some(c),
                target,
                ..
            } => (
                c.clone(),
                target.region.clone().unwrap_or_else(|| session.region()),
            ),
            RestoreKind::BackupRecoveryPoint { connect: None, .. } => {
                return Err(ProviderError::harness(format!(
                    "restore \"{restore_id}\" has no [restore.connect]: its checks cannot reach a database"
                )));
            }
            other => {
                return Err(ProviderError::harness(format!(
                    "restore \"{restore_id}\" is {}, not backup_recovery_point",
                    other.name()
                )));
            }
        };
        Ok(RestoreJob {
            backup: session.backup(Some(&region)),
            rds: session.rds(Some(&region)),
            job: job.to_owned(),
            connect,
            region,
            endpoint: settings.endpoint_url.clone(),
        })
    }

    /// The instance the job restored, reachable with the drill's password (set on it when the
    /// drill names one). A restore that cannot be reached is the restore's fault.
    pub async fn target(&self) -> Result<Target, ProviderError> {
        job_target(
            &self.backup,
            &self.rds,
            &self.job,
            &self.connect,
            &self.region,
            self.endpoint.as_deref(),
        )
        .await
    }

    /// Tells AWS Backup the validation result.
    pub async fn report(&self, v: &Validation) -> Result<(), ProviderError> {
        put_validation(&self.backup, &self.job, v, self.endpoint.as_deref()).await
    }
}

async fn job_target(
    backup: &BackupClient,
    rds: &RdsClient,
    job: &str,
    connect: &Connect,
    region: &str,
    endpoint: Option<&str>,
) -> Result<Target, ProviderError> {
    let target = restored_by_job(backup, rds, job, connect, region, endpoint).await?;
    if let Some(var) = &connect.password_env {
        let pw = std::env::var(var).map_err(|_| {
            ProviderError::harness(format!(
                "the environment variable {var} (connect.password_env) is not set"
            ))
        })?;
        set_instance_password(rds, &target.name, &pw, endpoint).await?;
    }
    Ok(target)
}

/// The Backup flows against the SDK's own mocks (moto implements no restore jobs): each
/// answer is built from the API reference's shapes, and each request is matched on what
/// restore-drill must send.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_backup::operation::describe_restore_job::DescribeRestoreJobOutput;
    use aws_sdk_backup::operation::list_recovery_points_by_backup_vault::ListRecoveryPointsByBackupVaultOutput;
    use aws_sdk_backup::operation::put_restore_validation_result::PutRestoreValidationResultOutput;
    use aws_sdk_backup::operation::start_restore_job::StartRestoreJobOutput;
    use aws_sdk_backup::primitives::DateTime as BackupTime;
    use aws_sdk_backup::types::RecoveryPointByBackupVault;
    use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
    use aws_sdk_rds::types::{DbInstance, Endpoint};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::delete_bucket as delete_bucket_fn;
    use super::*;
    use crate::drill::PointSpec;

    const RESOURCE: &str = "arn:aws:rds:us-east-1:123456789012:db:payments-prod";

    fn point(n: u32, secs: i64, status: RecoveryPointStatus) -> RecoveryPointByBackupVault {
        RecoveryPointByBackupVault::builder()
            .recovery_point_arn(format!(
                "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-{n}"
            ))
            .resource_arn(RESOURCE)
            .resource_type("RDS")
            .status(status)
            .creation_date(BackupTime::from_secs(secs))
            .build()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[tokio::test]
    async fn the_newest_completed_point_at_or_before_the_incident_is_chosen() {
        let list = mock!(aws_sdk_backup::Client::list_recovery_points_by_backup_vault)
            .match_requests(|r| {
                r.backup_vault_name() == Some("prod-vault") && r.by_resource_arn() == Some(RESOURCE)
            })
            .then_output(|| {
                ListRecoveryPointsByBackupVaultOutput::builder()
                    .recovery_points(point(1, 1_000, RecoveryPointStatus::Completed))
                    .recovery_points(point(2, 2_000, RecoveryPointStatus::Completed))
                    // Newer than the incident, and one that did not complete.
                    .recovery_points(point(3, 3_500, RecoveryPointStatus::Completed))
                    .recovery_points(point(4, 2_500, RecoveryPointStatus::Partial))
                    .build()
            });
        let backup = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&list]);
        let sel = BackupPointSelector::Resource {
            arn: RESOURCE.into(),
            to: PointSpec::Incident,
        };
        let chosen = choose_point(&backup, "prod-vault", &sel, at(3_000), None)
            .await
            .unwrap();
        assert!(chosen.arn.ends_with(":job-2"), "{chosen:?}");
        assert_eq!(chosen.created, at(2_000));
        assert_eq!(chosen.resource_type, "RDS");

        // Before every point: a restore failure that says how many points there were.
        let e = choose_point(&backup, "prod-vault", &sel, at(500), None)
            .await
            .unwrap_err();
        assert_eq!(e.blame, crate::provider::Blame::Restore);
        assert_eq!(
            e.message,
            format!(
                "no completed recovery point of {RESOURCE} in vault prod-vault created at or before 1970-01-01T00:08:20+00:00 (4 recovery points in all)"
            )
        );
    }

    fn target() -> BackupTarget {
        BackupTarget {
            identifier: Some("drill-payments-{run_id}".into()),
            region: None,
            instance_class: Some("db.t4g.medium".into()),
            subnet_group: Some("drill-isolated".into()),
            security_groups: vec!["sg-0drill".into(), "sg-1drill".into()],
            allow_shared_network: false,
            bucket: None,
            prefix: None,
            instance_identifier: None,
        }
    }

    #[test]
    fn isolation_is_laid_over_the_points_restore_metadata() {
        let meta: HashMap<String, String> = [
            ("DBInstanceIdentifier", "payments-prod"),
            ("PubliclyAccessible", "true"),
            ("MultiAZ", "true"),
            ("DBSubnetGroupName", "prod-subnets"),
            ("Engine", "postgres"),
            ("Endpoint", "payments-prod.x.us-east-1.rds.amazonaws.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let out = rds_overrides(meta.clone(), "drill-payments-r1", &target()).unwrap();
        assert_eq!(out["DBInstanceIdentifier"], "drill-payments-r1");
        assert_eq!(out["PubliclyAccessible"], "false");
        assert_eq!(out["MultiAZ"], "false");
        assert_eq!(out["DeletionProtection"], "false");
        assert_eq!(out["DBSubnetGroupName"], "drill-isolated");
        assert_eq!(out["VpcSecurityGroupIds"], r#"["sg-0drill","sg-1drill"]"#);
        assert_eq!(out["DBInstanceClass"], "db.t4g.medium");
        assert_eq!(out["Engine"], "postgres");
        assert!(!out.contains_key("Endpoint"));

        // Issue 15 item 1: without the drill's isolation the point's own network is never
        // kept, and the zone of the source's subnets goes with it.
        let mut with_az = meta.clone();
        with_az.insert("AvailabilityZone".into(), "us-east-1a".into());
        with_az.insert("VpcSecurityGroupIds".into(), r#"["sg-prod"]"#.into());
        let out = rds_overrides(with_az.clone(), "drill-payments-r1", &target()).unwrap();
        assert!(!out.contains_key("AvailabilityZone"));
        let bare = BackupTarget {
            subnet_group: None,
            security_groups: vec![],
            ..target()
        };
        let e = rds_overrides(with_az.clone(), "drill-payments-r1", &bare).unwrap_err();
        assert!(
            e.message.contains("without the drill's isolation"),
            "{}",
            e.message
        );
        let shared = BackupTarget {
            allow_shared_network: true,
            ..bare
        };
        let out = rds_overrides(with_az, "drill-payments-r1", &shared).unwrap();
        assert_eq!(
            out["DBSubnetGroupName"], "prod-subnets",
            "explicitly allowed"
        );

        let e = rds_overrides(meta, "payments-prod", &target()).unwrap_err();
        assert_eq!(
            e.message,
            "refusing to restore into payments-prod: it is the source's own identifier"
        );
    }

    #[tokio::test]
    async fn the_job_is_started_with_the_role_and_the_isolated_metadata() {
        let start = mock!(aws_sdk_backup::Client::start_restore_job)
            .match_requests(|r| {
                let m = r.metadata().unwrap();
                r.iam_role_arn() == Some("arn:aws:iam::123456789012:role/drill-restore")
                    && r.resource_type() == Some("RDS")
                    && m["PubliclyAccessible"] == "false"
                    && m["DBInstanceIdentifier"] == "drill-payments-r1"
            })
            .then_output(|| {
                StartRestoreJobOutput::builder()
                    .restore_job_id("job-42")
                    .build()
            });
        let backup = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&start]);
        let meta = rds_overrides(HashMap::new(), "drill-payments-r1", &target()).unwrap();
        let job = start_job(
            &backup,
            "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-2",
            "arn:aws:iam::123456789012:role/drill-restore",
            meta,
            "RDS",
            None,
        )
        .await
        .unwrap();
        assert_eq!(job, "job-42");
        assert_eq!(start.num_calls(), 1);
    }

    fn job(status: RestoreJobStatus, message: Option<&str>) -> DescribeRestoreJobOutput {
        let mut b = DescribeRestoreJobOutput::builder()
            .restore_job_id("job-42")
            .status(status)
            .resource_type("RDS")
            .created_resource_arn("arn:aws:rds:us-east-1:123456789012:db:drill-payments-r1");
        if let Some(m) = message {
            b = b.status_message(m);
        }
        b.build()
    }

    #[tokio::test(start_paused = true)]
    async fn the_job_is_polled_until_it_completes() {
        let describe = mock!(aws_sdk_backup::Client::describe_restore_job)
            .match_requests(|r| r.restore_job_id() == Some("job-42"))
            .sequence()
            .output(|| job(RestoreJobStatus::Pending, None))
            .output(|| job(RestoreJobStatus::Running, None))
            .times(2)
            .output(|| job(RestoreJobStatus::Completed, None))
            .build();
        let backup = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&describe]);
        let (waited, created) = wait_job(&backup, "job-42", None, None).await.unwrap();
        assert_eq!(waited.polls, 4);
        assert_eq!(waited.resolution, Duration::from_secs(2));
        assert_eq!(
            created.as_deref(),
            Some("arn:aws:rds:us-east-1:123456789012:db:drill-payments-r1")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_job_is_a_restore_failure_with_its_message() {
        let describe = mock!(aws_sdk_backup::Client::describe_restore_job)
            .sequence()
            .output(|| job(RestoreJobStatus::Running, None))
            .output(|| {
                job(
                    RestoreJobStatus::Failed,
                    Some("DBSubnetGroup drill-isolated not found"),
                )
            })
            .build();
        let backup = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&describe]);
        let e = wait_job(&backup, "job-42", None, None).await.unwrap_err();
        assert_eq!(e.blame, crate::provider::Blame::Restore);
        assert_eq!(
            e.message,
            "AWS Backup restore job job-42 failed: its status is \"FAILED\": DBSubnetGroup drill-isolated not found"
        );
    }

    #[tokio::test]
    async fn validation_results_are_reported_with_their_status_and_message() {
        let ok = mock!(aws_sdk_backup::Client::put_restore_validation_result)
            .match_requests(|r| {
                r.restore_job_id() == Some("job-42")
                    && r.validation_status() == Some(&RestoreValidationStatus::Successful)
                    && r.validation_status_message() == Some("3 of 3 checks passed")
            })
            .then_output(|| PutRestoreValidationResultOutput::builder().build());
        let failed = mock!(aws_sdk_backup::Client::put_restore_validation_result)
            .match_requests(|r| {
                r.validation_status() == Some(&RestoreValidationStatus::Failed)
                    && r.validation_status_message()
                        .is_some_and(|m| (997..=1000).contains(&m.len()) && m.ends_with("..."))
            })
            .then_output(|| PutRestoreValidationResultOutput::builder().build());
        let backup = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&ok, &failed]);
        let v = Validation {
            successful: true,
            message: "3 of 3 checks passed".into(),
        };
        put_validation(&backup, "job-42", &v, None).await.unwrap();
        let v = Validation {
            successful: false,
            message: "é".repeat(800),
        };
        put_validation(&backup, "job-42", &v, None).await.unwrap();
        assert_eq!((ok.num_calls(), failed.num_calls()), (1, 1));
    }

    /// The validator's view of a job: it names an RDS instance (mocked describe), whose
    /// endpoint is where the drill's checks go (they run in `engine::validate_restore_job`).
    #[tokio::test]
    async fn a_restore_testing_job_names_the_instance_to_check() {
        let describe_job = mock!(aws_sdk_backup::Client::describe_restore_job)
            .then_output(|| job(RestoreJobStatus::Completed, None));
        let backup = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&describe_job]);
        let describe_db = mock!(aws_sdk_rds::Client::describe_db_instances)
            .match_requests(|r| r.db_instance_identifier() == Some("drill-payments-r1"))
            .then_output(move || {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        DbInstance::builder()
                            .db_instance_identifier("drill-payments-r1")
                            .db_instance_status("available")
                            .publicly_accessible(false)
                            .endpoint(Endpoint::builder().address("127.0.0.1").port(5999).build())
                            .build(),
                    )
                    .build()
            });
        let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe_db]);
        let connect = Connect {
            database: "postgres".into(),
            user: "postgres".into(),
            password_env: None,
            via: None,
            tls: crate::drill::Tls::Disable,
            ca_bundle: None,
        };
        let target = job_target(&backup, &rds, "job-42", &connect, "us-east-1", None)
            .await
            .unwrap();
        assert_eq!(target.name, "drill-payments-r1");
        assert_eq!(target.address.as_deref(), Some("127.0.0.1:5999"));
    }

    /// Item 5: the job creates the instance long before it finishes; when it then fails (or
    /// the run is cut off), the instance must already carry the run's tags, and teardown
    /// deletes the exact identifier this run rendered even if the tags never got there.
    #[tokio::test(start_paused = true)]
    async fn issue_20_item_5_a_backup_restore_is_tagged_as_soon_as_it_shows_and_torn_down_untagged()
    {
        let describe_job = mock!(aws_sdk_backup::Client::describe_restore_job)
            .sequence()
            .output(|| {
                DescribeRestoreJobOutput::builder()
                    .restore_job_id("job-42")
                    .status(RestoreJobStatus::Running)
                    .build()
            })
            .output(|| job(RestoreJobStatus::Running, None))
            .output(|| {
                job(
                    RestoreJobStatus::Failed,
                    Some("Restore failed: the instance could not be configured"),
                )
            })
            .build();
        let backup = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&describe_job]);
        let arn = "arn:aws:rds:us-east-1:123456789012:db:drill-payments-r1";
        let describe_db =
            mock!(aws_sdk_rds::Client::describe_db_instances).then_output(move || {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        DbInstance::builder()
                            .db_instance_identifier("drill-payments-r1")
                            .db_instance_arn(arn)
                            .db_instance_status("creating")
                            .build(),
                    )
                    .build()
            });
        let add_tags = mock!(aws_sdk_rds::Client::add_tags_to_resource)
            .match_requests(move |r| {
                r.resource_name() == Some(arn)
                    && r.tags().iter().any(|t| {
                        t.key() == Some(TAG_RUN_ID) && t.value() == Some("20261121T130501Z-7f3a")
                    })
            })
            .then_output(|| {
                aws_sdk_rds::operation::add_tags_to_resource::AddTagsToResourceOutput::builder()
                    .build()
            });
        let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe_db, &add_tags]);
        let tagger = Tagger {
            rds: rds.clone(),
            ident: "drill-payments-r1".into(),
            tags: vec![(TAG_RUN_ID.into(), "20261121T130501Z-7f3a".into())],
            tagged: Default::default(),
        };
        let e = wait_job(&backup, "job-42", None, Some(&tagger))
            .await
            .unwrap_err();
        assert!(e.message.contains("FAILED"), "{}", e.message);
        assert_eq!(
            add_tags.num_calls(),
            1,
            "tagged once, before the job failed"
        );
        assert!(tagger.tagged.load(std::sync::atomic::Ordering::Relaxed));

        // Teardown of the rendered identifier: untagged, and still deleted.
        let untagged = || {
            DescribeDbInstancesOutput::builder()
                .db_instances(
                    DbInstance::builder()
                        .db_instance_identifier("drill-payments-r1")
                        .db_instance_status("failed")
                        .build(),
                )
                .build()
        };
        let describe_db = mock!(aws_sdk_rds::Client::describe_db_instances)
            .sequence()
            .output(untagged)
            .error(|| {
                aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError::DbInstanceNotFoundFault(
                    aws_sdk_rds::types::error::DbInstanceNotFoundFault::builder().build(),
                )
            })
            .build();
        let delete = mock!(aws_sdk_rds::Client::delete_db_instance)
            .match_requests(|r| r.db_instance_identifier() == Some("drill-payments-r1"))
            .then_output(|| {
                aws_sdk_rds::operation::delete_db_instance::DeleteDbInstanceOutput::builder()
                    .build()
            });
        let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe_db, &delete]);
        let c = Created::Instance {
            region: "us-east-1".into(),
            id: "drill-payments-r1".into(),
        };
        crate::provider::aws::rds::delete_with(&rds, None, &c, "20261121T130501Z-7f3a", true)
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 1);

        // Without that ownership (sweep, RDS teardown) an untagged instance is never touched.
        let describe_db = mock!(aws_sdk_rds::Client::describe_db_instances).then_output(untagged);
        let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[&describe_db]);
        let e =
            crate::provider::aws::rds::delete_with(&rds, None, &c, "20261121T130501Z-7f3a", false)
                .await
                .unwrap_err();
        assert!(
            e.contains("does not carry the restore-drill:run-id tag"),
            "{e}"
        );
    }

    /// Item 8: a continuous recovery point was created when continuous backup began, weeks
    /// ago; it restores to the incident itself, passed as `RestoreTime`, and that is the
    /// time recorded (RPO from it), not its creation date.
    #[tokio::test]
    async fn issue_20_item_8_a_continuous_point_is_restored_to_the_incident() {
        let continuous =
            "arn:aws:backup:us-east-1:123456789012:recovery-point:continuous:db-orders-1a2b";
        let list = mock!(aws_sdk_backup::Client::list_recovery_points_by_backup_vault).then_output(
            move || {
                ListRecoveryPointsByBackupVaultOutput::builder()
                    .recovery_points(point(1, 2_000, RecoveryPointStatus::Completed))
                    .recovery_points(
                        RecoveryPointByBackupVault::builder()
                            .recovery_point_arn(continuous)
                            .resource_arn(RESOURCE)
                            .resource_type("RDS")
                            .status(RecoveryPointStatus::Completed)
                            .creation_date(BackupTime::from_secs(100))
                            .build(),
                    )
                    .build()
            },
        );
        let start = mock!(aws_sdk_backup::Client::start_restore_job)
            .match_requests(|r| {
                let m = r.metadata().unwrap();
                m.get("RestoreTime").map(String::as_str) == Some("1970-01-01T00:50:00Z")
                    && !m.contains_key("UseLatestRestorableTime")
            })
            .then_output(|| {
                StartRestoreJobOutput::builder()
                    .restore_job_id("job-43")
                    .build()
            });
        let backup = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&list, &start]);
        let sel = BackupPointSelector::Resource {
            arn: RESOURCE.into(),
            to: PointSpec::Incident,
        };
        let chosen = choose_point(&backup, "prod-vault", &sel, at(3_000), None)
            .await
            .unwrap();
        assert_eq!(chosen.arn, continuous);
        assert_eq!(chosen.restore_to, Some(RestoreTo::Time(at(3_000))));
        let mut meta = rds_overrides(
            [("UseLatestRestorableTime".to_owned(), "true".to_owned())].into(),
            "drill-payments-r1",
            &target(),
        )
        .unwrap();
        restore_time_metadata(&mut meta, &RestoreTo::Time(at(3_000)));
        start_job(
            &backup,
            continuous,
            "arn:aws:iam::123456789012:role/drill-restore",
            meta,
            "RDS",
            None,
        )
        .await
        .unwrap();
        assert_eq!(start.num_calls(), 1);

        // Named alone (no `to`): restored to its latest restorable time.
        let mut meta = HashMap::new();
        restore_time_metadata(&mut meta, &RestoreTo::Latest);
        assert_eq!(meta["UseLatestRestorableTime"], "true");
        assert!(is_continuous(continuous));
        assert!(!is_continuous(
            "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-2"
        ));
    }

    fn chosen(resource_type: &str, resource_arn: &str) -> Chosen {
        Chosen {
            arn: "arn:aws:backup:us-east-1:123456789012:recovery-point:rp-1".into(),
            created: at(2_000),
            resource_type: resource_type.into(),
            resource_arn: Some(resource_arn.into()),
            restore_to: None,
        }
    }

    const BUCKET_ARN: &str = "arn:aws:s3:::invoices-prod";
    const CLUSTER_ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:ledger-prod";

    fn s3_target() -> BackupTarget {
        BackupTarget {
            identifier: None,
            region: None,
            instance_class: None,
            subnet_group: None,
            security_groups: vec![],
            allow_shared_network: false,
            bucket: Some("drill-invoices-{run_id}".into()),
            prefix: None,
            instance_identifier: None,
        }
    }

    fn aurora_target() -> BackupTarget {
        BackupTarget {
            identifier: Some("drill-ledger-{run_id}".into()),
            instance_identifier: Some("drill-ledger-{run_id}-a".into()),
            instance_class: Some("db.r6g.large".into()),
            ..target()
        }
    }

    /// Issue 17: the resource type comes from the recovery point, and the target keys must
    /// fit it; each misfit is named with its key.
    #[test]
    fn issue_17_the_target_must_fit_the_recovery_points_resource_type() {
        assert_eq!(
            fit("r", &chosen("S3", BUCKET_ARN), &s3_target(), false).unwrap(),
            BackupResource::S3
        );
        assert_eq!(
            fit("r", &chosen("Aurora", CLUSTER_ARN), &aurora_target(), true).unwrap(),
            BackupResource::Aurora
        );
        assert_eq!(
            fit("r", &chosen("RDS", RESOURCE), &target(), true).unwrap(),
            BackupResource::RdsInstance
        );
        // A database target for a bucket's recovery point.
        let e = fit("invoices", &chosen("S3", BUCKET_ARN), &target(), true).unwrap_err();
        assert_eq!(
            e.message,
            "restore \"invoices\": recovery point arn:aws:backup:us-east-1:123456789012:recovery-point:rp-1 \
             is of resource type S3, and the drill's target does not fit it: \
             key \"target.identifier\": an S3 recovery point restores into a bucket (target.bucket), not a database; \
             key \"target.instance_class\": an S3 recovery point restores into a bucket (target.bucket), not a database; \
             key \"target.subnet_group\": an S3 recovery point restores into a bucket (target.bucket), not a database; \
             key \"target.security_groups\": an S3 recovery point restores into a bucket (target.bucket), not a database; \
             key \"connect\": an S3 recovery point restores a bucket: there is no database to connect to; \
             key \"target.bucket\": an S3 recovery point needs target.bucket: the new bucket it is restored into, named with {run_id}"
        );
        // A bucket target for a database's; an Aurora point without the instance's class.
        let e = fit("ledger", &chosen("RDS", RESOURCE), &s3_target(), false).unwrap_err();
        assert!(
            e.message
                .contains("key \"target.bucket\": a database recovery point"),
            "{}",
            e.message
        );
        let no_class = BackupTarget {
            instance_class: None,
            ..aurora_target()
        };
        let e = fit("ledger", &chosen("Aurora", CLUSTER_ARN), &no_class, true).unwrap_err();
        assert!(e.message.contains("key \"target.instance_class\": an Aurora recovery point restores a cluster without instances"), "{}", e.message);
        let e = fit("ledger", &chosen("RDS", RESOURCE), &aurora_target(), true).unwrap_err();
        assert!(
            e.message.contains("key \"target.instance_identifier\""),
            "{}",
            e.message
        );
        // A type restore-drill does not restore.
        let e = fit(
            "fs",
            &chosen(
                "EFS",
                "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1",
            ),
            &target(),
            false,
        )
        .unwrap_err();
        assert!(e.message.ends_with("is of resource type EFS: restore-drill restores AWS Backup recovery points of RDS instances, Aurora clusters and S3 buckets"), "{}", e.message);
        assert_eq!(BackupResource::of_arn(BUCKET_ARN), Some(BackupResource::S3));
        assert_eq!(
            BackupResource::of_arn(CLUSTER_ARN),
            Some(BackupResource::Aurora)
        );
        assert_eq!(
            BackupResource::of_arn(RESOURCE),
            Some(BackupResource::RdsInstance)
        );
    }

    /// Issue 17: an Aurora recovery point is restored by a job of type Aurora, with the
    /// drill's isolation laid over its metadata (never the point's network or zones), and
    /// then gets one private, tagged instance.
    #[tokio::test]
    async fn issue_17_an_aurora_point_is_restored_isolated_with_one_instance() {
        let meta: HashMap<String, String> = [
            ("DBClusterIdentifier", "ledger-prod"),
            ("Engine", "aurora-postgresql"),
            ("DBSubnetGroupName", "prod-subnets"),
            ("VpcSecurityGroupIds", r#"["sg-prod"]"#),
            ("AvailabilityZones", r#"["us-east-1a","us-east-1b"]"#),
            ("DeletionProtection", "true"),
            (
                "Endpoint",
                "ledger-prod.cluster-x.us-east-1.rds.amazonaws.com",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let out = aurora_overrides(meta.clone(), "drill-ledger-r1", &aurora_target()).unwrap();
        assert_eq!(out["DBClusterIdentifier"], "drill-ledger-r1");
        assert_eq!(out["DBSubnetGroupName"], "drill-isolated");
        assert_eq!(out["VpcSecurityGroupIds"], r#"["sg-0drill","sg-1drill"]"#);
        assert_eq!(out["DeletionProtection"], "false");
        assert_eq!(out["Engine"], "aurora-postgresql");
        assert!(!out.contains_key("AvailabilityZones") && !out.contains_key("Endpoint"));
        let e = aurora_overrides(meta.clone(), "ledger-prod", &aurora_target()).unwrap_err();
        assert_eq!(
            e.message,
            "refusing to restore into ledger-prod: it is the source's own identifier"
        );
        let bare = BackupTarget {
            subnet_group: None,
            ..aurora_target()
        };
        let e = aurora_overrides(meta.clone(), "drill-ledger-r1", &bare).unwrap_err();
        assert!(
            e.message.contains("without the drill's isolation"),
            "{}",
            e.message
        );

        let start = mock!(aws_sdk_backup::Client::start_restore_job)
            .match_requests(|r| {
                let m = r.metadata().unwrap();
                r.resource_type() == Some("Aurora")
                    && r.iam_role_arn() == Some("arn:aws:iam::123456789012:role/drill-restore")
                    && m["DBClusterIdentifier"] == "drill-ledger-r1"
                    && m["DBSubnetGroupName"] == "drill-isolated"
                    && m["VpcSecurityGroupIds"] == r#"["sg-0drill","sg-1drill"]"#
                    && !m.contains_key("AvailabilityZones")
            })
            .then_output(|| {
                StartRestoreJobOutput::builder()
                    .restore_job_id("job-7")
                    .build()
            });
        let backup = mock_client!(aws_sdk_backup, RuleMode::Sequential, &[&start]);
        let job = start_job(
            &backup,
            "arn:aws:backup:us-east-1:123456789012:recovery-point:rp-1",
            "arn:aws:iam::123456789012:role/drill-restore",
            out,
            "Aurora",
            None,
        )
        .await
        .unwrap();
        assert_eq!((job.as_str(), start.num_calls()), ("job-7", 1));

        let create = mock!(aws_sdk_rds::Client::create_db_instance)
            .match_requests(|r| {
                r.db_instance_identifier() == Some("drill-ledger-r1-a")
                    && r.db_cluster_identifier() == Some("drill-ledger-r1")
                    && r.engine() == Some("aurora-postgresql")
                    && r.db_instance_class() == Some("db.r6g.large")
                    && r.publicly_accessible() == Some(false)
                    && r.tags()
                        .iter()
                        .any(|t| t.key() == Some(TAG_RUN_ID) && t.value() == Some("r1"))
            })
            .then_output(|| {
                aws_sdk_rds::operation::create_db_instance::CreateDbInstanceOutput::builder()
                    .build()
            });
        let rds = mock_client!(aws_sdk_rds, RuleMode::Sequential, &[&create]);
        add_member(
            &rds,
            "drill-ledger-r1",
            "drill-ledger-r1-a",
            "aurora-postgresql",
            "db.r6g.large",
            &[(TAG_RUN_ID.into(), "r1".into())],
            None,
        )
        .await
        .unwrap();
        assert_eq!(create.num_calls(), 1);
    }

    /// Issue 17: an S3 recovery point is restored by a job of type S3 into a new bucket
    /// (NewBucket=true, the whole bucket, the run id as CreationToken), with the restore role.
    #[tokio::test]
    async fn issue_17_an_s3_point_is_restored_into_a_new_bucket() {
        let meta: HashMap<String, String> = [
            ("DestinationBucketName", "invoices-prod"),
            ("NewBucket", "false"),
            ("ItemsToRestore", r#"["s3://invoices-prod/a"]"#),
            ("Encrypted", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let out = s3_overrides(meta, "drill-invoices-r1", "R1");
        assert_eq!(out["DestinationBucketName"], "drill-invoices-r1");
        assert_eq!(out["NewBucket"], "true");
        assert_eq!(out["CreationToken"], "R1");
        assert_eq!(out["Encrypted"], "true");
        assert!(!out.contains_key("ItemsToRestore"));
        assert_eq!(s3_bucket_of(BUCKET_ARN), "invoices-prod");

        let start = mock!(aws_sdk_backup::Client::start_restore_job)
            .match_requests(|r| {
                let m = r.metadata().unwrap();
                r.resource_type() == Some("S3")
                    && r.iam_role_arn() == Some("arn:aws:iam::123456789012:role/drill-s3-restore")
                    && m["DestinationBucketName"] == "drill-invoices-r1"
                    && m["NewBucket"] == "true"
            })
            .then_output(|| {
                StartRestoreJobOutput::builder()
                    .restore_job_id("job-9")
                    .build()
            });
        let backup = mock_client!(aws_sdk_backup, RuleMode::Sequential, &[&start]);
        start_job(
            &backup,
            "arn:aws:backup:us-east-1:123456789012:recovery-point:rp-1",
            "arn:aws:iam::123456789012:role/drill-s3-restore",
            out,
            "S3",
            None,
        )
        .await
        .unwrap();
        assert_eq!(start.num_calls(), 1);
    }

    /// An S3 client answered by the mock rules (the S3 crate's test defaults are behind a
    /// feature this crate does not enable).
    fn s3_mock(rules: &[&aws_smithy_mocks::Rule]) -> aws_sdk_s3::Client {
        let mut interceptor =
            aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for r in rules {
            interceptor = interceptor.with_rule(r);
        }
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    fn versions(
        keys: &[(&str, &str)],
    ) -> aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput {
        let mut b =
            aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput::builder()
                .is_truncated(false);
        for (k, v) in keys {
            b = b.versions(
                aws_sdk_s3::types::ObjectVersion::builder()
                    .key(*k)
                    .version_id(*v)
                    .build(),
            );
        }
        b.build()
    }

    fn bucket_tags(run: &str) -> aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput {
        aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput::builder()
            .tag_set(
                aws_sdk_s3::types::Tag::builder()
                    .key(TAG_RUN_ID)
                    .value(run)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    /// Issue 17: teardown of an S3 restore deletes every version in the bucket the job made,
    /// then the bucket; a bucket with another run's tag is never touched; one already gone is
    /// done.
    #[tokio::test]
    async fn issue_17_an_s3_restores_bucket_is_emptied_and_deleted_only_if_it_is_this_runs() {
        use aws_sdk_s3::operation::delete_bucket::DeleteBucketOutput;
        use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
        use aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingError;

        let tags = mock!(aws_sdk_s3::Client::get_bucket_tagging)
            .match_requests(|r| r.bucket() == Some("drill-invoices-r1"))
            .then_output(|| bucket_tags("r1"));
        let list = mock!(aws_sdk_s3::Client::list_object_versions)
            .sequence()
            .output(|| versions(&[("2026/a.pdf", "v1"), ("2026/b.pdf", "v2")]))
            .output(|| versions(&[]))
            .build();
        let delete_objects = mock!(aws_sdk_s3::Client::delete_objects)
            .match_requests(|r| {
                r.delete().is_some_and(|d| {
                    d.objects()
                        .iter()
                        .map(|o| (o.key(), o.version_id()))
                        .collect::<Vec<_>>()
                        == [("2026/a.pdf", Some("v1")), ("2026/b.pdf", Some("v2"))]
                })
            })
            .then_output(|| DeleteObjectsOutput::builder().build());
        let delete_bucket = mock!(aws_sdk_s3::Client::delete_bucket)
            .match_requests(|r| r.bucket() == Some("drill-invoices-r1"))
            .then_output(|| DeleteBucketOutput::builder().build());
        let s3 = s3_mock(&[&tags, &list, &delete_objects, &delete_bucket]);
        delete_bucket_fn(&s3, "drill-invoices-r1", "r1")
            .await
            .unwrap();
        assert_eq!(
            (
                delete_objects.num_calls(),
                delete_bucket.num_calls(),
                list.num_calls()
            ),
            (1, 1, 2)
        );

        // Another run's bucket.
        let tags = mock!(aws_sdk_s3::Client::get_bucket_tagging).then_output(|| bucket_tags("r0"));
        let delete_bucket = mock!(aws_sdk_s3::Client::delete_bucket)
            .then_output(|| DeleteBucketOutput::builder().build());
        let s3 = s3_mock(&[&tags, &delete_bucket]);
        let e = delete_bucket_fn(&s3, "drill-invoices-r1", "r1")
            .await
            .unwrap_err();
        assert_eq!(e, "not deleted: it carries run id r0, not this run's r1");
        assert_eq!(delete_bucket.num_calls(), 0);

        // Gone already.
        let tags = mock!(aws_sdk_s3::Client::get_bucket_tagging).then_error(|| {
            GetBucketTaggingError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("NoSuchBucket")
                    .build(),
            )
        });
        let s3 = s3_mock(&[&tags]);
        delete_bucket_fn(&s3, "drill-invoices-r1", "r1")
            .await
            .unwrap();
    }

    /// Issue 17: the whole restore of an Aurora recovery point, against the SDK's mocks,
    /// each request matched on what must be sent: the identifier is checked free, the job
    /// started with the isolation, the cluster tagged with the run once it shows, then its one
    /// instance created (private, tagged) and waited for.
    #[tokio::test(start_paused = true)]
    async fn issue_17_an_aurora_recovery_point_restores_end_to_end_on_the_sdk_mocks() {
        use aws_sdk_backup::operation::get_recovery_point_restore_metadata::GetRecoveryPointRestoreMetadataOutput;
        use aws_sdk_rds::operation::describe_db_clusters::{
            DescribeDBClustersError, DescribeDbClustersOutput,
        };
        use aws_sdk_rds::types::DbCluster;

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("drill.toml");
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("drills/ledger-backup-aurora.toml"),
        )
        .unwrap()
        .replace("password_env = \"LEDGER_DRILL_PASSWORD\"\n", "");
        std::fs::write(&file, text).unwrap();
        let checked = crate::drill::load_drill(&file);
        let plan = checked
            .plan
            .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
        let settings = AwsSettings::of(&plan.provider).unwrap();
        let mut r = BackupRestore::new(&plan, &plan.restores[0], settings).unwrap();
        let ch = chosen(
            "Aurora",
            "arn:aws:rds:eu-west-1:123456789012:cluster:ledger-prod",
        );
        r.resource = Some(fit("ledger", &ch, &r.target, r.connect.is_some()).unwrap());
        r.chosen = Some(ch.clone());

        let cluster_arn = "arn:aws:rds:eu-west-1:123456789012:cluster:drill-ledger-r1";
        let meta = mock!(aws_sdk_backup::Client::get_recovery_point_restore_metadata)
            .match_requests(|q| q.backup_vault_name() == Some("prod-vault"))
            .then_output(|| {
                GetRecoveryPointRestoreMetadataOutput::builder()
                    .restore_metadata("DBClusterIdentifier", "ledger-prod")
                    .restore_metadata("Engine", "aurora-postgresql")
                    .restore_metadata("DBSubnetGroupName", "prod-subnets")
                    .restore_metadata("AvailabilityZones", r#"["eu-west-1a"]"#)
                    .build()
            });
        let start = mock!(aws_sdk_backup::Client::start_restore_job)
            .match_requests(|q| {
                let m = q.metadata().unwrap();
                q.resource_type() == Some("Aurora")
                    && q.iam_role_arn() == Some("arn:aws:iam::123456789012:role/drill-restore")
                    && m["DBClusterIdentifier"] == "drill-ledger-r1"
                    && m["DBSubnetGroupName"] == "drill-isolated"
                    && m["VpcSecurityGroupIds"] == r#"["sg-0drill"]"#
                    && m["DeletionProtection"] == "false"
                    && !m.contains_key("AvailabilityZones")
            })
            .then_output(|| {
                StartRestoreJobOutput::builder()
                    .restore_job_id("job-5")
                    .build()
            });
        let job_done = mock!(aws_sdk_backup::Client::describe_restore_job)
            .match_requests(|q| q.restore_job_id() == Some("job-5"))
            .sequence()
            .output(|| {
                DescribeRestoreJobOutput::builder()
                    .restore_job_id("job-5")
                    .status(RestoreJobStatus::Running)
                    .build()
            })
            .output(move || {
                DescribeRestoreJobOutput::builder()
                    .restore_job_id("job-5")
                    .status(RestoreJobStatus::Completed)
                    .created_resource_arn(cluster_arn)
                    .build()
            })
            .build();
        let backup = mock_client!(
            aws_sdk_backup,
            RuleMode::MatchAny,
            &[&meta, &start, &job_done]
        );
        let cluster = move |status: &'static str| {
            move || {
                DescribeDbClustersOutput::builder()
                    .db_clusters(
                        DbCluster::builder()
                            .db_cluster_identifier("drill-ledger-r1")
                            .db_cluster_arn(cluster_arn)
                            .status(status)
                            .build(),
                    )
                    .build()
            }
        };
        let describe_cluster = mock!(aws_sdk_rds::Client::describe_db_clusters)
            .match_requests(|q| q.db_cluster_identifier() == Some("drill-ledger-r1"))
            .sequence()
            .error(|| {
                DescribeDBClustersError::DbClusterNotFoundFault(
                    aws_sdk_rds::types::error::DbClusterNotFoundFault::builder().build(),
                )
            })
            .output(cluster("available"))
            .output(cluster("available"))
            .build();
        let tag = mock!(aws_sdk_rds::Client::add_tags_to_resource)
            .match_requests(move |q| {
                q.resource_name() == Some(cluster_arn)
                    && q.tags()
                        .iter()
                        .any(|t| t.key() == Some(TAG_RUN_ID) && t.value() == Some("R1"))
                    && q.tags().iter().any(|t| t.key() == Some(TAG_EXPIRES_AT))
            })
            .then_output(|| {
                aws_sdk_rds::operation::add_tags_to_resource::AddTagsToResourceOutput::builder()
                    .build()
            });
        let create = mock!(aws_sdk_rds::Client::create_db_instance)
            .match_requests(|q| {
                q.db_instance_identifier() == Some("drill-ledger-r1-a")
                    && q.db_cluster_identifier() == Some("drill-ledger-r1")
                    && q.db_instance_class() == Some("db.r6g.large")
                    && q.engine() == Some("aurora-postgresql")
                    && q.publicly_accessible() == Some(false)
                    && q.tags()
                        .iter()
                        .any(|t| t.key() == Some(TAG_RUN_ID) && t.value() == Some("R1"))
            })
            .then_output(|| {
                aws_sdk_rds::operation::create_db_instance::CreateDbInstanceOutput::builder()
                    .build()
            });
        let describe_instance = mock!(aws_sdk_rds::Client::describe_db_instances)
            .match_requests(|q| q.db_instance_identifier() == Some("drill-ledger-r1-a"))
            .sequence()
            .output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        DbInstance::builder()
                            .db_instance_identifier("drill-ledger-r1-a")
                            .db_instance_status("creating")
                            .build(),
                    )
                    .build()
            })
            .output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        DbInstance::builder()
                            .db_instance_identifier("drill-ledger-r1-a")
                            .db_instance_status("available")
                            .build(),
                    )
                    .build()
            })
            .build();
        let rds = mock_client!(
            aws_sdk_rds,
            RuleMode::MatchAny,
            &[&describe_cluster, &tag, &create, &describe_instance]
        );
        let cx = RunContext {
            run_id: "R1".into(),
            tied: true,
        };
        let waited = r
            .restore_aurora_with(&backup, &rds, "eu-west-1", &cx, &ch)
            .await
            .unwrap();
        assert_eq!(
            (start.num_calls(), tag.num_calls(), create.num_calls()),
            (1, 1, 1)
        );
        // Two looks at the job, one at the cluster, two at the instance.
        assert_eq!(waited.polls, 5);
        assert_eq!(
            r.restored,
            Some(("drill-ledger-r1".to_owned(), "eu-west-1".to_owned()))
        );
        assert_eq!(r.member.as_deref(), Some("drill-ledger-r1-a"));
        assert_eq!(r.job_id.as_deref(), Some("job-5"));
    }

    /// Issue 17: the whole restore of an S3 recovery point on the SDK's mocks: the new
    /// bucket is checked absent, the job started (type S3, the S3 restore role, a new bucket
    /// named with the run id), and the bucket tagged with the run once the job is done; a
    /// bucket that exists already is refused before any job starts.
    #[tokio::test(start_paused = true)]
    async fn issue_17_an_s3_recovery_point_restores_end_to_end_on_the_sdk_mocks() {
        use aws_sdk_backup::operation::get_recovery_point_restore_metadata::GetRecoveryPointRestoreMetadataOutput;
        use aws_sdk_s3::operation::head_bucket::{HeadBucketError, HeadBucketOutput};
        use aws_sdk_s3::operation::put_bucket_tagging::PutBucketTaggingOutput;

        let checked = crate::drill::load_drill(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("drills/invoices-backup-s3.toml"),
        );
        let plan = checked
            .plan
            .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
        let settings = AwsSettings::of(&plan.provider).unwrap();
        let mut r = BackupRestore::new(&plan, &plan.restores[0], settings).unwrap();
        let ch = chosen("S3", "arn:aws:s3:::invoices-archive");
        r.resource = Some(fit("invoices", &ch, &r.target, r.connect.is_some()).unwrap());
        r.chosen = Some(ch.clone());

        let meta =
            mock!(aws_sdk_backup::Client::get_recovery_point_restore_metadata).then_output(|| {
                GetRecoveryPointRestoreMetadataOutput::builder()
                    .restore_metadata("DestinationBucketName", "invoices-archive")
                    .restore_metadata("NewBucket", "false")
                    .build()
            });
        let start = mock!(aws_sdk_backup::Client::start_restore_job)
            .match_requests(|q| {
                let m = q.metadata().unwrap();
                q.resource_type() == Some("S3")
                    && q.iam_role_arn() == Some("arn:aws:iam::123456789012:role/drill-s3-restore")
                    && m["DestinationBucketName"] == "drill-invoices-r1"
                    && m["NewBucket"] == "true"
                    && m["CreationToken"] == "R1"
            })
            .then_output(|| {
                StartRestoreJobOutput::builder()
                    .restore_job_id("job-8")
                    .build()
            });
        let done = mock!(aws_sdk_backup::Client::describe_restore_job).then_output(|| {
            DescribeRestoreJobOutput::builder()
                .restore_job_id("job-8")
                .status(RestoreJobStatus::Completed)
                .created_resource_arn("arn:aws:s3:::drill-invoices-r1")
                .build()
        });
        let backup = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&meta, &start, &done]);
        let absent = mock!(aws_sdk_s3::Client::head_bucket)
            .match_requests(|q| q.bucket() == Some("drill-invoices-r1"))
            .then_error(|| {
                HeadBucketError::NotFound(aws_sdk_s3::types::error::NotFound::builder().build())
            });
        let tag = mock!(aws_sdk_s3::Client::put_bucket_tagging)
            .match_requests(|q| {
                q.bucket() == Some("drill-invoices-r1")
                    && q.tagging().is_some_and(|t| {
                        t.tag_set()
                            .iter()
                            .any(|t| t.key() == TAG_RUN_ID && t.value() == "R1")
                    })
            })
            .then_output(|| PutBucketTaggingOutput::builder().build());
        let s3 = s3_mock(&[&absent, &tag]);
        let cx = RunContext {
            run_id: "R1".into(),
            tied: true,
        };
        let w = r
            .restore_s3_with(&backup, &s3, "us-east-1", &cx, &ch)
            .await
            .unwrap();
        assert_eq!(w.polls, 1);
        assert_eq!((start.num_calls(), tag.num_calls()), (1, 1));
        assert_eq!(
            r.bucket,
            Some(("drill-invoices-r1".to_owned(), "us-east-1".to_owned()))
        );
        assert_eq!(r.restored_to(), Some(at(2_000)), "the point's creation");

        // The bucket exists already: refused, no job.
        let settings = AwsSettings::of(&plan.provider).unwrap();
        let mut r = BackupRestore::new(&plan, &plan.restores[0], settings).unwrap();
        r.resource = Some(BackupResource::S3);
        r.chosen = Some(ch.clone());
        let present = mock!(aws_sdk_s3::Client::head_bucket)
            .then_output(|| HeadBucketOutput::builder().build());
        let s3 = s3_mock(&[&present]);
        let start = mock!(aws_sdk_backup::Client::start_restore_job).then_output(|| {
            StartRestoreJobOutput::builder()
                .restore_job_id("job-9")
                .build()
        });
        let backup = mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[&start]);
        let e = r
            .restore_s3_with(&backup, &s3, "us-east-1", &cx, &ch)
            .await
            .unwrap_err();
        assert!(
            e.message.starts_with(
                "refusing to restore into s3://drill-invoices-r1: the bucket exists already"
            ),
            "{}",
            e.message
        );
        assert_eq!(start.num_calls(), 0);
        assert_eq!(r.bucket, None, "nothing for teardown to delete");
    }
}
