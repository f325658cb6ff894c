//! Shared server state handed to every request.

use sqlx::PgPool;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::config::ServerConfig;
use crate::policy::registry::PolicyRegistry;
use crate::store::blob::ChunkStore;
use crate::store::secrets::MasterKey;
use crate::store::small_writes::SmallWrites;

/// A source of the current time, injectable so expiry and skew are testable.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// What every request handler can reach.
pub struct AppState {
    /// Metadata database.
    pub pool: PgPool,
    /// Writes small objects in batches (group commit) on `pool`.
    pub small_writes: SmallWrites,
    /// Object data.
    pub chunks: Arc<ChunkStore>,
    /// Unseals secret keys.
    pub master_key: MasterKey,
    /// Configuration.
    pub config: ServerConfig,
    /// The clock.
    pub clock: Clock,
    /// Which policy module decides for which bucket.
    pub policies: Arc<PolicyRegistry>,
}

impl AppState {
    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }
}

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(OffsetDateTime::now_utc)
}
