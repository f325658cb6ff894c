//! Garbage collection of chunk files, and the shallow scrub that shares its walk.
//!
//! Three jobs, all keyed on (chunk, volume), so a stray extra copy is collected like any
//! other file:
//! - **Deferred deletions.** Deleting or overwriting an object releases its chunks in the
//!   same transaction and queues their copies in `chunk_deletions`; they are unlinked once
//!   `--delete-delay` has passed, so a GET already streaming the old bytes finishes.
//! - **Expired intents.** An intent that outlived its TTL belongs to a writer that died;
//!   its files are removed (unless a replica row records them).
//! - **The sweep**, every `--gc-interval`, walks each readable volume, one fan-out
//!   directory at a time: a file that no replica row, live intent or pending deletion
//!   accounts for, older than `--gc-grace`, is removed (an upload cut off by a crash, a
//!   copy a repair left behind, a temporary file); a good copy the table records but whose
//!   file is missing is marked `missing` and queued for repair.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use uuid::Uuid;

use super::Error;
use super::blob::{ChunkStore, VolumeHandle, blocking};
use super::chunks::{self, CopyProblem};

/// What a sweep found.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Chunk files nothing accounts for, removed.
    pub orphans_removed: u64,
    /// Temporary files of dead writers, removed.
    pub temp_files_removed: u64,
    /// Recorded copies whose file was missing (queued for repair).
    pub missing: u64,
    /// The chunks of the missing copies.
    #[serde(skip)]
    pub missing_chunks: Vec<Uuid>,
}

/// The chunk files (named `<id><suffix>`) of one directory.
#[derive(Debug, Default)]
struct Listing {
    /// Those older than the grace period, with their paths.
    old: Vec<(Uuid, PathBuf)>,
    /// Every id found.
    all: HashSet<Uuid>,
}

/// Lists one directory's chunk files.
fn list_files(dir: &std::path::Path, suffix: &str, grace: Duration) -> std::io::Result<Listing> {
    let now = SystemTime::now();
    let mut listing = Listing::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(listing),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(suffix))
            .and_then(|n| Uuid::parse_str(n).ok())
        else {
            continue;
        };
        listing.all.insert(id);
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default());
        if age.is_ok_and(|a| a >= grace) {
            listing.old.push((id, entry.path()));
        }
    }
    Ok(listing)
}

/// Removes a file; a missing one is fine.
fn remove(path: &std::path::Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the files nothing accounts for among `old` on `volume`; returns how many.
async fn remove_unaccounted(
    store: &ChunkStore,
    volume: &VolumeHandle,
    old: Vec<(Uuid, PathBuf)>,
    temporary: bool,
) -> Result<u64, Error> {
    if old.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = old.iter().map(|(id, _)| *id).collect();
    let accounted: HashSet<Uuid> =
        chunks::accounted_files(store.pool(), volume.id, &ids, temporary)
            .await?
            .into_iter()
            .collect();
    let doomed: Vec<PathBuf> = old
        .into_iter()
        .filter(|(id, _)| !accounted.contains(id))
        .map(|(_, p)| p)
        .collect();
    blocking(move || {
        let mut removed = 0;
        for path in doomed {
            match remove(&path) {
                Ok(true) => removed += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "could not remove an orphan")
                }
            }
        }
        removed
    })
    .await
}

/// One sweep of every readable volume (see the module documentation).
pub async fn sweep(store: &Arc<ChunkStore>, grace: Duration) -> Result<SweepReport, Error> {
    let mut report = SweepReport::default();
    for volume in store.volumes().iter() {
        if !volume.state().readable() {
            continue;
        }
        let tmp = volume.dir().tmp_dir();
        let temps = blocking(move || list_files(&tmp, ".tmp", grace))
            .await?
            .map_err(|e| Error::io(volume.dir().root(), e))?;
        report.temp_files_removed += remove_unaccounted(store, volume, temps.old, true).await?;
        for prefix in 0..=255u8 {
            let fan = volume.dir().fan_dir(prefix);
            let files = blocking(move || list_files(&fan, "", grace))
                .await?
                .map_err(|e| Error::io(&volume.dir().fan_dir(prefix), e))?;
            report.orphans_removed += remove_unaccounted(store, volume, files.old, false).await?;
            let recorded = chunks::recorded_copies(store.pool(), volume.id, prefix).await?;
            for chunk in recorded.into_iter().filter(|c| !files.all.contains(c)) {
                // Listed before the row was read: a copy installed since then is there now.
                let path = volume.dir().chunk_path(chunk);
                if blocking(move || path.exists()).await? {
                    continue;
                }
                report.missing += 1;
                report.missing_chunks.push(chunk);
                store
                    .report_bad_copy(chunk, volume, CopyProblem::Missing, "sweep")
                    .await;
            }
        }
    }
    Ok(report)
}

/// Unlinks the copies released more than `delay` ago; returns how many files went.
pub async fn drain_deletions(store: &ChunkStore, delay: Duration) -> Result<u64, Error> {
    let mut removed = 0;
    loop {
        let due = chunks::take_due_deletions(store.pool(), delay, 500).await?;
        if due.is_empty() {
            return Ok(removed);
        }
        removed += unlink_copies(store, &due).await?;
    }
}

/// Removes the files of intents whose writers died; returns how many files went.
pub async fn expire_intents(store: &ChunkStore) -> Result<u64, Error> {
    let mut removed = 0;
    loop {
        let expired = chunks::take_expired_intents(store.pool(), 500).await?;
        if expired.is_empty() {
            return Ok(removed);
        }
        removed += unlink_copies(store, &expired).await?;
    }
}

/// Unlinks the final and temporary files of (chunk, volume) copies on reachable volumes;
/// returns how many files went. Copies on volumes that are gone are left to the sweep,
/// should the volume come back.
async fn unlink_copies(store: &ChunkStore, copies: &[(Uuid, Uuid)]) -> Result<u64, Error> {
    let mut paths = Vec::new();
    for (chunk, volume) in copies {
        if let Some(v) = store.volume(*volume).filter(|v| v.state().readable()) {
            paths.push(v.dir().chunk_path(*chunk));
            paths.push(v.dir().tmp_path(*chunk));
        }
    }
    blocking(move || {
        let mut removed = 0;
        for path in paths {
            match remove(&path) {
                Ok(true) => removed += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not remove a chunk file"),
            }
        }
        removed
    })
    .await
}

/// Drains deletions and expired intents every few seconds and sweeps every
/// `--gc-interval`, until `shutdown` fires.
pub async fn run(store: Arc<ChunkStore>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let config = store.config().clone();
    let tick = (config.delete_delay / 4).clamp(Duration::from_secs(1), Duration::from_secs(15));
    let mut last_sweep = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
        match drain_deletions(&store, config.delete_delay).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(files = n, "unlinked released chunk copies"),
            Err(e) => tracing::warn!(error = %e, "unlinking released chunks failed"),
        }
        match expire_intents(&store).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(intents = n, "removed the files of writers that died"),
            Err(e) => tracing::warn!(error = %e, "expiring intents failed"),
        }
        if last_sweep.elapsed() < config.gc_interval {
            continue;
        }
        last_sweep = tokio::time::Instant::now();
        match sweep(&store, config.gc_grace).await {
            Ok(r) if r != SweepReport::default() => {
                tracing::info!(
                    orphans = r.orphans_removed,
                    temp_files = r.temp_files_removed,
                    missing = r.missing,
                    "volume sweep"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "volume sweep failed"),
        }
    }
}
