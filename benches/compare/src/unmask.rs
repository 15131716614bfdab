//! Unmasking in place: each library's public unmask function on a 64-byte-aligned buffer,
//! against a memcpy of the same number of bytes. Every entry of a case works on the same
//! buffer (memcpy copies into it), so that where a buffer landed in memory (page boundaries,
//! cache sets) cannot favour one library: at 16 MiB, the same function on two buffers of its
//! own differed by up to 15 %.
//!
//! tungstenite (and so tokio-tungstenite) and tokio-websockets keep their mask functions
//! private; they are skipped. yawc's `mask` module is public but `#[doc(hidden)]`.

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
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

/// The buffer every entry of one case works on.
type Shared = Rc<RefCell<Aligned>>;

fn unmask_entry(lib: &'static str, buf: &Shared, f: fn(&mut [u8], [u8; 4])) -> Entry {
    let buf = Rc::clone(buf);
    let len = buf.borrow().len;
    let run = Box::new(move |iters: u64| {
        let mut buf = buf.borrow_mut();
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

fn memcpy_entry(dst: &Shared) -> Entry {
    let dst = Rc::clone(dst);
    let mut src = Aligned::new(dst.borrow().len);
    Entry::new(
        MEMCPY,
        Box::new(move |iters: u64| -> Duration {
            let mut dst = dst.borrow_mut();
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
        .map(|(len, label)| {
            let buf = Rc::new(RefCell::new(Aligned::new(len)));
            Case {
                group: "Unmask in place (GB/s of payload)",
                name: format!("unmask {label}"),
                unit: Unit::Bytes(len as u64),
                wire_bytes: len as u64,
                entries: vec![
                    memcpy_entry(&buf),
                    unmask_entry("wsproto", &buf, wsproto_unmask),
                    unmask_entry("fastwebsockets", &buf, fastwebsockets_unmask),
                    unmask_entry("sockudo-ws", &buf, sockudo_unmask),
                    unmask_entry("yawc", &buf, yawc_unmask),
                ],
                skipped: vec![
                    ("tungstenite", "mask function is private".into()),
                    ("tokio-websockets", "mask function is private".into()),
                ],
            }
        })
        .collect()
}
