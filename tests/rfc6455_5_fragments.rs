//! RFC 6455 §5.4 fragmentation: receiving fragmented messages, sending them with
//! `send_fragment`, and splitting outgoing messages at `Config::fragment_size`.

mod common;

use std::time::Instant;

use common::*;
use wsproto::{Config, Connection, DataKind, Delivery, Error, Event, Message, Role, SendError};

// ---------------------------------------------------------------- receiving

#[test]
fn fragmented_text_is_delivered_as_one_message() {
    let input = client_stream(&[
        RawFrame::text("The qu").fin(false),
        RawFrame::cont("ick brown ").fin(false),
        RawFrame::cont("").fin(false),
        RawFrame::cont("fox"),
    ]);
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let got = feed(&mut server, now, &input, split).unwrap();
        assert_eq!(got, [Event::Message(text("The quick brown fox"))]);
        assert_eq!(server.stats().messages_received, 1);
    });
}

// RFC 6455 §5.4: "Control frames MAY be injected in the middle of a fragmented message."
#[test]
fn control_frames_between_fragments_are_handled_at_once() {
    let input = client_stream(&[
        RawFrame::binary([1, 2]).fin(false),
        RawFrame::ping("p1"),
        RawFrame::cont([3]).fin(false),
        RawFrame::pong("p2"),
        RawFrame::cont([4]),
    ]);
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let got = feed(&mut server, now, &input, split).unwrap();
        assert_eq!(
            got,
            [
                Event::Ping(bytes::Bytes::from_static(b"p1")),
                Event::Pong(bytes::Bytes::from_static(b"p2")),
                Event::Message(binary(&[1, 2, 3, 4])),
            ]
        );
        let frames = queued_frames(&mut server);
        assert_eq!(frames.len(), 1);
        assert_eq!((frames[0].opcode, &frames[0].payload[..]), (op::PONG, &b"p1"[..]));
    });
}

#[test]
fn control_frame_between_fragments_is_answered_before_the_message_ends() {
    let now = Instant::now();
    let mut server = server(now);
    let input =
        client_stream(&[RawFrame::text("abc").fin(false), RawFrame::ping("now"), RawFrame::cont("d")]);
    let cut = input.len() - RawFrame::cont("d").client().len();
    server.receive(now, &input[..cut]).unwrap();
    assert_eq!(events(&mut server), [Event::Ping(bytes::Bytes::from_static(b"now"))]);
    assert_eq!(queued_frames(&mut server)[0].payload, b"now");
    server.receive(now, &input[cut..]).unwrap();
    assert_eq!(events(&mut server), [Event::Message(text("abcd"))]);
}

// RFC 6455 §5.4: a continuation frame belongs to a message that was started.
/// Large fragmented messages (assembled in place in the receive buffer, and handed out without
/// a copy) with pings between their frames: a stream of them and the messages it must give.
fn large_fragmented_stream(seed: u64) -> (Vec<u8>, Vec<Message>) {
    let mut rng = TestRng::new(seed);
    let mut frames = Vec::new();
    let mut expected = Vec::new();
    for m in 0..6 {
        let len = 600 + rng.below(40_000);
        let kind = if m % 2 == 0 { DataKind::Text } else { DataKind::Binary };
        let data: Vec<u8> = match kind {
            // 11 bytes of one- to four-byte characters; the cuts split characters too.
            DataKind::Text => "añ€😀z".repeat(len / 11 + 1).into_bytes(),
            DataKind::Binary => (0..len).map(|i| (i * 7 + m) as u8).collect(),
        };
        let mut cuts: Vec<usize> = (0..1 + rng.below(8)).map(|_| rng.below(data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut start = 0;
        for (i, &cut) in cuts.iter().chain([&data.len()]).enumerate() {
            let piece = &data[start..cut];
            let frame = match (i, kind) {
                (0, DataKind::Text) => RawFrame::text(piece),
                (0, DataKind::Binary) => RawFrame::binary(piece),
                _ => RawFrame::cont(piece),
            };
            frames.push(frame.fin(cut == data.len() && i == cuts.len()));
            if rng.below(2) == 0 {
                frames.push(RawFrame::ping(vec![i as u8; rng.below(126)]));
            }
            start = cut;
        }
        expected.push(message(kind, data));
    }
    (client_stream(&frames), expected)
}

#[test]
fn large_fragmented_messages_arrive_whole_whether_the_application_keeps_them_or_drops_them() {
    for seed in 1..=4 {
        let (input, expected) = large_fragmented_stream(seed);
        // Kept: every message is held until the end, while later ones are assembled.
        for_each_split(|split| {
            let now = Instant::now();
            let mut server = server(now);
            let got = feed(&mut server, now, &input, split).unwrap();
            assert_eq!(messages(&got), expected, "seed {seed}");
        });
        // Dropped: each message is checked and dropped before the next read, so the receive
        // buffer takes its allocation back; reads go straight into the receive buffer.
        for read in [1, 700, 4096, 64 << 10] {
            let now = Instant::now();
            let mut server = server(now);
            let mut next = expected.iter();
            for chunk in input.chunks(read) {
                bytes::BufMut::put_slice(&mut server.receive_buffer(chunk.len()), chunk);
                server.receive_buffered(now).unwrap();
                while let Some(event) = server.poll_event() {
                    if let Event::Message(m) = event {
                        assert_eq!(Some(&m), next.next(), "seed {seed}, reads of {read}");
                    }
                }
            }
            assert_eq!(next.next(), None, "seed {seed}, reads of {read}");
        }
    }
}

#[test]
fn continuation_without_a_started_message_fails_with_1002() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let input = RawFrame::cont("x").client();
        expect_failure(&mut server, now, &input, split, Error::UnexpectedContinuation);
    });
}

#[test]
fn continuation_after_a_finished_message_fails_with_1002() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut client = client(now);
        let input = server_stream(&[RawFrame::text("done"), RawFrame::cont("more")]);
        let (before, _) = expect_failure(&mut client, now, &input, split, Error::UnexpectedContinuation);
        assert_eq!(messages(&before), [text("done")]);
    });
}

// RFC 6455 §5.4: the fragments of one message MUST NOT be interleaved with another message.
#[test]
fn new_data_frame_inside_a_fragmented_message_fails_with_1002() {
    for second in [RawFrame::text("b"), RawFrame::binary("b"), RawFrame::text("b").fin(false)] {
        for_each_split(|split| {
            let now = Instant::now();
            let mut server = server(now);
            let input = client_stream(&[RawFrame::binary("a").fin(false), second.clone()]);
            let (before, _) = expect_failure(&mut server, now, &input, split, Error::ExpectedContinuation);
            assert!(before.is_empty(), "the unfinished message is never delivered");
        });
    }
}

#[test]
fn fragmented_message_in_fragments_mode_arrives_in_order_with_first_and_fin() {
    let input = server_stream(&[
        RawFrame::binary([1, 2, 3]).fin(false),
        RawFrame::ping(""),
        RawFrame::cont([4, 5]).fin(false),
        RawFrame::cont([6]),
        RawFrame::text("next"),
    ]);
    for_each_split(|split| {
        let now = Instant::now();
        let config = client_config().delivery(Delivery::Fragments);
        let mut client = Connection::new(Role::Client, config, now);
        let got = feed(&mut client, now, &input, split).unwrap();
        assert_eq!(assemble(&got), [binary(&[1, 2, 3, 4, 5, 6]), text("next")]);
        let ping_at = got.iter().position(|e| matches!(e, Event::Ping(_))).unwrap();
        let pieces_before: Vec<u8> = got[..ping_at]
            .iter()
            .flat_map(|e| match e {
                Event::Fragment(f) => f.data.to_vec(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(pieces_before, [1, 2, 3], "the ping comes between the fragments");
        assert_eq!(client.stats().messages_received, 2);
    });
}

// ---------------------------------------------------------------- send_fragment

#[test]
fn send_fragment_builds_one_message_the_peer_receives_whole() {
    for_each_split(|split| {
        let mut p = default_pair(split);
        p.client.send_fragment(DataKind::Binary, &[1, 2], false).unwrap();
        p.client.send_fragment(DataKind::Binary, &[], false).unwrap();
        p.client.send_fragment(DataKind::Binary, &[3], true).unwrap();
        p.drive();
        assert_eq!(messages(&p.server_log.events), [binary(&[1, 2, 3])]);
        let frames = check_wire(&p.client_log.wire, Role::Client);
        let shape: Vec<(u8, bool)> = frames.iter().map(|f| (f.opcode, f.fin)).collect();
        assert_eq!(shape, [(op::BINARY, false), (op::CONT, false), (op::CONT, true)]);
        assert_eq!(p.client.stats().messages_sent, 1);
    });
}

#[test]
fn send_fragment_of_the_other_kind_mid_message_is_refused_without_side_effects() {
    let now = Instant::now();
    let mut server = server(now);
    server.send_fragment(DataKind::Text, b"a", false).unwrap();
    let before = server.outgoing().len();
    assert_eq!(server.send_fragment(DataKind::Binary, b"b", true), Err(SendError::MessageInProgress));
    assert_eq!(server.outgoing().len(), before);
    server.send_fragment(DataKind::Text, b"b", true).unwrap();
    let frames = queued_frames(&mut server);
    assert_eq!(frames.len(), 2);
    assert_eq!((frames[1].opcode, frames[1].fin, &frames[1].payload[..]), (op::CONT, true, &b"b"[..]));
}

#[test]
fn whole_messages_are_refused_while_a_fragmented_one_is_in_progress() {
    let now = Instant::now();
    let mut client = client(now);
    client.send_fragment(DataKind::Binary, b"a", false).unwrap();
    assert_eq!(client.send_text("x"), Err(SendError::MessageInProgress));
    assert_eq!(client.send_binary(vec![1]), Err(SendError::MessageInProgress));
    client.send_fragment(DataKind::Binary, b"b", true).unwrap();
    client.send_text("x").unwrap();
    let frames = queued_frames(&mut client);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[2].opcode, op::TEXT);
}

#[test]
fn control_frames_may_be_sent_between_fragments() {
    let mut p = default_pair(Split::Whole);
    p.client.send_fragment(DataKind::Text, b"hel", false).unwrap();
    p.client.send_ping(b"mid").unwrap();
    p.client.send_pong(b"beat").unwrap();
    p.client.send_fragment(DataKind::Text, b"lo", true).unwrap();
    p.drive();
    let got = &p.server_log.events;
    assert_eq!(
        got,
        &[
            Event::Ping(bytes::Bytes::from_static(b"mid")),
            Event::Pong(bytes::Bytes::from_static(b"beat")),
            Event::Message(text("hello")),
        ]
    );
    assert!(p.client_log.events.contains(&Event::Pong(bytes::Bytes::from_static(b"mid"))));
}

// RFC 6455 §5.6: the text of a message (not each frame) must be UTF-8, so a character may be
// split between fragments.
#[test]
fn send_fragment_accepts_a_character_split_between_pieces() {
    let crab = "🦀".as_bytes();
    let mut p = default_pair(Split::ByteByByte);
    p.client.send_fragment(DataKind::Text, &crab[..1], false).unwrap();
    p.client.send_fragment(DataKind::Text, &crab[1..3], false).unwrap();
    p.client.send_fragment(DataKind::Text, &crab[3..], true).unwrap();
    p.drive();
    assert_eq!(messages(&p.server_log.events), [text("🦀")]);
}

#[test]
fn send_fragment_refuses_invalid_text_and_keeps_the_message_open() {
    let now = Instant::now();
    let mut server = server(now);
    server.send_fragment(DataKind::Text, "é".as_bytes(), false).unwrap();
    assert_eq!(server.send_fragment(DataKind::Text, b"\xff", false), Err(SendError::InvalidUtf8));
    // A continuation byte with no lead byte in front of it.
    assert_eq!(server.send_fragment(DataKind::Text, b"\x80", false), Err(SendError::InvalidUtf8));
    server.send_fragment(DataKind::Text, &"€".as_bytes()[..2], false).unwrap();
    assert_eq!(server.send_fragment(DataKind::Text, b"x", true), Err(SendError::InvalidUtf8));
    server.send_fragment(DataKind::Text, &"€".as_bytes()[2..], true).unwrap();
    let frames = queued_frames(&mut server);
    let text: Vec<u8> = frames.iter().flat_map(|f| f.payload.clone()).collect();
    assert_eq!(text, "é€".as_bytes());
    assert_eq!(frames.len(), 3);
}

#[test]
fn send_fragment_refuses_to_finish_text_in_the_middle_of_a_character() {
    let now = Instant::now();
    let mut client = client(now);
    let euro = "€".as_bytes();
    assert_eq!(client.send_fragment(DataKind::Text, &euro[..2], true), Err(SendError::InvalidUtf8));
    assert!(client.outgoing().is_empty());
    client.send_text("still open").unwrap();
}

#[test]
fn binary_fragments_are_not_checked_as_text() {
    let now = Instant::now();
    let mut client = client(now);
    client.send_fragment(DataKind::Binary, b"\xff\xfe", false).unwrap();
    client.send_fragment(DataKind::Binary, b"\xc3", true).unwrap();
    assert_eq!(queued_frames(&mut client).len(), 2);
}

// ---------------------------------------------------------------- fragment_size

#[test]
fn fragment_size_splits_outgoing_messages_into_frames_of_at_most_that_size() {
    for (len, size) in [(11usize, 4usize), (12, 4), (1, 4), (0, 4), (5000, 1000), (100, 1)] {
        let now = Instant::now();
        let config = server_config().fragment_size(Some(size));
        let mut server = Connection::new(Role::Server, config, now);
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        server.send_binary(payload.clone()).unwrap();
        let frames = check_wire(&drain(&mut server), Role::Server);
        assert_eq!(frames.len(), len.div_ceil(size).max(1), "{len} bytes in frames of {size}");
        assert!(frames.iter().all(|f| f.payload.len() <= size));
        assert_eq!(frames[0].opcode, op::BINARY);
        assert!(frames[1..].iter().all(|f| f.opcode == op::CONT));
        let fins: Vec<bool> = frames.iter().map(|f| f.fin).collect();
        assert_eq!(fins.iter().filter(|&&fin| fin).count(), 1);
        assert!(fins.last().unwrap());
        let joined: Vec<u8> = frames.iter().flat_map(|f| f.payload.clone()).collect();
        assert_eq!(joined, payload);
    }
}

#[test]
fn fragment_size_splits_text_anywhere_and_the_peer_reassembles_it() {
    let message = "añb€c🦀d".repeat(10);
    for_each_split(|split| {
        let config = client_config().fragment_size(Some(3));
        let mut p = pair_split(config, server_config(), split);
        p.client.send_text(&message).unwrap();
        p.client.send_ping(b"not split").unwrap();
        p.drive();
        let frames = check_wire(&p.client_log.wire, Role::Client);
        assert_eq!(frames.len(), message.len().div_ceil(3) + 1);
        assert_eq!(frames.last().unwrap().payload, b"not split", "control frames are never split");
        assert_eq!(messages(&p.server_log.events), [text(&message)]);
    });
}

#[test]
fn received_fragment_count_is_not_bounded_by_the_senders_fragment_size() {
    // A 64-frame message passes the default max_fragments (1,024) of the receiver.
    let config = Config::default().fragment_size(Some(1));
    let mut p = pair(config, server_config());
    p.client.send_binary(vec![5u8; 64]).unwrap();
    p.drive();
    assert_eq!(messages(&p.server_log.events), [binary(&[5; 64])]);
}
