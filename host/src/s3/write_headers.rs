//! Headers of object-creating writes that S3 stores or acts on and Coffer cannot honour.
//! Ignoring them would be a lie: a client that asked for server-side encryption, above
//! all with its own key (SSE-C), would believe stored plaintext encrypted. So they are
//! refused, explicitly; the one storage class Coffer has, `STANDARD`, is accepted.

use http::HeaderMap;

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::headers;

/// The prefix of every server-side-encryption header (SSE-S3, SSE-KMS, SSE-C).
const SSE_PREFIX: &str = "x-amz-server-side-encryption";
/// Static website redirects, which need a website endpoint.
const WEBSITE_REDIRECT: &str = "x-amz-website-redirect-location";

/// Refuses what a write asks for and Coffer cannot do.
pub fn check(h: &HeaderMap) -> S3Result<()> {
    for name in h.keys() {
        let name = name.as_str();
        if name.starts_with(SSE_PREFIX) {
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                format!(
                    "Server-side encryption ({name}) is not supported: the object would be \
                     stored unencrypted"
                ),
            ));
        }
        if name == WEBSITE_REDIRECT {
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "x-amz-website-redirect-location: static website hosting is not supported",
            ));
        }
    }
    let Some(class) = h.get(headers::STORAGE_CLASS) else {
        return Ok(());
    };
    let class = String::from_utf8_lossy(class.as_bytes());
    if class == "STANDARD" {
        return Ok(());
    }
    Err(S3Error::with_message(
        S3ErrorCode::InvalidStorageClass,
        format!(
            "The storage class you specified is not valid: {class} (Coffer stores STANDARD only)"
        ),
    )
    .extra("StorageClassRequested", class.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn what_cannot_be_honoured_is_refused() {
        assert!(check(&HeaderMap::new()).is_ok());
        assert!(check(&with("x-amz-storage-class", "STANDARD")).is_ok());
        let code = |h: HeaderMap| check(&h).err().map(|e| e.code());
        assert_eq!(
            code(with("x-amz-storage-class", "GLACIER")),
            Some(S3ErrorCode::InvalidStorageClass)
        );
        for (name, value) in [
            ("x-amz-server-side-encryption", "AES256"),
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-aws-kms-key-id", "k"),
            ("x-amz-website-redirect-location", "/elsewhere"),
        ] {
            assert_eq!(
                code(with(name, value)),
                Some(S3ErrorCode::NotImplemented),
                "{name}"
            );
        }
    }
}
