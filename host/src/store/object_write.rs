//! Writing and deleting object versions: the transactions that make a new version of a key
//! current, or remove one, under the bucket's versioning state
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html>).
//!
//! Every writer and deleter of a key first locks the key's current version (`FOR UPDATE`
//! of the row with `is_latest`, or the `UPDATE` of a batch of small writes,
//! [`SmallWrites`]), so they serialise per key and the row ids they write grow
//! in commit order: the newest version is the one with the largest id. When a key has
//! no current version yet (or it was deleted under the lock's wait), two writers can both
//! find nothing and both insert a current version; the unique index `objects_latest_key`
//! refuses the second, which is retried and then finds the winner. A deleter that removes
//! the current version promotes the newest remaining one in its transaction, so a key with
//! versions always has exactly one current version.

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::buckets::Versioning;
use super::chunks::{StoredChunk, insert_chunks, release_chunks};
use super::multipart::ObjectPart;
use super::objects::{NewBody, NewObject, VersionSelector, WriteCondition};
use super::small_writes::SmallWrites;
use super::{Error, constraint_of};

/// The unique index allowing one current version per key.
const LATEST_KEY: &str = "objects_latest_key";

/// How often a write or delete is retried after losing the race for a key's current
/// version (each retry follows another transaction's success on that key).
const ATTEMPTS: usize = 10;

/// Whether `e` is the lost race of two transactions that both found no current version of
/// a key and both inserted one: the loser retries.
pub fn lost_current_version_race(e: &Error) -> bool {
    matches!(e, Error::Db(db) if constraint_of(db) == Some(LATEST_KEY))
}

/// What committing an object did.
#[derive(Debug)]
pub struct Committed {
    /// The new version's Last-Modified.
    pub last_modified: OffsetDateTime,
    /// The new version's id; `None` for the `null` version.
    pub version_id: Option<String>,
}

/// Commits a new version of a key in one transaction. What happens to the key's current
/// version depends on the bucket's versioning: replaced (unversioned), kept as a
/// noncurrent version (enabled), or replaced if it is the `null` version and kept
/// otherwise (suspended, where the new version is the `null` one).
///
/// The chunks of a replaced version are released in the same transaction; their files go
/// after `--delete-delay` (see [`super::gc`]).
///
/// The commonest small write goes through `small_writes` (see [`SmallWrites::put`]),
/// committed together with others made at the same time.
pub async fn put_object(
    pool: &PgPool,
    small_writes: &SmallWrites,
    obj: &NewObject<'_>,
) -> Result<Committed, Error> {
    if let Some(last_modified) = small_writes.put(obj).await? {
        return Ok(Committed {
            last_modified,
            version_id: None,
        });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            let mut tx = pool.begin().await?;
            let committed = put_object_in(&mut tx, obj, &[]).await?;
            tx.commit().await?;
            Ok(committed)
        }
        .await;
        match result {
            Err(e) if attempt < ATTEMPTS && lost_current_version_race(&e) => {}
            other => return other,
        }
    }
}

/// A query of rows of type `O` being bound.
type PgQueryAs<'q, O> = sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>;

/// Binds a new version's columns as `$1`..`$20`: the bucket and key, then the values of
/// the other columns a new row gets, in the order of `put_small_objects`'s arguments
/// (`migrations/0016_small_writes.sql`) (`data`: the inline bytes, `None` for a body in
/// chunks). Every write of an object row binds them so, so none can be left out of one.
fn bind_columns<'q, O>(
    query: PgQueryAs<'q, O>,
    obj: &'q NewObject<'_>,
    data: Option<&'q [u8]>,
) -> PgQueryAs<'q, O> {
    query
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
        .bind(data)
        .bind(sqlx::types::Json(obj.acl))
        .bind(sqlx::types::Json(obj.tags))
        .bind(obj.retention.map(|r| r.mode.as_str()))
        .bind(obj.retention.map(|r| r.retain_until))
        .bind(obj.legal_hold)
}

/// The body of [`put_object`] inside a caller's transaction (CompleteMultipartUpload
/// also deletes the upload in it), with the parts table of contents of a multipart
/// object. The caller commits (and retries on [`lost_current_version_race`]).
pub(crate) async fn put_object_in(
    tx: &mut sqlx::PgConnection,
    obj: &NewObject<'_>,
    parts: &[ObjectPart],
) -> Result<Committed, Error> {
    let current = lock_current(tx, obj.bucket_id, obj.key).await?;
    let current_etag = current
        .as_ref()
        .filter(|c| !c.delete_marker)
        .map(|c| c.etag.as_str());
    check_write_condition(&obj.condition, current_etag)?;
    // The replaced version's chunks are released only at the end: a copy of an object
    // onto itself shares them.
    let detached =
        retire_current(tx, obj.bucket_id, obj.key, current.as_ref(), obj.versioning).await?;
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
    let (object_id, last_modified, version_id): (i64, OffsetDateTime, Option<String>) =
        bind_columns(
            sqlx::query_as(
                "WITH n AS (SELECT nextval('objects_id_seq') AS id)
                 INSERT INTO objects (id, version_id, bucket_id, key, size, etag, owner_id,
                    content_type, content_encoding, content_disposition, content_language,
                    cache_control, expires, user_metadata, checksum_algorithm, checksum_value,
                    inline_data, acl, tags, retention_mode, retain_until, legal_hold)
                 SELECT n.id, CASE WHEN $21 THEN lpad(to_hex(n.id), 16, '0') || $22 END,
                    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                    $17, $18, $19, $20
                 FROM n
                 RETURNING id, last_modified, version_id",
            ),
            obj,
            inline,
        )
        .bind(obj.versioning == Versioning::Enabled)
        .bind(version_suffix())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match constraint_of(&e) {
            // The bucket was deleted meanwhile.
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
    Ok(Committed {
        last_modified,
        version_id,
    })
}

/// The random half of a new version id (the other half is the row id, see
/// `migrations/0009_versioning.sql`): it keeps ids unguessable from one another.
fn version_suffix() -> String {
    let mut hex = Uuid::new_v4().simple().to_string();
    hex.truncate(16);
    hex
}

/// A key's current version, locked.
struct Current {
    id: i64,
    etag: String,
    version_id: Option<String>,
    delete_marker: bool,
}

/// Locks the current version of `key` (see the module documentation).
async fn lock_current(
    tx: &mut sqlx::PgConnection,
    bucket_id: i64,
    key: &str,
) -> Result<Option<Current>, Error> {
    let row: Option<(i64, String, Option<String>, bool)> = sqlx::query_as(
        "SELECT id, etag, version_id, delete_marker FROM objects
         WHERE bucket_id = $1 AND key = $2 AND is_latest FOR UPDATE",
    )
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(|(id, etag, version_id, delete_marker)| Current {
        id,
        etag,
        version_id,
        delete_marker,
    }))
}

/// Makes room for a new current version of `key`: the `null` version is replaced unless
/// versioning is enabled (wherever it is in the history when suspended), any other current
/// version stays as a noncurrent one. Returns the chunk ids the removed rows referenced,
/// for [`release_chunks`] once the new version's references exist.
async fn retire_current(
    tx: &mut sqlx::PgConnection,
    bucket_id: i64,
    key: &str,
    current: Option<&Current>,
    versioning: Versioning,
) -> Result<Vec<Uuid>, Error> {
    let mut detached = Vec::new();
    if let Some(current) = current {
        if current.version_id.is_none() && versioning != Versioning::Enabled {
            detached = detach_object_row(tx, current.id).await?;
        } else {
            sqlx::query("UPDATE objects SET is_latest = false WHERE id = $1")
                .bind(current.id)
                .execute(&mut *tx)
                .await?;
        }
    }
    if versioning == Versioning::Suspended {
        let noncurrent_null: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM objects
             WHERE bucket_id = $1 AND key = $2 AND version_id IS NULL AND NOT is_latest
             FOR UPDATE",
        )
        .bind(bucket_id)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = noncurrent_null {
            detached.extend(detach_object_row(tx, id).await?);
        }
    }
    Ok(detached)
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

/// Checks a write's condition against the ETag of the object it would replace (`None`:
/// no current version, or a delete marker).
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

/// What a delete did, as S3 reports it (`x-amz-version-id`, `x-amz-delete-marker`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The version removed or the delete marker created; `None` for the `null` version.
    pub version_id: Option<String>,
    /// Whether that version is a delete marker.
    pub delete_marker: bool,
}

/// Deletes what `version` selects of `key`, in one transaction.
///
/// Without a version id: unversioned, the object goes; versioning enabled, a delete
/// marker with a new version id becomes current (whether or not the key had a version);
/// suspended, a `null` delete marker becomes current, replacing the `null` version. With
/// a version id (`null` included), that version goes for good, and if it was current the
/// newest remaining version becomes current. A version that does not exist is not an
/// error (S3 semantics): the answer repeats the id asked for.
///
/// Object lock: a version under a legal hold, or retained until a date not yet past, is
/// never removed ([`Error::ObjectLocked`]), whoever asks; `GOVERNANCE` retention yields to
/// `bypass_governance` (the caller checked the permission). Adding a delete marker
/// removes nothing and is always allowed.
pub async fn delete_object(
    pool: &PgPool,
    bucket_id: i64,
    key: &str,
    version: &VersionSelector,
    versioning: Versioning,
    requester_id: i64,
    bypass_governance: bool,
) -> Result<Deleted, Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            let mut tx = pool.begin().await?;
            let deleted = match version {
                VersionSelector::Latest => {
                    delete_current(&mut tx, bucket_id, key, versioning, requester_id).await?
                }
                _ => delete_version(&mut tx, bucket_id, key, version, bypass_governance).await?,
            };
            tx.commit().await?;
            Ok(deleted)
        }
        .await;
        match result {
            Err(e) if attempt < ATTEMPTS && lost_current_version_race(&e) => {}
            other => return other,
        }
    }
}

/// A delete without a version id (see [`delete_object`]).
async fn delete_current(
    tx: &mut sqlx::PgConnection,
    bucket_id: i64,
    key: &str,
    versioning: Versioning,
    requester_id: i64,
) -> Result<Deleted, Error> {
    let current = lock_current(tx, bucket_id, key).await?;
    let detached = retire_current(tx, bucket_id, key, current.as_ref(), versioning).await?;
    let deleted = if versioning == Versioning::Unversioned {
        Deleted {
            version_id: None,
            delete_marker: false,
        }
    } else {
        let version_id: Option<String> = sqlx::query_scalar(
            "WITH n AS (SELECT nextval('objects_id_seq') AS id)
             INSERT INTO objects (id, version_id, bucket_id, key, size, etag, owner_id,
                delete_marker)
             SELECT n.id, CASE WHEN $4 THEN lpad(to_hex(n.id), 16, '0') || $5 END,
                $1, $2, 0, '', $3, true
             FROM n
             RETURNING version_id",
        )
        .bind(bucket_id)
        .bind(key)
        .bind(requester_id)
        .bind(versioning == Versioning::Enabled)
        .bind(version_suffix())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match constraint_of(&e) {
            Some("objects_bucket_id_fkey") => Error::NoSuchBucket,
            _ => Error::Db(e),
        })?;
        Deleted {
            version_id,
            delete_marker: true,
        }
    };
    release_chunks(&mut *tx, &detached).await?;
    Ok(deleted)
}

/// A delete of one version by id (see [`delete_object`]).
async fn delete_version(
    tx: &mut sqlx::PgConnection,
    bucket_id: i64,
    key: &str,
    version: &VersionSelector,
    bypass_governance: bool,
) -> Result<Deleted, Error> {
    let selected = match version {
        VersionSelector::Id { .. } => "id = $4 AND version_id = $5",
        _ => "version_id IS NULL",
    };
    // The database's clock decides whether a retention date has passed, one clock for
    // every process.
    let sql = format!(
        "SELECT id, is_latest, delete_marker,
                legal_hold OR COALESCE(retain_until > now()
                    AND (retention_mode = 'COMPLIANCE' OR NOT $3), false) AS locked
         FROM objects
         WHERE bucket_id = $1 AND key = $2 AND {selected} FOR UPDATE"
    );
    let mut query = sqlx::query_as(&sql)
        .bind(bucket_id)
        .bind(key)
        .bind(bypass_governance);
    let mut id = None;
    if let VersionSelector::Id {
        id: version_id,
        row,
    } = version
    {
        query = query.bind(*row).bind(version_id.as_str());
        id = Some(version_id);
    }
    let found: Option<(i64, bool, bool, bool)> = query.fetch_optional(&mut *tx).await?;
    let Some((object_id, was_latest, delete_marker, locked)) = found else {
        return Ok(Deleted {
            version_id: id.cloned(),
            delete_marker: false,
        });
    };
    if locked {
        return Err(Error::ObjectLocked);
    }
    let detached = detach_object_row(tx, object_id).await?;
    if was_latest {
        promote_newest(tx, bucket_id, key).await?;
    }
    release_chunks(&mut *tx, &detached).await?;
    Ok(Deleted {
        version_id: id.cloned(),
        delete_marker,
    })
}

/// Makes the newest version of `key` current, after its current version was removed. A
/// concurrent delete of that newest version (which has it locked) is waited for, and then
/// the next newest is taken.
async fn promote_newest(
    tx: &mut sqlx::PgConnection,
    bucket_id: i64,
    key: &str,
) -> Result<(), Error> {
    loop {
        let newest: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM objects WHERE bucket_id = $1 AND key = $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(bucket_id)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(newest) = newest else {
            return Ok(());
        };
        let done = sqlx::query("UPDATE objects SET is_latest = true WHERE id = $1")
            .bind(newest)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
    }
}

/// Deletes the objects of an unversioned bucket by key in one transaction; absent keys
/// are not an error (S3 semantics). Their chunks are released (files unlinked after
/// `--delete-delay`).
pub async fn delete_unversioned(
    pool: &PgPool,
    bucket_id: i64,
    keys: &[String],
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM objects WHERE bucket_id = $1 AND key = ANY($2) ORDER BY key FOR UPDATE",
    )
    .bind(bucket_id)
    .bind(keys)
    .fetch_all(&mut *tx)
    .await?;
    let mut detached = Vec::new();
    for id in ids {
        detached.extend(detach_object_row(&mut tx, id).await?);
    }
    release_chunks(&mut tx, &detached).await?;
    tx.commit().await?;
    Ok(())
}

// Lifecycle expirations (`s3::lifecycle_worker`). Each is conditional on the row the
// worker judged still being in the state it was judged in, checked under the same locks
// the writers and deleters above take, so a rule applied twice (two processes, or a
// client's change between the worker's read and its action) acts at most once.

/// Expires the current version of `key` as a lifecycle `Expiration` does, if it is
/// still row `expected_row_id` and not a delete marker: unversioned, the object is
/// removed; versioning enabled or suspended, a delete marker owned by `owner_id` (the
/// bucket owner) becomes current, exactly as [`delete_object`] without a version id.
/// `Ok(false)` when the key moved on (overwritten, deleted, already expired).
///
/// A `null` version that would be removed (unversioned or suspended) and is under a
/// legal hold or unexpired retention is [`Error::ObjectLocked`]: lifecycle never bypasses
/// object lock. (Object lock needs versioning enabled, so this only guards data written
/// before a bucket's versioning changed.)
pub async fn expire_current_version(
    pool: &PgPool,
    bucket_id: i64,
    key: &str,
    expected_row_id: i64,
    versioning: Versioning,
    owner_id: i64,
) -> Result<bool, Error> {
    let mut tx = pool.begin().await?;
    let current = lock_current(&mut tx, bucket_id, key).await?;
    let Some(current) = current.filter(|c| c.id == expected_row_id && !c.delete_marker) else {
        return Ok(false);
    };
    if current.version_id.is_none() && versioning != Versioning::Enabled {
        let locked: bool = sqlx::query_scalar(
            "SELECT legal_hold OR COALESCE(retain_until > now(), false) FROM objects WHERE id = $1",
        )
        .bind(current.id)
        .fetch_one(&mut *tx)
        .await?;
        if locked {
            return Err(Error::ObjectLocked);
        }
    }
    // Locks the same row again (already ours) and proceeds as a client's delete.
    delete_current(&mut tx, bucket_id, key, versioning, owner_id).await?;
    tx.commit().await?;
    Ok(true)
}

/// Removes noncurrent version row `row_id` of `key` for good (`NoncurrentVersionExpiration`),
/// if it is still there and still noncurrent: a version promoted to current meanwhile (its
/// newer versions were deleted) is left alone, `Ok(false)`. A version under a legal hold or
/// unexpired retention, of either mode, is [`Error::ObjectLocked`].
pub async fn expire_noncurrent_version(
    pool: &PgPool,
    bucket_id: i64,
    key: &str,
    row_id: i64,
) -> Result<bool, Error> {
    let mut tx = pool.begin().await?;
    let found: Option<(bool, bool)> = sqlx::query_as(
        "SELECT is_latest, legal_hold OR COALESCE(retain_until > now(), false)
         FROM objects WHERE id = $1 AND bucket_id = $2 AND key = $3 FOR UPDATE",
    )
    .bind(row_id)
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    match found {
        None | Some((true, _)) => return Ok(false),
        Some((false, true)) => return Err(Error::ObjectLocked),
        Some((false, false)) => {}
    }
    let detached = detach_object_row(&mut tx, row_id).await?;
    release_chunks(&mut tx, &detached).await?;
    tx.commit().await?;
    Ok(true)
}

/// Removes an expired object delete marker: row `row_id`, if it is still the current
/// version of `key`, a delete marker, and the key's only version. `Ok(false)` otherwise
/// (a new version was written, or versions reappeared). Writers of the key lock its
/// current version first, so none can slip a version in while this runs.
pub async fn remove_expired_delete_marker(
    pool: &PgPool,
    bucket_id: i64,
    key: &str,
    row_id: i64,
) -> Result<bool, Error> {
    let mut tx = pool.begin().await?;
    let current = lock_current(&mut tx, bucket_id, key).await?;
    if !current.is_some_and(|c| c.id == row_id && c.delete_marker) {
        return Ok(false);
    }
    let others: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM objects WHERE bucket_id = $1 AND key = $2 AND id <> $3)",
    )
    .bind(bucket_id)
    .bind(key)
    .bind(row_id)
    .fetch_one(&mut *tx)
    .await?;
    if others {
        return Ok(false);
    }
    detach_object_row(&mut tx, row_id).await?;
    tx.commit().await?;
    Ok(true)
}
