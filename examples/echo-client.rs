//! An echo client: connects to a WebSocket URL and sends every text or binary message back
//! unchanged (same type, same bytes) until the server closes.
//!
//! `cargo run --release --features blocking,tokio,async-std --example echo-client -- URL [--runtime blocking|tokio|async-std]`
//!
//! Pings are answered and the server's close is answered by the connection itself; the client
//! never starts the close and sends no keep-alive pings. Exit status: 0 after a clean close,
//! 1 when the handshake fails or is invalid (nothing is sent then) or the connection ends
//! without a clean close, 2 for bad arguments. The runtime defaults to tokio.

// Built without a runtime feature, the example only explains which feature to enable.
#![cfg_attr(not(any(feature = "blocking", feature = "tokio", feature = "async-std")), allow(unused))]

use std::error::Error;
use std::process::ExitCode;

use wsproto::Config;
#[cfg(any(feature = "blocking", feature = "tokio", feature = "async-std"))]
use wsproto::handshake::ClientRequest;

/// Echoes messages of up to 64 MiB, like the echo server.
fn config() -> Config {
    Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .max_fragments(1 << 16)
        .keep_alive(None)
}

const USAGE: &str = "usage: echo-client URL [--runtime blocking|tokio|async-std]";

fn main() -> ExitCode {
    let mut url = None;
    let mut runtime = String::from("tokio");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), url.is_none()) {
            ("--runtime", _) => match args.next() {
                Some(value) => runtime = value,
                None => return usage(),
            },
            (value, true) if !value.starts_with('-') => url = Some(arg),
            _ => return usage(),
        }
    }
    let Some(url) = url else { return usage() };
    let echo: fn(&str) -> Result<(), Box<dyn Error>> = match runtime.as_str() {
        #[cfg(feature = "blocking")]
        "blocking" => blocking_echo,
        #[cfg(feature = "tokio")]
        "tokio" => tokio_echo,
        #[cfg(feature = "async-std")]
        "async-std" => async_std_echo,
        other => {
            eprintln!("echo-client: runtime {other:?} is not compiled in (enable its cargo feature)");
            return ExitCode::from(2);
        }
    };
    match echo(&url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo-client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

// One function per runtime: connect, then echo until `recv` gives `Ok(None)`, a clean close.

#[cfg(feature = "blocking")]
fn blocking_echo(url: &str) -> Result<(), Box<dyn Error>> {
    use wsproto::blocking::{Options, connect_with};
    let mut ws = connect_with(ClientRequest::new(url)?, &Options::default().config(config()))?;
    while let Some(message) = ws.recv()? {
        ws.send(message)?;
    }
    Ok(())
}

#[cfg(feature = "tokio")]
fn tokio_echo(url: &str) -> Result<(), Box<dyn Error>> {
    use wsproto::tokio::{Options, connect_with};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut ws = connect_with(ClientRequest::new(url)?, &Options::default().config(config())).await?;
        while let Some(message) = ws.recv().await? {
            ws.send(message).await?;
        }
        Ok(())
    })
}

#[cfg(feature = "async-std")]
fn async_std_echo(url: &str) -> Result<(), Box<dyn Error>> {
    use wsproto::futures_io::{Options, connect_with};
    async_std::task::block_on(async {
        let mut ws = connect_with(ClientRequest::new(url)?, &Options::default().config(config())).await?;
        while let Some(message) = ws.recv().await? {
            ws.send(message).await?;
        }
        Ok(())
    })
}
