//! Chunk metadata in PostgreSQL: the chunks, where their copies are (`chunk_replicas`), the
//! intents of copies being written, the copies waiting to be unlinked, and the queue of
//! chunks that need repair. The workers that act on them are [`super::repair`],
//! [`super::scrub`] and [`super::gc`].
//!
//! Schema: `migrations/0001_initial.sql` and `migrations/0005_durable_storage.sql`.

use sqlx::{PgExecutor, PgPool, Row};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

use super::Error;
use super::blocks::BlockCrcs;
use super::volumes::{READABLE_STATES, VolumeState};

/// A chunk whose copies are complete and durable on disk, not yet recorded in PostgreSQL.
#[derive(Debug, Clone)]
pub struct StoredChunk {
    /// Chunk id (also its file name on every volume).
    pub id: Uuid,
    /// Length in bytes.
    pub size: u64,
    /// CRC32C of the whole chunk.
    pub crc32c: u32,
    /// CRC32C per block.
    pub blocks: BlockCrcs,
    /// The volumes holding a copy.
    pub volumes: Vec<Uuid>,
    /// Copies wanted (`--replicas` when written).
    pub wanted: usize,
}

/// One piece of an object stored in a chunk, and where its copies are.
#[derive(Debug, Clone)]
pub struct ChunkRef {
    /// Chunk id.
    pub chunk_id: Uuid,
    /// Offset of the chunk's first byte in the object.
    pub offset: u64,
    /// Chunk length.
    pub size: u64,
    /// Block CRCs every read checks.
    pub blocks: Arc<BlockCrcs>,
    /// Volumes holding a good copy, as recorded.
    pub replicas: Vec<Uuid>,
}

/// What is wrong with one copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyProblem {
    /// A block failed its CRC, or the file is shorter than the chunk.
    Corrupt,
    /// No file.
    Missing,
    /// The file could not be read (I/O error).
    Unreadable,
}

impl CopyProblem {
    /// The name used in logs and the replica's state.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyProblem::Corrupt => "corrupt",
            CopyProblem::Missing => "missing",
            CopyProblem::Unreadable => "unreadable",
        }
    }

    /// The state recorded for the copy (an unreadable file is as good as corrupt).
    fn replica_state(self) -> &'static str {
        match self {
            CopyProblem::Missing => "missing",
            CopyProblem::Corrupt | CopyProblem::Unreadable => "corrupt",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Chunks and copies

/// Records newly written chunks: takes their intents (every copy's intent must still be
/// there: one that expired may have had its file removed), inserts the `chunks` and
/// `chunk_replicas` rows, and queues for repair, in the same transaction, every chunk
/// written with fewer copies than wanted.
pub(crate) async fn insert_chunks(
    tx: &mut sqlx::PgConnection,
    chunks: &[StoredChunk],
) -> Result<(), Error> {
    if chunks.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = chunks.iter().map(|c| c.id).collect();
    // An expired intent does not count: the collector may have removed its file.
    let taken: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "WITH taken AS (DELETE FROM chunk_intents WHERE chunk_id = ANY($1)
                        RETURNING chunk_id, volume_id, expires_at)
         SELECT chunk_id, volume_id FROM taken WHERE expires_at >= now()",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    for c in chunks {
        if let Some(v) = c.volumes.iter().find(|v| !taken.contains(&(c.id, **v))) {
            return Err(Error::IntentLost(c.id, *v));
        }
    }
    let sizes: Vec<i64> = chunks.iter().map(|c| c.size as i64).collect();
    let crcs: Vec<i64> = chunks.iter().map(|c| i64::from(c.crc32c)).collect();
    let block_sizes: Vec<i32> = chunks.iter().map(|c| c.blocks.block_size as i32).collect();
    let block_crcs: Vec<Vec<u8>> = chunks.iter().map(|c| c.blocks.encode()).collect();
    sqlx::query(
        "INSERT INTO chunks (id, size, crc32c, block_size, block_crcs)
         SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::int8[], $4::int4[], $5::bytea[])",
    )
    .bind(&ids)
    .bind(&sizes)
    .bind(&crcs)
    .bind(&block_sizes)
    .bind(&block_crcs)
    .execute(&mut *tx)
    .await?;
    let (rep_chunks, rep_volumes): (Vec<Uuid>, Vec<Uuid>) = chunks
        .iter()
        .flat_map(|c| c.volumes.iter().map(move |v| (c.id, *v)))
        .unzip();
    sqlx::query(
        "INSERT INTO chunk_replicas (chunk_id, volume_id) SELECT * FROM UNNEST($1::uuid[], $2::uuid[])",
    )
    .bind(&rep_chunks)
    .bind(&rep_volumes)
    .execute(&mut *tx)
    .await?;
    // Copies on a volume that failed meanwhile do not count. The volumes are locked `FOR
    // SHARE` against the state change: a failure either waits for this commit (and then
    // queues these chunks with the volume's others) or is seen here.
    let mut used: Vec<Uuid> = rep_volumes.clone();
    used.sort_unstable();
    used.dedup();
    let readable: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT id FROM volumes WHERE id = ANY($1) AND state IN {READABLE_STATES}
         ORDER BY id FOR SHARE"
    ))
    .bind(&used)
    .fetch_all(&mut *tx)
    .await?;
    let (degraded, copies): (Vec<Uuid>, Vec<i32>) = chunks
        .iter()
        .map(|c| {
            let good = c.volumes.iter().filter(|v| readable.contains(v)).count();
            (c, good)
        })
        .filter(|(c, good)| *good < c.wanted)
        .map(|(c, good)| (c.id, good as i32))
        .unzip();
    if !degraded.is_empty() {
        sqlx::query(
            "INSERT INTO chunk_repairs (chunk_id, reason, priority)
             SELECT id, 'degraded write', n FROM UNNEST($1::uuid[], $2::int4[]) AS d(id, n)",
        )
        .bind(&degraded)
        .bind(&copies)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Deletes the `chunks` rows among `ids` that nothing references any more, and queues
/// their copies for unlinking (after `--delete-delay`, so GETs streaming them finish).
///
/// The rows are locked first, in a statement of their own: a copy that shares them holds
/// them `FOR SHARE` until it commits, so this waits for it, and the `DELETE` (a new
/// statement, so a new snapshot under READ COMMITTED) then sees the copy's references
/// and keeps the chunks.
pub(crate) async fn release_chunks(tx: &mut sqlx::PgConnection, ids: &[Uuid]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT id FROM chunks WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(ids)
        .execute(&mut *tx)
        .await?;
    // The CTEs see the replica rows as they were before the cascade of the DELETE.
    sqlx::query(
        "WITH gone AS (
            DELETE FROM chunks c WHERE c.id = ANY($1)
              AND NOT EXISTS (SELECT 1 FROM object_chunks oc WHERE oc.chunk_id = c.id)
              AND NOT EXISTS (SELECT 1 FROM part_chunks pc WHERE pc.chunk_id = c.id)
            RETURNING c.id)
         INSERT INTO chunk_deletions (chunk_id, volume_id)
         SELECT r.chunk_id, r.volume_id FROM chunk_replicas r JOIN gone ON gone.id = r.chunk_id
         ON CONFLICT DO NOTHING",
    )
    .bind(ids)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Marks one copy bad and queues its chunk for repair.
pub async fn mark_copy_bad(
    pool: &PgPool,
    chunk: Uuid,
    volume: Uuid,
    problem: CopyProblem,
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE chunk_replicas SET state = $3 WHERE chunk_id = $1 AND volume_id = $2 AND state = 'ok'",
    )
    .bind(chunk)
    .bind(volume)
    .bind(problem.replica_state())
    .execute(&mut *tx)
    .await?;
    queue_repairs(
        &mut *tx,
        RepairScope::Chunks(&[chunk]),
        &format!("{} copy", problem.as_str()),
        Duration::ZERO,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Marks a copy verified now.
pub async fn mark_verified(
    db: impl PgExecutor<'_>,
    chunk: Uuid,
    volume: Uuid,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE chunk_replicas SET verified_at = now() WHERE chunk_id = $1 AND volume_id = $2",
    )
    .bind(chunk)
    .bind(volume)
    .execute(db)
    .await?;
    Ok(())
}

/// A chunk with everything needed to check or copy it.
#[derive(Debug, Clone)]
pub struct ChunkInfo {
    /// Id.
    pub id: Uuid,
    /// Length.
    pub size: u64,
    /// CRC32C of the whole chunk.
    pub crc32c: u32,
    /// Block CRCs.
    pub blocks: Arc<BlockCrcs>,
    /// Every copy: the volume, the copy's state (`ok` / `corrupt` / `missing`) and the
    /// volume's state as the table has it (the operator's drain shows there first).
    pub copies: Vec<(Uuid, String, Option<VolumeState>)>,
    /// Volumes where a dropped copy of this chunk waits to be unlinked: no new copy may
    /// go there before it is.
    pub unlinking: Vec<Uuid>,
}

/// The chunk `id` and its copies, if it still exists.
pub async fn chunk_info(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<ChunkInfo>, Error> {
    let row = sqlx::query(
        "SELECT c.size, c.crc32c, c.block_size, c.block_crcs,
                COALESCE(array_agg(r.volume_id ORDER BY r.volume_id) FILTER (WHERE r.volume_id IS NOT NULL), '{}') AS vols,
                COALESCE(array_agg(r.state ORDER BY r.volume_id) FILTER (WHERE r.volume_id IS NOT NULL), '{}') AS states,
                COALESCE(array_agg(v.state ORDER BY r.volume_id) FILTER (WHERE r.volume_id IS NOT NULL), '{}') AS volume_states,
                ARRAY(SELECT d.volume_id FROM chunk_deletions d WHERE d.chunk_id = c.id) AS unlinking
         FROM chunks c LEFT JOIN chunk_replicas r ON r.chunk_id = c.id
         LEFT JOIN volumes v ON v.id = r.volume_id
         WHERE c.id = $1 GROUP BY c.id",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let size = row.try_get::<i64, _>("size")? as u64;
    let blocks = decode_blocks(
        id,
        size,
        row.try_get("block_size")?,
        row.try_get("block_crcs")?,
    )?;
    let vols: Vec<Uuid> = row.try_get("vols")?;
    let states: Vec<String> = row.try_get("states")?;
    let volume_states: Vec<String> = row.try_get("volume_states")?;
    Ok(Some(ChunkInfo {
        id,
        size,
        crc32c: row.try_get::<i64, _>("crc32c")? as u32,
        blocks,
        copies: vols
            .into_iter()
            .zip(states)
            .zip(volume_states)
            .map(|((v, s), vs)| (v, s, VolumeState::parse(&vs)))
            .collect(),
        unlinking: row.try_get("unlinking")?,
    }))
}

/// Decodes a chunk's stored block CRCs, checking they fit its size.
pub(crate) fn decode_blocks(
    id: Uuid,
    size: u64,
    block_size: i32,
    crcs: Vec<u8>,
) -> Result<Arc<BlockCrcs>, Error> {
    BlockCrcs::decode(block_size, &crcs)
        .filter(|b| b.fits(size))
        .map(Arc::new)
        .ok_or_else(|| Error::Corrupt(format!("chunk {id}: block checksums do not fit its size")))
}

/// Records a repaired copy (`ok`, verified now) after taking its intent; `false` (and
/// nothing recorded) when the chunk was released meanwhile or the intent is gone.
pub async fn record_repaired_copy(
    tx: &mut sqlx::PgConnection,
    chunk: Uuid,
    volume: Uuid,
) -> Result<bool, Error> {
    let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM chunks WHERE id = $1 FOR SHARE")
        .bind(chunk)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(false);
    }
    let live: Option<bool> = sqlx::query_scalar(
        "DELETE FROM chunk_intents WHERE chunk_id = $1 AND volume_id = $2
         RETURNING expires_at >= now()",
    )
    .bind(chunk)
    .bind(volume)
    .fetch_optional(&mut *tx)
    .await?;
    if live != Some(true) {
        return Err(Error::IntentLost(chunk, volume));
    }
    sqlx::query(
        "INSERT INTO chunk_replicas (chunk_id, volume_id, state, verified_at)
         VALUES ($1, $2, 'ok', now())
         ON CONFLICT (chunk_id, volume_id) DO UPDATE SET state = 'ok', verified_at = now()",
    )
    .bind(chunk)
    .bind(volume)
    .execute(&mut *tx)
    .await?;
    Ok(true)
}

/// Drops the replica rows of `chunk` on `volumes` (copies that are bad, on dead volumes,
/// or on a draining volume once enough others exist) and queues their files for unlinking.
pub async fn drop_copies(
    tx: &mut sqlx::PgConnection,
    chunk: Uuid,
    volumes: &[Uuid],
) -> Result<(), Error> {
    if volumes.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH dropped AS (
            DELETE FROM chunk_replicas WHERE chunk_id = $1 AND volume_id = ANY($2)
            RETURNING chunk_id, volume_id)
         INSERT INTO chunk_deletions (chunk_id, volume_id) SELECT * FROM dropped
         ON CONFLICT DO NOTHING",
    )
    .bind(chunk)
    .bind(volumes)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Objects (bucket, key) and multipart uploads (bucket, key, upload id) that reference a
/// chunk with no good copy on a readable volume: their bytes are lost unless a copy comes
/// back.
pub async fn lost_objects(db: impl PgExecutor<'_>) -> Result<Vec<LostObject>, Error> {
    let rows = sqlx::query(&format!(
        "WITH lost AS (
            SELECT c.id FROM chunks c
            WHERE NOT EXISTS (
                SELECT 1 FROM chunk_replicas r JOIN volumes v ON v.id = r.volume_id
                WHERE r.chunk_id = c.id AND r.state = 'ok' AND v.state IN {READABLE_STATES}))
         SELECT b.name AS bucket, o.key, NULL AS upload_id, count(*) AS chunks
         FROM lost JOIN object_chunks oc ON oc.chunk_id = lost.id
         JOIN objects o ON o.id = oc.object_id JOIN buckets b ON b.id = o.bucket_id
         GROUP BY b.name, o.key
         UNION ALL
         SELECT b.name, u.key, u.upload_id, count(*)
         FROM lost JOIN part_chunks pc ON pc.chunk_id = lost.id
         JOIN multipart_uploads u ON u.id = pc.upload_id JOIN buckets b ON b.id = u.bucket_id
         GROUP BY b.name, u.key, u.upload_id
         ORDER BY 1, 2"
    ))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LostObject {
                bucket: r.try_get(0)?,
                key: r.try_get(1)?,
                upload_id: r.try_get(2)?,
                lost_chunks: r.try_get(3)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// An object (or upload) with chunks that have no good copy left.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LostObject {
    /// Bucket name.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Set for a multipart upload in progress.
    pub upload_id: Option<String>,
    /// How many of its chunks are lost.
    pub lost_chunks: i64,
}

// ---------------------------------------------------------------------------------------------
// Intents

/// Records the intent to write a copy of `chunk` on each of `volumes` (before the files
/// are created).
pub async fn insert_intents(
    db: impl PgExecutor<'_>,
    chunk: Uuid,
    volumes: &[Uuid],
    ttl: Duration,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO chunk_intents (chunk_id, volume_id, expires_at)
         SELECT $1, v, now() + make_interval(secs => $3) FROM UNNEST($2::uuid[]) AS v",
    )
    .bind(chunk)
    .bind(volumes)
    .bind(ttl.as_secs_f64())
    .execute(db)
    .await?;
    Ok(())
}

/// Extends the intents of `chunks`.
pub async fn renew_intents(
    db: impl PgExecutor<'_>,
    chunks: &[Uuid],
    ttl: Duration,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE chunk_intents SET expires_at = now() + make_interval(secs => $2)
         WHERE chunk_id = ANY($1)",
    )
    .bind(chunks)
    .bind(ttl.as_secs_f64())
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes the intents among `pairs` (chunk, volume) that still exist and returns them:
/// the caller now owns those files and removes them. An intent being taken by a commit in
/// flight makes this wait for that commit; if it commits, the intent is gone and the files
/// are not returned.
pub async fn take_intents(
    db: impl PgExecutor<'_>,
    pairs: &[(Uuid, Uuid)],
) -> Result<Vec<(Uuid, Uuid)>, Error> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let (chunks, volumes): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().copied().unzip();
    Ok(sqlx::query_as(
        "DELETE FROM chunk_intents i USING UNNEST($1::uuid[], $2::uuid[]) AS p(c, v)
         WHERE i.chunk_id = p.c AND i.volume_id = p.v
         RETURNING i.chunk_id, i.volume_id",
    )
    .bind(&chunks)
    .bind(&volumes)
    .fetch_all(db)
    .await?)
}

/// Deletes expired intents and returns those whose copy no replica row records: their
/// writers died (or stalled past the TTL), and their files are garbage. (A copy a row
/// records, say a bad one a repair was overwriting when it died, stays for the repair.)
pub async fn take_expired_intents(
    db: impl PgExecutor<'_>,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid)>, Error> {
    Ok(sqlx::query_as(
        "WITH expired AS (
             DELETE FROM chunk_intents WHERE (chunk_id, volume_id) IN (
                 SELECT chunk_id, volume_id FROM chunk_intents WHERE expires_at < now()
                 LIMIT $1 FOR UPDATE SKIP LOCKED)
             RETURNING chunk_id, volume_id)
         SELECT e.chunk_id, e.volume_id FROM expired e
         WHERE NOT EXISTS (SELECT 1 FROM chunk_replicas r
                           WHERE r.chunk_id = e.chunk_id AND r.volume_id = e.volume_id)",
    )
    .bind(limit)
    .fetch_all(db)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// Deferred deletions

/// Takes up to `limit` copies released more than `delay` ago: their files are to be
/// unlinked now.
pub async fn take_due_deletions(
    db: impl PgExecutor<'_>,
    delay: Duration,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid)>, Error> {
    Ok(sqlx::query_as(
        "DELETE FROM chunk_deletions WHERE (chunk_id, volume_id) IN (
             SELECT chunk_id, volume_id FROM chunk_deletions
             WHERE released_at <= now() - make_interval(secs => $1)
             ORDER BY released_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING chunk_id, volume_id",
    )
    .bind(delay.as_secs_f64())
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Of the chunk ids `found` as files on `volume`, the ones something still accounts for:
/// a live intent, or (for complete copies, not `temporary` ones) a replica row or a
/// pending deletion.
pub async fn accounted_files(
    db: impl PgExecutor<'_>,
    volume: Uuid,
    found: &[Uuid],
    temporary: bool,
) -> Result<Vec<Uuid>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT f.id FROM UNNEST($2::uuid[]) AS f(id)
         WHERE EXISTS (SELECT 1 FROM chunk_intents i WHERE i.chunk_id = f.id AND i.volume_id = $1
                                                      AND i.expires_at >= now())
            OR (NOT $3 AND (
                EXISTS (SELECT 1 FROM chunk_replicas r WHERE r.chunk_id = f.id AND r.volume_id = $1)
             OR EXISTS (SELECT 1 FROM chunk_deletions d WHERE d.chunk_id = f.id AND d.volume_id = $1)))",
    )
    .bind(volume)
    .bind(found)
    .bind(temporary)
    .fetch_all(db)
    .await?)
}

/// The good copies recorded on `volume` whose chunk id starts with byte `prefix`.
pub async fn recorded_copies(
    db: impl PgExecutor<'_>,
    volume: Uuid,
    prefix: u8,
) -> Result<Vec<Uuid>, Error> {
    let lo = Uuid::from_u128(u128::from(prefix) << 120);
    let hi = Uuid::from_u128((u128::from(prefix) << 120) | (u128::MAX >> 8));
    Ok(sqlx::query_scalar(
        "SELECT chunk_id FROM chunk_replicas
         WHERE volume_id = $1 AND state = 'ok' AND chunk_id BETWEEN $2 AND $3",
    )
    .bind(volume)
    .bind(lo)
    .bind(hi)
    .fetch_all(db)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// The repair queue

/// The good copies of a chunk on readable volumes, as SQL (for `priority`).
const GOOD_COPIES: &str =
    "(SELECT count(*) FROM chunk_replicas g JOIN volumes gv ON gv.id = g.volume_id
      WHERE g.chunk_id = c.id AND g.state = 'ok' AND gv.state IN ('active', 'full', 'draining'))";

/// Which chunks [`queue_repairs`] queues.
#[derive(Debug, Clone, Copy)]
pub enum RepairScope<'a> {
    /// These chunks.
    Chunks(&'a [Uuid]),
    /// Every chunk with a copy on this volume (it failed or went offline).
    Volume(Uuid),
}

/// Queues chunks for repair after `delay`, fewest good copies first. A chunk already
/// queued keeps its row (and lease), with the lower priority of the two.
pub async fn queue_repairs(
    db: impl PgExecutor<'_>,
    scope: RepairScope<'_>,
    reason: &str,
    delay: Duration,
) -> Result<u64, Error> {
    let source = match scope {
        RepairScope::Chunks(_) => "chunks c WHERE c.id = ANY($1)",
        RepairScope::Volume(_) => {
            "chunks c JOIN chunk_replicas r ON r.chunk_id = c.id WHERE r.volume_id = $1"
        }
    };
    let query = format!(
        "INSERT INTO chunk_repairs (chunk_id, reason, priority, not_before)
         SELECT c.id, $2, {GOOD_COPIES}, now() + make_interval(secs => $3) FROM {source}
         ON CONFLICT (chunk_id) DO UPDATE SET priority = LEAST(chunk_repairs.priority, EXCLUDED.priority)"
    );
    let query = sqlx::query(&query);
    let query = match scope {
        RepairScope::Chunks(ids) => query.bind(ids),
        RepairScope::Volume(id) => query.bind(id),
    };
    let done = query
        .bind(reason)
        .bind(delay.as_secs_f64())
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Queues a draining volume's chunks behind every other repair (priority `after`).
pub async fn queue_drain(db: impl PgExecutor<'_>, volume: Uuid, after: i32) -> Result<u64, Error> {
    let done = sqlx::query(
        "INSERT INTO chunk_repairs (chunk_id, reason, priority)
         SELECT chunk_id, 'drain', $2 FROM chunk_replicas WHERE volume_id = $1
         ON CONFLICT (chunk_id) DO NOTHING",
    )
    .bind(volume)
    .bind(after)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A queued repair taken by a worker.
#[derive(Debug, Clone)]
pub struct ClaimedRepair {
    /// The chunk.
    pub chunk_id: Uuid,
    /// Why it was queued.
    pub reason: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// Takes up to `limit` due repairs, fewest copies first, leasing each for `lease` (a
/// worker that dies gives its rows back when the lease ends). Rows locked by another
/// worker are skipped.
pub async fn claim_repairs(
    db: impl PgExecutor<'_>,
    limit: i64,
    lease: Duration,
) -> Result<Vec<ClaimedRepair>, Error> {
    let rows = sqlx::query(
        "UPDATE chunk_repairs SET not_before = now() + make_interval(secs => $2),
                                  attempts = attempts + 1
         WHERE chunk_id IN (SELECT chunk_id FROM chunk_repairs WHERE not_before <= now()
                            ORDER BY priority, not_before LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING chunk_id, reason, attempts",
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ClaimedRepair {
                chunk_id: r.try_get(0)?,
                reason: r.try_get(1)?,
                attempts: r.try_get(2)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// Removes a chunk from the queue if it has `wanted` good copies (or no longer exists);
/// otherwise (a copy found bad meanwhile) makes it due again at once. True if removed.
///
/// Runs in the caller's transaction, in two statements: the queue row is locked first,
/// and only then are the good copies counted. [`mark_copy_bad`] marks a copy and locks
/// the same row in one transaction, so once the lock is had, every mark that got there
/// first has committed, and the count (a new snapshot) sees it. Counted in the same
/// statement as the delete, the count came from a snapshot taken before the wait: a copy
/// marked bad while the delete waited was not seen, the row went, and the chunk stayed
/// short of copies with nothing queued to repair it (a scrub that found a bad copy while
/// a repair of the same chunk was finishing did that).
pub async fn finish_repair(
    tx: &mut sqlx::PgConnection,
    chunk: Uuid,
    wanted: usize,
) -> Result<bool, Error> {
    let queued: Option<Uuid> =
        sqlx::query_scalar("SELECT chunk_id FROM chunk_repairs WHERE chunk_id = $1 FOR UPDATE")
            .bind(chunk)
            .fetch_optional(&mut *tx)
            .await?;
    if queued.is_none() {
        return Ok(false);
    }
    let removed: Option<bool> = sqlx::query_scalar(&format!(
        "WITH good AS (SELECT {GOOD_COPIES} AS n FROM chunks c WHERE c.id = $1),
              gone AS (DELETE FROM chunk_repairs
                       WHERE chunk_id = $1 AND COALESCE((SELECT n FROM good), $2) >= $2
                       RETURNING chunk_id),
              again AS (UPDATE chunk_repairs SET not_before = now()
                        WHERE chunk_id = $1 AND NOT EXISTS (SELECT 1 FROM gone)
                        RETURNING chunk_id)
         SELECT EXISTS (SELECT 1 FROM gone)"
    ))
    .bind(chunk)
    .bind(wanted as i64)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(removed.unwrap_or(false))
}

/// Puts a repair back for a later attempt.
pub async fn retry_repair(
    db: impl PgExecutor<'_>,
    chunk: Uuid,
    after: Duration,
    priority: i32,
    error: &str,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE chunk_repairs SET not_before = now() + make_interval(secs => $2),
                                  priority = $3, last_error = $4
         WHERE chunk_id = $1",
    )
    .bind(chunk)
    .bind(after.as_secs_f64())
    .bind(priority)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Queue length and how many queued chunks have no good copy.
pub async fn repair_backlog(db: impl PgExecutor<'_>) -> Result<(i64, i64), Error> {
    let row: (i64, i64) =
        sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE priority = 0) FROM chunk_repairs")
            .fetch_one(db)
            .await?;
    Ok(row)
}

/// Every queued chunk.
pub async fn queued_chunks(db: impl PgExecutor<'_>) -> Result<Vec<Uuid>, Error> {
    Ok(sqlx::query_scalar("SELECT chunk_id FROM chunk_repairs")
        .fetch_all(db)
        .await?)
}

/// Which of `chunks` have no good copy on a readable volume.
pub async fn without_good_copy(
    db: impl PgExecutor<'_>,
    chunks: &[Uuid],
) -> Result<Vec<Uuid>, Error> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT c.id FROM chunks c WHERE c.id = ANY($1) AND {GOOD_COPIES} = 0"
    ))
    .bind(chunks)
    .fetch_all(db)
    .await?)
}

/// Which of `chunks` are still queued.
pub async fn queued_among(db: impl PgExecutor<'_>, chunks: &[Uuid]) -> Result<Vec<Uuid>, Error> {
    Ok(
        sqlx::query_scalar("SELECT chunk_id FROM chunk_repairs WHERE chunk_id = ANY($1)")
            .bind(chunks)
            .fetch_all(db)
            .await?,
    )
}

// ---------------------------------------------------------------------------------------------
// Scrub

/// A copy the scrub is to check.
#[derive(Debug, Clone)]
pub struct ScrubItem {
    /// The chunk.
    pub id: Uuid,
    /// Its length.
    pub size: u64,
    /// Its block CRCs.
    pub blocks: Arc<BlockCrcs>,
}

/// Takes up to `limit` good copies on `volume` last verified before `cutoff`, oldest
/// first, and stamps them verified now (a copy found bad is marked so afterwards; one
/// whose check a crash interrupted waits for the next period).
pub async fn claim_scrub(
    db: impl PgExecutor<'_>,
    volume: Uuid,
    cutoff: time::OffsetDateTime,
    limit: i64,
) -> Result<Vec<ScrubItem>, Error> {
    let rows = sqlx::query(
        "UPDATE chunk_replicas r SET verified_at = now()
         FROM chunks c
         WHERE c.id = r.chunk_id AND r.volume_id = $1 AND r.chunk_id IN (
             SELECT chunk_id FROM chunk_replicas
             WHERE volume_id = $1 AND state = 'ok' AND verified_at < $2
             ORDER BY verified_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING r.chunk_id, c.size, c.block_size, c.block_crcs",
    )
    .bind(volume)
    .bind(cutoff)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            let id: Uuid = r.try_get(0)?;
            let size = r.try_get::<i64, _>(1)? as u64;
            Ok(ScrubItem {
                id,
                size,
                blocks: decode_blocks(id, size, r.try_get(2)?, r.try_get(3)?)?,
            })
        })
        .collect()
}
