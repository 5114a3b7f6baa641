//! # lore — an organization's memory for AI systems
//!
//! lore indexes an organization's exports — meeting notes, transcripts, wiki pages, decision
//! records, chat — and answers a question with ranked snippets whose provenance points at the
//! exact bytes and lines of the source, so an AI prompt can be grounded and every claim cited.
//!
//! One index holds two views of the same chunks: a full-text view (tantivy, BM25 with English
//! stemming) and a dense view (all-MiniLM-L6-v2 embeddings in an HNSW graph, with an exact flat
//! twin). A search runs either or both and fuses them (a weighted sum of normalised scores by
//! default); then a passage's neighbours in its meeting, thread or page support it ([`context`]).
//!
//! ```
//! use lore::{Filter, Index, IndexBuilder, Mode, NoProgress, SearchRequest};
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
//! IndexBuilder::new(dir.path()).build(&[exports.path().to_path_buf()], &NoProgress)?;
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
//! commit is atomic ([`writer`], [`generation`]).
//!
//! Modules, in dependency order: [`model`] ← [`load`], [`chunk`] ← [`lexical`], [`embed`] →
//! [`vector`] ← [`fuse`] ← [`context`] ← [`snippet`] ← [`query`] ← [`index`] ← [`writer`].
#![deny(missing_docs)]

pub mod chunk;
pub mod context;
pub mod date;
pub mod embed;
pub mod error;
pub mod eval;
pub mod fuse;
pub mod generation;
pub mod index;
pub mod layout;
pub mod lexical;
pub mod load;
pub mod model;
pub mod progress;
pub mod query;
pub mod search;
pub mod snippet;
pub mod vector;
pub mod writer;

pub use date::Date;
pub use error::{Error, InternalError, Result, UserError};
pub use fuse::Fusion;
pub use index::{Index, OpenOptions};
pub use layout::Manifest;
pub use model::{Chunk, Document, Filter, Provenance, Skipped, SourceFormat};
pub use progress::{NoProgress, Progress};
pub use query::{Mode, RankingOptions, SearchHit, SearchRequest, SearchResponse};
pub use search::{RankedChunk, Ranking};
pub use writer::{BuildReport, Changes, IndexBuilder, IndexWriter};
