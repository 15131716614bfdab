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

use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;

use crate::handshake::{Accept, ClientRequest, Request};
use crate::nonblocking::{self, AsyncIo, AsyncTimer, Runtime, Sealed};
use crate::receive_buffer::ReceiveBuffer;
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
/// Halves of two different sockets, handed back by [`ReadHalf::reunite`].
pub type ReuniteError<I = Connected> = nonblocking::ReuniteError<I, TokioTimer>;
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
    fn read_size(&self) -> usize {
        // Nothing is zeroed before a read, so a larger one costs nothing extra.
        64 << 10
    }
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReceiveBuffer<'_>,
    ) -> Poll<io::Result<usize>> {
        // Into the buffer's uninitialised room: no zeroing before each read.
        tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, buf)
    }
    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        // One slice (the common small reply) goes through `send(2)`, a little cheaper than
        // `writev(2)` with a single iovec.
        if let [one] = bufs {
            return Pin::new(&mut self.io).poll_write(cx, one);
        }
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
    /// The waker the sleep holds: the last poll was pending, and registered it.
    registered: Option<Waker>,
}

impl Sealed for TokioTimer {}

impl AsyncTimer for TokioTimer {
    fn new() -> Self {
        Self { sleep: None, registered: None }
    }

    /// Polls the sleep only when that can change something: a new deadline, a new waker, or
    /// a sleep that has fired. A connection waits at the same deadline across many wake-ups
    /// (the driver keeps the earlier one while the keep-alive deadline moves later), and
    /// re-polling the sleep at each would re-register the waker it already holds. Inlined for
    /// that check; the poll is a call.
    #[inline]
    fn poll_at(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        let deadline = ::tokio::time::Instant::from_std(deadline);
        if let (Some(sleep), Some(registered)) = (&self.sleep, &self.registered)
            && sleep.deadline() == deadline
            && !sleep.is_elapsed()
            && registered.will_wake(cx.waker())
        {
            return Poll::Pending;
        }
        self.poll_sleep(cx, deadline)
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        ::tokio::spawn(task);
    }
}

impl TokioTimer {
    /// Polls the sleep at `deadline` and keeps the waker it registered when pending.
    #[inline(never)]
    fn poll_sleep(&mut self, cx: &mut Context<'_>, deadline: ::tokio::time::Instant) -> Poll<()> {
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(::tokio::time::sleep_until(deadline)));
        if sleep.deadline() != deadline {
            sleep.as_mut().reset(deadline);
        }
        // Outside the task's budget: a sleep polled with the budget spent is pending without
        // registering the waker, which would then never be registered.
        let polled =
            Pin::new(&mut ::tokio::task::unconstrained(poll_fn(|cx| sleep.as_mut().poll(cx)))).poll(cx);
        match polled {
            Poll::Pending => match &mut self.registered {
                Some(registered) => registered.clone_from(cx.waker()),
                none => *none = Some(cx.waker().clone()),
            },
            Poll::Ready(()) => self.registered = None,
        }
        polled
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

/// Sets `TCP_NODELAY` if the stream is a tokio `TcpStream`.
fn set_nodelay<S: 'static>(stream: &S, nodelay: bool) -> io::Result<()> {
    match (stream as &dyn std::any::Any).downcast_ref::<TcpStream>() {
        Some(tcp) => tcp.set_nodelay(nodelay),
        None => Ok(()),
    }
}

nonblocking::runtime_functions!(Tokio, TokioIo, set_nodelay);

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
