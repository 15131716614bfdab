//! Echo server for the Autobahn TestSuite's fuzzingclient.
//!
//! `cargo run --release --features blocking --example autobahn-server -- --addr 127.0.0.1:9001 --runtime blocking`

use std::net::TcpListener;
use std::process::ExitCode;

use wsproto::Config;
use wsproto::blocking::{self, Options};
use wsproto::handshake::Accept;

fn main() -> ExitCode {
    let mut addr = String::from("127.0.0.1:9001");
    let mut runtime = String::from("blocking");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--runtime", Some(value)) => runtime = value,
            _ => {
                eprintln!("usage: autobahn-server [--addr HOST:PORT] [--runtime blocking]");
                return ExitCode::from(2);
            }
        }
    }
    if runtime != "blocking" {
        eprintln!("runtime {runtime:?} is not available in this build (blocking only)");
        return ExitCode::from(2);
    }
    let listener = match TcpListener::bind(&addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("autobahn-server listening on {addr} ({runtime})");
    // Autobahn's 9.* cases send messages and frames of up to 16 MiB, some in 64-byte fragments.
    let config = Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .max_fragments(1 << 20)
        .keep_alive(None);
    let options = Options::default().config(config);
    for stream in listener.incoming().flatten() {
        let options = options.clone();
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let Ok(mut ws) = blocking::accept_with(stream, &options, |_| Ok(Accept::new())) else { return };
            loop {
                match ws.recv() {
                    Ok(Some(message)) => {
                        if ws.send(message).is_err() {
                            break;
                        }
                    }
                    Ok(None) | Err(_) => break,
                }
            }
        });
    }
    ExitCode::SUCCESS
}
