#!/usr/bin/env bash
# Load test of `lore serve`: hybrid search under 1, 8 and 32 concurrent connections with wrk.
#
#   benches/load.sh                      # index corpus/ (or reuse it) and load it
#   benches/load.sh ~/.cache/lore/bench/index-100000 data/queries.jsonl
#
# Arguments: [INDEX_DIR [QUESTIONS.jsonl]]. Without INDEX_DIR, corpus/ is indexed into
# target/lore-bench/load-corpus (incrementally: a second run reuses it). An existing index is
# only read: never rebuilt or re-embedded. Questions default to corpus/questions.jsonl.
# Environment: DURATION (per level, default 10s), LEVELS (default "1 8 32"), MODE (default
# hybrid), SERVE_ARGS (more `lore serve` flags, e.g. "--query-sessions 0"), LORE_MODEL_DIR (the
# model; default ~/.cache/lore/model).
#
# Needs wrk (Debian package `wrk`): installed with apt-get when missing (as root).
# Prints, per level: requests/s, p50/p90/p99 latency and errors (socket errors and non-2xx).
# The server and wrk share the machine's cores: the figures are for both on one host.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10s}
LEVELS=${LEVELS:-"1 8 32"}
MODE=${MODE:-hybrid}
export LORE_MODEL_DIR=${LORE_MODEL_DIR:-$HOME/.cache/lore/model}

if ! command -v wrk >/dev/null; then
  echo "wrk is missing: installing the Debian package wrk (apt-get install -y wrk)" >&2
  apt-get install -y wrk >&2 || { apt-get update >&2 && apt-get install -y wrk >&2; }
fi

cargo build --release --bin lore --manifest-path "$ROOT/Cargo.toml" >&2
LORE="$ROOT/target/release/lore"

if [ $# -ge 1 ]; then
  INDEX=$1
  [ -f "$INDEX/CURRENT" ] || [ -f "$INDEX/manifest.json" ] || { echo "no lore index at $INDEX" >&2; exit 1; }
else
  INDEX="$ROOT/target/lore-bench/load-corpus"
  "$LORE" index "$ROOT/corpus" --index "$INDEX" -q >&2
fi
QUESTIONS=${2:-$ROOT/corpus/questions.jsonl}

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The audit log goes to the scratch directory: an index under test is left as it was.
"$LORE" serve --index "$INDEX" --addr 127.0.0.1:0 --audit "$WORK/audit.jsonl" \
  ${SERVE_ARGS:-} >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!
for _ in $(seq 1 600); do
  grep -q '^listening on ' "$WORK/stdout" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/stderr" >&2; exit 1; }
  sleep 0.1
done
URL=$(sed -n 's/^listening on //p' "$WORK/stdout")
[ -n "$URL" ] || { echo "lore serve did not start" >&2; cat "$WORK/stderr" >&2; exit 1; }
echo "index: $INDEX ($(curl -s "$URL/healthz"))"
echo "questions: $QUESTIONS; mode: $MODE; $DURATION per level; $(nproc) cores shared by server and wrk"

# One request answered before measuring (the server warmed the index when it opened it).
curl -sf -X POST "$URL/v1/search" -H 'Content-Type: application/json' \
  -d "{\"query\":\"warm up\",\"mode\":\"$MODE\"}" >/dev/null

printf '%-12s %10s %9s %9s %9s %8s\n' connections req/s p50_ms p90_ms p99_ms errors
for c in $LEVELS; do
  t=$(( c < 2 ? c : 2 ))
  line=$(wrk -t"$t" -c"$c" -d"$DURATION" --latency -s "$ROOT/benches/load.lua" "$URL" -- "$QUESTIONS" "$MODE" \
    | grep '^RESULT')
  get() { echo "$line" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
  printf '%-12s %10s %9s %9s %9s %8s\n' "$c" "$(get rps)" "$(get p50_ms)" "$(get p90_ms)" "$(get p99_ms)" \
    "$(( $(get errors) + $(get non2xx) ))"
done
echo "requests audited: $(wc -l <"$WORK/audit.jsonl"); outcomes: $(grep -o '"outcome":"[a-z_]*"' "$WORK/audit.jsonl" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
