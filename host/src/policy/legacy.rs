//! Translation between the current contract's types and those of older
//! versions, so modules built against `coffer:policy@0.1.0` keep working
//! unchanged after an upgrade.
//!
//! From 0.1.0 to 0.2.0 only the CORS records changed: a 0.1.0 module does not
//! see the request's kind or object key, and its answer carries no rule
//! index (none) and no credentials flag (derived as S3 does: credentials
//! unless the allowed origin is `*`). Every other record is the same shape
//! under another package version, converted field by field.

use super::bindings::{types, v0_1};
use super::host_api::HostState;

use v0_1::types as old;

fn account(a: &types::Account) -> old::Account {
    old::Account {
        canonical_id: a.canonical_id.clone(),
        display_name: a.display_name.clone(),
    }
}

fn principal(p: &types::Principal) -> old::Principal {
    match p {
        types::Principal::Anonymous => old::Principal::Anonymous,
        types::Principal::Account(a) => old::Principal::Account(account(a)),
    }
}

fn permission(p: types::Permission) -> old::Permission {
    match p {
        types::Permission::Read => old::Permission::Read,
        types::Permission::Write => old::Permission::Write,
        types::Permission::ReadAcp => old::Permission::ReadAcp,
        types::Permission::WriteAcp => old::Permission::WriteAcp,
        types::Permission::FullControl => old::Permission::FullControl,
    }
}

fn grantee(g: &types::Grantee) -> old::Grantee {
    match g {
        types::Grantee::CanonicalUser(id) => old::Grantee::CanonicalUser(id.clone()),
        types::Grantee::Group(types::Group::AllUsers) => old::Grantee::Group(old::Group::AllUsers),
        types::Grantee::Group(types::Group::AuthenticatedUsers) => {
            old::Grantee::Group(old::Group::AuthenticatedUsers)
        }
        types::Grantee::Email(e) => old::Grantee::Email(e.clone()),
    }
}

fn acl(a: &types::Acl) -> old::Acl {
    old::Acl {
        owner: a.owner.clone(),
        grants: a
            .grants
            .iter()
            .map(|g| old::Grant {
                grantee: grantee(&g.grantee),
                permission: permission(g.permission),
            })
            .collect(),
    }
}

/// Headers in the 0.1.0 shape.
pub(crate) fn headers(h: &[types::Header]) -> Vec<old::Header> {
    h.iter()
        .map(|h| old::Header {
            name: h.name.clone(),
            value: h.value.clone(),
        })
        .collect()
}

/// A request in the 0.1.0 shape.
pub(crate) fn request(r: &types::Request) -> old::Request {
    old::Request {
        operation: r.operation.clone(),
        bucket: r.bucket.clone(),
        key: r.key.clone(),
        principal: principal(&r.principal),
        source_ip: r.source_ip.clone(),
        headers: headers(&r.headers),
        bucket_owner: r.bucket_owner.clone(),
        object_owner: r.object_owner.clone(),
        bucket_acl: r.bucket_acl.as_ref().map(acl),
        object_acl: r.object_acl.as_ref().map(acl),
        config: r.config.clone(),
    }
}

/// A 0.1.0 decision in the current shape.
pub(crate) fn decision(d: old::Decision) -> types::Decision {
    match d {
        old::Decision::Allow => types::Decision::Allow,
        old::Decision::Deny(reason) => types::Decision::Deny(reason),
    }
}

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

impl v0_1::types::Host for HostState {}

impl v0_1::host::Host for HostState {
    fn log(&mut self, level: v0_1::host::Level, message: String) {
        use super::bindings::host::Level;
        let level = match level {
            v0_1::host::Level::Trace => Level::Trace,
            v0_1::host::Level::Debug => Level::Debug,
            v0_1::host::Level::Info => Level::Info,
            v0_1::host::Level::Warn => Level::Warn,
            v0_1::host::Level::Error => Level::Error,
        };
        super::bindings::host::Host::log(self, level, message);
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
