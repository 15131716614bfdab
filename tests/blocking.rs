//! The blocking adapter over real loopback sockets: client against server, a stream socket
//! carrying a large message in bounded memory, connect and handshake failures, and the timers
//! (keep-alive, close timeout) firing while a call blocks, against raw peers that misbehave.
//!
//! Every test runs on 127.0.0.1 with ephemeral ports and is bounded in time by `bounded`.
#![cfg(feature = "blocking")]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use support::heap::{self, CountingAllocator};
use support::payload::*;
use support::raw::*;
use support::{SLACK, join, within};
use wsproto::blocking::{self, Options};
use wsproto::handshake::{Accept, ClientRequest};
use wsproto::{CloseCause, CloseCode, Config, Error, ErrorKind, Initiator, KeepAlive, Message, SocketError};

/// The longest any test here may take.
const LIMIT: Duration = Duration::from_secs(20);
/// The bound for tests of timers, which each wait well under a second.
const TIMER_LIMIT: Duration = Duration::from_secs(5);

// ------------------------------------------------------------------ heap accounting

/// Counts the heap, for the stream socket's bound (see `support::heap`).
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs a test body within `limit`, alongside other tests.
fn bounded<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let _shared = heap::shared();
    within(limit, body)
}

/// Runs a test body within `limit`, while no other test in this binary runs.
fn bounded_alone<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let _alone = heap::alone();
    within(limit, body)
}

// ------------------------------------------------------------------ helpers

fn options(config: Config) -> Options {
    Options::default().config(config)
}

/// Accepts one connection on `listener` and echoes every message until the connection ends.
/// Returns how many messages were echoed, the close outcome and the socket's info.
fn spawn_echo_server(
    listener: std::net::TcpListener,
    options: Options,
) -> thread::JoinHandle<(u64, Option<wsproto::CloseOutcome>, wsproto::Info)> {
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = blocking::accept_with(tcp, &options, |request| {
            assert_eq!(request.path(), "/ws");
            if request.protocols().iter().any(|p| p == "chat") {
                Ok(Accept::new().protocol("chat"))
            } else {
                Ok(Accept::new())
            }
        })
        .expect("the server accepts");
        let mut echoed = 0;
        while let Some(message) = ws.recv().expect("the server receives until a clean close") {
            ws.send(message).expect("the server echoes");
            echoed += 1;
        }
        (echoed, ws.close_outcome().cloned(), ws.info().clone())
    })
}

// ------------------------------------------------------------------ client against server

#[test]
fn client_and_server_exchange_every_message_size_ping_and_a_client_close_over_loopback() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let config = Config::default().max_message_size(8 << 20).max_frame_size(8 << 20);
        let server = spawn_echo_server(listener, options(config.clone()));

        let request = ClientRequest::new(&ws_url(addr, "/ws")).unwrap().protocol("chat").unwrap();
        let mut ws = blocking::connect_with(request, &options(config)).expect("the client connects");
        assert_eq!(ws.info().protocol.as_deref(), Some("chat"), "the client sees the selected subprotocol");

        let messages = sample_messages(4 << 20);
        let (mut client_frames, mut server_frames) = (0, 0);
        for message in &messages {
            ws.send(message.clone()).unwrap();
            let echo = ws.recv().unwrap().expect("an echo, not the end");
            assert!(echo == *message, "the echo of a {} differs", describe(message));
            client_frames += frame_len(message.as_bytes().len(), true);
            server_frames += frame_len(message.as_bytes().len(), false);
        }

        // The pong is consumed inside `recv`; the byte counters below show it was sent.
        let ping = b"are you there?";
        ws.ping(ping).unwrap();
        ws.send_text("after the ping").unwrap();
        assert_eq!(ws.recv().unwrap(), Some(Message::Text("after the ping".into())));
        client_frames += frame_len(ping.len(), true) + frame_len("after the ping".len(), true);
        server_frames += frame_len(ping.len(), false) + frame_len("after the ping".len(), false);

        ws.close(CloseCode::NORMAL, "client done").unwrap();
        client_frames += frame_len(2 + "client done".len(), true);
        assert_eq!(ws.recv().unwrap(), None, "after our close, recv ends with Ok(None)");
        let outcome = ws.close_outcome().expect("an outcome after the close").clone();
        assert_eq!((outcome.code, outcome.initiator), (CloseCode::NORMAL, Initiator::Local));
        assert!(outcome.is_clean(), "{outcome:?}");
        let client = ws.info().clone();
        drop(ws);

        let (echoed, server_outcome, server) = join(server);
        let sent = messages.len() as u64 + 1;
        assert_eq!(echoed, sent);
        let server_outcome = server_outcome.expect("the server saw the close");
        assert_eq!(
            (server_outcome.code, server_outcome.reason.as_str(), server_outcome.initiator),
            (CloseCode::NORMAL, "client done", Initiator::Peer)
        );
        assert!(server_outcome.is_clean(), "{server_outcome:?}");

        // Addresses and subprotocol, seen from both ends.
        assert_eq!(client.peer_addr, Some(addr));
        assert_eq!(server.local_addr, Some(addr));
        assert!(client.local_addr.is_some());
        assert_eq!(server.peer_addr, client.local_addr);
        assert_eq!(server.protocol.as_deref(), Some("chat"));
        assert!(client.extensions.is_empty() && server.extensions.is_empty());

        // Message counters.
        assert_eq!((client.messages_sent, client.messages_received), (sent, sent));
        assert_eq!((server.messages_sent, server.messages_received), (sent, sent));

        // Byte counters: every frame the client wrote (masked: 4 more bytes each) and the
        // server read, and the server's echoes, pong and close reply.
        assert_eq!(client.bytes_written, client_frames, "client frames: messages, ping, close");
        assert_eq!(server.bytes_read, client.bytes_written);
        assert_eq!(client.bytes_read, server.bytes_written);
        let close_reply = server.bytes_written.checked_sub(server_frames).unwrap_or_else(|| {
            panic!(
                "the server wrote {} bytes, fewer than its echoes and pong ({server_frames})",
                server.bytes_written
            )
        });
        assert!((4..=127).contains(&close_reply), "the server's close reply took {close_reply} bytes");
    });
}

#[test]
fn server_closes_with_code_and_reason_and_both_ends_see_a_clean_close() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut ws = blocking::accept(tcp).unwrap();
            assert_eq!(ws.recv().unwrap(), Some(Message::Text("hi".into())));
            ws.send_text("bye soon").unwrap();
            ws.close(CloseCode::GOING_AWAY, "server shutting down").unwrap();
            assert_eq!(ws.recv().unwrap(), None, "the server's recv ends with Ok(None)");
            ws.close_outcome().cloned()
        });

        let mut ws = blocking::connect(&ws_url(addr, "/")).unwrap();
        assert_eq!(ws.info().protocol, None, "no subprotocol offered, none selected");
        ws.send_text("hi").unwrap();
        assert_eq!(ws.recv().unwrap(), Some(Message::Text("bye soon".into())));
        assert_eq!(ws.recv().unwrap(), None, "the server's close ends the client's recv with Ok(None)");
        let outcome = ws.close_outcome().unwrap().clone();
        assert_eq!(
            (outcome.code, outcome.reason.as_str(), outcome.initiator),
            (CloseCode::GOING_AWAY, "server shutting down", Initiator::Peer)
        );
        assert!(outcome.is_clean(), "{outcome:?}");
        let refused = ws.send_text("too late").unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Send, "sending after the close is refused: {refused}");
        drop(ws);

        let server_outcome = join(server).expect("the server has an outcome");
        assert_eq!(
            (server_outcome.code, server_outcome.initiator),
            (CloseCode::GOING_AWAY, Initiator::Local)
        );
        assert!(server_outcome.is_clean(), "{server_outcome:?}");
    });
}

#[test]
fn client_counts_a_frame_that_arrives_in_the_same_read_as_the_101_response() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let early = unmasked_frame(0x1, b"early");
        let frame_bytes = early.len() as u64;
        let server = thread::spawn(move || {
            let mut tcp = raw_server_accept(&listener, &early);
            // Hold the connection until the client is done with it.
            read_to_eof(&mut tcp, Vec::new())
        });
        let mut ws = blocking::connect(&ws_url(addr, "/")).unwrap();
        assert_eq!(ws.recv().unwrap(), Some(Message::Text("early".into())));
        assert_eq!(ws.info().messages_received, 1);
        assert_eq!(ws.info().bytes_read, frame_bytes, "the frame that came with the 101 is counted");
        drop(ws);
        join(server);
    });
}

#[test]
fn a_thousand_pipelined_messages_are_all_echoed_in_order() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let server = spawn_echo_server(listener, Options::default());
        let mut ws = blocking::connect(&ws_url(addr, "/ws")).unwrap();
        let start = Instant::now();
        for i in 0..1000 {
            if i % 2 == 0 {
                ws.send_text(&format!("message {i}")).unwrap();
            } else {
                ws.send_binary(format!("binary {i}").into_bytes()).unwrap();
            }
        }
        for i in 0..1000 {
            let expected = if i % 2 == 0 {
                Message::Text(format!("message {i}").into())
            } else {
                Message::Binary(format!("binary {i}").into_bytes().into())
            };
            assert_eq!(ws.recv().unwrap(), Some(expected), "echo number {i}");
        }
        let elapsed = start.elapsed();
        ws.close(CloseCode::NORMAL, "").unwrap();
        assert_eq!(ws.recv().unwrap(), None);
        drop(ws);
        let (echoed, outcome, info) = join(server);
        assert_eq!((echoed, info.messages_received, info.messages_sent), (1000, 1000, 1000));
        assert!(outcome.unwrap().is_clean());
        eprintln!("1,000 pipelined messages echoed in {elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "1,000 small echoes took {elapsed:?}");
    });
}

// ------------------------------------------------------------------ the stream socket

/// The size of the large message. Debug builds move it in a few seconds too.
const STREAM_TOTAL: u64 = 1 << 30;

#[test]
fn stream_socket_passes_a_large_message_in_pieces_with_heap_bounded_by_buffers() {
    bounded_alone(LIMIT, || {
        let total = STREAM_TOTAL;
        let chunks = total / CHUNK as u64;
        let (listener, addr) = loopback();
        let baseline = heap::baseline();

        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut stream =
                blocking::accept_stream(tcp, &Options::default(), |_| Ok(Accept::new())).unwrap();
            let pattern = ChunkPattern::new();
            let mut chunk = vec![0u8; CHUNK];
            let start = Instant::now();
            for k in 0..chunks {
                stream.read_exact(&mut chunk).unwrap_or_else(|e| panic!("chunk {k} of {chunks}: {e}"));
                assert!(pattern.matches(k, &chunk), "chunk {k} has the wrong content");
            }
            let elapsed = start.elapsed();
            assert_eq!(stream.read(&mut chunk).unwrap(), 0, "read returns Ok(0) at the end of the message");
            assert_eq!(stream.read(&mut chunk).unwrap(), 0, "and keeps doing so until next_message");
            assert!(stream.is_message_done());
            assert!(stream.next_message().unwrap(), "a second message follows");
            let mut second = Vec::new();
            stream.read_to_end(&mut second).unwrap();
            assert_eq!(second, b"second message");

            // Answer with the number of bytes received, as a message of its own.
            stream.write_all(&(chunks * CHUNK as u64).to_le_bytes()).unwrap();
            stream.finish_message().unwrap();
            // next_message waits for a third message; the client's close ends the stream instead.
            assert!(!stream.next_message().unwrap(), "the client's close ends the stream");
            assert_eq!(stream.read(&mut chunk).unwrap(), 0);
            let outcome = stream.close_outcome().cloned().unwrap();
            (elapsed, outcome, stream.info().clone())
        });

        let mut stream =
            blocking::connect_stream(ClientRequest::new(&ws_url(addr, "/")).unwrap(), &Options::default())
                .expect("the stream client connects");
        let pattern = ChunkPattern::new();
        let mut chunk = vec![0u8; CHUNK];
        for k in 0..chunks {
            pattern.fill(k, &mut chunk);
            stream.write_all(&chunk).unwrap();
        }
        stream.finish_message().unwrap();
        stream.write_all(b"second message").unwrap();
        stream.finish_message().unwrap();

        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        assert_eq!(answer, total.to_le_bytes(), "the server counted every byte");
        stream.close(CloseCode::NORMAL, "done").unwrap();
        assert!(stream.close_outcome().unwrap().is_clean());
        let client = stream.info().clone();
        drop(stream);

        let (elapsed, outcome, server) = join(server);
        let peak = heap::peak_since(baseline);
        assert!(outcome.is_clean(), "{outcome:?}");
        assert_eq!((client.messages_sent, server.messages_received), (2, 2));
        assert_eq!((server.messages_sent, client.messages_received), (1, 1));
        assert!(server.bytes_read > total);

        let mib = total as f64 / f64::from(1 << 20);
        println!(
            "stream socket: {mib:.0} MiB in {elapsed:.2?} = {:.0} MiB/s; peak heap above baseline {:.2} MiB",
            mib / elapsed.as_secs_f64(),
            peak as f64 / f64::from(1 << 20),
        );
        assert!(peak >= 2 * CHUNK, "the allocator counts (the test's own buffers alone are 2 x 64 KiB)");
        assert!(
            peak < 16 << 20,
            "the heap peaked {peak} bytes above the baseline, for a {total}-byte message"
        );
    });
}

// ------------------------------------------------------------------ connect and handshake failures

#[test]
fn connecting_to_a_closed_port_fails_quickly_with_an_io_error() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        drop(listener);
        let start = Instant::now();
        let error = blocking::connect(&ws_url(addr, "/")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Io, "{error}");
        assert!(start.elapsed() < Duration::from_secs(1), "refusal took {:?}", start.elapsed());
    });
}

#[test]
fn a_server_that_never_answers_the_request_fails_the_handshake_with_a_timeout() {
    bounded(TIMER_LIMIT, || {
        let (listener, addr) = loopback();
        let silent = thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // Read the request and say nothing; return when the client gives up.
            read_to_eof(&mut tcp, Vec::new())
        });
        let timeout = Duration::from_millis(300);
        let start = Instant::now();
        let error = blocking::connect_with(
            ClientRequest::new(&ws_url(addr, "/")).unwrap(),
            &options(Config::default().handshake_timeout(timeout)),
        )
        .unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(elapsed >= timeout && elapsed < timeout + SLACK, "gave up after {elapsed:?}");
        let request = join(silent);
        assert!(request.starts_with(b"GET / HTTP/1.1\r\n"));
    });
}

/// Fills the accept queue of a listener that never accepts, so that the kernel drops further
/// SYNs and a connect hangs. Linux only (it drops SYNs to a full queue); std listens with a
/// backlog of 128. Returns the connections that filled the queue, or `None` if it never filled.
fn fill_accept_queue(addr: std::net::SocketAddr) -> Option<Vec<TcpStream>> {
    let mut held = Vec::new();
    while held.len() < 1024 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => held.push(stream),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Some(held),
            Err(e) => panic!("filling the accept queue: {e}"),
        }
    }
    None
}

#[test]
#[cfg(target_os = "linux")]
fn connect_gives_up_after_the_connect_timeout_when_the_server_does_not_answer_syns() {
    bounded(TIMER_LIMIT, || {
        let (listener, addr) = loopback();
        let Some(held) = fill_accept_queue(addr) else {
            eprintln!("skipped: the accept queue never filled, so no connect hangs here");
            return;
        };
        let timeout = Duration::from_millis(300);
        let start = Instant::now();
        let error = blocking::connect_with(
            ClientRequest::new(&ws_url(addr, "/")).unwrap(),
            &Options::default().connect_timeout(timeout),
        )
        .unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(elapsed >= timeout && elapsed < timeout + SLACK, "gave up after {elapsed:?}");
        drop((held, listener));
    });
}

#[test]
fn a_request_the_server_rejects_gives_the_client_the_status_and_the_server_rejected() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            blocking::accept_with(tcp, &Options::default(), |request| {
                if request.path() != "/ws" { Err(404) } else { Ok(Accept::new()) }
            })
            .map(drop)
        });
        let error = blocking::connect(&ws_url(addr, "/elsewhere")).unwrap_err();
        assert_eq!((error.kind(), error.status()), (ErrorKind::Handshake, Some(404)), "{error}");
        let server_error = join(server).unwrap_err();
        assert!(matches!(server_error, SocketError::Rejected(404)), "{server_error:?}");
        assert_eq!((server_error.kind(), server_error.status()), (ErrorKind::Handshake, Some(404)));
    });
}

// ------------------------------------------------------------------ timers and misbehaving peers

#[test]
fn keep_alive_fails_the_connection_when_the_peer_never_answers_pings() {
    bounded(TIMER_LIMIT, || {
        let (listener, addr) = loopback();
        let peer = thread::spawn(move || {
            let (mut tcp, rest) = raw_client(addr);
            // Never answer; keep reading until the server gives up and ends the stream.
            read_to_eof(&mut tcp, rest)
        });
        let (tcp, _) = listener.accept().unwrap();
        let keep_alive =
            KeepAlive { interval: Duration::from_millis(200), timeout: Duration::from_millis(200) };
        let mut ws =
            blocking::accept_with(tcp, &options(Config::default().keep_alive(Some(keep_alive))), |_| {
                Ok(Accept::new())
            })
            .unwrap();
        let start = Instant::now();
        let error = ws.recv().unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        assert_eq!(ws.close_outcome().map(|o| o.cause.clone()), Some(CloseCause::KeepAliveTimeout));
        // A ping after 200 ms of silence, failure 200 ms later (the clock started in `accept`).
        assert!(
            elapsed >= Duration::from_millis(350) && elapsed < Duration::from_secs(1),
            "after {elapsed:?}"
        );
        drop(ws);

        let wire = join(peer);
        assert!(wire.len() >= 2 && wire[0] == 0x89, "the peer received a ping frame first: {wire:02x?}");
        assert_eq!(wire[1] & 0x80, 0, "a server's ping is not masked");
    });
}

#[test]
fn close_gives_up_after_the_close_timeout_when_the_peer_never_answers() {
    bounded(TIMER_LIMIT, || {
        let (listener, addr) = loopback();
        let peer = thread::spawn(move || {
            let mut tcp = raw_server_accept(&listener, &[]);
            // Never answer the close; read until the client gives up and ends the stream.
            read_to_eof(&mut tcp, Vec::new())
        });
        let close_timeout = Duration::from_millis(300);
        let mut ws = blocking::connect_with(
            ClientRequest::new(&ws_url(addr, "/")).unwrap(),
            &options(Config::default().close_timeout(close_timeout)),
        )
        .unwrap();
        let start = Instant::now();
        ws.close(CloseCode::NORMAL, "bye").unwrap();
        let error = ws.recv().unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        let outcome = ws.close_outcome().unwrap();
        assert_eq!((outcome.cause.clone(), outcome.code), (CloseCause::CloseTimeout, CloseCode::ABNORMAL));
        assert!(!outcome.is_clean());
        assert!(elapsed >= close_timeout && elapsed < close_timeout + SLACK, "after {elapsed:?}");
        drop(ws);

        // The peer got our masked close frame: 1000 "bye".
        let wire = join(peer);
        assert!(wire.len() >= 11, "{wire:02x?}");
        assert_eq!((wire[0], wire[1]), (0x88, 0x80 | 5), "a masked close frame of 5 bytes");
        let mask = &wire[2..6];
        let payload: Vec<u8> = wire[6..11].iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m).collect();
        assert_eq!(payload, b"\x03\xe8bye");
    });
}

#[test]
fn an_unmasked_frame_from_the_client_fails_the_server_with_1002_then_end_of_stream() {
    bounded(LIMIT, || {
        let (listener, addr) = loopback();
        let peer = thread::spawn(move || {
            let (mut tcp, rest) = raw_client(addr);
            tcp.write_all(&unmasked_frame(0x1, b"hi")).unwrap();
            read_to_eof(&mut tcp, rest)
        });
        let (tcp, _) = listener.accept().unwrap();
        let config = Config::default().close_timeout(Duration::from_secs(2));
        let mut ws = blocking::accept_with(tcp, &options(config), |_| Ok(Accept::new())).unwrap();
        let error = ws.recv().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
        assert!(matches!(error, SocketError::Protocol(Error::UnmaskedFrame)), "{error:?}");
        let outcome = ws.close_outcome().unwrap();
        assert_eq!(
            (outcome.code, outcome.cause.clone()),
            (CloseCode::PROTOCOL_ERROR, CloseCause::Failed(Error::UnmaskedFrame))
        );
        drop(ws);

        // read_to_eof returned, so the server ended the stream after its close frame.
        let wire = join(peer);
        assert!(wire.len() >= 4, "{wire:02x?}");
        assert_eq!(wire[0], 0x88, "a close frame");
        let len = usize::from(wire[1]);
        assert!(wire[1] & 0x80 == 0 && len >= 2, "an unmasked close frame with a code");
        assert_eq!(u16::from_be_bytes([wire[2], wire[3]]), 1002);
        assert_eq!(wire.len(), 2 + len, "nothing follows the close frame: {wire:02x?}");
    });
}
