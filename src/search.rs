//! Ranking over one open index: the lexical and dense retrievers, fusion, passage context,
//! and the exact twin of the dense search.
//!
//! [`Index::rank`] orders chunk ordinals for a [`SearchRequest`]; [`Index::search`] reads,
//! cites and highlights the top of that order, and checks each hit's source file (see
//! [`crate::Stale`]).

use crate::error::{Error, Result, UserError};
use crate::fuse::fuse;
use crate::index::Scope;
use crate::index::{Dense, Index};
use crate::lexical::{analyze_for, FieldWeights};
use crate::memory::supersede::label;
use crate::model::Filter;
use crate::neighbours::rescore;
use crate::query::{
    LexicalScoring, Mode, RankedChunk, Ranking, RetrieverScore, SearchHit, SearchRequest,
    SearchResponse, FILTER_KEYS,
};
use crate::snippet::{best_window, query_terms};
use crate::vector::{FlatIndex, HnswIndex, Neighbor, OrdFilter, VectorIndex, Vectors};

/// Below this many allowed chunks, a filtered dense search scans them exactly instead of
/// walking the graph.
const EXACT_FILTER_LIMIT: usize = 20_000;
/// Least depth of each retriever's list when lists are fused or passage context re-ranks them.
const CANDIDATE_DEPTH: usize = 50;
/// Candidates a quantised search hands to exact rescoring: twice the depth asked for, and at
/// least this many more.
const RESCORE_EXTRA: usize = 32;
/// Metadata fields an unknown filter key's error lists at most.
const MAX_KEYS_LISTED: usize = 40;

impl Index {
    /// The error of a search that needs embeddings on an index built without them. It names
    /// no path: a server hands it to its callers as it is.
    fn no_embeddings(&self, what: &str) -> Error {
        Error::invalid_request(format!(
            "this index was built without embeddings, so a {what} search cannot run; search in lexical mode, or rebuild the index with the model (`lore index <PATH>... --index <INDEX> --rebuild`, without --no-embed)"
        ))
    }

    /// Answer a search request: rank, then read, cite and highlight the top `k` chunks.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        let scope = self.scope(request.principal.as_ref())?;
        let scope = scope.as_deref();
        let ranking = self.rank_in(request, scope)?;
        let query_terms = query_terms(request.text.trim());
        let ledger = self.ledger_in(scope)?;
        let sources = self.source_checker()?;
        let mut hits = Vec::with_capacity(ranking.hits.len());
        for (i, ranked) in ranking.hits.into_iter().enumerate() {
            crate::deadline::check("reading and highlighting hits")?;
            let chunk = self.lexical.chunk_by_ord(ranked.ord)?;
            let tokens = analyze_for(&chunk.text, &query_terms);
            let snippet = best_window(&chunk.text, &tokens, &query_terms);
            let decision = label(ledger, &chunk.provenance, request.as_of);
            let stale = sources.hit(&chunk.provenance, &chunk.text, decision.is_some());
            hits.push(SearchHit {
                rank: i + 1,
                chunk_id: chunk.id,
                score: ranked.score,
                lexical: ranked.lexical,
                dense: ranked.dense,
                snippet,
                text: chunk.text,
                decision,
                provenance: chunk.provenance,
                stale,
            });
        }
        Ok(SearchResponse {
            query: request.text.clone(),
            mode: request.mode,
            mode_used: ranking.mode_used,
            hits,
            notes: ranking.notes,
        })
    }

    /// Rank chunks for a request without reading them: the top `k` chunk ordinals with their
    /// scores. [`Index::search`] is this plus the chunk text, snippet and provenance; evaluation
    /// uses it directly (see [`Index::doc_ids_by_ord`]).
    pub fn rank(&self, request: &SearchRequest) -> Result<Ranking> {
        let scope = self.scope(request.principal.as_ref())?;
        self.rank_in(request, scope.as_deref())
    }

    /// [`Index::rank`] within a principal's scope (`None`: everything).
    pub(crate) fn rank_in(
        &self,
        request: &SearchRequest,
        scope: Option<&Scope>,
    ) -> Result<Ranking> {
        let visible = scope.map(|s| &s.visible);
        let text = request.text.trim();
        if text.is_empty() {
            return Err(Error::invalid_request("the query is empty"));
        }
        if request.k == 0 {
            return Err(Error::invalid_request("k must be at least 1"));
        }
        crate::query::check_date_range(&request.filters)?;
        request.ranking.check()?;
        self.check_filters(&request.filters, scope)?;
        let mut notes = Vec::new();
        let mut mode_used = request.mode;
        let ranking = &request.ranking;
        // Passage context needs the neighbours of the top hits among the candidates.
        let context = self.neighbours.lift(ranking.context_weight);
        // Each retriever's list: `k` deep for a single mode without context; for fusion or
        // context, deeper (at least 50), so that a chunk ranked well by one retriever and just
        // below `k` by the other, or next to a top hit, counts.
        let depth = if request.mode == Mode::Hybrid || context {
            (request.k * 2).max(CANDIDATE_DEPTH)
        } else {
            request.k
        };

        crate::deadline::check("embedding the query")?;
        let query_vector = match (request.mode, &self.manifest.model) {
            (Mode::Lexical, _) => None,
            (Mode::Dense, None) => return Err(self.no_embeddings("dense")),
            (Mode::Hybrid, None) if request.strict => {
                return Err(self.no_embeddings("strict hybrid"))
            }
            (Mode::Hybrid, None) => {
                notes.push("index has no embeddings: lexical results only".to_string());
                mode_used = Mode::Lexical;
                None
            }
            (Mode::Dense, Some(model)) => Some(self.embed_query(text, model)?),
            (Mode::Hybrid, Some(model)) => match self.embed_query(text, model) {
                Ok(v) => Some(v),
                // A strict search, or an index the query model cannot search, fails.
                Err(e) if request.strict => return Err(e),
                Err(e @ Error::User(UserError::Incompatible { .. })) => return Err(e),
                // The note names no folder of the machine: a server hands it to its callers.
                Err(Error::User(UserError::ModelMissing { .. })) => {
                    notes.push(
                        "the query could not be embedded: the embedding model is unavailable (a strict search says why): lexical results only"
                            .to_string(),
                    );
                    mode_used = Mode::Lexical;
                    None
                }
                Err(e) => {
                    notes.push(format!(
                        "the query could not be embedded ({e}): lexical results only"
                    ));
                    mode_used = Mode::Lexical;
                    None
                }
            },
        };

        let weights = match ranking.lexical {
            LexicalScoring::Tuned => FieldWeights::default(),
            LexicalScoring::Plain => FieldWeights::plain(),
        };
        crate::deadline::check("the full-text search")?;
        let lexical: Vec<(u32, f32)> = if mode_used != Mode::Dense {
            self.lexical
                .search(text, depth, &request.filters, &weights, visible)?
                .into_iter()
                .map(|h| (h.ord, h.score))
                .collect()
        } else {
            Vec::new()
        };
        crate::deadline::check("the vector search")?;
        // Only a search that embedded its query touches the vectors and the graph.
        let dense: Vec<(u32, f32)> = match &query_vector {
            Some(v) => match self.dense()? {
                Some(d) => {
                    let allowed = self.lexical.filter_ords(&request.filters, visible)?;
                    self.dense_search(d, v, depth, allowed.as_deref())?
                }
                None => Vec::new(),
            },
            None => Vec::new(),
        };

        let single = |list: &[(u32, f32)], lexical: bool| -> Vec<RankedChunk> {
            list.iter()
                .enumerate()
                .map(|(i, &(ord, score))| {
                    let own = Some(RetrieverScore { rank: i + 1, score });
                    RankedChunk {
                        ord,
                        score,
                        lexical: if lexical { own } else { None },
                        dense: if lexical { None } else { own },
                    }
                })
                .collect()
        };
        let mut hits = match mode_used {
            Mode::Lexical => single(&lexical, true),
            Mode::Dense => single(&dense, false),
            Mode::Hybrid => fuse(&[&lexical, &dense], ranking.fusion)
                .into_iter()
                .map(|f| {
                    let to_score = |e: Option<(usize, f32)>| {
                        e.map(|(rank, score)| RetrieverScore { rank, score })
                    };
                    RankedChunk {
                        ord: f.ord,
                        score: f.score,
                        lexical: to_score(f.per_list[0]),
                        dense: to_score(f.per_list[1]),
                    }
                })
                .collect(),
        };
        if context {
            let scored: Vec<(u32, f32)> = hits.iter().map(|h| (h.ord, h.score)).collect();
            let readable = |ord: u32| visible.is_none_or(|v| v.contains(ord));
            let rescored = rescore(&scored, &self.neighbours, ranking.context_weight, readable);
            if let Some(scores) = rescored {
                for (hit, score) in hits.iter_mut().zip(scores) {
                    hit.score = score;
                }
                hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ord.cmp(&b.ord)));
            }
        }
        crate::deadline::check("ranking by the decision ledger")?;
        self.rank_by_ledger(
            text,
            request.k,
            request.as_of,
            &request.filters,
            scope,
            &mut hits,
        )?;
        hits.truncate(request.k);
        Ok(Ranking {
            mode_used,
            hits,
            notes,
        })
    }

    /// Refuse a filter on a metadata field no document of `scope` carries: it could only match
    /// nothing, and is most often a misspelt key. The error names it and the keys there are
    /// (an index built before the fields were recorded accepts any).
    fn check_filters(&self, filters: &[Filter], scope: Option<&Scope>) -> Result<()> {
        let mut unknown = filters.iter().filter_map(|f| match f {
            Filter::Meta { key, .. } => Some(key),
            _ => None,
        });
        let Some(first) = unknown.next() else {
            return Ok(());
        };
        let Some(known) = self.metadata_keys_in(scope)? else {
            return Ok(());
        };
        let Some(key) = std::iter::once(first)
            .chain(unknown)
            .find(|k| !known.contains(&k.to_lowercase()))
        else {
            return Ok(());
        };
        let mut fields: Vec<&str> = known.iter().map(String::as_str).collect();
        let more = fields.len().saturating_sub(MAX_KEYS_LISTED);
        fields.truncate(MAX_KEYS_LISTED);
        let fields = match (fields.is_empty(), more) {
            (true, _) => "none".to_string(),
            (false, 0) => fields.join(", "),
            (false, n) => format!("{}, and {n} more", fields.join(", ")),
        };
        Err(Error::invalid_request(format!(
            "unknown filter key `{key}`: a filter names one of {} or a metadata field of the documents (here: {fields})",
            FILTER_KEYS.join(", ")
        )))
    }

    fn dense_search(
        &self,
        dense: &Dense,
        query: &[f32],
        depth: usize,
        allowed: Option<&[u32]>,
    ) -> Result<Vec<(u32, f32)>> {
        let hits = match dense {
            Dense::Exact(store) => nearest(store, None, query, depth, allowed),
            Dense::Graph { codes, rows, hnsw } => {
                let pool = (2 * depth).max(depth + RESCORE_EXTRA);
                let candidates = nearest(codes, Some(hnsw), query, pool, allowed);
                rows.rescore(query, candidates, depth)?
            }
        };
        Ok(hits.into_iter().map(|n| (n.ord, n.score)).collect())
    }

    /// Exact (flat) dense search, the twin of the graph search, for checks and evaluation.
    pub fn dense_search_exact(&self, text: &str, k: usize) -> Result<Vec<(String, f32)>> {
        let (Some(model), Some(dense)) = (&self.manifest.model, self.dense()?) else {
            return Err(self.no_embeddings("exact dense"));
        };
        let v = self.embed_query(text, model)?;
        let hits = match dense {
            Dense::Exact(store) => FlatIndex::new(store).search(&v, k, None),
            Dense::Graph { rows, .. } => rows.search_all(&v, k)?,
        };
        hits.into_iter()
            .map(|n| Ok((self.lexical.chunk_by_ord(n.ord)?.id, n.score)))
            .collect()
    }
}

/// The `k` nearest rows of `vectors` among `allowed` (all when `None`): scored one by one when
/// the filter leaves few (at most [`EXACT_FILTER_LIMIT`], and at most half the rows: a
/// principal who may read nearly everything walks the graph like the owner), else through the
/// graph if there is one, else by a scan.
fn nearest<V: Vectors>(
    vectors: &V,
    hnsw: Option<&HnswIndex>,
    query: &[f32],
    k: usize,
    allowed: Option<&[u32]>,
) -> Vec<Neighbor> {
    let flat = FlatIndex::new(vectors);
    match allowed {
        Some(ords)
            if ords.len() <= EXACT_FILTER_LIMIT
                && (hnsw.is_none() || ords.len() * 2 <= vectors.len()) =>
        {
            flat.search_among(query, k, ords)
        }
        _ => {
            let allow = |ord: u32| allowed.is_none_or(|ords| ords.binary_search(&ord).is_ok());
            let filter = allowed.map(|_| &allow as &dyn OrdFilter);
            match hnsw {
                Some(hnsw) => hnsw.searcher(vectors).search(query, k, filter),
                None => flat.search(query, k, filter),
            }
        }
    }
}
