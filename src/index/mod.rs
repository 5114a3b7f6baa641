//! Opening an index to read it: one generation's text index, passage links, and (loaded on
//! first use) its vectors and graph, plus the query embedder.
//!
//! The files an index holds are listed in [`crate::layout`]; [`crate::generation`] says which
//! generation is current; ranking over an open index lives in [`crate::search`], and
//! [`crate::writer`] builds and updates one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use once_cell::sync::OnceCell;
use serde::{Deserialize, Serialize};

use crate::access::{AccessControl, Principal};
use crate::embed::{resolve_model_dir, Embedder, OnnxEmbedder, QueryPrecision, TokenCounter};
use crate::error::{Error, Result};
use crate::generation;
use crate::layout::{
    Manifest, ModelInfo, ACCESS, GRAPH, LEDGER, LEXICAL_DIR, NEIGHBOURS, PEOPLE, SKIPPED, SOURCES,
    VECTORS,
};
use crate::lexical::LexicalReader;
use crate::memory::{Ledger, People};
use crate::model::{Chunk, Skipped};
use crate::neighbours::Neighbours;
use crate::stale::{SourceChecker, SourceChecking, SourceRecord, SourceRecords};
use crate::vector::{ExactRows, HnswIndex, QuantizedStore, VectorStore};

mod scope;

pub(crate) use scope::Scope;
use scope::Scopes;
pub use scope::{AccessSummary, Readable};

/// A chunk with the chunks around it in its meeting, thread or page: see
/// [`Index::neighbours`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbourhood {
    /// The chunks before it, in reading order (the nearest last).
    pub before: Vec<Chunk>,
    /// The chunk asked for.
    pub chunk: Chunk,
    /// The chunks after it, in reading order (the nearest first).
    pub after: Vec<Chunk>,
}

/// The files of the dense half, open.
#[derive(Debug)]
struct DenseFiles {
    vectors: std::fs::File,
    /// `None` when the index was opened for exact dense search.
    graph: Option<std::fs::File>,
}

/// The dense half of an open index.
pub(crate) enum Dense {
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

/// Options for [`Index::open_with`].
#[derive(Clone, Default)]
pub struct OpenOptions {
    model_dir: Option<PathBuf>,
    embedder: Option<Arc<dyn Embedder>>,
    exact_dense: bool,
    query_precision: QueryPrecision,
    source_checking: SourceChecking,
}

impl OpenOptions {
    /// Load the query embedder from this model directory.
    pub fn model_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.model_dir = Some(dir.into());
        self
    }

    /// Embed queries at this precision (default [`QueryPrecision::Int8`]); no effect when an
    /// embedder is given.
    pub fn query_precision(mut self, precision: QueryPrecision) -> Self {
        self.query_precision = precision;
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

    /// How answers check the source files they cite (default [`SourceChecking::Metadata`]:
    /// one metadata call per cited file per answer, a read and hash only when it differs from
    /// what was recorded; see [`crate::Stale`]).
    pub fn source_checking(mut self, how: SourceChecking) -> Self {
        self.source_checking = how;
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
    /// The index directory, as opened.
    pub(crate) root: PathBuf,
    /// The directory of the generation it was opened on.
    pub(crate) dir: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) lexical: LexicalReader,
    pub(crate) neighbours: Neighbours,
    /// Vectors and graph, loaded on first use so lexical searches never pay for them.
    pub(crate) dense: OnceCell<Dense>,
    /// The vector and graph files, opened with the index: a commit that removes this
    /// generation later does not take them away from a search that loads them then.
    dense_files: Option<DenseFiles>,
    /// `skipped.json`, opened with the index for the same reason.
    skipped_file: std::fs::File,
    /// `ledger.json`, opened with the index and read on first use.
    ledger_file: std::fs::File,
    ledger: OnceCell<Ledger>,
    /// `people.json`, likewise.
    people_file: std::fs::File,
    people: OnceCell<People>,
    /// `access.json`, likewise.
    pub(crate) access_file: std::fs::File,
    /// `sources.json`, likewise (`None` in a generation written before it was).
    sources_file: Option<std::fs::File>,
    sources: OnceCell<SourceRecords>,
    pub(crate) access: OnceCell<AccessControl>,
    /// The principals' scopes, made on first use.
    pub(crate) scopes: Scopes,
    options: OpenOptions,
    /// The query embedder, loaded on first use.
    pub(crate) embedder: OnceCell<Arc<dyn Embedder>>,
    /// The model's tokenizer, loaded on first use (to count a context pack's tokens).
    tokens: OnceCell<TokenCounter>,
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
            match Index::open_generation(root, generation.clone(), options.clone()) {
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

    /// Open the generation in `dir` of the index at `root` and check it as opening does (its
    /// manifest, text index, chunk count, neighbours and vector files), then let it go:
    /// whether `lore rollback` may make it current. Returns its manifest.
    pub(crate) fn check_generation(root: &Path, dir: &Path) -> Result<Manifest> {
        let index = Index::open_generation(root, dir.to_path_buf(), OpenOptions::default())?;
        Ok(index.manifest().clone())
    }

    /// Open the generation in `dir` of the index at `root`.
    fn open_generation(root: &Path, dir: PathBuf, options: OpenOptions) -> Result<Self> {
        let manifest = Manifest::read(&dir)?;
        let lexical = LexicalReader::open(&dir.join(LEXICAL_DIR))?;
        let n = manifest.counts.chunks;
        if lexical.num_chunks() != n as u64 {
            return Err(Error::corrupt(
                dir,
                format!(
                    "manifest promises {n} chunks, full-text index holds {}",
                    lexical.num_chunks()
                ),
            ));
        }
        let neighbours = Neighbours::load(&dir.join(NEIGHBOURS), n)?;
        // Loaded on the first dense search, but opened now: a missing file is reported now,
        // and the files stay readable whatever later commits remove.
        let open = |name: &str| {
            let path = dir.join(name);
            std::fs::File::open(&path)
                .map_err(|e| Error::corrupt(&path, format!("cannot open it: {e}")))
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
        let ledger_file = open(LEDGER)?;
        let people_file = open(PEOPLE)?;
        let access_file = open(ACCESS)?;
        let sources_file = std::fs::File::open(dir.join(SOURCES)).ok();
        if let (Some(model), Some(embedder)) = (&manifest.model, &options.embedder) {
            check_model(root, model, embedder.as_ref())?;
        }
        Ok(Index {
            root: root.to_path_buf(),
            dir,
            manifest,
            lexical,
            neighbours,
            dense: OnceCell::new(),
            dense_files,
            skipped_file,
            ledger_file,
            ledger: OnceCell::new(),
            people_file,
            people: OnceCell::new(),
            access_file,
            access: OnceCell::new(),
            sources_file,
            sources: OnceCell::new(),
            scopes: Scopes::default(),
            options,
            embedder: OnceCell::new(),
            tokens: OnceCell::new(),
        })
    }

    /// The decision ledger: every decision and action item the index's documents record,
    /// links resolved (read on first use).
    pub fn ledger(&self) -> Result<&Ledger> {
        self.ledger.get_or_try_init(|| {
            let mut ledger: Ledger = self.read_json(&self.ledger_file, LEDGER)?;
            ledger.index();
            Ok(ledger)
        })
    }

    /// The people of the index: the people file it was built with (name variants merged only
    /// as that file says) and every person name its documents use (read on first use).
    pub fn people(&self) -> Result<&People> {
        self.people.get_or_try_init(|| {
            let mut people: People = self.read_json(&self.people_file, PEOPLE)?;
            people
                .index()
                .map_err(|reason| Error::corrupt(self.dir.join(PEOPLE), reason))?;
            Ok(people)
        })
    }

    /// A checker of the source files one answer cites: is each still what was indexed (see
    /// [`SourceChecker`]; every search, context, decisions and `who` answer makes one and
    /// sets `stale` with it). Reads `sources.json` on first use.
    ///
    /// ```no_run
    /// # let index = lore::Index::open("/tmp/lore-index")?;
    /// let checker = index.source_checker_with(lore::SourceChecking::Content)?;
    /// let chunk = index.chunk(0)?;
    /// if let Some(stale) = checker.passage(&chunk.provenance, &chunk.text) {
    ///     println!("{} {}", chunk.provenance.path, stale.describe());
    /// }
    /// # Ok::<(), lore::Error>(())
    /// ```
    pub fn source_checker_with(&self, how: SourceChecking) -> Result<SourceChecker<'_>> {
        if how == SourceChecking::Off {
            return Ok(SourceChecker::off());
        }
        let records = self.sources.get_or_try_init(|| -> Result<SourceRecords> {
            match &self.sources_file {
                Some(file) => Ok(SourceRecords::new(
                    self.read_json::<Vec<SourceRecord>>(file, SOURCES)?,
                )),
                None => Ok(SourceRecords::default()),
            }
        })?;
        Ok(SourceChecker::new(Some(records), how))
    }

    /// [`Index::source_checker_with`] as the index was opened to check (see
    /// [`OpenOptions::source_checking`]).
    pub fn source_checker(&self) -> Result<SourceChecker<'_>> {
        self.source_checker_with(self.options.source_checking)
    }

    /// Read the JSON file `name` of this generation, opened with the index as `file`.
    pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        file: &std::fs::File,
        name: &str,
    ) -> Result<T> {
        use std::io::Seek;
        let path = self.dir.join(name);
        let mut file = file;
        file.rewind().map_err(|e| Error::io(&path, e))?;
        serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| Error::corrupt(&path, format!("cannot read it: {e}")))
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The directory of the generation this index was opened on (`<dir>/gen-NNNNNN`, see
    /// the crate documentation).
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

    /// The dense half, loaded on first use; `Ok(None)` for a lexical-only index. A failed load
    /// is not kept: the next search tries again.
    pub(crate) fn dense(&self) -> Result<Option<&Dense>> {
        let Some(model) = &self.manifest.model else {
            return Ok(None);
        };
        self.dense
            .get_or_try_init(|| self.load_dense(model.dim))
            .map(Some)
    }

    /// Load the dense half from the files opened with the index.
    fn load_dense(&self, dim: usize) -> Result<Dense> {
        let count = self.manifest.counts.chunks;
        let path = self.dir.join(VECTORS);
        let files = self
            .dense_files
            .as_ref()
            .ok_or_else(|| Error::bug("the vector files of an index with a model are not open"))?;
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

    /// The query embedder, loaded on first use. A failed load is not kept: an index opened
    /// before the model was fetched uses it once it is there.
    fn embedder(&self) -> Result<Arc<dyn Embedder>> {
        self.embedder
            .get_or_try_init(|| {
                if let Some(e) = &self.options.embedder {
                    return Ok(e.clone());
                }
                let dir = resolve_model_dir(self.options.model_dir.as_deref());
                OnnxEmbedder::load_for_queries(&dir, self.options.query_precision, 1, None)
                    .map(|e| Arc::new(e) as Arc<dyn Embedder>)
            })
            .cloned()
    }

    /// The model's tokenizer (from the model directory the index was opened with, see
    /// [`OpenOptions::model_dir`]), loaded on first use. A failed load is not kept.
    pub(crate) fn token_counter(&self) -> Result<&TokenCounter> {
        self.tokens.get_or_try_init(|| {
            TokenCounter::load(&resolve_model_dir(self.options.model_dir.as_deref()))
        })
    }

    /// Embed the query, checking the model matches the index's.
    pub(crate) fn embed_query(&self, text: &str, model: &ModelInfo) -> Result<Vec<f32>> {
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
        }?;
        check_model(&self.root, model, embedder.as_ref())?;
        embedder
            .embed(&[text])?
            .pop()
            .ok_or_else(|| Error::embedding("the model returned no vector"))
    }

    /// The chunk whose id is `chunk_id` (as [`SearchHit::chunk_id`](crate::SearchHit::chunk_id)
    /// gives it: `{doc_id}#{n}`, stable for as long as its document is unchanged), or `None`
    /// when this generation holds no such chunk.
    ///
    /// ```no_run
    /// # let index = lore::Index::open("/tmp/lore-index")?;
    /// let hit = &index.search(&lore::SearchRequest::new("outside counsel threshold"))?.hits[0];
    /// let again = index.chunk_by_id(&hit.chunk_id)?.expect("same generation");
    /// assert_eq!(again.text, hit.text);
    /// # Ok::<(), lore::Error>(())
    /// ```
    pub fn chunk_by_id(&self, chunk_id: &str) -> Result<Option<Chunk>> {
        match self.lexical.ord_of(chunk_id)? {
            Some(ord) => self.lexical.chunk_by_ord(ord).map(Some),
            None => Ok(None),
        }
    }

    /// The chunk whose id is `chunk_id` with up to `num_before` chunks before it and
    /// `num_after` after it in its meeting, thread or page (the passages it continues and that
    /// continue it, see [`SearchHit`](crate::SearchHit)); `None` when this generation holds no
    /// such chunk. What a caller quoting a hit reads around it.
    pub fn neighbours(
        &self,
        chunk_id: &str,
        num_before: usize,
        num_after: usize,
    ) -> Result<Option<Neighbourhood>> {
        self.neighbours_for(chunk_id, num_before, num_after, None)
    }

    /// [`Index::neighbours`] on behalf of `principal`: `None` when the chunk is not there or
    /// the principal may not read it (the two look the same), and only neighbours it may read:
    /// the nearest readable ones, those it may not read passed over.
    pub fn neighbours_for(
        &self,
        chunk_id: &str,
        num_before: usize,
        num_after: usize,
        principal: Option<&Principal>,
    ) -> Result<Option<Neighbourhood>> {
        let scope = self.scope(principal)?;
        let readable = |ord: u32| scope.as_ref().is_none_or(|s| s.visible.contains(ord));
        let Some(ord) = self.lexical.ord_of(chunk_id)?.filter(|&o| readable(o)) else {
            return Ok(None);
        };
        // Neighbours among what the principal may read: a message it may not read is passed
        // over, as if the thread held only the others.
        let mut before = self.walk(ord, num_before, |at| {
            self.neighbours.prev_where(at, readable)
        })?;
        before.reverse();
        let after = self.walk(ord, num_after, |at| {
            self.neighbours.next_where(at, readable)
        })?;
        Ok(Some(Neighbourhood {
            before,
            chunk: self.lexical.chunk_by_ord(ord)?,
            after,
        }))
    }

    /// Up to `num` chunks from `ord` on, one `step` at a time (nearest first).
    fn walk(&self, ord: u32, num: usize, step: impl Fn(u32) -> Option<u32>) -> Result<Vec<Chunk>> {
        let mut out = Vec::new();
        let mut at = ord;
        while out.len() < num {
            let Some(next) = step(at) else {
                break;
            };
            out.push(self.lexical.chunk_by_ord(next)?);
            at = next;
        }
        Ok(out)
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
}

pub(crate) fn check_model(dir: &Path, model: &ModelInfo, embedder: &dyn Embedder) -> Result<()> {
    if model.id != embedder.model_id() || model.dim != embedder.dim() {
        return Err(Error::incompatible(dir.to_path_buf(), format!(
                "it was built with model {} ({} dimensions) and the query model is {} ({} dimensions) (search it with the model it was built with)",
                model.id,
                model.dim,
                embedder.model_id(),
                embedder.dim()
            )));
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
