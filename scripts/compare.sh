#!/usr/bin/env bash
# Side-by-side comparison of wsproto with tungstenite, tokio-tungstenite, fastwebsockets,
# tokio-websockets, sockudo-ws and yawc (issue 6).
#
#   scripts/compare.sh            # ~9 minutes; the table goes to stdout and benches/compare/RESULTS.md
#
# 1. builds benches/compare (its own cargo package) in release;
# 2. runs the in-memory cases (unmask, server decode, client encode), interleaved, the order
#    rotated each round, medians of ROUNDS samples of at least SAMPLE_MS each;
# 3. starts one loopback echo server per library (plus a raw-TCP echo, the limit), and runs the
#    one load client against each in turn, rotating the order each run; medians of ECHO_RUNS
#    runs of ECHO_SECONDS each, per case (20 B × 16 in flight, 20 B × 1 in flight, 16 KiB × 16 in
#    flight; 16 connections each). The servers are killed on exit.
# 4. idle memory: for each library in turn, a fresh echo server, IDLE_CONNECTIONS connections
#    opened by one client and left idle (after the handshake, then after one echo each); the
#    growth of the server's anonymous RSS per connection, median of IDLE_RUNS runs.
# 5. split halves: a client's write half and read half in two tasks, through wsproto's echo
#    server in the same process, for wsproto and the crates split by `StreamExt::split`;
#    medians of SPLIT_RUNS interleaved runs (`compare split-echo`).
#
# Knobs (environment): ROUNDS (7), SAMPLE_MS (200), ECHO_RUNS (3), ECHO_SECONDS (5),
# ECHO_WARMUP (0.5), CONNECTIONS (16), BASE_PORT (19100), IDLE_CONNECTIONS (1000),
# IDLE_RUNS (3), IDLE_MS (1500), SPLIT_RUNS (5), SKIP_INMEM=1, SKIP_ECHO=1, SKIP_IDLE=1,
# SKIP_SPLIT=1.
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-7}
SAMPLE_MS=${SAMPLE_MS:-200}
ECHO_RUNS=${ECHO_RUNS:-3}
ECHO_SECONDS=${ECHO_SECONDS:-5}
ECHO_WARMUP=${ECHO_WARMUP:-0.5}
CONNECTIONS=${CONNECTIONS:-16}
BASE_PORT=${BASE_PORT:-19100}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-1000}
IDLE_RUNS=${IDLE_RUNS:-3}
IDLE_MS=${IDLE_MS:-1500}
SPLIT_RUNS=${SPLIT_RUNS:-5}
MANIFEST=benches/compare/Cargo.toml
BIN=benches/compare/target/release/compare
RESULTS=benches/compare/RESULTS.md
LIBS=(raw wsproto tokio-tungstenite fastwebsockets tokio-websockets sockudo-ws yawc)

cargo build --release --manifest-path "$MANIFEST" >&2

WORK=$(mktemp -d)
PIDS=()
IDLE_PID=
cleanup() {
    for pid in "${PIDS[@]}" $IDLE_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}" $IDLE_PID; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "## wsproto vs peers — $started"
    echo
    echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
        "($(grep -o -m1 -w 'avx512bw' /proc/cpuinfo >/dev/null && echo 'AVX-512' || echo 'no AVX-512')," \
        "$(grep -o -m1 -w 'avx2' /proc/cpuinfo >/dev/null && echo 'AVX2' || echo 'no AVX2'))"
    echo "- $(rustc -V); release profile, no \`target-cpu\` flags (every crate detects SIMD at run time)"
    echo "- wsproto at $(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
        "($(git status --porcelain -- src 2>/dev/null | wc -l | tr -d ' ') files under src/ modified)"
    echo "- load average before the run: $load_before (\`/proc/loadavg\`; other work on the machine skews every figure)"
    echo "- command: \`scripts/compare.sh\` (ROUNDS=$ROUNDS SAMPLE_MS=$SAMPLE_MS ECHO_RUNS=$ECHO_RUNS" \
        "ECHO_SECONDS=$ECHO_SECONDS CONNECTIONS=$CONNECTIONS IDLE_CONNECTIONS=$IDLE_CONNECTIONS IDLE_RUNS=$IDLE_RUNS" \
        "SPLIT_RUNS=$SPLIT_RUNS)"
    echo
    echo "Medians. \"× memcpy\": against a memcpy of the same wire bytes, timed in the same rounds;"
    echo "\"× best peer\": against the fastest library other than wsproto (1.00 is that peer);"
    echo "\"spread\": (max − min) / median over the rounds. What each path measures is documented in"
    echo "\`benches/compare/src/{unmask,decode,encode,echo_server,echo_load,idle_memory}.rs\`."
} >"$WORK/head.md"

if [[ -z "${SKIP_INMEM:-}" ]]; then
    echo "in-memory cases: $ROUNDS rounds of ≥ ${SAMPLE_MS} ms samples" >&2
    "$BIN" inmem --rounds "$ROUNDS" --sample-ms "$SAMPLE_MS" >"$WORK/inmem.md"
else
    : >"$WORK/inmem.md"
fi

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo_cases=("20 16" "20 1" "16384 16")
if [[ -z "${SKIP_ECHO:-}" ]]; then
    for i in "${!LIBS[@]}"; do
        "$BIN" echo-server --lib "${LIBS[$i]}" --addr "127.0.0.1:$((BASE_PORT + i))" 2>"$WORK/server-${LIBS[$i]}.log" &
        PIDS+=($!)
    done
    sleep 0.5
    n=${#LIBS[@]}
    for c in "${echo_cases[@]}"; do
        read -r size in_flight <<<"$c"
        for run in $(seq 1 "$ECHO_RUNS"); do
            for k in $(seq 0 $((n - 1))); do
                i=$(((k + run) % n))
                lib=${LIBS[$i]}
                if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
                    echo "echo-server $lib died: $(cat "$WORK/server-$lib.log")" >&2
                    echo "dead" >>"$WORK/echo-$size-$in_flight-$lib.fail"
                    continue
                fi
                if line=$("$BIN" echo-load --addr "127.0.0.1:$((BASE_PORT + i))" --connections "$CONNECTIONS" \
                    --in-flight "$in_flight" --size "$size" --seconds "$ECHO_SECONDS" --warmup "$ECHO_WARMUP" 2>&1); then
                    rate=$(sed -n 's/.*msgs_per_sec=\([0-9]*\).*/\1/p' <<<"$line")
                    masked=$(sed -n 's/.*masked_replies=\([0-9]*\).*/\1/p' <<<"$line")
                    echo "$rate" >>"$WORK/echo-$size-$in_flight-$lib"
                    if [[ "$lib" != raw && "$masked" != 0 ]]; then
                        echo "masked replies" >>"$WORK/echo-$size-$in_flight-$lib.fail"
                    fi
                    echo "echo ${size} B × ${in_flight} in flight, run $run: $lib $rate msgs/s" >&2
                else
                    echo "echo ${size} B × ${in_flight}, $lib failed: $line" >&2
                    echo "${line//|/ }" | tail -1 >>"$WORK/echo-$size-$in_flight-$lib.fail"
                fi
            done
        done
    done

    {
        echo
        echo "### Loopback echo (one server process per library, one load client; 127.0.0.1)"
        echo
        echo "$CONNECTIONS connections; messages/s echoed, median of $ECHO_RUNS runs of ${ECHO_SECONDS} s" \
            "(after ${ECHO_WARMUP} s of warm-up). \"× raw TCP\": against the raw byte echo;"
        echo "\"× best peer\": against the fastest library other than wsproto."
        echo
        echo "| case | server | median msgs/s | × raw TCP | × best peer | runs (msgs/s) |"
        echo "|---|---|---:|---:|---:|---|"
        for c in "${echo_cases[@]}"; do
            read -r size in_flight <<<"$c"
            label="$size B × $in_flight in flight"
            [[ $size == 16384 ]] && label="16 KiB × $in_flight in flight"
            raw=$(median <"$WORK/echo-$size-$in_flight-raw" 2>/dev/null || echo nan)
            best=0
            for lib in "${LIBS[@]}"; do
                [[ $lib == raw || $lib == wsproto || -f "$WORK/echo-$size-$in_flight-$lib.fail" ]] && continue
                m=$(median <"$WORK/echo-$size-$in_flight-$lib" 2>/dev/null || echo 0)
                best=$(awk -v a="$best" -v b="$m" 'BEGIN { print (b > a) ? b : a }')
            done
            for lib in "${LIBS[@]}"; do
                f="$WORK/echo-$size-$in_flight-$lib"
                name=$lib
                [[ $lib == wsproto ]] && name="**wsproto**"
                [[ $lib == raw ]] && name="raw TCP echo"
                if [[ -f "$f.fail" ]]; then
                    echo "| $label | $name | failed: $(sort -u "$f.fail" | head -1) | | | |"
                    continue
                fi
                m=$(median <"$f")
                runs=$(paste -sd' ' "$f")
                vs_raw=$(awk -v a="$m" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')
                vs_best="–"
                [[ $lib != raw ]] && vs_best=$(awk -v a="$m" -v b="$best" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "–" }')
                echo "| $label | $name | $(printf '%.0f' "$m") | $vs_raw | $vs_best | $runs |"
            done
        done
    } >"$WORK/echo.md"
else
    : >"$WORK/echo.md"
fi

if [[ -z "${SKIP_IDLE:-}" ]]; then
    # A fresh server per run, on ports of its own (the echo servers above may still listen).
    idle_port=$((BASE_PORT + 50))
    for run in $(seq 1 "$IDLE_RUNS"); do
        for lib in "${LIBS[@]}"; do
            "$BIN" echo-server --lib "$lib" --addr "127.0.0.1:$idle_port" 2>"$WORK/idle-server-$lib.log" &
            IDLE_PID=$!
            if line=$("$BIN" idle-memory --addr "127.0.0.1:$idle_port" --pid "$IDLE_PID" \
                --connections "$IDLE_CONNECTIONS" --idle-ms "$IDLE_MS" 2>&1); then
                sed -n 's/.*after_handshake_kib=\([-0-9.]*\).*/\1/p' <<<"$line" >>"$WORK/idle-handshake-$lib"
                sed -n 's/.*after_echo_kib=\([-0-9.]*\).*/\1/p' <<<"$line" >>"$WORK/idle-echo-$lib"
                echo "idle memory, run $run: $lib $line" >&2
            else
                echo "idle memory, $lib failed: $line $(cat "$WORK/idle-server-$lib.log")" >&2
                echo "${line//|/ }" | tail -1 >>"$WORK/idle-$lib.fail"
            fi
            kill "$IDLE_PID" 2>/dev/null || true
            wait "$IDLE_PID" 2>/dev/null || true
            IDLE_PID=
            idle_port=$((idle_port + 1)) # no wait for the last port's TIME_WAIT sockets
        done
    done

    {
        echo
        echo "### Idle memory per connection (one fresh server process per library and run; 127.0.0.1)"
        echo
        echo "$IDLE_CONNECTIONS connections held open by one client process; the growth of the server's"
        echo "anonymous RSS (\`RssAnon\`) over its level before them, per connection, in KiB; median of"
        echo "$IDLE_RUNS runs, each read after ${IDLE_MS} ms idle: once all handshakes are done, and again after"
        echo "one 20-byte message was echoed on every connection. The server's tokio task and socket"
        echo "registration count for every library alike. \"× best peer\": against the library other than"
        echo "wsproto holding the least after one echo. The raw TCP echo allocates a 64 KiB read buffer per"
        echo "connection, resident only where written; fastwebsockets, sockudo-ws, yawc and it use the"
        echo "harness's own upgrade (\`echo_server.rs\`), whose 1 KiB read buffer is part of each task's future."
        echo
        echo "| server | KiB/connection after handshake | after one echo | × best peer | runs (after one echo) |"
        echo "|---|---:|---:|---:|---|"
        best=
        for lib in "${LIBS[@]}"; do
            [[ $lib == raw || $lib == wsproto || -f "$WORK/idle-$lib.fail" ]] && continue
            m=$(median <"$WORK/idle-echo-$lib")
            best=$(awk -v a="$best" -v b="$m" 'BEGIN { print (a == "" || b < a) ? b : a }')
        done
        for lib in "${LIBS[@]}"; do
            name=$lib
            [[ $lib == wsproto ]] && name="**wsproto**"
            [[ $lib == raw ]] && name="raw TCP echo"
            if [[ -f "$WORK/idle-$lib.fail" ]]; then
                echo "| $name | failed: $(sort -u "$WORK/idle-$lib.fail" | head -1) | | | |"
                continue
            fi
            h=$(median <"$WORK/idle-handshake-$lib")
            e=$(median <"$WORK/idle-echo-$lib")
            vs_best="–"
            [[ $lib != raw && -n $best ]] &&
                vs_best=$(awk -v a="$e" -v b="$best" 'BEGIN { if (b > 0.05) printf "%.2f", a / b; else print "–" }')
            runs=$(paste -sd' ' "$WORK/idle-echo-$lib")
            echo "| $name | $(printf '%.2f' "$h") | $(printf '%.2f' "$e") | $vs_best | $runs |"
        done
    } >"$WORK/idle.md"
else
    : >"$WORK/idle.md"
fi

if [[ -z "${SKIP_SPLIT:-}" ]]; then
    echo "split halves: $SPLIT_RUNS runs" >&2
    { echo; "$BIN" split-echo --runs "$SPLIT_RUNS"; } >"$WORK/split.md"
else
    : >"$WORK/split.md"
fi

{
    cat "$WORK/head.md"
    cat "$WORK/inmem.md"
    cat "$WORK/echo.md"
    cat "$WORK/idle.md"
    cat "$WORK/split.md"
    echo
    echo "Load average after the run: $(cut -d' ' -f1-3 /proc/loadavg); finished $(date -u '+%H:%M UTC')."
} | tee "$RESULTS"
