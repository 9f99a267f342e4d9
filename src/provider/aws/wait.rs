//! Waiting for AWS resources: describe polling with backoff, counting polls and the
//! resolution of the moment a resource was seen ready.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::provider::{ProviderError, Waited};

/// First poll interval; doubles up to `MAX_INTERVAL`. RDS takes minutes, so the interval
/// soon settles at the maximum, which bounds the resolution of a measured phase end.
pub const FIRST_INTERVAL: Duration = Duration::from_millis(500);
pub const MAX_INTERVAL: Duration = Duration::from_secs(15);

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

/// Polls `probe` until it reports ready or failed. No timeout of its own: the engine's phase
/// timeout (and Ctrl-C) drop this future.
pub async fn until_ready<F, Fut>(what: &str, mut probe: F) -> Result<Waited, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Seen, ProviderError>>,
{
    let mut interval = FIRST_INTERVAL;
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
                    "{what} failed: its status is \"{status}\""
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
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(MAX_INTERVAL);
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
            "instance x failed: its status is \"incompatible-restore\""
        );
    }
}
