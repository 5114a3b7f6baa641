//! What a generation records of its inputs (`files.json`: each file's path, hash and
//! documents), the entries a writer keeps per file, and the generation a writer replaces.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Settings;
use crate::access::own_readers;
use crate::chunk::{chunk_document, ChunkOptions};
use crate::generation;
use crate::layout::{Manifest, FILES, MANIFEST};
use crate::load;
use crate::memory::extract::extract;
use crate::memory::LedgerEntry;
use crate::model::{Chunk, Skipped, SourceFormat};
use crate::stale::{FileStamp, SourceRecord};

/// A document as a generation's file record lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct DocRecord {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) kind: String,
    pub(super) format: SourceFormat,
    /// First line of the document in its file.
    pub(super) line: Option<usize>,
    /// Its number of chunks.
    pub(super) chunks: usize,
    /// The decisions and action items it records (links unresolved).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) entries: Vec<LedgerEntry>,
    /// The readers it names itself (front matter or export field `readers`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) readers: Option<Vec<String>>,
    /// The channel of a chat message (its members may read it when the channel is private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) channel: Option<String>,
}

/// One input as a generation records it (`files.json`): a file, or a problem met while walking
/// the folders (then `id` is empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FileRecord {
    /// In its stored form ([`crate::path_text`]), so that any file name is recorded.
    #[serde(with = "crate::path_text::serde_path")]
    pub(super) path: PathBuf,
    /// The id of the file's path-derived documents.
    pub(super) id: String,
    /// SHA-256 of the bytes the documents were loaded from (`None`: not read).
    pub(super) sha256: Option<String>,
    /// The file's size and modification time just before those bytes were read (`None`: bytes
    /// given from memory, or written by an older lore): what an answer compares to tell that a
    /// cited source changed since (see `crate::stale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) stamp: Option<FileStamp>,
    /// Some of its documents were removed ([`IndexWriter::delete_documents`](super::IndexWriter::delete_documents)).
    #[serde(default)]
    pub(super) removed_some: bool,
    /// Some of its documents were left out for an id an earlier file holds. An update reads
    /// such a file again even when unchanged, since the earlier one may have gone.
    #[serde(default)]
    pub(super) duplicates_left_out: bool,
    /// Skipped for its extension.
    pub(super) unsupported: bool,
    /// The documents the index holds from it, in file order.
    pub(super) documents: Vec<DocRecord>,
    /// What in it was not indexed, and why.
    pub(super) skipped: Vec<Skipped>,
}

impl FileRecord {
    /// What `sources.json` records of it: `None` for an input that was not read.
    pub(super) fn source(&self) -> Option<SourceRecord> {
        Some(SourceRecord {
            path: crate::path_text::to_text(&self.path),
            sha256: self.sha256.clone()?,
            stamp: self.stamp,
        })
    }
}

/// Where a file's chunks are.
pub(super) enum Content {
    /// In the previous generation: each document's chunk ordinals there.
    Previous(Vec<Range<u32>>),
    /// Loaded by this writer: each document's chunks.
    New(Vec<Vec<Chunk>>),
}

/// A file (or walk problem) the next generation will account for.
pub(super) struct Entry {
    pub(super) record: FileRecord,
    pub(super) content: Content,
    /// Carried over from a folder that moved: its chunks, read from the previous generation,
    /// get the record's path.
    pub(super) rehomed: bool,
}

impl Entry {
    /// An input with no documents: a walk problem, an unsupported or unreadable file.
    pub(super) fn problem(path: &Path, id: &str, unsupported: bool, skipped: Vec<Skipped>) -> Self {
        Entry {
            record: FileRecord {
                path: path.to_path_buf(),
                id: id.to_string(),
                unsupported,
                skipped,
                ..FileRecord::default()
            },
            content: Content::New(Vec::new()),
            rehomed: false,
        }
    }

    /// Load and chunk a file's bytes.
    pub(super) fn load(
        path: &Path,
        id: &str,
        bytes: Vec<u8>,
        sha256: String,
        chunk: &ChunkOptions,
    ) -> Self {
        let (docs, skipped) = load::load_bytes(path, id, bytes);
        let mut documents = Vec::with_capacity(docs.len());
        let mut chunks = Vec::with_capacity(docs.len());
        for doc in docs {
            let pieces = chunk_document(&doc, chunk);
            let entries = extract(&doc);
            let readers = own_readers(&doc.metadata);
            let channel = match doc.format {
                SourceFormat::Slack => doc.metadata.get("channel").cloned(),
                _ => None,
            };
            documents.push(DocRecord {
                id: doc.id,
                title: doc.title,
                kind: doc.kind,
                format: doc.format,
                line: pieces.first().map(|c| c.provenance.line_range[0]),
                chunks: pieces.len(),
                entries,
                readers,
                channel,
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
            rehomed: false,
        }
    }

    /// Keep the documents for which `keep` holds; returns how many were dropped.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&DocRecord) -> bool) -> usize {
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

    /// Move the entry from below the folder `from` to the same place below `to` (a moved
    /// export folder): its path, the paths of its problems and of its ledger entries.
    pub(super) fn rehome(&mut self, from: &Path, to: &Path) {
        let moved = |p: &Path| p.strip_prefix(from).ok().map(|rest| to.join(rest));
        if let Some(path) = moved(&self.record.path) {
            self.record.path = path;
        }
        for s in &mut self.record.skipped {
            if let Some(path) = moved(&s.path) {
                s.path = path;
            }
        }
        let text = crate::path_text::to_text(&self.record.path);
        for doc in &mut self.record.documents {
            for e in &mut doc.entries {
                e.path.clone_from(&text);
            }
        }
        self.rehomed = true;
    }

    /// Can the record stand for the file when its bytes hash to `sha256` under `id`?
    pub(super) fn vouches_for(&self, id: &str, sha256: &str) -> bool {
        let r = &self.record;
        r.id == id
            && r.sha256.as_deref() == Some(sha256)
            && !r.removed_some
            && !r.duplicates_left_out
    }
}

/// The generation a writer replaces.
pub(super) struct Previous {
    /// Its directory.
    pub(super) dir: PathBuf,
    /// `None` when it cannot be read by this lore (another format version, damage).
    pub(super) manifest: Option<Manifest>,
    /// Its files (`files.json`); `None` for a generation written before files were recorded
    /// (and once [`Previous::take_entries`] took them).
    pub(super) files: Option<Vec<FileRecord>>,
    /// Each document's chunk ordinals, once [`Previous::take_entries`] took the files.
    pub(super) ranges: HashMap<String, Range<u32>>,
}

impl Previous {
    /// The directory of the current generation in `dir`, if there is one.
    pub(super) fn current(dir: &Path) -> Option<PathBuf> {
        let dir = generation::resolve(dir).ok()?;
        dir.join(MANIFEST).is_file().then_some(dir)
    }

    /// The current generation in `dir`, if any.
    pub(super) fn read(dir: &Path) -> Option<Self> {
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

    pub(super) fn model_id(&self) -> Option<&str> {
        self.manifest
            .as_ref()
            .and_then(|m| m.model.as_ref())
            .map(|m| m.id.as_str())
    }

    /// Why its chunks and vectors cannot be carried into a generation made with `settings`.
    pub(super) fn why_not_carried(&self, settings: &Settings) -> Option<String> {
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

    pub(super) fn carries(&self, settings: &Settings) -> bool {
        self.why_not_carried(settings).is_none()
    }

    /// Take its files as entries, each with its documents' chunk ordinals (documents take
    /// ordinals in id order, each its chunks in a row), and keep those ordinals by document
    /// id in `ranges`.
    pub(super) fn take_entries(&mut self) -> BTreeMap<PathBuf, Entry> {
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
                let entry = Entry {
                    record: f,
                    content,
                    rehomed: false,
                };
                (entry.record.path.clone(), entry)
            })
            .collect();
        self.ranges = ranges;
        entries
    }
}
