//! The web console: a door on its own listener (`--console-listen`), so that no object the
//! S3 endpoint serves ever runs as the console, whose pages and one script are embedded in
//! the binary ([`assets`]).
//!
//! The console is the S3 API, not a side API: every bucket and object action the page
//! takes is an S3 request (`/api/s3/...`) run through the S3 pipeline with the session's
//! account as principal, so it can do nothing that account could not do with s3cmd, and
//! policy modules decide it exactly as they decide the same signed request. What S3 has no
//! operation for (sessions, the account's keys, presigned URLs, the CORS test box, the
//! bucket's policy module) has a small JSON API beside it.
//!
//! | Method and path                      | What                                                    |
//! |--------------------------------------|---------------------------------------------------------|
//! | `GET /`                              | the console page (303 to `/login` without a session)    |
//! | `GET /login`                         | the login page (303 to `/` with a session)              |
//! | `GET /assets/{name}`                 | embedded scripts and styles                             |
//! | `POST /api/login`                    | `{"access_key", "secret_key"}` → session cookie          |
//! | `POST /api/logout`                   | ends the session                                        |
//! | `GET /api/session`                   | the account, the CSRF token, the S3 endpoint            |
//! | `ANY /api/s3/{bucket}/{key}?{query}` | the S3 request, path style, as the session's account    |
//! | `POST /api/presign`                  | a presigned GET or PUT URL on the S3 endpoint           |
//! | `GET /api/keys`, `POST /api/keys`    | the account's access keys; create one                   |
//! | `DELETE /api/keys/{access_key}`      | revoke one of them                                      |
//! | `POST /api/cors-test`                | which CORS rule the bucket's module matches             |
//! | `GET/PUT/DELETE /api/buckets/{b}/policy` | the bucket's policy module (changes: administrators)|
//! | `GET /api/policies`                  | stored modules (administrators)                         |
//! | `POST /api/buckets/{b}/explain`      | why a described request would be allowed or denied (owner, administrators) |
//!
//! Security: see [`session`] (cookie, expiry, revocation), [`guard`] (CSRF token and
//! `Origin` on every `/api` request, security headers), [`login`] (rate limits).

pub mod api;
pub mod assets;
pub mod guard;
pub mod login;
pub mod s3_proxy;
pub mod session;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use tracing::Instrument;

use crate::front::client_addr::client_addr;
use crate::http::body::{ResponseBody, empty, full};
use crate::state::AppState;
use api::{ApiError, Endpoint, json_response};
use session::Session;

/// Largest JSON request body (a policy configuration is at most 16 KiB).
const MAX_JSON_BODY: usize = 64 << 10;

/// The console door: shared state, the embedded files, the login rate limits.
#[derive(Clone)]
pub struct Console {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<AppState>,
    assets: assets::Assets,
    limiter: login::RateLimiter,
    /// The S3 listener's address (its port, for the endpoint the console shows).
    s3_local: SocketAddr,
    /// Whether browsers reach the console over HTTPS (TLS here or at a proxy).
    secure: bool,
}

impl Console {
    /// A console serving `state`, pointing its users at the S3 listener on `s3_local`.
    /// `tls`: the listeners have TLS. Behind a reverse proxy that terminates TLS
    /// (`--console-origin https://...`) browsers see HTTPS too: the cookie is `Secure`
    /// then as well.
    pub fn new(state: Arc<AppState>, s3_local: SocketAddr, tls: bool) -> Self {
        let secure = tls
            || state
                .config
                .console
                .origin
                .as_deref()
                .is_some_and(|o| o.starts_with("https://"));
        Console {
            inner: Arc::new(Inner {
                state,
                assets: assets::Assets::load(),
                limiter: login::RateLimiter::default(),
                s3_local,
                secure,
            }),
        }
    }

    /// Handles one request to the console listener; never fails.
    pub async fn handle(
        self,
        req: Request<Incoming>,
        remote: SocketAddr,
    ) -> Response<ResponseBody> {
        let span = tracing::info_span!(
            "console",
            method = %req.method(),
            path = %req.uri().path(),
            account = tracing::field::Empty,
        );
        async move {
            let mut response = match self.route(req, remote).await {
                Ok(response) => response,
                Err(e) => e.into_response(),
            };
            guard::add_security_headers(response.headers_mut(), self.inner.secure);
            tracing::debug!(status = response.status().as_u16(), "done");
            response
        }
        .instrument(span)
        .await
    }

    async fn route(
        &self,
        req: Request<Incoming>,
        remote: SocketAddr,
    ) -> Result<Response<ResponseBody>, ApiError> {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let state = &self.inner.state;
        match (&method, path.as_str()) {
            (&Method::GET, "/login") => {
                // Someone already logged in goes on to the console.
                return Ok(match self.session(req.headers()).await? {
                    Some(_) => redirect("/"),
                    None => html(&self.inner.assets.login_page),
                });
            }
            (&Method::GET, "/") => {
                return Ok(match self.session(req.headers()).await? {
                    Some(_) => html(&self.inner.assets.app_page),
                    None => redirect("/login"),
                });
            }
            (&Method::GET, p) if p.starts_with("/assets/") => {
                return Ok(self.asset(&p["/assets/".len()..], req.uri().query()));
            }
            (&Method::POST, "/api/login") => {
                // Behind a trusted reverse proxy, the rate limit counts the client's address.
                let client = client_addr(remote, req.headers(), &state.config.trusted_proxies);
                return self.login(req, client).await;
            }
            _ if !path.starts_with("/api/") => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    "no such page",
                ));
            }
            _ => {}
        }
        let session = self
            .session(req.headers())
            .await?
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "NoSession", "log in first"))?;
        tracing::Span::current().record("account", session.account.name.as_str());
        if guard::changes_state(&method) && !self.same_origin(req.headers()) {
            return Err(origin_mismatch());
        }
        if method == Method::GET && path == "/api/session" {
            let endpoint = self.endpoint(req.headers());
            let body = api::session_info(state, &session, &endpoint).await?;
            return Ok(json_response(StatusCode::OK, &body));
        }
        if !guard::csrf_matches(req.headers(), &session.csrf_token) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "CsrfTokenMismatch",
                "the request lacks the session's CSRF token",
            ));
        }
        if path == s3_proxy::PREFIX || path.starts_with(&format!("{}/", s3_proxy::PREFIX)) {
            // `remote` is the peer: the S3 pipeline derives the client from it and the
            // forwarded headers, as for its own requests.
            let s3_host = self.endpoint(req.headers()).host;
            return s3_proxy::run(state.clone(), req, remote, session.account, &s3_host)
                .await
                .map_err(|e| ApiError::bad_request(e.to_string()));
        }
        self.api(req, &session, &path).await
    }

    /// The JSON routes of an authenticated, CSRF-checked request.
    async fn api(
        &self,
        req: Request<Incoming>,
        session: &Session,
        path: &str,
    ) -> Result<Response<ResponseBody>, ApiError> {
        let state = &self.inner.state;
        let method = req.method().clone();
        let endpoint = self.endpoint(req.headers());
        let segments: Vec<&str> = path
            .trim_start_matches("/api/")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let ok = |body: serde_json::Value| Ok(json_response(StatusCode::OK, &body));
        match (&method, segments.as_slice()) {
            (&Method::POST, ["logout"]) => {
                if let Some(token) = session::token_from_headers(req.headers(), self.inner.secure) {
                    session::close(state, &token).await?;
                }
                let mut resp = status(StatusCode::NO_CONTENT);
                set_header(
                    &mut resp,
                    header::SET_COOKIE,
                    &session::clear_cookie(self.inner.secure),
                );
                Ok(resp)
            }
            (&Method::GET, ["keys"]) => ok(api::list_keys(state, session).await?),
            (&Method::POST, ["keys"]) => {
                let body = api::create_key(state, session).await?;
                Ok(json_response(StatusCode::CREATED, &body))
            }
            (&Method::DELETE, ["keys", key]) => {
                let key = decode(key)?;
                api::revoke_key(state, session, &key).await?;
                Ok(status(StatusCode::NO_CONTENT))
            }
            (&Method::POST, ["presign"]) => {
                let body = json_body(req).await?;
                ok(api::presign(state, session, &endpoint, &api::parse(&body)?).await?)
            }
            (&Method::POST, ["cors-test"]) => {
                let body = json_body(req).await?;
                ok(api::cors_test(state, &api::parse(&body)?).await?)
            }
            (&Method::GET, ["policies"]) => ok(api::list_policies(state, session).await?),
            (&Method::GET, ["buckets", bucket, "policy"]) => {
                ok(api::bucket_policy(state, session, &decode(bucket)?).await?)
            }
            (&Method::PUT, ["buckets", bucket, "policy"]) => {
                let bucket = decode(bucket)?;
                let body = json_body(req).await?;
                ok(api::attach_policy(state, session, &bucket, &api::parse(&body)?).await?)
            }
            (&Method::DELETE, ["buckets", bucket, "policy"]) => {
                api::detach_policy(state, session, &decode(bucket)?).await?;
                Ok(status(StatusCode::NO_CONTENT))
            }
            (&Method::POST, ["buckets", bucket, "explain"]) => {
                let bucket = decode(bucket)?;
                let body = json_body(req).await?;
                ok(api::explain(state, session, &bucket, &api::parse(&body)?).await?)
            }
            _ => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                "no such API route",
            )),
        }
    }

    /// `POST /api/login` from `client`.
    async fn login(
        &self,
        req: Request<Incoming>,
        client: SocketAddr,
    ) -> Result<Response<ResponseBody>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Credentials {
            access_key: String,
            secret_key: String,
        }
        // Login CSRF too: a page elsewhere must not log the browser into its account.
        if !self.same_origin(req.headers()) {
            return Err(origin_mismatch());
        }
        let state = &self.inner.state;
        let endpoint = self.endpoint(req.headers());
        let body = json_body(req).await?;
        let creds: Credentials = api::parse(&body)?;
        let verified = login::verify(
            state,
            &self.inner.limiter,
            client.ip(),
            &creds.access_key,
            &creds.secret_key,
        )
        .await;
        let account = match verified {
            Ok(account) => account,
            Err(login::LoginError::InvalidCredentials) => {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "InvalidCredentials",
                    "The access key or the secret key is wrong.",
                ));
            }
            Err(login::LoginError::TooManyAttempts(wait)) => {
                let seconds = wait.as_secs().max(1);
                let mut resp = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    &serde_json::json!({
                        "error": "TooManyAttempts",
                        "message": format!("Too many failed logins; try again in {seconds} seconds."),
                        "retry_after_seconds": seconds,
                    }),
                );
                set_header(&mut resp, header::RETRY_AFTER, &seconds.to_string());
                return Ok(resp);
            }
            Err(login::LoginError::Internal(e)) => return Err(ApiError::internal(e)),
        };
        let (token, _) = session::open(state, &creds.access_key).await?;
        let session = session::resume(state, &token)
            .await?
            .ok_or_else(|| ApiError::internal("a new session is not valid"))?;
        tracing::info!(account = %account.name, access_key = %creds.access_key, "console login");
        let body = api::session_info(state, &session, &endpoint).await?;
        let mut resp = json_response(StatusCode::OK, &body);
        set_header(
            &mut resp,
            header::SET_COOKIE,
            &session::set_cookie(
                &token,
                self.inner.secure,
                state.config.console.session_lifetime,
            ),
        );
        Ok(resp)
    }

    /// The request's valid session, if any.
    async fn session(&self, headers: &http::HeaderMap) -> Result<Option<Session>, ApiError> {
        match session::token_from_headers(headers, self.inner.secure) {
            Some(token) => Ok(session::resume(&self.inner.state, &token).await?),
            None => Ok(None),
        }
    }

    /// Whether the request comes from the console's own origin.
    fn same_origin(&self, headers: &http::HeaderMap) -> bool {
        let expected = guard::expected_origin(
            self.inner.state.config.console.origin.as_deref(),
            headers,
            self.inner.secure,
        );
        guard::origin_matches(headers, expected.as_deref())
    }

    /// The S3 endpoint as this request's user reaches it: `--s3-url`, or the console's
    /// host name with the S3 listener's port.
    fn endpoint(&self, headers: &http::HeaderMap) -> Endpoint {
        if let Some(url) = &self.inner.state.config.console.s3_url {
            let host = url
                .split_once("://")
                .map_or(url.as_str(), |(_, rest)| rest)
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            return Endpoint {
                url: url.clone(),
                host,
            };
        }
        let console_host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let name = host_name(console_host)
            .map(str::to_string)
            .unwrap_or_else(|| self.inner.s3_local.ip().to_string());
        let host = format!("{name}:{}", self.inner.s3_local.port());
        let scheme = if self.inner.secure { "https" } else { "http" };
        Endpoint {
            url: format!("{scheme}://{host}"),
            host,
        }
    }

    /// `/assets/{name}`: immutable when asked for by its current version.
    fn asset(&self, name: &str, query: Option<&str>) -> Response<ResponseBody> {
        let Some(asset) = self.inner.assets.file(name) else {
            return ApiError::new(StatusCode::NOT_FOUND, "NotFound", "no such file")
                .into_response();
        };
        let mut resp = Response::new(full(asset.bytes.clone()));
        set_header(&mut resp, header::CONTENT_TYPE, asset.content_type);
        let current = query == Some(format!("v={}", asset.version).as_str());
        let cache = if current {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        set_header(&mut resp, header::CACHE_CONTROL, cache);
        resp
    }
}

/// The host name of a `Host` header (`name`, `name:port`, `[v6]:port`).
fn host_name(host: &str) -> Option<&str> {
    if host.is_empty() {
        return None;
    }
    if host.starts_with('[') {
        return host.find(']').map(|end| &host[..=end]);
    }
    Some(host.rsplit_once(':').map_or(host, |(name, _)| name))
}

fn origin_mismatch() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "OriginMismatch",
        "the request does not come from the console's origin",
    )
}

/// A path segment, percent-decoded.
fn decode(segment: &str) -> Result<String, ApiError> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::bad_request("path segment is not UTF-8"))
}

/// A JSON request body (`Content-Type: application/json`, at most 64 KiB).
async fn json_body(req: Request<Incoming>) -> Result<Bytes, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "the body must be application/json",
        ));
    }
    Limited::new(req.into_body(), MAX_JSON_BODY)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLarge",
                format!("the body is over {MAX_JSON_BODY} bytes or was cut off"),
            )
        })
}

fn html(page: &str) -> Response<ResponseBody> {
    let mut resp = Response::new(full(page.to_string()));
    set_header(&mut resp, header::CONTENT_TYPE, "text/html; charset=utf-8");
    resp
}

fn redirect(to: &'static str) -> Response<ResponseBody> {
    let mut resp = status(StatusCode::SEE_OTHER);
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    resp
}

fn status(code: StatusCode) -> Response<ResponseBody> {
    let mut resp = Response::new(empty());
    *resp.status_mut() = code;
    resp
}

fn set_header(resp: &mut Response<ResponseBody>, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_names_drop_the_port() {
        assert_eq!(super::host_name("127.0.0.1:9002"), Some("127.0.0.1"));
        assert_eq!(super::host_name("[::1]:9002"), Some("[::1]"));
        assert_eq!(super::host_name("console.example"), Some("console.example"));
        assert_eq!(super::host_name(""), None);
    }
}
