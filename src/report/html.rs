//! A self-contained HTML report: one file, inline CSS, two inline SVG charts, no scripts and no
//! external resources, so it can be attached to a ticket or an audit and still open years
//! later. Verdict first, then targets against measurements, the phase timeline, the RTO/RPO
//! chart, the checks and their findings, where each restore came from and went, teardown.
//!
//! Markup comes from `maud`, which escapes every interpolated value: drill, check and object
//! names and error messages come from files and servers, and cannot become markup.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use maud::{Markup, html};

use super::page::{CHART_FONT, n1, page};
use super::{CheckOutcome, Outcome, RestoreReport, RpoSource, RunReport, WarmupReport};
use crate::drill::human_seconds;

/// Width of both charts in SVG user units; they scale to the page width.
const CHART_W: f64 = 960.0;

pub fn render_html(report: &RunReport) -> String {
    let r = report;
    let verdict = r.verdict.as_str();
    let title = format!(
        "{}: {} — restore-drill run {}",
        r.drill.name,
        verdict.to_uppercase(),
        r.run_id
    );
    let body = html! {
        header class={"verdict v-" (verdict)} {
            div.word { (verdict.to_uppercase()) }
            h1 { "Drill " (r.drill.name) }
            p { (r.verdict_reason) }
            @if let Some(signal) = &r.interrupted_by {
                p { strong { "Interrupted by " (signal) } "; teardown ran before exit." }
            }
        }
        (targets_section(r))
        section {
            h2 { "Phases" }
            (timeline_svg(r))
        }
        section {
            h2 { "RTO and RPO against the " (r.tier.name) " targets" }
            (targets_svg(r))
        }
        (checks_section(r))
        @for rest in &r.restores { (restore_section(rest)) }
        (teardown_section(r))
        footer {
            "restore-drill " (r.tool_version) " · drill file " code { (r.drill.file) }
            " · sha256 " code { (r.drill.sha256) } " · run " code { (r.run_id) }
            " · report format " (r.format_version)
        }
    };
    page(&title, None, body)
}

fn targets_section(r: &RunReport) -> Markup {
    let rto_how = format!(
        "includes {} declared detection allowance",
        human_seconds(r.measured.detect_allowance_seconds)
    );
    let rpo_how = match r.measured.rpo_source {
        Some(RpoSource::Data) => "from the newest data in the restored target",
        Some(RpoSource::Metadata) => "from the recovery point's metadata",
        None => "",
    };
    let rows = [
        (
            "RTO",
            r.measured.rto_seconds,
            r.tier.rto_seconds,
            rto_how.as_str(),
        ),
        ("RPO", r.measured.rpo_seconds, r.tier.rpo_seconds, rpo_how),
    ];
    html! {
        section {
            h2 { "Targets (tier " (r.tier.name) ")" }
            table {
                tr { th {} th.num { "target" } th.num { "measured" } th { "result" } th { "how" } }
                @for (what, measured, target, how) in rows {
                    @let (class, result) = target_result(measured, target);
                    tr {
                        th { (what) }
                        td.num { (human_seconds(target)) }
                        td.num { (measured.map_or_else(|| "not measured".to_owned(), human_seconds)) }
                        td { span class={"badge " (class)} { (result) } }
                        td { @if measured.is_some() { (how) } }
                    }
                }
            }
            ul.facts {
                li {
                    "run " code { (r.run_id) } ", started " (time(&r.started_at))
                    ", finished " (time(&r.finished_at)) ", took " (human_seconds(r.seconds))
                }
                li { "incident: " (time(&r.incident_at)) }
            }
        }
    }
}

/// The badge class and words for a measurement against its target (over = measured > target,
/// the engine's rule).
fn target_result(measured: Option<f64>, target: f64) -> (&'static str, String) {
    match measured {
        None => ("dim", "not measured".to_owned()),
        Some(m) if m > target => ("warn", format!("over by {}", human_seconds(m - target))),
        Some(m) => ("good", format!("under by {}", human_seconds(target - m))),
    }
}

// --- the phase timeline ---------------------------------------------------------------------

fn outcome_colour(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "#2da44e",
        Outcome::Failed => "#cf222e",
        Outcome::Timeout => "#bc4c00",
        Outcome::Interrupted => "#8250df",
        Outcome::Skipped => "#afb8c1",
        Outcome::Kept => "#0969da",
    }
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "good",
        Outcome::Kept | Outcome::Skipped => "dim",
        Outcome::Failed | Outcome::Timeout | Outcome::Interrupted => "bad",
    }
}

/// Seconds from the run start to `t`, for placing a bar on the chart. The report has only
/// wall-clock start times per phase; the bar *lengths* are the monotonic `seconds`.
fn offset(r: &RunReport, t: &DateTime<Utc>) -> f64 {
    (*t - r.started_at)
        .num_microseconds()
        .map_or(0.0, |us| us as f64 / 1e6)
        .max(0.0)
}

fn timeline_svg(r: &RunReport) -> Markup {
    const LABEL_W: f64 = 190.0;
    const RIGHT_W: f64 = 130.0;
    const TOP: f64 = 34.0;
    const GROUP_H: f64 = 26.0;
    const ROW_H: f64 = 22.0;
    const BAR_H: f64 = 14.0;
    const AXIS_H: f64 = 48.0;
    let plot_w = CHART_W - LABEL_W - RIGHT_W;

    let end = r
        .restores
        .iter()
        .flat_map(|rest| &rest.phases)
        .map(|p| offset(r, &p.started_at) + finite(p.seconds))
        .fold(finite(r.seconds), f64::max)
        .max(1.0);
    let step = tick_step(end);
    let span = (end / step).ceil() * step;
    let x = |s: f64| LABEL_W + s / span * plot_w;

    let rows: usize = r.restores.iter().map(|rest| rest.phases.len()).sum();
    let plot_h = GROUP_H * r.restores.len() as f64 + ROW_H * rows as f64;
    let height = TOP + plot_h.max(ROW_H) + AXIS_H;

    let mut label = format!(
        "Phase timeline: {} restore{} on a shared time axis from the run start ({} in all).",
        r.restores.len(),
        if r.restores.len() == 1 { "" } else { "s" },
        human_seconds(r.seconds)
    );
    for rest in &r.restores {
        let _ = write!(label, " Restore {}:", rest.id);
        for (i, p) in rest.phases.iter().enumerate() {
            let _ = write!(
                label,
                "{} {} {} {}",
                if i == 0 { "" } else { "," },
                p.name,
                human_seconds(p.seconds),
                p.outcome.as_str()
            );
        }
        label.push('.');
    }

    // Legend: the outcomes that occur, in a fixed order.
    let mut legend = Vec::new();
    let mut lx = LABEL_W;
    for oc in [
        Outcome::Ok,
        Outcome::Failed,
        Outcome::Timeout,
        Outcome::Interrupted,
        Outcome::Skipped,
        Outcome::Kept,
    ] {
        if r.restores
            .iter()
            .flat_map(|rest| &rest.phases)
            .any(|p| p.outcome == oc)
        {
            legend.push((lx, oc));
            lx += 24.0 + 7.5 * oc.as_str().len() as f64 + 14.0;
        }
    }
    let axis_y = TOP + plot_h.max(ROW_H);
    let mut ticks = Vec::new();
    let mut t = 0.0;
    while t <= span + step / 2.0 {
        ticks.push(t);
        t += step;
    }
    // One group per restore (its label's y), one bar per phase (its row's y).
    let mut groups = Vec::new();
    let mut y = TOP;
    for rest in &r.restores {
        let group_y = y;
        y += GROUP_H;
        let mut bars = Vec::new();
        for p in &rest.phases {
            bars.push((y, p));
            y += ROW_H;
        }
        groups.push((group_y, rest, bars));
    }
    html! {
        svg id="phase-timeline" role="img" aria-label=(label)
            viewBox={"0 0 " (CHART_W) " " (format!("{height:.0}"))}
            xmlns="http://www.w3.org/2000/svg" font-family=(CHART_FONT) font-size="12" {
            title { (label) }
            @for (lx, oc) in &legend {
                rect x=(n1(*lx)) y="8" width="12" height="12" rx="2" fill=(outcome_colour(*oc)) {}
                text x=(n1(lx + 17.0)) y="18" fill="#1f2328" { (oc.as_str()) }
            }
            @for t in &ticks {
                @let tx = n1(x(*t));
                line x1=(tx) y1=(n1(TOP)) x2=(tx) y2=(n1(axis_y + 5.0)) stroke="#d0d7de" stroke-width="1" {}
                text x=(tx) y=(n1(axis_y + 20.0)) text-anchor="middle" fill="#57606a" { (tick_label(*t)) }
            }
            line x1=(n1(LABEL_W)) y1=(n1(axis_y)) x2=(n1(LABEL_W + plot_w)) y2=(n1(axis_y)) stroke="#57606a" stroke-width="1" {}
            text x=(n1(LABEL_W + plot_w / 2.0)) y=(n1(axis_y + 38.0)) text-anchor="middle" fill="#57606a" { "time since the run start" }
            @for (gy, rest, bars) in &groups {
                text x="8" y=(n1(gy + 18.0)) font-weight="700" font-size="13" fill="#1f2328" {
                    (clip(&rest.id, 20)) " "
                    tspan font-weight="400" fill="#57606a" { "(" (clip(&rest.kind, 14)) ")" }
                }
                @for (by, p) in bars {
                    @let bx = x(offset(r, &p.started_at));
                    @let bw = (finite(p.seconds) / span * plot_w).max(2.0);
                    text x=(n1(LABEL_W - 10.0)) y=(n1(by + 15.0)) text-anchor="end" fill="#1f2328" { (clip(&p.name, 24)) }
                    rect x=(n1(bx)) y=(n1(by + (ROW_H - BAR_H) / 2.0 + 1.0)) width=(n1(bw)) height=(BAR_H) rx="2" fill=(outcome_colour(p.outcome)) {
                        title { (phase_tip(rest, p)) }
                    }
                    text x=(n1(bx + bw + 6.0)) y=(n1(by + 15.0)) fill="#57606a" {
                        (human_seconds(p.seconds))
                        @if p.outcome != Outcome::Ok { " " (p.outcome.as_str()) }
                    }
                }
            }
            @if r.restores.is_empty() {
                text x=(n1(LABEL_W)) y=(n1(TOP + 15.0)) fill="#57606a" { "no restore ran" }
            }
        }
    }
}

fn phase_tip(rest: &RestoreReport, p: &super::PhaseReport) -> String {
    let mut tip = format!(
        "{} {}: {}, {} (polls {}, resolution {:.3}s), started {}",
        rest.id,
        p.name,
        human_seconds(p.seconds),
        p.outcome.as_str(),
        p.polls,
        p.resolution_seconds,
        time(&p.started_at)
    );
    if let Some(e) = &p.error {
        let _ = write!(tip, ": {e}");
    }
    tip
}

// --- RTO and RPO against the targets --------------------------------------------------------

fn targets_svg(r: &RunReport) -> Markup {
    const LABEL_W: f64 = 70.0;
    const RIGHT_W: f64 = 200.0;
    const ROW_H: f64 = 78.0;
    const TOP: f64 = 6.0;
    const BAR_H: f64 = 26.0;
    let plot_w = CHART_W - LABEL_W - RIGHT_W;
    let height = TOP + 2.0 * ROW_H + 4.0;
    let tier = &r.tier.name;

    let rows = [
        ("RTO", r.measured.rto_seconds, r.tier.rto_seconds),
        ("RPO", r.measured.rpo_seconds, r.tier.rpo_seconds),
    ];
    let label = rows
        .iter()
        .map(|(what, m, t)| {
            let (_, result) = target_result(*m, *t);
            match m {
                Some(m) => format!(
                    "Measured {what} {} against the {tier} target {}: {result}.",
                    human_seconds(*m),
                    human_seconds(*t)
                ),
                None => format!(
                    "{what} not measured against the {tier} target {}.",
                    human_seconds(*t)
                ),
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    html! {
        svg id="targets" role="img" aria-label=(label)
            viewBox={"0 0 " (CHART_W) " " (format!("{height:.0}"))}
            xmlns="http://www.w3.org/2000/svg" font-family=(CHART_FONT) font-size="12" {
            title { (label) }
            defs {
                pattern id="allowance" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)" {
                    rect width="8" height="8" fill="#ffffff" fill-opacity="0.35" {}
                    rect width="4" height="8" fill="#ffffff" fill-opacity="0.35" {}
                }
            }
            @for (i, (what, measured, target)) in rows.iter().enumerate() {
                @let (measured, target) = (measured.map(finite), finite(*target));
                @let bar_y = TOP + i as f64 * ROW_H + 26.0;
                // Each row has its own scale: the larger of target and measured, plus room
                // for the measured label after the bar when it is over.
                @let over = measured.is_some_and(|m| m > target);
                @let scale = (target.max(measured.unwrap_or(0.0)) * if over { 1.4 } else { 1.15 }).max(1.0);
                @let x = |s: f64| LABEL_W + s / scale * plot_w;
                @let (class, result) = target_result(measured, target);
                text x="8" y=(n1(bar_y + 18.0)) font-size="16" font-weight="700" fill="#1f2328" { (what) }
                rect x=(n1(LABEL_W)) y=(n1(bar_y)) width=(n1(plot_w)) height=(BAR_H) rx="3" fill="#eaeef2" {}
                @match measured {
                    Some(m) => {
                        @let w = (x(m) - LABEL_W).max(2.0);
                        rect x=(n1(LABEL_W)) y=(n1(bar_y)) width=(n1(w)) height=(BAR_H) rx="3" fill=(if over { "#e3a008" } else { "#2da44e" }) {
                            title { "measured " (what) " " (human_seconds(m)) }
                        }
                        // The declared detection allowance is part of RTO: hatched.
                        @let allowance = finite(r.measured.detect_allowance_seconds).min(m);
                        @if *what == "RTO" && allowance > 0.0 {
                            @let aw = x(allowance) - LABEL_W;
                            rect x=(n1(LABEL_W)) y=(n1(bar_y)) width=(n1(aw)) height=(BAR_H) rx="3" fill="url(#allowance)" {
                                title { "detection allowance " (human_seconds(allowance)) }
                            }
                            @if aw > 150.0 && (over || w - aw > 160.0) {
                                text x=(n1(LABEL_W + 6.0)) y=(n1(bar_y + 17.0)) fill="#1f2328" font-size="11" { "detection allowance" }
                            }
                        }
                        // Inside the bar's end when it is long enough, else just after it.
                        @let inside = !over && w > 160.0;
                        text x=(n1(if inside { LABEL_W + w - 6.0 } else { LABEL_W + w + 6.0 })) y=(n1(bar_y + 17.0))
                            text-anchor=(if inside { "end" } else { "start" }) font-weight="600"
                            fill=(if inside { "#ffffff" } else { "#1f2328" }) {
                            "measured " (human_seconds(m))
                        }
                    }
                    None => {
                        text x=(n1(LABEL_W + 8.0)) y=(n1(bar_y + 17.0)) font-style="italic" fill="#57606a" { "not measured" }
                    }
                }
                // The target: a line across the bar, labelled above it.
                @let tx = n1(x(target));
                line x1=(tx) y1=(n1(bar_y - 8.0)) x2=(tx) y2=(n1(bar_y + BAR_H + 8.0)) stroke="#1f2328" stroke-width="3" {}
                text x=(tx) y=(n1(bar_y - 12.0)) text-anchor="middle" fill="#1f2328" { (tier) " target " (human_seconds(target)) }
                text x=(n1(LABEL_W + plot_w + 16.0)) y=(n1(bar_y + 18.0)) font-size="14" font-weight="700"
                    fill=(match class { "good" => "#116329", "warn" => "#7d4e00", _ => "#57606a" }) { (result) }
            }
        }
    }
}

/// A tick interval giving at most about eight ticks, on round clock values.
pub(super) fn tick_step(span: f64) -> f64 {
    const STEPS: [f64; 21] = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
        3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0,
    ];
    STEPS
        .into_iter()
        .find(|s| span / s <= 8.0)
        .unwrap_or_else(|| (span / 8.0 / 86400.0).ceil() * 86400.0)
}

/// `0`, `30s`, `1m 30s`, `2h`: tick labels, shorter than `human_seconds`.
pub(super) fn tick_label(s: f64) -> String {
    if s == 0.0 {
        return "0".to_owned();
    }
    if s < 60.0 {
        return if s.fract() == 0.0 {
            format!("{s:.0}s")
        } else {
            format!("{s:.1}s")
        };
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, total % 3600 / 60, total % 60);
    let mut out = Vec::new();
    if h > 0 {
        out.push(format!("{h}h"));
    }
    if m > 0 {
        out.push(format!("{m}m"));
    }
    if sec > 0 {
        out.push(format!("{sec}s"));
    }
    out.join(" ")
}

// --- checks, restores, teardown -------------------------------------------------------------

fn check_badge(o: CheckOutcome) -> (&'static str, &'static str) {
    match o {
        CheckOutcome::Passed => ("good", "passed"),
        CheckOutcome::Failed => ("bad", "failed"),
        CheckOutcome::Error => ("bad", "could not run"),
    }
}

fn checks_section(r: &RunReport) -> Markup {
    html! {
        section {
            h2 { "Checks" }
            @if r.checks.is_empty() {
                p { "No checks ran." }
            } @else {
                table {
                    tr { th { "check" } th { "restore" } th { "kind" } th { "outcome" } th { "found" } th.num { "findings" } th.num { "seconds" } }
                    @for c in &r.checks {
                        @let (class, word) = check_badge(c.outcome);
                        tr {
                            td { (c.name) }
                            td { code { (c.restore) } }
                            td { (c.kind) }
                            td { span class={"badge " (class)} { (word) } }
                            td { @if let Some(v) = &c.found { code { (v) } } }
                            td.num { (c.findings.len()) }
                            td.num { (format!("{:.3}", c.seconds)) }
                        }
                    }
                }
                @for c in r.checks.iter().filter(|c| !c.findings.is_empty()) {
                    h3 { "Findings of “" (c.name) "”" }
                    table {
                        tr { th { "kind" } th { "object" } th { "expected" } th { "found" } th { "message" } }
                        @for f in &c.findings {
                            tr {
                                td { (f.kind) }
                                td { code { (f.object) } }
                                td { (f.expected) }
                                td { (f.found) }
                                td { (f.message) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn restore_section(rest: &RestoreReport) -> Markup {
    html! {
        section {
            h2 { "Restore " code { (rest.id) } " (" (rest.kind) ")" }
            ul.facts {
                @match &rest.recovery_point {
                    Some(rp) => {
                        li {
                            "recovery point: " (rp.kind) " " code { (rp.id) } ", restored to "
                            (rp.time.as_ref().map_or_else(|| "everything available".to_owned(), time))
                        }
                        @if let Some(l) = &rp.latest_restorable {
                            li { "latest restorable: " (time(l)) }
                        }
                        @for n in &rp.notes { li { "note: " (n) } }
                    }
                    None => { li { "recovery point: not resolved" } }
                }
                @match &rest.target {
                    Some(t) => {
                        li {
                            "target: " (t.kind) " " code { (t.name) }
                            @if let Some(a) = &t.address { " at " code { (a) } }
                        }
                        @for (k, v) in &t.details { li { (k) ": " (v) } }
                    }
                    None => { li { "target: none created" } }
                }
                @if let Some(n) = &rest.newest_data_at {
                    li { "newest data present: " (time(n)) }
                }
            }
            table {
                tr { th { "phase" } th { "started" } th.num { "seconds" } th.num { "polls" } th.num { "resolution" } th { "outcome" } }
                @for p in &rest.phases {
                    tr {
                        td { (p.name) }
                        td.t { (time(&p.started_at)) }
                        td.num { (format!("{:.3}", p.seconds)) }
                        td.num { (p.polls) }
                        td.num { (format!("±{:.3}", p.resolution_seconds)) }
                        td {
                            span class={"badge " (outcome_class(p.outcome))} { (p.outcome.as_str()) }
                            @if let Some(e) = &p.error { div.err { (e) } }
                        }
                    }
                }
            }
            @if let Some(wu) = &rest.warmup {
                (warmup_section(wu))
            }
        }
    }
}

/// The warmup at the end of verify: reached or not, and its latency curve (one row per
/// batch; the p95 column is what was judged).
fn warmup_section(wu: &WarmupReport) -> Markup {
    let ms = crate::drill::human_latency;
    let (class, word) = if wu.reached {
        ("good", "reached")
    } else {
        ("bad", "not reached")
    };
    html! {
        h3 { "Warmup" }
        p {
            span class={"badge " (class)} { (word) }
            " p95 ≤ " (ms(wu.until_p95_seconds)) " after " (wu.runs) " runs in "
            (human_seconds(wu.seconds)) " (at most " (human_seconds(wu.max_seconds))
            ", batches of " (wu.batch_runs) " runs; counted in RTO)"
        }
        @if let Some(e) = &wu.error { div.err { (e) } }
        @if !wu.batches.is_empty() {
            (warmup_svg(wu))
            table {
                tr { th.num { "batch" } th.num { "runs" } th.num { "ended at (s)" } th.num { "p50" } th.num { "p95" } th.num { "p99" } th.num { "max" } }
                @for (i, b) in wu.batches.iter().enumerate() {
                    tr {
                        td.num { (i + 1) }
                        td.num { (b.runs) }
                        td.num { (format!("{:.3}", b.at_seconds)) }
                        td.num { (ms(b.p50_seconds)) }
                        td.num { (ms(b.p95_seconds)) }
                        td.num { (ms(b.p99_seconds)) }
                        td.num { (ms(b.max_seconds)) }
                    }
                }
            }
        }
    }
}

fn teardown_section(r: &RunReport) -> Markup {
    let class = if !r.teardown.leaked.is_empty() {
        "bad"
    } else if r.teardown.outcome == "done" {
        "good"
    } else {
        "dim"
    };
    html! {
        section {
            h2 { "Teardown" }
            p { span class={"badge " (class)} { (r.teardown.outcome) } }
            @if !r.teardown.leaked.is_empty() {
                p { "Left behind:" }
                ul.facts { @for l in &r.teardown.leaked { li { code { (l) } } } }
            }
        }
    }
}

/// The latency curve: p50, p95 (judged, bold) and p99 per batch on a log scale, with the
/// bound as a dashed line.
fn warmup_svg(wu: &WarmupReport) -> Markup {
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 90.0;
    const TOP: f64 = 14.0;
    const PLOT_H: f64 = 150.0;
    let ms = crate::drill::human_latency;
    let plot_w = CHART_W - LEFT - RIGHT;
    let height = TOP + PLOT_H + 30.0;
    // Latencies are positive; a zero (or a value that is no number) is drawn at 1 µs.
    let pos = |s: f64| if s.is_finite() && s > 1e-6 { s } else { 1e-6 };
    let bound = pos(wu.until_p95_seconds);
    let all = wu
        .batches
        .iter()
        .flat_map(|b| [pos(b.p50_seconds), pos(b.p99_seconds)])
        .chain([bound]);
    let (lo, hi) = all.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = ((lo / 1.5).log10(), (hi * 1.5).log10());
    let span = (hi - lo).max(1e-9);
    let y = |s: f64| TOP + PLOT_H - (pos(s).log10() - lo) / span * PLOT_H;
    let n = wu.batches.len();
    let x = |i: usize| {
        if n <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + i as f64 / (n - 1) as f64 * plot_w
        }
    };
    let line = |f: &dyn Fn(&crate::model::WarmupBatch) -> f64| {
        wu.batches
            .iter()
            .enumerate()
            .map(|(i, b)| format!("{},{}", n1(x(i)), n1(y(f(b)))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let first = wu.batches.first().map_or(0.0, |b| b.p95_seconds);
    let last = wu.batches.last().map_or(0.0, |b| b.p95_seconds);
    let label = format!(
        "Warmup latency per batch of {} runs: p95 from {} in the first batch to {} in the last, against the bound {}.",
        wu.batch_runs,
        ms(first),
        ms(last),
        ms(wu.until_p95_seconds)
    );
    html! {
        svg id="warmup-curve" role="img" aria-label=(label)
            viewBox={"0 0 " (CHART_W) " " (format!("{height:.0}"))}
            xmlns="http://www.w3.org/2000/svg" font-family=(CHART_FONT) font-size="12" {
            title { (label) }
            rect x=(n1(LEFT)) y=(n1(TOP)) width=(n1(plot_w)) height=(n1(PLOT_H)) fill="#f6f8fa" {}
            @let by = n1(y(bound));
            line x1=(n1(LEFT)) y1=(by) x2=(n1(LEFT + plot_w)) y2=(by) stroke="#1f2328" stroke-width="2" stroke-dasharray="6 4" {}
            text x=(n1(LEFT + plot_w + 6.0)) y=(n1(y(bound) + 4.0)) fill="#1f2328" { "p95 ≤ " (ms(wu.until_p95_seconds)) }
            polyline points=(line(&|b| b.p99_seconds)) fill="none" stroke="#8c959f" stroke-width="1.5" {}
            polyline points=(line(&|b| b.p50_seconds)) fill="none" stroke="#8c959f" stroke-width="1.5" stroke-dasharray="2 3" {}
            polyline points=(line(&|b| b.p95_seconds)) fill="none" stroke=(if wu.reached { "#2da44e" } else { "#cf222e" }) stroke-width="3" {}
            @for (i, b) in wu.batches.iter().enumerate() {
                circle cx=(n1(x(i))) cy=(n1(y(b.p95_seconds))) r="3.5" fill=(if wu.reached { "#2da44e" } else { "#cf222e" }) {
                    title { "batch " (i + 1) ": p50 " (ms(b.p50_seconds)) ", p95 " (ms(b.p95_seconds)) ", p99 " (ms(b.p99_seconds)) }
                }
            }
            text x=(n1(LEFT - 6.0)) y=(n1(TOP + 10.0)) text-anchor="end" fill="#57606a" { (ms(10f64.powf(hi))) }
            text x=(n1(LEFT - 6.0)) y=(n1(TOP + PLOT_H)) text-anchor="end" fill="#57606a" { (ms(10f64.powf(lo))) }
            text x=(n1(LEFT)) y=(n1(TOP + PLOT_H + 20.0)) fill="#57606a" { "batch 1" }
            text x=(n1(LEFT + plot_w)) y=(n1(TOP + PLOT_H + 20.0)) text-anchor="end" fill="#57606a" {
                "batch " (n) "  ·  p95 bold, p99 grey, p50 dotted (log scale)"
            }
        }
    }
}

// --- helpers --------------------------------------------------------------------------------

/// Shortens a label that would run over its column in a chart (the full text is in the
/// tables below).
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x.max(0.0) } else { 0.0 }
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_few() {
        assert_eq!(tick_step(45.0), 10.0);
        assert_eq!(tick_step(460.0), 60.0);
        assert_eq!(tick_step(3.0 * 86400.0), 43200.0);
        assert_eq!(tick_label(90.0), "1m 30s");
        assert_eq!(tick_label(7200.0), "2h");
        assert_eq!(tick_label(0.5), "0.5s");
    }
}
