//! The frame header (RFC 6455 §5.2): decode with every header-only check, encode every length form.
//!
//! Decoding never allocates and never panics; a header that is not all there yet is `Ok(None)`.

use crate::error::Error;

/// Longest encoded header: 2 bytes, an 8-byte extended length and a 4-byte masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// Longest control frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode (RFC 6455 §5.2); reserved opcodes are refused while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    fn from_bits(bits: u8) -> Result<Self, Error> {
        Ok(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            // RFC 6455 §5.2: 0x3-0x7 and 0xB-0xF are reserved.
            other => return Err(Error::ReservedOpcode(other)),
        })
    }

    const fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong (opcodes with the high bit set).
    pub const fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// A decoded or to-be-encoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: the last frame of a message.
    pub fin: bool,
    /// RSV1–RSV3 as the low three bits.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on client-to-server frames.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes (at most 2^63 - 1).
    pub payload_len: u64,
}

/// What the decoder expects of a header beyond the RFC's fixed rules.
#[derive(Clone, Copy, Debug)]
pub struct HeaderRules {
    /// Frames must be masked (we are the server) or must not be (we are the client).
    pub expect_masked: bool,
    /// RSV bits some negotiated extension claims; any other set bit fails with 1002.
    pub allowed_rsv: u8,
}

impl FrameHeader {
    /// Decodes the header at the start of `buf`: `Ok(None)` until it is complete, then the
    /// header and its encoded length.
    ///
    /// Checks run in a fixed order as soon as the bytes they need are there, so the first two
    /// bytes alone can fail a frame: reserved opcode, RSV bits, fragmented control frame,
    /// oversized control frame, masking by role; then the 64-bit length's top bit.
    ///
    /// ```
    /// use wsproto::frame::{FrameHeader, HeaderRules, OpCode};
    ///
    /// let rules = HeaderRules { expect_masked: false, allowed_rsv: 0 };
    /// // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
    /// let (header, len) = FrameHeader::decode(b"\x81\x05Hello", rules).unwrap().unwrap();
    /// assert_eq!((header.opcode, header.fin, header.payload_len, len), (OpCode::Text, true, 5, 2));
    /// assert_eq!(FrameHeader::decode(b"\x81", rules), Ok(None));
    /// ```
    pub fn decode(buf: &[u8], rules: HeaderRules) -> Result<Option<(Self, usize)>, Error> {
        let [b0, b1, rest @ ..] = buf else { return Ok(None) };
        let opcode = OpCode::from_bits(b0 & 0x0F)?;
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x07;
        if rsv & !rules.allowed_rsv != 0 {
            return Err(Error::ReservedBits);
        }
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        if opcode.is_control() {
            // RFC 6455 §5.5: control frames MUST NOT be fragmented and have at most 125 bytes.
            if !fin {
                return Err(Error::FragmentedControlFrame);
            }
            if usize::from(len7) > MAX_CONTROL_PAYLOAD {
                return Err(Error::ControlFrameTooLong);
            }
        }
        // RFC 6455 §5.1: a server MUST close on an unmasked frame, a client on a masked one.
        match (rules.expect_masked, masked) {
            (true, false) => return Err(Error::UnmaskedFrame),
            (false, true) => return Err(Error::MaskedFrame),
            _ => {}
        }
        let (payload_len, ext_len) = match len7 {
            126 => match rest {
                [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 2),
                _ => return Ok(None),
            },
            127 => match rest.first_chunk::<8>() {
                Some(bytes) => {
                    let len = u64::from_be_bytes(*bytes);
                    // RFC 6455 §5.2: the most significant bit MUST be 0.
                    if len >> 63 != 0 {
                        return Err(Error::InvalidLength);
                    }
                    (len, 8)
                }
                None => return Ok(None),
            },
            n => (u64::from(n), 0),
        };
        let mask_len = if masked { 4 } else { 0 };
        let Some(key) = rest.get(ext_len..ext_len + mask_len) else { return Ok(None) };
        let mask = key.try_into().ok();
        Ok(Some((Self { fin, rsv, opcode, mask, payload_len }, 2 + ext_len + mask_len)))
    }

    /// Encodes the header into `out` and returns how many bytes it took. Uses the shortest
    /// length form, as RFC 6455 §5.2 requires.
    ///
    /// ```
    /// use wsproto::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
    ///
    /// let header = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Binary, mask: None, payload_len: 256 };
    /// let mut out = [0; MAX_HEADER_LEN];
    /// let len = header.encode(&mut out);
    /// assert_eq!(&out[..len], b"\x82\x7e\x01\x00"); // RFC 6455 §5.7
    /// ```
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = self.first_byte();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut len = match self.payload_len {
            n @ 0..=125 => {
                out[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[len..len + 4].copy_from_slice(&key);
            len += 4;
        }
        len
    }

    /// The first header byte: FIN, RSV1–RSV3 and the opcode.
    #[inline]
    pub(crate) fn first_byte(&self) -> u8 {
        (u8::from(self.fin) << 7) | ((self.rsv & 0x07) << 4) | self.opcode.bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: HeaderRules = HeaderRules { expect_masked: true, allowed_rsv: 0 };
    const CLIENT: HeaderRules = HeaderRules { expect_masked: false, allowed_rsv: 0 };

    fn roundtrip(header: FrameHeader) {
        let mut out = [0; MAX_HEADER_LEN];
        let len = header.encode(&mut out);
        let rules = if header.mask.is_some() { SERVER } else { CLIENT };
        for cut in 0..len {
            assert_eq!(FrameHeader::decode(&out[..cut], rules), Ok(None), "cut at {cut}");
        }
        assert_eq!(FrameHeader::decode(&out[..len], rules), Ok(Some((header, len))));
    }

    #[test]
    fn every_length_form_round_trips_with_and_without_mask() {
        for payload_len in [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, u32::MAX as u64 + 1, (1 << 63) - 1] {
            for mask in [None, Some([1, 2, 3, 4])] {
                for opcode in [OpCode::Continuation, OpCode::Text, OpCode::Binary] {
                    roundtrip(FrameHeader { fin: false, rsv: 0, opcode, mask, payload_len });
                }
            }
        }
    }

    #[test]
    fn encode_uses_the_minimal_length_form() {
        let mut out = [0; MAX_HEADER_LEN];
        let header =
            |payload_len| FrameHeader { fin: true, rsv: 0, opcode: OpCode::Binary, mask: None, payload_len };
        assert_eq!(header(125).encode(&mut out), 2);
        assert_eq!(header(126).encode(&mut out), 4);
        assert_eq!(header(0xFFFF).encode(&mut out), 4);
        assert_eq!(header(0x1_0000).encode(&mut out), 10);
    }

    #[test]
    fn reserved_opcodes_fail_on_the_first_two_bytes_whatever_the_length() {
        for op in (0x3..=0x7).chain(0xB..=0xF) {
            assert_eq!(FrameHeader::decode(&[0x80 | op, 0xFF], SERVER), Err(Error::ReservedOpcode(op)));
        }
    }

    #[test]
    fn rsv_bits_fail_unless_an_extension_claims_them() {
        for rsv in 1..8u8 {
            let frame = [0x80 | (rsv << 4) | 0x1, 0x80];
            assert_eq!(FrameHeader::decode(&frame, SERVER), Err(Error::ReservedBits));
            let claimed = HeaderRules { allowed_rsv: rsv, ..SERVER };
            assert_eq!(FrameHeader::decode(&frame, claimed), Ok(None));
        }
    }

    #[test]
    fn control_frames_must_be_short_and_final() {
        assert_eq!(FrameHeader::decode(&[0x09, 0x80], SERVER), Err(Error::FragmentedControlFrame));
        assert_eq!(FrameHeader::decode(&[0x89, 0x80 | 126], SERVER), Err(Error::ControlFrameTooLong));
        assert_eq!(FrameHeader::decode(&[0x88, 0x80 | 127], SERVER), Err(Error::ControlFrameTooLong));
    }

    #[test]
    fn masking_is_checked_by_role() {
        assert_eq!(FrameHeader::decode(&[0x81, 0x05], SERVER), Err(Error::UnmaskedFrame));
        assert_eq!(FrameHeader::decode(&[0x81, 0x85], CLIENT), Err(Error::MaskedFrame));
    }

    #[test]
    fn a_64_bit_length_with_the_top_bit_set_is_refused() {
        let frame = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(FrameHeader::decode(&frame, CLIENT), Err(Error::InvalidLength));
    }

    #[test]
    fn rfc_6455_section_5_7_headers_decode() {
        let masked_hello = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
        let (header, len) = FrameHeader::decode(masked_hello, SERVER).unwrap().unwrap();
        assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!((header.payload_len, len), (5, 6));
        let (header, len) = FrameHeader::decode(b"\x82\x7F\0\0\0\0\0\x01\0\0", CLIENT).unwrap().unwrap();
        assert_eq!((header.payload_len, len), (65536, 10));
    }
}
