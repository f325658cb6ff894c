//! Opening the metadata database: an external URL, or the embedded PostgreSQL in the data
//! directory (started if needed, adopted if already running).

use anyhow::Context;
use coffer::pg::{EmbeddedPostgres, Options};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::str::FromStr;

use super::DatabaseArgs;

/// An open database and, for the embedded one, its manager.
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<EmbeddedPostgres>,
}

/// Connects (starting the embedded PostgreSQL if needed) and applies migrations.
pub async fn open(args: &DatabaseArgs, max_connections: u32) -> anyhow::Result<Database> {
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
        .idle_timeout(std::time::Duration::from_secs(300));
    let (pool, embedded) = match &args.database_url {
        Some(url) => {
            let opts = sqlx::postgres::PgConnectOptions::from_str(url)
                .context("parsing the database URL")?;
            let pool = pool_options
                .connect_with(opts)
                .await
                .context("connecting to PostgreSQL")?;
            (pool, None)
        }
        None => {
            let pg = EmbeddedPostgres::start(&args.data_dir, Options::default())
                .await
                .context("starting the embedded PostgreSQL")?;
            let pool = pool_options
                .connect_with(pg.connect_options("coffer"))
                .await
                .context("connecting to the embedded PostgreSQL")?;
            (pool, Some(pg))
        }
    };
    coffer::store::migrate(&pool)
        .await
        .context("applying migrations")?;
    Ok(Database { pool, embedded })
}
