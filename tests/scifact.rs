//! HNSW against its exact flat twin on real SciFact vectors (BEIR test split, in
//! `../shared/data/scifact`, or the directory `$LORE_SCIFACT_DATA` names; the test fails when
//! the data is missing). Heavy (embeds 5,183 abstracts unless the embedding cache holds
//! them), so ignored by default; run it with
//!
//! ```sh
//! cargo test --release --test scifact -- --ignored --nocapture
//! ```
//!
//! With `LORE_SCIFACT_INDEX=DIR` (an index built by `lore index
//! ../shared/data/scifact/corpus.jsonl --index DIR`) that index is used. Quality per mode is
//! measured by `lore eval ../shared/data/scifact` (see `benches/RESULTS.md`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use lore::{Index, IndexBuilder, Mode, SearchRequest};

/// The SciFact directory: `$LORE_SCIFACT_DATA`, else `../shared/data/scifact` beside the
/// package. Panics, saying where it looked, when `corpus.jsonl` or `queries.jsonl` is missing:
/// the test is opt-in, so whoever runs it must learn that it did not run.
fn data() -> PathBuf {
    let (dir, from) = match std::env::var_os(DATA_VAR) {
        Some(d) => (PathBuf::from(d), format!("${DATA_VAR}")),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/scifact"),
            format!("the default, as {DATA_VAR} is not set"),
        ),
    };
    for file in ["corpus.jsonl", "queries.jsonl"] {
        assert!(
            dir.join(file).is_file(),
            "SciFact data not found: no {} ({from}). Set {DATA_VAR}=DIR to a BEIR SciFact \
             directory holding corpus.jsonl and queries.jsonl",
            dir.join(file).display(),
        );
    }
    dir
}

/// Names the SciFact directory (BEIR layout).
const DATA_VAR: &str = "LORE_SCIFACT_DATA";

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

/// The embedded SciFact index: `$LORE_SCIFACT_INDEX` if set, else one built under `tmp`.
fn embedded_index(data: &Path, tmp: &Path) -> PathBuf {
    if let Some(d) = std::env::var_os("LORE_SCIFACT_INDEX") {
        return PathBuf::from(d);
    }
    let started = Instant::now();
    let d = tmp.join("full");
    let report = IndexBuilder::new(&d)
        .build(&[data.join("corpus.jsonl")])
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
    let dir = data();
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
