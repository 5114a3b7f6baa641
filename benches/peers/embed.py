"""Embed every passage of a data set once with lore's MiniLM weights and cache the vectors
(~/.cache/lore/peers/embeddings.sqlite, keyed by sha256(model file) + text). A rerun only loads.

usage: python embed.py DATASET [--out results/<dataset>-embed.json]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    dataset, docs, _, _ = common.load_dataset(args.dataset)
    t0 = time.perf_counter()
    emb = common.Embedder()
    load_s = time.perf_counter() - t0
    mat, info = common.passage_vectors(dataset, docs, emb)
    own, _ = common.peak_rss_mb()
    # Sanity: one cached vector against a fresh embedding of the same text.
    fresh = emb.embed_many([common.embedding_text(docs[0])], progress=False)[0]
    info.update({"dataset": dataset, "model_load_seconds": round(load_s, 3), "onnxruntime": emb.ort_version,
                 "max_tokens": common.MAX_TOKENS, "intra_op_threads": common.THREADS,
                 "cache_vs_fresh_max_abs_diff": float(abs(fresh - mat[0]).max()),
                 "passage_text": "title + '\\n' + text, text only when the title is an id (QMSum: meeting id)",
                 "peak_rss_mb_self": own, "dim": int(mat.shape[1])})
    out = args.out or os.path.join(common.HERE, "results", f"{dataset}-embed.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
