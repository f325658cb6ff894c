//! The runtime a `no_std` module needs and `std` would otherwise provide:
//! a global allocator and a panic handler. Only compiled for wasm32 without
//! the `std` feature.
//!
//! It also exports `cabi_realloc`, the function the host calls to allocate
//! the call's arguments in the module's memory, which `std` exports on
//! `wasm32-wasip2`.
//!
//! Each decision runs in a fresh instance, so the allocator starts empty
//! every time: allocations come from a static arena first (no memory growth),
//! then from dlmalloc, the allocator Rust's own `std` uses on wasm.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::{Cell, UnsafeCell};

/// Size of the arena allocations are carved from before dlmalloc is asked.
/// It lives in the module's static data, so it is part of the initial linear
/// memory: a decision that fits never grows memory. That matters because the
/// host resets a grown memory with `mprotect`, whose TLB shootdown costs more
/// than the rest of a decision. Untouched arena pages cost nothing (they are
/// never faulted in, and the host resets only pages decisions touched).
const ARENA_BYTES: usize = 256 << 10;

/// A bump arena, then dlmalloc. Each decision runs in a fresh instance, so
/// the arena never needs to reclaim more than the last allocation.
struct ArenaThenDlmalloc {
    arena: UnsafeCell<[u8; ARENA_BYTES]>,
    /// Offset of the first free arena byte.
    next: Cell<usize>,
}

// SAFETY: wasm32 modules run on one thread; nothing here is shared across
// threads.
#[allow(unsafe_code)]
unsafe impl Sync for ArenaThenDlmalloc {}

impl ArenaThenDlmalloc {
    fn base(&self) -> usize {
        self.arena.get() as usize
    }

    fn in_arena(&self, ptr: *mut u8) -> bool {
        let p = ptr as usize;
        p >= self.base() && p < self.base() + ARENA_BYTES
    }

    /// Whether `ptr`..`ptr + size` is the arena's last allocation.
    fn is_last(&self, ptr: *mut u8, size: usize) -> bool {
        ptr as usize + size == self.base() + self.next.get()
    }
}

#[allow(unsafe_code)]
unsafe impl GlobalAlloc for ArenaThenDlmalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let start = (self.base() + self.next.get()).next_multiple_of(layout.align());
        let end = start + layout.size();
        if end <= self.base() + ARENA_BYTES {
            self.next.set(end - self.base());
            return start as *mut u8;
        }
        // SAFETY: the caller's contract for `layout` is passed on.
        unsafe { dlmalloc::GlobalDlmalloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.in_arena(ptr) {
            if self.is_last(ptr, layout.size()) {
                self.next.set(ptr as usize - self.base());
            }
        } else {
            // SAFETY: `ptr` came from dlmalloc with `layout`.
            unsafe { dlmalloc::GlobalDlmalloc.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.in_arena(ptr) {
            // The last allocation grows or shrinks in place when it fits.
            let end = ptr as usize + new_size;
            if self.is_last(ptr, layout.size()) && end <= self.base() + ARENA_BYTES {
                self.next.set(end - self.base());
                return ptr;
            }
            if new_size <= layout.size() {
                return ptr;
            }
            // SAFETY: as `GlobalAlloc::realloc`'s default: allocate, copy the
            // old contents, free the old block.
            unsafe {
                let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
                    return core::ptr::null_mut();
                };
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    core::ptr::copy_nonoverlapping(ptr, new, layout.size());
                    self.dealloc(ptr, layout);
                }
                new
            }
        } else {
            // SAFETY: `ptr` came from dlmalloc with `layout`.
            unsafe { dlmalloc::GlobalDlmalloc.realloc(ptr, layout, new_size) }
        }
    }
}

#[global_allocator]
static ALLOCATOR: ArenaThenDlmalloc = ArenaThenDlmalloc {
    arena: UnsafeCell::new([0; ARENA_BYTES]),
    next: Cell::new(0),
};

/// Logs the panic message at error level with the `log-panics` feature (so
/// `coffer policy eval` and the server log show why) and traps: the decision
/// fails closed.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    #[cfg(feature = "log-panics")]
    crate::log(crate::Level::Error, &alloc::format!("{info}"));
    #[cfg(not(feature = "log-panics"))]
    let _ = info;
    core::arch::wasm32::unreachable()
}

// `memcmp`, `memcpy` and friends: `core` calls them and, on `wasm32-wasip2`,
// `std` would link them from wasi-libc (shipped with the target, and pure
// functions: linking them adds no WASI imports).
// An empty block: it declares nothing to call, only the library to link.
#[allow(unsafe_code)]
#[link(name = "c")]
unsafe extern "C" {}

/// The canonical ABI's allocation function (`realloc` in the component
/// model's terms): a fresh allocation when `old_len` is 0, else a resize.
/// Out of memory traps (the decision fails closed).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    use alloc::alloc::{Layout, alloc, realloc};
    if new_len == 0 {
        // A dangling, aligned pointer: the host writes nothing there.
        return align as *mut u8;
    }
    let Ok(layout) = Layout::from_size_align(old_len.max(new_len), align) else {
        core::arch::wasm32::unreachable()
    };
    // SAFETY: the host passes the pointer, size and alignment of an earlier
    // allocation (or a zero size for a new one), as the canonical ABI requires;
    // sizes are non-zero here.
    let ptr = unsafe {
        if old_len == 0 {
            alloc(layout)
        } else {
            realloc(
                old_ptr,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if ptr.is_null() {
        core::arch::wasm32::unreachable()
    }
    ptr
}
