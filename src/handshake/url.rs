//! [`WsUrl`]: a parsed `ws://` or `wss://` URL (RFC 6455 §3).

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use super::HandshakeError;

/// A WebSocket URL, `ws://host[:port][/path][?query]` or `wss://...` (RFC 6455 §3).
///
/// Parsing is strict where the RFC is: the scheme is `ws` or `wss` (any case), there is no
/// fragment, the host is not empty and carries no userinfo, the port is 1–65535, and the URL
/// holds no whitespace or control characters. Non-ASCII characters in the path and query are
/// percent-encoded; a non-ASCII host (an unencoded IDN) is refused.
///
/// ```
/// use wsproto::handshake::WsUrl;
///
/// let url = WsUrl::parse("ws://[::1]:9001/x?y=1")?;
/// assert_eq!(url.host(), "::1");
/// assert_eq!(url.port(), 9001);
/// assert_eq!(url.path_and_query(), "/x?y=1");
/// assert_eq!(url.host_header(), "[::1]:9001");
///
/// let url: WsUrl = "WSS://example.com".parse()?;
/// assert!(url.is_secure());
/// assert_eq!((url.port(), url.path_and_query()), (443, "/"));
/// assert_eq!(url.to_string(), "wss://example.com/");
/// # Ok::<(), wsproto::handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WsUrl {
    secure: bool,
    host: String,
    port: u16,
    path_and_query: String,
}

impl WsUrl {
    /// Parses a `ws://` or `wss://` URL. See the type's docs for what is refused.
    pub fn parse(s: &str) -> Result<Self, HandshakeError> {
        if s.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(HandshakeError::InvalidUrl("whitespace or control character"));
        }
        // RFC 6455 §3: "Fragment identifiers are meaningless in the context of WebSocket
        // URIs and MUST NOT be used on these URIs."
        if s.contains('#') {
            return Err(HandshakeError::InvalidUrl("fragment"));
        }
        let (scheme, rest) =
            s.split_once("://").ok_or(HandshakeError::InvalidUrl("scheme must be ws or wss"))?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(HandshakeError::InvalidUrl("scheme must be ws or wss"));
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(HandshakeError::InvalidUrl("userinfo"));
        }
        let (host, port) = parse_authority(authority)?;
        let port = match port {
            None => default_port(secure),
            Some(p) => parse_port(p)?,
        };
        // RFC 6455 §3: the resource name is "/" if the path is empty, then "?" and the query.
        let mut path_and_query = String::with_capacity(tail.len() + 1);
        if !tail.starts_with('/') {
            path_and_query.push('/');
        }
        percent_encode_non_ascii(tail, &mut path_and_query);
        Ok(Self { secure, host: host.to_owned(), port, path_and_query })
    }

    /// Whether the scheme is `wss` (WebSocket over TLS).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The host: a name, an IPv4 address, or an IPv6 address without its brackets (`::1`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port: the one in the URL, else 80 for `ws` and 443 for `wss`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target: the path (`/` when empty) and the `?query`, if any.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// The value of the `Host` header (RFC 7230 §5.4): the host, in brackets for IPv6, followed
    /// by `:port` only when the port is not the scheme's default.
    pub fn host_header(&self) -> String {
        let mut out = String::with_capacity(self.host.len() + 8);
        if self.host.contains(':') {
            out.push('[');
            out.push_str(&self.host);
            out.push(']');
        } else {
            out.push_str(&self.host);
        }
        if self.port != default_port(self.secure) {
            out.push(':');
            out.push_str(&self.port.to_string());
        }
        out
    }
}

impl FromStr for WsUrl {
    type Err = HandshakeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.path_and_query)
    }
}

const fn default_port(secure: bool) -> u16 {
    if secure { 443 } else { 80 }
}

/// Splits `host[:port]` or `[ipv6][:port]`, validating the host.
fn parse_authority(authority: &str) -> Result<(&str, Option<&str>), HandshakeError> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (literal, after) =
            rest.split_once(']').ok_or(HandshakeError::InvalidUrl("unclosed IPv6 literal"))?;
        if literal.parse::<Ipv6Addr>().is_err() {
            return Err(HandshakeError::InvalidUrl("invalid IPv6 literal"));
        }
        return match after {
            "" => Ok((literal, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((literal, Some(port))),
                None => Err(HandshakeError::InvalidUrl("junk after IPv6 literal")),
            },
        };
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(HandshakeError::InvalidUrl("empty host"));
    }
    // RFC 3986 §3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ).
    let reg_name = |b: u8| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b);
    if !host.bytes().all(reg_name) {
        return Err(HandshakeError::InvalidUrl("invalid character in host"));
    }
    Ok((host, port))
}

fn parse_port(port: &str) -> Result<u16, HandshakeError> {
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HandshakeError::InvalidUrl("invalid port"));
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(HandshakeError::InvalidUrl("invalid port")),
        Ok(p) => Ok(p),
    }
}

/// Appends `s`, with every byte of a non-ASCII character percent-encoded (RFC 3986 §2.1), so
/// the request line stays ASCII.
fn percent_encode_non_ascii(s: &str, out: &mut String) {
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> (bool, String, u16, String, String) {
        let url = WsUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let (secure, host, port) = (url.is_secure(), url.host().to_owned(), url.port());
        (secure, host, port, url.path_and_query().to_owned(), url.host_header())
    }

    fn refused(s: &str) -> &'static str {
        match WsUrl::parse(s) {
            Err(HandshakeError::InvalidUrl(why)) => why,
            other => panic!("{s}: expected InvalidUrl, got {other:?}"),
        }
    }

    // RFC 6455 §3: ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ]

    #[test]
    fn ws_url_without_port_or_path_defaults_to_port_80_and_path_slash() {
        assert_eq!(
            parts("ws://example.com"),
            (false, "example.com".into(), 80, "/".into(), "example.com".into())
        );
    }

    #[test]
    fn wss_url_defaults_to_port_443() {
        assert_eq!(parts("wss://example.com/chat").2, 443);
        assert!(parts("wss://example.com/chat").0);
    }

    #[test]
    fn explicit_default_port_is_left_out_of_the_host_header() {
        assert_eq!(parts("ws://a.example:80/").4, "a.example");
        assert_eq!(parts("wss://a.example:443/").4, "a.example");
        assert_eq!(parts("wss://a.example:80/").4, "a.example:80");
    }

    #[test]
    fn ipv6_literal_loses_its_brackets_in_host_and_keeps_them_in_the_host_header() {
        assert_eq!(
            parts("ws://[::1]:9001/x?y=1"),
            (false, "::1".into(), 9001, "/x?y=1".into(), "[::1]:9001".into())
        );
        assert_eq!(parts("wss://[2001:db8::7]").4, "[2001:db8::7]");
    }

    #[test]
    fn query_without_path_gets_a_slash() {
        assert_eq!(parts("ws://h?x=1").3, "/?x=1");
    }

    #[test]
    fn scheme_is_case_insensitive_and_display_normalizes_it() {
        let url = WsUrl::parse("WS://Host:8080/P?Q").unwrap();
        assert_eq!(url.to_string(), "ws://Host:8080/P?Q");
        assert_eq!("wSs://h".parse::<WsUrl>().unwrap().to_string(), "wss://h/");
    }

    #[test]
    fn display_round_trips_through_parse() {
        for s in ["ws://a/b?c", "wss://[::1]:1/", "ws://127.0.0.1:9001/runCase?case=1&agent=x"] {
            let url = WsUrl::parse(s).unwrap();
            assert_eq!(WsUrl::parse(&url.to_string()).unwrap(), url);
        }
    }

    #[test]
    fn non_ascii_path_characters_are_percent_encoded() {
        assert_eq!(parts("ws://h/caf\u{e9}?q=\u{e9}").3, "/caf%C3%A9?q=%C3%A9");
    }

    #[test]
    fn other_schemes_are_refused() {
        for s in ["http://h/", "https://h/", "ftp://h", "wsx://h", "ws:/h", "h/path", "://h"] {
            refused(s);
        }
    }

    #[test]
    fn fragments_are_refused() {
        // RFC 6455 §3: fragment identifiers MUST NOT be used.
        assert_eq!(refused("ws://h/p#frag"), "fragment");
        assert_eq!(refused("ws://h/#"), "fragment");
    }

    #[test]
    fn empty_host_is_refused() {
        assert_eq!(refused("ws://"), "empty host");
        assert_eq!(refused("ws:///path"), "empty host");
        assert_eq!(refused("ws://:80/"), "empty host");
    }

    #[test]
    fn bad_ports_are_refused() {
        for s in [
            "ws://h:/",
            "ws://h:0",
            "ws://h:65536",
            "ws://h:99999999",
            "ws://h:8a",
            "ws://h:-1",
            "ws://[::1]:",
        ] {
            assert_eq!(refused(s), "invalid port", "{s}");
        }
        assert_eq!(parts("ws://h:65535").2, 65535);
    }

    #[test]
    fn userinfo_is_refused() {
        assert_eq!(refused("ws://user@h/"), "userinfo");
        assert_eq!(refused("ws://user:pw@h:80/"), "userinfo");
    }

    #[test]
    fn whitespace_and_control_characters_are_refused() {
        for s in [" ws://h/", "ws://h/ x", "ws://h/\tx", "ws://h/\r\nX: y", "ws://h/\0"] {
            assert_eq!(refused(s), "whitespace or control character", "{s:?}");
        }
    }

    #[test]
    fn malformed_hosts_are_refused() {
        for s in [
            "ws://[::1/",
            "ws://[not-ip]/",
            "ws://[::1]x/",
            "ws://h:1:2/",
            "ws://h\u{e9}.example/",
            "ws://a\"b/",
        ] {
            refused(s);
        }
    }
}
