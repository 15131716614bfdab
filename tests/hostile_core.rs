//! A hostile peer against the sans-IO core, one section per class of past WebSocket advisory:
//! each test shows the attack ends in a bounded number of bytes, a bounded amount of memory and
//! the right close code, whether the input arrives in one read or one byte at a time.
//!
//! - allocation by a declared frame length (rust-websocket CVE-2022-35922) and 64-bit length
//!   overflow (Tomcat CVE-2020-13935): the header alone decides, nothing is allocated for it;
//! - frame-level violations that must fail before any size check (1002);
//! - endless continuation frames (Netty CVE-2014-0193) and endless tiny or empty fragments;
//! - a ping flood while our writes are blocked, and a sender that ignores backpressure
//!   (ws-rs CVE-2020-35896, writes buffered without bound);
//! - bad close frames, and close handshakes that never finish (Tomcat CVE-2024-23672);
//! - the stream ending in the middle of a message.
//!
//! Heap figures come from the counting allocator of `support::heap`, counting what the test's
//! own thread allocates (the core is single-threaded), so other tests cannot disturb them; the
//! tests that read it run alone (`alone()`) all the same, every other test takes `shared()`.

mod common;
mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use support::feed::*;
use support::heap::*;
use wsproto::{
    CloseCause, CloseCode, Config, Connection, DataKind, Delivery, Error, Event, Initiator, Message, Role,
    SendError, State,
};

/// Counts the heap, for the bounds on memory (see `support::heap`).
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// After a failure: the close frame with the error's code is the last thing queued, and
/// nothing of the peer's input is held any more.
fn assert_failed_cleanly(conn: &mut Connection, error: Error) {
    assert_eq!(conn.state(), State::Closed);
    assert!(conn.wants_shutdown());
    assert_eq!(conn.buffered(), 0, "input is dropped once the connection failed");
    let (code, reason) = queued_close(conn).expect("a close frame is queued");
    assert_eq!((code, reason.as_str()), (error.close_code().as_u16(), error.reason()));
}

fn server_with(config: Config, now: Instant) -> Connection {
    Connection::new(Role::Server, config.rng(wsproto::RngSource::Seeded(1)), now)
}

fn client_with(config: Config, now: Instant) -> Connection {
    Connection::new(Role::Client, config.rng(wsproto::RngSource::Seeded(2)), now)
}

/// A frame as `to` receives it: masked for a server, unmasked for a client.
fn frame_for(to: Role, frame: &RawFrame) -> Vec<u8> {
    match to {
        Role::Server => frame.client(),
        Role::Client => frame.server(),
    }
}

fn conn_for(role: Role, config: Config, now: Instant) -> Connection {
    match role {
        Role::Server => server_with(config, now),
        Role::Client => client_with(config, now),
    }
}

/// A heap budget for work that must not allocate anything in proportion to its input: the
/// close frame, the `Closed` event and a few small buffers.
const SMALL_HEAP: usize = 8 << 10;

/// What failing on a frame header may allocate: the header bytes, our close frame and the
/// `Closed` event (about 250 bytes measured), whatever length the header declares.
const HEADER_ONLY_HEAP: usize = 1 << 10;

// ------------------------------------------------------------------ CVE-2022-35922, CVE-2020-13935

#[test]
fn a_64_bit_length_with_the_most_significant_bit_set_fails_with_1002_without_allocating() {
    let _alone = alone();
    let mut most = 0;
    for role in [Role::Server, Role::Client] {
        for declared in [1u64 << 63, u64::MAX, (1 << 63) | 5] {
            for feed in FEEDS {
                let now = Instant::now();
                let mut conn = conn_for(role, Config::default(), now);
                let header = frame_for(role, &RawFrame::binary("").declared_len(declared));
                let probe = HeapProbe::this_thread();
                let failed = feed_quietly(&mut conn, now, &header, feed, |_| {});
                let peak = probe.peak_growth();
                // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0. The
                // length is complete at its 10th byte; the mask key need not arrive.
                let at = if feed == Feed::Whole { header.len() } else { 10 };
                assert_eq!(failed, Some(Failed { at, error: Error::InvalidLength }), "{role:?} {feed:?}");
                assert!(
                    peak <= HEADER_ONLY_HEAP,
                    "{role:?} {feed:?} {declared:#x}: heap grew by {}",
                    kib(peak)
                );
                assert_failed_cleanly(&mut conn, Error::InvalidLength);
                most = most.max(peak);
            }
        }
    }
    eprintln!("64-bit length with its top bit set: 1002, peak heap at most +{most} bytes");
}

#[test]
fn a_frame_declaring_one_byte_over_the_limit_or_2_to_the_62_fails_with_1009_on_its_header_alone() {
    let _alone = alone();
    let limit = Config::default().max_frame_size as u64;
    let mut most = 0;
    for role in [Role::Server, Role::Client] {
        for declared in [limit + 1, 1 << 62, (1 << 63) - 1] {
            for opcode in [op::TEXT, op::BINARY] {
                for feed in FEEDS {
                    let now = Instant::now();
                    let mut conn = conn_for(role, Config::default(), now);
                    let header = frame_for(role, &RawFrame::new(opcode, "").declared_len(declared));
                    let probe = HeapProbe::this_thread();
                    let failed = feed_quietly(&mut conn, now, &header, feed, |_| {});
                    let peak = probe.peak_growth();
                    // The whole header, mask key included, is read before the size is judged;
                    // not one payload byte is needed.
                    assert_eq!(failed, Some(Failed { at: header.len(), error: Error::FrameTooBig }));
                    assert!(
                        peak <= HEADER_ONLY_HEAP,
                        "{role:?} {feed:?} {declared}: heap grew by {}",
                        kib(peak)
                    );
                    assert_failed_cleanly(&mut conn, Error::FrameTooBig);
                    most = most.max(peak);
                }
            }
        }
    }
    eprintln!("frames declaring 1 MiB + 1 to 2^63 - 1 bytes: 1009, peak heap at most +{most} bytes");
}

#[test]
fn a_first_frame_over_the_message_limit_fails_with_1009_even_under_the_frame_limit() {
    let _shared = shared();
    for feed in FEEDS {
        let now = Instant::now();
        let config = Config::default().max_frame_size(1 << 30).max_message_size(1000);
        let mut server = server_with(config, now);
        let header = RawFrame::text("").fin(false).declared_len(1001).client();
        let failed = feed_quietly(&mut server, now, &header, feed, |_| {});
        assert_eq!(failed, Some(Failed { at: header.len(), error: Error::MessageTooBig }));
        assert_failed_cleanly(&mut server, Error::MessageTooBig);
    }
}

#[test]
fn in_fragment_delivery_a_2_to_the_62_byte_frame_is_streamed_with_memory_bounded_by_the_read() {
    let _alone = alone();
    let now = Instant::now();
    let mut server = server_with(Config::default().delivery(Delivery::Fragments), now);
    let header = RawFrame::binary("").declared_len(1 << 62).client();
    let read = vec![0x5A; 64 << 10];
    let probe = HeapProbe::this_thread();
    let mut received = 0;
    server.receive(now, &header).expect("no limit applies in fragment delivery");
    for _ in 0..64 {
        server.receive(now, &read).expect("payload bytes are fine");
        while let Some(event) = server.poll_event() {
            let Event::Fragment(piece) = event else { panic!("unexpected {event:?}") };
            assert!(!piece.fin);
            received += piece.data.len();
        }
        assert!(server.buffered() < 16, "pieces are handed out, not kept: {}", server.buffered());
    }
    let peak = probe.peak_growth();
    assert_eq!(received, 64 * read.len());
    assert!(peak <= 2 * read.len() + SMALL_HEAP, "4 MiB streamed with a peak of {}", kib(peak));
    eprintln!("fragment delivery: 4 MiB of a 2^62-byte frame, peak heap +{}", kib(peak));
}

// ------------------------------------------------------------------ 1002 before any size check

#[test]
fn reserved_opcodes_with_huge_lengths_fail_with_1002_not_1009() {
    let _shared = shared();
    let limit = Config::default().max_frame_size as u64;
    for opcode in (0x3..=0x7).chain(0xB..=0xF) {
        for declared in [limit + 1, 1 << 62] {
            for feed in FEEDS {
                let now = Instant::now();
                let mut server = server_with(Config::default(), now);
                let header = RawFrame::new(opcode, "").declared_len(declared).client();
                let failed = feed_quietly(&mut server, now, &header, feed, |_| {});
                // RFC 6455 §5.2: the opcode is judged on the first two bytes.
                let at = if feed == Feed::Whole { header.len() } else { 2 };
                assert_eq!(failed, Some(Failed { at, error: Error::ReservedOpcode(opcode) }));
                assert_failed_cleanly(&mut server, Error::ReservedOpcode(opcode));
            }
        }
    }
}

#[test]
fn rsv_bits_fail_with_1002_whatever_the_length() {
    let _shared = shared();
    for rsv in 1..8 {
        for declared in [5, 1 << 62] {
            for feed in FEEDS {
                let now = Instant::now();
                let mut server = server_with(Config::default(), now);
                let header = RawFrame::text("hello").rsv(rsv).declared_len(declared).client();
                let failed = feed_quietly(&mut server, now, &header, feed, |_| {});
                let at = if feed == Feed::Whole { header.len() } else { 2 };
                assert_eq!(failed, Some(Failed { at, error: Error::ReservedBits }), "rsv {rsv}");
                assert_failed_cleanly(&mut server, Error::ReservedBits);
            }
        }
    }
}

#[test]
fn an_unmasked_client_frame_and_a_masked_server_frame_fail_with_1002() {
    let _shared = shared();
    for feed in FEEDS {
        let now = Instant::now();
        let mut server = server_with(Config::default(), now);
        let unmasked = RawFrame::text("hello").server();
        let failed = feed_quietly(&mut server, now, &unmasked, feed, |_| {});
        let at = if feed == Feed::Whole { unmasked.len() } else { 2 };
        assert_eq!(failed, Some(Failed { at, error: Error::UnmaskedFrame }));
        assert_failed_cleanly(&mut server, Error::UnmaskedFrame);

        let mut client = client_with(Config::default(), now);
        let masked = RawFrame::text("hello").client();
        let failed = feed_quietly(&mut client, now, &masked, feed, |_| {});
        let at = if feed == Feed::Whole { masked.len() } else { 2 };
        assert_eq!(failed, Some(Failed { at, error: Error::MaskedFrame }));
        assert_failed_cleanly(&mut client, Error::MaskedFrame);
    }
}

#[test]
fn oversized_or_fragmented_control_frames_fail_with_1002() {
    let _shared = shared();
    let cases = [
        (RawFrame::ping(vec![0; 126]), Error::ControlFrameTooLong),
        (RawFrame::pong(vec![0; 126]), Error::ControlFrameTooLong),
        (RawFrame::close(1000, "").declared_len(70_000), Error::ControlFrameTooLong),
        (RawFrame::ping("").declared_len(1 << 62), Error::ControlFrameTooLong),
        (RawFrame::ping("x").fin(false), Error::FragmentedControlFrame),
        (RawFrame::close(1000, "").fin(false), Error::FragmentedControlFrame),
    ];
    for role in [Role::Server, Role::Client] {
        for (frame, error) in &cases {
            for feed in FEEDS {
                let now = Instant::now();
                let mut conn = conn_for(role, Config::default(), now);
                let bytes = frame_for(role, frame);
                let failed = feed_quietly(&mut conn, now, &bytes, feed, |_| {});
                // RFC 6455 §5.5: both rules are visible in the first two bytes.
                let at = if feed == Feed::Whole { bytes.len() } else { 2 };
                assert_eq!(failed, Some(Failed { at, error: *error }), "{role:?} {frame:?}");
                assert_failed_cleanly(&mut conn, *error);
            }
        }
    }
}

#[test]
fn a_continuation_without_a_start_and_a_data_frame_inside_a_message_fail_with_1002() {
    let _shared = shared();
    let cases = [
        (vec![RawFrame::cont("orphan")], Error::UnexpectedContinuation),
        (vec![RawFrame::cont("").declared_len(1 << 62)], Error::UnexpectedContinuation),
        (vec![RawFrame::text("a").fin(false), RawFrame::text("b")], Error::ExpectedContinuation),
        (
            vec![RawFrame::binary("a").fin(false), RawFrame::binary("").declared_len(1 << 62)],
            Error::ExpectedContinuation,
        ),
        (vec![RawFrame::text("done"), RawFrame::cont("late")], Error::UnexpectedContinuation),
    ];
    for (frames, error) in &cases {
        for split in [Split::Whole, Split::ByteByByte] {
            let now = Instant::now();
            let mut server = server_with(Config::default(), now);
            expect_failure(&mut server, now, &client_stream(frames), split, *error);
            assert_eq!(server.buffered(), 0);
        }
    }
}

// ------------------------------------------------------------------ CVE-2014-0193: endless fragments

/// Endless continuation frames of `piece` bytes after a text frame that starts a message.
fn endless_continuations(piece: usize) -> impl FnMut(usize) -> Vec<u8> {
    move |i| {
        let payload = "a".repeat(piece);
        let frame = if i == 0 { RawFrame::text(payload) } else { RawFrame::cont(payload) };
        frame.fin(false).client()
    }
}

#[test]
fn endless_continuation_frames_fail_with_1009_at_the_message_limit() {
    let _alone = alone();
    let config = Config::default();
    let limit = config.max_message_size;
    let piece = 4096;
    let frame_len = frame_len_on_wire(piece, true);
    // 256 frames of 4 KiB fill the 1 MiB message; the header of the 257th crosses it, before
    // the 1,024-fragment limit is near.
    let admitted_frames = limit / piece;
    let expected_at = admitted_frames * frame_len + (frame_len - piece);
    for feed in [Feed::ByteByByte, Feed::Reads(64 << 10), Feed::Whole] {
        let now = Instant::now();
        let mut server = server_with(config.clone(), now);
        let input: Vec<u8> = if feed == Feed::Whole {
            (0..2 * admitted_frames).flat_map(endless_continuations(piece)).collect()
        } else {
            Vec::new()
        };
        let probe = HeapProbe::this_thread();
        let failed = if feed == Feed::Whole {
            feed_quietly(&mut server, now, &input, feed, |_| {})
        } else {
            feed_endless(&mut server, now, endless_continuations(piece), feed, 64 << 20)
        };
        let peak = probe.peak_growth();
        let failed = failed.expect("the message limit ends an endless message");
        assert_eq!(failed.error, Error::MessageTooBig, "{feed:?}");
        match feed {
            Feed::ByteByByte => assert_eq!(failed.at, expected_at),
            Feed::Reads(n) => assert_eq!(failed.at, expected_at.div_ceil(n) * n),
            Feed::Whole => assert_eq!(failed.at, input.len()),
        }
        assert_failed_cleanly(&mut server, Error::MessageTooBig);
        // The message assembled so far (1 MiB, in a buffer that doubles) and one read.
        let read = if feed == Feed::Whole { input.len() } else { feed.read_size(0) };
        let budget = 2 * limit + 2 * read + SMALL_HEAP;
        assert!(peak <= budget, "{feed:?}: peak heap +{} over a {} budget", kib(peak), kib(budget));
        eprintln!(
            "endless continuations, {feed:?}: 1009 after {} bytes, peak heap +{}",
            failed.at,
            kib(peak)
        );
    }
}

fn frame_len_on_wire(payload: usize, masked: bool) -> usize {
    let extended = match payload {
        0..=125 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    };
    2 + extended + if masked { 4 } else { 0 } + payload
}

#[test]
fn two_hundred_thousand_one_byte_fragments_are_cut_off_at_the_fragment_limit() {
    let _alone = alone();
    let config = Config::default();
    let max = config.max_fragments;
    let frame =
        |i: usize| if i == 0 { RawFrame::binary("x") } else { RawFrame::cont("x") }.fin(false).client();
    let input: Vec<u8> = (0..200_000).flat_map(frame).collect();
    // The header of frame 1,025 is refused: 1,024 frames of 7 bytes, then its 6 header bytes.
    let expected_at = max * 7 + 6;
    for feed in [Feed::ByteByByte, Feed::Reads(4096), Feed::Whole] {
        let now = Instant::now();
        let mut server = server_with(config.clone(), now);
        let probe = HeapProbe::this_thread();
        let failed = feed_quietly(&mut server, now, &input, feed, |_| {}).expect("fails");
        let peak = probe.peak_growth();
        assert_eq!(failed.error, Error::TooManyFragments);
        match feed {
            Feed::Whole => assert_eq!(failed.at, input.len()),
            _ => assert_eq!(failed.at, expected_at.div_ceil(feed.read_size(0)) * feed.read_size(0)),
        }
        assert_failed_cleanly(&mut server, Error::TooManyFragments);
        // Memory follows the 1,024 payload bytes admitted, plus the copy of one read.
        let read = feed.read_size(input.len());
        let admitted = max;
        let budget = 8 * admitted + read + SMALL_HEAP;
        assert!(peak <= budget, "{feed:?}: peak heap +{} over a {} budget", kib(peak), kib(budget));
        eprintln!(
            "200,000 one-byte fragments, {feed:?}: 1009 at byte {}, peak heap +{}",
            failed.at,
            kib(peak)
        );
    }
}

#[test]
fn endless_empty_fragments_are_cut_off_at_the_fragment_limit() {
    let _alone = alone();
    let config = Config::default();
    let max = config.max_fragments;
    let empty = |i: usize| if i == 0 { RawFrame::text("") } else { RawFrame::cont("") }.fin(false).client();
    for feed in [Feed::ByteByByte, Feed::Reads(4096)] {
        let now = Instant::now();
        let mut server = server_with(config.clone(), now);
        let probe = HeapProbe::this_thread();
        let failed = feed_endless(&mut server, now, empty, feed, 64 << 20).expect("fails");
        let peak = probe.peak_growth();
        assert_eq!(failed.error, Error::TooManyFragments);
        let expected_at = max * 6 + 6;
        assert_eq!(failed.at, expected_at.div_ceil(feed.read_size(0)) * feed.read_size(0));
        assert_failed_cleanly(&mut server, Error::TooManyFragments);
        // Empty payloads share the receive buffer, so a read may leave one behind: a few
        // reads' worth, whatever the number of fragments.
        let budget = 4 * feed.read_size(0) + SMALL_HEAP;
        assert!(peak <= budget, "{feed:?}: peak heap +{}", kib(peak));
        eprintln!("endless empty fragments, {feed:?}: 1009 at byte {}, peak heap +{}", failed.at, kib(peak));
    }
}

#[test]
fn in_fragment_delivery_endless_empty_and_one_byte_fragments_hold_no_memory() {
    let _alone = alone();
    // Fragment delivery has no message or fragment limit by design (a stream has no end); what
    // must hold instead is that nothing accumulates.
    for piece in [0, 1] {
        let now = Instant::now();
        let mut server = server_with(Config::default().delivery(Delivery::Fragments), now);
        let frame = |i: usize| {
            let payload = vec![b'z'; piece];
            if i == 0 { RawFrame::binary(payload) } else { RawFrame::cont(payload) }.fin(false).client()
        };
        // Warm up buffers, then measure 200,000 more frames.
        assert_eq!(feed_endless(&mut server, now, frame, Feed::ByteByByte, 10_000), None);
        let probe = HeapProbe::this_thread();
        let more = |i: usize| frame(i + 1);
        assert_eq!(feed_endless(&mut server, now, more, Feed::ByteByByte, 200_000 * (6 + piece)), None);
        let peak = probe.peak_growth();
        assert!(peak <= SMALL_HEAP, "{piece}-byte fragments: peak heap +{}", kib(peak));
        assert!(server.buffered() < 16);
        assert_eq!(server.state(), State::Open);
    }
}

// ------------------------------------------------------------------ CVE-2020-35896: ping floods

/// Pings as a client sends them: empty, except every 1,000th, which carries 125 bytes and
/// its number.
fn ping_flood(count: usize) -> Vec<u8> {
    let empty = RawFrame::ping("").client();
    let mut out = Vec::with_capacity(count * 6 + count / 1000 * 135);
    for i in 0..count {
        if i % 1000 == 999 || i == count - 1 {
            let mut payload = vec![0xEE; 125];
            payload[..8].copy_from_slice(&(i as u64).to_be_bytes());
            out.extend(RawFrame::ping(payload).client());
        } else {
            out.extend_from_slice(&empty);
        }
    }
    out
}

/// The largest pong a server writes: 2 header bytes and 125 of payload.
const MAX_PONG: usize = 2 + 125;

#[test]
fn a_million_pings_while_our_writes_are_blocked_keep_outgoing_within_high_water_plus_one_pong() {
    let _alone = alone();
    let pings = 1_000_000;
    let input = ping_flood(pings);
    // In one read no event can be popped before the last ping: that is the next test's case,
    // and here it shows the outgoing bound holds all the same.
    for feed in FEEDS {
        let now = Instant::now();
        let mut server = server_with(Config::default(), now);
        let high_water = server.config().outgoing_high_water;
        let mut most = 0;
        let probe = HeapProbe::this_thread();
        let failed = feed_quietly(&mut server, now, &input, feed, |conn| {
            most = most.max(conn.outgoing().len());
        });
        let peak = probe.peak_growth();
        assert_eq!(failed, None);
        assert!(most <= high_water + MAX_PONG, "{feed:?}: outgoing reached {most}");
        // Every pong below the mark went out as it was; past it, the latest ping's pong
        // replaced the one waiting (RFC 6455 §5.5.3), so the queue ends with the last ping's.
        let frames = queued_frames(&mut server);
        assert!(frames.iter().all(|f| f.opcode == op::PONG));
        let last = frames.last().expect("pongs were queued");
        assert_eq!(&last.payload[..8], &(pings as u64 - 1).to_be_bytes());
        if feed != Feed::Whole {
            // Events were popped after every read: memory is the queue (in a buffer that
            // doubles as it grows) and one read.
            let budget = 3 * high_water + 2 * feed.read_size(0) + SMALL_HEAP;
            assert!(peak <= budget, "{feed:?}: peak heap +{} over {}", kib(peak), kib(budget));
        }
        eprintln!(
            "{pings} pings, {feed:?}: outgoing at most {most} bytes ({} pongs queued), peak heap +{}",
            frames.len(),
            kib(peak)
        );
    }
}

#[test]
fn a_million_pings_whose_events_are_never_popped_cost_a_constant_per_ping() {
    let _alone = alone();
    // The contract asks the caller to pop events after every `receive`; one that does not
    // keeps an `Event::Ping` per ping. That memory is bounded by what was passed in: a
    // constant per frame, never more than one receive call's input can hold.
    let pings = 1_000_000;
    let input = ping_flood(pings);
    let now = Instant::now();
    let mut server = server_with(Config::default(), now);
    let high_water = server.config().outgoing_high_water;
    let probe = HeapProbe::this_thread();
    for read in input.chunks(64 << 10) {
        server.receive(now, read).expect("pings are fine");
        assert!(server.outgoing().len() <= high_water + MAX_PONG);
    }
    let held = probe.growth();
    let peak = probe.peak_growth();
    let per_ping = peak / pings;
    assert!(per_ping <= 128, "{per_ping} bytes per unpopped ping (peak +{})", kib(peak));
    let mut popped = 0;
    while let Some(event) = server.poll_event() {
        assert!(matches!(event, Event::Ping(_)));
        popped += 1;
    }
    assert_eq!(popped, pings);
    let after = probe.growth();
    eprintln!(
        "{pings} pings never popped ({} of input): held +{}, peak +{} ({per_ping} B/ping); \
         after popping them all +{}",
        kib(input.len()),
        kib(held),
        kib(peak),
        kib(after)
    );
    // Once popped, the burst's memory is given back: what stays is the outgoing queue and
    // the receive buffer of one read.
    let budget = 2 * high_water + 2 * (64 << 10) + SMALL_HEAP;
    assert!(after <= budget, "the connection keeps +{} after its events were popped", kib(after));
}

#[test]
fn a_sans_io_sender_that_keeps_trying_never_queues_more_than_high_water_plus_one_message() {
    let _shared = shared();
    for role in [Role::Server, Role::Client] {
        let now = Instant::now();
        let mut conn = conn_for(role, Config::default(), now);
        let high_water = conn.config().outgoing_high_water;
        let big = Bytes::from(vec![0x42; 100_000]);
        let text = "t".repeat(10_000);
        let largest_frame = 14 + big.len();
        let ping = frame_for(role, &RawFrame::ping("are you there?"));
        let mut wire = Vec::new();
        // First the peer reads nothing at all, then 1 KiB per round: the sender tries every
        // kind of send each round regardless.
        for (rounds, drained_per_round) in [(5_000, 0), (20_000, 1024)] {
            let (mut accepted, mut refused) = (0, 0);
            for round in 0..rounds {
                let result = match round % 5 {
                    0 => conn.send_binary(big.clone()),
                    1 => conn.send_text(&text),
                    2 => conn.send_fragment(DataKind::Binary, &[7; 3000], round % 10 == 7),
                    3 => conn.send_ping(b"mine"),
                    _ => {
                        // The peer pings as well.
                        conn.receive(now, &ping).expect("a ping is fine");
                        while conn.poll_event().is_some() {}
                        continue;
                    }
                };
                match result {
                    Ok(()) => accepted += 1,
                    // A whole message cannot start while a fragmented one is unfinished.
                    Err(SendError::Backpressure | SendError::MessageInProgress) => refused += 1,
                    Err(other) => panic!("{role:?}: unexpected {other}"),
                }
                let queued = conn.outgoing().len();
                assert!(
                    queued <= high_water + largest_frame + MAX_PONG + 4,
                    "{role:?}: {queued} bytes queued after round {round}"
                );
                let out = conn.outgoing();
                let n = out.len().min(drained_per_round);
                wire.extend_from_slice(&bytes::Buf::copy_to_bytes(out, n));
            }
            eprintln!(
                "{role:?}, {drained_per_round} B drained per round: {accepted} sends accepted, {refused} refused"
            );
            assert!(refused > 0 && accepted > 0, "{role:?}");
            if drained_per_round == 0 {
                assert!(accepted <= 2, "{role:?}: {accepted} sends accepted with nothing drained");
            }
        }
        // Everything queued is whole, well-formed frames.
        wire.extend_from_slice(&drain(&mut conn));
        check_wire(&wire, role);
        assert_eq!(conn.state(), State::Open);
    }
}

// ------------------------------------------------------------------ bad close frames

#[test]
fn bad_close_payloads_and_codes_fail_with_1002_and_bad_reasons_with_1007() {
    let _shared = shared();
    let mut cases = vec![(RawFrame::new(op::CLOSE, [0x03]), Error::InvalidClosePayload)];
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        cases.push((RawFrame::close(code, ""), Error::InvalidCloseCode(code)));
        cases.push((RawFrame::close(code, "reason"), Error::InvalidCloseCode(code)));
    }
    for reason in [&b"\xFF"[..], b"ok \xC3", b"\xED\xA0\x80", b"\xF4\x90\x80\x80", b"\xC0\xAF"] {
        cases.push((RawFrame::close(1000, reason), Error::InvalidUtf8));
    }
    for role in [Role::Server, Role::Client] {
        for (frame, error) in &cases {
            for split in [Split::Whole, Split::ByteByByte] {
                let now = Instant::now();
                let mut conn = conn_for(role, Config::default(), now);
                let bytes = frame_for(role, frame);
                let (before, _) = expect_failure(&mut conn, now, &bytes, split, *error);
                assert!(before.is_empty());
                let expected = if *error == Error::InvalidUtf8 { 1007 } else { 1002 };
                assert_eq!(error.close_code().as_u16(), expected);
            }
        }
    }
}

// ------------------------------------------------------------------ CVE-2024-23672: endless close

#[test]
fn a_peer_that_never_answers_our_close_is_dropped_at_the_close_timeout_however_busy_it_is() {
    let _shared = shared();
    for role in [Role::Server, Role::Client] {
        let start = Instant::now();
        let timeout = Duration::from_millis(1500);
        let mut conn = conn_for(role, Config::default().close_timeout(timeout), start);
        conn.close(start, CloseCode::GOING_AWAY, "bye").unwrap();
        let deadline = start + timeout;
        assert_eq!(conn.poll_timeout(), Some(deadline));
        let ours = drain(&mut conn);
        assert_eq!(check_wire(&ours, role).len(), 1);
        // The peer never sends a close frame but keeps the connection busy every 10 ms: pings,
        // pongs and a message that never ends. None of it moves the deadline.
        let chatter = [
            frame_for(role, &RawFrame::ping("still here")),
            frame_for(role, &RawFrame::cont(vec![2; 300]).fin(false)),
            frame_for(role, &RawFrame::pong("unsolicited")),
        ];
        conn.receive(start, &frame_for(role, &RawFrame::binary(vec![1; 300]).fin(false))).unwrap();
        let mut now = start;
        let mut delivered = 0;
        while now + Duration::from_millis(10) < deadline {
            now += Duration::from_millis(10);
            conn.receive(now, &chatter[delivered % chatter.len()]).expect("chatter is valid");
            delivered += 1;
            conn.handle_timeout(now);
            for event in events(&mut conn) {
                assert!(!matches!(event, Event::Closed(_)), "closed early at {:?}", now - start);
            }
            assert_eq!(conn.poll_timeout(), Some(deadline), "the peer's traffic moved the deadline");
            assert!(drain(&mut conn).is_empty(), "nothing is sent after our close frame (no pongs)");
            assert_eq!(conn.state(), State::Closing);
        }
        conn.handle_timeout(deadline);
        let outcome = the_close(&events(&mut conn));
        assert_eq!(outcome.cause, CloseCause::CloseTimeout);
        assert_eq!((outcome.code, outcome.initiator), (CloseCode::ABNORMAL, Initiator::Local));
        assert!(conn.is_finished() && conn.wants_shutdown(), "{role:?}: drop the transport now");
        assert_eq!(conn.buffered(), 0, "the unfinished message is dropped");
        assert_eq!(conn.poll_timeout(), None);
        // And stays dropped.
        assert!(conn.receive(deadline, &chatter[0]).is_ok());
        assert!(conn.poll_event().is_none());
        assert!(conn.outgoing().is_empty());
    }
}

#[test]
fn a_peer_that_answers_our_close_but_never_ends_the_stream_is_dropped_at_the_close_timeout() {
    let _shared = shared();
    for role in [Role::Server, Role::Client] {
        let start = Instant::now();
        let timeout = Duration::from_secs(2);
        let mut conn = conn_for(role, Config::default().close_timeout(timeout), start);
        conn.close(start, CloseCode::NORMAL, "").unwrap();
        drain(&mut conn);
        let answered = start + Duration::from_millis(300);
        conn.receive(answered, &frame_for(role, &RawFrame::close(1000, ""))).unwrap();
        assert!(the_close(&events(&mut conn)).is_clean());
        // RFC 6455 §7.1.1: the server closes TCP first; a client waits for that, a while.
        assert_eq!(conn.wants_shutdown(), role == Role::Server);
        // The peer keeps its end open and keeps sending; it is ignored.
        for i in 1..100 {
            let now = answered + Duration::from_millis(10 * i);
            assert!(conn.receive(now, &frame_for(role, &RawFrame::text("ignored"))).is_ok());
            conn.handle_timeout(now);
            assert!(conn.poll_event().is_none() && conn.outgoing().is_empty());
        }
        assert!(!conn.is_finished());
        conn.handle_timeout(answered + timeout);
        assert!(conn.is_finished() && conn.wants_shutdown(), "{role:?}: dropped at the timeout");
        assert_eq!(conn.poll_timeout(), None);
    }
}

// ------------------------------------------------------------------ end of stream mid-message

#[test]
fn end_of_stream_in_the_middle_of_a_message_reports_1006_and_frees_the_partial_message() {
    let _alone = alone();
    let piece = vec![0x33; 300 << 10];
    let mut input = client_stream(&[
        RawFrame::binary(&piece).fin(false),
        RawFrame::cont(&piece).fin(false),
        RawFrame::cont(&piece).fin(false),
    ]);
    // Half of a fourth frame: its header and 1,000 of its 100,000 bytes.
    let fourth = RawFrame::cont(vec![0x44; 100_000]).client();
    input.extend_from_slice(&fourth[..1000]);
    for feed in [Feed::Whole, Feed::ByteByByte] {
        let now = Instant::now();
        let mut server = server_with(Config::default(), now);
        let probe = HeapProbe::this_thread();
        assert_eq!(feed_quietly(&mut server, now, &input, feed, |_| {}), None);
        let holding = probe.growth();
        assert!(server.buffered() >= 900 << 10, "the partial message is held: {}", server.buffered());
        server.receive_eof(now);
        let outcome = the_close(&events(&mut server));
        assert_eq!((outcome.initiator, outcome.is_clean()), (Initiator::Peer, false));
        assert_eq!((outcome.code, outcome.cause), (CloseCode::ABNORMAL, CloseCause::Eof));
        assert_eq!(server.buffered(), 0);
        assert!(server.outgoing().is_empty(), "no close frame after the stream ended");
        assert!(server.is_finished());
        let after = probe.growth();
        assert!(after <= SMALL_HEAP, "{feed:?}: +{} still held after end of stream", kib(after));
        eprintln!(
            "end of stream mid-message, {feed:?}: held +{} before, +{} after",
            kib(holding),
            kib(after)
        );
    }
}

#[test]
fn end_of_stream_in_the_middle_of_a_frame_header_or_text_character_reports_1006() {
    let _shared = shared();
    let cases: Vec<Vec<u8>> = vec![
        RawFrame::binary("").declared_len(1 << 40).client()[..5].to_vec(),
        RawFrame::text("é").client()[..7].to_vec(),
        RawFrame::ping("abc").client()[..7].to_vec(),
    ];
    for input in cases {
        for split in [Split::Whole, Split::ByteByByte] {
            let now = Instant::now();
            let mut server = server_with(Config::default(), now);
            assert!(feed(&mut server, now, &input, split).unwrap().is_empty());
            server.receive_eof(now);
            let outcome = the_close(&events(&mut server));
            assert_eq!((outcome.code, outcome.cause), (CloseCode::ABNORMAL, CloseCause::Eof));
            assert_eq!(server.buffered(), 0);
        }
    }
}

// ------------------------------------------------------------------ a sanity check of the above

#[test]
fn a_well_behaved_peer_passes_through_the_same_feeders() {
    let _shared = shared();
    for how in [Feed::Whole, Feed::ByteByByte, Feed::Reads(3)] {
        let now = Instant::now();
        let mut server = server_with(Config::default(), now);
        let input =
            client_stream(&[RawFrame::text("he").fin(false), RawFrame::ping("p"), RawFrame::cont("llo")]);
        assert_eq!(feed_quietly(&mut server, now, &input, how, |_| {}), None);
        assert_eq!(server.stats().messages_received, 1);
        let mut client = client_with(Config::default(), now);
        let got = feed(&mut client, now, &server_stream(&[RawFrame::text("hi")]), Split::Whole).unwrap();
        assert_eq!(messages(&got), [Message::Text("hi".into())]);
    }
}
