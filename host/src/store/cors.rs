//! Bucket CORS configurations (`bucket_cors`, `migrations/0006_bucket_cors.sql`).

use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, PgPool};

use super::policies::bump_generation;
use super::{Error, constraint_of};

/// One `CORSRule` of a bucket's configuration, values as the owner sent them.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CORSRule.html>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    /// `ID`.
    pub id: Option<String>,
    /// `AllowedOrigin` entries (each with at most one `*`).
    pub allowed_origins: Vec<String>,
    /// `AllowedMethod` entries (`GET`, `PUT`, `POST`, `DELETE`, `HEAD`).
    pub allowed_methods: Vec<String>,
    /// `AllowedHeader` entries (each with at most one `*`).
    pub allowed_headers: Vec<String>,
    /// `ExposeHeader` entries.
    pub expose_headers: Vec<String>,
    /// `MaxAgeSeconds`.
    pub max_age_seconds: Option<u32>,
}

/// Sets (replaces) a bucket's CORS rules, moving the policy generation so every process
/// drops its cached copy.
pub async fn put(pool: &PgPool, bucket_id: i64, rules: &[CorsRule]) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO bucket_cors (bucket_id, rules) VALUES ($1, $2)
         ON CONFLICT (bucket_id) DO UPDATE SET rules = EXCLUDED.rules, updated_at = now()",
    )
    .bind(bucket_id)
    .bind(sqlx::types::Json(rules))
    .execute(&mut *tx)
    .await
    .map_err(|e| match constraint_of(&e) {
        Some("bucket_cors_bucket_id_fkey") => Error::NoSuchBucket,
        _ => Error::Db(e),
    })?;
    bump_generation(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// A bucket's CORS rules, if it has a configuration.
pub async fn get(db: impl PgExecutor<'_>, bucket_id: i64) -> Result<Option<Vec<CorsRule>>, Error> {
    let rules: Option<sqlx::types::Json<Vec<CorsRule>>> =
        sqlx::query_scalar("SELECT rules FROM bucket_cors WHERE bucket_id = $1")
            .bind(bucket_id)
            .fetch_optional(db)
            .await?;
    Ok(rules.map(|r| r.0))
}

/// Removes a bucket's CORS configuration (nothing to remove is not an error).
pub async fn delete(pool: &PgPool, bucket_id: i64) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let removed = sqlx::query("DELETE FROM bucket_cors WHERE bucket_id = $1")
        .bind(bucket_id)
        .execute(&mut *tx)
        .await?;
    if removed.rows_affected() > 0 {
        bump_generation(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Bucket `name`'s id and CORS rules (`None`: no configuration); `None` when there is no
/// such bucket.
pub async fn for_bucket_name(
    db: impl PgExecutor<'_>,
    name: &str,
) -> Result<Option<(i64, Option<Vec<CorsRule>>)>, Error> {
    let row: Option<(i64, Option<sqlx::types::Json<Vec<CorsRule>>>)> = sqlx::query_as(
        "SELECT b.id, c.rules FROM buckets b LEFT JOIN bucket_cors c ON c.bucket_id = b.id
         WHERE b.name = $1",
    )
    .bind(name)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id, rules)| (id, rules.map(|r| r.0))))
}
