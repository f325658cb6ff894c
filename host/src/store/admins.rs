//! Which accounts are administrators (column `accounts.is_admin`): they may use the admin
//! API. Kept apart from [`super::accounts`] because nothing on the S3 path looks at it.

use sqlx::PgExecutor;

use super::Error;

/// Whether account `account_id` is an administrator.
pub async fn is_admin(db: impl PgExecutor<'_>, account_id: i64) -> Result<bool, Error> {
    let admin: Option<bool> = sqlx::query_scalar("SELECT is_admin FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(db)
        .await?;
    Ok(admin.unwrap_or(false))
}

/// Makes account `account_id` an administrator.
pub async fn grant_admin(db: impl PgExecutor<'_>, account_id: i64) -> Result<(), Error> {
    sqlx::query("UPDATE accounts SET is_admin = true WHERE id = $1")
        .bind(account_id)
        .execute(db)
        .await?;
    Ok(())
}
