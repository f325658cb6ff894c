//! Request authentication for the S3 API: telling who signed a request and
//! whether the signature holds.
//!
//! This module is pure (no I/O, no clock of its own): callers hand it a
//! [`RequestView`] of the request head, the secret they looked up, and the time.
//! It owns
//! - [`sigv4`]: AWS Signature Version 4 in the `Authorization` header,
//! - [`sigv2`]: the legacy Signature Version 2 (`Authorization: AWS key:sig`),
//! - [`chunked`]: decoding `aws-chunked` bodies with per-chunk signatures and trailers,
//! - [`checksum`]: the `x-amz-checksum-*` algorithms.
//!
//! Every failure is an [`Error`] saying what happened; the HTTP layer decides
//! which S3 error code it becomes
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>).

pub mod checksum;
pub mod chunked;
pub mod presign;
pub mod sigv2;
pub mod sigv4;

use std::fmt;

use subtle::ConstantTimeEq;

/// What went wrong while authenticating a request or decoding its body.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `Authorization` header could not be parsed at all.
    #[error("malformed Authorization header: {0}")]
    MalformedAuthorization(String),
    /// The SigV4 credential scope is wrong (date, service, terminator); S3 calls
    /// this `AuthorizationHeaderMalformed`.
    #[error("authorization header malformed: {0}")]
    AuthorizationHeaderMalformed(String),
    /// The credential scope names another region than the one this server serves.
    #[error("the region '{found}' is wrong; expecting '{expected}'")]
    WrongRegion {
        /// The region this server requires.
        expected: String,
        /// The region the client signed for.
        found: String,
    },
    /// The `Authorization` scheme (or a signing algorithm) is one we do not implement,
    /// e.g. SigV4a's `AWS4-ECDSA-P256-SHA256`.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The computed signature differs from the one the client sent.
    #[error("the request signature does not match")]
    SignatureDoesNotMatch,
    /// The request time is more than 15 minutes away from the server's clock.
    #[error("the difference between the request time and the server's time is too large")]
    RequestTimeTooSkewed,
    /// Neither `x-amz-date` nor `Date` is present.
    #[error("the request has no x-amz-date or Date header")]
    MissingDate,
    /// A date header (or the scope date) could not be parsed.
    #[error("invalid date: {0}")]
    InvalidDate(String),
    /// A header that has to be present is absent (e.g. `host` when signing).
    #[error("missing header: {0}")]
    MissingHeader(String),
    /// A header that must be covered by the signature is not in `SignedHeaders`.
    #[error("header is present or required but not signed: {0}")]
    UnsignedHeader(String),
    /// SigV4 header auth without `x-amz-content-sha256`.
    #[error("missing x-amz-content-sha256")]
    MissingContentSha256,
    /// `x-amz-content-sha256` is neither a SHA-256 hex digest nor a known sentinel.
    #[error("invalid x-amz-content-sha256: {0}")]
    InvalidContentSha256(String),
    /// The body's SHA-256 differs from `x-amz-content-sha256`.
    #[error("the body does not match x-amz-content-sha256")]
    ContentSha256Mismatch,
    /// `aws-chunked` framing is broken.
    #[error("invalid aws-chunked framing: {0}")]
    InvalidChunk(String),
    /// A chunk's signature does not match its data.
    #[error("chunk signature does not match")]
    ChunkSignatureMismatch,
    /// The `x-amz-trailer-signature` does not match the trailers.
    #[error("trailer signature does not match")]
    TrailerSignatureMismatch,
    /// The body ended before the terminating chunk (and trailers).
    #[error("the body ended before the final chunk")]
    IncompleteBody,
    /// A trailing checksum differs from the checksum of the decoded body.
    #[error("the {algorithm} checksum in the trailer does not match the body")]
    TrailerChecksumMismatch {
        /// The algorithm whose value mismatched.
        algorithm: checksum::ChecksumAlgorithm,
    },
    /// A trailer that had to be sent is missing.
    #[error("missing trailer: {0}")]
    MissingTrailer(String),
    /// A checksum value is not valid base64 of the algorithm's digest size.
    #[error("invalid checksum value: {0}")]
    InvalidChecksum(String),
    /// Presigned-URL parameters are missing or invalid (S3's
    /// `AuthorizationQueryParametersError`).
    #[error("{0}")]
    QueryParameters(String),
    /// A presigned URL used after its expiry.
    #[error("Request has expired")]
    Expired {
        /// When it expired.
        expires: time::OffsetDateTime,
        /// The server's time.
        now: time::OffsetDateTime,
    },
    /// A SigV4 presigned URL dated in the future (beyond the allowed clock skew).
    #[error("Request is not valid yet")]
    NotYetValid,
    /// Both an `Authorization` header and query-string authentication.
    #[error(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
    )]
    TwoAuthMechanisms,
}

/// An access key's secret. Never printed; compared in constant time.
#[derive(Clone)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for computing signatures. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretKey {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretKey {}

/// The parts of a request head that authentication looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// The HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// The path exactly as on the wire, still percent-encoded, without the query.
    pub raw_path: &'a str,
    /// The query string as on the wire, without `?`; may be empty.
    pub raw_query: &'a str,
    /// All request headers.
    pub headers: &'a http::HeaderMap,
}

/// Who a request claims to be, and how it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No `Authorization` header: an anonymous request.
    Anonymous,
    /// `Authorization: AWS4-HMAC-SHA256 ...`.
    V4(sigv4::AuthorizationV4),
    /// `Authorization: AWS AKID:signature`.
    V2(sigv2::AuthorizationV2),
    /// A SigV4 presigned URL (`X-Amz-Algorithm=...` in the query).
    PresignedV4(presign::PresignedV4),
    /// A SigV2 presigned URL (`AWSAccessKeyId=...&Expires=...&Signature=...`).
    PresignedV2(presign::PresignedV2),
}

impl Credentials {
    /// The access key the request claims, if any.
    pub fn access_key(&self) -> Option<&str> {
        match self {
            Credentials::Anonymous => None,
            Credentials::V4(auth) => Some(&auth.access_key),
            Credentials::V2(auth) => Some(&auth.access_key),
            Credentials::PresignedV4(p) => Some(&p.auth.access_key),
            Credentials::PresignedV2(p) => Some(&p.access_key),
        }
    }
}

/// Reads the `Authorization` header and tells which scheme the request uses.
///
/// Query-string authentication (a presigned URL) without the header: the
/// `Presigned*` variants; both at once is an error, as on S3. Neither: [`Credentials::Anonymous`]. Any scheme other than SigV4 with
/// HMAC-SHA256 or SigV2 (including SigV4a's `AWS4-ECDSA-P256-SHA256`) is an error.
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html>.
pub fn parse_credentials(req: &RequestView) -> Result<Credentials, Error> {
    let presigned = presign::parse(req.raw_query)?;
    let Some(value) = req.headers.get(http::header::AUTHORIZATION) else {
        return Ok(match presigned {
            None => Credentials::Anonymous,
            Some(presign::Presigned::V4(p)) => Credentials::PresignedV4(p),
            Some(presign::Presigned::V2(p)) => Credentials::PresignedV2(p),
        });
    };
    if presigned.is_some() {
        return Err(Error::TwoAuthMechanisms);
    }
    let value = value
        .to_str()
        .map_err(|_| Error::MalformedAuthorization("not visible ASCII".into()))?;
    if value.starts_with(sigv4::AUTH_SCHEME_PREFIX) {
        return sigv4::parse_authorization_v4(value).map(Credentials::V4);
    }
    if value.starts_with(sigv2::AUTH_SCHEME_PREFIX) {
        return sigv2::parse_authorization_v2(value).map(Credentials::V2);
    }
    let scheme = value.split_whitespace().next().unwrap_or_default();
    Err(Error::UnsupportedAlgorithm(scheme.to_owned()))
}

/// Parses a date the way HTTP and S3 write it: IMF-fixdate (`Fri, 24 May 2013
/// 00:00:00 GMT`), RFC 2822 with a numeric zone (`Tue, 27 Mar 2007 19:36:42 +0000`,
/// as in AWS's SigV2 examples), RFC 850, or asctime.
pub(crate) fn parse_http_date(value: &str) -> Result<time::OffsetDateTime, Error> {
    use time::format_description::well_known::Rfc2822;
    use time::macros::format_description;

    let value = value.trim();
    let invalid = || Error::InvalidDate(value.to_owned());
    if let Ok(parsed) = time::OffsetDateTime::parse(value, &Rfc2822) {
        return Ok(parsed);
    }
    // RFC 2822 parsers disagree about "GMT"; IMF-fixdate always ends with it.
    let imf_fixdate = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let rfc850 = format_description!(
        "[weekday], [day]-[month repr:short]-[year repr:last_two] [hour]:[minute]:[second] GMT"
    );
    let asctime = format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
    );
    if let Ok(parsed) = time::PrimitiveDateTime::parse(value, &imf_fixdate) {
        return Ok(parsed.assume_utc());
    }
    if let Ok(parsed) = time::PrimitiveDateTime::parse(value, &asctime) {
        return Ok(parsed.assume_utc());
    }
    parse_rfc850(value, rfc850).ok_or_else(invalid)
}

/// RFC 850 dates have two-digit years; RFC 9110 says to read them as the
/// nearest century that is not more than 50 years in the future. We pick 19xx
/// for 70..=99 and 20xx otherwise, which is what that rule gives until 2070.
fn parse_rfc850(
    value: &str,
    format: &[time::format_description::BorrowedFormatItem<'_>],
) -> Option<time::OffsetDateTime> {
    let mut parsed = time::parsing::Parsed::new();
    let rest = parsed.parse_items(value.as_bytes(), format).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let two_digits = parsed.year_last_two()?;
    let year = if two_digits >= 70 {
        1900 + i32::from(two_digits)
    } else {
        2000 + i32::from(two_digits)
    };
    let date = time::Date::from_calendar_date(year, parsed.month()?, parsed.day()?.get()).ok()?;
    let clock = time::Time::from_hms(parsed.hour_24()?, parsed.minute()?, parsed.second()?).ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_utc())
}

/// The largest allowed difference between the request time and the server clock,
/// see <https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html#RESTAuthenticationTimeStamp>.
pub const MAX_CLOCK_SKEW: time::Duration = time::Duration::minutes(15);

/// Fails with [`Error::RequestTimeTooSkewed`] when `request_time` is more than
/// [`MAX_CLOCK_SKEW`] away from `now`, in either direction.
pub fn check_clock_skew(
    request_time: time::OffsetDateTime,
    now: time::OffsetDateTime,
) -> Result<(), Error> {
    if (now - request_time).abs() > MAX_CLOCK_SKEW {
        return Err(Error::RequestTimeTooSkewed);
    }
    Ok(())
}

/// Compares two signatures (or any secrets) without leaking where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use http::HeaderMap;
    use time::macros::datetime;

    fn view(headers: &HeaderMap) -> RequestView<'_> {
        RequestView {
            method: "GET",
            raw_path: "/",
            raw_query: "",
            headers,
        }
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let key = SecretKey::new("super-secret");
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
        assert_eq!(key.expose(), "super-secret");
        assert_eq!(key, SecretKey::from("super-secret".to_owned()));
        assert_ne!(key, SecretKey::new("super-secreT"));
    }

    #[test]
    fn no_authorization_is_anonymous() {
        let headers = HeaderMap::new();
        let creds = parse_credentials(&view(&headers)).unwrap();
        assert_eq!(creds, Credentials::Anonymous);
        assert_eq!(creds.access_key(), None);
    }

    #[test]
    fn schemes_are_told_apart() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000"
                .parse()
                .unwrap(),
        );
        let creds = parse_credentials(&view(&headers)).unwrap();
        assert!(matches!(creds, Credentials::V4(_)));
        assert_eq!(creds.access_key(), Some("AK"));

        headers.insert("authorization", "AWS AK2:c2ln".parse().unwrap());
        let creds = parse_credentials(&view(&headers)).unwrap();
        assert!(matches!(creds, Credentials::V2(_)));
        assert_eq!(creds.access_key(), Some("AK2"));

        for other in [
            "AWS4-ECDSA-P256-SHA256 Credential=AK/20130524/s3/aws4_request",
            "Bearer abc",
            "AWS4-HMAC-SHA1 x",
        ] {
            headers.insert("authorization", other.parse().unwrap());
            assert!(
                matches!(
                    parse_credentials(&view(&headers)),
                    Err(Error::UnsupportedAlgorithm(_))
                ),
                "{other}"
            );
        }
    }

    #[test]
    fn http_dates_in_all_forms() {
        let expected = datetime!(1994-11-06 08:49:37 UTC);
        for value in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 +0000",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(value).unwrap(), expected, "{value}");
        }
        assert_eq!(
            parse_http_date("Tue, 27 Mar 2007 19:36:42 +0000").unwrap(),
            datetime!(2007-03-27 19:36:42 UTC)
        );
        assert!(matches!(
            parse_http_date("yesterday"),
            Err(Error::InvalidDate(_))
        ));
    }

    #[test]
    fn skew_is_fifteen_minutes_either_way() {
        let t = datetime!(2013-05-24 00:00:00 UTC);
        assert!(check_clock_skew(t, t + time::Duration::minutes(15)).is_ok());
        assert!(check_clock_skew(t, t - time::Duration::minutes(15)).is_ok());
        assert!(matches!(
            check_clock_skew(t, t + time::Duration::seconds(901)),
            Err(Error::RequestTimeTooSkewed)
        ));
        assert!(matches!(
            check_clock_skew(t, t - time::Duration::seconds(901)),
            Err(Error::RequestTimeTooSkewed)
        ));
    }
}
