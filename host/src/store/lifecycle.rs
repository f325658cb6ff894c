//! What the lifecycle worker (`s3::lifecycle_worker`) reads: a bucket's versions and
//! incomplete uploads a page at a time, and the per-bucket advisory lock that keeps
//! several `coffer serve` processes on one database from working on the same bucket at
//! once. The changes it makes are in [`super::object_write`] (conditional expirations)
//! and [`super::multipart`] (aborts).

use sqlx::pool::PoolConnection;
use sqlx::{PgExecutor, PgPool, Postgres, Row};
use time::OffsetDateTime;

use super::Error;
use crate::tags::Tag;

/// The first key of PostgreSQL's two-key advisory locks that the lifecycle worker takes
/// (ASCII `lcyc`); the second is the bucket id. The two-key space is distinct from the
/// one-key space, and nothing else in Coffer takes advisory locks.
const LOCK_CLASS: i32 = 0x6c63_7963;

/// One version of a key as the worker judges it.
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// Row id: larger is newer among the versions of a key.
    pub id: i64,
    /// Key.
    pub key: String,
    /// Whether it is the key's current version.
    pub is_latest: bool,
    /// Whether it is a delete marker.
    pub delete_marker: bool,
    /// Size in bytes (0 for a delete marker).
    pub size: u64,
    /// Last-Modified: when this version was written.
    pub last_modified: OffsetDateTime,
    /// The version's tags.
    pub tags: Vec<Tag>,
}

/// Where a version walk resumes: after version row `id` of `key` (the walk goes by key,
/// then newest version first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionCursor {
    /// The last key read.
    pub key: String,
    /// The last row read of that key.
    pub id: i64,
}

/// Up to `limit` versions of `bucket_id` from `prefix` on, after `after` (from the
/// start of the prefix when `None`), in key order and, within a key, newest first: the
/// order of `objects_versions_idx (bucket_id, key, id DESC)`, so each page is one or two
/// index range scans (the rest of the cursor's key, then the keys after it). The caller
/// stops at the first key that does not start with `prefix` (a filter here would make
/// PostgreSQL read on through the rest of the bucket looking for a full page).
pub async fn versions_page(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    prefix: &str,
    after: Option<&VersionCursor>,
    limit: i64,
) -> Result<Vec<VersionRow>, Error> {
    const COLUMNS: &str = "id, key, is_latest, delete_marker, size, last_modified, tags";
    // Each condition is an index range, never an `OR` PostgreSQL could only filter by
    // (which would rescan the bucket from the prefix for every page).
    let rows = match after {
        None => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM objects WHERE bucket_id = $1 AND key >= $2
                 ORDER BY key, id DESC LIMIT $3"
            ))
            .bind(bucket_id)
            .bind(prefix)
            .bind(limit)
            .fetch_all(db)
            .await?
        }
        Some(c) => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM (
                    (SELECT * FROM objects WHERE bucket_id = $1 AND key = $2 AND id < $3
                     ORDER BY id DESC LIMIT $4)
                    UNION ALL
                    (SELECT * FROM objects WHERE bucket_id = $1 AND key > $2
                     ORDER BY key, id DESC LIMIT $4)
                 ) v
                 ORDER BY key, id DESC LIMIT $4"
            ))
            .bind(bucket_id)
            .bind(&c.key)
            .bind(c.id)
            .bind(limit)
            .fetch_all(db)
            .await?
        }
    };
    rows.iter()
        .map(|r| {
            Ok(VersionRow {
                id: r.try_get(0)?,
                key: r.try_get(1)?,
                is_latest: r.try_get(2)?,
                delete_marker: r.try_get(3)?,
                size: r.try_get::<i64, _>(4)?.max(0) as u64,
                last_modified: r.try_get(5)?,
                tags: r.try_get::<sqlx::types::Json<Vec<Tag>>, _>(6)?.0,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::Db)
}

/// An incomplete multipart upload as the worker judges it.
#[derive(Debug, Clone)]
pub struct UploadRow {
    /// Row id (what `multipart::abort_upload` takes).
    pub id: i64,
    /// Key.
    pub key: String,
    /// Initiation time.
    pub created_at: OffsetDateTime,
}

/// Up to `limit` uploads of `bucket_id` initiated before `cutoff`, from `prefix` on,
/// after `after` (by key, initiation time and row id: the order of
/// `multipart_uploads_listing_idx`). As with [`versions_page`], the caller stops at the
/// first key that does not start with `prefix`.
pub async fn stale_uploads_page(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    prefix: &str,
    cutoff: OffsetDateTime,
    after: Option<&UploadRow>,
    limit: i64,
) -> Result<Vec<UploadRow>, Error> {
    let rows = match after {
        None => {
            sqlx::query(
                "SELECT id, key, created_at FROM multipart_uploads
                 WHERE bucket_id = $1 AND key >= $2 AND created_at < $3
                 ORDER BY key, created_at, id LIMIT $4",
            )
            .bind(bucket_id)
            .bind(prefix)
            .bind(cutoff)
            .bind(limit)
            .fetch_all(db)
            .await?
        }
        Some(u) => {
            sqlx::query(
                "SELECT id, key, created_at FROM multipart_uploads
                 WHERE bucket_id = $1 AND (key, created_at, id) > ($2, $3, $4)
                   AND created_at < $5
                 ORDER BY key, created_at, id LIMIT $6",
            )
            .bind(bucket_id)
            .bind(&u.key)
            .bind(u.created_at)
            .bind(u.id)
            .bind(cutoff)
            .bind(limit)
            .fetch_all(db)
            .await?
        }
    };
    rows.iter()
        .map(|r| {
            Ok(UploadRow {
                id: r.try_get(0)?,
                key: r.try_get(1)?,
                created_at: r.try_get(2)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::Db)
}

/// A bucket's lifecycle lock, held on a connection of its own: PostgreSQL advisory locks
/// belong to a session, so the connection is kept out of the pool for as long as the
/// bucket's pass runs. If the process dies, its session ends and the lock with it. If
/// the guard is dropped without [`BucketLock::release`] (a cancelled task, an unlock
/// that failed), the connection is closed rather than returned to the pool, so no idle
/// pooled session keeps a bucket locked.
pub struct BucketLock {
    conn: Option<PoolConnection<Postgres>>,
    bucket_id: i64,
}

/// The second key of a bucket's lock. Ids beyond 32 bits wrap: two buckets then share a
/// lock, which only makes their passes take turns.
fn lock_key(bucket_id: i64) -> i32 {
    bucket_id as i32
}

impl BucketLock {
    /// Takes bucket `bucket_id`'s lock if no other session holds it (`None` if one
    /// does: another process is applying that bucket's rules).
    pub async fn try_acquire(pool: &PgPool, bucket_id: i64) -> Result<Option<Self>, Error> {
        let mut conn = pool.acquire().await?;
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(LOCK_CLASS)
            .bind(lock_key(bucket_id))
            .fetch_one(&mut *conn)
            .await?;
        Ok(taken.then_some(BucketLock {
            conn: Some(conn),
            bucket_id,
        }))
    }

    /// Releases the lock; the connection goes back to the pool.
    pub async fn release(mut self) -> Result<(), Error> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        let unlocked = sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1, $2)")
            .bind(LOCK_CLASS)
            .bind(lock_key(self.bucket_id))
            .fetch_one(&mut *conn)
            .await;
        match unlocked {
            Ok(true) => Ok(()),
            Ok(false) => {
                // Not held any more: nothing to free, but the session is suspect.
                conn.close_on_drop();
                Err(Error::Corrupt(format!(
                    "the lifecycle lock of bucket {} was not held at release",
                    self.bucket_id
                )))
            }
            Err(e) => {
                conn.close_on_drop();
                Err(e.into())
            }
        }
    }
}

impl Drop for BucketLock {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            // Closing the session frees the lock.
            conn.close_on_drop();
        }
    }
}
