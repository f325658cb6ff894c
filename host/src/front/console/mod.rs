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
//! | `GET /login`                         | the login page                                          |
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
//!
//! Security: see [`session`] (cookie, expiry, revocation), [`guard`] (CSRF token and
//! `Origin` on every `/api` request, security headers), [`login`] (rate limits).

pub mod assets;

use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::http::body::{ResponseBody, empty, full};
use crate::state::AppState;

/// The console door: shared state and the embedded files.
#[derive(Clone)]
pub struct Console {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<AppState>,
    assets: assets::Assets,
}

impl Console {
    /// A console serving `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Console {
            inner: Arc::new(Inner {
                state,
                assets: assets::Assets::load(),
            }),
        }
    }

    /// Handles one request to the console listener; never fails.
    pub async fn handle(
        self,
        req: Request<Incoming>,
        _remote: SocketAddr,
    ) -> Response<ResponseBody> {
        let path = req.uri().path().to_string();
        let _ = &self.inner.state;
        match (req.method(), path.as_str()) {
            (&Method::GET, "/login") => html(&self.inner.assets.login_page),
            (&Method::GET, "/") => html(&self.inner.assets.app_page),
            (&Method::GET, p) if p.starts_with("/assets/") => {
                match self.inner.assets.file(&p["/assets/".len()..]) {
                    Some(asset) => {
                        let mut resp = Response::new(full(asset.bytes));
                        let h = resp.headers_mut();
                        h.insert(
                            http::header::CONTENT_TYPE,
                            HeaderValue::from_static(asset.content_type),
                        );
                        resp
                    }
                    None => status(StatusCode::NOT_FOUND),
                }
            }
            _ => status(StatusCode::NOT_FOUND),
        }
    }
}

fn html(page: &str) -> Response<ResponseBody> {
    let mut resp = Response::new(full(page.to_string()));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

fn status(code: StatusCode) -> Response<ResponseBody> {
    let mut resp = Response::new(empty());
    *resp.status_mut() = code;
    resp
}
