//! Coffer's default policy module: S3's standard behaviour for every hook.
//!
//! - `authorize`: S3's ACL semantics ([`coffer_guest_sdk::standard_decision`]).
//! - `cors`: S3's rule matching over the bucket's stored rules
//!   ([`coffer_guest_sdk::standard_cors`]).
//! - `validate-metadata`: with the `metadata-rules` feature, the declarative
//!   rules of the bucket's configuration (`coffer_guest_sdk::metadata_rules`);
//!   without rules any user metadata is accepted. Built without the feature,
//!   any metadata is accepted when there is no configuration, and refused when
//!   there is one (rules this build cannot apply must not pass unchecked).
//!   S3's own limits (size, header syntax) are enforced by the host before any
//!   module runs.
//! - `check-config`: with the feature, the rules' own check
//!   (`metadata_rules::check_config`: unknown keywords, bad patterns); without
//!   it, every configuration is refused, for the same reason.
//!
//! The component is compiled into the `coffer` binary by `host/build.rs`
//! (`cargo build -p coffer-policy-acl --target wasm32-wasip2 --release`) and
//! is the fallback for every hook a custom module does not export, so it
//! exports all of them.
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
    #[cfg(feature = "metadata-rules")]
    fn validate_metadata(req: &Request, headers: &[Header]) -> Result<(), String> {
        coffer_guest_sdk::metadata_rules::validate_metadata(req, headers)
    }

    #[cfg(not(feature = "metadata-rules"))]
    fn validate_metadata(req: &Request, _headers: &[Header]) -> Result<(), String> {
        match req.config {
            None => Ok(()),
            Some(_) => Err("this build of the default module cannot apply metadata rules".into()),
        }
    }
}

impl ConfigChecker for StandardS3 {
    #[cfg(feature = "metadata-rules")]
    fn check_config(config: &str) -> Result<(), String> {
        coffer_guest_sdk::metadata_rules::check_config(config)
    }

    #[cfg(not(feature = "metadata-rules"))]
    fn check_config(_config: &str) -> Result<(), String> {
        Err("this build of the default module cannot apply metadata rules".into())
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
        assert!(StandardS3::authorize(&req).is_allowed());
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
    fn without_rules_any_metadata_is_accepted() {
        let req = Request::new("PutObject", Principal::account("alice"));
        let headers = [Header::new("x-amz-meta-colour", "blue")];
        assert_eq!(StandardS3::validate_metadata(&req, &headers), Ok(()));
    }

    #[cfg(not(feature = "metadata-rules"))]
    #[test]
    fn without_the_rules_a_configuration_is_refused() {
        let mut req = Request::new("PutObject", Principal::account("alice"));
        req.config = Some(r#"{"metadata": []}"#.into());
        assert!(StandardS3::validate_metadata(&req, &[]).is_err());
    }

    #[cfg(feature = "metadata-rules")]
    #[test]
    fn the_configured_rules_judge_metadata() {
        let mut req = Request::new("PutObject", Principal::account("alice"));
        req.key = Some("photos/cat.jpg".into());
        req.headers.push(Header::new("Content-Type", "image/jpeg"));
        req.config = Some(
            r#"{"metadata": [{"prefix": "photos/", "schema": {"required": ["owner"]},
                "content_types": ["image/*"]}]}"#
                .into(),
        );
        let owner = [Header::new("x-amz-meta-owner", "alice")];
        assert_eq!(StandardS3::validate_metadata(&req, &owner), Ok(()));
        assert_eq!(
            StandardS3::validate_metadata(&req, &[]),
            Err("x-amz-meta-owner is required".into())
        );
        req.key = Some("docs/cat.jpg".into());
        assert_eq!(StandardS3::validate_metadata(&req, &[]), Ok(()));
        // A broken configuration rejects every write it judges.
        req.config = Some(r#"{"metdata": []}"#.into());
        let err = StandardS3::validate_metadata(&req, &owner).expect_err("rejected");
        assert!(err.contains("metdata"), "{err}");
    }
}
