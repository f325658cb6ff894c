//! `coffer bench --scenario versions`: what versioning costs.
//!
//! 1. PUTs of `--size` objects by `--concurrency` clients for `--duration` into the
//!    benchmark bucket (unversioned);
//! 2. a second bucket with versioning enabled, filled with `--keys` keys of
//!    `--versions-per-key` versions each, then ListObjectVersions walked page by page
//!    (1,000 entries a page) for `--duration`: the latency of one page;
//! 3. the PUTs of step 1 again, into the versioned bucket: the throughput a versioned
//!    write keeps, in the same run.
//!
//! The versioned bucket is always created by the benchmark and removed afterwards
//! (every version deleted) unless `--keep`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use md5::{Digest, Md5};
use sha2::Sha256;

use super::{
    BenchBody, Ctx, EMPTY_SHA256, Limit, LoadOutcome, MAX_XML_BODY, OP_TIMEOUT, Op, Plan,
    ScenarioResult, Stop, bucket_path, ensure_bucket, finish_rss, progress, read_body, run_load,
    start_rss, unexpected, xml_text, xml_texts,
};

/// Entries per ListObjectVersions page (S3's maximum).
const PAGE: u32 = 1000;

/// Runs the scenario (see the module documentation).
pub(super) async fn run_versions(
    ctx: &Arc<Ctx>,
    plan: &Plan,
    region: &str,
    stop: &Stop,
    results: &mut Vec<ScenarioResult>,
) -> anyhow::Result<()> {
    progress("running put (unversioned)");
    let rss = start_rss(plan.server_pid);
    let outcome = run_load(ctx, Op::Put, plan.limit, plan, stop).await;
    results.push(ScenarioResult::from_load(
        "put",
        outcome,
        finish_rss(rss).await,
    ));
    if stop.is_set() {
        return Ok(());
    }
    let versioned = Arc::new(Ctx {
        s3: ctx.s3.clone(),
        bucket: format!("{}-versioned", ctx.bucket),
        size: ctx.size,
        keys: ctx.keys,
        origin: ctx.origin.clone(),
        fetch_path: String::new(),
        db: None,
    });
    ensure_bucket(&versioned.s3, &versioned.bucket, region).await?;
    let outcome = measure_versioned(&versioned, plan, stop, results).await;
    let cleanup = if plan.keep {
        Ok(())
    } else {
        progress("removing the versioned bucket");
        remove_versioned(&versioned).await
    };
    outcome?;
    cleanup
}

async fn measure_versioned(
    ctx: &Arc<Ctx>,
    plan: &Plan,
    stop: &Stop,
    results: &mut Vec<ScenarioResult>,
) -> anyhow::Result<()> {
    enable_versioning(ctx).await?;
    let versions = ctx.keys * plan.versions_per_key;
    progress(&format!(
        "writing {} keys x {} versions",
        ctx.keys, plan.versions_per_key
    ));
    let fill = run_load(
        ctx,
        Op::PopulateVersions,
        Limit::Requests(versions),
        plan,
        stop,
    )
    .await;
    if fill.errors > 0 {
        let first = fill.error_samples.first().cloned().unwrap_or_default();
        bail!("writing the versions: {} PUTs failed: {first}", fill.errors);
    }
    progress("running list-versions");
    let mut pages = LoadOutcome::default();
    let started = Instant::now();
    let mut walks = 0u64;
    'walks: loop {
        let done = match plan.limit {
            Limit::Duration(d) => started.elapsed() >= d,
            Limit::Requests(n) => walks >= n,
        };
        if done || stop.is_set() {
            break;
        }
        walks += 1;
        let mut marker: Option<(String, String)> = None;
        loop {
            let began = Instant::now();
            match list_versions_page(ctx, marker.as_ref()).await {
                Ok(page) => {
                    pages.latencies.push(began.elapsed());
                    pages.bytes += page.bytes;
                    match page.next {
                        Some(next) => marker = Some(next),
                        None => break,
                    }
                }
                Err(e) => {
                    pages.record_error(format!("{e:#}"));
                    continue 'walks;
                }
            }
        }
    }
    pages.elapsed = started.elapsed();
    results.push(ScenarioResult::from_load("list-versions-page", pages, None));
    if stop.is_set() {
        return Ok(());
    }
    progress("running put (versioned)");
    let rss = start_rss(plan.server_pid);
    let outcome = run_load(ctx, Op::Put, plan.limit, plan, stop).await;
    results.push(ScenarioResult::from_load(
        "put-versioned",
        outcome,
        finish_rss(rss).await,
    ));
    Ok(())
}

async fn enable_versioning(ctx: &Ctx) -> anyhow::Result<()> {
    let body = Bytes::from_static(
        b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>",
    );
    let hash = hex::encode(Sha256::digest(&body));
    let response = ctx
        .s3
        .send(
            Method::PUT,
            &bucket_path(&ctx.bucket),
            "versioning=",
            BenchBody::full(body),
            &hash,
            &[],
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("PutBucketVersioning", response).await);
    }
    Ok(())
}

/// One page of a ListObjectVersions response.
struct VersionsPage {
    /// (key, version id) of every version and delete marker, still XML-escaped.
    entries: Vec<(String, String)>,
    /// Where the next page starts, if the listing is truncated.
    next: Option<(String, String)>,
    bytes: u64,
}

async fn list_versions_page(
    ctx: &Ctx,
    marker: Option<&(String, String)>,
) -> anyhow::Result<VersionsPage> {
    let mut query = format!("max-keys={PAGE}&versions=");
    if let Some((key, version)) = marker {
        let encode = |s: &str| coffer::auth::sigv4::uri_encode(s.as_bytes(), false);
        let _ = write!(
            query,
            "&key-marker={}&version-id-marker={}",
            encode(key),
            encode(version)
        );
    }
    // The canonical query must be sorted: `key-marker` < `max-keys` < `version-...` <
    // `versions`.
    let mut pairs: Vec<&str> = query.split('&').collect();
    pairs.sort_unstable();
    let query = pairs.join("&");
    let response = tokio::time::timeout(
        OP_TIMEOUT,
        ctx.s3.send(
            Method::GET,
            &bucket_path(&ctx.bucket),
            &query,
            BenchBody::empty(),
            EMPTY_SHA256,
            &[],
        ),
    )
    .await
    .map_err(|_| anyhow!("ListObjectVersions timed out"))??;
    if response.status() != StatusCode::OK {
        return Err(unexpected("ListObjectVersions", response).await);
    }
    let body = read_body(response.into_body(), MAX_XML_BODY).await?;
    let text = String::from_utf8_lossy(&body);
    let keys = xml_texts(&text, "Key");
    let versions = xml_texts(&text, "VersionId");
    let entries: Vec<(String, String)> = keys
        .iter()
        .zip(&versions)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let next = match (
        xml_text(&text, "IsTruncated"),
        xml_text(&text, "NextKeyMarker"),
        xml_text(&text, "NextVersionIdMarker"),
    ) {
        (Some("true"), Some(key), Some(version)) => {
            Some((super::xml_unescape(key), super::xml_unescape(version)))
        }
        (Some("true"), _, _) => bail!("a truncated version listing without its markers"),
        _ => None,
    };
    Ok(VersionsPage {
        entries,
        next,
        bytes: body.len() as u64,
    })
}

/// Deletes every version of the versioned bucket, then the bucket.
async fn remove_versioned(ctx: &Ctx) -> anyhow::Result<()> {
    for _ in 0..1_000_000 {
        let page = list_versions_page(ctx, None).await?;
        if page.entries.is_empty() {
            let response = ctx
                .s3
                .send(
                    Method::DELETE,
                    &bucket_path(&ctx.bucket),
                    "",
                    BenchBody::empty(),
                    EMPTY_SHA256,
                    &[],
                )
                .await?;
            if !response.status().is_success() {
                return Err(unexpected("DeleteBucket", response).await);
            }
            return Ok(());
        }
        delete_versions(ctx, &page.entries).await?;
    }
    bail!("the versioned bucket does not get empty")
}

async fn delete_versions(ctx: &Ctx, entries: &[(String, String)]) -> anyhow::Result<()> {
    let mut xml = String::from("<Delete><Quiet>true</Quiet>");
    for (key, version) in entries {
        let _ = write!(
            xml,
            "<Object><Key>{key}</Key><VersionId>{version}</VersionId></Object>"
        );
    }
    xml.push_str("</Delete>");
    let body = Bytes::from(xml);
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&body));
    let hash = hex::encode(Sha256::digest(&body));
    let extra = [(
        HeaderName::from_static("content-md5"),
        HeaderValue::from_str(&md5).context("Content-MD5")?,
    )];
    let response = ctx
        .s3
        .send(
            Method::POST,
            &bucket_path(&ctx.bucket),
            "delete=",
            BenchBody::full(body),
            &hash,
            &extra,
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("DeleteObjects", response).await);
    }
    Ok(())
}
