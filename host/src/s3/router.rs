//! Request routing: turns an HTTP request's method, `Host` header, raw path,
//! query and headers into the S3 [`Operation`] it names, plus the bucket and
//! key it addresses ([`Route`]).
//!
//! This module owns addressing (path style vs virtual-host style) and the
//! dispatch table from (method, subresource) to operation. It does no I/O and
//! checks no permissions; [`Operation::class`] only says which kind of access
//! an operation needs so the host can ask the policy engine.
//!
//! Addressing: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html>.

use std::fmt;

use http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;

use super::names::{NameError, ObjectKey};

/// An S3 operation, named as in the Amazon S3 API reference
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET /` — list the caller's buckets.
    ListBuckets,
    /// `PUT /bucket`.
    CreateBucket,
    /// `HEAD /bucket`.
    HeadBucket,
    /// `DELETE /bucket`.
    DeleteBucket,
    /// `GET /bucket?location`.
    GetBucketLocation,
    /// `GET /bucket` (version 1 listing).
    ListObjects,
    /// `GET /bucket?list-type=2`.
    ListObjectsV2,
    /// `GET /bucket?versions`.
    ListObjectVersions,
    /// `PUT /bucket/key`.
    PutObject,
    /// `GET /bucket/key`.
    GetObject,
    /// `HEAD /bucket/key`.
    HeadObject,
    /// `DELETE /bucket/key`.
    DeleteObject,
    /// `POST /bucket?delete`.
    DeleteObjects,
    /// `GET /bucket?acl`.
    GetBucketAcl,
    /// `PUT /bucket?acl`.
    PutBucketAcl,
    /// `GET /bucket/key?acl`.
    GetObjectAcl,
    /// `PUT /bucket/key?acl`.
    PutObjectAcl,
    /// `GET /bucket?cors`.
    GetBucketCors,
    /// `PUT /bucket?cors`.
    PutBucketCors,
    /// `DELETE /bucket?cors`.
    DeleteBucketCors,
    /// `GET /bucket?versioning`.
    GetBucketVersioning,
    /// `PUT /bucket?versioning`.
    PutBucketVersioning,
    /// `GET /bucket?policy`.
    GetBucketPolicy,
    /// `PUT /bucket?policy`.
    PutBucketPolicy,
    /// `DELETE /bucket?policy`.
    DeleteBucketPolicy,
    /// `GET /bucket?policyStatus`.
    GetBucketPolicyStatus,
    /// `GET /bucket?publicAccessBlock`.
    GetPublicAccessBlock,
    /// `PUT /bucket?publicAccessBlock`.
    PutPublicAccessBlock,
    /// `DELETE /bucket?publicAccessBlock`.
    DeletePublicAccessBlock,
    /// `GET /bucket?ownershipControls`.
    GetBucketOwnershipControls,
    /// `PUT /bucket?ownershipControls`.
    PutBucketOwnershipControls,
    /// `DELETE /bucket?ownershipControls`.
    DeleteBucketOwnershipControls,
    /// `GET /bucket?tagging`.
    GetBucketTagging,
    /// `PUT /bucket?tagging`.
    PutBucketTagging,
    /// `DELETE /bucket?tagging`.
    DeleteBucketTagging,
    /// `GET /bucket?object-lock`.
    GetObjectLockConfiguration,
    /// `PUT /bucket?object-lock`.
    PutObjectLockConfiguration,
    /// `GET /bucket/key?tagging`.
    GetObjectTagging,
    /// `PUT /bucket/key?tagging`.
    PutObjectTagging,
    /// `DELETE /bucket/key?tagging`.
    DeleteObjectTagging,
    /// `GET /bucket/key?retention`.
    GetObjectRetention,
    /// `PUT /bucket/key?retention`.
    PutObjectRetention,
    /// `GET /bucket/key?legal-hold`.
    GetObjectLegalHold,
    /// `PUT /bucket/key?legal-hold`.
    PutObjectLegalHold,
    /// `GET /bucket?lifecycle`.
    GetBucketLifecycleConfiguration,
    /// `PUT /bucket?lifecycle`.
    PutBucketLifecycleConfiguration,
    /// `DELETE /bucket?lifecycle`.
    DeleteBucketLifecycle,
    /// `POST /bucket/key?uploads`.
    CreateMultipartUpload,
    /// `PUT /bucket/key?partNumber=N&uploadId=U`.
    UploadPart,
    /// `PUT /bucket/key?partNumber=N&uploadId=U` with `x-amz-copy-source`.
    UploadPartCopy,
    /// `POST /bucket/key?uploadId=U`.
    CompleteMultipartUpload,
    /// `DELETE /bucket/key?uploadId=U`.
    AbortMultipartUpload,
    /// `GET /bucket/key?uploadId=U`.
    ListParts,
    /// `GET /bucket?uploads`.
    ListMultipartUploads,
    /// `PUT /bucket/key` with `x-amz-copy-source`.
    CopyObject,
    /// `GET /bucket/key?attributes`.
    GetObjectAttributes,
    /// `POST /bucket` with an HTML form body (browser upload).
    PostObject,
    /// `OPTIONS /bucket[/key]`: a browser's CORS preflight, whatever the
    /// query (a presigned URL's included). Never authenticated or authorized:
    /// the bucket's CORS configuration and module answer it.
    Preflight,
    /// A real S3 operation that Coffer recognises but does not implement
    /// (bucket policy, tagging, website, ...). The string is
    /// AWS's operation name, e.g. `"GetBucketPolicy"`; hosts answer
    /// `NotImplemented` (501).
    Unsupported(&'static str),
}

/// The kind of access an operation needs, in the vocabulary of S3 ACL
/// permissions (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#permissions>).
///
/// The class says nothing about *which* resource is checked: for
/// bucket-level operations it is the bucket, for object-level ones the object
/// (or, for writes, the bucket). Copies additionally need [`AccessClass::Read`]
/// on the source object, which the host checks separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessClass {
    /// Read data: get objects, list buckets and objects.
    Read,
    /// Write data: create, overwrite and delete objects and uploads.
    Write,
    /// Read an ACL.
    ReadAcp,
    /// Write an ACL.
    WriteAcp,
    /// Bucket configuration and lifecycle that only the owner may touch.
    Owner,
}

impl Operation {
    /// AWS's name for the operation, e.g. `"PutObject"`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::ListBuckets => "ListBuckets",
            Self::CreateBucket => "CreateBucket",
            Self::HeadBucket => "HeadBucket",
            Self::DeleteBucket => "DeleteBucket",
            Self::GetBucketLocation => "GetBucketLocation",
            Self::ListObjects => "ListObjects",
            Self::ListObjectsV2 => "ListObjectsV2",
            Self::ListObjectVersions => "ListObjectVersions",
            Self::PutObject => "PutObject",
            Self::GetObject => "GetObject",
            Self::HeadObject => "HeadObject",
            Self::DeleteObject => "DeleteObject",
            Self::DeleteObjects => "DeleteObjects",
            Self::GetBucketAcl => "GetBucketAcl",
            Self::PutBucketAcl => "PutBucketAcl",
            Self::GetObjectAcl => "GetObjectAcl",
            Self::PutObjectAcl => "PutObjectAcl",
            Self::GetBucketCors => "GetBucketCors",
            Self::PutBucketCors => "PutBucketCors",
            Self::DeleteBucketCors => "DeleteBucketCors",
            Self::GetBucketVersioning => "GetBucketVersioning",
            Self::PutBucketVersioning => "PutBucketVersioning",
            Self::GetBucketPolicy => "GetBucketPolicy",
            Self::PutBucketPolicy => "PutBucketPolicy",
            Self::DeleteBucketPolicy => "DeleteBucketPolicy",
            Self::GetBucketPolicyStatus => "GetBucketPolicyStatus",
            Self::GetPublicAccessBlock => "GetPublicAccessBlock",
            Self::PutPublicAccessBlock => "PutPublicAccessBlock",
            Self::DeletePublicAccessBlock => "DeletePublicAccessBlock",
            Self::GetBucketOwnershipControls => "GetBucketOwnershipControls",
            Self::PutBucketOwnershipControls => "PutBucketOwnershipControls",
            Self::DeleteBucketOwnershipControls => "DeleteBucketOwnershipControls",
            Self::GetBucketTagging => "GetBucketTagging",
            Self::PutBucketTagging => "PutBucketTagging",
            Self::DeleteBucketTagging => "DeleteBucketTagging",
            Self::GetObjectLockConfiguration => "GetObjectLockConfiguration",
            Self::PutObjectLockConfiguration => "PutObjectLockConfiguration",
            Self::GetObjectTagging => "GetObjectTagging",
            Self::PutObjectTagging => "PutObjectTagging",
            Self::DeleteObjectTagging => "DeleteObjectTagging",
            Self::GetObjectRetention => "GetObjectRetention",
            Self::PutObjectRetention => "PutObjectRetention",
            Self::GetObjectLegalHold => "GetObjectLegalHold",
            Self::PutObjectLegalHold => "PutObjectLegalHold",
            Self::GetBucketLifecycleConfiguration => "GetBucketLifecycleConfiguration",
            Self::PutBucketLifecycleConfiguration => "PutBucketLifecycleConfiguration",
            Self::DeleteBucketLifecycle => "DeleteBucketLifecycle",
            Self::CreateMultipartUpload => "CreateMultipartUpload",
            Self::UploadPart => "UploadPart",
            Self::UploadPartCopy => "UploadPartCopy",
            Self::CompleteMultipartUpload => "CompleteMultipartUpload",
            Self::AbortMultipartUpload => "AbortMultipartUpload",
            Self::ListParts => "ListParts",
            Self::ListMultipartUploads => "ListMultipartUploads",
            Self::CopyObject => "CopyObject",
            Self::GetObjectAttributes => "GetObjectAttributes",
            Self::PostObject => "PostObject",
            Self::Preflight => "Preflight",
            Self::Unsupported(name) => name,
        }
    }

    /// The access class the operation needs (see [`AccessClass`]).
    ///
    /// `GetBucketLocation` is owner-only, as on AWS
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html>);
    /// unsupported operations are all classed [`AccessClass::Owner`], the most
    /// restrictive choice.
    pub fn class(&self) -> AccessClass {
        use AccessClass::*;
        match self {
            // Never authorized (see the variant); classed with reads, which it
            // resembles: it changes nothing.
            Self::Preflight
            | Self::ListBuckets
            | Self::HeadBucket
            | Self::ListObjects
            | Self::ListObjectsV2
            | Self::ListObjectVersions
            | Self::ListMultipartUploads
            | Self::GetObject
            | Self::HeadObject
            | Self::GetObjectAttributes
            | Self::GetObjectTagging
            | Self::ListParts => Read,
            Self::PutObject
            | Self::DeleteObject
            | Self::DeleteObjects
            | Self::CopyObject
            | Self::PostObject
            | Self::CreateMultipartUpload
            | Self::UploadPart
            | Self::UploadPartCopy
            | Self::CompleteMultipartUpload
            | Self::AbortMultipartUpload => Write,
            Self::GetBucketAcl | Self::GetObjectAcl => ReadAcp,
            Self::PutBucketAcl
            | Self::PutObjectAcl
            | Self::PutObjectTagging
            | Self::DeleteObjectTagging => WriteAcp,
            Self::CreateBucket
            | Self::DeleteBucket
            | Self::GetBucketLocation
            | Self::GetBucketCors
            | Self::PutBucketCors
            | Self::DeleteBucketCors
            | Self::GetBucketVersioning
            | Self::PutBucketVersioning
            | Self::GetBucketPolicy
            | Self::PutBucketPolicy
            | Self::DeleteBucketPolicy
            | Self::GetBucketPolicyStatus
            | Self::GetPublicAccessBlock
            | Self::PutPublicAccessBlock
            | Self::DeletePublicAccessBlock
            | Self::GetBucketOwnershipControls
            | Self::PutBucketOwnershipControls
            | Self::DeleteBucketOwnershipControls
            | Self::GetBucketTagging
            | Self::PutBucketTagging
            | Self::DeleteBucketTagging
            | Self::GetObjectLockConfiguration
            | Self::PutObjectLockConfiguration
            | Self::GetObjectRetention
            | Self::PutObjectRetention
            | Self::GetObjectLegalHold
            | Self::PutObjectLegalHold
            | Self::GetBucketLifecycleConfiguration
            | Self::PutBucketLifecycleConfiguration
            | Self::DeleteBucketLifecycle
            | Self::Unsupported(_) => Owner,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request goes: the operation, and the bucket and key it addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The S3 operation.
    pub op: Operation,
    /// The bucket, percent-decoded but **not** validated: only `CreateBucket`
    /// checks the naming rules; other operations on a malformed name simply
    /// find no such bucket. `None` only for [`Operation::ListBuckets`].
    pub bucket: Option<String>,
    /// The object key, percent-decoded and validated with
    /// [`ObjectKey::parse_bytes`]; `None` for bucket-level operations
    /// (including `/bucket/`, whose key would be empty).
    pub key: Option<String>,
    /// `true` when the bucket came from the `Host` header (virtual-host style).
    pub vhost: bool,
}

/// Why a request could not be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The object key in the path is not valid UTF-8 or is too long.
    /// Hosts answer `InvalidURI` or `KeyTooLongError` (400).
    #[error("invalid object key: {0}")]
    InvalidKey(#[from] NameError),
    /// The method is not allowed on the addressed resource
    /// (`MethodNotAllowed`, 405).
    #[error("the specified method is not allowed against this resource")]
    MethodNotAllowed,
    /// The path or query could not be parsed (`InvalidURI`, 400).
    #[error("couldn't parse the specified URI")]
    InvalidUri,
}

/// Routes a request.
///
/// - `host`: the `Host` header (or `:authority`), possibly with a port.
/// - `raw_path`: the request path exactly as received, still percent-encoded.
/// - `query`: the decoded query pairs (see [`parse_query`]).
/// - `domains`: the configured S3 endpoint domains, e.g. `s3.example.test`.
///
/// If the host (lower-cased, port and trailing dot removed) equals a domain,
/// or matches none, the request is path style (`/bucket/key`); if it is
/// `<bucket>.<domain>` the request is virtual-host style and the whole path
/// is the key. When several domains match, the longest wins.
///
/// `OPTIONS` on a bucket or object URL is a CORS preflight
/// ([`Operation::Preflight`]) whatever its query; on `/` it is
/// [`RouteError::MethodNotAllowed`], like every method other than GET, HEAD,
/// PUT, POST and DELETE.
pub fn route(
    method: &Method,
    host: Option<&str>,
    raw_path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    domains: &[String],
) -> Result<Route, RouteError> {
    let path = match raw_path {
        "" => "/",
        p if p.starts_with('/') => p,
        _ => return Err(RouteError::InvalidUri),
    };
    let rest = &path[1..];

    let (bucket, raw_key, vhost) = match host.and_then(|h| vhost_bucket(h, domains)) {
        Some(bucket) => (Some(bucket), rest, true),
        None => {
            let (raw_bucket, raw_key) = rest.split_once('/').unwrap_or((rest, ""));
            if raw_bucket.is_empty() {
                if !raw_key.is_empty() {
                    // "//key": a key with no bucket.
                    return Err(RouteError::InvalidUri);
                }
                (None, "", false)
            } else {
                let bucket = percent_decode_str(raw_bucket)
                    .decode_utf8()
                    .map_err(|_| RouteError::InvalidUri)?;
                (Some(bucket.into_owned()), raw_key, false)
            }
        }
    };

    // Paths are percent-decoded only: '+' is a literal plus in a path.
    let key = if raw_key.is_empty() {
        None
    } else {
        let decoded: Vec<u8> = percent_decode_str(raw_key).collect();
        Some(ObjectKey::parse_bytes(&decoded)?.into_string())
    };

    let op = if method == Method::OPTIONS && bucket.is_some() {
        Operation::Preflight
    } else {
        dispatch(
            method,
            bucket.is_some(),
            key.is_some(),
            Query(query),
            headers.contains_key("x-amz-copy-source"),
        )?
    };
    Ok(Route {
        op,
        bucket,
        key,
        vhost,
    })
}

/// Parses a raw query string (without the leading `?`, though one is
/// tolerated) into decoded `(name, value)` pairs, in order.
///
/// `%XX` escapes are decoded; `+` is kept as a literal `+`, because AWS SDKs
/// always encode a space as `%20` and a plus as `%2B` (SigV4 canonical
/// encoding, <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>).
/// A parameter without `=` gets an empty value (`?acl` → `("acl", "")`).
/// Empty segments (`a&&b`) are skipped. A name or value that is not UTF-8
/// once decoded gives [`RouteError::InvalidUri`]. Malformed escapes such as
/// `%zz` are kept verbatim.
pub fn parse_query(raw_query: &str) -> Result<Vec<(String, String)>, RouteError> {
    let raw_query = raw_query.strip_prefix('?').unwrap_or(raw_query);
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode_component(name)?, decode_component(value)?))
        })
        .collect()
}

fn decode_component(s: &str) -> Result<String, RouteError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| RouteError::InvalidUri)
}

/// The bucket named by a virtual-host-style `Host`, if it is one.
fn vhost_bucket(host: &str, domains: &[String]) -> Option<String> {
    let host = strip_port(host.trim())
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for domain in domains {
        let domain = domain.trim().trim_matches('.');
        if domain.is_empty() {
            continue;
        }
        if host.eq_ignore_ascii_case(domain) {
            return None; // path style
        }
        if host.len() > domain.len() + 1 {
            // `get` rather than slicing: a non-ASCII host must not panic.
            let split = host.len() - domain.len();
            if let (Some(prefix), Some(suffix)) = (host.get(..split), host.get(split..))
                && let Some(bucket) = prefix.strip_suffix('.')
                && suffix.eq_ignore_ascii_case(domain)
                && best.is_none_or(|(len, _)| domain.len() > len)
            {
                best = Some((domain.len(), bucket));
            }
        }
    }
    best.map(|(_, bucket)| bucket.to_owned())
}

/// `host:port` → `host`; `[v6]:port` → `[v6]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The decoded query pairs, with subresource look-ups.
#[derive(Clone, Copy)]
struct Query<'a>(&'a [(String, String)]);

impl Query<'_> {
    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The (method, level, subresource) → operation table.
fn dispatch(
    method: &Method,
    has_bucket: bool,
    has_key: bool,
    q: Query<'_>,
    copy_source: bool,
) -> Result<Operation, RouteError> {
    use Operation::*;
    if !has_bucket {
        return if method == Method::GET {
            Ok(ListBuckets)
        } else {
            Err(RouteError::MethodNotAllowed)
        };
    }
    // A subresource with another method is not the bare resource: `DELETE
    // /bucket?versioning` must never delete the bucket.
    let table = if has_key {
        IMPLEMENTED_OBJECT_SUBRESOURCES
    } else {
        IMPLEMENTED_BUCKET_SUBRESOURCES
    };
    if let Some((_, methods)) = table.iter().find(|(name, _)| q.has(name))
        && !methods.contains(method)
    {
        return Err(RouteError::MethodNotAllowed);
    }
    if !has_key {
        return match *method {
            Method::GET => Ok(if q.has("location") {
                GetBucketLocation
            } else if q.has("acl") {
                GetBucketAcl
            } else if q.has("cors") {
                GetBucketCors
            } else if q.has("uploads") {
                ListMultipartUploads
            } else if q.has("versions") {
                ListObjectVersions
            } else if q.has("versioning") {
                GetBucketVersioning
            } else if q.has("tagging") {
                GetBucketTagging
            } else if q.has("policy") {
                GetBucketPolicy
            } else if q.has("policyStatus") {
                GetBucketPolicyStatus
            } else if q.has("publicAccessBlock") {
                GetPublicAccessBlock
            } else if q.has("ownershipControls") {
                GetBucketOwnershipControls
            } else if q.has("object-lock") {
                GetObjectLockConfiguration
            } else if q.has("lifecycle") {
                GetBucketLifecycleConfiguration
            } else if let Some(op) = unsupported(BUCKET_SUBRESOURCES, method, q)? {
                op
            } else if q.get("list-type") == Some("2") {
                ListObjectsV2
            } else {
                ListObjects
            }),
            Method::PUT => Ok(if q.has("acl") {
                PutBucketAcl
            } else if q.has("cors") {
                PutBucketCors
            } else if q.has("versioning") {
                PutBucketVersioning
            } else if q.has("tagging") {
                PutBucketTagging
            } else if q.has("policy") {
                PutBucketPolicy
            } else if q.has("publicAccessBlock") {
                PutPublicAccessBlock
            } else if q.has("ownershipControls") {
                PutBucketOwnershipControls
            } else if q.has("object-lock") {
                PutObjectLockConfiguration
            } else if q.has("lifecycle") {
                PutBucketLifecycleConfiguration
            } else if let Some(op) = unsupported(BUCKET_SUBRESOURCES, method, q)? {
                op
            } else {
                CreateBucket
            }),
            Method::HEAD => Ok(HeadBucket),
            Method::DELETE => Ok(if q.has("cors") {
                DeleteBucketCors
            } else if q.has("tagging") {
                DeleteBucketTagging
            } else if q.has("policy") {
                DeleteBucketPolicy
            } else if q.has("publicAccessBlock") {
                DeletePublicAccessBlock
            } else if q.has("ownershipControls") {
                DeleteBucketOwnershipControls
            } else if q.has("lifecycle") {
                DeleteBucketLifecycle
            } else if let Some(op) = unsupported(BUCKET_SUBRESOURCES, method, q)? {
                op
            } else {
                DeleteBucket
            }),
            // Any other POST to a bucket is a browser form upload; the
            // PostObject handler checks the content type and answers as AWS
            // does when it is not multipart/form-data
            // (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html).
            Method::POST => Ok(if q.has("delete") {
                DeleteObjects
            } else if let Some(op) = unsupported(BUCKET_SUBRESOURCES, method, q)? {
                op
            } else {
                PostObject
            }),
            _ => Err(RouteError::MethodNotAllowed),
        };
    }
    match *method {
        Method::GET => Ok(if q.has("acl") {
            GetObjectAcl
        } else if q.has("uploadId") {
            ListParts
        } else if q.has("attributes") {
            GetObjectAttributes
        } else if q.has("tagging") {
            GetObjectTagging
        } else if q.has("retention") {
            GetObjectRetention
        } else if q.has("legal-hold") {
            GetObjectLegalHold
        } else if let Some(op) = unsupported(OBJECT_SUBRESOURCES, method, q)? {
            op
        } else {
            GetObject
        }),
        Method::HEAD => Ok(HeadObject),
        Method::PUT => Ok(if q.has("acl") {
            PutObjectAcl
        } else if q.has("tagging") {
            PutObjectTagging
        } else if q.has("retention") {
            PutObjectRetention
        } else if q.has("legal-hold") {
            PutObjectLegalHold
        } else if q.has("partNumber") || q.has("uploadId") {
            // Either parameter alone is still an (invalid) part upload: the
            // handler rejects it rather than silently writing an object.
            if copy_source {
                UploadPartCopy
            } else {
                UploadPart
            }
        } else if let Some(op) = unsupported(OBJECT_SUBRESOURCES, method, q)? {
            op
        } else if copy_source {
            CopyObject
        } else {
            PutObject
        }),
        Method::DELETE => Ok(if q.has("uploadId") {
            AbortMultipartUpload
        } else if q.has("tagging") {
            DeleteObjectTagging
        } else if let Some(op) = unsupported(OBJECT_SUBRESOURCES, method, q)? {
            op
        } else {
            DeleteObject
        }),
        Method::POST => {
            if q.has("uploads") {
                Ok(CreateMultipartUpload)
            } else if q.has("uploadId") {
                Ok(CompleteMultipartUpload)
            } else {
                unsupported(OBJECT_SUBRESOURCES, method, q)?.ok_or(RouteError::MethodNotAllowed)
            }
        }
        _ => Err(RouteError::MethodNotAllowed),
    }
}

/// Bucket subresources Coffer implements and the methods each takes; any other method is
/// `405 MethodNotAllowed`, never the operation on the bucket itself.
const IMPLEMENTED_BUCKET_SUBRESOURCES: &[(&str, &[Method])] = &[
    ("versioning", &[Method::GET, Method::PUT]),
    ("tagging", &[Method::GET, Method::PUT, Method::DELETE]),
    ("object-lock", &[Method::GET, Method::PUT]),
    ("lifecycle", &[Method::GET, Method::PUT, Method::DELETE]),
    ("policy", &[Method::GET, Method::PUT, Method::DELETE]),
    ("policyStatus", &[Method::GET]),
];

/// Object subresources Coffer implements and the methods each takes (see
/// [`IMPLEMENTED_BUCKET_SUBRESOURCES`]).
const IMPLEMENTED_OBJECT_SUBRESOURCES: &[(&str, &[Method])] = &[
    ("tagging", &[Method::GET, Method::PUT, Method::DELETE]),
    ("retention", &[Method::GET, Method::PUT]),
    ("legal-hold", &[Method::GET, Method::PUT]),
];

/// A recognised-but-unimplemented subresource and AWS's operation name for
/// each method it accepts.
struct Subresource {
    name: &'static str,
    get: Option<&'static str>,
    /// GET without an `id` parameter, for the `List...Configurations` family.
    list: Option<&'static str>,
    put: Option<&'static str>,
    delete: Option<&'static str>,
    post: Option<&'static str>,
}

const fn sub(
    name: &'static str,
    get: Option<&'static str>,
    put: Option<&'static str>,
    delete: Option<&'static str>,
) -> Subresource {
    Subresource {
        name,
        get,
        list: None,
        put,
        delete,
        post: None,
    }
}

/// Bucket configuration subresources (`/bucket?name`), from the S3 API
/// reference's operation list.
const BUCKET_SUBRESOURCES: &[Subresource] = &[
    sub(
        "website",
        Some("GetBucketWebsite"),
        Some("PutBucketWebsite"),
        Some("DeleteBucketWebsite"),
    ),
    sub(
        "logging",
        Some("GetBucketLogging"),
        Some("PutBucketLogging"),
        None,
    ),
    sub(
        "notification",
        Some("GetBucketNotificationConfiguration"),
        Some("PutBucketNotificationConfiguration"),
        None,
    ),
    sub(
        "replication",
        Some("GetBucketReplication"),
        Some("PutBucketReplication"),
        Some("DeleteBucketReplication"),
    ),
    sub(
        "encryption",
        Some("GetBucketEncryption"),
        Some("PutBucketEncryption"),
        Some("DeleteBucketEncryption"),
    ),
    sub(
        "requestPayment",
        Some("GetBucketRequestPayment"),
        Some("PutBucketRequestPayment"),
        None,
    ),
    sub(
        "accelerate",
        Some("GetBucketAccelerateConfiguration"),
        Some("PutBucketAccelerateConfiguration"),
        None,
    ),
    Subresource {
        list: Some("ListBucketAnalyticsConfigurations"),
        ..sub(
            "analytics",
            Some("GetBucketAnalyticsConfiguration"),
            Some("PutBucketAnalyticsConfiguration"),
            Some("DeleteBucketAnalyticsConfiguration"),
        )
    },
    Subresource {
        list: Some("ListBucketInventoryConfigurations"),
        ..sub(
            "inventory",
            Some("GetBucketInventoryConfiguration"),
            Some("PutBucketInventoryConfiguration"),
            Some("DeleteBucketInventoryConfiguration"),
        )
    },
    Subresource {
        list: Some("ListBucketMetricsConfigurations"),
        ..sub(
            "metrics",
            Some("GetBucketMetricsConfiguration"),
            Some("PutBucketMetricsConfiguration"),
            Some("DeleteBucketMetricsConfiguration"),
        )
    },
    Subresource {
        list: Some("ListBucketIntelligentTieringConfigurations"),
        ..sub(
            "intelligent-tiering",
            Some("GetBucketIntelligentTieringConfiguration"),
            Some("PutBucketIntelligentTieringConfiguration"),
            Some("DeleteBucketIntelligentTieringConfiguration"),
        )
    },
];

/// Object subresources (`/bucket/key?name`).
const OBJECT_SUBRESOURCES: &[Subresource] = &[
    sub("torrent", Some("GetObjectTorrent"), None, None),
    Subresource {
        post: Some("RestoreObject"),
        ..sub("restore", None, None, None)
    },
    Subresource {
        post: Some("SelectObjectContent"),
        ..sub("select", None, None, None)
    },
];

/// The unsupported operation named by the first subresource of `table` in the
/// query: `Ok(None)` if there is none, `Err(MethodNotAllowed)` if the
/// subresource exists but not for this method.
fn unsupported(
    table: &[Subresource],
    method: &Method,
    q: Query<'_>,
) -> Result<Option<Operation>, RouteError> {
    let Some(sub) = table.iter().find(|s| q.has(s.name)) else {
        return Ok(None);
    };
    let name = match *method {
        Method::GET if !q.has("id") && sub.list.is_some() => sub.list,
        Method::GET => sub.get,
        Method::PUT => sub.put,
        Method::DELETE => sub.delete,
        Method::POST => sub.post,
        _ => None,
    };
    name.map(|n| Some(Operation::Unsupported(n)))
        .ok_or(RouteError::MethodNotAllowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const DOMAIN: &str = "s3.example.test";

    fn domains() -> Vec<String> {
        vec![DOMAIN.to_owned()]
    }

    fn headers(copy_source: bool) -> HeaderMap {
        let mut h = HeaderMap::new();
        if copy_source {
            h.insert("x-amz-copy-source", HeaderValue::from_static("/src/key"));
        }
        h
    }

    fn run(
        method: &Method,
        host: Option<&str>,
        path: &str,
        query: &str,
        copy_source: bool,
    ) -> Result<Route, RouteError> {
        let q = parse_query(query)?;
        route(method, host, path, &q, &headers(copy_source), &domains())
    }

    /// One dispatch-table row: method, bucket-relative raw path (`""` for a
    /// bucket-level request), query, copy-source header, expected operation.
    struct Case {
        method: Method,
        key: &'static str,
        query: &'static str,
        copy: bool,
        op: Operation,
    }

    fn case(method: Method, key: &'static str, query: &'static str, op: Operation) -> Case {
        Case {
            method,
            key,
            query,
            copy: false,
            op,
        }
    }

    fn cases() -> Vec<Case> {
        use Method as M;
        use Operation::*;
        vec![
            // Bucket level.
            case(M::GET, "", "location", GetBucketLocation),
            case(M::GET, "", "acl", GetBucketAcl),
            case(M::GET, "", "cors", GetBucketCors),
            case(M::GET, "", "uploads", ListMultipartUploads),
            case(M::GET, "", "versions", ListObjectVersions),
            case(M::GET, "", "versions&prefix=a", ListObjectVersions),
            case(M::GET, "", "list-type=2", ListObjectsV2),
            case(
                M::GET,
                "",
                "list-type=2&prefix=a%2Fb&delimiter=%2F",
                ListObjectsV2,
            ),
            case(M::GET, "", "", ListObjects),
            case(M::GET, "", "prefix=x&marker=y", ListObjects),
            case(M::PUT, "", "acl", PutBucketAcl),
            case(M::PUT, "", "cors", PutBucketCors),
            case(M::PUT, "", "", CreateBucket),
            case(M::HEAD, "", "", HeadBucket),
            case(M::DELETE, "", "cors", DeleteBucketCors),
            case(M::DELETE, "", "", DeleteBucket),
            case(M::POST, "", "delete", DeleteObjects),
            case(M::POST, "", "", PostObject),
            // Bucket-level unsupported.
            case(M::GET, "", "policy", GetBucketPolicy),
            case(M::PUT, "", "policy", PutBucketPolicy),
            case(M::DELETE, "", "policy", DeleteBucketPolicy),
            case(M::GET, "", "policyStatus", GetBucketPolicyStatus),
            case(M::GET, "", "versioning", GetBucketVersioning),
            case(M::PUT, "", "versioning", PutBucketVersioning),
            case(M::GET, "", "tagging", GetBucketTagging),
            case(M::DELETE, "", "tagging", DeleteBucketTagging),
            case(M::GET, "", "lifecycle", GetBucketLifecycleConfiguration),
            case(M::PUT, "", "lifecycle", PutBucketLifecycleConfiguration),
            case(M::DELETE, "", "lifecycle", DeleteBucketLifecycle),
            case(M::GET, "", "website", Unsupported("GetBucketWebsite")),
            case(M::GET, "", "logging", Unsupported("GetBucketLogging")),
            case(
                M::GET,
                "",
                "notification",
                Unsupported("GetBucketNotificationConfiguration"),
            ),
            case(
                M::PUT,
                "",
                "replication",
                Unsupported("PutBucketReplication"),
            ),
            case(M::GET, "", "encryption", Unsupported("GetBucketEncryption")),
            case(M::GET, "", "object-lock", GetObjectLockConfiguration),
            case(
                M::GET,
                "",
                "requestPayment",
                Unsupported("GetBucketRequestPayment"),
            ),
            case(
                M::GET,
                "",
                "accelerate",
                Unsupported("GetBucketAccelerateConfiguration"),
            ),
            case(
                M::GET,
                "",
                "analytics",
                Unsupported("ListBucketAnalyticsConfigurations"),
            ),
            case(
                M::GET,
                "",
                "analytics&id=x",
                Unsupported("GetBucketAnalyticsConfiguration"),
            ),
            case(
                M::GET,
                "",
                "inventory",
                Unsupported("ListBucketInventoryConfigurations"),
            ),
            case(
                M::PUT,
                "",
                "metrics&id=x",
                Unsupported("PutBucketMetricsConfiguration"),
            ),
            case(
                M::GET,
                "",
                "intelligent-tiering",
                Unsupported("ListBucketIntelligentTieringConfigurations"),
            ),
            case(M::GET, "", "ownershipControls", GetBucketOwnershipControls),
            case(M::PUT, "", "ownershipControls", PutBucketOwnershipControls),
            case(
                M::DELETE,
                "",
                "ownershipControls",
                DeleteBucketOwnershipControls,
            ),
            case(M::GET, "", "publicAccessBlock", GetPublicAccessBlock),
            case(M::PUT, "", "publicAccessBlock", PutPublicAccessBlock),
            case(M::DELETE, "", "publicAccessBlock", DeletePublicAccessBlock),
            // Object level.
            case(M::GET, "key", "acl", GetObjectAcl),
            case(M::GET, "key", "uploadId=u1", ListParts),
            case(M::GET, "key", "attributes", GetObjectAttributes),
            case(M::GET, "key", "", GetObject),
            case(M::GET, "key", "partNumber=1", GetObject),
            case(M::GET, "key", "versionId=null", GetObject),
            case(M::HEAD, "key", "", HeadObject),
            case(M::PUT, "key", "acl", PutObjectAcl),
            case(M::PUT, "key", "partNumber=1&uploadId=u1", UploadPart),
            Case {
                copy: true,
                ..case(M::PUT, "key", "partNumber=1&uploadId=u1", UploadPartCopy)
            },
            Case {
                copy: true,
                ..case(M::PUT, "key", "", CopyObject)
            },
            case(M::PUT, "key", "", PutObject),
            case(M::DELETE, "key", "uploadId=u1", AbortMultipartUpload),
            case(M::DELETE, "key", "", DeleteObject),
            case(M::POST, "key", "uploads", CreateMultipartUpload),
            case(M::POST, "key", "uploadId=u1", CompleteMultipartUpload),
            // Object-level unsupported.
            case(M::GET, "key", "tagging", GetObjectTagging),
            case(M::PUT, "key", "tagging", PutObjectTagging),
            case(M::DELETE, "key", "tagging", DeleteObjectTagging),
            case(M::GET, "key", "retention", GetObjectRetention),
            case(M::PUT, "key", "legal-hold", PutObjectLegalHold),
            case(M::GET, "key", "torrent", Unsupported("GetObjectTorrent")),
            case(M::POST, "key", "restore", Unsupported("RestoreObject")),
            case(
                M::POST,
                "key",
                "select&select-type=2",
                Unsupported("SelectObjectContent"),
            ),
        ]
    }

    #[test]
    fn every_operation_path_style() {
        for host in [
            Some(DOMAIN),
            Some("s3.example.test:9000"),
            Some("127.0.0.1:9000"),
            None,
        ] {
            for c in cases() {
                let path = if c.key.is_empty() {
                    "/bucket".to_owned()
                } else {
                    format!("/bucket/{}", c.key)
                };
                let r = run(&c.method, host, &path, c.query, c.copy)
                    .unwrap_or_else(|e| panic!("{} {path}?{}: {e}", c.method, c.query));
                assert_eq!(r.op, c.op, "{} {path}?{} via {host:?}", c.method, c.query);
                assert_eq!(r.bucket.as_deref(), Some("bucket"));
                let key = r.key.as_deref();
                assert_eq!(key, (!c.key.is_empty()).then_some(c.key));
                assert!(!r.vhost);
            }
        }
    }

    #[test]
    fn every_operation_vhost_style() {
        for host in [
            "bucket.s3.example.test",
            "bucket.s3.example.test:9000",
            "BUCKET.S3.Example.Test.",
        ] {
            for c in cases() {
                let path = format!("/{}", c.key);
                let r = run(&c.method, Some(host), &path, c.query, c.copy)
                    .unwrap_or_else(|e| panic!("{} {path}?{}: {e}", c.method, c.query));
                assert_eq!(r.op, c.op, "{} {host}{path}?{}", c.method, c.query);
                assert_eq!(r.bucket.as_deref(), Some("bucket"));
                let key = r.key.as_deref();
                assert_eq!(key, (!c.key.is_empty()).then_some(c.key));
                assert!(r.vhost);
            }
        }
    }

    #[test]
    fn list_buckets_and_service_level_methods() {
        for host in [Some(DOMAIN), Some("localhost:9000"), None] {
            for path in ["/", ""] {
                let r = run(&Method::GET, host, path, "", false).expect("routes");
                assert_eq!(r.op, Operation::ListBuckets);
                assert_eq!(r.bucket, None);
                assert_eq!(r.key, None);
            }
            for m in [Method::PUT, Method::POST, Method::DELETE, Method::HEAD] {
                assert_eq!(
                    run(&m, host, "/", "", false),
                    Err(RouteError::MethodNotAllowed)
                );
            }
        }
    }

    #[test]
    fn other_methods_are_not_allowed() {
        for path in ["/bucket", "/bucket/key"] {
            for query in ["", "uploads", "X-Amz-Signature=abc&X-Amz-Credential=x"] {
                let r = run(&Method::OPTIONS, Some(DOMAIN), path, query, false).expect("routes");
                assert_eq!(r.op, Operation::Preflight, "{path}?{query}");
            }
        }
        assert_eq!(
            run(&Method::OPTIONS, Some(DOMAIN), "/", "", false),
            Err(RouteError::MethodNotAllowed)
        );
        for m in [Method::PATCH, Method::TRACE, Method::CONNECT] {
            for path in ["/", "/bucket", "/bucket/key"] {
                assert_eq!(
                    run(&m, Some(DOMAIN), path, "", false),
                    Err(RouteError::MethodNotAllowed),
                    "{m} {path}"
                );
            }
        }
        // Subresources exist but not for this method.
        assert_eq!(
            run(&Method::POST, Some(DOMAIN), "/bucket", "policy", false),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            run(&Method::POST, Some(DOMAIN), "/bucket", "lifecycle", false),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            run(&Method::GET, Some(DOMAIN), "/bucket/key", "restore", false),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            run(&Method::POST, Some(DOMAIN), "/bucket/key", "", false),
            Err(RouteError::MethodNotAllowed)
        );
        // Never the bare resource's operation: `DELETE /bucket?versioning` is no
        // DeleteBucket, `DELETE /bucket/key?retention` no DeleteObject.
        for (m, path, query) in [
            (Method::DELETE, "/bucket", "versioning"),
            (Method::DELETE, "/bucket", "object-lock"),
            (Method::POST, "/bucket", "tagging"),
            (Method::HEAD, "/bucket", "lifecycle"),
            (Method::DELETE, "/bucket/key", "retention"),
            (Method::DELETE, "/bucket/key", "legal-hold"),
            (Method::POST, "/bucket/key", "tagging"),
            (Method::HEAD, "/bucket/key", "tagging"),
        ] {
            assert_eq!(
                run(&m, Some(DOMAIN), path, query, false),
                Err(RouteError::MethodNotAllowed),
                "{m} {path}?{query}"
            );
        }
    }

    #[test]
    fn hosts() {
        let get = |host: &str, path: &str| {
            run(&Method::GET, Some(host), path, "", false).expect("routes")
        };
        // Unknown names and IPs are path style.
        for host in [
            "localhost",
            "localhost:9000",
            "127.0.0.1",
            "127.0.0.1:9000",
            "[::1]",
            "[::1]:9000",
            "other.example.org",
            "bucket.other.test",
            "s3.example.test.evil",
        ] {
            let r = get(host, "/bucket/a/b");
            assert_eq!(r.bucket.as_deref(), Some("bucket"), "{host}");
            assert_eq!(r.key.as_deref(), Some("a/b"), "{host}");
            assert!(!r.vhost);
        }
        // Buckets with dots; the whole path is the key.
        let r = get("my.dotted.bucket.s3.example.test:443", "/bucket/a/b");
        assert_eq!(r.bucket.as_deref(), Some("my.dotted.bucket"));
        assert_eq!(r.key.as_deref(), Some("bucket/a/b"));
        assert!(r.vhost);
        // A leading slash in the key survives in virtual-host style.
        let r = get("b.s3.example.test", "//x");
        assert_eq!(r.key.as_deref(), Some("/x"));
        // "xs3.example.test" is not a subdomain of "s3.example.test".
        let r = get("xs3.example.test", "/bucket");
        assert_eq!(r.bucket.as_deref(), Some("bucket"));
        assert!(!r.vhost);
        // Host with only the dot: path style.
        let r = get(".s3.example.test", "/bucket");
        assert!(!r.vhost);
    }

    #[test]
    fn longest_domain_wins() {
        let domains = vec!["example.test".to_owned(), "s3.example.test".to_owned()];
        let q = Vec::new();
        let r = route(
            &Method::GET,
            Some("b.s3.example.test"),
            "/k",
            &q,
            &HeaderMap::new(),
            &domains,
        )
        .expect("routes");
        assert_eq!(r.bucket.as_deref(), Some("b"));
        assert!(r.vhost);
        // Exact match of any domain is path style even if another is a suffix.
        let r = route(
            &Method::GET,
            Some("s3.example.test"),
            "/b/k",
            &q,
            &HeaderMap::new(),
            &domains,
        )
        .expect("routes");
        assert_eq!(r.bucket.as_deref(), Some("b"));
        assert!(!r.vhost);
    }

    #[test]
    fn key_decoding() {
        let key = |path: &str| {
            run(&Method::GET, Some(DOMAIN), path, "", false)
                .expect("routes")
                .key
        };
        assert_eq!(key("/bucket/with%20space").as_deref(), Some("with space"));
        assert_eq!(key("/bucket/a+b").as_deref(), Some("a+b"));
        assert_eq!(key("/bucket/a%2Bb").as_deref(), Some("a+b"));
        assert_eq!(key("/bucket/a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(key("/bucket/dir/").as_deref(), Some("dir/"));
        assert_eq!(key("/bucket/").as_deref(), None);
        assert_eq!(key("/bucket").as_deref(), None);
        assert_eq!(key("/bucket//").as_deref(), Some("/"));
        assert_eq!(
            key("/bucket/%E2%9C%93/%F0%9F%9A%80").as_deref(),
            Some("\u{2713}/\u{1F680}")
        );
        assert_eq!(key("/bucket/caf\u{e9}").as_deref(), Some("caf\u{e9}"));
        assert_eq!(key("/bucket/100%").as_deref(), Some("100%"));
        // Bucket names are decoded but not validated.
        let r = run(&Method::GET, Some(DOMAIN), "/Bad%5FName/k", "", false).expect("routes");
        assert_eq!(r.bucket.as_deref(), Some("Bad_Name"));
    }

    #[test]
    fn bad_keys_and_uris() {
        let long = format!("/bucket/{}", "a".repeat(1025));
        assert_eq!(
            run(&Method::GET, Some(DOMAIN), &long, "", false),
            Err(RouteError::InvalidKey(NameError::KeyTooLong))
        );
        let ok = format!("/bucket/{}", "a".repeat(1024));
        assert!(run(&Method::GET, Some(DOMAIN), &ok, "", false).is_ok());
        // 1024 bytes once decoded, 3072 encoded: fine.
        let encoded = format!("/bucket/{}", "%41".repeat(1024));
        assert!(run(&Method::GET, Some(DOMAIN), &encoded, "", false).is_ok());
        assert_eq!(
            run(&Method::GET, Some(DOMAIN), "/bucket/a%FFb", "", false),
            Err(RouteError::InvalidKey(NameError::InvalidUtf8))
        );
        assert_eq!(
            run(&Method::GET, Some("b.s3.example.test"), "/a%C3", "", false),
            Err(RouteError::InvalidKey(NameError::InvalidUtf8))
        );
        assert_eq!(
            run(&Method::GET, Some(DOMAIN), "/b%FF/k", "", false),
            Err(RouteError::InvalidUri)
        );
        assert_eq!(
            run(&Method::GET, Some(DOMAIN), "//key", "", false),
            Err(RouteError::InvalidUri)
        );
        assert_eq!(
            run(&Method::GET, Some(DOMAIN), "bucket/key", "", false),
            Err(RouteError::InvalidUri)
        );
    }

    #[test]
    fn query_parsing() {
        let q =
            parse_query("acl&prefix=a%20b&x=a+b&y=%2B&&empty=&uploadId=abc%3D%3D").expect("parses");
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("acl", ""),
                ("prefix", "a b"),
                ("x", "a+b"),
                ("y", "+"),
                ("empty", ""),
                ("uploadId", "abc=="),
            ]
        );
        assert_eq!(parse_query("").expect("parses"), Vec::new());
        assert_eq!(
            parse_query("?a=1").expect("parses"),
            [("a".to_owned(), "1".to_owned())]
        );
        assert_eq!(
            parse_query("a=%E2%9C%93").expect("parses"),
            [("a".to_owned(), "\u{2713}".to_owned())]
        );
        assert_eq!(parse_query("a=%FF"), Err(RouteError::InvalidUri));
        assert_eq!(parse_query("%FF=1"), Err(RouteError::InvalidUri));
    }

    #[test]
    fn part_upload_parameters_alone_still_route_to_upload_part() {
        let r = run(&Method::PUT, Some(DOMAIN), "/b/k", "uploadId=u", false).expect("routes");
        assert_eq!(r.op, Operation::UploadPart);
        let r = run(&Method::PUT, Some(DOMAIN), "/b/k", "partNumber=1", true).expect("routes");
        assert_eq!(r.op, Operation::UploadPartCopy);
    }

    #[test]
    fn names_and_classes() {
        use AccessClass::*;
        use Operation::*;
        let expected = [
            (ListBuckets, "ListBuckets", Read),
            (CreateBucket, "CreateBucket", Owner),
            (HeadBucket, "HeadBucket", Read),
            (DeleteBucket, "DeleteBucket", Owner),
            (GetBucketLocation, "GetBucketLocation", Owner),
            (ListObjects, "ListObjects", Read),
            (ListObjectsV2, "ListObjectsV2", Read),
            (ListObjectVersions, "ListObjectVersions", Read),
            (PutObject, "PutObject", Write),
            (GetObject, "GetObject", Read),
            (HeadObject, "HeadObject", Read),
            (DeleteObject, "DeleteObject", Write),
            (DeleteObjects, "DeleteObjects", Write),
            (GetBucketAcl, "GetBucketAcl", ReadAcp),
            (PutBucketAcl, "PutBucketAcl", WriteAcp),
            (GetObjectAcl, "GetObjectAcl", ReadAcp),
            (PutObjectAcl, "PutObjectAcl", WriteAcp),
            (GetBucketCors, "GetBucketCors", Owner),
            (PutBucketCors, "PutBucketCors", Owner),
            (DeleteBucketCors, "DeleteBucketCors", Owner),
            (GetBucketVersioning, "GetBucketVersioning", Owner),
            (PutBucketVersioning, "PutBucketVersioning", Owner),
            (GetBucketTagging, "GetBucketTagging", Owner),
            (PutBucketTagging, "PutBucketTagging", Owner),
            (DeleteBucketTagging, "DeleteBucketTagging", Owner),
            (
                GetObjectLockConfiguration,
                "GetObjectLockConfiguration",
                Owner,
            ),
            (
                PutObjectLockConfiguration,
                "PutObjectLockConfiguration",
                Owner,
            ),
            (GetObjectTagging, "GetObjectTagging", Read),
            (PutObjectTagging, "PutObjectTagging", WriteAcp),
            (DeleteObjectTagging, "DeleteObjectTagging", WriteAcp),
            (GetObjectRetention, "GetObjectRetention", Owner),
            (PutObjectRetention, "PutObjectRetention", Owner),
            (GetObjectLegalHold, "GetObjectLegalHold", Owner),
            (PutObjectLegalHold, "PutObjectLegalHold", Owner),
            (
                GetBucketLifecycleConfiguration,
                "GetBucketLifecycleConfiguration",
                Owner,
            ),
            (
                PutBucketLifecycleConfiguration,
                "PutBucketLifecycleConfiguration",
                Owner,
            ),
            (DeleteBucketLifecycle, "DeleteBucketLifecycle", Owner),
            (CreateMultipartUpload, "CreateMultipartUpload", Write),
            (UploadPart, "UploadPart", Write),
            (UploadPartCopy, "UploadPartCopy", Write),
            (CompleteMultipartUpload, "CompleteMultipartUpload", Write),
            (AbortMultipartUpload, "AbortMultipartUpload", Write),
            (ListParts, "ListParts", Read),
            (ListMultipartUploads, "ListMultipartUploads", Read),
            (CopyObject, "CopyObject", Write),
            (GetObjectAttributes, "GetObjectAttributes", Read),
            (PostObject, "PostObject", Write),
            (Preflight, "Preflight", Read),
            (Unsupported("GetBucketPolicy"), "GetBucketPolicy", Owner),
        ];
        for (op, name, class) in expected {
            assert_eq!(op.as_str(), name);
            assert_eq!(op.to_string(), name);
            assert_eq!(op.class(), class, "{name}");
        }
    }
}
