//! The per-request pipeline: request id and span, limits, routing, CORS preflights,
//! authentication, dispatch to the S3 handlers, the one place where errors become S3 error
//! XML, and the CORS headers of every response to a request carrying `Origin`.

use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

use crate::auth::{self, Credentials, RequestView, SecretKey};
use crate::error::{S3Error, S3ErrorCode, S3Result};
use crate::http::body::{ResponseBody, empty, full};
use crate::policy::registry::BucketPolicy;
use crate::s3::cors_request::{self, CorsProbe};
use crate::s3::{self, headers, router, xml};
use crate::state::AppState;
use crate::store::accounts::{self, Account};

/// Who is making the request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// No credentials.
    Anonymous,
    /// A verified account.
    Account(Account),
}

impl Principal {
    /// The account, when authenticated.
    pub fn account(&self) -> Option<&Account> {
        match self {
            Principal::Anonymous => None,
            Principal::Account(a) => Some(a),
        }
    }

    fn log_name(&self) -> &str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::Account(a) => &a.name,
        }
    }
}

/// Everything known about a request once it is routed and authenticated.
pub struct RequestContext {
    /// The id echoed in `x-amz-request-id`.
    pub request_id: String,
    /// The S3 operation.
    pub op: router::Operation,
    /// Bucket named by the request.
    pub bucket: Option<String>,
    /// Object key named by the request.
    pub key: Option<String>,
    /// Whether the bucket came from the Host header.
    pub vhost: bool,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    /// The caller.
    pub principal: Principal,
    /// The caller's address.
    pub remote: SocketAddr,
    /// The verified SigV4 context (for aws-chunked bodies and payload hashes).
    pub sigv4: Option<auth::sigv4::VerifiedV4>,
    /// The request headers policy modules see (no credentials).
    pub policy_headers: Vec<(String, String)>,
    /// The bucket policy of the request's first decision, kept for the rest of it: a
    /// request that needs several decisions (DeleteObjects) makes them all with one module
    /// even if an operator swaps modules meanwhile.
    pub policy: std::sync::OnceLock<(Option<i64>, Arc<BucketPolicy>)>,
}

impl RequestContext {
    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `/bucket/key` for error resources.
    pub fn resource(&self) -> String {
        match (&self.bucket, &self.key) {
            (Some(b), Some(k)) => format!("/{b}/{k}"),
            (Some(b), None) => format!("/{b}"),
            _ => "/".to_string(),
        }
    }
}

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

/// Handles one request end to end; never fails (errors become S3 error responses).
pub async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
    remote: SocketAddr,
) -> Response<ResponseBody> {
    let request_id = new_request_id();
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %req.method(),
        op = tracing::field::Empty,
        bucket = tracing::field::Empty,
        principal = tracing::field::Empty,
    );
    async move {
        let started = std::time::Instant::now();
        let is_head = req.method() == Method::HEAD;
        let cors = CorsProbe::of_request(req.method(), req.headers());
        let mut target = None;
        let mut response = match process(&state, req, remote, &request_id, &mut target).await {
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
    crate::metrics::s3::failed(code);
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
    if !is_head {
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
    }
    resp
}

/// Routes, authenticates and dispatches `req`. Once routed, `target` holds the bucket and
/// key it addresses (for its CORS headers), whatever the outcome.
async fn process(
    state: &AppState,
    req: Request<Incoming>,
    remote: SocketAddr,
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
    crate::metrics::s3::routed(route.op);
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
    let credentials = auth::parse_credentials(&view).map_err(S3Error::from)?;
    let vhost_bucket = route.vhost.then_some(route.bucket.as_deref()).flatten();
    let (principal, sigv4) = authenticate(state, &view, credentials, vhost_bucket).await?;
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
        policy_headers: s3::authz::policy_headers(&parts.headers),
        policy: std::sync::OnceLock::new(),
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

/// Verifies the request's signature and resolves the caller.
pub(crate) async fn authenticate(
    state: &AppState,
    view: &RequestView<'_>,
    credentials: Credentials,
    vhost_bucket: Option<&str>,
) -> S3Result<(Principal, Option<auth::sigv4::VerifiedV4>)> {
    let now = state.now();
    match credentials {
        Credentials::Anonymous => Ok((Principal::Anonymous, None)),
        Credentials::V4(authz) => {
            let (account, secret) = lookup_key(state, &authz.access_key).await?;
            let verified =
                auth::sigv4::verify_v4(view, &authz, &secret, now, state.config.region.as_deref())
                    .map_err(S3Error::from)?;
            Ok((Principal::Account(account), Some(verified)))
        }
        Credentials::V2(authz) => {
            let (account, secret) = lookup_key(state, &authz.access_key).await?;
            auth::sigv2::verify_v2(view, &authz, &secret, vhost_bucket, now)
                .map_err(S3Error::from)?;
            Ok((Principal::Account(account), None))
        }
        Credentials::PresignedV4(p) => {
            let (account, secret) = lookup_key(state, &p.auth.access_key).await?;
            let verified =
                auth::presign::verify_v4(view, &p, &secret, now, state.config.region.as_deref())
                    .map_err(S3Error::from)?;
            Ok((Principal::Account(account), Some(verified)))
        }
        Credentials::PresignedV2(p) => {
            let (account, secret) = lookup_key(state, &p.access_key).await?;
            auth::presign::verify_v2(view, &p, &secret, vhost_bucket, now)
                .map_err(S3Error::from)?;
            Ok((Principal::Account(account), None))
        }
    }
}

pub(crate) async fn lookup_key(
    state: &AppState,
    access_key: &str,
) -> S3Result<(Account, SecretKey)> {
    let key = accounts::find_active_key(&state.pool, access_key)
        .await
        .map_err(S3Error::internal)?
        .ok_or_else(|| {
            S3Error::new(S3ErrorCode::InvalidAccessKeyId).extra("AWSAccessKeyId", access_key)
        })?;
    let secret = state
        .master_key
        .open(access_key, &key.ciphertext, &key.nonce)
        .map_err(S3Error::internal)?;
    Ok((key.account, SecretKey::new(secret)))
}

/// A response with status 200 and no body.
pub fn ok_empty() -> Response<ResponseBody> {
    let mut r = Response::new(empty());
    *r.status_mut() = StatusCode::OK;
    r
}

/// A 200 response carrying S3 XML.
pub fn xml_response(body: String) -> Response<ResponseBody> {
    let mut r = Response::new(full(body));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}
