//! The async stream socket: binary messages as byte streams.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};

use super::driver::{AsyncDriver, AsyncIo, AsyncTimer};
use crate::close::{CloseCode, CloseOutcome};
use crate::info::Info;
use crate::message::DataKind;
use crate::socket_error::SocketError;

/// An async WebSocket whose messages are byte streams: the runtime's `AsyncRead` gives the
/// current incoming message piece by piece as it arrives, its `AsyncWrite` sends the current
/// outgoing message one frame per write. No whole message is held, so memory stays bounded by
/// the buffers whatever the message size (the runtime modules' `connect_stream` and
/// `accept_stream` use [`Delivery::Fragments`](crate::Delivery::Fragments)).
///
/// Message boundaries stay visible: a read gives 0 bytes at the end of each incoming message
/// until [`next_message`](Self::next_message), and [`finish_message`](Self::finish_message)
/// (or shutting the writer down) ends the outgoing one.
#[derive(Debug)]
pub struct ByteStream<I, T> {
    driver: AsyncDriver<I, T>,
    piece: Bytes,
    message_done: bool,
    ended: bool,
    writing: bool,
    /// [`next_message`](Self::next_message) has skipped the message it was in and waits for
    /// the next to begin.
    at_boundary: bool,
}

impl<I: AsyncIo, T: AsyncTimer> ByteStream<I, T> {
    pub(crate) fn from_driver(driver: AsyncDriver<I, T>) -> Self {
        Self {
            driver,
            piece: Bytes::new(),
            message_done: false,
            ended: false,
            writing: false,
            at_boundary: false,
        }
    }

    /// Wraps a transport whose handshake was done elsewhere and a connection (preferably in
    /// [`Delivery::Fragments`](crate::Delivery::Fragments)).
    pub fn from_connection(io: I, conn: crate::Connection) -> Self {
        Self::from_driver(AsyncDriver::new(io, conn, Info::default()))
    }

    /// Reads the next piece of the current message into `buf`; 0 at its end.
    pub(crate) fn poll_read_bytes(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        while self.piece.is_empty() {
            if self.message_done || self.ended || buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            ready!(self.poll_fill(cx))?;
        }
        let n = buf.len().min(self.piece.len());
        buf[..n].copy_from_slice(&self.piece[..n]);
        self.piece.advance(n);
        Poll::Ready(Ok(n))
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match ready!(self.driver.poll_next_data(cx))? {
            Some(data) => (self.piece, self.message_done) = data.into_piece(),
            None => self.ended = true,
        }
        // Past the boundary: the next message has begun.
        self.at_boundary = false;
        Poll::Ready(Ok(()))
    }

    /// Sends `buf` as one frame of the current outgoing message.
    pub(crate) fn poll_write_bytes(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(self.driver.poll_ready_to_send(cx))?;
        self.driver.conn.send_fragment(DataKind::Binary, buf, false).map_err(SocketError::from)?;
        self.writing = true;
        // Start writing now; what the socket does not take goes out on the next call.
        if let Poll::Ready(Err(error)) = self.driver.poll_write_out(cx) {
            return Poll::Ready(Err(error.into()));
        }
        Poll::Ready(Ok(buf.len()))
    }

    pub(crate) fn poll_flush_bytes(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(ready!(self.driver.poll_write_out(cx))?))
    }

    /// Ends the outgoing message if one is open, then flushes.
    pub(crate) fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.writing {
            ready!(self.driver.poll_ready_to_send(cx))?;
            self.driver.conn.send_fragment(DataKind::Binary, &[], true).map_err(SocketError::from)?;
            self.driver.info.messages_sent += 1;
            self.writing = false;
        }
        self.poll_flush_bytes(cx)
    }

    /// Ends the outgoing message (an empty message if nothing was written) and flushes.
    ///
    /// Cancel-safe as [`WebSocket::send`](super::WebSocket::send): dropped while it waits for
    /// room, it ended nothing; dropped while it flushes, the message is ended
    /// ([`info().messages_sent`](Info::messages_sent) tells which), and calling it again would
    /// send an empty message: flush instead.
    pub async fn finish_message(&mut self) -> io::Result<()> {
        self.writing = true;
        poll_fn(|cx| self.poll_finish(cx)).await
    }

    /// Skips the rest of the current incoming message and waits for the next to begin;
    /// `false` when the connection ended instead. Cancel-safe: called again after being
    /// dropped, it goes on from where it was (it never skips into the next message).
    pub async fn next_message(&mut self) -> io::Result<bool> {
        poll_fn(|cx| self.poll_next_message(cx)).await
    }

    fn poll_next_message(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if !self.at_boundary {
            while !self.message_done && !self.ended {
                self.piece.clear();
                ready!(self.poll_fill(cx))?;
            }
            self.piece.clear();
            self.message_done = false;
            self.at_boundary = true;
        }
        if !self.ended {
            ready!(self.poll_fill(cx))?;
        }
        self.at_boundary = false;
        Poll::Ready(Ok(!self.ended))
    }

    /// The current incoming message has been read to its end.
    pub fn is_message_done(&self) -> bool {
        (self.message_done || self.ended) && self.piece.is_empty()
    }

    /// Ends an unfinished outgoing message, starts the close handshake and waits for it to
    /// finish, discarding data still in flight. Cancel-safe: dropped, the close has started
    /// (or not); called again, it waits for the end and sends no second close.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SocketError> {
        poll_fn(|cx| self.poll_finish(cx)).await?;
        self.driver.close(code, reason)?;
        poll_fn(|cx| self.driver.poll_until_ended(cx)).await
    }

    /// How the connection ended, once it has.
    pub fn close_outcome(&self) -> Option<&CloseOutcome> {
        self.driver.outcome()
    }

    /// Addresses, subprotocol, extensions and counters.
    pub fn info(&self) -> &Info {
        &self.driver.info
    }
}
