"""Tests for benches/check_metrics.py, runnable before lore writes any run file.

1. A hand-computed case: graded qrels, score ties (read in trec_eval order: doc id descending),
   a rank column that contradicts the scores (ignored), a query with no relevant doc (skipped),
   a judged query with no results (counts 0), a query outside the qrels (ignored).
2. A real run (bm25s on SciFact, or any --run FILE) scored by a tiny independent
   implementation written here; check_metrics must agree with it to 1e-4.
3. Mismatches and a missing run file must exit 1.

usage: python test_check_metrics.py [--run RUN.trec --dataset DIR]   (exit 0 = all passed)
"""
import argparse
import functools
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(os.path.dirname(HERE), "check_metrics.py")


def check(dataset_dir, eval_dir):
    p = subprocess.run([sys.executable, CHECK, dataset_dir, eval_dir], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def write_case(root, qrels_rows, run_lines, modes):
    ds, ev = os.path.join(root, "ds"), os.path.join(root, "ev")
    os.makedirs(ds, exist_ok=True)
    os.makedirs(ev, exist_ok=True)
    with open(os.path.join(ds, "qrels.tsv"), "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, d, s in qrels_rows:
            f.write(f"{q}\t{d}\t{s}\n")
    for mode, lines in run_lines.items():
        with open(os.path.join(ev, f"{mode}.trec"), "w") as f:
            f.write("".join(lines))
    with open(os.path.join(ev, "eval.json"), "w") as f:
        json.dump({"dataset": "case", "scope": None, "queries_evaluated": None, "modes": modes}, f)
    return ds, ev


def hand_case(root):
    qrels = [("q1", "a", 2), ("q1", "b", 1), ("q1", "c", 0), ("q1", "d", 1), ("q2", "x", 1),
             ("q3", "y", 0), ("q4", "z", 1)]
    # q1 in trec order: c(3) b(2) a(2) e(1) d(0.5) -- a and b tie, doc id descending puts b first.
    # The rank column deliberately says otherwise.
    lines = ["q1 Q0 a 1 2.0 t\n", "q1 Q0 b 2 2.0 t\n", "q1 Q0 c 3 3.0 t\n", "q1 Q0 e 4 1.0 t\n",
             "q1 Q0 d 5 0.5 t\n"]
    lines += [f"q2 Q0 n{i:02d} {i} {11 - i}.0 t\n" for i in range(1, 11)] + ["q2 Q0 x 11 0.5 t\n"]
    lines += ["q3 Q0 y 1 1.0 t\n", "q5 Q0 z 1 1.0 t\n"]  # q3: no relevant doc; q5: not judged
    ndcg_q1 = (1 / math.log2(3) + 2 / math.log2(4) + 1 / math.log2(6)) / (2 + 1 / math.log2(3) + 1 / math.log2(4))
    want = {"ndcg@10": ndcg_q1 / 3, "recall@10": 1 / 3, "recall@100": 2 / 3, "mrr@10": 0.5 / 3}
    return qrels, {"lexical": lines}, {"lexical": want}


def tiny_metrics(qrels, run):
    """Independent plain-Python trec_eval: comparator as in trec_eval's form_res_rels.c."""
    def cmp(x, y):
        if x[1] != y[1]:
            return -1 if x[1] > y[1] else 1
        return (x[0] < y[0]) - (x[0] > y[0])  # strcmp(y, x): doc id descending

    sums, n = [0.0, 0.0, 0.0, 0.0], 0
    for q, rels in qrels.items():
        good = [d for d, g in rels.items() if g > 0]
        if not good:
            continue
        n += 1
        ranked = [d for d, _ in sorted(run.get(q, {}).items(), key=functools.cmp_to_key(cmp))]
        dcg = 0.0
        for i in range(min(10, len(ranked))):
            dcg += rels.get(ranked[i], 0) / math.log2(i + 2)
        gains = sorted((rels[d] for d in good), reverse=True)
        idcg = sum(gains[i] / math.log2(i + 2) for i in range(min(10, len(gains))))
        sums[0] += dcg / idcg
        sums[1] += sum(1 for d in ranked[:10] if d in good) / len(good)
        sums[2] += sum(1 for d in ranked[:100] if d in good) / len(good)
        for i in range(min(10, len(ranked))):
            if ranked[i] in good:
                sums[3] += 1 / (i + 1)
                break
    return dict(zip(("ndcg@10", "recall@10", "recall@100", "mrr@10"), (s / n for s in sums))), n


def load_qrels(path):
    out = {}
    for line in open(path):
        p = line.rstrip("\n").split("\t")
        if p[0] != "query-id":
            out.setdefault(p[0], {})[p[1]] = int(p[2])
    return out


def load_run(path):
    out = {}
    for line in open(path):
        q, _, d, _, s, _ = line.split()
        out.setdefault(q, {}).setdefault(d, float(s))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default=None, help="a TREC run file to cross-check (default: bm25s on SciFact)")
    ap.add_argument("--dataset", default=os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "scifact")))
    args = ap.parse_args()
    failures = 0

    def expect(name, cond, out=""):
        nonlocal failures
        print(("PASS " if cond else "FAIL ") + name)
        if not cond:
            failures += 1
            print(out)

    with tempfile.TemporaryDirectory() as tmp:
        qrels, lines, want = hand_case(tmp)
        ds, ev = write_case(os.path.join(tmp, "hand"), qrels, lines, want)
        rc, out = check(ds, ev)
        expect("hand-computed case matches", rc == 0, out)
        tm, _ = tiny_metrics(load_qrels(os.path.join(ds, "qrels.tsv")), load_run(os.path.join(ev, "lexical.trec")))
        expect("tiny implementation agrees with the hand numbers",
               all(abs(tm[m] - want["lexical"][m]) < 1e-12 for m in tm), json.dumps(tm))

        off = {"lexical": dict(want["lexical"])}
        off["lexical"]["mrr@10"] += 2e-4
        ds, ev = write_case(os.path.join(tmp, "off"), qrels, lines, off)
        rc, out = check(ds, ev)
        expect("a metric off by 2e-4 exits 1", rc == 1 and "MISMATCH" in out, out)

        ds, ev = write_case(os.path.join(tmp, "missing"), qrels, lines,
                            {"lexical": want["lexical"], "dense": want["lexical"]})
        rc, out = check(ds, ev)
        expect("a mode without its run file exits 1", rc == 1 and "MISSING" in out, out)

        run_path = args.run
        if run_path is None:
            run_path = os.path.join(tmp, "bm25s.trec")
            sys.path.insert(0, HERE)
            import common
            import tool_bm25s
            name, docs, queries, qrels_real = common.load_dataset(args.dataset)
            h, _ = tool_bm25s.build(docs)
            run = {q["id"]: dict(tool_bm25s.search(h, "lexical", q, 100, None))
                   for q in common.judged_queries(queries, qrels_real)}
            common.write_trec(run_path, run, "bm25s")
        tm, n = tiny_metrics(load_qrels(os.path.join(args.dataset, "qrels.tsv")), load_run(run_path))
        real = os.path.join(tmp, "real")
        os.makedirs(real)
        os.symlink(os.path.abspath(run_path), os.path.join(real, "lexical.trec"))
        with open(os.path.join(real, "eval.json"), "w") as f:
            json.dump({"dataset": os.path.basename(args.dataset), "queries_evaluated": n, "modes": {"lexical": tm}}, f)
        rc, out = check(args.dataset, real)
        print(out)
        expect(f"real run ({os.path.basename(run_path)}, {n} queries) agrees with the tiny implementation", rc == 0, out)
    print(f"{'all passed' if not failures else f'{failures} failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
