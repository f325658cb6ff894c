//! The limits every decision runs under (documented for module authors in
//! `guest-sdk/wit/LIMITS.md`), and how they map onto wasmtime: an epoch
//! ticker checking a CPU-time deadline (`policy::deadline`), a [`ResourceLimiter`] per store, and the pooling allocator's slot
//! sizes.

use std::time::Duration;

use wasmtime::{PoolingAllocationConfig, ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// The limits enforced on every decision. One set per engine (so per
/// server); `coffer serve` exposes the deadline and memory as flags.
#[derive(Debug, Clone)]
pub struct Limits {
    /// CPU time a decision may use, checked at every epoch tick (see
    /// `policy::deadline`); a decision is also interrupted after 20 times
    /// this in wall-clock time.
    pub deadline: Duration,
    /// Epoch tick interval: the deadline's granularity. A decision is
    /// interrupted after using between `deadline - tick` and `deadline + tick`
    /// (see `policy::deadline`).
    /// [`Limits::with_deadline`] derives it from the deadline.
    pub tick: Duration,
    /// Maximum linear memory per memory, in bytes. Each pooled memory slot
    /// reserves more address space than this (`MEMORY_RESERVATION`).
    pub memory_bytes: usize,
    /// Maximum elements per table.
    pub table_elements: usize,
    /// Maximum core instances per component (a Rust component built for
    /// `wasm32-wasip2` has several: the module, shims and fix-ups).
    pub instances: usize,
    /// Maximum linear memories per component.
    pub memories: usize,
    /// Maximum tables per component.
    pub tables: usize,
    /// Maximum component size at load.
    pub component_bytes: usize,
    /// Maximum estimated canonical-ABI size of one call's arguments.
    pub input_bytes: usize,
    /// Longer deny reasons and metadata error messages are truncated to this
    /// many bytes.
    pub reason_bytes: usize,
    /// Maximum `log` calls per decision; later calls are dropped.
    pub log_calls: usize,
    /// Maximum total `log` bytes per decision; longer messages are truncated,
    /// later ones dropped.
    pub log_bytes: usize,
    /// Decisions that can run at the same time (pooled instance slots). One
    /// more fails with [`Error::Unavailable`](super::Error::Unavailable)
    /// instead of waiting.
    pub concurrent_decisions: u32,
    /// Bytes of `authorize` answers kept for reuse on identical inputs
    /// (`policy::decision_cache`); 0 evaluates every request.
    pub decision_cache_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let deadline = Duration::from_millis(10);
        Self {
            deadline,
            tick: tick_for(deadline),
            memory_bytes: 16 << 20,
            table_elements: 10_000,
            instances: 16,
            memories: 2,
            tables: 8,
            component_bytes: 8 << 20,
            input_bytes: 64 << 10,
            reason_bytes: 1 << 10,
            log_calls: 32,
            log_bytes: 8 << 10,
            concurrent_decisions: 256,
            decision_cache_bytes: 32 << 20,
        }
    }
}

/// The epoch tick for `deadline`: half of it (so a decision is stopped after
/// using 50-150% of its deadline, 100-150% unless its thread waited for a core
/// as it started), at most [`MAX_TICK`] and at least [`MIN_TICK`].
fn tick_for(deadline: Duration) -> Duration {
    (deadline / 2).clamp(MIN_TICK, MAX_TICK)
}

/// The longest tick. Every tick wakes the ticker thread while decisions run,
/// which costs a two-core VM about 40 us of CPU (a 1 ms tick cost about 4% of
/// a core under load) and slows the decision it lands in (`policy::deadline`).
const MAX_TICK: Duration = Duration::from_millis(5);

/// The shortest tick, whatever the deadline.
const MIN_TICK: Duration = Duration::from_micros(100);

/// Bytes of a linear memory slot left mapped (and reset in place) between
/// decisions rather than returned to the kernel: a decision dirties a few
/// pages (its stack top and a small heap), and re-faulting them costs more
/// than resetting them. 2 MiB covers a Rust module's 1 MiB default stack
/// (`--stack-first`, so its top is at 1 MiB) and its first heap pages.
const MEMORY_KEEP_RESIDENT: usize = 2 << 20;

/// Bytes of each table slot reset in place rather than returned to the
/// kernel (the same trade-off for tables).
const TABLE_KEEP_RESIDENT: usize = 16 << 10;

/// Virtual address space reserved for each linear memory slot: all of a
/// 32-bit memory's index space, whatever the memory limit. With
/// [`MEMORY_GUARD`] after it, any address a load or store can form (a 32-bit
/// index plus a static offset below 2 GiB) lands in the slot or its guard,
/// so compiled guest code needs no bounds check on memory accesses: an
/// access past the memory's current size faults in unmapped pages and traps.
/// A bucket policy's reader is mostly loads; the checks cost ~2 us of a
/// 16.7 us decision (`coffer bench --scenario decision --bucket-policy
/// scripts/bench-bucket-policy.json`: p50 14.8 us, against 16.7 us with the
/// 16 MiB slots and 2 MiB guard used before).
///
/// It costs address space, not memory: 6 GiB per slot, 3 TiB for 256
/// concurrent decisions of two memories, of x86-64's 128 TiB; only the pages
/// a decision touches are ever backed. The memory limit is still
/// [`Limits::memory_bytes`], enforced by the pool and the store's limiter.
const MEMORY_RESERVATION: u64 = 4 << 30;

/// Bytes of address space after each memory slot, never mapped: covers the
/// static offsets of loads and stores (see [`MEMORY_RESERVATION`]).
const MEMORY_GUARD: u64 = 2 << 30;

/// Room for one core instance's or component instance's VM context. The
/// default module needs a few KiB; the wasmtime default (1 MiB) would reserve
/// gigabytes of address space for thousands of slots.
const INSTANCE_SIZE: usize = 256 << 10;

impl Limits {
    /// These limits with `deadline`, and the tick that goes with it.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self.tick = tick_for(deadline);
        self
    }

    /// The linear memory limit rounded up to whole 64 KiB wasm pages.
    pub(crate) fn memory_slot_bytes(&self) -> u64 {
        (self.memory_bytes as u64).div_ceil(1 << 16).max(1) << 16
    }

    /// The pooling allocator sized for [`Limits::concurrent_decisions`]
    /// components of at most these limits.
    pub(crate) fn pooling(&self) -> PoolingAllocationConfig {
        let n = self.concurrent_decisions.max(1);
        let per = |x: usize| u32::try_from(x).unwrap_or(u32::MAX).max(1);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(per(self.instances)))
            .total_memories(n.saturating_mul(per(self.memories)))
            .total_tables(n.saturating_mul(per(self.tables)))
            .max_core_instances_per_component(per(self.instances))
            .max_memories_per_component(per(self.memories))
            .max_tables_per_component(per(self.tables))
            .max_memories_per_module(1)
            .max_tables_per_module(per(self.tables))
            .max_memory_size(usize::try_from(self.memory_slot_bytes()).unwrap_or(usize::MAX))
            .table_elements(self.table_elements)
            .max_core_instance_size(INSTANCE_SIZE)
            .max_component_instance_size(INSTANCE_SIZE)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            // Where the kernel supports it, only the pages a decision dirtied
            // are reset (one PAGEMAP_SCAN ioctl), not all of the resident bytes.
            .pagemap_scan(wasmtime::Enabled::Auto);
        pool
    }

    /// Virtual address space reserved per linear memory slot.
    pub(crate) fn memory_reservation(&self) -> u64 {
        self.memory_slot_bytes().max(MEMORY_RESERVATION)
    }

    /// Guard region after each linear memory slot.
    pub(crate) fn memory_guard(&self) -> u64 {
        MEMORY_GUARD
    }

    /// A fresh per-store limiter.
    pub(crate) fn limiter(&self) -> Limiter {
        Limiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(self.memory_bytes)
                .table_elements(self.table_elements)
                .instances(self.instances)
                .tables(self.tables)
                .memories(self.memories)
                .build(),
            memory_refused: false,
        }
    }
}

/// Per-store limiter: [`StoreLimits`] plus a note of whether memory growth
/// was refused, to tell memory exhaustion from other traps (a refused
/// `memory.grow` returns -1; a Rust guest then aborts, which is a trap).
pub(crate) struct Limiter {
    inner: StoreLimits,
    pub(crate) memory_refused: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum);
        if !matches!(ok, Ok(true)) {
            self.memory_refused = true;
        }
        ok
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // The pool's slot size backs up the limiter; either way it is the
        // memory limit that was hit.
        self.memory_refused = true;
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tick_is_half_the_deadline_within_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(Limits::default().tick, ms(5));
        assert_eq!(Limits::default().with_deadline(ms(4)).tick, ms(2));
        assert_eq!(Limits::default().with_deadline(ms(100)).tick, MAX_TICK);
        assert_eq!(Limits::default().with_deadline(ms(0)).tick, MIN_TICK);
    }

    #[test]
    fn memory_slots_are_whole_pages() {
        let mut l = Limits::default();
        assert_eq!(l.memory_slot_bytes(), 16 << 20);
        l.memory_bytes = 100_000;
        assert_eq!(l.memory_slot_bytes(), 2 << 16);
    }
}
