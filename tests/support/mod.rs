//! Support shared by the integration tests that run real sockets or measure the heap: a time
//! bound for test bodies, a counting allocator ([`heap`]), a raw WebSocket peer written by hand
//! ([`raw`]) and a thread to await it on ([`joined`]), payload patterns ([`payload`]), `Stream` and
//! `Sink` by hand ([`sinks`]), feeding modes for the sans-IO core ([`feed`]) and
//! TLS configurations ([`tls`]).
//!
//! Each binary includes it with `mod support;` and uses what it needs; a binary that measures
//! the heap installs [`heap::CountingAllocator`] with its own `#[global_allocator]` static.
#![allow(dead_code)]

pub mod feed;
pub mod heap;
pub mod joined;
pub mod payload;
pub mod raw;
#[cfg(any(feature = "tokio", feature = "async-std"))]
pub mod sinks;
#[cfg(feature = "rustls")]
pub mod tls;

use std::panic;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How late a timer may fire on a loaded machine and still pass.
pub const SLACK: Duration = Duration::from_millis(700);

/// Runs `test` on its own thread and fails when it takes longer than `limit`, so that a hung
/// socket fails the test instead of the whole run. A panic inside `test` is re-raised here.
pub fn within<T: Send + 'static>(limit: Duration, test: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    let handle = thread::Builder::new()
        .name("bounded test body".into())
        .spawn(move || {
            let value = test();
            let _ = done.send(());
            value
        })
        .expect("spawn the test body");
    match finished.recv_timeout(limit) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(value) => value,
            Err(panic) => panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test did not finish within {limit:?}"),
    }
}

/// Joins a helper thread, re-raising its panic with the thread's own message.
pub fn join<T>(handle: thread::JoinHandle<T>) -> T {
    handle.join().unwrap_or_else(|panic| panic::resume_unwind(panic))
}
