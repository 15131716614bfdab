//! The options every adapter takes: the connection's `Config` and how to connect.

use std::time::Duration;

use crate::config::{Config, KeepAlive};

/// How an adapter connects and what the connection is configured with; shared by every
/// adapter.
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
