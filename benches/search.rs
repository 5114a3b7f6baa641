//! Query latency per mode on a seeded synthetic corpus built from SciFact sentences (see
//! `benches/common/mod.rs`), at k = 10, hybrid and dense including the query's embedding.
//!
//! For each corpus size: build the embedded index `~/.cache/lore/bench/index-<n>` (or reuse it
//! when current; vectors come from the embedding cache after the first run), then
//!
//! 1. a latency pass in a child process (so its peak RSS is the query loop's alone): open the
//!    index, time the first query per mode (model and graph loading), warm up, then run all 300
//!    SciFact queries once per mode and report p50/p99 (nearest rank); also the query embedding
//!    alone. Printed as a table and written to `target/lore-bench/search-<n>.json`.
//! 2. criterion groups `search_<n>/{lexical,dense,hybrid}` cycling through the queries.
//!
//! Sizes: 10,000 always. 100,000 with `LORE_BENCH_100K=1` (the first run embeds 100k passages,
//! about an hour on two cores; the cache keeps them); without it, 100,000 runs lexical only on a
//! lexical-only index.
//!
//! Run: `cargo bench --bench search` (add `LORE_BENCH_100K=1` for the embedded 100k index).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ms, percentile};
use criterion::Criterion;
use lore::internals::embed::resolve_model_dir;
use lore::Embedder;
use lore::{Index, Mode, SearchRequest};
use lore::{OnnxEmbedder, QueryPrecision};

/// Set (to the index directory) in the child that runs the latency pass.
const CHILD_ENV: &str = "LORE_BENCH_QUERY_LOOP";
const K: usize = 10;
const WARMUP: usize = 30;

fn main() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        let modes: Vec<Mode> = std::env::var("LORE_BENCH_MODES")
            .unwrap_or_default()
            .split(',')
            .map(|m| m.parse().expect("a mode"))
            .collect();
        let result = latency_pass(Path::new(&dir), &modes);
        println!("{result}");
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    let with_100k = common::sizes_with_100k();
    for (n, embed) in [(10_000, true), (100_000, with_100k)] {
        bench_size(&mut criterion, n, embed);
    }
    criterion.final_summary();
}

fn bench_size(criterion: &mut Criterion, n: usize, embed: bool) {
    let (corpus, stats) = common::synth_corpus(n);
    eprintln!(
        "{}: {} passages, words min {} / median {} / max {}",
        corpus.display(),
        stats.num_passages,
        stats.min_words,
        stats.median_words,
        stats.max_words
    );
    let ensured = common::ensure_index(&corpus, &common::index_dir(n, embed), embed);
    let modes: &[Mode] = if embed {
        &[Mode::Lexical, Mode::Dense, Mode::Hybrid]
    } else {
        &[Mode::Lexical]
    };
    let names: Vec<&str> = modes.iter().map(|m| m.as_str()).collect();

    // 1. The latency pass, in a child process.
    let output = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, &ensured.dir)
        .env("LORE_BENCH_MODES", names.join(","))
        .output()
        .expect("run the latency pass");
    assert!(
        output.status.success(),
        "latency pass failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut pass: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("latency pass JSON");
    let size = common::dir_size(&ensured.dir);
    pass["corpus"] = serde_json::json!({
        "path": corpus.display().to_string(),
        "num_chunks": n,
        "words_min": stats.min_words,
        "words_median": stats.median_words,
        "words_max": stats.max_words,
    });
    pass["index"] = serde_json::json!({
        "dir": ensured.dir.display().to_string(),
        "embedded": embed,
        "size_bytes": size,
        "built_now": ensured.report.as_ref().map(|r| serde_json::json!({
            "seconds": r.seconds,
            "embed_seconds": r.embed_seconds,
            "num_embedded": r.num_embedded,
            "num_cached": r.num_cached,
        })),
    });
    let path = common::write_result(&format!("search-{n}.json"), &pass);
    print_table(n, &pass, size);
    println!("written to {}\n", path.display());

    // 2. Criterion groups.
    let index = Index::open(&ensured.dir).expect("open the bench index");
    let queries = common::queries();
    let mut group = criterion.benchmark_group(format!("search_{n}"));
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(10));
    for &mode in modes {
        let mut i = 0;
        group.bench_function(mode.as_str(), |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                index.search(&request(&queries[i], mode)).expect("search")
            })
        });
    }
    group.finish();
}

fn request(text: &str, mode: Mode) -> SearchRequest {
    SearchRequest {
        text: text.to_string(),
        k: K,
        mode,
        ..SearchRequest::default()
    }
}

/// Open the index, time the first query per mode, warm up, then every query once per mode.
fn latency_pass(dir: &Path, modes: &[Mode]) -> serde_json::Value {
    let queries = common::queries();
    let started = Instant::now();
    let index = Index::open(dir).expect("open the bench index");
    let open_ms = ms(started.elapsed());

    let mut first_ms = serde_json::Map::new();
    for &mode in modes {
        let started = Instant::now();
        index.search(&request(&queries[0], mode)).expect("search");
        first_ms.insert(mode.as_str().into(), ms(started.elapsed()).into());
    }
    for &mode in modes {
        for q in queries.iter().cycle().skip(1).take(WARMUP) {
            index.search(&request(q, mode)).expect("search");
        }
    }

    let mut per_mode = serde_json::Map::new();
    for &mode in modes {
        let mut times = Vec::with_capacity(queries.len());
        for q in &queries {
            let started = Instant::now();
            let response = index.search(&request(q, mode)).expect("search");
            times.push(started.elapsed());
            // Correctness, checked on every query but outside the timed part: a full answer,
            // from the mode asked for (a silent fallback to lexical would flatter hybrid).
            assert_eq!(response.hits.len(), K, "{q}");
            assert_eq!(response.mode_used, mode, "{q}: {:?}", response.notes);
        }
        per_mode.insert(mode.as_str().into(), summary(&mut times));
    }
    // Lexical ranking alone (no stored chunks read, no snippets): what `search` adds on top.
    let mut rank_only = serde_json::Value::Null;
    if modes.contains(&Mode::Lexical) {
        let mut times: Vec<Duration> = queries
            .iter()
            .map(|q| {
                let started = Instant::now();
                index.rank(&request(q, Mode::Lexical)).expect("rank");
                started.elapsed()
            })
            .collect();
        rank_only = summary(&mut times);
    }
    let peak = common::peak_rss();

    // The query's embedding alone (what hybrid and dense pay on top of the searches): with the
    // one-session-on-every-core embedder and with one single-threaded session, each on the
    // int8 query graph (what the index loads) and on the f32 graph documents are embedded
    // with; measured after the peak RSS.
    let mut embed_only = serde_json::Map::new();
    if modes.contains(&Mode::Hybrid) {
        let model = resolve_model_dir(None);
        for (name, precision, threads) in [
            (
                "int8, 1 session x all cores (load)",
                QueryPrecision::Int8,
                None,
            ),
            ("int8, 1 session x 1 thread", QueryPrecision::Int8, Some(1)),
            ("f32, 1 session x all cores", QueryPrecision::Full, None),
            ("f32, 1 session x 1 thread", QueryPrecision::Full, Some(1)),
        ] {
            let embedder = OnnxEmbedder::load_for_queries(&model, precision, 1, threads)
                .expect("load the model");
            for q in queries.iter().take(WARMUP) {
                embedder.embed(&[q]).expect("embed");
            }
            let mut times: Vec<Duration> = queries
                .iter()
                .map(|q| {
                    let started = Instant::now();
                    embedder.embed(&[q]).expect("embed");
                    started.elapsed()
                })
                .collect();
            embed_only.insert(name.into(), summary(&mut times));
        }
    }

    serde_json::json!({
        "k": K,
        "num_queries": queries.len(),
        "warmup_per_mode": WARMUP,
        "open_ms": open_ms,
        "first_query_ms": first_ms,
        "latency_ms": per_mode,
        "lexical_rank_only_ms": rank_only,
        "query_embedding_ms": embed_only,
        "peak_rss_bytes": peak,
        "loadavg_at_end": common::loadavg(),
    })
}

fn summary(times: &mut [Duration]) -> serde_json::Value {
    times.sort_unstable();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    serde_json::json!({
        "p50": ms(percentile(times, 50.0)),
        "p99": ms(percentile(times, 99.0)),
        "mean": ms(mean),
        "max": ms(times[times.len() - 1]),
    })
}

fn print_table(n: usize, pass: &serde_json::Value, size: u64) {
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    println!(
        "\nquery latency, {n} chunks, k = {K}, 300 SciFact queries once per mode after warm-up"
    );
    println!("| mode | p50 ms | p99 ms | mean ms | max ms | first query ms |");
    println!("|---|---|---|---|---|---|");
    for mode in ["lexical", "dense", "hybrid"] {
        let s = &pass["latency_ms"][mode];
        if s.is_null() {
            continue;
        }
        println!(
            "| {mode} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
            f(&s["p50"]),
            f(&s["p99"]),
            f(&s["mean"]),
            f(&s["max"]),
            f(&pass["first_query_ms"][mode])
        );
    }
    let r = &pass["lexical_rank_only_ms"];
    if !r.is_null() {
        println!(
            "| (lexical, Index::rank only: no chunk reads, no snippets) | {:.2} | {:.2} | {:.2} | {:.2} | |",
            f(&r["p50"]),
            f(&r["p99"]),
            f(&r["mean"]),
            f(&r["max"])
        );
    }
    for (name, e) in pass["query_embedding_ms"].as_object().into_iter().flatten() {
        println!(
            "| (query embedding alone, {name}) | {:.2} | {:.2} | {:.2} | {:.2} | |",
            f(&e["p50"]),
            f(&e["p99"]),
            f(&e["mean"]),
            f(&e["max"])
        );
    }
    println!(
        "open {:.1} ms; peak RSS of the query loop {:.0} MB; index on disk {:.1} MB; load average {}",
        f(&pass["open_ms"]),
        f(&pass["peak_rss_bytes"]) / 1e6,
        common::mb(size),
        pass["loadavg_at_end"].as_str().unwrap_or("?")
    );
}
