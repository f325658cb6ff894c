//! Query-string authentication: presigned URLs.
//!
//! - SigV4: `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`
//!   (1..=604800 seconds), `X-Amz-SignedHeaders`, `X-Amz-Signature`; the canonical query
//!   is every parameter but the signature, and the payload is `UNSIGNED-PAYLOAD` unless
//!   the request carries `x-amz-content-sha256`.
//!   <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>
//! - SigV2: `AWSAccessKeyId`, `Expires` (seconds since the epoch), `Signature`; the
//!   string to sign has `Expires` where the header form has the date.
//!   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html#RESTAuthenticationQueryStringAuth>
//!
//! Expiry is checked against the server clock: a URL past its expiry is
//! [`Error::Expired`] (`AccessDenied`, "Request has expired"); a SigV4 URL dated more than
//! the allowed clock skew in the future is [`Error::NotYetValid`].

use percent_encoding::percent_decode_str;
use time::OffsetDateTime;

use super::sigv4::{self, AuthorizationV4, PayloadHash, VerifiedV4};
use super::{Error, RequestView, SecretKey, sigv2};

/// The longest a SigV4 presigned URL may be valid: seven days.
pub const MAX_EXPIRES_SECS: i64 = 604_800;

/// A SigV4 presigned URL's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedV4 {
    /// The credential, signed headers and signature, as in the header form.
    pub auth: AuthorizationV4,
    /// `X-Amz-Date` (`20130524T000000Z`).
    pub amz_date: String,
    /// `X-Amz-Expires`, seconds.
    pub expires: i64,
}

/// A SigV2 presigned URL's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedV2 {
    /// `AWSAccessKeyId`.
    pub access_key: String,
    /// `Expires`, as sent (it is part of the string to sign).
    pub expires: String,
    /// `Signature`, decoded.
    pub signature: String,
}

/// The decoded query parameters, in order.
fn query_params(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (decode(name), decode(value))
        })
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// What kind of query authentication a request carries, if any.
pub enum Presigned {
    /// SigV4 query parameters.
    V4(PresignedV4),
    /// SigV2 query parameters.
    V2(PresignedV2),
}

/// Reads presigned-URL parameters from the query: `Ok(None)` when there are none.
pub fn parse(raw_query: &str) -> Result<Option<Presigned>, Error> {
    if raw_query.is_empty() {
        return Ok(None);
    }
    let params = query_params(raw_query);
    if param(&params, "X-Amz-Algorithm").is_some()
        || param(&params, "X-Amz-Credential").is_some()
        || param(&params, "X-Amz-Signature").is_some()
    {
        return parse_v4(&params).map(|p| Some(Presigned::V4(p)));
    }
    if param(&params, "AWSAccessKeyId").is_some() || param(&params, "Signature").is_some() {
        return parse_v2(&params).map(|p| Some(Presigned::V2(p)));
    }
    Ok(None)
}

fn parse_v4(params: &[(String, String)]) -> Result<PresignedV4, Error> {
    let missing = || {
        Error::QueryParameters(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, \
             X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and \
             X-Amz-Expires parameters."
                .into(),
        )
    };
    let get = |name: &str| param(params, name).ok_or_else(missing);
    let algorithm = get("X-Amz-Algorithm")?;
    if algorithm != sigv4::ALGORITHM {
        return Err(Error::QueryParameters(format!(
            "X-Amz-Algorithm only supports \"{}\"",
            sigv4::ALGORITHM
        )));
    }
    let credential = get("X-Amz-Credential")?;
    let amz_date = get("X-Amz-Date")?;
    let expires = get("X-Amz-Expires")?;
    let signed_headers = get("X-Amz-SignedHeaders")?;
    let signature = get("X-Amz-Signature")?;
    let expires: i64 = expires
        .parse()
        .map_err(|_| Error::QueryParameters("X-Amz-Expires should be a number".into()))?;
    if expires < 1 {
        return Err(Error::QueryParameters(
            "X-Amz-Expires must be non-negative".into(),
        ));
    }
    if expires > MAX_EXPIRES_SECS {
        return Err(Error::QueryParameters(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES_SECS}"
        )));
    }
    let scope = sigv4::parse_credential(credential).map_err(|e| {
        Error::QueryParameters(format!("Error parsing the X-Amz-Credential parameter; {e}"))
    })?;
    Ok(PresignedV4 {
        auth: AuthorizationV4 {
            access_key: scope.access_key,
            date: scope.date,
            region: scope.region,
            service: scope.service,
            signed_headers: sigv4::parse_signed_headers(signed_headers)
                .map_err(|e| Error::QueryParameters(e.to_string()))?,
            signature: sigv4::parse_signature(signature)
                .map_err(|e| Error::QueryParameters(e.to_string()))?,
        },
        amz_date: amz_date.to_owned(),
        expires,
    })
}

fn parse_v2(params: &[(String, String)]) -> Result<PresignedV2, Error> {
    let get = |name: &str| {
        param(params, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Error::QueryParameters(
                    "Query-string authentication requires the Signature, Expires and \
                 AWSAccessKeyId parameters"
                        .into(),
                )
            })
    };
    let access_key = get("AWSAccessKeyId")?;
    let signature = get("Signature")?;
    let expires = get("Expires")?;
    if expires.parse::<i64>().is_err() {
        return Err(Error::QueryParameters("Expires should be a number".into()));
    }
    Ok(PresignedV2 {
        access_key: access_key.to_owned(),
        expires: expires.to_owned(),
        signature: signature.to_owned(),
    })
}

/// The raw query without `X-Amz-Signature`, for the canonical request.
fn query_without_signature(raw_query: &str) -> String {
    raw_query
        .split('&')
        .filter(|p| {
            let name = p.split_once('=').map_or(*p, |(n, _)| n);
            !name.is_empty() && name != "X-Amz-Signature"
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Verifies a SigV4 presigned request at `now`.
pub fn verify_v4(
    req: &RequestView,
    p: &PresignedV4,
    secret: &SecretKey,
    now: OffsetDateTime,
    required_region: Option<&str>,
) -> Result<VerifiedV4, Error> {
    if !p.auth.signs("host") {
        return Err(Error::UnsignedHeader("host".into()));
    }
    sigv4::check_region(&p.auth, required_region).map_err(|e| match e {
        Error::WrongRegion { expected, found } => Error::QueryParameters(format!(
            "Error parsing the X-Amz-Credential parameter; the region '{found}' is wrong; \
             expecting '{expected}'"
        )),
        other => other,
    })?;
    let time = sigv4::parse_amz_date(&p.amz_date).map_err(|_| {
        Error::QueryParameters(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"".into(),
        )
    })?;
    if !p.amz_date.starts_with(&p.auth.date) {
        return Err(Error::QueryParameters(
            "Error parsing the X-Amz-Credential parameter; the date does not match X-Amz-Date"
                .into(),
        ));
    }
    if time - now > super::MAX_CLOCK_SKEW {
        return Err(Error::NotYetValid);
    }
    let expiry = time + time::Duration::seconds(p.expires);
    if now > expiry {
        return Err(Error::Expired {
            expires: expiry,
            now,
        });
    }
    let payload_hash = match req.headers.get(sigv4::CONTENT_SHA256_HEADER) {
        Some(v) => sigv4::parse_payload_hash(
            v.to_str()
                .map_err(|_| Error::InvalidContentSha256("not ASCII".into()))?
                .trim(),
        )?,
        None => PayloadHash::Unsigned,
    };
    // Streaming bodies need a seed signature chain of their own; S3 does not sign
    // presigned uploads that way either.
    if payload_hash.is_streaming() {
        return Err(Error::InvalidContentSha256(
            "streaming payloads cannot be presigned".into(),
        ));
    }
    let canonical = sigv4::canonical_request(
        req.method,
        req.raw_path,
        &query_without_signature(req.raw_query),
        req.headers,
        &p.auth.signed_headers,
        payload_hash.as_str(),
    );
    let scope = p.auth.scope();
    let key = sigv4::signing_key(secret, &p.auth.date, &p.auth.region, &p.auth.service);
    let expected = sigv4::signature(
        &key,
        &sigv4::string_to_sign(&p.amz_date, &scope, &canonical),
    );
    if !super::constant_time_eq(expected.as_bytes(), p.auth.signature.as_bytes()) {
        return Err(Error::SignatureDoesNotMatch);
    }
    Ok(VerifiedV4 {
        access_key: p.auth.access_key.clone(),
        region: p.auth.region.clone(),
        payload_hash,
        signing_key: key,
        seed_signature: p.auth.signature.clone(),
        amz_date: p.amz_date.clone(),
        scope,
    })
}

/// Verifies a SigV2 presigned request at `now`.
pub fn verify_v2(
    req: &RequestView,
    p: &PresignedV2,
    secret: &SecretKey,
    virtual_host_bucket: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let expires = p
        .expires
        .parse::<i64>()
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| Error::QueryParameters("Expires should be a number".into()))?;
    if now > expires {
        return Err(Error::Expired { expires, now });
    }
    let string_to_sign = sigv2::string_to_sign_v2_presigned(req, virtual_host_bucket, &p.expires);
    let expected = sigv2::signature_v2(secret, &string_to_sign);
    if !super::constant_time_eq(expected.as_bytes(), p.signature.as_bytes()) {
        return Err(Error::SignatureDoesNotMatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_v4_and_v2_query_authentication() {
        let v4 = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
                  &X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host\
                  &X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000";
        assert!(
            matches!(parse(v4), Ok(Some(Presigned::V4(p))) if p.expires == 60 && p.auth.access_key == "AK")
        );
        let v2 = "AWSAccessKeyId=AK&Expires=1700000000&Signature=abc%2Bdef%3D";
        assert!(matches!(parse(v2), Ok(Some(Presigned::V2(p))) if p.signature == "abc+def="));
        assert!(matches!(parse("acl"), Ok(None)));
        assert!(matches!(parse(""), Ok(None)));
    }

    #[test]
    fn expires_must_be_one_second_to_a_week() {
        let with = |expires: &str| {
            format!(
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
                 &X-Amz-Date=20260101T000000Z&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host\
                 &X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000"
            )
        };
        for bad in ["0", "-1", "604801", "soon"] {
            assert!(
                matches!(parse(&with(bad)), Err(Error::QueryParameters(_))),
                "{bad}"
            );
        }
        assert!(parse(&with("604800")).is_ok());
        assert!(matches!(
            parse("X-Amz-Algorithm=AWS4-HMAC-SHA256"),
            Err(Error::QueryParameters(_))
        ));
    }

    #[test]
    fn the_signature_is_left_out_of_the_canonical_query() {
        assert_eq!(
            query_without_signature("b=2&X-Amz-Signature=abc&a=1"),
            "b=2&a=1"
        );
    }
}

/// What a SigV4 presigned URL is for: [`presign_v4`] signs it.
#[derive(Debug, Clone)]
pub struct PresignRequest<'a> {
    /// `GET`, `PUT`, ...
    pub method: &'a str,
    /// The `Host` the URL is sent to (`host` or `host:port`, as the client will send it).
    pub host: &'a str,
    /// The request path, already percent-encoded (`/bucket/key`).
    pub raw_path: &'a str,
    /// Further query parameters, signed with the rest (e.g.
    /// `response-content-disposition`), not encoded.
    pub params: &'a [(&'a str, String)],
    /// The signing key's id.
    pub access_key: &'a str,
    /// Region of the credential scope.
    pub region: &'a str,
    /// Signing time.
    pub now: OffsetDateTime,
    /// Validity in seconds, 1..=[`MAX_EXPIRES_SECS`].
    pub expires: i64,
}

/// The query string of a SigV4 presigned URL for `req`, signed with `secret`: what the
/// console hands out for downloads and share links. Verified by [`verify_v4`] like any
/// client's.
pub fn presign_v4(req: &PresignRequest<'_>, secret: &SecretKey) -> String {
    let date = sigv4::format_amz_date(req.now);
    let day = &date[..8.min(date.len())];
    let scope = sigv4::credential_scope(day, req.region, "s3");
    let encode = |s: &str| sigv4::uri_encode(s.as_bytes(), false);
    let mut query: Vec<(String, String)> = vec![
        ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
        (
            "X-Amz-Credential".into(),
            encode(&format!("{}/{scope}", req.access_key)),
        ),
        ("X-Amz-Date".into(), date.clone()),
        (
            "X-Amz-Expires".into(),
            req.expires.clamp(1, MAX_EXPIRES_SECS).to_string(),
        ),
        ("X-Amz-SignedHeaders".into(), "host".into()),
    ];
    query.extend(req.params.iter().map(|(n, v)| (encode(n), encode(v))));
    let raw_query = query
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = http::HeaderMap::new();
    if let Ok(host) = http::HeaderValue::from_str(req.host) {
        headers.insert(http::header::HOST, host);
    }
    let canonical = sigv4::canonical_request(
        req.method,
        req.raw_path,
        &raw_query,
        &headers,
        &["host".to_owned()],
        "UNSIGNED-PAYLOAD",
    );
    let to_sign = sigv4::string_to_sign(&date, &scope, &canonical);
    let key = sigv4::signing_key(secret, day, req.region, "s3");
    format!(
        "{raw_query}&X-Amz-Signature={}",
        sigv4::signature(&key, &to_sign)
    )
}

#[cfg(test)]
mod presign_tests {
    use super::*;

    /// A URL this module signs passes this module's verification, and only for its host.
    #[test]
    fn presigned_urls_verify() {
        let secret = SecretKey::new("secret/key+1");
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        let params = [(
            "response-content-disposition",
            "attachment; filename=\"a b.txt\"".to_string(),
        )];
        let req = PresignRequest {
            method: "GET",
            host: "127.0.0.1:9000",
            raw_path: "/bucket/dir/a%20b.txt",
            params: &params,
            access_key: "AKEXAMPLE",
            region: "us-east-1",
            now,
            expires: 300,
        };
        let query = presign_v4(&req, &secret);
        let check = |host: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::HOST,
                http::HeaderValue::from_str(host).expect("host"),
            );
            let view = RequestView {
                method: "GET",
                raw_path: "/bucket/dir/a%20b.txt",
                raw_query: &query,
                headers: &headers,
            };
            let Ok(Some(Presigned::V4(p))) = parse(&query) else {
                panic!("not a SigV4 presigned query: {query}");
            };
            verify_v4(&view, &p, &secret, now, None)
        };
        assert!(check("127.0.0.1:9000").is_ok());
        assert!(check("evil.example:9000").is_err());
    }
}
