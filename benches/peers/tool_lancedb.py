"""LanceDB (embedded, no server): its native full-text index (simple tokenizer, lower-casing, ASCII
folding, English stop words, English stemmer; BM25 with its built-in k1/b, not settable) on a flat
title+text column, an exact (flat, cosine) vector search over our precomputed MiniLM vectors (no
embedding function registered: LanceDB never loads a model), and hybrid = both lists fused by
LanceDB's RRFReranker(K=60). Query vectors come from the same ONNX MiniLM, inside the timed call.
Meeting scope: LanceDB's own filter, `.where("meeting_id = '...'", prefilter=True)` on every mode."""
import atexit
import os
import shutil
import sys
import tempfile
import time
import warnings
from importlib import metadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

os.environ.setdefault("LANCE_LOG", "error")  # silence lance's column-projection deprecation notices
warnings.filterwarnings("ignore", message=".*create_fts_index is deprecated.*")
import lancedb  # noqa: E402
import pyarrow as pa  # noqa: E402
from lancedb.rerankers import RRFReranker  # noqa: E402

RRF_K = 60


def build(docs):
    emb = common.Embedder()
    dataset = os.path.basename(os.path.normpath(ARGS.dataset))
    vecs, vinfo = common.passage_vectors(dataset, docs, emb, allow_embed=False)
    path = tempfile.mkdtemp(prefix="peers-lancedb-")
    atexit.register(shutil.rmtree, path, True)
    t0 = time.perf_counter()
    db = lancedb.connect(path)
    cols = {"id": [d["id"] for d in docs], "text": [common.lexical_text(d) for d in docs],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel(), type=pa.float32()), vecs.shape[1])}
    if all("meeting_id" in d for d in docs):
        cols["meeting_id"] = [d["meeting_id"] for d in docs]
    tb = db.create_table("passages", pa.table(cols), mode="overwrite")
    t1 = time.perf_counter()
    tb.create_fts_index("text", use_tantivy=False, base_tokenizer="simple", language="English", lower_case=True,
                        stem=True, remove_stop_words=True, ascii_folding=True, with_position=False, replace=True)
    t2 = time.perf_counter()
    if "meeting_id" in cols:
        tb.create_scalar_index("meeting_id", index_type="BTREE")
    t3 = time.perf_counter()
    info = {"build_seconds": round(t3 - t0, 3), "table_write_seconds": round(t1 - t0, 3),
            "fts_index_seconds": round(t2 - t1, 3), "scalar_index_seconds": round(t3 - t2, 3),
            "vector_index": "none (exact flat scan; LanceDB's advice below ~100k rows)",
            "embedding": vinfo}
    h = {"tb": tb, "emb": emb, "embed_lat": {}, "rrf": RRFReranker(K=RRF_K, return_score="relevance")}
    return h, info


def _where(q, scope):
    return f"{scope} = '{q[scope]}'" if scope else None


def search(h, mode, q, k, scope):
    tb, where = h["tb"], _where(q, scope)
    if mode == "lexical":
        b = tb.search(q["text"], query_type="fts")
        if where:
            b = b.where(where, prefilter=True)
        t = b.select(["id", "_score"]).limit(k).to_arrow()
        return list(zip(t["id"].to_pylist(), t["_score"].to_pylist()))
    t0 = time.perf_counter()
    v = h["emb"].embed_query(q["text"])
    h["embed_lat"].setdefault(mode, []).append(time.perf_counter() - t0)
    if mode == "dense":
        b = tb.search(v, query_type="vector").distance_type("cosine")
        if where:
            b = b.where(where, prefilter=True)
        t = b.select(["id", "_distance"]).limit(k).to_arrow()
        return [(d, 1.0 - dist) for d, dist in zip(t["id"].to_pylist(), t["_distance"].to_pylist())]
    b = tb.search(query_type="hybrid").vector(v).text(q["text"])
    if where:
        b = b.where(where, prefilter=True)
    t = b.rerank(h["rrf"]).limit(k).to_arrow()
    return list(zip(t["id"].to_pylist(), t["_relevance_score"].to_pylist()))


if __name__ == "__main__":
    ARGS = common.tool_args(__doc__)
    common.run_tool("lancedb", ARGS, build, search, ["lexical", "dense", "hybrid"],
                    {"version": metadata.version("lancedb"), "pyarrow": metadata.version("pyarrow"),
                     "fts": "native (use_tantivy=False): simple tokenizer, lowercase, ascii_folding, English stop "
                            "words + stemmer; BM25 k1/b built in (not settable)",
                     "dense": "exact cosine over precomputed all-MiniLM-L6-v2 int8 vectors (lore's model.onnx)",
                     "hybrid": f"RRFReranker(K={RRF_K}) over the top {common.DEPTH} of FTS and vector search",
                     "document": "FTS: title + ' ' + text; vector: see embed.py",
                     "latency": "dense/hybrid include embedding the query (ONNX, 2 threads)"},
                    "own filter: .where(\"meeting_id = '<id>'\", prefilter=True) (BTREE scalar index)")
