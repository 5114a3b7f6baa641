#!/usr/bin/env bash
# Fuzz every loader and the query parsing with cargo fuzz (nightly), each target for SECONDS
# (default 600), two at a time, and print the executions of each run. A crash leaves its input
# in fuzz/artifacts/<target>/ and fails the script; turn it into a regression test in tests/.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# Needs: rustup's nightly toolchain and `cargo install cargo-fuzz`.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build -O
mkdir -p logs
run() {
  local t="$1"
  mkdir -p "corpus/$t"
  if cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=65536 \
      > "logs/$t.log" 2>&1; then
    echo "$t: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "logs/$t.log" | tail -1)"
  else
    echo "$t: FAILED (see fuzz/logs/$t.log and fuzz/artifacts/$t/)"
    return 1
  fi
}
status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[i]}" & a=$!
  if [ $((i + 1)) -lt ${#targets[@]} ]; then run "${targets[i + 1]}" & b=$!; else b=""; fi
  wait "$a" || status=1
  if [ -n "$b" ]; then wait "$b" || status=1; fi
done
exit "$status"
