//! A self-contained HTML report: one file, inline CSS, two inline SVG charts, no scripts and no
//! external resources, so it can be attached to a ticket or an audit and still open years
//! later. Verdict first, then targets against measurements, the phase timeline, the RTO/RPO
//! chart, the checks and their findings, where each restore came from and went, teardown.
//!
//! Every piece of text from the report is HTML-escaped (`& < > " '`): drill, check and object
//! names and error messages come from files and servers.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

use super::{CheckOutcome, Outcome, RestoreReport, RpoSource, RunReport};
use crate::drill::human_seconds;

/// Width of both charts in SVG user units; they scale to the page width.
const CHART_W: f64 = 960.0;

pub fn render_html(report: &RunReport) -> String {
    let r = report;
    let mut o = String::with_capacity(32 * 1024);
    let verdict = r.verdict.as_str();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}: {} — restore-drill run {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        esc(&r.drill.name),
        verdict.to_uppercase(),
        esc(&r.run_id),
    );

    // Verdict.
    let _ = write!(
        o,
        "<header class=\"verdict v-{verdict}\">\n<div class=\"word\">{}</div>\n\
         <h1>Drill {}</h1>\n<p>{}</p>\n",
        verdict.to_uppercase(),
        esc(&r.drill.name),
        esc(&r.verdict_reason),
    );
    if let Some(signal) = &r.interrupted_by {
        let _ = writeln!(
            o,
            "<p><strong>Interrupted by {}</strong>; teardown ran before exit.</p>",
            esc(signal)
        );
    }
    o.push_str("</header>\n");

    targets_section(&mut o, r);

    o.push_str("<section>\n<h2>Phases</h2>\n");
    timeline_svg(&mut o, r);
    o.push_str("</section>\n<section>\n");
    let _ = writeln!(
        o,
        "<h2>RTO and RPO against the {} targets</h2>",
        esc(&r.tier.name)
    );
    targets_svg(&mut o, r);
    o.push_str("</section>\n");

    checks_section(&mut o, r);
    for rest in &r.restores {
        restore_section(&mut o, rest);
    }
    teardown_section(&mut o, r);

    let _ = write!(
        o,
        "<footer>restore-drill {} · drill file <code>{}</code> · sha256 <code>{}</code> · \
         run <code>{}</code> · report format {}</footer>\n</main>\n</body>\n</html>\n",
        esc(&r.tool_version),
        esc(&r.drill.file),
        esc(&r.drill.sha256),
        esc(&r.run_id),
        r.format_version
    );
    o
}

const CSS: &str = "
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f6f8fa;color:#1f2328;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:24px}
.verdict{border-radius:10px;padding:20px 24px;margin:0 0 16px;color:#fff}
.verdict .word{font-size:48px;font-weight:800;letter-spacing:.04em;line-height:1}
.verdict h1{font-size:20px;font-weight:600;margin:8px 0 4px}
.verdict p{margin:4px 0 0}
.v-met{background:#1a7f37}
.v-missed{background:#e3a008;color:#1f2328}
.v-failed,.v-error,.v-invalid{background:#cf222e}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:18px;margin:0 0 12px}
h3{font-size:15px;margin:16px 0 8px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.t{white-space:nowrap;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;background:#f6f8fa;border-radius:4px;padding:0 4px;overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:13px;font-weight:600;white-space:nowrap}
.good{background:#dafbe1;color:#116329}
.warn{background:#fff1c2;color:#7d4e00}
.bad{background:#ffebe9;color:#a40e26}
.dim{background:#eaeef2;color:#57606a}
.err{color:#a40e26;white-space:pre-wrap;overflow-wrap:anywhere}
ul.facts{margin:0;padding-left:20px}
svg{display:block;width:100%;height:auto}
footer{color:#57606a;font-size:13px;margin:24px 0 0;overflow-wrap:anywhere}
";

fn targets_section(o: &mut String, r: &RunReport) {
    let _ = write!(
        o,
        "<section>\n<h2>Targets (tier {})</h2>\n<table>\n\
         <tr><th></th><th class=\"num\">target</th><th class=\"num\">measured</th>\
         <th>result</th><th>how</th></tr>\n",
        esc(&r.tier.name)
    );
    let rto_how = format!(
        "includes {} declared detection allowance",
        human_seconds(r.measured.detect_allowance_seconds)
    );
    let rpo_how = match r.measured.rpo_source {
        Some(RpoSource::Data) => "from the newest data in the restored target",
        Some(RpoSource::Metadata) => "from the recovery point's metadata",
        None => "",
    };
    for (what, measured, target, how) in [
        (
            "RTO",
            r.measured.rto_seconds,
            r.tier.rto_seconds,
            rto_how.as_str(),
        ),
        ("RPO", r.measured.rpo_seconds, r.tier.rpo_seconds, rpo_how),
    ] {
        let (class, result) = target_result(measured, target);
        let _ = writeln!(
            o,
            "<tr><th>{what}</th><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td><span class=\"badge {class}\">{}</span></td><td>{}</td></tr>",
            human_seconds(target),
            measured.map_or_else(|| "not measured".to_owned(), human_seconds),
            esc(&result),
            if measured.is_some() {
                esc(how)
            } else {
                String::new()
            },
        );
    }
    o.push_str("</table>\n<ul class=\"facts\">\n");
    let _ = writeln!(
        o,
        "<li>run <code>{}</code>, started {}, finished {}, took {}</li>",
        esc(&r.run_id),
        time(&r.started_at),
        time(&r.finished_at),
        human_seconds(r.seconds)
    );
    let _ = writeln!(o, "<li>incident: {}</li>", time(&r.incident_at));
    o.push_str("</ul>\n</section>\n");
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

fn timeline_svg(o: &mut String, r: &RunReport) {
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
    let _ = writeln!(
        o,
        "<svg id=\"phase-timeline\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {CHART_W} {height:.0}\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif\" font-size=\"12\">",
        esc(&label)
    );
    let _ = writeln!(o, "<title>{}</title>", esc(&label));

    // Legend: the outcomes that occur, in a fixed order.
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
            let _ = writeln!(
                o,
                "<rect x=\"{lx:.1}\" y=\"8\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/>\
                 <text x=\"{:.1}\" y=\"18\" fill=\"#1f2328\">{}</text>",
                outcome_colour(oc),
                lx + 17.0,
                oc.as_str()
            );
            lx += 24.0 + 7.5 * oc.as_str().len() as f64 + 14.0;
        }
    }

    // Grid and axis.
    let axis_y = TOP + plot_h.max(ROW_H);
    let mut t = 0.0;
    while t <= span + step / 2.0 {
        let tx = x(t);
        let _ = writeln!(
            o,
            "<line x1=\"{tx:.1}\" y1=\"{TOP:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#d0d7de\" stroke-width=\"1\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#57606a\">{}</text>",
            axis_y + 5.0,
            axis_y + 20.0,
            tick_label(t)
        );
        t += step;
    }
    let _ = writeln!(
        o,
        "<line x1=\"{LABEL_W:.1}\" y1=\"{axis_y:.1}\" x2=\"{:.1}\" y2=\"{axis_y:.1}\" stroke=\"#57606a\" stroke-width=\"1\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#57606a\">time since the run start</text>",
        LABEL_W + plot_w,
        LABEL_W + plot_w / 2.0,
        axis_y + 38.0
    );

    // One group per restore, one bar per phase.
    let mut y = TOP;
    for rest in &r.restores {
        let _ = writeln!(
            o,
            "<text x=\"8\" y=\"{:.1}\" font-weight=\"700\" font-size=\"13\" fill=\"#1f2328\">{} <tspan font-weight=\"400\" fill=\"#57606a\">({})</tspan></text>",
            y + 18.0,
            esc(&clip(&rest.id, 20)),
            esc(&clip(&rest.kind, 14))
        );
        y += GROUP_H;
        for p in &rest.phases {
            let bx = x(offset(r, &p.started_at));
            let bw = (finite(p.seconds) / span * plot_w).max(2.0);
            let mut text = human_seconds(p.seconds);
            if p.outcome != Outcome::Ok {
                let _ = write!(text, " {}", p.outcome.as_str());
            }
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
            let _ = writeln!(
                o,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#1f2328\">{}</text>\
                 <rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{BAR_H}\" rx=\"2\" fill=\"{}\"><title>{}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#57606a\">{}</text>",
                LABEL_W - 10.0,
                y + 15.0,
                esc(&clip(&p.name, 24)),
                y + (ROW_H - BAR_H) / 2.0 + 1.0,
                outcome_colour(p.outcome),
                esc(&tip),
                bx + bw + 6.0,
                y + 15.0,
                esc(&text)
            );
            y += ROW_H;
        }
    }
    if r.restores.is_empty() {
        let _ = writeln!(
            o,
            "<text x=\"{LABEL_W:.1}\" y=\"{:.1}\" fill=\"#57606a\">no restore ran</text>",
            TOP + 15.0
        );
    }
    o.push_str("</svg>\n");
}

// --- RTO and RPO against the targets --------------------------------------------------------

fn targets_svg(o: &mut String, r: &RunReport) {
    const LABEL_W: f64 = 70.0;
    const RIGHT_W: f64 = 200.0;
    const ROW_H: f64 = 78.0;
    const TOP: f64 = 6.0;
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
    let _ = writeln!(
        o,
        "<svg id=\"targets\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {CHART_W} {height:.0}\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif\" font-size=\"12\">",
        esc(&label)
    );
    let _ = writeln!(o, "<title>{}</title>", esc(&label));
    o.push_str(
        "<defs><pattern id=\"allowance\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <rect width=\"8\" height=\"8\" fill=\"#ffffff\" fill-opacity=\"0.35\"/><rect width=\"4\" height=\"8\" fill=\"#ffffff\" fill-opacity=\"0.35\"/></pattern></defs>\n",
    );

    for (i, (what, measured, target)) in rows.iter().enumerate() {
        let (measured, target) = (measured.map(finite), finite(*target));
        let y = TOP + i as f64 * ROW_H;
        let bar_y = y + 26.0;
        let bar_h = 26.0;
        // Each row has its own scale: the larger of target and measured, plus room for the
        // measured label after the bar when it is over (inside, it would cross the target).
        let over = measured.is_some_and(|m| m > target);
        let room = if over { 1.4 } else { 1.15 };
        let scale = (target.max(measured.unwrap_or(0.0)) * room).max(1.0);
        let x = |s: f64| LABEL_W + s / scale * plot_w;
        let _ = writeln!(
            o,
            "<text x=\"8\" y=\"{:.1}\" font-size=\"16\" font-weight=\"700\" fill=\"#1f2328\">{what}</text>\
             <rect x=\"{LABEL_W:.1}\" y=\"{bar_y:.1}\" width=\"{plot_w:.1}\" height=\"{bar_h}\" rx=\"3\" fill=\"#eaeef2\"/>",
            bar_y + 18.0
        );
        let (class, result) = target_result(measured, target);
        match measured {
            Some(m) => {
                let fill = if over { "#e3a008" } else { "#2da44e" };
                let w = (x(m) - LABEL_W).max(2.0);
                let _ = writeln!(
                    o,
                    "<rect x=\"{LABEL_W:.1}\" y=\"{bar_y:.1}\" width=\"{w:.1}\" height=\"{bar_h}\" rx=\"3\" fill=\"{fill}\">\
                     <title>measured {what} {}</title></rect>",
                    human_seconds(m)
                );
                // The declared detection allowance is part of RTO: show how much of the bar
                // it is, hatched.
                let allowance = finite(r.measured.detect_allowance_seconds).min(m);
                if *what == "RTO" && allowance > 0.0 {
                    let aw = x(allowance) - LABEL_W;
                    let _ = writeln!(
                        o,
                        "<rect x=\"{LABEL_W:.1}\" y=\"{bar_y:.1}\" width=\"{aw:.1}\" height=\"{bar_h}\" rx=\"3\" fill=\"url(#allowance)\">\
                         <title>detection allowance {}</title></rect>",
                        human_seconds(allowance)
                    );
                    if aw > 150.0 && (over || w - aw > 160.0) {
                        let _ = writeln!(
                            o,
                            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#1f2328\" font-size=\"11\">detection allowance</text>",
                            LABEL_W + 6.0,
                            bar_y + 17.0
                        );
                    }
                }
                let text = format!("measured {}", human_seconds(m));
                // Inside the bar's end when it is long enough, else just after it.
                let inside = !over && w > 160.0;
                let _ = writeln!(
                    o,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{}\" font-weight=\"600\" fill=\"{}\">{}</text>",
                    if inside {
                        LABEL_W + w - 6.0
                    } else {
                        LABEL_W + w + 6.0
                    },
                    bar_y + 17.0,
                    if inside { "end" } else { "start" },
                    if inside && !over {
                        "#ffffff"
                    } else {
                        "#1f2328"
                    },
                    esc(&text)
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-style=\"italic\" fill=\"#57606a\">not measured</text>",
                    LABEL_W + 8.0,
                    bar_y + 17.0
                );
            }
        }
        // The target: a line across the bar, labelled above it.
        let tx = x(target);
        let _ = writeln!(
            o,
            "<line x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#1f2328\" stroke-width=\"3\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#1f2328\">{} target {}</text>",
            bar_y - 8.0,
            bar_y + bar_h + 8.0,
            bar_y - 12.0,
            esc(tier),
            human_seconds(target)
        );
        let colour = match class {
            "good" => "#116329",
            "warn" => "#7d4e00",
            _ => "#57606a",
        };
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"14\" font-weight=\"700\" fill=\"{colour}\">{}</text>",
            LABEL_W + plot_w + 16.0,
            bar_y + 18.0,
            esc(&result)
        );
    }
    o.push_str("</svg>\n");
}

/// A tick interval giving at most about eight ticks, on round clock values.
fn tick_step(span: f64) -> f64 {
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
fn tick_label(s: f64) -> String {
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

fn checks_section(o: &mut String, r: &RunReport) {
    o.push_str("<section>\n<h2>Checks</h2>\n");
    if r.checks.is_empty() {
        o.push_str("<p>No checks ran.</p>\n</section>\n");
        return;
    }
    o.push_str(
        "<table>\n<tr><th>check</th><th>restore</th><th>kind</th><th>outcome</th>\
         <th class=\"num\">findings</th><th class=\"num\">seconds</th></tr>\n",
    );
    for c in &r.checks {
        let (class, word) = check_badge(c.outcome);
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td><span class=\"badge {class}\">{word}</span></td>\
             <td class=\"num\">{}</td><td class=\"num\">{:.3}</td></tr>",
            esc(&c.name),
            esc(&c.restore),
            esc(&c.kind),
            c.findings.len(),
            c.seconds
        );
    }
    o.push_str("</table>\n");
    for c in r.checks.iter().filter(|c| !c.findings.is_empty()) {
        let _ = write!(
            o,
            "<h3>Findings of “{}”</h3>\n<table>\n<tr><th>kind</th><th>object</th><th>expected</th>\
             <th>found</th><th>message</th></tr>\n",
            esc(&c.name)
        );
        for f in &c.findings {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.kind),
                esc(&f.object),
                esc(&f.expected),
                esc(&f.found),
                esc(&f.message)
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</section>\n");
}

fn restore_section(o: &mut String, rest: &RestoreReport) {
    let _ = write!(
        o,
        "<section>\n<h2>Restore <code>{}</code> ({})</h2>\n<ul class=\"facts\">\n",
        esc(&rest.id),
        esc(&rest.kind)
    );
    match &rest.recovery_point {
        Some(rp) => {
            let at = rp
                .time
                .as_ref()
                .map_or_else(|| "everything available".to_owned(), time);
            let _ = writeln!(
                o,
                "<li>recovery point: {} <code>{}</code>, restored to {at}</li>",
                esc(&rp.kind),
                esc(&rp.id)
            );
            if let Some(l) = &rp.latest_restorable {
                let _ = writeln!(o, "<li>latest restorable: {}</li>", time(l));
            }
            for n in &rp.notes {
                let _ = writeln!(o, "<li>note: {}</li>", esc(n));
            }
        }
        None => o.push_str("<li>recovery point: not resolved</li>\n"),
    }
    match &rest.target {
        Some(t) => {
            let addr = t
                .address
                .as_deref()
                .map(|a| format!(" at <code>{}</code>", esc(a)))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "<li>target: {} <code>{}</code>{addr}</li>",
                esc(&t.kind),
                esc(&t.name)
            );
            for (k, v) in &t.details {
                let _ = writeln!(o, "<li>{}: {}</li>", esc(k), esc(v));
            }
        }
        None => o.push_str("<li>target: none created</li>\n"),
    }
    if let Some(n) = &rest.newest_data_at {
        let _ = writeln!(o, "<li>newest data present: {}</li>", time(n));
    }
    o.push_str(
        "</ul>\n<table>\n<tr><th>phase</th><th>started</th><th class=\"num\">seconds</th>\
         <th class=\"num\">polls</th><th class=\"num\">resolution</th><th>outcome</th></tr>\n",
    );
    for p in &rest.phases {
        let err = p
            .error
            .as_deref()
            .map(|e| format!("<div class=\"err\">{}</div>", esc(e)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"t\">{}</td><td class=\"num\">{:.3}</td><td class=\"num\">{}</td>\
             <td class=\"num\">±{:.3}</td><td><span class=\"badge {}\">{}</span>{err}</td></tr>",
            esc(&p.name),
            time(&p.started_at),
            p.seconds,
            p.polls,
            p.resolution_seconds,
            outcome_class(p.outcome),
            p.outcome.as_str()
        );
    }
    o.push_str("</table>\n</section>\n");
}

fn teardown_section(o: &mut String, r: &RunReport) {
    let class = if !r.teardown.leaked.is_empty() {
        "bad"
    } else if r.teardown.outcome == "done" {
        "good"
    } else {
        "dim"
    };
    let _ = writeln!(
        o,
        "<section>\n<h2>Teardown</h2>\n<p><span class=\"badge {class}\">{}</span></p>",
        esc(&r.teardown.outcome)
    );
    if !r.teardown.leaked.is_empty() {
        o.push_str("<p>Left behind:</p>\n<ul class=\"facts\">\n");
        for l in &r.teardown.leaked {
            let _ = writeln!(o, "<li><code>{}</code></li>", esc(l));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</section>\n");
}

// --- helpers --------------------------------------------------------------------------------

/// HTML-escapes text for element content and quoted attributes alike.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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
    fn escapes_all_five() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

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
