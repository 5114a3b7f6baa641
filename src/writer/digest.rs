//! Change digests: each document's signature (`documents.tsv`), the digest of a whole
//! generation ([`crate::Manifest::digest`]), and what changed between two generations.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chunk::ChunkOptions;
use crate::error::{Error, Result};
use crate::layout::FORMAT_VERSION;
use crate::model::{to_hex, Chunk};
use crate::neighbours::Neighbours;
use crate::path_text::{escape_field, unescape_field};

/// How a build's documents compare with those of the index it replaced, by document id and
/// signature (see `documents.tsv`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// Documents that were not in the index.
    pub added: usize,
    /// Documents whose text or metadata changed (a document that only moved within its file,
    /// because something before it changed, is unchanged).
    pub updated: usize,
    /// Documents no longer in the index.
    pub removed: usize,
    /// Documents exactly as they were.
    pub unchanged: usize,
}

impl Changes {
    pub(super) fn between(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Self {
        let mut changes = Changes::default();
        for (id, signature) in new {
            match old.get(id) {
                None => changes.added += 1,
                Some(before) if before == signature => changes.unchanged += 1,
                Some(_) => changes.updated += 1,
            }
        }
        changes.removed = old.keys().filter(|id| !new.contains_key(*id)).count();
        changes
    }

    /// Did anything change?
    pub fn any(&self) -> bool {
        self.added + self.updated + self.removed > 0
    }
}

/// The first line of `documents.tsv`: the signatures below it leave source paths out, and ids
/// are escaped. A file without it was written before either (its signatures cannot be
/// compared with these).
pub(super) const SIGNATURES_HEADER: &str =
    "# lore documents v2: id (\\ \\t \\n \\r escaped), tab, signature (paths left out)";

/// Document signatures as written by [`write_signatures`]; `None` when absent, unreadable or
/// written by a lore whose signatures were made otherwise.
pub(super) fn read_signatures(path: &Path) -> Option<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != SIGNATURES_HEADER {
        return None;
    }
    lines
        .map(|line| {
            let (id, signature) = line.rsplit_once('\t')?;
            Some((unescape_field(id)?, signature.to_string()))
        })
        .collect()
}

/// A header line ([`SIGNATURES_HEADER`]), then one line per document: its id (escaped, see
/// [`crate::path_text::escape_field`]), a tab, its signature.
pub(super) fn write_signatures(path: &Path, signatures: &BTreeMap<String, String>) -> Result<()> {
    let mut text = String::with_capacity(signatures.len() * 100 + 100);
    text.push_str(SIGNATURES_HEADER);
    text.push('\n');
    for (id, signature) in signatures {
        text.push_str(&escape_field(id));
        text.push('\t');
        text.push_str(signature);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// A chunk as it is hashed for signatures and digests.
pub(super) fn chunk_bytes(chunk: &Chunk) -> Vec<u8> {
    // Serialising a chunk cannot fail: it holds only strings, numbers and maps.
    serde_json::to_vec(chunk).unwrap_or_default()
}

/// The [`Manifest::digest`](crate::Manifest::digest) of a generation and each document's signature, fed one document
/// at a time in ordinal order.
///
/// A document's signature is the SHA-256 of its chunks' text and provenance, except where
/// they are (the source path, byte and line ranges): it changes when the document does, not
/// when an edit earlier in its file moves it, nor when its export folder moves. The digest covers everything, places included, and the
/// passage links.
pub(super) struct Digests {
    pub(super) hasher: Sha256,
    pub(super) signatures: BTreeMap<String, String>,
}

impl Digests {
    pub(super) fn new(model_id: Option<&str>, chunking: &ChunkOptions) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(format!(
            "lore {} format {FORMAT_VERSION} model {} max_tokens {}\n",
            env!("CARGO_PKG_VERSION"),
            model_id.unwrap_or("none"),
            chunking.max_tokens
        ));
        Digests {
            hasher,
            signatures: BTreeMap::new(),
        }
    }

    pub(super) fn document(&mut self, id: &str, chunks: &[Chunk]) {
        let mut signature = Sha256::new();
        for chunk in chunks {
            self.hasher.update(chunk_bytes(chunk));
            self.hasher.update(b"\n");
            let mut unplaced = chunk.clone();
            unplaced.provenance.path.clear();
            unplaced.provenance.byte_range = [0, 0];
            unplaced.provenance.line_range = [0, 0];
            signature.update(chunk_bytes(&unplaced));
        }
        if !chunks.is_empty() {
            self.signatures
                .insert(id.to_string(), to_hex(&signature.finalize()));
        }
    }

    pub(super) fn finish(mut self, neighbours: &Neighbours) -> (String, BTreeMap<String, String>) {
        self.hasher.update(neighbours.to_bytes());
        (to_hex(&self.hasher.finalize()), self.signatures)
    }
}
