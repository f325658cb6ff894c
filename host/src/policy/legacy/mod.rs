//! Translation between the current contract's types and those of older
//! versions, so modules built against `coffer:policy@0.1.0` to `@0.4.0` keep
//! working unchanged after an upgrade: one module per version, each
//! translating the current inputs into that version's (dropping what it did
//! not have) and its answers back.
//!
//! | Version | What its modules do not see |
//! |---|---|
//! | 0.4.0 | the request's `public-access-block`, `object-ownership`, `request-acl` and `request-bucket-policy`; its decisions carry no allow reason and cannot refuse with another error than `AccessDenied` |
//! | 0.3.0 | those, the request's `bucket-policy` and `context` |
//! | 0.2.0 | those, the request's `version-id`, `object-tags` and `request-tags` |
//! | 0.1.0 | those, the CORS request's `kind` and `key`; its CORS answer has no rule index or credentials flag |

/// The translations every older version shares with the current contract (the records
/// that kept their shape: principal, ACL, headers, the request's fields up to 0.2.0,
/// decision) and the host interface they import, for the version module `$version` of
/// `bindings`. Invoked inside each version's module, with `types`, `old` (that
/// version's types) and `HostState` in scope. The request's fields a version added
/// after 0.2.0 follow `|$r|` as struct field initialisers of `old::Request`, computed
/// from the current request `$r`.
macro_rules! shared_translations {
    ($version:ident) => {
        super::shared_translations!($version, |r| {});
    };
    ($version:ident, |$r:ident| { $($later:tt)* }) => {
        fn principal(p: &types::Principal) -> old::Principal {
            match p {
                types::Principal::Anonymous => old::Principal::Anonymous,
                types::Principal::Account(a) => old::Principal::Account(old::Account {
                    canonical_id: a.canonical_id.clone(),
                    display_name: a.display_name.clone(),
                }),
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
                types::Grantee::Group(types::Group::AllUsers) => {
                    old::Grantee::Group(old::Group::AllUsers)
                }
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

        /// Headers in the old shape.
        pub(crate) fn headers(h: &[types::Header]) -> Vec<old::Header> {
            h.iter()
                .map(|h| old::Header {
                    name: h.name.clone(),
                    value: h.value.clone(),
                })
                .collect()
        }

        /// A request in the old shape: without the fields added after it.
        pub(crate) fn request($r: &types::Request) -> old::Request {
            old::Request {
                operation: $r.operation.clone(),
                bucket: $r.bucket.clone(),
                key: $r.key.clone(),
                principal: principal(&$r.principal),
                source_ip: $r.source_ip.clone(),
                headers: headers(&$r.headers),
                bucket_owner: $r.bucket_owner.clone(),
                object_owner: $r.object_owner.clone(),
                bucket_acl: $r.bucket_acl.as_ref().map(acl),
                object_acl: $r.object_acl.as_ref().map(acl),
                config: $r.config.clone(),
                $($later)*
            }
        }

        /// An old decision in the current shape.
        pub(crate) fn decision(d: old::Decision) -> types::Decision {
            match d {
                old::Decision::Allow => types::Decision::Allow(String::new()),
                old::Decision::Deny(reason) => types::Decision::Deny(reason),
            }
        }

        impl $version::types::Host for HostState {}

        impl $version::host::Host for HostState {
            fn log(&mut self, level: $version::host::Level, message: String) {
                use crate::policy::bindings::host::Level;
                let level = match level {
                    $version::host::Level::Trace => Level::Trace,
                    $version::host::Level::Debug => Level::Debug,
                    $version::host::Level::Info => Level::Info,
                    $version::host::Level::Warn => Level::Warn,
                    $version::host::Level::Error => Level::Error,
                };
                crate::policy::bindings::host::Host::log(self, level, message);
            }
        }
    };
}
pub(crate) use shared_translations;

/// The CORS translations of the versions whose CORS records have today's shape (0.2.0
/// and later), with `types` and `old` in scope.
macro_rules! cors_translations {
    () => {
        /// A CORS request in the old shape (the same fields as now).
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

        /// An old CORS answer in the current shape (the same fields).
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
    };
}
pub(crate) use cors_translations;

pub(crate) mod v0_1;
pub(crate) mod v0_2;
pub(crate) mod v0_3;
pub(crate) mod v0_4;
