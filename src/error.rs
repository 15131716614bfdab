//! The two error types of the core: faults of the peer ([`Error`]) and refused commands
//! ([`SendError`]). Handshake failures are [`HandshakeError`](crate::HandshakeError).

use std::fmt;

use crate::close::CloseCode;

/// A protocol violation by the peer. It fails the connection: the close frame with
/// [`Error::close_code`] is already queued when the error is returned, and every later
/// [`Connection::receive`](crate::Connection::receive) returns the same error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An opcode reserved for future use (RFC 6455 §5.2). 1002.
    ReservedOpcode(u8),
    /// An RSV bit set that no negotiated extension claims. 1002.
    ReservedBits,
    /// A client frame without a mask (RFC 6455 §5.1). 1002.
    UnmaskedFrame,
    /// A server frame with a mask (RFC 6455 §5.1). 1002.
    MaskedFrame,
    /// A 64-bit payload length with its most significant bit set (RFC 6455 §5.2). 1002.
    InvalidLength,
    /// A control frame with more than 125 payload bytes (RFC 6455 §5.5). 1002.
    ControlFrameTooLong,
    /// A control frame without FIN (RFC 6455 §5.5). 1002.
    FragmentedControlFrame,
    /// A continuation frame with no message in progress (RFC 6455 §5.4). 1002.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress (§5.4). 1002.
    ExpectedContinuation,
    /// A close payload of exactly one byte (RFC 6455 §5.5.1). 1002.
    InvalidClosePayload,
    /// A close code that may not be sent (RFC 6455 §7.4). 1002.
    InvalidCloseCode(u16),
    /// Text or a close reason that is not UTF-8 (RFC 6455 §8.1). 1007.
    InvalidUtf8,
    /// A frame larger than [`Config::max_frame_size`](crate::Config::max_frame_size). 1009.
    FrameTooBig,
    /// A message larger than [`Config::max_message_size`](crate::Config::max_message_size). 1009.
    MessageTooBig,
    /// A message of more than [`Config::max_fragments`](crate::Config::max_fragments) frames. 1009.
    TooManyFragments,
}

impl Error {
    /// The close code sent to the peer for this error.
    pub const fn close_code(self) -> CloseCode {
        match self {
            Self::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            Self::FrameTooBig | Self::MessageTooBig | Self::TooManyFragments => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short reason phrase, sent as the close reason.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::ReservedOpcode(_) => "reserved opcode",
            Self::ReservedBits => "reserved bits set",
            Self::UnmaskedFrame => "client frame not masked",
            Self::MaskedFrame => "server frame masked",
            Self::InvalidLength => "invalid payload length",
            Self::ControlFrameTooLong => "control frame too long",
            Self::FragmentedControlFrame => "fragmented control frame",
            Self::UnexpectedContinuation => "continuation without a message",
            Self::ExpectedContinuation => "new message inside a fragmented message",
            Self::InvalidClosePayload => "invalid close payload",
            Self::InvalidCloseCode(_) => "invalid close code",
            Self::InvalidUtf8 => "invalid UTF-8",
            Self::FrameTooBig => "frame too big",
            Self::MessageTooBig => "message too big",
            Self::TooManyFragments => "too many fragments",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            other => f.write_str(other.reason()),
        }?;
        write!(f, " (close code {})", self.close_code())
    }
}

impl std::error::Error for Error {}

/// A command the connection refused. It never changes the connection's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame was already sent (or the connection failed): nothing more may be sent.
    Closed,
    /// Outgoing bytes are at or above
    /// [`Config::outgoing_high_water`](crate::Config::outgoing_high_water): drain
    /// [`Connection::outgoing`](crate::Connection::outgoing) first.
    Backpressure,
    /// A fragmented message is being sent; finish it (`fin = true`) first.
    MessageInProgress,
    /// A control payload (ping, pong) over 125 bytes.
    ControlPayloadTooLong,
    /// A close code that may not be sent (1005, 1006, 1015, or outside the registry).
    InvalidCloseCode(CloseCode),
    /// A close reason over 123 bytes.
    ReasonTooLong,
    /// Text fragments that are not UTF-8 (or a text message finished mid-character).
    InvalidUtf8,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the connection is closing or closed"),
            Self::Backpressure => f.write_str("outgoing buffer above its high-water mark"),
            Self::MessageInProgress => f.write_str("a fragmented message is in progress"),
            Self::ControlPayloadTooLong => f.write_str("control payload over 125 bytes"),
            Self::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::ReasonTooLong => f.write_str("close reason over 123 bytes"),
            Self::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
        }
    }
}

impl std::error::Error for SendError {}
