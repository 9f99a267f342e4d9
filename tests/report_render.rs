//! The report renderers against two realistic runs of one drill (gold tier, two restores):
//! one that met its targets and one where a restore and a check failed.
//!
//! Markdown, JUnit and JSON are compared with golden files in `tests/golden/`, after a
//! redactor has replaced timestamps, clock times, decimal seconds and run ids, so the files
//! stay stable when the fixture's numbers are tuned. `UPDATE_GOLDEN=1` rewrites them. JUnit
//! is also parsed back (quick-xml) to count its failures and errors against the verdicts; the
//! HTML is searched for its charts, its verdict and its escaping; the CSV is parsed back and
//! compared with the phases.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use regex::Regex;
use restore_drill::drill::human_seconds;
use restore_drill::provider::{RecoveryPoint, Target};
use restore_drill::report::{
    CheckOutcome, CheckReport, DrillRef, Finding, Measured, Operator, Outcome, PhaseReport,
    RestoreReport, RpoSource, RunReport, TeardownReport, TierRef, Verdict, render_html,
    render_junit, render_markdown, render_phases_csv,
};

// --- the sample runs --------------------------------------------------------------------------

const RUN_ID: &str = "20261121T130501Z-7f3a";
/// A check name that would run script in a page that did not escape it.
const HOSTILE_CHECK: &str = "totals <script>alert(\"x\")</script> & 'co'";
/// A phase error with everything CSV must quote: a comma, double quotes and a newline.
const ACCESS_DENIED: &str = "copy of 2026/03/inv-0042.pdf failed: AccessDenied: \
    \"s3:GetObjectVersion\" denied for role drill-restore, on arn:aws:s3:::invoices-prod\n\
    request id 7Q2BX9K1";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("bad fixture time {text}: {e}"))
        .with_timezone(&Utc)
}

fn phase(name: &str, started: &str, seconds: f64, polls: u32, resolution: f64) -> PhaseReport {
    PhaseReport {
        name: name.into(),
        started_at: at(started),
        seconds,
        polls,
        resolution_seconds: resolution,
        outcome: Outcome::Ok,
        error: None,
        expected_seconds: None,
    }
}

fn failed(mut p: PhaseReport, outcome: Outcome, error: Option<&str>) -> PhaseReport {
    p.outcome = outcome;
    p.error = error.map(str::to_owned);
    p
}

fn check(restore: &str, kind: &str, name: &str, seconds: f64) -> CheckReport {
    CheckReport {
        restore: restore.into(),
        kind: kind.into(),
        name: name.into(),
        outcome: CheckOutcome::Passed,
        findings: Vec::new(),
        seconds,
        found: None,
    }
}

fn finding(kind: &str, object: &str, expected: &str, found: &str, message: &str) -> Finding {
    Finding {
        kind: kind.into(),
        object: object.into(),
        expected: expected.into(),
        found: found.into(),
        message: message.into(),
    }
}

fn orders_restore(phases: Vec<PhaseReport>) -> RestoreReport {
    RestoreReport {
        id: "orders".into(),
        kind: "rds_pitr".into(),
        recovery_point: Some(RecoveryPoint {
            kind: "pitr".into(),
            id: "orders-prod".into(),
            time: Some(at("2026-11-21T13:04:58.000Z")),
            latest_restorable: Some(at("2026-11-21T13:04:58.000Z")),
            notes: vec![
                "the incident is after the latest restorable time: restored to that instead".into(),
            ],
        }),
        target: Some(Target {
            kind: "rds_instance".into(),
            name: "drill-orders-20261121t130501z-7f3a".into(),
            address: Some(
                "drill-orders-20261121t130501z-7f3a.c9x2.us-west-2.rds.amazonaws.com:5432".into(),
            ),
            details: BTreeMap::from([
                ("instance_class".into(), "db.t4g.medium".into()),
                ("region".into(), "us-west-2".into()),
            ]),
        }),
        phases,
        newest_data_at: Some(at("2026-11-21T13:04:19.250Z")),
        warmup: None,
    }
}

fn invoices_restore(phases: Vec<PhaseReport>, newest: Option<&str>) -> RestoreReport {
    RestoreReport {
        id: "invoices".into(),
        kind: "s3_versions".into(),
        recovery_point: Some(RecoveryPoint {
            kind: "object_versions".into(),
            id: "invoices-prod/2026/".into(),
            time: Some(at("2026-11-21T13:05:01.000Z")),
            latest_restorable: None,
            notes: Vec::new(),
        }),
        target: Some(Target {
            kind: "s3_prefix".into(),
            name: format!("invoices-drill/{RUN_ID}/"),
            address: None,
            details: BTreeMap::new(),
        }),
        phases,
        newest_data_at: newest.map(at),
        warmup: None,
    }
}

fn base_report(verdict: Verdict, reason: String) -> RunReport {
    RunReport {
        format_version: 1,
        tool_version: "0.1.0".into(),
        drill: DrillRef {
            name: "orders-db".into(),
            file: "drills/orders-rds-pitr.toml".into(),
            sha256: "4f1c9a0e2b7d3c5a8e6f1b2d4c3a5e7f9b0d2c4e6a8f1b3d5c7e9a0b2d4f6c8e".into(),
        },
        run_id: RUN_ID.into(),
        started_at: at("2026-11-21T13:05:01.000Z"),
        finished_at: at("2026-11-21T13:12:40.331Z"),
        seconds: 459.331,
        incident_at: at("2026-11-21T13:05:01.000Z"),
        tier: TierRef {
            name: "gold".into(),
            rto_seconds: 900.0,
            rpo_seconds: 300.0,
        },
        verdict,
        verdict_reason: reason,
        measured: Measured {
            rto_seconds: None,
            rpo_seconds: None,
            rpo_source: None,
            detect_allowance_seconds: 300.0,
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

/// Every restore came back, every check passed, RTO and RPO under the gold targets.
fn met_report() -> RunReport {
    let (rto, rpo) = (721.087, 69.98);
    let mut r = base_report(
        Verdict::Met,
        format!(
            "Every restore came back and passed its checks: RTO {} (target 15m), RPO {} (target 5m).",
            human_seconds(rto),
            human_seconds(rpo)
        ),
    );
    r.measured.rto_seconds = Some(rto);
    r.measured.rpo_seconds = Some(rpo);
    r.measured.rpo_source = Some(RpoSource::Data);
    r.restores = vec![
        orders_restore(vec![
            phase("resolve", "2026-11-21T13:05:01.112Z", 0.842, 1, 0.0),
            phase("restore", "2026-11-21T13:05:01.961Z", 402.517, 27, 15.0),
            phase("prepare", "2026-11-21T13:11:44.487Z", 6.203, 2, 1.0),
            phase("verify", "2026-11-21T13:11:50.699Z", 11.388, 5, 0.0),
            phase("teardown", "2026-11-21T13:12:02.101Z", 38.224, 6, 5.0),
        ]),
        invoices_restore(
            vec![
                phase("resolve", "2026-11-21T13:05:01.108Z", 3.127, 0, 0.0),
                phase("restore", "2026-11-21T13:05:04.240Z", 187.402, 0, 0.0),
                phase("verify", "2026-11-21T13:08:11.650Z", 4.215, 1, 0.0),
                phase("teardown", "2026-11-21T13:12:02.103Z", 9.871, 0, 0.0),
            ],
            Some("2026-11-21T13:03:51.020Z"),
        ),
    ];
    r.checks = vec![
        check("orders", "sql", "orders are back", 0.412),
        check("orders", "freshness", "orders freshness", 0.088),
        check("orders", "table_checksum", "orders table checksum", 9.731),
        check("orders", "sql", HOSTILE_CHECK, 1.02),
        check("invoices", "s3_manifest", "invoices manifest", 4.107),
    ];
    r.operator = Some(Operator {
        user: Some("runner".into()),
        host: Some("ci-runner-7".into()),
        ci: Some("github-actions".into()),
        ci_run_url: Some("https://github.com/acme/dr/actions/runs/7712345678/attempts/1".into()),
        ci_actor: Some("octocat".into()),
    });
    r
}

/// The orders checksum finds damage, one check cannot run (so verify fails), and the invoices
/// copy is denied: verdict failed, RTO not measured, RPO from metadata.
fn failed_report() -> RunReport {
    let mut r = base_report(
        Verdict::Failed,
        format!(
            "The restore did not succeed: restore \"orders\": verify failed: 2 of 4 checks did \
             not pass; restore \"invoices\": restore failed: {}.",
            ACCESS_DENIED.lines().next().unwrap_or_default()
        ),
    );
    r.finished_at = at("2026-11-21T13:12:41.750Z");
    r.seconds = 460.75;
    r.measured.rpo_seconds = Some(41.75);
    r.measured.rpo_source = Some(RpoSource::Metadata);
    r.restores = vec![
        orders_restore(vec![
            phase("resolve", "2026-11-21T13:05:01.112Z", 0.842, 1, 0.0),
            phase("restore", "2026-11-21T13:05:01.961Z", 402.517, 27, 15.0),
            phase("prepare", "2026-11-21T13:11:44.487Z", 6.203, 2, 1.0),
            failed(
                phase("verify", "2026-11-21T13:11:50.699Z", 12.9, 0, 0.0),
                Outcome::Failed,
                Some("2 of 4 checks did not pass"),
            ),
            phase("teardown", "2026-11-21T13:12:03.650Z", 38.1, 6, 5.0),
        ]),
        invoices_restore(
            vec![
                phase("resolve", "2026-11-21T13:05:01.108Z", 3.127, 0, 0.0),
                failed(
                    phase("restore", "2026-11-21T13:05:04.240Z", 31.702, 0, 0.0),
                    Outcome::Failed,
                    Some(ACCESS_DENIED),
                ),
                failed(
                    phase("verify", "2026-11-21T13:05:35.942Z", 0.0, 0, 0.0),
                    Outcome::Skipped,
                    None,
                ),
                phase("teardown", "2026-11-21T13:12:03.652Z", 2.114, 0, 0.0),
            ],
            None,
        ),
    ];
    let mut checksum = check("orders", "table_checksum", "orders table checksum", 9.731);
    checksum.outcome = CheckOutcome::Failed;
    checksum.findings = vec![
        finding(
            "missing",
            "orders id=1042",
            "present",
            "absent",
            "the row is in the reference but not in the restore",
        ),
        finding(
            "changed",
            "orders id=2001",
            "row hash 9f2c41d0",
            "row hash 11ab07e3",
            "the row differs from the reference",
        ),
    ];
    let mut hostile = check("orders", "sql", HOSTILE_CHECK, 0.031);
    hostile.outcome = CheckOutcome::Error;
    hostile.findings = vec![finding(
        "error",
        HOSTILE_CHECK,
        "the check runs",
        "it could not",
        "query failed: relation \"invoice_totals\" does not exist",
    )];
    r.checks = vec![
        check("orders", "sql", "orders are back", 0.412),
        check("orders", "freshness", "orders freshness", 0.088),
        checksum,
        hostile,
    ];
    r
}

/// Like `met_report`, but the RTO is over the gold target.
fn missed_report() -> RunReport {
    let mut r = met_report();
    let rto = 1050.412;
    r.measured.rto_seconds = Some(rto);
    r.verdict = Verdict::Missed;
    r.verdict_reason = format!(
        "Restored and verified, but RTO {} exceeds the gold target 15m by {}.",
        human_seconds(rto),
        human_seconds(rto - 900.0)
    );
    r
}

// --- redaction and golden files -----------------------------------------------------------------

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})").unwrap()
});
static RUN_ID_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b\d{8}T\d{6}Z-[0-9a-f]{4,}\b").unwrap());
static CLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{2}:\d{2}:\d{2}\.\d{3}\b").unwrap());
/// Runs of digits and dots; only those with exactly one dot (`12.345`) are seconds, so a
/// version (`0.1.0`), an address (`10.0.0.5`) or the XML declaration's version stays.
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(version=")?\d+(?:\.\d+)+"#).unwrap());

/// Replaces what changes from run to run: timestamps, clock times, run ids, decimal seconds.
fn redact(text: &str) -> String {
    let t = TIMESTAMP.replace_all(text, "<time>");
    let t = RUN_ID_RE.replace_all(&t, "<run_id>");
    let t = CLOCK.replace_all(&t, "<clock>");
    NUMBER
        .replace_all(&t, |c: &regex::Captures<'_>| {
            let m = &c[0];
            if c.get(1).is_none() && m.matches('.').count() == 1 {
                "<secs>".to_owned()
            } else {
                m.to_owned()
            }
        })
        .into_owned()
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` (redacted) with `tests/golden/<name>`, or rewrites the file when
/// `UPDATE_GOLDEN=1`. Returns the problem, if any, so one test can report every file.
fn golden(name: &str, actual: &str) -> Result<(), String> {
    let actual = redact(actual);
    let path = golden_path(name);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        return std::fs::write(&path, &actual).map_err(|e| format!("{}: {e}", path.display()));
    }
    let expected = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {} ({e}); run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    })?;
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "{} differs from the rendering (- golden, + now); if the change is intended, rerun with \
         UPDATE_GOLDEN=1 and review the diff\n{}",
        path.display(),
        diff(&expected, &actual)
    ))
}

/// A line diff (longest common subsequence) with two lines of context around each change.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // (tag, golden line number, text)
    let mut ops: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', i + 1, a[i]));
            i += 1;
            j += 1;
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i + 1, a[i]));
            i += 1;
        } else {
            ops.push(('+', i + 1, b[j]));
            j += 1;
        }
    }
    if ops.iter().all(|(t, _, _)| *t == ' ') {
        return "(the lines are equal: the files differ in line endings or the final newline)"
            .to_owned();
    }
    let near_change = |k: usize| {
        ops[k.saturating_sub(2)..(k + 3).min(ops.len())]
            .iter()
            .any(|(t, _, _)| *t != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (tag, line, text)) in ops.iter().enumerate() {
        if near_change(k) {
            if skipped || out.is_empty() {
                out.push_str(&format!("@@ line {line} @@\n"));
            }
            out.push_str(&format!("{tag} {text}\n"));
            skipped = false;
        } else {
            skipped = true;
        }
    }
    out
}

fn check_goldens(ext: &str, render: impl Fn(&RunReport) -> String) {
    let problems: Vec<String> = [("met", met_report()), ("failed", failed_report())]
        .iter()
        .filter_map(|(name, r)| golden(&format!("{name}.{ext}"), &render(r)).err())
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn redactor_replaces_what_varies_and_keeps_the_rest() {
    let text = "run 20261121T130501Z-7f3a started 2026-11-21T13:05:01.112Z (13:05:01.112, \
                +00:00 form 2026-11-21T13:05:01.112+00:00), took 12m 1.087s, \"seconds\": 459.331, \
                drill-orders-20261121t130501z-7f3a, restore-drill 0.1.0 at 10.0.0.5, 27 polls, \
                <?xml version=\"1.0\"?>";
    assert_eq!(
        redact(text),
        "run <run_id> started <time> (<clock>, +00:00 form <time>), took 12m <secs>s, \
         \"seconds\": <secs>, drill-orders-<run_id>, restore-drill 0.1.0 at 10.0.0.5, 27 polls, \
         <?xml version=\"1.0\"?>"
    );
}

#[test]
fn golden_diff_points_at_the_changed_line() {
    let d = diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n");
    assert_eq!(d, "@@ line 2 @@\n  b\n  c\n- d\n+ D\n  e\n  f\n");
}

#[test]
fn markdown_matches_golden() {
    check_goldens("md", render_markdown);
}

#[test]
fn junit_matches_golden() {
    check_goldens("junit.xml", |r| render_junit(std::slice::from_ref(r)));
}

#[test]
fn json_matches_golden() {
    check_goldens("json", |r| {
        let mut s = serde_json::to_string_pretty(r).expect("a report serializes");
        s.push('\n');
        s
    });
}

// --- a small XML tree, read with quick-xml ------------------------------------------------------

#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn all<'a>(&'a self, name: &str, out: &mut Vec<&'a Node>) {
        for c in &self.children {
            if c.name == name {
                out.push(c);
            }
            c.all(name, out);
        }
    }

    fn find_all(&self, name: &str) -> Vec<&Node> {
        let mut out = Vec::new();
        self.all(name, &mut out);
        out
    }
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Node {
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.expect("a well-formed attribute");
            let key = a.key.as_ref().to_owned();
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .expect("a well-formed attribute value")
                .into_owned();
            (key, value)
        })
        .collect();
    Node {
        name: e.name().as_ref().to_owned(),
        attrs,
        ..Node::default()
    }
}

/// Parses a whole XML document (or fragment with one root) into a tree under a nameless root;
/// panics on anything that is not well-formed.
fn parse_xml(xml: &str) -> Node {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack = vec![Node::default()];
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed XML at {}: {e}", reader.buffer_position()));
        match event {
            Event::Start(e) => stack.push(element(&e)),
            Event::Empty(e) => {
                let node = element(&e);
                stack.last_mut().expect("a parent").children.push(node);
            }
            Event::End(_) => {
                let node = stack.pop().expect("an open element");
                stack.last_mut().expect("a parent").children.push(node);
            }
            Event::Text(t) => stack
                .last_mut()
                .expect("a parent")
                .text
                .push_str(&t.xml10_content()),
            Event::CData(t) => stack
                .last_mut()
                .expect("a parent")
                .text
                .push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref().expect("a valid character reference") {
                    Some(c) => c.to_string(),
                    None => match &*r {
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "amp" => "&".to_owned(),
                        "quot" => "\"".to_owned(),
                        "apos" => "'".to_owned(),
                        other => panic!("unknown entity &{other};"),
                    },
                };
                stack.last_mut().expect("a parent").text.push_str(&text);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(
        stack.len(),
        1,
        "unclosed elements at the end of the document"
    );
    stack.pop().unwrap_or_default()
}

// --- JUnit ------------------------------------------------------------------------------------

/// Counts `<failure>` and `<error>` elements in a suite.
fn non_successes(suite: &Node) -> (usize, usize) {
    (
        suite.find_all("failure").len(),
        suite.find_all("error").len(),
    )
}

#[test]
fn junit_failures_and_errors_match_the_verdicts() {
    let runs = [met_report(), failed_report(), missed_report()];
    let xml = render_junit(&runs);
    let doc = parse_xml(&xml);
    let root = doc.child("testsuites").expect("a <testsuites> root");
    let suites = root.find_all("testsuite");
    assert_eq!(suites.len(), 3, "one suite per run");

    // What each verdict says, case by case:
    //   met:    nothing;
    //   failed: restore orders (verify failed), restore invoices (restore failed), the
    //           checksum check (failed) and RTO (not measured) are failures, the check that
    //           could not run is an error; RPO is measured and under its target;
    //   missed: RTO over the target, and nothing else.
    let expected = [(0, 0), (4, 1), (1, 0)];
    for ((suite, run), (failures, errors)) in suites.iter().zip(&runs).zip(expected) {
        let what = format!("suite of the {} run", run.verdict.as_str());
        assert_eq!(non_successes(suite), (failures, errors), "{what}");
        // The suite's own counts agree with its elements.
        assert_eq!(
            suite.attr("failures"),
            Some(failures.to_string().as_str()),
            "{what}"
        );
        assert_eq!(
            suite.attr("errors"),
            Some(errors.to_string().as_str()),
            "{what}"
        );
        assert_eq!(
            run.verdict == Verdict::Met,
            failures + errors == 0,
            "{what}: a run is green on CI exactly when its verdict is met"
        );
    }
    assert_eq!(root.attr("failures"), Some("5"));
    assert_eq!(root.attr("errors"), Some("1"));

    // Every message is a single line, fit for a CI page's summary.
    for n in root
        .find_all("failure")
        .into_iter()
        .chain(root.find_all("error"))
    {
        let msg = n
            .attr("message")
            .expect("every failure and error has a message");
        assert!(!msg.is_empty() && !msg.contains('\n'), "message {msg:?}");
    }
}

#[test]
fn junit_names_suites_cases_and_says_why() {
    let xml = render_junit(&[met_report(), failed_report()]);
    let doc = parse_xml(&xml);
    let suites = doc.find_all("testsuite");
    assert_eq!(suites.len(), 2);

    let case_names = |s: &Node| -> Vec<String> {
        s.find_all("testcase")
            .iter()
            .map(|c| c.attr("name").unwrap_or_default().to_owned())
            .collect()
    };
    let met = suites[0];
    assert_eq!(met.attr("name"), Some("orders-db"));
    let props: Vec<(&str, &str)> = met
        .find_all("property")
        .iter()
        .filter_map(|p| Some((p.attr("name")?, p.attr("value")?)))
        .collect();
    assert!(props.contains(&("run_id", RUN_ID)), "properties {props:?}");
    assert!(props.contains(&("verdict", "met")), "properties {props:?}");
    assert_eq!(
        case_names(met),
        [
            "restore orders",
            "restore invoices",
            "check orders are back",
            "check orders freshness",
            "check orders table checksum",
            &format!("check {HOSTILE_CHECK}"),
            "check invoices manifest",
            "RTO",
            "RPO",
        ]
    );
    // Times are seconds: the restore case is the sum of its phases.
    let orders = met.find_all("testcase")[0];
    assert_eq!(orders.attr("time"), Some("459.174"));

    let bad = suites[1];
    let case = |name: &str| {
        bad.find_all("testcase")
            .into_iter()
            .find(|c| c.attr("name") == Some(name))
            .unwrap_or_else(|| panic!("no test case {name:?} in {:?}", case_names(bad)))
    };
    let restore = case("restore invoices")
        .child("failure")
        .expect("the invoices restore failed");
    assert_eq!(
        restore.attr("message"),
        Some(
            "restore failed: copy of 2026/03/inv-0042.pdf failed: AccessDenied: \
             \"s3:GetObjectVersion\" denied for role drill-restore, on arn:aws:s3:::invoices-prod …"
        )
    );
    assert!(
        restore.text.contains("request id 7Q2BX9K1"),
        "the full error is in the body: {}",
        restore.text
    );
    assert!(
        restore.text.contains("verify    skipped"),
        "{}",
        restore.text
    );

    let checksum = case("check orders table checksum")
        .child("failure")
        .expect("the checksum check failed");
    assert_eq!(
        checksum.attr("message"),
        Some("2 findings: missing orders id=1042 (expected present, found absent) and 1 more")
    );
    assert!(
        checksum.text.contains(
            "changed orders id=2001: expected row hash 9f2c41d0, found row hash 11ab07e3"
        ),
        "{}",
        checksum.text
    );
    let hostile = case(&format!("check {HOSTILE_CHECK}"));
    assert!(hostile.child("failure").is_none());
    let error = hostile.child("error").expect("the check could not run");
    assert_eq!(
        error.attr("message"),
        Some("could not run: query failed: relation \"invoice_totals\" does not exist")
    );

    let rto = case("RTO").child("failure").expect("RTO was not measured");
    assert_eq!(
        rto.attr("message"),
        Some("RTO not measured (gold target 15m)")
    );
    assert!(
        case("RPO").child("failure").is_none(),
        "RPO 41.75s is under 5m"
    );

    // The missed run: by how much, and which tier.
    let xml = render_junit(&[missed_report()]);
    let doc = parse_xml(&xml);
    let rto = doc
        .find_all("testcase")
        .into_iter()
        .find(|c| c.attr("name") == Some("RTO"))
        .and_then(|c| c.child("failure"))
        .expect("RTO over target is a failure");
    assert_eq!(
        rto.attr("message"),
        Some("RTO 17m 30.4s exceeds the gold target 15m by 2m 30.4s")
    );
}

// --- HTML -------------------------------------------------------------------------------------

/// Text as maud escapes it (issue 19: the page comes from a template engine): `& < > "`. A
/// `'` stays as it is, which is safe in element text and in the double-quoted attributes maud
/// writes.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `<svg id="...">…</svg>` element of a page, parsed: SVG inside HTML is XML.
fn svg<'a>(html: &'a str, id: &str) -> (&'a str, Node) {
    let open = format!("<svg id=\"{id}\"");
    let start = html
        .find(&open)
        .unwrap_or_else(|| panic!("no <svg id=\"{id}\">"));
    let len = html[start..]
        .find("</svg>")
        .unwrap_or_else(|| panic!("<svg id=\"{id}\"> is not closed"));
    let text = &html[start..start + len + "</svg>".len()];
    let doc = parse_xml(text);
    let root = doc.children.into_iter().next().expect("the svg element");
    (text, root)
}

#[test]
fn html_has_verdict_charts_and_checks() {
    for (r, word) in [(met_report(), "MET"), (failed_report(), "FAILED")] {
        let html = render_html(&r);
        assert!(html.starts_with("<!DOCTYPE html>"));
        let verdict_at = html
            .find(&format!("<div class=\"word\">{word}</div>"))
            .unwrap_or_else(|| panic!("no {word} verdict"));
        assert!(
            html.contains(&format!("class=\"verdict v-{}\"", r.verdict.as_str())),
            "the verdict has its colour class"
        );

        // Both charts, after the verdict, labelled for screen readers.
        for id in ["phase-timeline", "targets"] {
            let (text, root) = svg(&html, id);
            assert!(html.find(text).is_some_and(|at| at > verdict_at));
            assert_eq!(root.name, "svg");
            assert_eq!(root.attr("role"), Some("img"), "{id}");
            assert!(
                root.attr("aria-label").is_some_and(|l| l.len() > 20),
                "{id} has an aria-label"
            );
        }
        // One bar (a rect with a tooltip) per phase, coloured by outcome.
        let (_, timeline) = svg(&html, "phase-timeline");
        let bars: Vec<&Node> = timeline
            .find_all("rect")
            .into_iter()
            .filter(|n| n.child("title").is_some())
            .collect();
        let phases: Vec<&PhaseReport> = r.restores.iter().flat_map(|x| &x.phases).collect();
        assert_eq!(bars.len(), phases.len());
        for (bar, p) in bars.iter().zip(&phases) {
            let ok = bar.attr("fill") == Some("#2da44e");
            assert_eq!(ok, p.outcome == Outcome::Ok, "bar of {}", p.name);
        }
        // A target line per row, and the measured bars on the targets chart.
        let (_, targets) = svg(&html, "targets");
        assert_eq!(targets.find_all("line").len(), 2);
        let label = targets.attr("aria-label").unwrap_or_default();
        assert!(label.contains("gold target 15m"), "{label}");

        for c in &r.checks {
            assert!(
                html.contains(&html_escape(&c.name)),
                "check {:?} is in the page",
                c.name
            );
        }
        // Self-contained: nothing fetched, nothing run.
        assert!(!html.contains("<link") && !html.contains("@import") && !html.contains("src="));
        assert_eq!(
            html.matches("http").count(),
            html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
            "the only URLs are SVG namespaces"
        );
        assert_eq!(html.matches("url(").count(), html.matches("url(#").count());
    }
}

/// Issue 19: a passing `sql` check records the value it found, in report.json and the page.
#[test]
fn a_passing_sql_check_shows_the_value_it_found() {
    let mut r = met_report();
    r.checks[0].found = Some("1042".into());
    assert_eq!(r.checks[0].outcome, CheckOutcome::Passed);
    let json = serde_json::to_value(&r).expect("a report serializes");
    assert_eq!(json["checks"][0]["found"], "1042");
    assert!(json["checks"][1].get("found").is_none(), "absent when none");
    assert!(render_html(&r).contains("<td><code>1042</code></td>"));
}

#[test]
fn html_escapes_text_from_the_report() {
    // Issue 19: a finding carries database values; one holding markup renders inert.
    let mut r = failed_report();
    r.checks[0].findings.push(finding(
        "changed",
        "<script>alert(1)</script>",
        "1",
        "\"><img src=x onerror=alert(1)>",
        "</td></tr></table><script>",
    ));
    let html = render_html(&r);
    assert!(!html.to_lowercase().contains("<img"));
    assert!(html.contains("<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(
        !html.to_lowercase().contains("<script"),
        "a check name must not become a script element"
    );
    assert!(html.contains("totals &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'co'"));
    assert!(html.contains("relation &quot;invoice_totals&quot; does not exist"));
    assert!(html.contains("RTO not measured"));
}

// --- CSV --------------------------------------------------------------------------------------

/// The records of a CSV text, read with the `csv` crate (issue 19: every CSV the tool writes
/// reads with it).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn csv_round_trips_the_phases() {
    for r in [met_report(), failed_report()] {
        let text = render_phases_csv(&r);
        let rows = parse_csv(&text);
        assert_eq!(
            rows[0],
            [
                "restore",
                "phase",
                "started_at",
                "seconds",
                "polls",
                "resolution_seconds",
                "outcome",
                "error"
            ]
        );
        let phases: Vec<(&str, &PhaseReport)> = r
            .restores
            .iter()
            .flat_map(|x| x.phases.iter().map(move |p| (x.id.as_str(), p)))
            .collect();
        assert_eq!(rows.len(), 1 + phases.len());
        for (row, (restore, p)) in rows[1..].iter().zip(&phases) {
            assert_eq!(row.len(), 8, "{row:?}");
            assert_eq!(row[0], *restore);
            assert_eq!(row[1], p.name);
            assert!(row[2].ends_with('Z') && row[2].len() == 24, "{}", row[2]);
            assert_eq!(at(&row[2]), p.started_at);
            assert_eq!(row[3], format!("{:.3}", p.seconds));
            assert!((row[3].parse::<f64>().unwrap_or(f64::NAN) - p.seconds).abs() < 5e-4);
            assert_eq!(row[4].parse::<u32>().ok(), Some(p.polls));
            assert!(
                (row[5].parse::<f64>().unwrap_or(f64::NAN) - p.resolution_seconds).abs() < 5e-4
            );
            let outcome = serde_json::to_value(p.outcome).expect("an outcome serializes");
            assert_eq!(Some(row[6].as_str()), outcome.as_str());
            assert_eq!(row[7], p.error.clone().unwrap_or_default());
        }
    }
    // The error with a comma, quotes and a line break is quoted, quotes doubled; records end
    // in CRLF (RFC 4180).
    let text = render_phases_csv(&failed_report());
    assert!(text.starts_with("restore,phase,started_at,") && text.ends_with("\r\n"));
    assert_eq!(text.matches("\r\n").count(), parse_csv(&text).len());
    assert!(text.contains(
        "\"copy of 2026/03/inv-0042.pdf failed: AccessDenied: \"\"s3:GetObjectVersion\"\" denied"
    ));
}

// --- a sample page for ci/screenshot-report ---------------------------------------------------

/// Writes the sample reports as HTML for a look in a browser: `target/sample-report.html`
/// (the met run) and `target/sample-report-failed.html`. Run by `ci/screenshot-report`.
#[test]
#[ignore = "writes files for ci/screenshot-report; run with --ignored"]
fn write_sample_html() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&dir).expect("target/ can be created");
    for (name, r) in [
        ("sample-report.html", met_report()),
        ("sample-report-failed.html", failed_report()),
        ("sample-report-missed.html", missed_report()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, render_html(&r))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        println!("{}", path.display());
    }
}
