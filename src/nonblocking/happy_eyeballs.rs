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
                attempts.push(Attempt {
                    future: Box::pin(connect(addr)),
                    deadline: now + timeout,
                    timer: T::new(),
                });
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
        let addrs: Vec<SocketAddr> = ["1.1.1.1:80", "2.2.2.2:80", "[::1]:80", "3.3.3.3:80", "[::2]:80"]
            .map(|a| a.parse().unwrap())
            .into();
        let ordered: Vec<String> = order(addrs, 5).iter().map(ToString::to_string).collect();
        assert_eq!(ordered, ["[::1]:80", "1.1.1.1:80", "[::2]:80", "2.2.2.2:80", "3.3.3.3:80"]);
    }

    #[test]
    fn at_most_the_configured_number_of_addresses_are_tried() {
        let addrs: Vec<SocketAddr> = (1..=9).map(|i| SocketAddr::from(([10, 0, 0, i], 80))).collect();
        assert_eq!(order(addrs, 5).len(), 5);
    }

    /// `race` with fake connection attempts on tokio's timer.
    #[cfg(feature = "tokio")]
    mod race {
        use super::*;
        use crate::tokio::TokioTimer;
        use std::sync::{Arc, Mutex};

        /// What a fake connection attempt does.
        #[derive(Clone, Copy)]
        enum Plan {
            Hang,
            SucceedAfter(Duration),
            FailAfter(Duration, &'static str),
        }

        type Attempt = Pin<Box<dyn Future<Output = io::Result<SocketAddr>>>>;

        /// When each attempt started, in order.
        type Started = Arc<Mutex<Vec<(SocketAddr, Instant)>>>;

        fn addr(i: u8) -> SocketAddr {
            SocketAddr::from(([10, 0, 0, i], 80))
        }

        /// The `i` of `addr(i)`.
        fn index(addr: SocketAddr) -> usize {
            match addr.ip() {
                std::net::IpAddr::V4(ip) => usize::from(ip.octets()[3]),
                std::net::IpAddr::V6(_) => unreachable!("the fakes use IPv4 addresses"),
            }
        }

        /// A connect function that follows `plans` (attempt `i` connects to `addr(i)`) and
        /// records when each attempt starts.
        fn fake(plans: Vec<Plan>, started: Started) -> impl Fn(SocketAddr) -> Attempt {
            move |to| {
                started.lock().unwrap().push((to, Instant::now()));
                let plan = plans[index(to)];
                Box::pin(async move {
                    match plan {
                        Plan::Hang => std::future::pending().await,
                        Plan::SucceedAfter(delay) => {
                            ::tokio::time::sleep(delay).await;
                            Ok(to)
                        }
                        Plan::FailAfter(delay, what) => {
                            ::tokio::time::sleep(delay).await;
                            Err(io::Error::new(io::ErrorKind::ConnectionRefused, what))
                        }
                    }
                })
            }
        }

        /// Races `addr(0)..addr(n)` following `plans`; returns the outcome, when it came
        /// (from the start) and the start of each attempt (from the start).
        fn run_race(
            plans: Vec<Plan>,
            timeout: Duration,
        ) -> (io::Result<SocketAddr>, Duration, Vec<Duration>) {
            let runtime = ::tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
            let addrs = (0..plans.len() as u8).map(addr).collect();
            let started = Started::default();
            let connect = fake(plans, started.clone());
            let begin = Instant::now();
            let result = runtime.block_on(async {
                ::tokio::time::timeout(
                    Duration::from_secs(5),
                    race::<TokioTimer, _, _, _>(addrs, timeout, connect),
                )
                .await
                .expect("the race ends within 5 s")
            });
            let elapsed = begin.elapsed();
            let starts = started.lock().unwrap().iter().map(|(_, at)| at.duration_since(begin)).collect();
            (result, elapsed, starts)
        }

        const MS: Duration = Duration::from_millis(1);
        const LONG: Duration = Duration::from_secs(60);

        #[test]
        fn a_hanging_first_attempt_is_overtaken_by_a_second_started_after_250_ms() {
            let plans = vec![Plan::Hang, Plan::SucceedAfter(20 * MS)];
            let (result, elapsed, starts) = run_race(plans, LONG);
            assert_eq!(result.unwrap(), addr(1), "the second address wins");
            assert_eq!(starts.len(), 2);
            let stagger = starts[1] - starts[0];
            assert!(
                stagger >= 249 * MS && stagger < 600 * MS,
                "the second attempt started after {stagger:?}"
            );
            assert!(elapsed >= 269 * MS && elapsed < 900 * MS, "connected after {elapsed:?}");
        }

        #[test]
        fn a_failed_attempt_starts_the_next_one_at_once_without_waiting_250_ms() {
            let plans = vec![Plan::FailAfter(20 * MS, "refused"), Plan::SucceedAfter(10 * MS)];
            let (result, elapsed, starts) = run_race(plans, LONG);
            assert_eq!(result.unwrap(), addr(1));
            let gap = starts[1] - starts[0];
            assert!(gap >= 19 * MS && gap < 150 * MS, "the second attempt started {gap:?} after the first");
            assert!(elapsed < 200 * MS, "connected after {elapsed:?}");
        }

        #[test]
        fn when_every_attempt_fails_the_last_error_is_returned() {
            let plans = vec![
                Plan::FailAfter(5 * MS, "first refused"),
                Plan::FailAfter(5 * MS, "second refused"),
                Plan::FailAfter(5 * MS, "third refused"),
            ];
            let (result, elapsed, starts) = run_race(plans, LONG);
            let error = result.unwrap_err();
            assert_eq!(
                (error.kind(), error.to_string()),
                (io::ErrorKind::ConnectionRefused, "third refused".into())
            );
            assert_eq!(starts.len(), 3, "every address was tried");
            assert!(elapsed < 200 * MS, "gave up after {elapsed:?}, not after the 250 ms staggers");
        }

        #[test]
        fn an_attempt_that_outlasts_the_connect_timeout_fails_as_timed_out() {
            let (result, elapsed, _) = run_race(vec![Plan::Hang], 100 * MS);
            assert_eq!(result.unwrap_err().kind(), io::ErrorKind::TimedOut);
            assert!(elapsed >= 99 * MS && elapsed < 600 * MS, "gave up after {elapsed:?}");
        }

        #[test]
        fn with_no_address_the_race_fails_at_once() {
            let (result, _, starts) = run_race(vec![], LONG);
            assert_eq!(result.unwrap_err().kind(), io::ErrorKind::NotFound);
            assert!(starts.is_empty());
        }
    }
}
