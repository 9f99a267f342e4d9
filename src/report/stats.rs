//! `restore-drill report`: statistics over the history, per drill, and their text and HTML
//! renderings.
//!
//! Percentiles come from an HDR histogram of milliseconds with 3 significant digits: p50, p90
//! and p99 are within 0.1% of the exact nearest-rank value (never above the maximum), and the
//! maximum is exact. Negative values (a measured RPO can be, when the restore holds data newer
//! than the incident) count as 0 in the percentiles; the maximum keeps the sign.
//!
//! The RTO trend is the measured RTO of the last `TREND_RUNS` runs that have one, oldest first,
//! with its least-squares slope in seconds per run. It warns when that slope is positive and
//! the fitted line, `PROJECT_RUNS` runs past the latest, reaches `WARN_FRACTION` of the tier's
//! RTO target: the drill is heading for a miss before it misses.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use hdrhistogram::Histogram;

use super::HistoryRow;
use crate::drill::{TierCatalog, human_seconds};

/// Runs in the RTO trend.
pub(crate) const TREND_RUNS: usize = 10;
/// Fewer measured runs than this: no slope.
pub(crate) const MIN_TREND_RUNS: usize = 3;
/// How many runs ahead the trend is projected.
pub(crate) const PROJECT_RUNS: usize = 5;
/// The share of the RTO target the projection must reach to warn.
pub(crate) const WARN_FRACTION: f64 = 0.8;

/// Statistics per drill, over the rows that passed the filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Sorted by drill name.
    pub drills: Vec<DrillSummary>,
    /// Runs counted, over all drills.
    pub runs: usize,
    /// The filters it was made with.
    pub drill_filter: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// One drill's runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillSummary {
    pub drill: String,
    /// The tier of the latest run.
    pub tier: String,
    /// That tier's RTO target, when known.
    pub target_rto_seconds: Option<f64>,
    pub runs: usize,
    /// Runs whose verdict is `met`.
    pub passed: usize,
    /// `passed / runs`, from 0 to 1.
    pub pass_rate: f64,
    pub last_run_id: String,
    pub last_run_at: DateTime<Utc>,
    pub last_verdict: String,
    pub last_pass_at: Option<DateTime<Utc>>,
    /// That tier's RPO target, when known.
    pub target_rpo_seconds: Option<f64>,
    /// Every run, oldest first: what the history page charts and links.
    pub history: Vec<RunPoint>,
    /// `rto`, `rpo`, then each phase (`HistoryRow::PHASES`), only those with a value.
    pub metrics: Vec<MetricStats>,
    pub trend: RtoTrend,
    pub warnings: Vec<String>,
}

impl DrillSummary {
    /// The statistics of one metric (`rto`, `rpo` or a phase name), if any run had it.
    pub fn metric(&self, name: &str) -> Option<&MetricStats> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

/// One run of a drill, as the history page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPoint {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub verdict: String,
    pub rto_seconds: Option<f64>,
    pub rpo_seconds: Option<f64>,
}

/// A tier's targets in seconds, by tier name (`Summary::targets`).
pub type Targets = BTreeMap<String, TierTargets>;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TierTargets {
    pub rto_seconds: f64,
    pub rpo_seconds: f64,
}

/// Distribution of one metric, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricStats {
    pub name: String,
    /// Runs that had a value (at least 1).
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// The measured RTO of the latest runs that have one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RtoTrend {
    /// Oldest first, at most `TREND_RUNS`.
    pub run_ids: Vec<String>,
    pub rto_seconds: Vec<f64>,
    /// Least-squares slope, seconds per run; `None` under `MIN_TREND_RUNS` values.
    pub slope_seconds_per_run: Option<f64>,
    /// The fitted RTO `PROJECT_RUNS` runs after the latest.
    pub projected_seconds: Option<f64>,
}

impl Summary {
    /// Tier name → its RTO and RPO targets in seconds, for `summarize`.
    pub fn targets(tiers: &TierCatalog) -> Targets {
        tiers
            .names()
            .into_iter()
            .filter_map(|n| {
                let t = tiers.get(n)?;
                let targets = TierTargets {
                    rto_seconds: t.rto.as_secs_f64(),
                    rpo_seconds: t.rpo.as_secs_f64(),
                };
                Some((n.to_owned(), targets))
            })
            .collect()
    }
}

/// Statistics per drill over `rows` (in any order), keeping only `drill` when given and runs
/// started at or after `since`. `targets` maps a tier name to its targets in seconds
/// (`Summary::targets`); a tier not in it has no target line and no trend warning.
pub fn summarize(
    rows: &[HistoryRow],
    drill: Option<&str>,
    since: Option<DateTime<Utc>>,
    targets: &Targets,
) -> Summary {
    let mut by_drill: BTreeMap<&str, Vec<&HistoryRow>> = BTreeMap::new();
    for r in rows {
        if drill.is_some_and(|d| d != r.drill) || since.is_some_and(|s| r.started_at < s) {
            continue;
        }
        by_drill.entry(&r.drill).or_default().push(r);
    }
    let mut s = Summary {
        drill_filter: drill.map(str::to_owned),
        since,
        ..Summary::default()
    };
    for (name, mut runs) in by_drill {
        // Stable: runs started in the same millisecond keep their order in the file.
        runs.sort_by_key(|r| r.started_at);
        s.runs += runs.len();
        s.drills.push(drill_summary(name, &runs, targets));
    }
    s
}

fn drill_summary(name: &str, runs: &[&HistoryRow], targets: &Targets) -> DrillSummary {
    let passed: Vec<&&HistoryRow> = runs.iter().filter(|r| r.verdict == "met").collect();
    // `runs` is never empty: a drill is only listed with a run.
    let last = runs[runs.len() - 1];
    let mut metrics = Vec::new();
    let mut metric = |name: &str, value: &dyn Fn(&HistoryRow) -> Option<f64>| {
        if let Some(m) = metric_stats(name, runs.iter().filter_map(|r| value(r))) {
            metrics.push(m);
        }
    };
    metric("rto", &|r| r.rto_seconds);
    metric("rpo", &|r| r.rpo_seconds);
    for phase in HistoryRow::PHASES {
        metric(phase, &|r| r.phase(phase));
    }
    let tier_targets = targets.get(&last.tier).copied();
    let target = tier_targets.map(|t| t.rto_seconds);
    let trend = rto_trend(runs);
    let mut warnings = Vec::new();
    if let (Some(slope), Some(projected), Some(target)) =
        (trend.slope_seconds_per_run, trend.projected_seconds, target)
        && slope > 0.0
        && projected >= WARN_FRACTION * target
    {
        warnings.push(format!(
            "RTO is rising by {} per run over the last {} runs: {PROJECT_RUNS} runs from now \
             it would be {}, {:.0}% of the {} target of tier {}",
            human_seconds(slope),
            trend.rto_seconds.len(),
            human_seconds(projected),
            100.0 * projected / target,
            human_seconds(target),
            last.tier
        ));
    }
    DrillSummary {
        drill: name.to_owned(),
        tier: last.tier.clone(),
        target_rto_seconds: target,
        runs: runs.len(),
        passed: passed.len(),
        pass_rate: passed.len() as f64 / runs.len() as f64,
        last_run_id: last.run_id.clone(),
        last_run_at: last.started_at,
        last_verdict: last.verdict.clone(),
        last_pass_at: passed.last().map(|r| r.started_at),
        target_rpo_seconds: tier_targets.map(|t| t.rpo_seconds),
        history: runs
            .iter()
            .map(|r| RunPoint {
                run_id: r.run_id.clone(),
                started_at: r.started_at,
                verdict: r.verdict.clone(),
                rto_seconds: r.rto_seconds,
                rpo_seconds: r.rpo_seconds,
            })
            .collect(),
        metrics,
        trend,
        warnings,
    }
}

fn metric_stats(name: &str, values: impl Iterator<Item = f64>) -> Option<MetricStats> {
    // Auto-resizing, 3 significant digits: new(3) cannot fail (sigfig is at most 5).
    let mut h = Histogram::<u64>::new(3).ok()?;
    let mut max = f64::NEG_INFINITY;
    for v in values {
        max = max.max(v);
        let ms = (v.max(0.0) * 1000.0).round() as u64;
        // Grows as needed; it could only fail to on a 16-bit target.
        if h.record(ms).is_err() {
            h.saturating_record(ms);
        }
    }
    if h.is_empty() {
        return None;
    }
    let at = |q: f64| (h.value_at_quantile(q) as f64 / 1000.0).min(max.max(0.0));
    Some(MetricStats {
        name: name.to_owned(),
        count: h.len(),
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max,
    })
}

fn rto_trend(runs: &[&HistoryRow]) -> RtoTrend {
    let mut measured: Vec<(&str, f64)> = runs
        .iter()
        .rev()
        .filter_map(|r| Some((r.run_id.as_str(), r.rto_seconds?)))
        .take(TREND_RUNS)
        .collect();
    measured.reverse();
    let ys: Vec<f64> = measured.iter().map(|m| m.1).collect();
    let (slope, projected) = match least_squares(&ys) {
        Some((slope, intercept)) => {
            let x = (ys.len() - 1 + PROJECT_RUNS) as f64;
            (Some(slope), Some(intercept + slope * x))
        }
        None => (None, None),
    };
    RtoTrend {
        run_ids: measured.iter().map(|m| m.0.to_owned()).collect(),
        rto_seconds: ys,
        slope_seconds_per_run: slope,
        projected_seconds: projected,
    }
}

/// (slope, intercept) of the least-squares line through (i, ys[i]).
fn least_squares(ys: &[f64]) -> Option<(f64, f64)> {
    if ys.len() < MIN_TREND_RUNS {
        return None;
    }
    let n = ys.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let slope = sxy / sxx;
    Some((slope, mean_y - slope * mean_x))
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// "N runs of M drills", singular where it is one.
fn count(s: &Summary) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} of {}",
        plural(s.runs, "run"),
        plural(s.drills.len(), "drill")
    )
}

fn filters(s: &Summary) -> String {
    let mut f = Vec::new();
    if let Some(d) = &s.drill_filter {
        f.push(format!("drill {d}"));
    }
    if let Some(t) = s.since {
        f.push(format!("since {}", time(t)));
    }
    if f.is_empty() {
        String::new()
    } else {
        format!(" ({})", f.join(", "))
    }
}

/// A readable table per drill.
pub fn render_summary_text(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} in the history{}", count(s), filters(s));
    for d in &s.drills {
        let target = d
            .target_rto_seconds
            .map_or("no RTO target known".to_owned(), |t| {
                format!("RTO target {}", human_seconds(t))
            });
        let _ = writeln!(o, "\n{} (tier {}, {target})", d.drill, d.tier);
        let _ = writeln!(
            o,
            "  runs {}, met {} ({:.1}%); last run {} at {}: {}; last pass {}",
            d.runs,
            d.passed,
            100.0 * d.pass_rate,
            d.last_run_id,
            time(d.last_run_at),
            d.last_verdict,
            d.last_pass_at.map_or("never".to_owned(), time)
        );
        let _ = writeln!(
            o,
            "  {:<10} {:>7} {:>11} {:>11} {:>11} {:>11}",
            "seconds", "count", "p50", "p90", "p99", "max"
        );
        for m in &d.metrics {
            let _ = writeln!(
                o,
                "  {:<10} {:>7} {:>11.1} {:>11.1} {:>11.1} {:>11.1}",
                m.name, m.count, m.p50, m.p90, m.p99, m.max
            );
        }
        let t = &d.trend;
        if t.rto_seconds.is_empty() {
            let _ = writeln!(o, "  RTO trend: no run measured an RTO");
        } else {
            let values: Vec<String> = t.rto_seconds.iter().map(|v| format!("{v:.1}")).collect();
            let _ = write!(
                o,
                "  RTO trend, last {} runs (oldest first): {} s",
                values.len(),
                values.join(" ")
            );
            match (t.slope_seconds_per_run, t.projected_seconds) {
                (Some(slope), Some(p)) => {
                    let _ = writeln!(
                        o,
                        "; slope {slope:+.1} s/run, {PROJECT_RUNS} runs ahead {p:.1} s"
                    );
                }
                _ => {
                    let _ = writeln!(o, "; too few runs for a slope");
                }
            }
        }
        for w in &d.warnings {
            let _ = writeln!(o, "  warning: {w}");
        }
    }
    o
}
