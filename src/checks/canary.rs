//! The `canary` check: rows written at known times prove where the restore stopped. Every
//! canary written after the restore point must be absent (else the restore went too far), and
//! canaries before it must be present — with `every`, the newest must be no older than one
//! interval before the restore point (else the restore stopped short, or lost data).

use chrono::{DateTime, Utc};

use super::context::{CheckContext, quote_ident, quote_table};
use super::sql::{parse_time, query};
use crate::drill::CanaryAt;
use crate::report::Finding;

/// Commit lag allowed between writing a canary and its commit being restorable.
const SLACK: chrono::Duration = chrono::Duration::seconds(1);

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) async fn run(at: &CanaryAt, cx: &CheckContext) -> Result<Vec<Finding>, String> {
    let (table, column, every) = match at {
        CanaryAt::Table {
            table,
            time_column,
            every,
        } => (table, time_column, every),
        CanaryAt::Prefix(_) => {
            return Err(
                "canary objects under a prefix need a restore of objects (s3_versions), but this restore is a database".into(),
            );
        }
    };
    let Some(point) = cx.restored_to else {
        return Err("the restore point is unknown, so canaries cannot be judged against it".into());
    };
    let from = quote_table(table);
    let col = quote_ident(column);
    let t = format!(
        "'{}'::timestamptz",
        point.format("%Y-%m-%d %H:%M:%S%.6f+00")
    );
    let sql = format!(
        "select count(*) filter (where {col} > {t}), min({col}) filter (where {col} > {t}), \
         max({col}) filter (where {col} <= {t}), count(*) filter (where {col} <= {t}) from {from}"
    );
    let rows = query(&cx.target, &sql).await?;
    let row = rows.first().cloned().unwrap_or_default();
    let get = |i: usize| row.get(i).cloned().flatten();
    let after: u64 = get(0).and_then(|v| v.parse().ok()).unwrap_or(0);
    let first_after = get(1).as_deref().and_then(parse_time);
    let newest_before = get(2).as_deref().and_then(parse_time);
    let before: u64 = get(3).and_then(|v| v.parse().ok()).unwrap_or(0);
    let object = format!("canary {table}.{column}");
    let mut findings = Vec::new();
    if after > 0 {
        findings.push(Finding {
            kind: "extra".into(),
            object: object.clone(),
            expected: format!("no canary after {}", rfc3339(point)),
            found: format!(
                "{after} after it, the first at {}",
                first_after.map(rfc3339).unwrap_or_default()
            ),
            message: "the restore holds data written after its restore point".into(),
        });
    }
    match (newest_before, every) {
        (None, _) => findings.push(Finding {
            kind: "missing".into(),
            object,
            expected: format!("canaries written before {}", rfc3339(point)),
            found: format!("{before} canaries"),
            message: "no canary from before the restore point came back".into(),
        }),
        (Some(newest), Some(every)) => {
            let every = chrono::Duration::from_std(*every).unwrap_or(chrono::Duration::MAX);
            let oldest_ok = point - every - SLACK;
            if newest < oldest_ok {
                findings.push(Finding {
                    kind: "missing".into(),
                    object,
                    expected: format!("a canary written after {}", rfc3339(oldest_ok)),
                    found: format!("the newest was written at {}", rfc3339(newest)),
                    message: "canaries written shortly before the restore point are missing".into(),
                });
            }
        }
        (Some(_), None) => {}
    }
    Ok(findings)
}
