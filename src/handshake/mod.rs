//! The opening handshake (RFC 6455 §4), client and server, without I/O.
//!
//! Both roles are sans-IO state machines usable without a [`Connection`](crate::Connection)
//! and from any HTTP stack: bytes in (`receive`), bytes out (`request_bytes`, `accept`,
//! `reject`, [`HandshakeError::response`]), time as an argument (`poll_timeout`,
//! `handle_timeout`), entropy from [`Config::rng`](crate::Config::rng).
//!
//! - [`ClientHandshake`]: built from a [`ClientRequest`] (a [`WsUrl`], offered subprotocols and
//!   extensions, `Origin`, extra headers); checks the server's 101 response and hands back a
//!   [`ServerResponse`] with the bytes that followed it.
//! - [`ServerHandshake`]: reads and checks a [`Request`], which the application inspects to
//!   route and negotiate, then answers with [`ServerHandshake::accept`] and an [`Accept`], or
//!   [`ServerHandshake::reject`].
//!
//! Parsing is resumable and O(n) in the bytes received, however they are split, and bounded
//! by [`Config::max_request_line`](crate::Config::max_request_line),
//! [`Config::max_header_bytes`](crate::Config::max_header_bytes) and
//! [`Config::max_headers`](crate::Config::max_headers). Nothing here panics on peer input.
//!
//! A round trip in memory:
//!
//! ```
//! use std::time::Instant;
//! use wsproto::Config;
//! use wsproto::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
//!
//! let (config, now) = (Config::default(), Instant::now());
//! let request = ClientRequest::new("ws://localhost:9001/ws")?.protocol("chat")?;
//! let mut client = ClientHandshake::new(request, &config, now);
//! let mut server = ServerHandshake::new(&config, now);
//!
//! let request = server.receive(client.request_bytes())?.expect("whole request");
//! assert_eq!((request.path(), request.host()), ("/ws", "localhost:9001"));
//! let response = if request.protocols().iter().any(|p| p == "chat") {
//!     server.accept(&Accept::new().protocol("chat"))?
//! } else {
//!     server.reject(400, "this endpoint speaks chat only")
//! };
//!
//! let accepted = client.receive(&response)?.expect("whole response");
//! assert_eq!(accepted.protocol.as_deref(), Some("chat"));
//! # Ok::<(), wsproto::handshake::HandshakeError>(())
//! ```

mod client;
mod client_request;
mod error;
mod fields;
mod head;
mod reply;
mod request;
mod server;
mod url;

pub use client::{ClientHandshake, ServerResponse};
pub use client_request::ClientRequest;
pub use error::HandshakeError;
pub use request::Request;
pub use server::{Accept, ServerHandshake};
pub use url::WsUrl;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// RFC 6455 §1.3: the GUID appended to the key before hashing.
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`: base64 of the SHA-1 of the key
/// followed by the GUID `258EAFA5-E914-47DA-95CA-C5AB0DC85B11` (RFC 6455 §1.3, §4.2.2).
///
/// ```
/// // The example of RFC 6455 §1.3.
/// assert_eq!(
///     wsproto::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key);
    sha1.update(GUID);
    STANDARD.encode(sha1.digest().bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_the_rfc_6455_section_1_3_example() {
        assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn accept_key_depends_on_every_byte_of_the_key() {
        assert_ne!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), accept_key(b"dGhlIHNhbXBsZSBub25jZR=="));
    }
}
