//! `handshake_server_request`: arbitrary bytes, in arbitrary reads, as a client's opening
//! handshake request.
//!
//! Input: a flags byte (bit 0: small limits — 512-byte head, 128-byte request line, 8
//! fields — instead of the defaults of 16 KiB, 8 KiB and 100; bit 1: accept the first offered
//! extension; bit 2: first try a subprotocol that was not offered; bits 4–7: which offered
//! subprotocol to select, none when out of range), the read sizes ([`Splits::read`]), then the
//! bytes.
//!
//! Checks: no panic; `receive` says "need more" only while fewer than `max_header_bytes`
//! bytes came in (the head is never held beyond that); an error is sticky, has status 400, 405,
//! 414, 426 or 431 and a response starting `HTTP/1.1 <status> `; a request is `GET`, with a
//! path, host and 24-character key, its head ends with a blank line and the bytes after it are
//! handed back whole; `accept` refuses an unoffered subprotocol without changing state, then
//! gives a 101 response that httparse reads as such, with the right `Sec-WebSocket-Accept`
//! and the selected subprotocol and extension; everything after is `OutOfOrder`. The same
//! bytes in one read must give the same result.

use std::time::Instant;

use wsproto::Config;
use wsproto::handshake::{Accept, HandshakeError, Request, ServerHandshake, accept_key};

use super::input::{Input, Splits};

pub fn handshake_server_request(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let splits = Splits::read(&mut input);
    let bytes = input.rest();
    let config = if flags & 1 == 0 {
        Config::default()
    } else {
        Config::default().max_header_bytes(512).max_request_line(128).max_headers(8)
    };
    let split = serve(&config, flags, bytes, splits);
    let whole = serve(&config, flags, bytes, Splits::whole());
    super::trace(&split);
    assert_eq!(split, whole, "the outcome depends on the reads");
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The head has not ended.
    Pending,
    /// A valid request, the bytes after its head, and the 101 response.
    Accepted(Box<Request>, Vec<u8>, Vec<u8>),
    Failed(HandshakeError),
}

fn serve(config: &Config, flags: u8, bytes: &[u8], mut splits: Splits) -> Outcome {
    let mut server = ServerHandshake::new(config, Instant::now());
    let reads = splits.cut(bytes);
    let mut fed = 0;
    for (i, read) in reads.iter().enumerate() {
        fed += read.len();
        match server.receive(read) {
            Ok(None) => assert!(fed < config.max_header_bytes, "{fed} bytes and the head goes on"),
            Ok(Some(request)) => {
                // The head ends with a blank line; what followed it, in this read and later
                // ones, belongs to the WebSocket connection.
                let mut trailing = server.take_trailing().to_vec();
                trailing.extend(reads[i + 1..].concat());
                let head_len = bytes.len() - trailing.len();
                assert_eq!(&bytes[head_len..], &trailing[..], "trailing bytes lost or changed");
                let head = &bytes[..head_len];
                assert!(
                    head.ends_with(b"\n\n") || head.ends_with(b"\n\r\n"),
                    "head ends without a blank line"
                );
                assert!(head_len <= config.max_header_bytes, "a {head_len} byte head was accepted");
                check_request(&request);
                let response = accept(&mut server, &request, flags);
                assert_eq!(server.receive(b"x"), Err(HandshakeError::OutOfOrder));
                return Outcome::Accepted(Box::new(request), trailing, response);
            }
            Err(err) => {
                check_error(err);
                assert_eq!(server.receive(b"GET"), Err(err), "errors are sticky");
                return Outcome::Failed(err);
            }
        }
    }
    Outcome::Pending
}

fn check_request(request: &Request) {
    assert_eq!(request.method(), "GET");
    assert!(request.path().starts_with('/'), "path {:?}", request.path());
    assert!(!request.host().is_empty());
    assert_eq!(request.key().len(), 24, "key {:?}", request.key());
    for protocol in request.protocols() {
        assert!(!protocol.is_empty() && !protocol.contains([',', ' ', '\t']), "protocol {protocol:?}");
    }
}

/// Accepts as `flags` say and checks the response; returns it.
fn accept(server: &mut ServerHandshake, request: &Request, flags: u8) -> Vec<u8> {
    if flags & 4 != 0 {
        // Not a token, so never offered; refused without changing state (accept still works).
        let unoffered = Accept::new().protocol("not offered");
        assert_eq!(server.accept(&unoffered), Err(HandshakeError::UnofferedProtocol));
    }
    let protocol = request.protocols().get(usize::from(flags >> 4)).cloned();
    let extension = request.extensions().first().filter(|_| flags & 2 != 0).cloned();
    let mut answer = Accept::new();
    if let Some(protocol) = &protocol {
        answer = answer.protocol(protocol.clone());
    }
    if let Some(extension) = &extension {
        answer = answer.extension(extension.clone());
    }
    let response = server.accept(&answer).expect("accepting with what the client offered");
    assert!(response.starts_with(b"HTTP/1.1 101 "));

    let mut storage = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Response::new(&mut storage);
    assert_eq!(parsed.parse(&response), Ok(httparse::Status::Complete(response.len())));
    assert_eq!((parsed.version, parsed.code), (Some(1), Some(101)));
    let value = |name: &str| -> Vec<&[u8]> {
        parsed.headers.iter().filter(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value).collect()
    };
    assert_eq!(value("Sec-WebSocket-Accept"), [accept_key(request.key().as_bytes()).as_bytes()]);
    assert_eq!(value("Upgrade"), [b"websocket"]);
    assert_eq!(value("Connection"), [b"Upgrade"]);
    let expected: Vec<&[u8]> = protocol.iter().map(|p| p.as_bytes()).collect();
    assert_eq!(value("Sec-WebSocket-Protocol"), expected);
    let expected: Vec<&[u8]> = extension.iter().map(|e| e.as_bytes()).collect();
    assert_eq!(value("Sec-WebSocket-Extensions"), expected);

    assert_eq!(server.accept(&answer), Err(HandshakeError::OutOfOrder));
    response
}

fn check_error(err: HandshakeError) {
    let status = err.status().unwrap_or_else(|| panic!("{err:?} has no status"));
    assert!(matches!(status, 400 | 405 | 414 | 426 | 431), "{err:?} answers {status}");
    assert!(err.is_request_fault());
    let response = err.response().expect("a request fault has a response");
    assert!(response.starts_with(format!("HTTP/1.1 {status} ").as_bytes()), "{err:?}");
}
