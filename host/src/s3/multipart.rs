//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads.
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html>
//!
//! Every operation is decided by the bucket's policy module as the routed operation (the
//! writes as writes to the bucket, the listings as reads of it); the source of an
//! UploadPartCopy as `GetObject` by its own bucket's module. An upload id only names an
//! upload of the bucket and key it was created for (`NoSuchUpload` otherwise), and only
//! its initiator or the bucket owner may use it. Parts are always chunk files (never
//! inline), so completing moves chunk references and copies no byte
//! (`store::multipart::complete_upload`).

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use md5::{Digest, Md5};

use super::conditional::{ReadConditions, write_condition};
use super::copy::CopySource;
use super::ingest::{new_object_owner_and_acl, receive};
use super::metadata::{parse_object_headers, parse_user_metadata};
use super::multipart_xml::{self as mxml, CompletePart};
use super::object_get::chunk_stream;
use super::payload::{open_payload, require_length};
use super::range::Selected;
use super::xml::{self, Owner};
use super::{
    authorized_bucket, authorized_bucket_with_tags, headers, list, metadata_check, object_key,
};
use crate::auth::checksum::{ChecksumAlgorithm, ChecksumHasher};
use crate::http::body::{ResponseBody, empty};
use crate::s3::context::{RequestContext, ok_empty, xml_response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::state::AppState;
use crate::store::blob::WrittenChunks;
use crate::store::buckets::Bucket;
use crate::store::multipart::{self as mp, ChosenPart, CompleteError, NewUpload, Upload};
use crate::store::object_write;
use crate::store::objects::NewBody;
use base64::Engine as _;

/// Part numbers S3 accepts.
pub const PART_NUMBERS: std::ops::RangeInclusive<i32> = 1..=10_000;
/// Largest part: 5 GiB.
pub const MAX_PART_BYTES: u64 = 5 << 30;
/// Most entries one ListParts or ListMultipartUploads page returns.
const MAX_LISTED: i64 = 1000;

/// The `partNumber` query parameter, which must be 1..=10000.
pub fn part_number(ctx: &RequestContext) -> S3Result<i32> {
    let raw = ctx.query_param("partNumber").unwrap_or("");
    raw.parse::<i32>()
        .ok()
        .filter(|n| PART_NUMBERS.contains(n))
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive",
            )
            .extra("ArgumentName", "partNumber")
            .extra("ArgumentValue", raw.to_string())
        })
}

/// `NoSuchUpload` naming `upload_id`.
fn no_such_upload(upload_id: &str) -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchUpload).extra("UploadId", upload_id.to_string())
}

/// A storage error of an operation on upload `upload_id` as the S3 error.
fn upload_error(e: crate::store::Error, upload_id: &str) -> S3Error {
    match e {
        crate::store::Error::NoSuchUpload => no_such_upload(upload_id),
        e => e.into(),
    }
}

/// Loads the request's upload (`uploadId`) of `bucket` and the request's key, for its
/// initiator or the bucket owner.
async fn load_upload(state: &AppState, ctx: &RequestContext, bucket: &Bucket) -> S3Result<Upload> {
    let key = object_key(ctx)?;
    let id = ctx.query_param("uploadId").unwrap_or("");
    let upload = mp::get_upload(&state.pool, bucket.id, key, id)
        .await
        .map_err(|e| upload_error(e, id))?;
    let caller = ctx.principal.account().map(|a| a.id);
    let allowed = match upload.initiator_id {
        None => true,
        Some(initiator) => caller == Some(initiator) || caller == Some(bucket.owner_id),
    };
    if !allowed {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }
    Ok(upload)
}

/// CreateMultipartUpload.
pub async fn create_multipart_upload(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
) -> S3Result<Response<ResponseBody>> {
    let h = &parts.headers;
    // The bucket's module decides on the tags the completed object is to get.
    let tags = super::new_version::requested_tags(h)?;
    let bucket = authorized_bucket_with_tags(state, ctx, &tags).await?;
    let key = object_key(ctx)?;
    let user_metadata = parse_user_metadata(h)?;
    let object_headers = parse_object_headers(h);
    // The completed object gets this metadata: judged now, once.
    metadata_check::check(
        state,
        ctx,
        &bucket,
        key,
        &object_headers,
        &user_metadata,
        &tags,
    )?;
    let (owner_id, acl) = new_object_owner_and_acl(state, ctx, &bucket, h).await?;
    let checksum_algorithm = match h.get(headers::CHECKSUM_ALGORITHM) {
        None => None,
        Some(v) => {
            let name = v.to_str().unwrap_or("").trim().to_ascii_lowercase();
            let alg =
                ChecksumAlgorithm::from_header_name(&format!("{}{name}", headers::CHECKSUM_PREFIX))
                    .ok_or_else(|| {
                        S3Error::with_message(
                            S3ErrorCode::InvalidRequest,
                            "Checksum algorithm is not supported",
                        )
                        .extra("ArgumentName", headers::CHECKSUM_ALGORITHM)
                        .extra("ArgumentValue", name.clone())
                    })?;
            Some(alg)
        }
    };
    // S3's default is COMPOSITE, except for CRC64NVME, which is always FULL_OBJECT.
    let checksum_type = match (checksum_algorithm, h.get(headers::CHECKSUM_TYPE)) {
        (None, _) => None,
        (Some(_), Some(v)) if v.as_bytes().eq_ignore_ascii_case(b"FULL_OBJECT") => {
            Some(FULL_OBJECT)
        }
        (Some(ChecksumAlgorithm::Crc64Nvme), _) => Some(FULL_OBJECT),
        (Some(_), Some(v)) if !v.as_bytes().eq_ignore_ascii_case(b"COMPOSITE") => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Value for x-amz-checksum-type header is invalid.",
            ));
        }
        (Some(_), _) => Some(COMPOSITE),
    };
    if checksum_type == Some(FULL_OBJECT)
        && matches!(
            checksum_algorithm,
            Some(ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256)
        )
    {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "The FULL_OBJECT checksum type cannot be used with the SHA1 or SHA256 algorithm.",
        ));
    }
    let attributes = super::new_version::from_headers(&bucket, h, tags, false)?;
    let upload_id = mp::create_upload(
        &state.pool,
        NewUpload {
            bucket_id: bucket.id,
            key,
            owner_id,
            initiator_id: ctx.principal.account().map(|a| a.id),
            headers: &object_headers,
            user_metadata: &user_metadata,
            acl: &acl,
            checksum_algorithm: checksum_algorithm.map(|a| a.as_str()),
            checksum_type,
            tags: &attributes.tags,
            retention: attributes.retention,
            legal_hold: attributes.legal_hold,
        },
    )
    .await?;
    let mut resp = xml_response(mxml::render_initiate(&bucket.name, key, &upload_id));
    if let Some(alg) = checksum_algorithm
        && let Ok(v) = HeaderValue::from_str(alg.as_str())
    {
        resp.headers_mut().insert(headers::CHECKSUM_ALGORITHM, v);
    }
    if let Some(kind) = checksum_type {
        resp.headers_mut()
            .insert(headers::CHECKSUM_TYPE, HeaderValue::from_static(kind));
    }
    Ok(resp)
}

/// Stores a received part; on failure the files it still owns are removed.
async fn store_part(
    state: &AppState,
    upload: &Upload,
    number: i32,
    size: u64,
    etag: &str,
    checksum: Option<&str>,
    chunks: WrittenChunks,
) -> S3Result<()> {
    let stored = mp::put_part(
        &state.pool,
        upload.id,
        number,
        size,
        etag,
        checksum,
        chunks.chunks(),
    )
    .await;
    match stored {
        Ok(()) => {
            chunks.committed();
            Ok(())
        }
        Err(e) => {
            chunks.discard().await;
            Err(upload_error(e, &upload.upload_id))
        }
    }
}

/// The chunk files of a part's body (parts are never inline).
fn part_chunks(state: &AppState, body: NewBody) -> S3Result<WrittenChunks> {
    match body {
        NewBody::Chunks(chunks) => Ok(chunks),
        NewBody::Inline(data) if data.is_empty() => Ok(WrittenChunks::empty(&state.chunks)),
        _ => Err(S3Error::internal("a part was received inline")),
    }
}

/// UploadPart.
pub async fn upload_part(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let number = part_number(ctx)?;
    let upload = load_upload(state, ctx, &bucket).await?;
    let h = &parts.headers;
    require_length(parts)?;
    let payload = open_payload(state, ctx, parts, body, MAX_PART_BYTES)?;
    let received = receive(state, h, payload, 0).await?;
    let etag = received.etag();
    let checksum = received.checksum.clone();
    let chunks = part_chunks(state, received.body)?;
    store_part(
        state,
        &upload,
        number,
        received.size,
        &etag,
        checksum.as_ref().map(|(_, v)| v.as_str()),
        chunks,
    )
    .await?;
    let mut resp = ok_empty();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(http::header::ETAG, v);
    }
    if let Some((alg, value)) = &checksum
        && let Ok(v) = HeaderValue::from_str(value)
    {
        resp.headers_mut().insert(alg.header_name(), v);
    }
    Ok(resp)
}

/// `x-amz-copy-source-range: bytes=first-last` against a source of `size` bytes.
fn copy_source_range(value: Option<&str>, size: u64) -> S3Result<Selected> {
    let Some(value) = value else {
        return Ok(Selected {
            start: 0,
            len: size,
        });
    };
    let invalid = |message: String| {
        S3Error::with_message(S3ErrorCode::InvalidArgument, message)
            .extra("ArgumentName", "x-amz-copy-source-range")
            .extra("ArgumentValue", value.to_string())
    };
    let bounds = value
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)));
    let Some((first, last)) = bounds.filter(|(a, b)| a <= b) else {
        return Err(invalid(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first \
             and last are the zero-based offsets of the first and last bytes to copy"
                .into(),
        ));
    };
    // Well formed but past the source's end: S3's `InvalidRange` (416), as for a GET.
    if last >= size {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRange,
            format!("The requested range is not satisfiable: the source object has {size} bytes"),
        )
        .extra("RangeRequested", value.to_string())
        .extra("ActualObjectSize", size.to_string()));
    }
    Ok(Selected {
        start: first,
        len: last - first + 1,
    })
}

/// UploadPartCopy: the part's bytes are read from the source (whole chunks have their
/// CRC32C checked) and written as new chunk files, with their MD5 as the part's ETag.
pub async fn upload_part_copy(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
) -> S3Result<Response<ResponseBody>> {
    let h = &parts.headers;
    let source = CopySource::of_request(h)?;
    let bucket = authorized_bucket(state, ctx).await?;
    let number = part_number(ctx)?;
    let upload = load_upload(state, ctx, &bucket).await?;
    let (source_bucket, src) = source.authorized(state, ctx).await?;
    ReadConditions::of_copy_source(h).check_copy_source(&src.etag, src.last_modified)?;
    let range_header = h
        .get("x-amz-copy-source-range")
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let sel = copy_source_range(range_header, src.size)?;
    if sel.len > MAX_PART_BYTES {
        return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
    }
    let mut writer = state.chunks.writer();
    let mut md5 = Md5::new();
    let copied: S3Result<()> = async {
        if sel.len == 0 {
            return Ok(());
        }
        match &src.inline_data {
            Some(data) => {
                let start = usize::try_from(sel.start).map_err(S3Error::internal)?;
                let end = usize::try_from(sel.start + sel.len).map_err(S3Error::internal)?;
                let piece = Bytes::copy_from_slice(data.get(start..end).unwrap_or_default());
                md5.update(&piece);
                writer.write(piece).await?;
            }
            None => {
                let mut stream = chunk_stream(
                    state.chunks.clone(),
                    &src.chunks,
                    sel,
                    format!("{}/{}", source.bucket, source.key),
                );
                while let Some(frame) = stream.frame().await {
                    let frame = frame.map_err(S3Error::internal)?;
                    if let Ok(data) = frame.into_data() {
                        md5.update(&data);
                        writer.write(data).await?;
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = copied {
        writer.abort().await;
        return Err(e);
    }
    let chunks = writer.finish().await?;
    let etag = format!("\"{}\"", hex::encode(md5.finalize()));
    store_part(state, &upload, number, sel.len, &etag, None, chunks).await?;
    let mut resp = xml_response(xml::render_copy_result(
        "CopyPartResult",
        &etag,
        time::OffsetDateTime::now_utc(),
        None,
    ));
    super::copy::add_copy_source_version_header(resp.headers_mut(), &source_bucket, &src);
    Ok(resp)
}

/// `"<md5 of the parts' binary MD5s>-<count>"`, S3's multipart ETag; `None` if a part's
/// ETag is not an MD5.
pub fn multipart_etag(part_etags: &[&str]) -> Option<String> {
    let mut md5 = Md5::new();
    for etag in part_etags {
        let bytes = hex::decode(etag.trim_matches('"')).ok()?;
        if bytes.len() != 16 {
            return None;
        }
        md5.update(&bytes);
    }
    Some(format!(
        "\"{}-{}\"",
        hex::encode(md5.finalize()),
        part_etags.len()
    ))
}

/// `x-amz-checksum-type` values.
const COMPOSITE: &str = "COMPOSITE";
const FULL_OBJECT: &str = "FULL_OBJECT";

/// The object checksum of a completed upload: the full-object CRC (combined from the
/// parts' CRCs and sizes) for `FULL_OBJECT` uploads, else the composite checksum.
/// `None` when the upload has no algorithm, a part has no checksum, or the full-object
/// CRC cannot be combined (CRC64NVME).
pub fn object_checksum(upload: &Upload, parts: &[mp::Part]) -> Option<String> {
    if upload.checksum_type.as_deref() == Some(FULL_OBJECT) {
        full_object_crc(upload.checksum_algorithm.as_deref()?, parts)
    } else {
        composite_checksum(upload.checksum_algorithm.as_deref(), parts)
    }
}

/// The CRC of the whole object from its parts' CRCs and sizes (`crc(a || b)` from
/// `crc(a)`, `crc(b)` and `len(b)`), base64 big-endian as S3 writes CRCs.
fn full_object_crc(algorithm: &str, parts: &[mp::Part]) -> Option<String> {
    let b64 = &base64::engine::general_purpose::STANDARD;
    let crc_of = |part: &mp::Part| -> Option<u32> {
        let raw: [u8; 4] = b64
            .decode(part.checksum.as_deref()?)
            .ok()?
            .try_into()
            .ok()?;
        Some(u32::from_be_bytes(raw))
    };
    let combined = match algorithm.to_ascii_uppercase().as_str() {
        "CRC32" => {
            let mut whole = crc32fast::Hasher::new();
            for part in parts {
                whole.combine(&crc32fast::Hasher::new_with_initial_len(
                    crc_of(part)?,
                    part.size,
                ));
            }
            whole.finalize()
        }
        "CRC32C" => {
            let mut whole = 0u32;
            for part in parts {
                let len = usize::try_from(part.size).ok()?;
                whole = crc32c::crc32c_combine(whole, crc_of(part)?, len);
            }
            whole
        }
        _ => return None,
    };
    Some(b64.encode(combined.to_be_bytes()))
}

/// S3's composite checksum of a multipart object: the upload's algorithm over the
/// concatenated binary checksums of the parts, base64, then `-<count>`. `None` if the
/// upload has no algorithm or a part has no checksum.
pub fn composite_checksum(algorithm: Option<&str>, parts: &[mp::Part]) -> Option<String> {
    let algorithm = ChecksumAlgorithm::from_header_name(&format!(
        "{}{}",
        headers::CHECKSUM_PREFIX,
        algorithm?.to_ascii_lowercase()
    ))?;
    let mut hasher = ChecksumHasher::new(algorithm);
    for part in parts {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(part.checksum.as_deref()?)
            .ok()?;
        hasher.update(&raw);
    }
    Some(format!("{}-{}", hasher.finalize_base64(), parts.len()))
}

/// Checks the order of the parts a Complete names: part numbers in range and strictly
/// ascending (so no duplicates).
fn check_part_order(parts: &[CompletePart]) -> S3Result<()> {
    if let Some(bad) = parts
        .iter()
        .find(|p| !PART_NUMBERS.contains(&p.part_number))
    {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive",
        )
        .extra("ArgumentName", "PartNumber")
        .extra("ArgumentValue", bad.part_number.to_string()));
    }
    if parts
        .windows(2)
        .any(|w| w[0].part_number >= w[1].part_number)
    {
        return Err(S3Error::new(S3ErrorCode::InvalidPartOrder));
    }
    Ok(())
}

/// CompleteMultipartUpload.
pub async fn complete_multipart_upload(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    body: Incoming,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let upload = match load_upload(state, ctx, &bucket).await {
        Ok(upload) => upload,
        Err(e) if e.code() == S3ErrorCode::NoSuchUpload => {
            return completed_again(state, ctx, parts, &bucket)
                .await
                .unwrap_or(Err(e));
        }
        Err(e) => return Err(e),
    };
    let h = &parts.headers;
    let condition = write_condition(h)?;
    let cap = state.config.max_complete_xml_bytes;
    let mut payload = open_payload(state, ctx, parts, body, cap as u64)?;
    let request_xml = payload.read_to_end(cap, S3ErrorCode::MalformedXML).await?;
    super::payload::verify_content_md5(h, &request_xml)?;
    let listed = mxml::parse_complete(&request_xml).map_err(S3Error::from)?;
    check_part_order(&listed)?;
    let chosen: Vec<ChosenPart> = listed
        .iter()
        .map(|p| ChosenPart {
            part_number: p.part_number,
            etag: p.etag.clone(),
            checksum: p.checksum.clone(),
        })
        .collect();
    let etag_of = |parts: &[mp::Part]| {
        let etags: Vec<&str> = parts.iter().map(|p| p.etag.as_str()).collect();
        multipart_etag(&etags)
    };
    // The object checksum the client states, in the header of the upload's algorithm.
    let stated_checksum = upload.checksum_algorithm.as_deref().and_then(|alg| {
        h.get(format!(
            "{}{}",
            headers::CHECKSUM_PREFIX,
            alg.to_ascii_lowercase()
        ))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
    });
    const ATTEMPTS: usize = 5;
    let mut attempt = 0;
    let completed = loop {
        attempt += 1;
        let result = mp::complete_upload(
            &state.pool,
            &upload,
            &chosen,
            state.config.multipart_min_part_size,
            condition.clone(),
            bucket.versioning,
            etag_of,
            |parts: &[mp::Part]| object_checksum(&upload, parts),
            stated_checksum.as_deref(),
        )
        .await;
        match result {
            // Two first writers of the key: retried, the loser then replaces the winner.
            Err(e) if attempt < ATTEMPTS && object_write::lost_current_version_race(&e) => {}
            Err(e) => return Err(upload_error(e, &upload.upload_id)),
            Ok(Err(CompleteError::InvalidPart(n))) => {
                return Err(S3Error::new(S3ErrorCode::InvalidPart)
                    .extra("UploadId", upload.upload_id.clone())
                    .extra("PartNumber", n.to_string()));
            }
            Ok(Err(CompleteError::BadChecksum)) => {
                return Err(S3Error::with_message(
                    S3ErrorCode::BadDigest,
                    "The checksum you specified did not match the checksum of the parts.",
                ));
            }
            Ok(Err(CompleteError::TooSmall { part_number, size })) => {
                return Err(S3Error::new(S3ErrorCode::EntityTooSmall)
                    .extra("ProposedSize", size.to_string())
                    .extra(
                        "MinSizeAllowed",
                        state.config.multipart_min_part_size.to_string(),
                    )
                    .extra("PartNumber", part_number.to_string()));
            }
            Ok(Ok(completed)) => break completed,
        }
    };
    Ok(complete_response(
        parts,
        &bucket,
        &upload.key,
        &completed.etag,
        completed.checksum.as_ref(),
        completed.committed.version_id.as_deref(),
    ))
}

/// The answer to a CompleteMultipartUpload of an upload that is gone because it was
/// completed: the first completion's answer again, for a client that lost it and retries
/// (`None` when there is no record of it: the caller answers `NoSuchUpload`).
async fn completed_again(
    state: &AppState,
    ctx: &RequestContext,
    parts: &Parts,
    bucket: &Bucket,
) -> Option<S3Result<Response<ResponseBody>>> {
    let key = ctx.key.as_deref()?;
    let upload_id = ctx.query_param("uploadId")?;
    match mp::completed_upload(&state.pool, bucket.id, key, upload_id).await {
        Ok(Some(done)) => Some(Ok(complete_response(
            parts,
            bucket,
            key,
            &done.etag,
            done.checksum.as_ref(),
            done.version_id.as_deref(),
        ))),
        Ok(None) => None,
        Err(e) => Some(Err(e.into())),
    }
}

/// `CompleteMultipartUploadResult` with the new version's id.
fn complete_response(
    parts: &Parts,
    bucket: &Bucket,
    key: &str,
    etag: &str,
    checksum: Option<&(String, String)>,
    version_id: Option<&str>,
) -> Response<ResponseBody> {
    let location = super::object_location(&parts.headers, &bucket.name, key);
    let checksum = checksum.map(|(alg, value)| (alg.as_str(), value.as_str()));
    let mut resp = xml_response(mxml::render_complete(
        &location,
        &bucket.name,
        key,
        etag,
        checksum,
    ));
    super::versioning::add_version_header(resp.headers_mut(), bucket.versioning, version_id);
    resp
}

/// AbortMultipartUpload: 204, the parts' chunk files removed.
pub async fn abort_multipart_upload(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let upload = load_upload(state, ctx, &bucket).await?;
    mp::abort_upload(&state.pool, upload.id)
        .await
        .map_err(|e| upload_error(e, &upload.upload_id))?;
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

/// A `max-parts` / `max-uploads` style parameter: 0..=1000 (larger values are capped).
fn max_param(ctx: &RequestContext, name: &'static str) -> S3Result<i64> {
    match ctx.query_param(name) {
        None => Ok(MAX_LISTED),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| n.min(MAX_LISTED))
            .ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    format!("Provided {name} not an integer or within integer range"),
                )
                .extra("ArgumentName", name)
                .extra("ArgumentValue", v.to_string())
            }),
    }
}

/// ListParts.
pub async fn list_parts(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let upload = load_upload(state, ctx, &bucket).await?;
    let max_parts = max_param(ctx, "max-parts")?;
    let marker = match ctx.query_param("part-number-marker") {
        None | Some("") => 0,
        Some(v) => v.parse::<i32>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Provided part-number-marker not an integer or within integer range",
            )
            .extra("ArgumentName", "part-number-marker")
            .extra("ArgumentValue", v.to_string())
        })?,
    };
    let mut found = mp::list_parts(&state.pool, upload.id, marker, max_parts + 1).await?;
    let is_truncated = found.len() as i64 > max_parts;
    found.truncate(max_parts as usize);
    let next = is_truncated
        .then(|| found.last().map(|p| p.part_number))
        .flatten();
    // The owner of the object to be is the initiating account (the bucket owner for an
    // anonymous upload), so S3's Initiator and Owner are the same here.
    let owner = Owner {
        id: upload.owner_canonical_id.clone(),
        display_name: upload.owner_display_name.clone(),
    };
    let algorithm = upload.checksum_algorithm.clone();
    let result = mxml::ListParts {
        bucket: &bucket.name,
        key: &upload.key,
        upload_id: &upload.upload_id,
        initiator: owner.clone(),
        owner,
        part_number_marker: marker,
        next_part_number_marker: next,
        max_parts,
        is_truncated,
        parts: found
            .into_iter()
            .map(|p| mxml::PartEntry {
                part_number: p.part_number,
                last_modified: p.last_modified,
                etag: p.etag,
                size: p.size,
                checksum: algorithm.clone().zip(p.checksum),
            })
            .collect(),
        checksum_algorithm: upload.checksum_algorithm.as_deref(),
    };
    Ok(xml_response(mxml::render_list_parts(&result)))
}

/// ListMultipartUploads: uploads in (key, initiation) order, with `prefix`, `delimiter`
/// (common prefixes roll up), `key-marker` / `upload-id-marker` and `max-uploads`.
pub async fn list_multipart_uploads(
    state: &AppState,
    ctx: &RequestContext,
) -> S3Result<Response<ResponseBody>> {
    let bucket = authorized_bucket(state, ctx).await?;
    let max = max_param(ctx, "max-uploads")?;
    let url = list::encoding_type_url(ctx)?;
    let prefix = ctx.query_param("prefix").unwrap_or("");
    let delimiter = ctx.query_param("delimiter").filter(|d| !d.is_empty());
    let key_marker = ctx.query_param("key-marker").unwrap_or("");
    // Without a key marker, the upload-id marker is ignored (as on S3).
    let upload_id_marker = ctx
        .query_param("upload-id-marker")
        .filter(|m| !m.is_empty() && !key_marker.is_empty());

    let mut uploads = Vec::new();
    let mut common_prefixes: Vec<String> = Vec::new();
    let mut last: Option<(String, Option<String>)> = None;
    let mut is_truncated = false;
    let mut cursor = (key_marker.to_string(), upload_id_marker.map(str::to_string));
    'pages: loop {
        let page = mp::list_uploads(
            &state.pool,
            bucket.id,
            prefix,
            &cursor.0,
            cursor.1.as_deref(),
            MAX_LISTED,
        )
        .await?;
        let exhausted = (page.len() as i64) < MAX_LISTED;
        for u in &page {
            cursor = (u.key.clone(), Some(u.upload_id.clone()));
            let rolled = delimiter.and_then(|d| {
                u.key[prefix.len()..]
                    .find(d)
                    .map(|i| u.key[..prefix.len() + i + d.len()].to_string())
            });
            if let Some(p) = &rolled
                && common_prefixes.last() == Some(p)
            {
                continue;
            }
            if (uploads.len() + common_prefixes.len()) as i64 >= max {
                is_truncated = true;
                break 'pages;
            }
            match rolled {
                Some(p) => {
                    last = Some((p.clone(), None));
                    common_prefixes.push(p);
                }
                None => {
                    last = Some((u.key.clone(), Some(u.upload_id.clone())));
                    uploads.push(mxml::UploadEntry {
                        key: u.key.clone(),
                        upload_id: u.upload_id.clone(),
                        initiator: Owner {
                            id: u.initiator.0.clone(),
                            display_name: u.initiator.1.clone(),
                        },
                        owner: Owner {
                            id: u.owner.0.clone(),
                            display_name: u.owner.1.clone(),
                        },
                        initiated: u.created_at,
                    });
                }
            }
        }
        if exhausted {
            break;
        }
    }
    let (next_key_marker, next_upload_id_marker) = match (is_truncated, last) {
        (true, Some((key, id))) => (Some(key), id),
        _ => (None, None),
    };
    let result = mxml::ListUploads {
        bucket: &bucket.name,
        key_marker,
        upload_id_marker: upload_id_marker.unwrap_or(""),
        next_key_marker,
        next_upload_id_marker,
        prefix,
        delimiter,
        max_uploads: max,
        is_truncated,
        uploads,
        common_prefixes,
        url,
    };
    Ok(xml_response(mxml::render_list_uploads(&result)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etag_is_the_md5_of_the_part_md5s() {
        // Two parts "a" and "b": md5(md5("a") || md5("b")) with "-2".
        let a = format!("\"{}\"", hex::encode(Md5::digest(b"a")));
        let b = format!("\"{}\"", hex::encode(Md5::digest(b"b")));
        let mut both = Vec::new();
        both.extend_from_slice(&Md5::digest(b"a"));
        both.extend_from_slice(&Md5::digest(b"b"));
        let want = format!("\"{}-2\"", hex::encode(Md5::digest(&both)));
        assert_eq!(multipart_etag(&[&a, &b]), Some(want));
        assert_eq!(multipart_etag(&["\"not-hex\""]), None);
    }

    #[test]
    fn full_object_crcs_combine_the_parts() {
        let b64 = &base64::engine::general_purpose::STANDARD;
        let pieces: [&[u8]; 3] = [b"hello ", b"multipart ", b"world"];
        let part = |i: usize, crc: u32| mp::Part {
            part_number: i as i32 + 1,
            size: pieces[i].len() as u64,
            etag: String::new(),
            checksum: Some(b64.encode(crc.to_be_bytes())),
            last_modified: time::OffsetDateTime::UNIX_EPOCH,
        };
        let whole = pieces.concat();
        let crc32: Vec<_> = (0..3)
            .map(|i| part(i, crc32fast::hash(pieces[i])))
            .collect();
        assert_eq!(
            full_object_crc("CRC32", &crc32),
            Some(b64.encode(crc32fast::hash(&whole).to_be_bytes()))
        );
        let crc32c: Vec<_> = (0..3).map(|i| part(i, crc32c::crc32c(pieces[i]))).collect();
        assert_eq!(
            full_object_crc("CRC32C", &crc32c),
            Some(b64.encode(crc32c::crc32c(&whole).to_be_bytes()))
        );
        assert_eq!(full_object_crc("CRC64NVME", &crc32c), None);
    }

    #[test]
    fn part_order_must_be_strictly_ascending_and_in_range() {
        let parts = |numbers: &[i32]| -> Vec<CompletePart> {
            numbers
                .iter()
                .map(|&n| CompletePart {
                    part_number: n,
                    etag: "x".into(),
                    checksum: None,
                })
                .collect()
        };
        assert!(check_part_order(&parts(&[1, 2, 5])).is_ok());
        let code = |n: &[i32]| check_part_order(&parts(n)).map_err(|e| e.code()).err();
        assert_eq!(code(&[2, 1]), Some(S3ErrorCode::InvalidPartOrder));
        assert_eq!(code(&[1, 1]), Some(S3ErrorCode::InvalidPartOrder));
        assert_eq!(code(&[0, 1]), Some(S3ErrorCode::InvalidArgument));
        assert_eq!(code(&[1, 10_001]), Some(S3ErrorCode::InvalidArgument));
    }

    #[test]
    fn copy_source_ranges() {
        assert_eq!(
            copy_source_range(None, 10).ok(),
            Some(Selected { start: 0, len: 10 })
        );
        assert_eq!(
            copy_source_range(Some("bytes=2-5"), 10).ok(),
            Some(Selected { start: 2, len: 4 })
        );
        for bad in ["bytes=5-2", "bytes=-5", "bytes=2-", "2-5"] {
            let err = copy_source_range(Some(bad), 10).expect_err(bad);
            assert_eq!(err.code(), S3ErrorCode::InvalidArgument, "{bad}");
        }
        // Well formed, but past the end of a 10-byte source.
        let err = copy_source_range(Some("bytes=0-10"), 10).expect_err("past the end");
        assert_eq!(err.code(), S3ErrorCode::InvalidRange);
    }
}
