//! POST Object: browser form uploads (`multipart/form-data`).
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>
//!
//! The form carries everything a header would: the key (`${filename}` is replaced by the
//! uploaded file's name), the ACL, standard headers, `x-amz-meta-*`, and the credentials:
//! a base64 `policy` document signed with SigV4 (`x-amz-algorithm`, `x-amz-credential`,
//! `x-amz-date`, `x-amz-signature`: the signature is of the base64 policy under the
//! scope's signing key) or SigV2 (`AWSAccessKeyId`, `signature`). A form without
//! credentials is anonymous. The policy's expiration and every condition (`eq`,
//! `starts-with`, exact matches, `content-length-range`) are enforced, and every form
//! field must be covered by a condition, as on S3.
//!
//! Fields before the file are read into memory (at most [`MAX_FIELDS_BYTES`]); the file is
//! streamed into storage like a PUT body, its length checked against
//! `content-length-range` as it passes; fields after the file are ignored.

use base64::Engine;
use bytes::Bytes;
use futures_util::StreamExt;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::BodyStream;
use hyper::body::Incoming;
use time::OffsetDateTime;

use super::acl_headers::CANNED_ACL;
use super::ingest::{Upload, new_object_owner_and_acl, store_upload};
use super::metadata::{parse_object_headers, parse_user_metadata};
use super::names::ObjectKey;
use super::new_version::{self, VersionAttributes};
use super::payload::BodySource;
use super::{
    authorized_bucket_with_tags, metadata_check, multipart_xml, object_lock, tagging, xml,
};
use crate::auth::{self, sigv2, sigv4};
use crate::http::body::{ResponseBody, empty};
use crate::policy::types::{AuthType, Signature, SignatureVersion};
use crate::s3::context::{Principal, RequestContext, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::buckets::Bucket;
use crate::store::objects::WriteCondition;
use crate::tags::TagSet;

/// Most bytes of form fields (other than the file) a POST may carry.
pub const MAX_FIELDS_BYTES: usize = 64 << 10;

fn malformed_post(why: impl std::fmt::Display) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::MalformedPOSTRequest,
        "The body of your POST request is not well-formed multipart/form-data.",
    )
    .source(why.to_string())
}

fn policy_failed(why: impl Into<String>) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AccessDenied,
        format!("Invalid according to Policy: {}", why.into()),
    )
}

/// The form fields before the file, by lower-cased name (values as sent).
struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A `content-length-range` condition.
#[derive(Debug, Clone, Copy)]
struct LengthRange {
    min: u64,
    max: u64,
}

/// The parsed, checked policy document: what is left to check while the file streams.
struct CheckedPolicy {
    length: Option<LengthRange>,
}

/// Checks the policy document (base64 JSON) against the form at `now`.
fn check_policy(
    policy_b64: &str,
    form: &Form,
    bucket: &str,
    now: OffsetDateTime,
) -> S3Result<CheckedPolicy> {
    let invalid = |why: &str| {
        S3Error::with_message(
            S3ErrorCode::InvalidPolicyDocument,
            format!("Invalid Policy: {why}"),
        )
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(policy_b64.trim())
        .map_err(|_| invalid("Invalid 'Base64' encoding."))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|_| invalid("Invalid JSON."))?;
    let expiration = doc
        .get("expiration")
        .and_then(|e| e.as_str())
        .ok_or_else(|| invalid("Policy missing expiration."))?;
    let expiration =
        OffsetDateTime::parse(expiration, &time::format_description::well_known::Rfc3339)
            .map_err(|_| invalid("Invalid 'expiration' value."))?;
    if now > expiration {
        return Err(policy_failed("Policy expired."));
    }
    let conditions = doc
        .get("conditions")
        .and_then(|c| c.as_array())
        .ok_or_else(|| invalid("Policy missing conditions."))?;
    // The value of a `$field`: the bucket comes from the request, the rest from the form.
    let value_of = |field: &str| -> Option<String> {
        let name = field.trim_start_matches('$').to_ascii_lowercase();
        if name == "bucket" {
            Some(bucket.to_string())
        } else {
            form.get(&name).map(str::to_string)
        }
    };
    let mut covered: Vec<String> = Vec::new();
    let mut length = None;
    for condition in conditions {
        match condition {
            serde_json::Value::Object(map) => {
                for (field, expected) in map {
                    let expected = expected
                        .as_str()
                        .ok_or_else(|| invalid("Invalid condition value."))?;
                    let name = field.to_ascii_lowercase();
                    if value_of(&name).as_deref() != Some(expected) {
                        return Err(policy_failed(format!(
                            "Policy Condition failed: [\"eq\", \"${name}\", \"{expected}\"]"
                        )));
                    }
                    covered.push(name);
                }
            }
            serde_json::Value::Array(items) => {
                let op = items
                    .first()
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| invalid("Invalid condition."))?
                    .to_ascii_lowercase();
                if op == "content-length-range" {
                    let bound = |i: usize| {
                        items
                            .get(i)
                            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                    };
                    let (Some(min), Some(max)) = (bound(1), bound(2)) else {
                        return Err(invalid("Invalid content-length-range."));
                    };
                    length = Some(LengthRange { min, max });
                    continue;
                }
                let (Some(field), Some(arg)) = (
                    items.get(1).and_then(|v| v.as_str()),
                    items.get(2).and_then(|v| v.as_str()),
                ) else {
                    return Err(invalid("Invalid condition."));
                };
                let name = field.trim_start_matches('$').to_ascii_lowercase();
                let actual = value_of(&name).unwrap_or_default();
                let holds = match op.as_str() {
                    "eq" => actual == arg,
                    "starts-with" => actual.starts_with(arg),
                    _ => return Err(invalid(&format!("Invalid condition operator {op}."))),
                };
                if !holds {
                    return Err(policy_failed(format!(
                        "Policy Condition failed: [\"{op}\", \"${name}\", \"{arg}\"]"
                    )));
                }
                covered.push(name);
            }
            _ => return Err(invalid("Invalid condition.")),
        }
    }
    // Every field must be covered, but for the signature itself and what S3 exempts.
    for (name, _) in &form.fields {
        let exempt = matches!(
            name.as_str(),
            "policy" | "x-amz-signature" | "signature" | "awsaccesskeyid" | "file"
        ) || name.starts_with("x-ignore-");
        if !exempt && !covered.contains(name) {
            return Err(policy_failed(format!("Extra input fields: {name}")));
        }
    }
    Ok(CheckedPolicy { length })
}

/// Who signed the form: the account, or anonymous when the form has no credentials.
async fn form_principal(state: &AppState, form: &Form) -> S3Result<FormSigner> {
    let policy = form.get("policy");
    if let Some(signature) = form.get("x-amz-signature") {
        let algorithm = form.get("x-amz-algorithm").unwrap_or("");
        if algorithm != sigv4::ALGORITHM {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Only AWS4-HMAC-SHA256 is supported for x-amz-algorithm",
            ));
        }
        let credential = form.get("x-amz-credential").ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::InvalidArgument, "Missing x-amz-credential")
        })?;
        let scope = sigv4::parse_credential(credential).map_err(S3Error::from)?;
        if let Some(required) = state.config.region.as_deref()
            && required != scope.region
        {
            return Err(S3Error::from(auth::Error::WrongRegion {
                expected: required.to_string(),
                found: scope.region,
            }));
        }
        let policy = policy.ok_or_else(missing_policy)?;
        let (account, secret) = crate::s3::authn::lookup_key(state, &scope.access_key).await?;
        let key = sigv4::signing_key(&secret, &scope.date, &scope.region, &scope.service);
        let expected = sigv4::signature(&key, policy.trim());
        if !auth::constant_time_eq(
            expected.as_bytes(),
            signature.trim().to_ascii_lowercase().as_bytes(),
        ) {
            return Err(S3Error::new(S3ErrorCode::SignatureDoesNotMatch));
        }
        let signed_at = form
            .get("x-amz-date")
            .and_then(|d| sigv4::parse_amz_date(d.trim()).ok())
            .and_then(crate::s3::authn::unix_seconds);
        return Ok(FormSigner {
            principal: Principal::Account(account),
            has_policy: true,
            signature: Some(Signature {
                version: SignatureVersion::V4,
                auth_type: AuthType::Post,
                signed_at,
            }),
        });
    }
    if let Some(access_key) = form.get("awsaccesskeyid") {
        let signature = form.get("signature").ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::InvalidArgument, "Missing signature")
        })?;
        let policy = policy.ok_or_else(missing_policy)?;
        let (account, secret) = crate::s3::authn::lookup_key(state, access_key).await?;
        let expected = sigv2::signature_v2(&secret, policy.trim());
        if !auth::constant_time_eq(expected.as_bytes(), signature.trim().as_bytes()) {
            return Err(S3Error::new(S3ErrorCode::SignatureDoesNotMatch));
        }
        return Ok(FormSigner {
            principal: Principal::Account(account),
            has_policy: true,
            // A SigV2 form carries no signing time.
            signature: Some(Signature {
                version: SignatureVersion::V2,
                auth_type: AuthType::Post,
                signed_at: None,
            }),
        });
    }
    Ok(FormSigner {
        principal: Principal::Anonymous,
        has_policy: policy.is_some(),
        signature: None,
    })
}

/// Who signed a form, and how.
struct FormSigner {
    principal: Principal,
    /// Whether the form has a `policy` field.
    has_policy: bool,
    /// How it was signed, as policy modules see it; `None` when unsigned.
    signature: Option<Signature>,
}

fn missing_policy() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidArgument,
        "Bucket POST must contain a field named 'policy'. If it is specified, please check the order of the fields.",
    )
}

/// The file of the form as object bytes, its length checked against the policy's range.
struct FormFile<'a> {
    field: multer::Field<'a>,
    length: Option<LengthRange>,
    received: u64,
}

impl BodySource for FormFile<'_> {
    async fn next_piece(&mut self) -> S3Result<Option<Bytes>> {
        let piece = self.field.chunk().await.map_err(malformed_post)?;
        match piece {
            Some(data) => {
                self.received += data.len() as u64;
                if let Some(range) = self.length
                    && self.received > range.max
                {
                    return Err(S3Error::with_message(
                        S3ErrorCode::EntityTooLarge,
                        "Your proposed upload exceeds the maximum allowed size",
                    )
                    .extra("MaxSizeAllowed", range.max.to_string()));
                }
                Ok(Some(data))
            }
            None => {
                if let Some(range) = self.length
                    && self.received < range.min
                {
                    return Err(S3Error::with_message(
                        S3ErrorCode::EntityTooSmall,
                        "Your proposed upload is smaller than the minimum allowed size",
                    )
                    .extra("MinSizeAllowed", range.min.to_string()));
                }
                Ok(None)
            }
        }
    }
}

/// The new version's tags: field `tagging`, a `Tagging` document, as AWS's form
/// documents it.
fn form_tags(form: &Form) -> S3Result<TagSet> {
    Ok(match form.get("tagging") {
        Some(doc) => tagging::parse_tagging(doc.as_bytes(), tagging::TagLimit::Object)?,
        None => Vec::new(),
    })
}

/// The new version's attributes: its `tags` ([`form_tags`]) and lock (fields named like
/// the `x-amz-object-lock-*` headers).
fn form_version_attributes(
    form: &Form,
    bucket: &Bucket,
    tags: TagSet,
) -> S3Result<VersionAttributes> {
    let mut lock = HeaderMap::new();
    for name in [
        object_lock::MODE_HEADER,
        object_lock::RETAIN_UNTIL_HEADER,
        object_lock::LEGAL_HOLD_HEADER,
    ] {
        if let Some(value) = form.get(name)
            && let Ok(value) = HeaderValue::from_str(value)
        {
            lock.insert(name, value);
        }
    }
    let (retention, legal_hold) =
        new_version::requested_lock(bucket, &lock, OffsetDateTime::now_utc(), false)?;
    Ok(VersionAttributes {
        tags,
        retention,
        legal_hold,
    })
}

/// Every field whose name and value can be a header, by its lower-cased name (form field
/// names are case-insensitive).
fn every_field_as_header(form: &Form) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in &form.fields {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(name, value);
        }
    }
    h
}

/// The form fields as the request headers they stand for (for the shared parsers of
/// standard headers, metadata, ACL and checksums).
fn fields_as_headers(form: &Form) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in &form.fields {
        let header = if name == "acl" {
            "x-amz-acl"
        } else {
            name.as_str()
        };
        let standard = matches!(
            header,
            "content-type"
                | "cache-control"
                | "content-disposition"
                | "content-encoding"
                | "content-language"
                | "expires"
                | "content-md5"
        );
        if !(standard
            || header.starts_with("x-amz-meta-")
            || header.starts_with("x-amz-grant-")
            || header == "x-amz-acl"
            || header.starts_with("x-amz-checksum-"))
        {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(header.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.append(n, v);
        }
    }
    h
}

/// POST Object.
pub async fn post_object(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        S3Error::with_message(
            S3ErrorCode::PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold",
        )
        .extra(
            "Condition",
            "Bucket POST must be of the enclosure-type multipart/form-data",
        )
    })?;
    let stream = BodyStream::new(body).filter_map(|frame| async move {
        match frame {
            Ok(frame) => frame.into_data().ok().map(|data| {
                super::metrics::received(data.len());
                Ok::<Bytes, hyper::Error>(data)
            }),
            Err(e) => Some(Err(e)),
        }
    });
    let limits = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(state.config.max_object_size + MAX_FIELDS_BYTES as u64 + (1 << 20)),
    );
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, limits);

    // The fields before the file.
    let mut form = Form { fields: Vec::new() };
    let mut fields_bytes = 0usize;
    let (file, filename) = loop {
        let Some(mut field) = multipart.next_field().await.map_err(malformed_post)? else {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "POST requires exactly one file upload per request.",
            )
            .extra("ArgumentName", "file")
            .extra("ArgumentValue", "0"));
        };
        let name = field.name().unwrap_or("").to_ascii_lowercase();
        if name == "file" {
            let filename = field.file_name().unwrap_or("").to_string();
            break (field, filename);
        }
        let mut value = Vec::new();
        while let Some(piece) = field.chunk().await.map_err(malformed_post)? {
            fields_bytes += piece.len();
            if fields_bytes > MAX_FIELDS_BYTES {
                return Err(S3Error::new(S3ErrorCode::MaxPostPreDataLengthExceeded));
            }
            value.extend_from_slice(&piece);
        }
        let value = String::from_utf8(value).map_err(malformed_post)?;
        form.fields.push((name, value));
    };

    let now = state.now();
    let FormSigner {
        principal,
        has_policy,
        signature,
    } = form_principal(state, &form).await?;
    let bucket_name = ctx.bucket.clone().unwrap_or_default();
    let checked = match (has_policy, form.get("policy")) {
        (true, Some(policy)) => check_policy(policy, &form, &bucket_name, now)?,
        _ => CheckedPolicy { length: None },
    };
    let key_template = form.get("key").ok_or_else(|| {
        S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
        )
        .extra("ArgumentName", "key")
        .extra("ArgumentValue", "")
    })?;
    let key = key_template.replace("${filename}", &filename);
    let key = ObjectKey::parse_bytes(key.as_bytes())
        .map_err(|e| S3Error::new(S3ErrorCode::from(&e)))?
        .into_string();

    // Decided as the form's signer, on the bucket, like a PUT, the module seeing the
    // ACL the form asks for (fields `acl`, `x-amz-grant-*`) as a PUT's headers.
    let h = fields_as_headers(&form);
    let mut policy_headers = ctx.policy_headers.clone();
    policy_headers.extend(
        h.iter()
            .filter(|(name, _)| {
                name.as_str() == CANNED_ACL || name.as_str().starts_with("x-amz-grant-")
            })
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            }),
    );
    let form_ctx = RequestContext {
        request_id: ctx.request_id.clone(),
        op: ctx.op,
        bucket: ctx.bucket.clone(),
        key: Some(key.clone()),
        vhost: ctx.vhost,
        query: ctx.query.clone(),
        principal,
        remote: ctx.remote,
        sigv4: None,
        signature,
        received_at: ctx.received_at,
        secure_transport: ctx.secure_transport,
        policy_headers,
        policy: std::sync::OnceLock::new(),
        prefetched_bucket: Default::default(),
    };
    // The module decides on the tags the object is to get (field `tagging`).
    let tags = form_tags(&form)?;
    let bucket = authorized_bucket_with_tags(state, &form_ctx, &tags).await?;
    // What the form asks for and Coffer cannot honour (encryption, a storage class other
    // than STANDARD, a website redirect) is refused, as on a PUT.
    super::write_headers::check(&every_field_as_header(&form))?;
    let user_metadata = parse_user_metadata(&h)?;
    let object_headers = parse_object_headers(&h);
    // Judged as the form's signer, with the form's fields as the object's headers, before
    // the file is read.
    metadata_check::check(
        state,
        &form_ctx,
        &bucket,
        &key,
        &object_headers,
        &user_metadata,
        &tags,
    )?;
    let (owner_id, acl) = new_object_owner_and_acl(state, &form_ctx, &bucket, &h).await?;
    let attributes = form_version_attributes(&form, &bucket, tags)?;
    let source = FormFile {
        field: file,
        length: checked.length,
        received: 0,
    };
    let upload = Upload {
        bucket_id: bucket.id,
        key: &key,
        owner_id,
        headers: &object_headers,
        user_metadata: &user_metadata,
        acl: &acl,
        condition: WriteCondition::None,
        versioning: bucket.versioning,
        attributes: &attributes,
    };
    let stored = store_upload(state, &h, source, upload).await?;
    let mut resp = success_response(&form, &parts.headers, &bucket.name, &key, &stored.etag)?;
    super::versioning::add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        stored.version_id.as_deref(),
    );
    Ok(resp)
}

/// What S3 answers a successful POST: a redirect (`success_action_redirect`), the
/// `PostResponse` document (`success_action_status=201`), or an empty 200/204.
fn success_response(
    form: &Form,
    request_headers: &HeaderMap,
    bucket: &str,
    key: &str,
    etag: &str,
) -> S3Result<Response<ResponseBody>> {
    let location = super::object_location(request_headers, bucket, key);
    let redirect = form
        .get("success_action_redirect")
        .or_else(|| form.get("redirect"))
        .filter(|r| !r.is_empty());
    if let Some(target) = redirect {
        let separator = if target.contains('?') { '&' } else { '?' };
        let url = format!(
            "{target}{separator}bucket={}&key={}&etag={}",
            xml::url_encode(bucket),
            xml::url_encode(key),
            xml::url_encode(etag)
        );
        let mut resp = Response::new(empty());
        *resp.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(v) = HeaderValue::from_str(&url) {
            resp.headers_mut().insert(http::header::LOCATION, v);
        }
        return Ok(resp);
    }
    let mut resp = match form.get("success_action_status") {
        Some("201") => {
            let mut r = xml_response(multipart_xml::render_post_response(
                &location, bucket, key, etag,
            ));
            *r.status_mut() = StatusCode::CREATED;
            r
        }
        Some("200") => Response::new(empty()),
        _ => {
            let mut r = Response::new(empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(http::header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(http::header::LOCATION, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form {
            fields: pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid")
    }

    #[test]
    fn conditions_are_enforced() {
        let policy = b64(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [
            {"bucket": "photos"}, ["starts-with", "$key", "user/"], {"acl": "public-read"},
            ["content-length-range", 1, 1000], ["eq", "$Content-Type", "image/png"]]}"#);
        let good = form(&[
            ("key", "user/a.png"),
            ("acl", "public-read"),
            ("content-type", "image/png"),
            ("policy", &policy),
        ]);
        let checked = check_policy(&policy, &good, "photos", now()).expect("holds");
        assert!(matches!(
            checked.length,
            Some(LengthRange { min: 1, max: 1000 })
        ));
        for (what, f, bucket) in [
            ("bucket", &good, "other"),
            (
                "key prefix",
                &form(&[
                    ("key", "admin/a.png"),
                    ("acl", "public-read"),
                    ("content-type", "image/png"),
                ]),
                "photos",
            ),
            (
                "acl",
                &form(&[
                    ("key", "user/a"),
                    ("acl", "private"),
                    ("content-type", "image/png"),
                ]),
                "photos",
            ),
            (
                "extra field",
                &form(&[
                    ("key", "user/a"),
                    ("acl", "public-read"),
                    ("content-type", "image/png"),
                    ("x-amz-meta-x", "1"),
                ]),
                "photos",
            ),
        ] {
            let err = check_policy(&policy, f, bucket, now()).err().expect(what);
            assert_eq!(err.code(), S3ErrorCode::AccessDenied, "{what}");
        }
        let expired = b64(r#"{"expiration": "2020-01-01T00:00:00Z", "conditions": []}"#);
        let err = check_policy(&expired, &form(&[]), "photos", now())
            .err()
            .expect("expired");
        assert!(err.message().contains("expired"), "{}", err.message());
        for bad in [
            "not base64!",
            &b64("not json"),
            &b64(r#"{"conditions": []}"#),
        ] {
            let err = check_policy(bad, &form(&[]), "b", now()).err().expect(bad);
            assert_eq!(err.code(), S3ErrorCode::InvalidPolicyDocument);
        }
    }

    #[test]
    fn x_ignore_fields_need_no_condition() {
        let policy = b64(
            r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["starts-with", "$key", ""]]}"#,
        );
        let f = form(&[
            ("key", "k"),
            ("x-ignore-tracking", "1"),
            ("policy", &policy),
        ]);
        assert!(check_policy(&policy, &f, "b", now()).is_ok());
    }
}
