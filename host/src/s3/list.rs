//! ListObjects (v1), ListObjectsV2 and ListObjectVersions, over one listing engine that
//! walks keys in byte order, folds keys into CommonPrefixes and skips past each prefix
//! with a single index seek.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html>

use base64::Engine;
use http::Response;

use super::{authorized_bucket, xml};
use crate::http::body::ResponseBody;
use crate::s3::context::{RequestContext, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::buckets::Bucket;
use crate::store::objects::{self, NULL_VERSION, ObjectSummary, VersionSelector};
use crate::store::versions::{self, VersionCursor, VersionSummary};

/// S3's ceiling (and default) for max-keys.
pub const MAX_KEYS: usize = 1000;

/// Sorts after every string that starts with the text it is appended to.
const AFTER_PREFIX: char = char::MAX;

/// One page of a listing.
#[derive(Debug, Default)]
pub struct ListPage {
    /// Objects on the page.
    pub contents: Vec<ObjectSummary>,
    /// Common prefixes on the page.
    pub common_prefixes: Vec<String>,
    /// More results follow.
    pub is_truncated: bool,
    /// The last key or common prefix returned (the next page starts after it).
    pub last: Option<String>,
}

/// Lists up to `max_keys` entries (objects plus common prefixes) after `start_after`.
pub async fn list_page(
    state: &AppState,
    bucket_id: i64,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: &str,
    max_keys: usize,
) -> S3Result<ListPage> {
    let mut page = ListPage::default();
    // S3 answers `max-keys=0` with an empty page that is not truncated (no token: a
    // client paging by tokens would otherwise loop on empty pages).
    if max_keys == 0 {
        return Ok(page);
    }
    let mut cursor = start_after.to_string();
    // A marker inside a common prefix means that prefix was already returned.
    if let Some(cp) = delimiter.and_then(|d| common_prefix(start_after, prefix, d)) {
        cursor = format!("{cp}{AFTER_PREFIX}");
    }
    let batch = (max_keys + 1).clamp(2, MAX_KEYS + 1) as i64;
    'pages: loop {
        let rows = objects::list_keys_after(&state.pool, bucket_id, prefix, &cursor, batch).await?;
        let exhausted = (rows.len() as i64) < batch;
        for row in rows {
            if !row.key.starts_with(prefix) {
                break 'pages;
            }
            if page.contents.len() + page.common_prefixes.len() == max_keys {
                page.is_truncated = true;
                break 'pages;
            }
            if let Some(cp) = delimiter.and_then(|d| common_prefix(&row.key, prefix, d)) {
                cursor = format!("{cp}{AFTER_PREFIX}");
                page.last = Some(cp.to_string());
                page.common_prefixes.push(cp.to_string());
                continue 'pages;
            }
            cursor.clone_from(&row.key);
            page.last = Some(row.key.clone());
            page.contents.push(row);
        }
        if exhausted {
            break;
        }
    }
    Ok(page)
}

/// The common prefix `key` rolls up into: `prefix` + text up to and including the first
/// delimiter after it.
fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: &str) -> Option<&'k str> {
    if delimiter.is_empty() || !key.starts_with(prefix) {
        return None;
    }
    let rest = &key[prefix.len()..];
    rest.find(delimiter)
        .map(|i| &key[..prefix.len() + i + delimiter.len()])
}

/// Parameters shared by the three list calls.
struct Common<'a> {
    prefix: &'a str,
    delimiter: Option<&'a str>,
    max_keys: usize,
    encoding_type_url: bool,
}

fn common_params(ctx: &RequestContext) -> S3Result<Common<'_>> {
    let max_keys = match ctx.query_param("max-keys") {
        None => MAX_KEYS,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| (n as usize).min(MAX_KEYS))
            .ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "Provided max-keys not an integer or within integer range",
                )
                .extra("ArgumentName", "max-keys")
                .extra("ArgumentValue", v)
            })?,
    };
    let encoding_type_url = encoding_type_url(ctx)?;
    Ok(Common {
        prefix: ctx.query_param("prefix").unwrap_or(""),
        delimiter: ctx.query_param("delimiter").filter(|d| !d.is_empty()),
        max_keys,
        encoding_type_url,
    })
}

/// Whether the listing asked for `encoding-type=url` (the only type S3 knows).
pub(super) fn encoding_type_url(ctx: &RequestContext) -> S3Result<bool> {
    match ctx.query_param("encoding-type") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("url") => Ok(true),
        Some(v) => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Invalid Encoding Method specified in Request",
        )
        .extra("ArgumentName", "encoding-type")
        .extra("ArgumentValue", v)),
    }
}

/// Whose name a listing shows as an object's owner.
#[derive(Debug, Clone, Copy)]
enum ListedOwner<'a> {
    /// None (ListObjectsV2 without `fetch-owner`).
    Hidden,
    /// The account that wrote the object.
    Writer,
    /// The bucket owner, who owns every object while ACLs are disabled (Object Ownership
    /// `BucketOwnerEnforced`), as GetObjectAcl also shows.
    BucketOwner(&'a Bucket),
}

impl<'a> ListedOwner<'a> {
    /// The owner a listing of `bucket` shows, if it shows one.
    fn of(bucket: &'a Bucket, shown: bool) -> Self {
        match (shown, bucket.acls_disabled()) {
            (false, _) => ListedOwner::Hidden,
            (true, true) => ListedOwner::BucketOwner(bucket),
            (true, false) => ListedOwner::Writer,
        }
    }
}

fn entry(o: ObjectSummary, owner: ListedOwner<'_>) -> xml::ObjectEntry {
    xml::ObjectEntry {
        owner: match owner {
            ListedOwner::Hidden => None,
            ListedOwner::Writer => Some(xml::Owner {
                id: o.owner_canonical_id,
                display_name: o.owner_display_name,
            }),
            ListedOwner::BucketOwner(b) => Some(xml::Owner {
                id: b.owner_canonical_id.clone(),
                display_name: b.owner_display_name.clone(),
            }),
        },
        key: o.key,
        last_modified: o.last_modified,
        etag: o.etag,
        size: o.size,
        storage_class: "STANDARD".to_string(),
    }
}

/// ListObjects (version 1).
pub async fn list_objects_v1(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let p = common_params(ctx)?;
    let marker = ctx.query_param("marker").unwrap_or("");
    let page = list_page(state, bucket.id, p.prefix, p.delimiter, marker, p.max_keys).await?;
    let next_marker = (page.is_truncated && p.delimiter.is_some())
        .then(|| page.last.clone())
        .flatten();
    let owner = ListedOwner::of(&bucket, true);
    let result = xml::ListObjectsV1 {
        bucket: bucket.name.clone(),
        prefix: p.prefix.to_string(),
        marker: marker.to_string(),
        next_marker,
        max_keys: p.max_keys,
        delimiter: p.delimiter.map(str::to_string),
        is_truncated: page.is_truncated,
        encoding_type_url: p.encoding_type_url,
        contents: page.contents.into_iter().map(|o| entry(o, owner)).collect(),
        common_prefixes: page.common_prefixes,
    };
    Ok(xml_response(xml::render_list_objects_v1(&result)))
}

fn encode_token(cursor: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cursor.as_bytes())
}

fn decode_token(token: &str) -> S3Result<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "The continuation token provided is incorrect",
            )
            .extra("ArgumentName", "continuation-token")
        })
}

/// ListObjectsV2. <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html>
pub async fn list_objects_v2(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let p = common_params(ctx)?;
    let token = ctx.query_param("continuation-token");
    let start_after = ctx.query_param("start-after");
    let cursor = match token {
        Some(t) => decode_token(t)?,
        None => start_after.unwrap_or("").to_string(),
    };
    let fetch_owner = ctx
        .query_param("fetch-owner")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let page = list_page(state, bucket.id, p.prefix, p.delimiter, &cursor, p.max_keys).await?;
    let next = page
        .is_truncated
        .then(|| page.last.as_deref().map(encode_token))
        .flatten();
    let result = xml::ListObjectsV2 {
        bucket: bucket.name.clone(),
        prefix: p.prefix.to_string(),
        delimiter: p.delimiter.map(str::to_string),
        max_keys: p.max_keys,
        key_count: page.contents.len() + page.common_prefixes.len(),
        is_truncated: page.is_truncated,
        continuation_token: token.map(str::to_string),
        next_continuation_token: next,
        start_after: start_after.map(str::to_string),
        encoding_type_url: p.encoding_type_url,
        contents: page
            .contents
            .into_iter()
            .map(|o| entry(o, ListedOwner::of(&bucket, fetch_owner)))
            .collect(),
        common_prefixes: page.common_prefixes,
    };
    Ok(xml_response(xml::render_list_objects_v2(&result)))
}

/// One page of a version listing.
#[derive(Debug, Default)]
pub struct VersionPage {
    /// Versions and delete markers on the page, in order.
    pub versions: Vec<VersionSummary>,
    /// Common prefixes on the page.
    pub common_prefixes: Vec<String>,
    /// More results follow.
    pub is_truncated: bool,
    /// Where the next page starts: the last version listed (key, version id), or the last
    /// common prefix (no version id).
    pub next: Option<(String, Option<String>)>,
}

/// Lists up to `max_keys` entries (versions, delete markers and common prefixes) after
/// `start`, the engine of [`list_page`] over every version.
pub async fn list_version_page(
    state: &AppState,
    bucket_id: i64,
    prefix: &str,
    delimiter: Option<&str>,
    start: VersionCursor,
    max_keys: usize,
) -> S3Result<VersionPage> {
    let mut page = VersionPage::default();
    if max_keys == 0 {
        return Ok(page);
    }
    let mut cursor = start;
    if cursor.row.is_none()
        && let Some(cp) = delimiter.and_then(|d| common_prefix(&cursor.key, prefix, d))
    {
        cursor.key = format!("{cp}{AFTER_PREFIX}");
    }
    let batch = (max_keys + 1).clamp(2, MAX_KEYS + 1) as i64;
    'pages: loop {
        let rows =
            versions::list_versions_after(&state.pool, bucket_id, prefix, &cursor, batch).await?;
        let exhausted = (rows.len() as i64) < batch;
        for row in rows {
            if !row.key.starts_with(prefix) {
                break 'pages;
            }
            if page.versions.len() + page.common_prefixes.len() == max_keys {
                page.is_truncated = true;
                break 'pages;
            }
            if let Some(cp) = delimiter.and_then(|d| common_prefix(&row.key, prefix, d)) {
                cursor = VersionCursor {
                    key: format!("{cp}{AFTER_PREFIX}"),
                    row: None,
                };
                page.next = Some((cp.to_string(), None));
                page.common_prefixes.push(cp.to_string());
                continue 'pages;
            }
            cursor = VersionCursor {
                key: row.key.clone(),
                row: Some(row.id),
            };
            let label = row
                .version_id
                .as_deref()
                .unwrap_or(NULL_VERSION)
                .to_string();
            page.next = Some((row.key.clone(), Some(label)));
            page.versions.push(row);
        }
        if exhausted {
            break;
        }
    }
    Ok(page)
}

/// ListObjectVersions: every version and delete marker, keys in byte order, each key's
/// newest first; an unversioned bucket's objects are their keys' `null` versions.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html>
pub async fn list_object_versions(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let p = common_params(ctx)?;
    let key_marker = ctx.query_param("key-marker").unwrap_or("");
    let version_id_marker = ctx
        .query_param("version-id-marker")
        .filter(|v| !v.is_empty());
    let row = match version_id_marker {
        None => None,
        Some(_) if key_marker.is_empty() => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "A version-id marker cannot be specified without a key marker.",
            )
            .extra("ArgumentName", "version-id-marker")
            .extra("ArgumentValue", version_id_marker.unwrap_or_default()));
        }
        Some(marker) => match super::version_selector(Some(marker))? {
            VersionSelector::Id { row, .. } => Some(row),
            // A `null` marker resumes after the null version; a key without one has
            // nothing left to list of it.
            _ => versions::null_version_row(&state.pool, bucket.id, key_marker).await?,
        },
    };
    let start = VersionCursor {
        key: key_marker.to_string(),
        row,
    };
    let page =
        list_version_page(state, bucket.id, p.prefix, p.delimiter, start, p.max_keys).await?;
    let (next_key_marker, next_version_id_marker) = match page.next.filter(|_| page.is_truncated) {
        Some((key, version)) => (Some(key), version),
        None => (None, None),
    };
    let owner = ListedOwner::of(&bucket, true);
    let result = xml::ListObjectVersions {
        bucket: bucket.name.clone(),
        prefix: p.prefix.to_string(),
        key_marker: key_marker.to_string(),
        version_id_marker: version_id_marker.unwrap_or("").to_string(),
        next_key_marker,
        next_version_id_marker,
        max_keys: p.max_keys,
        delimiter: p.delimiter.map(str::to_string),
        is_truncated: page.is_truncated,
        encoding_type_url: p.encoding_type_url,
        versions: page
            .versions
            .into_iter()
            .map(|v| version_entry(v, owner))
            .collect(),
        common_prefixes: page.common_prefixes,
    };
    Ok(xml_response(xml::render_list_object_versions(&result)))
}

fn version_entry(v: VersionSummary, owner: ListedOwner<'_>) -> xml::VersionEntry {
    xml::VersionEntry {
        version_id: v.version_id.unwrap_or_else(|| NULL_VERSION.to_string()),
        is_latest: v.is_latest,
        delete_marker: v.delete_marker,
        object: entry(
            ObjectSummary {
                key: v.key,
                size: v.size,
                etag: v.etag,
                last_modified: v.last_modified,
                owner_canonical_id: v.owner_canonical_id,
                owner_display_name: v.owner_display_name,
            },
            owner,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_rolls_up_at_the_first_delimiter_after_the_prefix() {
        assert_eq!(common_prefix("a/b/c", "", "/"), Some("a/"));
        assert_eq!(common_prefix("a/b/c", "a/", "/"), Some("a/b/"));
        assert_eq!(common_prefix("a/b", "a/b", "/"), None);
        assert_eq!(common_prefix("abc", "", "/"), None);
        assert_eq!(common_prefix("x--y--z", "x", "--"), Some("x--"));
    }

    #[test]
    fn continuation_tokens_round_trip() {
        let t = encode_token("photos/2024/ü");
        assert_eq!(decode_token(&t).unwrap(), "photos/2024/ü");
        assert!(decode_token("!!!").is_err());
    }
}
