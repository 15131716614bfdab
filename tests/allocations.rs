//! Allocations per message (issue 6): a received message costs at most its payload's own
//! `Bytes`, whatever the read size, and the buffers are reused rather than reallocated per read.
//! Counted per thread by the counting allocator, so other tests do not disturb the figures.

mod common;
mod support;

use std::time::Instant;

use bytes::BufMut;
use common::*;
use support::heap::*;
use wsproto::{Config, Connection, Event, Message, Role};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const MESSAGES: usize = 10_000;

/// `MESSAGES` client frames of `size` bytes, binary or text.
fn client_frames(size: usize, text: bool) -> Vec<u8> {
    let payload = "a".repeat(size);
    let frame = if text { RawFrame::text(payload.as_str()) } else { RawFrame::binary(payload.as_bytes()) };
    frame.client().repeat(MESSAGES)
}

/// Receives `wire` in reads of `read` bytes, straight into the receive buffer, popping every
/// event; returns the allocations made and the messages received.
fn receive_all(wire: &[u8], read: usize) -> (usize, usize) {
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, Config::default(), now);
    let probe = HeapProbe::this_thread();
    let mut messages = 0;
    for chunk in wire.chunks(read) {
        server.receive_buffer(read).put_slice(chunk);
        server.receive_buffered(now).expect("valid frames");
        while let Some(event) = server.poll_event() {
            assert!(matches!(event, Event::Message(Message::Binary(_) | Message::Text(_))));
            messages += 1;
        }
    }
    (probe.allocations(), messages)
}

#[test]
fn a_small_received_message_costs_one_allocation_its_payload() {
    for (size, text) in [(16, false), (16, true), (125, false), (500, true)] {
        let wire = client_frames(size, text);
        for read in [64 << 10, 4096, 100] {
            let (allocations, messages) = receive_all(&wire, read);
            assert_eq!(messages, MESSAGES);
            eprintln!(
                "{size} B {}, {read} B reads: {allocations} allocations",
                if text { "text" } else { "binary" }
            );
            // The payloads, plus the receive buffer (grown a few times at most).
            assert!(
                allocations <= MESSAGES + 8,
                "{allocations} allocations for {MESSAGES} messages of {size} B in {read} B reads"
            );
        }
    }
}

#[test]
fn a_large_received_message_is_split_off_the_receive_buffer_without_copying() {
    // Above the copy threshold a payload shares the receive buffer; the buffer is reallocated
    // at most once per read (when the messages of the previous read are still alive).
    let wire = client_frames(4096, false);
    let read = 64 << 10;
    let (allocations, messages) = receive_all(&wire, read);
    assert_eq!(messages, MESSAGES);
    let reads = wire.len().div_ceil(read);
    eprintln!("4 KiB binary, 64 KiB reads: {allocations} allocations for {reads} reads");
    assert!(
        allocations <= 2 * reads + 8,
        "{allocations} allocations for {reads} reads of {MESSAGES} messages"
    );
}

#[test]
fn fragmented_messages_are_assembled_in_the_receive_buffer_and_its_allocation_reused() {
    // 200 messages of 256 KiB in 16 frames each, dropped as they arrive: each is assembled in
    // place and split off the receive buffer, which takes the allocation back at the next
    // read. Only the first message grows the buffer.
    let fragments = 16;
    let piece = "a".repeat(16 << 10);
    let mut one = RawFrame::text(piece.as_str()).fin(false).client();
    for i in 1..fragments {
        one.extend(RawFrame::cont(piece.as_str()).fin(i == fragments - 1).client());
    }
    let count = 200;
    let wire = one.repeat(count);
    let config = Config::default().max_message_size(1 << 20);
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, config, now);
    let probe = HeapProbe::this_thread();
    let mut messages = 0;
    for chunk in wire.chunks(64 << 10) {
        server.receive_buffer(chunk.len()).put_slice(chunk);
        server.receive_buffered(now).expect("valid frames");
        while let Some(event) = server.poll_event() {
            let Event::Message(Message::Text(text)) = event else { panic!("unexpected {event:?}") };
            assert_eq!(text.len(), fragments * piece.len());
            messages += 1;
        }
    }
    assert_eq!(messages, count);
    let allocations = probe.allocations();
    eprintln!("{count} fragmented messages of 256 KiB, 64 KiB reads: {allocations} allocations");
    assert!(allocations <= 16, "{allocations} allocations for {count} messages");
}

#[test]
fn a_server_sends_without_allocating_per_message() {
    use bytes::{Buf, Bytes};
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, Config::default(), now);
    // The application's payloads, made before counting: a small one and a large shared one
    // (cloning a shared `Bytes` allocates nothing).
    let large = Bytes::from(vec![7u8; 4096]);
    let large_clone = large.clone();
    drop(large_clone);
    let probe = HeapProbe::this_thread();
    for i in 0..MESSAGES {
        match i % 3 {
            0 => server.send_text("sixteen bytes..."),
            1 => server.send_binary_from_slice(b"sixteen bytes..."),
            _ => server.send_binary(large.clone()),
        }
        .expect("below the high-water mark");
        // A socket write every 10 messages, taking all but a few bytes (a partial write).
        if i % 10 == 9 {
            let out = server.outgoing();
            out.advance(out.remaining() - 3);
        }
    }
    let allocations = probe.allocations();
    eprintln!("{MESSAGES} messages sent by a server: {allocations} allocations");
    // The queue's growth to its working size, and nothing per message.
    assert!(allocations <= 16, "{allocations} allocations for {MESSAGES} sent messages");
}
