//! An object's metadata from request headers: user metadata (`x-amz-meta-*`, RFC 2047
//! encoded words decoded, S3's 2 KB cap) and the standard headers S3 stores with it.
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html>

use base64::Engine;
use http::HeaderMap;

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::headers;
use super::payload::header_str;
use crate::store::objects::ObjectHeaders;

/// S3's cap on user metadata: names and values, in UTF-8 bytes.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html>
pub const MAX_USER_METADATA_BYTES: usize = 2048;

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

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
