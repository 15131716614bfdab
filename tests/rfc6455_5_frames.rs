//! RFC 6455 §5: masking (§5.1, §5.3), base framing (§5.2), data frames (§5.6) and the
//! examples of §5.7, byte for byte.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::*;
use wsproto::{Config, Connection, Error, Event, RngSource, Role};

// ---------------------------------------------------------------- §5.1, §5.3 masking

// RFC 6455 §5.1: "a server MUST close the connection upon receiving a frame that is not masked."
#[test]
fn server_receives_unmasked_frame_and_fails_with_1002() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let (before, _) =
            expect_failure(&mut server, now, &RawFrame::text("hi").server(), split, Error::UnmaskedFrame);
        assert!(before.is_empty(), "nothing delivered from an unmasked frame");
    });
}

// RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
#[test]
fn client_receives_masked_frame_and_fails_with_1002() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut client = client(now);
        let input = RawFrame::binary([1, 2, 3]).client();
        let (before, _) = expect_failure(&mut client, now, &input, split, Error::MaskedFrame);
        assert!(before.is_empty());
    });
}

#[test]
fn unmasked_frame_fails_on_its_first_two_bytes() {
    let now = Instant::now();
    let mut server = server(now);
    let input = RawFrame::binary(vec![0; 1000]).server();
    let (_, at) = expect_failure(&mut server, now, &input, Split::ByteByByte, Error::UnmaskedFrame);
    assert_eq!(at, 2);
}

// RFC 6455 §5.3: every client frame is masked, with a fresh key each time.
#[test]
fn client_masks_every_frame_with_a_fresh_key_and_the_server_none() {
    let mut p = default_pair(Split::Whole);
    for i in 0..20u8 {
        p.client.send_binary(vec![i; 3]).unwrap();
        p.client.send_text("abc").unwrap();
        p.client.send_ping(&[i]).unwrap();
        p.server.send_binary(vec![i; 3]).unwrap();
        p.drive();
    }
    let client_frames = check_wire(&p.client_log.wire, Role::Client);
    let server_frames = check_wire(&p.server_log.wire, Role::Server);
    assert_eq!(client_frames.len(), 60);
    assert_eq!(server_frames.len(), 20 + 20, "20 binaries and 20 pongs");
    let keys: std::collections::HashSet<_> = client_frames.iter().map(|f| f.mask).collect();
    assert!(keys.len() > 55, "masking keys repeat: {} distinct of 60", keys.len());
    assert_eq!(client_frames[1].payload, b"abc", "payload unmasks to the original");
    assert!(p.client_log.errors.is_empty() && p.server_log.errors.is_empty());
}

#[test]
fn client_masking_keys_come_from_the_configured_source() {
    let wire = |rng: RngSource| {
        let now = Instant::now();
        let mut client = Connection::new(Role::Client, Config::default().rng(rng), now);
        client.send_text("same text").unwrap();
        client.send_binary(vec![0u8; 600]).unwrap();
        drain(&mut client)
    };
    assert_eq!(wire(RngSource::Seeded(7)), wire(RngSource::Seeded(7)));
    assert_ne!(wire(RngSource::Seeded(7)), wire(RngSource::Seeded(8)));
    let fixed = RngSource::Custom(Arc::new(|b: &mut [u8]| b.fill(0xAA)));
    let frames = parse_frames(&wire(fixed));
    assert!(frames.iter().all(|f| f.mask == Some([0xAA; 4])));
    assert_eq!(frames[1].payload, vec![0u8; 600]);
}

#[test]
fn masked_payload_is_unmasked_whatever_the_read_boundaries() {
    let payload: Vec<u8> = (0..=255).cycle().take(70_000).collect();
    let input = client_stream(&[RawFrame::binary(&payload), RawFrame::binary(&payload[..7])]);
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let got = feed(&mut server, now, &input, split).unwrap();
        assert_eq!(messages(&got), [binary(&payload), binary(&payload[..7])]);
    });
}

// ---------------------------------------------------------------- §5.2 base framing

// RFC 6455 §5.2: opcodes %x3-7 and %xB-F are reserved for further frames.
#[test]
fn every_reserved_opcode_fails_with_1002() {
    for opcode in (0x3..=0x7).chain(0xB..=0xF) {
        for_each_split(|split| {
            let now = Instant::now();
            let mut server = server(now);
            let input = RawFrame::new(opcode, "x").client();
            expect_failure(&mut server, now, &input, split, Error::ReservedOpcode(opcode));
        });
    }
}

// RFC 6455 §5.2: "If a nonzero value is received and none of the negotiated extensions defines
// the meaning of such a nonzero value, the receiving endpoint MUST _Fail the WebSocket
// Connection_."
#[test]
fn any_rsv_bit_without_an_extension_fails_with_1002() {
    for rsv in 1..8 {
        for frame in [RawFrame::text("x"), RawFrame::ping("x"), RawFrame::cont("")] {
            let now = Instant::now();
            let mut client = client(now);
            let input = frame.rsv(rsv).server();
            expect_failure(&mut client, now, &input, Split::Whole, Error::ReservedBits);
        }
    }
}

// RFC 6455 §5.2: "the most significant bit MUST be 0" in the 64-bit length.
#[test]
fn a_64_bit_length_with_the_top_bit_set_fails_with_1002() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut client = client(now);
        let input = RawFrame::binary("").declared_len(1 << 63).server();
        expect_failure(&mut client, now, &input, split, Error::InvalidLength);
    });
}

#[test]
fn sixteen_and_sixty_four_bit_lengths_are_decoded() {
    let sizes = [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 0x1_0001];
    let frames: Vec<RawFrame> = sizes.iter().map(|&n| RawFrame::binary(vec![n as u8; n])).collect();
    let input = server_stream(&frames);
    for_each_split(|split| {
        let now = Instant::now();
        let mut client = client(now);
        let got = feed(&mut client, now, &input, split).unwrap();
        let got = messages(&got);
        let lens: Vec<usize> = got.iter().map(|m| m.as_bytes().len()).collect();
        assert_eq!(lens, sizes);
        assert!(got.iter().zip(sizes).all(|(m, n)| m.as_bytes().iter().all(|&b| b == n as u8)));
    });
}

// RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
#[test]
fn server_encodes_each_length_in_its_minimal_form() {
    let now = Instant::now();
    for (len, header) in [(0, 2), (125, 2), (126, 4), (0xFFFF, 4), (0x1_0000, 10)] {
        let mut server = server(now);
        server.send_binary(vec![0u8; len]).unwrap();
        let frames = parse_frames(&drain(&mut server));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].header_len, header, "header for {len} bytes");
        assert_eq!(frames[0].payload.len(), len);
        let mut client = self::client(now);
        client.send_binary(vec![0u8; len]).unwrap();
        let frames = parse_frames(&drain(&mut client));
        assert_eq!(frames[0].header_len, header + 4, "masked header for {len} bytes");
    }
}

// DESIGN: incomplete input is not an error; nothing is delivered before the frame is whole.
#[test]
fn a_frame_is_delivered_only_when_its_last_byte_arrives() {
    let now = Instant::now();
    let mut server = server(now);
    let input = RawFrame::text("hello, world").client();
    for (i, byte) in input.iter().enumerate() {
        server.receive(now, std::slice::from_ref(byte)).unwrap();
        let got = events(&mut server);
        if i + 1 < input.len() {
            assert!(got.is_empty(), "event after {} of {} bytes", i + 1, input.len());
            assert!(server.outgoing().is_empty());
        } else {
            assert_eq!(messages(&got), [text("hello, world")]);
        }
    }
    assert_eq!(server.stats().bytes_received, input.len() as u64);
    assert_eq!(server.stats().messages_received, 1);
    assert_eq!(server.buffered(), 0);
}

#[test]
fn a_partial_frame_is_held_and_counted_as_buffered() {
    let now = Instant::now();
    let mut client = client(now);
    let input = RawFrame::binary(vec![9u8; 300]).server();
    client.receive(now, &input[..100]).unwrap();
    assert!(client.poll_event().is_none());
    assert!(client.buffered() > 0);
    client.receive(now, &input[100..]).unwrap();
    assert_eq!(messages(&events(&mut client)), [binary(&[9; 300])]);
    assert_eq!(client.buffered(), 0);
}

// ---------------------------------------------------------------- §5.6 data frames

#[test]
fn text_and_binary_messages_cross_in_both_directions() {
    for_each_split(|split| {
        let mut p = default_pair(split);
        p.client.send_text("héllo wörld ☃ 🦀").unwrap();
        p.client.send_binary(vec![0, 255, 1, 254]).unwrap();
        p.client.send_text("").unwrap();
        p.client.send_binary(Vec::new()).unwrap();
        p.server.send_text("from the server").unwrap();
        p.server.send_binary(vec![7u8; 5000]).unwrap();
        p.drive();
        assert_eq!(
            messages(&p.server_log.events),
            [text("héllo wörld ☃ 🦀"), binary(&[0, 255, 1, 254]), text(""), binary(&[])]
        );
        assert_eq!(messages(&p.client_log.events), [text("from the server"), binary(&[7; 5000])]);
        assert_eq!(p.client.stats().messages_sent, 4);
        assert_eq!(p.server.stats().messages_received, 4);
    });
}

#[test]
fn server_sends_large_binary_payloads_without_copying() {
    let now = Instant::now();
    let mut server = server(now);
    let payload = bytes::Bytes::from(vec![3u8; 100_000]);
    server.send_binary(payload.clone()).unwrap();
    let out = server.outgoing();
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    let n = bytes::Buf::chunks_vectored(&*out, &mut slices);
    assert!(slices[..n].iter().any(|s| s.as_ptr() == payload.as_ptr()), "the payload's own buffer is queued");
    let frames = queued_frames(&mut server);
    assert_eq!(frames[0].payload.len(), 100_000);
}

// RFC 6455 §5.3 masks what goes on the wire, never the caller's data.
#[test]
fn client_masking_never_changes_a_buffer_the_caller_still_holds() {
    let now = Instant::now();
    let mut client = client(now);
    let data = bytes::Bytes::from(vec![0x5Au8; 4096]);
    client.send_binary(data.clone()).unwrap();
    client.send_binary(bytes::Bytes::from_static(&[0x5A; 600])).unwrap();
    assert!(data.iter().all(|&b| b == 0x5A), "the caller's bytes are untouched");
    let frames = queued_frames(&mut client);
    assert!(frames.iter().all(|f| f.mask.is_some() && f.payload.iter().all(|&b| b == 0x5A)));
}

#[test]
fn outgoing_drained_with_one_vectored_write_gives_the_same_bytes() {
    let build = || {
        let mut server = server(Instant::now());
        server.send_text("small").unwrap();
        server.send_binary(vec![1u8; 5000]).unwrap();
        server.send_ping(b"p").unwrap();
        server.send_binary(vec![2u8; 700]).unwrap();
        server
    };
    let expected = drain(&mut build());
    let mut server = build();
    let out = server.outgoing();
    let mut slices = [std::io::IoSlice::new(&[]); 16];
    let n = bytes::Buf::chunks_vectored(&*out, &mut slices);
    let written: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
    assert_eq!(written, expected);
    bytes::Buf::advance(out, written.len());
    assert!(out.is_empty());
}

// ---------------------------------------------------------------- §5.7 examples

const HELLO_UNMASKED: &[u8] = b"\x81\x05\x48\x65\x6c\x6c\x6f";
const HELLO_MASKED: &[u8] = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
const HELLO_FRAGMENTED: &[u8] = b"\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f";
const PING_HELLO: &[u8] = b"\x89\x05\x48\x65\x6c\x6c\x6f";
const PONG_HELLO_MASKED: &[u8] = b"\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";

/// A client whose every masking key is §5.7's 0x37fa213d.
fn rfc_client(now: Instant) -> Connection {
    let rng = RngSource::Custom(Arc::new(|b: &mut [u8]| {
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = KEY[i % 4];
        }
    }));
    Connection::new(Role::Client, Config::default().rng(rng), now)
}

fn binary_example(len: usize) -> Vec<u8> {
    let mut wire = vec![0x82];
    if len == 256 {
        wire.extend_from_slice(&[0x7E, 0x01, 0x00]);
    } else {
        wire.push(0x7F);
        wire.extend_from_slice(&(len as u64).to_be_bytes());
    }
    wire.extend((0..len).map(|i| (i * 7) as u8));
    wire
}

#[test]
fn rfc_5_7_single_frame_unmasked_text_is_decoded_by_a_client_and_encoded_by_a_server() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut client = client(now);
        let got = feed(&mut client, now, HELLO_UNMASKED, split).unwrap();
        assert_eq!(got, [Event::Message(text("Hello"))]);
    });
    let mut server = server(Instant::now());
    server.send_text("Hello").unwrap();
    assert_eq!(drain(&mut server), HELLO_UNMASKED);
}

#[test]
fn rfc_5_7_single_frame_masked_text_is_decoded_by_a_server_and_encoded_by_a_client() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let got = feed(&mut server, now, HELLO_MASKED, split).unwrap();
        assert_eq!(got, [Event::Message(text("Hello"))]);
    });
    let mut client = rfc_client(Instant::now());
    client.send_text("Hello").unwrap();
    assert_eq!(drain(&mut client), HELLO_MASKED);
}

#[test]
fn rfc_5_7_fragmented_unmasked_text_is_decoded_and_encoded_byte_exact() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut client = client(now);
        let got = feed(&mut client, now, HELLO_FRAGMENTED, split).unwrap();
        assert_eq!(got, [Event::Message(text("Hello"))]);
    });
    let now = Instant::now();
    let mut server = server(now);
    server.send_fragment(wsproto::DataKind::Text, b"Hel", false).unwrap();
    server.send_fragment(wsproto::DataKind::Text, b"lo", true).unwrap();
    assert_eq!(drain(&mut server), HELLO_FRAGMENTED);
    let mut server = Connection::new(Role::Server, Config::default().fragment_size(Some(3)), now);
    server.send_text("Hello").unwrap();
    assert_eq!(drain(&mut server), HELLO_FRAGMENTED, "fragment_size 3 splits the same way");
}

#[test]
fn rfc_5_7_unmasked_ping_is_answered_by_the_masked_pong_of_the_example() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut client = rfc_client(now);
        let got = feed(&mut client, now, PING_HELLO, split).unwrap();
        assert_eq!(got, [Event::Ping(bytes::Bytes::from_static(b"Hello"))]);
        assert_eq!(drain(&mut client), PONG_HELLO_MASKED);
    });
    let now = Instant::now();
    let mut server = server(now);
    server.send_ping(b"Hello").unwrap();
    assert_eq!(drain(&mut server), PING_HELLO);
    let got = feed(&mut server, now, PONG_HELLO_MASKED, Split::Whole).unwrap();
    assert_eq!(got, [Event::Pong(bytes::Bytes::from_static(b"Hello"))]);
}

#[test]
fn rfc_5_7_256_byte_and_64_kib_binary_frames_are_decoded_and_encoded_byte_exact() {
    for len in [256, 65536] {
        let wire = binary_example(len);
        let payload = &wire[wire.len() - len..];
        for_each_split(|split| {
            let now = Instant::now();
            let mut client = client(now);
            let got = feed(&mut client, now, &wire, split).unwrap();
            assert_eq!(got, [Event::Message(binary(payload))]);
        });
        let mut server = server(Instant::now());
        server.send_binary(payload.to_vec()).unwrap();
        assert_eq!(drain(&mut server), wire, "{len} bytes");
    }
}
