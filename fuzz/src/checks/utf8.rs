//! `utf8_incremental`: [`Utf8Validator`] fed in pieces, against `std::str::from_utf8` of the
//! whole.
//!
//! Input: a byte `n`, then `n & 7` piece lengths (one byte each, 0 allowed: an empty piece),
//! used in a cycle; no lengths: one piece. Then the bytes.
//!
//! Checks: the verdict (every `feed`, then `finish`) is std's; the first failing `feed` is
//! exactly the one whose piece holds the byte that makes the error certain (the end of the
//! shortest prefix std rejects with a definite error), so it is never early and never later
//! than the piece holding std's `valid_up_to() + error_len()`; before that, `pending()` is the
//! length of the unfinished character at the end of what was fed; errors are sticky until
//! `finish`, which resets.

use wsproto::utf8::Utf8Validator;

use super::input::Input;

pub fn utf8_incremental(data: &[u8]) {
    let mut input = Input::new(data);
    let count = input.byte() & 7;
    let lengths: Vec<usize> = (0..count).map(|_| usize::from(input.byte())).collect();
    let bytes = input.rest();
    let std = std::str::from_utf8(bytes);
    let valid_up_to = std.map_or_else(|e| e.valid_up_to(), |_| bytes.len());
    let certain = std.err().and_then(|e| e.error_len()).map(|len| certain_at(bytes, valid_up_to, len));

    let mut validator = Utf8Validator::new();
    // The piece whose `feed` failed first.
    let mut failed: Option<(usize, usize)> = None;
    let mut start = 0;
    // Every piece is fed, empty ones included, and at least one.
    for i in 0.. {
        let len = if lengths.is_empty() { bytes.len() } else { lengths[i % lengths.len()] };
        let end = (start + len).min(bytes.len());
        match (validator.feed(&bytes[start..end]), failed) {
            (Err(_), None) => failed = Some((start, end)),
            (Ok(()), Some(piece)) => panic!("the piece {piece:?} failed, then {start}..{end} passed"),
            (Ok(()), None) => {
                let pending = unfinished(bytes, end, valid_up_to);
                assert_eq!(validator.pending(), pending, "pending after {end} bytes");
            }
            (Err(_), Some(_)) => {}
        }
        start = end;
        let cycle_done = lengths.is_empty() || i + 1 >= lengths.len();
        // An all-zero cycle of lengths would never end: finish with the rest in one piece.
        if start == bytes.len() && cycle_done || i > 2 * bytes.len() + 8 {
            break;
        }
    }
    if start < bytes.len() && validator.feed(&bytes[start..]).is_err() && failed.is_none() {
        failed = Some((start, bytes.len()));
    }
    super::trace(&(certain, failed));
    match (certain, failed) {
        (Some(at), Some((from, to))) => {
            assert!(
                from < at && at <= to,
                "the piece {from}..{to} failed; the error is certain at byte {at}"
            );
        }
        (Some(at), None) => panic!("invalid UTF-8 (certain at byte {at}) passed every feed"),
        (None, Some(piece)) => panic!("the piece {piece:?} failed on bytes that can still be valid"),
        (None, None) => {}
    }
    assert_eq!(validator.finish().is_ok(), std.is_ok(), "the verdict differs from std's");
    // `finish` reset the validator.
    assert_eq!(validator.pending(), 0);
    assert_eq!(validator.feed("é".as_bytes()), Ok(()));
    assert_eq!(validator.finish(), Ok(()));
}

/// The length of the shortest prefix std rejects with a definite error: the byte that shows
/// the sequence at `valid_up_to` (of `error_len` bytes) cannot be valid is within it or the
/// byte after it.
fn certain_at(bytes: &[u8], valid_up_to: usize, error_len: usize) -> usize {
    (valid_up_to + 1..=(valid_up_to + error_len + 1).min(bytes.len()))
        .find(|&n| std::str::from_utf8(&bytes[..n]).is_err_and(|e| e.error_len().is_some()))
        .expect("std's error shows in a prefix")
}

/// How many bytes at the end of `bytes[..end]` are an unfinished character, when that prefix
/// holds no definite error.
fn unfinished(bytes: &[u8], end: usize, valid_up_to: usize) -> usize {
    if end > valid_up_to {
        return end - valid_up_to;
    }
    // A prefix of valid text: find the lead byte of the last character among the last 3.
    for back in 1..=end.min(3) {
        let b = bytes[end - back];
        if b & 0xC0 != 0x80 {
            let width = match b {
                0x00..=0x7F => 1,
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            return if width > back { back } else { 0 };
        }
    }
    0
}
