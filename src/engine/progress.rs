//! The live progress display on stderr: a spinner per restore with its phase and elapsed time
//! on a terminal; one plain line per phase start and end otherwise (CI logs).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::event::{Event, EventSink};
use crate::report::{CheckOutcome, Outcome};

pub struct Progress {
    /// `None`: plain lines.
    bars: Option<(MultiProgress, Mutex<HashMap<String, ProgressBar>>)>,
    /// When each running phase (`restore/phase`) started, from its event.
    started: Mutex<HashMap<String, tokio::time::Instant>>,
    /// The drill's name when several run at once: it prefixes every line and spinner.
    label: Option<String>,
}

impl Progress {
    /// Spinners when stderr is a terminal, plain lines otherwise.
    pub fn stderr() -> Self {
        let bars = std::io::stderr().is_terminal().then(|| {
            (
                MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                Mutex::new(HashMap::new()),
            )
        });
        Progress {
            bars,
            started: Mutex::new(HashMap::new()),
            label: None,
        }
    }

    /// The same display for one of several drills running at once (`run --jobs`): its lines
    /// and spinners carry the drill's name, and the spinners share one terminal area.
    pub fn for_drill(&self, drill: &str) -> Progress {
        Progress {
            bars: self
                .bars
                .as_ref()
                .map(|(multi, _)| (multi.clone(), Mutex::new(HashMap::new()))),
            started: Mutex::new(HashMap::new()),
            label: Some(drill.to_owned()),
        }
    }

    /// How a restore is named on screen: `drill/restore` when several drills run at once.
    fn who(&self, restore: &str) -> String {
        match &self.label {
            Some(drill) => format!("{drill}/{restore}"),
            None => restore.to_owned(),
        }
    }

    fn line(&self, text: String) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }
}

impl EventSink for Progress {
    fn event(&self, at: tokio::time::Instant, event: &Event<'_>) {
        match event {
            Event::RunStarted {
                plan,
                run_id,
                restores,
                ..
            } => {
                self.line(format!("restore-drill: drill {}, run {run_id}", plan.name));
                if let Some((multi, bars)) = &self.bars {
                    let style =
                        ProgressStyle::with_template("{spinner} {prefix:.bold} {msg} ({elapsed})")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner());
                    let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
                    for r in restores.iter() {
                        let bar = multi.add(ProgressBar::new_spinner());
                        bar.set_style(style.clone());
                        bar.set_prefix(self.who(r));
                        bar.set_message("waiting");
                        bar.enable_steady_tick(Duration::from_millis(120));
                        bars.insert(r.clone(), bar);
                    }
                }
            }
            Event::PhaseStarted { restore, phase, .. } => {
                self.started
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(format!("{restore}/{phase}"), at);
                match &self.bars {
                    Some((_, bars)) => {
                        if let Some(bar) =
                            bars.lock().unwrap_or_else(|p| p.into_inner()).get(*restore)
                        {
                            bar.set_message(format!("{phase}…"));
                            bar.reset_elapsed();
                        }
                    }
                    None => eprintln!("restore-drill: {}: {phase} started", self.who(restore)),
                }
            }
            Event::PhaseFinished {
                restore,
                phase,
                outcome,
                error,
                ..
            } => {
                let outcome = match outcome {
                    Outcome::Ok => "done",
                    other => other.as_str(),
                };
                // The whole error, its later lines indented (issue 19: a credentials error
                // lists every provider it tried on lines of their own).
                let error = error
                    .map(|e| format!(": {}", e.trim_end().replace('\n', "\n    ")))
                    .unwrap_or_default();
                let elapsed = self
                    .started
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&format!("{restore}/{phase}"))
                    .map(|t0| at.duration_since(t0).as_secs_f64())
                    .unwrap_or_default();
                self.line(format!(
                    "restore-drill: {}: {phase} {outcome} in {elapsed:.2}s{error}",
                    self.who(restore)
                ));
            }
            Event::CheckFinished { check, .. } => {
                let outcome = match check.outcome {
                    CheckOutcome::Passed => "passed",
                    CheckOutcome::Failed => "FAILED",
                    CheckOutcome::Error => "could not run",
                };
                self.line(format!(
                    "restore-drill: {}: check \"{}\" {outcome}",
                    self.who(&check.restore),
                    check.name
                ));
            }
            Event::WarmupFinished { restore, warmup } => {
                let how = if warmup.reached {
                    "reached"
                } else {
                    "did NOT reach"
                };
                let curve: Vec<String> = warmup
                    .batches
                    .iter()
                    .map(|b| super::warmup::ms(b.p95_seconds))
                    .collect();
                self.line(format!(
                    "restore-drill: {}: warmup {how} p95 <= {} after {} runs in {:.2}s (p95 per batch: {})",
                    self.who(restore),
                    super::warmup::ms(warmup.until_p95_seconds),
                    warmup.runs,
                    warmup.seconds,
                    curve.join(", ")
                ));
            }
            Event::Kept { restore, how } => {
                self.line(format!(
                    "restore-drill: {}: target kept; reach it with\n  {how}",
                    self.who(restore)
                ));
            }
            Event::Poll { .. } | Event::Resolved { .. } | Event::Prepared { .. } => {}
            Event::TeardownFinished { restore, leaked } => {
                if !leaked.is_empty() {
                    self.line(format!(
                        "restore-drill: {}: teardown left behind: {}",
                        self.who(restore),
                        leaked.join("; ")
                    ));
                }
            }
            Event::Interrupted { reason } => {
                self.line(format!("restore-drill: interrupted by {reason}"));
            }
            Event::RunFinished { report } => {
                if let Some((_, bars)) = &self.bars {
                    for (_, bar) in bars.lock().unwrap_or_else(|p| p.into_inner()).drain() {
                        bar.finish_and_clear();
                    }
                }
                let of = self
                    .label
                    .as_ref()
                    .map(|d| format!(" of {d}"))
                    .unwrap_or_default();
                self.line(format!(
                    "restore-drill: verdict{of} {}",
                    report.verdict.as_str()
                ));
            }
        }
    }
}
