//! The blocking stream socket: binary messages read and written in pieces, as `Read`/`Write`.

use std::io::{self, Read, Write};
use std::time::Instant;

use bytes::{Buf, Bytes};

use super::Transport;
use super::socket::Driver;
use crate::close::{CloseCode, CloseOutcome};
use crate::connection::Connection;
use crate::info::Info;
use crate::message::DataKind;
use crate::socket_error::SocketError;

/// A blocking WebSocket whose messages are byte streams: [`Read`] gives the current incoming
/// message piece by piece as it arrives, [`Write`] sends the current outgoing message one frame
/// per `write`. No whole message is ever held, so a multi-GiB file passes with memory bounded
/// by the read buffer (use [`Delivery::Fragments`](crate::Delivery::Fragments), as
/// [`connect_stream`](super::connect_stream) and [`accept_stream`](super::accept_stream) do).
///
/// Message boundaries stay visible: `read` returns `Ok(0)` at the end of each incoming message
/// until [`next_message`](Self::next_message) moves on, and
/// [`finish_message`](Self::finish_message) ends the outgoing one.
#[derive(Debug)]
pub struct ByteStream<S> {
    driver: Driver<S>,
    piece: Bytes,
    /// The last piece of the current incoming message has been taken.
    message_done: bool,
    /// The connection ended; nothing more will be read.
    ended: bool,
    /// Bytes of the outgoing message were sent and its final frame was not.
    writing: bool,
}

impl<S: Transport> ByteStream<S> {
    /// Wraps a transport whose handshake is done and a connection (preferably in
    /// [`Delivery::Fragments`](crate::Delivery::Fragments); whole messages also work).
    pub fn from_connection(stream: S, conn: Connection) -> Self {
        Self::from_driver(Driver::new(stream, conn, Info::default()))
    }

    pub(crate) fn from_driver(driver: Driver<S>) -> Self {
        Self { driver, piece: Bytes::new(), message_done: false, ended: false, writing: false }
    }

    /// Skips what is left of the current incoming message and waits for the next one to
    /// begin. Returns `false` when the connection ended instead.
    pub fn next_message(&mut self) -> io::Result<bool> {
        while !self.message_done && !self.ended {
            self.piece.clear();
            self.fill()?;
        }
        self.piece.clear();
        if !self.ended {
            self.message_done = false;
            self.fill()?;
        }
        Ok(!self.ended)
    }

    /// The current incoming message has been read to its end.
    pub fn is_message_done(&self) -> bool {
        (self.message_done || self.ended) && self.piece.is_empty()
    }

    /// Ends the outgoing message (a final, empty frame if bytes were written; an empty message
    /// otherwise). The next `write` starts a new message.
    pub fn finish_message(&mut self) -> io::Result<()> {
        self.driver.send(|conn| conn.send_fragment(DataKind::Binary, &[], true))?;
        self.writing = false;
        self.driver.info.messages_sent += 1;
        Ok(self.driver.write_out()?)
    }

    /// Starts the close handshake (ending an unfinished outgoing message first), then waits
    /// until it completes, discarding data still in flight.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SocketError> {
        if self.writing {
            self.finish_message()?;
        }
        self.driver.conn.close(Instant::now(), code, reason)?;
        while self.driver.next_data()?.is_some() {}
        Ok(())
    }

    /// How the connection ended, once it has.
    pub fn close_outcome(&self) -> Option<&CloseOutcome> {
        self.driver.outcome()
    }

    /// Addresses, subprotocol, extensions and counters.
    pub fn info(&self) -> &Info {
        &self.driver.info
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.driver.stream
    }

    /// Reads until a piece of the current message, its end, or the connection's end.
    fn fill(&mut self) -> io::Result<()> {
        match self.driver.next_data()? {
            Some(data) => (self.piece, self.message_done) = data.into_piece(),
            None => self.ended = true,
        }
        Ok(())
    }
}

impl<S: Transport> Read for ByteStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.piece.is_empty() {
            if self.message_done || self.ended || buf.is_empty() {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.piece.len());
        buf[..n].copy_from_slice(&self.piece[..n]);
        self.piece.advance(n);
        Ok(n)
    }
}

impl<S: Transport> Write for ByteStream<S> {
    /// Sends `buf` as one frame of the current outgoing message. Wrap the stream in a
    /// `BufWriter` to send fewer, larger frames.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.driver.send(|conn| conn.send_fragment(DataKind::Binary, buf, false))?;
        self.writing = true;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(self.driver.write_out()?)
    }
}
