//! Buckets: globally unique names, owners, ACLs.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;

use super::accounts::{self, ACTIVE_KEY_COLUMNS, ActiveKey};
use super::{Error, constraint_of};
use crate::acl::{Grants, ObjectOwnership, PublicAccessBlock};
use crate::tags::{Tag, TagSet};

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
    /// Whether writes keep older versions.
    pub versioning: Versioning,
    /// Whether object lock is enabled (for good).
    pub object_lock_enabled: bool,
    /// The object lock configuration (JSON of `s3::object_lock::ObjectLockConfig`), if
    /// one was put.
    pub object_lock: Option<serde_json::Value>,
    /// The lifecycle configuration (JSON of `s3::lifecycle::LifecycleConfiguration`), if
    /// one was put.
    pub lifecycle: Option<serde_json::Value>,
    /// The bucket policy in the compiled form policy modules receive
    /// (`coffer_guest_sdk::bucket_policy`), if one was put. The document itself is read
    /// only by GetBucketPolicy ([`bucket_policy_document`]).
    pub policy: Option<Vec<u8>>,
    /// The Block Public Access configuration, if one was put (or given at creation).
    pub public_access_block: Option<PublicAccessBlock>,
    /// The Object Ownership setting, if ownership controls were put.
    pub object_ownership: Option<ObjectOwnership>,
}

impl Bucket {
    /// The Object Ownership in effect: S3's `ObjectWriter` without ownership controls.
    pub fn ownership(&self) -> ObjectOwnership {
        self.object_ownership
            .unwrap_or(ObjectOwnership::ObjectWriter)
    }

    /// Whether ACLs are disabled (Object Ownership `BucketOwnerEnforced`).
    pub fn acls_disabled(&self) -> bool {
        self.ownership() == ObjectOwnership::BucketOwnerEnforced
    }
}

/// A bucket's versioning state
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Versioning {
    /// Never enabled: a write replaces the key's only version, the `null` one.
    #[default]
    Unversioned,
    /// Every write and delete adds a version with a new id.
    Enabled,
    /// Writes and deletes replace the `null` version and keep the others.
    Suspended,
}

impl Versioning {
    /// The stored (and S3's) name; `None` for [`Versioning::Unversioned`].
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Self::Unversioned => None,
            Self::Enabled => Some("Enabled"),
            Self::Suspended => Some("Suspended"),
        }
    }

    fn from_column(value: Option<&str>) -> Result<Self, sqlx::Error> {
        match value {
            None => Ok(Self::Unversioned),
            Some("Enabled") => Ok(Self::Enabled),
            Some("Suspended") => Ok(Self::Suspended),
            Some(other) => Err(sqlx::Error::Decode(
                format!("unknown versioning state {other:?}").into(),
            )),
        }
    }

    /// Whether versions other than `null` may exist (responses then carry version ids).
    pub fn ever_enabled(self) -> bool {
        self != Self::Unversioned
    }
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
        versioning: Versioning::from_column(row.try_get("versioning")?)?,
        object_lock_enabled: row.try_get("object_lock_enabled")?,
        object_lock: row.try_get("object_lock")?,
        lifecycle: row.try_get("lifecycle")?,
        policy: row.try_get("policy_compiled")?,
        public_access_block: row
            .try_get::<Option<i16>, _>("public_access_block")?
            .map(PublicAccessBlock::from_bits),
        object_ownership: row
            .try_get::<Option<&str>, _>("object_ownership")?
            .map(|name| {
                ObjectOwnership::parse(name).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown object ownership {name:?}").into())
                })
            })
            .transpose()?,
    })
}

const BUCKET_SELECT: &str =
    "SELECT b.id, b.name, b.owner_id, a.canonical_id, a.display_name, b.region, b.created_at, b.acl,
        b.versioning, b.object_lock_enabled, b.object_lock, b.lifecycle, b.policy_compiled,
        b.public_access_block, b.object_ownership
     FROM buckets b JOIN accounts a ON a.id = b.owner_id";

/// What a new bucket starts with besides its name and owner.
#[derive(Debug, Clone)]
pub struct NewBucket<'a> {
    /// LocationConstraint.
    pub region: Option<&'a str>,
    /// Its ACL.
    pub acl: &'a Grants,
    /// Object Lock on from the start (without a default retention), and so versioning.
    pub object_lock: bool,
    /// Its Block Public Access configuration, if it gets one.
    pub public_access_block: Option<PublicAccessBlock>,
    /// Its ownership controls, if it gets some.
    pub object_ownership: Option<ObjectOwnership>,
}

/// Creates a bucket; names are unique across all accounts.
pub async fn create_bucket(
    pool: &PgPool,
    name: &str,
    owner_id: i64,
    new: &NewBucket<'_>,
) -> Result<(), Error> {
    let res = sqlx::query(
        "INSERT INTO buckets (name, owner_id, region, acl, object_lock_enabled, versioning,
                              public_access_block, object_ownership)
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $5 THEN 'Enabled' END, $6, $7)",
    )
    .bind(name)
    .bind(owner_id)
    .bind(new.region)
    .bind(sqlx::types::Json(new.acl))
    .bind(new.object_lock)
    .bind(new.public_access_block.map(PublicAccessBlock::to_bits))
    .bind(new.object_ownership.map(ObjectOwnership::as_str))
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

/// An active access key (as [`accounts::find_active_key`]) and, in the same statement,
/// bucket `bucket` (as [`get_bucket`]; `None` if there is no such bucket): a request
/// names both, and reading them together saves it a round trip. `None` when the key is
/// not active, whatever the bucket.
pub async fn find_active_key_and_bucket(
    db: impl PgExecutor<'_>,
    access_key: &str,
    bucket: &str,
) -> Result<Option<(ActiveKey, Option<Bucket>)>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {ACTIVE_KEY_COLUMNS}, bk.*
         FROM access_keys k JOIN accounts a ON a.id = k.account_id
         LEFT JOIN LATERAL ({BUCKET_SELECT} WHERE b.name = $2) bk ON true
         WHERE k.access_key = $1 AND k.revoked_at IS NULL"
    ))
    .bind(access_key)
    .bind(bucket)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let key = accounts::active_key_from_row(&row)?;
    // The bucket's columns are all NULL when the lateral join found none.
    let found = row.try_get::<Option<i64>, _>("id")?.is_some();
    let bucket = if found {
        Some(bucket_from_row(&row)?)
    } else {
        None
    };
    Ok(Some((key, bucket)))
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

/// Sets a bucket's versioning to `Enabled` or `Suspended` (S3 has no way back to
/// unversioned); `NoSuchBucket` when it was deleted meanwhile.
pub async fn set_versioning(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    state: Versioning,
) -> Result<(), Error> {
    let Some(name) = state.as_str() else {
        return Err(Error::Corrupt("a bucket cannot become unversioned".into()));
    };
    let done = sqlx::query("UPDATE buckets SET versioning = $2 WHERE id = $1")
        .bind(bucket_id)
        .bind(name)
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NoSuchBucket);
    }
    Ok(())
}

/// A bucket's tags; `None` when it has no tag set.
pub async fn bucket_tags(db: impl PgExecutor<'_>, bucket_id: i64) -> Result<Option<TagSet>, Error> {
    let tags: Option<Option<sqlx::types::Json<TagSet>>> =
        sqlx::query_scalar("SELECT tags FROM buckets WHERE id = $1")
            .bind(bucket_id)
            .fetch_optional(db)
            .await?;
    match tags {
        None => Err(Error::NoSuchBucket),
        Some(tags) => Ok(tags.map(|t| t.0)),
    }
}

/// Replaces a bucket's tag set (`None` removes it).
pub async fn set_bucket_tags(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    tags: Option<&[Tag]>,
) -> Result<(), Error> {
    let done = sqlx::query("UPDATE buckets SET tags = $2 WHERE id = $1")
        .bind(bucket_id)
        .bind(tags.map(sqlx::types::Json))
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NoSuchBucket);
    }
    Ok(())
}

/// Turns Object Lock on for good and stores its configuration (JSON of
/// `s3::object_lock::ObjectLockConfig`). Only a bucket with versioning enabled may get
/// it (the caller checked; the update repeats the condition so a concurrent suspension
/// cannot slip between): `false` when it does not hold.
pub async fn set_object_lock(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    config: &serde_json::Value,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE buckets SET object_lock_enabled = true, object_lock = $2
         WHERE id = $1 AND versioning = 'Enabled'",
    )
    .bind(bucket_id)
    .bind(config)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Replaces a bucket's lifecycle configuration (the JSON of
/// `s3::lifecycle::LifecycleConfiguration`); `None` removes it. `NoSuchBucket` when the
/// bucket was deleted meanwhile.
pub async fn set_lifecycle(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    lifecycle: Option<&serde_json::Value>,
) -> Result<(), Error> {
    let done = sqlx::query("UPDATE buckets SET lifecycle = $2 WHERE id = $1")
        .bind(bucket_id)
        .bind(lifecycle)
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NoSuchBucket);
    }
    Ok(())
}

/// Replaces a bucket's policy: the document as put and its compiled form; `None`
/// removes it. `NoSuchBucket` when the bucket was deleted meanwhile.
pub async fn set_bucket_policy(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    policy: Option<(&str, &[u8])>,
) -> Result<(), Error> {
    let done = sqlx::query("UPDATE buckets SET policy = $2, policy_compiled = $3 WHERE id = $1")
        .bind(bucket_id)
        .bind(policy.map(|(document, _)| document))
        .bind(policy.map(|(_, compiled)| compiled))
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NoSuchBucket);
    }
    Ok(())
}

/// Replaces a bucket's Block Public Access configuration; `None` removes it.
/// `NoSuchBucket` when the bucket was deleted meanwhile.
pub async fn set_public_access_block(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
    block: Option<PublicAccessBlock>,
) -> Result<(), Error> {
    let done = sqlx::query("UPDATE buckets SET public_access_block = $2 WHERE id = $1")
        .bind(bucket_id)
        .bind(block.map(PublicAccessBlock::to_bits))
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NoSuchBucket);
    }
    Ok(())
}

/// Replaces a bucket's ownership controls; `None` removes them. Disabling ACLs
/// (`BucketOwnerEnforced`) needs a bucket ACL granting only the owner, as on S3:
/// otherwise the answer is `Ok(Err(OwnershipRefused))`. The ACL is read and the setting
/// written in one transaction, the row locked, so a concurrent PutBucketAcl cannot slip
/// between them.
pub async fn set_object_ownership(
    pool: &PgPool,
    bucket_id: i64,
    ownership: Option<ObjectOwnership>,
) -> Result<Result<(), OwnershipRefused>, Error> {
    let mut tx = pool.begin().await?;
    let row: Option<(sqlx::types::Json<Grants>, String)> = sqlx::query_as(
        "SELECT b.acl, a.canonical_id FROM buckets b JOIN accounts a ON a.id = b.owner_id
         WHERE b.id = $1 FOR UPDATE OF b",
    )
    .bind(bucket_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((acl, owner)) = row else {
        return Err(Error::NoSuchBucket);
    };
    if ownership == Some(ObjectOwnership::BucketOwnerEnforced) && !acl.0.only_grants_to(&owner) {
        return Ok(Err(OwnershipRefused));
    }
    sqlx::query("UPDATE buckets SET object_ownership = $2 WHERE id = $1")
        .bind(bucket_id)
        .bind(ownership.map(ObjectOwnership::as_str))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// `BucketOwnerEnforced` refused: the bucket ACL grants to others than the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnershipRefused;

/// A bucket's policy document as its owner put it, if it has one.
pub async fn bucket_policy_document(
    db: impl PgExecutor<'_>,
    bucket_id: i64,
) -> Result<Option<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT policy FROM buckets WHERE id = $1")
            .bind(bucket_id)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// Every bucket policy whose compiled form does not start with `format` (the version
/// byte of the current encoding), as (bucket id, bucket name, document): what a newer
/// Coffer must compile again before modules see it.
pub async fn policies_compiled_otherwise(
    db: impl PgExecutor<'_>,
    format: u8,
) -> Result<Vec<(i64, String, String)>, Error> {
    Ok(sqlx::query_as(
        "SELECT id, name, policy FROM buckets
         WHERE policy IS NOT NULL
           AND (length(policy_compiled) = 0 OR get_byte(policy_compiled, 0) <> $1)",
    )
    .bind(i32::from(format))
    .fetch_all(db)
    .await?)
}

/// The buckets that have a lifecycle configuration, by id, after `after_id`, at most
/// `limit` (the lifecycle worker's walk, one page at a time).
pub async fn with_lifecycle_after(
    db: impl PgExecutor<'_>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Bucket>, Error> {
    let rows = sqlx::query(&format!(
        "{BUCKET_SELECT} WHERE b.lifecycle IS NOT NULL AND b.id > $1 ORDER BY b.id LIMIT $2"
    ))
    .bind(after_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(bucket_from_row).collect::<Result<_, _>>()?)
}
