//! A chat room: every text message a client sends is broadcast to every connected client.
//! Shows the split halves: each connection's read half and write half run as two tasks.
//!
//! `cargo run --features tokio --example chat-server -- [--addr 127.0.0.1:5001]`
//! then connect several clients, e.g. `cargo run --features tokio --example client -- ws://127.0.0.1:5001/`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::TcpListener;
use tokio::sync::broadcast;
use wsproto::Message;
use wsproto::handshake::Accept;
use wsproto::tokio::{self as ws, Options};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr =
        std::env::args().skip_while(|a| a != "--addr").nth(1).unwrap_or_else(|| "127.0.0.1:5001".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("chat server on ws://{addr}/");
    // Slow readers that fall more than 1,024 messages behind miss messages rather than
    // holding the room's memory.
    let (room, _) = broadcast::channel::<(u64, Message)>(1024);
    let next_id = Arc::new(AtomicU64::new(1));
    loop {
        let (stream, peer) = listener.accept().await?;
        let room = room.clone();
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let socket =
                match ws::accept_with(stream, &Options::default(), |_| async { Ok(Accept::new()) }).await {
                    Ok(socket) => socket,
                    Err(e) => return eprintln!("{peer}: handshake failed: {e}"),
                };
            println!("{peer} joined as #{id}");
            let (mut reader, mut writer) = socket.split();
            let mut inbox = room.subscribe();
            let outbox = room.clone();
            // Forward the room to this client, except its own messages.
            let forward = tokio::spawn(async move {
                while let Ok((from, message)) = inbox.recv().await {
                    if from != id && writer.send(message).await.is_err() {
                        break;
                    }
                }
            });
            loop {
                match reader.recv().await {
                    Ok(Some(Message::Text(text))) => {
                        let _ = outbox.send((id, Message::Text(format!("#{id}: {text}").into())));
                    }
                    Ok(Some(Message::Binary(_))) => {}
                    Ok(None) => break,
                    Err(e) => {
                        eprintln!("#{id}: {e}");
                        break;
                    }
                }
            }
            forward.abort();
            println!("#{id} left");
        });
    }
}
