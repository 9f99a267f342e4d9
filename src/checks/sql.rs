//! The `sql` and `freshness` checks, over the simple (text) query protocol so that any column
//! type compares the same way: numbers as numbers, everything else as its text.

use std::time::Instant;

use chrono::{DateTime, NaiveDateTime, Utc};
use tokio_postgres::SimpleQueryMessage;

use crate::drill::{CheckKind, CheckPlan, Expect, Op};
use crate::provider::local::connect;
use crate::report::{CheckOutcome, CheckReport, Finding};

/// Where a check connects: the restored database.
#[derive(Debug, Clone)]
pub struct CheckTarget {
    pub port: u16,
    pub database: String,
    pub user: String,
    /// Never printed.
    pub password: Option<String>,
}

/// The outcome of one check, and for a freshness check the newest data it found.
pub async fn run_check(
    check: &CheckPlan,
    target: &CheckTarget,
) -> (CheckReport, Option<DateTime<Utc>>) {
    let started = Instant::now();
    let (outcome, findings, newest) = match run(check, target).await {
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

type Rows = Vec<Vec<Option<String>>>;

async fn query(target: &CheckTarget, sql: &str) -> Result<Rows, String> {
    let client = connect(
        target.port,
        &target.user,
        &target.database,
        target.password.as_deref(),
    )
    .await
    .map_err(|e| format!("cannot connect to the restored database: {e}"))?;
    // Checks read; they never change what they check. Times come back in UTC.
    client
        .batch_execute("SET default_transaction_read_only = on; SET TimeZone = 'UTC'")
        .await
        .map_err(|e| format!("cannot set up the check session: {e}"))?;
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| match e.as_db_error() {
            Some(db) => format!("the query failed: {}", db.message()),
            None => format!("the query failed: {e}"),
        })?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

async fn run(
    check: &CheckPlan,
    target: &CheckTarget,
) -> Result<(Vec<Finding>, Option<DateTime<Utc>>), String> {
    match &check.kind {
        CheckKind::Sql { query: sql, expect } => {
            let rows = query(target, sql).await?;
            Ok((judge(&check.name, expect, &rows), None))
        }
        CheckKind::Freshness { query: Some(sql) } => {
            let rows = query(target, sql).await?;
            let value = rows.first().and_then(|r| r.first().cloned().flatten());
            let Some(text) = value else {
                return Err("the query returned no value (NULL or no rows): nothing to date the restored data by".into());
            };
            let newest = parse_time(&text).ok_or_else(|| {
                format!("the query returned \"{text}\", which is not a timestamp")
            })?;
            Ok((Vec::new(), Some(newest)))
        }
        other => Err(format!(
            "{} checks are not built yet in this version of restore-drill",
            other.name()
        )),
    }
}

/// Compares the first column of the first row with the expectation.
fn judge(name: &str, expect: &Expect, rows: &Rows) -> Vec<Finding> {
    let finding = |expected: String, found: String, message: &str| Finding {
        kind: "mismatch".into(),
        object: name.to_owned(),
        expected,
        found,
        message: message.to_owned(),
    };
    let first = rows.first().and_then(|r| r.first().cloned().flatten());
    match expect {
        Expect::NoRows => {
            if rows.is_empty() {
                Vec::new()
            } else {
                vec![finding(
                    "no rows".into(),
                    format!(
                        "{} rows, the first {}",
                        rows.len(),
                        first.as_deref().unwrap_or("NULL")
                    ),
                    "the query returned rows",
                )]
            }
        }
        _ if rows.is_empty() => vec![finding(
            expect.to_string(),
            "no rows".into(),
            "the query returned no rows",
        )],
        Expect::Matches(re) => match &first {
            Some(text) if re.is_match(text) => Vec::new(),
            other => vec![finding(
                expect.to_string(),
                other.clone().unwrap_or_else(|| "NULL".into()),
                "the value does not match",
            )],
        },
        Expect::Compare(..) | Expect::Between(..) => {
            let Some(n) = first.as_deref().and_then(|t| t.trim().parse::<f64>().ok()) else {
                return vec![finding(
                    expect.to_string(),
                    first.unwrap_or_else(|| "NULL".into()),
                    "the value is not a number",
                )];
            };
            let ok = match *expect {
                Expect::Compare(Op::Eq, x) => n == x,
                Expect::Compare(Op::Ne, x) => n != x,
                Expect::Compare(Op::Gt, x) => n > x,
                Expect::Compare(Op::Ge, x) => n >= x,
                Expect::Compare(Op::Lt, x) => n < x,
                Expect::Compare(Op::Le, x) => n <= x,
                Expect::Between(a, b) => a <= n && n <= b,
                _ => false,
            };
            if ok {
                Vec::new()
            } else {
                vec![finding(
                    expect.to_string(),
                    first.unwrap_or_default(),
                    "the value is out of bounds",
                )]
            }
        }
    }
}

/// Parses PostgreSQL's text form of `timestamptz` (in UTC) or `timestamp` (read as UTC).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%#z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[&str]) -> Rows {
        v.iter().map(|s| vec![Some((*s).to_owned())]).collect()
    }

    #[test]
    fn judges_numbers_text_and_emptiness() {
        let ge = Expect::parse(">= 1000").unwrap();
        assert!(judge("n", &ge, &rows(&["1000"])).is_empty());
        let f = judge("n", &ge, &rows(&["999"]));
        assert_eq!(
            (f[0].expected.as_str(), f[0].found.as_str()),
            (">= 1000", "999")
        );
        assert_eq!(judge("n", &ge, &rows(&[]))[0].found, "no rows");
        assert_eq!(
            judge("n", &ge, &rows(&["lots"]))[0].message,
            "the value is not a number"
        );
        let between = Expect::parse("between 1 and 3").unwrap();
        assert!(judge("n", &between, &rows(&["2.5"])).is_empty());
        assert!(!judge("n", &between, &rows(&["3.5"])).is_empty());
        let none = Expect::parse("no rows").unwrap();
        assert!(judge("n", &none, &rows(&[])).is_empty());
        assert_eq!(
            judge("n", &none, &rows(&["7"]))[0].found,
            "1 rows, the first 7"
        );
        let re = Expect::parse("matches ^ok").unwrap();
        assert!(judge("n", &re, &rows(&["okay"])).is_empty());
        assert!(!judge("n", &re, &rows(&["not ok"])).is_empty());
    }

    #[test]
    fn parses_postgres_times() {
        let t = parse_time("2026-11-21 13:00:00.123456+00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-21T13:00:00.123456+00:00");
        assert!(parse_time("2026-11-21 13:00:00+00").is_some());
        assert!(parse_time("2026-11-21 13:00:00.5").is_some());
        assert!(parse_time("yesterday").is_none());
    }
}
