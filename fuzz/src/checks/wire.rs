//! What an endpoint writes, parsed and judged independently of the crate's frame codec
//! (RFC 6455 §5.2 by hand).

use wsproto::{DataKind, Role};

/// Longest control frame as a client writes it: 2 header bytes, a 4-byte key, 125 bytes.
pub const MAX_CONTROL_FRAME: usize = 2 + 4 + 125;

/// Longest data frame header: 2 bytes, an 8-byte length, a 4-byte key.
pub const MAX_DATA_HEADER: usize = 14;

/// A parsed frame, payload unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl WireFrame {
    /// The close code of a close frame; `None` for an empty close payload.
    pub fn close_code(&self) -> Option<u16> {
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Judges the byte stream one endpoint writes, fed as it is written (in any pieces): whole,
/// well-formed frames for its role (RFC 6455 §5.1–§5.5), messages framed in order, text that
/// is UTF-8, valid close payloads, and nothing at all after the close frame (§5.5.1).
#[derive(Debug)]
pub struct WireCheck {
    role: Role,
    buf: Vec<u8>,
    /// The data message being framed: its kind and payload so far.
    message: Option<(DataKind, Vec<u8>)>,
    /// Every whole data message written, in order.
    pub messages: Vec<(DataKind, Vec<u8>)>,
    /// The close frame written, if any.
    pub close: Option<WireFrame>,
    /// Every frame written, in order.
    pub frames: Vec<WireFrame>,
    /// Total bytes written.
    pub bytes: usize,
}

impl WireCheck {
    pub fn new(role: Role) -> Self {
        Self {
            role,
            buf: Vec::new(),
            message: None,
            messages: Vec::new(),
            close: None,
            frames: Vec::new(),
            bytes: 0,
        }
    }

    /// Takes the next bytes written and checks every frame they complete.
    pub fn push(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len();
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        while let Some((frame, len)) = parse(&self.buf[at..]) {
            at += len;
            self.check(frame);
        }
        self.buf.drain(..at);
    }

    /// Bytes of a frame not yet complete.
    pub fn partial(&self) -> usize {
        self.buf.len()
    }

    fn check(&mut self, frame: WireFrame) {
        let role = self.role;
        assert!(self.close.is_none(), "{role:?} wrote {frame:?} after its close frame");
        assert_eq!(frame.masked, role == Role::Client, "{role:?} masking of {frame:?}");
        assert_eq!(frame.rsv, 0, "{role:?} set RSV bits: {frame:?}");
        match frame.opcode {
            0x0..=0x2 => self.check_data(&frame),
            0x8..=0xA => {
                // RFC 6455 §5.5: control frames are final and at most 125 bytes.
                assert!(frame.fin && frame.payload.len() <= 125, "{role:?} bad control frame {frame:?}");
                if frame.opcode == 0x8 {
                    check_close_payload(&frame.payload);
                    self.close = Some(frame.clone());
                }
            }
            op => panic!("{role:?} wrote reserved opcode {op:#x}"),
        }
        self.frames.push(frame);
    }

    fn check_data(&mut self, frame: &WireFrame) {
        let role = self.role;
        // RFC 6455 §5.4: a message is a text or binary frame, then continuations up to FIN.
        let (kind, data) = match (frame.opcode, self.message.take()) {
            (0x0, Some(message)) => message,
            (0x0, None) => panic!("{role:?} wrote a continuation with no message in progress"),
            (_, Some(_)) => panic!("{role:?} started a message inside another: {frame:?}"),
            (0x1, None) => (DataKind::Text, Vec::new()),
            (_, None) => (DataKind::Binary, Vec::new()),
        };
        let mut data = data;
        data.extend_from_slice(&frame.payload);
        if !frame.fin {
            self.message = Some((kind, data));
            return;
        }
        if kind == DataKind::Text {
            assert!(std::str::from_utf8(&data).is_ok(), "{role:?} sent a text message that is not UTF-8");
        }
        self.messages.push((kind, data));
    }
}

/// RFC 6455 §5.5.1, §7.4: empty, or a sendable 2-byte code and a UTF-8 reason.
fn check_close_payload(payload: &[u8]) {
    if payload.is_empty() {
        return;
    }
    assert!(payload.len() >= 2, "one-byte close payload");
    let code = u16::from_be_bytes([payload[0], payload[1]]);
    assert!(matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999), "close code {code} sent");
    assert!(std::str::from_utf8(&payload[2..]).is_ok(), "close reason is not UTF-8");
}

/// Parses one frame at the start of `buf`: `None` until it is whole. Panics on a length that
/// is not in its shortest form or has the top bit set, which no endpoint may write.
pub fn parse(buf: &[u8]) -> Option<(WireFrame, usize)> {
    let [b0, b1, rest @ ..] = buf else { return None };
    let (len, ext) = match b1 & 0x7F {
        126 => {
            let len = u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
            assert!(len >= 126, "16-bit length form for {len} bytes");
            (len, 2)
        }
        127 => {
            let len = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
            assert!(len > 0xFFFF && len >> 63 == 0, "bad 64-bit length {len}");
            (len, 8)
        }
        n => (u64::from(n), 0),
    };
    let masked = b1 & 0x80 != 0;
    let key_len = if masked { 4 } else { 0 };
    let start: usize = 2 + ext + key_len;
    let len = usize::try_from(len).ok()?;
    let end = start.checked_add(len)?;
    if buf.len() < end {
        return None;
    }
    let mut payload = buf[start..end].to_vec();
    if masked {
        let key = &buf[2 + ext..start];
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }
    let frame = WireFrame { fin: b0 & 0x80 != 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xF, masked, payload };
    Some((frame, end))
}
