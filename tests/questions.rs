//! Every real question we have, through the operations that read the most text: `search -k
//! 100`, `who` and `context` (at 300 and 800 tokens). None may panic, and every answer must
//! hold its promises (a context within its budget).
//!
//! The questions of `corpus/questions.jsonl` run on an index of `corpus/` always. The queries
//! of the public BEIR SciFact and QMSum sets run when their directories are found (the
//! `LORE_SCIFACT_DATA` / `LORE_QMSUM_DATA` variables, else `../shared/data/{scifact,qmsum}`
//! beside the package); set `LORE_REQUIRE_SHARED_DATA=1` to fail when they are not. The
//! indexes are full-text only: what these operations do with passage text does not depend
//! on how the passages were retrieved.

use std::path::{Path, PathBuf};

use lore::{ContextRequest, Index, IndexBuilder, Mode, SearchRequest, WhoRequest};

/// The questions (the `question` or `text` field of each line) of a JSON Lines file.
fn questions(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.get("question")
                .or_else(|| v.get("text"))
                .and_then(|q| q.as_str())
                .unwrap_or_else(|| panic!("{}: a line without a question: {l}", file.display()))
                .to_string()
        })
        .collect()
}

/// A full-text index of `inputs` in `dir`.
fn lexical_index(dir: &Path, inputs: &[PathBuf]) -> Index {
    IndexBuilder::new(dir)
        .without_embeddings()
        .embedding_cache(None)
        .build(inputs)
        .expect("build the index");
    Index::open(dir).expect("open the index")
}

/// Run every question; return the ones that panicked or broke a promise, with what happened.
fn ask_all(index: &Index, questions: &[String]) -> Vec<String> {
    let mut failures = Vec::new();
    for q in questions {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let search = index
                .search(&SearchRequest {
                    k: 100,
                    mode: Mode::Lexical,
                    ..SearchRequest::new(q.clone())
                })
                .map_err(|e| format!("search: {e}"))?;
            for hit in &search.hits {
                let [a, b] = hit.snippet.chunk_range;
                if hit.text.get(a..b) != Some(hit.snippet.text.as_str()) {
                    return Err(format!("a snippet is not its chunk's text at {a}..{b}"));
                }
            }
            index
                .who(&WhoRequest {
                    topic: q.clone(),
                    mode: Mode::Lexical,
                    ..WhoRequest::default()
                })
                .map_err(|e| format!("who: {e}"))?;
            for budget in [300, 800] {
                let mut request = ContextRequest::new(q.clone(), budget);
                request.mode = Mode::Lexical;
                let pack = index
                    .context(&request)
                    .map_err(|e| format!("context at {budget}: {e}"))?;
                if pack.tokens_used > budget {
                    return Err(format!(
                        "context at {budget} used {} tokens",
                        pack.tokens_used
                    ));
                }
            }
            Ok::<(), String>(())
        }));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{q:?}: {e}")),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{q:?}: PANIC {message}"));
            }
        }
    }
    failures
}

fn package() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_corpus_question_is_answered_without_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let index = lexical_index(&tmp.path().join("idx"), &[package().join("corpus")]);
    let questions = questions(&package().join("corpus/questions.jsonl"));
    assert!(questions.len() >= 20, "{} questions", questions.len());
    let failures = ask_all(&index, &questions);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A BEIR directory: `$VAR`, else `../shared/data/NAME`; `None` (said on standard error)
/// when it is missing and not required.
fn shared(name: &str, var: &str) -> Option<PathBuf> {
    let dir = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| package().join("../shared/data").join(name));
    if dir.join("corpus.jsonl").is_file() && dir.join("queries.jsonl").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("LORE_REQUIRE_SHARED_DATA").is_none(),
        "{name} not found at {} (set {var})",
        dir.display()
    );
    eprintln!(
        "{name}: not found at {} (set {var} to run its queries); skipped",
        dir.display()
    );
    None
}

#[test]
fn every_shared_set_query_is_answered_without_a_panic() {
    for (name, var) in [
        ("scifact", "LORE_SCIFACT_DATA"),
        ("qmsum", "LORE_QMSUM_DATA"),
    ] {
        let Some(dir) = shared(name, var) else {
            continue;
        };
        let tmp = tempfile::tempdir().unwrap();
        let index = lexical_index(&tmp.path().join("idx"), &[dir.join("corpus.jsonl")]);
        let questions = questions(&dir.join("queries.jsonl"));
        let failures = ask_all(&index, &questions);
        eprintln!("{name}: {} queries asked", questions.len());
        assert!(failures.is_empty(), "{name}: {failures:#?}");
    }
}
