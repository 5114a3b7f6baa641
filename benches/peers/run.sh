#!/usr/bin/env bash
# Peer benchmarks: lore against bm25s, tantivy-py, Pyserini (Anserini/Lucene) and LanceDB on
# SciFact and QMSum (corpus-wide and meeting-scoped). Idempotent: the virtualenv is created and
# filled once (a stamp records what was installed), passage embeddings are cached under
# ~/.cache/lore/peers/, and every run rewrites benches/peers/results/.
#
#   benches/peers/run.sh                      # everything (lore rows if target/release/lore has `eval`)
#   benches/peers/run.sh --datasets scifact   # arguments go to bench.py (--tools, --no-lore, --table-only)
#
# Environment: LORE_PEERS_VENV (default ~/.cache/lore/peers-venv), PYTHON (default python3.11),
# LORE_DATA (default ../shared/data beside the repository), LORE_MODEL_DIR (default ~/.cache/lore/model),
# LORE_PEERS_RUNS (run files and logs; default ~/.cache/lore/peers/runs), LORE_BIN.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${LORE_PEERS_VENV:-$HOME/.cache/lore/peers-venv}"
PY="${PYTHON:-python3.11}"

# Pinned to what was measured; pyarrow < 21 because Pyserini wants numpy < 2 and newer pyarrow
# wheels refuse numpy 1.x. onnxruntime 1.31.1 is the runtime lore ships with its model.
PKGS=(
  "bm25s==0.3.16" "PyStemmer==3.1.0"
  "tantivy==0.27.0"
  "pyjnius==1.9.0" "numpy<2" scipy tqdm pandas pyyaml
  "onnxruntime==1.31.1" "tokenizers==0.23.3"
  "lancedb==0.40.0" "pyarrow>=16,<21"
)
PYSERINI="pyserini==0.22.1"
STAMP_WANT="$(printf '%s\n' "${PKGS[@]}" "$PYSERINI" pytrec | sha256sum | cut -c1-16)"
STAMP="$VENV/.lore-peers-installed"

if [[ ! -x "$VENV/bin/python" ]]; then
  command -v "$PY" >/dev/null || { echo "error: $PY not found (set PYTHON=...)" >&2; exit 1; }
  echo "== creating virtualenv $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$STAMP_WANT" ]]; then
  echo "== installing peer tools into $VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q "${PKGS[@]}"
  # Pyserini's wheel carries the Anserini fat jar; its declared deps (torch, faiss, transformers,
  # spacy, ...) are only for the dense searchers and are not needed for Lucene BM25.
  "$VENV/bin/pip" install -q --no-deps "$PYSERINI"
  if ! "$VENV/bin/pip" install -q pytrec_eval 2>/dev/null; then
    echo "   pytrec_eval does not build here; installing pytrec-eval-terrier (same module name)"
    "$VENV/bin/pip" install -q pytrec-eval-terrier
  fi
  "$VENV/bin/python" -c "import bm25s, Stemmer, tantivy, jnius, onnxruntime, tokenizers, lancedb, pytrec_eval"
  echo "$STAMP_WANT" > "$STAMP"
fi

if [[ -z "${JAVA_HOME:-}" ]] && command -v java >/dev/null; then
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
  export JAVA_HOME
fi
command -v java >/dev/null || echo "warning: no java on PATH: the pyserini rows will fail" >&2

cd "$HERE"
echo "== self-test of benches/check_metrics.py"
"$VENV/bin/python" test_check_metrics.py >/dev/null && echo "   check_metrics.py: all tests passed" \
  || { "$VENV/bin/python" test_check_metrics.py; exit 1; }

echo "== running the benchmarks"
exec "$VENV/bin/python" bench.py "$@"
