//! Sends a file as one binary message over the stream socket, in pieces, with memory bounded by
//! the buffers whatever the file's size; the receiver writes it to disk as it arrives.
//!
//! Receiver: `cargo run --release --features tokio --example file-transfer -- receive 127.0.0.1:5002 OUT`
//! Sender:   `cargo run --release --features tokio --example file-transfer -- send ws://127.0.0.1:5002/ IN`

use std::process::ExitCode;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsproto::handshake::{Accept, ClientRequest};
use wsproto::tokio::{self as ws, Options};
use wsproto::{CloseCode, SocketError};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["send", url, path] => send(url, path).await,
        ["receive", addr, path] => receive(addr, path).await,
        _ => {
            eprintln!("usage: file-transfer send URL FILE | file-transfer receive ADDR FILE");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("file-transfer: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn send(url: &str, path: &str) -> Result<(), SocketError> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut socket = ws::connect_stream(ClientRequest::new(url)?, &Options::default()).await?;
    let start = Instant::now();
    let mut buf = vec![0u8; 256 << 10];
    let mut sent = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        socket.write_all(&buf[..n]).await?;
        sent += n as u64;
    }
    socket.finish_message().await?;
    // The receiver answers with the byte count it wrote, as a message of its own.
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await?;
    socket.close(CloseCode::NORMAL, "done").await?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "sent {sent} bytes in {secs:.2} s ({:.0} MiB/s); receiver got {}",
        sent as f64 / secs / 1048576.0,
        String::from_utf8_lossy(&answer)
    );
    Ok(())
}

async fn receive(addr: &str, path: &str) -> Result<(), SocketError> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("waiting for a file on ws://{addr}/");
    let (stream, peer) = listener.accept().await?;
    let mut socket = ws::accept_stream(stream, &Options::default(), |_| async { Ok(Accept::new()) }).await?;
    let mut file = tokio::fs::File::create(path).await?;
    let received = tokio::io::copy(&mut socket, &mut file).await?;
    file.flush().await?;
    socket.write_all(received.to_string().as_bytes()).await?;
    socket.finish_message().await?;
    // Wait for the sender's close.
    while socket.next_message().await? {}
    println!("received {received} bytes from {peer} into {path}");
    Ok(())
}
