//! Object Lock: Put/GetObjectLockConfiguration on buckets, Put/GetObjectRetention and
//! Put/GetObjectLegalHold on versions. What a lock forbids (deleting the version) is
//! enforced where versions are removed (`store::object_write`).
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html>

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response};
use hyper::body::Incoming;
use time::OffsetDateTime;

use super::context::{RequestContext, ok_empty, xml_response};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::new_version::{lock_config, require_integrity_header};
use super::object_lock::{
    LEGAL_HOLD_HEADER, LegalHoldStatus, MAX_DOCUMENT_BYTES, MODE_HEADER, RETAIN_UNTIL_HEADER,
    parse_legal_hold, parse_object_lock_configuration, parse_retention, render_legal_hold,
    render_object_lock_configuration, render_retention,
};
use super::payload::{open_payload, verify_content_md5};
use super::versioning::add_version_header;
use super::{authorized_bucket, authorized_object, delete, object_key, xml};
use crate::http::body::ResponseBody;
use crate::state::AppState;
use crate::store::buckets::{self, Bucket, Versioning};
use crate::store::objects::{self, ObjectMeta};

/// Reads a lock document body, which S3 wants with an integrity header.
async fn read_document(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<bytes::Bytes> {
    require_integrity_header(&parts.headers)?;
    let mut payload = open_payload(state, ctx, parts, body, MAX_DOCUMENT_BYTES as u64)?;
    let document = payload
        .read_to_end(MAX_DOCUMENT_BYTES, S3ErrorCode::MalformedXML)
        .await?;
    verify_content_md5(&parts.headers, &document)?;
    Ok(document)
}

/// S3's answer to a retention or legal-hold call on a bucket without Object Lock.
fn missing_lock(bucket: &Bucket) -> S3Result<()> {
    if bucket.object_lock_enabled {
        Ok(())
    } else {
        Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Bucket is missing Object Lock Configuration",
        ))
    }
}

/// PutObjectLockConfiguration: turns Object Lock on (for good; versioning must be
/// enabled) and sets or clears the default retention.
pub async fn put_object_lock_configuration(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let document = read_document(state, ctx, parts, body).await?;
    let config = parse_object_lock_configuration(&document)?;
    let not_versioned = || {
        S3Error::with_message(
            S3ErrorCode::InvalidBucketState,
            "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
        )
        .extra("BucketName", bucket.name.clone())
    };
    if bucket.versioning != Versioning::Enabled {
        return Err(not_versioned());
    }
    let json = serde_json::to_value(config).map_err(S3Error::internal)?;
    if !buckets::set_object_lock(&state.pool, bucket.id, &json).await? {
        return Err(not_versioned());
    }
    Ok(ok_empty())
}

/// GetObjectLockConfiguration: `404 ObjectLockConfigurationNotFoundError` for a bucket
/// without Object Lock.
pub async fn get_object_lock_configuration(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let Some(config) = lock_config(&bucket)?.or_else(|| {
        bucket
            .object_lock_enabled
            .then(super::object_lock::ObjectLockConfig::default)
    }) else {
        return Err(
            S3Error::new(S3ErrorCode::ObjectLockConfigurationNotFoundError)
                .extra("BucketName", bucket.name),
        );
    };
    Ok(xml_response(render_object_lock_configuration(&config)))
}

/// PutObjectRetention: sets, extends, or (GOVERNANCE, with the bypass) shortens or
/// removes a version's retention. A locked change is `403 AccessDenied`.
pub async fn put_object_retention(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let (bucket, obj) = authorized_object(state, ctx).await?;
    missing_lock(&bucket)?;
    let document = read_document(state, ctx, parts, body).await?;
    let retention = parse_retention(&document, OffsetDateTime::now_utc())?;
    let version_id = ctx.query_param("versionId");
    let bypass = delete::bypass_governance(state, ctx, &bucket, object_key(ctx)?, version_id)?;
    objects::set_retention(&state.pool, obj.id, retention, bypass).await?;
    Ok(versioned_ok(&bucket, &obj))
}

/// GetObjectRetention: `404 NoSuchObjectLockConfiguration` for a version without one.
pub async fn get_object_retention(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let (bucket, obj) = authorized_object(state, ctx).await?;
    missing_lock(&bucket)?;
    let Some(retention) = obj.retention else {
        return Err(S3Error::new(S3ErrorCode::NoSuchObjectLockConfiguration));
    };
    let mut resp = xml_response(render_retention(&retention));
    add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        obj.version_id.as_deref(),
    );
    Ok(resp)
}

/// PutObjectLegalHold: `ON` or `OFF`, whatever the retention.
pub async fn put_object_legal_hold(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let (bucket, obj) = authorized_object(state, ctx).await?;
    missing_lock(&bucket)?;
    let document = read_document(state, ctx, parts, body).await?;
    let status = parse_legal_hold(&document)?;
    if !objects::set_legal_hold(&state.pool, obj.id, status == LegalHoldStatus::On).await? {
        return Err(S3Error::new(S3ErrorCode::NoSuchKey).extra("Key", object_key(ctx)?));
    }
    Ok(versioned_ok(&bucket, &obj))
}

/// GetObjectLegalHold: the version's status (`OFF` when never set).
pub async fn get_object_legal_hold(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let (bucket, obj) = authorized_object(state, ctx).await?;
    missing_lock(&bucket)?;
    let status = if obj.legal_hold {
        LegalHoldStatus::On
    } else {
        LegalHoldStatus::Off
    };
    let mut resp = xml_response(render_legal_hold(status));
    add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        obj.version_id.as_deref(),
    );
    Ok(resp)
}

fn versioned_ok(bucket: &Bucket, obj: &ObjectMeta) -> Response<ResponseBody> {
    let mut resp = ok_empty();
    add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        obj.version_id.as_deref(),
    );
    resp
}

/// The lock headers GET and HEAD return for a version that has a lock.
pub fn add_lock_headers(h: &mut HeaderMap, obj: &ObjectMeta) {
    if let Some(r) = obj.retention {
        h.insert(MODE_HEADER, HeaderValue::from_static(r.mode.as_str()));
        if let Ok(v) = HeaderValue::from_str(&xml::format_timestamp(r.retain_until)) {
            h.insert(RETAIN_UNTIL_HEADER, v);
        }
    }
    if obj.legal_hold {
        h.insert(LEGAL_HOLD_HEADER, HeaderValue::from_static("ON"));
    }
}
