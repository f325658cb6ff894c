//! Storage settings every process reads at run time (`storage_settings`), so an operator
//! changes them once, with `coffer admin`, for every server sharing the database, without
//! a restart.

use sqlx::PgExecutor;

use super::Error;

/// A runtime setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// MiB/s each process may copy for repairs (0: unlimited).
    RepairRateMib,
    /// MiB/s the deep scrub may read from each volume (0: unlimited).
    ScrubRateMib,
    /// Copies wanted of every chunk, recorded by `coffer serve` at start (`--replicas`),
    /// so `coffer admin` repairs to the same count.
    Replicas,
}

impl Setting {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Setting::RepairRateMib => "repair_rate_mib",
            Setting::ScrubRateMib => "scrub_rate_mib",
            Setting::Replicas => "replicas",
        }
    }
}

/// The setting's value, if an operator set one.
pub async fn get(db: impl PgExecutor<'_>, setting: Setting) -> Result<Option<i64>, Error> {
    Ok(
        sqlx::query_scalar("SELECT value FROM storage_settings WHERE name = $1")
            .bind(setting.name())
            .fetch_optional(db)
            .await?,
    )
}

/// Sets a setting (`None`: back to the server's command-line default).
pub async fn set(
    db: impl PgExecutor<'_>,
    setting: Setting,
    value: Option<i64>,
) -> Result<(), Error> {
    match value {
        Some(v) => {
            sqlx::query(
                "INSERT INTO storage_settings (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            )
            .bind(setting.name())
            .bind(v)
            .execute(db)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM storage_settings WHERE name = $1")
                .bind(setting.name())
                .execute(db)
                .await?;
        }
    }
    Ok(())
}

/// Keeps `limiter` at the setting's value (or `default` when none is set), reading it
/// every few seconds until `shutdown` fires.
pub async fn follow(
    pool: sqlx::PgPool,
    setting: Setting,
    default: u64,
    limiter: std::sync::Arc<super::throttle::RateLimiter>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match get(&pool, setting).await {
            Ok(value) => limiter.set_mib(value.map_or(default, |v| v.max(0) as u64)),
            Err(e) => {
                tracing::debug!(error = %e, setting = setting.name(), "reading a setting failed")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
