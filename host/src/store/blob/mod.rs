//! Chunk files on volumes: the only place object bytes touch the disk.
//!
//! A chunk (at most `--chunk-size` bytes of one object or part) is written as `--replicas`
//! copies, one per volume, on volumes of distinct failure domains when there are enough
//! ([`placement`]). Every copy carries the same file name (the chunk id) and the raw bytes,
//! so a range is an offset and an operator can compare copies with `cmp`. Where the copies
//! are is recorded in PostgreSQL (`chunk_replicas`), with one CRC32C per block of the chunk
//! ([`blocks`]); reads ([`ChunkStore::read_block`]) check every block before handing it
//! out and continue from another copy when one is bad, reporting it for repair.
//!
//! The [`ChunkStore`] keeps the volumes' states in memory (read from the `volumes` table,
//! refreshed by [`ChunkStore::refresh`]): which volumes take new copies, which can be read,
//! and the write and read failures that change that (ENOSPC makes a volume full, a vanished
//! directory or repeated I/O errors make it failed, and a failed volume's chunks are queued
//! for repair).
//!
//! Every copy being written has an intent row (`chunk_intents`) from before its file is
//! created until the transaction that records it; see [`writer`] for why that makes
//! cleanup safe across processes and crashes.

pub mod placement;
pub mod volume;
mod writer;

use bytes::Bytes;
use sqlx::PgPool;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

use self::placement::Candidate;
use self::volume::{IdentityError, Space, VolumeDir};
use super::Error;
use super::chunks::{self, ChunkRef, CopyProblem, RepairScope};
use super::volumes::{self, NewVolume, VolumeRow, VolumeState};
use crate::config::StorageConfig;

pub use self::writer::{ChunkWriter, WrittenChunks};
pub(crate) use self::writer::{CopyError, copy_verified};

/// How many bytes a chunk writer collects before handing them to the disks.
pub const WRITE_BUFFER: usize = 1 << 20;

/// I/O errors (other than a full disk) within [`ERROR_WINDOW`] that make a volume failed.
const ERRORS_TO_FAIL: usize = 3;
/// See [`ERRORS_TO_FAIL`].
const ERROR_WINDOW: Duration = Duration::from_secs(60);

/// One volume as the running process sees it.
pub struct VolumeHandle {
    /// The id in its `volume.id`.
    pub id: Uuid,
    dir: VolumeDir,
    /// Its failure domain.
    pub domain: String,
    state: AtomicU8,
    capacity: AtomicU64,
    free: AtomicU64,
    /// Free bytes when a write last hit ENOSPC (`u64::MAX`: none): the volume stays full
    /// until clearly more than that is free.
    enospc_free: AtomicU64,
    errors: Mutex<VecDeque<Instant>>,
    corruptions: AtomicU64,
    read_errors: AtomicU64,
    write_errors: AtomicU64,
}

impl std::fmt::Debug for VolumeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VolumeHandle")
            .field("id", &self.id)
            .field("root", &self.dir.root())
            .field("state", &self.state())
            .finish()
    }
}

impl VolumeHandle {
    fn new(row: &VolumeRow) -> Self {
        VolumeHandle {
            id: row.id,
            dir: VolumeDir::at(&row.path),
            domain: row.failure_domain.clone(),
            state: AtomicU8::new(state_code(row.state)),
            capacity: AtomicU64::new(row.capacity_bytes),
            free: AtomicU64::new(row.free_bytes),
            enospc_free: AtomicU64::new(u64::MAX),
            errors: Mutex::new(VecDeque::new()),
            corruptions: AtomicU64::new(0),
            read_errors: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
        }
    }

    /// Its directory.
    pub fn dir(&self) -> &VolumeDir {
        &self.dir
    }

    /// Its state as this process last saw it.
    pub fn state(&self) -> VolumeState {
        VolumeState::ALL[usize::from(self.state.load(Ordering::Relaxed)).min(4)]
    }

    fn set_local_state(&self, state: VolumeState) -> VolumeState {
        VolumeState::ALL[usize::from(self.state.swap(state_code(state), Ordering::Relaxed)).min(4)]
    }

    /// Capacity and free bytes at the last check.
    pub fn space(&self) -> Space {
        Space {
            capacity: self.capacity.load(Ordering::Relaxed),
            free: self.free.load(Ordering::Relaxed),
        }
    }

    /// Records one I/O error; true when that makes [`ERRORS_TO_FAIL`] within the window.
    fn count_error(&self) -> bool {
        let now = Instant::now();
        let Ok(mut errors) = self.errors.lock() else {
            return true;
        };
        errors.push_back(now);
        while errors
            .front()
            .is_some_and(|t| now.duration_since(*t) > ERROR_WINDOW)
        {
            errors.pop_front();
        }
        errors.len() >= ERRORS_TO_FAIL
    }
}

fn state_code(state: VolumeState) -> u8 {
    VolumeState::ALL
        .iter()
        .position(|s| *s == state)
        .unwrap_or(0) as u8
}

/// What placement is for: new copies stop at `--volume-full-percent`, repaired copies
/// earlier, so repairs never fill the last space new writes need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A new object's copies.
    Write,
    /// Replacing a lost or bad copy.
    Repair,
}

/// Counters rendered at `/metrics`.
#[derive(Default)]
struct StoreMetrics {
    degraded_chunks: AtomicU64,
    refused_writes: AtomicU64,
    write_failovers: AtomicU64,
}

/// The volumes and the chunking parameters.
pub struct ChunkStore {
    pool: PgPool,
    config: StorageConfig,
    volumes: RwLock<Arc<Vec<Arc<VolumeHandle>>>>,
    /// Chunk ids of this process's live intents, renewed by [`ChunkStore::run_intent_renewer`].
    intents: Mutex<HashMap<Uuid, usize>>,
    metrics: StoreMetrics,
}

impl std::fmt::Debug for ChunkStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkStore")
            .field("config", &self.config)
            .field("volumes", &self.volumes())
            .finish()
    }
}

impl ChunkStore {
    /// Opens the volumes the `volumes` table lists, after registering `config.volumes` when
    /// `bootstrap` is set (`coffer serve`; see [`register_bootstrap`]). Each volume's
    /// `volume.id` is checked: one that is missing or different makes the volume offline,
    /// loudly; nothing is created in its place.
    pub async fn open(
        pool: PgPool,
        config: StorageConfig,
        bootstrap: bool,
    ) -> Result<Arc<Self>, Error> {
        if bootstrap {
            register_bootstrap(&pool, &config.volumes, config.explicit_volumes).await?;
        }
        let store = Arc::new(ChunkStore {
            pool,
            config,
            volumes: RwLock::new(Arc::new(Vec::new())),
            intents: Mutex::new(HashMap::new()),
            metrics: StoreMetrics::default(),
        });
        store.check_all_at_start().await?;
        store.warn_shared_domains();
        Ok(store)
    }

    /// The configuration.
    pub fn config(&self) -> &StorageConfig {
        &self.config
    }

    /// The configured chunk size.
    pub fn chunk_size(&self) -> usize {
        self.config.chunk_size
    }

    /// The database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The volumes as last seen.
    pub fn volumes(&self) -> Arc<Vec<Arc<VolumeHandle>>> {
        match self.volumes.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The volume `id`, if known.
    pub fn volume(&self, id: Uuid) -> Option<Arc<VolumeHandle>> {
        self.volumes().iter().find(|v| v.id == id).cloned()
    }

    fn install(&self, list: Vec<Arc<VolumeHandle>>) {
        let list = Arc::new(list);
        match self.volumes.write() {
            Ok(mut v) => *v = list,
            Err(poisoned) => *poisoned.into_inner() = list,
        }
    }

    /// The start-time check: every registered volume's identity, its device and space.
    async fn check_all_at_start(&self) -> Result<(), Error> {
        let rows = volumes::list(&self.pool).await?;
        let mut handles = Vec::with_capacity(rows.len());
        for row in &rows {
            let handle = Arc::new(VolumeHandle::new(row));
            let path = PathBuf::from(&row.path);
            let id = row.id;
            let checked = blocking(move || {
                let dir = VolumeDir::open(&path, id)?;
                let device = dir.device().map_err(|e| IdentityError::Unreadable {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                Ok::<_, IdentityError>(device)
            })
            .await?;
            match checked {
                Ok(device) => {
                    if device != row.device {
                        volumes::set_location(&self.pool, row.id, &row.path, &device).await?;
                    }
                    if matches!(row.state, VolumeState::Offline | VolumeState::Failed) {
                        tracing::warn!(volume = %row.id, path = %row.path, was = row.state.as_str(),
                            "volume is back: its volume.id matches again");
                        self.transition(&handle, VolumeState::Active, None).await?;
                    }
                }
                Err(e) => {
                    let reason = e.to_string();
                    tracing::error!(volume = %row.id, path = %row.path, error = %reason,
                        "VOLUME OFFLINE: not the volume registered at this path; nothing is \
                         written there until it is (mount the right disk and restart)");
                    eprintln!(
                        "error: volume {} at {} is offline: {reason}",
                        row.id, row.path
                    );
                    self.transition(&handle, VolumeState::Offline, Some(&reason))
                        .await?;
                    // Queued again at every start that finds it offline (a no-op for
                    // chunks already queued): the delay gives a forgotten mount time.
                    self.queue_volume_repairs(row.id, "volume offline").await?;
                }
            }
            handles.push(handle);
        }
        self.install(handles);
        self.refresh_space().await;
        Ok(())
    }

    /// Logs when copies cannot be spread over enough failure domains.
    fn warn_shared_domains(&self) {
        let vols = self.volumes();
        let mut domains: Vec<&str> = vols
            .iter()
            .filter(|v| v.state().readable())
            .map(|v| v.domain.as_str())
            .collect();
        domains.sort_unstable();
        domains.dedup();
        if vols.len() > domains.len() || domains.len() < self.config.replicas {
            let message = format!(
                "{} volumes in {} failure domain(s) for {} copies per chunk: copies in one \
                 domain are lost together (put volumes on distinct disks, or label them)",
                vols.len(),
                domains.len(),
                self.config.replicas
            );
            tracing::warn!(domains = ?domains, "{message}");
            eprintln!("warning: {message}");
        }
    }

    /// Failure domains of the readable volumes, with how many volumes each holds.
    pub fn failure_domains(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for v in self.volumes().iter() {
            match out.iter_mut().find(|(d, _)| *d == v.domain) {
                Some((_, n)) => *n += 1,
                None => out.push((v.domain.clone(), 1)),
            }
        }
        out
    }

    /// Changes a volume's state, here and in the table; queues its chunks for repair when
    /// it stops being readable.
    async fn transition(
        &self,
        v: &VolumeHandle,
        state: VolumeState,
        reason: Option<&str>,
    ) -> Result<(), Error> {
        let before = v.set_local_state(state);
        volumes::set_state(&self.pool, v.id, state, reason).await?;
        if before != state {
            tracing::warn!(volume = %v.id, path = %v.dir.root().display(), from = before.as_str(),
                to = state.as_str(), reason = reason.unwrap_or(""), "volume state changed");
        }
        if before.readable() && !state.readable() {
            self.queue_volume_repairs(v.id, &format!("volume {}", state.as_str()))
                .await?;
        }
        Ok(())
    }

    /// Queues every chunk with a copy on volume `id` for repair (after the offline delay
    /// when the volume may just be unmounted).
    async fn queue_volume_repairs(&self, id: Uuid, reason: &str) -> Result<(), Error> {
        let delay = match self.volume(id).map(|v| v.state()) {
            Some(VolumeState::Offline) => self.config.offline_repair_delay,
            _ => Duration::ZERO,
        };
        let queued =
            chunks::queue_repairs(&self.pool, RepairScope::Volume(id), reason, delay).await?;
        if queued > 0 {
            tracing::warn!(volume = %id, chunks = queued, delay_s = delay.as_secs(), "queued the volume's chunks for repair");
        }
        Ok(())
    }

    /// Re-reads the `volumes` table (volumes added, drained or removed, and states other
    /// processes set), then checks each usable volume: its identity (a directory that
    /// vanished or holds another id makes the volume failed), its free space (full at
    /// `--volume-full-percent`, active again once space is freed). Called periodically.
    pub async fn refresh(&self) -> Result<(), Error> {
        let rows = volumes::list(&self.pool).await?;
        let current = self.volumes();
        let mut next = Vec::with_capacity(rows.len());
        for row in &rows {
            let handle = match current.iter().find(|v| v.id == row.id) {
                Some(h) if h.dir.root() == Path::new(&row.path) => {
                    // Another process (or the admin CLI) may have changed the state.
                    if h.state() != row.state {
                        h.set_local_state(row.state);
                    }
                    h.clone()
                }
                _ => Arc::new(VolumeHandle::new(row)),
            };
            next.push(handle);
        }
        self.install(next);
        for v in self.volumes().iter() {
            let dir = v.dir.clone();
            let id = v.id;
            let identity = blocking(move || dir.read_id().map(|found| found == id)).await?;
            match (v.state(), identity) {
                (VolumeState::Offline, Ok(true)) => {
                    self.transition(v, VolumeState::Active, None).await?;
                }
                (VolumeState::Offline | VolumeState::Failed, _) => {}
                (_, Ok(true)) => {}
                (_, Ok(false)) => {
                    self.transition(
                        v,
                        VolumeState::Failed,
                        Some("volume.id changed: another disk is mounted there"),
                    )
                    .await?;
                }
                (_, Err(e)) => {
                    self.transition(v, VolumeState::Failed, Some(&format!("vanished: {e}")))
                        .await?;
                }
            }
        }
        self.refresh_space().await;
        Ok(())
    }

    /// statvfs of every reachable volume; full and active follow the thresholds.
    async fn refresh_space(&self) {
        for v in self.volumes().iter() {
            if !v.state().readable() {
                continue;
            }
            let dir = v.dir.clone();
            let space = match blocking(move || dir.space()).await {
                Ok(Ok(space)) => space,
                Ok(Err(e)) => {
                    tracing::warn!(volume = %v.id, error = %e, "statvfs failed");
                    continue;
                }
                Err(_) => continue,
            };
            let before = v.space();
            v.capacity.store(space.capacity, Ordering::Relaxed);
            v.free.store(space.free, Ordering::Relaxed);
            let moved = before.free.abs_diff(space.free) > space.capacity / 200
                || before.capacity != space.capacity;
            if moved
                && let Err(e) =
                    volumes::set_space(&self.pool, v.id, space.capacity, space.free).await
            {
                tracing::warn!(volume = %v.id, error = %e, "recording free space failed");
            }
            let over = space.used_percent() >= self.config.full_percent;
            let enospc = v.enospc_free.load(Ordering::Relaxed);
            let margin = (self.config.chunk_size as u64).max(space.capacity / 100);
            let still_enospc = enospc != u64::MAX && space.free < enospc.saturating_add(margin);
            let result = match v.state() {
                VolumeState::Active if over => {
                    self.transition(v, VolumeState::Full, Some("free space below the threshold"))
                        .await
                }
                VolumeState::Full if !over && !still_enospc => {
                    v.enospc_free.store(u64::MAX, Ordering::Relaxed);
                    self.transition(v, VolumeState::Active, None).await
                }
                _ => Ok(()),
            };
            if let Err(e) = result {
                tracing::warn!(volume = %v.id, error = %e, "recording the volume state failed");
            }
        }
    }

    /// The volumes for a chunk's copies, in preference order: eligible ones only (active,
    /// under the threshold of `purpose`, not in `exclude`), one per failure domain first.
    pub fn placement(
        &self,
        chunk: Uuid,
        purpose: Purpose,
        exclude: &[Uuid],
    ) -> Vec<Arc<VolumeHandle>> {
        let limit = match purpose {
            Purpose::Write => self.config.full_percent,
            Purpose::Repair => self.config.repair_full_percent,
        };
        let vols = self.volumes();
        let eligible: Vec<&Arc<VolumeHandle>> = vols
            .iter()
            .filter(|v| {
                v.state() == VolumeState::Active
                    && v.space().used_percent() < limit
                    && !exclude.contains(&v.id)
            })
            .collect();
        let candidates: Vec<Candidate<'_>> = eligible
            .iter()
            .map(|v| Candidate {
                id: v.id,
                domain: &v.domain,
                weight: v.space().free,
            })
            .collect();
        placement::order(chunk, &candidates)
            .into_iter()
            .map(|i| eligible[i].clone())
            .collect()
    }

    /// A failed write on `v`: ENOSPC makes it full; a vanished directory or repeated errors
    /// make it failed.
    pub(crate) async fn write_failed(&self, v: &VolumeHandle, err: &std::io::Error) {
        v.write_errors.fetch_add(1, Ordering::Relaxed);
        self.metrics.write_failovers.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(volume = %v.id, path = %v.dir.root().display(), error = %err, "write to volume failed; using another");
        let result = if is_out_of_space(err) {
            // What is free now (the cached figure may be from before the disk filled): the
            // volume takes copies again once clearly more than that is free.
            let dir = v.dir.clone();
            let free = match blocking(move || dir.space()).await {
                Ok(Ok(space)) => space.free,
                _ => 0,
            };
            v.free.store(free, Ordering::Relaxed);
            v.enospc_free
                .store(free.min(u64::MAX - 1), Ordering::Relaxed);
            if v.state() == VolumeState::Active {
                self.transition(v, VolumeState::Full, Some("out of space (ENOSPC)"))
                    .await
            } else {
                Ok(())
            }
        } else {
            let dir = v.dir.clone();
            let id = v.id;
            let vanished = !matches!(
                blocking(move || dir.read_id().map(|f| f == id)).await,
                Ok(Ok(true))
            );
            if vanished {
                self.transition(
                    v,
                    VolumeState::Failed,
                    Some(&format!("vanished while writing: {err}")),
                )
                .await
            } else if v.count_error() && v.state().readable() {
                self.transition(
                    v,
                    VolumeState::Failed,
                    Some(&format!("repeated I/O errors: {err}")),
                )
                .await
            } else {
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::warn!(volume = %v.id, error = %e, "recording the volume state failed");
        }
    }

    /// A copy that could not be read or failed its checksum: counted, logged with what was
    /// being read, marked in its replica row and queued for repair; an unreadable file
    /// also counts as an I/O error of its volume.
    pub async fn report_bad_copy(
        &self,
        chunk: Uuid,
        volume: &VolumeHandle,
        problem: CopyProblem,
        context: &str,
    ) {
        match problem {
            CopyProblem::Corrupt => volume.corruptions.fetch_add(1, Ordering::Relaxed),
            CopyProblem::Missing | CopyProblem::Unreadable => {
                volume.read_errors.fetch_add(1, Ordering::Relaxed)
            }
        };
        tracing::error!(%chunk, volume = %volume.id, path = %volume.dir.chunk_path(chunk).display(),
            problem = problem.as_str(), object = context, "bad chunk copy; marked for repair");
        if let Err(e) = chunks::mark_copy_bad(&self.pool, chunk, volume.id, problem).await {
            tracing::warn!(%chunk, error = %e, "recording a bad copy failed");
        }
        if problem == CopyProblem::Unreadable && volume.count_error() && volume.state().readable() {
            let result = self
                .transition(volume, VolumeState::Failed, Some("repeated read errors"))
                .await;
            if let Err(e) = result {
                tracing::warn!(volume = %volume.id, error = %e, "recording the volume state failed");
            }
        }
    }

    /// Reads block `index` of `chunk` from the first copy that passes its CRC: copies on
    /// unreadable volumes or in `avoid` are skipped; a copy that fails is reported
    /// ([`ChunkStore::copy_failed`]) and added to `avoid`. Errors only when no copy is good.
    pub async fn read_block(
        self: &Arc<Self>,
        chunk: &ChunkRef,
        index: usize,
        avoid: &mut Vec<Uuid>,
        context: &str,
    ) -> Result<Bytes, Error> {
        let (start, end) = chunk.blocks.range(index, chunk.size);
        for volume in self.read_order(chunk, avoid) {
            let path = volume.dir.chunk_path(chunk.chunk_id);
            let blocks = chunk.blocks.clone();
            let read = blocking(move || {
                read_range(&path, start, end).map(|data| {
                    let ok = blocks.check(index, &data);
                    (data, ok)
                })
            })
            .await?;
            let problem = match read {
                Ok((data, true)) => return Ok(Bytes::from(data)),
                Ok((_, false)) => CopyProblem::Corrupt,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => CopyProblem::Missing,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => CopyProblem::Corrupt,
                Err(_) => CopyProblem::Unreadable,
            };
            avoid.push(volume.id);
            // Recorded in the background: the read goes on from another copy meanwhile.
            let (store, chunk_id, context) = (self.clone(), chunk.chunk_id, context.to_string());
            tokio::spawn(async move {
                store
                    .report_bad_copy(chunk_id, &volume, problem, &context)
                    .await;
            });
        }
        tracing::error!(chunk = %chunk.chunk_id, object = context, "no good copy of a chunk is left");
        Err(Error::ChunkUnreadable(chunk.chunk_id))
    }

    /// The copies of `chunk` to try, best first: readable volumes not in `avoid`, active
    /// before full before draining, and among equals an order that depends on the chunk
    /// (so reads spread over the copies).
    fn read_order(&self, chunk: &ChunkRef, avoid: &[Uuid]) -> Vec<Arc<VolumeHandle>> {
        let vols = self.volumes();
        let mut found: Vec<Arc<VolumeHandle>> = chunk
            .replicas
            .iter()
            .filter(|id| !avoid.contains(id))
            .filter_map(|id| vols.iter().find(|v| v.id == *id))
            .filter(|v| v.state().readable())
            .cloned()
            .collect();
        if !found.is_empty() {
            let n = found.len();
            found.rotate_left((chunk.chunk_id.as_u128() % n as u128) as usize);
            found.sort_by_key(|v| match v.state() {
                VolumeState::Active => 0,
                VolumeState::Full => 1,
                _ => 2,
            });
        }
        found
    }

    /// Checks the volumes every `--volume-check-interval` ([`ChunkStore::refresh`]) until
    /// `shutdown`.
    pub async fn run_monitor(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let check = self
            .config
            .volume_check_interval
            .max(Duration::from_millis(100));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(check) => {}
                _ = shutdown.changed() => return,
            }
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "checking the volumes failed");
            }
        }
    }

    /// Renews this process's intents every third of `--intent-ttl`, until `shutdown`.
    ///
    /// The renewals go through a connection of their own, not the pool: under a burst of
    /// uploads every pooled connection is taken and the queue for one is long, and a
    /// renewal waiting in that queue lets the intents of exactly those uploads expire, so
    /// they fail at their commit and are retried, adding to the load that starved it.
    pub async fn run_intent_renewer(
        self: Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let period = (self.config.intent_ttl / 3).max(Duration::from_millis(100));
        let options = self.pool.connect_options();
        let mut conn: Option<sqlx::PgConnection> = None;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = shutdown.changed() => break,
            }
            let ids = self.held_intents();
            if ids.is_empty() {
                continue;
            }
            if conn.is_none() {
                match sqlx::ConnectOptions::connect(options.as_ref()).await {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "connecting to renew upload intents failed");
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            if let Err(e) = chunks::renew_intents(&mut *c, &ids, self.config.intent_ttl).await {
                tracing::warn!(error = %e, "renewing upload intents failed");
                // The connection may be the problem (a restarted database): a new one next time.
                conn = None;
            }
        }
        if let Some(c) = conn {
            let _ = sqlx::Connection::close(c).await;
        }
    }

    /// Starts a writer that splits a stream of bytes into replicated chunk files.
    pub fn writer(self: &Arc<Self>) -> ChunkWriter {
        ChunkWriter::new(self.clone())
    }

    /// Remembers chunk ids whose intents this process must keep alive.
    fn hold_intents(&self, ids: impl IntoIterator<Item = Uuid>) {
        if let Ok(mut held) = self.intents.lock() {
            for id in ids {
                *held.entry(id).or_default() += 1;
            }
        }
    }

    /// Forgets chunk ids (committed or cleaned up).
    fn drop_intents(&self, ids: impl IntoIterator<Item = Uuid>) {
        if let Ok(mut held) = self.intents.lock() {
            for id in ids {
                if let Some(n) = held.get_mut(&id) {
                    *n -= 1;
                    if *n == 0 {
                        held.remove(&id);
                    }
                }
            }
        }
    }

    /// Chunk ids of the writes still in progress in this process.
    fn held_intents(&self) -> Vec<Uuid> {
        match self.intents.lock() {
            Ok(held) => held.keys().copied().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Removes the files of the intents in `pairs` this caller still owns (the intent rows
    /// it manages to delete); files whose intent is gone were committed, or cleaned by
    /// someone else, and are left alone.
    pub async fn remove_intended(&self, pairs: &[(Uuid, Uuid)]) -> Result<usize, Error> {
        let owned = chunks::take_intents(&self.pool, pairs).await?;
        let mut paths = Vec::new();
        for (chunk, volume) in &owned {
            if let Some(v) = self.volume(*volume) {
                paths.push(v.dir.tmp_path(*chunk));
                paths.push(v.dir.chunk_path(*chunk));
            }
        }
        blocking(move || {
            for p in paths {
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(path = %p.display(), error = %e, "could not remove a chunk file"),
                }
            }
        })
        .await?;
        Ok(owned.len())
    }

    /// Counts a chunk committed with fewer copies than wanted, or a write refused for lack
    /// of volumes.
    pub(crate) fn count_write(&self, degraded: bool, refused: bool) {
        if degraded {
            self.metrics.degraded_chunks.fetch_add(1, Ordering::Relaxed);
        }
        if refused {
            self.metrics.refused_writes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Per-volume and write metrics in the Prometheus text format.
    pub fn render_metrics(&self, out: &mut String) {
        let vols = self.volumes();
        let _ = writeln!(
            out,
            "# HELP coffer_volume_info One per volume: its path, failure domain and state.\n\
             # TYPE coffer_volume_info gauge"
        );
        for v in vols.iter() {
            let _ = writeln!(
                out,
                "coffer_volume_info{{volume=\"{}\",path=\"{}\",failure_domain=\"{}\",state=\"{}\"}} 1",
                v.id,
                escape_label(&v.dir.root().display().to_string()),
                escape_label(&v.domain),
                v.state().as_str()
            );
        }
        for (name, help, value) in [
            (
                "coffer_volume_capacity_bytes",
                "Filesystem capacity at the last check.",
                &|v: &VolumeHandle| v.space().capacity,
            ),
            (
                "coffer_volume_free_bytes",
                "Free bytes at the last check.",
                &|v: &VolumeHandle| v.space().free,
            ),
            (
                "coffer_chunk_corruptions_total",
                "Chunk copies that failed their CRC when read.",
                &|v: &VolumeHandle| v.corruptions.load(Ordering::Relaxed),
            ),
            (
                "coffer_chunk_read_errors_total",
                "Chunk copies missing or unreadable when read.",
                &|v: &VolumeHandle| v.read_errors.load(Ordering::Relaxed),
            ),
            (
                "coffer_volume_write_errors_total",
                "Writes of chunk copies that failed.",
                &|v: &VolumeHandle| v.write_errors.load(Ordering::Relaxed),
            ),
        ] as [(&str, &str, &dyn Fn(&VolumeHandle) -> u64); 5]
        {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for v in vols.iter() {
                let _ = writeln!(out, "{name}{{volume=\"{}\"}} {}", v.id, value(v));
            }
        }
        let domains = self.failure_domains();
        let shared = domains
            .iter()
            .filter(|(_, n)| *n > 1)
            .map(|(_, n)| n)
            .sum::<usize>();
        let _ = writeln!(
            out,
            "# HELP coffer_failure_domains Distinct failure domains among the volumes.\n\
             # TYPE coffer_failure_domains gauge\ncoffer_failure_domains {}\n\
             # HELP coffer_volumes_sharing_failure_domain Volumes that share their failure domain with another (their copies fail together).\n\
             # TYPE coffer_volumes_sharing_failure_domain gauge\ncoffer_volumes_sharing_failure_domain {shared}\n\
             # HELP coffer_replicas_wanted Copies wanted of every chunk (--replicas).\n\
             # TYPE coffer_replicas_wanted gauge\ncoffer_replicas_wanted {}",
            domains.len(),
            self.config.replicas
        );
        for (name, help, value) in [
            (
                "coffer_degraded_chunks_total",
                "Chunks committed with fewer copies than wanted (queued for repair).",
                &self.metrics.degraded_chunks,
            ),
            (
                "coffer_refused_writes_total",
                "Writes refused with 503 SlowDown for lack of volumes.",
                &self.metrics.refused_writes,
            ),
            (
                "coffer_write_failovers_total",
                "Chunk copies moved to another volume after a failed write.",
                &self.metrics.write_failovers,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
    }
}

/// Makes `path` a new volume (see [`VolumeDir::create`]) and registers it, active, under
/// its absolute path (so every process and `coffer admin` finds it, whatever their working
/// directory).
pub async fn add_volume(pool: &PgPool, path: &Path, label: Option<&str>) -> Result<Uuid, Error> {
    let path = &std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    let p = path.to_path_buf();
    let (_, id) = blocking(move || VolumeDir::create(&p))
        .await?
        .map_err(|e| Error::io(path, e))?;
    register_volume(pool, path, id, label).await?;
    Ok(id)
}

/// Registers the existing volume `id` at `path`, with the block device it lives on.
async fn register_volume(
    pool: &PgPool,
    path: &Path,
    id: Uuid,
    label: Option<&str>,
) -> Result<(), Error> {
    let text = path
        .to_str()
        .ok_or_else(|| Error::Config(format!("{} is not UTF-8", path.display())))?;
    let dir = VolumeDir::at(path);
    let device = blocking(move || dir.device())
        .await?
        .map_err(|e| Error::io(path, e))?;
    volumes::insert(
        pool,
        &NewVolume {
            id,
            path: text,
            device: &device,
            label,
        },
    )
    .await
}

/// Registers the volumes `coffer serve` is started with. On the first start (no volume
/// with a known path yet) a missing directory is made a volume; later, only directories
/// that already are volumes are registered (at a new path if they moved), and an explicit
/// `--volume` that is not one is an error: a new volume is added with `coffer admin
/// volume add`, never by a restart that could not find the old one.
async fn register_bootstrap(pool: &PgPool, paths: &[PathBuf], explicit: bool) -> Result<(), Error> {
    let rows = volumes::list(pool).await?;
    let first_start = rows.iter().all(|r| r.path.starts_with("unknown:"));
    for path in paths {
        let path = &std::path::absolute(path).map_err(|e| Error::io(path, e))?;
        let text = path.to_string_lossy();
        let known = rows.iter().any(|r| r.path == text);
        let probe = path.clone();
        match blocking(move || VolumeDir::at(&probe).read_id()).await? {
            Ok(id) => match rows.iter().find(|r| r.id == id) {
                Some(row) if row.path == text => {}
                Some(_) => {
                    let dir = VolumeDir::at(path);
                    let device = blocking(move || dir.device())
                        .await?
                        .map_err(|e| Error::io(path, e))?;
                    volumes::set_location(pool, id, &text, &device).await?;
                    tracing::info!(volume = %id, path = %text, "volume found at a new path");
                }
                None => {
                    register_volume(pool, path, id, None).await?;
                    tracing::info!(volume = %id, path = %text, "registered an existing volume");
                }
            },
            Err(IdentityError::Missing(_)) if first_start && !known => {
                let id = add_volume(pool, path, None).await?;
                tracing::info!(volume = %id, path = %text, "created volume");
            }
            Err(e) if explicit && !known => {
                return Err(Error::Config(format!(
                    "--volume {text} is not a registered volume ({e}); add new volumes with \
                     `coffer admin volume add {text}`"
                )));
            }
            // A registered path whose identity fails is reported (offline) by the check.
            Err(_) => {}
        }
    }
    Ok(())
}

/// Reads bytes `[start, end)` of a file.
fn read_range(path: &Path, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; (end - start) as usize];
    f.read_exact_at(&mut buf, start)?;
    Ok(buf)
}

/// Whether an error means the filesystem is full.
fn is_out_of_space(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// Runs blocking file work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Join(e.to_string()))
}

/// Escapes a Prometheus label value.
fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
