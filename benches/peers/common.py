"""Shared pieces of the peer benchmarks: data loading, the MiniLM embedder with its on-disk
cache, trec_eval-convention metrics (pytrec_eval), run files, latency statistics and the
per-tool driver loop.

Every tool script (tool_*.py) runs in its own process and calls `run_tool(...)`.
"""
import argparse
import collections
import hashlib
import json
import os
import resource
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_ROOT = os.environ.get("LORE_DATA", os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "data")))
MODEL_DIR = os.environ.get("LORE_MODEL_DIR", os.path.expanduser("~/.cache/lore/model"))
CACHE_DIR = os.environ.get("LORE_PEERS_CACHE", os.path.expanduser("~/.cache/lore/peers"))
MAX_TOKENS = 256
DEPTH = 100  # hits kept per query: enough for Recall@100
WARMUP = 20  # untimed queries per mode before the timed pass
THREADS = 2  # the machine has 2 cores


# ---------------------------------------------------------------- data

def load_dataset(name_or_dir, queries_name="queries.jsonl", qrels_name="qrels.tsv"):
    d = name_or_dir if os.path.isdir(name_or_dir) else os.path.join(DATA_ROOT, name_or_dir)
    docs = [json.loads(l) for l in open(os.path.join(d, "corpus.jsonl"), encoding="utf-8")]
    queries = [json.loads(l) for l in open(os.path.join(d, queries_name), encoding="utf-8")]
    qrels = read_qrels(os.path.join(d, qrels_name))
    return os.path.basename(os.path.normpath(d)), docs, queries, qrels


def read_qrels(path):
    qrels = collections.defaultdict(dict)
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 3 or p[0] == "query-id":
                continue
            qrels[p[0]][p[1]] = int(p[2])
    return dict(qrels)


def judged_queries(queries, qrels):
    """Queries that have at least one rel>0 judgment (the ones the metrics average over)."""
    return [q for q in queries if any(v > 0 for v in qrels.get(q["id"], {}).values())]


def lexical_text(doc):
    """Flat BM25 document: title + text, as Pyserini's BEIR 'flat' condition and bm25_eval.py."""
    return ((doc.get("title") or "") + " " + doc.get("text", "")).strip()


def embedding_text(doc):
    """Passage text for the embedder: title + "\\n" + text, or the text alone when the title is
    only an id (QMSum: title == meeting_id)."""
    title = (doc.get("title") or "").strip()
    if not title or title == doc.get("id") or title == doc.get("meeting_id"):
        return doc.get("text", "")
    return title + "\n" + doc.get("text", "")


def scopes_for(docs, queries):
    """[None] (corpus-wide) plus 'meeting_id' when both queries and docs carry it."""
    scopes = [None]
    if queries and all("meeting_id" in q for q in queries) and all("meeting_id" in d for d in docs):
        scopes.append("meeting_id")
    return scopes


# ---------------------------------------------------------------- embedder + cache

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Embedder:
    """all-MiniLM-L6-v2 (int8 ONNX, lore's file): truncation at 256 tokens, mean pooling over
    the attention mask, L2 normalisation. No query or passage prefix."""

    def __init__(self, model_dir=MODEL_DIR, threads=THREADS):
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.np = np
        self.model_path = os.path.join(model_dir, "model.onnx")
        self.model_sha = sha256_file(self.model_path)
        tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        # tokenizer.json ships truncation 128 + fixed padding 128: override both.
        tok.no_padding()
        tok.enable_truncation(max_length=MAX_TOKENS)
        self.tok = tok
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(self.model_path, so, providers=["CPUExecutionProvider"])
        self.ort_version = ort.__version__

    def _run(self, encs):
        np = self.np
        n = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), n), dtype=np.int64)
        mask = np.zeros((len(encs), n), dtype=np.int64)
        types = np.zeros((len(encs), n), dtype=np.int64)
        for i, e in enumerate(encs):
            L = len(e.ids)
            ids[i, :L] = e.ids
            mask[i, :L] = e.attention_mask
            types[i, :L] = e.type_ids
        (hidden,) = self.sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norm, 1e-12, None)).astype(np.float32)

    def embed_query(self, text):
        return self._run([self.tok.encode(text)])[0]

    def embed_many(self, texts, batch=32, progress=True):
        """Batches sorted by token length (less padding); returns vectors in input order."""
        np = self.np
        encs = self.tok.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        t0 = time.perf_counter()
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            out[idx] = self._run([encs[i] for i in idx])
            if progress and (s // batch) % 20 == 0:
                done = s + len(idx)
                el = time.perf_counter() - t0
                print(f"  embedded {done}/{len(texts)} ({done / max(el, 1e-9):.1f}/s)", file=sys.stderr, flush=True)
        return out


class EmbeddingCache:
    """sqlite under ~/.cache/lore/peers/: key = sha256(model sha256 + NUL + passage text)."""

    def __init__(self, path=None):
        os.makedirs(CACHE_DIR, exist_ok=True)
        self.path = path or os.path.join(CACHE_DIR, "embeddings.sqlite")
        self.db = sqlite3.connect(self.path)
        self.db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS full_runs (dataset TEXT, model_sha TEXT, n INTEGER, "
                        "seconds REAL, at TEXT)")
        self.db.commit()

    @staticmethod
    def key(model_sha, text):
        return hashlib.sha256(model_sha.encode() + b"\0" + text.encode("utf-8")).hexdigest()

    def get_many(self, keys):
        found = {}
        for s in range(0, len(keys), 500):
            part = keys[s:s + 500]
            q = "SELECT key, v FROM vec WHERE key IN (%s)" % ",".join("?" * len(part))
            for k, v in self.db.execute(q, part):
                found[k] = v
        return found

    def put_many(self, items):
        self.db.executemany("INSERT OR REPLACE INTO vec (key, v) VALUES (?, ?)", items)
        self.db.commit()

    def record_full_run(self, dataset, model_sha, n, seconds):
        self.db.execute("INSERT INTO full_runs VALUES (?, ?, ?, ?, datetime('now'))",
                        (dataset, model_sha, n, seconds))
        self.db.commit()

    def last_full_run(self, dataset, model_sha):
        row = self.db.execute("SELECT n, seconds, at FROM full_runs WHERE dataset=? AND model_sha=? "
                              "ORDER BY rowid DESC LIMIT 1", (dataset, model_sha)).fetchone()
        return None if row is None else {"n": row[0], "seconds": row[1], "at": row[2]}


def passage_vectors(dataset, docs, embedder, allow_embed=True):
    """Vectors for every doc, in corpus order, from the cache; embeds (and caches) what is missing.
    Returns (matrix, info)."""
    import numpy as np

    cache = EmbeddingCache()
    texts = [embedding_text(d) for d in docs]
    keys = [cache.key(embedder.model_sha, t) for t in texts]
    t0 = time.perf_counter()
    found = cache.get_many(keys)
    missing = [i for i, k in enumerate(keys) if k not in found]
    embed_s = 0.0
    if missing:
        if not allow_embed:
            raise SystemExit(f"{len(missing)} passage vectors of {dataset} are not cached; run embed.py first")
        t1 = time.perf_counter()
        vecs = embedder.embed_many([texts[i] for i in missing])
        embed_s = time.perf_counter() - t1
        cache.put_many([(keys[i], vecs[j].tobytes()) for j, i in enumerate(missing)])
        for j, i in enumerate(missing):
            found[keys[i]] = vecs[j].tobytes()
        if len(missing) == len(docs):
            cache.record_full_run(dataset, embedder.model_sha, len(docs), embed_s)
    mat = np.stack([np.frombuffer(found[k], dtype=np.float32) for k in keys])
    info = {"passages": len(docs), "embedded_now": len(missing), "reused_from_cache": len(docs) - len(missing),
            "embed_seconds_now": round(embed_s, 3), "load_seconds": round(time.perf_counter() - t0 - embed_s, 3),
            "last_full_embed": cache.last_full_run(dataset, embedder.model_sha),
            "cache": cache.path, "model_sha256": embedder.model_sha}
    return mat, info


# ---------------------------------------------------------------- metrics (trec_eval conventions)

def trec_order(hits):
    """trec_eval's reading of a run: score descending, ties by doc id descending (strcmp reversed)."""
    return sorted(hits, key=lambda x: (x[1], x[0]), reverse=True)


METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


def evaluate(qrels, run):
    """qrels {qid: {docid: int}}, run {qid: {docid: float}} -> (means, per_query, n).
    Averages over queries with at least one rel>0 judgment; such a query with no results counts 0.
    nDCG@10, Recall@10/100 from pytrec_eval (ndcg_cut_10, recall_10, recall_100); MRR@10 is
    pytrec_eval recip_rank on the run cut to its first 10 hits in trec order."""
    import pytrec_eval

    judged = {q: r for q, r in qrels.items() if any(v > 0 for v in r.values())}
    full = {q: {d: float(s) for d, s in run[q].items()} for q in judged if run.get(q)}
    cut = {q: dict(trec_order(list(h.items()))[:10]) for q, h in full.items()}
    ev = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10", "recall.10,100"})
    ev_rr = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"})
    a = ev.evaluate(full) if full else {}
    b = ev_rr.evaluate(cut) if cut else {}
    per_query = {}
    for q in judged:
        ra, rb = a.get(q, {}), b.get(q, {})
        per_query[q] = {"ndcg@10": ra.get("ndcg_cut_10", 0.0), "recall@10": ra.get("recall_10", 0.0),
                        "recall@100": ra.get("recall_100", 0.0), "mrr@10": rb.get("recip_rank", 0.0)}
    n = len(judged)
    means = {m: (sum(p[m] for p in per_query.values()) / n if n else 0.0) for m in METRICS}
    return means, per_query, n


def evaluate_stdlib(qrels, run):
    """The same metrics in plain Python (cross-check for pytrec_eval): check_metrics.py's."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from check_metrics import metrics_stdlib

    return metrics_stdlib(qrels, run)


# ---------------------------------------------------------------- run files, latency, memory

def write_trec(path, run, tag):
    with open(path, "w", encoding="utf-8") as f:
        for q, hits in run.items():
            for r, (d, s) in enumerate(trec_order(list(hits.items()))):
                f.write(f"{q} Q0 {d} {r + 1} {s!r} {tag}\n")


def read_trec(path):
    run = collections.defaultdict(dict)
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.split()
            if len(p) < 6:
                continue
            q, d, s = p[0], p[2], float(p[4])
            if d not in run[q] or s > run[q][d]:
                run[q][d] = s
    return dict(run)


def latency_stats(seconds):
    import numpy as np

    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    if ms.size == 0:
        return {}
    return {"p50": round(float(np.percentile(ms, 50)), 3), "p90": round(float(np.percentile(ms, 90)), 3),
            "p99": round(float(np.percentile(ms, 99)), 3), "mean": round(float(ms.mean()), 3),
            "max": round(float(ms.max()), 3), "n": int(ms.size)}


def peak_rss_mb():
    """Peak RSS of this process and of its finished children (Linux ru_maxrss is in KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return round(own, 1), round(kids, 1)


def runs_root():
    return os.environ.get("LORE_PEERS_RUNS", os.path.join(CACHE_DIR, "runs"))


# ---------------------------------------------------------------- the per-tool driver

def tool_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("dataset", help="name under ../shared/data (or $LORE_DATA) or a dataset directory")
    ap.add_argument("--out", default=None, help="result JSON (default benches/peers/results/<dataset>-<tool>.json)")
    ap.add_argument("--limit-queries", type=int, default=0, help="evaluate only the first N judged queries (smoke test)")
    return ap.parse_args()


def run_tool(tool, args, build, search, modes, config, scope_method):
    """build(docs) -> (handle, build_info dict); search(handle, mode, query_dict, k, scope_field) ->
    list of (docid, score) in the tool's own order; scope_field None or 'meeting_id'."""
    dataset, docs, queries, qrels = load_dataset(args.dataset)
    qs = judged_queries(queries, qrels)
    if args.limit_queries:
        qs = qs[:args.limit_queries]
        qrels = {q["id"]: qrels[q["id"]] for q in qs}
    t0 = time.perf_counter()
    handle, build_info = build(docs)
    build_info.setdefault("build_seconds", round(time.perf_counter() - t0, 3))
    print(f"[{tool}] {dataset}: index built in {build_info['build_seconds']} s", file=sys.stderr, flush=True)
    by_id = {d["id"]: d for d in docs}
    result = {"tool": tool, "dataset": dataset, "docs": len(docs), "queries_evaluated": len(qs),
              "config": config, "scope_method": scope_method, "index": build_info, "scopes": {},
              "depth": DEPTH, "warmup_queries_per_mode": WARMUP, "python": sys.version.split()[0]}
    for scope in scopes_for(docs, queries):
        sname = scope or "corpus"
        run_dir = os.path.join(runs_root(), f"{dataset}-{tool}-{sname}")
        os.makedirs(run_dir, exist_ok=True)
        lore_shape = {"dataset": dataset, "scope": scope, "queries_evaluated": len(qs), "tool": tool,
                      "index": build_info, "modes": {}}
        out_modes = {}
        for mode in modes:
            for q in qs[:WARMUP]:
                search(handle, mode, q, DEPTH, scope)
            if isinstance(handle, dict) and "embed_lat" in handle:
                handle["embed_lat"][mode] = []
            run, lat = {}, []
            violations = 0
            for q in qs:
                t1 = time.perf_counter()
                hits = search(handle, mode, q, DEPTH, scope)
                lat.append(time.perf_counter() - t1)
                if scope:
                    violations += sum(1 for d, _ in hits if by_id[d].get(scope) != q.get(scope))
                run[q["id"]] = {d: float(s) for d, s in hits}
            if violations:
                raise SystemExit(f"[{tool}] {mode}/{sname}: {violations} hits outside the query's {scope}")
            run_file = os.path.join(run_dir, f"{mode}.trec")
            write_trec(run_file, run, f"{tool}-{mode}")
            means, _, n = evaluate(qrels, read_trec(run_file))  # evaluate exactly what the file says
            entry = {k: round(v, 6) for k, v in means.items()}
            entry.update({"latency_ms": latency_stats(lat), "run_file": run_file, "queries": n,
                          "empty_results": sum(1 for q in qs if not run.get(q["id"]))})
            if isinstance(handle, dict) and handle.get("embed_lat", {}).get(mode):
                entry["query_embed_ms"] = latency_stats(handle["embed_lat"][mode])
            out_modes[mode] = entry
            lore_shape["modes"][mode] = entry
            print(f"[{tool}] {dataset}/{sname}/{mode}: ndcg@10 {entry['ndcg@10']:.4f} r@10 {entry['recall@10']:.4f} "
                  f"r@100 {entry['recall@100']:.4f} mrr@10 {entry['mrr@10']:.4f} p50 {entry['latency_ms']['p50']} ms",
                  file=sys.stderr, flush=True)
        with open(os.path.join(run_dir, "eval.json"), "w") as f:
            json.dump(lore_shape, f, indent=1)
        result["scopes"][sname] = {"modes": out_modes, "run_dir": run_dir}
    own, kids = peak_rss_mb()
    result["peak_rss_mb_self"] = own
    result["peak_rss_mb_children"] = kids
    out = args.out or os.path.join(HERE, "results", f"{dataset}-{tool}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"[{tool}] wrote {out}", file=sys.stderr)
    return result
