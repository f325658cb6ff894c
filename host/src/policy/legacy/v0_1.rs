//! `coffer:policy@0.1.0`.
//!
//! A 0.1.0 module does not see the CORS request's kind or object key (added
//! in 0.2.0), nor the request's version id and tags (0.3.0), nor its bucket
//! policy and context (0.4.0), and its CORS
//! answer carries no rule index (none) and no credentials flag (derived as S3
//! does: credentials unless the allowed origin is `*`). Every other record is
//! the same shape under another package version, converted field by field.

use crate::policy::bindings::{types, v0_1};
use crate::policy::host_api::HostState;

use v0_1::types as old;

super::shared_translations!(v0_1);

/// A CORS request in the 0.1.0 shape: without its kind and key.
pub(crate) fn cors_request(r: &types::CorsRequest) -> old::CorsRequest {
    old::CorsRequest {
        origin: r.origin.clone(),
        method: r.method.clone(),
        request_headers: r.request_headers.clone(),
        bucket: r.bucket.clone(),
        rules: r
            .rules
            .iter()
            .map(|rule| old::CorsRule {
                id: rule.id.clone(),
                allowed_origins: rule.allowed_origins.clone(),
                allowed_methods: rule.allowed_methods.clone(),
                allowed_headers: rule.allowed_headers.clone(),
                expose_headers: rule.expose_headers.clone(),
                max_age_seconds: rule.max_age_seconds,
            })
            .collect(),
        config: r.config.clone(),
    }
}

/// A 0.1.0 CORS answer in the current shape: no rule index, credentials as
/// S3 sends them (unless the origin is `*`).
pub(crate) fn cors_rule_match(m: old::CorsRuleMatch) -> types::CorsRuleMatch {
    types::CorsRuleMatch {
        rule_index: None,
        allow_credentials: m.allowed_origin != "*",
        allowed_origin: m.allowed_origin,
        allowed_methods: m.allowed_methods,
        allowed_headers: m.allowed_headers,
        expose_headers: m.expose_headers,
        max_age_seconds: m.max_age_seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_origin_as_in_s3() {
        let answer = |origin: &str| {
            cors_rule_match(old::CorsRuleMatch {
                allowed_origin: origin.into(),
                allowed_methods: vec!["GET".into()],
                allowed_headers: vec![],
                expose_headers: vec![],
                max_age_seconds: None,
            })
        };
        assert!(answer("https://a.example").allow_credentials);
        assert!(!answer("*").allow_credentials);
        assert_eq!(answer("*").rule_index, None);
    }

    #[test]
    fn requests_keep_every_field() {
        let req = crate::policy::sample::typical_get_request();
        let converted = request(&req);
        assert_eq!(converted.operation, req.operation);
        assert_eq!(converted.key, req.key);
        assert_eq!(converted.headers.len(), req.headers.len());
        assert_eq!(
            converted.bucket_acl.map(|a| a.grants.len()),
            req.bucket_acl.map(|a| a.grants.len())
        );
    }
}
