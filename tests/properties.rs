//! Properties of the core, checked on generated input:
//! (a) how the input is cut into reads never changes what comes out;
//! (b) anything sent arrives unchanged, whatever the payload, kind, role and fragmentation;
//! (c) any sequence of operations on a client–server pair never panics, reports `Closed`
//!     exactly once per side, and never writes anything after a close frame.

mod common;

use std::time::Duration;

use bytes::BufMut;
use common::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;
use wsproto::{
    CloseCause, CloseCode, Config, Connection, DataKind, Delivery, Error, Event, EventRef, KeepAlive,
    Message, Role, State,
};

// ------------------------------------------------------------------ generators

/// One thing a client puts on the wire.
#[derive(Clone, Debug)]
enum Item {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A message cut at `cuts` (anywhere, even inside a character), with a ping after the
    /// frames whose flag is set.
    Fragmented {
        kind: DataKind,
        data: Vec<u8>,
        cuts: Vec<Index>,
        pings: Vec<bool>,
    },
}

/// How the stream ends.
#[derive(Clone, Debug)]
enum Tail {
    Nothing,
    /// A close frame (the code may be one that fails the connection) and a frame after it.
    Close(u16, String),
    /// Bytes that are probably not a valid frame.
    Garbage(Vec<u8>),
}

fn short_text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,40}", "[a-zé€🦀]{0,12}"]
}

fn kind() -> impl Strategy<Value = DataKind> {
    prop_oneof![Just(DataKind::Text), Just(DataKind::Binary)]
}

fn delivery() -> impl Strategy<Value = Delivery> {
    prop_oneof![Just(Delivery::Messages), Just(Delivery::Fragments)]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        short_text().prop_map(Item::Text),
        vec(any::<u8>(), 0..300).prop_map(Item::Binary),
        vec(any::<u8>(), 0..=125).prop_map(Item::Ping),
        vec(any::<u8>(), 0..=125).prop_map(Item::Pong),
        (kind(), short_text(), vec(any::<u8>(), 0..200), vec(any::<Index>(), 0..6), vec(any::<bool>(), 7))
            .prop_map(|(kind, text, data, cuts, pings)| {
                let data = if kind == DataKind::Text { text.into_bytes() } else { data };
                Item::Fragmented { kind, data, cuts, pings }
            }),
    ]
}

fn tail() -> impl Strategy<Value = Tail> {
    let code = prop_oneof![
        3 => prop::sample::select(vec![1000u16, 1001, 1002, 1003, 1007, 1011, 3000, 4999]),
        1 => any::<u16>(),
    ];
    prop_oneof![
        Just(Tail::Nothing),
        (code, "[a-z🦀]{0,20}").prop_map(|(code, reason)| Tail::Close(code, reason)),
        vec(any::<u8>(), 1..20).prop_map(Tail::Garbage),
    ]
}

fn pieces(data: &[u8], cuts: &[Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in at.into_iter().chain([data.len()]) {
        out.push(data[start..cut].to_vec());
        start = cut;
    }
    out
}

/// The frames of the items, and the events a server must report for them, in order.
fn frames_and_model(items: &[Item]) -> (Vec<RawFrame>, Vec<Event>) {
    let mut frames = Vec::new();
    let mut model = Vec::new();
    for item in items {
        match item {
            Item::Text(s) => {
                frames.push(RawFrame::text(s));
                model.push(Event::Message(text(s)));
            }
            Item::Binary(b) => {
                frames.push(RawFrame::binary(b));
                model.push(Event::Message(binary(b)));
            }
            Item::Ping(p) => {
                frames.push(RawFrame::ping(p));
                model.push(Event::Ping(p.clone().into()));
            }
            Item::Pong(p) => {
                frames.push(RawFrame::pong(p));
                model.push(Event::Pong(p.clone().into()));
            }
            Item::Fragmented { kind, data, cuts, pings } => {
                let parts = pieces(data, cuts);
                let last = parts.len() - 1;
                for (i, part) in parts.into_iter().enumerate() {
                    let opcode = match (i, kind) {
                        (0, DataKind::Text) => op::TEXT,
                        (0, DataKind::Binary) => op::BINARY,
                        _ => op::CONT,
                    };
                    frames.push(RawFrame::new(opcode, part).fin(i == last));
                    if i < last && pings[i % pings.len()] {
                        frames.push(RawFrame::ping([i as u8]));
                        model.push(Event::Ping(vec![i as u8].into()));
                    }
                }
                model.push(Event::Message(message(*kind, data.clone())));
            }
        }
    }
    (frames, model)
}

/// Events with fragment pieces joined into the message they form, reported where the last
/// piece was; the pieces themselves are checked by [`assemble`].
fn normalized(events: &[Event]) -> Vec<Event> {
    let mut out = Vec::new();
    let mut pieces = Vec::new();
    for event in events {
        match event {
            Event::Fragment(piece) => {
                pieces.push(event.clone());
                if piece.fin {
                    out.extend(assemble(&pieces).into_iter().map(Event::Message));
                    pieces.clear();
                }
            }
            other => out.push(other.clone()),
        }
    }
    out
}

/// What a server made of `input` fed in `split`: its events (normalized), the error it failed
/// with, the bytes it queued and its final state.
fn serve(input: &[u8], split: Split, delivery: Delivery) -> (Vec<Event>, Option<Error>, Vec<u8>, State) {
    let now = std::time::Instant::now();
    let mut server = Connection::new(Role::Server, server_config().delivery(delivery), now);
    let (events, error) = match feed(&mut server, now, input, split) {
        Ok(events) => (events, None),
        Err(failure) => (failure.events, Some(failure.error)),
    };
    (normalized(&events), error, drain(&mut server), server.state())
}

/// As [`serve`], but every other read goes straight into the receive buffer, and events are
/// popped with a seeded mix of `poll_event_ref` (lent messages, turned into owned events here)
/// and `poll_event`: the same events, error, bytes and state must come out.
fn serve_lent(
    input: &[u8],
    split: Split,
    delivery: Delivery,
    seed: u64,
) -> (Vec<Event>, Option<Error>, Vec<u8>, State) {
    let now = std::time::Instant::now();
    let mut server = Connection::new(Role::Server, server_config().delivery(delivery), now);
    let mut rng = TestRng::new(seed);
    let mut events = Vec::new();
    let mut error = None;
    for (i, chunk) in Chunker::new(split).cut(input).into_iter().enumerate() {
        let result = if i.is_multiple_of(2) {
            server.receive(now, chunk)
        } else {
            server.receive_buffer(chunk.len()).put_slice(chunk);
            server.receive_buffered(now)
        };
        loop {
            let event = if rng.next_u64().is_multiple_of(2) {
                match server.poll_event_ref() {
                    Some(EventRef::Text(text)) => Event::Message(Message::Text(text.to_owned().into())),
                    Some(EventRef::Binary(data)) => Event::Message(Message::Binary(data.to_vec().into())),
                    Some(EventRef::Event(event)) => event,
                    None => break,
                }
            } else {
                match server.poll_event() {
                    Some(event) => event,
                    None => break,
                }
            };
            events.push(event);
        }
        if let Some(e) = result.err().or_else(|| failure_in(&events)) {
            error = Some(e);
            break;
        }
    }
    (normalized(&events), error, drain(&mut server), server.state())
}

// ------------------------------------------------------------------ (a) splits

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn any_split_of_the_input_gives_the_same_events(
        items in vec(item(), 0..10),
        tail in tail(),
        delivery in delivery(),
        seed in any::<u64>(),
    ) {
        let (mut frames, model) = frames_and_model(&items);
        let mut extra = Vec::new();
        match &tail {
            Tail::Nothing => {}
            Tail::Close(code, reason) => {
                frames.push(RawFrame::close(*code, reason));
                frames.push(RawFrame::text("after the close"));
            }
            Tail::Garbage(bytes) => extra = bytes.clone(),
        }
        let mut input = client_stream(&frames);
        input.extend_from_slice(&extra);

        let reference = serve(&input, Split::Whole, delivery);
        let (events, _, wire, _) = &reference;
        prop_assert!(events.len() >= model.len());
        prop_assert_eq!(&events[..model.len()], &model[..], "the items arrive as sent");
        let sent = check_wire(wire, Role::Server);
        let pongs = sent.iter().filter(|f| f.opcode == op::PONG).count();
        let pings = events.iter().filter(|e| matches!(e, Event::Ping(_))).count();
        prop_assert_eq!(pongs, pings, "one pong per ping while writes keep up");
        if let Tail::Close(code, _) = tail {
            let closed = CloseCode::from_u16(code).filter(|c| c.is_sendable()).is_some();
            prop_assert_eq!(reference.3, State::Closed);
            prop_assert_eq!(reference.1.is_none(), closed);
        }

        for split in [Split::ByteByByte, Split::RandomSplits(seed)] {
            prop_assert_eq!(&serve(&input, split, delivery), &reference, "{:?}", split);
        }
        for split in [Split::Whole, Split::RandomSplits(seed)] {
            prop_assert_eq!(&serve_lent(&input, split, delivery, seed), &reference, "lent, {:?}", split);
        }
    }
}

/// A fragmented message of up to a few KiB (above the size below which payloads are copied
/// out, so it is split off the receive buffer), text of one- to four-byte characters.
fn large_fragmented() -> impl Strategy<Value = Item> {
    let text = "[a-zé€😀]{0,900}";
    (kind(), text, vec(any::<u8>(), 0..4000), vec(any::<Index>(), 0..6), vec(any::<bool>(), 7)).prop_map(
        |(kind, text, data, cuts, pings)| {
            let data = if kind == DataKind::Text { text.into_bytes() } else { data };
            Item::Fragmented { kind, data, cuts, pings }
        },
    )
}

/// What a server with `config` made of `input` fed in `split`, every read straight into the
/// receive buffer; with `drop_messages`, each message is copied and the original dropped at
/// once (so that the receive buffer can take its allocation back), otherwise kept to the end.
fn serve_assembling(
    input: &[u8],
    split: Split,
    config: Config,
    drop_messages: bool,
) -> (Vec<Event>, Option<Error>, Vec<u8>, State) {
    let now = std::time::Instant::now();
    let mut server = Connection::new(Role::Server, config, now);
    let mut kept = Vec::new();
    let mut events = Vec::new();
    let mut error = None;
    for chunk in Chunker::new(split).cut(input) {
        server.receive_buffer(chunk.len()).put_slice(chunk);
        let result = server.receive_buffered(now);
        while let Some(event) = server.poll_event() {
            match event {
                Event::Message(m) if drop_messages => events.push(Event::Message(match &m {
                    Message::Text(t) => Message::Text(t.as_str().to_owned().into()),
                    Message::Binary(b) => Message::Binary(b.to_vec().into()),
                })),
                Event::Message(m) => {
                    kept.push(m.clone());
                    events.push(Event::Message(m));
                }
                other => events.push(other),
            }
        }
        if let Some(e) = result.err().or_else(|| failure_in(&events)) {
            error = Some(e);
            break;
        }
    }
    drop(kept);
    (events, error, drain(&mut server), server.state())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Large fragmented messages are assembled in place in the receive buffer, moved down over
    /// the headers and pings between their frames: under any message limit (so that the
    /// buffer's growth stops at it, and the limit fails the connection anywhere), every split
    /// gives the events of the input fed whole, whether the messages are kept or dropped.
    #[test]
    fn large_fragmented_messages_give_the_same_events_under_any_split_and_limit(
        items in vec(prop_oneof![large_fragmented(), item()], 1..6),
        limit in prop_oneof![Just(1usize << 20), 1usize..9000],
        seed in any::<u64>(),
    ) {
        let (frames, model) = frames_and_model(&items);
        let input = client_stream(&frames);
        let config = server_config().max_message_size(limit);
        let reference = serve(&input, Split::Whole, Delivery::Messages);
        if limit == 1 << 20 {
            prop_assert_eq!(&reference.0, &model, "the items arrive as sent");
        }
        let reference = serve_assembling(&input, Split::Whole, config.clone(), false);
        for split in [Split::ByteByByte, Split::RandomSplits(seed)] {
            for drop_messages in [false, true] {
                prop_assert_eq!(
                    &serve_assembling(&input, split, config.clone(), drop_messages),
                    &reference,
                    "{:?}, messages dropped: {}", split, drop_messages
                );
            }
        }
    }
}

// ------------------------------------------------------------------ (b) round trip

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn any_message_arrives_unchanged_in_either_direction(
        kind in kind(),
        text in ".{0,200}",
        data in vec(any::<u8>(), 0..3000),
        fragment_size in option::of(1usize..300),
        by_hand in option::of(vec(any::<Index>(), 0..6)),
        from_client in any::<bool>(),
        delivery in delivery(),
        seed in any::<u64>(),
    ) {
        let data = if kind == DataKind::Text { text.into_bytes() } else { data };
        let sender_config = |c: Config| c.fragment_size(fragment_size);
        // Frames of 1 byte can exceed the default 1,024 fragments: lift that limit here.
        let receiver_config = |c: Config| c.delivery(delivery).max_fragments(1 << 12);
        let (client, server) = if from_client {
            (sender_config(client_config()), receiver_config(server_config()))
        } else {
            (receiver_config(client_config()), sender_config(server_config()))
        };
        let mut p = pair_split(client, server, Split::RandomSplits(seed));
        let (from, to) = if from_client { (Side::Client, Side::Server) } else { (Side::Server, Side::Client) };
        let sender = p.conn(from);
        match &by_hand {
            None => match kind {
                DataKind::Text => sender.send_text(std::str::from_utf8(&data).unwrap()).unwrap(),
                DataKind::Binary => sender.send_binary(data.clone()).unwrap(),
            },
            Some(cuts) => {
                let parts = pieces(&data, cuts);
                let last = parts.len() - 1;
                for (i, part) in parts.iter().enumerate() {
                    sender.send_fragment(kind, part, i == last).unwrap();
                }
            }
        }
        p.drive();

        let got = &p.log(to).events;
        let received = match delivery {
            Delivery::Messages => messages(got),
            Delivery::Fragments => assemble(got),
        };
        prop_assert_eq!(received, vec![message(kind, data.clone())]);
        if delivery == Delivery::Messages {
            prop_assert_eq!(got.len(), 1);
        }
        let role = if from_client { Role::Client } else { Role::Server };
        let frames = check_wire(&p.log(from).wire, role);
        prop_assert!(frames.iter().all(|f| f.opcode <= op::BINARY));
        prop_assert_eq!(frames.iter().filter(|f| f.fin).count(), 1);
        prop_assert!(frames.last().unwrap().fin);
        if let (None, Some(size)) = (&by_hand, fragment_size) {
            prop_assert_eq!(frames.len(), data.len().div_ceil(size).max(1));
            prop_assert!(frames.iter().all(|f| f.payload.len() <= size));
        }
        prop_assert!(p.client_log.errors.is_empty() && p.server_log.errors.is_empty());
    }
}

// ------------------------------------------------------------------ (c) operations

#[derive(Clone, Debug)]
enum Op {
    Text(Side, String),
    Binary(Side, Vec<u8>),
    /// A piece of a fragmented message: text pieces are cut from a string at any byte.
    Fragment(Side, DataKind, Vec<u8>, bool),
    Ping(Side, Vec<u8>),
    Pong(Side, Vec<u8>),
    Close(Side, u16, String),
    Advance(u64),
    Eof(Side),
    Drive,
    /// Bytes injected into a side, its events popped or left waiting.
    Garbage(Side, Vec<u8>, bool),
    /// Pops only this side's events and writes only its bytes, without driving the other.
    HalfDrive(Side),
    /// Writes this side's bytes to the other without popping events anywhere.
    Deliver(Side),
    /// Moves the clock and fires timers without draining anything.
    Tick(u64),
    /// Takes the link down (bytes and end of stream are lost) or brings it back.
    LinkDown(bool),
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Client), Just(Side::Server)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (side(), short_text()).prop_map(|(s, t)| Op::Text(s, t)),
        3 => (side(), vec(any::<u8>(), 0..2000)).prop_map(|(s, b)| Op::Binary(s, b)),
        3 => (side(), kind(), short_text(), any::<Index>(), any::<bool>()).prop_map(|(s, k, t, cut, fin)| {
            let bytes = t.into_bytes();
            let piece = bytes[..cut.index(bytes.len() + 1)].to_vec();
            Op::Fragment(s, k, piece, fin)
        }),
        2 => (side(), vec(any::<u8>(), 0..130)).prop_map(|(s, b)| Op::Ping(s, b)),
        1 => (side(), vec(any::<u8>(), 0..10)).prop_map(|(s, b)| Op::Pong(s, b)),
        1 => (side(), prop_oneof![Just(1000u16), Just(1005), Just(4000), any::<u16>()], "[a-z]{0,130}")
            .prop_map(|(s, c, r)| Op::Close(s, c, r)),
        2 => (0u64..15_000).prop_map(Op::Advance),
        1 => side().prop_map(Op::Eof),
        5 => Just(Op::Drive),
        1 => (side(), vec(any::<u8>(), 1..12), any::<bool>()).prop_map(|(s, b, pop)| Op::Garbage(s, b, pop)),
        2 => side().prop_map(Op::HalfDrive),
        2 => side().prop_map(Op::Deliver),
        2 => (0u64..15_000).prop_map(Op::Tick),
        1 => any::<bool>().prop_map(Op::LinkDown),
    ]
}

fn pair_config(seed: u64) -> impl Strategy<Value = Config> {
    (
        option::of((1u64..6, 1u64..6)),
        1u64..8,
        option::of(1usize..100),
        prop_oneof![Just(64usize << 10), 1usize..500],
        prop_oneof![Just(1usize << 20), 1usize..3000],
        delivery(),
        any::<bool>(),
    )
        .prop_map(
            move |(keep_alive, close, fragment_size, high_water, max_message, delivery, auto_pong)| {
                Config::default()
                    .rng(wsproto::RngSource::Seeded(seed))
                    .keep_alive(keep_alive.map(|(i, t)| KeepAlive {
                        interval: Duration::from_secs(i),
                        timeout: Duration::from_secs(t),
                    }))
                    .close_timeout(Duration::from_secs(close))
                    .fragment_size(fragment_size)
                    .outgoing_high_water(high_water)
                    .max_message_size(max_message)
                    .max_frame_size(max_message)
                    .delivery(delivery)
                    .auto_pong(auto_pong)
            },
        )
}

/// Runs a command and checks that a refusal changed nothing.
fn command(conn: &mut Connection, run: impl FnOnce(&mut Connection) -> Result<(), wsproto::SendError>) {
    let (queued, state) = (conn.outgoing().len(), conn.state());
    if run(conn).is_err() {
        assert_eq!(conn.outgoing().len(), queued, "a refused command queued bytes");
        assert_eq!(conn.state(), state, "a refused command changed the state");
    }
}

fn apply(p: &mut Pair, op: &Op) {
    let now = p.now;
    match op.clone() {
        Op::Text(s, t) => command(p.conn(s), |c| c.send_text(&t)),
        Op::Binary(s, b) => command(p.conn(s), |c| c.send_binary(b)),
        Op::Fragment(s, k, b, fin) => command(p.conn(s), |c| c.send_fragment(k, &b, fin)),
        Op::Ping(s, b) => command(p.conn(s), |c| c.send_ping(&b)),
        Op::Pong(s, b) => command(p.conn(s), |c| c.send_pong(&b)),
        Op::Close(s, code, reason) => {
            let code = CloseCode::from_u16(code).unwrap_or(CloseCode::NORMAL);
            command(p.conn(s), |c| c.close(now, code, &reason));
        }
        Op::Advance(ms) => p.advance(Duration::from_millis(ms)),
        Op::Eof(s) => p.eof(s),
        Op::Drive => p.drive(),
        Op::Garbage(s, bytes, true) => p.inject(s, &bytes),
        Op::Garbage(s, bytes, false) => p.inject_lazily(s, &bytes),
        Op::Deliver(s) => p.deliver_lazily(s),
        Op::Tick(ms) => p.tick(Duration::from_millis(ms)),
        Op::LinkDown(down) => p.link_down = down,
        Op::HalfDrive(s) => {
            let events = events(p.conn(s));
            let wire = drain(p.conn(s));
            let log = match s {
                Side::Client => &mut p.client_log,
                Side::Server => &mut p.server_log,
            };
            log.events.extend(events);
            log.wire.extend(wire.iter().copied());
            let to = match s {
                Side::Client => Side::Server,
                Side::Server => Side::Client,
            };
            p.inject(to, &wire);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn any_sequence_of_operations_ends_with_one_close_per_side_and_nothing_after_a_close_frame(
        client in pair_config(1),
        server in pair_config(2),
        split_seed in any::<u64>(),
        ops in vec(op(), 0..40),
    ) {
        let mut p = pair_split(client, server, Split::RandomSplits(split_seed));
        // What only moves forward: Open → Closing → Closed, wants_shutdown, is_finished.
        let progress = |c: &Connection| (c.state() as u8, c.wants_shutdown(), c.is_finished());
        let mut before = [progress(&p.client), progress(&p.server)];
        for op in &ops {
            apply(&mut p, op);
            let after = [progress(&p.client), progress(&p.server)];
            for (b, a) in before.iter().zip(&after) {
                prop_assert!(a.0 >= b.0 && a.1 >= b.1 && a.2 >= b.2, "went back from {:?} to {:?} on {:?}", b, a, op);
            }
            before = after;
        }
        // Let everything settle, then force the ends.
        p.link_down = false;
        p.drive();
        p.advance(Duration::from_secs(30));
        p.eof(Side::Client);
        p.eof(Side::Server);
        p.advance(Duration::from_secs(30));

        for side in [Side::Client, Side::Server] {
            let log = p.log(side);
            prop_assert_eq!(count_closes(&log.events), 1, "{:?}: {:?}", side, log.events);
            prop_assert!(matches!(log.events.last(), Some(Event::Closed(_))), "{:?}: event after Closed", side);
            if let Some(first) = log.errors.first() {
                prop_assert!(log.errors.iter().all(|e| e == first), "{:?}: errors not sticky", side);
                let Some(Event::Closed(outcome)) = log.events.last() else { unreachable!() };
                let failed = matches!(outcome.cause, CloseCause::Failed(_));
                prop_assert!(failed || outcome.cause == CloseCause::CloseTimeout || outcome.cause == CloseCause::KeepAliveTimeout,
                    "{:?}: receive failed but the outcome is {:?}", side, outcome);
            }
            let role = if side == Side::Client { Role::Client } else { Role::Server };
            // Masking, control frame limits and nothing after the close frame.
            check_wire(&log.wire, role);
        }
        for side in [Side::Client, Side::Server] {
            let conn = p.conn(side);
            prop_assert!(conn.is_finished() && conn.wants_shutdown());
            prop_assert_eq!(conn.state(), State::Closed);
            prop_assert_eq!(conn.poll_timeout(), None);
            prop_assert!(conn.outgoing().is_empty());
            prop_assert!(conn.poll_event().is_none());
            let refused = conn.send_text("late").is_err();
            prop_assert!(refused);
        }
    }
}
