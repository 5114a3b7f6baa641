//! A first quality check on SciFact (BEIR test split, in `../shared/data/scifact`): nDCG@10 per
//! mode, documents ranked by their best chunk. Heavy (embeds 5,183 abstracts), so ignored by
//! default; run it with
//!
//! ```sh
//! cargo test --release --test scifact -- --ignored --nocapture
//! ```
//!
//! With `LORE_SCIFACT_INDEX=DIR` (an index built by `lore index
//! ../shared/data/scifact/corpus.jsonl --index DIR`) the embedded index is reused.
//!
//! The full evaluation command (`lore eval`) is a separate piece of work; this only guards that
//! each mode is in the range of the published baselines (BM25 0.679, all-MiniLM-L6-v2 0.645).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lore::{Index, IndexBuilder, Mode, NoProgress, SearchRequest};

fn data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/scifact");
    dir.join("corpus.jsonl").is_file().then_some(dir)
}

fn qrels(dir: &Path) -> HashMap<String, HashMap<String, u32>> {
    let mut out: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for line in std::fs::read_to_string(dir.join("qrels.tsv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = line.split('\t').collect();
        let score: u32 = f[2].trim().parse().unwrap();
        if score > 0 {
            out.entry(f[0].into())
                .or_default()
                .insert(f[1].into(), score);
        }
    }
    out
}

/// trec_eval's nDCG@10 (linear gain).
fn ndcg10(ranked: &[String], rel: &HashMap<String, u32>) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, d)| f64::from(*rel.get(d).unwrap_or(&0)) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<u32> = rel.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, &g)| f64::from(g) / ((i + 2) as f64).log2())
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// `(id, text)` of every query.
fn queries(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("queries.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let q: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                q["id"].as_str().unwrap().into(),
                q["text"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn evaluate(index: &Index, dir: &Path, mode: Mode) -> f64 {
    let qrels = qrels(dir);
    let mut total = 0.0;
    let mut n = 0;
    for (id, text) in queries(dir) {
        let Some(rel) = qrels.get(&id) else { continue };
        let response = index
            .search(&SearchRequest {
                text,
                k: 100,
                mode,
                ..SearchRequest::default()
            })
            .unwrap();
        let mut docs: Vec<String> = Vec::new();
        for hit in response.hits {
            if !docs.contains(&hit.provenance.doc_id) {
                docs.push(hit.provenance.doc_id);
            }
        }
        total += ndcg10(&docs, rel);
        n += 1;
    }
    total / n as f64
}

/// The embedded SciFact index: `$LORE_SCIFACT_INDEX` if set, else one built under `tmp`.
fn embedded_index(data: &Path, tmp: &Path) -> PathBuf {
    if let Some(d) = std::env::var_os("LORE_SCIFACT_INDEX") {
        return PathBuf::from(d);
    }
    let started = Instant::now();
    let d = tmp.join("full");
    let report = IndexBuilder::new(&d)
        .build(&[data.join("corpus.jsonl")], &NoProgress)
        .unwrap();
    eprintln!(
        "index with embeddings: {:.1}s ({} chunks, {} embedded, {} from the cache, embedding {:.1}s)",
        started.elapsed().as_secs_f64(),
        report.num_chunks,
        report.num_embedded,
        report.num_cached,
        report.embed_seconds
    );
    d
}

/// HNSW recall@10 against the exact flat twin, on the real SciFact chunk vectors and real query
/// embeddings. Uses the index in `$LORE_SCIFACT_INDEX` (built with
/// `lore index ../shared/data/scifact/corpus.jsonl --index DIR`), or builds one.
#[test]
#[ignore = "heavy: needs an embedded SciFact index"]
fn scifact_hnsw_recall_against_flat() {
    let Some(dir) = data() else {
        eprintln!("../shared/data/scifact not found; skipping");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let index = Index::open(embedded_index(&dir, tmp.path())).unwrap();
    let mut found = 0;
    let mut total = 0;
    for (_, text) in queries(&dir) {
        let text = text.as_str();
        let exact: Vec<String> = index
            .dense_search_exact(text, 10)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let approx: Vec<String> = index
            .search(&SearchRequest {
                text: text.into(),
                k: 10,
                mode: Mode::Dense,
                ..SearchRequest::default()
            })
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.chunk_id)
            .collect();
        found += exact.iter().filter(|id| approx.contains(id)).count();
        total += exact.len();
    }
    let recall = found as f64 / total as f64;
    eprintln!("SciFact HNSW recall@10 vs flat: {recall:.4} over {total} neighbours");
    assert!(recall >= 0.95, "{recall}");
}

#[test]
#[ignore = "heavy: embeds all of SciFact"]
fn scifact_ndcg_at_10_per_mode() {
    let Some(dir) = data() else {
        eprintln!("../shared/data/scifact not found; skipping");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let corpus = vec![dir.join("corpus.jsonl")];

    let started = Instant::now();
    let lex_dir = tmp.path().join("lexical");
    IndexBuilder::new(&lex_dir)
        .without_embeddings()
        .build(&corpus, &NoProgress)
        .unwrap();
    eprintln!(
        "lexical-only index: {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let full_dir = embedded_index(&dir, tmp.path());
    let index = Index::open(&full_dir).unwrap();
    let mut scores = HashMap::new();
    for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
        let started = Instant::now();
        let score = evaluate(&index, &dir, mode);
        eprintln!(
            "SciFact nDCG@10 {:<8} {score:.4}  ({:.1}s for 300 queries)",
            mode.as_str(),
            started.elapsed().as_secs_f64()
        );
        scores.insert(mode.as_str(), score);
    }
    assert!(scores["lexical"] > 0.62, "{scores:?}");
    assert!(scores["dense"] > 0.58, "{scores:?}");
    assert!(scores["hybrid"] > 0.62, "{scores:?}");
}
