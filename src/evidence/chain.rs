//! The history rows a bundle carries, with their hash chain.
//!
//! A bundle holds `history.csv`: the history header, then the stretch of
//! `reports/history.csv` from the first row of the period to the last, copied byte for byte
//! (rows of other drills in between stay, or the chain could not be checked across them).
//! `bundle.json` records where the stretch came from and its *anchor*: the `prev_hash` of its
//! first row (64 zeros when it starts the chain). The signed manifest pins both.
//!
//! Checking follows the chain rule of `report::history` (see its module comment): a line is
//! read with the same `csv` reader, the last three fields of a row are
//! `report_sha256,prev_hash,row_hash`, always 64 lowercase hex digits and never quoted, and `row_hash = hex(sha256(prev_hash + "\n" + R))` where `R` is
//! the line up to the comma before `prev_hash`. A unit test appends rows with the history
//! module and checks them here, so the two cannot drift apart unnoticed.

use sha2::{Digest, Sha256};

use super::hex;
use crate::report::HistoryRow;

/// The name of the history file in a bundle.
pub const HISTORY_FILE: &str = "history.csv";

/// The chained fields at the end of one history line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail<'a> {
    /// The line up to the comma before `prev_hash`: what the row hash covers.
    pub record: &'a str,
    pub report_sha256: &'a str,
    pub prev_hash: &'a str,
    pub row_hash: &'a str,
}

/// Splits a history line's chained fields off, or `None` when it does not end in them.
pub fn tail(line: &str) -> Option<Tail<'_>> {
    let fields = crate::report::read_history_line(line).ok()?;
    let n = fields.len();
    if n < 3 {
        return None;
    }
    let hashes = [&fields[n - 3], &fields[n - 2], &fields[n - 1]];
    if !hashes.iter().all(|h| hex::is_sha256(h)) {
        return None;
    }
    // The hashes are hex, so written unquoted: `,<64 hex>` three times ends the line. The
    // borrowed slices come from the line itself (the record's fields are owned by `fields`).
    let start = line.len().checked_sub(3 * 65)?;
    let t = line.get(start..)?;
    let field = |k: usize| {
        let f = t.get(k * 65..(k + 1) * 65)?.strip_prefix(',')?;
        (f == hashes[k]).then_some(f)
    };
    Some(Tail {
        record: line.get(..start + 65)?,
        report_sha256: field(0)?,
        prev_hash: field(1)?,
        row_hash: field(2)?,
    })
}

fn row_hash(prev: &str, record: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(record.as_bytes());
    hex::encode(&h.finalize())
}

/// A stretch of a history file, ready to go into a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The header and the rows, each line with its newline.
    pub text: String,
    /// Source line numbers (1 = the header) of the first and last row kept.
    pub source_lines: Option<(usize, usize)>,
    /// The `prev_hash` of the first row kept.
    pub anchor: String,
}

impl Segment {
    /// The bundle line of a source line (the header is line 1 in both).
    pub fn bundle_line(&self, source_line: usize) -> Option<usize> {
        let (first, last) = self.source_lines?;
        (first..=last)
            .contains(&source_line)
            .then(|| source_line - first + 2)
    }
}

/// The rows of `source` (a history file's text) from the first line for which `wanted` holds
/// to the last, with the header. `wanted` gets the 1-based line number and the line.
pub fn extract_segment(source: &str, wanted: impl Fn(usize, &str) -> bool) -> Segment {
    let lines: Vec<&str> = source.lines().collect();
    let picked: Vec<usize> = (1..lines.len())
        .filter(|&i| wanted(i + 1, lines[i]))
        .collect();
    let mut text = format!("{}\n", HistoryRow::HEADER);
    let (Some(&first), Some(&last)) = (picked.first(), picked.last()) else {
        return Segment {
            text,
            source_lines: None,
            anchor: HistoryRow::CHAIN_START.to_owned(),
        };
    };
    for line in &lines[first..=last] {
        text.push_str(line);
        text.push('\n');
    }
    let anchor = tail(lines[first])
        .map(|t| t.prev_hash.to_owned())
        .unwrap_or_default();
    Segment {
        text,
        source_lines: Some((first + 1, last + 1)),
        anchor,
    }
}

/// A row of a bundle's history, as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRow {
    pub line: usize,
    pub report_sha256: String,
    pub row_hash: String,
}

/// Checks a bundle's history text against the anchor `bundle.json` records. Returns every
/// problem (each naming its line) and the rows whose chained fields could be read.
pub fn check_segment(text: &str, anchor: &str) -> (Vec<String>, Vec<CheckedRow>) {
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut lines = text.split_inclusive('\n').enumerate();
    match lines.next() {
        Some((_, header)) if header.trim_end_matches('\n') == HistoryRow::HEADER => {}
        Some(_) => problems.push(format!("{HISTORY_FILE} line 1: not the history header")),
        None => {
            problems.push(format!("{HISTORY_FILE}: empty (not even the header)"));
            return (problems, rows);
        }
    }
    // The hash of the row above, once it could be read.
    let mut above: Option<(usize, String)> = None;
    let mut first = true;
    for (i, raw) in lines {
        let n = i + 1;
        let Some(line) = raw.strip_suffix('\n') else {
            problems.push(format!(
                "{HISTORY_FILE} line {n}: torn last line (no newline)"
            ));
            break;
        };
        let Some(t) = tail(line) else {
            problems.push(format!(
                "{HISTORY_FILE} line {n}: not a history row (it does not end in \
                 report_sha256, prev_hash and row_hash)"
            ));
            above = None;
            first = false;
            continue;
        };
        if row_hash(t.prev_hash, t.record) != t.row_hash {
            problems.push(format!(
                "{HISTORY_FILE} line {n}: row hash does not match its fields (edited?)"
            ));
        }
        if first {
            if t.prev_hash != anchor {
                problems.push(format!(
                    "{HISTORY_FILE} line {n}: previous-row hash does not match the chain \
                     anchor in bundle.json (rows before it were deleted or replaced)"
                ));
            }
        } else if let Some((above_line, above_hash)) = &above
            && t.prev_hash != above_hash
        {
            problems.push(format!(
                "{HISTORY_FILE} line {n}: previous-row hash does not match line {above_line} \
                 (a row was deleted, inserted or reordered)"
            ));
        }
        first = false;
        above = Some((n, t.row_hash.to_owned()));
        rows.push(CheckedRow {
            line: n,
            report_sha256: t.report_sha256.to_owned(),
            row_hash: t.row_hash.to_owned(),
        });
    }
    (problems, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{
        DrillRef, Measured, RunReport, TeardownReport, TierRef, Verdict, append_history,
    };
    use chrono::{DateTime, Utc};

    fn report(drill: &str, run_id: &str, hour: i64) -> RunReport {
        let at = DateTime::<Utc>::from_timestamp(1_767_225_600 + hour * 3600, 0).unwrap();
        RunReport {
            format_version: 1,
            tool_version: "test".into(),
            drill: DrillRef {
                name: drill.into(),
                file: format!("drills/{drill}.toml"),
                sha256: "0".repeat(64),
            },
            run_id: run_id.into(),
            started_at: at,
            finished_at: at,
            seconds: 1.0,
            incident_at: at,
            tier: TierRef {
                name: "gold".into(),
                rto_seconds: 900.0,
                rpo_seconds: 300.0,
            },
            verdict: Verdict::Met,
            verdict_reason: "met, \"quoted\", with commas".into(),
            measured: Measured {
                rto_seconds: Some(12.5),
                rpo_seconds: None,
                rpo_source: None,
                detect_allowance_seconds: 0.0,
            },
            restores: Vec::new(),
            checks: Vec::new(),
            teardown: TeardownReport {
                outcome: "done".into(),
                leaked: Vec::new(),
            },
            interrupted_by: None,
            operator: None,
            aws: None,
        }
    }

    /// A history of five runs written by `report::append_history`, alternating two drills
    /// (one with a comma in its name, so it is quoted).
    fn history() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        for i in 0..5 {
            let drill = if i % 2 == 0 { "orders" } else { "a,b" };
            let sha = crate::drill::sha256_hex(&[i as u8]);
            append_history(&path, &report(drill, &format!("r{i}"), i), &sha).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        (dir, text)
    }

    #[test]
    fn a_multibyte_character_anywhere_in_the_tail_is_no_panic() {
        // Issue 15 item 3: a hostile history line with "é" (2 bytes) or "€" (3 bytes) at
        // every offset near its end is refused or read, never a panic.
        let sha = crate::drill::sha256_hex(b"x");
        let good = format!("a,b,c,{sha},{sha},{sha}");
        for ch in ["é", "€", "😀"] {
            for cut in 0..good.len() {
                let mut hostile = good.clone();
                if hostile.is_char_boundary(cut) {
                    hostile.insert_str(cut, ch);
                }
                let _ = tail(&hostile);
                let _ = check_segment(
                    &format!("{}\n{hostile}\n", HistoryRow::HEADER),
                    HistoryRow::CHAIN_START,
                );
            }
        }
        assert!(tail(&good).is_some());
    }

    #[test]
    fn the_history_modules_rows_check_here() {
        let (_dir, text) = history();
        let (problems, rows) = check_segment(&text, HistoryRow::CHAIN_START);
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[2].report_sha256, crate::drill::sha256_hex(&[2]));
    }

    #[test]
    fn a_middle_stretch_keeps_its_anchor_and_finds_an_edit() {
        let (_dir, text) = history();
        // Rows r1..r3 are source lines 3..5.
        let seg = extract_segment(&text, |n, _| n == 3 || n == 5);
        assert_eq!(seg.source_lines, Some((3, 5)));
        assert_eq!(seg.bundle_line(4), Some(3));
        let source_lines: Vec<&str> = text.lines().collect();
        assert_eq!(seg.anchor, tail(source_lines[1]).unwrap().row_hash);
        assert_eq!(
            check_segment(&seg.text, &seg.anchor).0,
            Vec::<String>::new()
        );
        assert_eq!(
            check_segment(&seg.text, HistoryRow::CHAIN_START).0,
            [
                "history.csv line 2: previous-row hash does not match the chain anchor in \
              bundle.json (rows before it were deleted or replaced)"
            ]
        );
        let edited = seg
            .text
            .replacen(",met,", ",failed,", 2)
            .replacen(",failed,", ",met,", 1);
        assert_eq!(
            check_segment(&edited, &seg.anchor).0,
            ["history.csv line 3: row hash does not match its fields (edited?)"]
        );
        let mut lines: Vec<&str> = seg.text.lines().collect();
        lines.remove(2);
        let deleted = lines.join("\n") + "\n";
        assert_eq!(
            check_segment(&deleted, &seg.anchor).0,
            [
                "history.csv line 3: previous-row hash does not match line 2 (a row was \
              deleted, inserted or reordered)"
            ]
        );
    }

    /// Issue 19: a history written before the `csv` crate read it checks whole here.
    #[test]
    fn a_history_from_before_the_csv_crate_checks() {
        let text = include_str!("../../tests/fixtures/history-v1.csv");
        let (problems, rows) = check_segment(text, HistoryRow::CHAIN_START);
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(rows.len(), 12);
        let edited = text.replacen("ünïcødé €", "unicode", 1);
        assert_eq!(
            check_segment(&edited, HistoryRow::CHAIN_START).0,
            ["history.csv line 5: row hash does not match its fields (edited?)"]
        );
    }

    #[test]
    fn nothing_picked_is_a_header_only() {
        let (_dir, text) = history();
        let seg = extract_segment(&text, |_, _| false);
        assert_eq!(seg.source_lines, None);
        assert_eq!(seg.text, format!("{}\n", HistoryRow::HEADER));
        assert_eq!(
            check_segment(&seg.text, &seg.anchor),
            (Vec::new(), Vec::new())
        );
    }
}
