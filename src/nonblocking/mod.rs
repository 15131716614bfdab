//! What the async adapters share: the socket types, generic over the runtime's plumbing.
//!
//! Use them through a runtime module: [`crate::tokio`] (feature `tokio`) or
//! [`crate::futures_io`] (feature `async-std`: async-std, smol and any futures-io runtime).
//! Those modules name the types for their runtime (`wsproto::tokio::WebSocket`) and provide
//! `connect` and `accept`. One drive loop serves both: each runtime contributes only how to
//! read, write and sleep.

mod driver;
mod handshake;
mod happy_eyeballs;
mod socket;
mod split;
mod stream;
mod tls;

pub use driver::{AsyncIo, AsyncTimer, Sealed};
pub use socket::WebSocket;
pub use split::{ReadHalf, ReuniteError, WriteHalf};
pub use stream::ByteStream;
pub use tls::MaybeTls;
#[cfg(feature = "rustls")]
pub use tls::TlsIo;

pub(crate) use driver::AsyncDriver;
pub(crate) use handshake::server as server_handshake;

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use crate::config::{Config, Delivery};
use crate::handshake::ClientRequest;
use crate::options::Options;
use crate::socket_error::SocketError;

/// How one runtime resolves names and opens TCP connections.
pub(crate) trait Runtime {
    type Tcp: AsyncIo + Send;
    type Timer: AsyncTimer;
    fn resolve(host: &str, port: u16) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send;
    fn connect_tcp(addr: SocketAddr, nodelay: bool) -> impl Future<Output = io::Result<Self::Tcp>> + Send;
}

/// Resolves, races the addresses (RFC 8305), adds TLS for `wss://`, runs the handshake.
pub(crate) async fn connect<R: Runtime>(
    request: ClientRequest,
    options: &Options,
    delivery: Delivery,
) -> Result<AsyncDriver<MaybeTls<R::Tcp>, R::Timer>, SocketError> {
    let config = Config { delivery, ..options.config.clone() };
    let url = request.url().clone();
    let addrs = happy_eyeballs::order(R::resolve(url.host(), url.port()).await?, options.max_addresses);
    let nodelay = options.nodelay;
    let tcp = happy_eyeballs::race::<R::Timer, _, _, _>(addrs, options.connect_timeout, |addr| {
        R::connect_tcp(addr, nodelay)
    })
    .await
    .map_err(|e| match e.kind() {
        io::ErrorKind::TimedOut => SocketError::Timeout("connect"),
        _ => SocketError::Io(e),
    })?;
    let io = if url.is_secure() { wrap_tls(tcp, url.host(), options)? } else { MaybeTls::Plain(tcp) };
    handshake::client::<_, R::Timer>(io, request, config).await
}

#[cfg(feature = "rustls")]
fn wrap_tls<I: AsyncIo>(io: I, host: &str, options: &Options) -> Result<MaybeTls<I>, SocketError> {
    let conn = crate::tls::client_connection(host, options)?;
    Ok(MaybeTls::Tls(Box::new(TlsIo::new(io, conn))))
}

#[cfg(not(feature = "rustls"))]
fn wrap_tls<I: AsyncIo>(_: I, _: &str, _: &Options) -> Result<MaybeTls<I>, SocketError> {
    Err(SocketError::Usage("wss:// needs the `rustls` feature"))
}

/// Writes a runtime module's `connect*` and `accept*` functions once for every runtime. At the
/// call site, `AsyncRead`/`AsyncWrite` name the runtime's stream traits, `WebSocket`,
/// `ByteStream`, `Options`, `ClientRequest`, `Request`, `Accept`, `SocketError` and `Future`
/// are in scope; `$rt` is the runtime's [`Runtime`], `$io` its stream wrapper, and `$nodelay`
/// sets `TCP_NODELAY` on a stream it recognises as TCP.
macro_rules! runtime_functions {
    ($rt:ty, $io:ident, $nodelay:path) => {
        /// Connects to a `ws://` or `wss://` URL with the default [`Options`] (keep-alive on).
        /// Dropped before it resolves, it abandons the attempt and closes what it opened.
        pub async fn connect(url: &str) -> Result<WebSocket, SocketError> {
            connect_with(ClientRequest::new(url)?, &Options::default()).await
        }

        /// Connects with a prepared request (subprotocols, headers) and options: resolves the host,
        /// races up to [`Options::max_addresses`] addresses (IPv6 first, 250 ms apart, RFC 8305),
        /// each within [`Options::connect_timeout`], then TLS and the handshake within
        /// [`Config::handshake_timeout`]($crate::Config::handshake_timeout). Dropped before it
        /// resolves, it abandons the attempt and closes what it opened.
        pub async fn connect_with(
            request: ClientRequest,
            options: &Options,
        ) -> Result<WebSocket, SocketError> {
            let driver =
                Box::pin($crate::nonblocking::connect::<$rt>(request, options, $crate::Delivery::Messages))
                    .await?;
            Ok(WebSocket::from_driver(driver))
        }

        /// Like [`connect_with`], for a [`ByteStream`] (fragment delivery: no message size limit).
        pub async fn connect_stream(
            request: ClientRequest,
            options: &Options,
        ) -> Result<ByteStream, SocketError> {
            let driver =
                Box::pin($crate::nonblocking::connect::<$rt>(request, options, $crate::Delivery::Fragments))
                    .await?;
            Ok(ByteStream::from_driver(driver))
        }

        /// Accepts every WebSocket request on `stream` with the default [`Options`].
        pub async fn accept<S>(stream: S) -> Result<WebSocket<$io<S>>, SocketError>
        where
            S: AsyncRead + AsyncWrite + Unpin + 'static,
        {
            accept_with(stream, &Options::default(), |_| async { Ok(Accept::new()) }).await
        }

        /// Runs the server handshake on `stream`; `decide` sees the request (path, origin,
        /// subprotocols, headers) and accepts it, or rejects it with an HTTP status. Malformed
        /// requests are answered with their status (400, 405, 414, 426, 431) and returned as errors.
        /// Dropped before it resolves, it drops (closes) `stream`.
        pub async fn accept_with<S, F, Fut>(
            stream: S,
            options: &Options,
            decide: F,
        ) -> Result<WebSocket<$io<S>>, SocketError>
        where
            S: AsyncRead + AsyncWrite + Unpin + 'static,
            F: FnOnce(Request) -> Fut,
            Fut: Future<Output = Result<Accept, u16>>,
        {
            let handshake = server(stream, options, $crate::Delivery::Messages, decide);
            Ok(WebSocket::from_driver(Box::pin(handshake).await?))
        }

        /// Like [`accept_with`], for a [`ByteStream`] (fragment delivery: no message size limit).
        pub async fn accept_stream<S, F, Fut>(
            stream: S,
            options: &Options,
            decide: F,
        ) -> Result<ByteStream<$io<S>>, SocketError>
        where
            S: AsyncRead + AsyncWrite + Unpin + 'static,
            F: FnOnce(Request) -> Fut,
            Fut: Future<Output = Result<Accept, u16>>,
        {
            let handshake = server(stream, options, $crate::Delivery::Fragments, decide);
            Ok(ByteStream::from_driver(Box::pin(handshake).await?))
        }

        // The handshake futures are boxed by their callers: a future is as large as its largest
        // state, and the handshake's (a 4 KiB read buffer among it) would otherwise stay inside
        // every task that awaits `accept` or `connect` for the connection's whole life.
        async fn server<S, F, Fut>(
            stream: S,
            options: &Options,
            delivery: $crate::Delivery,
            decide: F,
        ) -> Result<
            $crate::nonblocking::AsyncDriver<$io<S>, <$rt as $crate::nonblocking::Runtime>::Timer>,
            SocketError,
        >
        where
            S: AsyncRead + AsyncWrite + Unpin + 'static,
            F: FnOnce(Request) -> Fut,
            Fut: Future<Output = Result<Accept, u16>>,
        {
            let config = $crate::Config { delivery, ..options.config.clone() };
            $nodelay(&stream, options.nodelay)?;
            $crate::nonblocking::server_handshake($io::new(stream), config, decide).await
        }
    };
}
pub(crate) use runtime_functions;
