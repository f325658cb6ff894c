//! Multipart uploads in PostgreSQL (schema: `migrations/0003_multipart.sql`).
//!
//! A part is chunk files like an object; its rows (`multipart_parts`, `part_chunks`) keep
//! the chunks alive. Completing an upload creates the object row, points its
//! `object_chunks` at the chosen parts' chunks and deletes the upload, in one
//! transaction: no byte is copied, and the object appears whole or not at all. Every
//! operation on an upload locks its row (`FOR SHARE` to add a part, `FOR UPDATE` to
//! complete or abort), so a part cannot land in an upload that is being completed.

use sqlx::{PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Error;
use super::buckets::Versioning;
use super::chunks::{self, StoredChunk, release_chunks};
use super::object_write;
use super::objects::{self, NewBody, NewObject, ObjectHeaders, WriteCondition};
use crate::acl::Grants;
use crate::retention::ObjectRetention;
use crate::tags::{Tag, TagSet};

/// An upload in progress.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Row id.
    pub id: i64,
    /// The id clients use.
    pub upload_id: String,
    /// Bucket row id.
    pub bucket_id: i64,
    /// Object key.
    pub key: String,
    /// Owner of the object to be.
    pub owner_id: i64,
    /// Owner's canonical id and display name.
    pub owner_canonical_id: String,
    /// Owner's display name.
    pub owner_display_name: String,
    /// The initiating account, `None` if anonymous.
    pub initiator_id: Option<i64>,
    /// Headers to store with the object.
    pub headers: ObjectHeaders,
    /// User metadata to store with the object.
    pub user_metadata: Vec<(String, String)>,
    /// ACL of the object to be.
    pub acl: Grants,
    /// Checksum algorithm every part carries, if any.
    pub checksum_algorithm: Option<String>,
    /// `COMPOSITE` or `FULL_OBJECT`, with an algorithm.
    pub checksum_type: Option<String>,
    /// Initiation time.
    pub created_at: OffsetDateTime,
    /// Tags of the object to be.
    pub tags: TagSet,
    /// Retention of the object to be (object lock).
    pub retention: Option<ObjectRetention>,
    /// Legal hold of the object to be.
    pub legal_hold: bool,
}

/// What CreateMultipartUpload stores.
pub struct NewUpload<'a> {
    /// Bucket row id.
    pub bucket_id: i64,
    /// Object key.
    pub key: &'a str,
    /// Owner of the object to be.
    pub owner_id: i64,
    /// The initiating account.
    pub initiator_id: Option<i64>,
    /// Headers to store with the object.
    pub headers: &'a ObjectHeaders,
    /// User metadata.
    pub user_metadata: &'a [(String, String)],
    /// ACL of the object to be.
    pub acl: &'a Grants,
    /// Checksum algorithm (`CRC32`, ...).
    pub checksum_algorithm: Option<&'a str>,
    /// `COMPOSITE` or `FULL_OBJECT`.
    pub checksum_type: Option<&'a str>,
    /// Tags of the object to be.
    pub tags: &'a [Tag],
    /// Retention of the object to be.
    pub retention: Option<ObjectRetention>,
    /// Legal hold of the object to be.
    pub legal_hold: bool,
}

/// One uploaded part.
#[derive(Debug, Clone)]
pub struct Part {
    /// 1..=10000.
    pub part_number: i32,
    /// Bytes.
    pub size: u64,
    /// Quoted MD5.
    pub etag: String,
    /// Base64 checksum, when the upload has an algorithm.
    pub checksum: Option<String>,
    /// Upload time.
    pub last_modified: OffsetDateTime,
}

/// A part of a completed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPart {
    /// 1..=10000 (as uploaded: completed objects may skip numbers).
    pub part_number: i32,
    /// Offset of its first byte in the object.
    pub offset: u64,
    /// Bytes.
    pub size: u64,
    /// Base64 checksum, if any.
    pub checksum: Option<String>,
}

const UPLOAD_SELECT: &str = "SELECT u.id, u.upload_id, u.bucket_id, u.key, u.owner_id,
        a.canonical_id, a.display_name, u.initiator_id, u.content_type, u.content_encoding,
        u.content_disposition, u.content_language, u.cache_control, u.expires,
        u.user_metadata, u.acl, u.checksum_algorithm, u.checksum_type, u.created_at,
        u.tags, u.retention_mode, u.retain_until, u.legal_hold
     FROM multipart_uploads u JOIN accounts a ON a.id = u.owner_id";

fn upload_from_row(row: &sqlx::postgres::PgRow) -> Result<Upload, sqlx::Error> {
    Ok(Upload {
        id: row.try_get("id")?,
        upload_id: row.try_get("upload_id")?,
        bucket_id: row.try_get("bucket_id")?,
        key: row.try_get("key")?,
        owner_id: row.try_get("owner_id")?,
        owner_canonical_id: row.try_get("canonical_id")?,
        owner_display_name: row.try_get("display_name")?,
        initiator_id: row.try_get("initiator_id")?,
        headers: ObjectHeaders::from_row(row)?,
        user_metadata: row
            .try_get::<sqlx::types::Json<Vec<(String, String)>>, _>("user_metadata")?
            .0,
        acl: row.try_get::<sqlx::types::Json<Grants>, _>("acl")?.0,
        checksum_algorithm: row.try_get("checksum_algorithm")?,
        checksum_type: row.try_get("checksum_type")?,
        created_at: row.try_get("created_at")?,
        tags: row.try_get::<sqlx::types::Json<TagSet>, _>("tags")?.0,
        retention: objects::retention_from_row(row)?,
        legal_hold: row.try_get("legal_hold")?,
    })
}

/// Starts an upload; returns its id (random, 32 hex digits of a v4 uuid without
/// dashes, plus the row id so ids never collide).
pub async fn create_upload(pool: &PgPool, u: NewUpload<'_>) -> Result<String, Error> {
    let upload_id = Uuid::new_v4().simple().to_string();
    sqlx::query(
        "INSERT INTO multipart_uploads (upload_id, bucket_id, key, owner_id, initiator_id,
            content_type, content_encoding, content_disposition, content_language,
            cache_control, expires, user_metadata, acl, checksum_algorithm, checksum_type,
            tags, retention_mode, retain_until, legal_hold)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, $19)",
    )
    .bind(&upload_id)
    .bind(u.bucket_id)
    .bind(u.key)
    .bind(u.owner_id)
    .bind(u.initiator_id)
    .bind(&u.headers.content_type)
    .bind(&u.headers.content_encoding)
    .bind(&u.headers.content_disposition)
    .bind(&u.headers.content_language)
    .bind(&u.headers.cache_control)
    .bind(&u.headers.expires)
    .bind(sqlx::types::Json(u.user_metadata))
    .bind(sqlx::types::Json(u.acl))
    .bind(u.checksum_algorithm)
    .bind(u.checksum_type)
    .bind(sqlx::types::Json(u.tags))
    .bind(u.retention.map(|r| r.mode.as_str()))
    .bind(u.retention.map(|r| r.retain_until))
    .bind(u.legal_hold)
    .execute(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db)
            if db.constraint() == Some("multipart_uploads_bucket_id_fkey") =>
        {
            Error::NoSuchBucket
        }
        _ => Error::Db(e),
    })?;
    Ok(upload_id)
}

/// The upload `upload_id` of `bucket_id`/`key`; [`Error::NoSuchUpload`] if there is none
/// (also when the id belongs to another bucket or key).
pub async fn get_upload(
    db: impl sqlx::PgExecutor<'_>,
    bucket_id: i64,
    key: &str,
    upload_id: &str,
) -> Result<Upload, Error> {
    let row = sqlx::query(&format!(
        "{UPLOAD_SELECT} WHERE u.upload_id = $1 AND u.bucket_id = $2 AND u.key = $3"
    ))
    .bind(upload_id)
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(db)
    .await?;
    match row {
        Some(row) => Ok(upload_from_row(&row)?),
        None => Err(Error::NoSuchUpload),
    }
}

/// Locks the upload row (`FOR SHARE` or `FOR UPDATE`) inside a transaction.
async fn lock_upload(tx: &mut sqlx::PgConnection, id: i64, exclusive: bool) -> Result<(), Error> {
    let sql = if exclusive {
        "SELECT id FROM multipart_uploads WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT id FROM multipart_uploads WHERE id = $1 FOR SHARE"
    };
    let found: Option<i64> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    found.map(drop).ok_or(Error::NoSuchUpload)
}

/// Stores part `part.part_number` of upload `upload` (replacing an earlier upload of the
/// same number) made of the newly written `chunks`; the replaced part's chunks are
/// released.
pub async fn put_part(
    pool: &PgPool,
    upload: i64,
    part_number: i32,
    size: u64,
    etag: &str,
    checksum: Option<&str>,
    chunks: &[StoredChunk],
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    lock_upload(&mut tx, upload, false).await?;
    let old: Vec<Uuid> = sqlx::query_scalar(
        "DELETE FROM part_chunks WHERE upload_id = $1 AND part_number = $2 RETURNING chunk_id",
    )
    .bind(upload)
    .bind(part_number)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM multipart_parts WHERE upload_id = $1 AND part_number = $2")
        .bind(upload)
        .bind(part_number)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO multipart_parts (upload_id, part_number, size, etag, checksum_value)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(upload)
    .bind(part_number)
    .bind(size as i64)
    .bind(etag)
    .bind(checksum)
    .execute(&mut *tx)
    .await?;
    if !chunks.is_empty() {
        chunks::insert_chunks(&mut tx, chunks).await?;
        let ids: Vec<Uuid> = chunks.iter().map(|c| c.id).collect();
        let seqs: Vec<i32> = (0..chunks.len() as i32).collect();
        sqlx::query(
            "INSERT INTO part_chunks (upload_id, part_number, seq, chunk_id)
             SELECT $1, $2, * FROM UNNEST($3::int4[], $4::uuid[])",
        )
        .bind(upload)
        .bind(part_number)
        .bind(&seqs)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    }
    release_chunks(&mut tx, &old).await?;
    tx.commit().await?;
    Ok(())
}

/// Parts of an upload with numbers above `after`, in order, at most `limit`.
pub async fn list_parts(
    db: impl sqlx::PgExecutor<'_>,
    upload: i64,
    after: i32,
    limit: i64,
) -> Result<Vec<Part>, Error> {
    let rows = sqlx::query(
        "SELECT part_number, size, etag, checksum_value, last_modified FROM multipart_parts
         WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3",
    )
    .bind(upload)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Part {
                part_number: r.try_get("part_number")?,
                size: r.try_get::<i64, _>("size")? as u64,
                etag: r.try_get("etag")?,
                checksum: r.try_get("checksum_value")?,
                last_modified: r.try_get("last_modified")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// One upload in a listing.
#[derive(Debug, Clone)]
pub struct UploadSummary {
    /// Object key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Owner canonical id and display name.
    pub owner: (String, String),
    /// Initiator canonical id and display name (the owner's for anonymous uploads).
    pub initiator: (String, String),
    /// Initiation time.
    pub created_at: OffsetDateTime,
}

/// Uploads of a bucket whose key starts with `prefix`, in (key, initiation) order,
/// starting after (`key_marker`, `upload_id_marker`) as ListMultipartUploads defines it:
/// with an upload-id marker, later uploads of the marker key are included; without, the
/// listing resumes at the next key. At most `limit`.
pub async fn list_uploads(
    db: impl sqlx::PgExecutor<'_>,
    bucket_id: i64,
    prefix: &str,
    key_marker: &str,
    upload_id_marker: Option<&str>,
    limit: i64,
) -> Result<Vec<UploadSummary>, Error> {
    let rows = sqlx::query(
        "SELECT u.key, u.upload_id, u.created_at, o.canonical_id AS owner_id,
                o.display_name AS owner_name,
                COALESCE(i.canonical_id, o.canonical_id) AS initiator_id,
                COALESCE(i.display_name, o.display_name) AS initiator_name
         FROM multipart_uploads u
         JOIN accounts o ON o.id = u.owner_id
         LEFT JOIN accounts i ON i.id = u.initiator_id
         WHERE u.bucket_id = $1
           AND starts_with(u.key, $2)
           AND (u.key > $3
                OR ($4::text IS NOT NULL AND u.key = $3 AND (u.created_at, u.id) >
                    (SELECT m.created_at, m.id FROM multipart_uploads m
                     WHERE m.upload_id = $4 AND m.bucket_id = $1)))
         ORDER BY u.key, u.created_at, u.id
         LIMIT $5",
    )
    .bind(bucket_id)
    .bind(prefix)
    .bind(key_marker)
    .bind(upload_id_marker)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(UploadSummary {
                key: r.try_get("key")?,
                upload_id: r.try_get("upload_id")?,
                owner: (r.try_get("owner_id")?, r.try_get("owner_name")?),
                initiator: (r.try_get("initiator_id")?, r.try_get("initiator_name")?),
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// Aborts an upload: its parts go, and their chunks with them.
pub async fn abort_upload(pool: &PgPool, upload: i64) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    lock_upload(&mut tx, upload, true).await?;
    delete_upload(&mut tx, upload).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an upload row, its parts and their chunk references inside `tx`, releasing
/// the chunks nothing references any more.
async fn delete_upload(tx: &mut sqlx::PgConnection, upload: i64) -> Result<(), Error> {
    let chunks: Vec<Uuid> =
        sqlx::query_scalar("DELETE FROM part_chunks WHERE upload_id = $1 RETURNING chunk_id")
            .bind(upload)
            .fetch_all(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM multipart_uploads WHERE id = $1")
        .bind(upload)
        .execute(&mut *tx)
        .await?;
    release_chunks(tx, &chunks).await
}

/// Aborts every upload of a bucket (when the bucket is deleted) inside `tx`.
pub async fn delete_bucket_uploads(
    tx: &mut sqlx::PgConnection,
    bucket_id: i64,
) -> Result<(), Error> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM multipart_uploads WHERE bucket_id = $1 ORDER BY id FOR UPDATE",
    )
    .bind(bucket_id)
    .fetch_all(&mut *tx)
    .await?;
    for id in ids {
        delete_upload(tx, id).await?;
    }
    Ok(())
}

/// Uploads initiated before `cutoff`, oldest first, at most `limit`: (row id, bucket id,
/// key, upload id).
pub async fn stale_uploads(
    db: impl sqlx::PgExecutor<'_>,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<Vec<(i64, String)>, Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, upload_id FROM multipart_uploads WHERE created_at < $1
         ORDER BY created_at LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// A part as CompleteMultipartUpload lists it.
#[derive(Debug, Clone)]
pub struct ChosenPart {
    /// Part number.
    pub part_number: i32,
    /// The ETag the client has for it.
    pub etag: String,
    /// The checksum the client has for it, if it sent one.
    pub checksum: Option<String>,
}

/// Why the parts a Complete names do not make an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompleteError {
    /// A named part was not uploaded, or its ETag differs.
    InvalidPart(i32),
    /// The checksum the Complete request states is not the object's composite checksum.
    BadChecksum,
    /// A part other than the last is smaller than the minimum part size.
    TooSmall {
        /// The part.
        part_number: i32,
        /// Its size.
        size: u64,
    },
}

/// What completing produced.
#[derive(Debug)]
pub struct Completed {
    /// Quoted `"<md5 of the parts' md5s>-<count>"`.
    pub etag: String,
    /// The composite checksum (algorithm, `"<base64>-<count>"`), when there is one.
    pub checksum: Option<(String, String)>,
    /// Object size.
    pub size: u64,
    /// The commit (Last-Modified).
    pub committed: object_write::Committed,
}

/// Completes `upload` with `chosen` (ascending part numbers, checked by the caller) into
/// an object, in one transaction: the parts are checked (they exist, ETags match, all but
/// the last at least `min_part_size`), the object row is written with the parts' chunks
/// in order and the parts' table of contents, the upload is deleted, and the chunks of
/// parts not chosen are released. `etag_of` turns the parts' MD5s into the object ETag.
#[allow(clippy::too_many_arguments)]
pub async fn complete_upload(
    pool: &PgPool,
    upload: &Upload,
    chosen: &[ChosenPart],
    min_part_size: u64,
    condition: WriteCondition,
    versioning: Versioning,
    etag_of: impl Fn(&[Part]) -> Option<String>,
    checksum_of: impl Fn(&[Part]) -> Option<String>,
    stated_checksum: Option<&str>,
) -> Result<Result<Completed, CompleteError>, Error> {
    let mut tx = pool.begin().await?;
    lock_upload(&mut tx, upload.id, true).await?;
    let parts = list_parts(&mut *tx, upload.id, 0, 10_001).await?;
    let mut selected = Vec::with_capacity(chosen.len());
    for c in chosen {
        let found = parts
            .binary_search_by_key(&c.part_number, |p| p.part_number)
            .ok()
            .map(|i| &parts[i])
            .filter(|p| p.etag.trim_matches('"') == c.etag.trim().trim_matches('"'))
            // A checksum the client lists must be the one the part was stored with.
            .filter(|p| match (&c.checksum, &p.checksum) {
                (Some(listed), Some(stored)) => listed == stored,
                _ => true,
            });
        match found {
            Some(p) => selected.push(p.clone()),
            None => return Ok(Err(CompleteError::InvalidPart(c.part_number))),
        }
    }
    if let Some((_, rest)) = selected.split_last()
        && let Some(small) = rest.iter().find(|p| p.size < min_part_size)
    {
        return Ok(Err(CompleteError::TooSmall {
            part_number: small.part_number,
            size: small.size,
        }));
    }
    let Some(etag) = etag_of(&selected) else {
        return Ok(Err(CompleteError::InvalidPart(
            selected.first().map_or(0, |p| p.part_number),
        )));
    };
    // The upload's algorithm over the parts' checksums, when every part has one.
    let checksum_value = upload
        .checksum_algorithm
        .as_ref()
        .and_then(|_| checksum_of(&selected));
    // A checksum the client states must be the object's (a composite with or without
    // its "-N").
    let base = |v: &str| v.split('-').next().unwrap_or(v).to_string();
    if let (Some(stated), Some(computed)) = (stated_checksum, checksum_value.as_deref())
        && base(stated) != base(computed)
    {
        return Ok(Err(CompleteError::BadChecksum));
    }
    let checksum = upload
        .checksum_algorithm
        .as_deref()
        .zip(checksum_value.as_deref());
    let numbers: Vec<i32> = selected.iter().map(|p| p.part_number).collect();
    // The chosen parts' chunks, in part then sequence order.
    let rows = sqlx::query(
        "SELECT pc.chunk_id, c.size FROM part_chunks pc
         JOIN chunks c ON c.id = pc.chunk_id
         JOIN UNNEST($2::int4[]) WITH ORDINALITY AS chosen(part_number, ord)
           ON chosen.part_number = pc.part_number
         WHERE pc.upload_id = $1
         ORDER BY chosen.ord, pc.seq",
    )
    .bind(upload.id)
    .bind(&numbers)
    .fetch_all(&mut *tx)
    .await?;
    let chunks = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? as u64)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let size: u64 = selected.iter().map(|p| p.size).sum();
    let object_parts: Vec<ObjectPart> = selected
        .iter()
        .scan(0u64, |offset, p| {
            let part = ObjectPart {
                part_number: p.part_number,
                offset: *offset,
                size: p.size,
                checksum: p.checksum.clone(),
            };
            *offset += p.size;
            Some(part)
        })
        .collect();
    // The part rows go first (their chunk references with them), so the object's
    // references are the only ones left on the chosen chunks.
    let part_chunk_ids: Vec<Uuid> =
        sqlx::query_scalar("DELETE FROM part_chunks WHERE upload_id = $1 RETURNING chunk_id")
            .bind(upload.id)
            .fetch_all(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM multipart_uploads WHERE id = $1")
        .bind(upload.id)
        .execute(&mut *tx)
        .await?;
    let committed = object_write::put_object_in(
        &mut tx,
        &NewObject {
            bucket_id: upload.bucket_id,
            key: &upload.key,
            size,
            etag: &etag,
            owner_id: upload.owner_id,
            headers: &upload.headers,
            user_metadata: &upload.user_metadata,
            checksum,
            acl: &upload.acl,
            body: NewBody::Shared(chunks),
            condition,
            versioning,
            tags: &upload.tags,
            retention: upload.retention,
            legal_hold: upload.legal_hold,
        },
        &object_parts,
    )
    .await?;
    release_chunks(&mut tx, &part_chunk_ids).await?;
    sqlx::query(
        "INSERT INTO completed_uploads (upload_id, bucket_id, key, etag, checksum_algorithm,
            checksum_value, version_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&upload.upload_id)
    .bind(upload.bucket_id)
    .bind(&upload.key)
    .bind(&etag)
    .bind(&upload.checksum_algorithm)
    .bind(&checksum_value)
    .bind(&committed.version_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(Completed {
        etag,
        checksum: upload.checksum_algorithm.clone().zip(checksum_value),
        size,
        committed,
    }))
}

/// The answer a completed upload gave: its ETag, checksum and version.
#[derive(Debug, Clone)]
pub struct CompletedRecord {
    /// Quoted ETag.
    pub etag: String,
    /// (algorithm, value), when the object has a checksum.
    pub checksum: Option<(String, String)>,
    /// The version it became (`None`: the null version).
    pub version_id: Option<String>,
}

/// What completing upload `upload_id` of `key` in `bucket_id` produced, if it was
/// completed (and the record not yet expired).
pub async fn completed_upload(
    db: impl sqlx::PgExecutor<'_>,
    bucket_id: i64,
    key: &str,
    upload_id: &str,
) -> Result<Option<CompletedRecord>, Error> {
    let row = sqlx::query(
        "SELECT etag, checksum_algorithm, checksum_value, version_id FROM completed_uploads
         WHERE upload_id = $1 AND bucket_id = $2 AND key = $3",
    )
    .bind(upload_id)
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let algorithm: Option<String> = row.try_get("checksum_algorithm")?;
    let value: Option<String> = row.try_get("checksum_value")?;
    Ok(Some(CompletedRecord {
        etag: row.try_get("etag")?,
        checksum: algorithm.zip(value),
        version_id: row.try_get("version_id")?,
    }))
}

/// The parts table of contents of a completed multipart object (empty for objects
/// written in one piece).
pub async fn object_parts(
    db: impl sqlx::PgExecutor<'_>,
    object_id: i64,
) -> Result<Vec<ObjectPart>, Error> {
    let rows = sqlx::query(
        "SELECT part_number, object_offset, size, checksum_value FROM object_parts
         WHERE object_id = $1 ORDER BY part_number",
    )
    .bind(object_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ObjectPart {
                part_number: r.try_get(0)?,
                offset: r.try_get::<i64, _>(1)? as u64,
                size: r.try_get::<i64, _>(2)? as u64,
                checksum: r.try_get(3)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// Aborts every upload initiated before `cutoff` (its chunks are released). Returns how
/// many were aborted.
pub async fn expire_stale(pool: &PgPool, cutoff: OffsetDateTime) -> Result<usize, Error> {
    let mut aborted = 0;
    loop {
        let stale = stale_uploads(pool, cutoff, 100).await?;
        if stale.is_empty() {
            return Ok(aborted);
        }
        for (id, upload_id) in stale {
            match abort_upload(pool, id).await {
                Ok(()) => {
                    aborted += 1;
                    tracing::info!(%upload_id, "aborted an expired multipart upload");
                }
                // Completed or aborted meanwhile.
                Err(Error::NoSuchUpload) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Drops the records of uploads completed before `cutoff` (see [`completed_upload`]).
pub async fn forget_completed(pool: &PgPool, cutoff: OffsetDateTime) -> Result<u64, Error> {
    let done = sqlx::query("DELETE FROM completed_uploads WHERE completed_at < $1")
        .bind(cutoff)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Runs [`expire_stale`] (and [`forget_completed`]) for uploads older than `expiry`, every `expiry / 4` (between one
/// second and ten minutes), until `shutdown` fires.
pub async fn run_expiry(
    pool: PgPool,
    expiry: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let interval = (expiry / 4).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(600),
    );
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        let cutoff = OffsetDateTime::now_utc() - expiry;
        if let Err(e) = expire_stale(&pool, cutoff).await {
            tracing::warn!(error = %e, "expiring multipart uploads failed");
        }
        if let Err(e) = forget_completed(&pool, cutoff).await {
            tracing::warn!(error = %e, "forgetting completed multipart uploads failed");
        }
    }
}
