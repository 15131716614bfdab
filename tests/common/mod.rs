//! Test support for the sans-IO core: an in-memory client–server [`Pair`] on a virtual clock,
//! three ways of cutting input into reads ([`Split`]), and a frame builder ([`RawFrame`]) and
//! parser ([`parse_frames`]) written independently of the crate's own codec, so that tests can
//! send malformed input and check the exact bytes a connection queued.
//!
//! Every test file uses a different subset of these helpers.
#![allow(dead_code)]

mod pair;
mod wire;

use std::time::Instant;

use bytes::Buf;
#[allow(unused_imports)] // Not every test file uses the pair.
pub use pair::*;
#[allow(unused_imports)]
pub use wire::*;
use wsproto::{
    CloseCause, CloseOutcome, Config, Connection, DataKind, Error, Event, Message, RngSource, Role, State,
};

// ------------------------------------------------------------------------ feeding modes

/// How a byte stream is cut into the reads handed to [`Connection::receive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// One call with everything.
    Whole,
    /// One call per byte.
    ByteByByte,
    /// Reads of random sizes (from 1 byte to a few KiB), reproducible from the seed.
    RandomSplits(u64),
}

/// The feeding modes every input-driven test runs under.
pub const SPLITS: [Split; 4] =
    [Split::Whole, Split::ByteByByte, Split::RandomSplits(1), Split::RandomSplits(0x5EED)];

/// Runs `test` once per feeding mode; the mode is printed first so a failure names it.
pub fn for_each_split(mut test: impl FnMut(Split)) {
    for split in SPLITS {
        eprintln!("--- feeding {split:?}");
        test(split);
    }
}

/// SplitMix64, the same small generator the crate uses for seeded entropy.
#[derive(Clone, Debug)]
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Cuts byte streams into reads according to a [`Split`]; keeps its random state across calls.
#[derive(Clone, Debug)]
pub struct Chunker {
    split: Split,
    rng: TestRng,
}

impl Chunker {
    pub fn new(split: Split) -> Self {
        let seed = match split {
            Split::RandomSplits(seed) => seed,
            _ => 0,
        };
        Self { split, rng: TestRng::new(seed) }
    }

    /// The reads `bytes` arrives in (none for an empty stream).
    pub fn cut<'a>(&mut self, bytes: &'a [u8]) -> Vec<&'a [u8]> {
        match self.split {
            Split::Whole if bytes.is_empty() => Vec::new(),
            Split::Whole => vec![bytes],
            Split::ByteByByte => bytes.chunks(1).collect(),
            Split::RandomSplits(_) => {
                let mut out = Vec::new();
                let mut rest = bytes;
                while !rest.is_empty() {
                    // Sizes spread over 1 B .. 4 KiB, most of them small.
                    let max = 1usize << self.rng.below(13);
                    let n = (1 + self.rng.below(max)).min(rest.len());
                    let (head, tail) = rest.split_at(n);
                    out.push(head);
                    rest = tail;
                }
                out
            }
        }
    }
}

/// A connection failed while being fed: the error, the offset just past the read after which
/// it took effect, and the events popped before its `Closed` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub at: usize,
    pub error: Error,
    pub events: Vec<Event>,
}

/// The error of the `Closed` event with a `Failed` cause among `events`, if there is one.
pub fn failure_in(events: &[Event]) -> Option<Error> {
    events.iter().find_map(|e| match e {
        Event::Closed(CloseOutcome { cause: CloseCause::Failed(error), .. }) => Some(*error),
        _ => None,
    })
}

/// Feeds `bytes` to `conn` in the reads `split` makes, following the drain contract: after
/// each read, every event is popped. Returns the events, or stops at the read after which the
/// connection failed, whether `receive` returned the error or a `Closed` event with a
/// `Failed` cause was popped (a failure waits behind the events of earlier frames).
pub fn feed(conn: &mut Connection, now: Instant, bytes: &[u8], split: Split) -> Result<Vec<Event>, Failure> {
    let mut got = Vec::new();
    let mut at = 0;
    for chunk in Chunker::new(split).cut(bytes) {
        at += chunk.len();
        let result = conn.receive(now, chunk);
        got.extend(events(conn));
        match (result, failure_in(&got)) {
            (Err(error), _) | (Ok(()), Some(error)) => return Err(Failure { at, error, events: got }),
            (Ok(()), None) => {}
        }
    }
    Ok(got)
}

// ------------------------------------------------------------------------ connections

/// A deterministic client configuration (seeded masking keys).
pub fn client_config() -> Config {
    Config::default().rng(RngSource::Seeded(0xC11E))
}

/// A server configuration (servers draw no entropy; seeded anyway for symmetry).
pub fn server_config() -> Config {
    Config::default().rng(RngSource::Seeded(0x5E4E))
}

pub fn client(now: Instant) -> Connection {
    Connection::new(Role::Client, client_config(), now)
}

pub fn server(now: Instant) -> Connection {
    Connection::new(Role::Server, server_config(), now)
}

/// Writes everything `conn` queued, through `Buf::chunk` and `Buf::advance` as a socket would.
pub fn drain(conn: &mut Connection) -> Vec<u8> {
    let out = conn.outgoing();
    let mut wire = Vec::with_capacity(out.remaining());
    while out.has_remaining() {
        let chunk = out.chunk();
        assert!(!chunk.is_empty(), "Outgoing has bytes left but an empty chunk");
        wire.extend_from_slice(chunk);
        let n = chunk.len();
        out.advance(n);
    }
    assert!(out.is_empty() && out.remaining() == 0);
    wire
}

/// Pops every event.
pub fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// The frames `conn` queued, drained and parsed.
pub fn queued_frames(conn: &mut Connection) -> Vec<WireFrame> {
    parse_frames(&drain(conn))
}

/// The code and reason of the close frame `conn` queued (drains it); `None` if there is none.
/// Panics if anything was queued after the close frame.
pub fn queued_close(conn: &mut Connection) -> Option<(u16, String)> {
    let frames = queued_frames(conn);
    let at = frames.iter().position(|f| f.opcode == op::CLOSE)?;
    assert_eq!(at + 1, frames.len(), "frames queued after the close frame: {frames:?}");
    let close = &frames[at];
    Some((close.close_code().unwrap_or(1005), close.close_reason().to_owned()))
}

/// The one [`Event::Closed`] in `events`, which must also be the last event.
pub fn the_close(events: &[Event]) -> CloseOutcome {
    let closes: Vec<&CloseOutcome> = events
        .iter()
        .filter_map(|e| match e {
            Event::Closed(outcome) => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(closes.len(), 1, "expected exactly one Closed event in {events:?}");
    assert!(matches!(events.last(), Some(Event::Closed(_))), "an event follows Closed: {events:?}");
    closes[0].clone()
}

/// How many [`Event::Closed`] are in `events`.
pub fn count_closes(events: &[Event]) -> usize {
    events.iter().filter(|e| matches!(e, Event::Closed(_))).count()
}

/// The whole messages in `events`.
pub fn messages(events: &[Event]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// Joins [`Event::Fragment`] pieces into messages, checking that pieces of one message agree
/// on kind, that `first` and `fin` bracket each message, and that every text piece is UTF-8 on
/// its own. A message still open at the end is left out.
pub fn assemble(events: &[Event]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut current: Option<(DataKind, Vec<u8>)> = None;
    for event in events {
        let Event::Fragment(piece) = event else { continue };
        assert_eq!(piece.first, current.is_none(), "first flag wrong on {piece:?}");
        if piece.kind == DataKind::Text {
            assert!(
                std::str::from_utf8(&piece.data).is_ok(),
                "text piece is not UTF-8 on its own: {piece:?}"
            );
            assert!(piece.text().is_some());
        }
        let (kind, data) = current.get_or_insert_with(|| (piece.kind, Vec::new()));
        assert_eq!(*kind, piece.kind, "kind changed inside a message");
        data.extend_from_slice(&piece.data);
        if piece.fin {
            let (kind, data) = current.take().unwrap();
            out.push(message(kind, data));
        }
    }
    out
}

pub fn message(kind: DataKind, data: Vec<u8>) -> Message {
    match kind {
        DataKind::Text => Message::Text(String::from_utf8(data).expect("text is UTF-8").into()),
        DataKind::Binary => Message::Binary(data.into()),
    }
}

pub fn text(s: &str) -> Message {
    Message::Text(s.to_owned().into())
}

pub fn binary(data: &[u8]) -> Message {
    Message::Binary(data.to_vec().into())
}

/// Feeds `bytes`, expects the connection to fail with `expected`, and checks the whole failure
/// contract: one `Closed` event with cause `Failed(expected)` ends the events, the close frame
/// with the error's code is the last thing queued, the state is `Closed`, the write half
/// should be shut, and the error is sticky. Returns the events before the close and the offset
/// of the read after which the failure took effect.
pub fn expect_failure(
    conn: &mut Connection,
    now: Instant,
    bytes: &[u8],
    split: Split,
    expected: Error,
) -> (Vec<Event>, usize) {
    let Failure { at, error, mut events } =
        feed(conn, now, bytes, split).expect_err("the connection should fail");
    assert_eq!(error, expected);
    let code = expected.close_code().as_u16();
    let (sent, reason) = queued_close(conn).expect("a close frame is queued on failure");
    assert_eq!(sent, code, "close code on the wire");
    assert_eq!(reason, expected.reason());
    let outcome = the_close(&events);
    assert_eq!(outcome.cause, CloseCause::Failed(expected));
    assert_eq!(outcome.code.as_u16(), code);
    assert!(!outcome.is_clean());
    assert_eq!(conn.state(), State::Closed);
    assert!(conn.wants_shutdown());
    // Sticky: later input gets the same error, and nothing more is queued or reported.
    assert_eq!(conn.receive(now, b"\x81\x80\0\0\0\0"), Err(expected));
    assert_eq!(conn.receive(now, b""), Err(expected));
    assert!(conn.outgoing().is_empty());
    assert!(conn.poll_event().is_none());
    events.pop();
    (events, at)
}
