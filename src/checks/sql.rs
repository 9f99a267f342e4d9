//! The `sql` and `freshness` checks, over the simple (text) query protocol so that any column
//! type compares the same way: numbers as numbers, everything else as its text.

use chrono::{DateTime, NaiveDateTime, Utc};
use tokio_postgres::SimpleQueryMessage;

use super::context::{CheckContext, CheckTarget, db_error};
use crate::drill::{Expect, Op};
use crate::report::Finding;

pub(crate) type Rows = Vec<Vec<Option<String>>>;

/// Runs `sql` on the check's target over the simple (text) protocol; every value as text.
pub(crate) async fn query(target: &CheckTarget, sql: &str) -> Result<Rows, String> {
    let client = target.client().await?;
    rows(&client, sql).await
}

/// Runs `sql` on a connection over the simple (text) protocol; every value as text.
pub(crate) async fn rows(client: &tokio_postgres::Client, sql: &str) -> Result<Rows, String> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| format!("the query failed: {}", db_error(&e)))?;
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

/// The `sql` check: the query's first value against the expectation. Also returns that value
/// as found (`NULL`, or `no rows`), which the report records whether the check passed or not.
pub(crate) async fn sql(
    name: &str,
    sql: &str,
    expect: &Expect,
    cx: &CheckContext,
) -> Result<(Vec<Finding>, String), String> {
    let rows = query(&cx.target, sql).await?;
    Ok((judge(name, expect, &rows), found(&rows)))
}

/// The first value of the first row as a report shows it.
fn found(rows: &Rows) -> String {
    match rows.first() {
        None => "no rows".to_owned(),
        Some(row) => row
            .first()
            .cloned()
            .flatten()
            .unwrap_or_else(|| "NULL".to_owned()),
    }
}

/// The `freshness` check: the newest data present, as the query dates it.
pub(crate) async fn freshness(sql: &str, cx: &CheckContext) -> Result<DateTime<Utc>, String> {
    let rows = query(&cx.target, sql).await?;
    let Some(text) = rows.first().and_then(|r| r.first().cloned().flatten()) else {
        return Err(
            "the query returned no value (NULL or no rows): nothing to date the restored data by"
                .into(),
        );
    };
    parse_time(&text)
        .ok_or_else(|| format!("the query returned \"{text}\", which is not a timestamp"))
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
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
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

    /// Issue 19: what a passing check found is recorded too.
    #[test]
    fn the_value_found_is_shown_for_any_outcome() {
        assert_eq!(found(&rows(&["1042"])), "1042");
        assert_eq!(found(&Vec::new()), "no rows");
        assert_eq!(found(&vec![vec![None]]), "NULL");
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
