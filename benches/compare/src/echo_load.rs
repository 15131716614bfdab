//! `compare echo-load --addr 127.0.0.1:PORT --connections C --in-flight F --size S --seconds T`:
//! the one load client for every echo server, written on tokio with raw frames so that it
//! costs the same whichever server it drives.
//!
//! Each connection does the HTTP upgrade (checking the 101 and the accept key), then keeps
//! `F` masked binary messages of `S` bytes in flight: it writes `F` frames at once, and every
//! time a read completes `k` echoed messages it writes `k` more in one write. Every reply is
//! checked (final binary frame of `S` bytes with the bytes sent; the raw-TCP echo returns our
//! masked frames unchanged, which are accepted and counted as such). After a warm-up, the
//! echoed messages are counted for `T` seconds; the result is one line,
//! `msgs_per_sec=<n> ...`. Loopback addresses only; at most 4,096 connections, 256 in flight,
//! 1 MiB messages and 60 s.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wire::{XorShift, push_frame};

type Result<T = ()> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

pub struct Load {
    pub addr: SocketAddr,
    pub connections: usize,
    pub in_flight: usize,
    pub size: usize,
    pub seconds: f64,
    pub warmup: f64,
}

/// The RFC 6455 §1.3 sample key and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

#[derive(Default)]
struct Shared {
    echoed: AtomicU64,
    masked: AtomicU64,
    ready: AtomicU64,
    stop: AtomicBool,
}

/// Counts the complete echoed frames in a byte stream, checking each.
struct Replies {
    size: usize,
    plain: Vec<u8>,
    masked: Vec<u8>,
    key: [u8; 4],
    head: [u8; 14],
    head_len: usize,
    /// `Some((offset, masked))` while inside a payload.
    payload: Option<(usize, bool)>,
}

impl Replies {
    fn head_needed(&self) -> usize {
        if self.head_len < 2 {
            return 2;
        }
        let ext = match self.head[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + if self.head[1] & 0x80 != 0 { 4 } else { 0 }
    }

    /// Returns (complete frames, of which masked).
    fn feed(&mut self, mut data: &[u8]) -> Result<(u64, u64)> {
        let (mut frames, mut masked_frames) = (0, 0);
        while !data.is_empty() {
            match self.payload {
                None => {
                    let need = self.head_needed();
                    let take = (need - self.head_len).min(data.len());
                    self.head[self.head_len..self.head_len + take].copy_from_slice(&data[..take]);
                    self.head_len += take;
                    data = &data[take..];
                    if self.head_len < self.head_needed() {
                        continue;
                    }
                    let h = &self.head[..self.head_len];
                    if h[0] != 0x82 {
                        return Err(
                            format!("reply starts with {:#04x}, not a final binary frame", h[0]).into()
                        );
                    }
                    let len = match h[1] & 0x7f {
                        126 => u16::from_be_bytes([h[2], h[3]]) as usize,
                        127 => u64::from_be_bytes(h[2..10].try_into().unwrap()) as usize,
                        n => n as usize,
                    };
                    if len != self.size {
                        return Err(format!("reply of {len} bytes, sent {}", self.size).into());
                    }
                    let masked = h[1] & 0x80 != 0;
                    if masked && h[self.head_len - 4..] != self.key {
                        return Err("masked reply with a key we did not use".into());
                    }
                    self.payload = Some((0, masked));
                }
                Some((offset, masked)) => {
                    let n = (self.size - offset).min(data.len());
                    let expected = if masked { &self.masked } else { &self.plain };
                    if data[..n] != expected[offset..offset + n] {
                        return Err("reply payload differs from what was sent".into());
                    }
                    data = &data[n..];
                    self.payload = Some((offset + n, masked));
                }
            }
            if let Some((offset, masked)) = self.payload
                && offset == self.size
            {
                self.payload = None;
                self.head_len = 0;
                frames += 1;
                masked_frames += u64::from(masked);
            }
        }
        Ok((frames, masked_frames))
    }
}

pub(crate) async fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() < deadline && e.kind() == std::io::ErrorKind::ConnectionRefused => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

pub(crate) async fn upgrade(stream: &mut TcpStream, addr: SocketAddr) -> Result {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte, so that nothing after the head is consumed (once per connection).
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err("eof during the handshake".into());
        }
        head.push(byte[0]);
        if head.len() > 16 << 10 {
            return Err("response head too long".into());
        }
    }
    let text = String::from_utf8_lossy(&head);
    if !text.starts_with("HTTP/1.1 101") {
        return Err(format!("handshake refused: {}", text.lines().next().unwrap_or("")).into());
    }
    let accept = text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("sec-websocket-accept").then(|| value.trim().to_string())
    });
    if accept.as_deref() != Some(ACCEPT) {
        return Err(format!("bad Sec-WebSocket-Accept {accept:?}").into());
    }
    Ok(())
}

async fn connection(id: usize, load: Arc<Load>, shared: Arc<Shared>) -> Result {
    let mut stream = connect(load.addr).await?;
    stream.set_nodelay(true)?;
    upgrade(&mut stream, load.addr).await?;

    let key = XorShift(0x5851_f42d_4c95_7f2d ^ id as u64).key();
    let plain: Vec<u8> = (0..load.size).map(|i| (i * 7 + id) as u8).collect();
    let masked: Vec<u8> = plain.iter().enumerate().map(|(i, b)| b ^ key[i & 3]).collect();
    let mut frame = Vec::new();
    push_frame(&mut frame, true, 2, &plain, Some(key));
    let batch: Vec<u8> = frame.repeat(load.in_flight);
    let frame_len = frame.len();
    let mut replies =
        Replies { size: load.size, plain, masked, key, head: [0; 14], head_len: 0, payload: None };
    let mut buf = vec![0u8; (load.in_flight * frame_len).clamp(64 << 10, 4 << 20)];

    shared.ready.fetch_add(1, Ordering::Relaxed);
    stream.write_all(&batch).await?;
    while !shared.stop.load(Ordering::Relaxed) {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err("server closed the connection".into());
        }
        let (k, m) = replies.feed(&buf[..n])?;
        if k > 0 {
            shared.echoed.fetch_add(k, Ordering::Relaxed);
            if m > 0 {
                shared.masked.fetch_add(m, Ordering::Relaxed);
            }
            stream.write_all(&batch[..k as usize * frame_len]).await?;
        }
    }
    Ok(())
}

pub fn run(load: Load) -> Result {
    if !load.addr.ip().is_loopback() {
        return Err("echo-load connects to loopback addresses only".into());
    }
    if load.connections == 0 || load.connections > 4096 || load.in_flight == 0 || load.in_flight > 256 {
        return Err("--connections must be 1..=4096 and --in-flight 1..=256".into());
    }
    if load.size > 1 << 20 || !(0.1..=60.0).contains(&load.seconds) || !(0.0..=10.0).contains(&load.warmup) {
        return Err("--size at most 1 MiB, --seconds 0.1..=60, --warmup 0..=10".into());
    }
    let load = Arc::new(load);
    let shared = Arc::new(Shared::default());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result: Result<f64> = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for id in 0..load.connections {
            let (load, shared, tx) = (load.clone(), shared.clone(), tx.clone());
            tokio::spawn(async move {
                if let Err(e) = connection(id, load, shared.clone()).await
                    && !shared.stop.load(Ordering::Relaxed)
                {
                    let _ = tx.send(format!("connection {id}: {e}"));
                }
            });
        }
        let failed = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>| rx.try_recv().ok();
        let setup = Instant::now();
        while shared.ready.load(Ordering::Relaxed) < load.connections as u64 {
            if let Some(e) = failed(&mut rx) {
                return Err(e.into());
            }
            if setup.elapsed() > Duration::from_secs(20) {
                return Err("connections not ready after 20 s".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_secs_f64(load.warmup)).await;
        let (c0, t0) = (shared.echoed.load(Ordering::Relaxed), Instant::now());
        tokio::time::sleep(Duration::from_secs_f64(load.seconds)).await;
        let (c1, t1) = (shared.echoed.load(Ordering::Relaxed), Instant::now());
        shared.stop.store(true, Ordering::Relaxed);
        if let Some(e) = failed(&mut rx) {
            return Err(e.into());
        }
        Ok((c1 - c0) as f64 / (t1 - t0).as_secs_f64())
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    let rate = result?;
    let total = shared.echoed.load(Ordering::Relaxed);
    println!(
        "msgs_per_sec={rate:.0} echoed_total={total} masked_replies={} addr={} connections={} in_flight={} size={}",
        shared.masked.load(Ordering::Relaxed),
        load.addr,
        load.connections,
        load.in_flight,
        load.size
    );
    Ok(())
}
