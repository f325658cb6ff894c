//! Console sessions as the browser holds them: a 256-bit random token in an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure`, with the `__Host-` prefix, under TLS), whose SHA-256
//! finds the session in PostgreSQL ([`crate::store::console_sessions`]), so every
//! `coffer` process sharing the database honours it, and revoking the key it was opened
//! with ends it everywhere. Sessions end after `--console-idle-timeout` unused and
//! `--console-session-lifetime` after login.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::time::Duration;

use crate::state::AppState;
use crate::store::{self, console_sessions};

pub use console_sessions::Session;

/// The cookie's name over plain HTTP.
const COOKIE: &str = "coffer_console";
/// Its name under TLS: browsers only accept a `__Host-` cookie that is `Secure`, has
/// `Path=/` and no `Domain`, so no other host (and no plain-HTTP page) can set it.
const SECURE_COOKIE: &str = "__Host-coffer_console";

/// A fresh random token: 32 bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token.
fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The cookie's name on a listener with or without TLS.
fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}

/// The session token in a request's `Cookie` headers, if any.
pub fn token_from_headers(headers: &http::HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The `Set-Cookie` value that gives the browser `token` for `lifetime`.
pub fn set_cookie(token: &str, secure: bool, lifetime: Duration) -> String {
    let mut cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        cookie_name(secure),
        lifetime.as_secs()
    );
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", secure, Duration::ZERO)
}

/// Opens a session for `access_key`; returns its token and CSRF token.
pub async fn open(state: &AppState, access_key: &str) -> Result<(String, String), store::Error> {
    let token = random_token();
    let csrf = random_token();
    let expires = state.now() + state.config.console.session_lifetime;
    console_sessions::create(&state.pool, &token_hash(&token), access_key, &csrf, expires).await?;
    // Now and then, not on a timer: expired rows are harmless (lookups ignore them) and
    // logins are where sessions accumulate.
    if rand::random::<u8>() < 8 {
        let idle = idle_timeout(state);
        if let Err(e) = console_sessions::delete_expired(&state.pool, state.now(), idle).await {
            tracing::warn!(error = %e, "removing expired console sessions failed");
        }
    }
    Ok((token, csrf))
}

fn idle_timeout(state: &AppState) -> time::Duration {
    time::Duration::try_from(state.config.console.idle_timeout).unwrap_or(time::Duration::MAX)
}

/// The valid session of `token`, its idle timeout restarted. Writes at most once per
/// quarter of the idle timeout (and at least once a minute), not on every request.
pub async fn resume(state: &AppState, token: &str) -> Result<Option<Session>, store::Error> {
    let hash = token_hash(token);
    let now = state.now();
    let idle = idle_timeout(state);
    let Some(session) = console_sessions::find_valid(&state.pool, &hash, now, idle).await? else {
        return Ok(None);
    };
    let granularity = std::cmp::min(idle / 4_i32, time::Duration::minutes(1));
    if now - session.last_seen >= granularity {
        console_sessions::touch(&state.pool, &hash, now).await?;
    }
    Ok(Some(session))
}

/// Ends the session of `token` (logout).
pub async fn close(state: &AppState, token: &str) -> Result<(), store::Error> {
    console_sessions::delete(&state.pool, &token_hash(token)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_strict_and_secure_under_tls() {
        let plain = set_cookie("t", false, Duration::from_secs(60));
        assert_eq!(
            plain,
            "coffer_console=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        let tls = set_cookie("t", true, Duration::from_secs(60));
        assert!(tls.starts_with("__Host-coffer_console=t; Path=/; HttpOnly; SameSite=Strict"));
        assert!(tls.ends_with("; Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn the_token_is_read_from_the_right_cookie() {
        let mut headers = http::HeaderMap::new();
        headers.append(
            http::header::COOKIE,
            http::HeaderValue::from_static("other=1; coffer_console=abc"),
        );
        headers.append(
            http::header::COOKIE,
            http::HeaderValue::from_static("__Host-coffer_console=def"),
        );
        assert_eq!(token_from_headers(&headers, false).as_deref(), Some("abc"));
        assert_eq!(token_from_headers(&headers, true).as_deref(), Some("def"));
        assert_eq!(token_from_headers(&http::HeaderMap::new(), false), None);
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
