//! The `volumes` table: every volume, its failure domain, state and free space.
//!
//! The table is the list of volumes: `coffer serve` opens every row (it creates volumes on
//! its own only on the first start of a fresh data directory), `coffer admin volume add`
//! adds one, and processes sharing the database see each other's state changes by
//! reading it again.

use serde::Serialize;
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Error, constraint_of};

/// What a volume is good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeState {
    /// Read, written, repaired onto.
    Active,
    /// Read; no new copies (free space below the threshold, or a write hit ENOSPC). Back
    /// to active when space is freed.
    Full,
    /// Read while its copies are moved elsewhere; no new copies. Set by the operator.
    Draining,
    /// Not the disk it should be (missing or different `volume.id`) or not reachable:
    /// neither read nor written; its copies do not count.
    Offline,
    /// Vanished or erroring repeatedly while in use: neither read nor written; its copies
    /// do not count. Re-checked at the next start.
    Failed,
}

impl VolumeState {
    /// Every state.
    pub const ALL: [VolumeState; 5] = [
        VolumeState::Active,
        VolumeState::Full,
        VolumeState::Draining,
        VolumeState::Offline,
        VolumeState::Failed,
    ];

    /// The name stored in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeState::Active => "active",
            VolumeState::Full => "full",
            VolumeState::Draining => "draining",
            VolumeState::Offline => "offline",
            VolumeState::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether copies on a volume in this state can be read (and count as copies).
    pub fn readable(self) -> bool {
        matches!(
            self,
            VolumeState::Active | VolumeState::Full | VolumeState::Draining
        )
    }
}

/// The states whose copies can be read, as SQL sees them.
pub(crate) const READABLE_STATES: &str = "('active', 'full', 'draining')";

/// One row of `volumes`.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeRow {
    /// The id in the directory's `volume.id`.
    pub id: Uuid,
    /// The directory.
    pub path: String,
    /// Block device, `major:minor`.
    pub device: String,
    /// Operator's label, if any.
    pub label: Option<String>,
    /// The label, or the device: volumes sharing one fail together.
    pub failure_domain: String,
    /// Current state.
    pub state: VolumeState,
    /// Why it is in that state.
    pub state_reason: Option<String>,
    /// Filesystem capacity, bytes (at the last check).
    pub capacity_bytes: u64,
    /// Free bytes (at the last check).
    pub free_bytes: u64,
    /// When the volume was added.
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}

const COLUMNS: &str = "id, path, device, label, failure_domain, state, state_reason,
    capacity_bytes, free_bytes, added_at";

fn from_row(row: &sqlx::postgres::PgRow) -> Result<VolumeRow, Error> {
    let state: String = row.try_get("state")?;
    Ok(VolumeRow {
        id: row.try_get("id")?,
        path: row.try_get("path")?,
        device: row.try_get("device")?,
        label: row.try_get("label")?,
        failure_domain: row.try_get("failure_domain")?,
        state: VolumeState::parse(&state)
            .ok_or_else(|| Error::Corrupt(format!("unknown volume state {state}")))?,
        state_reason: row.try_get("state_reason")?,
        capacity_bytes: row.try_get::<i64, _>("capacity_bytes")?.max(0) as u64,
        free_bytes: row.try_get::<i64, _>("free_bytes")?.max(0) as u64,
        added_at: row.try_get("added_at")?,
    })
}

/// Every volume, in the order they were added.
pub async fn list(db: impl PgExecutor<'_>) -> Result<Vec<VolumeRow>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM volumes ORDER BY added_at, id"
    ))
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A volume to register.
pub struct NewVolume<'a> {
    /// Its id (from the `volume.id` just written).
    pub id: Uuid,
    /// Its directory.
    pub path: &'a str,
    /// Its block device.
    pub device: &'a str,
    /// The operator's label.
    pub label: Option<&'a str>,
}

/// Registers a volume as active.
pub async fn insert(db: impl PgExecutor<'_>, v: &NewVolume<'_>) -> Result<(), Error> {
    sqlx::query("INSERT INTO volumes (id, path, device, label) VALUES ($1, $2, $3, $4)")
        .bind(v.id)
        .bind(v.path)
        .bind(v.device)
        .bind(v.label)
        .execute(db)
        .await
        .map_err(|e| match constraint_of(&e) {
            Some("volumes_path_key") => {
                Error::Config(format!("{} is already a registered volume", v.path))
            }
            Some("volumes_pkey") => Error::Config(format!("volume {} is already registered", v.id)),
            _ => Error::Db(e),
        })?;
    Ok(())
}

/// Records where a volume is now and the device it lives on (after it was opened at that
/// path with the right id).
pub async fn set_location(
    db: impl PgExecutor<'_>,
    id: Uuid,
    path: &str,
    device: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE volumes SET path = $2, device = $3, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(path)
        .bind(device)
        .execute(db)
        .await?;
    Ok(())
}

/// Sets a volume's state; returns the state it had (`None`: no such volume).
pub async fn set_state(
    db: impl PgExecutor<'_>,
    id: Uuid,
    state: VolumeState,
    reason: Option<&str>,
) -> Result<Option<VolumeState>, Error> {
    let old: Option<String> = sqlx::query_scalar(
        "UPDATE volumes v SET state = $2, state_reason = $3, updated_at = now()
         FROM (SELECT state FROM volumes WHERE id = $1 FOR UPDATE) old
         WHERE v.id = $1 RETURNING old.state",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(reason)
    .fetch_optional(db)
    .await?;
    Ok(old.as_deref().and_then(VolumeState::parse))
}

/// Records capacity and free bytes.
pub async fn set_space(
    db: impl PgExecutor<'_>,
    id: Uuid,
    capacity: u64,
    free: u64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE volumes SET capacity_bytes = $2, free_bytes = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(i64::try_from(capacity).unwrap_or(i64::MAX))
    .bind(i64::try_from(free).unwrap_or(i64::MAX))
    .execute(db)
    .await?;
    Ok(())
}

/// Removes a volume's row; refused while copies reference it.
pub async fn remove(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), Error> {
    let done = sqlx::query("DELETE FROM volumes WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map_err(|e| match constraint_of(&e) {
            Some("chunk_replicas_volume_fkey") => Error::VolumeInUse(id),
            _ => Error::Db(e),
        })?;
    if done.rows_affected() == 0 {
        return Err(Error::NoSuchVolume(id.to_string()));
    }
    Ok(())
}

/// How many chunk copies each volume holds, by state (`ok`, `corrupt`, `missing`).
pub async fn copy_counts(db: impl PgExecutor<'_>) -> Result<Vec<(Uuid, String, i64)>, Error> {
    Ok(sqlx::query_as(
        "SELECT volume_id, state, count(*) FROM chunk_replicas GROUP BY volume_id, state",
    )
    .fetch_all(db)
    .await?)
}
