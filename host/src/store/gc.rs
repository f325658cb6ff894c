//! Garbage collection of chunk files that no metadata references.
//!
//! Overwrites and deletes release chunks right after their transaction commits. What that
//! misses — files of uploads cut off by a crash, releases interrupted by a crash, temporary
//! files — is found here: a periodic scan of every volume removes chunk files that have no
//! `chunks` row and temporary files, once they are older than the grace period and are not
//! part of an upload still in progress in this process. The grace period must exceed the
//! longest single-chunk write of a slow upload on another process sharing the volumes.

use sqlx::PgPool;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use uuid::Uuid;

use super::Error;
use super::blob::ChunkStore;
use super::meta;

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GcReport {
    /// Chunk files with no metadata.
    pub orphan_chunks: u64,
    /// Abandoned temporary files.
    pub temp_files: u64,
}

/// Files older than the grace period found on one volume.
#[derive(Default)]
struct Candidates {
    /// Chunk files, with the id their name carries.
    chunks: Vec<(Uuid, PathBuf)>,
    /// Temporary files.
    temps: Vec<PathBuf>,
}

/// Lists a volume's chunk and temporary files older than `grace`.
fn scan_volume(root: &Path, grace: Duration) -> std::io::Result<Candidates> {
    let now = SystemTime::now();
    let old_enough = |path: &Path| -> bool {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default() >= grace)
            .unwrap_or(false)
    };
    let mut chunks = Vec::new();
    for fan in std::fs::read_dir(root.join("chunks"))? {
        let fan = fan?.path();
        if !fan.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&fan)? {
            let path = entry?.path();
            let id = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| Uuid::parse_str(n).ok());
            if let Some(id) = id
                && old_enough(&path)
            {
                chunks.push((id, path));
            }
        }
    }
    let mut temps = Vec::new();
    for entry in std::fs::read_dir(root.join("tmp"))? {
        let path = entry?.path();
        if old_enough(&path) {
            temps.push(path);
        }
    }
    Ok(Candidates { chunks, temps })
}

/// One garbage-collection pass over every volume.
pub async fn collect_once(
    pool: &PgPool,
    store: &Arc<ChunkStore>,
    grace: Duration,
) -> Result<GcReport, Error> {
    let mut report = GcReport::default();
    for volume in store.volumes() {
        let root = volume.root.clone();
        let Candidates { chunks, temps } =
            tokio::task::spawn_blocking(move || scan_volume(&root, grace))
                .await
                .map_err(|e| Error::Join(e.to_string()))?
                .map_err(|e| Error::io(&volume.root, e))?;
        for batch in chunks.chunks(1000) {
            let ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
            let known = meta::known_chunks(pool, &ids).await?;
            for (id, path) in batch {
                if known.contains(id) || store.is_in_flight(*id) {
                    continue;
                }
                match tokio::fs::remove_file(path).await {
                    Ok(()) => report.orphan_chunks += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(path, e)),
                }
            }
        }
        for path in temps {
            let in_flight = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| Uuid::parse_str(s).ok())
                .is_some_and(|id| store.is_in_flight(id));
            if in_flight {
                continue;
            }
            match tokio::fs::remove_file(&path).await {
                Ok(()) => report.temp_files += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }
    Ok(report)
}

/// Runs [`collect_once`] every `interval` until `shutdown` fires.
pub async fn run(
    pool: PgPool,
    store: Arc<ChunkStore>,
    interval: Duration,
    grace: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        match collect_once(&pool, &store, grace).await {
            Ok(r) if r != GcReport::default() => {
                tracing::info!(
                    orphan_chunks = r.orphan_chunks,
                    temp_files = r.temp_files,
                    "garbage collected"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "garbage collection failed"),
        }
    }
}
