//! A global allocator that counts the bytes the process (and each thread) holds on the heap and
//! the most it has held, so tests can show that memory follows the bytes a peer actually sent,
//! and a lock that lets a heap measurement run while no other test of its binary allocates.
//!
//! Every test of a binary that measures the heap takes [`shared`] or [`alone`] first.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

// ------------------------------------------------------------------ heap accounting

/// Counts the bytes the process holds on the heap, and the most it has held since the last
/// [`HeapProbe::start`] or [`baseline`]; install it in a binary with
/// `#[global_allocator] static ALLOCATOR: CountingAllocator = CountingAllocator;`.
pub struct CountingAllocator;

static HEAP_NOW: AtomicUsize = AtomicUsize::new(0);
static HEAP_PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// What this thread allocated minus what it freed (negative when it frees memory another
    /// thread allocated), and the most since the last [`HeapProbe::start`]. `const`-initialized
    /// `Cell`s need neither lazy initialization nor a destructor, so the allocator may use them.
    static THREAD_NOW: Cell<isize> = const { Cell::new(0) };
    static THREAD_PEAK: Cell<isize> = const { Cell::new(0) };
    /// How many allocations (and reallocations) this thread made.
    static THREAD_ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn grew(bytes: usize) {
    let _ = THREAD_ALLOCATIONS.try_with(|cell| cell.set(cell.get() + 1));
    let now = HEAP_NOW.fetch_add(bytes, Ordering::Relaxed) + bytes;
    HEAP_PEAK.fetch_max(now, Ordering::Relaxed);
    // `try_with`: a thread being torn down may still allocate.
    let _ = THREAD_NOW.try_with(|cell| {
        let now = cell.get() + bytes as isize;
        cell.set(now);
        let _ = THREAD_PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn shrank(bytes: usize) {
    HEAP_NOW.fetch_sub(bytes, Ordering::Relaxed);
    let _ = THREAD_NOW.try_with(|cell| cell.set(cell.get() - bytes as isize));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s; the counters only observe the sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Grow before shrinking, so a moving realloc's moment with both blocks counts.
            grew(new_size);
            shrank(layout.size());
        }
        new
    }
}

/// Starts a process-wide measurement: the bytes held now, from which [`peak_since`] counts.
/// Take [`alone`] first, so other tests do not count.
pub fn baseline() -> usize {
    let now = HEAP_NOW.load(Ordering::Relaxed);
    HEAP_PEAK.store(now, Ordering::Relaxed);
    now
}

/// The most the heap held above `baseline` since [`baseline`] was called.
pub fn peak_since(baseline: usize) -> usize {
    HEAP_PEAK.load(Ordering::Relaxed).saturating_sub(baseline)
}

/// The bytes held now above `baseline`.
pub fn now_above(baseline: usize) -> usize {
    HEAP_NOW.load(Ordering::Relaxed).saturating_sub(baseline)
}

/// Heap use relative to the moment the probe started: of the whole process, or of the
/// calling thread only (immune to other threads, so exact for single-threaded work).
#[derive(Clone, Copy, Debug)]
pub struct HeapProbe {
    scope: Scope,
    base: isize,
    allocations: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Process,
    Thread,
}

impl HeapProbe {
    /// Measures the whole process: take [`alone`] first, so other tests do not count.
    pub fn start() -> Self {
        let base = HEAP_NOW.load(Ordering::Relaxed);
        HEAP_PEAK.store(base, Ordering::Relaxed);
        Self { scope: Scope::Process, base: base as isize, allocations: 0 }
    }

    /// Measures what the calling thread allocates and frees, and nothing else.
    pub fn this_thread() -> Self {
        let base = THREAD_NOW.with(Cell::get);
        THREAD_PEAK.with(|peak| peak.set(base));
        Self { scope: Scope::Thread, base, allocations: THREAD_ALLOCATIONS.with(Cell::get) }
    }

    fn now_and_peak(&self) -> (isize, isize) {
        match self.scope {
            Scope::Process => {
                (HEAP_NOW.load(Ordering::Relaxed) as isize, HEAP_PEAK.load(Ordering::Relaxed) as isize)
            }
            Scope::Thread => (THREAD_NOW.with(Cell::get), THREAD_PEAK.with(Cell::get)),
        }
    }

    /// How far above the baseline the heap went at its highest.
    pub fn peak_growth(&self) -> usize {
        (self.now_and_peak().1 - self.base).max(0) as usize
    }

    /// How many allocations the calling thread made since a [`Self::this_thread`] probe
    /// started (a reallocation counts as one).
    pub fn allocations(&self) -> usize {
        assert_eq!(self.scope, Scope::Thread, "allocations are counted per thread");
        THREAD_ALLOCATIONS.with(Cell::get) - self.allocations
    }

    /// How far above the baseline the heap is now (0 if below).
    pub fn growth(&self) -> usize {
        (self.now_and_peak().0 - self.base).max(0) as usize
    }
}

// ------------------------------------------------------------------ test isolation

/// Shared by ordinary tests, taken alone by heap measurements.
static HEAP_EXCLUSIVE: RwLock<()> = RwLock::new(());

/// For a test that does not measure the heap: runs alongside the others.
pub fn shared() -> RwLockReadGuard<'static, ()> {
    HEAP_EXCLUSIVE.read().unwrap_or_else(PoisonError::into_inner)
}

/// For a test that measures the heap: no other test of the binary runs meanwhile.
pub fn alone() -> RwLockWriteGuard<'static, ()> {
    HEAP_EXCLUSIVE.write().unwrap_or_else(PoisonError::into_inner)
}

/// Bytes as MiB, for messages.
pub fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// `n` bytes in KiB with one decimal, for messages.
pub fn kib(n: usize) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}
