//! PutObject: stream the body into chunk files (or inline), verify every digest the client
//! sent, then make the object visible in one transaction.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html>

use base64::Engine;
use bytes::{Bytes, BytesMut};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response};
use hyper::body::Incoming;
use md5::{Digest, Md5};
use std::sync::Arc;

use super::acl_headers::{AclTarget, acl_from_headers};
use super::{authorized_bucket, conditional, headers, metadata_check, object_key};
use crate::acl::Grants;
use crate::auth::checksum::{ChecksumAlgorithm, ChecksumHasher};
use crate::auth::chunked::{ChunkSigning, ChunkedDecoder};
use crate::auth::sigv4::PayloadHash;
use crate::error::{S3Error, S3ErrorCode, S3Result};
use crate::http::body::{BodySource, Framing, Payload, ResponseBody};
use crate::http::service::{RequestContext, ok_empty};
use crate::state::AppState;
use crate::store::blob::{ChunkStore, ChunkWriter};
use crate::store::buckets::Bucket;
use crate::store::objects::{self, NewBody, NewObject, ObjectHeaders, WriteCondition};

/// S3's cap on user metadata: names and values, in UTF-8 bytes.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html>
pub const MAX_USER_METADATA_BYTES: usize = 2048;

/// Refuses a body of unknown length (`MissingContentLength`): an upload needs
/// `Content-Length` or, for aws-chunked bodies, `x-amz-decoded-content-length`.
pub fn require_length(parts: &Parts) -> S3Result<()> {
    if content_length(parts)?.is_none()
        && !parts.headers.contains_key(headers::DECODED_CONTENT_LENGTH)
    {
        return Err(S3Error::new(S3ErrorCode::MissingContentLength));
    }
    Ok(())
}

/// The `Content-Length` header, if present and valid.
pub fn content_length(parts: &Parts) -> S3Result<Option<u64>> {
    header_u64(&parts.headers, http::header::CONTENT_LENGTH.as_str())
}

fn header_u64(h: &HeaderMap, name: &str) -> S3Result<Option<u64>> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| {
                S3Error::with_message(S3ErrorCode::InvalidArgument, format!("invalid {name}"))
            }),
    }
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Opens the request payload with the framing and verification the signature asked for.
pub fn open_payload(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
    max_len: u64,
) -> S3Result<Payload> {
    let h = &parts.headers;
    let content_length = content_length(parts)?;
    let decoded_length = header_u64(h, headers::DECODED_CONTENT_LENGTH)?;
    let idle = state.config.body_idle_timeout;
    let Some(v4) = &ctx.sigv4 else {
        return Ok(Payload::new(
            body,
            Framing::Plain,
            None,
            content_length,
            max_len,
            idle,
        ));
    };
    let chunked = |body: Incoming, signing: ChunkSigning, trailer: bool| -> S3Result<Payload> {
        let declared = decoded_length.ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::MissingContentLength,
                "x-amz-decoded-content-length is required for aws-chunked uploads",
            )
        })?;
        let decoder = ChunkedDecoder::new(signing, trailer);
        Ok(Payload::new(
            body,
            Framing::AwsChunked(Box::new(decoder)),
            None,
            Some(declared),
            max_len,
            idle,
        ))
    };
    let signed = || ChunkSigning::Signed {
        signing_key: v4.signing_key,
        seed_signature: v4.seed_signature.clone(),
        amz_date: v4.amz_date.clone(),
        scope: v4.scope.clone(),
    };
    match &v4.payload_hash {
        PayloadHash::Sha256(hash) => Ok(Payload::new(
            body,
            Framing::Plain,
            Some(hash.clone()),
            content_length,
            max_len,
            idle,
        )),
        PayloadHash::Unsigned => Ok(Payload::new(
            body,
            Framing::Plain,
            None,
            content_length,
            max_len,
            idle,
        )),
        PayloadHash::StreamingSigned => chunked(body, signed(), false),
        PayloadHash::StreamingSignedTrailer => chunked(body, signed(), true),
        PayloadHash::StreamingUnsignedTrailer => chunked(body, ChunkSigning::Unsigned, true),
    }
}

/// Reads `x-amz-meta-*` headers, enforcing S3's size cap. Values that arrive RFC 2047
/// encoded (`=?UTF-8?B?...?=`) are stored decoded, as S3 does.
pub fn parse_user_metadata(h: &HeaderMap) -> S3Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut size = 0usize;
    for (name, value) in h {
        let Some(short) = name.as_str().strip_prefix(headers::META_PREFIX) else {
            continue;
        };
        let raw = String::from_utf8_lossy(value.as_bytes());
        let value = decode_rfc2047(raw.trim()).unwrap_or_else(|| raw.trim().to_string());
        size += short.len() + value.len();
        match out.iter_mut().find(|(k, _)| k == short) {
            // Repeated headers are joined with commas, as HTTP folds them.
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => out.push((short.to_string(), value)),
        }
    }
    if size > MAX_USER_METADATA_BYTES {
        return Err(S3Error::new(S3ErrorCode::MetadataTooLarge)
            .extra("Size", size.to_string())
            .extra("MaxSizeAllowed", MAX_USER_METADATA_BYTES.to_string()));
    }
    Ok(out)
}

/// Decodes a single RFC 2047 encoded word in UTF-8 (`B` or `Q` encoding).
fn decode_rfc2047(s: &str) -> Option<String> {
    let inner = s.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let charset = parts.next()?;
    let encoding = parts.next()?;
    let text = parts.next()?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?,
        "Q" | "q" => {
            let mut out = Vec::new();
            let b = text.as_bytes();
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'_' => out.push(b' '),
                    b'=' if i + 2 < b.len() => {
                        out.push(
                            u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).ok()?, 16)
                                .ok()?,
                        );
                        i += 2;
                    }
                    c => out.push(c),
                }
                i += 1;
            }
            out
        }
        _ => return None,
    };
    String::from_utf8(bytes).ok()
}

/// The standard headers S3 stores with an object.
pub fn parse_object_headers(h: &HeaderMap) -> ObjectHeaders {
    let get = |name: http::header::HeaderName| header_str(h, name.as_str()).map(str::to_string);
    // aws-chunked is a transfer detail, never part of the stored Content-Encoding.
    let content_encoding = header_str(h, "content-encoding").and_then(|v| {
        let kept: Vec<&str> = v
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case(headers::AWS_CHUNKED))
            .collect();
        (!kept.is_empty()).then(|| kept.join(","))
    });
    ObjectHeaders {
        content_type: get(http::header::CONTENT_TYPE),
        content_encoding,
        content_disposition: get(http::header::CONTENT_DISPOSITION),
        content_language: get(http::header::CONTENT_LANGUAGE),
        cache_control: get(http::header::CACHE_CONTROL),
        expires: get(http::header::EXPIRES),
    }
}

/// `Content-MD5`, decoded.
fn parse_content_md5(h: &HeaderMap) -> S3Result<Option<[u8; 16]>> {
    let Some(v) = h.get(headers::CONTENT_MD5) else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD
        .decode(v.as_bytes())
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .map(Some)
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidDigest))
}

/// Checks a buffered body (XML requests) against `Content-MD5`, when given.
pub fn verify_content_md5(h: &HeaderMap, data: &[u8]) -> S3Result<()> {
    match parse_content_md5(h)? {
        Some(expected) if <[u8; 16]>::from(Md5::digest(data)) != expected => {
            Err(S3Error::new(S3ErrorCode::BadDigest))
        }
        _ => Ok(()),
    }
}

/// The additional checksum the client asked for: its algorithm and, when sent as a header,
/// the expected value (otherwise it arrives as a trailer).
fn requested_checksum(h: &HeaderMap) -> S3Result<Option<(ChecksumAlgorithm, Option<String>)>> {
    for (name, value) in h {
        if let Some(alg) = ChecksumAlgorithm::from_header_name(name.as_str()) {
            let v = value
                .to_str()
                .map_err(|_| S3Error::new(S3ErrorCode::InvalidArgument))?;
            return Ok(Some((alg, Some(v.trim().to_string()))));
        }
    }
    if let Some(trailer) = header_str(h, headers::TRAILER) {
        let name = trailer.trim().to_ascii_lowercase();
        let alg = ChecksumAlgorithm::from_header_name(&name).ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!("unsupported trailer {name}"),
            )
        })?;
        return Ok(Some((alg, None)));
    }
    Ok(None)
}

/// Collects small bodies in memory and spills larger ones to chunk files.
enum Sink {
    Inline(BytesMut, usize, Arc<ChunkStore>),
    Chunks(Box<ChunkWriter>),
}

impl Sink {
    fn new(store: &Arc<ChunkStore>, inline_threshold: usize) -> Self {
        Sink::Inline(BytesMut::new(), inline_threshold, store.clone())
    }

    async fn write(&mut self, data: Bytes) -> S3Result<()> {
        if let Sink::Inline(buf, threshold, store) = self {
            if buf.len() + data.len() <= *threshold {
                buf.extend_from_slice(&data);
                return Ok(());
            }
            // Too big to keep inline: move what we have to chunk files.
            let head = std::mem::take(buf).freeze();
            let writer = store.writer();
            *self = Sink::Chunks(Box::new(writer));
            if let Sink::Chunks(w) = self {
                w.write(head).await?;
            }
        }
        if let Sink::Chunks(w) = self {
            w.write(data).await?;
        }
        Ok(())
    }

    async fn finish(self) -> S3Result<NewBody> {
        match self {
            Sink::Inline(buf, _, _) => Ok(NewBody::Inline(buf.to_vec())),
            Sink::Chunks(w) => Ok(NewBody::Chunks(w.finish().await?)),
        }
    }

    async fn abort(self) {
        if let Sink::Chunks(w) = self {
            w.abort().await;
        }
    }
}

/// What a finished upload produced.
pub struct Received {
    /// Where the bytes are.
    pub body: NewBody,
    /// Total size.
    pub size: u64,
    /// MD5 of the bytes.
    pub md5: [u8; 16],
    /// Verified additional checksum (algorithm name, base64 value).
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

impl Received {
    /// The ETag: the quoted hex MD5 of the bytes.
    pub fn etag(&self) -> String {
        format!("\"{}\"", hex::encode(self.md5))
    }
}

/// Streams a payload into storage and verifies Content-MD5 and additional checksums.
/// On any failure nothing is left behind.
/// Bodies up to `inline_threshold` bytes stay in memory ([`NewBody::Inline`]); parts of
/// multipart uploads pass 0, so theirs always go to chunk files.
pub async fn receive(
    state: &AppState,
    h: &HeaderMap,
    mut payload: impl BodySource,
    inline_threshold: usize,
) -> S3Result<Received> {
    let content_md5 = parse_content_md5(h)?;
    let wanted = requested_checksum(h)?;
    let mut sink = Sink::new(&state.chunks, inline_threshold);
    let mut md5 = Md5::new();
    let mut hasher = wanted.as_ref().map(|(alg, _)| ChecksumHasher::new(*alg));
    let mut size = 0u64;
    let streamed: S3Result<()> = async {
        while let Some(data) = payload.next_piece().await? {
            md5.update(&data);
            if let Some(hs) = &mut hasher {
                hs.update(&data);
            }
            size += data.len() as u64;
            sink.write(data).await?;
        }
        Ok(())
    }
    .await;
    let verified = streamed.and_then(|()| {
        let md5: [u8; 16] = md5.finalize().into();
        if content_md5.is_some_and(|expected| expected != md5) {
            return Err(S3Error::new(S3ErrorCode::BadDigest));
        }
        let checksum = match (wanted, hasher) {
            (Some((alg, header_value)), Some(hs)) => {
                let actual = hs.finalize_base64();
                let expected = header_value.or_else(|| {
                    payload
                        .trailing()
                        .iter()
                        .find(|(k, _)| k == alg.header_name())
                        .map(|(_, v)| v.trim().to_string())
                });
                let Some(expected) = expected else {
                    return Err(S3Error::with_message(
                        S3ErrorCode::InvalidRequest,
                        format!("missing trailer {}", alg.header_name()),
                    ));
                };
                if expected != actual {
                    return Err(S3Error::with_message(
                        S3ErrorCode::BadDigest,
                        format!(
                            "The {} you specified did not match the calculated checksum.",
                            alg.header_name()
                        ),
                    ));
                }
                Some((alg, actual))
            }
            _ => None,
        };
        Ok((md5, checksum))
    });
    match verified {
        Ok((md5, checksum)) => Ok(Received {
            body: sink.finish().await?,
            size,
            md5,
            checksum,
        }),
        Err(e) => {
            sink.abort().await;
            Err(e)
        }
    }
}

/// A new object's name, owner and metadata: everything a [`NewObject`] needs but its
/// bytes, which [`store_upload`] receives.
pub struct Upload<'a> {
    /// Target bucket.
    pub bucket_id: i64,
    /// Key.
    pub key: &'a str,
    /// Owner account.
    pub owner_id: i64,
    /// Standard headers.
    pub headers: &'a ObjectHeaders,
    /// User metadata.
    pub user_metadata: &'a [(String, String)],
    /// The object's ACL.
    pub acl: &'a Grants,
    /// Condition checked again when committing.
    pub condition: WriteCondition,
}

/// What a stored upload answers with.
pub struct Stored {
    /// The quoted ETag.
    pub etag: String,
    /// The verified additional checksum, if the client sent one.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

/// Receives `source` (see [`receive`]) and commits it as `upload`: the one path of
/// PutObject and POST Object from the body to the committed row.
pub async fn store_upload(
    state: &AppState,
    h: &HeaderMap,
    source: impl BodySource,
    upload: Upload<'_>,
) -> S3Result<Stored> {
    let received = receive(state, h, source, state.config.inline_threshold).await?;
    let etag = received.etag();
    let checksum = received
        .checksum
        .as_ref()
        .map(|(alg, v)| (alg.as_str(), v.as_str()));
    commit(
        state,
        NewObject {
            bucket_id: upload.bucket_id,
            key: upload.key,
            size: received.size,
            etag: &etag,
            owner_id: upload.owner_id,
            headers: upload.headers,
            user_metadata: upload.user_metadata,
            checksum,
            acl: upload.acl,
            body: received.body,
            condition: upload.condition,
        },
    )
    .await?;
    Ok(Stored {
        etag,
        checksum: received.checksum,
    })
}

/// Commits an object whose bytes were received. On failure, the chunk files the upload
/// still owns are removed: if the commit happened after all (a lost `COMMIT` answer),
/// it took their intents and nothing is removed (see `store::blob::writer`).
pub async fn commit(state: &AppState, obj: NewObject<'_>) -> S3Result<objects::Committed> {
    let result = objects::put_object(&state.pool, &obj).await;
    if let NewBody::Chunks(written) = obj.body {
        match &result {
            Ok(_) => written.committed(),
            Err(_) => written.discard().await,
        }
    }
    Ok(result?)
}

/// The owner of an object the request creates in `bucket` (the requester; the bucket
/// owner for an anonymous writer) and its ACL: from `x-amz-acl` or the grant headers,
/// private by default.
pub async fn new_object_owner_and_acl(
    state: &AppState,
    ctx: &RequestContext,
    bucket: &Bucket,
    h: &HeaderMap,
) -> S3Result<(i64, Grants)> {
    let (owner_id, owner_canonical_id) = match ctx.principal.account() {
        Some(a) => (a.id, a.canonical_id.as_str()),
        None => (bucket.owner_id, bucket.owner_canonical_id.as_str()),
    };
    let acl = acl_from_headers(
        state,
        h,
        owner_canonical_id,
        AclTarget::Object {
            bucket_owner: &bucket.owner_canonical_id,
        },
    )
    .await?
    .unwrap_or_else(|| Grants::private(owner_canonical_id));
    Ok((owner_id, acl))
}

/// PutObject.
pub async fn put_object(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let key = object_key(ctx)?;
    let h = &parts.headers;
    require_length(parts)?;
    let user_metadata = parse_user_metadata(h)?;
    let object_headers = parse_object_headers(h);
    // Checked before any of the body is read.
    metadata_check::check(state, ctx, &bucket, key, &object_headers, &user_metadata)?;
    let (owner_id, acl) = new_object_owner_and_acl(state, ctx, &bucket, h).await?;
    let condition = conditional::write_condition(h)?;
    if condition != WriteCondition::None {
        // Checked again when the object is committed; this only spares streaming a body
        // that could never be stored.
        let current = objects::object_etag(&state.pool, bucket.id, key).await?;
        objects::check_write_condition(&condition, current.as_deref())?;
    }
    let payload = open_payload(state, ctx, parts, body, state.config.max_object_size)?;
    let upload = Upload {
        bucket_id: bucket.id,
        key,
        owner_id,
        headers: &object_headers,
        user_metadata: &user_metadata,
        acl: &acl,
        condition,
    };
    let stored = store_upload(state, h, payload, upload).await?;
    let mut resp = ok_empty();
    if let Ok(v) = HeaderValue::from_str(&stored.etag) {
        resp.headers_mut().insert(http::header::ETAG, v);
    }
    if let Some((alg, value)) = &stored.checksum
        && let Ok(v) = HeaderValue::from_str(value)
    {
        resp.headers_mut().insert(alg.header_name(), v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2047_words_decode() {
        assert_eq!(
            decode_rfc2047("=?UTF-8?B?w6lsw6h2ZQ==?=").as_deref(),
            Some("élève")
        );
        assert_eq!(
            decode_rfc2047("=?utf-8?Q?caf=C3=A9_au_lait?=").as_deref(),
            Some("café au lait")
        );
        assert_eq!(decode_rfc2047("plain"), None);
    }

    #[test]
    fn metadata_over_two_kilobytes_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-meta-big",
            HeaderValue::from_str(&"v".repeat(2100)).unwrap(),
        );
        let err = parse_user_metadata(&h).unwrap_err();
        assert_eq!(err.code(), S3ErrorCode::MetadataTooLarge);
    }

    #[test]
    fn aws_chunked_is_removed_from_content_encoding() {
        let mut h = HeaderMap::new();
        h.insert(
            "content-encoding",
            HeaderValue::from_static("aws-chunked,gzip"),
        );
        assert_eq!(
            parse_object_headers(&h).content_encoding.as_deref(),
            Some("gzip")
        );
        h.insert("content-encoding", HeaderValue::from_static("aws-chunked"));
        assert_eq!(parse_object_headers(&h).content_encoding, None);
    }
}
