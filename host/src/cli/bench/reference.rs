//! Reference measurements, the machine's limits `scripts/bench-limits` compares
//! Coffer with: the same client against any HTTP server (`http-get`: nginx
//! serving the bytes `get` and `large` read), and the hashes every PUT computes,
//! on one core (`hash`).
//!
//! Driving nginx with `coffer bench` itself rather than `wrk` keeps the client's
//! own cost (hyper, one connection per client, the same runtime) on both sides of
//! the comparison; only the S3 signature is missing from the reference requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http::{HeaderValue, StatusCode, Uri};
use md5::Md5;
use sha2::{Digest, Sha256};

use super::{
    BenchArgs, Ctx, DEFAULT_LARGE_SIZE, GENERATOR_CHUNK, MIB, Op, Plan, S3Client, ScenarioResult,
    SplitMix64, drain, finish_rss, per_second, progress, run_load, spawn_interrupt_handler,
    start_rss, unexpected,
};

/// `--scenario http-get`: unsigned GETs of `--url` by `--concurrency` clients for
/// `--duration` (or `--requests`), reported like `get`.
pub(super) async fn run_http_get(args: &BenchArgs) -> anyhow::Result<()> {
    let url = args
        .url
        .as_deref()
        .context("--scenario http-get needs --url")?;
    let uri: Uri = url
        .parse()
        .with_context(|| format!("invalid --url {url:?}"))?;
    if uri.scheme_str() != Some("http") {
        bail!("--url must be a plain http:// URL");
    }
    let authority = uri.authority().context("--url has no host")?.as_str();
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let plan = Plan::from_args(args);
    let stop = spawn_interrupt_handler();
    let ctx = Arc::new(Ctx {
        s3: S3Client::new(&format!("http://{authority}"), "", "", &args.region)?,
        bucket: String::new(),
        size: 0,
        keys: 1,
        origin: HeaderValue::from_static("null"),
        fetch_path: path,
    });
    progress(&format!("running http-get of {url}"));
    let rss = start_rss(plan.server_pid);
    let outcome = run_load(&ctx, Op::Fetch, plan.limit, &plan, &stop).await;
    let result = ScenarioResult::from_load("http-get", outcome, finish_rss(rss).await);
    if args.json {
        let value = serde_json::json!({
            "scenario": "http-get",
            "url": url,
            "concurrency": plan.concurrency,
            "results": [super::result_json(&result)],
        });
        println!("{value}");
    } else {
        println!(
            "http-get {url}: {} clients, {} requests ({} failed), {:.0} req/s, {:.1} MiB/s, \
             p50 {:.2} ms, p99 {:.2} ms",
            plan.concurrency,
            result.ops,
            result.errors,
            result.ops_per_sec(),
            result.mib_per_sec(),
            result.latency_ms(0.50),
            result.latency_ms(0.99),
        );
    }
    if result.errors > 0 {
        let first = result.error_samples.first().cloned().unwrap_or_default();
        bail!("{} request(s) failed: {first}", result.errors);
    }
    Ok(())
}

/// One unsigned GET of the reference URL; returns the bytes received.
pub(super) async fn fetch(ctx: &Ctx) -> anyhow::Result<u64> {
    let response = ctx.s3.get_unsigned(&ctx.fetch_path).await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("GET", response).await);
    }
    drain(response.into_body()).await
}

/// `--scenario hash`: MD5 (the ETag) and SHA-256 (payload and chunk checksums)
/// over `--large-size` bytes each, one core, with the implementations the server
/// uses; prints MiB/s. No server.
pub(super) fn run_hash(args: &BenchArgs) -> anyhow::Result<()> {
    let size = args.large_size.unwrap_or(DEFAULT_LARGE_SIZE);
    let mut buf = vec![0u8; GENERATOR_CHUNK];
    SplitMix64(1).fill(&mut buf);
    progress(&format!("hashing {size} bytes with MD5, then SHA-256"));
    let md5 = time_hash(size, &buf, Md5::new());
    let sha256 = time_hash(size, &buf, Sha256::new());
    let md5_rate = per_second(size as f64 / MIB, md5);
    let sha256_rate = per_second(size as f64 / MIB, sha256);
    if args.json {
        let value = serde_json::json!({
            "scenario": "hash",
            "bytes": size,
            "md5_mib_per_s": md5_rate,
            "sha256_mib_per_s": sha256_rate,
        });
        println!("{value}");
    } else {
        println!(
            "hash {size} bytes, one core: MD5 {md5_rate:.0} MiB/s, SHA-256 {sha256_rate:.0} MiB/s"
        );
    }
    Ok(())
}

/// How long `hasher` takes over `size` bytes fed as `buf` repeatedly.
fn time_hash<D: Digest>(size: u64, buf: &[u8], mut hasher: D) -> Duration {
    let started = Instant::now();
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    std::hint::black_box(hasher.finalize());
    started.elapsed()
}
