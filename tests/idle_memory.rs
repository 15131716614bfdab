//! Idle memory per connection (issue 6): an idle tokio connection, after the handshake, holds
//! at most 8 KiB of heap on the server side, its buffers released while it waits (all but a
//! receive buffer of at most 1 KiB).
//!
//! 1,000 connections over 127.0.0.1, both ends in this process. The servers run on a
//! current-thread runtime on a thread of their own, so the counting allocator's per-thread
//! figure ([`HeapProbe::this_thread`]) is exactly what the server side holds: the accepted socket
//! and its registration with tokio's I/O driver, the spawned task (its future holds the
//! `WebSocket`, inline), and whatever the connection keeps on the heap (the keep-alive timer of
//! the default options, for one). Nothing is shared between the two runtimes, so nothing the
//! client allocates is freed on the server's thread or the other way round.
//!
//! Each server task is parked in `recv()`, and measured twice: after the handshake, and after
//! [`ECHOES`] messages were echoed one at a time (so its first, full-size read buffer was used
//! and released, and the small one of the reads after it kept). No timing is asserted.
#![cfg(feature = "tokio")]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use support::heap::{self, CountingAllocator, HeapProbe, kib};
use support::{join, within};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Builder;
use tokio::task::JoinSet;
use wsproto::tokio as wst;

/// Counts the heap (see `support::heap`).
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Connections opened, when the file-descriptor limit allows (two sockets each).
const CONNECTIONS: usize = 1_000;
/// The bound on an idle server-side connection: half the 8 KiB, which guards the boxing
/// of the handshake futures (without it a task keeps the handshake's 4 KiB read buffer: 7.2 KiB).
const BOUND: usize = 4 << 10;
/// Client handshakes and echoes in flight at once (below the listen backlog).
const CONCURRENCY: usize = 100;
/// Messages echoed one after the other on each connection before the second measurement.
const ECHOES: usize = 3;
/// The longest the test may take (it takes about a second).
const LIMIT: Duration = Duration::from_secs(60);

/// Where the run is; both threads read it, the servers' thread alone writes it.
#[derive(Default)]
struct Progress {
    /// Server handshakes completed.
    accepted: AtomicUsize,
    /// Messages echoed by the servers.
    echoed: AtomicUsize,
    /// Set by the servers once the idle figure after the handshake is taken.
    measured: AtomicUsize,
}

/// What the servers' thread measured: heap bytes held above the baseline for all the
/// connections, after the handshake and after one echo.
struct Held {
    after_handshake: usize,
    after_echo: usize,
    task_size: usize,
}

/// The soft limit on open files, from `/proc/self/limits` (none known elsewhere).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// [`CONNECTIONS`], or fewer when the open-files limit would not allow two sockets each.
fn connections() -> usize {
    let fit = open_files_limit().map_or(CONNECTIONS, |limit| limit.saturating_sub(64) / 2);
    if fit < CONNECTIONS {
        eprintln!(
            "open-files limit: {fit} connections instead of {CONNECTIONS} (raise `ulimit -n` for the full run)"
        );
    }
    assert!(fit >= 100, "the open-files limit allows only {fit} connections");
    fit.min(CONNECTIONS)
}

/// Waits, on the calling runtime, until `done` holds.
async fn until(done: impl Fn() -> bool) {
    while !done() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One server connection: the handshake with the default options, then an echo loop, parked
/// in `recv()` while idle.
async fn serve(stream: TcpStream, progress: Arc<Progress>) {
    let mut ws = wst::accept(stream).await.expect("the server handshake");
    progress.accepted.fetch_add(1, Ordering::SeqCst);
    // Ends with an error when the client drops its socket at the end of the test.
    while let Ok(Some(message)) = ws.recv().await {
        ws.send(message).await.expect("the echo");
        progress.echoed.fetch_add(1, Ordering::SeqCst);
    }
}

/// The servers' thread: accepts `n` connections, one task each, and measures what it holds
/// while they idle.
fn servers(listener: std::net::TcpListener, n: usize, progress: Arc<Progress>) -> Held {
    let rt = Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    rt.block_on(async move {
        let listener = TcpListener::from_std(listener).expect("a tokio listener");
        let mut task_size = 0;
        let probe = HeapProbe::this_thread();
        for _ in 0..n {
            let (stream, _) = listener.accept().await.expect("accept");
            let task = serve(stream, progress.clone());
            task_size = size_of_val(&task);
            tokio::spawn(task);
        }
        until(|| progress.accepted.load(Ordering::SeqCst) == n).await;
        // Every task polled `recv()` once after its handshake increment: all are parked.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let after_handshake = probe.growth();
        progress.measured.store(1, Ordering::SeqCst);
        until(|| progress.echoed.load(Ordering::SeqCst) == n * ECHOES).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let after_echo = probe.growth();
        Held { after_handshake, after_echo, task_size }
    })
}

/// The clients: `n` connections, handshakes first, then [`ECHOES`] messages echoed on each once
/// the servers measured; returns the sockets, to be held open until the servers measured again.
fn clients(
    addr: SocketAddr,
    n: usize,
    progress: &Progress,
) -> (tokio::runtime::Runtime, Vec<wst::WebSocket>) {
    let rt = Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let url = format!("ws://{addr}/");
    let sockets = rt.block_on(async {
        let mut sockets = Vec::with_capacity(n);
        while sockets.len() < n {
            let mut batch = JoinSet::new();
            for _ in 0..CONCURRENCY.min(n - sockets.len()) {
                let url = url.clone();
                batch.spawn(async move { wst::connect(&url).await.expect("the client handshake") });
            }
            sockets.extend(batch.join_all().await);
        }
        until(|| progress.measured.load(Ordering::SeqCst) == 1).await;
        let mut echoed = Vec::with_capacity(n);
        while !sockets.is_empty() {
            let mut batch = JoinSet::new();
            for mut ws in sockets.drain(..CONCURRENCY.min(sockets.len())) {
                batch.spawn(async move {
                    for _ in 0..ECHOES {
                        ws.send("idle soon").await.expect("send");
                        let echo = ws.recv().await.expect("recv").expect("an echo");
                        assert_eq!(echo, wsproto::Message::from("idle soon"));
                    }
                    ws
                });
            }
            echoed.extend(batch.join_all().await);
        }
        echoed
    });
    (rt, sockets)
}

#[test]
fn an_idle_tokio_server_connection_holds_at_most_8_kib_of_heap() {
    let _alone = heap::alone();
    within(LIMIT, || {
        let n = connections();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("the listener's address");
        let progress = Arc::new(Progress::default());
        let servers = thread::Builder::new()
            .name("servers".into())
            .spawn({
                let progress = progress.clone();
                move || servers(listener, n, progress)
            })
            .expect("spawn the servers' thread");
        let (client_rt, sockets) = clients(addr, n, &progress);
        let held = join(servers);
        drop(sockets);
        drop(client_rt);

        let (handshake, echo) = (held.after_handshake / n, held.after_echo / n);
        eprintln!(
            "{n} idle tokio connections, heap held per server-side connection (its task's future: {}, \
             of which the WebSocket {}): {} after the handshake, {} after {ECHOES} echoes (bound {})",
            kib(held.task_size),
            kib(size_of::<wst::WebSocket<wst::TokioIo<TcpStream>>>()),
            kib(handshake),
            kib(echo),
            kib(BOUND),
        );
        assert!(handshake <= BOUND, "{} per idle connection after the handshake", kib(handshake));
        assert!(echo <= BOUND, "{} per idle connection after {ECHOES} echoes", kib(echo));
    });
}
