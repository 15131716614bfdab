//! The blocking message socket and the drive loop it shares with the stream socket.

use std::io::{self, IoSlice};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};

use super::Transport;
use crate::adapter::{Data, Ending};
use crate::close::{CloseCode, CloseOutcome};
use crate::connection::Connection;
use crate::error::SendError;
use crate::info::Info;
use crate::message::Message;
use crate::socket_error::SocketError;

/// Bytes read from the transport per call.
const READ_SIZE: usize = 16 << 10;
/// A read timeout of zero means "block forever" to the OS: wake at least a millisecond later.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// The drive loop: reads the transport into the connection, writes its outgoing bytes, maps
/// its timers onto read timeouts. No protocol logic lives here.
#[derive(Debug)]
pub(crate) struct Driver<S> {
    pub stream: S,
    pub conn: Connection,
    read_timeout: Option<Duration>,
    shut_down: bool,
    ending: Ending,
    pub info: Info,
}

impl<S: Transport> Driver<S> {
    pub fn new(stream: S, conn: Connection, mut info: Info) -> Self {
        info.local_addr = stream.local_addr();
        info.peer_addr = stream.peer_addr();
        Self { stream, conn, read_timeout: None, shut_down: false, ending: Ending::default(), info }
    }

    /// Feeds bytes that arrived together with the handshake.
    pub fn receive_initial(&mut self, bytes: &[u8]) {
        self.ending.receive(&mut self.conn, bytes, &mut self.info);
    }

    pub fn outcome(&self) -> Option<&CloseOutcome> {
        self.ending.outcome()
    }

    /// Blocks until a message or fragment arrives, or the connection ends (`Ok(None)` after a
    /// clean close). Pings are answered and the close handshake is completed on the way.
    pub fn next_data(&mut self) -> Result<Option<Data>, SocketError> {
        loop {
            while let Some(event) = self.conn.poll_event() {
                if let Some(data) = self.ending.take(event, &mut self.info) {
                    return Ok(Some(data));
                }
            }
            self.write_out()?;
            if self.conn.is_finished() {
                return self.ending.result().map(|()| None);
            }
            self.read_some()?;
        }
    }

    fn read_some(&mut self) -> Result<(), SocketError> {
        let now = Instant::now();
        let timeout = self.conn.poll_timeout().map(|at| at.saturating_duration_since(now).max(MIN_WAIT));
        if timeout != self.read_timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        match self.conn.receive_buffer(READ_SIZE).read_with(|room| self.stream.read(room)) {
            Ok(0) => self.conn.receive_eof(Instant::now()),
            Ok(n) => self.ending.receive_buffered(&mut self.conn, n, Instant::now(), &mut self.info),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return self.transport_failed(e),
        }
        self.conn.handle_timeout(Instant::now());
        Ok(())
    }

    /// Writes everything queued, then shuts the write half down if the connection asks.
    pub fn write_out(&mut self) -> Result<(), SocketError> {
        while self.conn.outgoing().has_remaining() {
            let out = self.conn.outgoing();
            let mut slices = [IoSlice::new(&[]); 32];
            let n = out.chunks_vectored(&mut slices);
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => return self.transport_failed(io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    self.conn.outgoing().advance(written);
                    self.info.bytes_written += written as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.transport_failed(e),
            }
        }
        if let Err(e) = self.stream.flush() {
            return self.transport_failed(e);
        }
        if self.conn.wants_shutdown() && !self.shut_down {
            self.shut_down = true;
            // The peer may already be gone; the connection is over either way.
            let _ = self.stream.shutdown_write();
        }
        Ok(())
    }

    fn transport_failed(&mut self, error: io::Error) -> Result<(), SocketError> {
        self.ending.transport_failed(&mut self.conn, error)
    }

    /// Runs a send command; on backpressure writes out and tries once more. Writes at once
    /// unless more received events wait (their replies then go out together).
    pub fn send(
        &mut self,
        command: impl FnOnce(&mut Connection) -> Result<(), SendError>,
    ) -> Result<(), SocketError> {
        if self.conn.outgoing().len() >= self.conn.config().outgoing_high_water {
            self.write_out()?;
        }
        command(&mut self.conn)?;
        if !self.conn.has_events() || self.conn.outgoing().len() >= self.conn.config().outgoing_high_water {
            self.write_out()?;
        }
        Ok(())
    }
}

/// A blocking WebSocket that sends and receives whole messages.
///
/// Made by [`connect`](super::connect), [`accept`](super::accept) or
/// [`from_connection`](Self::from_connection). Pings are answered and the close handshake is
/// completed inside [`recv`](Self::recv); keep calling it until it returns `Ok(None)`.
#[derive(Debug)]
pub struct WebSocket<S> {
    driver: Driver<S>,
}

impl<S: Transport> WebSocket<S> {
    /// Wraps a transport whose handshake is done and a connection in
    /// [`Delivery::Messages`](crate::Delivery::Messages).
    pub fn from_connection(stream: S, conn: Connection) -> Self {
        Self { driver: Driver::new(stream, conn, Info::default()) }
    }

    pub(crate) fn from_driver(driver: Driver<S>) -> Self {
        Self { driver }
    }

    /// Blocks until the next message. `Ok(None)` once the connection closed cleanly; an error
    /// when it failed ([`ErrorKind::Protocol`](crate::ErrorKind::Protocol)) or ended without a
    /// close handshake ([`ErrorKind::Closed`](crate::ErrorKind::Closed)).
    pub fn recv(&mut self) -> Result<Option<Message>, SocketError> {
        self.driver.next_data()?.map(Data::into_message).transpose()
    }

    /// Sends a message.
    pub fn send(&mut self, message: Message) -> Result<(), SocketError> {
        match message {
            Message::Text(text) => self.send_text(&text),
            Message::Binary(data) => self.send_binary(data),
        }
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SocketError> {
        self.driver.send(|conn| conn.send_text(text))?;
        self.driver.info.messages_sent += 1;
        Ok(())
    }

    /// Sends a binary message; large payloads are written without copying on the server.
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SocketError> {
        let data = data.into();
        self.driver.send(|conn| conn.send_binary(data))?;
        self.driver.info.messages_sent += 1;
        Ok(())
    }

    /// Sends a ping (at most 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SocketError> {
        self.driver.send(|conn| conn.send_ping(payload))
    }

    /// Starts the close handshake. Keep calling [`recv`](Self::recv), which delivers messages
    /// still in flight, until it returns `Ok(None)`.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SocketError> {
        self.driver.conn.close(Instant::now(), code, reason)?;
        self.driver.write_out()
    }

    /// Writes out everything queued.
    pub fn flush(&mut self) -> Result<(), SocketError> {
        self.driver.write_out()
    }

    /// How the connection ended, once it has.
    pub fn close_outcome(&self) -> Option<&CloseOutcome> {
        self.driver.outcome()
    }

    /// Addresses, subprotocol, extensions and counters.
    pub fn info(&self) -> &Info {
        &self.driver.info
    }

    /// The sans-IO connection underneath.
    pub fn connection(&self) -> &Connection {
        &self.driver.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.driver.stream
    }
}
