//! UTF-8 validation throughput on 1 MiB of text with ~40% of its bytes in multi-byte
//! characters: the incremental validator whole and in pieces, against `simdutf8` and std.
//!
//! `cargo bench --bench utf8`; add `-- --quick` for a rough pass.
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wsproto::utf8::Utf8Validator;

/// About 1 MiB of mixed-script text: ASCII words with Greek, accented Latin, CJK and emoji.
fn text() -> Vec<u8> {
    const WORDS: &str = "the quick brown fox κόσμε café naïve 日本語 😀 jumps Ωμέγα €42 over lazy dogs";
    let words: Vec<&str> = WORDS.split(' ').collect();
    let mut text = String::with_capacity(1 << 20);
    let mut state = 0x2545_F491_u32;
    while text.len() < 1 << 20 {
        // xorshift: a fixed, non-periodic word order.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        text.push_str(words[state as usize % words.len()]);
        text.push(' ');
    }
    let mut end = 1 << 20;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.into_bytes()
}

fn validate_in_pieces(bytes: &[u8], piece: usize) -> bool {
    let mut v = Utf8Validator::new();
    bytes.chunks(piece).all(|p| v.feed(p).is_ok()) && v.finish().is_ok()
}

fn utf8(c: &mut Criterion) {
    let text = text();
    let multi = text.iter().filter(|&&b| b >= 0x80).count();
    eprintln!(
        "utf8 bench input: {} bytes, {:.0}% in multi-byte characters",
        text.len(),
        100.0 * multi as f64 / text.len() as f64
    );
    let mut group = c.benchmark_group("utf8 1 MiB");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("validator, 1 piece", |b| {
        b.iter(|| assert!(validate_in_pieces(black_box(&text), usize::MAX)))
    });
    let piece = text.len().div_ceil(64);
    group.bench_function("validator, 64 pieces", |b| {
        b.iter(|| assert!(validate_in_pieces(black_box(&text), piece)))
    });
    group.bench_function("validator, 1500-byte pieces", |b| {
        b.iter(|| assert!(validate_in_pieces(black_box(&text), 1500)))
    });
    group.bench_function("simdutf8::basic::from_utf8", |b| {
        b.iter(|| assert!(simdutf8::basic::from_utf8(black_box(&text)).is_ok()))
    });
    group.bench_function("std::str::from_utf8", |b| {
        b.iter(|| assert!(std::str::from_utf8(black_box(&text)).is_ok()))
    });
    group.finish();
}

criterion_group!(benches, utf8);
criterion_main!(benches);
