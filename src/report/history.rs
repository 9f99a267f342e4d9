//! The history of runs: `reports/history.csv`, append-only and hash-chained.
//!
//! One CSV line per run, after a header line (`HistoryRow::HEADER`):
//!
//! ```text
//! drill,run_id,started_at,tier,verdict,rto_seconds,rpo_seconds,resolve_seconds,copy_seconds,
//! restore_seconds,prepare_seconds,verify_seconds,teardown_seconds,report_sha256,prev_hash,row_hash
//! ```
//!
//! Times are RFC 3339 UTC to the millisecond; seconds have three decimals and are empty when
//! not measured (a phase that never ran). A phase column holds the critical path: the phase
//! of the restore that took longest to become usable (teardowns run side by side: the
//! longest). Rows written before report format 2 summed the phases of all restores; they read
//! and verify as before, and are the same numbers for a drill of one restore. Lines are written and read with the
//! `csv` crate: text fields are quoted as RFC 4180 says when they hold a comma or a quote; a
//! record never spans lines (line breaks in a field are written as spaces), so a line is a row
//! and problems can name lines. Each line is read on its own, so one bad line cannot swallow
//! the lines after it.
//!
//! The chain: `row_hash = hex(sha256(prev_hash + "\n" + R))`, where `R` is the row's line as
//! written, up to (not including) the comma before `prev_hash`; the first row's `prev_hash` is
//! 64 zeros, every other row's is the `row_hash` of the row above. An edited row no longer
//! matches its own hash; a deleted, inserted or reordered row breaks the link to the row
//! above it. (Rewriting the whole chain from the edit on is not detected here: that is what
//! the signed evidence bundle is for.)
//!
//! Appending takes an exclusive `flock(2)` on the file for the read-last-hash + write + fsync,
//! so concurrent runs (processes or threads, each with its own open file) never tear or lose
//! a row; only the tail of the file is read.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use super::{Outcome, RunReport, Verdict};

/// The phases a history row records, in column order.
const PHASES: [&str; 6] = [
    "resolve", "copy", "restore", "prepare", "verify", "teardown",
];
/// Their columns' names in the header.
const PHASE_COLUMNS: [&str; 6] = [
    "resolve_seconds",
    "copy_seconds",
    "restore_seconds",
    "prepare_seconds",
    "verify_seconds",
    "teardown_seconds",
];
/// Fields per line: 5 texts, RTO, RPO, 6 phases, report hash, prev hash, row hash.
const FIELDS: usize = 16;
const PREV_FIELD: usize = 14;
const HASH_FIELD: usize = 15;
/// The tail read first when looking for the last row (a row is ~300 bytes); doubled until the
/// last line fits, up to `MAX_TAIL`.
const FIRST_TAIL: u64 = 4096;
const MAX_TAIL: u64 = 16 << 20;

/// One run in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub drill: String,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub tier: String,
    pub verdict: String,
    pub rto_seconds: Option<f64>,
    pub rpo_seconds: Option<f64>,
    /// (phase name, seconds) on the run's critical path (see the module comment).
    pub phases: Vec<(String, f64)>,
    pub report_sha256: String,
    pub prev_hash: String,
    pub row_hash: String,
}

/// A history file as read: its rows, and every problem found (a broken chain, a torn line).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub rows: Vec<HistoryRow>,
    pub problems: Vec<String>,
}

impl HistoryRow {
    /// The header line of a history file (without its newline).
    pub const HEADER: &'static str = "drill,run_id,started_at,tier,verdict,rto_seconds,\
        rpo_seconds,resolve_seconds,copy_seconds,restore_seconds,prepare_seconds,\
        verify_seconds,teardown_seconds,report_sha256,prev_hash,row_hash";

    /// The `prev_hash` of the first row: 64 zeros.
    pub const CHAIN_START: &'static str =
        "0000000000000000000000000000000000000000000000000000000000000000";

    /// The phases a row records, in column order.
    pub const PHASES: [&'static str; 6] = PHASES;

    /// The row for one run, chained after `prev_hash`. Phase seconds are the critical path's
    /// (see the module comment); a phase it skipped or kept is absent.
    pub fn from_report(report: &RunReport, report_sha256: &str, prev_hash: &str) -> HistoryRow {
        let phases = critical_path(report);
        HistoryRow {
            drill: report.drill.name.clone(),
            run_id: report.run_id.clone(),
            started_at: report.started_at,
            tier: report.tier.name.clone(),
            verdict: report.verdict.as_str().to_owned(),
            rto_seconds: report.measured.rto_seconds,
            rpo_seconds: report.measured.rpo_seconds,
            phases,
            report_sha256: report_sha256.to_owned(),
            prev_hash: String::new(),
            row_hash: String::new(),
        }
        .chained(prev_hash)
    }

    /// This row as it is written and read back, chained after `prev_hash`: the time cut to
    /// milliseconds, seconds rounded to milliseconds (not finite: absent), phases in column
    /// order (unknown names dropped), line breaks in text fields made spaces; `prev_hash` set
    /// and `row_hash` computed.
    pub fn chained(self, prev_hash: &str) -> HistoryRow {
        let text = |s: String| {
            if s.contains(['\n', '\r']) {
                s.replace(['\n', '\r'], " ")
            } else {
                s
            }
        };
        let secs = |v: Option<f64>| v.filter(|v| v.is_finite()).map(round_ms);
        let phases = PHASES
            .iter()
            .filter_map(|name| {
                let v = self.phases.iter().find(|(n, _)| n == name)?.1;
                secs(Some(v)).map(|v| ((*name).to_owned(), v))
            })
            .collect();
        let mut row = HistoryRow {
            drill: text(self.drill),
            run_id: text(self.run_id),
            started_at: self.started_at.trunc_subsecs(3),
            tier: text(self.tier),
            verdict: text(self.verdict),
            rto_seconds: secs(self.rto_seconds),
            rpo_seconds: secs(self.rpo_seconds),
            phases,
            report_sha256: text(self.report_sha256),
            prev_hash: text(prev_hash.to_owned()),
            row_hash: String::new(),
        };
        row.row_hash = row_hash(&row.prev_hash, &row.record());
        row
    }

    /// Seconds of one phase, if the run had it.
    pub fn phase(&self, name: &str) -> Option<f64> {
        self.phases.iter().find(|(n, _)| n == name).map(|p| p.1)
    }

    /// The line as written to the file, newline included. It carries `prev_hash` and
    /// `row_hash` as they are: only a row from `chained` or `from_report` is a valid link.
    pub fn to_line(&self) -> String {
        let mut line = self.record();
        line.reserve(132);
        for hash in [&self.prev_hash, &self.row_hash] {
            line.push(',');
            line.push_str(&csv_line([hash.as_str()]));
        }
        line.push('\n');
        line
    }

    /// The fields the row hash covers, as written: all but `prev_hash` and `row_hash`.
    fn record(&self) -> String {
        let secs = |v: Option<f64>| {
            v.filter(|v| v.is_finite())
                .map(|v| format!("{v:.3}"))
                .unwrap_or_default()
        };
        let started = self.started_at.to_rfc3339_opts(SecondsFormat::Millis, true);
        let (rto, rpo) = (secs(self.rto_seconds), secs(self.rpo_seconds));
        let phases = PHASES.map(|name| secs(self.phase(name)));
        let mut fields: Vec<&str> = vec![
            &self.drill,
            &self.run_id,
            &started,
            &self.tier,
            &self.verdict,
            &rto,
            &rpo,
        ];
        fields.extend(phases.iter().map(String::as_str));
        fields.push(&self.report_sha256);
        csv_line(fields)
    }
}

/// The phases that made a run as long as it was: those of the restore that spent longest
/// before teardown (restores run side by side, so that one decided when the run was usable),
/// and the longest teardown. Phases skipped or kept are left out.
fn critical_path(report: &RunReport) -> Vec<(String, f64)> {
    let counts = |p: &&super::PhaseReport| !matches!(p.outcome, Outcome::Skipped | Outcome::Kept);
    let until_usable = |r: &super::RestoreReport| -> f64 {
        r.phases
            .iter()
            .filter(counts)
            .filter(|p| p.name != "teardown")
            .map(|p| p.seconds)
            .sum()
    };
    let slowest = report
        .restores
        .iter()
        .max_by(|a, b| until_usable(a).total_cmp(&until_usable(b)));
    let mut phases = Vec::new();
    for name in PHASES {
        let seconds = if name == "teardown" {
            report
                .restores
                .iter()
                .flat_map(|r| &r.phases)
                .filter(counts)
                .filter(|p| p.name == name)
                .map(|p| p.seconds)
                .max_by(f64::total_cmp)
        } else {
            slowest.and_then(|r| {
                r.phases
                    .iter()
                    .filter(counts)
                    .filter(|p| p.name == name)
                    .map(|p| p.seconds)
                    .reduce(|a, b| a + b)
            })
        };
        if let Some(s) = seconds {
            phases.push((name.to_owned(), s));
        }
    }
    phases
}

/// How long each phase of a drill usually takes: the median of its critical-path seconds over
/// the drill's last `last` runs that were restored and verified (verdict `met` or `missed`).
/// What waits aim their polls at.
pub fn expected_phases(
    history: &History,
    drill: &str,
    last: usize,
) -> std::collections::BTreeMap<String, std::time::Duration> {
    let runs: Vec<&HistoryRow> = history
        .rows
        .iter()
        .rev()
        .filter(|r| r.drill == drill && matches!(r.verdict.as_str(), "met" | "missed"))
        .take(last)
        .collect();
    let mut out = std::collections::BTreeMap::new();
    for name in PHASES {
        let mut v: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.phase(name))
            .filter(|s| s.is_finite() && *s >= 0.0)
            .collect();
        if v.is_empty() {
            continue;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len().is_multiple_of(2) {
            (v[mid - 1] + v[mid]) / 2.0
        } else {
            v[mid]
        };
        if let Ok(d) = std::time::Duration::try_from_secs_f64(median) {
            out.insert(name.to_owned(), d);
        }
    }
    out
}

/// Appends one run under a file lock, fsynced; returns the row written.
///
/// Refuses (with an error naming the file and line) when the file's last line is torn (no
/// newline: an interrupted write) or its last row carries no usable hash: the history then
/// needs a human, and the run's own report is written elsewhere anyway.
pub fn append_history(
    path: &Path,
    report: &RunReport,
    report_sha256: &str,
) -> io::Result<HistoryRow> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let lock = Flock::exclusive(&file)?;
    let len = file.metadata()?.len();
    let (prev, new_file) = if len == 0 {
        (HistoryRow::CHAIN_START.to_owned(), true)
    } else {
        (last_row_hash(path, &file, len)?, false)
    };
    let row = HistoryRow::from_report(report, report_sha256, &prev);
    let line = row.to_line();
    let bytes = if new_file {
        format!("{}\n{line}", HistoryRow::HEADER)
    } else {
        line
    };
    // One write of the whole line: with O_APPEND and the lock held, nothing interleaves.
    (&file).write_all(bytes.as_bytes())?;
    file.sync_all()?;
    drop(lock);
    if new_file {
        // The file may be new: make its directory entry durable too.
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()?;
    }
    Ok(row)
}

/// Reads a history file and checks its hash chain. A missing file is an empty history.
///
/// Every problem is collected, each naming its line; rows that parse are returned even when
/// the chain is broken.
pub fn read_history(path: &Path) -> io::Result<History> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(parse_history(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(History::default()),
        Err(e) => Err(e),
    }
}

/// Reads a history from its bytes (a header line, then one row per line) and checks its
/// hash chain, as `read_history` does for a file: for a history assembled from elsewhere
/// (the rows of a shared store).
pub fn parse_history_bytes(bytes: &[u8]) -> History {
    parse_history(bytes)
}

/// One row from its line as written (with or without the newline), its hashes as written;
/// whether it links to anything is not checked here.
pub fn row_from_line(line: &str) -> Result<HistoryRow, String> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let fields = read_line(line)?;
    if fields.len() != FIELDS {
        return Err(format!("{} fields where a row has {FIELDS}", fields.len()));
    }
    let row = row_of(&fields)?;
    if !is_hex64(&row.prev_hash) || !is_hex64(&row.row_hash) {
        return Err("prev_hash or row_hash is not 64 lowercase hex digits".to_owned());
    }
    Ok(row)
}

/// What the chain check compares the next row's `prev_hash` with.
enum Link {
    /// No row yet: the chain start.
    Start,
    /// The `row_hash` written on that line.
    Row(usize, String),
    /// The line above could not be read as a row; its problem is reported already.
    Unknown,
}

fn parse_history(bytes: &[u8]) -> History {
    let mut h = History::default();
    if bytes.is_empty() {
        return h;
    }
    let complete = bytes.last() == Some(&b'\n');
    let body = if complete {
        &bytes[..bytes.len() - 1]
    } else {
        bytes
    };
    let line_count = body.split(|&b| b == b'\n').count();
    h.rows.reserve(line_count.saturating_sub(1));
    let mut link = Link::Start;
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        if !complete && n == line_count {
            h.problems.push(format!(
                "line {n}: torn last line (no newline): a write was interrupted"
            ));
            break;
        }
        if n == 1 {
            if raw != HistoryRow::HEADER.as_bytes() {
                h.problems.push(format!(
                    "line 1: not the history header (expected \"{}\")",
                    HistoryRow::HEADER
                ));
            }
            continue;
        }
        if raw.is_empty() {
            h.problems.push(format!("line {n}: empty line"));
            continue;
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            h.problems.push(format!("line {n}: not valid UTF-8"));
            link = Link::Unknown;
            continue;
        };
        let fields = match read_line(line) {
            Ok(f) => f,
            Err(e) => {
                h.problems.push(format!("line {n}: malformed CSV: {e}"));
                link = Link::Unknown;
                continue;
            }
        };
        if fields.len() != FIELDS {
            h.problems.push(format!(
                "line {n}: {} fields, expected {FIELDS}",
                fields.len()
            ));
            link = Link::Unknown;
            continue;
        }
        let (prev, hash) = (&fields[PREV_FIELD], &fields[HASH_FIELD]);
        let prev_ok = is_hex64(prev);
        let hash_ok = is_hex64(hash);
        if !prev_ok {
            h.problems.push(format!(
                "line {n}: prev_hash is not 64 lowercase hex digits"
            ));
        }
        if !hash_ok {
            h.problems
                .push(format!("line {n}: row_hash is not 64 lowercase hex digits"));
        }
        if prev_ok && hash_ok {
            // The record is the line up to the comma before prev_hash: two unquoted hashes
            // end the line, so it is the line without its last 130 bytes.
            let record = line
                .strip_suffix(hash)
                .and_then(|l| l.strip_suffix(','))
                .and_then(|l| l.strip_suffix(prev))
                .and_then(|l| l.strip_suffix(','));
            if record.is_none_or(|record| row_hash(prev, record) != *hash) {
                h.problems.push(format!(
                    "line {n}: row hash does not match its fields (edited?)"
                ));
            }
        }
        if prev_ok {
            match link {
                Link::Start if prev != HistoryRow::CHAIN_START => h.problems.push(format!(
                    "line {n}: previous-row hash of the first row is not 64 zeros \
                     (rows before it were deleted)"
                )),
                Link::Row(above, ref above_hash) if prev != above_hash => h.problems.push(format!(
                    "line {n}: previous-row hash does not match line {above} \
                     (a row was deleted, inserted or reordered)"
                )),
                _ => {}
            }
        }
        link = if hash_ok {
            Link::Row(n, hash.to_owned())
        } else {
            Link::Unknown
        };
        match row_of(&fields) {
            Ok(row) => h.rows.push(row),
            Err(e) => h.problems.push(format!("line {n}: {e}")),
        }
    }
    h
}

/// A row from its 16 fields, or what is wrong with them.
fn row_of(f: &::csv::StringRecord) -> Result<HistoryRow, String> {
    let text = |i: usize| f[i].to_owned();
    let started_at = DateTime::parse_from_rfc3339(&f[2])
        .map_err(|_| format!("started_at: \"{}\" is not an RFC 3339 time", &f[2]))?
        .with_timezone(&Utc);
    let verdict = text(4);
    if ![
        Verdict::Met,
        Verdict::Missed,
        Verdict::Failed,
        Verdict::Invalid,
        Verdict::Error,
    ]
    .iter()
    .any(|v| v.as_str() == verdict)
    {
        return Err(format!(
            "verdict: \"{verdict}\" is not one of met, missed, failed, invalid, error"
        ));
    }
    let secs = |i: usize, name: &str| -> Result<Option<f64>, String> {
        let s = &f[i];
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(format!("{name}: \"{s}\" is not a number of seconds")),
        }
    };
    let rto_seconds = secs(5, "rto_seconds")?;
    let rpo_seconds = secs(6, "rpo_seconds")?;
    let mut phases = Vec::new();
    for (k, (name, column)) in PHASES.iter().zip(PHASE_COLUMNS).enumerate() {
        if let Some(v) = secs(7 + k, column)? {
            phases.push(((*name).to_owned(), v));
        }
    }
    if !is_hex64(&f[13]) {
        return Err("report_sha256 is not 64 lowercase hex digits".to_owned());
    }
    Ok(HistoryRow {
        drill: text(0),
        run_id: text(1),
        started_at,
        tier: text(3),
        verdict,
        rto_seconds,
        rpo_seconds,
        phases,
        report_sha256: text(13),
        prev_hash: text(PREV_FIELD),
        row_hash: text(HASH_FIELD),
    })
}

/// The `row_hash` of the last row, read from the tail of the file only. `len` > 0.
fn last_row_hash(path: &Path, file: &File, len: u64) -> io::Result<String> {
    let mut tail = FIRST_TAIL;
    let (start, last) = loop {
        let start = len.saturating_sub(tail);
        let mut buf = vec![0; (len - start) as usize];
        file.read_exact_at(&mut buf, start)?;
        if buf.last() != Some(&b'\n') {
            let n = line_count(file)?;
            return Err(needs_human(
                path,
                n,
                "torn last line (no newline): a write was interrupted; \
                 complete or remove that line, then run again",
            ));
        }
        buf.pop();
        match buf.iter().rposition(|&b| b == b'\n') {
            Some(i) => break (start + i as u64 + 1, buf.split_off(i + 1)),
            None if start == 0 => break (0, buf),
            None if tail >= MAX_TAIL => {
                let n = line_count(file)?;
                return Err(needs_human(
                    path,
                    n,
                    "the last line is longer than 16 MiB: not a history row",
                ));
            }
            None => tail *= 2,
        }
    };
    if start == 0 {
        // The only line is line 1: the header.
        if last != HistoryRow::HEADER.as_bytes() {
            return Err(needs_human(path, 1, "not the history header"));
        }
        return Ok(HistoryRow::CHAIN_START.to_owned());
    }
    let hash = std::str::from_utf8(&last)
        .ok()
        .and_then(|l| read_line(l).ok())
        .filter(|f| f.len() == FIELDS && is_hex64(&f[HASH_FIELD]))
        .map(|f| f[HASH_FIELD].to_owned());
    match hash {
        Some(h) => Ok(h),
        None => {
            let n = line_count(file)?;
            Err(needs_human(
                path,
                n,
                "the last line is not a history row with a row hash",
            ))
        }
    }
}

/// Lines in the file (a last line without newline counts): only on the error path.
fn line_count(file: &File) -> io::Result<usize> {
    let mut reader = io::BufReader::with_capacity(1 << 16, FileAt { file, pos: 0 });
    let (mut newlines, mut last) = (0usize, b'\n');
    loop {
        let buf = reader.fill_buf()?;
        let Some(&b) = buf.last() else { break };
        newlines += buf.iter().filter(|&&c| c == b'\n').count();
        last = b;
        let n = buf.len();
        reader.consume(n);
    }
    Ok(newlines + usize::from(last != b'\n'))
}

/// Reads a file from an offset with `pread`, leaving its cursor alone.
struct FileAt<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for FileAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

fn needs_human(path: &Path, line: usize, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{} line {line}: {what} (the history needs a human; nothing was appended)",
            path.display()
        ),
    )
}

/// An exclusive `flock(2)` on an open file, released on drop. flock locks belong to the open
/// file description, so two `File`s opened separately exclude each other even in one
/// process, and a crashed holder's lock goes away with its descriptor.
struct Flock<'a>(&'a File);

impl<'a> Flock<'a> {
    fn exclusive(file: &'a File) -> io::Result<Self> {
        loop {
            // SAFETY: flock on a descriptor this `File` owns and keeps open while borrowed.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Flock(file));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Drop for Flock<'_> {
    fn drop(&mut self) {
        // SAFETY: as above; closing the descriptor would release the lock anyway.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// `hex(sha256(prev + "\n" + record))`.
fn row_hash(prev: &str, record: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(record.as_bytes());
    let digest = h.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn round_ms(v: f64) -> f64 {
    format!("{v:.3}").parse().unwrap_or(v)
}

/// One CSV line of `fields`, without a line end, as the `csv` crate writes it: a field is
/// quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_line<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::with_capacity(256));
    // Writing into a Vec cannot fail (the only errors are I/O errors).
    let _ = w.write_record(fields);
    let mut bytes = w.into_inner().unwrap_or_default();
    bytes.pop();
    // Every field is a &str, so the bytes are UTF-8.
    String::from_utf8(bytes).unwrap_or_default()
}

/// The fields of one history line, read with the `csv` crate (no header; the line alone, so
/// a quote left open cannot run into the next line).
pub fn read_line(line: &str) -> Result<::csv::StringRecord, String> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    let mut record = ::csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => Ok(record),
        Ok(false) => Err("no fields".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}
