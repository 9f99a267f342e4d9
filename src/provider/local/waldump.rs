//! The newest transaction in a WAL archive, read from the WAL itself with `pg_waldump` (which
//! ships with the server binaries): the latest point a restore can reach, independent of file
//! times, which copies and syncs of an archive change.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::wal::{Segment, TimelinePath};

/// The newest transaction ends on an archive's path, and the segment they are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewestTransaction {
    /// The newest commit: the newest data a restore can bring back.
    pub commit: Option<DateTime<Utc>>,
    /// The newest commit or abort: a recovery target time before it is reachable, since
    /// recovery stops at the first transaction end after the target.
    pub end: DateTime<Utc>,
    pub segment: Segment,
}

/// Reads the path's segments from the newest back until one holds a transaction end.
/// `None` when no segment on the path holds one (every segment was read). Commit times are
/// taken before the record is written, so they are ordered in the WAL up to concurrent
/// commits microseconds apart; the newest segment with any holds the newest.
pub fn newest_transaction(
    pg_waldump: &Path,
    path: &TimelinePath,
) -> Result<Option<NewestTransaction>, String> {
    let scratch = tempfile::Builder::new()
        .prefix("restore-drill-waldump-")
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir for pg_waldump: {e}"))?;
    for (seg, file) in path.segments.iter().rev() {
        let name = seg.name();
        let plain = if file.compression == super::compress::Compression::None {
            file.path.clone()
        } else {
            let mut data = Vec::with_capacity(path.segment_size as usize);
            file.compression
                .open(&file.path)
                .and_then(|mut r| r.read_to_end(&mut data))
                .map_err(|e| {
                    format!(
                        "cannot decompress {} ({}): {e}",
                        file.path.display(),
                        file.compression.name()
                    )
                })?;
            super::wal::check_segment_bytes(&name, &data)
                .map_err(|e| format!("{}: {e}", file.path.display()))?;
            let p = scratch.path().join(&name);
            std::fs::write(&p, &data).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            p
        };
        let found = transactions_in(pg_waldump, &plain, &name, &file.path)?;
        if let Some(newest) = newest_of(&found, *seg) {
            return Ok(Some(newest));
        }
    }
    Ok(None)
}

/// Reads the WAL segments in `dir` (plain, named as PostgreSQL names them, on one
/// timeline) from the newest back until one holds a transaction end; `None` when none does.
pub fn newest_transaction_in_dir(
    pg_waldump: &Path,
    dir: &Path,
) -> Result<Option<NewestTransaction>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut segments: Vec<(Segment, std::path::PathBuf)> = entries
        .flatten()
        .filter_map(|e| Some((Segment::parse(&e.file_name().to_string_lossy())?, e.path())))
        .collect();
    segments.sort_by_key(|(s, _)| (s.timeline, s.log, s.seg));
    for (seg, path) in segments.iter().rev() {
        let found = transactions_in(pg_waldump, path, &seg.name(), path)?;
        if let Some(newest) = newest_of(&found, *seg) {
            return Ok(Some(newest));
        }
    }
    Ok(None)
}

/// The newest commit and transaction end among `found`, read from `segment`.
fn newest_of(found: &[(DateTime<Utc>, bool)], segment: Segment) -> Option<NewestTransaction> {
    let end = found.iter().map(|(t, _)| *t).max()?;
    let commit = found.iter().filter(|(_, c)| *c).map(|(t, _)| *t).max();
    Some(NewestTransaction {
        commit,
        end,
        segment,
    })
}

/// Every transaction end pg_waldump finds in one plain segment file (`shown` is the file
/// as the user knows it, for messages).
fn transactions_in(
    pg_waldump: &Path,
    plain: &Path,
    name: &str,
    shown: &Path,
) -> Result<Vec<(DateTime<Utc>, bool)>, String> {
    let out = std::process::Command::new(pg_waldump)
        .arg("--rmgr=Transaction")
        .arg(plain)
        .arg(plain)
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", pg_waldump.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let found = parse_transactions(&stdout);
    if found.is_empty() && !ends_normally(&stderr) && !out.status.success() {
        return Err(format!(
            "pg_waldump cannot read segment {name} ({}): {}",
            shown.display(),
            stderr.trim()
        ));
    }
    Ok(found)
}

/// What pg_waldump says when it reaches the end of the WAL it was given, not damage.
fn ends_normally(stderr: &str) -> bool {
    stderr.is_empty()
        || stderr.contains("invalid record length")
        || stderr.contains("could not find file")
        || stderr.contains("record with incorrect prev-link")
        || stderr.contains("invalid magic number 0000")
        || stderr.contains("contrecord is requested")
        || stderr.contains("missing contrecord")
}

/// `(time, is_commit)` of every commit and abort record in pg_waldump's output (run with
/// TZ=UTC: "desc: COMMIT 2026-11-30 14:10:00.123456 UTC").
pub fn parse_transactions(out: &str) -> Vec<(DateTime<Utc>, bool)> {
    parse_transaction_ends(out)
        .into_iter()
        .map(|e| (e.at, e.commit))
        .collect()
}

/// One commit or abort record, as pg_waldump shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionEnd {
    /// The transaction's id (for the prepared kinds, the one named in the description).
    pub xid: u32,
    pub at: DateTime<Utc>,
    pub commit: bool,
}

/// Every commit and abort record in pg_waldump's output, in WAL order, with its xid.
pub fn parse_transaction_ends(out: &str) -> Vec<TransactionEnd> {
    let mut found = Vec::new();
    for line in out.lines() {
        let Some((head, desc)) = line.split_once("desc: ") else {
            continue;
        };
        let tx = head
            .split("tx:")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|x| x.trim().parse::<u32>().ok());
        let (commit, rest) = if let Some(r) = desc
            .strip_prefix("COMMIT_PREPARED ")
            .or_else(|| desc.strip_prefix("COMMIT "))
        {
            (true, r)
        } else if let Some(r) = desc
            .strip_prefix("ABORT_PREPARED ")
            .or_else(|| desc.strip_prefix("ABORT "))
        {
            (false, r)
        } else {
            continue;
        };
        // COMMIT_PREPARED / ABORT_PREPARED put the xid first: "5: 2026-…".
        let (xid, rest) = match rest.split_once(": ") {
            Some((x, r)) if !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()) => {
                (x.parse::<u32>().ok(), r)
            }
            _ => (tx, rest),
        };
        let Some(xid) = xid else {
            continue;
        };
        let Some(stamp) = rest.get(..26) else {
            continue;
        };
        if !rest[26..].starts_with(" UTC") {
            continue;
        }
        if let Ok(t) = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.6f") {
            found.push(TransactionEnd {
                xid,
                at: t.and_utc(),
                commit,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_and_abort_records_are_read() {
        let out = "\
rmgr: Transaction len (rec/tot):     34/    34, tx:        737, lsn: 0/01A3E0B8, prev 0/01A3E080, desc: COMMIT 2026-11-30 14:58:01.123456 UTC
rmgr: Transaction len (rec/tot):     34/    34, tx:        738, lsn: 0/01A3E0E0, prev 0/01A3E0B8, desc: ABORT 2026-11-30 14:58:02.000001 UTC
rmgr: Transaction len (rec/tot):     66/    66, tx:        739, lsn: 0/01A3E108, prev 0/01A3E0E0, desc: COMMIT 2026-11-30 14:58:01.500000 UTC; subxacts: 740
rmgr: Transaction len (rec/tot):     50/    50, tx:          0, lsn: 0/01A3E150, prev 0/01A3E108, desc: COMMIT_PREPARED 741: 2026-11-30 14:58:03.000000 UTC
rmgr: Standby     len (rec/tot):     50/    50, tx:          0, lsn: 0/01A3E188, prev 0/01A3E150, desc: RUNNING_XACTS nextXid 742
rmgr: Transaction len (rec/tot):     34/    34, tx:        742, lsn: 0/01A3E1C0, prev 0/01A3E188, desc: COMMIT 2026-11-30 15:58:03.000000 CET
";
        let t = |s: &str| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.6f")
                .unwrap()
                .and_utc()
        };
        assert_eq!(
            parse_transactions(out),
            [
                (t("2026-11-30 14:58:01.123456"), true),
                (t("2026-11-30 14:58:02.000001"), false),
                (t("2026-11-30 14:58:01.500000"), true),
                (t("2026-11-30 14:58:03.000000"), true),
            ]
        );
        let xids: Vec<u32> = parse_transaction_ends(out).iter().map(|e| e.xid).collect();
        assert_eq!(xids, [737, 738, 739, 741]);
    }
}
