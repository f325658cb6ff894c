//! Coffer's default policy module: S3's standard behaviour for every hook.
//!
//! - `authorize`: S3's ACL semantics ([`coffer_guest_sdk::standard_decision`]).
//! - `cors`: S3's rule matching over the bucket's stored rules
//!   ([`coffer_guest_sdk::standard_cors`]).
//! - `validate-metadata`: any user metadata is accepted; S3's own limits
//!   (size, header syntax) are enforced by the host before any module runs.
//!
//! The component is compiled into the `coffer` binary by `host/build.rs`
//! (`cargo build -p coffer-policy-acl --target wasm32-wasip2 --release`) and
//! is the fallback for every hook a custom module does not export, so it
//! exports all three.
//!
//! It is `no_std` on wasm32 (the SDK then supplies the allocator and panic
//! handler): without the standard library the component imports nothing
//! from WASI, which saves instantiating the WASI adapter on every decision.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::string::String;

use coffer_guest_sdk::{
    Authorizer, ConfigChecker, CorsProvider, CorsRequest, CorsRuleMatch, Decision, Header,
    MetadataValidator, Request, standard_cors, standard_decision,
};

/// The default module: one type implementing every hook.
pub struct StandardS3;

impl Authorizer for StandardS3 {
    fn authorize(req: &Request) -> Decision {
        standard_decision(req)
    }
}

impl CorsProvider for StandardS3 {
    fn cors(req: &CorsRequest) -> Option<CorsRuleMatch> {
        standard_cors(req)
    }
}

impl MetadataValidator for StandardS3 {
    fn validate_metadata(_req: &Request, _headers: &[Header]) -> Result<(), String> {
        Ok(())
    }
}

impl ConfigChecker for StandardS3 {
    fn check_config(_config: &str) -> Result<(), String> {
        Ok(())
    }
}

coffer_guest_sdk::export_policy!(StandardS3);
coffer_guest_sdk::export_config_checker!(StandardS3);

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_guest_sdk::{Acl, CorsKind, CorsRule, Principal};

    #[test]
    fn owner_may_read_anonymous_may_not() {
        let mut req = Request::new("GetObject", Principal::account("alice"));
        req.bucket = Some("b".into());
        req.key = Some("k".into());
        req.bucket_owner = Some("alice".into());
        req.object_owner = Some("alice".into());
        req.bucket_acl = Some(Acl::owned_by("alice"));
        req.object_acl = Some(Acl::owned_by("alice"));
        assert_eq!(StandardS3::authorize(&req), Decision::Allow);
        req.principal = Principal::Anonymous;
        assert!(!StandardS3::authorize(&req).is_allowed());
    }

    #[test]
    fn cors_uses_the_bucket_rules() {
        let mut req = CorsRequest {
            kind: CorsKind::Actual,
            origin: "https://example.com".into(),
            method: "GET".into(),
            bucket: "b".into(),
            rules: vec![CorsRule {
                allowed_origins: vec!["*".into()],
                allowed_methods: vec!["GET".into()],
                ..CorsRule::default()
            }],
            ..CorsRequest::default()
        };
        let m = StandardS3::cors(&req).expect("match");
        assert_eq!((m.allowed_origin.as_str(), m.rule_index), ("*", Some(0)));
        req.method = "PUT".into();
        assert_eq!(StandardS3::cors(&req), None);
    }

    #[test]
    fn any_metadata_is_accepted() {
        let req = Request::new("PutObject", Principal::account("alice"));
        let headers = [Header::new("x-amz-meta-colour", "blue")];
        assert_eq!(StandardS3::validate_metadata(&req, &headers), Ok(()));
    }
}
