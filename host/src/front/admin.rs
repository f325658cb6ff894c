//! The admin HTTP API, on its own listener (`--admin-listen`) so that no bucket name can
//! shadow it and operators can firewall it apart from S3:
//!
//! | Method and path                      | What                                              |
//! |--------------------------------------|---------------------------------------------------|
//! | `GET /metrics`                       | Prometheus text format (no authentication)        |
//! | `GET /health`                        | `ok` (no authentication)                          |
//! | `GET /v1/policies`                   | stored modules, with the buckets using each       |
//! | `PUT /v1/policies/{name}`            | store a module (body: the `.wasm` component)      |
//! | `DELETE /v1/policies/{name}`         | delete a module (409 while attached)              |
//! | `GET /v1/buckets/{bucket}/policy`    | the bucket's module and configuration             |
//! | `PUT /v1/buckets/{bucket}/policy`    | attach: `{"module": NAME, "config": JSON or null}` |
//! | `DELETE /v1/buckets/{bucket}/policy` | detach (back to the default module)               |
//! | `POST /v1/buckets/{bucket}/explain`  | decide a described request without performing it, and say why (`s3::explain`) |
//!
//! `/v1` requests are signed like S3 requests (SigV4 or SigV2, e.g. `curl --aws-sigv4
//! aws:amz:us-east-1:s3 --user KEY:SECRET`) with the key of an administrator account (the
//! account created on first start). Responses are JSON; errors are
//! `{"error": CODE, "message": TEXT}`.

use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::auth::{self, RequestView};
use crate::front::client_addr::client_addr;
use crate::http::body::{ResponseBody, full};
use crate::http::tls::Tls;
use crate::policy::catalog;
use crate::s3::authn::authenticate;
use crate::s3::context::Principal;
use crate::s3::explain;
use crate::state::AppState;
use crate::store::{self, admins, policies};

/// Largest request body: a policy module (the engine applies its own, smaller cap).
const MAX_BODY: usize = 32 << 20;

/// Serves the admin API on `listener` until `shutdown` resolves, through the same accept
/// loop as the other doors (connection cap, TLS, header timeout, graceful drain).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let door = {
        let state = state.clone();
        move |req, remote| handle(state.clone(), req, remote)
    };
    crate::http::server::serve(listener, state, tls, door, shutdown).await
}

/// An admin API failure: HTTP status, a stable code and a message.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", "no such admin resource")
    }
}

impl From<catalog::Error> for ApiError {
    fn from(e: catalog::Error) -> Self {
        match e.into_client() {
            Ok((code, message)) => Self::new(StatusCode::BAD_REQUEST, code, message),
            Err(storage) => storage.into(),
        }
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        let message = e.to_string();
        match e {
            store::Error::NoSuchBucket => Self::new(StatusCode::NOT_FOUND, "NoSuchBucket", message),
            store::Error::NoSuchPolicy(_) => {
                Self::new(StatusCode::NOT_FOUND, "NoSuchPolicy", message)
            }
            store::Error::PolicyInUse { .. } => {
                Self::new(StatusCode::CONFLICT, "PolicyInUse", message)
            }
            other => {
                tracing::error!(error = %other, "admin request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "internal error",
                )
            }
        }
    }
}

impl From<explain::ExplainError> for ApiError {
    fn from(e: explain::ExplainError) -> Self {
        match e {
            explain::ExplainError::NoSuchBucket(_) => {
                Self::new(StatusCode::NOT_FOUND, "NoSuchBucket", e.to_string())
            }
            explain::ExplainError::NoSuchAccount(_) => {
                Self::new(StatusCode::BAD_REQUEST, "NoSuchAccount", e.to_string())
            }
            explain::ExplainError::InvalidVersion(_) => {
                Self::new(StatusCode::BAD_REQUEST, "InvalidRequest", e.to_string())
            }
            explain::ExplainError::Store(e) => e.into(),
        }
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<ResponseBody> {
    let mut resp = Response::new(full(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn no_content() -> Response<ResponseBody> {
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
    remote: SocketAddr,
) -> Response<ResponseBody> {
    let client = client_addr(remote, req.headers(), &state.config.trusted_proxies);
    let span = tracing::info_span!(
        "admin",
        method = %req.method(),
        path = %req.uri().path(),
        client = %client.ip()
    );
    async move {
        let result = route(&state, req, remote).await;
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => json_response(e.status, json!({"error": e.code, "message": e.message})),
        };
        tracing::info!(status = resp.status().as_u16(), "admin request");
        resp
    }
    .instrument(span)
    .await
}

async fn route(
    state: &AppState,
    req: Request<Incoming>,
    remote: SocketAddr,
) -> Result<Response<ResponseBody>, ApiError> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method(), segments.as_slice()) {
        (&Method::GET, ["metrics"]) => {
            let mut out = String::new();
            state.policies.engine().render_metrics(&mut out);
            state.policies.render_shadow_metrics(&mut out);
            state.chunks.render_metrics(&mut out);
            crate::s3::metrics::render(&mut out);
            crate::s3::lifecycle_worker::render_metrics(&mut out);
            crate::metrics::db::render(&state.pool, &mut out);
            crate::store::small_writes::render_metrics(&mut out);
            match crate::store::chunks::repair_backlog(&state.pool).await {
                Ok((queued, lost)) => out.push_str(&format!(
                    "# HELP coffer_repair_queue_chunks Chunks waiting for repair.\n\
                     # TYPE coffer_repair_queue_chunks gauge\ncoffer_repair_queue_chunks {queued}\n\
                     # HELP coffer_repair_queue_without_good_copy Queued chunks with no good copy left.\n\
                     # TYPE coffer_repair_queue_without_good_copy gauge\n\
                     coffer_repair_queue_without_good_copy {lost}\n"
                )),
                Err(e) => tracing::warn!(error = %e, "reading the repair queue for /metrics failed"),
            }
            let mut resp = Response::new(full(out));
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            Ok(resp)
        }
        (&Method::GET, ["health"]) => Ok(Response::new(full("ok\n"))),
        (_, ["v1", ..]) => {
            let method = req.method().clone();
            let body = authenticated_body(state, req, remote).await?;
            v1(state, &method, &segments[1..], body).await
        }
        _ => Err(ApiError::not_found()),
    }
}

/// Verifies the request's signature and that the signer is an administrator, then reads the
/// body (checking it against a signed payload hash).
async fn authenticated_body(
    state: &AppState,
    req: Request<Incoming>,
    _remote: SocketAddr,
) -> Result<Bytes, ApiError> {
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let view = RequestView {
        method: parts.method.as_str(),
        raw_path: &raw_path,
        raw_query: &raw_query,
        headers: &parts.headers,
    };
    let unauthorized = |m: String| ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", m);
    let credentials = auth::parse_credentials(&view).map_err(|e| unauthorized(e.to_string()))?;
    let authenticated = authenticate(state, &view, credentials, None, None)
        .await
        .map_err(|e| unauthorized(e.to_string()))?;
    let (principal, sigv4) = (authenticated.principal, authenticated.sigv4);
    let Principal::Account(account) = principal else {
        return Err(unauthorized("the admin API needs a signed request".into()));
    };
    if !admins::is_admin(&state.pool, account.id).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("account {} is not an administrator", account.name),
        ));
    }
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "BodyTooLarge",
                format!("request body: {e}"),
            )
        })?
        .to_bytes();
    // A body that changes state must be covered by the signature: SigV4's
    // x-amz-content-sha256 with the body's digest (not UNSIGNED-PAYLOAD), or SigV2's
    // signed Content-MD5. Otherwise whoever sits on the path could swap a module.
    let unsigned = |m: &str| ApiError::new(StatusCode::BAD_REQUEST, "UnsignedBody", m.to_string());
    let changes_state = !matches!(parts.method, Method::GET | Method::HEAD);
    match &sigv4 {
        Some(v4) => {
            if changes_state
                && !body.is_empty()
                && !matches!(v4.payload_hash, auth::sigv4::PayloadHash::Sha256(_))
            {
                return Err(unsigned(
                    "a request that changes state must sign its body: send \
                     x-amz-content-sha256 with the body's SHA-256",
                ));
            }
            let digest: [u8; 32] = Sha256::digest(&body).into();
            v4.payload_hash.check_body_digest(&digest).map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "ContentSha256Mismatch",
                    "the body does not match x-amz-content-sha256",
                )
            })?;
        }
        None if changes_state && !body.is_empty() => {
            let md5 = parts
                .headers
                .get(http::header::HeaderName::from_static("content-md5"))
                .and_then(|v| v.to_str().ok())
                .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok());
            let digest: [u8; 16] = md5::Md5::digest(&body).into();
            if md5.as_deref() != Some(digest.as_slice()) {
                return Err(unsigned(
                    "a SigV2 request that changes state must sign its body: send its Content-MD5",
                ));
            }
        }
        None => {}
    }
    Ok(body)
}

/// The `/v1` routes, for an authenticated administrator.
async fn v1(
    state: &AppState,
    method: &Method,
    path: &[&str],
    body: Bytes,
) -> Result<Response<ResponseBody>, ApiError> {
    match (method, path) {
        (&Method::GET, ["policies"]) => {
            let list = catalog::list(&state.pool).await?;
            Ok(json_response(StatusCode::OK, json!({ "policies": list })))
        }
        (&Method::PUT, ["policies", name]) => {
            let engine = state.policies.clone();
            let stored = catalog::put_module(engine.engine(), &state.pool, name, &body).await?;
            refresh(state).await;
            Ok(json_response(StatusCode::OK, json!(stored)))
        }
        (&Method::DELETE, ["policies", name]) => {
            catalog::delete_module(&state.pool, name).await?;
            refresh(state).await;
            Ok(no_content())
        }
        (&Method::GET, ["buckets", bucket, "policy"]) => {
            let attachment = policies::attachment(&state.pool, bucket).await?;
            let body = match attachment {
                Some(a) => json!({
                    "bucket": a.bucket,
                    "module": a.module.as_deref().unwrap_or(crate::policy::DEFAULT_MODULE_NAME),
                    "digest": a.digest,
                    "config": a.config.as_deref().and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok()),
                }),
                None => {
                    if crate::store::buckets::get_bucket(&state.pool, bucket)
                        .await?
                        .is_none()
                    {
                        return Err(store::Error::NoSuchBucket.into());
                    }
                    json!({"bucket": bucket, "module": "default", "config": null})
                }
            };
            Ok(json_response(StatusCode::OK, body))
        }
        (&Method::PUT, ["buckets", bucket, "policy"]) => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct AttachRequest {
                module: String,
                #[serde(default)]
                config: Option<serde_json::Value>,
            }
            let request: AttachRequest = serde_json::from_slice(&body).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    format!("expected {{\"module\": NAME, \"config\": JSON}}: {e}"),
                )
            })?;
            let config = request
                .config
                .filter(|c| !c.is_null())
                .map(|c| c.to_string());
            let engine = state.policies.engine();
            catalog::attach(
                Some(engine),
                &state.pool,
                bucket,
                &request.module,
                config.as_deref(),
            )
            .await?;
            refresh(state).await;
            Ok(json_response(
                StatusCode::OK,
                json!({"bucket": bucket, "module": request.module}),
            ))
        }
        (&Method::DELETE, ["buckets", bucket, "policy"]) => {
            catalog::detach(&state.pool, bucket).await?;
            refresh(state).await;
            Ok(no_content())
        }
        (&Method::POST, ["buckets", bucket, "explain"]) => {
            let described: explain::DescribedRequest =
                serde_json::from_slice(&body).map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "InvalidRequest",
                        format!(
                            "expected {{\"operation\": NAME, \"key\", \"account\", \
                             \"source_ip\", \"headers\", ...}}: {e}"
                        ),
                    )
                })?;
            let explanation = explain::explain(state, bucket, &described).await?;
            Ok(json_response(StatusCode::OK, json!(explanation)))
        }
        _ => Err(ApiError::not_found()),
    }
}

/// Applies a change made through this process at once (others see it at their next poll).
async fn refresh(state: &AppState) {
    if let Err(e) = state.policies.refresh().await {
        tracing::warn!(error = %e, "refreshing policy attachments after a change failed");
    }
}
