//! Put/Get/DeleteObjectTagging (per version) and Put/Get/DeleteBucketTagging.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html>

use http::request::Parts;
use http::{Response, StatusCode};
use hyper::body::Incoming;

use super::context::{RequestContext, ok_empty, xml_response};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::payload::{open_payload, verify_content_md5};
use super::tagging::{MAX_DOCUMENT_BYTES, TagLimit, parse_tagging, render_tagging};
use super::versioning::add_version_header;
use super::{authorized_bucket, authorized_object, authorized_object_with_tags, object_key};
use crate::http::body::{ResponseBody, empty};
use crate::state::AppState;
use crate::store::{buckets, objects};
use crate::tags::TagSet;

/// Reads a `Tagging` document body (at most [`MAX_DOCUMENT_BYTES`]).
async fn read_tagging(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
    limit: TagLimit,
) -> S3Result<TagSet> {
    let mut payload = open_payload(state, ctx, parts, body, MAX_DOCUMENT_BYTES as u64)?;
    let document = payload
        .read_to_end(MAX_DOCUMENT_BYTES, S3ErrorCode::MalformedXML)
        .await?;
    verify_content_md5(&parts.headers, &document)?;
    Ok(parse_tagging(&document, limit)?)
}

/// GetObjectTagging: the version's tags (an empty set when it has none).
pub async fn get_object_tagging(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let (bucket, obj) = authorized_object(state, ctx).await?;
    let mut resp = xml_response(render_tagging(&obj.tags));
    add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        obj.version_id.as_deref(),
    );
    Ok(resp)
}

/// PutObjectTagging: replaces the version's tags (at most 10). The document (64 KiB at
/// most) is read before the decision, which sees the tags as its `request-tags`; nothing
/// is stored unless the module allows.
pub async fn put_object_tagging(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let tags = read_tagging(state, ctx, parts, body, TagLimit::Object).await?;
    let (bucket, obj) = authorized_object_with_tags(state, ctx, &tags).await?;
    set_tags(state, ctx, &obj, &tags).await?;
    let mut resp = ok_empty();
    add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        obj.version_id.as_deref(),
    );
    Ok(resp)
}

/// DeleteObjectTagging: the version keeps no tags; 204.
pub async fn delete_object_tagging(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let (bucket, obj) = authorized_object(state, ctx).await?;
    set_tags(state, ctx, &obj, &[]).await?;
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        obj.version_id.as_deref(),
    );
    Ok(resp)
}

/// Stores `tags` on the version the request was authorized on (gone meanwhile:
/// `NoSuchKey`).
async fn set_tags(
    state: &AppState,
    ctx: &RequestContext,
    obj: &objects::ObjectMeta,
    tags: &[crate::tags::Tag],
) -> S3Result<()> {
    if objects::set_object_tags(&state.pool, obj.id, tags).await? {
        Ok(())
    } else {
        Err(S3Error::new(S3ErrorCode::NoSuchKey).extra("Key", object_key(ctx)?))
    }
}

/// GetBucketTagging: the bucket's tag set, `404 NoSuchTagSet` without one.
pub async fn get_bucket_tagging(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    match buckets::bucket_tags(&state.pool, bucket.id).await? {
        Some(tags) => Ok(xml_response(render_tagging(&tags))),
        None => Err(S3Error::new(S3ErrorCode::NoSuchTagSet).extra("BucketName", bucket.name)),
    }
}

/// PutBucketTagging: replaces the bucket's tag set (at most 50 tags).
pub async fn put_bucket_tagging(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let tags = read_tagging(state, ctx, parts, body, TagLimit::Bucket).await?;
    buckets::set_bucket_tags(&state.pool, bucket.id, Some(&tags)).await?;
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

/// DeleteBucketTagging: 204, whether or not there was a tag set.
pub async fn delete_bucket_tagging(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    buckets::set_bucket_tags(&state.pool, bucket.id, None).await?;
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}
