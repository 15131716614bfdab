//! The async message socket, its read and write halves, and `Stream` + `Sink`.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker, ready};

use bytes::Bytes;

use super::driver::{AsyncDriver, AsyncIo, AsyncTimer};
use crate::adapter::Data;
use crate::close::{CloseCode, CloseOutcome};
use crate::connection::Connection;
use crate::error::SendError;
use crate::info::Info;
use crate::message::Message;
use crate::socket_error::SocketError;

/// An async WebSocket that sends and receives whole messages; also a
/// [`Stream`](futures_core::Stream) of messages and a [`Sink`](futures_sink::Sink) for them.
///
/// Pings are answered and the close handshake completes inside [`recv`](Self::recv), even
/// when the application never sends. Every method's future is cancel-safe: `recv` dropped in a
/// `select!` loses no bytes (all state lives in the socket, none in the future), and `send`
/// dropped before it resolves has queued either the whole message or nothing.
///
/// The connection's timers (keep-alive, close timeout) run while one of its calls is being
/// polled, and replies to received messages may be held back until the last received event is
/// read (so they leave in one write): an application that sends without receiving should
/// [`split`](Self::split) and keep a task in `recv`, or call [`flush`](Self::flush).
///
/// Made by the runtime modules' `connect` and `accept` (e.g. `wsproto::tokio::connect`).
#[derive(Debug)]
pub struct WebSocket<I, T> {
    driver: AsyncDriver<I, T>,
    /// The `Stream` gave its last item (the end, or an error).
    stream_ended: bool,
}

/// Queues a message, handing a binary payload over (a clone would cost a shared reference
/// count, and an allocation for a payload the application built as a `Vec`).
fn queue(conn: &mut Connection, message: Message) -> Result<(), SendError> {
    match message {
        Message::Text(text) => conn.send_text(&text),
        Message::Binary(data) => conn.send_binary(data),
    }
}

impl<I: AsyncIo, T: AsyncTimer> WebSocket<I, T> {
    pub(crate) fn from_driver(driver: AsyncDriver<I, T>) -> Self {
        Self { driver, stream_ended: false }
    }

    /// Wraps a transport whose handshake was done elsewhere (by another HTTP stack, or with
    /// [`ServerHandshake`](crate::handshake::ServerHandshake) by hand) and a connection in
    /// [`Delivery::Messages`](crate::Delivery::Messages). Feed any bytes that followed the
    /// handshake to the connection first.
    pub fn from_connection(io: I, conn: Connection) -> Self {
        Self { driver: AsyncDriver::new(io, conn, Info::default()), stream_ended: false }
    }

    /// The next message; `Ok(None)` once the connection closed cleanly, an error when it
    /// failed ([`ErrorKind::Protocol`](crate::ErrorKind::Protocol)) or ended without a close
    /// handshake ([`ErrorKind::Closed`](crate::ErrorKind::Closed)). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<Message>, SocketError> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Message>, SocketError>> {
        self.driver.poll_next_data(cx).map(|data| data?.map(Data::into_message).transpose())
    }

    /// Sends a message: waits while outgoing bytes are above the high-water mark, queues the
    /// message, and writes it (held back only while received events wait to be read, so that
    /// the replies to one read leave in one write).
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), SocketError> {
        let message = message.into();
        poll_fn(|cx| self.driver.poll_ready_to_send(cx)).await?;
        queue(&mut self.driver.conn, message)?;
        self.driver.info.messages_sent += 1;
        poll_fn(|cx| self.driver.poll_after_send(cx)).await
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), SocketError> {
        self.send(Message::Text(text.into().into())).await
    }

    /// Sends a binary message; a server keeps large payloads without copying them.
    pub async fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SocketError> {
        self.send(Message::Binary(data.into())).await
    }

    /// Sends a ping (at most 125 bytes).
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), SocketError> {
        poll_fn(|cx| self.driver.poll_ready_to_send(cx)).await?;
        self.driver.conn.send_ping(payload)?;
        self.flush().await
    }

    /// Writes out everything queued.
    pub async fn flush(&mut self) -> Result<(), SocketError> {
        poll_fn(|cx| self.driver.poll_write_out(cx)).await
    }

    /// Starts the close handshake and waits for it to finish, discarding messages that
    /// arrive meanwhile. The outcome is then in [`close_outcome`](Self::close_outcome).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SocketError> {
        self.driver.close(code, reason)?;
        poll_fn(|cx| self.driver.poll_until_ended(cx)).await
    }

    /// How the connection ended, once it has.
    pub fn close_outcome(&self) -> Option<&CloseOutcome> {
        self.driver.outcome()
    }

    /// Addresses, subprotocol, extensions and counters.
    pub fn info(&self) -> &Info {
        &self.driver.info
    }

    /// The sans-IO connection underneath.
    pub fn connection(&self) -> &Connection {
        &self.driver.conn
    }

    /// Splits into a read half and a write half that two tasks can use at once. The read
    /// half keeps answering pings and closes while the write half sends.
    pub fn split(self) -> (ReadHalf<I, T>, WriteHalf<I, T>) {
        let wakers = Arc::new(HalfWakers::default());
        let shared =
            Arc::new(Shared { driver: Mutex::new(self.driver), waker: Waker::from(wakers.clone()), wakers });
        (ReadHalf { shared: shared.clone() }, WriteHalf { shared })
    }
}

impl<I: AsyncIo, T: AsyncTimer> futures_core::Stream for WebSocket<I, T> {
    type Item = Result<Message, SocketError>;

    /// Ends (`None`) after the connection closed, and after yielding an error once.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.stream_ended {
            return Poll::Ready(None);
        }
        let item = ready!(this.poll_recv(cx)).transpose();
        this.stream_ended = !matches!(item, Some(Ok(_)));
        Poll::Ready(item)
    }
}

impl<I: AsyncIo, T: AsyncTimer> futures_sink::Sink<Message> for WebSocket<I, T> {
    type Error = SocketError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        self.get_mut().driver.poll_ready_to_send(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), SocketError> {
        let driver = &mut self.get_mut().driver;
        queue(&mut driver.conn, message)?;
        driver.info.messages_sent += 1;
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        self.get_mut().driver.poll_write_out(cx)
    }

    /// Starts the close handshake with 1000 (if not started) and waits for it to finish.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        let driver = &mut self.get_mut().driver;
        if driver.conn.state() == crate::State::Open {
            driver.close(CloseCode::NORMAL, "")?;
        }
        driver.poll_until_ended(cx)
    }
}

/// The receiving half of a split [`WebSocket`].
#[derive(Debug)]
pub struct ReadHalf<I, T> {
    shared: Arc<Shared<I, T>>,
}

/// The sending half of a split [`WebSocket`].
#[derive(Debug)]
pub struct WriteHalf<I, T> {
    shared: Arc<Shared<I, T>>,
}

/// What the halves share: the driver, and one waker that wakes both halves.
#[derive(Debug)]
struct Shared<I, T> {
    driver: Mutex<AsyncDriver<I, T>>,
    wakers: Arc<HalfWakers>,
    /// Wakes both halves; the driver is only ever polled with this one.
    waker: Waker,
}

/// The wakers of the two halves. A transport keeps one waker per direction, and both halves
/// write (the read half sends pongs and close replies), so the half that polled last would
/// take the other's wake-up and leave it waiting forever. Every wake-up goes to both instead;
/// a half woken for nothing polls once and waits again.
#[derive(Debug, Default)]
struct HalfWakers {
    read: Mutex<Option<Waker>>,
    write: Mutex<Option<Waker>>,
}

impl Wake for HalfWakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        for slot in [&self.read, &self.write] {
            if let Some(waker) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
                waker.wake();
            }
        }
    }
}

/// One of the two halves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Half {
    Read,
    Write,
}

impl HalfWakers {
    fn slot(&self, half: Half) -> &Mutex<Option<Waker>> {
        match half {
            Half::Read => &self.read,
            Half::Write => &self.write,
        }
    }

    fn wake_half(&self, half: Half) {
        if let Some(waker) = self.slot(half).lock().unwrap_or_else(PoisonError::into_inner).take() {
            waker.wake();
        }
    }
}

impl<I, T> Shared<I, T> {
    /// Polls the driver for one half: records the half's waker, then runs `poll` under the
    /// lock (held for this one poll, never across an `.await`) with the shared waker.
    fn poll<R>(
        &self,
        half: Half,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut AsyncDriver<I, T>, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        {
            let mut slot = self.wakers.slot(half).lock().unwrap_or_else(PoisonError::into_inner);
            match &*slot {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        let mut driver = self.lock();
        let (written, deadline, finished) =
            (driver.info.bytes_written, driver.conn.poll_timeout(), driver.conn.is_finished());
        let result = poll(&mut driver, &mut Context::from_waker(&self.waker));
        // One half can end the other's wait without any event on the transport: the read half
        // writing out what the write half queued (some transports then also drop the write
        // half's registration), the write half arming a new deadline, or either half ending
        // the connection (a failed read or write).
        let ended = driver.conn.is_finished() != finished;
        let wake = match half {
            Half::Read => (ended || driver.info.bytes_written != written).then_some(Half::Write),
            Half::Write => (ended || driver.conn.poll_timeout() != deadline).then_some(Half::Read),
        };
        drop(driver);
        if let Some(other) = wake {
            self.wakers.wake_half(other);
        }
        result
    }

    fn lock(&self) -> MutexGuard<'_, AsyncDriver<I, T>> {
        // A panic elsewhere while polling leaves the driver consistent: every poll either
        // completes a step or leaves the state as it was.
        self.driver.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<I: AsyncIo, T: AsyncTimer> ReadHalf<I, T> {
    /// The next message, as [`WebSocket::recv`]. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<Message>, SocketError> {
        let shared = &*self.shared;
        poll_fn(|cx| {
            shared.poll(Half::Read, cx, |driver, cx| {
                driver.poll_next_data(cx).map(|data| data?.map(Data::into_message).transpose())
            })
        })
        .await
    }

    /// How the connection ended, once it has.
    pub fn close_outcome(&self) -> Option<CloseOutcome> {
        self.shared.lock().outcome().cloned()
    }
}

impl<I: AsyncIo, T: AsyncTimer> WriteHalf<I, T> {
    /// Sends a message, as [`WebSocket::send`].
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), SocketError> {
        let mut message = Some(message.into());
        let shared = &*self.shared;
        poll_fn(|cx| {
            shared.poll(Half::Write, cx, |driver, cx| {
                ready!(driver.poll_ready_to_send(cx))?;
                // Taken once: this closure runs again only while not ready to send.
                if let Some(message) = message.take() {
                    queue(&mut driver.conn, message)?;
                    driver.info.messages_sent += 1;
                }
                Poll::Ready(Ok::<(), SocketError>(()))
            })
        })
        .await?;
        poll_fn(|cx| shared.poll(Half::Write, cx, AsyncDriver::poll_write_out)).await
    }

    /// Starts the close handshake; the read half sees it finish (`recv` gives `Ok(None)`).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SocketError> {
        let shared = &*self.shared;
        shared.lock().close(code, reason)?;
        // The close timeout is a new deadline: the read half re-arms its timer when polled.
        shared.wakers.wake_half(Half::Read);
        poll_fn(|cx| shared.poll(Half::Write, cx, AsyncDriver::poll_write_out)).await
    }
}

impl<I: AsyncIo, T: AsyncTimer> ReadHalf<I, T> {
    /// Puts the halves back together; `None` if they came from different sockets.
    pub fn reunite(self, write: WriteHalf<I, T>) -> Option<WebSocket<I, T>> {
        if !Arc::ptr_eq(&self.shared, &write.shared) {
            return None;
        }
        drop(write);
        let shared = Arc::into_inner(self.shared)?;
        Some(WebSocket::from_driver(shared.driver.into_inner().unwrap_or_else(PoisonError::into_inner)))
    }
}
