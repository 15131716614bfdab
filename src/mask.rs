//! Masking (RFC 6455 §5.3): XOR of the payload with a repeating 4-byte key.
#![allow(unsafe_code)]

/// XORs `buf` in place with `key`, where `buf[0]` is byte `offset` of the payload, so byte `i`
/// of `buf` is XORed with `key[(offset + i) % 4]`. Masking and unmasking are the same operation.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset + i) & 3];
    }
}
