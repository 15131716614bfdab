//! Opening a blocking connection: `connect` (DNS, TCP, TLS, client handshake) and `accept`
//! (server handshake with the application's decision).

use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::socket::Driver;
use super::{ByteStream, MaybeTls, Options, Transport, WebSocket};
use crate::config::{Config, Delivery};
use crate::connection::{Connection, Role};
use crate::handshake::{Accept, ClientHandshake, ClientRequest, HandshakeError, Request, ServerHandshake};
use crate::info::Info;
use crate::socket_error::SocketError;

const HANDSHAKE_READ: usize = 4096;
const MIN_WAIT: Duration = Duration::from_millis(1);

/// Connects to a `ws://` or `wss://` URL with the default [`Options`].
pub fn connect(url: &str) -> Result<WebSocket<MaybeTls>, SocketError> {
    connect_with(ClientRequest::new(url)?, &Options::default())
}

/// Connects with a prepared request (subprotocols, extra headers) and options.
///
/// Resolves the host, tries up to [`Options::max_addresses`] addresses in order, each within
/// [`Options::connect_timeout`], then runs TLS (for `wss://`) and the opening handshake
/// within [`Config::handshake_timeout`]. A server that answers with another status than 101
/// gives an error whose [`SocketError::status`] is that status.
pub fn connect_with(request: ClientRequest, options: &Options) -> Result<WebSocket<MaybeTls>, SocketError> {
    Ok(WebSocket::from_driver(client(request, options, Delivery::Messages)?))
}

/// Like [`connect_with`], for a [`ByteStream`] (fragment delivery: no message size limit).
pub fn connect_stream(
    request: ClientRequest,
    options: &Options,
) -> Result<ByteStream<MaybeTls>, SocketError> {
    Ok(ByteStream::from_driver(client(request, options, Delivery::Fragments)?))
}

/// Accepts every WebSocket request on `stream` with the default [`Options`].
pub fn accept<S: Transport>(stream: S) -> Result<WebSocket<S>, SocketError> {
    accept_with(stream, &Options::default(), |_| Ok(Accept::new()))
}

/// Runs the server handshake on `stream`; `decide` sees the request (path, origin,
/// subprotocols, headers) and accepts it, or rejects it with an HTTP status (403, 404, ...).
///
/// A malformed request is answered with the matching error status (400, 405, 414, 426, 431)
/// and returned as an error; so is a rejected one.
pub fn accept_with<S, F>(stream: S, options: &Options, decide: F) -> Result<WebSocket<S>, SocketError>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<Accept, u16>,
{
    Ok(WebSocket::from_driver(server(stream, options, Delivery::Messages, decide)?))
}

/// Like [`accept_with`], for a [`ByteStream`] (fragment delivery: no message size limit).
pub fn accept_stream<S, F>(stream: S, options: &Options, decide: F) -> Result<ByteStream<S>, SocketError>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<Accept, u16>,
{
    Ok(ByteStream::from_driver(server(stream, options, Delivery::Fragments, decide)?))
}

fn client(
    request: ClientRequest,
    options: &Options,
    delivery: Delivery,
) -> Result<Driver<MaybeTls>, SocketError> {
    let config = Config { delivery, ..options.config.clone() };
    let tcp = connect_tcp(request.url().host(), request.url().port(), options)?;
    let mut stream = if request.url().is_secure() {
        wrap_tls(tcp, request.url().host(), options)?
    } else {
        MaybeTls::Plain(tcp)
    };
    let mut handshake = ClientHandshake::new(request, &config, Instant::now());
    let deadline = handshake.poll_timeout();
    stream.set_read_timeout(Some(remaining(deadline)?))?;
    stream.write_all(handshake.request_bytes()).map_err(|e| timeout_or_io(e, "handshake"))?;
    stream.flush()?;
    let response = read_until(&mut stream, deadline, |bytes| handshake.receive(bytes))?;
    let info = Info { protocol: response.protocol, extensions: response.extensions, ..Info::default() };
    let mut driver = Driver::new(stream, Connection::new(Role::Client, config, Instant::now()), info);
    driver.receive_initial(&response.trailing);
    Ok(driver)
}

fn server<S, F>(
    mut stream: S,
    options: &Options,
    delivery: Delivery,
    decide: F,
) -> Result<Driver<S>, SocketError>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<Accept, u16>,
{
    let config = Config { delivery, ..options.config.clone() };
    let mut handshake = ServerHandshake::new(&config, Instant::now());
    let deadline = handshake.poll_timeout();
    let request = match read_until(&mut stream, deadline, |bytes| handshake.receive(bytes)) {
        Ok(request) => request,
        Err(SocketError::Handshake(error)) => {
            if let Some(response) = error.response() {
                // The peer may be gone already; the handshake error is what matters.
                let _ = stream.write_all(&response).and_then(|()| stream.flush());
            }
            let _ = stream.shutdown_write();
            return Err(SocketError::Handshake(error));
        }
        Err(other) => return Err(other),
    };
    let accept = match decide(&request) {
        Ok(accept) => accept,
        Err(status) => {
            let _ = stream.write_all(&handshake.reject(status, "")).and_then(|()| stream.flush());
            let _ = stream.shutdown_write();
            return Err(SocketError::Rejected(status));
        }
    };
    let response = match handshake.accept(&accept) {
        Ok(response) => response,
        Err(error) => {
            // The application chose a subprotocol or extension the client did not offer.
            let _ = stream.write_all(&handshake.reject(500, "")).and_then(|()| stream.flush());
            let _ = stream.shutdown_write();
            return Err(SocketError::Handshake(error));
        }
    };
    stream.write_all(&response).map_err(|e| timeout_or_io(e, "handshake"))?;
    stream.flush()?;
    let info = Info { protocol: accept.selected_protocol().map(str::to_owned), ..Info::default() };
    let trailing = handshake.take_trailing();
    let mut driver = Driver::new(stream, Connection::new(Role::Server, config, Instant::now()), info);
    driver.receive_initial(&trailing);
    Ok(driver)
}

/// Reads into a handshake until it completes, fails, or the deadline passes.
fn read_until<S, T>(
    stream: &mut S,
    deadline: Instant,
    mut receive: impl FnMut(&[u8]) -> Result<Option<T>, HandshakeError>,
) -> Result<T, SocketError>
where
    S: Transport,
{
    let mut buf = [0u8; HANDSHAKE_READ];
    loop {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        match stream.read(&mut buf) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => {
                if let Some(done) = receive(&buf[..n])? {
                    return Ok(done);
                }
            }
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

fn remaining(deadline: Instant) -> Result<Duration, SocketError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(SocketError::Handshake(HandshakeError::Timeout));
    }
    Ok(left.max(MIN_WAIT))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

fn timeout_or_io(e: io::Error, what: &'static str) -> SocketError {
    if is_timeout(&e) { SocketError::Timeout(what) } else { SocketError::Io(e) }
}

/// Resolves and connects, trying up to `max_addresses` addresses in order.
fn connect_tcp(host: &str, port: u16, options: &Options) -> Result<TcpStream, SocketError> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()?.take(options.max_addresses.max(1)) {
        match TcpStream::connect_timeout(&addr, options.connect_timeout) {
            Ok(stream) => {
                stream.set_nodelay(options.nodelay)?;
                return Ok(stream);
            }
            Err(e) => last = Some(timeout_or_io(e, "connect")),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address for host").into()))
}

#[cfg(feature = "rustls")]
fn wrap_tls(tcp: TcpStream, host: &str, options: &Options) -> Result<MaybeTls, SocketError> {
    let conn = crate::tls::client_connection(host, options)?;
    Ok(MaybeTls::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
}

#[cfg(not(feature = "rustls"))]
fn wrap_tls(_: TcpStream, _: &str, _: &Options) -> Result<MaybeTls, SocketError> {
    Err(SocketError::Usage("wss:// needs the `rustls` feature"))
}
