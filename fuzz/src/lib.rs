//! What every loader target checks: loading arbitrary bytes as a file of one format never
//! panics, every problem names the file, and every chunk of every document re-derives from the
//! document's source at its recorded byte range (the provenance invariant).

use std::path::Path;

use lore::internals::chunk::chunk_document;
use lore::internals::load::{excerpt, load_bytes};
use lore::ChunkOptions;

/// Load `data` as the file `name` and check the invariants.
pub fn check_loader(name: &str, data: &[u8]) {
    let path = Path::new(name);
    let (documents, skipped) = load_bytes(path, name, data.to_vec());
    for s in &skipped {
        assert_eq!(s.path, path, "a problem names another file");
        assert!(!s.reason.is_empty());
    }
    for options in [ChunkOptions::default(), ChunkOptions { max_tokens: 16 }] {
        for doc in &documents {
            for chunk in chunk_document(doc, &options) {
                let [start, end] = chunk.provenance.byte_range;
                let raw = doc
                    .source
                    .get(start..end)
                    .expect("a chunk's byte range lies inside its source on char boundaries");
                assert_eq!(
                    chunk.text,
                    excerpt(doc.format, raw),
                    "chunk text re-derives"
                );
            }
        }
    }
}
