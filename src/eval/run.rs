//! Running labelled queries through an index and scoring the runs.
//!
//! Documents are ranked by their best chunk: the ranked chunk list is walked top down and each
//! document takes the score of its first (best) chunk. Each query retrieves deep enough to rank
//! [`EvalOptions::depth`] documents, and its latency is the wall time of that ranking (query
//! embedding included, reading and highlighting of chunks excluded), after one untimed warm-up
//! query per mode whose time is reported apart.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::beir::Dataset;
use crate::eval::metrics::{num_relevant, trec_order, Latency, QueryMetrics, Scored};
use crate::index::Index;
use crate::model::Filter;
use crate::progress::Progress;
use crate::query::{Mode, RankingOptions, SearchRequest};

/// How to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// Restrict each query's candidates to documents whose metadata field of this name equals
    /// the query's field of the same name (e.g. `meeting_id`).
    pub scope: Option<String>,
    /// How hits are ranked (full-text scoring, fusion, passage context).
    pub ranking: RankingOptions,
    /// Documents ranked per query (the run depth; Recall@100 needs 100).
    pub depth: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            scope: None,
            ranking: RankingOptions::default(),
            depth: 100,
        }
    }
}

/// A query that was not evaluated, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedQuery {
    /// Query id.
    pub id: String,
    /// Why it was left out.
    pub reason: String,
}

/// The queries to run: those with at least one relevant document, with their scope filter.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `(query index in the data set, filters)`.
    pub queries: Vec<(usize, Vec<Filter>)>,
    /// Left out, with reasons.
    pub skipped: Vec<SkippedQuery>,
    /// Judged query ids that have no query text.
    pub judged_without_query: usize,
}

/// Decide which queries are evaluated.
pub fn plan(dataset: &Dataset, options: &EvalOptions) -> Plan {
    let mut queries = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = HashSet::new();
    for (i, q) in dataset.queries.iter().enumerate() {
        if !seen.insert(q.id.as_str()) {
            skipped.push(SkippedQuery {
                id: q.id.clone(),
                reason: "duplicate query id (first one kept)".into(),
            });
            continue;
        }
        let relevant = dataset.qrels.get(&q.id).map_or(0, num_relevant);
        if relevant == 0 {
            skipped.push(SkippedQuery {
                id: q.id.clone(),
                reason: "no relevant document in the qrels".into(),
            });
            continue;
        }
        let mut filters = Vec::new();
        if let Some(field) = &options.scope {
            match q.fields.get(field) {
                Some(value) => filters.push(Filter::Meta {
                    key: field.clone(),
                    value: value.clone(),
                }),
                None => {
                    skipped.push(SkippedQuery {
                        id: q.id.clone(),
                        reason: format!("no `{field}` field to scope by"),
                    });
                    continue;
                }
            }
        }
        queries.push((i, filters));
    }
    let judged_without_query = dataset
        .qrels
        .keys()
        .filter(|id| !seen.contains(id.as_str()))
        .count();
    Plan {
        queries,
        skipped,
        judged_without_query,
    }
}

/// The outcome of one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeResult {
    /// The mode asked for.
    pub mode: Mode,
    /// Mean metrics over the evaluated queries.
    #[serde(flatten)]
    pub metrics: QueryMetrics,
    /// Ranking latency per query, after one untimed warm-up query.
    pub latency_ms: Latency,
    /// Wall time of the warm-up query, which loads the model, vectors and graph on first use.
    pub first_query_ms: f64,
    /// Queries evaluated.
    pub queries: usize,
    /// Queries answered by another mode than asked (hybrid falling back to lexical; the reasons
    /// are in `notes`).
    pub fallbacks: usize,
    /// Distinct notes the index gave.
    pub notes: Vec<String>,
    /// Per-query metrics.
    #[serde(skip)]
    pub per_query: BTreeMap<String, QueryMetrics>,
    /// Per-query runs, in trec_eval order.
    #[serde(skip)]
    pub runs: BTreeMap<String, Vec<Scored>>,
}

/// Run every planned query in `mode` and score it.
pub fn evaluate_mode(
    index: &Index,
    doc_ids: &[String],
    dataset: &Dataset,
    plan: &Plan,
    mode: Mode,
    options: &EvalOptions,
    progress: &dyn Progress,
) -> Result<ModeResult> {
    let counts = &index.manifest().counts;
    // Chunks to rank for `depth` documents, with room for documents split into many chunks.
    let chunks_per_doc = counts.chunks as f64 / counts.documents.max(1) as f64;
    let first_k = ((options.depth as f64 * chunks_per_doc * 1.5).ceil() as usize)
        .max(options.depth)
        .min(counts.chunks.max(1));

    // One untimed query first: the model, the vectors and the graph load on first use, and
    // that one-off cost is reported apart from the per-query latency.
    let first_query_ms = match plan.queries.first() {
        Some((i, filters)) => {
            let started = Instant::now();
            index.rank(&SearchRequest {
                text: dataset.queries[*i].text.clone(),
                k: first_k,
                mode,
                filters: filters.clone(),
                ranking: options.ranking,
                ..SearchRequest::default()
            })?;
            started.elapsed().as_secs_f64() * 1000.0
        }
        None => 0.0,
    };
    let mut latencies = Vec::with_capacity(plan.queries.len());
    let mut per_query = BTreeMap::new();
    let mut runs = BTreeMap::new();
    let mut fallbacks = 0;
    let mut notes: Vec<String> = Vec::new();
    progress.start(mode.as_str(), plan.queries.len() as u64);
    for (i, filters) in &plan.queries {
        let query = &dataset.queries[*i];
        let mut k = first_k;
        let started = Instant::now();
        let (ranking, run) = loop {
            let request = SearchRequest {
                text: query.text.clone(),
                k,
                mode,
                filters: filters.clone(),
                ranking: options.ranking,
                ..SearchRequest::default()
            };
            let ranking = index.rank(&request)?;
            let run = best_chunk_per_doc(&ranking.hits, doc_ids, options.depth)?;
            let exhausted = ranking.hits.len() < k || k >= counts.chunks;
            if run.len() >= options.depth || exhausted {
                break (ranking, run);
            }
            k = (k * 2).min(counts.chunks);
        };
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        if ranking.mode_used != mode {
            fallbacks += 1;
        }
        for note in ranking.notes {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        let mut run = run;
        trec_order(&mut run);
        let judgements = &dataset.qrels[&query.id];
        per_query.insert(query.id.clone(), QueryMetrics::measure(&run, judgements));
        runs.insert(query.id.clone(), run);
        progress.advance(1);
    }
    progress.finish();
    Ok(ModeResult {
        mode,
        metrics: QueryMetrics::mean(per_query.values()),
        latency_ms: Latency::of(&latencies),
        first_query_ms,
        queries: per_query.len(),
        fallbacks,
        notes,
        per_query,
        runs,
    })
}

/// The first `depth` distinct documents of a chunk ranking, each scored by its best chunk.
fn best_chunk_per_doc(
    hits: &[crate::query::RankedChunk],
    doc_ids: &[String],
    depth: usize,
) -> Result<Vec<Scored>> {
    let mut seen = HashSet::new();
    let mut run = Vec::new();
    for hit in hits {
        let doc = doc_ids
            .get(hit.ord as usize)
            .ok_or_else(|| Error::bug(format!("ranked chunk {} has no document", hit.ord)))?;
        if seen.insert(doc.as_str()) {
            run.push(Scored {
                doc_id: doc.clone(),
                score: hit.score,
            });
            if run.len() == depth {
                break;
            }
        }
    }
    Ok(run)
}

/// Write runs in TREC format: `query-id Q0 doc-id rank score tag`, queries in id order, each
/// in trec_eval order.
pub fn write_trec_run(path: &Path, runs: &BTreeMap<String, Vec<Scored>>, tag: &str) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = std::io::BufWriter::new(file);
    for (query, run) in runs {
        for (i, s) in run.iter().enumerate() {
            writeln!(out, "{query} Q0 {} {} {} {tag}", s.doc_id, i + 1, s.score)
                .map_err(|e| Error::io(path, e))?;
        }
    }
    out.flush().map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::RankedChunk;

    fn ranked(ord: u32, score: f32) -> RankedChunk {
        RankedChunk {
            ord,
            score,
            lexical: None,
            dense: None,
        }
    }

    #[test]
    fn documents_take_their_best_chunk() {
        let doc_ids: Vec<String> = ["a", "a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let hits = [
            ranked(1, 0.9),
            ranked(0, 0.8),
            ranked(3, 0.7),
            ranked(2, 0.6),
        ];
        let run = best_chunk_per_doc(&hits, &doc_ids, 10).unwrap();
        let got: Vec<(&str, f32)> = run.iter().map(|s| (s.doc_id.as_str(), s.score)).collect();
        assert_eq!(got, [("a", 0.9), ("c", 0.7), ("b", 0.6)]);
        assert_eq!(best_chunk_per_doc(&hits, &doc_ids, 2).unwrap().len(), 2);
        assert!(best_chunk_per_doc(&[ranked(9, 1.0)], &doc_ids, 2).is_err());
    }

    #[test]
    fn trec_runs_are_written_one_line_per_document() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.trec");
        let mut runs = BTreeMap::new();
        runs.insert(
            "q1".to_string(),
            vec![
                Scored {
                    doc_id: "d2".into(),
                    score: 0.5,
                },
                Scored {
                    doc_id: "d1".into(),
                    score: 0.25,
                },
            ],
        );
        write_trec_run(&path, &runs, "lore-hybrid").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "q1 Q0 d2 1 0.5 lore-hybrid\nq1 Q0 d1 2 0.25 lore-hybrid\n"
        );
    }
}
