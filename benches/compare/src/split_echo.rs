//! `compare split-echo [--runs 5]`: a client's split halves in two tasks, over loopback. One
//! task sends `count` binary messages through the write half while another takes their echoes
//! from the read half; the time from the first send to the last echo gives messages per second.
//!
//! Every client talks to the same in-process server (wsproto's echo, as `echo-server --lib
//! wsproto`), so what differs is the client's split:
//! - wsproto: `WebSocket::split` (the connection in a task of its own, lock-free queues to the
//!   halves), `WriteHalf::send` / `ReadHalf::recv`;
//! - tokio-tungstenite and tokio-websockets: `StreamExt::split` (a `BiLock` shared by the
//!   halves), `SinkExt::send` / `StreamExt::next`, as their docs split them.
//!
//! Runs are interleaved (the order rotates each run) on one tokio runtime with two workers.

use std::error::Error;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

type Result<T = ()> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const LIBS: [&str; 3] = ["wsproto", "tokio-tungstenite", "tokio-websockets"];
/// (payload bytes, messages per run)
const CASES: [(usize, usize); 2] = [(20, 200_000), (16 << 10, 20_000)];
/// No run may take longer.
const RUN_LIMIT: Duration = Duration::from_secs(60);

pub fn run(runs: usize) -> Result {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(crate::echo_server::handle("wsproto", stream));
            }
        });
        println!("### Split halves in two tasks (client; loopback, wsproto's echo server)");
        println!();
        println!("One task sends through the write half, another takes the echoes from the read half;");
        println!("messages/s from the first send to the last echo, median of {runs} interleaved runs.");
        println!("\"× best peer\": against the fastest library other than wsproto.");
        println!();
        println!("| case | client | median msgs/s | × best peer | runs (msgs/s) |");
        println!("|---|---|---:|---:|---|");
        for (size, count) in CASES {
            let mut rates = vec![Vec::new(); LIBS.len()];
            for run in 0..runs {
                for k in 0..LIBS.len() {
                    let i = (k + run) % LIBS.len();
                    let rate = tokio::time::timeout(RUN_LIMIT, one(LIBS[i], addr, size, count))
                        .await
                        .map_err(|_| format!("{} took over {RUN_LIMIT:?}", LIBS[i]))??;
                    eprintln!("split echo {size} B, run {run}: {} {rate:.0} msgs/s", LIBS[i]);
                    rates[i].push(rate);
                }
            }
            let medians: Vec<f64> = rates.iter().map(|r| median(r)).collect();
            let best = medians[1..].iter().copied().fold(0.0, f64::max);
            let label = if size >= 1024 { format!("{} KiB", size >> 10) } else { format!("{size} B") };
            for (i, lib) in LIBS.iter().enumerate() {
                let name = if i == 0 { format!("**{lib}**") } else { lib.to_string() };
                let runs: Vec<String> = rates[i].iter().map(|r| format!("{r:.0}")).collect();
                println!(
                    "| {label} × {count} | {name} | {:.0} | {:.2} | {} |",
                    medians[i],
                    medians[i] / best,
                    runs.join(" ")
                );
            }
        }
        Ok(())
    })
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 }
}

/// One run: messages per second through `lib`'s split halves.
async fn one(lib: &str, addr: SocketAddr, size: usize, count: usize) -> Result<f64> {
    let url = format!("ws://{addr}/");
    let payload = Bytes::from(vec![7u8; size]);
    let start;
    match lib {
        "wsproto" => {
            let (mut read, mut write) = wsproto::tokio::connect(&url).await?.split();
            start = Instant::now();
            let writer = tokio::spawn(async move {
                for _ in 0..count {
                    write.send(wsproto::Message::Binary(payload.clone())).await?;
                }
                Ok::<_, wsproto::SocketError>(())
            });
            for _ in 0..count {
                read.recv().await?.ok_or("the server ended early")?;
            }
            writer.await??;
        }
        "tokio-tungstenite" => {
            let (ws, _) = tokio_tungstenite::connect_async(url).await?;
            let (mut write, mut read) = ws.split();
            start = Instant::now();
            let writer = tokio::spawn(async move {
                for _ in 0..count {
                    write.send(tungstenite::Message::Binary(payload.clone())).await?;
                }
                Ok::<_, tungstenite::Error>(())
            });
            for _ in 0..count {
                read.next().await.ok_or("the server ended early")??;
            }
            writer.await??;
        }
        "tokio-websockets" => {
            let (ws, _) = tokio_websockets::ClientBuilder::new().uri(&url)?.connect().await?;
            let (mut write, mut read) = ws.split();
            start = Instant::now();
            let writer = tokio::spawn(async move {
                for _ in 0..count {
                    write.send(tokio_websockets::Message::binary(payload.clone())).await?;
                }
                Ok::<_, tokio_websockets::Error>(())
            });
            for _ in 0..count {
                read.next().await.ok_or("the server ended early")??;
            }
            writer.await??;
        }
        _ => return Err(format!("unknown library {lib}").into()),
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}
