//! `connection_ops`: a client and a server joined by an in-memory link, driven by a sequence
//! of operations: commands on either end, deliveries of some of what one end wrote (in some
//! reads), garbage injected into either end, time passing, end of stream.
//!
//! Input: a flags byte (bit 0, 1: the client's, the server's fragment delivery; bit 2, 3:
//! auto-pong off on the client, the server; bit 4: flush the link at the end; bit 5: close
//! from the client at the end, bit 6: from the server), a `fragment_size` byte for each end
//! (0: none), then operations until the input ends (at most 256); see [`Op::read`].
//!
//! Checks after every operation: no panic; `buffered()` at most `max_frame_size +
//! max_message_size + 14` plus the read; `outgoing` at most the high-water mark, plus the
//! largest frame one accepted command queued, plus room for the close frame, two pongs and the
//! keep-alive pings of one silence ([`Endpoint::outgoing_bound`]); commands succeed or fail
//! exactly as a model of the API says, and a refused command changes nothing; each end's wire
//! is well-formed for its role with nothing after its close frame ([`WireCheck`]); `Closed` at
//! most once per end with nothing after it, failures with 1002, 1007 or 1009; an end that got
//! no garbage received a prefix of the messages its peer sent and can only fail with 1009, and
//! a clean close reports the peer's code and reason. At the end, when both ends have had end
//! of stream and every timer has run out, each reported `Closed` exactly once and is finished.

use std::time::{Duration, Instant};

use wsproto::{
    CloseCause, CloseCode, Config, Connection, DataKind, Delivery, Error, Event, EventRef, KeepAlive,
    Message, RngSource, Role, SendError, State,
};

use super::events::EventLog;
use super::frame_decode::drain_at_most;
use super::input::{Input, size};
use super::wire::{MAX_CONTROL_FRAME, MAX_DATA_HEADER, WireCheck};

const MAX_OPS: usize = 256;
const HIGH_WATER: usize = 2048;
const INTERVAL: Duration = Duration::from_secs(1);
const PONG_TIMEOUT: Duration = Duration::from_secs(2);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);
/// A keep-alive ping from a client: 2 header bytes, a key and an 8-byte counter.
const PING_FRAME: usize = 2 + 4 + 8;

pub fn connection_ops(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let fragment_sizes = [input.byte(), input.byte()];
    let mut world = World::new(flags, fragment_sizes);
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        let op = Op::read(&mut input);
        super::trace(&op);
        world.apply(op);
        world.check();
    }
    world.finish(flags);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

impl Side {
    fn index(self) -> usize {
        self as usize
    }

    fn peer(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }
}

#[derive(Debug)]
enum Op {
    Send(Side, Command),
    /// `from` writes at most `max` queued bytes; the peer reads them `read` bytes at a time,
    /// popping events after each read if `pop`.
    Deliver {
        from: Side,
        max: usize,
        read: usize,
        pop: bool,
    },
    /// Bytes that did not come from the peer.
    Inject {
        to: Side,
        bytes: Data,
        pop: bool,
    },
    Advance(Duration),
    Eof(Side),
    Poll(Side),
}

#[derive(Debug)]
enum Command {
    Text(String),
    Binary(Data),
    Fragment { kind: DataKind, data: Data, fin: bool },
    Ping(Data),
    Pong(Data),
    Close { code: CloseCode, reason: String },
}

/// A payload, shown by its length and first bytes in traces.
struct Data(Vec<u8>);

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes {:02x?}", self.0.len(), &self.0[..self.0.len().min(16)])
    }
}

impl Op {
    /// A tag byte — bit 7: the server, else the client; bit 6: do not pop events after
    /// delivering; bits 0–3: the operation — and its arguments.
    fn read(input: &mut Input<'_>) -> Self {
        let tag = input.byte();
        let side = if tag & 0x80 != 0 { Side::Server } else { Side::Client };
        let pop = tag & 0x40 == 0;
        match tag & 0x0F {
            0 => Self::Send(side, Command::Text(String::from_utf8_lossy(&payload(input)).into_owned())),
            1 => Self::Send(side, Command::Binary(Data(payload(input)))),
            2 => {
                let bits = input.byte();
                let kind = if bits & 1 != 0 { DataKind::Text } else { DataKind::Binary };
                Self::Send(side, Command::Fragment { kind, data: Data(payload(input)), fin: bits & 2 != 0 })
            }
            3 => Self::Send(side, Command::Ping(Data(payload(input)))),
            4 => Self::Send(side, Command::Pong(Data(payload(input)))),
            5 => {
                let code = close_code(input);
                let reason = String::from_utf8_lossy(&payload(input)).into_owned();
                Self::Send(side, Command::Close { code, reason })
            }
            6..=9 => {
                let max = match input.u16() {
                    u16::MAX => usize::MAX,
                    n => usize::from(n),
                };
                Self::Deliver { from: side, max, read: size(input.byte()), pop }
            }
            10 => Self::Inject { to: side, bytes: Data(payload(input)), pop },
            11 | 12 => Self::Advance(Duration::from_millis(u64::from(input.byte()) * 20)),
            13 => Self::Eof(side),
            _ => Self::Poll(side),
        }
    }
}

/// A payload: a length byte below 0xC0 takes up to 131 bytes of input (over the 125 of a
/// control frame); above, 128 to 8,192 bytes repeating up to 4 bytes of input.
fn payload(input: &mut Input<'_>) -> Vec<u8> {
    let n = input.byte();
    if n < 0xC0 {
        return input.bytes(usize::from(n) % 132).to_vec();
    }
    let len = usize::from(n - 0xBF) * 128;
    let pattern = match input.bytes(4) {
        [] => &b"a"[..],
        p => p,
    };
    pattern.iter().copied().cycle().take(len).collect()
}

/// Mostly registered codes, some that may not be sent, some private-use ones.
fn close_code(input: &mut Input<'_>) -> CloseCode {
    const CODES: [u16; 20] = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999, 1004, 1005, 1006,
        1015, 1016, 2999,
    ];
    let b = input.byte();
    let code = CODES.get(usize::from(b)).copied().unwrap_or(1000 + u16::from(b) * 16);
    CloseCode::from_u16(code).unwrap_or(CloseCode::NORMAL)
}

/// One end and what the fuzz driver knows of it.
struct Endpoint {
    conn: Connection,
    config: Config,
    log: EventLog,
    /// Everything this end wrote, judged as it is written.
    wire: WireCheck,
    /// The peer has been given our end of stream (we shut our write half).
    shut: bool,
    /// We were given end of stream: nothing more arrives.
    eof: bool,
    /// We were given bytes that did not come from the peer.
    injected: bool,
    /// Errors `receive` returned.
    errors: Vec<Error>,
    /// The message being sent piece by piece: its kind and bytes so far.
    sending: Option<(DataKind, Vec<u8>)>,
    /// Every message accepted for sending, in order.
    sent: Vec<(DataKind, Vec<u8>)>,
    /// The most bytes one accepted command queued.
    largest_command: usize,
    /// The last `pop_events` used `poll_event_ref`.
    lend: bool,
    /// Bytes received since events were last popped.
    unpopped: usize,
}

impl Endpoint {
    fn new(role: Role, config: Config, now: Instant) -> Self {
        Self {
            conn: Connection::new(role, config.clone(), now),
            log: EventLog::new(&config),
            wire: WireCheck::new(role),
            config,
            shut: false,
            eof: false,
            injected: false,
            errors: Vec::new(),
            sending: None,
            sent: Vec::new(),
            largest_command: 0,
            lend: false,
            unpopped: 0,
        }
    }

    /// Pops every event, every other call with `poll_event_ref` (lent messages are turned into
    /// owned events for the log, which checks them the same way).
    fn pop_events(&mut self) {
        self.unpopped = 0;
        self.lend = !self.lend;
        if !self.lend {
            while let Some(event) = self.conn.poll_event() {
                self.log.push(event);
            }
            return;
        }
        while let Some(event) = self.conn.poll_event_ref() {
            let event = match event {
                EventRef::Text(text) => Event::Message(Message::Text(text.to_owned().into())),
                EventRef::Binary(data) => Event::Message(Message::Binary(data.to_vec().into())),
                EventRef::Event(event) => event,
            };
            self.log.push(event);
        }
    }

    /// Feeds bytes `read` at a time, checking the receive buffer's bound after each read:
    /// what a frame and a message may hold, plus the bytes not yet decoded because their
    /// events were not popped (the connection decodes as the application pops).
    fn receive(&mut self, now: Instant, bytes: &[u8], read: usize, pop: bool) {
        let bound = self.config.max_frame_size + self.config.max_message_size + 14;
        for chunk in bytes.chunks(read.max(1)) {
            if let Err(error) = self.conn.receive(now, chunk) {
                assert_eq!(self.conn.state(), State::Closed, "`receive` failed on an open connection");
                self.errors.push(error);
            }
            self.unpopped += chunk.len();
            let buffered = self.conn.buffered();
            assert!(
                buffered <= bound + self.unpopped,
                "{buffered} bytes buffered after {} bytes unpopped",
                self.unpopped
            );
            if pop {
                self.pop_events();
            }
        }
    }

    /// Queued bytes can exceed the high-water mark by what one accepted command queued (a
    /// command is refused only at or above the mark) or one keep-alive ping (skipped at or
    /// above the mark), plus a close frame and two pongs (one partly written, one waiting;
    /// newer pongs replace the waiting one).
    fn outgoing_bound(&self) -> usize {
        self.config.outgoing_high_water + self.largest_command.max(PING_FRAME) + 3 * MAX_CONTROL_FRAME
    }

    /// Runs a command and checks its result against a model of the API: which error, if any,
    /// in the order the checks are made; a refused command changes nothing.
    fn command(&mut self, now: Instant, command: Command) {
        let queued = self.conn.outgoing().len();
        let state = self.conn.state();
        let open = state == State::Open;
        let room = queued < self.config.outgoing_high_water;
        let idle = self.sending.is_none();
        let fragment = self.config.fragment_size.unwrap_or(usize::MAX).max(1);
        let message_cost = |len: usize| len + len.div_ceil(fragment).max(1) * MAX_DATA_HEADER;
        let check =
            |refusals: &[(bool, SendError)]| refusals.iter().find(|(refused, _)| *refused).map(|r| r.1);
        let (result, refusal, cost) = match &command {
            Command::Text(text) => {
                let refusal = check(&[
                    (!open, SendError::Closed),
                    (!idle, SendError::MessageInProgress),
                    (!room, SendError::Backpressure),
                ]);
                (self.conn.send_text(text), refusal, message_cost(text.len()))
            }
            Command::Binary(Data(data)) => {
                let refusal = check(&[
                    (!open, SendError::Closed),
                    (!idle, SendError::MessageInProgress),
                    (!room, SendError::Backpressure),
                ]);
                (self.conn.send_binary(data.clone()), refusal, message_cost(data.len()))
            }
            Command::Fragment { kind, data: Data(data), fin } => {
                let other_kind = self.sending.as_ref().is_some_and(|(k, _)| k != kind);
                let mut text = self.sending.as_ref().map(|(_, so_far)| so_far.clone()).unwrap_or_default();
                text.extend_from_slice(data);
                let bad_text = *kind == DataKind::Text
                    && match std::str::from_utf8(&text) {
                        Ok(_) => false,
                        Err(e) => e.error_len().is_some() || *fin,
                    };
                let refusal = check(&[
                    (!open, SendError::Closed),
                    (other_kind, SendError::MessageInProgress),
                    (!room, SendError::Backpressure),
                    (bad_text, SendError::InvalidUtf8),
                ]);
                (self.conn.send_fragment(*kind, data, *fin), refusal, data.len() + MAX_DATA_HEADER)
            }
            Command::Ping(Data(payload)) => {
                let refusal = check(&[
                    (!open, SendError::Closed),
                    (!room, SendError::Backpressure),
                    (payload.len() > 125, SendError::ControlPayloadTooLong),
                ]);
                (self.conn.send_ping(payload), refusal, MAX_CONTROL_FRAME)
            }
            Command::Pong(Data(payload)) => {
                let refusal = check(&[
                    (!open, SendError::Closed),
                    (payload.len() > 125, SendError::ControlPayloadTooLong),
                ]);
                (self.conn.send_pong(payload), refusal, MAX_CONTROL_FRAME)
            }
            Command::Close { code, reason } => {
                let refusal = check(&[
                    (!open, SendError::Closed),
                    (!code.is_sendable(), SendError::InvalidCloseCode(*code)),
                    (reason.len() > 123, SendError::ReasonTooLong),
                ]);
                (self.conn.close(now, *code, reason), refusal, MAX_CONTROL_FRAME)
            }
        };
        assert_eq!(result, refusal.map_or(Ok(()), Err), "{command:?} with {queued} bytes queued, {state:?}");
        if result.is_err() {
            assert_eq!(self.conn.outgoing().len(), queued, "a refused command queued bytes");
            assert_eq!(self.conn.state(), state, "a refused command changed the state");
            return;
        }
        self.largest_command = self.largest_command.max(cost);
        match command {
            Command::Text(text) => self.sent.push((DataKind::Text, text.into_bytes())),
            Command::Binary(Data(data)) => self.sent.push((DataKind::Binary, data)),
            Command::Fragment { kind, data: Data(data), fin } => {
                let (_, so_far) = self.sending.get_or_insert_with(|| (kind, Vec::new()));
                so_far.extend_from_slice(&data);
                if fin {
                    self.sent.extend(self.sending.take());
                }
            }
            Command::Close { .. } => assert_eq!(self.conn.state(), State::Closing),
            Command::Ping(_) | Command::Pong(_) => {}
        }
    }
}

struct World {
    now: Instant,
    ends: [Endpoint; 2],
}

impl World {
    fn new(flags: u8, fragment_sizes: [u8; 2]) -> Self {
        let now = Instant::now();
        let config = |i: usize| {
            Config::default()
                .max_frame_size(1024)
                .max_message_size(4096)
                .max_fragments(16)
                .outgoing_high_water(HIGH_WATER)
                .close_timeout(CLOSE_TIMEOUT)
                .keep_alive(Some(KeepAlive { interval: INTERVAL, timeout: PONG_TIMEOUT }))
                .delivery(if flags >> i & 1 != 0 { Delivery::Fragments } else { Delivery::Messages })
                .auto_pong(flags >> (2 + i) & 1 == 0)
                .fragment_size(Some(usize::from(fragment_sizes[i])).filter(|&n| n != 0))
                .rng(RngSource::Seeded(0xC0 + i as u64))
        };
        Self {
            now,
            ends: [Endpoint::new(Role::Client, config(0), now), Endpoint::new(Role::Server, config(1), now)],
        }
    }

    fn end(&mut self, side: Side) -> &mut Endpoint {
        &mut self.ends[side.index()]
    }

    fn apply(&mut self, op: Op) {
        let now = self.now;
        match op {
            Op::Send(side, command) => self.end(side).command(now, command),
            Op::Deliver { from, max, read, pop } => self.deliver(from, max, read, pop),
            Op::Inject { to, bytes: Data(bytes), pop } => {
                let end = self.end(to);
                if !end.eof && !bytes.is_empty() {
                    end.injected = true;
                    end.receive(now, &bytes, bytes.len(), pop);
                }
            }
            Op::Advance(by) => {
                self.now += by;
                for end in &mut self.ends {
                    end.conn.handle_timeout(self.now);
                    if let Some(at) = end.conn.poll_timeout() {
                        assert!(at > self.now, "a deadline at or before now is left after handle_timeout");
                    }
                    end.pop_events();
                }
            }
            Op::Eof(side) => {
                let end = self.end(side);
                if !end.eof {
                    end.eof = true;
                    end.conn.receive_eof(now);
                    assert_eq!(end.conn.state(), State::Closed);
                }
                end.pop_events();
            }
            Op::Poll(side) => self.end(side).pop_events(),
        }
    }

    /// `from` writes up to `max` queued bytes; the peer reads them `read` bytes at a time,
    /// unless it already had end of stream.
    fn deliver(&mut self, from: Side, max: usize, read: usize, pop: bool) {
        let now = self.now;
        let sender = self.end(from);
        let bytes = drain_at_most(&mut sender.conn, max);
        sender.wire.push(&bytes);
        let receiver = self.end(from.peer());
        if !receiver.eof {
            receiver.receive(now, &bytes, read, pop);
        }
    }

    /// The invariants that hold between operations.
    fn check(&mut self) {
        let queued = self.ends.each_mut().map(|end| end.conn.outgoing().len());
        for (i, end) in self.ends.iter().enumerate() {
            let peer = &self.ends[1 - i];
            let role = end.conn.role();
            let queued = queued[i];
            let bound = end.outgoing_bound();
            assert!(queued <= bound, "{role:?} has {queued} bytes queued, over {bound}");
            let state = end.conn.state();
            if end.log.closed.is_some() || end.conn.is_finished() {
                assert_eq!(state, State::Closed, "{role:?}");
            }
            if state == State::Closed && !end.conn.has_events() {
                assert!(end.log.closed.is_some(), "{role:?} closed without reporting it");
            }
            // `receive` fails only with the failure the connection reports, every time.
            if let (Some(closed), Some(first)) = (&end.log.closed, end.errors.first()) {
                assert_eq!(closed.cause, CloseCause::Failed(*first), "{role:?} returned {first:?}");
                assert!(end.errors.iter().all(|e| e == first), "{role:?} returned {:?}", end.errors);
            }
            if end.injected {
                continue;
            }
            // An end that read only what its peer wrote got the messages the peer sent.
            let received = &end.log.messages;
            assert!(received.len() <= peer.wire.messages.len(), "{role:?} received more than was sent");
            assert_eq!(
                received[..],
                peer.wire.messages[..received.len()],
                "{role:?} received other messages"
            );
            let on_wire = &peer.wire.messages;
            assert_eq!(on_wire[..], peer.sent[..on_wire.len()], "the peer of {role:?} wrote other messages");
            let Some(outcome) = &end.log.closed else { continue };
            match &outcome.cause {
                CloseCause::Failed(error) => assert!(
                    matches!(error, Error::MessageTooBig | Error::FrameTooBig | Error::TooManyFragments),
                    "{role:?} failed with {error:?} reading what its peer wrote"
                ),
                CloseCause::Handshake => {
                    let close =
                        peer.wire.close.as_ref().expect("a clean close with no close frame from the peer");
                    assert_eq!(outcome.code.as_u16(), close.close_code().unwrap_or(1005));
                    assert_eq!(outcome.reason.as_bytes(), close.payload.get(2..).unwrap_or_default());
                }
                _ => {}
            }
        }
    }

    /// The end of the run: optionally the link is flushed and a close started; then each end
    /// gets end of stream and every timer runs out, after which each end reported `Closed`
    /// exactly once and is finished.
    fn finish(mut self, flags: u8) {
        let flush = flags & 0x10 != 0;
        if flush {
            self.settle();
        }
        for (i, bit) in [0x20, 0x40].into_iter().enumerate() {
            if flags & bit != 0 {
                let now = self.now;
                let end = &mut self.ends[i];
                let open = end.conn.state() == State::Open;
                assert_eq!(end.conn.close(now, CloseCode::NORMAL, "bye").is_ok(), open);
                end.pop_events();
                if flush {
                    self.settle();
                }
                self.check();
            }
        }
        for end in &mut self.ends {
            if !end.eof {
                end.eof = true;
                end.conn.receive_eof(self.now);
            }
            end.pop_events();
        }
        self.check();
        self.now += Duration::from_secs(3600);
        for end in &mut self.ends {
            end.conn.handle_timeout(self.now);
            end.pop_events();
        }
        self.check();
        for end in &self.ends {
            let role = end.conn.role();
            assert!(end.log.closed.is_some(), "{role:?} never reported Closed");
            assert!(end.conn.is_finished() && end.conn.wants_shutdown(), "{role:?} is not finished");
            assert_eq!(end.conn.poll_timeout(), None, "{role:?} has a timer after the end");
            assert!(!end.conn.has_events());
        }
    }

    /// Moves everything written, and end of stream when an end wants its write half shut,
    /// until nothing moves; the clock stands still.
    fn settle(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            for from in [Side::Client, Side::Server] {
                let now = self.now;
                self.end(from).pop_events();
                moved |= !self.end(from).conn.outgoing().is_empty();
                self.deliver(from, usize::MAX, usize::MAX, true);
                let sender = self.end(from);
                if sender.conn.wants_shutdown() && sender.conn.outgoing().is_empty() && !sender.shut {
                    sender.shut = true;
                    moved = true;
                    let receiver = self.end(from.peer());
                    if !receiver.eof {
                        receiver.eof = true;
                        receiver.conn.receive_eof(now);
                        receiver.pop_events();
                    }
                }
            }
            self.check();
            if !moved {
                return;
            }
        }
        panic!("the link did not settle");
    }
}
