//! Size estimates of hook arguments, checked against
//! [`Limits::input_bytes`](super::Limits::input_bytes) before a call: the
//! canonical ABI copies every string and list into guest memory, so an
//! unbounded input would let a request exhaust the module's memory (a
//! failure blamed on the module) or take long to copy.
//!
//! The estimate counts string and list bytes plus a fixed overhead per value
//! (discriminants, pointers, lengths); it is close to, and never far below,
//! the real lowered size.

use super::bindings::types;

/// Per-value overhead (discriminant, pointer and length words).
const OVERHEAD: usize = 8;

fn opt_str(s: &Option<String>) -> usize {
    OVERHEAD + s.as_ref().map_or(0, String::len)
}

fn strings(list: &[String]) -> usize {
    OVERHEAD + list.iter().map(|s| OVERHEAD + s.len()).sum::<usize>()
}

fn acl(acl: &Option<types::Acl>) -> usize {
    OVERHEAD
        + acl.as_ref().map_or(0, |acl| {
            acl.owner.len()
                + acl
                    .grants
                    .iter()
                    .map(|g| {
                        let grantee = match &g.grantee {
                            types::Grantee::CanonicalUser(s) | types::Grantee::Email(s) => s.len(),
                            types::Grantee::Group(_) => 0,
                        };
                        3 * OVERHEAD + grantee
                    })
                    .sum::<usize>()
        })
}

/// Estimated size of `tags`.
fn tags(tags: &[types::Tag]) -> usize {
    OVERHEAD
        + tags
            .iter()
            .map(|t| 2 * OVERHEAD + t.key.len() + t.value.len())
            .sum::<usize>()
}

/// Estimated size of `headers`.
pub(crate) fn headers_size(headers: &[types::Header]) -> usize {
    OVERHEAD
        + headers
            .iter()
            .map(|h| 2 * OVERHEAD + h.name.len() + h.value.len())
            .sum::<usize>()
}

/// Estimated size of `req`.
pub(crate) fn request_size(req: &types::Request) -> usize {
    let principal = match &req.principal {
        types::Principal::Anonymous => OVERHEAD,
        types::Principal::Account(a) => OVERHEAD + a.canonical_id.len() + a.display_name.len(),
    };
    req.operation.len()
        + opt_str(&req.bucket)
        + opt_str(&req.key)
        + principal
        + req.source_ip.len()
        + headers_size(&req.headers)
        + opt_str(&req.bucket_owner)
        + opt_str(&req.object_owner)
        + acl(&req.bucket_acl)
        + acl(&req.object_acl)
        + opt_str(&req.config)
        + opt_str(&req.version_id)
        + OVERHEAD
        + req.object_tags.as_deref().map_or(0, tags)
        + tags(&req.request_tags)
        + OVERHEAD
        + req.bucket_policy.as_ref().map_or(0, Vec::len)
        + headers_size(&req.context.query)
        + acl(&req.request_acl)
        + req.request_bucket_policy.as_ref().map_or(0, Vec::len)
        + 26 * OVERHEAD
}

/// Estimated size of `req`, without its `rules`: those come from the bucket's
/// `PutBucketCors` document, which is at most 64 KB and 100 rules (checked when it is
/// stored) and lowers to less than its XML, so they need no check per call. Counting
/// them would let a legal configuration plus a long origin exceed the cap and fail
/// every CORS request of the bucket. What the client sends (origin, headers, key)
/// and the module's configuration are counted.
pub(crate) fn cors_request_size(req: &types::CorsRequest) -> usize {
    req.origin.len()
        + req.method.len()
        + strings(&req.request_headers)
        + req.bucket.len()
        + opt_str(&req.key)
        + opt_str(&req.config)
        + 8 * OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_grow_with_content() {
        let rule = types::CorsRule {
            id: None,
            allowed_origins: vec!["https://example.com".into()],
            allowed_methods: vec!["GET".into()],
            allowed_headers: vec![],
            expose_headers: vec![],
            max_age_seconds: None,
        };
        let mut req = types::CorsRequest {
            kind: types::CorsKind::Preflight,
            origin: "https://example.com".into(),
            method: "GET".into(),
            request_headers: vec![],
            bucket: "b".into(),
            key: None,
            rules: vec![],
            config: None,
        };
        let empty = cors_request_size(&req);
        req.rules = vec![rule; 100];
        assert_eq!(cors_request_size(&req), empty);
        req.request_headers = vec!["x".repeat(1000); 3];
        assert!(cors_request_size(&req) > empty + 3000);
        let headers = vec![
            types::Header {
                name: "x-amz-meta-a".into(),
                value: "x".repeat(1000),
            };
            3
        ];
        assert!(headers_size(&headers) > 3000);
    }

    #[test]
    fn requests_count_version_and_tags() {
        let mut req = crate::policy::sample::typical_get_request();
        let base = request_size(&req);
        let tag = types::Tag {
            key: "k".repeat(128),
            value: "v".repeat(256),
        };
        req.object_tags = Some(vec![tag.clone(); 10]);
        let with_object_tags = request_size(&req);
        assert!(with_object_tags > base + 3840);
        req.request_tags = vec![tag; 10];
        assert!(request_size(&req) > with_object_tags + 3840);
        req.version_id = Some("v".repeat(1000));
        assert!(request_size(&req) > with_object_tags + 4840);
    }
}
