//! S3's standard ACL semantics, as library functions a custom module can wrap.
//!
//! [`standard_decision`] is the whole logic of Coffer's default module. It
//! follows the ACL model of Amazon S3
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html>)
//! with S3 Object Ownership set to `ObjectWriter` or `BucketOwnerPreferred`,
//! the modes in which ACLs are in effect (`BucketOwnerEnforced` disables them:
//! see [`acl_decision`]):
//!
//! - Bucket-level operations are checked against the **bucket ACL**; the
//!   bucket owner implicitly has `FULL_CONTROL` on the bucket.
//! - Object reads and object-ACL operations are checked against the **object
//!   ACL**; the object owner (the account that wrote it) implicitly has
//!   `FULL_CONTROL` on the object.
//! - Object ACLs are **not inherited** from the bucket: the bucket owner does
//!   not automatically read objects other accounts wrote into its bucket. It
//!   gets access only if the object ACL grants it (typically via the
//!   `bucket-owner-read` or `bucket-owner-full-control` canned ACLs). It can
//!   still list such objects (bucket `READ`) and delete or overwrite them
//!   (bucket `WRITE`), because those are bucket permissions.
//! - Creating, overwriting and deleting objects needs `WRITE` on the
//!   **bucket**; `WRITE` on an object means nothing. Deleting a *version*
//!   (`DeleteObject` with a [`version_id`](Request::version_id), S3's
//!   `s3:DeleteObjectVersion`) is the **bucket owner**'s alone.
//! - Anything unknown or missing fails closed: unknown operations, absent
//!   ACLs, and owners that disagree with their ACL are denied.
//!
//! One deliberate simplification: on AWS an owner who removes its own grant
//! keeps only `READ_ACP` and `WRITE_ACP`; here the owner always keeps
//! `FULL_CONTROL`, so an owner can never lock itself out of its own data.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::types::{
    Acl, Decision, Grantee, Group, ObjectOwnership, Permission, Principal, Request,
};

/// The resource whose ACL an operation is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// The addressed bucket.
    Bucket,
    /// The addressed object.
    Object,
}

/// What an operation requires of the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Required {
    /// Any authenticated account; not tied to a bucket (`ListBuckets`,
    /// `CreateBucket`).
    Authenticated,
    /// The bucket owner, whatever the bucket ACL says (bucket configuration:
    /// `DeleteBucket`, CORS, policy, ...).
    BucketOwner,
    /// The given permission in the bucket ACL.
    Bucket(Permission),
    /// The given permission in the object ACL.
    Object(Permission),
}

impl Required {
    /// The resource whose ACL is consulted, if any.
    pub fn resource(self) -> Option<Resource> {
        match self {
            Self::Authenticated | Self::BucketOwner => None,
            Self::Bucket(_) => Some(Resource::Bucket),
            Self::Object(_) => Some(Resource::Object),
        }
    }

    /// The ACL permission needed, if the check is ACL-based.
    pub fn permission(self) -> Option<Permission> {
        match self {
            Self::Authenticated | Self::BucketOwner => None,
            Self::Bucket(p) | Self::Object(p) => Some(p),
        }
    }
}

/// Bucket-configuration operations only the bucket owner may perform.
const OWNER_ONLY: &[&str] = &[
    "DeleteBucket",
    "GetBucketLocation",
    "GetBucketCors",
    "PutBucketCors",
    "DeleteBucketCors",
    "GetBucketPolicy",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "GetBucketPolicyStatus",
    "GetBucketVersioning",
    "PutBucketVersioning",
    "GetBucketLifecycleConfiguration",
    "PutBucketLifecycleConfiguration",
    "DeleteBucketLifecycle",
    "GetBucketTagging",
    "PutBucketTagging",
    "DeleteBucketTagging",
    "GetBucketEncryption",
    "PutBucketEncryption",
    "DeleteBucketEncryption",
    "GetBucketWebsite",
    "PutBucketWebsite",
    "DeleteBucketWebsite",
    "GetBucketLogging",
    "PutBucketLogging",
    "GetBucketNotificationConfiguration",
    "PutBucketNotificationConfiguration",
    "GetBucketOwnershipControls",
    "PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls",
    "GetPublicAccessBlock",
    "PutPublicAccessBlock",
    "DeletePublicAccessBlock",
    "GetBucketRequestPayment",
    "PutBucketRequestPayment",
    "GetBucketReplication",
    "PutBucketReplication",
    "DeleteBucketReplication",
    "GetBucketAccelerateConfiguration",
    "PutBucketAccelerateConfiguration",
    "GetObjectLockConfiguration",
    "PutObjectLockConfiguration",
    "GetObjectRetention",
    "PutObjectRetention",
    "GetObjectLegalHold",
    "PutObjectLegalHold",
    "BypassGovernanceRetention",
];

/// What `operation` (AWS's name, case-sensitive, e.g. `"GetObject"`)
/// requires, following AWS's mapping of ACL permissions to operations
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#acl-access-policy-permission-mapping>).
///
/// - Bucket `READ`: `ListObjects`, `ListObjectsV2`, `ListObjectVersions`,
///   `ListMultipartUploads`, `HeadBucket`.
/// - Bucket `WRITE`: `PutObject`, `PostObject`, `CopyObject` and
///   `UploadPartCopy` (for the *target*; the host authorizes the source
///   separately as a `GetObject`), `DeleteObject` (naming a version: the
///   bucket owner, which [`standard_decision`] checks, since the version is
///   not part of the operation name), `DeleteObjects`,
///   `CreateMultipartUpload`, `UploadPart`, `CompleteMultipartUpload`,
///   `AbortMultipartUpload`, and `ListParts`.
/// - Object `READ`: `GetObject`, `HeadObject`, `GetObjectAttributes`,
///   `GetObjectTagging`.
/// - Object `WRITE_ACP`: `PutObjectTagging`, `DeleteObjectTagging`. S3 grants tagging
///   through policies only (`s3:PutObjectTagging`), which the object owner has; of the
///   ACL permissions, the right to change who may do what with the object is the
///   closest, and it includes the owner.
/// - `READ_ACP` / `WRITE_ACP` on the bucket: `GetBucketAcl` / `PutBucketAcl`;
///   on the object: `GetObjectAcl` / `PutObjectAcl`.
/// - Bucket owner only: `DeleteBucket`, `GetBucketLocation`, CORS, policy and
///   other bucket configuration operations, Object Lock (`Get/PutObjectRetention`,
///   `Get/PutObjectLegalHold`) and `BypassGovernanceRetention` (asked by the host when a
///   request carries `x-amz-bypass-governance-retention: true`).
/// - Any authenticated account: `ListBuckets`, `CreateBucket`.
///
/// `ListParts` needs `s3:ListMultipartUploadParts`, which no ACL permission
/// maps to on AWS: only the bucket owner and the upload's initiator may list
/// parts. The request carries no initiator, so the closest ACL-expressible
/// rule is bucket `WRITE` (what the initiator needed to start the upload, and
/// what lets anyone abort or complete it anyway). Note that the host router's
/// `AccessClass` calls `ListParts` a read; `WRITE` here is the stricter choice.
///
/// Unknown operations return `None`; callers must deny (fail closed).
pub fn required_permission(operation: &str) -> Option<Required> {
    use Permission::*;
    let required = match operation {
        "ListBuckets" | "CreateBucket" => Required::Authenticated,
        "ListObjects"
        | "ListObjectsV2"
        | "ListObjectVersions"
        | "ListMultipartUploads"
        | "HeadBucket" => Required::Bucket(Read),
        "PutObject"
        | "PostObject"
        | "CopyObject"
        | "DeleteObject"
        | "DeleteObjects"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "UploadPartCopy"
        | "CompleteMultipartUpload"
        | "AbortMultipartUpload"
        | "ListParts" => Required::Bucket(Write),
        "GetObject" | "HeadObject" | "GetObjectAttributes" | "GetObjectTagging" => {
            Required::Object(Read)
        }
        "PutObjectTagging" | "DeleteObjectTagging" => Required::Object(WriteAcp),
        "GetBucketAcl" => Required::Bucket(ReadAcp),
        "PutBucketAcl" => Required::Bucket(WriteAcp),
        "GetObjectAcl" => Required::Object(ReadAcp),
        "PutObjectAcl" => Required::Object(WriteAcp),
        op if OWNER_ONLY.contains(&op) => Required::BucketOwner,
        _ => return None,
    };
    Some(required)
}

/// Whether `grantee` covers `principal`: a canonical user matches that
/// account, `AllUsers` matches everyone (including anonymous requests),
/// `AuthenticatedUsers` matches any account, and e-mail grantees match
/// nobody (the host resolves them to canonical ids beforehand).
pub fn grantee_matches(grantee: &Grantee, principal: &Principal) -> bool {
    match grantee {
        Grantee::CanonicalUser(id) => principal.is(id),
        Grantee::Group(Group::AllUsers) => true,
        Grantee::Group(Group::AuthenticatedUsers) => principal.is_authenticated(),
        Grantee::Email(_) => false,
    }
}

/// Whether `acl` gives `principal` the `wanted` permission: the ACL owner
/// implicitly has `FULL_CONTROL`, and a `FULL_CONTROL` grant implies every
/// permission.
pub fn grants_permission(acl: &Acl, principal: &Principal, wanted: Permission) -> bool {
    principal.is(&acl.owner)
        || acl
            .grants
            .iter()
            .any(|g| g.permission.implies(wanted) && grantee_matches(&g.grantee, principal))
}

/// S3's standard authorization decision for `req` (the default module's
/// whole `authorize` logic): the bucket policy, if the bucket has one, and
/// the ACLs ([`acl_decision`]), combined as AWS does (`access`, feature
/// `bucket-policy`), then the bucket's Object Ownership and Block Public
/// Access settings on requests that set an ACL or a policy
/// ([`crate::public_access::setting_refusal`]). A module built without that
/// feature denies every request to a bucket that has a policy rather than
/// ignore it. Reasons are short, human-readable and contain no secrets.
pub fn standard_decision(req: &Request) -> Decision {
    #[cfg(feature = "bucket-policy")]
    let decision = crate::access::policy_and_acl_decision(req);
    #[cfg(not(feature = "bucket-policy"))]
    let decision = match req.bucket_policy {
        // A policy's `Deny` must never pass unseen: fail closed.
        Some(_) => Decision::deny("this module was built without bucket-policy support"),
        None => acl_decision(req),
    };
    if !decision.is_allowed() {
        return decision;
    }
    crate::public_access::setting_refusal(req).unwrap_or(decision)
}

/// S3's ACL semantics alone, without the bucket policy: [`standard_decision`]
/// for a bucket that has no policy; see the [module documentation](self) for
/// the rules. It follows [`required_permission`], except that a `DeleteObject`
/// naming a version needs the bucket owner. Object tags play no part (ACLs
/// know nothing of them).
///
/// Two bucket settings change what ACLs grant: with Object Ownership
/// `BucketOwnerEnforced` ACLs are disabled (the bucket owner owns every
/// object and is the only one an ACL-based permission goes to), and Block
/// Public Access `IgnorePublicAcls` skips grants to `AllUsers` and
/// `AuthenticatedUsers`.
pub fn acl_decision(req: &Request) -> Decision {
    let op = req.operation.as_str();
    let Some(required) = required_permission(op) else {
        return Decision::deny(format!("unknown operation {op}"));
    };
    // A delete that names a version is S3's `s3:DeleteObjectVersion`, which of the ACL
    // grantees only the bucket owner has: "when the grantee is the bucket owner, granting
    // WRITE permission in a bucket ACL allows the s3:DeleteObjectVersion action"
    // (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#permissions>).
    let (op, required) = match (op, &req.version_id) {
        ("DeleteObject", Some(_)) => ("DeleteObjectVersion", Required::BucketOwner),
        _ => (op, required),
    };
    let principal = &req.principal;
    let acls_disabled = req.object_ownership == ObjectOwnership::BucketOwnerEnforced;
    match required {
        Required::Authenticated => {
            if principal.is_authenticated() {
                Decision::allow(format!("any authenticated account may {op}"))
            } else {
                Decision::deny(format!("{op} requires an authenticated request"))
            }
        }
        Required::BucketOwner => bucket_owner_decision(req, op),
        Required::Bucket(_) | Required::Object(_) if acls_disabled => {
            match bucket_owner_decision(req, op) {
                Decision::Allow(_) => Decision::allow(
                    "the bucket owner (ACLs are disabled: Object Ownership is BucketOwnerEnforced)",
                ),
                _ => Decision::deny(
                    "ACLs are disabled (Object Ownership is BucketOwnerEnforced) and no bucket \
                     policy statement allows it",
                ),
            }
        }
        Required::Bucket(wanted) => check_acl(
            req.bucket_acl.as_ref(),
            req.bucket_owner.as_deref(),
            "bucket",
            principal,
            wanted,
            req.public_access_block.ignore_public_acls,
        ),
        Required::Object(wanted) => check_acl(
            req.object_acl.as_ref(),
            req.object_owner.as_deref(),
            "object",
            principal,
            wanted,
            req.public_access_block.ignore_public_acls,
        ),
    }
}

/// Allows the bucket owner alone.
fn bucket_owner_decision(req: &Request, op: &str) -> Decision {
    match resolve_owner(
        req.bucket_owner.as_deref(),
        req.bucket_acl.as_ref(),
        "bucket",
    ) {
        Err(denied) => denied,
        Ok(owner) if req.principal.is(owner) => Decision::allow("the bucket owner"),
        Ok(_) => Decision::deny(format!("only the bucket owner may {op}")),
    }
}

/// The owner of a resource from its owner field and ACL, failing closed when
/// both are missing or they disagree.
fn resolve_owner<'a>(
    owner: Option<&'a str>,
    acl: Option<&'a Acl>,
    what: &str,
) -> Result<&'a str, Decision> {
    match (owner, acl) {
        (None, None) => Err(Decision::deny(format!("{what} owner unknown"))),
        (Some(o), Some(acl)) if o != acl.owner => Err(Decision::deny(format!(
            "{what} owner does not match its ACL owner"
        ))),
        (Some(o), _) => Ok(o),
        (None, Some(acl)) => Ok(&acl.owner),
    }
}

/// Check `wanted` against a resource's ACL, failing closed when the ACL is
/// missing or disagrees with the recorded owner. With `ignore_public`, grants
/// to the `AllUsers` and `AuthenticatedUsers` groups count for nothing.
fn check_acl(
    acl: Option<&Acl>,
    owner: Option<&str>,
    what: &str,
    principal: &Principal,
    wanted: Permission,
    ignore_public: bool,
) -> Decision {
    let Some(acl) = acl else {
        return Decision::deny(format!("no {what} ACL"));
    };
    if let Err(denied) = resolve_owner(owner, Some(acl), what) {
        return denied;
    }
    if principal.is(&acl.owner) {
        return Decision::allow(format!("the {what} owner"));
    }
    let granting = acl.grants.iter().find(|g| {
        g.permission.implies(wanted)
            && grantee_matches(&g.grantee, principal)
            && !(ignore_public && matches!(g.grantee, Grantee::Group(_)))
    });
    match granting {
        Some(g) => Decision::allow(format!(
            "the {what} ACL grants {} to {}",
            g.permission.as_str(),
            grantee_name(&g.grantee)
        )),
        None if ignore_public && grants_permission(acl, principal, wanted) => {
            Decision::deny(format!(
                "only a public grant of the {what} ACL allows {}, and Block Public Access \
                 (IgnorePublicAcls) ignores it",
                wanted.as_str()
            ))
        }
        None => Decision::deny(format!("{what} ACL does not grant {}", wanted.as_str())),
    }
}

/// A grantee as reasons name it.
fn grantee_name(grantee: &Grantee) -> String {
    match grantee {
        Grantee::CanonicalUser(id) => format!("account {id}"),
        Grantee::Group(Group::AllUsers) => "AllUsers".to_owned(),
        Grantee::Group(Group::AuthenticatedUsers) => "AuthenticatedUsers".to_owned(),
        Grantee::Email(e) => format!("e-mail {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canned::{SUPPORTED, canned_acl};
    use crate::types::Grant;

    const OWNER: &str = "owner-id";
    const OTHER: &str = "other-id";

    fn principals() -> [(&'static str, Principal); 3] {
        [
            ("owner", Principal::account(OWNER)),
            ("other", Principal::account(OTHER)),
            ("anon", Principal::Anonymous),
        ]
    }

    fn bucket_req(op: &str, principal: Principal, acl: Acl) -> Request {
        let mut req = Request::new(op, principal);
        req.bucket = Some("b".into());
        req.bucket_owner = Some(acl.owner.clone());
        req.bucket_acl = Some(acl);
        req
    }

    fn object_req(op: &str, principal: Principal, bucket_acl: Acl, object_acl: Acl) -> Request {
        let mut req = bucket_req(op, principal, bucket_acl);
        req.key = Some("k".into());
        req.object_owner = Some(object_acl.owner.clone());
        req.object_acl = Some(object_acl);
        req
    }

    /// Bucket-level operation classes: r = READ, w = WRITE, a = READ_ACP,
    /// c = WRITE_ACP, o = owner-only.
    const BUCKET_CLASSES: [(char, &[&str]); 5] = [
        (
            'r',
            &[
                "ListObjects",
                "ListObjectsV2",
                "ListObjectVersions",
                "ListMultipartUploads",
                "HeadBucket",
            ],
        ),
        (
            'w',
            &[
                "PutObject",
                "PostObject",
                "CopyObject",
                "DeleteObject",
                "DeleteObjects",
                "CreateMultipartUpload",
                "UploadPart",
                "UploadPartCopy",
                "CompleteMultipartUpload",
                "AbortMultipartUpload",
                "ListParts",
            ],
        ),
        ('a', &["GetBucketAcl"]),
        ('c', &["PutBucketAcl"]),
        (
            'o',
            &[
                "DeleteBucket",
                "GetBucketLocation",
                "GetBucketCors",
                "PutBucketCors",
                "DeleteBucketCors",
                "GetBucketPolicy",
                "PutBucketVersioning",
            ],
        ),
    ];

    /// Object-level operation classes (WRITE on objects is a bucket matter).
    const OBJECT_CLASSES: [(char, &[&str]); 3] = [
        ('r', &["GetObject", "HeadObject", "GetObjectAttributes"]),
        ('a', &["GetObjectAcl"]),
        ('c', &["PutObjectAcl"]),
    ];

    fn check(expected: &str, classes: &[(char, &[&str])], mk: impl Fn(&str) -> Request) {
        for (class, ops) in classes {
            for op in *ops {
                let req = mk(op);
                let got = standard_decision(&req);
                assert_eq!(
                    got.is_allowed(),
                    expected.contains(*class),
                    "{op} by {:?}: expected {expected:?}, got {got:?}",
                    req.principal
                );
            }
        }
    }

    #[test]
    fn bucket_matrix() {
        // (canned ACL, [owner, other, anonymous]) allowed classes.
        let table: [(&str, [&str; 3]); 6] = [
            ("private", ["rwaco", "", ""]),
            ("public-read", ["rwaco", "r", "r"]),
            ("public-read-write", ["rwaco", "rw", "rw"]),
            ("authenticated-read", ["rwaco", "r", ""]),
            // The bucket-owner-* ACLs only mean something on objects.
            ("bucket-owner-read", ["rwaco", "", ""]),
            ("bucket-owner-full-control", ["rwaco", "", ""]),
        ];
        assert_eq!(table.map(|t| t.0), SUPPORTED);
        for (canned, expected) in table {
            let acl = canned_acl(canned, OWNER, None).unwrap();
            for ((_, principal), expected) in principals().into_iter().zip(expected) {
                check(expected, &BUCKET_CLASSES, |op| {
                    bucket_req(op, principal.clone(), acl.clone())
                });
            }
        }
    }

    #[test]
    fn object_matrix_owned_by_bucket_owner() {
        let table: [(&str, [&str; 3]); 6] = [
            ("private", ["rac", "", ""]),
            ("public-read", ["rac", "r", "r"]),
            ("public-read-write", ["rac", "r", "r"]),
            ("authenticated-read", ["rac", "r", ""]),
            ("bucket-owner-read", ["rac", "", ""]),
            ("bucket-owner-full-control", ["rac", "", ""]),
        ];
        let bucket_acl = canned_acl("private", OWNER, None).unwrap();
        for (canned, expected) in table {
            let acl = canned_acl(canned, OWNER, Some(OWNER)).unwrap();
            for ((_, principal), expected) in principals().into_iter().zip(expected) {
                check(expected, &OBJECT_CLASSES, |op| {
                    object_req(op, principal.clone(), bucket_acl.clone(), acl.clone())
                });
            }
        }
    }

    #[test]
    fn object_matrix_written_by_other_account() {
        // OTHER wrote the object into OWNER's (public-read-write) bucket.
        let table: [(&str, [&str; 3]); 6] = [
            // Not inherited: the bucket owner cannot read a private object
            // another account wrote.
            ("private", ["", "rac", ""]),
            ("public-read", ["r", "rac", "r"]),
            ("public-read-write", ["r", "rac", "r"]),
            ("authenticated-read", ["r", "rac", ""]),
            ("bucket-owner-read", ["r", "rac", ""]),
            ("bucket-owner-full-control", ["rac", "rac", ""]),
        ];
        let bucket_acl = canned_acl("public-read-write", OWNER, None).unwrap();
        for (canned, expected) in table {
            let acl = canned_acl(canned, OTHER, Some(OWNER)).unwrap();
            for ((_, principal), expected) in principals().into_iter().zip(expected) {
                check(expected, &OBJECT_CLASSES, |op| {
                    object_req(op, principal.clone(), bucket_acl.clone(), acl.clone())
                });
            }
        }
    }

    #[test]
    fn bucket_owner_can_delete_but_not_read_foreign_private_object() {
        let bucket_acl = canned_acl("private", OWNER, None)
            .unwrap()
            .with_grant(Grantee::CanonicalUser(OTHER.into()), Permission::Write);
        let object_acl = canned_acl("private", OTHER, Some(OWNER)).unwrap();
        let owner = Principal::account(OWNER);
        let mk = |op: &str| object_req(op, owner.clone(), bucket_acl.clone(), object_acl.clone());
        assert!(standard_decision(&mk("DeleteObject")).is_allowed());
        assert!(standard_decision(&mk("PutObject")).is_allowed());
        assert!(standard_decision(&mk("ListObjectsV2")).is_allowed());
        assert_eq!(
            standard_decision(&mk("GetObject")),
            Decision::deny("object ACL does not grant READ")
        );
        assert!(!standard_decision(&mk("PutObjectAcl")).is_allowed());
        // The writer keeps control of its object even without bucket READ.
        let other = Principal::account(OTHER);
        let mk = |op: &str| object_req(op, other.clone(), bucket_acl.clone(), object_acl.clone());
        assert!(standard_decision(&mk("GetObject")).is_allowed());
        assert!(standard_decision(&mk("PutObjectAcl")).is_allowed());
        assert!(!standard_decision(&mk("ListObjectsV2")).is_allowed());
    }

    #[test]
    fn deleting_a_version_is_the_bucket_owners_alone() {
        // OTHER holds WRITE (even FULL_CONTROL) on the bucket, and everyone WRITE.
        let bucket_acl = canned_acl("public-read-write", OWNER, None)
            .unwrap()
            .with_grant(
                Grantee::CanonicalUser(OTHER.into()),
                Permission::FullControl,
            );
        let delete = |principal: Principal, version: Option<&str>| {
            let mut req = Request::new("DeleteObject", principal);
            req.bucket = Some("b".into());
            req.key = Some("k".into());
            req.bucket_owner = Some(OWNER.into());
            req.bucket_acl = Some(bucket_acl.clone());
            req.version_id = version.map(Into::into);
            standard_decision(&req)
        };
        for principal in [Principal::account(OTHER), Principal::Anonymous] {
            assert!(delete(principal.clone(), None).is_allowed());
            for version in ["null", "00000000000000010123456789abcdef"] {
                assert_eq!(
                    delete(principal.clone(), Some(version)),
                    Decision::deny("only the bucket owner may DeleteObjectVersion")
                );
            }
        }
        assert!(delete(Principal::account(OWNER), Some("null")).is_allowed());
        // Other operations ignore the version id.
        let mut req = object_req(
            "GetObject",
            Principal::Anonymous,
            bucket_acl.clone(),
            canned_acl("public-read", OWNER, Some(OWNER)).unwrap(),
        );
        req.version_id = Some("null".into());
        assert!(standard_decision(&req).is_allowed());
    }

    #[test]
    fn object_tags_change_nothing() {
        let object_acl = canned_acl("private", OWNER, Some(OWNER)).unwrap();
        let bucket_acl = canned_acl("private", OWNER, None).unwrap();
        let mut req = object_req("GetObject", Principal::Anonymous, bucket_acl, object_acl);
        req.object_tags = Some(vec![crate::Tag::new("public", "true")]);
        req.request_tags = vec![crate::Tag::new("public", "true")];
        assert!(!standard_decision(&req).is_allowed());
        assert_eq!(req.object_tag("public"), Some("true"));
        assert_eq!(req.object_tag("Public"), None);
        assert_eq!(req.request_tag("public"), Some("true"));
    }

    #[test]
    fn full_control_implies_everything() {
        for wanted in Permission::ALL {
            let acl = Acl::owned_by(OWNER).with_grant(
                Grantee::CanonicalUser(OTHER.into()),
                Permission::FullControl,
            );
            assert!(grants_permission(&acl, &Principal::account(OTHER), wanted));
            assert!(!grants_permission(&acl, &Principal::Anonymous, wanted));
            let acl = Acl::owned_by(OWNER)
                .with_grant(Grantee::Group(Group::AllUsers), Permission::FullControl);
            assert!(grants_permission(&acl, &Principal::Anonymous, wanted));
        }
        for held in Permission::ALL {
            for wanted in Permission::ALL {
                let acl =
                    Acl::owned_by(OWNER).with_grant(Grantee::CanonicalUser(OTHER.into()), held);
                assert_eq!(
                    grants_permission(&acl, &Principal::account(OTHER), wanted),
                    held == wanted || held == Permission::FullControl,
                    "{held:?} -> {wanted:?}"
                );
            }
        }
    }

    #[test]
    fn owner_has_implicit_full_control() {
        let acl = Acl::owned_by(OWNER);
        for wanted in Permission::ALL {
            assert!(grants_permission(&acl, &Principal::account(OWNER), wanted));
            assert!(!grants_permission(&acl, &Principal::account(OTHER), wanted));
        }
    }

    #[test]
    fn grantee_matching() {
        let anon = Principal::Anonymous;
        let other = Principal::account(OTHER);
        let all = Grantee::Group(Group::AllUsers);
        let auth = Grantee::Group(Group::AuthenticatedUsers);
        assert!(grantee_matches(&all, &anon));
        assert!(grantee_matches(&all, &other));
        assert!(!grantee_matches(&auth, &anon));
        assert!(grantee_matches(&auth, &other));
        assert!(grantee_matches(
            &Grantee::CanonicalUser(OTHER.into()),
            &other
        ));
        assert!(!grantee_matches(
            &Grantee::CanonicalUser(OWNER.into()),
            &other
        ));
        assert!(!grantee_matches(
            &Grantee::CanonicalUser(String::new()),
            &anon
        ));
        // E-mail grantees are resolved by the host; unresolved ones match nobody.
        assert!(!grantee_matches(&Grantee::Email(OTHER.into()), &other));
        let acl = Acl {
            owner: OWNER.into(),
            grants: vec![Grant::new(Grantee::Email("o@x".into()), Permission::Read)],
        };
        assert!(!grants_permission(&acl, &other, Permission::Read));
    }

    #[test]
    fn unknown_operations_fail_closed() {
        for op in [
            "",
            "getobject",
            "GETOBJECT",
            "SelectObjectContent",
            "GetObject ",
        ] {
            assert_eq!(required_permission(op), None, "{op:?}");
            let acl = canned_acl("public-read-write", OWNER, None).unwrap();
            let req = object_req(op, Principal::account(OWNER), acl.clone(), acl);
            assert!(!standard_decision(&req).is_allowed(), "{op:?}");
        }
    }

    #[test]
    fn account_level_operations() {
        for op in ["ListBuckets", "CreateBucket"] {
            assert_eq!(required_permission(op), Some(Required::Authenticated));
            assert!(standard_decision(&Request::new(op, Principal::account(OTHER))).is_allowed());
            assert!(!standard_decision(&Request::new(op, Principal::Anonymous)).is_allowed());
        }
    }

    #[test]
    fn missing_data_fails_closed() {
        let owner = Principal::account(OWNER);
        // No bucket ACL.
        let mut req = Request::new("ListObjectsV2", owner.clone());
        req.bucket_owner = Some(OWNER.into());
        assert_eq!(standard_decision(&req), Decision::deny("no bucket ACL"));
        // No object ACL (even for the bucket owner).
        let acl = Acl::owned_by(OWNER);
        let mut req = bucket_req("GetObject", owner.clone(), acl.clone());
        req.object_owner = Some(OWNER.into());
        assert_eq!(standard_decision(&req), Decision::deny("no object ACL"));
        // Owner-only with no owner information at all.
        let req = Request::new("DeleteBucket", owner.clone());
        assert_eq!(
            standard_decision(&req),
            Decision::deny("bucket owner unknown")
        );
        // Owner-only with only the ACL: the ACL owner counts.
        let mut req = Request::new("DeleteBucket", owner.clone());
        req.bucket_acl = Some(acl.clone());
        assert!(standard_decision(&req).is_allowed());
        // Owner-only with only the owner field.
        let mut req = Request::new("DeleteBucket", owner.clone());
        req.bucket_owner = Some(OWNER.into());
        assert!(standard_decision(&req).is_allowed());
    }

    #[test]
    fn inconsistent_owner_fails_closed() {
        let owner = Principal::account(OWNER);
        let mut req = bucket_req("ListObjectsV2", owner.clone(), Acl::owned_by(OWNER));
        req.bucket_owner = Some(OTHER.into());
        assert_eq!(
            standard_decision(&req),
            Decision::deny("bucket owner does not match its ACL owner")
        );
        req.operation = "DeleteBucket".into();
        assert!(!standard_decision(&req).is_allowed());
        let mut req = object_req(
            "GetObject",
            owner,
            Acl::owned_by(OWNER),
            Acl::owned_by(OWNER),
        );
        req.object_owner = Some(OTHER.into());
        assert!(!standard_decision(&req).is_allowed());
    }

    #[test]
    fn required_mapping_spot_checks() {
        use Permission::*;
        assert_eq!(
            required_permission("HeadBucket"),
            Some(Required::Bucket(Read))
        );
        assert_eq!(
            required_permission("CopyObject"),
            Some(Required::Bucket(Write))
        );
        assert_eq!(
            required_permission("ListParts"),
            Some(Required::Bucket(Write))
        );
        assert_eq!(
            required_permission("HeadObject"),
            Some(Required::Object(Read))
        );
        assert_eq!(
            required_permission("GetBucketAcl"),
            Some(Required::Bucket(ReadAcp))
        );
        assert_eq!(
            required_permission("PutBucketAcl"),
            Some(Required::Bucket(WriteAcp))
        );
        assert_eq!(
            required_permission("GetObjectAcl"),
            Some(Required::Object(ReadAcp))
        );
        assert_eq!(
            required_permission("PutObjectAcl"),
            Some(Required::Object(WriteAcp))
        );
        assert_eq!(
            required_permission("GetBucketLocation"),
            Some(Required::BucketOwner)
        );
        let r = Required::Object(ReadAcp);
        assert_eq!(
            (r.resource(), r.permission()),
            (Some(Resource::Object), Some(ReadAcp))
        );
        assert_eq!(Required::BucketOwner.resource(), None);
        assert_eq!(Required::Authenticated.permission(), None);
    }

    #[test]
    fn request_header_lookup_is_case_insensitive() {
        let mut req = Request::new("GetObject", Principal::Anonymous);
        req.headers
            .push(crate::types::Header::new("X-Amz-Acl", "private"));
        assert_eq!(req.headers[0].name, "x-amz-acl");
        assert_eq!(req.header("x-amz-acl"), Some("private"));
        assert_eq!(req.header("X-AMZ-ACL"), Some("private"));
        assert_eq!(req.header("range"), None);
    }

    #[test]
    fn wit_mentions_every_hook() {
        for item in [
            "package coffer:policy@0.5.0;",
            "check-config: func(config: string) -> result<_, string>;",
            "authorize: func(req: request) -> decision;",
            "cors: func(req: cors-request) -> option<cors-rule-match>;",
            "validate-metadata: func(req: request, headers: list<header>) -> result<_, string>;",
            "log: func(level: level, message: string);",
            "world policy",
            "world authorizer",
        ] {
            assert!(crate::WIT.contains(item), "{item}");
        }
    }
}
