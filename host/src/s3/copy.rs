//! CopyObject: a new object that shares the source's chunks.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html>
//!
//! The caller needs write access to the target bucket (decided as `CopyObject` by the
//! target bucket's module) and read access to the source object (decided as `GetObject`
//! by the source bucket's module, with the source's ACL). No object bytes move: the new
//! object's row references the source's chunk rows (a chunk is released only when no
//! object references it), so copying 1 GiB costs what copying 1 KiB does. Inline objects
//! are small and their bytes are copied with the row.
//!
//! The ACL is not copied (S3 gives the copy the request's ACL, private by default);
//! metadata is copied (`x-amz-metadata-directive: COPY`, the default) or taken from the
//! request (`REPLACE`), and judged either way by the target bucket's module
//! (`s3::metadata_check`). Copying an object onto itself is only allowed with `REPLACE`.

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response};
use percent_encoding::percent_decode_str;
use time::OffsetDateTime;

use super::conditional::{ReadConditions, write_condition};
use super::ingest::{commit, new_object_owner_and_acl};
use super::metadata::{parse_object_headers, parse_user_metadata};
use super::new_version;
use super::versioning::add_version_header;
use super::{
    authorized_bucket_with_tags, authorized_object_at, headers, metadata_check, object_key,
};
use crate::http::body::ResponseBody;
use crate::s3::context::{RequestContext, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::xml;
use crate::state::AppState;
use crate::store::buckets::Bucket;
use crate::store::objects::{NewBody, NewObject, ObjectMeta, VersionSelector};
use crate::tags::TagSet;

/// The header naming the source.
pub const COPY_SOURCE: &str = "x-amz-copy-source";
/// COPY or REPLACE.
const METADATA_DIRECTIVE: &str = "x-amz-metadata-directive";
/// COPY or REPLACE, for the tags.
const TAGGING_DIRECTIVE: &str = "x-amz-tagging-directive";

/// S3's limit on the source of a single CopyObject (larger objects are copied part by
/// part with UploadPartCopy).
pub const MAX_COPY_SOURCE_BYTES: u64 = 5 << 30;

/// A parsed `x-amz-copy-source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    /// Source bucket.
    pub bucket: String,
    /// Source key.
    pub key: String,
    /// Source version (`?versionId=`; the current version without it).
    pub version: VersionSelector,
}

impl CopySource {
    /// Parses `[/]bucket/key[?versionId=V]`, URL-encoded. A version id Coffer could not
    /// have issued is `400 InvalidArgument`, as for `versionId` on a GET.
    pub fn parse(value: &str) -> S3Result<CopySource> {
        let malformed = || {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            )
            .extra("ArgumentName", COPY_SOURCE)
            .extra("ArgumentValue", value.to_string())
        };
        let (path, version) = match value.split_once('?') {
            Some((path, query)) => {
                let version = query
                    .strip_prefix("versionId=")
                    .ok_or_else(malformed)?
                    .to_string();
                (path, Some(version))
            }
            None => (value, None),
        };
        let path = path.strip_prefix('/').unwrap_or(path);
        let (bucket, key) = path.split_once('/').ok_or_else(malformed)?;
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| malformed())
        };
        let (bucket, key) = (decode(bucket)?, decode(key)?);
        if bucket.is_empty() || key.is_empty() {
            return Err(malformed());
        }
        let version = super::version_selector(version.as_deref())?;
        Ok(CopySource {
            bucket,
            key,
            version,
        })
    }

    /// Loads the source (bucket and version) and has its bucket's module decide reading it
    /// (`GetObject`). A delete marker named by version id cannot be copied (S3's
    /// `InvalidRequest`).
    pub async fn authorized(
        &self,
        state: &AppState,
        ctx: &RequestContext,
    ) -> S3Result<(Bucket, ObjectMeta)> {
        authorized_object_at(
            state,
            ctx,
            &self.bucket,
            &self.key,
            &self.version,
            "GetObject",
        )
        .await
        .map_err(|e| match e.code() {
            S3ErrorCode::MethodNotAllowed => S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "The source of a copy request may not specifically refer to a delete marker \
                 by version id.",
            ),
            _ => e,
        })
    }

    /// The source named by a request's headers.
    pub fn of_request(h: &HeaderMap) -> S3Result<CopySource> {
        let value = h
            .get(COPY_SOURCE)
            .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidRequest))?
            .to_str()
            .map_err(|_| {
                S3Error::with_message(S3ErrorCode::InvalidArgument, "Invalid copy source encoding")
            })?;
        CopySource::parse(value.trim())
    }
}

/// Where a copy's metadata (or tags) come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Copy,
    Replace,
}

fn metadata_directive(h: &HeaderMap) -> S3Result<Directive> {
    directive(h, METADATA_DIRECTIVE, "Unknown metadata directive.")
}

/// `x-amz-tagging-directive`: the source's tags (`COPY`, the default) or the request's
/// `x-amz-tagging` (`REPLACE`).
fn tagging_directive(h: &HeaderMap) -> S3Result<Directive> {
    directive(h, TAGGING_DIRECTIVE, "Unknown tagging directive.")
}

fn directive(h: &HeaderMap, name: &'static str, unknown: &str) -> S3Result<Directive> {
    match h.get(name).map(|v| v.as_bytes()) {
        None => Ok(Directive::Copy),
        Some(v) if v.eq_ignore_ascii_case(b"COPY") => Ok(Directive::Copy),
        Some(v) if v.eq_ignore_ascii_case(b"REPLACE") => Ok(Directive::Replace),
        Some(v) => Err(S3Error::with_message(S3ErrorCode::InvalidArgument, unknown)
            .extra("ArgumentName", name)
            .extra("ArgumentValue", String::from_utf8_lossy(v).into_owned())),
    }
}

/// CopyObject.
pub async fn copy_object(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
) -> S3Result<Response<ResponseBody>> {
    let h = &parts.headers;
    let source = CopySource::of_request(h)?;
    let directive = metadata_directive(h)?;
    let tags_from = tagging_directive(h)?;
    // With `REPLACE`, the target's module decides on the tags the copy is to get.
    let requested_tags = match tags_from {
        Directive::Copy => TagSet::new(),
        Directive::Replace => new_version::requested_tags(h)?,
    };
    let target = authorized_bucket_with_tags(state, ctx, &requested_tags).await?;
    let key = object_key(ctx)?;
    let (source_bucket, src) = source.authorized(state, ctx).await?;
    ReadConditions::of_copy_source(h).check_copy_source(&src.etag, src.last_modified)?;
    // Copying a named version onto its own key is how S3 restores an older version.
    if source_bucket.id == target.id
        && source.key == key
        && directive == Directive::Copy
        && source.version == VersionSelector::Latest
    {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself \
             without changing the object's metadata, storage class, website redirect \
             location or encryption attributes.",
        ));
    }
    if src.size > MAX_COPY_SOURCE_BYTES {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            format!(
                "The specified copy source is larger than the maximum allowable size for a \
                 copy source: {MAX_COPY_SOURCE_BYTES}"
            ),
        ));
    }
    let (headers, user_metadata) = match directive {
        Directive::Copy => (src.headers.clone(), src.user_metadata.clone()),
        Directive::Replace => (parse_object_headers(h), parse_user_metadata(h)?),
    };
    let tags = match tags_from {
        Directive::Copy => src.tags.clone(),
        Directive::Replace => requested_tags,
    };
    metadata_check::check(state, ctx, &target, key, &headers, &user_metadata, &tags)?;
    let (owner_id, acl) = new_object_owner_and_acl(state, ctx, &target, h).await?;
    // The lock is never copied: the request's, else the target bucket's default.
    let (retention, legal_hold) =
        new_version::requested_lock(&target, h, OffsetDateTime::now_utc(), false)?;
    let condition = write_condition(h)?;
    let checksum = src
        .checksum
        .as_ref()
        .map(|(alg, value)| (alg.as_str(), value.as_str()));
    let body = match &src.inline_data {
        Some(data) => NewBody::Inline(data.clone()),
        None => NewBody::Shared(src.chunks.iter().map(|c| (c.chunk_id, c.size)).collect()),
    };
    let committed = commit(
        state,
        NewObject {
            bucket_id: target.id,
            key,
            size: src.size,
            etag: &src.etag,
            owner_id,
            headers: &headers,
            user_metadata: &user_metadata,
            checksum,
            acl: &acl,
            body,
            condition,
            versioning: target.versioning,
            tags: &tags,
            retention,
            legal_hold,
        },
    )
    .await
    .map_err(|e| match e.code() {
        // The source was deleted between reading it and committing the copy.
        S3ErrorCode::NoSuchKey => {
            S3Error::new(S3ErrorCode::NoSuchKey).extra("Key", source.key.clone())
        }
        _ => e,
    })?;
    let mut resp = xml_response(xml::render_copy_result(
        "CopyObjectResult",
        &src.etag,
        committed.last_modified,
        checksum,
    ));
    add_version_header(
        resp.headers_mut(),
        target.versioning,
        committed.version_id.as_deref(),
    );
    add_copy_source_version_header(resp.headers_mut(), &source_bucket, &src);
    Ok(resp)
}

/// Adds `x-amz-copy-source-version-id`: the version copied, when the source bucket has
/// versions (CopyObject, UploadPartCopy).
pub fn add_copy_source_version_header(h: &mut HeaderMap, bucket: &Bucket, source: &ObjectMeta) {
    if (bucket.versioning.ever_enabled() || source.version_id.is_some())
        && let Ok(v) = HeaderValue::from_str(source.version_label())
    {
        h.insert(headers::COPY_SOURCE_VERSION_ID, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(v: &str) -> Option<(String, String)> {
        CopySource::parse(v).ok().map(|s| (s.bucket, s.key))
    }

    #[test]
    fn copy_sources_parse_with_or_without_slash_and_decoded() {
        let want = |b: &str, k: &str| Some((b.to_string(), k.to_string()));
        assert_eq!(parsed("bucket/key"), want("bucket", "key"));
        assert_eq!(parsed("/bucket/a/b/c.txt"), want("bucket", "a/b/c.txt"));
        assert_eq!(parsed("bucket/sp%20ace%3F%2B"), want("bucket", "sp ace?+"));
        assert_eq!(parsed("bucket/key?versionId=null"), want("bucket", "key"));
    }

    #[test]
    fn malformed_copy_sources_are_refused() {
        for bad in [
            "",
            "/",
            "bucket",
            "bucket/",
            "/key",
            "bucket/key?x=1",
            "bucket/%ff",
        ] {
            let err = CopySource::parse(bad).expect_err(bad);
            assert_eq!(err.code(), S3ErrorCode::InvalidArgument, "{bad:?}");
        }
        let err = CopySource::parse("bucket/key?versionId=3HL4kqtJlcpXroDTDmJ").expect_err("v");
        assert_eq!(err.code(), S3ErrorCode::InvalidArgument);
        let named = CopySource::parse("b/k?versionId=00000000000000a1ffffffffffffffff");
        assert_eq!(
            named.ok().map(|s| s.version),
            Some(VersionSelector::Id {
                id: "00000000000000a1ffffffffffffffff".into(),
                row: 0xa1
            })
        );
    }
}
