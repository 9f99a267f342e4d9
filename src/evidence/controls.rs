//! What the runs prove, control by control.
//!
//! Coverage per drill: a passing run (verdict `met`) covers its drill for the tier's longest
//! allowed interval (`TierCatalog`: gold 30 days, silver and bronze 90, or `tiers.toml`);
//! every stretch of the period no pass covers is a gap. Passes before the period count, so
//! a pass late last quarter covers the start of this one. A drill is checked from the later
//! of the period's start and its first recorded run (before that it may not have existed); a
//! drill file with no run at all is a gap over the whole period.
//!
//! Then one section per framework, saying which runs answer the control and what is missing.
//! The control texts are paraphrased: whether the runs satisfy a control is the auditor's
//! judgement, and the bundle shows them everything it is based on.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use super::bundle::{ControlResult, DrillCoverage, Gap, Period, RunEntry, Segregation};
use crate::report::HistoryRow;

const MET: &str = "met";
/// PCI DSS asks for a test at least once every 12 months.
const YEAR: Duration = Duration::from_secs(365 * 86_400);

/// What is known about one drill before its coverage is worked out.
pub struct DrillFacts<'a> {
    pub drill: String,
    pub tier: Option<String>,
    pub interval: Option<Duration>,
    pub tier_from: String,
    /// Every chained history row of the drill, whatever its time.
    pub rows: Vec<&'a HistoryRow>,
    pub due_at_end: Option<String>,
}

pub fn coverage(facts: &DrillFacts<'_>, period: &Period, runs: &[RunEntry]) -> DrillCoverage {
    let until = period.until;
    let mine: Vec<&RunEntry> = runs.iter().filter(|r| r.drill == facts.drill).collect();
    let mut passes: Vec<DateTime<Utc>> = facts
        .rows
        .iter()
        .filter(|r| r.verdict == MET && r.started_at <= until)
        .map(|r| r.started_at)
        .collect();
    passes.sort();
    let first_run = facts.rows.iter().map(|r| r.started_at).min();
    // Nothing can be known of a drill before its first recorded run (it may not have
    // existed), so coverage is checked from the later of `since` and that run.
    let window_from = match (period.since, first_run) {
        (Some(s), Some(f)) => Some(s.max(f)),
        (s, f) => s.or(f),
    };
    let gaps = match facts.interval {
        Some(interval) => gaps(
            &facts.drill,
            facts.tier.as_deref(),
            interval,
            &passes,
            window_from,
            until,
            facts.rows.len(),
        ),
        None => Vec::new(),
    };
    let open_failures = mine
        .iter()
        .filter(|r| matches!(r.verdict.as_str(), "missed" | "failed"))
        .filter(|r| !passes.iter().any(|&p| p > r.started_at))
        .map(|r| r.run_id.clone())
        .collect();
    let annual_pass = mine
        .iter()
        .filter(|r| r.passed() && r.history_line.is_some())
        .filter(|r| r.started_at > sub(until, YEAR))
        .max_by_key(|r| r.started_at)
        .map(|r| r.run_id.clone());
    DrillCoverage {
        drill: facts.drill.clone(),
        tier: facts.tier.clone(),
        interval_seconds: facts.interval.map(|d| d.as_secs()),
        tier_from: facts.tier_from.clone(),
        window_from,
        window_to: until,
        runs: mine.len(),
        passes: mine
            .iter()
            .filter(|r| r.passed())
            .map(|r| r.run_id.clone())
            .collect(),
        last_pass: passes.last().copied(),
        gaps,
        open_failures,
        annual_pass,
        due_at_end: facts.due_at_end.clone(),
    }
}

/// The stretches of `from..=to` that no pass covers, a pass at `p` covering `p..p+interval`.
fn gaps(
    drill: &str,
    tier: Option<&str>,
    interval: Duration,
    passes: &[DateTime<Utc>],
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
    runs: usize,
) -> Vec<Gap> {
    let rule = format!(
        "{drill} ({} tier: a passing run at least every {})",
        tier.unwrap_or("?"),
        crate::drill::human(interval)
    );
    let Some(from) = from else {
        return vec![Gap {
            from: None,
            to,
            message: format!("{rule}: never run up to {}", day(to)),
        }];
    };
    if passes.is_empty() {
        let tried = if runs == 0 {
            "never run".to_owned()
        } else {
            format!(
                "never passed ({runs} run{} recorded)",
                if runs == 1 { "" } else { "s" }
            )
        };
        return vec![Gap {
            from: Some(from),
            to,
            message: format!(
                "{rule}: no passing run from {} to {}: {tried}",
                day(from),
                day(to)
            ),
        }];
    }
    let mut out = Vec::new();
    let mut covered_to = from;
    let mut last: Option<DateTime<Utc>> = None;
    let mut push = |start: DateTime<Utc>, end: DateTime<Utc>, last: Option<DateTime<Utc>>| {
        let since = match last {
            Some(p) => format!("last pass {}", day(p)),
            None => "no earlier pass".to_owned(),
        };
        out.push(Gap {
            from: Some(start),
            to: end,
            message: format!(
                "{rule}: no passing run from {} to {} ({since})",
                day(start),
                day(end)
            ),
        });
    };
    for &p in passes {
        if p > to {
            break;
        }
        if p > covered_to {
            push(covered_to, p, last);
        }
        covered_to = covered_to.max(add(p, interval));
        last = Some(p);
    }
    if covered_to < to {
        push(covered_to, to, last);
    }
    out
}

#[derive(Clone, Copy)]
enum Rule {
    /// Passing runs, every drill covered by its tier interval, failures followed by a pass.
    Periodic { failures_need_a_pass: bool },
    /// A passing run per drill within 12 months before the end.
    Annual,
    /// As `Periodic`, and every target segregated from production.
    Segregated,
}

struct Control {
    framework: &'static str,
    control: &'static str,
    title: &'static str,
    requirement: &'static str,
    evidence: &'static str,
    rule: Rule,
}

const CONTROLS: [Control; 5] = [
    Control {
        framework: "SOC 2",
        control: "A1.3",
        title: "Recovery plan testing",
        requirement: "The entity tests recovery plan procedures supporting system recovery to \
            meet its objectives.",
        evidence: "Runs that restored from a recovery point into an isolated target, passed \
            their data checks and met the tier's RTO/RPO objectives; every drill covered by a \
            passing run within its tier interval; failed or missed runs followed by a pass.",
        rule: Rule::Periodic {
            failures_need_a_pass: true,
        },
    },
    Control {
        framework: "ISO/IEC 27001:2022",
        control: "A.8.13",
        title: "Information backup",
        requirement: "Backup copies of information, software and systems are maintained and \
            regularly tested in accordance with the agreed backup policy.",
        evidence: "Passing restore runs per drill; \"regularly\" is read as the tier \
            interval, which is the agreed policy here.",
        rule: Rule::Periodic {
            failures_need_a_pass: false,
        },
    },
    Control {
        framework: "PCI DSS v4.0",
        control: "12.10.2",
        title: "Incident response plan reviewed and tested at least every 12 months",
        requirement: "At least once every 12 months the security incident response plan, \
            including its business recovery and data backup processes, is reviewed, updated \
            and tested.",
        evidence: "A passing restore run per drill within the 12 months before the end of \
            the period. This evidences the backup and recovery part of the test only, not the \
            review of the plan.",
        rule: Rule::Annual,
    },
    Control {
        framework: "HIPAA",
        control: "45 CFR 164.308(a)(7)(ii)(D)",
        title: "Testing and revision procedures",
        requirement: "Implement procedures for periodic testing and revision of contingency \
            plans (addressable).",
        evidence: "Periodic passing restore runs of the data backup and disaster recovery \
            plans; a failed or missed test followed by a passing one shows the revision.",
        rule: Rule::Periodic {
            failures_need_a_pass: true,
        },
    },
    Control {
        framework: "DORA (EU 2022/2554)",
        control: "Art. 12",
        title: "Backup policies, restoration and recovery procedures",
        requirement: "Backup and restoration procedures are tested periodically (Art. 12(2)); \
            restores use ICT systems physically and logically segregated from the source \
            (Art. 12(3)).",
        evidence: "Passing restore runs whose every target is recorded as segregated \
            (isolated subnet group or security groups and not publicly accessible, a separate \
            bucket or prefix, a separate local cluster); every drill covered within its tier \
            interval.",
        rule: Rule::Segregated,
    },
];

/// One result per framework, in a fixed order.
pub fn evaluate(drills: &[DrillCoverage], runs: &[RunEntry]) -> Vec<ControlResult> {
    let by_drill: BTreeMap<&str, &DrillCoverage> =
        drills.iter().map(|d| (d.drill.as_str(), d)).collect();
    CONTROLS
        .iter()
        .map(|c| {
            let mut answered_by = Vec::new();
            let mut missing = Vec::new();
            let chained_passes = runs
                .iter()
                .filter(|r| r.passed() && r.history_line.is_some());
            match c.rule {
                Rule::Periodic { .. } | Rule::Segregated => {
                    for r in chained_passes {
                        let unsegregated: Vec<_> = r
                            .isolation
                            .iter()
                            .filter(|t| t.segregation != Segregation::Segregated)
                            .collect();
                        if matches!(c.rule, Rule::Segregated)
                            && (!unsegregated.is_empty() || r.isolation.is_empty())
                        {
                            if r.isolation.is_empty() {
                                missing.push(format!(
                                    "{}: no restore target recorded, so segregation is not shown",
                                    r.label()
                                ));
                            }
                            for t in unsegregated {
                                missing.push(format!(
                                    "{}: target {} of restore {}: {}",
                                    r.label(),
                                    t.target,
                                    t.restore,
                                    t.reason
                                ));
                            }
                        } else {
                            answered_by.push(r.label());
                        }
                    }
                    for d in by_drill.values() {
                        interval_problems(d, &mut missing);
                    }
                    if let Rule::Periodic {
                        failures_need_a_pass: true,
                    } = c.rule
                    {
                        for d in by_drill.values() {
                            for id in &d.open_failures {
                                let verdict = runs
                                    .iter()
                                    .find(|r| r.drill == d.drill && &r.run_id == id)
                                    .map_or("failed", |r| r.verdict.as_str());
                                missing.push(format!(
                                    "{}/{id}: verdict {verdict}, and no later run passed",
                                    d.drill
                                ));
                            }
                        }
                    }
                }
                Rule::Annual => {
                    for d in by_drill.values() {
                        match &d.annual_pass {
                            Some(id) => answered_by.push(format!("{}/{id}", d.drill)),
                            None => missing.push(format!(
                                "{}: no passing run in this bundle within the 12 months before {} \
                                 (a pass before the period is not in the bundle: export at \
                                 least 12 months)",
                                d.drill,
                                day(d.window_to)
                            )),
                        }
                    }
                }
            }
            for r in runs
                .iter()
                .filter(|r| r.passed() && r.history_line.is_none())
            {
                missing.push(format!(
                    "{}: passed, but is not in the history, so its record is not \
                     hash-chained and it is not counted",
                    r.label()
                ));
            }
            let status = match (answered_by.is_empty(), missing.is_empty()) {
                (false, true) => "answered",
                (false, false) => "partly answered",
                (true, _) => "not answered",
            };
            if answered_by.is_empty() && missing.is_empty() {
                missing.push("no runs in the period".to_owned());
            }
            ControlResult {
                framework: c.framework.to_owned(),
                control: c.control.to_owned(),
                title: c.title.to_owned(),
                requirement: c.requirement.to_owned(),
                evidence: c.evidence.to_owned(),
                status: status.to_owned(),
                answered_by,
                missing,
            }
        })
        .collect()
}

fn interval_problems(d: &DrillCoverage, missing: &mut Vec<String>) {
    if d.interval_seconds.is_none() {
        missing.push(match &d.tier {
            Some(t) => format!(
                "{}: tier \"{t}\" is not known here (no tiers.toml defines it), so its \
                 interval cannot be checked",
                d.drill
            ),
            None => format!(
                "{}: no tier recorded, so no interval can be checked",
                d.drill
            ),
        });
    }
    missing.extend(d.gaps.iter().map(|g| g.message.clone()));
}

/// A time for people and auditors: RFC 3339 UTC to the second.
pub fn day(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn sub(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(day: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_767_225_600 + day * 86_400, 0).unwrap()
    }

    const DAYS30: Duration = Duration::from_secs(30 * 86_400);

    #[test]
    fn passes_cover_their_interval_and_the_rest_is_a_gap() {
        // Period days 0..=100; passes on days -10 (before the period), 25 and 90.
        let g = gaps(
            "db",
            Some("gold"),
            DAYS30,
            &[t(-10), t(25), t(90)],
            Some(t(0)),
            t(100),
            3,
        );
        let spans: Vec<_> = g.iter().map(|g| (g.from, g.to)).collect();
        assert_eq!(spans, [(Some(t(20)), t(25)), (Some(t(55)), t(90))]);
        assert_eq!(
            g[0].message,
            "db (gold tier: a passing run at least every 30d): no passing run from \
             2026-01-21T00:00:00Z to 2026-01-26T00:00:00Z (last pass 2025-12-22T00:00:00Z)"
        );
    }

    #[test]
    fn no_pass_at_all_is_one_gap_over_the_window() {
        let g = gaps("db", Some("gold"), DAYS30, &[], Some(t(0)), t(40), 2);
        assert_eq!(g.len(), 1);
        assert!(
            g[0].message.ends_with("never passed (2 runs recorded)"),
            "{}",
            g[0].message
        );
        let g = gaps("db", Some("gold"), DAYS30, &[t(0)], Some(t(0)), t(29), 1);
        assert!(g.is_empty());
    }
}
