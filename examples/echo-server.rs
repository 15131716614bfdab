//! An echo server with a test page: `GET /` serves an HTML page to connect, send and close
//! from a browser; `/ws` is the WebSocket endpoint, echoing every message; any other path is
//! 404.
//!
//! `cargo run --release --features blocking,tokio,async-std --example echo-server -- [--addr HOST:PORT] [--runtime blocking|tokio|async-std]`
//!
//! Defaults: `127.0.0.1:5000` and tokio. Messages of up to 64 MiB are echoed; the subprotocol
//! `chat` is selected when the client offers it.
//!
//! The request is routed without I/O ([`HeadReader`], [`route`]): the head is read (16 KiB
//! at most) and its path parsed; for `/ws` the same bytes go through
//! [`ServerHandshake`], which answers bad upgrade requests with their status (426 for a plain
//! GET, 400, ...); an accepted request becomes a [`Connection`] that each runtime hands to its
//! adapter with `WebSocket::from_connection`. The runtimes only accept, read and write.

// Built without a runtime feature, the example only explains which feature to enable.
#![cfg_attr(not(any(feature = "blocking", feature = "tokio", feature = "async-std")), allow(unused))]

use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use wsproto::handshake::{Accept, HandshakeError, ServerHandshake};
use wsproto::{Config, Connection, KeepAlive, Role};

/// The page served at `/`.
const PAGE: &str = include_str!("echo_page.html");
/// Largest request head read before answering 431.
const MAX_HEAD: usize = 16 << 10;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Most header fields parsed in a request head.
const MAX_HEADERS: usize = 100;

/// Echoes messages of up to 64 MiB; pings a silent client every 20 s (ASP.NET Core's default).
fn config() -> Config {
    let keep_alive = KeepAlive { interval: Duration::from_secs(20), timeout: Duration::from_secs(20) };
    Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .max_fragments(1 << 16)
        .keep_alive(Some(keep_alive))
}

fn main() -> ExitCode {
    let mut addr = String::from("127.0.0.1:5000");
    let mut runtime = String::from("tokio");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--runtime", Some(value)) => runtime = value,
            _ => {
                eprintln!("usage: echo-server [--addr HOST:PORT] [--runtime blocking|tokio|async-std]");
                return ExitCode::from(2);
            }
        }
    }
    let serve: fn(TcpListener) -> std::io::Result<()> = match runtime.as_str() {
        #[cfg(feature = "blocking")]
        "blocking" => blocking_server::serve,
        #[cfg(feature = "tokio")]
        "tokio" => tokio_server::serve,
        #[cfg(feature = "async-std")]
        "async-std" => async_std_server::serve,
        other => {
            eprintln!("echo-server: runtime {other:?} is not compiled in (enable its cargo feature)");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(&addr).and_then(|l| Ok((l.local_addr()?, l))) {
        Ok((local, listener)) => {
            // Tests and scripts take the port from the first URL printed.
            println!("echo-server: http://{local}/ (WebSocket endpoint ws://{local}/ws, runtime {runtime})");
            listener
        }
        Err(e) => {
            eprintln!("echo-server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match serve(listener) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo-server: {e}");
            ExitCode::FAILURE
        }
    }
}

// ------------------------------------------------------------------ routing, without I/O

/// What to do with a connection once its request head is in.
struct Answer {
    /// The bytes to write first: a complete HTTP response, or the 101 of an accepted upgrade.
    response: Vec<u8>,
    /// After a 101, the WebSocket connection, with any bytes that followed the request already
    /// fed in; `None`: close the connection after the response.
    upgrade: Option<Connection>,
}

/// Collects a request head from whatever reads return, up to [`MAX_HEAD`] bytes.
#[derive(Default)]
struct HeadReader {
    buf: Vec<u8>,
}

impl HeadReader {
    /// Takes bytes read from the client; `Some` once the head is complete or too large. Each
    /// byte is searched once, however the reads split the head.
    fn receive(&mut self, bytes: &[u8], now: Instant) -> Option<Answer> {
        let from = self.buf.len().saturating_sub(3);
        self.buf.extend_from_slice(bytes);
        match self.buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) if from + end + 4 <= MAX_HEAD => Some(route(&self.buf, now)),
            _ if self.buf.len() > MAX_HEAD => Some(refuse(HandshakeError::HeadersTooLarge)),
            _ => None,
        }
    }
}

/// Routes a complete request head (and whatever followed it): `/` is the page, `/ws` the
/// WebSocket endpoint, anything else 404.
fn route(bytes: &[u8], now: Instant) -> Answer {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut fields);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => return refuse(HandshakeError::TooManyHeaders),
        _ => return refuse(HandshakeError::Malformed),
    }
    let path = request.path.unwrap_or("/").split('?').next().unwrap_or("/");
    let upgrade = request.headers.iter().any(|h| h.name.eq_ignore_ascii_case("upgrade"));
    match (path, upgrade, request.method) {
        ("/ws", _, _) => upgrade_to_websocket(bytes, now),
        ("/", false, Some("GET")) => {
            respond(http_response("200 OK", "text/html; charset=utf-8", PAGE, "Cache-Control: no-store\r\n"))
        }
        ("/", false, _) => {
            respond(http_response("405 Method Not Allowed", "text/plain", "use GET\n", "Allow: GET\r\n"))
        }
        _ => respond(http_response(
            "404 Not Found",
            "text/plain",
            "not found: the WebSocket endpoint is /ws\n",
            "",
        )),
    }
}

/// Runs the opening handshake over the request bytes: 101 with `chat` when offered, or the
/// handshake's error response (426 for a plain GET, 400 for a bad key, ...).
fn upgrade_to_websocket(bytes: &[u8], now: Instant) -> Answer {
    let config = config();
    let mut handshake = ServerHandshake::new(&config, now);
    let request = match handshake.receive(bytes) {
        Ok(Some(request)) => request,
        Ok(None) => return refuse(HandshakeError::Malformed),
        Err(error) => return refuse(error),
    };
    let accept = if request.protocols().iter().any(|p| p == "chat") {
        Accept::new().protocol("chat")
    } else {
        Accept::new()
    };
    let response = match handshake.accept(&accept) {
        Ok(response) => response,
        Err(error) => return respond(handshake.reject(500, &format!("{error}\n"))),
    };
    let mut connection = Connection::new(Role::Server, config, now);
    // A client may send its first frames right behind the request. A protocol error in them
    // queues the matching close frame, which the adapter writes; nothing else to do here.
    let _ = connection.receive(now, &handshake.take_trailing());
    Answer { response, upgrade: Some(connection) }
}

/// A response after which the connection closes.
fn respond(response: Vec<u8>) -> Answer {
    Answer { response, upgrade: None }
}

/// The error response for a bad request: the handshake error's own (with its status), or 400.
fn refuse(error: HandshakeError) -> Answer {
    respond(
        error
            .response()
            .unwrap_or_else(|| http_response("400 Bad Request", "text/plain", "bad request\n", "")),
    )
}

/// A complete HTTP/1.1 response with a body, closing the connection.
fn http_response(status: &str, content_type: &str, body: &str, extra_headers: &str) -> Vec<u8> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n{extra_headers}\r\n",
        body.len()
    );
    [head.as_bytes(), body.as_bytes()].concat()
}

/// Logs how a connection ended, unless it ended well.
fn report<E: std::fmt::Display>(peer: SocketAddr, result: Result<(), E>) {
    if let Err(e) = result {
        eprintln!("echo-server: {peer}: {e}");
    }
}

// ------------------------------------------------------------------ the runtimes' plumbing

#[cfg(feature = "blocking")]
mod blocking_server {
    use std::io::{self, Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    use super::{HEAD_TIMEOUT, HeadReader, report};

    pub fn serve(listener: TcpListener) -> io::Result<()> {
        loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    std::thread::spawn(move || report(peer, connection(stream)));
                }
                Err(e) => eprintln!("echo-server: accept: {e}"),
            }
        }
    }

    fn connection(mut stream: TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let deadline = Instant::now() + HEAD_TIMEOUT;
        let mut head = HeadReader::default();
        let mut buf = [0; 4096];
        let answer = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // A zero timeout would mean "block forever".
            stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            match stream.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    if let Some(answer) = head.receive(&buf[..n], Instant::now()) {
                        break answer;
                    }
                }
                // Silent or gone before sending a request: nothing to answer.
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        };
        stream.write_all(&answer.response)?;
        let Some(connection) = answer.upgrade else { return stream.shutdown(Shutdown::Write) };
        // The adapter maps the connection's timers onto read timeouts from here on.
        stream.set_read_timeout(None)?;
        let mut ws = wsproto::blocking::WebSocket::from_connection(stream, connection);
        while let Some(message) = ws.recv()? {
            ws.send(message)?;
        }
        Ok(())
    }
}

#[cfg(feature = "tokio")]
mod tokio_server {
    use std::io;
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use wsproto::tokio::{TokioIo, WebSocket};

    use super::{Answer, HEAD_TIMEOUT, HeadReader, report};

    pub fn serve(listener: std::net::TcpListener) -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        runtime.block_on(async {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        tokio::spawn(async move { report(peer, connection(stream).await) });
                    }
                    Err(e) => eprintln!("echo-server: accept: {e}"),
                }
            }
        })
    }

    async fn connection(mut stream: TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        // A client silent or gone before sending a request gets no answer.
        let Some(answer) =
            tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await.unwrap_or(Ok(None))?
        else {
            return Ok(());
        };
        stream.write_all(&answer.response).await?;
        let Some(connection) = answer.upgrade else { return stream.shutdown().await };
        let mut ws = WebSocket::from_connection(TokioIo::new(stream), connection);
        while let Some(message) = ws.recv().await? {
            ws.send(message).await?;
        }
        Ok(())
    }

    async fn read_head(stream: &mut TcpStream) -> io::Result<Option<Answer>> {
        let (mut head, mut buf) = (HeadReader::default(), [0; 4096]);
        loop {
            match stream.read(&mut buf).await? {
                0 => return Ok(None),
                n => {
                    if let Some(answer) = head.receive(&buf[..n], Instant::now()) {
                        return Ok(Some(answer));
                    }
                }
            }
        }
    }
}

#[cfg(feature = "async-std")]
mod async_std_server {
    use std::io;
    use std::net::Shutdown;
    use std::time::Instant;

    use async_net::TcpStream;
    use async_std::io::{ReadExt, WriteExt};
    use wsproto::futures_io::{FuturesIo, WebSocket};

    use super::{Answer, HEAD_TIMEOUT, HeadReader, report};

    pub fn serve(listener: std::net::TcpListener) -> io::Result<()> {
        async_std::task::block_on(async {
            let listener = async_net::TcpListener::try_from(listener)?;
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        async_std::task::spawn(async move { report(peer, connection(stream).await) });
                    }
                    Err(e) => eprintln!("echo-server: accept: {e}"),
                }
            }
        })
    }

    async fn connection(mut stream: TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        // A client silent or gone before sending a request gets no answer.
        let Some(answer) =
            async_std::future::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await.unwrap_or(Ok(None))?
        else {
            return Ok(());
        };
        stream.write_all(&answer.response).await?;
        let Some(connection) = answer.upgrade else { return stream.shutdown(Shutdown::Write) };
        let mut ws = WebSocket::from_connection(FuturesIo::new(stream), connection);
        while let Some(message) = ws.recv().await? {
            ws.send(message).await?;
        }
        Ok(())
    }

    async fn read_head(stream: &mut TcpStream) -> io::Result<Option<Answer>> {
        let (mut head, mut buf) = (HeadReader::default(), [0; 4096]);
        loop {
            match stream.read(&mut buf).await? {
                0 => return Ok(None),
                n => {
                    if let Some(answer) = head.receive(&buf[..n], Instant::now()) {
                        return Ok(Some(answer));
                    }
                }
            }
        }
    }
}
