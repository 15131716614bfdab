//! RFC 6455 §5.5 control frames: their limits, the automatic pong (§5.5.2, coalesced per
//! §5.5.3), and keep-alive pings with a pong deadline (§5.5.2: "A Ping frame may serve either
//! as a keepalive or as a means to verify that the remote endpoint is still responsive").

mod common;

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use common::*;
use wsproto::{
    CloseCause, CloseCode, Connection, DataKind, Error, Event, Initiator, KeepAlive, Role, SendError, State,
};

// ---------------------------------------------------------------- §5.5 limits

// RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
#[test]
fn control_frame_over_125_bytes_fails_with_1002_on_its_header() {
    for opcode in [op::PING, op::PONG, op::CLOSE] {
        for_each_split(|split| {
            let now = Instant::now();
            let mut server = server(now);
            let input = RawFrame::new(opcode, vec![0u8; 126]).client();
            let (_, at) = expect_failure(&mut server, now, &input, split, Error::ControlFrameTooLong);
            if split == Split::ByteByByte {
                assert_eq!(at, 2, "the length byte alone fails it");
            }
        });
    }
}

// RFC 6455 §5.5: "All control frames ... MUST NOT be fragmented."
#[test]
fn control_frame_without_fin_fails_with_1002() {
    for opcode in [op::PING, op::PONG, op::CLOSE] {
        for_each_split(|split| {
            let now = Instant::now();
            let mut client = client(now);
            let input = RawFrame::new(opcode, "x").fin(false).server();
            expect_failure(&mut client, now, &input, split, Error::FragmentedControlFrame);
        });
    }
}

#[test]
fn ping_and_pong_payloads_over_125_bytes_are_refused_on_send() {
    let now = Instant::now();
    let mut client = client(now);
    assert_eq!(client.send_ping(&[0; 126]), Err(SendError::ControlPayloadTooLong));
    assert_eq!(client.send_pong(&[0; 126]), Err(SendError::ControlPayloadTooLong));
    assert!(client.outgoing().is_empty());
    client.send_ping(&[1; 125]).unwrap();
    let frames = queued_frames(&mut client);
    assert_eq!((frames[0].opcode, frames[0].payload.len()), (op::PING, 125));
    assert_eq!(client.state(), State::Open);
}

// ---------------------------------------------------------------- §5.5.2 ping, §5.5.3 pong

// RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
// response ... [with] identical 'Application data'".
#[test]
fn ping_is_answered_with_a_pong_carrying_the_same_payload() {
    for payload in [&b""[..], b"x", &[0xAB; 125]] {
        for_each_split(|split| {
            let mut p = default_pair(split);
            p.client.send_ping(payload).unwrap();
            p.server.send_ping(payload).unwrap();
            p.drive();
            let expected =
                [Event::Ping(Bytes::copy_from_slice(payload)), Event::Pong(Bytes::copy_from_slice(payload))];
            for side in [Side::Client, Side::Server] {
                let mut got = p.log(side).events.clone();
                got.sort_by_key(|e| matches!(e, Event::Pong(_)));
                assert_eq!(got, expected, "{side:?}");
            }
            let pongs = check_wire(&p.server_log.wire, Role::Server);
            assert!(pongs.iter().any(|f| f.opcode == op::PONG && f.payload == payload));
        });
    }
}

#[test]
fn with_auto_pong_off_a_ping_is_reported_and_not_answered() {
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, server_config().auto_pong(false), now);
    let got = feed(&mut server, now, &RawFrame::ping("hi").client(), Split::Whole).unwrap();
    assert_eq!(got, [Event::Ping(Bytes::from_static(b"hi"))]);
    assert!(server.outgoing().is_empty());
    server.send_pong(b"hi").unwrap();
    assert_eq!(queued_frames(&mut server)[0].opcode, op::PONG);
}

#[test]
fn every_ping_gets_its_own_pong_while_writes_keep_up() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let input = client_stream(&[RawFrame::ping("one"), RawFrame::ping("two"), RawFrame::ping("three")]);
        let got = feed(&mut server, now, &input, split).unwrap();
        assert_eq!(got.len(), 3, "every ping is reported");
        let frames = queued_frames(&mut server);
        let pongs: Vec<&[u8]> = frames.iter().map(|f| &f.payload[..]).collect();
        assert_eq!(pongs, [&b"one"[..], b"two", b"three"]);
        assert!(frames.iter().all(|f| f.opcode == op::PONG));
    });
}

/// A server whose outgoing queue is at its high-water mark of 100 bytes.
fn backed_up_server(now: Instant) -> Connection {
    let mut server = Connection::new(Role::Server, server_config().outgoing_high_water(100), now);
    server.send_binary(vec![0u8; 100]).unwrap();
    assert_eq!(server.send_text("x"), Err(SendError::Backpressure));
    server
}

// RFC 6455 §5.5.3: "If an endpoint receives a Ping frame and has not yet sent Pong frame(s) in
// response to previous Ping frame(s), the endpoint MAY elect to send a Pong frame for only the
// most recently processed Ping frame." The core does so once its writes back up.
#[test]
fn pings_received_while_writes_are_backed_up_get_one_pong_for_the_latest() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = backed_up_server(now);
        let input = client_stream(&[RawFrame::ping("one"), RawFrame::ping("two"), RawFrame::ping("three")]);
        let got = feed(&mut server, now, &input, split).unwrap();
        assert_eq!(got.len(), 3, "every ping is reported");
        let frames = queued_frames(&mut server);
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[1].opcode, &frames[1].payload[..]), (op::PONG, &b"three"[..]));
    });
}

#[test]
fn a_million_pings_with_nothing_drained_keep_outgoing_bounded_by_the_high_water_mark() {
    let now = Instant::now();
    let mut server = server(now);
    let high_water = server.config().outgoing_high_water;
    let batch: Vec<u8> = (0..1000u32).flat_map(|i| RawFrame::ping(i.to_be_bytes()).client()).collect();
    for _ in 0..1000 {
        server.receive(now, &batch).unwrap();
        let queued = server.outgoing().len();
        assert!(queued <= high_water + 2 + 125, "outgoing grew to {queued}");
        while server.poll_event().is_some() {}
    }
    let frames = queued_frames(&mut server);
    assert!(frames.len() < high_water / 6 + 2, "{} pongs queued", frames.len());
    assert_eq!(frames.last().unwrap().payload, 999u32.to_be_bytes(), "the latest ping is answered");
    assert_eq!(server.buffered(), 0);
}

#[test]
fn a_million_pings_leave_one_small_pong_queued_once_writes_are_backed_up() {
    let now = Instant::now();
    let mut server = backed_up_server(now);
    let batch: Vec<u8> = (0..1000u32).flat_map(|i| RawFrame::ping(i.to_be_bytes()).client()).collect();
    for _ in 0..1000 {
        server.receive(now, &batch).unwrap();
        assert!(server.outgoing().len() <= 102 + 6, "outgoing grew to {}", server.outgoing().len());
        while server.poll_event().is_some() {}
    }
    let frames = queued_frames(&mut server);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].payload, 999u32.to_be_bytes());
}

#[test]
fn a_client_also_coalesces_its_masked_pongs_when_backed_up() {
    let now = Instant::now();
    let mut client = Connection::new(Role::Client, client_config().outgoing_high_water(1), now);
    client.send_text("x").unwrap();
    let input = server_stream(&[RawFrame::ping("a"), RawFrame::ping("bb"), RawFrame::ping("ccc")]);
    feed(&mut client, now, &input, Split::Whole).unwrap();
    let frames = check_wire(&drain(&mut client), Role::Client);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].payload, b"ccc");
}

#[test]
fn a_pong_partly_written_is_finished_and_the_newer_one_follows() {
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, server_config().outgoing_high_water(1), now);
    feed(&mut server, now, &RawFrame::ping("first").client(), Split::Whole).unwrap();
    let mut wire = vec![server.outgoing().chunk()[0]];
    server.outgoing().advance(1);
    feed(&mut server, now, &RawFrame::ping("second").client(), Split::Whole).unwrap();
    feed(&mut server, now, &RawFrame::ping("third").client(), Split::Whole).unwrap();
    wire.extend(drain(&mut server));
    let frames = parse_frames(&wire);
    let payloads: Vec<&[u8]> = frames.iter().map(|f| &f.payload[..]).collect();
    assert_eq!(payloads, [&b"first"[..], b"third"]);
}

#[test]
fn coalesced_pongs_never_reorder_or_drop_data() {
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, server_config().outgoing_high_water(4), now);
    feed(&mut server, now, &RawFrame::ping("a").client(), Split::Whole).unwrap();
    server.send_fragment(DataKind::Binary, b"x", false).unwrap();
    feed(&mut server, now, &RawFrame::ping("b").client(), Split::Whole).unwrap();
    server.send_fragment(DataKind::Binary, b"y", true).unwrap_err();
    feed(&mut server, now, &RawFrame::ping("c").client(), Split::Whole).unwrap();
    let mut wire = drain(&mut server);
    server.send_fragment(DataKind::Binary, b"y", true).unwrap();
    wire.extend(drain(&mut server));
    let frames = check_wire(&wire, Role::Server);
    let data: Vec<&[u8]> = frames.iter().filter(|f| f.opcode != op::PONG).map(|f| &f.payload[..]).collect();
    assert_eq!(data, [&b"x"[..], b"y"]);
    let pongs: Vec<&[u8]> = frames.iter().filter(|f| f.opcode == op::PONG).map(|f| &f.payload[..]).collect();
    assert_eq!(pongs, [&b"c"[..]]);
}

#[test]
fn an_unsolicited_pong_is_reported_to_the_receiver() {
    let mut p = default_pair(Split::Whole);
    p.client.send_pong(b"heartbeat").unwrap();
    p.drive();
    assert_eq!(p.server_log.events, [Event::Pong(Bytes::from_static(b"heartbeat"))]);
    assert!(p.server_log.wire.is_empty(), "a pong is not answered");
}

// ---------------------------------------------------------------- keep-alive

const INTERVAL: Duration = Duration::from_secs(5);
const PONG_TIMEOUT: Duration = Duration::from_secs(3);
const KEEP_ALIVE: KeepAlive = KeepAlive { interval: INTERVAL, timeout: PONG_TIMEOUT };

fn keep_alive_server(now: Instant) -> Connection {
    Connection::new(Role::Server, server_config().keep_alive(Some(KEEP_ALIVE)), now)
}

#[test]
fn keep_alive_sends_a_ping_after_an_interval_of_silence() {
    let now = Instant::now();
    let mut server = keep_alive_server(now);
    assert_eq!(server.poll_timeout(), Some(now + INTERVAL));
    server.handle_timeout(now + INTERVAL - Duration::from_millis(1));
    assert!(server.outgoing().is_empty(), "no ping before the interval");
    server.handle_timeout(now + INTERVAL);
    let frames = check_wire(&drain(&mut server), Role::Server);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, op::PING);
    assert_eq!(server.poll_timeout(), Some(now + INTERVAL + PONG_TIMEOUT));
    assert!(server.poll_event().is_none());
}

#[test]
fn keep_alive_fails_the_connection_when_nothing_arrives_by_the_pong_deadline() {
    let now = Instant::now();
    let mut server = keep_alive_server(now);
    server.handle_timeout(now + INTERVAL);
    drain(&mut server);
    let deadline = now + INTERVAL + PONG_TIMEOUT;
    server.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(server.state(), State::Open);
    assert!(server.poll_event().is_none());
    server.handle_timeout(deadline);
    let outcome = the_close(&events(&mut server));
    assert_eq!(outcome.code, CloseCode::ABNORMAL);
    assert_eq!((outcome.cause, outcome.initiator), (CloseCause::KeepAliveTimeout, Initiator::Local));
    assert!(server.wants_shutdown() && server.is_finished());
    assert_eq!(server.poll_timeout(), None);
    assert_eq!(server.send_text("x"), Err(SendError::Closed));
    server.handle_timeout(deadline + INTERVAL * 10);
    assert!(server.poll_event().is_none() && server.outgoing().is_empty());
}

#[test]
fn a_responsive_peer_keeps_the_connection_open_indefinitely() {
    let config = client_config().keep_alive(Some(KEEP_ALIVE));
    let mut p = pair(config, server_config().keep_alive(Some(KEEP_ALIVE)));
    p.advance(Duration::from_secs(120));
    assert_eq!(p.client.state(), State::Open);
    assert_eq!(p.server.state(), State::Open);
    let pongs = p.client_log.events.iter().filter(|e| matches!(e, Event::Pong(_))).count();
    assert!((20..=24).contains(&pongs), "about one ping per interval, got {pongs}");
    assert_eq!(count_closes(&p.client_log.events) + count_closes(&p.server_log.events), 0);
}

#[test]
fn any_received_frame_postpones_the_keep_alive_ping() {
    let now = Instant::now();
    let mut server = keep_alive_server(now);
    let frames = [RawFrame::text("t"), RawFrame::pong(""), RawFrame::ping(""), RawFrame::binary("b")];
    let mut t = now;
    for frame in frames.iter().cycle().take(40) {
        t += INTERVAL - Duration::from_millis(1);
        server.handle_timeout(t);
        server.receive(t, &frame.client()).unwrap();
        let sent = queued_frames(&mut server);
        assert!(sent.iter().all(|f| f.opcode != op::PING), "no keep-alive ping while frames arrive");
        assert_eq!(server.poll_timeout(), Some(t + INTERVAL));
    }
    assert_eq!(server.state(), State::Open);
}

#[test]
fn each_frame_of_a_slow_fragmented_message_counts_as_activity() {
    let now = Instant::now();
    let mut server = keep_alive_server(now);
    let mut t = now;
    server.receive(t, &RawFrame::text("a").fin(false).client()).unwrap();
    for _ in 0..10 {
        t += INTERVAL - Duration::from_millis(1);
        server.handle_timeout(t);
        server.receive(t, &RawFrame::cont("b").fin(false).client()).unwrap();
    }
    assert!(queued_frames(&mut server).is_empty(), "no ping while the message arrives");
    server.receive(t, &RawFrame::cont("c").client()).unwrap();
    assert_eq!(messages(&events(&mut server)), [text(&format!("a{}c", "b".repeat(10)))]);
}

#[test]
fn a_large_frame_trickling_in_keeps_the_connection_alive() {
    let now = Instant::now();
    let mut server = keep_alive_server(now);
    let input = RawFrame::binary(vec![1u8; 1000]).client();
    let mut t = now;
    for chunk in input.chunks(10) {
        t += Duration::from_secs(2);
        server.handle_timeout(t);
        server.receive(t, chunk).unwrap();
    }
    assert_eq!(server.state(), State::Open, "bytes kept arriving for {:?}", t - now);
    assert_eq!(messages(&events(&mut server)), [binary(&[1; 1000])]);
}

#[test]
fn the_pong_deadline_is_cleared_by_the_pong() {
    let now = Instant::now();
    let mut server = keep_alive_server(now);
    let ping_at = now + INTERVAL;
    server.handle_timeout(ping_at);
    let ping = queued_frames(&mut server).remove(0);
    server.receive(ping_at + Duration::from_secs(1), &RawFrame::pong(&ping.payload).client()).unwrap();
    assert_eq!(server.poll_timeout(), Some(ping_at + Duration::from_secs(1) + INTERVAL));
    server.handle_timeout(ping_at + PONG_TIMEOUT);
    assert_eq!(server.state(), State::Open);
}

#[test]
fn keep_alive_stops_once_the_close_handshake_starts() {
    let now = Instant::now();
    let mut server = keep_alive_server(now);
    server.close(now, CloseCode::NORMAL, "").unwrap();
    drain(&mut server);
    assert_eq!(server.poll_timeout(), Some(now + Duration::from_secs(10)), "only the close timer");
    server.handle_timeout(now + INTERVAL);
    assert!(server.outgoing().is_empty(), "no ping after our close frame");
}

#[test]
fn later_keep_alive_pings_do_not_push_back_the_pong_deadline() {
    // An interval shorter than the timeout: pings keep going out while the first is unanswered.
    let now = Instant::now();
    let keep_alive = KeepAlive { interval: Duration::from_secs(2), timeout: Duration::from_secs(5) };
    let mut server = Connection::new(Role::Server, server_config().keep_alive(Some(keep_alive)), now);
    for s in 1..=6 {
        server.handle_timeout(now + Duration::from_secs(s));
    }
    assert_eq!(server.state(), State::Open, "6 s: the first ping (at 2 s) is 4 s old");
    server.handle_timeout(now + Duration::from_secs(7));
    let outcome = the_close(&events(&mut server));
    assert_eq!(outcome.cause, CloseCause::KeepAliveTimeout, "5 s after the first unanswered ping");
    let pings = queued_frames(&mut server);
    assert!(pings.iter().all(|f| f.opcode == op::PING) && pings.len() == 3);
}

#[test]
fn keep_alive_with_a_zero_interval_is_off() {
    let now = Instant::now();
    let keep_alive = KeepAlive { interval: Duration::ZERO, timeout: Duration::from_secs(1) };
    let mut server = Connection::new(Role::Server, server_config().keep_alive(Some(keep_alive)), now);
    assert_eq!(server.poll_timeout(), None, "no timer is armed");
    server.handle_timeout(now + Duration::from_secs(60));
    assert!(queued_frames(&mut server).is_empty(), "no ping is sent");
    assert_eq!(server.state(), State::Open);
}
