//! The tantivy schema: one document per chunk, its text fields, filter fields and stored record.

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::Index;

use super::analysis::analyzer;

/// Name of the analyzer used by the text fields.
pub(super) const ANALYZER: &str = "lore_en";

#[derive(Debug, Clone, Copy)]
pub(super) struct Fields {
    pub(super) chunk_id: Field,
    pub(super) doc_id: Field,
    pub(super) ord: Field,
    pub(super) title: Field,
    pub(super) headings: Field,
    pub(super) body: Field,
    pub(super) kind: Field,
    pub(super) format: Field,
    pub(super) path: Field,
    pub(super) author: Field,
    pub(super) speaker: Field,
    pub(super) tag: Field,
    pub(super) date: Field,
    pub(super) meta: Field,
    /// Reader tokens (`user:…`, `group:…`, `*`, `~default`): see [`crate::access`].
    pub(super) readers: Field,
    pub(super) record: Field,
}

pub(super) fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        chunk_id: b.add_text_field("chunk_id", STRING | STORED),
        doc_id: b.add_text_field("doc_id", STRING | STORED),
        ord: b.add_u64_field("ord", INDEXED | FAST | STORED),
        title: b.add_text_field("title", text.clone()),
        headings: b.add_text_field("headings", text.clone()),
        body: b.add_text_field("body", text),
        kind: b.add_text_field("kind", STRING),
        format: b.add_text_field("format", STRING),
        path: b.add_text_field("path", STRING),
        author: b.add_text_field("author", STRING),
        speaker: b.add_text_field("speaker", STRING),
        tag: b.add_text_field("tag", STRING),
        date: b.add_i64_field("date", INDEXED | FAST),
        meta: b.add_text_field("meta", STRING),
        readers: b.add_text_field("readers", STRING),
        record: b.add_text_field("record", STORED),
    };
    (b.build(), fields)
}

pub(super) fn register(index: &Index) {
    index.tokenizers().register(ANALYZER, analyzer());
}

/// Every directory prefix of a `/`-separated path, with a trailing `/`, plus the path itself.
pub(super) fn path_prefixes(path: &str) -> Vec<String> {
    let path = path.replace('\\', "/");
    let mut out: Vec<String> = path
        .match_indices('/')
        .map(|(i, _)| path[..=i].to_string())
        .filter(|p| p != "/")
        .collect();
    out.push(path.clone());
    out
}

/// Normalise a user-given path prefix to the form stored by [`path_prefixes`].
pub(super) fn normalize_prefix(prefix: &str) -> String {
    let p = prefix.replace('\\', "/");
    let p = p.strip_prefix("./").unwrap_or(&p);
    p.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_prefixes_cover_every_directory() {
        assert_eq!(
            path_prefixes("corpus/wiki/a.md"),
            vec!["corpus/", "corpus/wiki/", "corpus/wiki/a.md"]
        );
    }
}
