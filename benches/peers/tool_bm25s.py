"""bm25s (sparse-matrix BM25 in numpy): Lucene BM25 variant, k1=0.9 b=0.4, Porter stemming
(PyStemmer) and Lucene's 33 English stop words, flat title+text documents.
Meeting scope: bm25s' own `weight_mask` (0/1 per document)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import bm25s  # noqa: E402
import numpy as np  # noqa: E402
import Stemmer  # noqa: E402

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (the list Anserini and bm25_eval.py use).
LUCENE_STOP = ("a an and are as at be but by for if in into is it no not of on or such that the their "
               "then there these they this to was will with").split()
STEM = Stemmer.Stemmer("porter")
TOKEN = r"(?u)\b\w+\b"  # like bm25_eval.py; bm25s default \w\w+ drops 1-char tokens


def build(docs):
    toks = bm25s.tokenize([common.lexical_text(d) for d in docs], token_pattern=TOKEN, stopwords=LUCENE_STOP, stemmer=STEM,
                          show_progress=False)
    model = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    model.index(toks, show_progress=False)
    ids = [d["id"] for d in docs]
    masks = {}
    for i, d in enumerate(docs):
        if "meeting_id" in d:
            masks.setdefault(d["meeting_id"], np.zeros(len(docs), dtype=np.float32))[i] = 1.0
    return {"model": model, "ids": ids, "masks": masks, "n": len(docs)}, {"vocab": len(toks.vocab)}


def search(h, mode, q, k, scope):
    qt = bm25s.tokenize([q["text"]], token_pattern=TOKEN, stopwords=LUCENE_STOP, stemmer=STEM, show_progress=False)
    if not qt.ids[0]:
        return []
    mask = h["masks"].get(q.get(scope)) if scope else None
    if scope and mask is None:
        return []
    res, scores = h["model"].retrieve(qt, k=min(k, h["n"]), show_progress=False, n_threads=1, weight_mask=mask)
    # bm25s always returns k rows; rows scoring 0 matched no query term (or were masked out).
    return [(h["ids"][int(i)], float(s)) for i, s in zip(res[0], scores[0]) if s > 0]


if __name__ == "__main__":
    args = common.tool_args(__doc__)
    common.run_tool("bm25s", args, build, search, ["lexical"],
                    {"version": bm25s.__version__, "method": "lucene", "k1": 0.9, "b": 0.4,
                     "stemmer": "PyStemmer porter", "stopwords": "Lucene English (33)",
                     "token_pattern": TOKEN,
                     "document": "title + ' ' + text"},
                    "own filter: bm25s retrieve(weight_mask=0/1 per passage of the query's meeting)")
