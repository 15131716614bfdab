//! Header field helpers shared by both roles: tokens, field values, comma-separated lists,
//! lookups by name, and the headers the handshake owns.
//!
//! Panics: none.

use super::HandshakeError;

/// An owned header field: name as received, raw value.
pub(crate) type Field = (String, Vec<u8>);

/// RFC 7230 §3.2.6: `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
/// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA`.
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// RFC 7230 §3.2.6: `token = 1*tchar`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// RFC 7230 §3.2: a field value holds visible characters, spaces, tabs and obs-text; no
/// control characters (this is what keeps CR and LF out, so no header can be injected).
pub(crate) fn is_field_value(s: &[u8]) -> bool {
    s.iter().all(|&b| b == b'\t' || (b >= b' ' && b != 0x7f))
}

/// Strips optional whitespace (RFC 7230 §3.2.3: `OWS = *( SP / HTAB )`) at both ends.
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(start, |i| i + 1);
    &s[start..end]
}

/// The elements of a `#rule` list (RFC 7230 §7): split on commas, trimmed, empty elements
/// skipped. For lists of tokens, which cannot contain commas or quotes.
pub(crate) fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows).filter(|e| !e.is_empty())
}

/// Splits a `Sec-WebSocket-Extensions` value at its top-level commas (RFC 6455 §9.1), leaving
/// commas inside quoted parameter values alone; elements are trimmed, empty ones skipped.
pub(crate) fn split_extensions(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, b) in value.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out.into_iter().map(|e| e.trim_matches([' ', '\t'])).filter(|e| !e.is_empty()).collect()
}

/// The name of one extension offer or choice: the token before its first `;`.
pub(crate) fn extension_name(extension: &str) -> &str {
    extension.split(';').next().unwrap_or_default().trim_matches([' ', '\t'])
}

/// The values of every field named `name` (ASCII case-insensitive, RFC 7230 §3.2), in order.
pub(crate) fn values<'a>(fields: &'a [Field], name: &'a str) -> impl Iterator<Item = &'a [u8]> {
    fields.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
}

/// Whether the token lists of all fields named `name` contain `token` (any case). RFC 7230
/// §3.2.2: several fields of one list-valued name equal one field with the values joined by
/// commas.
pub(crate) fn has_token(fields: &[Field], name: &str, token: &str) -> bool {
    values(fields, name).flat_map(list).any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
}

/// The headers the handshake writes itself, which callers may not add.
const RESERVED: [&str; 9] = [
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
];

/// Checks a header a caller wants to add: the name must be a token and not one the handshake
/// owns, the value must hold no control characters (no CR, LF or NUL: no header injection).
pub(crate) fn check_extra_header(name: &str, value: &str) -> Result<(), HandshakeError> {
    if !is_token(name.as_bytes()) {
        return Err(HandshakeError::InvalidToken("header name"));
    }
    if let Some(reserved) = RESERVED.iter().find(|r| r.eq_ignore_ascii_case(name)) {
        return Err(HandshakeError::ReservedHeader(reserved));
    }
    if !is_field_value(value.as_bytes()) {
        return Err(HandshakeError::InvalidHeaderValue);
    }
    Ok(())
}

/// Checks an extension offer or choice: a token name, then parameters free of control
/// characters.
pub(crate) fn check_extension(extension: &str) -> Result<(), HandshakeError> {
    if !is_field_value(extension.as_bytes()) {
        return Err(HandshakeError::InvalidHeaderValue);
    }
    if !is_token(extension_name(extension).as_bytes()) {
        return Err(HandshakeError::InvalidToken("extension name"));
    }
    Ok(())
}

/// Appends `name: value\r\n`.
pub(crate) fn write_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<Field> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect()
    }

    #[test]
    fn tokens_exclude_separators_spaces_and_emptiness() {
        assert!(is_token(b"chat.v2+json"));
        assert!(is_token(b"x-Custom_Header~!"));
        for bad in [&b""[..], b"a b", b"a,b", b"a;b", b"a\"", b"(a)", b"a/b", b"a\r", b"\xc3\xa9"] {
            assert!(!is_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn field_values_refuse_cr_lf_nul_and_other_controls_but_allow_tabs_and_utf8() {
        assert!(is_field_value("a\tb c é".as_bytes()));
        for bad in [&b"a\rb"[..], b"a\nb", b"a\0b", b"\x1b[", b"\x7f"] {
            assert!(!is_field_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn token_lists_split_on_commas_trim_whitespace_and_skip_empty_elements() {
        let elements: Vec<&[u8]> = list(b" keep-alive ,\tUpgrade,, ,x").collect();
        assert_eq!(elements, [&b"keep-alive"[..], b"Upgrade", b"x"]);
    }

    #[test]
    fn token_search_is_case_insensitive_in_names_and_values_and_spans_repeated_fields() {
        let f = fields(&[("connection", "keep-alive"), ("CONNECTION", "UpGrAdE")]);
        assert!(has_token(&f, "Connection", "upgrade"));
        assert!(!has_token(&f, "Connection", "close"));
        let f = fields(&[("Connection", "upgraded, not-upgrade")]);
        assert!(!has_token(&f, "Connection", "upgrade"));
    }

    #[test]
    fn extensions_split_at_top_level_commas_only() {
        let value = r#"permessage-deflate; client_max_window_bits, x-foo; a="1,2\",3", bar"#;
        assert_eq!(
            split_extensions(value),
            ["permessage-deflate; client_max_window_bits", r#"x-foo; a="1,2\",3""#, "bar"]
        );
        assert_eq!(extension_name(" permessage-deflate ; x=1"), "permessage-deflate");
        assert!(split_extensions(" , ").is_empty());
    }

    #[test]
    fn extra_headers_must_be_tokens_with_clean_values_and_not_owned_by_the_handshake() {
        assert_eq!(check_extra_header("X-Trace", "abc"), Ok(()));
        assert_eq!(check_extra_header("x-a", "1\r\nInjected: yes"), Err(HandshakeError::InvalidHeaderValue));
        assert_eq!(check_extra_header("x-a", "a\nb"), Err(HandshakeError::InvalidHeaderValue));
        assert_eq!(check_extra_header("x-a", "a\0b"), Err(HandshakeError::InvalidHeaderValue));
        assert_eq!(check_extra_header("Bad Name", "v"), Err(HandshakeError::InvalidToken("header name")));
        for name in ["host", "UPGRADE", "connection", "sec-websocket-key", "Sec-WebSocket-Accept"] {
            assert!(matches!(check_extra_header(name, "v"), Err(HandshakeError::ReservedHeader(_))));
        }
    }

    #[test]
    fn extensions_need_a_token_name_and_no_control_characters() {
        assert_eq!(check_extension("permessage-deflate; client_max_window_bits"), Ok(()));
        assert_eq!(check_extension("a; b\r\nX: y"), Err(HandshakeError::InvalidHeaderValue));
        assert_eq!(check_extension("; x"), Err(HandshakeError::InvalidToken("extension name")));
        assert_eq!(check_extension("a b"), Err(HandshakeError::InvalidToken("extension name")));
    }
}
