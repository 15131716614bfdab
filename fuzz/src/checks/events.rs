//! The events one connection reported, checked as they are popped and reduced to a form that
//! does not depend on how the input was cut into reads.

use wsproto::{CloseCause, CloseOutcome, Config, DataKind, Delivery, Event, Message};

/// An event with fragment pieces joined into whole messages (pieces follow reads, messages
/// do not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Message(DataKind, Vec<u8>),
    /// The pieces of a message whose last piece had not arrived when the log was closed.
    Unfinished(DataKind, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Closed(CloseOutcome),
}

/// Checks each event as it is popped: nothing after `Closed`, `Closed` once; failures carry
/// 1002, 1007 or 1009; text is UTF-8 (each piece on its own in fragment delivery); pieces are
/// bracketed by `first` and `fin`; whole messages respect `max_message_size`; control payloads
/// are at most 125 bytes.
#[derive(Debug)]
pub struct EventLog {
    delivery: Delivery,
    max_message: usize,
    pub seen: Vec<Seen>,
    /// Whole messages, in order.
    pub messages: Vec<(DataKind, Vec<u8>)>,
    /// Fragment delivery: the message whose pieces are arriving.
    pieces: Option<(DataKind, Vec<u8>)>,
    /// The outcome, once reported.
    pub closed: Option<CloseOutcome>,
}

impl EventLog {
    pub fn new(config: &Config) -> Self {
        Self {
            delivery: config.delivery,
            max_message: config.max_message_size,
            seen: Vec::new(),
            messages: Vec::new(),
            pieces: None,
            closed: None,
        }
    }

    pub fn push(&mut self, event: Event) {
        assert!(self.closed.is_none(), "{event:?} after {:?}", self.closed);
        let seen = match event {
            Event::Message(message) => {
                assert_eq!(self.delivery, Delivery::Messages, "a whole message in fragment delivery");
                let kind = message.kind();
                if let Message::Text(text) = &message {
                    assert!(std::str::from_utf8(text.as_bytes()).is_ok(), "text message is not UTF-8");
                }
                let data = message.as_bytes().to_vec();
                assert!(data.len() <= self.max_message, "{} byte message over the limit", data.len());
                self.messages.push((kind, data.clone()));
                Seen::Message(kind, data)
            }
            Event::Fragment(piece) => {
                assert_eq!(self.delivery, Delivery::Fragments, "a fragment in message delivery");
                assert_eq!(piece.first, self.pieces.is_none(), "`first` is wrong on {piece:?}");
                if piece.kind == DataKind::Text {
                    assert!(piece.text().is_some(), "text piece is not UTF-8 on its own: {piece:?}");
                }
                assert!(piece.fin || !piece.data.is_empty(), "an empty piece that is not the last");
                let (kind, data) = self.pieces.get_or_insert_with(|| (piece.kind, Vec::new()));
                assert_eq!(*kind, piece.kind, "the kind changed inside a message");
                data.extend_from_slice(&piece.data);
                if !piece.fin {
                    return;
                }
                let (kind, data) = self.pieces.take().unwrap_or((piece.kind, Vec::new()));
                if kind == DataKind::Text {
                    assert!(std::str::from_utf8(&data).is_ok(), "joined text pieces are not UTF-8");
                }
                self.messages.push((kind, data.clone()));
                Seen::Message(kind, data)
            }
            Event::Ping(payload) => {
                assert!(payload.len() <= 125);
                Seen::Ping(payload.to_vec())
            }
            Event::Pong(payload) => {
                assert!(payload.len() <= 125);
                Seen::Pong(payload.to_vec())
            }
            Event::Closed(outcome) => {
                check_outcome(&outcome);
                self.closed = Some(outcome.clone());
                if let Some((kind, data)) = self.pieces.take() {
                    self.seen.push(Seen::Unfinished(kind, data));
                }
                Seen::Closed(outcome)
            }
        };
        self.seen.push(seen);
    }

    /// Everything seen, with the pieces of an unfinished message at the end.
    pub fn finish(mut self) -> Vec<Seen> {
        if let Some((kind, data)) = self.pieces.take() {
            self.seen.push(Seen::Unfinished(kind, data));
        }
        self.seen
    }

    /// The failure reported, if the connection failed.
    pub fn failure(&self) -> Option<wsproto::Error> {
        match &self.closed {
            Some(CloseOutcome { cause: CloseCause::Failed(error), .. }) => Some(*error),
            _ => None,
        }
    }
}

/// A failure is reported with its own close code, one of 1002, 1007 and 1009; only a close
/// handshake is clean.
fn check_outcome(outcome: &CloseOutcome) {
    if let CloseCause::Failed(error) = outcome.cause {
        let code = error.close_code().as_u16();
        assert!(matches!(code, 1002 | 1007 | 1009), "{error:?} maps to close code {code}");
        assert_eq!(outcome.code.as_u16(), code, "{outcome:?}");
    }
    assert_eq!(outcome.is_clean(), outcome.cause == CloseCause::Handshake);
}
