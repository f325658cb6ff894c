//! PostgreSQL support that Coffer runs itself.
//!
//! Coffer keeps its metadata (buckets, object versions, multipart state, ...)
//! in PostgreSQL. When the operator gives no database URL,
//! `coffer serve --data-dir DIR` must still be a single command that runs the
//! whole server, so this module owns a *private* PostgreSQL cluster living
//! inside `DIR`: it finds the server binaries, creates the cluster on first
//! run, starts it (or adopts one left running by a previous Coffer process),
//! recovers from crashes (stale `postmaster.pid`, leftover sockets, orphaned
//! backends), hands out [`sqlx`] connection options for its Unix socket, and
//! stops it again. The cluster never listens on TCP; it is reachable only
//! through a socket directory that only its owner (and root) may enter.
//!
//! The test suite uses the same code to start throwaway clusters
//! ([`Options::ephemeral`], [`Options::no_sync`]), so the embedded server is
//! exercised by every integration test.
//!
//! # Layout
//! - [`embedded`]: one cluster in a directory of its own (the primary, or a
//!   standby): paths, the user it runs as, configuration, start, adoption,
//!   crash recovery, stop. Its main items are re-exported here.
//! - [`standby`]: synchronous streaming standbys on other disks
//!   (`coffer serve --pg-standby DIR`): base backups, replication slots, the
//!   primary's synchronous rule, the supervisor.
//! - [`promote`]: making a standby the data directory's PostgreSQL when the
//!   primary's disk is lost, and `DATA_DIR/postgres.location`, which says
//!   where that PostgreSQL lives.
//! - [`status`]: what `coffer admin pg status` shows.

pub mod embedded;
pub mod promote;
pub mod standby;
pub mod status;

pub use embedded::{DEFAULT_DATABASE, EmbeddedPostgres, Error, Options, SUPERUSER};
pub use standby::StandbySet;
