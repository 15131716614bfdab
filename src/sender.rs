//! Messages and control payloads to frames (RFC 6455 §5.2–§5.5), masked by a client.

use bytes::Bytes;

use crate::config::Config;
use crate::error::SendError;
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode};
use crate::message::DataKind;
use crate::outgoing::Outgoing;
use crate::rng::Rng;
use crate::utf8::Utf8Validator;

/// A payload the caller lends (copied) or hands over (kept without copying where possible).
pub(crate) enum Payload<'a> {
    Borrowed(&'a [u8]),
    Owned(Bytes),
}

impl Payload<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Borrowed(data) => data.len(),
            Self::Owned(data) => data.len(),
        }
    }
}

/// The send half of a connection: frames into [`Outgoing`].
#[derive(Debug)]
pub(crate) struct Sender {
    /// `Some` for a client, whose frames are masked.
    rng: Option<Rng>,
    outgoing: Outgoing,
    /// The fragmented message being sent with `send_fragment`, and its UTF-8 state.
    in_progress: Option<(DataKind, Utf8Validator)>,
    fragment_size: usize,
    high_water: usize,
}

fn data_opcode(kind: DataKind) -> OpCode {
    match kind {
        DataKind::Text => OpCode::Text,
        DataKind::Binary => OpCode::Binary,
    }
}

impl Sender {
    pub fn new(masking: bool, config: &Config) -> Self {
        Self {
            rng: masking.then(|| Rng::new(&config.rng)),
            outgoing: Outgoing::default(),
            in_progress: None,
            fragment_size: config.fragment_size.unwrap_or(usize::MAX).max(1),
            high_water: config.outgoing_high_water,
        }
    }

    pub fn outgoing(&mut self) -> &mut Outgoing {
        &mut self.outgoing
    }

    pub fn queued(&self) -> usize {
        self.outgoing.len()
    }

    fn header(&mut self, fin: bool, opcode: OpCode, len: usize) -> FrameHeader {
        let mask = self.rng.as_mut().map(Rng::mask_key);
        FrameHeader { fin, rsv: 0, opcode, mask, payload_len: len as u64 }
    }

    fn check_room(&self) -> Result<(), SendError> {
        if self.outgoing.len() >= self.high_water {
            return Err(SendError::Backpressure);
        }
        Ok(())
    }

    /// A whole message copied from `data`, split into frames of at most `fragment_size` bytes.
    #[inline]
    pub fn send_copied(&mut self, kind: DataKind, data: &[u8]) -> Result<(), SendError> {
        match self.single_frame(kind, data.len())? {
            Some(header) => self.outgoing.push_copied(&header, data),
            None => self.send_fragmented(kind, &Payload::Borrowed(data)),
        }
        Ok(())
    }

    /// A whole message handed over, split as [`Self::send_copied`]. Inlined into the caller
    /// (with `Outgoing::push_owned`), and taking the `Bytes` itself rather than a `Payload`, so
    /// that a small message is not moved through calls and enums before it is copied.
    #[inline]
    pub fn send_owned(&mut self, kind: DataKind, data: Bytes) -> Result<(), SendError> {
        match self.single_frame(kind, data.len())? {
            Some(header) => self.outgoing.push_owned(&header, data),
            None => self.send_fragmented(kind, &Payload::Owned(data)),
        }
        Ok(())
    }

    /// Checks that a whole message of `len` bytes may be queued; the header of its one frame,
    /// or `None` when it is longer than `fragment_size`.
    #[inline]
    fn single_frame(&mut self, kind: DataKind, len: usize) -> Result<Option<FrameHeader>, SendError> {
        if self.in_progress.is_some() {
            return Err(SendError::MessageInProgress);
        }
        self.check_room()?;
        Ok((len <= self.fragment_size).then(|| self.header(true, data_opcode(kind), len)))
    }

    /// A message longer than `fragment_size`, as a first frame and continuations.
    fn send_fragmented(&mut self, kind: DataKind, payload: &Payload<'_>) {
        let len = payload.len();
        let mut start = 0usize;
        loop {
            let end = len.min(start.saturating_add(self.fragment_size));
            let opcode = if start == 0 { data_opcode(kind) } else { OpCode::Continuation };
            let header = self.header(end == len, opcode, end - start);
            match payload {
                Payload::Borrowed(data) => self.outgoing.push_copied(&header, &data[start..end]),
                Payload::Owned(data) => self.outgoing.push_owned(&header, data.slice(start..end)),
            }
            if end == len {
                return;
            }
            start = end;
        }
    }

    /// One frame of a message sent piece by piece; text is checked across pieces.
    pub fn send_fragment(&mut self, kind: DataKind, data: &[u8], fin: bool) -> Result<(), SendError> {
        let (opcode, mut utf8) = match &self.in_progress {
            Some((current, _)) if *current != kind => return Err(SendError::MessageInProgress),
            Some((_, utf8)) => (OpCode::Continuation, utf8.clone()),
            None => (data_opcode(kind), Utf8Validator::new()),
        };
        self.check_room()?;
        if kind == DataKind::Text {
            utf8.feed(data).map_err(|_| SendError::InvalidUtf8)?;
            if fin {
                utf8.finish().map_err(|_| SendError::InvalidUtf8)?;
            }
        }
        let header = self.header(fin, opcode, data.len());
        self.outgoing.push_copied(&header, data);
        self.in_progress = (!fin).then_some((kind, utf8));
        Ok(())
    }

    /// A ping, pong or close frame. Control frames may go between the frames of a message.
    pub fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong);
        }
        let header = self.header(true, opcode, payload.len());
        if opcode == OpCode::Pong {
            // RFC 6455 §5.5.3 lets a pong answer only the latest ping. Every ping gets its
            // pong while the peer reads; once our writes back up (this pong would pass the
            // high-water mark), only the latest does, so a flood of pings cannot grow the
            // queue past the high-water mark and one pong.
            let frame_len = MAX_HEADER_LEN + payload.len();
            let coalesce = self.outgoing.len().saturating_add(frame_len) > self.high_water;
            self.outgoing.push_pong(&header, payload, coalesce);
        } else {
            self.outgoing.push_copied(&header, payload);
        }
        Ok(())
    }
}
