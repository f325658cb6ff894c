//! `coffer bench --scenario multipart`: the complete object API's costs.
//!
//! 1. a multipart upload of `--large-size` (1 GiB) in `--part-size` (8 MiB) parts,
//!    `--parts-parallel` (8) at a time: MiB/s;
//! 2. CompleteMultipartUpload of an upload of 1,000 small parts: its latency;
//! 3. CopyObject of the large object and of a 1 KiB object: their latencies (a copy
//!    shares chunks, so the two should be close);
//! 4. CompleteMultipartUpload of 10,000 small parts, with the server's RSS sampled
//!    (`--server-pid`): the peak memory of the largest complete S3 allows.
//!
//! Steps 2 and 4 upload parts of `--small-part-size` (1 KiB), smaller than S3's 5 MiB
//! minimum: start the server with `--multipart-min-part-size 1024` (or less).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use futures_util::{StreamExt, TryStreamExt};
use http::{HeaderName, HeaderValue, Method, StatusCode};

use super::{
    BenchBody, Ctx, MAX_XML_BODY, PREFIX, Plan, ScenarioResult, Stop, finish_rss, object_path,
    progress, read_body, start_rss, unexpected,
};
use coffer::auth::sigv4::{UNSIGNED_PAYLOAD, uri_encode};

/// Settings of the multipart scenario.
#[derive(Debug, Clone, Copy)]
pub(super) struct MultipartPlan {
    /// Part size of the large upload.
    pub part_size: u64,
    /// Parts in flight at once.
    pub parallel: usize,
    /// Size of each part of the many-part uploads.
    pub small_part_size: u64,
}

fn header_value(response: &http::Response<hyper::body::Incoming>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The text of `<tag>` in an XML document.
fn xml_text(body: &[u8], tag: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(text[start..end].to_owned())
}

async fn create_upload(ctx: &Ctx, key: &str) -> anyhow::Result<String> {
    let response = ctx
        .s3
        .send(
            Method::POST,
            &object_path(&ctx.bucket, key),
            "uploads=",
            BenchBody::full(bytes::Bytes::new()),
            super::EMPTY_SHA256,
            &[],
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("CreateMultipartUpload", response).await);
    }
    let body = read_body(response.into_body(), MAX_XML_BODY).await?;
    xml_text(&body, "UploadId").ok_or_else(|| anyhow!("no UploadId in the response"))
}

async fn upload_part(
    ctx: &Ctx,
    key: &str,
    upload_id: &str,
    number: u32,
    size: u64,
) -> anyhow::Result<String> {
    let query = format!(
        "partNumber={number}&uploadId={}",
        uri_encode(upload_id.as_bytes(), false)
    );
    let response = ctx
        .s3
        .send(
            Method::PUT,
            &object_path(&ctx.bucket, key),
            &query,
            BenchBody::generated(size, rand::random()),
            UNSIGNED_PAYLOAD,
            &[],
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("UploadPart", response).await);
    }
    let etag = header_value(&response, "etag").ok_or_else(|| anyhow!("UploadPart: no ETag"))?;
    super::drain(response.into_body()).await?;
    Ok(etag)
}

/// Uploads `count` parts of `size` bytes (the last `last_size`), `parallel` at a time;
/// returns their ETags in part order.
async fn upload_parts(
    ctx: &Arc<Ctx>,
    key: &str,
    upload_id: &str,
    count: u32,
    size: u64,
    last_size: u64,
    parallel: usize,
) -> anyhow::Result<Vec<String>> {
    futures_util::stream::iter(1..=count)
        .map(|n| {
            let ctx = ctx.clone();
            let (key, upload_id) = (key.to_owned(), upload_id.to_owned());
            let part = if n == count { last_size } else { size };
            async move { upload_part(&ctx, &key, &upload_id, n, part).await }
        })
        .buffered(parallel.max(1))
        .try_collect()
        .await
}

async fn complete(ctx: &Ctx, key: &str, upload_id: &str, etags: &[String]) -> anyhow::Result<()> {
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (i, etag) in etags.iter().enumerate() {
        xml.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
            i + 1
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(xml.as_bytes()));
    let query = format!("uploadId={}", uri_encode(upload_id.as_bytes(), false));
    let response = ctx
        .s3
        .send(
            Method::POST,
            &object_path(&ctx.bucket, key),
            &query,
            BenchBody::full(bytes::Bytes::from(xml)),
            &hash,
            &[],
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("CompleteMultipartUpload", response).await);
    }
    let body = read_body(response.into_body(), MAX_XML_BODY).await?;
    if xml_text(&body, "ETag").is_none() {
        bail!(
            "CompleteMultipartUpload failed: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

async fn copy(ctx: &Ctx, from: &str, to: &str) -> anyhow::Result<Duration> {
    let source = HeaderValue::from_str(&object_path(&ctx.bucket, from)).context("copy source")?;
    let began = Instant::now();
    let response = ctx
        .s3
        .send(
            Method::PUT,
            &object_path(&ctx.bucket, to),
            "",
            BenchBody::full(bytes::Bytes::new()),
            super::EMPTY_SHA256,
            &[(HeaderName::from_static("x-amz-copy-source"), source)],
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("CopyObject", response).await);
    }
    let body = read_body(response.into_body(), MAX_XML_BODY).await?;
    let elapsed = began.elapsed();
    if xml_text(&body, "ETag").is_none() {
        bail!("CopyObject failed: {}", String::from_utf8_lossy(&body));
    }
    Ok(elapsed)
}

/// Uploads `parts` small parts and times the Complete, sampling RSS around it.
async fn timed_complete(
    ctx: &Arc<Ctx>,
    plan: &Plan,
    mp: MultipartPlan,
    parts: u32,
) -> anyhow::Result<(Duration, Option<super::RssReport>)> {
    let key = format!("{PREFIX}mp-{parts}-parts");
    let id = create_upload(ctx, &key).await?;
    progress(&format!(
        "uploading {parts} parts of {} bytes",
        mp.small_part_size
    ));
    let etags = upload_parts(
        ctx,
        &key,
        &id,
        parts,
        mp.small_part_size,
        mp.small_part_size,
        32,
    )
    .await
    .with_context(
        || "uploading small parts (start the server with --multipart-min-part-size 1024)",
    )?;
    progress(&format!("completing {parts} parts"));
    let rss = start_rss(plan.server_pid);
    let began = Instant::now();
    let result = complete(ctx, &key, &id, &etags).await;
    let elapsed = began.elapsed();
    let rss = finish_rss(rss).await;
    result.context(
        "completing the small-part upload (the server must accept small parts: \
         --multipart-min-part-size 1024)",
    )?;
    Ok((elapsed, rss))
}

/// Runs the multipart scenario, appending results as they come.
pub(super) async fn run_multipart(
    ctx: &Arc<Ctx>,
    plan: &Plan,
    mp: MultipartPlan,
    stop: &Stop,
    results: &mut Vec<ScenarioResult>,
) -> anyhow::Result<()> {
    let size = plan.large_size;
    let large_key = format!("{PREFIX}mp-large");
    let parts = u32::try_from(size.div_ceil(mp.part_size).max(1)).context("too many parts")?;
    if parts > 10_000 {
        bail!("{parts} parts: more than 10,000 (raise --part-size)");
    }
    progress(&format!(
        "multipart upload of {} in {parts} parts, {} in flight",
        super::format_size(size),
        mp.parallel
    ));
    let rss = start_rss(plan.server_pid);
    let began = Instant::now();
    let outcome = async {
        let id = create_upload(ctx, &large_key).await?;
        let last = size - mp.part_size * (u64::from(parts) - 1);
        let etags =
            upload_parts(ctx, &large_key, &id, parts, mp.part_size, last, mp.parallel).await?;
        complete(ctx, &large_key, &id, &etags).await?;
        Ok::<u64, anyhow::Error>(size)
    }
    .await;
    let failed = outcome.is_err();
    results.push(ScenarioResult::single(
        "multipart-upload",
        Some(outcome),
        began.elapsed(),
        finish_rss(rss).await,
    ));
    if failed || stop.is_set() {
        return Ok(());
    }

    let (elapsed, _) = timed_complete(ctx, plan, mp, 1000).await?;
    results.push(ScenarioResult::single(
        "complete-1000-parts",
        Some(Ok(0)),
        elapsed,
        None,
    ));
    if stop.is_set() {
        return Ok(());
    }

    progress("copying the large object and a 1 KiB object");
    let small_key = format!("{PREFIX}mp-small");
    let response = ctx
        .s3
        .send(
            Method::PUT,
            &object_path(&ctx.bucket, &small_key),
            "",
            BenchBody::generated(1024, 7),
            UNSIGNED_PAYLOAD,
            &[],
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("PUT", response).await);
    }
    super::drain(response.into_body()).await?;
    let large_copy = copy(ctx, &large_key, &format!("{PREFIX}mp-large-copy")).await?;
    results.push(ScenarioResult::single(
        "copy-large",
        Some(Ok(0)),
        large_copy,
        None,
    ));
    let small_copy = copy(ctx, &small_key, &format!("{PREFIX}mp-small-copy")).await?;
    results.push(ScenarioResult::single(
        "copy-1kib",
        Some(Ok(0)),
        small_copy,
        None,
    ));
    if stop.is_set() {
        return Ok(());
    }

    let (elapsed, rss) = timed_complete(ctx, plan, mp, 10_000).await?;
    results.push(ScenarioResult::single(
        "complete-10000-parts",
        Some(Ok(0)),
        elapsed,
        rss,
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_xml_text() {
        let body = b"<R><UploadId>abc</UploadId><ETag>&quot;x&quot;</ETag></R>";
        assert_eq!(xml_text(body, "UploadId").as_deref(), Some("abc"));
        assert_eq!(xml_text(body, "Missing"), None);
    }
}
