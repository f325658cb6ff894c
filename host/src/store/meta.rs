//! Metadata in PostgreSQL: accounts, access keys, buckets, objects and their chunks.
//!
//! Functions take `impl PgExecutor` where one statement suffices, and a pool where they need
//! their own transaction. Constraint violations are matched by name (see `migrations/`) and
//! become domain errors here, once.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Error;
use super::blob::StoredChunk;
use crate::acl::Grants;

/// Applies the embedded migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), Error> {
    sqlx::migrate!("../migrations").run(pool).await?;
    Ok(())
}

fn constraint_of(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Accounts and keys

/// An account: owns buckets and objects, has access keys.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// Row id.
    #[serde(skip)]
    pub id: i64,
    /// Unique name (`admin`, ...).
    pub name: String,
    /// 64-hex-char canonical user id, as S3 reports owners.
    pub canonical_id: String,
    /// Display name.
    pub display_name: String,
    /// Optional email (for `emailAddress=` grants).
    pub email: Option<String>,
}

fn account_from_row(row: &PgRow) -> Result<Account, sqlx::Error> {
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        canonical_id: row.try_get("canonical_id")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
    })
}

const ACCOUNT_COLUMNS: &str = "a.id, a.name, a.canonical_id, a.display_name, a.email";

/// Creates an account.
pub async fn create_account(
    db: impl PgExecutor<'_>,
    name: &str,
    canonical_id: &str,
    email: Option<&str>,
) -> Result<Account, Error> {
    let row = sqlx::query(
        "INSERT INTO accounts (name, canonical_id, display_name, email) VALUES ($1, $2, $1, $3)
         RETURNING id, name, canonical_id, display_name, email",
    )
    .bind(name)
    .bind(canonical_id)
    .bind(email)
    .fetch_one(db)
    .await
    .map_err(|e| match constraint_of(&e) {
        Some("accounts_name_key") | Some("accounts_email_key") => Error::AccountExists,
        _ => Error::Db(e),
    })?;
    Ok(account_from_row(&row)?)
}

/// All accounts, by name.
pub async fn list_accounts(db: impl PgExecutor<'_>) -> Result<Vec<Account>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.name"
    ))
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(account_from_row)
        .collect::<Result<_, _>>()?)
}

/// The account called `name`.
pub async fn account_by_name(db: impl PgExecutor<'_>, name: &str) -> Result<Account, Error> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.name = $1"
    ))
    .bind(name)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::NoSuchAccount(name.to_string()))?;
    Ok(account_from_row(&row)?)
}

/// How many accounts exist (zero on a fresh install).
pub async fn account_count(db: impl PgExecutor<'_>) -> Result<i64, Error> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(db)
        .await?)
}

/// Stores a sealed access key for an account.
pub async fn insert_key(
    db: impl PgExecutor<'_>,
    account_id: i64,
    access_key: &str,
    ciphertext: &[u8],
    nonce: &[u8],
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO access_keys (access_key, account_id, secret_ciphertext, secret_nonce)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(access_key)
    .bind(account_id)
    .bind(ciphertext)
    .bind(nonce)
    .execute(db)
    .await?;
    Ok(())
}

/// A key as `key list` shows it (never the secret).
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// The access key id.
    pub access_key: String,
    /// The owning account's name.
    pub account: String,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Creation time (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Lists keys, of one account or all.
pub async fn list_keys(
    db: impl PgExecutor<'_>,
    account: Option<&str>,
) -> Result<Vec<KeyInfo>, Error> {
    let rows = sqlx::query(
        "SELECT k.access_key, a.name, k.revoked_at IS NOT NULL AS revoked, k.created_at
         FROM access_keys k JOIN accounts a ON a.id = k.account_id
         WHERE $1::text IS NULL OR a.name = $1
         ORDER BY a.name, k.created_at",
    )
    .bind(account)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(KeyInfo {
                access_key: r.try_get(0)?,
                account: r.try_get(1)?,
                revoked: r.try_get(2)?,
                created_at: r.try_get(3)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::Db)
}

/// Revokes a key; fails if there is no such (active) key.
pub async fn revoke_key(db: impl PgExecutor<'_>, access_key: &str) -> Result<(), Error> {
    let done = sqlx::query(
        "UPDATE access_keys SET revoked_at = now() WHERE access_key = $1 AND revoked_at IS NULL",
    )
    .bind(access_key)
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NoSuchKey(access_key.to_string()));
    }
    Ok(())
}

/// An active key with its account and sealed secret.
pub struct ActiveKey {
    /// The owner.
    pub account: Account,
    /// Sealed secret.
    pub ciphertext: Vec<u8>,
    /// Its nonce.
    pub nonce: Vec<u8>,
}

/// Looks up an active (not revoked) access key.
pub async fn find_active_key(
    db: impl PgExecutor<'_>,
    access_key: &str,
) -> Result<Option<ActiveKey>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS}, k.secret_ciphertext, k.secret_nonce
         FROM access_keys k JOIN accounts a ON a.id = k.account_id
         WHERE k.access_key = $1 AND k.revoked_at IS NULL"
    ))
    .bind(access_key)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(ActiveKey {
        account: account_from_row(&row)?,
        ciphertext: row.try_get("secret_ciphertext")?,
        nonce: row.try_get("secret_nonce")?,
    }))
}

// ---------------------------------------------------------------------------------------------
// Buckets

/// A bucket and its owner.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Owner account id.
    pub owner_id: i64,
    /// Owner's canonical id.
    pub owner_canonical_id: String,
    /// Owner's display name.
    pub owner_display_name: String,
    /// LocationConstraint given at creation.
    pub region: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Explicit ACL grants.
    pub acl: Grants,
}

fn bucket_from_row(row: &PgRow) -> Result<Bucket, sqlx::Error> {
    Ok(Bucket {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner_id: row.try_get("owner_id")?,
        owner_canonical_id: row.try_get("canonical_id")?,
        owner_display_name: row.try_get("display_name")?,
        region: row.try_get("region")?,
        created_at: row.try_get("created_at")?,
        acl: row.try_get::<sqlx::types::Json<Grants>, _>("acl")?.0,
    })
}

const BUCKET_SELECT: &str =
    "SELECT b.id, b.name, b.owner_id, a.canonical_id, a.display_name, b.region, b.created_at, b.acl
     FROM buckets b JOIN accounts a ON a.id = b.owner_id";

/// Creates a bucket; names are unique across all accounts.
pub async fn create_bucket(
    pool: &PgPool,
    name: &str,
    owner_id: i64,
    region: Option<&str>,
    acl: &Grants,
) -> Result<(), Error> {
    let res =
        sqlx::query("INSERT INTO buckets (name, owner_id, region, acl) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(owner_id)
            .bind(region)
            .bind(sqlx::types::Json(acl))
            .execute(pool)
            .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if constraint_of(&e) == Some("buckets_name_key") => {
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT owner_id FROM buckets WHERE name = $1")
                    .bind(name)
                    .fetch_optional(pool)
                    .await?;
            if existing == Some(owner_id) {
                Err(Error::BucketAlreadyOwnedByYou)
            } else {
                Err(Error::BucketAlreadyExists)
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The bucket called `name`, if any.
pub async fn get_bucket(db: impl PgExecutor<'_>, name: &str) -> Result<Option<Bucket>, Error> {
    let row = sqlx::query(&format!("{BUCKET_SELECT} WHERE b.name = $1"))
        .bind(name)
        .fetch_optional(db)
        .await?;
    Ok(row.as_ref().map(bucket_from_row).transpose()?)
}

/// The buckets an account owns, by name.
pub async fn list_buckets(db: impl PgExecutor<'_>, owner_id: i64) -> Result<Vec<Bucket>, Error> {
    let rows = sqlx::query(&format!(
        "{BUCKET_SELECT} WHERE b.owner_id = $1 ORDER BY b.name"
    ))
    .bind(owner_id)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(bucket_from_row).collect::<Result<_, _>>()?)
}

/// Deletes an empty bucket. The foreign key from objects makes "not empty" race-free.
pub async fn delete_bucket(pool: &PgPool, bucket_id: i64) -> Result<Vec<Uuid>, Error> {
    let mut tx = pool.begin().await?;
    // Uploads in progress do not keep a bucket alive: they are aborted with it.
    let released = super::multipart::delete_bucket_uploads(&mut tx, bucket_id).await?;
    let res = sqlx::query("DELETE FROM buckets WHERE id = $1")
        .bind(bucket_id)
        .execute(&mut *tx)
        .await;
    match res {
        Ok(done) if done.rows_affected() == 0 => return Err(Error::NoSuchBucket),
        Ok(_) => {}
        Err(e) if constraint_of(&e) == Some("objects_bucket_id_fkey") => {
            return Err(Error::BucketNotEmpty);
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(released)
}

// ---------------------------------------------------------------------------------------------
// Objects

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

/// One piece of an object stored in a chunk file.
#[derive(Debug, Clone)]
pub struct ChunkRef {
    /// Chunk id.
    pub chunk_id: Uuid,
    /// Offset of the chunk's first byte in the object.
    pub offset: u64,
    /// Chunk length.
    pub size: u64,
    /// CRC32C of the chunk.
    pub crc32c: u32,
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
    /// In these newly written chunk files, in order.
    Chunks(Vec<StoredChunk>),
    /// In these chunks, which other objects already reference (a copy): the new object
    /// shares them rather than duplicating their bytes.
    Shared(Vec<ChunkRef>),
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
        COALESCE(ch.sizes, '{}') AS chunk_sizes, COALESCE(ch.crcs, '{}') AS chunk_crcs
     FROM objects o JOIN accounts a ON a.id = o.owner_id
     LEFT JOIN LATERAL (
        SELECT array_agg(oc.chunk_id ORDER BY oc.seq) AS ids,
               array_agg(oc.object_offset ORDER BY oc.seq) AS offsets,
               array_agg(c.size ORDER BY oc.seq) AS sizes,
               array_agg(c.crc32c ORDER BY oc.seq) AS crcs
        FROM object_chunks oc JOIN chunks c ON c.id = oc.chunk_id
        WHERE oc.object_id = o.id
     ) ch ON true";

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
    let ids: Vec<Uuid> = row.try_get("chunk_ids")?;
    let offsets: Vec<i64> = row.try_get("chunk_offsets")?;
    let sizes: Vec<i64> = row.try_get("chunk_sizes")?;
    let crcs: Vec<i64> = row.try_get("chunk_crcs")?;
    if offsets.len() != ids.len() || sizes.len() != ids.len() || crcs.len() != ids.len() {
        return Err(Error::Corrupt(format!(
            "object {}: chunk lists of different lengths",
            obj.id
        )));
    }
    obj.chunks = (0..ids.len())
        .map(|i| ChunkRef {
            chunk_id: ids[i],
            offset: offsets[i] as u64,
            size: sizes[i] as u64,
            crc32c: crcs[i] as u32,
        })
        .collect();
    Ok(Some(obj))
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

/// Removes an object row inside `tx` (locking it first) and returns the chunk ids that are no
/// longer referenced by anything, whose files the caller deletes after commit.
async fn remove_object_row(
    tx: &mut sqlx::PgConnection,
    object_id: i64,
) -> Result<Vec<Uuid>, Error> {
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

/// Deletes the `chunks` rows among `ids` that nothing references any more.
///
/// The rows are locked first, in a statement of their own: a copy that shares them holds
/// them `FOR SHARE` until it commits, so this waits for it, and the `DELETE` (a new
/// statement, so a new snapshot under READ COMMITTED) then sees the copy's references
/// and keeps the chunks.
pub(crate) async fn release_chunks(
    tx: &mut sqlx::PgConnection,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query("SELECT id FROM chunks WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(ids)
        .execute(&mut *tx)
        .await?;
    Ok(sqlx::query_scalar(
        "DELETE FROM chunks c WHERE c.id = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM object_chunks oc WHERE oc.chunk_id = c.id)
           AND NOT EXISTS (SELECT 1 FROM part_chunks pc WHERE pc.chunk_id = c.id)
         RETURNING c.id",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?)
}

/// What committing an object did.
#[derive(Debug)]
pub struct Committed {
    /// Chunk ids the replaced object no longer needs: delete their files.
    pub released: Vec<Uuid>,
    /// The new object's Last-Modified.
    pub last_modified: OffsetDateTime,
}

/// Commits a new object, replacing any object under the same key, in one transaction.
///
/// Two first writers of a key both find no row to lock; the loser's insert hits
/// `objects_bucket_key_key` and is retried, now finding (and replacing) the winner's row.
pub async fn put_object(pool: &PgPool, obj: NewObject<'_>) -> Result<Committed, Error> {
    const ATTEMPTS: usize = 5;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match put_object_once(pool, &obj).await {
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
/// object. The caller commits; [`Committed::released`] is valid once it has.
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
        NewBody::Chunks(c) => (None, c),
        NewBody::Shared(_) => (None, &[]),
    };
    if let NewBody::Shared(shared) = &obj.body {
        // Lock the shared chunks against a concurrent release (see `release_chunks`);
        // one that is already gone means the source object was deleted meanwhile.
        let ids: Vec<Uuid> = shared.iter().map(|c| c.chunk_id).collect();
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
        let ids: Vec<Uuid> = shared.iter().map(|c| c.chunk_id).collect();
        let sizes = shared.iter().map(|c| c.size);
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
    let released = release_chunks(&mut *tx, &detached).await?;
    Ok(Committed {
        released,
        last_modified,
    })
}

/// Records newly written chunk files: their `chunks` and `chunk_replicas` rows.
pub(crate) async fn insert_chunks(
    tx: &mut sqlx::PgConnection,
    chunks: &[StoredChunk],
) -> Result<(), Error> {
    let ids: Vec<Uuid> = chunks.iter().map(|c| c.id).collect();
    let sizes: Vec<i64> = chunks.iter().map(|c| c.size as i64).collect();
    let crcs: Vec<i64> = chunks.iter().map(|c| i64::from(c.crc32c)).collect();
    let volumes: Vec<Uuid> = chunks.iter().map(|c| c.volume_id).collect();
    sqlx::query(
        "INSERT INTO chunks (id, size, crc32c) SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::int8[])",
    )
    .bind(&ids)
    .bind(&sizes)
    .bind(&crcs)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO chunk_replicas (chunk_id, volume_id) SELECT * FROM UNNEST($1::uuid[], $2::uuid[])",
    )
    .bind(&ids)
    .bind(&volumes)
    .execute(&mut *tx)
    .await?;
    Ok(())
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
/// Returns the chunk ids to remove from disk after commit.
pub async fn delete_objects(
    pool: &PgPool,
    bucket_id: i64,
    keys: &[String],
) -> Result<Vec<Uuid>, Error> {
    let mut tx = pool.begin().await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM objects WHERE bucket_id = $1 AND key = ANY($2) ORDER BY id FOR UPDATE",
    )
    .bind(bucket_id)
    .bind(keys)
    .fetch_all(&mut *tx)
    .await?;
    let mut released = Vec::new();
    for id in ids {
        released.extend(remove_object_row(&mut tx, id).await?);
    }
    tx.commit().await?;
    Ok(released)
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

/// Whether a chunk id is known to metadata (used by the garbage collector).
pub async fn known_chunks(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<Uuid>, Error> {
    Ok(
        sqlx::query_scalar("SELECT id FROM chunks WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(db)
            .await?,
    )
}

// ---------------------------------------------------------------------------------------------
// ACLs

/// The display names of the accounts among `canonical_ids` (absent ids are not in the map),
/// in one query: to render grantees and to check that grantees exist.
pub async fn display_names(
    db: impl PgExecutor<'_>,
    canonical_ids: &[String],
) -> Result<HashMap<String, String>, Error> {
    if canonical_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT canonical_id, display_name FROM accounts WHERE canonical_id = ANY($1)",
    )
    .bind(canonical_ids)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}

/// `(e-mail as given, canonical id)` for each of `emails` that matches accounts, comparing
/// without regard to case (as mail providers do), in one query. An e-mail that appears in
/// two rows matches two accounts: it is ambiguous.
pub async fn canonical_ids_by_email(
    db: impl PgExecutor<'_>,
    emails: &[String],
) -> Result<Vec<(String, String)>, Error> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(
        "SELECT e.given, a.canonical_id
         FROM unnest($1::text[]) AS e(given)
         JOIN accounts a ON lower(a.email) = lower(e.given)",
    )
    .bind(emails)
    .fetch_all(db)
    .await?)
}

/// Replaces a bucket's grants; `NoSuchBucket` when it was deleted meanwhile.
pub async fn set_bucket_acl(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    acl: &Grants,
) -> Result<(), Error> {
    let done = sqlx::query("UPDATE buckets SET acl = $2 WHERE id = $1")
        .bind(bucket_id)
        .bind(sqlx::types::Json(acl))
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NoSuchBucket);
    }
    Ok(())
}

/// Replaces the grants of the object under `key`; `false` when there is none (it was
/// deleted, or is being replaced, meanwhile).
pub async fn set_object_acl(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    key: &str,
    acl: &Grants,
) -> Result<bool, Error> {
    let done = sqlx::query("UPDATE objects SET acl = $3 WHERE bucket_id = $1 AND key = $2")
        .bind(bucket_id)
        .bind(key)
        .bind(sqlx::types::Json(acl))
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}
