//! `coffer:policy@0.2.0`.
//!
//! From 0.2.0 to 0.3.0 only the `request` record changed: a 0.2.0 module
//! does not see the version id the request addresses, the object's tags or
//! the tags the request asks to set (nor the bucket policy and request context
//! 0.4.0 added). Every other record is the same shape
//! under another package version, converted field by field.

use crate::policy::bindings::{types, v0_2};
use crate::policy::host_api::HostState;

use v0_2::types as old;

super::shared_translations!(v0_2);

super::cors_translations!();

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
