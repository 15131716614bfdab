//! A hostile peer against the sans-IO opening handshake (RFC 6455 §4), one section per class of
//! past advisory, every input fed in one read and one byte at a time:
//!
//! - quadratic parsing of a head that arrives in pieces (tungstenite CVE-2023-43669): a header
//!   line that never ends gets 431 at the limit, in linear time and bounded memory;
//! - too many header fields (ws CVE-2024-37890), a request line over the limit;
//! - requests that are not WebSocket upgrades, answered with the right status;
//! - a peer that never finishes its head (slowloris), on a virtual clock;
//! - frames that arrive in the same segment as the handshake;
//! - responses a client must refuse, and header injection through the caller's own values.

mod common;
mod support;

use std::time::{Duration, Instant};

use common::*;
use support::heap::*;
use wsproto::handshake::{
    Accept, ClientHandshake, ClientRequest, HandshakeError, Request, ServerHandshake, ServerResponse,
    accept_key,
};
use wsproto::{Config, Connection, Event, Message, RngSource, Role};

/// Counts the heap, for the bounds on memory (see `support::heap`).
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A valid upgrade request with `extra` header lines (each ending in CRLF) before the blank line.
fn request(extra: &str) -> Vec<u8> {
    format!(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// `request("")` with one header line replaced (or removed, with an empty `to`).
fn request_replacing(from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(request("")).unwrap();
    assert!(text.contains(from), "{from}");
    let to = if to.is_empty() { String::new() } else { format!("{to}\r\n") };
    text.replacen(&format!("{from}\r\n"), &to, 1).into_bytes()
}

/// How a head is cut into reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    Whole,
    Every(usize),
}

const CUTS: [Cut; 3] = [Cut::Whole, Cut::Every(1), Cut::Every(7)];

impl Cut {
    fn size(self, total: usize) -> usize {
        match self {
            Self::Whole => total.max(1),
            Self::Every(n) => n,
        }
    }
}

/// What feeding a handshake gave: its final result, how many bytes it had been given when
/// that result came, and the bytes after the head (trailing plus anything not yet fed).
#[derive(Debug)]
struct Fed<T> {
    result: Result<Option<T>, HandshakeError>,
    at: usize,
    after: Vec<u8>,
}

fn feed_server(config: &Config, input: &[u8], cut: Cut) -> Fed<Request> {
    let mut server = ServerHandshake::new(config, Instant::now());
    let mut at = 0;
    for chunk in input.chunks(cut.size(input.len())) {
        at += chunk.len();
        match server.receive(chunk) {
            Ok(None) => {}
            Ok(Some(request)) => {
                let mut after = server.take_trailing().to_vec();
                after.extend_from_slice(&input[at..]);
                return Fed { result: Ok(Some(request)), at, after };
            }
            Err(err) => {
                // Sticky: the same error for whatever comes next.
                assert_eq!(server.receive(b"GET / HTTP/1.1\r\n\r\n").unwrap_err(), err);
                return Fed { result: Err(err), at, after: Vec::new() };
            }
        }
    }
    Fed { result: Ok(None), at, after: Vec::new() }
}

fn server_error(config: &Config, input: &[u8], cut: Cut) -> (HandshakeError, usize) {
    let fed = feed_server(config, input, cut);
    match fed.result {
        Err(err) => (err, fed.at),
        other => panic!("{cut:?}: expected an error, got {other:?}"),
    }
}

/// The status line and headers of the error response for `err`.
fn response_head(err: HandshakeError) -> String {
    let bytes = err.response().expect("a request fault has a response");
    let text = String::from_utf8(bytes).expect("ASCII");
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

fn config() -> Config {
    Config::default().rng(RngSource::Seeded(9))
}

fn client_handshake(request: ClientRequest) -> ClientHandshake {
    ClientHandshake::new(request, &config(), Instant::now())
}

fn feed_client(client: &mut ClientHandshake, input: &[u8], cut: Cut) -> Fed<ServerResponse> {
    let mut at = 0;
    for chunk in input.chunks(cut.size(input.len())) {
        at += chunk.len();
        match client.receive(chunk) {
            Ok(None) => {}
            Ok(Some(response)) => {
                let mut after = response.trailing.to_vec();
                after.extend_from_slice(&input[at..]);
                return Fed { result: Ok(Some(response)), at, after };
            }
            Err(err) => {
                assert_eq!(client.receive(b"HTTP/1.1 101 OK\r\n\r\n").unwrap_err(), err, "sticky");
                return Fed { result: Err(err), at, after: Vec::new() };
            }
        }
    }
    Fed { result: Ok(None), at, after: Vec::new() }
}

/// A 101 response for `key` with `extra` header lines.
fn response_for(key: &str, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(key.as_bytes())
    )
    .into_bytes()
}

// ------------------------------------------------------------------ CVE-2023-43669

/// A head whose last header line never ends: the prefix, then `a` forever.
fn endless_line(total: usize) -> Vec<u8> {
    let mut input = b"GET /chat HTTP/1.1\r\nHost: h\r\nX-Endless: ".to_vec();
    input.resize(total, b'a');
    input
}

#[test]
fn a_header_line_that_never_ends_gets_431_once_the_limit_is_hit() {
    let _alone = alone();
    for limit in [Config::default().max_header_bytes, 1 << 20] {
        let config = config().max_header_bytes(limit);
        // Twice the limit is on offer; the server must stop at the limit.
        let input = endless_line(2 * limit);
        for cut in [Cut::Whole, Cut::Every(1), Cut::Every(7), Cut::Every(1000)] {
            let probe = HeapProbe::this_thread();
            let (err, at) = server_error(&config, &input, cut);
            let peak = probe.peak_growth();
            assert_eq!((err, err.status()), (HandshakeError::HeadersTooLarge, Some(431)), "{cut:?}");
            // RFC 6585 §5: 431 Request Header Fields Too Large, at the read that reaches the limit.
            let expected =
                if cut == Cut::Whole { input.len() } else { limit.div_ceil(cut.size(0)) * cut.size(0) };
            assert_eq!(at, expected, "{cut:?}");
            assert!(response_head(err).starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
            // Never more than the limit is buffered, in a vector that doubles as it grows (its
            // last doubling may overshoot the limit, and a moving reallocation holds both).
            assert!(
                peak <= 3 * limit + (4 << 10),
                "{cut:?}: peak heap +{} for a {} limit",
                kib(peak),
                kib(limit)
            );
            if limit == 1 << 20 {
                eprintln!(
                    "endless header line, 1 MiB limit, {cut:?}: 431 at byte {at}, peak heap +{}",
                    kib(peak)
                );
            }
        }
    }
}

#[test]
fn endless_empty_lines_before_the_request_line_get_431_once_the_limit_is_hit() {
    let _shared = shared();
    let config = config();
    let limit = config.max_header_bytes;
    let input = b"\r\n".repeat(limit);
    for cut in CUTS {
        let (err, at) = server_error(&config, &input, cut);
        assert_eq!(err, HandshakeError::HeadersTooLarge, "{cut:?}");
        assert!(at <= limit + cut.size(0) || cut == Cut::Whole);
    }
}

/// The time to feed the endless line up to `limit` in reads of `read` bytes; the best of five.
fn time_to_431(limit: usize, read: usize) -> Duration {
    let config = config().max_header_bytes(limit);
    let input = endless_line(limit);
    (0..5)
        .map(|_| {
            let started = Instant::now();
            let (err, _) = server_error(&config, &input, Cut::Every(read));
            assert_eq!(err, HandshakeError::HeadersTooLarge);
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn a_header_line_that_never_ends_costs_linear_time_however_it_is_cut() {
    let _alone = alone();
    // There is no hook to count the bytes examined from outside the crate (the crate's own
    // `head::tests::every_byte_is_examined_once_however_the_input_is_split` counts them), so
    // wall time is compared, generously. A parser that rescans its buffer on every read would
    // examine ~5 * 10^11 bytes here, not 10^6: minutes, not milliseconds.
    let mib = 1 << 20;
    let whole = time_to_431(mib, mib);
    let bytewise = time_to_431(mib, 1);
    let small = time_to_431(mib / 16, 1);
    eprintln!("1 MiB head: whole {whole:?}, byte by byte {bytewise:?}; 64 KiB byte by byte {small:?}");
    assert!(
        bytewise <= 20 * whole.max(Duration::from_millis(1)),
        "byte by byte took {bytewise:?}, one read {whole:?}"
    );
    // Linear: 16 times the bytes, about 16 times the time (quadratic would be 256 times).
    assert!(bytewise <= 64 * small.max(Duration::from_micros(100)), "1 MiB {bytewise:?}, 64 KiB {small:?}");
}

#[test]
fn a_response_header_line_that_never_ends_fails_the_client_at_the_limit() {
    let _shared = shared();
    let limit = config().max_header_bytes;
    let mut input = b"HTTP/1.1 101 Switching Protocols\r\nX-Endless: ".to_vec();
    input.resize(2 * limit, b'b');
    for cut in CUTS {
        let mut client = client_handshake(ClientRequest::new("ws://h/").unwrap());
        let fed = feed_client(&mut client, &input, cut);
        assert_eq!(fed.result.unwrap_err(), HandshakeError::ResponseTooLarge, "{cut:?}");
        if cut != Cut::Whole {
            assert!(fed.at <= limit + cut.size(0), "{cut:?}: read {} bytes", fed.at);
        }
    }
}

// ------------------------------------------------------------------ limits: 414, 431

#[test]
fn a_request_line_over_the_limit_gets_414_whether_it_arrives_whole_or_byte_by_byte() {
    let _shared = shared();
    let config = config();
    let max = config.max_request_line;
    let line_of = |len: usize| {
        let mut line = b"GET /".to_vec();
        line.resize(len - " HTTP/1.1".len(), b'p');
        line.extend_from_slice(b" HTTP/1.1");
        line
    };
    // Longer than the line limit by one, by double, and longer than the whole head limit too;
    // finished with a CRLF and a valid rest of request, or never finished.
    for len in [max + 1, 2 * max, config.max_header_bytes + 4000] {
        for finished in [true, false] {
            let mut input = line_of(len);
            if finished {
                input.extend_from_slice(b"\r\nHost: h\r\n\r\n");
            }
            for cut in CUTS {
                let (err, at) = server_error(&config, &input, cut);
                assert_eq!(
                    (err, err.status()),
                    (HandshakeError::RequestLineTooLong, Some(414)),
                    "{len} bytes, finished: {finished}, {cut:?}"
                );
                if cut == Cut::Every(1) {
                    assert_eq!(at, max + 1, "fails at the first byte over the limit");
                }
            }
        }
    }
    // Exactly at the limit is fine.
    let mut input = line_of(max);
    input.extend_from_slice(&request("")["GET /chat HTTP/1.1".len()..]);
    for cut in CUTS {
        assert!(feed_server(&config, &input, cut).result.is_ok(), "{cut:?}");
    }
}

#[test]
fn two_thousand_header_fields_get_431_before_the_rest_is_read() {
    let _shared = shared();
    let config = config();
    let max = config.max_headers;
    let fields: String = (0..2000).map(|i| format!("X-F{i}: {i}\r\n")).collect();
    let input = request(&fields);
    let base_fields = 5; // Host, Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version
    // The LF that ends field number max + 1.
    let head = String::from_utf8(input.clone()).unwrap();
    let over = head.match_indices('\n').nth(max + 1).map(|(i, _)| i + 1).unwrap();
    for cut in CUTS {
        let (err, at) = server_error(&config, &input, cut);
        assert_eq!((err, err.status()), (HandshakeError::TooManyHeaders, Some(431)), "{cut:?}");
        if cut == Cut::Every(1) {
            assert_eq!(at, over, "fails at the end of field {}", max + 1);
        }
        assert!(response_head(err).starts_with("HTTP/1.1 431 "));
    }
    // With room for them, the same request is fine: it is the limit that refuses, not a crash.
    let roomy = config.max_headers(2000 + base_fields).max_header_bytes(1 << 20);
    for cut in CUTS {
        let request = feed_server(&roomy, &input, cut).result.unwrap().expect("complete");
        assert_eq!(request.headers().count(), 2000 + base_fields);
    }
}

#[test]
fn a_response_with_2000_header_fields_fails_the_client() {
    let _shared = shared();
    let fields: String = (0..2000).map(|i| format!("X-F{i}: {i}\r\n")).collect();
    for cut in CUTS {
        let mut client = client_handshake(ClientRequest::new("ws://h/").unwrap());
        let input = response_for(client.key(), &fields);
        let fed = feed_client(&mut client, &input, cut);
        assert_eq!(fed.result.unwrap_err(), HandshakeError::ResponseTooLarge, "{cut:?}");
    }
}

// ------------------------------------------------------------------ not a WebSocket upgrade

#[test]
fn a_missing_duplicated_or_malformed_key_gets_400() {
    let _shared = shared();
    let config = config();
    let cases = [
        (
            request_replacing(&format!("Sec-WebSocket-Key: {KEY}"), ""),
            HandshakeError::MissingHeader("Sec-WebSocket-Key"),
        ),
        (request(&format!("Sec-WebSocket-Key: {KEY}\r\n")), HandshakeError::InvalidKey),
        (request("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"), HandshakeError::InvalidKey),
        (
            request_replacing(&format!("Sec-WebSocket-Key: {KEY}"), "Sec-WebSocket-Key: c2hvcnQ="),
            HandshakeError::InvalidKey,
        ),
        (
            request_replacing(
                &format!("Sec-WebSocket-Key: {KEY}"),
                "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==",
            ),
            HandshakeError::InvalidKey,
        ),
        (
            request_replacing(&format!("Sec-WebSocket-Key: {KEY}"), "Sec-WebSocket-Key:"),
            HandshakeError::InvalidKey,
        ),
    ];
    for (input, expected) in cases {
        for cut in CUTS {
            let (err, _) = server_error(&config, &input, cut);
            assert_eq!((err, err.status()), (expected, Some(400)), "{cut:?}");
            assert!(response_head(err).starts_with("HTTP/1.1 400 Bad Request\r\n"));
        }
    }
}

#[test]
fn version_8_gets_426_with_sec_websocket_version_13_in_the_response() {
    let _shared = shared();
    let config = config();
    for version in
        ["Sec-WebSocket-Version: 8", "Sec-WebSocket-Version: 7", "Sec-WebSocket-Version: 13, 8", ""]
    {
        let input = request_replacing("Sec-WebSocket-Version: 13", version);
        for cut in CUTS {
            let (err, _) = server_error(&config, &input, cut);
            assert_eq!((err, err.status()), (HandshakeError::UnsupportedVersion, Some(426)), "{version:?}");
            let head = response_head(err);
            assert!(head.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{head}");
            // RFC 6455 §4.2.2 item 4: the versions the server understands.
            assert!(
                head.contains("\r\nSec-WebSocket-Version: 13\r\n")
                    || head.ends_with("\r\nSec-WebSocket-Version: 13")
            );
        }
    }
}

#[test]
fn post_gets_405_and_http_1_0_gets_400() {
    let _shared = shared();
    let config = config();
    let text = String::from_utf8(request("")).unwrap();
    let cases = [
        (text.replacen("GET", "POST", 1), HandshakeError::MethodNotAllowed, 405),
        (text.replacen("GET", "PUT", 1), HandshakeError::MethodNotAllowed, 405),
        (text.replacen("HTTP/1.1", "HTTP/1.0", 1), HandshakeError::UnsupportedHttpVersion, 400),
        (text.replacen("HTTP/1.1", "HTTP/2.0", 1), HandshakeError::UnsupportedHttpVersion, 400),
    ];
    for (input, expected, status) in cases {
        for cut in CUTS {
            let (err, _) = server_error(&config, input.as_bytes(), cut);
            assert_eq!((err, err.status()), (expected, Some(status)), "{cut:?}");
        }
    }
    assert!(response_head(HandshakeError::MethodNotAllowed).contains("\r\nAllow: GET"));
}

#[test]
fn connection_keep_alive_upgrade_and_mixed_case_are_accepted() {
    let _shared = shared();
    let config = config();
    let variants = [
        request_replacing("Connection: Upgrade", "Connection: keep-alive, Upgrade"),
        request_replacing("Connection: Upgrade", "connection: UPGRADE"),
        request_replacing("Connection: Upgrade", "Connection: keep-alive\r\nCONNECTION: upgrade"),
        request_replacing("Upgrade: websocket", "UPGRADE: WebSocket"),
        request_replacing(&format!("Sec-WebSocket-Key: {KEY}"), &format!("sec-websocket-KEY:   {KEY}  ")),
        request_replacing("Sec-WebSocket-Version: 13", "SEC-WEBSOCKET-VERSION: 13"),
        String::from_utf8(request("")).unwrap().replace("\r\n", "\n").into_bytes(),
    ];
    for input in variants {
        for cut in CUTS {
            let request = feed_server(&config, &input, cut).result;
            let request = request.unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&input)));
            assert_eq!(request.expect("complete").key(), KEY);
        }
    }
}

// ------------------------------------------------------------------ slowloris, on a virtual clock

#[test]
fn a_client_that_never_finishes_its_request_times_out_at_the_handshake_deadline() {
    let _shared = shared();
    let start = Instant::now();
    let config = config().handshake_timeout(Duration::from_millis(300));
    let mut server = ServerHandshake::new(&config, start);
    let deadline = start + Duration::from_millis(300);
    assert_eq!(server.poll_timeout(), deadline);
    // One byte every 50 ms of a header line that never ends: activity does not move the deadline.
    let input = endless_line(1000);
    let mut now = start;
    for byte in &input {
        now += Duration::from_millis(50);
        if now >= deadline {
            break;
        }
        assert_eq!(server.receive(std::slice::from_ref(byte)).unwrap(), None);
        assert_eq!(server.handle_timeout(now), Ok(()));
        assert_eq!(server.poll_timeout(), deadline);
    }
    assert_eq!(server.handle_timeout(deadline), Err(HandshakeError::Timeout));
    // Nothing to answer: close the connection. The failure is sticky.
    assert_eq!(HandshakeError::Timeout.response(), None);
    assert_eq!(server.receive(b"\r\n\r\n"), Err(HandshakeError::Timeout));

    let mut client = ClientHandshake::new(ClientRequest::new("ws://h/").unwrap(), &config, start);
    assert_eq!(client.receive(b"HTTP/1.1 101 Swi").unwrap(), None);
    assert_eq!(client.handle_timeout(deadline - Duration::from_millis(1)), Ok(()));
    assert_eq!(client.handle_timeout(deadline), Err(HandshakeError::Timeout));
    assert_eq!(client.receive(b"tching Protocols\r\n\r\n"), Err(HandshakeError::Timeout));
}

// ------------------------------------------------------------------ frames in the same segment

#[test]
fn a_request_followed_by_frames_in_one_segment_has_the_frames_processed() {
    let _shared = shared();
    let config = config();
    let head = request("");
    let frames = client_stream(&[RawFrame::text("first"), RawFrame::ping("p"), RawFrame::binary([1, 2, 3])]);
    let input = [head.clone(), frames.clone()].concat();
    // Every cut point, including inside the blank line and inside the first frame.
    let cuts: Vec<Cut> = CUTS.into_iter().chain((1..input.len()).map(Cut::Every)).collect();
    for cut in cuts {
        let fed = feed_server(&config, &input, cut);
        assert!(fed.result.unwrap().is_some(), "{cut:?}");
        assert_eq!(fed.after, frames, "{cut:?}: the bytes after the head are the frames");
        let now = Instant::now();
        let mut server = Connection::new(Role::Server, config.clone(), now);
        let got = feed(&mut server, now, &fed.after, Split::ByteByByte).unwrap();
        assert_eq!(messages(&got), [Message::Text("first".into()), Message::Binary(vec![1, 2, 3].into())]);
        assert!(got.iter().any(|e| matches!(e, Event::Ping(p) if &p[..] == b"p")));
        let pong = queued_frames(&mut server);
        assert_eq!((pong.len(), pong[0].opcode, &pong[0].payload[..]), (1, op::PONG, &b"p"[..]));
    }
}

#[test]
fn a_response_followed_by_frames_in_one_segment_has_the_frames_processed() {
    let _shared = shared();
    let frames = server_stream(&[RawFrame::text("hello"), RawFrame::close(1000, "bye")]);
    for cut in CUTS.into_iter().chain([Cut::Every(2), Cut::Every(50)]) {
        let mut client = client_handshake(ClientRequest::new("ws://h/").unwrap());
        let input = [response_for(client.key(), ""), frames.clone()].concat();
        let fed = feed_client(&mut client, &input, cut);
        assert!(fed.result.unwrap().is_some(), "{cut:?}");
        assert_eq!(fed.after, frames, "{cut:?}");
        let now = Instant::now();
        let mut conn = Connection::new(Role::Client, config(), now);
        let got = feed(&mut conn, now, &fed.after, Split::Whole).unwrap();
        assert_eq!(messages(&got), [Message::Text("hello".into())]);
        assert!(the_close(&got).is_clean());
    }
}

// ------------------------------------------------------------------ responses a client refuses

#[test]
fn a_bad_or_missing_accept_or_an_unoffered_subprotocol_fails_the_client() {
    let _shared = shared();
    type Respond = fn(&str) -> Vec<u8>;
    let cases: [(Respond, HandshakeError); 6] = [
        (|_| response_for("wrong key", ""), HandshakeError::BadAccept),
        (
            |key| {
                let text = String::from_utf8(response_for(key, "")).unwrap();
                let line = format!("Sec-WebSocket-Accept: {}\r\n", accept_key(key.as_bytes()));
                text.replace(&line, "").into_bytes()
            },
            HandshakeError::BadAccept,
        ),
        (
            |key| response_for(key, &format!("Sec-WebSocket-Accept: {}\r\n", accept_key(key.as_bytes()))),
            HandshakeError::BadAccept,
        ),
        (|key| response_for(key, "Sec-WebSocket-Protocol: superchat\r\n"), HandshakeError::UnofferedProtocol),
        (|key| response_for(key, "Sec-WebSocket-Protocol: CHAT\r\n"), HandshakeError::UnofferedProtocol),
        (
            |key| response_for(key, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            HandshakeError::UnofferedExtension,
        ),
    ];
    for (respond, expected) in cases {
        for cut in CUTS {
            let request = ClientRequest::new("ws://h/chat").unwrap().protocol("chat").unwrap();
            let mut client = client_handshake(request);
            let mut input = respond(client.key());
            // A frame in the same segment must not reach anyone.
            input.extend_from_slice(&server_stream(&[RawFrame::text("never seen")]));
            let fed = feed_client(&mut client, &input, cut);
            assert_eq!(fed.result.unwrap_err(), expected, "{cut:?}");
            assert_eq!(expected.status(), None, "nothing to answer: the client just closes");
        }
    }
}

// ------------------------------------------------------------------ header injection

#[test]
fn cr_or_lf_in_caller_supplied_header_values_is_refused() {
    let _shared = shared();
    let bad_values =
        ["a\r\nX-Injected: 1", "a\nX-Injected: 1", "a\rb", "\r\n\r\nGET /evil HTTP/1.1", "nul\0", "esc\x1b"];
    let base = ClientRequest::new("ws://h/").unwrap();
    for value in bad_values {
        assert_eq!(
            base.clone().header("X-Custom", value),
            Err(HandshakeError::InvalidHeaderValue),
            "{value:?}"
        );
        assert_eq!(base.clone().origin(value), Err(HandshakeError::InvalidHeaderValue), "{value:?}");
        assert!(base.clone().extension(format!("x-ext; p={value}")).is_err(), "{value:?}");
        assert!(base.clone().protocol(value).is_err(), "{value:?}");
    }
    for name in ["X-A\r\nX-B", "X-A:", "X A", "", "X-A\n"] {
        assert!(base.clone().header(name, "v").is_err(), "{name:?}");
    }
    assert!(ClientRequest::new("ws://h/a\r\nX-Injected: 1").is_err());
    assert!(ClientRequest::new("ws://h\r\nX: 1/").is_err());

    // The server side: `accept` refuses, and the handshake stays ready for a clean answer.
    let config = config();
    let mut server = ServerHandshake::new(&config, Instant::now());
    assert!(server.receive(&request("Sec-WebSocket-Protocol: chat\r\n")).unwrap().is_some());
    for value in bad_values {
        let accept = Accept::new().header("Set-Cookie", value);
        assert_eq!(server.accept(&accept), Err(HandshakeError::InvalidHeaderValue), "{value:?}");
        assert!(server.accept(&Accept::new().header(format!("X-{value}"), "v")).is_err(), "{value:?}");
        assert!(server.accept(&Accept::new().extension(format!("x; {value}"))).is_err(), "{value:?}");
        assert_eq!(server.accept(&Accept::new().protocol(value)), Err(HandshakeError::UnofferedProtocol));
    }
    let response = server.accept(&Accept::new().protocol("chat").header("Set-Cookie", "id=1")).unwrap();
    let text = String::from_utf8(response).unwrap();
    assert!(!text.contains("Injected") && !text.contains("evil"), "{text}");
    assert_eq!(text.matches("\r\n\r\n").count(), 1);
    assert!(text.ends_with("Set-Cookie: id=1\r\n\r\n"), "{text}");
    // A rejection's body cannot add headers either: it follows the blank line, counted by
    // Content-Length.
    let rejection = String::from_utf8(server.reject(403, "x\r\nX-Injected: 1\r\n\r\n")).unwrap();
    let (head, body) = rejection.split_once("\r\n\r\n").unwrap();
    assert!(!head.contains("Injected"), "{head}");
    assert!(head.contains(&format!("Content-Length: {}", body.len())), "{rejection}");
}
