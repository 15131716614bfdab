#!/usr/bin/env bash
# Interop test against real third-party peers (Python `websockets`, Node `ws`).
# See `scripts/interop.sh --help`.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/interop.sh [--install-only] [-- extra cargo test args]

Installs the peers, then runs tests/interop.rs: wsproto's blocking and tokio servers
against the Python `websockets` and Node `ws` clients, and wsproto's blocking and tokio
clients against their servers (tests/interop/peer.py, tests/interop/peer.js).

  - Python: a venv made with `python3 -m venv` (reused when present), with the latest
    `websockets` from PyPI (`pip install --upgrade -r tests/interop/requirements.txt`).
  - Node: `npm ci` in tests/interop (ws pinned by tests/interop/package-lock.json).

Fails if an install fails, if any interop test fails or is skipped, or if fewer tests
ran than `cargo test -- --list` reports. Everything runs on 127.0.0.1.

Options:
  --install-only    install the peers and exit
  -h, --help        this text

Environment:
  INTEROP_VENV      the Python venv (default: <repo>/tests/interop/.venv)
  INTEROP_PYTHON3   the interpreter that creates the venv (default: python3)
  INTEROP_NODE      the node binary (default: node); npm comes from PATH
  INTEROP_FEATURES  cargo features for the test build (default: --all-features, the build
                    `cargo test --all-features` already made; e.g. "--features blocking,tokio")
  INTEROP_TIMEOUT   time limit of the test run, timeout(1) syntax (default: 5m)

The log of the last run is target/interop/interop.log.
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=$ROOT/tests/interop
VENV=${INTEROP_VENV:-$PEERS/.venv}
PYTHON3=${INTEROP_PYTHON3:-python3}
NODE=${INTEROP_NODE:-node}
FEATURES=${INTEROP_FEATURES:---all-features}
RUN_TIMEOUT=${INTEROP_TIMEOUT:-5m}
INSTALL_TIMEOUT=5m
LOG_DIR=$ROOT/target/interop
LOG=$LOG_DIR/interop.log

log() { printf '[interop] %s\n' "$*" >&2; }
die() { printf '[interop] error: %s\n' "$*" >&2; exit 1; }

install_only=0
extra=()
while (($#)); do
  case $1 in
    --install-only) install_only=1 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

cd "$ROOT"
started=$(date +%s)

# --------------------------------------------------------------------------- Python peer
command -v "$PYTHON3" >/dev/null || die "$PYTHON3 not found (set INTEROP_PYTHON3)"
if [[ ! -x $VENV/bin/python ]]; then
  log "creating the venv $VENV ($("$PYTHON3" --version 2>&1))"
  timeout "$INSTALL_TIMEOUT" "$PYTHON3" -m venv "$VENV" || die "python3 -m venv $VENV failed"
fi
log "installing the latest websockets into $VENV"
timeout "$INSTALL_TIMEOUT" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  --upgrade -r "$PEERS/requirements.txt" || die "pip install failed"
"$VENV/bin/python" -c 'import websockets.asyncio.server, websockets.asyncio.client' 2>/dev/null \
  || die "the installed websockets has no asyncio API (needs websockets >= 13, Python >= 3.9)"
log "python peer: websockets $("$VENV/bin/python" -c 'import websockets; print(websockets.__version__)')"

# --------------------------------------------------------------------------- Node peer
command -v "$NODE" >/dev/null || die "$NODE not found (set INTEROP_NODE)"
command -v npm >/dev/null || die "npm not found"
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
((node_major >= 14)) || die "node >= 14 needed, found $("$NODE" --version)"
log "installing ws with npm ci (package-lock.json)"
(cd "$PEERS" && timeout "$INSTALL_TIMEOUT" npm ci --no-audit --no-fund --loglevel=error >&2) \
  || die "npm ci failed"
log "node peer: node $("$NODE" --version), ws $(cd "$PEERS" && "$NODE" -p 'require("ws/package.json").version')"

if ((install_only)); then
  log "installed in $(($(date +%s) - started)) s"
  exit 0
fi

# --------------------------------------------------------------------------- the test
log "building tests/interop.rs ($FEATURES)"
# shellcheck disable=SC2086 # FEATURES is a list of cargo arguments
cargo test $FEATURES --test interop --no-run >&2
# shellcheck disable=SC2086
expected=$(cargo test $FEATURES --test interop -- --list 2>/dev/null | grep -c ': test$' || true)
((expected > 0)) || die "tests/interop.rs has no tests with features '$FEATURES' (it needs blocking and tokio)"

mkdir -p "$LOG_DIR"
log "running $expected interop tests (log: $LOG)"
set +e
# shellcheck disable=SC2086
INTEROP_PYTHON=$VENV/bin/python INTEROP_NODE_DIR=$PEERS INTEROP_NODE=$NODE INTEROP_REQUIRED=1 \
  timeout "$RUN_TIMEOUT" cargo test $FEATURES --test interop "${extra[@]}" -- --nocapture 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
set -e

failed=0
if ((status != 0)); then
  log "FAILED: cargo test exited with $status$( ((status == 124)) && echo " (timed out after $RUN_TIMEOUT)")"
  failed=1
fi
if grep -q 'INTEROP SKIPPED' "$LOG"; then
  log "FAILED: interop tests were skipped:"
  grep 'INTEROP SKIPPED' "$LOG" | sed 's/^/[interop]   /' >&2
  failed=1
fi
passed=$(sed -n 's/^test result: ok\. \([0-9][0-9]*\) passed.*/\1/p' "$LOG" | tail -n1)
if [[ ${#extra[@]} -eq 0 && ${passed:-0} -ne $expected ]]; then
  log "FAILED: ${passed:-0} of $expected interop tests passed"
  failed=1
fi
checks=$(grep -c '"ok":true' "$LOG" || true)
bad=$(grep -c '"ok":false' "$LOG" || true)
log "checks: $checks passed, $bad failed (both sides); $(($(date +%s) - started)) s in all"
((failed == 0)) || exit 1
log "ok: ${passed:-0} interop tests passed"
