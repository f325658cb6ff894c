//! The epoch ticker: advances the engine's epoch every tick while decisions
//! run (the deadline of `policy::deadline` is checked at each tick), and
//! parks when none has run for [`IDLE_AFTER`].
//!
//! Waking a thousand times a second costs an idle server a few percent of a
//! core (about 4% on a two-core VM, measured with `/proc/PID/stat`), for
//! nothing: only a running decision needs the epoch to move. So every call
//! into a module is bracketed by [`Ticker::begin`] and the guard it returns;
//! with no decision running or started for [`IDLE_AFTER`] the thread parks,
//! and the next `begin` unparks it (one system call per idle period, none
//! while the server is busy). A decision that starts while the ticker is
//! parked gets its first tick one tick after the unpark, as usual.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use wasmtime::Engine;

/// With no decision for this long the ticker parks.
pub(crate) const IDLE_AFTER: Duration = Duration::from_millis(200);

/// Owns the ticker thread: dropping it stops the thread.
pub(crate) struct Ticker {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

/// What decisions and the thread share.
struct Shared {
    engine: Engine,
    tick: Duration,
    /// Decisions ever started, and running now: the thread parks only when
    /// neither has changed for [`IDLE_AFTER`].
    started: AtomicU64,
    running: AtomicUsize,
    parked: AtomicBool,
    stop: AtomicBool,
    thread: OnceLock<Thread>,
    /// Times the thread parked (for tests).
    parks: AtomicU64,
}

/// Marks a decision as running while it lives.
pub(crate) struct Running<'a>(&'a Shared);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Ticker {
    /// Starts the thread, ticking every `tick`.
    pub(crate) fn start(engine: Engine, tick: Duration) -> std::io::Result<Ticker> {
        let shared = Arc::new(Shared {
            engine,
            tick,
            started: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            thread: OnceLock::new(),
            parks: AtomicU64::new(0),
        });
        let worker = shared.clone();
        let handle = std::thread::Builder::new()
            .name("coffer-policy-epoch".into())
            .spawn(move || worker.run())?;
        let _ = shared.thread.set(handle.thread().clone());
        Ok(Ticker {
            shared,
            handle: Some(handle),
        })
    }

    /// Called before running guest code (a decision, or instantiation at
    /// load): keeps the epoch moving until the guard is dropped, waking the
    /// thread if it is parked.
    pub(crate) fn begin(&self) -> Running<'_> {
        let shared = &*self.shared;
        shared.started.fetch_add(1, Ordering::SeqCst);
        shared.running.fetch_add(1, Ordering::SeqCst);
        if shared.parked.load(Ordering::SeqCst)
            && shared.parked.swap(false, Ordering::SeqCst)
            && let Some(thread) = shared.thread.get()
        {
            thread.unpark();
        }
        Running(shared)
    }

    /// How often the thread has parked so far.
    #[cfg(test)]
    pub(crate) fn parks(&self) -> u64 {
        self.shared.parks.load(Ordering::SeqCst)
    }
}

impl Shared {
    fn run(&self) {
        let idle_ticks = idle_ticks(self.tick);
        let mut seen = self.started.load(Ordering::SeqCst);
        let mut idle = 0;
        while !self.stop.load(Ordering::SeqCst) {
            std::thread::sleep(self.tick);
            self.engine.increment_epoch();
            let started = self.started.load(Ordering::SeqCst);
            if started != seen || self.running.load(Ordering::SeqCst) > 0 {
                seen = started;
                idle = 0;
                continue;
            }
            idle += 1;
            if idle >= idle_ticks {
                idle = 0;
                self.park(seen);
            }
        }
    }

    /// Parks until a decision starts (or the engine stops), unless one has
    /// started since `seen` or is running. The handshake is sequentially
    /// consistent: either `begin` sees `parked` and unparks, or this sees
    /// `begin`'s count and does not park.
    fn park(&self, seen: u64) {
        self.parked.store(true, Ordering::SeqCst);
        if self.started.load(Ordering::SeqCst) != seen || self.running.load(Ordering::SeqCst) > 0 {
            self.parked.store(false, Ordering::SeqCst);
            return;
        }
        self.parks.fetch_add(1, Ordering::SeqCst);
        while self.parked.load(Ordering::SeqCst) && !self.stop.load(Ordering::SeqCst) {
            std::thread::park();
        }
    }
}

/// Whole ticks in [`IDLE_AFTER`] (at least one).
fn idle_ticks(tick: Duration) -> u32 {
    let n = IDLE_AFTER.as_nanos() / tick.as_nanos().max(1);
    u32::try_from(n).unwrap_or(u32::MAX).max(1)
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.take() {
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        Engine::new(&config).expect("engine")
    }

    /// Waits up to 10 s for `cond`.
    fn eventually(cond: impl Fn() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if cond() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn idle_ticks_are_whole_and_never_zero() {
        assert_eq!(idle_ticks(Duration::from_millis(1)), 200);
        assert_eq!(idle_ticks(Duration::from_secs(1)), 1);
    }

    #[test]
    fn parks_when_idle_and_ticks_again_for_a_decision() {
        let ticker = Ticker::start(engine(), Duration::from_millis(1)).expect("starts");
        assert!(eventually(|| ticker.parks() == 1), "never parked");
        // Parked: no wake-ups while nothing runs.
        std::thread::sleep(IDLE_AFTER * 2);
        assert_eq!(ticker.parks(), 1);
        // A long decision keeps it ticking, however long it runs.
        let running = ticker.begin();
        std::thread::sleep(IDLE_AFTER * 2);
        assert_eq!(ticker.parks(), 1, "parked under a running decision");
        drop(running);
        assert!(eventually(|| ticker.parks() == 2), "never parked again");
    }

    #[test]
    fn a_parked_ticker_moves_the_epoch_for_the_next_decision() {
        // A store whose deadline is the next tick: it runs out only if the
        // parked ticker wakes up.
        let engine = engine();
        let ticker = Ticker::start(engine.clone(), Duration::from_millis(1)).expect("starts");
        assert!(eventually(|| ticker.parks() >= 1), "never parked");
        let module =
            wasmtime::Module::new(&engine, "(module (func (export \"spin\") (loop (br 0))))")
                .expect("compiles");
        let mut store = wasmtime::Store::new(&engine, ());
        store.set_epoch_deadline(1);
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instantiates");
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .expect("exported");
        let _running = ticker.begin();
        let err = spin.call(&mut store, ()).expect_err("interrupted");
        assert_eq!(
            err.downcast_ref::<wasmtime::Trap>(),
            Some(&wasmtime::Trap::Interrupt)
        );
    }
}
