//! [`HandshakeError`]: every way an opening handshake can fail, and the HTTP status a server
//! answers each with.

use std::fmt;

use super::reply;

/// Why an opening handshake failed, or why a handshake command was refused.
///
/// The variants fall in four groups:
/// - **caller errors** (a bad URL, header or subprotocol given to a builder, a call out of
///   order): nothing is sent, [`status`](Self::status) is `None`;
/// - **faults in the server's response**, seen by a client: the client closes the connection
///   (RFC 6455 §4.1: it "MUST _Fail the WebSocket Connection_"); `status` is `None` except for
///   [`UnexpectedStatus`](Self::UnexpectedStatus), where it is the status received;
/// - **faults in the client's request**, seen by a server: `status` is the HTTP status to answer
///   with and [`response`](Self::response) the complete response to write before closing;
/// - [`Timeout`](Self::Timeout), on either side: close the connection, nothing is sent.
///
/// Errors from [`ClientHandshake::receive`](super::ClientHandshake::receive) and
/// [`ServerHandshake::receive`](super::ServerHandshake::receive) are sticky: every later call
/// returns the same error.
///
/// ```
/// use wsproto::handshake::HandshakeError;
///
/// let err = HandshakeError::UnsupportedVersion;
/// assert_eq!(err.status(), Some(426));
/// let response = err.response().unwrap();
/// assert!(response.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
/// assert_eq!(HandshakeError::BadAccept.status(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    // ---- caller errors ----
    /// The string is not a valid `ws://` or `wss://` URL; the text says what is wrong.
    InvalidUrl(&'static str),
    /// A subprotocol, header name or extension name that is not an RFC 7230 token; the text
    /// names which.
    InvalidToken(&'static str),
    /// A header value or extension offer containing a control character (CR, LF, NUL, ...).
    InvalidHeaderValue,
    /// A header the handshake writes itself (`Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-*`, `Content-Length`); use the dedicated builder method instead.
    ReservedHeader(&'static str),
    /// A call the handshake's state does not allow: `receive` after the handshake completed,
    /// `accept` before a request arrived or a second time.
    OutOfOrder,

    // ---- client side: faults in the server's response ----
    /// The server answered with a status other than 101 Switching Protocols (RFC 6455 §4.1).
    UnexpectedStatus {
        /// The status code received.
        status: u16,
    },
    /// The response is not a valid HTTP/1.1 response head.
    MalformedResponse,
    /// The response head is larger than
    /// [`Config::max_header_bytes`](crate::Config::max_header_bytes) or has more than
    /// [`Config::max_headers`](crate::Config::max_headers) fields.
    ResponseTooLarge,
    /// A response header required by RFC 6455 §4.1 is missing or wrong (`Upgrade`,
    /// `Connection`, or a `Sec-WebSocket-Protocol` with more than one value); the text names it.
    InvalidResponseHeader(&'static str),
    /// `Sec-WebSocket-Accept` is missing or does not match the key sent (RFC 6455 §4.1).
    BadAccept,
    /// The server chose a subprotocol the client did not offer (RFC 6455 §4.1); or, in
    /// [`ServerHandshake::accept`](super::ServerHandshake::accept), the application chose one.
    UnofferedProtocol,
    /// The server chose an extension the client did not offer (RFC 6455 §4.1, §9.1); or, in
    /// [`ServerHandshake::accept`](super::ServerHandshake::accept), the application chose one.
    UnofferedExtension,

    // ---- server side: faults in the client's request ----
    /// The request is not valid HTTP/1.1 (400).
    Malformed,
    /// The request line is longer than
    /// [`Config::max_request_line`](crate::Config::max_request_line) (414).
    RequestLineTooLong,
    /// The request head is larger than
    /// [`Config::max_header_bytes`](crate::Config::max_header_bytes) (431).
    HeadersTooLarge,
    /// The request has more than [`Config::max_headers`](crate::Config::max_headers) header
    /// fields (431).
    TooManyHeaders,
    /// The method is not `GET` (405, with `Allow: GET`; RFC 6455 §4.2.1 item 1).
    MethodNotAllowed,
    /// The HTTP version is not 1.1 (400; RFC 6455 §4.2.1 item 1 asks for "HTTP/1.1 or higher",
    /// and there is no higher HTTP/1.x).
    UnsupportedHttpVersion,
    /// A required request header is missing (400); the text names it.
    MissingHeader(&'static str),
    /// A request header is present but invalid or repeated (400); the text names it.
    InvalidHeader(&'static str),
    /// The request's `Upgrade` header is missing or lacks the token `websocket` (426 with
    /// `Upgrade: websocket`): a plain HTTP request reached a WebSocket endpoint.
    NotWebSocket,
    /// `Sec-WebSocket-Version` is missing or not 13 (426 with `Sec-WebSocket-Version: 13`,
    /// RFC 6455 §4.2.2 item 4).
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` is repeated or is not the base64 encoding of 16 bytes (400,
    /// RFC 6455 §4.2.1 item 5).
    InvalidKey,

    // ---- either side ----
    /// The handshake did not complete within
    /// [`Config::handshake_timeout`](crate::Config::handshake_timeout).
    Timeout,
}

impl HandshakeError {
    /// The HTTP status a server answers this error with: 400, 405, 414, 426 or 431 for faults in
    /// a client's request; for [`UnexpectedStatus`](Self::UnexpectedStatus) the status the
    /// client received; `None` for everything else.
    pub const fn status(&self) -> Option<u16> {
        match self {
            Self::UnexpectedStatus { status } => Some(*status),
            Self::Malformed
            | Self::UnsupportedHttpVersion
            | Self::MissingHeader(_)
            | Self::InvalidHeader(_)
            | Self::InvalidKey => Some(400),
            Self::MethodNotAllowed => Some(405),
            Self::RequestLineTooLong => Some(414),
            Self::NotWebSocket | Self::UnsupportedVersion => Some(426),
            Self::HeadersTooLarge | Self::TooManyHeaders => Some(431),
            _ => None,
        }
    }

    /// Whether this is a fault in a client's request, to be answered with
    /// [`response`](Self::response).
    pub const fn is_request_fault(&self) -> bool {
        !matches!(self, Self::UnexpectedStatus { .. }) && self.status().is_some()
    }

    /// For a fault in a client's request, the complete HTTP/1.1 error response to write before
    /// closing the connection (status line, `Content-Length`, `Connection: close`, `Allow: GET`
    /// on 405, `Upgrade: websocket` and `Sec-WebSocket-Version: 13` on 426, and this error's
    /// text as the body). `None` for every other error.
    pub fn response(&self) -> Option<Vec<u8>> {
        if !self.is_request_fault() {
            return None;
        }
        let status = self.status()?;
        Some(reply::error_response(status, &format!("{self}\n")))
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(why) => write!(f, "invalid WebSocket URL: {why}"),
            Self::InvalidToken(what) => write!(f, "{what} is not an HTTP token"),
            Self::InvalidHeaderValue => f.write_str("header value contains a control character"),
            Self::ReservedHeader(name) => write!(f, "the handshake sets the {name} header itself"),
            Self::OutOfOrder => f.write_str("handshake call out of order"),
            Self::UnexpectedStatus { status } => {
                write!(f, "server answered with status {status}, not 101")
            }
            Self::MalformedResponse => f.write_str("malformed HTTP response"),
            Self::ResponseTooLarge => f.write_str("HTTP response head too large"),
            Self::InvalidResponseHeader(name) => {
                write!(f, "missing or invalid {name} header in the response")
            }
            Self::BadAccept => f.write_str("missing or wrong Sec-WebSocket-Accept"),
            Self::UnofferedProtocol => f.write_str("subprotocol was not offered"),
            Self::UnofferedExtension => f.write_str("extension was not offered"),
            Self::Malformed => f.write_str("malformed HTTP request"),
            Self::RequestLineTooLong => f.write_str("request line too long"),
            Self::HeadersTooLarge => f.write_str("request header fields too large"),
            Self::TooManyHeaders => f.write_str("too many request header fields"),
            Self::MethodNotAllowed => f.write_str("method not allowed: use GET"),
            Self::UnsupportedHttpVersion => f.write_str("HTTP version must be HTTP/1.1"),
            Self::MissingHeader(name) => write!(f, "missing {name} header"),
            Self::InvalidHeader(name) => write!(f, "invalid {name} header"),
            Self::NotWebSocket => f.write_str("not a WebSocket upgrade request"),
            Self::UnsupportedVersion => f.write_str("unsupported WebSocket version: use 13"),
            Self::InvalidKey => f.write_str("invalid Sec-WebSocket-Key"),
            Self::Timeout => f.write_str("opening handshake timed out"),
        }
    }
}

impl std::error::Error for HandshakeError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(err: HandshakeError) -> String {
        let bytes = err.response().expect("a server-side error has a response");
        let text = String::from_utf8(bytes).expect("responses are ASCII");
        text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
    }

    #[test]
    fn request_faults_map_to_their_http_status() {
        let cases = [
            (HandshakeError::Malformed, 400),
            (HandshakeError::UnsupportedHttpVersion, 400),
            (HandshakeError::MissingHeader("Host"), 400),
            (HandshakeError::InvalidHeader("Connection"), 400),
            (HandshakeError::InvalidKey, 400),
            (HandshakeError::MethodNotAllowed, 405),
            (HandshakeError::RequestLineTooLong, 414),
            (HandshakeError::NotWebSocket, 426),
            (HandshakeError::UnsupportedVersion, 426),
            (HandshakeError::HeadersTooLarge, 431),
            (HandshakeError::TooManyHeaders, 431),
        ];
        for (err, status) in cases {
            assert_eq!(err.status(), Some(status), "{err:?}");
            assert!(err.is_request_fault(), "{err:?}");
            assert!(head(err).starts_with(&format!("HTTP/1.1 {status} ")), "{err:?}");
        }
    }

    #[test]
    fn client_side_and_caller_errors_have_no_status_and_no_response() {
        let cases = [
            HandshakeError::InvalidUrl("x"),
            HandshakeError::InvalidToken("subprotocol"),
            HandshakeError::InvalidHeaderValue,
            HandshakeError::ReservedHeader("Host"),
            HandshakeError::OutOfOrder,
            HandshakeError::MalformedResponse,
            HandshakeError::ResponseTooLarge,
            HandshakeError::InvalidResponseHeader("Upgrade"),
            HandshakeError::BadAccept,
            HandshakeError::UnofferedProtocol,
            HandshakeError::UnofferedExtension,
            HandshakeError::Timeout,
        ];
        for err in cases {
            assert_eq!(err.status(), None, "{err:?}");
            assert_eq!(err.response(), None, "{err:?}");
        }
    }

    #[test]
    fn unexpected_status_carries_the_status_received_but_no_response() {
        let err = HandshakeError::UnexpectedStatus { status: 403 };
        assert_eq!(err.status(), Some(403));
        assert!(!err.is_request_fault());
        assert_eq!(err.response(), None);
        assert!(err.to_string().contains("403"));
    }

    #[test]
    fn method_not_allowed_response_says_allow_get() {
        assert!(head(HandshakeError::MethodNotAllowed).contains("\r\nAllow: GET"));
    }

    #[test]
    fn upgrade_required_responses_name_websocket_and_version_13() {
        for err in [HandshakeError::NotWebSocket, HandshakeError::UnsupportedVersion] {
            let head = head(err);
            assert!(head.contains("\r\nUpgrade: websocket"), "{head}");
            assert!(head.contains("\r\nSec-WebSocket-Version: 13"), "{head}");
        }
    }

    #[test]
    fn error_response_body_is_the_error_text() {
        let bytes = HandshakeError::InvalidKey.response().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.ends_with("\r\n\r\ninvalid Sec-WebSocket-Key\n"), "{text}");
    }
}
