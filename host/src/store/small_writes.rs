//! Group commit of the commonest small write: an unconditional PUT of bytes kept inline,
//! into a bucket that never had versioning. Concurrent ones are made together, one call
//! of the SQL function `put_small_objects` (`migrations/0016_small_writes.sql`) and one
//! commit for a batch of keys, so PostgreSQL's work per statement sent and per commit
//! (the round trip, binding, the commit's WAL flush) and sqlx's per query is paid once per
//! batch. Measured in `docs/performance.md` ("Group commit of small PUTs").
//!
//! A write is acknowledged only once the commit that holds it is done, as a write of its
//! own would be: batching does not weaken "acknowledged means durable". Batches form by
//! themselves: a worker takes everything queued for it when it is free (at most
//! [`MAX_BATCH`]), so a lone write waits for nothing and a batch grows only while the
//! previous one is in PostgreSQL.
//!
//! Each write does what its own statement would (see [`SmallWrites::put`]): the key's
//! current version, if it is kept inline too, is overwritten in place, with a new row id
//! as a new version gets; a key without one gets its row; anything else (a chunked or
//! multipart current version, a write that raced one in) is left to the caller's
//! general path. A key written twice in one batch gets its second write in the next call.
//! Inside the function each key has its own statements, so each is found by the unique
//! index on `(bucket_id, key)` whatever the table's statistics; one statement joining the
//! batch with `objects` was planned from them, and was measured planning every call,
//! scanning the table, or scanning a bucket's every row per batch.
//!
//! Locks: keys are spread over the workers by a hash of bucket and key, so one key is
//! never in two batches of this process at once, and a batch's keys are written in
//! bucket and key order, the order in which multi-key deletes lock rows too
//! ([`super::object_write::delete_unversioned`]). A batch whose call fails (a bucket
//! deleted meanwhile, a deadlock with another process) is made again one write at a
//! time, so each write gets its own answer.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::PgPool;
use sqlx::types::Json;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::buckets::Versioning;
use super::objects::{NewBody, NewObject, WriteCondition};
use super::{Error, constraint_of};
use crate::acl::Grants;
use crate::tags::Tag;

/// How many workers write batches, each one batch at a time. Measured with 32 clients
/// writing 4 KiB objects on the development machine (2 cores): 1 and 2 workers about
/// equal, 4 workers 7% slower (smaller batches, more commits); two, so that one batch
/// waiting for a row lock does not hold up every small write.
const WORKERS: usize = 2;

/// The most writes in one statement.
const MAX_BATCH: usize = 32;

/// How many writes may wait for each worker before writers wait to queue theirs.
const QUEUE: usize = 256;

/// Writes sent to PostgreSQL in batches, and the batches (calls of `put_small_objects`,
/// a write made again alone after its batch failed included): `/metrics`.
static WRITES: AtomicU64 = AtomicU64::new(0);
static BATCHES: AtomicU64 = AtomicU64::new(0);

/// The batching writer of small objects (see the module documentation). Its workers run
/// until it is dropped.
#[derive(Debug)]
pub struct SmallWrites {
    queues: Vec<mpsc::Sender<Pending>>,
    hasher: RandomState,
}

/// A write waiting for its batch, and where its answer goes.
struct Pending {
    row: Row,
    answer: oneshot::Sender<Result<Option<OffsetDateTime>, Error>>,
}

/// A write's columns, owned so they can wait in a queue. They are the columns every new
/// object row gets (compare `object_write::bind_columns`).
struct Row {
    bucket_id: i64,
    key: String,
    size: i64,
    etag: String,
    owner_id: i64,
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<String>,
    user_metadata: Vec<(String, String)>,
    checksum: Option<(String, String)>,
    data: Vec<u8>,
    acl: Grants,
    tags: Vec<Tag>,
    retention: Option<(&'static str, OffsetDateTime)>,
    legal_hold: bool,
}

impl SmallWrites {
    /// Starts the workers on the current tokio runtime, writing through `pool`.
    pub fn start(pool: &PgPool) -> Self {
        let queues = (0..WORKERS)
            .map(|_| {
                let (queue, pending) = mpsc::channel(QUEUE);
                tokio::spawn(run_worker(pool.clone(), pending));
                queue
            })
            .collect();
        SmallWrites {
            queues,
            hasher: RandomState::new(),
        }
    }

    /// Writes `obj` in the next batch if it is a small write (an unconditional write of
    /// inline bytes into an unversioned bucket) and the key's current version, if any, is
    /// inline too, and returns the new version's Last-Modified (it is the `null` version).
    /// `None` when it is not, or when the key's current version is chunked or
    /// a multipart object, or appeared meanwhile: the caller takes the general path.
    ///
    /// This keeps `object_write::put_object`'s promises. In place is right only here: an
    /// unversioned key has one version, and an inline version has no chunks to release
    /// and no parts referencing its row. The row still gets a new id, as a replacing row
    /// would: ids grow in commit order, and a lifecycle expiration that read the old
    /// version checks that the key's row is still the one it read
    /// (`object_write::expire_current_version`). The row lock the `UPDATE` takes orders
    /// it with every other writer and deleter of the key, as the general path's `FOR
    /// UPDATE` does; one whose row was deleted or replaced while it waited matches
    /// nothing and falls through. `tests/e2e/objects.rs` compares an overwritten row with
    /// a new one column by column.
    pub async fn put(&self, obj: &NewObject<'_>) -> Result<Option<OffsetDateTime>, Error> {
        let NewBody::Inline(data) = &obj.body else {
            return Ok(None);
        };
        if obj.versioning != Versioning::Unversioned || obj.condition != WriteCondition::None {
            return Ok(None);
        }
        let worker = self.hasher.hash_one((obj.bucket_id, obj.key)) as usize % WORKERS;
        let Some(queue) = self.queues.get(worker) else {
            return Ok(None);
        };
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            row: Row::new(obj, data.clone()),
            answer,
        };
        // A worker that is gone (it could only have panicked) leaves its writes to the
        // general path: an unconditional write made there after a batch that may have
        // committed it is the same write made a moment later.
        if queue.send(pending).await.is_err() {
            tracing::error!(
                worker,
                "small-write worker gone: writing through the general path"
            );
            return Ok(None);
        }
        match answered.await {
            Ok(answer) => answer,
            Err(_) => {
                tracing::error!(
                    worker,
                    "small-write worker gone: writing through the general path"
                );
                Ok(None)
            }
        }
    }
}

impl Row {
    fn new(obj: &NewObject<'_>, data: Vec<u8>) -> Self {
        let h = obj.headers;
        Row {
            bucket_id: obj.bucket_id,
            key: obj.key.to_owned(),
            size: obj.size as i64,
            etag: obj.etag.to_owned(),
            owner_id: obj.owner_id,
            content_type: h.content_type.clone(),
            content_encoding: h.content_encoding.clone(),
            content_disposition: h.content_disposition.clone(),
            content_language: h.content_language.clone(),
            cache_control: h.cache_control.clone(),
            expires: h.expires.clone(),
            user_metadata: obj.user_metadata.to_vec(),
            checksum: obj.checksum.map(|(a, v)| (a.to_owned(), v.to_owned())),
            data,
            acl: obj.acl.clone(),
            tags: obj.tags.to_vec(),
            retention: obj.retention.map(|r| (r.mode.as_str(), r.retain_until)),
            legal_hold: obj.legal_hold,
        }
    }
}

/// Writes the batches of one queue until the [`SmallWrites`] is dropped.
async fn run_worker(pool: PgPool, mut pending: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write_batch(&pool, std::mem::take(&mut batch)).await;
    }
}

/// Writes a batch and answers each of its writes: the first write of each key, one
/// statement per bucket, then the next write of each, and so on (a key written twice in
/// one batch is rare: a client's writes that overlap in time).
async fn write_batch(pool: &PgPool, mut batch: Vec<Pending>) {
    while !batch.is_empty() {
        let mut seen = HashSet::new();
        let (mut round, later): (Vec<Pending>, Vec<Pending>) = batch
            .into_iter()
            .partition(|p| seen.insert((p.row.bucket_id, p.row.key.clone())));
        batch = later;
        round.sort_by(|a, b| (a.row.bucket_id, &a.row.key).cmp(&(b.row.bucket_id, &b.row.key)));
        let mut rest = round.into_iter().peekable();
        while let Some(first) = rest.next() {
            let bucket_id = first.row.bucket_id;
            let mut group = vec![first];
            while let Some(next) = rest.next_if(|p| p.row.bucket_id == bucket_id) {
                group.push(next);
            }
            write_group(pool, group).await;
        }
    }
}

/// Writes writes of distinct keys of one bucket, sorted by key, and answers each. If
/// the statements fail, each write is made again alone, for its own answer.
async fn write_group(pool: &PgPool, mut group: Vec<Pending>) {
    let rows: Vec<&Row> = group.iter().map(|p| &p.row).collect();
    match write_rows(pool, &rows).await {
        Ok(written) => {
            for (p, committed) in group.into_iter().zip(written) {
                let _ = p.answer.send(Ok(committed));
            }
        }
        Err(e) if group.len() == 1 => {
            if let Some(p) = group.pop() {
                let _ = p.answer.send(Err(e));
            }
        }
        Err(_) => {
            for p in group {
                let result = write_rows(pool, &[&p.row]).await;
                let _ = p.answer.send(result.map(|mut w| w.pop().flatten()));
            }
        }
    }
}

/// Writes `rows`, distinct keys of one bucket sorted by key, with
/// `put_small_objects` (`migrations/0016_small_writes.sql`). Each row's result, in order:
/// `None` where the key's current version was neither overwritten nor created.
async fn write_rows(pool: &PgPool, rows: &[&Row]) -> Result<Vec<Option<OffsetDateTime>>, Error> {
    BATCHES.fetch_add(1, Ordering::Relaxed);
    WRITES.fetch_add(rows.len() as u64, Ordering::Relaxed);
    let done: Vec<(i32, OffsetDateTime)> = bind_rows(
        sqlx::query_as(
            "SELECT written, written_at FROM put_small_objects($1, $2, $3, $4, $5, $6, $7,
                $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        ),
        rows,
    )
    .fetch_all(pool)
    .await
    .map_err(|e| match constraint_of(&e) {
        // The bucket was deleted meanwhile.
        Some("objects_bucket_id_fkey") => Error::NoSuchBucket,
        _ => Error::Db(e),
    })?;
    let mut written: Vec<Option<OffsetDateTime>> = rows.iter().map(|_| None).collect();
    for (n, last_modified) in done {
        let slot = usize::try_from(n - 1).ok().and_then(|i| written.get_mut(i));
        if let Some(slot) = slot {
            *slot = Some(last_modified);
        }
    }
    Ok(written)
}

/// A query of rows of type `O` being bound.
type PgQueryAs<'q, O> = sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>;

/// Binds `rows`, distinct keys of one bucket, as `put_small_objects`'s arguments: `$1`
/// the bucket, then one array per column a new object row gets, the keys first.
fn bind_rows<'q, O>(query: PgQueryAs<'q, O>, rows: &[&'q Row]) -> PgQueryAs<'q, O> {
    fn column<'r, T>(rows: &[&'r Row], f: impl Fn(&'r Row) -> T) -> Vec<T> {
        rows.iter().map(|r| f(r)).collect()
    }
    query
        .bind(rows.first().map_or(0, |r| r.bucket_id))
        .bind(column(rows, |r| r.key.as_str()))
        .bind(column(rows, |r| r.size))
        .bind(column(rows, |r| r.etag.as_str()))
        .bind(column(rows, |r| r.owner_id))
        .bind(column(rows, |r| r.content_type.as_deref()))
        .bind(column(rows, |r| r.content_encoding.as_deref()))
        .bind(column(rows, |r| r.content_disposition.as_deref()))
        .bind(column(rows, |r| r.content_language.as_deref()))
        .bind(column(rows, |r| r.cache_control.as_deref()))
        .bind(column(rows, |r| r.expires.as_deref()))
        .bind(column(rows, |r| Json(&r.user_metadata)))
        .bind(column(rows, |r| r.checksum.as_ref().map(|c| c.0.as_str())))
        .bind(column(rows, |r| r.checksum.as_ref().map(|c| c.1.as_str())))
        .bind(column(rows, |r| r.data.as_slice()))
        .bind(column(rows, |r| Json(&r.acl)))
        .bind(column(rows, |r| Json(&r.tags)))
        .bind(column(rows, |r| r.retention.map(|(mode, _)| mode)))
        .bind(column(rows, |r| r.retention.map(|(_, until)| until)))
        .bind(column(rows, |r| r.legal_hold))
}

/// Appends the batching's counters to a `/metrics` page (`docs/metrics.md`).
pub fn render_metrics(out: &mut String) {
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "# HELP coffer_db_small_writes_total Small PUTs written to PostgreSQL in batches \
         (group commit).\n\
         # TYPE coffer_db_small_writes_total counter\n\
         coffer_db_small_writes_total {}\n\
         # HELP coffer_db_small_write_batches_total Batches of small PUTs written, each one \
         call and one commit.\n\
         # TYPE coffer_db_small_write_batches_total counter\n\
         coffer_db_small_write_batches_total {}",
        WRITES.load(Ordering::Relaxed),
        BATCHES.load(Ordering::Relaxed)
    );
}
