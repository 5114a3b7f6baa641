//! The `lore` binary end to end on the shipped corpus: index, search --json (shape and byte-for-
//! byte stability), filters, stats, and clear errors.

use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "common/mod.rs"]
mod common;

use common::{lore, lore_in_cache};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// A folder `dir` of exports holding `files` (name, contents).
fn export(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir.to_path_buf()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn index_then_search_json_on_the_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("idx");
    let index_s = index.to_str().unwrap();
    let cache = tmp.path().join("cache");
    let out = lore_in_cache(
        &["index", corpus().to_str().unwrap(), "--index", index_s],
        &cache,
    );
    assert!(
        out.status.success(),
        "index failed: {}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout(&out);
    assert!(summary.contains("skipped: none"), "{summary}");
    assert!(summary.contains(" 0 from the embedding cache"), "{summary}");
    let current = lore::internals::generation::resolve(&index).unwrap();
    assert!(current.join("manifest.json").is_file());
    let vectors = std::fs::read(current.join("vectors.f32")).unwrap();

    // Rebuilding from nothing takes every vector from the cache, and the same vectors.
    let out = lore_in_cache(
        &[
            "index",
            corpus().to_str().unwrap(),
            "--index",
            index_s,
            "--rebuild",
        ],
        &cache,
    );
    assert!(out.status.success());
    let summary = stdout(&out);
    assert!(
        summary.contains("vectors: 0 chunks embedded by the model, 443 from the embedding cache"),
        "{summary}"
    );
    let current = lore::internals::generation::resolve(&index).unwrap();
    assert_eq!(std::fs::read(current.join("vectors.f32")).unwrap(), vectors);
    // Indexing unchanged files again reads them but parses and embeds nothing.
    let out = lore_in_cache(
        &["index", corpus().to_str().unwrap(), "--index", index_s],
        &cache,
    );
    let summary = stdout(&out);
    assert!(summary.contains("files: 0 loaded"), "{summary}");
    assert!(
        summary.contains("0 from the embedding cache, 443 kept from the index"),
        "{summary}"
    );
    let current = lore::internals::generation::resolve(&index).unwrap();
    assert_eq!(std::fs::read(current.join("vectors.f32")).unwrap(), vectors);

    let args = [
        "search",
        "who approves contracts above the outside counsel threshold?",
        "--index",
        index_s,
        "-k",
        "5",
        "--json",
    ];
    let first = lore(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = lore(&args);
    assert_eq!(
        first.stdout, second.stdout,
        "the same query must give the same bytes"
    );

    let json: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(json["mode"], "hybrid");
    assert_eq!(json["mode_used"], "hybrid");
    let hits = json["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 5);
    for (i, hit) in hits.iter().enumerate() {
        assert_eq!(hit["rank"], i + 1);
        assert!(hit["chunk_id"].as_str().unwrap().contains('#'));
        assert!(hit["score"].as_f64().unwrap() > 0.0);
        assert!(hit["lexical"].is_object() || hit["dense"].is_object());
        assert!(hit["snippet"]["text"].is_string());
        assert!(hit["snippet"]["highlights"].is_array());
        let p = &hit["provenance"];
        for key in ["doc_id", "path", "title", "kind", "format", "content_hash"] {
            assert!(p[key].is_string(), "provenance.{key} in {p}");
        }
        for key in [
            "byte_range",
            "line_range",
            "heading_path",
            "speakers",
            "authors",
        ] {
            assert!(p[key].is_array(), "provenance.{key} in {p}");
        }
        // Provenance is exact: the cited bytes are in the source file.
        let path = p["path"].as_str().unwrap();
        let bytes = std::fs::read(path).unwrap();
        let [s, e] = [
            p["byte_range"][0].as_u64().unwrap() as usize,
            p["byte_range"][1].as_u64().unwrap() as usize,
        ];
        assert!(s < e && e <= bytes.len());
    }

    // Queries embed by the int8 query graph unless told otherwise: the same dense ranking
    // here, with cosines that differ a little from full precision's.
    let dense = |precision: &[&str]| -> Vec<(String, f64)> {
        let question = "who approves contracts above the outside counsel threshold?";
        let mut args = vec!["search", question, "--index", index_s, "--mode", "dense"];
        args.extend(["-k", "3", "--json"]);
        args.extend(precision);
        let out = lore(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let id = h["chunk_id"].as_str().unwrap().to_string();
                (id, h["dense"]["score"].as_f64().unwrap())
            })
            .collect()
    };
    let int8 = dense(&["--query-precision", "int8"]);
    let full = dense(&["--query-precision", "full"]);
    assert_eq!(int8[0].0, full[0].0, "{int8:?} {full:?}");
    assert!(
        int8.iter()
            .zip(&full)
            .all(|(a, b)| (a.1 - b.1).abs() < 0.03),
        "{int8:?} {full:?}"
    );
    assert_ne!(int8, full, "--query-precision changes nothing");
    assert_eq!(dense(&[]), int8, "int8 is the default");

    // Filters narrow the answer.
    let out = lore(&[
        "search",
        "deployment",
        "--index",
        index_s,
        "--filter",
        "kind=decision",
        "--json",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for hit in json["hits"].as_array().unwrap() {
        assert_eq!(hit["provenance"]["kind"], "decision");
    }

    // Text output cites file and lines.
    let out = lore(&["search", "on-call handoff", "--index", index_s, "-k", "2"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains(" 1. "), "{text}");
    assert!(
        [".md:", ".vtt:", ".srt:", ".jsonl:"]
            .iter()
            .any(|ext| text.contains(ext)),
        "{text}"
    );

    let out = lore(&["stats", "--index", index_s]);
    assert!(out.status.success());
    let stats = stdout(&out);
    assert!(stats.contains("all-MiniLM-L6-v2"));
    // The people file is read (not indexed, not skipped); names it does not know are listed.
    assert!(stats.contains("people:     24 in "), "{stats}");
    assert!(stats.contains("unknown: recon-bot"), "{stats}");
    assert!(stats.contains("decision superseded"), "{stats}");

    memory_commands_on_the_corpus(index_s);
    access_on_the_corpus(index_s, &stats);
}

/// The same question asked as two people of the corpus (see `corpus/access.toml`).
fn access_on_the_corpus(index: &str, stats: &str) {
    assert!(stats.contains("access:     on ("), "{stats}");
    assert!(
        stats.contains("documents readable by group:leadership"),
        "{stats}"
    );
    let ask = |user: &str, command: &str| {
        let out = lore(&[
            command,
            "parental leave coverage plan for Marco",
            "--index",
            index,
            "--as",
            user,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    };
    let meeting = "2026-01-13-people-ops-sync.md";
    assert!(!ask("tessa", "search").contains(meeting));
    assert!(ask("lena", "search").contains(meeting));
    // Jamal is named in the meeting's own readers, by his full name; `jamal` is his alias.
    assert!(ask("jamal", "search").contains(meeting));
    let out = lore(&[
        "context",
        "parental leave coverage plan for Marco",
        "--budget",
        "800",
        "--index",
        index,
        "--as",
        "tessa",
    ]);
    assert!(out.status.success());
    assert!(!stdout(&out).contains(meeting));
    // stats --as counts only what the principal may read, and names nothing else.
    let out = lore(&["stats", "--index", index, "--as", "tessa"]);
    let text = stdout(&out);
    assert!(text.contains("as:         tessa"), "{text}");
    assert!(!text.contains("leadership"), "{text}");
    assert!(!text.contains("skipped"), "{text}");
    let documents = |text: &str| -> usize {
        let line = text.lines().find(|l| l.starts_with("documents:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(documents(&text) + 2, documents(stats), "{text}");
}

/// `decisions`, `who` and `context` on the indexed corpus, as a new user tries them.
fn memory_commands_on_the_corpus(index: &str) {
    // The rule in force today, and the one in force at a past date, with their history.
    let now = lore(&[
        "decisions",
        "outside counsel threshold",
        "--index",
        index,
        "-k",
        "1",
    ]);
    assert!(
        now.status.success(),
        "{}",
        String::from_utf8_lossy(&now.stderr)
    );
    let text = stdout(&now);
    assert!(text.contains("ADR-0009"), "{text}");
    assert!(text.contains("history: ADR-0004"), "{text}");
    let then = lore(&[
        "decisions",
        "outside counsel threshold",
        "--index",
        index,
        "-k",
        "1",
        "--as-of",
        "2025-09-01",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&then.stdout).unwrap();
    let first = &json["entries"][0];
    assert!(
        first["title"].as_str().unwrap().starts_with("ADR-0004"),
        "{json}"
    );
    assert_eq!(first["standing"]["status"], "accepted");

    // A question about the present never puts a superseded record first, and says which is.
    let out = lore(&[
        "search",
        "What time does the nightly billing reconciliation job run now?",
        "--index",
        index,
        "-k",
        "5",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hits = json["hits"].as_array().unwrap();
    assert_ne!(hits[0]["decision"]["status"], "superseded", "{json}");
    for h in hits {
        if h["decision"]["status"] == "superseded" {
            assert!(h["decision"]["superseded_by_title"]
                .as_str()
                .unwrap()
                .starts_with("ADR-0010"));
        }
    }

    // Who knows the reconciliation job: a person from the people file, with cited spans.
    let out = lore(&[
        "who",
        "billing reconciliation job",
        "--index",
        index,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let top = &json["people"][0];
    assert_eq!(top["name"], "Marco Silva", "{json}");
    assert_eq!(top["known"], true);
    assert!(!top["evidence"].as_array().unwrap().is_empty());

    // Context within budget, with citations that re-read.
    let out = lore(&[
        "context",
        "who reviews vendor contracts over 50K?",
        "--budget",
        "300",
        "--index",
        index,
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["tokens_used"].as_u64().unwrap() <= 300, "{json}");
    assert!(json["tokenizer"].is_object(), "{json}");
    for passage in json["passages"].as_array().unwrap() {
        for span in passage["spans"].as_array().unwrap() {
            let bytes = std::fs::read(span["path"].as_str().unwrap()).unwrap();
            let [s, e] = [
                span["byte_range"][0].as_u64().unwrap() as usize,
                span["byte_range"][1].as_u64().unwrap() as usize,
            ];
            let format: lore::SourceFormat =
                serde_json::from_value(span["format"].clone()).unwrap();
            let cited =
                lore::internals::load::excerpt(format, std::str::from_utf8(&bytes[s..e]).unwrap());
            assert!(passage["text"].as_str().unwrap().contains(&cited));
        }
    }
}

#[test]
fn errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("none");
    let out = lore(&["search", "x", "--index", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no lore index at"), "{err}");

    let out = lore(&[
        "search",
        "x",
        "--index",
        missing.to_str().unwrap(),
        "--filter",
        "oops",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("key=value"));

    let out = lore(&["search", "x", "--index", "y", "--mode", "fuzzy"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn skipped_inputs_are_reported_and_set_the_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("good.md"),
        "# Good\n\nThe expense limit is $500 per trip.\n",
    )
    .unwrap();
    std::fs::write(src.join("data.bin"), [0u8, 159, 146, 150]).unwrap();
    std::fs::write(
        src.join("broken.jsonl"),
        "{\"id\": \"1\", \"text\": \"fine\"}\n{not json\n",
    )
    .unwrap();
    let index = tmp.path().join("idx");
    let out = lore(&[
        "index",
        src.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
        "--no-embed",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("data.bin"), "{text}");
    assert!(text.contains("broken.jsonl:2"), "{text}");
    let out = lore(&[
        "search",
        "expense limit",
        "--index",
        index.to_str().unwrap(),
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["mode_used"], "lexical");
    assert!(json["hits"][0]["provenance"]["path"]
        .as_str()
        .unwrap()
        .ends_with("good.md"));
}

#[test]
fn demo_answers_the_sample_questions_with_citations() {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("demo");
    let cache = tmp.path().join("cache");
    let out = lore_in_cache(
        &[
            "demo",
            "--corpus",
            corpus().to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "--show",
            "2",
        ],
        &cache,
    );
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two sample questions, and one asked as two people.
    assert_eq!(text.matches("Q: ").count(), 3, "{text}");
    assert!(text.contains("as tessa"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("as lena") && l.contains("people-ops-sync")),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.contains("as tessa") && l.contains("people-ops-sync")),
        "{text}"
    );
    assert!(text.contains("corpus/"), "answers cite their files: {text}");
    // Recall@5 per mode, e.g. "  hybrid   0.779  (74/95)".
    let recall = |mode: &str| -> f64 {
        let line = text
            .lines()
            .skip_while(|l| !l.starts_with("Recall@5"))
            .find(|l| l.trim_start().starts_with(mode))
            .unwrap_or_else(|| panic!("no {mode} line in {text}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert!(recall("lexical") >= 0.7, "{text}");
    assert!(recall("dense") >= 0.75, "{text}");
    assert!(recall("hybrid") >= 0.75, "{text}");
    // The organizational-memory table: no question about the present puts a record not in
    // force first, `who` finds gold people, and every packed citation re-reads exactly.
    let row = |kind: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.starts_with("Organizational memory"))
            .find(|l| l.split_whitespace().next() == Some(kind))
            .unwrap_or_else(|| panic!("no {kind} row in {text}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert!(row("rule_now")[4].starts_with("0/"), "{text}");
    assert!(row("all")[5].parse::<f64>().unwrap() >= 0.5, "{text}");
    for budget in ["300", "800"] {
        let line = text
            .lines()
            .find(|l| {
                l.trim_start()
                    .starts_with(&format!("context at {budget} tokens"))
            })
            .unwrap_or_else(|| panic!("no context line in {text}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        // "context at 300 tokens: 119 of 119 citations re-read exactly; largest pack 300 tokens"
        assert_eq!(words[4], words[6], "{line}");
        assert!(
            words[12].parse::<usize>().unwrap() <= budget.parse().unwrap(),
            "{line}"
        );
    }
}

#[test]
fn reindexing_after_an_edit_a_deletion_and_an_addition_reports_them_and_embeds_only_them() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("export");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..6 {
        std::fs::write(
            src.join(format!("page-{i}.md")),
            format!("# Page {i}\n\nThe facilities team answers request {i} within a day.\n"),
        )
        .unwrap();
    }
    let index = tmp.path().join("idx");
    let cache = tmp.path().join("cache");
    let args = [
        "index",
        src.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
    ];
    let first = lore_in_cache(&args, &cache);
    assert!(first.status.success());
    let summary = stdout(&first);
    assert!(!summary.contains("since the last build"), "{summary}");
    assert!(
        summary.contains("vectors: 6 chunks embedded by the model, 0 from the embedding cache, 0 kept from the index"),
        "{summary}"
    );

    std::fs::write(
        src.join("page-1.md"),
        "# Page 1\n\nThe facilities team now answers request 1 within an hour.\n",
    )
    .unwrap();
    std::fs::remove_file(src.join("page-2.md")).unwrap();
    std::fs::write(
        src.join("page-9.md"),
        "# Page 9\n\nParking permits are renewed every January.\n",
    )
    .unwrap();
    let second = lore_in_cache(&args, &cache);
    assert!(second.status.success());
    let summary = stdout(&second);
    assert!(
        summary
            .contains("documents since the last build: 1 added, 1 updated, 1 removed, 4 unchanged"),
        "{summary}"
    );
    // Only the edited and the new page were read and went through the model; the other four
    // kept their chunks and vectors.
    assert!(
        summary.contains("files: 2 loaded (new or changed), 4 unchanged and carried over"),
        "{summary}"
    );
    assert!(
        summary.contains("vectors: 2 chunks embedded by the model, 0 from the embedding cache, 4 kept from the index"),
        "{summary}"
    );

    // --no-delete adds another folder without removing the first.
    let more = tmp.path().join("more");
    std::fs::create_dir_all(&more).unwrap();
    std::fs::write(
        more.join("roof.md"),
        "# Roof\n\nThe roof is repaired in May.\n",
    )
    .unwrap();
    let added = lore_in_cache(
        &[
            "index",
            more.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "--no-delete",
        ],
        &cache,
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let summary = stdout(&added);
    assert!(
        summary.contains("1 added, 0 updated, 0 removed, 6 unchanged"),
        "{summary}"
    );

    // lore rm by id and by path; a pattern that matches nothing is named, exit code 3.
    let page_3 = src.join("page-3.md");
    let removed = lore_in_cache(
        &[
            "rm",
            "export/page-0.md",
            page_3.to_str().unwrap(),
            "export/no-such-page.md",
            "--index",
            index.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(removed.status.code(), Some(3));
    let summary = stdout(&removed);
    assert!(summary.contains("removed 2 documents"), "{summary}");
    assert!(
        summary.contains("no document matches export/no-such-page.md"),
        "{summary}"
    );
    assert!(
        summary.contains("0 added, 0 updated, 2 removed, 5 unchanged"),
        "{summary}"
    );
    let hits = lore(&[
        "search",
        "facilities request",
        "--index",
        index.to_str().unwrap(),
        "--mode",
        "lexical",
        "--json",
    ]);
    let hits = stdout(&hits);
    assert!(
        !hits.contains("page-0.md") && !hits.contains("page-3.md"),
        "{hits}"
    );
    assert!(hits.contains("page-4.md"), "{hits}");
    // Nothing matched: the index is left as it was.
    let none = lore(&["rm", "nothing/here", "--index", index.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(3));
    assert!(stdout(&none).contains("is unchanged"), "{}", stdout(&none));
    let missing = lore(&[
        "rm",
        "x",
        "--index",
        tmp.path().join("nope").to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no lore index"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    assert!(
        !tmp.path().join("nope").exists(),
        "rm on a missing index creates nothing"
    );
}

/// With stderr piped (not a terminal) progress comes as plain lines, at most one per 10 s, so a
/// quick run prints none either way; `--quiet` (`-q`, a global flag) silences progress, never
/// the summary.
#[test]
fn quiet_index_prints_no_progress_and_still_summarises() {
    let tmp = tempfile::tempdir().unwrap();
    let src = export(
        &tmp.path().join("src"),
        &[
            ("a.md", "# A\n\nThe expense limit is $500.\n"),
            ("b.txt", "Travel needs approval.\n"),
        ],
    );
    let index = tmp.path().join("idx");
    let base = [
        "index",
        src.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
        "--no-embed",
    ];
    let plain = base.to_vec();
    let quiet_after = [&base[..], &["--quiet"]].concat();
    let q_before = [&["-q"][..], &base[..]].concat();
    // Without the flag no assertion on stderr: a slow machine may take 10 s and print a line.
    for (args, quiet) in [(plain, false), (quiet_after, true), (q_before, true)] {
        let out = lore(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(stdout(&out).contains("skipped: none"), "{}", stdout(&out));
        if quiet {
            assert!(
                !stderr.contains("lore: "),
                "{args:?} printed progress: {stderr}"
            );
        }
    }
}

#[test]
fn verify_reports_sources_that_changed_moved_or_vanished() {
    let tmp = tempfile::tempdir().unwrap();
    let notes = "# Legal sync\n\n## Contracts\n\nContracts under $50K are reviewed in-house.\n";
    let page = "# Runbook\n\nThe nightly billing job runs at 02:00 UTC.\n";
    let chat = "{\"channel\": \"#finance\", \"user\": \"Dana\", \"ts\": \"1767225600.000100\", \"text\": \"The Q3 review moves two weeks early.\"}\n";
    let src = export(
        &tmp.path().join("export"),
        &[
            ("legal.md", notes),
            ("runbook.md", page),
            ("chat.jsonl", chat),
        ],
    );
    let index = tmp.path().join("idx");
    let index_s = index.to_str().unwrap();
    let src_s = src.to_str().unwrap();
    let out = lore(&["index", src_s, "--index", index_s, "--no-embed", "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = lore(&["verify", "--index", index_s]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("3 cited, 0 changed, 0 moved, 0 vanished"));

    // A line before the notes moves their text; the runbook's time changes; the chat is gone.
    std::fs::write(src.join("legal.md"), format!("Draft.\n\n{notes}")).unwrap();
    std::fs::write(src.join("runbook.md"), page.replace("02:00", "03:30")).unwrap();
    std::fs::remove_file(src.join("chat.jsonl")).unwrap();
    let out = lore(&["verify", "--index", index_s, "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let status = |file: &str| {
        report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["path"].as_str().unwrap().ends_with(file))
            .map(|p| p["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("legal.md").as_deref(), Some("moved"), "{report}");
    assert_eq!(status("runbook.md").as_deref(), Some("changed"), "{report}");
    assert_eq!(
        status("chat.jsonl").as_deref(),
        Some("vanished"),
        "{report}"
    );
    assert_eq!(report["num_sources"], 3);

    // Re-indexing makes every citation hold again.
    let out = lore(&["index", src_s, "--index", index_s, "--no-embed", "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = lore(&["verify", "--index", index_s]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}
