//! TLS for the async adapters (feature `rustls`): a rustls connection over any [`AsyncIo`], so
//! one implementation serves every runtime.

use std::io::{self, IoSlice};
#[cfg(feature = "rustls")]
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use super::driver::{AsyncIo, Sealed};
use crate::receive_buffer::ReceiveBuffer;

/// A transport that is plain, or TLS over the same transport: what the runtime modules'
/// `connect` gives for `ws://` and `wss://`.
#[derive(Debug)]
pub enum MaybeTls<I> {
    /// `ws://`
    Plain(I),
    /// `wss://`
    #[cfg(feature = "rustls")]
    Tls(Box<TlsIo<I>>),
}

#[cfg(feature = "rustls")]
/// A rustls client connection over an async transport.
pub struct TlsIo<I> {
    io: I,
    tls: rustls::ClientConnection,
}

#[cfg(feature = "rustls")]
impl<I> std::fmt::Debug for TlsIo<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIo").field("handshaking", &self.tls.is_handshaking()).finish()
    }
}

#[cfg(feature = "rustls")]
impl<I: AsyncIo> TlsIo<I> {
    pub(crate) fn new(io: I, tls: rustls::ClientConnection) -> Self {
        Self { io, tls }
    }

    /// Writes pending TLS records; Ready when none are left.
    fn poll_write_records(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.tls.wants_write() {
            let mut sink = Blocking { io: &mut self.io, cx };
            match self.tls.write_tls(&mut sink) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "rustls")]
/// The sync `Read`/`Write` rustls wants, over a poll-based transport: `Pending` becomes
/// `WouldBlock` (the waker is registered by the poll).
struct Blocking<'a, 'b, I> {
    io: &'a mut I,
    cx: &'a mut Context<'b>,
}

#[cfg(feature = "rustls")]
impl<I: AsyncIo> Read for Blocking<'_, '_, I> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.io.poll_read(self.cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

#[cfg(feature = "rustls")]
impl<I: AsyncIo> Write for Blocking<'_, '_, I> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.io.poll_write_vectored(self.cx, bufs) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "rustls")]
impl<I> Sealed for TlsIo<I> {}

#[cfg(feature = "rustls")]
impl<I: AsyncIo> AsyncIo for TlsIo<I> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            // Handshake records (and plaintext queued before the handshake ended) go first,
            // but a transport that cannot take them now must not stop the reading: the peer
            // may be waiting for us to read before it reads again (a write half sending while
            // a read half receives). The write waker is registered; reading goes on.
            if let Poll::Ready(Err(e)) = self.poll_write_records(cx) {
                return Poll::Ready(Err(e));
            }
            let mut source = Blocking { io: &mut self.io, cx };
            match self.tls.read_tls(&mut source) {
                Ok(0) => {
                    // The transport ended; rustls reports a missing close_notify as an error.
                    self.tls.process_new_packets().map_err(io::Error::other)?;
                    return Poll::Ready(match self.tls.reader().read(buf) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                        other => other,
                    });
                }
                Ok(_) => {
                    self.tls.process_new_packets().map_err(io::Error::other)?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        std::task::ready!(self.poll_write_records(cx))?;
        let n = self.tls.writer().write_vectored(bufs)?;
        // Start sending; what the transport does not take now goes on the next call.
        if let Poll::Ready(Err(e)) = self.poll_write_records(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tls.writer().flush()?;
        std::task::ready!(self.poll_write_records(cx))?;
        self.io.poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tls.send_close_notify();
        std::task::ready!(self.poll_write_records(cx))?;
        self.io.poll_shutdown(cx)
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.io.local_addr()
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        self.io.peer_addr()
    }
}

impl<I> Sealed for MaybeTls<I> {}

impl<I: AsyncIo> AsyncIo for MaybeTls<I> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            Self::Plain(io) => io.poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            Self::Tls(io) => io.poll_read(cx, buf),
        }
    }
    fn read_size(&self) -> usize {
        match self {
            Self::Plain(io) => io.read_size(),
            #[cfg(feature = "rustls")]
            Self::Tls(io) => io.read_size(),
        }
    }
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReceiveBuffer<'_>,
    ) -> Poll<io::Result<usize>> {
        match self {
            Self::Plain(io) => io.poll_read_into(cx, buf),
            #[cfg(feature = "rustls")]
            Self::Tls(io) => io.poll_read_into(cx, buf),
        }
    }
    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        match self {
            Self::Plain(io) => io.poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            Self::Tls(io) => io.poll_write_vectored(cx, bufs),
        }
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Plain(io) => io.poll_flush(cx),
            #[cfg(feature = "rustls")]
            Self::Tls(io) => io.poll_flush(cx),
        }
    }
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Plain(io) => io.poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            Self::Tls(io) => io.poll_shutdown(cx),
        }
    }
    fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Plain(io) => io.local_addr(),
            #[cfg(feature = "rustls")]
            Self::Tls(io) => io.local_addr(),
        }
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Plain(io) => io.peer_addr(),
            #[cfg(feature = "rustls")]
            Self::Tls(io) => io.peer_addr(),
        }
    }
}
