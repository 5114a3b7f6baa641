//! Loading a whole exported tree: one good file of each format, a broken file of each kind, an
//! unknown extension, ignore files; then the provenance invariant of every chunk, checked against
//! the bytes on disk.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use lore::internals::chunk::chunk_document;
use lore::internals::chunk::estimate_tokens;
use lore::internals::load::excerpt;
use lore::internals::load::is_verbatim;
use lore::internals::load::load_file;
use lore::internals::load::load_paths;
use lore::internals::load::LoadReport;
use lore::internals::model::LineIndex;
use lore::ChunkOptions;
use lore::LoadOptions;
use lore::SourceFormat;

const FILES: &[(&str, &str)] = &[
    (
        "wiki/expenses.md",
        "---
title: Expense policy
date: 2024-02-01
authors: [Dana Reyes]
tags: [finance]
kind: wiki
owner: finance-team
---
# Expense policy

Submit receipts within 30 days.

## Travel

Economy class for flights under six hours. Hotels under $200 per night.

### Approvals

Trips over $5,000 need the CFO's approval.
",
    ),
    ("wiki/broken.md", "---\ntitle: Broken\ntags: [a, b\n---\n# Broken\n\nText.\n"),
    (
        "adr/0004-counsel.md",
        "# ADR-0004: Route contracts over $50K to outside counsel

- Status: Superseded by ADR-0009
- Date: 2024-03-05
- Deciders: Dana Reyes, Omar Haddad
- Supersedes: ADR-0002

## Context

Internal review of large contracts took three weeks on average.

## Decision

Contracts over $50K go to outside counsel.

## Consequences

Legal spend rises; review time drops to days.
",
    ),
    (
        "notes/q3.txt",
        "Q3 planning notes\n\nWe agreed to ship the importer in August.\nSearch speed is the top request.\n\nRisks: hiring, vendor lock-in.\n",
    ),
    ("notes/empty.txt", ""),
    (
        "site/policy.html",
        "<!DOCTYPE html><html><head><title>Travel &amp; Expenses</title><style>h1{}</style></head>
<body><h1>Travel</h1><p>Book economy. Hotels &lt; $200.</p>
<h2>Meals</h2><ul><li>Breakfast: $15</li><li>Dinner: $40</li></ul>
<script>track('<p>no</p>')</script></body></html>
",
    ),
    ("site/blank.html", "<html><head><title>Empty</title></head><body>  </body></html>"),
    (
        "calls/sync.vtt",
        "WEBVTT

NOTE
title: Legal weekly
date: 2024-03-05
meeting_id: LF-12

00:00:01.000 --> 00:00:04.000
<v Dana Reyes>Contracts over fifty thousand go to counsel.

00:00:04.000 --> 00:00:06.500
<v Dana Reyes>Starting next month.

00:00:07.000 --> 00:00:09.000
<v Omar Haddad>Agreed, I'll update the checklist.
",
    ),
    ("calls/noheader.vtt", "00:00:01.000 --> 00:00:02.000\nHello.\n"),
    (
        "calls/standup.srt",
        "1\n00:00:01,000 --> 00:00:03,000\nPriya: The importer is done.\n\n2\n00:00:03,500 --> 00:00:05,000\nOmar: Great, ship it.\n",
    ),
    (
        "calls/broken.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nKept cue.\n\n2\n00:00:03,000 -> 00:00:04,000\nLost cue.\n\n3\n00:00:05,000 --> 00:00:06,000\nAlso kept.\n",
    ),
    (
        "beir/corpus.jsonl",
        r#"{"_id": "4983", "title": "Microstructural development", "text": "Alterations of the architecture of cerebral white matter.\n\nSecond paragraph with caf\u00e9 and \ud83d\ude00.", "metadata": {}}
{"_id": "5836", "title": "", "text": "Induction of myelodysplasia."}
{"_id": "bad", "text": "unterminated
{"_id": "7912", "title": "Empty", "text": "  "}
"#,
    ),
    (
        "slack/legal.jsonl",
        r#"{"channel": "legal", "user": "dana", "ts": "1709632800.000100", "text": "Counsel signed off on the $50K rule."}
{"channel": "legal", "user": "omar", "ts": "1709636400.000200", "thread_ts": "1709632800.000100", "text": "Great \u2014 I'll update the checklist."}
"#,
    ),
    (
        "slack/general/2024-03-05.json",
        "[\n  {\"type\": \"message\", \"user\": \"priya\", \"ts\": \"1709640000.000300\", \"text\": \"Importer shipped!\"}\n]\n",
    ),
    ("slack/general/bad.json", "[\n  {\"user\": \"x\", \"ts\": \"1\",\n"),
    ("misc/diagram.pdf", "%PDF-1.4"),
    ("drafts/secret.md", "# Secret\n\nDo not index.\n"),
    (".loreignore", "drafts/\n"),
    (".gitignore", "*.tmp\n"),
    ("scratch.tmp", "ignored by .gitignore"),
    (".hidden.md", "# Hidden\n\nNot walked.\n"),
];

/// Builds the tree under `<tmp>/corpus` and returns (tempdir, corpus path).
fn tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("corpus");
    for (rel, content) in FILES {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
    }
    std::fs::write(root.join("notes/latin1.txt"), b"caf\xe9 au lait\n").unwrap();
    (dir, root)
}

fn load(root: &Path) -> (LoadReport, usize) {
    let calls = AtomicUsize::new(0);
    let report = load_paths(&[root.to_path_buf()], &LoadOptions::default(), &|_| {
        calls.fetch_add(1, Ordering::Relaxed);
    });
    (report, calls.into_inner())
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn counts_and_ignores() {
    let (_dir, root) = tree();
    let (report, calls) = load(&root);
    // 16 walked files (FILES minus drafts/, the two ignore files, scratch.tmp, .hidden.md) plus
    // latin1.txt.
    assert_eq!(report.num_files, 17);
    assert_eq!(calls, 17);
    assert_eq!(report.num_unsupported, 1);
    let paths: BTreeSet<String> = report
        .documents
        .iter()
        .map(|d| rel(&root, &d.path))
        .chain(report.skipped.iter().map(|s| rel(&root, &s.path)))
        .collect();
    assert!(!paths
        .iter()
        .any(|p| p.contains("drafts") || p.contains("hidden") || p.ends_with(".tmp")));
}

#[test]
fn skipped_reasons_name_paths_and_lines() {
    let (_dir, root) = tree();
    let (report, _) = load(&root);
    let skipped: Vec<(String, Option<usize>, String)> = report
        .skipped
        .iter()
        .map(|s| (rel(&root, &s.path), s.line, s.reason.clone()))
        .collect();
    let find = |path: &str| {
        skipped
            .iter()
            .filter(|s| s.0 == path)
            .cloned()
            .collect::<Vec<_>>()
    };
    let one = |path: &str| {
        let found = find(path);
        assert_eq!(found.len(), 1, "{path}: {skipped:#?}");
        found.into_iter().next().unwrap()
    };

    let md = one("wiki/broken.md");
    assert_eq!(md.1, Some(4));
    assert!(md.2.starts_with("invalid YAML front matter"), "{}", md.2);

    assert_eq!(one("notes/empty.txt").2, "empty file");
    let latin1 = one("notes/latin1.txt");
    assert_eq!(latin1.2, "invalid UTF-8 at byte 3");

    assert_eq!(one("site/blank.html").2, "no text");

    let vtt = one("calls/noheader.vtt");
    assert_eq!((vtt.1, vtt.2.as_str()), (Some(1), "missing WEBVTT header"));
    let srt = one("calls/broken.srt");
    assert_eq!(srt.1, Some(6));
    assert!(srt.2.contains("timing"), "{}", srt.2);

    let beir = find("beir/corpus.jsonl");
    let lines: Vec<Option<usize>> = beir.iter().map(|s| s.1).collect();
    assert_eq!(lines, vec![Some(3), Some(4)], "{beir:#?}");
    assert!(beir[0].2.starts_with("invalid JSON"));
    assert!(beir[1].2.contains("empty"));

    let bad_json = one("slack/general/bad.json");
    assert!(bad_json.1.is_some());

    assert_eq!(one("misc/diagram.pdf").2, "unsupported extension .pdf");

    // Sorted by path.
    let paths: Vec<&String> = skipped.iter().map(|s| &s.0).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}

#[test]
fn documents_ids_metadata_and_order() {
    let (_dir, root) = tree();
    let (report, _) = load(&root);
    let ids: Vec<&str> = report.documents.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "corpus/adr/0004-counsel.md",
            "4983",
            "5836",
            "corpus/calls/broken.srt",
            "corpus/calls/standup.srt",
            "corpus/calls/sync.vtt",
            "corpus/notes/q3.txt",
            "corpus/site/policy.html",
            "general/1709640000.000300",
            "legal/1709632800.000100",
            "legal/1709636400.000200",
            "corpus/wiki/expenses.md",
        ]
    );
    let by_id = |id: &str| report.documents.iter().find(|d| d.id == id).unwrap();
    let formats: Vec<SourceFormat> = report.documents.iter().map(|d| d.format).collect();
    assert_eq!(formats[0], SourceFormat::Decision);
    assert_eq!(formats[1], SourceFormat::Jsonl);
    assert_eq!(formats[3], SourceFormat::Srt);
    assert_eq!(formats[5], SourceFormat::Vtt);
    assert_eq!(formats[6], SourceFormat::Text);
    assert_eq!(formats[7], SourceFormat::Html);
    assert_eq!(formats[8], SourceFormat::Slack);
    assert_eq!(formats[11], SourceFormat::Markdown);

    let adr = by_id("corpus/adr/0004-counsel.md");
    assert_eq!(adr.metadata["superseded_by"], "ADR-0009");
    assert_eq!(adr.metadata["supersedes"], "ADR-0002");
    assert_eq!(adr.authors, vec!["Dana Reyes", "Omar Haddad"]);
    assert_eq!(adr.kind, "decision");

    let wiki = by_id("corpus/wiki/expenses.md");
    assert_eq!(wiki.title, "Expense policy");
    assert_eq!(wiki.kind, "wiki");
    assert_eq!(wiki.metadata["owner"], "finance-team");

    let vtt = by_id("corpus/calls/sync.vtt");
    assert_eq!(vtt.title, "Legal weekly");
    assert_eq!(vtt.metadata["meeting_id"], "LF-12");

    assert_eq!(by_id("5836").title, "5836");
    assert_eq!(
        by_id("legal/1709632800.000100").date.as_deref(),
        Some("2024-03-05")
    );
    assert_eq!(
        by_id("legal/1709636400.000200").metadata["thread"],
        "1709632800.000100"
    );
    assert_eq!(
        by_id("general/1709640000.000300").metadata["channel"],
        "general"
    );
    assert_eq!(by_id("corpus/calls/broken.srt").blocks.len(), 2);

    // Deterministic: the same load twice gives the same documents and problems.
    let (again, _) = load(&root);
    let again_ids: Vec<&str> = again.documents.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, again_ids);
    assert_eq!(report.skipped, again.skipped);
}

#[test]
fn every_chunk_rederives_from_disk_bytes() {
    let (_dir, root) = tree();
    let (report, _) = load(&root);
    let mut num_chunks = 0;
    for doc in &report.documents {
        let bytes = std::fs::read(&doc.path).unwrap();
        let disk = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(disk, &*doc.source);
        let lines = LineIndex::new(disk);
        for block in &doc.blocks {
            let raw = &bytes[block.byte_range.clone()];
            let raw = std::str::from_utf8(raw).unwrap();
            assert!(!excerpt(doc.format, raw).trim().is_empty(), "{}", doc.id);
        }
        for max in [6, 15, 40, 200] {
            let chunks = chunk_document(doc, &ChunkOptions { max_tokens: max });
            assert!(!chunks.is_empty(), "{}", doc.id);
            for chunk in &chunks {
                let p = &chunk.provenance;
                let raw = std::str::from_utf8(&bytes[p.byte_range[0]..p.byte_range[1]]).unwrap();
                assert_eq!(excerpt(p.format, raw), chunk.text, "{}", chunk.id);
                if is_verbatim(p.format) {
                    assert_eq!(raw, chunk.text);
                }
                assert_eq!(
                    p.line_range,
                    lines.lines_of(&(p.byte_range[0]..p.byte_range[1]))
                );
                assert_eq!(p.path, doc.path.to_string_lossy());
                assert_eq!(p.doc_id, doc.id);
                assert!(
                    estimate_tokens(&chunk.text) <= max,
                    "{}: {:?}",
                    chunk.id,
                    chunk.text
                );
                num_chunks += 1;
            }
        }
    }
    assert!(num_chunks > 40);
}

#[test]
fn direct_files_missing_paths_and_size_limit() {
    let (_dir, root) = tree();
    let file = root.join("notes/q3.txt");
    let missing = root.join("nope/missing.md");
    let report = load_paths(
        &[file.clone(), missing.clone()],
        &LoadOptions::default(),
        &|_| {},
    );
    assert_eq!(report.documents.len(), 1);
    assert_eq!(report.documents[0].id, "q3.txt");
    assert_eq!(report.documents[0].title, "Q3 planning notes");
    assert_eq!(report.num_files, 1);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].path, missing);
    assert!(report.skipped[0].reason.starts_with("cannot read"));

    let tiny = LoadOptions { max_file_bytes: 10 };
    let (docs, skipped) = load_file(&file, "q3.txt", &tiny);
    assert!(docs.is_empty());
    assert!(
        skipped[0].reason.contains("over the limit"),
        "{}",
        skipped[0].reason
    );
}

/// A tiny deterministic generator (xorshift), so the test needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Pieces that stress every format's scanner: tags, entities, escapes, surrogates, timing
/// lines, front matter fences, multi-byte characters.
const PIECES: &[&str] = &[
    "word ",
    "Dana: ",
    "<v Omar>",
    "<b>",
    "</p>",
    "<p>",
    "<h2>",
    "</h2>",
    "<script>",
    "&amp;",
    "&#x1F600;",
    "&",
    "<",
    ">",
    "\\u00e9",
    "\\ud83d\\ude00",
    "\\ud83d",
    "\\n\\n",
    "\\\"",
    "\\",
    "\"",
    "-->",
    "00:00:01.000 --> 00:00:02.000\n",
    "00:01,5 --> 00:02,0\n",
    "1\n",
    "NOTE ",
    "WEBVTT\n",
    "\n",
    "\n\n",
    "---\n",
    "# ",
    "## ",
    "Status: ok\n",
    "é",
    "😀",
    "日本",
    ". ",
    "? ",
    "{\"text\": \"",
    "\"}\n",
    "{\"ts\": \"1700000000.1\", \"user\": \"u\", \"text\": \"",
    "[",
    "]",
    ",",
    "title: x\n",
    "- ",
    "```\n",
    "\r\n",
    "\t",
    " ",
];

#[test]
fn arbitrary_inputs_never_panic_and_keep_the_invariant() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let exts = ["md", "txt", "html", "vtt", "srt", "jsonl", "json"];
    for case in 0..400 {
        let ext = exts[case % exts.len()];
        let mut text = String::new();
        if ext == "vtt" && case % 2 == 0 {
            text.push_str("WEBVTT\n\n");
        }
        let n = (rng.next() % 60) as usize;
        for _ in 0..n {
            text.push_str(PIECES[(rng.next() % PIECES.len() as u64) as usize]);
        }
        let path = dir.path().join(format!("case{case}.{ext}"));
        std::fs::write(&path, &text).unwrap();
        let (docs, _) = load_file(&path, "case", &LoadOptions::default());
        for doc in &docs {
            for block in &doc.blocks {
                assert!(
                    doc.source.get(block.byte_range.clone()).is_some(),
                    "{text:?}"
                );
            }
            for max in [1, 3, 10, 200] {
                for chunk in chunk_document(doc, &ChunkOptions { max_tokens: max }) {
                    let [s, e] = chunk.provenance.byte_range;
                    let raw = &doc.source[s..e];
                    assert_eq!(excerpt(doc.format, raw), chunk.text, "{text:?}");
                    if is_verbatim(doc.format) {
                        assert_eq!(raw, chunk.text);
                    }
                }
            }
        }
        for format in [
            SourceFormat::Html,
            SourceFormat::Vtt,
            SourceFormat::Jsonl,
            SourceFormat::Markdown,
        ] {
            let _ = excerpt(format, &text);
        }
    }
}
