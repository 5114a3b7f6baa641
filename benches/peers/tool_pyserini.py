"""Pyserini 0.22.1 (Anserini 0.22.1 / Lucene 9 inside its wheel): the BEIR 'flat' condition --
one `contents` field = title + ' ' + text, DefaultEnglishAnalyzer (Porter stemmer, Lucene's English
stop words), BM25 k1=0.9 b=0.4 (set_bm25). Indexed with `python -m pyserini.index.lucene`
(JsonCollection in a temp dir, its own process); searched through Anserini's SimpleSearcher via
pyjnius. `pyserini.search` itself is not imported: its __init__ pulls in faiss/torch for the dense
searchers.
Meeting scope: Lucene's own filter, BooleanQuery(MUST bag-of-words, FILTER TermQuery meeting_id),
meeting_id indexed as an extra JsonCollection field (--fields meeting_id)."""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

os.environ.setdefault("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")
from pyserini.pyclass import autoclass  # noqa: E402  (starts the JVM with Anserini's fat jar)

SimpleSearcher = autoclass("io.anserini.search.SimpleSearcher")
AnalyzerUtils = autoclass("io.anserini.analysis.AnalyzerUtils")
DefaultEnglishAnalyzer = autoclass("io.anserini.analysis.DefaultEnglishAnalyzer")
BagOfWords = autoclass("io.anserini.search.query.BagOfWordsQueryGenerator")
TermQuery = autoclass("org.apache.lucene.search.TermQuery")
Term = autoclass("org.apache.lucene.index.Term")
BooleanQueryBuilder = autoclass("org.apache.lucene.search.BooleanQuery$Builder")
Occur = autoclass("org.apache.lucene.search.BooleanClause$Occur")


def build(docs):
    tmp = tempfile.mkdtemp(prefix="peers-pyserini-")
    atexit.register(shutil.rmtree, tmp, True)
    coll, idx = os.path.join(tmp, "collection"), os.path.join(tmp, "index")
    os.makedirs(coll)
    has_meeting = all("meeting_id" in d for d in docs)
    t0 = time.perf_counter()
    with open(os.path.join(coll, "docs.jsonl"), "w", encoding="utf-8") as f:
        for d in docs:
            row = {"id": d["id"], "contents": common.lexical_text(d)}
            if has_meeting:
                row["meeting_id"] = d["meeting_id"]
            f.write(json.dumps(row) + "\n")
    write_s = time.perf_counter() - t0
    cmd = [sys.executable, "-m", "pyserini.index.lucene", "--collection", "JsonCollection", "--input", coll,
           "--index", idx, "--generator", "DefaultLuceneDocumentGenerator", "--threads", "2"]
    if has_meeting:
        cmd += ["--fields", "meeting_id"]
    t1 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    index_s = time.perf_counter() - t1
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
        raise SystemExit("pyserini indexing failed")
    searcher = SimpleSearcher(idx)
    searcher.set_bm25(0.9, 0.4)
    size = sum(os.path.getsize(os.path.join(idx, f)) for f in os.listdir(idx))
    return ({"s": searcher, "an": DefaultEnglishAnalyzer.newDefaultInstance(), "bow": BagOfWords()},
            {"build_seconds": round(write_s + index_s, 3), "collection_write_seconds": round(write_s, 3),
             "indexer_process_seconds": round(index_s, 3), "index_bytes": size,
             "note": "indexer_process_seconds includes the JVM start of the indexer process"})


def search(h, mode, q, k, scope):
    s = h["s"]
    if not scope:
        hits = s.search(q["text"], k)
    else:
        toks = list(AnalyzerUtils.analyze(h["an"], q[scope]))
        if len(toks) != 1:
            raise SystemExit(f"meeting id {q[scope]!r} analyses to {toks}: cannot filter on it exactly")
        b = BooleanQueryBuilder()
        b.add(h["bow"].buildQuery("contents", h["an"], q["text"]), Occur.MUST)
        b.add(TermQuery(Term(scope, toks[0])), Occur.FILTER)
        hits = s.search(b.build(), k)
    return [(hit.docid, float(hit.score)) for hit in hits]


if __name__ == "__main__":
    args = common.tool_args(__doc__)
    common.run_tool("pyserini", args, build, search, ["lexical"],
                    {"version": "pyserini 0.22.1 / anserini-0.22.1-fatjar", "k1": 0.9, "b": 0.4,
                     "analyzer": "DefaultEnglishAnalyzer (Porter, Lucene English stop words)",
                     "document": "contents = title + ' ' + text (BEIR flat)",
                     "scores": "Anserini rounds scores to 4 decimals (ScoreTiesAdjusterReranker); ties then "
                               "read in trec_eval order", "java": "17"},
                    "own filter: BooleanQuery(MUST bag-of-words, FILTER TermQuery on meeting_id field)")
