//! AWS Signature Version 4 in the `Authorization` header, for S3: parsing the
//! header, building the canonical request, verifying (server side) and signing
//! (client side, for our tools and tests).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use super::{Error, RequestView, SecretKey};

/// The algorithm name that starts a SigV4 `Authorization` header and string to sign.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// What an `Authorization` header value starts with when it is SigV4.
pub const AUTH_SCHEME_PREFIX: &str = "AWS4-HMAC-SHA256 ";
/// The last element of every credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";
/// The service name in the credential scope of S3 requests.
pub const SERVICE: &str = "s3";

/// `x-amz-content-sha256` when the body is not signed.
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `x-amz-content-sha256` for `aws-chunked` bodies with signed chunks,
/// see <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html>.
pub const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// `x-amz-content-sha256` for signed chunks followed by signed trailers,
/// see <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html>.
pub const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// `x-amz-content-sha256` for unsigned chunks followed by (unsigned) trailers.
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// SigV4a streaming, which we do not implement.
pub const STREAMING_ECDSA: &str = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD";
/// SigV4a streaming with trailers, which we do not implement.
pub const STREAMING_ECDSA_TRAILER: &str = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER";
/// The SHA-256 of an empty body, lowercase hex.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// `x-amz-content-sha256`: the header that says how the body is protected.
pub const CONTENT_SHA256_HEADER: &str = "x-amz-content-sha256";
/// `x-amz-date`: the request time in ISO 8601 basic format.
pub const AMZ_DATE_HEADER: &str = "x-amz-date";

type HmacSha256 = Hmac<Sha256>;

/// The parsed `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationV4 {
    /// The access key id.
    pub access_key: String,
    /// The scope date, `YYYYMMDD`.
    pub date: String,
    /// The scope region.
    pub region: String,
    /// The scope service (always `s3` once parsed).
    pub service: String,
    /// `SignedHeaders`, lowercased, in the order the client listed them.
    pub signed_headers: Vec<String>,
    /// The signature, lowercase hex.
    pub signature: String,
}

impl AuthorizationV4 {
    /// The credential scope, `date/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        credential_scope(&self.date, &self.region, &self.service)
    }

    /// Whether `name` (lowercase) is among the signed headers.
    pub fn signs(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|signed| signed == name)
    }
}

/// Parses the value of a SigV4 `Authorization` header.
///
/// Accepts the three components in any order, with or without spaces after the
/// commas. A wrong credential scope is [`Error::AuthorizationHeaderMalformed`];
/// anything else unparsable is [`Error::MalformedAuthorization`].
pub fn parse_authorization_v4(value: &str) -> Result<AuthorizationV4, Error> {
    let malformed = |why: &str| Error::MalformedAuthorization(why.to_owned());
    let rest = value
        .strip_prefix(AUTH_SCHEME_PREFIX)
        .ok_or_else(|| malformed("not AWS4-HMAC-SHA256"))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for component in rest.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let (name, value) = component
            .split_once('=')
            .ok_or_else(|| malformed("component without '='"))?;
        let slot = match name.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(malformed("unknown component")),
        };
        if slot.replace(value.trim()).is_some() {
            return Err(malformed("repeated component"));
        }
    }
    let credential = credential.ok_or_else(|| malformed("missing Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| malformed("missing SignedHeaders"))?;
    let signature = signature.ok_or_else(|| malformed("missing Signature"))?;
    let scope = parse_credential(credential)?;
    Ok(AuthorizationV4 {
        access_key: scope.access_key,
        date: scope.date,
        region: scope.region,
        service: scope.service,
        signed_headers: parse_signed_headers(signed_headers)?,
        signature: parse_signature(signature)?,
    })
}

/// The fields of `Credential=AKID/date/region/service/aws4_request`.
pub(crate) struct CredentialScope {
    pub(crate) access_key: String,
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) service: String,
}

pub(crate) fn parse_credential(credential: &str) -> Result<CredentialScope, Error> {
    let scope_error = |why: &str| Error::AuthorizationHeaderMalformed(why.to_owned());
    let mut parts = credential.rsplitn(5, '/');
    let (Some(terminator), Some(service), Some(region), Some(date), Some(access_key)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(scope_error(
            "the credential must have five '/'-separated parts",
        ));
    };
    if access_key.is_empty() {
        return Err(scope_error("empty access key"));
    }
    if !is_scope_date(date) {
        return Err(scope_error("invalid date in the credential scope"));
    }
    if region.is_empty() {
        return Err(scope_error("empty region in the credential scope"));
    }
    if service != SERVICE {
        return Err(scope_error("the credential scope service must be 's3'"));
    }
    if terminator != SCOPE_TERMINATOR {
        return Err(scope_error(
            "the credential scope must end with 'aws4_request'",
        ));
    }
    Ok(CredentialScope {
        access_key: access_key.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    })
}

fn is_scope_date(date: &str) -> bool {
    date.len() == 8
        && date.bytes().all(|b| b.is_ascii_digit())
        && time::Date::parse(date, format_description!("[year][month][day]")).is_ok()
}

pub(crate) fn parse_signed_headers(list: &str) -> Result<Vec<String>, Error> {
    let names: Vec<String> = list.split(';').map(str::to_ascii_lowercase).collect();
    if names.iter().any(|name| name.is_empty()) {
        return Err(Error::MalformedAuthorization(
            "empty name in SignedHeaders".into(),
        ));
    }
    Ok(names)
}

pub(crate) fn parse_signature(signature: &str) -> Result<String, Error> {
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::MalformedAuthorization(
            "the signature must be 64 hex digits".into(),
        ));
    }
    Ok(signature.to_ascii_lowercase())
}

/// How the body is protected, from `x-amz-content-sha256`.
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadHash {
    /// The SHA-256 of the whole body, lowercase hex.
    Sha256(String),
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature.
    Unsigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: `aws-chunked` with signed chunks.
    StreamingSigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks and signed trailers.
    StreamingSignedTrailer,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: unsigned chunks followed by trailers.
    StreamingUnsignedTrailer,
}

impl PayloadHash {
    /// The value as it appears in `x-amz-content-sha256` (and in the canonical request).
    pub fn as_str(&self) -> &str {
        match self {
            PayloadHash::Sha256(hex) => hex,
            PayloadHash::Unsigned => UNSIGNED_PAYLOAD,
            PayloadHash::StreamingSigned => STREAMING_SIGNED,
            PayloadHash::StreamingSignedTrailer => STREAMING_SIGNED_TRAILER,
            PayloadHash::StreamingUnsignedTrailer => STREAMING_UNSIGNED_TRAILER,
        }
    }

    /// Whether the body is `aws-chunked` encoded.
    pub fn is_streaming(&self) -> bool {
        matches!(
            self,
            PayloadHash::StreamingSigned
                | PayloadHash::StreamingSignedTrailer
                | PayloadHash::StreamingUnsignedTrailer
        )
    }

    /// Whether the `aws-chunked` body ends with trailers.
    pub fn has_trailer(&self) -> bool {
        matches!(
            self,
            PayloadHash::StreamingSignedTrailer | PayloadHash::StreamingUnsignedTrailer
        )
    }

    /// Checks a body's SHA-256 against a [`PayloadHash::Sha256`] value; every
    /// other variant accepts any digest (the body is checked another way or not at all).
    pub fn check_body_digest(&self, digest: &[u8; 32]) -> Result<(), Error> {
        match self {
            PayloadHash::Sha256(expected) if *expected != hex::encode(digest) => {
                Err(Error::ContentSha256Mismatch)
            }
            _ => Ok(()),
        }
    }
}

/// Parses `x-amz-content-sha256`.
///
/// SigV4a's ECDSA streaming values are [`Error::UnsupportedAlgorithm`]; anything
/// that is neither 64 hex digits nor a sentinel is [`Error::InvalidContentSha256`].
pub fn parse_payload_hash(value: &str) -> Result<PayloadHash, Error> {
    match value {
        UNSIGNED_PAYLOAD => Ok(PayloadHash::Unsigned),
        STREAMING_SIGNED => Ok(PayloadHash::StreamingSigned),
        STREAMING_SIGNED_TRAILER => Ok(PayloadHash::StreamingSignedTrailer),
        STREAMING_UNSIGNED_TRAILER => Ok(PayloadHash::StreamingUnsignedTrailer),
        STREAMING_ECDSA | STREAMING_ECDSA_TRAILER => {
            Err(Error::UnsupportedAlgorithm(value.to_owned()))
        }
        hex if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(PayloadHash::Sha256(hex.to_ascii_lowercase()))
        }
        other => Err(Error::InvalidContentSha256(other.to_owned())),
    }
}

/// Characters kept as they are in canonical URIs and query components: RFC 3986
/// unreserved (`A-Z a-z 0-9 - _ . ~`). Everything else becomes `%XX`.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Like [`STRICT`] but keeps `/`, for paths.
const PATH: &AsciiSet = &STRICT.remove(b'/');

/// Percent-encodes `bytes` the SigV4 way (uppercase hex), keeping `/` when `keep_slash`.
pub fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let set = if keep_slash { PATH } else { STRICT };
    percent_encoding::percent_encode(bytes, set).to_string()
}

/// The canonical URI: the path as sent, decoded once and encoded once with the
/// SigV4 rules. S3 does not double-encode, unlike every other service; see
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>.
pub fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_owned();
    }
    let decoded: Vec<u8> = percent_decode_str(raw_path).collect();
    uri_encode(&decoded, true)
}

/// The canonical query string: every parameter decoded (`+` meaning space, as S3
/// reads queries) and re-encoded strictly, sorted by name then value; a parameter
/// without a value becomes `name=`.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (encode_query_part(name), encode_query_part(value))
        })
        .collect();
    pairs.sort();
    let encoded: Vec<String> = pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    encoded.join("&")
}

fn encode_query_part(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    let decoded: Vec<u8> = percent_decode_str(&spaced).collect();
    uri_encode(&decoded, false)
}

/// The canonical headers block: for each signed header (lowercase, in the
/// given order) `name:value\n`, where value joins all its values with `,`, each
/// trimmed and with inner runs of spaces collapsed to one.
pub fn canonical_headers(headers: &HeaderMap, signed_headers: &[String]) -> String {
    let mut block = String::new();
    for name in signed_headers {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .map(|value| collapse_spaces(&String::from_utf8_lossy(value.as_bytes())))
            .collect();
        block.push_str(name);
        block.push(':');
        block.push_str(&values.join(","));
        block.push('\n');
    }
    block
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical request: method, canonical URI, canonical query, canonical
/// headers, signed headers and payload hash, separated by newlines.
pub fn canonical_request(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    signed_headers: &[String],
    payload_hash: &str,
) -> String {
    format!(
        "{method}\n{uri}\n{query}\n{canonical_headers}\n{signed}\n{payload_hash}",
        uri = canonical_uri(raw_path),
        query = canonical_query(raw_query),
        canonical_headers = canonical_headers(headers, signed_headers),
        signed = signed_headers.join(";"),
    )
}

/// The credential scope, `date/region/service/aws4_request`.
pub fn credential_scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/{SCOPE_TERMINATOR}")
}

/// The string to sign: algorithm, ISO timestamp, scope and the hex SHA-256 of
/// the canonical request.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hashed = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{hashed}")
}

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &SecretKey, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_secret = format!("AWS4{}", secret.expose());
    let k_date = hmac_sha256(k_secret.as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, SCOPE_TERMINATOR.as_bytes())
}

/// The hex signature of `string_to_sign` under `signing_key`.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()))
}

/// Formats a time as SigV4 wants it in `x-amz-date`: `20130524T000000Z`.
pub fn format_amz_date(time: OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    // Formatting a valid date with a fixed numeric description only fails for
    // years beyond four digits, which no clock we are given reaches.
    utc.format(format).unwrap_or_default()
}

pub(crate) fn parse_amz_date(value: &str) -> Result<OffsetDateTime, Error> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(value, format)
        .map(time::PrimitiveDateTime::assume_utc)
        .map_err(|_| Error::InvalidDate(value.to_owned()))
}

/// The request time: `x-amz-date` (ISO 8601 basic, `20130524T000000Z`) if
/// present, else `Date` (an HTTP date).
pub fn request_time(headers: &HeaderMap) -> Result<OffsetDateTime, Error> {
    if let Some(value) = headers.get(AMZ_DATE_HEADER) {
        let value = value
            .to_str()
            .map_err(|_| Error::InvalidDate("x-amz-date is not ASCII".into()))?;
        return parse_amz_date(value.trim());
    }
    let date = headers
        .get(http::header::DATE)
        .ok_or(Error::MissingDate)?
        .to_str()
        .map_err(|_| Error::InvalidDate("Date is not ASCII".into()))?;
    super::parse_http_date(date)
}

/// What a verified SigV4 request established; `aws-chunked` decoding needs it.
/// Its `Debug` output leaves out the signing key.
#[derive(Clone)]
pub struct VerifiedV4 {
    /// The access key that signed.
    pub access_key: String,
    /// The region of the credential scope.
    pub region: String,
    /// How the body is protected.
    pub payload_hash: PayloadHash,
    /// The derived signing key (secret material: do not log).
    pub signing_key: [u8; 32],
    /// The request's own signature, which seeds the chunk signature chain.
    pub seed_signature: String,
    /// The request time as `20130524T000000Z`.
    pub amz_date: String,
    /// The credential scope, `date/region/s3/aws4_request`.
    pub scope: String,
}

/// Verifies a SigV4 header-signed request.
///
/// Checks that `host` (and `x-amz-content-sha256` and `x-amz-date`) are signed,
/// that the request time is within 15 minutes of `now` and on the scope date,
/// that the scope region is `required_region` (when given), and the signature
/// itself, compared in constant time.
pub fn verify_v4(
    req: &RequestView,
    auth: &AuthorizationV4,
    secret: &SecretKey,
    now: OffsetDateTime,
    required_region: Option<&str>,
) -> Result<VerifiedV4, Error> {
    let payload_hash = payload_hash_header(req.headers)?;
    check_required_headers_signed(req.headers, auth)?;
    check_region(auth, required_region)?;
    let time = request_time(req.headers)?;
    let amz_date = format_amz_date(time);
    if !amz_date.starts_with(&auth.date) {
        return Err(Error::AuthorizationHeaderMalformed(
            "the credential scope date is not the request date".into(),
        ));
    }
    super::check_clock_skew(time, now)?;
    let canonical = canonical_request(
        req.method,
        req.raw_path,
        req.raw_query,
        req.headers,
        &auth.signed_headers,
        payload_hash.as_str(),
    );
    let scope = auth.scope();
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    let expected = signature(&key, &string_to_sign(&amz_date, &scope, &canonical));
    if !super::constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Err(Error::SignatureDoesNotMatch);
    }
    Ok(VerifiedV4 {
        access_key: auth.access_key.clone(),
        region: auth.region.clone(),
        payload_hash,
        signing_key: key,
        seed_signature: auth.signature.clone(),
        amz_date,
        scope,
    })
}

impl std::fmt::Debug for VerifiedV4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedV4")
            .field("access_key", &self.access_key)
            .field("region", &self.region)
            .field("payload_hash", &self.payload_hash)
            .field("signing_key", &"<redacted>")
            .field("seed_signature", &self.seed_signature)
            .field("amz_date", &self.amz_date)
            .field("scope", &self.scope)
            .finish()
    }
}

fn payload_hash_header(headers: &HeaderMap) -> Result<PayloadHash, Error> {
    let value = headers
        .get(CONTENT_SHA256_HEADER)
        .ok_or(Error::MissingContentSha256)?
        .to_str()
        .map_err(|_| Error::InvalidContentSha256("not ASCII".into()))?;
    parse_payload_hash(value.trim())
}

fn check_required_headers_signed(headers: &HeaderMap, auth: &AuthorizationV4) -> Result<(), Error> {
    if !auth.signs("host") {
        return Err(Error::UnsignedHeader("host".into()));
    }
    for name in [CONTENT_SHA256_HEADER, AMZ_DATE_HEADER] {
        if headers.contains_key(name) && !auth.signs(name) {
            return Err(Error::UnsignedHeader(name.into()));
        }
    }
    Ok(())
}

pub(crate) fn check_region(
    auth: &AuthorizationV4,
    required_region: Option<&str>,
) -> Result<(), Error> {
    match required_region {
        Some(expected) if expected != auth.region => Err(Error::WrongRegion {
            expected: expected.to_owned(),
            found: auth.region.clone(),
        }),
        _ => Ok(()),
    }
}

/// Signs a request for S3 with SigV4 in the `Authorization` header (client side).
///
/// Sets `x-amz-date` (from `now`) and `x-amz-content-sha256` (`payload_hash`,
/// a hex digest or a sentinel such as [`UNSIGNED_PAYLOAD`]), then `Authorization`,
/// signing `host`, every `x-amz-*` header, and `content-type`/`content-md5` if
/// present. `headers` must contain `host`.
#[allow(clippy::too_many_arguments)]
pub fn sign_v4(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &mut HeaderMap,
    payload_hash: &str,
    access_key: &str,
    secret: &SecretKey,
    region: &str,
    now: OffsetDateTime,
) -> Result<(), Error> {
    if !headers.contains_key(http::header::HOST) {
        return Err(Error::MissingHeader("host".into()));
    }
    let amz_date = format_amz_date(now);
    headers.insert(AMZ_DATE_HEADER, header_value(&amz_date)?);
    headers.insert(CONTENT_SHA256_HEADER, header_value(payload_hash)?);
    headers.remove(http::header::AUTHORIZATION);
    let signed_headers = headers_to_sign(headers);
    let canonical = canonical_request(
        method,
        raw_path,
        raw_query,
        headers,
        &signed_headers,
        payload_hash,
    );
    let date = amz_date
        .get(..8)
        .ok_or_else(|| Error::InvalidDate("the signing time cannot be formatted".into()))?;
    let scope = credential_scope(date, region, SERVICE);
    let key = signing_key(secret, date, region, SERVICE);
    let signature = signature(&key, &string_to_sign(&amz_date, &scope, &canonical));
    let authorization = format!(
        "{ALGORITHM} Credential={access_key}/{scope},SignedHeaders={signed},Signature={signature}",
        signed = signed_headers.join(";"),
    );
    headers.insert(http::header::AUTHORIZATION, header_value(&authorization)?);
    Ok(())
}

/// The headers [`sign_v4`] signs, sorted: `host`, `content-type`, `content-md5`
/// and every `x-amz-*`.
fn headers_to_sign(headers: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = headers
        .keys()
        .map(|name| name.as_str())
        .filter(|name| {
            matches!(*name, "host" | "content-type" | "content-md5") || name.starts_with("x-amz-")
        })
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn header_value(value: &str) -> Result<http::HeaderValue, Error> {
    http::HeaderValue::from_str(value)
        .map_err(|_| Error::MalformedAuthorization("value is not a valid header".into()))
}

/// Percent-encodes a single path segment or object key the way SDKs put it on
/// the wire (keeping `/`), e.g. for building `raw_path` in tests and tools.
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use time::macros::datetime;

    const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const DOC_TIME: OffsetDateTime = datetime!(2013-05-24 00:00:00 UTC);

    fn secret() -> SecretKey {
        SecretKey::new(SECRET)
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn doc_authorization(signed_headers: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders={signed_headers},Signature={signature}"
        )
    }

    fn verify(
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        now: OffsetDateTime,
        region: Option<&str>,
    ) -> Result<VerifiedV4, Error> {
        let auth = parse_authorization_v4(headers.get("authorization").unwrap().to_str().unwrap())?;
        let req = RequestView {
            method,
            raw_path: path,
            raw_query: query,
            headers,
        };
        verify_v4(&req, &auth, &secret(), now, region)
    }

    /// "Example: GET Object" from sig-v4-header-based-auth.html.
    fn doc_get_object() -> HeaderMap {
        headers(&[
            ("host", "examplebucket.s3.amazonaws.com"),
            ("range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY_SHA256),
            ("x-amz-date", "20130524T000000Z"),
            (
                "authorization",
                &doc_authorization(
                    "host;range;x-amz-content-sha256;x-amz-date",
                    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
                ),
            ),
        ])
    }

    #[test]
    fn doc_get_object_canonical_request_and_signature() {
        let headers = doc_get_object();
        let signed: Vec<String> = ["host", "range", "x-amz-content-sha256", "x-amz-date"]
            .map(String::from)
            .to_vec();
        let canonical = canonical_request("GET", "/test.txt", "", &headers, &signed, EMPTY_SHA256);
        assert_eq!(
            canonical,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n\
             x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
             x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let sts = string_to_sign(
            "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request",
            &canonical,
        );
        assert_eq!(
            sts,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n\
             7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
        );
        let verified = verify(
            "GET",
            "/test.txt",
            "",
            &headers,
            DOC_TIME,
            Some("us-east-1"),
        )
        .unwrap();
        assert_eq!(verified.access_key, ACCESS_KEY);
        assert_eq!(verified.region, "us-east-1");
        assert_eq!(verified.amz_date, "20130524T000000Z");
        assert_eq!(verified.scope, "20130524/us-east-1/s3/aws4_request");
        assert_eq!(
            verified.payload_hash,
            PayloadHash::Sha256(EMPTY_SHA256.into())
        );
        assert_eq!(
            verified.seed_signature,
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// "Example: PUT Object": a `Date` header, `x-amz-storage-class`, and a `$`
    /// sent unencoded that the canonical URI encodes as `%24`.
    #[test]
    fn doc_put_object() {
        let body_hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
        assert_eq!(
            hex::encode(Sha256::digest(b"Welcome to Amazon S3.")),
            body_hash
        );
        let signed = "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class";
        let headers = headers(&[
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-content-sha256", body_hash),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "authorization",
                &doc_authorization(
                    signed,
                    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
                ),
            ),
        ]);
        for path in ["/test$file.text", "/test%24file.text"] {
            let verified = verify("PUT", path, "", &headers, DOC_TIME, None).unwrap();
            assert!(
                verified
                    .payload_hash
                    .check_body_digest(&Sha256::digest(b"Welcome to Amazon S3.").into())
                    .is_ok()
            );
            assert!(matches!(
                verified
                    .payload_hash
                    .check_body_digest(&Sha256::digest(b"Welcome to Amazon S4.").into()),
                Err(Error::ContentSha256Mismatch)
            ));
        }
    }

    /// "Example: GET Bucket Lifecycle" and "Example: Get Bucket (List Objects)".
    #[test]
    fn doc_bucket_requests() {
        for (query, signature) in [
            (
                "lifecycle",
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
            ),
            (
                "max-keys=2&prefix=J",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
            ),
        ] {
            let headers = headers(&[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-content-sha256", EMPTY_SHA256),
                ("x-amz-date", "20130524T000000Z"),
                (
                    "authorization",
                    &doc_authorization("host;x-amz-content-sha256;x-amz-date", signature),
                ),
            ]);
            verify("GET", "/", query, &headers, DOC_TIME, Some("us-east-1"))
                .unwrap_or_else(|e| panic!("{query}: {e}"));
        }
    }

    #[test]
    fn doc_signing_key_matches_streaming_seed() {
        // The streaming example's canonical request, from sigv4-streaming.html:
        // its seed signature proves our canonicalisation of a Content-Length,
        // Content-Encoding and x-amz-decoded-content-length set.
        let headers = headers(&[
            ("content-encoding", "aws-chunked"),
            ("content-length", "66824"),
            ("host", "s3.amazonaws.com"),
            ("x-amz-content-sha256", STREAMING_SIGNED),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-decoded-content-length", "66560"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "authorization",
                &doc_authorization(
                    "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
                    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
                ),
            ),
        ]);
        let verified = verify(
            "PUT",
            "/examplebucket/chunkObject.txt",
            "",
            &headers,
            DOC_TIME,
            None,
        )
        .unwrap();
        assert_eq!(verified.payload_hash, PayloadHash::StreamingSigned);
        assert_eq!(
            verified.signing_key,
            signing_key(&secret(), "20130524", "us-east-1", "s3")
        );
    }

    #[test]
    fn skew_beyond_fifteen_minutes_is_refused() {
        let headers = doc_get_object();
        let ok = |now| verify("GET", "/test.txt", "", &headers, now, None);
        assert!(ok(DOC_TIME + time::Duration::minutes(15)).is_ok());
        assert!(ok(DOC_TIME - time::Duration::minutes(15)).is_ok());
        for now in [
            DOC_TIME + time::Duration::seconds(901),
            DOC_TIME - time::Duration::seconds(901),
        ] {
            assert!(matches!(ok(now), Err(Error::RequestTimeTooSkewed)));
        }
    }

    #[test]
    fn wrong_secret_is_refused() {
        let headers = doc_get_object();
        let auth = parse_authorization_v4(headers["authorization"].to_str().unwrap()).unwrap();
        let req = RequestView {
            method: "GET",
            raw_path: "/test.txt",
            raw_query: "",
            headers: &headers,
        };
        let wrong = SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ");
        assert!(matches!(
            verify_v4(&req, &auth, &wrong, DOC_TIME, None),
            Err(Error::SignatureDoesNotMatch)
        ));
    }

    #[test]
    fn tampering_is_refused() {
        let mut tampered = doc_get_object();
        tampered.insert("range", "bytes=0-10".parse().unwrap());
        assert!(matches!(
            verify("GET", "/test.txt", "", &tampered, DOC_TIME, None),
            Err(Error::SignatureDoesNotMatch)
        ));
        let headers = doc_get_object();
        for (method, path, query) in [
            ("PUT", "/test.txt", ""),
            ("GET", "/test.txu", ""),
            ("GET", "/test.txt", "acl"),
        ] {
            assert!(matches!(
                verify(method, path, query, &headers, DOC_TIME, None),
                Err(Error::SignatureDoesNotMatch)
            ));
        }
    }

    #[test]
    fn region_mismatch_is_refused() {
        let headers = doc_get_object();
        match verify(
            "GET",
            "/test.txt",
            "",
            &headers,
            DOC_TIME,
            Some("eu-west-1"),
        ) {
            Err(Error::WrongRegion { expected, found }) => {
                assert_eq!(expected, "eu-west-1");
                assert_eq!(found, "us-east-1");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scope_date_must_be_the_request_date() {
        let mut headers = doc_get_object();
        headers.insert("x-amz-date", "20130525T000000Z".parse().unwrap());
        assert!(matches!(
            verify(
                "GET",
                "/test.txt",
                "",
                &headers,
                datetime!(2013-05-25 00:00:00 UTC),
                None
            ),
            Err(Error::AuthorizationHeaderMalformed(_))
        ));
    }

    #[test]
    fn required_headers_must_be_present_and_signed() {
        let mut headers = doc_get_object();
        headers.remove("x-amz-content-sha256");
        assert!(matches!(
            verify("GET", "/test.txt", "", &headers, DOC_TIME, None),
            Err(Error::MissingContentSha256)
        ));

        let mut headers = doc_get_object();
        headers.insert(
            "authorization",
            doc_authorization(
                "range;x-amz-content-sha256;x-amz-date",
                "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            )
            .parse()
            .unwrap(),
        );
        assert!(matches!(
            verify("GET", "/test.txt", "", &headers, DOC_TIME, None),
            Err(Error::UnsignedHeader(name)) if name == "host"
        ));

        let mut headers = doc_get_object();
        headers.insert(
            "authorization",
            doc_authorization(
                "host;range;x-amz-date",
                "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            )
            .parse()
            .unwrap(),
        );
        assert!(matches!(
            verify("GET", "/test.txt", "", &headers, DOC_TIME, None),
            Err(Error::UnsignedHeader(name)) if name == "x-amz-content-sha256"
        ));

        let mut headers = doc_get_object();
        headers.remove("x-amz-date");
        assert!(matches!(
            verify("GET", "/test.txt", "", &headers, DOC_TIME, None),
            Err(Error::MissingDate)
        ));
        headers.insert(
            "x-amz-date",
            "Fri, 24 May 2013 00:00:00 GMT".parse().unwrap(),
        );
        assert!(matches!(
            verify("GET", "/test.txt", "", &headers, DOC_TIME, None),
            Err(Error::InvalidDate(_))
        ));
    }

    #[test]
    fn authorization_parsing_is_tolerant_and_strict_where_it_matters() {
        let sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
        let parsed = parse_authorization_v4(&format!(
            "AWS4-HMAC-SHA256 Signature={sig}, SignedHeaders=Host;X-Amz-Date,  Credential=AK/20130524/eu-central-1/s3/aws4_request"
        ))
        .unwrap();
        assert_eq!(parsed.access_key, "AK");
        assert_eq!(parsed.date, "20130524");
        assert_eq!(parsed.region, "eu-central-1");
        assert_eq!(parsed.service, "s3");
        assert_eq!(parsed.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(parsed.signature, sig);
        assert_eq!(parsed.scope(), "20130524/eu-central-1/s3/aws4_request");
        let trailing_comma = format!(
            "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature={sig},"
        );
        assert!(parse_authorization_v4(&trailing_comma).is_ok());

        let malformed_scope = [
            "AK/20130524/us-east-1/s3",
            "AK/2013052/us-east-1/s3/aws4_request",
            "AK/20131324/us-east-1/s3/aws4_request",
            "AK/20130524/us-east-1/ec2/aws4_request",
            "AK/20130524/us-east-1/s3/aws4_reques",
            "AK/20130524//s3/aws4_request",
            "/20130524/us-east-1/s3/aws4_request",
        ];
        for credential in malformed_scope {
            let value = format!(
                "AWS4-HMAC-SHA256 Credential={credential},SignedHeaders=host,Signature={sig}"
            );
            assert!(
                matches!(
                    parse_authorization_v4(&value),
                    Err(Error::AuthorizationHeaderMalformed(_))
                ),
                "{credential}"
            );
        }
        let malformed = [
            format!("AWS4-HMAC-SHA256 SignedHeaders=host,Signature={sig}"),
            "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,SignedHeaders=host".to_owned(),
            "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,Signature=abc,SignedHeaders=host".to_owned(),
            format!("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,SignedHeaders=,Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature={sig},Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature={sig},Extra=1"),
            format!("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request SignedHeaders=host,Signature={sig}"),
        ];
        for value in malformed {
            assert!(
                matches!(
                    parse_authorization_v4(&value),
                    Err(Error::MalformedAuthorization(_) | Error::AuthorizationHeaderMalformed(_))
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn payload_hash_values() {
        assert_eq!(
            parse_payload_hash(UNSIGNED_PAYLOAD).unwrap(),
            PayloadHash::Unsigned
        );
        assert_eq!(
            parse_payload_hash(STREAMING_SIGNED).unwrap(),
            PayloadHash::StreamingSigned
        );
        assert_eq!(
            parse_payload_hash(STREAMING_SIGNED_TRAILER).unwrap(),
            PayloadHash::StreamingSignedTrailer
        );
        assert_eq!(
            parse_payload_hash(STREAMING_UNSIGNED_TRAILER).unwrap(),
            PayloadHash::StreamingUnsignedTrailer
        );
        assert_eq!(
            parse_payload_hash(&EMPTY_SHA256.to_ascii_uppercase()).unwrap(),
            PayloadHash::Sha256(EMPTY_SHA256.into())
        );
        for ecdsa in [STREAMING_ECDSA, STREAMING_ECDSA_TRAILER] {
            assert!(matches!(
                parse_payload_hash(ecdsa),
                Err(Error::UnsupportedAlgorithm(_))
            ));
        }
        for bad in [
            "",
            "abc",
            "unsigned-payload",
            &EMPTY_SHA256[1..],
            &format!("{EMPTY_SHA256}0"),
        ] {
            assert!(
                matches!(parse_payload_hash(bad), Err(Error::InvalidContentSha256(_))),
                "{bad}"
            );
        }
        assert!(PayloadHash::StreamingUnsignedTrailer.is_streaming());
        assert!(PayloadHash::StreamingUnsignedTrailer.has_trailer());
        assert!(!PayloadHash::StreamingSigned.has_trailer());
        assert!(!PayloadHash::Unsigned.is_streaming());
    }

    #[test]
    fn canonical_uri_decodes_then_encodes_once() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/test$file.text"), "/test%24file.text");
        assert_eq!(canonical_uri("/a%2fb"), "/a/b");
        assert_eq!(canonical_uri("/a%20b/%E2%82%AC"), "/a%20b/%E2%82%AC");
        assert_eq!(canonical_uri("/a%2520b"), "/a%2520b");
        assert_eq!(canonical_uri("/A-z_0.9~"), "/A-z_0.9~");
        assert_eq!(canonical_uri("/a+b=c&d"), "/a%2Bb%3Dc%26d");
        assert_eq!(canonical_uri("//double//slash/"), "//double//slash/");
    }

    #[test]
    fn canonical_query_sorts_and_encodes_strictly() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("lifecycle"), "lifecycle=");
        assert_eq!(
            canonical_query("max-keys=2&prefix=J"),
            "max-keys=2&prefix=J"
        );
        assert_eq!(
            canonical_query("prefix=J&max-keys=2"),
            "max-keys=2&prefix=J"
        );
        assert_eq!(
            canonical_query("b=2&a=x+y&a=%2B&c=&&d"),
            "a=%2B&a=x%20y&b=2&c=&d="
        );
        assert_eq!(
            canonical_query("list-type=2&prefix=photos/2006/&delimiter=%2f"),
            "delimiter=%2F&list-type=2&prefix=photos%2F2006%2F"
        );
        assert_eq!(canonical_query("k=%7e%41"), "k=~A");
    }

    #[test]
    fn canonical_headers_trim_collapse_and_join() {
        let map = headers(&[
            ("x-amz-meta-a", "  one   two  "),
            ("x-amz-meta-a", "three"),
            ("my-header", "\tx\t y "),
        ]);
        let signed = ["my-header", "x-amz-meta-a"].map(String::from);
        assert_eq!(
            canonical_headers(&map, &signed),
            "my-header:x y\nx-amz-meta-a:one two,three\n"
        );
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let now = datetime!(2024-02-29 12:34:56 UTC);
        let mut map = headers(&[
            ("host", "localhost:9000"),
            ("content-type", "text/plain"),
            ("x-amz-meta-note", "a  b"),
            ("user-agent", "bench"),
        ]);
        let body_hash = hex::encode(Sha256::digest(b"hello"));
        let path = format!("/bucket/{}", encode_path("a key+with$odd/chars~é"));
        let query = "list-type=2&prefix=a%2Fb&delimiter=%2F";
        sign_v4(
            "PUT",
            &path,
            query,
            &mut map,
            &body_hash,
            "AKID",
            &secret(),
            "us-east-1",
            now,
        )
        .unwrap();
        assert_eq!(map["x-amz-date"], "20240229T123456Z");
        let auth = parse_authorization_v4(map["authorization"].to_str().unwrap()).unwrap();
        assert_eq!(
            auth.signed_headers,
            [
                "content-type",
                "host",
                "x-amz-content-sha256",
                "x-amz-date",
                "x-amz-meta-note"
            ]
        );
        let req = RequestView {
            method: "PUT",
            raw_path: &path,
            raw_query: query,
            headers: &map,
        };
        let verified = verify_v4(&req, &auth, &secret(), now, Some("us-east-1")).unwrap();
        assert_eq!(verified.access_key, "AKID");
        assert!(!format!("{verified:?}").contains(&format!("{:?}", verified.signing_key)));
        assert_eq!(verified.payload_hash, PayloadHash::Sha256(body_hash));

        // Unsigned headers may change; signed ones may not.
        let mut other_agent = map.clone();
        other_agent.insert("user-agent", "other".parse().unwrap());
        let req = RequestView {
            headers: &other_agent,
            ..req
        };
        assert!(verify_v4(&req, &auth, &secret(), now, None).is_ok());
        let mut other_type = map.clone();
        other_type.insert("content-type", "text/html".parse().unwrap());
        let req = RequestView {
            headers: &other_type,
            ..req
        };
        assert!(matches!(
            verify_v4(&req, &auth, &secret(), now, None),
            Err(Error::SignatureDoesNotMatch)
        ));
    }

    #[test]
    fn signing_requires_host() {
        let mut map = HeaderMap::new();
        assert!(matches!(
            sign_v4(
                "GET",
                "/",
                "",
                &mut map,
                EMPTY_SHA256,
                "AK",
                &secret(),
                "us-east-1",
                DOC_TIME
            ),
            Err(Error::MissingHeader(_))
        ));
    }

    #[test]
    fn request_time_prefers_x_amz_date() {
        let map = headers(&[
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000001Z"),
        ]);
        assert_eq!(
            request_time(&map).unwrap(),
            datetime!(2013-05-24 00:00:01 UTC)
        );
        let map = headers(&[("date", "Fri, 24 May 2013 00:00:00 GMT")]);
        assert_eq!(request_time(&map).unwrap(), DOC_TIME);
        assert!(matches!(
            request_time(&HeaderMap::new()),
            Err(Error::MissingDate)
        ));
        assert_eq!(format_amz_date(DOC_TIME), "20130524T000000Z");
    }
}
