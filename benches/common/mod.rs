//! Shared by the speed benchmarks: a seeded synthetic corpus built from real text, the queries,
//! index building with a resumable embedding cache, percentiles, sizes on disk and peak memory.
//!
//! The synthetic corpus recombines sentences of SciFact abstracts: passage `i` is drawn by its
//! own generator seeded from `(SEED, i)`, so the corpus of `n` passages is the first `n`
//! passages of every larger one and the same texts (hence the same embedding-cache hits) come
//! back on every run. Each passage is about 120-200 words and short enough to be one chunk.
//!
//! Paths: SciFact is read from `$LORE_BENCH_DATA` (default `../shared/data/scifact` next to this
//! package); corpora and indexes go to `~/.cache/lore/bench/`; results go to
//! `target/lore-bench/`.

// Each bench uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lore::cache_home;
use lore::internals::chunk::chunk_document;
use lore::internals::chunk::estimate_tokens;
use lore::internals::embed::CachedEmbedder;
use lore::internals::embed::EmbeddingCache;
use lore::internals::load::load_paths;
use lore::internals::vector::synthetic::SplitMix;
use lore::internals::writer::embedding_text;
use lore::ChunkOptions;
use lore::Embedder;
use lore::LoadOptions;
use lore::OnnxEmbedder;
use lore::{BuildReport, IndexBuilder};

/// Seed of the synthetic corpus; changing it changes every text (and voids the cache).
pub const SEED: u64 = 0x10e_be9c;
/// Passage length bounds, in words.
pub const MIN_WORDS: usize = 120;
/// See [`MIN_WORDS`].
pub const MAX_WORDS: usize = 200;
/// Upper bound on a passage's estimated tokens ([`estimate_tokens`]): under the chunk limit
/// (200 estimated tokens by default), so that every passage is exactly one chunk.
pub const MAX_TOKENS: usize = 195;

/// The organization shipped with lore (`corpus/`).
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The questions of `corpus/questions.jsonl`, in order.
pub fn corpus_questions() -> Vec<String> {
    lore::eval::read_questions(&corpus_dir().join("questions.jsonl"))
        .expect("corpus/questions.jsonl")
        .into_iter()
        .map(|q| q.question)
        .collect()
}

/// The SciFact directory (corpus.jsonl, queries.jsonl).
pub fn data_dir() -> PathBuf {
    std::env::var_os("LORE_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/scifact"))
}

/// Where synthetic corpora and bench indexes live: `~/.cache/lore/bench`.
pub fn bench_home() -> PathBuf {
    cache_home().join("bench")
}

/// Where results are written: `target/lore-bench`.
pub fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("lore-bench")
}

/// Corpus sizes to run: 10k always, 100k too when `LORE_BENCH_100K=1`.
pub fn sizes_with_100k() -> bool {
    std::env::var("LORE_BENCH_100K").is_ok_and(|v| v == "1")
}

/// One SciFact abstract, split into sentences.
struct Abstract {
    title: String,
    sentences: Vec<String>,
}

/// Read BEIR JSONL records (`_id`/`id`, `title`, `text`).
fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn field<'a>(v: &'a serde_json::Value, name: &str) -> &'a str {
    v.get(name).and_then(|x| x.as_str()).unwrap_or("")
}

/// Split at `. `, `? `, `! ` followed by an upper-case letter or a digit; whitespace collapsed.
fn sentences(text: &str) -> Vec<String> {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..bytes.len().saturating_sub(2) {
        if matches!(bytes[i], b'.' | b'?' | b'!')
            && bytes[i + 1] == b' '
            && (bytes[i + 2].is_ascii_uppercase() || bytes[i + 2].is_ascii_digit())
        {
            out.push(text[start..=i].to_string());
            start = i + 2;
        }
    }
    if start < text.len() {
        out.push(text[start..].to_string());
    }
    out.retain(|s| (4..=90).contains(&s.split_whitespace().count()));
    out
}

/// The SciFact abstracts with at least one usable sentence.
fn abstracts() -> Vec<Abstract> {
    read_jsonl(&data_dir().join("corpus.jsonl"))
        .iter()
        .map(|r| Abstract {
            title: field(r, "title").to_string(),
            sentences: sentences(field(r, "text")),
        })
        .filter(|a| !a.sentences.is_empty())
        .collect()
}

/// Passage `i`: starts at a random sentence of a random abstract (whose title it takes), goes
/// on with the next sentences and jumps to another abstract at random (one time in four) or
/// when one runs out, until it has about the drawn number of words. A sentence that would take
/// it over the chunk limit is passed over for another, up to 40 times.
fn passage(abstracts: &[Abstract], i: u64) -> (String, String) {
    let mut rng = SplitMix(SEED ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let pick = |n: usize, rng: &mut SplitMix| (rng.next_u64() % n as u64) as usize;
    let target = MIN_WORDS + pick(MAX_WORDS - MIN_WORDS + 1, &mut rng);
    let mut doc = pick(abstracts.len(), &mut rng);
    let mut pos = pick(abstracts[doc].sentences.len(), &mut rng);
    let title = abstracts[doc].title.clone();
    let mut text = String::new();
    let mut words = 0;
    let mut misses = 0;
    while words < target && misses < 40 {
        let sentence = &abstracts[doc].sentences[pos];
        let n = sentence.split_whitespace().count();
        let joined = if text.is_empty() {
            sentence.clone()
        } else {
            format!("{text} {sentence}")
        };
        let fits = words + n <= MAX_WORDS && estimate_tokens(&joined) <= MAX_TOKENS;
        if fits {
            text = joined;
            words += n;
            pos += 1;
        } else {
            misses += 1;
        }
        if !fits || pos == abstracts[doc].sentences.len() || pick(4, &mut rng) == 0 {
            doc = pick(abstracts.len(), &mut rng);
            pos = pick(abstracts[doc].sentences.len(), &mut rng);
        }
    }
    (title, text)
}

/// Word counts of a synthetic corpus: (min, median, max).
pub struct SynthStats {
    /// Passages.
    pub num_passages: usize,
    /// Fewest words in a passage.
    pub min_words: usize,
    /// Median words.
    pub median_words: usize,
    /// Most words.
    pub max_words: usize,
}

/// Passages per file of a synthetic corpus (the loader skips files over 64 MiB).
pub const SHARD: usize = 10_000;

/// Write (where missing or different) `~/.cache/lore/bench/synth-<n>/part-NN.jsonl`: `n`
/// synthetic passages as BEIR-style JSONL (`_id`, `title`, `text`), 10,000 per file. Returns
/// the directory and the word counts.
pub fn synth_corpus(n: usize) -> (PathBuf, SynthStats) {
    let abstracts = abstracts();
    assert!(abstracts.len() > 1000, "SciFact corpus not found or empty");
    let dir = bench_home().join(format!("synth-{n}"));
    std::fs::create_dir_all(&dir).expect("create the corpus dir");
    let mut words = Vec::with_capacity(n);
    for (part, start) in (0..n).step_by(SHARD).enumerate() {
        let mut out = String::new();
        for i in start..(start + SHARD).min(n) {
            let (title, text) = passage(&abstracts, i as u64);
            words.push(text.split_whitespace().count());
            let record = serde_json::json!({
                "_id": format!("synth-{i:06}"),
                "title": title,
                "text": text,
            });
            out.push_str(&record.to_string());
            out.push('\n');
        }
        let path = dir.join(format!("part-{part:02}.jsonl"));
        if std::fs::read_to_string(&path).ok().as_deref() != Some(out.as_str()) {
            std::fs::write(&path, out).expect("write the synthetic corpus");
        }
    }
    words.sort_unstable();
    let stats = SynthStats {
        num_passages: n,
        min_words: words[0],
        median_words: words[(n - 1) / 2],
        max_words: words[n - 1],
    };
    (dir, stats)
}

/// Write the first `n` passages of the 10k synthetic corpus to `dir/sample.jsonl`: a small
/// fixed corpus for timing the embedding pipeline.
pub fn sample_corpus(n: usize, dir: &Path) -> PathBuf {
    let (corpus, _) = synth_corpus(10_000);
    let text = std::fs::read_to_string(corpus.join("part-00.jsonl")).expect("read the corpus");
    let lines: Vec<&str> = text.lines().take(n).collect();
    let sample = dir.join("sample.jsonl");
    std::fs::write(&sample, lines.join("\n") + "\n").expect("write the sample");
    sample
}

/// The 300 SciFact queries.
pub fn queries() -> Vec<String> {
    let queries: Vec<String> = read_jsonl(&data_dir().join("queries.jsonl"))
        .iter()
        .map(|r| field(r, "text").to_string())
        .filter(|t| !t.trim().is_empty())
        .collect();
    assert_eq!(queries.len(), 300, "expected the 300 SciFact test queries");
    queries
}

/// The bench index over `synth-<n>`: `index-<n>` with embeddings, `index-<n>-lexical` without.
pub fn index_dir(n: usize, embed: bool) -> PathBuf {
    let suffix = if embed { "" } else { "-lexical" };
    bench_home().join(format!("index-{n}{suffix}"))
}

/// What [`ensure_index`] did.
pub struct Ensured {
    /// The index directory.
    pub dir: PathBuf,
    /// The build report, when it was built now (`None`: reused as it was).
    pub report: Option<BuildReport>,
}

/// Build the index over `corpus` in `dir`, or reuse it when it is current (same chunks, same
/// model). With embeddings, the embedding cache is first filled in slices of 2,000 texts, each
/// persisted as it is done, so an interrupted first run (100k chunks take about an hour) keeps
/// what it embedded.
pub fn ensure_index(corpus: &Path, dir: &Path, embed: bool) -> Ensured {
    let paths = [corpus.to_path_buf()];
    let builder = if embed {
        IndexBuilder::new(dir)
    } else {
        IndexBuilder::new(dir).without_embeddings()
    };
    if builder.is_current(&paths).unwrap_or(false) {
        eprintln!("reusing {}", dir.display());
        return Ensured {
            dir: dir.to_path_buf(),
            report: None,
        };
    }
    if embed {
        warm_embedding_cache(corpus);
    }
    eprintln!("building {}", dir.display());
    let report = builder.build(&paths).expect("index build");
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(
        report.num_chunks, report.num_documents,
        "every synthetic passage must be exactly one chunk"
    );
    Ensured {
        dir: dir.to_path_buf(),
        report: Some(report),
    }
}

/// Embed every chunk of `corpus` into the default embedding cache, persisting every 2,000.
fn warm_embedding_cache(corpus: &Path) {
    let loaded = load_paths(&[corpus.to_path_buf()], &LoadOptions::default(), &|_| {});
    let mut texts: Vec<String> = loaded
        .documents
        .iter()
        .flat_map(|d| chunk_document(d, &ChunkOptions::default()))
        .map(|c| embedding_text(&c))
        .collect();
    texts.sort_by_key(String::len);
    let model = lore::internals::embed::resolve_model_dir(None);
    let embedder = Arc::new(OnnxEmbedder::load_for_indexing(&model).expect("load the model"));
    let cached = CachedEmbedder::open(embedder, &EmbeddingCache::default_root())
        .expect("open the embedding cache");
    let started = Instant::now();
    for (i, slice) in texts.chunks(2000).enumerate() {
        let refs: Vec<&str> = slice.iter().map(String::as_str).collect();
        cached.embed(&refs).expect("embed");
        cached.persist().expect("persist the embedding cache");
        let misses = cached.num_misses();
        if misses > 0 {
            eprintln!(
                "embedding cache: {}/{} texts, {misses} embedded now ({:.1}/s)",
                (i * 2000 + slice.len()),
                texts.len(),
                misses as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Nearest-rank percentile (`p` in 0..=100) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Sum of the sizes of every file under `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Bytes to MB (10^6).
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// This process's peak resident set size in bytes (`VmHWM`), if known.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// This process's current resident set size in bytes (`VmRSS`), if known.
pub fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Reset this process's peak RSS to its current RSS (Linux `clear_refs` 5); false if refused.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`): how busy the machine was.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Write `value` as pretty JSON to `target/lore-bench/<name>`, returning the path.
pub fn write_result(name: &str, value: &serde_json::Value) -> PathBuf {
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("create target/lore-bench");
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap() + "\n")
        .expect("write the results");
    path
}

/// Embedder wrapper that adds up the time spent inside the wrapped embedder and keeps the texts
/// it was asked to embed (to replay them through the bare model).
pub struct Timed {
    inner: Arc<dyn Embedder>,
    nanos: std::sync::atomic::AtomicU64,
    texts: std::sync::Mutex<Vec<String>>,
}

impl Timed {
    /// Wrap `inner`.
    pub fn new(inner: Arc<dyn Embedder>) -> Self {
        Timed {
            inner,
            nanos: Default::default(),
            texts: Default::default(),
        }
    }

    /// Time spent inside the model so far.
    pub fn inside(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Every text embedded so far, in the order asked.
    pub fn texts(&self) -> Vec<String> {
        self.texts.lock().unwrap().clone()
    }
}

impl Embedder for Timed {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn embed(&self, texts: &[&str]) -> lore::Result<Vec<Vec<f32>>> {
        let started = Instant::now();
        let out = self.inner.embed(texts);
        self.nanos.fetch_add(
            started.elapsed().as_nanos() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.texts
            .lock()
            .unwrap()
            .extend(texts.iter().map(|t| t.to_string()));
        out
    }
}
