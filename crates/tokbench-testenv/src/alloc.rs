//! A counting global allocator for tests of allocation bounds.
//!
//! A test binary installs it with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;` and wraps
//! the code under test in [`measure`]. Counters are process-wide, so such a
//! binary should hold one test (no other test allocating alongside).

// The one unsafe block of the workspace: a GlobalAlloc must be an
// `unsafe impl`. It only forwards to `System` and counts.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static LARGEST: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting: largest request and peak of live bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

/// What [`measure`] saw while its closure ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocStats {
    /// Largest single allocation or reallocation, in bytes.
    pub largest: usize,
    /// Peak of live heap bytes above those live when measuring began.
    pub peak: usize,
}

fn grew(size: usize, old: usize) {
    LARGEST.fetch_max(size, Relaxed);
    let live = LIVE.fetch_add(size, Relaxed).wrapping_add(size);
    PEAK.fetch_max(live, Relaxed);
    LIVE.fetch_sub(old, Relaxed);
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds the GlobalAlloc contract; the counters have no effect on memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size(), 0);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size(), 0);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size, layout.size());
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` and returns its result with the largest allocation and the peak
/// of live bytes during it. All zero unless [`CountingAlloc`] is the global
/// allocator; allocations of other threads meanwhile are counted too.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, AllocStats) {
    let base = LIVE.load(Relaxed);
    LARGEST.store(0, Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    let stats = AllocStats {
        largest: LARGEST.load(Relaxed),
        peak: PEAK.load(Relaxed).saturating_sub(base),
    };
    (out, stats)
}
