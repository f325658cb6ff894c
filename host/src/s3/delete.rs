//! DeleteObject and DeleteObjects. A delete releases the object's chunks in its
//! transaction; their files are unlinked after `--delete-delay` (`store::gc`).
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html>

use http::request::Parts;
use http::{Response, StatusCode};
use hyper::body::Incoming;

use super::names::ObjectKey;
use super::payload::{content_length, open_payload};
use super::{authorized_bucket, authz, object_key, xml};
use crate::http::body::{ResponseBody, empty};
use crate::s3::context::{RequestContext, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::objects;

/// DeleteObject: 204 whether or not the key existed.
pub async fn delete_object(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let key = object_key(ctx)?;
    objects::delete_objects(&state.pool, bucket.id, &[key.to_string()]).await?;
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

/// DeleteObjects: up to 1000 keys in one transaction, with per-key errors for invalid keys.
pub async fn delete_objects(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    if content_length(parts)?.is_none() && ctx.sigv4.is_none() {
        return Err(S3Error::new(S3ErrorCode::MissingContentLength));
    }
    let cap = state.config.max_xml_bytes;
    let mut payload = open_payload(state, ctx, parts, body, cap as u64)?;
    let request_xml = payload.read_to_end(cap, S3ErrorCode::MalformedXML).await?;
    super::payload::verify_content_md5(&parts.headers, &request_xml)?;
    let request = xml::parse_delete_objects(&request_xml).map_err(S3Error::from)?;

    let mut valid = Vec::new();
    let mut errors = Vec::new();
    for (key, _version) in &request.objects {
        let key = match ObjectKey::parse_bytes(key.as_bytes()) {
            Ok(k) => k,
            Err(e) => {
                errors.push(xml::DeleteErrorEntry {
                    key: key.clone(),
                    code: S3ErrorCode::from(&e).as_str().to_string(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        // As on S3, each key is its own DeleteObject decision: a module may refuse some keys
        // (say, under `archive/`) and allow the rest.
        let access = authz::AccessRequest {
            operation: "DeleteObject",
            bucket: Some(&bucket),
            key: Some(key.as_str()),
            object: None,
        };
        match authz::authorize(state, ctx, &access) {
            Ok(()) => valid.push(key.as_str().to_string()),
            Err(e) => errors.push(xml::DeleteErrorEntry {
                key: key.as_str().to_string(),
                code: e.code().as_str().to_string(),
                message: "Access Denied".to_string(),
            }),
        }
    }
    objects::delete_objects(&state.pool, bucket.id, &valid).await?;
    let deleted = if request.quiet { Vec::new() } else { valid };
    Ok(xml_response(xml::render_delete_result(&deleted, &errors)))
}
