//! [`Request`]: a client's opening handshake as a server sees it, and the checks of RFC 6455
//! §4.2.1 that produce it.
//!
//! Panics: none.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::HandshakeError;
use super::fields::{self, Field};

/// A validated WebSocket upgrade request (RFC 6455 §4.2.1), owned, for the application to route
/// on (path), check (`Origin`, cookies, authorization) and negotiate with (subprotocols).
///
/// Returned by [`ServerHandshake::receive`](super::ServerHandshake::receive); answer it with
/// [`ServerHandshake::accept`](super::ServerHandshake::accept) or
/// [`ServerHandshake::reject`](super::ServerHandshake::reject).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    method: String,
    target: String,
    path: String,
    query: Option<String>,
    host: String,
    origin: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<String>,
    headers: Vec<Field>,
    key: String,
}

impl Request {
    /// The method; always `GET` once the request is valid.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as received (origin form `/chat?room=1`, or an absolute URI).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path, without the query: `/chat` for `GET /chat?room=1`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query, without the `?`: `Some("room=1")` for `GET /chat?room=1`; `None` without `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The `Host` header's value.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header's value, sent by browsers (RFC 6455 §4.2.1 item 7, §10.2).
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The subprotocols offered, in the client's order of preference, from every
    /// `Sec-WebSocket-Protocol` header (RFC 6455 §4.2.1 item 8).
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions offered, each with its parameters (`permessage-deflate;
    /// client_max_window_bits`), from every `Sec-WebSocket-Extensions` header (RFC 6455 §9.1).
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Every header field, in order, name as received and raw value.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    ///
    /// ```
    /// # use wsproto::handshake::ServerHandshake;
    /// # let mut server = ServerHandshake::new(&wsproto::Config::default(), std::time::Instant::now());
    /// # let request = server.receive(b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nCookie: id=7\r\n\r\n")?.unwrap();
    /// assert_eq!(request.header("cookie"), Some(&b"id=7"[..]));
    /// assert_eq!(request.header("x-missing"), None);
    /// # Ok::<(), wsproto::handshake::HandshakeError>(())
    /// ```
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// The client's `Sec-WebSocket-Key` (base64 of 16 bytes).
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Parses and validates a complete request head (see [`HeadReader`](super::head::HeadReader))
/// that has `field_count` header lines.
pub(crate) fn parse(head: &[u8], field_count: usize) -> Result<Request, HandshakeError> {
    let mut storage = vec![httparse::EMPTY_HEADER; field_count];
    let mut parsed = httparse::Request::new(&mut storage);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(len)) if len == head.len() => {}
        Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::TooManyHeaders),
        Err(httparse::Error::Version) => return Err(HandshakeError::UnsupportedHttpVersion),
        _ => return Err(HandshakeError::Malformed),
    }
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version) else {
        return Err(HandshakeError::Malformed);
    };
    let headers: Vec<Field> = parsed.headers.iter().map(|h| (h.name.to_owned(), h.value.to_vec())).collect();

    // RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
    if version != 1 {
        return Err(HandshakeError::UnsupportedHttpVersion);
    }
    if method != "GET" {
        return Err(HandshakeError::MethodNotAllowed);
    }
    let (path, query) = split_target(target)?;

    // RFC 6455 §4.2.1 item 2: a Host header field containing the server's authority. RFC 7230
    // §5.4: a server MUST respond with 400 to a request without Host or with more than one.
    let host = match single(&headers, "Host")? {
        None => return Err(HandshakeError::MissingHeader("Host")),
        Some(v) if !v.is_empty() && v.iter().all(u8::is_ascii_graphic) => ascii(v),
        Some(_) => return Err(HandshakeError::InvalidHeader("Host")),
    };

    // RFC 6455 §4.2.1 item 3: an Upgrade header field containing "websocket" (any case).
    // A request without it is a plain HTTP request to a WebSocket endpoint: RFC 7231 §6.5.15
    // designed 426 Upgrade Required for exactly that, with `Upgrade: websocket` in the response.
    if !fields::has_token(&headers, "Upgrade", "websocket") {
        return Err(HandshakeError::NotWebSocket);
    }
    // RFC 6455 §4.2.1 item 4: a Connection header field that includes the token "Upgrade".
    if fields::values(&headers, "Connection").next().is_none() {
        return Err(HandshakeError::MissingHeader("Connection"));
    }
    if !fields::has_token(&headers, "Connection", "upgrade") {
        return Err(HandshakeError::InvalidHeader("Connection"));
    }
    // RFC 6455 §4.2.1 item 6 and §4.2.2 item 4: version 13, else 426 with the versions the
    // server understands. A request with no version at all is answered the same way: it comes
    // from a pre-RFC client (draft-hixie-76), which 426 tells what to speak.
    let versions: Vec<&[u8]> = fields::values(&headers, "Sec-WebSocket-Version").collect();
    if versions.len() != 1 || fields::trim_ows(versions[0]) != b"13" {
        return Err(HandshakeError::UnsupportedVersion);
    }
    // RFC 6455 §4.2.1 item 5: a Sec-WebSocket-Key whose value, base64-decoded, is 16 bytes.
    let key = match single(&headers, "Sec-WebSocket-Key")? {
        None => return Err(HandshakeError::MissingHeader("Sec-WebSocket-Key")),
        Some(key) => key,
    };
    if STANDARD.decode(key).map(|k| k.len()) != Ok(16) {
        return Err(HandshakeError::InvalidKey);
    }
    let key = ascii(key);

    // RFC 6454 §7: a request has at most one Origin; two would make an Origin check ambiguous.
    let origin = match single(&headers, "Origin")? {
        None => None,
        Some(v) => {
            Some(std::str::from_utf8(v).map_err(|_| HandshakeError::InvalidHeader("Origin"))?.to_owned())
        }
    };

    // RFC 6455 §4.1 item 10 (the client's side of §4.2.1 item 8): subprotocols are tokens.
    let mut protocols = Vec::new();
    for element in fields::values(&headers, "Sec-WebSocket-Protocol").flat_map(fields::list) {
        if !fields::is_token(element) {
            return Err(HandshakeError::InvalidHeader("Sec-WebSocket-Protocol"));
        }
        protocols.push(ascii(element));
    }
    // RFC 6455 §9.1: extension-list = 1#extension, over every Sec-WebSocket-Extensions field.
    let mut extensions = Vec::new();
    for value in fields::values(&headers, "Sec-WebSocket-Extensions") {
        let value = std::str::from_utf8(value)
            .map_err(|_| HandshakeError::InvalidHeader("Sec-WebSocket-Extensions"))?;
        for extension in fields::split_extensions(value) {
            if fields::check_extension(extension).is_err() {
                return Err(HandshakeError::InvalidHeader("Sec-WebSocket-Extensions"));
            }
            extensions.push(extension.to_owned());
        }
    }

    Ok(Request {
        method: method.to_owned(),
        target: target.to_owned(),
        path,
        query,
        host,
        origin,
        protocols,
        extensions,
        headers,
        key,
    })
}

/// The value of the one field named `name`; `Err` when it is repeated. Callers map the
/// repetition to their own error.
fn single<'a>(headers: &'a [Field], name: &'static str) -> Result<Option<&'a [u8]>, HandshakeError> {
    let mut values = fields::values(headers, name);
    match (values.next(), values.next()) {
        (first, None) => Ok(first.map(fields::trim_ows)),
        (Some(_), Some(_)) if name == "Sec-WebSocket-Key" => Err(HandshakeError::InvalidKey),
        _ => Err(HandshakeError::InvalidHeader(name)),
    }
}

/// A `String` from bytes already checked to be ASCII (tokens, base64, visible characters).
fn ascii(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Splits the request target into path and query. RFC 6455 §4.2.1 item 1: the Request-URI is
/// a resource name (origin form, RFC 7230 §5.3.1) "or an absolute HTTP/HTTPS URI containing the
/// /resource name/" (absolute form, §5.3.2).
fn split_target(target: &str) -> Result<(String, Option<String>), HandshakeError> {
    let resource = if target.starts_with('/') {
        target
    } else {
        let (scheme, rest) = target.split_once("://").ok_or(HandshakeError::Malformed)?;
        if !["http", "https", "ws", "wss"].iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
            return Err(HandshakeError::Malformed);
        }
        match rest.find(['/', '?']) {
            Some(i) => &rest[i..],
            None => "",
        }
    };
    // RFC 7230 §5.3: a request target carries no fragment.
    if resource.contains('#') {
        return Err(HandshakeError::Malformed);
    }
    let (path, query) = match resource.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (resource, None),
    };
    let path = if path.is_empty() { "/".to_owned() } else { path.to_owned() };
    Ok((path, query))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn request(extra: &str) -> Result<Request, HandshakeError> {
        let head = format!(
            "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
             {extra}\r\n"
        );
        parse(head.as_bytes(), head.matches('\n').count() - 2)
    }

    fn raw(head: &str) -> Result<Request, HandshakeError> {
        parse(head.as_bytes(), head.matches('\n').count())
    }

    #[test]
    fn the_rfc_example_request_parses_with_its_path_query_and_key() {
        let req = request("Origin: http://example.com\r\n").unwrap();
        assert_eq!((req.method(), req.path(), req.query()), ("GET", "/chat", Some("room=1")));
        assert_eq!(req.host(), "server.example.com");
        assert_eq!(req.origin(), Some("http://example.com"));
        assert_eq!(req.key(), KEY);
        assert_eq!(req.headers().count(), 6);
    }

    #[test]
    fn protocols_are_collected_from_all_fields_split_and_trimmed() {
        let req = request("Sec-WebSocket-Protocol: chat , superchat\r\nsec-websocket-protocol: v2\r\n");
        assert_eq!(req.unwrap().protocols(), ["chat", "superchat", "v2"]);
    }

    #[test]
    fn protocols_that_are_not_tokens_are_refused() {
        let err = request("Sec-WebSocket-Protocol: chat, a b\r\n").unwrap_err();
        assert_eq!(err, HandshakeError::InvalidHeader("Sec-WebSocket-Protocol"));
    }

    #[test]
    fn extensions_are_split_at_top_level_commas_across_fields() {
        let req = request(
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x; q=\"a,b\"\r\n\
             Sec-WebSocket-Extensions: y\r\n",
        );
        assert_eq!(
            req.unwrap().extensions(),
            ["permessage-deflate; client_max_window_bits", "x; q=\"a,b\"", "y"]
        );
    }

    #[test]
    fn absolute_form_targets_yield_their_resource_name() {
        let req = raw(&format!(
            "GET http://server.example.com HTTP/1.1\r\nHost: server.example.com\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        ))
        .unwrap();
        assert_eq!((req.path(), req.query()), ("/", None));
        assert_eq!(split_target("wss://h:1/a/b?c=d").unwrap(), ("/a/b".into(), Some("c=d".into())));
        assert_eq!(split_target("https://h?q").unwrap(), ("/".into(), Some("q".into())));
    }

    #[test]
    fn odd_targets_are_malformed() {
        for target in ["*", "h:80", "ftp://h/", "/a#frag"] {
            assert_eq!(split_target(target), Err(HandshakeError::Malformed), "{target}");
        }
    }

    #[test]
    fn duplicated_host_or_origin_is_refused() {
        assert_eq!(request("Host: other\r\n").unwrap_err(), HandshakeError::InvalidHeader("Host"));
        assert_eq!(
            request("Origin: http://a\r\nOrigin: http://b\r\n").unwrap_err(),
            HandshakeError::InvalidHeader("Origin")
        );
    }

    #[test]
    fn empty_host_is_refused() {
        let err = raw(&format!(
            "GET / HTTP/1.1\r\nHost: \r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ))
        .unwrap_err();
        assert_eq!(err, HandshakeError::InvalidHeader("Host"));
    }

    #[test]
    fn key_with_whitespace_around_it_is_accepted_trimmed() {
        let head = format!(
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key:   {KEY}  \r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        assert_eq!(raw(&head).unwrap().key(), KEY);
    }

    #[test]
    fn keys_that_do_not_decode_to_sixteen_bytes_are_refused() {
        // RFC 6455 §4.2.1 item 5
        for key in [
            "dGhlIHNhbXBsZSBub25jZQ",
            "dGhlIHNhbXBsZSBub25jZQ==x",
            "AAAA",
            "!!!!!!!!!!!!!!!!!!!!!!==",
            "dGhlIHNhbXBsZSBub25jZXg=",
        ] {
            let head = format!(
                "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            );
            assert_eq!(raw(&head).unwrap_err(), HandshakeError::InvalidKey, "{key}");
        }
    }

    #[test]
    fn repeated_or_listed_versions_are_unsupported() {
        assert_eq!(request("Sec-WebSocket-Version: 13\r\n").unwrap_err(), HandshakeError::UnsupportedVersion);
    }
}
