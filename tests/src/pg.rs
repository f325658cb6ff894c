//! The PostgreSQL cluster shared by every server of one test process.
//!
//! Started lazily (the first [`database_url`] call) with the server library's own
//! [`coffer::pg::EmbeddedPostgres`] in ephemeral, no-fsync mode inside a temporary
//! directory. Each call creates a fresh database `t_<random>` and returns its URL, so servers
//! never see each other's data. The cluster is stopped by the process-exit hook (see the
//! crate documentation); a leftover cluster would otherwise keep running after `cargo test`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use coffer::pg::{EmbeddedPostgres, Options, SUPERUSER};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::sync::OnceCell;

use crate::util::random_hex;

struct Cluster {
    /// `None` once stopped at exit.
    pg: Mutex<Option<Arc<EmbeddedPostgres>>>,
    /// The temporary directory holding the cluster (removed at exit).
    dir: PathBuf,
}

static CLUSTER: OnceCell<Cluster> = OnceCell::const_new();

async fn cluster() -> Arc<EmbeddedPostgres> {
    let cluster = CLUSTER
        .get_or_init(|| async {
            crate::process::install_exit_hook();
            let dir = tempfile::Builder::new()
                .prefix("coffer-e2e-pg-")
                .tempdir()
                .expect("creating a temporary directory for the shared PostgreSQL")
                .keep();
            let options = Options {
                no_sync: true,
                ephemeral: true,
                // Every test server keeps a pool of up to 8 connections (see server.rs).
                max_connections: Some(500),
            };
            let pg = EmbeddedPostgres::start(&dir, options)
                .await
                .unwrap_or_else(|e| panic!("starting the shared test PostgreSQL failed: {e}"));
            Cluster {
                pg: Mutex::new(Some(Arc::new(pg))),
                dir,
            }
        })
        .await;
    cluster
        .pg
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .expect("the shared PostgreSQL was already stopped")
}

/// Creates a fresh database on the shared cluster (starting the cluster on first use) and
/// returns a URL for it that `coffer --database-url` (sqlx) accepts:
/// `postgres://coffer@localhost:5432/t_xxx?host=<socket dir>&sslmode=disable`.
pub async fn database_url() -> String {
    let pg = cluster().await;
    let name = format!("t_{}", random_hex(16));
    pg.create_database(&name)
        .await
        .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    let socket = pg.socket_dir().to_str().expect("socket dir is UTF-8");
    format!(
        "postgres://{SUPERUSER}@localhost:{port}/{name}?host={host}&sslmode=disable",
        port = pg.port(),
        host = utf8_percent_encode(socket, NON_ALPHANUMERIC),
    )
}

/// Creates a fresh database on the shared cluster and returns the cluster's Unix socket
/// file and the database's name (for a test that connects through a proxy).
pub async fn socket_and_database() -> (PathBuf, String) {
    let pg = cluster().await;
    let name = format!("t_{}", random_hex(16));
    pg.create_database(&name)
        .await
        .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    let socket = pg.socket_dir().join(format!(".s.PGSQL.{}", pg.port()));
    (socket, name)
}

/// Stops the shared cluster (if it was started) and removes its directory. Called from the
/// exit hook; blocking.
pub(crate) fn shutdown() {
    let Some(cluster) = CLUSTER.get() else {
        return;
    };
    let pg = cluster.pg.lock().unwrap_or_else(|e| e.into_inner()).take();
    // The cluster is ephemeral: dropping the last handle stops it (pg_ctl stop -m immediate).
    drop(pg);
    if !crate::process::keep_dirs() {
        let _ = std::fs::remove_dir_all(&cluster.dir);
    }
}
