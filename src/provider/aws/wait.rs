//! Waiting for AWS resources: describe polling, counting polls and the resolution of the
//! moment a resource was seen ready.
//!
//! When this drill's history says how long the phase usually takes (the engine lends it
//! through `provider::poll`), polls are scheduled from that expected end: sparse far from
//! it, every 2 s near it, loosening again if the phase runs late (`next_interval`). Without
//! history, the default is the plain backoff from 0.5 s to 15 s.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::provider::{ProviderError, Waited};

/// First poll interval; doubles up to `MAX_INTERVAL`. RDS takes minutes, so the interval
/// soon settles at the maximum, which bounds the resolution of a measured phase end.
pub const FIRST_INTERVAL: Duration = Duration::from_millis(500);
pub const MAX_INTERVAL: Duration = Duration::from_secs(15);

/// The tightest interval, near the expected end: the resolution a phase is measured to.
pub const NEAR_INTERVAL: Duration = Duration::from_secs(2);
/// The sparsest interval, far from the expected end.
pub const FAR_INTERVAL: Duration = Duration::from_secs(60);
/// Within this of the expected end (before or after), polls come every `NEAR_INTERVAL`.
pub const NEAR_BAND: Duration = Duration::from_secs(30);
/// Outside the band, the interval is this fraction of the distance to the expected end, so
/// each poll closes a quarter of the remaining gap.
const APPROACH_DIVISOR: u32 = 4;
/// The hard cap on a phase's polls at anything faster than `FAR_INTERVAL`: after this many
/// polls, one a minute. Keeps a wrong expectation from spending calls without end.
pub const MAX_CLOSE_POLLS: u32 = 60;

/// The wait before the next poll. `elapsed`: since the phase started; `expected`: how long
/// this phase took in the drill's previous runs (their median), if known; `last`: the
/// previous interval (zero before the second poll); `polls`: polls taken so far.
///
/// Without history: the backoff (0.5 s doubling to 15 s). With it: every 2 s within 30 s of
/// the expected end; outside that, a quarter of the distance to it, up to 60 s — sparse far
/// from it, tightening as it nears, loosening again as the phase runs late.
pub fn next_interval(
    elapsed: Duration,
    expected: Option<Duration>,
    last: Duration,
    polls: u32,
) -> Duration {
    let Some(expected) = expected else {
        return if last.is_zero() {
            FIRST_INTERVAL
        } else {
            (last * 2).min(MAX_INTERVAL)
        };
    };
    let distance = expected.abs_diff(elapsed);
    let mut interval = if distance <= NEAR_BAND {
        NEAR_INTERVAL
    } else {
        (distance / APPROACH_DIVISOR).clamp(NEAR_INTERVAL, FAR_INTERVAL)
    };
    // Approaching, never jump into the band by more than the near interval.
    let band_starts = expected.saturating_sub(NEAR_BAND);
    if elapsed < band_starts && elapsed + interval > band_starts {
        interval = (band_starts - elapsed).max(NEAR_INTERVAL);
    }
    if polls >= MAX_CLOSE_POLLS {
        interval = FAR_INTERVAL;
    }
    interval
}

/// What one look at a resource found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Usable.
    Ready,
    /// Still on its way; the status, for the progress log.
    Pending(String),
    /// It will never become ready: the restore failed.
    Failed(String),
}

/// What a terminal RDS status means, for the one line a failed wait reports.
pub fn status_meaning(status: &str) -> Option<&'static str> {
    Some(match status {
        "incompatible-restore" => {
            "RDS cannot restore this backup as asked: the point in time, the instance class or the storage does not fit it"
        }
        "incompatible-parameters" => {
            "the parameter group holds values the restored engine or instance class cannot start with"
        }
        "incompatible-network" => "the subnet group or its subnets cannot hold the instance",
        "incompatible-option-group" => "the option group does not fit the restored engine",
        "inaccessible-encryption-credentials"
        | "inaccessible-encryption-credentials-recoverable" => {
            "the KMS key of the backup is disabled, deleted or not usable by RDS in this account"
        }
        "stopped" | "stopping" => {
            "the instance was stopped; it will not become available by itself"
        }
        "storage-full" => "the instance ran out of allocated storage",
        _ => return None,
    })
}

/// Polls `probe` until it reports ready or failed. No timeout of its own: the engine's phase
/// timeout (and Ctrl-C) drop this future.
pub async fn until_ready<F, Fut>(what: &str, mut probe: F) -> Result<Waited, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Seen, ProviderError>>,
{
    let (started, expected) = match crate::provider::poll::expected() {
        Some((started, expected)) => (started, expected),
        None => (Instant::now(), None),
    };
    let mut interval = Duration::ZERO;
    let mut polls = 0u32;
    let mut last = Instant::now();
    let mut last_status = String::new();
    loop {
        polls += 1;
        let seen = probe().await;
        // The engine learns of every answer as it comes, so a phase that fails or is dropped
        // still reports its polls.
        crate::provider::poll::look();
        let seen = seen?;
        let now = Instant::now();
        match seen {
            Seen::Ready => {
                return Ok(Waited {
                    polls,
                    resolution: now - last,
                });
            }
            Seen::Failed(status) => {
                return Err(ProviderError::restore(format!(
                    "{what} failed: its status is \"{status}\"{}",
                    status_meaning(&status)
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                )));
            }
            Seen::Pending(status) => {
                if status != last_status {
                    tracing::info!("{what}: {status}");
                    last_status = status;
                }
            }
        }
        last = now;
        interval = next_interval(now.duration_since(started), expected, interval, polls);
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn counts_polls_and_reports_the_last_interval_as_resolution() {
        let mut n = 0;
        let w = until_ready("instance x", || {
            n += 1;
            let seen = if n < 4 {
                Seen::Pending("creating".into())
            } else {
                Seen::Ready
            };
            async move { Ok(seen) }
        })
        .await
        .unwrap();
        assert_eq!(w.polls, 4);
        // 0.5 s, 1 s, 2 s between polls: the last gap is the resolution.
        assert_eq!(w.resolution, Duration::from_secs(2));
    }

    /// Polls a phase that ends `actual` after it started, with `expected` lent as its watch:
    /// (polls, resolution).
    async fn poll_phase(actual: Duration, expected: Option<Duration>) -> (u32, Duration) {
        let t0 = Instant::now();
        let watch = crate::provider::poll::PhaseWatch {
            started: t0,
            expected,
            calls_are_looks: false,
            looks: Default::default(),
        };
        let w = crate::provider::poll::watched(
            watch,
            until_ready("instance x", || {
                let seen = if t0.elapsed() >= actual {
                    Seen::Ready
                } else {
                    Seen::Pending("creating".into())
                };
                async move { Ok(seen) }
            }),
        )
        .await
        .unwrap();
        // The end was seen at most one interval after it happened.
        let late = t0.elapsed() - actual;
        assert!(late <= w.resolution, "{late:?} > {:?}", w.resolution);
        (w.polls, w.resolution)
    }

    /// Today's backoff before this schedule, for comparison: 0.5 s doubling to 15 s.
    fn old_backoff(actual: Duration) -> (u32, Duration) {
        let (mut t, mut interval, mut polls, mut gap) =
            (Duration::ZERO, FIRST_INTERVAL, 1, Duration::ZERO);
        while t < actual {
            t += interval;
            gap = interval;
            interval = (interval * 2).min(MAX_INTERVAL);
            polls += 1;
        }
        (polls, gap)
    }

    const MIN: u64 = 60;

    #[tokio::test(start_paused = true)]
    async fn a_20_minute_phase_with_history_is_measured_to_2s_in_at_most_60_polls() {
        let twenty = Duration::from_secs(20 * MIN);
        let (polls, resolution) = poll_phase(twenty, Some(twenty)).await;
        assert_eq!((polls, resolution), (40, NEAR_INTERVAL));
        // Against the old backoff: 85 polls, 15 s.
        assert_eq!(old_backoff(twenty), (85, MAX_INTERVAL));
        // Early or late against the history by up to 30 s: still 2 s, still at most 60 polls.
        for (actual, want) in [
            (20 * MIN - 20, (30, 2)),
            (20 * MIN - 7, (37, 2)),
            (20 * MIN + 7, (44, 2)),
            (20 * MIN + 30, (55, 2)),
        ] {
            let (polls, resolution) = poll_phase(Duration::from_secs(actual), Some(twenty)).await;
            assert_eq!(
                (polls, resolution.as_secs()),
                want,
                "actual {actual} s against expected 1200 s"
            );
            assert!(polls <= 60 && resolution <= NEAR_INTERVAL);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn without_history_the_schedule_is_the_old_backoff_exactly() {
        for secs in [1, 7, 60, 20 * MIN, 45 * MIN] {
            let actual = Duration::from_secs(secs);
            assert_eq!(
                poll_phase(actual, None).await,
                old_backoff(actual),
                "{secs} s"
            );
        }
    }

    #[test]
    fn the_schedule_tightens_towards_the_expected_end_and_loosens_after_it() {
        let s = Duration::from_secs;
        let e = Some(s(20 * MIN));
        let at = |elapsed: u64| next_interval(s(elapsed), e, s(1), 5);
        assert_eq!(at(0), FAR_INTERVAL);
        assert_eq!(at(20 * MIN - 240), FAR_INTERVAL);
        assert_eq!(at(20 * MIN - 200), s(50));
        assert_eq!(at(20 * MIN - 150), Duration::from_millis(37_500));
        assert_eq!(at(20 * MIN - 40), s(10));
        // Never jumping into the band: 35 s before the end, the next poll lands where the band
        // starts, 30 s before it.
        assert_eq!(at(20 * MIN - 35), s(5));
        assert_eq!(at(20 * MIN - 32), s(2));
        assert_eq!(at(20 * MIN - 20), NEAR_INTERVAL);
        assert_eq!(at(20 * MIN - 1), NEAR_INTERVAL);
        assert_eq!(at(20 * MIN), NEAR_INTERVAL);
        assert_eq!(at(20 * MIN + 30), NEAR_INTERVAL);
        assert_eq!(at(20 * MIN + 40), s(10));
        assert_eq!(at(20 * MIN + 600), FAR_INTERVAL);
        // A phase far shorter than its history: sparse, but never past the expected end by
        // more than the near interval.
        assert_eq!(next_interval(s(9), Some(s(10)), s(0), 1), NEAR_INTERVAL);
        // The cap: past it, one a minute wherever the end is.
        assert_eq!(
            next_interval(s(20 * MIN), e, s(2), MAX_CLOSE_POLLS),
            FAR_INTERVAL
        );
    }

    #[tokio::test(start_paused = true)]
    async fn far_from_its_history_a_phase_is_polled_sparsely() {
        // Half the expected time: few polls, a coarse end (the price of trusting history).
        let ten = Duration::from_secs(10 * MIN);
        let (polls, resolution) = poll_phase(ten, Some(Duration::from_secs(20 * MIN))).await;
        assert_eq!((polls, resolution), (11, FAR_INTERVAL));
        assert_eq!(old_backoff(ten), (45, MAX_INTERVAL));
    }

    #[tokio::test(start_paused = true)]
    async fn a_phase_hovering_at_its_expected_end_stays_under_the_cap() {
        // Expected 10 s, takes an hour: the dense polls are capped, then one a minute.
        let (polls, resolution) =
            poll_phase(Duration::from_secs(60 * MIN), Some(Duration::from_secs(10))).await;
        assert!(polls <= MAX_CLOSE_POLLS + 60, "{polls}");
        assert_eq!(resolution, FAR_INTERVAL);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_status_is_the_restores_fault() {
        let e = until_ready("instance x", || async {
            Ok(Seen::Failed("incompatible-restore".into()))
        })
        .await
        .unwrap_err();
        assert_eq!(e.blame, crate::provider::Blame::Restore);
        assert_eq!(
            e.message,
            "instance x failed: its status is \"incompatible-restore\" (RDS cannot restore this \
             backup as asked: the point in time, the instance class or the storage does not fit it)"
        );
    }
}
