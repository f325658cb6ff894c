//! A web console session as a browser holds it: the cookie `POST /api/login` set, the
//! CSRF token it returned, and the console's origin, sent with every request.

use crate::raw::{RawRequest, RawResponse};
use crate::server::{AccountKeys, TestServer};

/// A logged-in console session.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// `127.0.0.1:PORT` of the console.
    pub addr: String,
    /// `name=value` of the session cookie.
    pub cookie: String,
    /// The whole `Set-Cookie` header of the login.
    pub set_cookie: String,
    /// The CSRF token.
    pub csrf: String,
    /// The login answer.
    pub info: serde_json::Value,
}

/// `POST /api/login` with `access_key` and `secret_key`, from the console's origin.
pub async fn login_request(server: &TestServer, access_key: &str, secret_key: &str) -> RawResponse {
    let body = serde_json::json!({"access_key": access_key, "secret_key": secret_key});
    server
        .console_raw("POST", "/api/login")
        .header("origin", &server.console_endpoint())
        .header("content-type", "application/json")
        .body(body.to_string().into_bytes())
        .send()
        .await
}

impl ConsoleSession {
    /// Logs in with `keys` (panics on failure).
    pub async fn login(server: &TestServer, keys: &AccountKeys) -> ConsoleSession {
        let resp = login_request(server, &keys.access_key, &keys.secret_key).await;
        assert_eq!(resp.status, 200, "console login: {}", resp.text());
        let set_cookie = resp.header("set-cookie").expect("login sets a cookie");
        let cookie = set_cookie
            .split(';')
            .next()
            .expect("cookie pair")
            .to_string();
        let info: serde_json::Value = serde_json::from_slice(&resp.body).expect("login JSON");
        let csrf = info["csrf_token"].as_str().expect("csrf_token").to_string();
        ConsoleSession {
            addr: format!(
                "127.0.0.1:{}",
                server
                    .console_endpoint()
                    .rsplit(':')
                    .next()
                    .unwrap_or_default()
            ),
            cookie,
            set_cookie,
            csrf,
            info,
        }
    }

    /// The console's origin, `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A request with the cookie, the CSRF token and the console's origin.
    pub fn request(&self, method: &str, path: &str) -> RawRequest {
        RawRequest::new(&self.addr, method, path)
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .header("origin", &self.origin())
    }

    /// An S3 request through the console, `path` being the path-style S3 path
    /// (`/bucket/key`, percent-encoded).
    pub fn s3(&self, method: &str, path: &str) -> RawRequest {
        self.request(method, &format!("/api/s3{path}"))
    }

    /// A JSON API call; the status and the parsed body (`Null` when empty).
    pub async fn json(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string().into_bytes());
        }
        let resp = req.send().await;
        let value = if resp.body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&resp.body)
                .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", resp.text()))
        };
        (resp.status, value)
    }
}
