//! Storage: metadata in PostgreSQL, split by what it keeps ([`accounts`], [`buckets`],
//! [`objects`] with their writes ([`object_write`], and [`small_writes`] for small PUTs
//! committed together), [`multipart`] uploads, [`chunks`] with their copies and queues,
//! [`volumes`], runtime [`settings`]), object bytes in replicated chunk files ([`blob`]),
//! the background workers that keep them ([`repair`], [`scrub`], the garbage collector
//! [`gc`], paced by [`throttle`]), secret keys sealed with the master key ([`secrets`]),
//! stored policy modules and their attachments to buckets ([`policies`]), web console
//! sessions ([`console_sessions`]), and what the lifecycle worker reads ([`lifecycle`]).
//!
//! Functions take `impl PgExecutor` where one statement suffices, and a pool where they need
//! their own transaction. Constraint violations are matched by name (see `migrations/`) and
//! become domain errors here, once.

pub mod accounts;
pub mod admins;
pub mod blob;
pub mod blocks;
pub mod buckets;
pub mod chunks;
pub mod console_sessions;
pub mod cors;
pub mod gc;
pub mod lifecycle;
pub mod multipart;
pub mod object_write;
pub mod objects;
pub mod policies;
pub mod repair;
pub mod scrub;
pub mod secrets;
pub mod settings;
pub mod small_writes;
pub mod throttle;
pub mod versions;
pub mod volumes;

use sqlx::PgPool;
use std::path::Path;
use uuid::Uuid;

/// Applies the embedded migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), Error> {
    sqlx::migrate!("../migrations").run(pool).await?;
    Ok(())
}

/// The name of the constraint a database error violated, if any.
fn constraint_of(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

/// What went wrong in the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A database operation failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The bucket name is taken by another account.
    #[error("bucket already exists")]
    BucketAlreadyExists,
    /// The caller already owns a bucket of that name.
    #[error("bucket already owned by you")]
    BucketAlreadyOwnedByYou,
    /// The bucket still has objects.
    #[error("bucket not empty")]
    BucketNotEmpty,
    /// No such bucket.
    #[error("no such bucket")]
    NoSuchBucket,
    /// Account name taken.
    #[error("account already exists")]
    AccountExists,
    /// No such account.
    #[error("no such account: {0}")]
    NoSuchAccount(String),
    /// No such access key.
    #[error("no such access key: {0}")]
    NoSuchKey(String),
    /// No copy of a chunk that metadata references could be read whole and correct.
    #[error("chunk {0}: no good copy on any volume")]
    ChunkUnreadable(Uuid),
    /// Too few volumes could take a chunk's copies (full, failed, or too few configured).
    #[error("only {available} of the {needed} copies a write needs could be made")]
    InsufficientVolumes {
        /// Copies made.
        available: usize,
        /// `--min-write-replicas`.
        needed: usize,
    },
    /// A copy's intent was gone at commit: it expired and its file may have been removed.
    #[error("the intent of chunk {0} on volume {1} expired before the commit")]
    IntentLost(Uuid, Uuid),
    /// No volume with that id.
    #[error("no such volume: {0}")]
    NoSuchVolume(String),
    /// A volume still holds copies.
    #[error("volume {0} still holds chunk copies: drain it first (`coffer admin volume drain`)")]
    VolumeInUse(Uuid),
    /// Data on disk does not match its checksum or format.
    #[error("corrupt: {0}")]
    Corrupt(String),
    /// Bad configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// A sealed secret could not be opened (wrong master key?).
    #[error("cannot decrypt a secret key: wrong master key?")]
    Decrypt,
    /// No policy module of that name is stored.
    #[error("no such policy module: {0}")]
    NoSuchPolicy(String),
    /// A policy module is still attached to buckets and cannot be deleted.
    #[error("policy module {name} is attached to {buckets} bucket(s); detach it first")]
    PolicyInUse {
        /// The module.
        name: String,
        /// How many buckets use it.
        buckets: i64,
    },
    /// A conditional write's condition (the header named) does not hold.
    #[error("precondition {0} failed")]
    PreconditionFailed(&'static str),
    /// The object a write or read requires does not exist.
    #[error("no such object")]
    NoSuchObject,
    /// The version is under a legal hold or retained (object lock): nobody may delete it.
    #[error("the version is protected by object lock")]
    ObjectLocked,
    /// No such multipart upload (in this bucket, for this key).
    #[error("no such upload")]
    NoSuchUpload,
    /// A blocking task died.
    #[error("background task: {0}")]
    Join(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
