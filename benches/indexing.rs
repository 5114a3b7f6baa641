//! Indexing throughput on the seeded synthetic corpus (see `benches/common/mod.rs`).
//!
//! 1. **Lexical only** (`IndexBuilder::without_embeddings`) at 10,000 and 100,000 chunks: three
//!    builds each into a fresh directory, median chunks per second over the whole build, the time
//!    per build stage (from the builder's progress events), peak RSS of the build (this process's
//!    `VmHWM` after a reset; `benches/cold.rs` measures whole `lore index` processes) and the
//!    index size on disk.
//! 2. **Embedding pipeline against the bare model**, same run, same texts: a fixed sample of
//!    400 synthetic passages is embedded (a) by the raw embedder, all texts in one `embed()` call,
//!    in several session/thread/batch configurations, and (b) by a whole build of the sample
//!    (`OnnxEmbedder::load_for_indexing` + `IndexBuilder::build`, embedding cache off). Reported:
//!    pipeline throughput / best model throughput, and the share of the build spent inside the
//!    model. Three rounds of (best model, pipeline) are interleaved; medians are reported.
//! 3. Size on disk of the embedded bench indexes that exist (`cargo bench --bench search` builds
//!    them).
//!
//! Results are printed and written to `target/lore-bench/indexing.json`.
//!
//! Run: `cargo bench --bench indexing`

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Timed;
use lore::internals::chunk::chunk_document;
use lore::internals::embed::resolve_model_dir;
use lore::internals::load::load_paths;
use lore::internals::writer::embedding_text;
use lore::ChunkOptions;
use lore::Embedder;
use lore::LoadOptions;
use lore::OnnxEmbedder;
use lore::{IndexBuilder, Progress};
use serde_json::json;

const SAMPLE: usize = 400;
const ROUNDS: usize = 3;

fn main() {
    let mut results = serde_json::Map::new();
    results.insert("lexical".into(), lexical());
    results.insert("embedding".into(), embedding());
    let mut sizes = serde_json::Map::new();
    for n in [10_000, 100_000] {
        let dir = common::index_dir(n, true);
        if lore::internals::generation::resolve(&dir).is_ok() {
            let size = common::dir_size(&dir);
            println!(
                "embedded index over {n} chunks: {:.1} MB on disk ({})",
                common::mb(size),
                dir.display()
            );
            sizes.insert(n.to_string(), size.into());
        }
    }
    results.insert("embedded_index_size_bytes".into(), sizes.into());
    results.insert("loadavg_at_end".into(), common::loadavg().into());
    let path = common::write_result("indexing.json", &results.into());
    println!("written to {}", path.display());
}

/// Build-stage timestamps from the builder's progress events.
#[derive(Default)]
struct Stages {
    started: Option<Instant>,
    events: Mutex<Vec<(String, Instant)>>,
}

impl Progress for Stages {
    fn start(&self, stage: &str, _total: u64) {
        self.events
            .lock()
            .unwrap()
            .push((format!("start {stage}"), Instant::now()));
    }
    fn finish(&self) {
        self.events
            .lock()
            .unwrap()
            .push(("finish".into(), Instant::now()));
    }
}

impl Stages {
    /// Seconds between consecutive events, named `<from> → <to>`, ending at `end`.
    fn spans(&self, end: Instant) -> Vec<(String, f64)> {
        let events = self.events.lock().unwrap();
        let mut out = Vec::new();
        let mut last = ("begin".to_string(), self.started.unwrap());
        for (name, at) in events.iter().chain([&("end".to_string(), end)]) {
            out.push((
                format!("{} → {name}", last.0),
                at.duration_since(last.1).as_secs_f64(),
            ));
            last = (name.clone(), *at);
        }
        out
    }
}

fn lexical() -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for n in [10_000, 100_000] {
        let (corpus, _) = common::synth_corpus(n);
        let mut runs = Vec::new();
        let mut last_spans = Vec::new();
        let mut size = 0;
        let mut peak = None;
        for _ in 0..ROUNDS {
            let tmp = tempfile::tempdir_in(common::bench_home()).expect("temp dir");
            let dir = tmp.path().join("index");
            let stages = std::sync::Arc::new(Stages {
                started: Some(Instant::now()),
                ..Stages::default()
            });
            common::reset_peak_rss();
            let report = IndexBuilder::new(&dir)
                .without_embeddings()
                .progress(stages.clone())
                .build(std::slice::from_ref(&corpus))
                .expect("lexical build");
            let end = Instant::now();
            peak = common::peak_rss().max(peak);
            assert!(report.skipped.is_empty(), "{:?}", report.skipped);
            assert_eq!(report.num_chunks, n, "one chunk per passage");
            runs.push(end.duration_since(stages.started.unwrap()).as_secs_f64());
            last_spans = stages.spans(end);
            size = common::dir_size(&dir);
        }
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[ROUNDS / 2];
        let rate = n as f64 / median;
        println!(
            "lexical indexing, {n} chunks: median {median:.2} s over {ROUNDS} builds = {rate:.0} chunks/s \
             (runs {runs:.2?}); peak RSS {:.0} MB; index {:.1} MB on disk",
            peak.unwrap_or(0) as f64 / 1e6,
            common::mb(size)
        );
        for (span, s) in &last_spans {
            println!("    {span}: {s:.3} s");
        }
        out.insert(
            n.to_string(),
            json!({
                "seconds_per_run": runs,
                "median_seconds": median,
                "chunks_per_second": rate,
                "peak_rss_bytes": peak,
                "size_bytes": size,
                "stages_last_run": last_spans.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            }),
        );
    }
    out.into()
}

/// The texts a build embeds for `corpus`, as the builder forms them.
fn embedding_texts(corpus: &Path) -> Vec<String> {
    let loaded = load_paths(&[corpus.to_path_buf()], &LoadOptions::default(), &|_| {});
    loaded
        .documents
        .iter()
        .flat_map(|d| chunk_document(d, &ChunkOptions::default()))
        .map(|c| embedding_text(&c))
        .collect()
}

/// One run of the bare model over `texts` in a single `embed()` call: texts per second.
fn model_rate(embedder: &OnnxEmbedder, texts: &[String]) -> f64 {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    embedder.embed(&refs[..8]).expect("warm-up");
    let started = Instant::now();
    let vectors = embedder.embed(&refs).expect("embed");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), texts.len());
    texts.len() as f64 / seconds
}

/// A whole build of the sample with embeddings (model loaded for indexing, cache off).
struct Pipeline {
    seconds: f64,
    load_seconds: f64,
    embed_stage_seconds: f64,
    inside_model: Duration,
}

fn pipeline(corpus: &Path, model: &Path) -> Pipeline {
    let tmp = tempfile::tempdir_in(common::bench_home()).expect("temp dir");
    let started = Instant::now();
    let embedder = OnnxEmbedder::load_for_indexing(model).expect("load the model");
    let load_seconds = started.elapsed().as_secs_f64();
    let timed = Arc::new(Timed::new(Arc::new(embedder)));
    let report = IndexBuilder::new(tmp.path().join("index"))
        .embedder(timed.clone() as Arc<dyn Embedder>)
        .embedding_cache(None)
        .build(&[corpus.to_path_buf()])
        .expect("build");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.num_embedded, SAMPLE);
    Pipeline {
        seconds,
        load_seconds,
        embed_stage_seconds: report.embed_seconds,
        inside_model: timed.inside(),
    }
}

/// The bare-model configurations worth trying on this machine.
fn configs(cores: usize) -> Vec<(String, usize, Option<usize>, usize)> {
    vec![
        (
            format!("{cores} sessions x 1 thread, batch 1 (load_for_indexing)"),
            cores,
            Some(1),
            1,
        ),
        (
            format!("{cores} sessions x 1 thread, batch 4"),
            cores,
            Some(1),
            4,
        ),
        ("1 session x all cores, batch 1 (load)".into(), 1, None, 1),
        ("1 session x all cores, batch 16".into(), 1, None, 16),
    ]
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn embedding() -> serde_json::Value {
    // The sample: the first 400 passages of the synthetic corpus, as a corpus of its own.
    let tmp = tempfile::tempdir_in(common::bench_home()).expect("temp dir");
    let sample = common::sample_corpus(SAMPLE, tmp.path());
    let texts = embedding_texts(&sample);
    assert_eq!(texts.len(), SAMPLE);
    let model = resolve_model_dir(None);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = |(_, sessions, threads, batch): &(String, usize, Option<usize>, usize)| {
        OnnxEmbedder::load_sessions(&model, *sessions, *threads)
            .expect("load the model")
            .with_batch_size(*batch)
    };

    // (a) The bare model in each configuration, one at a time.
    let configs = configs(cores);
    let mut model_runs = Vec::new();
    let mut best = (0, 0.0);
    for (i, config) in configs.iter().enumerate() {
        let rate = model_rate(&load(config), &texts);
        println!("model alone, {}: {rate:.1} texts/s", config.0);
        model_runs.push(json!({"config": config.0, "texts_per_second": rate}));
        if rate > best.1 {
            best = (i, rate);
        }
    }
    let best = &configs[best.0];

    // (b) Rounds of (best model configuration, whole pipeline), interleaved, so that each
    // ratio compares two runs made close together.
    let mut rounds = Vec::new();
    let (mut ratios, mut stage_ratios, mut shares) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let model_rate = model_rate(&load(best), &texts);
        let p = pipeline(&sample, &model);
        let rate = SAMPLE as f64 / p.seconds;
        let ratio = rate / model_rate;
        let stage_ratio = SAMPLE as f64 / p.embed_stage_seconds / model_rate;
        let share = p.inside_model.as_secs_f64() / p.seconds;
        println!(
            "round {round}: model alone {model_rate:.1} texts/s; pipeline {rate:.1} texts/s \
             ({:.2} s: model load {:.2} s, embedding stage {:.2} s, inside the model {:.2} s) \
             -> ratio {ratio:.3} (embedding stage alone {stage_ratio:.3}), share inside the model {:.1}%",
            p.seconds,
            p.load_seconds,
            p.embed_stage_seconds,
            p.inside_model.as_secs_f64(),
            share * 100.0,
        );
        ratios.push(ratio);
        stage_ratios.push(stage_ratio);
        shares.push(share);
        rounds.push(json!({
            "model_texts_per_second": model_rate,
            "pipeline_texts_per_second": rate,
            "ratio": ratio,
            "embed_stage_ratio": stage_ratio,
            "pipeline_seconds": p.seconds,
            "model_load_seconds": p.load_seconds,
            "embed_stage_seconds": p.embed_stage_seconds,
            "inside_model_seconds": p.inside_model.as_secs_f64(),
            "share_inside_model": share,
        }));
    }
    println!(
        "median over {ROUNDS} rounds: ratio {:.3} (embedding stage alone {:.3}), share inside the model {:.1}%; best model configuration: {}",
        median(&ratios),
        median(&stage_ratios),
        median(&shares) * 100.0,
        best.0
    );
    json!({
        "sample": SAMPLE,
        "model_alone": model_runs,
        "best_config": best.0,
        "rounds": rounds,
        "median_ratio": median(&ratios),
        "median_embed_stage_ratio": median(&stage_ratios),
        "median_share_inside_model": median(&shares),
    })
}
