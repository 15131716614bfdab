//! What the application receives: messages, fragments and events.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

use crate::close::CloseOutcome;

/// Bytes that are valid UTF-8: the payload of a text message, shared without copying.
///
/// ```
/// use wsproto::Utf8Bytes;
///
/// let text = Utf8Bytes::from("héllo");
/// assert_eq!(text.as_str(), "héllo");
/// assert!(Utf8Bytes::try_from(bytes::Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// The text.
    pub fn as_str(&self) -> &str {
        // The only constructors check UTF-8 or start from `str`; this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Wraps bytes the decoder has already validated as UTF-8.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Self(bytes)
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<&'static str> for Utf8Bytes {
    fn from(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Bytes {
        text.0
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Self::Text(Utf8Bytes::from(text.to_owned()))
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self::Text(text.into())
    }
}

impl From<Utf8Bytes> for Message {
    fn from(text: Utf8Bytes) -> Self {
        Self::Text(text)
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Self::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Self::Binary(data.into())
    }
}

/// The two kinds of data message (RFC 6455 §5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text.
    Text,
    /// Arbitrary bytes.
    Binary,
}

/// A whole data message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// Text or binary.
    pub fn kind(&self) -> DataKind {
        match self {
            Self::Text(_) => DataKind::Text,
            Self::Binary(_) => DataKind::Binary,
        }
    }

    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Binary(data) => data,
        }
    }

    /// The payload as `Bytes`, without copying.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Self::Text(text) => text.into(),
            Self::Binary(data) => data,
        }
    }
}

/// A piece of a data message, delivered as it arrives in
/// [`Delivery::Fragments`](crate::Delivery::Fragments).
///
/// Pieces do not follow frame boundaries: a frame may arrive as several pieces. Text pieces end
/// on character boundaries, so each is valid UTF-8 on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// The kind of the message this piece belongs to.
    pub kind: DataKind,
    /// The payload bytes of this piece (possibly empty on the final piece).
    pub data: Bytes,
    /// True on the first piece of a message.
    pub first: bool,
    /// True on the last piece of a message.
    pub fin: bool,
}

impl Fragment {
    /// The piece as text, for pieces of a text message.
    pub fn text(&self) -> Option<&str> {
        match self.kind {
            DataKind::Text => std::str::from_utf8(&self.data).ok(),
            DataKind::Binary => None,
        }
    }
}

/// Something that happened on the connection, popped by
/// [`Connection::poll_event`](crate::Connection::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Event {
    /// A whole message ([`Delivery::Messages`](crate::Delivery::Messages)).
    Message(Message),
    /// A piece of a message ([`Delivery::Fragments`](crate::Delivery::Fragments)).
    Fragment(Fragment),
    /// A ping arrived; with [`Config::auto_pong`](crate::Config::auto_pong) the pong is queued.
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The connection ended; reported exactly once, and nothing follows it.
    Closed(CloseOutcome),
}

/// A whole message lent from the receive buffer by
/// [`Connection::poll_event_ref`](crate::Connection::poll_event_ref), or any other event.
#[derive(Debug, PartialEq, Eq)]
pub enum EventRef<'a> {
    /// A whole text message, lent from the receive buffer.
    Text(&'a str),
    /// A whole binary message, lent from the receive buffer.
    Binary(&'a [u8]),
    /// Anything else, as [`Connection::poll_event`](crate::Connection::poll_event) gives it.
    Event(Event),
}
