//! Received bytes to frames to messages (RFC 6455 §5.2–§5.6), one byte at a time or in bulk.
//!
//! Every byte is unmasked once and UTF-8-checked once, as it arrives: nothing is rescanned, so
//! feeding one byte at a time costs the same work as feeding one large chunk, and invalid text
//! fails at the first bad byte rather than at the end of the message.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use crate::config::{Config, Delivery};
use crate::error::Error;
use crate::frame::{FrameHeader, HeaderRules, MAX_HEADER_LEN, OpCode};
use crate::mask::apply_mask;
use crate::message::{DataKind, Event, EventRef, Fragment, Message, Utf8Bytes};
use crate::utf8::Utf8Validator;

/// A decoded unit the connection acts on.
#[derive(Debug)]
pub(crate) enum Incoming {
    Message(Message),
    Fragment(Fragment),
    Ping(Bytes),
    Pong(Bytes),
    Close(Bytes),
}

/// The frame whose header has been consumed.
#[derive(Debug)]
struct Frame {
    header: FrameHeader,
    /// Payload bytes already taken in (unmasked and checked).
    done: u64,
}

/// A data message in progress.
#[derive(Debug)]
struct Partial {
    kind: DataKind,
    utf8: Utf8Validator,
    /// Payload bytes of the message so far.
    size: u64,
    frames: usize,
    /// Fragments mode: no piece handed out yet.
    first: bool,
    /// Fragments mode: the start of a character split across frames, held back (at most 3 bytes).
    held: Vec<u8>,
}

/// The receive half of a connection.
#[derive(Debug)]
pub(crate) struct Receiver {
    buf: BytesMut,
    rules: HeaderRules,
    delivery: Delivery,
    max_frame: u64,
    max_message: u64,
    max_fragments: usize,
    frame: Option<Frame>,
    partial: Option<Partial>,
    /// Messages mode: the payload of the message in progress so far, unmasked and checked, at
    /// the front of `buf`. A fragmented message is assembled in place: each frame's payload is
    /// moved down over the headers (and any control frames) before it, while it is still in
    /// cache from the read, so the whole message is handed out without another copy.
    front: usize,
    /// Messages mode: consumed bytes (headers, control frames) between [`Self::front`] and
    /// what is still to decode. Only while `front` is not empty (otherwise consumed bytes are
    /// dropped from the buffer), and closed whenever decoding stops for more input.
    gap: usize,
    /// How many bytes at the front of `buf` were there after the last [`Self::next`] loop;
    /// anything beyond arrived since.
    seen: usize,
    /// The bytes at the front of `buf` of the message [`Self::lend_small_message`] lent out,
    /// consumed by the next call that touches the buffer.
    lent: Option<Lent>,
    /// The capacity `buf` had when the last message was split off it (0 after a copied one):
    /// once the application drops that message, the next read that needs room takes the whole
    /// allocation back rather than growing a new one (and copying into it) for the next large
    /// message.
    reclaim: usize,
    /// `buf` was given back by [`Self::release_if_empty`]: the next read allocates a new one
    /// of the size it asks for, rather than growing the empty one.
    released: bool,
}

/// A whole small message at the front of the buffer: its header and payload lengths.
#[derive(Clone, Copy, Debug)]
struct Lent {
    header_len: usize,
    len: usize,
    text: bool,
}

impl Lent {
    /// Where its payload is in the buffer.
    fn payload(&self) -> std::ops::Range<usize> {
        self.header_len..self.header_len + self.len
    }

    /// Its whole frame's length.
    fn frame_len(&self) -> usize {
        self.header_len + self.len
    }
}

/// Payloads up to this size are copied out of the receive buffer into their own `Bytes`
/// rather than split off it: a small copy costs less than the shared reference count a split
/// takes and gives back, and the receive buffer stays uniquely owned and reusable in place.
const COPY_AT_MOST: usize = 512;

/// The most capacity an empty receive buffer keeps for the next read.
const KEPT_WHEN_EMPTY: usize = 128 << 10;

/// A frame whose payload reached this share of it (1/32nd) has the rest reserved at once,
/// rather than the buffer doubling (and copying) its way up: a peer must send the 32nd part to
/// make us hold the whole, and the whole is within `max_frame_size`.
const RESERVE_WHOLE_FRAME_SHIFT: u32 = 5;

impl Receiver {
    pub fn new(expect_masked: bool, config: &Config) -> Self {
        Self {
            buf: BytesMut::new(),
            rules: HeaderRules { expect_masked, allowed_rsv: 0 },
            delivery: config.delivery,
            max_frame: config.max_frame_size as u64,
            max_message: config.max_message_size as u64,
            max_fragments: config.max_fragments,
            frame: None,
            partial: None,
            front: 0,
            gap: 0,
            seen: 0,
            lent: None,
            reclaim: 0,
            released: false,
        }
    }

    /// The length of the frame lent out last, still at the front of the buffer.
    fn lent_len(&self) -> usize {
        self.lent.map_or(0, |lent| lent.frame_len())
    }

    /// Consumes the message lent out last, if any.
    #[inline]
    fn return_lent(&mut self) {
        if let Some(lent) = self.lent.take() {
            let used = lent.frame_len();
            self.buf.advance(used);
            self.seen = self.seen.saturating_sub(used);
        }
    }

    /// Appends received bytes; call [`Self::next`] until it gives `Ok(None)`.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.return_lent();
        self.make_room(bytes.len());
        self.buf.extend_from_slice(bytes);
    }

    /// Makes room in the buffer for `additional` more bytes. It grows by doubling, except while
    /// a message is assembled in it: then it never grows past what the message may still need
    /// (the limit, a header and what follows the message in the buffer), and goes straight
    /// there once one more doubling would not stay below that. Growing copies what is
    /// buffered, so a message at the limit costs at most 1.5 times what it may need.
    fn make_room(&mut self, additional: usize) {
        let len = self.buf.len();
        if self.buf.capacity() - len >= additional {
            return;
        }
        let after_message = len - self.front + additional + MAX_HEADER_LEN;
        let most =
            usize::try_from(self.max_message).map_or(usize::MAX, |max| max.saturating_add(after_message));
        if self.front == 0 || self.buf.capacity().saturating_mul(4) <= most {
            self.buf.reserve(additional);
            return;
        }
        let mut grown = BytesMut::with_capacity(most.max(len + additional));
        grown.extend_from_slice(&self.buf);
        self.buf = grown;
    }

    /// The receive buffer with room for `size` more bytes, to read into, and the room. When
    /// the frame being received is far enough along, the room is its remaining payload
    /// instead: the frame then ends where the allocation does, so neither growing into it nor
    /// reading its last bytes moves what arrived before.
    ///
    /// Inlined, with the growing out of line: most reads find the room there already.
    #[inline]
    pub fn buffer_for_read(&mut self, size: usize) -> (&mut BytesMut, usize) {
        self.return_lent();
        let mut want = size;
        if let (Some(frame), Delivery::Messages) = (&self.frame, self.delivery) {
            // `done` counts what arrived of the frame (less, when decoding stopped early for an
            // event: then the room asked for is merely larger than needed).
            if frame.done >= frame.header.payload_len >> RESERVE_WHOLE_FRAME_SHIFT {
                let rest = frame.header.payload_len - frame.done;
                want = usize::try_from(rest).unwrap_or(usize::MAX).max(1);
            }
        }
        if self.reclaim != 0 || self.buf.capacity() - self.buf.len() < want {
            self.grow_for_read(want);
        }
        self.released = false;
        // A reader that needs the room zeroed first gets at most `size` of it.
        (&mut self.buf, want.min(size))
    }

    /// [`Self::buffer_for_read`]'s room for `want` bytes when the buffer lacks it, or after a
    /// message was split off.
    #[inline(never)]
    fn grow_for_read(&mut self, want: usize) {
        // At the first read after a message was split off, while little is buffered: once the
        // application dropped that message, its whole allocation is ours again.
        let whole = std::mem::take(&mut self.reclaim).saturating_sub(self.buf.len());
        if whole > self.buf.capacity() - self.buf.len() {
            // Refused while the application still holds the message: the buffer then grows
            // as usual.
            let _ = self.buf.try_reclaim(whole);
        }
        if self.released && self.buf.is_empty() && self.buf.capacity() < want {
            // A new allocation costs far less than growing the empty buffer.
            self.buf = BytesMut::with_capacity(want);
        } else {
            self.make_room(want);
        }
    }

    /// How many bytes arrived since the last call, and marks them seen.
    pub fn take_fresh(&mut self) -> usize {
        self.return_lent();
        let fresh = self.buf.len().saturating_sub(self.seen);
        self.seen = self.buf.len();
        fresh
    }

    /// After decoding: everything buffered is seen, and a drained buffer that grew past
    /// [`KEPT_WHEN_EMPTY`] (bytes that piled up while events were not popped) is given back,
    /// unless a message was just split off it ([`Self::reclaim`]: the next read may take the
    /// allocation back; [`Self::release_if_empty`] gives it up when the connection waits).
    pub fn settle(&mut self) {
        self.return_lent();
        if self.buf.is_empty() && self.buf.capacity() > KEPT_WHEN_EMPTY && self.reclaim == 0 {
            self.buf = BytesMut::new();
        }
        self.seen = self.buf.len();
    }

    /// Nothing is buffered and [`Self::settle`] has nothing to do: decoding would change
    /// nothing (every unit needs at least one more byte).
    #[inline]
    pub fn is_settled_empty(&self) -> bool {
        self.buf.is_empty() && self.seen == 0 && self.buf.capacity() <= KEPT_WHEN_EMPTY
    }

    /// Every buffered byte is seen, nothing is lent, and a whole small message is next:
    /// [`Self::settle`] has nothing to do.
    #[inline]
    pub fn is_settled_at_small_message(&self) -> bool {
        self.lent.is_none() && self.seen == self.buf.len() && self.small_message_at_front().is_some()
    }

    /// Gives an empty receive buffer back to the allocator.
    pub fn release_if_empty(&mut self) {
        self.return_lent();
        if self.buf.is_empty() && self.buf.capacity() != 0 {
            self.buf = BytesMut::new();
            self.seen = 0;
            self.reclaim = 0;
            self.released = true;
        }
    }

    /// Bytes received and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.lent_len() - self.gap + self.partial.as_ref().map_or(0, |p| p.held.len())
    }

    /// Drops everything buffered (after the connection ended).
    pub fn clear(&mut self) {
        *self = Self {
            buf: BytesMut::new(),
            frame: None,
            partial: None,
            front: 0,
            gap: 0,
            seen: 0,
            lent: None,
            reclaim: 0,
            ..*self
        };
    }

    /// Consumes `len` bytes at the decoding position: dropped from the buffer, or added to the
    /// gap while a message is assembled in front of them.
    fn consume(&mut self, len: usize) {
        if self.front == 0 {
            self.buf.advance(len);
        } else {
            self.gap += len;
        }
    }

    /// Closes the gap: what is still to decode (an incomplete header or control frame) moves
    /// down to the end of the assembled payload.
    fn close_gap(&mut self) {
        if self.gap != 0 {
            let at = self.front + self.gap;
            self.buf.copy_within(at.., self.front);
            self.buf.truncate(self.buf.len() - self.gap);
            self.gap = 0;
        }
    }

    /// The first `len` bytes of the buffer as their own `Bytes`.
    fn take_payload(&mut self, len: usize) -> Bytes {
        if len <= COPY_AT_MOST {
            let payload = Bytes::copy_from_slice(&self.buf[..len]);
            self.buf.advance(len);
            payload
        } else {
            self.reclaim = self.buf.capacity();
            self.buf.split_to(len).freeze()
        }
    }

    /// The next complete unit, `Ok(None)` when more bytes are needed (the gap is then closed).
    ///
    /// Never inlined: the general decoder is large, and inlined into the connection's decode
    /// loop it makes every pass of that loop (one per small message) pay for its registers.
    #[inline(never)]
    pub fn next(&mut self) -> Result<Option<Incoming>, Error> {
        self.return_lent();
        let next = self.next_unit()?;
        if next.is_none() {
            self.close_gap();
        }
        Ok(next)
    }

    /// [`Self::next`]'s decoding.
    #[inline(always)]
    fn next_unit(&mut self) -> Result<Option<Incoming>, Error> {
        loop {
            let frame = match &mut self.frame {
                Some(frame) => frame,
                None => {
                    let at = self.front + self.gap;
                    let Some((header, len)) = FrameHeader::decode(&self.buf[at..], self.rules)? else {
                        return Ok(None);
                    };
                    self.check_sequence(&header)?;
                    self.consume(len);
                    self.frame.insert(Frame { header, done: 0 })
                }
            };
            let header = frame.header;
            if header.opcode.is_control() {
                let len = header.payload_len as usize;
                let at = self.front + self.gap;
                let Some(payload) = self.buf.get_mut(at..at + len) else { return Ok(None) };
                if let Some(key) = header.mask {
                    apply_mask(payload, key, 0);
                }
                let payload = Bytes::copy_from_slice(payload);
                self.frame = None;
                self.consume(len);
                return Ok(Some(match header.opcode {
                    OpCode::Ping => Incoming::Ping(payload),
                    OpCode::Pong => Incoming::Pong(payload),
                    _ => Incoming::Close(payload),
                }));
            }
            let found = match self.delivery {
                Delivery::Messages => self.take_message_bytes()?,
                Delivery::Fragments => self.take_fragment_bytes()?,
            };
            match found {
                Step::Emit(incoming) => return Ok(Some(incoming)),
                Step::Continue => {}
                Step::NeedMore => return Ok(None),
            }
        }
    }

    /// The fast path for the commonest frame: a whole unfragmented data message of at most
    /// 125 bytes, all in the buffer, between messages, queued straight into `events` (built in
    /// place: passing it back through `Incoming` costs more than decoding it). `None` when the
    /// buffer does not start with one (then [`Self::next`] decodes it, errors included); every
    /// check `next` makes is either made here or implied by the conditions.
    #[inline(always)]
    pub fn whole_small_message(&mut self, events: &mut VecDeque<Event>) -> Option<Result<(), Error>> {
        self.return_lent();
        let found = self.small_message_at_front()?;
        let mut payload = self.buf[found.payload()].to_vec();
        if self.rules.expect_masked {
            let key = [self.buf[2], self.buf[3], self.buf[4], self.buf[5]];
            apply_mask(&mut payload, key, 0);
        }
        if found.frame_len() == self.buf.len() {
            // The buffer held just this frame: it starts over at the front, all its room kept
            // for the next read (advancing would leave the room behind, to be reclaimed).
            self.buf.clear();
        } else {
            self.buf.advance(found.frame_len());
        }
        let message = if !found.text {
            Message::Binary(Bytes::from(payload))
        } else if simdutf8::basic::from_utf8(&payload).is_ok() {
            Message::Text(Utf8Bytes::from_validated(Bytes::from(payload)))
        } else {
            return Some(Err(Error::InvalidUtf8));
        };
        events.push_back(Event::Message(message));
        Some(Ok(()))
    }

    /// The fast path's message, lent rather than copied: unmasked and checked in place, and
    /// consumed by the next call; see [`Self::lent`]. `None` as for
    /// [`Self::whole_small_message`].
    pub fn lend_small_message(&mut self) -> Option<Result<(), Error>> {
        self.return_lent();
        let lent = self.small_message_at_front()?;
        let range = lent.payload();
        if self.rules.expect_masked {
            let key = [self.buf[2], self.buf[3], self.buf[4], self.buf[5]];
            apply_mask(&mut self.buf[range.clone()], key, 0);
        }
        if lent.text && simdutf8::basic::from_utf8(&self.buf[range]).is_err() {
            return Some(Err(Error::InvalidUtf8));
        }
        self.lent = Some(lent);
        Some(Ok(()))
    }

    /// The message [`Self::lend_small_message`] lent last.
    pub fn lent(&self) -> Option<EventRef<'_>> {
        let lent = self.lent?;
        let payload = &self.buf[lent.payload()];
        Some(match lent.text {
            // Checked when it was lent.
            true => EventRef::Text(std::str::from_utf8(payload).unwrap_or_default()),
            false => EventRef::Binary(payload),
        })
    }

    /// Whether a whole small message waits (after the one lent out, if any).
    pub fn has_small_message(&self) -> bool {
        self.small_message_at(self.lent_len()).is_some()
    }

    /// The lengths of the whole small message the buffer starts with, if it does.
    #[inline(always)]
    fn small_message_at_front(&self) -> Option<Lent> {
        self.small_message_at(0)
    }

    /// The lengths of the whole small message at `at` in the buffer, if there is one.
    #[inline(always)]
    fn small_message_at(&self, at: usize) -> Option<Lent> {
        if self.frame.is_some() || self.partial.is_some() || self.delivery != Delivery::Messages {
            return None;
        }
        let buf = self.buf.get(at..)?;
        let [b0, b1, ..] = buf[..] else { return None };
        // FIN, no RSV bit, text or binary; a 7-bit length; masked as our role expects.
        let text = match b0 {
            0x81 => true,
            0x82 => false,
            _ => return None,
        };
        if b1 & 0x80 != u8::from(self.rules.expect_masked) << 7 {
            return None;
        }
        let len = usize::from(b1 & 0x7F);
        let header_len = if self.rules.expect_masked { 6 } else { 2 };
        let within_limits =
            len <= 125 && len as u64 <= self.max_frame.min(self.max_message) && self.max_fragments > 0;
        if !within_limits || buf.len() < header_len + len {
            return None;
        }
        Some(Lent { header_len, len, text })
    }

    /// RFC 6455 §5.4 sequencing and the configured limits, on the header alone.
    fn check_sequence(&mut self, header: &FrameHeader) -> Result<(), Error> {
        if header.opcode.is_control() {
            return Ok(());
        }
        let kind = match (header.opcode, &self.partial) {
            (OpCode::Continuation, None) => return Err(Error::UnexpectedContinuation),
            (OpCode::Continuation, Some(_)) => None,
            (_, Some(_)) => return Err(Error::ExpectedContinuation),
            (OpCode::Text, None) => Some(DataKind::Text),
            (_, None) => Some(DataKind::Binary),
        };
        let (size, frames) = self.partial.as_ref().map_or((0, 0), |p| (p.size, p.frames));
        if self.delivery == Delivery::Messages {
            if header.payload_len > self.max_frame {
                return Err(Error::FrameTooBig);
            }
            if size.saturating_add(header.payload_len) > self.max_message {
                return Err(Error::MessageTooBig);
            }
            if frames >= self.max_fragments {
                return Err(Error::TooManyFragments);
            }
        }
        let partial = match (kind, &mut self.partial) {
            (Some(kind), _) => self.partial.insert(Partial::new(kind)),
            (None, Some(partial)) => partial,
            (None, None) => return Err(Error::UnexpectedContinuation),
        };
        partial.size += header.payload_len;
        partial.frames += 1;
        Ok(())
    }

    /// Takes in the frame's payload bytes that arrived since the last call: unmasks and checks
    /// them and moves them down over the gap, to the end of [`Self::front`]. Returns how many.
    fn take_in(&mut self) -> Result<usize, Error> {
        let (Some(frame), Some(partial)) = (&mut self.frame, &mut self.partial) else {
            return Ok(0);
        };
        let at = self.front + self.gap;
        let left = frame.header.payload_len - frame.done;
        let arrived = self.buf.len() - at;
        let fresh = usize::try_from(left).map_or(arrived, |left| left.min(arrived));
        if let Some(key) = frame.header.mask {
            apply_mask(&mut self.buf[at..at + fresh], key, (frame.done & 3) as usize);
        }
        if self.gap != 0 {
            self.buf.copy_within(at..at + fresh, self.front);
        }
        if partial.kind == DataKind::Text {
            partial.utf8.feed(&self.buf[self.front..self.front + fresh]).map_err(|_| Error::InvalidUtf8)?;
        }
        frame.done += fresh as u64;
        Ok(fresh)
    }

    /// Messages mode: leave the payload in the buffer, assembled at its front, until the
    /// message is whole, then hand it out (without copying when it is large).
    fn take_message_bytes(&mut self) -> Result<Step, Error> {
        self.front += self.take_in()?;
        let Some(frame) = &self.frame else { return Ok(Step::Continue) };
        if frame.done < frame.header.payload_len {
            return Ok(Step::NeedMore);
        }
        let fin = frame.header.fin;
        self.frame = None;
        if !fin {
            return Ok(Step::Continue);
        }
        let Some(mut partial) = self.partial.take() else { return Ok(Step::Continue) };
        let len = std::mem::take(&mut self.front);
        let data = self.take_payload(len);
        self.buf.advance(std::mem::take(&mut self.gap));
        Ok(Step::Emit(Incoming::Message(match partial.kind {
            DataKind::Binary => Message::Binary(data),
            DataKind::Text => {
                partial.utf8.finish().map_err(|_| Error::InvalidUtf8)?;
                Message::Text(Utf8Bytes::from_validated(data))
            }
        })))
    }

    /// Fragments mode: hand out whatever payload has arrived, text cut at a character boundary.
    fn take_fragment_bytes(&mut self) -> Result<Step, Error> {
        let available = self.take_in()?;
        let (Some(frame), Some(partial)) = (&self.frame, &mut self.partial) else {
            return Ok(Step::Continue);
        };
        let frame_done = frame.done == frame.header.payload_len;
        if available == 0 && !frame_done {
            return Ok(Step::NeedMore);
        }
        let fin = frame.header.fin && frame_done;
        let mut piece = self.buf.split_to(available);
        if frame_done {
            self.frame = None;
        }
        let mut data = Bytes::new();
        if partial.kind == DataKind::Text {
            if !partial.held.is_empty() {
                let need = utf8_width(partial.held[0]) - partial.held.len();
                let k = need.min(piece.len());
                partial.held.extend_from_slice(&piece[..k]);
                piece.advance(k);
                if partial.held.len() == utf8_width(partial.held[0]) {
                    let char_bytes = std::mem::take(&mut partial.held);
                    if piece.is_empty() {
                        data = Bytes::from(char_bytes);
                    } else {
                        let mut joined = BytesMut::with_capacity(char_bytes.len() + piece.len());
                        joined.extend_from_slice(&char_bytes);
                        joined.extend_from_slice(&piece);
                        piece = joined;
                    }
                }
            }
            if partial.held.is_empty() && !piece.is_empty() {
                let unfinished = partial.utf8.pending();
                partial.held = piece.split_off(piece.len() - unfinished).to_vec();
                data = piece.freeze();
            }
            if fin {
                partial.utf8.finish().map_err(|_| Error::InvalidUtf8)?;
            }
        } else {
            data = piece.freeze();
        }
        if data.is_empty() && !fin {
            return Ok(Step::Continue);
        }
        let first = std::mem::replace(&mut partial.first, false);
        let kind = partial.kind;
        if fin {
            self.partial = None;
        }
        Ok(Step::Emit(Incoming::Fragment(Fragment { kind, data, first, fin })))
    }
}

enum Step {
    Emit(Incoming),
    Continue,
    NeedMore,
}

impl Partial {
    fn new(kind: DataKind) -> Self {
        Self { kind, utf8: Utf8Validator::new(), size: 0, frames: 0, first: true, held: Vec::new() }
    }
}

/// The length of the UTF-8 sequence a leading byte starts (the validator has vouched for it).
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}
