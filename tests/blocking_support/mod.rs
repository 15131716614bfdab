//! Support for the blocking adapter's tests: a time bound for every test, a loopback
//! listener, and a raw peer that speaks the opening handshake and frames by hand, written
//! independently of the crate so tests can misbehave on purpose.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The `Sec-WebSocket-Key` of RFC 6455 §1.3 and the accept value that belongs to it.
pub const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Runs `test` on its own thread and fails when it takes longer than `limit`, so that a hung
/// socket fails the test instead of the whole run. A panic inside `test` is re-raised here.
pub fn within<T: Send + 'static>(limit: Duration, test: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    let handle = thread::Builder::new()
        .name("bounded test body".into())
        .spawn(move || {
            let value = test();
            let _ = done.send(());
            value
        })
        .expect("spawn the test body");
    match finished.recv_timeout(limit) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(value) => value,
            Err(panic) => panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test did not finish within {limit:?}"),
    }
}

/// Joins a helper thread, re-raising its panic with the thread's own message.
pub fn join<T>(handle: thread::JoinHandle<T>) -> T {
    handle.join().unwrap_or_else(|panic| panic::resume_unwind(panic))
}

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
/// key, and checks the 101 response. Returns the stream and bytes that followed the response.
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

/// The size on the wire of a frame with `payload` bytes (RFC 6455 §5.2): 2 header bytes,
/// 2 or 8 more for the extended length, and 4 for a client's mask key.
pub fn frame_len(payload: usize, masked: bool) -> u64 {
    let extended = match payload {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    (2 + extended + if masked { 4 } else { 0 } + payload) as u64
}
