//! One run of one drill: every restore goes through resolve → (copy) → restore → prepare →
//! verify concurrently with the others; the moment the last one is verified ends the RTO;
//! then every target is torn down — on success, failure, timeout and interruption alike.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::cancel::Cancel;
use super::event::{Event, EventSink};
use super::measure::judge_targets;
use super::stopwatch::Stopwatch;
use crate::checks::{CheckContext, CheckTarget, restored_set_check, run_check, run_object_check};
use crate::drill::{CheckPlan, Connect, DrillPlan, RestoreKind, RestorePlan};
use crate::provider::{Blame, ProviderError, RecoveryPoint, Restorer, RunContext, Target, Waited};
use crate::report::*;

/// How a run may deviate from the drill file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Leave every target up.
    pub keep: bool,
    /// Leave targets up when the run fails.
    pub keep_on_failure: bool,
    /// Overrides the drill's `[incident] at`.
    pub incident_at: Option<DateTime<Utc>>,
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

/// Why a phase did not succeed.
struct PhaseFail {
    blame: Blame,
}

/// Everything one restore produced.
struct Pipeline {
    phases: Vec<PhaseReport>,
    recovery_point: Option<RecoveryPoint>,
    target: Option<Target>,
    checks: Vec<CheckReport>,
    newest: Option<DateTime<Utc>>,
    /// When it became usable (restored and verified); `None` if it never did.
    usable_at: Option<Instant>,
    /// How checks reach the target, once prepared.
    check_target: Option<CheckTarget>,
    fail: Option<PhaseFail>,
}

struct Phases<'a> {
    restore: &'a str,
    cancel: &'a Cancel,
    sink: &'a dyn EventSink,
}

impl Phases<'_> {
    /// Runs one phase under its timeout and the cancel flag, timing it and telling the sink.
    async fn run<T>(
        &self,
        name: &str,
        limit: Duration,
        out: &mut Vec<PhaseReport>,
        work: impl Future<Output = Result<(T, Waited), ProviderError>>,
    ) -> Result<T, PhaseFail> {
        self.sink.event(&Event::PhaseStarted {
            restore: self.restore,
            phase: name,
        });
        let started_at = Utc::now();
        let t0 = Instant::now();
        let result = tokio::select! {
            r = tokio::time::timeout(limit, work) => match r {
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
        let seconds = t0.elapsed().as_secs_f64();
        let (outcome, waited, error, ret) = match result {
            Ok((v, w)) => (Outcome::Ok, w, None, Ok(v)),
            Err((outcome, blame, message)) => (
                outcome,
                Waited::default(),
                Some(message),
                Err(PhaseFail { blame }),
            ),
        };
        let report = PhaseReport {
            name: name.to_owned(),
            started_at,
            seconds,
            polls: waited.polls,
            resolution_seconds: waited.resolution.as_secs_f64(),
            outcome,
            error,
        };
        self.sink.event(&Event::PhaseFinished {
            restore: self.restore,
            phase: &report,
        });
        out.push(report);
        ret
    }
}

fn connect_of(r: &RestorePlan) -> Option<&Connect> {
    match &r.kind {
        RestoreKind::PgPitr { connect, .. }
        | RestoreKind::RdsPitr { connect, .. }
        | RestoreKind::RdsSnapshot { connect, .. }
        | RestoreKind::RdsClusterPitr { connect, .. } => Some(connect),
        RestoreKind::BackupRecoveryPoint { connect, .. } => connect.as_ref(),
        RestoreKind::S3Versions { .. } => None,
    }
}

#[allow(clippy::too_many_arguments)]
async fn pipeline(
    plan: &DrillPlan,
    r: &RestorePlan,
    restorer: &mut Option<Restorer>,
    made: Result<(), ProviderError>,
    incident_at: DateTime<Utc>,
    cx: &RunContext,
    cancel: &Cancel,
    sink: &dyn EventSink,
) -> Pipeline {
    let mut p = Pipeline {
        phases: Vec::new(),
        recovery_point: None,
        target: None,
        checks: Vec::new(),
        newest: None,
        usable_at: None,
        check_target: None,
        fail: None,
    };
    let ph = Phases {
        restore: &r.id,
        cancel,
        sink,
    };
    let t = &plan.timeouts;
    let result: Result<(), PhaseFail> = async {
        // A restore that could not even be set up fails its first phase.
        let resolve = async {
            made?;
            let rest = restorer
                .as_mut()
                .ok_or_else(|| ProviderError::harness("no restorer"))?;
            let rp = rest.resolve(incident_at).await?;
            Ok((
                rp,
                Waited {
                    polls: 1,
                    resolution: Duration::ZERO,
                },
            ))
        };
        let rp = ph.run("resolve", t.resolve, &mut p.phases, resolve).await?;
        p.recovery_point = Some(rp);
        let Some(rest) = restorer.as_mut() else {
            return Ok(());
        };
        if rest.has_copy() {
            ph.run("copy", t.copy, &mut p.phases, async {
                Ok(((), rest.copy(cx).await?))
            })
            .await?;
        }
        ph.run("restore", t.restore, &mut p.phases, async {
            Ok(((), rest.restore(cx).await?))
        })
        .await?;
        let target = ph
            .run("prepare", t.prepare, &mut p.phases, rest.prepare())
            .await?;
        p.target = Some(target.clone());

        p.check_target = connect_of(r).and_then(|c| {
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
                // Through a tunnel, the certificate still names the target's endpoint.
                server_name: Some(own_host.to_owned()),
            })
        });
        Ok(())
    }
    .await;
    if let Err(f) = result {
        p.fail = Some(f);
    }
    if let (Some(rp), Some(rest)) = (p.recovery_point.as_mut(), restorer.as_ref()) {
        for note in rest.notes() {
            if !rp.notes.contains(&note) {
                rp.notes.push(note);
            }
        }
    }
    p
}

/// The verify phase of one restore: every check that names it, collecting all findings. Runs
/// once every restore of the drill is prepared, so a check may compare with another restore.
/// A restore of objects (`objects`) is first checked against the versions it was meant to
/// restore, then by its checks of objects.
#[allow(clippy::too_many_arguments)]
async fn verify(
    plan: &DrillPlan,
    r: &RestorePlan,
    p: &mut Pipeline,
    objects: Option<crate::provider::aws::s3::RestoredObjects>,
    others: &HashMap<String, CheckTarget>,
    pg_bin_dir: Option<&std::path::Path>,
    cancel: &Cancel,
    sink: &dyn EventSink,
) {
    if p.fail.is_some() || p.target.is_none() {
        return;
    }
    let ph = Phases {
        restore: &r.id,
        cancel,
        sink,
    };
    let checks: Vec<&CheckPlan> = plan.checks.iter().filter(|c| c.restore == r.id).collect();
    let cx = p.check_target.clone().map(|target| CheckContext {
        target,
        restored_to: p
            .recovery_point
            .as_ref()
            .and_then(RecoveryPoint::metadata_time),
        pg_bin_dir: pg_bin_dir.map(std::path::Path::to_path_buf),
        others: others.clone(),
    });
    let source_prefix = match &r.kind {
        RestoreKind::S3Versions { prefix, .. } => prefix.as_str(),
        _ => "",
    };
    let (reports, newest) = (&mut p.checks, &mut p.newest);
    let work = async {
        let mut bad = 0;
        let mut ran = checks.len();
        if let Some(objects) = &objects {
            let report = restored_set_check(&r.id, objects).await;
            sink.event(&Event::CheckFinished { check: &report });
            if report.outcome != CheckOutcome::Passed {
                bad += 1;
            }
            reports.push(report);
            ran += 1;
        }
        for check in &checks {
            let (report, fresh) = match (&objects, &cx) {
                (Some(objects), _) => run_object_check(check, objects, source_prefix).await,
                (None, Some(cx)) => run_check(check, cx).await,
                (None, None) => {
                    return Err(ProviderError::harness(
                        "this target cannot be checked with SQL",
                    ));
                }
            };
            sink.event(&Event::CheckFinished { check: &report });
            if report.outcome != CheckOutcome::Passed {
                bad += 1;
            }
            if let Some(f) = fresh {
                *newest = Some(newest.map_or(f, |n: DateTime<Utc>| n.min(f)));
            }
            reports.push(report);
        }
        if bad > 0 {
            return Err(ProviderError::restore(format!(
                "{bad} of {ran} checks did not pass"
            )));
        }
        Ok((
            (),
            Waited {
                polls: ran as u32,
                resolution: Duration::ZERO,
            },
        ))
    };
    match ph
        .run("verify", plan.timeouts.verify, &mut p.phases, work)
        .await
    {
        Ok(()) => p.usable_at = Some(Instant::now()),
        Err(f) => p.fail = Some(f),
    }
}

fn seconds_between(later: DateTime<Utc>, earlier: DateTime<Utc>) -> f64 {
    (later - earlier)
        .num_microseconds()
        .map_or(0.0, |us| us as f64 / 1e6)
}

/// Runs one drill. Never panics on a provider's or a check's failure: they set the verdict.
pub async fn run_drill(
    plan: &DrillPlan,
    opts: &RunOptions,
    cancel: &Cancel,
    sink: &dyn EventSink,
) -> RunOutput {
    let sw = Stopwatch::start();
    let started_at = sw.started_at();
    let run_id = new_run_id(started_at);
    let incident_at = opts
        .incident_at
        .unwrap_or_else(|| plan.incident.at.resolve(started_at));
    let ids: Vec<String> = plan.restores.iter().map(|r| r.id.clone()).collect();
    sink.event(&Event::RunStarted {
        drill: &plan.name,
        run_id: &run_id,
        restores: &ids,
    });
    let cx = RunContext {
        run_id: run_id.clone(),
        tied: !(opts.keep || opts.keep_on_failure),
    };

    let mut restorers: Vec<(Option<Restorer>, Result<(), ProviderError>)> = plan
        .restores
        .iter()
        .map(|r| match Restorer::new(plan, r) {
            Ok(rest) => (Some(rest), Ok(())),
            Err(e) => (None, Err(e)),
        })
        .collect();
    let pipelines =
        futures_util::future::join_all(plan.restores.iter().zip(restorers.iter_mut()).map(
            |(r, (rest, made))| {
                let made = std::mem::replace(made, Ok(()));
                pipeline(plan, r, rest, made, incident_at, &cx, cancel, sink)
            },
        ))
        .await;
    let mut pipelines = pipelines;
    let others: HashMap<String, CheckTarget> = plan
        .restores
        .iter()
        .zip(&pipelines)
        .filter_map(|(r, p)| Some((r.id.clone(), p.check_target.clone()?)))
        .collect();
    let pg_bin_dir = match &plan.provider {
        crate::drill::ProviderSpec::Local { pg_bin_dir } => pg_bin_dir.clone(),
        crate::drill::ProviderSpec::Aws { .. } => None,
    };
    futures_util::future::join_all(
        plan.restores
            .iter()
            .zip(pipelines.iter_mut())
            .zip(&restorers)
            .map(|((r, p), (rest, _))| {
                let objects = rest.as_ref().and_then(Restorer::objects);
                verify(
                    plan,
                    r,
                    p,
                    objects,
                    &others,
                    pg_bin_dir.as_deref(),
                    cancel,
                    sink,
                )
            }),
    )
    .await;

    // RTO ends when the last restore is usable; only if every one is.
    let all_usable = pipelines.iter().all(|p| p.usable_at.is_some());
    let allowance = plan.incident.detect_allowance.as_secs_f64();
    let rto = all_usable.then(|| {
        let end = pipelines
            .iter()
            .filter_map(|p| p.usable_at)
            .max()
            .unwrap_or_else(|| sw.instant());
        let lead = seconds_between(started_at, incident_at).max(0.0);
        allowance + lead + end.duration_since(sw.instant()).as_secs_f64()
    });
    let mut rpo: Option<f64> = None;
    let mut all_from_data = true;
    for p in &pipelines {
        let newest = match p.newest {
            Some(n) => Some(n),
            None => {
                all_from_data = false;
                p.recovery_point
                    .as_ref()
                    .and_then(RecoveryPoint::metadata_time)
            }
        };
        if let Some(n) = newest {
            let r = seconds_between(incident_at, n).max(0.0);
            rpo = Some(rpo.map_or(r, |x: f64| x.max(r)));
        }
    }
    let rpo_source = rpo.map(|_| {
        if all_from_data {
            RpoSource::Data
        } else {
            RpoSource::Metadata
        }
    });

    let interrupted_by = cancel.reason();
    let harness_fail = pipelines
        .iter()
        .any(|p| matches!(&p.fail, Some(f) if f.blame == Blame::Harness));
    let failures: Vec<String> = pipelines
        .iter()
        .zip(&plan.restores)
        .filter_map(|(p, r)| {
            let ph = p.phases.iter().find(|ph| ph.outcome != Outcome::Ok)?;
            Some(format!(
                "restore \"{}\": {} {}: {}",
                r.id,
                ph.name,
                format!("{:?}", ph.outcome).to_lowercase(),
                ph.error
                    .as_deref()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
            ))
        })
        .collect();
    let (verdict, verdict_reason) = if let Some(sig) = &interrupted_by {
        (
            Verdict::Error,
            format!("Interrupted by {sig} before every restore was verified."),
        )
    } else if harness_fail {
        (
            Verdict::Error,
            format!(
                "The harness could not run the drill: {}.",
                failures.join("; ")
            ),
        )
    } else if !failures.is_empty() {
        (
            Verdict::Failed,
            format!("The restore did not succeed: {}.", failures.join("; ")),
        )
    } else {
        match (rto, rpo) {
            (Some(rto), Some(rpo)) => judge_targets(&plan.tier, rto, rpo),
            _ => (
                Verdict::Error,
                "RTO or RPO could not be measured.".to_owned(),
            ),
        }
    };

    // Teardown: on every path, unless the target is to be kept.
    let keep =
        opts.keep || (opts.keep_on_failure && !matches!(verdict, Verdict::Met | Verdict::Missed));
    let mut kept = Vec::new();
    let mut leaked = Vec::new();
    let mut restores = Vec::new();
    let mut teardowns = Vec::new();
    for ((rest, _), r) in restorers.iter_mut().zip(&plan.restores) {
        if let Some(rest) = rest {
            if keep {
                if let Some(how) = rest.keep() {
                    sink.event(&Event::Kept {
                        restore: &r.id,
                        how: &how,
                    });
                    kept.push((r.id.clone(), how));
                }
            } else {
                teardowns.push(async {
                    let mut phases = Vec::new();
                    let never = Cancel::new();
                    let ph = Phases {
                        restore: &r.id,
                        cancel: &never,
                        sink,
                    };
                    let done = ph
                        .run("teardown", plan.timeouts.teardown, &mut phases, async {
                            match rest.teardown().await {
                                Ok(()) => Ok(((), Waited::default())),
                                Err(left) => Err(ProviderError::harness(format!(
                                    "left behind: {}",
                                    left.join(", ")
                                ))),
                            }
                        })
                        .await;
                    (phases, done.is_err())
                });
            }
        }
    }
    let torn = futures_util::future::join_all(teardowns).await;
    let mut torn = torn.into_iter();
    let mut all_checks = Vec::new();
    for ((p, r), (rest, _)) in pipelines.into_iter().zip(&plan.restores).zip(&restorers) {
        let mut phases = p.phases;
        all_checks.extend(p.checks);
        if rest.is_some()
            && !keep
            && let Some((t, failed)) = torn.next()
        {
            if failed {
                leaked.extend(t.iter().filter_map(|ph| ph.error.clone()));
            }
            phases.extend(t);
        }
        restores.push(RestoreReport {
            id: r.id.clone(),
            kind: r.kind_name().to_owned(),
            recovery_point: p.recovery_point,
            target: p.target,
            phases,
            newest_data_at: p.newest,
        });
    }

    let seconds = sw.elapsed().as_secs_f64();
    let report = RunReport {
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        drill: DrillRef {
            name: plan.name.clone(),
            file: plan.file.display().to_string(),
            sha256: plan.sha256.clone(),
        },
        run_id,
        started_at,
        finished_at: Utc::now(),
        seconds,
        incident_at,
        tier: TierRef {
            name: plan.tier.name.clone(),
            rto_seconds: plan.tier.rto.as_secs_f64(),
            rpo_seconds: plan.tier.rpo.as_secs_f64(),
        },
        verdict,
        verdict_reason,
        measured: Measured {
            rto_seconds: rto,
            rpo_seconds: rpo,
            rpo_source,
            detect_allowance_seconds: allowance,
        },
        restores,
        checks: all_checks,
        teardown: TeardownReport {
            outcome: if keep {
                "kept".into()
            } else if leaked.is_empty() {
                "done".into()
            } else {
                "leaked".into()
            },
            leaked,
        },
        interrupted_by,
        // Who ran it goes into report.json, which the history's hash covers.
        operator: Some(crate::evidence::current_operator()),
        aws: crate::provider::aws::AwsSettings::of(&plan.provider),
    };
    sink.event(&Event::RunFinished { report: &report });
    RunOutput { report, kept }
}
