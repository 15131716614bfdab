//! Client for the Autobahn TestSuite's fuzzingserver: runs every case, echoing each message.
//!
//! `cargo run --release --features blocking,tokio,async-std --example autobahn-client -- --url ws://127.0.0.1:9001 --runtime tokio --agent wsproto`

use std::process::ExitCode;

use wsproto::handshake::ClientRequest;
use wsproto::{Config, SocketError};

/// Autobahn's 9.* cases send messages and frames of up to 16 MiB, some in 64-byte fragments.
fn config() -> Config {
    Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .max_fragments(1 << 20)
        .keep_alive(None)
}

fn main() -> ExitCode {
    let mut url = String::from("ws://127.0.0.1:9001");
    let mut runtime = String::from("blocking");
    let mut agent = String::from("wsproto");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--url", Some(value)) => url = value,
            ("--runtime", Some(value)) => runtime = value,
            ("--agent", Some(value)) => agent = value,
            _ => {
                eprintln!(
                    "usage: autobahn-client [--url URL] [--runtime blocking|tokio|async-std] [--agent NAME]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let base = url.trim_end_matches('/');
    let result = match runtime.as_str() {
        #[cfg(feature = "blocking")]
        "blocking" => blocking_client::run(base, &agent),
        #[cfg(feature = "tokio")]
        "tokio" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SocketError::Io)
            .and_then(|rt| rt.block_on(tokio_client::run(base, &agent))),
        #[cfg(feature = "async-std")]
        "async-std" => async_std::task::block_on(async_std_client::run(base, &agent)),
        other => {
            eprintln!("runtime {other:?} is not compiled in (enable its cargo feature)");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobahn-client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn count_of(message: Option<wsproto::Message>) -> u32 {
    message.and_then(|m| String::from_utf8_lossy(m.as_bytes()).trim().parse().ok()).unwrap_or(0)
}

#[cfg(feature = "blocking")]
mod blocking_client {
    use super::*;
    use wsproto::blocking::{self, Options};

    fn open(url: &str) -> Result<blocking::WebSocket<blocking::MaybeTls>, SocketError> {
        blocking::connect_with(ClientRequest::new(url)?, &Options::default().config(config()))
    }

    pub fn run(base: &str, agent: &str) -> Result<(), SocketError> {
        let mut ws = open(&format!("{base}/getCaseCount"))?;
        let count = count_of(ws.recv()?);
        while ws.recv()?.is_some() {}
        for case in 1..=count {
            let result = open(&format!("{base}/runCase?case={case}&agent={agent}")).and_then(|mut ws| {
                while let Some(message) = ws.recv()? {
                    ws.send(message)?;
                }
                Ok(())
            });
            if let Err(e) = result {
                eprintln!("case {case}: {e}");
            }
        }
        let mut ws = open(&format!("{base}/updateReports?agent={agent}"))?;
        while ws.recv()?.is_some() {}
        Ok(())
    }
}

macro_rules! async_client {
    ($name:ident, $module:path) => {
        mod $name {
            use super::*;
            use $module as adapter;

            async fn open(url: &str) -> Result<adapter::WebSocket, SocketError> {
                adapter::connect_with(ClientRequest::new(url)?, &adapter::Options::default().config(config()))
                    .await
            }

            async fn echo(url: &str) -> Result<(), SocketError> {
                let mut ws = open(url).await?;
                while let Some(message) = ws.recv().await? {
                    ws.send(message).await?;
                }
                Ok(())
            }

            pub async fn run(base: &str, agent: &str) -> Result<(), SocketError> {
                let mut ws = open(&format!("{base}/getCaseCount")).await?;
                let count = count_of(ws.recv().await?);
                while ws.recv().await?.is_some() {}
                for case in 1..=count {
                    if let Err(e) = echo(&format!("{base}/runCase?case={case}&agent={agent}")).await {
                        eprintln!("case {case}: {e}");
                    }
                }
                let mut ws = open(&format!("{base}/updateReports?agent={agent}")).await?;
                while ws.recv().await?.is_some() {}
                Ok(())
            }
        }
    };
}

#[cfg(feature = "tokio")]
async_client!(tokio_client, wsproto::tokio);
#[cfg(feature = "async-std")]
async_client!(async_std_client, wsproto::futures_io);
