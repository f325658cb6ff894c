//! Opening the metadata database: an external URL, or the embedded PostgreSQL in the data
//! directory (started if needed, adopted if already running) with, for `coffer serve`, its
//! standbys.

use anyhow::Context;
use coffer::pg::{EmbeddedPostgres, Options, StandbySet};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::path::PathBuf;
use std::str::FromStr;

use super::DatabaseArgs;

/// An open database and, for the embedded one, its manager and standbys.
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<EmbeddedPostgres>,
    /// `coffer serve`'s standbys of the embedded PostgreSQL (`--pg-standby`).
    pub standbys: Option<StandbySet>,
}

impl Database {
    /// Closes the pool and stops what `coffer serve` runs: the standbys' supervisor, the
    /// embedded PostgreSQL, then the standbys (after the primary, which sends them its last
    /// WAL on the way down).
    pub async fn close(self) {
        self.pool.close().await;
        let mut standbys = self.standbys;
        if let Some(standbys) = &mut standbys {
            standbys.stop_supervisor().await;
        }
        if let Some(pg) = &self.embedded
            && let Err(e) = pg.stop().await
        {
            tracing::warn!(error = %e, "stopping the embedded PostgreSQL failed");
        }
        if let Some(standbys) = standbys {
            standbys.stop().await;
        }
    }
}

/// Connects (starting the embedded PostgreSQL if needed) and applies migrations.
pub async fn open(args: &DatabaseArgs, max_connections: u32) -> anyhow::Result<Database> {
    open_with(args, max_connections, None).await
}

/// [`open`] for `coffer serve`: with the embedded PostgreSQL, also makes and runs the standbys
/// in `standby_dirs` (none: the primary waits for no standby), before the migrations, so
/// that every commit of the server waits for one.
pub async fn open_serving(
    args: &DatabaseArgs,
    max_connections: u32,
    standby_dirs: &[PathBuf],
) -> anyhow::Result<Database> {
    if !standby_dirs.is_empty() && args.database_url.is_some() {
        anyhow::bail!(
            "--pg-standby runs standbys of the embedded PostgreSQL and cannot be used with \
             --database-url; give that PostgreSQL synchronous standbys of its own (README, \
             \"Metadata copies\")"
        );
    }
    open_with(args, max_connections, Some(standby_dirs)).await
}

async fn open_with(
    args: &DatabaseArgs,
    max_connections: u32,
    standby_dirs: Option<&[PathBuf]>,
) -> anyhow::Result<Database> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    // No ping before handing out a pooled connection: sqlx's default costs a
    // round trip to PostgreSQL per query (a quarter of the server's CPU on small
    // GETs). A connection that died is found by the query itself, which fails
    // (the client gets a 500 and retries), and sqlx then drops it; idle
    // connections are recycled before servers usually cut them.
    let pool_options = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .test_before_acquire(false)
        .idle_timeout(std::time::Duration::from_secs(300))
        // An event per acquire, with the time it took, for /metrics (`coffer::metrics::db`).
        .acquire_time_level(coffer::metrics::db::ACQUIRE_LEVEL);
    let (pool, embedded, standbys) = match &args.database_url {
        Some(url) => {
            let opts = sqlx::postgres::PgConnectOptions::from_str(url)
                .context("parsing the database URL")?;
            let pool = pool_options
                .connect_with(opts)
                .await
                .context("connecting to PostgreSQL")?;
            (pool, None, None)
        }
        None => {
            let pg = EmbeddedPostgres::start(&args.data_dir, Options::default())
                .await
                .context("starting the embedded PostgreSQL")?;
            let standbys = match standby_dirs {
                Some(dirs) => match StandbySet::start(&pg, dirs).await {
                    Ok(standbys) => Some(standbys),
                    Err(e) => {
                        if !pg.adopted()
                            && let Err(stop) = pg.stop().await
                        {
                            tracing::warn!(error = %stop, "stopping the embedded PostgreSQL");
                        }
                        return Err(e).context("starting the PostgreSQL standbys");
                    }
                },
                None => None,
            };
            let pool = pool_options
                .connect_with(pg.connect_options("coffer"))
                .await
                .context("connecting to the embedded PostgreSQL")?;
            (pool, Some(pg), standbys)
        }
    };
    coffer::store::migrate(&pool)
        .await
        .context("applying migrations")?;
    Ok(Database {
        pool,
        embedded,
        standbys,
    })
}
