//! The text `restore-drill plan` prints: what would be restored, from what, into which target
//! names and tags, which checks run, and the targets the run is judged against. Offline: it
//! reads nothing but the plan.

use std::fmt::Write as _;

use super::plan::*;
use super::time::human;

/// The plan as people read it.
pub fn render_plan(plan: &DrillPlan) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "drill     {}  ({})", plan.name, plan.file.display());
    if let Some(d) = &plan.description {
        let _ = writeln!(w, "          {d}");
    }
    if let Some(owner) = &plan.owner {
        let _ = writeln!(w, "owner     {owner}");
    }
    let t = &plan.tier;
    let origin = match &t.defined_in {
        Some(p) => format!(" (from {})", p.display()),
        None => String::new(),
    };
    let _ = writeln!(
        w,
        "tier      {}: RPO {}, RTO {}, a passing drill at least every {}{origin}",
        t.name,
        human(t.rpo),
        human(t.rto),
        human(t.max_interval)
    );
    let _ = writeln!(w, "schedule  {}", plan.schedule);
    let _ = writeln!(
        w,
        "incident  {}; detection allowance {} (added to the measured RTO)",
        plan.incident.at,
        human(plan.incident.detect_allowance)
    );
    match &plan.provider {
        ProviderSpec::Aws {
            region,
            profile,
            endpoint_url,
            role,
        } => {
            let mut parts = vec![format!(
                "region {}",
                region.as_deref().unwrap_or("from the environment")
            )];
            if let Some(p) = profile {
                parts.push(format!("profile {p}"));
            }
            if let Some(u) = endpoint_url {
                parts.push(format!("endpoint {u}"));
            }
            if let Some(r) = role {
                parts.push(format!("as role {}", r.arn));
            }
            let _ = writeln!(w, "provider  aws ({})", parts.join(", "));
        }
        ProviderSpec::Local { pg_bin_dir } => {
            let bin = match pg_bin_dir {
                Some(p) => p.display().to_string(),
                None => "found with pg_config --bindir, else PATH".to_owned(),
            };
            let _ = writeln!(w, "provider  local (PostgreSQL binaries: {bin})");
        }
    }
    let to = &plan.timeouts;
    let _ = writeln!(
        w,
        "timeouts  resolve {}, copy {}, restore {}, prepare {}, verify {}, teardown {}",
        human(to.resolve),
        human(to.copy),
        human(to.restore),
        human(to.prepare),
        human(to.verify),
        human(to.teardown)
    );

    for r in &plan.restores {
        let _ = writeln!(w);
        let _ = writeln!(w, "restore \"{}\"  ({})", r.id, r.kind_name());
        restore(w, plan, r);
        let _ = writeln!(
            w,
            "  tags      restore-drill:run-id={{run_id}}, restore-drill:drill={}, restore-drill:expires-at=<run start + {}>",
            plan.name,
            human(plan.timeouts.total())
        );
        let checks: Vec<&CheckPlan> = plan.checks.iter().filter(|c| c.restore == r.id).collect();
        if checks.is_empty() {
            let _ = writeln!(w, "  checks    none");
        }
        for c in checks {
            let _ = writeln!(w, "  check     {}: {}", c.name, check(&c.kind));
        }
        if let Some(wu) = &r.warmup {
            let _ = writeln!(
                w,
                "  warmup    after the checks, runs {:?} in batches of {} until a batch's p95 latency is at most {}ms, for at most {}; counted in RTO",
                wu.query,
                WARMUP_BATCH,
                wu.until_p95.as_millis(),
                human(wu.max)
            );
        }
    }

    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "RTO = detection allowance ({}) + time from the incident until every restore is verified; target {}.",
        human(plan.incident.detect_allowance),
        human(plan.tier.rto)
    );
    let fresh: Vec<&str> = plan
        .checks
        .iter()
        .filter(|c| matches!(c.kind, CheckKind::Freshness { .. }))
        .map(|c| c.restore.as_str())
        .collect();
    let rpo_from = if fresh.is_empty() {
        "from recovery-point metadata (no freshness check)".to_owned()
    } else {
        format!("from the data (freshness checks on {})", quoted(&fresh))
    };
    let _ = writeln!(
        w,
        "RPO = incident time - newest data present, {rpo_from}; target {}.",
        human(plan.tier.rpo)
    );
    let _ = writeln!(
        w,
        "{{run_id}} is assigned when the run starts, e.g. {}. Nothing was contacted to make this plan.",
        super::validate::SAMPLE_RUN_ID
    );
    o
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn restore(w: &mut String, plan: &DrillPlan, r: &RestorePlan) {
    match &r.kind {
        RestoreKind::PgPitr {
            source,
            to,
            target,
            connect,
        } => {
            match source {
                PgSource::Files {
                    base_backups,
                    wal_archive,
                } => {
                    let _ = writeln!(
                        w,
                        "  from      base backups in {}, WAL archive {}; recover to {to}",
                        base_backups.display(),
                        wal_archive.display()
                    );
                }
                PgSource::PgBackRest { stanza, config } => {
                    let _ = writeln!(
                        w,
                        "  from      pgBackRest stanza \"{stanza}\" (config {}); recover to {to}",
                        config.display()
                    );
                }
            }
            let dir = match &target.work_dir {
                Some(d) => d.display().to_string(),
                None => "the system temp dir".to_owned(),
            };
            let port = match target.port {
                Some(p) => format!("127.0.0.1:{p}"),
                None => "a free loopback port".to_owned(),
            };
            let _ = writeln!(
                w,
                "  into      a new PostgreSQL data dir under {dir}, served on {port}; removed at teardown"
            );
            conn(w, connect);
        }
        RestoreKind::RdsPitr {
            source,
            to,
            target,
            connect,
        } => {
            let _ = writeln!(
                w,
                "  from      RDS instance \"{source}\", point in time: {to}"
            );
            instance(w, plan, r, "RDS instance", target, None);
            conn(w, connect);
        }
        RestoreKind::RdsSnapshot {
            source,
            snapshot,
            copy,
            target,
            connect,
        } => {
            let which = match snapshot {
                SnapshotSelector::LatestAutomated(p) => {
                    format!("the newest automated snapshot at or before {p}")
                }
                SnapshotSelector::LatestManual(p) => {
                    format!("the newest manual snapshot at or before {p}")
                }
                SnapshotSelector::Id(id) => format!("snapshot \"{id}\""),
            };
            let _ = writeln!(w, "  from      {which} of RDS instance \"{source}\"");
            if let Some(c) = copy {
                copy_line(w, c);
            }
            instance(w, plan, r, "RDS instance", target, None);
            conn(w, connect);
        }
        RestoreKind::RdsClusterPitr {
            source,
            to,
            target,
            connect,
        } => {
            let _ = writeln!(
                w,
                "  from      Aurora cluster \"{source}\", point in time: {to}"
            );
            let one = format!(
                "with one instance \"{}\"",
                super::validate::render_template(
                    &target.instance_identifier,
                    &plan.name,
                    &r.id,
                    "{run_id}"
                )
            );
            instance(w, plan, r, "Aurora cluster", &target.cluster, Some(one));
            conn(w, connect);
        }
        RestoreKind::RdsClusterSnapshot {
            source,
            snapshot,
            copy,
            target,
            connect,
        } => {
            let which = match snapshot {
                SnapshotSelector::LatestAutomated(p) => {
                    format!("the newest automated cluster snapshot at or before {p}")
                }
                SnapshotSelector::LatestManual(p) => {
                    format!("the newest manual cluster snapshot at or before {p}")
                }
                SnapshotSelector::Id(id) => format!("cluster snapshot \"{id}\""),
            };
            let _ = writeln!(w, "  from      {which} of Aurora cluster \"{source}\"");
            if let Some(c) = copy {
                copy_line(w, c);
            }
            let one = format!(
                "with one instance \"{}\"",
                super::validate::render_template(
                    &target.instance_identifier,
                    &plan.name,
                    &r.id,
                    "{run_id}"
                )
            );
            instance(w, plan, r, "Aurora cluster", &target.cluster, Some(one));
            conn(w, connect);
        }
        RestoreKind::S3Versions {
            bucket,
            prefix,
            to,
            target,
            concurrency,
        } => {
            let _ = writeln!(
                w,
                "  from      the object versions under s3://{bucket}/{prefix} that were current at {to}"
            );
            let region = match &target.region {
                Some(r) => format!(" in {r}"),
                None => String::new(),
            };
            let _ = writeln!(
                w,
                "  into      s3://{}/{}<source key>{region}, server-side copies, up to {concurrency} at a time (how many is found while copying); deleted at teardown",
                target.bucket,
                super::validate::render_template(&target.prefix, &plan.name, &r.id, "{run_id}")
            );
            if target.encryption == super::CopyEncryption::TargetDefault {
                let _ = writeln!(
                    w,
                    "  encrypted as the target bucket's default (copy_encryption = \"target_default\"): no HeadObject per version, SSE-KMS versions not re-encrypted under their key"
                );
            }
            let _ = writeln!(
                w,
                "  resolve   lists every version and delete marker under the prefix (read-only); the report counts the keys, versions, delete markers and bytes restored"
            );
            let _ = writeln!(
                w,
                "  verify    the target must hold exactly the chosen versions (keys, sizes, ETags), then the checks below{}",
                if target.tag {
                    "; restored objects are tagged with the run"
                } else {
                    "; restored objects keep their own tags"
                }
            );
        }
        RestoreKind::BackupRecoveryPoint {
            vault,
            point,
            iam_role_arn,
            target,
            connect,
        } => {
            let which = match point {
                BackupPointSelector::Resource { arn, to } => {
                    format!("the newest recovery point of {arn} at or before {to}")
                }
                BackupPointSelector::RecoveryPoint { arn } => format!("recovery point {arn}"),
            };
            let _ = writeln!(w, "  from      {which}, vault \"{vault}\"");
            let mut into = Vec::new();
            if let Some(i) = &target.identifier {
                into.push(format!(
                    "\"{}\"",
                    super::validate::render_template(i, &plan.name, &r.id, "{run_id}")
                ));
            }
            if let Some(b) = &target.bucket {
                into.push(format!(
                    "s3://{b}/{}",
                    target.prefix.as_deref().unwrap_or("")
                ));
            }
            if let Some(region) = &target.region {
                into.push(format!("in {region}"));
            }
            if into.is_empty() {
                into.push("a new resource named by AWS Backup".to_owned());
            }
            let _ = writeln!(
                w,
                "  into      {} (restore job role {iam_role_arn})",
                into.join(" ")
            );
            if target.bucket.is_none() {
                isolation(
                    w,
                    target.subnet_group.as_deref(),
                    &target.security_groups,
                    target.allow_shared_network,
                );
            }
            if let Some(c) = connect {
                conn(w, c);
            }
        }
    }
}

fn instance(
    w: &mut String,
    plan: &DrillPlan,
    r: &RestorePlan,
    what: &str,
    t: &InstanceTarget,
    also: Option<String>,
) {
    let name = super::validate::render_template(&t.identifier, &plan.name, &r.id, "{run_id}");
    let mut extra = Vec::new();
    if let Some(region) = &t.region {
        extra.push(format!("in {region}"));
    }
    if let Some(class) = &t.instance_class {
        extra.push(class.clone());
    }
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" ({})", extra.join(", "))
    };
    let _ = writeln!(
        w,
        "  into      {what} \"{name}\"{extra}; deleted at teardown, no final snapshot"
    );
    if let Some(also) = also {
        let _ = writeln!(w, "            {also}");
    }
    isolation(
        w,
        t.subnet_group.as_deref(),
        &t.security_groups,
        t.allow_shared_network,
    );
}

fn isolation(w: &mut String, subnet: Option<&str>, groups: &[String], shared: bool) {
    let mut parts = Vec::new();
    match subnet {
        Some(s) => parts.push(format!("subnet group {s}")),
        None => parts.push("the default subnet group".to_owned()),
    }
    if groups.is_empty() {
        parts.push("the default security group".to_owned());
    } else {
        parts.push(format!("security groups {}", groups.join(", ")));
    }
    parts.push("not publicly accessible, single-AZ, no deletion protection".to_owned());
    if shared {
        parts.push("shared network allowed by the drill".to_owned());
    }
    let _ = writeln!(w, "  network   {}", parts.join("; "));
}

fn conn(w: &mut String, c: &Connect) {
    let password = match &c.password_env {
        Some(env) => format!("password from ${env}"),
        None => "no password".to_owned(),
    };
    let via = match &c.via {
        Some(v) => format!(", via {v}"),
        None => String::new(),
    };
    let _ = writeln!(
        w,
        "  connect   database \"{}\" as \"{}\" ({password}), TLS {}{via}",
        c.database,
        c.user,
        c.tls.name()
    );
}

fn reference(r: &Reference) -> String {
    match r {
        Reference::Manifest(p) => format!("manifest {}", p.display()),
        Reference::Connect(c) => format!("database \"{}\" at {}:{}", c.database, c.host, c.port),
        Reference::Restore(id) => format!("restore \"{id}\""),
    }
}

fn check(kind: &CheckKind) -> String {
    match kind {
        CheckKind::Sql { query, expect } => format!("sql `{query}` expects {expect}"),
        CheckKind::Freshness { query: Some(q) } => {
            format!("freshness (newest data, gives the RPO) from `{q}`")
        }
        CheckKind::Freshness { query: None } => {
            "freshness (newest restored LastModified, gives the RPO)".to_owned()
        }
        CheckKind::TableChecksum {
            source,
            key,
            reference: r,
        } => {
            let rows = match source {
                RowSource::Table(t) => format!("table {t}"),
                RowSource::Query(q) => format!("rows of `{q}`"),
            };
            format!(
                "table_checksum of {rows} by key ({}) against {}",
                key.join(", "),
                reference(r)
            )
        }
        CheckKind::Schema {
            schemas,
            reference: r,
        } => format!("schema of {} against {}", schemas.join(", "), reference(r)),
        CheckKind::S3Manifest { manifest } => format!("s3_manifest against {}", manifest.display()),
        CheckKind::S3ReplicationLag {
            primary,
            region,
            max_lag,
        } => format!(
            "s3_replication_lag behind the primary s3://{primary}{}{}",
            region
                .as_deref()
                .map(|r| format!(" in {r}"))
                .unwrap_or_default(),
            max_lag
                .map(|m| format!(", at most {}", super::human(m)))
                .unwrap_or_default()
        ),
        CheckKind::PgAmcheck {
            heapallindexed,
            tables,
        } => {
            let scope = if tables.is_empty() {
                "every table".to_owned()
            } else {
                tables.join(", ")
            };
            let heap = if *heapallindexed {
                ", heapallindexed"
            } else {
                ""
            };
            format!("pg_amcheck of {scope}{heap}")
        }
        CheckKind::Canary {
            at:
                CanaryAt::Table {
                    table,
                    time_column,
                    every,
                },
        } => {
            let recent = every
                .map(|e| format!(" (one written every {})", human(e)))
                .unwrap_or_default();
            format!(
                "canary rows in {table}{recent}: those with {time_column} at or before the restore point must be present, later ones absent"
            )
        }
        CheckKind::Canary {
            at: CanaryAt::Prefix(p),
        } => format!(
            "canary objects under {p}: those written at or before the restore point must be present, later ones absent"
        ),
    }
}

/// A snapshot copy's line of the plan: where it goes, its key, and the DR account's role.
fn copy_line(w: &mut String, c: &SnapshotCopy) {
    let kms = match &c.kms_key {
        Some(k) => format!(", encrypted with {k}"),
        None => String::new(),
    };
    let _ = writeln!(
        w,
        "  copy      to {}{kms} (timed as phase \"copy\"); the copy is deleted at teardown",
        c.region
    );
    if let (Some(role), Some(account)) = (&c.role_arn, c.account()) {
        let _ = writeln!(
            w,
            "            into account {account} as {role}: the copy, the restore, prepare \
             and the teardown run as that role; the source snapshot must already be \
             shared with {account} (restore-drill never changes a source)"
        );
    }
}
