//! `compare idle-memory --addr 127.0.0.1:PORT --pid SERVER_PID [--connections 1000]
//! [--idle-ms 1500] [--warmup 16]`: the resident memory an echo server (`compare echo-server`,
//! any library) holds per idle connection.
//!
//! 1. Warm-up: `--warmup` connections do the upgrade and echo one message, then are dropped,
//!    so that code paths, lazily initialised state and the allocator's first arenas are in
//!    place before the baseline (they are per process, not per connection).
//! 2. Baseline: the server's `RssAnon` (anonymous resident memory: heap, stacks; from
//!    `/proc/PID/status`). File-backed pages (the binary's code, faulted in on first use) are
//!    not per-connection memory and are left out; `VmRSS` is printed alongside.
//! 3. `--connections` connections from this one process (tokio, the same raw client as
//!    `echo-load`, at most 100 handshakes in flight), all upgraded and then left idle for
//!    `--idle-ms`: the server parks each in its receive call. RSS is read again.
//! 4. One 20-byte masked binary message echoed on every connection (so that read buffers were
//!    used), `--idle-ms` of idle, RSS read again.
//!
//! Printed: `after_handshake_kib=<f> after_echo_kib=<f> ...`, the growth of `RssAnon` over the
//! baseline divided by the connection count. Nothing else is subtracted: the server's tokio
//! task and socket registration per connection are counted for every library alike; the
//! kernel's socket buffers are not in the process's RSS. Loopback only, at most 10,000
//! connections (two sockets each on this machine; `ulimit -n` must allow them).

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::echo_load::{connect, upgrade};
use crate::wire::{XorShift, push_frame};

type Result<T = ()> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

pub struct Idle {
    pub addr: SocketAddr,
    pub pid: u32,
    pub connections: usize,
    pub idle: Duration,
    pub warmup: usize,
}

/// Handshakes or echoes in flight at once (well below the listen backlog).
const CONCURRENCY: usize = 100;
/// The echoed message's size.
const SIZE: usize = 20;

/// Resident memory of a process in KiB, from `/proc/PID/status`.
#[derive(Clone, Copy, Debug)]
struct Rss {
    anon: u64,
    total: u64,
}

fn rss(pid: u32) -> Result<Rss> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status (is the server running?): {e}"))?;
    let field = |name: &str| -> Result<u64> {
        let line =
            status.lines().find(|l| l.starts_with(name)).ok_or_else(|| format!("no {name} for {pid}"))?;
        let kib = line[name.len()..].trim().trim_end_matches("kB").trim();
        Ok(kib.parse()?)
    };
    Ok(Rss { anon: field("RssAnon:")?, total: field("VmRSS:")? })
}

/// Opens a connection and runs the upgrade.
async fn open(addr: SocketAddr) -> Result<TcpStream> {
    let mut stream = connect(addr).await?;
    stream.set_nodelay(true)?;
    upgrade(&mut stream, addr).await?;
    Ok(stream)
}

/// Sends one masked binary message and reads its echo: a final binary frame of the same size
/// (or, from the raw-TCP echo, our masked frame unchanged).
async fn echo(stream: &mut TcpStream, id: usize) -> Result {
    let payload: Vec<u8> = (0..SIZE).map(|i| (i * 7 + id) as u8).collect();
    let mut frame = Vec::with_capacity(SIZE + 6);
    push_frame(&mut frame, true, 2, &payload, Some(XorShift(0x9e37_79b9_7f4a_7c15 ^ id as u64).key()));
    stream.write_all(&frame).await?;
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await?;
    let masked = head[1] & 0x80 != 0;
    if head[0] != 0x82 || usize::from(head[1] & 0x7f) != SIZE {
        return Err(format!("reply starts with {head:02x?}, not a final binary frame of {SIZE} bytes").into());
    }
    let mut rest = vec![0u8; SIZE + if masked { 4 } else { 0 }];
    stream.read_exact(&mut rest).await?;
    let reply = if masked { &frame[2..] } else { &payload[..] };
    if rest != reply {
        return Err("reply payload differs from what was sent".into());
    }
    Ok(())
}

/// Opens `n` upgraded connections, at most [`CONCURRENCY`] at once.
async fn open_all(addr: SocketAddr, n: usize) -> Result<Vec<TcpStream>> {
    let mut streams = Vec::with_capacity(n);
    while streams.len() < n {
        let mut batch = JoinSet::new();
        for _ in 0..CONCURRENCY.min(n - streams.len()) {
            batch.spawn(open(addr));
        }
        while let Some(stream) = batch.join_next().await {
            streams.push(stream??);
        }
    }
    Ok(streams)
}

/// Echoes one message on every connection, at most [`CONCURRENCY`] at once.
async fn echo_all(mut streams: Vec<TcpStream>) -> Result<Vec<TcpStream>> {
    let mut done = Vec::with_capacity(streams.len());
    while !streams.is_empty() {
        let mut batch = JoinSet::new();
        let first = done.len();
        for (i, mut stream) in streams.drain(..CONCURRENCY.min(streams.len())).enumerate() {
            batch.spawn(async move { echo(&mut stream, first + i).await.map(|()| stream) });
        }
        while let Some(stream) = batch.join_next().await {
            done.push(stream??);
        }
    }
    Ok(done)
}

/// KiB of anonymous RSS per connection above `base`.
fn per_connection(base: Rss, now: Rss, n: usize) -> f64 {
    (now.anon as f64 - base.anon as f64) / n as f64
}

pub fn run(idle: Idle) -> Result {
    if !idle.addr.ip().is_loopback() {
        return Err("idle-memory connects to loopback addresses only".into());
    }
    if idle.connections == 0 || idle.connections > 10_000 || idle.warmup > 1_000 {
        return Err("--connections must be 1..=10000 and --warmup at most 1000".into());
    }
    if idle.idle > Duration::from_secs(60) {
        return Err("--idle-ms at most 60000".into());
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let n = idle.connections;
    let result: Result<(Rss, Rss, Rss)> = rt.block_on(async {
        if idle.warmup > 0 {
            drop(echo_all(open_all(idle.addr, idle.warmup).await?).await?);
            // The server notices the dropped connections and ends their tasks.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let base = rss(idle.pid)?;
        let streams = open_all(idle.addr, n).await?;
        tokio::time::sleep(idle.idle).await;
        let handshaken = rss(idle.pid)?;
        let streams = echo_all(streams).await?;
        tokio::time::sleep(idle.idle).await;
        let echoed = rss(idle.pid)?;
        drop(streams);
        Ok((base, handshaken, echoed))
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    let (base, handshaken, echoed) = result?;
    println!(
        "after_handshake_kib={:.2} after_echo_kib={:.2} connections={n} rss_anon_kib={}/{}/{} \
         vm_rss_kib={}/{}/{} addr={} pid={}",
        per_connection(base, handshaken, n),
        per_connection(base, echoed, n),
        base.anon,
        handshaken.anon,
        echoed.anon,
        base.total,
        handshaken.total,
        echoed.total,
        idle.addr,
        idle.pid,
    );
    Ok(())
}
