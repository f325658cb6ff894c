//! The version listing: every version of every key, keys in byte order, each key's
//! versions newest first (ListObjectVersions).

use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;

use super::Error;

/// One version in a listing.
#[derive(Debug, Clone)]
pub struct VersionSummary {
    /// Row id (orders the versions of a key: larger is newer).
    pub id: i64,
    /// Key.
    pub key: String,
    /// Version id; `None` for the `null` version.
    pub version_id: Option<String>,
    /// Whether it is the key's current version.
    pub is_latest: bool,
    /// Whether it is a delete marker.
    pub delete_marker: bool,
    /// Size (0 for a delete marker).
    pub size: u64,
    /// ETag, quoted (empty for a delete marker).
    pub etag: String,
    /// Last-Modified.
    pub last_modified: OffsetDateTime,
    /// Owner's canonical id.
    pub owner_canonical_id: String,
    /// Owner's display name.
    pub owner_display_name: String,
}

/// Where a version listing resumes: after every version of `key` when `row` is `None`,
/// else after the version of `key` in row `row` (at the next older one).
#[derive(Debug, Clone, Default)]
pub struct VersionCursor {
    /// The last key listed (or `key-marker`).
    pub key: String,
    /// The last version listed of that key (or the row `version-id-marker` names).
    pub row: Option<i64>,
}

/// Up to `limit` versions of `bucket_id` after `cursor` and not below `prefix`. The caller
/// stops at the first key that does not start with `prefix`.
pub async fn list_versions_after(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    prefix: &str,
    cursor: &VersionCursor,
    limit: i64,
) -> Result<Vec<VersionSummary>, Error> {
    // Two index ranges: the rest of the cursor's key (older versions), then the keys after
    // it; each is one seek in `objects_versions_idx`.
    let rows = sqlx::query(
        "SELECT v.id, v.key, v.version_id, v.is_latest, v.delete_marker, v.size, v.etag,
                v.last_modified, a.canonical_id, a.display_name
         FROM (
            (SELECT * FROM objects
             WHERE bucket_id = $1 AND key = $2 AND $3::int8 IS NOT NULL AND id < $3
               AND key >= $4
             ORDER BY id DESC LIMIT $5)
            UNION ALL
            (SELECT * FROM objects
             WHERE bucket_id = $1 AND key > $2 AND key >= $4
             ORDER BY key, id DESC LIMIT $5)
         ) v JOIN accounts a ON a.id = v.owner_id
         ORDER BY v.key, v.id DESC LIMIT $5",
    )
    .bind(bucket_id)
    .bind(&cursor.key)
    .bind(cursor.row)
    .bind(prefix)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(VersionSummary {
                id: r.try_get(0)?,
                key: r.try_get(1)?,
                version_id: r.try_get(2)?,
                is_latest: r.try_get(3)?,
                delete_marker: r.try_get(4)?,
                size: r.try_get::<i64, _>(5)? as u64,
                etag: r.try_get(6)?,
                last_modified: r.try_get(7)?,
                owner_canonical_id: r.try_get(8)?,
                owner_display_name: r.try_get(9)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::Db)
}

/// The row of the `null` version of `key`, if it has one (to resume a listing after a
/// `version-id-marker` of `null`).
pub async fn null_version_row(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    key: &str,
) -> Result<Option<i64>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM objects WHERE bucket_id = $1 AND key = $2 AND version_id IS NULL",
    )
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(db)
    .await?)
}
