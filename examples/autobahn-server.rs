//! Echo server for the Autobahn TestSuite's fuzzingclient.
//!
//! `cargo run --release --features blocking,tokio,async-std --example autobahn-server -- --addr 127.0.0.1:9001 --runtime tokio`

use std::process::ExitCode;

use wsproto::Config;

/// Autobahn's 9.* cases send messages and frames of up to 16 MiB, some in 64-byte fragments.
fn config() -> Config {
    Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .max_fragments(1 << 20)
        .keep_alive(None)
}

fn main() -> ExitCode {
    let mut addr = String::from("127.0.0.1:9001");
    let mut runtime = String::from("blocking");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--runtime", Some(value)) => runtime = value,
            _ => {
                eprintln!("usage: autobahn-server [--addr HOST:PORT] [--runtime blocking|tokio|async-std]");
                return ExitCode::from(2);
            }
        }
    }
    eprintln!("autobahn-server on {addr} ({runtime})");
    let result = match runtime.as_str() {
        #[cfg(feature = "blocking")]
        "blocking" => blocking_server(&addr),
        #[cfg(feature = "tokio")]
        "tokio" => tokio_server(&addr),
        #[cfg(feature = "async-std")]
        "async-std" => async_std_server(&addr),
        other => {
            eprintln!("runtime {other:?} is not compiled in (enable its cargo feature)");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobahn-server: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "blocking")]
fn blocking_server(addr: &str) -> std::io::Result<()> {
    use wsproto::blocking::{self, Options};
    let options = Options::default().config(config());
    for stream in std::net::TcpListener::bind(addr)?.incoming().flatten() {
        let options = options.clone();
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let Ok(mut ws) = blocking::accept_with(stream, &options, |_| Ok(Default::default())) else {
                return;
            };
            while let Ok(Some(message)) = ws.recv() {
                if ws.send(message).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

#[cfg(feature = "tokio")]
fn tokio_server(addr: &str) -> std::io::Result<()> {
    use wsproto::tokio::{self as ws_tokio, Options};
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let options = Options::default().config(config());
        loop {
            let (stream, _) = listener.accept().await?;
            let options = options.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let Ok(mut ws) =
                    ws_tokio::accept_with(stream, &options, |_| async { Ok(Default::default()) }).await
                else {
                    return;
                };
                while let Ok(Some(message)) = ws.recv().await {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    })
}

#[cfg(feature = "async-std")]
fn async_std_server(addr: &str) -> std::io::Result<()> {
    use wsproto::futures_io::{self as ws_futures, Options};
    async_std::task::block_on(async {
        let listener = async_net::TcpListener::bind(addr).await?;
        let options = Options::default().config(config());
        loop {
            let (stream, _) = listener.accept().await?;
            let options = options.clone();
            async_std::task::spawn(async move {
                let _ = stream.set_nodelay(true);
                let Ok(mut ws) =
                    ws_futures::accept_with(stream, &options, |_| async { Ok(Default::default()) }).await
                else {
                    return;
                };
                while let Ok(Some(message)) = ws.recv().await {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    })
}
