//! What the blocking adapter needs of a byte stream beyond `Read + Write`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// A blocking byte stream with read timeouts and a write half that can be shut down.
///
/// Implemented for [`TcpStream`], for [`MaybeTls`], and (feature `rustls`) for rustls client
/// and server streams over TCP. The read timeout is how the connection's timers (keep-alive,
/// close timeout) wake a blocked reader.
pub trait Transport: Read + Write {
    /// Sets how long a read may block (`None`: forever).
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
    /// Shuts down the write half (TCP FIN; TLS close_notify first).
    fn shutdown_write(&mut self) -> io::Result<()>;
    /// The local address, if the transport has one.
    fn local_addr(&self) -> Option<SocketAddr>;
    /// The peer's address, if the transport has one.
    fn peer_addr(&self) -> Option<SocketAddr>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        match self.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
    fn local_addr(&self) -> Option<SocketAddr> {
        TcpStream::local_addr(self).ok()
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        TcpStream::peer_addr(self).ok()
    }
}

#[cfg(feature = "rustls")]
mod tls {
    use super::*;
    use rustls::{ClientConnection, ServerConnection, StreamOwned};

    macro_rules! tls_transport {
        ($conn:ty) => {
            impl Transport for StreamOwned<$conn, TcpStream> {
                fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
                    self.sock.set_read_timeout(timeout)
                }
                fn shutdown_write(&mut self) -> io::Result<()> {
                    self.conn.send_close_notify();
                    self.flush()?;
                    Transport::shutdown_write(&mut self.sock)
                }
                fn local_addr(&self) -> Option<SocketAddr> {
                    self.sock.local_addr().ok()
                }
                fn peer_addr(&self) -> Option<SocketAddr> {
                    self.sock.peer_addr().ok()
                }
            }
        };
    }
    tls_transport!(ClientConnection);
    tls_transport!(ServerConnection);
}

/// A TCP stream, or (feature `rustls`) a TLS client stream over TCP: what
/// [`connect`](super::connect) returns for `ws://` and `wss://` URLs.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTls {
    /// `ws://`
    Plain(TcpStream),
    /// `wss://`
    #[cfg(feature = "rustls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

macro_rules! each {
    ($self:ident, $s:ident => $body:expr) => {
        match $self {
            MaybeTls::Plain($s) => $body,
            #[cfg(feature = "rustls")]
            MaybeTls::Tls($s) => $body,
        }
    };
}

impl Read for MaybeTls {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        each!(self, s => s.read(buf))
    }
}

impl Write for MaybeTls {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each!(self, s => s.write(buf))
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        each!(self, s => s.write_vectored(bufs))
    }
    fn flush(&mut self) -> io::Result<()> {
        each!(self, s => s.flush())
    }
}

impl MaybeTls {
    fn transport(&self) -> &dyn Transport {
        match self {
            Self::Plain(s) => s,
            #[cfg(feature = "rustls")]
            Self::Tls(s) => &**s,
        }
    }
    fn transport_mut(&mut self) -> &mut dyn Transport {
        match self {
            Self::Plain(s) => s,
            #[cfg(feature = "rustls")]
            Self::Tls(s) => &mut **s,
        }
    }
}

impl Transport for MaybeTls {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.transport_mut().set_read_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.transport_mut().shutdown_write()
    }
    fn local_addr(&self) -> Option<SocketAddr> {
        self.transport().local_addr()
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        self.transport().peer_addr()
    }
}
