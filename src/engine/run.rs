//! One run of one drill: every restore goes through resolve → (copy) → restore → prepare →
//! verify concurrently with the others, then every target is torn down — on success, failure,
//! timeout and interruption alike. The engine only emits events; the report builder, one of
//! its sinks, assembles the report and measures RTO and RPO from them.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::builder::ReportBuilder;
use super::cancel::Cancel;
use super::driver::{RestoreDriver, VerifyJob};
use super::event::{Event, EventSink};
use super::warmup::WarmupJob;
use crate::checks::CheckTarget;
use crate::drill::{Connect, DrillPlan, RestoreKind, RestorePlan};
use crate::provider::poll::{Looks, PhaseWatch, watched};
use crate::provider::{Blame, ProviderError, RecoveryPoint, Restorer, RunContext, Target, Waited};
use crate::report::{CheckOutcome, Outcome, RunReport, Verdict};

/// How a run may deviate from the drill file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Leave every target up.
    pub keep: bool,
    /// Leave targets up when the run fails.
    pub keep_on_failure: bool,
    /// Overrides the drill's `[incident] at`.
    pub incident_at: Option<DateTime<Utc>>,
    /// How long each phase (by name) took in this drill's previous runs: waits poll densely
    /// near that end.
    pub expected: BTreeMap<String, Duration>,
}

/// The report, and how to reach any kept target.
#[derive(Debug)]
pub struct RunOutput {
    pub report: RunReport,
    pub kept: Vec<(String, String)>,
}

/// A sortable run id: `20261121T130501Z-7f3a`.
pub fn new_run_id(at: DateTime<Utc>) -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128);
    h.write_u32(std::process::id());
    format!(
        "{}-{:04x}",
        at.format("%Y%m%dT%H%M%SZ"),
        h.finish() & 0xffff
    )
}

/// The sinks of a run — the caller's and the report builder — fed one stamped stream.
struct Emitter<'a> {
    sinks: [&'a dyn EventSink; 2],
}

impl Emitter<'_> {
    fn emit(&self, event: &Event<'_>) {
        self.emit_at(Instant::now(), event);
    }

    fn emit_at(&self, at: Instant, event: &Event<'_>) {
        for s in self.sinks {
            s.event(at, event);
        }
    }
}

/// Why a phase did not succeed.
struct PhaseFail;

/// What one restore produced that later steps need.
#[derive(Default)]
struct Pipeline {
    recovery_point: Option<RecoveryPoint>,
    /// Prepared (and not failed since).
    prepared: bool,
    /// How checks reach the target, once prepared.
    check_target: Option<CheckTarget>,
    failed: bool,
}

struct Phases<'a> {
    restore: &'a str,
    cancel: &'a Cancel,
    out: &'a Emitter<'a>,
    expected: &'a BTreeMap<String, Duration>,
}

impl Phases<'_> {
    /// Runs one phase under its timeout and the cancel flag, telling the sinks when it starts,
    /// every look the provider takes (even when the phase is dropped), and how it ended.
    async fn run<T>(
        &self,
        name: &str,
        limit: Duration,
        work: impl Future<Output = Result<(T, Waited), ProviderError>>,
    ) -> Result<T, PhaseFail> {
        let expected = self.expected.get(name).copied();
        self.out.emit(&Event::PhaseStarted {
            restore: self.restore,
            phase: name,
            started_at: Utc::now(),
            expected,
        });
        let looks = Looks::default();
        let watch = PhaseWatch {
            started: Instant::now(),
            expected,
            calls_are_looks: !super::measure::phase_waits(name),
            looks: looks.clone(),
        };
        let result = tokio::select! {
            r = tokio::time::timeout(limit, watched(watch, work)) => match r {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err((Outcome::Failed, e.blame, e.message)),
                Err(_) => Err((
                    Outcome::Timeout,
                    Blame::Restore,
                    format!("the {name} phase did not finish within its timeout of {}", crate::drill::human(limit)),
                )),
            },
            _ = self.cancel.cancelled() => Err((
                Outcome::Interrupted,
                Blame::Harness,
                format!("interrupted by {}", self.cancel.reason().unwrap_or_default()),
            )),
        };
        let ended = Instant::now();
        for at in looks.take() {
            self.out.emit_at(
                at,
                &Event::Poll {
                    restore: self.restore,
                    phase: name,
                },
            );
        }
        let (ret, finished) = match result {
            Ok((v, waited)) => (Ok(v), (Outcome::Ok, None, None, Some(waited))),
            Err((outcome, blame, message)) => {
                (Err(PhaseFail), (outcome, Some(blame), Some(message), None))
            }
        };
        let (outcome, blame, error, reported) = finished;
        self.out.emit_at(
            ended,
            &Event::PhaseFinished {
                restore: self.restore,
                phase: name,
                outcome,
                blame,
                error: error.as_deref(),
                reported,
            },
        );
        ret
    }
}

fn connect_of(r: &RestorePlan) -> Option<&Connect> {
    match &r.kind {
        RestoreKind::PgPitr { connect, .. }
        | RestoreKind::RdsPitr { connect, .. }
        | RestoreKind::RdsSnapshot { connect, .. }
        | RestoreKind::RdsClusterPitr { connect, .. }
        | RestoreKind::RdsClusterSnapshot { connect, .. } => Some(connect),
        RestoreKind::BackupRecoveryPoint { connect, .. } => connect.as_ref(),
        RestoreKind::S3Versions { .. } => None,
    }
}

/// How checks reach a prepared database target: through the drill's `via` when it names
/// one, with the certificate still naming the target's endpoint.
pub(crate) fn check_target_of(r: &RestorePlan, target: &Target) -> Option<CheckTarget> {
    let c = connect_of(r)?;
    let (own_host, port) = target.address.as_deref()?.rsplit_once(':')?;
    let (host, port) = c
        .via
        .as_deref()
        .and_then(|v| v.rsplit_once(':'))
        .unwrap_or((own_host, port));
    Some(CheckTarget {
        host: host.to_owned(),
        port: port.parse().ok()?,
        database: c.database.clone(),
        user: c.user.clone(),
        password: c.password_env.as_ref().and_then(|v| std::env::var(v).ok()),
        tls: c.tls,
        ca_bundle: c.ca_bundle.clone(),
        server_name: Some(own_host.to_owned()),
    })
}

#[allow(clippy::too_many_arguments)]
async fn pipeline<D: RestoreDriver>(
    plan: &DrillPlan,
    r: &RestorePlan,
    driver: &mut Option<D>,
    made: Result<(), ProviderError>,
    incident_at: DateTime<Utc>,
    cx: &RunContext,
    ph: &Phases<'_>,
) -> Pipeline {
    let mut p = Pipeline::default();
    let t = &plan.timeouts;
    let out = ph.out;
    let result: Result<(), PhaseFail> = async {
        // A restore that could not even be set up fails its first phase.
        let resolve = async {
            made?;
            let d = driver
                .as_mut()
                .ok_or_else(|| ProviderError::harness("no restorer"))?;
            let mut rp = d.resolve(incident_at).await?;
            for note in d.notes() {
                if !rp.notes.contains(&note) {
                    rp.notes.push(note);
                }
            }
            // Its looks at the source (API calls) are told through `provider::poll`.
            Ok((rp, Waited::default()))
        };
        let rp = ph.run("resolve", t.resolve, resolve).await?;
        out.emit(&Event::Resolved {
            restore: &r.id,
            point: &rp,
        });
        p.recovery_point = Some(rp);
        let Some(d) = driver.as_mut() else {
            return Ok(());
        };
        if d.has_copy() {
            ph.run("copy", t.copy, async { Ok(((), d.copy(cx).await?)) })
                .await?;
        }
        ph.run("restore", t.restore, async {
            Ok(((), d.restore(cx).await?))
        })
        .await?;
        let target = ph.run("prepare", t.prepare, d.prepare()).await?;
        out.emit(&Event::Prepared {
            restore: &r.id,
            target: &target,
        });
        p.check_target = check_target_of(r, &target);
        p.prepared = true;
        Ok(())
    }
    .await;
    p.failed = result.is_err();
    // Notes found after resolve (a fallback during restore) still belong to the point.
    if let (Some(rp), Some(d)) = (p.recovery_point.as_mut(), driver.as_ref()) {
        let before = rp.notes.len();
        for note in d.notes() {
            if !rp.notes.contains(&note) {
                rp.notes.push(note);
            }
        }
        if rp.notes.len() != before {
            out.emit(&Event::Resolved {
                restore: &r.id,
                point: rp,
            });
        }
    }
    p
}

/// The verify phase of one restore: every check that names it, collecting all findings. Runs
/// once every restore of the drill is prepared, so a check may compare with another restore.
async fn verify<D: RestoreDriver>(
    plan: &DrillPlan,
    r: &RestorePlan,
    p: &Pipeline,
    driver: &mut Option<D>,
    others: &HashMap<String, CheckTarget>,
    ph: &Phases<'_>,
) -> bool {
    let Some(d) = driver.as_mut() else {
        return false;
    };
    if p.failed || !p.prepared {
        return false;
    }
    let job = VerifyJob {
        restore: r,
        checks: plan.checks.iter().filter(|c| c.restore == r.id).collect(),
        target: p.check_target.clone(),
        restored_to: p
            .recovery_point
            .as_ref()
            .and_then(RecoveryPoint::metadata_time),
        pg_bin_dir: match &plan.provider {
            crate::drill::ProviderSpec::Local { pg_bin_dir } => pg_bin_dir.clone(),
            crate::drill::ProviderSpec::Aws { .. } => None,
        },
        others: others.clone(),
    };
    let tally = std::sync::Mutex::new((0usize, 0usize));
    let done = |check: &crate::report::CheckReport, newest: Option<DateTime<Utc>>| {
        let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
        t.0 += 1;
        if check.outcome != CheckOutcome::Passed {
            t.1 += 1;
        }
        ph.out.emit(&Event::CheckFinished { check, newest });
    };
    let work = async {
        d.verify(&job, &done).await?;
        let (ran, bad) = *tally.lock().unwrap_or_else(|p| p.into_inner());
        if bad > 0 {
            return Err(ProviderError::restore(format!(
                "{bad} of {ran} checks did not pass"
            )));
        }
        // The last step before the target counts as usable: a warm cache (issue 17,
        // "available is not usable"). Skipped when a check failed: the target is not usable
        // either way.
        if let Some(spec) = &r.warmup {
            let w = d
                .warmup(&WarmupJob {
                    restore: r,
                    spec,
                    target: job.target.clone(),
                })
                .await;
            ph.out.emit(&Event::WarmupFinished {
                restore: &r.id,
                warmup: &w,
            });
            done(&super::warmup::as_check(&r.id, &w), None);
            if !w.reached {
                return Err(ProviderError::restore(super::warmup::failure(&w)));
            }
        }
        // Checks are timed directly; any waiting they do is told through `provider::poll`.
        Ok(((), Waited::default()))
    };
    // Check sessions time out on the server when the phase does (statement_timeout).
    let now = std::time::Instant::now();
    let deadline = now
        .checked_add(plan.timeouts.verify)
        .unwrap_or(now + std::time::Duration::from_secs(365 * 86_400));
    let work = crate::checks::with_deadline(deadline, work);
    ph.run("verify", plan.timeouts.verify, work).await.is_ok()
}

/// Runs one drill on the real platforms. Never panics on a provider's or a check's failure:
/// they set the verdict.
pub async fn run_drill(
    plan: &DrillPlan,
    opts: &RunOptions,
    cancel: &Cancel,
    sink: &dyn EventSink,
) -> RunOutput {
    run_with(plan, opts, cancel, sink, Restorer::new).await
}

/// Runs one drill, driving each restore with what `make` builds for it.
pub async fn run_with<D: RestoreDriver>(
    plan: &DrillPlan,
    opts: &RunOptions,
    cancel: &Cancel,
    sink: &dyn EventSink,
    make: impl Fn(&DrillPlan, &RestorePlan) -> Result<D, ProviderError>,
) -> RunOutput {
    let builder = ReportBuilder::new();
    let out = Emitter {
        sinks: [&builder, sink],
    };
    let started_at = Utc::now();
    let run_id = new_run_id(started_at);
    let incident_at = opts
        .incident_at
        .unwrap_or_else(|| plan.incident.at.resolve(started_at));
    let ids: Vec<String> = plan.restores.iter().map(|r| r.id.clone()).collect();
    // Who ran it goes into report.json, which the history's hash covers.
    let operator = crate::evidence::current_operator();
    out.emit(&Event::RunStarted {
        plan,
        run_id: &run_id,
        started_at,
        incident_at,
        restores: &ids,
        operator: Some(&operator),
    });
    let cx = RunContext {
        run_id: run_id.clone(),
        tied: !(opts.keep || opts.keep_on_failure),
    };

    let mut drivers: Vec<(Option<D>, Result<(), ProviderError>)> = plan
        .restores
        .iter()
        .map(|r| match make(plan, r) {
            Ok(d) => (Some(d), Ok(())),
            Err(e) => (None, Err(e)),
        })
        .collect();
    let phases: Vec<Phases<'_>> = plan
        .restores
        .iter()
        .map(|r| Phases {
            restore: &r.id,
            cancel,
            out: &out,
            expected: &opts.expected,
        })
        .collect();
    let pipelines = futures_util::future::join_all(
        plan.restores
            .iter()
            .zip(drivers.iter_mut())
            .zip(&phases)
            .map(|((r, (d, made)), ph)| {
                let made = std::mem::replace(made, Ok(()));
                pipeline(plan, r, d, made, incident_at, &cx, ph)
            }),
    )
    .await;
    let others: HashMap<String, CheckTarget> = plan
        .restores
        .iter()
        .zip(&pipelines)
        .filter_map(|(r, p)| Some((r.id.clone(), p.check_target.clone()?)))
        .collect();
    futures_util::future::join_all(
        plan.restores
            .iter()
            .zip(&pipelines)
            .zip(drivers.iter_mut())
            .zip(&phases)
            .map(|(((r, p), (d, _)), ph)| verify(plan, r, p, d, &others, ph)),
    )
    .await;
    let interrupted_before = cancel.reason();
    if let Some(reason) = &interrupted_before {
        out.emit(&Event::Interrupted { reason });
    }

    // Teardown: on every path, unless the target is to be kept.
    let verdict = builder.verdict();
    let keep = opts.keep
        || (opts.keep_on_failure && !matches!(verdict, Some(Verdict::Met | Verdict::Missed)));
    let mut kept = Vec::new();
    let never = Cancel::new();
    let mut teardowns = Vec::new();
    for (((d, _), r), p) in drivers.iter_mut().zip(&plan.restores).zip(&pipelines) {
        let Some(d) = d else { continue };
        if keep {
            if let Some(how) = d.keep() {
                out.emit(&Event::Kept {
                    restore: &r.id,
                    how: &how,
                });
                kept.push((r.id.clone(), how));
            }
            continue;
        }
        let out = &out;
        let never = &never;
        // What a second Ctrl-C reports as still being removed.
        let what = match &p.check_target {
            Some(t) => format!("{} ({}:{})", r.id, t.host, t.port),
            None => r.id.clone(),
        };
        cancel.removing(&r.id, Some(what));
        teardowns.push(async move {
            // Teardown is never interrupted: a second Ctrl-C must not leak a database.
            let ph = Phases {
                restore: &r.id,
                cancel: never,
                out,
                expected: &opts.expected,
            };
            let mut leaked = Vec::new();
            let done = ph
                .run("teardown", plan.timeouts.teardown, async {
                    match d.teardown().await {
                        Ok(()) => Ok(((), Waited::default())),
                        Err(left) => {
                            let message = format!("left behind: {}", left.join(", "));
                            leaked.push(message.clone());
                            Err(ProviderError::harness(message))
                        }
                    }
                })
                .await;
            if done.is_err() && leaked.is_empty() {
                // Timed out: whatever it was removing may remain.
                leaked.push(format!(
                    "the teardown phase did not finish within its timeout of {}",
                    crate::drill::human(plan.timeouts.teardown)
                ));
            }
            out.emit(&Event::TeardownFinished {
                restore: &r.id,
                leaked: &leaked,
            });
            cancel.removing(&r.id, None);
        });
    }
    futures_util::future::join_all(teardowns).await;
    // A signal during teardown: teardown has finished all the same, and the run says it was
    // interrupted (exit 130), never a quiet success.
    if interrupted_before.is_none()
        && let Some(reason) = cancel.reason()
    {
        out.emit(&Event::Interrupted { reason: &reason });
    }

    // The builder saw `RunStarted` above, so it has a report to give.
    #[allow(clippy::expect_used)]
    let report = builder
        .finish(Instant::now(), Utc::now())
        .expect("the run was started");
    sink.event(Instant::now(), &Event::RunFinished { report: &report });
    RunOutput { report, kept }
}
