//! The attack suite: budget. Token budgets count what is printed — `lore serve` on an index of
//! hostile passages, asked with hostile questions: every answer, counted again with the
//! model's tokenizer (`lore::TokenCounter`, which counts every printed character), is within
//! the budget it was asked for, or the request is refused naming the problem.

use std::path::Path;

use serde_json::{json, Value};

use crate::support;

/// The fixture exports and hostile pages: emoji sequences, controls, a long word holding
/// search terms, CR-only lines, mixed scripts.
fn hostile_exports(dir: &Path) {
    support::exports(dir);
    let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦";
    let word: String = (0..4000)
        .map(|i| {
            [
                "😀billing😀",
                "界é\u{1b}",
                "\u{200d}reconciliation\u{200d}",
                "👍🏽Ж",
            ][i % 4]
        })
        .collect();
    let files = [
        (
            "emoji.md".to_string(),
            format!(
                "---\nreaders: [\"*\"]\n---\n# Billing reconciliation {family}\n\n{}\n",
                format!("billing {family} reconciliation 👩🏽\u{200d}💻 \u{1b}[31m东京\u{202e} ")
                    .repeat(200)
            ),
        ),
        (
            "long-word.md".to_string(),
            format!("---\nreaders: [\"*\"]\n---\n# Long word\n\nbilling reconciliation {word}\n"),
        ),
        (
            "cr-lines.txt".to_string(),
            (0..2000)
                .map(|i| format!("billing reconciliation line {i} Оплата تسوية कार्यदिवस\r"))
                .collect(),
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn post(server: &support::Server, path: &str, body: &Value) -> (u16, Value) {
    server.post(path, None, body)
}

fn counter() -> lore::TokenCounter {
    lore::TokenCounter::load(&lore::internals::embed::resolve_model_dir(None))
        .expect("the model's tokenizer (run scripts/fetch-model.sh)")
}

/// Generous: a budgeted answer never prints more than this many bytes a token.
const MAX_BYTES_PER_TOKEN: usize = 16;

#[test]
fn a_long_one_word_question_gets_a_context_within_its_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let ex = tmp.path().join("exports");
    std::fs::create_dir_all(&ex).unwrap();
    hostile_exports(&ex);
    let idx = tmp.path().join("index");
    support::index(&ex, &idx);
    let server = support::Server::start(&idx, &[]);
    let counter = counter();
    // A question over the longest a server takes is refused by name; the library packs such
    // a question within its budget too (tests/budgets.rs).
    let (status, body) = post(
        &server,
        "/v1/context",
        &json!({"question": "a".repeat(60_000), "budget": 300}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("4096"));
    // The longest it takes: one word, one script without spaces, emoji sequences.
    let questions = [
        "a".repeat(4000),
        format!("billing reconciliation {}", "界".repeat(1300)),
        format!(
            "who owns billing reconciliation? {}",
            "👨\u{200d}👩\u{200d}👧 ".repeat(200)
        ),
    ];
    for question in &questions {
        for budget in [300, 120, 800] {
            let what = format!("{} bytes, budget {budget}", question.len());
            let (status, body) = post(
                &server,
                "/v1/context",
                &json!({"question": question, "budget": budget}),
            );
            if status == 400 {
                // A refusal must name the problem.
                let message = body["error"]["message"].as_str().unwrap_or("");
                assert!(message.contains("budget"), "{what}: {body}");
                continue;
            }
            assert_eq!(status, 200, "{what}: {body}");
            let rendered = body["rendered"].as_str().unwrap();
            let used = body["tokens_used"].as_u64().unwrap() as usize;
            let counted = counter.count(rendered).unwrap();
            assert!(
                used <= budget && counted == used,
                "{what}: tokens_used {used}, counted again {counted}, {} bytes",
                rendered.len()
            );
            assert!(
                rendered.len() <= budget * MAX_BYTES_PER_TOKEN,
                "{what}: {} bytes",
                rendered.len()
            );
            // The question is in the header, cut and marked when it takes over half the budget.
            let header = rendered.lines().next().unwrap();
            assert!(header.starts_with("# Context: "), "{what}: {header}");
            assert!(header.ends_with(" […]"), "{what}: {header}");
            // The answer echoes the question as shown, not whole outside the budget.
            assert_eq!(
                body["question"].as_str().unwrap(),
                header.trim_start_matches("# Context: "),
                "{what}"
            );
            assert!(
                body["notes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|n| n.as_str().unwrap().contains("the header shows its first")),
                "{what}: {body}"
            );
        }
    }
}

#[test]
fn a_long_word_search_answers_within_its_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let ex = tmp.path().join("exports");
    std::fs::create_dir_all(&ex).unwrap();
    hostile_exports(&ex);
    let idx = tmp.path().join("index");
    support::index(&ex, &idx);
    let server = support::Server::start(&idx, &[]);
    let counter = counter();
    let queries = [
        format!("billing reconciliation {}", "a".repeat(4000)),
        format!("{} billing", "😀reconciliation😀".repeat(180)),
        "billing reconciliation 👨\u{200d}👩\u{200d}👧\u{200d}👦 \u{1b}[31m".to_string(),
    ];
    let mut num_hits = 0;
    for query in &queries {
        for budget in [50, 300, 800] {
            let what = format!("{} bytes, budget {budget}", query.len());
            let (status, body) = post(
                &server,
                "/v1/search",
                &json!({"query": query, "budget": budget, "max_hits": 20}),
            );
            assert_eq!(status, 200, "{what}: {body}");
            let hits = body["hits"].as_array().unwrap();
            num_hits += hits.len();
            let used = body["tokens_used"].as_u64().unwrap() as usize;
            // The list as printed: brackets and commas count too.
            let counted = counter.count(&body["hits"].to_string()).unwrap();
            assert!(
                used <= budget && counted == used,
                "{what}: tokens_used {used}, counted again {counted}"
            );
            let bytes: usize = hits.iter().map(|h| h.to_string().len()).sum();
            assert!(
                bytes <= budget * MAX_BYTES_PER_TOKEN,
                "{what}: {bytes} bytes"
            );
        }
    }
    assert!(num_hits > 0, "the hostile pages were found");
}
