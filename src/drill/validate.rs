//! Stage two of reading a drill: the strict raw types become a checked `DrillPlan`, and every
//! rule that spans keys is enforced — unique ids, checks that point at real restores, known
//! tiers, targets that can never be the source, isolation, positive durations. Every problem
//! is collected; none stops the others from being found.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use toml::Spanned;
use toml::de::DeValue;

use super::diag::{Diagnostic, Diags, Source, did_you_mean};
use super::expect::Expect;
use super::load::{Value, de, parse_toml, peek_str, take_kind};
use super::plan::*;
use super::raw::*;
use super::schedule::Schedule;
use super::tier::{Tier, TierCatalog};
use super::time::{IncidentAt, PointSpec, TimeText, human, parse_duration};

/// A drill file after both stages: the plan when it is valid, and every diagnostic (errors
/// and warnings) in file order.
#[derive(Debug)]
pub struct Checked {
    pub plan: Option<DrillPlan>,
    pub diagnostics: Vec<Diagnostic>,
}

/// An example run id, used to check that rendered target names are legal.
pub const SAMPLE_RUN_ID: &str = "20261121T130501Z-7f3a";

/// Checks a drill's text. `file` is the name used in messages and the base for relative
/// paths in the drill.
pub fn check_drill(file: &Path, text: &str, tiers: &TierCatalog) -> Checked {
    let source = Source {
        name: file.display().to_string(),
        text,
    };
    let mut v = Validator {
        diags: Diags::new(&source),
        // Absolute now, whatever the current directory: PostgreSQL runs `restore_command` in
        // its data dir, and nothing downstream may see a path relative to where we started.
        base_dir: std::path::absolute(file)
            .ok()
            .and_then(|f| f.parent().map(Path::to_path_buf))
            .unwrap_or_default(),
        provider_kind: None,
        drill: String::from("drill"),
        restore_id: String::new(),
    };
    let plan = v.drill(file, text, tiers);
    let failed = v.diags.has_errors();
    Checked {
        plan: if failed { None } else { plan },
        diagnostics: v.diags.into_sorted(),
    }
}

enum RawRestore {
    PgPitr(RawPgPitr),
    RdsPitr(RawRdsPitr),
    RdsSnapshot(RawRdsSnapshot),
    RdsClusterPitr(RawRdsClusterPitr),
    S3Versions(RawS3Versions),
    BackupRecoveryPoint(RawBackupRecoveryPoint),
}

enum RawCheck {
    Sql(RawSqlCheck),
    Freshness(RawFreshnessCheck),
    TableChecksum(RawTableChecksumCheck),
    Schema(RawSchemaCheck),
    S3Manifest(RawS3ManifestCheck),
    PgAmcheck(RawPgAmcheckCheck),
    Canary(RawCanaryCheck),
    S3ReplicationLag(RawS3ReplicationLagCheck),
}

/// The checked top-level keys: name, description, owner, tier, schedule.
type Meta = (String, Option<String>, Option<String>, Tier, Schedule);

struct Validator<'a> {
    diags: Diags<'a>,
    base_dir: PathBuf,
    provider_kind: Option<&'static str>,
    /// The drill's name, for rendering target-name templates.
    drill: String,
    /// The id of the restore being checked, for the same.
    restore_id: String,
}

/// A restore that passed its own rules, with what checks need to know about it.
struct Known {
    span: Range<usize>,
    is_database: bool,
    kind: &'static str,
}

impl Validator<'_> {
    fn drill(&mut self, file: &Path, text: &str, tiers: &TierCatalog) -> Option<DrillPlan> {
        let root = parse_toml(&mut self.diags, text)?;
        let root_span = root.span();
        let mut root = root.into_inner();
        let incident = root.remove("incident");
        let provider = root.remove("provider");
        let timeouts = root.remove("timeouts");
        let restores = root.remove("restore");
        let checks = root.remove("check");
        let meta = de::<RawMeta>(
            &mut self.diags,
            Spanned::new(root_span.clone(), DeValue::Table(root)),
            "",
            SECTION_KEYS,
        );

        let provider = match provider {
            Some(p) => self.provider(p),
            None => {
                self.diags.error(
                    root_span.start..root_span.start,
                    "",
                    "missing required table [provider] (kind = \"aws\" or kind = \"local\")",
                );
                None
            }
        };
        let incident = match incident {
            Some(i) => de::<RawIncident>(&mut self.diags, i, "incident", &[])
                .and_then(|i| self.incident(i)),
            None => Some(IncidentSpec {
                at: IncidentAt::Now,
                detect_allowance: Duration::ZERO,
            }),
        };
        let timeouts = match timeouts {
            Some(t) => {
                de::<RawTimeouts>(&mut self.diags, t, "timeouts", &[]).map(|t| self.timeouts(t))
            }
            None => Some(Timeouts::default()),
        };
        let meta_plan = match meta {
            Some(m) => {
                self.drill = m.name.get_ref().clone();
                self.meta(m, tiers)
            }
            None => None,
        };

        let restore_values = self.array(restores, "restore", root_span.start);
        let mut restore_plans = Vec::new();
        let mut known: HashMap<String, Known> = HashMap::new();
        for (i, value) in restore_values.into_iter().enumerate() {
            let context = match peek_str(&value, "id") {
                Some(id) => format!("restore \"{id}\""),
                None => format!("restore #{}", i + 1),
            };
            let peeked = peek_str(&value, "id").map(|id| {
                let span = value
                    .get_ref()
                    .as_table()
                    .and_then(|t| t.get("id"))
                    .map_or(value.span(), Spanned::span);
                let kind = peek_str(&value, "kind").unwrap_or_default().to_owned();
                (id.to_owned(), span, kind)
            });
            let Some(raw) = self.raw_restore(value, &context) else {
                // Still known by id, so checks that name it are not reported as dangling too.
                if let Some((id, span, kind)) = peeked {
                    let is_database =
                        !matches!(kind.as_str(), "s3_versions" | "backup_recovery_point");
                    known.entry(id).or_insert(Known {
                        span,
                        is_database,
                        kind: "",
                    });
                }
                continue;
            };
            let is_database = match &raw {
                RawRestore::S3Versions(_) => false,
                RawRestore::BackupRecoveryPoint(b) => b.connect.is_some(),
                _ => true,
            };
            let (id_text, plan) = self.restore(raw, &context);
            let id = id_text.get_ref().clone();
            if let Some(first) = known.get(&id) {
                let (line, _) = self.diags.source.position(first.span.start);
                self.diags.error(
                    id_text.span(),
                    &context,
                    format!("duplicate restore id \"{id}\" (first defined on line {line})"),
                );
                continue;
            }
            if let Some(plan) = plan {
                known.insert(
                    id,
                    Known {
                        span: id_text.span(),
                        is_database: plan.is_database(),
                        kind: plan.kind_name(),
                    },
                );
                restore_plans.push(plan);
            } else {
                // Known by id even when invalid, so checks that name it are not reported too.
                known.insert(
                    id,
                    Known {
                        span: id_text.span(),
                        is_database,
                        kind: "",
                    },
                );
            }
        }

        let check_values = match checks {
            Some(c) => self.array(Some(c), "check", root_span.start),
            None => Vec::new(),
        };
        let mut check_plans: Vec<CheckPlan> = Vec::new();
        let mut names: HashMap<String, Range<usize>> = HashMap::new();
        let mut default_names: HashMap<String, usize> = HashMap::new();
        for (i, value) in check_values.into_iter().enumerate() {
            let context = match peek_str(&value, "name") {
                Some(name) => format!("check \"{name}\""),
                None => format!("check #{}", i + 1),
            };
            let Some(raw) = self.raw_check(value, &context) else {
                continue;
            };
            if let Some(mut plan) = self.check(raw, &context, &known, &mut names) {
                if plan.name.is_empty() {
                    let base = format!("{} ({})", plan.kind.name(), plan.restore);
                    let n = default_names.entry(base.clone()).or_insert(0);
                    *n += 1;
                    plan.name = if *n == 1 {
                        base
                    } else {
                        format!("{base} #{n}")
                    };
                }
                check_plans.push(plan);
            }
        }

        let (name, description, owner, tier, schedule) = meta_plan?;
        for r in &restore_plans {
            if !check_plans.iter().any(|c| c.restore == r.id)
                && let Some(k) = known.get(&r.id)
            {
                self.diags.warning(
                        k.span.clone(),
                        &format!("restore \"{}\"", r.id),
                        "no [[check]] names this restore: the drill will prove it restores, not that the data is right",
                    );
            }
        }
        let incident = incident?;
        // Targets no run can meet: say so now, not after a restore.
        let lead = match incident.at {
            IncidentAt::Now => Some((Duration::ZERO, String::new())),
            IncidentAt::Before(d) => Some((d, format!("the incident lead ({}) plus ", human(d)))),
            IncidentAt::At(t) => (Utc::now() - t).to_std().ok().map(|d| {
                (
                    d,
                    format!(
                        "the time since the fixed incident at {} ({} by now) plus ",
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        human(Duration::from_secs(d.as_secs()))
                    ),
                )
            }),
        };
        if let Some((lead, what)) = lead
            && lead.saturating_add(incident.detect_allowance) >= tier.rto
        {
            self.diags.warning(
                root_span.start..root_span.start,
                "incident",
                format!(
                    "{what}detect_allowance ({}){} reaches tier \"{}\"'s RTO target ({}): no run can meet it",
                    human(incident.detect_allowance),
                    if what.is_empty() { " alone" } else { "" },
                    tier.name,
                    human(tier.rto)
                ),
            );
        }
        for r in &restore_plans {
            if let Some(PointSpec::BeforeIncident(d)) = r.kind.point()
                && d > tier.rpo
                && let Some(k) = known.get(&r.id)
            {
                self.diags.warning(
                    k.span.clone(),
                    &format!("restore \"{}\"", r.id),
                    format!(
                        "key \"to\": restoring to {} before the incident loses at least that much, more than tier \"{}\"'s RPO target ({}): no run can meet it",
                        human(d),
                        tier.name,
                        human(tier.rpo)
                    ),
                );
            }
        }
        Some(DrillPlan {
            name,
            file: file.to_path_buf(),
            sha256: sha256_hex(text.as_bytes()),
            description,
            owner,
            tier,
            schedule,
            incident,
            provider: provider?,
            timeouts: timeouts?,
            restores: restore_plans,
            checks: check_plans,
        })
    }

    /// The elements of an array of tables (`[[restore]]`), or an error if the key holds
    /// something else.
    fn array<'i>(&mut self, value: Option<Value<'i>>, key: &str, at: usize) -> Vec<Value<'i>> {
        let Some(value) = value else {
            self.diags.error(
                at..at,
                "",
                format!("a drill needs at least one [[{key}]] table"),
            );
            return Vec::new();
        };
        let span = value.span();
        match value.into_inner() {
            DeValue::Array(items) if items.iter().all(|i| i.get_ref().is_table()) => {
                if items.is_empty() {
                    self.diags.error(
                        span,
                        "",
                        format!("a drill needs at least one [[{key}]] table"),
                    );
                }
                items.into_iter().collect()
            }
            other => {
                self.diags.error(
                    span,
                    "",
                    format!(
                        "key \"{key}\": expected tables written as [[{key}]], found {}",
                        other.type_str()
                    ),
                );
                Vec::new()
            }
        }
    }

    fn meta(&mut self, m: RawMeta, tiers: &TierCatalog) -> Option<Meta> {
        let name_ok = valid_slug(m.name.get_ref(), 48);
        if !name_ok {
            self.diags.error(
                m.name.span(),
                "",
                format!(
                    "key \"name\": \"{}\" is not a valid drill name: use 1 to 48 lowercase letters, digits and \"-\", starting with a letter (it names resources and report folders)",
                    m.name.get_ref()
                ),
            );
        }
        let tier = match tiers.get(m.tier.get_ref()) {
            Some(t) => Some(t.clone()),
            None => {
                let names = tiers.names();
                let hint = match did_you_mean(m.tier.get_ref(), &names) {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => format!("known tiers: {}", names.join(", ")),
                };
                self.diags.error(
                    m.tier.span(),
                    "",
                    format!(
                        "key \"tier\": unknown tier \"{}\" ({hint}; define more in tiers.toml beside the drill)",
                        m.tier.get_ref()
                    ),
                );
                None
            }
        };
        let schedule = match Schedule::parse(m.schedule.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.diags
                    .error(m.schedule.span(), "", format!("key \"schedule\": {e}"));
                None
            }
        };
        if let (Some(tier), Some(schedule)) = (&tier, &schedule)
            && let Some(every) = schedule.nominal_interval()
            && every > tier.max_interval
        {
            self.diags.warning(
                        m.schedule.span(),
                        "",
                        format!(
                            "key \"schedule\": {schedule} (every {}) is less often than tier \"{}\" requires (a passing drill at least every {})",
                            human(every),
                            tier.name,
                            human(tier.max_interval)
                        ),
                    );
        }
        let text = |t: Option<Spanned<String>>| t.map(Spanned::into_inner);
        if !name_ok {
            return None;
        }
        Some((
            m.name.into_inner(),
            text(m.description),
            text(m.owner),
            tier?,
            schedule?,
        ))
    }

    fn incident(&mut self, i: RawIncident) -> Option<IncidentSpec> {
        let at = match i.at {
            Some(at) => match IncidentAt::parse(&at.get_ref().0) {
                Ok(a) => Some(a),
                Err(e) => {
                    self.diags
                        .error(at.span(), "incident", format!("key \"at\": {e}"));
                    None
                }
            },
            None => Some(IncidentAt::Now),
        };
        let allowance = match &i.detect_allowance {
            Some(d) => self.duration(d, "incident", "detect_allowance", false),
            None => Some(Duration::ZERO),
        };
        Some(IncidentSpec {
            at: at?,
            detect_allowance: allowance?,
        })
    }

    fn timeouts(&mut self, t: RawTimeouts) -> Timeouts {
        let mut out = Timeouts::default();
        let fields = [
            (t.resolve, "resolve", &mut out.resolve),
            (t.copy, "copy", &mut out.copy),
            (t.restore, "restore", &mut out.restore),
            (t.prepare, "prepare", &mut out.prepare),
            (t.verify, "verify", &mut out.verify),
            (t.teardown, "teardown", &mut out.teardown),
        ];
        for (text, key, slot) in fields {
            if let Some(text) = text
                && let Some(d) = self.duration(&text, "timeouts", key, true)
            {
                *slot = d;
            }
        }
        out
    }

    fn duration(
        &mut self,
        t: &Spanned<String>,
        ctx: &str,
        key: &str,
        positive: bool,
    ) -> Option<Duration> {
        match parse_duration(t.get_ref()) {
            Ok(d) if positive && d.is_zero() => {
                self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": must be more than zero"),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.diags
                    .error(t.span(), ctx, format!("key \"{key}\": {e}"));
                None
            }
        }
    }

    fn provider(&mut self, value: Value<'_>) -> Option<ProviderSpec> {
        let (kind, rest) = take_kind(&mut self.diags, value, "provider", PROVIDER_KINDS)?;
        self.provider_kind = Some(kind);
        match kind {
            "aws" => {
                let p = de::<RawAwsProvider>(&mut self.diags, rest, "provider", &[])?;
                if let Some(r) = &p.region {
                    self.region(r, "provider", "region");
                }
                if let Some(url) = &p.endpoint_url {
                    let u = url.get_ref();
                    if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() < 9 {
                        self.diags.error(
                            url.span(),
                            "provider",
                            format!(
                                "key \"endpoint_url\": \"{u}\" is not an http:// or https:// URL"
                            ),
                        );
                    }
                }
                Some(ProviderSpec::Aws {
                    region: p.region.map(Spanned::into_inner),
                    profile: p.profile.map(Spanned::into_inner),
                    endpoint_url: p.endpoint_url.map(Spanned::into_inner),
                })
            }
            _ => {
                let p = de::<RawLocalProvider>(&mut self.diags, rest, "provider", &[])?;
                Some(ProviderSpec::Local {
                    pg_bin_dir: p.pg_bin_dir.map(|d| self.path(d.get_ref())),
                })
            }
        }
    }

    fn region(&mut self, r: &Spanned<String>, ctx: &str, key: &str) -> bool {
        let ok = {
            let parts: Vec<&str> = r.get_ref().split('-').collect();
            parts.len() >= 3
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
                && parts
                    .last()
                    .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
        };
        if !ok {
            self.diags.error(
                r.span(),
                ctx,
                format!(
                    "key \"{key}\": \"{}\" is not an AWS region name such as \"us-east-1\"",
                    r.get_ref()
                ),
            );
        }
        ok
    }

    /// A path from the drill, relative to the drill file's folder, with `.` and `..` folded
    /// away so that messages and plans show it plainly.
    fn path(&self, text: &str) -> PathBuf {
        use std::path::Component;
        let p = Path::new(text);
        let joined = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        };
        let mut out = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir
                    if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
                {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        if out.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            out
        }
    }

    fn raw_restore(&mut self, value: Value<'_>, ctx: &str) -> Option<RawRestore> {
        let (kind, rest) = take_kind(&mut self.diags, value, ctx, RESTORE_KINDS)?;
        let d = &mut self.diags;
        Some(match kind {
            "pg_pitr" => RawRestore::PgPitr(de(d, rest, ctx, &[])?),
            "rds_pitr" => RawRestore::RdsPitr(de(d, rest, ctx, &[])?),
            "rds_snapshot" => RawRestore::RdsSnapshot(de(d, rest, ctx, &[])?),
            "rds_cluster_pitr" => RawRestore::RdsClusterPitr(de(d, rest, ctx, &[])?),
            "s3_versions" => RawRestore::S3Versions(de(d, rest, ctx, &[])?),
            _ => RawRestore::BackupRecoveryPoint(de(d, rest, ctx, &[])?),
        })
    }

    fn raw_check(&mut self, value: Value<'_>, ctx: &str) -> Option<RawCheck> {
        let (kind, rest) = take_kind(&mut self.diags, value, ctx, CHECK_KINDS)?;
        let d = &mut self.diags;
        Some(match kind {
            "sql" => RawCheck::Sql(de(d, rest, ctx, &[])?),
            "freshness" => RawCheck::Freshness(de(d, rest, ctx, &[])?),
            "table_checksum" => RawCheck::TableChecksum(de(d, rest, ctx, &[])?),
            "schema" => RawCheck::Schema(de(d, rest, ctx, &[])?),
            "s3_manifest" => RawCheck::S3Manifest(de(d, rest, ctx, &[])?),
            "pg_amcheck" => RawCheck::PgAmcheck(de(d, rest, ctx, &[])?),
            "s3_replication_lag" => RawCheck::S3ReplicationLag(de(d, rest, ctx, &[])?),
            _ => RawCheck::Canary(de(d, rest, ctx, &[])?),
        })
    }

    /// Checks one restore. Returns its id (always, for duplicate detection) and its plan when
    /// every rule held.
    fn restore(&mut self, raw: RawRestore, ctx: &str) -> (Spanned<String>, Option<RestorePlan>) {
        let (id, kind_name) = match &raw {
            RawRestore::PgPitr(r) => (r.id.clone(), "pg_pitr"),
            RawRestore::RdsPitr(r) => (r.id.clone(), "rds_pitr"),
            RawRestore::RdsSnapshot(r) => (r.id.clone(), "rds_snapshot"),
            RawRestore::RdsClusterPitr(r) => (r.id.clone(), "rds_cluster_pitr"),
            RawRestore::S3Versions(r) => (r.id.clone(), "s3_versions"),
            RawRestore::BackupRecoveryPoint(r) => (r.id.clone(), "backup_recovery_point"),
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
        let kind = match raw {
            RawRestore::PgPitr(r) => self.pg_pitr(r, ctx),
            RawRestore::RdsPitr(r) => self.rds_pitr(r, ctx),
            RawRestore::RdsSnapshot(r) => self.rds_snapshot(r, ctx),
            RawRestore::RdsClusterPitr(r) => self.rds_cluster_pitr(r, ctx),
            RawRestore::S3Versions(r) => self.s3_versions(r, ctx),
            RawRestore::BackupRecoveryPoint(r) => self.backup(r, ctx),
        };
        let clean = !self.diags.items[errors_before..]
            .iter()
            .any(|d| d.severity == super::diag::Severity::Error);
        let plan = kind.filter(|_| clean).map(|kind| RestorePlan {
            id: id.get_ref().clone(),
            kind,
        });
        (id, plan)
    }

    fn rds_pitr(&mut self, r: RawRdsPitr, ctx: &str) -> Option<RestoreKind> {
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

    fn rds_cluster_pitr(&mut self, r: RawRdsClusterPitr, ctx: &str) -> Option<RestoreKind> {
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

    fn pg_pitr(&mut self, r: RawPgPitr, ctx: &str) -> Option<RestoreKind> {
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
    fn pg_source(&mut self, r: &RawPgPitr, ctx: &str) -> Option<PgSource> {
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

    fn rds_snapshot(&mut self, r: RawRdsSnapshot, ctx: &str) -> Option<RestoreKind> {
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
        let copy = match &r.copy_to_region {
            Some(region) => {
                self.region(region, ctx, "copy_to_region");
                if let Some(tr) = &r.target.region
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
                Some(SnapshotCopy {
                    region: region.get_ref().clone(),
                    kms_key: r.copy_kms_key.as_ref().map(|k| k.get_ref().clone()),
                })
            }
            None => {
                if let Some(k) = &r.copy_kms_key {
                    self.diags.error(
                        k.span(),
                        ctx,
                        "key \"copy_kms_key\" needs \"copy_to_region\"",
                    );
                }
                None
            }
        };
        let target = self.instance_target(r.target, Some(&r.source), ctx);
        let connect = self.connect(r.connect, ctx);
        let mut target = target?;
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

    fn s3_versions(&mut self, r: RawS3Versions, ctx: &str) -> Option<RestoreKind> {
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
        Some(RestoreKind::S3Versions {
            bucket: r.bucket.into_inner(),
            prefix,
            to: to?,
            target: S3Target {
                bucket: r.target.bucket.into_inner(),
                prefix: target_prefix,
                region: r.target.region.map(Spanned::into_inner),
                tag: r.target.tag.unwrap_or(false),
            },
            concurrency: concurrency?,
        })
    }

    fn backup(&mut self, r: RawBackupRecoveryPoint, ctx: &str) -> Option<RestoreKind> {
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
        if let Some(b) = &t.bucket {
            self.bucket(b, ctx, "target.bucket");
        }
        if let Some(p) = &t.prefix {
            self.template(p, ctx, "target.prefix", true, None);
        }
        if let Some(region) = &t.region {
            self.region(region, ctx, "target.region");
        }
        if t.bucket.is_none() && !t.allow_shared_network.unwrap_or(false) {
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
        let target = BackupTarget {
            identifier: t.identifier.as_ref().map(|s| s.get_ref().clone()),
            region: t.region.as_ref().map(|s| s.get_ref().clone()),
            instance_class: t.instance_class.as_ref().map(|s| s.get_ref().clone()),
            subnet_group: t.subnet_group.as_ref().map(|s| s.get_ref().clone()),
            security_groups: texts(t.security_groups.as_deref()),
            allow_shared_network: t.allow_shared_network.unwrap_or(false),
            bucket: t.bucket.as_ref().map(|s| s.get_ref().clone()),
            prefix: t.prefix.as_ref().map(|s| s.get_ref().clone()),
        };
        Some(RestoreKind::BackupRecoveryPoint {
            vault: r.vault.into_inner(),
            point: point?,
            iam_role_arn: r.iam_role_arn.into_inner(),
            target,
            connect,
        })
    }

    fn instance_target(
        &mut self,
        t: RawInstanceTarget,
        source: Option<&Spanned<String>>,
        ctx: &str,
    ) -> Option<InstanceTarget> {
        let identifier = match &t.identifier {
            Some(i) => {
                self.template(
                    i,
                    ctx,
                    "target.identifier",
                    true,
                    source.map(|s| s.get_ref().as_str()),
                );
                i.get_ref().clone()
            }
            None => String::from("rd-{restore}-{run_id}"),
        };
        if let Some(region) = &t.region {
            self.region(region, ctx, "target.region");
        }
        let allow = t.allow_shared_network.unwrap_or(false);
        if !allow {
            let at = t.identifier.as_ref().map_or(0..0, Spanned::span);
            self.isolation(
                t.subnet_group.as_ref(),
                t.security_groups.as_deref(),
                ctx,
                at,
            );
        }
        Some(InstanceTarget {
            identifier,
            region: t.region.map(Spanned::into_inner),
            instance_class: t.instance_class.map(Spanned::into_inner),
            subnet_group: t.subnet_group.map(Spanned::into_inner),
            security_groups: texts(t.security_groups.as_deref()),
            parameter_group: t.parameter_group.map(Spanned::into_inner),
            allow_shared_network: allow,
        })
    }

    fn cluster_target(
        &mut self,
        t: RawClusterTarget,
        source: &Spanned<String>,
        ctx: &str,
    ) -> Option<ClusterTarget> {
        let instance_identifier = match &t.instance_identifier {
            Some(i) => {
                self.template(
                    i,
                    ctx,
                    "target.instance_identifier",
                    true,
                    Some(source.get_ref()),
                );
                i.get_ref().clone()
            }
            None => String::from("rd-{restore}-{run_id}-1"),
        };
        let cluster = self.instance_target(
            RawInstanceTarget {
                identifier: t.identifier,
                region: t.region,
                instance_class: t.instance_class,
                subnet_group: t.subnet_group,
                security_groups: t.security_groups,
                parameter_group: None,
                allow_shared_network: t.allow_shared_network,
            },
            Some(source),
            ctx,
        )?;
        Some(ClusterTarget {
            cluster,
            instance_identifier,
        })
    }

    /// A restore into the default VPC sits next to production; refuse it unless the drill
    /// says so.
    fn isolation(
        &mut self,
        subnet_group: Option<&Spanned<String>>,
        security_groups: Option<&[Spanned<String>]>,
        ctx: &str,
        at: Range<usize>,
    ) {
        if subnet_group.is_none() {
            self.diags.error(
                at.clone(),
                ctx,
                "missing \"target.subnet_group\": without an isolated DB subnet group the restore lands in the default VPC, next to production; name one, or set target.allow_shared_network = true",
            );
        }
        if security_groups.is_none_or(<[_]>::is_empty) {
            self.diags.error(
                at,
                ctx,
                "missing \"target.security_groups\": without them the restore gets the VPC's default security group; name isolated ones, or set target.allow_shared_network = true",
            );
        }
    }

    /// Checks a target-name template: known placeholders only, `{run_id}` present (so runs
    /// never collide and `sweep` can tell them apart), and never the source's own name.
    fn template(
        &mut self,
        t: &Spanned<String>,
        ctx: &str,
        key: &str,
        rds: bool,
        source: Option<&str>,
    ) {
        let text = t.get_ref();
        if let Some(src) = source
            && text.eq_ignore_ascii_case(src)
        {
            self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": the target \"{text}\" is the source itself; a drill never writes to its source (use a name with {{run_id}})"),
                );
            return;
        }
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": unclosed \"{{\" in \"{text}\""),
                );
                return;
            };
            let name = &after[..close];
            if !["run_id", "drill", "restore"].contains(&name) {
                self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": unknown placeholder \"{{{name}}}\" (known: {{run_id}}, {{drill}}, {{restore}})"),
                );
                return;
            }
            rest = &after[close + 1..];
        }
        if !text.contains("{run_id}") {
            self.diags.error(
                t.span(),
                ctx,
                format!("key \"{key}\": \"{text}\" must contain {{run_id}}, so that runs never collide and leftovers can be swept"),
            );
            return;
        }
        if rds && key.ends_with("identifier") {
            let sample = render_template(text, &self.drill, &self.restore_id, SAMPLE_RUN_ID)
                .to_ascii_lowercase();
            let ok = sample.len() <= 63
                && sample.starts_with(|c: char| c.is_ascii_lowercase())
                && sample
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !sample.contains("--")
                && !sample.ends_with('-');
            if !ok {
                self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": \"{text}\" does not make a valid RDS identifier (e.g. \"{sample}\"): 1 to 63 letters, digits and single hyphens, starting with a letter"),
                );
            }
        }
    }

    fn bucket(&mut self, b: &Spanned<String>, ctx: &str, key: &str) {
        let name = b.get_ref();
        let ok = (3..=63).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            self.diags.error(
                b.span(),
                ctx,
                format!("key \"{key}\": \"{name}\" is not a valid S3 bucket name (3 to 63 lowercase letters, digits, \".\" and \"-\")"),
            );
        }
    }

    fn nonempty(&mut self, t: &Spanned<String>, ctx: &str, key: &str) {
        if t.get_ref().trim().is_empty() {
            self.diags
                .error(t.span(), ctx, format!("key \"{key}\": must not be empty"));
        }
    }

    fn point(&mut self, to: Option<&Spanned<TimeText>>, ctx: &str) -> Option<PointSpec> {
        let Some(to) = to else {
            return Some(PointSpec::Incident);
        };
        match PointSpec::parse(&to.get_ref().0) {
            Ok(p) => Some(p),
            Err(e) => {
                self.diags.error(to.span(), ctx, format!("key \"to\": {e}"));
                None
            }
        }
    }

    fn tls(&mut self, t: Option<&Spanned<String>>, ctx: &str, key: &str) -> Option<Tls> {
        let default = if self.provider_kind == Some("local") {
            Tls::Disable
        } else {
            Tls::Require
        };
        let Some(t) = t else {
            return Some(default);
        };
        match t.get_ref().as_str() {
            "disable" => Some(Tls::Disable),
            "require" => Some(Tls::Require),
            "verify-full" => Some(Tls::VerifyFull),
            other => {
                self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": unknown value \"{other}\" (expected one of: disable, require, verify-full)"),
                );
                None
            }
        }
    }

    fn connect(&mut self, c: RawConnect, ctx: &str) -> Option<Connect> {
        self.nonempty(&c.database, ctx, "connect.database");
        self.nonempty(&c.user, ctx, "connect.user");
        if let Some(p) = &c.password_env {
            self.env_name(p, ctx, "connect.password_env");
        }
        if let Some(via) = &c.via
            && parse_host_port(via.get_ref()).is_none()
        {
            self.diags.error(
                via.span(),
                ctx,
                format!(
                    "key \"connect.via\": \"{}\" is not host:port, e.g. \"127.0.0.1:15432\"",
                    via.get_ref()
                ),
            );
        }
        let tls = self.tls(c.tls.as_ref(), ctx, "connect.tls")?;
        if tls == Tls::VerifyFull && c.ca_bundle.is_none() {
            self.diags.error(
                c.tls.as_ref().map_or(0..0, Spanned::span),
                ctx,
                "key \"connect.tls\": \"verify-full\" needs \"connect.ca_bundle\" (for RDS, the region's CA bundle, e.g. global-bundle.pem)",
            );
        }
        Some(Connect {
            database: c.database.into_inner(),
            user: c.user.into_inner(),
            password_env: c.password_env.map(Spanned::into_inner),
            via: c.via.map(Spanned::into_inner),
            tls,
            ca_bundle: c.ca_bundle.map(|p| self.path(p.get_ref())),
        })
    }

    fn env_name(&mut self, p: &Spanned<String>, ctx: &str, key: &str) {
        let name = p.get_ref();
        let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            self.diags.error(
                p.span(),
                ctx,
                // The value is never repeated: a value where a variable name belongs is often
                // the password itself.
                format!("key \"{key}\": the value is not an environment variable name (letters, digits and \"_\", not starting with a digit); it names the variable holding the password, never the password itself (the value is not repeated here, in case it is one)"),
            );
        }
    }

    fn check(
        &mut self,
        raw: RawCheck,
        ctx: &str,
        known: &HashMap<String, Known>,
        names: &mut HashMap<String, Range<usize>>,
    ) -> Option<CheckPlan> {
        let (restore, name, kind_name) = match &raw {
            RawCheck::Sql(c) => (c.restore.clone(), c.name.clone(), "sql"),
            RawCheck::Freshness(c) => (c.restore.clone(), c.name.clone(), "freshness"),
            RawCheck::TableChecksum(c) => (c.restore.clone(), c.name.clone(), "table_checksum"),
            RawCheck::Schema(c) => (c.restore.clone(), c.name.clone(), "schema"),
            RawCheck::S3Manifest(c) => (c.restore.clone(), c.name.clone(), "s3_manifest"),
            RawCheck::PgAmcheck(c) => (c.restore.clone(), c.name.clone(), "pg_amcheck"),
            RawCheck::Canary(c) => (c.restore.clone(), c.name.clone(), "canary"),
            RawCheck::S3ReplicationLag(c) => {
                (c.restore.clone(), c.name.clone(), "s3_replication_lag")
            }
        };
        let errors_before = self.diags.items.len();
        let target = match known.get(restore.get_ref()) {
            Some(k) => Some(k),
            None => {
                let ids: Vec<&str> = known.keys().map(String::as_str).collect();
                let hint = match did_you_mean(restore.get_ref(), &ids) {
                    Some(s) => format!(" (did you mean \"{s}\"?)"),
                    None => String::new(),
                };
                self.diags.error(
                    restore.span(),
                    ctx,
                    format!(
                        "key \"restore\": no restore has the id \"{}\"{hint}",
                        restore.get_ref()
                    ),
                );
                None
            }
        };
        if let Some(n) = &name {
            if n.get_ref().trim().is_empty() {
                self.nonempty(n, ctx, "name");
            } else if let Some(first) = names.get(n.get_ref()) {
                let (line, _) = self.diags.source.position(first.start);
                self.diags.error(
                    n.span(),
                    ctx,
                    format!(
                        "duplicate check name \"{}\" (first used on line {line})",
                        n.get_ref()
                    ),
                );
            } else {
                names.insert(n.get_ref().clone(), n.span());
            }
        }
        // Whether the check's kind fits the restore's: SQL checks need a database, object
        // checks an object store. Unknown (invalid) restores are not judged twice.
        let is_db = target.map(|k| k.is_database);
        let needs_db = matches!(
            kind_name,
            "sql" | "table_checksum" | "schema" | "pg_amcheck"
        );
        if let Some(k) = target.filter(|k| !k.kind.is_empty()) {
            if needs_db && !k.is_database {
                self.diags.error(
                    restore.span(),
                    ctx,
                    format!(
                        "a {kind_name} check needs a database, but restore \"{}\" is {}",
                        restore.get_ref(),
                        k.kind
                    ),
                );
            }
            if matches!(kind_name, "s3_manifest" | "s3_replication_lag") && k.is_database {
                self.diags.error(
                    restore.span(),
                    ctx,
                    format!(
                        "an {kind_name} check needs restored objects, but restore \"{}\" is {}",
                        restore.get_ref(),
                        k.kind
                    ),
                );
            }
        }
        let kind = match raw {
            RawCheck::Sql(c) => {
                self.nonempty(&c.query, ctx, "query");
                let expect = match Expect::parse(c.expect.get_ref()) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        self.diags
                            .error(c.expect.span(), ctx, format!("key \"expect\": {e}"));
                        None
                    }
                };
                Some(CheckKind::Sql {
                    query: c.query.into_inner(),
                    expect: expect?,
                })
            }
            RawCheck::Freshness(c) => {
                match (&c.query, is_db) {
                    (None, Some(true)) => self.diags.error(
                        restore.span(),
                        ctx,
                        "missing required key \"query\": on a database, a freshness check runs a query that returns the newest timestamp present",
                    ),
                    (Some(q), Some(false)) => self.diags.error(
                        q.span(),
                        ctx,
                        "key \"query\" has no meaning for restored objects: their freshness is the newest LastModified",
                    ),
                    (Some(q), _) => self.nonempty(q, ctx, "query"),
                    _ => {}
                }
                Some(CheckKind::Freshness {
                    query: c.query.map(Spanned::into_inner),
                })
            }
            RawCheck::TableChecksum(c) => {
                let source = match (c.table, c.query) {
                    (Some(t), None) => Some(RowSource::Table(t.into_inner())),
                    (None, Some(q)) => Some(RowSource::Query(q.into_inner())),
                    (Some(t), Some(_)) => {
                        self.diags.error(
                            t.span(),
                            ctx,
                            "give either \"table\" or \"query\", not both",
                        );
                        None
                    }
                    (None, None) => {
                        self.diags.error(
                            restore.span(),
                            ctx,
                            "missing \"table\" or \"query\": which rows to compare",
                        );
                        None
                    }
                };
                let key: Vec<String> = c
                    .key
                    .get_ref()
                    .split(',')
                    .map(|k| k.trim().to_owned())
                    .collect();
                if key.iter().any(String::is_empty) {
                    self.diags.error(
                        c.key.span(),
                        ctx,
                        "key \"key\": name the key column, or several separated by commas (\"tenant_id, id\")",
                    );
                }
                let reference = self.reference(c.reference, ctx, restore.get_ref(), known);
                Some(CheckKind::TableChecksum {
                    source: source?,
                    key,
                    reference: reference?,
                })
            }
            RawCheck::Schema(c) => {
                let reference = self.reference(c.reference, ctx, restore.get_ref(), known);
                let schemas = match c.schemas {
                    Some(s) if s.is_empty() => {
                        self.diags.error(
                            restore.span(),
                            ctx,
                            "key \"schemas\": name at least one schema",
                        );
                        Vec::new()
                    }
                    Some(s) => texts(Some(&s)),
                    None => vec![String::from("public")],
                };
                Some(CheckKind::Schema {
                    schemas,
                    reference: reference?,
                })
            }
            RawCheck::S3Manifest(c) => {
                self.nonempty(&c.manifest, ctx, "manifest");
                Some(CheckKind::S3Manifest {
                    manifest: self.path(c.manifest.get_ref()),
                })
            }
            RawCheck::S3ReplicationLag(c) => {
                self.bucket(&c.primary, ctx, "primary");
                if let Some(r) = &c.region {
                    self.region(r, ctx, "region");
                }
                let max_lag = match &c.max_lag {
                    Some(m) => Some(self.duration(m, ctx, "max_lag", false)?),
                    None => None,
                };
                Some(CheckKind::S3ReplicationLag {
                    primary: c.primary.into_inner(),
                    region: c.region.map(Spanned::into_inner),
                    max_lag,
                })
            }
            RawCheck::PgAmcheck(c) => Some(CheckKind::PgAmcheck {
                heapallindexed: c.heapallindexed.unwrap_or(false),
                tables: texts(c.tables.as_deref()),
            }),
            RawCheck::Canary(c) => match (c.table, c.prefix, is_db) {
                (Some(t), None, Some(true) | None) => {
                    let every = match &c.every {
                        Some(e) => Some(self.duration(e, ctx, "every", true)?),
                        None => None,
                    };
                    Some(CheckKind::Canary {
                        at: CanaryAt::Table {
                            table: t.into_inner(),
                            time_column: c
                                .time_column
                                .map(Spanned::into_inner)
                                .unwrap_or_else(|| String::from("written_at")),
                            every,
                        },
                    })
                }
                (None, Some(p), Some(false) | None) => {
                    if let Some(tc) = &c.time_column {
                        self.diags.error(
                            tc.span(),
                            ctx,
                            "key \"time_column\" has no meaning for objects: their time is LastModified",
                        );
                    }
                    Some(CheckKind::Canary {
                        at: CanaryAt::Prefix(p.into_inner()),
                    })
                }
                (Some(t), Some(_), _) => {
                    self.diags.error(
                        t.span(),
                        ctx,
                        "give either \"table\" (a database) or \"prefix\" (objects), not both",
                    );
                    None
                }
                (Some(t), None, Some(false)) => {
                    self.diags.error(t.span(), ctx, "key \"table\": this restore holds objects; name a \"prefix\" of canary objects");
                    None
                }
                (None, Some(p), Some(true)) => {
                    self.diags.error(
                        p.span(),
                        ctx,
                        "key \"prefix\": this restore is a database; name a canary \"table\"",
                    );
                    None
                }
                (None, None, _) => {
                    self.diags.error(
                        restore.span(),
                        ctx,
                        "missing \"table\" (canary rows in a database) or \"prefix\" (canary objects)",
                    );
                    None
                }
            },
        };
        let clean = !self.diags.items[errors_before..]
            .iter()
            .any(|d| d.severity == super::diag::Severity::Error);
        let kind = kind.filter(|_| clean && target.is_some())?;
        Some(CheckPlan {
            restore: restore.into_inner(),
            name: name.map(Spanned::into_inner).unwrap_or_default(),
            kind,
        })
    }

    fn reference(
        &mut self,
        r: Spanned<RawReference>,
        ctx: &str,
        own_restore: &str,
        known: &HashMap<String, Known>,
    ) -> Option<Reference> {
        let span = r.span();
        let r = r.into_inner();
        let given = usize::from(r.manifest.is_some())
            + usize::from(r.connect.is_some())
            + usize::from(r.restore.is_some());
        if given != 1 {
            self.diags.error(
                span,
                ctx,
                "key \"reference\": give exactly one of manifest = \"PATH\", connect = { ... } or restore = \"ID\"",
            );
            return None;
        }
        if let Some(m) = r.manifest {
            self.nonempty(&m, ctx, "reference.manifest");
            return Some(Reference::Manifest(self.path(m.get_ref())));
        }
        if let Some(other) = r.restore {
            match known.get(other.get_ref()) {
                None => self.diags.error(
                    other.span(),
                    ctx,
                    format!(
                        "key \"reference.restore\": no restore has the id \"{}\"",
                        other.get_ref()
                    ),
                ),
                Some(_) if other.get_ref() == own_restore => self.diags.error(
                    other.span(),
                    ctx,
                    "key \"reference.restore\": a restore cannot be its own reference",
                ),
                Some(k) if !k.is_database && !k.kind.is_empty() => self.diags.error(
                    other.span(),
                    ctx,
                    format!(
                        "key \"reference.restore\": restore \"{}\" is {}, not a database",
                        other.get_ref(),
                        k.kind
                    ),
                ),
                _ => {}
            }
            return Some(Reference::Restore(other.into_inner()));
        }
        let c = r.connect?;
        self.nonempty(&c.host, ctx, "reference.connect.host");
        if let Some(p) = &c.password_env {
            self.env_name(p, ctx, "reference.connect.password_env");
        }
        let tls = self.tls(c.tls.as_ref(), ctx, "reference.connect.tls")?;
        Some(Reference::Connect(ReferenceConnect {
            host: c.host.into_inner(),
            port: c.port.unwrap_or(5432),
            database: c.database.into_inner(),
            user: c.user.into_inner(),
            password_env: c.password_env.map(Spanned::into_inner),
            tls,
            ca_bundle: c.ca_bundle.map(|p| self.path(p.get_ref())),
        }))
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fills `{run_id}`, `{drill}` and `{restore}` in a target-name template.
pub fn render_template(template: &str, drill: &str, restore: &str, run_id: &str) -> String {
    template
        .replace("{run_id}", run_id)
        .replace("{drill}", drill)
        .replace("{restore}", restore)
}

fn texts(list: Option<&[Spanned<String>]>) -> Vec<String> {
    list.unwrap_or_default()
        .iter()
        .map(|s| s.get_ref().clone())
        .collect()
}

/// Lowercase letters, digits and single inner hyphens, starting with a letter.
fn valid_slug(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// `host:port` or `[v6]:port`.
pub(crate) fn parse_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    (!host.is_empty() && !host.contains(char::is_whitespace)).then_some((host, port))
}
