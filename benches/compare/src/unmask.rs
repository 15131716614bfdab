//! Unmasking in place: each library's public unmask function on a 64-byte-aligned buffer,
//! against a memcpy of the same number of bytes.
//!
//! tungstenite (and so tokio-tungstenite) and tokio-websockets keep their mask functions
//! private; they are skipped. yawc's `mask` module is public but `#[doc(hidden)]`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::bench::{Case, Entry, MEMCPY, Unit, VerifyFn};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A 64-byte-aligned buffer of `len` bytes.
struct Aligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(len: usize) -> Self {
        let storage: Vec<u8> = (0..len + 64).map(|i| (i * 13) as u8).collect();
        let start = storage.as_ptr().align_offset(64);
        Self { storage, start, len }
    }
    fn get(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

fn unmask_entry(lib: &'static str, len: usize, f: fn(&mut [u8], [u8; 4])) -> Entry {
    let mut buf = Aligned::new(len);
    let run = Box::new(move |iters: u64| {
        let t = Instant::now();
        for _ in 0..iters {
            f(black_box(buf.get()), black_box(KEY));
        }
        t.elapsed()
    });
    let verify: VerifyFn = Box::new(move || {
        let mut a = Aligned::new(len);
        let expected: Vec<u8> = a.get().iter().enumerate().map(|(i, b)| b ^ KEY[i & 3]).collect();
        f(a.get(), KEY);
        if a.get() == &expected[..] { Ok(()) } else { Err("wrong output".into()) }
    });
    Entry::verified(lib, run, verify)
}

fn memcpy_entry(len: usize) -> Entry {
    let mut src = Aligned::new(len);
    let mut dst = Aligned::new(len);
    Entry::new(
        MEMCPY,
        Box::new(move |iters: u64| -> Duration {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(dst.get()).copy_from_slice(black_box(src.get()));
            }
            t.elapsed()
        }),
    )
}

fn wsproto_unmask(buf: &mut [u8], key: [u8; 4]) {
    wsproto::mask::apply_mask(buf, key, 0);
}

fn fastwebsockets_unmask(buf: &mut [u8], key: [u8; 4]) {
    fastwebsockets::unmask(buf, key);
}

fn sockudo_unmask(buf: &mut [u8], key: [u8; 4]) {
    sockudo_ws::mask::apply_mask(buf, key);
}

fn yawc_unmask(buf: &mut [u8], key: [u8; 4]) {
    yawc::mask::apply_mask(buf, key);
}

pub fn cases() -> Vec<Case> {
    let sizes: [(usize, &str); 5] =
        [(16, "16 B"), (1 << 10, "1 KiB"), (64 << 10, "64 KiB"), (1 << 20, "1 MiB"), (16 << 20, "16 MiB")];
    sizes
        .into_iter()
        .map(|(len, label)| Case {
            group: "Unmask in place (GB/s of payload)",
            name: format!("unmask {label}"),
            unit: Unit::Bytes(len as u64),
            wire_bytes: len as u64,
            entries: vec![
                memcpy_entry(len),
                unmask_entry("wsproto", len, wsproto_unmask),
                unmask_entry("fastwebsockets", len, fastwebsockets_unmask),
                unmask_entry("sockudo-ws", len, sockudo_unmask),
                unmask_entry("yawc", len, yawc_unmask),
            ],
            skipped: vec![
                ("tungstenite", "mask function is private".into()),
                ("tokio-websockets", "mask function is private".into()),
            ],
        })
        .collect()
}
