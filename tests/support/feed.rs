//! Feeding a [`Connection`] the way a hostile peer's bytes arrive (in one read, one byte at a
//! time, or in reads of a fixed size), without allocating anything in the test itself, so that
//! heap measurements see only the connection.

use std::time::Instant;

use wsproto::{CloseCause, Connection, Error, Event};

/// How input is cut into the reads handed to `receive`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// One call with everything.
    Whole,
    /// One call per byte.
    ByteByByte,
    /// Reads of this many bytes, as an adapter's read buffer cuts them.
    Reads(usize),
}

/// The two feeding modes every test here runs under.
pub const FEEDS: [Feed; 2] = [Feed::Whole, Feed::ByteByByte];

impl Feed {
    pub fn read_size(self, total: usize) -> usize {
        match self {
            Self::Whole => total.max(1),
            Self::ByteByByte => 1,
            Self::Reads(n) => n,
        }
    }
}

/// The first failure of a connection being fed: the offset just past the read after which it
/// took effect, and the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failed {
    pub at: usize,
    pub error: Error,
}

/// Feeds `bytes` in reads cut by `feed`, popping (and dropping) every event after each read as
/// the drain contract asks, and allocating nothing itself, so that heap measurements see only
/// the connection. `outgoing` is never drained: our writes are blocked. Stops at the first
/// failure; `check` runs after every read.
pub fn feed_quietly(
    conn: &mut Connection,
    now: Instant,
    bytes: &[u8],
    feed: Feed,
    mut check: impl FnMut(&mut Connection),
) -> Option<Failed> {
    let mut at = 0;
    for chunk in bytes.chunks(feed.read_size(bytes.len())) {
        at += chunk.len();
        let result = conn.receive(now, chunk);
        let mut failed = result.err();
        while let Some(event) = conn.poll_event() {
            if let Event::Closed(outcome) = &event
                && let CloseCause::Failed(error) = outcome.cause
            {
                failed = Some(error);
            }
        }
        check(conn);
        if let Some(error) = failed {
            return Some(Failed { at, error });
        }
    }
    None
}

/// Like [`feed_quietly`] for a stream produced frame by frame, so an "endless" peer needs no
/// memory of its own: frames are made until the connection fails or `cap` bytes were sent.
pub fn feed_endless(
    conn: &mut Connection,
    now: Instant,
    mut frames: impl FnMut(usize) -> Vec<u8>,
    feed: Feed,
    cap: usize,
) -> Option<Failed> {
    let mut sent = 0;
    let mut read = Vec::new();
    for i in 0.. {
        if sent >= cap {
            return None;
        }
        let frame = frames(i);
        match feed {
            Feed::Whole => unreachable!("an endless stream has no whole"),
            Feed::ByteByByte => {
                if let Some(failed) = feed_quietly(conn, now, &frame, Feed::ByteByByte, |_| {}) {
                    return Some(Failed { at: sent + failed.at, ..failed });
                }
                sent += frame.len();
            }
            Feed::Reads(n) => {
                read.extend_from_slice(&frame);
                while read.len() >= n {
                    let rest = read.split_off(n);
                    if let Some(failed) = feed_quietly(conn, now, &read, Feed::Whole, |_| {}) {
                        return Some(Failed { at: sent + failed.at, ..failed });
                    }
                    sent += n;
                    read = rest;
                }
            }
        }
    }
    unreachable!()
}
