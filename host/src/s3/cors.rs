//! PutBucketCors, GetBucketCors and DeleteBucketCors: a bucket's CORS configuration,
//! decided by the bucket's policy module like every other operation (the owner by
//! default).
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html>

use http::request::Parts;
use http::{Response, StatusCode};
use hyper::body::Incoming;

use super::cors_xml::{self, CorsConfigError, MAX_DOCUMENT_BYTES};
use super::payload::{open_payload, verify_content_md5};
use super::{authorized_bucket, see_own_change};
use crate::http::body::{ResponseBody, empty};
use crate::s3::context::{RequestContext, ok_empty, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::cors;

impl From<CorsConfigError> for S3Error {
    fn from(e: CorsConfigError) -> Self {
        match e {
            CorsConfigError::Malformed(e) => S3Error::from(e),
            CorsConfigError::Invalid(message) => {
                S3Error::with_message(S3ErrorCode::InvalidRequest, message)
            }
        }
    }
}

/// PutBucketCors: the body (at most 64 KB, Content-MD5 checked when sent) replaces the
/// bucket's configuration.
pub async fn put_bucket_cors(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let mut payload = open_payload(state, ctx, parts, body, MAX_DOCUMENT_BYTES as u64)?;
    let document = payload
        .read_to_end(MAX_DOCUMENT_BYTES, S3ErrorCode::MalformedXML)
        .await?;
    verify_content_md5(&parts.headers, &document)?;
    let rules = cors_xml::parse_cors_configuration(&document)?;
    cors::put(&state.pool, bucket.id, &rules)
        .await
        .map_err(|e| S3Error::from(e).extra("BucketName", bucket.name.as_str()))?;
    see_own_change(state).await;
    Ok(ok_empty())
}

/// GetBucketCors: the stored rules, or `404 NoSuchCORSConfiguration`.
pub async fn get_bucket_cors(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    match cors::get(&state.pool, bucket.id).await? {
        Some(rules) => Ok(xml_response(cors_xml::render_cors_configuration(&rules))),
        None => Err(S3Error::new(S3ErrorCode::NoSuchCORSConfiguration)
            .extra("BucketName", bucket.name.as_str())),
    }
}

/// DeleteBucketCors: 204, also when the bucket had no configuration.
pub async fn delete_bucket_cors(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    cors::delete(&state.pool, bucket.id).await?;
    see_own_change(state).await;
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}
