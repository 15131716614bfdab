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

    /// The buffer's whole capacity: what it holds, the room, and any spare beyond.
    #[cfg(any(feature = "tokio", feature = "async-std"))]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_put_through_buf_mut_land_after_what_was_there() {
        let mut buf = BytesMut::with_capacity(8);
        buf.extend_from_slice(b"ab");
        let mut room = ReceiveBuffer::new(&mut buf, 6);
        room.put_slice(b"cdef");
        // Past the capacity: `BytesMut` grows, as `BufMut` allows.
        room.put_slice(b"ghijklmnop");
        assert_eq!(&buf[..], b"abcdefghijklmnop");
    }

    #[test]
    fn read_with_offers_the_room_zeroed_and_keeps_what_was_read() {
        let mut buf = BytesMut::with_capacity(16);
        buf.extend_from_slice(b"x");
        let mut room = ReceiveBuffer::new(&mut buf, 4);
        let n = room.read_with(|slice| {
            assert_eq!(slice, [0; 4]);
            slice[..3].copy_from_slice(b"abc");
            Ok::<_, ()>(3)
        });
        assert_eq!(n, Ok(3));
        assert_eq!(&buf[..], b"xabc");
    }

    #[test]
    fn read_with_keeps_nothing_on_an_error_or_an_overstated_count() {
        let mut buf = BytesMut::new();
        let mut room = ReceiveBuffer::new(&mut buf, 4);
        assert_eq!(room.read_with(|_| Err::<usize, _>("broken")), Err("broken"));
        assert!(buf.is_empty());
        let mut room = ReceiveBuffer::new(&mut buf, 4);
        assert_eq!(room.read_with(|_| Ok::<_, ()>(99)), Ok(99));
        assert_eq!(buf.len(), 4, "never more than the room");
    }

    #[test]
    fn uninitialised_room_filled_by_hand_then_advanced() {
        let mut buf = BytesMut::with_capacity(4);
        let mut room = ReceiveBuffer::new(&mut buf, 4);
        room.chunk_mut()[..4].copy_from_slice(&[1, 2, 3, 4]);
        // SAFETY: the first 4 bytes of the chunk were just written.
        unsafe { room.advance_mut(4) };
        assert_eq!(&buf[..], [1, 2, 3, 4]);
    }
}
