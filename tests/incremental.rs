//! Updating an index in place: unchanged files are carried over without the model, changed and
//! new ones are loaded, missing ones removed (or kept), documents removed by id or path, and an
//! update always equals a full build of the same inputs.
//!
//! These tests use the hashing embedder (deterministic, so vectors can be compared bit for bit)
//! wrapped to count what reaches it; `tests/cli.rs` does the same through the binary with the
//! real model.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lore::internals::embed::HashEmbedder;
use lore::ChunkOptions;
use lore::Embedder;
use lore::{Error, Index, IndexBuilder, IndexWriter, Mode, OpenOptions, SearchRequest};

/// The hashing embedder, counting the texts it embeds.
#[derive(Default)]
struct Counting {
    inner: Option<HashEmbedder>,
    texts: AtomicUsize,
}

impl Counting {
    fn new() -> Arc<Self> {
        Arc::new(Counting {
            inner: Some(HashEmbedder::new(64)),
            texts: AtomicUsize::new(0),
        })
    }

    fn take(&self) -> usize {
        self.texts.swap(0, Ordering::SeqCst)
    }
}

impl Embedder for Counting {
    fn model_id(&self) -> &str {
        self.inner.as_ref().unwrap().model_id()
    }
    fn dim(&self) -> usize {
        self.inner.as_ref().unwrap().dim()
    }
    fn embed(&self, texts: &[&str]) -> lore::Result<Vec<Vec<f32>>> {
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        self.inner.as_ref().unwrap().embed(texts)
    }
}

fn builder(dir: &Path, embedder: &Arc<Counting>) -> IndexBuilder {
    IndexBuilder::new(dir)
        .embedder(embedder.clone())
        .embedding_cache(None)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An export of several formats: pages, a decision record, a transcript, and JSONL records of
/// one meeting (which continue each other) plus a record whose id another file repeats.
fn export(root: &Path) {
    for i in 0..5 {
        write(
            &root.join(format!("wiki/page-{i}.md")),
            &format!("# Page {i}\n\nThe facilities team answers request {i} within a day.\n\n## Escalation\n\nAfter two days request {i} goes to the office manager.\n"),
        );
    }
    write(
        &root.join("decisions/0001-vendor-mailbox.md"),
        "# ADR-0001: Shared mailbox for vendor renewals\n\n- Status: Accepted\n- Date: 2025-03-04\n\n## Decision\n\nRenewals go to vendors@ and finance reviews them weekly.\n",
    );
    write(
        &root.join("meetings/standup.vtt"),
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Dana>The reconciliation job moves to 04:30 UTC.\n\n00:00:05.000 --> 00:00:09.000\n<v Lee>Then the billing report lands before nine.\n",
    );
    meeting_records(root, true);
    write(
        &root.join("records/b-other.jsonl"),
        concat!(
            r#"{"id": "shared-record", "title": "Shared", "text": "The second holder of the shared id, left out while the first exists."}"#,
            "\n",
            r#"{"id": "b-own", "title": "Other", "text": "Parking permits are renewed every January."}"#,
            "\n",
        ),
    );
}

/// JSONL records of one meeting (which continue each other), and with `shared` a record whose
/// id `records/b-other.jsonl` repeats.
fn meeting_records(root: &Path, shared: bool) {
    let mut text = concat!(
        r#"{"id": "m1-part1", "title": "Budget sync", "text": "We agreed the Q3 review moves two weeks early."}"#,
        "\n",
        r#"{"id": "m1-part2", "title": "Budget sync", "text": "Priya owns the travel budget from October."}"#,
        "\n",
    )
    .to_string();
    if shared {
        text.push_str(r#"{"id": "shared-record", "title": "Shared", "text": "The first holder of the shared id."}"#);
        text.push('\n');
    }
    write(&root.join("records/a-meeting.jsonl"), &text);
}

/// [`export`] in a temporary folder, indexed: the folder, the export, the index, the
/// embedder (its count reset) and the first build's report.
fn built_export() -> (
    tempfile::TempDir,
    PathBuf,
    PathBuf,
    Arc<Counting>,
    lore::BuildReport,
) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("export");
    export(&src);
    let dir = tmp.path().join("idx");
    let model = Counting::new();
    let first = builder(&dir, &model)
        .build(std::slice::from_ref(&src))
        .unwrap();
    model.take();
    (tmp, src, dir, model, first)
}

/// Everything a generation holds that a reader sees, byte for byte.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let generation = lore::internals::generation::resolve(dir).unwrap();
    let mut out = Vec::new();
    for name in [
        "documents.tsv",
        "skipped.json",
        "files.json",
        "neighbours.u32",
        "vectors.f32",
    ] {
        out.push((
            name.to_string(),
            std::fs::read(generation.join(name)).unwrap(),
        ));
    }
    let mut manifest = lore::Manifest::read(&generation).unwrap();
    manifest.sources.clear();
    out.push(("manifest".into(), serde_json::to_vec(&manifest).unwrap()));
    let index = Index::open(dir).unwrap();
    let chunks: Vec<_> = (0..manifest.counts.chunks as u32)
        .map(|ord| index.chunk(ord).unwrap())
        .collect();
    out.push(("chunks".into(), serde_json::to_vec(&chunks).unwrap()));
    out
}

fn assert_same(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)]) {
    for ((name, x), (_, y)) in a.iter().zip(b) {
        assert!(
            x == y,
            "{name} differs between the update and the full build"
        );
    }
}

fn lexical(dir: &Path, text: &str) -> Vec<String> {
    let index = Index::open_with(
        dir,
        OpenOptions::default().embedder(Arc::new(HashEmbedder::new(64))),
    )
    .unwrap();
    let request = SearchRequest {
        text: text.into(),
        k: 5,
        mode: Mode::Lexical,
        ..SearchRequest::default()
    };
    index
        .search(&request)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.provenance.doc_id)
        .collect()
}

#[test]
fn an_update_embeds_only_changed_text_and_equals_a_full_build() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("export");
    export(&src);
    let dir = tmp.path().join("idx");
    let model = Counting::new();
    let first = builder(&dir, &model)
        .build(std::slice::from_ref(&src))
        .unwrap();
    let all = model.take();
    assert_eq!(all, first.num_chunks);
    assert_eq!(first.num_reused, 0);
    assert!(first.changes.is_none());
    // One record is left out as a duplicate, and said so.
    assert_eq!(first.skipped.len(), 1, "{:?}", first.skipped);
    assert!(first.skipped[0]
        .reason
        .contains("duplicate document id `shared-record`"));

    // Nothing changed: nothing is loaded or embedded, and the index is the same.
    let before = snapshot(&dir);
    let again = builder(&dir, &model)
        .build(std::slice::from_ref(&src))
        .unwrap();
    assert_eq!(model.take(), 0);
    assert_eq!(
        again.num_files_loaded, 1,
        "only the file with a left-out record is re-read"
    );
    assert_eq!(again.num_reused, first.num_chunks);
    let changes = again.changes.unwrap();
    assert!(!changes.any(), "{changes:?}");
    assert_same(&snapshot(&dir), &before);

    // Edit one page, delete another, add one; drop the first holder of the shared id.
    write(
        &src.join("wiki/page-1.md"),
        "# Page 1\n\nThe facilities team now answers request 1 within an hour.\n\n## Escalation\n\nAfter two days request 1 goes to the office manager.\n",
    );
    std::fs::remove_file(src.join("wiki/page-2.md")).unwrap();
    write(
        &src.join("wiki/parking.md"),
        "# Parking\n\nVisitors park in bay C; staff badges open gate 2 after 19:00.\n",
    );
    meeting_records(&src, false);
    let update = builder(&dir, &model)
        .build(std::slice::from_ref(&src))
        .unwrap();
    let changes = update.changes.unwrap();
    // page-1 and shared-record (now from b-other) updated; parking added; page-2 removed.
    assert_eq!(
        (changes.added, changes.updated, changes.removed),
        (1, 2, 1),
        "{changes:?}"
    );
    assert!(update.skipped.is_empty(), "{:?}", update.skipped);
    let embedded = model.take();
    assert!(embedded > 0 && embedded <= 8, "{embedded} chunks embedded");
    assert_eq!(update.num_embedded, embedded);
    assert_eq!(update.num_reused + embedded, update.num_chunks);
    assert_eq!(lexical(&dir, "parking permits renewed January")[0], "b-own");
    assert!(lexical(&dir, "visitors bay gate")
        .first()
        .is_some_and(|id| id.ends_with("wiki/parking.md")));

    // A full build of the same inputs, from nothing, holds exactly the same.
    let fresh = tmp.path().join("fresh");
    builder(&fresh, &model)
        .reuse_index(false)
        .build(std::slice::from_ref(&src))
        .unwrap();
    assert_eq!(model.take(), update.num_chunks);
    assert_same(&snapshot(&dir), &snapshot(&fresh));
    assert!(builder(&dir, &model)
        .is_current(std::slice::from_ref(&src))
        .unwrap());
}

#[test]
fn no_delete_keeps_missing_files_and_rebuild_starts_afresh() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    write(&a.join("one.md"), "# One\n\nThe office closes at six.\n");
    write(&b.join("two.md"), "# Two\n\nThe library opens at nine.\n");
    let dir = tmp.path().join("idx");
    let model = Counting::new();
    builder(&dir, &model)
        .build(std::slice::from_ref(&a))
        .unwrap();
    model.take();

    // Adding b keeps a.
    let added = builder(&dir, &model)
        .keep_missing(true)
        .build(std::slice::from_ref(&b))
        .unwrap();
    assert_eq!(added.num_documents, 2);
    assert_eq!(model.take(), 1);
    let changes = added.changes.unwrap();
    assert_eq!(
        (changes.added, changes.removed, changes.unchanged),
        (1, 0, 1)
    );
    let manifest = Index::open(&dir).unwrap().manifest().clone();
    assert_eq!(manifest.sources.len(), 2, "{:?}", manifest.sources);

    // Without --no-delete the index mirrors what it is given.
    let mirrored = builder(&dir, &model)
        .build(std::slice::from_ref(&b))
        .unwrap();
    assert_eq!(mirrored.num_documents, 1);
    assert_eq!(mirrored.changes.unwrap().removed, 1);
    assert_eq!(model.take(), 0);

    // --rebuild embeds everything again.
    let rebuilt = builder(&dir, &model)
        .reuse_index(false)
        .build(std::slice::from_ref(&b))
        .unwrap();
    assert_eq!((rebuilt.num_reused, model.take()), (0, 1));
}

#[test]
fn other_settings_rebuild_and_refuse_to_add() {
    let (_tmp, src, dir, model, first) = built_export();
    // Without chunk options the index's own are kept: nothing to redo.
    assert!(builder(&dir, &model)
        .is_current(std::slice::from_ref(&src))
        .unwrap());
    let small = ChunkOptions { max_tokens: 16 };
    assert!(!builder(&dir, &model)
        .chunk_options(small)
        .is_current(std::slice::from_ref(&src))
        .unwrap());
    // Adding with other chunking would mix two chunkings: refused, naming why.
    let err = builder(&dir, &model)
        .chunk_options(small)
        .keep_missing(true)
        .build(std::slice::from_ref(&src))
        .unwrap_err();
    assert!(err.to_string().contains("chunked at"), "{err}");
    assert_eq!(model.take(), 0);
    // Mirroring with other chunking reloads everything.
    let rechunked = builder(&dir, &model)
        .chunk_options(small)
        .build(std::slice::from_ref(&src))
        .unwrap();
    assert_eq!(rechunked.num_reused, 0);
    assert!(rechunked.num_chunks > first.num_chunks);
    assert_eq!(
        Index::open(&dir).unwrap().manifest().chunking.max_tokens,
        16
    );
}

#[test]
fn a_writer_adds_updates_and_deletes_by_id_and_path() {
    let (_tmp, src, dir, model, first) = built_export();

    let mut writer = IndexWriter::open(&dir)
        .unwrap()
        .embedder(model.clone())
        .embedding_cache(None);
    // A second writer is refused while this one holds the lock.
    assert!(matches!(
        IndexWriter::open(&dir).unwrap_err(),
        Error::User(lore::UserError::Locked { .. })
    ));
    let before = writer.num_documents();
    // By a folder of ids, by one id, by a path.
    assert_eq!(writer.delete_documents("export/wiki"), 5);
    assert_eq!(writer.delete_documents("m1-part2"), 1);
    assert_eq!(writer.delete_path(src.join("meetings")), 1);
    assert_eq!(writer.delete_documents("no/such/thing"), 0);
    assert_eq!(writer.delete_path("no/such/thing"), 0);
    // An id is not a path, nor a path an id.
    assert_eq!(writer.delete_path("m1-part1"), 0);
    assert_eq!(
        writer.delete_documents(src.join("meetings").to_str().unwrap()),
        0
    );
    // "export/wiki" is not a prefix of "export/wikipedia": ids match by whole segments.
    assert_eq!(writer.delete_documents("export/wik"), 0);
    writer.add_bytes(
        src.join("inbox/note.md"),
        "inbox/note.md",
        b"# Note\n\nThe fire drill is on Thursday at ten.\n".to_vec(),
    );
    assert_eq!(writer.num_documents(), before - 7 + 1);
    let report = writer.commit().unwrap();
    assert_eq!(model.take(), 1, "only the new note is embedded");
    assert_eq!(report.num_documents, first.num_documents - 7 + 1);
    assert_eq!(report.changes.unwrap().removed, 7);
    assert!(lexical(&dir, "facilities request escalation").is_empty());
    assert_eq!(lexical(&dir, "fire drill Thursday")[0], "inbox/note.md");
    assert_eq!(lexical(&dir, "Q3 review two weeks early")[0], "m1-part1");

    // Dropped without a commit: nothing changes, and the lock is free again.
    let digest = Index::open(&dir).unwrap().manifest().digest.clone();
    let mut writer = IndexWriter::open(&dir).unwrap();
    assert_eq!(writer.delete_documents("m1-part1"), 1);
    drop(writer);
    assert_eq!(Index::open(&dir).unwrap().manifest().digest, digest);

    // The next mirror of the export brings back what is still there (not the in-memory note).
    let resynced = builder(&dir, &model)
        .build(std::slice::from_ref(&src))
        .unwrap();
    assert_eq!(resynced.num_documents, first.num_documents);
    assert!(lexical(&dir, "fire drill Thursday").is_empty());
}

#[test]
fn a_writer_needs_an_index_and_a_lexical_index_stays_lexical() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("none");
    assert!(matches!(
        IndexWriter::open(&missing).unwrap_err(),
        Error::User(lore::UserError::NoIndex { .. })
    ));
    let src = tmp.path().join("export");
    export(&src);
    let dir = tmp.path().join("idx");
    IndexBuilder::new(&dir)
        .without_embeddings()
        .build(std::slice::from_ref(&src))
        .unwrap();
    // No model is needed to change a lexical-only index.
    let mut writer = IndexWriter::open(&dir)
        .unwrap()
        .model_dir(PathBuf::from("/nonexistent/model"));
    writer.add_bytes(
        src.join("x.md"),
        "x.md",
        b"# X\n\nThe roof is repaired in May.\n".to_vec(),
    );
    let report = writer.commit().unwrap();
    assert_eq!(report.num_embedded + report.num_reused, 0);
    assert!(Index::open(&dir).unwrap().manifest().model.is_none());
    assert_eq!(lexical(&dir, "roof repaired May")[0], "x.md");
}

#[test]
fn an_edit_early_in_a_file_re_embeds_only_the_edited_record_and_moves_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("export");
    let file = src.join("records.jsonl");
    let records = |second: &str| {
        let texts = [
            "The office closes at six.",
            second,
            "The library opens at nine.",
            "Invoices are paid on the first Monday.",
            "The roof is repaired in May.",
        ];
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!("{{\"id\": \"r{i}\", \"title\": \"Record {i}\", \"text\": \"{t}\"}}\n")
            })
            .collect::<String>()
    };
    write(&file, &records("Badges are renewed yearly."));
    let dir = tmp.path().join("idx");
    let model = Counting::new();
    builder(&dir, &model)
        .build(std::slice::from_ref(&src))
        .unwrap();
    assert_eq!(model.take(), 5);

    // A longer second record moves every record after it within the file.
    write(
        &file,
        &records("Badges are renewed every year in January, at the front desk."),
    );
    let update = builder(&dir, &model)
        .build(std::slice::from_ref(&src))
        .unwrap();
    let changes = update.changes.unwrap();
    assert_eq!(
        (
            changes.added,
            changes.updated,
            changes.removed,
            changes.unchanged
        ),
        (0, 1, 0, 4)
    );
    assert_eq!(model.take(), 1, "only the edited record reaches the model");
    assert_eq!(update.num_reused, 4);
    // The graph keeps carried nodes' links: the edited record is inserted, and any node that
    // lost most of its links to the old version of it.
    assert!(
        (1..5).contains(&update.num_graph_inserted),
        "{} inserted",
        update.num_graph_inserted
    );
    let index = Index::open_with(&dir, OpenOptions::default().embedder(model.clone())).unwrap();
    for (text, id) in [
        ("badges renewed every year January front desk", "r1"),
        ("roof repaired May", "r4"),
        ("office closes six", "r0"),
    ] {
        let request = SearchRequest {
            text: text.into(),
            k: 3,
            mode: Mode::Dense,
            ..SearchRequest::default()
        };
        let hits = index.search(&request).unwrap().hits;
        assert_eq!(hits[0].provenance.doc_id, id, "{text}");
    }
    drop(index);
    model.take();

    // The moved records are cited at their new place.
    let index = Index::open(&dir).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    for ord in 0..index.manifest().counts.chunks as u32 {
        let chunk = index.chunk(ord).unwrap();
        let [start, end] = chunk.provenance.byte_range;
        assert!(
            text[start..end].contains(&chunk.text),
            "{} cites {start}..{end}",
            chunk.id
        );
    }
}
