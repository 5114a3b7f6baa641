//! [`IndexBuilder`]: the settings of a build, and whole builds (a new index, or an existing one
//! brought up to date with its inputs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use super::records::{FileRecord, Previous};
use super::{
    absolute_inputs, check_replaceable, index_dir, BuildReport, EmbedderChoice, IndexWriter,
    Settings,
};
use crate::chunk::ChunkOptions;
use crate::embed::{Embedder, EmbeddingCache};
use crate::error::{Error, Result};
use crate::generation::WriterLock;
use crate::load::{self, LoadOptions};
use crate::model::{content_hash_bytes, Skipped};
use crate::progress::{NoProgress, Progress};
use crate::vector::HnswParams;

/// Builds an index directory from files and folders of exports, or brings an existing one up
/// to date with them (see the module documentation).
///
/// ```no_run
/// use lore::IndexBuilder;
/// let report = IndexBuilder::new("/tmp/lore-index").build(&["corpus".into()])?;
/// println!("{} chunks, {} embedded by the model", report.num_chunks, report.num_embedded);
/// # Ok::<(), lore::Error>(())
/// ```
#[derive(Clone)]
pub struct IndexBuilder {
    pub(super) dir: PathBuf,
    pub(super) chunk: Option<ChunkOptions>,
    pub(super) load: LoadOptions,
    pub(super) embedder: EmbedderChoice,
    pub(super) hnsw: HnswParams,
    pub(super) batch_size: usize,
    pub(super) cache_root: Option<PathBuf>,
    pub(super) reuse: bool,
    pub(super) keep_missing: bool,
    pub(super) progress: Arc<dyn Progress>,
    pub(super) people: Option<PathBuf>,
    pub(super) access: Option<PathBuf>,
    pub(super) allow_mass_delete: bool,
    pub(super) owner: Option<String>,
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
            progress: Arc::new(NoProgress),
            people: None,
            access: None,
            allow_mass_delete: false,
            owner: None,
        }
    }

    /// Let [`IndexBuilder::build`] remove any share of the index (`lore index
    /// --allow-mass-delete`). By default a build that would remove more than
    /// [`MASS_DELETE_SHARE`](crate::MASS_DELETE_SHARE) of the index's documents (and more than
    /// [`MASS_DELETE_MIN`](crate::MASS_DELETE_MIN), or all of them), or any document while an
    /// input holds none,
    /// fails with [`UserError::MassDelete`](crate::UserError::MassDelete) and writes nothing.
    pub fn allow_mass_delete(mut self, allow: bool) -> Self {
        self.allow_mass_delete = allow;
        self
    }

    /// Write only to a new or empty directory, which is then marked as `owner`'s, or to an
    /// index marked so (`lore demo` builds with the owner `lore demo`); any other index is
    /// refused with [`UserError::NotOwned`](crate::UserError::NotOwned). A build without an
    /// owner removes the mark: that index is no longer the owner's to write over.
    pub fn owned_by(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
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

    /// Report progress here (default: nowhere, [`NoProgress`]).
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// The chunking this builder uses over `previous`.
    pub(super) fn chunking(&self, previous: Option<&Previous>) -> ChunkOptions {
        self.chunk.unwrap_or_else(|| {
            previous
                .and_then(|p| p.manifest.as_ref())
                .map(|m| ChunkOptions {
                    max_tokens: m.chunking.max_tokens,
                })
                .unwrap_or_default()
        })
    }

    /// Read people and their name variants from this file instead of a `people.yaml`,
    /// `people.yml` or `people.toml` at the root of an input folder (see [`People`](crate::People)).
    pub fn people_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.people = Some(path.into());
        self
    }

    /// Read who may read what from this access file instead of an `access.toml` at the root
    /// of an input folder (see [`AccessPolicy`](crate::AccessPolicy)).
    pub fn access_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.access = Some(path.into());
        self
    }

    /// Open a writer on this builder's directory (creating the index on commit if there is
    /// none), with this builder's settings. Takes the writer lock.
    pub fn writer(&self) -> Result<IndexWriter> {
        let started = Instant::now();
        let dir = index_dir(&self.dir)?;
        check_replaceable(&dir)?;
        // One writer at a time, refused at once (before any work) when another holds the lock.
        let lock = WriterLock::acquire(&dir)?;
        super::guard::claim(&dir, self.owner.as_deref())?;
        let previous = Previous::read(&dir);
        let settings = Settings {
            chunk: self.chunking(previous.as_ref()),
            load: self.load,
            model_id: self.embedder.model_id()?,
            embedder: self.embedder.clone(),
            hnsw: self.hnsw.clone(),
            batch_size: self.batch_size,
            cache_root: self.cache_root.clone(),
            progress: self.progress.clone(),
            people: self.people.clone(),
            access: self.access.clone(),
        };
        let carry = self.reuse && previous.as_ref().is_some_and(|p| p.carries(&settings));
        if self.keep_missing && !carry {
            if let Some(reason) = previous.as_ref().and_then(|p| p.why_not_carried(&settings)) {
                return Err(Error::invalid_request(format!(
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
    ///
    /// Nothing is written when a path does not exist or cannot be read
    /// ([`UserError::InputUnavailable`](crate::UserError::InputUnavailable)), or when the
    /// update would remove too much ([`IndexBuilder::allow_mass_delete`]).
    pub fn build(&self, paths: &[PathBuf]) -> Result<BuildReport> {
        super::guard::check_inputs(paths)?;
        let mut writer = self.writer()?;
        if self.keep_missing {
            writer.add_paths(paths);
        } else {
            writer.sync(paths);
        }
        if !self.allow_mass_delete {
            let roots = if self.keep_missing { &[][..] } else { paths };
            super::guard::check_removals(&writer, roots)?;
        }
        if self.owner.is_none() {
            // Under the lock, once the checks passed: this index is no longer a demo's.
            super::guard::disown(&writer.dir)?;
        }
        writer.commit()
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
        // Each folder named as the index records it (a moved folder is not current).
        let names = previous
            .manifest
            .as_ref()
            .map(|m| m.root_names.clone())
            .unwrap_or_default();
        let (files, walk_skipped) = load::walk_named(&absolute_inputs(paths), &|root| {
            names.get(&crate::path_text::to_text(root)).cloned()
        });
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
