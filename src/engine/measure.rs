//! The figures of a run as plain functions of its phase records: measured RTO and RPO
//! (signed), each phase's polls and resolution, the verdict against the tier, and the exit
//! code. Nothing here reads a clock; every moment is passed in.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::drill::{Tier, human_seconds};
use crate::exit;
use crate::provider::{Blame, Waited};
use crate::report::{CheckOutcome, CheckReport, Finding, Outcome, RpoSource, RunReport, Verdict};

/// One timed phase of one restore, as the event stream recorded it.
#[derive(Debug, Clone)]
pub(crate) struct PhaseRecord {
    pub name: String,
    pub started: Instant,
    pub started_at: DateTime<Utc>,
    pub ended: Instant,
    pub outcome: Outcome,
    pub blame: Option<Blame>,
    pub error: Option<String>,
    /// The moment of every look the provider took while the phase ran.
    pub looks: Vec<Instant>,
    /// Where one wait ends and the next begins (the end of each check, in `verify`).
    pub boundaries: Vec<Instant>,
    /// What the provider said it waited for, when the phase returned at all.
    pub reported: Option<Waited>,
    /// What this drill's history expected the phase to take.
    pub expected: Option<Duration>,
}

impl PhaseRecord {
    pub fn seconds(&self) -> f64 {
        self.ended.duration_since(self.started).as_secs_f64()
    }
}

/// Whether a phase waits for something to become ready (and so has a resolution). `resolve`
/// only looks things up: its looks are its API calls, and its end is known exactly.
pub(crate) fn phase_waits(name: &str) -> bool {
    name != "resolve"
}

/// Polls and resolution of a phase. The looks the engine saw are authoritative (they survive
/// a failure, a timeout and an interruption); a provider that does not report its looks is
/// taken at its word. The resolution is the last gap between two looks of the same wait:
/// the phase's end lies somewhere in it. Several waits one after the other (the checks of
/// `verify`) are each their own wait, and the slowest resolution counts.
pub(crate) fn polls_and_resolution(
    looks: &[Instant],
    boundaries: &[Instant],
    reported: Option<Waited>,
) -> (u32, Duration) {
    if looks.is_empty() {
        let w = reported.unwrap_or_default();
        return (w.polls, w.resolution);
    }
    let mut worst = Duration::ZERO;
    let mut prev: Option<Instant> = None;
    let mut last_gap = Duration::ZERO;
    let mut bounds = boundaries.iter().peekable();
    for &at in looks {
        // A boundary between the previous look and this one starts a new wait.
        let mut crossed = false;
        while let Some(&&b) = bounds.peek() {
            if b < at {
                crossed = true;
                bounds.next();
            } else {
                break;
            }
        }
        if crossed {
            worst = worst.max(last_gap);
            prev = None;
            last_gap = Duration::ZERO;
        }
        if let Some(p) = prev {
            last_gap = at.duration_since(p);
        }
        prev = Some(at);
    }
    worst = worst.max(last_gap);
    (u32::try_from(looks.len()).unwrap_or(u32::MAX), worst)
}

/// When a restore became usable: the end of its `verify` phase, if that succeeded.
pub(crate) fn usable_at(phases: &[PhaseRecord]) -> Option<Instant> {
    phases
        .iter()
        .find(|p| p.name == "verify" && p.outcome == Outcome::Ok)
        .map(|p| p.ended)
}

/// Measured RTO: the detection allowance + (the moment every restore is restored and verified
/// − the incident). `lead` is how long before the run's start the incident happened (zero when
/// the incident is the start). `None` when any restore never became usable. Teardown is not
/// part of it: only the moments restores became usable count.
pub(crate) fn rto(
    run_start: Instant,
    lead: Duration,
    allowance: Duration,
    usable: &[Option<Instant>],
) -> Option<f64> {
    let mut last = run_start;
    for u in usable {
        last = last.max((*u)?);
    }
    Some((allowance + lead + last.duration_since(run_start)).as_secs_f64())
}

/// What RPO is measured from, for one restore.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpoInput<'a> {
    pub restore: &'a str,
    /// Newest data a freshness check found in the target.
    pub newest_data: Option<DateTime<Utc>>,
    /// The recovery point's newest data by metadata.
    pub metadata: Option<DateTime<Utc>>,
    /// Whether the restore went to a chosen moment (a point in time), so that data newer than
    /// the incident means it went past its target.
    pub to_a_time: bool,
}

/// A restore that holds data newer than the incident.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Overshoot {
    pub restore: String,
    /// How much newer, in seconds (positive).
    pub seconds: f64,
    pub newest: DateTime<Utc>,
    /// Whether that breaks the restore's target (a restore to a time), or is merely data from
    /// after a past incident (a restore of the latest).
    pub past_target: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rpo {
    /// incident − newest data, the worst over restores; negative when every restore holds data
    /// newer than the incident.
    pub seconds: Option<f64>,
    pub source: Option<RpoSource>,
    pub overshoots: Vec<Overshoot>,
}

fn signed_seconds(later: DateTime<Utc>, earlier: DateTime<Utc>) -> f64 {
    let d = later - earlier;
    match d.num_microseconds() {
        Some(us) => us as f64 / 1e6,
        None => d.num_milliseconds() as f64 / 1e3,
    }
}

/// Measured RPO, signed: incident − the newest data present, from the data where a
/// freshness check measured it and from metadata otherwise. The worst (largest) loss of all
/// restores is the run's.
pub(crate) fn rpo(incident: DateTime<Utc>, restores: &[RpoInput<'_>]) -> Rpo {
    let mut seconds: Option<f64> = None;
    let mut all_from_data = true;
    let mut overshoots = Vec::new();
    for r in restores {
        let newest = match r.newest_data {
            Some(n) => Some(n),
            None => {
                all_from_data = false;
                r.metadata
            }
        };
        let Some(n) = newest else { continue };
        let s = signed_seconds(incident, n);
        if s < 0.0 {
            overshoots.push(Overshoot {
                restore: r.restore.to_owned(),
                seconds: -s,
                newest: n,
                past_target: r.to_a_time,
            });
        }
        seconds = Some(seconds.map_or(s, |x: f64| x.max(s)));
    }
    Rpo {
        source: seconds.map(|_| {
            if all_from_data {
                RpoSource::Data
            } else {
                RpoSource::Metadata
            }
        }),
        seconds,
        overshoots,
    }
}

/// The finding an overshoot past a restore's target makes, as a failed check of its restore.
pub(crate) fn overshoot_report(o: &Overshoot, incident: DateTime<Utc>) -> CheckReport {
    let rfc = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    CheckReport {
        restore: o.restore.clone(),
        kind: "rpo".into(),
        name: "restored to its target time".into(),
        outcome: CheckOutcome::Failed,
        findings: vec![Finding {
            kind: "overshoot".into(),
            object: o.restore.clone(),
            expected: format!("no data newer than {}", rfc(incident)),
            found: format!("data from {}", rfc(o.newest)),
            message: format!(
                "the restore holds data {} newer than the incident: it went past its target",
                human_seconds(o.seconds)
            ),
        }],
        seconds: 0.0,
        found: None,
    }
}

/// The verdict of a run whose restores and checks all succeeded: met, or missed with which
/// target and by how much.
pub(crate) fn judge_targets(tier: &Tier, rto: f64, rpo: f64) -> (Verdict, String) {
    let mut missed = Vec::new();
    let show = human_seconds;
    for (what, measured, target) in [("RTO", rto, tier.rto), ("RPO", rpo, tier.rpo)] {
        let t = target.as_secs_f64();
        if measured > t {
            missed.push(format!(
                "{what} {} exceeds the {} target {} by {}",
                show(measured),
                tier.name,
                show(t),
                show(measured - t)
            ));
        }
    }
    if missed.is_empty() {
        (
            Verdict::Met,
            format!(
                "Every restore came back and passed its checks: RTO {} (target {}), RPO {} (target {}).",
                show(rto),
                show(tier.rto.as_secs_f64()),
                show(rpo),
                show(tier.rpo.as_secs_f64())
            ),
        )
    } else {
        (
            Verdict::Missed,
            format!("Restored and verified, but {}.", missed.join("; and ")),
        )
    }
}

/// What the verdict is judged from.
pub(crate) struct Judged<'a> {
    pub interrupted_by: Option<&'a str>,
    /// `(restore, its first phase that did not succeed)`.
    pub failures: Vec<(&'a str, &'a PhaseRecord)>,
    pub overshoots: &'a [Overshoot],
    pub rto: Option<f64>,
    pub rpo: Option<f64>,
}

/// An error of several lines as one: lines joined with "; ", or a space after a line that
/// ends in a colon ("Attempted:" then the list). The whole error stays in the sentence (issue
/// 19: a credentials error was cut at "Attempted:").
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.push_str(line);
    }
    out
}

/// The verdict and its one-sentence reason: an interruption or the harness's fault is an
/// error, a failed phase or an overshoot past a target is a failure, else the targets judge.
pub(crate) fn verdict(tier: &Tier, j: &Judged<'_>) -> (Verdict, String) {
    let failures: Vec<String> = j
        .failures
        .iter()
        .map(|(id, ph)| {
            format!(
                "restore \"{id}\": {} {}: {}",
                ph.name,
                ph.outcome.as_str(),
                one_line(ph.error.as_deref().unwrap_or_default())
            )
        })
        .collect();
    let past: Vec<String> = j
        .overshoots
        .iter()
        .filter(|o| o.past_target)
        .map(|o| {
            format!(
                "restore \"{}\" holds data {} newer than the incident: it went past its target",
                o.restore,
                human_seconds(o.seconds)
            )
        })
        .collect();
    if let Some(sig) = j.interrupted_by {
        let when = if j.rto.is_some() && j.failures.is_empty() {
            "during teardown, after every restore was verified; teardown finished"
        } else {
            "before every restore was verified"
        };
        (Verdict::Error, format!("Interrupted by {sig} {when}."))
    } else if j
        .failures
        .iter()
        .any(|(_, ph)| ph.blame == Some(Blame::Harness))
    {
        (
            Verdict::Error,
            format!(
                "The harness could not run the drill: {}.",
                failures.join("; ")
            ),
        )
    } else if !failures.is_empty()
        && j.failures.iter().all(|(_, ph)| {
            ph.name == "verify"
                && ph
                    .error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(super::warmup::FAILURE_PREFIX))
        })
    {
        // Every check passed; the warmup did not end well (issue 17: available is not usable).
        (
            Verdict::Failed,
            format!(
                "Restored and checked, but not usable in time: {}.",
                failures.join("; ")
            ),
        )
    } else if !failures.is_empty() && j.failures.iter().all(|(_, ph)| ph.name == "verify") {
        // Everything came back and only the checks failed: say so, not that the restore did
        // not succeed (issue 19).
        (
            Verdict::Failed,
            format!("Restored, but the checks failed: {}.", failures.join("; ")),
        )
    } else if !failures.is_empty() {
        (
            Verdict::Failed,
            format!("The restore did not succeed: {}.", failures.join("; ")),
        )
    } else if !past.is_empty() {
        // The restore worked; it restored the wrong moment (issue 19: say what failed).
        (
            Verdict::Failed,
            format!("Restored past the recovery target: {}.", past.join("; ")),
        )
    } else {
        match (j.rto, j.rpo) {
            (Some(rto), Some(rpo)) => judge_targets(tier, rto, rpo),
            _ => (
                Verdict::Error,
                "RTO or RPO could not be measured.".to_owned(),
            ),
        }
    }
}

/// The exit code of a finished run (see `exit.rs`): left-behind resources first, then an
/// interruption, then the verdict.
pub fn exit_code(report: &RunReport) -> u8 {
    if !report.teardown.leaked.is_empty() {
        return exit::LEAKED;
    }
    if report.interrupted_by.is_some() {
        return exit::INTERRUPTED;
    }
    match report.verdict {
        Verdict::Met => exit::OK,
        Verdict::Missed => exit::TARGET_MISSED,
        Verdict::Failed => exit::FAILED,
        Verdict::Invalid => exit::INVALID,
        Verdict::Error => exit::ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gold() -> Tier {
        crate::drill::TierCatalog::default()
            .get("gold")
            .cloned()
            .unwrap()
    }

    fn s(n: f64) -> Duration {
        Duration::from_secs_f64(n)
    }

    fn phase(name: &str, t0: Instant, from: f64, to: f64, outcome: Outcome) -> PhaseRecord {
        PhaseRecord {
            name: name.into(),
            started: t0 + s(from),
            started_at: DateTime::<Utc>::UNIX_EPOCH,
            ended: t0 + s(to),
            outcome,
            blame: (outcome != Outcome::Ok).then_some(Blame::Restore),
            error: (outcome != Outcome::Ok).then(|| "it broke\nsecond line".into()),
            looks: vec![],
            boundaries: vec![],
            reported: None,
            expected: None,
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn met_and_missed_say_by_how_much() {
        assert_eq!(judge_targets(&gold(), 600.0, 10.0).0, Verdict::Met);
        let (v, why) = judge_targets(&gold(), 1020.0, 10.0);
        assert_eq!(v, Verdict::Missed);
        assert_eq!(
            why,
            "Restored and verified, but RTO 17m exceeds the gold target 15m by 2m."
        );
        let (_, why) = judge_targets(&gold(), 1020.0, 301.5);
        assert!(
            why.ends_with("; and RPO 5m 1.5s exceeds the gold target 5m by 1.50s."),
            "{why}"
        );
    }

    #[test]
    fn a_negative_rpo_is_never_a_missed_target() {
        assert_eq!(judge_targets(&gold(), 600.0, -30.0).0, Verdict::Met);
    }

    #[tokio::test(start_paused = true)]
    async fn looks_give_polls_and_the_last_gap_as_resolution() {
        let t0 = Instant::now();
        let looks = [t0, t0 + s(0.5), t0 + s(1.5), t0 + s(3.5)];
        assert_eq!(polls_and_resolution(&looks, &[], None), (4, s(2.0)));
        // The engine's looks win over what the provider said.
        let said = Waited {
            polls: 1,
            resolution: s(9.0),
        };
        assert_eq!(polls_and_resolution(&looks, &[], Some(said)), (4, s(2.0)));
        // No looks: the provider's word; no word either: nothing.
        assert_eq!(polls_and_resolution(&[], &[], Some(said)), (1, s(9.0)));
        assert_eq!(polls_and_resolution(&[], &[], None), (0, s(0.0)));
        // One look: no gap to speak of.
        assert_eq!(polls_and_resolution(&looks[..1], &[], None), (1, s(0.0)));
    }

    #[test]
    fn only_resolve_does_not_wait() {
        assert!(!phase_waits("resolve"));
        for name in ["copy", "restore", "prepare", "verify", "teardown"] {
            assert!(phase_waits(name), "{name}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn separate_waits_keep_their_own_gaps_and_the_slowest_counts() {
        let t0 = Instant::now();
        // Check one polls at 0, 4 (gap 4) and ends at 5; check two polls at 6, 7, 8 (gap 1).
        let looks = [t0, t0 + s(4.0), t0 + s(6.0), t0 + s(7.0), t0 + s(8.0)];
        let ends = [t0 + s(5.0), t0 + s(8.5)];
        assert_eq!(polls_and_resolution(&looks, &ends, None), (5, s(4.0)));
        // Without the boundary, the gap 4 → 6 would count as the last wait's: it does not.
        let looks = [t0, t0 + s(1.0), t0 + s(6.0), t0 + s(6.5)];
        assert_eq!(
            polls_and_resolution(&looks, &[t0 + s(2.0)], None),
            (4, s(1.0))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rto_is_the_slowest_usable_moment_plus_lead_and_allowance() {
        let t0 = Instant::now();
        let u = [Some(t0 + s(100.0)), Some(t0 + s(250.5)), Some(t0 + s(30.0))];
        assert_eq!(rto(t0, s(0.0), s(0.0), &u), Some(250.5));
        assert_eq!(rto(t0, s(60.0), s(300.0), &u), Some(610.5));
        assert_eq!(rto(t0, s(60.0), s(300.0), &u[..1]), Some(460.0));
        // One restore never usable: no RTO at all.
        assert_eq!(rto(t0, s(60.0), s(300.0), &[u[0], None, u[2]]), None);
        // No restores: nothing to wait for.
        assert_eq!(rto(t0, s(0.0), s(5.0), &[]), Some(5.0));
    }

    #[tokio::test(start_paused = true)]
    async fn usable_means_verified_and_teardown_does_not_move_it() {
        let t0 = Instant::now();
        let ok = [
            phase("restore", t0, 0.0, 10.0, Outcome::Ok),
            phase("verify", t0, 10.0, 12.25, Outcome::Ok),
            phase("teardown", t0, 12.25, 500.0, Outcome::Ok),
        ];
        assert_eq!(usable_at(&ok), Some(t0 + s(12.25)));
        let failed = [
            phase("restore", t0, 0.0, 10.0, Outcome::Ok),
            phase("verify", t0, 10.0, 12.0, Outcome::Failed),
        ];
        assert_eq!(usable_at(&failed), None);
        assert_eq!(usable_at(&ok[..1]), None);
    }

    #[test]
    fn rpo_is_signed_and_the_worst_loss_counts() {
        let incident = at("2026-11-21T13:00:00Z");
        let lost = RpoInput {
            restore: "a",
            newest_data: Some(at("2026-11-21T12:59:30.250Z")),
            metadata: Some(at("2026-11-21T12:59:59Z")),
            to_a_time: true,
        };
        let r = rpo(incident, std::slice::from_ref(&lost));
        assert_eq!(r.seconds, Some(29.75));
        assert_eq!(r.source, Some(RpoSource::Data));
        assert!(r.overshoots.is_empty());

        let by_metadata = RpoInput {
            restore: "b",
            newest_data: None,
            metadata: Some(at("2026-11-21T12:58:00Z")),
            to_a_time: false,
        };
        let r = rpo(incident, &[lost.clone(), by_metadata]);
        assert_eq!(r.seconds, Some(120.0));
        assert_eq!(r.source, Some(RpoSource::Metadata));

        let over = RpoInput {
            restore: "c",
            newest_data: Some(at("2026-11-21T13:00:42.5Z")),
            metadata: None,
            to_a_time: true,
        };
        let r = rpo(incident, std::slice::from_ref(&over));
        assert_eq!(r.seconds, Some(-42.5));
        assert_eq!(
            r.overshoots,
            vec![Overshoot {
                restore: "c".into(),
                seconds: 42.5,
                newest: at("2026-11-21T13:00:42.5Z"),
                past_target: true,
            }]
        );
        // An overshoot next to a loss: the loss is the RPO, the overshoot is still found.
        let r = rpo(incident, &[over, lost]);
        assert_eq!(r.seconds, Some(29.75));
        assert_eq!(r.overshoots.len(), 1);

        let nothing = RpoInput {
            restore: "d",
            newest_data: None,
            metadata: None,
            to_a_time: false,
        };
        let r = rpo(incident, &[nothing]);
        assert_eq!((r.seconds, r.source), (None, None));
    }

    #[test]
    fn an_overshoot_past_a_target_fails_the_run_with_a_finding() {
        let incident = at("2026-11-21T13:00:00Z");
        let o = Overshoot {
            restore: "orders".into(),
            seconds: 42.5,
            newest: at("2026-11-21T13:00:42.5Z"),
            past_target: true,
        };
        let report = overshoot_report(&o, incident);
        assert_eq!(report.outcome, CheckOutcome::Failed);
        assert_eq!(
            report.findings[0].message,
            "the restore holds data 42.50s newer than the incident: it went past its target"
        );
        assert_eq!(
            report.findings[0].found,
            "data from 2026-11-21T13:00:42.500Z"
        );
        let j = Judged {
            interrupted_by: None,
            failures: vec![],
            overshoots: std::slice::from_ref(&o),
            rto: Some(100.0),
            rpo: Some(-42.5),
        };
        let (v, why) = verdict(&gold(), &j);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            why,
            "Restored past the recovery target: restore \"orders\" holds data 42.50s newer than \
             the incident: it went past its target."
        );
        // Restoring the latest data after a past incident is no overshoot of a target.
        let latest = Overshoot {
            past_target: false,
            ..o.clone()
        };
        let j = Judged {
            overshoots: std::slice::from_ref(&latest),
            ..j
        };
        assert_eq!(verdict(&gold(), &j).0, Verdict::Met);
    }

    /// Issue 19: a credentials error is kept whole in the verdict's sentence.
    #[test]
    fn a_multi_line_error_is_one_line_and_whole() {
        assert_eq!(
            one_line(
                "no credentials found in chain. Attempted:\n  Environment: not set\n  \
                 Profile: not enabled\n"
            ),
            "no credentials found in chain. Attempted: Environment: not set; Profile: not enabled"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn verdicts_rank_interruption_harness_failure_then_targets() {
        let t0 = Instant::now();
        let failed = phase("restore", t0, 0.0, 5.0, Outcome::Timeout);
        let mut harness = phase("resolve", t0, 0.0, 1.0, Outcome::Failed);
        harness.blame = Some(Blame::Harness);
        let base = Judged {
            interrupted_by: None,
            failures: vec![("a", &failed)],
            overshoots: &[],
            rto: None,
            rpo: Some(1.0),
        };
        assert_eq!(
            verdict(&gold(), &base),
            (
                Verdict::Failed,
                "The restore did not succeed: restore \"a\": restore timeout: it broke; second \
                 line."
                    .into()
            )
        );
        // Issue 19: only the checks failed: the restore worked, and the headline says so.
        let mut checks = phase("verify", t0, 5.0, 6.0, Outcome::Failed);
        checks.error = Some("1 of 2 checks did not pass".into());
        let j = Judged {
            failures: vec![("a", &checks)],
            ..base
        };
        assert_eq!(
            verdict(&gold(), &j).1,
            "Restored, but the checks failed: restore \"a\": verify failed: 1 of 2 checks did \
             not pass."
        );
        let base = Judged {
            failures: vec![("a", &failed)],
            ..j
        };
        let j = Judged {
            failures: vec![("a", &failed), ("b", &harness)],
            ..base
        };
        assert_eq!(verdict(&gold(), &j).0, Verdict::Error);
        let j = Judged {
            interrupted_by: Some("SIGINT"),
            ..j
        };
        assert_eq!(
            verdict(&gold(), &j).1,
            "Interrupted by SIGINT before every restore was verified."
        );
        let j = Judged {
            interrupted_by: None,
            failures: vec![],
            overshoots: &[],
            rto: None,
            rpo: None,
        };
        assert_eq!(verdict(&gold(), &j).0, Verdict::Error);
    }
}
