//! The warmup (`[restore.warmup]`): a restored database can be "available" long before it is
//! usable. RDS loads a restored volume's blocks from S3 as they are first read, and any fresh
//! server starts with a cold cache, so the first queries can be far slower than production's.
//! The warmup runs the drill's query over and over, in batches of `WARMUP_BATCH` runs, and
//! ends when a whole batch's p95 latency is at most `until_p95` (reached) or when `max` has
//! passed (a finding: the target never became usable in time). It is the last step of the
//! `verify` phase, so its time counts toward the measured RTO.
//!
//! Latencies are taken on tokio's monotonic clock (paused in the engine tests) and recorded in
//! an HDR histogram per batch; the report keeps each batch's p50, p95, p99 and maximum as the
//! latency curve.

use std::future::Future;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::checks::{CheckClient, CheckTarget};
use crate::drill::{RestorePlan, WARMUP_BATCH, Warmup};
use crate::report::{CheckOutcome, CheckReport, Finding, WarmupBatch, WarmupReport};

/// What the warmup of one restore works with.
#[derive(Debug, Clone)]
pub struct WarmupJob<'a> {
    pub restore: &'a RestorePlan,
    pub spec: &'a Warmup,
    /// How to reach the restored database; `None` when it cannot be queried.
    pub target: Option<CheckTarget>,
}

/// Something that runs the warmup query: a session on the restored database, or a script in
/// the engine tests.
pub trait WarmupProbe {
    /// Gets ready to run (connects); not timed as a run.
    fn open(&mut self) -> impl Future<Output = Result<(), String>>;

    /// Runs the query once, to its last row. `Err` when it could not run.
    fn run_once(&mut self) -> impl Future<Output = Result<(), String>>;
}

/// Microseconds, from 1 µs to an hour, at 3 significant digits (0.1 %).
fn histogram() -> Option<Histogram<u64>> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).ok()
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn seconds(us: u64) -> f64 {
    us as f64 / 1e6
}

fn batch_of(h: &Histogram<u64>, at: Duration) -> WarmupBatch {
    WarmupBatch {
        runs: u32::try_from(h.len()).unwrap_or(u32::MAX),
        at_seconds: at.as_secs_f64(),
        p50_seconds: seconds(h.value_at_quantile(0.50)),
        p95_seconds: seconds(h.value_at_quantile(0.95)),
        p99_seconds: seconds(h.value_at_quantile(0.99)),
        max_seconds: seconds(h.max()),
    }
}

/// Runs the warmup on `probe`: batch after batch until one full batch has a p95 of at most
/// `until_p95`, or `max` passes (a run still going then is cut, and counted with the time it
/// had taken), or the query fails. A batch cut short by `max` never counts as reached.
pub async fn warm_up<P: WarmupProbe>(spec: &Warmup, probe: &mut P) -> WarmupReport {
    let start = Instant::now();
    let deadline = start + spec.max;
    let bound = micros(spec.until_p95);
    let mut report = WarmupReport {
        until_p95_seconds: spec.until_p95.as_secs_f64(),
        max_seconds: spec.max.as_secs_f64(),
        batch_runs: WARMUP_BATCH,
        reached: false,
        runs: 0,
        seconds: 0.0,
        batches: Vec::new(),
        error: None,
    };
    let Some(mut h) = histogram() else {
        report.error = Some("cannot make a latency histogram".into());
        return report;
    };
    match tokio::time::timeout_at(deadline, probe.open()).await {
        Ok(Ok(())) => loop {
            let t = Instant::now();
            let ran = tokio::time::timeout_at(deadline, probe.run_once()).await;
            let took = Instant::now().duration_since(t);
            match ran {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    report.error = Some(e);
                    break;
                }
                Err(_) => {
                    // Cut by `max`: the run took at least this long.
                    h.saturating_record(micros(took));
                    report.runs += 1;
                    break;
                }
            }
            h.saturating_record(micros(took));
            report.runs += 1;
            if h.len() >= u64::from(WARMUP_BATCH) {
                let p95 = h.value_at_quantile(0.95);
                report
                    .batches
                    .push(batch_of(&h, Instant::now().duration_since(start)));
                h.reset();
                if p95 <= bound {
                    report.reached = true;
                    break;
                }
            }
            if Instant::now() >= deadline {
                break;
            }
        },
        Ok(Err(e)) => report.error = Some(e),
        Err(_) => {
            report.error = Some(format!(
                "could not open a session within the warmup's {}",
                crate::drill::human(spec.max)
            ));
        }
    }
    if !h.is_empty() {
        report
            .batches
            .push(batch_of(&h, Instant::now().duration_since(start)));
    }
    report.seconds = Instant::now().duration_since(start).as_secs_f64();
    report
}

pub(crate) use crate::drill::human_latency as ms;

/// How every `failure` sentence starts, so the verdict can tell a warmup from a check.
pub(crate) const FAILURE_PREFIX: &str = "the warmup";

/// Why a warmup that did not reach its bound failed the verify phase, in one sentence.
pub(crate) fn failure(w: &WarmupReport) -> String {
    if let Some(e) = &w.error {
        return format!("{FAILURE_PREFIX} could not run: {e}");
    }
    let last = w
        .batches
        .iter()
        .rev()
        .find(|b| b.runs == w.batch_runs)
        .or(w.batches.last());
    format!(
        "{FAILURE_PREFIX} query's p95 latency did not fall to {} within {} ({} runs{})",
        ms(w.until_p95_seconds),
        crate::drill::human_seconds(w.max_seconds),
        w.runs,
        last.map(|b| format!("; p95 of the last full batch {}", ms(b.p95_seconds)))
            .unwrap_or_default()
    )
}

/// The warmup as a check of its restore, so its outcome and finding sit with the others (and
/// in JUnit): passed when reached, a `not_warm` finding when `max` passed first, an error
/// when the query could not run.
pub(crate) fn as_check(restore: &str, w: &WarmupReport) -> CheckReport {
    let last_p95 = w.batches.last().map(|b| b.p95_seconds);
    let (outcome, findings) = if w.reached {
        (CheckOutcome::Passed, Vec::new())
    } else if let Some(e) = &w.error {
        (
            CheckOutcome::Error,
            vec![Finding {
                kind: "error".into(),
                object: restore.to_owned(),
                expected: "the warmup query runs".into(),
                found: e.clone(),
                message: failure(w),
            }],
        )
    } else {
        (
            CheckOutcome::Failed,
            vec![Finding {
                kind: "not_warm".into(),
                object: restore.to_owned(),
                expected: format!(
                    "p95 at most {} within {}",
                    ms(w.until_p95_seconds),
                    crate::drill::human_seconds(w.max_seconds)
                ),
                found: match last_p95 {
                    Some(p) => format!("p95 {} after {} runs", ms(p), w.runs),
                    None => "no run finished".into(),
                },
                message: failure(w),
            }],
        )
    };
    CheckReport {
        restore: restore.to_owned(),
        kind: "warmup".into(),
        // Named like a check without a name: unique per restore.
        name: format!("warmup ({restore})"),
        outcome,
        findings,
        seconds: w.seconds,
        found: last_p95.map(|p| format!("p95 {}", ms(p))),
    }
}

/// The warmup query on the restored database, in one read-only session (the checks' own).
struct SqlProbe {
    target: CheckTarget,
    query: String,
    client: Option<CheckClient>,
}

impl WarmupProbe for SqlProbe {
    async fn open(&mut self) -> Result<(), String> {
        self.client = Some(self.target.client().await?);
        Ok(())
    }

    async fn run_once(&mut self) -> Result<(), String> {
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| String::from("no session"))?;
        client.simple_query(&self.query).await.map_err(|e| {
            let why = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned());
            format!("the warmup query failed: {why}")
        })?;
        Ok(())
    }
}

/// The warmup of a real restored database.
pub(crate) async fn on_database(job: &WarmupJob<'_>) -> WarmupReport {
    match &job.target {
        Some(target) => {
            let mut probe = SqlProbe {
                target: target.clone(),
                query: job.spec.query.clone(),
                client: None,
            };
            // Dropping the probe's session cancels a query still running on the server.
            warm_up(job.spec, &mut probe).await
        }
        None => WarmupReport {
            until_p95_seconds: job.spec.until_p95.as_secs_f64(),
            max_seconds: job.spec.max.as_secs_f64(),
            batch_runs: WARMUP_BATCH,
            reached: false,
            runs: 0,
            seconds: 0.0,
            batches: Vec::new(),
            error: Some("this target has no database address to query".into()),
        },
    }
}
