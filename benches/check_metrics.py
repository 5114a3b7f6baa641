#!/usr/bin/env python3
"""Recompute the retrieval metrics of an evaluation directory and compare them with its eval.json.

usage: check_metrics.py DATASET_DIR EVAL_DIR [--qrels qrels.tsv] [--tol 1e-4] [--stdlib]

Reads DATASET_DIR/qrels.tsv (header `query-id corpus-id score`, score > 0 = relevant), every
EVAL_DIR/<mode>.trec run file (`qid Q0 docid rank score tag`) and EVAL_DIR/eval.json
(`{"modes": {"<mode>": {"ndcg@10", "recall@10", "recall@100", "mrr@10", ...}}}`), recomputes
nDCG@10, Recall@10, Recall@100 and MRR@10 per mode, prints a comparison table and exits 1 when any
metric differs from eval.json by more than --tol (exit 2 on bad input).

Conventions (trec_eval's):
* a run is read in trec_eval order: score descending, ties by doc id descending (strcmp
  reversed); the rank column is ignored;
* nDCG@10 with linear gains from the graded qrels, ideal DCG from all judged docs with rel > 0;
* Recall@k over the docs with rel > 0;
* MRR@10 = reciprocal rank of the first rel > 0 doc within the top 10 (pytrec_eval recip_rank on
  the run cut to its first 10 hits in trec order);
* queries without a rel > 0 judgment are skipped; a query with relevant docs but no results
  counts 0; the mean is over the remaining queries.

The numbers come from pytrec_eval (pip install pytrec-eval-terrier); a plain-Python implementation
of the same definitions runs beside it as a cross-check (and alone with --stdlib or when
pytrec_eval is missing).
"""
import argparse
import collections
import json
import math
import os
import sys

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


def read_qrels(path):
    qrels = collections.defaultdict(dict)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            p = line.rstrip("\n").split("\t")
            if len(p) < 3 or (n == 1 and p[0] == "query-id"):
                continue
            qrels[p[0]][p[1]] = int(p[2])
    return dict(qrels)


def read_run(path):
    """{qid: {docid: score}}; a doc repeated within a query keeps its first line (counted)."""
    run = collections.defaultdict(dict)
    dups = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            p = line.split()
            if not p:
                continue
            if len(p) < 6:
                raise ValueError(f"{path}:{n}: expected `qid Q0 docid rank score tag`, got {line.strip()!r}")
            q, d, s = p[0], p[2], float(p[4])
            if d in run[q]:
                dups += 1
                continue
            run[q][d] = s
    return dict(run), dups


def trec_order(hits):
    return sorted(hits, key=lambda x: (x[1], x[0]), reverse=True)


def judged_only(qrels):
    return {q: r for q, r in qrels.items() if any(v > 0 for v in r.values())}


def metrics_pytrec(qrels, run):
    import pytrec_eval

    judged = judged_only(qrels)
    full = {q: run[q] for q in judged if run.get(q)}
    cut = {q: dict(trec_order(list(h.items()))[:10]) for q, h in full.items()}
    a = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10", "recall.10,100"}).evaluate(full) if full else {}
    b = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(cut) if cut else {}
    tot = dict.fromkeys(METRICS, 0.0)
    for q in judged:
        ra, rb = a.get(q, {}), b.get(q, {})
        tot["ndcg@10"] += ra.get("ndcg_cut_10", 0.0)
        tot["recall@10"] += ra.get("recall_10", 0.0)
        tot["recall@100"] += ra.get("recall_100", 0.0)
        tot["mrr@10"] += rb.get("recip_rank", 0.0)
    n = len(judged)
    return {m: (v / n if n else 0.0) for m, v in tot.items()}, n


def metrics_stdlib(qrels, run):
    judged = judged_only(qrels)
    tot = dict.fromkeys(METRICS, 0.0)
    for q, rels in judged.items():
        ranked = [d for d, _ in trec_order(list(run.get(q, {}).items()))]
        relset = {d for d, v in rels.items() if v > 0}
        dcg = sum(max(rels.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
        ideal = sorted((v for v in rels.values() if v > 0), reverse=True)[:10]
        idcg = sum(v / math.log2(i + 2) for i, v in enumerate(ideal))
        tot["ndcg@10"] += dcg / idcg if idcg else 0.0
        tot["recall@10"] += len(relset & set(ranked[:10])) / len(relset)
        tot["recall@100"] += len(relset & set(ranked[:100])) / len(relset)
        tot["mrr@10"] += next((1.0 / (i + 1) for i, d in enumerate(ranked[:10]) if d in relset), 0.0)
    n = len(judged)
    return {m: (v / n if n else 0.0) for m, v in tot.items()}, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset_dir")
    ap.add_argument("eval_dir")
    ap.add_argument("--qrels", default="qrels.tsv", help="qrels file, a path or a name inside DATASET_DIR")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--stdlib", action="store_true", help="use the plain-Python metrics only")
    args = ap.parse_args()

    qrels_path = args.qrels if os.path.isfile(args.qrels) else os.path.join(args.dataset_dir, args.qrels)
    eval_path = os.path.join(args.eval_dir, "eval.json")
    for p in (qrels_path, eval_path):
        if not os.path.isfile(p):
            print(f"error: {p} not found", file=sys.stderr)
            return 2
    qrels = read_qrels(qrels_path)
    with open(eval_path, encoding="utf-8") as f:
        ev = json.load(f)
    modes = ev.get("modes") or {}
    if not isinstance(modes, dict) or not modes:
        print(f"error: {eval_path} has no \"modes\" object", file=sys.stderr)
        return 2

    use_pytrec = not args.stdlib
    if use_pytrec:
        try:
            import pytrec_eval  # noqa: F401
        except ImportError:
            print("warning: pytrec_eval is not installed; using the plain-Python metrics", file=sys.stderr)
            use_pytrec = False

    n_judged = len(judged_only(qrels))
    print(f"qrels {qrels_path}: {n_judged} queries with a relevant doc; eval.json: dataset={ev.get('dataset')} "
          f"scope={ev.get('scope')} queries_evaluated={ev.get('queries_evaluated')}")
    if ev.get("queries_evaluated") not in (None, n_judged):
        print(f"warning: eval.json evaluated {ev.get('queries_evaluated')} queries, the qrels judge {n_judged}")
    print(f"metrics: {'pytrec_eval' if use_pytrec else 'plain Python'}; tolerance {args.tol:g}\n")

    header = f"{'mode':<10} {'metric':<11} {'eval.json':>10} {'recomputed':>10} {'diff':>10}  status"
    print(header)
    print("-" * len(header))
    failures, problems = 0, 0
    trec_files = sorted(f[:-5] for f in os.listdir(args.eval_dir) if f.endswith(".trec"))
    for mode in list(modes) + [m for m in trec_files if m not in modes]:
        run_path = os.path.join(args.eval_dir, f"{mode}.trec")
        if not os.path.isfile(run_path):
            alt = (modes.get(mode) or {}).get("run_file")
            if alt and os.path.isfile(alt):
                run_path = alt
            else:
                print(f"{mode:<10} {'-':<11} {'':>10} {'':>10} {'':>10}  MISSING run file {mode}.trec")
                problems += 1
                continue
        try:
            run, dups = read_run(run_path)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        got, _ = metrics_pytrec(qrels, run) if use_pytrec else metrics_stdlib(qrels, run)
        if use_pytrec:  # cross-check the two implementations
            alt, _ = metrics_stdlib(qrels, run)
            worst = max(abs(alt[m] - got[m]) for m in METRICS)
            if worst > 1e-9:
                print(f"warning: {mode}: pytrec_eval and the plain-Python metrics differ by {worst:.2e}")
        want = modes.get(mode)
        for m in METRICS:
            ref = None if not isinstance(want, dict) else want.get(m)
            if ref is None:
                status = "not in eval.json" if want is None else "MISSING in eval.json"
                if want is not None:
                    problems += 1
                print(f"{mode:<10} {m:<11} {'-':>10} {got[m]:>10.6f} {'-':>10}  {status}")
                continue
            diff = got[m] - float(ref)
            bad = abs(diff) > args.tol
            failures += bad
            print(f"{mode:<10} {m:<11} {float(ref):>10.6f} {got[m]:>10.6f} {diff:>+10.2e}  {'MISMATCH' if bad else 'ok'}")
        missing = sum(1 for q in judged_only(qrels) if not run.get(q))
        extra = sum(1 for q in run if q not in qrels)
        notes = [f"{sum(len(h) for h in run.values())} hits, {len(run)} queries"]
        if missing:
            notes.append(f"{missing} judged queries without results (count 0)")
        if extra:
            notes.append(f"{extra} queries not in qrels (ignored)")
        if dups:
            notes.append(f"{dups} repeated doc lines ignored")
        print(f"{'':<10} {'':<11} {os.path.basename(run_path)}: " + "; ".join(notes))
    print()
    if failures or problems:
        print(f"FAIL: {failures} metric(s) differ by more than {args.tol:g}, {problems} missing item(s)")
        return 1
    print("OK: every metric matches eval.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
