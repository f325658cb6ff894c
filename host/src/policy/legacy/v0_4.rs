//! `coffer:policy@0.4.0`.
//!
//! From 0.4.0 to 0.5.0 the `request` record gained the bucket's Block Public
//! Access settings and Object Ownership and the ACL and policy a request
//! sets, which a 0.4.0 module does not see, and the `decision` gained allow
//! reasons and refusals, which a 0.4.0 module never gives. Every other record
//! is the same shape under another package version, converted field by field.

use crate::policy::bindings::{types, v0_4};
use crate::policy::host_api::HostState;

use v0_4::types as old;

super::shared_translations!(v0_4, |r| {
    version_id: r.version_id.clone(),
    object_tags: r.object_tags.as_deref().map(tags),
    request_tags: tags(&r.request_tags),
    bucket_policy: r.bucket_policy.clone(),
    context: context(&r.context),
});

/// Tags in the 0.4.0 shape (the same fields).
fn tags(tags: &[types::Tag]) -> Vec<old::Tag> {
    tags.iter()
        .map(|t| old::Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

/// The request context in the 0.4.0 shape (the same fields).
fn context(c: &types::RequestContext) -> old::RequestContext {
    old::RequestContext {
        current_time: c.current_time,
        secure_transport: c.secure_transport,
        signature: c.signature.map(|s| old::Signature {
            version: match s.version {
                types::SignatureVersion::V2 => old::SignatureVersion::V2,
                types::SignatureVersion::V4 => old::SignatureVersion::V4,
            },
            auth_type: match s.auth_type {
                types::AuthType::Header => old::AuthType::Header,
                types::AuthType::QueryString => old::AuthType::QueryString,
                types::AuthType::Post => old::AuthType::Post,
            },
            signed_at: s.signed_at,
        }),
        query: headers(&c.query),
    }
}

super::cors_translations!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_keep_every_field_of_0_4_0() {
        let mut req = crate::policy::sample::typical_get_request();
        req.bucket_policy = Some(vec![1, 2, 3]);
        req.context.secure_transport = true;
        req.context.query = vec![types::Header {
            name: "prefix".into(),
            value: "a/".into(),
        }];
        let converted = request(&req);
        assert_eq!(converted.bucket_policy, req.bucket_policy);
        assert_eq!(converted.context.current_time, req.context.current_time);
        assert!(converted.context.secure_transport);
        assert_eq!(converted.context.query.len(), 1);
        assert_eq!(
            converted.context.signature.map(|s| s.signed_at),
            req.context.signature.map(|s| s.signed_at)
        );
        assert_eq!(converted.operation, req.operation);
        assert_eq!(converted.version_id, req.version_id);
    }
}
