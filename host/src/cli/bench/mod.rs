//! `coffer bench`: drives any S3 endpoint (path-style addressing, SigV4 in the
//! `Authorization` header) with load and reports throughput, latency and,
//! optionally, the resident memory of the server process.
//!
//! Scenarios: `put` (concurrent PUTs of small objects), `get` (concurrent GETs of
//! pre-populated objects), `list` (ListObjectsV2 of the populated keys), `large`
//! (one streamed PUT then GET of a big object) and `all` (the four in that order).
//!
//! `cors-get` measures what CORS costs: 4 KiB GETs without `Origin` and with an
//! `Origin` that a rule of the bucket's CORS configuration matches, alternating, in
//! one run. `policy-get` does the same for a bucket policy: 4 KiB GETs without one and
//! with a 20-statement, 10-condition policy that evaluates every statement, alternating.
//!
//! `http-get`, `http-put` and `hash` measure the machine, not Coffer (`reference`): the
//! same client's GETs of any URL (nginx serving the same bytes) and PUTs to one (the
//! stack's floor, `host/examples/stack_floor.rs`), and MD5/SHA-256 speed.
//!
//! `db-put` needs no server either: it makes a 4 KiB PUT's statements through the
//! server's store functions against `--database-url` (`database`), to show what they
//! alone allow.
//!
//! `decision` needs no server: it times single policy decisions of the embedded
//! default module in-process (fresh store and instance per decision, as the server
//! does) and reports their latency percentiles in microseconds: `authorize` of a
//! typical GET, or with `--hook cors` a CORS decision over `--cors-rules` rules
//! whose last one matches.

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use bytes::Bytes;
use coffer::auth::SecretKey;
use coffer::auth::sigv4::{EMPTY_SHA256, UNSIGNED_PAYLOAD, encode_path, sign_v4, uri_encode};
use coffer::policy::{Limits, PolicyEngine, types};
use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, header,
};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::watch;

mod database;
mod objects;
mod reference;
mod versions;

/// Every object the benchmark writes lives under this prefix, so that a run
/// against an existing bucket only ever touches (and cleans up) its own keys.
const PREFIX: &str = "coffer-bench/";
/// The prefix of the `--keys` small objects (the `list` scenario lists exactly these).
const OBJECT_PREFIX: &str = "coffer-bench/obj-";
/// The key of the `large` scenario's object.
const LARGE_KEY: &str = "coffer-bench/large-object";
/// Size of the frames a generated body is sent in: big enough to amortise
/// per-frame costs, small enough that the client never holds much of an object.
const GENERATOR_CHUNK: usize = 1 << 20;
/// How long one small request (and setup/cleanup request) may take before it counts as failed.
const OP_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the server's RSS is sampled.
const RSS_INTERVAL: Duration = Duration::from_millis(100);
/// The most bytes read from an XML response (a 1000-key listing is ~300 KB).
const MAX_XML_BODY: usize = 64 << 20;
/// How many distinct error messages a scenario keeps to show the user.
const MAX_ERROR_SAMPLES: usize = 5;
/// Default object size of the `large` scenario.
const DEFAULT_LARGE_SIZE: u64 = 1 << 30;
/// Default object size of `put`, `get` and `list`.
const DEFAULT_SIZE: u64 = 4 << 10;
/// Default length of a timed scenario.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// One MiB, for throughput figures.
const MIB: f64 = 1024.0 * 1024.0;

/// Arguments of `coffer bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// S3 endpoint (plain HTTP), addressed path-style: http://HOST:PORT.
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    endpoint: String,
    /// Access key id to sign requests with (not needed for --scenario decision).
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    access_key: Option<String>,
    /// Secret access key to sign requests with (not needed for --scenario decision).
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// Region to sign requests for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The URL `--scenario http-get` GETs (unsigned, plain http).
    #[arg(long)]
    url: Option<String>,
    /// Bucket to use (default: coffer-bench-<random>). Created if missing; a bucket
    /// created by the benchmark is emptied and deleted at the end unless --keep.
    #[arg(long)]
    bucket: Option<String>,
    /// Keep the bucket and the objects written.
    #[arg(long)]
    keep: bool,
    /// Concurrent clients (one connection each) for put, get and list.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,
    /// How long each timed scenario runs, e.g. 10s, 500ms, 2m [default: 10s].
    #[arg(long, value_parser = parse_duration, conflicts_with = "requests")]
    duration: Option<Duration>,
    /// Run each of put, get and list for this many requests instead of a duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    requests: Option<u64>,
    /// Object size for put, get and list, e.g. 4KiB, 1MiB [default: 4KiB; with
    /// --scenario large and no --large-size: the large object's size].
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    /// Object size of the large scenario [default: 1GiB].
    #[arg(long, value_parser = parse_size)]
    large_size: Option<u64>,
    /// Number of distinct keys that put writes to and get/list pre-populate.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    keys: u64,
    /// The bucket already holds the --keys objects of --size bytes (e.g. written by
    /// `scripts/gen-objects`): get, list and list-page read them without writing them
    /// first, and the bucket is kept.
    #[arg(long)]
    prepopulated: bool,
    /// Versions written of each of the --keys keys by the versions scenario.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    versions_per_key: u64,
    /// What to measure.
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Sample this process's RSS (the server's) every 100 ms during each scenario.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The PostgreSQL `--scenario db-put` writes into (the server's own database, e.g.
    /// postgres://coffer@localhost/coffer?host=DATA_DIR/run for the embedded one).
    #[arg(long)]
    database_url: Option<String>,
    /// Part size of the multipart scenario's large upload.
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    part_size: u64,
    /// Parts uploaded at once in the multipart scenario.
    #[arg(long, default_value_t = 8)]
    parts_parallel: usize,
    /// Size of each part of the multipart scenario's 1,000- and 10,000-part uploads.
    #[arg(long, default_value = "1KiB", value_parser = parse_size)]
    small_part_size: u64,
    /// The `Origin` of the cors-get scenario's requests (its bucket gets a CORS rule
    /// allowing it).
    #[arg(long, default_value = "https://app.bench.example")]
    origin: String,
    /// The hook the decision scenario times.
    #[arg(long, value_enum, default_value_t = DecisionHook::Authorize)]
    hook: DecisionHook,
    /// Rules in the bucket configuration of `--scenario decision --hook cors` (the last
    /// one matches).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    cors_rules: u32,
    /// A bucket policy (IAM JSON) for the bucket of `--scenario decision --hook
    /// authorize`, which the decisions then evaluate (e.g. `scripts/bench-bucket-policy.json`:
    /// 20 statements, 10 conditions). Its bucket is `photos`; the request is bob's
    /// GetObject of `photos/2024/holiday/IMG_0042.jpg`, signed with SigV4, over TLS, from
    /// 192.0.2.10.
    #[arg(long, value_name = "FILE")]
    bucket_policy: Option<std::path::PathBuf>,
    /// Writes `--scenario decision`'s timings to FILE, one decision per line in the
    /// order they ran (nanoseconds), for looking at the tail: whether slow decisions
    /// come alone or in clusters, and how often (`scripts/decision-tail`).
    #[arg(long, value_name = "FILE")]
    samples: Option<std::path::PathBuf>,
}

/// The hooks `--scenario decision` can time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DecisionHook {
    /// `authorize` of a typical GetObject.
    Authorize,
    /// `cors` of a preflight over `--cors-rules` rules.
    Cors,
}

/// The scenarios `--scenario` selects from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// Concurrent PUTs of --size objects to random keys.
    Put,
    /// Concurrent GETs of random pre-populated keys.
    Get,
    /// ListObjectsV2 of all pre-populated keys, repeatedly.
    List,
    /// One ListObjectsV2 page of 1,000 keys per request, starting after a random one of
    /// the --keys pre-populated keys (latency per page, whatever the bucket's size).
    ListPage,
    /// put, get, list, then large.
    All,
    /// One streamed PUT then GET of a large object.
    Large,
    /// No server: time --requests (default 100 000) policy decisions of the
    /// embedded default module in-process, one thread, and report percentiles.
    Decision,
    /// Multipart upload of --large-size in --part-size parts (--parts-parallel at a
    /// time), Complete of 1,000 and of 10,000 small parts (the server needs
    /// --multipart-min-part-size 1024), CopyObject of the large object and of 1 KiB.
    Multipart,
    /// GETs without Origin and with an --origin a CORS rule of the bucket matches,
    /// alternating (get, get-origin, get, get-origin), --duration each.
    CorsGet,
    /// PUTs into the bucket and then into one with versioning enabled (--duration
    /// each, same run), then ListObjectVersions pages of --keys keys with
    /// --versions-per-key versions each (latency per page of 1,000).
    Versions,
    /// GETs without and with a bucket policy of 20 statements and 10 conditions
    /// (generated for the bucket and the caller; none matches until the last, so every
    /// decision evaluates them all), alternating (get, get-policy, get, get-policy),
    /// --duration each.
    PolicyGet,
    /// Not Coffer: unsigned GETs of --url (e.g. nginx serving a file of the size get
    /// or large reads), --concurrency clients, --duration each; a reference.
    HttpGet,
    /// Not Coffer: unsigned PUTs of --size generated bytes to --url (the stack's floor,
    /// `host/examples/stack_floor.rs`), --concurrency clients; a reference.
    HttpPut,
    /// No server: MD5 and SHA-256 speed on one core over --large-size bytes, with
    /// the implementations the server uses; a reference.
    Hash,
    /// No server: a --size PUT's database statements (the access key and bucket, then
    /// the object written inline) through the server's own store functions, against
    /// --database-url, into the existing --bucket, --concurrency tasks; a reference.
    DbPut,
}

impl Scenario {
    /// The name as the user typed it, for the report.
    fn name(self) -> &'static str {
        match self {
            Scenario::Put => "put",
            Scenario::Get => "get",
            Scenario::List => "list",
            Scenario::ListPage => "list-page",
            Scenario::All => "all",
            Scenario::Large => "large",
            Scenario::Decision => "decision",
            Scenario::Multipart => "multipart",
            Scenario::CorsGet => "cors-get",
            Scenario::Versions => "versions",
            Scenario::PolicyGet => "policy-get",
            Scenario::HttpGet => "http-get",
            Scenario::HttpPut => "http-put",
            Scenario::Hash => "hash",
            Scenario::DbPut => "db-put",
        }
    }
}

/// When a timed scenario stops.
#[derive(Debug, Clone, Copy)]
enum Limit {
    /// Run for this long.
    Duration(Duration),
    /// Run this many requests in total (across all clients).
    Requests(u64),
}

/// The resolved settings of a run.
#[derive(Debug)]
struct Plan {
    scenario: Scenario,
    concurrency: u32,
    limit: Limit,
    size: u64,
    large_size: u64,
    keys: u64,
    prepopulated: bool,
    versions_per_key: u64,
    region: String,
    server_pid: Option<u32>,
    keep: bool,
    json: bool,
    multipart: objects::MultipartPlan,
}

impl Plan {
    /// Applies the defaults that depend on other arguments (sizes, limit).
    fn from_args(args: &BenchArgs) -> Self {
        let large_size = match (args.large_size, args.size, args.scenario) {
            (Some(large), _, _) => large,
            (None, Some(size), Scenario::Large) => size,
            _ => DEFAULT_LARGE_SIZE,
        };
        let limit = match args.requests {
            Some(n) => Limit::Requests(n),
            None => Limit::Duration(args.duration.unwrap_or(DEFAULT_DURATION)),
        };
        Plan {
            scenario: args.scenario,
            concurrency: args.concurrency,
            limit,
            size: args.size.unwrap_or(DEFAULT_SIZE),
            large_size,
            keys: args.keys,
            prepopulated: args.prepopulated,
            versions_per_key: args.versions_per_key,
            region: args.region.clone(),
            server_pid: args.server_pid,
            keep: args.keep || args.prepopulated,
            json: args.json,
            multipart: objects::MultipartPlan {
                part_size: args.part_size,
                parallel: args.parts_parallel,
                small_part_size: args.small_part_size,
            },
        }
    }

    /// Whether the large-object scenario runs.
    fn runs_large(&self) -> bool {
        matches!(self.scenario, Scenario::Large | Scenario::All)
    }
}

/// Runs `coffer bench`: set up the bucket, run the scenarios, clean up, report.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.scenario {
        Scenario::Decision => return run_decision(&args).await,
        Scenario::HttpGet => return reference::run_http(&args, false).await,
        Scenario::HttpPut => return reference::run_http(&args, true).await,
        Scenario::Hash => return reference::run_hash(&args),
        Scenario::DbPut => return database::run_db_put(&args).await,
        _ => {}
    }
    let plan = Plan::from_args(&args);
    let access_key = args
        .access_key
        .as_deref()
        .context("--access-key (or AWS_ACCESS_KEY_ID) is required")?;
    let secret_key = args
        .secret_key
        .as_deref()
        .context("--secret-key (or AWS_SECRET_ACCESS_KEY) is required")?;
    let s3 = S3Client::new(&args.endpoint, access_key, secret_key, &args.region)?;
    if let Some(pid) = plan.server_pid {
        read_rss_kib(pid).with_context(|| format!("cannot read the RSS of --server-pid {pid}"))?;
    }
    let bucket = match &args.bucket {
        Some(name) => name.clone(),
        None if args.prepopulated => {
            bail!("--prepopulated needs the --bucket that holds the objects")
        }
        None => format!("coffer-bench-{:08x}", rand::random::<u32>()),
    };
    let stop = spawn_interrupt_handler();
    let created = ensure_bucket(&s3, &bucket, &args.region).await?;
    if created && args.prepopulated {
        bail!("--prepopulated: bucket {bucket} did not exist (it does now, empty)");
    }
    let origin = HeaderValue::from_str(&args.origin).context("--origin")?;
    let ctx = Arc::new(Ctx {
        s3,
        bucket,
        size: plan.size,
        keys: plan.keys,
        origin,
        fetch_path: String::new(),
        db: None,
    });

    let mut results = Vec::new();
    let outcome = run_scenarios(&ctx, &plan, &stop, &mut results).await;
    let cleanup = if plan.keep {
        Ok(())
    } else {
        progress("cleaning up");
        cleanup(&ctx, created).await
    };

    let header = Header {
        endpoint: args.endpoint.clone(),
        region: args.region.clone(),
        bucket: ctx.bucket.clone(),
        created,
    };
    if plan.json {
        println!("{}", report_json(&plan, &header, &results, stop.is_set()));
    } else {
        print!("{}", report_table(&plan, &header, &results, stop.is_set()));
    }

    outcome?;
    cleanup.context("cleaning up the benchmark's objects")?;
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    if errors > 0 {
        bail!("{errors} request(s) failed");
    }
    Ok(())
}

/// Runs the scenarios the plan selects, appending each result as it completes
/// so that an error or Ctrl-C in a later one still reports the earlier ones.
async fn run_scenarios(
    ctx: &Arc<Ctx>,
    plan: &Plan,
    stop: &Stop,
    results: &mut Vec<ScenarioResult>,
) -> anyhow::Result<()> {
    let mut populated = false;
    let small: &[Op] = match plan.scenario {
        Scenario::Put => &[Op::Put],
        Scenario::Get => &[Op::Get],
        Scenario::List => &[Op::List],
        Scenario::ListPage => &[Op::ListPage],
        Scenario::All => &[Op::Put, Op::Get, Op::List],
        Scenario::CorsGet => &[Op::Get, Op::GetWithOrigin, Op::Get, Op::GetWithOrigin],
        Scenario::Large
        | Scenario::Decision
        | Scenario::Multipart
        | Scenario::Versions
        | Scenario::PolicyGet
        | Scenario::HttpGet
        | Scenario::HttpPut
        | Scenario::Hash
        | Scenario::DbPut => &[],
    };
    if plan.scenario == Scenario::CorsGet {
        progress("configuring the bucket's CORS rule");
        put_cors_rule(ctx).await?;
    }
    for &op in small {
        if stop.is_set() {
            return Ok(());
        }
        if matches!(op, Op::Get | Op::GetWithOrigin | Op::List | Op::ListPage)
            && !populated
            && !plan.prepopulated
        {
            progress(&format!("populating {} objects", plan.keys));
            let fill = run_load(ctx, Op::Populate, Limit::Requests(plan.keys), plan, stop).await;
            if stop.is_set() {
                return Ok(());
            }
            if fill.errors > 0 {
                let first = fill.error_samples.first().cloned().unwrap_or_default();
                bail!(
                    "populating the bucket: {} PUTs failed: {first}",
                    fill.errors
                );
            }
            populated = true;
        }
        progress(&format!("running {}", op.name()));
        results.push(measure(ctx, op, op.name(), plan, stop).await);
    }
    if plan.runs_large() && !stop.is_set() {
        run_large(ctx, plan, stop, results).await;
    }
    if plan.scenario == Scenario::Multipart && !stop.is_set() {
        objects::run_multipart(ctx, plan, plan.multipart, stop, results).await?;
    }
    if plan.scenario == Scenario::Versions && !stop.is_set() {
        versions::run_versions(ctx, plan, &plan.region, stop, results).await?;
    }
    if plan.scenario == Scenario::PolicyGet && !stop.is_set() {
        run_policy_get(ctx, plan, stop, results).await?;
    }
    Ok(())
}

/// The policy-get scenario: GET throughput without and with a bucket policy.
async fn run_policy_get(
    ctx: &Arc<Ctx>,
    plan: &Plan,
    stop: &Stop,
    results: &mut Vec<ScenarioResult>,
) -> anyhow::Result<()> {
    progress(&format!("populating {} objects", plan.keys));
    let fill = run_load(ctx, Op::Populate, Limit::Requests(plan.keys), plan, stop).await;
    if fill.errors > 0 {
        bail!("populating the bucket: {} PUTs failed", fill.errors);
    }
    let owner = owner_id(ctx).await?;
    let policy = bench_get_policy(&ctx.bucket, &owner);
    for with_policy in [false, true, false, true] {
        if stop.is_set() {
            break;
        }
        let (name, query, body, status) = if with_policy {
            (
                "get-policy",
                "policy=",
                policy.clone(),
                StatusCode::NO_CONTENT,
            )
        } else {
            ("get", "policy=", String::new(), StatusCode::NO_CONTENT)
        };
        let method = if with_policy {
            Method::PUT
        } else {
            Method::DELETE
        };
        let hash = hex::encode(Sha256::digest(body.as_bytes()));
        let response = ctx
            .s3
            .send(
                method,
                &bucket_path(&ctx.bucket),
                query,
                BenchBody::full(Bytes::from(body)),
                &hash,
                &[],
            )
            .await?;
        if response.status() != status {
            return Err(unexpected("Put/DeleteBucketPolicy", response).await);
        }
        progress(&format!("running {name}"));
        results.push(measure(ctx, Op::Get, name, plan, stop).await);
    }
    let response = ctx
        .s3
        .send(
            Method::DELETE,
            &bucket_path(&ctx.bucket),
            "policy=",
            BenchBody::empty(),
            EMPTY_SHA256,
            &[],
        )
        .await?;
    if response.status() != StatusCode::NO_CONTENT {
        return Err(unexpected("DeleteBucketPolicy", response).await);
    }
    Ok(())
}

/// The caller's canonical id: ListBuckets' `Owner/ID`.
async fn owner_id(ctx: &Ctx) -> anyhow::Result<String> {
    let response = ctx
        .s3
        .send(Method::GET, "/", "", BenchBody::empty(), EMPTY_SHA256, &[])
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("ListBuckets", response).await);
    }
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading ListBuckets")?
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    let id = text
        .split("<ID>")
        .nth(1)
        .and_then(|rest| rest.split("</ID>").next())
        .context("ListBuckets named no owner")?;
    Ok(id.to_owned())
}

/// A policy for `bucket` of 20 statements with 10 conditions in all, shaped like
/// `scripts/bench-bucket-policy.json` (deny rules on transport and source, allows per
/// team prefix, a conditional read for the caller last), none of which denies the
/// caller's plain-HTTP loopback GETs: 16 statements apply to no GET of the benchmark's
/// keys, the last allows them.
fn bench_get_policy(bucket: &str, owner: &str) -> String {
    let all = format!(r#"["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"]"#);
    let objects = format!(r#""arn:aws:s3:::{bucket}/*""#);
    let mut statements = vec![
        format!(
            r#"{{"Sid": "DenyOutsideNetworks", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": {all}, "Condition": {{"NotIpAddress": {{"aws:SourceIp":
                ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "192.0.2.0/24"]}}}}}}"#
        ),
        format!(
            r#"{{"Sid": "DenyUnencrypted", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                "Resource": {objects}, "Condition": {{"Null": {{"s3:x-amz-server-side-encryption": "true"}},
                "StringEquals": {{"aws:UserAgent": "bench-never"}}}}}}"#
        ),
        format!(
            r#"{{"Sid": "DenyOldSignatures", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": {all}, "Condition": {{"StringNotEquals": {{"s3:signatureversion":
                "AWS4-HMAC-SHA256"}}, "Null": {{"aws:PrincipalAccount": "false"}}}}}}"#
        ),
        format!(
            r#"{{"Sid": "NoTagging", "Effect": "Deny", "Principal": "*", "Action":
                ["s3:PutObjectTagging", "s3:DeleteObjectTagging"], "Resource": {objects}}}"#
        ),
    ];
    for team in 0..14 {
        statements.push(format!(
            r#"{{"Sid": "Team{team}Write", "Effect": "Allow", "Principal": {{"AWS": "{owner}"}},
                "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                "Resource": "arn:aws:s3:::{bucket}/team-{team}/*"}}"#
        ));
    }
    statements.push(format!(
        r#"{{"Sid": "ListOwnPrefix", "Effect": "Allow", "Principal": {{"AWS": "{owner}"}},
            "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::{bucket}",
            "Condition": {{"StringLike": {{"s3:prefix": "coffer-bench/*"}}}}}}"#
    ));
    statements.push(format!(
        r#"{{"Sid": "OwnerReads", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{owner}:root"}},
            "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": {objects},
            "Condition": {{"StringLike": {{"aws:UserAgent": "*"}},
              "DateGreaterThan": {{"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
              "NumericLessThan": {{"s3:signatureAge": "600000"}},
              "IpAddress": {{"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}}}}}"#
    ));
    format!(
        r#"{{"Version": "2012-10-17", "Id": "bench-get-20-statements", "Statement": [{}]}}"#,
        statements.join(",\n")
    )
}

/// Writes a progress line to stderr (never stdout, which holds the report).
fn progress(what: &str) {
    eprintln!("bench: {what}...");
}

// ---------------------------------------------------------------------------
// Ctrl-C
// ---------------------------------------------------------------------------

/// Set once the user pressed Ctrl-C; workers stop starting requests and abort
/// the ones in flight.
#[derive(Clone)]
struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Whether Ctrl-C was pressed.
    fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when Ctrl-C is pressed (never, if the handler could not be installed).
    async fn wait(&mut self) {
        if self.0.wait_for(|stopped| *stopped).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Installs the Ctrl-C handler: the first press stops the benchmark (which
/// still cleans up and reports), a second one exits at once.
fn spawn_interrupt_handler() -> Stop {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("bench: interrupted, stopping (Ctrl-C again to exit at once)");
            let _ = tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
        // Keep the sender alive so that `Stop::wait` keeps pending.
        std::future::pending::<()>().await;
    });
    Stop(rx)
}

// ---------------------------------------------------------------------------
// S3 client
// ---------------------------------------------------------------------------

/// A minimal path-style S3 client: signs each request with SigV4 and sends it
/// over a pooled HTTP/1.1 connection.
#[derive(Clone)]
struct S3Client {
    http: Client<HttpConnector, BenchBody>,
    /// `scheme://authority`, prefixed to every path.
    base: String,
    /// The `Host` header (the endpoint's authority).
    host: HeaderValue,
    access_key: String,
    secret: SecretKey,
    region: String,
}

impl S3Client {
    /// Validates the endpoint and builds the connection pool.
    fn new(endpoint: &str, access_key: &str, secret: &str, region: &str) -> anyhow::Result<Self> {
        let uri: Uri = endpoint
            .parse()
            .with_context(|| format!("invalid --endpoint {endpoint:?}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => bail!("--endpoint: https is not supported, use plain http"),
            _ => bail!("--endpoint must look like http://HOST:PORT"),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow!("--endpoint has no host"))?
            .as_str()
            .to_owned();
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            bail!(
                "--endpoint must not have a path or query (path-style addressing adds /BUCKET/KEY)"
            );
        }
        let mut connector = HttpConnector::new();
        // Without this, a request whose head and body go out in separate writes can
        // wait for a delayed ACK (Nagle), adding ~40 ms to small requests.
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(S3Client {
            http,
            base: format!("http://{authority}"),
            host: HeaderValue::from_str(&authority).context("--endpoint host")?,
            access_key: access_key.to_owned(),
            secret: SecretKey::new(secret),
            region: region.to_owned(),
        })
    }

    /// Signs and sends one request. `raw_path` and `raw_query` are already
    /// percent-encoded as they go on the wire; `payload_hash` is the body's hex
    /// SHA-256 or `UNSIGNED-PAYLOAD`.
    async fn send(
        &self,
        method: Method,
        raw_path: &str,
        raw_query: &str,
        body: BenchBody,
        payload_hash: &str,
        extra: &[(HeaderName, HeaderValue)],
    ) -> anyhow::Result<Response<Incoming>> {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, self.host.clone());
        for (name, value) in extra {
            headers.insert(name.clone(), value.clone());
        }
        if matches!(method, Method::PUT | Method::POST) {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        sign_v4(
            method.as_str(),
            raw_path,
            raw_query,
            &mut headers,
            payload_hash,
            &self.access_key,
            &self.secret,
            &self.region,
            OffsetDateTime::now_utc(),
        )
        .context("signing the request")?;
        let uri = if raw_query.is_empty() {
            format!("{}{raw_path}", self.base)
        } else {
            format!("{}{raw_path}?{raw_query}", self.base)
        };
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .context("building the request")?;
        *request.headers_mut() = headers;
        self.http
            .request(request)
            .await
            .map_err(|e| anyhow::Error::new(e).context("sending the request"))
    }
}

impl S3Client {
    /// An unsigned PUT of `body` to `path_and_query` (already encoded), for references
    /// that are not S3.
    async fn put_unsigned(
        &self,
        path_and_query: &str,
        body: BenchBody,
    ) -> anyhow::Result<Response<Incoming>> {
        let length = body.len();
        let mut request = Request::builder()
            .method(Method::PUT)
            .uri(format!("{}{path_and_query}", self.base))
            .body(body)
            .context("building the request")?;
        let headers = request.headers_mut();
        headers.insert(header::HOST, self.host.clone());
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        self.http
            .request(request)
            .await
            .map_err(|e| anyhow::Error::new(e).context("sending the request"))
    }

    /// An unsigned GET of `path_and_query` (already encoded), for references
    /// that are not S3.
    async fn get_unsigned(&self, path_and_query: &str) -> anyhow::Result<Response<Incoming>> {
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}{path_and_query}", self.base))
            .body(BenchBody::empty())
            .context("building the request")?;
        request
            .headers_mut()
            .insert(header::HOST, self.host.clone());
        self.http
            .request(request)
            .await
            .map_err(|e| anyhow::Error::new(e).context("sending the request"))
    }
}

/// The wire path of a bucket, `/bucket`.
fn bucket_path(bucket: &str) -> String {
    format!("/{}", encode_path(bucket))
}

/// The wire path of an object, `/bucket/key`.
fn object_path(bucket: &str, key: &str) -> String {
    format!("/{}/{}", encode_path(bucket), encode_path(key))
}

/// The key of small object number `index`, zero-padded so listings sort naturally.
fn object_key(index: u64) -> String {
    format!("{OBJECT_PREFIX}{index:08}")
}

/// Reads a whole response body, refusing more than `limit` bytes (a broken or
/// hostile server must not make us allocate without bound).
async fn read_body(mut body: Incoming, limit: usize) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.context("reading the response body")?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                bail!("response body larger than {limit} bytes");
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// Reads and discards a response body, returning its length (GETs are measured
/// without keeping the data).
async fn drain(mut body: Incoming) -> anyhow::Result<u64> {
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.context("reading the response body")?;
        if let Some(data) = frame.data_ref() {
            total += data.len() as u64;
        }
    }
    Ok(total)
}

/// Turns an unexpected response into an error naming the status and, when the
/// body is an S3 error document, its code and message.
async fn unexpected(what: &str, response: Response<Incoming>) -> anyhow::Error {
    let status = response.status();
    let body = read_body(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    match (xml_text(&text, "Code"), xml_text(&text, "Message")) {
        (Some(code), Some(message)) => {
            anyhow!("{what}: HTTP {status} {code}: {}", xml_unescape(message))
        }
        (Some(code), None) => anyhow!("{what}: HTTP {status} {code}"),
        _ => anyhow!("{what}: HTTP {status}"),
    }
}

/// The text of the first `<tag>…</tag>` in `xml`, still escaped. Enough for the
/// flat S3 responses we read; avoids a full parser on the hot list path.
fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

/// Every `<tag>…</tag>` text in `xml`, still escaped.
fn xml_texts<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

/// Undoes the five predefined XML entities (what S3 error messages and
/// continuation tokens may contain).
fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

// ---------------------------------------------------------------------------
// Bucket setup and cleanup
// ---------------------------------------------------------------------------

/// Makes sure the bucket exists; returns whether this run created it (and so
/// may delete it at the end).
async fn ensure_bucket(s3: &S3Client, bucket: &str, region: &str) -> anyhow::Result<bool> {
    let path = bucket_path(bucket);
    let head = tokio::time::timeout(
        OP_TIMEOUT,
        s3.send(
            Method::HEAD,
            &path,
            "",
            BenchBody::empty(),
            EMPTY_SHA256,
            &[],
        ),
    )
    .await
    .map_err(|_| anyhow!("HEAD bucket timed out"))?
    .with_context(|| format!("cannot reach the endpoint {}", s3.base))?;
    match head.status() {
        StatusCode::OK => return Ok(false),
        StatusCode::NOT_FOUND => {}
        status => bail!("HEAD bucket {bucket}: HTTP {status} (wrong credentials or no access?)"),
    }
    let body = if region == "us-east-1" {
        Bytes::new()
    } else {
        Bytes::from(format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        ))
    };
    let hash = hex::encode(Sha256::digest(&body));
    let response = tokio::time::timeout(
        OP_TIMEOUT,
        s3.send(Method::PUT, &path, "", BenchBody::full(body), &hash, &[]),
    )
    .await
    .map_err(|_| anyhow!("CreateBucket timed out"))??;
    match response.status() {
        StatusCode::OK => Ok(true),
        StatusCode::CONFLICT => {
            let err = unexpected("CreateBucket", response).await;
            if err.to_string().contains("BucketAlreadyOwnedByYou") {
                Ok(false)
            } else {
                Err(err)
            }
        }
        _ => Err(unexpected(&format!("CreateBucket {bucket}"), response).await),
    }
}

/// Deletes what the run wrote: every object of a bucket it created (then the
/// bucket itself), or only the keys under [`PREFIX`] of a bucket that existed.
async fn cleanup(ctx: &Ctx, created: bool) -> anyhow::Result<()> {
    let prefix = if created { "" } else { PREFIX };
    let mut batches = 0u32;
    loop {
        let keys = list_page(&ctx.s3, &ctx.bucket, prefix, PageStart::First, 1000)
            .await?
            .keys;
        if keys.is_empty() {
            break;
        }
        delete_batch(&ctx.s3, &ctx.bucket, &keys).await?;
        batches += 1;
        if batches > 100_000 {
            bail!("the bucket does not get empty");
        }
    }
    if created {
        let response = tokio::time::timeout(
            OP_TIMEOUT,
            ctx.s3.send(
                Method::DELETE,
                &bucket_path(&ctx.bucket),
                "",
                BenchBody::empty(),
                EMPTY_SHA256,
                &[],
            ),
        )
        .await
        .map_err(|_| anyhow!("DeleteBucket timed out"))??;
        if !response.status().is_success() {
            return Err(unexpected("DeleteBucket", response).await);
        }
        drain(response.into_body()).await?;
    }
    Ok(())
}

/// Deletes up to 1000 keys with one DeleteObjects request. `keys` are XML-escaped
/// as they came in the listing, which is exactly how they go back in the body.
async fn delete_batch(s3: &S3Client, bucket: &str, keys: &[String]) -> anyhow::Result<()> {
    let mut xml = String::from("<Delete><Quiet>true</Quiet>");
    for key in keys {
        let _ = write!(xml, "<Object><Key>{key}</Key></Object>");
    }
    xml.push_str("</Delete>");
    let body = Bytes::from(xml);
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&body));
    let hash = hex::encode(Sha256::digest(&body));
    let extra = [(
        HeaderName::from_static("content-md5"),
        HeaderValue::from_str(&md5).context("Content-MD5")?,
    )];
    let response = tokio::time::timeout(
        OP_TIMEOUT,
        s3.send(
            Method::POST,
            &bucket_path(bucket),
            "delete=",
            BenchBody::full(body),
            &hash,
            &extra,
        ),
    )
    .await
    .map_err(|_| anyhow!("DeleteObjects timed out"))??;
    if response.status() != StatusCode::OK {
        return Err(unexpected("DeleteObjects", response).await);
    }
    let body = read_body(response.into_body(), MAX_XML_BODY).await?;
    let text = String::from_utf8_lossy(&body);
    if let Some(error) = xml_text(&text, "Error") {
        bail!("DeleteObjects: {}", xml_unescape(error));
    }
    Ok(())
}

/// One page of a ListObjectsV2 response.
struct ListPage {
    /// The keys, still XML-escaped.
    keys: Vec<String>,
    /// The unescaped token for the next page, if the listing is truncated.
    next: Option<String>,
    /// Bytes of XML received.
    bytes: u64,
}

/// Where a ListObjectsV2 page starts.
#[derive(Clone, Copy)]
enum PageStart<'a> {
    /// At the first key.
    First,
    /// Where the page before it ended (its `NextContinuationToken`).
    Token(&'a str),
    /// After this key (`start-after`).
    After(&'a str),
}

impl<'a> PageStart<'a> {
    /// Continues with `token`, if there is one.
    fn token(token: Option<&'a str>) -> Self {
        token.map_or(PageStart::First, PageStart::Token)
    }
}

/// Fetches one ListObjectsV2 page of `prefix`, starting at `start`.
async fn list_page(
    s3: &S3Client,
    bucket: &str,
    prefix: &str,
    start: PageStart<'_>,
    max_keys: u32,
) -> anyhow::Result<ListPage> {
    let mut query = format!("list-type=2&max-keys={max_keys}");
    if !prefix.is_empty() {
        let _ = write!(query, "&prefix={}", uri_encode(prefix.as_bytes(), false));
    }
    match start {
        PageStart::First => {}
        PageStart::Token(token) => {
            let _ = write!(
                query,
                "&continuation-token={}",
                uri_encode(token.as_bytes(), false)
            );
        }
        PageStart::After(key) => {
            let _ = write!(query, "&start-after={}", uri_encode(key.as_bytes(), false));
        }
    }
    let response = s3
        .send(
            Method::GET,
            &bucket_path(bucket),
            &query,
            BenchBody::empty(),
            EMPTY_SHA256,
            &[],
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("ListObjectsV2", response).await);
    }
    let body = read_body(response.into_body(), MAX_XML_BODY).await?;
    let text = std::str::from_utf8(&body).context("ListObjectsV2 response is not UTF-8")?;
    let keys = xml_texts(text, "Key")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let truncated = xml_text(text, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next = if truncated {
        let token = xml_text(text, "NextContinuationToken").ok_or_else(|| {
            anyhow!("ListObjectsV2 is truncated but has no NextContinuationToken")
        })?;
        Some(xml_unescape(token))
    } else {
        None
    };
    Ok(ListPage {
        keys,
        next,
        bytes: body.len() as u64,
    })
}

// ---------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------

/// A request body: empty, a buffer, or `len` generated pseudo-random bytes sent
/// in 1 MiB frames, so that a 1 GiB PUT never holds more than a frame or two.
/// Its exact size hint lets hyper frame it with `Content-Length`.
enum BenchBody {
    /// A body held in memory (XML requests).
    Full(Option<Bytes>),
    /// Generated bytes, produced frame by frame.
    Generated {
        /// Bytes still to produce.
        remaining: u64,
        /// The generator; seeded per request so every object differs.
        rng: SplitMix64,
    },
}

impl BenchBody {
    /// An empty body.
    fn empty() -> Self {
        BenchBody::Full(None)
    }

    /// A body of `bytes`.
    fn full(bytes: Bytes) -> Self {
        BenchBody::Full(Some(bytes).filter(|b| !b.is_empty()))
    }

    /// `len` pseudo-random bytes derived from `seed`.
    fn generated(len: u64, seed: u64) -> Self {
        BenchBody::Generated {
            remaining: len,
            rng: SplitMix64(seed),
        }
    }

    /// Bytes still to be sent (the Content-Length before the first poll).
    fn len(&self) -> u64 {
        match self {
            BenchBody::Full(bytes) => bytes.as_ref().map_or(0, |b| b.len() as u64),
            BenchBody::Generated { remaining, .. } => *remaining,
        }
    }
}

impl Body for BenchBody {
    type Data = Bytes;
    type Error = Infallible;

    /// Yields the buffer, or the next generated frame.
    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            BenchBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            BenchBody::Generated { remaining, rng } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                let n =
                    usize::try_from(*remaining).map_or(GENERATOR_CHUNK, |r| r.min(GENERATOR_CHUNK));
                let mut chunk = vec![0u8; n];
                rng.fill(&mut chunk);
                *remaining -= n as u64;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
            }
        }
    }

    /// Whether nothing is left to send.
    fn is_end_stream(&self) -> bool {
        self.len() == 0
    }

    /// The exact remaining length, so hyper sends `Content-Length`.
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len())
    }
}

/// SplitMix64: a tiny, fast PRNG for key choice and body bytes (quality is
/// irrelevant here, speed is not: it fills a GiB in a fraction of a second).
struct SplitMix64(u64);

impl SplitMix64 {
    /// The next 64 pseudo-random bits.
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (n > 0), without modulo bias worth caring about.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Fills `buf` with pseudo-random bytes.
    fn fill(&mut self, buf: &mut [u8]) {
        let mut words = buf.chunks_exact_mut(8);
        for word in &mut words {
            word.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = words.into_remainder();
        if !rest.is_empty() {
            let last = self.next_u64().to_le_bytes();
            rest.copy_from_slice(&last[..rest.len()]);
        }
    }
}

// ---------------------------------------------------------------------------
// Load generation
// ---------------------------------------------------------------------------

/// What the workers share.
struct Ctx {
    s3: S3Client,
    bucket: String,
    /// Small object size.
    size: u64,
    /// Number of small keys.
    keys: u64,
    /// `Origin` of [`Op::GetWithOrigin`].
    origin: HeaderValue,
    /// Path and query of [`Op::Fetch`].
    fetch_path: String,
    /// The database and the write of [`Op::DbPut`].
    db: Option<database::DbTarget>,
}

/// The request a worker repeats.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// PUT key number `ticket` (fills the bucket before get/list).
    Populate,
    /// PUT key number `ticket` modulo the number of keys (versions of every key).
    PopulateVersions,
    /// PUT a random key.
    Put,
    /// GET a random key and check its length.
    Get,
    /// [`Op::Get`] carrying `Origin`, checking the CORS answer.
    GetWithOrigin,
    /// List every key under [`OBJECT_PREFIX`].
    List,
    /// List one page of [`LIST_PAGE_KEYS`] keys after a random key.
    ListPage,
    /// An unsigned GET of [`Ctx::fetch_path`] (the `http-get` reference).
    Fetch,
    /// An unsigned PUT of [`Ctx::size`] bytes to [`Ctx::fetch_path`] (`http-put`).
    Send,
    /// A PUT's statements, straight to the database ([`Ctx::db`], `db-put`).
    DbPut,
}

impl Op {
    /// The scenario name in the report.
    fn name(self) -> &'static str {
        match self {
            Op::Populate => "populate",
            Op::PopulateVersions => "populate-versions",
            Op::Put => "put",
            Op::Get => "get",
            Op::GetWithOrigin => "get-origin",
            Op::List => "list",
            Op::ListPage => "list-page",
            Op::Fetch => "http-get",
            Op::Send => "http-put",
            Op::DbPut => "db-put",
        }
    }
}

/// What one worker (or all of them, merged) observed.
#[derive(Default)]
struct LoadOutcome {
    /// Latency of each successful request.
    latencies: Vec<Duration>,
    /// Payload bytes moved by successful requests.
    bytes: u64,
    errors: u64,
    /// The first few distinct error messages.
    error_samples: Vec<String>,
    /// Wall time from the first request to the last response.
    elapsed: Duration,
}

impl LoadOutcome {
    /// Counts an error and remembers its message if it is new.
    fn record_error(&mut self, message: String) {
        self.errors += 1;
        if self.error_samples.len() < MAX_ERROR_SAMPLES && !self.error_samples.contains(&message) {
            self.error_samples.push(message);
        }
    }

    /// Folds another worker's observations into this one.
    fn merge(&mut self, other: LoadOutcome) {
        self.latencies.extend(other.latencies);
        self.bytes += other.bytes;
        self.errors += other.errors;
        for message in other.error_samples {
            if self.error_samples.len() < MAX_ERROR_SAMPLES
                && !self.error_samples.contains(&message)
            {
                self.error_samples.push(message);
            }
        }
    }
}

/// Runs `op` as scenario `name` for the plan's limit, the server's RSS sampled meanwhile.
async fn measure(
    ctx: &Arc<Ctx>,
    op: Op,
    name: &'static str,
    plan: &Plan,
    stop: &Stop,
) -> ScenarioResult {
    let rss = start_rss(plan.server_pid);
    let outcome = run_load(ctx, op, plan.limit, plan, stop).await;
    ScenarioResult::from_load(name, outcome, finish_rss(rss).await)
}

/// Runs `plan.concurrency` workers repeating `op` until `limit` (or Ctrl-C).
async fn run_load(ctx: &Arc<Ctx>, op: Op, limit: Limit, plan: &Plan, stop: &Stop) -> LoadOutcome {
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = match limit {
        Limit::Duration(d) => Some(started + d),
        Limit::Requests(_) => None,
    };
    let cap = match limit {
        Limit::Requests(n) => n,
        Limit::Duration(_) => u64::MAX,
    };
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.concurrency {
        let ctx = Arc::clone(ctx);
        let issued = Arc::clone(&issued);
        let stop = stop.clone();
        let seed = rand::random::<u64>();
        workers.spawn(worker(ctx, op, deadline, cap, issued, stop, seed));
    }
    let mut total = LoadOutcome::default();
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(outcome) => total.merge(outcome),
            Err(e) => total.record_error(format!("worker failed: {e}")),
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// One client: takes tickets until the cap, the deadline or Ctrl-C, and times
/// each request. Only successful requests contribute latency and bytes.
async fn worker(
    ctx: Arc<Ctx>,
    op: Op,
    deadline: Option<Instant>,
    cap: u64,
    issued: Arc<AtomicU64>,
    mut stop: Stop,
    seed: u64,
) -> LoadOutcome {
    let mut rng = SplitMix64(seed);
    let mut outcome = LoadOutcome::default();
    loop {
        if stop.is_set() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let ticket = issued.fetch_add(1, Ordering::Relaxed);
        if ticket >= cap {
            break;
        }
        let began = Instant::now();
        let result = tokio::select! {
            result = tokio::time::timeout(OP_TIMEOUT, one_op(&ctx, op, ticket, &mut rng)) => result,
            () = stop.wait() => break,
        };
        let latency = began.elapsed();
        match result {
            Ok(Ok(bytes)) => {
                outcome.latencies.push(latency);
                outcome.bytes += bytes;
            }
            Ok(Err(e)) => outcome.record_error(format!("{e:#}")),
            Err(_) => outcome.record_error(format!("timed out after {}s", OP_TIMEOUT.as_secs())),
        }
    }
    outcome
}

/// Performs one request of `op`; returns the payload bytes moved.
async fn one_op(ctx: &Ctx, op: Op, ticket: u64, rng: &mut SplitMix64) -> anyhow::Result<u64> {
    match op {
        Op::Populate => put_object(ctx, &object_key(ticket), rng.next_u64()).await,
        Op::PopulateVersions => {
            put_object(ctx, &object_key(ticket % ctx.keys), rng.next_u64()).await
        }
        Op::Put => {
            let key = object_key(rng.below(ctx.keys));
            put_object(ctx, &key, rng.next_u64()).await
        }
        Op::Get => {
            let key = object_key(rng.below(ctx.keys));
            get_object(ctx, &key, ctx.size, None).await
        }
        Op::GetWithOrigin => {
            let key = object_key(rng.below(ctx.keys));
            get_object(ctx, &key, ctx.size, Some(&ctx.origin)).await
        }
        Op::List => list_all(ctx).await,
        Op::ListPage => list_one_page(ctx, rng).await,
        Op::Fetch => reference::fetch(ctx).await,
        Op::Send => reference::send(ctx, rng.next_u64()).await,
        Op::DbPut => database::put(ctx, rng).await,
    }
}

/// PUTs `size` generated bytes to `key` with an unsigned payload.
async fn put_object(ctx: &Ctx, key: &str, seed: u64) -> anyhow::Result<u64> {
    let response = ctx
        .s3
        .send(
            Method::PUT,
            &object_path(&ctx.bucket, key),
            "",
            BenchBody::generated(ctx.size, seed),
            UNSIGNED_PAYLOAD,
            &[],
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("PUT", response).await);
    }
    drain(response.into_body()).await?;
    Ok(ctx.size)
}

/// GETs `key`, discarding the body but checking it has `expected` bytes.
async fn get_object(
    ctx: &Ctx,
    key: &str,
    expected: u64,
    origin: Option<&HeaderValue>,
) -> anyhow::Result<u64> {
    let extra: Vec<(HeaderName, HeaderValue)> = origin
        .map(|o| (header::ORIGIN, o.clone()))
        .into_iter()
        .collect();
    let response = ctx
        .s3
        .send(
            Method::GET,
            &object_path(&ctx.bucket, key),
            "",
            BenchBody::empty(),
            EMPTY_SHA256,
            &extra,
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("GET", response).await);
    }
    if let Some(origin) = origin
        && response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN) != Some(origin)
    {
        bail!("GET {key} with Origin: no matching Access-Control-Allow-Origin");
    }
    let got = drain(response.into_body()).await?;
    if got != expected {
        bail!("GET {key}: got {got} bytes, expected {expected}");
    }
    Ok(got)
}

/// Gives the bucket one CORS rule allowing GETs from `ctx.origin`.
async fn put_cors_rule(ctx: &Ctx) -> anyhow::Result<()> {
    let origin = ctx.origin.to_str().context("--origin is not text")?;
    let body = format!(
        "<CORSConfiguration><CORSRule><AllowedOrigin>{}</AllowedOrigin>\
         <AllowedMethod>GET</AllowedMethod><ExposeHeader>ETag</ExposeHeader>\
         </CORSRule></CORSConfiguration>",
        xml_escape(origin)
    );
    let hash = hex::encode(Sha256::digest(body.as_bytes()));
    let response = ctx
        .s3
        .send(
            Method::PUT,
            &bucket_path(&ctx.bucket),
            "cors=",
            BenchBody::full(Bytes::from(body)),
            &hash,
            &[],
        )
        .await?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("PutBucketCors", response).await);
    }
    Ok(())
}

/// `text` escaped for XML character data.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Lists every populated key (1000 per page) and checks none is missing;
/// returns the XML bytes received.
async fn list_all(ctx: &Ctx) -> anyhow::Result<u64> {
    let mut token: Option<String> = None;
    let mut count = 0u64;
    let mut bytes = 0u64;
    loop {
        let page = list_page(
            &ctx.s3,
            &ctx.bucket,
            OBJECT_PREFIX,
            PageStart::token(token.as_deref()),
            1000,
        )
        .await?;
        count += page.keys.len() as u64;
        bytes += page.bytes;
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    if count < ctx.keys {
        bail!("listed {count} objects, expected {}", ctx.keys);
    }
    Ok(bytes)
}

/// Keys per page of the list-page scenario (S3's largest page).
const LIST_PAGE_KEYS: u64 = 1000;

/// Lists one page of [`LIST_PAGE_KEYS`] keys starting at a random key number, chosen so
/// that the page is full whenever the bucket holds that many keys; checks it is.
async fn list_one_page(ctx: &Ctx, rng: &mut SplitMix64) -> anyhow::Result<u64> {
    let first = rng.below(ctx.keys.saturating_sub(LIST_PAGE_KEYS - 1).max(1));
    let start_after = first.checked_sub(1).map(object_key);
    let start = start_after
        .as_deref()
        .map_or(PageStart::First, PageStart::After);
    let page = list_page(
        &ctx.s3,
        &ctx.bucket,
        OBJECT_PREFIX,
        start,
        LIST_PAGE_KEYS as u32,
    )
    .await?;
    let expected = LIST_PAGE_KEYS.min(ctx.keys - first);
    if (page.keys.len() as u64) < expected {
        bail!(
            "the page after key number {first} has {} keys, expected {expected}",
            page.keys.len()
        );
    }
    Ok(page.bytes)
}

// ---------------------------------------------------------------------------
// Large object
// ---------------------------------------------------------------------------

/// Streams one `large_size` object up, then down, each direction measured (and
/// its server RSS sampled) on its own. No timeout: a GiB can take a while.
async fn run_large(ctx: &Arc<Ctx>, plan: &Plan, stop: &Stop, results: &mut Vec<ScenarioResult>) {
    let size = plan.large_size;
    let path = object_path(&ctx.bucket, LARGE_KEY);
    let mut stop = stop.clone();

    progress(&format!("running large PUT of {}", format_size(size)));
    let rss = start_rss(plan.server_pid);
    let began = Instant::now();
    let put = async {
        let response = ctx
            .s3
            .send(
                Method::PUT,
                &path,
                "",
                BenchBody::generated(size, rand::random()),
                UNSIGNED_PAYLOAD,
                &[],
            )
            .await?;
        if response.status() != StatusCode::OK {
            return Err(unexpected("large PUT", response).await);
        }
        drain(response.into_body()).await?;
        Ok::<u64, anyhow::Error>(size)
    };
    let outcome = tokio::select! {
        result = put => Some(result),
        () = stop.wait() => None,
    };
    let put_ok = matches!(outcome, Some(Ok(_)));
    results.push(ScenarioResult::single(
        "large-put",
        outcome,
        began.elapsed(),
        finish_rss(rss).await,
    ));
    if !put_ok {
        return;
    }

    progress(&format!("running large GET of {}", format_size(size)));
    let rss = start_rss(plan.server_pid);
    let began = Instant::now();
    let outcome = tokio::select! {
        result = get_object(ctx, LARGE_KEY, size, None) => Some(result),
        () = stop.wait() => None,
    };
    results.push(ScenarioResult::single(
        "large-get",
        outcome,
        began.elapsed(),
        finish_rss(rss).await,
    ));
}

// ---------------------------------------------------------------------------
// Server RSS
// ---------------------------------------------------------------------------

/// The resident set size of `pid` in KiB, from `VmRSS` in `/proc/PID/status`.
fn read_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .ok_or_else(|| anyhow!("no VmRSS in /proc/{pid}/status"))?;
    let kib = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("parsing VmRSS {line:?}"))?;
    Ok(kib)
}

/// Idle, peak and peak-minus-idle RSS of the server during one scenario.
#[derive(Debug, Clone, Copy)]
struct RssReport {
    idle_kib: u64,
    peak_kib: u64,
}

impl RssReport {
    /// Idle RSS in MiB.
    fn idle_mib(&self) -> f64 {
        self.idle_kib as f64 / 1024.0
    }

    /// Peak RSS in MiB.
    fn peak_mib(&self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }

    /// How much the scenario added on top of idle, in MiB.
    fn delta_mib(&self) -> f64 {
        self.peak_kib.saturating_sub(self.idle_kib) as f64 / 1024.0
    }
}

/// A running sampler: a plain thread (reading /proc is blocking I/O, and a
/// thread keeps sampling even when the runtime is saturated by the load).
struct RssSampler {
    pid: u32,
    idle_kib: u64,
    /// Dropping or sending on it stops the thread at once.
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<u64>,
}

/// Takes the idle sample and starts sampling every 100 ms, if a pid was given
/// and readable.
fn start_rss(pid: Option<u32>) -> Option<RssSampler> {
    let pid = pid?;
    let idle_kib = match read_rss_kib(pid) {
        Ok(kib) => kib,
        Err(e) => {
            eprintln!("bench: not sampling RSS: {e:#}");
            return None;
        }
    };
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let mut peak = idle_kib;
        loop {
            if let Ok(kib) = read_rss_kib(pid) {
                peak = peak.max(kib);
            }
            match stopped.recv_timeout(RSS_INTERVAL) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                _ => return peak,
            }
        }
    });
    Some(RssSampler {
        pid,
        idle_kib,
        stop,
        thread,
    })
}

/// Stops the sampler (taking one last sample) and returns idle and peak.
async fn finish_rss(sampler: Option<RssSampler>) -> Option<RssReport> {
    let sampler = sampler?;
    let _ = sampler.stop.send(());
    let pid = sampler.pid;
    let thread = sampler.thread;
    let peak = tokio::task::spawn_blocking(move || thread.join().ok())
        .await
        .ok()
        .flatten()
        .unwrap_or(sampler.idle_kib);
    let last = read_rss_kib(pid).unwrap_or(0);
    Some(RssReport {
        idle_kib: sampler.idle_kib,
        peak_kib: peak.max(last),
    })
}

// ---------------------------------------------------------------------------
// Results and reports
// ---------------------------------------------------------------------------

/// The figures of one scenario.
struct ScenarioResult {
    name: &'static str,
    ops: u64,
    errors: u64,
    bytes: u64,
    elapsed: Duration,
    /// Sorted successful latencies.
    latencies: Vec<Duration>,
    error_samples: Vec<String>,
    rss: Option<RssReport>,
}

impl ScenarioResult {
    /// An error naming how many of its operations (`what`s) failed and the first
    /// failure, if any did.
    fn ensure_no_errors(&self, what: &str) -> anyhow::Result<()> {
        if self.errors > 0 {
            let first = self.error_samples.first().cloned().unwrap_or_default();
            bail!("{} {what}(s) failed: {first}", self.errors);
        }
        Ok(())
    }

    /// Summarises a concurrent load.
    fn from_load(name: &'static str, mut load: LoadOutcome, rss: Option<RssReport>) -> Self {
        load.latencies.sort_unstable();
        ScenarioResult {
            name,
            ops: load.latencies.len() as u64,
            errors: load.errors,
            bytes: load.bytes,
            elapsed: load.elapsed,
            latencies: load.latencies,
            error_samples: load.error_samples,
            rss,
        }
    }

    /// Summarises one large transfer (`None`: interrupted).
    fn single(
        name: &'static str,
        outcome: Option<anyhow::Result<u64>>,
        elapsed: Duration,
        rss: Option<RssReport>,
    ) -> Self {
        let mut load = LoadOutcome {
            elapsed,
            ..LoadOutcome::default()
        };
        match outcome {
            Some(Ok(bytes)) => {
                load.latencies.push(elapsed);
                load.bytes = bytes;
            }
            Some(Err(e)) => load.record_error(format!("{e:#}")),
            None => {}
        }
        Self::from_load(name, load, rss)
    }

    /// Successful operations per second.
    fn ops_per_sec(&self) -> f64 {
        per_second(self.ops as f64, self.elapsed)
    }

    /// Payload MiB per second.
    fn mib_per_sec(&self) -> f64 {
        per_second(self.bytes as f64 / MIB, self.elapsed)
    }

    /// The latency at quantile `q` (nearest rank), in ms.
    fn latency_ms(&self, q: f64) -> f64 {
        percentile(&self.latencies, q).as_secs_f64() * 1000.0
    }
}

/// `amount / elapsed`, 0 for an empty interval.
fn per_second(amount: f64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { amount / secs } else { 0.0 }
}

/// Nearest-rank percentile of sorted samples (zero when there are none).
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len()) - 1)
        .copied()
        .unwrap_or_default()
}

/// Where the run went, for the report header.
struct Header {
    endpoint: String,
    region: String,
    bucket: String,
    created: bool,
}

/// The human-readable limit, e.g. `10s` or `5000 requests`.
fn describe_limit(limit: Limit) -> String {
    match limit {
        Limit::Duration(d) => format!("{}s", d.as_secs_f64()),
        Limit::Requests(n) => format!("{n} requests"),
    }
}

/// The report as tables: configuration, throughput/latency, server RSS, errors.
fn report_table(
    plan: &Plan,
    header: &Header,
    results: &[ScenarioResult],
    interrupted: bool,
) -> String {
    let mut out = String::new();
    let bucket_note = match (header.created, plan.keep) {
        (true, false) => "created, deleted at the end",
        (true, true) => "created, kept",
        (false, false) => "existing, bench objects deleted at the end",
        (false, true) => "existing, kept",
    };
    let _ = writeln!(
        out,
        "coffer bench: endpoint {}, region {}, bucket {} ({bucket_note})",
        header.endpoint, header.region, header.bucket
    );
    let _ = write!(out, "scenario {}", plan.scenario.name());
    if plan.scenario != Scenario::Large {
        let _ = write!(
            out,
            ", concurrency {}, {} per scenario, size {}, keys {}",
            plan.concurrency,
            describe_limit(plan.limit),
            format_size(plan.size),
            plan.keys
        );
    }
    if plan.runs_large() {
        let _ = write!(out, ", large object {}", format_size(plan.large_size));
    }
    if let Some(pid) = plan.server_pid {
        let _ = write!(out, ", server pid {pid}");
    }
    out.push('\n');
    if interrupted {
        out.push_str("(interrupted by Ctrl-C: partial results)\n");
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "{:<20} {:>9} {:>7} {:>9} {:>10} {:>9} {:>9} {:>9} {:>8}",
        "scenario", "ops", "errors", "ops/s", "MiB/s", "p50 ms", "p99 ms", "max ms", "secs"
    );
    for r in results {
        let _ = writeln!(
            out,
            "{:<20} {:>9} {:>7} {:>9.1} {:>10.2} {:>9.2} {:>9.2} {:>9.2} {:>8.2}",
            r.name,
            r.ops,
            r.errors,
            r.ops_per_sec(),
            r.mib_per_sec(),
            r.latency_ms(0.50),
            r.latency_ms(0.99),
            r.latency_ms(1.0),
            r.elapsed.as_secs_f64()
        );
    }
    if results.iter().any(|r| r.rss.is_some()) {
        out.push('\n');
        let _ = writeln!(
            out,
            "{:<20} {:>13} {:>13} {:>13}",
            "server RSS", "idle MiB", "peak MiB", "peak-idle MiB"
        );
        for r in results {
            if let Some(rss) = r.rss {
                let _ = writeln!(
                    out,
                    "{:<20} {:>13.1} {:>13.1} {:>13.1}",
                    r.name,
                    rss.idle_mib(),
                    rss.peak_mib(),
                    rss.delta_mib()
                );
            }
        }
    }
    for r in results.iter().filter(|r| !r.error_samples.is_empty()) {
        let _ = writeln!(out, "\n{} errors ({}), first ones:", r.name, r.errors);
        for message in &r.error_samples {
            let _ = writeln!(out, "  {message}");
        }
    }
    out
}

/// The report as one JSON object.
/// One scenario's figures as JSON (an element of the report's `results`).
fn result_json(r: &ScenarioResult) -> serde_json::Value {
    serde_json::json!({
        "scenario": r.name,
        "ops": r.ops,
        "errors": r.errors,
        "bytes": r.bytes,
        "elapsed_s": r.elapsed.as_secs_f64(),
        "ops_per_s": r.ops_per_sec(),
        "mib_per_s": r.mib_per_sec(),
        "latency_ms": {
            "p50": r.latency_ms(0.50),
            "p99": r.latency_ms(0.99),
            "max": r.latency_ms(1.0),
        },
        "server_rss_mib": r.rss.map(|rss| serde_json::json!({
            "idle": rss.idle_mib(),
            "peak": rss.peak_mib(),
            "peak_minus_idle": rss.delta_mib(),
        })),
        "error_samples": r.error_samples,
    })
}

fn report_json(
    plan: &Plan,
    header: &Header,
    results: &[ScenarioResult],
    interrupted: bool,
) -> String {
    let (duration_s, requests) = match plan.limit {
        Limit::Duration(d) => (Some(d.as_secs_f64()), None),
        Limit::Requests(n) => (None, Some(n)),
    };
    let scenarios: Vec<serde_json::Value> = results.iter().map(result_json).collect();
    serde_json::json!({
        "config": {
            "endpoint": header.endpoint,
            "region": header.region,
            "bucket": header.bucket,
            "bucket_created": header.created,
            "keep": plan.keep,
            "scenario": plan.scenario.name(),
            "concurrency": plan.concurrency,
            "duration_s": duration_s,
            "requests": requests,
            "size": plan.size,
            "large_size": plan.large_size,
            "keys": plan.keys,
            "server_pid": plan.server_pid,
        },
        "interrupted": interrupted,
        "results": scenarios,
    })
    .to_string()
}

// ---------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------

/// Splits `"10s"` into `(10.0, "s")`: a non-negative decimal number and a unit.
fn split_number(text: &str) -> Result<(f64, String), String> {
    let text = text.trim();
    let at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(at);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a number"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{text:?} is not a valid amount"));
    }
    Ok((value, unit.trim().to_ascii_lowercase()))
}

/// Parses a duration such as `10s`, `500ms`, `2m`, `1h` or `30` (seconds).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (value, unit) = split_number(text)?;
    let seconds = match unit.as_str() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1000.0,
        "m" | "min" | "mins" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "unknown duration unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    if seconds <= 0.0 {
        return Err("the duration must be positive".into());
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

/// Parses a size such as `4KiB`, `4k`, `1MiB`, `1GiB`, `10MB` or `4096` (bytes):
/// `K`, `M`, `G`, `T` and the `iB` forms are binary, `kB`, `MB`, `GB`, `TB` decimal.
fn parse_size(text: &str) -> Result<u64, String> {
    let (value, unit) = split_number(text)?;
    let factor: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => {
            return Err(format!(
                "unknown size unit {unit:?} (use B, KiB, MiB, GiB, kB, MB, GB)"
            ));
        }
    };
    let bytes = (value * factor).round();
    if bytes > 5.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 {
        return Err("sizes above 5 TiB are not possible in S3".into());
    }
    Ok(bytes as u64)
}

/// Formats a byte count compactly, e.g. `4 KiB`, `1 GiB`, `1.5 MiB`, `100 B`.
fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("B");
    if value.fract() == 0.0 {
        format!("{value} {name}")
    } else {
        format!("{value:.1} {name}")
    }
}

// ---------------------------------------------------------------------------
// decision: the policy engine, in-process
// ---------------------------------------------------------------------------

/// Decisions `--scenario decision` times unless `--requests` says otherwise.
const DEFAULT_DECISIONS: u64 = 100_000;
/// Untimed decisions first, so pool slots, caches and branch predictors are warm.
const WARMUP_DECISIONS: u64 = 2_000;

/// Latencies of single decisions.
struct DecisionReport {
    startup: Duration,
    decisions: u64,
    elapsed: Duration,
    sorted: Vec<Duration>,
    /// The same timings in the order the decisions ran (`--samples`).
    in_order: Vec<Duration>,
}

impl DecisionReport {
    fn micros(&self, q: f64) -> f64 {
        percentile(&self.sorted, q).as_secs_f64() * 1e6
    }

    fn mean_micros(&self) -> f64 {
        let n = self.sorted.len().max(1) as f64;
        self.sorted.iter().map(Duration::as_secs_f64).sum::<f64>() / n * 1e6
    }
}

/// `--scenario decision`: no server, no credentials.
async fn run_decision(args: &BenchArgs) -> anyhow::Result<()> {
    let n = args.requests.unwrap_or(DEFAULT_DECISIONS);
    progress(&format!("timing {n} policy decisions in-process"));
    let (hook, rules) = (args.hook, args.cors_rules);
    let policy = match &args.bucket_policy {
        Some(path) => {
            let document = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let policy = coffer_guest_sdk::bucket_policy::parse(&document, "photos")
                .map_err(|e| anyhow::anyhow!("{}: MalformedPolicy: {e}", path.display()))?;
            Some((policy.encode(), policy.statements.len()))
        }
        None => None,
    };
    let statements = policy.as_ref().map(|(_, n)| *n);
    let compiled = policy.map(|(bytes, _)| bytes);
    let report = tokio::task::spawn_blocking(move || measure_decisions(n, hook, rules, compiled))
        .await
        .context("the decision benchmark panicked")??;
    if let Some(path) = &args.samples {
        let mut text = String::with_capacity(report.in_order.len() * 8);
        for t in &report.in_order {
            text.push_str(&t.as_nanos().to_string());
            text.push('\n');
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let (p50, p90, p99, p999) = (
        report.micros(0.50),
        report.micros(0.90),
        report.micros(0.99),
        report.micros(0.999),
    );
    let max = report.micros(1.0);
    let rate = per_second(report.decisions as f64, report.elapsed);
    if args.json {
        let value = serde_json::json!({
            "scenario": "decision",
            "module": "default",
            "hook": hook_name(hook),
            "cors_rules": (hook == DecisionHook::Cors).then_some(rules),
            "bucket_policy_statements": statements,
            "decisions": report.decisions,
            "threads": 1,
            "engine_startup_ms": report.startup.as_secs_f64() * 1e3,
            "p50_us": p50,
            "p90_us": p90,
            "p99_us": p99,
            "p999_us": p999,
            "max_us": max,
            "mean_us": report.mean_micros(),
            "decisions_per_sec": rate,
        });
        println!("{value}");
    } else {
        let what = match (hook, statements) {
            (DecisionHook::Authorize, None) => "authorize decisions".to_owned(),
            (DecisionHook::Authorize, Some(n)) => {
                format!("authorize decisions with a {n}-statement bucket policy")
            }
            (DecisionHook::Cors, _) => {
                format!("cors decisions over {rules} rules (the last matches)")
            }
        };
        println!(
            "decision: {} {what} of the default module, in-process, 1 thread",
            report.decisions
        );
        println!(
            "  engine start (compiles the default module): {:.1} ms",
            report.startup.as_secs_f64() * 1e3
        );
        println!(
            "  p50 {p50:.2} us   p90 {p90:.2} us   p99 {p99:.2} us   p99.9 {p999:.2} us   max {max:.1} us"
        );
        println!(
            "  mean {:.2} us   {rate:.0} decisions/s",
            report.mean_micros()
        );
    }
    Ok(())
}

fn hook_name(hook: DecisionHook) -> &'static str {
    match hook {
        DecisionHook::Authorize => "authorize",
        DecisionHook::Cors => "cors",
    }
}

/// A preflight from `https://site-{rules-1}.example` with a custom header, and a
/// configuration of `rules` rules in which only the last one matches: the most work
/// S3's algorithm does for a configuration of that size.
fn cors_sample(rules: u32) -> types::CorsRequest {
    let rule = |i: u32| types::CorsRule {
        id: Some(format!("rule-{i}")),
        allowed_origins: vec![
            format!("https://site-{i}.example"),
            "https://*.cdn.example".into(),
        ],
        allowed_methods: vec!["GET".into(), "PUT".into(), "HEAD".into()],
        allowed_headers: vec!["content-type".into(), "x-amz-meta-*".into()],
        expose_headers: vec!["ETag".into()],
        max_age_seconds: Some(3000),
    };
    types::CorsRequest {
        kind: types::CorsKind::Preflight,
        origin: format!("https://site-{}.example", rules - 1),
        method: "PUT".into(),
        request_headers: vec!["content-type".into(), "x-amz-meta-owner".into()],
        bucket: "photos".into(),
        key: Some("2024/holiday/IMG_0042.jpg".into()),
        rules: (0..rules).map(rule).collect(),
        config: None,
    }
}

/// Times `n` decisions of `hook`: `authorize` of a typical request (an account
/// reading an object of a bucket with a few grants, with the headers of an SDK
/// request; with `bucket_policy`, the compiled policy of its bucket and the context
/// of a SigV4 request over TLS), or `cors` of [`cors_sample`].
fn measure_decisions(
    n: u64,
    hook: DecisionHook,
    rules: u32,
    bucket_policy: Option<Vec<u8>>,
) -> anyhow::Result<DecisionReport> {
    let started = Instant::now();
    // Every decision evaluated: the answer cache would time lookups instead.
    let limits = Limits {
        decision_cache_bytes: 0,
        ..Limits::default()
    };
    let engine = PolicyEngine::new(limits).context("starting the policy engine")?;
    let startup = started.elapsed();
    let module = engine.default_module().clone();
    let mut request = coffer::policy::sample::typical_get_request();
    if bucket_policy.is_some() {
        request.bucket_policy = bucket_policy;
        request.context.secure_transport = true;
        request.context.signature = Some(types::Signature {
            version: types::SignatureVersion::V4,
            auth_type: types::AuthType::Header,
            signed_at: Some(request.context.current_time - 1),
        });
    }
    let cors = cors_sample(rules);
    let decide = || -> anyhow::Result<bool> {
        Ok(match hook {
            DecisionHook::Authorize => {
                matches!(
                    engine.authorize(&module, &request)?,
                    types::Decision::Allow(_)
                )
            }
            DecisionHook::Cors => engine.cors(&module, &cors)?.is_some(),
        })
    };
    if !decide()? {
        bail!("the benchmark request was refused");
    }
    for _ in 0..WARMUP_DECISIONS {
        decide()?;
    }
    let capacity = usize::try_from(n).context("too many decisions")?;
    let mut samples = Vec::with_capacity(capacity);
    let started = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let answer = decide()?;
        samples.push(t.elapsed());
        std::hint::black_box(answer);
    }
    let elapsed = started.elapsed();
    let in_order = samples.clone();
    samples.sort_unstable();
    Ok(DecisionReport {
        startup,
        decisions: n,
        elapsed,
        sorted: samples,
        in_order,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_get_policy_is_valid_and_the_size_of_the_decision_benchmark_s() {
        let owner = "a".repeat(64);
        let text = bench_get_policy("bench-bucket", &owner);
        let policy = coffer_guest_sdk::bucket_policy::parse(&text, "bench-bucket")
            .unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(policy.statements.len(), 20);
        let conditions: usize = policy.statements.iter().map(|s| s.conditions.len()).sum();
        assert_eq!(conditions, 10);
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1.5 MiB"), Ok(3 << 19));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("4 parsecs").is_err());
        assert!(parse_size("KiB").is_err());
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1 fortnight").is_err());
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(format_size(4096), "4 KiB");
        assert_eq!(format_size(1 << 30), "1 GiB");
        assert_eq!(format_size(3 << 19), "1.5 MiB");
        assert_eq!(format_size(100), "100 B");
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn extracts_xml() {
        let xml = "<R><IsTruncated>true</IsTruncated><Contents><Key>a&amp;b</Key></Contents>\
                   <Contents><Key>c</Key></Contents><NextContinuationToken>x+/=</NextContinuationToken></R>";
        assert_eq!(xml_texts(xml, "Key"), vec!["a&amp;b", "c"]);
        assert_eq!(xml_text(xml, "IsTruncated"), Some("true"));
        assert_eq!(xml_unescape("a&amp;lt;"), "a&lt;");
        assert_eq!(xml_text(xml, "Missing"), None);
    }

    #[test]
    fn generated_body_has_exact_length() {
        let mut rng = SplitMix64(7);
        let mut buf = [0u8; 13];
        rng.fill(&mut buf);
        assert!(buf.iter().any(|&b| b != 0));
        let body = BenchBody::generated(3 * GENERATOR_CHUNK as u64 + 5, 1);
        assert_eq!(
            body.size_hint().exact(),
            Some(3 * GENERATOR_CHUNK as u64 + 5)
        );
        for _ in 0..1000 {
            assert!(rng.below(10) < 10);
        }
    }
}
