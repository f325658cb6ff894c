//! The repair worker: brings every queued chunk back to `--replicas` good copies.
//!
//! The queue (`chunk_repairs`, see [`super::chunks`]) is fed by degraded writes (in the
//! committing transaction), reads that met a bad copy, the scrub and the sweep, and
//! volumes that failed, went offline or are draining. Workers in any number of processes
//! claim rows with a lease (`FOR UPDATE SKIP LOCKED`), fewest good copies first, so a
//! crashed worker's rows come back when the lease ends and no leader is needed.
//!
//! Repairing a chunk: read a good copy, checking every block, into a new copy on the next
//! eligible volume in placement order (active, under `--volume-repair-full-percent`, a
//! failure domain the remaining copies do not use if there is one), fsynced and renamed
//! like any write, under an intent; record it; once enough good copies exist, drop the
//! rows of bad copies, of copies on dead volumes and of a draining volume's copies, whose
//! files are unlinked later (`chunk_deletions`). A chunk released meanwhile (its object
//! deleted) is noticed when the copy is recorded, and the new file removed. Failures back
//! off exponentially (5 s doubling to an hour, as Garage's resync does); copying is
//! rate-limited (`coffer admin repair rate`, read again while running).

use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

use super::Error;
use super::blob::{ChunkStore, Purpose, VolumeHandle, blocking, copy_verified};
use super::chunks::{self, ClaimedRepair, CopyProblem};
use super::throttle::RateLimiter;
use super::volumes::VolumeState;

/// What became of one repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Enough good copies now (`copied` new ones were made).
    Repaired {
        /// Copies made.
        copied: usize,
        /// Bytes copied.
        bytes: u64,
    },
    /// No good copy is left to copy from: the chunk's bytes are lost unless a copy comes
    /// back (an offline volume remounted).
    Lost,
    /// Not enough eligible volumes, or a step failed: tried again later.
    Deferred,
}

/// The wait before attempt `attempts + 1`: 5 s doubling, at most an hour.
fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 11) as u32 - 1;
    Duration::from_secs(5 << exp).min(Duration::from_secs(3600))
}

/// Repairs one claimed chunk (see the module documentation).
pub async fn repair_one(
    store: &Arc<ChunkStore>,
    claimed: &ClaimedRepair,
    limiter: &RateLimiter,
) -> Result<Outcome, Error> {
    let id = claimed.chunk_id;
    let pool = store.pool();
    let wanted = store.config().replicas;
    let Some(info) = chunks::chunk_info(pool, id).await? else {
        let mut tx = pool.begin().await?;
        chunks::finish_repair(&mut tx, id, wanted).await?;
        tx.commit().await?;
        return Ok(Outcome::Repaired {
            copied: 0,
            bytes: 0,
        });
    };
    let vols = store.volumes();
    let handle = |v: &Uuid| vols.iter().find(|h| h.id == *v).cloned();
    // Good copies to keep, good copies on draining volumes (sources, to be dropped), and
    // the rest (bad copies, copies on volumes that are gone). A volume counts if both the
    // table (where an operator's drain appears first) and this process (which may have
    // just seen it fail) find it readable.
    let (mut keep, mut draining, mut dead) = (Vec::new(), Vec::new(), Vec::new());
    for (volume, state, table_state) in &info.copies {
        match (handle(volume), table_state) {
            (Some(h), Some(t)) if state == "ok" && t.readable() && h.state().readable() => {
                if *t == VolumeState::Draining || h.state() == VolumeState::Draining {
                    draining.push(h);
                } else {
                    keep.push(h);
                }
            }
            _ => dead.push(*volume),
        }
    }
    let mut copied = 0usize;
    let mut bytes = 0u64;
    if keep.len() < wanted && !(keep.is_empty() && draining.is_empty()) {
        let mut exclude: Vec<Uuid> = keep.iter().chain(&draining).map(|v| v.id).collect();
        exclude.extend(&info.unlinking);
        // Volumes the table no longer has active, whatever this process last saw.
        exclude.extend(
            info.copies
                .iter()
                .filter(|(_, _, t)| *t != Some(VolumeState::Active))
                .map(|(v, _, _)| *v),
        );
        let used: Vec<&str> = keep.iter().map(|v| v.domain.as_str()).collect();
        let mut targets = store.placement(id, Purpose::Repair, &exclude);
        // Domains the remaining copies use go last.
        targets.sort_by_key(|t| used.contains(&t.domain.as_str()));
        for target in targets {
            if keep.len() >= wanted || (keep.is_empty() && draining.is_empty()) {
                break;
            }
            limiter.acquire(info.size).await;
            let sources: Vec<Arc<VolumeHandle>> = keep.iter().chain(&draining).cloned().collect();
            let (recorded, bad) = copy_to(store, &info, &target, &sources).await?;
            // A source that turned out bad is no copy to keep either.
            for b in bad {
                keep.retain(|v| v.id != b);
                draining.retain(|v| v.id != b);
                dead.push(b);
            }
            if recorded {
                copied += 1;
                bytes += info.size;
                dead.retain(|v| *v != target.id);
                keep.push(target);
            }
        }
    }
    if keep.is_empty() && draining.is_empty() {
        tracing::error!(chunk = %id, reason = %claimed.reason, "no good copy of the chunk is left: its objects are lost unless a copy comes back");
        chunks::retry_repair(
            pool,
            id,
            backoff(claimed.attempts + 6),
            0,
            "no good copy left",
        )
        .await?;
        return Ok(Outcome::Lost);
    }
    if keep.len() >= wanted {
        let mut drop: Vec<Uuid> = dead;
        drop.extend(draining.iter().map(|v| v.id));
        let mut tx = pool.begin().await?;
        chunks::drop_copies(&mut tx, id, &drop).await?;
        // Not removed when a copy was reported bad meanwhile: then it is due again.
        let finished = chunks::finish_repair(&mut tx, id, wanted).await?;
        tx.commit().await?;
        if copied > 0 {
            tracing::info!(chunk = %id, copied, reason = %claimed.reason, "chunk repaired");
        }
        if !finished {
            return Ok(Outcome::Deferred);
        }
        return Ok(Outcome::Repaired { copied, bytes });
    }
    let why = format!(
        "{} of {wanted} good copies and no eligible volume for more",
        keep.len()
    );
    tracing::warn!(chunk = %id, %why, "repair deferred");
    chunks::retry_repair(pool, id, backoff(claimed.attempts), keep.len() as i32, &why).await?;
    Ok(Outcome::Deferred)
}

/// Makes a copy of `info` on `target` from the first good one of `sources`; a source that
/// turns out bad is reported. Returns whether the copy was recorded, and the bad sources.
async fn copy_to(
    store: &Arc<ChunkStore>,
    info: &chunks::ChunkInfo,
    target: &Arc<VolumeHandle>,
    sources: &[Arc<VolumeHandle>],
) -> Result<(bool, Vec<Uuid>), Error> {
    let id = info.id;
    let ttl = store.config().intent_ttl;
    let mut bad = Vec::new();
    if let Err(e) = chunks::insert_intents(store.pool(), id, &[target.id], ttl).await {
        // An intent left by a repair that died on this very copy: expires, then retried.
        tracing::warn!(chunk = %id, volume = %target.id, error = %e, "cannot record a repair intent");
        return Ok((false, bad));
    }
    for source in sources {
        let (src, dst, blocks, size) = (
            source.dir().chunk_path(id),
            target.clone(),
            info.blocks.clone(),
            info.size,
        );
        match blocking(move || copy_verified(&src, &dst, id, size, &blocks)).await? {
            Ok(()) => {
                let mut tx = store.pool().begin().await?;
                let recorded = chunks::record_repaired_copy(&mut tx, id, target.id).await?;
                tx.commit().await?;
                if !recorded {
                    // Released meanwhile: the new file is garbage.
                    store.remove_intended(&[(id, target.id)]).await?;
                }
                return Ok((recorded, bad));
            }
            Err(super::blob::CopyError::Source(e)) => {
                let problem = if e.kind() == std::io::ErrorKind::NotFound {
                    CopyProblem::Missing
                } else {
                    CopyProblem::Corrupt
                };
                store.report_bad_copy(id, source, problem, "repair").await;
                bad.push(source.id);
            }
            Err(super::blob::CopyError::Target(e)) => {
                store.write_failed(target, &e).await;
                break;
            }
        }
    }
    store.remove_intended(&[(id, target.id)]).await?;
    Ok((false, bad))
}

/// Claims and repairs up to `limit` due chunks; returns their outcomes.
pub async fn work_once(
    store: &Arc<ChunkStore>,
    limit: i64,
    lease: Duration,
    limiter: &RateLimiter,
) -> Result<Vec<(Uuid, Outcome)>, Error> {
    let claimed = chunks::claim_repairs(store.pool(), limit, lease).await?;
    let mut out = Vec::with_capacity(claimed.len());
    for c in &claimed {
        let outcome = match repair_one(store, c, limiter).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(chunk = %c.chunk_id, error = %e, "repair failed");
                let _ = chunks::retry_repair(
                    store.pool(),
                    c.chunk_id,
                    backoff(c.attempts),
                    1,
                    &e.to_string(),
                )
                .await;
                Outcome::Deferred
            }
        };
        out.push((c.chunk_id, outcome));
    }
    Ok(out)
}

/// Runs `--repair-workers` repair workers until `shutdown` fires; the rate limit follows
/// the `repair_rate_mib` setting (`coffer admin repair rate`), or `--repair-rate-mib`.
pub async fn run(store: Arc<ChunkStore>, shutdown: tokio::sync::watch::Receiver<bool>) {
    let config = store.config().clone();
    let limiter = Arc::new(RateLimiter::mib(config.repair_rate_mib));
    let mut tasks = Vec::new();
    for _ in 0..config.repair_workers.max(1) {
        let (store, limiter, mut shutdown) = (store.clone(), limiter.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let idle = match work_once(&store, 1, config.repair_lease, &limiter).await {
                    Ok(done) => done.is_empty(),
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming repairs failed");
                        true
                    }
                };
                if idle {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.changed() => return,
                    }
                } else if *shutdown.borrow() {
                    return;
                }
            }
        }));
    }
    super::settings::follow(
        store.pool().clone(),
        super::settings::Setting::RepairRateMib,
        config.repair_rate_mib,
        limiter,
        shutdown,
    )
    .await;
    for t in tasks {
        let _ = t.await;
    }
}
