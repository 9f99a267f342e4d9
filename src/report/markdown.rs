//! The report for people: verdict first, then targets against measurements, the phases, the
//! checks, and where the data came from and went.

use super::*;
use crate::drill::human_seconds;
use std::fmt::Write as _;

fn dur(seconds: f64) -> String {
    human_seconds(seconds)
}

fn opt_dur(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "not measured".to_owned(), dur)
}

fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Escapes a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A warmup: whether it reached its bound, and its latency curve, one row per batch.
fn warmup(w: &mut String, wu: &WarmupReport) {
    let ms = crate::drill::human_latency;
    let _ = writeln!(
        w,
        "- warmup: {} p95 <= {} after {} runs in {} (at most {}; batches of {} runs)",
        if wu.reached {
            "reached"
        } else {
            "did NOT reach"
        },
        ms(wu.until_p95_seconds),
        wu.runs,
        dur(wu.seconds),
        dur(wu.max_seconds),
        wu.batch_runs
    );
    if let Some(e) = &wu.error {
        let _ = writeln!(w, "- warmup error: {}", cell(e));
    }
    if wu.batches.is_empty() {
        return;
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "| batch | runs | ended at | p50 | p95 | p99 | max |");
    let _ = writeln!(w, "|---:|---:|---:|---:|---:|---:|---:|");
    for (i, b) in wu.batches.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {} | {} | {:.3} | {} | {} | {} | {} |",
            i + 1,
            b.runs,
            b.at_seconds,
            ms(b.p50_seconds),
            ms(b.p95_seconds),
            ms(b.p99_seconds),
            ms(b.max_seconds)
        );
    }
}

/// The Markdown report.
pub fn render_markdown(r: &RunReport) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(
        w,
        "# Drill {}: {}",
        r.drill.name,
        r.verdict.as_str().to_uppercase()
    );
    let _ = writeln!(w);
    let _ = writeln!(w, "{}", r.verdict_reason);
    if let Some(signal) = &r.interrupted_by {
        let _ = writeln!(w);
        let _ = writeln!(w, "Interrupted by {signal}; teardown ran before exit.");
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "| | target ({}) | measured |", r.tier.name);
    let _ = writeln!(w, "|---|---|---|");
    let rto_note = format!(
        " (includes {} detection allowance)",
        dur(r.measured.detect_allowance_seconds)
    );
    let _ = writeln!(
        w,
        "| RTO | {} | {}{} |",
        dur(r.tier.rto_seconds),
        opt_dur(r.measured.rto_seconds),
        if r.measured.rto_seconds.is_some() {
            rto_note.as_str()
        } else {
            ""
        }
    );
    let source = match r.measured.rpo_source {
        Some(RpoSource::Data) => " (from the restored data)",
        Some(RpoSource::Metadata) => " (from recovery-point metadata)",
        None => "",
    };
    let _ = writeln!(
        w,
        "| RPO | {} | {}{source} |",
        dur(r.tier.rpo_seconds),
        opt_dur(r.measured.rpo_seconds)
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "- run: `{}`, started {}, took {}",
        r.run_id,
        time(&r.started_at),
        dur(r.seconds)
    );
    let _ = writeln!(w, "- incident: {}", time(&r.incident_at));

    for rest in &r.restores {
        let _ = writeln!(w);
        let _ = writeln!(w, "## Restore `{}` ({})", rest.id, rest.kind);
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "| phase | started | seconds | polls | resolution | outcome |"
        );
        let _ = writeln!(w, "|---|---|---:|---:|---:|---|");
        for p in &rest.phases {
            let name = format!("{:?}", p.outcome).to_lowercase();
            let outcome = match &p.error {
                Some(e) => format!("{name}: {}", cell(e)),
                None => name,
            };
            let _ = writeln!(
                w,
                "| {} | {} | {:.3} | {} | {:.3} | {} |",
                p.name,
                p.started_at.format("%H:%M:%S%.3f"),
                p.seconds,
                p.polls,
                p.resolution_seconds,
                outcome
            );
        }
        let _ = writeln!(w);
        if let Some(rp) = &rest.recovery_point {
            let at = rp
                .time
                .as_ref()
                .map_or_else(|| "everything available".to_owned(), time);
            let _ = writeln!(
                w,
                "- recovery point: {} `{}`, restored to {at}",
                rp.kind, rp.id
            );
            if let Some(l) = &rp.latest_restorable {
                let _ = writeln!(w, "- latest restorable: {}", time(l));
            }
            for n in &rp.notes {
                let _ = writeln!(w, "- note: {n}");
            }
        }
        if let Some(t) = &rest.target {
            let addr = t
                .address
                .as_deref()
                .map(|a| format!(" at {a}"))
                .unwrap_or_default();
            let _ = writeln!(w, "- target: {} `{}`{addr}", t.kind, t.name);
        }
        if let Some(n) = &rest.newest_data_at {
            let _ = writeln!(w, "- newest data present: {}", time(n));
        }
        if let Some(wu) = &rest.warmup {
            warmup(w, wu);
        }
    }

    let _ = writeln!(w);
    let _ = writeln!(w, "## Checks");
    let _ = writeln!(w);
    if r.checks.is_empty() {
        let _ = writeln!(w, "No checks ran.");
    } else {
        let _ = writeln!(w, "| check | restore | kind | outcome | seconds |");
        let _ = writeln!(w, "|---|---|---|---|---:|");
        for c in &r.checks {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {:.3} |",
                cell(&c.name),
                c.restore,
                c.kind,
                format!("{:?}", c.outcome).to_lowercase(),
                c.seconds
            );
        }
        for c in r.checks.iter().filter(|c| !c.findings.is_empty()) {
            let _ = writeln!(w);
            let _ = writeln!(w, "Findings of \"{}\":", c.name);
            for f in &c.findings {
                let _ = writeln!(
                    w,
                    "- {} {}: {} (expected {}, found {})",
                    f.kind, f.object, f.message, f.expected, f.found
                );
            }
        }
    }

    let _ = writeln!(w);
    let _ = writeln!(w, "## Teardown");
    let _ = writeln!(w);
    if r.teardown.leaked.is_empty() {
        let _ = writeln!(w, "{}.", r.teardown.outcome);
    } else {
        let _ = writeln!(w, "{}; left behind:", r.teardown.outcome);
        for l in &r.teardown.leaked {
            let _ = writeln!(w, "- {l}");
        }
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "restore-drill {} · drill file `{}` (sha256 `{}`) · report format {}",
        r.tool_version, r.drill.file, r.drill.sha256, r.format_version
    );
    o
}
