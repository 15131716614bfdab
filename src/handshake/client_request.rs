//! [`ClientRequest`]: what a client asks for in its opening handshake (RFC 6455 §4.1), checked
//! as it is built, and its encoding.
//!
//! Panics: none.

use super::fields::{self, write_field};
use super::{HandshakeError, WsUrl};

/// What a client asks for: the URL, the subprotocols and extensions it offers, `Origin`, and
/// extra headers. Every setter checks its input, so a `ClientRequest` always encodes to a valid
/// request.
///
/// ```
/// use wsproto::handshake::ClientRequest;
///
/// let request = ClientRequest::new("wss://example.com/chat")?
///     .protocol("chat")?
///     .protocol("superchat")?
///     .origin("https://example.com")?
///     .header("Authorization", "Bearer abc")?;
/// assert_eq!(request.url().host(), "example.com");
/// assert!(ClientRequest::new("ws://h/")?.header("X", "a\r\nInjected: 1").is_err());
/// # Ok::<(), wsproto::handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    url: WsUrl,
    protocols: Vec<String>,
    extensions: Vec<String>,
    origin: Option<String>,
    headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// A request for `url`, a `ws://` or `wss://` URL (see [`WsUrl::parse`]).
    pub fn new(url: &str) -> Result<Self, HandshakeError> {
        WsUrl::parse(url).map(Self::from_url)
    }

    /// A request for an already parsed URL.
    pub fn from_url(url: WsUrl) -> Self {
        Self { url, protocols: Vec::new(), extensions: Vec::new(), origin: None, headers: Vec::new() }
    }

    /// Offers a subprotocol, after those already offered (in order of preference). It must be
    /// an RFC 7230 token (RFC 6455 §4.1 item 10); offering one twice offers it once.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Result<Self, HandshakeError> {
        let protocol = protocol.into();
        if !fields::is_token(protocol.as_bytes()) {
            return Err(HandshakeError::InvalidToken("subprotocol"));
        }
        if !self.protocols.contains(&protocol) {
            self.protocols.push(protocol);
        }
        Ok(self)
    }

    /// Offers an extension, written as it goes on the wire: a name, then parameters
    /// (`permessage-deflate; client_max_window_bits`). The name must be a token and the offer
    /// must not contain control characters.
    pub fn extension(mut self, extension: impl Into<String>) -> Result<Self, HandshakeError> {
        let extension = extension.into();
        fields::check_extension(&extension)?;
        self.extensions.push(extension.trim_matches([' ', '\t']).to_owned());
        Ok(self)
    }

    /// Sets the `Origin` header (RFC 6455 §4.1 item 8, §10.2), which browsers always send.
    pub fn origin(mut self, origin: impl Into<String>) -> Result<Self, HandshakeError> {
        let origin = origin.into();
        if !fields::is_field_value(origin.as_bytes()) {
            return Err(HandshakeError::InvalidHeaderValue);
        }
        self.origin = Some(origin);
        Ok(self)
    }

    /// Adds a header (`Authorization`, `Cookie`, `User-Agent`, ...). The name must be a token
    /// other than those the handshake writes itself (`Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-*`, `Content-Length`), and the value must not contain CR, LF, NUL or
    /// other control characters.
    pub fn header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, HandshakeError> {
        let (name, value) = (name.into(), value.into());
        fields::check_extra_header(&name, &value)?;
        self.headers.push((name, value));
        Ok(self)
    }

    /// The URL requested.
    pub fn url(&self) -> &WsUrl {
        &self.url
    }

    /// The subprotocols offered, in order.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions offered, in order.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The request head with `key` as its `Sec-WebSocket-Key` (RFC 6455 §4.1 items 1-12 and
    /// the example in §1.3).
    pub(crate) fn encode(&self, key: &str) -> Vec<u8> {
        let request = self;
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(request.url.path_and_query().as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        write_field(&mut out, "Host", &request.url.host_header());
        write_field(&mut out, "Upgrade", "websocket");
        write_field(&mut out, "Connection", "Upgrade");
        write_field(&mut out, "Sec-WebSocket-Key", key);
        write_field(&mut out, "Sec-WebSocket-Version", "13");
        if !request.protocols.is_empty() {
            write_field(&mut out, "Sec-WebSocket-Protocol", &request.protocols.join(", "));
        }
        if !request.extensions.is_empty() {
            write_field(&mut out, "Sec-WebSocket-Extensions", &request.extensions.join(", "));
        }
        if let Some(origin) = &request.origin {
            write_field(&mut out, "Origin", origin);
        }
        for (name, value) in &request.headers {
            write_field(&mut out, name, value);
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn text(request: &ClientRequest) -> String {
        String::from_utf8(request.encode(KEY)).unwrap()
    }

    // RFC 6455 §4.1: the client's opening handshake.

    #[test]
    fn plain_request_is_the_rfc_example_layout() {
        let request = ClientRequest::new("ws://server.example.com/chat").unwrap();
        assert_eq!(
            text(&request),
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
    }

    #[test]
    fn offers_origin_and_extra_headers_are_encoded_in_order() {
        let request = ClientRequest::new("ws://[::1]:9001/x?y=1")
            .and_then(|r| r.protocol("chat"))
            .and_then(|r| r.protocol("superchat"))
            .and_then(|r| r.protocol("chat"))
            .and_then(|r| r.extension("permessage-deflate; client_max_window_bits"))
            .and_then(|r| r.extension("x-other"))
            .and_then(|r| r.origin("http://example.com"))
            .and_then(|r| r.header("User-Agent", "wsproto"))
            .unwrap();
        let text = text(&request);
        assert!(text.starts_with("GET /x?y=1 HTTP/1.1\r\nHost: [::1]:9001\r\n"), "{text}");
        assert!(
            text.ends_with(
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-other\r\n\
             Origin: http://example.com\r\nUser-Agent: wsproto\r\n\r\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn builder_refuses_non_token_protocols_and_injected_values() {
        let request = ClientRequest::new("ws://h/").unwrap();
        for bad in ["", "a b", "a,b", "chat\r\n"] {
            assert_eq!(request.clone().protocol(bad), Err(HandshakeError::InvalidToken("subprotocol")));
        }
        assert_eq!(request.clone().origin("a\r\nb"), Err(HandshakeError::InvalidHeaderValue));
        assert_eq!(request.clone().extension("x\r\nHost: evil"), Err(HandshakeError::InvalidHeaderValue));
        assert_eq!(request.clone().header("X-A", "1\n2"), Err(HandshakeError::InvalidHeaderValue));
        assert_eq!(
            request.header("sec-websocket-key", "k"),
            Err(HandshakeError::ReservedHeader("Sec-WebSocket-Key"))
        );
    }
}
