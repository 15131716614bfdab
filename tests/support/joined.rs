//! A closure on its own thread as a future, for the async adapters' tests: raw peers run on
//! plain threads, so they work the same under every runtime, and the async side awaits them
//! with [`spawn_thread`], which never blocks an executor thread.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

/// The result of a closure running on its own thread, as a future: awaiting it never blocks
/// the executor, and a panic on the thread is re-raised in the awaiting task.
pub struct Joined<T> {
    shared: Arc<Mutex<JoinState<T>>>,
}

struct JoinState<T> {
    result: Option<thread::Result<T>>,
    waker: Option<Waker>,
}

/// Runs `body` on a new thread; await the returned [`Joined`] for its result.
pub fn spawn_thread<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> Joined<T> {
    let shared = Arc::new(Mutex::new(JoinState { result: None, waker: None }));
    let state = shared.clone();
    thread::Builder::new()
        .name("raw peer".into())
        .spawn(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(body));
            let mut state = state.lock().unwrap();
            state.result = Some(result);
            if let Some(waker) = state.waker.take() {
                waker.wake();
            }
        })
        .expect("spawn a raw peer thread");
    Joined { shared }
}

impl<T> Future for Joined<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.shared.lock().unwrap();
        match state.result.take() {
            Some(Ok(value)) => Poll::Ready(value),
            Some(Err(panic)) => panic::resume_unwind(panic),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
