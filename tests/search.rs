//! Search on small fixtures with the real model: lexical, dense and hybrid results, filters,
//! determinism, degradation when the query cannot be embedded, and refusal of incompatible
//! indexes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lore::internals::embed::HashEmbedder;
use lore::{
    Error, Filter, Fusion, Index, IndexBuilder, Mode, OpenOptions, RankingOptions, SearchRequest,
};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small organization: notes, a wiki page, a decision, a transcript and chat.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("org");
    write(
        &root,
        "meetings/2026-01-12-legal.md",
        "---\ntitle: Legal sync\ndate: 2026-01-12\nauthors: [Priya Raman]\nkind: meeting-notes\nmeeting_id: LEG-01\n---\n# Legal sync\n\n## Contracts\n\nVendor contracts under $50K are reviewed by Priya Raman in-house. Anything larger goes to Hartwell & Lane, the outside firm.\n\n## Hiring\n\nWe will open two paralegal positions in March.\n",
    );
    write(
        &root,
        "wiki/oncall.md",
        "---\ntitle: On-call handbook\ndate: 2025-09-01\nauthors: [Marco Silva]\nkind: wiki\ntags: [oncall, ops]\n---\n# On-call handbook\n\n## Handoff\n\nThe pager rotates every Monday at 10:00. The outgoing engineer writes a handoff note.\n\n## Escalation\n\nIf the database is down, page the platform lead immediately.\n",
    );
    write(
        &root,
        "decisions/0002-ci.md",
        "# ADR-0002: Move continuous integration from Jenkins to GitHub Actions\n\n- Status: Accepted\n- Date: 2025-11-03\n- Deciders: Marco Silva, Ana Ortiz\n\n## Context\n\nJenkins agents kept failing and nobody wanted to maintain the Groovy pipelines.\n\n## Decision\n\nWe move all builds to GitHub Actions by the end of the quarter.\n\n## Consequences\n\nThe Jenkins server will be shut down in January.\n",
    );
    write(
        &root,
        "meetings/2026-02-02-platform.vtt",
        "WEBVTT\n\nNOTE\ntitle: Platform weekly\ndate: 2026-02-02\nmeeting_id: PLAT-07\n\n00:00:01.000 --> 00:00:05.000\n<v Marco Silva>The billing reconciliation job failed again on Friday night.\n\n00:00:05.000 --> 00:00:09.000\n<v Ana Ortiz>Only Dev Patel really understands that job, we should ask him.\n\n00:00:09.000 --> 00:00:14.000\n<v Marco Silva>Agreed. Let's also add an alert on the nightly run.\n",
    );
    write(
        &root,
        "slack/export.jsonl",
        "{\"channel\": \"#finance\", \"user\": \"Dana Whitfield\", \"ts\": \"1767225600.000100\", \"text\": \"Reminder: the Q3 review always moves two weeks early because of the board meeting.\"}\n{\"channel\": \"#random\", \"user\": \"Tom Okafor\", \"ts\": \"1767229200.000200\", \"text\": \"Pizza in the kitchen at noon!\"}\n",
    );
    dir
}

fn model_index(dir: &Path) -> (PathBuf, Index) {
    let index_dir = dir.join("index");
    IndexBuilder::new(&index_dir)
        .embedding_cache(Some(dir.join("cache")))
        .build(&[dir.join("org")])
        .expect("build with the real model (run scripts/fetch-model.sh)");
    let index = Index::open(&index_dir).unwrap();
    (index_dir, index)
}

/// The fixture indexed without embeddings.
fn lexical_index(dir: &Path) -> Index {
    let index_dir = dir.join("lexical-only");
    IndexBuilder::new(&index_dir)
        .without_embeddings()
        .build(&[dir.join("org")])
        .unwrap();
    Index::open(&index_dir).unwrap()
}

fn request(text: &str, mode: Mode) -> SearchRequest {
    SearchRequest {
        text: text.into(),
        k: 5,
        mode,
        ..SearchRequest::default()
    }
}

fn top_doc(index: &Index, req: &SearchRequest) -> String {
    let response = index.search(req).unwrap();
    assert_eq!(response.mode_used, req.mode, "{:?}", response.notes);
    response.hits[0].provenance.doc_id.clone()
}

#[test]
fn every_mode_finds_the_right_document_and_filters_hold() {
    let dir = fixture();
    let (_, index) = model_index(dir.path());
    assert_eq!(index.manifest().counts.documents, 6);

    // Lexical: exact words.
    assert_eq!(
        top_doc(&index, &request("Jenkins GitHub Actions", Mode::Lexical)),
        "org/decisions/0002-ci.md"
    );
    // Dense: a paraphrase with little word overlap.
    assert_eq!(
        top_doc(
            &index,
            &request(
                "who is the expert on the payments matching batch process",
                Mode::Dense
            )
        ),
        "org/meetings/2026-02-02-platform.vtt"
    );
    // Hybrid.
    let hybrid = index
        .search(&request(
            "which law firm handles big vendor contracts",
            Mode::Hybrid,
        ))
        .unwrap();
    assert_eq!(hybrid.mode_used, Mode::Hybrid);
    assert_eq!(
        hybrid.hits[0].provenance.doc_id,
        "org/meetings/2026-01-12-legal.md"
    );
    let top = &hybrid.hits[0];
    // Words and meaning both point at the Contracts section: each retriever ranks it first
    // (it is the only chunk holding the query's words; by cosine it leads the next chunk, the
    // Hiring section of the same notes, 0.556 to 0.341), and hybrid reports the rank and score
    // each gives it searching alone.
    let alone = |mode| {
        let hits = index
            .search(&SearchRequest {
                k: 50,
                ..request("which law firm handles big vendor contracts", mode)
            })
            .unwrap()
            .hits;
        let hit = hits.into_iter().find(|h| h.chunk_id == top.chunk_id);
        hit.and_then(|h| {
            if mode == Mode::Lexical {
                h.lexical
            } else {
                h.dense
            }
        })
    };
    let (lexical, dense) = (alone(Mode::Lexical), alone(Mode::Dense));
    assert_eq!((top.lexical, top.dense), (lexical, dense));
    assert_eq!(
        (lexical.map(|s| s.rank), dense.map(|s| s.rank)),
        (Some(1), Some(1)),
        "{lexical:?} {dense:?}"
    );
    assert_eq!(
        top.provenance.heading_path.last().map(String::as_str),
        Some("Contracts")
    );
    // The document heading is carried into its first section; front matter is not.
    assert_eq!(top.provenance.line_range, [8, 12]);
    assert!(
        top.text.starts_with("# Legal sync\n\n## Contracts"),
        "{}",
        top.text
    );
    for w in hybrid.hits.windows(2) {
        assert!(w[0].score >= w[1].score);
    }

    // Reciprocal rank fusion is an option.
    let rrf = index
        .search(&SearchRequest {
            ranking: RankingOptions {
                fusion: Fusion::Rrf { k: 60.0 },
                ..RankingOptions::default()
            },
            ..request("which law firm handles big vendor contracts", Mode::Hybrid)
        })
        .unwrap();
    assert_eq!(
        rrf.hits[0].provenance.doc_id,
        "org/meetings/2026-01-12-legal.md"
    );

    // Filters, in every mode.
    for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
        let only = |filters: Vec<Filter>| {
            index
                .search(&SearchRequest {
                    filters,
                    ..request("contracts billing job Jenkins quarter database board", mode)
                })
                .unwrap()
                .hits
        };
        let hits = only(vec![Filter::Kind("decision".into())]);
        assert!(!hits.is_empty() && hits.iter().all(|h| h.provenance.kind == "decision"));
        let hits = only(vec![Filter::Meta {
            key: "meeting_id".into(),
            value: "PLAT-07".into(),
        }]);
        assert!(!hits.is_empty());
        assert!(hits
            .iter()
            .all(|h| h.provenance.doc_id.ends_with("platform.vtt")));
        let hits = only(vec![Filter::Speaker("ana ortiz".into())]);
        assert!(!hits.is_empty());
        assert!(hits
            .iter()
            .all(|h| h.provenance.speakers.iter().any(|s| s == "Ana Ortiz")));
        let hits = only(vec![Filter::Author("Marco Silva".into())]);
        assert!(!hits.is_empty());
        assert!(hits
            .iter()
            .all(|h| h.provenance.authors.iter().any(|a| a == "Marco Silva")));
        let hits = only(vec![Filter::PathPrefix("org/wiki".into())]);
        assert!(!hits.is_empty());
        assert!(hits
            .iter()
            .all(|h| h.provenance.doc_id.starts_with("org/wiki/")));
        let hits = only(vec![Filter::DateRange {
            since: Some("2026-01-01".parse().unwrap()),
            until: Some("2026-01-31".parse().unwrap()),
        }]);
        assert!(!hits.is_empty());
        assert!(hits
            .iter()
            .all(|h| h.provenance.date.as_deref().unwrap().starts_with("2026-01")));
        assert!(only(vec![Filter::Kind("no-such-kind".into())]).is_empty());
    }

    // The same query twice gives identical results.
    let a = serde_json::to_string(&index.search(&request("billing job", Mode::Hybrid)).unwrap())
        .unwrap();
    let b = serde_json::to_string(&index.search(&request("billing job", Mode::Hybrid)).unwrap())
        .unwrap();
    assert_eq!(a, b);

    // Snippets highlight query terms.
    let hit = &index
        .search(&request("paralegal positions", Mode::Lexical))
        .unwrap()
        .hits[0];
    let words: Vec<&str> = hit
        .snippet
        .highlights
        .iter()
        .map(|&[s, e]| &hit.snippet.text[s..e])
        .collect();
    assert!(words.contains(&"paralegal"), "{words:?}");
}

#[test]
fn hybrid_degrades_to_lexical_when_the_query_cannot_be_embedded() {
    let dir = fixture();
    let (index_dir, _) = model_index(dir.path());
    let index = Index::open_with(
        &index_dir,
        OpenOptions::default().model_dir(dir.path().join("no-model")),
    )
    .unwrap();
    let response = index.search(&request("Jenkins", Mode::Hybrid)).unwrap();
    assert_eq!(response.mode_used, Mode::Lexical);
    assert!(
        response.notes[0].contains("could not be embedded"),
        "{:?}",
        response.notes
    );
    assert_eq!(
        response.hits[0].provenance.doc_id,
        "org/decisions/0002-ci.md"
    );
    let err = index.search(&request("Jenkins", Mode::Dense)).unwrap_err();
    assert!(
        matches!(err, Error::User(lore::UserError::ModelMissing { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("scripts/fetch-model.sh"), "{err}");
    // A strict hybrid search fails the same way instead of degrading.
    let strict = SearchRequest {
        strict: true,
        ..request("Jenkins", Mode::Hybrid)
    };
    let err = index.search(&strict).unwrap_err();
    assert!(
        matches!(err, Error::User(lore::UserError::ModelMissing { .. })),
        "{err}"
    );

    // The model arrives while the index is open: the next search uses it (a failed load is
    // not kept, as a long-running server needs).
    std::os::unix::fs::symlink(
        lore::internals::embed::resolve_model_dir(None),
        dir.path().join("no-model"),
    )
    .unwrap();
    let response = index.search(&strict).unwrap();
    assert_eq!(response.mode_used, Mode::Hybrid);
    assert!(response.notes.is_empty(), "{:?}", response.notes);
    assert!(response.hits.iter().any(|h| h.dense.is_some()));
}

#[test]
fn a_strict_hybrid_search_of_a_lexical_only_index_fails() {
    let dir = fixture();
    let index = lexical_index(dir.path());
    let lenient = index.search(&request("Jenkins", Mode::Hybrid)).unwrap();
    assert_eq!(lenient.mode_used, Mode::Lexical);
    let err = index
        .search(&SearchRequest {
            strict: true,
            ..request("Jenkins", Mode::Hybrid)
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::User(lore::UserError::InvalidRequest(_))),
        "{err}"
    );
    assert!(err.to_string().contains("without embeddings"), "{err}");
}

#[test]
fn an_index_of_another_model_or_format_is_refused() {
    let dir = fixture();
    let (index_dir, _) = model_index(dir.path());
    let other = Arc::new(HashEmbedder::new(384));
    let err = Index::open_with(&index_dir, OpenOptions::default().embedder(other)).unwrap_err();
    assert!(
        matches!(err, Error::User(lore::UserError::Incompatible { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("all-MiniLM-L6-v2"), "{err}");

    // A model directory holding other weights (here: another checksum) gets another model id.
    let other_model = dir.path().join("other-model");
    std::fs::create_dir_all(&other_model).unwrap();
    let real_model = lore::internals::embed::resolve_model_dir(None);
    for name in lore::internals::embed::MODEL_FILES {
        std::os::unix::fs::symlink(real_model.join(name), other_model.join(name)).unwrap();
    }
    std::fs::write(other_model.join(".complete"), "0".repeat(64)).unwrap();
    let index =
        Index::open_with(&index_dir, OpenOptions::default().model_dir(&other_model)).unwrap();
    for mode in [Mode::Dense, Mode::Hybrid] {
        let err = index.search(&request("Jenkins", mode)).unwrap_err();
        assert!(
            matches!(err, Error::User(lore::UserError::Incompatible { .. })),
            "{err}"
        );
        assert!(err.to_string().contains("onnx-sha256:0000"), "{err}");
    }
    assert!(index.search(&request("Jenkins", Mode::Lexical)).is_ok());

    let manifest = lore::internals::generation::resolve(&index_dir)
        .unwrap()
        .join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace(
            &format!("\"format_version\": {}", lore::FORMAT_VERSION),
            "\"format_version\": 99",
        ),
    )
    .unwrap();
    let err = Index::open(&index_dir).unwrap_err();
    assert!(
        matches!(err, Error::User(lore::UserError::Incompatible { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("version 99"), "{err}");

    assert!(matches!(
        Index::open(dir.path().join("nothing")),
        Err(Error::User(lore::UserError::NoIndex { .. }))
    ));
}

#[test]
fn lexical_only_index_needs_no_model() {
    let dir = fixture();
    let index_dir = dir.path().join("lex");
    let report = IndexBuilder::new(&index_dir)
        .without_embeddings()
        .build(&[dir.path().join("org")])
        .unwrap();
    assert_eq!(report.num_documents, 6);
    let index = Index::open(&index_dir).unwrap();
    assert!(index.manifest().model.is_none());
    let response = index
        .search(&request("two weeks early board", Mode::Hybrid))
        .unwrap();
    assert_eq!(response.mode_used, Mode::Lexical);
    assert!(response.hits[0].provenance.doc_id.starts_with("#finance/"));
    assert!(index.search(&request("x", Mode::Dense)).is_err());
}

#[test]
fn plumbing_works_with_any_embedder() {
    // The deterministic hashing embedder checks the dense plumbing without the model.
    let dir = fixture();
    let index_dir = dir.path().join("hash");
    let embedder = Arc::new(HashEmbedder::new(64));
    let cache = dir.path().join("cache");
    let build = |reuse: bool| {
        IndexBuilder::new(&index_dir)
            .embedder(embedder.clone())
            .embedding_cache(Some(cache.clone()))
            .reuse_index(reuse)
            .build(&[dir.path().join("org")])
            .unwrap()
    };
    let first = build(true);
    assert_eq!(first.num_cached, 0);
    assert_eq!(first.num_embedded, first.num_chunks);
    // The same text again, rebuilt from nothing: every vector comes from the cache.
    let second = build(false);
    assert_eq!(
        (second.num_embedded, second.num_cached, second.num_reused),
        (0, first.num_chunks, 0)
    );
    // Updated in place: every vector stays where it is.
    let third = build(true);
    assert_eq!(
        (third.num_embedded, third.num_cached, third.num_reused),
        (0, 0, first.num_chunks)
    );
    // Without the cache, everything is embedded.
    let third = IndexBuilder::new(dir.path().join("nocache"))
        .embedder(embedder.clone())
        .embedding_cache(None)
        .build(&[dir.path().join("org")])
        .unwrap();
    assert_eq!(
        (third.num_embedded, third.num_cached),
        (third.num_chunks, 0)
    );
    let index = Index::open_with(&index_dir, OpenOptions::default().embedder(embedder)).unwrap();
    let hits = index
        .search(&request("paralegal positions March", Mode::Dense))
        .unwrap()
        .hits;
    assert_eq!(
        hits[0].provenance.doc_id,
        "org/meetings/2026-01-12-legal.md"
    );
    assert!(hits[0].dense.is_some() && hits[0].lexical.is_none());
    let exact = index
        .dense_search_exact("paralegal positions March", 3)
        .unwrap();
    assert_eq!(exact[0].0, hits[0].chunk_id);
}

#[test]
fn equal_scores_are_ordered_by_chunk_id() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/records.jsonl",
        "{\"id\": \"rec-b\", \"title\": \"Travel\", \"text\": \"Book trains for trips under four hours.\"}\n\
         {\"id\": \"rec-a\", \"title\": \"Travel\", \"text\": \"Book trains for trips under four hours.\"}\n\
         {\"id\": \"rec-c\", \"title\": \"Travel\", \"text\": \"Book trains for trips under four hours.\"}\n",
    );
    let index_dir = dir.path().join("idx");
    IndexBuilder::new(&index_dir)
        .without_embeddings()
        .build(&[dir.path().join("src")])
        .unwrap();
    let index = Index::open(&index_dir).unwrap();
    let hits = index
        .search(&request("trains", Mode::Lexical))
        .unwrap()
        .hits;
    let ids: Vec<&str> = hits.iter().map(|h| h.chunk_id.as_str()).collect();
    assert_eq!(ids, vec!["rec-a#0", "rec-b#0", "rec-c#0"]);
    assert!(hits.windows(2).all(|w| w[0].score == w[1].score));
}

#[test]
fn duplicate_ids_are_skipped_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/a.jsonl",
        "{\"id\": \"1\", \"text\": \"first\"}\n{\"id\": \"2\", \"text\": \"second\"}\n{\"id\": \"1\", \"text\": \"again\"}\n",
    );
    let report = IndexBuilder::new(dir.path().join("idx"))
        .without_embeddings()
        .build(&[dir.path().join("src")])
        .unwrap();
    assert_eq!(report.num_documents, 2);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].line, Some(3));
    assert!(report.skipped[0]
        .reason
        .contains("duplicate document id `1`"));
}

#[test]
fn an_index_of_nothing_is_valid_and_empty() {
    // Every input broken: the index is still written, and says what was skipped.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/bad.md", "---\ntitle: [broken\n---\n# Hi\n");
    let index_dir = dir.path().join("idx");
    let report = IndexBuilder::new(&index_dir)
        .embedder(Arc::new(HashEmbedder::new(8)))
        .embedding_cache(None)
        .build(&[dir.path().join("src")])
        .unwrap();
    assert_eq!(
        (
            report.num_documents,
            report.num_chunks,
            report.skipped.len()
        ),
        (0, 0, 1)
    );
    let index = Index::open_with(
        &index_dir,
        OpenOptions::default().embedder(Arc::new(HashEmbedder::new(8))),
    )
    .unwrap();
    for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
        assert!(index.search(&request("hi", mode)).unwrap().hits.is_empty());
    }
    assert_eq!(index.skipped().unwrap().len(), 1);
}

/// The fixture indexed with a small deterministic embedder (no model, no embedding cache).
fn hash_index(dir: &Path) -> (PathBuf, Arc<HashEmbedder>) {
    let index_dir = dir.join("hash");
    let embedder = Arc::new(HashEmbedder::new(16));
    IndexBuilder::new(&index_dir)
        .embedder(embedder.clone())
        .embedding_cache(None)
        .build(&[dir.join("org")])
        .unwrap();
    (index_dir, embedder)
}

#[test]
fn lexical_search_never_reads_the_vectors() {
    // Vectors and the graph are loaded on the first dense search only: a damaged vectors file
    // breaks dense search with a clear error and leaves lexical search working.
    let dir = fixture();
    let (index_dir, embedder) = hash_index(dir.path());
    let vectors = lore::internals::generation::resolve(&index_dir)
        .unwrap()
        .join("vectors.f32");
    let bytes = std::fs::read(&vectors).unwrap();
    std::fs::write(&vectors, &bytes[..bytes.len() - 4]).unwrap();
    let index = Index::open_with(&index_dir, OpenOptions::default().embedder(embedder)).unwrap();
    let hits = index
        .search(&request("Jenkins", Mode::Lexical))
        .unwrap()
        .hits;
    assert_eq!(hits[0].provenance.doc_id, "org/decisions/0002-ci.md");
    let err = index.search(&request("Jenkins", Mode::Dense)).unwrap_err();
    assert!(
        matches!(err, Error::Internal(lore::InternalError::Corrupt { .. })),
        "{err}"
    );
}

#[test]
fn exact_dense_search_matches_the_flat_scan_and_needs_no_graph() {
    // `lore search` opens the index for exact dense search: the graph is never read (here it
    // is deleted), and the hits are those of the exact scan.
    let dir = fixture();
    let (index_dir, embedder) = hash_index(dir.path());
    let graph = OpenOptions::default().embedder(embedder.clone());
    let with_graph = Index::open_with(&index_dir, graph).unwrap();
    let expected: Vec<String> = with_graph
        .dense_search_exact("billing reconciliation job", 5)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let current = lore::internals::generation::resolve(&index_dir).unwrap();
    std::fs::remove_file(current.join("hnsw.links")).unwrap();
    let exact = OpenOptions::default().embedder(embedder).exact_dense(true);
    let index = Index::open_with(&index_dir, exact).unwrap();
    let got: Vec<String> = index
        .search(&SearchRequest {
            ranking: RankingOptions {
                context_weight: 0.0,
                ..RankingOptions::default()
            },
            ..request("billing reconciliation job", Mode::Dense)
        })
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.chunk_id)
        .collect();
    assert_eq!(got, expected);
    assert!(index.search(&request("Jenkins", Mode::Hybrid)).is_ok());
}

/// A meeting exported as one JSON record per stretch of turns: the stretch right after the one
/// that matches best rises above an unrelated passage that matches a little better on its own.
#[test]
fn a_passage_next_to_the_best_match_is_lifted_by_passage_context() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("org");
    let records = [
        (
            "fin-1",
            "Finance sync",
            "We talked about the garden party and the parking lot.",
        ),
        (
            "fin-2",
            "Finance sync",
            "The Q3 budget review moves two weeks early this year, Dana said.",
        ),
        (
            "fin-3",
            "Finance sync",
            "She will send the new schedule to the board on Monday.",
        ),
        (
            "ops-1",
            "Ops weekly",
            "The schedule of the board games night and the schedule of the review of the kitchen.",
        ),
        ("ops-2", "Ops weekly", "Nothing else came up."),
        ("hr-1", "HR sync", "The board approved the hiring plan."),
    ];
    let jsonl: String = records
        .iter()
        .map(|(id, title, text)| {
            format!(
                "{}\n",
                serde_json::json!({"id": id, "title": title, "text": text})
            )
        })
        .collect();
    write(&root, "meetings.jsonl", &jsonl);
    let index_dir = dir.path().join("index");
    IndexBuilder::new(&index_dir)
        .without_embeddings()
        .build(&[root])
        .unwrap();
    let index = Index::open(&index_dir).unwrap();
    let ranked = |context_weight: f32| -> Vec<String> {
        index
            .search(&SearchRequest {
                ranking: RankingOptions {
                    context_weight,
                    ..RankingOptions::default()
                },
                ..request(
                    "when is the Q3 budget review and its schedule for the board",
                    Mode::Lexical,
                )
            })
            .unwrap()
            .hits
            .iter()
            .map(|h| h.provenance.doc_id.clone())
            .collect()
    };
    let without = ranked(0.0);
    let with = ranked(0.5);
    assert_eq!(without[0], "fin-2", "{without:?}");
    assert_eq!(with[0], "fin-2", "{with:?}");
    let pos = |list: &[String], id: &str| list.iter().position(|d| d == id).unwrap();
    assert!(
        pos(&without, "ops-1") < pos(&without, "fin-3"),
        "{without:?}"
    );
    assert!(pos(&with, "fin-3") < pos(&with, "ops-1"), "{with:?}");
}

#[test]
fn a_hit_is_fetched_again_by_its_chunk_id_with_its_neighbours() {
    let dir = fixture();
    let index = lexical_index(dir.path());
    let hit = index
        .search(&request("paralegal positions", Mode::Lexical))
        .unwrap()
        .hits
        .remove(0);
    assert_eq!(hit.provenance.doc_id, "org/meetings/2026-01-12-legal.md");

    let again = index.chunk_by_id(&hit.chunk_id).unwrap().expect("held");
    assert_eq!(again.id, hit.chunk_id);
    assert_eq!(again.text, hit.text);
    assert_eq!(again.provenance, hit.provenance);

    // The hiring section follows the contracts section of the same meeting notes.
    let around = index
        .neighbours(&hit.chunk_id, 5, 5)
        .unwrap()
        .expect("held");
    assert_eq!(around.chunk.id, hit.chunk_id);
    assert!(!around.before.is_empty());
    assert!(around.before[0].text.contains("Hartwell & Lane"));
    let all: Vec<_> = around
        .before
        .iter()
        .chain([&around.chunk])
        .chain(&around.after)
        .collect();
    for pair in all.windows(2) {
        assert_eq!(pair[0].provenance.doc_id, pair[1].provenance.doc_id);
        assert!(pair[0].provenance.byte_range[1] <= pair[1].provenance.byte_range[0]);
    }
    // Asking for none gives the chunk alone.
    let alone = index.neighbours(&hit.chunk_id, 0, 0).unwrap().unwrap();
    assert!(alone.before.is_empty() && alone.after.is_empty());

    assert!(index.chunk_by_id("org/no-such-doc.md#0").unwrap().is_none());
    assert!(index
        .neighbours("org/no-such-doc.md#0", 1, 1)
        .unwrap()
        .is_none());
}
