//! What every console response carries and every console API request must show.
//!
//! The console shares a site with the S3 endpoint (browsers treat other ports of one host
//! as the same site, so `SameSite=Strict` alone does not stop a page served by S3 from
//! sending the console's cookie), hence two checks on top of the cookie:
//! - `Origin` must be the console's own on every request that changes anything (and on
//!   login): a cross-site form or `fetch()` carries its own origin;
//! - `X-CSRF-Token` must echo the session's token on every API request but login and the
//!   session read: another origin cannot read that token (no CORS here), and a top-level
//!   navigation cannot set a header, so an HTML object fetched through the S3 proxy never
//!   renders on the console's origin either.

use http::{HeaderMap, HeaderValue, Method, header};
use subtle::ConstantTimeEq;

/// The console's Content-Security-Policy: its own scripts and styles only, nothing inline,
/// no frames, no plugins, forms post to itself.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// What proxied S3 responses carry: whatever the bytes are, a browser that somehow
/// rendered them would run nothing, and saves rather than displays them.
pub const SANDBOX_CSP: &str = "sandbox; default-src 'none'";

/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Adds the headers every console response carries. `secure`: the listener has TLS (HSTS).
pub fn add_security_headers(headers: &mut HeaderMap, secure: bool) {
    let set = [
        ("x-content-type-options", "nosniff"),
        // Presigned URLs travel in pages; never leak one in a Referer.
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

/// Whether `method` may change state (and so must come from the console's origin).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The console's origin for a request: the configured one, or the listener's scheme with
/// the request's `Host`.
pub fn expected_origin(
    configured: Option<&str>,
    headers: &HeaderMap,
    secure: bool,
) -> Option<String> {
    if let Some(origin) = configured {
        return Some(origin.to_string());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if secure { "https" } else { "http" };
    Some(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// Whether the request's `Origin` is `expected` (a missing `Origin` is not).
pub fn origin_matches(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(expected) = expected else {
        return false;
    };
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin.eq_ignore_ascii_case(expected))
}

/// Whether the request's `X-CSRF-Token` is `token`, compared in constant time.
pub fn csrf_matches(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(CSRF_HEADER)
        .is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(token.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_origin_is_the_hosts_unless_configured() {
        let h = headers(&[
            ("host", "127.0.0.1:9002"),
            ("origin", "http://127.0.0.1:9002"),
        ]);
        let expected = expected_origin(None, &h, false);
        assert_eq!(expected.as_deref(), Some("http://127.0.0.1:9002"));
        assert!(origin_matches(&h, expected.as_deref()));
        // The S3 endpoint's pages are another origin on the same site.
        let s3 = headers(&[
            ("host", "127.0.0.1:9002"),
            ("origin", "http://127.0.0.1:9000"),
        ]);
        assert!(!origin_matches(&s3, expected.as_deref()));
        // Under TLS the scheme differs.
        assert!(!origin_matches(
            &h,
            expected_origin(None, &h, true).as_deref()
        ));
        // Behind a proxy, the configured origin.
        let proxied = headers(&[
            ("host", "10.0.0.5:9002"),
            ("origin", "https://console.example"),
        ]);
        let configured = expected_origin(Some("https://console.example"), &proxied, false);
        assert!(origin_matches(&proxied, configured.as_deref()));
        // No Origin, no match.
        assert!(!origin_matches(
            &headers(&[("host", "x")]),
            Some("http://x")
        ));
    }

    #[test]
    fn the_csrf_token_must_be_echoed_exactly() {
        assert!(csrf_matches(&headers(&[("x-csrf-token", "abc")]), "abc"));
        assert!(!csrf_matches(&headers(&[("x-csrf-token", "abd")]), "abc"));
        assert!(!csrf_matches(&headers(&[("x-csrf-token", "ab")]), "abc"));
        assert!(!csrf_matches(&HeaderMap::new(), "abc"));
    }

    #[test]
    fn responses_get_a_strict_policy_and_no_caching() {
        let mut h = HeaderMap::new();
        add_security_headers(&mut h, true);
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CSP);
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(h.contains_key(header::STRICT_TRANSPORT_SECURITY));
        let mut plain = HeaderMap::new();
        add_security_headers(&mut plain, false);
        assert!(!plain.contains_key(header::STRICT_TRANSPORT_SECURITY));
    }
}
