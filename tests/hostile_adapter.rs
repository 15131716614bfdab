//! A hostile peer against the blocking adapter, over loopback, where time or the socket is
//! part of the attack:
//!
//! - slowloris: a request or response trickled a byte at a time ends at the handshake timeout;
//! - frames in the same segment as the handshake are processed, on both sides;
//! - close handshakes that never finish (Tomcat CVE-2024-23672) end at the close timeout, even
//!   when the peer keeps the connection busy;
//! - a peer that never reads (ws-rs CVE-2020-35896): `send` blocks in the kernel with the heap
//!   bounded, and a write timeout on the transport turns that into an error;
//! - a ping flood from a peer that never reads: heap bounded;
//! - a server answering the handshake badly gets no frame from the client;
//! - the stream ending in the middle of a message.
//!
//! Every test runs on 127.0.0.1 with ephemeral ports and is bounded in time; heap figures are
//! taken while no other test of this binary runs.
#![cfg(feature = "blocking")]

mod common;
mod support;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{RawFrame, op, parse_frames};
use support::heap::*;
use support::raw::*;
use support::{SLACK, join, within};
use wsproto::blocking::{self, Options, WebSocket};
use wsproto::handshake::{Accept, ClientRequest};
use wsproto::{CloseCause, CloseCode, Config, ErrorKind, Message};

/// Counts the heap, for the bounds on memory (see `support::heap`).
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The longest any test here may take.
const LIMIT: Duration = Duration::from_secs(10);
/// The timeouts under test.
const SHORT: Duration = Duration::from_millis(300);

/// Runs a test body within `limit`, alongside other tests.
fn bounded<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let _shared = shared();
    within(limit, body)
}

/// Runs a test body within `limit`, while no other test in this binary runs.
fn bounded_alone<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let _alone = alone();
    within(limit, body)
}

fn options(config: Config) -> Options {
    Options::default().config(config)
}

/// Accepts one connection and runs the server handshake on it, accepting every request.
fn accept_one(listener: &TcpListener, config: Config) -> WebSocket<TcpStream> {
    let (tcp, _) = listener.accept().expect("accept");
    blocking::accept_with(tcp, &options(config), |_| Ok(Accept::new())).expect("handshake")
}

/// The upgrade request a raw client sends (the RFC's example key).
fn raw_request(addr: std::net::SocketAddr) -> Vec<u8> {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// Reads until end of stream or a reset (a peer that closes with unread input resets the
/// connection); returns what arrived.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 64 << 10];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) =>
            {
                return out;
            }
            Err(e) => panic!("reading until the peer closes: {e}"),
        }
    }
}

/// Waits until `counter` has not moved for `quiet`: the thread bumping it is blocked. Gives up
/// (returning `false`) after `limit`.
fn wait_until_stalled(counter: &AtomicUsize, quiet: Duration, limit: Duration) -> bool {
    let start = Instant::now();
    let mut last = counter.load(Ordering::SeqCst);
    let mut since = Instant::now();
    while start.elapsed() < limit {
        thread::sleep(Duration::from_millis(20));
        let now = counter.load(Ordering::SeqCst);
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() >= quiet {
            return true;
        }
    }
    false
}

/// The whole frames at the start of `wire` (a partial one at the end is left out).
fn parse_frames_prefix(wire: &[u8]) -> Vec<common::WireFrame> {
    let mut end = 0;
    loop {
        let rest = &wire[end..];
        if rest.len() < 2 {
            break;
        }
        let (len, at) = match rest[1] & 0x7F {
            126 if rest.len() >= 4 => (u64::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            127 if rest.len() >= 10 => (u64::from_be_bytes(rest[2..10].try_into().unwrap()), 10),
            126 | 127 => break,
            n => (u64::from(n), 2),
        };
        let total = at + if rest[1] & 0x80 != 0 { 4 } else { 0 } + len as usize;
        if rest.len() < total {
            break;
        }
        end += total;
    }
    parse_frames(&wire[..end])
}

/// A raw client that completes the handshake, then reads nothing until `go` is set, and then
/// reads to the end of the stream.
fn sleepy_reader(addr: std::net::SocketAddr, go: Arc<AtomicBool>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let (mut tcp, rest) = raw_client(addr);
        while !go.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(10));
        }
        let mut wire = rest;
        wire.extend(read_until_closed(&mut tcp));
        wire
    })
}

/// The `Sec-WebSocket-Accept` value for `key`.
fn accept(key: &str) -> String {
    wsproto::handshake::accept_key(key.as_bytes())
}

// ------------------------------------------------------------------ slowloris

#[test]
fn a_client_trickling_one_header_byte_every_50_ms_is_dropped_at_the_handshake_timeout() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let trickler = thread::spawn(move || {
            let mut tcp = TcpStream::connect(addr).unwrap();
            tcp.set_nodelay(true).unwrap();
            // The read timeout paces the trickle and notices the server hanging up.
            tcp.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut bytes =
                b"GET /ws HTTP/1.1\r\nHost: h\r\nX-Slow: ".iter().copied().chain(std::iter::repeat(b'a'));
            let (mut sent, mut answer) = (0, Vec::new());
            let start = Instant::now();
            let mut buf = [0u8; 1024];
            while start.elapsed() < Duration::from_secs(5) {
                if tcp.write_all(&[bytes.next().unwrap()]).is_err() {
                    break;
                }
                sent += 1;
                match tcp.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                    Err(_) => break,
                }
            }
            (sent, answer, start.elapsed())
        });
        let (tcp, _) = listener.accept().unwrap();
        let start = Instant::now();
        let error = blocking::accept_with(tcp, &options(Config::default().handshake_timeout(SHORT)), |_| {
            Ok(Accept::new())
        })
        .unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(elapsed >= SHORT && elapsed < SHORT + SLACK, "the server gave up after {elapsed:?}");
        let (sent, answer, trickled) = join(trickler);
        assert!(answer.is_empty(), "a timed-out handshake is closed without an answer: {answer:?}");
        assert!(
            trickled < SHORT + SLACK + Duration::from_millis(200),
            "the trickler was cut off after {trickled:?}"
        );
        eprintln!("slowloris: {sent} bytes trickled, server gave up after {elapsed:?}");
    });
}

#[test]
fn a_server_trickling_its_response_is_dropped_at_the_handshake_timeout() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let trickler = thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.set_nodelay(true).unwrap();
            let _ = read_head(&mut tcp);
            let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX-Slow: ";
            for byte in response.iter().copied().chain(std::iter::repeat(b'a')).take(200) {
                if tcp.write_all(&[byte]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
        let start = Instant::now();
        let error = blocking::connect_with(
            ClientRequest::new(&ws_url(addr, "/")).unwrap(),
            &options(Config::default().handshake_timeout(SHORT)),
        )
        .unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(elapsed >= SHORT && elapsed < SHORT + SLACK, "the client gave up after {elapsed:?}");
        join(trickler);
    });
}

// ------------------------------------------------------------------ frames with the handshake

#[test]
fn a_request_and_frames_in_one_segment_reach_the_server_application() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let peer = thread::spawn(move || {
            let mut tcp = TcpStream::connect(addr).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut segment = raw_request(addr);
            segment.extend(RawFrame::text("hello").client());
            segment.extend(RawFrame::ping("p").client());
            segment.extend(RawFrame::binary(vec![9; 10_000]).client());
            tcp.write_all(&segment).unwrap();
            let (head, rest) = read_head(&mut tcp).unwrap();
            assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
            // Answer the server's close, then read to its end of stream.
            let mut wire = rest;
            while !parse_frames_prefix(&wire).iter().any(|f| f.opcode == op::CLOSE) {
                let mut buf = [0u8; 4096];
                let n = tcp.read(&mut buf).unwrap();
                assert!(n > 0, "the server ended the stream before its close frame");
                wire.extend_from_slice(&buf[..n]);
            }
            tcp.write_all(&RawFrame::close(1000, "").client()).unwrap();
            read_to_eof(&mut tcp, wire)
        });
        let mut ws = accept_one(&listener, Config::default());
        assert_eq!(ws.recv().unwrap(), Some(Message::Text("hello".into())));
        assert_eq!(ws.recv().unwrap(), Some(Message::Binary(vec![9; 10_000].into())));
        ws.close(CloseCode::NORMAL, "done").unwrap();
        assert_eq!(ws.recv().unwrap(), None, "a clean close");
        drop(ws);
        let frames = parse_frames(&join(peer));
        let kinds: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
        assert_eq!(kinds, [op::PONG, op::CLOSE], "the pong for the pipelined ping, then the close");
        assert_eq!(frames[0].payload, b"p");
    });
}

#[test]
fn a_response_and_frames_in_one_segment_reach_the_client_application() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let mut frames = RawFrame::text("first").server();
        frames.extend(RawFrame::ping("hb").server());
        frames.extend(RawFrame::close(1000, "bye").server());
        let peer = thread::spawn(move || {
            let mut tcp = raw_server_accept(&listener, &frames);
            // Read the client's answers up to the echo of our close, then close TCP first, as
            // a server does (RFC 6455 §7.1.1).
            let mut wire = Vec::new();
            while !parse_frames_prefix(&wire).iter().any(|f| f.opcode == op::CLOSE) {
                let mut buf = [0u8; 4096];
                let n = tcp.read(&mut buf).unwrap();
                assert!(n > 0, "the client ended the stream before its close frame");
                wire.extend_from_slice(&buf[..n]);
            }
            wire
        });
        let mut ws = blocking::connect(&ws_url(addr, "/")).unwrap();
        assert_eq!(ws.recv().unwrap(), Some(Message::Text("first".into())));
        // The close came in the same segment: recv answers it, sees the server's end of
        // stream, and reports a clean close.
        assert_eq!(ws.recv().unwrap(), None);
        assert!(ws.close_outcome().unwrap().is_clean());
        let frames = parse_frames(&join(peer));
        let kinds: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
        assert_eq!(kinds, [op::PONG, op::CLOSE], "pong, then the echo of the close");
        assert_eq!(frames[0].payload, b"hb");
        assert_eq!(frames[1].close_code(), Some(1000));
    });
}

// ------------------------------------------------------------------ CVE-2024-23672

#[test]
fn a_peer_that_never_answers_our_close_is_dropped_at_the_close_timeout() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let peer = thread::spawn(move || {
            let (mut tcp, rest) = raw_client(addr);
            // Read everything, answer nothing.
            read_to_eof(&mut tcp, rest)
        });
        let mut ws = accept_one(&listener, Config::default().close_timeout(SHORT));
        let start = Instant::now();
        ws.close(CloseCode::GOING_AWAY, "shutting down").unwrap();
        let error = ws.recv().unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        let outcome = ws.close_outcome().unwrap();
        assert_eq!((outcome.cause.clone(), outcome.code), (CloseCause::CloseTimeout, CloseCode::ABNORMAL));
        assert!(elapsed >= SHORT && elapsed < SHORT + SLACK, "dropped after {elapsed:?}");
        drop(ws);
        let frames = parse_frames(&join(peer));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].close_code(), Some(1001));
    });
}

#[test]
fn a_peer_that_keeps_sending_but_never_closes_is_dropped_at_the_close_timeout() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_peer = stop.clone();
        let peer = thread::spawn(move || {
            let (mut tcp, _) = raw_client(addr);
            let mut reader = tcp.try_clone().unwrap();
            let drain = thread::spawn(move || read_until_closed(&mut reader));
            // A ping and a message every 20 ms, never a close frame.
            let mut sent = 0;
            while !stop_peer.load(Ordering::SeqCst) {
                let mut burst = RawFrame::ping("alive").client();
                burst.extend(RawFrame::text(format!("chatter {sent}")).client());
                if tcp.write_all(&burst).is_err() {
                    break;
                }
                sent += 1;
                thread::sleep(Duration::from_millis(20));
            }
            (sent, join(drain))
        });
        let mut ws = accept_one(&listener, Config::default().close_timeout(SHORT));
        thread::sleep(Duration::from_millis(100));
        let start = Instant::now();
        ws.close(CloseCode::NORMAL, "").unwrap();
        let mut delivered_after_close = 0;
        let error = loop {
            match ws.recv() {
                // RFC 6455 §7.1: data after our close frame is still delivered; it does not
                // extend the wait for the peer's close frame.
                Ok(Some(_)) => delivered_after_close += 1,
                Ok(None) => panic!("the peer never closed, so the close cannot be clean"),
                Err(error) => break error,
            }
        };
        let elapsed = start.elapsed();
        stop.store(true, Ordering::SeqCst);
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        assert_eq!(ws.close_outcome().map(|o| o.cause.clone()), Some(CloseCause::CloseTimeout));
        assert!(elapsed >= SHORT && elapsed < SHORT + SLACK, "dropped after {elapsed:?}");
        assert!(delivered_after_close >= 3, "only {delivered_after_close} messages after our close");
        drop(ws);
        let (sent, wire) = join(peer);
        // Pongs for the pings before our close, then the close frame, then nothing.
        let frames = parse_frames(&wire);
        let close_at = frames.iter().position(|f| f.opcode == op::CLOSE).expect("our close frame");
        assert_eq!(close_at + 1, frames.len(), "nothing after our close frame");
        assert!(frames[..close_at].iter().all(|f| f.opcode == op::PONG));
        eprintln!(
            "chatty peer: {sent} bursts, {delivered_after_close} messages after our close, dropped after {elapsed:?}"
        );
    });
}

// ------------------------------------------------------------------ CVE-2020-35896: a peer that never reads

#[test]
fn a_peer_that_never_reads_blocks_send_in_the_kernel_with_the_heap_bounded() {
    bounded_alone(LIMIT, || {
        let (listener, addr) = loopback();
        let go = Arc::new(AtomicBool::new(false));
        let peer = sleepy_reader(addr, go.clone());
        let config = Config::default().close_timeout(SHORT);
        let high_water = config.outgoing_high_water;
        let mut ws = accept_one(&listener, config);
        let text = "w".repeat(16 << 10);
        let sends = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let probe = HeapProbe::start();
        let sender = {
            let (sends, stop) = (sends.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    ws.send_text(&text).expect("the peer is slow, not gone");
                    sends.fetch_add(1, Ordering::SeqCst);
                }
                ws
            })
        };
        assert!(
            wait_until_stalled(&sends, Duration::from_millis(300), Duration::from_secs(5)),
            "send never blocked"
        );
        let stalled = sends.load(Ordering::SeqCst);
        let held = probe.growth();
        let peak = probe.peak_growth();
        // One 16 KiB message copied into `outgoing` at a time, below the 64 KiB mark: the rest
        // waits in the kernel's socket buffers, not on our heap.
        let budget = high_water + (16 << 10) + (64 << 10);
        assert!(
            peak <= budget,
            "peak heap +{} with {stalled} sends stalled (budget {})",
            kib(peak),
            kib(budget)
        );
        eprintln!(
            "peer never reads: send blocked after {stalled} x 16 KiB ({} in kernel buffers); heap +{} now, peak +{}",
            kib(stalled * (16 << 10)),
            kib(held),
            kib(peak)
        );
        // Unblock by reading: every message arrives whole, in order.
        stop.store(true, Ordering::SeqCst);
        go.store(true, Ordering::SeqCst);
        let mut ws = join(sender);
        let total = sends.load(Ordering::SeqCst);
        ws.close(CloseCode::NORMAL, "").unwrap();
        assert_eq!(ws.recv().unwrap_err().kind(), ErrorKind::Closed, "the reader never answers the close");
        drop(ws);
        let frames = parse_frames(&join(peer));
        assert_eq!(frames.len(), total + 1, "{total} messages and the close frame");
        assert!(frames[..total].iter().all(|f| f.opcode == op::TEXT && f.payload.len() == 16 << 10));
    });
}

#[test]
fn a_write_timeout_on_the_transport_turns_a_peer_that_never_reads_into_a_timeout_error() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let go = Arc::new(AtomicBool::new(false));
        let peer = sleepy_reader(addr, go.clone());
        let (tcp, _) = listener.accept().unwrap();
        // The adapter never blocks forever if the transport does not: a write timeout set on
        // the stream before the handshake bounds every write.
        let write_timeout = Duration::from_millis(200);
        tcp.set_write_timeout(Some(write_timeout)).unwrap();
        let mut ws = blocking::accept_with(tcp, &Options::default(), |_| Ok(Accept::new())).unwrap();
        let payload = bytes::Bytes::from(vec![0x77; 64 << 10]);
        let mut last_ok = Instant::now();
        let error = loop {
            match ws.send_binary(payload.clone()) {
                Ok(()) => last_ok = Instant::now(),
                Err(error) => break error,
            }
        };
        let blocked_for = last_ok.elapsed();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(blocked_for >= write_timeout && blocked_for < write_timeout + SLACK, "{blocked_for:?}");
        // The connection is over: nothing more is sent.
        assert!(ws.send_text("more").is_err());
        drop(ws);
        go.store(true, Ordering::SeqCst);
        join(peer);
    });
}

#[test]
fn a_ping_flood_from_a_peer_that_never_reads_keeps_the_servers_heap_bounded() {
    bounded_alone(LIMIT, || {
        let (listener, addr) = loopback();
        let written = Arc::new(AtomicUsize::new(0));
        let (tcp_tx, tcp_rx) = std::sync::mpsc::channel();
        let flood = {
            let written = written.clone();
            thread::spawn(move || {
                let (mut tcp, _) = raw_client(addr);
                tcp_tx.send(tcp.try_clone().unwrap()).unwrap();
                // 125-byte pings, so the pongs outgrow the kernel's buffers; never read.
                let mut burst = Vec::new();
                for i in 0..512u32 {
                    let mut payload = vec![0xAB; 125];
                    payload[..4].copy_from_slice(&i.to_be_bytes());
                    burst.extend(RawFrame::ping(payload).client());
                }
                while tcp.write_all(&burst).is_ok() {
                    written.fetch_add(burst.len(), Ordering::SeqCst);
                }
            })
        };
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = blocking::accept_with(tcp, &Options::default(), |_| Ok(Accept::new())).unwrap();
        let probe = HeapProbe::start();
        let server = thread::spawn(move || ws.recv().map(|m| m.is_some()));
        assert!(
            wait_until_stalled(&written, Duration::from_millis(300), Duration::from_secs(8)),
            "the flood never stalled"
        );
        let flooded = written.load(Ordering::SeqCst);
        let peak = probe.peak_growth();
        eprintln!(
            "ping flood, peer never reads: {} of pings sent before both sides blocked; server heap peak +{}",
            kib(flooded),
            kib(peak)
        );
        // One 64 KiB read of pings in flight (the read's copy, their events, the pongs under
        // the high-water mark, each in a buffer that doubles), whatever the size of the flood.
        assert!(peak <= 768 << 10, "server heap peak +{} after {} of pings", kib(peak), kib(flooded));
        // Unblock both sides: shutting the peer's socket wakes its blocked write; closing it
        // with unread bytes resets the connection, which fails the server's blocked write, and
        // `recv` reports it.
        let tcp: TcpStream = tcp_rx.recv().unwrap();
        tcp.shutdown(Shutdown::Both).unwrap();
        join(flood);
        drop(tcp);
        let result = join(server);
        assert!(result.is_err(), "{result:?}");
    });
}

// ------------------------------------------------------------------ bad handshake responses

#[test]
fn a_client_given_a_bad_accept_or_an_unoffered_subprotocol_sends_nothing_after_its_request() {
    bounded(LIMIT, || {
        let cases: [fn(&str) -> String; 5] = [
            |_| "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n".into(),
            |_| String::new(),
            |key| format!("Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: superchat\r\n", accept(key)),
            |key| format!("Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: x-zip\r\n", accept(key)),
            |key| {
                format!("Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Accept: {}\r\n", accept(key), accept(key))
            },
        ];
        for (i, extra) in cases.into_iter().enumerate() {
            let (listener, addr) = loopback();
            let server = thread::spawn(move || {
                let (mut tcp, _) = listener.accept().unwrap();
                tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let (head, early) = read_head(&mut tcp).unwrap();
                let key = header(&head, "Sec-WebSocket-Key").unwrap().to_owned();
                let mut response = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{}\r\n",
                    extra(&key)
                )
                .into_bytes();
                // A ping in the same segment: a client that took the handshake would answer it.
                response.extend(RawFrame::ping("answer me").server());
                tcp.write_all(&response).unwrap();
                let mut after = early;
                after.extend(read_until_closed(&mut tcp));
                after
            });
            let request = ClientRequest::new(&ws_url(addr, "/ws")).unwrap().protocol("chat").unwrap();
            let error = blocking::connect_with(request, &Options::default()).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Handshake, "case {i}: {error}");
            let after = join(server);
            assert!(after.is_empty(), "case {i}: the client sent {after:02x?} after its request");
        }
    });
}

// ------------------------------------------------------------------ end of stream mid-message

#[test]
fn end_of_stream_in_the_middle_of_a_message_ends_recv_with_1006() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let peer = thread::spawn(move || {
            let (mut tcp, _) = raw_client(addr);
            let frame = RawFrame::binary(vec![5; 100_000]).client();
            tcp.write_all(&RawFrame::text("whole").client()).unwrap();
            tcp.write_all(&frame[..50_000]).unwrap();
            tcp.shutdown(Shutdown::Write).unwrap();
            read_until_closed(&mut tcp)
        });
        let mut ws = accept_one(&listener, Config::default());
        assert_eq!(ws.recv().unwrap(), Some(Message::Text("whole".into())));
        let error = ws.recv().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        let outcome = ws.close_outcome().unwrap();
        assert_eq!((outcome.code, outcome.cause.clone()), (CloseCode::ABNORMAL, CloseCause::Eof));
        assert_eq!(ws.connection().buffered(), 0, "the partial message is dropped");
        drop(ws);
        assert!(join(peer).is_empty(), "no close frame after the peer's end of stream");
    });
}
