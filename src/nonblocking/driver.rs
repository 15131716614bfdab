//! The drive loop shared by the async adapters: reads the transport into the connection,
//! writes its outgoing bytes, and maps its deadline onto a runtime timer. Each runtime supplies
//! only the plumbing ([`AsyncIo`], [`AsyncTimer`]); no protocol logic lives here.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Buf;

use crate::adapter::{Data, Ending};
use crate::close::{CloseCode, CloseOutcome};
use crate::connection::Connection;
use crate::info::Info;
use crate::receive_buffer::ReceiveBuffer;
use crate::socket_error::SocketError;

/// Keeps the runtime traits closed to this crate's wrappers.
pub trait Sealed {}

/// A non-blocking byte stream as one runtime's traits see it. Implemented by the runtime
/// wrappers ([`crate::tokio::TokioIo`], [`crate::futures_io::FuturesIo`]); sealed.
pub trait AsyncIo: Unpin + Sealed {
    /// Reads into `buf`.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    /// How many bytes to read per call (more while a large frame arrives): by default 16 KiB,
    /// as the default [`poll_read_into`](Self::poll_read_into) zeroes them first.
    fn read_size(&self) -> usize {
        16 << 10
    }
    /// Reads into the connection's receive buffer; by default through
    /// [`poll_read`](Self::poll_read) into its room, zeroed first.
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReceiveBuffer<'_>,
    ) -> Poll<io::Result<usize>> {
        let mut result = Poll::Pending;
        let _ = buf.read_with(|room| {
            result = self.poll_read(cx, room);
            match &result {
                Poll::Ready(Ok(n)) => Ok(*n),
                _ => Err(()),
            }
        });
        result
    }
    /// Writes some of `bufs`.
    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>>;
    /// Flushes buffered writes.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Shuts the write half down.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// The local address, if any.
    fn local_addr(&self) -> Option<SocketAddr>;
    /// The peer's address, if any.
    fn peer_addr(&self) -> Option<SocketAddr>;
}

/// One re-armable deadline of one runtime, and how that runtime runs a split socket's task;
/// sealed.
pub trait AsyncTimer: Unpin + Send + Sealed {
    /// A timer with no deadline.
    fn new() -> Self;
    /// Ready once `deadline` has passed; registers the waker otherwise.
    fn poll_at(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()>;
    /// Runs `task` on the runtime until it completes, detached.
    fn spawn(task: impl Future<Output = ()> + Send + 'static);
}

/// How much a read asks for after a read that brought less. A receive buffer of at most this
/// capacity is kept while the connection waits, for the next read (a peer that sends little
/// per wait would otherwise cost an allocation and a free per message); a larger one is given
/// back, and the read after allocates it again at this size, which common allocators serve
/// from a per-thread cache. A read that fills it is followed by full-size reads.
const SMALL_READ: usize = 1 << 10;

/// The connection, its transport and its timer.
#[derive(Debug)]
pub(crate) struct AsyncDriver<I, T> {
    pub io: I,
    timer: T,
    /// When the timer is set to fire: at or before the connection's deadline.
    armed: Option<Instant>,
    pub conn: Connection,
    shut_down: bool,
    /// The last read brought less than [`SMALL_READ`] bytes: the peer sends little per wait.
    small_reads: bool,
    ending: Ending,
    pub info: Info,
}

impl<I: AsyncIo, T: AsyncTimer> AsyncDriver<I, T> {
    pub fn new(io: I, conn: Connection, mut info: Info) -> Self {
        info.local_addr = io.local_addr();
        info.peer_addr = io.peer_addr();
        let ending = Ending::default();
        Self { io, timer: T::new(), armed: None, conn, shut_down: false, small_reads: false, ending, info }
    }

    /// Feeds bytes that arrived together with the handshake.
    pub fn receive_initial(&mut self, bytes: &[u8]) {
        self.ending.receive(&mut self.conn, bytes, &mut self.info);
    }

    pub fn outcome(&self) -> Option<&CloseOutcome> {
        self.ending.outcome()
    }

    /// The data still queued once the connection has ended; takes the other events on the way
    /// (after a transport error, the closed event), so that the outcome is known without
    /// another poll.
    pub fn next_final_data(&mut self) -> Option<Data> {
        while let Some(event) = self.conn.poll_event() {
            if let Some(data) = self.ending.take(event, &mut self.info) {
                return Some(data);
            }
        }
        None
    }

    /// The next message or fragment; `Ready(Ok(None))` after a clean close. Answers pings,
    /// completes the close handshake and runs the timers on the way. All state lives in the
    /// driver, so dropping the future that polls this loses nothing.
    pub fn poll_next_data(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Data>, SocketError>> {
        loop {
            while let Some(event) = self.conn.poll_event() {
                if let Some(data) = self.ending.take(event, &mut self.info) {
                    return Poll::Ready(Ok(Some(data)));
                }
            }
            // Replies (pongs, the close echo) go out even when the application only reads.
            if let Poll::Ready(Err(error)) = self.poll_write_out(cx) {
                return Poll::Ready(Err(error));
            }
            if self.conn.is_finished() {
                return Poll::Ready(self.ending.result().map(|()| None));
            }
            let size = if self.small_reads { SMALL_READ } else { self.io.read_size() };
            let mut buf = self.conn.receive_buffer(size);
            let small_buffer = buf.capacity() <= SMALL_READ;
            let read = self.io.poll_read_into(cx, &mut buf);
            let Poll::Ready(read) = read else {
                // About to wait: for the next byte, or for the connection's next deadline.
                if self.poll_timer(cx).is_ready() {
                    continue;
                }
                // An idle connection keeps no empty buffers but a small receive buffer.
                if small_buffer {
                    self.conn.release_queues();
                } else {
                    self.conn.release_buffers();
                }
                return Poll::Pending;
            };
            match read {
                Ok(0) => self.conn.receive_eof(Instant::now()),
                Ok(n) => {
                    self.small_reads = n < SMALL_READ;
                    let now = Instant::now();
                    self.ending.receive_buffered(&mut self.conn, n, now, &mut self.info);
                    // The timer is armed only before waiting: a peer that never lets a read
                    // wait still has the deadlines kept, on the clock read for the data.
                    if self.conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
                        self.conn.handle_timeout(now);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if let Err(error) = self.transport_failed(e) {
                        return Poll::Ready(Err(error));
                    }
                }
            }
        }
    }

    /// Arms the runtime's timer for the connection's next deadline; ready (and the timeout
    /// handled) when it has passed.
    ///
    /// A deadline that moved later (the keep-alive ping, pushed back by every message) keeps
    /// the earlier wake-up: moving the runtime's timer per message costs a timer-wheel update
    /// each. The early wake-up does nothing but re-arm.
    pub fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.conn.poll_timeout() else { return Poll::Pending };
        let at = self.armed.filter(|&armed| armed <= deadline).unwrap_or(deadline);
        self.armed = Some(at);
        ready!(self.timer.poll_at(cx, at));
        self.armed = None;
        self.conn.handle_timeout(Instant::now());
        Poll::Ready(())
    }

    /// Writes everything queued, flushes, and shuts the write half down when the connection
    /// asks. Ready when all is written.
    ///
    /// Inlined: a read polls it first, mostly with nothing queued (and a plain transport's
    /// flush does nothing), which then costs a few checks rather than a call.
    #[inline]
    pub fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        if self.conn.outgoing().has_remaining() {
            ready!(self.poll_write_queued(cx))?;
        }
        if let Err(e) = ready!(self.io.poll_flush(cx)) {
            return Poll::Ready(self.transport_failed(e));
        }
        if self.conn.wants_shutdown() && !self.shut_down {
            // The peer may already be gone; the connection is over either way.
            let _ = ready!(self.io.poll_shutdown(cx));
            self.shut_down = true;
        }
        Poll::Ready(Ok(()))
    }

    /// Writes everything queued; ready when all is written. Never inlined, so that
    /// [`Self::poll_write_out`] stays small where it is inlined.
    #[inline(never)]
    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        while self.conn.outgoing().has_remaining() {
            let out = self.conn.outgoing();
            let chunk = out.chunk();
            let written = if chunk.len() == out.remaining() {
                // All in one piece (small frames are packed together): no slice array to fill.
                self.io.poll_write_vectored(cx, &[IoSlice::new(chunk)])
            } else {
                let mut slices = [IoSlice::new(&[]); 32];
                let n = out.chunks_vectored(&mut slices);
                self.io.poll_write_vectored(cx, &slices[..n])
            };
            match ready!(written) {
                Ok(0) => return Poll::Ready(self.transport_failed(io::ErrorKind::WriteZero.into())),
                Ok(written) => {
                    self.conn.outgoing().advance(written);
                    self.info.bytes_written += written as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(self.transport_failed(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    fn transport_failed(&mut self, error: io::Error) -> Result<(), SocketError> {
        self.ending.transport_failed(&mut self.conn, error)
    }

    /// Ready when a send may be queued: outgoing is below its high-water mark.
    pub fn poll_ready_to_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        while self.conn.outgoing().len() >= self.conn.config().outgoing_high_water {
            ready!(self.poll_write_out(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// After a send was queued: writes at once, unless more received events wait and the
    /// queue is below its high-water mark (their replies then go out together, in one write,
    /// once the application has read them). Ready when written or held back.
    pub fn poll_after_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        if self.conn.has_events() && self.conn.outgoing().len() < self.conn.config().outgoing_high_water {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_out(cx)
    }

    /// Starts the close handshake; once started (or ended), does nothing, so that a `close`
    /// whose future was dropped can be called again to wait for the end.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SocketError> {
        if self.conn.state() != crate::State::Open {
            return Ok(());
        }
        Ok(self.conn.close(Instant::now(), code, reason)?)
    }

    /// Waits until the connection has ended, discarding data still arriving.
    pub fn poll_until_ended(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        while ready!(self.poll_next_data(cx))?.is_some() {}
        Poll::Ready(Ok(()))
    }
}
