//! Connecting to the first of several addresses that answers (RFC 8305, Happy Eyeballs v2):
//! IPv6 and IPv4 interleaved, IPv6 first; a new attempt every 250 ms or as soon as one fails;
//! the first connection made wins and the others are dropped.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::driver::AsyncTimer;

/// RFC 8305 §5: the recommended "Connection Attempt Delay".
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// RFC 8305 §4: interleave the families, starting with IPv6; keep at most `max`.
pub(crate) fn order(addrs: impl IntoIterator<Item = SocketAddr>, max: usize) -> Vec<SocketAddr> {
    let (v6, v4): (Vec<_>, Vec<_>) = addrs.into_iter().partition(SocketAddr::is_ipv6);
    let mut ordered = Vec::with_capacity(v6.len() + v4.len());
    let (mut v6, mut v4) = (v6.into_iter(), v4.into_iter());
    loop {
        match (v6.next(), v4.next()) {
            (None, None) => break,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
    ordered.truncate(max.max(1));
    ordered
}

/// Races connection attempts to `addrs` (already ordered), each bounded by `timeout`.
pub(crate) async fn race<T, S, F, Fut>(addrs: Vec<SocketAddr>, timeout: Duration, connect: F) -> io::Result<S>
where
    T: AsyncTimer,
    F: Fn(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<S>>,
{
    struct Attempt<Fut, T> {
        future: Pin<Box<Fut>>,
        deadline: Instant,
        timer: T,
    }
    let mut pending = addrs.into_iter();
    let mut attempts: Vec<Attempt<Fut, T>> = Vec::new();
    let mut stagger = T::new();
    let mut next_start = Instant::now();
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    poll_fn(|cx| {
        loop {
            let now = Instant::now();
            let start_now = attempts.is_empty() || now >= next_start;
            if start_now && let Some(addr) = pending.next() {
                attempts.push(Attempt { future: Box::pin(connect(addr)), deadline: now + timeout, timer: T::new() });
                next_start = now + ATTEMPT_DELAY;
            }
            let mut i = 0;
            let mut failed = false;
            while i < attempts.len() {
                let attempt = &mut attempts[i];
                let outcome = match attempt.future.as_mut().poll(cx) {
                    Poll::Ready(result) => Some(result),
                    Poll::Pending if attempt.timer.poll_at(cx, attempt.deadline).is_ready() => {
                        Some(Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")))
                    }
                    Poll::Pending => None,
                };
                match outcome {
                    Some(Ok(stream)) => return Poll::Ready(Ok(stream)),
                    Some(Err(error)) => {
                        last_error = error;
                        attempts.swap_remove(i);
                        failed = true;
                    }
                    None => i += 1,
                }
            }
            if attempts.is_empty() && pending.len() == 0 {
                let error = std::mem::replace(&mut last_error, io::ErrorKind::Other.into());
                return Poll::Ready(Err(error));
            }
            // RFC 8305 §5: a failed attempt starts the next one at once.
            if failed && pending.len() > 0 {
                next_start = Instant::now();
                continue;
            }
            if pending.len() > 0 && stagger.poll_at(cx, next_start).is_ready() {
                continue;
            }
            return Poll::Pending;
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_alternate_families_starting_with_ipv6() {
        let addrs: Vec<SocketAddr> =
            ["1.1.1.1:80", "2.2.2.2:80", "[::1]:80", "3.3.3.3:80", "[::2]:80"].map(|a| a.parse().unwrap()).into();
        let ordered: Vec<String> = order(addrs, 5).iter().map(ToString::to_string).collect();
        assert_eq!(ordered, ["[::1]:80", "1.1.1.1:80", "[::2]:80", "2.2.2.2:80", "3.3.3.3:80"]);
    }

    #[test]
    fn at_most_the_configured_number_of_addresses_are_tried() {
        let addrs: Vec<SocketAddr> = (1..=9).map(|i| SocketAddr::from(([10, 0, 0, i], 80))).collect();
        assert_eq!(order(addrs, 5).len(), 5);
    }
}
