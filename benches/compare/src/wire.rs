//! Library-independent wire helpers: the test inputs (client-masked frames, mixed UTF-8 text),
//! an in-memory byte stream every library reads from and writes to, and a checker that
//! decodes what an encoder produced.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most bytes one read hands out, for every library alike: a socket read of what has
/// already arrived.
pub const READ_CAP: usize = 64 << 10;

/// A small deterministic generator (xorshift64*), for mask keys and text.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn key(&mut self) -> [u8; 4] {
        let k = (self.next_u64() >> 16) as u32 | 0x0101_0101;
        k.to_be_bytes()
    }
}

/// Appends one frame; masked with `key` when given (a client's frame).
pub fn push_frame(out: &mut Vec<u8>, fin: bool, opcode: u8, payload: &[u8], key: Option<[u8; 4]>) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xffff {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match key {
        None => out.extend_from_slice(payload),
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
        }
    }
}

/// `count` client-masked binary messages of `size` bytes, each with its own key.
pub fn binary_messages(count: usize, size: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut wire = Vec::new();
    let mut messages = Vec::with_capacity(count);
    for i in 0..count {
        let payload: Vec<u8> = (0..size).map(|j| (i * 31 + j * 7) as u8).collect();
        push_frame(&mut wire, true, 2, &payload, Some(rng.key()));
        messages.push(payload);
    }
    (wire, messages)
}

/// About `len` bytes of prose-like text in which ~40 % of the bytes belong to multi-byte
/// characters: space-separated words, each in one script (ASCII, accented Latin, Cyrillic,
/// CJK, the odd emoji), deterministic.
pub fn mixed_text(len: usize) -> String {
    const CYRILLIC: &str = "абвгдежзиклмнопрстуфхцчшыэюя";
    const CJK: &str = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年";
    const ACCENTED: &str = "éèàçôüñ";
    let pick = |rng: &mut XorShift, set: &str| {
        let chars: Vec<char> = set.chars().collect();
        chars[(rng.next_u64() % chars.len() as u64) as usize]
    };
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let mut s = String::with_capacity(len + 64);
    while s.len() < len {
        let n = 2 + (rng.next_u64() % 7) as usize;
        match rng.next_u64() % 20 {
            0..=10 => (0..n).for_each(|_| s.push((b'a' + (rng.next_u64() % 26) as u8) as char)),
            11..=12 => (0..n).for_each(|i| {
                let c = if i == 1 {
                    pick(&mut rng, ACCENTED)
                } else {
                    (b'a' + (rng.next_u64() % 26) as u8) as char
                };
                s.push(c)
            }),
            13..=16 => (0..n).for_each(|_| s.push(pick(&mut rng, CYRILLIC))),
            17..=18 => (0..n / 2).for_each(|_| s.push(pick(&mut rng, CJK))),
            _ => s.push('😀'),
        }
        s.push(' ');
    }
    while s.len() > len {
        s.pop();
    }
    s
}

/// One text message split into `fragments` frames at arbitrary byte offsets (so fragments
/// end in the middle of characters), client-masked.
pub fn fragmented_text(text: &str, fragments: usize) -> Vec<u8> {
    let bytes = text.as_bytes();
    let piece = bytes.len().div_ceil(fragments);
    let mut rng = XorShift(0x0bad_cafe_dead_beef);
    let mut wire = Vec::with_capacity(bytes.len() + fragments * 14);
    for (i, chunk) in bytes.chunks(piece).enumerate() {
        let opcode = if i == 0 { 1 } else { 0 };
        push_frame(&mut wire, i + 1 == fragments, opcode, chunk, Some(rng.key()));
    }
    wire
}

/// A running digest of decoded messages: count, bytes, and (when `deep`) an FNV-1a hash of
/// every payload byte with the message boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest {
    pub messages: u64,
    pub bytes: u64,
    pub text: u64,
    pub hash: u64,
}

impl Digest {
    pub fn new() -> Self {
        Self { messages: 0, bytes: 0, text: 0, hash: 0xcbf2_9ce4_8422_2325 }
    }

    /// Counts a message; hashes its bytes only when `deep` (verification, not timing).
    #[inline]
    pub fn add(&mut self, deep: bool, text: bool, payload: &[u8]) {
        self.messages += 1;
        self.bytes += payload.len() as u64;
        self.text += u64::from(text);
        if deep {
            for &b in payload {
                self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
            self.hash = (self.hash ^ 0xff).wrapping_mul(0x100_0000_01b3);
        }
    }

    /// The digest of `messages`, hashed.
    pub fn of<'a>(text: bool, messages: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut d = Self::new();
        for m in messages {
            d.add(true, text, m);
        }
        d
    }
}

/// Decodes a client's output (masked frames, whole messages only) into its payloads; errors
/// on anything a server would reject.
pub fn decode_client_output(mut wire: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, String> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        if wire.len() < 2 {
            return Err("truncated header".into());
        }
        let (b0, b1) = (wire[0], wire[1]);
        if b0 & 0x80 == 0 || b0 & 0x70 != 0 {
            return Err(format!("unexpected first byte {b0:#x} (fragmented or RSV set)"));
        }
        if b1 & 0x80 == 0 {
            return Err("client frame not masked".into());
        }
        let (len, mut at) = match b1 & 0x7f {
            126 => (u16::from_be_bytes([wire[2], wire[3]]) as usize, 4),
            127 => (u64::from_be_bytes(wire[2..10].try_into().unwrap()) as usize, 10),
            n => (n as usize, 2),
        };
        let key: [u8; 4] = wire[at..at + 4].try_into().unwrap();
        at += 4;
        if wire.len() < at + len {
            return Err("truncated payload".into());
        }
        let payload = wire[at..at + len].iter().enumerate().map(|(i, b)| b ^ key[i & 3]).collect();
        out.push((b0 & 0x0f, payload));
        wire = &wire[at + len..];
    }
    Ok(out)
}

/// An in-memory transport. Reads hand out the `input` bytes over and over (it holds whole
/// frames, so the repetition is a valid stream), at most [`READ_CAP`] per call; writes are
/// appended to `output` (or counted and dropped when `keep` is false).
pub struct MemIo {
    input: &'static [u8],
    pos: usize,
    pub output: Vec<u8>,
    keep: bool,
    /// Where writes go instead of `output`, for a library that never hands its stream back.
    shared: Option<Rc<RefCell<Vec<u8>>>>,
    pub written: u64,
}

impl MemIo {
    /// A source that repeats `input` forever; writes are dropped.
    pub fn reader(input: &'static [u8]) -> Self {
        Self { input, pos: 0, output: Vec::new(), keep: false, shared: None, written: 0 }
    }

    /// A sink that keeps everything written.
    pub fn writer(output: Vec<u8>) -> Self {
        Self { input: &[], pos: 0, output, keep: true, shared: None, written: 0 }
    }

    /// A sink whose output stays reachable through `shared` after the stream is gone.
    pub fn shared_writer(shared: Rc<RefCell<Vec<u8>>>) -> Self {
        Self { input: &[], pos: 0, output: Vec::new(), keep: true, shared: Some(shared), written: 0 }
    }

    /// Copies the next bytes of the input into `dst`: what a `read(2)` would do.
    #[inline]
    pub fn read_into(&mut self, dst: &mut [u8]) -> usize {
        if self.input.is_empty() {
            return 0;
        }
        let n = dst.len().min(READ_CAP).min(self.input.len() - self.pos);
        dst[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.input.len() {
            self.pos = 0;
        }
        n
    }

    /// A read of at most `max` bytes into `dst`'s spare capacity (uninitialised memory, as
    /// tokio's `ReadBuf` allows), never more than that capacity (as tokio-util's
    /// `poll_read_buf`); returns how many were written.
    pub fn read_into_buf(&mut self, dst: &mut impl bytes::BufMut, max: usize) -> usize {
        let room = dst.chunk_mut().len();
        let chunk = self.next_chunk(max.min(room));
        dst.put_slice(chunk);
        chunk.len()
    }

    /// The next slice of input a read would hand out (the caller copies it itself).
    #[inline]
    pub fn next_chunk(&mut self, max: usize) -> &'static [u8] {
        if self.input.is_empty() {
            return &[];
        }
        let n = max.min(READ_CAP).min(self.input.len() - self.pos);
        let chunk = &self.input[self.pos..self.pos + n];
        self.pos += n;
        if self.pos == self.input.len() {
            self.pos = 0;
        }
        chunk
    }

    #[inline]
    pub fn write_bytes(&mut self, buf: &[u8]) {
        self.written += buf.len() as u64;
        if let Some(shared) = &self.shared {
            shared.borrow_mut().extend_from_slice(buf);
        } else if self.keep {
            self.output.extend_from_slice(buf);
        }
    }
}

impl io::Read for MemIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_into(buf))
    }
}

impl io::Write for MemIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_bytes(buf);
        Ok(buf.len())
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut n = 0;
        for b in bufs {
            self.write_bytes(b);
            n += b.len();
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for MemIo {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        // Straight into the caller's (possibly uninitialised) spare capacity, as a socket
        // read does: zero-filling it first (`initialize_unfilled`) would add a pass over the
        // whole spare capacity on every read.
        let this = self.get_mut();
        let chunk = this.next_chunk(buf.remaining());
        buf.put_slice(chunk);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MemIo {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut n = 0;
        for b in bufs {
            this.write_bytes(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
