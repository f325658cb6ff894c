//! GetObject and HeadObject: headers from metadata, bytes streamed from chunk files (or the
//! inline copy), each block's CRC32C checked before it is sent.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>

use base64::Engine;
use bytes::Bytes;
use futures_util::stream;
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use std::sync::Arc;

use super::conditional::ReadConditions;
use super::range::{ByteRange, Selected};
use super::{authorized_object, headers, lifecycle_api, multipart};
use crate::http::body::{ResponseBody, empty, full};
use crate::s3::context::RequestContext;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::blob::ChunkStore;
use crate::store::chunks::ChunkRef;
use crate::store::multipart as mp;
use crate::store::objects::ObjectMeta;

/// The `response-*` query parameters and the header each overrides.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax>
const RESPONSE_OVERRIDES: [(&str, HeaderName); 6] = [
    ("response-content-type", http::header::CONTENT_TYPE),
    ("response-content-language", http::header::CONTENT_LANGUAGE),
    ("response-expires", http::header::EXPIRES),
    ("response-cache-control", http::header::CACHE_CONTROL),
    (
        "response-content-disposition",
        http::header::CONTENT_DISPOSITION,
    ),
    ("response-content-encoding", http::header::CONTENT_ENCODING),
];

/// Formats a timestamp as an HTTP date (`Last-Modified`).
pub fn http_date(t: time::OffsetDateTime) -> String {
    httpdate::fmt_http_date(std::time::SystemTime::from(t))
}

/// Encodes a metadata value for a header: ASCII as is, anything else as an RFC 2047
/// encoded word, as S3 returns non-ASCII metadata.
fn encode_metadata_value(v: &str) -> String {
    if v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        v.to_string()
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(v.as_bytes())
        )
    }
}

fn put(h: &mut HeaderMap, name: impl http::header::IntoHeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// The headers GET and HEAD return for an object.
fn object_headers(obj: &ObjectMeta, ctx: &RequestContext, checksum_mode: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    let s = &obj.headers;
    put(
        &mut h,
        http::header::CONTENT_TYPE,
        s.content_type.as_deref().unwrap_or("binary/octet-stream"),
    );
    put(&mut h, http::header::CONTENT_LENGTH, &obj.size.to_string());
    put(&mut h, http::header::ETAG, &obj.etag);
    put(
        &mut h,
        http::header::LAST_MODIFIED,
        &http_date(obj.last_modified),
    );
    put(&mut h, http::header::ACCEPT_RANGES, "bytes");
    for (name, value) in [
        (http::header::CONTENT_ENCODING, &s.content_encoding),
        (http::header::CONTENT_DISPOSITION, &s.content_disposition),
        (http::header::CONTENT_LANGUAGE, &s.content_language),
        (http::header::CACHE_CONTROL, &s.cache_control),
        (http::header::EXPIRES, &s.expires),
    ] {
        if let Some(v) = value {
            put(&mut h, name, v);
        }
    }
    for (name, value) in &obj.user_metadata {
        if let Ok(n) = HeaderName::from_bytes(format!("{}{name}", headers::META_PREFIX).as_bytes())
        {
            put(&mut h, n, &encode_metadata_value(value));
        }
    }
    if checksum_mode
        && let Some((alg, value)) = &obj.checksum
        && let Ok(n) = HeaderName::from_bytes(
            format!("{}{}", headers::CHECKSUM_PREFIX, alg.to_ascii_lowercase()).as_bytes(),
        )
    {
        put(&mut h, n, value);
        put(
            &mut h,
            headers::CHECKSUM_TYPE,
            super::multipart_xml::checksum_type(value),
        );
    }
    for (param, header) in &RESPONSE_OVERRIDES {
        if let Some(v) = ctx.query_param(param) {
            put(&mut h, header.clone(), v);
        }
    }
    h
}

/// GetObject (`head == false`) and HeadObject: preconditions (304/412), then the
/// `Range` (206/416), then the bytes.
pub async fn get_object(
    state: &AppState,
    ctx: &RequestContext,
    request_headers: &HeaderMap,
    head: bool,
) -> S3Result<Response<ResponseBody>> {
    let (bucket, obj) = authorized_object(state, ctx).await?;
    let has_overrides = RESPONSE_OVERRIDES
        .iter()
        .any(|(p, _)| ctx.query_param(p).is_some());
    if has_overrides && ctx.principal.account().is_none() {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Request specific response headers cannot be used for anonymous GET requests.",
        ));
    }
    if ReadConditions::of_request(request_headers).check_read(&obj.etag, obj.last_modified)? {
        return Ok(not_modified(&obj));
    }
    let range = request_headers
        .get(http::header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Some((v, ByteRange::parse(v)?)));
    let mut parts_count = None;
    let selected = match (ctx.query_param("partNumber"), range) {
        (Some(_), Some(_)) => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter",
            ));
        }
        (Some(_), None) => {
            let (sel, count) = select_part(state, &obj, multipart::part_number(ctx)?).await?;
            parts_count = count;
            // An empty object's only part has no byte to put in a Content-Range.
            (sel.len > 0).then_some(sel)
        }
        (None, None) => None,
        (None, Some((text, range))) => Some(range.select(obj.size).ok_or_else(|| {
            S3Error::new(S3ErrorCode::InvalidRange)
                .extra("RangeRequested", text.to_string())
                .extra("ActualObjectSize", obj.size.to_string())
        })?),
    };
    // A stored checksum covers the whole object, so a range gets none (as on S3; clients
    // that asked for checksum validation would otherwise reject the partial body).
    let checksum_mode = selected.is_none()
        && request_headers
            .get(headers::CHECKSUM_MODE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"ENABLED"));
    let mut headers = object_headers(&obj, ctx, checksum_mode);
    if bucket.versioning.ever_enabled() || obj.version_id.is_some() {
        put(&mut headers, headers::VERSION_ID, obj.version_label());
    }
    if !obj.tags.is_empty() {
        put(
            &mut headers,
            headers::TAGGING_COUNT,
            &obj.tags.len().to_string(),
        );
    }
    super::object_lock_api::add_lock_headers(&mut headers, &obj);
    // Only a current version has an expiry (noncurrent ones follow other rules).
    if obj.is_latest
        && let Some(e) = lifecycle_api::expiration_header(
            &state.config,
            &bucket,
            &obj.key,
            obj.size,
            &obj.tags,
            obj.last_modified,
        )
    {
        put(&mut headers, headers::EXPIRATION, &e);
    }
    let whole = Selected {
        start: 0,
        len: obj.size,
    };
    if let Some(count) = parts_count {
        put(&mut headers, headers::MP_PARTS_COUNT, &count.to_string());
    }
    if let Some(sel) = &selected {
        put(
            &mut headers,
            http::header::CONTENT_LENGTH,
            &sel.len.to_string(),
        );
        put(
            &mut headers,
            http::header::CONTENT_RANGE,
            &sel.content_range(obj.size),
        );
    }
    let body = if head || obj.size == 0 {
        empty()
    } else {
        let sel = selected.unwrap_or(whole);
        match obj.inline_data {
            Some(data) => {
                let data = Bytes::from(data);
                let end = usize::try_from(sel.start + sel.len).map_err(S3Error::internal)?;
                let start = usize::try_from(sel.start).map_err(S3Error::internal)?;
                full(data.slice(start.min(data.len())..end.min(data.len())))
            }
            None => chunk_stream(
                state.chunks.clone(),
                &obj.chunks,
                sel,
                format!("{}/{}", bucket.name, obj.key),
            ),
        }
    };
    let mut resp = Response::new(body);
    if selected.is_some() {
        *resp.status_mut() = http::StatusCode::PARTIAL_CONTENT;
    }
    *resp.headers_mut() = headers;
    Ok(resp)
}

/// The bytes of part `number` (GetObject/HeadObject `partNumber`), and the object's part
/// count if it was uploaded in parts. An object written in one piece is its own part 1.
async fn select_part(
    state: &AppState,
    obj: &ObjectMeta,
    number: i32,
) -> S3Result<(Selected, Option<usize>)> {
    let parts = mp::object_parts(&state.pool, obj.id).await?;
    let unsatisfiable = || S3Error::new(S3ErrorCode::InvalidPartNumber);
    if parts.is_empty() {
        return match number {
            1 => Ok((
                Selected {
                    start: 0,
                    len: obj.size,
                },
                None,
            )),
            _ => Err(unsatisfiable()),
        };
    }
    let part = parts
        .iter()
        .find(|p| p.part_number == number)
        .ok_or_else(unsatisfiable)?;
    Ok((
        Selected {
            start: part.offset,
            len: part.size,
        },
        Some(parts.len()),
    ))
}

/// `304 Not Modified`: no body, the validators only.
fn not_modified(obj: &ObjectMeta) -> Response<ResponseBody> {
    let mut resp = Response::new(empty());
    *resp.status_mut() = http::StatusCode::NOT_MODIFIED;
    let h = resp.headers_mut();
    put(h, http::header::ETAG, &obj.etag);
    put(
        h,
        http::header::LAST_MODIFIED,
        &http_date(obj.last_modified),
    );
    resp
}

/// One stretch of one chunk to send.
#[derive(Debug, Clone)]
struct Segment {
    chunk: ChunkRef,
    /// First byte within the chunk.
    from: u64,
    /// End (exclusive) within the chunk.
    to: u64,
}

/// The stretches of `chunks` (in object order, each knowing its offset) that hold the
/// bytes `sel` selects: chunks outside the range are not read at all.
fn segments(chunks: &[ChunkRef], sel: Selected) -> Vec<Segment> {
    let (start, end) = (sel.start, sel.start + sel.len);
    chunks
        .iter()
        .filter(|c| c.offset < end && c.offset + c.size > start)
        .map(|c| Segment {
            chunk: c.clone(),
            from: start.saturating_sub(c.offset),
            to: (end - c.offset).min(c.size),
        })
        .collect()
}

/// Streams the selected bytes chunk by chunk, one checked block at a time: every block a
/// range touches is read whole and its CRC32C checked **before** any of it is sent
/// ([`ChunkStore::read_block`]); a copy that fails is reported for repair and the block is
/// read from another copy at the same offset, so the client never sees a bad byte. Only
/// when no copy of a block is good does the stream fail (aborting the connection, so the
/// client cannot take a truncated body for the object). `context` names the object in
/// the logs.
pub(crate) fn chunk_stream(
    store: Arc<ChunkStore>,
    chunks: &[ChunkRef],
    sel: Selected,
    context: String,
) -> ResponseBody {
    struct Cursor {
        store: Arc<ChunkStore>,
        segments: Vec<Segment>,
        index: usize,
        /// Next block to read within the current segment's chunk.
        block: Option<usize>,
        /// Copies of the current chunk that failed (not tried again for its other blocks).
        avoid: Vec<uuid::Uuid>,
        context: String,
    }
    let start = Cursor {
        store,
        segments: segments(chunks, sel),
        index: 0,
        block: None,
        avoid: Vec::new(),
        context,
    };
    let s = stream::try_unfold(start, |mut c| async move {
        let Some(seg) = c.segments.get(c.index).cloned() else {
            return Ok(None);
        };
        let blocks = &seg.chunk.blocks;
        let covering = blocks.covering(seg.from, seg.to);
        let index = *c.block.get_or_insert(covering.start);
        let (block_start, block_end) = blocks.range(index, seg.chunk.size);
        let data: Bytes = c
            .store
            .read_block(&seg.chunk, index, &mut c.avoid, &c.context)
            .await
            .map_err(std::io::Error::other)?;
        let from = (seg.from.max(block_start) - block_start) as usize;
        let to = (seg.to.min(block_end) - block_start) as usize;
        if index + 1 >= covering.end {
            c.index += 1;
            c.block = None;
            c.avoid.clear();
        } else {
            c.block = Some(index + 1);
        }
        Ok(Some((Frame::data(data.slice(from..to)), c)))
    });
    StreamBody::new(s).boxed_unsync()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(offset: u64, size: u64) -> ChunkRef {
        ChunkRef {
            chunk_id: uuid::Uuid::nil(),
            offset,
            size,
            blocks: Arc::new(crate::store::blocks::BlockHasher::new(4).finish()),
            replicas: Vec::new(),
        }
    }

    #[test]
    fn a_range_reads_only_the_chunks_it_touches() {
        let chunks = [chunk(0, 10), chunk(10, 10), chunk(20, 5)];
        let parts = |start, len| -> Vec<(u64, u64, u64)> {
            segments(&chunks, Selected { start, len })
                .iter()
                .map(|s| (s.chunk.offset, s.from, s.to))
                .collect()
        };
        assert_eq!(parts(0, 25), [(0, 0, 10), (10, 0, 10), (20, 0, 5)]);
        assert_eq!(parts(12, 3), [(10, 2, 5)]);
        assert_eq!(parts(8, 4), [(0, 8, 10), (10, 0, 2)]);
        assert_eq!(parts(10, 10), [(10, 0, 10)]);
        assert_eq!(parts(24, 1), [(20, 4, 5)]);
    }

    #[test]
    fn non_ascii_metadata_is_returned_rfc2047_encoded() {
        assert_eq!(encode_metadata_value("plain value"), "plain value");
        assert_eq!(encode_metadata_value("élève"), "=?UTF-8?B?w6lsw6h2ZQ==?=");
    }
}
