//! Connects to a `ws://` or `wss://` URL, sends each line typed on stdin as a text message, and
//! prints every message received. End stdin (Ctrl-D) to close the connection with 1000.
//!
//! `cargo run --features tokio,rustls --example client -- ws://127.0.0.1:5001/`

use std::process::ExitCode;

use tokio::io::{AsyncBufReadExt, BufReader};
use wsproto::{CloseCode, Message};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: client URL");
        return ExitCode::from(2);
    };
    let socket = match wsproto::tokio::connect(&url).await {
        Ok(socket) => socket,
        Err(e) => {
            eprintln!("cannot connect to {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("connected to {url} ({:?})", socket.info().peer_addr);
    let (mut reader, mut writer) = socket.split();
    let printer = tokio::spawn(async move {
        loop {
            match reader.recv().await {
                Ok(Some(Message::Text(text))) => println!("< {text}"),
                Ok(Some(Message::Binary(data))) => println!("< {} bytes of binary", data.len()),
                Ok(None) => return reader.close_outcome(),
                Err(e) => {
                    eprintln!("connection failed: {e}");
                    return reader.close_outcome();
                }
            }
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if writer.send(line).await.is_err() {
            break;
        }
    }
    let _ = writer.close(CloseCode::NORMAL, "bye").await;
    match printer.await {
        Ok(Some(outcome)) if outcome.is_clean() => {
            println!("closed: {} {:?}", outcome.code, outcome.reason);
            ExitCode::SUCCESS
        }
        Ok(outcome) => {
            eprintln!("closed uncleanly: {outcome:?}");
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::FAILURE,
    }
}
