//! Payloads for the adapters' tests: patterns in which a shifted or reordered slice is noticed,
//! messages of every length class, and the size of a frame on the wire.

use bytes::Bytes;
use wsproto::Message;

/// Bytes that differ from their neighbours, so a shifted or reordered slice is noticed.
pub fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len).map(|i| (i as u8).wrapping_mul(31) ^ (i >> 8) as u8 ^ seed).collect::<Vec<u8>>().into()
}

/// Text and binary messages of every length class of RFC 6455 §5.2 (7-bit, 16-bit and 64-bit
/// lengths and their edges), multi-byte UTF-8, and `large` bytes.
pub fn sample_messages(large: usize) -> Vec<Message> {
    let mut messages = vec![
        Message::Text("hello".into()),
        Message::Text("".into()),
        Message::Text("héllo wörld — 日本語 — 🦀🎉".into()),
        // 80,000 bytes of two-byte characters: split across reads, never inside a character.
        Message::Text("é".repeat(40_000).into()),
    ];
    for (i, len) in [0, 125, 126, 65535, 65536, large].into_iter().enumerate() {
        messages.push(Message::Binary(pattern(len, i as u8)));
    }
    messages
}

/// `Text message of 5 bytes`, for assertion messages that must not print 16 MiB.
pub fn describe(message: &Message) -> String {
    format!("{:?} message of {} bytes", message.kind(), message.as_bytes().len())
}

/// The size on the wire of a frame with `payload` bytes (RFC 6455 §5.2): 2 header bytes,
/// 2 or 8 more for the extended length, and 4 for a client's mask key.
pub fn frame_len(payload: usize, masked: bool) -> u64 {
    let extended = match payload {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    (2 + extended + if masked { 4 } else { 0 } + payload) as u64
}

/// 64 KiB chunks of a long message: chunk `k` is `k` (8 bytes, little endian) followed by a
/// window of a fixed pattern whose start depends on `k`, so a lost, repeated, reordered or
/// shifted chunk is noticed, at the cost of a `memcpy`/`memcmp` per chunk.
pub struct ChunkPattern {
    base: Vec<u8>,
}

pub const CHUNK: usize = 64 << 10;
const SHIFT: usize = 4096;

impl ChunkPattern {
    pub fn new() -> Self {
        Self { base: pattern(CHUNK + SHIFT, 0x5A).to_vec() }
    }

    fn window(&self, k: u64) -> &[u8] {
        let start = (k as usize).wrapping_mul(61) % SHIFT;
        &self.base[start + 8..start + CHUNK]
    }

    pub fn fill(&self, k: u64, chunk: &mut [u8]) {
        chunk[..8].copy_from_slice(&k.to_le_bytes());
        chunk[8..].copy_from_slice(self.window(k));
    }

    pub fn matches(&self, k: u64, chunk: &[u8]) -> bool {
        chunk[..8] == k.to_le_bytes() && chunk[8..] == *self.window(k)
    }
}
