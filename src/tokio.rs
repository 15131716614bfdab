//! The tokio adapter (cargo feature `tokio`).
//!
//! [`WebSocket`] sends and receives whole messages (`recv().await`, `send(..).await`, and
//! `Stream` + `Sink`), splits into halves for two tasks, and answers pings and closes while the
//! application only reads. [`ByteStream`] is tokio's `AsyncRead` + `AsyncWrite` over binary
//! messages. [`connect`] takes `ws://` and `wss://` (feature `rustls`) URLs and races the
//! resolved addresses (RFC 8305); [`accept_with`] lets an async callback decide on a request.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wsproto::SocketError> {
//! let mut ws = wsproto::tokio::connect("ws://127.0.0.1:9001/").await?;
//! ws.send("hello").await?;
//! while let Some(message) = ws.recv().await? {
//!     ws.send(message).await?;
//! }
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;

use crate::config::{Config, Delivery};
use crate::handshake::{Accept, ClientRequest, Request};
use crate::nonblocking::{self, AsyncDriver, AsyncIo, AsyncTimer, Runtime, Sealed};
use crate::socket_error::SocketError;

pub use crate::nonblocking::MaybeTls;
pub use crate::options::Options;

/// A message socket on tokio; `I` is the transport ([`Connected`] after [`connect`],
/// [`TokioIo<S>`] after [`accept`]).
pub type WebSocket<I = Connected> = nonblocking::WebSocket<I, TokioTimer>;
/// A stream socket on tokio.
pub type ByteStream<I = Connected> = nonblocking::ByteStream<I, TokioTimer>;
/// The read half of a split [`WebSocket`].
pub type ReadHalf<I = Connected> = nonblocking::ReadHalf<I, TokioTimer>;
/// The write half of a split [`WebSocket`].
pub type WriteHalf<I = Connected> = nonblocking::WriteHalf<I, TokioTimer>;
/// What [`connect`] connects over: TCP, with TLS for `wss://`.
pub type Connected = MaybeTls<TokioIo<TcpStream>>;

/// A tokio byte stream as the adapter sees it.
#[derive(Debug)]
pub struct TokioIo<S> {
    io: S,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> TokioIo<S> {
    /// Wraps a stream; a `TcpStream`'s addresses are recorded for [`Info`](crate::Info).
    pub fn new(io: S) -> Self {
        let tcp = (&io as &dyn std::any::Any).downcast_ref::<TcpStream>();
        let local = tcp.and_then(|s| s.local_addr().ok());
        let peer = tcp.and_then(|s| s.peer_addr().ok());
        Self { io, local, peer }
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }
}

impl<S> Sealed for TokioIo<S> {}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncIo for TokioIo<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        Pin::new(&mut self.io).poll_read(cx, &mut buf).map_ok(|()| buf.filled().len())
    }
    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}

/// The connection's deadline on tokio's timer.
#[derive(Debug)]
pub struct TokioTimer {
    sleep: Option<Pin<Box<::tokio::time::Sleep>>>,
}

impl Sealed for TokioTimer {}

impl AsyncTimer for TokioTimer {
    fn new() -> Self {
        Self { sleep: None }
    }
    fn poll_at(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        let deadline = ::tokio::time::Instant::from_std(deadline);
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(::tokio::time::sleep_until(deadline)));
        if sleep.deadline() != deadline {
            sleep.as_mut().reset(deadline);
        }
        sleep.as_mut().poll(cx)
    }
}

struct Tokio;

impl Runtime for Tokio {
    type Tcp = TokioIo<TcpStream>;
    type Timer = TokioTimer;

    async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(::tokio::net::lookup_host((host, port)).await?.collect())
    }

    async fn connect_tcp(addr: SocketAddr, nodelay: bool) -> io::Result<Self::Tcp> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(nodelay)?;
        Ok(TokioIo::new(stream))
    }
}

/// Connects to a `ws://` or `wss://` URL with the default [`Options`] (keep-alive on).
pub async fn connect(url: &str) -> Result<WebSocket, SocketError> {
    connect_with(ClientRequest::new(url)?, &Options::default()).await
}

/// Connects with a prepared request (subprotocols, headers) and options: resolves the host,
/// races up to [`Options::max_addresses`] addresses (IPv6 first, 250 ms apart, RFC 8305),
/// each within [`Options::connect_timeout`], then TLS and the handshake within
/// [`Config::handshake_timeout`].
pub async fn connect_with(request: ClientRequest, options: &Options) -> Result<WebSocket, SocketError> {
    let driver = nonblocking::connect::<Tokio>(request, options, Delivery::Messages).await?;
    Ok(WebSocket::from_driver(driver))
}

/// Like [`connect_with`], for a [`ByteStream`] (fragment delivery: no message size limit).
pub async fn connect_stream(request: ClientRequest, options: &Options) -> Result<ByteStream, SocketError> {
    let driver = nonblocking::connect::<Tokio>(request, options, Delivery::Fragments).await?;
    Ok(ByteStream::from_driver(driver))
}

/// Accepts every WebSocket request on `stream` with the default [`Options`].
pub async fn accept<S>(stream: S) -> Result<WebSocket<TokioIo<S>>, SocketError>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    accept_with(stream, &Options::default(), |_| async { Ok(Accept::new()) }).await
}

/// Runs the server handshake on `stream`; `decide` sees the request (path, origin,
/// subprotocols, headers) and accepts it, or rejects it with an HTTP status. Malformed
/// requests are answered with their status (400, 405, 414, 426, 431) and returned as errors.
pub async fn accept_with<S, F, Fut>(
    stream: S,
    options: &Options,
    decide: F,
) -> Result<WebSocket<TokioIo<S>>, SocketError>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Accept, u16>>,
{
    Ok(WebSocket::from_driver(server(stream, options, Delivery::Messages, decide).await?))
}

/// Like [`accept_with`], for a [`ByteStream`] (fragment delivery: no message size limit).
pub async fn accept_stream<S, F, Fut>(
    stream: S,
    options: &Options,
    decide: F,
) -> Result<ByteStream<TokioIo<S>>, SocketError>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Accept, u16>>,
{
    Ok(ByteStream::from_driver(server(stream, options, Delivery::Fragments, decide).await?))
}

async fn server<S, F, Fut>(
    stream: S,
    options: &Options,
    delivery: Delivery,
    decide: F,
) -> Result<AsyncDriver<TokioIo<S>, TokioTimer>, SocketError>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Accept, u16>>,
{
    let config = Config { delivery, ..options.config.clone() };
    if let Some(tcp) = (&stream as &dyn std::any::Any).downcast_ref::<TcpStream>() {
        tcp.set_nodelay(options.nodelay)?;
    }
    nonblocking::server_handshake(TokioIo::new(stream), config, decide).await
}

impl<I: AsyncIo> AsyncRead for nonblocking::ByteStream<I, TokioTimer> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let unfilled = buf.initialize_unfilled();
        let n = std::task::ready!(this.poll_read_bytes(cx, unfilled))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncIo> AsyncWrite for nonblocking::ByteStream<I, TokioTimer> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_bytes(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_bytes(cx)
    }
    /// Ends the outgoing message and flushes; the connection stays open.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_finish(cx)
    }
}
