//! RFC 6455 §5.5.1 and §7: the close handshake, close codes and reasons, who closed, the
//! outcome reported exactly once, abnormal closure, the close timeout, which side shuts TCP
//! first, and the failed connection.

mod common;

use std::time::{Duration, Instant};

use common::*;
use wsproto::{
    CloseCause, CloseCode, Config, Connection, DataKind, Error, Event, Initiator, MAX_REASON_LEN, Role,
    SendError, State,
};

const TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- the handshake

// RFC 6455 §5.5.1: "the endpoint MUST send a Close frame in response ... typically echoing the
// status code it received".
#[test]
fn client_close_is_echoed_and_both_sides_report_a_clean_close() {
    for_each_split(|split| {
        let mut p = default_pair(split);
        p.client.close(p.now, CloseCode::NORMAL, "bye").unwrap();
        assert_eq!(p.client.state(), State::Closing);
        p.drive();
        let server = the_close(&p.server_log.events);
        assert_eq!((server.code, server.reason.as_str()), (CloseCode::NORMAL, "bye"));
        assert_eq!((server.initiator, server.cause.clone()), (Initiator::Peer, CloseCause::Handshake));
        assert!(server.is_clean());
        let client = the_close(&p.client_log.events);
        assert_eq!((client.code, client.initiator), (CloseCode::NORMAL, Initiator::Local));
        assert!(client.is_clean());
        let echo = parse_frames(&p.server_log.wire);
        assert_eq!(echo.len(), 1);
        assert_eq!(echo[0].close_code(), Some(1000), "the server echoes the code");
        assert_eq!(p.client.state(), State::Closed);
        assert_eq!(p.server.state(), State::Closed);
    });
}

#[test]
fn server_close_is_echoed_and_both_sides_report_a_clean_close() {
    for_each_split(|split| {
        let mut p = default_pair(split);
        p.server.close(p.now, CloseCode::GOING_AWAY, "restarting").unwrap();
        p.drive();
        let client = the_close(&p.client_log.events);
        assert_eq!((client.code, client.reason.as_str()), (CloseCode::GOING_AWAY, "restarting"));
        assert_eq!(client.initiator, Initiator::Peer);
        let server = the_close(&p.server_log.events);
        assert_eq!((server.code, server.initiator), (CloseCode::GOING_AWAY, Initiator::Local));
        assert!(client.is_clean() && server.is_clean());
        let echo = check_wire(&p.client_log.wire, Role::Client);
        assert_eq!(echo[0].close_code(), Some(1001));
    });
}

#[test]
fn both_sides_closing_at_once_is_a_clean_close_initiated_locally_on_both() {
    let mut p = default_pair(Split::Whole);
    p.client.close(p.now, CloseCode::NORMAL, "c").unwrap();
    p.server.close(p.now, CloseCode::GOING_AWAY, "s").unwrap();
    p.drive();
    let client = the_close(&p.client_log.events);
    let server = the_close(&p.server_log.events);
    assert_eq!((client.code, client.reason.as_str()), (CloseCode::GOING_AWAY, "s"));
    assert_eq!((server.code, server.reason.as_str()), (CloseCode::NORMAL, "c"));
    assert_eq!((client.initiator, server.initiator), (Initiator::Local, Initiator::Local));
    assert!(client.is_clean() && server.is_clean());
    assert_eq!(parse_frames(&p.client_log.wire).len(), 1, "one close frame each, no echo");
    assert_eq!(parse_frames(&p.server_log.wire).len(), 1);
}

// RFC 6455 §7.1.5: a close frame without a code gives the connection close code 1005.
#[test]
fn empty_close_frame_reports_1005_and_is_echoed_empty() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let got = feed(&mut server, now, &RawFrame::new(op::CLOSE, "").client(), split).unwrap();
        let outcome = the_close(&got);
        assert_eq!((outcome.code, outcome.reason.as_str()), (CloseCode::NO_STATUS_RCVD, ""));
        assert!(outcome.is_clean());
        let echo = queued_frames(&mut server);
        assert_eq!(echo.len(), 1);
        assert!(echo[0].payload.is_empty(), "1005 never goes on the wire");
    });
}

#[test]
fn every_sendable_close_code_is_accepted_and_echoed_with_its_reason() {
    for code in (1000..=1003).chain(1007..=1014).chain([3000, 3999, 4000, 4999]) {
        let now = Instant::now();
        let mut client = client(now);
        let got = feed(&mut client, now, &RawFrame::close(code, "r").server(), Split::Whole).unwrap();
        let outcome = the_close(&got);
        assert_eq!((outcome.code.as_u16(), outcome.reason.as_str()), (code, "r"));
        assert_eq!(queued_close(&mut client), Some((code, "r".to_owned())));
    }
}

// RFC 6455 §7.4: codes below 1000, 1004-1006, 1015, unassigned 1016-2999 and 5000+ may not
// appear in a close frame; receiving one is a protocol error.
#[test]
fn close_frame_with_a_code_that_may_not_be_sent_fails_with_1002() {
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
        for_each_split(|split| {
            let now = Instant::now();
            let mut server = server(now);
            let input = RawFrame::close(code, "").client();
            expect_failure(&mut server, now, &input, split, Error::InvalidCloseCode(code));
        });
    }
}

// RFC 6455 §5.5.1: the body, if any, starts with a 2-byte code.
#[test]
fn close_frame_with_a_one_byte_payload_fails_with_1002() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut client = client(now);
        let input = RawFrame::new(op::CLOSE, [0x03]).server();
        expect_failure(&mut client, now, &input, split, Error::InvalidClosePayload);
    });
}

// RFC 6455 §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails with 1007.
#[test]
fn close_frame_with_a_reason_that_is_not_utf8_fails_with_1007() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let input = RawFrame::close(1000, b"ok \xC3\x28").client();
        expect_failure(&mut server, now, &input, split, Error::InvalidUtf8);
    });
}

#[test]
fn close_reason_of_123_bytes_with_multibyte_characters_is_delivered() {
    let reason = "é".repeat(61) + "x";
    assert_eq!(reason.len(), MAX_REASON_LEN);
    let mut p = default_pair(Split::ByteByByte);
    p.server.close(p.now, CloseCode::POLICY_VIOLATION, &reason).unwrap();
    p.drive();
    let outcome = the_close(&p.client_log.events);
    assert_eq!((outcome.code, outcome.reason), (CloseCode::POLICY_VIOLATION, reason));
}

// ---------------------------------------------------------------- the close command

#[test]
fn close_refuses_reserved_codes_and_long_reasons_and_stays_open() {
    let now = Instant::now();
    let mut client = client(now);
    for code in [CloseCode::NO_STATUS_RCVD, CloseCode::ABNORMAL, CloseCode::TLS_HANDSHAKE] {
        assert_eq!(client.close(now, code, ""), Err(SendError::InvalidCloseCode(code)));
    }
    let unassigned = CloseCode::from_u16(2000).unwrap();
    assert_eq!(client.close(now, unassigned, ""), Err(SendError::InvalidCloseCode(unassigned)));
    let long = "x".repeat(MAX_REASON_LEN + 1);
    assert_eq!(client.close(now, CloseCode::NORMAL, &long), Err(SendError::ReasonTooLong));
    assert_eq!(client.state(), State::Open);
    assert!(client.outgoing().is_empty());
    client.send_text("still open").unwrap();
    client.close(now, CloseCode::NORMAL, &long[1..]).unwrap();
    assert_eq!(queued_close(&mut client).map(|c| c.1.len()), Some(MAX_REASON_LEN));
}

#[test]
fn close_twice_is_refused_and_queues_one_close_frame() {
    let now = Instant::now();
    let mut server = server(now);
    server.close(now, CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.close(now, CloseCode::NORMAL, ""), Err(SendError::Closed));
    assert_eq!(queued_frames(&mut server).len(), 1);
}

#[test]
fn close_is_not_subject_to_backpressure() {
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, server_config().outgoing_high_water(10), now);
    server.send_binary(vec![0u8; 100]).unwrap();
    assert_eq!(server.send_text("x"), Err(SendError::Backpressure));
    server.close(now, CloseCode::NORMAL, "").unwrap();
    assert_eq!(queued_close(&mut server), Some((1000, String::new())));
}

// RFC 6455 §5.5.1: "the endpoint MUST NOT send any more data frames" after a close frame.
#[test]
fn nothing_is_sent_after_our_close_frame() {
    let now = Instant::now();
    let mut client = client(now);
    client.send_fragment(DataKind::Text, b"half", false).unwrap();
    client.close(now, CloseCode::NORMAL, "").unwrap();
    assert_eq!(client.send_text("x"), Err(SendError::Closed));
    assert_eq!(client.send_binary(vec![1]), Err(SendError::Closed));
    assert_eq!(client.send_fragment(DataKind::Text, b"x", true), Err(SendError::Closed));
    assert_eq!(client.send_ping(b""), Err(SendError::Closed));
    assert_eq!(client.send_pong(b""), Err(SendError::Closed));
    // A ping from the peer while we wait for its close is reported but not answered.
    let got = feed(&mut client, now, &RawFrame::ping("late").server(), Split::Whole).unwrap();
    assert_eq!(got, [Event::Ping(bytes::Bytes::from_static(b"late"))]);
    let frames = check_wire(&drain(&mut client), Role::Client);
    assert_eq!(frames.last().unwrap().opcode, op::CLOSE);
}

// RFC 6455 §7.1.2: after sending a close frame an endpoint still receives until the peer's.
#[test]
fn messages_that_arrive_after_our_close_frame_are_still_delivered() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        server.close(now, CloseCode::NORMAL, "").unwrap();
        let input = client_stream(&[
            RawFrame::text("in flight"),
            RawFrame::binary([1]).fin(false),
            RawFrame::cont([2]),
            RawFrame::close(1000, ""),
        ]);
        let got = feed(&mut server, now, &input, split).unwrap();
        assert_eq!(messages(&got), [text("in flight"), binary(&[1, 2])]);
        let outcome = the_close(&got);
        assert_eq!((outcome.initiator, outcome.is_clean()), (Initiator::Local, true));
        assert_eq!(queued_frames(&mut server).len(), 1, "no echo of an answer");
    });
}

#[test]
fn bytes_after_the_peers_close_frame_are_ignored() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let input =
            client_stream(&[RawFrame::close(1000, ""), RawFrame::text("late"), RawFrame::new(0xF, "")]);
        let got = feed(&mut server, now, &input, split).unwrap();
        assert!(messages(&got).is_empty());
        assert!(the_close(&got).is_clean());
        server.receive(now, b"\xff\xff garbage").unwrap();
        assert!(server.poll_event().is_none());
    });
}

// ---------------------------------------------------------------- TCP closing, §7.1.1

// RFC 6455 §7.1.1: "the underlying TCP connection ... SHOULD be closed first by the server".
#[test]
fn server_shuts_down_right_after_the_handshake_and_the_client_on_its_eof() {
    let mut p = default_pair(Split::Whole);
    p.client.close(p.now, CloseCode::NORMAL, "").unwrap();
    p.link_down = true;
    p.drive();
    p.link_down = false;
    let wire = p.client_log.wire.clone();
    p.server.receive(p.now, &wire).unwrap();
    assert!(p.server.wants_shutdown(), "the server closes TCP first");
    assert!(!p.server.is_finished(), "it still waits for the client's end of stream");
    let echo = drain(&mut p.server);
    p.client.receive(p.now, &echo).unwrap();
    assert_eq!(p.client.state(), State::Closed);
    assert!(!p.client.wants_shutdown(), "the client waits for the server's FIN");
    p.client.receive_eof(p.now);
    assert!(p.client.wants_shutdown() && p.client.is_finished());
    p.server.receive_eof(p.now);
    assert!(p.server.is_finished());
    let closes = count_closes(&events(&mut p.client)) + count_closes(&events(&mut p.server));
    assert_eq!(closes, 2, "end of stream after the handshake reports nothing more");
}

#[test]
fn client_shuts_down_after_the_close_timeout_when_the_server_never_closes_tcp() {
    let now = Instant::now();
    let (mut client, mut server) = (client(now), server(now));
    client.close(now, CloseCode::NORMAL, "").unwrap();
    server.receive(now, &drain(&mut client)).unwrap();
    assert!(the_close(&events(&mut server)).is_clean());
    client.receive(now, &drain(&mut server)).unwrap();
    assert!(the_close(&events(&mut client)).is_clean());
    // The server's FIN never comes.
    assert!(!client.wants_shutdown());
    let deadline = client.poll_timeout().expect("the client waits a bounded time");
    assert_eq!(deadline, now + TIMEOUT);
    client.handle_timeout(deadline - Duration::from_millis(1));
    assert!(!client.wants_shutdown());
    client.handle_timeout(deadline);
    assert!(client.wants_shutdown() && client.is_finished());
    assert!(client.poll_event().is_none(), "no second Closed");
    assert!(client.outgoing().is_empty());
}

#[test]
fn with_the_servers_fin_delivered_both_ends_finish_at_once() {
    for_each_split(|split| {
        let mut p = default_pair(split);
        p.client.close(p.now, CloseCode::NORMAL, "").unwrap();
        p.drive();
        assert!(p.server_log.shut && p.client_log.shut, "server first, then the client");
        assert!(p.client.is_finished() && p.server.is_finished());
        assert_eq!((p.client.poll_timeout(), p.server.poll_timeout()), (None, None));
    });
}

// ---------------------------------------------------------------- abnormal closure, §7.1.5

#[test]
fn end_of_stream_before_any_close_reports_1006_from_the_peer() {
    for side in [Side::Client, Side::Server] {
        let mut p = default_pair(Split::Whole);
        p.eof(side);
        let outcome = the_close(&p.take_events(side));
        assert_eq!((outcome.code, outcome.cause.clone()), (CloseCode::ABNORMAL, CloseCause::Eof));
        assert_eq!(outcome.initiator, Initiator::Peer);
        assert!(!outcome.is_clean());
        let now = p.now;
        let conn = p.conn(side);
        assert!(conn.wants_shutdown() && conn.is_finished());
        assert!(conn.outgoing().is_empty(), "no close frame to a peer that left");
        assert_eq!(conn.send_text("x"), Err(SendError::Closed));
        conn.receive_eof(now);
        assert!(conn.poll_event().is_none(), "a second EOF reports nothing");
    }
}

#[test]
fn end_of_stream_in_the_middle_of_a_message_reports_1006_and_drops_it() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let input = client_stream(&[RawFrame::text("part").fin(false), RawFrame::cont("ial")]);
        assert!(feed(&mut server, now, &input[..input.len() - 2], split).unwrap().is_empty());
        server.receive_eof(now);
        let got = events(&mut server);
        assert!(messages(&got).is_empty());
        assert_eq!(the_close(&got).code, CloseCode::ABNORMAL);
        assert_eq!(server.buffered(), 0);
    });
}

#[test]
fn end_of_stream_after_our_close_frame_is_still_abnormal() {
    let now = Instant::now();
    let mut client = client(now);
    client.close(now, CloseCode::NORMAL, "").unwrap();
    client.receive_eof(now);
    let outcome = the_close(&events(&mut client));
    assert_eq!((outcome.code, outcome.cause), (CloseCode::ABNORMAL, CloseCause::Eof));
    assert_eq!(outcome.initiator, Initiator::Local, "our close frame came first");
}

// ---------------------------------------------------------------- close timeout

#[test]
fn unanswered_close_times_out_with_1006_at_the_configured_deadline() {
    let timeout = Duration::from_secs(3);
    let config = client_config().close_timeout(timeout);
    let mut p = pair(config, server_config());
    p.link_down = true;
    p.client.close(p.now, CloseCode::NORMAL, "").unwrap();
    p.drive();
    assert_eq!(p.client.poll_timeout(), Some(p.now + timeout));
    p.advance(timeout - Duration::from_millis(1));
    assert!(p.client_log.events.is_empty(), "nothing happens before the deadline");
    assert_eq!(p.client.state(), State::Closing);
    p.advance(Duration::from_millis(1));
    let outcome = the_close(&p.client_log.events);
    assert_eq!(outcome.code, CloseCode::ABNORMAL);
    assert_eq!((outcome.cause, outcome.initiator), (CloseCause::CloseTimeout, Initiator::Local));
    assert!(p.client.wants_shutdown() && p.client.is_finished());
    assert_eq!(p.client.poll_timeout(), None);
    assert_eq!(parse_frames(&p.client_log.wire).len(), 1, "only the close frame was written");
}

#[test]
fn handle_timeout_before_the_close_deadline_does_nothing() {
    let now = Instant::now();
    let mut server = server(now);
    server.close(now, CloseCode::NORMAL, "").unwrap();
    let queued = server.outgoing().len();
    for ms in [0, 1, 5_000, 9_999] {
        server.handle_timeout(now + Duration::from_millis(ms));
        assert_eq!(server.state(), State::Closing);
        assert!(server.poll_event().is_none());
        assert_eq!(server.outgoing().len(), queued);
    }
}

#[test]
fn the_answer_arriving_in_time_cancels_the_close_timeout() {
    let mut p = default_pair(Split::Whole);
    p.client.close(p.now, CloseCode::NORMAL, "").unwrap();
    p.advance(Duration::from_secs(1));
    p.drive();
    p.advance(TIMEOUT * 3);
    assert!(the_close(&p.client_log.events).is_clean());
    assert!(p.client.is_finished() && p.server.is_finished());
    assert_eq!(p.client.poll_timeout(), None);
    assert_eq!(p.server.poll_timeout(), None);
}

// ---------------------------------------------------------------- failing, §7.1.7

#[test]
fn a_protocol_error_is_sticky_and_reported_once() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let input = client_stream(&[RawFrame::text("ok"), RawFrame::new(0x3, "bad"), RawFrame::text("x")]);
        let (before, _) = expect_failure(&mut server, now, &input, split, Error::ReservedOpcode(3));
        assert_eq!(messages(&before), [text("ok")], "messages before the fault are delivered");
        assert_eq!(server.send_text("x"), Err(SendError::Closed));
        assert_eq!(server.close(now, CloseCode::NORMAL, ""), Err(SendError::Closed));
        server.receive_eof(now);
        server.handle_timeout(now + TIMEOUT * 10);
        assert!(server.poll_event().is_none());
        assert!(server.is_finished());
    });
}

#[test]
fn a_protocol_error_after_our_close_frame_queues_no_second_close() {
    let now = Instant::now();
    let mut client = client(now);
    client.close(now, CloseCode::NORMAL, "").unwrap();
    let first = queued_frames(&mut client);
    assert_eq!(first.len(), 1);
    let err = client.receive(now, &RawFrame::new(0xB, "").server()).unwrap_err();
    assert_eq!(err, Error::ReservedOpcode(0xB));
    assert!(client.outgoing().is_empty(), "one close frame per connection");
    let outcome = the_close(&events(&mut client));
    assert_eq!(outcome.cause, CloseCause::Failed(err));
    assert!(client.wants_shutdown());
}

#[test]
fn a_failure_waiting_behind_events_does_not_reopen_a_connection_that_timed_out() {
    let now = Instant::now();
    let mut server = server(now);
    server.close(now, CloseCode::NORMAL, "").unwrap();
    drain(&mut server);
    // A message, then garbage: the failure waits until the message's event is popped.
    let input = client_stream(&[RawFrame::text("last"), RawFrame::new(0x3, "")]);
    assert_eq!(server.receive(now, &input), Ok(()));
    server.handle_timeout(now + TIMEOUT);
    assert!(server.is_finished(), "the close timeout ended it");
    let got = events(&mut server);
    assert_eq!(messages(&got), [text("last")]);
    assert_eq!(the_close(&got).cause, CloseCause::CloseTimeout);
    assert!(server.is_finished(), "still finished after the late failure applied");
    assert!(server.wants_shutdown());
    assert!(server.outgoing().is_empty());
}

// The drain contract: pop events before writing, so replies to a message go out before the
// close frame that followed it (Autobahn 3.2, 5.15).
#[test]
fn replies_to_messages_before_a_protocol_error_go_out_before_the_close_frame() {
    for_each_split(|split| {
        let now = Instant::now();
        let mut server = server(now);
        let input =
            client_stream(&[RawFrame::text("echo me"), RawFrame::text("and me"), RawFrame::new(0xB, "")]);
        let mut replies = 0;
        let mut closed = None;
        for chunk in Chunker::new(split).cut(&input) {
            let _ = server.receive(now, chunk);
            while let Some(event) = server.poll_event() {
                match event {
                    Event::Message(m) => {
                        server.send_text(std::str::from_utf8(m.as_bytes()).unwrap()).unwrap();
                        replies += 1;
                    }
                    Event::Closed(outcome) => closed = Some(outcome),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(replies, 2);
        assert_eq!(closed.unwrap().cause, CloseCause::Failed(Error::ReservedOpcode(0xB)));
        let frames = check_wire(&drain(&mut server), Role::Server);
        let shape: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
        assert_eq!(shape, [op::TEXT, op::TEXT, op::CLOSE]);
        assert_eq!(frames[2].close_code(), Some(1002));
    });
}

#[test]
fn replies_to_messages_before_the_peers_close_go_out_before_the_echo() {
    let now = Instant::now();
    let mut client = client(now);
    let input = server_stream(&[RawFrame::text("q"), RawFrame::close(1000, "")]);
    client.receive(now, &input).unwrap();
    assert_eq!(client.state(), State::Open, "the close waits behind the message");
    assert_eq!(client.poll_event(), Some(Event::Message(text("q"))));
    client.send_text("a").unwrap();
    let Some(Event::Closed(outcome)) = client.poll_event() else { panic!("no close") };
    assert!(outcome.is_clean());
    assert_eq!(client.send_text("too late"), Err(SendError::Closed));
    let frames = check_wire(&drain(&mut client), Role::Client);
    let shape: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(shape, [op::TEXT, op::CLOSE]);
}

#[test]
fn a_failed_peer_is_reported_with_its_close_code_on_the_other_side() {
    for_each_split(|split| {
        let mut p = default_pair(split);
        // The client receives a masked frame: it fails with 1002 and tells the server.
        p.inject(Side::Client, &RawFrame::text("masked").client());
        p.drive();
        assert_eq!(p.client_log.errors[0], Error::MaskedFrame);
        assert!(p.client_log.errors.iter().all(|e| *e == Error::MaskedFrame), "sticky");
        let server = the_close(&p.server_log.events);
        assert_eq!(server.code, CloseCode::PROTOCOL_ERROR);
        assert_eq!(server.reason, Error::MaskedFrame.reason());
        assert_eq!(server.initiator, Initiator::Peer);
        let client = the_close(&p.client_log.events);
        assert_eq!(client.cause, CloseCause::Failed(Error::MaskedFrame));
        assert!(p.client_log.shut && p.server_log.shut);
        assert!(p.server.is_finished());
    });
}

#[test]
fn error_close_codes_follow_rfc_6455_section_7_4_1() {
    let cases = [
        (Error::ReservedOpcode(3), 1002),
        (Error::ReservedBits, 1002),
        (Error::UnmaskedFrame, 1002),
        (Error::MaskedFrame, 1002),
        (Error::InvalidLength, 1002),
        (Error::ControlFrameTooLong, 1002),
        (Error::FragmentedControlFrame, 1002),
        (Error::UnexpectedContinuation, 1002),
        (Error::ExpectedContinuation, 1002),
        (Error::InvalidClosePayload, 1002),
        (Error::InvalidCloseCode(5), 1002),
        (Error::InvalidUtf8, 1007),
        (Error::FrameTooBig, 1009),
        (Error::MessageTooBig, 1009),
        (Error::TooManyFragments, 1009),
    ];
    for (error, code) in cases {
        assert_eq!(error.close_code().as_u16(), code, "{error:?}");
        assert!(error.reason().len() <= MAX_REASON_LEN);
        assert!(error.to_string().contains(&code.to_string()));
    }
}

// ---------------------------------------------------------------- exactly once

#[test]
fn every_ending_reports_closed_exactly_once_whatever_follows() {
    type Ending = fn(&mut Pair);
    let endings: [(&str, Ending); 5] = [
        ("client close", |p| p.client.close(p.now, CloseCode::NORMAL, "").unwrap()),
        ("server close", |p| p.server.close(p.now, CloseCode::NORMAL, "").unwrap()),
        ("client eof", |p| p.eof(Side::Client)),
        ("server eof", |p| p.eof(Side::Server)),
        ("garbage", |p| p.inject(Side::Server, b"\x8f\x80\0\0\0\0")),
    ];
    for (name, end) in endings {
        let mut p = pair(client_config(), server_config());
        end(&mut p);
        p.drive();
        p.advance(TIMEOUT * 2);
        p.eof(Side::Client);
        p.eof(Side::Server);
        p.advance(TIMEOUT * 2);
        for side in [Side::Client, Side::Server] {
            assert_eq!(count_closes(&p.log(side).events), 1, "{name}: {side:?}");
            assert!(p.conn(side).is_finished(), "{name}: {side:?} finished");
            assert_eq!(p.conn(side).poll_timeout(), None);
        }
    }
}

#[test]
fn default_close_timeout_is_ten_seconds() {
    assert_eq!(Config::default().close_timeout, TIMEOUT);
}
