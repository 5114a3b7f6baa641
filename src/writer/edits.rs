//! [`IndexWriter`]: adding, replacing and removing documents of an index before a commit.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use super::records::{Entry, Previous};
use super::{absolute_inputs, index_dir, EmbedderChoice, MovedRoot, Settings};
use crate::chunk::ChunkOptions;
use crate::embed::{Embedder, EmbeddingCache};
use crate::error::{Error, Result};
use crate::generation::WriterLock;
use crate::layout::Manifest;
use crate::load::{self, LoadOptions};
use crate::model::{content_hash_bytes, Skipped};
use crate::path_text::{from_text, to_text};
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
    /// The name each folder among `sources` gives its files' ids (see
    /// [`Manifest::root_names`]).
    pub(super) root_names: BTreeMap<String, String>,
    /// Folders found moved since the previous generation.
    pub(super) moved: Vec<MovedRoot>,
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
        let (entries, sources, root_names) = match (&mut previous, carry) {
            (Some(p), true) => (
                p.take_entries(),
                p.manifest
                    .as_ref()
                    .map(|m| m.sources.clone())
                    .unwrap_or_default(),
                p.manifest
                    .as_ref()
                    .map(|m| m.root_names.clone())
                    .unwrap_or_default(),
            ),
            (Some(p), false) => {
                p.files = None;
                (BTreeMap::new(), Vec::new(), BTreeMap::new())
            }
            (None, _) => (BTreeMap::new(), Vec::new(), BTreeMap::new()),
        };
        IndexWriter {
            dir,
            lock,
            settings,
            previous,
            carry,
            entries,
            sources,
            root_names,
            moved: Vec::new(),
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
        self.read_paths(&absolute_inputs(paths), false);
    }

    /// Make the index hold exactly what `paths` hold: [`IndexWriter::add_paths`], then remove
    /// every file the walk did not find.
    pub fn sync(&mut self, paths: &[PathBuf]) {
        let roots = absolute_inputs(paths);
        let seen = self.read_paths(&roots, true);
        self.entries.retain(|path, _| seen.contains(path));
        self.sources = roots.iter().map(|p| to_text(p)).collect();
        let sources = &self.sources;
        self.root_names.retain(|root, _| sources.contains(root));
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

    /// The name the folder `root` (absolute) gives its files' ids: the one recorded for it;
    /// for a folder new to the index, the name of the recorded folder it is found to be (moved
    /// or renamed: its entries move with it, see [`MovedRoot`]), else its own name, made unique
    /// among the index's folders (`exports`, `exports-2`, …) so that ids never collide.
    ///
    /// `given` are the folders of this walk. When they replace the recorded ones (`replacing`,
    /// a sync), a recorded folder not given may be taken for `root` even if it still exists (a
    /// copy of the export that replaces it), and only the given folders' names are taken;
    /// when they are added, only a recorded folder that is gone may be, and every recorded
    /// folder's name is taken.
    fn name_root(&mut self, root: &Path, given: &[String], replacing: bool) -> Option<String> {
        if !root.is_dir() {
            return None;
        }
        let text = to_text(root);
        if let Some(name) = self.root_names.get(&text) {
            return Some(name.clone());
        }
        let own = load::root_name(root)?;
        if self.sources.contains(&text) {
            // Recorded by a lore that did not record names: it named the folder so.
            self.root_names.insert(text, own.clone());
            return Some(own);
        }
        if let Some(name) = self.find_moved(root, &own, given, replacing) {
            return Some(name);
        }
        let holds_name = |source: &String, name: &str| {
            *source != text
                && match self.root_names.get(source) {
                    Some(n) => n == name,
                    None => {
                        let path = from_text(source);
                        !path.is_file() && load::root_name(&path).as_deref() == Some(name)
                    }
                }
        };
        let taken = |name: &str| {
            self.sources
                .iter()
                .filter(|s| !replacing || given.contains(s))
                .any(|s| holds_name(s, name))
        };
        let mut name = own.clone();
        let mut n = 2;
        while taken(&name) {
            name = format!("{own}-{n}");
            n += 1;
        }
        self.root_names.insert(text, name.clone());
        Some(name)
    }

    /// The recorded folder that `root` (a folder new to the index, named `own`) is, moved or
    /// renamed: one that is gone (or, when `replacing`, any not `given`) and has the same name,
    /// or half of whose files `root` holds at the same place with the same content. Its
    /// entries, source and name move to `root`; returns the name.
    fn find_moved(
        &mut self,
        root: &Path,
        own: &str,
        given: &[String],
        replacing: bool,
    ) -> Option<String> {
        let gone: Vec<String> = self
            .sources
            .iter()
            .filter(|s| !given.contains(s) && (replacing || !from_text(s).exists()))
            .cloned()
            .collect();
        let mut best: Option<(usize, usize, String)> = None;
        for source in gone {
            let from = from_text(&source);
            let recorded: Vec<(&Path, &str)> = self
                .entries
                .iter()
                .filter(|(path, e)| !e.record.id.is_empty() && path.starts_with(&from))
                .filter_map(|(path, e)| {
                    Some((path.strip_prefix(&from).ok()?, e.record.sha256.as_deref()?))
                })
                .collect();
            if recorded.is_empty() || recorded.iter().all(|(rest, _)| rest.as_os_str().is_empty()) {
                continue; // not a folder (a file given by itself), or nothing recorded in it
            }
            let name = self
                .root_names
                .get(&source)
                .cloned()
                .or_else(|| load::root_name(&from))
                .unwrap_or_default();
            let max_bytes = self.settings.load.max_file_bytes;
            let same = recorded
                .par_iter()
                .filter(|(rest, sha)| {
                    let path = root.join(rest);
                    std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= max_bytes)
                        && std::fs::read(&path).is_ok_and(|b| content_hash_bytes(&b) == *sha)
                })
                .count();
            let found = same > 0 && 2 * same >= recorded.len();
            if (found || name == own) && best.as_ref().is_none_or(|b| same > b.0) {
                best = Some((same, recorded.len(), source));
            }
        }
        let (same, _, source) = best?;
        let from = from_text(&source);
        let name = self
            .root_names
            .remove(&source)
            .or_else(|| load::root_name(&from))?;
        let to = to_text(root);
        let below: Vec<PathBuf> = self
            .entries
            .range(from.clone()..)
            .take_while(|(path, _)| path.starts_with(&from))
            .map(|(path, _)| path.clone())
            .collect();
        let mut num_documents = 0;
        for path in below {
            let Some(mut entry) = self.entries.remove(&path) else {
                continue;
            };
            if entry.record.id.is_empty() {
                continue; // a walk problem: the walk of the new place finds its own
            }
            entry.rehome(&from, root);
            num_documents += entry.record.documents.len();
            self.entries.insert(entry.record.path.clone(), entry);
        }
        for s in &mut self.sources {
            if *s == source {
                s.clone_from(&to);
            }
        }
        self.root_names.insert(to.clone(), name.clone());
        self.moved.push(MovedRoot {
            from: source,
            to,
            name: name.clone(),
            num_documents,
            num_files_same: same,
        });
        Some(name)
    }

    /// Walk `paths` (made absolute) and update the entries; returns every path the walk met.
    pub(super) fn read_paths(&mut self, paths: &[PathBuf], replacing: bool) -> HashSet<PathBuf> {
        let given: Vec<String> = paths.iter().map(|p| to_text(p)).collect();
        let mut names: BTreeMap<PathBuf, String> = BTreeMap::new();
        for p in paths {
            if let Some(name) = self.name_root(p, &given, replacing) {
                names.insert(p.clone(), name);
            }
            let p = to_text(p);
            if !self.sources.contains(&p) {
                self.sources.push(p);
            }
        }
        let (files, walk_skipped) = load::walk_named(paths, &|root| names.get(root).cloned());
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
