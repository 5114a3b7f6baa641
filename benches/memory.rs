//! Organizational memory at scale: `decisions`, `who` and `context` latency on an index of the
//! shipped `corpus/` plus a seeded synthetic corpus (see `benches/common/mod.rs`), and what the
//! decision ledger adds to a build.
//!
//! For each size:
//! 1. build (or reuse) `~/.cache/lore/bench/memory-<n>[-lexical]` over `corpus/` and the first
//!    `n` synthetic passages;
//! 2. warm: open the index once, run each operation over the questions of
//!    `corpus/questions.jsonl` (three untimed rounds first), and report p50/p99 (nearest rank);
//!    `search` as the owner and `search_as` as a principal (access control is on: `corpus/`
//!    has an access file), `decisions`, `who`, and `context` packing 800 tokens;
//! 3. cold: each operation as a whole `lore` process, 10 runs after one untimed run (a cold
//!    process, not a cold disk): median and worst wall time.
//!
//! Ledger cost: the documents of the largest corpus are loaded once, then the time to extract
//! their entries (in parallel, as a build does file by file) and resolve the ledger is compared
//! with the time of a lexical-only build of the same inputs (the cheapest build, so the share
//! is an upper bound).
//!
//! Sizes: 100,000 lexical-only always (hybrid requests fall back to lexical there, and say so);
//! 10,000 with embeddings always; 100,000 with embeddings with `LORE_BENCH_100K=1` (the first
//! run embeds 100k passages, about an hour on two cores; the cache keeps them).
//!
//! Run: `cargo bench --bench memory`. Results: printed and written to
//! `target/lore-bench/memory.json`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{corpus_dir, corpus_questions, ms, percentile};
use lore::internals::load::load_paths;
use lore::internals::memory::extract;
use lore::{
    ContextRequest, DecisionsRequest, Index, IndexBuilder, Ledger, LoadOptions, Principal,
    SearchRequest, WhoRequest,
};
use rayon::prelude::*;
use serde_json::json;

const LORE: &str = env!("CARGO_BIN_EXE_lore");
const COLD_RUNS: usize = 10;
const BUDGET: usize = 800;
/// The principal of the scoped search: a sales rep, who may read all but two documents of
/// `corpus/` (see `corpus/access.toml`) and every synthetic passage.
const PRINCIPAL: &str = "tessa";

fn main() {
    // criterion passes its own flags (`--bench`); this bench reads none of them.
    let questions = corpus_questions();
    let mut sizes = vec![(100_000, false), (10_000, true)];
    if common::sizes_with_100k() {
        sizes.push((100_000, true));
    }
    let mut results = Vec::new();
    for (n, embed) in sizes {
        let dir = ensure(n, embed);
        let warm = warm(&dir, &questions);
        let cold = cold(&dir, &questions);
        results.push(
            json!({ "chunks_synthetic": n, "embeddings": embed, "warm": warm, "cold": cold }),
        );
    }
    let ledger = ledger_cost(100_000);
    let out = json!({ "sizes": results, "ledger_cost": ledger });
    std::fs::create_dir_all(common::out_dir()).expect("create the results dir");
    let path = common::out_dir().join("memory.json");
    std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap()).expect("write results");
    eprintln!("written to {}", path.display());
}

/// The bench index over `corpus/` and `n` synthetic passages.
fn ensure(n: usize, embed: bool) -> PathBuf {
    let (synth, _) = common::synth_corpus(n);
    let suffix = if embed { "" } else { "-lexical" };
    let dir = common::bench_home().join(format!("memory-{n}{suffix}"));
    let paths = [synth.clone(), corpus_dir()];
    let builder = if embed {
        IndexBuilder::new(&dir)
    } else {
        IndexBuilder::new(&dir).without_embeddings()
    };
    if builder.is_current(&paths).unwrap_or(false) {
        eprintln!("reusing {}", dir.display());
        return dir;
    }
    if embed {
        // The synthetic passages' vectors, filled slice by slice into the embedding cache.
        common::ensure_index(&synth, &common::index_dir(n, true), true);
    }
    eprintln!("building {}", dir.display());
    let started = Instant::now();
    let report = builder.build(&paths).expect("index build");
    eprintln!(
        "built {} chunks in {:.1}s",
        report.num_chunks,
        started.elapsed().as_secs_f64()
    );
    dir
}

fn summary(mut times: Vec<Duration>) -> serde_json::Value {
    times.sort();
    json!({
        "runs": times.len(),
        "p50_ms": ms(percentile(&times, 50.0)),
        "p99_ms": ms(percentile(&times, 99.0)),
        "max_ms": ms(*times.last().unwrap()),
    })
}

/// One operation on one question.
type Op<'a> = dyn Fn(&str) + 'a;

/// Warm latency of each operation, one process, the index open.
fn warm(dir: &Path, questions: &[String]) -> serde_json::Value {
    let index = Index::open(dir).expect("open the bench index");
    // corpus/ has an access file, so access control is on: a principal's search is filtered
    // to what it may read and scored with the statistics of that alone. Its cost is the gap
    // between these two, measured in the same run.
    let principal = Principal::new(PRINCIPAL);
    let ops: [(&str, &Op); 5] = [
        ("search", &|q: &str| {
            index.search(&SearchRequest::new(q)).expect("search");
        }),
        ("search_as", &|q: &str| {
            index
                .search(&SearchRequest {
                    principal: Some(principal.clone()),
                    ..SearchRequest::new(q)
                })
                .expect("search as a principal");
        }),
        ("decisions", &|q: &str| {
            index
                .decisions(&DecisionsRequest {
                    query: Some(q.to_string()),
                    ..DecisionsRequest::default()
                })
                .expect("decisions");
        }),
        ("who", &|q: &str| {
            index
                .who(&WhoRequest {
                    topic: q.to_string(),
                    ..WhoRequest::default()
                })
                .expect("who");
        }),
        ("context", &|q: &str| {
            index
                .context(&ContextRequest::new(q, BUDGET))
                .expect("context");
        }),
    ];
    let mut out = serde_json::Map::new();
    for (name, op) in ops {
        for _ in 0..3 {
            for q in questions {
                op(q);
            }
        }
        let times: Vec<Duration> = questions
            .iter()
            .map(|q| {
                let started = Instant::now();
                op(q);
                started.elapsed()
            })
            .collect();
        let s = summary(times);
        eprintln!(
            "{}: warm {name:<9} p50 {:.2} ms  p99 {:.2} ms",
            dir.display(),
            s["p50_ms"].as_f64().unwrap(),
            s["p99_ms"].as_f64().unwrap()
        );
        out.insert(name.to_string(), s);
    }
    serde_json::Value::Object(out)
}

/// Cold latency: each operation as a new `lore` process.
fn cold(dir: &Path, questions: &[String]) -> serde_json::Value {
    let budget = BUDGET.to_string();
    let mut out = serde_json::Map::new();
    for name in ["decisions", "who", "context"] {
        let run = |q: &str| {
            let mut cmd = Command::new(LORE);
            cmd.arg("-q").arg(name).arg(q).arg("--index").arg(dir);
            if name == "context" {
                cmd.args(["--budget", &budget]);
            }
            let status = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run lore");
            assert!(status.success(), "lore {name} failed on {}", dir.display());
        };
        run(&questions[0]);
        let times: Vec<Duration> = questions
            .iter()
            .take(COLD_RUNS)
            .map(|q| {
                let started = Instant::now();
                run(q);
                started.elapsed()
            })
            .collect();
        let s = summary(times);
        eprintln!(
            "{}: cold {name:<9} median {:.1} ms  max {:.1} ms",
            dir.display(),
            s["p50_ms"].as_f64().unwrap(),
            s["max_ms"].as_f64().unwrap()
        );
        out.insert(name.to_string(), s);
    }
    serde_json::Value::Object(out)
}

/// Time to extract and resolve the ledger of `corpus/` plus `n` synthetic passages, against a
/// lexical-only build of the same inputs (median of three each).
fn ledger_cost(n: usize) -> serde_json::Value {
    let (synth, _) = common::synth_corpus(n);
    let paths = [synth, corpus_dir()];
    let loaded = load_paths(&paths, &LoadOptions::default(), &|_| {});
    let mut ledger_times = Vec::new();
    let mut entries = 0;
    for _ in 0..3 {
        let started = Instant::now();
        // In a build each file's documents are extracted as the file is loaded, files in
        // parallel: so here too.
        let found: Vec<_> = loaded.documents.par_iter().flat_map_iter(extract).collect();
        entries = found.len();
        let ledger = Ledger::new(found);
        std::hint::black_box(&ledger);
        ledger_times.push(started.elapsed());
    }
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let mut build_times = Vec::new();
    for i in 0..3 {
        let dir = tmp.path().join(format!("build-{i}"));
        let started = Instant::now();
        IndexBuilder::new(&dir)
            .without_embeddings()
            .build(&paths)
            .expect("lexical build");
        build_times.push(started.elapsed());
    }
    ledger_times.sort();
    build_times.sort();
    let (ledger, build) = (ledger_times[1], build_times[1]);
    eprintln!(
        "ledger over {} documents: {entries} entries in {:.1} ms; lexical-only build {:.1} s: {:.2}%",
        loaded.documents.len(),
        ms(ledger),
        build.as_secs_f64(),
        100.0 * ledger.as_secs_f64() / build.as_secs_f64()
    );
    json!({
        "documents": loaded.documents.len(),
        "entries": entries,
        "ledger_ms": ms(ledger),
        "lexical_build_s": build.as_secs_f64(),
        "share_percent": 100.0 * ledger.as_secs_f64() / build.as_secs_f64(),
    })
}
