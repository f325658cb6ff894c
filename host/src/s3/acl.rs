//! GetBucketAcl, GetObjectAcl, PutBucketAcl and PutObjectAcl: the stored grants rendered as
//! an `AccessControlPolicy`, and replaced from a body, a canned ACL or grant headers.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html>
//!
//! A PUT takes exactly one of: an `AccessControlPolicy` body, `x-amz-acl`, or
//! `x-amz-grant-*` headers. As on S3: none is `MissingSecurityHeader`, a canned ACL with
//! grant headers is `InvalidRequest`, headers with a body is `UnexpectedContent`, a body
//! that does not parse or validate is `MalformedACLError`, and a body whose `Owner/ID` is
//! not the resource owner is `AccessDenied`.

use http::Response;
use http::request::Parts;
use hyper::body::Incoming;

use super::acl_headers::{self, AclTarget, GranteeRef, RequestedGrant};
use super::authz::wit_acl;
use super::payload::{open_payload, verify_content_md5};
use super::versioning::add_version_header;
use super::{authorize_what_is_set, authorized_bucket, authorized_object, object_key, xml};
use crate::acl::{Grantee, Grants, Group, Permission};
use crate::http::body::ResponseBody;
use crate::s3::context::{RequestContext, ok_empty, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::{accounts, buckets, objects};

/// Renders `grants` of a resource owned by `owner` as S3's `AccessControlPolicy`, looking up
/// the display names of the accounts granted in one query.
async fn render_acl(
    state: &AppState,
    owner: xml::Owner,
    grants: &Grants,
) -> S3Result<Response<ResponseBody>> {
    let mut ids: Vec<String> = Vec::new();
    for g in &grants.0 {
        if let Grantee::CanonicalUser(id) = &g.grantee
            && *id != owner.id
            && !ids.contains(id)
        {
            ids.push(id.clone());
        }
    }
    let mut names = accounts::display_names(&state.pool, &ids).await?;
    names.insert(owner.id.clone(), owner.display_name.clone());
    let rendered: Vec<xml::Grant> = grants
        .0
        .iter()
        .map(|g| xml::Grant {
            grantee: match &g.grantee {
                Grantee::CanonicalUser(id) => xml::Grantee::CanonicalUser {
                    id: id.clone(),
                    display_name: names.get(id).cloned(),
                },
                Grantee::Group(group) => xml::Grantee::Group {
                    uri: group.uri().to_owned(),
                },
            },
            permission: g.permission.as_str().to_owned(),
        })
        .collect();
    Ok(xml_response(xml::render_access_control_policy(
        &owner, &rendered,
    )))
}

/// GetBucketAcl. <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html>
pub async fn get_bucket_acl(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let owner = xml::Owner {
        id: bucket.owner_canonical_id,
        display_name: bucket.owner_display_name,
    };
    render_acl(state, owner, &bucket.acl).await
}

/// GetObjectAcl. <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html>
///
/// In a bucket whose ACLs are disabled (`BucketOwnerEnforced`) the bucket owner owns
/// every object, and the answer shows its full control whatever was stored, as on S3.
pub async fn get_object_acl(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let (bucket, obj) = authorized_object(state, ctx).await?;
    let mut resp = if bucket.acls_disabled() {
        let owner = xml::Owner {
            id: bucket.owner_canonical_id.clone(),
            display_name: bucket.owner_display_name.clone(),
        };
        render_acl(state, owner, &Grants::private(&bucket.owner_canonical_id)).await?
    } else {
        let owner = xml::Owner {
            id: obj.owner_canonical_id.clone(),
            display_name: obj.owner_display_name.clone(),
        };
        render_acl(state, owner, &obj.acl).await?
    };
    add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        obj.version_id.as_deref(),
    );
    Ok(resp)
}

/// PutBucketAcl. <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html>
pub async fn put_bucket_acl(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let grants = requested_grants(
        state,
        ctx,
        parts,
        body,
        &bucket.owner_canonical_id,
        AclTarget::Bucket,
    )
    .await?;
    let requested = wit_acl(&bucket.owner_canonical_id, &grants);
    authorize_what_is_set(state, ctx, &bucket, None, Some(requested), None)?;
    buckets::set_bucket_acl(&state.pool, bucket.id, &grants)
        .await
        .map_err(|e| S3Error::from(e).extra("BucketName", bucket.name.as_str()))?;
    Ok(ok_empty())
}

/// PutObjectAcl. <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html>
pub async fn put_object_acl(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let (bucket, obj) = authorized_object(state, ctx).await?;
    let key = object_key(ctx)?;
    let target = AclTarget::Object {
        bucket_owner: &bucket.owner_canonical_id,
    };
    let grants = requested_grants(state, ctx, parts, body, &obj.owner_canonical_id, target).await?;
    let requested = wit_acl(&obj.owner_canonical_id, &grants);
    authorize_what_is_set(state, ctx, &bucket, Some(&obj), Some(requested), None)?;
    if !objects::set_object_acl(&state.pool, obj.id, &grants).await? {
        return Err(S3Error::new(S3ErrorCode::NoSuchKey).extra("Key", key));
    }
    let mut resp = ok_empty();
    add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        obj.version_id.as_deref(),
    );
    Ok(resp)
}

/// The grants a PutBucketAcl / PutObjectAcl asks for, on a resource owned by `owner`: from
/// the headers or from the body, never both.
async fn requested_grants(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
    owner: &str,
    target: AclTarget<'_>,
) -> S3Result<Grants> {
    let h = &parts.headers;
    let from_headers = acl_headers::parse_acl_headers(h, target)?;
    let cap = state.config.max_xml_bytes;
    let mut payload = open_payload(state, ctx, parts, body, cap as u64)?;
    if from_headers.is_some() && payload.declared_len().is_some_and(|len| len > 0) {
        return Err(S3Error::new(S3ErrorCode::UnexpectedContent));
    }
    // Bodies larger than any XML document we accept are refused as other XML bodies are.
    let request_xml = payload.read_to_end(cap, S3ErrorCode::MalformedXML).await?;
    if let Some(acl) = from_headers {
        if !request_xml.is_empty() {
            return Err(S3Error::new(S3ErrorCode::UnexpectedContent));
        }
        return acl_headers::header_acl_grants(&state.pool, acl, owner, target).await;
    }
    if request_xml.iter().all(u8::is_ascii_whitespace) {
        return Err(S3Error::with_message(
            S3ErrorCode::MissingSecurityHeader,
            "Your request was missing a required header",
        )
        .extra("MissingHeaderName", acl_headers::CANNED_ACL));
    }
    verify_content_md5(h, &request_xml)?;
    let policy = xml::parse_access_control_policy(&request_xml)
        .map_err(|e| S3Error::new(S3ErrorCode::MalformedACLError).source(e))?;
    if policy.owner_id.as_deref().is_some_and(|id| id != owner) {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }
    let requested = policy
        .grants
        .into_iter()
        .map(requested_grant)
        .collect::<S3Result<Vec<_>>>()?;
    acl_headers::resolve_grants(&state.pool, requested).await
}

/// One grant of a parsed `AccessControlPolicy`, its group URI checked.
fn requested_grant(g: xml::Grant) -> S3Result<RequestedGrant> {
    let permission = Permission::parse(&g.permission)
        .ok_or_else(|| S3Error::new(S3ErrorCode::MalformedACLError))?;
    let grantee = match g.grantee {
        xml::Grantee::CanonicalUser { id, .. } => GranteeRef::Id(id),
        xml::Grantee::Email(email) => GranteeRef::Email(email),
        xml::Grantee::Group { uri } => GranteeRef::Group(
            Group::from_uri(&uri).ok_or_else(|| acl_headers::invalid_group_uri(&uri))?,
        ),
    };
    Ok(RequestedGrant {
        grantee,
        permission,
    })
}
