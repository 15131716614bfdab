//! The connection state machine: glue between the receiver, the sender, the close handshake
//! and the timers. Everything that changes the connection's state is in this file.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use crate::close::{CloseCause, CloseCode, CloseFrame, CloseOutcome, Initiator, MAX_REASON_LEN};
use crate::config::Config;
use crate::error::{Error, SendError};
use crate::frame::OpCode;
use crate::message::{DataKind, Event, EventRef};
use crate::outgoing::Outgoing;
use crate::receive_buffer::ReceiveBuffer;
use crate::receiver::{Incoming, Receiver};
use crate::sender::Sender;
use crate::timers::{Timer, Timers};

/// Capacity of the event queue kept by [`Connection::release_buffers`].
const EVENTS_KEPT: usize = 8;

/// Received bytes are taken in pieces of this size, so that each piece is unmasked and
/// UTF-8-checked while it is still in the CPU cache.
const RECEIVE_PIECE: usize = 32 << 10;

/// Which end of the connection this is. A client masks what it sends and expects unmasked
/// frames; a server the opposite (RFC 6455 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that sent the opening handshake request.
    Client,
    /// The end that accepted it.
    Server,
}

/// Where the connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's; received messages are still delivered.
    Closing,
    /// The close handshake is over, or the connection failed. [`Event::Closed`] was queued.
    Closed,
}

/// Counters of what passed through the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes handed to [`Connection::receive`].
    pub bytes_received: u64,
    /// Whole messages received (in fragment delivery: final pieces received).
    pub messages_received: u64,
    /// Data messages queued for the peer.
    pub messages_sent: u64,
}

/// How far [`Connection::decode`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Until {
    /// Until an event is queued or a whole small message is next (it waits in the buffer,
    /// to be lent by `poll_event_ref` or copied out by `poll_event`).
    Event,
    /// Until an event is queued, a small message included: the application is popping.
    Popped,
    /// Until more bytes are needed.
    All,
}

/// What a received frame did that waits until the events before it are popped, so that the
/// application's replies to those events go out before our close frame.
#[derive(Debug)]
enum Deferred {
    /// The peer's close frame.
    Close(CloseFrame),
    /// A protocol violation.
    Fail(Error),
}

/// Our side of the close handshake.
#[derive(Debug)]
enum CloseState {
    Open,
    /// Our close frame is queued; the close timer runs.
    Sent,
    /// The outcome was reported. `shutdown`: the write half should be shut down;
    /// `finished`: nothing more will happen.
    Closed {
        shutdown: bool,
        finished: bool,
    },
}

/// A WebSocket connection after the opening handshake, with no I/O of its own.
///
/// # The drain contract
///
/// The methods fall into four groups. **Inputs** ([`receive`](Self::receive),
/// [`receive_eof`](Self::receive_eof), [`handle_timeout`](Self::handle_timeout)) and
/// **commands** (`send_*`, [`close`](Self::close)) never block and never do I/O. After each of
/// them, drain the **outputs**, in this order:
///
/// 1. pop [`poll_event`](Self::poll_event) until `None`, acting on each (replies sent while
///    handling an event go out before a close that followed it on the wire);
/// 2. write [`outgoing`](Self::outgoing) to the peer until it is empty or the socket would block;
/// 3. when [`wants_shutdown`](Self::wants_shutdown) and `outgoing` is empty, shut down the
///    write half of the transport;
/// 4. re-arm one timer at [`poll_timeout`](Self::poll_timeout), and call `handle_timeout` when
///    it fires.
///
/// Drop the transport once [`is_finished`](Self::is_finished). Time passed in never goes
/// backwards; a `handle_timeout` before any deadline does nothing. Protocol duties are done
/// here, not by the caller: pongs (the latest ping only), the echo of a received close, the
/// close frame with the right code when the peer breaks the protocol, the close timeout and
/// keep-alive pings.
///
/// ```
/// use std::time::Instant;
/// use bytes::Buf;
/// use wsproto::{Config, Connection, Event, Message, Role};
///
/// let now = Instant::now();
/// let mut client = Connection::new(Role::Client, Config::default(), now);
/// let mut server = Connection::new(Role::Server, Config::default(), now);
/// client.send_text("hello").unwrap();
/// let out = client.outgoing();
/// let wire = out.copy_to_bytes(out.remaining());
/// server.receive(now, &wire).unwrap();
/// match server.poll_event() {
///     Some(Event::Message(Message::Text(text))) => assert_eq!(text.as_str(), "hello"),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    receiver: Receiver,
    sender: Sender,
    events: VecDeque<Event>,
    /// Set once a close frame or a protocol error is received while events wait; decoding
    /// stops there and it takes effect when the last of those events is popped.
    deferred: Option<Deferred>,
    /// The latest time passed in, for effects applied from `poll_event`.
    now: Instant,
    close: CloseState,
    timers: Timers,
    error: Option<Error>,
    stats: Stats,
    ping_count: u64,
}

impl Connection {
    /// A connection whose opening handshake is done (here or by another HTTP stack).
    pub fn new(role: Role, config: Config, now: Instant) -> Self {
        let keep_alive = config.keep_alive.filter(|k| !k.interval.is_zero());
        let config = Config { keep_alive, ..config };
        let mut timers = Timers::default();
        if let Some(keep_alive) = config.keep_alive {
            timers.set(Timer::Ping, now + keep_alive.interval);
        }
        Self {
            role,
            receiver: Receiver::new(role == Role::Server, &config),
            sender: Sender::new(role == Role::Client, &config),
            config,
            events: VecDeque::new(),
            deferred: None,
            now,
            close: CloseState::Open,
            timers,
            error: None,
            stats: Stats::default(),
            ping_count: 0,
        }
    }

    // ---------------------------------------------------------------- getters

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration the connection was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        match self.close {
            CloseState::Open => State::Open,
            CloseState::Sent => State::Closing,
            CloseState::Closed { .. } => State::Closed,
        }
    }

    /// Counters of bytes and messages.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Received bytes held by the connection (a partial frame or message).
    pub fn buffered(&self) -> usize {
        self.receiver.buffered()
    }

    // ---------------------------------------------------------------- inputs

    /// Takes bytes received from the peer. Incomplete input is not an error: it waits for more.
    ///
    /// Fails when the peer broke the protocol: the close frame with [`Error::close_code`] is
    /// queued, [`Event::Closed`] is queued, and every later call returns the same error.
    ///
    /// A received close frame or protocol error takes effect in order: while events from
    /// earlier frames wait to be popped, it waits too (this call returns `Ok`), and it acts when
    /// the last of them is popped — so replies the application sends to those events go out
    /// before our close frame. Bytes after it are ignored, as are bytes after a clean close.
    pub fn receive(&mut self, now: Instant, bytes: &[u8]) -> Result<(), Error> {
        self.now = now;
        // In pieces small enough that each is unmasked and checked while still in cache.
        for piece in bytes.chunks(RECEIVE_PIECE) {
            if !self.is_receiving()? {
                return Ok(());
            }
            self.receiver.extend(piece);
            self.receive_buffered(now)?;
        }
        self.is_receiving().map(drop)
    }

    /// Room at the end of the receive buffer to read the transport straight into (saving the
    /// copy [`receive`](Self::receive) makes). Call
    /// [`receive_buffered`](Self::receive_buffered) after writing to it.
    ///
    /// The room is `size` bytes, except while a large frame arrives: once a 32nd of its payload
    /// is in, the room is the rest of the payload (so it is reserved once and never moved).
    /// The buffer is allocated here, when a read is about to happen; call
    /// [`release_buffers`](Self::release_buffers) when the transport has nothing more to read,
    /// so that an idle connection holds none.
    #[inline]
    pub fn receive_buffer(&mut self, size: usize) -> ReceiveBuffer<'_> {
        let (buf, room) = self.receiver.buffer_for_read(size);
        ReceiveBuffer::new(buf, room)
    }

    /// Takes in the bytes written to [`receive_buffer`](Self::receive_buffer) since the last
    /// call, exactly as [`receive`](Self::receive) takes in its argument (same events, same
    /// errors).
    pub fn receive_buffered(&mut self, now: Instant) -> Result<(), Error> {
        self.take_in_buffered(now, Until::Event)
    }

    /// [`receive_buffered`](Self::receive_buffered) for an adapter, which pops owned events
    /// next: a whole small message at the front is copied out into its event at once, rather
    /// than left in the buffer to be lent, found there, and copied out when popped.
    #[cfg(any(feature = "blocking", feature = "tokio", feature = "async-std"))]
    pub(crate) fn receive_buffered_to_pop(&mut self, now: Instant) -> Result<(), Error> {
        self.take_in_buffered(now, Until::Popped)
    }

    /// Takes in the bytes written to the receive buffer, decoding `until`. Always inlined:
    /// the two callers are its only body.
    #[inline(always)]
    fn take_in_buffered(&mut self, now: Instant, until: Until) -> Result<(), Error> {
        self.now = now;
        let fresh = self.receiver.take_fresh();
        if !self.is_receiving()? {
            self.receiver.clear();
            return Ok(());
        }
        self.stats.bytes_received += fresh as u64;
        if fresh != 0 {
            self.on_peer_activity(now);
        }
        self.decode(until, false);
        self.error.map_or(Ok(()), Err)
    }

    /// Gives the memory of empty buffers back to the allocator: the receive buffer, and the
    /// event and outgoing queues when they grew past what a small exchange needs (smaller ones
    /// are kept, to be reused by the next message rather than grown again). For a connection
    /// about to wait: an adapter calls it when a read would block, so that an idle connection
    /// holds (almost) nothing; the next read allocates again. Costs nothing when there is
    /// nothing to give back.
    pub fn release_buffers(&mut self) {
        self.receiver.release_if_empty();
        self.release_queues();
    }

    /// [`release_buffers`](Self::release_buffers) without the receive buffer: for an adapter
    /// that keeps a small one, which the next read would otherwise allocate again.
    pub(crate) fn release_queues(&mut self) {
        self.sender.outgoing().release_if_empty();
        if self.events.is_empty() && self.events.capacity() > EVENTS_KEPT {
            self.events = VecDeque::new();
        }
    }

    /// Whether received bytes are still taken in: not after a close frame or error (bytes
    /// after them are ignored), and an error once the connection failed.
    fn is_receiving(&self) -> Result<bool, Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        Ok(self.deferred.is_none() && !matches!(self.close, CloseState::Closed { .. }))
    }

    /// The peer closed its write half (TCP FIN or TLS close_notify).
    ///
    /// Before the close handshake ends this is an abnormal closure: [`Event::Closed`] with
    /// 1006. Afterwards it is the expected end of the stream.
    pub fn receive_eof(&mut self, now: Instant) {
        self.now = now;
        // Whole messages that arrived before the end still reach the application.
        self.decode(Until::All, true);
        if let Some(deferred) = self.deferred.take() {
            self.apply(deferred);
        }
        match self.close {
            CloseState::Closed { .. } => {
                self.close = CloseState::Closed { shutdown: true, finished: true };
                self.timers.clear_all();
            }
            _ => {
                // The peer's end of stream came first unless our close frame did.
                let initiator = match self.close {
                    CloseState::Sent => Initiator::Local,
                    _ => Initiator::Peer,
                };
                self.finish(now, CloseCode::ABNORMAL, String::new(), initiator, CloseCause::Eof);
                self.close = CloseState::Closed { shutdown: true, finished: true };
                self.timers.clear_all();
            }
        }
        self.receiver.clear();
    }

    /// Acts on every deadline at or before `now`: keep-alive pings, the pong deadline, the close
    /// timeout and the wait for the peer's end of stream. Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        // Each timer fires at most once per call, so one re-armed at or before `now` (a zero
        // keep-alive interval) cannot spin.
        let mut fired = [Timer::Ping; 4];
        let mut count = 0;
        while let Some(timer) = self.timers.expired(now, &fired[..count]) {
            fired[count] = timer;
            count += 1;
            self.timers.clear(timer);
            match timer {
                Timer::Ping => self.send_keep_alive_ping(now),
                Timer::PongDeadline => {
                    self.end_abruptly(CloseCause::KeepAliveTimeout, Initiator::Local);
                }
                Timer::Close => self.end_abruptly(CloseCause::CloseTimeout, Initiator::Local),
                Timer::Linger => {
                    self.close = CloseState::Closed { shutdown: true, finished: true };
                }
            }
        }
    }

    // ---------------------------------------------------------------- commands

    /// Queues a text message (split at [`Config::fragment_size`] if set).
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.check_open()?;
        self.sender.send_copied(DataKind::Text, text.as_bytes())?;
        self.count_sent();
        Ok(())
    }

    /// Queues a binary message. A server keeps large payloads without copying them.
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.check_open()?;
        self.sender.send_owned(DataKind::Binary, data.into())?;
        self.count_sent();
        Ok(())
    }

    /// Queues a binary message copied from `data`: what suits a payload in a borrowed or
    /// reused buffer (a client copies the payload anyway, to mask it), with no `Bytes` to
    /// make.
    pub fn send_binary_from_slice(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        self.sender.send_copied(DataKind::Binary, data)?;
        self.count_sent();
        Ok(())
    }

    /// Queues one frame of a message sent piece by piece; `fin` ends the message. The `kind`
    /// of every piece must match the first; text is checked to be UTF-8 across pieces (a
    /// character may be split between them).
    pub fn send_fragment(&mut self, kind: DataKind, data: &[u8], fin: bool) -> Result<(), SendError> {
        self.check_open()?;
        self.sender.send_fragment(kind, data, fin)?;
        if fin {
            self.count_sent();
        }
        Ok(())
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        if self.sender.queued() >= self.config.outgoing_high_water {
            return Err(SendError::Backpressure);
        }
        self.send_control(OpCode::Ping, payload)
    }

    /// Queues an unsolicited pong (a unidirectional heartbeat, RFC 6455 §5.5.3).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts the close handshake: queues a close frame and starts the close timer. Messages
    /// that arrive until the peer's close are still delivered.
    ///
    /// Refuses reserved codes (1005, 1006, 1015) and reasons over 123 bytes. Not subject to
    /// backpressure.
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.now = now;
        self.check_open()?;
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(SendError::ReasonTooLong);
        }
        self.queue_close(code, reason);
        self.close = CloseState::Sent;
        self.timers.clear(Timer::Ping);
        self.timers.clear(Timer::PongDeadline);
        self.timers.set(Timer::Close, now + self.config.close_timeout);
        Ok(())
    }

    // ---------------------------------------------------------------- outputs

    /// The bytes to write to the peer. Drain it after every input and command.
    pub fn outgoing(&mut self) -> &mut Outgoing {
        self.sender.outgoing()
    }

    /// The next event, or `None`. Pop until `None` after every input, then write `outgoing`:
    /// popping the last event may queue a close frame (see [`receive`](Self::receive)).
    #[must_use]
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        // The application pops owned events, so the next small message is copied out ahead too.
        self.pop_event(Until::Popped)
    }

    /// Pops the next event, then decodes the next unit (up to `lookahead`) right away:
    /// `has_events` stays exact, and building the next event while the application handles
    /// this one is cheaper than building it when asked. What that unit does to the connection
    /// (a close, a failure) waits until the popped event has been seen. Inlined: the event is
    /// then moved once, into the caller's hands, rather than through this call's frame too.
    #[inline]
    fn pop_event(&mut self, lookahead: Until) -> Option<Event> {
        if self.events.is_empty() {
            match self.deferred.take() {
                Some(deferred) => self.apply(deferred),
                None => self.decode(Until::Popped, false),
            }
        }
        let event = self.events.pop_front()?;
        if self.events.is_empty() && self.deferred.is_none() {
            self.decode(lookahead, true);
        }
        Some(event)
    }

    /// Like [`poll_event`](Self::poll_event), but a whole message of up to 125 bytes that
    /// arrived in one frame is lent from the receive buffer (unmasked and checked there) instead
    /// of copied into a `Bytes` of its own: no allocation per message. Any other event comes as
    /// [`EventRef::Event`]. What is lent is consumed by the next call on the connection.
    ///
    /// Pop until `None` as with `poll_event` (the two may be mixed). After a message was lent,
    /// [`has_events`](Self::has_events) no longer looks ahead: more messages may wait although
    /// it is false.
    ///
    /// ```
    /// use std::time::Instant;
    /// use wsproto::{Config, Connection, EventRef, Role};
    ///
    /// let now = Instant::now();
    /// let mut client = Connection::new(Role::Client, Config::default(), now);
    /// client.receive(now, b"\x81\x02hi\x82\x01!").unwrap();
    /// assert_eq!(client.poll_event_ref(), Some(EventRef::Text("hi")));
    /// assert_eq!(client.poll_event_ref(), Some(EventRef::Binary(b"!")));
    /// assert_eq!(client.poll_event_ref(), None);
    /// ```
    pub fn poll_event_ref(&mut self) -> Option<EventRef<'_>> {
        if self.events.is_empty() && self.deferred.is_none() && self.is_receiving() == Ok(true) {
            match self.receiver.lend_small_message() {
                Some(Ok(())) => {
                    self.stats.messages_received += 1;
                    return self.receiver.lent();
                }
                Some(Err(error)) => {
                    self.receiver.clear();
                    self.apply(Deferred::Fail(error));
                }
                None => {}
            }
        }
        // Small messages after this event stay in the buffer, to be lent.
        self.pop_event(Until::Event).map(EventRef::Event)
    }

    /// Events are waiting for [`poll_event`](Self::poll_event). An adapter may hold back
    /// writes while this is true, to send all replies to one read in one write.
    #[must_use]
    pub fn has_events(&self) -> bool {
        !self.events.is_empty() || self.deferred.is_some() || self.receiver.has_small_message()
    }

    /// The earliest deadline at which [`handle_timeout`](Self::handle_timeout) has work.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The write half of the transport should be shut down once `outgoing` is drained: at once
    /// for a server after the close handshake (RFC 6455 §7.1.1: the server closes TCP first)
    /// and on failure; for a client after the server's end of stream or the close timeout.
    #[must_use]
    pub fn wants_shutdown(&self) -> bool {
        matches!(self.close, CloseState::Closed { shutdown: true, .. })
    }

    /// Nothing more will happen: drop the transport (after draining `outgoing`).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        matches!(self.close, CloseState::Closed { finished: true, .. })
    }

    // ---------------------------------------------------------------- internals

    fn check_open(&self) -> Result<(), SendError> {
        match self.close {
            CloseState::Open => Ok(()),
            _ => Err(SendError::Closed),
        }
    }

    fn count_sent(&mut self) {
        self.stats.messages_sent += 1;
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        self.sender.send_control(opcode, payload)
    }

    fn queue_close(&mut self, code: CloseCode, reason: &str) {
        let mut payload = [0u8; 125];
        let mut len = 0;
        if code != CloseCode::NO_STATUS_RCVD {
            payload[..2].copy_from_slice(&code.as_u16().to_be_bytes());
            payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
            len = 2 + reason.len();
        }
        // The payload is at most 125 bytes by construction.
        let _ = self.sender.send_control(OpCode::Close, &payload[..len]);
    }

    /// Anything from the peer shows it is alive, including part of a frame (a large frame or a
    /// fragmented message may take longer than the interval to arrive): restart the keep-alive
    /// clock.
    fn on_peer_activity(&mut self, now: Instant) {
        if let (Some(keep_alive), CloseState::Open) = (self.config.keep_alive, &self.close) {
            self.timers.clear(Timer::PongDeadline);
            self.timers.set(Timer::Ping, now + keep_alive.interval);
        }
    }

    /// Decodes buffered bytes into events: one as the application pops them (`Until::Event`,
    /// which leaves a whole small message in the buffer to be lent, or `Until::Popped`), so
    /// that each message is built just before it is wanted; or all that are complete
    /// (`Until::All`, when the connection ends). A close frame or protocol error takes effect
    /// at once only when no event waits and `defer` is false (the caller holds no event the
    /// application has yet to see); otherwise it is kept until those events are popped.
    ///
    /// Inlined for its first checks, which find the common cases where there is nothing to do
    /// and make no call: nothing buffered (after the last message of a read was popped, and
    /// before every read), or a read that starts with a whole small message while it is left
    /// in the buffer (`Until::Event`).
    #[inline]
    fn decode(&mut self, until: Until, defer: bool) {
        let idle = self.receiver.is_settled_empty()
            || (until == Until::Event && self.receiver.is_settled_at_small_message());
        if !idle {
            self.decode_buffered(until, defer);
        }
    }

    /// [`Self::decode`] once bytes are buffered.
    fn decode_buffered(&mut self, until: Until, defer: bool) {
        while (until == Until::All || self.events.is_empty())
            && self.deferred.is_none()
            && !matches!(self.close, CloseState::Closed { .. })
        {
            if until == Until::Event && self.receiver.has_small_message() {
                // Left in the buffer, to be lent or copied out when it is popped.
                break;
            }
            let next = match self.receiver.whole_small_message(&mut self.events) {
                Some(Ok(())) => {
                    self.stats.messages_received += 1;
                    continue;
                }
                Some(Err(error)) => Err(error),
                None => self.receiver.next(),
            };
            let deferred = match next {
                Ok(Some(incoming)) => match self.on_incoming(incoming) {
                    Some(deferred) => deferred,
                    None => continue,
                },
                Ok(None) => break,
                Err(error) => Deferred::Fail(error),
            };
            self.receiver.clear();
            if defer || !self.events.is_empty() {
                self.deferred = Some(deferred);
            } else {
                self.apply(deferred);
            }
        }
        self.receiver.settle();
    }

    /// Acts on a decoded unit; a close frame is returned to take effect in order.
    fn on_incoming(&mut self, incoming: Incoming) -> Option<Deferred> {
        match incoming {
            Incoming::Message(message) => {
                self.stats.messages_received += 1;
                self.events.push_back(Event::Message(message));
            }
            Incoming::Fragment(fragment) => {
                self.stats.messages_received += u64::from(fragment.fin);
                self.events.push_back(Event::Fragment(fragment));
            }
            Incoming::Ping(payload) => {
                // RFC 6455 §5.5.2: answer with a pong carrying the same payload, unless a
                // close was already sent; §5.5.3: the latest ping's pong replaces an unsent one.
                if self.config.auto_pong && matches!(self.close, CloseState::Open) {
                    let _ = self.send_control(OpCode::Pong, &payload);
                }
                self.events.push_back(Event::Ping(payload));
            }
            Incoming::Pong(payload) => self.events.push_back(Event::Pong(payload)),
            Incoming::Close(payload) => {
                return Some(CloseFrame::parse(&payload).map_or_else(Deferred::Fail, Deferred::Close));
            }
        }
        None
    }

    fn apply(&mut self, deferred: Deferred) {
        match deferred {
            Deferred::Close(frame) => self.on_close_frame(frame),
            Deferred::Fail(error) => self.fail(self.now, error),
        }
    }

    fn on_close_frame(&mut self, frame: CloseFrame) {
        let now = self.now;
        let initiator = match self.close {
            // RFC 6455 §5.5.1: reply with a close frame, echoing the code (and the reason).
            CloseState::Open => {
                self.queue_close(frame.code, &frame.reason);
                Initiator::Peer
            }
            _ => Initiator::Local,
        };
        self.finish(now, frame.code, frame.reason, initiator, CloseCause::Handshake);
    }

    /// Fails the connection (RFC 6455 §7.1.7): queue our close with the error's code unless one
    /// was sent, report the outcome, and ask for shutdown.
    fn fail(&mut self, now: Instant, error: Error) {
        self.error = Some(error);
        if matches!(self.close, CloseState::Open) {
            self.queue_close(error.close_code(), error.reason());
        }
        self.finish(
            now,
            error.close_code(),
            error.reason().to_owned(),
            Initiator::Local,
            CloseCause::Failed(error),
        );
    }

    /// Ends the connection without a close handshake (a timeout): nothing more is sent.
    fn end_abruptly(&mut self, cause: CloseCause, initiator: Initiator) {
        if matches!(self.close, CloseState::Closed { .. }) {
            return;
        }
        // Whole messages that arrived before the deadline still reach the application.
        self.decode(Until::All, true);
        self.report(CloseCode::ABNORMAL, String::new(), initiator, cause);
        self.close = CloseState::Closed { shutdown: true, finished: true };
        self.timers.clear_all();
        self.receiver.clear();
        // A close frame or protocol error still waiting behind unpopped events came too late:
        // the outcome is this one, and `receive` must not start failing with an error that
        // was never reported.
        self.deferred = None;
    }

    /// Reports the outcome and enters `Closed`, waiting up to the close timeout for the
    /// peer's end of stream (RFC 6455 §7.1.1).
    fn finish(
        &mut self,
        now: Instant,
        code: CloseCode,
        reason: String,
        initiator: Initiator,
        cause: CloseCause,
    ) {
        if matches!(self.close, CloseState::Closed { .. }) {
            return;
        }
        let clean = cause == CloseCause::Handshake;
        self.report(code, reason, initiator, cause);
        self.timers.clear_all();
        self.timers.set(Timer::Linger, now + self.config.close_timeout);
        let shutdown = !clean || self.role == Role::Server;
        self.close = CloseState::Closed { shutdown, finished: false };
    }

    fn report(&mut self, code: CloseCode, reason: String, initiator: Initiator, cause: CloseCause) {
        self.events.push_back(Event::Closed(CloseOutcome { code, reason, initiator, cause }));
    }

    fn send_keep_alive_ping(&mut self, now: Instant) {
        let (Some(keep_alive), CloseState::Open) = (self.config.keep_alive, &self.close) else {
            return;
        };
        // Keep-alive pings are not refused by backpressure like `send_ping`, so skip one while
        // our writes are backed up: a peer that keeps sending but never reads would otherwise
        // grow `outgoing` by a ping per interval without bound. The pong deadline still runs.
        if self.sender.queued() < self.config.outgoing_high_water {
            self.ping_count += 1;
            let _ = self.send_control(OpCode::Ping, &self.ping_count.to_be_bytes());
        }
        // The deadline counts from the first unanswered ping: a later ping (an interval shorter
        // than the timeout) must not push it back, or a silent peer would never be detected.
        if self.timers.get(Timer::PongDeadline).is_none() {
            self.timers.set(Timer::PongDeadline, now + keep_alive.timeout);
        }
        self.timers.set(Timer::Ping, now + keep_alive.interval);
    }
}
