#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz, clang) and runs each for a short
# fixed time over its seeds, one per core at a time, as .ci/run does: a
# parser that crashes, leaks, reads out of bounds or breaks its round trip on
# any input found in that time fails the run. The new inputs a run finds stay in a temporary folder.
#
#   FUZZ_SECONDS  seconds per target (default 15)
#   BUILD_DIR     the fuzz build folder (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-15}"
build="${BUILD_DIR:-build-fuzz}"
if ! command -v clang >/dev/null; then
  echo "fuzz-ci: clang is missing (scripts/setup-tests.sh installs it)" >&2
  exit 1
fi
generator=()
if [ ! -f "$build/CMakeCache.txt" ]; then generator=(-G Ninja); fi   # as scripts/setup.sh
CC=clang CXX=clang++ cmake -S . -B "$build" "${generator[@]}" -DGW_FUZZ=ON >/dev/null
targets=$(sed -n 's/^add_executable(\(fuzz_[a-z_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt)
cmake --build "$build" -j"$(nproc)" --target $targets >/dev/null

# seeds TARGET - the folders that hold its seed inputs.
seeds() {
  case "$1" in
    fuzz_email) echo tests/fixtures/email ;;
    fuzz_meta_parse) echo tests/fixtures/meta ;;
    fuzz_api_request) echo tests/fuzz/corpus/api ;;
    fuzz_sms) echo tests/fuzz/corpus/sms tests/fixtures/sms/twilio-go tests/fixtures/sms/chatwoot ;;
    fuzz_telegram) echo tests/fixtures/telegram/nutgram ;;
    *) echo "tests/fuzz/corpus/${1#fuzz_}" ;;
  esac
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"

# run_target TARGET - runs one target for $seconds over its seeds; its log in
# $work/TARGET.log, its status in $work/TARGET.rc.
run_target() {
  local t="$1" dirs=() d
  for d in $(seeds "$t"); do
    [ -d "$d" ] && dirs+=("$d")
  done
  mkdir -p "$work/$t"
  echo "fuzz-ci: $t for ${seconds}s (seeds: ${dirs[*]:-none})"
  local rc=0
  # Crashing, leaking and slow inputs are written under the build folder.
  "$build/bin/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=262144 \
    -artifact_prefix="$build/artifacts/$t-" -print_final_stats=0 "$work/$t" "${dirs[@]}" >"$work/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$work/$t.rc"
}

# One target per core at a time: each is single-threaded.
jobs="$(nproc)"
running=0
for t in $targets; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait

failed=0
for t in $targets; do
  if [ "$(cat "$work/$t.rc")" != "0" ]; then
    tail -40 "$work/$t.log" >&2
    echo "fuzz-ci: $t failed" >&2
    failed=1
  else
    printf '%s: ' "$t"
    grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "$work/$t.log" | tail -1 || echo
  fi
done
[ "$failed" = 0 ] || exit 1
echo "fuzz-ci: every target ran ${seconds}s clean"
