//! Client-side `aws-chunked` encoding (written independently of the server's decoder).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html>.

use coffer::auth::SecretKey;
use coffer::auth::sigv4;
use http::HeaderMap;

use crate::util::sha256_hex;

/// The signature chain of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` body.
#[derive(Debug, Clone)]
pub struct ChunkSigner {
    signing_key: [u8; 32],
    amz_date: String,
    scope: String,
    previous: String,
}

impl ChunkSigner {
    /// Seeds the chain from a request already signed with SigV4 (its `Authorization` and
    /// `x-amz-date` headers).
    pub fn from_signed_headers(headers: &HeaderMap, secret: &SecretKey) -> ChunkSigner {
        let authorization = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .expect("the request is signed");
        let amz_date = headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .expect("the request has x-amz-date")
            .to_string();
        let credential = authorization
            .split("Credential=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .expect("Authorization has a Credential");
        // AKID/date/region/service/aws4_request
        let parts: Vec<&str> = credential.split('/').collect();
        assert_eq!(parts.len(), 5, "unexpected credential {credential}");
        let (date, region, service) = (parts[1], parts[2], parts[3]);
        let seed = authorization
            .split("Signature=")
            .nth(1)
            .expect("Authorization has a Signature")
            .trim()
            .to_string();
        ChunkSigner {
            signing_key: sigv4::signing_key(secret, date, region, service),
            amz_date,
            scope: sigv4::credential_scope(date, region, service),
            previous: seed,
        }
    }

    /// Signs the next chunk (`data` may be empty for the final chunk) and advances the chain.
    pub fn sign_chunk(&mut self, data: &[u8]) -> String {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            self.previous,
            sigv4::EMPTY_SHA256,
            sha256_hex(data)
        );
        let sig = sigv4::signature(&self.signing_key, &string_to_sign);
        self.previous = sig.clone();
        sig
    }

    /// Signs the trailer block (`name:value\n` per trailer) after the final chunk.
    pub fn sign_trailer(&mut self, canonical_trailers: &str) -> String {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            self.previous,
            sha256_hex(canonical_trailers.as_bytes())
        );
        let sig = sigv4::signature(&self.signing_key, &string_to_sign);
        self.previous = sig.clone();
        sig
    }
}

/// Flips one hex digit of a signature (to tamper with it).
pub fn corrupt_signature(sig: &str) -> String {
    let mut chars: Vec<char> = sig.chars().collect();
    chars[10] = if chars[10] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// A `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body: `data` in chunks of `chunk_size` bytes
/// (every chunk signed), then the signed empty final chunk. If `tamper_chunk` is `Some(i)`,
/// chunk `i` (counting from 0; the final empty chunk is the last index) carries a corrupted
/// signature.
pub fn signed_body(
    data: &[u8],
    chunk_size: usize,
    signer: &mut ChunkSigner,
    tamper_chunk: Option<usize>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 256);
    let mut chunks: Vec<&[u8]> = data.chunks(chunk_size.max(1)).collect();
    chunks.push(&[]);
    for (i, chunk) in chunks.into_iter().enumerate() {
        let mut sig = signer.sign_chunk(chunk);
        if tamper_chunk == Some(i) {
            sig = corrupt_signature(&sig);
        }
        out.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A `STREAMING-UNSIGNED-PAYLOAD-TRAILER` body: plain chunks, the final `0` chunk, then
/// `name:value` trailers and the closing empty line.
pub fn unsigned_trailer_body(data: &[u8], chunk_size: usize, trailers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 256);
    for chunk in data.chunks(chunk_size.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html>.
    fn doc_signer() -> ChunkSigner {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
             x-amz-decoded-content-length;x-amz-storage-class,\
             Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amz-date", "20130524T000000Z".parse().unwrap());
        ChunkSigner::from_signed_headers(
            &headers,
            &SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        )
    }

    #[test]
    fn chunk_signatures_match_the_aws_example() {
        let mut signer = doc_signer();
        assert_eq!(
            signer.sign_chunk(&[b'a'; 65536]),
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        );
        assert_eq!(
            signer.sign_chunk(&[b'a'; 1024]),
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        );
        assert_eq!(
            signer.sign_chunk(&[]),
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
        );
    }

    #[test]
    fn signed_body_framing() {
        let body = signed_body(&[b'a'; 66560], 65536, &mut doc_signer(), None);
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(
            "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
        ));
        assert!(text.ends_with(
            "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
        ));
        // The documented encoded length for this example.
        assert_eq!(body.len(), 66824);
        let tampered = signed_body(&[b'a'; 66560], 65536, &mut doc_signer(), Some(1));
        assert_eq!(tampered.len(), body.len());
        assert_ne!(tampered, body);
    }

    #[test]
    fn unsigned_trailer_framing() {
        let body = unsigned_trailer_body(b"hello world", 5, &[("x-amz-checksum-crc32", "AAAA")]);
        assert_eq!(
            body,
            b"5\r\nhello\r\n5\r\n worl\r\n1\r\nd\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n"
        );
    }
}
