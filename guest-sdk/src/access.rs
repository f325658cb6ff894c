//! S3's whole access decision for one request, as AWS makes it within S3 for a
//! request from the bucket owner's account or another one: the bucket policy
//! and the ACLs together.
//!
//! 1. An explicit `Deny` in the bucket policy wins.
//! 2. Otherwise an `Allow` in the bucket policy, or an ACL grant
//!    ([`acl_decision`]), allows.
//! 3. Otherwise the request is denied.
//!
//! Two exceptions keep an owner from locking themselves out, as on AWS: the
//! bucket owner may always read, replace and delete the bucket's policy
//! (`Get`/`Put`/`DeleteBucketPolicy` ignore the policy's `Deny` for them), and
//! nobody else may, whatever the policy allows.
//!
//! The request's facts that conditions ask about come from the [`Request`]
//! (see [`RequestConditions`]). The policy is evaluated in place, in its
//! compiled form ([`PolicyView`]): a decision reads only the statements it
//! reaches and copies no string.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::acl::acl_decision;
use crate::bucket_policy::{
    self, ActionLevel, ConditionContext, ContextValues, EvalRequest, PolicyView, Verdict,
};
use crate::types::{Decision, Principal, Request};

/// Operations on the policy itself: the bucket owner's alone, never denied to them.
const POLICY_OPERATIONS: [&str; 3] = ["GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"];

/// S3's decision for `req`: its bucket policy (if the bucket has one) and its ACLs.
/// A policy that cannot be read denies (fail closed).
pub fn policy_and_acl_decision(req: &Request) -> Decision {
    let Some(encoded) = req.bucket_policy.as_deref() else {
        return acl_decision(req);
    };
    let op = req.operation.as_str();
    if POLICY_OPERATIONS.contains(&op) {
        // Only the owner, whatever the policy says (see the module docs).
        return acl_decision(req);
    }
    let Some(action) = bucket_policy::action_for(op, req.version_id.is_some()) else {
        return Decision::deny(format!("unknown operation {op}"));
    };
    let bucket = req.bucket.as_deref().unwrap_or_default();
    let key = match bucket_policy::action_level(action) {
        Some(ActionLevel::Object) => req.key.as_deref(),
        _ => None,
    };
    let resource = bucket_policy::resource_arn(bucket, key);
    let conditions = RequestConditions::new(req);
    let eval = EvalRequest {
        action,
        resource: &resource,
        principal: req.principal.canonical_id(),
        context: &conditions,
    };
    let verdict = PolicyView::new(encoded).and_then(|view| view.evaluate(&eval));
    match verdict {
        Err(e) => Decision::deny(format!("the bucket policy cannot be read: {e}")),
        Ok(Verdict::ExplicitDeny { sid }) => {
            Decision::deny(format!("denied by bucket policy {}", statement_name(sid)))
        }
        Ok(Verdict::Allow { sid }) => {
            if let Some(restricted) = restricted_public_policy(req, encoded) {
                return match acl_decision(req) {
                    allowed @ Decision::Allow(_) => allowed,
                    _ => restricted,
                };
            }
            Decision::allow(format!("allowed by bucket policy {}", statement_name(sid)))
        }
        Ok(Verdict::NoMatch) => match acl_decision(req) {
            allowed @ Decision::Allow(_) => allowed,
            Decision::Deny(reason) => Decision::deny(format!(
                "no bucket policy statement allows it, and {reason}"
            )),
            refused => refused,
        },
    }
}

/// A statement as reasons name it.
fn statement_name(sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("statement {sid:?}"),
        None => "statement (no Sid)".to_owned(),
    }
}

/// The denial Block Public Access's `RestrictPublicBuckets` makes of a policy
/// `Allow` when the policy is public and the caller is not the bucket owner;
/// `None` when the setting is off, the policy is not public, or the caller is
/// the owner.
fn restricted_public_policy(req: &Request, encoded: &[u8]) -> Option<Decision> {
    if !req.public_access_block.restrict_public_buckets {
        return None;
    }
    if let (Some(caller), Some(owner)) = (req.principal.canonical_id(), &req.bucket_owner)
        && caller == owner
    {
        return None;
    }
    // A policy that cannot be read counts as public: fail closed.
    let public = bucket_policy::decode(encoded).map_or(true, |p| p.is_public());
    public.then(|| {
        Decision::deny(
            "the bucket policy is public and Block Public Access (RestrictPublicBuckets) \
             limits it to the bucket owner",
        )
    })
}

/// The condition keys of a [`Request`], asked in their canonical spelling
/// ([`bucket_policy::KNOWN_KEYS`]). A key the request has no value for is
/// absent. Values that are not in the request as text are formatted once,
/// when the context is made.
pub struct RequestConditions<'r> {
    req: &'r Request,
    /// `aws:CurrentTime` and `aws:EpochTime`: seconds since the epoch.
    now: String,
    /// `aws:PrincipalArn`: `arn:aws:iam::ID:root`.
    principal_arn: Option<String>,
    /// `s3:signatureAge`, in milliseconds.
    signature_age: Option<String>,
    /// `s3:RequestObjectTagKeys`.
    request_tag_keys: Vec<&'r str>,
}

impl<'r> RequestConditions<'r> {
    /// The conditions of `req`.
    pub fn new(req: &'r Request) -> Self {
        let ctx = &req.context;
        Self {
            req,
            now: ctx.current_time.to_string(),
            principal_arn: req
                .principal
                .canonical_id()
                .map(|id| format!("arn:aws:iam::{id}:root")),
            signature_age: ctx
                .signature
                .as_ref()
                .and_then(|s| s.signed_at)
                .map(|at| (ctx.current_time.saturating_sub(at) * 1000).to_string()),
            request_tag_keys: req.request_tags.iter().map(|t| t.key.as_str()).collect(),
        }
    }

    fn header(&self, name: &str) -> Option<ContextValues<'_>> {
        self.req.header(name).map(ContextValues::One)
    }
}

impl ConditionContext for RequestConditions<'_> {
    fn values(&self, key: &str) -> Option<ContextValues<'_>> {
        let req = self.req;
        let ctx = &req.context;
        if let Some(tag) = key.strip_prefix("s3:ExistingObjectTag/") {
            return req.object_tag(tag).map(ContextValues::One);
        }
        if let Some(tag) = key.strip_prefix("s3:RequestObjectTag/") {
            return req.request_tag(tag).map(ContextValues::One);
        }
        let one = ContextValues::One;
        match key {
            "aws:SourceIp" => Some(one(&req.source_ip)),
            "aws:SecureTransport" => Some(one(if ctx.secure_transport {
                "true"
            } else {
                "false"
            })),
            "aws:CurrentTime" | "aws:EpochTime" => Some(one(&self.now)),
            "aws:PrincipalAccount" | "aws:userid" => req.principal.canonical_id().map(one),
            "aws:PrincipalArn" => self.principal_arn.as_deref().map(one),
            "aws:PrincipalType" => Some(one(match req.principal {
                Principal::Anonymous => "Anonymous",
                Principal::Account(_) => "Account",
            })),
            "aws:Referer" => self.header("referer"),
            "aws:UserAgent" => self.header("user-agent"),
            "s3:prefix" => ctx.query_param("prefix").map(one),
            "s3:delimiter" => ctx.query_param("delimiter").map(one),
            "s3:max-keys" => ctx.query_param("max-keys").map(one),
            "s3:ResourceAccount" => req.bucket_owner.as_deref().map(one),
            "s3:RequestObjectTagKeys" => Some(ContextValues::Strs(&self.request_tag_keys)),
            "s3:VersionId" => req.version_id.as_deref().map(one),
            "s3:signatureversion" => ctx.signature.as_ref().map(|s| one(s.version.as_str())),
            "s3:authType" => ctx.signature.as_ref().map(|s| one(s.auth_type.as_str())),
            "s3:signatureAge" => self.signature_age.as_deref().map(one),
            "s3:object-lock-mode" => self.header("x-amz-object-lock-mode"),
            "s3:object-lock-retain-until-date" => {
                self.header("x-amz-object-lock-retain-until-date")
            }
            "s3:object-lock-legal-hold" => self.header("x-amz-object-lock-legal-hold"),
            // The request headers these keys are named after.
            "s3:x-amz-acl"
            | "s3:x-amz-grant-read"
            | "s3:x-amz-grant-write"
            | "s3:x-amz-grant-read-acp"
            | "s3:x-amz-grant-write-acp"
            | "s3:x-amz-grant-full-control"
            | "s3:x-amz-copy-source"
            | "s3:x-amz-metadata-directive"
            | "s3:x-amz-server-side-encryption"
            | "s3:x-amz-server-side-encryption-aws-kms-key-id"
            | "s3:x-amz-server-side-encryption-customer-algorithm"
            | "s3:x-amz-storage-class"
            | "s3:x-amz-website-redirect-location"
            | "s3:x-amz-object-ownership" => key.strip_prefix("s3:").and_then(|h| self.header(h)),
            _ => None,
        }
    }
}

#[cfg(all(test, feature = "bucket-policy-parse"))]
mod tests {
    use super::*;
    use crate::canned::canned_acl;
    use crate::standard_decision;
    use crate::types::{AuthType, Header, Signature, SignatureVersion, Tag};

    const OWNER: &str = "owner-id";
    const OTHER: &str = "other-id";

    fn request(operation: &str, principal: Principal, policy: &str) -> Request {
        let mut req = Request::new(operation, principal);
        req.bucket = Some("photos".into());
        req.key = Some("shared/cat.jpg".into());
        req.bucket_owner = Some(OWNER.into());
        req.object_owner = Some(OWNER.into());
        req.bucket_acl = canned_acl("private", OWNER, None).ok();
        req.object_acl = canned_acl("private", OWNER, Some(OWNER)).ok();
        req.source_ip = "192.0.2.7".into();
        req.context.current_time = 1_700_000_100;
        let policy = bucket_policy::parse(policy, "photos").expect("a valid policy");
        req.bucket_policy = Some(policy.encode());
        req
    }

    fn statement(effect: &str, principal: &str, action: &str, rest: &str) -> String {
        format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "S", "Effect": "{effect}",
                "Principal": {principal}, "Action": "{action}",
                "Resource": ["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"]{rest}}}]}}"#
        )
    }

    #[test]
    fn a_policy_allow_grants_what_the_acl_does_not() {
        let policy = statement(
            "Allow",
            &format!(r#"{{"AWS": "{OTHER}"}}"#),
            "s3:GetObject",
            "",
        );
        let req = request("GetObject", Principal::account(OTHER), &policy);
        assert!(standard_decision(&req).is_allowed());
        let mut put = request("PutObject", Principal::account(OTHER), &policy);
        put.object_acl = None;
        assert!(
            !standard_decision(&put).is_allowed(),
            "no statement, no grant"
        );
        let anonymous = request("GetObject", Principal::Anonymous, &policy);
        assert!(!standard_decision(&anonymous).is_allowed());
    }

    #[test]
    fn an_explicit_deny_beats_the_owner_except_on_the_policy_itself() {
        let policy = statement("Deny", r#""*""#, "s3:*", "");
        let get = request("GetObject", Principal::account(OWNER), &policy);
        assert_eq!(
            standard_decision(&get),
            Decision::deny("denied by bucket policy statement \"S\"")
        );
        for op in POLICY_OPERATIONS {
            let req = request(op, Principal::account(OWNER), &policy);
            assert!(standard_decision(&req).is_allowed(), "{op}");
        }
        // Nobody else touches the policy, whatever it allows.
        let allow_all = statement("Allow", r#""*""#, "s3:*", "");
        let req = request("PutBucketPolicy", Principal::account(OTHER), &allow_all);
        assert!(!standard_decision(&req).is_allowed());
        let req = request(
            "GetBucketPolicyStatus",
            Principal::account(OTHER),
            &allow_all,
        );
        assert!(standard_decision(&req).is_allowed());
    }

    #[test]
    fn without_a_matching_statement_the_acls_decide() {
        let policy = statement("Deny", r#""*""#, "s3:DeleteObject", "");
        let get = request("GetObject", Principal::account(OWNER), &policy);
        assert!(standard_decision(&get).is_allowed());
        let get = request("GetObject", Principal::account(OTHER), &policy);
        assert!(!standard_decision(&get).is_allowed());
    }

    #[test]
    fn a_damaged_policy_denies() {
        let mut req = request(
            "GetObject",
            Principal::account(OWNER),
            &statement("Allow", r#""*""#, "s3:GetObject", ""),
        );
        req.bucket_policy = Some(vec![0xff, 1, 2]);
        assert!(!standard_decision(&req).is_allowed());
    }

    #[test]
    fn conditions_read_the_request() {
        let mut req = request(
            "ListObjectsV2",
            Principal::account(OTHER),
            &statement("Allow", r#""*""#, "s3:ListBucket", ""),
        );
        req.context.secure_transport = true;
        req.context.signature = Some(Signature {
            version: SignatureVersion::V4,
            auth_type: AuthType::QueryString,
            signed_at: Some(1_700_000_000),
        });
        req.context.query = vec![Header::new("prefix", "shared/")];
        req.request_tags = vec![Tag::new("team", "docs"), Tag::new("stage", "final")];
        req.object_tags = Some(vec![Tag::new("public", "yes")]);
        req.headers = vec![
            Header::new("user-agent", "aws-cli/2"),
            Header::new("x-amz-acl", "private"),
        ];
        let c = RequestConditions::new(&req);
        let one = |key: &str| c.values(key).and_then(|v| v.single().map(str::to_owned));
        assert_eq!(one("aws:SecureTransport").as_deref(), Some("true"));
        assert_eq!(one("aws:SourceIp").as_deref(), Some("192.0.2.7"));
        assert_eq!(one("aws:EpochTime").as_deref(), Some("1700000100"));
        assert_eq!(
            one("aws:PrincipalArn").as_deref(),
            Some("arn:aws:iam::other-id:root")
        );
        assert_eq!(one("aws:UserAgent").as_deref(), Some("aws-cli/2"));
        assert_eq!(one("s3:prefix").as_deref(), Some("shared/"));
        assert_eq!(one("s3:delimiter"), None);
        assert_eq!(
            one("s3:signatureversion").as_deref(),
            Some("AWS4-HMAC-SHA256")
        );
        assert_eq!(one("s3:authType").as_deref(), Some("REST-QUERY-STRING"));
        assert_eq!(one("s3:signatureAge").as_deref(), Some("100000"));
        assert_eq!(one("s3:x-amz-acl").as_deref(), Some("private"));
        assert_eq!(one("s3:ExistingObjectTag/public").as_deref(), Some("yes"));
        assert_eq!(one("s3:RequestObjectTag/team").as_deref(), Some("docs"));
        let keys: Vec<&str> = c
            .values("s3:RequestObjectTagKeys")
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["team", "stage"]);
        // And a whole decision on them.
        let policy = statement(
            "Allow",
            r#""*""#,
            "s3:ListBucket",
            r#", "Condition": {"StringLike": {"s3:prefix": "shared/*"}, "Bool": {"aws:SecureTransport": "true"}}"#,
        );
        let mut list = request("ListObjectsV2", Principal::Anonymous, &policy);
        list.context = req.context.clone();
        assert!(standard_decision(&list).is_allowed());
        list.context.secure_transport = false;
        assert!(!standard_decision(&list).is_allowed());
    }
}
