//! Each `[[restore]]`, by kind: its own keys and rules, into a `RestoreKind`.

use toml::Spanned;

use crate::drill::load::{Value, de, take_kind};
use crate::drill::plan::*;
use crate::drill::raw::*;

use super::text::{texts, valid_slug};
use super::validator::{RawRestore, Validator};

impl Validator<'_> {
    pub(super) fn raw_restore(&mut self, value: Value<'_>, ctx: &str) -> Option<RawRestore> {
        let (kind, rest) = take_kind(&mut self.diags, value, ctx, RESTORE_KINDS)?;
        let d = &mut self.diags;
        Some(match kind {
            "pg_pitr" => RawRestore::PgPitr(de(d, rest, ctx, &[])?),
            "rds_pitr" => RawRestore::RdsPitr(de(d, rest, ctx, &[])?),
            "rds_snapshot" => RawRestore::RdsSnapshot(de(d, rest, ctx, &[])?),
            "rds_cluster_pitr" => RawRestore::RdsClusterPitr(de(d, rest, ctx, &[])?),
            "s3_versions" => RawRestore::S3Versions(de(d, rest, ctx, &[])?),
            "rds_cluster_snapshot" => RawRestore::RdsClusterSnapshot(de(d, rest, ctx, &[])?),
            _ => RawRestore::BackupRecoveryPoint(de(d, rest, ctx, &[])?),
        })
    }

    /// Checks one restore. Returns its id (always, for duplicate detection) and its plan when
    /// every rule held.
    pub(super) fn restore(
        &mut self,
        raw: RawRestore,
        ctx: &str,
    ) -> (Spanned<String>, Option<RestorePlan>) {
        let (id, kind_name) = match &raw {
            RawRestore::PgPitr(r) => (r.id.clone(), "pg_pitr"),
            RawRestore::RdsPitr(r) => (r.id.clone(), "rds_pitr"),
            RawRestore::RdsSnapshot(r) => (r.id.clone(), "rds_snapshot"),
            RawRestore::RdsClusterPitr(r) => (r.id.clone(), "rds_cluster_pitr"),
            RawRestore::S3Versions(r) => (r.id.clone(), "s3_versions"),
            RawRestore::BackupRecoveryPoint(r) => (r.id.clone(), "backup_recovery_point"),
            RawRestore::RdsClusterSnapshot(r) => (r.id.clone(), "rds_cluster_snapshot"),
        };
        let errors_before = self.diags.items.len();
        self.restore_id = id.get_ref().clone();
        if !valid_slug(id.get_ref(), 32) {
            self.diags.error(
                id.span(),
                ctx,
                format!(
                    "key \"id\": \"{}\" is not a valid restore id: use 1 to 32 lowercase letters, digits and \"-\", starting with a letter (it names the target)",
                    id.get_ref()
                ),
            );
        }
        let wants = if kind_name == "pg_pitr" {
            "local"
        } else {
            "aws"
        };
        if let Some(have) = self.provider_kind
            && have != wants
        {
            self.diags.error(
                    id.span(),
                    ctx,
                    format!("a {kind_name} restore needs [provider] kind = \"{wants}\", but this drill's provider is \"{have}\""),
                );
        }
        let warmup = self.warmup_of(&raw, ctx);
        let kind = match raw {
            RawRestore::PgPitr(r) => self.pg_pitr(r, ctx),
            RawRestore::RdsPitr(r) => self.rds_pitr(r, ctx),
            RawRestore::RdsSnapshot(r) => self.rds_snapshot(r, ctx),
            RawRestore::RdsClusterPitr(r) => self.rds_cluster_pitr(r, ctx),
            RawRestore::S3Versions(r) => self.s3_versions(r, ctx),
            RawRestore::BackupRecoveryPoint(r) => self.backup(r, ctx),
            RawRestore::RdsClusterSnapshot(r) => self.rds_cluster_snapshot(r, ctx),
        };
        let clean = !self.diags.items[errors_before..]
            .iter()
            .any(|d| d.severity == crate::drill::diag::Severity::Error);
        let plan = kind.filter(|_| clean).map(|kind| RestorePlan {
            id: id.get_ref().clone(),
            kind,
            warmup,
        });
        (id, plan)
    }

    pub(super) fn rds_pitr(&mut self, r: RawRdsPitr, ctx: &str) -> Option<RestoreKind> {
        let to = self.point(r.to.as_ref(), ctx);
        self.nonempty(&r.source, ctx, "source");
        let target = self.instance_target(r.target, Some(&r.source), ctx);
        let connect = self.connect(r.connect, ctx);
        Some(RestoreKind::RdsPitr {
            source: r.source.into_inner(),
            to: to?,
            target: target?,
            connect: connect?,
        })
    }

    pub(super) fn rds_cluster_pitr(
        &mut self,
        r: RawRdsClusterPitr,
        ctx: &str,
    ) -> Option<RestoreKind> {
        let to = self.point(r.to.as_ref(), ctx);
        self.nonempty(&r.source, ctx, "source");
        let target = self.cluster_target(r.target, &r.source, ctx);
        let connect = self.connect(r.connect, ctx);
        Some(RestoreKind::RdsClusterPitr {
            source: r.source.into_inner(),
            to: to?,
            target: target?,
            connect: connect?,
        })
    }

    pub(super) fn pg_pitr(&mut self, r: RawPgPitr, ctx: &str) -> Option<RestoreKind> {
        let to = self.point(r.to.as_ref(), ctx);
        let source = self.pg_source(&r, ctx);
        let connect = self.connect(r.connect, ctx);
        let target = match r.target {
            Some(t) => LocalTarget {
                port: t.port.map(Spanned::into_inner).filter(|p| *p != 0),
                work_dir: t.work_dir.map(|w| self.path(w.get_ref())),
            },
            None => LocalTarget {
                port: None,
                work_dir: None,
            },
        };
        if let (
            Some(work),
            Some(PgSource::Files {
                base_backups,
                wal_archive,
            }),
        ) = (&target.work_dir, &source)
            && let Some(span) = r.base_backups.as_ref().map(Spanned::span)
        {
            for (src, key) in [(base_backups, "base_backups"), (wal_archive, "wal_archive")] {
                if work.starts_with(src) {
                    self.diags.error(
                        span.clone(),
                        ctx,
                        format!("key \"target.work_dir\" lies inside \"{key}\": a restore must never write under its source"),
                    );
                }
            }
        }
        Some(RestoreKind::PgPitr {
            source: source?,
            to: to?,
            target,
            connect: connect?,
        })
    }

    /// A `pg_pitr` restore reads either `base_backups` + `wal_archive` or a pgBackRest
    /// repository (`[restore.pgbackrest]`): exactly one of them.
    pub(super) fn pg_source(&mut self, r: &RawPgPitr, ctx: &str) -> Option<PgSource> {
        match (&r.base_backups, &r.wal_archive, &r.pgbackrest) {
            (Some(base), Some(wal), None) => {
                self.nonempty(base, ctx, "base_backups");
                self.nonempty(wal, ctx, "wal_archive");
                Some(PgSource::Files {
                    base_backups: self.path(base.get_ref()),
                    wal_archive: self.path(wal.get_ref()),
                })
            }
            (base, wal, Some(pgbr)) => {
                if let Some(given) = base.as_ref().or(wal.as_ref()) {
                    let key = if base.is_some() {
                        "base_backups"
                    } else {
                        "wal_archive"
                    };
                    self.diags.error(
                        given.span(),
                        ctx,
                        format!("key \"{key}\": a pg_pitr restore reads either \"base_backups\" and \"wal_archive\" or [restore.pgbackrest], not both; remove one"),
                    );
                }
                self.nonempty(&pgbr.stanza, ctx, "pgbackrest.stanza");
                self.nonempty(&pgbr.config, ctx, "pgbackrest.config");
                let config = self.path(pgbr.config.get_ref());
                if !pgbr.config.get_ref().trim().is_empty() && !config.is_file() {
                    self.diags.error(
                        pgbr.config.span(),
                        ctx,
                        format!(
                            "key \"pgbackrest.config\": {} is not a file (the pgbackrest.conf naming the repository, relative to the drill file's folder)",
                            config.display()
                        ),
                    );
                }
                Some(PgSource::PgBackRest {
                    stanza: pgbr.stanza.get_ref().clone(),
                    config,
                })
            }
            (Some(given), None, None) | (None, Some(given), None) => {
                let (have, missing) = if r.base_backups.is_some() {
                    ("base_backups", "wal_archive")
                } else {
                    ("wal_archive", "base_backups")
                };
                self.diags.error(
                    given.span(),
                    ctx,
                    format!("key \"{have}\" needs \"{missing}\" beside it (or use [restore.pgbackrest] instead of both)"),
                );
                None
            }
            (None, None, None) => {
                self.diags.error(
                    r.id.span(),
                    ctx,
                    "missing required key \"base_backups\" and \"wal_archive\", or [restore.pgbackrest]: a pg_pitr restore needs a source",
                );
                None
            }
        }
    }

    pub(super) fn rds_snapshot(&mut self, r: RawRdsSnapshot, ctx: &str) -> Option<RestoreKind> {
        self.nonempty(&r.source, ctx, "source");
        let to = self.point(r.to.as_ref(), ctx);
        let snapshot = match r.snapshot.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("latest_automated") => SnapshotSelector::LatestAutomated(to?),
            Some("latest_manual") => SnapshotSelector::LatestManual(to?),
            Some(id) => {
                if let Some(t) = &r.to {
                    self.diags.error(
                        t.span(),
                        ctx,
                        format!("key \"to\" has no meaning when \"snapshot\" names a snapshot (\"{id}\"); remove one of them"),
                    );
                }
                if id.trim().is_empty() {
                    self.nonempty(r.snapshot.as_ref()?, ctx, "snapshot");
                }
                SnapshotSelector::Id(id.to_owned())
            }
        };
        let copy = self.snapshot_copy(
            r.copy_to_region.as_ref(),
            r.copy_kms_key.as_ref(),
            r.copy_role_arn.as_ref(),
            r.target.region.as_ref(),
            ctx,
        );
        let target = self.instance_target(r.target, Some(&r.source), ctx);
        let connect = self.connect(r.connect, ctx);
        let mut target = target?;
        let copy = copy?;
        if let Some(c) = &copy {
            target.region.get_or_insert_with(|| c.region.clone());
        }
        Some(RestoreKind::RdsSnapshot {
            source: r.source.into_inner(),
            snapshot,
            copy,
            target,
            connect: connect?,
        })
    }

    pub(super) fn s3_versions(&mut self, r: RawS3Versions, ctx: &str) -> Option<RestoreKind> {
        let to = self.point(r.to.as_ref(), ctx);
        self.bucket(&r.bucket, ctx, "bucket");
        self.bucket(&r.target.bucket, ctx, "target.bucket");
        let prefix = r
            .prefix
            .as_ref()
            .map(|p| p.get_ref().clone())
            .unwrap_or_default();
        let target_prefix = match &r.target.prefix {
            Some(p) => {
                self.template(p, ctx, "target.prefix", true, None);
                p.get_ref().clone()
            }
            None => String::from("restore-drill/{drill}/{run_id}/"),
        };
        if let Some(region) = &r.target.region {
            self.region(region, ctx, "target.region");
        }
        if let Some(k) = &r.copy_kms_key {
            self.nonempty(k, ctx, "copy_kms_key");
        }
        if r.bucket.get_ref() == r.target.bucket.get_ref() {
            // Only the literal part before the first placeholder is known before a run.
            let literal = target_prefix.split('{').next().unwrap_or_default();
            if literal.starts_with(prefix.as_str()) || prefix.starts_with(literal) {
                let span = r
                    .target
                    .prefix
                    .as_ref()
                    .map_or(r.target.bucket.span(), Spanned::span);
                self.diags.error(
                    span,
                    ctx,
                    format!(
                        "target \"s3://{}/{}\" overlaps the source \"s3://{}/{}\": a restore must never write under its source; use another bucket or a prefix outside the source's",
                        r.target.bucket.get_ref(),
                        target_prefix,
                        r.bucket.get_ref(),
                        prefix
                    ),
                );
            }
        }
        let concurrency = match r.concurrency {
            Some(c) if *c.get_ref() == 0 || *c.get_ref() > 1024 => {
                self.diags.error(
                    c.span(),
                    ctx,
                    "key \"concurrency\": must be between 1 and 1024",
                );
                None
            }
            Some(c) => Some(c.into_inner()),
            None => Some(32),
        };
        let encryption = match r.copy_encryption.as_ref().map(|e| e.get_ref().as_str()) {
            None | Some("as_source") => Some(CopyEncryption::AsSource),
            Some("target_default") => {
                if let Some(k) = &r.copy_kms_key {
                    self.diags.error(
                        k.span(),
                        ctx,
                        "key \"copy_kms_key\": not with copy_encryption = \"target_default\" (every copy gets the target bucket's default encryption then); drop one of them",
                    );
                    None
                } else {
                    Some(CopyEncryption::TargetDefault)
                }
            }
            Some(other) => {
                self.diags.error(
                    r.copy_encryption.as_ref().map_or(r.bucket.span(), Spanned::span),
                    ctx,
                    format!(
                        "key \"copy_encryption\": \"{other}\" is not \"as_source\" (each version's own, looked at with HeadObject; the default) or \"target_default\" (the target bucket's default, no HeadObject per version)"
                    ),
                );
                None
            }
        };
        Some(RestoreKind::S3Versions {
            bucket: r.bucket.into_inner(),
            prefix,
            to: to?,
            target: S3Target {
                bucket: r.target.bucket.into_inner(),
                prefix: target_prefix,
                region: r.target.region.map(Spanned::into_inner),
                tag: r.target.tag.unwrap_or(false),
                kms_key: r.copy_kms_key.map(Spanned::into_inner),
                encryption: encryption?,
            },
            concurrency: concurrency?,
        })
    }

    pub(super) fn backup(&mut self, r: RawBackupRecoveryPoint, ctx: &str) -> Option<RestoreKind> {
        self.nonempty(&r.vault, ctx, "vault");
        if !r.iam_role_arn.get_ref().starts_with("arn:") {
            self.diags.error(
                r.iam_role_arn.span(),
                ctx,
                format!(
                    "key \"iam_role_arn\": \"{}\" is not an ARN",
                    r.iam_role_arn.get_ref()
                ),
            );
        }
        let point = match (&r.resource_arn, &r.recovery_point_arn) {
            (Some(res), None) => Some(BackupPointSelector::Resource {
                arn: res.get_ref().clone(),
                to: self.point(r.to.as_ref(), ctx)?,
            }),
            (None, Some(rp)) => {
                if let Some(t) = &r.to {
                    self.diags.error(
                        t.span(),
                        ctx,
                        "key \"to\" has no meaning with \"recovery_point_arn\", which names one recovery point; remove one of them",
                    );
                }
                Some(BackupPointSelector::RecoveryPoint {
                    arn: rp.get_ref().clone(),
                })
            }
            (Some(res), Some(_)) => {
                self.diags.error(
                    res.span(),
                    ctx,
                    "give either \"resource_arn\" (the newest recovery point at or before \"to\") or \"recovery_point_arn\", not both",
                );
                None
            }
            (None, None) => {
                self.diags.error(
                    r.id.span(),
                    ctx,
                    "missing \"resource_arn\" or \"recovery_point_arn\": which recovery point to restore",
                );
                None
            }
        };
        let t = &r.target;
        if let Some(ident) = &t.identifier {
            let source = r
                .resource_arn
                .as_ref()
                .and_then(|a| a.get_ref().rsplit(':').next().map(str::to_owned));
            self.template(ident, ctx, "target.identifier", true, source.as_deref());
        }
        // What the recovery point holds is known here when `resource_arn` names it; else
        // from the recovery point at resolve, where the same rules apply.
        let resource = r
            .resource_arn
            .as_ref()
            .and_then(|a| BackupResource::of_arn(a.get_ref()));
        let s3 = resource == Some(BackupResource::S3) || (resource.is_none() && t.bucket.is_some());
        if let Some(b) = &t.bucket {
            let source_bucket = r
                .resource_arn
                .as_ref()
                .filter(|_| resource == Some(BackupResource::S3))
                .map(|a| {
                    a.get_ref()
                        .rsplit(':')
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                });
            self.template(b, ctx, "target.bucket", false, source_bucket.as_deref());
            if b.get_ref().contains("{run_id}") {
                let sample = super::text::render_template(
                    b.get_ref(),
                    &self.drill,
                    &self.restore_id,
                    super::validator::SAMPLE_RUN_ID,
                )
                .to_ascii_lowercase();
                let shown = Spanned::new(b.span(), sample);
                self.bucket(&shown, ctx, "target.bucket");
            }
        }
        if let Some(p) = &t.prefix {
            self.diags.error(
                p.span(),
                ctx,
                "key \"target.prefix\": an AWS Backup restore of an S3 recovery point keeps each object's own key (StartRestoreJob has no destination prefix); restore into a new bucket named with {run_id} (target.bucket) instead",
            );
        }
        if let Some(i) = &t.instance_identifier {
            self.template(i, ctx, "target.instance_identifier", true, None);
        }
        if let Some(region) = &t.region {
            self.region(region, ctx, "target.region");
        }
        let plan_target = BackupTarget {
            identifier: t.identifier.as_ref().map(|s| s.get_ref().clone()),
            region: t.region.as_ref().map(|s| s.get_ref().clone()),
            instance_class: t.instance_class.as_ref().map(|s| s.get_ref().clone()),
            subnet_group: t.subnet_group.as_ref().map(|s| s.get_ref().clone()),
            security_groups: texts(t.security_groups.as_deref()),
            allow_shared_network: t.allow_shared_network.unwrap_or(false),
            bucket: t.bucket.as_ref().map(|s| s.get_ref().clone()),
            prefix: t.prefix.as_ref().map(|s| s.get_ref().clone()),
            instance_identifier: t.instance_identifier.as_ref().map(|s| s.get_ref().clone()),
        };
        let kind = resource.unwrap_or(if s3 {
            BackupResource::S3
        } else {
            BackupResource::RdsInstance
        });
        for (key, why) in backup_target_misfits(kind, &plan_target, r.connect.is_some()) {
            // Without resource_arn only what cannot fit any type is an error here: a bucket
            // beside database keys. An Aurora point's missing instance_class is resolve's.
            if resource.is_none() && key == "target.instance_identifier" {
                continue;
            }
            if resource.is_none() && key == "target.instance_class" {
                continue;
            }
            let span = match key {
                "target.identifier" => t.identifier.as_ref().map(Spanned::span),
                "target.instance_class" => t.instance_class.as_ref().map(Spanned::span),
                "target.subnet_group" => t.subnet_group.as_ref().map(Spanned::span),
                "target.security_groups" => t
                    .security_groups
                    .as_ref()
                    .and_then(|g| g.first())
                    .map(Spanned::span),
                "target.instance_identifier" => t.instance_identifier.as_ref().map(Spanned::span),
                "target.bucket" => t.bucket.as_ref().map(Spanned::span),
                "target.prefix" => None, // already refused above
                _ => None,
            };
            if key == "target.prefix" {
                continue;
            }
            let what = match resource {
                Some(k) => format!(
                    "recovery points of {} are of type {}",
                    r.resource_arn
                        .as_ref()
                        .map(|a| a.get_ref().as_str())
                        .unwrap_or_default(),
                    k.type_name()
                ),
                None => "target.bucket makes this an S3 restore".to_owned(),
            };
            self.diags.error(
                span.unwrap_or_else(|| r.id.span()),
                ctx,
                format!("key \"{key}\": {why} ({what})"),
            );
        }
        if !s3 && !t.allow_shared_network.unwrap_or(false) {
            self.isolation(
                t.subnet_group.as_ref(),
                t.security_groups.as_deref(),
                ctx,
                r.id.span(),
            );
        }
        let connect = match r.connect {
            Some(c) => Some(self.connect(c, ctx)?),
            None => None,
        };
        let target = plan_target;
        Some(RestoreKind::BackupRecoveryPoint {
            vault: r.vault.into_inner(),
            point: point?,
            iam_role_arn: r.iam_role_arn.into_inner(),
            target,
            connect,
        })
    }

    /// `rds_cluster_snapshot`: which snapshot (as `rds_snapshot`), an optional copy to the DR
    /// region, and a cluster target isolated like `rds_cluster_pitr`'s.
    pub(super) fn rds_cluster_snapshot(
        &mut self,
        r: RawRdsClusterSnapshot,
        ctx: &str,
    ) -> Option<RestoreKind> {
        self.nonempty(&r.source, ctx, "source");
        let snapshot = self.snapshot_selector(r.snapshot.as_ref(), r.to.as_ref(), ctx);
        let copy = self.snapshot_copy(
            r.copy_to_region.as_ref(),
            r.copy_kms_key.as_ref(),
            r.copy_role_arn.as_ref(),
            r.target.region.as_ref(),
            ctx,
        );
        let target = self.cluster_target(r.target, &r.source, ctx);
        let connect = self.connect(r.connect, ctx);
        let mut target = target?;
        if let Some(Some(c)) = &copy {
            target
                .cluster
                .region
                .get_or_insert_with(|| c.region.clone());
        }
        Some(RestoreKind::RdsClusterSnapshot {
            source: r.source.into_inner(),
            snapshot: snapshot?,
            copy: copy?,
            target,
            connect: connect?,
        })
    }

    /// `snapshot` and `to` of a snapshot restore: the newest automated (default) or manual
    /// snapshot at or before `to`, or one named snapshot (then `to` has no meaning).
    pub(super) fn snapshot_selector(
        &mut self,
        snapshot: Option<&Spanned<String>>,
        to: Option<&Spanned<crate::drill::time::TimeText>>,
        ctx: &str,
    ) -> Option<SnapshotSelector> {
        match snapshot.map(|s| s.get_ref().as_str()) {
            None | Some("latest_automated") => {
                Some(SnapshotSelector::LatestAutomated(self.point(to, ctx)?))
            }
            Some("latest_manual") => Some(SnapshotSelector::LatestManual(self.point(to, ctx)?)),
            Some(id) => {
                if let Some(t) = to {
                    self.diags.error(
                        t.span(),
                        ctx,
                        format!("key \"to\" has no meaning when \"snapshot\" names a snapshot (\"{id}\"); remove one of them"),
                    );
                }
                if id.trim().is_empty() {
                    self.nonempty(snapshot?, ctx, "snapshot");
                    return None;
                }
                Some(SnapshotSelector::Id(id.to_owned()))
            }
        }
    }

    /// `copy_to_region`, `copy_kms_key` and `copy_role_arn`: `Some(None)` when nothing is
    /// copied, `None` when the keys are wrong (each problem reported).
    pub(super) fn snapshot_copy(
        &mut self,
        region: Option<&Spanned<String>>,
        kms_key: Option<&Spanned<String>>,
        role_arn: Option<&Spanned<String>>,
        target_region: Option<&Spanned<String>>,
        ctx: &str,
    ) -> Option<Option<SnapshotCopy>> {
        let Some(region) = region else {
            let mut alone = false;
            for (key, v) in [("copy_kms_key", kms_key), ("copy_role_arn", role_arn)] {
                if let Some(v) = v {
                    self.diags.error(
                        v.span(),
                        ctx,
                        format!("key \"{key}\" needs \"copy_to_region\""),
                    );
                    alone = true;
                }
            }
            return if alone { None } else { Some(None) };
        };
        let mut role_ok = true;
        if let Some(arn) = role_arn
            && crate::drill::role_account(arn.get_ref()).is_none()
        {
            self.diags.error(
                arn.span(),
                ctx,
                format!(
                    "key \"copy_role_arn\": \"{}\" is not an IAM role ARN such as \
                     \"arn:aws:iam::210987654321:role/restore-drill-dr\"",
                    arn.get_ref()
                ),
            );
            role_ok = false;
        }
        self.region(region, ctx, "copy_to_region");
        if let Some(k) = kms_key {
            self.nonempty(k, ctx, "copy_kms_key");
        }
        if let Some(tr) = target_region
            && tr.get_ref() != region.get_ref()
        {
            self.diags.error(
                tr.span(),
                ctx,
                format!(
                    "key \"target.region\" (\"{}\") differs from \"copy_to_region\" (\"{}\"): the copy is restored where it was copied",
                    tr.get_ref(),
                    region.get_ref()
                ),
            );
        }
        role_ok.then(|| {
            Some(SnapshotCopy {
                region: region.get_ref().clone(),
                kms_key: kms_key.map(|k| k.get_ref().clone()),
                role_arn: role_arn.map(|a| a.get_ref().clone()),
            })
        })
    }
}
