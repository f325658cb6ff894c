//! The per-decision deadline, counted in CPU time of the decision's thread.
//!
//! wasmtime's epoch interruption counts wall-clock ticks. On a busy machine a
//! thread can be descheduled for several milliseconds in the middle of a
//! decision that needs microseconds of CPU, and a pure wall-clock deadline then
//! denies legitimate requests (seen with the default module under a few dozen
//! concurrent uploads on two cores). So the store's epoch deadline is one tick,
//! and at every tick [`DeadlineWatch::expired`] compares the CPU time the
//! thread has used since the first tick with the deadline: a module that is
//! merely waiting for a core keeps running, one that computes is interrupted
//! within one tick of using its budget. A wall-clock cap
//! ([`WALL_CLOCK_FACTOR`] times the deadline) still bounds how long a request
//! can wait on one decision.
//!
//! Decisions that finish within the first tick (all ordinary ones) never reach
//! the watch, so they pay nothing for it.

use std::time::{Duration, Instant};

/// A decision is interrupted once it has been running this many deadlines of
/// wall-clock time, whatever CPU time it used.
pub(crate) const WALL_CLOCK_FACTOR: u32 = 20;

/// The per-decision state behind the epoch callback.
#[derive(Debug)]
pub(crate) struct DeadlineWatch {
    deadline: Duration,
    tick: Duration,
    /// Wall clock and thread CPU time at the first tick.
    first_tick: Option<(Instant, Option<Duration>)>,
}

impl DeadlineWatch {
    pub(crate) fn new(deadline: Duration, tick: Duration) -> Self {
        Self {
            deadline,
            tick,
            first_tick: None,
        }
    }

    /// Called at each epoch tick the decision is still running for: whether
    /// it has used its deadline. The first tick comes up to one tick after the
    /// decision started, so one tick is added to what is measured from there:
    /// a decision is interrupted after using between `deadline - tick` and
    /// `deadline` of CPU time (wall-clock time where the thread's CPU time
    /// cannot be read).
    pub(crate) fn expired(&mut self) -> bool {
        let now = Instant::now();
        let cpu = thread_cpu_time();
        let Some((wall_start, cpu_start)) = self.first_tick else {
            self.first_tick = Some((now, cpu));
            return self.tick >= self.deadline;
        };
        let wall = now.saturating_duration_since(wall_start) + self.tick;
        let used = match (cpu_start, cpu) {
            (Some(start), Some(now)) => now.saturating_sub(start) + self.tick,
            _ => wall,
        };
        used >= self.deadline || wall >= self.deadline * WALL_CLOCK_FACTOR
    }
}

/// CPU time the calling thread has run for (`CLOCK_THREAD_CPUTIME_ID`);
/// `None` where there is no such clock.
///
/// One system call: this runs at most once per tick of a decision, so it must
/// be cheap. (Reading `/proc/thread-self/schedstat` instead cost an open, a
/// read and a close, about as long as a whole decision, paid by the one in a
/// hundred decisions that happen to span a tick.)
#[cfg(unix)]
pub(crate) fn thread_cpu_time() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    let secs = u64::try_from(t.tv_sec).ok()?;
    let nanos = u32::try_from(t.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

#[cfg(not(unix))]
pub(crate) fn thread_cpu_time() -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn reads_this_threads_cpu_time_on_unix() {
        if cfg!(unix) {
            // Spinning makes it advance (however often the test is descheduled).
            let before = thread_cpu_time().expect("the thread CPU clock is readable");
            let spin = Instant::now();
            while thread_cpu_time().expect("the thread CPU clock is readable") - before < 2 * MS {
                assert!(
                    spin.elapsed() < Duration::from_secs(10),
                    "CPU time never advanced"
                );
            }
        }
    }

    #[test]
    fn a_busy_decision_expires_after_its_budget() {
        let mut watch = DeadlineWatch::new(5 * MS, MS);
        assert!(!watch.expired(), "the first tick only starts the count");
        let start = Instant::now();
        loop {
            let spin = Instant::now();
            while spin.elapsed() < MS {}
            if watch.expired() {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "never expired");
        }
        assert!(start.elapsed() >= 3 * MS, "{:?}", start.elapsed());
    }

    #[test]
    fn a_waiting_decision_lives_until_the_wall_clock_cap() {
        let mut watch = DeadlineWatch::new(MS * 2, MS);
        assert!(!watch.expired());
        std::thread::sleep(MS * 5);
        if cfg!(unix) {
            assert!(!watch.expired(), "sleeping used no CPU time");
        }
        std::thread::sleep(MS * 2 * WALL_CLOCK_FACTOR);
        assert!(watch.expired(), "past the wall-clock cap");
    }

    #[test]
    fn a_deadline_of_one_tick_expires_at_the_first_tick() {
        assert!(DeadlineWatch::new(MS, MS).expired());
    }
}
