//! Buckets: globally unique names, owners, ACLs.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;

use super::{Error, constraint_of};
use crate::acl::Grants;

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
pub async fn delete_bucket(pool: &PgPool, bucket_id: i64) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    // Uploads in progress do not keep a bucket alive: they are aborted with it.
    super::multipart::delete_bucket_uploads(&mut tx, bucket_id).await?;
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
    // Processes cache per-bucket decision inputs by name (CORS); a new bucket of the same
    // name must not inherit them.
    super::policies::bump_generation(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
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
