//! A WebSocket (RFC 6455) implementation as a sans-IO state machine.
//!
//! The core does no I/O, reads no clock and starts no thread: bytes, time and entropy come in
//! as arguments; bytes to send, events and the next deadline come out. Any transport, runtime
//! or event loop can drive it. Optional adapters do the driving for common cases.
//!
//! The pieces:
//! - [`handshake`]: the opening handshake, client ([`handshake::ClientHandshake`]) and server
//!   ([`handshake::ServerHandshake`]), usable on their own from any HTTP stack;
//! - [`Connection`]: everything after the handshake — framing, masking, fragmentation,
//!   UTF-8 checks, ping/pong, the close handshake, limits and timers;
//! - [`Config`]: every limit and timeout, each with a finite default.
//!
//! # Driving a connection by hand
//!
//! **Two verbs and one rule**: feed what arrives to [`Connection::receive`] (and time to
//! [`Connection::handle_timeout`]); after every call, write out [`Connection::outgoing`], pop
//! [`Connection::poll_event`] until `None`, and re-arm a timer at
//! [`Connection::poll_timeout`].
//!
//! ```
//! use std::time::Instant;
//! use bytes::Buf;
//! use wsproto::{CloseCode, Config, Connection, Event, Message, Role};
//!
//! let now = Instant::now();
//! let mut client = Connection::new(Role::Client, Config::default(), now);
//! let mut server = Connection::new(Role::Server, Config::default(), now);
//!
//! client.send_text("ping?").unwrap();
//! client.close(now, CloseCode::NORMAL, "done").unwrap();
//! let out = client.outgoing();
//! let wire = out.copy_to_bytes(out.remaining());
//!
//! server.receive(now, &wire).unwrap();
//! assert_eq!(server.poll_event(), Some(Event::Message(Message::Text("ping?".into()))));
//! let Some(Event::Closed(outcome)) = server.poll_event() else { panic!("no close") };
//! assert_eq!((outcome.code, outcome.reason.as_str()), (CloseCode::NORMAL, "done"));
//!
//! // The server echoed the close; once the client reads it, the handshake is complete.
//! let out = server.outgoing();
//! let echo = out.copy_to_bytes(out.remaining());
//! client.receive(now, &echo).unwrap();
//! let Some(Event::Closed(outcome)) = client.poll_event() else { panic!("no close") };
//! assert!(outcome.is_clean());
//! ```
//!
//! # Errors
//!
//! A peer that breaks the protocol gets the right close code (1002, 1007, 1009) and
//! [`Connection::receive`] returns an [`Error`]; a command the connection refuses returns a
//! [`SendError`] and changes nothing; a failed handshake is a
//! [`HandshakeError`] that knows its HTTP status. A clean close is
//! an [`Event::Closed`], never an error.
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(feature = "blocking", feature = "tokio", feature = "async-std"))]
mod adapter;
#[cfg(feature = "blocking")]
pub mod blocking;
mod close;
mod config;
mod connection;
mod error;
pub mod frame;
#[cfg(feature = "async-std")]
pub mod futures_io;
pub mod handshake;
#[cfg(any(feature = "blocking", feature = "tokio", feature = "async-std"))]
mod info;
pub mod mask;
mod message;
#[cfg(any(feature = "tokio", feature = "async-std"))]
pub mod nonblocking;
#[cfg(any(feature = "blocking", feature = "tokio", feature = "async-std"))]
mod options;
mod outgoing;
mod receive_buffer;
mod receiver;
mod rng;
mod sender;
#[cfg(any(feature = "blocking", feature = "tokio", feature = "async-std"))]
mod socket_error;
mod timers;
#[cfg(all(feature = "rustls", any(feature = "blocking", feature = "tokio", feature = "async-std")))]
mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod utf8;

pub use close::{CloseCause, CloseCode, CloseOutcome, Initiator, MAX_REASON_LEN};
pub use config::{Config, Delivery, KeepAlive};
pub use connection::{Connection, Role, State, Stats};
pub use error::{Error, SendError};
pub use handshake::HandshakeError;
#[cfg(any(feature = "blocking", feature = "tokio", feature = "async-std"))]
pub use info::Info;
pub use message::{DataKind, Event, EventRef, Fragment, Message, Utf8Bytes};
pub use outgoing::Outgoing;
pub use receive_buffer::ReceiveBuffer;
pub use rng::{FillFn, Rng, RngSource};
#[cfg(any(feature = "blocking", feature = "tokio", feature = "async-std"))]
pub use socket_error::{ErrorKind, SocketError};
