//! Interoperability with real third-party peers: Python `websockets` and Node `ws`, in both
//! directions, through both the blocking and the tokio adapter.
//!
//! `scripts/interop.sh` installs the peers (a venv with the latest `websockets`; `ws` pinned by
//! `tests/interop/package-lock.json`), sets `INTEROP_PYTHON` (the venv's python) and
//! `INTEROP_NODE_DIR` (`tests/interop`, with `node_modules`; `INTEROP_NODE` may name the `node`
//! binary) and runs this file. Without those variables every test prints a line starting with
//! `INTEROP SKIPPED` and passes, so a plain `cargo test` needs neither Python nor Node; with
//! `INTEROP_REQUIRED=1` a missing peer fails the test instead.
//!
//! Each test runs one peer program (`tests/interop/peer.py` or `peer.js`) against one of our
//! adapters, as `client PORT` against our server or as `server` for our client. The client
//! opens one connection per case, on the path `/<case>`; the client offers the subprotocols
//! `chat` and `superchat`, the server selects `chat`, and both sides check they agree:
//!
//! - `echo`: the client sends text and binary messages of 0, 125, 126, 65535, 65536 bytes and
//!   16 MiB and multi-byte UTF-8 (2-, 3- and 4-byte characters, up to 1 MB), one at a time;
//!   the server echoes each; the client compares type and bytes, then closes with 1000.
//! - `pipeline`: the client sends 1000 messages (text and binary) without waiting, then reads
//!   the 1000 echoes and checks them in order; closes with 1000.
//! - `ping-peer`: the peer pings us with an empty, a short ASCII, a 125-byte and a UTF-8
//!   payload, one at a time, and checks each pong carries the ping's payload; then it closes
//!   with 1000.
//! - `ping-us`: we ping the peer, then send `pinged:<hex>`; the peer answers
//!   `seen:<hex of the ping its library received and answered>`. Our sockets do not surface
//!   pongs, so we check the pong by size: between the ping and that answer exactly one frame
//!   the size of the pong and the answer's frame arrive (`Connection::stats`), and the peer
//!   library vouches that the pong's payload is the ping's (RFC 6455 §5.5.2, and both peers
//!   pong by themselves). Then we send `done` and the peer closes with 1000.
//! - `close-peer`: the peer closes at once with 4000 "bye ✓"; we see that code and reason, a
//!   clean close started by the peer; the peer sees our answer echo 4000 (we echo the code
//!   only, with no reason, as RFC 6455 §5.5.1 allows; the peers do not check the reason).
//! - `close-us`: we close at once with 4000 "bye ✓"; the peer sees that code and reason; we see
//!   its answer (4000 "bye ✓", both peers echo the reason) and a clean close started by us.
//! - `fragments` (beyond the RFC's minimum, but what real peers do): the peer sends
//!   fragmented messages — Node splits text inside multi-byte characters and one byte per
//!   frame, Python one character per frame; an empty continuation frame; a ping between two
//!   fragments of a message — and checks our echoes and the pong. Our client echoes in frames
//!   of `FRAGMENT` bytes, so the peers also reassemble text split inside characters.
//!
//! Both sides print one JSON line per check (ours on stdout, captured unless `--nocapture`);
//! a test fails on any failed check on either side, a peer exit status other than 0, or a
//! peer summary that does not list every case. Everything is on 127.0.0.1 with ports chosen by
//! the OS, and bounded: the peers give up after 30 s on any one step and 100 s in all, and the
//! test kills its peer after `LIMIT`.
#![cfg(all(feature = "blocking", feature = "tokio"))]

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wsproto::blocking::{self, Options, Transport};
use wsproto::handshake::{Accept, ClientRequest, Request};
use wsproto::nonblocking::AsyncIo;
use wsproto::{CloseCode, CloseOutcome, Config, Initiator, Message, SocketError};

/// The cases, in the order a client runs them; each is a connection on the path `/<case>`.
const CASES: [&str; 7] = ["echo", "pipeline", "ping-peer", "ping-us", "close-peer", "close-us", "fragments"];
/// The close reason both sides send with code 4000.
const BYE: &str = "bye ✓";
/// Sizes of the text and binary messages of the `echo` case.
const SIZES: [usize; 6] = [0, 125, 126, 65535, 65536, 16 << 20];
/// Ping payloads of the `ping-us` case.
const PING_PAYLOADS: [&[u8]; 4] = [b"", b"wsproto", &PING_125, "✓ 😀".as_bytes()];
const PING_125: [u8; 125] = {
    let mut payload = [0u8; 125];
    let mut i = 0;
    while i < 125 {
        payload[i] = i as u8;
        i += 1;
    }
    payload
};
/// Frame payload size of our client's echoes in the `fragments` case: odd, so that frames end
/// inside multi-byte characters.
const FRAGMENT: usize = 1021;
/// The longest one test may take before its peer is killed (the peers stop themselves at 100 s).
const LIMIT: Duration = Duration::from_secs(110);
/// How long a peer server may take to start listening.
const STARTUP: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------------------- the tests

#[test]
fn python_client_against_tokio_server() {
    server_test(Peer::Python, Adapter::Tokio);
}

#[test]
fn python_client_against_blocking_server() {
    server_test(Peer::Python, Adapter::Blocking);
}

#[test]
fn node_client_against_tokio_server() {
    server_test(Peer::Node, Adapter::Tokio);
}

#[test]
fn node_client_against_blocking_server() {
    server_test(Peer::Node, Adapter::Blocking);
}

#[test]
fn tokio_client_against_python_server() {
    client_test(Peer::Python, Adapter::Tokio);
}

#[test]
fn blocking_client_against_python_server() {
    client_test(Peer::Python, Adapter::Blocking);
}

#[test]
fn tokio_client_against_node_server() {
    client_test(Peer::Node, Adapter::Tokio);
}

#[test]
fn blocking_client_against_node_server() {
    client_test(Peer::Node, Adapter::Blocking);
}

// ------------------------------------------------------------------------------- the peers

#[derive(Clone, Copy, Debug)]
enum Peer {
    Python,
    Node,
}

#[derive(Clone, Copy, Debug)]
enum Adapter {
    Blocking,
    Tokio,
}

impl Peer {
    /// The command that runs the peer program, or `None` (after printing why) to skip.
    fn command(self, test: &str) -> Option<Command> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop");
        let (var, command) = match self {
            Self::Python => ("INTEROP_PYTHON", std::env::var_os("INTEROP_PYTHON").map(Command::new)),
            Self::Node => (
                "INTEROP_NODE_DIR",
                std::env::var_os("INTEROP_NODE_DIR").map(|node_dir| {
                    let node = std::env::var_os("INTEROP_NODE").unwrap_or_else(|| "node".into());
                    let mut command = Command::new(node);
                    command.current_dir(node_dir);
                    command
                }),
            ),
        };
        let Some(mut command) = command else {
            let message = format!("INTEROP SKIPPED: {test}: {var} is not set (scripts/interop.sh sets it)");
            if std::env::var("INTEROP_REQUIRED").is_ok_and(|v| v == "1") {
                panic!("{message}, and INTEROP_REQUIRED=1");
            }
            println!("{message}");
            return None;
        };
        command.arg(match self {
            Self::Python => format!("{dir}/peer.py"),
            Self::Node => format!("{dir}/peer.js"),
        });
        command.env("PYTHONUNBUFFERED", "1").env("PYTHONDONTWRITEBYTECODE", "1");
        Some(command)
    }
}

/// A running peer program: its stdout lines as they come, its stderr at the end.
struct Running {
    child: Arc<Mutex<Child>>,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: thread::JoinHandle<String>,
    started: Instant,
}

/// What a peer program did, once it exited.
struct Finished {
    status: Option<ExitStatus>,
    lines: Vec<String>,
    stderr: String,
}

fn spawn(mut command: Command, args: &[&str]) -> Running {
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the peer program");
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    Running { child: Arc::new(Mutex::new(child)), stdin, lines, stderr, started: Instant::now() }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Running {
    /// Waits for the `{"event":"listening","port":N}` line of a peer server.
    fn port(&self) -> u16 {
        let line = self.lines.recv_timeout(STARTUP).expect("the peer server's listening line");
        let port =
            line.split("\"port\":").nth(1).map(|rest| rest.trim_matches(|c: char| !c.is_ascii_digit()));
        port.and_then(|port| port.parse().ok()).unwrap_or_else(|| panic!("no port in {line:?}"))
    }

    /// Closes the peer's stdin (a peer server's signal to finish) and waits for it to exit;
    /// `None` if it was still running `LIMIT` after its start and was killed.
    fn finish(mut self) -> Finished {
        drop(self.stdin.take());
        let status = loop {
            let mut child = lock(&self.child);
            match child.try_wait() {
                Ok(Some(status)) if self.started.elapsed() < LIMIT => break Some(status),
                Ok(None) if self.started.elapsed() < LIMIT => {}
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
            drop(child);
            thread::sleep(Duration::from_millis(20));
        };
        let lines: Vec<String> = self.lines.iter().collect();
        for line in &lines {
            println!("{line}");
        }
        Finished { status, lines, stderr: self.stderr.join().unwrap_or_default() }
    }

    /// Kills the peer `LIMIT` after its start if it is still running then, so that the sockets
    /// our side may be blocked on end. Watches until the returned guard is dropped.
    fn watchdog(&self) -> Watchdog {
        let stop = Arc::new(AtomicBool::new(false));
        let (child, started, flag) = (self.child.clone(), self.started, stop.clone());
        thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if started.elapsed() >= LIMIT {
                    let _ = lock(&child).kill();
                    return;
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
        Watchdog(stop)
    }
}

struct Watchdog(Arc<AtomicBool>);

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

// ------------------------------------------------------------------------------- checks

/// Our side's checks, printed as JSON lines in the peers' format.
#[derive(Default)]
struct Checks {
    side: String,
    /// The cases our side ran, in the order they ran.
    cases: Vec<String>,
    count: usize,
    failures: Vec<String>,
}

impl Checks {
    fn new(side: String) -> Self {
        Self { side, ..Self::default() }
    }

    fn check(&mut self, case: &str, check: &str, ok: bool, detail: impl std::fmt::Debug) {
        let line = format!(
            "{{\"side\":{},\"case\":{},\"check\":{},\"ok\":{ok},\"detail\":{}}}",
            json(&self.side),
            json(case),
            json(check),
            json(&format!("{detail:?}")),
        );
        println!("{line}");
        self.count += 1;
        if !ok {
            self.failures.push(line);
        }
    }

    fn merge(&mut self, other: Checks) {
        self.cases.extend(other.cases);
        self.count += other.count;
        self.failures.extend(other.failures);
    }
}

fn json(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Fails the test unless both sides passed every check and the peer ran every case.
fn verdict(test: &str, ours: &Checks, peer: &Finished) {
    let mut problems = ours.failures.clone();
    problems.extend(peer.lines.iter().filter(|line| line.contains("\"ok\":false")).cloned());
    let summary = peer.lines.iter().find(|line| line.starts_with("{\"summary\""));
    let all_cases = format!("\"cases\":[{}]", CASES.map(|case| format!("\"{case}\"")).join(","));
    match summary {
        Some(summary) if summary.contains(&all_cases) && summary.contains("\"failed\":0") => {}
        Some(summary) => problems.push(format!("peer summary: {summary}")),
        None => problems.push("the peer printed no summary".into()),
    }
    match peer.status {
        Some(status) if status.success() => {}
        Some(status) => problems.push(format!("the peer exited with {status}")),
        None => problems.push(format!("the peer was killed after {LIMIT:?}")),
    }
    let mut cases = ours.cases.clone();
    cases.sort_by_key(|case| CASES.iter().position(|c| c == case));
    if cases != CASES {
        problems.push(format!("our side ran the cases {cases:?}, not each of {CASES:?} once"));
    }
    let peer_checks = peer.lines.iter().filter(|line| line.contains("\"check\":")).count();
    println!("{test}: {} checks on our side, {peer_checks} on the peer's", ours.count);
    if !problems.is_empty() {
        // The peer's lines were printed as it finished.
        panic!(
            "{test}: {} problem(s):\n  {}\n--- peer stderr:\n{}",
            problems.len(),
            problems.join("\n  "),
            peer.stderr
        );
    }
}

// ------------------------------------------------------------------------------- our side

/// What the cases need of a message socket; implemented by both adapters, so the cases are
/// written once. The tokio socket runs each call with `block_on` on a multi-thread runtime.
trait Socket {
    fn send(&mut self, message: Message) -> Result<(), SocketError>;
    fn recv(&mut self) -> Result<Option<Message>, SocketError>;
    fn ping(&mut self, payload: &[u8]) -> Result<(), SocketError>;
    /// Starts the close handshake and waits until the connection ended, discarding messages
    /// that arrive meanwhile (none do in these cases).
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SocketError>;
    fn outcome(&self) -> Option<CloseOutcome>;
    fn protocol(&self) -> Option<String>;
    /// Bytes handed to the connection so far (`Connection::stats`).
    fn bytes_received(&self) -> u64;
}

struct BlockingSocket<S>(blocking::WebSocket<S>);

impl<S: Transport> Socket for BlockingSocket<S> {
    fn send(&mut self, message: Message) -> Result<(), SocketError> {
        self.0.send(message)
    }
    fn recv(&mut self) -> Result<Option<Message>, SocketError> {
        self.0.recv()
    }
    fn ping(&mut self, payload: &[u8]) -> Result<(), SocketError> {
        self.0.ping(payload)
    }
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SocketError> {
        self.0.close(code, reason)?;
        while self.0.recv()?.is_some() {}
        Ok(())
    }
    fn outcome(&self) -> Option<CloseOutcome> {
        self.0.close_outcome().cloned()
    }
    fn protocol(&self) -> Option<String> {
        self.0.info().protocol.clone()
    }
    fn bytes_received(&self) -> u64 {
        self.0.connection().stats().bytes_received
    }
}

struct TokioSocket<I: AsyncIo> {
    runtime: Arc<tokio::runtime::Runtime>,
    ws: wsproto::tokio::WebSocket<I>,
}

impl<I: AsyncIo> Socket for TokioSocket<I> {
    fn send(&mut self, message: Message) -> Result<(), SocketError> {
        self.runtime.block_on(self.ws.send(message))
    }
    fn recv(&mut self) -> Result<Option<Message>, SocketError> {
        self.runtime.block_on(self.ws.recv())
    }
    fn ping(&mut self, payload: &[u8]) -> Result<(), SocketError> {
        self.runtime.block_on(self.ws.ping(payload))
    }
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SocketError> {
        self.runtime.block_on(self.ws.close(code, reason))
    }
    fn outcome(&self) -> Option<CloseOutcome> {
        self.ws.close_outcome().cloned()
    }
    fn protocol(&self) -> Option<String> {
        self.ws.info().protocol.clone()
    }
    fn bytes_received(&self) -> u64 {
        self.ws.connection().stats().bytes_received
    }
}

fn runtime() -> Arc<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    Arc::new(runtime.expect("a tokio runtime"))
}

/// Limits large enough for the 16 MiB messages; no keep-alive pings (they would add frames to
/// the byte counts of `ping-us`). One `Options` type serves every adapter.
fn options() -> Options {
    let config = Config::default().max_message_size(64 << 20).max_frame_size(64 << 20).keep_alive(None);
    Options::default().config(config)
}

fn text_of(n: usize) -> String {
    (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect()
}

fn binary_of(n: usize) -> Bytes {
    (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
}

fn echo_messages() -> Vec<(String, Message)> {
    let mut messages = Vec::new();
    for n in SIZES {
        messages.push((format!("text-{n}"), Message::from(text_of(n))));
        messages.push((format!("binary-{n}"), Message::Binary(binary_of(n))));
    }
    messages.push(("utf8-mixed".into(), Message::from("héllo wörld ✓ 𝄞 😀 中文")));
    messages.push(("utf8-4byte-65536".into(), Message::from("😀".repeat(16384))));
    messages.push(("utf8-mixed-1MB".into(), Message::from("aé✓😀".repeat(100_000))));
    messages
}

fn pipelined_messages() -> Vec<Message> {
    (0..1000)
        .map(|i| match i % 2 {
            0 => Message::from(format!("pipelined {i} ✓")),
            _ => Message::Binary(binary_of((i * 7) % 300)),
        })
        .collect()
}

fn describe(message: &Option<Message>) -> String {
    match message {
        Some(Message::Text(text)) => format!("text/{}", text.len()),
        Some(Message::Binary(data)) => format!("binary/{}", data.len()),
        None => "closed".into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The size on the wire of a frame with `payload` bytes (RFC 6455 §5.2).
fn frame_len(payload: usize, masked: bool) -> u64 {
    let header = match payload {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    };
    (header + payload + if masked { 4 } else { 0 }) as u64
}

fn check_outcome(
    ws: &dyn Socket,
    case: &str,
    checks: &mut Checks,
    code: u16,
    reason: &str,
    initiator: Initiator,
) {
    let outcome = ws.outcome();
    let ok = outcome.as_ref().is_some_and(|o| {
        o.code.as_u16() == code && o.reason == reason && o.initiator == initiator && o.is_clean()
    });
    checks.check(case, &format!("closed-{code}-by-{initiator:?}"), ok, outcome);
}

/// Runs one case on our side of an open connection.
fn run_case(ws: &mut dyn Socket, case: &str, client: bool, checks: &mut Checks) -> Result<(), SocketError> {
    let protocol = ws.protocol();
    checks.check(case, "subprotocol", protocol.as_deref() == Some("chat"), protocol);
    match case {
        "echo" if client => {
            for (name, message) in echo_messages() {
                ws.send(message.clone())?;
                let echo = ws.recv()?;
                let detail = (describe(&Some(message.clone())), describe(&echo));
                checks.check(case, &name, echo.as_ref() == Some(&message), detail);
            }
            ws.close(CloseCode::NORMAL, "")?;
            check_outcome(ws, case, checks, 1000, "", Initiator::Local);
        }
        "pipeline" if client => {
            let sent = pipelined_messages();
            for message in &sent {
                ws.send(message.clone())?;
            }
            let mut mismatch = None;
            for (i, message) in sent.iter().enumerate() {
                let echo = ws.recv()?;
                if mismatch.is_none() && echo.as_ref() != Some(message) {
                    mismatch = Some((i, describe(&echo)));
                }
            }
            checks.check(case, "1000-pipelined-in-order", mismatch.is_none(), mismatch);
            ws.close(CloseCode::NORMAL, "")?;
            check_outcome(ws, case, checks, 1000, "", Initiator::Local);
        }
        "echo" | "pipeline" | "ping-peer" | "fragments" => {
            // The server echoes; in `ping-peer` the peer only pings (answered inside `recv`);
            // in `fragments` the peer sends fragmented messages, and we echo them (as a client
            // in frames of `FRAGMENT` bytes).
            let mut count = 0;
            while let Some(message) = ws.recv()? {
                ws.send(message)?;
                count += 1;
            }
            if case == "ping-peer" {
                checks.check(case, "no-messages", count == 0, count);
            }
            check_outcome(ws, case, checks, 1000, "", Initiator::Peer);
        }
        "ping-us" => {
            let peer_masks = !client;
            for payload in PING_PAYLOADS {
                let before = ws.bytes_received();
                ws.ping(payload)?;
                ws.send(Message::from(format!("pinged:{}", hex(payload))))?;
                let answer = ws.recv()?;
                let expected = format!("seen:{}", hex(payload));
                let delta = ws.bytes_received() - before;
                let pong_and_answer =
                    frame_len(payload.len(), peer_masks) + frame_len(expected.len(), peer_masks);
                let ok = answer == Some(Message::from(expected)) && delta == pong_and_answer;
                let detail =
                    (describe(&answer), answer.as_ref().map(Message::as_bytes).map(String::from_utf8_lossy));
                checks.check(
                    case,
                    &format!("pong-{}B", payload.len()),
                    ok,
                    (detail, format!("{delta} bytes received, pong + answer = {pong_and_answer}")),
                );
            }
            ws.send(Message::from("done"))?;
            let last = ws.recv()?;
            checks.check(case, "closed-after-done", last.is_none(), describe(&last));
            check_outcome(ws, case, checks, 1000, "", Initiator::Peer);
        }
        "close-peer" => {
            let first = ws.recv()?;
            checks.check(case, "no-messages", first.is_none(), describe(&first));
            check_outcome(ws, case, checks, 4000, BYE, Initiator::Peer);
        }
        "close-us" => {
            ws.close(CloseCode::from_u16(4000).expect("a valid code"), BYE)?;
            check_outcome(ws, case, checks, 4000, BYE, Initiator::Local);
        }
        other => checks.check(other, "known-case", false, ()),
    }
    Ok(())
}

/// Runs a case, records an error as a failed check, and prints how long the case took.
fn guarded(ws: &mut dyn Socket, case: &str, client: bool, checks: &mut Checks) {
    checks.cases.push(case.to_owned());
    let started = Instant::now();
    if let Err(error) = run_case(ws, case, client, checks) {
        let outcome = ws.outcome();
        checks.check(case, "no-error", false, (error, outcome));
    }
    let ms = started.elapsed().as_millis();
    println!("{{\"side\":{},\"case\":{},\"elapsed_ms\":{ms}}}", json(&checks.side), json(case));
}

/// The server's decision: only the cases' paths; `chat` when offered.
fn decide(request: &Request) -> Result<Accept, u16> {
    if !CASES.contains(&request.path().trim_start_matches('/')) {
        return Err(404);
    }
    match request.protocols().iter().any(|p| p == "chat") {
        true => Ok(Accept::new().protocol("chat")),
        false => Ok(Accept::new()),
    }
}

// ------------------------------------------------------------------------------- directions

/// Our server (one thread per connection) against the peer's client.
fn server_test(peer: Peer, adapter: Adapter) {
    let test = format!("{peer:?} client against {adapter:?} server");
    let Some(command) = peer.command(&test) else { return };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener.set_nonblocking(true).expect("a non-blocking listener");
    let port = listener.local_addr().expect("the listener's address").port().to_string();
    let checks = Arc::new(Mutex::new(Checks::new(format!("wsproto-{adapter:?}-server"))));
    let done = Arc::new(AtomicBool::new(false));

    let acceptor = {
        let (checks, done) = (checks.clone(), done.clone());
        thread::spawn(move || {
            let runtime = runtime();
            let mut handlers = Vec::new();
            while handlers.len() < CASES.len() && !done.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (checks, runtime) = (checks.clone(), runtime.clone());
                        handlers.push(thread::spawn(move || serve_one(stream, adapter, runtime, &checks)));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
            for handler in handlers {
                handler.join().expect("a connection thread");
            }
        })
    };

    let running = spawn(command, &["client", &port]);
    let finished = running.finish();
    done.store(true, Ordering::Relaxed);
    acceptor.join().expect("the acceptor thread");
    let checks = lock(&checks);
    verdict(&test, &checks, &finished);
}

fn serve_one(
    stream: TcpStream,
    adapter: Adapter,
    runtime: Arc<tokio::runtime::Runtime>,
    checks: &Mutex<Checks>,
) {
    let mut ours = Checks::new(lock(checks).side.clone());
    let options = options();
    let mut path = String::new();
    let mut select = |request: &Request| {
        path = request.path().trim_start_matches('/').to_owned();
        decide(request)
    };
    let _ = stream.set_nodelay(true);
    let accepted: Result<Box<dyn Socket>, SocketError> = match adapter {
        Adapter::Blocking => {
            stream.set_nonblocking(false).expect("a blocking stream");
            blocking::accept_with(stream, &options, select).map(|ws| Box::new(BlockingSocket(ws)) as _)
        }
        Adapter::Tokio => {
            stream.set_nonblocking(true).expect("a non-blocking stream");
            let stream = {
                let _context = runtime.enter();
                tokio::net::TcpStream::from_std(stream).expect("a tokio stream")
            };
            let accept = runtime.block_on(wsproto::tokio::accept_with(stream, &options, |request| {
                let decision = select(&request);
                async move { decision }
            }));
            accept.map(|ws| Box::new(TokioSocket { runtime: runtime.clone(), ws }) as _)
        }
    };
    match accepted {
        Ok(mut ws) => guarded(ws.as_mut(), &path, false, &mut ours),
        Err(error) => ours.check(&path, "handshake", false, error),
    }
    lock(checks).merge(ours);
}

/// Our client, one connection per case, against the peer's server.
fn client_test(peer: Peer, adapter: Adapter) {
    let test = format!("{adapter:?} client against {peer:?} server");
    let Some(command) = peer.command(&test) else { return };
    let running = spawn(command, &["server"]);
    let port = running.port();
    let mut checks = Checks::new(format!("wsproto-{adapter:?}-client"));
    let runtime = runtime();
    let options = options();
    {
        let _watchdog = running.watchdog();
        for case in CASES {
            let url = format!("ws://127.0.0.1:{port}/{case}");
            let request = ClientRequest::new(&url)
                .and_then(|r| r.protocol("chat"))
                .and_then(|r| r.protocol("superchat"));
            let request = request.expect("a valid request");
            let options = match case {
                "fragments" => {
                    let config = options.config.clone().fragment_size(Some(FRAGMENT));
                    options.clone().config(config)
                }
                _ => options.clone(),
            };
            let connected: Result<Box<dyn Socket>, SocketError> = match adapter {
                Adapter::Blocking => {
                    blocking::connect_with(request, &options).map(|ws| Box::new(BlockingSocket(ws)) as _)
                }
                Adapter::Tokio => runtime
                    .block_on(wsproto::tokio::connect_with(request, &options))
                    .map(|ws| Box::new(TokioSocket { runtime: runtime.clone(), ws }) as _),
            };
            match connected {
                Ok(mut ws) => guarded(ws.as_mut(), case, true, &mut checks),
                Err(error) => checks.check(case, "handshake", false, error),
            }
        }
    }
    let finished = running.finish();
    verdict(&test, &checks, &finished);
}
