//! RFC 6455 §8.1: text must be UTF-8, checked as it arrives. A bad byte fails the connection
//! with 1007 at once, even inside a fragmented message that has not ended; characters may be
//! split across frames and across reads.

mod common;

use std::time::Instant;

use common::*;
use wsproto::{Connection, Delivery, Error, Event, Role};

fn receiver(role: Role, delivery: Delivery, now: Instant) -> Connection {
    let config = match role {
        Role::Client => client_config(),
        Role::Server => server_config(),
    };
    Connection::new(role, config.delivery(delivery), now)
}

fn stream(role: Role, frames: &[RawFrame]) -> Vec<u8> {
    match role {
        Role::Server => client_stream(frames),
        Role::Client => server_stream(frames),
    }
}

/// Every role and delivery mode.
fn for_each_receiver(mut test: impl FnMut(Role, Delivery)) {
    for role in [Role::Client, Role::Server] {
        for delivery in [Delivery::Messages, Delivery::Fragments] {
            eprintln!("--- {role:?} receiving in {delivery:?}");
            test(role, delivery);
        }
    }
}

/// Sequences that are not UTF-8 and the offset of the first byte that proves it.
const INVALID: &[(&[u8], usize)] = &[
    (b"\xFF", 0),
    (b"\xC0\x80", 0),         // overlong NUL: C0 never starts a character
    (b"\xE0\x80\x80", 1),     // overlong 3-byte form
    (b"\xED\xA0\x80", 1),     // UTF-16 surrogate U+D800
    (b"\xF4\x90\x80\x80", 1), // above U+10FFFF
    (b"\xF5\x80\x80\x80", 0),
    (b"\x80", 0),         // continuation without a lead byte
    (b"\xE2\x82\x41", 2), // a character cut short by ASCII
    (b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80edited", 12),
];

#[test]
fn invalid_text_in_a_single_frame_fails_with_1007() {
    for_each_receiver(|role, delivery| {
        for &(bad, _) in INVALID {
            for_each_split(|split| {
                let now = Instant::now();
                let mut conn = receiver(role, delivery, now);
                let input = stream(role, &[RawFrame::text(bad)]);
                let (before, _) = expect_failure(&mut conn, now, &input, split, Error::InvalidUtf8);
                assert!(assemble(&before).is_empty() && messages(&before).is_empty(), "{bad:x?}");
            });
        }
    });
}

#[test]
fn invalid_text_fails_at_the_first_bad_byte_not_at_the_end_of_the_message() {
    for_each_receiver(|role, delivery| {
        for &(bad, bad_at) in INVALID {
            let mut payload = b"valid prefix \xE2\x82\xAC ".to_vec();
            let prefix = payload.len();
            payload.extend_from_slice(bad);
            payload.extend_from_slice(&[b'z'; 1000]);
            // A long frame whose declared end is far beyond the bad byte, and no final frame.
            let frames = [RawFrame::text("start ").fin(false), RawFrame::cont(&payload).fin(false)];
            let input = stream(role, &frames);
            let first_len = stream(role, &frames[..1]).len();
            let second_header = input.len() - first_len - payload.len();
            let bad_offset = first_len + second_header + prefix + bad_at;
            let now = Instant::now();
            let mut conn = receiver(role, delivery, now);
            let (before, at) = expect_failure(&mut conn, now, &input, Split::ByteByByte, Error::InvalidUtf8);
            assert_eq!(at, bad_offset + 1, "failed at the bad byte of {bad:x?}");
            for piece in &before {
                let Event::Fragment(piece) = piece else { panic!("unexpected {piece:?}") };
                assert!(piece.text().is_some(), "only valid text was handed out");
            }
        }
    });
}

#[test]
fn invalid_text_in_an_unfinished_fragmented_message_fails_before_the_message_ends() {
    for_each_receiver(|role, delivery| {
        for_each_split(|split| {
            let now = Instant::now();
            let mut conn = receiver(role, delivery, now);
            let input = stream(
                role,
                &[
                    RawFrame::text("first").fin(false),
                    RawFrame::cont("second").fin(false),
                    RawFrame::cont(b"th\xC3ird").fin(false),
                ],
            );
            expect_failure(&mut conn, now, &input, split, Error::InvalidUtf8);
        });
    });
}

#[test]
fn text_that_ends_inside_a_character_fails_with_1007() {
    for_each_receiver(|role, delivery| {
        for_each_split(|split| {
            let now = Instant::now();
            let mut conn = receiver(role, delivery, now);
            let euro = "€".as_bytes();
            let input = stream(role, &[RawFrame::text("a").fin(false), RawFrame::cont(&euro[..2])]);
            expect_failure(&mut conn, now, &input, split, Error::InvalidUtf8);
        });
    });
}

#[test]
fn characters_split_across_frames_are_reassembled() {
    let message = "κόσμε € 🦀 ascii ñ";
    let bytes = message.as_bytes();
    for_each_receiver(|role, delivery| {
        for piece in [1, 2, 3, 5] {
            let pieces = byte_pieces(bytes, piece);
            let last = pieces.len() - 1;
            let frames: Vec<RawFrame> = pieces
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let frame = if i == 0 { RawFrame::text(p) } else { RawFrame::cont(p) };
                    frame.fin(i == last)
                })
                .collect();
            let input = stream(role, &frames);
            for_each_split(|split| {
                let now = Instant::now();
                let mut conn = receiver(role, delivery, now);
                let got = feed(&mut conn, now, &input, split).unwrap();
                let received = match delivery {
                    Delivery::Messages => messages(&got),
                    Delivery::Fragments => assemble(&got),
                };
                assert_eq!(received, [text(message)], "frames of {piece} bytes");
            });
        }
    });
}

#[test]
fn text_pieces_in_fragments_mode_never_split_a_character() {
    let message = "🦀€é".repeat(50);
    let input = server_stream(&[RawFrame::text(&message)]);
    for_each_split(|split| {
        let now = Instant::now();
        let mut client = receiver(Role::Client, Delivery::Fragments, now);
        let got = feed(&mut client, now, &input, split).unwrap();
        // `assemble` checks each piece is UTF-8 on its own.
        assert_eq!(assemble(&got), [text(&message)]);
        if split == Split::ByteByByte {
            let pieces = got.len();
            assert!(pieces > 100, "pieces are handed out as they arrive ({pieces})");
        }
    });
}

#[test]
fn binary_messages_are_not_checked_as_text() {
    for_each_receiver(|role, delivery| {
        let now = Instant::now();
        let mut conn = receiver(role, delivery, now);
        let input = stream(role, &[RawFrame::binary(b"\xFF\xC0\x80\xED\xA0\x80")]);
        let got = feed(&mut conn, now, &input, Split::ByteByByte).unwrap();
        let received = match delivery {
            Delivery::Messages => messages(&got),
            Delivery::Fragments => assemble(&got),
        };
        assert_eq!(received, [binary(b"\xFF\xC0\x80\xED\xA0\x80")]);
    });
}

#[test]
fn the_whole_range_of_scalar_values_is_accepted() {
    let all: String = (0..=0x10FFFFu32).step_by(97).filter_map(char::from_u32).collect();
    let input = client_stream(&[RawFrame::text(&all)]);
    let now = Instant::now();
    let config = server_config().max_message_size(1 << 22).max_frame_size(1 << 22);
    let mut server = Connection::new(Role::Server, config, now);
    let got = feed(&mut server, now, &input, Split::RandomSplits(3)).unwrap();
    assert_eq!(messages(&got), [text(&all)]);
}
