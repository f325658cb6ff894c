//! S3 request metrics, by operation as AWS names it.
//!
//! [`track`] wraps the whole request pipeline (`http::server` calls it around
//! `service::handle`): it counts the request in flight, runs the pipeline inside a
//! task-local record that the pipeline fills in with two calls, [`routed`] (the operation,
//! once the router knows it) and [`failed`] (the S3 error code, where an error is
//! rendered), then counts the status, the error and the time to response headers, and
//! wraps the response body to count the bytes sent. The request body is counted by
//! `s3::payload::Payload`, frame by frame as hyper delivers it, through [`received`].
//!
//! A request stays in flight until its response body is finished or dropped (a large GET
//! is in flight while its bytes are sent), or until the connection drops the request.
//!
//! Every counter is a relaxed atomic in a static array indexed by operation: a request
//! costs about eight uncontended atomic additions and no lock. An operation gets its slot
//! the first time it is seen (a `OnceLock` per slot holding the `Operation`, so later
//! requests find it with a few atomic loads), and error codes likewise: the labels are
//! exactly the router's operations and the error codes Coffer answers with, and a new
//! operation or code needs no change here. The router knows about a hundred operations
//! (those Coffer implements and those it answers `NotImplemented`), fewer than [`SLOTS`].

use bytes::Bytes;
use http::Response;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::cell::Cell;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use super::error::S3ErrorCode;
use super::router::Operation;
use crate::http::body::ResponseBody;
use crate::metrics::{Histogram, header};

/// Upper bounds of the request-duration buckets, in seconds: a small GET answers in well
/// under a millisecond on an idle server; a PUT's time includes its upload, minutes for a
/// 5 GiB object on a slow link.
#[rustfmt::skip]
static DURATION_BOUNDS: [f64; 17] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    120.0, f64::INFINITY,
];

/// Operation slots: [`UNROUTED`], then one per operation in the order first seen.
const SLOTS: usize = 160;
/// Requests refused before an operation was known (a malformed URI or bucket name, a
/// method the path does not allow, an oversized header section).
const UNROUTED: usize = 0;
/// Error-code slots, one per code in the order first seen (Coffer has 49 codes).
const CODE_SLOTS: usize = 96;

/// HTTP statuses counted one by one: 100 to 599. Others (`http` allows up to 999; Coffer
/// sends none) are counted under `status="other"`.
const FIRST_STATUS: u16 = 100;
const STATUSES: usize = 500;

/// The counters of one operation.
struct OpMetrics {
    statuses: [AtomicU64; STATUSES],
    other_status: AtomicU64,
    errors: [AtomicU64; CODE_SLOTS],
    duration: Histogram<{ DURATION_BOUNDS.len() }>,
    received: AtomicU64,
    sent: AtomicU64,
}

impl OpMetrics {
    const fn new() -> Self {
        Self {
            statuses: [const { AtomicU64::new(0) }; STATUSES],
            other_status: AtomicU64::new(0),
            errors: [const { AtomicU64::new(0) }; CODE_SLOTS],
            duration: Histogram::new(&DURATION_BOUNDS),
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        }
    }

    fn count_status(&self, status: u16) {
        let counter = status
            .checked_sub(FIRST_STATUS)
            .and_then(|i| self.statuses.get(usize::from(i)))
            .unwrap_or(&self.other_status);
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Zero-initialised, so the array costs address space, not memory, until used (about
/// 5 KiB per operation seen).
static OPS: [OpMetrics; SLOTS] = [const { OpMetrics::new() }; SLOTS];
/// The operation of each slot but [`UNROUTED`], set when first seen.
static OP_OF_SLOT: [OnceLock<Operation>; SLOTS] = [const { OnceLock::new() }; SLOTS];
/// The error code of each code slot, set when first seen.
static CODE_OF_SLOT: [OnceLock<S3ErrorCode>; CODE_SLOTS] = [const { OnceLock::new() }; CODE_SLOTS];
static IN_FLIGHT: AtomicI64 = AtomicI64::new(0);

/// What the pipeline reports about the request being tracked.
struct Current {
    op: Cell<usize>,
    error: Cell<Option<S3ErrorCode>>,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Runs `handle` (the request pipeline) as one tracked request: see the module docs.
pub async fn track(handle: impl Future<Output = Response<ResponseBody>>) -> Response<ResponseBody> {
    let in_flight = InFlight::enter();
    let started = Instant::now();
    let current = Current {
        op: Cell::new(UNROUTED),
        error: Cell::new(None),
    };
    let (response, op, error) = CURRENT
        .scope(current, async {
            let response = handle.await;
            let (op, error) = CURRENT
                .try_with(|c| (c.op.get(), c.error.get()))
                .unwrap_or((UNROUTED, None));
            (response, op, error)
        })
        .await;
    let m = &OPS[op];
    m.duration.observe(started.elapsed());
    m.count_status(response.status().as_u16());
    if let Some(counter) = error.and_then(|code| m.errors.get(code_slot(code))) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    response.map(|inner| {
        CountedBody {
            inner,
            sent: &m.sent,
            _in_flight: in_flight,
        }
        .boxed_unsync()
    })
}

/// Records the tracked request's operation (a no-op outside [`track`]).
pub fn routed(op: Operation) {
    let _ = CURRENT.try_with(|c| c.op.set(slot(op)));
}

/// Records the S3 error code the tracked request is answered with.
pub fn failed(code: S3ErrorCode) {
    let _ = CURRENT.try_with(|c| c.error.set(Some(code)));
}

/// Counts `bytes` of request body received by the tracked request.
pub fn received(bytes: usize) {
    let _ = CURRENT.try_with(|c| {
        OPS[c.op.get()]
            .received
            .fetch_add(bytes as u64, Ordering::Relaxed)
    });
}

/// One request in flight, from [`track`] until its response body is dropped.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that counts its data bytes as hyper takes them, and holds the request's
/// [`InFlight`] until hyper drops it.
struct CountedBody {
    inner: ResponseBody,
    sent: &'static AtomicU64,
    _in_flight: InFlight,
}

impl Body for CountedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &poll
            && let Some(data) = frame.data_ref()
        {
            self.sent.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        poll
    }

    // Forwarded so that hyper still sends `Content-Length` for bodies of known size.
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The slot of `op`: the one it claimed, else the first free one. Claiming is a
/// `OnceLock` per slot, so two first requests of different operations cannot take the same
/// slot. Past [`SLOTS`] operations (more than the router has) requests count as
/// [`UNROUTED`].
fn slot(op: Operation) -> usize {
    claim(&OP_OF_SLOT[UNROUTED + 1..], op).map_or(UNROUTED, |i| UNROUTED + 1 + i)
}

/// The code slot of `code`, like [`slot`]; past [`CODE_SLOTS`] codes (more than Coffer
/// has) an error is counted in `coffer_s3_requests_total` only.
fn code_slot(code: S3ErrorCode) -> usize {
    claim(&CODE_OF_SLOT, code).unwrap_or(CODE_SLOTS)
}

/// The index of the cell holding `value`, claiming the first empty one if none does.
fn claim<T: Copy + PartialEq>(cells: &[OnceLock<T>], value: T) -> Option<usize> {
    cells
        .iter()
        .position(|cell| *cell.get_or_init(|| value) == value)
}

/// The `op` label of slot `i`, or `None` for an unclaimed slot.
fn slot_name(i: usize) -> Option<&'static str> {
    if i == UNROUTED {
        return Some("Unrouted");
    }
    OP_OF_SLOT.get(i)?.get().map(|op| op.as_str())
}

/// Appends the request metrics. Series appear once their operation has been seen.
pub fn render(out: &mut String) {
    header(
        out,
        "coffer_s3_requests_in_flight",
        "gauge",
        "S3 requests being processed or sending their response body.",
    );
    let _ = writeln!(
        out,
        "coffer_s3_requests_in_flight {}",
        IN_FLIGHT.load(Ordering::Relaxed).max(0)
    );
    let mut seen: Vec<(&str, &OpMetrics)> = (0..SLOTS)
        .filter_map(|i| Some((slot_name(i)?, &OPS[i])))
        .filter(|(_, m)| m.duration.count() > 0 || m.received.load(Ordering::Relaxed) > 0)
        .collect();
    seen.sort_unstable_by_key(|(op, _)| *op);

    header(
        out,
        "coffer_s3_requests_total",
        "counter",
        "S3 requests answered, by operation (AWS's name; Unrouted: refused before routing) and HTTP status.",
    );
    for (op, m) in &seen {
        for (i, count) in m.statuses.iter().enumerate() {
            let count = count.load(Ordering::Relaxed);
            if count > 0 {
                let status = usize::from(FIRST_STATUS) + i;
                let _ = writeln!(
                    out,
                    "coffer_s3_requests_total{{op=\"{op}\",status=\"{status}\"}} {count}"
                );
            }
        }
        let other = m.other_status.load(Ordering::Relaxed);
        if other > 0 {
            let _ = writeln!(
                out,
                "coffer_s3_requests_total{{op=\"{op}\",status=\"other\"}} {other}"
            );
        }
    }

    header(
        out,
        "coffer_s3_errors_total",
        "counter",
        "S3 requests answered with an S3 error, by operation and error code.",
    );
    for (op, m) in &seen {
        for (code, count) in CODE_OF_SLOT.iter().zip(&m.errors) {
            let count = count.load(Ordering::Relaxed);
            if let Some(code) = code.get().filter(|_| count > 0) {
                let code = code.as_str();
                let _ = writeln!(
                    out,
                    "coffer_s3_errors_total{{op=\"{op}\",code=\"{code}\"}} {count}"
                );
            }
        }
    }

    header(
        out,
        "coffer_s3_request_duration_seconds",
        "histogram",
        "Time from a request's arrival to its response headers (the body is not included; \
         the upload of a PUT is), by operation.",
    );
    for (op, m) in &seen {
        m.duration.render(
            out,
            "coffer_s3_request_duration_seconds",
            &format!("op=\"{op}\""),
        );
    }

    for (name, help, bytes) in [
        (
            "coffer_s3_received_bytes_total",
            "Request body bytes read, as they arrive (aws-chunked framing included), by operation.",
            (|m| &m.received) as fn(&OpMetrics) -> &AtomicU64,
        ),
        (
            "coffer_s3_sent_bytes_total",
            "Response body bytes handed to the connection, by operation.",
            |m| &m.sent,
        ),
    ] {
        header(out, name, "counter", help);
        for (op, m) in &seen {
            let _ = writeln!(
                out,
                "{name}{{op=\"{op}\"}} {}",
                bytes(m).load(Ordering::Relaxed)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_codes_claim_one_slot_each() {
        let a = slot(Operation::Unsupported("GetBucketTestingA"));
        let b = slot(Operation::Unsupported("GetBucketTestingB"));
        assert!(a != b && a != UNROUTED && b != UNROUTED);
        assert_eq!(slot(Operation::Unsupported("GetBucketTestingA")), a);
        assert_eq!(slot_name(a), Some("GetBucketTestingA"));
        let get = slot(Operation::GetObject);
        assert_eq!(slot(Operation::GetObject), get);
        assert_eq!(slot_name(get), Some("GetObject"));
        assert_eq!(slot_name(UNROUTED), Some("Unrouted"));
        let code = code_slot(S3ErrorCode::SlowDown);
        assert_eq!(code_slot(S3ErrorCode::SlowDown), code);
        assert_ne!(code_slot(S3ErrorCode::NoSuchKey), code);
    }

    #[tokio::test]
    async fn a_tracked_request_counts_status_error_bytes_and_in_flight() {
        let response = track(async {
            routed(Operation::GetBucketAcl);
            received(10);
            failed(S3ErrorCode::NoSuchBucket);
            let mut r = Response::new(crate::http::body::full("0123456789abcdef"));
            *r.status_mut() = http::StatusCode::NOT_FOUND;
            r
        })
        .await;
        assert_eq!(
            response.size_hint().exact(),
            Some(16),
            "Content-Length kept"
        );
        let body = response.into_body().collect().await.map(|b| b.to_bytes());
        assert_eq!(body.ok().as_deref(), Some(&b"0123456789abcdef"[..]));
        // Outside a tracked request the hooks do nothing.
        routed(Operation::GetBucketAcl);
        received(1000);

        let mut out = String::new();
        render(&mut out);
        for line in [
            "coffer_s3_requests_total{op=\"GetBucketAcl\",status=\"404\"} 1",
            "coffer_s3_errors_total{op=\"GetBucketAcl\",code=\"NoSuchBucket\"} 1",
            "coffer_s3_request_duration_seconds_count{op=\"GetBucketAcl\"} 1",
            "coffer_s3_received_bytes_total{op=\"GetBucketAcl\"} 10",
            "coffer_s3_sent_bytes_total{op=\"GetBucketAcl\"} 16",
            "# TYPE coffer_s3_requests_in_flight gauge",
        ] {
            assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
        }
    }
}
