//! Stored policy modules and which bucket uses which (tables `policy_modules` and
//! `bucket_policies`, migrations 0002 and 0007). An attachment of the built-in default
//! module (with a configuration) has no module name: `module_name` is NULL.
//!
//! Every change bumps the `policy_generation` row in the same transaction, so every
//! `coffer` process sharing the database notices it by polling one number
//! ([`generation`]) and reloads its attachments (see `policy::registry`).

use serde::Serialize;
use sqlx::{PgExecutor, PgPool, Row};
use time::OffsetDateTime;

use super::Error;

/// A stored module, without its bytes.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleInfo {
    /// Name the operator gave it.
    pub name: String,
    /// SHA-256 of the component, hex.
    pub digest: String,
    /// Size of the component in bytes.
    pub size: i64,
    /// Last upload.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Buckets it is attached to, by name.
    pub buckets: Vec<String>,
}

/// A bucket's attached module, as the registry loads it.
#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    /// Bucket row id.
    pub bucket_id: i64,
    /// Bucket name.
    pub bucket: String,
    /// Module name; `None` for the built-in default module.
    pub module: Option<String>,
    /// SHA-256 of the stored module, hex; `None` for the built-in default module.
    pub digest: Option<String>,
    /// The operator's JSON configuration, if any.
    pub config: Option<String>,
}

/// The id of bucket `bucket`, in `tx`; `NoSuchBucket` when there is none.
async fn bucket_id(tx: &mut sqlx::PgConnection, bucket: &str) -> Result<i64, Error> {
    sqlx::query_scalar("SELECT id FROM buckets WHERE name = $1")
        .bind(bucket)
        .fetch_optional(tx)
        .await?
        .ok_or(Error::NoSuchBucket)
}

/// Checks that stored module `module` exists, and keeps it from being deleted until `tx`
/// ends; `NoSuchPolicy` otherwise.
async fn require_module(tx: &mut sqlx::PgConnection, module: &str) -> Result<(), Error> {
    let exists: Option<String> =
        sqlx::query_scalar("SELECT name FROM policy_modules WHERE name = $1 FOR SHARE")
            .bind(module)
            .fetch_optional(tx)
            .await?;
    match exists {
        Some(_) => Ok(()),
        None => Err(Error::NoSuchPolicy(module.to_owned())),
    }
}

/// Deletes bucket `bucket`'s row of `table` (one of this module's per-bucket tables,
/// keyed by `bucket_id`) and moves the generation. Returns whether there was one.
async fn remove_bucket_row(
    pool: &PgPool,
    bucket: &str,
    table: &'static str,
) -> Result<bool, Error> {
    let mut tx = pool.begin().await?;
    let bucket_id = bucket_id(&mut tx, bucket).await?;
    let res = sqlx::query(&format!("DELETE FROM {table} WHERE bucket_id = $1"))
        .bind(bucket_id)
        .execute(&mut *tx)
        .await?;
    bump_generation(&mut *tx).await?;
    tx.commit().await?;
    Ok(res.rows_affected() > 0)
}

/// Moves the policy generation: every process reloads what it caches per bucket for
/// decisions (attachments, CORS configurations) at its next poll.
pub(crate) async fn bump_generation(db: impl PgExecutor<'_>) -> Result<(), Error> {
    sqlx::query("UPDATE policy_generation SET value = value + 1")
        .execute(db)
        .await?;
    Ok(())
}

/// The current policy generation: changes whenever a module, an attachment, a bucket's
/// CORS configuration or the set of buckets changes.
pub async fn generation(db: impl PgExecutor<'_>) -> Result<i64, Error> {
    let g: i64 = sqlx::query_scalar("SELECT value FROM policy_generation")
        .fetch_one(db)
        .await?;
    Ok(g)
}

/// Stores (or replaces) module `name`. The caller has validated the bytes. Buckets using
/// the name switch to the new bytes.
pub async fn put_module(
    pool: &PgPool,
    name: &str,
    digest: &[u8],
    wasm: &[u8],
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO policy_modules (name, digest, wasm) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET digest = EXCLUDED.digest, wasm = EXCLUDED.wasm,
             updated_at = now()",
    )
    .bind(name)
    .bind(digest)
    .bind(wasm)
    .execute(&mut *tx)
    .await?;
    bump_generation(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes module `name`; refused while a bucket uses it.
pub async fn delete_module(pool: &PgPool, name: &str) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let users: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM bucket_policies WHERE module_name = $1)
              + (SELECT count(*) FROM bucket_policy_shadows WHERE module_name = $1)",
    )
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    if users > 0 {
        return Err(Error::PolicyInUse {
            name: name.to_owned(),
            buckets: users,
        });
    }
    let deleted = sqlx::query("DELETE FROM policy_modules WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| in_use_or(e, name))?;
    if deleted.rows_affected() == 0 {
        return Err(Error::NoSuchPolicy(name.to_owned()));
    }
    bump_generation(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// A concurrent attach raced the delete: report it as "in use".
fn in_use_or(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(db)
            if matches!(
                db.constraint(),
                Some("bucket_policies_module_fkey" | "bucket_policy_shadows_module_fkey")
            ) =>
        {
            Error::PolicyInUse {
                name: name.to_owned(),
                buckets: 1,
            }
        }
        _ => Error::Db(e),
    }
}

/// Every stored module with the buckets using it, by name.
pub async fn list_modules(db: impl PgExecutor<'_>) -> Result<Vec<ModuleInfo>, Error> {
    let rows = sqlx::query(
        "SELECT m.name, m.digest, length(m.wasm)::BIGINT AS size, m.updated_at,
                COALESCE(array_agg(b.name ORDER BY b.name) FILTER (WHERE b.name IS NOT NULL),
                         '{}') AS buckets
         FROM policy_modules m
         LEFT JOIN bucket_policies p ON p.module_name = m.name
         LEFT JOIN buckets b ON b.id = p.bucket_id
         GROUP BY m.name, m.digest, m.wasm, m.updated_at
         ORDER BY m.name",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ModuleInfo {
                name: r.try_get("name")?,
                digest: hex::encode(r.try_get::<Vec<u8>, _>("digest")?),
                size: r.try_get("size")?,
                updated_at: r.try_get("updated_at")?,
                buckets: r.try_get("buckets")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// The bytes of stored module `name`, if there is one.
pub async fn module_bytes(db: impl PgExecutor<'_>, name: &str) -> Result<Option<Vec<u8>>, Error> {
    Ok(
        sqlx::query_scalar("SELECT wasm FROM policy_modules WHERE name = $1")
            .bind(name)
            .fetch_optional(db)
            .await?,
    )
}

/// The bytes of the module with this digest (hex), if one is stored.
pub async fn module_bytes_by_digest(
    db: impl PgExecutor<'_>,
    digest_hex: &str,
) -> Result<Option<Vec<u8>>, Error> {
    let Ok(digest) = hex::decode(digest_hex) else {
        return Ok(None);
    };
    let wasm: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT wasm FROM policy_modules WHERE digest = $1 LIMIT 1")
            .bind(digest)
            .fetch_optional(db)
            .await?;
    Ok(wasm)
}

/// Attaches stored module `module` (`None`: the built-in default module) to bucket
/// `bucket` with an optional JSON configuration, replacing any previous attachment.
pub async fn attach(
    pool: &PgPool,
    bucket: &str,
    module: Option<&str>,
    config: Option<&str>,
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let bucket_id = bucket_id(&mut tx, bucket).await?;
    if let Some(module) = module {
        require_module(&mut tx, module).await?;
    }
    sqlx::query(
        "INSERT INTO bucket_policies (bucket_id, module_name, config) VALUES ($1, $2, $3)
         ON CONFLICT (bucket_id) DO UPDATE SET module_name = EXCLUDED.module_name,
             config = EXCLUDED.config, attached_at = now()",
    )
    .bind(bucket_id)
    .bind(module)
    .bind(config)
    .execute(&mut *tx)
    .await?;
    bump_generation(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Detaches whatever module bucket `bucket` uses; it falls back to the default module.
/// Returns whether something was attached.
pub async fn detach(pool: &PgPool, bucket: &str) -> Result<bool, Error> {
    remove_bucket_row(pool, bucket, "bucket_policies").await
}

const ATTACHMENT_SELECT: &str =
    "SELECT p.bucket_id, b.name AS bucket, p.module_name, m.digest, p.config
     FROM bucket_policies p
     JOIN buckets b ON b.id = p.bucket_id
     LEFT JOIN policy_modules m ON m.name = p.module_name";

fn attachment_from_row(r: &sqlx::postgres::PgRow) -> Result<Attachment, sqlx::Error> {
    Ok(Attachment {
        bucket_id: r.try_get("bucket_id")?,
        bucket: r.try_get("bucket")?,
        module: r.try_get("module_name")?,
        digest: r.try_get::<Option<Vec<u8>>, _>("digest")?.map(hex::encode),
        config: r.try_get("config")?,
    })
}

/// Every attachment, with the generation it was read at (one snapshot: both come from the
/// same transaction).
pub async fn attachments(pool: &PgPool) -> Result<Attachments, Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await?;
    let generation = generation(&mut *tx).await?;
    let rows = sqlx::query(ATTACHMENT_SELECT).fetch_all(&mut *tx).await?;
    let shadow_rows = sqlx::query(SHADOW_SELECT).fetch_all(&mut *tx).await?;
    let logs: Vec<(i64, String, i64, i32)> = sqlx::query_as(
        "SELECT l.bucket_id, b.name, l.max_bytes, l.files
         FROM bucket_decision_logs l JOIN buckets b ON b.id = l.bucket_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let active = rows
        .iter()
        .map(attachment_from_row)
        .collect::<Result<_, sqlx::Error>>()?;
    let shadows = shadow_rows
        .iter()
        .map(shadow_from_row)
        .collect::<Result<_, sqlx::Error>>()?;
    let logs = logs
        .into_iter()
        .map(|(bucket_id, bucket, max_bytes, files)| DecisionLogSetting {
            bucket_id,
            bucket,
            max_bytes: u64::try_from(max_bytes).unwrap_or(0),
            files: u32::try_from(files).unwrap_or(1),
        })
        .collect();
    Ok(Attachments {
        generation,
        active,
        shadows,
        logs,
    })
}

/// A bucket whose decisions are logged (`coffer admin policy log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionLogSetting {
    /// Bucket row id.
    pub bucket_id: i64,
    /// Bucket name.
    pub bucket: String,
    /// Largest size of one log file, bytes.
    pub max_bytes: u64,
    /// How many files are kept (the current one and the rotated ones).
    pub files: u32,
}

/// Starts (or changes) logging bucket `bucket`'s decisions.
pub async fn set_decision_log(
    pool: &PgPool,
    bucket: &str,
    max_bytes: u64,
    files: u32,
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let bucket_id = bucket_id(&mut tx, bucket).await?;
    sqlx::query(
        "INSERT INTO bucket_decision_logs (bucket_id, max_bytes, files) VALUES ($1, $2, $3)
         ON CONFLICT (bucket_id) DO UPDATE SET max_bytes = EXCLUDED.max_bytes,
             files = EXCLUDED.files, started_at = now()",
    )
    .bind(bucket_id)
    .bind(i64::try_from(max_bytes).unwrap_or(i64::MAX))
    .bind(i32::try_from(files).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    bump_generation(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Stops logging bucket `bucket`'s decisions. Returns whether they were logged.
pub async fn clear_decision_log(pool: &PgPool, bucket: &str) -> Result<bool, Error> {
    remove_bucket_row(pool, bucket, "bucket_decision_logs").await
}

/// Every attachment and shadow, read in one snapshot of the database.
#[derive(Debug, Clone)]
pub struct Attachments {
    /// The policy generation they belong to.
    pub generation: i64,
    /// The active modules' attachments.
    pub active: Vec<Attachment>,
    /// The candidate modules evaluated in shadow.
    pub shadows: Vec<Shadow>,
    /// The buckets whose decisions are logged.
    pub logs: Vec<DecisionLogSetting>,
}

/// A candidate module evaluated beside a bucket's active one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Shadow {
    /// Bucket row id.
    #[serde(skip)]
    pub bucket_id: i64,
    /// Bucket name.
    pub bucket: String,
    /// Module name; `None` for the built-in default module.
    pub module: Option<String>,
    /// SHA-256 of the stored module, hex; `None` for the built-in default module.
    pub digest: Option<String>,
    /// Its JSON configuration, if any.
    pub config: Option<String>,
    /// The fraction of the bucket's decisions it also makes (0 < sample <= 1).
    pub sample: f64,
}

const SHADOW_SELECT: &str =
    "SELECT s.bucket_id, b.name AS bucket, s.module_name, m.digest, s.config, s.sample
     FROM bucket_policy_shadows s
     JOIN buckets b ON b.id = s.bucket_id
     LEFT JOIN policy_modules m ON m.name = s.module_name";

fn shadow_from_row(r: &sqlx::postgres::PgRow) -> Result<Shadow, sqlx::Error> {
    Ok(Shadow {
        bucket_id: r.try_get("bucket_id")?,
        bucket: r.try_get("bucket")?,
        module: r.try_get("module_name")?,
        digest: r.try_get::<Option<Vec<u8>>, _>("digest")?.map(hex::encode),
        config: r.try_get("config")?,
        sample: r.try_get("sample")?,
    })
}

/// Starts (or replaces) the shadow of bucket `bucket`: stored module `module` (`None`:
/// the built-in default module) with `config`, given `sample` of the decisions.
pub async fn set_shadow(
    pool: &PgPool,
    bucket: &str,
    module: Option<&str>,
    config: Option<&str>,
    sample: f64,
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let bucket_id = bucket_id(&mut tx, bucket).await?;
    if let Some(module) = module {
        require_module(&mut tx, module).await?;
    }
    sqlx::query(
        "INSERT INTO bucket_policy_shadows (bucket_id, module_name, config, sample)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (bucket_id) DO UPDATE SET module_name = EXCLUDED.module_name,
             config = EXCLUDED.config, sample = EXCLUDED.sample, started_at = now()",
    )
    .bind(bucket_id)
    .bind(module)
    .bind(config)
    .bind(sample)
    .execute(&mut *tx)
    .await?;
    bump_generation(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends bucket `bucket`'s shadow. Returns whether it had one.
pub async fn clear_shadow(pool: &PgPool, bucket: &str) -> Result<bool, Error> {
    remove_bucket_row(pool, bucket, "bucket_policy_shadows").await
}

/// Bucket `bucket`'s attachment, if it has one.
pub async fn attachment(
    db: impl PgExecutor<'_>,
    bucket: &str,
) -> Result<Option<Attachment>, Error> {
    let row = sqlx::query(&format!("{ATTACHMENT_SELECT} WHERE b.name = $1"))
        .bind(bucket)
        .fetch_optional(db)
        .await?;
    Ok(row.as_ref().map(attachment_from_row).transpose()?)
}
