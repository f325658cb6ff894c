//! What every S3 handler knows about its request once it is routed and authenticated
//! ([`RequestContext`], [`Principal`]), and the plain responses they share. Built by the
//! front door (`front::s3_service`), read by the handlers below it.

use http::{HeaderValue, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;

use crate::auth;
use crate::http::body::{ResponseBody, empty, full};
use crate::policy::registry::BucketPolicy;
use crate::s3::router;
use crate::store::accounts::Account;

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

    /// How the request log names the caller.
    pub fn log_name(&self) -> &str {
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
    /// How the request was signed, as policy modules see it; `None` when anonymous.
    pub signature: Option<crate::policy::types::Signature>,
    /// When the request arrived (policy modules see it as the time of the decision).
    pub received_at: time::OffsetDateTime,
    /// Whether the client's connection is TLS: to this server, or to a trusted proxy
    /// that says so (`X-Forwarded-Proto: https`).
    pub secure_transport: bool,
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

    /// The first value of request header `name` (lower case) as policy modules see it
    /// (credentials are not among them).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.policy_headers
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

/// A response with status 200 and no body.
pub fn ok_empty() -> Response<ResponseBody> {
    let mut r = Response::new(empty());
    *r.status_mut() = StatusCode::OK;
    r
}

/// An empty `204 No Content` (S3's answer to most DELETEs of a configuration).
pub fn no_content() -> Response<ResponseBody> {
    let mut r = Response::new(empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
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
