//! # lore — an organization's memory for AI systems
//!
//! lore indexes an organization's exports — meeting notes, transcripts, wiki pages, decision
//! records, chat — and answers a question with ranked snippets whose provenance points at the
//! exact bytes and lines of the source, so an AI prompt can be grounded and every claim cited.
//!
//! One index holds two views of the same chunks: a full-text view (tantivy, BM25 with English
//! stemming) and a dense view (all-MiniLM-L6-v2 embeddings in an HNSW graph, with an exact flat
//! twin). A search runs either or both and fuses them (a weighted sum of normalised scores by
//! default); then a passage's neighbours in its meeting, thread or page support it (see [`RankingOptions::context_weight`]).
//!
//! ```
//! use lore::{Filter, Index, IndexBuilder, Mode, SearchRequest};
//!
//! // A folder of exports (here: one decision record).
//! let exports = tempfile::tempdir()?;
//! std::fs::write(
//!     exports.path().join("0009-outside-counsel.md"),
//!     "# ADR-0009: Raise the outside counsel threshold to $75K\n\n- Status: Accepted\n\
//!      - Date: 2026-02-10\n- Deciders: Priya Raman\n\n## Decision\n\n\
//!      Contracts over $75K go to Hartwell & Lane; smaller ones are reviewed in-house.\n",
//! )?;
//!
//! // Build an index (uses the model fetched by `scripts/fetch-model.sh`).
//! let dir = tempfile::tempdir()?;
//! IndexBuilder::new(dir.path()).build(&[exports.path().to_path_buf()])?;
//!
//! // Ask it.
//! let index = Index::open(dir.path())?;
//! let response = index.search(&SearchRequest {
//!     text: "who reviews big vendor contracts?".into(),
//!     k: 3,
//!     mode: Mode::Hybrid,
//!     filters: vec![Filter::Kind("decision".into())],
//!     ..SearchRequest::default()
//! })?;
//! let top = &response.hits[0];
//! let p = &top.provenance;
//! println!("{} ({}:{}-{})\n{}", p.title, p.path, p.line_range[0], p.line_range[1], top.snippet.text);
//! assert_eq!(p.metadata["status"], "Accepted");
//! assert!(top.text.contains("Hartwell & Lane"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Run the same build again after the exports change and only what changed is read and
//! embedded; [`IndexWriter`] adds, replaces and removes documents piece by piece, and every
//! commit is atomic: readers see one generation of the index or the next, never a mix.
//!
//! Errors say who must act: [`Error::User`] for what the caller can fix (bad input, a bad
//! request, a missing or stale index, a missing model), [`Error::Internal`] for what broke
//! inside. A search whose query cannot be embedded answers with lexical results and says so in
//! [`SearchResponse::notes`], unless [`SearchRequest::strict`] asks it to fail.
//!
//! ## Modules and the way they depend on each other
//!
//! Each concept lives in one module; dependencies run one way, from the bottom of this map to
//! the top (a module uses only those below it):
//!
//! ```text
//! serve/        (feature `serve`) the operations served to other programs, one Service for every
//!               transport: token budgets, the caller's principal on every call, hot reload of new
//!               generations; http (`lore serve`, axum: routes, host and origin checks, body
//!               deadlines), listen (its connections: limits, header and write deadlines,
//!               bounded shutdown), mcp (`lore mcp`, rmcp) over jsonrpc (stdio lines, every
//!               malformed message answered), auth (tokens file), audit (JSON lines)
//!                                                            → memory, search, index, generation, deadline
//! eval          labelled data sets, metrics, runs, org-memory questions → memory, search, index, query
//! memory/       organizational memory over an index: decisions, who, pack (token-budgeted
//!               context), verify (re-read cited sources), supersede (ranking by the ledger,
//!               which search calls)                      → search, index, query, embed, load, model
//! writer/       build and update (write side): builder, edits, records, commit, vectors, digest,
//!               guard (inputs, mass deletes, full disks, owned indexes), rollback
//!                                                              → index (rollback checks a generation), layout, generation, lexical, vector, embed, chunk, load, neighbours, ledger, access
//! ledger        memory/{ledger, extract, people}: entries and links, finding them in documents,
//!               the people file (the part of memory the writer, index and search use) → load, model, date
//! search        ranking over one open index                   → index, query, fuse, neighbours, snippet, lexical, vector
//! cite          citations for a caller: paths relative to the export roots, ranges withheld in
//!               files read in part                          → index, access
//! index/        open a generation (read side), lazy dense half; scope: a principal's view of
//!               it (readable chunks, their BM25 statistics, the ledger of the readable
//!               documents)                                    → layout, generation, lexical, vector, embed, neighbours, stale, ledger, access
//! stale         is a cited source still what was indexed: one metadata call per cited file per
//!               request, content hash on demand (search, context, decisions, who, verify) → load, model
//! generation    CURRENT + gen-NNNNNN + writer lock            → layout
//! layout        every file name, the format version, the manifest
//! query         SearchRequest / SearchResponse / Ranking types        → snippet, fuse, neighbours, model, date
//! snippet, neighbours, fuse   pure ranking pieces: highlighted windows, passage neighbours, fusion
//! vector/       flat (exact twin), hnsw/ (graph + build), quantized codes
//! embed/        the Embedder trait, the ONNX model, the content-hash cache
//! lexical/      tantivy (the only module that knows it): analysis, schema, writer, reader
//! chunk         Document → Chunks, keeping spans and heading paths → load, model
//! access        principals, readers, the access file, each document's reader tokens → people, load
//! load/         one loader per format → Documents, and the folder walk → model, date
//! model         Document, Chunk, Provenance, Filter, Skipped   → date, path_text
//! path_text     file names as stored (lossless, any bytes), printed (escaped) and in TSV
//! date, error, progress    calendar dates; the error type; progress reporting
//! deadline      a thread's deadline, checked between the stages of an operation → error
//! ```
//!
//! Only [`eval`], [`deadline`], [`path_text`] and `serve` (with the `serve` feature, on by
//! default) are public modules;
//! everything else an application needs is re-exported here.
#![deny(missing_docs)]

mod access;
mod chunk;
mod cite;
mod date;
pub mod deadline;
mod embed;
mod error;
pub mod eval;
mod fuse;
mod generation;
mod index;
mod layout;
mod lexical;
mod load;
mod memory;
mod model;
mod neighbours;
pub mod path_text;
mod progress;
mod query;
mod search;
#[cfg(feature = "serve")]
pub mod serve;
mod snippet;
mod stale;
mod vector;
mod writer;

pub use access::{AccessPolicy, DefaultAccess, FolderRule, Principal};
pub use chunk::ChunkOptions;
pub use cite::{CitationStyle, Citations};
pub use date::Date;
pub use embed::{
    cache_home, Embedder, OnnxEmbedder, QueryPrecision, TokenCounter, TokenizerInfo,
    WHITESPACE_PER_TOKEN,
};
pub use error::{Error, InternalError, Result, UserError};
pub use fuse::{Fusion, DEFAULT_LEXICAL_WEIGHT, DEFAULT_RRF_K};
pub use generation::KEPT_GENERATIONS;
pub use index::{AccessSummary, Readable};
pub use index::{Index, Neighbourhood, OpenOptions};
pub use layout::{ChunkingInfo, Counts, Manifest, ModelInfo, FORMAT_VERSION};
pub use load::LoadOptions;
pub use memory::{
    name_key, normalize_label, ContextPack, ContextRequest, DecisionView, DecisionsRequest,
    DecisionsResponse, Edge, EntryKind, Evidence, EvidenceKind, HistoryStep, Ledger, LedgerEntry,
    Link, PackFormat, Passage, People, Person, RankedPerson, Relation, SourceCheck, SourceStatus,
    Span, Status, StatusAt, StatusFilter, UnresolvedLink, VerifyReport, WhoRequest, WhoResponse,
    DEFAULT_HALF_LIFE_DAYS, DEFAULT_NUM_CANDIDATES, DUPLICATE_JACCARD, MAX_PER_DOCUMENT,
    QUESTION_SHARE,
};
pub use model::{Chunk, Filter, Provenance, Skipped, SourceFormat};
pub use neighbours::DEFAULT_CONTEXT_WEIGHT;
pub use progress::{NoProgress, Progress};
pub use query::{
    parse_filter, DecisionLabel, LexicalScoring, Mode, RankingOptions, RetrieverScore, SearchHit,
    SearchRequest, SearchResponse, FILTER_KEYS,
};
pub use query::{RankedChunk, Ranking};
pub use snippet::Snippet;
pub use stale::{SourceChecker, SourceChecking, Stale};
pub use writer::{
    rollback, BuildReport, Changes, IndexBuilder, IndexWriter, MovedRoot, RolledBack,
    MASS_DELETE_MIN, MASS_DELETE_SHARE,
};

/// lore's internals, for its own benchmarks, fuzz targets and integration tests only: not part
/// of the API, and changed without notice.
#[doc(hidden)]
pub mod internals {
    /// Chunking.
    pub mod chunk {
        pub use crate::chunk::{chunk_document, estimate_tokens};
    }
    /// Embedders and the embedding cache.
    pub mod embed {
        pub use crate::embed::{
            resolve_model_dir, CachedEmbedder, EmbeddingCache, HashEmbedder, MINILM_DIM,
            MODEL_FILES,
        };
    }
    /// Generations.
    pub mod generation {
        pub use crate::generation::{read_current, resolve, WriterLock};
        pub use crate::layout::LOCK;
    }
    /// Text analysis.
    pub mod lexical {
        pub use crate::lexical::{analyze_for, query_tokens};
    }
    /// Loaders.
    pub mod load {
        pub use crate::load::{
            excerpt, is_verbatim, load_bytes, load_file, load_paths, LoadReport,
        };
    }
    /// Organizational memory.
    pub mod memory {
        pub use crate::memory::extract::extract;
    }
    /// Model helpers.
    pub mod model {
        pub use crate::model::{content_hash, content_hash_bytes, Document, LineIndex};
    }
    /// Snippets.
    pub mod snippet {
        pub use crate::snippet::{best_window, query_terms};
    }
    /// Vector stores and graphs.
    pub mod vector {
        pub use crate::vector::{
            dot, synthetic, FlatIndex, HnswIndex, HnswParams, QuantizedStore, VectorIndex,
            VectorStore,
        };
    }
    /// Writing.
    pub mod writer {
        pub use crate::writer::embedding_text;
    }
}
