//! The shipped `corpus/`: it loads without a single skip, every chunk's provenance is exact
//! (re-reading its byte range from the source file gives exactly its text), line ranges agree
//! with byte ranges, and every gold quote of `corpus/questions.jsonl` lies inside one chunk of
//! its file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lore::eval::read_questions;
use lore::internals::chunk::chunk_document;
use lore::internals::load::excerpt;
use lore::internals::load::is_verbatim;
use lore::internals::load::load_paths;
use lore::ChunkOptions;
use lore::LoadOptions;
use lore::{Chunk, SourceFormat};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn corpus_chunks() -> Vec<Chunk> {
    let report = load_paths(&[corpus()], &LoadOptions::default(), &|_| {});
    assert!(report.skipped.is_empty(), "{:#?}", report.skipped);
    assert!(report.num_files >= 40, "{} files", report.num_files);
    report
        .documents
        .iter()
        .flat_map(|d| chunk_document(d, &ChunkOptions::default()))
        .collect()
}

#[test]
fn corpus_has_every_kind_of_document() {
    let report = load_paths(&[corpus()], &LoadOptions::default(), &|_| {});
    let mut formats: HashMap<SourceFormat, usize> = HashMap::new();
    for d in &report.documents {
        *formats.entry(d.format).or_default() += 1;
    }
    for f in [
        SourceFormat::Markdown,
        SourceFormat::Vtt,
        SourceFormat::Decision,
        SourceFormat::Slack,
    ] {
        assert!(
            formats.get(&f).copied().unwrap_or(0) > 0,
            "no {f:?} in {formats:?}"
        );
    }
    let superseded = report
        .documents
        .iter()
        .filter(|d| d.metadata.contains_key("superseded_by"))
        .count();
    assert!(superseded >= 1);
}

#[test]
fn every_corpus_chunk_rereads_exactly_from_its_source_bytes() {
    let chunks = corpus_chunks();
    assert!(chunks.len() > 100);
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    for chunk in &chunks {
        let p = &chunk.provenance;
        let bytes = files
            .entry(p.path.clone())
            .or_insert_with(|| std::fs::read(&p.path).unwrap());
        let [start, end] = p.byte_range;
        let raw = std::str::from_utf8(&bytes[start..end]).unwrap();
        if is_verbatim(p.format) {
            assert_eq!(raw, chunk.text, "{}", chunk.id);
        }
        assert_eq!(excerpt(p.format, raw), chunk.text, "{}", chunk.id);
        // Lines agree with bytes.
        let first_line = bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1;
        let last_line = bytes[..end - 1].iter().filter(|&&b| b == b'\n').count() + 1;
        assert_eq!(p.line_range, [first_line, last_line], "{}", chunk.id);
        assert_eq!(
            p.content_hash,
            lore::internals::model::content_hash(&chunk.text)
        );
    }
}

#[test]
fn every_gold_quote_is_inside_one_chunk_of_its_file() {
    let chunks = corpus_chunks();
    let questions = read_questions(&corpus().join("questions.jsonl")).unwrap();
    assert!(questions.len() >= 30);
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    for q in &questions {
        for gold in &q.gold {
            let found = chunks.iter().any(|c| {
                c.provenance.path.ends_with(&format!("/{}", gold.path))
                    && squash(&c.text).contains(&squash(&gold.quote))
            });
            assert!(
                found,
                "{}: quote not in one chunk of {}: {}",
                q.id, gold.path, gold.quote
            );
        }
    }
}
