//! Bytes queued for the peer, drained by the caller as a [`bytes::Buf`].

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

use crate::frame::{FrameHeader, MAX_HEADER_LEN};
use crate::mask::{apply_mask, copy_masked};

/// Payloads at least this long are queued as their own `Bytes` instead of copied, when they
/// need no masking (server frames) or can be masked in place (a client's unshared payload).
const ZERO_COPY_MIN: usize = 512;

/// Payloads up to this long (the 7-bit length form) take the small-frame paths: the header
/// bytes written directly, and a masked payload masked a word at a time while it is copied;
/// longer ones with SIMD, in the same pass as the copy.
const SMALL_PAYLOAD: usize = 125;

/// Consumed bytes at the front of the packed buffer are moved out only past this size (and
/// when they outnumber the live bytes), so that moving them costs O(1) per byte queued.
const COMPACT_MIN: usize = 4096;

/// Capacity of the packed buffer an empty queue keeps when the connection idles.
const KEPT_PACKED: usize = 1 << 10;

/// Capacity of the segment queue an empty queue keeps when the connection idles.
const KEPT_SEGMENTS: usize = 8;

/// The end of a packed run that frames are still appended to: `packed.len()`.
const OPEN: usize = usize::MAX;

/// The bytes waiting to be written to the peer, in order.
///
/// Implements [`bytes::Buf`]: write [`Buf::chunk`] (or [`Buf::chunks_vectored`] for one
/// `writev`) and [`Buf::advance`] by what the socket took. Small frames and headers are packed
/// together in one reused buffer; large server payloads are queued as the caller's own
/// `Bytes`, never copied. Once the queue is in use, queuing a frame allocates nothing.
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
    /// The queue in order: runs of `packed` and payloads kept as they are. A queue written to
    /// the end that was one packed run keeps that run, open and empty, for the next frames
    /// (so that a small exchange neither pushes nor pops a segment); every other segment
    /// holds at least one byte.
    segments: VecDeque<Segment>,
    /// Small frames and headers, copied in; `packed[read..]` is not yet written. Cleared (its
    /// allocation kept) whenever all of it has been written.
    packed: Vec<u8>,
    read: usize,
    /// The absolute index of the segment holding a pong that is not yet started, so that a
    /// newer ping's pong replaces it (RFC 6455 §5.5.3).
    pong: Option<u64>,
    /// How many segments were fully written so far.
    popped: u64,
    /// The front segment has been partly written.
    front_started: bool,
    /// The last segment is a packed run that new frames extend.
    run_open: bool,
    len: usize,
}

/// A piece of the queue.
#[derive(Debug)]
enum Segment {
    /// `packed` from the end of the previous packed run (or `read`) up to this index; the last
    /// run, still growing, holds [`OPEN`] and ends where `packed` does.
    Packed(usize),
    /// A payload or a whole frame kept as its own buffer.
    Owned(Bytes),
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

    /// Gives the buffers of an empty queue back to the allocator when they grew past what a
    /// small exchange needs (for a connection about to idle); smaller ones are kept, since a
    /// connection that waits for its next message between every pair would otherwise grow them
    /// again each time.
    pub(crate) fn release_if_empty(&mut self) {
        let large = self.packed.capacity() > KEPT_PACKED || self.segments.capacity() > KEPT_SEGMENTS;
        if self.len == 0 && large {
            *self = Self::default();
        }
    }

    /// Queues a frame with a payload borrowed from the caller: copied, and masked in the same
    /// pass if the header carries a key. Always inlined, so that a small frame is written
    /// without a call (which would cost more than writing it); larger ones go through
    /// [`Self::push_copied_large`].
    #[inline(always)]
    pub(crate) fn push_copied(&mut self, header: &FrameHeader, payload: &[u8]) {
        match header.mask {
            Some(key) if payload.len() <= SMALL_PAYLOAD => self.push_small_masked(header, payload, key),
            None if payload.len() <= SMALL_PAYLOAD => self.push_small(header, payload),
            _ => self.push_copied_large(header, payload),
        }
    }

    /// [`Self::push_copied`] for a payload over [`SMALL_PAYLOAD`] bytes.
    fn push_copied_large(&mut self, header: &FrameHeader, payload: &[u8]) {
        self.make_room(MAX_HEADER_LEN + payload.len());
        self.push_header(header);
        match header.mask {
            Some(key) => copy_masked(&mut self.packed, payload, key, 0),
            None => self.packed.extend_from_slice(payload),
        }
        self.len += payload.len();
        self.extend_packed_run();
    }

    /// A masked frame of at most [`SMALL_PAYLOAD`] bytes (so with the 7-bit length form),
    /// copied a `u64` at a time: no SIMD dispatch, no `memcpy` call. The key is handled as one
    /// integer throughout (taken apart into bytes, it costs more than the masking), and the
    /// frame is written into the spare capacity and committed once: appending word by word
    /// checks the capacity and stores the length at every word (14 % more instructions per
    /// 16-byte message sent). Checked under Miri by `scripts/miri.sh`.
    #[inline]
    #[allow(unsafe_code)]
    #[deny(clippy::undocumented_unsafe_blocks)]
    fn push_small_masked(&mut self, header: &FrameHeader, payload: &[u8], key: [u8; 4]) {
        use std::mem::MaybeUninit;
        fn bytes<const N: usize>(b: [u8; N]) -> [MaybeUninit<u8>; N] {
            b.map(MaybeUninit::new)
        }
        debug_assert!(payload.len() <= SMALL_PAYLOAD && header.payload_len == payload.len() as u64);
        let len = payload.len();
        let frame_len = 6 + len;
        self.make_room(frame_len);
        self.packed.reserve(frame_len);
        let start = self.packed.len();
        let out = &mut self.packed.spare_capacity_mut()[..frame_len];
        let (head, body) = out.split_at_mut(6);
        let key4 = u32::from_ne_bytes(key);
        head[..2].copy_from_slice(&bytes([header.first_byte(), 0x80 | len as u8]));
        head[2..].copy_from_slice(&bytes(key4.to_ne_bytes()));
        let key8 = u64::from(key4) * 0x1_0000_0001;
        let mut words = payload.chunks_exact(8);
        let mut slots = body.chunks_exact_mut(8);
        for (word, slot) in (&mut words).zip(&mut slots) {
            let word = u64::from_ne_bytes(word.try_into().unwrap_or_default());
            slot.copy_from_slice(&bytes((word ^ key8).to_ne_bytes()));
        }
        for (i, (slot, byte)) in slots.into_remainder().iter_mut().zip(words.remainder()).enumerate() {
            *slot = MaybeUninit::new(byte ^ key[i & 3]);
        }
        // SAFETY: the `frame_len` bytes after `start`, `head` and `body`, were all written.
        unsafe { self.packed.set_len(start + frame_len) }
        self.len += frame_len;
        self.extend_packed_run();
    }

    /// An unmasked frame of at most [`SMALL_PAYLOAD`] bytes (a server's small reply): its two
    /// header bytes written directly, without the general header encoder.
    #[inline(always)]
    fn push_small(&mut self, header: &FrameHeader, payload: &[u8]) {
        debug_assert!(payload.len() <= SMALL_PAYLOAD && header.payload_len == payload.len() as u64);
        let frame_len = 2 + payload.len();
        self.make_room(frame_len);
        self.packed.extend_from_slice(&[header.first_byte(), payload.len() as u8]);
        self.packed.extend_from_slice(payload);
        self.len += frame_len;
        self.extend_packed_run();
    }

    /// Queues a frame whose payload the caller hands over: kept as it is when unmasked and
    /// large, masked in place when it is not shared, copied otherwise.
    #[inline(always)]
    pub(crate) fn push_owned(&mut self, header: &FrameHeader, payload: Bytes) {
        if payload.len() < ZERO_COPY_MIN {
            return self.push_copied(header, &payload);
        }
        self.push_owned_large(header, payload);
    }

    /// [`Self::push_owned`] for a payload of [`ZERO_COPY_MIN`] bytes or more.
    fn push_owned_large(&mut self, header: &FrameHeader, payload: Bytes) {
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
        self.make_room(MAX_HEADER_LEN);
        self.push_header(header);
        self.extend_packed_run();
        self.close_packed_run();
        self.len += payload.len();
        self.segments.push_back(Segment::Owned(payload));
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
        if let Some(slot) = self.unstarted_pong()
            && let Segment::Owned(old) = &mut self.segments[slot]
        {
            self.len -= old.len();
            self.len += frame.len();
            *old = frame;
            return;
        }
        self.close_packed_run();
        self.pong = Some(self.popped + self.segments.len() as u64);
        self.len += frame.len();
        self.segments.push_back(Segment::Owned(frame));
    }

    fn unstarted_pong(&self) -> Option<usize> {
        let slot = usize::try_from(self.pong?.checked_sub(self.popped)?).ok()?;
        let started = slot == 0 && self.front_started;
        (slot < self.segments.len() && !started).then_some(slot)
    }

    fn push_header(&mut self, header: &FrameHeader) {
        let mut head = [0; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.packed.extend_from_slice(&head[..head_len]);
        self.len += head_len;
    }

    /// Before `additional` bytes are appended to `packed`: if they do not fit, drops what was
    /// already written first, when that is worth it.
    #[inline]
    fn make_room(&mut self, additional: usize) {
        if self.packed.capacity() - self.packed.len() >= additional || self.read < COMPACT_MIN {
            return;
        }
        if self.read * 2 < self.packed.len() {
            return; // Mostly live: growing is cheaper than moving.
        }
        self.packed.drain(..self.read);
        for segment in &mut self.segments {
            if let Segment::Packed(end) = segment
                && *end != OPEN
            {
                *end -= self.read;
            }
        }
        self.read = 0;
    }

    /// After bytes were appended to `packed`: makes sure the queue ends with an open run.
    #[inline]
    fn extend_packed_run(&mut self) {
        if !self.run_open {
            self.segments.push_back(Segment::Packed(OPEN));
            self.run_open = true;
        }
    }

    /// Before a segment of its own is queued: the open packed run, if any, ends here; an
    /// empty one (kept after everything was written) is dropped, as no segment is empty.
    fn close_packed_run(&mut self) {
        if self.run_open && self.len == 0 {
            self.segments.clear();
        } else if let Some(Segment::Packed(end)) = self.segments.back_mut().filter(|_| self.run_open) {
            *end = self.packed.len();
        }
        self.run_open = false;
    }

    /// The bytes of `segment`, a packed run of which starts at `start`.
    fn slice<'a>(&'a self, segment: &'a Segment, start: usize) -> &'a [u8] {
        match segment {
            Segment::Packed(end) => &self.packed[start..(*end).min(self.packed.len())],
            Segment::Owned(bytes) => bytes,
        }
    }
}

impl Outgoing {
    /// [`Buf::advance`] through the segments, popping those written. Never inlined, so that
    /// `advance` stays a few instructions in the common case.
    #[inline(never)]
    fn advance_segments(&mut self, mut cnt: usize) {
        self.len -= cnt;
        while cnt > 0 {
            let Some(front) = self.segments.front_mut() else { return };
            let left = match front {
                Segment::Packed(end) => (*end).min(self.packed.len()) - self.read,
                Segment::Owned(bytes) => bytes.len(),
            };
            if cnt < left {
                match front {
                    Segment::Packed(_) => self.read += cnt,
                    Segment::Owned(bytes) => bytes.advance(cnt),
                }
                self.front_started = true;
                return;
            }
            cnt -= left;
            if let Segment::Packed(_) = front {
                self.read += left;
            }
            self.segments.pop_front();
            self.run_open &= !self.segments.is_empty();
            self.popped += 1;
            self.front_started = false;
        }
        if self.read == self.packed.len() {
            // All written: reuse the buffer from its start.
            self.packed.clear();
            self.read = 0;
        }
    }
}

impl Buf for Outgoing {
    fn remaining(&self) -> usize {
        self.len
    }

    fn chunk(&self) -> &[u8] {
        match self.segments.front() {
            Some(front) => self.slice(front, self.read),
            None => &[],
        }
    }

    fn advance(&mut self, cnt: usize) {
        assert!(cnt <= self.len, "advance past the end of Outgoing: {cnt} > {}", self.len);
        if cnt == self.len && self.run_open && self.segments.len() == 1 {
            // All written, and it was one packed run (the common case: small frames, one
            // write): the run stays, empty and open, and the buffer starts over.
            self.packed.clear();
            self.read = 0;
            self.len = 0;
            self.front_started = false;
            return;
        }
        self.advance_segments(cnt);
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut start = self.read;
        let mut n = 0;
        for (slot, segment) in dst.iter_mut().zip(&self.segments) {
            let chunk = self.slice(segment, start);
            if let Segment::Packed(_) = segment {
                start += chunk.len();
            }
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
    use crate::mask::apply_mask_scalar;

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

    /// The frame as the generic encoder and the scalar reference mask write it.
    fn reference(header: &FrameHeader, payload: &[u8]) -> Vec<u8> {
        let mut head = [0; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let mut frame = head[..head_len].to_vec();
        let start = frame.len();
        frame.extend_from_slice(payload);
        if let Some(key) = header.mask {
            apply_mask_scalar(&mut frame[start..], key, 0);
        }
        frame
    }

    #[test]
    fn masked_frames_match_the_reference_at_every_length() {
        // Under Miri, which checks the small-frame writer's `set_len`: each of its paths
        // (under a word, whole words, words and a remainder) and both ends of its range.
        let lengths: Vec<usize> = if cfg!(miri) {
            (0..=20).chain([61, 124, 125, 126]).collect()
        } else {
            (0..=300).chain([511, 512, 513, 4096 + 3, 65535, 65536 + 7]).collect()
        };
        for len in lengths {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
            for key in [[0x37, 0xFA, 0x21, 0x3D], [0xFF, 0, 0x81, 0x7E]] {
                let (empty, full) =
                    (header(OpCode::Binary, 0, Some(key)), header(OpCode::Binary, len, Some(key)));
                let mut out = Outgoing::default();
                out.push_copied(&empty, b"");
                out.push_copied(&full, &payload);
                let mut want = reference(&empty, b"");
                want.extend(reference(&full, &payload));
                assert_eq!(drain(&mut out, usize::MAX), want, "len {len}, key {key:?}");
            }
        }
    }

    #[test]
    fn packed_runs_and_kept_payloads_stay_in_order_whatever_the_drain() {
        let big = Bytes::from(vec![9; 1000]);
        let build = || {
            let mut out = Outgoing::default();
            out.push_copied(&header(OpCode::Text, 2, None), b"hi");
            out.push_owned(&header(OpCode::Binary, 1000, None), big.clone());
            out.push_copied(&header(OpCode::Text, 1, Some([1, 2, 3, 4])), b"a");
            out.push_pong(&header(OpCode::Pong, 1, None), b"p", true);
            out.push_copied(&header(OpCode::Text, 1, None), b"b");
            out.push_owned(&header(OpCode::Binary, 1000, None), big.clone());
            out
        };
        let mut want = reference(&header(OpCode::Text, 2, None), b"hi");
        want.extend(reference(&header(OpCode::Binary, 1000, None), &big));
        want.extend(reference(&header(OpCode::Text, 1, Some([1, 2, 3, 4])), b"a"));
        want.extend(reference(&header(OpCode::Pong, 1, None), b"p"));
        want.extend(reference(&header(OpCode::Text, 1, None), b"b"));
        want.extend(reference(&header(OpCode::Binary, 1000, None), &big));
        for step in [1, 2, 3, 7, 999, 1003, usize::MAX] {
            assert_eq!(drain(&mut build(), step), want, "step {step}");
        }
        // `chunks_vectored` after a partial write starts where the write stopped.
        for cut in [1, 4, 5, 1004, 1010, 1016] {
            let mut out = build();
            out.advance(cut);
            let mut slices = [IoSlice::new(&[]); 16];
            let n = out.chunks_vectored(&mut slices);
            let joined: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
            assert_eq!(joined, want[cut..], "cut {cut}");
        }
    }

    #[test]
    fn an_empty_queue_gives_its_buffers_back_and_works_after() {
        let mut out = Outgoing::default();
        let big = vec![1; KEPT_PACKED];
        out.push_copied(&header(OpCode::Binary, 3, None), b"abc");
        out.release_if_empty();
        assert_eq!(out.len(), 5, "a queue holding bytes keeps them");
        out.advance(5);
        out.release_if_empty();
        assert_ne!(out.packed.capacity(), 0, "a small buffer is kept");
        out.push_copied(&header(OpCode::Binary, big.len(), None), &big);
        out.advance(out.len());
        out.release_if_empty();
        assert_eq!((out.packed.capacity(), out.segments.capacity()), (0, 0), "a large one is not");
        out.push_copied(&header(OpCode::Binary, 2, None), b"hi");
        assert_eq!(drain(&mut out, 1), b"\x82\x02hi");
    }

    #[test]
    fn a_run_written_to_the_end_is_kept_for_the_next_frames_and_never_shows_as_an_empty_chunk() {
        let mut out = Outgoing::default();
        out.push_copied(&header(OpCode::Text, 1, None), b"a");
        out.advance(3);
        assert_eq!((out.segments.len(), out.packed.len()), (1, 0), "the run stays, empty");
        out.push_copied(&header(OpCode::Text, 1, None), b"b");
        assert_eq!(out.segments.len(), 1, "the next frame goes into it");
        out.advance(out.len());
        // A segment of its own after the kept run: the empty run goes, so that the front is
        // never an empty chunk while bytes remain.
        out.push_pong(&header(OpCode::Pong, 1, None), b"p", true);
        assert_eq!(out.chunk(), b"\x8a\x01p");
        out.push_owned(&header(OpCode::Binary, 600, None), Bytes::from(vec![6; 600]));
        out.push_copied(&header(OpCode::Text, 1, None), b"c");
        let mut want = b"\x8a\x01p".to_vec();
        want.extend(reference(&header(OpCode::Binary, 600, None), &[6; 600]));
        want.extend_from_slice(b"\x81\x01c");
        assert_eq!(drain(&mut out, 1), want);
    }

    #[test]
    fn a_drained_queue_reuses_its_buffer() {
        let mut out = Outgoing::default();
        let mut first = None;
        for _ in 0..100 {
            out.push_copied(&header(OpCode::Binary, 16, Some([1, 2, 3, 4])), &[5; 16]);
            out.push_copied(&header(OpCode::Binary, 3000, Some([1, 2, 3, 4])), &[5; 3000]);
            out.push_owned(&header(OpCode::Binary, 600, None), Bytes::from(vec![6; 600]));
            assert_eq!(*first.get_or_insert(out.chunk().as_ptr()), out.chunk().as_ptr());
            out.advance(out.len());
            assert!(out.segments.is_empty() && out.packed.is_empty());
        }
    }

    #[test]
    fn a_queue_never_drained_to_empty_drops_what_was_written() {
        // The peer reads all but a few bytes each time: the written front must not pile up.
        let mut out = Outgoing::default();
        let mut written = Vec::new();
        let mut sent = Vec::new();
        let mut server = Outgoing::default();
        for i in 0..5000usize {
            let payload = [i as u8; 700];
            let head = header(OpCode::Binary, 700, None);
            out.push_copied(&head, &payload);
            server.push_owned(&head, Bytes::copy_from_slice(&payload));
            sent.extend(reference(&head, &payload));
            let keep = 1 + i % 5;
            while out.len() > keep {
                let n = out.chunk().len().min(out.len() - keep);
                written.extend_from_slice(&out.chunk()[..n]);
                out.advance(n);
            }
            while server.len() > keep {
                let n = server.chunk().len().min(server.len() - keep);
                server.advance(n);
            }
            assert!(out.packed.capacity() < 16 << 10, "capacity {}", out.packed.capacity());
            assert!(server.packed.capacity() < 16 << 10, "capacity {}", server.packed.capacity());
        }
        written.extend(drain(&mut out, usize::MAX));
        assert_eq!(written, sent);
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
