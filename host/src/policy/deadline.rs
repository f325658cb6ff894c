//! The per-decision deadline, counted in CPU time of the decision's thread.
//!
//! wasmtime's epoch interruption counts wall-clock ticks. On a busy machine a
//! thread can be descheduled for several milliseconds in the middle of a
//! decision that needs microseconds of CPU, and a pure wall-clock deadline then
//! denies legitimate requests (seen with the default module under a few dozen
//! concurrent uploads on two cores). So the store's epoch deadline is one tick,
//! and at every tick [`DeadlineWatch::expired`] compares the CPU time the
//! decision has used with the deadline: a module that is merely waiting for a
//! core keeps running, one that computes is interrupted within one tick of
//! using its budget. A wall-clock cap ([`WALL_CLOCK_FACTOR`]
//! times the deadline) still bounds how long a request can wait on one
//! decision.
//!
//! The thread's CPU clock is first read at the decision's first tick (a
//! system call, too dear to pay on every decision). What ran before that tick
//! is counted as the wall-clock time since the decision started, but never as
//! more than one tick: guest code notices a tick as soon as it comes, so a
//! first tick noticed later means the thread was waiting for a core (or in the
//! host's own code), and a busy machine must not turn that wait into CPU time
//! (counting the whole wait failed one GET in 69,000 with `deadline` under 32
//! clients on two cores). A decision is therefore interrupted after using
//! between `deadline - tick` (when its thread waited a whole tick before its
//! first) and `deadline + tick` of CPU time. The tick is half the deadline:
//! ticking often made the decisions a tick lands in slower (the ticker
//! thread's wake-up competes with them), and with a 2 ms tick those were 0.8%
//! of 16 µs decisions, enough to move the p99.
//!
//! Decisions that finish within the first tick (all ordinary ones) never reach
//! the watch, so they pay nothing for it but reading the clock at the start.

use std::time::{Duration, Instant};

/// A decision is interrupted once it has been running this many deadlines of
/// wall-clock time, whatever CPU time it used.
pub(crate) const WALL_CLOCK_FACTOR: u32 = 20;

/// The per-decision state behind the epoch callback.
#[derive(Debug)]
pub(crate) struct DeadlineWatch {
    deadline: Duration,
    tick: Duration,
    /// When the decision started (the watch is made with its store).
    started: Instant,
    /// The time counted for what ran before the first tick (see the module
    /// docs), and the thread's CPU time at that tick.
    first_tick: Option<(Duration, Option<Duration>)>,
}

impl DeadlineWatch {
    /// The watch of a decision starting now, under an epoch ticking every
    /// `tick`.
    pub(crate) fn new(deadline: Duration, tick: Duration) -> Self {
        Self {
            deadline,
            tick,
            started: Instant::now(),
            first_tick: None,
        }
    }

    /// Called at each epoch tick the decision is still running for: whether
    /// it has used its deadline (see the module docs for how it is counted;
    /// wall-clock time where the thread's CPU time cannot be read).
    pub(crate) fn expired(&mut self) -> bool {
        let wall = self.started.elapsed();
        let cpu = thread_cpu_time();
        let Some((before_first, cpu_at_first)) = self.first_tick else {
            let before_first = wall.min(self.tick);
            self.first_tick = Some((before_first, cpu));
            return before_first >= self.deadline;
        };
        let used = match (cpu_at_first, cpu) {
            (Some(first), Some(now)) => before_first + now.saturating_sub(first),
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

    /// Spins for `d` of wall-clock time.
    fn spin(d: Duration) {
        let start = Instant::now();
        while start.elapsed() < d {}
    }

    /// Spins until this thread has used `d` more of CPU time (of wall-clock
    /// time where there is no thread CPU clock), however busy the machine.
    fn spin_cpu(d: Duration) {
        let Some(start) = thread_cpu_time() else {
            return spin(d);
        };
        let began = Instant::now();
        while thread_cpu_time().is_some_and(|now| now.saturating_sub(start) < d) {
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "CPU time never advanced"
            );
        }
    }

    #[test]
    fn a_busy_decision_expires_once_it_has_used_its_budget() {
        let cpu_start = thread_cpu_time();
        let start = Instant::now();
        let mut watch = DeadlineWatch::new(5 * MS, MS);
        loop {
            spin(MS);
            if watch.expired() {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "never expired");
        }
        let used = thread_cpu_time()
            .zip(cpu_start)
            .map_or(start.elapsed(), |(end, begin)| end.saturating_sub(begin));
        // At least the deadline less the tick counted for the time before the first.
        assert!(used >= 4 * MS, "interrupted after {used:?} of CPU");
    }

    #[test]
    fn what_ran_before_the_first_tick_counts_up_to_a_tick() {
        let mut watch = DeadlineWatch::new(2 * MS, MS);
        spin(3 * MS);
        assert!(!watch.expired(), "counted as one tick, not three");
        spin_cpu(MS + MS / 2);
        assert!(watch.expired(), "one tick and 1.5 ms used the 2 ms");
    }

    #[test]
    fn waiting_for_a_core_before_the_first_tick_is_not_charged() {
        // A decision whose thread is descheduled as it starts sees its first
        // tick late; the wait is not CPU time (this failed legitimate GETs).
        let mut watch = DeadlineWatch::new(2 * MS, MS);
        std::thread::sleep(5 * MS);
        assert!(!watch.expired());
        if cfg!(unix) {
            assert!(!watch.expired(), "only a tick counted for the wait");
        }
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
}
