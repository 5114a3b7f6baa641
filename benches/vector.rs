//! Dense search latency: the HNSW graph against its exact flat twin, on seeded clustered unit
//! vectors of the model's dimension. Recall of the graph is asserted once before timing.
//!
//! Before timing, lore's graph builder is compared once with hnsw_rs's on the same vectors and
//! parameters: build time, and recall@10 of each graph searched by its own code.
//!
//! Run: `cargo bench --bench vector`

use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::prelude::Hnsw;
use lore::internals::vector::synthetic::clustered;
use lore::internals::vector::FlatIndex;
use lore::internals::vector::HnswIndex;
use lore::internals::vector::HnswParams;
use lore::internals::vector::QuantizedStore;
use lore::internals::vector::VectorIndex;
use lore::internals::vector::VectorStore;

const DIM: usize = 384;

fn bench_dense(c: &mut Criterion) {
    let n = 20_000;
    let mut store = VectorStore::new(DIM);
    for v in clustered(n, DIM, 200, 1) {
        store.push(&v).unwrap();
    }
    let params = HnswParams::default();
    let started = Instant::now();
    let graph = HnswIndex::build(&store, &params);
    let lore_build = started.elapsed().as_secs_f64();
    let hnsw = graph.searcher(&store);
    let flat = FlatIndex::new(&store);
    let queries = clustered(100, DIM, 200, 2);
    compare_with_hnsw_rs(&store, &params, &queries, lore_build);

    let mut found = 0;
    for q in &queries {
        let exact: Vec<u32> = flat.search(q, 10, None).iter().map(|h| h.ord).collect();
        let approx: Vec<u32> = hnsw.search(q, 10, None).iter().map(|h| h.ord).collect();
        found += exact.iter().filter(|o| approx.contains(o)).count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    // Isotropic noise in 384 dimensions is the hardest case for a graph index (real embeddings
    // lie near a much lower-dimensional surface: on SciFact's real vectors recall@10 is 0.983,
    // `tests/scifact.rs`). Guard against a broken graph, and say what was measured.
    eprintln!("HNSW recall@10 against flat on {n} synthetic vectors: {recall:.3}");
    assert!(recall >= 0.8, "HNSW recall@10 {recall}");

    let mut group = c.benchmark_group("dense_top10");
    let mut i = 0;
    group.bench_function(BenchmarkId::new("hnsw", n), |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            hnsw.search(&queries[i], 10, None)
        })
    });
    group.bench_function(BenchmarkId::new("flat", n), |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            flat.search(&queries[i], 10, None)
        })
    });
    // The searchers over int8 codes, as a long-running `Index` holds them (the index then
    // rescores a pool of candidates from disk; that part is in `benches/search.rs`).
    let codes = QuantizedStore::from_rows(DIM, store.iter().map(|(_, v)| v));
    let hnsw_codes = graph.searcher(&codes);
    let flat_codes = FlatIndex::new(&codes);
    group.bench_function(BenchmarkId::new("hnsw_int8", n), |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            hnsw_codes.search(&queries[i], 10, None)
        })
    });
    group.bench_function(BenchmarkId::new("flat_int8", n), |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            flat_codes.search(&queries[i], 10, None)
        })
    });
    group.finish();
}

/// `1 - dot` for unit vectors, hnsw_rs's distance for the comparison.
struct UnitDot;

impl Distance<f32> for UnitDot {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - lore::internals::vector::dot(a, b)).max(0.0)
    }
}

/// Build hnsw_rs's graph over the same vectors with the same parameters and report both
/// builders' time and both graphs' recall@10 against the exact twin (each searched by its own
/// code, with the same `ef`).
fn compare_with_hnsw_rs(
    store: &VectorStore,
    params: &HnswParams,
    queries: &[Vec<f32>],
    lore_build: f64,
) {
    let started = Instant::now();
    let reference: Hnsw<f32, UnitDot> = Hnsw::new(
        params.max_connections,
        store.len(),
        16,
        params.ef_construction,
        UnitDot,
    );
    let data: Vec<(&[f32], usize)> = store.iter().map(|(ord, v)| (v, ord as usize)).collect();
    reference.parallel_insert_slice(&data);
    let reference_build = started.elapsed().as_secs_f64();

    let graph = HnswIndex::build(store, params);
    let lore = graph.searcher(store);
    let flat = FlatIndex::new(store);
    let (mut found_lore, mut found_reference) = (0, 0);
    for q in queries {
        let exact: Vec<u32> = flat.search(q, 10, None).iter().map(|h| h.ord).collect();
        let ours: Vec<u32> = lore.search(q, 10, None).iter().map(|h| h.ord).collect();
        let theirs: Vec<u32> = reference
            .search(q, 10, params.ef_search)
            .iter()
            .map(|n| n.d_id as u32)
            .collect();
        found_lore += exact.iter().filter(|o| ours.contains(o)).count();
        found_reference += exact.iter().filter(|o| theirs.contains(o)).count();
    }
    let total = (queries.len() * 10) as f64;
    eprintln!(
        "graph build over {} vectors: lore {lore_build:.2} s, recall@10 {:.3}; \
         hnsw_rs {reference_build:.2} s, recall@10 {:.3}",
        store.len(),
        found_lore as f64 / total,
        found_reference as f64 / total,
    );
}

criterion_group!(benches, bench_dense);
criterion_main!(benches);
