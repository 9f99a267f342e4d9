//! The `table_checksum` check: are the restored rows exactly the reference's rows?
//!
//! Hashing runs in the database. Each row hashes to `hashtextextended(row::text, 0)`, a 64-bit
//! hash of the row's text form, in which NULL (an empty field) differs from any text,
//! including `''` (`""`) and `'<null>'`. A set of rows is summarised by its count and the sum
//! of its row hashes (`sum` of bigints is exact: PostgreSQL accumulates it in 128 bits and
//! returns numeric); equal summaries mean equal rows.
//!
//! Both sides are summarised concurrently, per bucket of keys, in one pass each. Buckets that
//! differ are split again, down to a few thousand rows, whose keys and row hashes are then
//! compared one by one: every missing, extra and changed key is found, and rows that match
//! never leave the database. Buckets are ranges of the first key column when it is an
//! integer (so deeper levels use its index), else hash buckets of the whole key.

use std::collections::{BTreeMap, HashMap};

use tokio_postgres::Client;

use super::context::{
    CheckContext, CheckTarget, db_error, quote_ident, quote_table, reference_target,
};
use super::manifest::{Manifest, RangeManifest, TableManifest};
use crate::drill::{Reference, RowSource};
use crate::report::Finding;

/// Buckets per split below the first.
const FANOUT: i128 = 64;
/// The first split aims at buckets of about this many keys, so that a differing bucket is
/// usually small enough to compare row by row at once (one scan of each side, then index
/// lookups only) ...
const FIRST_BUCKET_KEYS: i128 = 2048;
/// ... within these bounds on the number of first-level buckets.
const FIRST_FANOUT: (i128, i128) = (64, 4096);
/// A bucket with at most this many rows on each side is compared row by row.
const LEAF_ROWS: u64 = 4096;
/// Differences listed one by one; past this, the rest are counted.
const MAX_LISTED: usize = 100;

/// Rows of one bucket on one side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Summary {
    rows: u64,
    hash: String,
}

/// What to read, quoted and ready for SQL.
#[derive(Debug, Clone)]
struct Rows {
    /// A FROM item: a quoted table name or a parenthesised query, aliased `rd_row`.
    from: String,
    /// The label used in findings.
    label: String,
    /// Quoted key columns, qualified with the alias.
    key: Vec<String>,
    /// The row hash expression.
    hash: &'static str,
}

impl Rows {
    fn new(source: &RowSource, key: &[String]) -> Self {
        let (from, label) = match source {
            RowSource::Table(t) => (format!("{} rd_row", quote_table(t)), t.clone()),
            RowSource::Query(q) => (format!("({q}) rd_row"), "query".to_owned()),
        };
        Rows {
            from,
            label,
            key: key
                .iter()
                .map(|k| format!("rd_row.{}", quote_ident(k)))
                .collect(),
            hash: RowHash::Record.expr(),
        }
    }

    fn hashed(mut self, h: RowHash) -> Self {
        self.hash = h.expr();
        self
    }

    fn first(&self) -> &str {
        &self.key[0]
    }

    /// The whole key as text, e.g. `(7,42)` for a composite key, `7` for a single column.
    fn key_text(&self) -> String {
        if self.key.len() == 1 {
            format!("{}::text", self.key[0])
        } else {
            format!("row({})::text", self.key.join(", "))
        }
    }
}

/// How a row is hashed. `Record` hashes the columns with their types' own 64-bit hash
/// functions (`hash_record_extended`, about twice as fast as going through text); `Text`
/// hashes the row's text form and works for every type (json, point, ... have no hash
/// function). Both sides of a comparison, and a manifest and its checks, use the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowHash {
    Record,
    Text,
}

impl RowHash {
    fn expr(self) -> &'static str {
        match self {
            RowHash::Record => "hash_record_extended(rd_row, 0)",
            RowHash::Text => "hashtextextended(rd_row::text, 0)",
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            RowHash::Record => "record",
            RowHash::Text => "text",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "record" => Some(RowHash::Record),
            "text" => Some(RowHash::Text),
            _ => None,
        }
    }
}

/// The error PostgreSQL gives when a column type has no 64-bit hash function.
fn no_record_hash(e: &str) -> bool {
    e.contains("could not identify an extended hash function")
}

/// How buckets are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    /// Ranges of an integer first key column, within [lo, hi].
    Range { lo: i128, hi: i128 },
    /// Hash buckets of the whole key.
    Hash,
}

/// One bucket: a key range, or a path of hash buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bucket {
    /// `from <= first key < to`.
    Range { from: i128, to: i128 },
    /// For each level, (seed, number of buckets, bucket index).
    Hash(Vec<(u32, i128, i128)>),
}

impl Bucket {
    fn condition(&self, rows: &Rows) -> String {
        match self {
            Bucket::Range { from, to } => format!("{k} >= {from} and {k} < {to}", k = rows.first()),
            Bucket::Hash(path) => {
                if path.is_empty() {
                    return "true".into();
                }
                path.iter()
                    .map(|(seed, n, b)| {
                        format!(
                            "abs(hashtextextended({}, {seed}) % {n}) = {b}",
                            rows.key_text()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" and ")
            }
        }
    }

    /// The buckets this one splits into (`fanout` of them), with the SQL that assigns a row
    /// to one of them.
    fn split(&self, rows: &Rows, fanout: i128) -> Option<(String, Vec<Bucket>)> {
        match self {
            Bucket::Range { from, to } => {
                let span = to - from;
                if span <= 1 {
                    return None;
                }
                let width = (span + fanout - 1) / fanout;
                // Integer arithmetic where it cannot overflow a bigint (nearly always): it is
                // several times cheaper than numeric over millions of rows.
                let expr = if from.abs() < (1 << 62) && to.abs() < (1 << 62) {
                    format!("({}::bigint - {from}) / {width}", rows.first())
                } else {
                    format!(
                        "floor(({}::numeric - {from}) / {width})::bigint",
                        rows.first()
                    )
                };
                let subs = (0..fanout)
                    .map(|i| (from + i * width, (from + (i + 1) * width).min(*to)))
                    .filter(|(a, b)| a < b)
                    .map(|(a, b)| Bucket::Range { from: a, to: b })
                    .collect();
                Some((expr, subs))
            }
            Bucket::Hash(path) => {
                let seed = path.len() as u32 + 1;
                if seed > 8 {
                    return None;
                }
                let expr = format!(
                    "abs(hashtextextended({}, {seed}) % {fanout})",
                    rows.key_text()
                );
                let subs = (0..fanout)
                    .map(|b| {
                        let mut p = path.clone();
                        p.push((seed, fanout, b));
                        Bucket::Hash(p)
                    })
                    .collect();
                Some((expr, subs))
            }
        }
    }
}

/// A key column as the drill names it: without the alias and the quotes.
fn strip_alias(k: &str) -> String {
    let bare = k.strip_prefix("rd_row.").unwrap_or(k);
    bare.strip_prefix('"')
        .and_then(|b| b.strip_suffix('"'))
        .map_or_else(|| bare.to_owned(), |b| b.replace("\"\"", "\""))
}

/// Plans for one pass over the rows: a grouped hash sum over a few dozen buckets. The planner
/// estimates as many groups as key values and would sort every row (spilling to disk) in one
/// process; the few buckets fit in memory, and the scan parallelises like a plain sum. JIT
/// compilation costs more than it saves on these short queries. These are settings of the
/// check's own read-only session only.
async fn tune(client: &Client) -> Result<(), String> {
    client
        .batch_execute(
            "SET jit = off; SET enable_sort = off; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0",
        )
        .await
        .map_err(|e| format!("cannot set up the checksum session: {}", db_error(&e)))
}

async fn simple(client: &Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    super::sql::rows(client, sql).await
}

fn int(v: &Option<String>) -> Result<i128, String> {
    v.as_deref()
        .unwrap_or("0")
        .parse()
        .map_err(|_| format!("expected a number from the database, got {v:?}"))
}

/// How to split a side's rows: integer ranges when the first key column is an integer.
async fn probe(client: &Client, rows: &Rows) -> Result<Option<(i128, i128)>, String> {
    // min/max of an indexed column are index lookups; the type comes with them.
    let sql = format!(
        "select pg_typeof(min({k}))::text, min({k})::text, max({k})::text from {from}",
        k = rows.first(),
        from = rows.from
    );
    let found = simple(client, &sql).await?;
    let row = found.first().cloned().unwrap_or_default();
    let ty = row.first().cloned().flatten().unwrap_or_default();
    if !matches!(ty.as_str(), "smallint" | "integer" | "bigint") {
        return Ok(None);
    }
    match (row.get(1).cloned().flatten(), row.get(2).cloned().flatten()) {
        (Some(lo), Some(hi)) => Ok(Some((int(&Some(lo))?, int(&Some(hi))?))),
        // No rows: any range works.
        _ => Ok(Some((0, 0))),
    }
}

/// Per-bucket summaries of the rows in `within`, split by `expr`.
async fn summarize(
    client: &Client,
    rows: &Rows,
    within: &Bucket,
    expr: &str,
) -> Result<BTreeMap<i128, Summary>, String> {
    let sql = format!(
        "select {expr} as b, count(*), coalesce(sum({hash}), 0)::text from {from} where {cond} group by 1",
        hash = rows.hash,
        from = rows.from,
        cond = within.condition(rows)
    );
    let mut out = BTreeMap::new();
    for r in simple(client, &sql).await? {
        out.insert(
            int(&r[0])?,
            Summary {
                rows: int(&r[1])? as u64,
                hash: r[2].clone().unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

/// Every key of a bucket with its row hash.
async fn leaf(
    client: &Client,
    rows: &Rows,
    bucket: &Bucket,
) -> Result<HashMap<String, String>, String> {
    let sql = format!(
        "select {key}, {hash}::text from {from} where {cond}",
        key = rows.key_text(),
        hash = rows.hash,
        from = rows.from,
        cond = bucket.condition(rows)
    );
    Ok(simple(client, &sql)
        .await?
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap_or_default(),
                r[1].clone().unwrap_or_default(),
            )
        })
        .collect())
}

/// Differences found so far, listed up to a cap and counted past it.
#[derive(Debug, Default)]
struct Diff {
    listed: Vec<Finding>,
    missing: u64,
    extra: u64,
    changed: u64,
    /// Differing buckets left unsearched once the list was full.
    unsearched: u64,
}

impl Diff {
    fn push(&mut self, kind: &str, object: String, expected: String, found: String, message: &str) {
        match kind {
            "missing" => self.missing += 1,
            "extra" => self.extra += 1,
            _ => self.changed += 1,
        }
        if self.listed.len() < MAX_LISTED {
            self.listed.push(Finding {
                kind: kind.to_owned(),
                object,
                expected,
                found,
                message: message.to_owned(),
            });
        }
    }

    fn full(&self) -> bool {
        self.listed.len() >= MAX_LISTED
    }

    fn into_findings(mut self, label: &str) -> Vec<Finding> {
        let total = self.missing + self.extra + self.changed;
        if total > self.listed.len() as u64 || self.unsearched > 0 {
            let more = if self.unsearched > 0 {
                format!(
                    ", and {} more differing key ranges not searched",
                    self.unsearched
                )
            } else {
                String::new()
            };
            self.listed.push(Finding {
                kind: "summary".into(),
                object: label.to_owned(),
                expected: "no differences".into(),
                found: format!(
                    "{total} differing rows found ({} missing, {} extra, {} changed){more}",
                    self.missing, self.extra, self.changed
                ),
                message: format!("only the first {MAX_LISTED} differences are listed"),
            });
        }
        self.listed
    }
}

fn compare_leaf(
    rows: &Rows,
    want: &HashMap<String, String>,
    have: &HashMap<String, String>,
    diff: &mut Diff,
) {
    let object = |k: &str| format!("{} key {k}", rows.label);
    let mut keys: Vec<&String> = want.keys().chain(have.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        match (want.get(k), have.get(k)) {
            (Some(_), None) => diff.push(
                "missing",
                object(k),
                "present".into(),
                "absent".into(),
                "the row is not in the restore",
            ),
            (None, Some(_)) => diff.push(
                "extra",
                object(k),
                "absent".into(),
                "present".into(),
                "the restore has a row the reference does not",
            ),
            (Some(a), Some(b)) if a != b => diff.push(
                "changed",
                object(k),
                format!("row hash {a}"),
                format!("row hash {b}"),
                "the restored row differs from the reference",
            ),
            _ => {}
        }
    }
}

/// Compares the restored rows with another database's, finding every differing key.
async fn against_database(
    rows: &Rows,
    restored: &Client,
    reference: &Client,
) -> Result<Vec<Finding>, String> {
    let (a, b) = tokio::join!(probe(reference, rows), probe(restored, rows));
    let split = match (a?, b?) {
        (Some((lo1, hi1)), Some((lo2, hi2))) => Split::Range {
            lo: lo1.min(lo2),
            hi: hi1.max(hi2),
        },
        _ => Split::Hash,
    };
    let root = match split {
        Split::Range { lo, hi } => Bucket::Range {
            from: lo,
            to: hi + 1,
        },
        Split::Hash => Bucket::Hash(Vec::new()),
    };
    // The first split: buckets of about FIRST_BUCKET_KEYS keys (for hash buckets, the key
    // count is unknown; the widest split is the fewest passes over the table).
    let first_fanout = match split {
        Split::Range { lo, hi } => {
            ((hi - lo + 1) / FIRST_BUCKET_KEYS).clamp(FIRST_FANOUT.0, FIRST_FANOUT.1)
        }
        Split::Hash => FIRST_FANOUT.1,
    };
    let mut diff = Diff::default();
    // Buckets still to look at, with each side's summary (None: not yet summarised).
    let mut todo: Vec<(Bucket, Option<(Summary, Summary)>)> = vec![(root, None)];
    while let Some((bucket, sums)) = todo.pop() {
        if diff.full() {
            // The list is full: say how much more differs, without searching it.
            diff.unsearched += 1;
            continue;
        }
        let small = sums
            .as_ref()
            .is_some_and(|(w, h)| w.rows <= LEAF_ROWS && h.rows <= LEAF_ROWS);
        let fanout = if sums.is_none() { first_fanout } else { FANOUT };
        let split = if small {
            None
        } else {
            bucket.split(rows, fanout)
        };
        let Some((expr, subs)) = split else {
            let (want, have) = tokio::join!(
                leaf(reference, rows, &bucket),
                leaf(restored, rows, &bucket)
            );
            compare_leaf(rows, &want?, &have?, &mut diff);
            continue;
        };
        let (want, have) = tokio::join!(
            summarize(reference, rows, &bucket, &expr),
            summarize(restored, rows, &bucket, &expr)
        );
        let (want, have) = (want?, have?);
        for (i, sub) in subs.into_iter().enumerate().rev() {
            let i = i as i128;
            let (w, h) = (
                want.get(&i).cloned().unwrap_or_default(),
                have.get(&i).cloned().unwrap_or_default(),
            );
            if w != h {
                todo.push((sub, Some((w, h))));
            }
        }
    }
    Ok(diff.into_findings(&rows.label))
}

pub(crate) async fn run(
    source: &RowSource,
    key: &[String],
    reference: &Reference,
    cx: &CheckContext,
) -> Result<Vec<Finding>, String> {
    let rows = Rows::new(source, key);
    let restored = cx.target.client().await?;
    tune(&restored).await?;
    match reference {
        Reference::Manifest(path) => {
            let manifest = Manifest::load(path)?;
            let table = match source {
                RowSource::Table(t) => t.as_str(),
                RowSource::Query(_) => "query",
            };
            let Some(m) = manifest.tables.iter().find(|m| m.table == table) else {
                return Err(format!(
                    "the manifest {} has no table \"{table}\"",
                    path.display()
                ));
            };
            if m.key != key {
                return Err(format!(
                    "the manifest {} keys \"{table}\" by ({}), the check by ({})",
                    path.display(),
                    m.key.join(", "),
                    key.join(", ")
                ));
            }
            let hash = RowHash::parse(&m.row_hash).ok_or_else(|| {
                format!(
                    "the manifest {} hashes rows by \"{}\", which this version does not know",
                    path.display(),
                    m.row_hash
                )
            })?;
            against_manifest(&rows.hashed(hash), &restored, m).await
        }
        other => {
            let reference = reference_target(other, cx)?.client().await?;
            tune(&reference).await?;
            match against_database(&rows, &restored, &reference).await {
                Err(e) if no_record_hash(&e) => {
                    against_database(&rows.hashed(RowHash::Text), &restored, &reference).await
                }
                done => done,
            }
        }
    }
}

/// The buckets of a manifest, and how a row finds its bucket.
fn manifest_buckets(rows: &Rows, m: &TableManifest) -> Result<String, String> {
    match m.split.as_str() {
        "key_ranges" => {
            let bounds: Vec<&str> = m
                .ranges
                .iter()
                .skip(1)
                .filter_map(|r| r.from.as_deref())
                .collect();
            for b in &bounds {
                b.parse::<i128>()
                    .map_err(|_| format!("the manifest's range bound \"{b}\" is not an integer"))?;
            }
            if bounds.is_empty() {
                return Ok("0".into());
            }
            Ok(format!(
                "width_bucket({}::numeric, array[{}]::numeric[])",
                rows.first(),
                bounds.join(",")
            ))
        }
        "key_hash" => Ok(format!(
            "abs(hashtextextended({}, 0) % {})",
            rows.key_text(),
            m.ranges.len().max(1)
        )),
        other => Err(format!(
            "the manifest splits rows by \"{other}\", which this version does not know"
        )),
    }
}

/// Compares the restored rows with a manifest: per recorded range, so a difference is located
/// to the range it is in (a manifest holds no rows).
async fn against_manifest(
    rows: &Rows,
    restored: &Client,
    m: &TableManifest,
) -> Result<Vec<Finding>, String> {
    let expr = manifest_buckets(rows, m)?;
    let have = summarize(restored, rows, &Bucket::Hash(Vec::new()), &expr).await?;
    let mut findings = Vec::new();
    for (i, range) in m.ranges.iter().enumerate() {
        let h = have.get(&(i as i128)).cloned().unwrap_or_default();
        if h.rows == range.rows && h.hash == range.hash {
            continue;
        }
        let object = match (&range.from, &range.to) {
            _ if m.split == "key_hash" => format!("{} keys in hash bucket {i}", rows.label),
            (Some(a), Some(b)) => format!(
                "{} keys {a} <= {} < {b}",
                rows.label,
                strip_alias(rows.first())
            ),
            (None, Some(b)) => format!("{} keys {} < {b}", rows.label, strip_alias(rows.first())),
            (Some(a), None) => format!("{} keys {} >= {a}", rows.label, strip_alias(rows.first())),
            (None, None) => format!("{} all keys", rows.label),
        };
        let kind = match h.rows.cmp(&range.rows) {
            std::cmp::Ordering::Less => "missing",
            std::cmp::Ordering::Greater => "extra",
            std::cmp::Ordering::Equal => "changed",
        };
        findings.push(Finding {
            kind: kind.into(),
            object,
            expected: format!("{} rows, hash {}", range.rows, range.hash),
            found: format!("{} rows, hash {}", h.rows, h.hash),
            message: "the restored rows in this key range differ from the manifest".into(),
        });
    }
    // Rows outside every recorded range (only possible for a manifest with no ranges).
    if m.ranges.is_empty() {
        let total: u64 = have.values().map(|s| s.rows).sum();
        if total > 0 {
            findings.push(Finding {
                kind: "extra".into(),
                object: rows.label.clone(),
                expected: "0 rows".into(),
                found: format!("{total} rows"),
                message: "the manifest recorded an empty table".into(),
            });
        }
    }
    Ok(findings)
}

/// Records a table's count, hash and per-range hashes, for a manifest.
pub(crate) async fn manifest_of(
    target: &CheckTarget,
    table: &str,
    key: &[String],
    ranges: u32,
) -> Result<TableManifest, String> {
    if key.is_empty() {
        return Err(format!("table \"{table}\": name its key column(s)"));
    }
    let client = target.client().await?;
    tune(&client).await?;
    match record_table(&client, table, key, ranges, RowHash::Record).await {
        Err(e) if no_record_hash(&e) => {
            record_table(&client, table, key, ranges, RowHash::Text).await
        }
        done => done,
    }
}

async fn record_table(
    client: &Client,
    table: &str,
    key: &[String],
    ranges: u32,
    row_hash: RowHash,
) -> Result<TableManifest, String> {
    let rows = Rows::new(&RowSource::Table(table.to_owned()), key).hashed(row_hash);
    let n = i128::from(ranges.max(1));
    let (split, expr, mut out): (&str, String, Vec<RangeManifest>) =
        match probe(client, &rows).await? {
            Some((lo, hi)) => {
                let width = ((hi - lo + 1) + n - 1) / n;
                let bounds: Vec<i128> = (1..n)
                    .map(|i| lo + i * width)
                    .filter(|b| *b <= hi)
                    .collect();
                let mut rs = Vec::new();
                let mut from: Option<i128> = None;
                for b in &bounds {
                    rs.push(RangeManifest {
                        from: from.map(|f| f.to_string()),
                        to: Some(b.to_string()),
                        rows: 0,
                        hash: "0".into(),
                    });
                    from = Some(*b);
                }
                rs.push(RangeManifest {
                    from: from.map(|f| f.to_string()),
                    to: None,
                    rows: 0,
                    hash: "0".into(),
                });
                let expr = if bounds.is_empty() {
                    "0".to_owned()
                } else {
                    format!(
                        "width_bucket({}::numeric, array[{}]::numeric[])",
                        rows.first(),
                        bounds
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                };
                ("key_ranges", expr, rs)
            }
            None => {
                let rs = (0..n)
                    .map(|_| RangeManifest {
                        from: None,
                        to: None,
                        rows: 0,
                        hash: "0".into(),
                    })
                    .collect();
                (
                    "key_hash",
                    format!("abs(hashtextextended({}, 0) % {n})", rows.key_text()),
                    rs,
                )
            }
        };
    let sums = summarize(client, &rows, &Bucket::Hash(Vec::new()), &expr).await?;
    for (i, r) in out.iter_mut().enumerate() {
        if let Some(s) = sums.get(&(i as i128)) {
            r.rows = s.rows;
            r.hash = s.hash.clone();
        }
    }
    let total = simple(
        client,
        &format!(
            "select count(*), coalesce(sum({}), 0)::text from {}",
            rows.hash, rows.from
        ),
    )
    .await?;
    let (count, hash) = total
        .first()
        .map(|r| {
            (
                int(&r[0]).unwrap_or(0) as u64,
                r[1].clone().unwrap_or_default(),
            )
        })
        .unwrap_or((0, "0".into()));
    Ok(TableManifest {
        table: table.to_owned(),
        key: key.to_vec(),
        row_hash: row_hash.name().into(),
        rows: count,
        hash,
        split: split.into(),
        ranges: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Rows {
        Rows::new(&RowSource::Table("sales.orders".into()), &["id".into()])
    }

    #[test]
    fn quotes_names() {
        let r = Rows::new(
            &RowSource::Table("sales.Or\"ders".into()),
            &["tenant".into(), "id".into()],
        );
        assert_eq!(r.from, "\"sales\".\"Or\"\"ders\" rd_row");
        assert_eq!(r.key_text(), "row(rd_row.\"tenant\", rd_row.\"id\")::text");
    }

    #[test]
    fn ranges_split_into_covering_buckets() {
        let b = Bucket::Range { from: 1, to: 1001 };
        let (expr, subs) = b.split(&rows(), FANOUT).unwrap();
        assert_eq!(expr, "(rd_row.\"id\"::bigint - 1) / 16");
        assert_eq!(subs.first(), Some(&Bucket::Range { from: 1, to: 17 }));
        assert_eq!(
            subs.last(),
            Some(&Bucket::Range {
                from: 993,
                to: 1001
            })
        );
        let covered: i128 = subs
            .iter()
            .map(|s| match s {
                Bucket::Range { from, to } => to - from,
                Bucket::Hash(_) => 0,
            })
            .sum();
        assert_eq!(covered, 1000);
        assert!(
            Bucket::Range { from: 5, to: 6 }
                .split(&rows(), FANOUT)
                .is_none()
        );
    }

    #[test]
    fn leaf_comparison_names_each_kind() {
        let want: HashMap<String, String> = [("1", "a"), ("2", "b"), ("3", "c")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let have: HashMap<String, String> = [("1", "a"), ("3", "x"), ("4", "d")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut d = Diff::default();
        compare_leaf(&rows(), &want, &have, &mut d);
        let got: Vec<(String, String)> = d
            .listed
            .iter()
            .map(|f| (f.kind.clone(), f.object.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("missing".to_owned(), "sales.orders key 2".to_owned()),
                ("changed".to_owned(), "sales.orders key 3".to_owned()),
                ("extra".to_owned(), "sales.orders key 4".to_owned()),
            ]
        );
    }
}
