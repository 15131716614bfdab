//! Encoding a server's HTTP/1.1 error responses: reason phrases and the headers RFC 7231 and
//! RFC 6455 require for each status.

/// The reason phrase of a status (RFC 7231 §6.1, RFC 6585 §5 for 431).
pub(crate) const fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ if status < 500 => "Client Error",
        _ => "Server Error",
    }
}

/// A complete error response: status line, the headers the status requires, `Connection:
/// close`, `Content-Length`, and `body`. A status outside 400..=599 becomes 500, since this
/// encodes refusals only.
pub(crate) fn error_response(status: u16, body: &str) -> Vec<u8> {
    let status = if (400..=599).contains(&status) { status } else { 500 };
    let mut out = Vec::with_capacity(160 + body.len());
    out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes());
    match status {
        // RFC 7231 §6.5.5: the origin server MUST generate an Allow header field in a 405.
        405 => out.extend_from_slice(b"Allow: GET\r\n"),
        // RFC 7231 §6.5.15: a 426 MUST carry Upgrade naming the required protocol, and
        // RFC 7230 §6.7 then asks for the "upgrade" connection option as well.
        // RFC 6455 §4.2.2 item 4: say which WebSocket versions the server understands.
        426 => out
            .extend_from_slice(b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"),
        _ => {}
    }
    out.extend_from_slice(b"Connection: close\r\n");
    if !body.is_empty() {
        out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> (u16, String, Vec<(String, String)>, usize) {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(len) = response.parse(bytes).expect("valid HTTP") else {
            panic!("incomplete response");
        };
        let fields = response
            .headers
            .iter()
            .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
            .collect();
        let reason = response.reason.unwrap_or_default().to_owned();
        (response.code.unwrap_or_default(), reason, fields, len)
    }

    #[test]
    fn error_response_is_valid_http_with_a_matching_content_length() {
        let bytes = error_response(404, "no such endpoint");
        let (status, reason, headers, len) = parse(&bytes);
        assert_eq!((status, reason.as_str()), (404, "Not Found"));
        assert!(headers.contains(&("Connection".into(), "close".into())));
        assert!(headers.contains(&("Content-Length".into(), "16".into())));
        assert_eq!(&bytes[len..], b"no such endpoint");
    }

    #[test]
    fn empty_body_has_zero_content_length_and_no_content_type() {
        let bytes = error_response(403, "");
        let (_, _, headers, len) = parse(&bytes);
        assert!(headers.contains(&("Content-Length".into(), "0".into())));
        assert!(!headers.iter().any(|(n, _)| n == "Content-Type"));
        assert_eq!(len, bytes.len());
    }

    #[test]
    fn status_outside_the_error_range_becomes_500() {
        for status in [0, 101, 200, 302, 600, 65535] {
            assert!(error_response(status, "").starts_with(b"HTTP/1.1 500 Internal Server Error"));
        }
    }

    #[test]
    fn unknown_statuses_get_a_class_reason_phrase() {
        assert!(error_response(418, "").starts_with(b"HTTP/1.1 418 Client Error\r\n"));
        assert!(error_response(599, "").starts_with(b"HTTP/1.1 599 Server Error\r\n"));
    }
}
