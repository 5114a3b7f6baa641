//! Ranking metrics with trec_eval's conventions (the ones BEIR and pytrec_eval report).
//!
//! - A run is read in trec_eval's order: score descending, ties broken by document id
//!   *descending* (trec_eval compares `docno`s with `strcmp` reversed). [`trec_order`] does that.
//! - nDCG@k uses linear gains (the graded relevance itself) and the `log2(rank + 1)` discount;
//!   the ideal ranking is built from every judged document with relevance > 0, retrieved or not.
//! - Recall@k counts documents with relevance > 0.
//! - MRR@k is the reciprocal rank of the first relevant document within the top `k` (0 if none).
//! - A query with no relevant document is skipped; a query with relevant documents and an empty
//!   run scores 0 (trec_eval `-c`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Graded judgements of one query: document id → relevance.
pub type Judgements = HashMap<String, u32>;

/// Judgements of every query.
pub type Qrels = HashMap<String, Judgements>;

/// One retrieved document of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// Document id.
    pub doc_id: String,
    /// Its score in the run.
    pub score: f32,
}

/// Sort a run the way trec_eval reads it: score descending, then document id descending.
pub fn trec_order(run: &mut [Scored]) {
    run.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.doc_id.as_bytes().cmp(a.doc_id.as_bytes()))
    });
}

/// nDCG@k with linear gains; `run` must already be in [`trec_order`].
pub fn ndcg_at(run: &[Scored], judgements: &Judgements, k: usize) -> f64 {
    let discount = |i: usize| ((i + 2) as f64).log2();
    let dcg: f64 = run
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, s)| f64::from(judgements.get(&s.doc_id).copied().unwrap_or(0)) / discount(i))
        .sum();
    let mut ideal: Vec<u32> = judgements.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| f64::from(g) / discount(i))
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// Number of documents with relevance > 0.
pub fn num_relevant(judgements: &Judgements) -> usize {
    judgements.values().filter(|&&g| g > 0).count()
}

fn is_relevant(judgements: &Judgements, doc_id: &str) -> bool {
    judgements.get(doc_id).is_some_and(|&g| g > 0)
}

/// Recall@k over documents with relevance > 0.
pub fn recall_at(run: &[Scored], judgements: &Judgements, k: usize) -> f64 {
    let relevant = num_relevant(judgements);
    if relevant == 0 {
        return 0.0;
    }
    let found = run
        .iter()
        .take(k)
        .filter(|s| is_relevant(judgements, &s.doc_id))
        .count();
    found as f64 / relevant as f64
}

/// Reciprocal rank of the first relevant document within the top `k`.
pub fn mrr_at(run: &[Scored], judgements: &Judgements, k: usize) -> f64 {
    run.iter()
        .take(k)
        .position(|s| is_relevant(judgements, &s.doc_id))
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// The metrics `lore eval` reports for one query.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct QueryMetrics {
    /// nDCG@10.
    #[serde(rename = "ndcg@10")]
    pub ndcg_10: f64,
    /// Recall@10.
    #[serde(rename = "recall@10")]
    pub recall_10: f64,
    /// Recall@100.
    #[serde(rename = "recall@100")]
    pub recall_100: f64,
    /// MRR@10.
    #[serde(rename = "mrr@10")]
    pub mrr_10: f64,
}

impl QueryMetrics {
    /// Measure one query's run (in trec_eval's order: score, then document id).
    pub fn measure(run: &[Scored], judgements: &Judgements) -> Self {
        QueryMetrics {
            ndcg_10: ndcg_at(run, judgements, 10),
            recall_10: recall_at(run, judgements, 10),
            recall_100: recall_at(run, judgements, 100),
            mrr_10: mrr_at(run, judgements, 10),
        }
    }

    /// The mean over queries (all zeros for none).
    pub fn mean<'a>(all: impl IntoIterator<Item = &'a QueryMetrics>) -> Self {
        let mut sum = QueryMetrics::default();
        let mut n = 0usize;
        for m in all {
            sum.ndcg_10 += m.ndcg_10;
            sum.recall_10 += m.recall_10;
            sum.recall_100 += m.recall_100;
            sum.mrr_10 += m.mrr_10;
            n += 1;
        }
        if n == 0 {
            return sum;
        }
        let n = n as f64;
        QueryMetrics {
            ndcg_10: sum.ndcg_10 / n,
            recall_10: sum.recall_10 / n,
            recall_100: sum.recall_100 / n,
            mrr_10: sum.mrr_10 / n,
        }
    }
}

/// Query latency summary, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Mean.
    pub mean: f64,
    /// Slowest.
    pub max: f64,
}

impl Latency {
    /// Summarise samples (milliseconds); percentiles by the nearest-rank method.
    pub fn of(samples: &[f64]) -> Self {
        if samples.is_empty() {
            return Latency::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Latency {
            p50: percentile(&sorted, 50.0),
            p90: percentile(&sorted, 90.0),
            p99: percentile(&sorted, 99.0),
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            max: sorted[sorted.len() - 1],
        }
    }
}

/// Nearest-rank percentile of ascending `sorted` samples (`p` in 0..=100).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ids: &[(&str, f32)]) -> Vec<Scored> {
        ids.iter()
            .map(|&(d, s)| Scored {
                doc_id: d.into(),
                score: s,
            })
            .collect()
    }

    fn judged(pairs: &[(&str, u32)]) -> Judgements {
        pairs.iter().map(|&(d, g)| (d.to_string(), g)).collect()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn ndcg_by_hand_with_graded_relevance() {
        // Ranks 1..4: d1 (rel 2), d2 (0), d3 (1), d4 (unjudged); d5 (rel 2) not retrieved.
        let r = run(&[("d1", 4.0), ("d2", 3.0), ("d3", 2.0), ("d4", 1.0)]);
        let j = judged(&[("d1", 2), ("d2", 0), ("d3", 1), ("d5", 2)]);
        // DCG = 2/log2(2) + 0 + 1/log2(4) = 2 + 0.5 = 2.5
        // IDCG = 2/1 + 2/log2(3) + 1/log2(4) = 2 + 1.2618595071429148 + 0.5
        let idcg = 2.0 + 2.0 / 3f64.log2() + 0.5;
        close(ndcg_at(&r, &j, 10), 2.5 / idcg);
        // At cut 1 only d1 counts, against an ideal of 2.
        close(ndcg_at(&r, &j, 1), 1.0);
        // At cut 2: DCG 2, IDCG 2 + 2/log2(3).
        close(ndcg_at(&r, &j, 2), 2.0 / (2.0 + 2.0 / 3f64.log2()));
    }

    #[test]
    fn recall_and_mrr_by_hand() {
        let r = run(&[("a", 3.0), ("b", 2.0), ("c", 1.0)]);
        let j = judged(&[("b", 1), ("c", 2), ("z", 1), ("n", 0)]);
        close(recall_at(&r, &j, 2), 1.0 / 3.0);
        close(recall_at(&r, &j, 100), 2.0 / 3.0);
        close(mrr_at(&r, &j, 10), 0.5);
        close(mrr_at(&r, &j, 1), 0.0);
        // Judged but irrelevant documents never count.
        assert_eq!(num_relevant(&j), 3);
    }

    #[test]
    fn empty_runs_score_zero() {
        let j = judged(&[("a", 1)]);
        assert_eq!(QueryMetrics::measure(&[], &j), QueryMetrics::default());
        assert_eq!(ndcg_at(&run(&[("a", 1.0)]), &judged(&[]), 10), 0.0);
    }

    #[test]
    fn ties_are_read_in_trec_eval_order() {
        let mut r = run(&[("a", 1.0), ("c", 2.0), ("b", 1.0), ("d", 0.5)]);
        trec_order(&mut r);
        let ids: Vec<&str> = r.iter().map(|s| s.doc_id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a", "d"]);
        // So a relevant `a` tied with `b` sits at rank 3, as trec_eval would put it.
        close(mrr_at(&r, &judged(&[("a", 1)]), 10), 1.0 / 3.0);
    }

    #[test]
    fn means_and_percentiles() {
        let m = QueryMetrics::mean(&[
            QueryMetrics {
                ndcg_10: 1.0,
                recall_10: 0.5,
                recall_100: 1.0,
                mrr_10: 1.0,
            },
            QueryMetrics::default(),
        ]);
        close(m.ndcg_10, 0.5);
        close(m.recall_10, 0.25);
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let l = Latency::of(&samples);
        close(l.p50, 50.0);
        close(l.p90, 90.0);
        close(l.p99, 99.0);
        close(l.max, 100.0);
        close(l.mean, 50.5);
        close(Latency::of(&[7.0]).p99, 7.0);
    }
}
