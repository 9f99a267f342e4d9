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

use crate::drill::diag::{Diagnostic, Diags, Source};
use crate::drill::load::{Value, de, parse_toml, peek_str};
use crate::drill::plan::*;
use crate::drill::raw::*;
use crate::drill::schedule::Schedule;
use crate::drill::tier::{Tier, TierCatalog};
use crate::drill::time::{IncidentAt, PointSpec, human};

use super::text::sha256_hex;

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
        verify_timeout: None,
    };
    let plan = v.drill(file, text, tiers);
    let failed = v.diags.has_errors();
    Checked {
        plan: if failed { None } else { plan },
        diagnostics: v.diags.into_sorted(),
    }
}

pub(super) enum RawRestore {
    PgPitr(RawPgPitr),
    RdsPitr(RawRdsPitr),
    RdsSnapshot(RawRdsSnapshot),
    RdsClusterPitr(RawRdsClusterPitr),
    S3Versions(RawS3Versions),
    BackupRecoveryPoint(RawBackupRecoveryPoint),
    RdsClusterSnapshot(RawRdsClusterSnapshot),
}

pub(super) enum RawCheck {
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
pub(super) type Meta = (String, Option<String>, Option<String>, Tier, Schedule);

pub(super) struct Validator<'a> {
    pub(super) diags: Diags<'a>,
    pub(super) base_dir: PathBuf,
    pub(super) provider_kind: Option<&'static str>,
    /// The drill's name, for rendering target-name templates.
    pub(super) drill: String,
    /// The id of the restore being checked, for the same.
    pub(super) restore_id: String,
    /// `[timeouts] verify`, once read: a warmup must end inside it.
    pub(super) verify_timeout: Option<Duration>,
}

/// A restore that passed its own rules, with what checks need to know about it.
pub(super) struct Known {
    pub(super) span: Range<usize>,
    pub(super) is_database: bool,
    pub(super) kind: &'static str,
}

impl Validator<'_> {
    pub(super) fn drill(
        &mut self,
        file: &Path,
        text: &str,
        tiers: &TierCatalog,
    ) -> Option<DrillPlan> {
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
        self.verify_timeout = timeouts.map(|t| t.verify);
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
    pub(super) fn array<'i>(
        &mut self,
        value: Option<Value<'i>>,
        key: &str,
        at: usize,
    ) -> Vec<Value<'i>> {
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
}
