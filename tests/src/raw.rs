//! Hand-built S3 requests: for what the SDK will not send (tampered signatures, bad
//! headers, truncated bodies, anonymous requests, SigV2).
//!
//! ```ignore
//! let resp = server
//!     .raw("PUT", "/bucket/key")
//!     .body(b"hello".to_vec())
//!     .sign_v4(server.admin_keys())
//!     .header("x-amz-content-sha256", &sha256_hex(b"other")) // tamper after signing
//!     .send()
//!     .await;
//! assert_eq!(resp.code().as_deref(), Some("XAmzContentSHA256Mismatch"));
//! ```

use std::time::Duration;

use coffer::auth::{sigv2, sigv4};
use http::{HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::chunked::{self, ChunkSigner};
use crate::server::AccountKeys;
use crate::util::sha256_hex;

/// How long to wait for a raw response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(20);

/// The region raw requests are signed for.
pub const REGION: &str = "us-east-1";

/// Percent-encodes an object key (or any path) as SDKs put it on the wire, keeping `/`.
pub fn encode_key(key: &str) -> String {
    sigv4::encode_path(key)
}

/// `/bucket/key` with the key percent-encoded.
pub fn object_path(bucket: &str, key: &str) -> String {
    format!("/{bucket}/{}", encode_key(key))
}

/// A request under construction. Fields are public: change anything, at any time
/// (signing reads them as they are; later changes are sent as they are).
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// Where to connect, `127.0.0.1:PORT`.
    pub addr: String,
    /// HTTP method.
    pub method: String,
    /// Raw (already percent-encoded) path.
    pub path: String,
    /// Raw query string, without `?`.
    pub query: String,
    /// Headers (`host` is preset to `addr`).
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// How long [`RawRequest::send`] waits for the response headers.
    pub timeout: Duration,
}

impl RawRequest {
    /// A request to `addr` (also its `Host` header).
    pub fn new(addr: &str, method: &str, path: &str) -> RawRequest {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::HOST,
            HeaderValue::from_str(addr).expect("valid host"),
        );
        RawRequest {
            addr: addr.to_string(),
            method: method.to_string(),
            path: path.to_string(),
            query: String::new(),
            headers,
            body: Vec::new(),
            timeout: RESPONSE_TIMEOUT,
        }
    }

    /// Waits up to `timeout` for the response (default 20 s): for a request that may
    /// compile a policy module in a debug build.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the raw query string (without `?`).
    pub fn query(mut self, query: &str) -> Self {
        self.query = query.to_string();
        self
    }

    /// Sets (replaces) a header.
    pub fn header(self, name: &str, value: &str) -> Self {
        self.header_bytes(name, value.as_bytes())
    }

    /// Sets (replaces) a header with arbitrary bytes.
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("valid header name");
        let value = HeaderValue::from_bytes(value).expect("valid header value");
        self.headers.insert(name, value);
        self
    }

    /// Removes a header.
    pub fn remove_header(mut self, name: &str) -> Self {
        self.headers.remove(name);
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The value of a header, if set and ASCII.
    pub fn get_header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Signs with SigV4 for `us-east-1`, now, with the SHA-256 of the body as payload hash.
    pub fn sign_v4(self, keys: &AccountKeys) -> Self {
        let hash = sha256_hex(&self.body);
        self.sign_v4_with(keys, &hash, OffsetDateTime::now_utc(), REGION)
    }

    /// Signs with SigV4 with an explicit `x-amz-content-sha256` value (a digest or a
    /// sentinel such as `UNSIGNED-PAYLOAD`), time and region.
    pub fn sign_v4_with(
        mut self,
        keys: &AccountKeys,
        payload_hash: &str,
        now: OffsetDateTime,
        region: &str,
    ) -> Self {
        sigv4::sign_v4(
            &self.method,
            &self.path,
            &self.query,
            &mut self.headers,
            payload_hash,
            &keys.access_key,
            &keys.secret(),
            region,
            now,
        )
        .expect("SigV4 signing");
        self
    }

    /// Signs with SigV2 (path style), now.
    pub fn sign_v2(self, keys: &AccountKeys) -> Self {
        self.sign_v2_with(keys, None, OffsetDateTime::now_utc())
    }

    /// Signs with SigV2; `vhost_bucket` is the bucket named by the Host header, if any.
    pub fn sign_v2_with(
        mut self,
        keys: &AccountKeys,
        vhost_bucket: Option<&str>,
        now: OffsetDateTime,
    ) -> Self {
        sigv2::sign_v2(
            &self.method,
            &self.path,
            &self.query,
            &mut self.headers,
            &keys.access_key,
            &keys.secret(),
            vhost_bucket,
            now,
        )
        .expect("SigV2 signing");
        self
    }

    /// Makes this a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` upload of `data`: sets
    /// `Content-Encoding: aws-chunked` and `x-amz-decoded-content-length`, signs, then
    /// encodes the body in signed chunks of `chunk_size` bytes. `tamper_chunk` corrupts one
    /// chunk signature (see [`chunked::signed_body`]).
    pub fn sign_v4_streaming(
        self,
        keys: &AccountKeys,
        data: &[u8],
        chunk_size: usize,
        tamper_chunk: Option<usize>,
    ) -> Self {
        let mut req = self
            .header("content-encoding", "aws-chunked")
            .header("x-amz-decoded-content-length", &data.len().to_string())
            .sign_v4_with(
                keys,
                sigv4::STREAMING_SIGNED,
                OffsetDateTime::now_utc(),
                REGION,
            );
        let mut signer = ChunkSigner::from_signed_headers(&req.headers, &keys.secret());
        req.body = chunked::signed_body(data, chunk_size, &mut signer, tamper_chunk);
        req
    }

    /// Makes this a `STREAMING-UNSIGNED-PAYLOAD-TRAILER` upload of `data` with the given
    /// trailers (announced in `x-amz-trailer`), signed with SigV4.
    pub fn sign_v4_unsigned_trailer(
        self,
        keys: &AccountKeys,
        data: &[u8],
        chunk_size: usize,
        trailers: &[(&str, &str)],
    ) -> Self {
        let announced: Vec<&str> = trailers.iter().map(|(name, _)| *name).collect();
        let mut req = self
            .header("content-encoding", "aws-chunked")
            .header("x-amz-decoded-content-length", &data.len().to_string())
            .header("x-amz-trailer", &announced.join(","))
            .sign_v4_with(
                keys,
                sigv4::STREAMING_UNSIGNED_TRAILER,
                OffsetDateTime::now_utc(),
                REGION,
            );
        req.body = chunked::unsigned_trailer_body(data, chunk_size, trailers);
        req
    }

    fn url(&self) -> String {
        if self.query.is_empty() {
            format!("http://{}{}", self.addr, self.path)
        } else {
            format!("http://{}{}?{}", self.addr, self.path, self.query)
        }
    }

    /// Sends with `reqwest` (which sets `Content-Length` from the body). Redirects are
    /// returned, never followed: tests only talk to the server under test.
    pub async fn send(self) -> RawResponse {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("building reqwest client");
        let method =
            reqwest::Method::from_bytes(self.method.as_bytes()).expect("valid HTTP method");
        let url = self.url();
        let resp = tokio::time::timeout(
            self.timeout,
            client
                .request(method, &url)
                .headers(self.headers)
                .body(self.body)
                .send(),
        )
        .await
        .unwrap_or_else(|_| panic!("no response to {url} within {RESPONSE_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("sending {url}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .expect("reading the response body")
            .to_vec();
        RawResponse {
            status,
            headers,
            body,
        }
    }

    /// The request head as sent over TCP, with `Connection: close` and, unless set, a
    /// `Content-Length` of the body.
    fn head_bytes(&self, content_length: Option<usize>) -> Vec<u8> {
        let target = if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        };
        let mut head = format!("{} {target} HTTP/1.1\r\n", self.method).into_bytes();
        for (name, value) in &self.headers {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        if !self.headers.contains_key(http::header::CONNECTION) {
            head.extend_from_slice(b"connection: close\r\n");
        }
        if let Some(len) = content_length
            && !self.headers.contains_key(http::header::CONTENT_LENGTH)
        {
            head.extend_from_slice(format!("content-length: {len}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        head
    }

    /// Sends over a raw TCP connection exactly as built (`Content-Length` defaults to the
    /// body length), then reads the response until the server closes. `None` if the server
    /// closed the connection without answering.
    pub async fn send_tcp(self) -> Option<RawResponse> {
        let head = self.head_bytes(Some(self.body.len()));
        exchange(&self.addr, &head, &self.body, false).await
    }

    /// Declares `Content-Length: declared_len` but sends only the body (which should be
    /// shorter), then shuts down the write half and reads the response. `None` if the server
    /// closed the connection without answering.
    pub async fn send_truncated(self, declared_len: usize) -> Option<RawResponse> {
        let req = self.header("content-length", &declared_len.to_string());
        let head = req.head_bytes(None);
        exchange(&req.addr, &head, &req.body, true).await
    }
}

impl RawRequest {
    /// Sends the head with `Content-Length: len` over a raw TCP connection and returns the
    /// connection, for a body sent piece by piece ([`StreamingUpload::send`]): a slow
    /// client, or one that goes away (drop it) mid-body.
    pub async fn start_upload(self, len: usize) -> StreamingUpload {
        let req = self.header("content-length", &len.to_string());
        let head = req.head_bytes(None);
        let mut stream = TcpStream::connect(&req.addr)
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", req.addr));
        stream.write_all(&head).await.expect("sending the head");
        StreamingUpload { stream }
    }

    /// Sends with `reqwest` and returns as soon as the response head arrives, so the
    /// caller reads the body at its own pace (`chunk()`).
    pub async fn send_streaming(self) -> reqwest::Response {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("building reqwest client");
        let method =
            reqwest::Method::from_bytes(self.method.as_bytes()).expect("valid HTTP method");
        let url = self.url();
        client
            .request(method, &url)
            .headers(self.headers)
            .body(self.body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("sending {url}: {e}"))
    }
}

/// An upload in progress over a raw TCP connection (see [`RawRequest::start_upload`]).
/// Dropping it closes the connection: the client is gone.
#[derive(Debug)]
pub struct StreamingUpload {
    stream: TcpStream,
}

impl StreamingUpload {
    /// Sends more of the body.
    pub async fn send(&mut self, data: &[u8]) {
        self.stream
            .write_all(data)
            .await
            .expect("sending part of the body");
    }

    /// Reads the response (after the whole body was sent). `None` if the server closed
    /// the connection without answering.
    pub async fn finish(mut self) -> Option<RawResponse> {
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(RESPONSE_TIMEOUT, async {
            let mut chunk = [0u8; 16 * 1024];
            loop {
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        })
        .await;
        parse_response(&buf)
    }
}

async fn exchange(addr: &str, head: &[u8], body: &[u8], shutdown: bool) -> Option<RawResponse> {
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    // The server may answer early and close; write errors are not failures here.
    let mut written = stream.write_all(head).await.is_ok();
    if written && !body.is_empty() {
        written = stream.write_all(body).await.is_ok();
    }
    if written && shutdown {
        let _ = stream.shutdown().await;
    }
    let mut buf = Vec::new();
    let read = tokio::time::timeout(RESPONSE_TIMEOUT, async {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok() || !buf.is_empty(),
        "no response from {addr} within {RESPONSE_TIMEOUT:?} (connection still open)"
    );
    parse_response(&buf)
}

/// Parses an HTTP/1.1 response (`None` if there is no complete head).
fn parse_response(buf: &[u8]) -> Option<RawResponse> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(name, value);
        }
    }
    let rest = &buf[end + 4..];
    let chunked = headers
        .get(http::header::TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        decode_chunked(rest)
    } else {
        let len = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(rest.len());
        rest[..len.min(rest.len())].to_vec()
    };
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

fn decode_chunked(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_line = String::from_utf8_lossy(&rest[..eol]);
        let size_hex = size_line.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_hex, 16) else {
            break;
        };
        rest = &rest[eol + 2..];
        if size == 0 || rest.len() < size {
            body.extend_from_slice(&rest[..size.min(rest.len())]);
            break;
        }
        body.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
    body
}

/// A response to a [`RawRequest`].
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, if present and ASCII.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The S3 error `<Code>` in the body, if any.
    pub fn code(&self) -> Option<String> {
        crate::xml::error_code(&self.text())
    }

    /// `x-amz-request-id`.
    pub fn request_id(&self) -> Option<String> {
        self.header("x-amz-request-id")
    }

    /// Asserts an S3 error response: this status, this `<Code>`, and an
    /// `x-amz-request-id` header (also echoed as `<RequestId>`).
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code().as_deref()),
            (status, Some(code)),
            "expected {status} {code}; got {} with body {}",
            self.status,
            self.text()
        );
        self.assert_request_id();
    }

    /// Asserts a 4xx response with an S3 error XML body (any code) and a request id;
    /// returns the code.
    #[track_caller]
    pub fn assert_client_error(&self) -> String {
        assert!(
            (400..500).contains(&self.status),
            "expected a 4xx S3 error; got {} with body {}",
            self.status,
            self.text()
        );
        let code = self
            .code()
            .unwrap_or_else(|| panic!("no <Code> in error body: {}", self.text()));
        self.assert_request_id();
        code
    }

    /// Asserts the `x-amz-request-id` header is present and non-empty, and equal to the
    /// body's `<RequestId>` when the body has one.
    #[track_caller]
    pub fn assert_request_id(&self) {
        let id = self.request_id();
        assert!(
            id.as_deref().is_some_and(|id| !id.is_empty()),
            "response without x-amz-request-id: {} {:?}",
            self.status,
            self.headers
        );
        if let Some(body_id) = crate::xml::tag_text(&self.text(), "RequestId") {
            assert_eq!(
                Some(body_id),
                id,
                "<RequestId> differs from x-amz-request-id"
            );
        }
    }

    /// Asserts a 2xx status.
    #[track_caller]
    pub fn assert_success(&self) {
        assert!(
            (200..300).contains(&self.status),
            "expected success; got {} with body {}",
            self.status,
            self.text()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_responses() {
        let plain = b"HTTP/1.1 400 Bad Request\r\nx-amz-request-id: ABC\r\ncontent-length: 5\r\n\r\nhelloEXTRA";
        let r = parse_response(plain).expect("response");
        assert_eq!(r.status, 400);
        assert_eq!(r.request_id().as_deref(), Some("ABC"));
        assert_eq!(r.body, b"hello");
        let chunked =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).expect("response").body, b"abcde");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_none());
        assert!(parse_response(b"").is_none());
    }

    #[test]
    fn request_head_has_defaults() {
        let req = RawRequest::new("127.0.0.1:1", "PUT", "/b/k%20x")
            .query("a=1")
            .body(b"xyz".to_vec());
        let head = String::from_utf8(req.head_bytes(Some(3))).expect("ASCII");
        assert!(head.starts_with("PUT /b/k%20x?a=1 HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("host: 127.0.0.1:1\r\n"));
        assert!(head.contains("connection: close\r\n"));
        assert!(head.contains("content-length: 3\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
    }
}
