//! Runs one check of any kind and turns its result into a `CheckReport`. Checks of a
//! database get a `CheckContext`; checks of restored objects get the restore's
//! `RestoredObjects`.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::context::CheckContext;
use super::{amcheck, canary, checksum, s3, schema, sql};
use crate::drill::{CanaryAt, CheckKind, CheckPlan};
use crate::provider::aws::s3::RestoredObjects;
use crate::report::{CheckOutcome, CheckReport, Finding};

type Checked = Result<(Vec<Finding>, Option<DateTime<Utc>>), String>;

/// The outcome of one check, and for a freshness check the newest data it found.
pub async fn run_check(
    check: &CheckPlan,
    cx: &CheckContext,
) -> (CheckReport, Option<DateTime<Utc>>) {
    let started = Instant::now();
    let mut found = None;
    let result: Checked = match &check.kind {
        CheckKind::Sql { query, expect } => {
            sql::sql(&check.name, query, expect, cx)
                .await
                .map(|(f, value)| {
                    found = Some(value);
                    (f, None)
                })
        }
        CheckKind::Freshness { query: Some(q) } => {
            sql::freshness(q, cx).await.map(|t| (Vec::new(), Some(t)))
        }
        CheckKind::Freshness { query: None } => Err(
            "a freshness check without a query dates restored objects, but this restore has none"
                .into(),
        ),
        CheckKind::TableChecksum {
            source,
            key,
            reference,
        } => checksum::run(source, key, reference, cx)
            .await
            .map(|f| (f, None)),
        CheckKind::Schema { schemas, reference } => {
            schema::run(schemas, reference, cx).await.map(|f| (f, None))
        }
        CheckKind::PgAmcheck {
            heapallindexed,
            tables,
        } => amcheck::run(*heapallindexed, tables, cx)
            .await
            .map(|f| (f, None)),
        CheckKind::Canary { at } => canary::run(at, cx).await.map(|f| (f, None)),
        CheckKind::S3Manifest { .. } | CheckKind::S3ReplicationLag { .. } => Err(format!(
            "{} checks restored objects, but this restore has none",
            check.kind.name()
        )),
    };
    let (mut r, newest) = report(
        &check.restore,
        check.kind.name(),
        &check.name,
        started,
        result,
    );
    r.found = found;
    (r, newest)
}

/// The outcome of one check of restored objects (an `s3_versions` restore); `source_prefix`
/// is the restore's source prefix.
pub async fn run_object_check(
    check: &CheckPlan,
    objects: &RestoredObjects,
    source_prefix: &str,
) -> (CheckReport, Option<DateTime<Utc>>) {
    let started = Instant::now();
    let result: Checked = match &check.kind {
        CheckKind::Freshness { query: None } => {
            s3::freshness(objects).await.map(|t| (Vec::new(), Some(t)))
        }
        CheckKind::S3Manifest { manifest } => s3::manifest(objects, manifest, source_prefix)
            .await
            .map(|f| (f, None)),
        CheckKind::Canary {
            at: CanaryAt::Prefix(p),
        } => s3::canary(objects, p).await.map(|f| (f, None)),
        CheckKind::S3ReplicationLag {
            primary,
            region,
            max_lag,
        } => s3::replication_lag(objects, primary, region.as_deref(), *max_lag, source_prefix)
            .await
            .map(|(f, complete)| (f, Some(complete))),
        other => Err(format!(
            "a {} check needs a database, but this restore holds objects",
            other.name()
        )),
    };
    report(
        &check.restore,
        check.kind.name(),
        &check.name,
        started,
        result,
    )
}

/// The check every `s3_versions` restore gets: the target holds exactly the versions that
/// were current at the restore point.
pub async fn restored_set_check(restore: &str, objects: &RestoredObjects) -> CheckReport {
    let started = Instant::now();
    let name = format!(
        "restored objects equal the versions current at {}",
        objects
            .restored_to()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let result = s3::restored_set(objects).await.map(|f| (f, None));
    report(restore, "s3_restored_set", &name, started, result).0
}

/// The report of one check, and the newest data a freshness check found.
fn report(
    restore: &str,
    kind: &str,
    name: &str,
    started: Instant,
    result: Checked,
) -> (CheckReport, Option<DateTime<Utc>>) {
    let (outcome, findings, newest) = match result {
        Ok((findings, newest)) if findings.is_empty() => (CheckOutcome::Passed, findings, newest),
        Ok((findings, newest)) => (CheckOutcome::Failed, findings, newest),
        Err(message) => (
            CheckOutcome::Error,
            vec![Finding {
                kind: "error".into(),
                object: name.to_owned(),
                expected: "the check runs".into(),
                found: "it could not".into(),
                message,
            }],
            None,
        ),
    };
    (
        CheckReport {
            restore: restore.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            outcome,
            findings,
            seconds: started.elapsed().as_secs_f64(),
            found: None,
        },
        newest,
    )
}
