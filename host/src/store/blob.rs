//! Chunk files on volumes: the only place object bytes touch the disk.
//!
//! A volume is a directory with a `volume.id` file (a uuid, so a volume keeps its identity
//! when its mount point moves) and `chunks/<xx>/<uuid>` files, where `xx` is the first two hex
//! digits of the chunk id (256 fan-out directories, created once when the volume is opened).
//! A chunk is written under `tmp/<uuid>.tmp`, fsynced, renamed into place and its directory
//! fsynced, so a chunk that PostgreSQL references is always complete on disk. Writes go through
//! `spawn_blocking` in buffers of [`WRITE_BUFFER`] bytes, which bounds memory per upload.

use bytes::{Bytes, BytesMut};
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

use super::Error;

/// How many bytes a chunk writer collects before handing them to the disk.
pub const WRITE_BUFFER: usize = 1 << 20;

/// How many bytes a chunk reader reads at a time.
pub const READ_BUFFER: usize = 256 << 10;

/// One directory that holds chunk files.
#[derive(Debug, Clone)]
pub struct Volume {
    /// The id in `volume.id`.
    pub id: Uuid,
    /// The volume's directory.
    pub root: PathBuf,
}

impl Volume {
    /// Opens (creating on first use) the volume at `root`.
    fn open(root: &Path) -> Result<Self, Error> {
        let io = |e| Error::io(root, e);
        std::fs::create_dir_all(root.join("tmp")).map_err(io)?;
        let chunks = root.join("chunks");
        for i in 0..=255u8 {
            std::fs::create_dir_all(chunks.join(format!("{i:02x}"))).map_err(io)?;
        }
        let id_file = root.join("volume.id");
        let id = match std::fs::read_to_string(&id_file) {
            Ok(text) => Uuid::parse_str(text.trim())
                .map_err(|e| Error::Corrupt(format!("{}: {e}", id_file.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = Uuid::new_v4();
                write_durably(&id_file, id.to_string().as_bytes()).map_err(io)?;
                id
            }
            Err(e) => return Err(io(e)),
        };
        sync_dir(&chunks).map_err(io)?;
        sync_dir(root).map_err(io)?;
        Ok(Volume {
            id,
            root: root.to_path_buf(),
        })
    }

    /// Where chunk `id` lives on this volume.
    pub fn chunk_path(&self, id: Uuid) -> PathBuf {
        let name = id.simple().to_string();
        self.root.join("chunks").join(&name[..2]).join(name)
    }

    fn tmp_path(&self, id: Uuid) -> PathBuf {
        self.root.join("tmp").join(format!("{}.tmp", id.simple()))
    }
}

/// Writes `data` to `path` via a temporary file, fsync and rename.
fn write_durably(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Fsyncs a directory, making renames and creations inside it durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// A chunk that is complete and durable on disk, not yet referenced by PostgreSQL.
#[derive(Debug, Clone)]
pub struct StoredChunk {
    /// Chunk id (also its file name).
    pub id: Uuid,
    /// Volume holding it.
    pub volume_id: Uuid,
    /// Length in bytes.
    pub size: u64,
    /// CRC32C of the content.
    pub crc32c: u32,
}

/// The set of volumes and the chunking parameters.
#[derive(Debug)]
pub struct ChunkStore {
    volumes: Vec<Volume>,
    chunk_size: usize,
    next_volume: AtomicUsize,
    /// Chunks written by this process whose object is not committed yet; the garbage
    /// collector never removes them, however old they are.
    in_flight: Mutex<HashSet<Uuid>>,
}

impl ChunkStore {
    /// Opens every volume (creating them on first use).
    pub fn open(roots: &[PathBuf], chunk_size: usize) -> Result<Arc<Self>, Error> {
        if roots.is_empty() {
            return Err(Error::Config("at least one volume is required".into()));
        }
        let volumes = roots
            .iter()
            .map(|r| Volume::open(r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids: Vec<_> = volumes.iter().map(|v| v.id).collect();
        ids.sort();
        ids.dedup();
        if ids.len() != volumes.len() {
            return Err(Error::Config("two volumes share one volume.id".into()));
        }
        Ok(Arc::new(ChunkStore {
            volumes,
            chunk_size: chunk_size.max(1),
            next_volume: AtomicUsize::new(0),
            in_flight: Mutex::new(HashSet::new()),
        }))
    }

    /// The configured chunk size.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The volumes.
    pub fn volumes(&self) -> &[Volume] {
        &self.volumes
    }

    /// Whether `id` belongs to an upload still in progress in this process.
    pub fn is_in_flight(&self, id: Uuid) -> bool {
        self.in_flight
            .lock()
            .map(|set| set.contains(&id))
            .unwrap_or(true)
    }

    fn mark_in_flight(&self, id: Uuid, on: bool) {
        if let Ok(mut set) = self.in_flight.lock() {
            if on {
                set.insert(id);
            } else {
                set.remove(&id);
            }
        }
    }

    /// Forgets the in-flight mark of chunks once their object committed (or was abandoned).
    pub fn settle(&self, chunks: &[StoredChunk]) {
        for c in chunks {
            self.mark_in_flight(c.id, false);
        }
    }

    /// Starts a writer that splits a stream of bytes into chunk files.
    pub fn writer(self: &Arc<Self>) -> ChunkWriter {
        ChunkWriter {
            store: self.clone(),
            buffer: BytesMut::new(),
            current: None,
            done: Vec::new(),
        }
    }

    /// Reads `len` bytes of chunk `id` starting at `offset` (a blocking call: run it off the runtime).
    fn read_blocking(&self, id: Uuid, offset: u64, len: usize) -> Result<Bytes, Error> {
        let mut last_err = None;
        for volume in &self.volumes {
            let path = volume.chunk_path(id);
            match std::fs::File::open(&path) {
                Ok(mut f) => {
                    let mut buf = vec![0u8; len];
                    let res = f
                        .seek(SeekFrom::Start(offset))
                        .and_then(|_| f.read_exact(&mut buf));
                    match res {
                        Ok(()) => return Ok(Bytes::from(buf)),
                        Err(e) => last_err = Some(Error::io(&path, e)),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => last_err = Some(Error::io(&path, e)),
            }
        }
        Err(last_err.unwrap_or(Error::MissingChunk(id)))
    }

    /// Reads part of a chunk.
    pub async fn read(self: &Arc<Self>, id: Uuid, offset: u64, len: usize) -> Result<Bytes, Error> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(id, offset, len))
            .await
            .map_err(|e| Error::Join(e.to_string()))?
    }

    /// Removes chunk files from every volume (best effort: a missing file is fine, and
    /// anything left behind is found again by the garbage collector).
    pub async fn remove(self: &Arc<Self>, ids: Vec<Uuid>) {
        if ids.is_empty() {
            return;
        }
        let store = self.clone();
        let res = tokio::task::spawn_blocking(move || {
            for id in ids {
                for v in &store.volumes {
                    let path = v.chunk_path(id);
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not remove chunk"),
                    }
                }
            }
        })
        .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "chunk removal task failed");
        }
    }

    /// Removes chunks a failed upload wrote.
    pub async fn discard(self: &Arc<Self>, chunks: &[StoredChunk]) {
        self.settle(chunks);
        self.remove(chunks.iter().map(|c| c.id).collect()).await;
    }

    fn pick_volume(&self) -> &Volume {
        let i = self.next_volume.fetch_add(1, Ordering::Relaxed) % self.volumes.len();
        &self.volumes[i]
    }
}

/// The chunk currently being written.
struct OpenChunk {
    id: Uuid,
    volume: Volume,
    file: Option<std::fs::File>,
    size: u64,
    crc: u32,
}

/// Splits a byte stream into chunk files of `chunk_size` bytes.
///
/// Call [`ChunkWriter::write`] with each piece of the body and [`ChunkWriter::finish`] at the
/// end; on any failure call [`ChunkWriter::abort`] so the chunk files are removed.
pub struct ChunkWriter {
    store: Arc<ChunkStore>,
    buffer: BytesMut,
    current: Option<OpenChunk>,
    done: Vec<StoredChunk>,
}

impl ChunkWriter {
    /// Appends bytes.
    pub async fn write(&mut self, mut data: Bytes) -> Result<(), Error> {
        while !data.is_empty() {
            let in_chunk = self.current.as_ref().map_or(0, |c| c.size) + self.buffer.len() as u64;
            let room = self.store.chunk_size as u64 - in_chunk;
            let take = (room as usize).min(data.len());
            self.buffer.extend_from_slice(&data.split_to(take));
            let chunk_full = in_chunk + take as u64 == self.store.chunk_size as u64;
            if self.buffer.len() >= WRITE_BUFFER || chunk_full {
                self.flush_buffer().await?;
            }
            if chunk_full {
                self.close_current().await?;
            }
        }
        Ok(())
    }

    async fn flush_buffer(&mut self) -> Result<(), Error> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut chunk = match self.current.take() {
            Some(c) => c,
            None => {
                let volume = self.store.pick_volume().clone();
                let id = Uuid::new_v4();
                self.store.mark_in_flight(id, true);
                OpenChunk {
                    id,
                    volume,
                    file: None,
                    size: 0,
                    crc: 0,
                }
            }
        };
        let data = self.buffer.split().freeze();
        let result = tokio::task::spawn_blocking(move || {
            let res = (|| {
                let file = match chunk.file.as_mut() {
                    Some(f) => f,
                    None => chunk
                        .file
                        .insert(std::fs::File::create(chunk.volume.tmp_path(chunk.id))?),
                };
                file.write_all(&data)
            })();
            chunk.crc = crc32c::crc32c_append(chunk.crc, &data);
            chunk.size += data.len() as u64;
            (chunk, res)
        })
        .await
        .map_err(|e| Error::Join(e.to_string()))?;
        let (chunk, res) = result;
        let path = chunk.volume.tmp_path(chunk.id);
        self.current = Some(chunk);
        res.map_err(|e| Error::io(&path, e))
    }

    /// Fsyncs and renames the current chunk into place.
    async fn close_current(&mut self) -> Result<(), Error> {
        let Some(chunk) = self.current.take() else {
            return Ok(());
        };
        let stored = StoredChunk {
            id: chunk.id,
            volume_id: chunk.volume.id,
            size: chunk.size,
            crc32c: chunk.crc,
        };
        // Recorded before the fallible part so abort() removes it on failure.
        self.done.push(stored);
        tokio::task::spawn_blocking(move || -> Result<(), Error> {
            let tmp = chunk.volume.tmp_path(chunk.id);
            let dest = chunk.volume.chunk_path(chunk.id);
            let io = |e| Error::io(&tmp, e);
            if let Some(f) = chunk.file {
                f.sync_all().map_err(io)?;
            }
            std::fs::rename(&tmp, &dest).map_err(io)?;
            if let Some(dir) = dest.parent() {
                sync_dir(dir).map_err(io)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::Join(e.to_string()))?
    }

    /// Makes every written chunk durable and returns them in order.
    pub async fn finish(mut self) -> Result<Vec<StoredChunk>, Error> {
        let res = async {
            self.flush_buffer().await?;
            self.close_current().await
        }
        .await;
        match res {
            Ok(()) => Ok(std::mem::take(&mut self.done)),
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    /// Removes everything this writer wrote.
    pub async fn abort(mut self) {
        let ids: Vec<Uuid> = self.done.iter().map(|c| c.id).collect();
        if let Some(c) = self.current.take() {
            let tmp = c.volume.tmp_path(c.id);
            drop(c.file);
            let _ = tokio::fs::remove_file(tmp).await;
            self.store.mark_in_flight(c.id, false);
        }
        for c in &self.done {
            self.store.mark_in_flight(c.id, false);
        }
        self.store.remove(ids).await;
    }

    /// Bytes accepted so far.
    pub fn len(&self) -> u64 {
        self.done.iter().map(|c| c.size).sum::<u64>()
            + self.current.as_ref().map_or(0, |c| c.size)
            + self.buffer.len() as u64
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
