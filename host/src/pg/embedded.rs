//! A private PostgreSQL cluster managed by Coffer inside its data directory
//! (or, for a standby, inside a directory of its own).
//!
//! # Layout
//!
//! ```text
//! DIR/postgres        the cluster (PGDATA), owned by the user PostgreSQL runs as
//! DIR/postgres/coffer.conf
//!                     settings owned by Coffer, rewritten at every start and
//!                     included from postgresql.conf
//! DIR/run             the Unix socket directory (mode 0700)
//! DIR/postgres.log    the server log (rotated to postgres.log.1 past 16 MiB)
//! ```
//!
//! The server never listens on TCP (`listen_addresses = ''`); clients connect
//! through the Unix socket as the superuser [`SUPERUSER`] with `trust`
//! authentication, which is safe because only the cluster owner (and root)
//! can enter the socket directory.
//!
//! `DIR` is the cluster's *home*: the data directory, unless
//! `DATA_DIR/postgres.location` names another one (a promoted standby, see
//! [`super::promote`]). A standby ([`super::standby`]) is run by the same
//! code in a home of its own, with a role that adds its link to the
//! primary to `coffer.conf`; a cluster holding `standby.signal` is never
//! started as the primary. `coffer.conf` also sets what replication needs
//! (`wal_level = replica`, WAL senders and slots, `max_slot_wal_keep_size`)
//! and the primary's `synchronous_standby_names`, which is empty at every
//! start and set by the standby code once a standby streams.
//!
//! # Running as root
//!
//! `initdb`, `pg_ctl` and `postgres` refuse to run as root. When Coffer runs
//! as root, every PostgreSQL program is started as an unprivileged system
//! user instead: the owner of an existing cluster, otherwise `postgres` if
//! `/etc/passwd` has it, otherwise `nobody`. The cluster and socket
//! directories and the log file are chowned to that user, and `DIR` itself
//! gets the traverse bits (`g+x,o+x`, e.g. 0700 becomes 0711, never the read
//! bit) so that user can reach them. Every ancestor of `DIR` must already be
//! traversable by that user; if one is not, [`EmbeddedPostgres::start`] fails
//! with [`Error::Permission`] naming the directory and the fix. Root can
//! always connect to the socket, so Coffer itself needs nothing more.
//!
//! # Starting and stopping
//!
//! The server is started with `pg_ctl start -w` rather than by spawning
//! `postgres` directly: `pg_ctl` detaches the postmaster into its own session,
//! so a Ctrl-C in Coffer's terminal does not also hit PostgreSQL (Coffer must
//! drain its requests *before* the database goes away, then call
//! [`EmbeddedPostgres::stop`]), and `-w` waits on the postmaster's own
//! readiness report. Readiness is then confirmed by connecting. Stopping uses
//! `pg_ctl stop -m fast`.
//!
//! # Crash recovery
//!
//! If `DIR/postgres/postmaster.pid` exists at start, its pid is checked in
//! `/proc`: a live (non-zombie) `postgres` whose working directory or `-D`
//! argument is this cluster is *adopted* — Coffer connects to it through the
//! socket recorded in the pid file, and still stops it on shutdown because it
//! owns the data directory. Otherwise the pid file is stale: it is removed
//! together with leftover socket and socket-lock files, Coffer waits for
//! orphaned backends of the dead postmaster to exit (they hold the old shared
//! memory segment, which would make the new postmaster refuse to start), and
//! starts normally; PostgreSQL's own WAL recovery does the rest.
//!
//! Two Coffer processes must not manage the same `DIR` at the same time; the
//! caller is expected to lock the data directory.
//!
//! # Socket path length
//!
//! Unix socket paths are limited to 107 bytes, and the socket file is
//! `SOCKETDIR/.s.PGSQL.5432`. When `DIR/run` would make that path too long,
//! the socket directory falls back to `/tmp/coffer-pg-<hash>`, where `<hash>`
//! is a stable 64-bit FNV-1a hash of the canonical `DIR`. Nothing needs to be
//! recorded: the name is recomputed at every start, and a running server's
//! actual socket directory is read back from its `postmaster.pid`. The
//! fallback directory is created with mode 0700 and rejected if it exists
//! with another owner or looser permissions (someone else pre-creating the
//! predictable name can then only cause an error, never intercept
//! connections).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{Connection, Executor};

/// The PostgreSQL superuser created by `initdb`; Coffer connects as this role.
pub const SUPERUSER: &str = "coffer";

/// The database Coffer uses unless told otherwise; created at every start if
/// missing.
pub const DEFAULT_DATABASE: &str = "coffer";

/// Environment variable that pins the directory holding `initdb`, `pg_ctl`
/// and `postgres`.
const BINDIR_ENV: &str = "COFFER_PG_BINDIR";
/// Port number; with `listen_addresses = ''` it only names the socket file.
const PORT: u16 = 5432;
/// Longest usable Unix socket path (`sizeof(sun_path)` minus the NUL).
const MAX_SOCKET_PATH: usize = 107;
/// How long the server may take to accept connections after `pg_ctl start`.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `pg_ctl stop -m fast` may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stop waits, after the pid file is gone, for the postmaster
/// process itself to exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);
/// How long `initdb` may take.
const INITDB_TIMEOUT: Duration = Duration::from_secs(120);
/// How long orphaned backends of a killed postmaster get to exit.
const ORPHAN_TIMEOUT: Duration = Duration::from_secs(15);
/// Delay between readiness polls.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// The log is rotated (once, to `postgres.log.1`) at start past this size.
const LOG_ROTATE_BYTES: u64 = 16 * 1024 * 1024;
/// The programs that must be present in the bin directory.
const REQUIRED_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];
/// The file that makes a cluster start as a standby.
pub(crate) const STANDBY_SIGNAL: &str = "standby.signal";
/// The most WAL a primary keeps for a standby that is behind
/// (`max_slot_wal_keep_size`); past it the standby's slot is lost and the
/// standby is made again from a fresh base backup.
pub(crate) const MAX_SLOT_WAL_KEEP: &str = "4GB";

/// Errors from managing the embedded PostgreSQL cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No usable PostgreSQL installation was found; the message lists what
    /// was tried and how to fix it.
    #[error("PostgreSQL server binaries not found: {0}")]
    BinariesNotFound(String),
    /// A filesystem or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, including the path involved.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The data directory path cannot be used (not UTF-8, contains a newline).
    #[error("unusable data directory path: {0}")]
    InvalidPath(String),
    /// The user PostgreSQL runs as cannot reach or own the files it needs.
    #[error("permission problem: {0}")]
    Permission(String),
    /// `initdb` failed; the message carries its output.
    #[error("initdb failed: {0}")]
    Initdb(String),
    /// The server did not start or did not become ready; the message carries
    /// the tail of the server log.
    #[error("starting PostgreSQL failed: {0}")]
    Start(String),
    /// The server did not stop.
    #[error("stopping PostgreSQL failed: {0}")]
    Stop(String),
    /// Connecting to the server failed.
    #[error("connecting to the embedded PostgreSQL failed: {0}")]
    Connect(#[source] sqlx::Error),
    /// An administrative statement (such as `CREATE DATABASE`) failed.
    #[error("embedded PostgreSQL query failed: {0}")]
    Query(#[source] sqlx::Error),
    /// A database name that PostgreSQL cannot accept.
    #[error("invalid database name {0:?}: must be 1 to 63 bytes without NUL")]
    InvalidDatabaseName(String),
    /// A standby (`coffer serve --pg-standby DIR`) cannot be made, started or
    /// used; the message says why and what to do.
    #[error("standby {}: {message}", dir.display())]
    Standby {
        /// The standby's directory.
        dir: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// No standby streamed from the primary in time, so commits would wait
    /// forever.
    #[error("no standby is streaming: {0}")]
    NoStandbyStreaming(String),
    /// `DATA_DIR/postgres.location` names no usable cluster.
    #[error("{0}")]
    Location(String),
    /// `coffer admin pg promote` refused to promote; the message says why.
    #[error("not promoting: {0}")]
    PromoteRefused(String),
}

/// Builds a closure turning an [`io::Error`] into [`Error::Io`] with context.
pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

/// How to start the embedded cluster.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Trade durability for speed (tests): `initdb -N`, `fsync = off`,
    /// `synchronous_commit = off`, `full_page_writes = off`. Applied at every
    /// start, so a cluster can be switched back to safe settings by starting
    /// it without this flag.
    pub no_sync: bool,
    /// The cluster is throwaway (tests): dropping the [`EmbeddedPostgres`]
    /// without calling [`EmbeddedPostgres::stop`] stops the server
    /// immediately, so a panicking test does not leak a postgres process.
    /// Persistent clusters are left running on drop (the next start adopts
    /// them); the server calls `stop()` explicitly on shutdown.
    pub ephemeral: bool,
    /// `max_connections` of the cluster (default 100). A test cluster shared by
    /// many servers, each with its own pool, needs more.
    pub max_connections: Option<u32>,
}

/// The unprivileged account PostgreSQL runs as when Coffer runs as root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

/// What a cluster is to Coffer; decides the replication part of `coffer.conf`.
#[derive(Debug, Clone)]
pub(crate) enum Role {
    /// The cluster Coffer keeps its metadata in.
    Primary,
    /// A streaming standby ([`super::standby`]); its directory holds
    /// `standby.signal`.
    Standby(StandbyLink),
}

/// How a standby reaches its primary.
#[derive(Debug, Clone, Default)]
pub(crate) struct StandbyLink {
    /// `primary_conninfo`; empty for a standby that only replays the WAL it
    /// already has (as `coffer admin pg promote` starts one).
    pub conninfo: String,
    /// `primary_slot_name`; empty for none.
    pub slot: String,
}

/// A PostgreSQL cluster inside a Coffer data directory, started (or adopted)
/// by [`EmbeddedPostgres::start`]; or, with the crate's standby code, a
/// standby of it in a directory of its own.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bindir: PathBuf,
    /// The Coffer data directory (for a standby, its own directory).
    data_dir: PathBuf,
    /// The directory holding `postgres/`, `run/` and `postgres.log`: the data
    /// directory, or the directory `postgres.location` names.
    home: PathBuf,
    cluster_dir: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    port: u16,
    /// `None` when PostgreSQL runs as the current user.
    run_as: Option<RunAs>,
    role: Role,
    options: Options,
    /// `synchronous_standby_names` written into `coffer.conf` (primary only);
    /// empty until [`EmbeddedPostgres::set_synchronous_standby_names`].
    synchronous_standby_names: Mutex<String>,
    /// The server was already running and we connected to it.
    adopted: bool,
    ephemeral: bool,
    /// We believe the server is up and ours to stop.
    running: AtomicBool,
}

impl EmbeddedPostgres {
    /// Finds the directory holding `initdb`, `pg_ctl` and `postgres`, trying
    /// in order: `$COFFER_PG_BINDIR` (an error if set but unusable),
    /// `pg_config --bindir`, the directory of `initdb` found on `PATH`
    /// (symlinks resolved), and the newest `/usr/lib/postgresql/*/bin`.
    pub fn find_bindir() -> Result<PathBuf, Error> {
        find_bindir_from(std::env::var_os(BINDIR_ENV))
    }

    /// Starts (creating it on first run) or adopts the cluster in
    /// `data_dir`, waits until it accepts connections and makes sure the
    /// database [`DEFAULT_DATABASE`] exists.
    ///
    /// See the module documentation for the layout, the root handling, crash
    /// recovery and the socket path fallback.
    pub async fn start(data_dir: &Path, options: Options) -> Result<Self, Error> {
        let began = Instant::now();
        fs::create_dir_all(data_dir).map_err(io_err(format!(
            "creating data directory {}",
            data_dir.display()
        )))?;
        let data_dir = fs::canonicalize(data_dir).map_err(io_err(format!(
            "resolving data directory {}",
            data_dir.display()
        )))?;
        check_path_usable(&data_dir)?;
        let home = super::promote::cluster_home(&data_dir)?;
        let run_as = decide_run_as(&home.join("postgres"))?;
        let mut pg = Self::at(&data_dir, &home, run_as, options, Role::Primary)?;
        if pg.cluster_dir.join(STANDBY_SIGNAL).exists() {
            return Err(Error::Start(format!(
                "{} is a standby ({STANDBY_SIGNAL} exists), not a primary: finish its promotion \
                 with `coffer admin --data-dir {} pg promote {}`",
                pg.cluster_dir.display(),
                data_dir.display(),
                home.display()
            )));
        }
        match pg.boot().await {
            Ok(()) => {
                tracing::info!(
                    cluster = %pg.cluster_dir.display(),
                    socket_dir = %pg.socket_dir.display(),
                    adopted = pg.adopted,
                    elapsed_ms = began.elapsed().as_millis() as u64,
                    "embedded PostgreSQL ready"
                );
                Ok(pg)
            }
            Err(err) => {
                if pg.running.load(Ordering::SeqCst)
                    && !pg.adopted
                    && let Err(stop_err) = pg.stop().await
                {
                    tracing::warn!(error = %stop_err, "stopping PostgreSQL after a failed start");
                }
                Err(err)
            }
        }
    }

    /// Settles where a cluster living in `home` (created if missing) has its
    /// files, socket and log, run as `run_as`, without touching the server;
    /// [`EmbeddedPostgres::boot`] then starts or adopts it. `data_dir` is the
    /// Coffer data directory it serves (a standby's own directory for one).
    pub(crate) fn at(
        data_dir: &Path,
        home: &Path,
        run_as: Option<RunAs>,
        options: Options,
        role: Role,
    ) -> Result<Self, Error> {
        let bindir = Self::find_bindir()?;
        fs::create_dir_all(home)
            .map_err(io_err(format!("creating directory {}", home.display())))?;
        let home = fs::canonicalize(home)
            .map_err(io_err(format!("resolving directory {}", home.display())))?;
        check_path_usable(&home)?;
        if let Some(user) = &run_as {
            ensure_traversable(&home, user)?;
        }
        Ok(EmbeddedPostgres {
            bindir,
            data_dir: data_dir.to_path_buf(),
            cluster_dir: home.join("postgres"),
            socket_dir: choose_socket_dir(&home),
            log_file: home.join("postgres.log"),
            home,
            port: PORT,
            run_as,
            role,
            ephemeral: options.ephemeral,
            options,
            synchronous_standby_names: Mutex::new(String::new()),
            adopted: false,
            running: AtomicBool::new(false),
        })
    }

    /// Connection options for the cluster: its Unix socket, user
    /// [`SUPERUSER`], the given database, no TLS. `PG*` environment variables
    /// do not override any of these.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        connect_options_at(&self.socket_dir, self.port, database)
    }

    /// Creates the database `name` unless it already exists (also when a
    /// concurrent caller creates it first). Tests use this to give each
    /// server its own fresh database on one cluster.
    pub async fn create_database(&self, name: &str) -> Result<(), Error> {
        if name.is_empty() || name.len() > 63 || name.contains('\0') {
            return Err(Error::InvalidDatabaseName(name.to_owned()));
        }
        let mut conn = PgConnection::connect_with(&self.connect_options("postgres"))
            .await
            .map_err(Error::Connect)?;
        let result = create_database_on(&mut conn, name).await;
        if let Err(err) = conn.close().await {
            tracing::debug!(error = %err, "closing admin connection");
        }
        result
    }

    /// Stops the server (`pg_ctl stop -m fast`, waiting for it to exit),
    /// whether it was started or adopted. Idempotent: does nothing if it was
    /// already stopped, by us or by anyone else.
    pub async fn stop(&self) -> Result<(), Error> {
        if !self.running.load(Ordering::SeqCst) {
            return Ok(());
        }
        let ServerState::Running(info) = self.server_state() else {
            self.running.store(false, Ordering::SeqCst);
            return Ok(());
        };
        let mut cmd = self.command("pg_ctl");
        cmd.arg("stop")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args(["-m", "fast", "-w", "-s", "-t"])
            .arg(STOP_TIMEOUT.as_secs().to_string());
        let output = run(cmd, STOP_TIMEOUT + Duration::from_secs(5), "pg_ctl stop").await;
        // The pid file goes (and `pg_ctl -w` returns) just before the
        // postmaster exits: wait for the exit so "stopped" means gone.
        let deadline = Instant::now() + EXIT_WAIT;
        while process_alive(info.pid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let still_running = matches!(self.server_state(), ServerState::Running(_));
        match output {
            _ if !still_running => {
                self.running.store(false, Ordering::SeqCst);
                tracing::info!(cluster = %self.cluster_dir.display(), "embedded PostgreSQL stopped");
                Ok(())
            }
            Ok(out) => Err(Error::Stop(format!(
                "pg_ctl stop exited with {}: {}",
                out.status,
                output_text(&out)
            ))),
            Err(err) => Err(Error::Stop(err.to_string())),
        }
    }

    /// The Unix socket directory clients connect through (the one recorded
    /// by the running server when it was adopted).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The port number naming the socket file (`.s.PGSQL.<port>`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The canonical Coffer data directory this cluster serves.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The directory holding the cluster (`postgres/`), its socket directory
    /// (`run/`, unless too long) and its log: the data directory, or the
    /// directory `DATA_DIR/postgres.location` names after a promotion.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The cluster directory (PGDATA), `HOME/postgres`.
    pub fn cluster_dir(&self) -> &Path {
        &self.cluster_dir
    }

    /// The server log, `HOME/postgres.log`.
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The directory the PostgreSQL programs were taken from.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// True when the server was already running at start and was adopted
    /// rather than started by us.
    pub fn adopted(&self) -> bool {
        self.adopted
    }

    /// The account PostgreSQL runs as when Coffer runs as root; `None` when
    /// it runs as the current user.
    pub fn run_as_user(&self) -> Option<&str> {
        self.run_as.as_ref().map(|user| user.name.as_str())
    }

    /// The postmaster's pid from `postmaster.pid`, if the file exists and
    /// names a live process.
    pub fn postmaster_pid(&self) -> Option<u32> {
        match self.server_state() {
            ServerState::Running(info) => Some(info.pid),
            _ => None,
        }
    }

    /// The account PostgreSQL runs as (`None`: the current user).
    pub(crate) fn run_as(&self) -> Option<&RunAs> {
        self.run_as.as_ref()
    }

    /// The options the cluster was started with.
    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    /// Everything after the paths are settled: adopt or recover, initdb
    /// (primary only: a standby must already hold its base backup and
    /// `standby.signal`), configure, start, wait, and for a primary create
    /// the default database. An adopted standby gets its `coffer.conf`
    /// rewritten and reloaded, so it follows the primary it is linked to; an
    /// adopted primary's configuration is left alone (`coffer admin` adopts
    /// the server's primary and must not change its replication settings).
    pub(crate) async fn boot(&mut self) -> Result<(), Error> {
        let primary = matches!(self.role, Role::Primary);
        self.prepare_socket_dir()?;
        if self.try_adopt().await? {
            self.adopted = true;
            self.running.store(true, Ordering::SeqCst);
            if primary {
                return self.create_database(DEFAULT_DATABASE).await;
            }
            self.write_config()?;
            return self.reload_config().await;
        }
        if !self.cluster_dir.join("PG_VERSION").exists() {
            if !primary {
                return Err(Error::Start(format!(
                    "{} holds no PostgreSQL cluster",
                    self.cluster_dir.display()
                )));
            }
            self.initdb().await?;
        }
        if !primary && !self.cluster_dir.join(STANDBY_SIGNAL).exists() {
            return Err(Error::Start(format!(
                "{} is not a standby (no {STANDBY_SIGNAL})",
                self.cluster_dir.display()
            )));
        }
        self.write_config()?;
        self.prepare_log_file()?;
        self.wait_for_orphans().await?;
        self.pg_ctl_start().await?;
        self.running.store(true, Ordering::SeqCst);
        self.wait_ready().await?;
        if primary {
            self.create_database(DEFAULT_DATABASE).await?;
        }
        Ok(())
    }

    /// Makes the running server re-read its configuration files.
    pub(crate) async fn reload_config(&self) -> Result<(), Error> {
        let mut conn = PgConnection::connect_with(&self.connect_options("postgres"))
            .await
            .map_err(Error::Connect)?;
        let result = conn.execute("SELECT pg_reload_conf()").await;
        if let Err(err) = conn.close().await {
            tracing::debug!(error = %err, "closing admin connection");
        }
        result.map(|_| ()).map_err(Error::Query)
    }

    /// Sets the primary's `synchronous_standby_names` (empty: commits wait
    /// for no standby): rewrites `coffer.conf`, reloads, and waits until new
    /// sessions see the value. With a non-empty value `synchronous_commit`
    /// is `on` even for [`Options::no_sync`], so commits wait for a standby
    /// to have flushed them. Not persistent: the next
    /// [`EmbeddedPostgres::start`] writes an empty value again.
    pub(crate) async fn set_synchronous_standby_names(&self, value: &str) -> Result<(), Error> {
        *self
            .synchronous_standby_names
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = value.to_owned();
        self.write_config()?;
        self.reload_config().await?;
        let began = Instant::now();
        loop {
            let mut conn = PgConnection::connect_with(&self.connect_options("postgres"))
                .await
                .map_err(Error::Connect)?;
            let seen: Result<String, sqlx::Error> =
                sqlx::query_scalar("SELECT current_setting('synchronous_standby_names')")
                    .fetch_one(&mut conn)
                    .await;
            if let Err(err) = conn.close().await {
                tracing::debug!(error = %err, "closing admin connection");
            }
            if seen.map_err(Error::Query)? == value {
                return Ok(());
            }
            if began.elapsed() > START_TIMEOUT {
                return Err(Error::Start(format!(
                    "the server did not take synchronous_standby_names = '{value}' within {}s",
                    START_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Stops the cluster's postmaster if one runs, whether or not this
    /// handle started or adopted it (a standby started by a supervisor step
    /// that was cancelled midway).
    pub(crate) async fn stop_whatever_runs(&self) -> Result<(), Error> {
        self.running.store(true, Ordering::SeqCst);
        self.stop().await
    }

    /// Builds a command for one of the PostgreSQL programs, run as the right
    /// user, from `/`, without inherited `PG*` variables.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        cmd.current_dir("/").env("LC_ALL", "C").stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        if let Some(user) = &self.run_as {
            // std drops supplementary groups when a root process sets uid.
            cmd.uid(user.uid).gid(user.gid);
        }
        cmd
    }

    /// Chowns `path` to the run-as user (no-op when running as ourselves).
    pub(crate) fn give_to_server_user(&self, path: &Path) -> Result<(), Error> {
        match &self.run_as {
            Some(user) => std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
                .map_err(io_err(format!("chown {} to {}", path.display(), user.name))),
            None => Ok(()),
        }
    }

    /// The uid that must own the server's files.
    fn server_uid(&self) -> Result<u32, Error> {
        match &self.run_as {
            Some(user) => Ok(user.uid),
            None => effective_uid(),
        }
    }

    /// Creates the socket directory (mode 0700, owned by the server user).
    fn prepare_socket_dir(&self) -> Result<(), Error> {
        let dir = &self.socket_dir;
        match fs::symlink_metadata(dir) {
            Ok(meta) => {
                let in_data_dir = dir.starts_with(&self.home);
                let owner_ok =
                    meta.uid() == self.server_uid()? || (meta.uid() == 0 && self.run_as.is_some());
                if !meta.is_dir() || (!in_data_dir && (!owner_ok || meta.mode() & 0o077 != 0)) {
                    return Err(Error::Permission(format!(
                        "socket directory {} exists but is not a private directory of the \
                         PostgreSQL user; remove it",
                        dir.display()
                    )));
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(dir)
                    .map_err(io_err(format!(
                        "creating socket directory {}",
                        dir.display()
                    )))?;
            }
            Err(err) => {
                return Err(io_err(format!(
                    "inspecting socket directory {}",
                    dir.display()
                ))(err));
            }
        }
        self.give_to_server_user(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err(format!("chmod 0700 {}", dir.display())))
    }

    /// Handles an existing `postmaster.pid`: returns `true` after adopting a
    /// live server, `false` (after cleaning up) when we must start one.
    async fn try_adopt(&mut self) -> Result<bool, Error> {
        let began = Instant::now();
        let mut last_error = None;
        loop {
            match self.server_state() {
                ServerState::Absent => return Ok(false),
                ServerState::Stale(pid) => {
                    self.remove_stale_files(pid)?;
                    return Ok(false);
                }
                ServerState::Running(info) => {
                    if let (Some(socket_dir), Some(port)) = (&info.socket_dir, info.port) {
                        let options = self
                            .connect_options("postgres")
                            .socket(socket_dir)
                            .port(port);
                        match PgConnection::connect_with(&options).await {
                            Ok(conn) => {
                                if let Err(err) = conn.close().await {
                                    tracing::debug!(error = %err, "closing probe connection");
                                }
                                tracing::info!(
                                    pid = info.pid,
                                    cluster = %self.cluster_dir.display(),
                                    "adopting already running embedded PostgreSQL"
                                );
                                self.socket_dir = socket_dir.clone();
                                self.port = port;
                                return Ok(true);
                            }
                            Err(err) => last_error = Some(err.to_string()),
                        }
                    }
                    if began.elapsed() > START_TIMEOUT {
                        return Err(Error::Start(format!(
                            "a PostgreSQL server (pid {}, status {:?}) is running on {} but did \
                             not accept connections within {}s (last error: {}){}",
                            info.pid,
                            info.status,
                            self.cluster_dir.display(),
                            START_TIMEOUT.as_secs(),
                            last_error.as_deref().unwrap_or("socket not ready"),
                            self.log_tail_section()
                        )));
                    }
                }
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Reads `postmaster.pid` and checks its process.
    fn server_state(&self) -> ServerState {
        server_state_of(&self.cluster_dir)
    }

    /// Removes a stale `postmaster.pid` and leftover socket files.
    fn remove_stale_files(&self, pid: Option<u32>) -> Result<(), Error> {
        tracing::warn!(
            pid,
            cluster = %self.cluster_dir.display(),
            "removing stale postmaster.pid left by a PostgreSQL that is no longer running"
        );
        remove_if_exists(&self.cluster_dir.join("postmaster.pid"))?;
        let entries = match fs::read_dir(&self.socket_dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => {
                return Err(io_err(format!("listing {}", self.socket_dir.display()))(
                    err,
                ));
            }
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(".s.PGSQL.") {
                remove_if_exists(&entry.path())?;
            }
        }
        Ok(())
    }

    /// Creates the cluster: initdb into `DIR/postgres.initdb`, then rename it
    /// to `DIR/postgres`, so an interrupted initdb never leaves a half-made
    /// cluster where a real one is expected.
    async fn initdb(&self) -> Result<(), Error> {
        let began = Instant::now();
        match fs::read_dir(&self.cluster_dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(Error::Initdb(format!(
                        "{} exists but is not a PostgreSQL cluster (no PG_VERSION); move it away \
                         or delete it to let Coffer create a fresh cluster",
                        self.cluster_dir.display()
                    )));
                }
                fs::remove_dir(&self.cluster_dir).map_err(io_err(format!(
                    "removing empty {}",
                    self.cluster_dir.display()
                )))?;
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(io_err(format!("inspecting {}", self.cluster_dir.display()))(err));
            }
        }
        let staging = self.home.join("postgres.initdb");
        if staging.exists() {
            fs::remove_dir_all(&staging)
                .map_err(io_err(format!("removing leftover {}", staging.display())))?;
        }
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&staging)
            .map_err(io_err(format!("creating {}", staging.display())))?;
        self.give_to_server_user(&staging)?;

        tracing::info!(cluster = %self.cluster_dir.display(), "creating PostgreSQL cluster (initdb)");
        let mut cmd = self.command("initdb");
        cmd.arg("-D")
            .arg(&staging)
            .args(["-U", SUPERUSER])
            .args(["--auth-local=trust", "--auth-host=reject"])
            .args(["-E", "UTF8", "--locale=C"]);
        if self.options.no_sync {
            cmd.arg("-N");
        }
        let out = run(cmd, INITDB_TIMEOUT, "initdb")
            .await
            .map_err(|err| match err {
                Error::Io { context, source } => Error::Initdb(format!("{context}: {source}")),
                other => other,
            })?;
        if !out.status.success() {
            return Err(Error::Initdb(format!(
                "exited with {}: {}",
                out.status,
                output_text(&out)
            )));
        }
        fs::rename(&staging, &self.cluster_dir).map_err(io_err(format!(
            "renaming {} to {}",
            staging.display(),
            self.cluster_dir.display()
        )))?;
        tracing::info!(
            elapsed_ms = began.elapsed().as_millis() as u64,
            "PostgreSQL cluster created"
        );
        Ok(())
    }

    /// Writes `coffer.conf` and makes sure `postgresql.conf` includes it.
    fn write_config(&self) -> Result<(), Error> {
        let socket_dir = self.socket_dir.to_str().ok_or_else(|| {
            Error::InvalidPath(format!("{} is not UTF-8", self.socket_dir.display()))
        })?;
        let flag = |on: bool| if on { "on" } else { "off" };
        let durable = !self.options.no_sync;
        let synchronous_standby_names = self
            .synchronous_standby_names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut conf = String::from(
            "# Written by Coffer at every start of its embedded PostgreSQL; edits are lost.\n\
             # Put lasting changes in postgresql.auto.conf (ALTER SYSTEM) instead.\n",
        );
        let mut settings = vec![
            ("listen_addresses", conf_string("")),
            ("port", self.port.to_string()),
            ("unix_socket_directories", conf_string(socket_dir)),
            ("unix_socket_permissions", "0700".to_owned()),
            (
                "max_connections",
                self.options.max_connections.unwrap_or(100).to_string(),
            ),
            ("shared_buffers", conf_string("64MB")),
            ("timezone", conf_string("UTC")),
            ("log_timezone", conf_string("UTC")),
            ("fsync", flag(durable).to_owned()),
            (
                "synchronous_commit",
                flag(durable || !synchronous_standby_names.is_empty()).to_owned(),
            ),
            ("full_page_writes", flag(durable).to_owned()),
            // Replication (`super::standby`), the same on primaries and
            // standbys so that a promoted standby can serve standbys in turn.
            ("wal_level", "replica".to_owned()),
            ("max_wal_senders", "10".to_owned()),
            ("max_replication_slots", "10".to_owned()),
            ("max_slot_wal_keep_size", conf_string(MAX_SLOT_WAL_KEEP)),
        ];
        match &self.role {
            Role::Primary => settings.push((
                "synchronous_standby_names",
                conf_string(&synchronous_standby_names),
            )),
            Role::Standby(link) => settings.extend([
                ("hot_standby", "on".to_owned()),
                ("primary_conninfo", conf_string(&link.conninfo)),
                ("primary_slot_name", conf_string(&link.slot)),
                ("recovery_target_timeline", conf_string("latest")),
            ]),
        }
        for (name, value) in settings {
            let _ = writeln!(conf, "{name} = {value}");
        }
        let path = self.cluster_dir.join("coffer.conf");
        let staging = self.cluster_dir.join("coffer.conf.tmp");
        fs::write(&staging, conf).map_err(io_err(format!("writing {}", staging.display())))?;
        self.give_to_server_user(&staging)?;
        fs::rename(&staging, &path).map_err(io_err(format!(
            "renaming {} to {}",
            staging.display(),
            path.display()
        )))?;

        let main_conf = self.cluster_dir.join("postgresql.conf");
        let text = fs::read_to_string(&main_conf)
            .map_err(io_err(format!("reading {}", main_conf.display())))?;
        let include = "include_if_exists = 'coffer.conf'";
        if !text.lines().any(|line| line.trim() == include) {
            let mut file = fs::OpenOptions::new()
                .append(true)
                .open(&main_conf)
                .map_err(io_err(format!("opening {}", main_conf.display())))?;
            io::Write::write_all(
                &mut file,
                format!("\n# Settings managed by Coffer (rewritten at every start).\n{include}\n")
                    .as_bytes(),
            )
            .map_err(io_err(format!("appending to {}", main_conf.display())))?;
        }
        Ok(())
    }

    /// Rotates an oversized log and creates the log file for the server user.
    fn prepare_log_file(&self) -> Result<(), Error> {
        if let Ok(meta) = fs::metadata(&self.log_file)
            && meta.len() > LOG_ROTATE_BYTES
        {
            let old = self.home.join("postgres.log.1");
            fs::rename(&self.log_file, &old).map_err(io_err(format!(
                "rotating {} to {}",
                self.log_file.display(),
                old.display()
            )))?;
        }
        fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.log_file)
            .map_err(io_err(format!("creating {}", self.log_file.display())))?;
        self.give_to_server_user(&self.log_file)
    }

    /// Waits for backends orphaned by a killed postmaster to exit: while they
    /// live they keep the old shared memory segment attached and a new
    /// postmaster refuses to start.
    async fn wait_for_orphans(&self) -> Result<(), Error> {
        let began = Instant::now();
        loop {
            let orphans = cluster_processes(&self.cluster_dir);
            if orphans.is_empty() {
                return Ok(());
            }
            if began.elapsed() > ORPHAN_TIMEOUT {
                return Err(Error::Start(format!(
                    "processes {orphans:?} of a previous PostgreSQL server for {} are still \
                     running after {}s; stop them (kill {}) and retry",
                    self.cluster_dir.display(),
                    ORPHAN_TIMEOUT.as_secs(),
                    orphans
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// `pg_ctl start -w`.
    async fn pg_ctl_start(&self) -> Result<(), Error> {
        tracing::info!(cluster = %self.cluster_dir.display(), "starting embedded PostgreSQL");
        let mut cmd = self.command("pg_ctl");
        cmd.arg("start")
            .arg("-D")
            .arg(&self.cluster_dir)
            .arg("-l")
            .arg(&self.log_file)
            .args(["-w", "-s", "-t"])
            .arg(START_TIMEOUT.as_secs().to_string());
        let out = run(cmd, START_TIMEOUT + Duration::from_secs(5), "pg_ctl start")
            .await
            .map_err(|err| Error::Start(format!("{err}{}", self.log_tail_section())))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Start(format!(
                "pg_ctl start exited with {}: {}{}",
                out.status,
                output_text(&out),
                self.log_tail_section()
            )))
        }
    }

    /// Polls until a connection succeeds.
    async fn wait_ready(&self) -> Result<(), Error> {
        let began = Instant::now();
        let options = self.connect_options("postgres");
        loop {
            let err = match PgConnection::connect_with(&options).await {
                Ok(conn) => {
                    if let Err(err) = conn.close().await {
                        tracing::debug!(error = %err, "closing probe connection");
                    }
                    return Ok(());
                }
                Err(err) => err,
            };
            let dead = matches!(
                self.server_state(),
                ServerState::Absent | ServerState::Stale(_)
            );
            if dead || began.elapsed() > START_TIMEOUT {
                return Err(Error::Start(format!(
                    "{} ({err}){}",
                    if dead {
                        "the server exited during startup"
                    } else {
                        "the server did not accept connections in time"
                    },
                    self.log_tail_section()
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The last lines of the server log, formatted for an error message.
    fn log_tail_section(&self) -> String {
        match log_tail(&self.log_file, 30) {
            Some(tail) if !tail.is_empty() => {
                format!(
                    "\n--- last lines of {} ---\n{tail}",
                    self.log_file.display()
                )
            }
            _ => format!(" (no server log at {})", self.log_file.display()),
        }
    }
}

impl Drop for EmbeddedPostgres {
    /// Ephemeral clusters that were not stopped are stopped immediately
    /// (best effort, blocking); persistent ones are left alone.
    fn drop(&mut self) {
        if !self.ephemeral || !self.running.load(Ordering::SeqCst) {
            return;
        }
        let ServerState::Running(info) = self.server_state() else {
            return;
        };
        let mut cmd = self.command("pg_ctl");
        cmd.arg("stop")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args(["-m", "immediate", "-w", "-s", "-t", "10"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Err(err) = cmd.status() {
            tracing::warn!(error = %err, "stopping ephemeral PostgreSQL on drop");
            return;
        }
        // `pg_ctl -w` returns once the pid file is gone, which the
        // postmaster removes just before it exits; wait for the exit itself
        // so that a dropped cluster holds no process, port or memory.
        let deadline = Instant::now() + EXIT_WAIT;
        while process_alive(info.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Creates `name` on an admin connection unless it exists.
async fn create_database_on(conn: &mut PgConnection, name: &str) -> Result<(), Error> {
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(Error::Query)?;
    if exists.is_some() {
        return Ok(());
    }
    let sql = format!("CREATE DATABASE {}", quote_ident(name));
    match conn.execute(sql.as_str()).await {
        Ok(_) => {
            tracing::debug!(database = name, "created database");
            Ok(())
        }
        // duplicate_database / unique_violation: someone created it meanwhile.
        Err(sqlx::Error::Database(db))
            if matches!(db.code().as_deref(), Some("42P04") | Some("23505")) =>
        {
            Ok(())
        }
        Err(err) => Err(Error::Query(err)),
    }
}

/// What `postmaster.pid` says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PidFile {
    pid: u32,
    port: Option<u16>,
    socket_dir: Option<PathBuf>,
    status: String,
}

impl PidFile {
    /// Parses the lines PostgreSQL writes: pid, data dir, start time, port,
    /// first socket directory, listen address, shmem key, status (some may
    /// still be missing while the server starts).
    fn parse(text: &str) -> Option<Self> {
        let lines: Vec<&str> = text.lines().collect();
        let pid = lines.first()?.trim().parse::<i64>().ok()?;
        // A negative pid marks a standalone backend; either way it is a pid.
        let pid = u32::try_from(pid.unsigned_abs())
            .ok()
            .filter(|&pid| pid > 0)?;
        let port = lines.get(3).and_then(|line| line.trim().parse().ok());
        let socket_dir = lines
            .get(4)
            .map(|line| line.trim())
            .filter(|line| !line.is_empty())
            .map(PathBuf::from);
        let status = lines
            .get(7)
            .map(|line| line.trim().to_owned())
            .unwrap_or_default();
        Some(PidFile {
            pid,
            port,
            socket_dir,
            status,
        })
    }
}

/// The state of the cluster according to `postmaster.pid` and `/proc`.
#[derive(Debug)]
enum ServerState {
    /// No pid file: not running (or shut down cleanly).
    Absent,
    /// A pid file whose process (if it could be read) is gone, a zombie or
    /// not this cluster's postmaster.
    Stale(Option<u32>),
    /// A live postmaster of this cluster.
    Running(PidFile),
}

/// The state of the cluster in `cluster_dir` according to its
/// `postmaster.pid` and `/proc`.
fn server_state_of(cluster_dir: &Path) -> ServerState {
    let pid_file = cluster_dir.join("postmaster.pid");
    let text = match fs::read_to_string(&pid_file) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return ServerState::Absent,
        // Unreadable (should not happen: we are root or the owner); treat
        // it as present but not ours to judge further.
        Err(_) => return ServerState::Stale(None),
    };
    match PidFile::parse(&text) {
        Some(info) if is_cluster_postmaster(info.pid, cluster_dir) => ServerState::Running(info),
        Some(info) => ServerState::Stale(Some(info.pid)),
        None => ServerState::Stale(None),
    }
}

/// The pid of the live postmaster of the cluster in `cluster_dir`, if one
/// runs.
pub(crate) fn running_postmaster(cluster_dir: &Path) -> Option<u32> {
    match server_state_of(cluster_dir) {
        ServerState::Running(info) => Some(info.pid),
        _ => None,
    }
}

/// The socket directory and port of the live postmaster of the cluster in
/// `cluster_dir`, as its `postmaster.pid` records them, if one runs.
pub(crate) fn running_socket(cluster_dir: &Path) -> Option<(PathBuf, u16)> {
    match server_state_of(cluster_dir) {
        ServerState::Running(info) => Some((info.socket_dir?, info.port?)),
        _ => None,
    }
}

/// Connection options for the server listening in `socket_dir` on `port`:
/// user [`SUPERUSER`], the given database, no TLS, no `PG*` overrides.
pub(crate) fn connect_options_at(socket_dir: &Path, port: u16, database: &str) -> PgConnectOptions {
    PgConnectOptions::new_without_pgpass()
        .socket(socket_dir)
        .port(port)
        .username(SUPERUSER)
        .database(database)
        .ssl_mode(PgSslMode::Disable)
        .application_name("coffer")
}

/// The system identifier of the cluster in `cluster_dir`: the first field of
/// `global/pg_control`, chosen by `initdb` and copied by `pg_basebackup`, so
/// a primary and its standbys share it and no other cluster has it.
pub(crate) fn system_identifier(cluster_dir: &Path) -> Result<u64, Error> {
    let path = cluster_dir.join("global").join("pg_control");
    let mut bytes = [0u8; 8];
    fs::File::open(&path)
        .and_then(|mut file| file.read_exact(&mut bytes))
        .map_err(io_err(format!("reading {}", path.display())))?;
    Ok(u64::from_ne_bytes(bytes))
}

/// True if `pid` is a live (not zombie) `postgres` whose working directory or
/// `-D` argument is `cluster_dir`.
fn is_cluster_postmaster(pid: u32, cluster_dir: &Path) -> bool {
    if !process_alive(pid) {
        return false;
    }
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let Ok(cmdline) = fs::read(proc_dir.join("cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let program = args.first().copied().unwrap_or_default();
    let name = program.rsplit(|&b| b == b'/').next().unwrap_or_default();
    if name != b"postgres" && name != b"postmaster" {
        return false;
    }
    let cluster = fs::canonicalize(cluster_dir).unwrap_or_else(|_| cluster_dir.to_path_buf());
    if fs::read_link(proc_dir.join("cwd")).is_ok_and(|cwd| cwd == cluster) {
        return true;
    }
    args.windows(2).any(|pair| {
        pair[0] == b"-D"
            && std::str::from_utf8(pair[1])
                .ok()
                .and_then(|dir| fs::canonicalize(dir).ok())
                .is_some_and(|dir| dir == cluster)
    })
}

/// True if `/proc/<pid>` exists and is not a zombie or dead task.
fn process_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Format: "pid (comm) S ..."; comm may contain anything, so split at the
    // last ')'.
    let state = stat
        .rfind(')')
        .and_then(|at| stat[at + 1..].split_whitespace().next());
    !matches!(state, None | Some("Z") | Some("X") | Some("x"))
}

/// Pids of live `postgres` processes (other than us) whose working directory
/// is `cluster_dir`: every server process chdirs into its data directory.
pub(crate) fn cluster_processes(cluster_dir: &Path) -> Vec<u32> {
    let cluster = fs::canonicalize(cluster_dir).unwrap_or_else(|_| cluster_dir.to_path_buf());
    let own = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != own)
        .filter(|&pid| {
            fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == cluster)
                && fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "postgres")
                && process_alive(pid)
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Bin-directory search with an explicit `$COFFER_PG_BINDIR` value.
fn find_bindir_from(env_override: Option<OsString>) -> Result<PathBuf, Error> {
    if let Some(dir) = env_override.filter(|dir| !dir.is_empty()) {
        let dir = PathBuf::from(dir);
        return match missing_programs(&dir) {
            None => Ok(dir),
            Some(missing) => Err(Error::BinariesNotFound(format!(
                "{BINDIR_ENV}={} lacks {missing}",
                dir.display()
            ))),
        };
    }
    let mut tried = Vec::new();

    match Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if missing_programs(&dir).is_none() {
                return Ok(dir);
            }
            tried.push(format!(
                "pg_config --bindir ({} lacks server programs)",
                dir.display()
            ));
        }
        _ => tried.push("pg_config (not found or failed)".to_owned()),
    }

    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("initdb"))
        .find(|candidate| is_executable(candidate));
    match on_path.and_then(|initdb| fs::canonicalize(initdb).ok()) {
        Some(initdb) => {
            if let Some(dir) = initdb.parent()
                && missing_programs(dir).is_none()
            {
                return Ok(dir.to_path_buf());
            }
            tried.push(format!(
                "initdb on PATH ({} lacks pg_ctl/postgres)",
                initdb.display()
            ));
        }
        None => tried.push("initdb on PATH (not found)".to_owned()),
    }

    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let name = entry.file_name().into_string().ok()?;
                    let version = name
                        .split('.')
                        .map(|part| part.parse::<u32>().ok())
                        .collect::<Option<Vec<u32>>>()?;
                    let bin = entry.path().join("bin");
                    missing_programs(&bin).is_none().then_some((version, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    tried.push("/usr/lib/postgresql/*/bin (none)".to_owned());

    Err(Error::BinariesNotFound(format!(
        "tried {}; install the PostgreSQL server (e.g. `apt install postgresql`) or set \
         {BINDIR_ENV} to the directory holding initdb, pg_ctl and postgres",
        tried.join(", ")
    )))
}

/// `None` if `dir` holds all required programs, else a description of the
/// missing ones.
fn missing_programs(dir: &Path) -> Option<String> {
    let missing: Vec<&str> = REQUIRED_PROGRAMS
        .into_iter()
        .filter(|program| !is_executable(&dir.join(program)))
        .collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// True for an existing regular file with an execute bit.
fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
}

/// The effective uid of this process (owner of `/proc/self`, else `id -u`).
fn effective_uid() -> Result<u32, Error> {
    if let Ok(meta) = fs::metadata("/proc/self") {
        return Ok(meta.uid());
    }
    let out = Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .output()
        .map_err(io_err("running `id -u`"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| Error::Permission("cannot determine the effective user id".to_owned()))
}

/// Picks the account PostgreSQL runs as: `None` (ourselves) unless we are
/// root; then the owner of an existing cluster, else `postgres`, else
/// `nobody`.
pub(crate) fn decide_run_as(cluster_dir: &Path) -> Result<Option<RunAs>, Error> {
    if effective_uid()? != 0 {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let users = parse_passwd(&passwd);
    if cluster_dir.join("PG_VERSION").exists() {
        let meta = fs::metadata(cluster_dir)
            .map_err(io_err(format!("inspecting {}", cluster_dir.display())))?;
        if meta.uid() == 0 {
            return Err(Error::Permission(format!(
                "cluster {} is owned by root, and PostgreSQL refuses to run as root; give it to \
                 an unprivileged user, e.g. `chown -R postgres: {}`",
                cluster_dir.display(),
                cluster_dir.display()
            )));
        }
        let user = users
            .into_iter()
            .find(|user| user.uid == meta.uid())
            .unwrap_or_else(|| RunAs {
                name: meta.uid().to_string(),
                uid: meta.uid(),
                gid: meta.gid(),
            });
        return Ok(Some(user));
    }
    ["postgres", "nobody"]
        .into_iter()
        .find_map(|name| {
            users
                .iter()
                .find(|user| user.name == name && user.uid != 0)
                .cloned()
        })
        .map(Some)
        .ok_or_else(|| {
            Error::Permission(
                "running as root, but /etc/passwd has neither a `postgres` nor a `nobody` user \
                 to run PostgreSQL as (it refuses to run as root); create a `postgres` system \
                 user or run Coffer as an unprivileged user"
                    .to_owned(),
            )
        })
}

/// Parses `/etc/passwd` lines into accounts.
fn parse_passwd(text: &str) -> Vec<RunAs> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?.trim();
            let _password = fields.next()?;
            let uid = fields.next()?.parse().ok()?;
            let gid = fields.next()?.parse().ok()?;
            (!name.is_empty() && !name.starts_with('#')).then(|| RunAs {
                name: name.to_owned(),
                uid,
                gid,
            })
        })
        .collect()
}

/// True if `user` may traverse (search) a directory with this metadata
/// (classic permission bits; ACLs are not consulted).
fn can_traverse(meta: &fs::Metadata, user: &RunAs) -> bool {
    let mode = meta.mode();
    if meta.uid() == user.uid {
        mode & 0o100 != 0
    } else if meta.gid() == user.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Makes sure `user` can reach files inside `data_dir`: every ancestor must
/// already be traversable (error otherwise); `data_dir` itself gets `g+x,o+x`
/// if needed.
fn ensure_traversable(data_dir: &Path, user: &RunAs) -> Result<(), Error> {
    for ancestor in data_dir.ancestors().skip(1) {
        let meta =
            fs::metadata(ancestor).map_err(io_err(format!("inspecting {}", ancestor.display())))?;
        if !can_traverse(&meta, user) {
            return Err(Error::Permission(format!(
                "PostgreSQL runs as user `{name}` (uid {uid}) because Coffer runs as root, but \
                 `{name}` cannot enter {dir} (mode {mode:04o}), an ancestor of the data \
                 directory {data}; allow it (e.g. `chmod o+x {dir}`) or use a data directory \
                 elsewhere",
                name = user.name,
                uid = user.uid,
                dir = ancestor.display(),
                mode = meta.mode() & 0o7777,
                data = data_dir.display(),
            )));
        }
    }
    let meta =
        fs::metadata(data_dir).map_err(io_err(format!("inspecting {}", data_dir.display())))?;
    if !can_traverse(&meta, user) {
        let mode = (meta.mode() & 0o7777) | 0o011;
        tracing::info!(
            dir = %data_dir.display(),
            mode = format!("{mode:04o}"),
            user = user.name,
            "making the data directory traversable for the PostgreSQL user"
        );
        fs::set_permissions(data_dir, fs::Permissions::from_mode(mode))
            .map_err(io_err(format!("chmod {mode:04o} {}", data_dir.display())))?;
    }
    Ok(())
}

/// Rejects paths that cannot be written into `postgresql.conf`.
fn check_path_usable(data_dir: &Path) -> Result<(), Error> {
    match data_dir.to_str() {
        None => Err(Error::InvalidPath(format!(
            "{} is not UTF-8",
            data_dir.display()
        ))),
        Some(text) if text.contains(['\n', '\r', '\0']) => Err(Error::InvalidPath(format!(
            "{text:?} contains a line break"
        ))),
        Some(_) => Ok(()),
    }
}

/// `DIR/run`, or `/tmp/coffer-pg-<fnv64(DIR)>` if the socket path inside
/// `DIR/run` would exceed the Unix socket path limit.
fn choose_socket_dir(data_dir: &Path) -> PathBuf {
    let preferred = data_dir.join("run");
    if socket_path_fits(&preferred) {
        return preferred;
    }
    PathBuf::from(format!(
        "/tmp/coffer-pg-{:016x}",
        fnv1a64(data_dir.as_os_str().as_encoded_bytes())
    ))
}

/// True if `dir/.s.PGSQL.<PORT>` fits in a Unix socket address.
fn socket_path_fits(dir: &Path) -> bool {
    dir.as_os_str().len() + format!("/.s.PGSQL.{PORT}").len() <= MAX_SOCKET_PATH
}

/// 64-bit FNV-1a: a hash that is stable across Rust releases.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A `postgresql.conf` string literal.
fn conf_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// A SQL identifier, double-quoted.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Removes a file, ignoring "not found".
pub(crate) fn remove_if_exists(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            Err(io_err(format!("removing {}", path.display()))(err))
        }
        _ => Ok(()),
    }
}

/// Runs a command to completion with a timeout, capturing its output.
async fn run(cmd: Command, timeout: Duration, what: &str) -> Result<Output, Error> {
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    match tokio::time::timeout(timeout, cmd.output()).await {
        Ok(result) => result.map_err(io_err(format!("running {what}"))),
        Err(_) => Err(Error::Io {
            context: format!("running {what}"),
            source: io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no result after {}s", timeout.as_secs()),
            ),
        }),
    }
}

/// Runs a command like [`run`] and says why it failed, if it did: it could
/// not run, or it exited unsuccessfully (with its output).
pub(crate) async fn run_failure(cmd: Command, timeout: Duration, what: &str) -> Option<String> {
    match run(cmd, timeout, what).await {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "{what} exited with {}: {}",
            out.status,
            output_text(&out)
        )),
        Err(err) => Some(err.to_string()),
    }
}

/// A command's stderr and stdout, trimmed, for error messages.
fn output_text(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = format!("{}\n{}", stderr.trim(), stdout.trim());
    let text = text.trim();
    if text.is_empty() {
        "(no output)".to_owned()
    } else {
        text.to_owned()
    }
}

/// The last `lines` lines of a file (reading at most its last 8 KiB).
fn log_tail(path: &Path, lines: usize) -> Option<String> {
    let mut file = fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let start = len.saturating_sub(8192);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let mut all: Vec<&str> = text.lines().collect();
    if start > 0 && !all.is_empty() {
        all.remove(0); // probably cut mid-line
    }
    let keep = all.len().saturating_sub(lines);
    Some(all[keep..].join("\n"))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Options of a throwaway test cluster: unsynced, stopped when dropped.
    pub(crate) fn test_options() -> Options {
        Options {
            no_sync: true,
            ephemeral: true,
            ..Options::default()
        }
    }

    async fn select_one(pg: &EmbeddedPostgres, database: &str) -> i32 {
        let mut conn = PgConnection::connect_with(&pg.connect_options(database))
            .await
            .unwrap();
        let value: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        value
    }

    async fn wait_dead(pid: u32) {
        for _ in 0..200 {
            if !process_alive(pid) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("process {pid} did not die");
    }

    #[tokio::test]
    async fn fresh_start_query_stop() {
        let dir = tempfile::tempdir().unwrap();
        // A private data directory: as root, start must open it up for traversal.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let began = Instant::now();
        let pg = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        eprintln!("fresh start (initdb + start) took {:?}", began.elapsed());
        assert!(!pg.adopted());
        assert_eq!(pg.socket_dir(), pg.data_dir().join("run"));
        assert!(pg.cluster_dir().join("PG_VERSION").exists());
        assert_eq!(select_one(&pg, DEFAULT_DATABASE).await, 1);
        let mut conn = PgConnection::connect_with(&pg.connect_options(DEFAULT_DATABASE))
            .await
            .unwrap();
        for (setting, expected) in [
            ("listen_addresses", ""),
            ("fsync", "off"),
            ("TimeZone", "UTC"),
        ] {
            let value: String = sqlx::query_scalar(&format!("SHOW {setting}"))
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(value, expected, "{setting}");
        }
        conn.close().await.unwrap();
        if effective_uid().unwrap() == 0 {
            assert!(pg.run_as_user().is_some());
            let owner = fs::metadata(pg.cluster_dir()).unwrap().uid();
            assert_ne!(owner, 0);
            let mode = fs::metadata(dir.path()).unwrap().mode() & 0o7777;
            assert_eq!(mode, 0o711);
        }
        let pid = pg.postmaster_pid().unwrap();
        let began = Instant::now();
        pg.stop().await.unwrap();
        eprintln!("stop took {:?}", began.elapsed());
        assert!(!pg.cluster_dir().join("postmaster.pid").exists());
        wait_dead(pid).await;
        pg.stop().await.unwrap(); // idempotent
        assert!(pg.postmaster_pid().is_none());
    }

    #[tokio::test]
    async fn restart_reuses_cluster_durably() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            no_sync: false,
            ephemeral: true,
            ..Options::default()
        };
        let began = Instant::now();
        let pg = EmbeddedPostgres::start(dir.path(), options.clone())
            .await
            .unwrap();
        eprintln!("fresh durable start took {:?}", began.elapsed());
        let mut conn = PgConnection::connect_with(&pg.connect_options(DEFAULT_DATABASE))
            .await
            .unwrap();
        conn.execute("CREATE TABLE marker (v int); INSERT INTO marker VALUES (42)")
            .await
            .unwrap();
        conn.close().await.unwrap();
        let version_mtime = fs::metadata(pg.cluster_dir().join("PG_VERSION"))
            .unwrap()
            .modified()
            .unwrap();
        pg.stop().await.unwrap();
        drop(pg);

        let began = Instant::now();
        let pg = EmbeddedPostgres::start(dir.path(), options).await.unwrap();
        eprintln!("restart of an existing cluster took {:?}", began.elapsed());
        assert!(!pg.adopted());
        let mtime = fs::metadata(pg.cluster_dir().join("PG_VERSION"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(mtime, version_mtime, "initdb ran again");
        let mut conn = PgConnection::connect_with(&pg.connect_options(DEFAULT_DATABASE))
            .await
            .unwrap();
        let v: i32 = sqlx::query_scalar("SELECT v FROM marker")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(v, 42);
        conn.close().await.unwrap();
        pg.stop().await.unwrap();
    }

    #[tokio::test]
    async fn crash_recovery_after_sigkill() {
        let dir = tempfile::tempdir().unwrap();
        let pg = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        // Keep a backend alive so the kill leaves an orphan behind.
        let mut conn = PgConnection::connect_with(&pg.connect_options(DEFAULT_DATABASE))
            .await
            .unwrap();
        let pid = pg.postmaster_pid().unwrap();
        let status = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        wait_dead(pid).await;
        assert!(pg.cluster_dir().join("postmaster.pid").exists());
        drop(pg); // must not hang or fail on the dead server
        let began = Instant::now();
        let pg = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        eprintln!("start after SIGKILL took {:?}", began.elapsed());
        assert!(!pg.adopted());
        assert_ne!(pg.postmaster_pid().unwrap(), pid);
        assert_eq!(select_one(&pg, DEFAULT_DATABASE).await, 1);
        assert!(sqlx::query("SELECT 1").execute(&mut conn).await.is_err());
        pg.stop().await.unwrap();
    }

    #[tokio::test]
    async fn second_start_adopts_running_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let first = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        let began = Instant::now();
        let second = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        eprintln!("adopting start took {:?}", began.elapsed());
        assert!(second.adopted());
        assert_eq!(first.postmaster_pid(), second.postmaster_pid());
        assert_eq!(second.socket_dir(), first.socket_dir());
        assert_eq!(select_one(&second, DEFAULT_DATABASE).await, 1);
        assert_eq!(select_one(&first, DEFAULT_DATABASE).await, 1);
        second.stop().await.unwrap();
        assert!(first.postmaster_pid().is_none());
        first.stop().await.unwrap(); // already stopped by the adopter
    }

    #[tokio::test]
    async fn create_database_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let pg = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        let name = "test \"db\" 1";
        pg.create_database(name).await.unwrap();
        pg.create_database(name).await.unwrap();
        let mut conn = PgConnection::connect_with(&pg.connect_options(name))
            .await
            .unwrap();
        let current: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(current, name);
        conn.close().await.unwrap();
        assert!(matches!(
            pg.create_database("").await,
            Err(Error::InvalidDatabaseName(_))
        ));
        assert!(matches!(
            pg.create_database(&"x".repeat(64)).await,
            Err(Error::InvalidDatabaseName(_))
        ));
        pg.stop().await.unwrap();
    }

    #[tokio::test]
    async fn drop_stops_ephemeral_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let pg = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        let pid = pg.postmaster_pid().unwrap();
        let cluster = pg.cluster_dir().to_path_buf();
        drop(pg);
        assert!(!process_alive(pid));
        assert!(!cluster.join("postmaster.pid").exists());
    }

    #[tokio::test]
    async fn long_data_dir_falls_back_to_tmp_socket_dir() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o711)).unwrap();
        let long = dir.path().join("d".repeat(100));
        let pg = EmbeddedPostgres::start(&long, test_options())
            .await
            .unwrap();
        let socket_dir = pg.socket_dir().to_path_buf();
        assert!(socket_dir.starts_with("/tmp"));
        assert!(
            socket_dir
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("coffer-pg-")
        );
        assert_eq!(select_one(&pg, DEFAULT_DATABASE).await, 1);
        pg.stop().await.unwrap();
        drop(pg);
        fs::remove_dir_all(socket_dir).unwrap();
    }

    #[tokio::test]
    async fn untraversable_ancestor_is_reported() {
        if effective_uid().unwrap() != 0 {
            return; // only root switches users
        }
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let err = EmbeddedPostgres::start(&dir.path().join("data"), test_options())
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Permission(_)), "{message}");
        assert!(
            message.contains(&*fs::canonicalize(dir.path()).unwrap().to_string_lossy()),
            "{message}"
        );
        assert!(message.contains("chmod o+x"), "{message}");
    }

    #[test]
    fn bindir_override_and_search() {
        let found = find_bindir_from(None).unwrap();
        assert!(missing_programs(&found).is_none());
        let err = find_bindir_from(Some("/nonexistent".into())).unwrap_err();
        assert!(matches!(err, Error::BinariesNotFound(_)));
        assert_eq!(find_bindir_from(Some(found.clone().into())).unwrap(), found);
    }

    #[test]
    fn pid_file_parsing() {
        let text =
            "1234\n/data/postgres\n1700000000\n5432\n/data/run\n\n  5432001    32768\nready   \n";
        let info = PidFile::parse(text).unwrap();
        assert_eq!(info.pid, 1234);
        assert_eq!(info.port, Some(5432));
        assert_eq!(info.socket_dir, Some(PathBuf::from("/data/run")));
        assert_eq!(info.status, "ready");
        let partial = PidFile::parse("77\n/data/postgres\n").unwrap();
        assert_eq!(
            (partial.pid, partial.port, partial.socket_dir),
            (77, None, None)
        );
        assert!(PidFile::parse("").is_none());
        assert!(PidFile::parse("garbage\n").is_none());
    }

    #[test]
    fn helpers() {
        assert_eq!(conf_string(r"a'b\c"), r"'a''b\\c'");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert!(socket_path_fits(Path::new("/var/lib/coffer/run")));
        assert!(!socket_path_fits(&Path::new("/").join("x".repeat(100))));
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let users = parse_passwd("root:x:0:0::/root:/bin/sh\npostgres:x:101:104::/:/bin/false\n");
        assert_eq!(users.len(), 2);
        assert_eq!(users[1].uid, 101);
        assert_eq!(users[1].gid, 104);
        assert!(!process_alive(u32::MAX));
        assert!(process_alive(std::process::id()));
    }
}
