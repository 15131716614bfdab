//! Every bound and tunable of a connection, each a named field with a documented default.

use std::time::Duration;

use crate::rng::RngSource;

/// How received data messages are handed to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Whole messages ([`Event::Message`](crate::Event::Message)), assembled in the core and
    /// bounded by [`Config::max_message_size`].
    #[default]
    Messages,
    /// Payload pieces as they arrive ([`Event::Fragment`](crate::Event::Fragment)); text pieces
    /// end on character boundaries. Nothing holds a whole message, so the message, frame and
    /// fragment-count limits do not apply: memory is bounded by what one
    /// [`Connection::receive`](crate::Connection::receive) call hands in.
    Fragments,
}

/// Keep-alive: a ping after `interval` in which nothing was received, and failure when nothing
/// arrives within `timeout` of the first unanswered ping (ASP.NET's `KeepAliveInterval` and
/// `KeepAliveTimeout`). A zero interval turns keep-alive off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAlive {
    /// Idle time after which a ping is sent; zero turns keep-alive off.
    pub interval: Duration,
    /// How long to wait for any frame after that ping before the connection is failed.
    pub timeout: Duration,
}

/// The configuration of a [`Connection`](crate::Connection) and of the handshakes.
///
/// Every bound is finite by default. Builder-style setters consume and return `self`:
///
/// ```
/// use std::time::Duration;
/// use wsproto::Config;
///
/// let config = Config::default()
///     .max_message_size(64 << 20)
///     .max_frame_size(16 << 20)
///     .close_timeout(Duration::from_secs(5));
/// assert_eq!(config.max_message_size, 64 << 20);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Largest assembled message, in bytes, in [`Delivery::Messages`] (exceeding it fails the
    /// connection with 1009). Default: 1 MiB.
    pub max_message_size: usize,
    /// Largest single frame payload, in bytes, in [`Delivery::Messages`] (1009). Default: 1 MiB.
    pub max_frame_size: usize,
    /// Most frames one message may be split into, in [`Delivery::Messages`] (1009). Default: 1,024.
    pub max_fragments: usize,
    /// How received messages are delivered. Default: [`Delivery::Messages`].
    pub delivery: Delivery,
    /// Longest HTTP request line a server accepts (414 beyond it). Default: 8 KiB.
    pub max_request_line: usize,
    /// Most bytes of an HTTP handshake head, request or response, up to and including the
    /// blank line (431 beyond it). Default: 16 KiB.
    pub max_header_bytes: usize,
    /// Most header fields in a handshake head (431 beyond it). Default: 100.
    pub max_headers: usize,
    /// Buffered outgoing bytes at or above which `send_*` is refused with
    /// [`SendError::Backpressure`](crate::SendError::Backpressure). A split async socket also
    /// bounds each of its two queues (sent messages not yet taken by its task, received ones
    /// not yet taken by its read half) by it. Default: 64 KiB.
    pub outgoing_high_water: usize,
    /// How long to wait for the peer's close frame after ours, and (client) for the server to
    /// close TCP after the close handshake. Default: 10 s.
    pub close_timeout: Duration,
    /// How long the opening handshake may take. Default: 10 s.
    pub handshake_timeout: Duration,
    /// Keep-alive pings; `None` turns them off. Default: off in the core (the adapters turn it on).
    pub keep_alive: Option<KeepAlive>,
    /// Outgoing messages larger than this are split into frames of at most this many payload
    /// bytes; `None` sends each message as one frame. Default: `None`.
    pub fragment_size: Option<usize>,
    /// Answer pings with pongs automatically (the latest ping only, RFC 6455 §5.5.3). Default: on.
    pub auto_pong: bool,
    /// Where masking keys and handshake nonces come from. Default: the operating system.
    pub rng: RngSource,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_message_size: 1 << 20,
            max_frame_size: 1 << 20,
            max_fragments: 1024,
            delivery: Delivery::Messages,
            max_request_line: 8 << 10,
            max_header_bytes: 16 << 10,
            max_headers: 100,
            outgoing_high_water: 64 << 10,
            close_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            keep_alive: None,
            fragment_size: None,
            auto_pong: true,
            rng: RngSource::Os,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl Config {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`Config::max_message_size`].
    max_message_size: usize;
    /// Sets [`Config::max_frame_size`].
    max_frame_size: usize;
    /// Sets [`Config::max_fragments`].
    max_fragments: usize;
    /// Sets [`Config::delivery`].
    delivery: Delivery;
    /// Sets [`Config::max_request_line`].
    max_request_line: usize;
    /// Sets [`Config::max_header_bytes`].
    max_header_bytes: usize;
    /// Sets [`Config::max_headers`].
    max_headers: usize;
    /// Sets [`Config::outgoing_high_water`].
    outgoing_high_water: usize;
    /// Sets [`Config::close_timeout`].
    close_timeout: Duration;
    /// Sets [`Config::handshake_timeout`].
    handshake_timeout: Duration;
    /// Sets [`Config::keep_alive`].
    keep_alive: Option<KeepAlive>;
    /// Sets [`Config::fragment_size`].
    fragment_size: Option<usize>;
    /// Sets [`Config::auto_pong`].
    auto_pong: bool;
    /// Sets [`Config::rng`].
    rng: RngSource;
}
