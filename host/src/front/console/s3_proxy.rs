//! `/api/s3/{bucket}/{key}?{query}`: the console's S3 requests, run through the S3
//! pipeline (`front::s3_service::handle_as`) as the session's account. Routing,
//! the bucket's policy module, metadata validation, limits and errors are the S3
//! listener's own; only the proof of identity differs (the session instead of a
//! signature), so the console can do nothing the account could not do with s3cmd.

use http::{HeaderName, HeaderValue, Request, Response, Uri, header};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;

use super::guard;
use crate::front::s3_service::{self, Caller};
use crate::http::body::ResponseBody;
use crate::state::AppState;
use crate::store::accounts::Account;

/// The path prefix of proxied S3 requests.
pub const PREFIX: &str = "/api/s3";

/// Request headers not passed on: the browser's credentials and origin (the session
/// stands for them), and signing headers, which mean nothing without a signature.
const DROPPED: &[&str] = &[
    "cookie",
    "authorization",
    "origin",
    "referer",
    guard::CSRF_HEADER,
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-decoded-content-length",
];

/// Query parameters of presigned URLs: a console request is never one.
const PRESIGN_PARAMS: &[&str] = &[
    "x-amz-signature",
    "x-amz-credential",
    "signature",
    "awsaccesskeyid",
];

/// Why a request cannot be proxied.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// A presigned URL's parameters, or a path not under [`PREFIX`].
    #[error("{0}")]
    BadRequest(&'static str),
}

/// Runs `req` (a `/api/s3/...` request) as `account` and returns S3's response, made inert
/// for the console's origin.
pub async fn run(
    state: Arc<AppState>,
    req: Request<Incoming>,
    remote: SocketAddr,
    account: Account,
    s3_host: &str,
) -> Result<Response<ResponseBody>, ProxyError> {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path()
        .strip_prefix(PREFIX)
        .ok_or(ProxyError::BadRequest("not an S3 request"))?;
    let path = if path.is_empty() { "/" } else { path };
    if !path.starts_with('/') {
        return Err(ProxyError::BadRequest("not an S3 request"));
    }
    let query = parts.uri.query();
    if query.is_some_and(is_presigned) {
        return Err(ProxyError::BadRequest(
            "console requests carry no presigned-URL parameters",
        ));
    }
    let target = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    parts.uri = target
        .parse::<Uri>()
        .map_err(|_| ProxyError::BadRequest("not a valid S3 path"))?;
    for name in DROPPED {
        parts.headers.remove(*name);
    }
    // Path style, addressed to the S3 endpoint (whose name `Location` answers carry).
    if let Ok(host) = HeaderValue::from_str(s3_host) {
        parts.headers.insert(header::HOST, host);
    }
    let is_head = parts.method == http::Method::HEAD;
    let req = Request::from_parts(parts, body);
    let mut response = s3_service::handle_as(state, req, remote, Caller::Session(account)).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(guard::SANDBOX_CSP),
    );
    // A HEAD has no bytes to render: it keeps the object's own disposition, which is how
    // the console reads it to edit the object's metadata.
    if !is_head {
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    h.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Whether `query` carries presigned-URL parameters.
fn is_presigned(query: &str) -> bool {
    query.split('&').any(|pair| {
        let name = pair.split('=').next().unwrap_or_default();
        PRESIGN_PARAMS.iter().any(|p| name.eq_ignore_ascii_case(p))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn presigned_parameters_are_recognised() {
        assert!(super::is_presigned("X-Amz-Signature=abc"));
        assert!(super::is_presigned("a=1&AWSAccessKeyId=K"));
        assert!(!super::is_presigned("list-type=2&prefix=x"));
    }
}
