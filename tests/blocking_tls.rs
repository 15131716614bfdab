//! `wss://` through the blocking adapter: a rustls server (ring provider, a self-signed
//! certificate for `localhost` made by rcgen) around accepted TCP streams, and clients that
//! trust that certificate, or only the webpki roots.
#![cfg(all(feature = "blocking", feature = "rustls"))]

mod support;

use std::thread;
use std::time::{Duration, Instant};

use support::raw::*;
use support::tls::*;
use support::{join, within};
use wsproto::blocking::{self, Options};
use wsproto::handshake::ClientRequest;
use wsproto::{CloseCode, Config, ErrorKind, Initiator, Message};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn tls_client_and_server_round_trip_messages_and_close_cleanly() {
    within(LIMIT, || {
        let (listener, addr) = loopback();
        let (server_tls, client_tls) = tls_pair();
        // Larger than a TLS record (16 KiB), so a message spans several.
        let options =
            Options::default().config(Config::default().max_message_size(4 << 20).max_frame_size(4 << 20));
        let server_options = options.clone();
        let server = thread::spawn(move || {
            let mut ws = accept_tls(&listener, server_tls, &server_options).expect("the TLS server accepts");
            let mut echoed = 0;
            while let Some(message) = ws.recv().expect("the server receives until a clean close") {
                ws.send(message).unwrap();
                echoed += 1;
            }
            (echoed, ws.close_outcome().cloned(), ws.info().clone())
        });

        let request = ClientRequest::new(&wss_url(addr.port())).unwrap();
        let mut ws =
            blocking::connect_with(request, &options.tls(client_tls)).expect("the wss client connects");
        let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        for message in [Message::Text("hello over TLS — ✓".into()), Message::Binary(big.into())] {
            ws.send(message.clone()).unwrap();
            assert!(ws.recv().unwrap().as_ref() == Some(&message), "the echo differs");
        }
        ws.close(CloseCode::NORMAL, "tls done").unwrap();
        assert_eq!(ws.recv().unwrap(), None);
        let outcome = ws.close_outcome().unwrap().clone();
        assert!(outcome.is_clean() && outcome.initiator == Initiator::Local, "{outcome:?}");
        let client = ws.info().clone();
        drop(ws);

        let (echoed, server_outcome, server) = join(server);
        assert_eq!(echoed, 2);
        let server_outcome = server_outcome.unwrap();
        assert_eq!((server_outcome.code, server_outcome.reason.as_str()), (CloseCode::NORMAL, "tls done"));
        assert!(server_outcome.is_clean(), "{server_outcome:?}");
        assert_eq!(client.peer_addr.map(|a| a.port()), Some(addr.port()));
        assert_eq!(server.peer_addr, client.local_addr);
        // The counters count WebSocket bytes, not TLS records.
        assert_eq!(client.bytes_written, server.bytes_read);
        assert_eq!(client.bytes_read, server.bytes_written);
    });
}

#[test]
fn tls_server_close_reaches_the_client_and_both_ends_see_a_clean_close() {
    within(LIMIT, || {
        let (listener, addr) = loopback();
        let (server_tls, client_tls) = tls_pair();
        let server = thread::spawn(move || {
            let mut ws = accept_tls(&listener, server_tls, &Options::default()).unwrap();
            assert_eq!(ws.recv().unwrap(), Some(Message::Text("hi".into())));
            ws.close(CloseCode::GOING_AWAY, "tls server leaving").unwrap();
            assert_eq!(ws.recv().unwrap(), None);
            ws.close_outcome().cloned().unwrap()
        });
        let request = ClientRequest::new(&wss_url(addr.port())).unwrap();
        let mut ws = blocking::connect_with(request, &Options::default().tls(client_tls)).unwrap();
        ws.send_text("hi").unwrap();
        assert_eq!(ws.recv().unwrap(), None, "the server's close ends recv with Ok(None)");
        let outcome = ws.close_outcome().unwrap().clone();
        assert_eq!((outcome.code, outcome.reason.as_str()), (CloseCode::GOING_AWAY, "tls server leaving"));
        assert!(outcome.is_clean() && outcome.initiator == Initiator::Peer, "{outcome:?}");
        drop(ws);
        let server_outcome = join(server);
        assert!(
            server_outcome.is_clean() && server_outcome.initiator == Initiator::Local,
            "{server_outcome:?}"
        );
    });
}

#[test]
fn tls_client_with_the_default_roots_refuses_a_self_signed_server_without_hanging() {
    within(LIMIT, || {
        let (listener, addr) = loopback();
        let (server_tls, _) = tls_pair();
        let server = thread::spawn(move || accept_tls(&listener, server_tls, &Options::default()).map(drop));
        let start = Instant::now();
        let error = blocking::connect(&wss_url(addr.port())).unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(error.kind(), ErrorKind::Io, "a certificate error: {error}");
        assert!(error.to_string().to_lowercase().contains("certificate"), "{error}");
        assert!(elapsed < Duration::from_secs(2), "the refusal took {elapsed:?}");
        let server_error = join(server).unwrap_err();
        assert_eq!(server_error.kind(), ErrorKind::Io, "the server sees the client's alert: {server_error}");
    });
}
