//! Writing a byte stream as replicated chunk files.
//!
//! Each chunk goes to the first `--replicas` volumes of its placement order, all copies
//! written in parallel from the same buffers (the `Bytes` are shared, so memory per upload
//! stays one [`WRITE_BUFFER`]), with the block CRCs computed once as the bytes pass. At the
//! end of a chunk every copy is fsynced, renamed into place and its directory fsynced,
//! before anything references it. A copy that fails (EIO, ENOSPC, a read-only or vanished
//! directory) is dropped and its volume reported; when the chunk closes, the next volumes
//! in placement order get a copy of a surviving one, checked block by block as it is
//! copied. A chunk with fewer than `--min-write-replicas` copies fails the upload
//! ([`Error::InsufficientVolumes`], `503 SlowDown`); one with fewer than `--replicas` is
//! committed and queued for repair in the same transaction.
//!
//! # Intents: who may remove a file
//!
//! Before a copy's file is created, an intent row names it (`chunk_intents`). The
//! transaction that records the copy deletes the intent; so does whoever removes the file
//! (an aborted upload, [`WrittenChunks`] dropped with its request, the collector once the
//! intent expired), and only the one whose `DELETE` took the row acts on it. A failed or
//! interrupted `COMMIT` therefore never loses files its object may reference: if the
//! commit happened, the intent is gone and the cleanup finds nothing to remove; if it is
//! still in flight, the cleanup's `DELETE` waits for it. And another process's collector
//! never removes a copy an upload is about to commit: the intent is there until then
//! (kept alive by [`ChunkStore::run_intent_renewer`] for long uploads).

use bytes::{Bytes, BytesMut};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

use super::volume::sync_dir;
use super::{ChunkStore, Purpose, VolumeHandle, WRITE_BUFFER, blocking};
use crate::store::Error;
use crate::store::blocks::{BLOCK_SIZE, BlockCrcs, BlockHasher};
use crate::store::chunks::{self, StoredChunk};

/// The chunks an upload wrote, and the intents that own their files until they are
/// committed. Dropped without [`WrittenChunks::committed`] (a failed or abandoned
/// request), it removes the files it still owns, in the background.
pub struct WrittenChunks {
    store: Arc<ChunkStore>,
    chunks: Vec<StoredChunk>,
    /// Every (chunk, volume) intent this upload inserted.
    intents: Vec<(Uuid, Uuid)>,
    armed: bool,
}

impl std::fmt::Debug for WrittenChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrittenChunks")
            .field("chunks", &self.chunks)
            .finish()
    }
}

impl WrittenChunks {
    fn new(store: Arc<ChunkStore>) -> Self {
        WrittenChunks {
            store,
            chunks: Vec::new(),
            intents: Vec::new(),
            armed: true,
        }
    }

    /// No chunks (an empty part).
    pub fn empty(store: &Arc<ChunkStore>) -> Self {
        Self::new(store.clone())
    }

    /// The chunks, in order.
    pub fn chunks(&self) -> &[StoredChunk] {
        &self.chunks
    }

    /// Total bytes.
    pub fn len(&self) -> u64 {
        self.chunks.iter().map(|c| c.size).sum()
    }

    /// Whether no byte was written.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The transaction recording the chunks committed (and took the intents).
    pub fn committed(mut self) {
        self.armed = false;
        let degraded = self
            .chunks
            .iter()
            .filter(|c| c.volumes.len() < c.wanted)
            .count();
        for _ in 0..degraded {
            self.store.count_write(true, false);
        }
        self.store
            .drop_intents(self.intents.iter().map(|(chunk, _)| *chunk));
    }

    /// Removes the files this upload still owns (see the module documentation): after a
    /// failed commit, an aborted upload, an error.
    pub async fn discard(mut self) {
        self.armed = false;
        let intents = std::mem::take(&mut self.intents);
        cleanup(&self.store, intents).await;
    }

    fn record_intents(&mut self, chunk: Uuid, volumes: &[Uuid]) {
        self.store.hold_intents(volumes.iter().map(|_| chunk));
        self.adopt_intents(chunk, volumes);
    }

    /// Records intents already held (by [`open_chunk`]).
    fn adopt_intents(&mut self, chunk: Uuid, volumes: &[Uuid]) {
        self.intents.extend(volumes.iter().map(|v| (chunk, *v)));
    }
}

impl Drop for WrittenChunks {
    fn drop(&mut self) {
        if !self.armed || self.intents.is_empty() {
            return;
        }
        let intents = std::mem::take(&mut self.intents);
        let store = self.store.clone();
        // A request future dropped mid-upload (client gone, shutdown): clean up in the
        // background. Without a runtime the intents expire and the collector does it.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { cleanup(&store, intents).await });
        }
    }
}

async fn cleanup(store: &ChunkStore, intents: Vec<(Uuid, Uuid)>) {
    if intents.is_empty() {
        return;
    }
    match store.remove_intended(&intents).await {
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "removing an abandoned upload's files failed; the collector will once its intents expire")
        }
    }
    store.drop_intents(intents.iter().map(|(chunk, _)| *chunk));
}

/// One copy being written.
struct OpenCopy {
    volume: Arc<VolumeHandle>,
    file: File,
}

/// What the copies of one buffer's write came back with.
type Written = Vec<(OpenCopy, std::io::Result<()>)>;

/// What fsyncing and renaming a chunk's copies came back with.
type Installed = Vec<(Arc<VolumeHandle>, std::io::Result<()>)>;

/// The chunk currently being written.
struct OpenChunk {
    id: Uuid,
    size: u64,
    crc: u32,
    blocks: BlockHasher,
    /// The copies, when no write is in flight.
    copies: Vec<OpenCopy>,
    /// The write of the previous buffer, still in flight.
    writing: Option<tokio::task::JoinHandle<Result<Written, Error>>>,
    /// Every volume that got an intent for this chunk (none gets a second).
    tried: Vec<Uuid>,
}

/// A complete chunk whose copies are being fsynced and renamed into place.
struct ClosingChunk {
    id: Uuid,
    size: u64,
    crc: u32,
    blocks: BlockCrcs,
    tried: Vec<Uuid>,
    installing: tokio::task::JoinHandle<Result<Installed, Error>>,
}

/// Splits a byte stream into chunks written as replicated files.
///
/// Call [`ChunkWriter::write`] with each piece of the body and [`ChunkWriter::finish`] at
/// the end; dropping the writer (or the [`WrittenChunks`] it returns) without committing
/// removes the files.
///
/// Disk work overlaps the stream: a buffer's copies are written while the next buffer
/// fills, a full chunk's copies are fsynced and renamed while the next chunk is written,
/// and once a chunk fills, the next one is opened (its intents committed, its files
/// created) while the full one is made durable. At most one of each is in flight, so
/// memory stays two buffers per upload.
pub struct ChunkWriter {
    store: Arc<ChunkStore>,
    buffer: BytesMut,
    current: Option<OpenChunk>,
    closing: Option<ClosingChunk>,
    /// The next chunk, being opened while the current one is written.
    opening: Option<tokio::task::JoinHandle<Opening>>,
    written: WrittenChunks,
}

impl ChunkWriter {
    pub(super) fn new(store: Arc<ChunkStore>) -> Self {
        ChunkWriter {
            written: WrittenChunks::new(store.clone()),
            store,
            buffer: BytesMut::new(),
            current: None,
            closing: None,
            opening: None,
        }
    }

    /// Appends bytes.
    pub async fn write(&mut self, mut data: Bytes) -> Result<(), Error> {
        let chunk_size = self.store.config.chunk_size as u64;
        while !data.is_empty() {
            let in_chunk = self.current.as_ref().map_or(0, |c| c.size) + self.buffer.len() as u64;
            let room = chunk_size - in_chunk;
            let take = (room as usize).min(data.len());
            self.buffer.extend_from_slice(&data.split_to(take));
            let chunk_full = in_chunk + take as u64 == chunk_size;
            if self.buffer.len() >= WRITE_BUFFER || chunk_full {
                self.flush_buffer().await?;
            }
            if chunk_full {
                // A body that fills a chunk is likely to need another: open it while
                // this one is made durable (see `opening`).
                self.open_ahead();
                self.close_current().await?;
            }
        }
        Ok(())
    }

    /// The next chunk: the one opened ahead if there is one, otherwise opened now.
    async fn next_chunk(&mut self) -> Result<OpenChunk, Error> {
        let opening = match self.opening.take() {
            Some(ahead) => ahead.await.map_err(|e| Error::Join(e.to_string()))?,
            None => open_chunk(self.store.clone()).await,
        };
        self.take_opening(opening)
    }

    /// Records the intents an opening inserted (whether or not it succeeded: the files
    /// they name are this upload's to remove).
    fn take_opening(&mut self, opening: Opening) -> Result<OpenChunk, Error> {
        self.written.adopt_intents(opening.id, &opening.tried);
        opening.chunk
    }

    /// Starts opening the chunk after the current one, unless one is being opened.
    fn open_ahead(&mut self) {
        if self.opening.is_none() {
            self.opening = Some(tokio::spawn(open_chunk(self.store.clone())));
        }
    }

    /// Waits for a chunk opened ahead and nobody needed (the body ended at a chunk
    /// boundary), and removes its empty files and their intents.
    async fn drop_opened_ahead(&mut self) {
        let Some(ahead) = self.opening.take() else {
            return;
        };
        discard_opening(&self.store, ahead).await;
    }

    fn ensure_enough(&self, copies: usize) -> Result<(), Error> {
        ensure_enough(&self.store, copies)
    }

    /// Starts writing the buffer to the current chunk's copies (opening a chunk if none
    /// is open), after the previous buffer's write is done.
    async fn flush_buffer(&mut self) -> Result<(), Error> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut chunk = match self.current.take() {
            Some(c) => c,
            None => self.next_chunk().await?,
        };
        self.settle_write(&mut chunk).await?;
        let data = self.buffer.split().freeze();
        chunk.crc = crc32c::crc32c_append(chunk.crc, &data);
        chunk.blocks.update(&data);
        chunk.size += data.len() as u64;
        let copies = std::mem::take(&mut chunk.copies);
        let id = chunk.id;
        chunk.writing = Some(tokio::spawn(parallel(copies, move |mut c| {
            let r = c.file.write_all(&data);
            if r.is_err() {
                remove_quietly(&c.volume.dir.tmp_path(id));
            }
            (c, r)
        })));
        self.current = Some(chunk);
        Ok(())
    }

    /// Waits for the chunk's write in flight; drops the copies that failed.
    async fn settle_write(&self, chunk: &mut OpenChunk) -> Result<(), Error> {
        let Some(writing) = chunk.writing.take() else {
            return Ok(());
        };
        let results = writing.await.map_err(|e| Error::Join(e.to_string()))??;
        for (copy, result) in results {
            match result {
                Ok(()) => chunk.copies.push(copy),
                Err(e) => self.store.write_failed(&copy.volume, &e).await,
            }
        }
        if chunk.copies.is_empty() {
            // Every copy failed mid-chunk: the bytes streamed so far are gone.
            self.ensure_enough(0)?;
        }
        Ok(())
    }

    /// Starts making the current chunk's copies durable (after the previous chunk's).
    async fn close_current(&mut self) -> Result<(), Error> {
        let Some(mut chunk) = self.current.take() else {
            return Ok(());
        };
        self.settle_write(&mut chunk).await?;
        self.settle_closing().await?;
        let OpenChunk {
            id,
            size,
            crc,
            blocks,
            copies,
            tried,
            ..
        } = chunk;
        let installing = tokio::spawn(parallel(copies, move |c| {
            let tmp = c.volume.dir.tmp_path(id);
            let r = c
                .file
                .sync_all()
                .and_then(|()| install(&tmp, &c.volume.dir.chunk_path(id)));
            if r.is_err() {
                remove_quietly(&tmp);
            }
            (c.volume, r)
        }));
        self.closing = Some(ClosingChunk {
            id,
            size,
            crc,
            blocks: blocks.finish(),
            tried,
            installing,
        });
        Ok(())
    }

    /// Waits for the chunk being made durable; replaces failed copies from a survivor and
    /// records the chunk.
    async fn settle_closing(&mut self) -> Result<(), Error> {
        let Some(closing) = self.closing.take() else {
            return Ok(());
        };
        let ClosingChunk {
            id,
            size,
            crc,
            blocks,
            tried,
            installing,
        } = closing;
        let installed = installing.await.map_err(|e| Error::Join(e.to_string()))??;
        let mut volumes: Vec<Arc<VolumeHandle>> = Vec::new();
        for (volume, result) in installed {
            match result {
                Ok(()) => volumes.push(volume),
                Err(e) => self.store.write_failed(&volume, &e).await,
            }
        }
        let wanted = self.store.config.replicas;
        if volumes.len() < wanted && !volumes.is_empty() {
            self.top_up(id, size, &blocks, &tried, &mut volumes).await?;
        }
        self.ensure_enough(volumes.len())?;
        self.written.chunks.push(StoredChunk {
            id,
            size,
            crc32c: crc,
            blocks,
            volumes: volumes.iter().map(|v| v.id).collect(),
            wanted,
        });
        Ok(())
    }

    /// Copies a complete chunk from one of `have` to the next volumes in placement order
    /// (not already `tried` for it) until there are enough copies or no volume is left.
    async fn top_up(
        &mut self,
        id: Uuid,
        size: u64,
        blocks: &BlockCrcs,
        tried: &[Uuid],
        have: &mut Vec<Arc<VolumeHandle>>,
    ) -> Result<(), Error> {
        let candidates = self.store.placement(id, Purpose::Write, tried);
        for target in candidates {
            if have.len() >= self.store.config.replicas {
                break;
            }
            chunks::insert_intents(
                &self.store.pool,
                id,
                &[target.id],
                self.store.config.intent_ttl,
            )
            .await?;
            self.written.record_intents(id, &[target.id]);
            let sources: Vec<_> = have.iter().map(|v| v.dir.chunk_path(id)).collect();
            let (t, b) = (target.clone(), blocks.clone());
            let copied = blocking(move || copy_from_any(&sources, &t, id, size, &b)).await?;
            match copied {
                Ok(()) => have.push(target),
                Err(CopyError::Target(e)) => self.store.write_failed(&target, &e).await,
                Err(CopyError::Source(e)) => {
                    // Every fresh copy failed to read back: nothing to copy from.
                    return Err(Error::io(&target.dir.chunk_path(id), e));
                }
            }
        }
        Ok(())
    }

    /// Makes every written chunk durable and returns them, still owned by their intents
    /// until [`WrittenChunks::committed`].
    pub async fn finish(mut self) -> Result<WrittenChunks, Error> {
        self.flush_buffer().await?;
        self.close_current().await?;
        self.settle_closing().await?;
        self.drop_opened_ahead().await;
        Ok(self.take_written())
    }

    /// The writer's chunks, leaving it owning nothing.
    fn take_written(&mut self) -> WrittenChunks {
        let mut empty = WrittenChunks::new(self.store.clone());
        empty.armed = false;
        std::mem::replace(&mut self.written, empty)
    }

    /// Removes everything this writer wrote (once its disk work in flight is done, so
    /// no rename lands after the files are removed).
    pub async fn abort(mut self) {
        if let Some(writing) = self.current.take().and_then(|c| c.writing) {
            let _ = writing.await;
        }
        if let Some(closing) = self.closing.take() {
            let _ = closing.installing.await;
        }
        self.drop_opened_ahead().await;
        self.take_written().discard().await;
    }

    /// Bytes accepted so far.
    pub fn len(&self) -> u64 {
        self.written.len()
            + self.closing.as_ref().map_or(0, |c| c.size)
            + self.current.as_ref().map_or(0, |c| c.size)
            + self.buffer.len() as u64
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for ChunkWriter {
    /// A writer dropped with its request (client gone, shutdown) while a chunk was being
    /// opened ahead: that chunk's files are removed in the background, like the rest of
    /// the upload's (see [`WrittenChunks`]).
    fn drop(&mut self) {
        let Some(ahead) = self.opening.take() else {
            return;
        };
        let store = self.store.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { discard_opening(&store, ahead).await });
        }
    }
}

/// Waits for a chunk being opened ahead and removes its files and intents.
async fn discard_opening(store: &ChunkStore, ahead: tokio::task::JoinHandle<Opening>) {
    let Ok(opening) = ahead.await else {
        // The task panicked (a bug): the intents it inserted stay held until this
        // process exits, then expire, and the collector removes their files.
        return;
    };
    let intents: Vec<(Uuid, Uuid)> = opening.tried.iter().map(|v| (opening.id, *v)).collect();
    drop(opening.chunk);
    cleanup(store, intents).await;
}

/// A chunk's opening: the chunk, or why it could not be opened, and the volumes that got
/// an intent for it either way (held by this process until recorded or cleaned up).
struct Opening {
    id: Uuid,
    tried: Vec<Uuid>,
    chunk: Result<OpenChunk, Error>,
}

/// Opens the copies of a new chunk on the first volumes of its placement. Each intent
/// is committed (a WAL flush) before its file is created, which on a busy disk takes
/// milliseconds: why a large upload opens its next chunk ahead.
async fn open_chunk(store: Arc<ChunkStore>) -> Opening {
    let id = Uuid::new_v4();
    let mut tried = Vec::new();
    let chunk = open_copies(&store, id, &mut tried).await;
    Opening { id, tried, chunk }
}

async fn open_copies(
    store: &Arc<ChunkStore>,
    id: Uuid,
    tried: &mut Vec<Uuid>,
) -> Result<OpenChunk, Error> {
    let wanted = store.config.replicas;
    let mut candidates = store.placement(id, Purpose::Write, &[]).into_iter();
    let mut copies = Vec::with_capacity(wanted);
    while copies.len() < wanted {
        let batch: Vec<Arc<VolumeHandle>> =
            candidates.by_ref().take(wanted - copies.len()).collect();
        if batch.is_empty() {
            break;
        }
        let ids: Vec<Uuid> = batch.iter().map(|v| v.id).collect();
        chunks::insert_intents(&store.pool, id, &ids, store.config.intent_ttl).await?;
        store.hold_intents(ids.iter().map(|_| id));
        tried.extend(&ids);
        let opened = parallel(batch, move |v| {
            let r = File::create(v.dir.tmp_path(id));
            (v, r)
        })
        .await?;
        for (volume, result) in opened {
            match result {
                Ok(file) => copies.push(OpenCopy { volume, file }),
                Err(e) => store.write_failed(&volume, &e).await,
            }
        }
    }
    ensure_enough(store, copies.len())?;
    Ok(OpenChunk {
        id,
        size: 0,
        crc: 0,
        blocks: BlockHasher::new(BLOCK_SIZE.min(store.config.chunk_size)),
        copies,
        writing: None,
        tried: tried.clone(),
    })
}

/// Fails with [`Error::InsufficientVolumes`] when fewer than `--min-write-replicas`
/// copies are left.
fn ensure_enough(store: &ChunkStore, copies: usize) -> Result<(), Error> {
    let needed = store.config.min_write_replicas;
    if copies < needed {
        store.count_write(false, true);
        return Err(Error::InsufficientVolumes {
            available: copies,
            needed,
        });
    }
    Ok(())
}

/// Runs `f` on every item in parallel on the blocking pool; results in input order.
async fn parallel<T, R>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Send + Sync + Clone + 'static,
) -> Result<Vec<R>, Error>
where
    T: Send + 'static,
    R: Send + 'static,
{
    let tasks: Vec<_> = items
        .into_iter()
        .map(|item| {
            let f = f.clone();
            tokio::task::spawn_blocking(move || f(item))
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.map_err(|e| Error::Join(e.to_string()))?);
    }
    Ok(out)
}

/// Renames a fsynced temporary file into place and fsyncs the directory.
pub(crate) fn install(tmp: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::rename(tmp, dest)?;
    match dest.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

fn remove_quietly(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "could not remove a failed copy");
    }
}

/// Why a verified copy failed.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Reading the source failed or a block did not match its CRC.
    Source(std::io::Error),
    /// Writing the target failed.
    Target(std::io::Error),
}

/// Copies chunk `id` from the first source that reads back whole and correct to `target`
/// (tmp, fsync, rename, directory fsync), checking every block against `blocks`.
pub(crate) fn copy_from_any(
    sources: &[std::path::PathBuf],
    target: &VolumeHandle,
    id: Uuid,
    size: u64,
    blocks: &BlockCrcs,
) -> Result<(), CopyError> {
    let mut last = None;
    for source in sources {
        match copy_verified(source, target, id, size, blocks) {
            Ok(()) => return Ok(()),
            Err(CopyError::Source(e)) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(CopyError::Source(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no source copy")
    })))
}

/// Copies one chunk file to `target`, block by block, checking each block's CRC before
/// writing it.
pub(crate) fn copy_verified(
    source: &Path,
    target: &VolumeHandle,
    id: Uuid,
    size: u64,
    blocks: &BlockCrcs,
) -> Result<(), CopyError> {
    use std::os::unix::fs::FileExt;
    let src = File::open(source).map_err(CopyError::Source)?;
    let tmp = target.dir.tmp_path(id);
    let result = (|| {
        let mut dst = File::create(&tmp).map_err(CopyError::Target)?;
        for index in 0..blocks.crcs.len() {
            let (start, end) = blocks.range(index, size);
            let mut buf = vec![0u8; (end - start) as usize];
            src.read_exact_at(&mut buf, start)
                .map_err(CopyError::Source)?;
            if !blocks.check(index, &buf) {
                return Err(CopyError::Source(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: block {index} failed its CRC", source.display()),
                )));
            }
            dst.write_all(&buf).map_err(CopyError::Target)?;
        }
        dst.sync_all().map_err(CopyError::Target)?;
        install(&tmp, &target.dir.chunk_path(id)).map_err(CopyError::Target)
    })();
    if result.is_err() {
        remove_quietly(&tmp);
    }
    result
}
