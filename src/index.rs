//! The on-disk index: building it from exports, opening it, searching it.
//!
//! An index directory holds:
//!
//! | file | what |
//! |---|---|
//! | `manifest.json` | format version, model id and dimension, chunking settings, counts |
//! | `skipped.json` | every input that was not indexed, with the reason |
//! | `files.json` | every input file: path, SHA-256, its documents (see [`crate::writer`]) |
//! | `documents.tsv` | every document's id and signature, to tell what the next update changed |
//! | `lexical/` | the tantivy index (one document per chunk, chunk records stored) |
//! | `neighbours.u32` | which chunk each chunk continues (see [`crate::context`]) |
//! | `vectors.f32` | chunk vectors, little-endian `f32`, row = chunk ordinal |
//! | `hnsw.links` | the links of the HNSW graph over the vectors |
//!
//! These live in a generation directory, `<dir>/gen-NNNNNN/`, named by `<dir>/CURRENT`
//! ([`crate::generation`]): a build writes a whole new generation under the writer lock and
//! switches `CURRENT` to it by an atomic rename, so a failed or killed build never leaves a
//! half-written index where a good one was, and readers see one generation or the next.
//!
//! This module reads an index; [`crate::writer`] builds and updates one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::context::{rescore, Neighbours};
use crate::embed::{resolve_model_dir, Embedder, OnnxEmbedder};
use crate::error::{Error, Result};
use crate::fuse::fuse;
use crate::generation;
use crate::lexical::{analyze_for, FieldWeights, LexicalReader};
use crate::model::{Chunk, Skipped};
use crate::query::{
    LexicalScoring, Mode, RetrieverScore, SearchHit, SearchRequest, SearchResponse,
};
use crate::snippet::{best_window, query_terms};
use crate::vector::{
    ExactRows, FlatIndex, HnswIndex, Neighbor, OrdFilter, QuantizedStore, VectorIndex, VectorStore,
    Vectors,
};

/// Version of the on-disk layout; an index of another version is refused.
pub const FORMAT_VERSION: u32 = 3;

pub(crate) const MANIFEST: &str = "manifest.json";
pub(crate) const SKIPPED: &str = "skipped.json";
pub(crate) const LEXICAL_DIR: &str = "lexical";
pub(crate) const VECTORS: &str = "vectors.f32";
pub(crate) const DOCUMENTS: &str = "documents.tsv";
pub(crate) const FILES: &str = "files.json";
pub(crate) const GRAPH: &str = "hnsw.links";
/// Which chunk each chunk continues ([`Neighbours`]).
pub(crate) const NEIGHBOURS: &str = "neighbours.u32";

/// Below this many allowed chunks, a filtered dense search scans them exactly instead of
/// walking the graph.
const EXACT_FILTER_LIMIT: usize = 20_000;
/// Least depth of each retriever's list when lists are fused or passage context re-ranks them.
const CANDIDATE_DEPTH: usize = 50;

/// The model an index's vectors were made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model identifier (see [`Embedder::model_id`]).
    pub id: String,
    /// Vector dimension.
    pub dim: usize,
}

/// Counts recorded at build time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Files seen.
    pub files: usize,
    /// Documents indexed.
    pub documents: usize,
    /// Chunks indexed.
    pub chunks: usize,
    /// Inputs skipped (see `skipped.json`).
    pub skipped: usize,
    /// Documents per kind (the values `--filter kind=…` accepts).
    #[serde(default)]
    pub documents_by_kind: BTreeMap<String, usize>,
    /// Documents per source format.
    #[serde(default)]
    pub documents_by_format: BTreeMap<String, usize>,
}

/// Chunking settings recorded at build time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkingInfo {
    /// Chunk size limit in estimated tokens.
    pub max_tokens: usize,
}

/// `manifest.json`: what an index is and how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// On-disk format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// lore version that wrote it.
    pub lore_version: String,
    /// The embedding model, or `None` for a lexical-only index.
    pub model: Option<ModelInfo>,
    /// Chunking settings.
    pub chunking: ChunkingInfo,
    /// Counts.
    pub counts: Counts,
    /// The paths that were indexed, as given.
    pub sources: Vec<String>,
    /// SHA-256 over everything that decides the index's content: lore and format version,
    /// model id, chunking settings and every chunk record (text and provenance). Two builds
    /// with the same digest hold the same index; see [`IndexBuilder::is_current`].
    #[serde(default)]
    pub digest: Option<String>,
}

impl Manifest {
    /// Read and check the manifest of the index in `dir`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        if !path.is_file() {
            return Err(Error::NoIndex {
                dir: dir.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Corrupt {
            dir: dir.to_path_buf(),
            reason: format!("{MANIFEST} is not JSON: {e}"),
        })?;
        let version = value.get("format_version").and_then(|v| v.as_u64());
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(Error::Incompatible {
                dir: dir.to_path_buf(),
                reason: format!(
                    "index format version {} but this lore reads version {FORMAT_VERSION}; rebuild it with `lore index`",
                    version.map_or("unknown".to_string(), |v| v.to_string())
                ),
            });
        }
        serde_json::from_value(value).map_err(|e| Error::Corrupt {
            dir: dir.to_path_buf(),
            reason: format!("{MANIFEST}: {e}"),
        })
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(MANIFEST), self)
    }
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

/// One ranked chunk, before it is read: see [`Index::rank`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankedChunk {
    /// Chunk ordinal (row in the index).
    pub ord: u32,
    /// Final score (fused in hybrid mode, else the retriever's own).
    pub score: f32,
    /// Rank and score in the lexical list, if there.
    pub lexical: Option<RetrieverScore>,
    /// Rank and score in the dense list, if there.
    pub dense: Option<RetrieverScore>,
}

/// The outcome of [`Index::rank`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// The mode actually used (hybrid falls back to lexical when the query cannot be embedded).
    pub mode_used: Mode,
    /// Best first, at most `k`.
    pub hits: Vec<RankedChunk>,
    /// Anything the caller should know.
    pub notes: Vec<String>,
}

/// The files of the dense half, open.
#[derive(Debug)]
struct DenseFiles {
    vectors: std::fs::File,
    /// `None` when the index was opened for exact dense search.
    graph: Option<std::fs::File>,
}

/// The dense half of an open index.
enum Dense {
    /// Opened for exact dense search (one query per process): `f32` rows, scanned.
    Exact(VectorStore),
    /// Opened for many queries: the graph searched over int8 codes, the best candidates
    /// rescored from the exact rows on disk (see [`QuantizedStore`]).
    Graph {
        codes: QuantizedStore,
        rows: ExactRows,
        hnsw: HnswIndex,
    },
}

/// Candidates a quantised search hands to exact rescoring: twice the depth asked for, and at
/// least this many more.
const RESCORE_EXTRA: usize = 32;

/// Options for [`Index::open_with`].
#[derive(Clone, Default)]
pub struct OpenOptions {
    model_dir: Option<PathBuf>,
    embedder: Option<Arc<dyn Embedder>>,
    exact_dense: bool,
}

impl OpenOptions {
    /// Load the query embedder from this model directory.
    pub fn model_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.model_dir = Some(dir.into());
        self
    }

    /// Use this embedder for queries.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// Answer dense searches by scoring every `f32` vector instead of loading the HNSW graph.
    /// Exact, and faster for a process that answers a single query (`lore search`): loading
    /// the graph and quantising the vectors take longer than one scan (see
    /// `benches/RESULTS.md`). A process that answers many queries should keep the default: the
    /// graph over int8 codes, its best candidates rescored exactly from disk, in a quarter of
    /// the memory.
    pub fn exact_dense(mut self, exact: bool) -> Self {
        self.exact_dense = exact;
        self
    }
}

/// An open index.
///
/// ```no_run
/// use lore::{Index, SearchRequest};
/// let index = Index::open("/tmp/lore-index")?;
/// let response = index.search(&SearchRequest::new("who approves contracts over $50K?"))?;
/// for hit in &response.hits {
///     println!("{} {}:{}", hit.score, hit.provenance.path, hit.provenance.line_range[0]);
/// }
/// # Ok::<(), lore::Error>(())
/// ```
pub struct Index {
    dir: PathBuf,
    manifest: Manifest,
    lexical: LexicalReader,
    neighbours: Neighbours,
    /// Vectors and graph, loaded on first use so lexical searches never pay for them.
    dense: OnceLock<std::result::Result<Dense, String>>,
    /// The vector and graph files, opened with the index: a commit that removes this
    /// generation later does not take them away from a search that loads them then.
    dense_files: Option<DenseFiles>,
    /// `skipped.json`, opened with the index for the same reason.
    skipped_file: std::fs::File,
    options: OpenOptions,
    embedder: OnceLock<std::result::Result<Arc<dyn Embedder>, String>>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("dir", &self.dir)
            .field("manifest", &self.manifest)
            .finish()
    }
}

impl Index {
    /// Open the index in `dir`; the query embedder is loaded from the default model directory
    /// on the first dense or hybrid search.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Index::open_with(dir, OpenOptions::default())
    }

    /// Open with options.
    pub fn open_with(dir: impl AsRef<Path>, options: OpenOptions) -> Result<Self> {
        let root = dir.as_ref();
        // A commit may switch generations between reading the pointer and opening the files:
        // then the pointer has moved on, and the new generation is opened instead.
        let mut attempts = 0;
        loop {
            let generation = generation::resolve(root)?;
            match Index::open_generation(generation.clone(), options.clone()) {
                Ok(index) => return Ok(index),
                Err(e) => {
                    attempts += 1;
                    let moved = generation::resolve(root).is_ok_and(|now| now != generation);
                    if !moved || attempts >= 5 {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Open one generation's directory.
    fn open_generation(dir: PathBuf, options: OpenOptions) -> Result<Self> {
        let manifest = Manifest::read(&dir)?;
        let lexical = LexicalReader::open(&dir.join(LEXICAL_DIR))?;
        let n = manifest.counts.chunks;
        if lexical.num_chunks() != n as u64 {
            return Err(Error::Corrupt {
                dir,
                reason: format!(
                    "manifest promises {n} chunks, full-text index holds {}",
                    lexical.num_chunks()
                ),
            });
        }
        let neighbours = Neighbours::load(&dir.join(NEIGHBOURS), n)?;
        // Loaded on the first dense search, but opened now: a missing file is reported now,
        // and the files stay readable whatever later commits remove.
        let open = |name: &str| {
            let path = dir.join(name);
            std::fs::File::open(&path).map_err(|e| Error::Corrupt {
                dir: dir.clone(),
                reason: format!("cannot open {}: {e}", path.display()),
            })
        };
        let dense_files = match &manifest.model {
            Some(_) => Some(DenseFiles {
                vectors: open(VECTORS)?,
                graph: match options.exact_dense {
                    true => None,
                    false if n == 0 => None,
                    false => Some(open(GRAPH)?),
                },
            }),
            None => None,
        };
        let skipped_file = open(SKIPPED)?;
        if let (Some(model), Some(embedder)) = (&manifest.model, &options.embedder) {
            check_model(&dir, model, embedder.as_ref())?;
        }
        Ok(Index {
            dir,
            manifest,
            lexical,
            neighbours,
            dense: OnceLock::new(),
            dense_files,
            skipped_file,
            options,
            embedder: OnceLock::new(),
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The directory of the generation this index was opened on (`<dir>/gen-NNNNNN`, see
    /// [`crate::generation`]).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything that was skipped when the index was built.
    pub fn skipped(&self) -> Result<Vec<Skipped>> {
        let path = self.dir.join(SKIPPED);
        let io = |e| Error::io(&path, e);
        let len = self.skipped_file.metadata().map_err(io)?.len();
        let mut bytes = vec![0u8; len as usize];
        // A positioned read: the file is shared by every thread using this index.
        crate::vector::read_exact_at(&self.skipped_file, &mut bytes, 0).map_err(io)?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// The dense half, loaded once; `Ok(None)` for a lexical-only index.
    fn dense(&self) -> Result<Option<&Dense>> {
        let Some(model) = &self.manifest.model else {
            return Ok(None);
        };
        let loaded = self
            .dense
            .get_or_init(|| self.load_dense(model.dim).map_err(|e| e.to_string()));
        match loaded {
            Ok(dense) => Ok(Some(dense)),
            Err(reason) => Err(Error::Corrupt {
                dir: self.dir.clone(),
                reason: reason.clone(),
            }),
        }
    }

    /// Load the dense half from the files opened with the index.
    fn load_dense(&self, dim: usize) -> Result<Dense> {
        let count = self.manifest.counts.chunks;
        let path = self.dir.join(VECTORS);
        let files = self.dense_files.as_ref().ok_or_else(|| Error::Corrupt {
            dir: self.dir.clone(),
            reason: "the vector files are not open".into(),
        })?;
        let vectors = || files.vectors.try_clone().map_err(|e| Error::io(&path, e));
        if self.options.exact_dense {
            return Ok(Dense::Exact(VectorStore::load_from(
                vectors()?,
                &path,
                dim,
                count,
            )?));
        }
        let hnsw = match &files.graph {
            Some(graph) => {
                let graph = graph
                    .try_clone()
                    .map_err(|e| Error::io(self.dir.join(GRAPH), e))?;
                HnswIndex::load_from(graph, &self.dir, count)?
            }
            // An empty index has no graph file.
            None => HnswIndex::load(&self.dir, count)?,
        };
        Ok(Dense::Graph {
            codes: QuantizedStore::load_from(vectors()?, &path, dim, count)?,
            rows: ExactRows::from_file(vectors()?, &path, dim, count)?,
            hnsw,
        })
    }

    /// The query embedder, loaded once.
    fn embedder(&self) -> std::result::Result<Arc<dyn Embedder>, String> {
        self.embedder
            .get_or_init(|| {
                if let Some(e) = &self.options.embedder {
                    return Ok(e.clone());
                }
                let dir = resolve_model_dir(self.options.model_dir.as_deref());
                OnnxEmbedder::load(&dir)
                    .map(|e| Arc::new(e) as Arc<dyn Embedder>)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }

    /// Embed the query, checking the model matches the index's.
    fn embed_query(&self, text: &str, model: &ModelInfo) -> Result<Vec<f32>> {
        let one_shot = self.options.exact_dense;
        let embedder = if one_shot && self.embedder.get().is_none() && self.dense.get().is_none() {
            // The one dense search of a process opened for a single query: read the vectors
            // on another core while the model loads on this one (an error there is reported by
            // the search's own call). A process that answers many queries loads them one after
            // the other instead, so that the model's start-up peak and the vectors do not add
            // up in memory.
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    let _ = self.dense();
                });
                self.embedder()
            })
        } else {
            self.embedder()
        }
        .map_err(Error::Model)?;
        check_model(&self.dir, model, embedder.as_ref())?;
        embedder
            .embed(&[text])?
            .pop()
            .ok_or_else(|| Error::Model("the model returned no vector".into()))
    }

    /// Answer a search request: rank, then read, cite and highlight the top `k` chunks.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        let ranking = self.rank(request)?;
        let query_terms = query_terms(request.text.trim());
        let mut hits = Vec::with_capacity(ranking.hits.len());
        for (i, ranked) in ranking.hits.into_iter().enumerate() {
            let chunk = self.lexical.chunk_by_ord(ranked.ord)?;
            let tokens = analyze_for(&chunk.text, &query_terms);
            let snippet = best_window(&chunk.text, &tokens, &query_terms);
            hits.push(SearchHit {
                rank: i + 1,
                chunk_id: chunk.id,
                score: ranked.score,
                lexical: ranked.lexical,
                dense: ranked.dense,
                snippet,
                text: chunk.text,
                provenance: chunk.provenance,
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
        let text = request.text.trim();
        if text.is_empty() {
            return Err(Error::InvalidRequest("the query is empty".into()));
        }
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

        let query_vector = match (request.mode, &self.manifest.model) {
            (Mode::Lexical, _) => None,
            (Mode::Dense, None) => {
                return Err(Error::InvalidRequest(
                    "this index was built without embeddings; use --mode lexical or rebuild it with the model".into(),
                ))
            }
            (Mode::Hybrid, None) => {
                notes.push("index has no embeddings: lexical results only".to_string());
                mode_used = Mode::Lexical;
                None
            }
            (Mode::Dense, Some(model)) => Some(self.embed_query(text, model)?),
            (Mode::Hybrid, Some(model)) => match self.embed_query(text, model) {
                Ok(v) => Some(v),
                Err(e @ Error::Incompatible { .. }) => return Err(e),
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
        let lexical: Vec<(u32, f32)> = if mode_used != Mode::Dense {
            self.lexical
                .search(text, depth, &request.filters, &weights)?
                .into_iter()
                .map(|h| (h.ord, h.score))
                .collect()
        } else {
            Vec::new()
        };
        // Only a search that embedded its query touches the vectors and the graph.
        let dense: Vec<(u32, f32)> = match &query_vector {
            Some(v) => match self.dense()? {
                Some(d) => {
                    let allowed = self.lexical.filter_ords(&request.filters)?;
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
            if let Some(scores) = rescore(&scored, &self.neighbours, ranking.context_weight) {
                for (hit, score) in hits.iter_mut().zip(scores) {
                    hit.score = score;
                }
                hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ord.cmp(&b.ord)));
            }
        }
        hits.truncate(request.k);
        Ok(Ranking {
            mode_used,
            hits,
            notes,
        })
    }

    /// The chunk of ordinal `ord` (as [`Index::rank`] returns them), text and provenance.
    pub fn chunk(&self, ord: u32) -> Result<Chunk> {
        self.lexical.chunk_by_ord(ord)
    }

    /// The document id of every chunk, indexed by chunk ordinal (reads every stored chunk once;
    /// meant for evaluation, which ranks documents by their best chunk).
    pub fn doc_ids_by_ord(&self) -> Result<Vec<String>> {
        self.lexical.doc_ids_by_ord()
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
            return Err(Error::InvalidRequest("index has no embeddings".into()));
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
/// the filter leaves few, else through the graph if there is one, else by a scan.
fn nearest<V: Vectors>(
    vectors: &V,
    hnsw: Option<&HnswIndex>,
    query: &[f32],
    k: usize,
    allowed: Option<&[u32]>,
) -> Vec<Neighbor> {
    let flat = FlatIndex::new(vectors);
    match allowed {
        Some(ords) if ords.len() <= EXACT_FILTER_LIMIT => flat.search_among(query, k, ords),
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

fn check_model(dir: &Path, model: &ModelInfo, embedder: &dyn Embedder) -> Result<()> {
    if model.id != embedder.model_id() || model.dim != embedder.dim() {
        return Err(Error::Incompatible {
            dir: dir.to_path_buf(),
            reason: format!(
                "built with model {} ({} dimensions) but the query model is {} ({} dimensions); rebuild the index or use the same model",
                model.id,
                model.dim,
                embedder.model_id(),
                embedder.dim()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_index_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Index>();
    }
}
