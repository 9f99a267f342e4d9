//! Where runs are recorded: a local reports folder (`--reports DIR`, `reports/` by default)
//! or a store in S3 shared by every runner of a fleet (`--store s3://bucket/prefix`, or
//! `RESTORE_DRILL_STORE`).
//!
//! A store in S3 holds what a reports folder holds, under its prefix:
//!
//! ```text
//! <drill>/<run_id>/report.json, report.md, report.html, phases.csv, report.sig
//! history/rows/000000000001.csv     one history row per object: the line history.csv would hold
//! history/rows/000000000002.csv
//! history/head                      "<seq> <row_hash>": where the chain ended when last seen
//! ```
//!
//! Appending a run, from any number of machines at once, without a lock service:
//! 1. the run's files are written first, each with `If-None-Match: *` (a run id is never
//!    reused, so nothing is ever overwritten), so a row never names a report that is missing;
//! 2. the writer reads `history/head` (a hint only), then reads rows forward from it until the
//!    first sequence number with no object: that is the next one, and the row before it is the
//!    one to chain after;
//! 3. it writes its row under that number with `If-None-Match: *`. If another writer took the
//!    number first, S3 refuses (412, or 409 while the other write is in flight) and the writer
//!    goes back to step 2 from there. A row object is written whole or not at all, so a writer
//!    killed at any moment leaves its row absent or complete, never torn; rows are never
//!    rewritten, so the chain cannot fork;
//! 4. it moves `history/head` forward with `If-Match` on the head it read (never backward: a
//!    writer that loses that race re-reads the head and stops once it is at or past its row).
//!    A head left behind by a killed writer costs the next writer a few reads, nothing more.
//!
//! With `--store-retain-days`, every object is written under Object Lock retention from the
//! moment it exists (rows, reports and each version of the head).
//!
//! Commands that read the history (`report`, `due`, `evidence export`, `run --metrics-file`)
//! read the rows of the store; `materialize` lays a store out as a reports folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};

use crate::provider::aws::AwsSettings;
use crate::provider::aws::store::{Condition, S3Store, Written};
use crate::report::{History, HistoryRow, RunReport};

pub use crate::provider::aws::evidence_upload::LockMode;
pub use crate::provider::aws::store::Retention;

/// The environment variable naming the store when `--store` is not given.
pub const STORE_ENV: &str = "RESTORE_DRILL_STORE";
/// Where the history rows live under a store's prefix.
const ROWS: &str = "history/rows/";
/// The chain-head hint.
const HEAD: &str = "history/head";
/// Rows read at once when a whole history is read.
const READ_CONCURRENCY: usize = 16;
/// How long one append keeps trying against other writers before it gives up.
const APPEND_PATIENCE: Duration = Duration::from_secs(600);

/// `s3://bucket/prefix` as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    pub bucket: String,
    /// Without leading or trailing slashes; may be empty.
    pub prefix: String,
}

impl StoreUrl {
    /// Parses `s3://bucket[/prefix]`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<StoreUrl, String> {
        let rest = text.strip_prefix("s3://").ok_or_else(|| {
            format!(
                "store \"{text}\" is not an s3://bucket/prefix address (a local folder is \
                 given with --reports DIR)"
            )
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !valid {
            return Err(format!(
                "store \"{text}\": \"{bucket}\" is not an S3 bucket name (3 to 63 lowercase \
                 letters, digits, dots and hyphens)"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
            return Err(format!(
                "store \"{text}\": the prefix may not hold empty, \".\" or \"..\" segments"
            ));
        }
        Ok(StoreUrl {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Where runs are recorded.
#[derive(Debug, Clone)]
pub enum Store {
    /// A reports folder on this machine.
    Local(PathBuf),
    /// A store in S3.
    S3(S3Store),
}

impl Store {
    /// Opens a store in S3 with the runner's AWS credentials (`AWS_REGION`, `AWS_PROFILE`,
    /// `AWS_ENDPOINT_URL` as for any AWS call), checking it can be read, and with retention,
    /// that the bucket holds Object Lock.
    pub async fn open_s3(url: &StoreUrl, retention: Option<Retention>) -> Result<Store, String> {
        let Some(settings) = AwsSettings::of(&crate::drill::ProviderSpec::Aws {
            region: None,
            profile: None,
            endpoint_url: None,
            role: None,
        }) else {
            return Err("internal error: no AWS settings".to_owned());
        };
        S3Store::open(&settings, &url.bucket, &url.prefix, retention)
            .await
            .map(Store::S3)
            .map_err(|e| format!("store {url}: {}", e.message))
    }

    /// The store, for messages: the folder, or `s3://bucket/prefix`.
    pub fn describe(&self) -> String {
        match self {
            Store::Local(p) => p.display().to_string(),
            Store::S3(s) => s.url("").trim_end_matches('/').to_owned(),
        }
    }

    /// The whole history, its chain checked. A store with no rows is an empty history.
    pub async fn history(&self) -> Result<History, String> {
        match self {
            Store::Local(p) => crate::report::read_history(&p.join("history.csv"))
                .map_err(|e| format!("cannot read {}: {e}", p.join("history.csv").display())),
            Store::S3(s) => s3_history(s).await,
        }
    }

    /// Appends a run's row after the last row of the history; returns the row written.
    pub async fn append(
        &self,
        report: &RunReport,
        report_sha256: &str,
    ) -> Result<HistoryRow, String> {
        match self {
            Store::Local(p) => {
                crate::report::append_history(&p.join("history.csv"), report, report_sha256)
                    .map_err(|e| e.to_string())
            }
            Store::S3(s) => s3_append(s, report, report_sha256).await,
        }
    }

    /// Writes every file under `dir` to the store under `rel` (`<drill>/<run_id>`), each only
    /// if no object has its key yet. Nothing to do for a local store (the files are there).
    pub async fn publish(&self, dir: &Path, rel: &str) -> Result<(), String> {
        let Store::S3(s) = self else { return Ok(()) };
        let mut files = Vec::new();
        walk(dir, "", &mut files).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for (name, path) in files {
            let body =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let key = format!("{}/{name}", rel.trim_end_matches('/'));
            match s
                .put(&key, body, Condition::New)
                .await
                .map_err(|e| e.message)?
            {
                Written::Yes { .. } => {}
                Written::Lost => {
                    return Err(format!(
                        "{} exists already: a run id is never reused, so another run wrote \
                         there; this run's report is kept under {}",
                        s.url(&key),
                        dir.display()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Lays the store out as a reports folder under `into` (history.csv and every run's
    /// files), for the commands that read a reports folder. The history is written as its rows
    /// are, so its chain checks as the store's does.
    pub async fn materialize(&self, into: &Path) -> Result<(), String> {
        let Store::S3(s) = self else {
            return Err("internal error: a local store is its own folder".to_owned());
        };
        let rows = s3_rows(s).await?;
        let mut text = format!("{}\n", HistoryRow::HEADER);
        for (_, line) in &rows {
            text.push_str(line);
        }
        std::fs::create_dir_all(into)
            .map_err(|e| format!("cannot create {}: {e}", into.display()))?;
        std::fs::write(into.join("history.csv"), text)
            .map_err(|e| format!("cannot write {}: {e}", into.join("history.csv").display()))?;
        let keys: Vec<String> = s
            .list("")
            .await
            .map_err(|e| e.message)?
            .into_iter()
            .filter(|k| !k.starts_with("history/"))
            .collect();
        futures_util::stream::iter(keys)
            .map(|key| async move {
                let path = safe_join(into, &key)
                    .ok_or_else(|| format!("{}: not a path a report can have", s.url(&key)))?;
                let got = s.get(&key).await.map_err(|e| e.message)?;
                let Some(got) = got else { return Ok(()) };
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                std::fs::write(&path, got.body)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))
            })
            .buffer_unordered(READ_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}

/// `dir/key` when every segment of `key` is a plain name (a hostile key cannot climb out).
fn safe_join(dir: &Path, key: &str) -> Option<PathBuf> {
    let mut path = dir.to_path_buf();
    for seg in key.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." || seg.contains('\\') {
            return None;
        }
        path.push(seg);
    }
    Some(path)
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if e.file_type()?.is_dir() {
            walk(&e.path(), &rel, out)?;
        } else {
            out.push((rel, e.path()));
        }
    }
    Ok(())
}

fn row_key(seq: u64) -> String {
    format!("{ROWS}{seq:012}.csv")
}

fn seq_of(key: &str) -> Option<u64> {
    let digits = key.strip_prefix(ROWS)?.strip_suffix(".csv")?;
    (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Every row object, in sequence order, as (seq, line).
async fn s3_rows(s: &S3Store) -> Result<Vec<(u64, String)>, String> {
    let keys = s.list(ROWS).await.map_err(|e| e.message)?;
    let mut seqs = Vec::new();
    for k in keys {
        match seq_of(&k) {
            Some(seq) => seqs.push(seq),
            None => {
                return Err(format!(
                    "{} is not a history row's name (history/rows/NNNNNNNNNNNN.csv): the store \
                     was written by something else",
                    s.url(&k)
                ));
            }
        }
    }
    seqs.sort_unstable();
    let rows: Vec<(u64, String)> = futures_util::stream::iter(seqs)
        .map(|seq| async move {
            let got = s.get(&row_key(seq)).await.map_err(|e| e.message)?;
            let body = got.map(|g| g.body).unwrap_or_default();
            Ok::<_, String>((seq, String::from_utf8_lossy(&body).into_owned()))
        })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(rows)
}

/// The history of a store: its rows in sequence order, the chain checked; a missing
/// sequence number is a problem of its own.
async fn s3_history(s: &S3Store) -> Result<History, String> {
    let rows = s3_rows(s).await?;
    let mut text = format!("{}\n", HistoryRow::HEADER);
    let mut gaps = Vec::new();
    let mut expected = 1;
    for (seq, line) in &rows {
        if *seq != expected {
            gaps.push(format!(
                "{}: rows {expected} to {} are missing from the store",
                s.url(ROWS),
                seq - 1
            ));
        }
        expected = seq + 1;
        text.push_str(line);
        if !line.ends_with('\n') {
            text.push('\n');
        }
    }
    let mut history = crate::report::parse_history_bytes(text.as_bytes());
    history.problems.extend(gaps);
    Ok(history)
}

/// The head hint: (seq, row_hash, etag); (0, chain start, none) when there is none yet or it
/// cannot be read as one.
async fn read_head(s: &S3Store) -> Result<(u64, String, Option<String>), String> {
    let got = s.get(HEAD).await.map_err(|e| e.message)?;
    let Some(got) = got else {
        return Ok((0, HistoryRow::CHAIN_START.to_owned(), None));
    };
    let text = String::from_utf8_lossy(&got.body);
    let mut parts = text.split_whitespace();
    match (
        parts.next().and_then(|n| n.parse::<u64>().ok()),
        parts.next(),
    ) {
        (Some(seq), Some(hash)) if hash.len() == 64 => Ok((seq, hash.to_owned(), Some(got.etag))),
        _ => Ok((0, HistoryRow::CHAIN_START.to_owned(), Some(got.etag))),
    }
}

async fn s3_append(s: &S3Store, report: &RunReport, sha: &str) -> Result<HistoryRow, String> {
    let started = std::time::Instant::now();
    let (head_seq, head_hash, mut head_etag) = read_head(s).await?;
    let (mut last, mut prev) = (head_seq, head_hash);
    // The head names a row; trust its hash only once that row is read (a head from another
    // store, or one written by hand, must not fork the chain).
    if last > 0 {
        match s.get(&row_key(last)).await.map_err(|e| e.message)? {
            Some(got) => {
                let line = String::from_utf8_lossy(&got.body).into_owned();
                prev = crate::report::row_from_line(&line)
                    .map_err(|e| format!("{}: {e}", s.url(&row_key(last))))?
                    .row_hash;
            }
            None => {
                // The head points past the rows: read from the start instead.
                last = 0;
                prev = HistoryRow::CHAIN_START.to_owned();
            }
        }
    }
    let mut lost = 0u32;
    let row = loop {
        // Forward to the first free sequence number.
        while let Some(got) = s.get(&row_key(last + 1)).await.map_err(|e| e.message)? {
            let line = String::from_utf8_lossy(&got.body).into_owned();
            prev = crate::report::row_from_line(&line)
                .map_err(|e| {
                    format!(
                        "{}: {e}; the history needs a human before more runs are added",
                        s.url(&row_key(last + 1))
                    )
                })?
                .row_hash;
            last += 1;
        }
        let row = HistoryRow::from_report(report, sha, &prev);
        match s
            .put(
                &row_key(last + 1),
                row.to_line().into_bytes(),
                Condition::New,
            )
            .await
            .map_err(|e| e.message)?
        {
            Written::Yes { .. } => break row,
            Written::Lost => {
                lost += 1;
                if started.elapsed() > APPEND_PATIENCE {
                    return Err(format!(
                        "could not append to {} in {} s: another writer took every row \
                         number tried ({lost} times)",
                        s.url(ROWS),
                        APPEND_PATIENCE.as_secs()
                    ));
                }
                // Let the writer that won finish before looking again; spread the losers.
                tokio::time::sleep(jitter(lost)).await;
            }
        }
    };
    let seq = last + 1;
    // Move the head forward; never backward. Losing this is harmless (a hint), but try a few
    // times so the next writer does not read far.
    let body = format!("{seq} {}\n", row.row_hash).into_bytes();
    for _ in 0..5 {
        let cond = match &head_etag {
            Some(etag) => Condition::Unchanged(etag.clone()),
            None => Condition::New,
        };
        match s.put(HEAD, body.clone(), cond).await {
            Ok(Written::Yes { .. }) | Err(_) => break,
            Ok(Written::Lost) => {
                let (now, _, etag) = read_head(s).await?;
                if now >= seq {
                    break;
                }
                head_etag = etag;
            }
        }
    }
    Ok(row)
}

/// A pause after losing a race: 5 to 50 ms, more after repeated losses (up to 1 s).
fn jitter(lost: u32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let base = 5 + u64::from(nanos % 45);
    Duration::from_millis((base * u64::from(lost.min(20))).min(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse_and_refuse_what_is_not_one() {
        assert_eq!(
            StoreUrl::parse("s3://drill-records/prod/").unwrap(),
            StoreUrl {
                bucket: "drill-records".into(),
                prefix: "prod".into()
            }
        );
        assert_eq!(StoreUrl::parse("s3://drill-records").unwrap().prefix, "");
        for bad in [
            "reports",
            "/var/lib/reports",
            "s3://",
            "s3://Upper/x",
            "s3://ab/x",
            "s3://b_ucket/x",
            "s3://bucket/a/../b",
            "s3://bucket/a//b",
        ] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn row_keys_sort_as_their_numbers_and_round_trip() {
        assert_eq!(row_key(7), "history/rows/000000000007.csv");
        assert_eq!(seq_of(&row_key(123_456)), Some(123_456));
        assert!(row_key(9) < row_key(10));
        assert_eq!(seq_of("history/rows/7.csv"), None);
        assert_eq!(seq_of("history/rows/00000000000x.csv"), None);
    }

    #[test]
    fn hostile_keys_cannot_climb_out_of_the_folder() {
        let d = Path::new("/tmp/x");
        assert_eq!(
            safe_join(d, "a/b.json"),
            Some(PathBuf::from("/tmp/x/a/b.json"))
        );
        for bad in [
            "../etc/passwd",
            "a/../../b",
            "/abs",
            "a//b",
            "a\\..\\b",
            ".",
        ] {
            assert_eq!(safe_join(d, bad), None, "{bad}");
        }
    }

    #[test]
    fn the_pause_after_a_lost_race_grows_and_is_bounded() {
        assert!(jitter(1) >= Duration::from_millis(5));
        assert!(jitter(1) <= Duration::from_millis(50));
        assert!(jitter(1000) <= Duration::from_secs(1));
    }
}
