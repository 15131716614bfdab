//! A blocking adapter over `std::io` (cargo feature `blocking`).
//!
//! - [`WebSocket`]: whole text or binary messages per call;
//! - [`ByteStream`]: binary messages as byte streams ([`std::io::Read`] and
//!   [`std::io::Write`]), for files and other large payloads;
//! - [`connect`] / [`connect_stream`] for `ws://` and `wss://` (feature `rustls`) URLs, and
//!   [`accept`] / [`accept_stream`] for a server.
//!
//! The adapter only moves bytes and reads the clock; every protocol rule lives in
//! [`Connection`](crate::Connection). Its timers become read timeouts, so keep-alive pings
//! and the close timeout work while a call blocks in `recv` or `read`.
//!
//! ```no_run
//! # fn main() -> Result<(), wsproto::SocketError> {
//! let mut ws = wsproto::blocking::connect("ws://127.0.0.1:9001/chat")?;
//! ws.send_text("hello")?;
//! while let Some(message) = ws.recv()? {
//!     println!("{:?}", message);
//! }
//! # Ok(()) }
//! ```

mod handshake;
mod socket;
mod stream;
mod transport;

pub use handshake::{accept, accept_stream, accept_with, connect, connect_stream, connect_with};
pub use socket::WebSocket;
pub use stream::ByteStream;
pub use transport::{MaybeTls, Transport};

pub use crate::options::Options;
