//! Room at the end of the connection's receive buffer, for reading the socket straight into it.
//!
//! [`Connection::receive`](crate::Connection::receive) copies the caller's bytes into the
//! connection. An adapter that reads the socket into [`ReceiveBuffer`] instead (then calls
//! [`Connection::receive_buffered`](crate::Connection::receive_buffered)) saves that copy: a
//! payload byte is written once, by the kernel, unmasked in place and handed out as part of a
//! `Bytes` without moving again.
//!
//! Besides `mask.rs`, this is the one module with `unsafe` code: the [`BufMut`] implementation,
//! which only delegates to `BytesMut`'s. It lets a reader fill the buffer's uninitialised spare
//! capacity, where [`ReceiveBuffer::read_with`] has to zero it first.

#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use bytes::BufMut;
use bytes::BytesMut;
use bytes::buf::UninitSlice;

/// Spare capacity at the end of the receive buffer, lent by
/// [`Connection::receive_buffer`](crate::Connection::receive_buffer). Bytes written here are
/// taken in by [`Connection::receive_buffered`](crate::Connection::receive_buffered).
///
/// It can only be appended to: as a [`BufMut`] (for readers that fill uninitialised memory,
/// such as tokio-util's `poll_read_buf`), or with [`read_with`](Self::read_with) for readers
/// that want a `&mut [u8]` (`std::io::Read`, futures-io).
///
/// ```
/// use std::time::Instant;
/// use wsproto::{Config, Connection, Event, Role};
///
/// let now = Instant::now();
/// let mut client = Connection::new(Role::Client, Config::default(), now);
/// // A socket that holds one unmasked binary frame from the server.
/// let mut socket: &[u8] = b"\x82\x03abc";
/// let n = client
///     .receive_buffer(4096)
///     .read_with(|buf| std::io::Read::read(&mut socket, buf))
///     .unwrap();
/// assert_eq!(n, 5);
/// client.receive_buffered(now).unwrap();
/// assert!(matches!(client.poll_event(), Some(Event::Message(m)) if m.as_bytes() == b"abc"));
/// ```
#[derive(Debug)]
pub struct ReceiveBuffer<'a> {
    buf: &'a mut BytesMut,
    /// The room asked for (there may be more spare capacity).
    room: usize,
}

impl<'a> ReceiveBuffer<'a> {
    /// `buf` has at least `room` bytes of spare capacity.
    pub(crate) fn new(buf: &'a mut BytesMut, room: usize) -> Self {
        Self { buf, room }
    }

    /// Calls `read` with the room asked for as an initialised slice (zeroed first) and keeps
    /// the first `n` bytes when it returns `Ok(n)`; an error keeps nothing. Returns what `read`
    /// returned.
    pub fn read_with<E>(&mut self, read: impl FnOnce(&mut [u8]) -> Result<usize, E>) -> Result<usize, E> {
        let start = self.buf.len();
        self.buf.resize(start + self.room, 0);
        let result = read(&mut self.buf[start..]);
        let kept = match &result {
            Ok(n) => start + (*n).min(self.buf.len() - start),
            Err(_) => start,
        };
        self.buf.truncate(kept);
        result
    }
}

// SAFETY: every method delegates to `BytesMut`'s own `BufMut` implementation, which upholds
// the trait's contract; `advance_mut`'s precondition (the first `cnt` bytes of `chunk_mut`
// are initialised) is passed on unchanged to the caller.
unsafe impl BufMut for ReceiveBuffer<'_> {
    fn remaining_mut(&self) -> usize {
        self.buf.remaining_mut()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller guarantees what `BytesMut::advance_mut` requires (see above).
        unsafe { self.buf.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.buf.chunk_mut()
    }
}
