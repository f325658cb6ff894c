//! Storage: metadata in PostgreSQL ([`meta`]), object bytes in chunk files ([`blob`]),
//! secret keys sealed with the master key ([`secrets`]), stored policy modules and their
//! attachments to buckets ([`policies`]) and the garbage collector ([`gc`]).

pub mod admins;
pub mod blob;
pub mod gc;
pub mod meta;
pub mod multipart;
pub mod policies;
pub mod secrets;

use std::path::Path;
use uuid::Uuid;

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
    /// A chunk that metadata references is on no volume.
    #[error("chunk {0} is missing from every volume")]
    MissingChunk(Uuid),
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
