//! The history file: concurrent appends (threads and processes) keep one valid hash chain;
//! each kind of tampering is found and named by line; `report` statistics on a known history.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Barrier;

use chrono::{DateTime, Duration, Utc};
use restore_drill::report::{
    DrillRef, HistoryRow, Measured, Outcome, PhaseReport, RestoreReport, RunReport, TeardownReport,
    TierRef, Verdict, append_history, read_history, render_summary_html, render_summary_text,
    summarize,
};
use restore_drill::report::{HistoryPageContext, NextDue, Targets, TierTargets};

/// 2026-01-01T00:00:00Z plus `hours`.
fn at(hours: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap() + Duration::hours(hours)
}

fn phase(name: &str, seconds: f64, outcome: Outcome) -> PhaseReport {
    PhaseReport {
        name: name.to_owned(),
        started_at: at(0),
        seconds,
        polls: 1,
        resolution_seconds: 0.0,
        outcome,
        error: None,
        expected_seconds: None,
    }
}

/// A fake run: two restores, each with resolve 1 s, prepare 3.25 s, verify 10 s and a skipped
/// copy; "orders" restores in 250 s and tears down in 5 s, "invoices" in 100 s and 8 s. So the
/// row holds the critical path (issue 14): orders' 1, 250, 3.25 and 10 s, the longest
/// teardown 8 s, and no copy.
fn report(drill: &str, run_id: &str, started_at: DateTime<Utc>, rto: Option<f64>) -> RunReport {
    let restore = |id: &str| RestoreReport {
        phases: if id == "orders" {
            vec![
                phase("resolve", 1.0, Outcome::Ok),
                phase("copy", 0.0, Outcome::Skipped),
                phase("restore", 250.0, Outcome::Ok),
                phase("prepare", 3.25, Outcome::Ok),
                phase("verify", 10.0, Outcome::Ok),
                phase("teardown", 5.0, Outcome::Ok),
            ]
        } else {
            vec![
                phase("resolve", 1.0, Outcome::Ok),
                phase("copy", 0.0, Outcome::Skipped),
                phase("restore", 100.0, Outcome::Ok),
                phase("prepare", 3.25, Outcome::Ok),
                phase("verify", 10.0, Outcome::Ok),
                phase("teardown", 8.0, Outcome::Ok),
            ]
        },
        id: id.to_owned(),
        kind: "pg_pitr".to_owned(),
        recovery_point: None,
        target: None,
        newest_data_at: None,
        warmup: None,
    };
    RunReport {
        format_version: 1,
        tool_version: "test".to_owned(),
        drill: DrillRef {
            name: drill.to_owned(),
            file: format!("drills/{drill}.toml"),
            sha256: "0".repeat(64),
        },
        run_id: run_id.to_owned(),
        started_at,
        finished_at: started_at + Duration::minutes(10),
        seconds: 600.0,
        incident_at: started_at,
        tier: TierRef {
            name: "gold".to_owned(),
            rto_seconds: 900.0,
            rpo_seconds: 300.0,
        },
        verdict: Verdict::Met,
        verdict_reason: "every target met".to_owned(),
        measured: Measured {
            rto_seconds: rto,
            rpo_seconds: None,
            rpo_source: None,
            detect_allowance_seconds: 300.0,
        },
        restores: vec![restore("orders"), restore("invoices")],
        checks: Vec::new(),
        teardown: TeardownReport {
            outcome: "done".to_owned(),
            leaked: Vec::new(),
        },
        interrupted_by: None,
        operator: None,
        aws: None,
    }
}

/// A stand-in for the SHA-256 of a report.json: any 64 hex digits.
fn sha(n: usize) -> String {
    format!("{n:064x}")
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    (dir, path)
}

/// A history of `n` runs of drill "orders-db", one an hour, RTO 600 + i s.
fn history_of(n: usize) -> (tempfile::TempDir, PathBuf) {
    let (dir, path) = temp();
    for i in 0..n {
        let r = report(
            "orders-db",
            &format!("run-{i:03}"),
            at(i as i64),
            Some(600.0 + i as f64),
        );
        append_history(&path, &r, &sha(i)).unwrap();
    }
    (dir, path)
}

/// The file's lines, without their newlines.
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

/// Problems of the history at `path`.
fn problems(path: &Path) -> Vec<String> {
    read_history(path).unwrap().problems
}

#[test]
fn appended_rows_have_the_documented_format_and_read_back_equal() {
    let (_dir, path) = temp();
    let mut r = report("orders-db", "20260101T000000Z-7f3a", at(0), Some(612.3456));
    r.started_at += Duration::nanoseconds(123_456_789);
    let first = append_history(&path, &r, &sha(1)).unwrap();
    let mut r2 = report("orders-db", "20260101T010000Z-0b1c", at(1), None);
    r2.verdict = Verdict::Failed;
    r2.measured.rpo_seconds = Some(42.0);
    let second = append_history(&path, &r2, &sha(2)).unwrap();

    let l = lines(&path);
    assert_eq!(l.len(), 3);
    assert_eq!(l[0], HistoryRow::HEADER);
    assert_eq!(
        l[0],
        "drill,run_id,started_at,tier,verdict,rto_seconds,rpo_seconds,resolve_seconds,\
         copy_seconds,restore_seconds,prepare_seconds,verify_seconds,teardown_seconds,\
         report_sha256,prev_hash,row_hash"
    );
    assert_eq!(
        l[1],
        format!(
            "orders-db,20260101T000000Z-7f3a,2026-01-01T00:00:00.123Z,gold,met,612.346,,1.000,,\
             250.000,3.250,10.000,8.000,{},{},{}",
            sha(1),
            HistoryRow::CHAIN_START,
            first.row_hash
        )
    );
    assert_eq!(
        l[2],
        format!(
            "orders-db,20260101T010000Z-0b1c,2026-01-01T01:00:00.000Z,gold,failed,,42.000,1.000,,\
             250.000,3.250,10.000,8.000,{},{},{}",
            sha(2),
            first.row_hash,
            second.row_hash
        )
    );
    assert_eq!(first.prev_hash, HistoryRow::CHAIN_START);
    assert_eq!(second.prev_hash, first.row_hash);
    assert_ne!(first.row_hash, second.row_hash);
    assert_eq!(first.rto_seconds, Some(612.346));
    assert_eq!(first.phase("copy"), None);
    assert_eq!(first.phase("restore"), Some(250.0));

    let h = read_history(&path).unwrap();
    assert_eq!(h.problems, Vec::<String>::new());
    assert_eq!(h.rows, vec![first, second]);
}

#[test]
fn commas_quotes_and_line_breaks_in_fields_stay_one_row() {
    let (_dir, path) = temp();
    let r = report("odd,\"name\"\nhere", "run-1", at(0), Some(1.0));
    let row = append_history(&path, &r, &sha(1)).unwrap();
    assert_eq!(row.drill, "odd,\"name\" here");
    let l = lines(&path);
    assert_eq!(l.len(), 2);
    assert!(
        l[1].starts_with("\"odd,\"\"name\"\" here\",run-1,"),
        "{}",
        l[1]
    );
    let h = read_history(&path).unwrap();
    assert_eq!(h.problems, Vec::<String>::new());
    assert_eq!(h.rows, vec![row]);
}

#[test]
fn a_missing_file_is_an_empty_history() {
    let (_dir, path) = temp();
    let h = read_history(&path).unwrap();
    assert!(h.rows.is_empty() && h.problems.is_empty());
    // An empty file too, and appending to it writes the header first.
    std::fs::write(&path, "").unwrap();
    assert_eq!(read_history(&path).unwrap(), h);
    append_history(&path, &report("a", "r", at(0), None), &sha(0)).unwrap();
    assert_eq!(lines(&path)[0], HistoryRow::HEADER);
}

#[test]
fn eight_threads_appending_500_rows_each_keep_one_valid_chain() {
    const THREADS: usize = 8;
    const EACH: usize = 500;
    let (_dir, path) = temp();
    let start = Barrier::new(THREADS);
    let written: Vec<Vec<HistoryRow>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (path, start) = (&path, &start);
                s.spawn(move || {
                    start.wait();
                    // Every call opens the file anew: its own open file description, so
                    // the threads exclude each other through flock as processes would.
                    (0..EACH)
                        .map(|i| {
                            let r = report(
                                &format!("drill-{t}"),
                                &format!("t{t}-{i:03}"),
                                at(i as i64),
                                Some(i as f64),
                            );
                            append_history(path, &r, &sha(t * EACH + i)).unwrap()
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    assert_eq!(lines(&path).len(), 1 + THREADS * EACH);
    let h = read_history(&path).unwrap();
    assert_eq!(h.problems, Vec::<String>::new());
    assert_eq!(h.rows.len(), THREADS * EACH);
    // Every row returned by an append is in the file, once, and the chain runs through all.
    let mut returned: Vec<HistoryRow> = written.into_iter().flatten().collect();
    let mut read = h.rows.clone();
    returned.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    read.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    assert_eq!(read, returned);
    for (above, row) in h.rows.iter().zip(&h.rows[1..]) {
        assert_eq!(row.prev_hash, above.row_hash);
    }
    // Each thread's rows are in the order it appended them.
    for t in 0..THREADS {
        let ids: Vec<&str> = h
            .rows
            .iter()
            .filter(|r| r.drill == format!("drill-{t}"))
            .map(|r| r.run_id.as_str())
            .collect();
        let want: Vec<String> = (0..EACH).map(|i| format!("t{t}-{i:03}")).collect();
        assert_eq!(ids, want);
    }
}

const CHILD_ENV: &str = "RESTORE_DRILL_TEST_HISTORY_CHILD";

#[test]
fn four_processes_appending_at_once_keep_one_valid_chain() {
    const PROCESSES: usize = 4;
    const EACH: usize = 300;
    const NAME: &str = "four_processes_appending_at_once_keep_one_valid_chain";
    // The same test binary, run again as one of the appending processes.
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (path, p) = spec.split_once('\t').unwrap();
        let p: usize = p.parse().unwrap();
        // Start together: wait until the parent writes to (or closes) stdin.
        let _ = std::io::stdin().read(&mut [0u8]).unwrap();
        for i in 0..EACH {
            let r = report(
                &format!("drill-{p}"),
                &format!("p{p}-{i:03}"),
                at(i as i64),
                None,
            );
            append_history(Path::new(path), &r, &sha(p * EACH + i)).unwrap();
        }
        return;
    }
    let (_dir, path) = temp();
    let mut children: Vec<_> = (0..PROCESSES)
        .map(|p| {
            Command::new(std::env::current_exe().unwrap())
                .args([NAME, "--exact", "--nocapture", "--test-threads", "1"])
                .env(CHILD_ENV, format!("{}\t{p}", path.display()))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in &mut children {
        c.stdin.take().unwrap().write_all(b"go").unwrap();
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "an appending process failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let h = read_history(&path).unwrap();
    assert_eq!(h.problems, Vec::<String>::new());
    assert_eq!(h.rows.len(), PROCESSES * EACH);
    let ids: BTreeSet<&str> = h.rows.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids.len(), PROCESSES * EACH);
}

#[test]
fn an_edited_field_is_named_by_its_line() {
    let (_dir, path) = history_of(10);
    let mut l = lines(&path);
    // Line 5 (the 4th run): RTO 603 s becomes 403 s.
    assert!(l[4].contains(",603.000,"));
    l[4] = l[4].replace(",603.000,", ",403.000,");
    write_lines(&path, &l);
    let h = read_history(&path).unwrap();
    assert_eq!(
        h.problems,
        vec!["line 5: row hash does not match its fields (edited?)"]
    );
    // The rows are still returned, the edited one as it now reads.
    assert_eq!(h.rows.len(), 10);
    assert_eq!(h.rows[3].rto_seconds, Some(403.0));
}

#[test]
fn an_edited_row_with_a_recomputed_hash_breaks_the_next_link() {
    let (_dir, path) = history_of(10);
    let h = read_history(&path).unwrap();
    let mut l = lines(&path);
    let mut forged = h.rows[3].clone();
    forged.rto_seconds = Some(403.0);
    l[4] = forged
        .chained(&h.rows[2].row_hash)
        .to_line()
        .trim_end()
        .to_owned();
    write_lines(&path, &l);
    assert_eq!(
        problems(&path),
        vec![
            "line 6: previous-row hash does not match line 5 \
             (a row was deleted, inserted or reordered)"
        ]
    );
}

#[test]
fn a_deleted_row_is_named_by_its_line() {
    let (_dir, path) = history_of(10);
    let mut l = lines(&path);
    l.remove(4);
    write_lines(&path, &l);
    let h = read_history(&path).unwrap();
    assert_eq!(
        h.problems,
        vec![
            "line 5: previous-row hash does not match line 4 \
             (a row was deleted, inserted or reordered)"
        ]
    );
    assert_eq!(h.rows.len(), 9);
}

#[test]
fn a_deleted_first_row_is_named() {
    let (_dir, path) = history_of(3);
    let mut l = lines(&path);
    l.remove(1);
    write_lines(&path, &l);
    assert_eq!(
        problems(&path),
        vec![
            "line 2: previous-row hash of the first row is not 64 zeros \
             (rows before it were deleted)"
        ]
    );
}

#[test]
fn an_inserted_row_is_named_by_the_line_after_it() {
    let (_dir, path) = history_of(10);
    let h = read_history(&path).unwrap();
    let mut l = lines(&path);
    // A well-formed row chained onto line 4, slipped in as line 5.
    let r = report("orders-db", "run-forged", at(3), Some(1.0));
    let forged = HistoryRow::from_report(&r, &sha(99), &h.rows[2].row_hash);
    l.insert(4, forged.to_line().trim_end().to_owned());
    write_lines(&path, &l);
    assert_eq!(
        problems(&path),
        vec![
            "line 6: previous-row hash does not match line 5 \
             (a row was deleted, inserted or reordered)"
        ]
    );
}

#[test]
fn swapped_rows_are_named_by_their_lines() {
    let (_dir, path) = history_of(10);
    let mut l = lines(&path);
    l.swap(4, 5);
    write_lines(&path, &l);
    let link = |n: usize| {
        format!(
            "line {n}: previous-row hash does not match line {} \
             (a row was deleted, inserted or reordered)",
            n - 1
        )
    };
    assert_eq!(problems(&path), vec![link(5), link(6), link(7)]);
}

#[test]
fn a_torn_last_line_is_named_and_nothing_is_appended_after_it() {
    let (_dir, path) = history_of(10);
    let bytes = std::fs::read(&path).unwrap();
    // Cut the last row in the middle (a crash mid-write).
    let torn = &bytes[..bytes.len() - 70];
    std::fs::write(&path, torn).unwrap();
    let h = read_history(&path).unwrap();
    assert_eq!(
        h.problems,
        vec!["line 11: torn last line (no newline): a write was interrupted"]
    );
    assert_eq!(h.rows.len(), 9);

    let err =
        append_history(&path, &report("orders-db", "next", at(20), None), &sha(20)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(
        err.to_string(),
        format!(
            "{} line 11: torn last line (no newline): a write was interrupted; complete or \
             remove that line, then run again (the history needs a human; nothing was appended)",
            path.display()
        )
    );
    assert_eq!(std::fs::read(&path).unwrap(), torn);
}

#[test]
fn a_wrong_header_and_a_short_row_are_both_named() {
    let (_dir, path) = history_of(4);
    let mut l = lines(&path);
    l[0] = "drill,run,when".to_owned();
    l[2] = "orders-db,run-x,2026-01-01T00:00:00Z".to_owned();
    write_lines(&path, &l);
    let h = read_history(&path).unwrap();
    assert_eq!(
        h.problems,
        vec![
            format!(
                "line 1: not the history header (expected \"{}\")",
                HistoryRow::HEADER
            ),
            "line 3: 3 fields, expected 16".to_owned(),
        ]
    );
    // Line 4 is not checked against the unreadable line 3, but is returned; so are 2 and 5.
    assert_eq!(h.rows.len(), 3);
}

/// A history row made in memory: drill, hour, verdict, RTO.
fn row(drill: &str, hour: i64, verdict: &str, rto: Option<f64>) -> HistoryRow {
    HistoryRow {
        drill: drill.to_owned(),
        run_id: format!("{drill}-{hour:03}"),
        started_at: at(hour),
        tier: "gold".to_owned(),
        verdict: verdict.to_owned(),
        rto_seconds: rto,
        rpo_seconds: Some(60.0),
        phases: vec![("restore".to_owned(), 120.0 + hour as f64)],
        report_sha256: sha(hour as usize),
        prev_hash: String::new(),
        row_hash: String::new(),
    }
    .chained(HistoryRow::CHAIN_START)
}

fn gold() -> Targets {
    BTreeMap::from([(
        "gold".to_owned(),
        TierTargets {
            rto_seconds: 900.0,
            rpo_seconds: 300.0,
        },
    )])
}

#[test]
fn summarize_gives_pass_rate_percentiles_and_a_rising_trend_warning() {
    // Drill "a": 10 runs, RTO 100, 200, … 1000 s, except run 7 failed without an RTO; run 5
    // missed. Rows out of order, and a second drill mixed in.
    let mut rows = Vec::new();
    for i in (1..=10).rev() {
        let (verdict, rto) = match i {
            5 => ("missed", Some(500.0)),
            7 => ("failed", None),
            _ => ("met", Some(100.0 * i as f64)),
        };
        rows.push(row("a", i, verdict, rto));
        rows.push(row("b", i, "met", Some(300.0)));
    }
    let s = summarize(&rows, None, None, &gold());
    assert_eq!(s.runs, 20);
    assert_eq!(s.drills.len(), 2);
    let a = &s.drills[0];
    assert_eq!(a.drill, "a");
    assert_eq!((a.runs, a.passed), (10, 8));
    assert_eq!(a.pass_rate, 0.8);
    assert_eq!(a.last_verdict, "met");
    assert_eq!(a.last_run_id, "a-010");
    assert_eq!(a.last_pass_at, Some(at(10)));
    assert_eq!(a.target_rto_seconds, Some(900.0));

    let rto = a.metric("rto").unwrap();
    assert_eq!(rto.count, 9);
    // Nearest rank: the 5th of 9 sorted values is 500 s; the histogram keeps 3 digits.
    assert!((rto.p50 - 500.0).abs() <= 0.5, "p50 {}", rto.p50);
    assert_eq!(rto.max, 1000.0);
    assert!(rto.p90 <= rto.max && rto.p99 <= rto.max);
    assert_eq!(a.metric("rpo").unwrap().count, 10);
    assert_eq!(a.metric("restore").unwrap().max, 130.0);
    assert!(a.metric("copy").is_none());

    assert_eq!(
        a.trend.rto_seconds,
        vec![
            100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 800.0, 900.0, 1000.0
        ]
    );
    assert!(a.trend.slope_seconds_per_run.unwrap() > 0.0);
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert!(
        a.warnings[0].starts_with("RTO is rising by "),
        "{}",
        a.warnings[0]
    );

    let b = &s.drills[1];
    assert_eq!(b.pass_rate, 1.0);
    assert_eq!(b.trend.slope_seconds_per_run, Some(0.0));
    assert!(b.warnings.is_empty());

    // Filters: one drill, runs from hour 6 on.
    let f = summarize(&rows, Some("a"), Some(at(6)), &gold());
    assert_eq!(f.drills.len(), 1);
    assert_eq!((f.drills[0].runs, f.drills[0].passed), (5, 4));
}

#[test]
fn the_trend_warns_only_when_the_projection_reaches_80_percent_of_the_target() {
    // Rising 10 s a run from 600 s: 5 runs past the 10th the line is at 740 s, 82% of 900 s.
    let rising: Vec<HistoryRow> = (0..10)
        .map(|i| row("a", i, "met", Some(600.0 + 10.0 * i as f64)))
        .collect();
    let s = summarize(&rising, None, None, &gold());
    let a = &s.drills[0];
    assert!((a.trend.slope_seconds_per_run.unwrap() - 10.0).abs() < 1e-9);
    assert!((a.trend.projected_seconds.unwrap() - 740.0).abs() < 1e-9);
    assert_eq!(
        a.warnings,
        vec![
            "RTO is rising by 10.00s per run over the last 10 runs: 5 runs from now it would \
             be 12m 20.0s, 82% of the 15m target of tier gold"
        ]
    );
    // Without a known target: the same trend, no warning.
    let none = summarize(&rising, None, None, &BTreeMap::new());
    assert!(none.drills[0].warnings.is_empty());
    assert_eq!(none.drills[0].target_rto_seconds, None);

    // Rising as fast but from 100 s: 240 s projected, 27%: no warning.
    let low: Vec<HistoryRow> = (0..10)
        .map(|i| row("a", i, "met", Some(100.0 + 10.0 * i as f64)))
        .collect();
    assert!(
        summarize(&low, None, None, &gold()).drills[0]
            .warnings
            .is_empty()
    );

    // High but falling: no warning.
    let falling: Vec<HistoryRow> = (0..10)
        .map(|i| row("a", i, "met", Some(880.0 - 10.0 * i as f64)))
        .collect();
    let f = summarize(&falling, None, None, &gold());
    assert!(f.drills[0].trend.slope_seconds_per_run.unwrap() < 0.0);
    assert!(f.drills[0].warnings.is_empty());

    // Only the last 10 measured runs count: an old spike is outside the window.
    let mut spiked = vec![row("a", 0, "met", Some(5000.0))];
    spiked.extend((1..=10).map(|i| row("a", i, "met", Some(300.0))));
    let t = &summarize(&spiked, None, None, &gold()).drills[0].trend;
    assert_eq!(t.rto_seconds, vec![300.0; 10]);
    assert_eq!(t.slope_seconds_per_run, Some(0.0));
}

#[test]
fn text_and_html_show_each_drill_the_trend_and_the_warning() {
    let rows: Vec<HistoryRow> = (0..10)
        .map(|i| row("orders-db", i, "met", Some(600.0 + 10.0 * i as f64)))
        .collect();
    let s = summarize(&rows, None, None, &gold());
    let text = render_summary_text(&s);
    assert!(
        text.starts_with("10 runs of 1 drill in the history\n"),
        "{text}"
    );
    assert!(
        text.contains("\norders-db (tier gold, RTO target 15m)\n"),
        "{text}"
    );
    assert!(text.contains("runs 10, met 10 (100.0%)"), "{text}");
    // p50 is the 5th of 10 (640 s) as the histogram keeps it: to 3 digits, rounded up.
    assert!(
        text.contains(
            "  seconds      count         p50         p90         p99         max\n  \
             rto             10       640.5       680.4       690.0       690.0\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("slope +10.0 s/run, 5 runs ahead 740.0 s"),
        "{text}"
    );
    assert!(
        text.contains("  warning: RTO is rising by 10.00s per run"),
        "{text}"
    );

    let cx = HistoryPageContext {
        next_due: BTreeMap::from([("orders-db".to_owned(), NextDue::At(at(24 * 90)))]),
        reports_href: Some("../reports/".to_owned()),
    };
    let html = render_summary_html(&s, &cx);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script") && !html.contains("src=\"http"));
    assert_eq!(html.matches("<section class=\"drill\"").count(), 1);
    // RTO and RPO over time, each against its target; a point per run, linked to its report.
    let (rto, rpo) = (chart(&html, "rto-orders-db"), chart(&html, "rpo-orders-db"));
    assert_eq!(rto.matches("<circle").count(), 10);
    assert!(rto.contains("<line class=\"target\""));
    assert!(rto.contains(">target 15m<"), "durations for people: {rto}");
    assert!(rpo.contains(">target 5m<") && rpo.matches("<circle").count() == 10);
    assert!(rto.contains("<a href=\"../reports/orders-db/orders-db-000/report.html\"><circle"));
    assert_eq!(
        html.matches("href=\"../reports/orders-db/").count(),
        10 + 10 + 10
    );
    // Pass rate, percentiles for people, the next due date, the warning.
    assert!(html.contains("100%"));
    assert!(html.contains("<td>RTO</td><td class=\"num\">10</td><td class=\"num\">10m 40.5s</td>"));
    assert!(html.contains("2026-04-01 00:00 UTC"), "next due");
    assert!(html.contains("warning: RTO is rising"));
    assert!(
        !html.contains("900.0 s") && !html.contains(" s<"),
        "no raw seconds"
    );
}

/// The `<svg id=...>` chart of a page.
fn chart<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let len = html[start..].find("</svg>").expect("a closed svg");
    &html[start..start + len]
}

/// Issue 19: a drill name or run id holding markup stays text on the history page, and in
/// its links.
#[test]
fn the_history_page_renders_markup_in_names_inert() {
    let hostile = "<script>alert(\"x\")</script>";
    let rows = vec![
        row(hostile, 1, "met", Some(10.0)),
        row(hostile, 2, "failed", None),
    ];
    let s = summarize(&rows, None, None, &gold());
    let cx = HistoryPageContext {
        reports_href: Some(String::new()),
        ..HistoryPageContext::default()
    };
    let html = render_summary_html(&s, &cx);
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert!(html.contains("href=\"%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E/%3Cscript"));
}

#[test]
fn nothing_is_appended_after_a_last_row_without_a_hash() {
    let (_dir, path) = history_of(3);
    let mut l = lines(&path);
    l[3] = "orders-db,run-x,garbage".to_owned();
    write_lines(&path, &l);
    let before = std::fs::read(&path).unwrap();
    let err =
        append_history(&path, &report("orders-db", "next", at(9), None), &sha(9)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} line 4: the last line is not a history row with a row hash (the history needs \
             a human; nothing was appended)",
            path.display()
        )
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// Rows written before issue 14 summed the phases of all restores. They still read, with the
/// numbers they were written with, and their chain still verifies beside new rows.
#[test]
fn rows_with_summed_phases_from_before_the_critical_path_still_read_and_verify() {
    let (_dir, path) = temp();
    let old = HistoryRow {
        drill: "orders-db".into(),
        run_id: "20250101T000000Z-0001".into(),
        started_at: at(0),
        tier: "gold".into(),
        verdict: "met".into(),
        rto_seconds: Some(612.0),
        rpo_seconds: None,
        // Two restores of 250 s each, summed, as the old rows did.
        phases: vec![("resolve".into(), 2.0), ("restore".into(), 500.0)],
        report_sha256: sha(7),
        prev_hash: String::new(),
        row_hash: String::new(),
    }
    .chained(HistoryRow::CHAIN_START);
    std::fs::write(&path, format!("{}\n{}", HistoryRow::HEADER, old.to_line())).unwrap();
    let new = append_history(
        &path,
        &report("orders-db", "20260101T000000Z-7f3a", at(1), Some(600.0)),
        &sha(8),
    )
    .unwrap();
    let h = read_history(&path).unwrap();
    assert_eq!(h.problems, Vec::<String>::new());
    assert_eq!(h.rows.len(), 2);
    assert_eq!(h.rows[0].phase("restore"), Some(500.0));
    assert_eq!(h.rows[1].phase("restore"), Some(250.0));
    assert_eq!(h.rows[1].prev_hash, old.row_hash);
    assert_eq!(h.rows[1], new);
}

/// What waits aim at: the median of each phase over the drill's restored runs.
#[test]
fn expected_phases_are_medians_of_the_drills_restored_runs() {
    let (_dir, path) = temp();
    for (i, (restore, rto)) in [
        (250.0, Some(600.0)),
        (300.0, Some(650.0)),
        (100.0, Some(500.0)),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = report("orders-db", &format!("run-{i}"), at(i as i64), rto);
        r.restores[0].phases[2].seconds = restore;
        append_history(&path, &r, &sha(i)).unwrap();
    }
    // A failed run and another drill do not count.
    let mut failed = report("orders-db", "run-f", at(5), None);
    failed.verdict = Verdict::Failed;
    failed.restores[0].phases[2].seconds = 9999.0;
    append_history(&path, &failed, &sha(5)).unwrap();
    append_history(&path, &report("other", "run-o", at(6), Some(1.0)), &sha(6)).unwrap();
    let h = read_history(&path).unwrap();
    let e = restore_drill::report::expected_phases(&h, "orders-db", 10);
    assert_eq!(e.get("restore"), Some(&std::time::Duration::from_secs(250)));
    assert_eq!(e.get("teardown"), Some(&std::time::Duration::from_secs(8)));
    assert_eq!(e.get("copy"), None);
    // Only the last two: 100 and 300 s.
    let e = restore_drill::report::expected_phases(&h, "orders-db", 2);
    assert_eq!(e.get("restore"), Some(&std::time::Duration::from_secs(200)));
    assert!(restore_drill::report::expected_phases(&h, "nothing", 10).is_empty());
}

/// Issue 19: the `csv` crate now reads and writes the history. A history written by the code
/// before that change (tests/fixtures/history-v1.csv: quoted, unicode and once-multi-line
/// fields, empty seconds) reads whole, and every row written again is the same bytes with the
/// same hashes, so existing chains stay valid.
#[test]
fn a_history_written_before_the_csv_crate_reads_and_rewrites_byte_for_byte() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/history-v1.csv");
    let bytes = std::fs::read_to_string(&fixture).unwrap();
    let h = read_history(&fixture).unwrap();
    assert_eq!(h.problems, Vec::<String>::new());
    assert_eq!(h.rows.len(), 12);
    assert_eq!(h.rows[1].drill, "a,b \"quoted\"");
    assert_eq!(h.rows[7].tier, "tier,with\"comma");
    assert_eq!(h.rows[3].drill, "ünïcødé €");
    assert_eq!(h.rows[3].rto_seconds, None);
    assert_eq!(h.rows[5].phase("restore"), None);
    let mut written = format!("{}\n", HistoryRow::HEADER);
    let mut prev = HistoryRow::CHAIN_START.to_owned();
    for row in &h.rows {
        let again = row.clone().chained(&prev);
        assert_eq!(again.row_hash, row.row_hash, "run {}", row.run_id);
        written.push_str(&again.to_line());
        prev = again.row_hash;
    }
    assert_eq!(written, bytes);
    // And an append continues that chain.
    let (_dir, path) = temp();
    std::fs::write(&path, &bytes).unwrap();
    let r = report("orders-db", "run-new", at(200), Some(1.0));
    let row = append_history(&path, &r, &sha(1)).unwrap();
    assert_eq!(row.prev_hash, h.rows[11].row_hash);
    let after = read_history(&path).unwrap();
    assert_eq!((after.rows.len(), after.problems.len()), (13, 0));
}

/// Writes `target/sample-history.html`: the `report --html` page over 40 runs of 3 drills
/// (RTO and RPO varying, some missed, some failed, one drill overdue), for a look in a
/// browser. Run by `ci/screenshot-report --history`.
#[test]
#[ignore = "writes a file for ci/screenshot-report; run with --ignored"]
fn write_sample_history_html() {
    let mut rows = Vec::new();
    let drills = [("orders-db", 14), ("invoices-s3", 13), ("ledger-pitr", 13)];
    for (d, (drill, n)) in drills.iter().enumerate() {
        for i in 0..*n {
            let hour = (i * 24 * 7 + d * 5) as i64;
            // A slow upward drift with some noise; every fifth run missed, one failed.
            let base =
                [420.0, 260.0, 560.0][d] + 9.0 * i as f64 + ((i * 37 + d * 11) % 7) as f64 * 25.0;
            let (verdict, rto) = match (i + d) % 9 {
                4 => ("failed", None),
                _ if i % 5 == 3 => ("missed", Some(base + 500.0)),
                _ => ("met", Some(base)),
            };
            let mut r = row(drill, hour, verdict, rto);
            r.rpo_seconds = rto.map(|_| 40.0 + ((i * 53 + d * 17) % 11) as f64 * 22.0);
            r.phases = vec![
                ("resolve".to_owned(), 0.8 + d as f64),
                ("restore".to_owned(), base * 0.7),
                ("prepare".to_owned(), 12.0 + i as f64),
                ("verify".to_owned(), 30.0 + d as f64 * 10.0),
                ("teardown".to_owned(), 20.0),
            ];
            rows.push(r.chained(HistoryRow::CHAIN_START));
        }
    }
    let s = summarize(&rows, None, None, &gold());
    assert_eq!((s.runs, s.drills.len()), (40, 3));
    let cx = HistoryPageContext {
        next_due: BTreeMap::from([
            ("orders-db".to_owned(), NextDue::At(at(24 * 120))),
            ("invoices-s3".to_owned(), NextDue::Overdue(at(24 * 80))),
            ("ledger-pitr".to_owned(), NextDue::At(at(24 * 100))),
        ]),
        reports_href: Some("../reports/".to_owned()),
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&dir).expect("target/ can be created");
    let path = dir.join("sample-history.html");
    std::fs::write(&path, render_summary_html(&s, &cx)).expect("the page is written");
    println!("{}", path.display());
}
