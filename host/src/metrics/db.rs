//! PostgreSQL metrics: the pool's connections, the time taken to acquire one, and the
//! latency of SQL statements.
//!
//! The pool's gauges are read from the pool when `/metrics` is rendered. The two
//! histograms come from the tracing events sqlx emits: `sqlx::pool::acquire` once per
//! acquired connection (with the seconds it took, waiting included) when the pool is built
//! with `acquire_time_level` ([`ACQUIRE_LEVEL`]), and `sqlx::query` once per statement
//! (with `elapsed_secs`, measured by sqlx from sending the statement until its results are
//! read). Timing at the call sites instead would mean wrapping every store function (they
//! take any executor: pool, connection or transaction), and would miss the statements sqlx
//! issues itself (`COMMIT`).
//!
//! Why a [`Subscriber`] wrapper ([`install`]) and not a `Layer` with a filter of its own:
//! a per-layer filter makes every span enter and exit in the process look the span up once
//! per filtered layer, which cost about 2% of the server's CPU on small GETs; the wrapper
//! leaves the log's subscriber (fmt with its `RUST_LOG` filter) exactly as it was and only
//! answers for sqlx's two event sites.
//!
//! Why statements are sampled: when its event is enabled, sqlx copies the whole SQL text
//! and builds a summary before emitting it; timing every statement that way cost about 3%
//! of the server's CPU on 4 KiB GETs (profiled with `perf`). So one statement in
//! [`QUERY_SAMPLE`] (counted per thread) is timed; the others are declined before sqlx
//! builds anything. The sample spreads over all statements, so its distribution is theirs;
//! the histogram's `_count` is a [`QUERY_SAMPLE`]th of their number. Acquire events carry
//! no text and are all counted. See `docs/metrics.md` for what the metrics cost `coffer
//! bench`. The events are process-wide: every pool and connection the process opens is
//! counted.

use sqlx::PgPool;
use std::cell::Cell;
use std::fmt::Write as _;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span;
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};

use super::{Histogram, header};

/// The level the pool is told to emit its acquire events at (`PoolOptions::
/// acquire_time_level`): trace, so that a `RUST_LOG=debug` log does not get a line per
/// acquire.
pub const ACQUIRE_LEVEL: log::LevelFilter = log::LevelFilter::Trace;

/// One statement in this many is timed (see the module docs).
pub const QUERY_SAMPLE: u32 = 16;

/// sqlx's event targets.
const QUERY_TARGET: &str = "sqlx::query";
const ACQUIRE_TARGET: &str = "sqlx::pool::acquire";

/// Upper bounds of the statement-latency buckets, in seconds: a primary-key lookup on a
/// local PostgreSQL takes about 100 µs, a synchronous commit to a standby milliseconds.
#[rustfmt::skip]
static QUERY_BOUNDS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0, f64::INFINITY,
];

/// Upper bounds of the acquire-time buckets, in seconds: taking an idle connection costs
/// microseconds; waiting for one, or opening one, milliseconds and more.
#[rustfmt::skip]
static ACQUIRE_BOUNDS: [f64; 17] = [
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 1.0, 10.0, f64::INFINITY,
];

/// The `statement` label: the statement's first keyword, from this fixed set, else `other`
/// (migrations, `SET`, savepoints). sqlx sends `BEGIN` in one round trip with the
/// transaction's first statement and emits no event for it, so it has no label.
const STATEMENTS: [&str; 8] = [
    "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "COMMIT", "ROLLBACK", "other",
];

static QUERIES: [Histogram<{ QUERY_BOUNDS.len() }>; STATEMENTS.len()] =
    [const { Histogram::new(&QUERY_BOUNDS) }; STATEMENTS.len()];
static ACQUIRE: Histogram<{ ACQUIRE_BOUNDS.len() }> = Histogram::new(&ACQUIRE_BOUNDS);

/// Installs `log` (the process's log subscriber) as the global tracing subscriber, wrapped
/// so that sqlx's events also feed the histograms; then gives the `log` crate back the
/// maximum level `log` itself wants (the wrapper's own hint is `TRACE`, for sqlx's acquire
/// events, and would otherwise make every `log::debug!` in a dependency ask the subscriber).
pub fn install<S>(log: S) -> Result<(), tracing_subscriber::util::TryInitError>
where
    S: Subscriber + Send + Sync + 'static,
{
    use tracing_subscriber::util::SubscriberInitExt as _;
    let log_level = log.max_level_hint().unwrap_or(LevelFilter::TRACE);
    SqlxTimings { inner: log }.try_init()?;
    log::set_max_level(match log_level.into_level() {
        None => log::LevelFilter::Off,
        Some(tracing::Level::ERROR) => log::LevelFilter::Error,
        Some(tracing::Level::WARN) => log::LevelFilter::Warn,
        Some(tracing::Level::INFO) => log::LevelFilter::Info,
        Some(tracing::Level::DEBUG) => log::LevelFilter::Debug,
        Some(tracing::Level::TRACE) => log::LevelFilter::Trace,
    });
    Ok(())
}

/// The wrapper [`install`] puts around the log's subscriber: everything goes to `inner`
/// as before, except that sqlx's event sites are enabled for this wrapper too.
///
/// It does not forward `downcast_raw` (that needs `unsafe`, which this crate forbids):
/// nothing in Coffer looks up the global subscriber's type.
struct SqlxTimings<S> {
    inner: S,
}

/// Which of sqlx's event sites `meta` is. Records that the `log` crate sends through
/// `tracing-log` carry a `log.target` field and are left to `inner`.
fn site(meta: &Metadata<'_>) -> Option<&'static str> {
    let target = match meta.target() {
        QUERY_TARGET => QUERY_TARGET,
        ACQUIRE_TARGET => ACQUIRE_TARGET,
        _ => return None,
    };
    meta.fields()
        .field("log.target")
        .is_none()
        .then_some(target)
}

thread_local! {
    /// Statements seen on this thread since the last one timed.
    static SINCE_SAMPLE: Cell<u32> = const { Cell::new(0) };
    /// The answer given for the statement being reported on this thread, until its event
    /// arrives: `Some(true)` if it is timed. sqlx asks twice per statement (`enabled!`,
    /// then the `event!` itself), synchronously on one thread; both get one answer.
    static PENDING: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Whether the statement sqlx is asking about is enabled: timed (one in [`QUERY_SAMPLE`]),
/// or wanted by the log (`log_wants`).
fn statement_enabled(log_wants: impl FnOnce() -> bool) -> bool {
    if PENDING.get().is_some() {
        return true;
    }
    let seen = SINCE_SAMPLE.get();
    SINCE_SAMPLE.set((seen + 1) % QUERY_SAMPLE);
    let timed = seen == 0;
    let enabled = timed || log_wants();
    if enabled {
        PENDING.set(Some(timed));
    }
    enabled
}

impl<S: Subscriber> Subscriber for SqlxTimings<S> {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        let inner = self.inner.register_callsite(meta);
        match site(meta) {
            // Asked per statement, so that most are declined before sqlx formats them.
            Some(QUERY_TARGET) => Interest::sometimes(),
            Some(_) => Interest::always(),
            None => inner,
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        match site(meta) {
            Some(QUERY_TARGET) => statement_enabled(|| self.inner.enabled(meta)),
            Some(_) => true,
            None => self.inner.enabled(meta),
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // sqlx's events are at DEBUG (statements) and TRACE (acquires, `ACQUIRE_LEVEL`).
        Some(LevelFilter::TRACE)
    }

    fn event_enabled(&self, event: &Event<'_>) -> bool {
        site(event.metadata()).is_some() || self.inner.event_enabled(event)
    }

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let Some(site) = site(meta) else {
            return self.inner.event(event);
        };
        if site == ACQUIRE_TARGET || PENDING.take() == Some(true) {
            record(site, event);
        }
        // Enabled for this wrapper's sake: the log gets it only if it wants it.
        if self.inner.enabled(meta) && self.inner.event_enabled(event) {
            self.inner.event(event);
        }
    }

    fn new_span(&self, span: &span::Attributes<'_>) -> span::Id {
        self.inner.new_span(span)
    }

    fn record(&self, span: &span::Id, values: &span::Record<'_>) {
        self.inner.record(span, values);
    }

    fn record_follows_from(&self, span: &span::Id, follows: &span::Id) {
        self.inner.record_follows_from(span, follows);
    }

    fn enter(&self, span: &span::Id) {
        self.inner.enter(span);
    }

    fn exit(&self, span: &span::Id) {
        self.inner.exit(span);
    }

    fn clone_span(&self, id: &span::Id) -> span::Id {
        self.inner.clone_span(id)
    }

    fn try_close(&self, id: span::Id) -> bool {
        self.inner.try_close(id)
    }

    fn current_span(&self) -> tracing_core::span::Current {
        self.inner.current_span()
    }
}

/// Adds sqlx event `event` (from site `target`) to its histogram.
fn record(target: &str, event: &Event<'_>) {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let Some(secs) = fields.secs else {
        return;
    };
    if target == QUERY_TARGET {
        QUERIES[fields.statement].observe_secs(secs);
    } else {
        ACQUIRE.observe_secs(secs);
    }
}

/// The fields of a sqlx event that matter here.
struct Fields {
    secs: Option<f64>,
    /// Index in [`STATEMENTS`].
    statement: usize,
}

impl Default for Fields {
    fn default() -> Self {
        Fields {
            secs: None,
            statement: STATEMENTS.len() - 1,
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // sqlx 0.8 spells the acquire field `aquired_after_secs`; the correct spelling is
        // accepted too, in case a release fixes it.
        if matches!(
            field.name(),
            "elapsed_secs" | "aquired_after_secs" | "acquired_after_secs"
        ) {
            self.secs = Some(value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.statement = statement_kind(value);
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

/// The index in [`STATEMENTS`] of the statement `summary` starts.
fn statement_kind(summary: &str) -> usize {
    let first = summary.split_whitespace().next().unwrap_or("");
    STATEMENTS[..STATEMENTS.len() - 1]
        .iter()
        .position(|s| s.eq_ignore_ascii_case(first))
        .unwrap_or(STATEMENTS.len() - 1)
}

/// Appends the pool gauges and the two histograms.
pub fn render(pool: &PgPool, out: &mut String) {
    // Read separately: under load, idle may be from a moment later than size.
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
    for (name, help, value) in [
        (
            "coffer_db_pool_connections",
            "Connections the PostgreSQL pool holds open (idle and in use).",
            size,
        ),
        (
            "coffer_db_pool_idle_connections",
            "Open pool connections waiting for a request.",
            idle,
        ),
        (
            "coffer_db_pool_in_use_connections",
            "Pool connections lent to a request or a background task.",
            size - idle,
        ),
        (
            "coffer_db_pool_max_connections",
            "The pool's cap on open connections.",
            pool.options().get_max_connections(),
        ),
    ] {
        header(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }

    let name = "coffer_db_pool_acquire_duration_seconds";
    header(
        out,
        name,
        "histogram",
        "Time to get a connection from the pool: taking an idle one, waiting for one, or \
         opening one.",
    );
    ACQUIRE.render(out, name, "");

    let name = "coffer_db_query_duration_seconds";
    header(
        out,
        name,
        "histogram",
        "Time of one SQL statement, from sending it to reading its last row, by its first \
         keyword.",
    );
    for (statement, h) in STATEMENTS.iter().zip(&QUERIES) {
        if h.count() > 0 {
            h.render(out, name, &format!("statement=\"{statement}\""));
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// `log` wrapped as [`install`] wraps it, for a thread-local default.
    pub(in crate::metrics) fn wrap<S: Subscriber>(log: S) -> impl Subscriber {
        SqlxTimings { inner: log }
    }

    #[test]
    fn statements_are_classified_by_their_first_keyword() {
        assert_eq!(
            STATEMENTS[statement_kind("SELECT o.id, o.etag …")],
            "SELECT"
        );
        assert_eq!(STATEMENTS[statement_kind("commit")], "COMMIT");
        assert_eq!(STATEMENTS[statement_kind("  with x AS")], "WITH");
        assert_eq!(STATEMENTS[statement_kind("SAVEPOINT _sqlx_1")], "other");
        assert_eq!(STATEMENTS[statement_kind("")], "other");
    }

    /// A stand-in for the log's subscriber: it wants every event or none (like the log's
    /// default filter for sqlx's debug events), and counts the events it gets.
    struct Log {
        wants: bool,
        events: AtomicUsize,
    }

    impl Log {
        fn new(wants: bool) -> Arc<Log> {
            Arc::new(Log {
                wants,
                events: AtomicUsize::new(0),
            })
        }
    }

    impl Subscriber for Log {
        fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
            if self.wants {
                Interest::always()
            } else {
                Interest::never()
            }
        }
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            self.wants
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, _: &Event<'_>) {
            self.events.fetch_add(1, Ordering::Relaxed);
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }

    /// What sqlx 0.8's `QueryLogger::finish` does for one statement: ask, then emit.
    fn statement(summary: &str, secs: f64) {
        if tracing::enabled!(target: "sqlx::query", tracing::Level::DEBUG) {
            tracing::debug!(target: "sqlx::query", summary, db.statement = "\n\nSQL\n",
                rows_affected = 1u64, rows_returned = 0u64, elapsed_secs = secs);
        }
    }

    #[test]
    fn sqlx_events_are_timed_whatever_the_log_wants() {
        let log = Log::new(false);
        let (deletes, acquires) = (QUERIES[3].count(), ACQUIRE.count());
        tracing::subscriber::with_default(wrap(log.clone()), || {
            for _ in 0..2 * QUERY_SAMPLE {
                statement("DELETE FROM t …", 0.002);
            }
            tracing::trace!(target: "sqlx::pool::acquire", aquired_after_secs = 0.00003,
                "acquired connection");
            tracing::info!(target: "coffer", elapsed_secs = 5.0, "not sqlx");
        });
        // One statement in QUERY_SAMPLE, the first one included; the log got nothing.
        assert_eq!(QUERIES[3].count() - deletes, 2);
        assert_eq!(ACQUIRE.count() - acquires, 1);
        assert_eq!(log.events.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_log_that_wants_sqlx_events_still_gets_every_one() {
        let log = Log::new(true);
        let inserts = QUERIES[1].count();
        tracing::subscriber::with_default(wrap(log.clone()), || {
            for _ in 0..2 * QUERY_SAMPLE {
                statement("INSERT INTO t …", 0.001);
            }
            tracing::info!(target: "coffer", "not sqlx");
        });
        let events = 2 * QUERY_SAMPLE as usize + 1;
        assert_eq!(log.events.load(Ordering::Relaxed), events);
        // Still one in QUERY_SAMPLE, though every statement is asked about twice.
        assert_eq!(QUERIES[1].count() - inserts, 2);
    }
}
