//! Committing a writer: the new generation written whole and streaming, carried chunks and
//! vectors read from the previous generation as they are needed, then made current.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;

use super::carried::{Carried, DocChunks};
use super::digest::{read_signatures, write_signatures, Changes, Digests};
use super::records::{Content, Entry, FileRecord, Previous};
use super::vectors::{embedding_text, write_graph, write_vectors};
use super::{BuildReport, IndexWriter};
use crate::access::{find_access_file, AccessBuilder, AccessControl, AccessPolicy};
use crate::error::{Error, Result};
use crate::generation;
use crate::layout::{
    write_json, ChunkingInfo, Counts, Manifest, ACCESS, DOCUMENTS, FILES, FORMAT_VERSION, LEDGER,
    LEXICAL_DIR, NEIGHBOURS, PEOPLE, SKIPPED, SOURCES, VECTORS,
};
use crate::lexical::LexicalWriter;
use crate::load::{channel_key, channel_readers};
use crate::memory::{find_people_file, Ledger, People};
use crate::model::Skipped;
use crate::neighbours::{predecessors, Neighbours};
use crate::stale::SourceRecord;

impl IndexWriter {
    /// Write the new generation and make it current. When that fails, what was written is
    /// removed and the index stays as it was; the error says so, and when the device filled,
    /// it is [`UserError::NoSpace`](crate::UserError::NoSpace) with about how much is needed.
    pub fn commit(self) -> Result<BuildReport> {
        let context = super::guard::WriteContext::of(&self);
        self.write()
            .map_err(|e| super::guard::failed_write(context, e))
    }

    /// [`IndexWriter::commit`], its errors as they come.
    fn write(self) -> Result<BuildReport> {
        let IndexWriter {
            dir: _,
            lock,
            settings,
            previous,
            carry,
            entries,
            sources,
            root_names,
            moved,
            files_loaded,
            files_unchanged,
            started,
        } = self;
        let progress = settings.progress.as_ref();
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
                            crate::path_text::display(&doc.id),
                            crate::path_text::display_path(first)
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
        // Documents carried from a moved folder: their chunks get the new source path.
        let mut rehomed: HashMap<String, String> = HashMap::new();
        for entry in &mut entries {
            if entry.rehomed && matches!(entry.content, Content::Previous(_)) {
                let path = crate::path_text::to_text(&entry.record.path);
                for doc in &entry.record.documents {
                    rehomed.insert(doc.id.clone(), path.clone());
                }
            }
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

        // The access file is read before anything is written: an index must never be written
        // without the access control its file asks for.
        let access_file = find_access(&settings, &sources, previous.as_ref());
        let policy = match &access_file {
            Some(path) => AccessPolicy::read(path)?,
            None => AccessPolicy::default(),
        };
        let channel_readers = channel_readers(&sources)?;

        // Everything goes into a new generation, made current only once it is complete. What
        // is final is written at once and dropped, so that it does not add to the peak below.
        let generation = generation::begin(&lock)?;
        let staging = generation.dir.clone();
        let records: Vec<FileRecord> = entries.into_iter().map(|e| e.record).collect();
        let mut skipped: Vec<Skipped> = records.iter().flat_map(|r| r.skipped.clone()).collect();
        let mut people = match read_people(&settings, &sources, previous.as_ref()) {
            Ok(people) => people,
            Err(problem) => {
                skipped.push(problem);
                People::default()
            }
        };
        let files: Vec<&FileRecord> = records.iter().filter(|r| !r.id.is_empty()).collect();
        let docs = || files.iter().flat_map(|r| &r.documents);
        // Who may read each document: its own readers, else its folder's, else the default.
        let mut access = AccessBuilder::new(policy, access_file);
        for file in &files {
            let path = crate::path_text::to_text(&file.path);
            for doc in &file.documents {
                let members = || {
                    let channel = channel_key(doc.channel.as_deref()?);
                    channel_readers.get(&channel).map(Vec::as_slice)
                };
                access.add(
                    &doc.id,
                    doc.readers.as_deref().or_else(members),
                    &file.id,
                    &path,
                );
            }
        }
        let mut access = access.finish();
        let access_note = access.describe();
        let counts = Counts {
            files: files.len(),
            documents: docs().count(),
            chunks: num_chunks,
            skipped: skipped.len(),
            documents_by_kind: tally(docs().map(|d| d.kind.to_lowercase())),
            documents_by_format: tally(docs().map(|d| d.format.as_str().to_string())),
        };
        let num_unsupported = files.iter().filter(|r| r.unsupported).count();
        let ledger = Ledger::new(docs().flat_map(|d| d.entries.iter().cloned()).collect());
        drop(files);
        write_json(&staging.join(LEDGER), &ledger)?;
        let mut ledger_names: BTreeMap<String, usize> = BTreeMap::new();
        for e in ledger.entries() {
            for name in &e.people {
                *ledger_names.entry(name.clone()).or_insert(0) += 1;
            }
        }
        drop(ledger);
        write_json(&staging.join(SKIPPED), &skipped)?;
        let read: Vec<SourceRecord> = records.iter().filter_map(FileRecord::source).collect();
        write_json(&staging.join(SOURCES), &read)?;
        drop(read);
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

        let mut notes: Vec<String> = access_note.into_iter().collect();
        let embed_started = Instant::now();
        let vectors = write_vectors(
            &settings,
            carried.as_ref(),
            &documents,
            &origins,
            &staging.join(VECTORS),
            &mut notes,
        )?;
        let embed_seconds = embed_started.elapsed().as_secs_f64();
        release_freed_memory();

        // The text next, each chunk dropped once the lexical writer has it, then the graph over
        // the vectors alone.
        progress.start("indexing text", num_chunks as u64);
        let mut writer = LexicalWriter::create(&staging.join(LEXICAL_DIR))?;
        let mut digest = Digests::new(settings.model_id.as_deref(), &settings.chunk);
        let mut seen_names = ledger_names;
        let mut ord = 0u32;
        for (id, chunks) in documents {
            let chunks = match chunks {
                DocChunks::New(chunks) => chunks,
                DocChunks::Previous(range) => {
                    let mut chunks = carried
                        .as_ref()
                        .ok_or_else(|| Error::bug("nothing to carry chunks from"))?
                        .chunks(&id, range)?;
                    if let Some(path) = rehomed.get(&id) {
                        for chunk in &mut chunks {
                            chunk.provenance.path.clone_from(path);
                        }
                    }
                    chunks
                }
            };
            digest.document(&id, &chunks);
            if let Some(first) = chunks.first() {
                access.add_metadata_keys(&id, first.provenance.metadata.keys());
            }
            let n = chunks.len() as u64;
            for chunk in &chunks {
                let p = &chunk.provenance;
                for name in p.authors.iter().chain(&p.speakers) {
                    *seen_names.entry(name.clone()).or_insert(0) += 1;
                }
            }
            let readers = access.readers_of(&id);
            for chunk in chunks {
                writer.add(ord, &chunk, readers)?;
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
        write_json(&staging.join(ACCESS), &access)?;
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
            graph_inserted = write_graph(
                &staging,
                model.dim,
                carried_graph,
                &origins,
                &settings.hnsw,
                progress,
                &mut notes,
            )?;
        }
        drop(origins);

        people.seen = seen_names;
        write_json(&staging.join(PEOPLE), &people)?;

        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            lore_version: env!("CARGO_PKG_VERSION").to_string(),
            model: vectors.model,
            chunking: ChunkingInfo {
                max_tokens: settings.chunk.max_tokens,
            },
            counts: counts.clone(),
            root_names: root_names
                .into_iter()
                .filter(|(root, _)| sources.contains(root))
                .collect(),
            sources,
            digest: Some(digest),
        };
        manifest.write(&staging)?;
        generation::commit(&lock, generation)?;
        notes.extend(generation::clean(&lock)?);

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
            moved_roots: moved,
        })
    }
}

/// The access file: the one set, else `access.toml` at the root of an input folder, else the
/// one the previous generation read.
fn find_access(
    settings: &super::Settings,
    sources: &[String],
    previous: Option<&Previous>,
) -> Option<PathBuf> {
    let previous_file = || {
        let p = previous?;
        let text = std::fs::read_to_string(p.dir.join(ACCESS)).ok()?;
        let access: AccessControl = serde_json::from_str(&text).ok()?;
        access.file
    };
    settings
        .access
        .clone()
        .or_else(|| find_access_file(sources))
        .or_else(previous_file)
}

/// The people file: the one set, else one at the root of an input folder, else the one the
/// previous generation read (an update of an index built with `--people`). A file that cannot
/// be read is reported as skipped, and the index is written without people.
fn read_people(
    settings: &super::Settings,
    sources: &[String],
    previous: Option<&Previous>,
) -> std::result::Result<People, Skipped> {
    let previous_file = || {
        let p = previous?;
        let text = std::fs::read_to_string(p.dir.join(PEOPLE)).ok()?;
        let people: People = serde_json::from_str(&text).ok()?;
        people
            .file
            .map(|f| crate::path_text::from_text(&f))
            .filter(|f| f.is_file())
    };
    let file = settings
        .people
        .clone()
        .or_else(|| find_people_file(sources))
        .or_else(previous_file);
    match file {
        None => Ok(People::default()),
        Some(path) => People::read(&path).map_err(|e| Skipped {
            path: path.clone(),
            line: None,
            reason: e.to_string(),
        }),
    }
}

/// For every chunk of `documents` (in order), its ordinal in the previous generation when its
/// vector can be carried over from there: the document was carried, or it was loaded again and
/// the previous generation holds a chunk of it with the same embedded text (a vector depends on
/// that text alone).
pub(super) fn origins(
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

/// Chunks indexed between two calls of [`release_freed_memory`] while the text is indexed.
pub(super) const RELEASE_EVERY: usize = 10_000;

/// Give the pages of freed allocations back to the system between the phases of a build.
///
/// glibc's allocator keeps freed memory mapped for reuse: the texts of the inputs, freed once
/// chunked, would otherwise stay resident under the vectors and the graph that follow, which
/// are allocated afresh (at 100,000 chunks that was about 100 MB of the build's peak).
pub(super) fn release_freed_memory() {
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

/// Count occurrences.
pub(super) fn tally(items: impl Iterator<Item = String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for item in items {
        *out.entry(item).or_insert(0) += 1;
    }
    out
}
