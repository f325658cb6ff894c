//! Coffer's default policy module: S3's standard ACL authorization
//! ([`coffer_guest_sdk::standard_decision`]), no CORS rule, any metadata.
//!
//! Build the component with `policies/build.sh` (or
//! `cargo build -p coffer-policy-acl --target wasm32-wasip2 --release --target-dir target/wasm`);
//! it lands in `target/wasm/wasm32-wasip2/release/coffer_policy_acl.wasm`.

use coffer_guest_sdk::{Authorizer, Decision, Request, standard_decision};

/// The default authorizer.
pub struct StandardAcl;

impl Authorizer for StandardAcl {
    fn authorize(req: &Request) -> Decision {
        standard_decision(req)
    }
}

coffer_guest_sdk::export_authorizer!(StandardAcl);

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_guest_sdk::{Acl, Principal};

    #[test]
    fn owner_may_read_anonymous_may_not() {
        let mut req = Request::new("GetObject", Principal::account("alice"));
        req.bucket = Some("b".into());
        req.key = Some("k".into());
        req.bucket_owner = Some("alice".into());
        req.object_owner = Some("alice".into());
        req.bucket_acl = Some(Acl::owned_by("alice"));
        req.object_acl = Some(Acl::owned_by("alice"));
        assert_eq!(StandardAcl::authorize(&req), Decision::Allow);
        req.principal = Principal::Anonymous;
        assert!(!StandardAcl::authorize(&req).is_allowed());
    }
}
