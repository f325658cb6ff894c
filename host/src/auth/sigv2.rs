//! The legacy AWS Signature Version 2 (`Authorization: AWS AKID:signature`):
//! string to sign, verification and client-side signing.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html>.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use percent_encoding::percent_decode_str;
use sha1::Sha1;
use time::OffsetDateTime;

use super::{Error, RequestView, SecretKey};

/// What an `Authorization` header value starts with when it is SigV2.
pub const AUTH_SCHEME_PREFIX: &str = "AWS ";

/// Query parameters that are part of the CanonicalizedResource when present.
/// The documented list plus the ones botocore's `HmacV1Auth` signs, which is
/// what clients actually send; see "Constructing the CanonicalizedResource Element" in
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html>.
pub const SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The header that replaces `Date` for clients that cannot set `Date`.
const AMZ_DATE: &str = "x-amz-date";

type HmacSha1 = Hmac<Sha1>;

/// The parsed `Authorization: AWS AKID:signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationV2 {
    /// The access key id.
    pub access_key: String,
    /// The base64 HMAC-SHA1 signature.
    pub signature: String,
}

/// Parses the value of a SigV2 `Authorization` header, `AWS AKID:signature`.
pub fn parse_authorization_v2(value: &str) -> Result<AuthorizationV2, Error> {
    let malformed = |why: &str| Error::MalformedAuthorization(why.to_owned());
    let rest = value
        .strip_prefix(AUTH_SCHEME_PREFIX)
        .ok_or_else(|| malformed("not AWS"))?
        .trim();
    let (access_key, signature) = rest
        .split_once(':')
        .ok_or_else(|| malformed("expected AWS AccessKeyId:Signature"))?;
    if access_key.is_empty() || signature.is_empty() {
        return Err(malformed("empty access key or signature"));
    }
    Ok(AuthorizationV2 {
        access_key: access_key.to_owned(),
        signature: signature.to_owned(),
    })
}

/// The SigV2 string to sign:
/// `VERB\nContent-MD5\nContent-Type\nDate\n` + CanonicalizedAmzHeaders +
/// CanonicalizedResource. The `Date` line is empty when `x-amz-date` is present
/// (which then appears among the `x-amz-*` headers), as the page's "Time stamp
/// requirement" prescribes and boto and the AWS SDK for Java v1 do.
///
/// `virtual_host_bucket` is the bucket named by the `Host` header (virtual-hosted
/// style, including CNAME hosts), or `None` for path-style requests.
pub fn string_to_sign_v2(req: &RequestView, virtual_host_bucket: Option<&str>) -> String {
    build_string_to_sign(req, virtual_host_bucket, DateStyle::EmptyDateLine)
}

/// The SigV2 string to sign of a presigned URL: the `Expires` value (seconds since the
/// epoch) on the `Date` line, every `x-amz-*` header among the canonicalized ones.
pub(crate) fn string_to_sign_v2_presigned(
    req: &RequestView,
    virtual_host_bucket: Option<&str>,
    expires: &str,
) -> String {
    build_string_to_sign(req, virtual_host_bucket, DateStyle::Expires(expires))
}

/// Where an `x-amz-date` goes in the string to sign.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DateStyle<'a> {
    /// A presigned URL's `Expires` on the `Date` line.
    Expires(&'a str),
    /// Empty `Date` line; `x-amz-date` among the canonicalized `x-amz-*` headers.
    EmptyDateLine,
    /// The `x-amz-date` value on the `Date` line and not among the `x-amz-*`
    /// headers: the form of the documented "Delete" example's string to sign.
    AmzDateOnDateLine,
}

fn build_string_to_sign(
    req: &RequestView,
    virtual_host_bucket: Option<&str>,
    style: DateStyle<'_>,
) -> String {
    let content_md5 = header_text(req.headers, "content-md5");
    let content_type = header_text(req.headers, "content-type");
    let has_amz_date = req.headers.contains_key(AMZ_DATE);
    let (date, skip) = match (has_amz_date, style) {
        (_, DateStyle::Expires(expires)) => (expires.to_owned(), None),
        (false, _) => (header_text(req.headers, "date"), None),
        (true, DateStyle::EmptyDateLine) => (String::new(), None),
        (true, DateStyle::AmzDateOnDateLine) => {
            (header_text(req.headers, AMZ_DATE), Some(AMZ_DATE))
        }
    };
    format!(
        "{method}\n{content_md5}\n{content_type}\n{date}\n{amz}{resource}",
        method = req.method,
        amz = canonicalized_amz_headers(req.headers, skip),
        resource = canonicalized_resource(req.raw_path, req.raw_query, virtual_host_bucket),
    )
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
        .unwrap_or_default()
}

/// Every `x-amz-*` header, lowercased and sorted, repeated ones joined with `,`,
/// each as `name:value\n`.
fn canonicalized_amz_headers(headers: &HeaderMap, skip: Option<&str>) -> String {
    let mut grouped: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        if name.as_str().starts_with("x-amz-") && Some(name.as_str()) != skip {
            let text = String::from_utf8_lossy(value.as_bytes());
            grouped
                .entry(name.as_str())
                .or_default()
                .push(unfold(&text));
        }
    }
    grouped
        .into_iter()
        .map(|(name, values)| format!("{name}:{}\n", values.join(",")))
        .collect()
}

/// Trims a value and replaces folding whitespace (including newlines) by one space.
fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `[/bucket]` + the path as sent (still encoded) + the sorted subresources.
fn canonicalized_resource(raw_path: &str, raw_query: &str, bucket: Option<&str>) -> String {
    let mut resource = String::new();
    if let Some(bucket) = bucket {
        resource.push('/');
        resource.push_str(bucket);
    }
    resource.push_str(if raw_path.is_empty() { "/" } else { raw_path });
    let subresources = subresources(raw_query);
    if !subresources.is_empty() {
        resource.push('?');
        resource.push_str(&subresources.join("&"));
    }
    resource
}

/// The subresources in a query, decoded, sorted by name, as `name` or `name=value`.
fn subresources(raw_query: &str) -> Vec<String> {
    let mut found: Vec<(String, Option<String>)> = raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (name, value) = match pair.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (pair, None),
            };
            let name = decode(name);
            SUBRESOURCES
                .contains(&name.as_str())
                .then(|| (name, value.map(decode)))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
        .into_iter()
        .map(|(name, value)| match value {
            Some(value) => format!("{name}={value}"),
            None => name,
        })
        .collect()
}

fn decode(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// The base64 HMAC-SHA1 of `string_to_sign` under the secret.
pub fn signature_v2(secret: &SecretKey, string_to_sign: &str) -> String {
    let mut mac = match HmacSha1::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The request time for SigV2: `x-amz-date` if present, else `Date`, both HTTP dates.
pub fn request_time_v2(headers: &HeaderMap) -> Result<OffsetDateTime, Error> {
    let value = headers
        .get(AMZ_DATE)
        .or_else(|| headers.get(http::header::DATE))
        .ok_or(Error::MissingDate)?;
    let value = value
        .to_str()
        .map_err(|_| Error::InvalidDate("not ASCII".into()))?;
    super::parse_http_date(value)
}

/// Verifies a SigV2 request: the time within 15 minutes of `now`, and the
/// signature, compared in constant time.
///
/// With `x-amz-date`, the signature may be of [`string_to_sign_v2`] or of the
/// form the documented "Delete" example shows (the `x-amz-date` value on the
/// `Date` line); both bind the same information.
pub fn verify_v2(
    req: &RequestView,
    auth: &AuthorizationV2,
    secret: &SecretKey,
    virtual_host_bucket: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let time = request_time_v2(req.headers)?;
    super::check_clock_skew(time, now)?;
    let matches = |style| {
        let expected = signature_v2(
            secret,
            &build_string_to_sign(req, virtual_host_bucket, style),
        );
        super::constant_time_eq(expected.as_bytes(), auth.signature.as_bytes())
    };
    let alternative_applies = req.headers.contains_key(AMZ_DATE);
    if matches(DateStyle::EmptyDateLine)
        || (alternative_applies && matches(DateStyle::AmzDateOnDateLine))
    {
        return Ok(());
    }
    Err(Error::SignatureDoesNotMatch)
}

/// Formats a time as an HTTP date (IMF-fixdate), `Tue, 27 Mar 2007 19:36:42 GMT`.
pub fn format_http_date(time: OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    utc.format(format).unwrap_or_default()
}

/// Signs a request with SigV2 (client side): sets `Date` from `now` unless a
/// `Date` or `x-amz-date` header is already there, then `Authorization`.
#[allow(clippy::too_many_arguments)]
pub fn sign_v2(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &mut HeaderMap,
    access_key: &str,
    secret: &SecretKey,
    virtual_host_bucket: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), Error> {
    if !headers.contains_key(http::header::DATE) && !headers.contains_key(AMZ_DATE) {
        headers.insert(http::header::DATE, header_value(&format_http_date(now))?);
    }
    let req = RequestView {
        method,
        raw_path,
        raw_query,
        headers,
    };
    let signature = signature_v2(secret, &string_to_sign_v2(&req, virtual_host_bucket));
    let authorization = format!("AWS {access_key}:{signature}");
    headers.insert(http::header::AUTHORIZATION, header_value(&authorization)?);
    Ok(())
}

fn header_value(value: &str) -> Result<http::HeaderValue, Error> {
    http::HeaderValue::from_str(value)
        .map_err(|_| Error::MalformedAuthorization("value is not a valid header".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use time::macros::datetime;

    const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

    fn secret() -> SecretKey {
        SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
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

    struct Example {
        method: &'static str,
        path: &'static str,
        query: &'static str,
        headers: HeaderMap,
        bucket: Option<&'static str>,
        string_to_sign: &'static str,
        signature: &'static str,
        now: OffsetDateTime,
    }

    /// The "Authentication examples" of RESTAuthentication.html. The current page
    /// renamed the bucket `johnsmith` to `awsexamplebucket1` without recomputing
    /// the signatures, which are those of the original `johnsmith` examples.
    fn doc_examples() -> Vec<Example> {
        vec![
            Example {
                method: "GET",
                path: "/photos/puppy.jpg",
                query: "",
                headers: headers(&[
                    ("host", "johnsmith.s3.amazonaws.com"),
                    ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
                ]),
                bucket: Some("johnsmith"),
                string_to_sign: "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg",
                signature: "bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
                now: datetime!(2007-03-27 19:36:42 UTC),
            },
            Example {
                method: "PUT",
                path: "/photos/puppy.jpg",
                query: "",
                headers: headers(&[
                    ("content-type", "image/jpeg"),
                    ("content-length", "94328"),
                    ("host", "johnsmith.s3.amazonaws.com"),
                    ("date", "Tue, 27 Mar 2007 21:15:45 +0000"),
                ]),
                bucket: Some("johnsmith"),
                string_to_sign: "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg",
                signature: "MyyxeRY7whkBe+bq8fHCL/2kKUg=",
                now: datetime!(2007-03-27 21:15:45 UTC),
            },
            Example {
                method: "GET",
                path: "/",
                query: "prefix=photos&max-keys=50&marker=puppy",
                headers: headers(&[
                    ("user-agent", "Mozilla/5.0"),
                    ("host", "johnsmith.s3.amazonaws.com"),
                    ("date", "Tue, 27 Mar 2007 19:42:41 +0000"),
                ]),
                bucket: Some("johnsmith"),
                string_to_sign: "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/",
                signature: "htDYFYduRNen8P9ZfE/s9SuKy0U=",
                now: datetime!(2007-03-27 19:42:41 UTC),
            },
            Example {
                method: "GET",
                path: "/",
                query: "acl",
                headers: headers(&[
                    ("host", "johnsmith.s3.amazonaws.com"),
                    ("date", "Tue, 27 Mar 2007 19:44:46 +0000"),
                ]),
                bucket: Some("johnsmith"),
                string_to_sign: "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl",
                signature: "c2WLPFtWHVgbEmeEG93a4cG37dM=",
                now: datetime!(2007-03-27 19:44:46 UTC),
            },
            Example {
                method: "DELETE",
                path: "/johnsmith/photos/puppy.jpg",
                query: "",
                headers: headers(&[
                    ("user-agent", "dotnet"),
                    ("host", "s3.amazonaws.com"),
                    ("date", "Tue, 27 Mar 2007 21:20:27 +0000"),
                    ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"),
                ]),
                bucket: None,
                string_to_sign: "DELETE\n\n\nTue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg",
                signature: "lx3byBScXR6KzyMaifNkardMwNk=",
                now: datetime!(2007-03-27 21:20:26 UTC),
            },
            Example {
                method: "PUT",
                path: "/db-backup.dat.gz",
                query: "",
                headers: headers(&[
                    ("user-agent", "curl/7.15.5"),
                    ("host", "static.johnsmith.net:8080"),
                    ("date", "Tue, 27 Mar 2007 21:06:08 +0000"),
                    ("x-amz-acl", "public-read"),
                    ("content-type", "application/x-download"),
                    ("content-md5", "4gJE4saaMU4BqNR0kLY+lw=="),
                    ("x-amz-meta-reviewedby", "joe@johnsmith.net"),
                    ("x-amz-meta-reviewedby", "jane@johnsmith.net"),
                    ("x-amz-meta-filechecksum", "0x02661779"),
                    ("x-amz-meta-checksumalgorithm", "crc32"),
                    ("content-disposition", "attachment; filename=database.dat"),
                    ("content-encoding", "gzip"),
                    ("content-length", "5913339"),
                ]),
                bucket: Some("static.johnsmith.net"),
                string_to_sign: "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\n\
                                 Tue, 27 Mar 2007 21:06:08 +0000\n\
                                 x-amz-acl:public-read\n\
                                 x-amz-meta-checksumalgorithm:crc32\n\
                                 x-amz-meta-filechecksum:0x02661779\n\
                                 x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n\
                                 /static.johnsmith.net/db-backup.dat.gz",
                signature: "ilyl83RwaSoYIEdixDQcA4OnAnc=",
                now: datetime!(2007-03-27 21:06:08 UTC),
            },
            Example {
                method: "GET",
                path: "/",
                query: "",
                headers: headers(&[
                    ("host", "s3.amazonaws.com"),
                    ("date", "Wed, 28 Mar 2007 01:29:59 +0000"),
                ]),
                bucket: None,
                string_to_sign: "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/",
                signature: "qGdzdERIC03wnaRNKh6OqZehG9s=",
                now: datetime!(2007-03-28 01:29:59 UTC),
            },
            Example {
                method: "GET",
                path: "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
                query: "",
                headers: headers(&[
                    ("host", "s3.amazonaws.com"),
                    ("date", "Wed, 28 Mar 2007 01:49:49 +0000"),
                ]),
                bucket: None,
                string_to_sign: "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n\
                                 /dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
                signature: "DNEZGsoieTZ92F3bUfSPQcbGmlM=",
                now: datetime!(2007-03-28 01:49:49 UTC),
            },
        ]
    }

    fn view(example: &Example) -> RequestView<'_> {
        RequestView {
            method: example.method,
            raw_path: example.path,
            raw_query: example.query,
            headers: &example.headers,
        }
    }

    /// The examples' StringToSign as the page shows it: for "Delete" that is the
    /// `x-amz-date` value on the `Date` line.
    #[test]
    fn doc_examples_string_to_sign_and_signature() {
        for example in doc_examples() {
            let req = view(&example);
            let style = if example.headers.contains_key(AMZ_DATE) {
                DateStyle::AmzDateOnDateLine
            } else {
                DateStyle::EmptyDateLine
            };
            let sts = build_string_to_sign(&req, example.bucket, style);
            assert_eq!(sts, example.string_to_sign);
            assert_eq!(signature_v2(&secret(), &sts), example.signature, "{sts}");
            let auth = AuthorizationV2 {
                access_key: ACCESS_KEY.into(),
                signature: example.signature.into(),
            };
            verify_v2(&req, &auth, &secret(), example.bucket, example.now)
                .unwrap_or_else(|e| panic!("{sts}: {e}"));
        }
    }

    #[test]
    fn x_amz_date_empties_the_date_line() {
        let examples = doc_examples();
        let delete = &examples[4];
        let req = view(delete);
        let sts = string_to_sign_v2(&req, None);
        assert_eq!(
            sts,
            "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg"
        );
        let auth = AuthorizationV2 {
            access_key: ACCESS_KEY.into(),
            signature: signature_v2(&secret(), &sts),
        };
        verify_v2(&req, &auth, &secret(), None, delete.now).unwrap();
        // The request time is x-amz-date, not Date (one second later).
        assert_eq!(request_time_v2(&delete.headers).unwrap(), delete.now);
    }

    #[test]
    fn renamed_bucket_example_signature() {
        // The same GET with the bucket the current doc page shows.
        let map = headers(&[("date", "Tue, 27 Mar 2007 19:36:42 +0000")]);
        let req = RequestView {
            method: "GET",
            raw_path: "/photos/puppy.jpg",
            raw_query: "",
            headers: &map,
        };
        let sts = string_to_sign_v2(&req, Some("awsexamplebucket1"));
        assert_eq!(
            signature_v2(&secret(), &sts),
            "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="
        );
    }

    #[test]
    fn skew_wrong_secret_and_tampering_are_refused() {
        let examples = doc_examples();
        let example = &examples[0];
        let req = view(example);
        let auth = AuthorizationV2 {
            access_key: ACCESS_KEY.into(),
            signature: example.signature.into(),
        };
        let later = example.now + time::Duration::seconds(901);
        assert!(matches!(
            verify_v2(&req, &auth, &secret(), example.bucket, later),
            Err(Error::RequestTimeTooSkewed)
        ));
        assert!(matches!(
            verify_v2(
                &req,
                &auth,
                &SecretKey::new("nope"),
                example.bucket,
                example.now
            ),
            Err(Error::SignatureDoesNotMatch)
        ));
        assert!(matches!(
            verify_v2(&req, &auth, &secret(), Some("other"), example.now),
            Err(Error::SignatureDoesNotMatch)
        ));
        let mut tampered = example.headers.clone();
        tampered.insert("x-amz-meta-added", "1".parse().unwrap());
        let req = RequestView {
            headers: &tampered,
            ..req
        };
        assert!(matches!(
            verify_v2(&req, &auth, &secret(), example.bucket, example.now),
            Err(Error::SignatureDoesNotMatch)
        ));
        let undated = HeaderMap::new();
        let req = RequestView {
            headers: &undated,
            ..req
        };
        assert!(matches!(
            verify_v2(&req, &auth, &secret(), example.bucket, example.now),
            Err(Error::MissingDate)
        ));
    }

    #[test]
    fn subresources_are_sorted_decoded_and_filtered() {
        let map = headers(&[("date", "x")]);
        let req = RequestView {
            method: "GET",
            raw_path: "/b/k",
            raw_query: "versionId=3%2F4&uploads&prefix=p&response-content-type=text%2Fplain&acl",
            headers: &map,
        };
        assert!(
            string_to_sign_v2(&req, None)
                .ends_with("/b/k?acl&response-content-type=text/plain&uploads&versionId=3/4")
        );
    }

    #[test]
    fn parse_authorization() {
        let parsed = parse_authorization_v2("AWS AKID:bWq2s1WEIj+Ydj0vQ697zp+IXMU=").unwrap();
        assert_eq!(parsed.access_key, "AKID");
        assert_eq!(parsed.signature, "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
        for bad in ["AWS AKID", "AWS :sig", "AWS AKID:", "AWS4 AKID:sig"] {
            assert!(
                matches!(
                    parse_authorization_v2(bad),
                    Err(Error::MalformedAuthorization(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let now = datetime!(2024-01-02 03:04:05 UTC);
        let mut map = headers(&[
            ("host", "bucket.localhost"),
            ("content-type", "text/plain"),
            ("x-amz-meta-a", "1"),
        ]);
        sign_v2(
            "PUT",
            "/key%20x",
            "tagging",
            &mut map,
            "AK",
            &secret(),
            Some("bucket"),
            now,
        )
        .unwrap();
        assert_eq!(map["date"], "Tue, 02 Jan 2024 03:04:05 GMT");
        let auth = parse_authorization_v2(map["authorization"].to_str().unwrap()).unwrap();
        let req = RequestView {
            method: "PUT",
            raw_path: "/key%20x",
            raw_query: "tagging",
            headers: &map,
        };
        verify_v2(&req, &auth, &secret(), Some("bucket"), now).unwrap();
    }
}
