//! The exact twin: score every vector, keep the best `k`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::{rank, Neighbor, OrdFilter, VectorIndex, VectorStore, Vectors};

/// Exhaustive cosine search over any vector rows (exact over a [`VectorStore`]).
#[derive(Debug, Clone, Copy)]
pub struct FlatIndex<'a, V = VectorStore> {
    store: &'a V,
}

impl<'a, V: Vectors> FlatIndex<'a, V> {
    /// Score every row of `store`.
    pub fn new(store: &'a V) -> Self {
        FlatIndex { store }
    }

    /// Search restricted to the given ordinals (used when a filter leaves few candidates).
    pub fn search_among(&self, query: &[f32], k: usize, ords: &[u32]) -> Vec<Neighbor> {
        let query = self.store.prepare(query);
        let hits = ords
            .iter()
            .filter(|&&ord| (ord as usize) < self.store.len())
            .map(|&ord| Neighbor {
                ord,
                score: self.store.similarity(&query, ord),
            })
            .collect();
        rank(hits, k)
    }
}

/// Heap entry ordered so that the *worst* kept neighbour is on top.
struct Worst(Neighbor);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        // Greater = worse: lower score, then higher ordinal.
        other
            .0
            .score
            .total_cmp(&self.0.score)
            .then(self.0.ord.cmp(&other.0.ord))
    }
}

/// Stores at least this large are scanned on every core: below it, a thread costs more than
/// it saves.
const PARALLEL_SCAN_MIN: usize = 32_768;

/// Rows scanned per parallel task.
const SCAN_SLICE: usize = 8_192;

impl<V: Vectors> FlatIndex<'_, V> {
    /// The best `k` of the rows `range`, best first.
    fn scan(
        &self,
        query: &V::Query,
        k: usize,
        filter: Option<&dyn OrdFilter>,
        range: std::ops::Range<usize>,
    ) -> Vec<Neighbor> {
        let mut heap: BinaryHeap<Worst> = BinaryHeap::with_capacity(k + 1);
        for ord in range {
            let ord = ord as u32;
            if filter.is_some_and(|f| !f.allows(ord)) {
                continue;
            }
            let candidate = Worst(Neighbor {
                ord,
                score: self.store.similarity(query, ord),
            });
            if heap.len() < k {
                heap.push(candidate);
            } else if heap.peek().is_some_and(|worst| candidate < *worst) {
                heap.pop();
                heap.push(candidate);
            }
        }
        rank(heap.into_iter().map(|w| w.0).collect(), k)
    }
}

impl<V: Vectors> VectorIndex for FlatIndex<'_, V> {
    fn search(&self, query: &[f32], k: usize, filter: Option<&dyn OrdFilter>) -> Vec<Neighbor> {
        if k == 0 {
            return Vec::new();
        }
        let query = &self.store.prepare(query);
        let n = self.store.len();
        if n < PARALLEL_SCAN_MIN {
            return self.scan(query, k, filter, 0..n);
        }
        // Slices scanned in parallel, each keeping its own best `k`; the union holds the best `k`.
        use rayon::prelude::*;
        let best: Vec<Neighbor> = (0..n.div_ceil(SCAN_SLICE))
            .into_par_iter()
            .flat_map_iter(|i| {
                let range = i * SCAN_SLICE..((i + 1) * SCAN_SLICE).min(n);
                self.scan(query, k, filter, range)
            })
            .collect();
        rank(best, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_are_broken_by_ordinal() {
        let mut store = VectorStore::new(2);
        for _ in 0..5 {
            store.push(&[1.0, 0.0]).unwrap();
        }
        let hits = FlatIndex::new(&store).search(&[1.0, 0.0], 3, None);
        assert_eq!(
            hits.iter().map(|h| h.ord).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn a_parallel_scan_equals_a_sequential_one() {
        let mut store = VectorStore::new(16);
        for v in crate::vector::synthetic::clustered(PARALLEL_SCAN_MIN + 5_000, 16, 40, 7) {
            store.push(&v).unwrap();
        }
        let flat = FlatIndex::new(&store);
        let query = store.get(123).to_vec();
        let allow_even = |ord: u32| ord.is_multiple_of(2);
        for filter in [None, Some(&allow_even as &dyn OrdFilter)] {
            for k in [1, 10, 100] {
                let parallel = flat.search(&query, k, filter);
                let sequential = flat.scan(&query, k, filter, 0..VectorStore::len(&store));
                assert_eq!(parallel, sequential, "k {k}");
                assert_eq!(parallel.len(), k);
            }
        }
    }

    #[test]
    fn finds_the_nearest() {
        let mut store = VectorStore::new(2);
        store.push(&[1.0, 0.0]).unwrap();
        store.push(&[0.0, 1.0]).unwrap();
        store.push(&[0.6, 0.8]).unwrap();
        let hits = FlatIndex::new(&store).search(&[0.0, 1.0], 2, None);
        assert_eq!(hits[0].ord, 1);
        assert_eq!(hits[1].ord, 2);
        let among = FlatIndex::new(&store).search_among(&[0.0, 1.0], 5, &[0, 2]);
        assert_eq!(among.iter().map(|h| h.ord).collect::<Vec<_>>(), vec![2, 0]);
    }
}
