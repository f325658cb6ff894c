//! GetObject and HeadObject: headers from metadata, bytes streamed from chunk files (or the
//! inline copy), each chunk's CRC32C checked as it passes.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>

use base64::Engine;
use bytes::Bytes;
use futures_util::stream;
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use std::sync::Arc;

use super::{authorized_object, headers};
use crate::error::{S3Error, S3ErrorCode, S3Result};
use crate::http::body::{ResponseBody, empty, full};
use crate::http::service::RequestContext;
use crate::state::AppState;
use crate::store::blob::{ChunkStore, READ_BUFFER};
use crate::store::meta::{ChunkRef, ObjectMeta};

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
    }
    for (param, header) in &RESPONSE_OVERRIDES {
        if let Some(v) = ctx.query_param(param) {
            put(&mut h, header.clone(), v);
        }
    }
    h
}

/// GetObject (`head == false`) and HeadObject.
pub async fn get_object(
    state: &AppState,
    ctx: &RequestContext,
    request_headers: &HeaderMap,
    head: bool,
) -> S3Result<Response<ResponseBody>> {
    let (_bucket, obj) = authorized_object(state, ctx).await?;
    let has_overrides = RESPONSE_OVERRIDES
        .iter()
        .any(|(p, _)| ctx.query_param(p).is_some());
    if has_overrides && ctx.principal.account().is_none() {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Request specific response headers cannot be used for anonymous GET requests.",
        ));
    }
    let checksum_mode = request_headers
        .get(headers::CHECKSUM_MODE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"ENABLED"));
    let headers = object_headers(&obj, ctx, checksum_mode);
    let body = if head {
        empty()
    } else if let Some(data) = obj.inline_data {
        full(data)
    } else {
        chunk_stream(state.chunks.clone(), obj.chunks)
    };
    let mut resp = Response::new(body);
    *resp.headers_mut() = headers;
    Ok(resp)
}

/// Streams chunks in order, reading [`READ_BUFFER`] bytes at a time, and fails the stream
/// (which aborts the connection, so the client never takes corrupt bytes for the object)
/// when a chunk's CRC32C does not match.
fn chunk_stream(store: Arc<ChunkStore>, chunks: Vec<ChunkRef>) -> ResponseBody {
    struct Cursor {
        store: Arc<ChunkStore>,
        chunks: Vec<ChunkRef>,
        index: usize,
        offset: u64,
        crc: u32,
    }
    let start = Cursor {
        store,
        chunks,
        index: 0,
        offset: 0,
        crc: 0,
    };
    let s = stream::try_unfold(start, |mut c| async move {
        let Some(chunk) = c.chunks.get(c.index).cloned() else {
            return Ok(None);
        };
        let len = (chunk.size - c.offset).min(READ_BUFFER as u64) as usize;
        let data: Bytes = c
            .store
            .read(chunk.chunk_id, c.offset, len)
            .await
            .map_err(std::io::Error::other)?;
        c.crc = crc32c::crc32c_append(c.crc, &data);
        c.offset += len as u64;
        if c.offset >= chunk.size {
            if c.crc != chunk.crc32c {
                tracing::error!(chunk = %chunk.chunk_id, "chunk checksum mismatch");
                return Err(std::io::Error::other(format!(
                    "chunk {} failed its checksum",
                    chunk.chunk_id
                )));
            }
            c.index += 1;
            c.offset = 0;
            c.crc = 0;
        }
        Ok(Some((Frame::data(data), c)))
    });
    StreamBody::new(s).boxed_unsync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_metadata_is_returned_rfc2047_encoded() {
        assert_eq!(encode_metadata_value("plain value"), "plain value");
        assert_eq!(encode_metadata_value("élève"), "=?UTF-8?B?w6lsw6h2ZQ==?=");
    }
}
