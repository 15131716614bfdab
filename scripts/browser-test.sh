#!/usr/bin/env bash
# Drives the echo-server example's page in headless Chromium for each runtime: Connect, send a
# message with multi-byte UTF-8, see it echoed, Close Socket, see CLOSED 1000.
#
#   scripts/browser-test.sh [--runtime blocking|tokio|async-std ...]   (default: all three)
#
# Installs what is missing: Chromium from apt (when /usr/bin/chromium is absent; never a
# browser download) and playwright-core from tests/browser/package-lock.json (npm ci). Needs
# node >= 20. Builds the example in release mode with the runtimes' features, starts it on a
# free loopback port per runtime, runs tests/browser/echo-page.test.mjs against it and stops
# it. Screenshots land in $SCREENSHOT_DIR (default: a temp dir, printed). Exits non-zero on
# the first failure; every step is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

runtimes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runtime) [ $# -ge 2 ] || { echo "--runtime needs a value" >&2; exit 2; }
               IFS=, read -ra more <<<"$2"; runtimes+=("${more[@]}"); shift 2 ;;
    --runtime=*) IFS=, read -ra more <<<"${1#--runtime=}"; runtimes+=("${more[@]}"); shift ;;
    *) echo "usage: $0 [--runtime blocking|tokio|async-std ...]" >&2; exit 2 ;;
  esac
done
[ ${#runtimes[@]} -gt 0 ] || runtimes=(blocking tokio async-std)
for runtime in "${runtimes[@]}"; do
  case "$runtime" in blocking|tokio|async-std) ;; *) echo "unknown runtime: $runtime" >&2; exit 2 ;; esac
done

step() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "Chromium"
CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  timeout 300 $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive timeout 900 $sudo apt-get install -y --no-install-recommends chromium
fi
timeout 30 "$CHROMIUM" --version

step "playwright-core"
command -v node >/dev/null || { echo "node >= 20 is needed (https://nodejs.org)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || { echo "node >= 20 is needed, found $(node --version)" >&2; exit 1; }
# npm ci when node_modules lacks the version package-lock.json pins.
pinned='require("./tests/browser/package-lock.json").packages["node_modules/playwright-core"].version'
present='require("./tests/browser/node_modules/playwright-core/package.json").version'
if ! node -e "process.exit($pinned === $present ? 0 : 1)" 2>/dev/null; then
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 300 npm ci --no-audit --no-fund)
fi
node -e "console.log('playwright-core', $present)"

step "build echo-server (${runtimes[*]})"
features=$(IFS=,; echo "${runtimes[*]}")
timeout 1800 cargo build --release --example echo-server --features "$features"
server_bin="${CARGO_TARGET_DIR:-target}/release/examples/echo-server"

work=$(mktemp -d)
shots="${SCREENSHOT_DIR:-$work}"
mkdir -p "$shots"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() {
  stop_server
  rm -f "$work"/*.log
  [ "$shots" = "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for runtime in "${runtimes[@]}"; do
  step "browser test against echo-server on $runtime"
  log="$work/server-$runtime.log"
  : >"$log"
  "$server_bin" --addr 127.0.0.1:0 --runtime "$runtime" >"$log" 2>&1 &
  server_pid=$!
  url=""
  for _ in $(seq 100); do
    url=$(grep -o 'http://[^ ]*' "$log" | head -n 1 || true)
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "echo-server ($runtime) did not start:" >&2
    cat "$log" >&2
    exit 1
  fi
  if ! CHROMIUM="$CHROMIUM" timeout 120 node tests/browser/echo-page.test.mjs "$url" \
    --screenshot "$shots/echo-page-$runtime.png"; then
    echo "echo-server ($runtime) log:" >&2
    cat "$log" >&2
    exit 1
  fi
  stop_server
done

step "done: ${runtimes[*]} (screenshots in $shots)"
