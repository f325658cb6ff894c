//! Web console sessions: one row per logged-in browser, found by the SHA-256 of its cookie
//! token. A session is valid while it is younger than its absolute expiry, has been used
//! within the idle timeout, and the access key it was opened with is still active: the
//! lookup joins the key, so revoking it ends the session in every process at once.

use sqlx::{PgExecutor, Row};
use time::{Duration, OffsetDateTime};

use super::Error;
use super::accounts::{ACCOUNT_COLUMNS, Account, account_from_row};

/// A valid session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The account logged in.
    pub account: Account,
    /// The access key it logged in with.
    pub access_key: String,
    /// The token state-changing requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When it was last used (idle expiry counts from here).
    pub last_seen: OffsetDateTime,
    /// Its absolute expiry.
    pub expires_at: OffsetDateTime,
}

/// Stores a new session.
pub async fn create(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    access_key: &str,
    csrf_token: &str,
    expires_at: OffsetDateTime,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO console_sessions (token_hash, access_key, csrf_token, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(access_key)
    .bind(csrf_token)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The session with token hash `token_hash` if it is valid at `now` with idle timeout
/// `idle`, its key still active.
pub async fn find_valid(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    now: OffsetDateTime,
    idle: Duration,
) -> Result<Option<Session>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS}, s.access_key, s.csrf_token, s.last_seen, s.expires_at
         FROM console_sessions s
         JOIN access_keys k ON k.access_key = s.access_key AND k.revoked_at IS NULL
         JOIN accounts a ON a.id = k.account_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen > $3"
    ))
    .bind(token_hash)
    .bind(now)
    .bind(now - idle)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Session {
        account: account_from_row(&row)?,
        access_key: row.try_get("access_key")?,
        csrf_token: row.try_get("csrf_token")?,
        last_seen: row.try_get("last_seen")?,
        expires_at: row.try_get("expires_at")?,
    }))
}

/// Records that the session was used at `now` (restarting its idle timeout).
pub async fn touch(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> Result<(), Error> {
    sqlx::query("UPDATE console_sessions SET last_seen = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends a session (logout).
pub async fn delete(db: impl PgExecutor<'_>, token_hash: &[u8]) -> Result<(), Error> {
    sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Removes sessions past their absolute or idle expiry at `now`; returns how many.
pub async fn delete_expired(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    idle: Duration,
) -> Result<u64, Error> {
    let done =
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1 OR last_seen <= $2")
            .bind(now)
            .bind(now - idle)
            .execute(db)
            .await?;
    Ok(done.rows_affected())
}
