//! The `validate-metadata` hook: the bucket's policy module judges the metadata of every
//! object a write creates, before any byte of it is stored.
//!
//! Called by PutObject, POST Object, CopyObject and CreateMultipartUpload (whose metadata
//! the completed object gets; UploadPart and CompleteMultipartUpload set none), also
//! without any `x-amz-meta-*`, so a module can require some. The module sees the
//! authorize-style `request` (AWS's operation name, bucket, key, principal, headers) whose
//! headers carry the new object's standard headers as they will be stored (`Content-Type`,
//! `Content-Encoding`, `Cache-Control`, `Content-Disposition`, `Content-Language`,
//! `Expires`: a POST form's fields, a copy's source's stored headers unless `REPLACE`), and
//! the user metadata as stored (`x-amz-meta-*` names, decoded values) as its second
//! argument; the request's own `x-amz-meta-*` headers are left out of the first, which
//! could otherwise contradict it (a copy that keeps the source's metadata). Its
//! `request-tags` are likewise the tags the object will have (a copy's source's unless
//! `x-amz-tagging-directive: REPLACE`).
//!
//! A rejection is the client's error (`400 InvalidArgument` with the module's message); a
//! module that cannot answer fails closed (`403 AccessDenied`), see [`Error`].

use crate::policy::{self, Hook, types};
use crate::s3::authz::{self, AccessRequest};
use crate::s3::context::RequestContext;
use crate::s3::error::S3Result;
use crate::s3::headers::META_PREFIX;
use crate::state::AppState;
use crate::store::buckets::Bucket;
use crate::store::objects::ObjectHeaders;
use crate::tags::Tag;

/// Why a write's metadata was not accepted. Converted once into the S3 error
/// (`s3::error`): a rejection is the client's to fix, anything else fails closed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module rejected the metadata; the message is for the client (the engine has
    /// capped its length).
    #[error("{0}")]
    Rejected(String),
    /// The module could not answer (trap, deadline, quarantine, ...); the engine has
    /// logged it with the module's name and digest.
    #[error("the policy module failed: {0}")]
    Failed(#[source] policy::Error),
    /// The bucket's attached module cannot be loaded (logged when it was attached).
    #[error("the bucket's policy module {module} cannot be loaded: {reason}")]
    Unloadable {
        /// The module's name.
        module: String,
        /// Why it cannot be loaded.
        reason: String,
    },
}

/// Has the bucket's module judge the object the routed operation of `ctx` is about to
/// create in `bucket` under `key`, with standard headers `headers`, user metadata
/// `user_metadata` and tags `tags` (all as they will be stored; short metadata names), as
/// `ctx`'s principal (a POST form's signer). Call it before reading the body.
pub fn check(
    state: &AppState,
    ctx: &RequestContext,
    bucket: &Bucket,
    key: &str,
    headers: &ObjectHeaders,
    user_metadata: &[(String, String)],
    tags: &[Tag],
) -> S3Result<()> {
    if cfg!(feature = "bench-skip-policy") {
        return Ok(());
    }
    let policy = authz::bucket_policy(state, ctx, Some(bucket.id));
    let module = policy.module.as_ref().map_err(|reason| Error::Unloadable {
        module: policy.name.clone(),
        reason: reason.clone(),
    })?;
    // A configuration belongs to the module it was attached with: when that module does
    // not export the hook, the default module's rules judge without it (they would read
    // another module's settings as rules, and refuse them).
    let config = module
        .implements(Hook::Metadata)
        .then(|| policy.config.clone())
        .flatten();
    let access = AccessRequest {
        operation: ctx.op.as_str(),
        bucket: Some(bucket),
        key: Some(key),
        version_id: None,
        object: None,
        request_tags: tags,
        request_acl: None,
        request_policy: None,
    };
    let mut request = authz::policy_request(ctx, &access, config);
    request.headers = object_view(&request.headers, headers);
    let metadata: Vec<types::Header> = user_metadata
        .iter()
        .map(|(name, value)| types::Header {
            name: format!("{META_PREFIX}{name}"),
            value: value.clone(),
        })
        .collect();
    let engine = state.policies.engine();
    match engine.validate_metadata(module, &request, &metadata) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => {
            tracing::debug!(module = %policy.name, %message, "metadata rejected by policy");
            Err(Error::Rejected(message).into())
        }
        Err(e) => Err(Error::Failed(e).into()),
    }
}

/// The standard headers an object stores (`ObjectHeaders`), lower-case.
const STORED_HEADERS: [&str; 6] = [
    "content-type",
    "content-encoding",
    "cache-control",
    "content-disposition",
    "content-language",
    "expires",
];

/// The request's headers with the standard object headers replaced by `stored` and the
/// `x-amz-meta-*` headers left out.
fn object_view(request: &[types::Header], stored: &ObjectHeaders) -> Vec<types::Header> {
    let mut headers: Vec<types::Header> = request
        .iter()
        .filter(|h| !STORED_HEADERS.contains(&h.name.as_str()) && !h.name.starts_with(META_PREFIX))
        .cloned()
        .collect();
    let values = [
        &stored.content_type,
        &stored.content_encoding,
        &stored.cache_control,
        &stored.content_disposition,
        &stored.content_language,
        &stored.expires,
    ];
    for (name, value) in STORED_HEADERS.iter().zip(values) {
        if let Some(value) = value {
            headers.push(types::Header {
                name: (*name).to_owned(),
                value: value.clone(),
            });
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> types::Header {
        types::Header {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn the_object_view_has_the_stored_headers_and_no_metadata() {
        let request = [
            header("content-type", "multipart/form-data; boundary=x"),
            header("x-amz-meta-owner", "raw"),
            header("x-team", "docs"),
            header("cache-control", "no-cache"),
        ];
        let stored = ObjectHeaders {
            content_type: Some("image/png".into()),
            expires: Some("Thu, 01 Dec 2094 16:00:00 GMT".into()),
            ..ObjectHeaders::default()
        };
        let view = object_view(&request, &stored);
        let names: Vec<(&str, &str)> = view
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("x-team", "docs"),
                ("content-type", "image/png"),
                ("expires", "Thu, 01 Dec 2094 16:00:00 GMT"),
            ]
        );
    }
}
