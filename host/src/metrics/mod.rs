//! Request and database metrics, and the text `/metrics` shows them in.
//!
//! - [`s3`]: every S3 request by operation: count by status, errors by S3 code, time to
//!   response headers, body bytes received and sent, requests in flight.
//! - [`db`]: the PostgreSQL pool (connections open, idle, in use, the cap), the time taken to
//!   acquire a connection, and statement latency.
//!
//! Both are process-wide: the counters are statics of atomics, so the request path updates
//! them without a lock or a map lookup and without handing state around (a request body or
//! a tracing event has no `AppState`). Policy decisions and storage keep their own
//! counters beside the code they count (`policy::metrics`, `store::blob`); the admin
//! listener's `/metrics` (`http::admin`) appends every renderer's text. The full list of
//! series is in `docs/metrics.md`.
//!
//! Labels come from fixed sets only (operation names from the router, status codes, S3
//! error codes, statement kinds): never a bucket name, key or principal, so the number of
//! series stays bounded whatever clients send.

pub mod db;
pub mod s3;

use sqlx::PgPool;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Appends the request and database metrics in the Prometheus text format (0.0.4).
pub fn render(pool: &PgPool, out: &mut String) {
    s3::render(out);
    db::render(pool, out);
}

/// A latency histogram with fixed buckets: `BOUNDS` are the upper bounds in seconds, the
/// last one `f64::INFINITY`. Counts are per bucket (made cumulative when rendered), so an
/// observation is two relaxed atomic additions.
struct Histogram<const N: usize> {
    bounds: &'static [f64; N],
    counts: [AtomicU64; N],
    sum_nanos: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    const fn new(bounds: &'static [f64; N]) -> Self {
        Self {
            bounds,
            counts: [const { AtomicU64::new(0) }; N],
            sum_nanos: AtomicU64::new(0),
        }
    }

    fn observe(&self, elapsed: Duration) {
        self.observe_secs(elapsed.as_secs_f64());
    }

    fn observe_secs(&self, secs: f64) {
        // A NaN (never sent by sqlx or `Instant`) lands in the `+Inf` bucket rather than
        // being lost.
        let i = self
            .bounds
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(N - 1);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        // `as` saturates: a NaN counts as 0 ns, an absurd duration as u64::MAX.
        self.sum_nanos
            .fetch_add((secs * 1e9) as u64, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Appends the `_bucket`, `_sum` and `_count` samples of `name` with `labels` (e.g.
    /// `op="GetObject"`, or empty).
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (le, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let le = if le.is_infinite() {
                "+Inf".to_owned()
            } else {
                le.to_string()
            };
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braced = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braced} {sum}");
        let _ = writeln!(out, "{name}_count{braced} {cumulative}");
    }
}

/// Appends the `# HELP` and `# TYPE` lines of a metric.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    static BOUNDS: [f64; 3] = [0.001, 0.01, f64::INFINITY];

    #[test]
    fn histogram_renders_cumulative_buckets() {
        let h = Histogram::new(&BOUNDS);
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_secs(3));
        h.observe_secs(f64::NAN);
        let mut out = String::new();
        h.render(&mut out, "t_seconds", "op=\"X\"");
        let expected = "t_seconds_bucket{op=\"X\",le=\"0.001\"} 1\n\
                        t_seconds_bucket{op=\"X\",le=\"0.01\"} 2\n\
                        t_seconds_bucket{op=\"X\",le=\"+Inf\"} 4\n\
                        t_seconds_sum{op=\"X\"} 3.0055\n\
                        t_seconds_count{op=\"X\"} 4\n";
        assert_eq!(out, expected);
        let mut bare = String::new();
        h.render(&mut bare, "t", "");
        assert!(bare.contains("t_bucket{le=\"+Inf\"} 4\n"), "{bare}");
        assert!(bare.contains("t_count 4\n"), "{bare}");
    }
}
