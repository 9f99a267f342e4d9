//! How many copies to keep in flight: found while copying, not fixed. Pure logic, fed with
//! what each window of finished copies showed (how many, in how long, their mean latency)
//! and with every throttling answer; the clock stays with the caller, so the tests drive it
//! with made-up servers.
//!
//! - It starts at `START` (or the cap, if lower) and doubles while throughput rises and
//!   latency holds (slow start), then grows by an eighth per window while that lasts;
//!   once throughput stops rising, it probes one more every few windows.
//! - Latency growth without a throughput gain (the server queues what it cannot serve)
//!   takes a quarter off; a throttling answer (503 SlowDown, 429, Throttling) halves it.
//! - Never above the drill's `concurrency`, never below 1.

/// Copies in flight at the start.
pub(crate) const START: usize = 8;
/// A window's throughput counts as rising when it beats the best seen by this much.
const GAIN: f64 = 1.05;
/// A window's mean latency counts as grown past this multiple of the lowest seen.
const LATENCY_GROWTH: f64 = 1.5;
/// Flat windows before one more copy in flight is tried.
const PROBE_AFTER: u32 = 4;
/// Finished copies per window, at least.
const MIN_WINDOW: u64 = 16;

/// What one window of finished copies showed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub completions: u64,
    pub seconds: f64,
    /// Mean latency of the window's copies, seconds (their own time, no backoff).
    pub mean_latency: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Controller {
    cap: usize,
    limit: usize,
    lowest: usize,
    highest: usize,
    /// The lowest window mean latency seen: the server's unloaded latency.
    base_latency: Option<f64>,
    /// The best throughput seen since the last throttling, objects/s.
    best_rate: f64,
    /// Doubling, until the first window that does not gain.
    slow_start: bool,
    flat: u32,
}

impl Controller {
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        let limit = cap.min(START);
        Controller {
            cap,
            limit,
            lowest: limit,
            highest: limit,
            base_latency: None,
            best_rate: 0.0,
            slow_start: true,
            flat: 0,
        }
    }

    /// Copies allowed in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The lowest and highest limit so far.
    pub fn range(&self) -> (usize, usize) {
        (self.lowest, self.highest)
    }

    /// Finished copies that make one window at the current limit: a couple of rounds of
    /// every copy in flight, so a window's rate is not one copy's luck.
    pub fn window_size(&self) -> u64 {
        (2 * self.limit as u64).max(MIN_WINDOW)
    }

    /// A throttling answer: halve, and forget the throughput seen (the server's budget
    /// changed).
    pub fn throttled(&mut self) -> usize {
        self.set((self.limit / 2).max(1));
        self.slow_start = false;
        self.best_rate = 0.0;
        self.flat = 0;
        self.limit
    }

    /// One window's figures; returns the new limit.
    pub fn observe(&mut self, w: Window) -> usize {
        let usable = w.completions > 0 && w.seconds.is_finite() && w.seconds > 0.0;
        if !usable || !w.mean_latency.is_finite() {
            return self.limit;
        }
        let rate = w.completions as f64 / w.seconds;
        let base = self
            .base_latency
            .map_or(w.mean_latency, |b| b.min(w.mean_latency));
        self.base_latency = Some(base);
        let rising = rate > self.best_rate * GAIN;
        let congested = w.mean_latency > base * LATENCY_GROWTH;
        if rising {
            self.best_rate = rate;
        }
        let next = match (rising, congested) {
            (true, false) => {
                self.flat = 0;
                if self.slow_start {
                    self.limit * 2
                } else {
                    self.limit + (self.limit / 8).max(1)
                }
            }
            (false, true) => {
                self.slow_start = false;
                self.flat = 0;
                (self.limit * 3 / 4).max(1)
            }
            // More throughput, at a latency cost: hold.
            (true, true) => {
                self.slow_start = false;
                self.limit
            }
            // Flat: hold, and now and then try one more.
            (false, false) => {
                self.slow_start = false;
                self.flat += 1;
                if self.flat >= PROBE_AFTER {
                    self.flat = 0;
                    self.limit + 1
                } else {
                    self.limit
                }
            }
        };
        self.set(next);
        self.limit
    }

    fn set(&mut self, limit: usize) {
        self.limit = limit.clamp(1, self.cap);
        self.lowest = self.lowest.min(self.limit);
        self.highest = self.highest.max(self.limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up server with `slots` copies served at once, each in `base` seconds; what is
    /// asked beyond that queues (latency grows, throughput does not).
    fn serve(limit: usize, slots: usize, base: f64, completions: u64) -> Window {
        let served = limit.min(slots) as f64;
        let latency = base * (limit as f64 / slots as f64).max(1.0);
        Window {
            completions,
            seconds: completions as f64 / (served / base),
            mean_latency: latency,
        }
    }

    fn run(c: &mut Controller, slots: usize, windows: usize) -> Vec<usize> {
        (0..windows)
            .map(|_| {
                let n = c.window_size();
                c.observe(serve(c.limit(), slots, 0.002, n))
            })
            .collect()
    }

    #[test]
    fn it_doubles_up_to_the_cap_while_throughput_rises_and_latency_holds() {
        let mut c = Controller::new(64);
        assert_eq!(c.limit(), START);
        let seen = run(&mut c, 1000, 3);
        assert_eq!(seen, [16, 32, 64]);
        // At the cap it stays there.
        assert!(run(&mut c, 1000, 20).iter().all(|&l| l == 64));
        assert_eq!(c.range(), (START, 64));
    }

    #[test]
    fn it_starts_at_the_cap_when_the_cap_is_lower_and_never_exceeds_it() {
        let mut c = Controller::new(3);
        assert_eq!(c.limit(), 3);
        assert!(run(&mut c, 1000, 20).iter().all(|&l| l == 3));
        let mut one = Controller::new(0);
        assert_eq!(one.limit(), 1);
        assert_eq!(one.throttled(), 1);
    }

    #[test]
    fn it_settles_near_what_the_server_can_serve_when_latency_grows() {
        // 24 slots, a cap of 256: it must not run to the cap, and must not starve.
        let mut c = Controller::new(256);
        let seen = run(&mut c, 24, 60);
        let tail = &seen[20..];
        assert!(
            tail.iter().all(|&l| (20..=40).contains(&l)),
            "limits after settling: {tail:?} (all: {seen:?})"
        );
        assert!(c.range().1 < 256, "{seen:?}");
    }

    #[test]
    fn latency_growth_without_more_throughput_takes_a_quarter_off() {
        let mut c = Controller::new(64);
        c.observe(serve(8, 1000, 0.002, 16)); // 16
        c.observe(serve(16, 1000, 0.002, 32)); // 32
        assert_eq!(c.limit(), 32);
        // Same throughput as before, latency tripled.
        let w = Window {
            completions: 64,
            seconds: 64.0 / (16.0 / 0.002) * 2.0,
            mean_latency: 0.006,
        };
        assert_eq!(c.observe(w), 24);
    }

    #[test]
    fn throttling_halves_and_the_lowest_is_kept() {
        let mut c = Controller::new(32);
        run(&mut c, 1000, 2);
        assert_eq!(c.limit(), 32);
        assert_eq!(c.throttled(), 16);
        assert_eq!(c.throttled(), 8);
        assert_eq!(c.throttled(), 4);
        assert_eq!(c.range(), (4, 32));
        // After throttling it grows back by an eighth (at least one) per gaining window,
        // not by doubling.
        let next = c.observe(serve(4, 1000, 0.002, 16));
        assert_eq!(next, 5);
        for _ in 0..4 {
            c.throttled();
        }
        assert_eq!(c.limit(), 1);
    }

    #[test]
    fn a_flat_throughput_is_probed_one_at_a_time() {
        let mut c = Controller::new(64);
        // Throughput never beats the first window, latency never grows.
        let w = |n| Window {
            completions: n,
            seconds: n as f64 / 100.0,
            mean_latency: 0.002,
        };
        assert_eq!(c.observe(w(16)), 16);
        let seen: Vec<usize> = (0..8).map(|_| c.observe(w(32))).collect();
        assert_eq!(seen, [16, 16, 16, 17, 17, 17, 17, 18]);
    }

    #[test]
    fn empty_or_odd_windows_change_nothing() {
        let mut c = Controller::new(64);
        for w in [
            Window {
                completions: 0,
                seconds: 1.0,
                mean_latency: 0.1,
            },
            Window {
                completions: 5,
                seconds: 0.0,
                mean_latency: 0.1,
            },
            Window {
                completions: 5,
                seconds: 1.0,
                mean_latency: f64::NAN,
            },
        ] {
            assert_eq!(c.observe(w), START);
        }
    }
}
