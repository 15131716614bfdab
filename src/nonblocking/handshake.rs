//! The opening handshake over any async transport, with its deadline on the runtime's timer.

use std::future::{Future, poll_fn};
use std::io;
use std::task::Poll;
use std::time::Instant;

use super::driver::{AsyncDriver, AsyncIo, AsyncTimer};
use crate::config::Config;
use crate::connection::{Connection, Role};
use crate::handshake::{Accept, ClientHandshake, ClientRequest, HandshakeError, Request, ServerHandshake};
use crate::info::Info;
use crate::socket_error::SocketError;

const HANDSHAKE_READ: usize = 4096;

/// Runs the client handshake on a connected transport.
pub(crate) async fn client<I: AsyncIo, T: AsyncTimer>(
    mut io: I,
    request: ClientRequest,
    config: Config,
) -> Result<AsyncDriver<I, T>, SocketError> {
    let mut handshake = ClientHandshake::new(request, &config, Instant::now());
    let mut timer = Deadline::<T>::new(handshake.poll_timeout());
    timer.write_all(&mut io, handshake.request_bytes()).await?;
    let mut buf = [0u8; HANDSHAKE_READ];
    let response = loop {
        let n = timer.read(&mut io, &mut buf).await?;
        if let Some(response) = handshake.receive(&buf[..n])? {
            break response;
        }
    };
    let info = Info { protocol: response.protocol, extensions: response.extensions, ..Info::default() };
    let mut driver = AsyncDriver::new(io, Connection::new(Role::Client, config, Instant::now()), info);
    driver.receive_initial(&response.trailing);
    Ok(driver)
}

/// Runs the server handshake; `decide` sees the request and accepts it or answers a status.
pub(crate) async fn server<I, T, F, Fut>(
    mut io: I,
    config: Config,
    decide: F,
) -> Result<AsyncDriver<I, T>, SocketError>
where
    I: AsyncIo,
    T: AsyncTimer,
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Accept, u16>>,
{
    let mut handshake = ServerHandshake::new(&config, Instant::now());
    let mut timer = Deadline::<T>::new(handshake.poll_timeout());
    let mut buf = [0u8; HANDSHAKE_READ];
    let request = loop {
        let n = timer.read(&mut io, &mut buf).await?;
        match handshake.receive(&buf[..n]) {
            Ok(Some(request)) => break request,
            Ok(None) => {}
            Err(error) => {
                if let Some(response) = error.response() {
                    // The peer may be gone already; the handshake error is what matters.
                    let _ = timer.write_all(&mut io, &response).await;
                }
                return Err(SocketError::Handshake(error));
            }
        }
    };
    // The application's decision counts against the handshake's deadline too.
    let mut decision = std::pin::pin!(decide(request));
    let decided = poll_fn(|cx| {
        if timer.timer.poll_at(cx, timer.at).is_ready() {
            return Poll::Ready(Err(SocketError::Handshake(HandshakeError::Timeout)));
        }
        decision.as_mut().poll(cx).map(Ok)
    })
    .await?;
    let accept = match decided {
        Ok(accept) => accept,
        Err(status) => {
            let _ = timer.write_all(&mut io, &handshake.reject(status, "")).await;
            return Err(SocketError::Rejected(status));
        }
    };
    let response = match handshake.accept(&accept) {
        Ok(response) => response,
        Err(error) => {
            // The application chose a subprotocol or extension the client did not offer.
            let _ = timer.write_all(&mut io, &handshake.reject(500, "")).await;
            return Err(SocketError::Handshake(error));
        }
    };
    timer.write_all(&mut io, &response).await?;
    let info = Info { protocol: accept.selected_protocol().map(str::to_owned), ..Info::default() };
    let trailing = handshake.take_trailing();
    let mut driver = AsyncDriver::new(io, Connection::new(Role::Server, config, Instant::now()), info);
    driver.receive_initial(&trailing);
    Ok(driver)
}

/// I/O that fails with [`HandshakeError::Timeout`] once the handshake's deadline passes.
struct Deadline<T> {
    timer: T,
    at: Instant,
}

impl<T: AsyncTimer> Deadline<T> {
    fn new(at: Instant) -> Self {
        Self { timer: T::new(), at }
    }

    async fn read<I: AsyncIo>(&mut self, io: &mut I, buf: &mut [u8]) -> Result<usize, SocketError> {
        let n = poll_fn(|cx| {
            if self.timer.poll_at(cx, self.at).is_ready() {
                return Poll::Ready(Err(SocketError::Handshake(HandshakeError::Timeout)));
            }
            io.poll_read(cx, buf).map_err(SocketError::Io)
        })
        .await?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        Ok(n)
    }

    async fn write_all<I: AsyncIo>(&mut self, io: &mut I, mut bytes: &[u8]) -> Result<(), SocketError> {
        poll_fn(|cx| {
            if self.timer.poll_at(cx, self.at).is_ready() {
                return Poll::Ready(Err(SocketError::Handshake(HandshakeError::Timeout)));
            }
            while !bytes.is_empty() {
                match io.poll_write_vectored(cx, &[io::IoSlice::new(bytes)]) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()));
                    }
                    Poll::Ready(Ok(n)) => bytes = &bytes[n..],
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                    Poll::Pending => return Poll::Pending,
                }
            }
            io.poll_flush(cx).map_err(SocketError::Io)
        })
        .await
    }
}
