//! Synchronous streaming standbys of the embedded PostgreSQL
//! (`coffer serve --pg-standby DIR`): making them, running and supervising
//! them, and the primary's synchronous rule.
//!
//! # Layout
//!
//! A standby directory is laid out like the PostgreSQL part of a data
//! directory, and is run by the same code ([`EmbeddedPostgres`], same
//! unprivileged user when Coffer runs as root, same traverse bits):
//!
//! ```text
//! DIR/postgres        the standby cluster, with standby.signal
//! DIR/run             its Unix socket directory (listen_addresses = '')
//! DIR/postgres.log    its server log
//! ```
//!
//! The data directory records the standbys `coffer serve` was last given in
//! `DATA_DIR/postgres.standbys` ([`STANDBYS_FILE`]), for
//! `coffer admin pg promote` and `coffer admin pg status`.
//!
//! # Names
//!
//! A standby is named after its canonical directory,
//! `coffer_standby_<FNV-1a 64 of the path>` ([`standby_name`]): the name is
//! its `application_name`, its physical replication slot on the primary and
//! its entry in `synchronous_standby_names`.
//!
//! # Making a standby
//!
//! A standby streams through its replication slot, so a standby that was
//! down catches up from the WAL the primary kept for it (at most
//! `max_slot_wal_keep_size`, 4 GB). It is made with
//! `pg_basebackup -X stream -C -S NAME` from the primary's Unix socket into
//! `DIR/postgres.basebackup`, given `standby.signal`, then
//! renamed to `DIR/postgres`, so a cluster at `DIR/postgres` is always a
//! complete one. An existing standby is used again unless one of these holds,
//! in which case it is removed and made again from a fresh base backup:
//! it is no longer a standby (promoted, or a former primary), the primary has
//! no slot for it (a new primary after a promotion, or the standby was left
//! out of a run, which drops its slot), or its slot is lost (it was down
//! while more than `max_slot_wal_keep_size` of WAL was written). A directory
//! holding another PostgreSQL cluster (another system identifier), or a
//! `DIR/postgres` without a cluster, is never touched: that is an error. A
//! standby cluster is removed by renaming it to `DIR/postgres.removed` first,
//! so an interrupted removal leaves no half cluster behind.
//!
//! # The synchronous rule
//!
//! `synchronous_standby_names = 'ANY 1 (name, ...)'` over every configured
//! standby, with `synchronous_commit = on`: a commit returns once it is
//! flushed on the primary's disk and on at least one standby's disk. With two
//! standbys one may be down; with one, a commit waits while it is down.
//!
//! The rule is set only once a standby streams, never at the start of the
//! primary: [`StandbySet::start`] starts the primary's standbys, waits until
//! at least one streams (failing if none does within two minutes, since every
//! commit would then wait forever), then sets the rule and reloads. The
//! commits before (`CREATE DATABASE` at the primary's start) are in the base
//! backup or streamed; the migrations and the first account come after. The
//! rule is not persistent: the primary's next start writes an empty one, so
//! a `coffer serve` without `--pg-standby` (or `coffer admin` starting the
//! primary for a command while no server runs) never waits for a standby.
//!
//! # Supervision and shutdown
//!
//! A task checks every two seconds that each standby's postmaster runs and
//! its slot is not lost, restarts (or makes again) the ones that fail, with a
//! backoff up to a minute, and logs when a standby starts or stops streaming
//! and when none does. At shutdown the supervisor stops first, then the
//! primary (which sends its last WAL to the standbys), then the standbys.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::embedded::{
    EmbeddedPostgres, Error, Options, Role, RunAs, STANDBY_SIGNAL, SUPERUSER, StandbyLink, fnv1a64,
    io_err, remove_if_exists, run_failure, system_identifier,
};

/// The file in the data directory listing the standbys of the last
/// `coffer serve`, one canonical directory per line.
pub const STANDBYS_FILE: &str = "postgres.standbys";
/// Prefix of the standbys' names (application name and replication slot).
const NAME_PREFIX: &str = "coffer_standby_";
/// How long a start waits for a standby to stream.
const STREAM_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a start waits for the primary to report a synchronous standby
/// once the rule is set.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the supervisor looks at the standbys.
const SUPERVISE_INTERVAL: Duration = Duration::from_secs(2);
/// The longest wait between two attempts to restart a failing standby.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long `pg_basebackup` may take.
const BASE_BACKUP_TIMEOUT: Duration = Duration::from_secs(3600);
/// How long a slot still in use by a walsender that is going away may take
/// to become free for dropping.
const SLOT_RELEASE_TIMEOUT: Duration = Duration::from_secs(10);
/// Delay between polls of the primary.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The name of the standby in `dir` (a canonical path): its
/// `application_name`, its replication slot and its entry in
/// `synchronous_standby_names`.
pub fn standby_name(dir: &Path) -> String {
    format!(
        "{NAME_PREFIX}{:016x}",
        fnv1a64(dir.as_os_str().as_encoded_bytes())
    )
}

/// The primary's `synchronous_standby_names` for these standbys: a commit
/// waits for any one of them.
pub fn synchronous_rule(names: &[String]) -> String {
    format!("ANY 1 ({})", names.join(", "))
}

/// What the primary reports about one standby's slot and connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplicationState {
    /// The standby's name (its slot).
    pub name: String,
    /// `pg_replication_slots.wal_status`: `reserved`, `extended`,
    /// `unreserved` or `lost`.
    pub slot_wal_status: Option<String>,
    /// `pg_stat_replication.state` (`streaming`, `catchup`, ...); `None`
    /// when the standby is not connected.
    pub state: Option<String>,
    /// `pg_stat_replication.sync_state` (`quorum` under `ANY`, `async`).
    pub sync_state: Option<String>,
    /// WAL position the standby has flushed to its disk.
    pub flush_lsn: Option<String>,
    /// WAL position the standby has replayed.
    pub replay_lsn: Option<String>,
}

impl ReplicationState {
    /// True when the standby is connected and caught up.
    pub fn streaming(&self) -> bool {
        self.state.as_deref() == Some("streaming")
    }
}

/// The slots of Coffer's standbys on the primary, with the state of the
/// standby connected through each.
pub(crate) async fn replication_states(
    conn: &mut PgConnection,
) -> Result<Vec<ReplicationState>, Error> {
    let rows = sqlx::query(
        "SELECT s.slot_name::text AS name, s.wal_status, r.state, r.sync_state, \
                r.flush_lsn::text AS flush_lsn, r.replay_lsn::text AS replay_lsn \
         FROM pg_replication_slots s \
         LEFT JOIN pg_stat_replication r ON r.application_name = s.slot_name::text \
         WHERE starts_with(s.slot_name::text, $1) \
         ORDER BY s.slot_name",
    )
    .bind(NAME_PREFIX)
    .fetch_all(&mut *conn)
    .await
    .map_err(Error::Query)?;
    rows.iter()
        .map(|row| {
            Ok(ReplicationState {
                name: row.try_get("name")?,
                slot_wal_status: row.try_get("wal_status")?,
                state: row.try_get("state")?,
                sync_state: row.try_get("sync_state")?,
                flush_lsn: row.try_get("flush_lsn")?,
                replay_lsn: row.try_get("replay_lsn")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::Query)
}

/// The standbys recorded in `DATA_DIR/postgres.standbys` (none if the file
/// does not exist).
pub fn recorded_standbys(data_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let path = data_dir.join(STANDBYS_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(PathBuf::from)
            .collect()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(io_err(format!("reading {}", path.display()))(err)),
    }
}

/// Replaces `DATA_DIR/postgres.standbys` (removes it for no standbys).
pub(crate) fn record_standbys(data_dir: &Path, dirs: &[PathBuf]) -> Result<(), Error> {
    let path = data_dir.join(STANDBYS_FILE);
    if dirs.is_empty() {
        return remove_if_exists(&path);
    }
    let mut text = String::from(
        "# The PostgreSQL standbys (`--pg-standby`) of the last `coffer serve` on this data\n\
         # directory; rewritten at every start. Read by `coffer admin pg promote` and `status`.\n",
    );
    for dir in dirs {
        text.push_str(&dir.to_string_lossy());
        text.push('\n');
    }
    write_atomically(&path, text.as_bytes())
}

/// Writes `path` through a temporary file, fsynced and renamed into place,
/// then fsyncs the directory.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let staging = path.with_extension("tmp");
    let mut file =
        fs::File::create(&staging).map_err(io_err(format!("creating {}", staging.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_err(format!("writing {}", staging.display())))?;
    fs::rename(&staging, path).map_err(io_err(format!(
        "renaming {} to {}",
        staging.display(),
        path.display()
    )))?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io_err(format!("syncing {}", dir.display())))?;
    }
    Ok(())
}

/// What a standby needs of its primary, also after the primary's handle is
/// gone (the supervisor).
#[derive(Debug, Clone)]
struct PrimaryLink {
    connect: PgConnectOptions,
    socket_dir: PathBuf,
    port: u16,
    system_identifier: u64,
}

impl PrimaryLink {
    fn of(primary: &EmbeddedPostgres) -> Result<Self, Error> {
        Ok(PrimaryLink {
            connect: primary.connect_options("postgres"),
            socket_dir: primary.socket_dir().to_path_buf(),
            port: primary.port(),
            system_identifier: system_identifier(primary.cluster_dir())?,
        })
    }

    async fn connect(&self) -> Result<PgConnection, Error> {
        PgConnection::connect_with(&self.connect)
            .await
            .map_err(Error::Connect)
    }
}

/// One standby and what the supervisor remembers about it.
#[derive(Debug)]
struct Standby {
    name: String,
    server: EmbeddedPostgres,
    /// Failed attempts to make it run since it last ran.
    failures: u32,
    /// No new attempt before this.
    retry_at: Instant,
    /// Whether it streamed at the last look (for logging changes).
    streaming: Option<bool>,
}

impl Standby {
    /// Settles the paths of the standby in `dir` (created if missing), run
    /// as the primary's user; touches no server.
    fn new(primary: &EmbeddedPostgres, dir: &Path) -> Result<Self, Error> {
        let dir = fs::create_dir_all(dir)
            .and_then(|()| fs::canonicalize(dir))
            .map_err(io_err(format!(
                "creating standby directory {}",
                dir.display()
            )))?;
        let name = standby_name(&dir);
        let socket = primary.socket_dir().to_str().ok_or_else(|| {
            Error::InvalidPath(format!("{} is not UTF-8", primary.socket_dir().display()))
        })?;
        let link = StandbyLink {
            conninfo: format!(
                "host={} port={} user={SUPERUSER} application_name={name}",
                conninfo_value(socket),
                primary.port()
            ),
            slot: name.clone(),
        };
        let server = EmbeddedPostgres::at(
            &dir,
            &dir,
            primary.run_as().cloned(),
            primary.options().clone(),
            Role::Standby(link),
        )?;
        Ok(Standby {
            name,
            server,
            failures: 0,
            retry_at: Instant::now(),
            streaming: None,
        })
    }

    fn dir(&self) -> &Path {
        self.server.home()
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Standby {
            dir: self.dir().to_path_buf(),
            message: message.into(),
        }
    }

    /// Makes the standby run and stream: uses the cluster in its directory
    /// if it can, otherwise makes it from a fresh base backup (see the module
    /// documentation), then starts or adopts it.
    async fn make_ready(
        &mut self,
        primary: &PrimaryLink,
        conn: &mut PgConnection,
    ) -> Result<(), Error> {
        let cluster = self.server.cluster_dir().to_path_buf();
        // A cluster being removed is renamed here first, so that an
        // interrupted removal never leaves half a cluster in its place.
        let removed = self.dir().join("postgres.removed");
        if removed.exists() {
            fs::remove_dir_all(&removed)
                .map_err(io_err(format!("removing {}", removed.display())))?;
        }
        if cluster.join("PG_VERSION").exists() {
            let id = system_identifier(&cluster)?;
            if id != primary.system_identifier {
                return Err(self.error(format!(
                    "{} holds another PostgreSQL cluster (system identifier {id}, the primary's is \
                     {}); Coffer leaves it alone: move it away or give another directory",
                    cluster.display(),
                    primary.system_identifier
                )));
            }
            if let Some(reason) = self.why_remake(conn).await? {
                tracing::warn!(
                    standby = %self.dir().display(),
                    reason,
                    "making the standby again from a fresh base backup"
                );
                self.server.stop_whatever_runs().await?;
                fs::rename(&cluster, &removed).map_err(io_err(format!(
                    "renaming {} to {}",
                    cluster.display(),
                    removed.display()
                )))?;
                fs::remove_dir_all(&removed)
                    .map_err(io_err(format!("removing {}", removed.display())))?;
            }
        } else if fs::read_dir(&cluster).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(self.error(format!(
                "{} exists but holds no PostgreSQL cluster (no PG_VERSION); move it away",
                cluster.display()
            )));
        }
        if !cluster.join("PG_VERSION").exists() {
            self.base_backup(primary, conn).await?;
        }
        self.server.boot().await
    }

    /// Why the existing standby cluster cannot be used, if it cannot.
    async fn why_remake(&self, conn: &mut PgConnection) -> Result<Option<&'static str>, Error> {
        if !self.server.cluster_dir().join(STANDBY_SIGNAL).exists() {
            return Ok(Some(
                "it is no longer a standby (a promoted standby or a former primary)",
            ));
        }
        let status: Option<Option<String>> =
            sqlx::query_scalar("SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1")
                .bind(&self.name)
                .fetch_optional(&mut *conn)
                .await
                .map_err(Error::Query)?;
        Ok(match status {
            None => Some(
                "the primary has no replication slot for it (a new primary, or the standby was \
                 left out of a run)",
            ),
            Some(Some(status)) if status == "lost" => {
                Some("the primary removed WAL the standby had not received (its slot is lost)")
            }
            Some(_) => None,
        })
    }

    /// `pg_basebackup` from the primary into `DIR/postgres.basebackup`,
    /// creating the standby's slot, then `standby.signal` and the rename to
    /// `DIR/postgres`.
    async fn base_backup(
        &self,
        primary: &PrimaryLink,
        conn: &mut PgConnection,
    ) -> Result<(), Error> {
        let began = Instant::now();
        let staging = self.dir().join("postgres.basebackup");
        if staging.exists() {
            fs::remove_dir_all(&staging)
                .map_err(io_err(format!("removing leftover {}", staging.display())))?;
        }
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&staging)
            .map_err(io_err(format!("creating {}", staging.display())))?;
        self.server.give_to_server_user(&staging)?;
        drop_slot(conn, &self.name).await?;
        tracing::info!(
            standby = %self.dir().display(),
            name = self.name,
            "making a standby: base backup of the primary"
        );
        let mut cmd = self.server.command("pg_basebackup");
        cmd.arg("-D")
            .arg(&staging)
            .arg("-h")
            .arg(&primary.socket_dir)
            .arg("-p")
            .arg(primary.port.to_string())
            .args(["-U", SUPERUSER, "-X", "stream", "-C", "-S", &self.name])
            .args(["-c", "fast", "-w"]);
        if self.server.options().no_sync {
            cmd.arg("-N");
        }
        let failure = run_failure(cmd, BASE_BACKUP_TIMEOUT, "pg_basebackup")
            .await
            .map(|why| format!("{why} (pg_basebackup comes with the PostgreSQL client programs)"));
        if let Some(message) = failure {
            if let Err(err) = fs::remove_dir_all(&staging) {
                tracing::warn!(error = %err, dir = %staging.display(), "removing a failed base backup");
            }
            if let Err(err) = drop_slot(conn, &self.name).await {
                tracing::warn!(error = %err, slot = self.name, "dropping the slot of a failed base backup");
            }
            return Err(self.error(message));
        }
        let signal = staging.join(STANDBY_SIGNAL);
        fs::File::create(&signal).map_err(io_err(format!("creating {}", signal.display())))?;
        self.server.give_to_server_user(&signal)?;
        let cluster = self.server.cluster_dir();
        fs::rename(&staging, cluster).map_err(io_err(format!(
            "renaming {} to {}",
            staging.display(),
            cluster.display()
        )))?;
        tracing::info!(
            standby = %self.dir().display(),
            elapsed_ms = began.elapsed().as_millis() as u64,
            "base backup done"
        );
        Ok(())
    }
}

/// Drops a replication slot if it exists, waiting for a walsender that
/// still holds it to go away.
async fn drop_slot(conn: &mut PgConnection, name: &str) -> Result<(), Error> {
    let began = Instant::now();
    loop {
        let result = sqlx::query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
             WHERE slot_name = $1",
        )
        .bind(name)
        .execute(&mut *conn)
        .await;
        match result {
            Ok(_) => return Ok(()),
            // object_in_use: a walsender still streams through it.
            Err(sqlx::Error::Database(db))
                if db.code().as_deref() == Some("55006")
                    && began.elapsed() < SLOT_RELEASE_TIMEOUT =>
            {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            Err(err) => return Err(Error::Query(err)),
        }
    }
}

/// Drops the slots of Coffer standbys not in `keep`: a standby left out of a
/// run must not make the primary keep WAL for it.
async fn drop_other_slots(conn: &mut PgConnection, keep: &[String]) -> Result<(), Error> {
    let slots: Vec<String> = sqlx::query_scalar(
        "SELECT slot_name::text FROM pg_replication_slots WHERE starts_with(slot_name::text, $1)",
    )
    .bind(NAME_PREFIX)
    .fetch_all(&mut *conn)
    .await
    .map_err(Error::Query)?;
    for slot in slots.iter().filter(|slot| !keep.contains(slot)) {
        tracing::warn!(
            slot,
            "dropping the replication slot of a standby that is no longer configured; given \
             again, it is made again from a base backup"
        );
        drop_slot(conn, slot).await?;
    }
    Ok(())
}

/// The standbys of the embedded PostgreSQL, running and supervised; see the
/// module documentation.
#[derive(Debug)]
pub struct StandbySet {
    dirs: Vec<PathBuf>,
    run_as: Option<RunAs>,
    options: Options,
    stop_tx: watch::Sender<bool>,
    supervisor: Option<JoinHandle<Vec<Standby>>>,
    /// The standbys, once the supervisor has handed them back.
    held: Vec<Standby>,
}

impl StandbySet {
    /// Makes, starts (or adopts) and supervises the standbys in `dirs`, and
    /// sets the primary's synchronous rule once one streams. With no
    /// directories, the primary is left without standbys: its rule cleared
    /// (a primary adopted from a previous run may still have it) and the
    /// slots of earlier standbys dropped. `primary` must be a running
    /// primary.
    pub async fn start(primary: &EmbeddedPostgres, dirs: &[PathBuf]) -> Result<Self, Error> {
        let link = PrimaryLink::of(primary)?;
        let mut standbys = Vec::with_capacity(dirs.len());
        for dir in dirs {
            let standby = Standby::new(primary, dir)?;
            check_placement(primary, &standbys, &standby)?;
            standbys.push(standby);
        }
        let names: Vec<String> = standbys.iter().map(|s| s.name.clone()).collect();
        let canonical: Vec<PathBuf> = standbys.iter().map(|s| s.dir().to_path_buf()).collect();
        if primary.adopted() {
            primary.set_synchronous_standby_names("").await?;
        }
        let mut conn = link.connect().await?;
        drop_other_slots(&mut conn, &names).await?;
        record_standbys(primary.data_dir(), &canonical)?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut set = StandbySet {
            dirs: canonical,
            run_as: primary.run_as().cloned(),
            options: primary.options().clone(),
            stop_tx,
            supervisor: None,
            held: Vec::new(),
        };
        if standbys.is_empty() {
            close(conn).await;
            return Ok(set);
        }

        let mut failures = Vec::new();
        for standby in &mut standbys {
            match standby.make_ready(&link, &mut conn).await {
                Ok(()) => tracing::info!(
                    standby = %standby.dir().display(),
                    name = standby.name,
                    adopted = standby.server.adopted(),
                    "standby running"
                ),
                Err(err) => {
                    tracing::error!(
                        standby = %standby.dir().display(),
                        error = %err,
                        "standby failed to start; retrying in the background"
                    );
                    standby.failures = 1;
                    failures.push(err.to_string());
                }
            }
        }
        let outcome = if failures.len() == standbys.len() {
            Err(Error::NoStandbyStreaming(failures.join("; ")))
        } else {
            set_rule(primary, &mut conn, &names).await
        };
        close(conn).await;
        if let Err(err) = outcome {
            set.held = standbys;
            set.stop().await;
            return Err(err);
        }
        set.supervisor = Some(tokio::spawn(supervise(standbys, link, stop_rx)));
        Ok(set)
    }

    /// The standbys' canonical directories.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Stops the supervisor (so that stopping the primary is not taken for
    /// a failure), leaving the standbys running.
    pub async fn stop_supervisor(&mut self) {
        let _ = self.stop_tx.send(true);
        if let Some(task) = self.supervisor.take() {
            match task.await {
                Ok(standbys) => self.held = standbys,
                Err(err) => tracing::error!(error = %err, "the standby supervisor failed"),
            }
        }
    }

    /// Stops the supervisor and the standbys; call it after stopping the
    /// primary, which sends its last WAL to them on the way down.
    pub async fn stop(mut self) {
        self.stop_supervisor().await;
        let held = std::mem::take(&mut self.held);
        if held.len() == self.dirs.len() {
            for standby in &held {
                stop_standby(&standby.server).await;
            }
            return;
        }
        // The supervisor did not hand the standbys back: stop whatever runs
        // in their directories.
        for dir in &self.dirs {
            match EmbeddedPostgres::at(
                dir,
                dir,
                self.run_as.clone(),
                self.options.clone(),
                Role::Standby(StandbyLink::default()),
            ) {
                Ok(server) => stop_standby(&server).await,
                Err(err) => {
                    tracing::warn!(standby = %dir.display(), error = %err, "stopping a standby")
                }
            }
        }
    }
}

impl Drop for StandbySet {
    fn drop(&mut self) {
        if let Some(task) = &self.supervisor {
            task.abort();
        }
    }
}

/// Stops one standby, logging the outcome.
async fn stop_standby(server: &EmbeddedPostgres) {
    match server.stop_whatever_runs().await {
        Ok(()) => tracing::info!(standby = %server.home().display(), "standby stopped"),
        Err(err) => {
            tracing::warn!(standby = %server.home().display(), error = %err, "stopping a standby")
        }
    }
}

/// Waits until a standby streams, sets the rule, and waits until the
/// primary counts a standby as synchronous.
async fn set_rule(
    primary: &EmbeddedPostgres,
    conn: &mut PgConnection,
    names: &[String],
) -> Result<(), Error> {
    let began = Instant::now();
    tracing::info!("waiting for a standby to stream");
    loop {
        let states = replication_states(conn).await?;
        if let Some(state) = states
            .iter()
            .find(|state| state.streaming() && names.contains(&state.name))
        {
            tracing::info!(
                name = state.name,
                elapsed_ms = began.elapsed().as_millis() as u64,
                "a standby streams"
            );
            break;
        }
        if began.elapsed() > STREAM_TIMEOUT {
            return Err(Error::NoStandbyStreaming(format!(
                "none streamed within {}s, so every commit would wait; see the standbys' \
                 postgres.log",
                STREAM_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    let rule = synchronous_rule(names);
    primary.set_synchronous_standby_names(&rule).await?;
    let began = Instant::now();
    loop {
        let states = replication_states(conn).await?;
        if states
            .iter()
            .any(|state| matches!(state.sync_state.as_deref(), Some("quorum" | "sync")))
        {
            tracing::info!(
                synchronous_standby_names = rule,
                "commits now wait for the primary's disk and at least one standby's disk"
            );
            return Ok(());
        }
        if began.elapsed() > SYNC_TIMEOUT {
            return Err(Error::NoStandbyStreaming(format!(
                "the primary reported no synchronous standby within {}s of setting \
                 synchronous_standby_names",
                SYNC_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Rejects a standby directory that is the primary's, inside or around a
/// cluster, or given twice; warns about one on the primary's filesystem.
fn check_placement(
    primary: &EmbeddedPostgres,
    earlier: &[Standby],
    standby: &Standby,
) -> Result<(), Error> {
    let dir = standby.dir();
    let clusters = std::iter::once((primary.home(), primary.cluster_dir()))
        .chain(earlier.iter().map(|s| (s.dir(), s.server.cluster_dir())));
    for (home, cluster) in clusters {
        if dir == home
            || dir.starts_with(cluster)
            || cluster.starts_with(standby.server.cluster_dir())
        {
            return Err(standby.error(if home == primary.home() && dir == home {
                "is where the primary lives (after a promotion, the promoted standby's \
                 directory is the primary's)"
                    .to_owned()
            } else {
                format!(
                    "overlaps {} (given twice, or inside or around another cluster)",
                    home.display()
                )
            }));
        }
    }
    let device = |path: &Path| fs::metadata(path).map(|meta| meta.dev()).ok();
    if device(dir).is_some() && device(dir) == device(primary.cluster_dir()) {
        tracing::warn!(
            standby = %dir.display(),
            primary = %primary.cluster_dir().display(),
            "the standby is on the same filesystem as the primary: it does not survive the loss \
             of that disk"
        );
    }
    Ok(())
}

/// Closes an admin connection, logging a failure.
async fn close(conn: PgConnection) {
    if let Err(err) = conn.close().await {
        tracing::debug!(error = %err, "closing admin connection");
    }
}

/// The supervisor: every [`SUPERVISE_INTERVAL`] until told to stop, see
/// [`check`]. Hands the standbys back when it stops.
async fn supervise(
    mut standbys: Vec<Standby>,
    primary: PrimaryLink,
    mut stop: watch::Receiver<bool>,
) -> Vec<Standby> {
    let mut conn = None;
    let mut none_streaming = false;
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            () = tokio::time::sleep(SUPERVISE_INTERVAL) => {}
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            () = check(&mut standbys, &primary, &mut conn, &mut none_streaming) => {}
        }
    }
    if let Some(conn) = conn {
        close(conn).await;
    }
    standbys
}

/// One look at the standbys: restart those whose postmaster is gone or whose
/// slot is lost, and log changes of streaming.
async fn check(
    standbys: &mut [Standby],
    primary: &PrimaryLink,
    conn: &mut Option<PgConnection>,
    none_streaming: &mut bool,
) {
    if conn.is_none() {
        match primary.connect().await {
            Ok(new) => *conn = Some(new),
            Err(err) => {
                tracing::debug!(error = %err, "standby supervisor: primary unreachable");
                return;
            }
        }
    }
    let Some(db) = conn.as_mut() else { return };
    let states = match replication_states(db).await {
        Ok(states) => states,
        Err(err) => {
            tracing::debug!(error = %err, "standby supervisor: querying the primary");
            *conn = None;
            return;
        }
    };
    for standby in standbys.iter_mut() {
        let state = states.iter().find(|state| state.name == standby.name);
        let trouble = if standby.server.postmaster_pid().is_none() {
            Some("its PostgreSQL is not running")
        } else if state.is_none_or(|state| state.slot_wal_status.as_deref() == Some("lost")) {
            Some("its replication slot is gone or lost")
        } else {
            None
        };
        match trouble {
            None => standby.failures = 0,
            Some(_) if Instant::now() < standby.retry_at => {}
            Some(trouble) => {
                tracing::warn!(standby = %standby.dir().display(), trouble, "restarting the standby");
                match standby.make_ready(primary, db).await {
                    Ok(()) => {
                        standby.failures = 0;
                        tracing::info!(standby = %standby.dir().display(), "standby running again");
                    }
                    Err(err) => {
                        standby.failures += 1;
                        let backoff = SUPERVISE_INTERVAL
                            .saturating_mul(1 << standby.failures.min(6))
                            .min(MAX_BACKOFF);
                        standby.retry_at = Instant::now() + backoff;
                        tracing::error!(
                            standby = %standby.dir().display(),
                            error = %err,
                            retry_in_s = backoff.as_secs(),
                            "restarting the standby failed"
                        );
                    }
                }
            }
        }
        let streaming = state.is_some_and(ReplicationState::streaming);
        if standby.streaming != Some(streaming) {
            if streaming {
                tracing::info!(standby = %standby.dir().display(), "standby streaming");
            } else {
                tracing::warn!(
                    standby = %standby.dir().display(),
                    "standby not streaming: commits are confirmed by the other standbys, or wait"
                );
            }
            standby.streaming = Some(streaming);
        }
    }
    let none = !standbys.iter().any(|s| s.streaming == Some(true));
    if none && !*none_streaming {
        tracing::error!("no standby is streaming: every commit waits until one catches up");
    } else if !none && *none_streaming {
        tracing::info!("a standby streams again: commits proceed");
    }
    *none_streaming = none;
}

/// A libpq connection-string value, single-quoted.
fn conninfo_value(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::pg::embedded::tests::test_options;
    use crate::pg::embedded::{cluster_processes, connect_options_at, running_socket};
    use sqlx::Executor;

    /// A throwaway, unsynced, ephemeral primary in its own temporary
    /// directory.
    pub(crate) async fn test_primary() -> (tempfile::TempDir, EmbeddedPostgres) {
        let dir = tempfile::tempdir().unwrap();
        let pg = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        (dir, pg)
    }

    /// A connection to the running cluster in `home`.
    pub(crate) async fn connect_to(home: &Path, database: &str) -> PgConnection {
        let (socket, port) = running_socket(&home.join("postgres")).unwrap();
        PgConnection::connect_with(&connect_options_at(&socket, port, database))
            .await
            .unwrap()
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`) to every process of the
    /// cluster in `home`.
    pub(crate) fn signal_cluster(home: &Path, signal: &str) {
        let pids = cluster_processes(&home.join("postgres"));
        assert!(!pids.is_empty(), "no processes in {}", home.display());
        // One by one: a backend may exit meanwhile.
        let delivered = pids.iter().filter(|pid| {
            std::process::Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid.to_string())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        });
        assert!(
            delivered.count() > 0,
            "no process of {} took the signal",
            home.display()
        );
    }

    /// Kills every process of the cluster in `home` and waits until they
    /// are gone.
    pub(crate) async fn kill_cluster(home: &Path) {
        signal_cluster(home, "KILL");
        for _ in 0..400 {
            if cluster_processes(&home.join("postgres")).is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("processes of {} survived SIGKILL", home.display());
    }

    /// The primary's view of the standby in `dir`.
    async fn state_of(primary: &EmbeddedPostgres, dir: &Path) -> Option<ReplicationState> {
        let mut conn = connect_to(primary.home(), "postgres").await;
        let name = standby_name(&fs::canonicalize(dir).unwrap());
        let states = replication_states(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        states.into_iter().find(|state| state.name == name)
    }

    /// Waits until `check` holds (20 s at most).
    async fn eventually<F, Fut>(what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..200 {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Commits a row into `marker` on the primary.
    async fn insert(primary: &EmbeddedPostgres, value: i32) {
        let mut conn = connect_to(primary.home(), DEFAULT).await;
        conn.execute(format!("INSERT INTO marker VALUES ({value})").as_str())
            .await
            .unwrap();
        conn.close().await.unwrap();
    }

    const DEFAULT: &str = crate::pg::DEFAULT_DATABASE;

    #[tokio::test]
    async fn standby_streams_and_commits_wait_for_it() {
        let (_dir, primary) = test_primary().await;
        let standby_dir = tempfile::tempdir().unwrap();
        let began = Instant::now();
        let mut set = StandbySet::start(&primary, &[standby_dir.path().to_path_buf()])
            .await
            .unwrap();
        eprintln!("making and starting a standby took {:?}", began.elapsed());
        let home = fs::canonicalize(standby_dir.path()).unwrap();
        assert_eq!(set.dirs(), std::slice::from_ref(&home));
        assert_eq!(
            recorded_standbys(primary.data_dir()).unwrap(),
            std::slice::from_ref(&home)
        );
        assert!(home.join("postgres").join(STANDBY_SIGNAL).exists());
        let state = state_of(&primary, &home).await.unwrap();
        assert!(state.streaming(), "{state:?}");
        assert_eq!(state.sync_state.as_deref(), Some("quorum"));

        let mut conn = connect_to(primary.home(), DEFAULT).await;
        let rule: String = sqlx::query_scalar("SHOW synchronous_standby_names")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(rule, synchronous_rule(&[standby_name(&home)]));
        let commit: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(commit, "on");
        conn.execute("CREATE TABLE marker (v int)").await.unwrap();
        conn.close().await.unwrap();
        insert(&primary, 1).await;
        // The standby is a hot standby: the row shows there once replayed.
        let mut on_standby = connect_to(&home, DEFAULT).await;
        let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&mut on_standby)
            .await
            .unwrap();
        assert!(in_recovery);
        let mut replayed = 0;
        for _ in 0..200 {
            replayed = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM marker")
                .fetch_one(&mut on_standby)
                .await
                .unwrap();
            if replayed == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(replayed, 1, "the row shows on the standby");
        on_standby.close().await.unwrap();

        // A standby that receives nothing holds every commit back.
        signal_cluster(&home, "STOP");
        let primary_home = primary.home().to_path_buf();
        let pending = tokio::spawn(async move {
            let mut conn = connect_to(&primary_home, DEFAULT).await;
            conn.execute("INSERT INTO marker VALUES (2)").await.unwrap();
            conn.close().await.unwrap();
        });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let waited = !pending.is_finished();
        signal_cluster(&home, "CONT");
        assert!(waited, "the commit returned while the standby was stopped");
        tokio::time::timeout(Duration::from_secs(20), pending)
            .await
            .expect("the commit returns once the standby confirms it")
            .unwrap();

        set.stop_supervisor().await;
        primary.stop().await.unwrap();
        set.stop().await;
        assert!(cluster_processes(&home.join("postgres")).is_empty());
    }

    #[tokio::test]
    async fn supervisor_restarts_a_killed_standby() {
        let (_dir, primary) = test_primary().await;
        let standby_dir = tempfile::tempdir().unwrap();
        let set = StandbySet::start(&primary, &[standby_dir.path().to_path_buf()])
            .await
            .unwrap();
        let home = fs::canonicalize(standby_dir.path()).unwrap();
        let before = crate::pg::embedded::running_postmaster(&home.join("postgres")).unwrap();
        kill_cluster(&home).await;
        let began = Instant::now();
        eventually("the standby to stream again", || async {
            state_of(&primary, &home)
                .await
                .is_some_and(|state| state.streaming())
        })
        .await;
        eprintln!(
            "the supervisor brought the standby back in {:?}",
            began.elapsed()
        );
        let after = crate::pg::embedded::running_postmaster(&home.join("postgres")).unwrap();
        assert_ne!(before, after);
        primary.stop().await.unwrap();
        set.stop().await;
    }

    #[tokio::test]
    async fn standby_is_reused_or_made_again() {
        let (dir, primary) = test_primary().await;
        let standby_dir = tempfile::tempdir().unwrap();
        let dirs = [standby_dir.path().to_path_buf()];
        let home = fs::canonicalize(standby_dir.path()).unwrap();
        let version = home.join("postgres").join("PG_VERSION");
        let set = StandbySet::start(&primary, &dirs).await.unwrap();
        let made = fs::metadata(&version).unwrap().modified().unwrap();
        primary.stop().await.unwrap();
        set.stop().await;
        drop(primary);

        // A restart uses the standby again: it catches up through its slot.
        let primary = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        let set = StandbySet::start(&primary, &dirs).await.unwrap();
        assert_eq!(fs::metadata(&version).unwrap().modified().unwrap(), made);
        set.stop().await;

        // A run without it drops its slot and clears the rule ...
        let none = StandbySet::start(&primary, &[]).await.unwrap();
        assert!(recorded_standbys(primary.data_dir()).unwrap().is_empty());
        assert_eq!(state_of(&primary, &home).await, None);
        none.stop().await;
        // ... so given again, it is made again from a fresh base backup.
        std::thread::sleep(Duration::from_millis(20));
        let set = StandbySet::start(&primary, &dirs).await.unwrap();
        assert_ne!(fs::metadata(&version).unwrap().modified().unwrap(), made);
        assert!(state_of(&primary, &home).await.unwrap().streaming());
        primary.stop().await.unwrap();
        set.stop().await;
    }

    #[tokio::test]
    async fn another_cluster_is_left_alone() {
        let (_dir, primary) = test_primary().await;
        let (other_dir, other) = test_primary().await;
        other.stop().await.unwrap();
        let err = StandbySet::start(&primary, &[other_dir.path().to_path_buf()])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NoStandbyStreaming(_)), "{err}");
        assert!(
            err.to_string().contains("another PostgreSQL cluster"),
            "{err}"
        );
        assert!(other.cluster_dir().join("PG_VERSION").exists());
        assert!(!other.cluster_dir().join(STANDBY_SIGNAL).exists());
        // Nor may a standby be the primary's own directory.
        let err = StandbySet::start(&primary, &[primary.home().to_path_buf()])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Standby { .. }), "{err}");
        primary.stop().await.unwrap();
    }

    #[test]
    fn names_and_rule() {
        let name = standby_name(Path::new("/disk2/coffer-standby"));
        assert!(name.starts_with(NAME_PREFIX));
        assert_eq!(name.len(), NAME_PREFIX.len() + 16);
        assert_eq!(name, standby_name(Path::new("/disk2/coffer-standby")));
        assert_ne!(name, standby_name(Path::new("/disk3/coffer-standby")));
        assert_eq!(
            synchronous_rule(&["a".to_owned(), "b".to_owned()]),
            "ANY 1 (a, b)"
        );
        assert_eq!(conninfo_value(r"/x y/'q'\"), r"'/x y/\'q\'\\'");
    }

    #[test]
    fn record_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert!(recorded_standbys(dir.path()).unwrap().is_empty());
        let dirs = vec![PathBuf::from("/a/b"), PathBuf::from("/c d")];
        record_standbys(dir.path(), &dirs).unwrap();
        assert_eq!(recorded_standbys(dir.path()).unwrap(), dirs);
        record_standbys(dir.path(), &[]).unwrap();
        assert!(!dir.path().join(STANDBYS_FILE).exists());
    }
}
