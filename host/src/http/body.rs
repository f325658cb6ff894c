//! Request and response bodies.
//!
//! [`Payload`] turns a hyper request body into the object's bytes, whatever the framing:
//! plain (`Content-Length`), or `aws-chunked` with per-chunk signatures and trailers. It
//! verifies, as the bytes stream through, everything the client vouched for in headers
//! (`x-amz-content-sha256`, chunk signatures, the declared length); the handler verifies
//! digests of the object itself (Content-MD5, x-amz-checksum-*) since it hashes anyway.
//! Nothing is buffered beyond one network frame.

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::time::Duration;

use crate::auth::chunked::ChunkedDecoder;
use crate::error::{S3Error, S3ErrorCode, S3Result};

/// The response body type: full buffers or streams, boxed once.
pub type ResponseBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// A response body holding `data`.
pub fn full(data: impl Into<Bytes>) -> ResponseBody {
    http_body_util::Full::new(data.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty response body.
pub fn empty() -> ResponseBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed_unsync()
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
                    crate::metrics::s3::received(data.len());
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
