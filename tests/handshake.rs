//! The opening handshake (RFC 6455 §4) through the public API, grouped by RFC section.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use wsproto::handshake::{
    Accept, ClientHandshake, ClientRequest, HandshakeError, Request, ServerHandshake, ServerResponse, WsUrl,
    accept_key,
};
use wsproto::{Config, RngSource};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn config() -> Config {
    Config::default().rng(RngSource::Seeded(7))
}

/// The request of RFC 6455 §1.2, with `extra` header lines before the blank line.
fn request_with(extra: &str) -> Vec<u8> {
    format!(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nOrigin: http://example.com\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// A request with the given header lines only.
fn request_from(lines: &[&str]) -> Vec<u8> {
    let mut head = lines.join("\r\n");
    head.push_str("\r\n\r\n");
    head.into_bytes()
}

fn server_receive(input: &[u8]) -> Result<Option<Request>, HandshakeError> {
    ServerHandshake::new(&config(), Instant::now()).receive(input)
}

fn server_error(input: &[u8]) -> HandshakeError {
    match server_receive(input) {
        Err(err) => err,
        Ok(other) => panic!("expected an error, got {other:?}"),
    }
}

fn response_head(err: HandshakeError) -> String {
    let bytes = err.response().expect("server-side errors have a response");
    let text = String::from_utf8(bytes).expect("ASCII");
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

/// Feeds `input` in `chunks` (sizes, cycled; the rest whole) until the handshake completes or
/// fails; returns the outcome and every byte after the head (trailing plus unfed chunks).
fn server_feed(input: &[u8], chunks: &[usize]) -> (Result<Option<Request>, HandshakeError>, Vec<u8>) {
    let mut server = ServerHandshake::new(&config(), Instant::now());
    let mut rest = input;
    let mut sizes = chunks.iter().copied().filter(|&n| n > 0).cycle();
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        match server.receive(chunk) {
            Ok(None) => {}
            Ok(Some(request)) => {
                let mut after = server.take_trailing().to_vec();
                after.extend_from_slice(rest);
                return (Ok(Some(request)), after);
            }
            Err(err) => return (Err(err), Vec::new()),
        }
    }
    (Ok(None), Vec::new())
}

/// The client twin of [`server_feed`], with a fixed key so responses can be prepared.
fn client_feed(
    request: &ClientRequest,
    response: &dyn Fn(&str) -> Vec<u8>,
    chunks: &[usize],
) -> Result<Option<ServerResponse>, HandshakeError> {
    let mut client = ClientHandshake::new(request.clone(), &config(), Instant::now());
    let input = response(client.key());
    let mut rest = &input[..];
    let mut sizes = chunks.iter().copied().filter(|&n| n > 0).cycle();
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        match client.receive(chunk) {
            Ok(None) => {}
            Ok(Some(mut accepted)) => {
                let mut trailing = accepted.trailing.to_vec();
                trailing.extend_from_slice(rest);
                accepted.trailing = Bytes::from(trailing);
                return Ok(Some(accepted));
            }
            Err(err) => return Err(err),
        }
    }
    Ok(None)
}

fn response_to(key: &str, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(key.as_bytes())
    )
    .into_bytes()
}

fn client_receive(
    request: ClientRequest,
    response: impl Fn(&str) -> Vec<u8>,
) -> Result<Option<ServerResponse>, HandshakeError> {
    client_feed(&request, &response, &[])
}

fn chat_request() -> ClientRequest {
    ClientRequest::new("ws://server.example.com/chat").and_then(|r| r.protocol("chat")).unwrap()
}

// ---------------------------------------------------------------------------------------------
// RFC 6455 §1.3: the accept key

#[test]
fn accept_key_of_the_rfc_example_nonce_is_the_rfc_example_value() {
    assert_eq!(accept_key(KEY.as_bytes()), ACCEPT);
}

// ---------------------------------------------------------------------------------------------
// RFC 6455 §3: WebSocket URIs

#[test]
fn ipv6_url_with_port_and_query_parses_into_its_parts() {
    let url = WsUrl::parse("ws://[::1]:9001/x?y=1").unwrap();
    assert_eq!((url.host(), url.port(), url.path_and_query()), ("::1", 9001, "/x?y=1"));
    assert_eq!(url.host_header(), "[::1]:9001");
    assert!(!url.is_secure());
}

#[test]
fn default_ports_are_80_for_ws_and_443_for_wss() {
    assert_eq!(WsUrl::parse("ws://h").unwrap().port(), 80);
    let url = WsUrl::parse("wss://h/p").unwrap();
    assert_eq!((url.port(), url.is_secure(), url.host_header()), (443, true, "h".to_owned()));
}

#[test]
fn uppercase_scheme_is_accepted() {
    let url: WsUrl = "WSS://Example.com:8443/a".parse().unwrap();
    assert!(url.is_secure());
    assert_eq!(url.to_string(), "wss://Example.com:8443/a");
}

#[test]
fn url_with_a_fragment_is_refused() {
    assert!(matches!(WsUrl::parse("ws://h/chat#x"), Err(HandshakeError::InvalidUrl(_))));
    assert!(ClientRequest::new("wss://h/#").is_err());
}

#[test]
fn urls_with_other_schemes_userinfo_empty_host_or_bad_port_are_refused() {
    for url in ["http://h/", "ws://u@h/", "ws:///x", "ws://h:0/", "ws://h:70000/", "ws://h /"] {
        assert!(matches!(WsUrl::parse(url), Err(HandshakeError::InvalidUrl(_))), "{url}");
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 6455 §4.1: client requirements

#[test]
fn client_and_server_complete_a_round_trip_selecting_chat() {
    let request = ClientRequest::new("ws://server.example.com:9001/chat?room=7")
        .and_then(|r| r.protocol("superchat"))
        .and_then(|r| r.protocol("chat"))
        .and_then(|r| r.origin("http://example.com"))
        .unwrap();
    let now = Instant::now();
    let mut client = ClientHandshake::new(request, &config(), now);
    let mut server = ServerHandshake::new(&config(), now);

    let request = server.receive(client.request_bytes()).unwrap().expect("complete request");
    assert_eq!((request.method(), request.path(), request.query()), ("GET", "/chat", Some("room=7")));
    assert_eq!(request.host(), "server.example.com:9001");
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.protocols(), ["superchat", "chat"]);
    assert_eq!(request.key(), client.key());

    let response = server.accept(&Accept::new().protocol("chat").header("Server", "t")).unwrap();
    let accepted = client.receive(&response).unwrap().expect("complete response");
    assert_eq!(accepted.protocol.as_deref(), Some("chat"));
    assert!(accepted.extensions.is_empty());
    assert!(accepted.headers.iter().any(|(n, v)| n == "Server" && v == b"t"));
    assert!(accepted.trailing.is_empty());
}

#[test]
fn client_hands_on_frame_bytes_that_arrive_with_the_response() {
    let accepted = client_receive(chat_request(), |key| {
        let mut bytes = response_to(key, "");
        bytes.extend_from_slice(b"\x81\x05hello\x89\x00");
        bytes
    });
    assert_eq!(&accepted.unwrap().unwrap().trailing[..], b"\x81\x05hello\x89\x00");
}

#[test]
fn client_refuses_a_wrong_accept_key() {
    let result = client_receive(chat_request(), |_| response_to("some other key", ""));
    assert_eq!(result, Err(HandshakeError::BadAccept));
}

#[test]
fn client_refuses_a_missing_accept_key() {
    let result = client_receive(chat_request(), |_| {
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec()
    });
    assert_eq!(result, Err(HandshakeError::BadAccept));
}

#[test]
fn client_refuses_a_non_101_status_and_the_error_carries_it() {
    for status in [200, 302, 400, 403, 426, 503] {
        let result = client_receive(chat_request(), |_| {
            format!("HTTP/1.1 {status} Nope\r\nContent-Length: 0\r\n\r\n").into_bytes()
        });
        let err = result.unwrap_err();
        assert_eq!(err, HandshakeError::UnexpectedStatus { status });
        assert_eq!(err.status(), Some(status));
    }
}

#[test]
fn client_refuses_a_protocol_it_did_not_offer() {
    let result =
        client_receive(chat_request(), |key| response_to(key, "Sec-WebSocket-Protocol: superchat\r\n"));
    assert_eq!(result, Err(HandshakeError::UnofferedProtocol));
    let none_offered = ClientRequest::new("ws://h/").unwrap();
    let result = client_receive(none_offered, |key| response_to(key, "Sec-WebSocket-Protocol: chat\r\n"));
    assert_eq!(result, Err(HandshakeError::UnofferedProtocol));
}

#[test]
fn client_refuses_an_extension_it_did_not_offer() {
    let result = client_receive(chat_request(), |key| {
        response_to(key, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
    });
    assert_eq!(result, Err(HandshakeError::UnofferedExtension));
    let offered = chat_request().extension("x-a").unwrap();
    let result = client_receive(offered, |key| response_to(key, "Sec-WebSocket-Extensions: x-a, x-b\r\n"));
    assert_eq!(result, Err(HandshakeError::UnofferedExtension));
}

#[test]
fn client_accepts_keep_alive_upgrade_connection_and_mixed_case_names_and_values() {
    let result = client_receive(chat_request(), |key| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nuPGRADE: WebSocket\r\nCONNECTION: keep-alive, Upgrade\r\n\
             sec-websocket-accept: {}\r\nsec-WEBSOCKET-protocol: chat\r\n\r\n",
            accept_key(key.as_bytes())
        )
        .into_bytes()
    });
    assert_eq!(result.unwrap().unwrap().protocol.as_deref(), Some("chat"));
}

#[test]
fn client_refuses_a_response_with_2000_header_fields_without_panicking() {
    let result = client_receive(chat_request(), |key| {
        let mut bytes = response_to(key, &"a: b\r\n".repeat(2000));
        bytes.extend_from_slice(b"\x81\x00");
        bytes
    });
    assert_eq!(result, Err(HandshakeError::ResponseTooLarge));
}

#[test]
fn client_refuses_caller_headers_with_cr_lf_or_nul_and_handshake_owned_names() {
    let request = ClientRequest::new("ws://h/").unwrap();
    for value in ["a\r\nX-Injected: 1", "a\rb", "a\nb", "a\0b"] {
        assert_eq!(request.clone().header("X-Custom", value), Err(HandshakeError::InvalidHeaderValue));
    }
    for name in [
        "Host",
        "upgrade",
        "CONNECTION",
        "Sec-WebSocket-Key",
        "sec-websocket-version",
        "Sec-WebSocket-Accept",
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Extensions",
    ] {
        assert!(
            matches!(request.clone().header(name, "x"), Err(HandshakeError::ReservedHeader(_))),
            "{name}"
        );
    }
    assert_eq!(request.clone().header("Bad:Name", "x"), Err(HandshakeError::InvalidToken("header name")));
    assert_eq!(request.clone().protocol("a b"), Err(HandshakeError::InvalidToken("subprotocol")));
    assert_eq!(request.extension("x\r\n"), Err(HandshakeError::InvalidHeaderValue));
}

#[test]
fn client_times_out_at_the_handshake_deadline() {
    let now = Instant::now();
    let config = config().handshake_timeout(Duration::from_secs(5));
    let mut client = ClientHandshake::new(chat_request(), &config, now);
    assert_eq!(client.poll_timeout(), now + Duration::from_secs(5));
    assert_eq!(client.handle_timeout(now + Duration::from_millis(4999)), Ok(()));
    assert_eq!(client.handle_timeout(now + Duration::from_secs(5)), Err(HandshakeError::Timeout));
}

// ---------------------------------------------------------------------------------------------
// RFC 6455 §4.2.1: reading the client's opening handshake

#[test]
fn server_reads_the_rfc_example_request() {
    let request = server_receive(&request_with("")).unwrap().unwrap();
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), None);
    assert_eq!(request.host(), "server.example.com");
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.protocols(), ["chat", "superchat"]);
    assert_eq!(request.header("SEC-WEBSOCKET-KEY"), Some(KEY.as_bytes()));
    assert_eq!(request.headers().count(), 7);
}

#[test]
fn server_accepts_keep_alive_upgrade_connection_and_mixed_case_names_and_values() {
    let input = request_from(&[
        "GET / HTTP/1.1",
        "hOsT: h",
        "UPGRADE: WebSocket",
        "connection: keep-alive, Upgrade",
        &format!("sec-websocket-key: {KEY}"),
        "SEC-WEBSOCKET-VERSION: 13",
    ]);
    let mut server = ServerHandshake::new(&config(), Instant::now());
    assert!(server.receive(&input).unwrap().is_some());
    let response = String::from_utf8(server.accept(&Accept::new()).unwrap()).unwrap();
    assert!(response.contains(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n")));
}

#[test]
fn server_hands_on_a_frame_pipelined_after_the_request() {
    let mut input = request_with("");
    input.extend_from_slice(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    let mut server = ServerHandshake::new(&config(), Instant::now());
    assert!(server.receive(&input).unwrap().is_some());
    assert_eq!(&server.take_trailing()[..], b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
}

#[test]
fn server_answers_a_non_get_method_with_405_and_allow_get() {
    let err = server_error(&request_with("").replacen(b"GET", b"POST"));
    assert_eq!((err, err.status()), (HandshakeError::MethodNotAllowed, Some(405)));
    assert!(response_head(err).contains("\r\nAllow: GET"));
}

#[test]
fn server_answers_http_1_0_with_400() {
    let err = server_error(&request_with("").replacen(b"HTTP/1.1", b"HTTP/1.0"));
    assert_eq!((err, err.status()), (HandshakeError::UnsupportedHttpVersion, Some(400)));
    assert!(response_head(err).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert_eq!(server_error(&request_with("").replacen(b"HTTP/1.1", b"HTTP/2.0")).status(), Some(400));
}

#[test]
fn server_answers_a_missing_host_with_400() {
    let err = server_error(&request_from(&[
        "GET / HTTP/1.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        &format!("Sec-WebSocket-Key: {KEY}"),
        "Sec-WebSocket-Version: 13",
    ]));
    assert_eq!((err, err.status()), (HandshakeError::MissingHeader("Host"), Some(400)));
}

#[test]
fn server_answers_a_request_without_upgrade_websocket_with_426_naming_websocket() {
    // RFC 7231 §6.5.15: 426 tells the client which protocol to upgrade to.
    for upgrade in ["", "Upgrade: h2c", "Upgrade: websockets"] {
        let key = format!("Sec-WebSocket-Key: {KEY}");
        let mut lines =
            vec!["GET / HTTP/1.1", "Host: h", "Connection: Upgrade", "Sec-WebSocket-Version: 13", &key];
        if !upgrade.is_empty() {
            lines.push(upgrade);
        }
        let err = server_error(&request_from(&lines));
        assert_eq!((err, err.status()), (HandshakeError::NotWebSocket, Some(426)), "{upgrade}");
        assert!(response_head(err).contains("\r\nUpgrade: websocket\r\n"));
    }
}

#[test]
fn server_answers_a_connection_header_without_upgrade_with_400() {
    let err = server_error(&request_with("").replacen(b"Connection: Upgrade", b"Connection: keep-alive"));
    assert_eq!((err, err.status()), (HandshakeError::InvalidHeader("Connection"), Some(400)));
    let err = server_error(&request_with("").replacen(b"Connection: Upgrade", b"X-Connection: Upgrade"));
    assert_eq!((err, err.status()), (HandshakeError::MissingHeader("Connection"), Some(400)));
}

#[test]
fn server_answers_a_version_other_than_13_with_426_and_sec_websocket_version_13() {
    // RFC 6455 §4.2.2 item 4.
    for version in [&b"Sec-WebSocket-Version: 8"[..], b"Sec-WebSocket-Version: 13, 8", b"X-Nothing: 13"] {
        let err = server_error(&request_with("").replacen(b"Sec-WebSocket-Version: 13", version));
        assert_eq!((err, err.status()), (HandshakeError::UnsupportedVersion, Some(426)));
        assert!(response_head(err).contains("\r\nSec-WebSocket-Version: 13"));
    }
}

#[test]
fn server_answers_a_missing_key_with_400() {
    let err = server_error(&request_with("").replacen(b"Sec-WebSocket-Key", b"Sec-WebSocket-Kez"));
    assert_eq!((err, err.status()), (HandshakeError::MissingHeader("Sec-WebSocket-Key"), Some(400)));
}

#[test]
fn server_answers_a_duplicated_key_with_400() {
    let err = server_error(&request_with(&format!("Sec-WebSocket-Key: {KEY}\r\n")));
    assert_eq!((err, err.status()), (HandshakeError::InvalidKey, Some(400)));
}

#[test]
fn server_answers_a_key_that_is_not_base64_of_16_bytes_with_400() {
    for key in [&b"not base64!"[..], b"AAAAAAAAAAAAAAAAAAAAAA==AA", b"AAAAAAAAAAAAAAAAAAAAAAAA", b""] {
        let input = request_with("").replacen(KEY.as_bytes(), key);
        let err = server_error(&input);
        assert_eq!(
            (err, err.status()),
            (HandshakeError::InvalidKey, Some(400)),
            "{}",
            String::from_utf8_lossy(key)
        );
    }
}

#[test]
fn server_answers_malformed_http_with_400() {
    for input in [
        &b"GET\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
    ] {
        let err = server_error(input);
        assert_eq!((err, err.status()), (HandshakeError::Malformed, Some(400)), "{input:?}");
    }
}

#[test]
fn server_answers_a_request_line_longer_than_the_limit_with_414_before_it_ends() {
    let config = config().max_request_line(100);
    let mut server = ServerHandshake::new(&config, Instant::now());
    assert_eq!(server.receive(&[b'G'; 100]), Ok(None));
    let err = server.receive(b"x").unwrap_err();
    assert_eq!((err, err.status()), (HandshakeError::RequestLineTooLong, Some(414)));
    assert!(response_head(err).starts_with("HTTP/1.1 414 URI Too Long\r\n"));
    let long_path = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(9000));
    assert_eq!(server_error(long_path.as_bytes()), HandshakeError::RequestLineTooLong);
}

#[test]
fn server_answers_a_head_larger_than_the_limit_with_431() {
    let err = server_error(&request_with(&format!("Cookie: {}\r\n", "c".repeat(17 << 10))));
    assert_eq!((err, err.status()), (HandshakeError::HeadersTooLarge, Some(431)));
    assert!(response_head(err).starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
}

#[test]
fn server_answers_2000_header_fields_with_431_without_panicking() {
    let err = server_error(&request_with(&"a: b\r\n".repeat(2000)));
    assert_eq!((err, err.status()), (HandshakeError::TooManyHeaders, Some(431)));
    let config = config().max_headers(2000).max_header_bytes(1 << 20);
    let mut server = ServerHandshake::new(&config, Instant::now());
    assert!(server.receive(&request_with(&"a: b\r\n".repeat(1990))).unwrap().is_some());
}

#[test]
fn server_answers_a_header_line_that_never_ends_fed_bytewise_with_431_at_the_limit() {
    let mut server = ServerHandshake::new(&config(), Instant::now());
    assert_eq!(server.receive(b"GET / HTTP/1.1\r\nX-Endless: "), Ok(None));
    let mut fed = 27;
    let err = loop {
        fed += 1;
        match server.receive(b"a") {
            Ok(None) => assert!(fed <= 16 << 10, "still reading after {fed} bytes"),
            Ok(Some(_)) => panic!("no blank line was sent"),
            Err(err) => break err,
        }
    };
    assert_eq!((err, fed), (HandshakeError::HeadersTooLarge, 16 << 10));
    assert_eq!(server.receive(b"\r\n\r\n"), Err(HandshakeError::HeadersTooLarge));
}

#[test]
fn server_parses_a_large_head_fed_bytewise_in_linear_time() {
    let config = config().max_header_bytes(1 << 20);
    let input = request_with(&format!("X-Big: {}\r\n", "b".repeat(1 << 19)));
    let started = Instant::now();
    let mut server = ServerHandshake::new(&config, started);
    let (last, head) = input.split_last().unwrap();
    for byte in head {
        assert_eq!(server.receive(std::slice::from_ref(byte)), Ok(None));
    }
    assert!(server.receive(&[*last]).unwrap().is_some());
    // A quadratic rescan of 512 KiB fed bytewise would take minutes.
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn server_error_responses_close_the_connection_and_have_a_content_length() {
    let err = server_error(&request_with("").replacen(b"GET", b"PUT"));
    let bytes = err.response().unwrap();
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(len) = parsed.parse(&bytes).unwrap() else { panic!("partial") };
    let content_length = parsed.headers.iter().find(|h| h.name == "Content-Length").unwrap();
    let content_length: usize = std::str::from_utf8(content_length.value).unwrap().parse().unwrap();
    assert_eq!(bytes.len() - len, content_length);
    assert!(parsed.headers.iter().any(|h| h.name == "Connection" && h.value == b"close"));
}

// ---------------------------------------------------------------------------------------------
// RFC 6455 §4.2.2: sending the server's opening handshake

#[test]
fn server_refuses_to_select_a_protocol_the_client_did_not_offer() {
    let mut server = ServerHandshake::new(&config(), Instant::now());
    assert!(server.receive(&request_with("")).unwrap().is_some());
    assert_eq!(server.accept(&Accept::new().protocol("v2")), Err(HandshakeError::UnofferedProtocol));
}

#[test]
fn server_refuses_response_headers_with_cr_or_lf() {
    let mut server = ServerHandshake::new(&config(), Instant::now());
    assert!(server.receive(&request_with("")).unwrap().is_some());
    for value in ["a\r\nSet-Cookie: evil", "a\rb", "a\nb"] {
        assert_eq!(
            server.accept(&Accept::new().header("X-A", value)),
            Err(HandshakeError::InvalidHeaderValue)
        );
    }
}

#[test]
fn server_reject_gives_a_complete_response_with_426_extras() {
    let server = ServerHandshake::new(&config(), Instant::now());
    let response = String::from_utf8(server.reject(426, "")).unwrap();
    assert!(response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
    assert!(response.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    assert!(response.contains("\r\nConnection: close\r\n"));
    assert!(response.ends_with("\r\nContent-Length: 0\r\n\r\n"));
    let response = String::from_utf8(server.reject(404, "nothing here")).unwrap();
    assert!(response.starts_with("HTTP/1.1 404 Not Found\r\n"));
    assert!(response.ends_with("\r\nContent-Length: 12\r\n\r\nnothing here"));
}

// ---------------------------------------------------------------------------------------------
// Splitting: incomplete input is not an error, and the split never changes the result

trait ReplaceN {
    fn replacen(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
}

impl ReplaceN for Vec<u8> {
    fn replacen(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
        match self.windows(from.len()).position(|w| w == from) {
            Some(i) => [&self[..i], to, &self[i + from.len()..]].concat(),
            None => panic!("{} not found", String::from_utf8_lossy(from)),
        }
    }
}

/// Requests, valid and not, each with frame bytes after the head.
fn server_inputs() -> Vec<Vec<u8>> {
    let base = request_with("");
    let mut inputs = vec![
        base.clone(),
        request_with("Sec-WebSocket-Extensions: permessage-deflate; x=\"a,b\"\r\n"),
        base.replacen(b"GET", b"POST"),
        base.replacen(b"HTTP/1.1", b"HTTP/1.0"),
        base.replacen(b"Upgrade: websocket", b"Upgrade: h2c"),
        base.replacen(b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 8"),
        base.replacen(KEY.as_bytes(), b"short"),
        request_with(&"a: b\r\n".repeat(150)),
        request_with(&format!("Cookie: {}\r\n", "c".repeat(20_000))),
        format!("GET /{} HTTP/1.1\r\n\r\n", "p".repeat(10_000)).into_bytes(),
        b"\r\nGET / HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n".to_vec(),
        b"garbage\r\n\r\n".to_vec(),
    ];
    for input in &mut inputs {
        input.extend_from_slice(b"\x81\x80\x00\x00\x00\x00");
    }
    inputs
}

/// Builds a server response from the client's key.
type Respond = Box<dyn Fn(&str) -> Vec<u8>>;

fn client_responses() -> Vec<Respond> {
    let with_frame = |mut bytes: Vec<u8>| {
        bytes.extend_from_slice(b"\x81\x02hi");
        bytes
    };
    vec![
        Box::new(move |key: &str| with_frame(response_to(key, "Sec-WebSocket-Protocol: chat\r\n"))),
        Box::new(move |key: &str| with_frame(response_to(key, "Sec-WebSocket-Protocol: other\r\n"))),
        Box::new(move |key: &str| with_frame(response_to(key, "Sec-WebSocket-Extensions: x\r\n"))),
        Box::new(move |_: &str| with_frame(response_to("wrong", ""))),
        Box::new(move |_: &str| with_frame(b"HTTP/1.1 403 Forbidden\r\n\r\n".to_vec())),
        Box::new(move |key: &str| with_frame(response_to(key, &"a: b\r\n".repeat(200)))),
        Box::new(move |key: &str| {
            let text = String::from_utf8(response_to(key, "")).unwrap_or_default();
            with_frame(text.replace("\r\n", "\n").into_bytes())
        }),
    ]
}

#[test]
fn every_request_fed_whole_or_one_byte_at_a_time_gives_the_same_result() {
    for input in server_inputs() {
        let whole = server_feed(&input, &[]);
        assert_eq!(server_feed(&input, &[1]), whole, "{}", String::from_utf8_lossy(&input[..40]));
    }
}

#[test]
fn every_response_fed_whole_or_one_byte_at_a_time_gives_the_same_result() {
    let request = chat_request();
    for response in client_responses() {
        assert_eq!(client_feed(&request, &response, &[1]), client_feed(&request, &response, &[]));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_request_split_at_random_gives_the_same_result(
        which in 0usize..12,
        chunks in proptest::collection::vec(1usize..64, 1..40),
    ) {
        let inputs = server_inputs();
        let input = &inputs[which % inputs.len()];
        prop_assert_eq!(server_feed(input, &chunks), server_feed(input, &[]));
    }

    #[test]
    fn every_response_split_at_random_gives_the_same_result(
        which in 0usize..7,
        chunks in proptest::collection::vec(1usize..64, 1..40),
    ) {
        let responses = client_responses();
        let response = &responses[which % responses.len()];
        let request = chat_request();
        prop_assert_eq!(client_feed(&request, response, &chunks), client_feed(&request, response, &[]));
    }

    #[test]
    fn arbitrary_bytes_never_panic_either_side(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = server_feed(&bytes, &[7]);
        let request = chat_request();
        let _ = client_feed(&request, &|_: &str| bytes.clone(), &[5]);
    }
}
