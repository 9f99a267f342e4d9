//! The engine on tokio's paused clock, driven by a scripted restorer that finishes each phase
//! at a chosen moment, fails, hangs or is interrupted, taking its looks at chosen moments.
//! The figures in the report are asserted exactly: they are the product (issue 14).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use restore_drill::drill::{DrillPlan, RestorePlan, TierCatalog, check_drill};
use restore_drill::engine::{
    Cancel, CheckDone, RestoreDriver, RunOptions, RunOutput, VerifyJob, run_with,
};
use restore_drill::provider::poll::look;
use restore_drill::provider::{ProviderError, RecoveryPoint, RunContext, Target, Waited};
use restore_drill::report::{
    CheckOutcome, CheckReport, Outcome, PhaseReport, RpoSource, RunReport, Verdict,
};
use tokio::time::{Instant, sleep_until};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// How one scripted phase goes, in seconds from its start.
#[derive(Debug, Clone)]
enum Step {
    /// Looks at these moments, then succeeds at `at`.
    Done { looks: Vec<f64>, at: f64 },
    /// Looks at these moments, then fails at `at`.
    Fail { looks: Vec<f64>, at: f64 },
    /// Looks at these moments and never finishes.
    Hang { looks: Vec<f64> },
}

fn done(at: f64) -> Step {
    Step::Done { looks: vec![], at }
}

impl Step {
    async fn play(&self) -> Result<Waited, ProviderError> {
        let t0 = Instant::now();
        let looks = match self {
            Step::Done { looks, .. } | Step::Fail { looks, .. } | Step::Hang { looks } => looks,
        };
        for &l in looks {
            sleep_until(t0 + secs(l)).await;
            look();
        }
        match self {
            Step::Done { at, .. } => {
                sleep_until(t0 + secs(*at)).await;
                // A claim the engine must not believe over the looks it saw itself.
                Ok(if looks.is_empty() {
                    Waited::default()
                } else {
                    Waited {
                        polls: 999,
                        resolution: secs(999.0),
                    }
                })
            }
            Step::Fail { at, .. } => {
                sleep_until(t0 + secs(*at)).await;
                Err(ProviderError::restore("the scripted phase failed"))
            }
            Step::Hang { .. } => std::future::pending().await,
        }
    }
}

/// One scripted check of `verify`: it takes its looks, then reports at `at` (seconds from the
/// start of `verify`).
#[derive(Debug, Clone)]
struct ScriptedCheck {
    looks: Vec<f64>,
    at: f64,
    passed: bool,
    /// The newest data it found, in seconds after the incident (negative: before).
    newest: Option<f64>,
}

#[derive(Debug, Clone)]
struct Script {
    resolve: Step,
    /// The recovery point goes to a moment (the incident), rather than the latest.
    to_incident: bool,
    restore: Step,
    prepare: Step,
    checks: Vec<ScriptedCheck>,
    teardown: Step,
}

fn quick(restore: f64) -> Script {
    Script {
        resolve: done(1.0),
        to_incident: true,
        restore: done(restore),
        prepare: done(4.0),
        checks: vec![ScriptedCheck {
            looks: vec![],
            at: 5.0,
            passed: true,
            newest: Some(-30.0),
        }],
        teardown: done(300.0),
    }
}

/// Where a scripted restore keeps what the engine lent its restore phase (`poll::expected`).
type Lent = Arc<Mutex<Option<(Instant, Option<Duration>)>>>;

struct Scripted {
    id: String,
    script: Script,
    incident: Option<DateTime<Utc>>,
    /// What the engine lent the restore phase: its start and expected duration.
    lent: Lent,
}

impl RestoreDriver for Scripted {
    fn has_copy(&self) -> bool {
        false
    }

    async fn resolve(&mut self, incident: DateTime<Utc>) -> Result<RecoveryPoint, ProviderError> {
        self.incident = Some(incident);
        self.script.resolve.play().await?;
        Ok(RecoveryPoint {
            kind: "pitr".into(),
            id: format!("{}-backup", self.id),
            time: self.script.to_incident.then_some(incident),
            latest_restorable: Some(incident),
            notes: vec![],
        })
    }

    async fn copy(&mut self, _: &RunContext) -> Result<Waited, ProviderError> {
        Ok(Waited::default())
    }

    async fn restore(&mut self, _: &RunContext) -> Result<Waited, ProviderError> {
        *self.lent.lock().unwrap() = restore_drill::provider::poll::expected();
        self.script.restore.play().await
    }

    async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        let w = self.script.prepare.play().await?;
        Ok((
            Target {
                kind: "scripted".into(),
                name: self.id.clone(),
                address: None,
                details: Default::default(),
            },
            w,
        ))
    }

    async fn verify(
        &mut self,
        _: &VerifyJob<'_>,
        report: CheckDone<'_>,
    ) -> Result<(), ProviderError> {
        let t0 = Instant::now();
        for (i, c) in self.script.checks.iter().enumerate() {
            for &l in &c.looks {
                sleep_until(t0 + secs(l)).await;
                look();
            }
            sleep_until(t0 + secs(c.at)).await;
            let newest = match (c.newest, self.incident) {
                (Some(s), Some(incident)) => {
                    Some(incident + chrono::Duration::milliseconds((s * 1000.0) as i64))
                }
                _ => None,
            };
            report(
                &CheckReport {
                    restore: self.id.clone(),
                    kind: "scripted".into(),
                    name: format!("check {i}"),
                    outcome: if c.passed {
                        CheckOutcome::Passed
                    } else {
                        CheckOutcome::Failed
                    },
                    findings: vec![],
                    seconds: 0.0,
                    found: None,
                },
                newest,
            );
        }
        Ok(())
    }

    async fn teardown(&mut self) -> Result<(), Vec<String>> {
        self.script
            .teardown
            .play()
            .await
            .map(|_| ())
            .map_err(|e| vec![e.message])
    }

    fn notes(&self) -> Vec<String> {
        vec![]
    }

    fn keep(&mut self) -> Option<String> {
        None
    }
}

/// A drill of `n` restores, gold tier, a 5-minute detection allowance, the incident a minute
/// before the run starts, and a restore timeout of 10 minutes.
fn plan(ids: &[&str]) -> DrillPlan {
    let mut text = String::from(
        r#"name = "scripted"
tier = "gold"
schedule = "quarterly"

[incident]
at = "-1m"
detect_allowance = "5m"

[provider]
kind = "aws"
region = "us-east-1"

[timeouts]
restore = "10m"
"#,
    );
    for id in ids {
        text.push_str(&format!(
            r#"
[[restore]]
id = "{id}"
kind = "s3_versions"
bucket = "{id}-prod"
prefix = "data/"
to = "incident"
[restore.target]
bucket = "{id}-drill"
prefix = "{{run_id}}/"
"#
        ));
    }
    let checked = check_drill(
        Path::new("/nonexistent/scripted.toml"),
        &text,
        &TierCatalog::default(),
    );
    checked
        .plan
        .unwrap_or_else(|| panic!("the test drill is valid: {:?}", checked.diagnostics))
}

async fn run(scripts: &[(&str, Script)], cancel: &Cancel) -> RunOutput {
    run_opts(scripts, cancel, &RunOptions::default(), &Default::default()).await
}

async fn run_opts(
    scripts: &[(&str, Script)],
    cancel: &Cancel,
    opts: &RunOptions,
    lent: &Lent,
) -> RunOutput {
    let ids: Vec<&str> = scripts.iter().map(|(id, _)| *id).collect();
    let plan = plan(&ids);
    let by_id: HashMap<String, Script> = scripts
        .iter()
        .map(|(id, s)| ((*id).to_owned(), s.clone()))
        .collect();
    run_with(
        &plan,
        opts,
        cancel,
        &(),
        |_: &DrillPlan, r: &RestorePlan| {
            Ok(Scripted {
                id: r.id.clone(),
                script: by_id[&r.id].clone(),
                incident: None,
                lent: lent.clone(),
            })
        },
    )
    .await
}

fn phase<'a>(report: &'a RunReport, restore: &str, name: &str) -> &'a PhaseReport {
    report
        .restores
        .iter()
        .find(|r| r.id == restore)
        .and_then(|r| r.phases.iter().find(|p| p.name == name))
        .unwrap_or_else(|| panic!("no phase {restore}/{name}: {report:#?}"))
}

/// `(seconds, polls, resolution, outcome)` of a phase.
fn figures(report: &RunReport, restore: &str, name: &str) -> (f64, u32, f64, Outcome) {
    let p = phase(report, restore, name);
    (p.seconds, p.polls, p.resolution_seconds, p.outcome)
}

#[tokio::test(start_paused = true)]
async fn rto_of_one_restore_is_allowance_plus_lead_plus_verified_and_excludes_teardown() {
    let mut s = quick(0.0);
    s.resolve = Step::Done {
        looks: vec![0.0, 0.25],
        at: 0.5,
    };
    s.restore = Step::Done {
        looks: vec![0.0, 100.0, 300.0, 490.0, 498.5],
        at: 498.5,
    };
    let out = run(&[("orders", s)], &Cancel::new()).await;
    let r = &out.report;
    // 300 s allowance + 60 s lead + (0.5 + 498.5 + 4 + 5) s to verified.
    assert_eq!(r.measured.rto_seconds, Some(868.0));
    assert_eq!(r.measured.detect_allowance_seconds, 300.0);
    assert_eq!(r.verdict, Verdict::Met, "{}", r.verdict_reason);
    // Resolve's looks are its lookups: counted, but it waits for nothing, so its end is exact.
    assert_eq!(figures(r, "orders", "resolve"), (0.5, 2, 0.0, Outcome::Ok));
    assert_eq!(
        figures(r, "orders", "restore"),
        (498.5, 5, 8.5, Outcome::Ok)
    );
    assert_eq!(figures(r, "orders", "prepare"), (4.0, 0, 0.0, Outcome::Ok));
    assert_eq!(figures(r, "orders", "verify"), (5.0, 0, 0.0, Outcome::Ok));
    // Teardown is timed, and the whole run includes it, but RTO does not.
    assert_eq!(
        figures(r, "orders", "teardown"),
        (300.0, 0, 0.0, Outcome::Ok)
    );
    assert_eq!(r.seconds, 808.0);
    assert_eq!(r.teardown.outcome, "done");
    // RPO from the data: the newest row is 30 s before the incident.
    assert_eq!(r.measured.rpo_seconds, Some(30.0));
    assert_eq!(r.measured.rpo_source, Some(RpoSource::Data));
    assert_eq!(r.format_version, 2);
}

#[tokio::test(start_paused = true)]
async fn rto_of_three_concurrent_restores_is_the_slowest() {
    let out = run(
        &[
            ("a", quick(120.0)),
            ("b", quick(480.25)),
            ("c", quick(30.0)),
        ],
        &Cancel::new(),
    )
    .await;
    let r = &out.report;
    // The slowest: 1 + 480.25 + 4 + 5 s; verify waits for every restore to be prepared, and
    // each restore's verify starts then.
    assert_eq!(r.measured.rto_seconds, Some(300.0 + 60.0 + 490.25));
    assert_eq!(figures(r, "b", "restore").0, 480.25);
    assert_eq!(figures(r, "c", "restore").0, 30.0);
    assert_eq!(r.verdict, Verdict::Met);
    assert_eq!(r.seconds, 790.25);
}

#[tokio::test(start_paused = true)]
async fn no_rto_when_one_restore_fails_and_its_failed_phase_keeps_its_polls() {
    let mut bad = quick(0.0);
    bad.restore = Step::Fail {
        looks: vec![0.0, 10.0, 30.0, 70.0],
        at: 71.0,
    };
    let out = run(&[("good", quick(50.0)), ("bad", bad)], &Cancel::new()).await;
    let r = &out.report;
    assert_eq!(r.measured.rto_seconds, None);
    assert_eq!(r.verdict, Verdict::Failed);
    assert_eq!(
        figures(r, "bad", "restore"),
        (71.0, 4, 40.0, Outcome::Failed)
    );
    assert!(
        r.verdict_reason
            .contains("restore \"bad\": restore failed: the scripted phase failed"),
        "{}",
        r.verdict_reason
    );
    // The failed restore goes no further, and is still torn down.
    let phases: Vec<&str> = r.restores[1]
        .phases
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(phases, ["resolve", "restore", "teardown"]);
    assert_eq!(figures(r, "good", "verify").3, Outcome::Ok);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_phase_keeps_its_polls_and_resolution() {
    let mut s = quick(0.0);
    s.restore = Step::Hang {
        looks: vec![0.0, 15.0, 30.0, 45.0, 500.0, 585.0, 900.0],
    };
    let out = run(&[("slow", s)], &Cancel::new()).await;
    let r = &out.report;
    // Timed out at 10 minutes: six looks were taken, the last gap was 85 s.
    assert_eq!(
        figures(r, "slow", "restore"),
        (600.0, 6, 85.0, Outcome::Timeout)
    );
    assert_eq!(r.measured.rto_seconds, None);
    assert_eq!(r.verdict, Verdict::Failed);
    assert_eq!(figures(r, "slow", "teardown").3, Outcome::Ok);
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_phase_keeps_its_polls_and_teardown_still_runs() {
    let mut s = quick(0.0);
    s.restore = Step::Hang {
        looks: vec![0.0, 2.0, 6.0, 14.0, 60.0],
    };
    let cancel = Cancel::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        // One second of resolve, then 20 s into restore.
        tokio::time::sleep(secs(21.0)).await;
        stop.cancel("SIGINT");
    });
    let out = run(&[("orders", s)], &cancel).await;
    let r = &out.report;
    assert_eq!(
        figures(r, "orders", "restore"),
        (20.0, 4, 8.0, Outcome::Interrupted)
    );
    assert_eq!(r.interrupted_by.as_deref(), Some("SIGINT"));
    assert_eq!(r.verdict, Verdict::Error);
    assert_eq!(r.measured.rto_seconds, None);
    assert_eq!(
        figures(r, "orders", "teardown"),
        (300.0, 0, 0.0, Outcome::Ok)
    );
    assert_eq!(restore_drill::engine::exit_code(r), 130);
}

#[tokio::test(start_paused = true)]
async fn verify_resolution_is_its_slowest_checks_and_a_failed_check_keeps_it() {
    let mut s = quick(10.0);
    s.checks = vec![
        ScriptedCheck {
            looks: vec![0.0, 1.0, 4.0],
            at: 4.5,
            passed: true,
            newest: None,
        },
        ScriptedCheck {
            looks: vec![5.0, 6.0],
            at: 6.5,
            passed: false,
            newest: None,
        },
    ];
    let out = run(&[("orders", s)], &Cancel::new()).await;
    let r = &out.report;
    assert_eq!(
        figures(r, "orders", "verify"),
        (6.5, 5, 3.0, Outcome::Failed)
    );
    assert_eq!(
        phase(r, "orders", "verify").error.as_deref(),
        Some("1 of 2 checks did not pass")
    );
    assert_eq!(r.measured.rto_seconds, None);
    assert_eq!(r.verdict, Verdict::Failed);
}

#[tokio::test(start_paused = true)]
async fn an_overshoot_is_a_negative_rpo_a_finding_and_a_failure() {
    let mut s = quick(10.0);
    s.checks[0].newest = Some(42.5);
    let out = run(&[("orders", s)], &Cancel::new()).await;
    let r = &out.report;
    assert_eq!(r.measured.rpo_seconds, Some(-42.5));
    assert_eq!(r.measured.rpo_source, Some(RpoSource::Data));
    assert_eq!(r.verdict, Verdict::Failed);
    assert_eq!(
        r.verdict_reason,
        "Restored past the recovery target: restore \"orders\" holds data 42.50s newer than \
         the incident: it went past its target."
    );
    let finding = r
        .checks
        .iter()
        .find(|c| c.kind == "rpo")
        .and_then(|c| c.findings.first())
        .unwrap_or_else(|| panic!("no overshoot finding: {:#?}", r.checks));
    assert_eq!(finding.kind, "overshoot");
    assert_eq!(
        finding.message,
        "the restore holds data 42.50s newer than the incident: it went past its target"
    );
    // Restored and verified all the same: the RTO is measured.
    assert_eq!(r.measured.rto_seconds, Some(300.0 + 60.0 + 20.0));

    // Restoring the latest data (no target time) holds newer data without overshooting.
    let mut latest = quick(10.0);
    latest.to_incident = false;
    latest.checks[0].newest = Some(42.5);
    let out = run(&[("orders", latest)], &Cancel::new()).await;
    assert_eq!(out.report.measured.rpo_seconds, Some(-42.5));
    assert_eq!(out.report.verdict, Verdict::Met);
    assert!(out.report.checks.iter().all(|c| c.kind != "rpo"));
}

#[tokio::test(start_paused = true)]
async fn a_missed_rto_says_by_how_much() {
    // Gold: RTO 15 min. 300 + 60 + (1 + 600 - 1 + 4 + 5) = 969 s > 900 s.
    let out = run(&[("orders", quick(599.0))], &Cancel::new()).await;
    let r = &out.report;
    assert_eq!(r.measured.rto_seconds, Some(969.0));
    assert_eq!(r.verdict, Verdict::Missed);
    assert_eq!(
        r.verdict_reason,
        "Restored and verified, but RTO 16m 9.0s exceeds the gold target 15m by 1m 9.0s."
    );
}

#[tokio::test(start_paused = true)]
async fn a_teardown_that_fails_leaks_and_keeps_its_polls() {
    let mut s = quick(10.0);
    s.teardown = Step::Fail {
        looks: vec![0.0, 3.0],
        at: 3.5,
    };
    let out = run(&[("orders", s)], &Cancel::new()).await;
    let r = &out.report;
    assert_eq!(
        figures(r, "orders", "teardown"),
        (3.5, 2, 3.0, Outcome::Failed)
    );
    assert_eq!(r.teardown.outcome, "leaked");
    assert_eq!(
        r.teardown.leaked,
        ["left behind: the scripted phase failed"]
    );
    // The run itself was restored and verified: teardown does not change the verdict.
    assert_eq!(r.verdict, Verdict::Met);
    assert_eq!(restore_drill::engine::exit_code(r), 40);
}

#[tokio::test(start_paused = true)]
async fn the_expected_duration_from_history_reaches_the_wait_and_the_report() {
    let mut opts = RunOptions::default();
    opts.expected.insert("restore".into(), secs(1200.0));
    let lent = Arc::new(Mutex::new(None));
    let t0 = Instant::now();
    let out = run_opts(&[("orders", quick(30.0))], &Cancel::new(), &opts, &lent).await;
    // The restore phase started after 1 s of resolve, and was told to expect 20 minutes.
    assert_eq!(
        *lent.lock().unwrap(),
        Some((t0 + secs(1.0), Some(secs(1200.0))))
    );
    let r = &out.report;
    assert_eq!(phase(r, "orders", "restore").expected_seconds, Some(1200.0));
    assert_eq!(phase(r, "orders", "prepare").expected_seconds, None);
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["restores"][0]["phases"][1]["expected_seconds"], 1200.0);
    assert!(
        json["restores"][0]["phases"][0]
            .get("expected_seconds")
            .is_none()
    );
}

/// Issue 15 item 9: a signal during teardown is an interrupted run (exit 130), teardown still
/// finishes, and what is being removed is known for a second signal's message.
#[tokio::test(start_paused = true)]
async fn item_9_a_signal_during_teardown_exits_130_after_teardown_finishes() {
    let cancel = Cancel::new();
    let stop = cancel.clone();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        // Verified by ~20 s; teardown takes 300 s: signal in the middle of it.
        tokio::time::sleep(secs(100.0)).await;
        stop.cancel("SIGINT");
        *seen2.lock().unwrap() = stop.still_removing();
    });
    let out = run(&[("orders", quick(10.0))], &cancel).await;
    let r = &out.report;
    assert_eq!(r.interrupted_by.as_deref(), Some("SIGINT"));
    assert_eq!(restore_drill::engine::exit_code(r), 130);
    assert_eq!(
        figures(r, "orders", "teardown"),
        (300.0, 0, 0.0, Outcome::Ok),
        "teardown was not cut short"
    );
    assert!(r.teardown.leaked.is_empty());
    assert!(r.measured.rto_seconds.is_some(), "everything was verified");
    assert!(
        r.verdict_reason
            .contains("Interrupted by SIGINT during teardown, after every restore was verified"),
        "{}",
        r.verdict_reason
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("orders"), "{seen:?}");
    assert!(cancel.still_removing().is_empty());
}
