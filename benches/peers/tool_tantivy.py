"""tantivy (the Python binding of the engine lore uses): simple tokenizer, lower-casing, ASCII
folding, English stop words, English (Snowball) stemmer -- the analyzer lore registers -- on a flat
title+text field. BM25 k1/b are fixed by tantivy at 1.2/0.75 (not settable from Python).
Meeting scope: the index's own filter, a const-score(0) term query on a raw `meeting_id` field
that must match."""
import os
import re
import shutil
import sys
import tempfile
import atexit
from importlib import metadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import tantivy  # noqa: E402
from tantivy import Filter, Occur, Query, TextAnalyzerBuilder, Tokenizer  # noqa: E402

WORD = re.compile(r"\w+", re.UNICODE)


def analyzer():
    return (TextAnalyzerBuilder(Tokenizer.simple())
            .filter(Filter.remove_long(40))
            .filter(Filter.lowercase())
            .filter(Filter.ascii_fold())
            .filter(Filter.stopword("english"))
            .filter(Filter.stemmer("english"))
            .build())


def build(docs):
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("body", stored=False, tokenizer_name="lore_en", index_option="freq")
    sb.add_text_field("meeting_id", stored=False, tokenizer_name="raw", index_option="basic")
    schema = sb.build()
    path = tempfile.mkdtemp(prefix="peers-tantivy-")
    atexit.register(shutil.rmtree, path, True)
    index = tantivy.Index(schema, path=path)
    index.register_tokenizer("lore_en", analyzer())
    w = index.writer(heap_size=200_000_000, num_threads=1)
    for d in docs:
        w.add_document(tantivy.Document(id=d["id"], body=common.lexical_text(d),
                                    meeting_id=d.get("meeting_id", "")))
    w.commit()
    w.wait_merging_threads()
    index.reload()
    size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return {"index": index, "searcher": index.searcher(), "path": path}, {"index_bytes": size, "dir": path}


def search(h, mode, q, k, scope):
    # The query parser's syntax (":", "(", "-", quotes, AND/OR) is stripped: a bag of words, OR-ed.
    text = " ".join(WORD.findall(q["text"].lower()))
    if not text:
        return []
    query = h["index"].parse_query(text, ["body"])
    if scope:
        f = Query.const_score_query(Query.term_query(h["index"].schema, "meeting_id", q[scope]), 0.0)
        query = Query.boolean_query([(Occur.Must, query), (Occur.Must, f)])
    s = h["searcher"]
    res = s.search(query, k)
    return [(s.doc(addr)["id"][0], float(score)) for score, addr in res.hits]


if __name__ == "__main__":
    args = common.tool_args(__doc__)
    common.run_tool("tantivy", args, build, search, ["lexical"],
                    {"version": metadata.version("tantivy"), "engine": str(getattr(tantivy, "__version__", "")), "k1": 1.2, "b": 0.75,
                     "bm25_params_settable": False,
                     "analyzer": "simple tokenizer, remove_long(40), lowercase, ascii_fold, stopword(english), "
                                 "stemmer(english) = lore's analyzer", "document": "title + ' ' + text",
                     "query": "words of the query OR-ed through the query parser"},
                    "own filter: BooleanQuery(Must text, Must const-score(0) TermQuery meeting_id on a raw field)")
