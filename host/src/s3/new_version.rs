//! What a write gives the version it creates besides its bytes and metadata: its tags
//! (`x-amz-tagging`) and its object lock (`x-amz-object-lock-*`, else the bucket's
//! default retention). PutObject, POST Object, CopyObject and CreateMultipartUpload all
//! take them from here, so they answer alike.
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html>

use http::HeaderMap;
use time::OffsetDateTime;

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::headers;
use super::object_lock::{
    LEGAL_HOLD_HEADER, LegalHoldStatus, LockHeaders, MODE_HEADER, ObjectLockConfig,
    RETAIN_UNTIL_HEADER, parse_lock_headers,
};
use super::tagging::{TAGGING_HEADER, parse_tagging_header};
use crate::retention::ObjectRetention;
use crate::store::buckets::Bucket;
use crate::tags::TagSet;

/// A new version's tags and lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionAttributes {
    /// Its tags.
    pub tags: TagSet,
    /// Its retention: the request's, else the bucket's default.
    pub retention: Option<ObjectRetention>,
    /// Whether it is under a legal hold.
    pub legal_hold: bool,
}

/// The tags a write's `x-amz-tagging` header gives (none without it).
pub fn requested_tags(h: &HeaderMap) -> S3Result<TagSet> {
    match h.get(TAGGING_HEADER) {
        None => Ok(TagSet::new()),
        Some(v) => {
            let text = v.to_str().map_err(|_| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL \
                     query parameters without tag name duplicates.",
                )
            })?;
            Ok(parse_tagging_header(text)?)
        }
    }
}

/// The lock a write asks for with its `x-amz-object-lock-*` headers, checked as S3 does
/// (both mode and date or neither, a date in the future, `ON`/`OFF`), and the version's
/// lock: the request's, else the bucket's default retention counted from `now`.
///
/// S3 refuses lock headers on a bucket without Object Lock (`InvalidRequest`, "Bucket is
/// missing Object Lock Configuration") and, on a request whose body is the object
/// (`with_body`: PutObject), one that carries no integrity header (`Content-MD5` or an
/// `x-amz-checksum-*`/`x-amz-sdk-checksum-algorithm`): a retained version cannot be
/// replaced, so S3 wants its bytes proven first.
pub fn requested_lock(
    bucket: &Bucket,
    h: &HeaderMap,
    now: OffsetDateTime,
    with_body: bool,
) -> S3Result<(Option<ObjectRetention>, bool)> {
    let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    let lock: LockHeaders = parse_lock_headers(
        text(MODE_HEADER),
        text(RETAIN_UNTIL_HEADER),
        text(LEGAL_HOLD_HEADER),
        now,
    )?;
    if lock.is_some() {
        if !bucket.object_lock_enabled {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Bucket is missing Object Lock Configuration",
            ));
        }
        if with_body {
            require_integrity_header(h)?;
        }
    }
    let retention = match lock.retention {
        Some(r) => Some(r),
        None => default_retention(bucket, now)?,
    };
    Ok((retention, lock.legal_hold == Some(LegalHoldStatus::On)))
}

/// The retention the bucket's Object Lock configuration gives a new version written at
/// `now`, if it has a default.
pub fn default_retention(
    bucket: &Bucket,
    now: OffsetDateTime,
) -> S3Result<Option<ObjectRetention>> {
    let Some(config) = lock_config(bucket)? else {
        return Ok(None);
    };
    Ok(config.default_retention.map(|d| ObjectRetention {
        mode: d.mode,
        retain_until: d.retain_until(now),
    }))
}

/// The bucket's stored Object Lock configuration, if it has one.
pub fn lock_config(bucket: &Bucket) -> S3Result<Option<ObjectLockConfig>> {
    match (&bucket.object_lock, bucket.object_lock_enabled) {
        (Some(json), true) => serde_json::from_value(json.clone())
            .map(Some)
            .map_err(S3Error::internal),
        _ => Ok(None),
    }
}

/// S3's rule for requests that set or change a lock (and for PutObjectLockConfiguration,
/// PutObjectRetention, PutObjectLegalHold): `Content-MD5` or an additional checksum must
/// come with the body.
pub fn require_integrity_header(h: &HeaderMap) -> S3Result<()> {
    let has = h.contains_key(headers::CONTENT_MD5)
        || h.contains_key(headers::SDK_CHECKSUM_ALGORITHM)
        || h.contains_key(headers::TRAILER)
        || h.keys()
            .any(|name| name.as_str().starts_with(headers::CHECKSUM_PREFIX));
    if has {
        Ok(())
    } else {
        Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests \
             with Object Lock parameters",
        ))
    }
}

/// A write's attributes: `tags` (its [`requested_tags`], parsed before the authorization,
/// which decides on them) and the lock its headers ask for (PutObject with `with_body`,
/// CreateMultipartUpload; see [`requested_lock`]).
pub fn from_headers(
    bucket: &Bucket,
    h: &HeaderMap,
    tags: TagSet,
    with_body: bool,
) -> S3Result<VersionAttributes> {
    let (retention, legal_hold) = requested_lock(bucket, h, OffsetDateTime::now_utc(), with_body)?;
    Ok(VersionAttributes {
        tags,
        retention,
        legal_hold,
    })
}
