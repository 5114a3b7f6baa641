//! Vectors and the graph of a new generation: rows carried from the previous generation,
//! the rest embedded (through the embedding cache), the graph carried over or built.

use std::path::{Path, PathBuf};

use super::carried::{Carried, DocChunks};
use super::Settings;
use crate::embed::{check_count, CachedEmbedder, Embedder};
use crate::error::{Error, Result};
use crate::layout::{index_root, ModelInfo, VECTORS};
use crate::model::Chunk;
use crate::progress::Progress;
use crate::vector::{ExactRows, HnswIndex, HnswParams, RowReader, VectorFileWriter, VectorStore};

/// Fewer changed vectors than one in this many: a graph update reads the rows it needs from
/// disk instead of loading every vector.
pub(super) const FEW_CHANGES: usize = 1_000;

/// Write the graph over the vectors in `dir`: the previous generation's graph (in `previous`,
/// with its number of nodes) carried over when it can be ([`HnswIndex::update`]), else a fresh
/// build. Returns how many nodes were inserted.
pub(super) fn write_graph(
    dir: &Path,
    dim: usize,
    previous: Option<(PathBuf, usize)>,
    origins: &[Option<u32>],
    params: &HnswParams,
    progress: &dyn Progress,
    notes: &mut Vec<String>,
) -> Result<usize> {
    let path = dir.join(VECTORS);
    let n = origins.len();
    let previous = previous
        .filter(|_| origins.iter().any(Option::is_some))
        .and_then(
            |(previous, count)| match HnswIndex::load(&previous, count) {
                Ok(graph) => Some(graph),
                Err(e) => {
                    notes.push(format!("the vector graph was built afresh: {e}"));
                    None
                }
            },
        );
    if let Some(previous) = previous {
        let kept = origins.iter().filter(|o| o.is_some()).count();
        let changed = (n - kept) + previous.len().saturating_sub(kept);
        let updated = if changed * FEW_CHANGES <= n {
            // A few changes: the insertions read the rows they compare with, not all of them.
            let rows = ExactRows::open(&path, dim, n)?;
            let reader = RowReader::new(&rows);
            let updated = HnswIndex::update(&reader, params, &previous, origins, progress);
            reader.finish()?;
            updated
        } else {
            let store = VectorStore::load(&path, dim, n)?;
            HnswIndex::update(&store, params, &previous, origins, progress)
        };
        if let Some((graph, inserted)) = updated {
            graph.save(dir)?;
            return Ok(inserted);
        }
    }
    let store = VectorStore::load(&path, dim, n)?;
    HnswIndex::build_reporting(&store, params, progress).save(dir)?;
    Ok(n)
}

/// What [`write_vectors`] did.
pub(super) struct VectorsWritten {
    /// The model, or `None` for a lexical-only index.
    pub(super) model: Option<ModelInfo>,
    pub(super) embedded: usize,
    pub(super) cached: usize,
    pub(super) reused: usize,
}

/// Write the vector file: rows with an origin copied from the previous generation, the other
/// chunks (all new ones) embedded, through the embedding cache when there is one.
pub(super) fn write_vectors(
    settings: &Settings,
    carried: Option<&Carried>,
    documents: &[(String, DocChunks)],
    origins: &[Option<u32>],
    path: &Path,
    notes: &mut Vec<String>,
) -> Result<VectorsWritten> {
    let progress = settings.progress.as_ref();
    let mut out = VectorsWritten {
        model: None,
        embedded: 0,
        cached: 0,
        reused: 0,
    };
    let Some(model_id) = &settings.model_id else {
        return Ok(out);
    };
    // The new chunks without a vector to carry, with their ordinals.
    let mut todo: Vec<(u32, &Chunk)> = Vec::new();
    let mut ord = 0u32;
    for (_, chunks) in documents {
        if let DocChunks::New(chunks) = chunks {
            for chunk in chunks {
                if origins[ord as usize].is_none() {
                    todo.push((ord, chunk));
                }
                ord += 1;
            }
        } else {
            ord += chunks.len() as u32;
        }
    }
    // Carried rows need no model: it is loaded (lazily, at that) only for new text.
    let previous = carried
        .and_then(|c| c.vectors.as_ref())
        .filter(|(_, model)| model.id == *model_id);
    let embedder = match (previous, todo.is_empty()) {
        (Some(_), true) => None,
        _ => settings.embedder.create(todo.len())?,
    };
    if let Some(embedder) = &embedder {
        if embedder.model_id() != model_id {
            return Err(Error::incompatible(
                index_root(path.parent().unwrap_or(path)),
                format!(
                    "the index's vectors come from model {model_id}, the embedder given is {}",
                    embedder.model_id()
                ),
            ));
        }
    }
    let dim = match (&embedder, previous) {
        (Some(e), _) => e.dim(),
        (None, Some((_, model))) => model.dim,
        (None, None) => return Err(Error::bug("no embedder for the index's model")),
    };
    let mut file = VectorFileWriter::create(path, dim, origins.len())?;

    let num_carried = origins.iter().filter(|o| o.is_some()).count();
    if num_carried > 0 {
        let Some((rows, _)) = previous else {
            return Err(Error::bug("no previous vectors to carry over"));
        };
        progress.start("copying vectors", num_carried as u64);
        let mut bytes = vec![0u8; dim * 4];
        let mut row = vec![0f32; dim];
        for (ord, origin) in origins.iter().enumerate() {
            if let Some(from) = origin {
                rows.read_row(*from, &mut bytes, &mut row)?;
                file.write(ord as u32, &row)?;
                progress.advance(1);
            }
        }
        progress.finish();
        out.reused = num_carried;
    }

    match embedder {
        Some(embedder) => {
            progress.start("embedding", todo.len() as u64);
            let cached = settings.cache_root.as_ref().and_then(|root| {
                CachedEmbedder::open(embedder.clone(), root)
                    .map_err(|e| notes.push(format!("the embedding cache is unusable: {e}")))
                    .ok()
            });
            match cached {
                Some(cached) => {
                    embed_all(&cached, &todo, settings.batch_size, progress, &mut file)?;
                    (out.embedded, out.cached) = (cached.num_misses(), cached.num_hits());
                    if let Err(e) = cached.persist() {
                        notes.push(format!("the embedding cache was not updated: {e}"));
                    }
                }
                None => {
                    out.embedded = todo.len();
                    embed_all(
                        embedder.as_ref(),
                        &todo,
                        settings.batch_size,
                        progress,
                        &mut file,
                    )?;
                }
            }
            progress.finish();
            out.model = Some(ModelInfo {
                id: embedder.model_id().to_string(),
                dim,
            });
        }
        None => out.model = previous.map(|(_, model)| model.clone()),
    }
    file.finish()?;
    Ok(out)
}

/// Embed `todo` (chunks with their ordinals) into `out`. Batches are formed from chunks of
/// similar length so that little of the model's work is spent on padding; each vector goes
/// straight to its row on disk.
pub(super) fn embed_all(
    embedder: &dyn Embedder,
    todo: &[(u32, &Chunk)],
    batch_size: usize,
    progress: &dyn Progress,
    out: &mut VectorFileWriter,
) -> Result<()> {
    let mut order: Vec<(usize, usize)> = todo
        .iter()
        .enumerate()
        .map(|(i, (_, chunk))| (embedding_text(chunk).len(), i))
        .collect();
    order.sort_unstable();
    for batch in order.chunks(batch_size.max(1)) {
        let texts: Vec<String> = batch
            .iter()
            .map(|&(_, i)| embedding_text(todo[i].1))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let embedded = embedder.embed(&refs)?;
        check_count(batch.len(), &embedded)?;
        for (&(_, i), v) in batch.iter().zip(embedded) {
            out.write(todo[i].0, &v)?;
        }
        progress.advance(batch.len() as u64);
    }
    Ok(())
}

/// The text a chunk is embedded as: its title and heading path give the passage its context.
pub fn embedding_text(chunk: &Chunk) -> String {
    let p = &chunk.provenance;
    let mut out = String::with_capacity(chunk.text.len() + 64);
    if !p.title.is_empty() && !chunk.text.starts_with(&format!("# {}", p.title)) {
        out.push_str(&p.title);
        out.push('\n');
    }
    if !p.heading_path.is_empty() {
        out.push_str(&p.heading_path.join(" > "));
        out.push('\n');
    }
    out.push_str(&chunk.text);
    out
}
