//! Validated S3 names: bucket names ([`BucketName`]) and object keys
//! ([`ObjectKey`]).
//!
//! This module owns the *syntax* of names only. Whether a bucket or key exists
//! is the storage layer's business. Both types can only be built through their
//! `parse*` constructors, so holding one proves the rules below were checked.

use std::fmt;

/// Longest object key S3 accepts, in bytes of UTF-8.
///
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>
pub const MAX_KEY_BYTES: usize = 1024;

/// Why a bucket name or object key was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The bucket name breaks one of the naming rules; the string says which.
    /// Hosts answer `InvalidBucketName` (400).
    #[error("invalid bucket name: {0}")]
    InvalidBucketName(String),
    /// The object key's bytes, after percent-decoding, are not UTF-8.
    #[error("object key is not valid UTF-8")]
    InvalidUtf8,
    /// The object key is empty.
    #[error("object key is empty")]
    EmptyKey,
    /// The object key is longer than [`MAX_KEY_BYTES`] bytes.
    #[error("object key is longer than {MAX_KEY_BYTES} bytes")]
    KeyTooLong,
}

/// A bucket name that satisfies the general-purpose bucket naming rules.
///
/// Rules (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>):
/// - 3 to 63 characters;
/// - only lowercase ASCII letters, digits, `.` and `-`;
/// - begins and ends with a letter or digit;
/// - no two adjacent periods, and (so that the name is a valid DNS name for
///   virtual-host-style access) no `.-` or `-.` either, i.e. every
///   dot-separated label begins and ends with a letter or digit;
/// - not formatted as an IPv4 address (`192.168.5.4`);
/// - does not begin with `xn--`, `sthree-` or `amzn-s3-demo-`;
/// - does not end with `-s3alias`, `--ol-s3`, `.mrap`, `--x-s3` or
///   `--table-s3` (suffixes AWS reserves for access points, directory and
///   table buckets).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketName(String);

/// Prefixes AWS reserves; a bucket name may not start with one.
const RESERVED_PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];

/// Suffixes AWS reserves; a bucket name may not end with one.
const RESERVED_SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

impl BucketName {
    /// Checks `name` against the bucket naming rules listed on [`BucketName`].
    pub fn parse(name: &str) -> Result<Self, NameError> {
        let invalid = |why: &str| Err(NameError::InvalidBucketName(why.to_owned()));
        if !(3..=63).contains(&name.len()) {
            return invalid("must be between 3 and 63 characters long");
        }
        if let Some(c) = name
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '-'))
        {
            return invalid(&format!(
                "must contain only lowercase letters, digits, '.' and '-' (found {c:?})"
            ));
        }
        let alnum = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
        if !alnum(name.bytes().next()) || !alnum(name.bytes().last()) {
            return invalid("must begin and end with a letter or digit");
        }
        if name.contains("..") {
            return invalid("must not contain two adjacent periods");
        }
        if name.contains(".-") || name.contains("-.") {
            return invalid("must not contain a period next to a hyphen");
        }
        if looks_like_ipv4(name) {
            return invalid("must not be formatted as an IP address");
        }
        if let Some(p) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(**p)) {
            return invalid(&format!("must not begin with the reserved prefix {p:?}"));
        }
        if let Some(s) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(**s)) {
            return invalid(&format!("must not end with the reserved suffix {s:?}"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the name, returning the inner string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for BucketName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Four dot-separated groups of 1–3 digits, whether or not each group is a
/// valid octet: S3 refuses anything *formatted* like an IPv4 address.
fn looks_like_ipv4(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    labels.len() == 4
        && labels
            .iter()
            .all(|l| (1..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_digit()))
}

/// An object key: non-empty UTF-8 of at most [`MAX_KEY_BYTES`] bytes.
///
/// Any Unicode is allowed, including `/`, control characters, `.` and `..`
/// segments (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>).
/// Keys with XML-hostile characters are the reason list operations offer
/// `encoding-type=url`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Validates an object key given as its **already percent-decoded** bytes
    /// (the router decodes the request path before calling this).
    ///
    /// Checks, in order: valid UTF-8 ([`NameError::InvalidUtf8`]), non-empty
    /// ([`NameError::EmptyKey`]), at most 1024 bytes ([`NameError::KeyTooLong`]).
    pub fn parse_bytes(decoded: &[u8]) -> Result<Self, NameError> {
        let key = std::str::from_utf8(decoded).map_err(|_| NameError::InvalidUtf8)?;
        Self::parse(key)
    }

    /// Validates an object key that is already a string (e.g. from an XML body
    /// or a form field): non-empty and at most 1024 bytes.
    pub fn parse(key: &str) -> Result<Self, NameError> {
        if key.is_empty() {
            return Err(NameError::EmptyKey);
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(NameError::KeyTooLong);
        }
        Ok(Self(key.to_owned()))
    }

    /// The key as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the key, returning the inner string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(name: &str) -> bool {
        matches!(
            BucketName::parse(name),
            Err(NameError::InvalidBucketName(_))
        )
    }

    #[test]
    fn accepts_ordinary_bucket_names() {
        for name in [
            "abc",
            "my-bucket",
            "my.bucket.name",
            "bucket-2024",
            "0123456789",
            "a1b",
            &"a".repeat(63),
            "192.168.5",         // three groups: not an IP address
            "1.2.3.4.5",         // five groups: not an IP address
            "my-xn--bucket",     // reserved prefix only matters at the start
            "s3alias-bucket",    // reserved suffix only matters at the end
            "bucket-s3alias-no", //
        ] {
            let parsed = BucketName::parse(name);
            assert!(parsed.is_ok(), "{name:?} should be valid: {parsed:?}");
            let parsed = parsed.expect("checked above");
            assert_eq!(parsed.as_str(), name);
            assert_eq!(parsed.to_string(), name);
        }
    }

    #[test]
    fn length_rule() {
        assert!(rejected(""));
        assert!(rejected("ab"));
        assert!(!rejected("abc"));
        assert!(!rejected(&"a".repeat(63)));
        assert!(rejected(&"a".repeat(64)));
    }

    #[test]
    fn charset_rule() {
        for name in [
            "MyBucket",
            "my_bucket",
            "my bucket",
            "bücket",
            "my/bucket",
            "my%bucket",
        ] {
            assert!(rejected(name), "{name:?}");
        }
    }

    #[test]
    fn must_start_and_end_with_letter_or_digit() {
        for name in ["-bucket", ".bucket", "bucket-", "bucket."] {
            assert!(rejected(name), "{name:?}");
        }
    }

    #[test]
    fn no_adjacent_periods_or_period_hyphen() {
        assert!(rejected("my..bucket"));
        assert!(rejected("my.-bucket"));
        assert!(rejected("my-.bucket"));
        assert!(!rejected("my--bucket"));
    }

    #[test]
    fn not_an_ip_address() {
        assert!(rejected("192.168.5.4"));
        assert!(rejected("10.0.0.1"));
        assert!(rejected("999.999.999.999")); // formatted like one
        assert!(!rejected("192.168.5.4a"));
    }

    #[test]
    fn reserved_prefixes() {
        assert!(rejected("xn--bucket"));
        assert!(rejected("sthree-bucket"));
        assert!(rejected("sthree-configurator"));
        assert!(rejected("amzn-s3-demo-bucket"));
    }

    #[test]
    fn reserved_suffixes() {
        assert!(rejected("bucket-s3alias"));
        assert!(rejected("bucket--ol-s3"));
        assert!(rejected("bucket.mrap"));
        assert!(rejected("bucket--x-s3"));
        assert!(rejected("bucket--table-s3"));
    }

    #[test]
    fn error_message_names_the_rule() {
        let err = BucketName::parse("ab").expect_err("too short");
        assert!(err.to_string().contains("between 3 and 63"), "{err}");
    }

    #[test]
    fn key_accepts_any_utf8() {
        for key in [
            "a",
            "dir/file.txt",
            "with space",
            "ünï/cødé 🚀",
            "/leading",
            "..",
            "a\u{1}b",
        ] {
            let k = ObjectKey::parse_bytes(key.as_bytes()).expect("valid key");
            assert_eq!(k.as_str(), key);
            assert_eq!(k.to_string(), key);
        }
    }

    #[test]
    fn key_rejects_invalid_utf8() {
        assert_eq!(
            ObjectKey::parse_bytes(b"ab\xffcd"),
            Err(NameError::InvalidUtf8)
        );
        assert_eq!(ObjectKey::parse_bytes(b"\xc3"), Err(NameError::InvalidUtf8));
    }

    #[test]
    fn key_rejects_empty() {
        assert_eq!(ObjectKey::parse_bytes(b""), Err(NameError::EmptyKey));
        assert_eq!(ObjectKey::parse(""), Err(NameError::EmptyKey));
    }

    #[test]
    fn key_length_limit_is_in_bytes() {
        assert!(ObjectKey::parse_bytes("a".repeat(1024).as_bytes()).is_ok());
        assert_eq!(
            ObjectKey::parse_bytes("a".repeat(1025).as_bytes()),
            Err(NameError::KeyTooLong)
        );
        // 512 two-byte characters = 1024 bytes: fine; one more is too long.
        assert!(ObjectKey::parse(&"é".repeat(512)).is_ok());
        assert_eq!(
            ObjectKey::parse(&"é".repeat(513)),
            Err(NameError::KeyTooLong)
        );
    }
}
