//! Bytes queued for the peer, drained by the caller as a [`bytes::Buf`].

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::frame::{FrameHeader, MAX_HEADER_LEN};
use crate::mask::apply_mask;

/// Payloads at least this long are queued as their own `Bytes` instead of copied, when they
/// need no masking (server frames).
const ZERO_COPY_MIN: usize = 512;

/// The bytes waiting to be written to the peer, in order.
///
/// Implements [`bytes::Buf`]: write [`Buf::chunk`] (or [`Buf::chunks_vectored`] for one
/// `writev`) and [`Buf::advance`] by what the socket took. Small frames are packed together;
/// large server payloads are queued as the caller's own `Bytes`, never copied.
///
/// ```
/// use bytes::Buf;
/// use std::time::Instant;
/// use wsproto::{Config, Connection, Role};
///
/// let mut server = Connection::new(Role::Server, Config::default(), Instant::now());
/// server.send_text("hi").unwrap();
/// let out = server.outgoing();
/// assert_eq!(out.chunk(), b"\x81\x02hi");
/// out.advance(4);
/// assert!(out.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Outgoing {
    /// Frozen runs of bytes, oldest first; `tail` follows them.
    segments: VecDeque<Bytes>,
    /// Whole frames not yet frozen into a segment.
    tail: BytesMut,
    /// The absolute index of the segment holding a pong that is not yet started, so that a
    /// newer ping's pong replaces it (RFC 6455 §5.5.3).
    pong: Option<u64>,
    /// How many segments were fully written so far.
    popped: u64,
    /// The front segment has been partly written.
    front_started: bool,
    len: usize,
}

impl Outgoing {
    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues a frame with a payload borrowed from the caller: copied, and masked if the
    /// header carries a key.
    pub(crate) fn push_copied(&mut self, header: &FrameHeader, payload: &[u8]) {
        self.push_header(header);
        let start = self.tail.len();
        self.tail.extend_from_slice(payload);
        if let Some(key) = header.mask {
            apply_mask(&mut self.tail[start..], key, 0);
        }
        self.len += payload.len();
    }

    /// Queues a frame whose payload the caller hands over: kept as it is when unmasked and
    /// large, masked in place when it is not shared, copied otherwise.
    pub(crate) fn push_owned(&mut self, header: &FrameHeader, payload: Bytes) {
        if payload.len() < ZERO_COPY_MIN {
            return self.push_copied(header, &payload);
        }
        let payload = match header.mask {
            None => payload,
            Some(key) => match payload.try_into_mut() {
                Ok(mut unique) => {
                    apply_mask(&mut unique, key, 0);
                    unique.freeze()
                }
                Err(shared) => return self.push_copied(header, &shared),
            },
        };
        self.push_header(header);
        self.freeze_tail();
        self.len += payload.len();
        self.segments.push_back(payload);
    }

    /// Queues a pong; with `coalesce`, it replaces a queued pong not yet started.
    ///
    /// Only a coalescing pong is kept as a segment of its own (so that the next one can
    /// replace it); others are packed with the small frames, since a segment per pong would
    /// cost some 50 bytes of memory for every 2-byte pong of a ping flood.
    pub(crate) fn push_pong(&mut self, header: &FrameHeader, payload: &[u8], coalesce: bool) {
        if !coalesce {
            // A later coalescing pong must not replace one queued before this pong, or the
            // newest answer would overtake older ones.
            self.pong = None;
            return self.push_copied(header, payload);
        }
        let mut frame = BytesMut::with_capacity(MAX_HEADER_LEN + payload.len());
        let mut head = [0; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        frame.extend_from_slice(&head[..head_len]);
        frame.extend_from_slice(payload);
        if let Some(key) = header.mask {
            apply_mask(&mut frame[head_len..], key, 0);
        }
        let frame = frame.freeze();
        if let Some(slot) = self.unstarted_pong().filter(|_| coalesce) {
            self.len -= self.segments[slot].len();
            self.len += frame.len();
            self.segments[slot] = frame;
            return;
        }
        self.freeze_tail();
        self.pong = Some(self.popped + self.segments.len() as u64);
        self.len += frame.len();
        self.segments.push_back(frame);
    }

    fn unstarted_pong(&self) -> Option<usize> {
        let slot = usize::try_from(self.pong?.checked_sub(self.popped)?).ok()?;
        let started = slot == 0 && self.front_started;
        (slot < self.segments.len() && !started).then_some(slot)
    }

    fn push_header(&mut self, header: &FrameHeader) {
        let mut head = [0; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.tail.put_slice(&head[..head_len]);
        self.len += head_len;
    }

    fn freeze_tail(&mut self) {
        if !self.tail.is_empty() {
            self.segments.push_back(self.tail.split().freeze());
        }
    }
}

impl Buf for Outgoing {
    fn remaining(&self) -> usize {
        self.len
    }

    fn chunk(&self) -> &[u8] {
        match self.segments.front() {
            Some(front) => front,
            None => &self.tail,
        }
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.len, "advance past the end of Outgoing: {cnt} > {}", self.len);
        self.len -= cnt;
        while cnt > 0 {
            let Some(front) = self.segments.front_mut() else {
                self.tail.advance(cnt);
                return;
            };
            if cnt < front.len() {
                front.advance(cnt);
                self.front_started = true;
                return;
            }
            cnt -= front.len();
            self.segments.pop_front();
            self.popped += 1;
            self.front_started = false;
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let tail = (!self.tail.is_empty()).then_some(&self.tail[..]);
        let chunks = self.segments.iter().map(|s| &s[..]).chain(tail);
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(chunks) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OpCode;

    fn header(opcode: OpCode, len: usize, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader { fin: true, rsv: 0, opcode, mask, payload_len: len as u64 }
    }

    fn drain(out: &mut Outgoing, step: usize) -> Vec<u8> {
        let mut all = Vec::new();
        while out.has_remaining() {
            let n = out.chunk().len().min(step);
            all.extend_from_slice(&out.chunk()[..n]);
            out.advance(n);
        }
        all
    }

    #[test]
    fn large_server_payloads_are_queued_without_copying() {
        let payload = Bytes::from(vec![7u8; 4096]);
        let mut out = Outgoing::default();
        out.push_owned(&header(OpCode::Binary, 4096, None), payload.clone());
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(out.chunks_vectored(&mut slices), 2);
        assert_eq!(slices[1].as_ptr(), payload.as_ptr());
        assert_eq!(out.len(), 4 + 4096);
    }

    #[test]
    fn a_newer_pong_replaces_an_unsent_one() {
        let mut out = Outgoing::default();
        out.push_pong(&header(OpCode::Pong, 1, None), b"a", true);
        out.push_copied(&header(OpCode::Text, 1, None), b"x");
        out.push_pong(&header(OpCode::Pong, 2, None), b"bb", true);
        assert_eq!(drain(&mut out, 1), b"\x8a\x02bb\x81\x01x");
    }

    #[test]
    fn pongs_are_kept_apart_unless_asked_to_coalesce() {
        let mut out = Outgoing::default();
        out.push_pong(&header(OpCode::Pong, 1, None), b"a", false);
        out.push_pong(&header(OpCode::Pong, 1, None), b"b", false);
        assert_eq!(drain(&mut out, 100), b"\x8a\x01a\x8a\x01b");
    }

    #[test]
    fn a_pong_already_started_is_finished_and_the_new_one_follows() {
        let mut out = Outgoing::default();
        out.push_pong(&header(OpCode::Pong, 1, None), b"a", true);
        out.advance(1);
        out.push_pong(&header(OpCode::Pong, 1, None), b"b", true);
        assert_eq!(drain(&mut out, 100), b"\x01a\x8a\x01b");
    }

    #[test]
    fn masked_payloads_are_masked_once_whether_copied_or_owned() {
        let key = [1, 2, 3, 4];
        for len in [3, 600] {
            let data = vec![0u8; len];
            let mut copied = Outgoing::default();
            copied.push_copied(&header(OpCode::Binary, len, Some(key)), &data);
            let mut owned = Outgoing::default();
            owned.push_owned(&header(OpCode::Binary, len, Some(key)), Bytes::from(data.clone()));
            let (a, b) = (drain(&mut copied, 7), drain(&mut owned, 1000));
            assert_eq!(a, b);
            let expected: Vec<u8> = key.iter().copied().cycle().take(len).collect();
            assert_eq!(&a[a.len() - len..], &expected[..], "zeros mask to the repeated key");
        }
    }

    #[test]
    fn draining_in_any_step_size_gives_the_same_bytes() {
        let build = || {
            let mut out = Outgoing::default();
            out.push_copied(&header(OpCode::Text, 2, None), b"hi");
            out.push_owned(&header(OpCode::Binary, 1000, None), Bytes::from(vec![9; 1000]));
            out.push_pong(&header(OpCode::Pong, 0, None), b"", true);
            out.push_copied(&header(OpCode::Text, 1, None), b"z");
            out
        };
        let whole = drain(&mut build(), usize::MAX);
        for step in [1, 3, 64, 1003] {
            assert_eq!(drain(&mut build(), step), whole);
        }
        assert_eq!(whole.len(), 4 + 1004 + 2 + 3);
    }
}
