//! Server decode: a buffer of client-masked frames, read from an in-memory stream (at most
//! [`READ_CAP`] bytes per read, the buffer repeated for as long as the reader asks) and decoded
//! to whole messages, text validated as UTF-8. One iteration decodes every message of the
//! buffer once; each sample uses one connection, made before the clock starts.
//!
//! What each library's path is:
//! - wsproto: the sans-IO core. `Connection::new(Role::Server, ..)`; each read goes straight
//!   into the core's receive buffer (`receive_buffer(READ_CAP)`, filled through `BufMut` as the
//!   tokio adapter's `poll_read_buf` does), then `receive_buffered(now)` and a `poll_event_ref`
//!   loop: a message of up to 125 bytes in one frame is lent from the receive buffer (as
//!   fastwebsockets lends its frames), any other comes as an owned `Bytes`. The
//!   "(wsproto, owned events)" row pops `poll_event` instead (a `Bytes` per message); it is a
//!   diagnostic, not a peer.
//! - tungstenite: `WebSocket::from_raw_socket(stream, Role::Server, config)` over the stream
//!   (`std::io::Read`), `read()` per message.
//! - tokio-tungstenite: `WebSocketStream::from_raw_socket` over the stream (`AsyncRead`),
//!   `StreamExt::next()` per message.
//! - fastwebsockets: `WebSocket::after_handshake(stream, Role::Server)`, `read_frame()` per
//!   message for the binary cases (every frame is final, so a frame is a message), and the
//!   `FragmentCollector` for the fragmented text (the only reader that validates UTF-8 across
//!   fragments).
//! - tokio-websockets: `ServerBuilder::serve(stream)` (no handshake), `next()` per message.
//! - sockudo-ws: the public sans-IO `protocol::Protocol::process_into` (validating; not the
//!   unvalidated `process_raw_into`), each read appended to its `BytesMut`.
//! - yawc: `WebSocket::from_stream(stream, Role::Server, options.with_utf8())`, `next_frame()`.
//!
//! Every library: messages up to 64 MiB, frames up to 16 MiB, UTF-8 checked, no compression.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_util::StreamExt;

use crate::bench::{Case, Entry, MEMCPY, Unit, VerifyFn};
use crate::wire::{self, Digest, MemIo, READ_CAP};

pub const MAX_MESSAGE: usize = 64 << 20;
pub const MAX_FRAME: usize = 16 << 20;

/// One decode case: the wire, how many messages it holds, and their digest.
#[derive(Clone, Copy)]
struct Input {
    wire: &'static [u8],
    messages: u64,
    expected: Digest,
}

/// Decodes `iters` times the input's messages; the digest is deep (hashed) when `deep`.
type DecodeFn = fn(Input, u64, bool) -> (Duration, Digest);

fn entry(lib: &'static str, input: Input, f: DecodeFn) -> Entry {
    let run = Box::new(move |iters| f(input, iters, false).0);
    let verify: VerifyFn = Box::new(move || {
        let (_, got) = f(input, 1, true);
        if got == input.expected {
            Ok(())
        } else {
            Err(format!("got {got:?}, expected {:?}", input.expected))
        }
    });
    Entry::verified(lib, run, verify)
}

fn memcpy_entry(input: Input) -> Entry {
    let mut dst = vec![0u8; input.wire.len()];
    Entry::new(
        MEMCPY,
        Box::new(move |iters| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(&mut dst[..]).copy_from_slice(black_box(input.wire));
            }
            t.elapsed()
        }),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn wsproto_config() -> wsproto::Config {
    wsproto::Config::default().max_message_size(MAX_MESSAGE).max_frame_size(MAX_FRAME).max_fragments(1 << 20)
}

fn wsproto_decode(input: Input, iters: u64, deep: bool) -> (Duration, Digest) {
    use wsproto::{Event, EventRef, Message};
    wsproto_decode_with(input, iters, |conn, d| {
        while let Some(event) = conn.poll_event_ref() {
            match event {
                EventRef::Binary(data) => d.add(deep, false, data),
                EventRef::Text(text) => d.add(deep, true, text.as_bytes()),
                EventRef::Event(Event::Message(m)) => {
                    d.add(deep, matches!(m, Message::Text(_)), m.as_bytes())
                }
                EventRef::Event(other) => panic!("wsproto: unexpected {other:?}"),
            }
        }
    })
}

/// A diagnostic row: every message as an owned `Bytes` of its own (`poll_event`).
fn wsproto_owned_decode(input: Input, iters: u64, deep: bool) -> (Duration, Digest) {
    use wsproto::{Event, Message};
    wsproto_decode_with(input, iters, |conn, d| {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Message(m) => d.add(deep, matches!(m, Message::Text(_)), m.as_bytes()),
                other => panic!("wsproto: unexpected {other:?}"),
            }
        }
    })
}

fn wsproto_decode_with(
    input: Input,
    iters: u64,
    mut pop: impl FnMut(&mut wsproto::Connection, &mut Digest),
) -> (Duration, Digest) {
    use wsproto::{Connection, Role};
    let now = Instant::now();
    let mut conn = Connection::new(Role::Server, wsproto_config(), now);
    let mut io = MemIo::reader(input.wire);
    let mut d = Digest::new();
    let t = Instant::now();
    for _ in 0..iters {
        let target = d.messages + input.messages;
        while d.messages < target {
            io.read_into_buf(&mut conn.receive_buffer(READ_CAP), READ_CAP);
            conn.receive_buffered(now).expect("wsproto refused the input");
            pop(&mut conn, &mut d);
        }
    }
    (t.elapsed(), black_box(d))
}

fn tungstenite_config() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_FRAME))
}

fn tungstenite_add(d: &mut Digest, deep: bool, m: tungstenite::Message) {
    match m {
        tungstenite::Message::Binary(b) => d.add(deep, false, &b),
        tungstenite::Message::Text(s) => d.add(deep, true, s.as_bytes()),
        other => panic!("tungstenite: unexpected {other:?}"),
    }
}

fn tungstenite_decode(input: Input, iters: u64, deep: bool) -> (Duration, Digest) {
    use tungstenite::protocol::{Role, WebSocket};
    let mut ws =
        WebSocket::from_raw_socket(MemIo::reader(input.wire), Role::Server, Some(tungstenite_config()));
    let mut d = Digest::new();
    let t = Instant::now();
    for _ in 0..iters * input.messages {
        tungstenite_add(&mut d, deep, ws.read().expect("tungstenite refused the input"));
    }
    (t.elapsed(), black_box(d))
}

fn tokio_tungstenite_decode(input: Input, iters: u64, deep: bool) -> (Duration, Digest) {
    use tokio_tungstenite::WebSocketStream;
    use tungstenite::protocol::Role;
    runtime().block_on(async move {
        let io = MemIo::reader(input.wire);
        let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(tungstenite_config())).await;
        let mut d = Digest::new();
        let t = Instant::now();
        for _ in 0..iters * input.messages {
            let m = ws.next().await.expect("end of stream").expect("tokio-tungstenite refused the input");
            tungstenite_add(&mut d, deep, m);
        }
        (t.elapsed(), black_box(d))
    })
}

fn fastwebsockets_decode(input: Input, iters: u64, deep: bool) -> (Duration, Digest) {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    runtime().block_on(async move {
        let mut ws = WebSocket::after_handshake(MemIo::reader(input.wire), Role::Server);
        ws.set_max_message_size(MAX_MESSAGE);
        let mut d = Digest::new();
        let add = |d: &mut Digest, f: fastwebsockets::Frame<'_>| match f.opcode {
            OpCode::Binary => d.add(deep, false, &f.payload),
            OpCode::Text => d.add(deep, true, &f.payload),
            other => panic!("fastwebsockets: unexpected {other:?}"),
        };
        if input.expected.text == 0 {
            let t = Instant::now();
            for _ in 0..iters * input.messages {
                add(&mut d, ws.read_frame().await.expect("fastwebsockets refused the input"));
            }
            (t.elapsed(), black_box(d))
        } else {
            let mut ws = FragmentCollector::new(ws);
            let t = Instant::now();
            for _ in 0..iters * input.messages {
                add(&mut d, ws.read_frame().await.expect("fastwebsockets refused the input"));
            }
            (t.elapsed(), black_box(d))
        }
    })
}

fn tokio_websockets_decode(input: Input, iters: u64, deep: bool) -> (Duration, Digest) {
    use tokio_websockets::{Limits, ServerBuilder};
    runtime().block_on(async move {
        let limits = Limits::default().max_payload_len(Some(MAX_MESSAGE));
        let mut ws = ServerBuilder::new().limits(limits).serve(MemIo::reader(input.wire));
        let mut d = Digest::new();
        let t = Instant::now();
        for _ in 0..iters * input.messages {
            let m = ws.next().await.expect("end of stream").expect("tokio-websockets refused the input");
            assert!(m.is_binary() || m.is_text(), "tokio-websockets: unexpected {m:?}");
            d.add(deep, m.is_text(), m.as_payload());
        }
        (t.elapsed(), black_box(d))
    })
}

fn sockudo_decode(input: Input, iters: u64, deep: bool) -> (Duration, Digest) {
    use sockudo_ws::protocol::{Message, Protocol};
    let mut proto = Protocol::new(sockudo_ws::Role::Server, MAX_FRAME, MAX_MESSAGE);
    let mut io = MemIo::reader(input.wire);
    let mut buf = BytesMut::with_capacity(READ_CAP);
    let mut messages = Vec::new();
    let mut d = Digest::new();
    let t = Instant::now();
    for _ in 0..iters {
        let target = d.messages + input.messages;
        while d.messages < target {
            buf.extend_from_slice(io.next_chunk(READ_CAP));
            proto.process_into(&mut buf, &mut messages).expect("sockudo-ws refused the input");
            for m in messages.drain(..) {
                match m {
                    Message::Binary(b) => d.add(deep, false, &b),
                    Message::Text(b) => d.add(deep, true, &b),
                    other => panic!("sockudo-ws: unexpected {other:?}"),
                }
            }
        }
    }
    (t.elapsed(), black_box(d))
}

pub fn yawc_options() -> yawc::Options {
    yawc::Options::default().with_utf8().with_limits(MAX_FRAME + 1, MAX_MESSAGE + 1)
}

fn yawc_decode(input: Input, iters: u64, deep: bool) -> (Duration, Digest) {
    use yawc::frame::OpCode;
    runtime().block_on(async move {
        let mut ws =
            yawc::WebSocket::from_stream(MemIo::reader(input.wire), yawc::Role::Server, yawc_options())
                .expect("yawc from_stream");
        let mut d = Digest::new();
        let t = Instant::now();
        for _ in 0..iters * input.messages {
            let f = ws.next_frame().await.expect("yawc refused the input");
            match f.opcode() {
                OpCode::Binary => d.add(deep, false, f.payload()),
                OpCode::Text => d.add(deep, true, f.payload()),
                other => panic!("yawc: unexpected {other:?}"),
            }
        }
        (t.elapsed(), black_box(d))
    })
}

/// A reference, not a library: validating the assembled text once with simdutf8 (no
/// framing, no unmasking, no copy); the issue quotes it as the validation limit.
fn simdutf8_entry(text: &'static str) -> Entry {
    Entry::new(
        "(simdutf8 alone)",
        Box::new(move |iters| {
            let t = Instant::now();
            for _ in 0..iters {
                assert!(simdutf8::basic::from_utf8(black_box(text.as_bytes())).is_ok());
            }
            t.elapsed()
        }),
    )
}

fn case(name: &str, unit: Unit, input: Input) -> Case {
    Case {
        group: "Server decode (in memory)",
        name: name.into(),
        unit,
        wire_bytes: input.wire.len() as u64,
        entries: vec![
            memcpy_entry(input),
            entry("wsproto", input, wsproto_decode),
            entry("tungstenite", input, tungstenite_decode),
            entry("tokio-tungstenite", input, tokio_tungstenite_decode),
            entry("fastwebsockets", input, fastwebsockets_decode),
            entry("tokio-websockets", input, tokio_websockets_decode),
            entry("sockudo-ws", input, sockudo_decode),
            entry("yawc", input, yawc_decode),
            entry("(wsproto, owned events)", input, wsproto_owned_decode),
        ],
        skipped: vec![],
    }
}

/// The share of a text's bytes that belong to multi-byte characters.
pub fn multibyte_share(text: &str) -> f64 {
    text.bytes().filter(|b| *b >= 0x80).count() as f64 / text.len() as f64
}

pub fn cases() -> Vec<Case> {
    let leak = |v: Vec<u8>| -> &'static [u8] { v.leak() };

    let small = 65_536;
    let (wire, messages) = wire::binary_messages(small, 16);
    let expected = Digest::of(false, messages.iter().map(|m| &m[..]));
    let small = Input { wire: leak(wire), messages: small as u64, expected };

    let (wire, messages) = wire::binary_messages(1, 1 << 20);
    let expected = Digest::of(false, messages.iter().map(|m| &m[..]));
    let large = Input { wire: leak(wire), messages: 1, expected };

    let text = wire::mixed_text(1 << 20);
    let expected = Digest::of(true, [text.as_bytes()]);
    let text_input = Input { wire: leak(wire::fragmented_text(&text, 64)), messages: 1, expected };

    let mut text_case = case(
        &format!("decode 1 MiB text, {:.0} % multi-byte, 64 fragments", multibyte_share(&text) * 100.0),
        Unit::Bytes(text.len() as u64),
        text_input,
    );
    text_case.entries.push(simdutf8_entry(text.leak()));
    vec![
        case("decode 16 B binary ×65536", Unit::Messages(small.messages), small),
        case("decode 1 MiB binary", Unit::Bytes(1 << 20), large),
        text_case,
    ]
}

/// For profiling (`perf record`, `valgrind --tool=callgrind`): wsproto's path of the
/// "decode 16 B binary" case alone, `iters` times over `count` messages of `size` bytes, with
/// no reference entry or calibration around it; lent (`poll_event_ref`) or, with `owned`, as
/// a `Bytes` each (`poll_event`). Prints the time per message.
pub fn profile_loop(size: usize, count: usize, iters: u64, owned: bool) {
    let (wire, messages) = wire::binary_messages(count, size);
    let expected = Digest::of(false, messages.iter().map(|m| &m[..]));
    let input = Input { wire: wire.leak(), messages: count as u64, expected };
    let decode = if owned { wsproto_owned_decode } else { wsproto_decode };
    let (elapsed, digest) = decode(input, iters, false);
    let total = digest.messages.max(1);
    let how = if owned { "owned" } else { "lent" };
    println!(
        "wsproto decode ({how}): {total} messages of {size} B in {elapsed:?}: {:.1} ns/message",
        elapsed.as_nanos() as f64 / total as f64
    );
}
