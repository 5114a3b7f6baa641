//! What commit and vectors both work on: where each document's chunks are ([`DocChunks`]: new,
//! or ordinals of the previous generation) and the previous generation open for carrying its
//! chunks and vectors over ([`Carried`]).

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;

use super::records::Previous;
use crate::error::{Error, Result};
use crate::layout::{ModelInfo, FILES, LEXICAL_DIR, VECTORS};
use crate::lexical::LexicalReader;
use crate::model::Chunk;
use crate::vector::ExactRows;

/// Where one document's chunks are.
pub(super) enum DocChunks {
    /// These ordinals of the previous generation.
    Previous(Range<u32>),
    /// Here.
    New(Vec<Chunk>),
}

impl DocChunks {
    pub(super) fn len(&self) -> usize {
        match self {
            DocChunks::Previous(range) => range.len(),
            DocChunks::New(chunks) => chunks.len(),
        }
    }
}

/// The previous generation's chunks and vectors, open for carrying over.
pub(super) struct Carried {
    pub(super) dir: PathBuf,
    pub(super) lexical: LexicalReader,
    /// Its vectors (`None` for a lexical-only index).
    pub(super) vectors: Option<(ExactRows, ModelInfo)>,
    pub(super) num_chunks: usize,
    /// Each document's chunk ordinals.
    pub(super) ranges: HashMap<String, Range<u32>>,
}

impl Carried {
    /// Open `previous` for carrying, taking its documents' ordinals.
    pub(super) fn open(previous: &mut Previous) -> Result<Self> {
        let manifest = previous
            .manifest
            .as_ref()
            .ok_or_else(|| Error::no_index(previous.dir.clone()))?;
        let num_chunks = manifest.counts.chunks;
        let vectors = match &manifest.model {
            Some(model) => Some((
                ExactRows::open(&previous.dir.join(VECTORS), model.dim, num_chunks)?,
                model.clone(),
            )),
            None => None,
        };
        Ok(Carried {
            dir: previous.dir.clone(),
            lexical: LexicalReader::open(&previous.dir.join(LEXICAL_DIR))?,
            vectors,
            num_chunks,
            ranges: std::mem::take(&mut previous.ranges),
        })
    }

    /// The chunks with ordinals `range`, checked to belong to document `id`.
    pub(super) fn chunks(&self, id: &str, range: Range<u32>) -> Result<Vec<Chunk>> {
        range
            .map(|ord| {
                let chunk = self.lexical.chunk_by_ord(ord)?;
                if chunk.provenance.doc_id != id {
                    return Err(Error::corrupt(self.dir.join(FILES), format!(
                            "{FILES} puts chunk {ord} in document `{id}`, the full-text index in `{}`",
                            chunk.provenance.doc_id
                        )));
                }
                Ok(chunk)
            })
            .collect()
    }
}
