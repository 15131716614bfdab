//! The opening handshake (RFC 6455 §4), client and server, without I/O.
