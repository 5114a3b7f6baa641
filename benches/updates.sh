#!/usr/bin/env bash
# Time index updates against a full rebuild, in the same run, on a copy of SOURCE (a folder or a
# file of exports):
#
#   1. build the index once (vectors from the embedding cache when it has them);
#   2. five times: edit one document (a sentence appended to the first Markdown page, else to
#      the middle record of the first JSONL file), then update (`lore index`);
#   3. twice: update with nothing changed;
#   4. rebuild from nothing, $FULL_RUNS times (default 3): `--rebuild --no-cache` with
#      --no-cache (the model embeds every chunk), else `--rebuild` (vectors from the embedding
#      cache).
#
# Prints each run's summary, wall time and peak RSS, then the medians.
#
# Usage: benches/updates.sh SOURCE [--no-cache]
# Example: benches/updates.sh corpus --no-cache
#          FULL_RUNS=1 benches/updates.sh ../shared/data/scifact/corpus.jsonl --no-cache
set -euo pipefail
cd "$(dirname "$0")/.."
source="${1:?usage: benches/updates.sh SOURCE [--no-cache]}"
full=(--rebuild)
if [[ "${2:-}" == "--no-cache" ]]; then
    full=(--rebuild --no-cache)
fi
LORE_MODEL_DIR="$(scripts/fetch-model.sh)"
export LORE_MODEL_DIR
cargo build --release --quiet
lore="$PWD/target/release/lore"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
cp -r "$source" "$work/src/"

# The file whose document is edited: the first Markdown page, else the first JSONL file.
target="$(find "$work/src" -name '*.md' | sort | head -1)"
if [[ -z "$target" ]]; then
    target="$(find "$work/src" -name '*.jsonl' | sort | head -1)"
fi
[[ -n "$target" ]] || { echo "no .jsonl or .md file in $source" >&2; exit 1; }

edit() {
    python3 - "$target" "$1" <<'PY'
import json, sys, time
path, n = sys.argv[1], sys.argv[2]
sentence = f" Update {n} adds this sentence ({time.time_ns()})."
if path.endswith(".jsonl"):
    lines = open(path).read().splitlines()
    i = len(lines) // 2
    record = json.loads(lines[i])
    record["text"] += sentence
    lines[i] = json.dumps(record)
    open(path, "w").write("\n".join(lines) + "\n")
else:
    open(path, "a").write("\n" + sentence + "\n")
PY
}

# Run lore, print its summary lines and "<seconds> s <KB> KB", and append the seconds and KB to
# the file named by $1.
timed() {
    local log="$1"
    shift
    local out
    out="$(/usr/bin/time -f "%e s %M KB" "$lore" "$@" 2>&1 || true)"
    grep -E "^(indexed|documents since|files:|vectors:|vector graph)" <<<"$out" | sed 's/^/    /'
    local last
    last="$(tail -1 <<<"$out")"
    echo "    $last"
    awk '{print $1, $3}' <<<"$last" >>"$log"
}

median() {
    sort -n -k"$2" "$1" | awk -v col="$2" '{v[NR]=$col} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

echo "== first build of $source (edits go to ${target#"$work/src/"})"
timed "$work/first" index "$work/src" --index "$work/idx"
for i in 1 2 3 4 5; do
    edit "$i"
    echo "== update $i: one document edited"
    timed "$work/update" index "$work/src" --index "$work/idx"
done
for i in 1 2; do
    echo "== update with nothing changed"
    timed "$work/unchanged" index "$work/src" --index "$work/idx"
done
for ((i = 0; i < ${FULL_RUNS:-3}; i++)); do
    echo "== full rebuild (${full[*]})"
    timed "$work/full" index "$work/src" --index "$work/idx" "${full[@]}"
done
echo
echo "median seconds / peak RSS (KB):"
for run in update unchanged full; do
    if [[ -s "$work/$run" ]]; then
        echo "  $run: $(median "$work/$run" 1) s / $(median "$work/$run" 2) KB"
    fi
done
