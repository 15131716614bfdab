#!/usr/bin/env bash
# Run the Autobahn TestSuite (wstest) against wsproto's autobahn-server / autobahn-client
# examples and check the reports.  See `scripts/autobahn.sh --help`.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/autobahn.sh [options]

Installs the Autobahn TestSuite (once, into a Python 2.7 virtualenv), builds the
autobahn-server / autobahn-client examples, runs wstest against them and checks
the reports (scripts/autobahn/check.py).  Exits non-zero if any case fails.

Options:
  --runtime R       blocking | tokio | async-std; repeatable or comma list
                    (default: blocking)
  --mode M          server | client | both (default: both)
                      server: wstest -m fuzzingclient tests the autobahn-server example
                      client: wstest -m fuzzingserver tests the autobahn-client example
  --cases LIST      comma-separated case patterns (default: 1.* through 10.*)
  --exclude LIST    comma-separated case patterns to skip (default: 12.*,13.*,
                    permessage-deflate, which wsproto does not implement yet)
  --port N          first port; every run uses the next free one of N, N+1, ...
                    (default: 9001)
  --min-cases N     fail a run with fewer cases than this (default: 200 with the
                    default --cases, else 1); runs must also contain exactly as
                    many cases as the spec selects
  --install-only    install the TestSuite (if needed) and exit
  -h, --help        this text

Reports: autobahn/reports/{server,client}-R/ (index.html, index.json, spec.json,
wstest.log, testee.log) and autobahn/reports/summary.md.

Environment:
  AUTOBAHN_VENV           TestSuite virtualenv (default: <repo>/.venv-autobahn)
  AUTOBAHN_REPORTS        report directory (default: <repo>/autobahn/reports)
  AUTOBAHN_TIMEOUT        time limit per wstest run, timeout(1) syntax (default: 20m)
  AUTOBAHN_SERVER_CMD     command used instead of the autobahn-server example; gets
                          `--addr 127.0.0.1:PORT --runtime R` appended (no cargo build)
  AUTOBAHN_CLIENT_CMD     command used instead of the autobahn-client example; gets
                          `--url ws://127.0.0.1:PORT --runtime R --agent wsproto-R`
                          appended (no cargo build)
  AUTOBAHN_PYTHON2_VERSION  pyenv version to build the venv from (default: 2.7.18)
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HELPERS=$ROOT/scripts/autobahn
VENV=${AUTOBAHN_VENV:-$ROOT/.venv-autobahn}
REPORTS=${AUTOBAHN_REPORTS:-$ROOT/autobahn/reports}
WSTEST_TIMEOUT=${AUTOBAHN_TIMEOUT:-20m}
PY2_VERSION=${AUTOBAHN_PYTHON2_VERSION:-2.7.18}
HOST=127.0.0.1

# The one place that says which cargo features each runtime needs.
declare -A RUNTIME_FEATURES=(
  [blocking]=blocking
  [tokio]=tokio
  [async-std]=async-std
)

DEFAULT_CASES='1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*'   # there is no 8.*
DEFAULT_EXCLUDE='12.*,13.*'
DEFAULT_MIN_CASES=200   # 1.*-10.* is 301 cases with autobahntestsuite 25.10.1

log() { printf '[autobahn] %s\n' "$*" >&2; }
die() { printf '[autobahn] error: %s\n' "$*" >&2; exit 2; }

# ---------------------------------------------------------------------------
# Background processes: every one we start is recorded here and killed on exit.
BG_PIDS=()

# kill_tree SIG PID: signal PID and all its descendants (children first found by id).
kill_tree() {
  local sig=$1 pid=$2 child
  for child in $(pgrep -P "$pid" 2>/dev/null || true); do
    kill_tree "$sig" "$child"
  done
  kill "-$sig" "$pid" 2>/dev/null || true
}

# stop_pid PID: TERM the process tree, wait up to 5 s, then KILL; reap it.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill_tree TERM "$pid"
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill_tree KILL "$pid"
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do
    stop_pid "$pid"
  done
  BG_PIDS=()
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

forget_pid() {
  local pid=$1 p keep=()
  for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do
    [[ $p == "$pid" ]] || keep+=("$p")
  done
  BG_PIDS=(${keep[@]+"${keep[@]}"})
}

# ---------------------------------------------------------------------------
# Ports.
port_listening() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]]
  else
    (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null
  fi
}

# wait_port PORT PID WHAT: wait until PORT listens; fail if PID exits or after 60 s.
wait_port() {
  local port=$1 pid=$2 what=$3 i
  for ((i = 0; i < 600; i++)); do
    port_listening "$port" && return 0
    kill -0 "$pid" 2>/dev/null || { log "$what exited before listening on port $port"; return 1; }
    sleep 0.1
  done
  log "$what did not listen on port $port within 60 s"
  return 1
}

NEXT_PORT=
take_port() {
  local tries=0
  while port_listening "$NEXT_PORT"; do
    log "port $NEXT_PORT is busy, trying $((NEXT_PORT + 1))"
    NEXT_PORT=$((NEXT_PORT + 1))
    ((++tries < 100)) || die "no free port found"
  done
  PORT=$NEXT_PORT
  NEXT_PORT=$((NEXT_PORT + 1))
}

# ---------------------------------------------------------------------------
# TestSuite installation (DESIGN.md section 4), idempotent.
python2() {
  if command -v pyenv >/dev/null 2>&1; then
    PYENV_VERSION=$PY2_VERSION pyenv exec python "$@"
  else
    PYENV_VERSION=$PY2_VERSION python "$@"
  fi
}

install_testsuite() {
  local req=$HELPERS/requirements.txt stamp=$VENV/.wsproto-autobahn-stamp want start
  want="$(sha256sum "$req" | cut -d' ' -f1) python-$PY2_VERSION"
  if [[ -f $stamp && $(<"$stamp") == "$want" ]] && "$VENV/bin/wstest" --autobahnversion >/dev/null 2>&1; then
    return 0
  fi
  start=$SECONDS
  log "installing the Autobahn TestSuite into $VENV"

  if [[ -e $VENV ]] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' >/dev/null 2>&1; then
    # Only ever delete something that looks like a virtualenv.
    [[ -f $VENV/pyvenv.cfg || -f $VENV/bin/activate ]] || die "$VENV exists and is not a virtualenv; remove it or set AUTOBAHN_VENV"
    log "removing broken virtualenv $VENV"
    rm -rf -- "$VENV"
  fi

  if [[ ! -x $VENV/bin/python ]]; then
    local ver
    ver=$(python2 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null) ||
      die "Python $PY2_VERSION is not available through pyenv (pyenv install $PY2_VERSION)"
    [[ $ver == "$PY2_VERSION" ]] || die "PYENV_VERSION=$PY2_VERSION python is Python $ver"
    if ! python2 -m virtualenv --version >/dev/null 2>&1; then
      python2 -m pip install 'virtualenv<20.22'
    fi
    python2 -m virtualenv "$VENV"
  fi

  rm -f -- "$stamp"
  "$VENV/bin/pip" install -c "$req" autobahntestsuite
  "$VENV/bin/wstest" --autobahnversion >/dev/null ||
    die "wstest does not start after installation"
  printf '%s\n' "$want" >"$stamp"
  log "installed in $((SECONDS - start)) s: $("$VENV/bin/wstest" --autobahnversion 2>&1 | paste -sd' ')"
}

# ---------------------------------------------------------------------------
# Arguments.
RUNTIMES=()
MODE=both
CASES=$DEFAULT_CASES
EXCLUDE=$DEFAULT_EXCLUDE
BASE_PORT=9001
MIN_CASES=
CASES_GIVEN=0
INSTALL_ONLY=0

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --runtime) need_arg "$@"; IFS=, read -ra _rt <<<"$2"; RUNTIMES+=("${_rt[@]}"); shift 2 ;;
    --runtime=*) IFS=, read -ra _rt <<<"${1#*=}"; RUNTIMES+=("${_rt[@]}"); shift ;;
    --mode) need_arg "$@"; MODE=$2; shift 2 ;;
    --mode=*) MODE=${1#*=}; shift ;;
    --cases) need_arg "$@"; CASES=$2; CASES_GIVEN=1; shift 2 ;;
    --cases=*) CASES=${1#*=}; CASES_GIVEN=1; shift ;;
    --exclude) [[ $# -ge 2 ]] || die "--exclude needs a value"; EXCLUDE=$2; shift 2 ;;
    --exclude=*) EXCLUDE=${1#*=}; shift ;;
    --port) need_arg "$@"; BASE_PORT=$2; shift 2 ;;
    --port=*) BASE_PORT=${1#*=}; shift ;;
    --min-cases) need_arg "$@"; MIN_CASES=$2; shift 2 ;;
    --min-cases=*) MIN_CASES=${1#*=}; shift ;;
    --install-only) INSTALL_ONLY=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

[[ ${#RUNTIMES[@]} -gt 0 ]] || RUNTIMES=(blocking)
# De-duplicate, keep order, validate against the feature table.
declare -A _seen=()
_rts=()
for rt in "${RUNTIMES[@]}"; do
  [[ -n $rt ]] || continue
  [[ -v "RUNTIME_FEATURES[$rt]" ]] || die "unknown runtime '$rt' (known: ${!RUNTIME_FEATURES[*]})"
  [[ -v "_seen[$rt]" ]] && continue
  _seen[$rt]=1
  _rts+=("$rt")
done
RUNTIMES=("${_rts[@]}")
case $MODE in
  server) ROLES=(server) ;;
  client) ROLES=(client) ;;
  both) ROLES=(server client) ;;
  *) die "--mode must be server, client or both" ;;
esac
[[ $BASE_PORT =~ ^[0-9]+$ && $BASE_PORT -gt 0 && $BASE_PORT -lt 65000 ]] || die "bad --port '$BASE_PORT'"
if [[ -z $MIN_CASES ]]; then
  if ((CASES_GIVEN)); then MIN_CASES=1; else MIN_CASES=$DEFAULT_MIN_CASES; fi
fi
[[ $MIN_CASES =~ ^[0-9]+$ ]] || die "bad --min-cases '$MIN_CASES'"
command -v python3 >/dev/null 2>&1 || die "python3 is needed for scripts/autobahn/check.py"
command -v timeout >/dev/null 2>&1 || die "timeout(1) (coreutils) is needed"

# ---------------------------------------------------------------------------
install_testsuite
((INSTALL_ONLY)) && exit 0
WSTEST=$VENV/bin/wstest

# Validate the case selection before building anything.
_tmp_spec=$(mktemp)
n=$("$VENV/bin/python" "$HELPERS/spec.py" fuzzingserver --out "$_tmp_spec" --outdir "$REPORTS" \
  --url "ws://$HOST:$BASE_PORT" --cases "$CASES" --exclude "$EXCLUDE") || n=0
rm -f -- "$_tmp_spec"
((n > 0)) || die "--cases '$CASES' minus --exclude '$EXCLUDE' selects no valid cases"
log "${#RUNTIMES[@]} runtime(s) x ${#ROLES[@]} role(s), $n case(s) each"

# Build the testees once, with the union of the features the runtimes need.
SERVER_CMD=()
CLIENT_CMD=()
need_build=()
for role in "${ROLES[@]}"; do
  case $role in
    server)
      if [[ -n ${AUTOBAHN_SERVER_CMD:-} ]]; then read -ra SERVER_CMD <<<"$AUTOBAHN_SERVER_CMD"
      else need_build+=(--example autobahn-server); fi ;;
    client)
      if [[ -n ${AUTOBAHN_CLIENT_CMD:-} ]]; then read -ra CLIENT_CMD <<<"$AUTOBAHN_CLIENT_CMD"
      else need_build+=(--example autobahn-client); fi ;;
  esac
done
if [[ ${#need_build[@]} -gt 0 ]]; then
  features=()
  for rt in "${RUNTIMES[@]}"; do
    if [[ -n ${RUNTIME_FEATURES[$rt]} ]]; then features+=("${RUNTIME_FEATURES[$rt]}"); fi
  done
  feature_list=$(IFS=,; echo "${features[*]-}")
  log "building ${need_build[*]} with features '${feature_list}'"
  (cd "$ROOT" && cargo build --release --features "$feature_list" "${need_build[@]}")
  target_dir=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  [[ ${#SERVER_CMD[@]} -gt 0 ]] || SERVER_CMD=("$target_dir/release/examples/autobahn-server")
  [[ ${#CLIENT_CMD[@]} -gt 0 ]] || CLIENT_CMD=("$target_dir/release/examples/autobahn-client")
fi

mkdir -p "$REPORTS"
NEXT_PORT=$BASE_PORT
CHECK_ARGS=()

# show_log FILE: last lines of a log, for failures.
show_log() {
  [[ -s $1 ]] || return 0
  log "--- last lines of $1:"
  tail -n 20 "$1" | sed 's/^/    /' >&2
}

# run_server RUNTIME: wstest fuzzingclient against the autobahn-server example.
run_server() {
  local rt=$1 agent="wsproto-$1" dir="$REPORTS/server-$1" expect error="" start testee wst rc=0
  take_port
  local url="ws://$HOST:$PORT"
  rm -rf -- "$dir" && mkdir -p "$dir"
  start=$SECONDS
  expect=$("$VENV/bin/python" "$HELPERS/spec.py" fuzzingclient --out "$dir/spec.json" --outdir "$dir" \
    --url "$url" --agent "$agent" --cases "$CASES" --exclude "$EXCLUDE") || die "bad case selection"
  log "server/$rt: $expect case(s), testee on $url"

  "${SERVER_CMD[@]}" --addr "$HOST:$PORT" --runtime "$rt" >"$dir/testee.log" 2>&1 &
  testee=$!
  BG_PIDS+=("$testee")
  if wait_port "$PORT" "$testee" "autobahn-server ($rt)"; then
    (cd "$dir" && exec timeout -k 30s "$WSTEST_TIMEOUT" "$WSTEST" -m fuzzingclient -s "$dir/spec.json") >"$dir/wstest.log" 2>&1 &
    wst=$!
    BG_PIDS+=("$wst")
    wait "$wst" || rc=$?
    forget_pid "$wst"
    if ((rc == 124)); then error="wstest timed out after $WSTEST_TIMEOUT"
    elif ((rc != 0)); then error="wstest exited with status $rc"
    elif ! kill -0 "$testee" 2>/dev/null; then
      wait "$testee" && rc=0 || rc=$?
      error="autobahn-server exited (status $rc) during the run"
    fi
  else
    error="autobahn-server did not start"
  fi
  stop_pid "$testee"
  forget_pid "$testee"
  if [[ -n $error ]]; then
    log "server/$rt: $error"
    show_log "$dir/testee.log"
    show_log "$dir/wstest.log"
  fi
  CHECK_ARGS+=(--run "runtime=$rt" role=server "index=$dir/index.json" "agent=$agent" "expect=$expect"
    "seconds=$((SECONDS - start))" "error=$error")
}

# run_client RUNTIME: the autobahn-client example against wstest fuzzingserver.
run_client() {
  local rt=$1 agent="wsproto-$1" dir="$REPORTS/client-$1" expect error="" start wst testee rc=0
  take_port
  local url="ws://$HOST:$PORT"
  rm -rf -- "$dir" && mkdir -p "$dir"
  start=$SECONDS
  expect=$("$VENV/bin/python" "$HELPERS/spec.py" fuzzingserver --out "$dir/spec.json" --outdir "$dir" \
    --url "$url" --cases "$CASES" --exclude "$EXCLUDE") || die "bad case selection"
  log "client/$rt: $expect case(s), wstest fuzzingserver on $url"

  # -u 0: no embedded web server (it would take port 8080).  No timeout of its own:
  # the client below is time-limited, and this wstest is stopped right after it.
  (cd "$dir" && exec "$WSTEST" -m fuzzingserver -u 0 -s "$dir/spec.json") >"$dir/wstest.log" 2>&1 &
  wst=$!
  BG_PIDS+=("$wst")
  if wait_port "$PORT" "$wst" "wstest fuzzingserver"; then
    timeout -k 30s "$WSTEST_TIMEOUT" "${CLIENT_CMD[@]}" --url "$url" --runtime "$rt" --agent "$agent" >"$dir/testee.log" 2>&1 &
    testee=$!
    BG_PIDS+=("$testee")
    wait "$testee" || rc=$?
    forget_pid "$testee"
    if ! kill -0 "$wst" 2>/dev/null; then error="wstest fuzzingserver exited during the run; "; fi
    if ((rc == 124)); then error+="autobahn-client timed out after $WSTEST_TIMEOUT"
    elif ((rc != 0)); then error+="autobahn-client exited with status $rc"
    fi
    error=${error%; }
  else
    error="wstest fuzzingserver did not start"
  fi
  stop_pid "$wst"
  forget_pid "$wst"
  if [[ -n $error ]]; then
    log "client/$rt: $error"
    show_log "$dir/testee.log"
    show_log "$dir/wstest.log"
  fi
  CHECK_ARGS+=(--run "runtime=$rt" role=client "index=$dir/index.json" "agent=$agent" "expect=$expect"
    "seconds=$((SECONDS - start))" "error=$error")
}

for rt in "${RUNTIMES[@]}"; do
  for role in "${ROLES[@]}"; do
    "run_$role" "$rt"
  done
done

version=$("$WSTEST" --autobahnversion 2>&1 | paste -sd' ')
rc=0
python3 "$HELPERS/check.py" --min-cases "$MIN_CASES" --markdown "$REPORTS/summary.md" \
  --preamble "wstest (${version}), cases \`${CASES}\`, excluded \`${EXCLUDE:-none}\`." \
  "${CHECK_ARGS[@]}" || rc=$?
exit "$rc"
