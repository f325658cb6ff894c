//! DeleteObject and DeleteObjects. A delete releases the object's chunks in its
//! transaction; their files are unlinked after `--delete-delay` (`store::gc`).
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html>

use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use hyper::body::Incoming;

use super::names::ObjectKey;
use super::payload::{content_length, open_payload};
use super::versioning::add_version_header;
use super::{authorized_bucket, authz, headers, object_key, xml};
use crate::http::body::{ResponseBody, empty};
use crate::s3::context::{RequestContext, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::buckets::{Bucket, Versioning};
use crate::store::object_write;
use crate::store::objects::{NULL_VERSION, VersionSelector};

/// DeleteObject: 204 whether or not the key existed. In a bucket with versioning, a
/// delete without `versionId` adds a delete marker, one with `versionId` removes that
/// version; the answer names the version (`x-amz-version-id`) and says whether it is a
/// delete marker (`x-amz-delete-marker`).
pub async fn delete_object(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let key = object_key(ctx)?;
    let version = super::version_selector(ctx.query_param("versionId"))?;
    let deleted = delete_one(state, ctx, &bucket, key, &version).await?;
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    if version != VersionSelector::Latest || bucket.versioning.ever_enabled() {
        add_version_header(h, Versioning::Enabled, deleted.version_id.as_deref());
    }
    if deleted.delete_marker {
        h.insert(headers::DELETE_MARKER, HeaderValue::from_static("true"));
    }
    Ok(resp)
}

/// Deletes what `version` selects of `key` (see [`object_write::delete_object`]).
async fn delete_one(
    state: &AppState,
    ctx: &RequestContext,
    bucket: &Bucket,
    key: &str,
    version: &VersionSelector,
) -> S3Result<object_write::Deleted> {
    // An anonymous writer's delete marker belongs to the bucket owner, like its objects.
    let requester = ctx.principal.account().map_or(bucket.owner_id, |a| a.id);
    Ok(object_write::delete_object(
        &state.pool,
        bucket.id,
        key,
        version,
        bucket.versioning,
        requester,
        bypass_governance(state, ctx, bucket, key, version.requested())?,
    )
    .await?)
}

/// Whether the request may remove versions under `GOVERNANCE` retention: it says so
/// (`x-amz-bypass-governance-retention: true`) and the bucket's module allows
/// `BypassGovernanceRetention` (S3's `s3:BypassGovernanceRetention`; the bucket owner by
/// default), for `version_id` of `key`. Asking without the permission is `AccessDenied`,
/// as on S3.
pub fn bypass_governance(
    state: &AppState,
    ctx: &RequestContext,
    bucket: &Bucket,
    key: &str,
    version_id: Option<&str>,
) -> S3Result<bool> {
    let asked = ctx
        .header(headers::BYPASS_GOVERNANCE_RETENTION)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if asked {
        let access = authz::AccessRequest {
            operation: "BypassGovernanceRetention",
            bucket: Some(bucket),
            key: Some(key),
            version_id,
            object: None,
            request_tags: &[],
            request_acl: None,
            request_policy: None,
        };
        authz::authorize(state, ctx, &access)?;
    }
    Ok(asked)
}

/// DeleteObjects: up to 1000 keys (or versions), with per-key errors for invalid keys and
/// version ids and for keys the bucket's module refuses. An unversioned bucket's keys go
/// in one transaction; versions and delete markers are made one key at a time.
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
    for (key, version_id) in &request.objects {
        let failed = |code: S3ErrorCode, message: String| xml::DeleteErrorEntry {
            key: key.clone(),
            version_id: version_id.clone(),
            code: code.as_str().to_string(),
            message,
        };
        let key = match ObjectKey::parse_bytes(key.as_bytes()) {
            Ok(k) => k,
            Err(e) => {
                errors.push(failed(S3ErrorCode::from(&e), e.to_string()));
                continue;
            }
        };
        let Some(version) = VersionSelector::parse(version_id.as_deref()) else {
            errors.push(failed(
                S3ErrorCode::NoSuchVersion,
                "The specified version does not exist.".to_string(),
            ));
            continue;
        };
        // As on S3, each key is its own DeleteObject decision: a module may refuse some keys
        // (say, under `archive/`) and allow the rest. With its version id: deleting a
        // version is S3's `s3:DeleteObjectVersion`, the bucket owner's by default.
        let access = authz::AccessRequest {
            operation: "DeleteObject",
            bucket: Some(&bucket),
            key: Some(key.as_str()),
            version_id: version.requested(),
            object: None,
            request_tags: &[],
            request_acl: None,
            request_policy: None,
        };
        match authz::authorize(state, ctx, &access) {
            Ok(()) => valid.push((key.as_str().to_string(), version)),
            Err(e) => errors.push(failed(e.code(), "Access Denied".to_string())),
        }
    }
    let mut deleted = Vec::with_capacity(valid.len());
    let all_current = valid.iter().all(|(_, v)| *v == VersionSelector::Latest);
    if bucket.versioning == Versioning::Unversioned && all_current {
        let keys: Vec<String> = valid.iter().map(|(k, _)| k.clone()).collect();
        object_write::delete_unversioned(&state.pool, bucket.id, &keys).await?;
        deleted.extend(keys.into_iter().map(|key| xml::DeletedEntry {
            key,
            version_id: None,
            delete_marker_version_id: None,
        }));
    } else {
        for (key, version) in valid {
            let asked = (version != VersionSelector::Latest).then(|| version.label().to_string());
            match delete_one(state, ctx, &bucket, &key, &version).await {
                Ok(done) => deleted.push(xml::DeletedEntry {
                    key,
                    version_id: asked,
                    delete_marker_version_id: done
                        .delete_marker
                        .then(|| done.version_id.unwrap_or_else(|| NULL_VERSION.to_string())),
                }),
                Err(e) if e.code() == S3ErrorCode::InternalError => return Err(e),
                Err(e) => errors.push(xml::DeleteErrorEntry {
                    key,
                    version_id: asked,
                    code: e.code().as_str().to_string(),
                    message: e.message().to_string(),
                }),
            }
        }
    }
    if request.quiet {
        deleted.clear();
    }
    Ok(xml_response(xml::render_delete_result(&deleted, &errors)))
}
