//! `compare echo-server --lib NAME --addr 127.0.0.1:PORT`: one echo server per library, each
//! in its idiomatic form, on a default multi-threaded tokio runtime. Every accepted socket gets
//! `TCP_NODELAY`. Limits: 64 MiB messages, 16 MiB frames, UTF-8 checked, no compression.
//!
//! - raw: answers the HTTP upgrade with a canned 101, then echoes bytes as they come (64 KiB
//!   reads, `write_all`): the limit.
//! - wsproto: the tokio adapter's normal API, `accept_with`, then `recv()` → `send()`.
//! - tokio-tungstenite: `accept_async_with_config`, then `next()` → `send()`.
//! - fastwebsockets: `WebSocket::after_handshake` (handshake done here; the crate's own needs
//!   hyper), `FragmentCollector`, `read_frame()` → `write_frame()` (its echo example).
//! - tokio-websockets: `ServerBuilder::accept`, then `next()` → `send()`.
//! - sockudo-ws: `WebSocketStream::server` (handshake done here, as in its examples), then
//!   `next()` → `feed()`: its README's batched echo, where `next()` flushes the queued replies
//!   once the parsed input runs dry.
//! - yawc: `WebSocket::from_stream` (handshake done here; the crate's own needs hyper), then
//!   `next_frame()` → `send()`, UTF-8 checking on.

use std::error::Error;
use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::decode::{MAX_FRAME, MAX_MESSAGE};

type Result<T = ()> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

pub const LIBS: [&str; 7] =
    ["raw", "wsproto", "tokio-tungstenite", "fastwebsockets", "tokio-websockets", "sockudo-ws", "yawc"];

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    use base64::Engine;
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes())
}

/// A minimal server handshake for the libraries whose own needs an HTTP stack: reads the
/// request head, answers 101 with the accept key. The load client sends nothing more before
/// the answer, so no frame bytes can follow the head.
async fn handshake(stream: &mut TcpStream) -> Result {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let end = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err("eof in handshake".into());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() > 16 << 10 {
            return Err("request head too long".into());
        }
    };
    if end != head.len() {
        return Err("bytes after the request head".into());
    }
    let text = std::str::from_utf8(&head)?;
    let key = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim().eq_ignore_ascii_case("sec-websocket-key").then(|| value.trim())
        })
        .ok_or("no Sec-WebSocket-Key")?;
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    stream.write_all(response.as_bytes()).await?;
    Ok(())
}

async fn raw(mut stream: TcpStream) -> Result {
    handshake(&mut stream).await?;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

async fn wsproto(stream: TcpStream) -> Result {
    use wsproto::handshake::Accept;
    let mut options = wsproto::tokio::Options::default();
    options.config = options.config.clone().max_message_size(MAX_MESSAGE).max_frame_size(MAX_FRAME);
    let mut ws = wsproto::tokio::accept_with(stream, &options, |_| async { Ok(Accept::new()) }).await?;
    while let Some(message) = ws.recv().await? {
        ws.send(message).await?;
    }
    Ok(())
}

async fn tokio_tungstenite(stream: TcpStream) -> Result {
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_FRAME));
    let mut ws = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await?;
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_binary() || message.is_text() {
            ws.send(message).await?;
        }
    }
    Ok(())
}

async fn fastwebsockets(mut stream: TcpStream) -> Result {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    handshake(&mut stream).await?;
    let mut ws = WebSocket::after_handshake(stream, Role::Server);
    ws.set_max_message_size(MAX_MESSAGE);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}

async fn tokio_websockets(stream: TcpStream) -> Result {
    use tokio_websockets::{Limits, ServerBuilder};
    let limits = Limits::default().max_payload_len(Some(MAX_MESSAGE));
    let (_request, mut ws) = ServerBuilder::new().limits(limits).accept(stream).await?;
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_binary() || message.is_text() {
            ws.send(message).await?;
        }
    }
    Ok(())
}

async fn sockudo(mut stream: TcpStream) -> Result {
    use sockudo_ws::{Config, Message, WebSocketStream};
    handshake(&mut stream).await?;
    let config = Config::builder().max_message_size(MAX_MESSAGE).max_frame_size(MAX_FRAME).build();
    let mut ws = WebSocketStream::server(stream, config);
    while let Some(message) = ws.next().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.feed(message).await?,
            Message::Close(_) => return Ok(()),
            _ => {}
        }
    }
    Ok(())
}

async fn yawc(mut stream: TcpStream) -> Result {
    use yawc::frame::OpCode;
    handshake(&mut stream).await?;
    let mut ws = yawc::WebSocket::from_stream(stream, yawc::Role::Server, crate::decode::yawc_options())?;
    loop {
        let frame = ws.next_frame().await?;
        match frame.opcode() {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.send(frame).await?,
            _ => {}
        }
    }
}

pub(crate) async fn handle(lib: &'static str, stream: TcpStream) -> Result {
    match lib {
        "raw" => raw(stream).await,
        "wsproto" => wsproto(stream).await,
        "tokio-tungstenite" => tokio_tungstenite(stream).await,
        "fastwebsockets" => fastwebsockets(stream).await,
        "tokio-websockets" => tokio_websockets(stream).await,
        "sockudo-ws" => sockudo(stream).await,
        "yawc" => yawc(stream).await,
        _ => unreachable!(),
    }
}

pub fn run(lib: &str, addr: SocketAddr) -> Result {
    let lib =
        *LIBS.iter().find(|l| **l == lib).ok_or_else(|| format!("unknown --lib {lib}; one of {LIBS:?}"))?;
    if !addr.ip().is_loopback() {
        return Err("echo-server binds loopback addresses only".into());
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        eprintln!("echo-server {lib} listening on {addr}");
        let mut accepted = 0u64;
        loop {
            let (stream, _) = listener.accept().await?;
            accepted += 1;
            // Bounded: the load generator opens at most a few thousand connections per run.
            if accepted > 1 << 20 {
                return Err("too many connections".into());
            }
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                // The load generator drops its connections without a close handshake.
                let _ = handle(lib, stream).await;
            });
        }
    })
}
