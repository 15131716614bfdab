//! What an adapter socket tells about its connection.

use std::net::SocketAddr;

/// Addresses, negotiated options and counters of an adapter socket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Info {
    /// Our address.
    pub local_addr: Option<SocketAddr>,
    /// The peer's address.
    pub peer_addr: Option<SocketAddr>,
    /// The subprotocol the handshake selected.
    pub protocol: Option<String>,
    /// The extensions the handshake negotiated.
    pub extensions: Vec<String>,
    /// Bytes read from the transport after the handshake.
    pub bytes_read: u64,
    /// Bytes written to the transport after the handshake.
    pub bytes_written: u64,
    /// Messages received (in fragment delivery: messages finished).
    pub messages_received: u64,
    /// Messages sent.
    pub messages_sent: u64,
}
