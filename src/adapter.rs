//! What every adapter does with the connection's events and endings, written once: the
//! blocking and async drivers differ only in how they read, write and wait.

use std::io;
use std::time::Instant;

use bytes::Bytes;

use crate::close::{CloseCause, CloseOutcome};
use crate::connection::Connection;
use crate::error::Error;
use crate::info::Info;
use crate::message::{Event, Fragment, Message};
use crate::socket_error::SocketError;

/// Data a read produced for the application.
pub(crate) enum Data {
    Message(Message),
    Fragment(Fragment),
}

impl Data {
    /// A whole message, for the message sockets (which need `Delivery::Messages`).
    pub fn into_message(self) -> Result<Message, SocketError> {
        match self {
            Self::Message(message) => Ok(message),
            Self::Fragment(_) => Err(SocketError::Usage(
                "WebSocket::recv needs Delivery::Messages; use ByteStream for fragment delivery",
            )),
        }
    }

    /// A piece of the current message and whether it is the last, for the stream sockets.
    pub fn into_piece(self) -> (Bytes, bool) {
        match self {
            Self::Fragment(fragment) => (fragment.data, fragment.fin),
            Self::Message(message) => (message.into_bytes(), true),
        }
    }
}

/// How the connection is ending, as an adapter reports it: the outcome once reported, and the
/// peer's protocol error, which `receive` returns only once.
#[derive(Debug, Default)]
pub(crate) struct Ending {
    outcome: Option<CloseOutcome>,
    error: Option<Error>,
}

impl Ending {
    /// The application's share of an event, counted in `info`; the outcome is kept. Pings and
    /// pongs were already answered by the connection.
    pub fn take(&mut self, event: Event, info: &mut Info) -> Option<Data> {
        match event {
            Event::Message(message) => {
                info.messages_received += 1;
                Some(Data::Message(message))
            }
            Event::Fragment(fragment) => {
                info.messages_received += u64::from(fragment.fin);
                Some(Data::Fragment(fragment))
            }
            Event::Ping(_) | Event::Pong(_) => None,
            Event::Closed(outcome) => {
                // A protocol error found while decoding ends the connection through its outcome.
                if let CloseCause::Failed(error) = outcome.cause {
                    self.error = Some(error);
                }
                self.outcome = Some(outcome);
                None
            }
        }
    }

    /// Feeds bytes read from the transport, counted in `info`.
    pub fn receive(&mut self, conn: &mut Connection, bytes: &[u8], info: &mut Info) {
        info.bytes_read += bytes.len() as u64;
        if let Err(error) = conn.receive(Instant::now(), bytes) {
            self.error = Some(error);
        }
    }

    /// Takes in `n` bytes read into the connection's receive buffer at `now`, for events to be
    /// popped next.
    pub fn receive_buffered(&mut self, conn: &mut Connection, n: usize, now: Instant, info: &mut Info) {
        info.bytes_read += n as u64;
        if let Err(error) = conn.receive_buffered_to_pop(now) {
            self.error = Some(error);
        }
    }

    /// The transport broke: the connection ends as if the stream had ended, dropping what was
    /// queued. After the close handshake that is no error; a write that timed out (a write
    /// timeout set on the transport, and a peer that does not read) is a timeout.
    pub fn transport_failed(&self, conn: &mut Connection, error: io::Error) -> Result<(), SocketError> {
        let out = conn.outgoing();
        bytes::Buf::advance(out, out.len());
        conn.receive_eof(Instant::now());
        if self.outcome.is_some() {
            Ok(())
        } else if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
            Err(SocketError::Timeout("write"))
        } else {
            Err(SocketError::Io(error))
        }
    }

    /// What the application gets once the connection is finished: nothing after a clean close,
    /// the protocol error, or the abnormal outcome.
    pub fn result(&self) -> Result<(), SocketError> {
        match (self.error, &self.outcome) {
            (Some(error), _) => Err(SocketError::Protocol(error)),
            (None, Some(outcome)) if !outcome.is_clean() => Err(SocketError::Closed(outcome.clone())),
            _ => Ok(()),
        }
    }

    /// How the connection ended, once reported.
    pub fn outcome(&self) -> Option<&CloseOutcome> {
        self.outcome.as_ref()
    }
}
