//! The `report --html` page: the history of every drill, one section each. Per drill: pass
//! rate, the last run and pass, when the next passing run is due, RTO and RPO of every run
//! over time against the tier's targets (inline SVG, each point a link to that run's
//! report), the percentiles of RTO, RPO and each phase, the trend warning, and the runs.
//!
//! It renders a `Summary` (and what the command knows besides: due dates, where the run
//! reports are); it computes nothing. Markup comes from `maud`, which escapes every value, on
//! the stylesheet every page shares.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use maud::{Markup, html};

use super::html::{tick_label, tick_step};
use super::page::{CHART_FONT, n1, page};
use super::stats::{DrillSummary, RunPoint, Summary};
use crate::drill::human_seconds;

/// What the page shows besides the statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryPageContext {
    /// When the next passing run of each drill is due, by drill name (from its drill file;
    /// a drill without a file here shows none).
    pub next_due: BTreeMap<String, NextDue>,
    /// The path from the page's folder to the reports root, ending in `/` (`""` when the page
    /// is in it): runs link to `<it><drill>/<run_id>/report.html`. `None`: no links.
    pub reports_href: Option<String>,
}

/// When a drill must pass again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextDue {
    /// Due at this time, in the future.
    At(DateTime<Utc>),
    /// Was due at this time, which has passed.
    Overdue(DateTime<Utc>),
    /// No passing run yet: due now.
    NeverPassed,
}

/// Runs listed in each drill's table (the newest); the charts show every run.
const TABLE_RUNS: usize = 50;

pub fn render_summary_html(s: &Summary, cx: &HistoryPageContext) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut filters = Vec::new();
    if let Some(d) = &s.drill_filter {
        filters.push(format!("drill {d}"));
    }
    if let Some(t) = s.since {
        filters.push(format!("since {}", day(t)));
    }
    let body = html! {
        h1 { "Restore drill history" }
        p.muted {
            (plural(s.runs, "run")) " of " (plural(s.drills.len(), "drill")) " in the history"
            @if !filters.is_empty() { " (" (filters.join(", ")) ")" }
            ". Each point on a chart is a run: green met its targets, amber missed one, red \
             failed; click it for that run's report."
        }
        @if s.drills.is_empty() {
            section { p { "No runs in the history yet." } }
        }
        div #history {
            @for d in &s.drills { (drill_section(d, cx)) }
        }
    };
    page("restore-drill history", Some("wide"), body)
}

fn drill_section(d: &DrillSummary, cx: &HistoryPageContext) -> Markup {
    let link = |run_id: &str| {
        cx.reports_href
            .as_ref()
            .map(|base| format!("{base}{}/{}/report.html", encode(&d.drill), encode(run_id)))
    };
    let due = cx.next_due.get(&d.drill);
    html! {
        section.drill id={"drill-" (slug(&d.drill))} {
            h2 {
                (d.drill) " "
                span class={"b b-" (slug(&d.last_verdict))} { (d.last_verdict) }
            }
            div.stats {
                (stat("tier", html! { (d.tier) }))
                (stat("pass rate", html! {
                    (format!("{:.0}%", 100.0 * d.pass_rate))
                    span.muted style="font-size:13px;font-weight:400" { " " (d.passed) " of " (d.runs) " met" }
                }))
                (stat("RTO target", html! { (d.target_rto_seconds.map_or_else(|| "unknown".to_owned(), human_seconds)) }))
                (stat("RPO target", html! { (d.target_rpo_seconds.map_or_else(|| "unknown".to_owned(), human_seconds)) }))
                (stat("last pass", html! { (d.last_pass_at.map_or_else(|| "never".to_owned(), day)) }))
                (stat("next due", match due {
                    Some(NextDue::At(t)) => html! { (day(*t)) },
                    Some(NextDue::Overdue(t)) => html! { span.warning { "overdue since " (day(*t)) } },
                    Some(NextDue::NeverPassed) => html! { span.warning { "now (never passed)" } },
                    None => html! { span.muted { "no drill file" } },
                }))
            }
            (series_svg(d, "RTO", d.target_rto_seconds, |r| r.rto_seconds, &link))
            (series_svg(d, "RPO", d.target_rpo_seconds, |r| r.rpo_seconds, &link))
            @for w in &d.warnings { p.warning { "warning: " (w) } }
            h3 { "Percentiles over " (d.runs) " runs" }
            table.percentiles {
                tr { th { "measure" } th.num { "runs" } th.num { "p50" } th.num { "p90" } th.num { "p99" } th.num { "max" } }
                @for m in &d.metrics {
                    tr {
                        td { (metric_name(&m.name)) }
                        td.num { (m.count) }
                        td.num { (human_seconds(m.p50)) }
                        td.num { (human_seconds(m.p90)) }
                        td.num { (human_seconds(m.p99)) }
                        td.num { (human_seconds(m.max)) }
                    }
                }
            }
            h3 {
                @if d.history.len() > TABLE_RUNS { "The last " (TABLE_RUNS) " runs, newest first" }
                @else { "Runs, newest first" }
            }
            table.runs {
                tr { th { "run" } th { "started" } th { "verdict" } th.num { "RTO" } th.num { "RPO" } }
                @for r in d.history.iter().rev().take(TABLE_RUNS) {
                    tr {
                        td {
                            @match link(&r.run_id) {
                                Some(href) => { a href=(href) { code { (r.run_id) } } }
                                None => { code { (r.run_id) } }
                            }
                        }
                        td.t { (r.started_at.to_rfc3339_opts(SecondsFormat::Secs, true)) }
                        td { span class={"b b-" (slug(&r.verdict))} { (r.verdict) } }
                        td.num { (r.rto_seconds.map_or_else(|| "—".to_owned(), human_seconds)) }
                        td.num { (r.rpo_seconds.map_or_else(|| "—".to_owned(), human_seconds)) }
                    }
                }
            }
        }
    }
}

fn stat(key: &str, value: Markup) -> Markup {
    html! { div.stat { div.k { (key) } div.v { (value) } } }
}

fn metric_name(name: &str) -> String {
    match name {
        "rto" => "RTO".to_owned(),
        "rpo" => "RPO".to_owned(),
        phase => format!("{phase} phase"),
    }
}

fn verdict_colour(verdict: &str) -> &'static str {
    match verdict {
        "met" => "#2da44e",
        "missed" => "#e3a008",
        _ => "#cf222e",
    }
}

/// One measure of every run over time (x: when the run started, y: seconds from 0), with the
/// target as a dashed line. A run that did not measure it is a mark on the axis.
fn series_svg(
    d: &DrillSummary,
    what: &str,
    target: Option<f64>,
    value: impl Fn(&RunPoint) -> Option<f64>,
    link: &dyn Fn(&str) -> Option<String>,
) -> Markup {
    const W: f64 = 1100.0;
    const H: f64 = 230.0;
    const LEFT: f64 = 80.0;
    const RIGHT: f64 = 150.0;
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 40.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let runs = &d.history;
    let (first, last) = match (runs.first(), runs.last()) {
        (Some(f), Some(l)) => (f.started_at, l.started_at),
        _ => return html! {},
    };
    let span_s = (last - first).num_seconds().max(1) as f64;
    let x = |t: DateTime<Utc>| {
        if runs.len() < 2 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + (t - first).num_seconds() as f64 / span_s * plot_w
        }
    };
    let top_value = runs
        .iter()
        .filter_map(&value)
        .chain(target)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let step = tick_step(top_value);
    let top_value = (top_value / step).ceil() * step;
    let y = |v: f64| TOP + plot_h * (1.0 - v.clamp(0.0, top_value) / top_value);
    let mut ticks = Vec::new();
    let mut t = 0.0;
    while t <= top_value + step / 2.0 {
        ticks.push(t);
        t += step;
    }
    let points: Vec<(f64, f64, &RunPoint, f64)> = runs
        .iter()
        .filter_map(|r| {
            let v = value(r)?;
            Some((x(r.started_at), y(v), r, v))
        })
        .collect();
    let unmeasured: Vec<&RunPoint> = runs.iter().filter(|r| value(r).is_none()).collect();
    let mut line = String::new();
    for (px, py, _, _) in &points {
        let _ = write!(line, "{px:.1},{py:.1} ");
    }
    let over = target.map_or(0, |t| points.iter().filter(|p| p.3 > t).count());
    let label = format!(
        "{what} of {} runs of {} from {} to {}{}; {} measured{}.",
        runs.len(),
        d.drill,
        day(first),
        day(last),
        target.map_or_else(String::new, |t| format!(
            ", against the target {}",
            human_seconds(t)
        )),
        points.len(),
        target.map_or_else(String::new, |_| format!(", {over} over the target")),
    );
    let id = format!("{}-{}", what.to_lowercase(), slug(&d.drill));
    html! {
        svg id=(id) class="series" role="img" aria-label=(label)
            viewBox={"0 0 " (W) " " (H)} xmlns="http://www.w3.org/2000/svg"
            font-family=(CHART_FONT) font-size="12" {
            title { (label) }
            text x="8" y=(n1(TOP + 14.0)) font-size="15" font-weight="700" fill="#1f2328" { (what) }
            @for t in &ticks {
                line x1=(n1(LEFT)) y1=(n1(y(*t))) x2=(n1(LEFT + plot_w)) y2=(n1(y(*t))) stroke="#eaeef2" stroke-width="1" {}
                text x=(n1(LEFT - 6.0)) y=(n1(y(*t) + 4.0)) text-anchor="end" fill="#57606a" { (tick_label(*t)) }
            }
            line x1=(n1(LEFT)) y1=(n1(TOP + plot_h)) x2=(n1(LEFT + plot_w)) y2=(n1(TOP + plot_h)) stroke="#57606a" stroke-width="1" {}
            text x=(n1(LEFT)) y=(n1(H - 14.0)) fill="#57606a" { (day(first)) }
            @if runs.len() > 1 {
                text x=(n1(LEFT + plot_w)) y=(n1(H - 14.0)) text-anchor="end" fill="#57606a" { (day(last)) }
            }
            text x=(n1(LEFT + plot_w / 2.0)) y=(n1(H - 14.0)) text-anchor="middle" fill="#57606a" { "run start" }
            @if let Some(t) = target {
                line.target x1=(n1(LEFT)) y1=(n1(y(t))) x2=(n1(LEFT + plot_w)) y2=(n1(y(t))) stroke="#cf222e" stroke-width="2" stroke-dasharray="6 4" {}
                text x=(n1(LEFT + plot_w + 8.0)) y=(n1(y(t) + 4.0)) fill="#cf222e" font-weight="600" { "target " (human_seconds(t)) }
            }
            @if points.len() > 1 {
                polyline fill="none" stroke="#0969da" stroke-width="1.5" stroke-opacity="0.6" points=(line.trim_end()) {}
            }
            @for (px, py, r, v) in &points {
                (point(*px, *py, verdict_colour(&r.verdict), &format!("{}: {what} {} ({}), {}", r.run_id, human_seconds(*v), r.verdict, day(r.started_at)), link(&r.run_id)))
            }
            @for r in &unmeasured {
                (point(x(r.started_at), TOP + plot_h, "#afb8c1", &format!("{}: {what} not measured ({})", r.run_id, r.verdict), link(&r.run_id)))
            }
            @if points.is_empty() {
                text x=(n1(LEFT + plot_w / 2.0)) y=(n1(TOP + plot_h / 2.0)) text-anchor="middle" fill="#57606a" font-style="italic" { "no run measured the " (what) }
            }
        }
    }
}

/// A run's point: a dot with a tooltip, a link to its report when there is one.
fn point(x: f64, y: f64, fill: &str, tip: &str, href: Option<String>) -> Markup {
    let dot = html! {
        circle cx=(n1(x)) cy=(n1(y)) r="4.5" fill=(fill) stroke="#ffffff" stroke-width="1" { title { (tip) } }
    };
    match href {
        Some(h) => html! { a href=(h) { (dot) } },
        None => dot,
    }
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A name as an id or class part: ASCII letters and digits kept, the rest `-`.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A path segment of a link: what a URL cannot hold percent-encoded (`/` too: a drill name is
/// one segment).
fn encode(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(char::from(b));
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}
