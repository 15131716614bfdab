//! Incremental UTF-8 validation across fragment and read boundaries (RFC 6455 §8.1).
//!
//! RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the
//! byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_." A text message may arrive in many frames and many reads, and a character may be
//! cut anywhere, so [`Utf8Validator`] carries the unfinished end of one piece into the next and
//! fails on the first byte that no continuation could make valid (fail-fast, as Autobahn 6.x
//! checks), not at the end of the message.
//!
//! Each piece is validated in one SIMD pass (`simdutf8`); only the at most 3 bytes of a
//! character cut at either end of a piece are looked at separately. Panics: none.

use core::fmt;

/// Validates a byte stream given in pieces; carries at most 3 bytes of an unfinished character.
///
/// Feed every piece with [`feed`](Self::feed), then call [`finish`](Self::finish) at the end of
/// the stream (the end of the message). After an error the validator keeps failing until
/// `finish` or [`reset`](Self::reset); what it holds then is unspecified.
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// The unfinished character: `carry[..carry_len]` is a valid prefix of a 2- to 4-byte
    /// character; `carry_len` is `FAILED` after an error.
    carry: [u8; 4],
    carry_len: u8,
}

/// `carry_len` after an error: sticky until `finish` or `reset`.
const FAILED: u8 = u8::MAX;

/// The stream is not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl std::error::Error for Utf8Error {}

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates the next piece; fails as soon as a byte cannot be part of valid UTF-8.
    ///
    /// A piece may end inside a character: its valid beginning is kept (see
    /// [`pending`](Self::pending)) and completed by the next piece. A beginning that no
    /// continuation could complete (`C0`, `F5`, `ED A0`, `F4 90`, ...) fails at once.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Utf8Error> {
        let mut rest = bytes;
        if self.carry_len != 0 {
            rest = self.complete_carry(rest)?;
            if self.carry_len != 0 {
                // The piece ended before the character did; `rest` is empty.
                return Ok(());
            }
        }
        // Leave out a character cut at the end, so that one pass decides the rest.
        let cut = incomplete_tail_start(rest);
        let (whole, tail) = rest.split_at(cut);
        if simdutf8::basic::from_utf8(whole).is_err() {
            return self.fail();
        }
        if !tail.is_empty() {
            if !is_valid_prefix(tail) {
                return self.fail();
            }
            self.carry[..tail.len()].copy_from_slice(tail);
            self.carry_len = tail.len() as u8;
        }
        Ok(())
    }

    /// How many trailing bytes fed so far form an unfinished character (0 to 3).
    pub fn pending(&self) -> usize {
        match self.carry_len {
            FAILED => 0,
            n => usize::from(n),
        }
    }

    /// Ends the stream: fails if a character is unfinished (or an error was reported).
    /// Resets the validator.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let clean = self.carry_len == 0;
        self.reset();
        if clean { Ok(()) } else { Err(Utf8Error) }
    }

    /// Forgets the stream so far, errors included: back to the state of [`new`](Self::new).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Appends to the carried character the bytes it still needs from the head of `bytes`,
    /// and returns the bytes after them. Leaves `carry_len` 0 when the character is complete,
    /// or non-zero when `bytes` ran out first.
    fn complete_carry<'a>(&mut self, bytes: &'a [u8]) -> Result<&'a [u8], Utf8Error> {
        if self.carry_len == FAILED {
            return Err(Utf8Error);
        }
        let have = usize::from(self.carry_len);
        let need = char_width(self.carry[0]);
        let take = need.saturating_sub(have).min(bytes.len());
        let (head, rest) = bytes.split_at(take);
        self.carry[have..have + take].copy_from_slice(head);
        let candidate = &self.carry[..have + take];
        match core::str::from_utf8(candidate) {
            Ok(_) => self.carry_len = 0,
            Err(e) if e.error_len().is_none() => self.carry_len = candidate.len() as u8,
            Err(_) => return self.fail(),
        }
        Ok(rest)
    }

    fn fail<T>(&mut self) -> Result<T, Utf8Error> {
        self.carry_len = FAILED;
        Err(Utf8Error)
    }
}

/// The length of the character a lead byte starts, or 0 when the byte cannot start one
/// (a continuation byte, `C0`, `C1`, `F5`..`FF`).
fn char_width(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

/// Where a character cut by the end of `bytes` starts, or `bytes.len()` when the last
/// character is whole or plainly invalid (which the full pass then reports).
///
/// An unfinished character is at most 3 bytes long, so its lead byte is among the last 3.
fn incomplete_tail_start(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let byte = bytes[len - back];
        // Skip continuation bytes (10xx_xxxx) back to the lead.
        if byte & 0xC0 != 0x80 {
            return if char_width(byte) > back { len - back } else { len };
        }
    }
    len
}

/// Whether `tail` (1 to 3 bytes, starting with a lead byte) can begin a valid character.
fn is_valid_prefix(tail: &[u8]) -> bool {
    matches!(core::str::from_utf8(tail), Err(e) if e.error_len().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `bytes` in pieces ending at `cuts` (sorted), then finishes.
    fn validate_in_pieces(bytes: &[u8], cuts: &[usize]) -> Result<(), Utf8Error> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for &cut in cuts.iter().chain([&bytes.len()]) {
            let cut = cut.clamp(start, bytes.len());
            v.feed(&bytes[start..cut])?;
            start = cut;
        }
        v.finish()
    }

    /// The number of bytes after which a fail-fast validator must have failed: the shortest
    /// prefix that std rejects with a definite error (not just "unexpected end").
    fn std_fail_point(bytes: &[u8]) -> Option<usize> {
        (1..=bytes.len())
            .find(|&n| matches!(core::str::from_utf8(&bytes[..n]), Err(e) if e.error_len().is_some()))
    }

    /// Feeds `bytes` in pieces ending at `cuts` (sorted); returns the end of the piece whose
    /// `feed` failed first.
    fn piecewise_fail_point(bytes: &[u8], cuts: &[usize]) -> Option<usize> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for &cut in cuts.iter().chain([&bytes.len()]) {
            let cut = cut.clamp(start, bytes.len());
            if v.feed(&bytes[start..cut]).is_err() {
                return Some(cut);
            }
            assert!(v.pending() <= 3);
            start = cut;
        }
        None
    }

    /// Feeds one byte at a time; returns how many bytes were fed when `feed` first failed.
    fn byte_by_byte_fail_point(bytes: &[u8]) -> Option<usize> {
        let every: Vec<usize> = (1..bytes.len()).collect();
        piecewise_fail_point(bytes, &every)
    }

    /// Where a fail-fast validator fed in pieces ending at `cuts` must first fail: at the end of
    /// the piece holding the byte that makes the error certain.
    fn expected_fail_point(bytes: &[u8], cuts: &[usize]) -> Option<usize> {
        let at = std_fail_point(bytes)?;
        cuts.iter().copied().chain([bytes.len()]).find(|&cut| cut >= at)
    }

    /// Checks the validator on `bytes` whole, byte by byte and split at every point.
    fn check_agrees_with_std(bytes: &[u8]) {
        let want = core::str::from_utf8(bytes).is_ok();
        assert_eq!(validate_in_pieces(bytes, &[]).is_ok(), want, "whole {bytes:02X?}");
        let every: Vec<usize> = (1..bytes.len()).collect();
        assert_eq!(validate_in_pieces(bytes, &every).is_ok(), want, "bytes {bytes:02X?}");
        for cut in 0..=bytes.len() {
            let got = validate_in_pieces(bytes, &[cut]).is_ok();
            assert_eq!(got, want, "cut at {cut} of {bytes:02X?}");
            let (got, fail) = (piecewise_fail_point(bytes, &[cut]), expected_fail_point(bytes, &[cut]));
            assert_eq!(got, fail, "fail point, cut at {cut} of {bytes:02X?}");
        }
        assert_eq!(byte_by_byte_fail_point(bytes), std_fail_point(bytes), "{bytes:02X?}");
    }

    #[test]
    fn valid_text_passes_in_any_split() {
        for s in ["", "a", "hello", "κόσμε", "€", "𝄞 music", "日本語テキスト", "\u{10FFFF}\u{7F}"]
        {
            check_agrees_with_std(s.as_bytes());
        }
    }

    #[test]
    fn autobahn_6_x_vectors_fail_fast_whole_and_byte_by_byte() {
        let kosme = "κόσμε".as_bytes();
        let mut kosme_bad = kosme.to_vec();
        kosme_bad.insert(7, 0xED); // inside "σ"
        let mut kosme_tail = kosme.to_vec();
        kosme_tail.extend_from_slice(b"\xED\xA0\x80edited");
        let vectors: &[&[u8]] = &[
            &kosme_bad,
            &kosme_tail,
            b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xF4\x90\x80\x80\x65\x64\x69\x74\x65\x64",
            b"\xED\xA0\x80",             // UTF-16 surrogate U+D800
            b"\xED\xBF\xBF",             // surrogate U+DFFF
            b"\xED\xA0\x80\xED\xB0\x80", // surrogate pair
            b"\xC0\xAF",                 // overlong "/"
            b"\xE0\x80\xAF",             // overlong "/"
            b"\xF0\x80\x80\xAF",         // overlong "/"
            b"\xC1\xBF",                 // overlong U+7F
            b"\xF4\x90\x80\x80",         // U+110000
            b"\xF5",                     // never a lead
            b"\xF8\x88\x80\x80\x80",     // 5-byte form
            b"\xFC\x84\x80\x80\x80\x80", // 6-byte form
            b"\xFE",
            b"\xFF",
            b"\x80",             // lone continuation
            b"\xBF\x80\xBF",     // continuations
            b"\xC0",             // lone invalid lead
            b"\xE0\x80",         // cut overlong, already invalid
            b"\xF4\x90",         // cut out-of-range, already invalid
            b"\xED\xA0",         // cut surrogate, already invalid
            b"a\xC3(b",          // lead followed by ASCII
            b"\xE2\x82(",        // 3-byte cut by ASCII
            b"\xF0\x9F\x98(",    // 4-byte cut by ASCII
            b"\xE2\x82\xAC\x80", // a continuation too many
        ];
        for &bytes in vectors {
            assert!(core::str::from_utf8(bytes).is_err());
            check_agrees_with_std(bytes);
            assert!(byte_by_byte_fail_point(bytes).is_some(), "{bytes:02X?}");
        }
    }

    #[test]
    fn truncated_prefixes_that_cannot_complete_fail_immediately() {
        for bytes in [&b"\xF4\x90"[..], b"\xED\xA0", b"\xC0", b"\xF5", b"\xE0\x9F"] {
            let mut v = Utf8Validator::new();
            assert_eq!(v.feed(bytes), Err(Utf8Error), "{bytes:02X?}");
        }
    }

    #[test]
    fn an_unfinished_character_is_pending_and_fails_at_finish() {
        let euro = "€".as_bytes();
        let mut v = Utf8Validator::new();
        v.feed(&euro[..1]).unwrap();
        assert_eq!(v.pending(), 1);
        v.feed(&euro[1..2]).unwrap();
        assert_eq!(v.pending(), 2);
        v.feed(b"").unwrap();
        assert_eq!(v.pending(), 2);
        assert_eq!(v.finish(), Err(Utf8Error));
        // `finish` reset the validator.
        assert_eq!(v.pending(), 0);
        v.feed(euro).unwrap();
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn a_character_completed_across_three_pieces_is_accepted() {
        let clef = "x𝄞y".as_bytes();
        let mut v = Utf8Validator::new();
        for piece in [&clef[..2], &clef[2..3], &clef[3..4], &clef[4..]] {
            v.feed(piece).unwrap();
        }
        assert_eq!(v.pending(), 0);
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn errors_are_sticky_until_reset() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"ok\xFF").is_err());
        assert!(v.feed(b"fine").is_err());
        assert_eq!(v.pending(), 0);
        v.reset();
        assert_eq!(v.feed(b"fine"), Ok(()));
        assert!(v.feed(b"\xC3").is_ok());
        assert!(v.feed(b"\xC3").is_err());
        assert!(v.finish().is_err());
        assert_eq!(v.feed(b"again"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn error_displays_as_invalid_utf8() {
        let e: Box<dyn std::error::Error> = Box::new(Utf8Error);
        assert_eq!(e.to_string(), "invalid UTF-8");
    }

    /// Strings rich in multi-byte characters and edge code points.
    fn text() -> impl Strategy<Value = Vec<u8>> {
        let ch = prop_oneof![
            any::<char>(),
            prop::sample::select(vec!['a', ' ', 'é', 'σ', '€', '\u{7FF}', '\u{800}', '\u{FFFF}']),
            prop::sample::select(vec!['\u{D7FF}', '\u{E000}', '\u{10000}', '\u{10FFFF}', '😀']),
        ];
        prop::collection::vec(ch, 0..if cfg!(miri) { 8 } else { 64 })
            .prop_map(|cs| cs.into_iter().collect::<String>().into_bytes())
    }

    /// Valid text with a few bytes overwritten, inserted or dropped.
    fn corrupted_text() -> impl Strategy<Value = Vec<u8>> {
        let edit = (any::<prop::sample::Index>(), any::<u8>(), 0..3u8);
        (text(), prop::collection::vec(edit, 0..3)).prop_map(|(mut bytes, edits)| {
            for (at, byte, kind) in edits {
                let i = at.index(bytes.len() + 1);
                match kind {
                    0 if i < bytes.len() => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ if i < bytes.len() => drop(bytes.remove(i)),
                    _ => bytes.push(byte),
                }
            }
            bytes
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: if cfg!(miri) { 8 } else { 2048 },
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn agrees_with_std_for_any_input_split_anywhere(
            bytes in prop_oneof![text(), corrupted_text(), prop::collection::vec(any::<u8>(), 0..40)],
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let want = core::str::from_utf8(&bytes).is_ok();
            prop_assert_eq!(validate_in_pieces(&bytes, &cuts).is_ok(), want);
            prop_assert_eq!(piecewise_fail_point(&bytes, &cuts), expected_fail_point(&bytes, &cuts));
        }

        #[test]
        fn fails_byte_by_byte_exactly_where_the_error_becomes_certain(bytes in corrupted_text()) {
            let got = byte_by_byte_fail_point(&bytes);
            prop_assert_eq!(got, std_fail_point(&bytes));
            if let Err(e) = core::str::from_utf8(&bytes)
                && let Some(n) = e.error_len()
            {
                // No later than the byte after the invalid sequence (that byte is what shows
                // the sequence cannot go on), nor past the end.
                let bound = (e.valid_up_to() + n.max(1) + 1).min(bytes.len());
                prop_assert!(got.is_some_and(|at| at <= bound && at > e.valid_up_to()));
            }
        }
    }
}
