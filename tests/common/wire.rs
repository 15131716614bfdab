//! Frames built by hand ([`RawFrame`]) and parsed back ([`parse_frames`]), independently of
//! the crate's own codec.

use wsproto::Role;

/// Opcodes, spelled as on the wire.
pub mod op {
    pub const CONT: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// The masking key of RFC 6455 §5.7's examples; the default for client frames built here.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame built by hand, valid or not: any opcode, FIN, RSV bits, mask, and a declared length
/// that may differ from the payload.
#[derive(Clone, Debug)]
pub struct RawFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub payload: Vec<u8>,
    /// The length written in the header, if not the payload's.
    pub declared_len: Option<u64>,
}

impl RawFrame {
    pub fn new(opcode: u8, payload: impl AsRef<[u8]>) -> Self {
        Self { fin: true, rsv: 0, opcode, payload: payload.as_ref().to_vec(), declared_len: None }
    }

    pub fn text(payload: impl AsRef<[u8]>) -> Self {
        Self::new(op::TEXT, payload)
    }

    pub fn binary(payload: impl AsRef<[u8]>) -> Self {
        Self::new(op::BINARY, payload)
    }

    pub fn cont(payload: impl AsRef<[u8]>) -> Self {
        Self::new(op::CONT, payload)
    }

    pub fn ping(payload: impl AsRef<[u8]>) -> Self {
        Self::new(op::PING, payload)
    }

    pub fn pong(payload: impl AsRef<[u8]>) -> Self {
        Self::new(op::PONG, payload)
    }

    /// A close frame with a code and a reason.
    pub fn close(code: u16, reason: impl AsRef<[u8]>) -> Self {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_ref());
        Self::new(op::CLOSE, payload)
    }

    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    pub fn rsv(mut self, bits: u8) -> Self {
        self.rsv = bits;
        self
    }

    pub fn declared_len(mut self, len: u64) -> Self {
        self.declared_len = Some(len);
        self
    }

    /// The frame as a client sends it: masked with [`KEY`].
    pub fn client(&self) -> Vec<u8> {
        self.encode(Some(KEY))
    }

    /// The frame as a client sends it, masked with `key`.
    pub fn client_with(&self, key: [u8; 4]) -> Vec<u8> {
        self.encode(Some(key))
    }

    /// The frame as a server sends it: unmasked.
    pub fn server(&self) -> Vec<u8> {
        self.encode(None)
    }

    /// Encodes with the shortest length form (RFC 6455 §5.2).
    pub fn encode(&self, mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = vec![(u8::from(self.fin) << 7) | ((self.rsv & 7) << 4) | (self.opcode & 0xF)];
        let mask_bit = if mask.is_some() { 0x80 } else { 0 };
        let len = self.declared_len.unwrap_or(self.payload.len() as u64);
        match len {
            0..=125 => out.push(mask_bit | len as u8),
            126..=0xFFFF => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        match mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => out.extend_from_slice(&self.payload),
        }
        out
    }
}

/// Frames as a client sends them, each masked with a different key.
pub fn client_stream(frames: &[RawFrame]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let i = i as u8;
        out.extend(frame.client_with([0x37 ^ i, 0xfa, 0x21u8.wrapping_add(i), 0x3d]));
    }
    out
}

/// Frames as a server sends them.
pub fn server_stream(frames: &[RawFrame]) -> Vec<u8> {
    frames.iter().flat_map(RawFrame::server).collect()
}

/// A frame parsed from bytes a connection queued, payload unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload: Vec<u8>,
    /// Bytes of header, from the first byte to the payload.
    pub header_len: usize,
}

impl WireFrame {
    /// The close code of a close frame (`None` for an empty close payload).
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, op::CLOSE);
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }

    /// The reason of a close frame.
    pub fn close_reason(&self) -> &str {
        assert_eq!(self.opcode, op::CLOSE);
        std::str::from_utf8(self.payload.get(2..).unwrap_or_default()).expect("reason is UTF-8")
    }
}

/// Parses a stream of frames. Panics on a partial frame at the end or a non-minimal length,
/// since everything a connection writes must be whole, well-formed frames.
pub fn parse_frames(mut wire: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !wire.is_empty() {
        assert!(wire.len() >= 2, "partial frame header: {wire:?}");
        let (b0, b1) = (wire[0], wire[1]);
        let mut at = 2;
        let len = match b1 & 0x7F {
            126 => {
                let len = u64::from(u16::from_be_bytes([wire[2], wire[3]]));
                assert!(len >= 126, "16-bit length form for {len} bytes");
                at += 2;
                len
            }
            127 => {
                let len = u64::from_be_bytes(wire[2..10].try_into().unwrap());
                assert!(len > 0xFFFF && len >> 63 == 0, "bad 64-bit length {len}");
                at += 8;
                len
            }
            n => u64::from(n),
        };
        let mask = (b1 & 0x80 != 0).then(|| {
            let key: [u8; 4] = wire[at..at + 4].try_into().unwrap();
            at += 4;
            key
        });
        let len = len as usize;
        assert!(wire.len() >= at + len, "partial frame payload");
        let mut payload = wire[at..at + len].to_vec();
        if let Some(key) = mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        frames.push(WireFrame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 7,
            opcode: b0 & 0xF,
            mask,
            payload,
            header_len: at,
        });
        wire = &wire[at + len..];
    }
    frames
}

/// Checks what a role must write (RFC 6455 §5.1, §5.2, §5.5): clients mask every frame and
/// servers none, no RSV bits, known opcodes, short final control frames, and nothing after a
/// close frame.
pub fn check_wire(wire: &[u8], role: Role) -> Vec<WireFrame> {
    let frames = parse_frames(wire);
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(frame.mask.is_some(), role == Role::Client, "masking of {frame:?}");
        assert_eq!(frame.rsv, 0);
        assert!(matches!(frame.opcode, 0x0..=0x2 | 0x8..=0xA), "opcode {:#x}", frame.opcode);
        if frame.opcode >= 0x8 {
            assert!(frame.fin && frame.payload.len() <= 125, "bad control frame {frame:?}");
        }
        if frame.opcode == op::CLOSE {
            assert_eq!(i + 1, frames.len(), "{role:?} wrote frames after its close frame");
        }
    }
    frames
}

/// Splits `s` into `n` byte pieces (the last may be shorter), ignoring character boundaries.
pub fn byte_pieces(s: &[u8], n: usize) -> Vec<Vec<u8>> {
    s.chunks(n.max(1)).map(<[u8]>::to_vec).collect()
}
