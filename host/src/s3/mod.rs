//! The S3 API: routing ([`router`]), names ([`names`]), wire XML ([`xml`]), the access
//! decision ([`authz`]), the metadata decision of object-creating writes
//! ([`metadata_check`]), one module of handlers per area, and the background task that
//! carries out lifecycle rules ([`lifecycle_worker`]).

pub mod access_settings;
pub mod acl;
pub mod acl_headers;
pub mod attributes;
pub mod authn;
pub mod authz;
pub mod body_digest;
pub mod bucket;
pub mod bucket_policy;
pub mod conditional;
pub mod context;
pub mod copy;
pub mod cors;
pub mod cors_request;
pub mod cors_xml;
pub mod delete;
pub mod error;
pub mod explain;
pub mod headers;
pub mod ingest;
pub mod lifecycle;
pub mod lifecycle_api;
pub mod lifecycle_worker;
pub mod list;
pub mod metadata;
pub mod metadata_check;
pub mod metrics;
pub mod multipart;
pub mod multipart_xml;
pub mod names;
pub mod new_version;
pub mod object_get;
pub mod object_lock;
pub mod object_lock_api;
pub mod object_put;
pub mod payload;
pub mod post_object;
pub mod range;
pub mod router;
pub mod tagging;
pub mod tagging_api;
pub mod versioning;
pub mod versioning_xml;
pub mod write_headers;
pub mod xml;

use http::Response;
use http::request::Parts;
use hyper::body::Incoming;

use crate::http::body::ResponseBody;
use crate::s3::context::RequestContext;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::buckets::{self, Bucket};
use crate::store::objects;
use crate::tags::Tag;
use router::Operation;

/// Runs the handler for the routed operation.
pub async fn dispatch(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    use Operation::*;
    if matches!(
        ctx.op,
        PutObject | CopyObject | CreateMultipartUpload | UploadPart | UploadPartCopy
    ) {
        write_headers::check(&parts.headers)?;
    }
    match &ctx.op {
        ListBuckets => bucket::list_buckets(state, ctx).await,
        CreateBucket => bucket::create_bucket(state, ctx, parts, body).await,
        HeadBucket => bucket::head_bucket(state, ctx).await,
        DeleteBucket => bucket::delete_bucket(state, ctx).await,
        GetBucketLocation => bucket::get_bucket_location(state, ctx).await,
        ListObjects => list::list_objects_v1(state, ctx).await,
        ListObjectsV2 => list::list_objects_v2(state, ctx).await,
        ListObjectVersions => list::list_object_versions(state, ctx).await,
        PutObject => object_put::put_object(state, ctx, parts, body).await,
        GetObject => object_get::get_object(state, ctx, &parts.headers, false).await,
        HeadObject => object_get::get_object(state, ctx, &parts.headers, true).await,
        DeleteObject => delete::delete_object(state, ctx).await,
        DeleteObjects => delete::delete_objects(state, ctx, parts, body).await,
        GetBucketAcl => acl::get_bucket_acl(state, ctx).await,
        GetObjectAcl => acl::get_object_acl(state, ctx).await,
        PutBucketAcl => acl::put_bucket_acl(state, ctx, parts, body).await,
        PutObjectAcl => acl::put_object_acl(state, ctx, parts, body).await,
        CopyObject => copy::copy_object(state, ctx, parts).await,
        GetObjectAttributes => attributes::get_object_attributes(state, ctx, &parts.headers).await,
        PostObject => post_object::post_object(state, ctx, parts, body).await,
        Preflight => {
            let bucket = ctx.bucket.as_deref().unwrap_or_default();
            cors_request::preflight(state, bucket, ctx.key.as_deref(), &parts.headers).await
        }
        CreateMultipartUpload => multipart::create_multipart_upload(state, ctx, parts).await,
        UploadPart => multipart::upload_part(state, ctx, parts, body).await,
        UploadPartCopy => multipart::upload_part_copy(state, ctx, parts).await,
        CompleteMultipartUpload => {
            multipart::complete_multipart_upload(state, ctx, parts, body).await
        }
        AbortMultipartUpload => multipart::abort_multipart_upload(state, ctx).await,
        ListParts => multipart::list_parts(state, ctx).await,
        ListMultipartUploads => multipart::list_multipart_uploads(state, ctx).await,
        PutBucketCors => cors::put_bucket_cors(state, ctx, parts, body).await,
        GetBucketCors => cors::get_bucket_cors(state, ctx).await,
        DeleteBucketCors => cors::delete_bucket_cors(state, ctx).await,
        GetBucketVersioning => versioning::get_bucket_versioning(state, ctx).await,
        PutBucketVersioning => versioning::put_bucket_versioning(state, ctx, parts, body).await,
        GetBucketPolicy => bucket_policy::get_bucket_policy(state, ctx).await,
        PutBucketPolicy => bucket_policy::put_bucket_policy(state, ctx, parts, body).await,
        DeleteBucketPolicy => bucket_policy::delete_bucket_policy(state, ctx).await,
        GetBucketPolicyStatus => bucket_policy::get_bucket_policy_status(state, ctx).await,
        GetPublicAccessBlock => access_settings::get_public_access_block(state, ctx).await,
        PutPublicAccessBlock => {
            access_settings::put_public_access_block(state, ctx, parts, body).await
        }
        DeletePublicAccessBlock => access_settings::delete_public_access_block(state, ctx).await,
        GetBucketOwnershipControls => access_settings::get_ownership_controls(state, ctx).await,
        PutBucketOwnershipControls => {
            access_settings::put_ownership_controls(state, ctx, parts, body).await
        }
        DeleteBucketOwnershipControls => {
            access_settings::delete_ownership_controls(state, ctx).await
        }
        GetBucketTagging => tagging_api::get_bucket_tagging(state, ctx).await,
        PutBucketTagging => tagging_api::put_bucket_tagging(state, ctx, parts, body).await,
        DeleteBucketTagging => tagging_api::delete_bucket_tagging(state, ctx).await,
        GetObjectTagging => tagging_api::get_object_tagging(state, ctx).await,
        PutObjectTagging => tagging_api::put_object_tagging(state, ctx, parts, body).await,
        DeleteObjectTagging => tagging_api::delete_object_tagging(state, ctx).await,
        GetObjectLockConfiguration => {
            object_lock_api::get_object_lock_configuration(state, ctx).await
        }
        PutObjectLockConfiguration => {
            object_lock_api::put_object_lock_configuration(state, ctx, parts, body).await
        }
        GetObjectRetention => object_lock_api::get_object_retention(state, ctx).await,
        PutObjectRetention => object_lock_api::put_object_retention(state, ctx, parts, body).await,
        GetObjectLegalHold => object_lock_api::get_object_legal_hold(state, ctx).await,
        PutObjectLegalHold => object_lock_api::put_object_legal_hold(state, ctx, parts, body).await,
        GetBucketLifecycleConfiguration => {
            lifecycle_api::get_bucket_lifecycle_configuration(state, ctx).await
        }
        PutBucketLifecycleConfiguration => {
            lifecycle_api::put_bucket_lifecycle_configuration(state, ctx, parts, body).await
        }
        DeleteBucketLifecycle => lifecycle_api::delete_bucket_lifecycle(state, ctx).await,
        other => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            format!("{} is not implemented yet", other.as_str()),
        )),
    }
}

/// Loads the request's bucket, failing with `NoSuchBucket`, and with `AccessDenied` when
/// the request expects another owner (`x-amz-expected-bucket-owner`).
async fn load_bucket(state: &AppState, ctx: &RequestContext) -> S3Result<Bucket> {
    let name = ctx
        .bucket
        .as_deref()
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidRequest))?;
    let found = match ctx.prefetched_bucket.take(name) {
        Some(found) => found,
        None => buckets::get_bucket(&state.pool, name)
            .await
            .map_err(S3Error::from)?,
    };
    let bucket =
        found.ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchBucket).extra("BucketName", name))?;
    check_expected_owner(ctx, &bucket, headers::EXPECTED_BUCKET_OWNER)?;
    Ok(bucket)
}

/// S3's guard against writing to a bucket that changed hands: header `name`
/// (`x-amz-expected-bucket-owner`, or `x-amz-source-expected-bucket-owner` for a copy's
/// source) names the owner the client expects, here by canonical id; another owner is
/// `403 AccessDenied`.
fn check_expected_owner(ctx: &RequestContext, bucket: &Bucket, name: &str) -> S3Result<()> {
    match ctx.header(name) {
        Some(expected) if expected.trim() != bucket.owner_canonical_id => Err(
            S3Error::with_message(S3ErrorCode::AccessDenied, "Access Denied")
                .resource(format!("/{}", bucket.name)),
        ),
        _ => Ok(()),
    }
}

/// Loads the request's bucket and has its policy module decide the routed operation
/// (bucket-level operations, and object writes and deletes, which S3 decides on the bucket).
pub async fn authorized_bucket(state: &AppState, ctx: &RequestContext) -> S3Result<Bucket> {
    authorized_bucket_with_tags(state, ctx, &[]).await
}

/// [`authorized_bucket`] for a write that asks to set `tags` on the object it creates
/// (PutObject, POST Object, CopyObject with `REPLACE`, CreateMultipartUpload): the module
/// sees them as its `request-tags`.
pub async fn authorized_bucket_with_tags(
    state: &AppState,
    ctx: &RequestContext,
    tags: &[Tag],
) -> S3Result<Bucket> {
    let bucket = load_bucket(state, ctx).await?;
    let access = authz::AccessRequest {
        operation: ctx.op.as_str(),
        bucket: Some(&bucket),
        key: ctx.key.as_deref(),
        version_id: ctx.query_param("versionId"),
        object: None,
        request_tags: tags,
        request_acl: None,
        request_policy: None,
    };
    authz::authorize(state, ctx, &access)?;
    Ok(bucket)
}

/// Has the bucket's policy module decide the routed operation once more, now that what
/// it sets is known: the ACL of a PutBucketAcl or PutObjectAcl (`request_acl`, in the
/// module's form), the compiled policy of a PutBucketPolicy. The first decision, before
/// the body was read, answered whether the caller may do this at all (so a caller who
/// may not learns nothing of how its body would have fared); this one lets the module
/// refuse what is set (Object Ownership and Block Public Access in the default module).
pub fn authorize_what_is_set(
    state: &AppState,
    ctx: &RequestContext,
    bucket: &Bucket,
    object: Option<&objects::ObjectMeta>,
    request_acl: Option<crate::policy::types::Acl>,
    request_policy: Option<&[u8]>,
) -> S3Result<()> {
    let access = authz::AccessRequest {
        operation: ctx.op.as_str(),
        bucket: Some(bucket),
        key: object.and(ctx.key.as_deref()),
        version_id: object.and(ctx.query_param("versionId")),
        object,
        request_tags: &[],
        request_acl,
        request_policy,
    };
    authz::authorize(state, ctx, &access)
}

/// Loads the request's bucket and existing object and has the policy module decide the
/// routed operation with the object's ACL and tags (see [`authorized_object_at`]).
pub async fn authorized_object(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<(Bucket, objects::ObjectMeta)> {
    authorized_object_with_tags(state, ctx, &[]).await
}

/// [`authorized_object`] for a request that asks to set `tags` on the object
/// (PutObjectTagging): the module sees them as its `request-tags`.
pub async fn authorized_object_with_tags(
    state: &AppState,
    ctx: &RequestContext,
    tags: &[Tag],
) -> S3Result<(Bucket, objects::ObjectMeta)> {
    let bucket = load_bucket(state, ctx).await?;
    let key = object_key(ctx)?;
    let version = version_selector(ctx.query_param("versionId"))?;
    let operation = ctx.op.as_str();
    authorized_object_in(state, ctx, bucket, key, &version, operation, tags).await
}

/// The version a `versionId` parameter selects; text Coffer could not have issued as a
/// version id is `400 InvalidArgument`, as on S3.
pub fn version_selector(version_id: Option<&str>) -> S3Result<objects::VersionSelector> {
    objects::VersionSelector::parse(version_id).ok_or_else(|| {
        S3Error::with_message(S3ErrorCode::InvalidArgument, "Invalid version id specified")
            .extra("ArgumentName", "versionId")
            .extra("ArgumentValue", version_id.unwrap_or_default())
    })
}

/// Loads bucket `bucket_name` and its object `key` and has that bucket's policy module
/// decide `operation` on it with the object's ACL and tags, and `version` as the version
/// id the request addresses (the source of a copy is decided as `GetObject`, with the
/// source's version). For a missing object the answer depends, as on S3, on whether the
/// caller may list the bucket: `NoSuchKey` if so (decided as `ListObjects`),
/// `AccessDenied` otherwise.
pub async fn authorized_object_at(
    state: &AppState,
    ctx: &RequestContext,
    bucket_name: &str,
    key: &str,
    version: &objects::VersionSelector,
    operation: &str,
) -> S3Result<(Bucket, objects::ObjectMeta)> {
    let bucket = buckets::get_bucket(&state.pool, bucket_name)
        .await?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchBucket).extra("BucketName", bucket_name))?;
    check_expected_owner(ctx, &bucket, headers::SOURCE_EXPECTED_BUCKET_OWNER)?;
    authorized_object_in(state, ctx, bucket, key, version, operation, &[]).await
}

/// See [`authorized_object_at`]. A delete marker is no object: as the current version it
/// answers like a missing key (`404 NoSuchKey`), addressed by version id `405
/// MethodNotAllowed`, both with the marker's `x-amz-delete-marker` and
/// `x-amz-version-id`; a version id that names nothing is `404 NoSuchVersion`.
async fn authorized_object_in(
    state: &AppState,
    ctx: &RequestContext,
    bucket: Bucket,
    key: &str,
    version: &objects::VersionSelector,
    operation: &str,
    tags: &[Tag],
) -> S3Result<(Bucket, objects::ObjectMeta)> {
    let found = objects::get_object(&state.pool, bucket.id, key, version).await?;
    let Some(obj) = found.filter(|o| !o.delete_marker) else {
        let listing = authz::AccessRequest {
            operation: "ListObjects",
            bucket: Some(&bucket),
            key: None,
            version_id: None,
            object: None,
            request_tags: &[],
            request_acl: None,
            request_policy: None,
        };
        authz::authorize(state, ctx, &listing)?;
        let marker = objects::get_object(&state.pool, bucket.id, key, version)
            .await?
            .filter(|o| o.delete_marker);
        return Err(match (marker, version) {
            (Some(m), objects::VersionSelector::Latest) => S3Error::new(S3ErrorCode::NoSuchKey)
                .extra("Key", key)
                .header(headers::DELETE_MARKER, "true")
                .header(headers::VERSION_ID, m.version_label()),
            (Some(m), _) => S3Error::new(S3ErrorCode::MethodNotAllowed)
                .header(headers::DELETE_MARKER, "true")
                .header(headers::VERSION_ID, m.version_label())
                .header("last-modified", object_get::http_date(m.last_modified)),
            (None, objects::VersionSelector::Latest) => {
                S3Error::new(S3ErrorCode::NoSuchKey).extra("Key", key)
            }
            (None, _) => S3Error::new(S3ErrorCode::NoSuchVersion)
                .extra("Key", key)
                .extra("VersionId", version.label()),
        });
    };
    let access = authz::AccessRequest {
        operation,
        bucket: Some(&bucket),
        key: Some(key),
        version_id: version.requested(),
        object: Some(&obj),
        request_tags: tags,
        request_acl: None,
        request_policy: None,
    };
    authz::authorize(state, ctx, &access)?;
    Ok((bucket, obj))
}

/// The `Location` S3 gives a new object (CompleteMultipartUpload, POST Object): its
/// path-style URL on the host the request was sent to.
pub fn object_location(request_headers: &http::HeaderMap, bucket: &str, key: &str) -> String {
    let host = request_headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/{bucket}/{}", xml::url_encode(key))
}

/// The request's object key (routing guarantees it for object operations).
pub fn object_key(ctx: &RequestContext) -> S3Result<&str> {
    ctx.key
        .as_deref()
        .ok_or_else(|| S3Error::with_message(S3ErrorCode::InvalidRequest, "missing object key"))
}

/// Makes this process see a change it just committed to what the policy registry caches
/// (attachments, CORS configurations, buckets) before answering, rather than at the next
/// poll. A failure leaves that to the poll.
pub(crate) async fn see_own_change(state: &AppState) {
    if let Err(e) = state.policies.refresh().await {
        tracing::warn!(error = %e, "refreshing the policy registry after a change failed");
    }
}
