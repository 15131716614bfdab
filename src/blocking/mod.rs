//! A blocking adapter over `std::io` (cargo feature `blocking`).
//!
//! - [`WebSocket`]: whole text or binary messages per call;
//! - [`ByteStream`]: binary messages as byte streams ([`std::io::Read`] and
//!   [`std::io::Write`]), for files and other large payloads;
//! - [`connect`] / [`connect_stream`] for `ws://` and `wss://` (feature `rustls`) URLs, and
//!   [`accept`] / [`accept_stream`] for a server.
//!
//! The adapter only moves bytes and reads the clock; every protocol rule lives in
//! [`Connection`](crate::Connection). Its timers become read timeouts, so keep-alive pings
//! and the close timeout work while a call blocks in `recv` or `read`.
//!
//! ```no_run
//! # fn main() -> Result<(), wsproto::SocketError> {
//! let mut ws = wsproto::blocking::connect("ws://127.0.0.1:9001/chat")?;
//! ws.send_text("hello")?;
//! while let Some(message) = ws.recv()? {
//!     println!("{:?}", message);
//! }
//! # Ok(()) }
//! ```

mod handshake;
mod socket;
mod stream;
mod transport;

pub use handshake::{accept, accept_stream, accept_with, connect, connect_stream, connect_with};
pub use socket::WebSocket;
pub use stream::ByteStream;
pub use transport::{MaybeTls, Transport};

use std::time::Duration;

use crate::config::{Config, KeepAlive};

/// How the adapter connects and what the connection is configured with.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// The connection's configuration. Default: [`Config::default`] with keep-alive pings
    /// every 20 s of silence and 20 s to answer (ASP.NET Core's defaults).
    pub config: Config,
    /// How long one TCP connect attempt may take. Default: 60 s.
    pub connect_timeout: Duration,
    /// How many resolved addresses to try, in order. Default: 5.
    pub max_addresses: usize,
    /// Set `TCP_NODELAY`, so small frames are not held back. Default: on.
    pub nodelay: bool,
    /// The TLS configuration for `wss://`. Default: the webpki root certificates.
    #[cfg(feature = "rustls")]
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Default for Options {
    fn default() -> Self {
        let keep_alive = KeepAlive { interval: Duration::from_secs(20), timeout: Duration::from_secs(20) };
        Self {
            config: Config::default().keep_alive(Some(keep_alive)),
            connect_timeout: Duration::from_secs(60),
            max_addresses: 5,
            nodelay: true,
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

impl Options {
    /// Sets [`Options::config`].
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets [`Options::connect_timeout`].
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`Options::nodelay`].
    #[must_use]
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Sets [`Options::tls`].
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls(mut self, tls: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }
}
