//! The tokio adapter over real loopback sockets: client against server with every message
//! size, `Stream` + `Sink`, split halves in two tasks, `recv` cancelled by `select!`, a stream
//! socket moving 256 MiB in bounded memory, backpressure against a peer that never reads,
//! keep-alive, handshake and connect failures, and `wss://` against a rustls server.
//!
//! Every test runs on 127.0.0.1 with ephemeral ports, on its own multi-threaded runtime, and
//! is bounded in time by `bounded` (`tokio::time::timeout`).
#![cfg(feature = "tokio")]

mod support;

use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use support::SLACK;
use support::heap::{self, CountingAllocator};
use support::joined::*;
use support::payload::*;
use support::raw::{self, *};
use support::sinks;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wsproto::handshake::{Accept, ClientRequest};
use wsproto::tokio::{self as wst, Options};
use wsproto::{
    CloseCause, CloseCode, CloseOutcome, Config, ErrorKind, Info, Initiator, KeepAlive, Message, SocketError,
};

/// The longest any test here may take.
const LIMIT: Duration = Duration::from_secs(10);

/// Counts the heap, for the stream socket's and backpressure's bounds (see `support::heap`).
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

// ------------------------------------------------------------------ running a test

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn run<F: Future>(limit: Duration, body: F) -> F::Output {
    runtime().block_on(async move {
        match tokio::time::timeout(limit, body).await {
            Ok(value) => value,
            Err(_) => panic!("the test did not finish within {limit:?}"),
        }
    })
}

/// Runs an async test body on a fresh multi-threaded runtime, alongside other tests, and
/// fails it after `limit`.
fn bounded<F: Future>(limit: Duration, body: F) -> F::Output {
    let _shared = heap::shared();
    run(limit, body)
}

/// Like [`bounded`], while no other test in this binary runs (for heap measurements).
fn bounded_alone<F: Future>(limit: Duration, body: F) -> F::Output {
    let _alone = heap::alone();
    run(limit, body)
}

/// Awaits a task, re-raising its panic with the task's own message.
async fn join<T>(task: JoinHandle<T>) -> T {
    match task.await {
        Ok(value) => value,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("task failed: {error}"),
    }
}

async fn loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

fn options(config: Config) -> Options {
    Options::default().config(config)
}

/// Accepts one connection and echoes every message until the connection ends, selecting the
/// subprotocol `chat` when offered. Returns how many messages were echoed, the close outcome
/// and the socket's info.
fn spawn_echo_server(
    listener: TcpListener,
    options: Options,
) -> JoinHandle<(u64, Option<CloseOutcome>, Info)> {
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = wst::accept_with(tcp, &options, |request| async move {
            assert_eq!(request.path(), "/ws");
            if request.protocols().iter().any(|p| p == "chat") {
                Ok(Accept::new().protocol("chat"))
            } else {
                Ok(Accept::new())
            }
        })
        .await
        .expect("the server accepts");
        let mut echoed = 0;
        while let Some(message) = ws.recv().await.expect("the server receives until a clean close") {
            ws.send(message).await.expect("the server echoes");
            echoed += 1;
        }
        (echoed, ws.close_outcome().cloned(), ws.info().clone())
    })
}

// ------------------------------------------------------------------ client against server

#[test]
fn client_and_server_exchange_every_message_size_ping_and_a_client_close_over_loopback() {
    bounded(LIMIT, async {
        let (listener, addr) = loopback().await;
        let config = Config::default().max_message_size(32 << 20).max_frame_size(32 << 20);
        let server = spawn_echo_server(listener, options(config.clone()));

        let request = ClientRequest::new(&ws_url(addr, "/ws")).unwrap().protocol("chat").unwrap();
        let mut ws = wst::connect_with(request, &options(config)).await.expect("the client connects");
        assert_eq!(ws.info().protocol.as_deref(), Some("chat"), "the client sees the selected subprotocol");

        let messages = sample_messages(16 << 20);
        let (mut client_frames, mut server_frames) = (0, 0);
        for message in &messages {
            ws.send(message.clone()).await.unwrap();
            let echo = ws.recv().await.unwrap().expect("an echo, not the end");
            assert!(echo == *message, "the echo of a {} differs", describe(message));
            client_frames += frame_len(message.as_bytes().len(), true);
            server_frames += frame_len(message.as_bytes().len(), false);
        }

        // The pong is consumed inside `recv`; the byte counters below show it was sent.
        let ping = b"are you there?";
        ws.ping(ping).await.unwrap();
        ws.send_text("after the ping").await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Some(Message::Text("after the ping".into())));
        client_frames += frame_len(ping.len(), true) + frame_len("after the ping".len(), true);
        server_frames += frame_len(ping.len(), false) + frame_len("after the ping".len(), false);

        ws.close(CloseCode::NORMAL, "client done").await.unwrap();
        client_frames += frame_len(2 + "client done".len(), true);
        assert_eq!(ws.recv().await.unwrap(), None, "after our close, recv ends with Ok(None)");
        let outcome = ws.close_outcome().expect("an outcome after the close").clone();
        assert_eq!((outcome.code, outcome.initiator), (CloseCode::NORMAL, Initiator::Local));
        assert!(outcome.is_clean(), "{outcome:?}");
        let client = ws.info().clone();
        drop(ws);

        let (echoed, server_outcome, server) = join(server).await;
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
        let close_reply = server.bytes_written - server_frames;
        assert!((4..=127).contains(&close_reply), "the server's close reply took {close_reply} bytes");
    });
}

#[test]
fn server_closes_with_code_and_reason_and_both_ends_see_a_clean_close() {
    bounded(LIMIT, async {
        let (listener, addr) = loopback().await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = wst::accept(tcp).await.unwrap();
            assert_eq!(ws.recv().await.unwrap(), Some(Message::Text("hi".into())));
            ws.send_text("bye soon").await.unwrap();
            ws.close(CloseCode::GOING_AWAY, "server shutting down").await.unwrap();
            assert_eq!(ws.recv().await.unwrap(), None, "the server's recv ends with Ok(None)");
            ws.close_outcome().cloned()
        });

        let mut ws = wst::connect(&ws_url(addr, "/")).await.unwrap();
        assert_eq!(ws.info().protocol, None, "no subprotocol offered, none selected");
        ws.send_text("hi").await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Some(Message::Text("bye soon".into())));
        assert_eq!(ws.recv().await.unwrap(), None, "the server's close ends the client's recv with Ok(None)");
        let outcome = ws.close_outcome().unwrap().clone();
        assert_eq!(
            (outcome.code, outcome.reason.as_str(), outcome.initiator),
            (CloseCode::GOING_AWAY, "server shutting down", Initiator::Peer)
        );
        assert!(outcome.is_clean(), "{outcome:?}");
        let refused = ws.send_text("too late").await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Send, "sending after the close is refused: {refused}");
        drop(ws);

        let server_outcome = join(server).await.expect("the server has an outcome");
        assert_eq!(
            (server_outcome.code, server_outcome.initiator),
            (CloseCode::GOING_AWAY, Initiator::Local)
        );
        assert!(server_outcome.is_clean(), "{server_outcome:?}");
    });
}

#[test]
fn an_async_decision_that_awaits_a_lookup_rejects_one_request_with_403_and_accepts_another_with_chat() {
    bounded(LIMIT, async {
        let (listener, addr) = loopback().await;
        let lookup = Duration::from_millis(100);
        let server = tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for _ in 0..2 {
                let (tcp, _) = listener.accept().await.unwrap();
                let accepted = wst::accept_with(tcp, &Options::default(), |request| async move {
                    // Stands in for a database lookup of who may use which path.
                    tokio::time::sleep(lookup).await;
                    match request.path() {
                        "/rooms/open" if request.protocols().iter().any(|p| p == "chat") => {
                            Ok(Accept::new().protocol("chat"))
                        }
                        _ => Err(403),
                    }
                })
                .await;
                match accepted {
                    Ok(mut ws) => {
                        while let Some(message) = ws.recv().await.unwrap() {
                            ws.send(message).await.unwrap();
                        }
                        outcomes.push(Ok(ws.info().protocol.clone()));
                    }
                    Err(error) => outcomes.push(Err(error)),
                }
            }
            outcomes
        });

        let start = Instant::now();
        let error = wst::connect(&ws_url(addr, "/rooms/secret")).await.unwrap_err();
        assert_eq!((error.kind(), error.status()), (ErrorKind::Handshake, Some(403)), "{error}");
        assert!(start.elapsed() >= lookup, "the answer waited for the lookup");

        let request = ClientRequest::new(&ws_url(addr, "/rooms/open")).unwrap().protocol("chat").unwrap();
        let mut ws =
            wst::connect_with(request, &Options::default()).await.expect("the second request is accepted");
        assert_eq!(ws.info().protocol.as_deref(), Some("chat"));
        ws.send_text("hello room").await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Some(Message::Text("hello room".into())));
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        drop(ws);

        let mut outcomes = join(server).await.into_iter();
        let rejected = outcomes.next().unwrap().unwrap_err();
        assert!(matches!(rejected, SocketError::Rejected(403)), "{rejected:?}");
        assert_eq!((rejected.kind(), rejected.status()), (ErrorKind::Handshake, Some(403)));
        assert_eq!(outcomes.next().unwrap().unwrap(), Some("chat".to_owned()));
    });
}

#[test]
fn a_frame_that_arrives_in_the_same_read_as_the_101_response_is_received_and_counted() {
    bounded(LIMIT, async {
        let (listener, addr) = raw::loopback();
        let early = encode_frame(0x1, b"early", None);
        let frame_bytes = early.len() as u64;
        let peer = spawn_thread(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let (head, _) = read_head(&mut tcp).unwrap();
            let accept =
                wsproto::handshake::accept_key(header(&head, "Sec-WebSocket-Key").unwrap().as_bytes());
            let mut response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .into_bytes();
            response.extend_from_slice(&early);
            tcp.write_all(&response).unwrap();
            read_to_eof(&mut tcp, Vec::new())
        });
        let mut ws = wst::connect(&ws_url(addr, "/")).await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Some(Message::Text("early".into())));
        assert_eq!(ws.info().messages_received, 1);
        assert_eq!(ws.info().bytes_read, frame_bytes, "the frame that came with the 101 is counted");
        drop(ws);
        peer.await;
    });
}

// ------------------------------------------------------------------ Stream + Sink

/// Message `i` of a numbered series: text or binary, of sizes from a few bytes to 12 KiB, its
/// number first so that a reordering is noticed.
fn numbered(i: usize, max: usize) -> Message {
    let len = (i * 7919) % max;
    if i.is_multiple_of(2) {
        Message::Text(format!("{i}:{}", "ü".repeat(len / 2)).into())
    } else {
        let mut data = (i as u64).to_le_bytes().to_vec();
        data.extend_from_slice(&pattern(len, i as u8));
        Message::Binary(data.into())
    }
}

#[test]
fn stream_and_sink_echo_a_hundred_messages_and_poll_close_ends_the_connection_cleanly() {
    bounded(LIMIT, async {
        let (listener, addr) = loopback().await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = wst::accept(tcp).await.unwrap();
            let mut echoed = 0u64;
            while let Some(message) = sinks::next(&mut ws).await {
                sinks::feed(&mut ws, message.expect("the server's stream yields messages")).await.unwrap();
                sinks::flush(&mut ws).await.unwrap();
                echoed += 1;
            }
            (echoed, ws.close_outcome().cloned())
        });

        let mut ws = wst::connect(&ws_url(addr, "/")).await.unwrap();
        // Fed without flushing: more than the 64 KiB high-water mark in all, so poll_ready
        // writes some out on the way; the one flush sends the rest.
        for i in 0..100 {
            sinks::feed(&mut ws, numbered(i, 12 << 10)).await.unwrap();
        }
        sinks::flush(&mut ws).await.unwrap();
        for i in 0..100 {
            let echo = sinks::next(&mut ws).await.expect("an echo, not the end").unwrap();
            assert!(echo == numbered(i, 12 << 10), "echo {i} differs: {}", describe(&echo));
        }
        sinks::close(&mut ws).await.expect("poll_close completes the close handshake");
        assert!(sinks::next(&mut ws).await.is_none(), "the stream ends after the close");
        assert!(sinks::next(&mut ws).await.is_none(), "and stays ended");
        let outcome = ws.close_outcome().unwrap();
        assert!(outcome.is_clean() && outcome.initiator == Initiator::Local, "{outcome:?}");
        assert_eq!(outcome.code, CloseCode::NORMAL);
        assert_eq!((ws.info().messages_sent, ws.info().messages_received), (100, 100));

        let (echoed, server_outcome) = join(server).await;
        assert_eq!(echoed, 100);
        assert!(server_outcome.unwrap().is_clean());
    });
}

// ------------------------------------------------------------------ split halves

#[test]
fn split_halves_in_two_tasks_send_a_thousand_messages_while_receiving_their_echoes_then_reunite() {
    bounded(LIMIT, async {
        const COUNT: usize = 1000;
        const MAX: usize = 40 << 10;
        let (listener, addr) = loopback().await;
        let server = spawn_echo_server(listener, Options::default());
        let ws = wst::connect(&ws_url(addr, "/ws")).await.unwrap();
        let (mut reader, mut writer) = ws.split();

        // About 20 MiB each way: both directions fill the socket buffers, so the writer waits
        // for the socket while the reader reads, on another task.
        let writer = tokio::spawn(async move {
            for i in 0..COUNT {
                writer.send(numbered(i, MAX)).await.unwrap_or_else(|e| panic!("send {i}: {e}"));
            }
            writer.close(CloseCode::NORMAL, "writer done").await.unwrap();
            writer
        });
        let reader = tokio::spawn(async move {
            for i in 0..COUNT {
                let echo = reader.recv().await.unwrap().expect("an echo, not the end");
                assert!(echo == numbered(i, MAX), "echo {i} differs: {}", describe(&echo));
            }
            assert_eq!(reader.recv().await.unwrap(), None, "the close from the write half ends recv");
            reader
        });
        let (writer, reader) = (join(writer).await, join(reader).await);
        let outcome = reader.close_outcome().expect("the read half saw the close");
        assert_eq!(outcome.code, CloseCode::NORMAL);
        assert!(outcome.is_clean() && outcome.initiator == Initiator::Local, "{outcome:?}");

        let ws = reader.reunite(writer).await.expect("halves of one socket reunite");
        assert_eq!((ws.info().messages_sent, ws.info().messages_received), (COUNT as u64, COUNT as u64));
        assert_eq!(ws.close_outcome(), Some(&outcome));
        drop(ws);

        let (echoed, server_outcome, _) = join(server).await;
        assert_eq!(echoed, COUNT as u64);
        let server_outcome = server_outcome.unwrap();
        assert!(
            server_outcome.is_clean() && server_outcome.initiator == Initiator::Peer,
            "{server_outcome:?}"
        );
    });
}

/// Messages of the bulk transfers: 32 MiB in all, more than the loopback socket buffers hold.
const BULK_COUNT: usize = 256;

/// Bulk message `i`: 128 KiB, one of four patterns (made once; equal messages share them).
fn bulk(i: usize) -> Message {
    static PAYLOADS: std::sync::OnceLock<Vec<Bytes>> = std::sync::OnceLock::new();
    let payloads = PAYLOADS.get_or_init(|| (0..4).map(|seed| pattern(128 << 10, seed)).collect());
    Message::Binary(payloads[i % 4].clone())
}

#[test]
fn split_halves_read_the_servers_bulk_while_their_own_bulk_upload_waits_for_the_socket() {
    bounded(LIMIT, async {
        const COUNT: usize = BULK_COUNT;
        let (listener, addr) = loopback().await;
        // The server sends all of its messages before it reads any: its sends finish only if
        // the client reads while the client's own upload waits for the socket.
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = wst::accept(tcp).await.unwrap();
            for i in 0..COUNT {
                ws.send(bulk(i)).await.unwrap();
            }
            let mut received = 0;
            while let Some(message) = ws.recv().await.unwrap() {
                assert!(message == bulk(received), "upload {received}");
                received += 1;
            }
            received
        });
        let ws = wst::connect(&ws_url(addr, "/")).await.unwrap();
        let (mut reader, mut writer) = ws.split();
        let writer = tokio::spawn(async move {
            for i in 0..COUNT {
                writer.send(bulk(i)).await.unwrap();
            }
            writer
        });
        let reader = tokio::spawn(async move {
            for i in 0..COUNT {
                let message = reader.recv().await.unwrap().expect("a download");
                assert!(message == bulk(i), "download {i}");
            }
            reader
        });
        let (mut writer, mut reader) = (join(writer).await, join(reader).await);
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        assert_eq!(reader.recv().await.unwrap(), None);
        assert!(reader.close_outcome().unwrap().is_clean());
        assert_eq!(join(server).await, COUNT);
    });
}

#[test]
fn a_read_half_that_only_reads_answers_every_ping_while_its_write_half_stays_idle() {
    bounded(LIMIT, async {
        let (listener, addr) = loopback().await;
        let peer = spawn_thread(move || {
            let (mut tcp, rest) = raw_client(addr);
            assert!(rest.is_empty());
            tcp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            for i in 0..20 {
                let payload = format!("ping {i}");
                tcp.write_all(&encode_frame(0x9, payload.as_bytes(), Some([1, 2, 3, i]))).unwrap();
                let pong = read_frame(&mut tcp).unwrap_or_else(|e| panic!("no pong to ping {i}: {e}"));
                assert_eq!((pong.first, pong.masked), (0x8A, false), "an unmasked pong answers ping {i}");
                assert_eq!(pong.payload, payload.as_bytes(), "the pong echoes the ping's payload");
            }
            tcp.write_all(&encode_frame(0x1, b"done", Some([9, 8, 7, 6]))).unwrap();
            tcp.write_all(&encode_frame(0x8, &[0x03, 0xE8], Some([5, 5, 5, 5]))).unwrap();
            let close = read_frame(&mut tcp).unwrap();
            assert_eq!((close.first, close.payload.as_slice()), (0x88, &[0x03, 0xE8][..]), "the close echo");
            read_to_eof(&mut tcp, Vec::new())
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let (mut reader, _idle_writer) = wst::accept(tcp).await.unwrap().split();
        let reader = tokio::spawn(async move {
            assert_eq!(reader.recv().await.unwrap(), Some(Message::Text("done".into())));
            assert_eq!(reader.recv().await.unwrap(), None);
            reader.close_outcome()
        });
        let outcome = join(reader).await.unwrap();
        assert!(outcome.is_clean() && outcome.initiator == Initiator::Peer, "{outcome:?}");
        let after_close = peer.await;
        assert!(after_close.is_empty(), "nothing follows the close echo: {after_close:02x?}");
    });
}

#[test]
fn a_close_from_the_write_half_times_out_in_the_read_half_when_the_peer_never_answers() {
    bounded(LIMIT, async {
        let (listener, addr) = raw::loopback();
        let peer = spawn_thread(move || {
            let mut tcp = raw_server_accept(&listener, &[]);
            // Never answer the close; read until the client gives up and ends the stream.
            read_to_eof(&mut tcp, Vec::new())
        });
        let close_timeout = Duration::from_millis(300);
        // No keep-alive: the close timeout is the only deadline.
        let config = Config::default().close_timeout(close_timeout).keep_alive(None);
        let ws = wst::connect_with(ClientRequest::new(&ws_url(addr, "/")).unwrap(), &options(config))
            .await
            .unwrap();
        let (mut reader, mut writer) = ws.split();
        let reader = tokio::spawn(async move {
            let start = Instant::now();
            let result = reader.recv().await;
            (result, start.elapsed(), reader)
        });
        // Let the reader park first, with no deadline armed.
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.close(CloseCode::NORMAL, "bye").await.unwrap();
        let (result, elapsed, reader) = join(reader).await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        assert_eq!(reader.close_outcome().map(|o| o.cause), Some(CloseCause::CloseTimeout));
        let expected = close_timeout + Duration::from_millis(50);
        assert!(
            elapsed >= expected - Duration::from_millis(10) && elapsed < expected + SLACK,
            "after {elapsed:?}"
        );
        drop((reader, writer));
        let wire = peer.await;
        assert_eq!((wire[0], wire[1]), (0x88, 0x80 | 5), "the peer got our masked close frame");
    });
}

#[test]
fn the_close_timeout_fires_while_the_peer_floods_frames_and_never_answers_the_close() {
    bounded(LIMIT, async {
        let (listener, addr) = raw::loopback();
        let peer = spawn_thread(move || {
            let mut tcp = raw_server_accept(&listener, &[]);
            // Pings back to back, as fast as the socket takes them, until the client leaves.
            let burst = unmasked_frame(0x9, b"flood").repeat(8 << 10);
            while std::io::Write::write_all(&mut tcp, &burst).is_ok() {}
        });
        let close_timeout = Duration::from_millis(300);
        let config = Config::default().close_timeout(close_timeout).keep_alive(None);
        let mut ws = wst::connect_with(ClientRequest::new(&ws_url(addr, "/")).unwrap(), &options(config))
            .await
            .unwrap();
        let start = Instant::now();
        ws.close(CloseCode::NORMAL, "bye").await.unwrap_or(());
        // Pings are not messages, and the peer never answers the close: the first thing
        // `recv` returns is the timeout.
        let error = ws.recv().await.expect_err("the close timeout");
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        assert_eq!(ws.close_outcome().map(|o| o.cause.clone()), Some(CloseCause::CloseTimeout));
        assert!(elapsed >= close_timeout && elapsed < close_timeout + SLACK, "after {elapsed:?}");
        drop(ws);
        peer.await;
    });
}

#[test]
fn a_split_socket_answers_pings_and_sends_keep_alive_pings_while_neither_half_is_polled() {
    bounded(LIMIT, async {
        let (listener, addr) = loopback().await;
        let peer = spawn_thread(move || ping_await_keep_alive_then_close(addr));
        let (tcp, _) = listener.accept().await.unwrap();
        let keep_alive = KeepAlive { interval: Duration::from_millis(200), timeout: Duration::from_secs(5) };
        let config = Config::default().keep_alive(Some(keep_alive));
        let (mut reader, writer) =
            wst::accept_with(tcp, &options(config), |_| async { Ok(Accept::new()) }).await.unwrap().split();
        // The whole exchange, the close handshake included, runs in the socket's own task.
        assert!(peer.await.is_empty(), "nothing follows the close echo");
        assert_eq!(reader.recv().await.unwrap(), None, "the read half sees the clean end");
        let outcome = writer.close_outcome().expect("the write half sees the outcome too");
        assert!(outcome.is_clean() && outcome.initiator == Initiator::Peer, "{outcome:?}");
    });
}

#[test]
fn a_write_half_outlives_its_dropped_read_half_and_dropping_both_drops_the_transport() {
    bounded(LIMIT, async {
        let (listener, addr) = loopback().await;
        let peer = spawn_thread(move || {
            let (mut tcp, rest) = raw_client(addr);
            let mut input = Read::chain(rest.as_slice(), &mut tcp);
            let frame = read_frame(&mut input).unwrap();
            assert_eq!((frame.first, frame.payload.as_slice()), (0x81, &b"still here"[..]));
            let mut after = Vec::new();
            input.read_to_end(&mut after).expect("the stream ends");
            after
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let (reader, mut writer) = wst::accept(tcp).await.unwrap().split();
        drop(reader);
        writer.send("still here").await.unwrap();
        writer.flush().await.unwrap();
        drop(writer);
        // As with a dropped unsplit socket: the transport closes, with no close frame.
        let after = peer.await;
        assert!(after.is_empty(), "nothing after the message: {after:02x?}");
    });
}

#[test]
fn split_halves_are_a_stream_and_a_sink_that_echo_until_the_peer_closes() {
    bounded(LIMIT, async {
        const COUNT: usize = 200;
        let (listener, addr) = loopback().await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let (mut reader, mut writer) = wst::accept(tcp).await.unwrap().split();
            let mut echoed = 0;
            while let Some(message) = sinks::next(&mut reader).await {
                sinks::feed(&mut writer, message.unwrap()).await.unwrap();
                echoed += 1;
            }
            sinks::close(&mut writer).await.expect("closing after the close handshake is no error");
            (echoed, reader.close_outcome())
        });
        let mut ws = wst::connect(&ws_url(addr, "/")).await.unwrap();
        for i in 0..COUNT {
            ws.send(numbered(i, 3000)).await.unwrap();
        }
        for i in 0..COUNT {
            let echo = ws.recv().await.unwrap().expect("an echo");
            assert!(echo == numbered(i, 3000), "echo {i} differs: {}", describe(&echo));
        }
        ws.close(CloseCode::NORMAL, "done").await.unwrap();
        assert!(ws.close_outcome().unwrap().is_clean());
        let (echoed, outcome) = join(server).await;
        assert_eq!(echoed, COUNT);
        assert!(outcome.unwrap().is_clean());
    });
}

#[test]
fn reunite_hands_back_unread_messages_in_order_and_refuses_halves_of_two_sockets() {
    bounded(LIMIT, async {
        let (first_listener, first_addr) = loopback().await;
        let (second_listener, second_addr) = loopback().await;
        let first_server = spawn_echo_server(first_listener, Options::default());
        let second_server = spawn_echo_server(second_listener, Options::default());
        let mut first = wst::connect(&ws_url(first_addr, "/ws")).await.unwrap();
        for text in ["one", "two", "three"] {
            first.send(text).await.unwrap();
        }
        let (mut first_read, first_write) = first.split();
        assert_eq!(first_read.recv().await.unwrap(), Some(Message::Text("one".into())));
        let second = wst::connect(&ws_url(second_addr, "/ws")).await.unwrap();
        let (second_read, second_write) = second.split();

        let wsproto::nonblocking::ReuniteError(first_read, second_write) =
            first_read.reunite(second_write).await.expect_err("halves of two sockets");
        let mut first = first_read.reunite(first_write).await.expect("halves of one socket");
        // "two" and "three" were received by the task or are still on the wire: either way they
        // come next, in order, and the reunited socket goes on working.
        assert_eq!(first.recv().await.unwrap(), Some(Message::Text("two".into())));
        first.send("four").await.unwrap();
        assert_eq!(first.recv().await.unwrap(), Some(Message::Text("three".into())));
        assert_eq!(first.recv().await.unwrap(), Some(Message::Text("four".into())));
        first.close(CloseCode::NORMAL, "").await.unwrap();
        assert_eq!(join(first_server).await.0, 4);

        let mut second = second_read.reunite(second_write).await.expect("halves of one socket");
        second.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(second.close_outcome().unwrap().is_clean());
        assert_eq!(join(second_server).await.0, 0);
    });
}

#[test]
fn a_split_socket_whose_peer_resets_the_connection_reports_the_error_and_knows_its_outcome() {
    bounded(LIMIT, async {
        let (listener, addr) = raw::loopback();
        let peer = spawn_thread(move || {
            // Two messages, then a reset (SO_LINGER 0) instead of a close handshake.
            let tcp = raw_server_accept(&listener, &[]);
            (&tcp).write_all(&unmasked_frame(0x1, b"one")).unwrap();
            (&tcp).write_all(&unmasked_frame(0x1, b"two")).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            tcp.set_nonblocking(true).unwrap();
            tcp
        });
        let (mut reader, _writer) = wst::connect(&ws_url(addr, "/")).await.unwrap().split();
        let tcp = tokio::net::TcpStream::from_std(peer.await).unwrap();
        tcp.set_zero_linger().unwrap();
        drop(tcp);
        assert_eq!(reader.recv().await.unwrap(), Some(Message::Text("one".into())));
        assert_eq!(reader.recv().await.unwrap(), Some(Message::Text("two".into())));
        let error = reader.recv().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Io, "the reset: {error}");
        let outcome = reader.close_outcome().expect("the outcome is known with the error");
        assert!(!outcome.is_clean(), "{outcome:?}");
        let again = reader.recv().await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Closed, "then the abnormal end: {again}");
    });
}

// ------------------------------------------------------------------ cancel safety

/// Message `i` of the cancel-safety series: sizes around the 16 KiB read buffer and well
/// beyond it, text (multi-byte) and binary.
fn varied(i: usize) -> Message {
    const SIZES: [usize; 12] = [0, 1, 125, 126, 1000, 16383, 16384, 16385, 40_000, 100_000, 65536, 300_000];
    let len = SIZES[i % SIZES.len()];
    if i.is_multiple_of(3) {
        Message::Text(format!("{i}:{}", "€".repeat(len / 3)).into())
    } else {
        Message::Binary(pattern(len, i as u8))
    }
}

/// A raw server that writes 200 messages in pieces of uneven sizes with pauses between them,
/// then a close frame; returns the client's answer to the close, and then closes TCP first.
fn spawn_paced_sender(listener: std::net::TcpListener) -> Joined<RawFrame> {
    spawn_thread(move || {
        let mut tcp = raw_server_accept(&listener, &[]);
        tcp.set_nodelay(true).unwrap();
        let mut wire = Vec::new();
        for i in 0..200 {
            let message = varied(i);
            let opcode = if matches!(message, Message::Text(_)) { 0x1 } else { 0x2 };
            wire.extend_from_slice(&encode_frame(opcode, message.as_bytes(), None));
        }
        wire.extend_from_slice(&encode_frame(0x8, b"\x03\xe8paced", None));
        let pieces = [1, 7, 100, 4096, 10_000, 33_333, 2];
        let (mut at, mut n) = (0, 0);
        while at < wire.len() {
            let end = (at + pieces[n % pieces.len()]).min(wire.len());
            tcp.write_all(&wire[at..end]).unwrap();
            at = end;
            n += 1;
            if n.is_multiple_of(4) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        read_frame(&mut tcp).expect("the client answers the close")
    })
}

#[test]
fn recv_cancelled_by_a_short_timer_over_and_over_loses_no_message() {
    bounded(LIMIT, async {
        let (listener, addr) = raw::loopback();
        let peer = spawn_paced_sender(listener);
        let mut ws = wst::connect(&ws_url(addr, "/")).await.unwrap();
        let (mut received, mut cancelled) = (0, 0u64);
        while received < 200 {
            tokio::select! {
                result = ws.recv() => {
                    let message = result.unwrap().unwrap_or_else(|| panic!("the end after {received} messages"));
                    assert!(message == varied(received), "message {received} differs: {}", describe(&message));
                    received += 1;
                }
                () = tokio::time::sleep(Duration::from_micros(200)) => cancelled += 1,
            }
        }
        assert_eq!(ws.recv().await.unwrap(), None, "the peer's close follows the 200 messages");
        let outcome = ws.close_outcome().unwrap();
        assert_eq!((outcome.code, outcome.reason.as_str()), (CloseCode::NORMAL, "paced"));
        assert!(outcome.is_clean(), "{outcome:?}");
        assert!(cancelled >= 20, "recv was cancelled only {cancelled} times");
        eprintln!("200 messages received through {cancelled} cancelled recv calls");
        drop(ws);
        let close = peer.await;
        assert_eq!(
            (close.first, &close.payload[..2]),
            (0x88, &[0x03, 0xE8][..]),
            "the close echo carries 1000"
        );
    });
}

#[test]
fn a_read_half_recv_cancelled_by_a_short_timer_over_and_over_loses_no_message() {
    bounded(LIMIT, async {
        let (listener, addr) = raw::loopback();
        let peer = spawn_paced_sender(listener);
        let (mut reader, _writer) = wst::connect(&ws_url(addr, "/")).await.unwrap().split();
        let (mut received, mut cancelled) = (0, 0u64);
        while received < 200 {
            tokio::select! {
                result = reader.recv() => {
                    let message = result.unwrap().unwrap_or_else(|| panic!("the end after {received} messages"));
                    assert!(message == varied(received), "message {received} differs: {}", describe(&message));
                    received += 1;
                }
                () = tokio::time::sleep(Duration::from_micros(200)) => cancelled += 1,
            }
        }
        assert_eq!(reader.recv().await.unwrap(), None, "the peer's close follows the 200 messages");
        assert!(reader.close_outcome().unwrap().is_clean());
        assert!(cancelled >= 20, "recv was cancelled only {cancelled} times");
        let close = peer.await;
        assert_eq!(
            (close.first, &close.payload[..2]),
            (0x88, &[0x03, 0xE8][..]),
            "the close echo carries 1000"
        );
    });
}

/// Messages of the cancelled-send series: 400 of 16 KiB (6.4 MiB), each numbered.
const CANCELLED_SENDS: usize = 400;

fn cancelled_send_message(i: usize) -> Message {
    let mut payload = vec![0u8; 16 << 10];
    payload[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Message::Binary(payload.into())
}

/// A raw server that reads the cancelled-send series slowly (so sends wait for room and a
/// timer cancels some), checking that each message arrives once, in order, then the close.
fn spawn_slow_reader(listener: std::net::TcpListener) -> Joined<()> {
    spawn_thread(move || {
        let mut tcp = raw_server_accept(&listener, &[]);
        for i in 0..CANCELLED_SENDS {
            let frame = read_frame(&mut tcp).unwrap_or_else(|e| panic!("message {i}: {e}"));
            assert_eq!((frame.first, frame.payload.len()), (0x82, 16 << 10), "message {i}");
            assert_eq!(frame.payload[..8], (i as u64).to_le_bytes(), "message {i}: none lost or doubled");
            if i % 8 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let close = read_frame(&mut tcp).unwrap();
        assert_eq!(close.first, 0x88, "the close follows the messages");
    })
}

#[test]
fn send_cancelled_by_a_short_timer_queues_each_message_whole_or_not_at_all_as_its_counter_says() {
    bounded(LIMIT, async {
        let (listener, addr) = raw::loopback();
        let peer = spawn_slow_reader(listener);
        let mut ws = wst::connect(&ws_url(addr, "/")).await.unwrap();
        let mut cancelled = 0u64;
        // A send dropped while it writes has queued its message: the counter tells.
        while (ws.info().messages_sent as usize) < CANCELLED_SENDS {
            let next = cancelled_send_message(ws.info().messages_sent as usize);
            tokio::select! {
                result = ws.send(next) => result.unwrap(),
                () = tokio::time::sleep(Duration::from_micros(200)) => cancelled += 1,
            }
        }
        ws.flush().await.unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(100), ws.close(CloseCode::NORMAL, "")).await;
        assert!(cancelled >= 10, "send was cancelled only {cancelled} times");
        eprintln!("{CANCELLED_SENDS} messages sent through {cancelled} cancelled sends");
        peer.await;
    });
}

#[test]
fn a_write_half_send_cancelled_by_a_short_timer_queues_each_message_whole_or_not_at_all() {
    bounded(LIMIT, async {
        let (listener, addr) = raw::loopback();
        let peer = spawn_slow_reader(listener);
        let (_reader, mut writer) = wst::connect(&ws_url(addr, "/")).await.unwrap().split();
        let (mut sent, mut cancelled) = (0, 0u64);
        while sent < CANCELLED_SENDS {
            tokio::select! {
                result = writer.send(cancelled_send_message(sent)) => {
                    result.unwrap();
                    sent += 1;
                }
                () = tokio::time::sleep(Duration::from_micros(200)) => cancelled += 1,
            }
        }
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(cancelled >= 10, "send was cancelled only {cancelled} times");
        eprintln!("{CANCELLED_SENDS} messages sent through {cancelled} cancelled sends");
        peer.await;
    });
}

#[test]
fn close_cancelled_while_waiting_for_the_answer_sends_one_close_and_can_be_awaited_again() {
    bounded(LIMIT, async {
        let (listener, addr) = raw::loopback();
        let peer = spawn_thread(move || {
            let mut tcp = raw_server_accept(&listener, &[]);
            let close = read_frame(&mut tcp).unwrap();
            assert_eq!((close.first, &close.payload[..2]), (0x88, &[0x03, 0xE8][..]));
            std::thread::sleep(Duration::from_millis(200));
            tcp.write_all(&unmasked_frame(0x8, &[0x03, 0xE8])).unwrap();
            // The server closes TCP first (RFC 6455 §7.1.1).
            tcp.shutdown(std::net::Shutdown::Write).unwrap();
            read_to_eof(&mut tcp, Vec::new())
        });
        let mut ws = wst::connect(&ws_url(addr, "/")).await.unwrap();
        tokio::select! {
            result = ws.close(CloseCode::NORMAL, "") => panic!("close finished before the answer: {result:?}"),
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        let outcome = ws.close_outcome().unwrap();
        assert!(outcome.is_clean() && outcome.initiator == Initiator::Local, "{outcome:?}");
        drop(ws);
        assert!(peer.await.is_empty(), "one close frame, nothing after it");
    });
}

// ------------------------------------------------------------------ the stream socket

/// The size of the large message.
const STREAM_TOTAL: u64 = 256 << 20;

#[test]
fn stream_socket_moves_256_mib_through_async_read_and_write_with_heap_bounded_by_buffers() {
    bounded_alone(LIMIT, async {
        let total = STREAM_TOTAL;
        let chunks = total / CHUNK as u64;
        let (listener, addr) = loopback().await;
        let baseline = heap::baseline();

        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut stream =
                wst::accept_stream(tcp, &Options::default(), |_| async { Ok(Accept::new()) }).await.unwrap();
            let pattern = ChunkPattern::new();
            let mut chunk = vec![0u8; CHUNK];
            let start = Instant::now();
            for k in 0..chunks {
                stream.read_exact(&mut chunk).await.unwrap_or_else(|e| panic!("chunk {k} of {chunks}: {e}"));
                assert!(pattern.matches(k, &chunk), "chunk {k} has the wrong content");
            }
            let elapsed = start.elapsed();
            assert_eq!(stream.read(&mut chunk).await.unwrap(), 0, "read gives 0 at the end of the message");
            assert_eq!(stream.read(&mut chunk).await.unwrap(), 0, "and keeps doing so until next_message");
            assert!(stream.is_message_done());
            assert!(stream.next_message().await.unwrap(), "a second message follows");
            let mut second = Vec::new();
            stream.read_to_end(&mut second).await.unwrap();
            assert_eq!(second, b"second message");

            // Answer with the number of bytes received, as a message of its own.
            stream.write_all(&(chunks * CHUNK as u64).to_le_bytes()).await.unwrap();
            stream.finish_message().await.unwrap();
            assert!(!stream.next_message().await.unwrap(), "the client's close ends the stream");
            assert_eq!(stream.read(&mut chunk).await.unwrap(), 0);
            (elapsed, stream.close_outcome().cloned().unwrap(), stream.info().clone())
        });

        let request = ClientRequest::new(&ws_url(addr, "/")).unwrap();
        let mut stream =
            wst::connect_stream(request, &Options::default()).await.expect("the stream client connects");
        let pattern = ChunkPattern::new();
        let mut chunk = vec![0u8; CHUNK];
        for k in 0..chunks {
            pattern.fill(k, &mut chunk);
            stream.write_all(&chunk).await.unwrap();
        }
        stream.finish_message().await.unwrap();
        stream.write_all(b"second message").await.unwrap();
        // AsyncWrite::shutdown ends the message; the connection stays open.
        stream.shutdown().await.unwrap();

        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, total.to_le_bytes(), "the server counted every byte");
        stream.close(CloseCode::NORMAL, "done").await.unwrap();
        assert!(stream.close_outcome().unwrap().is_clean());
        let client = stream.info().clone();
        drop(stream);

        let (elapsed, outcome, server) = join(server).await;
        let peak = heap::peak_since(baseline);
        assert!(outcome.is_clean(), "{outcome:?}");
        assert_eq!((client.messages_sent, server.messages_received), (2, 2));
        assert_eq!((server.messages_sent, client.messages_received), (1, 1));
        assert!(server.bytes_read > total);

        let mib = total as f64 / f64::from(1 << 20);
        println!(
            "tokio stream socket: {mib:.0} MiB in {elapsed:.2?} = {:.0} MiB/s; peak heap above baseline {:.2} MiB",
            mib / elapsed.as_secs_f64(),
            heap::mib(peak),
        );
        assert!(peak >= 2 * CHUNK, "the allocator counts (the test's own buffers alone are 2 x 64 KiB)");
        assert!(
            peak < 16 << 20,
            "the heap peaked {peak} bytes above the baseline, for a {total}-byte message"
        );
    });
}

#[test]
fn next_message_cancelled_by_a_short_timer_over_and_over_never_skips_into_the_next_message() {
    bounded(LIMIT, async {
        const COUNT: usize = 60;
        let message = |k: usize| pattern(3000 + k, k as u8);
        let (listener, addr) = raw::loopback();
        // Each message in three frames, 3 ms apart, so that next_message waits at the boundary.
        let peer = spawn_thread(move || {
            let mut tcp = raw_server_accept(&listener, &[]);
            tcp.set_nodelay(true).unwrap();
            for k in 0..COUNT {
                let payload = message(k);
                let (a, rest) = payload.split_at(1000);
                let (b, c) = rest.split_at(1000);
                for (first, piece) in [(0x02, a), (0x00, b), (0x80, c)] {
                    let mut frame = encode_frame(0x0, piece, None);
                    frame[0] = first;
                    tcp.write_all(&frame).unwrap();
                }
                std::thread::sleep(Duration::from_millis(3));
            }
            tcp.write_all(&unmasked_frame(0x8, &[0x03, 0xE8])).unwrap();
            read_frame(&mut tcp).expect("the client answers the close")
        });
        let request = ClientRequest::new(&ws_url(addr, "/")).unwrap();
        let mut stream = wst::connect_stream(request, &Options::default()).await.unwrap();
        let mut cancelled = 0u64;
        for k in 0..COUNT {
            if k > 0 {
                loop {
                    tokio::select! {
                        more = stream.next_message() => {
                            assert!(more.unwrap(), "message {k} follows");
                            break;
                        }
                        () = tokio::time::sleep(Duration::from_micros(100)) => cancelled += 1,
                    }
                }
            }
            let mut received = Vec::new();
            stream.read_to_end(&mut received).await.unwrap();
            assert!(received == message(k), "message {k}: {} bytes, whole and unskipped", received.len());
        }
        assert!(!stream.next_message().await.unwrap(), "the close follows");
        assert!(cancelled >= 20, "next_message was cancelled only {cancelled} times");
        eprintln!("{COUNT} messages through {cancelled} cancelled next_message calls");
        let close = peer.await;
        assert_eq!((close.first, &close.payload[..2]), (0x88, &[0x03, 0xE8][..]));
    });
}

// ------------------------------------------------------------------ backpressure

const MESSAGE: usize = BACKPRESSURE_MESSAGE;
const TOTAL: u64 = BACKPRESSURE_TOTAL;

/// Waits until sends stop completing (no progress for 300 ms, the socket buffers full) and
/// returns how many completed; fails if all did although the peer never reads.
async fn stall(completed: &AtomicU64) -> u64 {
    loop {
        let before = completed.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = completed.load(Ordering::SeqCst);
        assert!(after < TOTAL, "all {TOTAL} sends completed although the peer never reads");
        if after == before && after > 0 {
            return after;
        }
    }
}

#[test]
fn sends_to_a_peer_that_never_reads_stop_completing_with_heap_bounded_then_all_arrive_once_it_reads() {
    bounded_alone(LIMIT, async {
        let (listener, addr) = loopback().await;
        let (start_reading, peer) = spawn_held_back_reader(addr);
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = wst::accept(tcp).await.unwrap();
        let high_water = ws.connection().config().outgoing_high_water;

        let completed = Arc::new(AtomicU64::new(0));
        let baseline = heap::baseline();
        let sender = tokio::spawn({
            let completed = completed.clone();
            async move {
                for i in 0..TOTAL {
                    // A fresh allocation per message, so that whatever is queued shows on the heap.
                    let mut payload = vec![0u8; MESSAGE];
                    payload[..8].copy_from_slice(&i.to_le_bytes());
                    ws.send_binary(payload).await.unwrap_or_else(|e| panic!("send {i}: {e}"));
                    completed.fetch_add(1, Ordering::SeqCst);
                }
                ws
            }
        });

        let stalled_at = stall(&completed).await;
        let peak = heap::peak_since(baseline);
        println!(
            "tokio backpressure: {stalled_at} sends of 64 KiB completed before the stall; \
             peak heap above baseline {:.0} KiB",
            peak as f64 / 1024.0
        );
        // Outgoing holds at most the high-water mark plus one message; a little more for the
        // runtime's own bookkeeping.
        let bound = high_water + MESSAGE + (64 << 10);
        assert!(peak < bound, "the heap peaked {peak} bytes above the baseline (bound {bound})");

        start_reading.send(()).unwrap();
        let mut ws = join(sender).await;
        assert_eq!(completed.load(Ordering::SeqCst), TOTAL);
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(ws.close_outcome().unwrap().is_clean());
        assert!(peer.await.is_empty());
    });
}

#[test]
fn a_write_half_sending_to_a_peer_that_never_reads_stops_with_heap_bounded_then_all_arrive() {
    bounded_alone(LIMIT, async {
        let (listener, addr) = loopback().await;
        let (start_reading, peer) = spawn_held_back_reader(addr);
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = wst::accept(tcp).await.unwrap();
        let high_water = ws.connection().config().outgoing_high_water;
        let (mut reader, mut writer) = ws.split();

        let completed = Arc::new(AtomicU64::new(0));
        let baseline = heap::baseline();
        let sender = tokio::spawn({
            let completed = completed.clone();
            async move {
                for i in 0..TOTAL {
                    let mut payload = vec![0u8; MESSAGE];
                    payload[..8].copy_from_slice(&i.to_le_bytes());
                    writer
                        .send(Message::Binary(payload.into()))
                        .await
                        .unwrap_or_else(|e| panic!("send {i}: {e}"));
                    completed.fetch_add(1, Ordering::SeqCst);
                }
                writer
            }
        });
        let stalled_at = stall(&completed).await;
        let peak = heap::peak_since(baseline);
        println!(
            "split backpressure: {stalled_at} sends of 64 KiB completed before the stall; \
             peak heap above baseline {:.0} KiB",
            peak as f64 / 1024.0
        );
        // The write half's queue and the connection's outgoing bytes each hold at most the
        // high-water mark plus one message, and the sender holds the message it waits to send;
        // a little more for the runtime's bookkeeping. Unbounded, it would be 25 MiB.
        let bound = 2 * (high_water + MESSAGE) + MESSAGE + (64 << 10);
        assert!(peak < bound, "the heap peaked {peak} bytes above the baseline (bound {bound})");

        start_reading.send(()).unwrap();
        let mut writer = join(sender).await;
        assert_eq!(completed.load(Ordering::SeqCst), TOTAL);
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        assert_eq!(reader.recv().await.unwrap(), None);
        assert!(reader.close_outcome().unwrap().is_clean());
        assert!(peer.await.is_empty());
    });
}

#[test]
fn a_read_half_left_unread_holds_a_bounded_heap_while_the_peer_waits_then_gets_everything_in_order() {
    bounded_alone(LIMIT, async {
        let (listener, addr) = loopback().await;
        let peer = spawn_thread(move || {
            let (mut tcp, _) = raw_client(addr);
            let mut payload = vec![7u8; MESSAGE];
            for i in 0..TOTAL {
                payload[..8].copy_from_slice(&i.to_le_bytes());
                tcp.write_all(&encode_frame(0x2, &payload, Some([1, 2, 3, 4]))).unwrap();
            }
            tcp.write_all(&encode_frame(0x8, &[0x03, 0xE8], Some([5, 6, 7, 8]))).unwrap();
            let close = read_frame(&mut tcp).unwrap();
            assert_eq!(close.first, 0x88);
            read_to_eof(&mut tcp, Vec::new())
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = wst::accept(tcp).await.unwrap();
        let high_water = ws.connection().config().outgoing_high_water;
        let baseline = heap::baseline();
        let (mut reader, _writer) = ws.split();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let peak = heap::peak_since(baseline);
        println!("split read-ahead: peak heap above baseline {:.0} KiB while unread", peak as f64 / 1024.0);
        // Messages waiting for the read half stop at the high-water mark plus one message; the
        // connection holds at most one read and the frame it is reading, and growing its buffer
        // for a frame briefly holds the old buffer beside the new. Unbounded, it would be 25 MiB.
        let bound = high_water + 6 * MESSAGE;
        assert!(peak < bound, "the heap peaked {peak} bytes above the baseline (bound {bound})");

        for i in 0..TOTAL {
            let message = reader.recv().await.unwrap().unwrap_or_else(|| panic!("message {i}"));
            assert_eq!(message.as_bytes()[..8], i.to_le_bytes(), "message {i} arrives in order");
            assert_eq!(message.as_bytes().len(), MESSAGE);
        }
        assert_eq!(reader.recv().await.unwrap(), None);
        assert!(peer.await.is_empty());
    });
}

// ------------------------------------------------------------------ timers and failures

/// A server with keep-alive pings every `period` (and as long a timeout), and a raw client
/// that never answers: it reads until the server ends the stream, and returns what it read.
async fn server_with_a_silent_peer(
    period: Duration,
) -> (wst::WebSocket<wst::TokioIo<tokio::net::TcpStream>>, Joined<Vec<u8>>) {
    let (listener, addr) = loopback().await;
    let peer = spawn_thread(move || {
        let (mut tcp, rest) = raw_client(addr);
        read_to_eof(&mut tcp, rest)
    });
    let (tcp, _) = listener.accept().await.unwrap();
    let keep_alive = KeepAlive { interval: period, timeout: period };
    let config = Options::default().config.keep_alive(Some(keep_alive));
    let ws = wst::accept_with(tcp, &options(config), |_| async { Ok(Accept::new()) }).await.unwrap();
    (ws, peer)
}

#[test]
fn keep_alive_is_on_by_default_and_fails_the_connection_when_the_peer_never_answers_pings() {
    bounded(LIMIT, async {
        assert!(Options::default().config.keep_alive.is_some(), "Options turn keep-alive on by default");
        let (mut ws, peer) = server_with_a_silent_peer(Duration::from_millis(200)).await;
        let start = Instant::now();
        let error = ws.recv().await.unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        assert_eq!(ws.close_outcome().map(|o| o.cause.clone()), Some(CloseCause::KeepAliveTimeout));
        // A ping after 200 ms of silence, failure 200 ms later (the clock started in `accept`).
        assert!(
            elapsed >= Duration::from_millis(350) && elapsed < Duration::from_secs(1),
            "after {elapsed:?}"
        );
        drop(ws);

        let wire = peer.await;
        assert!(wire.len() >= 2 && wire[0] == 0x89, "the peer received a ping frame first: {wire:02x?}");
        assert_eq!(wire[1] & 0x80, 0, "a server's ping is not masked");
    });
}

#[test]
fn keep_alive_fails_a_silent_peer_when_recv_is_first_polled_with_the_task_budget_spent() {
    bounded(LIMIT, async {
        let (mut ws, peer) = server_with_a_silent_peer(Duration::from_millis(100)).await;
        // The first wait arms the timer while tokio's cooperative budget is spent, so that the
        // timer's first poll is refused; the wake-ups after it must still register the timer.
        for _ in 0..1_000 {
            if !tokio::task::coop::has_budget_remaining() {
                break;
            }
            tokio::task::coop::consume_budget().await;
        }
        assert!(!tokio::task::coop::has_budget_remaining(), "the budget is spent");
        let error = ws.recv().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
        assert_eq!(ws.close_outcome().map(|o| o.cause.clone()), Some(CloseCause::KeepAliveTimeout));
        drop(ws);
        peer.await;
    });
}

#[test]
fn a_server_that_never_answers_the_request_fails_the_handshake_with_a_timeout() {
    bounded(LIMIT, async {
        let (listener, addr) = raw::loopback();
        let silent = spawn_thread(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // Read the request and say nothing; return when the client gives up.
            read_to_eof(&mut tcp, Vec::new())
        });
        let timeout = Duration::from_millis(300);
        let start = Instant::now();
        let request = ClientRequest::new(&ws_url(addr, "/")).unwrap();
        let error = wst::connect_with(request, &options(Config::default().handshake_timeout(timeout)))
            .await
            .unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(elapsed >= timeout && elapsed < timeout + SLACK, "gave up after {elapsed:?}");
        let request = silent.await;
        assert!(request.starts_with(b"GET / HTTP/1.1\r\n"));
    });
}

#[test]
fn accept_gives_up_with_a_timeout_when_the_client_never_sends_its_request() {
    bounded(LIMIT, async {
        let (listener, addr) = loopback().await;
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (tcp, _) = listener.accept().await.unwrap();
        let timeout = Duration::from_millis(300);
        let start = Instant::now();
        let config = Config::default().handshake_timeout(timeout);
        let error =
            wst::accept_with(tcp, &options(config), |_| async { Ok(Accept::new()) }).await.unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(elapsed >= timeout && elapsed < timeout + SLACK, "gave up after {elapsed:?}");
        drop(client);
    });
}

#[test]
fn connecting_to_a_closed_port_fails_quickly_with_an_io_error() {
    bounded(LIMIT, async {
        let (listener, addr) = loopback().await;
        drop(listener);
        let start = Instant::now();
        let error = wst::connect(&ws_url(addr, "/")).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Io, "{error}");
        assert!(start.elapsed() < Duration::from_secs(1), "refusal took {:?}", start.elapsed());
    });
}

// ------------------------------------------------------------------ wss://

#[cfg(all(feature = "rustls", feature = "blocking"))]
mod wss {
    use super::*;
    use support::tls::*;

    #[test]
    fn wss_client_round_trips_text_and_a_megabyte_with_a_rustls_server_and_closes_cleanly() {
        bounded(LIMIT, async {
            let (listener, addr) = raw::loopback();
            let (server_tls, client_tls) = tls_pair();
            // Larger than a TLS record (16 KiB), so a message spans several.
            let options = Options::default()
                .config(Config::default().max_message_size(4 << 20).max_frame_size(4 << 20));
            let server_options = options.clone();
            let server = spawn_thread(move || tls_echo_server(listener, server_tls, server_options));

            let request = ClientRequest::new(&wss_url(addr.port())).unwrap();
            let mut ws =
                wst::connect_with(request, &options.tls(client_tls)).await.expect("the wss client connects");
            let big: Bytes = (0..1_000_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into();
            for message in [Message::Text("hello over TLS — ✓".into()), Message::Binary(big)] {
                ws.send(message.clone()).await.unwrap();
                let echo = ws.recv().await.unwrap().expect("an echo");
                assert!(echo == message, "the echo of a {} differs", describe(&message));
            }
            ws.close(CloseCode::NORMAL, "tls done").await.unwrap();
            assert_eq!(ws.recv().await.unwrap(), None);
            let outcome = ws.close_outcome().unwrap().clone();
            assert!(outcome.is_clean() && outcome.initiator == Initiator::Local, "{outcome:?}");
            let client = ws.info().clone();
            drop(ws);

            let (echoed, server_outcome, server) = server.await;
            assert_eq!(echoed, 2);
            let server_outcome = server_outcome.unwrap();
            assert_eq!(
                (server_outcome.code, server_outcome.reason.as_str()),
                (CloseCode::NORMAL, "tls done")
            );
            assert!(server_outcome.is_clean(), "{server_outcome:?}");
            assert_eq!(client.peer_addr.map(|a| a.port()), Some(addr.port()));
            // The counters count WebSocket bytes, not TLS records.
            assert_eq!(client.bytes_written, server.bytes_read);
            assert_eq!(client.bytes_read, server.bytes_written);
        });
    }

    #[test]
    fn wss_split_halves_stream_twelve_mib_through_a_blocking_echo_server_without_deadlock() {
        bounded(LIMIT, async {
            const COUNT: usize = 200;
            let (listener, addr) = raw::loopback();
            let (server_tls, client_tls) = tls_pair();
            let server = spawn_thread(move || tls_echo_server(listener, server_tls, Options::default()));
            let request = ClientRequest::new(&wss_url(addr.port())).unwrap();
            let ws = wst::connect_with(request, &Options::default().tls(client_tls)).await.unwrap();
            let (mut reader, mut writer) = ws.split();
            // The server echoes one message at a time and blocks while writing the echo, so the
            // client must keep reading while its own writes wait for the socket.
            let writer = tokio::spawn(async move {
                for i in 0..COUNT {
                    let mut payload = pattern(64 << 10, i as u8).to_vec();
                    payload[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    writer
                        .send(Message::Binary(payload.into()))
                        .await
                        .unwrap_or_else(|e| panic!("send {i}: {e}"));
                }
                writer.close(CloseCode::NORMAL, "").await.unwrap();
                writer
            });
            let reader = tokio::spawn(async move {
                for i in 0..COUNT {
                    let echo = reader.recv().await.unwrap().expect("an echo");
                    assert_eq!(echo.as_bytes()[..8], (i as u64).to_le_bytes(), "echo {i} in order");
                }
                assert_eq!(reader.recv().await.unwrap(), None);
                reader
            });
            let (writer, reader) = (join(writer).await, join(reader).await);
            assert!(reader.close_outcome().unwrap().is_clean());
            drop((reader, writer));
            let (echoed, _, _) = server.await;
            assert_eq!(echoed, COUNT as u64);
        });
    }

    #[test]
    fn wss_split_halves_read_the_servers_bulk_while_their_own_bulk_upload_waits_for_the_socket() {
        bounded(LIMIT, async {
            const COUNT: usize = BULK_COUNT;
            let (listener, addr) = raw::loopback();
            let (server_tls, client_tls) = tls_pair();
            // The server sends all of its messages before it reads any: its blocking sends
            // finish only if the client reads while the client's own upload is stuck.
            let server = spawn_thread(move || {
                let mut ws =
                    accept_tls(&listener, server_tls, &wsproto::blocking::Options::default()).unwrap();
                for i in 0..COUNT {
                    ws.send(bulk(i)).unwrap();
                }
                let mut received = 0;
                while let Some(message) = ws.recv().unwrap() {
                    assert!(message == bulk(received), "upload {received}");
                    received += 1;
                }
                received
            });
            let request = ClientRequest::new(&wss_url(addr.port())).unwrap();
            let ws = wst::connect_with(request, &Options::default().tls(client_tls)).await.unwrap();
            let (mut reader, mut writer) = ws.split();
            let writer = tokio::spawn(async move {
                for i in 0..COUNT {
                    writer.send(bulk(i)).await.unwrap();
                }
                writer
            });
            let reader = tokio::spawn(async move {
                for i in 0..COUNT {
                    let message = reader.recv().await.unwrap().expect("a download");
                    assert!(message == bulk(i), "download {i}");
                }
                reader
            });
            let (mut writer, mut reader) = (join(writer).await, join(reader).await);
            writer.close(CloseCode::NORMAL, "").await.unwrap();
            assert_eq!(reader.recv().await.unwrap(), None);
            assert!(reader.close_outcome().unwrap().is_clean());
            assert_eq!(server.await, COUNT);
        });
    }

    #[test]
    fn wss_client_with_the_default_roots_refuses_a_self_signed_server_without_hanging() {
        bounded(LIMIT, async {
            let (listener, addr) = raw::loopback();
            let (server_tls, _) = tls_pair();
            let server = spawn_thread(move || {
                accept_tls(&listener, server_tls, &wsproto::blocking::Options::default()).map(drop)
            });
            let start = Instant::now();
            let error = wst::connect(&wss_url(addr.port())).await.unwrap_err();
            let elapsed = start.elapsed();
            assert_eq!(error.kind(), ErrorKind::Io, "a certificate error: {error}");
            assert!(error.to_string().to_lowercase().contains("certificate"), "{error}");
            assert!(elapsed < Duration::from_secs(2), "the refusal took {elapsed:?}");
            let server_error = server.await.unwrap_err();
            assert_eq!(
                server_error.kind(),
                ErrorKind::Io,
                "the server sees the client's alert: {server_error}"
            );
        });
    }
}

// ------------------------------------------------------------------ fixes found in review

#[test]
fn a_slow_accept_decision_counts_against_the_handshake_timeout() {
    bounded(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move { wst::connect(&ws_url(addr, "/")).await });
        let (stream, _) = listener.accept().await.unwrap();
        let options =
            Options::default().config(Config::default().handshake_timeout(Duration::from_millis(300)));
        let started = Instant::now();
        let result = wst::accept_with(stream, &options, |_| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(Accept::new())
        })
        .await;
        assert_eq!(result.err().map(|e| e.kind()), Some(ErrorKind::Timeout));
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        client.abort();
    });
}

#[test]
fn a_close_whose_future_was_dropped_can_be_called_again_and_the_stream_then_ends() {
    bounded(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = wst::accept(stream).await.unwrap();
            while ws.recv().await.unwrap().is_some() {}
        });
        let mut ws = wst::connect(&ws_url(addr, "/")).await.unwrap();
        // Dropped before the server's reply can arrive.
        let _ = tokio::time::timeout(Duration::ZERO, ws.close(CloseCode::NORMAL, "bye")).await;
        ws.close(CloseCode::NORMAL, "bye").await.expect("a second close waits for the end");
        assert!(ws.close_outcome().is_some_and(CloseOutcome::is_clean));
        assert!(sinks::next(&mut ws).await.is_none(), "the stream has ended");
        assert!(sinks::next(&mut ws).await.is_none(), "and stays ended");
        server.await.unwrap();
    });
}
