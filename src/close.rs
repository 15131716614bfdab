//! Close codes, close frame payloads and the outcome of a closed connection (RFC 6455 §5.5.1, §7).

use std::fmt;

use crate::error::Error;

/// A close status code (RFC 6455 §7.4), a validated newtype in the manner of `http::StatusCode`.
///
/// ```
/// use wsproto::CloseCode;
///
/// assert_eq!(CloseCode::NORMAL.as_u16(), 1000);
/// assert!(CloseCode::from_u16(4000).is_some());
/// assert!(CloseCode::from_u16(999).is_none());
/// assert!(CloseCode::NO_STATUS_RCVD.is_reserved());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: an endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: a protocol error.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: reserved; stands for "the close frame carried no code". Never sent.
    pub const NO_STATUS_RCVD: Self = Self(1005);
    /// 1006: reserved; stands for "closed without a close frame". Never sent.
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: a message's data was not consistent with its type (invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message was too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: (client) the server did not negotiate an extension the client requires.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: (server) an unexpected condition prevented fulfilling the request.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: a gateway received an invalid response from upstream.
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: reserved; stands for "the TLS handshake failed". Never sent.
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// Any code in 1000–4999, or `None`. Whether it may be *sent* is [`Self::is_sendable`].
    pub const fn from_u16(code: u16) -> Option<Self> {
        match code {
            1000..=4999 => Some(Self(code)),
            _ => None,
        }
    }

    /// The numeric code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// 1005, 1006 and 1015: codes that stand for conditions and never appear on the wire.
    pub const fn is_reserved(self) -> bool {
        matches!(self.0, 1005 | 1006 | 1015)
    }

    /// Whether the code may appear in a close frame: 1000–1003, 1007–1014 and 3000–4999
    /// (RFC 6455 §7.4.1 and the IANA registry). Received frames with any other code fail the
    /// connection with 1002; [`Connection::close`](crate::Connection::close) refuses them.
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

/// Longest close reason in bytes: a control payload is at most 125 bytes, 2 of them the code.
pub const MAX_REASON_LEN: usize = 123;

/// A received close frame: the code (1005 when the frame carried none) and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CloseFrame {
    pub code: CloseCode,
    pub reason: String,
}

impl CloseFrame {
    /// Parses a close payload (RFC 6455 §5.5.1): empty, or a 2-byte code and a UTF-8 reason.
    pub fn parse(payload: &[u8]) -> Result<Self, Error> {
        match payload {
            [] => Ok(Self { code: CloseCode::NO_STATUS_RCVD, reason: String::new() }),
            [_] => Err(Error::InvalidClosePayload),
            [hi, lo, reason @ ..] => {
                let code = CloseCode::from_u16(u16::from_be_bytes([*hi, *lo]))
                    .filter(|code| code.is_sendable())
                    .ok_or(Error::InvalidCloseCode(u16::from_be_bytes([*hi, *lo])))?;
                let reason = simdutf8::basic::from_utf8(reason).map_err(|_| Error::InvalidUtf8)?;
                Ok(Self { code, reason: reason.to_owned() })
            }
        }
    }
}

/// Who started the close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// This endpoint: [`Connection::close`](crate::Connection::close), a detected protocol
    /// error, or a timeout.
    Local,
    /// The peer: its close frame or its end of stream came first.
    Peer,
}

/// Why the connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseCause {
    /// Both close frames were exchanged: the clean ending.
    Handshake,
    /// The peer broke the protocol; the close frame with the matching code was queued.
    Failed(Error),
    /// The stream ended before the close handshake finished.
    Eof,
    /// Our close frame got no answer within [`Config::close_timeout`](crate::Config::close_timeout).
    CloseTimeout,
    /// Nothing arrived within the keep-alive timeout after a ping.
    KeepAliveTimeout,
}

/// How a connection ended, reported once by [`Event::Closed`](crate::Event::Closed).
///
/// `code` follows RFC 6455 §7.1.5: the code of the first close frame received, 1005 when that
/// frame carried none, and 1006 when no close frame was received at all. On a protocol failure
/// it is the failure's code (the code of our close frame, unless ours had already been sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseOutcome {
    /// The connection close code.
    pub code: CloseCode,
    /// The reason from the close frame, empty if there was none.
    pub reason: String,
    /// Who started the close.
    pub initiator: Initiator,
    /// Why the connection ended.
    pub cause: CloseCause,
}

impl CloseOutcome {
    /// True when both close frames were exchanged (RFC 6455 §7.1.4 "cleanly").
    pub fn is_clean(&self) -> bool {
        self.cause == CloseCause::Handshake
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_codes_match_rfc_6455_section_7_4() {
        let sendable: Vec<u16> =
            (0..=5000).filter(|&c| CloseCode::from_u16(c).is_some_and(CloseCode::is_sendable)).collect();
        let expected: Vec<u16> = (1000..=1003).chain(1007..=1014).chain(3000..=4999).collect();
        assert_eq!(sendable, expected);
    }

    #[test]
    fn empty_close_payload_means_no_status() {
        let frame = CloseFrame::parse(&[]).unwrap();
        assert_eq!(frame.code, CloseCode::NO_STATUS_RCVD);
    }

    #[test]
    fn one_byte_close_payload_is_a_protocol_error() {
        assert_eq!(CloseFrame::parse(&[3]), Err(Error::InvalidClosePayload));
    }

    #[test]
    fn reserved_or_unassigned_close_codes_are_refused_on_receive() {
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            let payload = code.to_be_bytes();
            assert_eq!(CloseFrame::parse(&payload), Err(Error::InvalidCloseCode(code)), "{code}");
        }
    }

    #[test]
    fn close_reason_must_be_utf8() {
        assert_eq!(CloseFrame::parse(&[0x03, 0xE8, 0xFF]), Err(Error::InvalidUtf8));
        let frame = CloseFrame::parse(b"\x03\xE8bye \xC3\xA9").unwrap();
        assert_eq!((frame.code, frame.reason.as_str()), (CloseCode::NORMAL, "bye é"));
    }
}
