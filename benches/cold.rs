//! Cold `lore search` as a whole process, and peak memory of whole `lore` processes.
//!
//! 1. `lore search "<query>" --index DIR --mode M -k 10` run as a new process 20 times per
//!    mode (after one untimed run, so the files are in the page cache: this is a cold process,
//!    not a cold disk), cycling through the first SciFact queries: median and worst wall time,
//!    and peak RSS (`/usr/bin/time -f %M`, 3 runs). On the embedded 10k index for every mode,
//!    on the lexical-only 100k index for lexical, and with `LORE_BENCH_100K=1` on the embedded
//!    100k index (built by `--bench search`) for every mode.
//! 2. Peak RSS and wall time of whole `lore index` processes: lexical only over 10k and 100k
//!    synthetic chunks; with embeddings over 10k (vectors from the embedding cache: the model is
//!    never loaded); and 400 passages embedded by the model (empty cache).
//! 3. Where a cold hybrid search spends its time: a fresh child process timestamps each step
//!    (open the index, read the model files, load the model: ONNX Runtime library, session and
//!    tokenizer; first and second embedding; load vectors and graph; first and second search).
//!
//! Needs the bench indexes: they are built (or reused) as `cargo bench --bench search` does.
//! Results are printed and written to `target/lore-bench/cold.json`.
//!
//! Run: `cargo bench --bench cold`

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ms, percentile};
use lore::internals::embed::resolve_model_dir;
use lore::internals::vector::FlatIndex;
use lore::internals::vector::HnswIndex;
use lore::internals::vector::VectorIndex;
use lore::internals::vector::VectorStore;
use lore::Embedder;
use lore::OnnxEmbedder;
use lore::{Index, Mode, OpenOptions, SearchRequest};
use serde_json::json;

const LORE: &str = env!("CARGO_BIN_EXE_lore");
/// Set (to the index directory) in the child that times the steps of a cold hybrid search.
const CHILD_ENV: &str = "LORE_BENCH_COLD_STEPS";
const RUNS: usize = 20;
const RSS_RUNS: usize = 3;

fn main() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        println!("{}", steps(Path::new(&dir)));
        return;
    }
    let queries = common::queries();
    let (corpus, _) = common::synth_corpus(10_000);
    let embedded = common::ensure_index(&corpus, &common::index_dir(10_000, true), true).dir;
    let (corpus_100k, _) = common::synth_corpus(100_000);
    let lexical_100k =
        common::ensure_index(&corpus_100k, &common::index_dir(100_000, false), false).dir;
    // The embedded 100k index (about an hour of embedding the first time): with
    // LORE_BENCH_100K=1, as for `--bench search`.
    let embedded_100k = common::sizes_with_100k()
        .then(|| common::ensure_index(&corpus_100k, &common::index_dir(100_000, true), true).dir);

    let mut searches = Vec::new();
    println!("\ncold `lore search` (new process each run, files in the page cache), k = 10");
    println!("| index | mode | median ms | max ms | peak RSS MB |");
    println!("|---|---|---|---|---|");
    let lore = |index: &Path, mode: &str, query: &str| {
        let mut c = Command::new(LORE);
        c.arg("search")
            .arg(query)
            .arg("--index")
            .arg(index)
            .args(["--mode", mode, "-k", "10"]);
        c
    };
    let baseline = cold("lore --version", &mut || {
        let mut c = Command::new(LORE);
        c.arg("--version");
        c
    });
    println!(
        "| (`lore --version`, process start only) | | {:.1} | {:.1} | {:.0} |",
        baseline.median_ms, baseline.max_ms, baseline.peak_mb
    );
    let all_modes = &["lexical", "dense", "hybrid"][..];
    let mut indexes = vec![
        ("10k embedded", &embedded, all_modes),
        ("100k lexical-only", &lexical_100k, &["lexical"][..]),
    ];
    if let Some(dir) = &embedded_100k {
        indexes.push(("100k embedded", dir, all_modes));
    }
    for (name, index, modes) in indexes {
        for &mode in modes {
            let mut i = 0;
            let m = cold("lore search", &mut || {
                i += 1;
                lore(index, mode, &queries[i % queries.len()])
            });
            println!(
                "| {name} | {mode} | {:.1} | {:.1} | {:.0} |",
                m.median_ms, m.max_ms, m.peak_mb
            );
            searches.push(json!({
                "index": index.display().to_string(),
                "mode": mode,
                "median_ms": m.median_ms,
                "max_ms": m.max_ms,
                "peak_rss_mb": m.peak_mb,
                "runs": RUNS,
            }));
        }
    }

    // 2. Whole `lore index` processes.
    let mut builds = Vec::new();
    println!("\n`lore index` as a whole process");
    let tmp = tempfile::tempdir_in(common::bench_home()).expect("temp dir");
    let sample = common::sample_corpus(400, tmp.path());
    let empty_cache = tmp.path().join("empty-cache");
    let no_embed = &["--no-embed"][..];
    for (name, input, extra, cache) in [
        ("10k chunks, lexical only", &corpus, no_embed, None),
        ("100k chunks, lexical only", &corpus_100k, no_embed, None),
        (
            "10k chunks, embeddings all from the cache",
            &corpus,
            &[][..],
            None,
        ),
        (
            "400 chunks, embedded by the model (empty cache)",
            &sample,
            &[][..],
            Some(&empty_cache),
        ),
    ] {
        let out = tempfile::tempdir_in(common::bench_home()).expect("temp dir");
        let mut c = Command::new(LORE);
        c.arg("index")
            .arg(input)
            .arg("--index")
            .arg(out.path().join("index"))
            .args(extra);
        if let Some(cache) = cache {
            c.env("LORE_CACHE_DIR", cache);
        }
        let (wall, peak) = timed_run(c);
        println!("{name}: {:.2} s, peak RSS {peak:.0} MB", wall.as_secs_f64());
        builds.push(json!({"build": name, "seconds": wall.as_secs_f64(), "peak_rss_mb": peak}));
    }

    // 3. Steps of a cold hybrid search, in a fresh process.
    let output = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, &embedded)
        .output()
        .expect("run the steps child");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let steps: serde_json::Value = serde_json::from_slice(&output.stdout).expect("steps JSON");
    println!("\nsteps of a cold hybrid search in a fresh process (10k index); RSS after each step");
    for step in steps.as_array().into_iter().flatten() {
        println!(
            "    {:>8.1} ms  {:>5.0} MB  {}",
            step[1].as_f64().unwrap_or(f64::NAN),
            step[2].as_f64().unwrap_or(f64::NAN),
            step[0].as_str().unwrap_or("")
        );
    }

    let path = common::write_result(
        "cold.json",
        &json!({
            "process_start_ms": baseline.median_ms,
            "searches": searches,
            "builds": builds,
            "hybrid_steps_ms": steps,
        }),
    );
    println!("written to {}", path.display());
}

struct Cold {
    median_ms: f64,
    max_ms: f64,
    peak_mb: f64,
}

/// One untimed run, `RUNS` timed runs, then `RSS_RUNS` runs under `/usr/bin/time` for peak RSS.
fn cold(what: &str, command: &mut dyn FnMut() -> Command) -> Cold {
    let run = |mut c: Command| {
        let started = Instant::now();
        let status = c
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run lore");
        assert!(status.success(), "{what} failed");
        started.elapsed()
    };
    run(command());
    let mut times: Vec<Duration> = (0..RUNS).map(|_| run(command())).collect();
    times.sort_unstable();
    let peak_mb = (0..RSS_RUNS)
        .map(|_| timed_run(command()).1)
        .fold(0.0, f64::max);
    Cold {
        median_ms: ms(percentile(&times, 50.0)),
        max_ms: ms(times[times.len() - 1]),
        peak_mb,
    }
}

/// Run `command` under `/usr/bin/time`: wall time and peak RSS in MB.
fn timed_run(command: Command) -> (Duration, f64) {
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "LORE_BENCH_MAXRSS_KB %M"])
        .arg(command.get_program())
        .args(command.get_args())
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdout(Stdio::null())
        .output()
        .expect("/usr/bin/time (apt-get install time)");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let kb: f64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("LORE_BENCH_MAXRSS_KB "))
        .and_then(|v| v.trim().parse().ok())
        .expect("peak RSS from /usr/bin/time");
    (wall, kb * 1024.0 / 1e6)
}

/// Timestamps of the steps of a cold hybrid search (run in a fresh process).
fn steps(dir: &Path) -> serde_json::Value {
    let query =
        "ALDH1 expression is associated with poorer prognosis for breast cancer primary tumors";
    let mut out: Vec<(String, f64, f64)> = Vec::new();
    let mut step = |name: &str, started: Instant| {
        let elapsed = ms(started.elapsed());
        out.push((
            name.to_string(),
            elapsed,
            common::rss().unwrap_or(0) as f64 / 1e6,
        ));
    };
    let model = resolve_model_dir(None);

    let t = Instant::now();
    let index = Index::open(dir).expect("open");
    step("Index::open (manifest, tantivy reader)", t);

    let t = Instant::now();
    let request = |mode: Mode| SearchRequest {
        text: query.into(),
        k: 10,
        mode,
        ..SearchRequest::default()
    };
    index.search(&request(Mode::Lexical)).expect("lexical");
    step("first lexical search (k = 10, snippets)", t);

    let t = Instant::now();
    let mut bytes = 0;
    for name in lore::internals::embed::MODEL_FILES {
        bytes += std::fs::read(model.join(name)).expect("model file").len();
    }
    step(
        &format!(
            "read the model files ({:.0} MB, page cache)",
            bytes as f64 / 1e6
        ),
        t,
    );

    let t = Instant::now();
    let embedder = OnnxEmbedder::load(&model).expect("load");
    step(
        "OnnxEmbedder::load, first in process (ONNX Runtime library + session + tokenizer)",
        t,
    );
    let t = Instant::now();
    let again = OnnxEmbedder::load(&model).expect("load");
    step(
        "OnnxEmbedder::load, second (session + tokenizer; runtime already loaded)",
        t,
    );
    drop(again);
    let t = Instant::now();
    let single = OnnxEmbedder::load_sessions(&model, 1, Some(1)).expect("load");
    step(
        "OnnxEmbedder::load_sessions(1 session, 1 thread), runtime already loaded",
        t,
    );
    single.embed(&[query]).expect("embed");
    let t = Instant::now();
    single.embed(&[query]).expect("embed");
    step("query embedding, 1 session x 1 thread (second call)", t);
    drop(single);

    let t = Instant::now();
    embedder.embed(&[query]).expect("embed");
    step("first query embedding", t);
    let t = Instant::now();
    embedder.embed(&[query]).expect("embed");
    step("second query embedding", t);

    let manifest = index.manifest();
    let dim = manifest.model.as_ref().expect("embedded index").dim;
    let t = Instant::now();
    let store = VectorStore::load(
        &index.dir().join("vectors.f32"),
        dim,
        manifest.counts.chunks,
    )
    .expect("vectors");
    step("VectorStore::load (vectors.f32)", t);
    let t = Instant::now();
    let hnsw = HnswIndex::load(index.dir(), store.len()).expect("graph");
    step("HnswIndex::load (graph)", t);
    let t = Instant::now();
    let v = embedder.embed(&[query]).expect("embed").remove(0);
    let exact = FlatIndex::new(&store).search(&v, 50, None);
    assert_eq!(exact.len(), 50);
    step(
        "embed + exact flat top-50 over every vector (no graph needed)",
        t,
    );
    drop((hnsw, store));

    let index = Index::open_with(
        dir,
        OpenOptions::default().embedder(Arc::new(embedder) as Arc<dyn Embedder>),
    )
    .expect("open");
    let t = Instant::now();
    index.search(&request(Mode::Hybrid)).expect("hybrid");
    step(
        "first hybrid search, model loaded (loads vectors + graph, embeds, searches)",
        t,
    );
    let t = Instant::now();
    index.search(&request(Mode::Hybrid)).expect("hybrid");
    step("second hybrid search (warm)", t);
    serde_json::Value::Array(
        out.into_iter()
            .map(|(k, v, rss)| json!([k, v, rss]))
            .collect(),
    )
}
