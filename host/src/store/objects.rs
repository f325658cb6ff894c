//! Objects: their rows (one per version of a key), standard headers and metadata, and the
//! reads. Writes and deletes are in [`super::object_write`], the version listing in
//! [`super::versions`].

use std::collections::HashMap;

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Error;
use super::blob::WrittenChunks;
use super::buckets::Versioning;
use super::chunks::{ChunkRef, decode_blocks};
use crate::acl::Grants;
use crate::retention::{ObjectRetention, RetentionMode};
use crate::tags::{Tag, TagSet};

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
    /// The version's id; `None` for the `null` version.
    pub version_id: Option<String>,
    /// Whether this is the key's current version.
    pub is_latest: bool,
    /// Whether this version is a delete marker (no data).
    pub delete_marker: bool,
    /// The version's tags.
    pub tags: TagSet,
    /// The version's retention (object lock), if any.
    pub retention: Option<ObjectRetention>,
    /// Whether the version is under a legal hold.
    pub legal_hold: bool,
}

impl ObjectMeta {
    /// The version id as S3 reports it (`null` for the null version).
    pub fn version_label(&self) -> &str {
        self.version_id.as_deref().unwrap_or(NULL_VERSION)
    }
}

/// How S3 spells the version id of the `null` version.
pub const NULL_VERSION: &str = "null";

/// Which version of a key a request addresses: its `versionId` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    /// No `versionId`: the current version.
    Latest,
    /// `versionId=null`.
    Null,
    /// A version id Coffer issued; `row` is the row it names.
    Id {
        /// The id as issued.
        id: String,
        /// The `objects` row id it starts with.
        row: i64,
    },
}

impl VersionSelector {
    /// The selector for a `versionId` parameter; `None` for text that is no version id
    /// Coffer could have issued (S3: `400 InvalidArgument`, "Invalid version id
    /// specified").
    pub fn parse(version_id: Option<&str>) -> Option<Self> {
        match version_id {
            None => Some(Self::Latest),
            Some(NULL_VERSION) => Some(Self::Null),
            Some(id) => version_row(id).map(|row| Self::Id {
                id: id.to_string(),
                row,
            }),
        }
    }

    /// The version id as the request gave it (empty for [`VersionSelector::Latest`]).
    pub fn label(&self) -> &str {
        match self {
            Self::Latest => "",
            Self::Null => NULL_VERSION,
            Self::Id { id, .. } => id,
        }
    }

    /// The version id the request gave; `None` for [`VersionSelector::Latest`].
    pub fn requested(&self) -> Option<&str> {
        match self {
            Self::Latest => None,
            Self::Null | Self::Id { .. } => Some(self.label()),
        }
    }
}

/// The row a version id names: ids are the row id in 16 hex digits followed by 16
/// random hex digits (see `migrations/0009_versioning.sql`).
pub fn version_row(id: &str) -> Option<i64> {
    if id.len() != 32
        || !id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    i64::from_str_radix(&id[..16], 16)
        .ok()
        .filter(|row| *row > 0)
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
    /// The bucket's versioning state, which decides what happens to the key's current
    /// version.
    pub versioning: Versioning,
    /// The new version's tags.
    pub tags: &'a [Tag],
    /// The new version's retention (object lock).
    pub retention: Option<ObjectRetention>,
    /// Whether the new version is under a legal hold.
    pub legal_hold: bool,
}

/// The columns of an object's row and its owner (`objects o JOIN accounts a`).
macro_rules! object_columns {
    () => {
        "o.id, o.key, o.size, o.etag, a.canonical_id,
        a.display_name, o.content_type, o.content_encoding, o.content_disposition,
        o.content_language, o.cache_control, o.expires, o.user_metadata, o.checksum_algorithm,
        o.checksum_value, o.inline_data, o.last_modified, o.acl, o.version_id, o.is_latest,
        o.delete_marker, o.tags, o.retention_mode, o.retain_until, o.legal_hold"
    };
}

/// An object's row and its owner, without its chunk list: all an object stored inline
/// needs, and a statement PostgreSQL sets up in a fraction of the time of
/// [`OBJECT_SELECT`], whose two lateral aggregations cost as much to initialise per
/// execution as to run (a 4 KiB GET spent 11% of the machine in PostgreSQL's
/// `ExecutorStart`; without them GETs of inline objects ran 21% faster).
const OBJECT_ROW_SELECT: &str = concat!(
    "SELECT ",
    object_columns!(),
    " FROM objects o JOIN accounts a ON a.id = o.owner_id"
);

/// An object's row, its owner, and its chunk list as parallel arrays in object order.
const OBJECT_SELECT: &str = concat!(
    "SELECT ",
    object_columns!(),
    ",
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
     ) rep ON true"
);

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
        version_id: row.try_get("version_id")?,
        is_latest: row.try_get("is_latest")?,
        delete_marker: row.try_get("delete_marker")?,
        tags: row.try_get::<sqlx::types::Json<TagSet>, _>("tags")?.0,
        retention: retention_from_row(row)?,
        legal_hold: row.try_get("legal_hold")?,
    })
}

/// The retention in a row's `retention_mode` and `retain_until` columns (`objects`,
/// `multipart_uploads`).
pub(crate) fn retention_from_row(row: &PgRow) -> Result<Option<ObjectRetention>, sqlx::Error> {
    let mode: Option<String> = row.try_get("retention_mode")?;
    let until: Option<OffsetDateTime> = row.try_get("retain_until")?;
    match (mode, until) {
        (Some(mode), Some(retain_until)) => match RetentionMode::parse(&mode) {
            Some(mode) => Ok(Some(ObjectRetention { mode, retain_until })),
            None => Err(sqlx::Error::Decode(
                format!("unknown retention mode {mode:?}").into(),
            )),
        },
        _ => Ok(None),
    }
}

/// Reads the version of `key` that `version` selects: its metadata and chunk list. The
/// version may be a delete marker (`delete_marker`); the caller decides what that means.
///
/// The row is read first without its chunk list ([`OBJECT_ROW_SELECT`]); an object
/// stored inline (most small objects), empty, or a delete marker needs nothing more. For
/// any other the whole read is made again in one statement ([`OBJECT_SELECT`]), so one
/// snapshot: the row and its chunk list always belong together, even while the object is
/// being replaced or deleted (a chunk list read apart from its row could be one the row
/// no longer has). Such objects are larger than the inline threshold, where one more
/// round trip is small next to reading their bytes.
pub async fn get_object(
    pool: &PgPool,
    bucket_id: i64,
    key: &str,
    version: &VersionSelector,
) -> Result<Option<ObjectMeta>, Error> {
    let Some(row) = select_version(pool, OBJECT_ROW_SELECT, bucket_id, key, version).await? else {
        return Ok(None);
    };
    let obj = object_from_row(&row)?;
    if obj.inline_data.is_some() || obj.size == 0 || obj.delete_marker {
        return Ok(Some(obj));
    }
    let Some(row) = select_version(pool, OBJECT_SELECT, bucket_id, key, version).await? else {
        // Deleted since the first read.
        return Ok(None);
    };
    let mut obj = object_from_row(&row)?;
    obj.chunks = chunk_refs(obj.id, &row)?;
    Ok(Some(obj))
}

/// The row `select` (one of the selects above) gives for the version of `key` that
/// `version` selects.
async fn select_version(
    pool: &PgPool,
    select: &str,
    bucket_id: i64,
    key: &str,
    version: &VersionSelector,
) -> Result<Option<PgRow>, Error> {
    let selected = match version {
        VersionSelector::Latest => "o.is_latest",
        VersionSelector::Null => "o.version_id IS NULL",
        VersionSelector::Id { .. } => "o.id = $3 AND o.version_id = $4",
    };
    let sql = format!("{select} WHERE o.bucket_id = $1 AND o.key = $2 AND {selected}");
    let mut query = sqlx::query(&sql).bind(bucket_id).bind(key);
    if let VersionSelector::Id { id, row } = version {
        query = query.bind(*row).bind(id.as_str());
    }
    Ok(query.fetch_optional(pool).await?)
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

/// The ETag of the current version of `key`, unless there is none or it is a delete
/// marker.
pub async fn object_etag(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    key: &str,
) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT etag FROM objects
             WHERE bucket_id = $1 AND key = $2 AND is_latest AND NOT delete_marker",
    )
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(db)
    .await?)
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

/// Keys of `bucket_id` greater than `after` and not below `prefix`, in byte order, with
/// their current versions (keys whose current version is a delete marker are left out).
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
         WHERE o.bucket_id = $1 AND o.is_latest AND o.key > $2 AND o.key >= $3
           AND NOT o.delete_marker
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

/// Replaces the tags of version row `object_id`; `false` when that row is gone.
pub async fn set_object_tags(
    db: impl PgExecutor<'_>,
    object_id: i64,
    tags: &[Tag],
) -> Result<bool, Error> {
    let done = sqlx::query("UPDATE objects SET tags = $2 WHERE id = $1 AND NOT delete_marker")
        .bind(object_id)
        .bind(sqlx::types::Json(tags))
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Sets or clears the legal hold of version row `object_id`; `false` when that row is
/// gone.
pub async fn set_legal_hold(
    db: impl PgExecutor<'_>,
    object_id: i64,
    on: bool,
) -> Result<bool, Error> {
    let done = sqlx::query("UPDATE objects SET legal_hold = $2 WHERE id = $1")
        .bind(object_id)
        .bind(on)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Replaces the retention of version row `object_id` under S3's rules, in one
/// transaction with the row locked: a retention that has not yet passed may be extended
/// (a later date; `GOVERNANCE` may become `COMPLIANCE`) by anyone allowed to set it;
/// shortening it, removing it or weakening `COMPLIANCE` to `GOVERNANCE` is refused
/// ([`Error::ObjectLocked`]), except for `GOVERNANCE` with `bypass_governance`. A passed
/// retention is no protection and may be replaced freely. `NoSuchObject` when the row is
/// gone.
pub async fn set_retention(
    pool: &PgPool,
    object_id: i64,
    new: Option<ObjectRetention>,
    bypass_governance: bool,
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query(
        "SELECT retention_mode, retain_until, COALESCE(retain_until > now(), false) AS active
         FROM objects WHERE id = $1 FOR UPDATE",
    )
    .bind(object_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(Error::NoSuchObject);
    };
    let current = retention_from_row(&row)?;
    let active: bool = row.try_get("active")?;
    if let (Some(current), true) = (current, active) {
        let extends = new.is_some_and(|new| {
            new.retain_until >= current.retain_until
                && (current.mode == RetentionMode::Governance
                    || new.mode == RetentionMode::Compliance)
        });
        let may_bypass = current.mode == RetentionMode::Governance && bypass_governance;
        if !extends && !may_bypass {
            return Err(Error::ObjectLocked);
        }
    }
    sqlx::query("UPDATE objects SET retention_mode = $2, retain_until = $3 WHERE id = $1")
        .bind(object_id)
        .bind(new.map(|r| r.mode.as_str()))
        .bind(new.map(|r| r.retain_until))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
