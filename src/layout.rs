//! The on-disk layout of an index: every file name, the format version and the manifest.
//!
//! This module is the one owner of what an index directory looks like; generation, vector,
//! text and writing code all name files through it.
//!
//! ```text
//! DIR/CURRENT          the name of the current generation, e.g. `gen-000004`
//! DIR/lock             held by the one process writing (see crate::generation)
//! DIR/owner            who made it, for a writer that keeps to its own (`lore demo`)
//! DIR/gen-NNNNNN/      one complete index:
//! ```
//!
//! | file | what |
//! |---|---|
//! | `manifest.json` | format version, model id and dimension, chunking settings, counts |
//! | `skipped.json` | every input that was not indexed, with the reason |
//! | `files.json` | every input file: path, SHA-256, its documents (see `crate::writer`) |
//! | `sources.json` | every file read: path, SHA-256, size and modification time, to tell a cited source changed since (see `crate::stale`) |
//! | `documents.tsv` | every document's id and signature, to tell what the next update changed |
//! | `lexical/` | the tantivy index (one document per chunk, chunk records stored) |
//! | `neighbours.u32` | which chunk each chunk continues (see `crate::neighbours`) |
//! | `vectors.f32` | chunk vectors, little-endian `f32`, row = chunk ordinal |
//! | `hnsw.links` | the links of the HNSW graph over the vectors |
//! | `ledger.json` | the decisions and action items, links resolved (see `crate::memory`) |
//! | `people.json` | the people file's people, and every person name the documents use |
//! | `access.json` | access control: on or off, the access file's policy, each document's readers (see `crate::access`) |

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Version of the on-disk layout; an index of another version is refused.
pub const FORMAT_VERSION: u32 = 5;

/// The file naming the current generation.
pub const CURRENT: &str = "CURRENT";
/// The writer's lock file.
pub const LOCK: &str = "lock";
/// The audit log a server writes beside the generations unless told otherwise (see
/// `serve::audit`); an index directory may hold it.
pub const AUDIT_LOG: &str = "audit.jsonl";
/// Who made the index, when a writer keeps to its own (`lore demo`: see
/// `IndexBuilder::owned_by`).
pub const OWNER: &str = "owner";
/// Prefix of generation directories (`gen-000004`).
pub(crate) const GENERATION_PREFIX: &str = "gen-";

/// What an index is and how it was made ([`Manifest`]).
pub(crate) const MANIFEST: &str = "manifest.json";
/// Every input that was not indexed, with the reason.
pub(crate) const SKIPPED: &str = "skipped.json";
/// The tantivy index.
pub(crate) const LEXICAL_DIR: &str = "lexical";
/// Chunk vectors, row = chunk ordinal.
pub(crate) const VECTORS: &str = "vectors.f32";
/// Every document's id and signature.
pub(crate) const DOCUMENTS: &str = "documents.tsv";
/// Every input file with its documents.
pub(crate) const FILES: &str = "files.json";
/// Every file read, with its hash, size and modification time (see [`crate::stale`]).
pub(crate) const SOURCES: &str = "sources.json";
/// The links of the HNSW graph.
pub(crate) const GRAPH: &str = "hnsw.links";
/// Which chunk each chunk continues.
pub(crate) const NEIGHBOURS: &str = "neighbours.u32";
/// The decision ledger.
pub(crate) const LEDGER: &str = "ledger.json";
/// The people file's people and every person name met.
pub(crate) const PEOPLE: &str = "people.json";
/// Access control: whether it is on, the policy, each document's readers (see
/// [`crate::access`]).
pub(crate) const ACCESS: &str = "access.json";

/// `Some(n)` for a generation directory name `gen-<n>`.
pub(crate) fn generation_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(GENERATION_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The index directory `dir` belongs to: its parent when `dir` is a generation directory
/// (`<index>/gen-NNNNNN`), else `dir` itself (an index written before generations). What a
/// user rebuilds, and so what errors about the whole index name.
pub(crate) fn index_root(dir: &Path) -> &Path {
    let is_generation = dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(generation_number)
        .is_some();
    match dir.parent() {
        Some(parent) if is_generation => parent,
        _ => dir,
    }
}

/// What an index written before generations kept at the top of its directory.
pub(crate) const LEGACY_ENTRIES: [&str; 6] =
    [MANIFEST, SKIPPED, LEXICAL_DIR, NEIGHBOURS, VECTORS, GRAPH];

/// The model an index's vectors were made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model identifier (see [`Embedder::model_id`](crate::Embedder::model_id)).
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
    /// The paths that were indexed, made absolute, in their stored form
    /// ([`crate::path_text`]).
    pub sources: Vec<String>,
    /// The name each folder among `sources` gives the ids of its files (`<name>/<path below
    /// the folder>`): the folder's own name when it was first indexed, kept when the folder is
    /// moved or renamed. Empty in an index written before names were recorded: then each
    /// folder's own name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub root_names: BTreeMap<String, String>,
    /// SHA-256 over everything that decides the index's content: lore and format version,
    /// model id, chunking settings and every chunk record (text and provenance). Two builds
    /// with the same digest hold the same index; see [`IndexBuilder::is_current`](crate::IndexBuilder::is_current).
    #[serde(default)]
    pub digest: Option<String>,
}

impl Manifest {
    /// Read and check the manifest of the index in `dir`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        if !path.is_file() {
            return Err(Error::no_index(dir.to_path_buf()));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::corrupt(&path, format!("not JSON: {e}")))?;
        let version = value.get("format_version").and_then(|v| v.as_u64());
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(Error::incompatible(
                index_root(dir),
                format!(
                    "it has format version {} and this lore reads version {FORMAT_VERSION}",
                    version.map_or("unknown".to_string(), |v| v.to_string())
                ),
            ));
        }
        serde_json::from_value(value).map_err(|e| Error::corrupt(&path, e.to_string()))
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(MANIFEST), self)
    }
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generation_directory_belongs_to_its_parent_index() {
        assert_eq!(
            index_root(Path::new("/srv/acme/gen-000004")),
            Path::new("/srv/acme")
        );
        // An index written before generations, and names that only look alike.
        assert_eq!(index_root(Path::new("/srv/acme")), Path::new("/srv/acme"));
        assert_eq!(
            index_root(Path::new("/srv/gen-latest")),
            Path::new("/srv/gen-latest")
        );
        assert_eq!(generation_number("gen-000012"), Some(12));
        assert_eq!(generation_number("gen-"), None);
    }
}
