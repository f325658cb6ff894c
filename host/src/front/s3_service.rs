//! The S3 door: the per-request pipeline. Request id and span, limits, routing, CORS
//! preflights, authentication, dispatch to the S3 handlers, the one place where errors
//! become S3 error XML, the CORS headers of every response to a request carrying `Origin`,
//! and the request's metrics.

use http::{HeaderValue, Method, Request, Response};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

use crate::auth::{self, RequestView};
use crate::front::client_addr::{self, client_addr};
use crate::http::body::{ResponseBody, empty, full};
use crate::policy::types::{AuthType, Signature, SignatureVersion};
use crate::s3::authn::{Authenticated, authenticate, unix_seconds};
use crate::s3::context::{Principal, RequestContext};
use crate::s3::cors_request::{self, CorsProbe};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::{self, headers, router, xml};
use crate::state::AppState;
use crate::store::accounts::Account;

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A request id: 16 upper-case hex digits, unique within the process and unlikely to repeat
/// across restarts (the high bits come from the start time).
fn new_request_id() -> String {
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos.rotate_left(24)
    });
    format!(
        "{:016X}",
        base ^ REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Who vouches for the caller of a request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The request itself: its signature, presigned query, or nothing (anonymous). Every
    /// request to the S3 listener.
    Signed,
    /// A web console session, already checked by the console door: the request runs as
    /// this account, unsigned (its body is taken as sent, as an anonymous one would be).
    Session(Account),
}

/// Handles one request end to end, counted in the S3 request metrics; never fails
/// (errors become S3 error responses). `remote` is the TCP peer; the client's address is
/// derived from it (`front::client_addr`).
pub async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
    remote: SocketAddr,
) -> Response<ResponseBody> {
    handle_as(state, req, remote, Caller::Signed).await
}

/// [`handle`] for a request whose caller is vouched for by `caller`.
pub async fn handle_as(
    state: Arc<AppState>,
    req: Request<Incoming>,
    remote: SocketAddr,
    caller: Caller,
) -> Response<ResponseBody> {
    // Boxed: the pipeline's future is about 7 KiB, and each async layer around it (the
    // metrics' task-local scope) would hold and copy it again (4 KiB GETs were 6% slower).
    s3::metrics::track(Box::pin(pipeline(state, req, remote, caller))).await
}

/// The pipeline of one request: see the module docs.
async fn pipeline(
    state: Arc<AppState>,
    req: Request<Incoming>,
    remote: SocketAddr,
    caller: Caller,
) -> Response<ResponseBody> {
    let request_id = new_request_id();
    // Behind a trusted reverse proxy, the address it reports; policy modules and the log
    // see this one, the log keeps the TCP peer beside it when they differ.
    let peer = remote;
    let remote = client_addr(peer, req.headers(), &state.config.trusted_proxies);
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %req.method(),
        client = %remote.ip(),
        peer = tracing::field::Empty,
        op = tracing::field::Empty,
        bucket = tracing::field::Empty,
        principal = tracing::field::Empty,
    );
    if remote != peer {
        span.record("peer", tracing::field::display(peer));
    }
    async move {
        let started = std::time::Instant::now();
        let is_head = req.method() == Method::HEAD;
        let cors = CorsProbe::of_request(req.method(), req.headers());
        let mut target = None;
        let processed = process(&state, req, remote, peer, caller, &request_id, &mut target).await;
        let mut response = match processed {
            Ok(resp) => resp,
            Err(err) => render_error(&err, &request_id, is_head),
        };
        // Errors too: a page must be able to read why its request failed.
        if let (Some(probe), Some((bucket, key))) = (cors, target) {
            cors_request::decorate(&state, probe, &bucket, key, &mut response).await;
        }
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert(headers::REQUEST_ID, v.clone());
            h.insert(headers::ID_2, v);
        }
        h.insert(http::header::SERVER, HeaderValue::from_static("Coffer"));
        tracing::info!(
            status = response.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "done"
        );
        response
    }
    .instrument(span)
    .await
}

/// Renders an error as S3 does: XML body (none for HEAD), status from the code.
pub fn render_error(err: &S3Error, request_id: &str, is_head: bool) -> Response<ResponseBody> {
    let code = err.code();
    crate::s3::metrics::failed(code);
    if code == S3ErrorCode::InternalError {
        tracing::error!(error = %err, "internal error");
    } else {
        tracing::debug!(error = %err, "request failed");
    }
    let body = if is_head {
        empty()
    } else {
        full(xml::render_error(
            code.as_str(),
            err.message(),
            err.resource_name(),
            request_id,
            &err.extras()
                .iter()
                .map(|(k, v)| (*k, v.clone()))
                .collect::<Vec<_>>(),
        ))
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = code.status();
    for (name, value) in err.headers() {
        if let Ok(value) = HeaderValue::from_str(value) {
            resp.headers_mut()
                .insert(http::HeaderName::from_static(name), value);
        }
    }
    if !is_head {
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
    }
    resp
}

/// Routes, authenticates and dispatches `req`, which `peer` sent for `remote` (the
/// client, behind trusted proxies). Once routed, `target` holds the bucket and key it
/// addresses (for its CORS headers), whatever the outcome.
async fn process(
    state: &AppState,
    req: Request<Incoming>,
    remote: SocketAddr,
    peer: SocketAddr,
    caller: Caller,
    request_id: &str,
    target: &mut Option<(String, Option<String>)>,
) -> S3Result<Response<ResponseBody>> {
    let (parts, body) = req.into_parts();
    check_header_size(&parts.headers, state.config.max_header_bytes)?;

    let raw_path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.host())
        .map(str::to_string);
    let query = router::parse_query(&raw_query).map_err(S3Error::from)?;
    let route = router::route(
        &parts.method,
        host.as_deref(),
        &raw_path,
        &query,
        &parts.headers,
        &state.config.domains,
    )
    .map_err(S3Error::from)?;
    let span = tracing::Span::current();
    span.record("op", route.op.as_str());
    crate::s3::metrics::routed(route.op);
    if let Some(b) = &route.bucket {
        span.record("bucket", b.as_str());
        *target = Some((b.clone(), route.key.clone()));
    }
    if route.op == router::Operation::Preflight {
        // Never authenticated (see `cors_request`).
        let bucket = route.bucket.as_deref().unwrap_or_default();
        return cors_request::preflight(state, bucket, route.key.as_deref(), &parts.headers).await;
    }

    let view = RequestView {
        method: parts.method.as_str(),
        raw_path: &raw_path,
        raw_query: &raw_query,
        headers: &parts.headers,
    };
    let received_at = state.now();
    let authenticated = match caller {
        Caller::Signed => {
            let credentials = auth::parse_credentials(&view).map_err(S3Error::from)?;
            let vhost_bucket = route.vhost.then_some(route.bucket.as_deref()).flatten();
            authenticate(
                state,
                &view,
                credentials,
                vhost_bucket,
                route.bucket.as_deref(),
            )
            .await?
        }
        // The console's session stands for a signature in the header.
        Caller::Session(account) => Authenticated {
            principal: Principal::Account(account),
            sigv4: None,
            signature: Some(Signature {
                version: SignatureVersion::V4,
                auth_type: AuthType::Header,
                signed_at: unix_seconds(received_at),
            }),
            prefetched_bucket: Default::default(),
        },
    };
    let Authenticated {
        principal,
        sigv4,
        signature,
        prefetched_bucket,
    } = authenticated;
    span.record("principal", principal.log_name());

    let ctx = RequestContext {
        request_id: request_id.to_string(),
        op: route.op,
        bucket: route.bucket,
        key: route.key,
        vhost: route.vhost,
        query,
        principal,
        remote,
        sigv4,
        signature,
        received_at,
        secure_transport: state.config.tls.is_some()
            || client_addr::forwarded_https(peer, &parts.headers, &state.config.trusted_proxies),
        policy_headers: s3::authz::policy_headers(&parts.headers),
        policy: std::sync::OnceLock::new(),
        prefetched_bucket,
    };
    s3::dispatch(state, &ctx, &parts, body)
        .await
        .map_err(|e| match e.resource_name() {
            Some(_) => e,
            None => e.resource(ctx.resource()),
        })
}

/// Rejects requests whose header section exceeds the cap, with S3's error.
fn check_header_size(headers: &http::HeaderMap, max: usize) -> S3Result<()> {
    let total: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if total > max {
        return Err(S3Error::new(S3ErrorCode::RequestHeaderSectionTooLarge)
            .extra("MaxSizeAllowed", max.to_string()));
    }
    Ok(())
}
