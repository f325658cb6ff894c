//! What every S3 handler knows about its request once it is routed and authenticated
//! ([`RequestContext`], [`Principal`]), and the plain responses they share. Built by the
//! front door (`front::s3_service`), read by the handlers below it.

use http::{HeaderValue, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::auth;
use crate::http::body::{ResponseBody, empty, full};
use crate::policy::registry::BucketPolicy;
use crate::s3::router;
use crate::store::accounts::Account;
use crate::store::buckets::Bucket;

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

/// The request's bucket as read with the caller's access key, in the same statement
/// (`buckets::find_active_key_and_bucket`): a signed request that names a bucket reads
/// both in one round trip. The first load of the bucket takes it; any later load reads
/// the database again, so a handler that changes its bucket and reads it back sees its
/// change. Nothing is kept beyond the request: this is no cache.
#[derive(Debug, Default)]
pub struct PrefetchedBucket(Mutex<Option<(String, Option<Bucket>)>>);

impl PrefetchedBucket {
    /// Bucket `name` as read (`None`: there is no such bucket).
    pub fn new(name: String, bucket: Option<Bucket>) -> Self {
        Self(Mutex::new(Some((name, bucket))))
    }

    /// What was read of bucket `name`, the first time it is asked; `None` when nothing
    /// was read of it (or it was already taken).
    pub fn take(&self, name: &str) -> Option<Option<Bucket>> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.take() {
            Some((read, bucket)) if read == name => Some(bucket),
            _ => None,
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
    /// The bucket, read while authenticating (see [`PrefetchedBucket`]).
    pub prefetched_bucket: PrefetchedBucket,
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

#[cfg(test)]
mod tests {
    use super::PrefetchedBucket;

    #[test]
    fn a_prefetched_bucket_is_taken_once_and_only_by_its_name() {
        // Read as missing: the first load of that name gets "no such bucket".
        let read = PrefetchedBucket::new("photos".into(), None);
        assert!(matches!(read.take("photos"), Some(None)));
        // A second load reads the database again.
        assert!(read.take("photos").is_none());

        let read = PrefetchedBucket::new("photos".into(), None);
        assert!(read.take("other").is_none());
        assert!(PrefetchedBucket::default().take("photos").is_none());
    }
}
