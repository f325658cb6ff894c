//! What a bucket's Object Ownership and Block Public Access settings refuse
//! among the requests that set an ACL or a policy, as S3 does:
//!
//! - Object Ownership `BucketOwnerEnforced` disables ACLs: a request setting
//!   an ACL that grants anything to anyone but the bucket owner fails with
//!   `AccessControlListNotSupported` (a `CreateBucket` asking for
//!   `BucketOwnerEnforced` with such an ACL: `InvalidBucketAclWithObjectOwnership`).
//!   The `bucket-owner-full-control` canned ACL, and ACLs granting only the
//!   bucket owner, are accepted
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html>).
//! - `BlockPublicAcls` refuses (`AccessDenied`) a request setting a public
//!   ACL: one granting anything to `AllUsers` or `AuthenticatedUsers`.
//! - `BlockPublicPolicy` refuses a `PutBucketPolicy` whose policy is public
//!   (`bucket_policy`'s `is_public`, AWS's definition).
//!
//! `IgnorePublicAcls` and `RestrictPublicBuckets` change what grants count,
//! not which requests may set what: they are applied where ACLs and the
//! policy are evaluated (`acl_decision`, `access`).
//!
//! The ACL a request sets is the host's `request_acl` for `PutBucketAcl` and
//! `PutObjectAcl`, and the `x-amz-acl` / `x-amz-grant-*` headers for the
//! writes that create something ([`ACL_HEADER_OPERATIONS`]).

#[allow(unused_imports)]
use crate::prelude::*;

use crate::types::{Decision, ErrorCode, Grantee, ObjectOwnership, Request};

/// Operations whose `x-amz-acl` / `x-amz-grant-*` headers give the ACL of the
/// bucket or object they create.
pub const ACL_HEADER_OPERATIONS: [&str; 5] = [
    "CreateBucket",
    "PutObject",
    "PostObject",
    "CopyObject",
    "CreateMultipartUpload",
];

/// The canned ACLs that grant to a public group.
const PUBLIC_CANNED: [&str; 3] = ["public-read", "public-read-write", "authenticated-read"];

/// The URIs of the public groups, as grant headers name them.
const PUBLIC_GROUP_URIS: [&str; 2] = [
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

/// What these settings need to know of the ACL a request sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestedAcl {
    /// It grants something to `AllUsers` or `AuthenticatedUsers`.
    pub public: bool,
    /// It grants nothing to anyone but the bucket owner (what a bucket with
    /// ACLs disabled accepts).
    pub bucket_owner_only: bool,
}

/// The refusal the bucket's Object Ownership or Block Public Access settings
/// make of `req`, or `None` if they let it through. Called on a request the
/// access decision allowed.
pub fn setting_refusal(req: &Request) -> Option<Decision> {
    if req.operation == "PutBucketPolicy" {
        return public_policy_refusal(req);
    }
    let requested = requested_acl(req)?;
    if ownership(req) == ObjectOwnership::BucketOwnerEnforced && !requested.bucket_owner_only {
        return Some(if req.operation == "CreateBucket" {
            Decision::refuse(
                ErrorCode::InvalidBucketAclWithObjectOwnership,
                "BucketOwnerEnforced disables ACLs, and the requested bucket ACL grants to \
                 others than the owner",
            )
        } else {
            Decision::refuse(
                ErrorCode::AccessControlListNotSupported,
                "the bucket's ACLs are disabled (Object Ownership is BucketOwnerEnforced): only \
                 bucket-owner-full-control may be set",
            )
        });
    }
    if req.public_access_block.block_public_acls && requested.public {
        return Some(Decision::deny(
            "Block Public Access (BlockPublicAcls) refuses public ACLs",
        ));
    }
    None
}

/// The Object Ownership that applies: the bucket's, or for `CreateBucket`
/// the one it asks for (S3's `ObjectWriter` when it asks for none or names
/// none the module knows; the host refuses unknown names beforehand).
pub fn ownership(req: &Request) -> ObjectOwnership {
    if req.operation == "CreateBucket" {
        return req
            .header("x-amz-object-ownership")
            .and_then(ObjectOwnership::parse)
            .unwrap_or_default();
    }
    req.object_ownership
}

/// The ACL `req` asks to set, or `None` if it sets none.
pub fn requested_acl(req: &Request) -> Option<RequestedAcl> {
    let op = req.operation.as_str();
    // The account that owns what the request creates or changes the ACL of.
    let bucket_owner = match op {
        "CreateBucket" => req.principal.canonical_id(),
        _ => req.bucket_owner.as_deref(),
    };
    if let Some(acl) = &req.request_acl {
        return Some(RequestedAcl {
            public: acl
                .grants
                .iter()
                .any(|g| matches!(g.grantee, Grantee::Group(_))),
            bucket_owner_only: acl.grants.iter().all(
                |g| matches!(&g.grantee, Grantee::CanonicalUser(id) if Some(id.as_str()) == bucket_owner),
            ),
        });
    }
    if !ACL_HEADER_OPERATIONS.contains(&op) {
        return None;
    }
    if let Some(canned) = req.header("x-amz-acl") {
        let canned = canned.trim();
        let writer_owns_bucket =
            op == "CreateBucket" || req.principal.canonical_id() == bucket_owner;
        return Some(RequestedAcl {
            public: PUBLIC_CANNED.contains(&canned),
            bucket_owner_only: canned == "bucket-owner-full-control"
                || (writer_owns_bucket && matches!(canned, "private" | "bucket-owner-read")),
        });
    }
    let mut found = false;
    let mut requested = RequestedAcl {
        public: false,
        bucket_owner_only: true,
    };
    for header in &req.headers {
        let Some(permission) = header.name.strip_prefix("x-amz-grant-") else {
            continue;
        };
        found = true;
        for (kind, value) in grantees(&header.value) {
            let to_owner = kind.eq_ignore_ascii_case("id") && Some(value) == bucket_owner;
            requested.bucket_owner_only &= to_owner && permission == "full-control";
            requested.public |=
                kind.eq_ignore_ascii_case("uri") && PUBLIC_GROUP_URIS.contains(&value);
        }
    }
    found.then_some(requested)
}

/// The grantees of an `x-amz-grant-*` header (`id="..."`, `uri="..."`,
/// `emailAddress="..."`, comma-separated), as (kind, value) pairs, quotes
/// removed. The host has checked the syntax; anything odd is kept as it is
/// (and so never counts as the bucket owner).
fn grantees(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value.split(',').map(|item| {
        let (kind, value) = item.split_once('=').unwrap_or((item, ""));
        (kind.trim(), value.trim().trim_matches('"'))
    })
}

/// `BlockPublicPolicy`'s refusal of a `PutBucketPolicy` whose policy is
/// public; a policy the module cannot read counts as public (fail closed).
/// Without `request_bucket_policy` there is nothing to judge yet: the host
/// decides `PutBucketPolicy` first without it (may the caller set a policy at
/// all?), then again with the policy it compiled.
fn public_policy_refusal(req: &Request) -> Option<Decision> {
    if !req.public_access_block.block_public_policy {
        return None;
    }
    let policy = req.request_bucket_policy.as_deref()?;
    #[cfg(feature = "bucket-policy")]
    let public = crate::bucket_policy::decode(policy).map_or(true, |p| p.is_public());
    // Unreadable without the decoder: counts as public.
    #[cfg(not(feature = "bucket-policy"))]
    let public = {
        let _ = policy;
        true
    };
    public.then(|| {
        Decision::deny(
            "the policy is public and Block Public Access (BlockPublicPolicy) refuses it",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canned::canned_acl;
    use crate::standard_decision;
    use crate::types::{Header, Principal};

    const OWNER: &str = "owner-id";
    const OTHER: &str = "other-id";

    fn write(operation: &str, principal: Principal, headers: &[(&str, &str)]) -> Request {
        let mut req = Request::new(operation, principal);
        req.bucket = Some("photos".into());
        req.key = Some("cat.jpg".into());
        req.bucket_owner = Some(OWNER.into());
        req.bucket_acl = canned_acl("private", OWNER, None).ok().map(|acl| {
            acl.with_grant(
                Grantee::CanonicalUser(OTHER.into()),
                crate::Permission::Write,
            )
        });
        req.headers = headers.iter().map(|(n, v)| Header::new(*n, *v)).collect();
        req
    }

    #[test]
    fn enforced_ownership_accepts_only_bucket_owner_full_control() {
        for (headers, accepted) in [
            (vec![], true),
            (vec![("x-amz-acl", "bucket-owner-full-control")], true),
            // The owner's own private ACL is its full control.
            (vec![("x-amz-acl", "private")], true),
            (vec![("x-amz-acl", "public-read")], false),
            (vec![("x-amz-acl", "authenticated-read")], false),
            (vec![("x-amz-grant-full-control", "id=\"owner-id\"")], true),
            (vec![("x-amz-grant-read", "id=\"owner-id\"")], false),
            (
                vec![(
                    "x-amz-grant-full-control",
                    "id=\"owner-id\", id=\"other-id\"",
                )],
                false,
            ),
        ] {
            // ACLs disabled: only the bucket owner (or a policy) may write.
            let mut req = write("PutObject", Principal::account(OWNER), &headers);
            req.object_ownership = ObjectOwnership::BucketOwnerEnforced;
            let d = standard_decision(&req);
            if accepted {
                assert!(d.is_allowed(), "{headers:?}: {d:?}");
            } else {
                assert!(
                    matches!(
                        d,
                        Decision::Refuse(ErrorCode::AccessControlListNotSupported, _)
                    ),
                    "{headers:?}: {d:?}"
                );
            }
        }
    }

    #[test]
    fn enforced_ownership_refuses_acl_calls_and_disables_grants() {
        let mut req = write("PutObjectAcl", Principal::account(OWNER), &[]);
        req.object_owner = Some(OWNER.into());
        req.object_acl = canned_acl("private", OWNER, None).ok();
        req.object_ownership = ObjectOwnership::BucketOwnerEnforced;
        req.request_acl = canned_acl("public-read", OWNER, None).ok();
        assert!(matches!(
            standard_decision(&req),
            Decision::Refuse(ErrorCode::AccessControlListNotSupported, _)
        ));
        req.request_acl = canned_acl("private", OWNER, None).ok();
        assert!(standard_decision(&req).is_allowed());
        // OTHER's WRITE grant on the bucket counts for nothing.
        let mut put = write("PutObject", Principal::account(OTHER), &[]);
        assert!(standard_decision(&put).is_allowed());
        put.object_ownership = ObjectOwnership::BucketOwnerEnforced;
        let d = standard_decision(&put);
        assert!(!d.is_allowed());
        assert!(d.reason().contains("BucketOwnerEnforced"), "{d:?}");
    }

    #[test]
    fn create_bucket_with_enforced_ownership_refuses_acls_granting_others() {
        let req = write(
            "CreateBucket",
            Principal::account(OWNER),
            &[
                ("x-amz-object-ownership", "BucketOwnerEnforced"),
                ("x-amz-acl", "public-read"),
            ],
        );
        assert!(matches!(
            standard_decision(&req),
            Decision::Refuse(ErrorCode::InvalidBucketAclWithObjectOwnership, _)
        ));
        let req = write(
            "CreateBucket",
            Principal::account(OWNER),
            &[
                ("x-amz-object-ownership", "BucketOwnerEnforced"),
                ("x-amz-acl", "private"),
            ],
        );
        assert!(standard_decision(&req).is_allowed());
    }

    #[test]
    fn block_public_acls_refuses_public_acls_only() {
        let public_grant = "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"";
        for (headers, public) in [
            (vec![("x-amz-acl", "public-read")], true),
            (vec![("x-amz-acl", "authenticated-read")], true),
            (vec![("x-amz-acl", "private")], false),
            (vec![("x-amz-acl", "bucket-owner-read")], false),
            (vec![("x-amz-grant-read", public_grant)], true),
            (vec![("x-amz-grant-read", "id=\"other-id\"")], false),
            (vec![], false),
        ] {
            let mut req = write("PutObject", Principal::account(OTHER), &headers);
            assert!(standard_decision(&req).is_allowed(), "{headers:?}");
            req.public_access_block.block_public_acls = true;
            assert_eq!(!standard_decision(&req).is_allowed(), public, "{headers:?}");
        }
        let mut acl = write("PutBucketAcl", Principal::account(OWNER), &[]);
        acl.public_access_block.block_public_acls = true;
        acl.request_acl = canned_acl("public-read-write", OWNER, None).ok();
        let d = standard_decision(&acl);
        assert_eq!(
            d,
            Decision::deny("Block Public Access (BlockPublicAcls) refuses public ACLs")
        );
    }

    #[test]
    fn ignore_public_acls_makes_public_grants_count_for_nothing() {
        let mut get = write("GetObject", Principal::Anonymous, &[]);
        get.object_owner = Some(OWNER.into());
        get.object_acl = canned_acl("public-read", OWNER, None).ok();
        assert!(standard_decision(&get).is_allowed());
        get.public_access_block.ignore_public_acls = true;
        let d = standard_decision(&get);
        assert!(!d.is_allowed());
        assert!(d.reason().contains("IgnorePublicAcls"), "{d:?}");
    }

    #[cfg(feature = "bucket-policy-parse")]
    #[test]
    fn public_policies_are_blocked_and_restricted() {
        let public = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "Public",
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::photos/*"}]}"#;
        let compiled = crate::bucket_policy::parse(public, "photos")
            .expect("valid")
            .encode();
        let mut put = write("PutBucketPolicy", Principal::account(OWNER), &[]);
        put.request_bucket_policy = Some(compiled.clone());
        assert!(standard_decision(&put).is_allowed());
        put.public_access_block.block_public_policy = true;
        assert!(!standard_decision(&put).is_allowed());
        // The first decision, before the host has the policy, cannot judge it.
        put.request_bucket_policy = None;
        assert!(standard_decision(&put).is_allowed());

        let mut get = write("GetObject", Principal::Anonymous, &[]);
        get.object_owner = Some(OWNER.into());
        get.object_acl = canned_acl("private", OWNER, None).ok();
        get.bucket_policy = Some(compiled);
        let d = standard_decision(&get);
        assert_eq!(
            d,
            Decision::allow("allowed by bucket policy statement \"Public\"")
        );
        get.public_access_block.restrict_public_buckets = true;
        let d = standard_decision(&get);
        assert!(d.reason().contains("RestrictPublicBuckets"), "{d:?}");
        get.principal = Principal::account(OWNER);
        assert!(standard_decision(&get).is_allowed());
    }
}
