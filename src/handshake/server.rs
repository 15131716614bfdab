//! The server's side of the opening handshake (RFC 6455 §4.2): [`ServerHandshake`] reads and
//! checks a client's request, [`Accept`] describes the answer.
//!
//! Panics: none.

use std::time::Instant;

use bytes::Bytes;

use super::fields::{self, write_field};
use super::head::{HeadReader, Limits, Overflow};
use super::request::{self, Request};
use super::{HandshakeError, accept_key, reply};
use crate::Config;

/// The server's answer to an acceptable [`Request`]: the subprotocol and extensions chosen and
/// any extra response headers. Checked by [`ServerHandshake::accept`].
///
/// ```
/// use wsproto::handshake::Accept;
///
/// let accept = Accept::new().protocol("chat").header("Set-Cookie", "id=7");
/// # let _ = accept;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accept {
    protocol: Option<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
}

impl Accept {
    /// An acceptance with no subprotocol, no extension and no extra header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Selects a subprotocol; it must be one the client offered ([`Request::protocols`]).
    #[must_use]
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// Accepts an extension, with its response parameters (`permessage-deflate;
    /// server_no_context_takeover`); its name must be one the client offered.
    #[must_use]
    pub fn extension(mut self, extension: impl Into<String>) -> Self {
        self.extensions.push(extension.into());
        self
    }

    /// Adds a response header (`Set-Cookie`, `Server`, ...). The name must be a token not owned
    /// by the handshake and the value must not contain control characters such as CR or LF.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The subprotocol selected, if any.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }
}

/// The server's opening handshake, without I/O.
///
/// Feed it the bytes read from the connection with [`receive`](Self::receive) until it returns
/// the [`Request`]; look at the request (path, `Origin`, subprotocols), then write either
/// [`accept`](Self::accept)'s 101 response, after which the connection speaks WebSocket, or
/// [`reject`](Self::reject)'s error response and close. On an `Err` from `receive`, write
/// [`HandshakeError::response`] (when it is `Some`) and close. Bytes the client sent after its
/// request (it may pipeline its first frame) are in [`take_trailing`](Self::take_trailing).
///
/// Re-arm a timer at [`poll_timeout`](Self::poll_timeout) and call
/// [`handle_timeout`](Self::handle_timeout) when it fires: a client that never finishes its
/// request fails with [`HandshakeError::Timeout`].
///
/// ```
/// use std::time::Instant;
/// use wsproto::Config;
/// use wsproto::handshake::{Accept, ServerHandshake};
///
/// let mut server = ServerHandshake::new(&Config::default(), Instant::now());
/// let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let request = server.receive(request)?.expect("a complete request");
/// assert_eq!(request.path(), "/chat");
///
/// let response = server.accept(&Accept::new().protocol("chat"))?;
/// let response = String::from_utf8(response).unwrap();
/// assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
/// assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
/// assert!(response.contains("Sec-WebSocket-Protocol: chat\r\n"));
/// # Ok::<(), wsproto::handshake::HandshakeError>(())
/// ```
#[derive(Debug)]
pub struct ServerHandshake {
    state: State,
    deadline: Instant,
    trailing: Bytes,
}

#[derive(Debug)]
enum State {
    /// Reading the request head.
    Reading(HeadReader),
    /// A valid request was handed out; waiting for `accept`.
    Received(Offer),
    /// The 101 response was produced.
    Accepted,
    /// The request was invalid or too slow; sticky.
    Failed(HandshakeError),
}

/// What `accept` needs to remember of the request.
#[derive(Debug)]
struct Offer {
    key: String,
    protocols: Vec<String>,
    extensions: Vec<String>,
}

impl ServerHandshake {
    /// A handshake waiting for a request; bounds come from `config`
    /// ([`max_request_line`](Config::max_request_line),
    /// [`max_header_bytes`](Config::max_header_bytes), [`max_headers`](Config::max_headers),
    /// [`handshake_timeout`](Config::handshake_timeout) counted from `now`).
    pub fn new(config: &Config, now: Instant) -> Self {
        let limits = Limits {
            max_head: config.max_header_bytes,
            max_first_line: Some(config.max_request_line),
            max_fields: config.max_headers,
        };
        Self {
            state: State::Reading(HeadReader::new(limits)),
            deadline: now + config.handshake_timeout,
            trailing: Bytes::new(),
        }
    }

    /// Takes bytes read from the client. `Ok(None)`: the request is not complete yet, read
    /// more. `Ok(Some(request))`: a valid WebSocket upgrade request; answer it with
    /// [`accept`](Self::accept) or [`reject`](Self::reject).
    ///
    /// Resumable and O(n) in the bytes received, however they are split. An `Err` is sticky and
    /// its [`response`](HandshakeError::response) is the answer to write before closing.
    /// After the request was returned, `receive` fails with [`HandshakeError::OutOfOrder`]:
    /// later bytes belong to the WebSocket connection.
    #[must_use = "the request, or the error response, must be acted on"]
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Option<Request>, HandshakeError> {
        let reader = match &mut self.state {
            State::Reading(reader) => reader,
            State::Failed(err) => return Err(*err),
            State::Received(_) | State::Accepted => return Err(HandshakeError::OutOfOrder),
        };
        let result = match reader.receive(bytes) {
            Ok(None) => return Ok(None),
            Ok(Some(head)) => request::parse(&head.bytes, head.fields).inspect(|_| {
                self.trailing = head.trailing;
            }),
            // RFC 7230 §3.1.1: a server receiving a request-target longer than it wishes to
            // parse MUST respond with 414. RFC 6585 §5: 431 for header fields too large.
            Err(Overflow::FirstLine) => Err(HandshakeError::RequestLineTooLong),
            Err(Overflow::Head) => Err(HandshakeError::HeadersTooLarge),
            Err(Overflow::Fields) => Err(HandshakeError::TooManyHeaders),
        };
        match result {
            Ok(request) => {
                self.state = State::Received(Offer {
                    key: request.key().to_owned(),
                    protocols: request.protocols().to_vec(),
                    extensions: request.extensions().to_vec(),
                });
                Ok(Some(request))
            }
            Err(err) => {
                self.state = State::Failed(err);
                Err(err)
            }
        }
    }

    /// The 101 Switching Protocols response accepting the request (RFC 6455 §4.2.2 item 5),
    /// with `Sec-WebSocket-Accept`, the subprotocol and extensions `accept` selects, and its
    /// extra headers. Write it, then run the connection.
    ///
    /// Refuses, leaving the handshake as it was so the caller may still accept otherwise or
    /// reject: a subprotocol the client did not offer ([`HandshakeError::UnofferedProtocol`]),
    /// an extension it did not offer ([`HandshakeError::UnofferedExtension`]), a bad extra
    /// header ([`HandshakeError::InvalidToken`], [`HandshakeError::ReservedHeader`],
    /// [`HandshakeError::InvalidHeaderValue`]). Fails with [`HandshakeError::OutOfOrder`]
    /// before a request was received or once accepted.
    pub fn accept(&mut self, accept: &Accept) -> Result<Vec<u8>, HandshakeError> {
        let State::Received(offer) = &self.state else {
            return Err(HandshakeError::OutOfOrder);
        };
        // RFC 6455 §4.2.2 item 5: the selected subprotocol is one of the client's values.
        if let Some(protocol) = &accept.protocol
            && !offer.protocols.iter().any(|p| p == protocol)
        {
            return Err(HandshakeError::UnofferedProtocol);
        }
        // RFC 6455 §9.1: the server answers with extensions the client requested.
        for extension in &accept.extensions {
            fields::check_extension(extension)?;
            let name = fields::extension_name(extension);
            if !offer.extensions.iter().any(|o| fields::extension_name(o).eq_ignore_ascii_case(name)) {
                return Err(HandshakeError::UnofferedExtension);
            }
        }
        for (name, value) in &accept.headers {
            fields::check_extra_header(name, value)?;
        }

        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        write_field(&mut out, "Upgrade", "websocket");
        write_field(&mut out, "Connection", "Upgrade");
        write_field(&mut out, "Sec-WebSocket-Accept", &accept_key(offer.key.as_bytes()));
        if let Some(protocol) = &accept.protocol {
            write_field(&mut out, "Sec-WebSocket-Protocol", protocol);
        }
        if !accept.extensions.is_empty() {
            write_field(&mut out, "Sec-WebSocket-Extensions", &accept.extensions.join(", "));
        }
        for (name, value) in &accept.headers {
            write_field(&mut out, name, value);
        }
        out.extend_from_slice(b"\r\n");
        self.state = State::Accepted;
        Ok(out)
    }

    /// A complete HTTP/1.1 error response refusing the handshake: status line with its reason
    /// phrase, `Connection: close`, `Content-Length`, `body` as text, plus `Allow: GET` on 405
    /// and `Upgrade: websocket` and `Sec-WebSocket-Version: 13` on 426. Write it and close.
    ///
    /// For 403 (a bad `Origin`), 404 (an unknown path), 400, 401, 429... A status outside
    /// 400..=599 is replaced by 500. Does not change the handshake's state.
    ///
    /// ```
    /// # use wsproto::{Config, handshake::ServerHandshake};
    /// # let server = ServerHandshake::new(&Config::default(), std::time::Instant::now());
    /// let response = server.reject(404, "no such endpoint");
    /// assert!(response.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
    /// assert!(response.ends_with(b"\r\n\r\nno such endpoint"));
    /// ```
    pub fn reject(&self, status: u16, body: &str) -> Vec<u8> {
        reply::error_response(status, body)
    }

    /// Takes the bytes the client sent after its request head, which belong to the WebSocket
    /// connection (the client may send its first frame without waiting for the response).
    /// Empty before the request was received and after the first call.
    pub fn take_trailing(&mut self) -> Bytes {
        std::mem::take(&mut self.trailing)
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called: `now` given to
    /// [`new`](Self::new) plus [`Config::handshake_timeout`].
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        self.deadline
    }

    /// Fails the handshake with [`HandshakeError::Timeout`] if `now` is at or past the deadline
    /// and the request has not arrived; close the connection then, nothing is sent. Does
    /// nothing before the deadline or once the request arrived; returns the sticky error if
    /// the handshake already failed.
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
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

    fn received() -> ServerHandshake {
        let mut server = ServerHandshake::new(&Config::default(), Instant::now());
        assert!(server.receive(REQUEST).unwrap().is_some());
        server
    }

    // RFC 6455 §4.2.2: sending the server's opening handshake.

    #[test]
    fn accept_writes_the_101_response_of_the_rfc_example() {
        let response = received().accept(&Accept::new()).unwrap();
        assert_eq!(
            String::from_utf8(response).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
    }

    #[test]
    fn accept_adds_the_chosen_protocol_extension_and_headers() {
        let accept = Accept::new()
            .protocol("superchat")
            .extension("permessage-deflate; server_no_context_takeover")
            .header("Set-Cookie", "id=1");
        let text = String::from_utf8(received().accept(&accept).unwrap()).unwrap();
        assert!(
            text.ends_with(
                "Sec-WebSocket-Protocol: superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\
             Set-Cookie: id=1\r\n\r\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn accept_refuses_unoffered_choices_and_bad_headers_and_stays_ready() {
        let mut server = received();
        let refused = [
            (Accept::new().protocol("other"), HandshakeError::UnofferedProtocol),
            (Accept::new().protocol("Chat"), HandshakeError::UnofferedProtocol),
            (Accept::new().extension("x-unknown"), HandshakeError::UnofferedExtension),
            (Accept::new().header("X-A", "1\r\nX-B: 2"), HandshakeError::InvalidHeaderValue),
            (Accept::new().header("X-A", "nul\0"), HandshakeError::InvalidHeaderValue),
            (Accept::new().header("Bad Name", "1"), HandshakeError::InvalidToken("header name")),
            (
                Accept::new().header("sec-websocket-accept", "x"),
                HandshakeError::ReservedHeader("Sec-WebSocket-Accept"),
            ),
        ];
        for (accept, err) in refused {
            assert_eq!(server.accept(&accept), Err(err), "{accept:?}");
        }
        assert!(server.accept(&Accept::new().protocol("chat")).is_ok());
    }

    #[test]
    fn accept_before_a_request_or_twice_is_out_of_order() {
        let mut server = ServerHandshake::new(&Config::default(), Instant::now());
        assert_eq!(server.accept(&Accept::new()), Err(HandshakeError::OutOfOrder));
        let mut server = received();
        assert!(server.accept(&Accept::new()).is_ok());
        assert_eq!(server.accept(&Accept::new()), Err(HandshakeError::OutOfOrder));
    }

    #[test]
    fn receive_after_the_request_is_out_of_order_and_errors_are_sticky() {
        let mut server = received();
        assert_eq!(server.receive(b"\x81"), Err(HandshakeError::OutOfOrder));

        let mut server = ServerHandshake::new(&Config::default(), Instant::now());
        assert_eq!(server.receive(b"POST / HTTP/1.1\r\n\r\n"), Err(HandshakeError::MethodNotAllowed));
        assert_eq!(server.receive(REQUEST), Err(HandshakeError::MethodNotAllowed));
        assert_eq!(server.accept(&Accept::new()), Err(HandshakeError::OutOfOrder));
    }

    #[test]
    fn trailing_bytes_are_taken_once() {
        let mut server = ServerHandshake::new(&Config::default(), Instant::now());
        assert!(server.take_trailing().is_empty());
        let mut input = REQUEST.to_vec();
        input.extend_from_slice(b"\x81\x85frame");
        assert!(server.receive(&input).unwrap().is_some());
        assert_eq!(&server.take_trailing()[..], b"\x81\x85frame");
        assert!(server.take_trailing().is_empty());
    }

    #[test]
    fn timeout_fails_a_request_that_has_not_arrived_by_the_deadline() {
        let now = Instant::now();
        let config = Config::default().handshake_timeout(Duration::from_secs(3));
        let mut server = ServerHandshake::new(&config, now);
        assert_eq!(server.poll_timeout(), now + Duration::from_secs(3));
        assert!(server.receive(&REQUEST[..10]).unwrap().is_none());
        assert_eq!(server.handle_timeout(now + Duration::from_secs(2)), Ok(()));
        assert_eq!(server.handle_timeout(now + Duration::from_secs(3)), Err(HandshakeError::Timeout));
        assert_eq!(server.receive(&REQUEST[10..]), Err(HandshakeError::Timeout));
        assert_eq!(HandshakeError::Timeout.response(), None);
    }

    #[test]
    fn timeout_does_nothing_once_the_request_arrived() {
        let now = Instant::now();
        let mut server = ServerHandshake::new(&Config::default(), now);
        assert!(server.receive(REQUEST).unwrap().is_some());
        assert_eq!(server.handle_timeout(now + Duration::from_secs(3600)), Ok(()));
        assert!(server.accept(&Accept::new()).is_ok());
    }

    #[test]
    fn reject_does_not_change_the_state() {
        let mut server = received();
        let response = server.reject(403, "origin not allowed");
        assert!(response.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
        assert!(server.accept(&Accept::new()).is_ok());
    }
}
