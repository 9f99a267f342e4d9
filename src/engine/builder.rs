//! The report builder: a sink of the engine's event stream and the only place a `RunReport`
//! is assembled. Phases, polls, checks and teardown are recorded as they arrive; the figures
//! are computed once, by `measure`, when the run is finished.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::event::{Event, EventSink};
use super::measure::{self, Judged, PhaseRecord, RpoInput};
use crate::drill::Tier;
use crate::provider::{RecoveryPoint, Target};
use crate::report::{
    CheckReport, DrillRef, FORMAT_VERSION, Measured, Operator, Outcome, PhaseReport, RestoreReport,
    RunReport, TeardownReport, TierRef, Verdict, WarmupReport,
};

/// What the run started with.
#[derive(Debug, Clone)]
struct RunInfo {
    drill: DrillRef,
    run_id: String,
    start: Instant,
    started_at: DateTime<Utc>,
    incident_at: DateTime<Utc>,
    tier: Tier,
    allowance: Duration,
    operator: Option<Operator>,
    aws: Option<crate::provider::aws::AwsSettings>,
}

#[derive(Debug, Clone)]
struct RestoreState {
    id: String,
    kind: String,
    recovery_point: Option<RecoveryPoint>,
    target: Option<Target>,
    /// Finished phases, and the one running (its `ended` is its start until it finishes).
    phases: Vec<PhaseRecord>,
    running: bool,
    newest: Option<DateTime<Utc>>,
    torn_down: bool,
    leaked: Vec<String>,
    kept: bool,
    warmup: Option<WarmupReport>,
}

#[derive(Debug, Default)]
struct State {
    run: Option<RunInfo>,
    restores: Vec<RestoreState>,
    checks: Vec<CheckReport>,
    interrupted_by: Option<String>,
}

impl State {
    fn restore(&mut self, id: &str) -> Option<&mut RestoreState> {
        self.restores.iter_mut().find(|r| r.id == id)
    }

    fn running(&mut self, id: &str, phase: &str) -> Option<&mut PhaseRecord> {
        let r = self.restore(id)?;
        if !r.running {
            return None;
        }
        r.phases.last_mut().filter(|p| p.name == phase)
    }
}

/// Builds the run report from the event stream.
#[derive(Debug, Default)]
pub struct ReportBuilder {
    state: Mutex<State>,
}

impl EventSink for ReportBuilder {
    fn event(&self, at: Instant, event: &Event<'_>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::RunStarted {
                plan,
                run_id,
                started_at,
                incident_at,
                restores: _,
                operator,
            } => {
                s.run = Some(RunInfo {
                    drill: DrillRef {
                        name: plan.name.clone(),
                        file: plan.file.display().to_string(),
                        sha256: plan.sha256.clone(),
                    },
                    run_id: (*run_id).to_owned(),
                    start: at,
                    started_at: *started_at,
                    incident_at: *incident_at,
                    tier: plan.tier.clone(),
                    allowance: plan.incident.detect_allowance,
                    operator: operator.cloned(),
                    aws: crate::provider::aws::AwsSettings::of(&plan.provider),
                });
                s.restores = plan
                    .restores
                    .iter()
                    .map(|r| RestoreState {
                        id: r.id.clone(),
                        kind: r.kind_name().to_owned(),
                        recovery_point: None,
                        target: None,
                        phases: Vec::new(),
                        running: false,
                        newest: None,
                        torn_down: false,
                        leaked: Vec::new(),
                        kept: false,
                        warmup: None,
                    })
                    .collect();
            }
            Event::PhaseStarted {
                restore,
                phase,
                started_at,
                expected,
            } => {
                if let Some(r) = s.restore(restore) {
                    r.phases.push(PhaseRecord {
                        name: (*phase).to_owned(),
                        started: at,
                        started_at: *started_at,
                        ended: at,
                        outcome: Outcome::Ok,
                        blame: None,
                        error: None,
                        looks: Vec::new(),
                        boundaries: Vec::new(),
                        reported: None,
                        expected: *expected,
                    });
                    r.running = true;
                }
            }
            Event::Poll { restore, phase } => {
                if let Some(p) = s.running(restore, phase) {
                    p.looks.push(at);
                }
            }
            Event::PhaseFinished {
                restore,
                phase,
                outcome,
                blame,
                error,
                reported,
            } => {
                if let Some(p) = s.running(restore, phase) {
                    p.ended = at;
                    p.outcome = *outcome;
                    p.blame = *blame;
                    p.error = error.map(str::to_owned);
                    p.reported = *reported;
                }
                if let Some(r) = s.restore(restore) {
                    r.running = false;
                }
            }
            Event::Resolved { restore, point } => {
                if let Some(r) = s.restore(restore) {
                    r.recovery_point = Some((*point).clone());
                }
            }
            Event::Prepared { restore, target } => {
                if let Some(r) = s.restore(restore) {
                    r.target = Some((*target).clone());
                }
            }
            Event::CheckFinished { check, newest } => {
                if let Some(r) = s.restore(&check.restore) {
                    if let Some(f) = newest {
                        // Several freshness checks: the oldest "newest" is what surely came back.
                        r.newest = Some(r.newest.map_or(*f, |n| n.min(*f)));
                    }
                    if r.running
                        && let Some(p) = r.phases.last_mut()
                    {
                        p.boundaries.push(at);
                    }
                }
                s.checks.push((*check).clone());
            }
            Event::WarmupFinished { restore, warmup } => {
                if let Some(r) = s.restore(restore) {
                    r.warmup = Some((*warmup).clone());
                }
            }
            Event::TeardownFinished { restore, leaked } => {
                if let Some(r) = s.restore(restore) {
                    r.torn_down = true;
                    r.leaked = leaked.to_vec();
                }
            }
            Event::Kept { restore, .. } => {
                if let Some(r) = s.restore(restore) {
                    r.kept = true;
                }
            }
            Event::Interrupted { reason } => {
                if s.interrupted_by.is_none() {
                    s.interrupted_by = Some((*reason).to_owned());
                }
            }
            Event::RunFinished { .. } => {}
        }
    }
}

/// The figures of a run so far.
struct Figures {
    rto: Option<f64>,
    rpo: measure::Rpo,
    verdict: (Verdict, String),
}

impl ReportBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    fn figures(s: &State) -> Option<Figures> {
        let run = s.run.as_ref()?;
        let lead = (run.started_at - run.incident_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        let usable: Vec<Option<Instant>> = s
            .restores
            .iter()
            .map(|r| measure::usable_at(&r.phases))
            .collect();
        let rto = measure::rto(run.start, lead, run.allowance, &usable);
        let inputs: Vec<RpoInput<'_>> = s
            .restores
            .iter()
            .map(|r| RpoInput {
                restore: &r.id,
                newest_data: r.newest,
                metadata: r
                    .recovery_point
                    .as_ref()
                    .and_then(RecoveryPoint::metadata_time),
                to_a_time: r.recovery_point.as_ref().is_some_and(|p| p.time.is_some()),
            })
            .collect();
        let rpo = measure::rpo(run.incident_at, &inputs);
        let failures = s
            .restores
            .iter()
            .filter_map(|r| {
                let p = r
                    .phases
                    .iter()
                    .find(|p| p.outcome != Outcome::Ok && p.name != "teardown")?;
                Some((r.id.as_str(), p))
            })
            .collect();
        let verdict = measure::verdict(
            &run.tier,
            &Judged {
                interrupted_by: s.interrupted_by.as_deref(),
                failures,
                overshoots: &rpo.overshoots,
                rto,
                rpo: rpo.seconds,
            },
        );
        Some(Figures { rto, rpo, verdict })
    }

    /// The verdict the run has earned so far (before teardown, it decides whether
    /// `--keep-on-failure` keeps the targets).
    pub fn verdict(&self) -> Option<Verdict> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Self::figures(&s).map(|f| f.verdict.0)
    }

    /// The run report: everything the stream said, measured. `None` when the run never
    /// started.
    pub fn finish(&self, at: Instant, finished_at: DateTime<Utc>) -> Option<RunReport> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let figures = Self::figures(&s)?;
        let run = s.run.as_ref()?;
        let (verdict, verdict_reason) = figures.verdict;
        let mut checks = s.checks.clone();
        for o in figures.rpo.overshoots.iter().filter(|o| o.past_target) {
            checks.push(measure::overshoot_report(o, run.incident_at));
        }
        let restores = s
            .restores
            .iter()
            .map(|r| RestoreReport {
                id: r.id.clone(),
                kind: r.kind.clone(),
                recovery_point: r.recovery_point.clone(),
                target: r.target.clone(),
                phases: r.phases.iter().map(phase_report).collect(),
                newest_data_at: r.newest,
                warmup: r.warmup.clone(),
            })
            .collect();
        let leaked: Vec<String> = s.restores.iter().flat_map(|r| r.leaked.clone()).collect();
        let kept = s.restores.iter().any(|r| r.kept);
        Some(RunReport {
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            drill: run.drill.clone(),
            run_id: run.run_id.clone(),
            started_at: run.started_at,
            finished_at,
            seconds: at.duration_since(run.start).as_secs_f64(),
            incident_at: run.incident_at,
            tier: TierRef {
                name: run.tier.name.clone(),
                rto_seconds: run.tier.rto.as_secs_f64(),
                rpo_seconds: run.tier.rpo.as_secs_f64(),
            },
            verdict,
            verdict_reason,
            measured: Measured {
                rto_seconds: figures.rto,
                rpo_seconds: figures.rpo.seconds,
                rpo_source: figures.rpo.source,
                detect_allowance_seconds: run.allowance.as_secs_f64(),
            },
            restores,
            checks,
            teardown: TeardownReport {
                outcome: if kept {
                    "kept".into()
                } else if leaked.is_empty() {
                    "done".into()
                } else {
                    "leaked".into()
                },
                leaked,
            },
            interrupted_by: s.interrupted_by.clone(),
            operator: run.operator.clone(),
            aws: run.aws.clone(),
        })
    }
}

fn phase_report(p: &PhaseRecord) -> PhaseReport {
    let (polls, mut resolution) =
        measure::polls_and_resolution(&p.looks, &p.boundaries, p.reported);
    if !measure::phase_waits(&p.name) {
        resolution = Duration::ZERO;
    }
    PhaseReport {
        name: p.name.clone(),
        started_at: p.started_at,
        seconds: p.seconds(),
        polls,
        resolution_seconds: resolution.as_secs_f64(),
        outcome: p.outcome,
        error: p.error.clone(),
        expected_seconds: p.expected.map(|d| d.as_secs_f64()),
    }
}
