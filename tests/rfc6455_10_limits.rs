//! RFC 6455 §10.4: "Implementations SHOULD impose implementation-specific limits on frame sizes
//! and total message size after reassembly" — frame, message and fragment-count limits (1009),
//! fragment delivery that is bounded by the read instead, and backpressure on sending.

mod common;

use std::time::Instant;

use common::*;
use wsproto::{CloseCode, Config, Connection, DataKind, Delivery, Error, Event, Role, SendError, State};

fn limited_server(config: Config, now: Instant) -> Connection {
    Connection::new(Role::Server, config.rng(wsproto::RngSource::Seeded(1)), now)
}

// ---------------------------------------------------------------- max_frame_size

#[test]
fn frame_over_max_frame_size_fails_with_1009_on_its_header_alone() {
    for declared in [1001, 70_000, 1 << 40, (1 << 63) - 1] {
        let now = Instant::now();
        let mut server = limited_server(Config::default().max_frame_size(1000), now);
        // Only the header is sent: the payload never needs to arrive.
        let frame = RawFrame::binary("").declared_len(declared).client();
        let (before, at) = expect_failure(&mut server, now, &frame, Split::ByteByByte, Error::FrameTooBig);
        assert!(before.is_empty());
        assert_eq!(at, frame.len(), "fails on the last header byte");
        assert_eq!(server.buffered(), 0, "nothing of the frame is buffered");
    }
}

#[test]
fn frame_of_exactly_max_frame_size_is_accepted() {
    for_each_split(|split| {
        let now = Instant::now();
        let config = client_config().max_frame_size(1000);
        let mut client = Connection::new(Role::Client, config, now);
        let input = server_stream(&[RawFrame::binary(vec![1; 1000]), RawFrame::binary(vec![2; 1001])]);
        let (before, _) = expect_failure(&mut client, now, &input, split, Error::FrameTooBig);
        assert_eq!(messages(&before), [binary(&[1; 1000])]);
    });
}

#[test]
fn the_default_limits_are_one_mebibyte_and_1024_fragments() {
    let config = Config::default();
    assert_eq!((config.max_frame_size, config.max_message_size), (1 << 20, 1 << 20));
    assert_eq!(config.max_fragments, 1024);
    assert_eq!(config.outgoing_high_water, 64 << 10);
    let now = Instant::now();
    let mut server = server(now);
    let input = RawFrame::binary("").declared_len((1 << 20) + 1).client();
    expect_failure(&mut server, now, &input, Split::Whole, Error::FrameTooBig);
}

// ---------------------------------------------------------------- max_message_size

#[test]
fn message_over_max_message_size_across_fragments_fails_with_1009() {
    for_each_split(|split| {
        let now = Instant::now();
        let config = Config::default().max_message_size(1000).max_frame_size(600);
        let mut server = limited_server(config, now);
        let input = client_stream(&[
            RawFrame::text("a".repeat(600)).fin(false),
            RawFrame::ping("still alive"),
            RawFrame::cont("b".repeat(400)).fin(false),
            // 1,001st byte: the header of this frame is enough to fail.
            RawFrame::cont("c").declared_len(1).fin(true),
        ]);
        let cut = input.len() - 1;
        let (before, _) = expect_failure(&mut server, now, &input[..cut], split, Error::MessageTooBig);
        assert_eq!(before.len(), 1, "only the ping: {before:?}");
        assert_eq!(server.buffered(), 0);
    });
}

#[test]
fn message_of_exactly_max_message_size_is_accepted_and_the_limit_is_per_message() {
    for_each_split(|split| {
        let now = Instant::now();
        let config = Config::default().max_message_size(1000);
        let mut server = limited_server(config, now);
        let mut frames = Vec::new();
        for _ in 0..3 {
            frames.push(RawFrame::binary(vec![7; 500]).fin(false));
            frames.push(RawFrame::cont(vec![8; 500]));
        }
        let got = feed(&mut server, now, &client_stream(&frames), split).unwrap();
        assert_eq!(messages(&got).len(), 3);
        assert!(messages(&got).iter().all(|m| m.as_bytes().len() == 1000));
    });
}

#[test]
fn a_client_enforces_the_message_limit_on_server_messages_too() {
    let now = Instant::now();
    let config = client_config().max_message_size(10);
    let mut client = Connection::new(Role::Client, config, now);
    let input = server_stream(&[RawFrame::text("0123456789"), RawFrame::text("0123456789!")]);
    let (before, _) = expect_failure(&mut client, now, &input, Split::Whole, Error::MessageTooBig);
    assert_eq!(messages(&before), [text("0123456789")]);
}

// ---------------------------------------------------------------- max_fragments

#[test]
fn message_of_more_than_max_fragments_frames_fails_with_1009() {
    let frames = |n: usize| -> Vec<RawFrame> {
        let mut frames = vec![RawFrame::text("x").fin(n == 1)];
        for i in 1..n {
            frames.push(RawFrame::ping(""));
            frames.push(RawFrame::cont("x").fin(i == n - 1));
        }
        frames
    };
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = limited_server(Config::default().max_fragments(8), now);
        let got = feed(&mut server, now, &client_stream(&frames(8)), split).unwrap();
        assert_eq!(messages(&got), [text("xxxxxxxx")], "8 frames and 7 pings pass");
        let (before, _) =
            expect_failure(&mut server, now, &client_stream(&frames(9)), split, Error::TooManyFragments);
        assert!(messages(&before).is_empty());
    });
}

// ---------------------------------------------------------------- Delivery::Fragments

#[test]
fn fragments_mode_passes_a_10_mib_message_through_a_1_mib_limit_in_pieces() {
    let size = 10 << 20;
    let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let single = client_stream(&[RawFrame::binary(&payload)]);
    let fragmented: Vec<RawFrame> = payload
        .chunks(1 << 20)
        .enumerate()
        .map(|(i, chunk)| {
            let frame = if i == 0 { RawFrame::binary(chunk) } else { RawFrame::cont(chunk) };
            frame.fin(i == 9)
        })
        .collect();
    for input in [single, client_stream(&fragmented)] {
        let now = Instant::now();
        let config = Config::default().delivery(Delivery::Fragments).max_message_size(1 << 20);
        let mut server = limited_server(config, now);
        let mut received = Vec::with_capacity(size);
        let mut pieces = 0;
        for chunk in Chunker::new(Split::RandomSplits(9)).cut(&input) {
            server.receive(now, chunk).unwrap();
            assert!(server.buffered() <= chunk.len() + 14, "buffers only the read in progress");
            for event in events(&mut server) {
                let Event::Fragment(piece) = event else { panic!("unexpected {event:?}") };
                assert_eq!(piece.first, received.is_empty());
                received.extend_from_slice(&piece.data);
                pieces += 1;
                assert_eq!(piece.fin, received.len() == size);
            }
        }
        assert!(received == payload, "the pieces join into the message");
        assert!(pieces > 10, "{pieces} pieces");
        assert_eq!(server.state(), State::Open);
        assert_eq!(server.stats().messages_received, 1);
    }
}

#[test]
fn fragments_mode_text_pieces_are_each_valid_utf8() {
    let message = "ab€🦀ñ".repeat((2 << 20) / 12);
    let frames: Vec<RawFrame> = byte_pieces(message.as_bytes(), 100_003)
        .into_iter()
        .enumerate()
        .map(|(i, p)| if i == 0 { RawFrame::text(p).fin(false) } else { RawFrame::cont(p).fin(false) })
        .chain([RawFrame::cont("")])
        .collect();
    let input = client_stream(&frames);
    for split in [Split::RandomSplits(4), Split::RandomSplits(5)] {
        let now = Instant::now();
        let config = Config::default().delivery(Delivery::Fragments).max_message_size(1000);
        let mut server = limited_server(config, now);
        // `assemble` checks each text piece is UTF-8 on its own.
        let got = feed(&mut server, now, &input, split).unwrap();
        assert!(got.len() > 100);
        assert_eq!(assemble(&got), [text(&message)]);
    }
}

// ---------------------------------------------------------------- backpressure

#[test]
fn sends_are_refused_with_backpressure_at_the_high_water_mark_and_change_nothing() {
    let now = Instant::now();
    let mut client = Connection::new(Role::Client, client_config().outgoing_high_water(1000), now);
    client.send_binary(vec![0u8; 990]).unwrap();
    assert!(client.outgoing().len() < 1000);
    client.send_text("crosses the mark").unwrap();
    let queued = client.outgoing().len();
    assert!(queued >= 1000);
    assert_eq!(client.send_text("x"), Err(SendError::Backpressure));
    assert_eq!(client.send_binary(vec![1]), Err(SendError::Backpressure));
    assert_eq!(client.send_fragment(DataKind::Text, b"x", true), Err(SendError::Backpressure));
    assert_eq!(client.send_ping(b""), Err(SendError::Backpressure));
    assert_eq!(client.outgoing().len(), queued, "a refused send queues nothing");
    assert_eq!(client.state(), State::Open);
    assert_eq!(client.stats().messages_sent, 2);
    let wire = drain(&mut client);
    assert_eq!(check_wire(&wire, Role::Client).len(), 2);
    client.send_text("after draining").unwrap();
}

#[test]
fn backpressure_never_blocks_receiving_or_the_close_handshake() {
    let mut p = pair(client_config().outgoing_high_water(10), server_config());
    p.client.send_binary(vec![0u8; 100]).unwrap();
    assert_eq!(p.client.send_text("x"), Err(SendError::Backpressure));
    p.inject(Side::Client, &server_stream(&[RawFrame::text("in"), RawFrame::close(1000, "")]));
    assert_eq!(messages(&p.client_log.events), [text("in")]);
    assert_eq!(the_close(&p.client_log.events).code, CloseCode::NORMAL);
    let frames = check_wire(&drain(&mut p.client), Role::Client);
    assert_eq!(frames.last().unwrap().opcode, op::CLOSE, "the echo is queued despite the mark");
}

#[test]
fn a_fragmented_send_under_backpressure_can_be_resumed_after_draining() {
    let mut p = pair(client_config().outgoing_high_water(64), server_config());
    p.client.send_fragment(DataKind::Text, &[b'a'; 100], false).unwrap();
    assert_eq!(p.client.send_fragment(DataKind::Text, b"b", true), Err(SendError::Backpressure));
    p.drive();
    p.client.send_fragment(DataKind::Text, b"b", true).unwrap();
    p.drive();
    assert_eq!(messages(&p.server_log.events), [text(&format!("{}b", "a".repeat(100)))]);
}
