//! Quarantine for modules that keep running out of time.
//!
//! Decisions run on the server's request threads, so a module that spins
//! until its deadline holds a thread for the whole deadline (10 ms of CPU by
//! default) on every request it decides. Failing each such request closed is
//! not enough: a stream of requests to one bucket would keep every thread busy
//! and slow down every other bucket. So a module that hits its deadline
//! [`Quarantine::STRIKES`] times within [`Quarantine::WINDOW`] is quarantined:
//! for a cool-down its decisions fail closed at once, without running it. The
//! cool-down starts at [`Quarantine::FIRST_COOL_DOWN`] and doubles each time
//! the module is quarantined again without answering in between, up to
//! [`Quarantine::MAX_COOL_DOWN`]; one answered decision resets it. (A circuit
//! breaker, in the usual terms: after a cool-down, the next decision is the
//! trial.)
//!
//! Only deadlines count: traps and memory-limit failures end quickly and cost
//! no more than a decision. Loading a new version of a module (`policy put`)
//! gives it a fresh record.
//!
//! The check on every decision is one relaxed atomic load; the lock is only
//! taken when a decision hits its deadline.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One module's record of deadline failures.
#[derive(Debug)]
pub(crate) struct Quarantine {
    /// What times are measured from.
    base: Instant,
    /// End of the current cool-down in nanoseconds after `base`; 0 if the
    /// module is not quarantined.
    until: AtomicU64,
    /// Whether the module has been quarantined since it last answered.
    tripped: AtomicBool,
    strikes: Mutex<Strikes>,
}

#[derive(Debug, Default)]
struct Strikes {
    /// Deadline failures in the current window.
    count: u32,
    /// When the first of them happened.
    window_start: Option<Instant>,
    /// The cool-down the next quarantine gets.
    next_cool_down: Option<Duration>,
}

impl Default for Quarantine {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            until: AtomicU64::new(0),
            tripped: AtomicBool::new(false),
            strikes: Mutex::new(Strikes::default()),
        }
    }
}

impl Quarantine {
    /// Deadline failures within [`Quarantine::WINDOW`] that quarantine a module.
    pub(crate) const STRIKES: u32 = 3;
    /// The window the strikes are counted in.
    pub(crate) const WINDOW: Duration = Duration::from_secs(10);
    /// The first cool-down.
    pub(crate) const FIRST_COOL_DOWN: Duration = Duration::from_secs(1);
    /// The longest cool-down.
    pub(crate) const MAX_COOL_DOWN: Duration = Duration::from_secs(64);

    /// If the module is quarantined at `now`, how much longer.
    pub(crate) fn remaining(&self, now: Instant) -> Option<Duration> {
        let until = self.until.load(Ordering::Relaxed);
        if until == 0 {
            return None;
        }
        let until = self.base + Duration::from_nanos(until);
        until.checked_duration_since(now).filter(|d| !d.is_zero())
    }

    /// Records an answered decision: the module's next quarantine, if any,
    /// starts again from the first cool-down.
    pub(crate) fn answered(&self) {
        if self.tripped.load(Ordering::Relaxed) {
            self.tripped.store(false, Ordering::Relaxed);
            if let Ok(mut strikes) = self.strikes.lock() {
                strikes.next_cool_down = None;
            }
        }
    }

    /// Records a decision that hit its deadline at `now`. Returns the
    /// cool-down if this strike quarantined the module.
    pub(crate) fn deadline_hit(&self, now: Instant) -> Option<Duration> {
        // A poisoned lock only means another thread panicked while counting;
        // the counts are still usable.
        let mut strikes = self
            .strikes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match strikes.window_start {
            Some(start) if now.saturating_duration_since(start) < Self::WINDOW => {
                strikes.count += 1;
            }
            _ => {
                strikes.window_start = Some(now);
                strikes.count = 1;
            }
        }
        if strikes.count < Self::STRIKES {
            return None;
        }
        let cool_down = strikes.next_cool_down.unwrap_or(Self::FIRST_COOL_DOWN);
        strikes.next_cool_down = Some((cool_down * 2).min(Self::MAX_COOL_DOWN));
        strikes.count = 0;
        strikes.window_start = None;
        let until = now.saturating_duration_since(self.base) + cool_down;
        let nanos = u64::try_from(until.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.until.store(nanos, Ordering::Relaxed);
        self.tripped.store(true, Ordering::Relaxed);
        Some(cool_down)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn three_strikes_within_the_window_quarantine() {
        let q = Quarantine::default();
        let t0 = Instant::now();
        assert_eq!(q.deadline_hit(t0), None);
        assert_eq!(q.deadline_hit(t0 + S), None);
        assert_eq!(q.remaining(t0 + S), None);
        assert_eq!(
            q.deadline_hit(t0 + 2 * S),
            Some(Quarantine::FIRST_COOL_DOWN)
        );
        let left = q.remaining(t0 + 2 * S).expect("quarantined");
        assert!(left <= Quarantine::FIRST_COOL_DOWN && !left.is_zero());
        assert_eq!(q.remaining(t0 + 2 * S + Quarantine::FIRST_COOL_DOWN), None);
    }

    #[test]
    fn strikes_outside_the_window_do_not_add_up() {
        let q = Quarantine::default();
        let t0 = Instant::now();
        for i in 0..10 {
            // One strike per window: they never add up to a quarantine.
            assert_eq!(q.deadline_hit(t0 + i * Quarantine::WINDOW), None, "{i}");
        }
        assert_eq!(q.remaining(t0 + 10 * Quarantine::WINDOW), None);
    }

    #[test]
    fn repeated_quarantines_double_the_cool_down_until_an_answer() {
        let q = Quarantine::default();
        let mut now = Instant::now();
        let trip = |now: &mut Instant| {
            let mut last = None;
            for _ in 0..Quarantine::STRIKES {
                last = q.deadline_hit(*now);
            }
            let cool_down = last.expect("quarantined");
            *now += cool_down;
            cool_down
        };
        assert_eq!(trip(&mut now), S);
        assert_eq!(trip(&mut now), 2 * S);
        assert_eq!(trip(&mut now), 4 * S);
        for _ in 0..10 {
            trip(&mut now);
        }
        assert_eq!(trip(&mut now), Quarantine::MAX_COOL_DOWN);
        q.answered();
        assert_eq!(trip(&mut now), S, "an answer resets the cool-down");
    }
}
