//! `roundtrip`: messages sent by one endpoint, decoded by the other, come out as sent.
//!
//! Input: a flags byte (bit 0: the client sends, else the server; bit 1: the receiver uses
//! fragment delivery), a byte for the sender's `fragment_size` (0: none, else 1..=255 times
//! 1 or 64 by bit 2 of the flags), the read sizes ([`Splits::read`]), then up to 8 messages,
//! each a byte (bit 0: text; bits 1–2: `send_text` or `send_binary`, `send_binary` of `Bytes`
//! the caller keeps a handle to (sent as binary), or piece by piece with `send_fragment`;
//! bit 3: a ping after every piece but the last), two
//! length bytes and the payload (text: the payload made UTF-8 by `from_utf8_lossy`); pieces
//! are cut at lengths taken from further bytes.
//!
//! Checks: sending never fails; the wire is well-formed for the sender's role, frames of whole
//! messages carry at most `fragment_size` bytes, and the messages on the wire are those sent;
//! the receiver decodes them, in any reads, into exactly the messages sent (whole, or pieces
//! that join into them), the pings in between, and no error or close.

use std::time::Instant;

use bytes::Bytes;
use wsproto::{Config, Connection, DataKind, Delivery, RngSource, Role};

use super::events::{EventLog, Seen};
use super::frame_decode::drain;
use super::input::{Input, Splits};
use super::wire::WireCheck;

const MAX_MESSAGES: usize = 8;

pub fn roundtrip(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let (role, peer) =
        if flags & 1 != 0 { (Role::Client, Role::Server) } else { (Role::Server, Role::Client) };
    let delivery = if flags & 2 != 0 { Delivery::Fragments } else { Delivery::Messages };
    let scale = if flags & 4 != 0 { 64 } else { 1 };
    let fragment_size = match input.byte() {
        0 => None,
        n => Some(usize::from(n) * scale),
    };
    let mut splits = Splits::read(&mut input);

    let now = Instant::now();
    let config = Config::default().fragment_size(fragment_size).rng(RngSource::Seeded(0x7001));
    let mut sender = Connection::new(role, config, now);
    let config = Config::default()
        .delivery(delivery)
        .max_message_size(1 << 20)
        .max_frame_size(1 << 20)
        .max_fragments(usize::MAX);
    let mut receiver = Connection::new(peer, config.clone(), now);

    let mut wire = WireCheck::new(role);
    let mut log = EventLog::new(&config);
    let mut expected = Vec::new();
    while !input.is_empty()
        && expected.iter().filter(|s| matches!(s, Seen::Message(..))).count() < MAX_MESSAGES
    {
        let op = input.byte();
        let kind = if op & 1 != 0 { DataKind::Text } else { DataKind::Binary };
        let len = usize::from(input.u16());
        let payload = match kind {
            DataKind::Text => String::from_utf8_lossy(input.bytes(len)).into_owned().into_bytes(),
            DataKind::Binary => input.bytes(len).to_vec(),
        };
        let frames_before = wire.frames.len();
        let method = (op >> 1) & 3;
        let kind = if method == 1 { DataKind::Binary } else { kind };
        let result = match method {
            0 => match kind {
                DataKind::Text => sender.send_text(std::str::from_utf8(&payload).unwrap_or_default()),
                DataKind::Binary => sender.send_binary(payload.clone()),
            },
            1 => {
                // `Bytes` the caller still holds: a client masks a copy, never the caller's bytes.
                let shared = Bytes::from(payload.clone());
                let kept = shared.clone();
                let result = sender.send_binary(shared);
                assert_eq!(kept, payload, "the caller's bytes were changed");
                result
            }
            _ => send_in_pieces(&mut sender, &mut input, kind, &payload, op & 8 != 0, &mut expected),
        };
        result.expect("sending to an open connection with room");
        expected.push(Seen::Message(kind, payload));
        let written = drain(&mut sender);
        wire.push(&written);
        assert_eq!(wire.partial(), 0, "a partial frame written");
        if method < 2 {
            // RFC 6455 §5.4 lets a sender fragment; we do at `fragment_size` exactly.
            let limit = fragment_size.unwrap_or(usize::MAX);
            for frame in &wire.frames[frames_before..] {
                assert!(frame.payload.len() <= limit, "{} byte frame over {limit}", frame.payload.len());
            }
        }
        for read in splits.cut(&written) {
            receiver.receive(now, read).expect("decoding what the peer sent");
            while let Some(event) = receiver.poll_event() {
                log.push(event);
            }
        }
    }
    let sent: Vec<(DataKind, Vec<u8>)> = expected
        .iter()
        .filter_map(|s| match s {
            Seen::Message(kind, data) => Some((*kind, data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(wire.messages, sent, "the wire does not carry the messages sent");
    super::trace(&expected);
    assert_eq!(log.finish(), expected, "the messages received are not those sent");
}

/// Sends `payload` with `send_fragment`, cut at lengths read from `input` (a text piece may
/// end inside a character), with a ping after each piece but the last if `pings`.
fn send_in_pieces(
    sender: &mut Connection,
    input: &mut Input<'_>,
    kind: DataKind,
    payload: &[u8],
    pings: bool,
    expected: &mut Vec<Seen>,
) -> Result<(), wsproto::SendError> {
    let mut rest = payload;
    loop {
        let n = usize::from(input.byte());
        let n = if n == 0 || input.is_empty() { rest.len() } else { n.min(rest.len()) };
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        sender.send_fragment(kind, piece, rest.is_empty())?;
        if rest.is_empty() {
            return Ok(());
        }
        if pings {
            let ping = &piece[..piece.len().min(125)];
            sender.send_ping(ping)?;
            expected.push(Seen::Ping(ping.to_vec()));
        }
    }
}
