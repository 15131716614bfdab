//! The client's side of the opening handshake (RFC 6455 §4.1): [`ClientHandshake`] sends a
//! [`ClientRequest`] and checks the server's response.
//!
//! Panics: none.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;

use super::client_request::ClientRequest;
use super::fields::{self, Field};
use super::head::{HeadReader, Limits};
use super::{HandshakeError, accept_key};
use crate::{Config, Rng};

/// The server's accepted handshake, as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerResponse {
    /// The subprotocol the server selected, one of those offered.
    pub protocol: Option<String>,
    /// The extensions the server accepted, with their parameters, in its order.
    pub extensions: Vec<String>,
    /// Every response header field, name as received and raw value.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The bytes that followed the response head: the start of the WebSocket stream (the
    /// server may send frames in the same segment). Feed them to the connection first.
    pub trailing: Bytes,
}

/// The client's opening handshake, without I/O.
///
/// [`new`](Self::new) draws the key and encodes the request; write
/// [`request_bytes`](Self::request_bytes), then feed what the server sends to
/// [`receive`](Self::receive) until it returns the [`ServerResponse`]. Re-arm a timer at
/// [`poll_timeout`](Self::poll_timeout) and call [`handle_timeout`](Self::handle_timeout) when
/// it fires. On any `Err`, close the connection (RFC 6455 §4.1: the client "MUST _Fail the
/// WebSocket Connection_").
///
/// ```
/// use std::time::Instant;
/// use wsproto::{Config, RngSource};
/// use wsproto::handshake::{ClientHandshake, ClientRequest, accept_key};
///
/// let config = Config::default().rng(RngSource::Seeded(1));
/// let request = ClientRequest::new("ws://example.com/chat")?.protocol("chat")?;
/// let mut client = ClientHandshake::new(request, &config, Instant::now());
/// assert!(client.request_bytes().starts_with(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n"));
///
/// let mut response = format!(
///     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///      Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
///     accept_key(client.key().as_bytes()),
/// )
/// .into_bytes();
/// response.extend_from_slice(b"\x81\x02hi"); // a frame in the same read
/// let accepted = client.receive(&response)?.expect("a complete response");
/// assert_eq!(accepted.protocol.as_deref(), Some("chat"));
/// assert_eq!(&accepted.trailing[..], b"\x81\x02hi");
/// # Ok::<(), wsproto::handshake::HandshakeError>(())
/// ```
#[derive(Debug)]
pub struct ClientHandshake {
    request: ClientRequest,
    request_bytes: Vec<u8>,
    key: String,
    deadline: Instant,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Reading the response head.
    Reading(HeadReader),
    /// The response was accepted and handed out.
    Done,
    /// The response was refused or too slow; sticky.
    Failed(HandshakeError),
}

impl ClientHandshake {
    /// Draws a fresh key from [`Config::rng`] (RFC 6455 §4.1 item 7: "a randomly selected
    /// 16-byte value ... base64-encoded"), encodes the request once, and starts the
    /// [`Config::handshake_timeout`] at `now`. The response is bounded by
    /// [`Config::max_header_bytes`] and [`Config::max_headers`].
    pub fn new(request: ClientRequest, config: &Config, now: Instant) -> Self {
        let mut nonce = [0u8; 16];
        Rng::new(&config.rng).fill(&mut nonce);
        let key = STANDARD.encode(nonce);
        let request_bytes = request.encode(&key);
        let limits = Limits {
            max_head: config.max_header_bytes,
            max_first_line: None,
            max_fields: config.max_headers,
        };
        Self {
            request,
            request_bytes,
            key,
            deadline: now + config.handshake_timeout,
            state: State::Reading(HeadReader::new(limits)),
        }
    }

    /// The request to write to the server, whole.
    pub fn request_bytes(&self) -> &[u8] {
        &self.request_bytes
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The request this handshake sent.
    pub fn request(&self) -> &ClientRequest {
        &self.request
    }

    /// Takes bytes read from the server. `Ok(None)`: the response is not complete yet, read
    /// more. `Ok(Some(response))`: the server accepted; the connection now speaks WebSocket,
    /// starting with [`ServerResponse::trailing`].
    ///
    /// Resumable and O(n) in the bytes received, however they are split; httparse runs once,
    /// on the complete head. Errors are sticky. Once the response was returned, `receive`
    /// fails with [`HandshakeError::OutOfOrder`].
    #[must_use = "the response, or the error, must be acted on"]
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Option<ServerResponse>, HandshakeError> {
        let reader = match &mut self.state {
            State::Reading(reader) => reader,
            State::Failed(err) => return Err(*err),
            State::Done => return Err(HandshakeError::OutOfOrder),
        };
        let result = match reader.receive(bytes) {
            Ok(None) => return Ok(None),
            Ok(Some(head)) => self.check(&head.bytes, head.fields, head.trailing),
            Err(_) => Err(HandshakeError::ResponseTooLarge),
        };
        self.state = match result {
            Ok(_) => State::Done,
            Err(err) => State::Failed(err),
        };
        result.map(Some)
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called: `now` given to
    /// [`new`](Self::new) plus [`Config::handshake_timeout`].
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        self.deadline
    }

    /// Fails the handshake with [`HandshakeError::Timeout`] if `now` is at or past the deadline
    /// and the response has not arrived. Does nothing before the deadline or once the response
    /// arrived; returns the sticky error if the handshake already failed.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        match &self.state {
            State::Reading(_) if now >= self.deadline => {
                self.state = State::Failed(HandshakeError::Timeout);
                Err(HandshakeError::Timeout)
            }
            State::Failed(err) => Err(*err),
            _ => Ok(()),
        }
    }

    /// RFC 6455 §4.1, "the client MUST validate the server's response as follows".
    fn check(&self, head: &[u8], count: usize, trailing: Bytes) -> Result<ServerResponse, HandshakeError> {
        let mut storage = vec![httparse::EMPTY_HEADER; count];
        let mut parsed = httparse::Response::new(&mut storage);
        match parsed.parse(head) {
            Ok(httparse::Status::Complete(len)) if len == head.len() => {}
            Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::ResponseTooLarge),
            _ => return Err(HandshakeError::MalformedResponse),
        }
        // RFC 7231 §6.2.2: switching protocols is an HTTP/1.1 affair.
        if parsed.version != Some(1) {
            return Err(HandshakeError::MalformedResponse);
        }
        // Item 1: "If the status code received from the server is not 101, the client handles
        // the response per HTTP procedures" -- for us, the handshake failed.
        let status = parsed.code.ok_or(HandshakeError::MalformedResponse)?;
        if status != 101 {
            return Err(HandshakeError::UnexpectedStatus { status });
        }
        let headers: Vec<Field> =
            parsed.headers.iter().map(|h| (h.name.to_owned(), h.value.to_vec())).collect();
        // Item 2: an |Upgrade| header field whose value is "websocket" (any case).
        if !fields::has_token(&headers, "Upgrade", "websocket") {
            return Err(HandshakeError::InvalidResponseHeader("Upgrade"));
        }
        // Item 3: a |Connection| header field containing the token "Upgrade" (any case).
        if !fields::has_token(&headers, "Connection", "upgrade") {
            return Err(HandshakeError::InvalidResponseHeader("Connection"));
        }
        // Item 4: |Sec-WebSocket-Accept| is base64(SHA-1(key + GUID)), compared exactly.
        let accepts: Vec<&[u8]> = fields::values(&headers, "Sec-WebSocket-Accept").collect();
        let expected = accept_key(self.key.as_bytes());
        if accepts.len() != 1 || fields::trim_ows(accepts[0]) != expected.as_bytes() {
            return Err(HandshakeError::BadAccept);
        }
        // Item 5: every extension in the response was offered (none offered: none allowed).
        let mut extensions = Vec::new();
        for value in fields::values(&headers, "Sec-WebSocket-Extensions") {
            let value = std::str::from_utf8(value)
                .map_err(|_| HandshakeError::InvalidResponseHeader("Sec-WebSocket-Extensions"))?;
            for extension in fields::split_extensions(value) {
                let name = fields::extension_name(extension);
                let offered = self.request.extensions().iter();
                if !offered.map(|o| fields::extension_name(o)).any(|o| o.eq_ignore_ascii_case(name)) {
                    return Err(HandshakeError::UnofferedExtension);
                }
                extensions.push(extension.to_owned());
            }
        }
        // Item 6: the subprotocol, if any, is one value the client offered.
        let chosen: Vec<&[u8]> = fields::values(&headers, "Sec-WebSocket-Protocol").collect();
        let protocol = match chosen[..] {
            [] => None,
            [value] if !value.contains(&b',') => {
                let value = fields::trim_ows(value);
                let offered = self.request.protocols().iter().find(|p| p.as_bytes() == value);
                Some(offered.ok_or(HandshakeError::UnofferedProtocol)?.clone())
            }
            _ => {
                return Err(HandshakeError::InvalidResponseHeader("Sec-WebSocket-Protocol"));
            }
        };
        Ok(ServerResponse { protocol, extensions, headers, trailing })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::RngSource;

    fn config() -> Config {
        Config::default().rng(RngSource::Seeded(42))
    }

    fn handshake(request: ClientRequest) -> ClientHandshake {
        ClientHandshake::new(request, &config(), Instant::now())
    }

    fn plain() -> ClientHandshake {
        handshake(ClientRequest::new("ws://example.com/chat").unwrap())
    }

    fn response_for(client: &ClientHandshake, extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
            accept_key(client.key().as_bytes())
        )
    }

    // RFC 6455 §4.1: the client's opening handshake.

    #[test]
    fn request_has_the_rfc_layout_with_a_fresh_16_byte_key() {
        let client = plain();
        let expected = format!(
            "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
            client.key()
        );
        assert_eq!(String::from_utf8_lossy(client.request_bytes()), expected);
        assert_eq!(STANDARD.decode(client.key()).unwrap().len(), 16);
    }

    #[test]
    fn key_comes_from_the_configured_entropy_source() {
        let request = ClientRequest::new("ws://h/").unwrap();
        let with = |seed| {
            let config = Config::default().rng(RngSource::Seeded(seed));
            ClientHandshake::new(request.clone(), &config, Instant::now()).key().to_owned()
        };
        assert_eq!(with(1), with(1));
        assert_ne!(with(1), with(2));
    }

    #[test]
    fn response_is_accepted_with_the_extension_and_headers_it_carries() {
        let request = ClientRequest::new("ws://h/").unwrap().extension("permessage-deflate").unwrap();
        let mut client = handshake(request);
        let response = response_for(
            &client,
            "Sec-WebSocket-Extensions: PerMessage-Deflate; server_no_context_takeover\r\nServer: x\r\n",
        );
        let accepted = client.receive(response.as_bytes()).unwrap().unwrap();
        assert_eq!(accepted.extensions, ["PerMessage-Deflate; server_no_context_takeover"]);
        assert_eq!(accepted.protocol, None);
        assert!(accepted.headers.contains(&("Server".into(), b"x".to_vec())));
        assert!(accepted.trailing.is_empty());
    }

    #[test]
    fn upgrade_and_connection_must_name_websocket_and_upgrade() {
        // RFC 6455 §4.1 items 2 and 3.
        let cases = [
            ("Upgrade: websocket\r\n", "Connection: keep-alive\r\n", "Connection"),
            ("Upgrade: h2c\r\n", "Connection: Upgrade\r\n", "Upgrade"),
            ("", "Connection: Upgrade\r\n", "Upgrade"),
            ("Upgrade: websocket\r\n", "", "Connection"),
        ];
        for (upgrade, connection, name) in cases {
            let mut client = plain();
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\n{upgrade}{connection}Sec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(client.key().as_bytes())
            );
            assert_eq!(client.receive(response.as_bytes()), Err(HandshakeError::InvalidResponseHeader(name)));
        }
    }

    #[test]
    fn accept_header_sent_twice_is_refused_even_when_both_match() {
        let mut client = plain();
        let accept = format!("Sec-WebSocket-Accept: {}\r\n", accept_key(client.key().as_bytes()));
        let response = response_for(&client, &accept);
        assert_eq!(client.receive(response.as_bytes()), Err(HandshakeError::BadAccept));
    }

    #[test]
    fn more_than_one_chosen_protocol_is_refused() {
        let request = ClientRequest::new("ws://h/").unwrap().protocol("a").unwrap().protocol("b").unwrap();
        for extra in
            ["Sec-WebSocket-Protocol: a, b\r\n", "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b\r\n"]
        {
            let mut client = handshake(request.clone());
            let response = response_for(&client, extra);
            let err = client.receive(response.as_bytes()).unwrap_err();
            assert_eq!(err, HandshakeError::InvalidResponseHeader("Sec-WebSocket-Protocol"));
        }
    }

    #[test]
    fn protocols_are_compared_case_sensitively() {
        let request = ClientRequest::new("ws://h/").unwrap().protocol("chat").unwrap();
        let mut client = handshake(request);
        let response = response_for(&client, "Sec-WebSocket-Protocol: Chat\r\n");
        assert_eq!(client.receive(response.as_bytes()), Err(HandshakeError::UnofferedProtocol));
    }

    #[test]
    fn http_1_0_and_garbage_responses_are_malformed() {
        for response in [
            "HTTP/1.0 101 Switching Protocols\r\n\r\n",
            "SSH-2.0-OpenSSH\r\n\r\n",
            "HTTP/1.1 1x1 What\r\n\r\n",
        ] {
            let mut client = plain();
            assert_eq!(
                client.receive(response.as_bytes()),
                Err(HandshakeError::MalformedResponse),
                "{response}"
            );
        }
    }

    #[test]
    fn errors_are_sticky_and_receive_after_success_is_out_of_order() {
        let mut client = plain();
        assert_eq!(
            client.receive(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            Err(HandshakeError::UnexpectedStatus { status: 404 })
        );
        assert_eq!(client.receive(b"more"), Err(HandshakeError::UnexpectedStatus { status: 404 }));

        let mut client = plain();
        let response = response_for(&client, "");
        assert!(client.receive(response.as_bytes()).unwrap().is_some());
        assert_eq!(client.receive(b"\x81\x00"), Err(HandshakeError::OutOfOrder));
    }

    #[test]
    fn response_head_over_max_header_bytes_is_refused() {
        let config = config().max_header_bytes(64);
        let mut client =
            ClientHandshake::new(ClientRequest::new("ws://h/").unwrap(), &config, Instant::now());
        let response = response_for(&client, "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        assert_eq!(client.receive(response.as_bytes()), Err(HandshakeError::ResponseTooLarge));
    }

    #[test]
    fn timeout_fires_at_the_deadline_and_not_before_or_after_success() {
        let now = Instant::now();
        let mut client = ClientHandshake::new(ClientRequest::new("ws://h/").unwrap(), &config(), now);
        assert_eq!(client.poll_timeout(), now + Duration::from_secs(10));
        assert_eq!(client.handle_timeout(now + Duration::from_secs(9)), Ok(()));
        assert_eq!(client.handle_timeout(client.poll_timeout()), Err(HandshakeError::Timeout));
        assert_eq!(client.receive(b"HTTP/1.1 101"), Err(HandshakeError::Timeout));

        let mut client = ClientHandshake::new(ClientRequest::new("ws://h/").unwrap(), &config(), now);
        let response = response_for(&client, "");
        assert!(client.receive(response.as_bytes()).unwrap().is_some());
        assert_eq!(client.handle_timeout(now + Duration::from_secs(60)), Ok(()));
    }
}
