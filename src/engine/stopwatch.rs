//! One stopwatch: a wall-clock start timestamp for display, durations from the monotonic
//! clock. Wall-clock times are never subtracted to get a duration.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    started_at: DateTime<Utc>,
    start: Instant,
}

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch {
            started_at: Utc::now(),
            start: Instant::now(),
        }
    }

    /// When it started, by the wall clock (UTC).
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    pub fn instant(&self) -> Instant {
        self.start
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}
