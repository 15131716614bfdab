//! The futures-io adapter (cargo feature `async-std`): async-std, smol, and any runtime whose
//! streams implement `futures_io::AsyncRead` + `AsyncWrite`. Timers and TCP come from
//! `async-io`/`async-net`, the reactor async-std and smol share.
//!
//! [`WebSocket`] sends and receives whole messages (`recv().await`, `send(..).await`, and
//! `Stream` + `Sink`), splits into halves for two tasks, and answers pings and closes while the
//! application only reads. [`ByteStream`] is `futures_io::AsyncRead` + `AsyncWrite` over binary
//! messages. [`connect`] takes `ws://` and `wss://` (feature `rustls`) URLs and races the
//! resolved addresses (RFC 8305); [`accept_with`] lets an async callback decide on a request.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wsproto::SocketError> {
//! let mut ws = wsproto::futures_io::connect("ws://127.0.0.1:9001/").await?;
//! ws.send("hello").await?;
//! while let Some(message) = ws.recv().await? {
//!     ws.send(message).await?;
//! }
//! # Ok(()) }
//! ```

use std::any::Any;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};

use crate::handshake::{Accept, ClientRequest, Request};
use crate::nonblocking::{self, AsyncIo, AsyncTimer, Runtime, Sealed};
use crate::socket_error::SocketError;

pub use crate::nonblocking::MaybeTls;
pub use crate::options::Options;

/// A message socket on a futures-io runtime; `I` is the transport ([`Connected`] after
/// [`connect`], [`FuturesIo<S>`] after [`accept`]).
pub type WebSocket<I = Connected> = nonblocking::WebSocket<I, AsyncIoTimer>;
/// A stream socket on a futures-io runtime.
pub type ByteStream<I = Connected> = nonblocking::ByteStream<I, AsyncIoTimer>;
/// The read half of a split [`WebSocket`].
pub type ReadHalf<I = Connected> = nonblocking::ReadHalf<I, AsyncIoTimer>;
/// The write half of a split [`WebSocket`].
pub type WriteHalf<I = Connected> = nonblocking::WriteHalf<I, AsyncIoTimer>;
/// Halves of two different sockets, handed back by [`ReadHalf::reunite`].
pub type ReuniteError<I = Connected> = nonblocking::ReuniteError<I, AsyncIoTimer>;
/// What [`connect`] connects over: TCP, with TLS for `wss://`.
pub type Connected = MaybeTls<FuturesIo<TcpStream>>;

/// A futures-io byte stream as the adapter sees it.
#[derive(Debug)]
pub struct FuturesIo<S> {
    io: S,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> FuturesIo<S> {
    /// Wraps a stream; the addresses of an `async_net::TcpStream` or an
    /// `async_std::net::TcpStream` are recorded for [`Info`](crate::Info).
    pub fn new(io: S) -> Self {
        let any = &io as &dyn Any;
        let (local, peer) = if let Some(tcp) = any.downcast_ref::<TcpStream>() {
            (tcp.local_addr().ok(), tcp.peer_addr().ok())
        } else if let Some(tcp) = any.downcast_ref::<async_std::net::TcpStream>() {
            (tcp.local_addr().ok(), tcp.peer_addr().ok())
        } else {
            (None, None)
        };
        Self { io, local, peer }
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }
}

impl<S> Sealed for FuturesIo<S> {}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> AsyncIo for FuturesIo<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(Pin::new(&mut self.io).poll_close(cx))?;
        // async-std's TcpStream only flushes on close; the peer needs our FIN to finish the
        // close handshake without waiting for its close timeout.
        if let Some(tcp) = (&self.io as &dyn Any).downcast_ref::<async_std::net::TcpStream>() {
            return Poll::Ready(match tcp.shutdown(std::net::Shutdown::Write) {
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
                other => other,
            });
        }
        Poll::Ready(Ok(()))
    }
    fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}

/// The connection's deadline on `async-io`'s timer.
#[derive(Debug)]
pub struct AsyncIoTimer {
    timer: async_io::Timer,
    at: Option<Instant>,
}

impl Sealed for AsyncIoTimer {}

impl AsyncTimer for AsyncIoTimer {
    fn new() -> Self {
        Self { timer: async_io::Timer::never(), at: None }
    }
    fn poll_at(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        if self.at != Some(deadline) {
            self.timer.set_at(deadline);
            self.at = Some(deadline);
        }
        Pin::new(&mut self.timer).poll(cx).map(|_| ())
    }

    /// On async-std's executor, which runs anywhere: under smol too.
    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        async_std::task::spawn(task);
    }
}

struct FuturesRuntime;

impl Runtime for FuturesRuntime {
    type Tcp = FuturesIo<TcpStream>;
    type Timer = AsyncIoTimer;

    async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        async_net::resolve((host, port)).await
    }

    async fn connect_tcp(addr: SocketAddr, nodelay: bool) -> io::Result<Self::Tcp> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(nodelay)?;
        Ok(FuturesIo::new(stream))
    }
}

/// Sets `TCP_NODELAY` if the stream is an `async_net` or `async_std` `TcpStream`.
fn set_nodelay<S: 'static>(stream: &S, nodelay: bool) -> io::Result<()> {
    let any = stream as &dyn Any;
    if let Some(tcp) = any.downcast_ref::<TcpStream>() {
        tcp.set_nodelay(nodelay)
    } else if let Some(tcp) = any.downcast_ref::<async_std::net::TcpStream>() {
        tcp.set_nodelay(nodelay)
    } else {
        Ok(())
    }
}

nonblocking::runtime_functions!(FuturesRuntime, FuturesIo, set_nodelay);

impl<I: AsyncIo> AsyncRead for nonblocking::ByteStream<I, AsyncIoTimer> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_bytes(cx, buf)
    }
}

impl<I: AsyncIo> AsyncWrite for nonblocking::ByteStream<I, AsyncIoTimer> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_bytes(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_bytes(cx)
    }
    /// Ends the outgoing message and flushes; the connection stays open.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_finish(cx)
    }
}
