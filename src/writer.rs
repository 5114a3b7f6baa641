//! Writing an index: building it from exports and keeping it up to date as they change.
//!
//! Every write makes a new generation ([`crate::generation`]) under the writer lock and switches
//! to it atomically. What it holds is decided file by file:
//!
//! * each generation records its files in `files.json`: path, the SHA-256 of the bytes its
//!   documents came from, and those documents (id, title, kind, number of chunks) with the
//!   problems met in the file;
//! * an update reads every file it is given and hashes it. A file whose hash, path and id match
//!   the record is **carried over**: its chunks are read back from the previous generation and
//!   its vectors copied from it, without parsing, chunking or the model. A new or changed file
//!   is loaded, chunked and embedded (through the embedding cache, keyed by text and model);
//! * a file the record holds that the update no longer finds is removed, unless the update
//!   keeps missing files ([`IndexBuilder::keep_missing`], `lore index --no-delete`);
//! * [`IndexWriter::delete`] removes documents by id or path prefix (`lore rm`).
//!
//! The new generation is then written whole, streaming: documents in id order, carried chunks
//! read back one document at a time as the text index is written, vectors copied row by row,
//! new chunks embedded. A reloaded document keeps the vector of every chunk whose embedded text
//! the previous generation holds, so only changed text reaches the model, with or without the
//! embedding cache. The vector graph is carried over too: kept nodes keep their links and only
//! new vectors are inserted ([`HnswIndex::update`]), unless more than a fifth of the previous
//! nodes are gone, when it is built afresh. Apart from the graph's links, an update yields
//! exactly the index a full build of the same inputs yields (same [`Manifest::digest`]).
//!
//! The phases hold as little at once as they can: vectors go straight to `vectors.f32`, each
//! chunk is dropped once the text index has it, the graph comes last over the vectors alone,
//! and freed memory is handed back to the system between phases (at 100,000 chunks a build
//! peaks under 400 MB, `benches/RESULTS.md`).
//!
//! Carrying needs the previous generation to have been written by this lore version with the
//! same chunking and model; otherwise every file is read afresh (the embedding cache still spares
//! the model the text it has seen).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chunk::{chunk_document, ChunkOptions};
use crate::context::{predecessors, Neighbours};
use crate::embed::{
    check_count, model_id_in, resolve_model_dir, CachedEmbedder, Embedder, EmbeddingCache,
    LazyOnnxEmbedder,
};
use crate::error::{Error, Result};
use crate::generation::{self, WriterLock};
use crate::index::{
    write_json, ChunkingInfo, Counts, Manifest, ModelInfo, DOCUMENTS, FILES, FORMAT_VERSION,
    LEXICAL_DIR, NEIGHBOURS, SKIPPED, VECTORS,
};
use crate::lexical::{LexicalReader, LexicalWriter};
use crate::load::{self, LoadOptions};
use crate::model::{content_hash_bytes, to_hex, Chunk, Skipped, SourceFormat};
use crate::vector::{ExactRows, HnswIndex, HnswParams, RowReader, VectorFileWriter, VectorStore};

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

/// What a build or an update did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuildReport {
    /// Files the index accounts for (seen now, or kept from before), supported or not.
    pub num_files: usize,
    /// Documents indexed.
    pub num_documents: usize,
    /// Chunks indexed.
    pub num_chunks: usize,
    /// Everything not indexed, with reasons.
    pub skipped: Vec<Skipped>,
    /// Files skipped for an unknown extension (also in `skipped`).
    pub num_unsupported: usize,
    /// Files loaded and chunked by this build (new or changed ones).
    pub num_files_loaded: usize,
    /// Files found unchanged and carried over from the previous generation without parsing.
    pub num_files_unchanged: usize,
    /// Total seconds.
    pub seconds: f64,
    /// Seconds spent embedding (including copying carried vectors).
    pub embed_seconds: f64,
    /// Chunks the model embedded.
    pub num_embedded: usize,
    /// Chunks whose vectors came from the embedding cache.
    pub num_cached: usize,
    /// Chunks whose vectors were carried over from the previous generation.
    pub num_reused: usize,
    /// Nodes inserted into the vector graph: all of them when it was built afresh, only the new
    /// ones when the previous generation's graph was carried over (0 without embeddings).
    pub num_graph_inserted: usize,
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
    /// Documents whose text or metadata changed (a document that only moved within its file,
    /// because something before it changed, is unchanged).
    pub updated: usize,
    /// Documents no longer in the index.
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

    /// Did anything change?
    pub fn any(&self) -> bool {
        self.added + self.updated + self.removed > 0
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

/// Which embedder a build uses.
#[derive(Clone)]
enum EmbedderChoice {
    /// The shipped model, from this directory (or the default one).
    Model(Option<PathBuf>),
    /// A caller-supplied embedder.
    Given(Arc<dyn Embedder>),
    /// No embeddings (lexical only).
    Disabled,
}

impl EmbedderChoice {
    /// The model id vectors get (`None` without embeddings), without loading the model.
    fn model_id(&self) -> Result<Option<String>> {
        match self {
            EmbedderChoice::Model(dir) => {
                Ok(Some(model_id_in(&resolve_model_dir(dir.as_deref()))?))
            }
            EmbedderChoice::Given(e) => Ok(Some(e.model_id().to_string())),
            EmbedderChoice::Disabled => Ok(None),
        }
    }

    /// The embedder for `texts` texts (the shipped model is loaded only when it is first asked
    /// for a vector, with one session per core unless there are few texts).
    fn create(&self, texts: usize) -> Result<Option<Arc<dyn Embedder>>> {
        Ok(match self {
            EmbedderChoice::Model(dir) => {
                let dir = resolve_model_dir(dir.as_deref());
                Some(Arc::new(if texts <= FEW_TEXTS {
                    LazyOnnxEmbedder::for_few_texts(&dir)?
                } else {
                    LazyOnnxEmbedder::for_indexing(&dir)?
                }))
            }
            EmbedderChoice::Given(e) => Some(e.clone()),
            EmbedderChoice::Disabled => None,
        })
    }
}

/// Up to this many texts to embed, the model is loaded with one session instead of one per
/// core.
const FEW_TEXTS: usize = 256;

/// Builds an index directory from files and folders of exports, or brings an existing one up
/// to date with them (see the module documentation).
///
/// ```no_run
/// use lore::{IndexBuilder, NoProgress};
/// let report = IndexBuilder::new("/tmp/lore-index").build(&["corpus".into()], &NoProgress)?;
/// println!("{} chunks, {} embedded by the model", report.num_chunks, report.num_embedded);
/// # Ok::<(), lore::Error>(())
/// ```
#[derive(Clone)]
pub struct IndexBuilder {
    dir: PathBuf,
    chunk: Option<ChunkOptions>,
    load: LoadOptions,
    embedder: EmbedderChoice,
    hnsw: HnswParams,
    batch_size: usize,
    cache_root: Option<PathBuf>,
    reuse: bool,
    keep_missing: bool,
}

impl IndexBuilder {
    /// A builder writing to `dir`, with the shipped model from the default model directory.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        IndexBuilder {
            dir: dir.into(),
            chunk: None,
            load: LoadOptions::default(),
            embedder: EmbedderChoice::Model(None),
            hnsw: HnswParams::default(),
            batch_size: 64,
            cache_root: Some(EmbeddingCache::default_root()),
            reuse: true,
            keep_missing: false,
        }
    }

    /// Chunking settings (default: those of the index in the directory, else
    /// [`ChunkOptions::default`]).
    pub fn chunk_options(mut self, options: ChunkOptions) -> Self {
        self.chunk = Some(options);
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
    /// ([`EmbeddingCache::default_root`]); `None` caches nothing.
    pub fn embedding_cache(mut self, root: Option<PathBuf>) -> Self {
        self.cache_root = root;
        self
    }

    /// Build a lexical-only index (no model needed; dense search unavailable).
    pub fn without_embeddings(mut self) -> Self {
        self.embedder = EmbedderChoice::Disabled;
        self
    }

    /// Carry unchanged files' chunks and vectors over from the index in the directory (the
    /// default). `false` loads, chunks and embeds everything afresh (`lore index --rebuild`).
    pub fn reuse_index(mut self, reuse: bool) -> Self {
        self.reuse = reuse;
        self
    }

    /// Keep the documents of files the inputs no longer hold (`lore index --no-delete`): the
    /// inputs are added to the index instead of replacing it. Default `false`.
    pub fn keep_missing(mut self, keep: bool) -> Self {
        self.keep_missing = keep;
        self
    }

    /// The chunking this builder uses over `previous`.
    fn chunking(&self, previous: Option<&Previous>) -> ChunkOptions {
        self.chunk.unwrap_or_else(|| {
            previous
                .and_then(|p| p.manifest.as_ref())
                .map(|m| ChunkOptions {
                    max_tokens: m.chunking.max_tokens,
                })
                .unwrap_or_default()
        })
    }

    /// Open a writer on this builder's directory (creating the index on commit if there is
    /// none), with this builder's settings. Takes the writer lock.
    pub fn writer(&self) -> Result<IndexWriter> {
        let started = Instant::now();
        let dir = index_dir(&self.dir)?;
        check_replaceable(&dir)?;
        // One writer at a time, refused at once (before any work) when another holds the lock.
        let lock = WriterLock::acquire(&dir)?;
        let previous = Previous::read(&dir);
        let settings = Settings {
            chunk: self.chunking(previous.as_ref()),
            load: self.load,
            model_id: self.embedder.model_id()?,
            embedder: self.embedder.clone(),
            hnsw: self.hnsw.clone(),
            batch_size: self.batch_size,
            cache_root: self.cache_root.clone(),
        };
        let carry = self.reuse && previous.as_ref().is_some_and(|p| p.carries(&settings));
        if self.keep_missing && !carry {
            if let Some(reason) = previous.as_ref().and_then(|p| p.why_not_carried(&settings)) {
                return Err(Error::InvalidRequest(format!(
                    "cannot add to the index at {} without rebuilding it: {reason}; index without --no-delete to rebuild it from the inputs",
                    dir.display()
                )));
            }
        }
        Ok(IndexWriter::new(
            dir, lock, settings, previous, carry, started,
        ))
    }

    /// Bring the index in this builder's directory up to date with `paths`: it holds exactly
    /// what they hold (plus, with [`IndexBuilder::keep_missing`], what it held before), and
    /// unchanged files are carried over without the model (see the module documentation).
    pub fn build(&self, paths: &[PathBuf], progress: &dyn Progress) -> Result<BuildReport> {
        let mut writer = self.writer()?;
        if self.keep_missing {
            writer.add_paths(paths, progress);
        } else {
            writer.sync(paths, progress);
        }
        writer.commit(progress)
    }

    /// True when the index in this builder's directory was built from exactly what `paths` now
    /// hold, with these settings and this model: building again would change nothing. Reads
    /// and hashes the inputs (no parsing, no embedding) to find out.
    pub fn is_current(&self, paths: &[PathBuf]) -> Result<bool> {
        let Some(previous) = Previous::read(&self.dir) else {
            return Ok(false);
        };
        let settings_match = previous.manifest.as_ref().is_some_and(|m| {
            m.lore_version == env!("CARGO_PKG_VERSION")
                && m.chunking.max_tokens == self.chunking(Some(&previous)).max_tokens
        });
        let model_id = self.embedder.model_id()?;
        if !settings_match || previous.model_id() != model_id.as_deref() {
            return Ok(false);
        }
        let Some(records) = &previous.files else {
            return Ok(false);
        };
        let (files, walk_skipped) = load::walk(&absolute_inputs(paths));
        let recorded_walk_problems: Vec<&Skipped> = records
            .iter()
            .filter(|r| r.id.is_empty())
            .flat_map(|r| &r.skipped)
            .collect();
        let mut walk_problems: Vec<&Skipped> = walk_skipped.iter().collect();
        walk_problems.sort_by(|a, b| a.path.cmp(&b.path));
        if walk_problems != recorded_walk_problems {
            return Ok(false);
        }
        let by_path: HashMap<&Path, &FileRecord> = records
            .iter()
            .filter(|r| !r.id.is_empty())
            .map(|r| (r.path.as_path(), r))
            .collect();
        if by_path.len() != files.len() {
            return Ok(false);
        }
        Ok(files.par_iter().all(|(path, id)| {
            let Some(record) = by_path.get(path.as_path()) else {
                return false;
            };
            // A file some of whose documents were removed would get them back.
            if record.id != *id || record.removed_some {
                return false;
            }
            if load::unsupported(path).is_some() {
                return record.unsupported;
            }
            match (&record.sha256, load::read_file(path, &self.load)) {
                (Some(sha), Ok(bytes)) => *sha == content_hash_bytes(&bytes),
                _ => false,
            }
        }))
    }
}

/// The absolute form of an index directory (so that a generation's path is well defined, even
/// for `.`), refusing a root directory.
fn index_dir(dir: &Path) -> Result<PathBuf> {
    let dir = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
    if dir.parent().is_none() {
        return Err(Error::InvalidRequest(format!(
            "{} cannot hold an index; give a directory below it",
            dir.display()
        )));
    }
    Ok(dir)
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

/// What a write produces from, settled when the writer opens.
#[derive(Clone)]
struct Settings {
    chunk: ChunkOptions,
    load: LoadOptions,
    embedder: EmbedderChoice,
    /// The model the vectors come from (`None`: lexical only).
    model_id: Option<String>,
    hnsw: HnswParams,
    batch_size: usize,
    cache_root: Option<PathBuf>,
}

/// A document as a generation's file record lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DocRecord {
    id: String,
    title: String,
    kind: String,
    format: SourceFormat,
    /// First line of the document in its file.
    line: Option<usize>,
    /// Its number of chunks.
    chunks: usize,
}

/// One input as a generation records it (`files.json`): a file, or a problem met while walking
/// the folders (then `id` is empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FileRecord {
    path: PathBuf,
    /// The id of the file's path-derived documents.
    id: String,
    /// SHA-256 of the bytes the documents were loaded from (`None`: not read).
    sha256: Option<String>,
    /// Some of its documents were removed ([`IndexWriter::delete`]).
    #[serde(default)]
    removed_some: bool,
    /// Some of its documents were left out for an id an earlier file holds. An update reads
    /// such a file again even when unchanged, since the earlier one may have gone.
    #[serde(default)]
    duplicates_left_out: bool,
    /// Skipped for its extension.
    unsupported: bool,
    /// The documents the index holds from it, in file order.
    documents: Vec<DocRecord>,
    /// What in it was not indexed, and why.
    skipped: Vec<Skipped>,
}

/// Where a file's chunks are.
enum Content {
    /// In the previous generation: each document's chunk ordinals there.
    Previous(Vec<Range<u32>>),
    /// Loaded by this writer: each document's chunks.
    New(Vec<Vec<Chunk>>),
}

/// A file (or walk problem) the next generation will account for.
struct Entry {
    record: FileRecord,
    content: Content,
}

impl Entry {
    /// An input with no documents: a walk problem, an unsupported or unreadable file.
    fn problem(path: &Path, id: &str, unsupported: bool, skipped: Vec<Skipped>) -> Self {
        Entry {
            record: FileRecord {
                path: path.to_path_buf(),
                id: id.to_string(),
                unsupported,
                skipped,
                ..FileRecord::default()
            },
            content: Content::New(Vec::new()),
        }
    }

    /// Load and chunk a file's bytes.
    fn load(path: &Path, id: &str, bytes: Vec<u8>, sha256: String, chunk: &ChunkOptions) -> Self {
        let (docs, skipped) = load::load_bytes(path, id, bytes);
        let mut documents = Vec::with_capacity(docs.len());
        let mut chunks = Vec::with_capacity(docs.len());
        for doc in docs {
            let pieces = chunk_document(&doc, chunk);
            documents.push(DocRecord {
                id: doc.id,
                title: doc.title,
                kind: doc.kind,
                format: doc.format,
                line: pieces.first().map(|c| c.provenance.line_range[0]),
                chunks: pieces.len(),
            });
            chunks.push(pieces);
        }
        Entry {
            record: FileRecord {
                path: path.to_path_buf(),
                id: id.to_string(),
                sha256: Some(sha256),
                documents,
                skipped,
                ..FileRecord::default()
            },
            content: Content::New(chunks),
        }
    }

    /// Keep the documents for which `keep` holds; returns how many were dropped.
    fn retain(&mut self, mut keep: impl FnMut(&DocRecord) -> bool) -> usize {
        let flags: Vec<bool> = self.record.documents.iter().map(&mut keep).collect();
        let dropped = flags.iter().filter(|k| !**k).count();
        if dropped == 0 {
            return 0;
        }
        let mut it = flags.iter();
        self.record
            .documents
            .retain(|_| *it.next().unwrap_or(&true));
        match &mut self.content {
            Content::Previous(ranges) => {
                let mut it = flags.iter();
                ranges.retain(|_| *it.next().unwrap_or(&true));
            }
            Content::New(chunks) => {
                let mut it = flags.iter();
                chunks.retain(|_| *it.next().unwrap_or(&true));
            }
        }
        dropped
    }

    /// Can the record stand for the file when its bytes hash to `sha256` under `id`?
    fn vouches_for(&self, id: &str, sha256: &str) -> bool {
        let r = &self.record;
        r.id == id
            && r.sha256.as_deref() == Some(sha256)
            && !r.removed_some
            && !r.duplicates_left_out
    }
}

/// The generation a writer replaces.
struct Previous {
    /// Its directory.
    dir: PathBuf,
    /// `None` when it cannot be read by this lore (another format version, damage).
    manifest: Option<Manifest>,
    /// Its files (`files.json`); `None` for a generation written before files were recorded
    /// (and once [`Previous::take_entries`] took them).
    files: Option<Vec<FileRecord>>,
    /// Each document's chunk ordinals, once [`Previous::take_entries`] took the files.
    ranges: HashMap<String, Range<u32>>,
}

impl Previous {
    /// The directory of the current generation in `dir`, if there is one.
    fn current(dir: &Path) -> Option<PathBuf> {
        let dir = generation::resolve(dir).ok()?;
        dir.join(crate::index::MANIFEST).is_file().then_some(dir)
    }

    /// The current generation in `dir`, if any.
    fn read(dir: &Path) -> Option<Self> {
        let dir = Previous::current(dir)?;
        let files = std::fs::read(dir.join(FILES))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        Some(Previous {
            manifest: Manifest::read(&dir).ok(),
            files,
            ranges: HashMap::new(),
            dir,
        })
    }

    fn model_id(&self) -> Option<&str> {
        self.manifest
            .as_ref()
            .and_then(|m| m.model.as_ref())
            .map(|m| m.id.as_str())
    }

    /// Why its chunks and vectors cannot be carried into a generation made with `settings`.
    fn why_not_carried(&self, settings: &Settings) -> Option<String> {
        let Some(manifest) = &self.manifest else {
            return Some("it cannot be read by this lore".into());
        };
        if self.files.is_none() {
            return Some("it does not record its files (it was written by an older lore)".into());
        }
        if manifest.lore_version != env!("CARGO_PKG_VERSION") {
            return Some(format!(
                "it was written by lore {}, this is lore {}",
                manifest.lore_version,
                env!("CARGO_PKG_VERSION")
            ));
        }
        if manifest.chunking.max_tokens != settings.chunk.max_tokens {
            return Some(format!(
                "it was chunked at {} tokens, not {}",
                manifest.chunking.max_tokens, settings.chunk.max_tokens
            ));
        }
        if self.model_id() != settings.model_id.as_deref() {
            let name = |m: Option<&str>| {
                m.map_or("no model (lexical only)".into(), |m| format!("model {m}"))
            };
            return Some(format!(
                "it was embedded with {}, not {}",
                name(self.model_id()),
                name(settings.model_id.as_deref())
            ));
        }
        None
    }

    fn carries(&self, settings: &Settings) -> bool {
        self.why_not_carried(settings).is_none()
    }

    /// Take its files as entries, each with its documents' chunk ordinals (documents take
    /// ordinals in id order, each its chunks in a row), and keep those ordinals by document
    /// id in `ranges`.
    fn take_entries(&mut self) -> BTreeMap<PathBuf, Entry> {
        let Some(files) = self.files.take() else {
            return BTreeMap::new();
        };
        let mut counts: Vec<(&str, usize)> = files
            .iter()
            .flat_map(|f| &f.documents)
            .map(|d| (d.id.as_str(), d.chunks))
            .collect();
        counts.sort_unstable();
        let mut ranges = HashMap::with_capacity(counts.len());
        let mut next = 0u32;
        for (id, n) in counts {
            ranges.insert(id.to_string(), next..next + n as u32);
            next += n as u32;
        }
        let entries = files
            .into_iter()
            .map(|f| {
                let content = Content::Previous(
                    f.documents
                        .iter()
                        .map(|d| ranges[d.id.as_str()].clone())
                        .collect(),
                );
                let entry = Entry { record: f, content };
                (entry.record.path.clone(), entry)
            })
            .collect();
        self.ranges = ranges;
        entries
    }
}

/// Adds, updates and removes documents of an index, then commits them as one new generation
/// (see the module documentation). Holds the writer lock from open to commit; dropping it
/// without committing leaves the index as it was.
///
/// ```no_run
/// use lore::{IndexWriter, NoProgress};
/// let mut writer = IndexWriter::open("/tmp/lore-index")?;
/// writer.add_paths(&["exports/2026-11-26".into()], &NoProgress);
/// let removed = writer.delete("corpus/meetings/2025-01-07-standup.md");
/// let report = writer.commit(&NoProgress)?;
/// println!("removed {removed}, embedded {} chunks", report.num_embedded);
/// # Ok::<(), lore::Error>(())
/// ```
pub struct IndexWriter {
    dir: PathBuf,
    lock: WriterLock,
    settings: Settings,
    previous: Option<Previous>,
    /// Whether chunks and vectors may come from `previous`.
    carry: bool,
    entries: BTreeMap<PathBuf, Entry>,
    sources: Vec<String>,
    files_loaded: usize,
    files_unchanged: usize,
    started: Instant,
}

impl std::fmt::Debug for IndexWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexWriter")
            .field("dir", &self.dir)
            .field("files", &self.entries.len())
            .finish()
    }
}

impl IndexWriter {
    fn new(
        dir: PathBuf,
        lock: WriterLock,
        settings: Settings,
        mut previous: Option<Previous>,
        carry: bool,
        started: Instant,
    ) -> Self {
        let (entries, sources) = match (&mut previous, carry) {
            (Some(p), true) => (
                p.take_entries(),
                p.manifest
                    .as_ref()
                    .map(|m| m.sources.clone())
                    .unwrap_or_default(),
            ),
            (Some(p), false) => {
                p.files = None;
                (BTreeMap::new(), Vec::new())
            }
            (None, _) => (BTreeMap::new(), Vec::new()),
        };
        IndexWriter {
            dir,
            lock,
            settings,
            previous,
            carry,
            entries,
            sources,
            files_loaded: 0,
            files_unchanged: 0,
            started,
        }
    }

    /// Open the index in `dir` to change it, with the settings it was built with (chunking,
    /// model; the model is loaded from the default model directory only if something needs
    /// embedding). Takes the writer lock.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let started = Instant::now();
        let dir = index_dir(dir.as_ref())?;
        // Checked before the lock is taken, which would create the directory.
        if Previous::current(&dir).is_none() {
            return Err(Error::NoIndex { dir });
        }
        let lock = WriterLock::acquire(&dir)?;
        let previous = Previous::read(&dir).ok_or_else(|| Error::NoIndex { dir: dir.clone() })?;
        let Some(manifest) = &previous.manifest else {
            // Reading it again names what is wrong with it.
            return Err(Manifest::read(&previous.dir)
                .err()
                .unwrap_or_else(|| Error::NoIndex { dir: dir.clone() }));
        };
        let settings = Settings {
            chunk: ChunkOptions {
                max_tokens: manifest.chunking.max_tokens,
            },
            load: LoadOptions::default(),
            embedder: match manifest.model {
                Some(_) => EmbedderChoice::Model(None),
                None => EmbedderChoice::Disabled,
            },
            model_id: manifest.model.as_ref().map(|m| m.id.clone()),
            hnsw: HnswParams::default(),
            batch_size: 64,
            cache_root: Some(EmbeddingCache::default_root()),
        };
        if let Some(reason) = previous.why_not_carried(&settings) {
            return Err(Error::Incompatible {
                dir,
                reason: format!(
                    "{reason}; rebuild it with `lore index <PATH>... --index <DIR> --rebuild`"
                ),
            });
        }
        Ok(IndexWriter::new(
            dir,
            lock,
            settings,
            Some(previous),
            true,
            started,
        ))
    }

    /// Load the model from `dir` when something needs embedding (an index without embeddings
    /// stays without).
    pub fn model_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        if self.settings.model_id.is_some() {
            self.settings.embedder = EmbedderChoice::Model(Some(dir.into()));
        }
        self
    }

    /// Embed with this embedder (its model id must be the index's).
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        if self.settings.model_id.is_some() {
            self.settings.embedder = EmbedderChoice::Given(embedder);
        }
        self
    }

    /// Keep the embedding cache under `root` instead of the default; `None` caches nothing.
    pub fn embedding_cache(mut self, root: Option<PathBuf>) -> Self {
        self.settings.cache_root = root;
        self
    }

    /// Loading settings for the files added from now on.
    pub fn load_options(mut self, options: LoadOptions) -> Self {
        self.settings.load = options;
        self
    }

    /// Documents the next generation will hold, as things stand (before duplicate ids are
    /// resolved at commit).
    pub fn num_documents(&self) -> usize {
        self.entries
            .values()
            .map(|e| e.record.documents.len())
            .sum()
    }

    /// Add the files under `paths` (files or folders, walked as [`load::load_paths`] does): a
    /// new file is loaded and chunked, a changed one replaces its old documents, an unchanged
    /// one (same bytes, same id) is kept as it is. Problems are recorded, not returned: they
    /// are in the commit's [`BuildReport::skipped`].
    pub fn add_paths(&mut self, paths: &[PathBuf], progress: &dyn Progress) {
        self.read_paths(&absolute_inputs(paths), progress);
    }

    /// Make the index hold exactly what `paths` hold: [`IndexWriter::add_paths`], then remove
    /// every file the walk did not find.
    pub fn sync(&mut self, paths: &[PathBuf], progress: &dyn Progress) {
        let roots = absolute_inputs(paths);
        let seen = self.read_paths(&roots, progress);
        self.entries.retain(|path, _| seen.contains(path));
        self.sources = roots.iter().map(|p| p.display().to_string()).collect();
    }

    /// Add one file's contents given in memory, as if read from `path`; its path-derived
    /// documents get the id `id`. Replaces what the index holds from `path`.
    pub fn add_bytes(&mut self, path: impl AsRef<Path>, id: &str, bytes: Vec<u8>) {
        let path = path.as_ref();
        let sha256 = content_hash_bytes(&bytes);
        let entry = Entry::load(path, id, bytes, sha256, &self.settings.chunk);
        self.files_loaded += 1;
        self.entries.insert(path.to_path_buf(), entry);
    }

    /// Remove the documents whose id is `pattern` or starts with `pattern/` (a folder of the
    /// ids), and those whose source file is `pattern` or lies below it (as a path, relative to
    /// the working directory or absolute). Returns how many documents were removed.
    pub fn delete(&mut self, pattern: &str) -> usize {
        let prefix = pattern.trim_end_matches('/');
        let by_id = |id: &str| {
            !prefix.is_empty()
                && (id == prefix
                    || id
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/')))
        };
        let path = Path::new(pattern);
        let path = path
            .canonicalize()
            .or_else(|_| std::path::absolute(path))
            .unwrap_or_else(|_| path.to_path_buf());
        let mut removed = 0;
        self.entries.retain(|file, entry| {
            let whole_file = !pattern.is_empty() && file.starts_with(&path);
            let dropped = entry.retain(|doc| !(whole_file || by_id(&doc.id)));
            entry.record.removed_some |= dropped > 0;
            removed += dropped;
            !whole_file
        });
        removed
    }

    /// Walk `paths` (made absolute) and update the entries; returns every path the walk met.
    fn read_paths(&mut self, paths: &[PathBuf], progress: &dyn Progress) -> HashSet<PathBuf> {
        for p in paths {
            let p = p.display().to_string();
            if !self.sources.contains(&p) {
                self.sources.push(p);
            }
        }
        let (files, walk_skipped) = load::walk(paths);
        progress.start("loading", files.len() as u64);
        let settings = &self.settings;
        let entries = &self.entries;
        // `None`: the entry the index holds is still right.
        let updates: Vec<Option<Entry>> = files
            .par_iter()
            .map(|(path, id)| {
                let update = if let Some(reason) = load::unsupported(path) {
                    Some(Entry::problem(
                        path,
                        id,
                        true,
                        vec![Skipped {
                            path: path.clone(),
                            line: None,
                            reason,
                        }],
                    ))
                } else {
                    match load::read_file(path, &settings.load) {
                        Err(skipped) => Some(Entry::problem(path, id, false, vec![skipped])),
                        Ok(bytes) => {
                            let sha256 = content_hash_bytes(&bytes);
                            let unchanged = entries
                                .get(path)
                                .is_some_and(|e| e.vouches_for(id, &sha256));
                            (!unchanged)
                                .then(|| Entry::load(path, id, bytes, sha256, &settings.chunk))
                        }
                    }
                };
                progress.advance(1);
                update
            })
            .collect();
        progress.finish();
        let mut seen: HashSet<PathBuf> = HashSet::with_capacity(files.len());
        for ((path, _), update) in files.into_iter().zip(updates) {
            match update {
                Some(entry) => {
                    if entry.record.sha256.is_some() {
                        self.files_loaded += 1;
                    }
                    self.entries.insert(path.clone(), entry);
                }
                None => self.files_unchanged += 1,
            }
            seen.insert(path);
        }
        // Problems met while walking, one entry per path.
        let mut problems: BTreeMap<PathBuf, Vec<Skipped>> = BTreeMap::new();
        for s in walk_skipped {
            problems.entry(s.path.clone()).or_default().push(s);
        }
        for (path, skipped) in problems {
            self.entries
                .insert(path.clone(), Entry::problem(&path, "", false, skipped));
            seen.insert(path);
        }
        // Folders the walk went through again drop the problems it no longer meets there.
        self.entries.retain(|path, entry| {
            !entry.record.id.is_empty()
                || seen.contains(path)
                || !paths.iter().any(|root| path.starts_with(root))
        });
        seen
    }

    /// Write the new generation and make it current.
    pub fn commit(self, progress: &dyn Progress) -> Result<BuildReport> {
        let IndexWriter {
            dir: _,
            lock,
            settings,
            previous,
            carry,
            entries,
            sources,
            files_loaded,
            files_unchanged,
            started,
        } = self;
        let mut entries: Vec<Entry> = entries.into_values().collect();

        // Duplicate ids: the first in path order, then file order, is kept, as in a full build.
        let mut seen: HashMap<String, PathBuf> = HashMap::new();
        for entry in &mut entries {
            let mut duplicates = Vec::new();
            let path = entry.record.path.clone();
            entry.retain(|doc| match seen.get(&doc.id) {
                Some(first) => {
                    duplicates.push(Skipped {
                        path: path.clone(),
                        line: doc.line,
                        reason: format!(
                            "duplicate document id `{}` (first seen in {})",
                            doc.id,
                            first.display()
                        ),
                    });
                    false
                }
                None => {
                    seen.insert(doc.id.clone(), path.clone());
                    true
                }
            });
            entry.record.duplicates_left_out |= !duplicates.is_empty();
            entry.record.skipped.extend(duplicates);
        }
        drop(seen);

        // Which document continues which is a matter of file order.
        let mut continued = HashMap::new();
        for entry in &entries {
            let docs = &entry.record.documents;
            predecessors(
                docs.iter().map(|d| (d.id.as_str(), d.title.as_str())),
                &mut continued,
            );
        }

        // Chunk ordinals follow document id, then position: the order that breaks score ties.
        let mut documents: Vec<(String, DocChunks)> = Vec::new();
        for entry in &mut entries {
            let content = std::mem::replace(&mut entry.content, Content::New(Vec::new()));
            let ids = entry.record.documents.iter().map(|d| d.id.clone());
            match content {
                Content::Previous(ranges) => documents.extend(
                    ids.zip(ranges)
                        .map(|(id, range)| (id, DocChunks::Previous(range))),
                ),
                Content::New(chunks) => {
                    documents.extend(ids.zip(chunks).map(|(id, c)| (id, DocChunks::New(c))))
                }
            }
        }
        documents.sort_by(|a, b| a.0.cmp(&b.0));
        let lengths: Vec<(&str, usize)> = documents
            .iter()
            .map(|(id, chunks)| (id.as_str(), chunks.len()))
            .collect();
        let neighbours = Neighbours::link(&lengths, &continued);
        let num_chunks = neighbours.len();
        drop((lengths, continued));

        // Everything goes into a new generation, made current only once it is complete. What
        // is final is written at once and dropped, so that it does not add to the peak below.
        let generation = generation::begin(&lock)?;
        let staging = generation.dir.clone();
        let records: Vec<FileRecord> = entries.into_iter().map(|e| e.record).collect();
        let skipped: Vec<Skipped> = records.iter().flat_map(|r| r.skipped.clone()).collect();
        let files: Vec<&FileRecord> = records.iter().filter(|r| !r.id.is_empty()).collect();
        let docs = || files.iter().flat_map(|r| &r.documents);
        let counts = Counts {
            files: files.len(),
            documents: docs().count(),
            chunks: num_chunks,
            skipped: skipped.len(),
            documents_by_kind: tally(docs().map(|d| d.kind.to_lowercase())),
            documents_by_format: tally(docs().map(|d| d.format.as_str().to_string())),
        };
        let num_unsupported = files.iter().filter(|r| r.unsupported).count();
        drop(files);
        write_json(&staging.join(SKIPPED), &skipped)?;
        write_json(&staging.join(FILES), &records)?;
        drop(records);
        neighbours.save(&staging.join(NEIGHBOURS))?;

        // Chunks and vectors carried over are read from the previous generation as they are
        // needed, never all at once: only new chunks are held in memory.
        let mut previous = previous;
        let carried = match previous.as_mut().filter(|_| carry) {
            Some(p) => Some(Carried::open(p)?),
            None => None,
        };
        let origins = origins(&documents, carried.as_ref())?;

        let mut notes = Vec::new();
        let embed_started = Instant::now();
        let vectors = write_vectors(
            &settings,
            carried.as_ref(),
            &documents,
            &origins,
            &staging.join(VECTORS),
            progress,
            &mut notes,
        )?;
        let embed_seconds = embed_started.elapsed().as_secs_f64();
        release_freed_memory();

        // The text next, each chunk dropped once the lexical writer has it, then the graph over
        // the vectors alone.
        progress.start("indexing text", num_chunks as u64);
        let mut writer = LexicalWriter::create(&staging.join(LEXICAL_DIR))?;
        let mut digest = Digests::new(settings.model_id.as_deref(), &settings.chunk);
        let mut ord = 0u32;
        for (id, chunks) in documents {
            let chunks = match chunks {
                DocChunks::New(chunks) => chunks,
                DocChunks::Previous(range) => carried
                    .as_ref()
                    .ok_or_else(|| Error::InvalidRequest("nothing to carry chunks from".into()))?
                    .chunks(&id, range)?,
            };
            digest.document(&id, &chunks);
            let n = chunks.len() as u64;
            for chunk in chunks {
                writer.add(ord, &chunk)?;
                ord += 1;
                if (ord as usize).is_multiple_of(RELEASE_EVERY) {
                    // The chunks were made on other threads, whose heaps keep their freed
                    // memory.
                    release_freed_memory();
                }
            }
            progress.advance(n);
        }
        writer.commit()?;
        progress.finish();
        let (digest, signatures) = digest.finish(&neighbours);
        // What changed since the generation this one replaces (nothing to compare with for a
        // first build, or one written before documents were recorded).
        let changes = previous
            .as_ref()
            .and_then(|p| read_signatures(&p.dir.join(DOCUMENTS)))
            .map(|old| Changes::between(&old, &signatures));
        write_signatures(&staging.join(DOCUMENTS), &signatures)?;
        drop(signatures);
        release_freed_memory();

        // The previous generation's text is not needed any more: its pages, read through the
        // whole carry, are let go before the graph is built.
        let carried_graph = carried.map(|c| (c.dir, c.num_chunks));
        let mut graph_inserted = 0;
        if let Some(model) = &vectors.model {
            progress.start("building vector graph", 0);
            graph_inserted = write_graph(
                &staging,
                model.dim,
                carried_graph,
                &origins,
                &settings.hnsw,
                &mut notes,
            )?;
            progress.finish();
        }
        drop(origins);

        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            lore_version: env!("CARGO_PKG_VERSION").to_string(),
            model: vectors.model,
            chunking: ChunkingInfo {
                max_tokens: settings.chunk.max_tokens,
            },
            counts: counts.clone(),
            sources,
            digest: Some(digest),
        };
        manifest.write(&staging)?;
        let replaced = generation::commit(&lock, &generation)?;
        notes.extend(generation::clean(&lock, replaced.as_deref())?);

        Ok(BuildReport {
            num_files: counts.files,
            num_documents: counts.documents,
            num_chunks,
            skipped,
            num_unsupported,
            num_files_loaded: files_loaded,
            num_files_unchanged: files_unchanged,
            seconds: started.elapsed().as_secs_f64(),
            embed_seconds,
            num_embedded: vectors.embedded,
            num_cached: vectors.cached,
            num_reused: vectors.reused,
            num_graph_inserted: graph_inserted,
            changes,
            notes,
        })
    }
}

/// Fewer changed vectors than one in this many: a graph update reads the rows it needs from
/// disk instead of loading every vector.
const FEW_CHANGES: usize = 1_000;

/// Write the graph over the vectors in `dir`: the previous generation's graph (in `previous`,
/// with its number of nodes) carried over when it can be ([`HnswIndex::update`]), else a fresh
/// build. Returns how many nodes were inserted.
fn write_graph(
    dir: &Path,
    dim: usize,
    previous: Option<(PathBuf, usize)>,
    origins: &[Option<u32>],
    params: &HnswParams,
    notes: &mut Vec<String>,
) -> Result<usize> {
    let path = dir.join(VECTORS);
    let n = origins.len();
    let previous = previous
        .filter(|_| origins.iter().any(Option::is_some))
        .and_then(
            |(previous, count)| match HnswIndex::load(&previous, count) {
                Ok(graph) => Some(graph),
                Err(e) => {
                    notes.push(format!("the vector graph was built afresh: {e}"));
                    None
                }
            },
        );
    if let Some(previous) = previous {
        let kept = origins.iter().filter(|o| o.is_some()).count();
        let changed = (n - kept) + previous.len().saturating_sub(kept);
        let updated = if changed * FEW_CHANGES <= n {
            // A few changes: the insertions read the rows they compare with, not all of them.
            let rows = ExactRows::open(&path, dim, n)?;
            let reader = RowReader::new(&rows);
            let updated = HnswIndex::update(&reader, params, &previous, origins);
            reader.finish()?;
            updated
        } else {
            let store = VectorStore::load(&path, dim, n)?;
            HnswIndex::update(&store, params, &previous, origins)
        };
        if let Some((graph, inserted)) = updated {
            graph.save(dir)?;
            return Ok(inserted);
        }
    }
    let store = VectorStore::load(&path, dim, n)?;
    HnswIndex::build(&store, params).save(dir)?;
    Ok(n)
}

/// Where one document's chunks are.
enum DocChunks {
    /// These ordinals of the previous generation.
    Previous(Range<u32>),
    /// Here.
    New(Vec<Chunk>),
}

impl DocChunks {
    fn len(&self) -> usize {
        match self {
            DocChunks::Previous(range) => range.len(),
            DocChunks::New(chunks) => chunks.len(),
        }
    }
}

/// The previous generation's chunks and vectors, open for carrying over.
struct Carried {
    dir: PathBuf,
    lexical: LexicalReader,
    /// Its vectors (`None` for a lexical-only index).
    vectors: Option<(ExactRows, ModelInfo)>,
    num_chunks: usize,
    /// Each document's chunk ordinals.
    ranges: HashMap<String, Range<u32>>,
}

impl Carried {
    /// Open `previous` for carrying, taking its documents' ordinals.
    fn open(previous: &mut Previous) -> Result<Self> {
        let manifest = previous.manifest.as_ref().ok_or_else(|| Error::NoIndex {
            dir: previous.dir.clone(),
        })?;
        let num_chunks = manifest.counts.chunks;
        let vectors = match &manifest.model {
            Some(model) => Some((
                ExactRows::open(&previous.dir.join(VECTORS), model.dim, num_chunks)?,
                model.clone(),
            )),
            None => None,
        };
        Ok(Carried {
            dir: previous.dir.clone(),
            lexical: LexicalReader::open(&previous.dir.join(LEXICAL_DIR))?,
            vectors,
            num_chunks,
            ranges: std::mem::take(&mut previous.ranges),
        })
    }

    /// The chunks with ordinals `range`, checked to belong to document `id`.
    fn chunks(&self, id: &str, range: Range<u32>) -> Result<Vec<Chunk>> {
        range
            .map(|ord| {
                let chunk = self.lexical.chunk_by_ord(ord)?;
                if chunk.provenance.doc_id != id {
                    return Err(Error::Corrupt {
                        dir: self.dir.clone(),
                        reason: format!(
                            "{FILES} puts chunk {ord} in document `{id}`, the full-text index in `{}`",
                            chunk.provenance.doc_id
                        ),
                    });
                }
                Ok(chunk)
            })
            .collect()
    }
}

/// For every chunk of `documents` (in order), its ordinal in the previous generation when its
/// vector can be carried over from there: the document was carried, or it was loaded again and
/// the previous generation holds a chunk of it with the same embedded text (a vector depends on
/// that text alone).
fn origins(
    documents: &[(String, DocChunks)],
    carried: Option<&Carried>,
) -> Result<Vec<Option<u32>>> {
    let Some(carried) = carried else {
        return Ok(documents
            .iter()
            .flat_map(|(_, c)| std::iter::repeat_n(None, c.len()))
            .collect());
    };
    let pieces: Vec<Vec<Option<u32>>> = documents
        .par_iter()
        .map(|(id, chunks)| match chunks {
            DocChunks::Previous(range) => Ok(range.clone().map(Some).collect()),
            DocChunks::New(chunks) => {
                let Some(range) = carried.ranges.get(id) else {
                    return Ok(vec![None; chunks.len()]);
                };
                let before: HashMap<String, u32> = carried
                    .chunks(id, range.clone())?
                    .iter()
                    .zip(range.clone())
                    .map(|(chunk, ord)| (embedding_text(chunk), ord))
                    .collect();
                Ok(chunks
                    .iter()
                    .map(|c| before.get(&embedding_text(c)).copied())
                    .collect())
            }
        })
        .collect::<Result<_>>()?;
    Ok(pieces.into_iter().flatten().collect())
}

/// A chunk as it is hashed for signatures and digests.
fn chunk_bytes(chunk: &Chunk) -> Vec<u8> {
    // Serialising a chunk cannot fail: it holds only strings, numbers and maps.
    serde_json::to_vec(chunk).unwrap_or_default()
}

/// The [`Manifest::digest`] of a generation and each document's signature, fed one document
/// at a time in ordinal order.
///
/// A document's signature is the SHA-256 of its chunks' text and provenance, except where in
/// the file they are (byte and line ranges): it changes when the document does, not when an
/// edit earlier in its file moves it. The digest covers everything, places included, and the
/// passage links.
struct Digests {
    hasher: Sha256,
    signatures: BTreeMap<String, String>,
}

impl Digests {
    fn new(model_id: Option<&str>, chunking: &ChunkOptions) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(format!(
            "lore {} format {FORMAT_VERSION} model {} max_tokens {}\n",
            env!("CARGO_PKG_VERSION"),
            model_id.unwrap_or("none"),
            chunking.max_tokens
        ));
        Digests {
            hasher,
            signatures: BTreeMap::new(),
        }
    }

    fn document(&mut self, id: &str, chunks: &[Chunk]) {
        let mut signature = Sha256::new();
        for chunk in chunks {
            self.hasher.update(chunk_bytes(chunk));
            self.hasher.update(b"\n");
            let mut unplaced = chunk.clone();
            unplaced.provenance.byte_range = [0, 0];
            unplaced.provenance.line_range = [0, 0];
            signature.update(chunk_bytes(&unplaced));
        }
        if !chunks.is_empty() {
            self.signatures
                .insert(id.to_string(), to_hex(&signature.finalize()));
        }
    }

    fn finish(mut self, neighbours: &Neighbours) -> (String, BTreeMap<String, String>) {
        self.hasher.update(neighbours.to_bytes());
        (to_hex(&self.hasher.finalize()), self.signatures)
    }
}

/// What [`write_vectors`] did.
struct VectorsWritten {
    /// The model, or `None` for a lexical-only index.
    model: Option<ModelInfo>,
    embedded: usize,
    cached: usize,
    reused: usize,
}

/// Write the vector file: rows with an origin copied from the previous generation, the other
/// chunks (all new ones) embedded, through the embedding cache when there is one.
fn write_vectors(
    settings: &Settings,
    carried: Option<&Carried>,
    documents: &[(String, DocChunks)],
    origins: &[Option<u32>],
    path: &Path,
    progress: &dyn Progress,
    notes: &mut Vec<String>,
) -> Result<VectorsWritten> {
    let mut out = VectorsWritten {
        model: None,
        embedded: 0,
        cached: 0,
        reused: 0,
    };
    let Some(model_id) = &settings.model_id else {
        return Ok(out);
    };
    // The new chunks without a vector to carry, with their ordinals.
    let mut todo: Vec<(u32, &Chunk)> = Vec::new();
    let mut ord = 0u32;
    for (_, chunks) in documents {
        if let DocChunks::New(chunks) = chunks {
            for chunk in chunks {
                if origins[ord as usize].is_none() {
                    todo.push((ord, chunk));
                }
                ord += 1;
            }
        } else {
            ord += chunks.len() as u32;
        }
    }
    // Carried rows need no model: it is loaded (lazily, at that) only for new text.
    let previous = carried
        .and_then(|c| c.vectors.as_ref())
        .filter(|(_, model)| model.id == *model_id);
    let embedder = match (previous, todo.is_empty()) {
        (Some(_), true) => None,
        _ => settings.embedder.create(todo.len())?,
    };
    if let Some(embedder) = &embedder {
        if embedder.model_id() != model_id {
            return Err(Error::Incompatible {
                dir: path.parent().unwrap_or(path).to_path_buf(),
                reason: format!(
                    "the index's vectors come from model {model_id}, the embedder given is {}",
                    embedder.model_id()
                ),
            });
        }
    }
    let dim = match (&embedder, previous) {
        (Some(e), _) => e.dim(),
        (None, Some((_, model))) => model.dim,
        (None, None) => return Err(Error::Model("no embedder for the index's model".into())),
    };
    let mut file = VectorFileWriter::create(path, dim, origins.len())?;

    let num_carried = origins.iter().filter(|o| o.is_some()).count();
    if num_carried > 0 {
        let Some((rows, _)) = previous else {
            return Err(Error::InvalidRequest(
                "no previous vectors to carry over".into(),
            ));
        };
        progress.start("copying vectors", num_carried as u64);
        let mut bytes = vec![0u8; dim * 4];
        let mut row = vec![0f32; dim];
        for (ord, origin) in origins.iter().enumerate() {
            if let Some(from) = origin {
                rows.read_row(*from, &mut bytes, &mut row)?;
                file.write(ord as u32, &row)?;
                progress.advance(1);
            }
        }
        progress.finish();
        out.reused = num_carried;
    }

    match embedder {
        Some(embedder) => {
            progress.start("embedding", todo.len() as u64);
            let cached = settings.cache_root.as_ref().and_then(|root| {
                CachedEmbedder::open(embedder.clone(), root)
                    .map_err(|e| notes.push(format!("the embedding cache is unusable: {e}")))
                    .ok()
            });
            match cached {
                Some(cached) => {
                    embed_all(&cached, &todo, settings.batch_size, progress, &mut file)?;
                    (out.embedded, out.cached) = (cached.num_misses(), cached.num_hits());
                    if let Err(e) = cached.persist() {
                        notes.push(format!("the embedding cache was not updated: {e}"));
                    }
                }
                None => {
                    out.embedded = todo.len();
                    embed_all(
                        embedder.as_ref(),
                        &todo,
                        settings.batch_size,
                        progress,
                        &mut file,
                    )?;
                }
            }
            progress.finish();
            out.model = Some(ModelInfo {
                id: embedder.model_id().to_string(),
                dim,
            });
        }
        None => out.model = previous.map(|(_, model)| model.clone()),
    }
    file.finish()?;
    Ok(out)
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

/// Embed `todo` (chunks with their ordinals) into `out`. Batches are formed from chunks of
/// similar length so that little of the model's work is spent on padding; each vector goes
/// straight to its row on disk.
fn embed_all(
    embedder: &dyn Embedder,
    todo: &[(u32, &Chunk)],
    batch_size: usize,
    progress: &dyn Progress,
    out: &mut VectorFileWriter,
) -> Result<()> {
    let mut order: Vec<(usize, usize)> = todo
        .iter()
        .enumerate()
        .map(|(i, (_, chunk))| (embedding_text(chunk).len(), i))
        .collect();
    order.sort_unstable();
    for batch in order.chunks(batch_size.max(1)) {
        let texts: Vec<String> = batch
            .iter()
            .map(|&(_, i)| embedding_text(todo[i].1))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let embedded = embedder.embed(&refs)?;
        check_count(batch.len(), &embedded)?;
        for (&(_, i), v) in batch.iter().zip(embedded) {
            out.write(todo[i].0, &v)?;
        }
        progress.advance(batch.len() as u64);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_replace_a_foreign_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_replaceable(dir.path()).is_ok());
        // A lore index (generations, pointer, lock, or the files of an older layout) is fine.
        std::fs::create_dir(dir.path().join("gen-000002")).unwrap();
        for name in [
            generation::CURRENT,
            generation::LOCK,
            crate::index::MANIFEST,
        ] {
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
