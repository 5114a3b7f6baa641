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
//! * ids are led by the name the index keeps for each input folder (its name when first read,
//!   [`Manifest::root_names`](crate::Manifest::root_names)). A folder given for the first time
//!   that is a recorded one moved or renamed ([`MovedRoot`] says when) takes over its records:
//!   they move to the new paths before the walk, so its files are carried over as unchanged;
//!   their chunks get the new path as they are copied. A new folder whose name another folder
//!   of the index holds gets `name-2`, `name-3`, …;
//! * [`IndexWriter::delete_documents`] removes documents by id or id folder, and
//!   [`IndexWriter::delete_path`] by file or folder (`lore rm` does both).
//!
//! The new generation is then written whole, streaming: documents in id order, carried chunks
//! read back one document at a time as the text index is written, vectors copied row by row,
//! new chunks embedded. A reloaded document keeps the vector of every chunk whose embedded text
//! the previous generation holds, so only changed text reaches the model, with or without the
//! embedding cache. The vector graph is carried over too: kept nodes keep their links and only
//! new vectors are inserted ([`HnswIndex::update`](crate::vector::HnswIndex::update)), unless more than a fifth of the previous
//! nodes are gone, when it is built afresh. Apart from the graph's links, an update yields
//! exactly the index a full build of the same inputs yields (same [`Manifest::digest`](crate::Manifest::digest)).
//!
//! The phases hold as little at once as they can: vectors go straight to `vectors.f32`, each
//! chunk is dropped once the text index has it, the graph comes last over the vectors alone,
//! and freed memory is handed back to the system between phases (at 100,000 chunks a build
//! peaks under 400 MB, `benches/RESULTS.md`).
//!
//! Carrying needs the previous generation to have been written by this lore version with the
//! same chunking and model; otherwise every file is read afresh (the embedding cache still spares
//! the model the text it has seen).
//!
//! Nothing is lost to a mistake or a fault: a build refuses inputs that do not exist or cannot
//! be read, and an update that would remove more than half the index (or documents of an input
//! that now holds none) unless allowed; a commit that fails removes what it wrote and says
//! whether the disk was full; [`rollback`] makes the generation before the current one current
//! again (`guard`, `rollback`).
//!
//! Its modules: `builder` (settings and whole builds), `edits` (the writer: add, sync, delete),
//! `records` (what `files.json` holds, the generation replaced), `commit` (writing the new
//! generation, carrying chunks), `vectors` (embedding, copying rows, the graph), `digest`
//! (document signatures, the manifest digest, what changed), `guard` (inputs, mass deletes,
//! failed writes, owned indexes) and `rollback`.

mod builder;
mod carried;
mod commit;
mod digest;
mod edits;
mod guard;
mod records;
mod rollback;
mod vectors;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::chunk::ChunkOptions;
use crate::embed::{model_id_in, resolve_model_dir, Embedder, LazyOnnxEmbedder};
use crate::error::{Error, Result};
use crate::generation;
use crate::load::LoadOptions;
use crate::model::Skipped;
use crate::progress::Progress;
use crate::vector::HnswParams;

pub use builder::IndexBuilder;
pub use digest::Changes;
pub use edits::IndexWriter;
pub use guard::{MASS_DELETE_MIN, MASS_DELETE_SHARE};
pub use rollback::{rollback, RolledBack};
pub use vectors::embedding_text;

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
    /// Export folders found moved or renamed since the index last read them, whose documents
    /// were carried over to their new place (see [`MovedRoot`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved_roots: Vec<MovedRoot>,
}

/// An export folder the index recorded at one path and found at another: a folder given for
/// the first time is taken for a recorded one when the recorded one is gone (not a folder any
/// more) and either has the same name or at least half of its files are found in the new
/// folder at the same place with the same content (SHA-256). Its documents keep their ids
/// (led by the folder's first name), their decision-ledger links and their chunks and
/// vectors; only their source paths change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedRoot {
    /// Where the index recorded the folder (stored form, see [`crate::path_text`]).
    pub from: String,
    /// Where it is now.
    pub to: String,
    /// The name that leads its documents' ids, kept from `from`.
    pub name: String,
    /// Documents carried over to the new place.
    pub num_documents: usize,
    /// Files found unchanged at the new place (same path below the folder, same SHA-256).
    pub num_files_same: usize,
}

/// Input paths made absolute: provenance must resolve from any working directory. A path that
/// cannot be resolved is kept as given; loading reports it as skipped.
pub(super) fn absolute_inputs(paths: &[PathBuf]) -> Vec<PathBuf> {
    // `canonicalize` also settles the spelling: `exports`, `./exports/` and `/abs/exports`
    // are one root.
    paths
        .iter()
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .collect()
}

/// Which embedder a build uses.
#[derive(Clone)]
pub(super) enum EmbedderChoice {
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
pub(super) const FEW_TEXTS: usize = 256;

/// The absolute form of an index directory (so that a generation's path is well defined, even
/// for `.`), refusing a root directory.
pub(super) fn index_dir(dir: &Path) -> Result<PathBuf> {
    let dir = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
    if dir.parent().is_none() {
        return Err(Error::invalid_request(format!(
            "{} cannot hold an index; give a directory below it",
            dir.display()
        )));
    }
    Ok(dir)
}

/// Refuse to write into a directory that holds something other than a lore index.
pub(super) fn check_replaceable(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        if !name.to_str().is_some_and(generation::is_own_entry) {
            return Err(Error::invalid_request(format!(
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
pub(super) struct Settings {
    pub(super) chunk: ChunkOptions,
    pub(super) load: LoadOptions,
    pub(super) embedder: EmbedderChoice,
    /// The model the vectors come from (`None`: lexical only).
    pub(super) model_id: Option<String>,
    pub(super) hnsw: HnswParams,
    pub(super) batch_size: usize,
    pub(super) cache_root: Option<PathBuf>,
    /// Where progress is reported.
    pub(super) progress: Arc<dyn Progress>,
    /// The people file (`None`: `people.yaml`/`.yml`/`.toml` at the root of an input folder).
    pub(super) people: Option<PathBuf>,
    /// The access file (`None`: `access.toml` at the root of an input folder).
    pub(super) access: Option<PathBuf>,
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
            crate::layout::CURRENT,
            crate::layout::LOCK,
            crate::layout::MANIFEST,
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
