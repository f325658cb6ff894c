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
use http::{HeaderMap, Response};
use percent_encoding::percent_decode_str;

use super::conditional::{ReadConditions, write_condition};
use super::ingest::{commit, new_object_owner_and_acl};
use super::metadata::{parse_object_headers, parse_user_metadata};
use super::{authorized_bucket, authorized_object_at, metadata_check, object_key};
use crate::http::body::ResponseBody;
use crate::s3::context::{RequestContext, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::xml;
use crate::state::AppState;
use crate::store::objects::{NewBody, NewObject};

/// The header naming the source.
pub const COPY_SOURCE: &str = "x-amz-copy-source";
/// COPY or REPLACE.
const METADATA_DIRECTIVE: &str = "x-amz-metadata-directive";

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
}

impl CopySource {
    /// Parses `[/]bucket/key[?versionId=V]`, URL-encoded. Every object is version `null`,
    /// so that is the only version id that names anything.
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
        if let Some(version) = version
            && version != "null"
        {
            return Err(S3Error::with_message(
                S3ErrorCode::NoSuchVersion,
                "The specified version does not exist.",
            )
            .extra("Key", key)
            .extra("VersionId", version));
        }
        Ok(CopySource { bucket, key })
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

/// Where a copy's metadata comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Copy,
    Replace,
}

fn metadata_directive(h: &HeaderMap) -> S3Result<Directive> {
    match h.get(METADATA_DIRECTIVE).map(|v| v.as_bytes()) {
        None => Ok(Directive::Copy),
        Some(v) if v.eq_ignore_ascii_case(b"COPY") => Ok(Directive::Copy),
        Some(v) if v.eq_ignore_ascii_case(b"REPLACE") => Ok(Directive::Replace),
        Some(v) => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Unknown metadata directive.",
        )
        .extra("ArgumentName", METADATA_DIRECTIVE)
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
    let target = authorized_bucket(state, ctx).await?;
    let key = object_key(ctx)?;
    let (source_bucket, src) =
        authorized_object_at(state, ctx, &source.bucket, &source.key, "GetObject").await?;
    ReadConditions::of_copy_source(h).check_copy_source(&src.etag, src.last_modified)?;
    if source_bucket.id == target.id && source.key == key && directive == Directive::Copy {
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
    metadata_check::check(state, ctx, &target, key, &headers, &user_metadata)?;
    let (owner_id, acl) = new_object_owner_and_acl(state, ctx, &target, h).await?;
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
    Ok(xml_response(xml::render_copy_result(
        "CopyObjectResult",
        &src.etag,
        committed.last_modified,
        checksum,
    )))
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
        assert_eq!(err.code(), S3ErrorCode::NoSuchVersion);
    }
}
