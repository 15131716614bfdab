#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 60), one after the other,
# each against a scratch copy of its seed corpus (fuzz/corpus/<target>/ is never written), with
# memory limits that make an allocation sized by a declared length a crash. Fails if any target
# crashes, leaks, runs out of memory or times out; prints runs, seconds and coverage per target.
#
#   scripts/fuzz.sh [SECONDS]
#
# Needs the nightly toolchain (cargo-fuzz builds with sanitizers); installs cargo-fuzz if
# missing. Crashing inputs are copied to fuzz/artifacts/<target>/ (ignored by git); replay one
# with `cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>` in fuzz/, adding
# WSPROTO_FUZZ_TRACE=1 to see what it did.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
# -rss_limit_mb: the whole process; -malloc_limit_mb: any single allocation; -timeout: any one
# input (a slow input is a denial of service too).
limits=(-rss_limit_mb=256 -malloc_limit_mb=32 -timeout=10)
# AddressSanitizer holds freed memory in a quarantine of 256 MiB by default, which alone would
# reach the RSS limit; keep it small so that the limit measures the crate.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}"
started=$(date +%s)

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "the nightly toolchain is needed: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "=== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

echo "=== building the fuzz targets"
(cd fuzz && cargo +nightly fuzz build)
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir="fuzz/target/$host/release"
mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0
summary=()
for target in "${targets[@]}"; do
  extra=()
  case "$target" in
    # Long enough to pass the default 16 KiB bound on a handshake head.
    handshake_*) extra=(-max_len=20480) ;;
  esac
  corpus="$scratch/$target/corpus"
  artifacts="$scratch/$target/artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp fuzz/corpus/"$target"/* "$corpus"/
  log="$scratch/$target/log"
  echo "=== $target: ${seconds}s"
  t0=$(date +%s)
  status=0
  # `time` reports the fuzzer's CPU seconds (user + system) into $cpu_file.
  cpu_file="$scratch/$target/cpu"
  { TIMEFORMAT='%U %S'; time "$bin_dir/$target" "${limits[@]}" "${extra[@]}" \
    -max_total_time="$seconds" -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" \
    >"$log" 2>&1 || status=$?; } 2>"$cpu_file"
  elapsed=$(($(date +%s) - t0))
  cpu=$(awk '{printf "%.0f", $1 + $2}' "$cpu_file")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  crashes=$(find "$artifacts" -type f | wc -l)
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    mkdir -p fuzz/artifacts/"$target"
    cp "$artifacts"/* fuzz/artifacts/"$target"/ 2>/dev/null || true
    echo "--- $target FAILED (exit $status, $crashes artifacts, copied to fuzz/artifacts/$target/):"
    grep -v '^#[0-9]' "$log" | tail -n 40
  fi
  summary+=("$(printf '%-26s %10s runs %5ss wall %5ss cpu  cov %5s  %s crashes' \
    "$target" "${runs:-?}" "$elapsed" "${cpu:-?}" "${cov:-?}" "$crashes")")
done

echo
echo "=== summary (${seconds}s per target, $(($(date +%s) - started))s in all, build included)"
printf '%s\n' "${summary[@]}"
exit "$failed"
