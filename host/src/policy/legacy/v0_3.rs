//! `coffer:policy@0.3.0`.
//!
//! From 0.3.0 to 0.4.0 only the `request` record changed: a 0.3.0 module
//! does not see the bucket's policy or the request's context (time, TLS,
//! signature, listing parameters). Every other record is the same shape
//! under another package version, converted field by field.

use crate::policy::bindings::{types, v0_3};
use crate::policy::host_api::HostState;

use v0_3::types as old;

super::shared_translations!(v0_3, |r| {
    version_id: r.version_id.clone(),
    object_tags: r.object_tags.as_deref().map(tags),
    request_tags: tags(&r.request_tags),
});

/// Tags in the 0.3.0 shape (the same fields).
fn tags(tags: &[types::Tag]) -> Vec<old::Tag> {
    tags.iter()
        .map(|t| old::Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

super::cors_translations!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_keep_every_field_of_0_3_0() {
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
            version_id,
            object_tags,
            request_tags,
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
        assert_eq!(version_id, req.version_id);
        assert_eq!(object_tags.map(|t| t.len()), Some(1));
        assert!(request_tags.is_empty());
    }
}
