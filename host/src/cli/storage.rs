//! `coffer admin volume|scrub|repair`: the volumes, their scrub and the repair queue.
//! These run beside a server (or without one): they read and change the same tables, and
//! `scrub` reads the volumes itself.

use anyhow::Context;
use clap::Subcommand;
use coffer::config::StorageConfig;
use coffer::store::blob::{self, ChunkStore};
use coffer::store::settings::{self, Setting};
use coffer::store::throttle::RateLimiter;
use coffer::store::volumes::{self, VolumeState};
use coffer::store::{chunks, gc, repair, scrub};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// List the volumes: state, failure domain, space and copies held.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make PATH a new volume (an empty directory, ideally on its own disk). Running
    /// servers start placing copies on it within `--volume-check-interval`.
    Add {
        /// The directory (created if missing).
        path: PathBuf,
        /// Failure domain label, overriding the block device (volumes with one label are
        /// assumed to fail together, e.g. disks in one enclosure).
        #[arg(long)]
        label: Option<String>,
    },
    /// Stop placing copies on a volume and move its copies elsewhere (before `remove`).
    Drain {
        /// Volume id.
        id: Uuid,
    },
    /// Forget a volume; refused while it holds copies (drain it first).
    Remove {
        /// Volume id.
        id: Uuid,
    },
}

#[derive(Debug, clap::Args)]
pub struct ScrubArgs {
    #[command(subcommand)]
    command: Option<ScrubCommand>,
    /// After the pass, repair what it found and whatever else waits for repair (here,
    /// and by any running server) and wait for it, then print the summary.
    #[arg(long)]
    wait: bool,
    /// With --wait: give up waiting after this many seconds.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
    /// MiB/s the pass reads from each volume (0: as fast as the disks go).
    #[arg(long, default_value_t = 0)]
    rate_mib: u64,
    /// Only list the objects that have a chunk with no good copy left (no pass).
    #[arg(long)]
    lost: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScrubCommand {
    /// Set the MiB/s the background scrub of every server reads from each volume (0:
    /// unlimited; `default`: back to each server's `--scrub-rate-mib`).
    Rate {
        /// MiB/s, or `default`.
        mib: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RepairCommand {
    /// How many chunks wait for repair, and how many of them have no good copy.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set the MiB/s every server's repair workers copy (0: unlimited; `default`: back
    /// to each server's `--repair-rate-mib`).
    Rate {
        /// MiB/s, or `default`.
        mib: String,
    },
}

pub async fn volume(command: &VolumeCommand, pool: &sqlx::PgPool) -> anyhow::Result<()> {
    match command {
        VolumeCommand::List { json } => list_volumes(pool, *json).await?,
        VolumeCommand::Add { path, label } => {
            let id = blob::add_volume(pool, path, label.as_deref())
                .await
                .with_context(|| format!("making {} a volume", path.display()))?;
            println!(
                "added volume {id} at {}",
                std::path::absolute(path)?.display()
            );
        }
        VolumeCommand::Drain { id } => {
            let before = volumes::set_state(
                pool,
                *id,
                VolumeState::Draining,
                Some("drained by the operator"),
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("no such volume: {id}"))?;
            let replicas = replicas(pool).await?;
            let queued = chunks::queue_drain(pool, *id, replicas as i32 + 1).await?;
            println!(
                "volume {id} is draining (was {}); {queued} chunks queued to move",
                before.as_str()
            );
        }
        VolumeCommand::Remove { id } => {
            volumes::remove(pool, *id).await?;
            println!("removed volume {id} (its directory is left as it is)");
        }
    }
    Ok(())
}

async fn list_volumes(pool: &sqlx::PgPool, as_json: bool) -> anyhow::Result<()> {
    let rows = volumes::list(pool).await?;
    let mut copies: HashMap<Uuid, HashMap<String, i64>> = HashMap::new();
    for (volume, state, n) in volumes::copy_counts(pool).await? {
        copies.entry(volume).or_default().insert(state, n);
    }
    let mut domains: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        *domains.entry(r.failure_domain.as_str()).or_default() += 1;
    }
    let shared = |d: &str| domains.get(d).copied().unwrap_or(0) > 1;
    if as_json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                v["copies"] = json!(copies.get(&r.id).cloned().unwrap_or_default());
                v["shares_failure_domain"] = json!(shared(&r.failure_domain));
                v
            })
            .collect();
        println!("{}", serde_json::to_string(&list)?);
        return Ok(());
    }
    for r in &rows {
        let held = copies.get(&r.id);
        let ok = held.and_then(|c| c.get("ok")).copied().unwrap_or(0);
        let bad: i64 = held
            .map(|c| c.iter().filter(|(s, _)| *s != "ok").map(|(_, n)| n).sum())
            .unwrap_or(0);
        println!(
            "{}\t{}\t{}\t{}{}\t{:.1}% used of {}\t{ok} copies{}\t{}",
            r.id,
            r.state.as_str(),
            r.path,
            r.failure_domain,
            if shared(&r.failure_domain) {
                " (shared)"
            } else {
                ""
            },
            100.0 * r.capacity_bytes.saturating_sub(r.free_bytes) as f64
                / r.capacity_bytes.max(1) as f64,
            human(r.capacity_bytes),
            if bad > 0 {
                format!(" ({bad} bad)")
            } else {
                String::new()
            },
            r.state_reason.as_deref().unwrap_or(""),
        );
    }
    if domains.values().any(|n| *n > 1) {
        println!(
            "warning: volumes share a failure domain: their copies are lost together \
             (put volumes on distinct disks, or label them)"
        );
    }
    Ok(())
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Copies wanted, as the last server start recorded it.
async fn replicas(pool: &sqlx::PgPool) -> anyhow::Result<usize> {
    Ok(settings::get(pool, Setting::Replicas)
        .await?
        .map_or(3, |n| n.max(1) as usize))
}

/// Opens the volumes as a server would (without creating any).
async fn open_store(pool: &sqlx::PgPool, data_dir: &Path) -> anyhow::Result<Arc<ChunkStore>> {
    let mut config = StorageConfig::with_defaults(data_dir);
    config.replicas = replicas(pool).await?;
    config.min_write_replicas = config.min_write_replicas.min(config.replicas);
    ChunkStore::open(pool.clone(), config, false)
        .await
        .context("opening the volumes")
}

pub async fn scrub(args: &ScrubArgs, pool: &sqlx::PgPool, data_dir: &Path) -> anyhow::Result<()> {
    if let Some(ScrubCommand::Rate { mib }) = &args.command {
        return set_rate(pool, Setting::ScrubRateMib, mib).await;
    }
    if args.lost {
        let lost = chunks::lost_objects(pool).await?;
        for o in &lost {
            println!("{}", serde_json::to_string(o)?);
        }
        if lost.is_empty() {
            eprintln!("no object has lost a chunk");
        }
        return Ok(());
    }
    let store = open_store(pool, data_dir).await?;
    let unlimited = RateLimiter::new(0);
    let began = Instant::now();
    // Files younger than an hour may be uploads in flight on a server without intents
    // of their own yet; the sweep here only reports what it leaves.
    let sweep = gc::sweep(&store, Duration::from_secs(3600)).await?;
    let deep = scrub::full_pass(&store, args.rate_mib).await?;
    let scrub_seconds = began.elapsed().as_secs_f64();
    let mut bad: Vec<Uuid> = deep.bad_chunks.clone();
    bad.extend(&sweep.missing_chunks);
    bad.sort();
    bad.dedup();
    let mut summary = json!({
        "checked": deep.checked,
        "bytes": deep.bytes,
        "corrupt": deep.corrupt,
        "missing": deep.missing + sweep.missing,
        "orphans_removed": sweep.orphans_removed + sweep.temp_files_removed,
        "seconds": scrub_seconds,
    });
    if args.wait {
        // Chunks a read or the sweep of a server queued before this pass are waited for
        // too: the pass skipped copies already marked bad.
        bad.extend(chunks::queued_chunks(pool).await?);
        bad.sort();
        bad.dedup();
        let (repaired, lost, unrepaired) =
            wait_for_repairs(&store, &bad, Duration::from_secs(args.timeout), &unlimited).await?;
        summary["repaired"] = json!(repaired);
        summary["lost"] = json!(lost);
        summary["unrepaired"] = json!(unrepaired);
        summary["seconds_with_repairs"] = json!(began.elapsed().as_secs_f64());
    } else {
        summary["queued"] = json!(bad.len());
    }
    println!("{summary}");
    Ok(())
}

/// Works the repair queue until none of `bad` is queued (repaired, here or by a server)
/// but those with no good copy left, or `timeout` passes. Returns (repaired, lost, still
/// queued).
async fn wait_for_repairs(
    store: &Arc<ChunkStore>,
    bad: &[Uuid],
    timeout: Duration,
    limiter: &RateLimiter,
) -> anyhow::Result<(usize, usize, usize)> {
    let began = Instant::now();
    let lease = store.config().repair_lease;
    loop {
        let done = repair::work_once(store, 8, lease, limiter).await?;
        let queued = chunks::queued_among(store.pool(), bad).await?;
        let lost = chunks::without_good_copy(store.pool(), &queued).await?;
        let waiting = queued.len() - lost.len();
        if waiting == 0 || began.elapsed() > timeout {
            return Ok((bad.len() - queued.len(), lost.len(), waiting));
        }
        if done.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

pub async fn repair(command: &RepairCommand, pool: &sqlx::PgPool) -> anyhow::Result<()> {
    match command {
        RepairCommand::Status { json } => {
            let (queued, no_good_copy) = chunks::repair_backlog(pool).await?;
            if *json {
                println!(
                    "{}",
                    json!({"queued": queued, "no_good_copy": no_good_copy})
                );
            } else {
                println!("{queued} chunks queued for repair, {no_good_copy} with no good copy");
            }
            Ok(())
        }
        RepairCommand::Rate { mib } => set_rate(pool, Setting::RepairRateMib, mib).await,
    }
}

async fn set_rate(pool: &sqlx::PgPool, setting: Setting, mib: &str) -> anyhow::Result<()> {
    let value = if mib == "default" {
        None
    } else {
        Some(
            mib.parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .with_context(|| format!("expected MiB/s or `default`, got {mib:?}"))?,
        )
    };
    settings::set(pool, setting, value).await?;
    match value {
        Some(v) => println!(
            "{} set to {v} MiB/s (servers follow within seconds)",
            setting.name()
        ),
        None => println!("{} back to each server's default", setting.name()),
    }
    Ok(())
}
