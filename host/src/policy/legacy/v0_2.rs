//! `coffer:policy@0.2.0`.
//!
//! From 0.2.0 to 0.3.0 only the `request` record changed: a 0.2.0 module
//! does not see the version id the request addresses, the object's tags or
//! the tags the request asks to set. Every other record is the same shape
//! under another package version, converted field by field.

use crate::policy::bindings::{types, v0_2};
use crate::policy::host_api::HostState;

use v0_2::types as old;

super::shared_translations!(v0_2);

/// A CORS request in the 0.2.0 shape (the same fields).
pub(crate) fn cors_request(r: &types::CorsRequest) -> old::CorsRequest {
    old::CorsRequest {
        kind: match r.kind {
            types::CorsKind::Preflight => old::CorsKind::Preflight,
            types::CorsKind::Actual => old::CorsKind::Actual,
        },
        origin: r.origin.clone(),
        method: r.method.clone(),
        request_headers: r.request_headers.clone(),
        bucket: r.bucket.clone(),
        key: r.key.clone(),
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

/// A 0.2.0 CORS answer in the current shape (the same fields).
pub(crate) fn cors_rule_match(m: old::CorsRuleMatch) -> types::CorsRuleMatch {
    types::CorsRuleMatch {
        rule_index: m.rule_index,
        allowed_origin: m.allowed_origin,
        allow_credentials: m.allow_credentials,
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
    fn requests_keep_every_field_of_0_2_0() {
        let mut req = crate::policy::sample::typical_get_request();
        req.version_id = Some("null".into());
        req.object_tags = Some(vec![types::Tag {
            key: "public".into(),
            value: "true".into(),
        }]);
        let converted = request(&req);
        let old::Request {
            operation,
            bucket,
            key,
            principal: _,
            source_ip,
            headers,
            bucket_owner,
            object_owner,
            bucket_acl,
            object_acl,
            config,
        } = converted;
        assert_eq!(operation, req.operation);
        assert_eq!(bucket, req.bucket);
        assert_eq!(key, req.key);
        assert_eq!(source_ip, req.source_ip);
        assert_eq!(headers.len(), req.headers.len());
        assert_eq!(bucket_owner, req.bucket_owner);
        assert_eq!(object_owner, req.object_owner);
        assert_eq!(
            bucket_acl.map(|a| a.grants.len()),
            req.bucket_acl.map(|a| a.grants.len())
        );
        assert_eq!(object_acl.map(|a| a.owner), req.object_acl.map(|a| a.owner));
        assert_eq!(config, req.config);
    }

    #[test]
    fn cors_answers_keep_their_index_and_credentials() {
        let answer = cors_rule_match(old::CorsRuleMatch {
            rule_index: Some(2),
            allowed_origin: "https://a.example".into(),
            allow_credentials: false,
            allowed_methods: vec!["GET".into()],
            allowed_headers: vec![],
            expose_headers: vec![],
            max_age_seconds: Some(5),
        });
        assert_eq!(answer.rule_index, Some(2));
        assert!(!answer.allow_credentials);
    }
}
