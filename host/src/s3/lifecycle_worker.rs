//! The lifecycle worker: a background task that applies every bucket's lifecycle rules
//! (`s3::lifecycle`) every `--lifecycle-interval`.
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html>
//!
//! A pass walks the buckets that have a configuration and, for each, its enabled rules:
//!
//! - `Expiration` by `Days` or `Date`: a current version (not a delete marker) whose
//!   filter matches (prefix, the version's tags, its size) and whose expiry
//!   ([`expiration_for`], the same date `x-amz-expiration` announces) has passed is
//!   removed in an unversioned bucket, and gets a delete marker in a versioned one
//!   (enabled or suspended), as a client's DELETE would.
//! - `NoncurrentVersionExpiration`: a noncurrent version goes for good `NoncurrentDays`
//!   after it became noncurrent (the Last-Modified of the next newer version), unless it
//!   is one of the `NewerNoncurrentVersions` newest noncurrent versions of its key.
//! - Expired object delete markers (a delete marker that is its key's only version) are
//!   removed when a rule says `ExpiredObjectDeleteMarker` true, and when an
//!   `Expiration` by `Days` or `Date` would expire an object written when the marker
//!   was ("When you specify the Days tag, Amazon S3 automatically performs
//!   ExpiredObjectDeleteMarker cleanup when the delete markers are old enough",
//!   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/ManagingDelMarkers.html>).
//! - `AbortIncompleteMultipartUpload`: uploads under the rule's prefix initiated more
//!   than `DaysAfterInitiation` days ago are aborted.
//!
//! Versions under a legal hold or unexpired retention are never removed: they are
//! counted and skipped, and the pass goes on.
//!
//! **Several processes.** Servers sharing a database each run the worker. A bucket's
//! pass holds a PostgreSQL advisory lock for that bucket (`store::lifecycle::BucketLock`,
//! on a connection of its own; a crashed process's session ends and frees it), so a
//! process finding it taken skips the bucket. Each action is also conditional on the
//! row it was decided on (`store::object_write::expire_current_version` and its
//! siblings), so even two passes racing, or a client's write between the read and the
//! action, apply a rule at most once.
//!
//! **Bounds.** Versions are read a page at a time (keyset pagination in index order:
//! key, then newest version first), uploads likewise; nothing holds more than a page and
//! the state of one key. Actions are paced by `--lifecycle-rate` (a token bucket per
//! process) and run a few at a time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::StreamExt;
use serde::Deserialize;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use tokio::sync::watch;

use super::lifecycle::{
    Expiration, LifecycleConfiguration, LifecycleRule, days_after, expiration_for,
};
use crate::config::LifecycleSettings;
use crate::state::Clock;
use crate::store::buckets::{self, Bucket, Versioning};
use crate::store::lifecycle::{
    BucketLock, UploadRow, VersionCursor, VersionRow, stale_uploads_page, versions_page,
};
use crate::store::{Error, multipart, object_write};

/// Rows read per page of a bucket's versions or uploads.
const PAGE: i64 = 500;

/// Buckets read per page of the bucket walk.
const BUCKET_PAGE: i64 = 100;

/// Actions in flight at once within a bucket. Each is a short transaction on one key;
/// a few in parallel hide the round trips without taking much of the pool.
const CONCURRENCY: usize = 4;

/// Runs a pass at once and then every `settings.interval` (a pass that takes longer is
/// followed by the next straight away), until `shutdown` fires; a pass in progress
/// stops at its next page.
pub async fn run(
    pool: PgPool,
    settings: LifecycleSettings,
    clock: Clock,
    mut shutdown: watch::Receiver<bool>,
) {
    let limiter = Limiter::new(settings.rate);
    let mut ticks = tokio::time::interval(settings.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        let worker = Worker {
            pool: &pool,
            day: settings.day_length(),
            clock: &clock,
            limiter: &limiter,
            shutdown: &shutdown,
        };
        if let Err(e) = worker.pass().await {
            tracing::warn!(error = %e, "lifecycle pass failed; the next one retries");
        }
    }
}

/// What one pass works with.
struct Worker<'a> {
    pool: &'a PgPool,
    day: Duration,
    clock: &'a Clock,
    limiter: &'a Limiter,
    shutdown: &'a watch::Receiver<bool>,
}

impl Worker<'_> {
    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// One pass over every bucket with a lifecycle configuration. A bucket whose pass
    /// fails is logged and the walk goes on; only failing to list buckets ends it.
    async fn pass(&self) -> Result<(), Error> {
        PASSES.fetch_add(1, Ordering::Relaxed);
        let mut after = 0;
        loop {
            let page = buckets::with_lifecycle_after(self.pool, after, BUCKET_PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            for bucket in &page {
                if self.stopping() {
                    return Ok(());
                }
                if let Err(e) = self.bucket(bucket).await {
                    tracing::warn!(bucket = %bucket.name, error = %e, "lifecycle pass of a bucket failed");
                }
            }
        }
    }

    /// Applies one bucket's rules under its lock; skipped if another process holds it.
    async fn bucket(&self, listed: &Bucket) -> Result<(), Error> {
        let Some(lock) = BucketLock::try_acquire(self.pool, listed.id).await? else {
            tracing::debug!(bucket = %listed.name, "lifecycle: another process has this bucket");
            return Ok(());
        };
        let started = Instant::now();
        let mut stats = Stats::default();
        let result = self.locked_bucket(listed, &mut stats).await;
        let released = lock.release().await;
        stats.log(listed, started.elapsed());
        result.and(released)
    }

    /// The body of [`Worker::bucket`], under the lock. The bucket is read again: the walk
    /// listed it a while ago, and its rules or versioning may have changed since (or it
    /// may be gone, or be another bucket of the same name).
    async fn locked_bucket(&self, listed: &Bucket, stats: &mut Stats) -> Result<(), Error> {
        let fresh = buckets::get_bucket(self.pool, &listed.name).await?;
        let Some(bucket) = fresh.filter(|b| b.id == listed.id) else {
            return Ok(());
        };
        let Some(stored) = &bucket.lifecycle else {
            return Ok(());
        };
        let config = LifecycleConfiguration::deserialize(stored)
            .map_err(|e| Error::Corrupt(format!("stored lifecycle configuration: {e}")))?;
        let rules: Vec<LifecycleRule> = config.rules.into_iter().filter(|r| r.enabled).collect();
        if rules.is_empty() {
            return Ok(());
        }
        self.apply(&bucket, &rules, (self.clock)(), stats).await
    }

    async fn apply(
        &self,
        bucket: &Bucket,
        rules: &[LifecycleRule],
        now: OffsetDateTime,
        stats: &mut Stats,
    ) -> Result<(), Error> {
        for prefix in scan_prefixes(rules) {
            self.versions(bucket, rules, &prefix, now, stats).await?;
        }
        for rule in rules {
            if let Some(days) = rule.abort_incomplete_multipart_days {
                self.uploads(bucket, &rule.filter.prefix, days, now, stats)
                    .await?;
            }
        }
        Ok(())
    }

    /// Walks the versions under `prefix` and applies the version rules.
    async fn versions(
        &self,
        bucket: &Bucket,
        rules: &[LifecycleRule],
        prefix: &str,
        now: OffsetDateTime,
        stats: &mut Stats,
    ) -> Result<(), Error> {
        let mut planner = Planner::new(rules, now, self.day);
        let mut cursor: Option<VersionCursor> = None;
        loop {
            if self.stopping() {
                return Ok(());
            }
            let page = versions_page(self.pool, bucket.id, prefix, cursor.as_ref(), PAGE).await?;
            let mut done = (page.len() as i64) < PAGE;
            let mut actions = Vec::new();
            for row in &page {
                if !row.key.starts_with(prefix) {
                    done = true;
                    break;
                }
                planner.push(row, &mut actions);
            }
            if done {
                planner.finish(&mut actions);
            }
            self.execute(bucket, actions, stats).await;
            match page.last() {
                Some(last) if !done => {
                    cursor = Some(VersionCursor {
                        key: last.key.clone(),
                        id: last.id,
                    });
                }
                _ => return Ok(()),
            }
        }
    }

    /// Aborts the uploads under `prefix` initiated `days` lifecycle days ago or more.
    async fn uploads(
        &self,
        bucket: &Bucket,
        prefix: &str,
        days: u32,
        now: OffsetDateTime,
        stats: &mut Stats,
    ) -> Result<(), Error> {
        // Every upload due was initiated at least `days` days ago (the midnight rounding
        // only moves the due time later); the exact test is per upload.
        let span = i32::try_from(days)
            .ok()
            .and_then(|d| self.day.checked_mul(d));
        let Some(cutoff) = span.and_then(|s| now.checked_sub(s)) else {
            return Ok(());
        };
        let mut after: Option<UploadRow> = None;
        loop {
            if self.stopping() {
                return Ok(());
            }
            let page =
                stale_uploads_page(self.pool, bucket.id, prefix, cutoff, after.as_ref(), PAGE)
                    .await?;
            let mut done = (page.len() as i64) < PAGE;
            let mut actions = Vec::new();
            for upload in &page {
                if !upload.key.starts_with(prefix) {
                    done = true;
                    break;
                }
                if days_after(upload.created_at, days, self.day).is_some_and(|due| due <= now) {
                    actions.push(Action::AbortUpload { id: upload.id });
                }
            }
            self.execute(bucket, actions, stats).await;
            match page.into_iter().last() {
                Some(last) if !done => after = Some(last),
                _ => return Ok(()),
            }
        }
    }

    /// Runs `actions` (a few at a time, each after the rate limiter's say-so) and counts
    /// what each did as it finishes. A failed action is logged and counted; the pass goes
    /// on.
    async fn execute(&self, bucket: &Bucket, actions: Vec<Action>, stats: &mut Stats) {
        let mut outcomes = futures_util::stream::iter(actions)
            .map(|action| async move {
                self.limiter.acquire().await;
                let result = self.act(bucket, &action).await;
                (action, result)
            })
            .buffer_unordered(CONCURRENCY);
        while let Some((action, result)) = outcomes.next().await {
            stats.count(bucket, &action, result);
        }
    }

    async fn act(&self, bucket: &Bucket, action: &Action) -> Result<bool, Error> {
        match action {
            Action::ExpireCurrent { key, row } => {
                object_write::expire_current_version(
                    self.pool,
                    bucket.id,
                    key,
                    *row,
                    bucket.versioning,
                    bucket.owner_id,
                )
                .await
            }
            Action::ExpireNoncurrent { key, row } => {
                object_write::expire_noncurrent_version(self.pool, bucket.id, key, *row).await
            }
            Action::RemoveDeleteMarker { key, row } => {
                object_write::remove_expired_delete_marker(self.pool, bucket.id, key, *row).await
            }
            Action::AbortUpload { id } => match multipart::abort_upload(self.pool, *id).await {
                Ok(()) => Ok(true),
                // Completed or aborted meanwhile.
                Err(Error::NoSuchUpload) => Ok(false),
                Err(e) => Err(e),
            },
        }
    }
}

/// The key prefixes to walk for the version rules: each rule's prefix, less those inside
/// another's (sorted bytewise, a prefix comes right before the ones it contains). Empty
/// when no rule acts on versions.
fn scan_prefixes(rules: &[LifecycleRule]) -> Vec<String> {
    let mut all: Vec<&str> = rules
        .iter()
        .filter(|r| r.expiration.is_some() || r.noncurrent_expiration.is_some())
        .map(|r| r.filter.prefix.as_str())
        .collect();
    all.sort_unstable();
    all.dedup();
    let mut out: Vec<String> = Vec::new();
    for p in all {
        if out.last().is_none_or(|last| !p.starts_with(last.as_str())) {
            out.push(p.to_owned());
        }
    }
    out
}

/// A change the worker decided on, with what it must still find to make it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// Expire the current version, still row `row`.
    ExpireCurrent { key: String, row: i64 },
    /// Remove noncurrent version row `row` for good.
    ExpireNoncurrent { key: String, row: i64 },
    /// Remove the delete marker row `row`, still the key's only version.
    RemoveDeleteMarker { key: String, row: i64 },
    /// Abort the upload with this row id.
    AbortUpload { id: i64 },
}

/// Decides the version actions from a walk of versions in index order (key, then newest
/// first), one row at a time, keeping only the state of the key at hand. Pure: the
/// rules, the time and the day length are given.
struct Planner<'a> {
    rules: &'a [LifecycleRule],
    now: OffsetDateTime,
    day: Duration,
    key: Option<KeyState>,
}

/// What the planner knows of the key being walked.
#[derive(Debug)]
struct KeyState {
    key: String,
    /// Versions seen so far.
    seen: usize,
    /// Noncurrent versions seen so far (all newer than the next one).
    noncurrent: u32,
    /// Last-Modified of the previous (next newer) version: when the next one became
    /// noncurrent.
    newer_written: Option<OffsetDateTime>,
    /// The current version is a delete marker that is due for removal if it turns out
    /// to be the key's only version: its row.
    marker: Option<i64>,
    /// This pass expires the current version: the rest of the key waits for the next
    /// pass, which sees the versions as they will be.
    settled: bool,
}

impl<'a> Planner<'a> {
    fn new(rules: &'a [LifecycleRule], now: OffsetDateTime, day: Duration) -> Self {
        Planner {
            rules,
            now,
            day,
            key: None,
        }
    }

    /// Takes the next version of the walk.
    fn push(&mut self, row: &VersionRow, out: &mut Vec<Action>) {
        if self.key.as_ref().is_none_or(|k| k.key != row.key) {
            self.finish(out);
            self.key = Some(KeyState {
                key: row.key.clone(),
                seen: 0,
                noncurrent: 0,
                newer_written: None,
                marker: None,
                settled: false,
            });
        }
        let (rules, now, day) = (self.rules, self.now, self.day);
        let Some(k) = self.key.as_mut() else {
            return;
        };
        k.seen += 1;
        if row.is_latest {
            if row.delete_marker {
                if marker_due(rules, &row.key, row.last_modified, now, day) {
                    k.marker = Some(row.id);
                }
            } else if expiration_for(rules, &row.key, row.size, &row.tags, row.last_modified, day)
                .is_some_and(|(at, _)| at <= now)
            {
                out.push(Action::ExpireCurrent {
                    key: row.key.clone(),
                    row: row.id,
                });
                k.settled = true;
            }
        } else if let Some(became_noncurrent) = k.newer_written
            && !k.settled
        {
            // How many noncurrent versions are newer than this one.
            let newer = k.noncurrent;
            k.noncurrent += 1;
            if noncurrent_due(rules, row, became_noncurrent, newer, now, day) {
                out.push(Action::ExpireNoncurrent {
                    key: row.key.clone(),
                    row: row.id,
                });
            }
        }
        k.newer_written = Some(row.last_modified);
    }

    /// Ends the key at hand: its delete marker goes if it was the only version.
    fn finish(&mut self, out: &mut Vec<Action>) {
        if let Some(k) = self.key.take()
            && let Some(row) = k.marker
            && k.seen == 1
        {
            out.push(Action::RemoveDeleteMarker { key: k.key, row });
        }
    }
}

/// Whether a current delete marker of `key` written at `written` is to be removed once
/// it is the key's only version: a rule with `ExpiredObjectDeleteMarker` true applies to
/// the key, or an `Expiration` by days or date would by now have expired an object of
/// the key written then (a marker has no tags and no size).
fn marker_due(
    rules: &[LifecycleRule],
    key: &str,
    written: OffsetDateTime,
    now: OffsetDateTime,
    day: Duration,
) -> bool {
    rules.iter().any(|r| {
        r.expiration == Some(Expiration::ExpiredObjectDeleteMarker(true))
            && r.filter.matches(key, 0, &[])
    }) || expiration_for(rules, key, 0, &[], written, day).is_some_and(|(at, _)| at <= now)
}

/// Whether a noncurrent version, noncurrent since `since` and with `newer` noncurrent
/// versions newer than it, is due under some rule that applies to it.
fn noncurrent_due(
    rules: &[LifecycleRule],
    row: &VersionRow,
    since: OffsetDateTime,
    newer: u32,
    now: OffsetDateTime,
    day: Duration,
) -> bool {
    let size = if row.delete_marker { 0 } else { row.size };
    rules.iter().any(|r| {
        let Some(n) = &r.noncurrent_expiration else {
            return false;
        };
        r.filter.matches(&row.key, size, &row.tags)
            && newer >= n.newer_noncurrent_versions.unwrap_or(0)
            && days_after(since, n.days, day).is_some_and(|due| due <= now)
    })
}

/// Paces actions at `rate` per second: a token bucket holding at most a tenth of a
/// second's worth, refilled by the clock, so sleeping longer than asked (timer
/// granularity) costs no throughput. A caller that finds it empty books a token ahead and
/// sleeps until it is due, so concurrent callers queue in order.
struct Limiter {
    rate: u64,
    state: Mutex<(f64, Instant)>,
}

impl Limiter {
    fn new(rate: u64) -> Self {
        Limiter {
            rate,
            state: Mutex::new((Self::burst(rate), Instant::now())),
        }
    }

    fn burst(rate: u64) -> f64 {
        (rate as f64 / 10.0).max(1.0)
    }

    async fn acquire(&self) {
        let wait = self.book(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token at `now`; returns how long to wait for it.
    fn book(&self, now: Instant) -> std::time::Duration {
        if self.rate == 0 {
            return std::time::Duration::ZERO;
        }
        // A poisoned lock only means another action panicked mid-booking: pace on.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (tokens, last) = &mut *state;
        let rate = self.rate as f64;
        if now > *last {
            *tokens = (*tokens + (now - *last).as_secs_f64() * rate).min(Self::burst(self.rate));
            *last = now;
        }
        *tokens -= 1.0;
        if *tokens >= 0.0 {
            std::time::Duration::ZERO
        } else {
            std::time::Duration::from_secs_f64(-*tokens / rate)
        }
    }
}

/// What a bucket's pass did.
#[derive(Debug, Default)]
struct Stats {
    /// Current versions removed (unversioned bucket).
    removed: u64,
    /// Current versions given a delete marker (versioned bucket).
    markers_added: u64,
    /// Noncurrent versions removed.
    noncurrent_removed: u64,
    /// Expired object delete markers removed.
    markers_removed: u64,
    /// Incomplete multipart uploads aborted.
    uploads_aborted: u64,
    /// Versions left alone because object lock protects them.
    locked: u64,
    /// Actions not taken because the row changed since it was read (another process, a
    /// client).
    changed: u64,
    /// Actions that failed (logged).
    failed: u64,
}

impl Stats {
    fn count(&mut self, bucket: &Bucket, action: &Action, result: Result<bool, Error>) {
        match result {
            Ok(true) => {
                let (field, metric) = match action {
                    Action::ExpireCurrent { .. }
                        if bucket.versioning == Versioning::Unversioned =>
                    {
                        (&mut self.removed, &EXPIRED_CURRENT)
                    }
                    Action::ExpireCurrent { .. } => (&mut self.markers_added, &EXPIRED_CURRENT),
                    Action::ExpireNoncurrent { .. } => {
                        (&mut self.noncurrent_removed, &EXPIRED_NONCURRENT)
                    }
                    Action::RemoveDeleteMarker { .. } => {
                        (&mut self.markers_removed, &REMOVED_MARKERS)
                    }
                    Action::AbortUpload { .. } => (&mut self.uploads_aborted, &ABORTED_UPLOADS),
                };
                *field += 1;
                metric.fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => self.changed += 1,
            Err(Error::ObjectLocked) => {
                self.locked += 1;
                SKIPPED_LOCKED.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.failed += 1;
                FAILED.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(bucket = %bucket.name, ?action, error = %e, "lifecycle action failed");
            }
        }
    }

    /// Logs the pass of `bucket`: at info level when it did or skipped anything, at
    /// debug level otherwise (a pass that finds nothing to do is the common case, every
    /// interval, for every bucket).
    fn log(&self, bucket: &Bucket, elapsed: std::time::Duration) {
        let busy = self.removed
            + self.markers_added
            + self.noncurrent_removed
            + self.markers_removed
            + self.uploads_aborted
            + self.locked
            + self.changed
            + self.failed
            > 0;
        let ms = elapsed.as_millis() as u64;
        if busy {
            tracing::info!(
                bucket = %bucket.name,
                removed = self.removed,
                markers_added = self.markers_added,
                noncurrent_removed = self.noncurrent_removed,
                markers_removed = self.markers_removed,
                uploads_aborted = self.uploads_aborted,
                locked = self.locked,
                changed = self.changed,
                failed = self.failed,
                ms,
                "lifecycle pass"
            );
        } else {
            tracing::debug!(bucket = %bucket.name, ms, "lifecycle pass: nothing to do");
        }
    }
}

// Process-wide counters, rendered at `/metrics` (see `docs/metrics.md`).
static PASSES: AtomicU64 = AtomicU64::new(0);
static EXPIRED_CURRENT: AtomicU64 = AtomicU64::new(0);
static EXPIRED_NONCURRENT: AtomicU64 = AtomicU64::new(0);
static REMOVED_MARKERS: AtomicU64 = AtomicU64::new(0);
static ABORTED_UPLOADS: AtomicU64 = AtomicU64::new(0);
static SKIPPED_LOCKED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

/// Appends the worker's counters in Prometheus text format.
pub fn render_metrics(out: &mut String) {
    use std::fmt::Write as _;
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "# HELP coffer_lifecycle_passes_total Lifecycle passes started by this process.\n\
         # TYPE coffer_lifecycle_passes_total counter\n\
         coffer_lifecycle_passes_total {}",
        load(&PASSES)
    );
    let _ = writeln!(
        out,
        "# HELP coffer_lifecycle_actions_total Lifecycle actions taken by this process.\n\
         # TYPE coffer_lifecycle_actions_total counter"
    );
    for (action, counter) in [
        ("expire_current", &EXPIRED_CURRENT),
        ("expire_noncurrent", &EXPIRED_NONCURRENT),
        ("remove_delete_marker", &REMOVED_MARKERS),
        ("abort_upload", &ABORTED_UPLOADS),
    ] {
        let _ = writeln!(
            out,
            "coffer_lifecycle_actions_total{{action=\"{action}\"}} {}",
            load(counter)
        );
    }
    let _ = writeln!(
        out,
        "# HELP coffer_lifecycle_skipped_total Lifecycle actions not taken: the version is \
         protected by object lock, or the action failed.\n\
         # TYPE coffer_lifecycle_skipped_total counter\n\
         coffer_lifecycle_skipped_total{{reason=\"object_lock\"}} {}\n\
         coffer_lifecycle_skipped_total{{reason=\"error\"}} {}",
        load(&SKIPPED_LOCKED),
        load(&FAILED)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::lifecycle::{LifecycleFilter, NoncurrentExpiration};
    use crate::tags::Tag;
    use time::macros::datetime;

    const DAY: Duration = Duration::seconds(2);

    fn rule(prefix: &str) -> LifecycleRule {
        LifecycleRule {
            id: Some(format!("r-{prefix}")),
            enabled: true,
            filter: LifecycleFilter {
                prefix: prefix.into(),
                ..LifecycleFilter::default()
            },
            expiration: None,
            noncurrent_expiration: None,
            abort_incomplete_multipart_days: None,
        }
    }

    fn t(secs: i64) -> OffsetDateTime {
        datetime!(2030-01-01 00:00 UTC) + Duration::seconds(secs)
    }

    fn row(id: i64, key: &str, latest: bool, marker: bool, written: i64) -> VersionRow {
        VersionRow {
            id,
            key: key.into(),
            is_latest: latest,
            delete_marker: marker,
            size: if marker { 0 } else { 10 },
            last_modified: t(written),
            tags: Vec::new(),
        }
    }

    fn plan(rules: &[LifecycleRule], now: i64, rows: &[VersionRow]) -> Vec<Action> {
        let mut planner = Planner::new(rules, t(now), DAY);
        let mut out = Vec::new();
        for r in rows {
            planner.push(r, &mut out);
        }
        planner.finish(&mut out);
        out
    }

    fn current(key: &str, row: i64) -> Action {
        Action::ExpireCurrent {
            key: key.into(),
            row,
        }
    }

    fn noncurrent(key: &str, row: i64) -> Action {
        Action::ExpireNoncurrent {
            key: key.into(),
            row,
        }
    }

    #[test]
    fn current_versions_expire_after_their_days() {
        let rules = [LifecycleRule {
            expiration: Some(Expiration::Days(1)),
            ..rule("logs/")
        }];
        let rows = [
            row(1, "logs/a", true, false, 0),
            row(2, "logs/b", true, false, 1),
            // A delete marker is no object to expire.
            row(3, "logs/c", true, true, 0),
            row(4, "logs/c", false, false, 0),
            // Outside the prefix.
            row(5, "other", true, false, 0),
        ];
        assert_eq!(plan(&rules, 2, &rows), vec![current("logs/a", 1)]);
        assert_eq!(
            plan(&rules, 3, &rows),
            vec![current("logs/a", 1), current("logs/b", 2)]
        );
    }

    #[test]
    fn tags_and_sizes_filter_current_versions() {
        let mut filtered = rule("");
        filtered.filter.tags = vec![Tag::new("class", "tmp")];
        filtered.filter.size_greater_than = Some(5);
        filtered.expiration = Some(Expiration::Days(1));
        let mut tagged = row(1, "a", true, false, 0);
        tagged.tags = vec![Tag::new("class", "tmp"), Tag::new("x", "y")];
        let mut small = tagged.clone();
        small.id = 2;
        small.key = "b".into();
        small.size = 5;
        let untagged = row(3, "c", true, false, 0);
        assert_eq!(
            plan(&[filtered], 10, &[tagged, small, untagged]),
            vec![current("a", 1)]
        );
    }

    #[test]
    fn noncurrent_versions_expire_from_when_they_became_noncurrent() {
        let rules = [LifecycleRule {
            noncurrent_expiration: Some(NoncurrentExpiration {
                days: 1,
                newer_noncurrent_versions: None,
            }),
            ..rule("")
        }];
        // Written at 0, 10, 20, 30: the version of 10 became noncurrent at 20.
        let rows = [
            row(4, "k", true, false, 30),
            row(3, "k", false, false, 20),
            row(2, "k", false, false, 10),
            row(1, "k", false, false, 0),
        ];
        assert_eq!(plan(&rules, 21, &rows), vec![noncurrent("k", 1)]);
        assert_eq!(
            plan(&rules, 22, &rows),
            vec![noncurrent("k", 2), noncurrent("k", 1)]
        );
        assert_eq!(
            plan(&rules, 40, &rows),
            vec![noncurrent("k", 3), noncurrent("k", 2), noncurrent("k", 1)]
        );
    }

    #[test]
    fn newer_noncurrent_versions_are_kept_whatever_their_age() {
        let rules = [LifecycleRule {
            noncurrent_expiration: Some(NoncurrentExpiration {
                days: 1,
                newer_noncurrent_versions: Some(2),
            }),
            ..rule("")
        }];
        let rows = [
            row(5, "k", true, false, 40),
            row(4, "k", false, false, 30),
            row(3, "k", false, false, 20),
            row(2, "k", false, false, 10),
            row(1, "k", false, false, 0),
        ];
        assert_eq!(
            plan(&rules, 100, &rows),
            vec![noncurrent("k", 2), noncurrent("k", 1)]
        );
    }

    #[test]
    fn an_expired_current_version_leaves_the_rest_of_its_key_to_the_next_pass() {
        let rules = [LifecycleRule {
            expiration: Some(Expiration::Days(1)),
            noncurrent_expiration: Some(NoncurrentExpiration {
                days: 1,
                newer_noncurrent_versions: None,
            }),
            ..rule("")
        }];
        let rows = [row(2, "k", true, false, 10), row(1, "k", false, false, 0)];
        assert_eq!(plan(&rules, 100, &rows), vec![current("k", 2)]);
    }

    #[test]
    fn delete_markers_go_when_they_are_the_only_version() {
        let marker_rule = LifecycleRule {
            expiration: Some(Expiration::ExpiredObjectDeleteMarker(true)),
            ..rule("m/")
        };
        let rows = [
            row(1, "m/alone", true, true, 0),
            row(3, "m/with-history", true, true, 5),
            row(2, "m/with-history", false, false, 0),
            row(4, "other", true, true, 0),
        ];
        let remove = |key: &str, row| Action::RemoveDeleteMarker {
            key: key.into(),
            row,
        };
        assert_eq!(
            plan(std::slice::from_ref(&marker_rule), 0, &rows),
            vec![remove("m/alone", 1)]
        );
        // `false` does nothing.
        let off = LifecycleRule {
            expiration: Some(Expiration::ExpiredObjectDeleteMarker(false)),
            ..rule("m/")
        };
        assert_eq!(plan(&[off], 100, &rows), vec![]);
        // An Expiration by days removes markers as old as an object it would expire.
        let days = LifecycleRule {
            expiration: Some(Expiration::Days(1)),
            ..rule("")
        };
        assert_eq!(plan(std::slice::from_ref(&days), 1, &rows), vec![]);
        assert_eq!(
            plan(&[days], 2, &rows),
            vec![remove("m/alone", 1), remove("other", 4)]
        );
    }

    #[test]
    fn the_walk_may_stop_at_any_row() {
        // The planner carries a key across pages: feeding rows one by one with a
        // finish only at the end gives the same answer as all at once.
        let rules = [LifecycleRule {
            expiration: Some(Expiration::ExpiredObjectDeleteMarker(true)),
            ..rule("")
        }];
        let mut planner = Planner::new(&rules, t(0), DAY);
        let mut out = Vec::new();
        planner.push(&row(2, "a", true, true, 0), &mut out);
        assert!(out.is_empty(), "not known yet to be the only version");
        planner.push(&row(1, "a", false, false, 0), &mut out);
        planner.push(&row(3, "b", true, true, 0), &mut out);
        assert!(out.is_empty());
        planner.finish(&mut out);
        assert_eq!(
            out,
            vec![Action::RemoveDeleteMarker {
                key: "b".into(),
                row: 3
            }]
        );
    }

    #[test]
    fn prefixes_inside_others_are_walked_once() {
        let mut uploads_only = rule("u/");
        uploads_only.abort_incomplete_multipart_days = Some(1);
        let with = |p: &str| LifecycleRule {
            expiration: Some(Expiration::Days(1)),
            ..rule(p)
        };
        let rules = [with("a/b"), with("a/"), with("b"), uploads_only, with("a/")];
        assert_eq!(scan_prefixes(&rules), vec!["a/", "b"]);
        assert_eq!(scan_prefixes(&[with("x"), with("")]), vec![""]);
    }

    #[test]
    fn the_limiter_keeps_the_rate_and_saves_up_a_tenth_of_a_second() {
        let limiter = Limiter::new(100);
        let t0 = Instant::now();
        {
            let mut s = limiter.state.lock().expect("lock");
            *s = (Limiter::burst(100), t0);
        }
        // Ten tokens of burst, then one every 10 ms.
        for _ in 0..10 {
            assert_eq!(limiter.book(t0), std::time::Duration::ZERO);
        }
        let wait = limiter.book(t0);
        assert!((wait.as_secs_f64() - 0.01).abs() < 1e-9, "{wait:?}");
        let wait = limiter.book(t0);
        assert!((wait.as_secs_f64() - 0.02).abs() < 1e-9, "{wait:?}");
        // A long idle time refills the burst only.
        let later = t0 + std::time::Duration::from_secs(10);
        for _ in 0..10 {
            assert_eq!(limiter.book(later), std::time::Duration::ZERO);
        }
        assert!(!limiter.book(later).is_zero());
        assert!(Limiter::new(0).book(t0).is_zero());
    }
}
