//! The on-disk index: building it from exports, opening it, searching it.
//!
//! An index directory holds:
//!
//! | file | what |
//! |---|---|
//! | `manifest.json` | format version, model id and dimension, chunking settings, counts |
//! | `skipped.json` | every input that was not indexed, with the reason |
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
//! A build runs in phases that hold as little at once as they can: load and chunk the inputs;
//! embed the chunks, each vector going straight to `vectors.f32`; index the text, dropping each
//! chunk once the writer has it; then build the graph over the vectors alone. Freed memory is
//! handed back to the system between phases. At 100,000 chunks the peak is under 300 MB
//! (`benches/RESULTS.md`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chunk::{chunk_document, ChunkOptions};
use crate::context::{predecessors, rescore, Neighbours};
use crate::embed::{
    check_count, model_id_in, resolve_model_dir, CachedEmbedder, Embedder, EmbeddingCache,
    LazyOnnxEmbedder, OnnxEmbedder,
};
use crate::error::{Error, Result};
use crate::fuse::fuse;
use crate::generation::{self, WriterLock};
use crate::lexical::{analyze_for, FieldWeights, LexicalReader, LexicalWriter};
use crate::load::{load_paths, LoadOptions};
use crate::model::{to_hex, Chunk, LineIndex, Skipped};
use crate::query::{
    LexicalScoring, Mode, RetrieverScore, SearchHit, SearchRequest, SearchResponse,
};
use crate::snippet::{best_window, query_terms};
use crate::vector::{
    ExactRows, FlatIndex, HnswIndex, HnswParams, Neighbor, OrdFilter, QuantizedStore,
    VectorFileWriter, VectorIndex, VectorStore, Vectors,
};

/// Version of the on-disk layout; an index of another version is refused.
pub const FORMAT_VERSION: u32 = 3;

const MANIFEST: &str = "manifest.json";
const SKIPPED: &str = "skipped.json";
const LEXICAL_DIR: &str = "lexical";
const VECTORS: &str = "vectors.f32";
const DOCUMENTS: &str = "documents.tsv";
const GRAPH: &str = "hnsw.links";
/// Which chunk each chunk continues ([`Neighbours`]).
const NEIGHBOURS: &str = "neighbours.u32";

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

    fn write(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(MANIFEST), self)
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

/// Reports build progress (the CLI draws bars; the default does nothing).
pub trait Progress: Sync {
    /// A stage begins; `total` is its number of steps, 0 when unknown.
    fn start(&self, _stage: &str, _total: u64) {}
    /// `n` more steps of the current stage are done.
    fn advance(&self, _n: u64) {}
    /// The current stage is done.
    fn finish(&self) {}
}

/// A [`Progress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// What a build did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuildReport {
    /// Files seen.
    pub num_files: usize,
    /// Documents indexed.
    pub num_documents: usize,
    /// Chunks indexed.
    pub num_chunks: usize,
    /// Everything not indexed, with reasons.
    pub skipped: Vec<Skipped>,
    /// Files skipped for an unknown extension (also in `skipped`).
    pub num_unsupported: usize,
    /// Total seconds.
    pub seconds: f64,
    /// Seconds spent embedding.
    pub embed_seconds: f64,
    /// Chunks the model embedded.
    pub num_embedded: usize,
    /// Chunks whose vectors came from the embedding cache.
    pub num_cached: usize,
    /// Documents added, updated, removed and unchanged since the index this build replaced
    /// (`None` for a first build).
    pub changes: Option<Changes>,
    /// Anything worth knowing that did not stop the build (e.g. the cache could not be written).
    pub notes: Vec<String>,
}

/// How a build's documents compare with those of the index it replaced, by document id and
/// signature (see `documents.tsv`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// Documents that were not in the index.
    pub added: usize,
    /// Documents whose text or provenance changed.
    pub updated: usize,
    /// Documents no longer in the inputs.
    pub removed: usize,
    /// Documents exactly as they were.
    pub unchanged: usize,
}

impl Changes {
    fn between(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Self {
        let mut changes = Changes::default();
        for (id, signature) in new {
            match old.get(id) {
                None => changes.added += 1,
                Some(before) if before == signature => changes.unchanged += 1,
                Some(_) => changes.updated += 1,
            }
        }
        changes.removed = old.keys().filter(|id| !new.contains_key(*id)).count();
        changes
    }
}

/// Document signatures as written by [`write_signatures`]; `None` when absent or unreadable.
fn read_signatures(path: &Path) -> Option<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .map(|line| {
            let (id, signature) = line.rsplit_once('\t')?;
            Some((id.to_string(), signature.to_string()))
        })
        .collect()
}

/// One line per document: its id, a tab, its signature.
fn write_signatures(path: &Path, signatures: &BTreeMap<String, String>) -> Result<()> {
    let mut text = String::with_capacity(signatures.len() * 100);
    for (id, signature) in signatures {
        text.push_str(id);
        text.push('\t');
        text.push_str(signature);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Input paths made absolute: provenance must resolve from any working directory. A path that
/// cannot be resolved is kept as given; loading reports it as skipped.
fn absolute_inputs(paths: &[PathBuf]) -> Vec<PathBuf> {
    paths
        .iter()
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .collect()
}

/// Inputs loaded and chunked, ready to be written.
struct Prepared {
    /// Documents by kind and by format (the documents themselves are dropped once chunked).
    documents_by_kind: BTreeMap<String, usize>,
    documents_by_format: BTreeMap<String, usize>,
    num_documents: usize,
    chunks: Vec<Chunk>,
    neighbours: Neighbours,
    skipped: Vec<Skipped>,
    num_files: usize,
    num_unsupported: usize,
}

/// Which embedder a build or an open index uses.
#[derive(Clone)]
enum EmbedderChoice {
    /// The shipped model, from this directory (or the default one).
    Model(Option<PathBuf>),
    /// A caller-supplied embedder.
    Given(Arc<dyn Embedder>),
    /// No embeddings (lexical only).
    Disabled,
}

/// Builds an index directory from files and folders of exports.
///
/// ```no_run
/// use lore::{IndexBuilder, NoProgress};
/// let report = IndexBuilder::new("/tmp/lore-index").build(&["corpus".into()], &NoProgress)?;
/// println!("{} chunks", report.num_chunks);
/// # Ok::<(), lore::Error>(())
/// ```
#[derive(Clone)]
pub struct IndexBuilder {
    dir: PathBuf,
    chunk: ChunkOptions,
    load: LoadOptions,
    embedder: EmbedderChoice,
    hnsw: HnswParams,
    batch_size: usize,
    cache_root: Option<PathBuf>,
}

impl IndexBuilder {
    /// A builder writing to `dir`, with the shipped model from the default model directory.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        IndexBuilder {
            dir: dir.into(),
            chunk: ChunkOptions::default(),
            load: LoadOptions::default(),
            embedder: EmbedderChoice::Model(None),
            hnsw: HnswParams::default(),
            batch_size: 64,
            cache_root: Some(EmbeddingCache::default_root()),
        }
    }

    /// Chunking settings.
    pub fn chunk_options(mut self, options: ChunkOptions) -> Self {
        self.chunk = options;
        self
    }

    /// Loading settings.
    pub fn load_options(mut self, options: LoadOptions) -> Self {
        self.load = options;
        self
    }

    /// Load the shipped model from `dir` instead of the default model directory.
    pub fn model_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.embedder = EmbedderChoice::Model(Some(dir.into()));
        self
    }

    /// Use this embedder.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = EmbedderChoice::Given(embedder);
        self
    }

    /// Keep the embedding cache under `root` instead of the default
    /// ([`EmbeddingCache::default_root`]); `None` embeds everything afresh and caches nothing.
    pub fn embedding_cache(mut self, root: Option<PathBuf>) -> Self {
        self.cache_root = root;
        self
    }

    /// Build a lexical-only index (no model needed; dense search unavailable).
    pub fn without_embeddings(mut self) -> Self {
        self.embedder = EmbedderChoice::Disabled;
        self
    }

    /// Load, de-duplicate, order and chunk the inputs (everything a build does before writing).
    fn prepare(&self, paths: &[PathBuf], progress: &dyn Progress) -> Prepared {
        progress.start("loading", 0);
        let loaded = load_paths(paths, &self.load, &|_| progress.advance(1));
        progress.finish();
        let mut skipped = loaded.skipped;
        let mut seen: HashMap<String, PathBuf> = HashMap::new();
        let mut line_indexes: HashMap<PathBuf, LineIndex> = HashMap::new();
        let mut documents = Vec::with_capacity(loaded.documents.len());
        for doc in loaded.documents {
            if let Some(first) = seen.get(&doc.id) {
                let line = doc.blocks.first().map(|b| {
                    line_indexes
                        .entry(doc.path.clone())
                        .or_insert_with(|| LineIndex::new(&doc.source))
                        .line_of(b.byte_range.start)
                });
                skipped.push(Skipped {
                    path: doc.path.clone(),
                    line,
                    reason: format!(
                        "duplicate document id `{}` (first seen in {})",
                        doc.id,
                        first.display()
                    ),
                });
                continue;
            }
            seen.insert(doc.id.clone(), doc.path.clone());
            documents.push(doc);
        }

        // Which document continues which is a matter of file order, so it is found first.
        let predecessors = predecessors(&documents);
        // Chunk ordinals follow document id, then position: the order that breaks score ties.
        documents.sort_by(|a, b| a.id.cmp(&b.id));
        let documents_by_kind = tally(documents.iter().map(|d| d.kind.to_lowercase()));
        let documents_by_format = tally(documents.iter().map(|d| d.format.as_str().to_string()));
        let num_documents = documents.len();
        // Each document (and, with its file's last document, the file's text) is dropped as
        // soon as it is chunked, so the inputs and their chunks are not all held at once.
        let chunks: Vec<Chunk> = documents
            .into_par_iter()
            .flat_map_iter(|doc| chunk_document(&doc, &self.chunk))
            .collect();
        let neighbours = Neighbours::link(&chunks, &predecessors);

        Prepared {
            documents_by_kind,
            documents_by_format,
            num_documents,
            chunks,
            neighbours,
            skipped,
            num_files: loaded.num_files,
            num_unsupported: loaded.num_unsupported,
        }
    }

    /// The [`Manifest::digest`] a build of these chunks gets.
    fn digest(&self, prepared: &Prepared, model_id: Option<&str>) -> String {
        self.digests(prepared, model_id, false).0
    }

    /// The build's digest and, with `per_document`, each document's signature: the SHA-256 of
    /// its chunks (text and provenance), which changes exactly when the document's entry in
    /// the index would.
    fn digests(
        &self,
        prepared: &Prepared,
        model_id: Option<&str>,
        per_document: bool,
    ) -> (String, BTreeMap<String, String>) {
        let mut hasher = Sha256::new();
        hasher.update(format!(
            "lore {} format {FORMAT_VERSION} model {} max_tokens {}\n",
            env!("CARGO_PKG_VERSION"),
            model_id.unwrap_or("none"),
            self.chunk.max_tokens
        ));
        let mut documents = BTreeMap::new();
        let mut document: Option<(&str, Sha256)> = None;
        for chunk in &prepared.chunks {
            // Serialising a chunk cannot fail: it holds only strings, numbers and maps.
            let bytes = serde_json::to_vec(chunk).unwrap_or_default();
            hasher.update(&bytes);
            hasher.update(b"\n");
            if per_document {
                let id = chunk.provenance.doc_id.as_str();
                if document.as_ref().is_none_or(|(current, _)| *current != id) {
                    if let Some((done, h)) = document.take() {
                        documents.insert(done.to_string(), to_hex(&h.finalize()));
                    }
                    document = Some((id, Sha256::new()));
                }
                if let Some((_, h)) = document.as_mut() {
                    h.update(&bytes);
                }
            }
        }
        if let Some((done, h)) = document {
            documents.insert(done.to_string(), to_hex(&h.finalize()));
        }
        hasher.update(prepared.neighbours.to_bytes());
        (to_hex(&hasher.finalize()), documents)
    }

    /// The model id this builder embeds with (`None` without embeddings), without loading it.
    fn model_id(&self) -> Result<Option<String>> {
        match &self.embedder {
            EmbedderChoice::Model(dir) => {
                Ok(Some(model_id_in(&resolve_model_dir(dir.as_deref()))?))
            }
            EmbedderChoice::Given(e) => Ok(Some(e.model_id().to_string())),
            EmbedderChoice::Disabled => Ok(None),
        }
    }

    /// True when the index in this builder's directory was built from exactly what `paths` now
    /// hold, with these settings and this model: building again would change nothing. Loads and
    /// chunks the inputs (no embedding) to find out.
    pub fn is_current(&self, paths: &[PathBuf]) -> Result<bool> {
        let Ok(manifest) = generation::resolve(&self.dir).and_then(|g| Manifest::read(&g)) else {
            return Ok(false);
        };
        let Some(digest) = &manifest.digest else {
            return Ok(false);
        };
        let prepared = self.prepare(&absolute_inputs(paths), &NoProgress);
        Ok(*digest == self.digest(&prepared, self.model_id()?.as_deref()))
    }

    /// Load, chunk, index and embed everything under `paths`, then replace the index directory.
    pub fn build(&self, paths: &[PathBuf], progress: &dyn Progress) -> Result<BuildReport> {
        let started = Instant::now();
        let embedder: Option<Arc<dyn Embedder>> = match &self.embedder {
            EmbedderChoice::Model(dir) => Some(Arc::new(LazyOnnxEmbedder::for_indexing(
                &resolve_model_dir(dir.as_deref()),
            )?)),
            EmbedderChoice::Given(e) => Some(e.clone()),
            EmbedderChoice::Disabled => None,
        };
        let paths = absolute_inputs(paths);
        // An absolute index path, so that its staging sibling is well defined (even for `.`).
        let dir = std::path::absolute(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        if dir.parent().is_none() {
            return Err(Error::InvalidRequest(format!(
                "{} cannot hold an index; give a directory below it",
                dir.display()
            )));
        }
        check_replaceable(&dir)?;
        // One writer at a time, refused at once (before any work) when another holds the lock.
        let lock = WriterLock::acquire(&dir)?;

        let prepared = self.prepare(&paths, progress);
        // The inputs are chunked and dropped: the chunks are what is left.
        release_freed_memory();
        let (digest, signatures) =
            self.digests(&prepared, embedder.as_ref().map(|e| e.model_id()), true);
        // What changed since the generation this build replaces (none to compare with for a
        // first build, or one written before documents were recorded).
        let changes = generation::resolve(&dir)
            .ok()
            .and_then(|previous| read_signatures(&previous.join(DOCUMENTS)))
            .map(|previous| Changes::between(&previous, &signatures));
        let Prepared {
            documents_by_kind,
            documents_by_format,
            num_documents,
            chunks,
            neighbours,
            skipped,
            num_files,
            num_unsupported,
        } = prepared;

        // Everything goes into a new generation, made current only once it is complete.
        let generation = generation::begin(&lock)?;
        let staging = generation.dir.clone();

        let mut embed_seconds = 0.0;
        let (mut num_embedded, mut num_cached) = (0, 0);
        let mut notes = Vec::new();
        let model = match &embedder {
            Some(embedder) => {
                let embed_started = Instant::now();
                progress.start("embedding", chunks.len() as u64);
                let cached = self.cache_root.as_ref().and_then(|root| {
                    CachedEmbedder::open(embedder.clone(), root)
                        .map_err(|e| notes.push(format!("the embedding cache is unusable: {e}")))
                        .ok()
                });
                let vectors = staging.join(VECTORS);
                match cached {
                    Some(cached) => {
                        embed_all(&cached, &chunks, self.batch_size, progress, &vectors)?;
                        (num_embedded, num_cached) = (cached.num_misses(), cached.num_hits());
                        if let Err(e) = cached.persist() {
                            notes.push(format!("the embedding cache was not updated: {e}"));
                        }
                    }
                    None => {
                        num_embedded = chunks.len();
                        embed_all(
                            embedder.as_ref(),
                            &chunks,
                            self.batch_size,
                            progress,
                            &vectors,
                        )?
                    }
                }
                progress.finish();
                embed_seconds = embed_started.elapsed().as_secs_f64();
                Some(ModelInfo {
                    id: embedder.model_id().to_string(),
                    dim: embedder.dim(),
                })
            }
            None => None,
        };
        // The model's sessions are not needed any more (the vectors went straight to disk).
        drop(embedder);
        release_freed_memory();

        // The text next: each chunk is dropped once the lexical writer has it, so that the
        // graph, last, is built over the vectors alone (at 100,000 chunks the chunks, the
        // vectors and the graph together came to about 400 MB).
        let num_chunks = chunks.len();
        progress.start("indexing text", num_chunks as u64);
        let mut writer = LexicalWriter::create(&staging.join(LEXICAL_DIR))?;
        for (ord, chunk) in chunks.into_iter().enumerate() {
            writer.add(ord as u32, &chunk)?;
            progress.advance(1);
            if ord % RELEASE_EVERY == RELEASE_EVERY - 1 {
                // The chunks were made on other threads, whose heaps keep their freed memory.
                release_freed_memory();
            }
        }
        writer.commit()?;
        neighbours.save(&staging.join(NEIGHBOURS))?;
        progress.finish();
        release_freed_memory();

        if let Some(model) = &model {
            progress.start("building vector graph", 0);
            let store = VectorStore::load(&staging.join(VECTORS), model.dim, num_chunks)?;
            HnswIndex::build(&store, &self.hnsw).save(&staging)?;
            progress.finish();
        }

        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            lore_version: env!("CARGO_PKG_VERSION").to_string(),
            model,
            chunking: ChunkingInfo {
                max_tokens: self.chunk.max_tokens,
            },
            counts: Counts {
                files: num_files,
                documents: num_documents,
                chunks: num_chunks,
                skipped: skipped.len(),
                documents_by_kind,
                documents_by_format,
            },
            sources: paths.iter().map(|p| p.display().to_string()).collect(),
            digest: Some(digest),
        };
        write_signatures(&staging.join(DOCUMENTS), &signatures)?;
        write_json(&staging.join(SKIPPED), &skipped)?;
        manifest.write(&staging)?;
        let previous = generation::commit(&lock, &generation)?;
        notes.extend(generation::clean(&lock, previous.as_deref())?);

        Ok(BuildReport {
            num_files,
            num_documents,
            num_chunks,
            skipped,
            num_unsupported,
            seconds: started.elapsed().as_secs_f64(),
            embed_seconds,
            num_embedded,
            num_cached,
            changes,
            notes,
        })
    }
}

/// Chunks indexed between two calls of [`release_freed_memory`] while the text is indexed.
const RELEASE_EVERY: usize = 10_000;

/// Give the pages of freed allocations back to the system between the phases of a build.
///
/// glibc's allocator keeps freed memory mapped for reuse: the texts of the inputs, freed once
/// chunked, would otherwise stay resident under the vectors and the graph that follow, which
/// are allocated afresh (at 100,000 chunks that was about 100 MB of the build's peak).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: `malloc_trim` only returns free pages of the allocator's heaps to the kernel;
        // it touches no live allocation and is safe to call from any thread at any time.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Embed every chunk into the vector file `path`, row `i` for chunk `i`. Batches are formed
/// from chunks of similar length so that little of the model's work is spent on padding; each
/// vector goes straight to its row on disk.
fn embed_all(
    embedder: &dyn Embedder,
    chunks: &[Chunk],
    batch_size: usize,
    progress: &dyn Progress,
    path: &Path,
) -> Result<()> {
    let lengths: Vec<usize> = chunks.iter().map(|c| embedding_text(c).len()).collect();
    let mut order: Vec<usize> = (0..chunks.len()).collect();
    order.sort_by_key(|&i| (lengths[i], i));
    drop(lengths);
    let mut out = VectorFileWriter::create(path, embedder.dim(), chunks.len())?;
    for batch in order.chunks(batch_size.max(1)) {
        let texts: Vec<String> = batch.iter().map(|&i| embedding_text(&chunks[i])).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let embedded = embedder.embed(&refs)?;
        check_count(batch.len(), &embedded)?;
        for (&i, v) in batch.iter().zip(embedded) {
            out.write(i as u32, &v)?;
        }
        progress.advance(batch.len() as u64);
    }
    out.finish()
}

/// Count occurrences.
fn tally(items: impl Iterator<Item = String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for item in items {
        *out.entry(item).or_insert(0) += 1;
    }
    out
}

/// The text a chunk is embedded as: its title and heading path give the passage its context.
pub fn embedding_text(chunk: &Chunk) -> String {
    let p = &chunk.provenance;
    let mut out = String::with_capacity(chunk.text.len() + 64);
    if !p.title.is_empty() && !chunk.text.starts_with(&format!("# {}", p.title)) {
        out.push_str(&p.title);
        out.push('\n');
    }
    if !p.heading_path.is_empty() {
        out.push_str(&p.heading_path.join(" > "));
        out.push('\n');
    }
    out.push_str(&chunk.text);
    out
}

/// Refuse to write into a directory that holds something other than a lore index.
fn check_replaceable(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        if !name.to_str().is_some_and(generation::is_own_entry) {
            return Err(Error::InvalidRequest(format!(
                "{} is not empty and is not a lore index ({} is not lore's); refusing to write into it",
                dir.display(),
                name.to_string_lossy()
            )));
        }
    }
    Ok(())
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
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Ok(serde_json::from_str(&text)?)
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

    #[test]
    fn refuses_to_replace_a_foreign_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_replaceable(dir.path()).is_ok());
        // A lore index (generations, pointer, lock, or the files of an older layout) is fine.
        std::fs::create_dir(dir.path().join("gen-000002")).unwrap();
        for name in [generation::CURRENT, generation::LOCK, MANIFEST] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        assert!(check_replaceable(dir.path()).is_ok());
        // Anything else is the user's, and is never written over.
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let err = check_replaceable(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("refusing to write into it"),
            "{err}"
        );
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }
}
