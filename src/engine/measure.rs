//! Measured RTO and RPO, the verdict against the tier, and the exit code.

use crate::drill::{Tier, human_seconds};
use crate::exit;
use crate::report::{RunReport, Verdict};

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
}
