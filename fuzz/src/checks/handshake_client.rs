//! `handshake_client_response`: arbitrary bytes, in arbitrary reads, as the server's answer to
//! a client that offered the subprotocols `chat` and `superchat` and the extension
//! `permessage-foo`.
//!
//! Input: a flags byte (bit 0: small limits — 512-byte head, 8 fields), the read sizes
//! ([`Splits::read`]), then the response, in which every `{ACCEPT}` is replaced by the right
//! `Sec-WebSocket-Accept` value for the client's (seeded) key, so the fuzzer can reach success.
//!
//! Checks: no panic; "need more" only while fewer than `max_header_bytes` bytes came in; an
//! accepted response is one that httparse, read independently, finds to be HTTP/1.1 101 with
//! `Upgrade: websocket`, `Connection: upgrade`, exactly one right `Sec-WebSocket-Accept`, at
//! most one offered subprotocol and only offered extensions, and the bytes after its head are
//! handed back whole; an error has no status except `UnexpectedStatus` (never 101) and no
//! response, and is sticky; after success, `OutOfOrder`. The same bytes in one read must give
//! the same result.

use std::time::Instant;

use wsproto::handshake::{ClientHandshake, ClientRequest, HandshakeError, ServerResponse, accept_key};
use wsproto::{Config, RngSource};

use super::input::{Input, Splits};

const PLACEHOLDER: &[u8] = b"{ACCEPT}";
const PROTOCOLS: [&str; 2] = ["chat", "superchat"];
const EXTENSION: &str = "permessage-foo";

pub fn handshake_client_response(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let splits = Splits::read(&mut input);
    let raw = input.rest();
    let mut config = Config::default().rng(RngSource::Seeded(0xC1));
    if flags & 1 != 0 {
        config = config.max_header_bytes(512).max_headers(8);
    }
    let accept = accept_key(client(&config).key().as_bytes());
    let bytes = replace(raw, PLACEHOLDER, accept.as_bytes());
    let split = connect(&config, &accept, &bytes, splits);
    let whole = connect(&config, &accept, &bytes, Splits::whole());
    super::trace(&split);
    assert_eq!(split, whole, "the outcome depends on the reads");
}

fn client(config: &Config) -> ClientHandshake {
    let request = ClientRequest::new("ws://example.com/chat")
        .and_then(|r| r.protocol(PROTOCOLS[0]))
        .and_then(|r| r.protocol(PROTOCOLS[1]))
        .and_then(|r| r.extension(EXTENSION))
        .expect("a valid request");
    ClientHandshake::new(request, config, Instant::now())
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Pending,
    /// The response, with every byte after its head in `trailing`.
    Accepted(ServerResponse),
    Failed(HandshakeError),
}

fn connect(config: &Config, accept: &str, bytes: &[u8], mut splits: Splits) -> Outcome {
    let mut client = client(config);
    let reads = splits.cut(bytes);
    let mut fed = 0;
    for (i, read) in reads.iter().enumerate() {
        fed += read.len();
        match client.receive(read) {
            Ok(None) => assert!(fed < config.max_header_bytes, "{fed} bytes and the head goes on"),
            Ok(Some(mut response)) => {
                let mut trailing = response.trailing.to_vec();
                trailing.extend(reads[i + 1..].concat());
                let head_len = bytes.len() - trailing.len();
                assert_eq!(&bytes[head_len..], &trailing[..], "trailing bytes lost or changed");
                check_accepted(&bytes[..head_len], accept, &response);
                response.trailing = trailing.into();
                assert_eq!(client.receive(b"x"), Err(HandshakeError::OutOfOrder));
                return Outcome::Accepted(response);
            }
            Err(err) => {
                match err {
                    HandshakeError::UnexpectedStatus { status } => assert_ne!(status, 101),
                    _ => assert_eq!(err.status(), None, "{err:?}"),
                }
                assert_eq!(err.response(), None, "a client answers nothing");
                assert_eq!(client.receive(b"HTTP/1.1"), Err(err), "errors are sticky");
                return Outcome::Failed(err);
            }
        }
    }
    Outcome::Pending
}

/// RFC 6455 §4.1's checks of the server's response, redone on the head with httparse.
fn check_accepted(head: &[u8], accept: &str, response: &ServerResponse) {
    let mut storage = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Response::new(&mut storage);
    assert_eq!(parsed.parse(head), Ok(httparse::Status::Complete(head.len())), "accepted {head:?}");
    assert_eq!((parsed.version, parsed.code), (Some(1), Some(101)), "accepted {head:?}");
    let values = |name: &str| -> Vec<&[u8]> {
        parsed.headers.iter().filter(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value).collect()
    };
    let has_token = |name: &str, token: &str| {
        values(name)
            .iter()
            .flat_map(|v| v.split(|&b| b == b','))
            .any(|e| trim(e).eq_ignore_ascii_case(token.as_bytes()))
    };
    assert!(has_token("Upgrade", "websocket"), "accepted without Upgrade: websocket");
    assert!(has_token("Connection", "upgrade"), "accepted without Connection: upgrade");
    let accepts = values("Sec-WebSocket-Accept");
    assert!(accepts.len() == 1 && trim(accepts[0]) == accept.as_bytes(), "accepted with {accepts:?}");
    match &values("Sec-WebSocket-Protocol")[..] {
        [] => assert_eq!(response.protocol, None),
        [value] => {
            let chosen = response.protocol.as_deref().expect("a subprotocol was chosen");
            assert!(PROTOCOLS.contains(&chosen), "unoffered subprotocol {chosen:?}");
            assert_eq!(trim(value), chosen.as_bytes());
        }
        many => panic!("accepted {} subprotocol fields", many.len()),
    }
    if values("Sec-WebSocket-Extensions").is_empty() {
        assert!(response.extensions.is_empty());
    }
    for extension in &response.extensions {
        let name = extension.split(';').next().unwrap_or_default().trim_matches([' ', '\t']);
        assert!(name.eq_ignore_ascii_case(EXTENSION), "unoffered extension {extension:?}");
    }
    let headers: Vec<(String, Vec<u8>)> =
        parsed.headers.iter().map(|h| (h.name.to_owned(), h.value.to_vec())).collect();
    assert_eq!(response.headers, headers);
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(start, |i| i + 1);
    &s[start..end]
}

/// `bytes` with every `from` replaced by `to`.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = &rest[from.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}
