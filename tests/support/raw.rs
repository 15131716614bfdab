//! A raw WebSocket peer over blocking std sockets that speaks the opening handshake and frames
//! by hand, written independently of the crate so tests can misbehave on purpose (never read,
//! never answer a ping, pace their writes, send what a peer must not).

use super::joined::{Joined, spawn_thread};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// The `Sec-WebSocket-Key` of RFC 6455 §1.3 and the accept value that belongs to it.
pub const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A listener on an ephemeral loopback port, and its address.
pub fn loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("listener address");
    (listener, addr)
}

/// `ws://ADDR/PATH`.
pub fn ws_url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// Reads an HTTP head up to and including the blank line; returns it and any bytes after it.
pub fn read_head(stream: &mut TcpStream) -> io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            let head = String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            return Ok((head, rest));
        }
        match stream.read(&mut chunk)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The value of header `name` (any case) in an HTTP head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A raw client: connects, sends a valid upgrade request for `/ws` with the RFC's example
/// key, and checks the 101 response. Returns the stream (reads time out after 5 s) and the
/// bytes that followed the response.
pub fn raw_client(addr: SocketAddr) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("raw client connects");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let (head, rest) = read_head(&mut stream).expect("a response head");
    assert!(head.starts_with("HTTP/1.1 101 "), "not a 101 response: {head}");
    assert_eq!(header(&head, "Sec-WebSocket-Accept"), Some(RFC_ACCEPT));
    (stream, rest)
}

/// A raw server: accepts one connection, reads the upgrade request and answers 101, with
/// `extra` bytes written in the same `write` as the response.
pub fn raw_server_accept(listener: &TcpListener, extra: &[u8]) -> TcpStream {
    let (mut stream, _) = listener.accept().expect("raw server accepts");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (head, _) = read_head(&mut stream).expect("a request head");
    let key = header(&head, "Sec-WebSocket-Key").expect("a Sec-WebSocket-Key");
    let accept = wsproto::handshake::accept_key(key.as_bytes());
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes();
    response.extend_from_slice(extra);
    stream.write_all(&response).unwrap();
    stream
}

/// Reads until the peer's end of stream (or the read timeout, which fails the test).
pub fn read_to_eof(stream: &mut TcpStream, mut bytes: Vec<u8>) -> Vec<u8> {
    stream.read_to_end(&mut bytes).expect("the peer ends the stream before the read timeout");
    bytes
}

/// An unmasked frame with FIN set, as a server sends it (or a client must not).
pub fn unmasked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() <= 125, "short frames only");
    let mut frame = vec![0x80 | opcode, payload.len() as u8];
    frame.extend_from_slice(payload);
    frame
}

/// One frame with FIN set, masked with `mask` (a client's) or not (a server's), of any length.
pub fn encode_frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => frame.push(mask_bit | len as u8),
        len @ 126..=65535 => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            frame.extend_from_slice(&key);
            frame.extend(payload.iter().zip(key.iter().cycle()).map(|(b, m)| b ^ m));
        }
        None => frame.extend_from_slice(payload),
    }
    frame
}

/// A frame read by [`read_frame`]: its first byte (FIN, RSV, opcode) and unmasked payload.
#[derive(Debug, PartialEq, Eq)]
pub struct RawFrame {
    pub first: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// Reads one frame, unmasking it if it is masked.
pub fn read_frame(stream: &mut impl Read) -> io::Result<RawFrame> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head)?;
    let masked = head[1] & 0x80 != 0;
    let len = match head[1] & 0x7F {
        126 => {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext)?;
            u64::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext)?;
            u64::from_be_bytes(ext)
        }
        len => u64::from(len),
    };
    let mut key = [0u8; 4];
    if masked {
        stream.read_exact(&mut key)?;
    }
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload)?;
    if masked {
        payload.iter_mut().zip(key.iter().cycle()).for_each(|(b, m)| *b ^= m);
    }
    Ok(RawFrame { first: head[0], masked, payload })
}

/// A raw client for a server that runs with nobody polling it (a split socket's own task):
/// sends a ping and expects its pong, waits (silent) for the server's keep-alive ping and
/// answers it, then closes with 1000 and expects the close echo; returns what follows the
/// echo (nothing, once the server ends the stream). Reads time out after 3 s.
pub fn ping_await_keep_alive_then_close(addr: SocketAddr) -> Vec<u8> {
    let (mut tcp, rest) = raw_client(addr);
    assert!(rest.is_empty());
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(3))).unwrap();
    tcp.write_all(&encode_frame(0x9, b"are you there", Some([1, 2, 3, 4]))).unwrap();
    let pong = read_frame(&mut tcp).expect("a pong");
    assert_eq!((pong.first, pong.payload.as_slice()), (0x8A, &b"are you there"[..]));
    let ping = read_frame(&mut tcp).expect("a keep-alive ping");
    assert_eq!(ping.first, 0x89, "a ping, not {:02x}", ping.first);
    tcp.write_all(&encode_frame(0xA, &ping.payload, Some([5, 6, 7, 8]))).unwrap();
    tcp.write_all(&encode_frame(0x8, &[0x03, 0xE8], Some([9, 9, 9, 9]))).unwrap();
    let close = read_frame(&mut tcp).unwrap();
    assert_eq!((close.first, close.payload.as_slice()), (0x88, &[0x03, 0xE8][..]), "the close echo");
    read_to_eof(&mut tcp, Vec::new())
}

/// Messages of the backpressure tests: 400 of 64 KiB (25 MiB, more than the loopback socket
/// buffers hold), each numbered in its first 8 bytes.
pub const BACKPRESSURE_MESSAGE: usize = 64 << 10;
pub const BACKPRESSURE_TOTAL: u64 = 400;

/// A raw client that reads nothing until told to, then checks the [`BACKPRESSURE_TOTAL`]
/// numbered messages in order, answers the close, and returns what follows it (nothing, once
/// the server ends the stream).
pub fn spawn_held_back_reader(addr: SocketAddr) -> (std::sync::mpsc::Sender<()>, Joined<Vec<u8>>) {
    let (start_reading, go) = std::sync::mpsc::channel::<()>();
    let peer = spawn_thread(move || {
        let (tcp, rest) = raw_client(addr);
        go.recv().unwrap();
        // Frames may have come in the same read as the 101.
        let mut input = Read::chain(rest.as_slice(), &tcp);
        for i in 0..BACKPRESSURE_TOTAL {
            let frame = read_frame(&mut input).unwrap_or_else(|e| panic!("message {i}: {e}"));
            assert_eq!((frame.first, frame.payload.len()), (0x82, BACKPRESSURE_MESSAGE), "message {i}");
            assert_eq!(frame.payload[..8], i.to_le_bytes(), "message {i} arrives in order");
        }
        let close = read_frame(&mut input).unwrap();
        assert_eq!(close.first, 0x88);
        (&tcp).write_all(&encode_frame(0x8, &close.payload, Some([1, 2, 3, 4]))).unwrap();
        let mut after_close = Vec::new();
        Read::read_to_end(&mut input, &mut after_close).expect("the server ends the stream");
        after_close
    });
    (start_reading, peer)
}
