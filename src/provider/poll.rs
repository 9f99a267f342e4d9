//! How a provider tells the engine that it looked at a resource, while it waits.
//!
//! The engine scopes every phase with a `PhaseWatch`: each look a provider takes (a describe
//! call, a connection attempt) calls `look()`, which notes its moment in a log the engine
//! owns. So the polls of a phase that fails, times out or is interrupted are known even
//! though its future is dropped. The watch also carries what this drill's history expects the phase to take, so a
//! waiting loop can poll densely near the expected end (`expected()`).
//!
//! A task-local rather than an argument: the watch belongs to the phase, not to a provider,
//! and every provider method keeps its signature. Outside a watched phase both functions are
//! no-ops.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The moments of a phase's looks, shared between the engine and the phase's future.
#[derive(Debug, Clone, Default)]
pub struct Looks(Arc<Mutex<Vec<Instant>>>);

impl Looks {
    fn push(&self, at: Instant) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(at);
    }

    /// Every look so far, oldest first; the log is left empty.
    pub fn take(&self) -> Vec<Instant> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// What the engine lends a phase while it runs.
#[derive(Debug, Clone)]
pub struct PhaseWatch {
    /// When the phase started (the engine's clock).
    pub started: Instant,
    /// How long this phase took in this drill's previous runs (their median), if known.
    pub expected: Option<Duration>,
    /// Every answered API call is a look (`resolve`: its looks at the source are its calls).
    /// Otherwise only the waiting loops' looks count, not the calls that start or change
    /// things.
    pub calls_are_looks: bool,
    pub looks: Looks,
}

tokio::task_local! {
    static WATCH: PhaseWatch;
}

/// Runs `work` with `watch` as its phase's watch.
pub async fn watched<F: std::future::Future>(watch: PhaseWatch, work: F) -> F::Output {
    WATCH.scope(watch, work).await
}

/// Records one look at the resource being waited for, now. With `-v` the look is logged: its
/// number and how long after the phase started it came (the AWS call it made is logged on
/// its own line, with its latency).
pub fn look() {
    let _ = WATCH.try_with(|w| {
        let now = Instant::now();
        w.looks.push(now);
        tracing::debug!(
            target: "restore_drill::poll",
            "poll {}, {:.1}s into the phase",
            w.looks.0.lock().map_or(0, |l| l.len()),
            now.duration_since(w.started).as_secs_f64()
        );
    });
}

/// Records an answered API call, now: a look when the phase counts its calls.
pub fn call() {
    let _ = WATCH.try_with(|w| {
        if w.calls_are_looks {
            w.looks.push(Instant::now());
        }
    });
}

/// When the current phase started and how long it is expected to take, if known.
pub fn expected() -> Option<(Instant, Option<Duration>)> {
    WATCH.try_with(|w| (w.started, w.expected)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn looks_reach_the_watch_of_their_phase_only() {
        let looks = Looks::default();
        let t0 = Instant::now();
        look(); // outside any phase: nowhere to go
        let watch = PhaseWatch {
            started: t0,
            expected: Some(Duration::from_secs(60)),
            calls_are_looks: false,
            looks: looks.clone(),
        };
        watched(watch.clone(), async {
            call(); // not a look in this phase
            look();
            tokio::time::sleep(Duration::from_secs(2)).await;
            look();
            assert_eq!(expected(), Some((t0, Some(Duration::from_secs(60)))));
        })
        .await;
        assert_eq!(expected(), None);
        assert_eq!(looks.take(), vec![t0, t0 + Duration::from_secs(2)]);
        assert_eq!(looks.take(), vec![]);
        let counting = PhaseWatch {
            calls_are_looks: true,
            ..watch
        };
        watched(counting, async { call() }).await;
        assert_eq!(looks.take().len(), 1);
    }
}
