//! The connection's deadlines: one `Option<Instant>` per timer, the earliest exposed as the
//! next wake-up (the shape of quinn-proto's `TimerTable`).

use std::time::Instant;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Send a keep-alive ping.
    Ping,
    /// Fail the connection: nothing arrived since the keep-alive ping.
    PongDeadline,
    /// Give up on the peer's close frame.
    Close,
    /// Stop waiting for the peer's end of stream after the close handshake.
    Linger,
}

const ALL: [Timer; 4] = [Timer::Ping, Timer::PongDeadline, Timer::Close, Timer::Linger];

#[derive(Debug, Default)]
pub(crate) struct Timers {
    deadlines: [Option<Instant>; 4],
}

impl Timers {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Some(at);
    }

    pub fn clear(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    pub fn clear_all(&mut self) {
        self.deadlines = [None; 4];
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// The deadline of `timer`, if set.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer as usize]
    }

    /// The timer with the earliest deadline at or before `now`, leaving out those in `skip`.
    pub fn expired(&self, now: Instant, skip: &[Timer]) -> Option<Timer> {
        ALL.into_iter()
            .filter(|t| !skip.contains(t))
            .filter_map(|t| Some((self.deadlines[t as usize]?, t)))
            .filter(|(at, _)| *at <= now)
            .min_by_key(|(at, _)| *at)
            .map(|(_, t)| t)
    }
}
