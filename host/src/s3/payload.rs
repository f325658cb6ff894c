//! A request's payload as S3 defines it: declared lengths, framing (plain or
//! `aws-chunked` with per-chunk signatures and trailers), the signed body hash,
//! `Content-MD5`, and the `x-amz-checksum-*` a client asks for.
//!
//! [`Payload`] turns a hyper request body into the object's bytes, whatever the framing.
//! It verifies, as the bytes stream through, everything the client vouched for in headers
//! (`x-amz-content-sha256`, chunk signatures, the declared length); the handler verifies
//! digests of the object itself (Content-MD5, x-amz-checksum-*) since it hashes anyway.
//! Nothing is buffered beyond one network frame.

use base64::Engine;
use bytes::Bytes;
use http::HeaderMap;
use http::request::Parts;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::time::Duration;

use super::context::RequestContext;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::headers;
use crate::auth::checksum::ChecksumAlgorithm;
use crate::auth::chunked::{ChunkSigning, ChunkedDecoder};
use crate::auth::sigv4::PayloadHash;
use crate::state::AppState;

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

pub(crate) fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
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

/// `Content-MD5`, decoded.
pub(crate) fn parse_content_md5(h: &HeaderMap) -> S3Result<Option<[u8; 16]>> {
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
pub(crate) fn requested_checksum(
    h: &HeaderMap,
) -> S3Result<Option<(ChecksumAlgorithm, Option<String>)>> {
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

/// How the body is framed on the wire.
pub enum Framing {
    /// The bytes are the payload.
    Plain,
    /// `aws-chunked`: decoded (and chunk signatures checked) by this decoder.
    AwsChunked(Box<ChunkedDecoder>),
}

/// Where an object's bytes come from: a request payload ([`Payload`]) or the file of a
/// browser form (POST Object).
pub trait BodySource {
    /// The next piece, or `None` at the end (after every check of the source passed).
    fn next_piece(&mut self) -> impl std::future::Future<Output = S3Result<Option<Bytes>>> + Send;

    /// Trailing headers (lower-case names), once the end was reached.
    fn trailing(&self) -> &[(String, String)] {
        &[]
    }
}

impl BodySource for Payload {
    fn next_piece(&mut self) -> impl std::future::Future<Output = S3Result<Option<Bytes>>> + Send {
        self.next()
    }

    fn trailing(&self) -> &[(String, String)] {
        self.trailers()
    }
}

/// A streaming reader of a request's payload.
pub struct Payload {
    body: Incoming,
    framing: Framing,
    pending: VecDeque<Bytes>,
    /// Expected SHA-256 (hex) of the payload, when the client signed it.
    expected_sha256: Option<(Sha256, String)>,
    /// The payload length the client declared.
    declared_len: Option<u64>,
    received: u64,
    max_len: u64,
    idle_timeout: Duration,
    finished: bool,
    trailers: Vec<(String, String)>,
}

impl Payload {
    /// Wraps a body. `declared_len` is the decoded length (`Content-Length`, or
    /// `x-amz-decoded-content-length` for aws-chunked bodies).
    pub fn new(
        body: Incoming,
        framing: Framing,
        expected_sha256: Option<String>,
        declared_len: Option<u64>,
        max_len: u64,
        idle_timeout: Duration,
    ) -> Self {
        Payload {
            body,
            framing,
            pending: VecDeque::new(),
            expected_sha256: expected_sha256.map(|h| (Sha256::new(), h)),
            declared_len,
            received: 0,
            max_len,
            idle_timeout,
            finished: false,
            trailers: Vec::new(),
        }
    }

    /// The declared payload length, if any.
    pub fn declared_len(&self) -> Option<u64> {
        self.declared_len
    }

    /// The next piece of payload, or `None` at the end (after every check passed).
    pub async fn next(&mut self) -> S3Result<Option<Bytes>> {
        loop {
            if let Some(data) = self.pending.pop_front() {
                self.account(&data)?;
                return Ok(Some(data));
            }
            if self.finished {
                return Ok(None);
            }
            let frame = tokio::time::timeout(self.idle_timeout, self.body.frame())
                .await
                .map_err(|_| S3Error::new(S3ErrorCode::RequestTimeout))?;
            match frame {
                None => {
                    self.finish()?;
                }
                Some(Err(e)) => {
                    return Err(S3Error::new(S3ErrorCode::IncompleteBody).source(e));
                }
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // HTTP trailers are not used by S3 clients
                    };
                    crate::s3::metrics::received(data.len());
                    match &mut self.framing {
                        Framing::Plain => self.pending.push_back(data),
                        Framing::AwsChunked(decoder) => {
                            let mut out = Vec::new();
                            decoder.push(data, &mut out).map_err(S3Error::from)?;
                            self.pending
                                .extend(out.into_iter().filter(|b| !b.is_empty()));
                        }
                    }
                }
            }
        }
    }

    fn account(&mut self, data: &Bytes) -> S3Result<()> {
        self.received += data.len() as u64;
        if self.received > self.max_len {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
        }
        if let Some(declared) = self.declared_len
            && self.received > declared
        {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "The payload is longer than the declared length",
            ));
        }
        if let Some((hasher, _)) = &mut self.expected_sha256 {
            hasher.update(data);
        }
        Ok(())
    }

    fn finish(&mut self) -> S3Result<()> {
        self.finished = true;
        if let Framing::AwsChunked(decoder) = std::mem::replace(&mut self.framing, Framing::Plain) {
            self.trailers = decoder.finish().map_err(S3Error::from)?;
        }
        if let Some(declared) = self.declared_len
            && self.received != declared
        {
            return Err(S3Error::new(S3ErrorCode::IncompleteBody));
        }
        if let Some((hasher, expected)) = self.expected_sha256.take() {
            let actual = hex::encode(hasher.finalize());
            if !actual.eq_ignore_ascii_case(&expected) {
                return Err(S3Error::new(S3ErrorCode::XAmzContentSHA256Mismatch)
                    .extra("ClientComputedContentSHA256", expected)
                    .extra("S3ComputedContentSHA256", actual));
            }
        }
        Ok(())
    }

    /// Trailing headers of an aws-chunked body (lower-case names); valid after the end.
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// Reads the whole payload into memory, refusing more than `cap` bytes (for XML bodies).
    pub async fn read_to_end(&mut self, cap: usize, too_large: S3ErrorCode) -> S3Result<Bytes> {
        if self.declared_len.is_some_and(|l| l > cap as u64) {
            return Err(S3Error::new(too_large));
        }
        let mut buf = bytes::BytesMut::new();
        while let Some(data) = self.next().await? {
            if buf.len() + data.len() > cap {
                return Err(S3Error::new(too_large));
            }
            buf.extend_from_slice(&data);
        }
        Ok(buf.freeze())
    }
}
