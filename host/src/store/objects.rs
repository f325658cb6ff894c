//! Objects: their rows, standard headers and metadata, and the transaction that makes a new
//! object visible (replacing the old version of its key).

use std::collections::HashMap;

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::blob::WrittenChunks;
use super::chunks::{ChunkRef, StoredChunk, decode_blocks, insert_chunks, release_chunks};
use super::{Error, constraint_of};
use crate::acl::Grants;

/// Standard HTTP headers stored with an object and returned on GET/HEAD.
#[derive(Debug, Clone, Default)]
pub struct ObjectHeaders {
    /// Content-Type.
    pub content_type: Option<String>,
    /// Content-Encoding (without `aws-chunked`).
    pub content_encoding: Option<String>,
    /// Content-Disposition.
    pub content_disposition: Option<String>,
    /// Content-Language.
    pub content_language: Option<String>,
    /// Cache-Control.
    pub cache_control: Option<String>,
    /// Expires (kept verbatim).
    pub expires: Option<String>,
}

impl ObjectHeaders {
    /// The headers from a row with the columns of that name (`objects`,
    /// `multipart_uploads`).
    pub(crate) fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(ObjectHeaders {
            content_type: row.try_get("content_type")?,
            content_encoding: row.try_get("content_encoding")?,
            content_disposition: row.try_get("content_disposition")?,
            content_language: row.try_get("content_language")?,
            cache_control: row.try_get("cache_control")?,
            expires: row.try_get("expires")?,
        })
    }
}

/// An object's metadata, and where its bytes are.
#[derive(Debug, Clone)]
pub struct ObjectMeta {
    /// Row id.
    pub id: i64,
    /// Key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag, quoted.
    pub etag: String,
    /// Owner's canonical id.
    pub owner_canonical_id: String,
    /// Owner's display name.
    pub owner_display_name: String,
    /// Explicit ACL grants.
    pub acl: Grants,
    /// Standard headers.
    pub headers: ObjectHeaders,
    /// `x-amz-meta-*` pairs (name without prefix, value).
    pub user_metadata: Vec<(String, String)>,
    /// Additional checksum: (algorithm, base64 value).
    pub checksum: Option<(String, String)>,
    /// Bytes of an object kept inline.
    pub inline_data: Option<Vec<u8>>,
    /// Last-Modified.
    pub last_modified: OffsetDateTime,
    /// Chunks in order (empty for inline objects).
    pub chunks: Vec<ChunkRef>,
}

/// Where a new object's bytes are.
pub enum NewBody {
    /// Kept in PostgreSQL.
    Inline(Vec<u8>),
    /// In these newly written chunks, in order (their files owned by intents until the
    /// commit: see [`WrittenChunks`]).
    Chunks(WrittenChunks),
    /// In these chunks (id, size), which other objects or parts already reference (a
    /// copy, a completed multipart upload): the new object shares them rather than
    /// duplicating their bytes.
    Shared(Vec<(Uuid, u64)>),
}

/// What a write requires of the object it replaces, checked in the transaction that
/// commits it (so of several concurrent conditional writers of one key, exactly the ones
/// the condition allows at their commit succeed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WriteCondition {
    /// Unconditional.
    #[default]
    None,
    /// `If-None-Match: *`: only if no object has the key.
    IfAbsent,
    /// `If-Match`: only if the current object's ETag is in this list.
    IfMatch(String),
}

/// An object about to be committed.
pub struct NewObject<'a> {
    /// Target bucket.
    pub bucket_id: i64,
    /// Key.
    pub key: &'a str,
    /// Size.
    pub size: u64,
    /// ETag, quoted.
    pub etag: &'a str,
    /// Owner account.
    pub owner_id: i64,
    /// Standard headers.
    pub headers: &'a ObjectHeaders,
    /// User metadata.
    pub user_metadata: &'a [(String, String)],
    /// Additional checksum.
    pub checksum: Option<(&'a str, &'a str)>,
    /// Explicit ACL grants.
    pub acl: &'a Grants,
    /// The bytes.
    pub body: NewBody,
    /// What the replaced object must be.
    pub condition: WriteCondition,
}

/// An object's row, its owner, and its chunk list as parallel arrays in object order.
const OBJECT_SELECT: &str = "SELECT o.id, o.key, o.size, o.etag, a.canonical_id,
        a.display_name, o.content_type, o.content_encoding, o.content_disposition,
        o.content_language, o.cache_control, o.expires, o.user_metadata, o.checksum_algorithm,
        o.checksum_value, o.inline_data, o.last_modified, o.acl,
        COALESCE(ch.ids, '{}') AS chunk_ids, COALESCE(ch.offsets, '{}') AS chunk_offsets,
        COALESCE(ch.sizes, '{}') AS chunk_sizes, COALESCE(ch.block_sizes, '{}') AS block_sizes,
        COALESCE(ch.block_crcs, '{}') AS block_crcs,
        COALESCE(rep.chunks, '{}') AS replica_chunks, COALESCE(rep.volumes, '{}') AS replica_volumes
     FROM objects o JOIN accounts a ON a.id = o.owner_id
     LEFT JOIN LATERAL (
        SELECT array_agg(oc.chunk_id ORDER BY oc.seq) AS ids,
               array_agg(oc.object_offset ORDER BY oc.seq) AS offsets,
               array_agg(c.size ORDER BY oc.seq) AS sizes,
               array_agg(c.block_size ORDER BY oc.seq) AS block_sizes,
               array_agg(c.block_crcs ORDER BY oc.seq) AS block_crcs
        FROM object_chunks oc JOIN chunks c ON c.id = oc.chunk_id
        WHERE oc.object_id = o.id
     ) ch ON true
     LEFT JOIN LATERAL (
        SELECT array_agg(r.chunk_id) AS chunks, array_agg(r.volume_id) AS volumes
        FROM object_chunks oc JOIN chunk_replicas r ON r.chunk_id = oc.chunk_id
        WHERE oc.object_id = o.id AND r.state = 'ok'
     ) rep ON true";

fn object_from_row(row: &PgRow) -> Result<ObjectMeta, sqlx::Error> {
    let meta: sqlx::types::Json<Vec<(String, String)>> = row.try_get("user_metadata")?;
    let alg: Option<String> = row.try_get("checksum_algorithm")?;
    let val: Option<String> = row.try_get("checksum_value")?;
    Ok(ObjectMeta {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        size: row.try_get::<i64, _>("size")? as u64,
        etag: row.try_get("etag")?,
        owner_canonical_id: row.try_get("canonical_id")?,
        owner_display_name: row.try_get("display_name")?,
        acl: row.try_get::<sqlx::types::Json<Grants>, _>("acl")?.0,
        headers: ObjectHeaders::from_row(row)?,
        user_metadata: meta.0,
        checksum: alg.zip(val),
        inline_data: row.try_get("inline_data")?,
        last_modified: row.try_get("last_modified")?,
        chunks: Vec::new(),
    })
}

/// Reads an object's metadata and chunk list.
///
/// One statement, so one snapshot: the row and its chunk list always belong together,
/// even while the object is being replaced or deleted (two queries could see the row,
/// then no chunks).
pub async fn get_object(
    pool: &PgPool,
    bucket_id: i64,
    key: &str,
) -> Result<Option<ObjectMeta>, Error> {
    let row = sqlx::query(&format!(
        "{OBJECT_SELECT} WHERE o.bucket_id = $1 AND o.key = $2"
    ))
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut obj = object_from_row(&row)?;
    obj.chunks = chunk_refs(obj.id, &row)?;
    Ok(Some(obj))
}

/// The chunk list of an [`OBJECT_SELECT`] row: parallel arrays in object order, and the
/// good copies as (chunk, volume) pairs.
fn chunk_refs(object_id: i64, row: &PgRow) -> Result<Vec<ChunkRef>, Error> {
    let ids: Vec<Uuid> = row.try_get("chunk_ids")?;
    let offsets: Vec<i64> = row.try_get("chunk_offsets")?;
    let sizes: Vec<i64> = row.try_get("chunk_sizes")?;
    let block_sizes: Vec<i32> = row.try_get("block_sizes")?;
    let block_crcs: Vec<Vec<u8>> = row.try_get("block_crcs")?;
    let replica_chunks: Vec<Uuid> = row.try_get("replica_chunks")?;
    let replica_volumes: Vec<Uuid> = row.try_get("replica_volumes")?;
    let n = ids.len();
    if [
        offsets.len(),
        sizes.len(),
        block_sizes.len(),
        block_crcs.len(),
    ] != [n; 4]
        || replica_chunks.len() != replica_volumes.len()
    {
        return Err(Error::Corrupt(format!(
            "object {object_id}: chunk lists of different lengths"
        )));
    }
    let mut replicas: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (chunk, volume) in replica_chunks.into_iter().zip(replica_volumes) {
        replicas.entry(chunk).or_default().push(volume);
    }
    ids.into_iter()
        .zip(offsets)
        .zip(sizes)
        .zip(block_sizes.into_iter().zip(block_crcs))
        .map(|(((id, offset), size), (block_size, crcs))| {
            Ok(ChunkRef {
                chunk_id: id,
                offset: offset as u64,
                size: size as u64,
                blocks: decode_blocks(id, size as u64, block_size, crcs)?,
                replicas: replicas.get(&id).cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// The ETag of the object under `key`, if there is one.
pub async fn object_etag(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    key: &str,
) -> Result<Option<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT etag FROM objects WHERE bucket_id = $1 AND key = $2")
            .bind(bucket_id)
            .bind(key)
            .fetch_optional(db)
            .await?,
    )
}

/// Removes an object row inside `tx`; chunks nothing references any more are released
/// (their files unlinked after `--delete-delay`).
async fn remove_object_row(tx: &mut sqlx::PgConnection, object_id: i64) -> Result<(), Error> {
    let chunk_ids = detach_object_row(tx, object_id).await?;
    release_chunks(tx, &chunk_ids).await
}

/// Removes an object row and its chunk references inside `tx`, returning the chunk ids it
/// referenced (for [`release_chunks`], once the transaction has added any new references).
async fn detach_object_row(
    tx: &mut sqlx::PgConnection,
    object_id: i64,
) -> Result<Vec<Uuid>, Error> {
    let chunk_ids: Vec<Uuid> =
        sqlx::query_scalar("DELETE FROM object_chunks WHERE object_id = $1 RETURNING chunk_id")
            .bind(object_id)
            .fetch_all(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM objects WHERE id = $1")
        .bind(object_id)
        .execute(&mut *tx)
        .await?;
    Ok(chunk_ids)
}

/// What committing an object did.
#[derive(Debug)]
pub struct Committed {
    /// The new object's Last-Modified.
    pub last_modified: OffsetDateTime,
}

/// Commits a new object, replacing any object under the same key, in one transaction.
///
/// Two first writers of a key both find no row to lock; the loser's insert hits
/// `objects_bucket_key_key` and is retried, now finding (and replacing) the winner's row.
///
/// The chunks of a replaced object are released in the same transaction; their files go
/// after `--delete-delay` (see [`super::gc`]).
pub async fn put_object(pool: &PgPool, obj: &NewObject<'_>) -> Result<Committed, Error> {
    const ATTEMPTS: usize = 5;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match put_object_once(pool, obj).await {
            Err(Error::Db(e))
                if attempt < ATTEMPTS && constraint_of(&e) == Some("objects_bucket_key_key") => {}
            other => return other,
        }
    }
}

async fn put_object_once(pool: &PgPool, obj: &NewObject<'_>) -> Result<Committed, Error> {
    let mut tx = pool.begin().await?;
    let committed = put_object_in(&mut tx, obj, &[]).await?;
    tx.commit().await?;
    Ok(committed)
}

/// The body of [`put_object`] inside a caller's transaction (CompleteMultipartUpload
/// also deletes the upload in it), with the parts table of contents of a multipart
/// object. The caller commits.
pub(crate) async fn put_object_in(
    tx: &mut sqlx::PgConnection,
    obj: &NewObject<'_>,
    parts: &[super::multipart::ObjectPart],
) -> Result<Committed, Error> {
    // Lock the old version, if any, so concurrent writers of one key serialise here.
    let old: Option<(i64, String)> =
        sqlx::query_as("SELECT id, etag FROM objects WHERE bucket_id = $1 AND key = $2 FOR UPDATE")
            .bind(obj.bucket_id)
            .bind(obj.key)
            .fetch_optional(&mut *tx)
            .await?;
    check_write_condition(&obj.condition, old.as_ref().map(|(_, etag)| etag.as_str()))?;
    // The old version's chunks are released only at the end: a copy of an object onto
    // itself shares them.
    let detached = match old {
        Some((id, _)) => detach_object_row(&mut *tx, id).await?,
        None => Vec::new(),
    };
    let (inline, chunks): (Option<&[u8]>, &[StoredChunk]) = match &obj.body {
        NewBody::Inline(data) => (Some(data), &[]),
        NewBody::Chunks(c) => (None, c.chunks()),
        NewBody::Shared(_) => (None, &[]),
    };
    if let NewBody::Shared(shared) = &obj.body {
        // Lock the shared chunks against a concurrent release (see `release_chunks`);
        // one that is already gone means the source object was deleted meanwhile.
        let ids: Vec<Uuid> = shared.iter().map(|(id, _)| *id).collect();
        let present: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM chunks WHERE id = ANY($1) ORDER BY id FOR SHARE")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?;
        let present: std::collections::HashSet<Uuid> = present.into_iter().collect();
        if ids.iter().any(|id| !present.contains(id)) {
            return Err(Error::NoSuchObject);
        }
    }
    let (object_id, last_modified): (i64, OffsetDateTime) = sqlx::query_as(
        "INSERT INTO objects (bucket_id, key, size, etag, owner_id, content_type, content_encoding,
            content_disposition, content_language, cache_control, expires, user_metadata,
            checksum_algorithm, checksum_value, inline_data, acl)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING id, last_modified",
    )
    .bind(obj.bucket_id)
    .bind(obj.key)
    .bind(obj.size as i64)
    .bind(obj.etag)
    .bind(obj.owner_id)
    .bind(&obj.headers.content_type)
    .bind(&obj.headers.content_encoding)
    .bind(&obj.headers.content_disposition)
    .bind(&obj.headers.content_language)
    .bind(&obj.headers.cache_control)
    .bind(&obj.headers.expires)
    .bind(sqlx::types::Json(obj.user_metadata))
    .bind(obj.checksum.map(|c| c.0))
    .bind(obj.checksum.map(|c| c.1))
    .bind(inline)
    .bind(sqlx::types::Json(obj.acl))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match constraint_of(&e) {
        // A concurrent first writer of the key won; the bucket also may be gone.
        Some("objects_bucket_id_fkey") => Error::NoSuchBucket,
        _ => Error::Db(e),
    })?;
    if !chunks.is_empty() {
        insert_chunks(&mut *tx, chunks).await?;
        let ids: Vec<Uuid> = chunks.iter().map(|c| c.id).collect();
        let sizes = chunks.iter().map(|c| c.size);
        insert_object_chunks(&mut *tx, object_id, &ids, sizes).await?;
    }
    if let NewBody::Shared(shared) = &obj.body {
        let ids: Vec<Uuid> = shared.iter().map(|(id, _)| *id).collect();
        let sizes = shared.iter().map(|(_, size)| *size);
        insert_object_chunks(&mut *tx, object_id, &ids, sizes).await?;
    }
    if !parts.is_empty() {
        let numbers: Vec<i32> = parts.iter().map(|p| p.part_number).collect();
        let offsets: Vec<i64> = parts.iter().map(|p| p.offset as i64).collect();
        let sizes: Vec<i64> = parts.iter().map(|p| p.size as i64).collect();
        let checksums: Vec<Option<String>> = parts.iter().map(|p| p.checksum.clone()).collect();
        sqlx::query(
            "INSERT INTO object_parts (object_id, part_number, object_offset, size, checksum_value)
             SELECT $1, * FROM UNNEST($2::int4[], $3::int8[], $4::int8[], $5::text[])",
        )
        .bind(object_id)
        .bind(&numbers)
        .bind(&offsets)
        .bind(&sizes)
        .bind(&checksums)
        .execute(&mut *tx)
        .await?;
    }
    release_chunks(&mut *tx, &detached).await?;
    Ok(Committed { last_modified })
}

/// References `ids` (chunks of `sizes` bytes, in object order) from object `object_id`.
async fn insert_object_chunks(
    tx: &mut sqlx::PgConnection,
    object_id: i64,
    ids: &[Uuid],
    sizes: impl Iterator<Item = u64>,
) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i32> = (0..ids.len() as i32).collect();
    let offsets: Vec<i64> = sizes
        .scan(0i64, |next, size| {
            let offset = *next;
            *next += size as i64;
            Some(offset)
        })
        .collect();
    sqlx::query(
        "INSERT INTO object_chunks (object_id, seq, object_offset, chunk_id)
         SELECT $1, * FROM UNNEST($2::int4[], $3::int8[], $4::uuid[])",
    )
    .bind(object_id)
    .bind(&seqs)
    .bind(&offsets)
    .bind(ids)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Checks a write's condition against the ETag of the object it would replace.
pub fn check_write_condition(
    condition: &WriteCondition,
    current: Option<&str>,
) -> Result<(), Error> {
    match (condition, current) {
        (WriteCondition::None, _) | (WriteCondition::IfAbsent, None) => Ok(()),
        (WriteCondition::IfAbsent, Some(_)) => Err(Error::PreconditionFailed("If-None-Match")),
        (WriteCondition::IfMatch(_), None) => Err(Error::NoSuchObject),
        (WriteCondition::IfMatch(list), Some(etag)) if etag_list_matches(list, etag) => Ok(()),
        (WriteCondition::IfMatch(_), Some(_)) => Err(Error::PreconditionFailed("If-Match")),
    }
}

/// Whether an `If-Match`/`If-None-Match` list (comma-separated, quoted or not, `*`)
/// names `etag` (quoted, as stored). Weak validators (`W/"..."`) compare by their tag.
pub fn etag_list_matches(list: &str, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    list.split(',').map(str::trim).any(|candidate| {
        candidate == "*"
            || candidate
                .strip_prefix("W/")
                .unwrap_or(candidate)
                .trim_matches('"')
                == bare
    })
}

/// Deletes objects by key in one transaction; absent keys are not an error (S3 semantics).
/// Their chunks are released (files unlinked after `--delete-delay`).
pub async fn delete_objects(pool: &PgPool, bucket_id: i64, keys: &[String]) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM objects WHERE bucket_id = $1 AND key = ANY($2) ORDER BY id FOR UPDATE",
    )
    .bind(bucket_id)
    .bind(keys)
    .fetch_all(&mut *tx)
    .await?;
    for id in ids {
        remove_object_row(&mut tx, id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One row of a listing.
#[derive(Debug, Clone)]
pub struct ObjectSummary {
    /// Key.
    pub key: String,
    /// Size.
    pub size: u64,
    /// ETag, quoted.
    pub etag: String,
    /// Last-Modified.
    pub last_modified: OffsetDateTime,
    /// Owner's canonical id.
    pub owner_canonical_id: String,
    /// Owner's display name.
    pub owner_display_name: String,
}

/// Keys of `bucket_id` greater than `after` and not below `prefix`, in byte order.
/// The caller stops at the first key that does not start with `prefix`.
pub async fn list_keys_after(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    prefix: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<ObjectSummary>, Error> {
    let rows = sqlx::query(
        "SELECT o.key, o.size, o.etag, o.last_modified, a.canonical_id, a.display_name
         FROM objects o JOIN accounts a ON a.id = o.owner_id
         WHERE o.bucket_id = $1 AND o.key > $2 AND o.key >= $3
         ORDER BY o.key LIMIT $4",
    )
    .bind(bucket_id)
    .bind(after)
    .bind(prefix)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ObjectSummary {
                key: r.try_get(0)?,
                size: r.try_get::<i64, _>(1)? as u64,
                etag: r.try_get(2)?,
                last_modified: r.try_get(3)?,
                owner_canonical_id: r.try_get(4)?,
                owner_display_name: r.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::Db)
}

/// Replaces the grants of object row `object_id` (the version the request was authorized
/// on); `false` when that row is gone (deleted, or replaced by a newer version meanwhile,
/// whose grants are not the caller's to set).
pub async fn set_object_acl(
    db: impl PgExecutor<'_>,
    object_id: i64,
    acl: &Grants,
) -> Result<bool, Error> {
    let done = sqlx::query("UPDATE objects SET acl = $2 WHERE id = $1")
        .bind(object_id)
        .bind(sqlx::types::Json(acl))
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}
