//! Request and database metrics, and the text `/metrics` shows them in.
//!
//! - `s3::metrics` (beside the S3 API it observes): every S3 request by operation: count
//!   by status, errors by S3 code, time to response headers, body bytes received and sent,
//!   requests in flight.
//! - [`db`]: the PostgreSQL pool (connections open, idle, in use, the cap), the time taken to
//!   acquire a connection, and statement latency.
//!
//! Both are process-wide: the counters are statics of atomics, so the request path updates
//! them without a lock or a map lookup and without handing state around (a request body or
//! a tracing event has no `AppState`). Policy decisions and storage keep their own
//! counters beside the code they count (`policy::metrics`, `store::blob`); the admin
//! listener's `/metrics` (`front::admin`) appends every renderer's text. The full list of
//! series is in `docs/metrics.md`.
//!
//! Labels come from fixed sets only (operation names from the router, status codes, S3
//! error codes, statement kinds): never a bucket name, key or principal, so the number of
//! series stays bounded whatever clients send.

pub mod db;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A latency histogram with fixed buckets: `BOUNDS` are the upper bounds in seconds, the
/// last one `f64::INFINITY`. Counts are per bucket (made cumulative when rendered), so an
/// observation is two relaxed atomic additions.
pub(crate) struct Histogram<const N: usize> {
    bounds: &'static [f64; N],
    counts: [AtomicU64; N],
    sum_nanos: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    pub(crate) const fn new(bounds: &'static [f64; N]) -> Self {
        Self {
            bounds,
            counts: [const { AtomicU64::new(0) }; N],
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub(crate) fn observe(&self, elapsed: Duration) {
        self.observe_secs(elapsed.as_secs_f64());
    }

    pub(crate) fn observe_secs(&self, secs: f64) {
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

    pub(crate) fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Appends the `_bucket`, `_sum` and `_count` samples of `name` with `labels` (e.g.
    /// `op="GetObject"`, or empty).
    pub(crate) fn render(&self, out: &mut String, name: &str, labels: &str) {
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
pub(crate) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

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

    /// What the metrics add per request and per SQL statement, in a tight loop (release:
    /// `cargo test --release -p coffer --lib metrics::tests::cost -- --ignored --nocapture`).
    /// Batches of the variants alternate, and the median batch is reported, so that the
    /// drift of a shared VM cancels out.
    #[test]
    #[ignore]
    fn cost() {
        use crate::http::body::full;
        use crate::s3::router::Operation;
        use http_body_util::BodyExt;

        const BATCHES: usize = 300;
        const PER_BATCH: u32 = 2000;
        let median_ns = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let body = bytes::Bytes::from(vec![7u8; 4096]);

        // A request: build a 4 KiB response and send its body, without and with tracking.
        let (mut plain, mut tracked) = (Vec::new(), Vec::new());
        for _ in 0..BATCHES {
            for (times, track) in [(&mut plain, false), (&mut tracked, true)] {
                let start = Instant::now();
                runtime.block_on(async {
                    for _ in 0..PER_BATCH {
                        let respond = async { http::Response::new(full(body.clone())) };
                        let response = if track {
                            crate::s3::metrics::track(async {
                                crate::s3::metrics::routed(Operation::GetObject);
                                respond.await
                            })
                            .await
                        } else {
                            respond.await
                        };
                        let sent = response.into_body().collect().await;
                        std::hint::black_box(sent.ok());
                    }
                });
                times.push(start.elapsed().as_nanos() as f64 / f64::from(PER_BATCH));
            }
        }
        let (plain, tracked) = (median_ns(plain), median_ns(tracked));
        println!(
            "request: {plain:.0} ns plain, {tracked:.0} ns tracked: +{:.0} ns",
            tracked - plain
        );

        // A statement as sqlx 0.8 reports it (`QueryLogger::finish`), preceded by the
        // pool's acquire event, under the log's subscriber wrapped as `coffer serve` runs
        // it; the log's filter wants neither.
        let sql = format!(
            "SELECT o.id, o.size, o.etag FROM objects o {} WHERE o.bucket_id = $1 AND o.key = $2",
            "JOIN chunks c ON c.id = o.chunk_id ".repeat(16)
        );
        let statement = || {
            let elapsed = Instant::now().elapsed();
            if tracing::enabled!(target: "sqlx::query", tracing::Level::DEBUG) {
                let mut summary: String =
                    sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
                summary.push_str(" …");
                let text = format!("\n\n{sql}\n");
                tracing::debug!(target: "sqlx::query", summary, db.statement = text,
                    rows_affected = 0u64, rows_returned = 1u64, ?elapsed,
                    elapsed_secs = elapsed.as_secs_f64());
            }
        };
        let log = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,sqlx=warn"))
            .with_writer(std::io::sink)
            .finish();
        let wrapped = db::tests::wrap(log);
        let mut times = Vec::new();
        tracing::subscriber::with_default(wrapped, || {
            for _ in 0..BATCHES {
                let start = Instant::now();
                for _ in 0..PER_BATCH {
                    tracing::trace!(target: "sqlx::pool::acquire",
                        aquired_after_secs = 0.00001, "acquired connection");
                    statement();
                }
                times.push(start.elapsed().as_nanos() as f64 / f64::from(PER_BATCH));
            }
        });
        println!(
            "statement ({} bytes of SQL) with its acquire: {:.0} ns, one in {} timed",
            sql.len(),
            median_ns(times),
            db::QUERY_SAMPLE
        );
    }
}
