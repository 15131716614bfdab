//! The in-memory client–server [`Pair`] on a virtual clock.

use std::time::{Duration, Instant};

use wsproto::{Config, Connection, Error, Event, Role};

use super::{Chunker, Split, client_config, drain, events, server_config};

/// Which end of a [`Pair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// What one end of a [`Pair`] produced.
#[derive(Debug, Default)]
pub struct Log {
    /// Every event popped, in order.
    pub events: Vec<Event>,
    /// Every error `receive` returned, in order.
    pub errors: Vec<Error>,
    /// Every byte this end wrote (whether or not the link delivered it).
    pub wire: Vec<u8>,
    /// This end shut its write half: the peer was given end of stream.
    pub shut: bool,
}

/// A client and a server joined by an in-memory link, on a virtual clock (quinn's `Pair`,
/// str0m's `progress`). [`drive`](Self::drive) moves bytes both ways until quiet, following
/// the drain contract: write `outgoing`, shut the write half on `wants_shutdown` (the peer sees
/// end of stream), pop events.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub now: Instant,
    pub client_log: Log,
    pub server_log: Log,
    /// When set, written bytes and shutdowns are lost instead of delivered.
    pub link_down: bool,
    chunker: Chunker,
}

/// A pair fed with whole reads.
pub fn pair(client: Config, server: Config) -> Pair {
    pair_split(client, server, Split::Whole)
}

/// A pair whose link cuts every delivery according to `split`.
pub fn pair_split(client: Config, server: Config, split: Split) -> Pair {
    let now = Instant::now();
    Pair {
        client: Connection::new(Role::Client, client, now),
        server: Connection::new(Role::Server, server, now),
        now,
        client_log: Log::default(),
        server_log: Log::default(),
        link_down: false,
        chunker: Chunker::new(split),
    }
}

/// A pair with the default test configurations.
pub fn default_pair(split: Split) -> Pair {
    pair_split(client_config(), server_config(), split)
}

impl Pair {
    pub fn conn(&mut self, side: Side) -> &mut Connection {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    pub fn log(&self, side: Side) -> &Log {
        match side {
            Side::Client => &self.client_log,
            Side::Server => &self.server_log,
        }
    }

    /// Moves bytes and end-of-stream both ways until neither side has anything to write.
    pub fn drive(&mut self) {
        for _ in 0..100_000 {
            let a = self.transmit(Side::Client);
            let b = self.transmit(Side::Server);
            if !a && !b {
                return;
            }
        }
        panic!("drive did not settle");
    }

    /// One round of `from` draining its outputs in the contract's order (events, then
    /// `outgoing`, then shutdown) into the link; returns whether anything moved.
    fn transmit(&mut self, from: Side) -> bool {
        let now = self.now;
        let link_down = self.link_down;
        let (src, dst, src_log, dst_log) = match from {
            Side::Client => (&mut self.client, &mut self.server, &mut self.client_log, &mut self.server_log),
            Side::Server => (&mut self.server, &mut self.client, &mut self.server_log, &mut self.client_log),
        };
        src_log.events.extend(events(src));
        let bytes = drain(src);
        let mut moved = !bytes.is_empty();
        src_log.wire.extend_from_slice(&bytes);
        if !link_down {
            for chunk in self.chunker.cut(&bytes) {
                if let Err(error) = dst.receive(now, chunk) {
                    dst_log.errors.push(error);
                }
                dst_log.events.extend(events(dst));
            }
        }
        // Shut the write half once `outgoing` is empty; the peer reads end of stream.
        if src.wants_shutdown() && src.outgoing().is_empty() && !src_log.shut {
            src_log.shut = true;
            moved = true;
            if !link_down {
                dst.receive_eof(now);
                dst_log.events.extend(events(dst));
            }
        }
        moved
    }

    /// Moves the clock forward by `by`, stopping at every deadline on the way to call
    /// `handle_timeout` on both ends and [`drive`](Self::drive) the link.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        for _ in 0..100_000 {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|at| *at <= target)
                .min();
            let Some(at) = next else {
                self.now = target;
                self.fire();
                return;
            };
            self.now = self.now.max(at);
            self.fire();
        }
        panic!("a deadline at or before now was not cleared by handle_timeout");
    }

    fn fire(&mut self) {
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.drive();
    }

    /// Delivers `bytes` to `to` as if its peer had written them (the peer's log is untouched).
    pub fn inject(&mut self, to: Side, bytes: &[u8]) {
        let now = self.now;
        let (conn, log) = match to {
            Side::Client => (&mut self.client, &mut self.client_log),
            Side::Server => (&mut self.server, &mut self.server_log),
        };
        for chunk in self.chunker.cut(bytes) {
            if let Err(error) = conn.receive(now, chunk) {
                log.errors.push(error);
            }
            log.events.extend(events(conn));
        }
    }

    /// Writes what `from` queued to its peer without popping any events on either side: an
    /// application that is slow to handle events, so a received close or failure waits behind
    /// them while time passes.
    pub fn deliver_lazily(&mut self, from: Side) {
        let now = self.now;
        let (src, dst, src_log, dst_log) = match from {
            Side::Client => (&mut self.client, &mut self.server, &mut self.client_log, &mut self.server_log),
            Side::Server => (&mut self.server, &mut self.client, &mut self.server_log, &mut self.client_log),
        };
        let bytes = drain(src);
        src_log.wire.extend_from_slice(&bytes);
        if !self.link_down {
            for chunk in self.chunker.cut(&bytes) {
                if let Err(error) = dst.receive(now, chunk) {
                    dst_log.errors.push(error);
                }
            }
        }
    }

    /// Moves the clock and calls `handle_timeout` on both ends, without draining anything.
    pub fn tick(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
    }

    /// Delivers `bytes` to `to` like [`inject`](Self::inject), without popping events.
    pub fn inject_lazily(&mut self, to: Side, bytes: &[u8]) {
        let now = self.now;
        let (conn, log) = match to {
            Side::Client => (&mut self.client, &mut self.client_log),
            Side::Server => (&mut self.server, &mut self.server_log),
        };
        for chunk in self.chunker.cut(bytes) {
            if let Err(error) = conn.receive(now, chunk) {
                log.errors.push(error);
            }
        }
    }

    /// Gives `to` end of stream, as if its peer's transport went away.
    pub fn eof(&mut self, to: Side) {
        let now = self.now;
        let (conn, log) = match to {
            Side::Client => (&mut self.client, &mut self.client_log),
            Side::Server => (&mut self.server, &mut self.server_log),
        };
        conn.receive_eof(now);
        log.events.extend(events(conn));
    }

    /// Takes the events collected so far for `side`.
    pub fn take_events(&mut self, side: Side) -> Vec<Event> {
        match side {
            Side::Client => std::mem::take(&mut self.client_log.events),
            Side::Server => std::mem::take(&mut self.server_log.events),
        }
    }
}
