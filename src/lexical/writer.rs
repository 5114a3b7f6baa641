//! Writing a new full-text index, one chunk at a time.

use std::path::{Path, PathBuf};

use tantivy::Index;

use super::engine;
use super::schema::{build_schema, path_prefixes, register, Fields};
use crate::error::{Error, Result};
use crate::model::Chunk;

/// Memory the writer may use before flushing a segment.
const WRITER_MEMORY: usize = 128 * 1024 * 1024;

/// Writes a new lexical index.
pub struct LexicalWriter {
    pub(super) writer: tantivy::IndexWriter,
    fields: Fields,
    /// The index directory, named by every error.
    dir: PathBuf,
}

impl LexicalWriter {
    /// Create an empty index in `dir` (created if missing).
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (schema, fields) = build_schema();
        let index = Index::create_in_dir(dir, schema).map_err(engine(dir))?;
        register(&index);
        let writer = index.writer(WRITER_MEMORY).map_err(engine(dir))?;
        Ok(LexicalWriter {
            writer,
            fields,
            dir: dir.to_path_buf(),
        })
    }

    /// Add one chunk under ordinal `ord`.
    pub fn add(&mut self, ord: u32, chunk: &Chunk, readers: &[String]) -> Result<()> {
        let f = &self.fields;
        let p = &chunk.provenance;
        let mut doc = tantivy::TantivyDocument::default();
        doc.add_text(f.chunk_id, &chunk.id);
        doc.add_text(f.doc_id, &p.doc_id);
        doc.add_u64(f.ord, u64::from(ord));
        doc.add_text(f.title, &p.title);
        let headings = p.heading_path.join(" / ");
        doc.add_text(f.headings, &headings);
        doc.add_text(f.body, format!("{}\n{}\n{}", p.title, headings, chunk.text));
        doc.add_text(f.kind, p.kind.to_lowercase());
        doc.add_text(f.format, p.format.as_str());
        let mut prefixes = path_prefixes(&p.doc_id);
        prefixes.extend(path_prefixes(&p.path));
        prefixes.sort();
        prefixes.dedup();
        for prefix in prefixes {
            doc.add_text(f.path, prefix);
        }
        for a in &p.authors {
            doc.add_text(f.author, a.to_lowercase());
        }
        for s in &p.speakers {
            doc.add_text(f.speaker, s.to_lowercase());
        }
        for t in &p.tags {
            doc.add_text(f.tag, t.to_lowercase());
        }
        if let Some(days) = p.date.as_deref().and_then(crate::date::parse_date) {
            doc.add_i64(f.date, days.days());
        }
        for (k, v) in &p.metadata {
            doc.add_text(f.meta, format!("{}={}", k.to_lowercase(), v));
        }
        for r in readers {
            doc.add_text(f.readers, r);
        }
        doc.add_text(f.record, serde_json::to_string(chunk)?);
        self.writer.add_document(doc).map_err(engine(&self.dir))?;
        Ok(())
    }

    /// Commit everything added and wait for merges to finish.
    pub fn commit(mut self) -> Result<()> {
        self.writer.commit().map_err(engine(&self.dir))?;
        self.writer
            .wait_merging_threads()
            .map_err(engine(&self.dir))?;
        Ok(())
    }
}
