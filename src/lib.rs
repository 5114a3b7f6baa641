//! # lore — an organization's memory for AI systems
//!
//! lore indexes an organization's exports — meeting notes, transcripts, wiki pages, decision
//! records, chat — and answers a question with ranked snippets whose provenance points at the
//! exact bytes and lines of the source, so an AI prompt can be grounded and every claim cited.
//!
//! One index holds two views of the same chunks: a full-text view (tantivy, BM25 with English
//! stemming) and a dense view (all-MiniLM-L6-v2 embeddings in an HNSW graph, with an exact flat
//! twin). A search runs either or both and fuses them (reciprocal rank fusion by default).
//!
//! ```no_run
//! use lore::{Filter, Index, IndexBuilder, Mode, NoProgress, SearchRequest};
//!
//! // Build (needs the model: `scripts/fetch-model.sh`).
//! IndexBuilder::new("/tmp/acme-index").build(&["corpus".into()], &NoProgress)?;
//!
//! // Search.
//! let index = Index::open("/tmp/acme-index")?;
//! let response = index.search(&SearchRequest {
//!     text: "who signs off on large vendor contracts?".into(),
//!     k: 5,
//!     mode: Mode::Hybrid,
//!     filters: vec![Filter::Kind("decision".into())],
//!     ..SearchRequest::default()
//! })?;
//! for hit in &response.hits {
//!     let p = &hit.provenance;
//!     println!("{} ({}:{}-{}) {}", p.title, p.path, p.line_range[0], p.line_range[1], hit.snippet.text);
//! }
//! # Ok::<(), lore::Error>(())
//! ```
//!
//! Modules, in dependency order: [`model`] ← [`load`], [`chunk`] ← [`lexical`], [`embed`] →
//! [`vector`] ← [`fuse`] ← [`snippet`] ← [`query`] ← [`index`].
#![deny(missing_docs)]

pub mod chunk;
pub mod embed;
pub mod error;
pub mod eval;
pub mod fuse;
pub mod index;
pub mod lexical;
pub mod load;
pub mod model;
pub mod query;
pub mod snippet;
pub mod vector;

pub use error::{Error, Result};
pub use fuse::Fusion;
pub use index::{BuildReport, Index, IndexBuilder, Manifest, NoProgress, OpenOptions, Progress};
pub use model::{Chunk, Document, Filter, Provenance, Skipped, SourceFormat};
pub use query::{Mode, SearchHit, SearchRequest, SearchResponse};
