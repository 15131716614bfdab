//! Buffering an HTTP head (request or response) that arrives in pieces, with bounds.
//!
//! [`HeadReader`] keeps the bytes received, scans each byte once for the end of the head (the
//! blank line) and counts lines as it goes, so a peer that sends one byte at a time costs the
//! same as one that sends the head at once: O(n) in the bytes received, no rescans, and httparse
//! runs once, on the complete head (httparse#162 is what happens otherwise).
//!
//! Panics: none.

use bytes::Bytes;

/// The bounds a [`HeadReader`] enforces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Most bytes of the head, up to and including the blank line.
    pub max_head: usize,
    /// Longest first line (request line), CRLF excluded; `None` for no separate bound.
    pub max_first_line: Option<usize>,
    /// Most header field lines after the first line.
    pub max_fields: usize,
}

/// A bound the head broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// The first line is longer than `max_first_line`.
    FirstLine,
    /// No blank line within `max_head` bytes.
    Head,
    /// More than `max_fields` header lines.
    Fields,
}

/// A complete head and what followed it.
#[derive(Debug)]
pub(crate) struct Head {
    /// The head, up to and including the blank line.
    pub bytes: Vec<u8>,
    /// How many header field lines it has (the size httparse's header array needs).
    pub fields: usize,
    /// The bytes that followed the blank line in the same or earlier reads.
    pub trailing: Bytes,
}

/// Accumulates a head across reads. See the module docs.
#[derive(Debug)]
pub(crate) struct HeadReader {
    limits: Limits,
    buf: Vec<u8>,
    /// `buf[..scanned]` has been examined; scanning resumes here.
    scanned: usize,
    /// Where the line being scanned starts, once the head's first non-empty line has begun.
    line_start: Option<usize>,
    /// Whether the first line has ended.
    first_line_done: bool,
    /// Header field lines seen so far.
    fields: usize,
    /// How many times a buffered byte was examined (tests check it equals the bytes received).
    #[cfg(test)]
    pub visits: usize,
}

impl HeadReader {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            buf: Vec::new(),
            scanned: 0,
            line_start: None,
            first_line_done: false,
            fields: 0,
            #[cfg(test)]
            visits: 0,
        }
    }

    /// Takes the next bytes received. `Ok(None)`: the head is not complete yet.
    ///
    /// Never buffers more than `max_head` bytes: the rest of a large read is either trailing
    /// data (copied once into [`Head::trailing`]) or, if the head has not ended by then, an
    /// [`Overflow::Head`].
    pub(crate) fn receive(&mut self, bytes: &[u8]) -> Result<Option<Head>, Overflow> {
        let room = self.limits.max_head.saturating_sub(self.buf.len());
        let take = bytes.len().min(room);
        self.buf.extend_from_slice(&bytes[..take]);
        if let Some(end) = self.scan()? {
            let mut head = std::mem::take(&mut self.buf);
            let mut trailing = head.split_off(end);
            trailing.extend_from_slice(&bytes[take..]);
            return Ok(Some(Head { bytes: head, fields: self.fields, trailing: trailing.into() }));
        }
        // The first line is checked before the head's size, so that a request line longer than
        // both limits gets 414 whether it arrives in one read or byte by byte.
        self.check_partial_first_line()?;
        if self.buf.len() >= self.limits.max_head {
            // RFC 7230 §3.2.5: a server that receives a head larger than it wishes to process
            // MUST respond with an appropriate 4xx (431, RFC 6585 §5).
            return Err(Overflow::Head);
        }
        Ok(None)
    }

    /// Examines the bytes not yet scanned, each once. Returns the end of the head (one past
    /// the blank line's LF) if it is in the buffer.
    fn scan(&mut self) -> Result<Option<usize>, Overflow> {
        let len = self.buf.len();
        for i in self.scanned..len {
            #[cfg(test)]
            {
                self.visits += 1;
            }
            let byte = self.buf[i];
            let Some(start) = self.line_start else {
                // RFC 7230 §3.5: a server SHOULD ignore at least one empty line received
                // before the request line (httparse skips them as well).
                if byte != b'\r' && byte != b'\n' {
                    self.line_start = Some(i);
                }
                continue;
            };
            if byte != b'\n' {
                continue;
            }
            // RFC 7230 §3.5: a recipient MAY recognize a single LF as a line terminator.
            let content_end = if i > start && self.buf[i - 1] == b'\r' { i - 1 } else { i };
            let line_len = content_end - start;
            if line_len == 0 {
                self.scanned = i + 1;
                return Ok(Some(i + 1));
            }
            if self.first_line_done {
                self.fields += 1;
                if self.fields > self.limits.max_fields {
                    return Err(Overflow::Fields);
                }
            } else {
                self.first_line_done = true;
                if self.limits.max_first_line.is_some_and(|max| line_len > max) {
                    return Err(Overflow::FirstLine);
                }
            }
            self.line_start = Some(i + 1);
        }
        self.scanned = len;
        Ok(None)
    }

    /// Fails as soon as the unfinished first line is already longer than allowed, before its
    /// CRLF (or the blank line) arrives.
    fn check_partial_first_line(&self) -> Result<(), Overflow> {
        let (Some(max), Some(start), false) =
            (self.limits.max_first_line, self.line_start, self.first_line_done)
        else {
            return Ok(());
        };
        let mut pending = self.buf.len() - start;
        if self.buf.last() == Some(&b'\r') {
            pending -= 1; // it may be the CR of the line's CRLF
        }
        if pending > max { Err(Overflow::FirstLine) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_head: 1024, max_first_line: Some(64), max_fields: 8 };

    fn whole(input: &[u8], limits: Limits) -> Result<Option<Head>, Overflow> {
        HeadReader::new(limits).receive(input)
    }

    fn bytewise(input: &[u8], limits: Limits) -> (Result<Option<Head>, Overflow>, usize) {
        let mut reader = HeadReader::new(limits);
        for (i, byte) in input.iter().enumerate() {
            match reader.receive(std::slice::from_ref(byte)) {
                Ok(None) => {}
                other => return (other, i + 1),
            }
        }
        (Ok(None), input.len())
    }

    #[test]
    fn head_ends_at_the_blank_line_and_the_rest_is_trailing() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n\x81\x00";
        let head = whole(input, LIMITS).unwrap().unwrap();
        assert_eq!(head.bytes, &input[..input.len() - 2]);
        assert_eq!(head.fields, 2);
        assert_eq!(&head.trailing[..], b"\x81\x00");
    }

    #[test]
    fn head_fed_one_byte_at_a_time_completes_at_the_last_byte_of_the_blank_line() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let (result, consumed) = bytewise(input, LIMITS);
        let head = result.unwrap().unwrap();
        assert_eq!(consumed, input.len());
        assert_eq!(head.bytes, input);
        assert!(head.trailing.is_empty());
    }

    #[test]
    fn bare_lf_line_endings_are_recognized() {
        // RFC 7230 §3.5
        let head = whole(b"GET / HTTP/1.1\nHost: a\n\nrest", LIMITS).unwrap().unwrap();
        assert_eq!(head.fields, 1);
        assert_eq!(&head.trailing[..], b"rest");
    }

    #[test]
    fn leading_empty_lines_do_not_end_the_head() {
        // RFC 7230 §3.5: ignore empty lines before the request line.
        let input = b"\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        let head = whole(input, LIMITS).unwrap().unwrap();
        assert_eq!(head.bytes, input);
        assert_eq!(head.fields, 0);
    }

    #[test]
    fn head_without_blank_line_within_the_limit_overflows() {
        let limits = Limits { max_head: 40, max_first_line: None, max_fields: 100 };
        let input = b"GET / HTTP/1.1\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(whole(input, limits).unwrap_err(), Overflow::Head);
        let (result, consumed) = bytewise(input, limits);
        assert_eq!((result.unwrap_err(), consumed), (Overflow::Head, 40));
    }

    #[test]
    fn head_of_exactly_the_limit_is_accepted() {
        let input = b"GET / HTTP/1.1\r\n\r\n";
        let limits = Limits { max_head: input.len(), ..LIMITS };
        assert!(whole(input, limits).unwrap().is_some());
        assert!(bytewise(input, limits).0.unwrap().is_some());
        let limits = Limits { max_head: input.len() - 1, ..LIMITS };
        assert_eq!(whole(input, limits).unwrap_err(), Overflow::Head);
    }

    #[test]
    fn first_line_over_the_limit_fails_before_its_line_end_arrives() {
        let limits = Limits { max_head: 1 << 20, max_first_line: Some(10), max_fields: 8 };
        let (result, consumed) = bytewise(b"GET /aaaaaaaaaaaaaaaaaaaaaaaa", limits);
        assert_eq!((result.unwrap_err(), consumed), (Overflow::FirstLine, 11));
    }

    #[test]
    fn first_line_of_exactly_the_limit_is_accepted_even_with_its_cr_pending() {
        let limits = Limits { max_head: 1024, max_first_line: Some(14), max_fields: 8 };
        let (result, _) = bytewise(b"GET / HTTP/1.1\r\n\r\n", limits);
        assert!(result.unwrap().is_some());
        let limits = Limits { max_first_line: Some(13), ..limits };
        assert_eq!(bytewise(b"GET / HTTP/1.1\r\n\r\n", limits).0.unwrap_err(), Overflow::FirstLine);
        assert_eq!(whole(b"GET / HTTP/1.1\r\n\r\n", limits).unwrap_err(), Overflow::FirstLine);
    }

    #[test]
    fn more_field_lines_than_allowed_fail_before_the_blank_line() {
        let mut input = b"GET / HTTP/1.1\r\n".to_vec();
        for _ in 0..9 {
            input.extend_from_slice(b"a: b\r\n");
        }
        assert_eq!(whole(&input, LIMITS).unwrap_err(), Overflow::Fields);
    }

    #[test]
    fn every_byte_is_examined_once_however_the_input_is_split() {
        let limits = Limits { max_head: 1 << 20, max_first_line: None, max_fields: 100 };
        let mut reader = HeadReader::new(limits);
        let line = vec![b'x'; 20_000];
        for byte in &line {
            assert!(reader.receive(std::slice::from_ref(byte)).unwrap().is_none());
        }
        assert_eq!(reader.visits, line.len());
    }

    #[test]
    fn a_never_ending_line_fed_bytewise_up_to_a_one_mebibyte_limit_runs_in_linear_time() {
        let limits = Limits { max_head: 1 << 20, max_first_line: None, max_fields: 100 };
        let mut reader = HeadReader::new(limits);
        let started = std::time::Instant::now();
        let mut fed = 0;
        let err = loop {
            fed += 1;
            match reader.receive(b"a") {
                Ok(None) => {}
                Ok(Some(_)) => panic!("no blank line was sent"),
                Err(err) => break err,
            }
        };
        assert_eq!((err, fed), (Overflow::Head, 1 << 20));
        assert_eq!(reader.visits, 1 << 20);
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
    }

    #[test]
    fn a_large_read_is_buffered_only_up_to_the_limit() {
        let limits = Limits { max_head: 64, max_first_line: None, max_fields: 100 };
        let mut reader = HeadReader::new(limits);
        assert_eq!(reader.receive(&[b'a'; 1 << 20]).unwrap_err(), Overflow::Head);
        assert_eq!(reader.buf.len(), 64);
        assert_eq!(reader.visits, 64);
    }

    #[test]
    fn a_large_read_after_the_head_is_all_trailing() {
        let mut input = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
        let head_len = input.len();
        input.extend(std::iter::repeat_n(7u8, 10_000));
        let limits = Limits { max_head: 100, max_first_line: None, max_fields: 100 };
        let head = whole(&input, limits).unwrap().unwrap();
        assert_eq!(head.bytes.len(), head_len);
        assert_eq!(head.trailing.len(), 10_000);
    }

    #[test]
    fn empty_input_is_not_an_error() {
        assert!(whole(b"", LIMITS).unwrap().is_none());
    }
}
