//! GetObjectAttributes: ETag, checksum, parts, storage class and size of an object in one
//! call, as `x-amz-object-attributes` asks.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html>

use http::{HeaderMap, HeaderValue, Response};

use super::authorized_object;
use super::multipart_xml::{self as mxml, AttributeParts, ObjectAttributes};
use super::object_get::http_date;
use crate::http::body::ResponseBody;
use crate::s3::context::{RequestContext, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::multipart as mp;

/// The attributes S3 knows.
const KNOWN: [&str; 5] = [
    "ETag",
    "Checksum",
    "ObjectParts",
    "StorageClass",
    "ObjectSize",
];

fn invalid(message: &str, name: &'static str, value: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message)
        .extra("ArgumentName", name)
        .extra("ArgumentValue", value.to_string())
}

/// The requested attributes: at least one, each known.
fn requested(h: &HeaderMap) -> S3Result<Vec<String>> {
    let mut wanted = Vec::new();
    for value in h.get_all("x-amz-object-attributes") {
        let text = value.to_str().map_err(|_| {
            invalid(
                "Invalid attribute name specified.",
                "x-amz-object-attributes",
                "",
            )
        })?;
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let known = KNOWN
                .iter()
                .find(|k| k.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    invalid(
                        "Invalid attribute name specified.",
                        "x-amz-object-attributes",
                        name,
                    )
                })?;
            wanted.push((*known).to_string());
        }
    }
    if wanted.is_empty() {
        return Err(invalid(
            "Empty attribute specified.",
            "x-amz-object-attributes",
            "",
        ));
    }
    Ok(wanted)
}

fn header_number(h: &HeaderMap, name: &'static str, default: i64) -> S3Result<i64> {
    match h.get(name) {
        None => Ok(default),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                invalid(
                    "Invalid number",
                    name,
                    &String::from_utf8_lossy(v.as_bytes()),
                )
            }),
    }
}

/// GetObjectAttributes.
pub async fn get_object_attributes(
    state: &AppState,
    ctx: &RequestContext,
    h: &HeaderMap,
) -> S3Result<Response<ResponseBody>> {
    let wanted = requested(h)?;
    let wants = |name: &str| wanted.iter().any(|w| w == name);
    let max_parts = header_number(h, "x-amz-max-parts", 1000)?.min(1000);
    let marker = i32::try_from(header_number(h, "x-amz-part-number-marker", 0)?)
        .map_err(|_| invalid("Invalid number", "x-amz-part-number-marker", ""))?;
    let (bucket, obj) = authorized_object(state, ctx).await?;
    let algorithm = obj.checksum.as_ref().map(|(alg, _)| alg.clone());
    let parts = if wants("ObjectParts") {
        let all = mp::object_parts(&state.pool, obj.id).await?;
        if all.is_empty() {
            None
        } else {
            let after: Vec<_> = all.iter().filter(|p| p.part_number > marker).collect();
            let is_truncated = after.len() as i64 > max_parts;
            let page: Vec<_> = after.into_iter().take(max_parts as usize).collect();
            Some(AttributeParts {
                total: all.len(),
                marker,
                next_marker: is_truncated
                    .then(|| page.last().map(|p| p.part_number))
                    .flatten(),
                max_parts,
                is_truncated,
                parts: page
                    .iter()
                    .map(|p| (p.part_number, p.size, p.checksum.clone()))
                    .collect(),
                algorithm: algorithm.clone(),
            })
        }
    } else {
        None
    };
    let attributes = ObjectAttributes {
        etag: wants("ETag").then(|| obj.etag.trim_matches('"').to_string()),
        checksum: wants("Checksum").then(|| obj.checksum.clone()).flatten(),
        parts,
        storage_class: wants("StorageClass"),
        object_size: wants("ObjectSize").then_some(obj.size),
    };
    let mut resp = xml_response(mxml::render_object_attributes(&attributes));
    if let Ok(v) = HeaderValue::from_str(&http_date(obj.last_modified)) {
        resp.headers_mut().insert(http::header::LAST_MODIFIED, v);
    }
    super::versioning::add_version_header(
        resp.headers_mut(),
        bucket.versioning,
        obj.version_id.as_deref(),
    );
    Ok(resp)
}
