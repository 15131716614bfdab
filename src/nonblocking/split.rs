//! A split socket: a task of its own drives the connection, and the two halves talk to it over
//! lock-free queues, so neither half ever waits for the other and the connection runs (pongs,
//! close replies, keep-alive, timeouts) whether or not the application is polling.
//!
//! ```text
//!  WriteHalf ──commands──► task: AsyncDriver (transport, connection, timer) ──messages──► ReadHalf
//! ```
//!
//! Both queues are bounded in bytes by the connection's
//! [`outgoing_high_water`](crate::Config::outgoing_high_water): the write half waits while
//! that many bytes of its messages wait for the task, and the task stops reading the transport
//! while that many bytes of received messages wait for the read half. The only lock is taken
//! once, when the task stops, to hand the driver over for [`ReadHalf::reunite`].

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, ready};

use atomic_waker::AtomicWaker;
use bytes::{Buf, Bytes};
use futures_channel::{mpsc, oneshot};
use futures_core::Stream;

use super::driver::{AsyncDriver, AsyncIo, AsyncTimer};
use super::socket::{WebSocket, queue, stream_item};
use crate::close::{CloseCode, CloseOutcome};
use crate::error::SendError;
use crate::message::Message;
use crate::socket_error::SocketError;

/// A received message (or the error that ended the connection) on its way to the read half.
type Received = Result<Message, SocketError>;
/// Answers a command once what it queued is written (or the connection refused it).
type Ack = oneshot::Sender<Result<(), SocketError>>;

/// What the write half asks of the task.
enum Command {
    Send(Message),
    Ping(Bytes, Ack),
    Flush(Ack),
    Close(CloseCode, String, Ack),
    /// Stop and hand the driver over; the ack says it has been.
    Reunite(oneshot::Sender<()>),
}

/// Bytes waiting in one queue between a half and the task, and the waker of the side that waits
/// for room: the write half for its commands, the task for the read half's messages.
#[derive(Debug)]
struct Budget {
    queued: AtomicUsize,
    limit: usize,
    waiter: AtomicWaker,
}

impl Budget {
    fn new(limit: usize) -> Self {
        Self { queued: AtomicUsize::new(0), limit, waiter: AtomicWaker::new() }
    }

    fn has_room(&self) -> bool {
        self.queued.load(Ordering::Acquire) < self.limit
    }

    /// Ready while below the limit; registers the waiter otherwise.
    fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.has_room() {
            return Poll::Ready(());
        }
        self.waiter.register(cx.waker());
        if self.has_room() { Poll::Ready(()) } else { Poll::Pending }
    }

    fn add(&self, message: &Message) {
        self.queued.fetch_add(cost(message), Ordering::AcqRel);
    }

    /// Takes a message out of the queue; wakes the waiter when that makes room.
    fn take(&self, message: &Message) {
        let cost = cost(message);
        let before = self.queued.fetch_sub(cost, Ordering::AcqRel);
        if before >= self.limit && before - cost < self.limit {
            self.waiter.wake();
        }
    }
}

/// What a queued message holds in memory: its payload and its place in the queue (so that
/// empty messages are bounded too).
fn cost(message: &Message) -> usize {
    message.as_bytes().len() + size_of::<Message>()
}

/// What the halves and the task share, none of it behind a lock.
struct Shared<I, T> {
    /// Received messages the read half has not taken.
    to_read: Budget,
    /// Messages the write half queued that the task has not taken.
    to_write: Budget,
    /// The connection takes new messages: no close sent or received, the task running.
    open: AtomicBool,
    read_half_gone: AtomicBool,
    outcome: OnceLock<CloseOutcome>,
    /// The driver, once the task has stopped: for [`ReadHalf::reunite`].
    parked: Mutex<Option<AsyncDriver<I, T>>>,
}

impl<I, T> Shared<I, T> {
    /// A command the stopped task can no longer run.
    fn refused(&self) -> Result<(), SocketError> {
        Err(SocketError::Send(SendError::Closed))
    }

    /// How the connection ended, once the task has stopped: nothing after a clean close.
    fn ending(&self) -> Result<(), SocketError> {
        match self.outcome.get() {
            Some(outcome) if outcome.is_clean() => Ok(()),
            Some(outcome) => Err(SocketError::Closed(outcome.clone())),
            None => {
                Err(SocketError::Io(std::io::Error::other("the socket's task was stopped by its runtime")))
            }
        }
    }
}

/// Tells the halves the task has stopped, however it stops: at the connection's end, for a
/// reunion, or dropped with its runtime.
struct Stopped<I, T>(Arc<Shared<I, T>>);

impl<I, T> Drop for Stopped<I, T> {
    fn drop(&mut self) {
        self.0.open.store(false, Ordering::Release);
        self.0.to_write.waiter.wake();
    }
}

/// How the task stopped.
enum Stop {
    /// The connection is over: cleanly, or with this error for the read half.
    Ended(Result<(), SocketError>),
    Reunite(oneshot::Sender<()>),
    /// Both halves were dropped: the transport is dropped too, as with an unsplit socket.
    Abandoned,
}

/// Messages handed to the read half in one poll of the task before it lets its runtime run
/// other tasks: a peer that sends as fast as the read half takes cannot hold a thread.
const DELIVERIES_PER_POLL: usize = 64;

/// The task that owns the driver.
struct Task<I, T> {
    driver: AsyncDriver<I, T>,
    shared: Stopped<I, T>,
    received: mpsc::UnboundedSender<Received>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// The write half is still there.
    commands_open: bool,
    /// Flushes and closes waiting until outgoing is written.
    waiting_for_write: Vec<Ack>,
}

impl<I: AsyncIo, T: AsyncTimer> Task<I, T> {
    async fn run(mut self) {
        let stop = poll_fn(|cx| {
            let poll = self.poll_drive(cx);
            self.publish();
            poll
        })
        .await;
        self.stop(stop);
    }

    fn shared(&self) -> &Shared<I, T> {
        &self.shared.0
    }

    /// Takes commands, hands received messages to the read half, writes, and runs the timers.
    fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<Stop> {
        let mut delivered = 0;
        loop {
            let stalled = match self.take_commands(cx) {
                Ok(stalled) => stalled,
                Err(stop) => return Poll::Ready(stop),
            };
            if !self.commands_open && self.shared().read_half_gone.load(Ordering::Acquire) {
                return Poll::Ready(Stop::Abandoned);
            }
            let has_room = self.has_room(cx);
            if has_room {
                // Writes what is queued before it reads: the replies to one read leave together.
                match self.driver.poll_next_data(cx) {
                    Poll::Ready(Ok(Some(data))) => {
                        self.deliver(data.into_message());
                        delivered += 1;
                        if delivered == DELIVERIES_PER_POLL {
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                        continue;
                    }
                    Poll::Ready(Ok(None)) => return Poll::Ready(Stop::Ended(Ok(()))),
                    Poll::Ready(Err(error)) => return Poll::Ready(Stop::Ended(Err(error))),
                    Poll::Pending => {}
                }
            } else if self.driver.poll_timer(cx).is_ready() {
                continue;
            }
            if stalled || !has_room || !self.waiting_for_write.is_empty() {
                match self.driver.poll_write_out(cx) {
                    Poll::Ready(Ok(())) => {
                        for ack in self.waiting_for_write.drain(..) {
                            let _ = ack.send(Ok(()));
                        }
                    }
                    Poll::Ready(Err(error)) => return Poll::Ready(Stop::Ended(Err(error))),
                    Poll::Pending => {}
                }
            }
            // Stopped taking commands at the high-water mark, and below it now: take more.
            if stalled && self.driver.conn.outgoing().len() < self.driver.conn.config().outgoing_high_water {
                continue;
            }
            return Poll::Pending;
        }
    }

    /// The read half has room for more, or is gone (and what arrives is dropped).
    fn has_room(&self, cx: &mut Context<'_>) -> bool {
        self.shared().read_half_gone.load(Ordering::Acquire) || self.shared().to_read.poll_room(cx).is_ready()
    }

    /// Runs the write half's commands while outgoing is below its high-water mark; true when
    /// it stopped at the mark, with commands perhaps waiting (and no wake-up asked for them).
    fn take_commands(&mut self, cx: &mut Context<'_>) -> Result<bool, Stop> {
        let high_water = self.driver.conn.config().outgoing_high_water;
        while self.commands_open {
            if self.driver.conn.outgoing().len() >= high_water {
                return Ok(true);
            }
            match Pin::new(&mut self.commands).poll_next(cx) {
                Poll::Ready(Some(command)) => {
                    if let Some(stop) = self.run_command(command) {
                        return Err(stop);
                    }
                }
                Poll::Ready(None) => self.commands_open = false,
                Poll::Pending => break,
            }
        }
        Ok(false)
    }

    /// Runs a command; a reunion stops the task.
    fn run_command(&mut self, command: Command) -> Option<Stop> {
        let driver = &mut self.driver;
        match command {
            Command::Send(message) => {
                self.shared.0.to_write.take(&message);
                // A message that raced with the close is dropped, as the close was first.
                if queue(&mut driver.conn, message).is_ok() {
                    driver.info.messages_sent += 1;
                }
            }
            Command::Ping(payload, ack) => match driver.conn.send_ping(&payload) {
                Ok(()) => self.waiting_for_write.push(ack),
                Err(error) => drop(ack.send(Err(error.into()))),
            },
            Command::Flush(ack) => self.waiting_for_write.push(ack),
            Command::Close(code, reason, ack) => match driver.close(code, &reason) {
                Ok(()) => self.waiting_for_write.push(ack),
                Err(error) => drop(ack.send(Err(error))),
            },
            Command::Reunite(ack) => return Some(Stop::Reunite(ack)),
        }
        None
    }

    fn deliver(&mut self, received: Received) {
        if self.shared().read_half_gone.load(Ordering::Acquire) {
            return;
        }
        if let Ok(message) = &received {
            self.shared().to_read.add(message);
        }
        // The read half may be dropping right now; then nobody wants the message.
        let _ = self.received.unbounded_send(received);
    }

    /// Tells the halves what they ask about without asking the task: the outcome, and whether
    /// messages are still taken.
    fn publish(&self) {
        let shared = self.shared();
        if shared.outcome.get().is_none()
            && let Some(outcome) = self.driver.outcome()
        {
            let _ = shared.outcome.set(outcome.clone());
        }
        if self.driver.conn.state() != crate::State::Open {
            shared.open.store(false, Ordering::Release);
        }
    }

    fn stop(mut self, stop: Stop) {
        let reunite = match stop {
            Stop::Abandoned => return,
            Stop::Reunite(ack) => Some(ack),
            Stop::Ended(result) => {
                // A transport that failed while the read half was full leaves messages behind.
                while let Some(data) = self.driver.next_final_data() {
                    self.deliver(data.into_message());
                }
                self.publish();
                if let Err(error) = result {
                    self.deliver(Err(error));
                }
                if !self.driver.conn.outgoing().has_remaining() {
                    for ack in self.waiting_for_write.drain(..) {
                        let _ = ack.send(Ok(()));
                    }
                }
                // Parked until both halves are dropped: nothing more will be read or written.
                self.driver.conn.release_buffers();
                None
            }
        };
        let Self { driver, shared, .. } = self;
        *shared.0.parked.lock().unwrap_or_else(PoisonError::into_inner) = Some(driver);
        if let Some(ack) = reunite {
            let _ = ack.send(());
        }
    }
}

/// Splits a socket: spawns its task on the runtime and returns the halves. `unread` (left by
/// an earlier reunion) goes to the read half first.
pub(super) fn split<I, T>(
    driver: AsyncDriver<I, T>,
    unread: VecDeque<Received>,
) -> (ReadHalf<I, T>, WriteHalf<I, T>)
where
    I: AsyncIo + Send + 'static,
    T: AsyncTimer + 'static,
{
    let limit = driver.conn.config().outgoing_high_water;
    let shared = Arc::new(Shared {
        to_read: Budget::new(limit),
        to_write: Budget::new(limit),
        open: AtomicBool::new(driver.conn.state() == crate::State::Open),
        read_half_gone: AtomicBool::new(false),
        outcome: OnceLock::new(),
        parked: Mutex::new(None),
    });
    let (received_tx, received) = mpsc::unbounded();
    let (commands, commands_rx) = mpsc::unbounded();
    let mut task = Task {
        driver,
        shared: Stopped(shared.clone()),
        received: received_tx,
        commands: commands_rx,
        commands_open: true,
        waiting_for_write: Vec::new(),
    };
    unread.into_iter().for_each(|received| task.deliver(received));
    task.publish();
    T::spawn(task.run());
    (
        ReadHalf { received, shared: shared.clone(), ended: false, stream_ended: false },
        WriteHalf { commands, shared, written: None },
    )
}

/// The receiving half of a split [`WebSocket`]: takes the messages its task received.
///
/// The task answers pings and closes and keeps the timers whether or not this half is polled;
/// while received messages worth [`outgoing_high_water`](crate::Config::outgoing_high_water)
/// bytes wait here, it stops reading (the peer then waits in TCP). Dropping this half drops
/// what arrives from then on.
pub struct ReadHalf<I, T> {
    received: mpsc::UnboundedReceiver<Received>,
    shared: Arc<Shared<I, T>>,
    /// The task's queue has ended.
    ended: bool,
    /// The `Stream` gave its last item.
    stream_ended: bool,
}

/// The sending half of a split [`WebSocket`]: queues messages for its task, which writes them.
///
/// [`send`](Self::send) returns once the task has the message: it waits only while messages
/// worth [`outgoing_high_water`](crate::Config::outgoing_high_water) bytes wait for the task.
/// [`flush`](Self::flush) waits until everything is written. Once the connection is closing
/// or over, sends fail with [`SendError::Closed`]; the read half reports how it ended.
pub struct WriteHalf<I, T> {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared<I, T>>,
    /// The answer to the flush or close that [`Sink`](futures_sink::Sink) is waiting for.
    written: Option<oneshot::Receiver<Result<(), SocketError>>>,
}

impl<I, T> fmt::Debug for ReadHalf<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf").field("ended", &self.ended).finish_non_exhaustive()
    }
}

impl<I, T> fmt::Debug for WriteHalf<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = self.shared.open.load(Ordering::Acquire);
        f.debug_struct("WriteHalf").field("open", &open).finish_non_exhaustive()
    }
}

impl<I, T> ReadHalf<I, T> {
    /// The next message, as [`WebSocket::recv`]: `Ok(None)` after a clean close, the error
    /// that ended the connection otherwise. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<Message>, SocketError> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Message>, SocketError>> {
        if !self.ended {
            match ready!(Pin::new(&mut self.received).poll_next(cx)) {
                Some(received) => {
                    if let Ok(message) = &received {
                        self.shared.to_read.take(message);
                    }
                    return Poll::Ready(received.map(Some));
                }
                None => self.ended = true,
            }
        }
        Poll::Ready(self.shared.ending().map(|()| None))
    }

    /// How the connection ended, once it has.
    pub fn close_outcome(&self) -> Option<CloseOutcome> {
        self.shared.outcome.get().cloned()
    }
}

impl<I: AsyncIo, T: AsyncTimer> ReadHalf<I, T> {
    /// Puts the halves back together: stops their task and returns the socket, with any
    /// messages the read half had not taken yet. Fails, handing them back, for halves of
    /// different sockets. Not cancel-safe: dropped, the halves and the connection are dropped.
    pub async fn reunite(self, write: WriteHalf<I, T>) -> Result<WebSocket<I, T>, ReuniteError<I, T>> {
        if !Arc::ptr_eq(&self.shared, &write.shared) {
            return Err(ReuniteError(self, write));
        }
        let (ack, stopped) = oneshot::channel();
        // Fails only if the task has stopped already, the driver parked.
        if write.commands.unbounded_send(Command::Reunite(ack)).is_ok() {
            let _ = stopped.await;
        }
        let parked = self.shared.parked.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(driver) = parked else {
            return Err(ReuniteError(self, write));
        };
        let mut read = self;
        let mut unread = VecDeque::new();
        while let Ok(received) = read.received.try_recv() {
            unread.push_back(received);
        }
        Ok(WebSocket::from_parts(driver, unread))
    }
}

impl<I, T> Drop for ReadHalf<I, T> {
    fn drop(&mut self) {
        self.shared.read_half_gone.store(true, Ordering::Release);
        self.shared.to_read.waiter.wake();
    }
}

impl<I, T> Stream for ReadHalf<I, T> {
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

impl<I, T> WriteHalf<I, T> {
    /// Queues a message for the task; waits only while the queue is full. Cancel-safe: a
    /// dropped `send` queued the whole message or nothing.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), SocketError> {
        let message = message.into();
        poll_fn(|cx| self.poll_room(cx)).await?;
        self.start_send(message)
    }

    /// Ready when a message may be queued.
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        if self.shared.to_write.poll_room(cx).is_pending() {
            // The task wakes this half when it stops, too.
            if self.shared.open.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
        if !self.shared.open.load(Ordering::Acquire) {
            return Poll::Ready(self.shared.refused());
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(&mut self, message: Message) -> Result<(), SocketError> {
        if !self.shared.open.load(Ordering::Acquire) {
            return self.shared.refused();
        }
        self.shared.to_write.add(&message);
        match self.commands.unbounded_send(Command::Send(message)) {
            Ok(()) => Ok(()),
            Err(_) => self.shared.refused(),
        }
    }

    /// Sends a ping (at most 125 bytes) and waits until it is written. Cancel-safe: dropped,
    /// the ping may still go out.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), SocketError> {
        if payload.len() > 125 {
            return Err(SendError::ControlPayloadTooLong.into());
        }
        let payload = Bytes::copy_from_slice(payload);
        self.until_written(|ack| Command::Ping(payload, ack), Shared::refused).await
    }

    /// Waits until every message queued so far is written. Cancel-safe: dropping it only
    /// stops the wait.
    pub async fn flush(&mut self) -> Result<(), SocketError> {
        self.until_written(Command::Flush, Shared::refused).await
    }

    /// Starts the close handshake and waits until the close frame is written; the read half
    /// sees the handshake finish (`recv` gives `Ok(None)`). Once the close has started, does
    /// nothing more; once the connection is over, gives how it ended, as `recv` does.
    /// Cancel-safe: dropped, the close may still go out; called again, it sends no second.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SocketError> {
        let reason = reason.to_owned();
        self.until_written(|ack| Command::Close(code, reason, ack), Shared::ending).await
    }

    /// How the connection ended, once it has.
    pub fn close_outcome(&self) -> Option<CloseOutcome> {
        self.shared.outcome.get().cloned()
    }

    /// Runs a command that answers once written; `if_stopped` says what a stopped task means.
    async fn until_written(
        &mut self,
        command: impl FnOnce(Ack) -> Command,
        if_stopped: fn(&Shared<I, T>) -> Result<(), SocketError>,
    ) -> Result<(), SocketError> {
        match self.command(command) {
            Some(written) => written.await.unwrap_or_else(|_| if_stopped(&self.shared)),
            None => if_stopped(&self.shared),
        }
    }

    /// Sends a command that answers; `None` once the task has stopped.
    fn command(
        &self,
        command: impl FnOnce(Ack) -> Command,
    ) -> Option<oneshot::Receiver<Result<(), SocketError>>> {
        let (ack, written) = oneshot::channel();
        self.commands.unbounded_send(command(ack)).ok()?;
        Some(written)
    }

    /// The `Sink`'s form of [`until_written`](Self::until_written).
    fn poll_written(
        &mut self,
        cx: &mut Context<'_>,
        command: impl FnOnce(Ack) -> Command,
        if_stopped: fn(&Shared<I, T>) -> Result<(), SocketError>,
    ) -> Poll<Result<(), SocketError>> {
        let written = match self.written.take().or_else(|| self.command(command)) {
            Some(written) => self.written.insert(written),
            None => return Poll::Ready(if_stopped(&self.shared)),
        };
        let result = ready!(Pin::new(written).poll(cx));
        self.written = None;
        Poll::Ready(result.unwrap_or_else(|_| if_stopped(&self.shared)))
    }
}

impl<I, T> futures_sink::Sink<Message> for WriteHalf<I, T> {
    type Error = SocketError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        self.get_mut().poll_room(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), SocketError> {
        self.get_mut().start_send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        self.get_mut().poll_written(cx, Command::Flush, Shared::refused)
    }

    /// Starts the close handshake with 1000 (if not started) and waits until it is written.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        let close = |ack| Command::Close(CloseCode::NORMAL, String::new(), ack);
        self.get_mut().poll_written(cx, close, Shared::ending)
    }
}

/// Halves of two different sockets, handed back by [`ReadHalf::reunite`].
pub struct ReuniteError<I, T>(pub ReadHalf<I, T>, pub WriteHalf<I, T>);

impl<I, T> fmt::Debug for ReuniteError<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuniteError").field(&self.0).field(&self.1).finish()
    }
}

impl<I, T> fmt::Display for ReuniteError<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the halves belong to different sockets")
    }
}

impl<I, T> std::error::Error for ReuniteError<I, T> {}
