//! `frame_decode_server`, `frame_decode_client`: arbitrary bytes from the peer, in arbitrary
//! reads, into a connection after the handshake.
//!
//! Input: a flags byte (bit 0: fragment delivery; bit 1: auto-pong off; bit 2: at most 4
//! fragments per message), the read sizes ([`Splits::read`]), then the byte stream.
//!
//! Checks, after every read and following the drain contract (pop events, then write
//! `outgoing`): no panic; `buffered()` at most `max_frame_size + max_message_size + 14` plus
//! the read; events as [`EventLog`] wants them; what the connection writes is well-formed for
//! its role ([`WireCheck`]); a failure (`Err` from `receive`, or a `Closed` event with a
//! `Failed` cause popped after the events before it) has code 1002, 1007 or 1009 and the last
//! frame written is the close frame with that code; afterwards the error is sticky and nothing
//! more is reported or written. Then the same stream fed in one read must give the same events,
//! failure and frames written: decoding does not depend on how the input was cut.

use std::time::Instant;

use bytes::Buf;
use wsproto::{CloseCause, Config, Connection, Delivery, Error, RngSource, Role, State};

use super::events::{EventLog, Seen};
use super::input::{Input, Splits};
use super::wire::WireCheck;

const LIMIT: usize = 64 << 10;

pub fn frame_decode_server(data: &[u8]) {
    frame_decode(Role::Server, data);
}

pub fn frame_decode_client(data: &[u8]) {
    frame_decode(Role::Client, data);
}

fn frame_decode(role: Role, data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let splits = Splits::read(&mut input);
    let stream = input.rest();
    let config = Config::default()
        .max_frame_size(LIMIT)
        .max_message_size(LIMIT)
        .max_fragments(if flags & 4 == 0 { 1024 } else { 4 })
        .delivery(if flags & 1 == 0 { Delivery::Messages } else { Delivery::Fragments })
        .auto_pong(flags & 2 == 0)
        .rng(RngSource::Seeded(0xF022));

    let split = run(role, &config, stream, splits);
    let whole = run(role, &config, stream, Splits::whole());
    super::trace(&(&split.seen, split.error));
    // What was delivered of a message before a failure depends on the reads in fragment
    // delivery (a bad byte fails its whole read); everything else must not.
    let comparable = |run: &Run| -> Vec<Seen> {
        let failed = run.error.is_some();
        run.seen.iter().filter(|s| !(failed && matches!(s, Seen::Unfinished(..)))).cloned().collect()
    };
    assert_eq!(comparable(&split), comparable(&whole), "events depend on the reads");
    assert_eq!(split.error, whole.error, "the failure depends on the reads");
    // Unless pongs were coalesced in the single read (over the high-water mark), the frames
    // written are the same too.
    if whole.wire.bytes < config.outgoing_high_water {
        let frames =
            |w: &WireCheck| w.frames.iter().map(|f| (f.opcode, f.payload.clone())).collect::<Vec<_>>();
        assert_eq!(frames(&split.wire), frames(&whole.wire), "frames written depend on the reads");
    }
}

struct Run {
    seen: Vec<Seen>,
    error: Option<Error>,
    wire: WireCheck,
}

fn run(role: Role, config: &Config, stream: &[u8], mut splits: Splits) -> Run {
    let now = Instant::now();
    let mut conn = Connection::new(role, config.clone(), now);
    let mut log = EventLog::new(config);
    let mut wire = WireCheck::new(role);
    let bound = config.max_frame_size + config.max_message_size + 14;
    for read in splits.cut(stream) {
        let done = log.closed.is_some();
        let result = conn.receive(now, read);
        let buffered = conn.buffered();
        assert!(buffered <= bound + read.len(), "{buffered} bytes buffered after a {} byte read", read.len());
        let events_before = log.seen.len();
        while let Some(event) = conn.poll_event() {
            log.push(event);
        }
        let written = drain(&mut conn);
        wire.push(&written);
        assert_eq!(wire.partial(), 0, "a partial frame written");
        if done {
            // After the end, input changes nothing: the error is sticky, a clean end ignores it.
            assert_eq!(result, log.failure().map_or(Ok(()), Err), "after {:?}", log.closed);
            assert!(written.is_empty() && log.seen.len() == events_before, "activity after the end");
            continue;
        }
        if let Err(error) = result {
            assert_eq!(log.failure(), Some(error), "`receive` failed without a `Closed` event");
        }
        match &log.closed {
            None => assert_ne!(conn.state(), State::Closed),
            Some(outcome) => {
                assert_eq!(conn.state(), State::Closed);
                // RFC 6455 §7.1.1: the server closes TCP first; a failing endpoint closes at once.
                let clean = outcome.cause == CloseCause::Handshake;
                assert_eq!(conn.wants_shutdown(), !clean || role == Role::Server, "{outcome:?}");
                let close = wire.close.as_ref().expect("no close frame written at the end");
                let sent = close.close_code().unwrap_or(1005);
                match outcome.cause {
                    // Our close frame carries the failure's code.
                    CloseCause::Failed(error) => assert_eq!(sent, error.close_code().as_u16()),
                    // We echoed the peer's code (RFC 6455 §5.5.1).
                    CloseCause::Handshake => assert_eq!(sent, outcome.code.as_u16()),
                    ref other => panic!("closed by {other:?} with no timer or end of stream"),
                }
            }
        }
    }
    Run { error: log.failure(), seen: log.finish(), wire }
}

/// Everything queued, written through `Buf` as a socket would.
pub fn drain(conn: &mut Connection) -> Vec<u8> {
    drain_at_most(conn, usize::MAX)
}

/// At most `max` queued bytes, written through `Buf` as a socket would.
pub fn drain_at_most(conn: &mut Connection, max: usize) -> Vec<u8> {
    let out = conn.outgoing();
    let mut written = Vec::new();
    while out.has_remaining() && written.len() < max {
        let chunk = out.chunk();
        assert!(!chunk.is_empty(), "`Outgoing` has bytes left but an empty chunk");
        let n = chunk.len().min(max - written.len());
        written.extend_from_slice(&chunk[..n]);
        out.advance(n);
    }
    assert_eq!(out.remaining(), out.len());
    written
}
