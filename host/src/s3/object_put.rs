//! PutObject: stream the body into chunk files (or inline), verify every digest the client
//! sent, then make the object visible in one transaction.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html>

use http::request::Parts;
use http::{HeaderValue, Response};
use hyper::body::Incoming;

use super::context::{RequestContext, ok_empty};
use super::error::S3Result;
use super::ingest::{Upload, new_object_owner_and_acl, store_upload};
use super::metadata::{parse_object_headers, parse_user_metadata};
use super::payload::{open_payload, require_length};
use super::{
    authorized_bucket_with_tags, conditional, headers, lifecycle_api, metadata_check, new_version,
    object_key, versioning,
};
use crate::http::body::ResponseBody;
use crate::state::AppState;
use crate::store::object_write;
use crate::store::objects::{self, WriteCondition};

/// PutObject.
pub async fn put_object(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let h = &parts.headers;
    // The bucket's module decides on the tags the object is to get.
    let tags = new_version::requested_tags(h)?;
    let bucket = authorized_bucket_with_tags(state, ctx, &tags).await?;
    let key = object_key(ctx)?;
    require_length(parts)?;
    let user_metadata = parse_user_metadata(h)?;
    let object_headers = parse_object_headers(h);
    // Checked before any of the body is read.
    metadata_check::check(
        state,
        ctx,
        &bucket,
        key,
        &object_headers,
        &user_metadata,
        &tags,
    )?;
    let (owner_id, acl) = new_object_owner_and_acl(state, ctx, &bucket, h).await?;
    let attributes = new_version::from_headers(&bucket, h, tags, true)?;
    let condition = conditional::write_condition(h)?;
    if condition != WriteCondition::None {
        // Checked again when the object is committed; this only spares streaming a body
        // that could never be stored.
        let current = objects::object_etag(&state.pool, bucket.id, key).await?;
        object_write::check_write_condition(&condition, current.as_deref())?;
    }
    let payload = open_payload(state, ctx, parts, body, state.config.max_object_size)?;
    let upload = Upload {
        bucket_id: bucket.id,
        key,
        owner_id,
        headers: &object_headers,
        user_metadata: &user_metadata,
        acl: &acl,
        condition,
        versioning: bucket.versioning,
        attributes: &attributes,
    };
    let stored = store_upload(state, h, payload, upload).await?;
    let mut resp = ok_empty();
    if let Ok(v) = HeaderValue::from_str(&stored.etag) {
        resp.headers_mut().insert(http::header::ETAG, v);
    }
    versioning::add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        stored.version_id.as_deref(),
    );
    if let Some((alg, value)) = &stored.checksum
        && let Ok(v) = HeaderValue::from_str(value)
    {
        resp.headers_mut().insert(alg.header_name(), v);
    }
    let expiration = lifecycle_api::expiration_header(
        &state.config,
        &bucket,
        key,
        stored.size,
        &attributes.tags,
        stored.last_modified,
    );
    if let Some(v) = expiration.and_then(|e| HeaderValue::from_str(&e).ok()) {
        resp.headers_mut().insert(headers::EXPIRATION, v);
    }
    Ok(resp)
}
