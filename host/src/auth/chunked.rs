//! A push-based decoder for `Content-Encoding: aws-chunked` request bodies:
//! framing, per-chunk SigV4 signatures, and trailers (with their signature).
//!
//! Wire format (see <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html>, and for
//! the unsigned variant the trailing checksums of
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>):
//!
//! ```text
//! hex-size[;chunk-signature=64hex]\r\n <data> \r\n     (repeated)
//! 0[;chunk-signature=64hex]\r\n                        (final chunk)
//! name:value\r\n ...                                   (trailers, trailer variants only)
//! [x-amz-trailer-signature:64hex\r\n]                  (signed trailer variant)
//! \r\n
//! ```
//!
//! The decoder buffers at most one header or trailer line ([`MAX_LINE_LEN`])
//! and passes chunk data through as slices of the input, hashing it as it goes.
//! Data is handed out before its chunk signature is checked (the signature
//! covers the whole chunk): nothing decoded may be committed before
//! [`ChunkedDecoder::finish`] succeeds.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::Error;
use super::checksum::{ChecksumAlgorithm, ChecksumHasher};
use super::sigv4::{EMPTY_SHA256, PayloadHash, VerifiedV4, hmac_sha256};

/// The longest chunk header or trailer line accepted, without its CRLF.
pub const MAX_LINE_LEN: usize = 4096;
/// The most trailer lines accepted (the signature included).
pub const MAX_TRAILERS: usize = 16;
/// The trailer that carries the trailer signature.
pub const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";
/// The chunk extension that carries a chunk's signature.
pub const CHUNK_SIGNATURE: &str = "chunk-signature";
/// The first line of a chunk's string to sign.
const CHUNK_ALGORITHM: &str = "AWS4-HMAC-SHA256-PAYLOAD";
/// The first line of the trailer's string to sign.
const TRAILER_ALGORITHM: &str = "AWS4-HMAC-SHA256-TRAILER";

/// Whether chunks (and trailers) carry signatures, and the keys to check them.
#[derive(Clone)]
pub enum ChunkSigning {
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`: every chunk is signed,
    /// chained from the request's (seed) signature.
    Signed {
        /// The SigV4 signing key of the request.
        signing_key: [u8; 32],
        /// The request's own signature.
        seed_signature: String,
        /// The request time, `20130524T000000Z`.
        amz_date: String,
        /// The credential scope, `date/region/s3/aws4_request`.
        scope: String,
    },
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: plain chunks.
    Unsigned,
}

impl std::fmt::Debug for ChunkSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkSigning::Signed { scope, .. } => f
                .debug_struct("Signed")
                .field("scope", scope)
                .finish_non_exhaustive(),
            ChunkSigning::Unsigned => f.write_str("Unsigned"),
        }
    }
}

impl ChunkSigning {
    /// The chunk signing of a verified SigV4 request (signed unless the payload
    /// is `STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
    pub fn from_verified(verified: &VerifiedV4) -> Self {
        if verified.payload_hash == PayloadHash::StreamingUnsignedTrailer {
            return ChunkSigning::Unsigned;
        }
        ChunkSigning::Signed {
            signing_key: verified.signing_key,
            seed_signature: verified.seed_signature.clone(),
            amz_date: verified.amz_date.clone(),
            scope: verified.scope.clone(),
        }
    }
}

/// The running signature chain of a signed stream.
struct SignatureChain {
    signing_key: [u8; 32],
    amz_date: String,
    scope: String,
    /// The signature of the previous chunk (the seed at first).
    previous: String,
    /// The signature the current chunk's header announced.
    announced: String,
    /// The SHA-256 of the current chunk's data so far.
    data: Sha256,
}

impl SignatureChain {
    fn start_chunk(&mut self, announced: String) {
        self.announced = announced;
        self.data = Sha256::new();
    }

    /// Checks the announced signature against the data hashed since
    /// [`SignatureChain::start_chunk`], and moves the chain on.
    fn end_chunk(&mut self) -> Result<(), Error> {
        let data_hash = hex::encode(std::mem::take(&mut self.data).finalize());
        let string_to_sign = format!(
            "{CHUNK_ALGORITHM}\n{}\n{}\n{}\n{EMPTY_SHA256}\n{data_hash}",
            self.amz_date, self.scope, self.previous
        );
        let expected = hex::encode(hmac_sha256(&self.signing_key, string_to_sign.as_bytes()));
        if !super::constant_time_eq(expected.as_bytes(), self.announced.as_bytes()) {
            return Err(Error::ChunkSignatureMismatch);
        }
        self.previous = std::mem::take(&mut self.announced);
        Ok(())
    }

    /// Checks `x-amz-trailer-signature` against the canonical trailers' SHA-256.
    fn check_trailer(&self, canonical_trailers_hash: &str, announced: &str) -> Result<(), Error> {
        let string_to_sign = format!(
            "{TRAILER_ALGORITHM}\n{}\n{}\n{}\n{canonical_trailers_hash}",
            self.amz_date, self.scope, self.previous
        );
        let expected = hex::encode(hmac_sha256(&self.signing_key, string_to_sign.as_bytes()));
        if !super::constant_time_eq(expected.as_bytes(), announced.as_bytes()) {
            return Err(Error::TrailerSignatureMismatch);
        }
        Ok(())
    }
}

/// Where the decoder is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a `hex-size[;ext]` line.
    ChunkHeader,
    /// Passing through chunk data.
    ChunkData { remaining: u64 },
    /// Expecting the CRLF after chunk data; `seen_cr` once the CR is in.
    ChunkDataEnd { seen_cr: bool },
    /// After the final chunk: reading trailer lines up to the empty line.
    Trailers,
    /// The empty line after the trailers was read.
    Done,
    /// An earlier call failed; the stream is unusable.
    Failed,
}

/// Decodes an `aws-chunked` body pushed to it in pieces split anywhere.
pub struct ChunkedDecoder {
    state: State,
    /// The current header or trailer line, without its CRLF.
    line: Vec<u8>,
    chain: Option<SignatureChain>,
    expect_trailer: bool,
    decoded_len: u64,
    trailers: Vec<(String, String)>,
    /// SHA-256 of the trailers as `name:value\n`, for the trailer signature.
    trailer_hash: Sha256,
    trailer_signature: Option<String>,
    checksum: Option<ChecksumHasher>,
}

impl std::fmt::Debug for ChunkedDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkedDecoder")
            .field("state", &self.state)
            .field("signed", &self.chain.is_some())
            .field("expect_trailer", &self.expect_trailer)
            .field("decoded_len", &self.decoded_len)
            .finish_non_exhaustive()
    }
}

impl ChunkedDecoder {
    /// A decoder for a stream signed (or not) as `signing` says; `expect_trailer`
    /// for the `...-TRAILER` payload variants, which may carry trailers (and, when
    /// signed, must end them with `x-amz-trailer-signature`).
    pub fn new(signing: ChunkSigning, expect_trailer: bool) -> Self {
        let chain = match signing {
            ChunkSigning::Signed {
                signing_key,
                seed_signature,
                amz_date,
                scope,
            } => Some(SignatureChain {
                signing_key,
                amz_date,
                scope,
                previous: seed_signature,
                announced: String::new(),
                data: Sha256::new(),
            }),
            ChunkSigning::Unsigned => None,
        };
        Self {
            state: State::ChunkHeader,
            line: Vec::new(),
            chain,
            expect_trailer,
            decoded_len: 0,
            trailers: Vec::new(),
            trailer_hash: Sha256::new(),
            trailer_signature: None,
            checksum: None,
        }
    }

    /// The decoder for a verified request's body, or `None` when its payload is
    /// not `aws-chunked` (a plain SHA-256 or `UNSIGNED-PAYLOAD`).
    pub fn for_request(verified: &VerifiedV4) -> Option<Self> {
        verified.payload_hash.is_streaming().then(|| {
            Self::new(
                ChunkSigning::from_verified(verified),
                verified.payload_hash.has_trailer(),
            )
        })
    }

    /// Also computes `algorithm` over the decoded data; [`ChunkedDecoder::finish`]
    /// then requires its trailer (`x-amz-checksum-...`) and checks the value.
    pub fn with_checksum(mut self, algorithm: ChecksumAlgorithm) -> Self {
        self.checksum = Some(ChecksumHasher::new(algorithm));
        self
    }

    /// How many payload bytes have been decoded so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded_len
    }

    /// Decodes the next piece of the body, appending payload bytes to `out`
    /// (as slices of `input`, never copied). After an error the decoder refuses
    /// all further input.
    pub fn push(&mut self, input: Bytes, out: &mut Vec<Bytes>) -> Result<(), Error> {
        if self.state == State::Failed {
            return Err(Error::InvalidChunk("the stream already failed".into()));
        }
        let result = self.push_all(&input, out);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn push_all(&mut self, input: &Bytes, out: &mut Vec<Bytes>) -> Result<(), Error> {
        let mut pos = 0;
        while pos < input.len() {
            pos = match self.state {
                State::ChunkHeader => self.read_chunk_header(input, pos)?,
                State::ChunkData { remaining } => {
                    self.read_chunk_data(input, pos, remaining, out)?
                }
                State::ChunkDataEnd { seen_cr } => {
                    self.read_data_crlf(input[pos], seen_cr).map(|()| pos + 1)?
                }
                State::Trailers => self.read_trailer(input, pos)?,
                State::Done => Self::read_after_end(input, pos)?,
                State::Failed => {
                    return Err(Error::InvalidChunk("the stream already failed".into()));
                }
            };
        }
        Ok(())
    }

    /// Appends input to the current line up to and including `\n`; returns the
    /// position after what it consumed and whether the line is complete.
    fn take_line_bytes(&mut self, input: &[u8], pos: usize) -> Result<(usize, bool), Error> {
        let rest = &input[pos..];
        let (piece, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(newline) => (&rest[..=newline], true),
            None => (rest, false),
        };
        if self.line.len() + piece.len() > MAX_LINE_LEN + 2 {
            return Err(Error::InvalidChunk("line too long".into()));
        }
        self.line.extend_from_slice(piece);
        Ok((pos + piece.len(), complete))
    }

    /// The completed line without its CRLF; a bare LF is a framing error.
    fn finish_line(&mut self) -> Result<Vec<u8>, Error> {
        let mut line = std::mem::take(&mut self.line);
        if !line.ends_with(b"\r\n") {
            return Err(Error::InvalidChunk("line not terminated by CRLF".into()));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    fn read_chunk_header(&mut self, input: &[u8], pos: usize) -> Result<usize, Error> {
        let (next, complete) = self.take_line_bytes(input, pos)?;
        if complete {
            let line = self.finish_line()?;
            self.on_chunk_header(&line)?;
        }
        Ok(next)
    }

    fn on_chunk_header(&mut self, line: &[u8]) -> Result<(), Error> {
        let header = ChunkHeader::parse(line)?;
        if let Some(chain) = &mut self.chain {
            let signature = header
                .signature
                .ok_or_else(|| Error::InvalidChunk("missing chunk-signature".into()))?;
            chain.start_chunk(signature);
        }
        if header.size > 0 {
            self.state = State::ChunkData {
                remaining: header.size,
            };
            return Ok(());
        }
        if let Some(chain) = &mut self.chain {
            chain.end_chunk()?;
        }
        self.state = State::Trailers;
        Ok(())
    }

    fn read_chunk_data(
        &mut self,
        input: &Bytes,
        pos: usize,
        remaining: u64,
        out: &mut Vec<Bytes>,
    ) -> Result<usize, Error> {
        let available = input.len() - pos;
        let take = usize::try_from(remaining).map_or(available, |r| r.min(available));
        let end = pos + take;
        let piece = input.slice(pos..end);
        if let Some(chain) = &mut self.chain {
            chain.data.update(&piece);
        }
        if let Some(checksum) = &mut self.checksum {
            checksum.update(&piece);
        }
        self.decoded_len += take as u64;
        out.push(piece);
        let remaining = remaining - take as u64;
        if remaining > 0 {
            self.state = State::ChunkData { remaining };
            return Ok(end);
        }
        if let Some(chain) = &mut self.chain {
            chain.end_chunk()?;
        }
        self.state = State::ChunkDataEnd { seen_cr: false };
        Ok(end)
    }

    fn read_data_crlf(&mut self, byte: u8, seen_cr: bool) -> Result<(), Error> {
        self.state = match (seen_cr, byte) {
            (false, b'\r') => State::ChunkDataEnd { seen_cr: true },
            (true, b'\n') => State::ChunkHeader,
            _ => {
                return Err(Error::InvalidChunk(
                    "chunk data not followed by CRLF".into(),
                ));
            }
        };
        Ok(())
    }

    fn read_trailer(&mut self, input: &[u8], pos: usize) -> Result<usize, Error> {
        let (next, complete) = self.take_line_bytes(input, pos)?;
        if complete {
            let line = self.finish_line()?;
            if line.is_empty() {
                self.end_of_trailers()?;
            } else {
                self.on_trailer_line(&line)?;
            }
        }
        Ok(next)
    }

    fn on_trailer_line(&mut self, line: &[u8]) -> Result<(), Error> {
        if !self.expect_trailer {
            return Err(Error::InvalidChunk(
                "trailer in a stream without trailers".into(),
            ));
        }
        if self.trailer_signature.is_some() {
            return Err(Error::InvalidChunk(
                "trailer after the trailer signature".into(),
            ));
        }
        if self.trailers.len() >= MAX_TRAILERS {
            return Err(Error::InvalidChunk("too many trailers".into()));
        }
        let (name, value) = parse_trailer_line(line)?;
        if name == TRAILER_SIGNATURE {
            if self.chain.is_none() {
                return Err(Error::InvalidChunk(
                    "trailer signature in an unsigned stream".into(),
                ));
            }
            self.trailer_signature = Some(value);
            return Ok(());
        }
        if self.trailers.iter().any(|(seen, _)| *seen == name) {
            return Err(Error::InvalidChunk("repeated trailer".into()));
        }
        self.trailer_hash
            .update(format!("{name}:{value}\n").as_bytes());
        self.trailers.push((name, value));
        Ok(())
    }

    fn end_of_trailers(&mut self) -> Result<(), Error> {
        if let (Some(chain), true) = (&self.chain, self.expect_trailer) {
            let announced = self
                .trailer_signature
                .as_deref()
                .ok_or_else(|| Error::MissingTrailer(TRAILER_SIGNATURE.into()))?;
            let hash = hex::encode(std::mem::take(&mut self.trailer_hash).finalize());
            chain.check_trailer(&hash, announced)?;
        }
        self.state = State::Done;
        Ok(())
    }

    /// After the end only stray line breaks are tolerated.
    fn read_after_end(input: &[u8], pos: usize) -> Result<usize, Error> {
        if input[pos..].iter().all(|&b| b == b'\r' || b == b'\n') {
            return Ok(input.len());
        }
        Err(Error::InvalidChunk(
            "data after the end of the stream".into(),
        ))
    }

    /// Ends the stream: fails with [`Error::IncompleteBody`] if it stopped before
    /// the final chunk (or inside the trailers), checks the trailing checksum if
    /// one was asked for, and returns the trailers (lowercase names, trimmed
    /// values, without the trailer signature).
    ///
    /// A stream that stops right after the final chunk's or the last trailer's
    /// line, missing only the closing empty line, is accepted.
    pub fn finish(mut self) -> Result<Vec<(String, String)>, Error> {
        match self.state {
            State::Done => {}
            State::Trailers if self.line.is_empty() => self.end_of_trailers()?,
            State::Failed => return Err(Error::InvalidChunk("the stream already failed".into())),
            _ => return Err(Error::IncompleteBody),
        }
        if let Some(hasher) = self.checksum.take() {
            check_trailing_checksum(hasher, &self.trailers)?;
        }
        Ok(self.trailers)
    }
}

fn check_trailing_checksum(
    hasher: ChecksumHasher,
    trailers: &[(String, String)],
) -> Result<(), Error> {
    let algorithm = hasher.algorithm();
    let name = algorithm.header_name();
    let sent = trailers
        .iter()
        .find(|(trailer, _)| trailer == name)
        .map(|(_, value)| value)
        .ok_or_else(|| Error::MissingTrailer(name.into()))?;
    algorithm.validate_base64(sent)?;
    if hasher.finalize_base64() != *sent {
        return Err(Error::TrailerChecksumMismatch { algorithm });
    }
    Ok(())
}

/// A parsed `hex-size[;name=value...]` line.
struct ChunkHeader {
    size: u64,
    signature: Option<String>,
}

impl ChunkHeader {
    fn parse(line: &[u8]) -> Result<Self, Error> {
        let line = std::str::from_utf8(line)
            .map_err(|_| Error::InvalidChunk("chunk header is not text".into()))?;
        let mut parts = line.split(';');
        let size = parse_chunk_size(parts.next().unwrap_or_default())?;
        let mut signature = None;
        for extension in parts {
            let (name, value) = extension.split_once('=').unwrap_or((extension, ""));
            if name.trim() == CHUNK_SIGNATURE {
                if signature.is_some() {
                    return Err(Error::InvalidChunk("repeated chunk-signature".into()));
                }
                signature = Some(parse_hex_signature(value.trim())?);
            }
        }
        Ok(Self { size, signature })
    }
}

fn parse_chunk_size(text: &str) -> Result<u64, Error> {
    let text = text.trim_end_matches([' ', '\t']);
    let valid = !text.is_empty() && text.len() <= 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(Error::InvalidChunk("invalid chunk size".into()));
    }
    u64::from_str_radix(text, 16).map_err(|_| Error::InvalidChunk("invalid chunk size".into()))
}

fn parse_hex_signature(value: &str) -> Result<String, Error> {
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::InvalidChunk("signature is not 64 hex digits".into()));
    }
    Ok(value.to_ascii_lowercase())
}

fn parse_trailer_line(line: &[u8]) -> Result<(String, String), Error> {
    let line =
        std::str::from_utf8(line).map_err(|_| Error::InvalidChunk("trailer is not text".into()))?;
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| Error::InvalidChunk("trailer without ':'".into()))?;
    let name = name.trim();
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_name {
        return Err(Error::InvalidChunk("invalid trailer name".into()));
    }
    Ok((name.to_ascii_lowercase(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::SecretKey;
    use super::super::checksum::checksum_base64;
    use super::super::sigv4::signing_key;
    use super::*;

    const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";
    const AMZ_DATE: &str = "20130524T000000Z";
    /// The seed signature of sigv4-streaming.html's example.
    const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    /// The chunk signatures of that example: 64 KiB of `a`, 1 KiB of `a`, final.
    const DOC_SIGNATURES: [&str; 3] = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ];
    /// The seed signature of sigv4-streaming-trailers.html's example.
    const TRAILER_SEED: &str = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    /// Its chunk signatures.
    const TRAILER_DOC_SIGNATURES: [&str; 3] = [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ];
    /// Its trailers: the CRC32C of the body and the trailer signature.
    const TRAILER_DOC_TRAILERS: &str = "x-amz-checksum-crc32c:sOO8/Q==\r\n\
         x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n";

    fn signed(seed: &str) -> ChunkSigning {
        ChunkSigning::Signed {
            signing_key: signing_key(
                &SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                "20130524",
                "us-east-1",
                "s3",
            ),
            seed_signature: seed.into(),
            amz_date: AMZ_DATE.into(),
            scope: SCOPE.into(),
        }
    }

    /// The body of the documented examples, with the given signatures and trailers.
    fn doc_body(signatures: [&str; 3], trailers: &str) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(format!("10000;chunk-signature={}\r\n", signatures[0]).as_bytes());
        body.extend_from_slice(&[b'a'; 65_536]);
        body.extend_from_slice(format!("\r\n400;chunk-signature={}\r\n", signatures[1]).as_bytes());
        body.extend_from_slice(&[b'a'; 1024]);
        body.extend_from_slice(format!("\r\n0;chunk-signature={}\r\n", signatures[2]).as_bytes());
        body.extend_from_slice(trailers.as_bytes());
        body.extend_from_slice(b"\r\n");
        body
    }

    /// The decoded bytes, and what `finish` (or the failing `push`) said.
    type Decoded = (Vec<u8>, Result<Vec<(String, String)>, Error>);

    /// Feeds `body` in pieces of the given sizes (cycled); returns the decoded
    /// bytes and what `finish` said.
    fn decode_in_pieces(mut decoder: ChunkedDecoder, body: &[u8], sizes: &[usize]) -> Decoded {
        let body = Bytes::copy_from_slice(body);
        let mut decoded = Vec::new();
        let mut pos = 0;
        let mut sizes = sizes.iter().cycle();
        while pos < body.len() {
            let size = (*sizes.next().unwrap()).clamp(1, body.len() - pos);
            let mut out = Vec::new();
            let pushed = decoder.push(body.slice(pos..pos + size), &mut out);
            for piece in &out {
                decoded.extend_from_slice(piece);
            }
            if let Err(error) = pushed {
                return (decoded, Err(error));
            }
            pos += size;
        }
        assert_eq!(decoder.decoded_len(), decoded.len() as u64);
        (decoded, decoder.finish())
    }

    fn decode(decoder: ChunkedDecoder, body: &[u8]) -> Decoded {
        decode_in_pieces(decoder, body, &[body.len().max(1)])
    }

    /// A small deterministic generator for "random" splits.
    fn pseudo_random_sizes(seed: u64, count: usize, max: usize) -> Vec<usize> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 33) as usize % max + 1
            })
            .collect()
    }

    /// Builds a body by signing chunks ourselves (as an SDK would).
    fn signed_body(signing: &ChunkSigning, chunks: &[&[u8]], trailers: &[(&str, &str)]) -> Vec<u8> {
        let ChunkSigning::Signed {
            signing_key,
            seed_signature,
            amz_date,
            scope,
        } = signing
        else {
            panic!("signed only");
        };
        let mut previous = seed_signature.clone();
        let mut body = Vec::new();
        for chunk in chunks.iter().copied().chain([&b""[..]]) {
            let sts = format!(
                "{CHUNK_ALGORITHM}\n{amz_date}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{}",
                hex::encode(Sha256::digest(chunk))
            );
            previous = hex::encode(hmac_sha256(signing_key, sts.as_bytes()));
            body.extend_from_slice(
                format!("{:x};chunk-signature={previous}\r\n", chunk.len()).as_bytes(),
            );
            body.extend_from_slice(chunk);
            if !chunk.is_empty() {
                body.extend_from_slice(b"\r\n");
            }
        }
        if !trailers.is_empty() {
            let canonical: String = trailers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
            let sts = format!(
                "{TRAILER_ALGORITHM}\n{amz_date}\n{scope}\n{previous}\n{}",
                hex::encode(Sha256::digest(canonical.as_bytes()))
            );
            for (name, value) in trailers {
                body.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
            }
            let signature = hex::encode(hmac_sha256(signing_key, sts.as_bytes()));
            body.extend_from_slice(format!("{TRAILER_SIGNATURE}:{signature}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body
    }

    /// The documented requests end to end: verify the head, then decode the body
    /// with the decoder [`ChunkedDecoder::for_request`] picks.
    #[test]
    fn doc_examples_from_request_head_to_trailers() {
        use super::super::RequestView;
        use super::super::sigv4::{parse_authorization_v4, verify_v4};
        let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let now = time::macros::datetime!(2013-05-24 00:00:30 UTC);
        for trailer in [false, true] {
            let (payload, signed_headers, seed, body) = if trailer {
                (
                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                    "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
                    TRAILER_SEED,
                    doc_body(TRAILER_DOC_SIGNATURES, TRAILER_DOC_TRAILERS),
                )
            } else {
                (
                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                    "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
                    SEED,
                    doc_body(DOC_SIGNATURES, ""),
                )
            };
            let mut headers = http::HeaderMap::new();
            for (name, value) in [
                ("content-encoding", "aws-chunked"),
                ("content-length", "66824"),
                ("host", "s3.amazonaws.com"),
                ("x-amz-content-sha256", payload),
                ("x-amz-date", AMZ_DATE),
                ("x-amz-decoded-content-length", "66560"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-trailer", "x-amz-checksum-crc32c"),
            ] {
                headers.insert(name, value.parse().unwrap());
            }
            let authorization = format!(
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/{SCOPE}, \
                 SignedHeaders={signed_headers}, Signature={seed}"
            );
            let auth = parse_authorization_v4(&authorization).unwrap();
            let req = RequestView {
                method: "PUT",
                raw_path: "/examplebucket/chunkObject.txt",
                raw_query: "",
                headers: &headers,
            };
            let verified = verify_v4(&req, &auth, &secret, now, Some("us-east-1")).unwrap();
            let decoder = ChunkedDecoder::for_request(&verified).unwrap();
            let (decoded, trailers) = decode_in_pieces(decoder, &body, &[4000]);
            assert_eq!(decoded, vec![b'a'; 66_560]);
            assert_eq!(trailers.unwrap().len(), usize::from(trailer));
        }
    }

    #[test]
    fn doc_streaming_example_decodes() {
        let body = doc_body(DOC_SIGNATURES, "");
        assert_eq!(body.len(), 66_824, "the documented Content-Length");
        let (decoded, trailers) = decode(ChunkedDecoder::new(signed(SEED), false), &body);
        assert_eq!(decoded, vec![b'a'; 66_560]);
        assert!(trailers.unwrap().is_empty());
    }

    #[test]
    fn doc_streaming_example_one_byte_at_a_time() {
        let body = doc_body(DOC_SIGNATURES, "");
        let (decoded, trailers) =
            decode_in_pieces(ChunkedDecoder::new(signed(SEED), false), &body, &[1]);
        assert_eq!(decoded.len(), 66_560);
        assert!(trailers.is_ok());
    }

    #[test]
    fn doc_streaming_example_random_splits() {
        let body = doc_body(DOC_SIGNATURES, "");
        for seed in 0..20 {
            let sizes = pseudo_random_sizes(seed, 64, 300 + seed as usize * 500);
            let (decoded, trailers) =
                decode_in_pieces(ChunkedDecoder::new(signed(SEED), false), &body, &sizes);
            assert_eq!(decoded, vec![b'a'; 66_560], "seed {seed}");
            assert!(trailers.is_ok(), "seed {seed}");
        }
    }

    #[test]
    fn doc_trailer_example_decodes_and_checks_the_checksum() {
        let body = doc_body(TRAILER_DOC_SIGNATURES, TRAILER_DOC_TRAILERS);
        for sizes in [vec![body.len()], vec![1], pseudo_random_sizes(7, 50, 999)] {
            let decoder = ChunkedDecoder::new(signed(TRAILER_SEED), true)
                .with_checksum(ChecksumAlgorithm::Crc32c);
            let (decoded, trailers) = decode_in_pieces(decoder, &body, &sizes);
            assert_eq!(decoded.len(), 66_560);
            assert_eq!(
                trailers.unwrap(),
                [("x-amz-checksum-crc32c".to_owned(), "sOO8/Q==".to_owned())]
            );
        }
    }

    #[test]
    fn tampered_trailer_is_refused() {
        let tampered = TRAILER_DOC_TRAILERS.replace("sOO8/Q==", "sOO8/Q0=");
        let body = doc_body(TRAILER_DOC_SIGNATURES, &tampered);
        let (_, result) = decode(ChunkedDecoder::new(signed(TRAILER_SEED), true), &body);
        assert!(
            matches!(result, Err(Error::TrailerSignatureMismatch)),
            "{result:?}"
        );

        let unsigned = "x-amz-checksum-crc32c:sOO8/Q==\r\n";
        let body = doc_body(TRAILER_DOC_SIGNATURES, unsigned);
        let (_, result) = decode(ChunkedDecoder::new(signed(TRAILER_SEED), true), &body);
        assert!(matches!(result, Err(Error::MissingTrailer(name)) if name == TRAILER_SIGNATURE));
    }

    #[test]
    fn tampered_chunks_are_refused() {
        for index in 0..3 {
            let mut signatures = DOC_SIGNATURES;
            let wrong = "1".repeat(64);
            signatures[index] = &wrong;
            let body = doc_body(signatures, "");
            let (_, result) = decode(ChunkedDecoder::new(signed(SEED), false), &body);
            assert!(
                matches!(result, Err(Error::ChunkSignatureMismatch)),
                "chunk {index}"
            );
        }
        let mut body = doc_body(DOC_SIGNATURES, "");
        body[200] = b'b';
        let (_, result) = decode_in_pieces(ChunkedDecoder::new(signed(SEED), false), &body, &[77]);
        assert!(matches!(result, Err(Error::ChunkSignatureMismatch)));
        // A different seed (another request's signature) breaks the chain at once.
        let (decoded, result) = decode(
            ChunkedDecoder::new(signed(TRAILER_SEED), false),
            &doc_body(DOC_SIGNATURES, ""),
        );
        assert!(matches!(result, Err(Error::ChunkSignatureMismatch)));
        assert_eq!(decoded.len(), 65_536, "data precedes its verdict");
    }

    #[test]
    fn a_failed_decoder_stays_failed() {
        let mut decoder = ChunkedDecoder::new(ChunkSigning::Unsigned, false);
        let mut out = Vec::new();
        assert!(
            decoder
                .push(Bytes::from_static(b"zz\r\n"), &mut out)
                .is_err()
        );
        assert!(matches!(
            decoder.push(Bytes::from_static(b"0\r\n\r\n"), &mut out),
            Err(Error::InvalidChunk(_))
        ));
        assert!(decoder.finish().is_err());
    }

    #[test]
    fn truncated_streams_are_incomplete() {
        let body = doc_body(DOC_SIGNATURES, "");
        let final_line_end = body.len() - 2;
        for cut in [
            0,
            10,
            85,
            86,
            50_000,
            65_622,
            65_623,
            66_700,
            final_line_end - 1,
        ] {
            let (_, result) = decode(ChunkedDecoder::new(signed(SEED), false), &body[..cut]);
            assert!(
                matches!(result, Err(Error::IncompleteBody)),
                "cut at {cut}: {result:?}"
            );
        }
        // Missing only the closing empty line is tolerated.
        let (decoded, result) = decode(
            ChunkedDecoder::new(signed(SEED), false),
            &body[..final_line_end],
        );
        assert_eq!(decoded.len(), 66_560);
        assert!(result.is_ok());
    }

    #[test]
    fn unsigned_trailer_format_of_the_sdks() {
        let payload = b"hello world";
        let crc = checksum_base64(ChecksumAlgorithm::Crc32, payload);
        assert_eq!(crc, "DUoRhQ==");
        // aws-sdk-rust writes the size in uppercase hex.
        let body = format!("B\r\nhello world\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n");
        for sizes in [vec![body.len()], vec![1], vec![3, 5]] {
            let decoder = ChunkedDecoder::new(ChunkSigning::Unsigned, true)
                .with_checksum(ChecksumAlgorithm::Crc32);
            let (decoded, trailers) = decode_in_pieces(decoder, body.as_bytes(), &sizes);
            assert_eq!(decoded, payload);
            assert_eq!(
                trailers.unwrap(),
                [("x-amz-checksum-crc32".to_owned(), crc.clone())]
            );
        }
        // Several chunks, no final empty line, a space after the colon, mixed case.
        let body = "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Amz-Checksum-Crc32: DUoRhQ==\r\n";
        let decoder = ChunkedDecoder::new(ChunkSigning::Unsigned, true)
            .with_checksum(ChecksumAlgorithm::Crc32);
        let (decoded, trailers) = decode(decoder, body.as_bytes());
        assert_eq!(decoded, payload);
        assert_eq!(trailers.unwrap()[0].0, "x-amz-checksum-crc32");
        // The wrong checksum, and none at all.
        let body = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let decoder = ChunkedDecoder::new(ChunkSigning::Unsigned, true)
            .with_checksum(ChecksumAlgorithm::Crc32);
        let (_, result) = decode(decoder, body.as_bytes());
        assert!(matches!(
            result,
            Err(Error::TrailerChecksumMismatch {
                algorithm: ChecksumAlgorithm::Crc32
            })
        ));
        let body = "5\r\nhello\r\n0\r\n\r\n";
        let decoder = ChunkedDecoder::new(ChunkSigning::Unsigned, true)
            .with_checksum(ChecksumAlgorithm::Crc32);
        let (_, result) = decode(decoder, body.as_bytes());
        assert!(
            matches!(result, Err(Error::MissingTrailer(name)) if name == "x-amz-checksum-crc32")
        );
    }

    #[test]
    fn signed_round_trip_with_trailers_in_random_splits() {
        let signing = signed(SEED);
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 253) as u8).collect();
        let chunks: Vec<&[u8]> = data.chunks(8192).collect();
        let crc = checksum_base64(ChecksumAlgorithm::Crc64Nvme, &data);
        let trailers = [("x-amz-checksum-crc64nvme", crc.as_str())];
        let body = signed_body(&signing, &chunks, &trailers);
        for seed in 0..10 {
            let decoder = ChunkedDecoder::new(signing.clone(), true)
                .with_checksum(ChecksumAlgorithm::Crc64Nvme);
            let (decoded, result) =
                decode_in_pieces(decoder, &body, &pseudo_random_sizes(seed, 40, 3000));
            assert_eq!(decoded, data);
            assert_eq!(result.unwrap().len(), 1);
        }
        // An empty object: only the final chunk.
        let body = signed_body(&signing, &[], &[]);
        let (decoded, result) = decode(ChunkedDecoder::new(signing, false), &body);
        assert!(decoded.is_empty());
        assert!(result.unwrap().is_empty());
    }

    #[test]
    fn framing_errors() {
        let cases: &[(&str, &[u8])] = &[
            ("not hex", b"zz\r\n"),
            ("bare LF", b"5\nhello\r\n0\r\n\r\n"),
            ("missing CRLF after data", b"5\r\nhelloX0\r\n\r\n"),
            ("empty size", b";x=y\r\n"),
            ("size overflow", b"10000000000000000\r\n"),
            (
                "trailer in a plain stream",
                b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
            ),
            ("data after the end", b"0\r\n\r\nextra"),
            ("data after stray line breaks", b"0\r\n\r\n\r\nx"),
        ];
        for (what, body) in cases {
            let (_, result) = decode(ChunkedDecoder::new(ChunkSigning::Unsigned, false), body);
            assert!(
                matches!(result, Err(Error::InvalidChunk(_))),
                "{what}: {result:?}"
            );
        }
        let long_line = format!("5;{}\r\n", "x".repeat(MAX_LINE_LEN));
        let (_, result) = decode_in_pieces(
            ChunkedDecoder::new(ChunkSigning::Unsigned, false),
            long_line.as_bytes(),
            &[1],
        );
        assert!(matches!(result, Err(Error::InvalidChunk(_))));
        // Signed streams need a signature on every chunk.
        let (_, result) = decode(ChunkedDecoder::new(signed(SEED), false), b"0\r\n\r\n");
        assert!(matches!(result, Err(Error::InvalidChunk(_))));
        let (_, result) = decode(
            ChunkedDecoder::new(signed(SEED), false),
            b"0;chunk-signature=abc\r\n\r\n",
        );
        assert!(matches!(result, Err(Error::InvalidChunk(_))));
        // Unsigned trailer streams take no trailer signature.
        let body = format!("0\r\n{TRAILER_SIGNATURE}:{}\r\n\r\n", "0".repeat(64));
        let (_, result) = decode(
            ChunkedDecoder::new(ChunkSigning::Unsigned, true),
            body.as_bytes(),
        );
        assert!(matches!(result, Err(Error::InvalidChunk(_))));
        let repeated =
            "0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        let (_, result) = decode(
            ChunkedDecoder::new(ChunkSigning::Unsigned, true),
            repeated.as_bytes(),
        );
        assert!(matches!(result, Err(Error::InvalidChunk(_))));
        // Stray line breaks after the end are tolerated.
        let (_, result) = decode(
            ChunkedDecoder::new(ChunkSigning::Unsigned, false),
            b"0\r\n\r\n\r\n",
        );
        assert!(result.is_ok());
    }

    #[test]
    fn too_many_trailers() {
        let mut body = String::from("0\r\n");
        for i in 0..=MAX_TRAILERS {
            body.push_str(&format!("x-amz-meta-{i}:v\r\n"));
        }
        body.push_str("\r\n");
        let (_, result) = decode(
            ChunkedDecoder::new(ChunkSigning::Unsigned, true),
            body.as_bytes(),
        );
        assert!(matches!(result, Err(Error::InvalidChunk(_))));
    }
}
