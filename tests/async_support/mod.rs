//! Support for the async adapters' tests (tokio and futures-io): payload patterns, a counting
//! allocator, a thread-backed future for raw peers, and a raw peer that speaks the opening
//! handshake and frames by hand over blocking std sockets, written independently of the crate
//! so tests can misbehave on purpose (never read, never answer a ping, pace their writes).
//!
//! Raw peers run on plain threads, so they work the same under every runtime; the async side
//! awaits them with [`spawn_thread`], which never blocks an executor thread.
#![allow(dead_code)]

pub mod heap;
pub mod sinks;
#[cfg(feature = "rustls")]
pub mod tls;

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use wsproto::Message;

/// The `Sec-WebSocket-Key` of RFC 6455 §1.3 and the accept value that belongs to it.
pub const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// How late a timer may fire on a loaded machine and still pass.
pub const SLACK: Duration = Duration::from_millis(700);

// ------------------------------------------------------------------ payloads

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

// ------------------------------------------------------------------ threads as futures

/// The result of a closure running on its own thread, as a future: awaiting it never blocks
/// the executor, and a panic on the thread is re-raised in the awaiting task.
pub struct Joined<T> {
    shared: Arc<Mutex<JoinState<T>>>,
}

struct JoinState<T> {
    result: Option<thread::Result<T>>,
    waker: Option<Waker>,
}

/// Runs `body` on a new thread; await the returned [`Joined`] for its result.
pub fn spawn_thread<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> Joined<T> {
    let shared = Arc::new(Mutex::new(JoinState { result: None, waker: None }));
    let state = shared.clone();
    thread::Builder::new()
        .name("raw peer".into())
        .spawn(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(body));
            let mut state = state.lock().unwrap();
            state.result = Some(result);
            if let Some(waker) = state.waker.take() {
                waker.wake();
            }
        })
        .expect("spawn a raw peer thread");
    Joined { shared }
}

impl<T> Future for Joined<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.shared.lock().unwrap();
        match state.result.take() {
            Some(Ok(value)) => Poll::Ready(value),
            Some(Err(panic)) => panic::resume_unwind(panic),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

// ------------------------------------------------------------------ a raw peer

/// A listener on an ephemeral loopback port, and its address (for raw servers).
pub fn std_loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("listener address");
    (listener, addr)
}

/// `ws://ADDR/PATH`.
pub fn ws_url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// Reads an HTTP head up to and including the blank line; returns it and any bytes after it.
pub fn read_head(stream: &mut TcpStream) -> io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            let head = String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            return Ok((head, rest));
        }
        match stream.read(&mut chunk)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The value of header `name` (any case) in an HTTP head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A raw client: connects, sends a valid upgrade request for `/ws` with the RFC's example
/// key, and checks the 101 response. Returns the stream (reads time out after 5 s) and the
/// bytes that followed the response.
pub fn raw_client(addr: SocketAddr) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("raw client connects");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let (head, rest) = read_head(&mut stream).expect("a response head");
    assert!(head.starts_with("HTTP/1.1 101 "), "not a 101 response: {head}");
    assert_eq!(header(&head, "Sec-WebSocket-Accept"), Some(RFC_ACCEPT));
    (stream, rest)
}

/// A raw server: accepts one connection, reads the upgrade request and answers 101.
pub fn raw_server_accept(listener: &TcpListener) -> TcpStream {
    let (mut stream, _) = listener.accept().expect("raw server accepts");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (head, _) = read_head(&mut stream).expect("a request head");
    let key = header(&head, "Sec-WebSocket-Key").expect("a Sec-WebSocket-Key");
    let accept = wsproto::handshake::accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).unwrap();
    stream
}

/// Reads until the peer's end of stream (or the read timeout, which fails the test).
pub fn read_to_eof(stream: &mut TcpStream, mut bytes: Vec<u8>) -> Vec<u8> {
    stream.read_to_end(&mut bytes).expect("the peer ends the stream before the read timeout");
    bytes
}

/// One frame with FIN set, masked with `mask` (a client's) or not (a server's), of any length.
pub fn encode_frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => frame.push(mask_bit | len as u8),
        len @ 126..=65535 => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            frame.extend_from_slice(&key);
            frame.extend(payload.iter().zip(key.iter().cycle()).map(|(b, m)| b ^ m));
        }
        None => frame.extend_from_slice(payload),
    }
    frame
}

/// A frame read by [`read_frame`]: its first byte (FIN, RSV, opcode) and unmasked payload.
#[derive(Debug, PartialEq, Eq)]
pub struct RawFrame {
    pub first: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// Reads one frame, unmasking it if it is masked.
pub fn read_frame(stream: &mut impl Read) -> io::Result<RawFrame> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head)?;
    let masked = head[1] & 0x80 != 0;
    let len = match head[1] & 0x7F {
        126 => {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext)?;
            u64::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext)?;
            u64::from_be_bytes(ext)
        }
        len => u64::from(len),
    };
    let mut key = [0u8; 4];
    if masked {
        stream.read_exact(&mut key)?;
    }
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload)?;
    if masked {
        payload.iter_mut().zip(key.iter().cycle()).for_each(|(b, m)| *b ^= m);
    }
    Ok(RawFrame { first: head[0], masked, payload })
}
