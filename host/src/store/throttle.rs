//! A byte-rate limit for background work (repair, scrub), changeable while it runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Spaces out work so that it moves at most `rate` bytes per second on average: each
/// [`RateLimiter::acquire`] books the time its bytes take at that rate after the previous
/// booking, and waits until its slot begins.
#[derive(Debug)]
pub struct RateLimiter {
    bytes_per_sec: AtomicU64,
    next_slot: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limit of `bytes_per_sec` (0: unlimited).
    pub fn new(bytes_per_sec: u64) -> Self {
        RateLimiter {
            bytes_per_sec: AtomicU64::new(bytes_per_sec),
            next_slot: Mutex::new(None),
        }
    }

    /// A limit in MiB/s (0: unlimited).
    pub fn mib(mib_per_sec: u64) -> Self {
        Self::new(mib_per_sec.saturating_mul(1 << 20))
    }

    /// Changes the limit; takes effect with the next booking.
    pub fn set_mib(&self, mib_per_sec: u64) {
        self.set_bytes_per_sec(mib_per_sec.saturating_mul(1 << 20));
    }

    /// Changes the limit to `bytes_per_sec` (0: unlimited).
    pub fn set_bytes_per_sec(&self, bytes_per_sec: u64) {
        self.bytes_per_sec.store(bytes_per_sec, Ordering::Relaxed);
    }

    /// The limit, bytes per second (0: unlimited).
    pub fn bytes_per_sec(&self) -> u64 {
        self.bytes_per_sec.load(Ordering::Relaxed)
    }

    /// Waits until `bytes` more may move.
    pub async fn acquire(&self, bytes: u64) {
        let wait = self.book(bytes, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Books `bytes` at `now` and returns how long to wait for the slot.
    fn book(&self, bytes: u64, now: Instant) -> Duration {
        let rate = self.bytes_per_sec();
        let Ok(mut next) = self.next_slot.lock() else {
            return Duration::ZERO;
        };
        if rate == 0 {
            *next = None;
            return Duration::ZERO;
        }
        let start = next.map_or(now, |n| n.max(now));
        *next = Some(start + Duration::from_secs_f64(bytes as f64 / rate as f64));
        start - now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookings_follow_the_rate() {
        let limiter = RateLimiter::new(1000);
        let t0 = Instant::now();
        assert_eq!(limiter.book(500, t0), Duration::ZERO);
        assert_eq!(limiter.book(500, t0), Duration::from_millis(500));
        assert_eq!(limiter.book(1000, t0), Duration::from_secs(1));
        // Idle time is not saved up.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(limiter.book(100, later), Duration::ZERO);
    }

    #[test]
    fn zero_is_unlimited_and_the_rate_can_change() {
        let limiter = RateLimiter::mib(0);
        let t0 = Instant::now();
        assert_eq!(limiter.book(u64::MAX / 2, t0), Duration::ZERO);
        limiter.set_mib(1);
        assert_eq!(limiter.book(1 << 20, t0), Duration::ZERO);
        assert_eq!(limiter.book(1 << 19, t0), Duration::from_secs(1));
    }
}
