//! A client and a server `Connection` talking through memory: the opening handshake, messages
//! both ways, a ping, and the close handshake, with every byte that crosses the "wire" counted.
//!
//! `cargo run --example in-memory`

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use wsproto::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
use wsproto::{CloseCode, Config, Connection, Event, Role};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut now = Instant::now();
    let config = Config::default();

    // The opening handshake (RFC 6455 §4), each side a sans-IO state machine of its own.
    let request = ClientRequest::new("ws://example.com/chat?room=1")?.protocol("chat")?;
    let mut client_hs = ClientHandshake::new(request, &config, now);
    let mut server_hs = ServerHandshake::new(&config, now);
    println!("client -> server: {} byte handshake request", client_hs.request_bytes().len());
    let request = server_hs.receive(client_hs.request_bytes())?.ok_or("request incomplete")?;
    println!("server sees GET {} (offered protocols {:?})", request.path(), request.protocols());
    let response = server_hs.accept(&Accept::new().protocol("chat"))?;
    let accepted = client_hs.receive(&response)?.ok_or("response incomplete")?;
    println!("client accepted, subprotocol {:?}", accepted.protocol);

    let mut client = Connection::new(Role::Client, config.clone(), now);
    let mut server = Connection::new(Role::Server, config, now);

    client.send_text("hello, server")?;
    client.send_binary(Bytes::from_static(&[1, 2, 3]))?;
    client.send_ping(b"are you there?")?;
    exchange(&mut client, &mut server, now)?;

    server.send_text("hello, client")?;
    now += Duration::from_millis(5);
    server.close(now, CloseCode::NORMAL, "bye")?;
    exchange(&mut server, &mut client, now)?;
    // The client echoed the close; the server reads it and the handshake is complete.
    exchange(&mut client, &mut server, now)?;
    // The server closes TCP first (RFC 6455 §7.1.1); the client sees the end of the stream.
    println!("server wants shutdown: {}", server.wants_shutdown());
    client.receive_eof(now);
    println!("client finished: {}", client.is_finished());
    Ok(())
}

/// Moves everything `from` has queued into `to`, and prints what `to` makes of it.
fn exchange(from: &mut Connection, to: &mut Connection, now: Instant) -> Result<(), wsproto::Error> {
    let out = from.outgoing();
    let wire = out.copy_to_bytes(out.remaining());
    println!("{:?} -> {:?}: {} bytes", from.role(), to.role(), wire.len());
    to.receive(now, &wire)?;
    while let Some(event) = to.poll_event() {
        match event {
            Event::Closed(outcome) => println!(
                "  {:?} closed: code {} reason {:?}, clean {}, started by {:?}",
                to.role(),
                outcome.code,
                outcome.reason,
                outcome.is_clean(),
                outcome.initiator
            ),
            other => println!("  {:?} got {other:?}", to.role()),
        }
    }
    Ok(())
}
