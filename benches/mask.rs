//! Masking throughput: `apply_mask` against the byte loop and against a plain memcpy of the
//! same size (the bar: at least 0.95x memcpy from 1 KiB up), and `copy_masked`.
//!
//! `cargo bench --bench mask` (about 40 s); add `-- --quick` for a rough pass.
//!
//! Up to 4 KiB each iteration works on the next of 8 buffers (all in L1), as a receiver does:
//! it unmasks a payload once, not the same bytes again and again. Re-masking the bytes it has
//! just written makes every iteration wait for its own previous stores (the store buffer
//! cannot forward to loads that straddle two stores), which no real caller does; the
//! `apply_mask_same_buffer` rows show that case. From 64 KiB up there is one buffer.
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto::mask::{apply_mask, apply_mask_scalar, copy_masked};

const SIZES: [usize; 6] = [16, 125, 1 << 10, 64 << 10, 1 << 20, 16 << 20];
const KEY: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

fn label(size: usize) -> String {
    match size {
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

/// Destination buffers: 8 for small sizes, 1 from 64 KiB up; each iteration takes the next.
struct Buffers {
    bufs: Vec<Vec<u8>>,
    next: usize,
}

/// A power of two, so that taking the next buffer costs an AND, not a division.
const SMALL_BUFFERS: usize = 8;

impl Buffers {
    fn new(size: usize) -> Self {
        let count = if size <= 4 << 10 { SMALL_BUFFERS } else { 1 };
        let bufs = (0..count).map(|i| vec![i as u8; size]).collect();
        Self { bufs, next: 0 }
    }

    fn next(&mut self) -> &mut [u8] {
        self.next = (self.next + 1) & (self.bufs.len() - 1);
        &mut self.bufs[self.next]
    }
}

fn mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    group.sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    for size in SIZES {
        let id = |name| BenchmarkId::new(name, label(size));
        group.throughput(Throughput::Bytes(size as u64));
        let mut bufs = Buffers::new(size);
        let src = vec![0xA5u8; size];
        group.bench_function(id("memcpy"), |b| {
            b.iter(|| black_box(bufs.next()).copy_from_slice(black_box(&src)))
        });
        group.bench_function(id("apply_mask"), |b| {
            b.iter(|| apply_mask(black_box(bufs.next()), black_box(KEY), black_box(1)))
        });
        if size <= 4 << 10 {
            let mut same = vec![0x5Au8; size];
            group.bench_function(id("apply_mask_same_buffer"), |b| {
                b.iter(|| apply_mask(black_box(&mut same), black_box(KEY), black_box(1)))
            });
        }
        // The byte loop is slow: skip it where it would dominate the run time.
        if size <= 1 << 20 {
            group.bench_function(id("apply_mask_scalar"), |b| {
                b.iter(|| apply_mask_scalar(black_box(bufs.next()), black_box(KEY), black_box(1)))
            });
        }
        let mut out = Vec::with_capacity(size);
        group.bench_function(id("copy_masked"), |b| {
            b.iter(|| {
                out.clear();
                copy_masked(black_box(&mut out), black_box(&src), black_box(KEY), 1);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, mask);
criterion_main!(benches);
