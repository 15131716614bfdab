//! The async message socket, its read and write halves, and `Stream` + `Sink`.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;

use super::driver::{AsyncDriver, AsyncIo, AsyncTimer};
use super::split::{self, ReadHalf, WriteHalf};
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
/// [`split`](Self::split) (the halves' task runs the connection on its own), or call
/// [`flush`](Self::flush).
///
/// Made by the runtime modules' `connect` and `accept` (e.g. `wsproto::tokio::connect`).
#[derive(Debug)]
pub struct WebSocket<I, T> {
    driver: AsyncDriver<I, T>,
    /// Messages a read half had not taken when it was reunited, given out first.
    unread: VecDeque<Result<Message, SocketError>>,
    /// The `Stream` gave its last item (the end, or an error).
    stream_ended: bool,
}

/// A `Stream` item of a message socket (or read half) from what `poll_recv` gave; marks the
/// stream `ended` after the connection closed or failed, so that it then gives `None`.
pub(super) fn stream_item(
    received: Result<Option<Message>, SocketError>,
    ended: &mut bool,
) -> Option<Result<Message, SocketError>> {
    let item = received.transpose();
    *ended = !matches!(item, Some(Ok(_)));
    item
}

/// Queues a message, handing a binary payload over (a clone would cost a shared reference
/// count, and an allocation for a payload the application built as a `Vec`).
pub(super) fn queue(conn: &mut Connection, message: Message) -> Result<(), SendError> {
    match message {
        Message::Text(text) => conn.send_text(&text),
        Message::Binary(data) => conn.send_binary(data),
    }
}

impl<I: AsyncIo, T: AsyncTimer> WebSocket<I, T> {
    pub(crate) fn from_driver(driver: AsyncDriver<I, T>) -> Self {
        Self::from_parts(driver, VecDeque::new())
    }

    /// A socket whose first messages are `unread`.
    pub(super) fn from_parts(
        driver: AsyncDriver<I, T>,
        unread: VecDeque<Result<Message, SocketError>>,
    ) -> Self {
        Self { driver, unread, stream_ended: false }
    }

    /// Wraps a transport whose handshake was done elsewhere (by another HTTP stack, or with
    /// [`ServerHandshake`](crate::handshake::ServerHandshake) by hand) and a connection in
    /// [`Delivery::Messages`](crate::Delivery::Messages). Feed any bytes that followed the
    /// handshake to the connection first.
    pub fn from_connection(io: I, conn: Connection) -> Self {
        Self::from_driver(AsyncDriver::new(io, conn, Info::default()))
    }

    /// The next message; `Ok(None)` once the connection closed cleanly, an error when it
    /// failed ([`ErrorKind::Protocol`](crate::ErrorKind::Protocol)) or ended without a close
    /// handshake ([`ErrorKind::Closed`](crate::ErrorKind::Closed)). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<Message>, SocketError> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Message>, SocketError>> {
        if let Some(unread) = self.unread.pop_front() {
            return Poll::Ready(unread.map(Some));
        }
        self.driver.poll_next_data(cx).map(|data| data?.map(Data::into_message).transpose())
    }

    /// Sends a message: waits while outgoing bytes are above the high-water mark, queues the
    /// message, and writes it (held back only while received events wait to be read, so that
    /// the replies to one read leave in one write).
    ///
    /// Cancel-safe in that no partial message is ever queued: dropped while it waits for room,
    /// it queued nothing; dropped while it writes, it queued the whole message, which the next
    /// call writes. [`info().messages_sent`](Info::messages_sent) tells which.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), SocketError> {
        let message = message.into();
        poll_fn(|cx| self.driver.poll_ready_to_send(cx)).await?;
        queue(&mut self.driver.conn, message)?;
        self.driver.info.messages_sent += 1;
        poll_fn(|cx| self.driver.poll_after_send(cx)).await
    }

    /// Sends a text message; cancel-safe as [`send`](Self::send).
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), SocketError> {
        self.send(Message::Text(text.into().into())).await
    }

    /// Sends a binary message; a server keeps large payloads without copying them. Cancel-safe
    /// as [`send`](Self::send).
    pub async fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SocketError> {
        self.send(Message::Binary(data.into())).await
    }

    /// Sends a ping (at most 125 bytes) and writes it out. Cancel-safe as [`send`](Self::send).
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), SocketError> {
        poll_fn(|cx| self.driver.poll_ready_to_send(cx)).await?;
        self.driver.conn.send_ping(payload)?;
        self.flush().await
    }

    /// Writes out everything queued. Cancel-safe: dropped, what is unwritten stays queued.
    pub async fn flush(&mut self) -> Result<(), SocketError> {
        poll_fn(|cx| self.driver.poll_write_out(cx)).await
    }

    /// Starts the close handshake and waits for it to finish, discarding messages that
    /// arrive meanwhile. The outcome is then in [`close_outcome`](Self::close_outcome).
    /// Cancel-safe: dropped, the close has started; called again, it waits for the end and
    /// sends no second close.
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

    /// Splits into a read half and a write half that two tasks can use at once, without a
    /// lock between them: the connection moves into a task of its own, spawned on the
    /// runtime (so this must be called inside it), and the halves queue messages to and
    /// from it. The task answers pings and closes and keeps the timers (keep-alive, close
    /// timeout) even while neither half is polled; it ends when the connection does, or
    /// when both halves are dropped (which drops the transport, as dropping the socket
    /// does). [`ReadHalf::reunite`] gives the socket back.
    ///
    /// # Panics
    /// With tokio, outside a tokio runtime (as `tokio::spawn` does). The futures-io adapter
    /// runs the task on async-std's executor, which needs no context.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), wsproto::SocketError> {
    /// let ws = wsproto::tokio::connect("ws://127.0.0.1:9001/").await?;
    /// let (mut read, mut write) = ws.split();
    /// let writer = tokio::spawn(async move {
    ///     for i in 0..10 {
    ///         write.send(format!("message {i}")).await?;
    ///     }
    ///     write.close(wsproto::CloseCode::NORMAL, "done").await
    /// });
    /// while let Some(message) = read.recv().await? {
    ///     println!("{message:?}");
    /// }
    /// # writer.await.unwrap()?;
    /// # Ok(()) }
    /// ```
    pub fn split(self) -> (ReadHalf<I, T>, WriteHalf<I, T>)
    where
        I: Send + 'static,
        T: 'static,
    {
        split::split(self.driver, self.unread)
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
        let received = ready!(this.poll_recv(cx));
        Poll::Ready(stream_item(received, &mut this.stream_ended))
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
