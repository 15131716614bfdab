#!/usr/bin/env bash
# Runs the `unsafe` code (masking, the receive buffer's `BufMut`, the small-frame writer's
# `set_len`) and the UTF-8 validator under Miri.
#
#   scripts/miri.sh            x86_64 (all kernels: SSE2, AVX2, AVX-512) + aarch64 (NEON)
#                              + s390x (big-endian word loop)
#   MIRI_XARCH=0 scripts/miri.sh   x86_64 only
#
# Miri reports only the target features enabled at compile time, so the x86_64 run enables
# AVX2 and AVX-512 to reach those kernels (Miri interprets them; the host CPU need not have
# them, and `--target` keeps the flags away from build scripts). The other architectures run
# in a throwaway crate that includes `src/mask.rs` and `src/utf8.rs` by path, so that no
# native dependency of the main crate has to cross-compile.
# Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

# Idempotent: a no-op when the components are there.
if rustup toolchain list | grep -q '^nightly'; then
    rustup component add --toolchain nightly miri rust-src
else
    rustup toolchain install nightly --profile minimal --component miri,rust-src
fi

export MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance}"
host_target="$(rustc +nightly -vV | sed -n 's/^host: //p')"

echo "== miri: mask + receive_buffer + utf8 + the small-frame writer on $host_target"
if [[ "$host_target" == x86_64-* ]]; then
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+avx2,+avx512f" \
        cargo +nightly miri test --lib --target "$host_target" -- mask:: receive_buffer:: utf8:: outgoing::tests::masked_frames
else
    cargo +nightly miri test --lib --target "$host_target" -- mask:: receive_buffer:: utf8:: outgoing::tests::masked_frames
fi

if [[ "${MIRI_XARCH:-1}" != 0 ]]; then
    xarch="$target_dir/miri-xarch"
    mkdir -p "$xarch/src"
    cat >"$xarch/Cargo.toml" <<TOML
[package]
name = "wsproto-miri-xarch"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
simdutf8 = "0.1.5"

[dev-dependencies]
proptest = "1.6"

[workspace]
TOML
    cat >"$xarch/src/lib.rs" <<RUST
//! \`src/mask.rs\` and \`src/utf8.rs\` of wsproto, alone, for Miri on other architectures.
#![deny(unsafe_code)]
#[path = "$root/src/mask.rs"]
pub mod mask;
#[path = "$root/src/utf8.rs"]
pub mod utf8;
RUST
    [[ -f "$xarch/Cargo.lock" || ! -f "$root/Cargo.lock" ]] || cp "$root/Cargo.lock" "$xarch/"
    for target in aarch64-unknown-linux-gnu s390x-unknown-linux-gnu; do
        echo "== miri: mask on $target"
        (cd "$xarch" && CARGO_TARGET_DIR="$xarch/target" \
            cargo +nightly miri test --lib --target "$target" -- mask::)
    done
fi
echo "== miri: all passed"
