//! Get/PutBucketVersioning, and the `x-amz-version-id` header of the responses that name
//! a version.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html>

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response};
use hyper::body::Incoming;

use super::context::{RequestContext, ok_empty, xml_response};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::payload::{open_payload, verify_content_md5};
use super::versioning_xml::{parse_versioning_configuration, render_versioning_configuration};
use super::{authorized_bucket, headers};
use crate::http::body::ResponseBody;
use crate::state::AppState;
use crate::store::buckets::{self, Versioning};
use crate::store::objects::NULL_VERSION;

/// Adds `x-amz-version-id` for a version a request wrote, read or deleted: in a bucket
/// that has had versioning (where `null` is reported too), or whenever the version has an
/// id. Unversioned buckets' responses carry none, as on S3.
pub fn add_version_header(h: &mut HeaderMap, versioning: Versioning, version_id: Option<&str>) {
    if !versioning.ever_enabled() && version_id.is_none() {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(version_id.unwrap_or(NULL_VERSION)) {
        h.insert(headers::VERSION_ID, v);
    }
}

/// GetBucketVersioning: the bucket's state, no `Status` when never enabled.
pub async fn get_bucket_versioning(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    Ok(xml_response(render_versioning_configuration(
        bucket.versioning,
    )))
}

/// PutBucketVersioning: `Enabled` or `Suspended`; S3 has no way back to unversioned.
pub async fn put_bucket_versioning(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let cap = state.config.max_xml_bytes;
    let mut payload = open_payload(state, ctx, parts, body, cap as u64)?;
    let document = payload.read_to_end(cap, S3ErrorCode::MalformedXML).await?;
    verify_content_md5(&parts.headers, &document)?;
    let status = parse_versioning_configuration(&document).map_err(S3Error::from)?;
    if let Some(status) = status {
        // Object lock needs every version kept: S3 refuses to suspend versioning then.
        if status == Versioning::Suspended && bucket.object_lock_enabled {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidBucketState,
                "An Object Lock configuration is present on this bucket, so the versioning \
                 state cannot be changed.",
            ));
        }
        buckets::set_versioning(&state.pool, bucket.id, status).await?;
    }
    Ok(ok_empty())
}
