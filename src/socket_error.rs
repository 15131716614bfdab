//! The one error type of the adapters: I/O, timeouts, handshake and protocol failures.

use std::fmt;
use std::io;

use crate::close::CloseOutcome;
use crate::error::{Error, SendError};
use crate::handshake::HandshakeError;

/// What went wrong, for a program to branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The transport failed (connection refused, reset, ...).
    Io,
    /// Connecting, the opening handshake or a write took too long.
    Timeout,
    /// The opening handshake failed; [`SocketError::status`] has the HTTP status if any.
    Handshake,
    /// The peer broke the protocol; our close frame with the matching code was sent.
    Protocol,
    /// The connection ended without a clean close handshake (1006, a timeout).
    Closed,
    /// The connection refused a command (it is closing, a message is in progress, ...).
    Send,
    /// The socket was used in a way its configuration does not allow.
    Usage,
}

/// An error from an adapter socket. A clean close is not an error.
#[derive(Debug)]
#[non_exhaustive]
pub enum SocketError {
    /// The transport failed.
    Io(io::Error),
    /// Connecting, the opening handshake or a write (with a write timeout set on the
    /// transport) did not finish in time.
    Timeout(&'static str),
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// The server's application refused the request with this HTTP status.
    Rejected(u16),
    /// The peer broke the protocol.
    Protocol(Error),
    /// The connection ended without a clean close handshake.
    Closed(CloseOutcome),
    /// The connection refused a command.
    Send(SendError),
    /// A misuse, described.
    Usage(&'static str),
}

impl SocketError {
    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Io(_) => ErrorKind::Io,
            Self::Timeout(_) => ErrorKind::Timeout,
            Self::Handshake(HandshakeError::Timeout) => ErrorKind::Timeout,
            Self::Handshake(_) | Self::Rejected(_) => ErrorKind::Handshake,
            Self::Protocol(_) => ErrorKind::Protocol,
            Self::Closed(_) => ErrorKind::Closed,
            Self::Send(_) => ErrorKind::Send,
            Self::Usage(_) => ErrorKind::Usage,
        }
    }

    /// The HTTP status of a failed handshake: what the server answered (client side), or what
    /// was answered to the client (server side).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Handshake(error) => error.status(),
            Self::Rejected(status) => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for SocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "I/O error: {error}"),
            Self::Timeout(what) => write!(f, "{what} timed out"),
            Self::Handshake(error) => write!(f, "handshake failed: {error}"),
            Self::Rejected(status) => write!(f, "handshake rejected with status {status}"),
            Self::Protocol(error) => write!(f, "protocol error: {error}"),
            Self::Closed(outcome) => {
                write!(f, "connection closed abnormally ({:?}, code {})", outcome.cause, outcome.code)
            }
            Self::Send(error) => write!(f, "send refused: {error}"),
            Self::Usage(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for SocketError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(error) => Some(error),
            Self::Handshake(error) => Some(error),
            Self::Protocol(error) => Some(error),
            Self::Send(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for SocketError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<HandshakeError> for SocketError {
    fn from(error: HandshakeError) -> Self {
        Self::Handshake(error)
    }
}

impl From<SendError> for SocketError {
    fn from(error: SendError) -> Self {
        Self::Send(error)
    }
}

impl From<SocketError> for io::Error {
    fn from(error: SocketError) -> Self {
        let kind = match error.kind() {
            ErrorKind::Io => match error {
                SocketError::Io(io) => return io,
                _ => io::ErrorKind::Other,
            },
            ErrorKind::Timeout => io::ErrorKind::TimedOut,
            ErrorKind::Protocol | ErrorKind::Handshake => io::ErrorKind::InvalidData,
            ErrorKind::Closed => io::ErrorKind::ConnectionAborted,
            ErrorKind::Send => io::ErrorKind::BrokenPipe,
            ErrorKind::Usage => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, error)
    }
}
