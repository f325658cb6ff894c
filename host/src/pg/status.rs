//! What `coffer admin pg status` shows: the data directory's PostgreSQL,
//! the standbys of the last `coffer serve`, and what the primary reports
//! about their replication. Reads pid files and, if the primary runs, asks
//! it; starts and changes nothing.

use std::path::{Path, PathBuf};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use super::embedded::{
    Error, STANDBY_SIGNAL, connect_options_at, io_err, running_postmaster, running_socket,
};
use super::promote::location;
use super::standby::{ReplicationState, recorded_standbys, replication_states, standby_name};

/// The data directory's PostgreSQL and its standbys.
#[derive(Debug, serde::Serialize)]
pub struct Status {
    /// The canonical data directory.
    pub data_dir: PathBuf,
    /// The directory the primary lives in (`postgres/`, `run/`,
    /// `postgres.log`).
    pub home: PathBuf,
    /// True when `DATA_DIR/postgres.location` names `home` (a promoted
    /// standby).
    pub promoted: bool,
    /// The primary's cluster directory.
    pub cluster: PathBuf,
    /// The primary's postmaster, if it runs.
    pub pid: Option<u32>,
    /// The running primary's `synchronous_standby_names`.
    pub synchronous_standby_names: Option<String>,
    /// The recorded standbys, then any other Coffer standby slot the primary
    /// has.
    pub standbys: Vec<StandbyStatus>,
}

/// One standby.
#[derive(Debug, serde::Serialize)]
pub struct StandbyStatus {
    /// Its directory, when recorded in `DATA_DIR/postgres.standbys`.
    pub dir: Option<PathBuf>,
    /// Its name (application name and slot).
    pub name: String,
    /// Its postmaster, if it runs.
    pub pid: Option<u32>,
    /// Its directory holds a standby cluster (`standby.signal`).
    pub is_standby: bool,
    /// What the running primary reports about it.
    pub replication: Option<ReplicationState>,
}

/// Collects the status of the PostgreSQL of `data_dir`.
pub async fn collect(data_dir: &Path) -> Result<Status, Error> {
    let data_dir = std::fs::canonicalize(data_dir)
        .map_err(io_err(format!("resolving {}", data_dir.display())))?;
    let pointed = location(&data_dir)?;
    let home = pointed.clone().unwrap_or_else(|| data_dir.clone());
    let cluster = home.join("postgres");
    let pid = running_postmaster(&cluster);
    let mut synchronous_standby_names = None;
    let mut states = Vec::new();
    if let Some((socket_dir, port)) = running_socket(&cluster) {
        let mut conn =
            PgConnection::connect_with(&connect_options_at(&socket_dir, port, "postgres"))
                .await
                .map_err(Error::Connect)?;
        synchronous_standby_names = Some(
            sqlx::query_scalar("SELECT current_setting('synchronous_standby_names')")
                .fetch_one(&mut conn)
                .await
                .map_err(Error::Query)?,
        );
        states = replication_states(&mut conn).await?;
        if let Err(err) = conn.close().await {
            tracing::debug!(error = %err, "closing admin connection");
        }
    }
    let mut standbys: Vec<StandbyStatus> = recorded_standbys(&data_dir)?
        .into_iter()
        .map(|dir| {
            let name = standby_name(&dir);
            let cluster = dir.join("postgres");
            StandbyStatus {
                pid: running_postmaster(&cluster),
                is_standby: cluster.join(STANDBY_SIGNAL).exists(),
                replication: states.iter().find(|state| state.name == name).cloned(),
                name,
                dir: Some(dir),
            }
        })
        .collect();
    for state in states {
        if !standbys.iter().any(|standby| standby.name == state.name) {
            standbys.push(StandbyStatus {
                dir: None,
                name: state.name.clone(),
                pid: None,
                is_standby: false,
                replication: Some(state),
            });
        }
    }
    Ok(Status {
        data_dir,
        promoted: pointed.is_some(),
        home,
        cluster,
        pid,
        synchronous_standby_names,
        standbys,
    })
}
