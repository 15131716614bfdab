//! Client encode: `count` binary messages, masked, into one in-memory buffer (the "socket").
//! The application's payload is a shared `bytes::Bytes` (or a borrowed slice where the API
//! takes one), so a library that masks must copy it once; none may mutate it. Each iteration
//! makes a fresh client over the emptied buffer (amortised over the messages), sends every
//! message and flushes; each library uses its own default mask-key generator.
//!
//! What each library's path is:
//! - wsproto: the sans-IO core, `Connection::new(Role::Client, ..)`,
//!   `send_binary_from_slice(&bytes)` (the borrowed form, as for fastwebsockets); the outgoing
//!   queue is written to the buffer (`chunks_vectored`, as the adapter's `writev`) whenever a
//!   send reports backpressure (default high-water mark, 64 KiB) and at the end.
//! - tungstenite: `WebSocket::from_raw_socket(.., Role::Client, ..)`, `write()` per message
//!   (buffered up to its write buffer), `flush()` at the end.
//! - tokio-tungstenite, tokio-websockets, yawc: `SinkExt::feed` per message, `flush` at the
//!   end.
//! - fastwebsockets: `write_frame(Frame::binary(Payload::Borrowed(..)))` per message (it has
//!   no write buffering: one write call per frame).
//! - sockudo-ws: the public sans-IO `protocol::Protocol::encode_message` into a `BytesMut`,
//!   written to the buffer each time it reaches 64 KiB and at the end.
//!
//! Mask keys: wsproto from ChaCha8 keyed from the OS (`getrandom`) and rekeyed every 64 KiB;
//! tungstenite, fastwebsockets, yawc and tokio-websockets (feature `rand`) from `rand`'s
//! thread-local CSPRNG; sockudo-ws by default from `fastrand`, which is not cryptographic. The
//! "(wsproto, seeded masks)" row is a diagnostic, not a peer.

use std::cell::RefCell;
use std::hint::black_box;
use std::io::IoSlice;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::SinkExt;

use crate::bench::{Case, Entry, MEMCPY, Unit, VerifyFn};
use crate::wire::{self, MemIo};

#[derive(Clone)]
struct Input {
    payload: Bytes,
    count: usize,
    /// Wire bytes of the whole output (header sizes are the same for every library).
    wire_len: usize,
}

/// Encodes the input `iters` times; returns the time and the last output.
type EncodeFn = fn(&Input, u64, Vec<u8>) -> (Duration, Vec<u8>);

fn entry(lib: &'static str, input: Input, f: EncodeFn) -> Entry {
    let run_input = input.clone();
    let mut buf = Some(Vec::with_capacity(input.wire_len));
    let run = Box::new(move |iters| {
        let (t, out) = f(&run_input, iters, buf.take().unwrap());
        buf = Some(out);
        t
    });
    let verify: VerifyFn = Box::new(move || {
        let (_, out) = f(&input, 1, Vec::new());
        let frames = wire::decode_client_output(&out)?;
        if frames.len() != input.count {
            return Err(format!("{} frames, expected {}", frames.len(), input.count));
        }
        if frames.iter().any(|(op, p)| *op != 2 || p[..] != input.payload[..]) {
            return Err("a frame is not the binary message sent".into());
        }
        if out.len() != input.wire_len {
            return Err(format!("{} wire bytes, expected {}", out.len(), input.wire_len));
        }
        Ok(())
    });
    Entry::verified(lib, run, verify)
}

fn memcpy_entry(input: &Input) -> Entry {
    let src = vec![7u8; input.wire_len];
    let mut dst = vec![0u8; input.wire_len];
    Entry::new(
        MEMCPY,
        Box::new(move |iters| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(&mut dst[..]).copy_from_slice(black_box(&src[..]));
            }
            t.elapsed()
        }),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn wsproto_drain(conn: &mut wsproto::Connection, sink: &mut Vec<u8>) {
    let out = conn.outgoing();
    while out.has_remaining() {
        let mut slices = [IoSlice::new(&[]); 32];
        let n = out.chunks_vectored(&mut slices);
        let mut written = 0;
        for s in &slices[..n] {
            sink.extend_from_slice(s);
            written += s.len();
        }
        out.advance(written);
    }
}

fn wsproto_encode(input: &Input, iters: u64, sink: Vec<u8>) -> (Duration, Vec<u8>) {
    wsproto_encode_with(input, iters, sink, wsproto::RngSource::Os)
}

/// A diagnostic row, not a configuration to use: wsproto with a deterministic mask source,
/// which shows what the default CSPRNG (ChaCha8 keyed from `getrandom`) costs.
fn wsproto_seeded_encode(input: &Input, iters: u64, sink: Vec<u8>) -> (Duration, Vec<u8>) {
    wsproto_encode_with(input, iters, sink, wsproto::RngSource::Seeded(7))
}

fn wsproto_encode_with(
    input: &Input,
    iters: u64,
    mut sink: Vec<u8>,
    rng: wsproto::RngSource,
) -> (Duration, Vec<u8>) {
    use wsproto::{Config, Connection, Role, SendError};
    let config = Config::default().max_message_size(crate::decode::MAX_MESSAGE).rng(rng);
    let t = Instant::now();
    for _ in 0..iters {
        sink.clear();
        let mut conn = Connection::new(Role::Client, config.clone(), Instant::now());
        for _ in 0..input.count {
            loop {
                match conn.send_binary_from_slice(&input.payload) {
                    Ok(()) => break,
                    Err(SendError::Backpressure) => wsproto_drain(&mut conn, &mut sink),
                    Err(e) => panic!("wsproto: {e:?}"),
                }
            }
        }
        wsproto_drain(&mut conn, &mut sink);
        black_box(&sink);
    }
    (t.elapsed(), sink)
}

fn tungstenite_encode(input: &Input, iters: u64, mut sink: Vec<u8>) -> (Duration, Vec<u8>) {
    use tungstenite::protocol::{Role, WebSocket};
    let t = Instant::now();
    for _ in 0..iters {
        sink.clear();
        let io = MemIo::writer(sink);
        let mut ws = WebSocket::from_raw_socket(io, Role::Client, None);
        for _ in 0..input.count {
            ws.write(tungstenite::Message::Binary(input.payload.clone())).unwrap();
        }
        ws.flush().unwrap();
        sink = ws.into_inner().output;
        black_box(&sink);
    }
    (t.elapsed(), sink)
}

fn tokio_tungstenite_encode(input: &Input, iters: u64, sink: Vec<u8>) -> (Duration, Vec<u8>) {
    use tokio_tungstenite::WebSocketStream;
    use tungstenite::protocol::Role;
    runtime().block_on(async move {
        let mut sink = sink;
        let t = Instant::now();
        for _ in 0..iters {
            sink.clear();
            let io = MemIo::writer(sink);
            let mut ws = WebSocketStream::from_raw_socket(io, Role::Client, None).await;
            for _ in 0..input.count {
                ws.feed(tungstenite::Message::Binary(input.payload.clone())).await.unwrap();
            }
            ws.flush().await.unwrap();
            sink = std::mem::take(&mut ws.get_mut().output);
            black_box(&sink);
        }
        (t.elapsed(), sink)
    })
}

fn fastwebsockets_encode(input: &Input, iters: u64, sink: Vec<u8>) -> (Duration, Vec<u8>) {
    use fastwebsockets::{Frame, Payload, Role, WebSocket};
    runtime().block_on(async move {
        let mut sink = sink;
        let t = Instant::now();
        for _ in 0..iters {
            sink.clear();
            let io = MemIo::writer(sink);
            let mut ws = WebSocket::after_handshake(io, Role::Client);
            for _ in 0..input.count {
                let frame = Frame::binary(Payload::Borrowed(&input.payload));
                ws.write_frame(frame).await.unwrap();
            }
            ws.flush().await.unwrap();
            sink = ws.into_inner().output;
            black_box(&sink);
        }
        (t.elapsed(), sink)
    })
}

fn tokio_websockets_encode(input: &Input, iters: u64, sink: Vec<u8>) -> (Duration, Vec<u8>) {
    use tokio_websockets::{ClientBuilder, Message};
    runtime().block_on(async move {
        let mut sink = sink;
        let t = Instant::now();
        for _ in 0..iters {
            sink.clear();
            let io = MemIo::writer(sink);
            let mut ws = ClientBuilder::new().take_over(io);
            for _ in 0..input.count {
                ws.feed(Message::binary(input.payload.clone())).await.unwrap();
            }
            ws.flush().await.unwrap();
            sink = std::mem::take(&mut ws.get_mut().output);
            black_box(&sink);
        }
        (t.elapsed(), sink)
    })
}

fn sockudo_encode(input: &Input, iters: u64, mut sink: Vec<u8>) -> (Duration, Vec<u8>) {
    use sockudo_ws::protocol::{Message, Protocol};
    const FLUSH_AT: usize = 64 << 10;
    let t = Instant::now();
    for _ in 0..iters {
        sink.clear();
        let mut proto =
            Protocol::new(sockudo_ws::Role::Client, crate::decode::MAX_FRAME, crate::decode::MAX_MESSAGE);
        let mut buf = BytesMut::with_capacity(FLUSH_AT);
        for _ in 0..input.count {
            proto.encode_message(&Message::Binary(input.payload.clone()), &mut buf).unwrap();
            if buf.len() >= FLUSH_AT {
                sink.extend_from_slice(&buf);
                buf.clear();
            }
        }
        sink.extend_from_slice(&buf);
        black_box(&sink);
    }
    (t.elapsed(), sink)
}

/// yawc never hands its stream back (no `get_mut`/`into_inner`), so its sink is shared.
fn yawc_encode(input: &Input, iters: u64, sink: Vec<u8>) -> (Duration, Vec<u8>) {
    use yawc::frame::Frame;
    let shared = Rc::new(RefCell::new(sink));
    let t = runtime().block_on(async {
        let t = Instant::now();
        for _ in 0..iters {
            shared.borrow_mut().clear();
            let io = MemIo::shared_writer(shared.clone());
            let mut ws =
                yawc::WebSocket::from_stream(io, yawc::Role::Client, crate::decode::yawc_options()).unwrap();
            for _ in 0..input.count {
                ws.feed(Frame::binary(input.payload.clone())).await.unwrap();
            }
            ws.flush().await.unwrap();
            drop(ws);
            black_box(&shared);
        }
        t.elapsed()
    });
    (t, Rc::try_unwrap(shared).unwrap().into_inner())
}

fn header_len(len: usize) -> usize {
    4 + if len < 126 {
        2
    } else if len <= 0xffff {
        4
    } else {
        10
    }
}

fn case(name: &str, size: usize, count: usize) -> Case {
    let payload = Bytes::from((0..size).map(|i| (i * 11) as u8).collect::<Vec<u8>>());
    let wire_len = count * (header_len(size) + size);
    let input = Input { payload, count, wire_len };
    let unit = if size < 1024 { Unit::Messages(count as u64) } else { Unit::Bytes((size * count) as u64) };
    Case {
        group: "Client encode (masked, in memory)",
        name: name.into(),
        unit,
        wire_bytes: wire_len as u64,
        entries: vec![
            memcpy_entry(&input),
            entry("wsproto", input.clone(), wsproto_encode),
            entry("tungstenite", input.clone(), tungstenite_encode),
            entry("tokio-tungstenite", input.clone(), tokio_tungstenite_encode),
            entry("fastwebsockets", input.clone(), fastwebsockets_encode),
            entry("tokio-websockets", input.clone(), tokio_websockets_encode),
            entry("sockudo-ws", input.clone(), sockudo_encode),
            entry("yawc", input.clone(), yawc_encode),
            entry("(wsproto, seeded masks)", input, wsproto_seeded_encode),
        ],
        skipped: vec![],
    }
}

pub fn cases() -> Vec<Case> {
    vec![case("encode 16 B binary ×65536", 16, 65_536), case("encode 64 KiB binary ×32", 64 << 10, 32)]
}
