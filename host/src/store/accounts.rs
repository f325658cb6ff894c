//! Accounts and their access keys (secrets stay sealed here: see [`super::secrets`]).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;

use super::{Error, constraint_of};

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

pub(super) fn account_from_row(row: &PgRow) -> Result<Account, sqlx::Error> {
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        canonical_id: row.try_get("canonical_id")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
    })
}

pub(super) const ACCOUNT_COLUMNS: &str = "a.id, a.name, a.canonical_id, a.display_name, a.email";

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

/// The columns of an [`ActiveKey`] from `access_keys k JOIN accounts a`, named so that
/// they can share a row with a bucket's (`buckets::find_active_key_and_bucket`).
pub(super) const ACTIVE_KEY_COLUMNS: &str = "a.id AS key_account_id,
    a.name AS key_account_name, a.canonical_id AS key_canonical_id,
    a.display_name AS key_display_name, a.email AS key_email,
    k.secret_ciphertext, k.secret_nonce";

/// The active key in a row of [`ACTIVE_KEY_COLUMNS`].
pub(super) fn active_key_from_row(row: &PgRow) -> Result<ActiveKey, sqlx::Error> {
    Ok(ActiveKey {
        account: Account {
            id: row.try_get("key_account_id")?,
            name: row.try_get("key_account_name")?,
            canonical_id: row.try_get("key_canonical_id")?,
            display_name: row.try_get("key_display_name")?,
            email: row.try_get("key_email")?,
        },
        ciphertext: row.try_get("secret_ciphertext")?,
        nonce: row.try_get("secret_nonce")?,
    })
}

/// Looks up an active (not revoked) access key.
pub async fn find_active_key(
    db: impl PgExecutor<'_>,
    access_key: &str,
) -> Result<Option<ActiveKey>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {ACTIVE_KEY_COLUMNS}
         FROM access_keys k JOIN accounts a ON a.id = k.account_id
         WHERE k.access_key = $1 AND k.revoked_at IS NULL"
    ))
    .bind(access_key)
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(active_key_from_row).transpose()?)
}

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
