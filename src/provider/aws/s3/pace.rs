//! How many copies to keep in flight: found while copying, not fixed. Pure logic, fed with
//! what each window of finished copies showed (how many, in how long, their mean latency)
//! and with every throttling answer; the clock stays with the caller, so the tests drive it
//! with made-up servers.
//!
//! It climbs the throughput curve by comparing levels, not single windows against the best
//! or quickest ever seen (a lucky window set a bar later ones could never reach, and on a
//! busy runner latency grows with every copy added even while throughput still rises, so
//! the old rule stopped at 16 where the server served most at 32):
//!
//! - **Slow start.** From `START` (or the cap, if lower) it doubles while doubling buys at
//!   least `DOUBLING_GAIN` more throughput, judged on the better of two windows when the
//!   first does not pay (one window is one moment of a shared server, and a climb that
//!   ended on an unlucky one settled at half the level the server served best). Once a
//!   doubling does not (or at the cap), it
//!   settles on the lowest level tried that served within `KEEP_BELOW` of the best: a
//!   doubling that a lucky window let through is not kept.
//! - **Settled.** It keeps a smoothed rate and latency of the level it settled on, and every
//!   `PROBE_EVERY` windows tries one window a quarter above it or a fifth below. A level
//!   above is kept only if it gains `PROBE_GAIN`; one below is kept if it serves as much
//!   (`KEEP_BELOW`) with fewer copies in flight (so it comes down from an overshoot
//!   slowly, and only as far as it loses nothing). A kept probe is followed by another the
//!   same way one window later (so an overshoot comes down in a few steps); one taken back
//!   turns the next the other way.
//! - **Backing off.** A throttling answer (503 SlowDown, 429, Throttling) halves it and
//!   starts the measuring over. A settled level whose throughput falls by `SLUMP` while its
//!   latency grows by `LATENCY_GROWTH` (the server queues what it can no longer serve)
//!   takes a quarter off.
//! - Never above the drill's `concurrency`, never below 1; and never below `START` (or the
//!   cap) but on throttling: a probe down is kept on no gain and one up only on 10 %, so on a
//!   noisy server probes and slumps alone would walk it down to 1.

/// Copies in flight at the start.
pub(crate) const START: usize = 8;
/// Doubling the copies in flight must buy this much more throughput to go on doubling.
const DOUBLING_GAIN: f64 = 1.10;
/// A probe above the settled level must gain this much to be kept.
const PROBE_GAIN: f64 = 1.10;
/// A probe below is kept when it serves at least this share of the settled rate.
const KEEP_BELOW: f64 = 1.0;
/// Windows at the settled level between probes.
const PROBE_EVERY: u32 = 3;
/// A settled level's throughput down to this share of its smoothed rate…
const SLUMP: f64 = 0.7;
/// …while its latency grew past this multiple: the server is overloaded.
const LATENCY_GROWTH: f64 = 1.5;
/// Weight of a new window in the settled level's smoothed figures.
const SMOOTHING: f64 = 0.3;
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

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Doubling; each level tried with its (rate, latency). `again`: the first window at
    /// this level, which did not pay, while a second one is measured.
    SlowStart {
        tried: Vec<(usize, f64, f64)>,
        again: Option<(f64, f64)>,
    },
    /// At `level`, with its smoothed rate and latency (`None` until a window there).
    Settled {
        level: usize,
        rate: Option<(f64, f64)>,
        windows: u32,
        /// The next probe goes up (else down).
        up_next: bool,
    },
    /// One window at `limit` is under way; then back to `from` unless it did better.
    Probing {
        from: usize,
        rate: (f64, f64),
        up: bool,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Controller {
    cap: usize,
    limit: usize,
    lowest: usize,
    highest: usize,
    phase: Phase,
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
            phase: Phase::SlowStart {
                tried: Vec::new(),
                again: None,
            },
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

    /// A throttling answer: halve, and measure again from there (the server's budget
    /// changed).
    pub fn throttled(&mut self) -> usize {
        self.set((self.limit / 2).max(1));
        self.phase = Phase::Settled {
            level: self.limit,
            rate: None,
            windows: 0,
            up_next: true,
        };
        self.limit
    }

    /// One window's figures, measured at the current limit; returns the new limit.
    pub fn observe(&mut self, w: Window) -> usize {
        let usable = w.completions > 0 && w.seconds.is_finite() && w.seconds > 0.0;
        if !usable || !w.mean_latency.is_finite() {
            return self.limit;
        }
        let rate = w.completions as f64 / w.seconds;
        let latency = w.mean_latency;
        let phase = std::mem::replace(
            &mut self.phase,
            Phase::SlowStart {
                tried: Vec::new(),
                again: None,
            },
        );
        let (phase, next) = match phase {
            Phase::SlowStart { mut tried, again } => {
                let below = tried.last().map(|&(_, r, _)| r);
                let pays = |rate: f64| below.is_none_or(|r| rate >= r * DOUBLING_GAIN);
                if !pays(rate) && again.is_none() && self.limit < self.cap {
                    // One window is one moment of a shared server: a doubling that did not
                    // pay is measured once more before the climb ends on it.
                    self.phase = Phase::SlowStart {
                        tried,
                        again: Some((rate, latency)),
                    };
                    return self.limit;
                }
                let (rate, latency) = match again {
                    Some(first) if first.0 > rate => first,
                    _ => (rate, latency),
                };
                let paid = pays(rate);
                tried.push((self.limit, rate, latency));
                if paid && self.limit < self.cap {
                    (Phase::SlowStart { tried, again: None }, self.limit * 2)
                } else {
                    let best = tried.iter().map(|t| t.1).fold(0.0, f64::max);
                    let level = tried
                        .iter()
                        .find(|t| t.1 >= best * KEEP_BELOW)
                        .map_or(self.limit, |t| t.0);
                    // Its figures are measured afresh: the window that chose it may have
                    // been a lucky one.
                    (
                        Phase::Settled {
                            level,
                            rate: None,
                            windows: 0,
                            up_next: false,
                        },
                        level,
                    )
                }
            }
            Phase::Probing { from, rate: r, up } => {
                let kept = if up {
                    rate >= r.0 * PROBE_GAIN
                } else {
                    rate >= r.0 * KEEP_BELOW
                };
                if kept {
                    // The same way again, after one more window here.
                    (
                        Phase::Settled {
                            level: self.limit,
                            rate: Some((rate, latency)),
                            windows: PROBE_EVERY - 1,
                            up_next: up,
                        },
                        self.limit,
                    )
                } else {
                    (
                        Phase::Settled {
                            level: from,
                            rate: Some(r),
                            windows: 0,
                            up_next: !up,
                        },
                        from,
                    )
                }
            }
            Phase::Settled {
                level,
                rate: None,
                up_next,
                ..
            } => (
                Phase::Settled {
                    level,
                    rate: Some((rate, latency)),
                    windows: 1,
                    up_next,
                },
                level,
            ),
            Phase::Settled {
                level,
                rate: Some((r, l)),
                windows,
                up_next,
            } => {
                // Never below the slow-start level but on throttling (a level throttling
                // brought lower stays where it is): a slump or a down probe that held on a
                // noisy window would otherwise walk it down a fifth at a time, since a probe
                // down is kept on no gain and one up only on 10 %.
                let floor = START.min(self.cap).min(level);
                if rate < r * SLUMP && latency > l * LATENCY_GROWTH {
                    let lower = (level * 3 / 4).max(floor);
                    (
                        Phase::Settled {
                            level: lower,
                            rate: None,
                            windows: 0,
                            up_next,
                        },
                        lower,
                    )
                } else {
                    let smoothed = (r + SMOOTHING * (rate - r), l + SMOOTHING * (latency - l));
                    let windows = windows + 1;
                    let probe = if up_next {
                        (level + (level / 4).max(1)).min(self.cap)
                    } else {
                        (level - (level / 5).max(1)).max(floor)
                    };
                    if windows >= PROBE_EVERY && probe != level {
                        (
                            Phase::Probing {
                                from: level,
                                rate: smoothed,
                                up: up_next,
                            },
                            probe,
                        )
                    } else {
                        // Nothing to probe that way (at the cap, or at 1): the other way next.
                        let up_next = if windows >= PROBE_EVERY {
                            !up_next
                        } else {
                            up_next
                        };
                        let windows = if windows >= PROBE_EVERY { 0 } else { windows };
                        (
                            Phase::Settled {
                                level,
                                rate: Some(smoothed),
                                windows,
                                up_next,
                            },
                            level,
                        )
                    }
                }
            }
        };
        self.phase = phase;
        self.set(next);
        self.limit
    }

    fn set(&mut self, limit: usize) {
        self.limit = limit.clamp(1, self.cap);
        self.lowest = self.lowest.min(self.limit);
        self.highest = self.highest.max(self.limit);
    }
}

/// `first` doubled per attempt, capped at `max`, with jitter (half to all of it).
pub(super) fn backoff_from(
    first: std::time::Duration,
    max: std::time::Duration,
    attempt: u32,
) -> std::time::Duration {
    let base = first.saturating_mul(1 << attempt.min(10)).min(max);
    // Jitter from the clock's low bits: enough to keep workers from retrying in step.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    base / 2 + base.mul_f64(f64::from(nanos % 1000) / 2000.0)
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
    fn it_doubles_up_to_the_cap_while_throughput_rises() {
        let mut c = Controller::new(64);
        assert_eq!(c.limit(), START);
        let seen = run(&mut c, 1000, 3);
        assert_eq!(seen, [16, 32, 64]);
        // At the cap it stays, but for a probe below now and then, which costs throughput
        // here and is taken back.
        let after = run(&mut c, 1000, 40);
        assert!(after.iter().all(|&l| l <= 64), "{after:?}");
        assert!(
            after.iter().filter(|&&l| l == 64).count() >= 30,
            "{after:?}"
        );
        assert_eq!(*after.last().unwrap(), 64, "{after:?}");
        assert_eq!(c.range().1, 64);
    }

    #[test]
    fn it_starts_at_the_cap_when_the_cap_is_lower_and_never_exceeds_it() {
        let mut c = Controller::new(3);
        assert_eq!(c.limit(), 3);
        let seen = run(&mut c, 1000, 20);
        assert!(seen.iter().all(|&l| l <= 3), "{seen:?}");
        assert_eq!(*seen.last().unwrap(), 3, "{seen:?}");
        let mut one = Controller::new(0);
        assert_eq!(one.limit(), 1);
        assert_eq!(one.throttled(), 1);
        assert!(run(&mut one, 1000, 10).iter().all(|&l| l == 1));
    }

    #[test]
    fn it_climbs_past_sixteen_when_latency_grows_but_throughput_still_rises() {
        // What a 2-core runner beside its S3 server looks like: every copy added makes each
        // one slower, yet up to 32 in flight the server still serves more. The old rule
        // (hold once latency grew by half) stopped at 16.
        let mut c = Controller::new(64);
        let seen: Vec<usize> = (0..30)
            .map(|_| {
                let l = c.limit() as f64;
                // Throughput rises as l^0.6 up to 32, then falls a little; latency by Little.
                let rate = 100.0 * l.min(32.0).powf(0.6) * if l > 32.0 { 0.95 } else { 1.0 };
                let n = c.window_size();
                c.observe(Window {
                    completions: n,
                    seconds: n as f64 / rate,
                    mean_latency: l / rate,
                })
            })
            .collect();
        assert!(c.range().1 >= 32, "{seen:?}");
        let tail = &seen[10..];
        assert!(
            tail.iter().filter(|&&l| (26..=40).contains(&l)).count() >= tail.len() * 3 / 4,
            "it should mostly sit near 32: {seen:?}"
        );
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
    fn one_unlucky_window_does_not_end_the_climb() {
        // A server with room for 1000: the first window at 32 comes in at half its rate (a
        // garbage collection, the listing's page), no better than 16's. Measured once more,
        // 32 pays and the climb goes on to the cap; on one window it stopped at 16.
        let mut c = Controller::new(64);
        let mut seen = Vec::new();
        let mut unlucky = true;
        for _ in 0..6 {
            let n = c.window_size();
            let mut w = serve(c.limit(), 1000, 0.002, n);
            if c.limit() == 32 && unlucky {
                w.seconds *= 2.0;
                unlucky = false;
            }
            seen.push(c.observe(w));
        }
        assert_eq!(seen[..4], [16, 32, 32, 64], "{seen:?}");
        assert_eq!(c.range().1, 64, "{seen:?}");
        // Twice unlucky is the server's answer: it settles below.
        let mut c = Controller::new(64);
        let mut seen = Vec::new();
        for _ in 0..4 {
            let n = c.window_size();
            let mut w = serve(c.limit(), 1000, 0.002, n);
            if c.limit() == 32 {
                w.seconds *= 2.0;
            }
            seen.push(c.observe(w));
        }
        assert_eq!(seen, [16, 32, 32, 16], "{seen:?}");
    }

    #[test]
    fn noisy_windows_neither_starve_it_nor_run_it_to_the_cap() {
        // ±10 % noise on every window's throughput (a fixed pseudo-random sequence), on a
        // server of 24 slots: 300 windows stay near the knee.
        let mut c = Controller::new(256);
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut seen = Vec::new();
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let noise = 0.9 + 0.2 * (x % 1000) as f64 / 1000.0;
            let n = c.window_size();
            let mut w = serve(c.limit(), 24, 0.002, n);
            w.seconds /= noise;
            seen.push(c.observe(w));
        }
        // A lucky window may carry it past the knee (and it comes down only as fast as
        // probes below prove they lose nothing), but never anywhere near the cap, and never
        // starved.
        let tail = &seen[30..];
        assert!(
            tail.iter().all(|&l| (12..=96).contains(&l)),
            "limits: {seen:?}"
        );
        let last = &seen[200..];
        let near = last.iter().filter(|&&l| (18..=40).contains(&l)).count();
        assert!(
            near >= last.len() * 3 / 4,
            "mostly near 24 in the end: {seen:?}"
        );
    }

    #[test]
    fn a_settled_level_whose_throughput_slumps_as_latency_grows_takes_a_quarter_off() {
        let mut c = Controller::new(64);
        // 8, 16, 32, then 64 served no more: settled at 32.
        assert_eq!(run(&mut c, 32, 4), [16, 32, 64, 32]);
        assert_eq!(run(&mut c, 32, 1), [32]);
        // The server slows to a third (another tenant): latency up, throughput down.
        let w = Window {
            completions: 64,
            seconds: 64.0 / (32.0 / 0.002) * 3.0,
            mean_latency: 0.006,
        };
        assert_eq!(c.observe(w), 24);
        // Throughput down alone (latency held: fewer copies to do) is no reason.
        let mut d = Controller::new(64);
        run(&mut d, 32, 5);
        let w = Window {
            completions: 64,
            seconds: 64.0 / (32.0 / 0.002) * 3.0,
            mean_latency: 0.002,
        };
        assert_eq!(d.observe(w), 32);
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
        // After throttling it measures where it is, then climbs back a quarter at a time,
        // not by doubling.
        let seen = run(&mut c, 1000, 5);
        assert_eq!(seen, [4, 4, 5, 5, 6], "{seen:?}");
        for _ in 0..4 {
            c.throttled();
        }
        assert_eq!(c.limit(), 1);
    }

    #[test]
    fn a_probe_that_does_not_pay_is_taken_back() {
        // A server that serves 100 copies/s from 16 in flight up, and less below.
        let mut c = Controller::new(64);
        let at = |c: &mut Controller| {
            let n = c.window_size();
            let rate = 100.0 * c.limit().min(16) as f64 / 16.0;
            c.observe(Window {
                completions: n,
                seconds: n as f64 / rate,
                mean_latency: c.limit() as f64 / rate,
            })
        };
        // Slow start: 8 to 16 paid, 16 to 32 bought nothing in two windows, so back to 16.
        assert_eq!(at(&mut c), 16);
        assert_eq!(at(&mut c), 32);
        assert_eq!(at(&mut c), 32);
        assert_eq!(at(&mut c), 16);
        // Settled at 16: three windows, one a fifth below (13, slower: taken back), three
        // more, one a quarter above (20, no faster: taken back).
        let seen: Vec<usize> = (0..10).map(|_| at(&mut c)).collect();
        assert_eq!(seen, [16, 16, 13, 16, 16, 16, 20, 16, 16, 16]);
    }

    #[test]
    fn a_flat_server_does_not_walk_it_below_the_start() {
        // The same rate at any level: a probe down "loses nothing" and is kept, one up never
        // gains 10 %. Without a floor that walks down a fifth at a time to 1.
        let mut c = Controller::new(64);
        let mut seen = Vec::new();
        for _ in 0..300 {
            let n = c.window_size();
            let limit = c.limit();
            seen.push(c.observe(Window {
                completions: n,
                seconds: n as f64 / 100.0,
                mean_latency: limit as f64 / 100.0,
            }));
        }
        assert!(seen.iter().all(|&l| l >= START), "{seen:?}");
        // Throttling still takes it below, and it stays there until it climbs by probes.
        assert_eq!(c.throttled(), START / 2);
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
