//! `--scenario db-put`: a small PUT's database work and nothing else. Each operation
//! makes the statements a 4 KiB PUT of Coffer makes, through the server's own store
//! functions: the access key and the bucket read in one statement
//! (`buckets::find_active_key_and_bucket`), then the object written
//! (`object_write::put_object`, inline, so in batches with the other tasks' writes as the
//! server makes them: `store::small_writes`). No HTTP, no signature, no policy decision, no
//! hashing of the body (one ETag computed up front).
//!
//! What it shows is how far the PUT's statements alone can go on the machine, next to
//! PostgreSQL's plain commit rate (`scripts/bench-limits`): the rest of a PUT's cost has
//! to fit in what they leave.

use std::sync::Arc;

use anyhow::{Context, bail};
use coffer::acl::Grants;
use coffer::store::buckets::Versioning;
use coffer::store::buckets::find_active_key_and_bucket;
use coffer::store::object_write::put_object;
use coffer::store::objects::{NewBody, NewObject, ObjectHeaders, WriteCondition};
use coffer::store::small_writes::SmallWrites;
use http::HeaderValue;
use md5::{Digest, Md5};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::{
    BenchArgs, Ctx, Op, Plan, S3Client, SplitMix64, measure, object_key, progress,
    spawn_interrupt_handler,
};

/// Largest `--size` of `db-put`: the object is written inline, as the server writes
/// objects up to its inline threshold (64 KiB at most).
const MAX_INLINE: u64 = 64 << 10;

/// What every `db-put` operation writes, and where.
#[derive(Debug)]
pub(super) struct DbTarget {
    pool: PgPool,
    small_writes: SmallWrites,
    access_key: String,
    bucket_id: i64,
    owner_id: i64,
    versioning: Versioning,
    acl: Grants,
    headers: ObjectHeaders,
    data: Vec<u8>,
    etag: String,
}

/// `--scenario db-put`: `--concurrency` tasks sharing a pool of as many connections (as
/// the server's pool serves its requests), for `--duration` (or `--requests`), writing
/// `--size` bytes to one of `--keys` keys of `--bucket` (which must exist) as
/// `--access-key`'s account.
pub(super) async fn run_db_put(args: &BenchArgs) -> anyhow::Result<()> {
    let url = args
        .database_url
        .as_deref()
        .context("--scenario db-put needs --database-url")?;
    let access_key = args
        .access_key
        .clone()
        .context("--access-key (or AWS_ACCESS_KEY_ID) is required")?;
    let bucket = args
        .bucket
        .clone()
        .context("--scenario db-put needs the --bucket it writes into")?;
    let plan = Plan::from_args(args);
    if plan.size > MAX_INLINE {
        bail!("--scenario db-put writes objects inline: --size must be at most 64KiB");
    }
    let pool = PgPoolOptions::new()
        .max_connections(plan.concurrency)
        .test_before_acquire(false)
        .connect(url)
        .await
        .context("connecting to --database-url")?;
    let (key, found) = find_active_key_and_bucket(&pool, &access_key, &bucket)
        .await?
        .with_context(|| format!("no active access key {access_key}"))?;
    let found = found.with_context(|| format!("no bucket {bucket}"))?;
    let mut data = vec![0u8; usize::try_from(plan.size)?];
    SplitMix64(plan.size).fill(&mut data);
    let etag = format!("\"{}\"", hex::encode(Md5::digest(&data)));
    let target = DbTarget {
        small_writes: SmallWrites::start(&pool),
        pool,
        access_key,
        bucket_id: found.id,
        owner_id: key.account.id,
        versioning: found.versioning,
        acl: Grants::private(&key.account.canonical_id),
        headers: ObjectHeaders::default(),
        data,
        etag,
    };
    let stop = spawn_interrupt_handler();
    let ctx = Arc::new(Ctx {
        s3: S3Client::new(&args.endpoint, "", "", &args.region)?,
        bucket,
        size: plan.size,
        keys: plan.keys,
        origin: HeaderValue::from_static("null"),
        fetch_path: String::new(),
        db: Some(target),
    });
    progress("running db-put");
    let result = measure(&ctx, Op::DbPut, "db-put", &plan, &stop).await;
    if args.json {
        let value = serde_json::json!({
            "scenario": "db-put",
            "bucket": ctx.bucket,
            "concurrency": plan.concurrency,
            "results": [super::result_json(&result)],
        });
        println!("{value}");
    } else {
        println!(
            "db-put into {}: {} tasks, {} writes ({} failed), {:.0} writes/s, p50 {:.2} ms, \
             p99 {:.2} ms",
            ctx.bucket,
            plan.concurrency,
            result.ops,
            result.errors,
            result.ops_per_sec(),
            result.latency_ms(0.50),
            result.latency_ms(0.99),
        );
    }
    result.ensure_no_errors("write")
}

/// One PUT's statements: the key and the bucket, then the object row. Returns the bytes
/// written.
pub(super) async fn put(ctx: &Ctx, rng: &mut SplitMix64) -> anyhow::Result<u64> {
    let db = ctx.db.as_ref().context("db-put without a database")?;
    find_active_key_and_bucket(&db.pool, &db.access_key, &ctx.bucket)
        .await?
        .context("the access key is gone")?;
    let key = object_key(rng.below(ctx.keys));
    put_object(
        &db.pool,
        &db.small_writes,
        &NewObject {
            bucket_id: db.bucket_id,
            key: &key,
            size: ctx.size,
            etag: &db.etag,
            owner_id: db.owner_id,
            headers: &db.headers,
            user_metadata: &[],
            checksum: None,
            acl: &db.acl,
            body: NewBody::Inline(db.data.clone()),
            condition: WriteCondition::None,
            versioning: db.versioning,
            tags: &[],
            retention: None,
            legal_hold: false,
        },
    )
    .await?;
    Ok(ctx.size)
}
