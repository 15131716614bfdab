//! Decode and encode through a whole `Connection`, as ratios to a memcpy of the same wire bytes.
//!
//! `cargo bench --bench connection`

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto::{Config, Connection, Event, RngSource, Role};

fn config() -> Config {
    Config::default().max_message_size(64 << 20).max_frame_size(64 << 20).rng(RngSource::Seeded(1))
}

/// The wire bytes of `count` binary messages of `size` bytes sent by a client.
fn client_wire(size: usize, count: usize) -> Bytes {
    let mut client = Connection::new(Role::Client, config(), Instant::now());
    let payload = Bytes::from(vec![0x5Au8; size]);
    let mut wire = Vec::new();
    for _ in 0..count {
        client.send_binary(payload.clone()).expect("send");
        let out = client.outgoing();
        wire.extend_from_slice(&out.copy_to_bytes(out.remaining()));
    }
    Bytes::from(wire)
}

fn server_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("server_decode");
    group.measurement_time(Duration::from_secs(3)).sample_size(20);
    for (size, count) in [(16usize, 4096usize), (1 << 20, 4)] {
        let wire = client_wire(size, count);
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::new("wsproto", size), &wire, |b, wire| {
            let now = Instant::now();
            b.iter(|| {
                let mut server = Connection::new(Role::Server, config(), now);
                server.receive(now, wire).expect("valid input");
                let mut n = 0;
                while let Some(Event::Message(message)) = server.poll_event() {
                    n += message.as_bytes().len();
                }
                black_box(n)
            });
        });
        group.bench_with_input(BenchmarkId::new("memcpy", size), &wire, |b, wire| {
            let mut dst = vec![0u8; wire.len()];
            b.iter(|| {
                dst.copy_from_slice(wire);
                black_box(&dst);
            });
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.measurement_time(Duration::from_secs(3)).sample_size(20);
    for (role, size) in [(Role::Server, 16usize), (Role::Client, 16), (Role::Client, 64 << 10)] {
        let payload = Bytes::from(vec![0x5Au8; size]);
        group.throughput(Throughput::Bytes(size as u64 * 64));
        group.bench_function(BenchmarkId::new(format!("{role:?}"), size), |b| {
            let mut conn = Connection::new(role, config().outgoing_high_water(usize::MAX), Instant::now());
            b.iter(|| {
                for _ in 0..64 {
                    conn.send_binary(payload.clone()).expect("send");
                }
                let out = conn.outgoing();
                let n = out.remaining();
                out.advance(n);
                black_box(n)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, server_decode, encode);
criterion_main!(benches);
