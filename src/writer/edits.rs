//! [`IndexWriter`]: adding, replacing and removing documents of an index before a commit.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use super::records::{Entry, Previous};
use super::{absolute_inputs, index_dir, EmbedderChoice, Settings};
use crate::chunk::ChunkOptions;
use crate::embed::{Embedder, EmbeddingCache};
use crate::error::{Error, Result};
use crate::generation::WriterLock;
use crate::layout::Manifest;
use crate::load::{self, LoadOptions};
use crate::model::{content_hash_bytes, Skipped};
use crate::progress::{NoProgress, Progress};
use crate::stale::FileStamp;
use crate::vector::HnswParams;

/// Adds, updates and removes documents of an index, then commits them as one new generation
/// (see the module documentation). Holds the writer lock from open to commit; dropping it
/// without committing leaves the index as it was.
///
/// ```no_run
/// use lore::IndexWriter;
/// let mut writer = IndexWriter::open("/tmp/lore-index")?;
/// writer.add_paths(&["exports/2026-11-26".into()]);
/// let removed = writer.delete_documents("corpus/meetings/2025-01-07-standup.md")
///     + writer.delete_path("exports/2026-11-20");
/// let report = writer.commit()?;
/// println!("removed {removed}, embedded {} chunks", report.num_embedded);
/// # Ok::<(), lore::Error>(())
/// ```
pub struct IndexWriter {
    pub(super) dir: PathBuf,
    pub(super) lock: WriterLock,
    pub(super) settings: Settings,
    pub(super) previous: Option<Previous>,
    /// Whether chunks and vectors may come from `previous`.
    pub(super) carry: bool,
    pub(super) entries: BTreeMap<PathBuf, Entry>,
    pub(super) sources: Vec<String>,
    pub(super) files_loaded: usize,
    pub(super) files_unchanged: usize,
    pub(super) started: Instant,
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
    pub(super) fn new(
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
            return Err(Error::no_index(dir));
        }
        let lock = WriterLock::acquire(&dir)?;
        let previous = Previous::read(&dir).ok_or_else(|| Error::no_index(dir.clone()))?;
        let Some(manifest) = &previous.manifest else {
            // Reading it again names what is wrong with it.
            return Err(Manifest::read(&previous.dir)
                .err()
                .unwrap_or_else(|| Error::no_index(dir.clone())));
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
            progress: Arc::new(NoProgress),
            people: None,
            access: None,
        };
        if let Some(reason) = previous.why_not_carried(&settings) {
            return Err(Error::incompatible(dir, reason));
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

    /// Report progress here (default: nowhere, [`NoProgress`]).
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.settings.progress = progress;
        self
    }

    /// Read people from this file instead of a people file at the root of an input folder.
    pub fn people_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.people = Some(path.into());
        self
    }

    /// Read who may read what from this access file instead of an `access.toml` at the root
    /// of an input folder.
    pub fn access_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.access = Some(path.into());
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
    /// are in the commit's [`BuildReport::skipped`](crate::BuildReport::skipped).
    pub fn add_paths(&mut self, paths: &[PathBuf]) {
        self.read_paths(&absolute_inputs(paths));
    }

    /// Make the index hold exactly what `paths` hold: [`IndexWriter::add_paths`], then remove
    /// every file the walk did not find.
    pub fn sync(&mut self, paths: &[PathBuf]) {
        let roots = absolute_inputs(paths);
        let seen = self.read_paths(&roots);
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

    /// Remove the documents whose id is `id` or starts with `id/` (a folder of ids, e.g.
    /// `corpus/meetings`). Their files stay recorded, so an update that finds a file unchanged
    /// does not bring them back (a changed file is read again whole). Returns how many
    /// documents were removed.
    pub fn delete_documents(&mut self, id: &str) -> usize {
        let prefix = id.trim_end_matches('/');
        if prefix.is_empty() {
            return 0;
        }
        let matches = |id: &str| {
            id == prefix
                || id
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        let mut removed = 0;
        for entry in self.entries.values_mut() {
            let dropped = entry.retain(|doc| !matches(&doc.id));
            entry.record.removed_some |= dropped > 0;
            removed += dropped;
        }
        removed
    }

    /// Remove every document loaded from the file `path`, or from any file below the folder
    /// `path` (relative to the working directory, or absolute), and forget those files.
    /// Returns how many documents were removed.
    pub fn delete_path(&mut self, path: impl AsRef<Path>) -> usize {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return 0;
        }
        let path = path
            .canonicalize()
            .or_else(|_| std::path::absolute(path))
            .unwrap_or_else(|_| path.to_path_buf());
        let mut removed = 0;
        self.entries.retain(|file, entry| {
            if !file.starts_with(&path) {
                return true;
            }
            removed += entry.record.documents.len();
            false
        });
        removed
    }

    /// Walk `paths` (made absolute) and update the entries; returns every path the walk met.
    pub(super) fn read_paths(&mut self, paths: &[PathBuf]) -> HashSet<PathBuf> {
        for p in paths {
            let p = p.display().to_string();
            if !self.sources.contains(&p) {
                self.sources.push(p);
            }
        }
        let (files, walk_skipped) = load::walk(paths);
        let settings = &self.settings;
        let progress = settings.progress.as_ref();
        progress.start("loading", files.len() as u64);
        let entries = &self.entries;
        // `None`: the entry the index holds is still right. The file's size and modification
        // time are taken before its bytes are read: an edit in between then shows as a
        // difference when an answer checks the file (see `crate::stale`), never as no change.
        let updates: Vec<(Option<Entry>, Option<FileStamp>)> = files
            .par_iter()
            .map(|(path, id)| {
                let stamp = FileStamp::read(path).ok();
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
                            (!unchanged).then(|| {
                                let mut entry =
                                    Entry::load(path, id, bytes, sha256, &settings.chunk);
                                entry.record.stamp = stamp;
                                entry
                            })
                        }
                    }
                };
                progress.advance(1);
                (update, stamp)
            })
            .collect();
        progress.finish();
        let mut seen: HashSet<PathBuf> = HashSet::with_capacity(files.len());
        for ((path, _), (update, stamp)) in files.into_iter().zip(updates) {
            match update {
                Some(entry) => {
                    if entry.record.sha256.is_some() {
                        self.files_loaded += 1;
                    }
                    self.entries.insert(path.clone(), entry);
                }
                None => {
                    // Unchanged bytes; the metadata may be new (a touch, a copy).
                    if let Some(entry) = self.entries.get_mut(&path) {
                        entry.record.stamp = stamp;
                    }
                    self.files_unchanged += 1;
                }
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
}
