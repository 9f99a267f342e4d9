//! Runs one check of any kind and turns its result into a `CheckReport`.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::context::CheckContext;
use super::{amcheck, canary, checksum, schema, sql};
use crate::drill::{CheckKind, CheckPlan};
use crate::report::{CheckOutcome, CheckReport, Finding};

/// The outcome of one check, and for a freshness check the newest data it found.
pub async fn run_check(
    check: &CheckPlan,
    cx: &CheckContext,
) -> (CheckReport, Option<DateTime<Utc>>) {
    let started = Instant::now();
    let result: Result<(Vec<Finding>, Option<DateTime<Utc>>), String> = match &check.kind {
        CheckKind::Sql { query, expect } => sql::sql(&check.name, query, expect, cx).await.map(|f| (f, None)),
        CheckKind::Freshness { query: Some(q) } => sql::freshness(q, cx).await.map(|t| (Vec::new(), Some(t))),
        CheckKind::Freshness { query: None } => {
            Err("a freshness check without a query dates restored objects, which needs the S3 provider (not built yet)".into())
        }
        CheckKind::TableChecksum { source, key, reference } => {
            checksum::run(source, key, reference, cx).await.map(|f| (f, None))
        }
        CheckKind::Schema { schemas, reference } => schema::run(schemas, reference, cx).await.map(|f| (f, None)),
        CheckKind::PgAmcheck { heapallindexed, tables } => {
            amcheck::run(*heapallindexed, tables, cx).await.map(|f| (f, None))
        }
        CheckKind::Canary { at } => canary::run(at, cx).await.map(|f| (f, None)),
        CheckKind::S3Manifest { .. } => {
            Err("s3_manifest checks need the S3 provider, which this build does not have yet".into())
        }
    };
    let (outcome, findings, newest) = match result {
        Ok((findings, newest)) if findings.is_empty() => (CheckOutcome::Passed, findings, newest),
        Ok((findings, newest)) => (CheckOutcome::Failed, findings, newest),
        Err(message) => (
            CheckOutcome::Error,
            vec![Finding {
                kind: "error".into(),
                object: check.name.clone(),
                expected: "the check runs".into(),
                found: "it could not".into(),
                message,
            }],
            None,
        ),
    };
    (
        CheckReport {
            restore: check.restore.clone(),
            kind: check.kind.name().into(),
            name: check.name.clone(),
            outcome,
            findings,
            seconds: started.elapsed().as_secs_f64(),
        },
        newest,
    )
}
