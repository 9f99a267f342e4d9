//! JUnit XML for CI pages: one `<testsuite>` per run, named after the drill (the run id, the
//! verdict and the drill's hash are suite properties), with one test case per restore, per
//! check, and per target (`RTO`, `RPO`).
//!
//! The cases say the same as the verdict: a run whose verdict is `met` has no failures and no
//! errors. A failed phase (`failed`, `timeout`, `interrupted`) fails its restore's case,
//! including a failed teardown, which leaves the verdict alone but makes the exit code 40, so
//! CI shows it too. What the harness could not do (verdict `error` or `invalid`) is a JUnit
//! `<error>`, what the backup got wrong a `<failure>`. Messages are one line, for the CI
//! page's summary; the details go in the element's text.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::{CheckOutcome, CheckReport, Outcome, RestoreReport, RunReport, Verdict};
use crate::drill::human_seconds;

/// JUnit XML for the runs of one invocation.
pub fn render_junit(reports: &[RunReport]) -> String {
    let mut junit = Report::new("restore-drill");
    if let Some(first) = reports.iter().map(|r| r.started_at).min() {
        junit.set_timestamp(first.fixed_offset());
    }
    junit.set_time(secs(reports.iter().map(|r| r.seconds).sum()));
    for r in reports {
        junit.add_test_suite(suite(r));
    }
    match junit.to_string() {
        Ok(xml) => xml,
        // Writing into a String cannot fail in practice; if it ever does, CI must still see
        // a red build rather than an empty file.
        Err(e) => fallback(&e.to_string()),
    }
}

fn suite(r: &RunReport) -> TestSuite {
    let mut s = TestSuite::new(r.drill.name.as_str());
    s.set_timestamp(r.started_at.fixed_offset());
    s.set_time(secs(r.seconds));
    s.add_properties([
        ("run_id", r.run_id.as_str()),
        ("verdict", r.verdict.as_str()),
        ("verdict_reason", r.verdict_reason.as_str()),
        ("tier", r.tier.name.as_str()),
        ("drill_file", r.drill.file.as_str()),
        ("drill_sha256", r.drill.sha256.as_str()),
        ("tool_version", r.tool_version.as_str()),
    ]);
    if let Some(signal) = &r.interrupted_by {
        s.add_property(("interrupted_by", signal.as_str()));
    }
    let harness = matches!(r.verdict, Verdict::Error | Verdict::Invalid);
    let mut cases: Vec<TestCase> = Vec::new();
    cases.extend(r.restores.iter().map(|rest| restore_case(r, rest, harness)));
    cases.extend(r.checks.iter().map(|c| check_case(r, c)));
    cases.push(target_case(
        r,
        "RTO",
        r.measured.rto_seconds,
        r.tier.rto_seconds,
        harness,
    ));
    cases.push(target_case(
        r,
        "RPO",
        r.measured.rpo_seconds,
        r.tier.rpo_seconds,
        harness,
    ));
    // A run that is not `met` must never look green on a CI page, even if no single case
    // above says why (e.g. an invalid drill that never got as far as a restore).
    let all_green = cases
        .iter()
        .all(|c| !matches!(c.status, TestCaseStatus::NonSuccess { .. }));
    if r.verdict != Verdict::Met && all_green {
        let kind = if harness {
            NonSuccessKind::Error
        } else {
            NonSuccessKind::Failure
        };
        let mut status = TestCaseStatus::non_success(kind);
        status
            .set_message(format!("verdict {}", r.verdict.as_str()))
            .set_type(r.verdict.as_str())
            .set_description(r.verdict_reason.as_str());
        let mut c = TestCase::new("verdict", status);
        c.set_classname(r.drill.name.as_str());
        cases.push(c);
    }
    s.add_test_cases(cases);
    s
}

/// `restore <id>`: fails on the first phase that failed, timed out or was interrupted.
fn restore_case(r: &RunReport, rest: &RestoreReport, harness: bool) -> TestCase {
    let bad = |o: Outcome| matches!(o, Outcome::Failed | Outcome::Timeout | Outcome::Interrupted);
    let mut body = String::new();
    for p in &rest.phases {
        let _ = write!(
            body,
            "{:<9} {:<11} {:>10.3}s  polls {:<4} resolution {:.3}s",
            p.name,
            p.outcome.as_str(),
            p.seconds,
            p.polls,
            p.resolution_seconds
        );
        if let Some(e) = &p.error {
            let _ = write!(
                body,
                "\n          {}",
                e.trim().replace('\n', "\n          ")
            );
        }
        body.push('\n');
    }
    if let Some(wu) = &rest.warmup {
        let ms = crate::drill::human_latency;
        let _ = writeln!(
            body,
            "warmup    {} p95 <= {} after {} runs in {:.3}s",
            if wu.reached { "reached" } else { "not reached" },
            ms(wu.until_p95_seconds),
            wu.runs,
            wu.seconds
        );
        for (i, b) in wu.batches.iter().enumerate() {
            let _ = writeln!(
                body,
                "  batch {:<3} {:>3} runs  p50 {}  p95 {}  p99 {}  max {}",
                i + 1,
                b.runs,
                ms(b.p50_seconds),
                ms(b.p95_seconds),
                ms(b.p99_seconds),
                ms(b.max_seconds)
            );
        }
    }
    let failed: Vec<_> = rest.phases.iter().filter(|p| bad(p.outcome)).collect();
    let ran_nothing = !rest.phases.is_empty()
        && rest
            .phases
            .iter()
            .all(|p| matches!(p.outcome, Outcome::Skipped | Outcome::Kept));
    let status = if let Some(first) = failed.first() {
        let mut msg = format!("{} {}", first.name, outcome_verb(first.outcome));
        if let Some(e) = first
            .error
            .as_deref()
            .map(one_line)
            .filter(|e| !e.is_empty())
        {
            let _ = write!(msg, ": {e}");
        }
        if failed.len() > 1 {
            let _ = write!(msg, " (and {} more phases)", failed.len() - 1);
        }
        let mut s = TestCaseStatus::non_success(if harness {
            NonSuccessKind::Error
        } else {
            NonSuccessKind::Failure
        });
        s.set_message(msg)
            .set_type(first.outcome.as_str())
            .set_description(body.as_str());
        s
    } else if ran_nothing {
        let mut s = TestCaseStatus::skipped();
        s.set_message("no phase ran").set_description(body.as_str());
        s
    } else {
        TestCaseStatus::success()
    };
    let mut c = TestCase::new(format!("restore {}", rest.id), status);
    c.set_classname(r.drill.name.as_str());
    c.set_time(secs(rest.phases.iter().map(|p| p.seconds).sum()));
    if let Some(first) = rest.phases.first() {
        c.set_timestamp(first.started_at.fixed_offset());
    }
    c.add_property(("kind", rest.kind.as_str()));
    if matches!(c.status, TestCaseStatus::Success { .. }) {
        c.set_system_out(body);
    }
    c
}

/// `check <name>`: a failure when the check found damage, an error when it could not run.
fn check_case(r: &RunReport, check: &CheckReport) -> TestCase {
    let mut body = String::new();
    for f in &check.findings {
        let _ = writeln!(
            body,
            "{} {}: expected {}, found {}",
            f.kind, f.object, f.expected, f.found
        );
        if !f.message.is_empty() {
            let _ = writeln!(body, "    {}", f.message.trim().replace('\n', "\n    "));
        }
    }
    let status = match check.outcome {
        CheckOutcome::Passed => TestCaseStatus::success(),
        CheckOutcome::Failed => {
            let n = check.findings.len();
            let mut msg = format!("{n} finding{}", if n == 1 { "" } else { "s" });
            if let Some(f) = check.findings.first() {
                let _ = write!(
                    msg,
                    ": {} {} (expected {}, found {})",
                    f.kind,
                    one_line(&f.object),
                    one_line(&f.expected),
                    one_line(&f.found)
                );
                if n > 1 {
                    let _ = write!(msg, " and {} more", n - 1);
                }
            }
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(msg).set_type("failed").set_description(body);
            s
        }
        CheckOutcome::Error => {
            let why = check
                .findings
                .first()
                .map(|f| one_line(&f.message))
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "no reason recorded".to_owned());
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(format!("could not run: {why}"))
                .set_type("error")
                .set_description(body.as_str());
            s
        }
    };
    let mut c = TestCase::new(format!("check {}", check.name), status);
    c.set_classname(r.drill.name.as_str());
    c.set_time(secs(check.seconds));
    c.add_properties([
        ("restore", check.restore.as_str()),
        ("kind", check.kind.as_str()),
    ]);
    c
}

/// `RTO` / `RPO`: a failure when over the tier's target (the engine's rule: measured >
/// target) or not measured at all.
fn target_case(
    r: &RunReport,
    what: &str,
    measured: Option<f64>,
    target: f64,
    harness: bool,
) -> TestCase {
    let tier = &r.tier.name;
    let show = human_seconds;
    let mut detail = match measured {
        Some(m) => format!(
            "measured {what} {}, {tier} target {}",
            show(m),
            show(target)
        ),
        None => format!("{what} not measured, {tier} target {}", show(target)),
    };
    if what == "RTO" && measured.is_some() {
        let _ = write!(
            detail,
            "\nincludes a declared detection allowance of {}",
            show(r.measured.detect_allowance_seconds)
        );
    }
    if what == "RPO"
        && let Some(src) = r.measured.rpo_source
    {
        let from = match src {
            super::RpoSource::Data => "the newest data in the restored target",
            super::RpoSource::Metadata => "the recovery point's metadata",
        };
        let _ = write!(detail, "\nmeasured from {from}");
    }
    let status = match measured {
        Some(m) if m > target => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!(
                "{what} {} exceeds the {tier} target {} by {}",
                show(m),
                show(target),
                show(m - target)
            ))
            .set_type("target_missed")
            .set_description(format!("{detail}\n{}\n", r.verdict_reason));
            s
        }
        Some(_) => TestCaseStatus::success(),
        None => {
            let mut s = TestCaseStatus::non_success(if harness {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            });
            s.set_message(format!(
                "{what} not measured ({tier} target {})",
                show(target)
            ))
            .set_type("not_measured")
            .set_description(format!("{detail}\n{}\n", r.verdict_reason));
            s
        }
    };
    let mut c = TestCase::new(what, status);
    c.set_classname(r.drill.name.as_str());
    c.add_property(Property::new("target_seconds", format!("{target:.3}")));
    if let Some(m) = measured {
        c.add_property(Property::new("measured_seconds", format!("{m:.3}")));
    }
    if matches!(c.status, TestCaseStatus::Success { .. }) {
        c.set_system_out(format!("{detail}\n"));
    }
    c
}

fn outcome_verb(o: Outcome) -> &'static str {
    match o {
        Outcome::Timeout => "timed out",
        other => other.as_str(),
    }
}

/// The first non-empty line, trimmed: CI pages show the message on one line.
fn one_line(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default().to_owned();
    if lines.next().is_some() {
        format!("{first} …")
    } else {
        first
    }
}

/// A duration for quick-junit, which cannot take a negative or non-finite one.
fn secs(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or_default()
}

/// A minimal, valid document saying the report could not be written.
fn fallback(error: &str) -> String {
    let esc = error
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"restore-drill\" tests=\"1\" failures=\"0\" errors=\"1\">\n<testsuite name=\"restore-drill\" tests=\"1\" failures=\"0\" errors=\"1\">\n<testcase name=\"junit report\"><error message=\"cannot write the JUnit report: {esc}\"/></testcase>\n</testsuite>\n</testsuites>\n"
    )
}
