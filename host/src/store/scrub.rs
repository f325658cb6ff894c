//! The deep scrub: reads every copy on every volume and checks its block CRCs, so bit rot
//! is found (and repaired from another copy) before a read needs the copy.
//!
//! Each volume's copies are checked oldest-verified first (`chunk_replicas.verified_at`),
//! a batch at a time, once per `--scrub-period` (a month by default; Garage and MinIO scrub
//! about that often, Ceph weekly), each volume's reads capped at `--scrub-rate-mib`
//! (changeable at run time: `coffer admin scrub rate`). No checkpoint file: the order is the
//! checkpoint, so a restart resumes where the scrub was. A bad copy is marked and queued
//! for repair like one a GET met. `coffer admin scrub --wait` runs a full pass at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Error;
use super::blob::{ChunkStore, VolumeHandle, blocking};
use super::chunks::{self, CopyProblem, ScrubItem};
use super::throttle::RateLimiter;

/// What a scrub pass found.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScrubReport {
    /// Copies checked.
    pub checked: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Copies with a block that failed its CRC (or unreadable, or of the wrong size).
    pub corrupt: u64,
    /// Copies whose file is missing.
    pub missing: u64,
    /// The chunks of the bad copies (queued for repair).
    #[serde(skip)]
    pub bad_chunks: Vec<Uuid>,
}

impl ScrubReport {
    fn add(&mut self, other: ScrubReport) {
        self.checked += other.checked;
        self.bytes += other.bytes;
        self.corrupt += other.corrupt;
        self.missing += other.missing;
        self.bad_chunks.extend(other.bad_chunks);
    }
}

/// Checks one copy block by block; `None` when it is good.
async fn check_copy(
    volume: &VolumeHandle,
    item: &ScrubItem,
    limiter: &RateLimiter,
) -> Result<Option<CopyProblem>, Error> {
    let path = volume.dir().chunk_path(item.id);
    let probe = path.clone();
    match blocking(move || std::fs::metadata(&probe).map(|m| m.len())).await? {
        Ok(len) if len == item.size => {}
        Ok(_) => return Ok(Some(CopyProblem::Corrupt)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Some(CopyProblem::Missing));
        }
        Err(_) => return Ok(Some(CopyProblem::Unreadable)),
    }
    for index in 0..item.blocks.crcs.len() {
        let (start, end) = item.blocks.range(index, item.size);
        limiter.acquire(end - start).await;
        let (path, blocks) = (path.clone(), item.blocks.clone());
        let good = blocking(move || {
            use std::os::unix::fs::FileExt;
            let f = std::fs::File::open(&path)?;
            let mut buf = vec![0u8; (end - start) as usize];
            f.read_exact_at(&mut buf, start)?;
            // Read once, not kept in the page cache at the expense of live data.
            let _ = rustix::fs::fadvise(
                &f,
                start,
                std::num::NonZeroU64::new(end - start),
                rustix::fs::Advice::DontNeed,
            );
            Ok::<_, std::io::Error>(blocks.check(index, &buf))
        })
        .await?;
        match good {
            Ok(true) => {}
            Ok(false) => return Ok(Some(CopyProblem::Corrupt)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Some(CopyProblem::Missing));
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(Some(CopyProblem::Corrupt));
            }
            Err(_) => return Ok(Some(CopyProblem::Unreadable)),
        }
    }
    Ok(None)
}

/// Checks up to `limit` copies on `volume` last verified before `cutoff`.
pub async fn scrub_batch(
    store: &Arc<ChunkStore>,
    volume: &VolumeHandle,
    cutoff: OffsetDateTime,
    limit: i64,
    limiter: &RateLimiter,
) -> Result<ScrubReport, Error> {
    let items = chunks::claim_scrub(store.pool(), volume.id, cutoff, limit).await?;
    let mut report = ScrubReport::default();
    for item in &items {
        report.checked += 1;
        report.bytes += item.size;
        if let Some(problem) = check_copy(volume, item, limiter).await? {
            match problem {
                CopyProblem::Missing => report.missing += 1,
                CopyProblem::Corrupt | CopyProblem::Unreadable => report.corrupt += 1,
            }
            report.bad_chunks.push(item.id);
            store
                .report_bad_copy(item.id, volume, problem, "scrub")
                .await;
        }
    }
    Ok(report)
}

/// Checks every good copy on every readable volume last verified before now, the volumes
/// in parallel, each read at most at `mib_per_volume` MiB/s (0: as fast as it goes)
/// (`coffer admin scrub`).
pub async fn full_pass(store: &Arc<ChunkStore>, mib_per_volume: u64) -> Result<ScrubReport, Error> {
    let cutoff = OffsetDateTime::now_utc();
    let passes = store
        .volumes()
        .iter()
        .filter(|v| v.state().readable())
        .map(|volume| {
            let (store, volume) = (store.clone(), volume.clone());
            tokio::spawn(async move {
                let limiter = RateLimiter::mib(mib_per_volume);
                let mut report = ScrubReport::default();
                loop {
                    let batch = scrub_batch(&store, &volume, cutoff, 64, &limiter).await?;
                    if batch.checked == 0 {
                        return Ok::<_, Error>(report);
                    }
                    report.add(batch);
                }
            })
        })
        .collect::<Vec<_>>();
    let mut report = ScrubReport::default();
    for pass in passes {
        report.add(pass.await.map_err(|e| Error::Join(e.to_string()))??);
    }
    Ok(report)
}

/// Scrubs every readable volume, one task per volume, each copy about once per `period`,
/// each volume read at most at the rate, until `shutdown` fires. Volumes added later get
/// their task within a minute.
pub async fn run(
    store: Arc<ChunkStore>,
    period: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let rate_mib = store.config().scrub_rate_mib;
    let rate = Arc::new(RateLimiter::mib(rate_mib));
    let follow = tokio::spawn(super::settings::follow(
        store.pool().clone(),
        super::settings::Setting::ScrubRateMib,
        rate_mib,
        rate.clone(),
        shutdown.clone(),
    ));
    let mut tasks: HashMap<Uuid, tokio::task::JoinHandle<()>> = HashMap::new();
    loop {
        for volume in store.volumes().iter() {
            tasks.entry(volume.id).or_insert_with(|| {
                tokio::spawn(scrub_volume(
                    store.clone(),
                    volume.id,
                    period,
                    rate.clone(),
                    shutdown.clone(),
                ))
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60).min(period)) => {}
            _ = shutdown.changed() => break,
        }
    }
    for (_, task) in tasks {
        let _ = task.await;
    }
    let _ = follow.await;
}

/// The scrub of one volume (see [`run`]); ends when the volume is removed or at shutdown.
async fn scrub_volume(
    store: Arc<ChunkStore>,
    id: Uuid,
    period: Duration,
    rate: Arc<RateLimiter>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let idle = (period / 100).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let limiter = RateLimiter::new(rate.bytes_per_sec());
    loop {
        let Some(volume) = store.volume(id) else {
            return;
        };
        let mut busy = false;
        if volume.state().readable() {
            limiter.set_bytes_per_sec(rate.bytes_per_sec());
            let cutoff = OffsetDateTime::now_utc() - period;
            let work = scrub_batch(&store, &volume, cutoff, 16, &limiter);
            let result = tokio::select! {
                r = work => r,
                _ = shutdown.changed() => return,
            };
            match result {
                Ok(r) => busy = r.checked > 0,
                Err(e) => tracing::warn!(volume = %id, error = %e, "scrub failed"),
            }
        }
        if *shutdown.borrow() {
            return;
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
