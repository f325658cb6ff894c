//! The access decision. Every request is decided by its bucket's policy module (the
//! built-in default module implements S3's ACL semantics); this file only assembles what
//! the module sees (`coffer:policy` `request`, see `guest-sdk/wit/policy.wit`) and turns
//! the answer into `AccessDenied`.
//!
//! A failure to decide (trap, deadline, memory limit, broken module) is a denial: the
//! engine logs it with the module's name and digest, the client sees `AccessDenied`.

use std::sync::Arc;

use crate::acl::{Grantee, Grants, Group, ObjectOwnership, Permission, PublicAccessBlock};
use crate::policy::Error as PolicyError;
use crate::policy::registry::BucketPolicy;
use crate::policy::shadow::{Effect, Shadow, reason_of};
use crate::policy::types;
use crate::s3::context::{Principal, RequestContext};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::buckets::Bucket;
use crate::store::objects::ObjectMeta;
use crate::tags::Tag;

/// What one decision is about. The operation is AWS's name; it is usually the routed
/// operation, but a request can need several decisions (DeleteObjects decides
/// `DeleteObject` per key; a missing object is decided as `ListObjects`).
pub struct AccessRequest<'a> {
    /// AWS's operation name.
    pub operation: &'a str,
    /// The bucket, when it exists.
    pub bucket: Option<&'a Bucket>,
    /// The object key the decision is about.
    pub key: Option<&'a str>,
    /// The `versionId` the request addresses (`null` for the null version; a copy's
    /// source's when deciding the source), as the client wrote it.
    pub version_id: Option<&'a str>,
    /// The existing object, for operations on one (its tags are the module's
    /// `object-tags`).
    pub object: Option<&'a ObjectMeta>,
    /// The tags the request asks to set (`x-amz-tagging`, POST Object's `tagging`
    /// field, the PutObjectTagging body); empty for every other request.
    pub request_tags: &'a [Tag],
    /// The ACL a PutBucketAcl or PutObjectAcl asks to set (the module's `request-acl`).
    pub request_acl: Option<types::Acl>,
    /// The compiled policy a PutBucketPolicy asks to set (`request-bucket-policy`).
    pub request_policy: Option<&'a [u8]>,
}

impl<'a> AccessRequest<'a> {
    /// `operation` on `bucket` as a whole, asking to set nothing.
    pub fn on_bucket(operation: &'a str, bucket: Option<&'a Bucket>) -> Self {
        AccessRequest {
            operation,
            bucket,
            key: None,
            version_id: None,
            object: None,
            request_tags: &[],
            request_acl: None,
            request_policy: None,
        }
    }
}

/// Allows the request or returns `AccessDenied`.
pub fn authorize(
    state: &AppState,
    ctx: &RequestContext,
    access: &AccessRequest<'_>,
) -> S3Result<()> {
    if cfg!(feature = "bench-skip-policy") {
        return Ok(());
    }
    let policy = bucket_policy(state, ctx, access.bucket.map(|b| b.id));
    let mut request = policy_request(ctx, access, policy.config.clone());
    if access.bucket.is_none() && access.operation == "CreateBucket" {
        // The settings the new bucket will get.
        request.public_access_block =
            wit_public_access_block(state.config.block_public_access_default.unwrap_or_default());
    }
    let module = match &policy.module {
        Ok(m) => m,
        Err(reason) => {
            tracing::warn!(module = %policy.name, %reason, "bucket's policy module is unusable; denied");
            return Err(S3Error::new(S3ErrorCode::AccessDenied));
        }
    };
    let decision = state.policies.engine().authorize(module, &request);
    if let Some(shadow) = &policy.shadow
        && shadow.sampled()
    {
        compare_with_shadow(
            state,
            ctx,
            access,
            &policy.name,
            shadow,
            &request,
            &decision,
        );
    }
    if let Some(log) = &policy.log {
        log.record(&ctx.request_id, &policy.name, &request, &decision);
    }
    match decision {
        Ok(types::Decision::Allow(reason)) => {
            tracing::trace!(module = %policy.name, operation = access.operation, %reason, "allowed by policy");
            Ok(())
        }
        Ok(types::Decision::Deny(reason)) => {
            tracing::debug!(module = %policy.name, operation = access.operation, %reason, "denied by policy");
            Err(S3Error::new(S3ErrorCode::AccessDenied))
        }
        Ok(types::Decision::Refuse(refusal)) => {
            let reason = &refusal.reason;
            tracing::debug!(module = %policy.name, operation = access.operation, %reason, "refused by policy");
            Err(S3Error::new(refusal_code(refusal.code)))
        }
        // The engine has logged the failure with the module's name and digest.
        Err(_) => Err(S3Error::new(S3ErrorCode::AccessDenied)),
    }
}

/// Has `shadow`'s candidate module decide `request` too and compares its answer's effect
/// with the active module's `active`: counted, and logged when they differ (see
/// `policy::shadow`). The candidate's answer is never used.
fn compare_with_shadow(
    state: &AppState,
    ctx: &RequestContext,
    access: &AccessRequest<'_>,
    active_module: &str,
    shadow: &Shadow,
    request: &types::Request,
    active: &Result<types::Decision, PolicyError>,
) {
    let candidate = match &shadow.module {
        Ok(module) if shadow.config == request.config => {
            state.policies.engine().authorize(module, request)
        }
        Ok(module) => {
            let mut own = request.clone();
            own.config = shadow.config.clone();
            state.policies.engine().authorize(module, &own)
        }
        Err(reason) => Err(PolicyError::Unavailable(reason.clone())),
    };
    let (was, would) = (Effect::of(active), Effect::of(&candidate));
    shadow.counters.count(was != would);
    if was != would {
        tracing::info!(
            request_id = %ctx.request_id,
            bucket = request.bucket.as_deref().unwrap_or("-"),
            operation = access.operation,
            key = access.key.unwrap_or("-"),
            active_module,
            candidate_module = %shadow.name,
            active = was.as_str(),
            candidate = would.as_str(),
            active_reason = %reason_of(active),
            candidate_reason = %reason_of(&candidate),
            "shadow policy module disagrees"
        );
    }
}

/// The S3 error of a module's refusal.
pub(crate) fn refusal_code(code: types::ErrorCode) -> S3ErrorCode {
    match code {
        types::ErrorCode::AccessControlListNotSupported => {
            S3ErrorCode::AccessControlListNotSupported
        }
        types::ErrorCode::InvalidBucketAclWithObjectOwnership => {
            S3ErrorCode::InvalidBucketAclWithObjectOwnership
        }
    }
}

/// The policy of bucket `bucket_id` for this request: the one the request pinned when it
/// first asked about that bucket, so a module swapped meanwhile never decides half of it.
pub(crate) fn bucket_policy(
    state: &AppState,
    ctx: &RequestContext,
    bucket_id: Option<i64>,
) -> Arc<BucketPolicy> {
    match ctx.policy.get() {
        Some((pinned, policy)) if *pinned == bucket_id => policy.clone(),
        _ => {
            let policy = state.policies.for_bucket(bucket_id);
            let _ = ctx.policy.set((bucket_id, policy.clone()));
            policy
        }
    }
}

/// The `request` record a module sees.
pub(crate) fn policy_request(
    ctx: &RequestContext,
    access: &AccessRequest<'_>,
    config: Option<String>,
) -> types::Request {
    let principal = match &ctx.principal {
        Principal::Anonymous => types::Principal::Anonymous,
        Principal::Account(a) => types::Principal::Account(types::Account {
            canonical_id: a.canonical_id.clone(),
            display_name: a.display_name.clone(),
        }),
    };
    types::Request {
        operation: access.operation.to_owned(),
        bucket: access
            .bucket
            .map(|b| b.name.clone())
            .or_else(|| ctx.bucket.clone()),
        key: access.key.map(str::to_owned),
        principal,
        source_ip: ctx.remote.ip().to_string(),
        headers: ctx
            .policy_headers
            .iter()
            .map(|(name, value)| types::Header {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        bucket_owner: access.bucket.map(|b| b.owner_canonical_id.clone()),
        object_owner: access
            .object
            .map(|o| object_owner(access.bucket, o).to_owned()),
        bucket_acl: access
            .bucket
            .map(|b| wit_acl(&b.owner_canonical_id, &b.acl)),
        object_acl: access.object.map(|o| match access.bucket {
            // ACLs disabled: the bucket owner's full control, whatever was stored (as
            // GetObjectAcl shows it).
            Some(b) if b.acls_disabled() => wit_acl(
                &b.owner_canonical_id,
                &Grants::private(&b.owner_canonical_id),
            ),
            _ => wit_acl(&o.owner_canonical_id, &o.acl),
        }),
        config,
        version_id: access.version_id.map(str::to_owned),
        object_tags: access.object.map(|o| wit_tags(&o.tags)),
        request_tags: wit_tags(access.request_tags),
        bucket_policy: access.bucket.and_then(|b| b.policy.clone()),
        context: request_context(ctx),
        public_access_block: wit_public_access_block(
            access
                .bucket
                .and_then(|b| b.public_access_block)
                .unwrap_or_default(),
        ),
        object_ownership: wit_ownership(
            access
                .bucket
                .map_or(ObjectOwnership::ObjectWriter, Bucket::ownership),
        ),
        request_acl: access.request_acl.clone(),
        request_bucket_policy: access.request_policy.map(<[u8]>::to_vec),
    }
}

/// Who owns `object`: its writer, or with ACLs disabled (Object Ownership
/// `BucketOwnerEnforced`) the bucket owner, as S3 has it.
fn object_owner<'a>(bucket: Option<&'a Bucket>, object: &'a ObjectMeta) -> &'a str {
    match bucket {
        Some(b) if b.acls_disabled() => &b.owner_canonical_id,
        _ => &object.owner_canonical_id,
    }
}

fn wit_public_access_block(b: PublicAccessBlock) -> types::PublicAccessBlock {
    types::PublicAccessBlock {
        block_public_acls: b.block_public_acls,
        ignore_public_acls: b.ignore_public_acls,
        block_public_policy: b.block_public_policy,
        restrict_public_buckets: b.restrict_public_buckets,
    }
}

fn wit_ownership(o: ObjectOwnership) -> types::ObjectOwnership {
    match o {
        ObjectOwnership::ObjectWriter => types::ObjectOwnership::ObjectWriter,
        ObjectOwnership::BucketOwnerPreferred => types::ObjectOwnership::BucketOwnerPreferred,
        ObjectOwnership::BucketOwnerEnforced => types::ObjectOwnership::BucketOwnerEnforced,
    }
}

/// The query parameters modules see: those bucket-policy conditions ask about
/// (`s3:prefix`, `s3:delimiter`, `s3:max-keys`). Only these, so that the answers to
/// requests differing in anything else (a continuation token, a part number) are shared
/// in the decision cache.
const POLICY_QUERY_PARAMS: [&str; 3] = ["prefix", "delimiter", "max-keys"];

/// How the request arrived, as modules see it.
fn request_context(ctx: &RequestContext) -> types::RequestContext {
    types::RequestContext {
        current_time: crate::s3::authn::unix_seconds(ctx.received_at).unwrap_or(0),
        secure_transport: ctx.secure_transport,
        signature: ctx.signature,
        query: ctx
            .query
            .iter()
            .filter(|(name, _)| POLICY_QUERY_PARAMS.contains(&name.as_str()))
            .map(|(name, value)| types::Header {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
    }
}

/// Tags as the WIT `tag` records, in stored order.
fn wit_tags(tags: &[Tag]) -> Vec<types::Tag> {
    tags.iter()
        .map(|t| types::Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

/// The stored ACL as the WIT `acl` record. LogDelivery grants are left out: the contract
/// has no such group and they grant nothing in Coffer.
pub fn wit_acl(owner: &str, grants: &Grants) -> types::Acl {
    types::Acl {
        owner: owner.to_owned(),
        grants: grants
            .0
            .iter()
            .filter_map(|g| {
                let grantee = match &g.grantee {
                    Grantee::CanonicalUser(id) => types::Grantee::CanonicalUser(id.clone()),
                    Grantee::Group(Group::AllUsers) => {
                        types::Grantee::Group(types::Group::AllUsers)
                    }
                    Grantee::Group(Group::AuthenticatedUsers) => {
                        types::Grantee::Group(types::Group::AuthenticatedUsers)
                    }
                    Grantee::Group(Group::LogDelivery) => return None,
                };
                Some(types::Grant {
                    grantee,
                    permission: wit_permission(g.permission),
                })
            })
            .collect(),
    }
}

fn wit_permission(p: Permission) -> types::Permission {
    match p {
        Permission::Read => types::Permission::Read,
        Permission::Write => types::Permission::Write,
        Permission::ReadAcp => types::Permission::ReadAcp,
        Permission::WriteAcp => types::Permission::WriteAcp,
        Permission::FullControl => types::Permission::FullControl,
    }
}

/// Request headers never shown to modules: credentials, and the transport, signing and
/// SDK bookkeeping headers, which say nothing about who may do what (the bucket is
/// resolved from `host` already) yet would cost two guest allocations each per decision.
const HIDDEN_HEADERS: &[&str] = &[
    // Credentials.
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-amz-security-token",
    // Transport.
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "expect",
    // Signing and payload framing.
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-decoded-content-length",
    "x-amz-trailer",
    // SDK retry bookkeeping.
    "amz-sdk-invocation-id",
    "amz-sdk-request",
];

/// The request headers a module sees: all but [`HIDDEN_HEADERS`], names lower-case,
/// values that are not valid UTF-8 left out.
pub fn policy_headers(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !HIDDEN_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}
