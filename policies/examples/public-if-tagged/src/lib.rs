//! Example policy module: objects are public when they are *tagged* public,
//! whatever their ACL. Publishing becomes `PutObjectTagging` with
//! `public=true` (or `x-amz-tagging: public=true` on upload), and
//! withdrawing it removing the tag; nobody needs to get an ACL right.
//!
//! - An anonymous `GetObject` or `HeadObject` (S3 decides both as
//!   `s3:GetObject`) of the current version of an object whose tags include
//!   `public` = `true` (both compared exactly, as S3 compares tags) is
//!   allowed.
//! - Everything else gets [`standard_decision`], S3's ACL semantics: signed
//!   requests, other operations, objects without the tag (or with `public` =
//!   `false`, `True`, ...), and reads naming a version id (S3's
//!   `s3:GetObjectVersion`, which this module does not open up: an older
//!   version tagged public stays as private as its ACL). So the module only
//!   ever adds anonymous reads of tagged objects to what the ACLs allow.
//! - Who may tag is S3's rule for `PutObjectTagging`: the object's owner, or
//!   whoever its ACL grants `WRITE_ACP`.
//! - It reads no configuration and exports only `authorize`: CORS and
//!   metadata stay standard.
//!
//! It needs contract `coffer:policy@0.3.0`, the first to show modules an
//! object's tags.
//!
//! Build the component with `policies/examples/build.sh`; it lands in
//! `target/wasm/wasm32-wasip2/release/coffer_policy_public_if_tagged.wasm`.

use coffer_guest_sdk::{Authorizer, Decision, Principal, Request, standard_decision};

/// The tag that makes an object public, and its value.
pub const PUBLIC_TAG: (&str, &str) = ("public", "true");

/// The module's authorizer.
pub struct PublicIfTagged;

/// Whether `req` is an anonymous read of the current version of an object
/// tagged [`PUBLIC_TAG`].
pub fn tagged_public_read(req: &Request) -> bool {
    let (key, value) = PUBLIC_TAG;
    req.principal == Principal::Anonymous
        && matches!(req.operation.as_str(), "GetObject" | "HeadObject")
        && req.version_id.is_none()
        && req.object_tag(key) == Some(value)
}

impl Authorizer for PublicIfTagged {
    fn authorize(req: &Request) -> Decision {
        if tagged_public_read(req) {
            return Decision::allow("the object is tagged public");
        }
        standard_decision(req)
    }
}

coffer_guest_sdk::export_authorizer!(PublicIfTagged);

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_guest_sdk::{Tag, canned_acl};

    /// `op` on alice's object `k` in her bucket, both with canned ACL `acl`,
    /// tagged `tags`.
    fn req(op: &str, principal: Principal, acl: &str, tags: &[(&str, &str)]) -> Request {
        let mut r = Request::new(op, principal);
        r.bucket = Some("site".into());
        r.key = Some("index.html".into());
        r.bucket_owner = Some("alice".into());
        r.bucket_acl = canned_acl(acl, "alice", None).ok();
        r.object_owner = Some("alice".into());
        r.object_acl = canned_acl(acl, "alice", Some("alice")).ok();
        r.object_tags = Some(tags.iter().map(|(k, v)| Tag::new(*k, *v)).collect());
        r
    }

    fn allowed(r: &Request) -> bool {
        PublicIfTagged::authorize(r).is_allowed()
    }

    #[test]
    fn tagged_objects_are_readable_anonymously() {
        for op in ["GetObject", "HeadObject"] {
            let tagged = req(op, Principal::Anonymous, "private", &[("public", "true")]);
            assert!(allowed(&tagged), "{op}");
            let also_others = req(
                op,
                Principal::Anonymous,
                "private",
                &[("team", "web"), ("public", "true")],
            );
            assert!(allowed(&also_others), "{op}");
        }
    }

    #[test]
    fn untagged_objects_keep_their_acl() {
        for tags in [
            &[][..],
            &[("public", "false")][..],
            &[("public", "True")][..],
            &[("Public", "true")][..],
            &[("public", "true ")][..],
        ] {
            let private = req("GetObject", Principal::Anonymous, "private", tags);
            assert!(!allowed(&private), "{tags:?}");
            // A public-read ACL still makes it public: the standard decision.
            let acl_public = req("GetObject", Principal::Anonymous, "public-read", tags);
            assert!(allowed(&acl_public), "{tags:?}");
        }
        let mut no_object = req("GetObject", Principal::Anonymous, "private", &[]);
        no_object.object_tags = None;
        assert!(!allowed(&no_object));
    }

    #[test]
    fn the_tag_opens_only_anonymous_reads_of_the_current_version() {
        let public = [("public", "true")];
        for op in [
            "PutObject",
            "DeleteObject",
            "GetObjectAcl",
            "PutObjectTagging",
            "GetObjectTagging",
            "ListObjectsV2",
        ] {
            assert!(
                !allowed(&req(op, Principal::Anonymous, "private", &public)),
                "{op}"
            );
        }
        let mut version = req("GetObject", Principal::Anonymous, "private", &public);
        version.version_id = Some("null".into());
        assert!(!allowed(&version));
        // Signed requests get exactly the standard decision.
        let bob = Principal::account("bob");
        assert!(!allowed(&req("GetObject", bob, "private", &public)));
        let alice = Principal::account("alice");
        assert!(allowed(&req("GetObject", alice.clone(), "private", &[])));
        assert!(allowed(&req("DeleteObject", alice, "private", &public)));
    }
}
