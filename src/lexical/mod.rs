//! Full-text search with tantivy: the only module that knows tantivy.
//!
//! One tantivy document per chunk. Text fields (`title`, `headings`, `body`) use the `lore_en`
//! analyzer (simple tokenizer, lower-casing, ASCII folding, English stop words, English
//! Snowball stemming) and are scored with BM25. `body` holds the title, the heading path and the
//! chunk text together, so a plain query scores like flat BM25 over the whole passage; `title` and
//! `headings` add a small boost. Filter fields are raw, untokenised terms. The chunk itself (text
//! and provenance) is stored as JSON in `record`.

mod analysis;
mod reader;
mod schema;
mod visible;
mod writer;

#[cfg(test)]
pub use analysis::analyze;
pub use analysis::{analyze_for, query_tokens, Token};
pub use reader::{FieldWeights, LexicalReader};
pub use visible::Visible;
pub use writer::LexicalWriter;

use std::path::Path;

use crate::error::Error;

/// Turns the engine's errors into lore's, naming the full-text index directory: no tantivy
/// type leaves this module.
fn engine(dir: &Path) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
    move |e| Error::lexical(dir, e)
}
