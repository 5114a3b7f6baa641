"""Driver: embeds once (cached), runs every peer tool in its own process under /usr/bin/time -v,
runs lore's own `lore eval` when the binary has it, verifies every run directory with
benches/check_metrics.py, and writes results/<dataset>-<tool>.json and results/TABLE.md.

usage: python bench.py [--datasets scifact qmsum] [--tools bm25s tantivy pyserini lancedb]
                       [--no-lore] [--lore PATH] [--table-only]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HERE = common.HERE
REPO = os.path.dirname(os.path.dirname(HERE))
RESULTS = os.path.join(HERE, "results")
CHECK = os.path.join(REPO, "benches", "check_metrics.py")
TOOLS = ["bm25s", "tantivy", "pyserini", "lancedb"]
DENSE_TOOLS = {"lancedb"}
TIME = "/usr/bin/time"


def log_dir():
    d = os.path.join(common.runs_root(), "logs")
    os.makedirs(d, exist_ok=True)
    return d


def parse_time_v(text):
    out = {}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        out["peak_rss_mb"] = round(int(m.group(1)) / 1024.0, 1)
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    if m:
        secs = 0.0
        for part in m.group(1).split(":"):
            secs = secs * 60 + float(part)
        out["wall_seconds"] = round(secs, 2)
    m = re.search(r"Percent of CPU this job got: (\d+)%", text)
    if m:
        out["cpu_percent"] = int(m.group(1))
    return out


def timed(cmd, log_name, timeout=None):
    """Run cmd under /usr/bin/time -v; stdout+stderr go to a log file. Returns (rc, time info, log text)."""
    log = os.path.join(log_dir(), log_name)
    full = ([TIME, "-v"] if os.path.exists(TIME) else []) + cmd
    print(f"$ {' '.join(cmd)}   (log: {log})", flush=True)
    t0 = time.perf_counter()
    with open(log, "w") as f:
        try:
            p = subprocess.run(full, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, cwd=HERE)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = -999
    text = open(log, errors="replace").read()
    info = parse_time_v(text)
    text = text.split("\tCommand being timed:")[0]  # the program's own output, without time -v's report
    text = "\n".join(l for l in text.splitlines() if not l.startswith("Command exited with non-zero status"))
    info.setdefault("wall_seconds", round(time.perf_counter() - t0, 2))
    return rc, info, text


def check_dir(dataset, run_dir):
    p = subprocess.run([sys.executable, CHECK, os.path.join(common.DATA_ROOT, dataset), run_dir],
                       capture_output=True, text=True)
    return {"rc": p.returncode, "ok": p.returncode == 0, "summary": (p.stdout.strip().splitlines() or [""])[-1]}


def tail(text, n=15):
    return "\n".join(text.strip().splitlines()[-n:])


def run_embed(ds):
    rc, info, text = timed([sys.executable, "embed.py", ds], f"{ds}-embed.log")
    path = os.path.join(RESULTS, f"{ds}-embed.json")
    if rc != 0:
        print(f"  embedding {ds} FAILED (rc {rc}):\n{tail(text)}")
        return False
    res = json.load(open(path))
    res["process"] = info
    json.dump(res, open(path, "w"), indent=1)
    print(f"  embedded {ds}: {res['embedded_now']} new, {res['reused_from_cache']} cached "
          f"({res['embed_seconds_now']} s now; last full run {res.get('last_full_embed')})")
    return True


def run_peer(ds, tool):
    path = os.path.join(RESULTS, f"{ds}-{tool}.json")
    if os.path.exists(path):
        os.remove(path)
    rc, info, text = timed([sys.executable, f"tool_{tool}.py", ds], f"{ds}-{tool}.log")
    if rc != 0 or not os.path.exists(path):
        err = {"tool": tool, "dataset": ds, "failed": True, "rc": rc, "error": tail(text), "process": info}
        json.dump(err, open(path, "w"), indent=1)
        print(f"  {tool} on {ds} FAILED (rc {rc}):\n{tail(text)}")
        return
    res = json.load(open(path))
    res["process"] = info
    res["check_metrics"] = {s: check_dir(ds, v["run_dir"]) for s, v in res["scopes"].items()}
    json.dump(res, open(path, "w"), indent=1)
    for s, v in res["scopes"].items():
        for m, e in v["modes"].items():
            print(f"  {tool:<9} {ds}/{s:<10} {m:<8} nDCG@10 {e['ndcg@10']:.4f}  R@100 {e['recall@100']:.4f}  "
                  f"p50 {e['latency_ms']['p50']} ms  check_metrics: {res['check_metrics'][s]['summary']}")


def run_lore(ds, lore):
    """lore eval DATASET --mode all --out DIR [--scope meeting_id] for each scope the data set has."""
    name, docs, queries, _ = common.load_dataset(ds)
    path = os.path.join(RESULTS, f"{name}-lore.json")
    res = {"tool": "lore", "dataset": name, "binary": os.path.abspath(lore), "scopes": {}, "failures": []}
    # Our own index directory (not lore's default ~/.cache/lore/eval/..., which a developer may be
    # using), rebuilt once per data set so build_seconds is a real build; the chunk vectors come from
    # lore's embedding cache, so lore's embed_seconds is ~0 unless that cache is cold.
    index_dir = os.path.join(common.CACHE_DIR, "lore-index", name)
    for i, scope in enumerate(common.scopes_for(docs, queries)):
        sname = scope or "corpus"
        out = os.path.join(common.runs_root(), f"{name}-lore-{sname}")
        if os.path.isdir(out):
            shutil.rmtree(out)
        cmd = [os.path.abspath(lore), "eval", os.path.join(common.DATA_ROOT, name), "--mode", "all", "--out", out,
               "--index", index_dir]
        if i == 0:
            cmd.append("--rebuild")
        if scope:
            cmd += ["--scope", scope]
        rc, info, text = timed(cmd, f"{name}-lore-{sname}.log")
        ev_path = os.path.join(out, "eval.json")
        if rc != 0 or not os.path.exists(ev_path):
            msg = f"`{' '.join(cmd[1:])}` failed (rc {rc}): {tail(text, 6)}"
            print(f"  lore rows skipped for {name}/{sname}: {msg}")
            res["failures"].append(msg)
            continue
        ev = json.load(open(ev_path))
        modes = {}
        for m, e in (ev.get("modes") or {}).items():
            modes[m] = dict(e)
        res["scopes"][sname] = {"modes": modes, "run_dir": out, "index": ev.get("index"), "process": info,
                                "queries_evaluated": ev.get("queries_evaluated"),
                                "check_metrics": check_dir(name, out)}
        res["queries_evaluated"] = ev.get("queries_evaluated")
        for m, e in modes.items():
            lat = e.get("latency_ms") or {}
            print(f"  lore      {name}/{sname:<10} {m:<8} nDCG@10 {e.get('ndcg@10')}  R@100 {e.get('recall@100')}  "
                  f"p50 {lat.get('p50')} ms  check_metrics: {res['scopes'][sname]['check_metrics']['summary']}")
    if res["scopes"] or res["failures"]:
        json.dump(res, open(path, "w"), indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["scifact", "qmsum"])
    ap.add_argument("--tools", nargs="+", default=TOOLS, choices=TOOLS)
    ap.add_argument("--no-lore", action="store_true")
    ap.add_argument("--lore", default=os.environ.get("LORE_BIN", os.path.join(REPO, "target", "release", "lore")))
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    if not args.table_only:
        meta = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                "datasets": args.datasets, "tools": args.tools}
        for ds in args.datasets:
            embedded = True
            if any(t in DENSE_TOOLS for t in args.tools):
                embedded = run_embed(ds)
            for tool in args.tools:
                if tool in DENSE_TOOLS and not embedded:
                    print(f"  {tool} on {ds} skipped: no passage vectors")
                    continue
                run_peer(ds, tool)
        if args.no_lore:
            pass
        elif not os.path.exists(args.lore):
            print(f"lore rows skipped: {args.lore} does not exist (build it with `cargo build --release`)")
        else:
            for ds in args.datasets:
                run_lore(ds, args.lore)
        meta.update({"finished": time.strftime("%Y-%m-%d %H:%M:%S"),
                     "loadavg_end": [round(x, 2) for x in os.getloadavg()]})
        json.dump(meta, open(os.path.join(RESULTS, "run-meta.json"), "w"), indent=1)
    import table
    table.main()


if __name__ == "__main__":
    main()
