//! The checks behind every fuzz target, one public function per target, from the fuzzer's
//! bytes to "no panic". Every assertion is an invariant of the crate, so a failed one is a bug
//! (or a wrong invariant) to report with its input.
//!
//! This directory is compiled twice: by the fuzz package (`fuzz_targets/*.rs`, nightly,
//! libFuzzer) and by the root crate's `tests/fuzz_corpus.rs` through
//! `#[path = "../fuzz/src/checks/mod.rs"]`, which replays `fuzz/corpus/<target>/*` through
//! [`TARGETS`] on stable Rust. So it may use only `std`, `bytes`, `httparse` and the crate's
//! public API, and everything in it must be reachable from [`TARGETS`].
//!
//! Inputs are decoded by [`input::Input`], a byte reader in the manner of
//! `arbitrary::Unstructured` (reads past the end give zeros), so that the root test decodes
//! a corpus file exactly as the fuzzer did without depending on `arbitrary`. The wire is judged
//! by [`wire`], a frame parser written independently of the crate's codec.

mod connection_ops;
mod events;
mod frame_decode;
mod handshake_client;
mod handshake_server;
mod input;
mod roundtrip;
mod utf8;
mod wire;

pub use connection_ops::connection_ops;
pub use frame_decode::{frame_decode_client, frame_decode_server};
pub use handshake_client::handshake_client_response;
pub use handshake_server::handshake_server_request;
pub use roundtrip::roundtrip;
pub use utf8::utf8_incremental;

/// Prints `what` when the environment variable `WSPROTO_FUZZ_TRACE` is set: the operations
/// and outcomes of a run, to read a crashing input (`WSPROTO_FUZZ_TRACE=1 cargo fuzz run
/// TARGET crash-...`).
fn trace(what: &dyn std::fmt::Debug) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("WSPROTO_FUZZ_TRACE").is_some()) {
        eprintln!("{what:?}");
    }
}

/// A target's check: panics on a violated invariant.
pub type Check = fn(&[u8]);

/// Every target by name (the name of its `fuzz_targets/` file and its `corpus/` directory).
pub const TARGETS: [(&str, Check); 7] = [
    ("frame_decode_server", frame_decode_server),
    ("frame_decode_client", frame_decode_client),
    ("handshake_server_request", handshake_server_request),
    ("handshake_client_response", handshake_client_response),
    ("utf8_incremental", utf8_incremental),
    ("connection_ops", connection_ops),
    ("roundtrip", roundtrip),
];
