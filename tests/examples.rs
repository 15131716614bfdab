//! The echo examples as programs, per runtime: the echo server's routes and its WebSocket
//! endpoint, driven by the crate's clients and by raw sockets; the echo client against small
//! servers written here, judged by what it sends and by its exit status.
//!
//! The binaries are the ones `cargo test` builds beside this test
//! (`target/<profile>/examples/`): `cargo test --all-features` builds the examples with the
//! tests. After `cargo test --test examples` alone, build them first with
//! `cargo build --examples --all-features`; a binary older than its source fails the test.
#![cfg(all(feature = "blocking", feature = "tokio", feature = "async-std"))]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, Bytes};
use support::raw::{self, header, read_head};
use support::{join, within};
use wsproto::handshake::{Accept, ClientRequest, ServerHandshake};
use wsproto::{CloseCode, Config, Connection, DataKind, Event, Initiator, Message, Role};

const RUNTIMES: [&str; 3] = ["blocking", "tokio", "async-std"];
/// The longest any test here may take.
const LIMIT: Duration = Duration::from_secs(60);
/// How long a socket read may block before the test fails.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The element ids the browser test and other tools drive the page by (DESIGN.md §3).
const PAGE_IDS: [&str; 7] = ["url", "connect", "message", "send", "close", "log", "status"];

// ------------------------------------------------------------------ the example binaries

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> SystemTime {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries.flatten().fold(SystemTime::UNIX_EPOCH, |latest, entry| {
        let path = entry.path();
        let time =
            if path.is_dir() { newest(&path) } else { entry.metadata().and_then(|m| m.modified()).unwrap() };
        latest.max(time)
    })
}

/// The path of an example binary built by `cargo test`, checked to be newer than its sources
/// and the library's.
fn example(name: &str, sources: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let path = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or_else(|e| {
        panic!("{}: {e}; run `cargo build --examples --all-features` (or plain `cargo test`)", path.display())
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let library = root.join("src");
    let sources = sources.iter().map(|source| root.join("examples").join(source));
    for source in sources.chain([library]) {
        let changed = if source.is_dir() {
            newest(&source)
        } else {
            std::fs::metadata(&source).unwrap().modified().unwrap()
        };
        assert!(
            changed <= built,
            "{} is older than {}; run `cargo build --examples --all-features` (or plain `cargo test`)",
            path.display(),
            source.display()
        );
    }
    path
}

fn echo_server_binary() -> PathBuf {
    example("echo-server", &["echo-server.rs", "echo_page.html"])
}

fn echo_client_binary() -> PathBuf {
    example("echo-client", &["echo-client.rs"])
}

/// Waits for a child process to exit, killing it and failing the test after `limit`.
fn wait_for_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("child status") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the example did not exit within {limit:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A running echo-server on an ephemeral loopback port, killed on drop.
struct EchoServer {
    child: Child,
    addr: SocketAddr,
    /// Kept open: the server's stdout must not become a broken pipe.
    _stdout: BufReader<ChildStdout>,
}

impl EchoServer {
    /// Starts the server on `127.0.0.1:0` and reads the port from the first URL it prints.
    fn start(runtime: &str) -> Self {
        let mut child = Command::new(echo_server_binary())
            .args(["--addr", "127.0.0.1:0", "--runtime", runtime])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start echo-server");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("echo-server prints its URL");
        let url = line.split_whitespace().find_map(|word| word.strip_prefix("http://"));
        let addr = url.and_then(|u| u.strip_suffix('/')?.parse().ok()).unwrap_or_else(|| {
            panic!("echo-server printed {line:?}, not its URL (built without the {runtime} feature?)")
        });
        Self { child, addr, _stdout: stdout }
    }

    fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a request head with `extra` header lines and reads the response to the end of the
/// stream (the server closes after answering): status, head, body.
fn http(addr: SocketAddr, request_line: &str, extra: &str) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connect to echo-server");
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    write!(stream, "{request_line}\r\nHost: {addr}\r\n{extra}\r\n").unwrap();
    let (head, mut body) = read_head(&mut stream).expect("a response head");
    stream.read_to_end(&mut body).expect("the server closes after its response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{head}"));
    (status, head, body)
}

const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

// ------------------------------------------------------------------ echo-server: HTTP

#[test]
fn echo_server_serves_the_page_with_the_element_ids_tools_drive_it_by() {
    within(LIMIT, || {
        for runtime in RUNTIMES {
            let server = EchoServer::start(runtime);
            let (status, head, body) = http(server.addr, "GET / HTTP/1.1", "");
            assert_eq!(status, 200, "{runtime}: {head}");
            assert!(header(&head, "Content-Type").is_some_and(|t| t.starts_with("text/html")), "{head}");
            assert_eq!(header(&head, "Content-Length"), Some(body.len().to_string().as_str()), "{head}");
            assert_eq!(header(&head, "Connection"), Some("close"), "{head}");
            let page = String::from_utf8(body).expect("the page is UTF-8");
            for id in PAGE_IDS {
                assert!(page.contains(&format!("id=\"{id}\"")), "{runtime}: no element with id {id:?}");
            }
            assert!(page.contains("location.host"), "the URL box is derived from the page's host");
        }
    });
}

#[test]
fn echo_server_answers_404_to_every_other_path_upgrade_or_not() {
    within(LIMIT, || {
        for runtime in RUNTIMES {
            let server = EchoServer::start(runtime);
            for path in ["/nope", "/ws/", "/wsx", "/index.html"] {
                let (status, head, _) = http(server.addr, &format!("GET {path} HTTP/1.1"), "");
                assert_eq!(status, 404, "{runtime} {path}: {head}");
                let (status, head, _) = http(server.addr, &format!("GET {path} HTTP/1.1"), UPGRADE);
                assert_eq!(status, 404, "{runtime} upgrade to {path}: {head}");
            }
            let (status, head, _) = http(server.addr, "GET / HTTP/1.1", UPGRADE);
            assert_eq!(status, 404, "{runtime} upgrade to /: {head}");
            let (status, head, _) = http(server.addr, "POST / HTTP/1.1", "Content-Length: 0\r\n");
            assert_eq!(status, 405, "{runtime}: {head}");
        }
    });
}

#[test]
fn echo_server_answers_a_plain_get_of_the_endpoint_with_426_and_a_bad_upgrade_with_400() {
    within(LIMIT, || {
        for runtime in RUNTIMES {
            let server = EchoServer::start(runtime);
            let (status, head, _) = http(server.addr, "GET /ws HTTP/1.1", "");
            assert_eq!(status, 426, "{runtime}: {head}");
            assert_eq!(header(&head, "Upgrade"), Some("websocket"), "{head}");
            assert_eq!(header(&head, "Sec-WebSocket-Version"), Some("13"), "{head}");
            let bad_key = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
                Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n";
            let (status, head, _) = http(server.addr, "GET /ws HTTP/1.1", bad_key);
            assert_eq!(status, 400, "{runtime}: {head}");
        }
    });
}

#[test]
fn echo_server_answers_a_request_head_over_16_kib_with_431() {
    within(LIMIT, || {
        for runtime in RUNTIMES {
            let server = EchoServer::start(runtime);
            let filler = format!("X-Filler: {}\r\n", "a".repeat(17 << 10));
            let (status, head, _) = http(server.addr, "GET /ws HTTP/1.1", &filler);
            assert_eq!(status, 431, "{runtime}: {head}");
        }
    });
}

// ------------------------------------------------------------------ echo-server: WebSocket

/// What every client sends and expects back: multi-byte UTF-8, every byte value, empties.
fn messages() -> Vec<Message> {
    vec![
        Message::from("héllo ✓ 🦀"),
        Message::Binary((0..=255u8).collect::<Vec<u8>>().into()),
        Message::from(""),
        Message::Binary(Bytes::new()),
        Message::Binary(vec![0xA5; 3 << 20].into()),
    ]
}

fn request(url: &str, chat: bool) -> ClientRequest {
    let request = ClientRequest::new(url).expect("a valid URL");
    if chat { request.protocol("superchat").unwrap().protocol("chat").unwrap() } else { request }
}

/// Allows messages as large as the server's limit.
fn client_config() -> Config {
    Config::default().max_message_size(64 << 20).max_frame_size(64 << 20)
}

fn blocking_round_trip(url: &str, chat: bool, messages: &[Message]) {
    use wsproto::blocking::{Options, connect_with};
    let mut ws = connect_with(request(url, chat), &Options::default().config(client_config())).unwrap();
    assert_eq!(ws.info().protocol.as_deref(), chat.then_some("chat"));
    for message in messages {
        ws.send(message.clone()).unwrap();
        assert_eq!(ws.recv().unwrap().as_ref(), Some(message));
    }
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(ws.recv().unwrap(), None);
    let outcome = ws.close_outcome().expect("closed");
    assert!(outcome.is_clean(), "{outcome:?}");
    assert_eq!(outcome.code, CloseCode::NORMAL);
}

macro_rules! async_round_trip {
    ($name:ident, $module:path) => {
        async fn $name(url: &str, chat: bool, messages: &[Message]) {
            use $module::{Options, connect_with};
            let mut ws =
                connect_with(request(url, chat), &Options::default().config(client_config())).await.unwrap();
            assert_eq!(ws.info().protocol.as_deref(), chat.then_some("chat"));
            for message in messages {
                ws.send(message.clone()).await.unwrap();
                assert_eq!(ws.recv().await.unwrap().as_ref(), Some(message));
            }
            ws.close(CloseCode::NORMAL, "bye").await.unwrap();
            let outcome = ws.close_outcome().expect("closed");
            assert!(outcome.is_clean(), "{outcome:?}");
            assert_eq!(outcome.code, CloseCode::NORMAL);
        }
    };
}

async_round_trip!(tokio_round_trip, wsproto::tokio);
async_round_trip!(futures_round_trip, wsproto::futures_io);

#[test]
fn echo_server_echoes_text_and_binary_and_selects_chat_for_every_client_runtime() {
    within(LIMIT, || {
        let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for runtime in RUNTIMES {
            let server = EchoServer::start(runtime);
            let url = server.ws_url();
            for chat in [true, false] {
                blocking_round_trip(&url, chat, &messages());
                tokio.block_on(tokio_round_trip(&url, chat, &messages()));
                async_std::task::block_on(futures_round_trip(&url, chat, &messages()));
            }
        }
    });
}

#[test]
fn echo_server_echoes_a_64_mib_message() {
    within(LIMIT, || {
        let big = Message::Binary(vec![0x5A; 64 << 20].into());
        for runtime in RUNTIMES {
            let server = EchoServer::start(runtime);
            blocking_round_trip(&server.ws_url(), true, std::slice::from_ref(&big));
        }
    });
}

#[test]
fn echo_server_fails_a_frame_over_64_mib_with_1009_before_its_payload_arrives() {
    within(LIMIT, || {
        for runtime in RUNTIMES {
            let server = EchoServer::start(runtime);
            let (mut stream, rest) = raw::raw_client(server.addr);
            // A masked binary frame header announcing 64 MiB + 1 bytes; no payload follows.
            let mut header = vec![0x82, 0x80 | 127];
            header.extend_from_slice(&((64u64 << 20) + 1).to_be_bytes());
            header.extend_from_slice(&[1, 2, 3, 4]);
            stream.write_all(&header).unwrap();
            let reply = raw::read_to_eof(&mut stream, rest);
            assert!(reply.len() >= 4 && reply[0] == 0x88, "{runtime}: not a close frame: {reply:?}");
            assert_eq!(u16::from_be_bytes([reply[2], reply[3]]), 1009, "{runtime}");
        }
    });
}

// ------------------------------------------------------------------ echo-client

/// A server written with the sans-IO core over a blocking socket, to script the echo
/// client's peer and see every event, pongs included.
struct Peer {
    stream: TcpStream,
    conn: Connection,
}

impl Peer {
    /// Accepts one connection and completes the opening handshake.
    fn accept(listener: &TcpListener) -> Self {
        let (mut stream, _) = listener.accept().expect("the echo client connects");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let config = Config::default().max_message_size(16 << 20).max_frame_size(16 << 20);
        let now = Instant::now();
        let mut handshake = ServerHandshake::new(&config, now);
        let mut buf = [0; 4096];
        loop {
            let n = stream.read(&mut buf).expect("the upgrade request");
            assert!(n > 0, "the echo client hung up during the handshake");
            if handshake.receive(&buf[..n]).unwrap().is_some() {
                break;
            }
        }
        stream.write_all(&handshake.accept(&Accept::new()).unwrap()).unwrap();
        let mut conn = Connection::new(Role::Server, config, now);
        conn.receive(now, &handshake.take_trailing()).unwrap();
        Self { stream, conn }
    }

    fn flush(&mut self) {
        while self.conn.outgoing().has_remaining() {
            let out = self.conn.outgoing();
            let n = self.stream.write(out.chunk()).expect("write to the echo client");
            out.advance(n);
        }
        if self.conn.wants_shutdown() {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }

    /// The next event, reading as needed; answers go out on the way.
    fn next_event(&mut self) -> Event {
        let mut buf = [0; 64 << 10];
        loop {
            self.flush();
            if let Some(event) = self.conn.poll_event() {
                self.flush();
                return event;
            }
            match self.stream.read(&mut buf).expect("the echo client's bytes") {
                0 => self.conn.receive_eof(Instant::now()),
                n => self.conn.receive(Instant::now(), &buf[..n]).unwrap(),
            }
        }
    }
}

fn spawn_echo_client(args: &[&str]) -> Child {
    Command::new(echo_client_binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start echo-client")
}

/// Waits for the echo client to exit; its exit code and what it wrote to stderr.
fn exit_of(mut client: Child) -> (Option<i32>, String) {
    let status = wait_for_exit(&mut client, READ_TIMEOUT);
    let mut stderr = String::new();
    client.stderr.take().expect("piped stderr").read_to_string(&mut stderr).expect("stderr");
    (status.code(), stderr)
}

fn loopback() -> (TcpListener, String) {
    let (listener, addr) = raw::loopback();
    (listener, format!("ws://{addr}/echo"))
}

#[test]
fn echo_client_echoes_messages_answers_pings_and_exits_0_after_the_servers_close() {
    within(LIMIT, || {
        for runtime in RUNTIMES {
            let (listener, url) = loopback();
            let client = spawn_echo_client(&[&url, "--runtime", runtime]);
            let mut peer = Peer::accept(&listener);
            let big: Bytes = (0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into();
            peer.conn.send_text("héllo ✓").unwrap();
            peer.flush();
            peer.conn.send_binary(big.clone()).unwrap();
            peer.flush();
            peer.conn.send_ping(b"are you there?").unwrap();
            // A message in three frames comes back whole.
            peer.conn.send_fragment(DataKind::Text, "frag".as_bytes(), false).unwrap();
            peer.conn.send_fragment(DataKind::Text, "ment".as_bytes(), false).unwrap();
            peer.conn.send_fragment(DataKind::Text, "ed ✓".as_bytes(), true).unwrap();
            peer.flush();

            let mut expected = vec![
                Event::Message(Message::from("héllo ✓")),
                Event::Message(Message::Binary(big)),
                Event::Pong(Bytes::from_static(b"are you there?")),
                Event::Message(Message::from("fragmented ✓")),
            ];
            while !expected.is_empty() {
                let event = peer.next_event();
                let Some(at) = expected.iter().position(|e| *e == event) else {
                    panic!("{runtime}: unexpected {event:?}, waiting for {expected:?}")
                };
                assert_eq!(expected.remove(at), event);
            }

            peer.conn.close(Instant::now(), CloseCode::NORMAL, "done").unwrap();
            let Event::Closed(outcome) = peer.next_event() else { panic!("{runtime}: no close") };
            assert!(outcome.is_clean(), "{runtime}: {outcome:?}");
            assert_eq!((outcome.code, outcome.initiator), (CloseCode::NORMAL, Initiator::Local), "{runtime}");
            drop(peer);
            assert_eq!(exit_of(client), (Some(0), String::new()), "{runtime}");
        }
    });
}

/// Runs the echo client against a server that answers the upgrade with `response`; returns
/// the client's exit code, its stderr, and every byte it sent after its request.
fn refused(
    runtime: &str,
    response: impl Fn(&str) -> String + Send + 'static,
) -> (Option<i32>, String, Vec<u8>) {
    let (listener, url) = loopback();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the echo client connects");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let (head, rest) = read_head(&mut stream).unwrap();
        let key = header(&head, "Sec-WebSocket-Key").unwrap_or_default().to_owned();
        stream.write_all(response(&key).as_bytes()).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        raw::read_to_eof(&mut stream, rest)
    });
    let (code, stderr) = exit_of(spawn_echo_client(&[&url, "--runtime", runtime]));
    (code, stderr, join(server))
}

#[test]
fn echo_client_exits_nonzero_and_sends_nothing_when_the_server_refuses_with_403() {
    within(LIMIT, || {
        for runtime in RUNTIMES {
            let (code, stderr, sent) = refused(runtime, |_| {
                "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
            });
            assert_eq!(code, Some(1), "{runtime}: {stderr}");
            assert!(stderr.contains("403"), "{runtime}: {stderr}");
            assert!(sent.is_empty(), "{runtime}: sent {sent:?} after a refused handshake");
        }
    });
}

#[test]
fn echo_client_exits_nonzero_and_sends_nothing_when_the_accept_key_is_wrong() {
    within(LIMIT, || {
        for runtime in RUNTIMES {
            let (code, stderr, sent) = refused(runtime, |key| {
                let wrong = wsproto::handshake::accept_key(format!("{key}x").as_bytes());
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Accept: {wrong}\r\n\r\n"
                )
            });
            assert_eq!(code, Some(1), "{runtime}: {stderr}");
            assert!(stderr.contains("Sec-WebSocket-Accept"), "{runtime}: {stderr}");
            assert!(sent.is_empty(), "{runtime}: sent {sent:?} after an invalid handshake");
        }
    });
}

#[test]
fn echo_client_exits_nonzero_when_the_connection_ends_without_a_close_handshake() {
    within(LIMIT, || {
        for runtime in RUNTIMES {
            let (listener, url) = loopback();
            let client = spawn_echo_client(&[&url, "--runtime", runtime]);
            let mut peer = Peer::accept(&listener);
            peer.conn.send_text("one").unwrap();
            assert_eq!(peer.next_event(), Event::Message(Message::from("one")), "{runtime}");
            drop(peer);
            let (code, stderr) = exit_of(client);
            assert_eq!(code, Some(1), "{runtime}: {stderr}");
            assert!(stderr.contains("1006"), "{runtime}: {stderr}");
        }
    });
}

#[test]
fn echo_client_exits_2_without_a_url_or_with_an_unknown_runtime() {
    within(LIMIT, || {
        for args in
            [&[][..], &["ws://127.0.0.1:9/", "--runtime", "nope"], &["ws://127.0.0.1:9/", "--runtime"]]
        {
            let (code, stderr) = exit_of(spawn_echo_client(args));
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains("usage") || stderr.contains("not compiled in"), "{args:?}: {stderr}");
        }
    });
}
