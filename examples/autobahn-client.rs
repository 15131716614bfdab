//! Client for the Autobahn TestSuite's fuzzingserver: runs every case, echoing each message.
//!
//! `cargo run --release --features blocking --example autobahn-client -- --url ws://127.0.0.1:9001 --runtime blocking --agent wsproto`

use std::process::ExitCode;

use wsproto::blocking::{self, Options};
use wsproto::handshake::ClientRequest;
use wsproto::{Config, SocketError};

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
                eprintln!("usage: autobahn-client [--url URL] [--runtime blocking] [--agent NAME]");
                return ExitCode::from(2);
            }
        }
    }
    if runtime != "blocking" {
        eprintln!("runtime {runtime:?} is not available in this build (blocking only)");
        return ExitCode::from(2);
    }
    match run(url.trim_end_matches('/'), &agent) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobahn-client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn options() -> Options {
    let config = Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .max_fragments(1 << 20)
        .keep_alive(None);
    Options::default().config(config)
}

fn run(base: &str, agent: &str) -> Result<(), SocketError> {
    let mut ws = blocking::connect_with(ClientRequest::new(&format!("{base}/getCaseCount"))?, &options())?;
    let count: u32 = match ws.recv()? {
        Some(message) => String::from_utf8_lossy(message.as_bytes()).trim().parse().unwrap_or(0),
        None => 0,
    };
    while ws.recv()?.is_some() {}
    eprintln!("running {count} cases as {agent}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        match echo(&url) {
            Ok(()) => {}
            Err(e) => eprintln!("case {case}: {e}"),
        }
    }
    let mut ws = blocking::connect_with(
        ClientRequest::new(&format!("{base}/updateReports?agent={agent}"))?,
        &options(),
    )?;
    while ws.recv()?.is_some() {}
    Ok(())
}

fn echo(url: &str) -> Result<(), SocketError> {
    let mut ws = blocking::connect_with(ClientRequest::new(url)?, &options())?;
    while let Some(message) = ws.recv()? {
        ws.send(message)?;
    }
    Ok(())
}
