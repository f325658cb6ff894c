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
//! Everything lives in [`embedded`]; the main items are re-exported here.

pub mod embedded;

pub use embedded::{DEFAULT_DATABASE, EmbeddedPostgres, Error, Options, SUPERUSER};
