//! Prometheus text format (exposition format 0.0.4) for node_exporter's textfile collector:
//! the latest run of each drill, computed from the history. Every series carries `drill` and
//! `tier` (the tier recorded with the drill's latest run, so one drill's series join).
//!
//! The collector reads whatever is in the file when it scrapes, so the caller writes it
//! atomically (temp file + rename, `write_atomic`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::HistoryRow;

/// Every verdict a run can have. The latest one's series is 1 and the others 0, so an alert
/// can match `restore_drill_last_verdict{verdict="met"} == 0`.
const VERDICTS: [&str; 5] = ["met", "missed", "failed", "invalid", "error"];

/// One drill's runs, as the metrics need them.
struct DrillRuns<'a> {
    latest: &'a HistoryRow,
    latest_pass: Option<&'a HistoryRow>,
    runs: usize,
}

pub fn render_metrics(history: &[HistoryRow]) -> String {
    // BTreeMap: drills in name order, whatever the history's order.
    let mut drills: BTreeMap<&str, DrillRuns> = BTreeMap::new();
    for row in history {
        let d = drills.entry(&row.drill).or_insert(DrillRuns {
            latest: row,
            latest_pass: None,
            runs: 0,
        });
        d.runs += 1;
        // `>=`: of two runs with the same start, the one written later wins.
        if row.started_at >= d.latest.started_at {
            d.latest = row;
        }
        if row.verdict == "met" && d.latest_pass.is_none_or(|p| row.started_at >= p.started_at) {
            d.latest_pass = Some(row);
        }
    }

    let mut out = Family::new();
    out.family(
        "restore_drill_last_rto_seconds",
        "gauge",
        "Measured RTO of the drill's latest run (absent when not measured).",
    );
    for (drill, d) in &drills {
        if let Some(v) = d.latest.rto_seconds {
            out.sample(drill, d, &[], v);
        }
    }
    out.family(
        "restore_drill_last_rpo_seconds",
        "gauge",
        "Measured RPO of the drill's latest run (absent when not measured).",
    );
    for (drill, d) in &drills {
        if let Some(v) = d.latest.rpo_seconds {
            out.sample(drill, d, &[], v);
        }
    }
    out.family(
        "restore_drill_last_verdict",
        "gauge",
        "1 for the verdict of the drill's latest run, 0 for the others.",
    );
    for (drill, d) in &drills {
        let verdict = d.latest.verdict.as_str();
        for v in VERDICTS {
            out.sample(
                drill,
                d,
                &[("verdict", v)],
                f64::from(u8::from(v == verdict)),
            );
        }
        // A verdict this version does not know still shows, rather than all zeros.
        if !VERDICTS.contains(&verdict) {
            out.sample(drill, d, &[("verdict", verdict)], 1.0);
        }
    }
    out.family(
        "restore_drill_last_phase_seconds",
        "gauge",
        "Seconds each phase of the drill's latest run took, summed over its restores.",
    );
    for (drill, d) in &drills {
        // Phases in the run's order; a name listed twice is summed (one series per name).
        let mut phases: Vec<(&str, f64)> = Vec::new();
        for (name, secs) in &d.latest.phases {
            match phases.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) => *total += secs,
                None => phases.push((name, *secs)),
            }
        }
        for (name, secs) in phases {
            out.sample(drill, d, &[("phase", name)], secs);
        }
    }
    out.family(
        "restore_drill_last_success_timestamp_seconds",
        "gauge",
        "Start of the drill's latest run with verdict met, in seconds since the Unix epoch (absent when none).",
    );
    for (drill, d) in &drills {
        if let Some(pass) = d.latest_pass {
            out.sample(drill, d, &[], unix_seconds(pass));
        }
    }
    out.family(
        "restore_drill_last_run_timestamp_seconds",
        "gauge",
        "Start of the drill's latest run, in seconds since the Unix epoch.",
    );
    for (drill, d) in &drills {
        out.sample(drill, d, &[], unix_seconds(d.latest));
    }
    out.family(
        "restore_drill_runs_total",
        "counter",
        "Runs of the drill in the history, whatever their verdict.",
    );
    for (drill, d) in &drills {
        out.sample(drill, d, &[], d.runs as f64);
    }
    out.text
}

/// Writes families one after another: each `# HELP` and `# TYPE` once, before its first
/// sample; a family without samples is left out.
struct Family {
    text: String,
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    started: bool,
}

impl Family {
    fn new() -> Self {
        Family {
            text: String::new(),
            name: "",
            kind: "",
            help: "",
            started: false,
        }
    }

    fn family(&mut self, name: &'static str, kind: &'static str, help: &'static str) {
        (self.name, self.kind, self.help, self.started) = (name, kind, help, false);
    }

    fn sample(&mut self, drill: &str, d: &DrillRuns, extra: &[(&str, &str)], value: f64) {
        // Writing to a String cannot fail.
        if !self.started {
            self.started = true;
            let _ = writeln!(self.text, "# HELP {} {}", self.name, self.help);
            let _ = writeln!(self.text, "# TYPE {} {}", self.name, self.kind);
        }
        let _ = write!(
            self.text,
            "{}{{drill=\"{}\",tier=\"{}\"",
            self.name,
            escape(drill),
            escape(&d.latest.tier)
        );
        for (k, v) in extra {
            let _ = write!(self.text, ",{k}=\"{}\"", escape(v));
        }
        let _ = writeln!(self.text, "}} {}", number(value));
    }
}

fn unix_seconds(row: &HistoryRow) -> f64 {
    row.started_at.timestamp_millis() as f64 / 1000.0
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value as Go's `ParseFloat` reads it (Rust writes infinity as `inf`).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use chrono::DateTime;

    use super::*;

    fn row(drill: &str, started_at: &str, verdict: &str) -> HistoryRow {
        HistoryRow {
            drill: drill.to_owned(),
            run_id: format!("{started_at}-{drill}"),
            started_at: DateTime::parse_from_rfc3339(started_at).unwrap().to_utc(),
            tier: "gold".to_owned(),
            verdict: verdict.to_owned(),
            rto_seconds: Some(600.5),
            rpo_seconds: Some(42.0),
            phases: vec![("resolve".to_owned(), 1.25), ("restore".to_owned(), 300.0)],
            report_sha256: "ab".repeat(32),
            prev_hash: "00".repeat(32),
            row_hash: "cd".repeat(32),
        }
    }

    /// One parsed sample line: metric name, labels (unescaped), value.
    type Sample = (String, BTreeMap<String, String>, f64);

    /// Parses the exposition format strictly, line by line, failing on anything the format
    /// does not allow: a sample before its family's HELP and TYPE, a family split in two,
    /// a bad name, a bad escape, an unparsable value, a duplicate series.
    fn parse(text: &str) -> Vec<Sample> {
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "the last line ends with a newline"
        );
        let name_ok = |n: &str| {
            !n.is_empty()
                && !n.starts_with(|c: char| c.is_ascii_digit())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        let mut helped = None::<String>;
        let mut typed = None::<String>;
        let mut finished = HashSet::new();
        let mut series = HashSet::new();
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap();
                assert!(name_ok(name) && !help.is_empty(), "{line}");
                assert!(!help.contains('\\'), "unescaped backslash in help: {line}");
                if let Some(prev) = helped.replace(name.to_owned()) {
                    assert!(finished.insert(prev), "family listed twice: {line}");
                }
                assert!(!finished.contains(name), "family listed twice: {line}");
                typed = None;
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert_eq!(
                    Some(name),
                    helped.as_deref(),
                    "TYPE follows its HELP: {line}"
                );
                assert!(["gauge", "counter"].contains(&kind), "{line}");
                if kind == "counter" {
                    assert!(name.ends_with("_total"), "{line}");
                }
                typed = Some(name.to_owned());
                continue;
            }
            assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
            let (name, rest) = line.split_once('{').unwrap();
            assert_eq!(
                Some(name),
                typed.as_deref(),
                "sample outside its family: {line}"
            );
            let mut labels = BTreeMap::new();
            let mut chars = rest.chars().peekable();
            loop {
                let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                assert!(name_ok(&key), "label name {key:?} in {line}");
                assert_eq!(chars.next(), Some('"'), "{line}");
                let mut value = String::new();
                loop {
                    match chars.next().unwrap() {
                        '"' => break,
                        '\\' => value.push(match chars.next().unwrap() {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            other => panic!("bad escape \\{other} in {line}"),
                        }),
                        c => value.push(c),
                    }
                }
                assert!(labels.insert(key, value).is_none(), "label twice: {line}");
                match chars.next() {
                    Some(',') => continue,
                    Some('}') => break,
                    other => panic!("{other:?} after a label value in {line}"),
                }
            }
            assert_eq!(chars.next(), Some(' '), "{line}");
            let value: String = chars.collect();
            let value: f64 = match value.as_str() {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("value {v:?} in {line}")),
            };
            assert!(
                series.insert(format!("{name}{labels:?}")),
                "duplicate series: {line}"
            );
            samples.push((name.to_owned(), labels, value));
        }
        samples
    }

    fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
        samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(v))
            })
            .collect()
    }

    fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = find(samples, name, labels);
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        found[0].2
    }

    #[test]
    fn the_latest_run_of_each_drill_in_exposition_format() {
        let mut failed = row("orders", "2026-11-21T13:00:00Z", "failed");
        failed.rto_seconds = None;
        failed.phases = vec![
            ("resolve".to_owned(), 2.0),
            ("restore".to_owned(), 100.0),
            ("restore".to_owned(), 50.0),
        ];
        let history = vec![
            row("orders", "2026-10-01T13:00:00Z", "met"),
            row("invoices", "2026-11-01T08:00:00Z", "missed"),
            failed,
            row("orders", "2026-08-01T13:00:00Z", "met"),
        ];
        let text = render_metrics(&history);
        let samples = parse(&text);

        let orders = [("drill", "orders"), ("tier", "gold")];
        // The latest orders run failed and measured no RTO: no series, not a stale one.
        assert!(find(&samples, "restore_drill_last_rto_seconds", &orders).is_empty());
        assert_eq!(
            value(&samples, "restore_drill_last_rpo_seconds", &orders),
            42.0
        );
        assert_eq!(
            value(
                &samples,
                "restore_drill_last_rto_seconds",
                &[("drill", "invoices")]
            ),
            600.5
        );
        for (verdict, want) in [
            ("met", 0.0),
            ("failed", 1.0),
            ("missed", 0.0),
            ("error", 0.0),
        ] {
            let labels = [orders[0], orders[1], ("verdict", verdict)];
            assert_eq!(
                value(&samples, "restore_drill_last_verdict", &labels),
                want,
                "{verdict}"
            );
        }
        assert_eq!(
            find(&samples, "restore_drill_last_verdict", &orders).len(),
            5
        );
        let restore = [orders[0], ("phase", "restore")];
        assert_eq!(
            value(&samples, "restore_drill_last_phase_seconds", &restore),
            150.0
        );
        // 2026-10-01T13:00:00Z, the newest met run, though not the last row.
        assert_eq!(
            value(
                &samples,
                "restore_drill_last_success_timestamp_seconds",
                &orders
            ),
            1_790_859_600.0
        );
        assert!(
            find(
                &samples,
                "restore_drill_last_success_timestamp_seconds",
                &[("drill", "invoices")]
            )
            .is_empty()
        );
        assert_eq!(value(&samples, "restore_drill_runs_total", &orders), 3.0);
        assert_eq!(
            value(
                &samples,
                "restore_drill_runs_total",
                &[("drill", "invoices")]
            ),
            1.0
        );
        // Deterministic: drills by name whatever the history's order.
        let mut reversed = history.clone();
        reversed.reverse();
        assert_eq!(render_metrics(&reversed), text);
        let drills: Vec<&str> = find(&samples, "restore_drill_runs_total", &[])
            .iter()
            .map(|(_, l, _)| l["drill"].as_str())
            .collect();
        assert_eq!(drills, ["invoices", "orders"]);
    }

    #[test]
    fn label_values_are_escaped() {
        let nasty = "a\\b \"c\"\nd";
        let mut r = row(nasty, "2026-11-21T13:00:00Z", "met");
        r.tier = "t\"1".to_owned();
        r.phases = vec![("re\\store".to_owned(), 1.0)];
        let text = render_metrics(&[r]);
        assert!(
            text.contains(r#"drill="a\\b \"c\"\nd",tier="t\"1""#),
            "{text}"
        );
        let samples = parse(&text);
        assert_eq!(
            value(
                &samples,
                "restore_drill_last_phase_seconds",
                &[("drill", nasty), ("tier", "t\"1"), ("phase", "re\\store")]
            ),
            1.0
        );
    }

    #[test]
    fn an_unknown_verdict_and_odd_values_still_parse() {
        let mut r = row("x", "2026-11-21T13:00:00Z", "skipped");
        r.rto_seconds = Some(f64::INFINITY);
        let samples = parse(&render_metrics(&[r]));
        assert_eq!(
            value(
                &samples,
                "restore_drill_last_verdict",
                &[("verdict", "skipped")]
            ),
            1.0
        );
        assert_eq!(
            find(&samples, "restore_drill_last_verdict", &[])
                .iter()
                .map(|s| s.2)
                .sum::<f64>(),
            1.0
        );
        assert_eq!(
            value(&samples, "restore_drill_last_rto_seconds", &[]),
            f64::INFINITY
        );
    }

    #[test]
    fn families_without_samples_are_left_out() {
        assert_eq!(render_metrics(&[]), "");
        let mut r = row("x", "2026-11-21T13:00:00Z", "error");
        (r.rto_seconds, r.rpo_seconds) = (None, None);
        let text = render_metrics(&[r]);
        parse(&text);
        for absent in [
            "restore_drill_last_rto_seconds",
            "restore_drill_last_rpo_seconds",
            "restore_drill_last_success_timestamp_seconds",
        ] {
            assert!(!text.contains(absent), "{absent}:\n{text}");
        }
        assert!(text.contains("# TYPE restore_drill_runs_total counter\n"));
    }
}
