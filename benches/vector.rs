//! Dense search latency: the HNSW graph against its exact flat twin, on seeded clustered unit
//! vectors of the model's dimension. Recall of the graph is asserted once before timing.
//!
//! Run: `cargo bench --bench vector`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lore::vector::{FlatIndex, HnswIndex, HnswParams, VectorIndex, VectorStore};

const DIM: usize = 384;

/// SplitMix64 → roughly normal values; deterministic for a seed.
fn clustered(n: usize, clusters: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^= z >> 31;
        (z >> 11) as f32 / (1u64 << 53) as f32
    };
    let mut gauss = move || (0..4).map(|_| next()).sum::<f32>() - 2.0;
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..DIM).map(|_| gauss()).collect())
        .collect();
    (0..n)
        .map(|i| {
            let mut v: Vec<f32> = centres[i % clusters]
                .iter()
                .map(|x| x + 0.8 * gauss())
                .collect();
            lore::embed::normalize(&mut v);
            v
        })
        .collect()
}

fn bench_dense(c: &mut Criterion) {
    let n = 20_000;
    let mut store = VectorStore::new(DIM);
    for v in clustered(n, 200, 1) {
        store.push(&v).unwrap();
    }
    let hnsw = HnswIndex::build(&store, &HnswParams::default());
    let flat = FlatIndex::new(&store);
    let queries = clustered(100, 200, 2);

    let mut found = 0;
    for q in &queries {
        let exact: Vec<u32> = flat.search(q, 10, None).iter().map(|h| h.ord).collect();
        let approx: Vec<u32> = hnsw.search(q, 10, None).iter().map(|h| h.ord).collect();
        found += exact.iter().filter(|o| approx.contains(o)).count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(recall >= 0.95, "HNSW recall@10 {recall}");

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
    group.finish();
}

criterion_group!(benches, bench_dense);
criterion_main!(benches);
