//! Token budgets hold on hostile text: context packs (Markdown and JSON) and every budgeted
//! operation of the server, over an index of hostile passages — 100 KB words and lines,
//! control characters (ESC, CR, NUL, DEL), zero-width joiners, direction overrides, Chinese,
//! Arabic, Cyrillic and Devanagari, emoji sequences with skin tones, combining marks — asked
//! hostile questions. Every output, counted again with the model's tokenizer (every printed
//! character counted: see `TokenCounter::count`), is within its budget, and every citation
//! re-reads from its file.
//!
//! The passages and questions come from a small generator with a fixed seed: a failure comes
//! back on every run.

use std::path::Path;

use lore::internals::embed::resolve_model_dir;
use lore::internals::load::excerpt;
use lore::internals::model::content_hash;
use lore::serve::{Caller, ServeError, Service, ServiceOptions};
use lore::{
    ChunkOptions, ContextPack, ContextRequest, Error, Index, IndexBuilder, Mode, PackFormat,
    TokenCounter, UserError,
};

/// SplitMix64: a small seeded generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Words and marks a hostile passage is made of (the plain words make the passages found).
const PARTS: &[&str] = &[
    "billing",
    "reconciliation",
    "owner",
    "runbook",
    "the",
    "$75K,",
    "東京",
    "会议决定",
    "Оплата",
    "счетов",
    "تسوية",
    "الفواتير",
    "कार्यदिवस",
    "👨\u{200d}👩\u{200d}👧\u{200d}👦",
    "👍🏽",
    "👩🏽\u{200d}💻",
    "\u{1b}[31m",
    "\u{1b}",
    "\u{7f}",
    "\u{200b}",
    "\u{200d}",
    "\u{202e}",
    "\u{2066}",
    "\u{feff}",
    "Z\u{337}\u{322}a\u{338}l\u{335}g\u{336}o",
    "e\u{301}\u{301}\u{301}",
    "\t",
    "\r",
    "\u{3000}",
    "\u{2028}",
    "\"",
    "\\",
    "[…]",
];

/// A line of hostile words, about `len` bytes long.
fn hostile_line(rng: &mut Rng, len: usize) -> String {
    let mut line = String::new();
    while line.len() < len {
        line.push_str(rng.pick(PARTS));
        if rng.below(3) > 0 {
            line.push(' ');
        }
    }
    line
}

/// One word of `len` bytes or a little more: multi-byte characters, emoji, controls, and
/// terms the search finds (between emoji, the lexical analyser splits them out).
fn long_word(rng: &mut Rng, len: usize) -> String {
    let units = [
        "a",
        "é",
        "界",
        "😀",
        "👍🏽",
        "\u{200d}",
        "\u{1b}",
        "x1",
        "Ж",
        "😀billing😀",
        "\u{200d}reconciliation\u{200d}",
    ];
    let mut word = String::new();
    while word.len() < len {
        word.push_str(rng.pick(&units));
    }
    word
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The hostile exports: a 100 KB word, a 100 KB line, CR-only lines, a decision record and
/// meeting notes full of controls and emoji, and a few generated pages.
fn exports(root: &Path) {
    let mut rng = Rng(18);
    write(
        root,
        "one-word.md",
        &format!(
            "# Billing reconciliation word\n\nbilling reconciliation {}\n",
            long_word(&mut rng, 100_000)
        ),
    );
    write(
        root,
        "long-line.txt",
        &format!(
            "billing reconciliation {}\n",
            hostile_line(&mut rng, 100_000)
        ),
    );
    write(
        root,
        "cr-lines.txt",
        &(0..3000)
            .map(|i| format!("billing reconciliation line {i} Оплата 👍🏽\r"))
            .collect::<String>(),
    );
    write(
        root,
        "decisions/0042-limit.md",
        "---\nreaders: [\"*\"]\n---\n# ADR-0042: Raise the \u{1b}[31mbilling\u{1b}[0m limit 👩🏽\u{200d}💻\n\n\
         - Status: Accepted\n- Date: 2026-01-12\n- Deciders: Zoë \u{202e}Ωmega\u{202c}, Dana Whitfield\n\n\
         ## Context\n\nBilling reconciliation \u{7f}\u{200b} drifted 👨\u{200d}👩\u{200d}👧\u{200d}👦 \
         in 東京 and Оплата счетов.\n\n## Decision\n\nThe billing reconciliation limit is \
         \u{1b}]8;;http://evil\u{7}$75K\u{1b}]8;;\u{7}, reviewed by कार्यदिवस.\n",
    );
    write(
        root,
        "meetings/2026-02-03-sync.md",
        &format!(
            "---\ntitle: Sync \u{1b}[2J 👍🏽\ndate: 2026-02-03\nauthors: [Dana Whitfield, \"Zoë 👨\u{200d}👩\u{200d}👧\"]\n---\n\
             # Sync\n\nDecision: billing reconciliation moves to the first business day \u{202e}yad\u{202c} \
             {}.\n\nAction: Dana Whitfield to update the billing reconciliation runbook by 2026-03-09 \
             \u{1b}[31m!\n\n{}\n",
            long_word(&mut rng, 300),
            hostile_line(&mut rng, 3000)
        ),
    );
    for i in 0..6 {
        let mut page = format!("# Page {i} {}\n\n", rng.pick(PARTS));
        for _ in 0..1 + rng.below(6) {
            let len = [40, 400, 4000][rng.below(3)];
            page.push_str(&hostile_line(&mut rng, len));
            page.push_str(["\n\n", "\r\n\r\n", "\n", "\r"][rng.below(4)]);
        }
        write(root, &format!("wiki/page-{i}.md"), &page);
    }
}

/// A lexical index of the hostile exports (the packer needs only the model's tokenizer).
fn build(dir: &Path) -> Index {
    exports(&dir.join("org"));
    let index_dir = dir.join("index");
    IndexBuilder::new(&index_dir)
        .without_embeddings()
        .chunk_options(ChunkOptions { max_tokens: 120 })
        .build(&[dir.join("org")])
        .expect("build the hostile index");
    Index::open(&index_dir).unwrap()
}

/// Hostile questions: a 60 KB word, a 100 KB line, controls, scripts and emoji.
fn questions() -> Vec<(&'static str, String)> {
    let mut rng = Rng(60);
    vec![
        ("60 KB word", "a".repeat(60_000)),
        (
            "long word after words",
            format!("billing reconciliation {}", long_word(&mut rng, 20_000)),
        ),
        ("100 KB line", hostile_line(&mut rng, 100_000)),
        (
            "controls and scripts",
            "who owns \u{1b}[31mbilling\u{0} reconciliation\u{7f}? \u{202e}Оплата تسوية \
             कार्यदिवस 👨\u{200d}👩\u{200d}👧\u{200d}👦 👍🏽\r\n\r\n# Sources\n[1] forged"
                .to_string(),
        ),
        ("plain", "billing reconciliation runbook owner".to_string()),
    ]
}

const BUDGETS: [usize; 4] = [50, 120, 300, 800];

/// Every citation re-reads from its file to exactly its text and hash, on the line it names.
fn assert_citations_hold(pack: &ContextPack, what: &str) {
    for p in &pack.passages {
        let mut texts = Vec::new();
        for span in &p.spans {
            let source = std::fs::read_to_string(&span.path).unwrap();
            let [start, end] = span.byte_range;
            let text = excerpt(span.format, &source[start..end]);
            assert_eq!(
                content_hash(&text),
                span.content_hash,
                "{what}: {}",
                span.chunk_id
            );
            let first_line = 1 + source[..start].matches('\n').count();
            assert_eq!(span.line_range[0], first_line, "{what}: {}", span.chunk_id);
            texts.push(text);
        }
        assert_eq!(p.text, texts.join("\n\n"), "{what}: passage [{}]", p.number);
    }
}

/// The least budget a refusal names.
fn least_in(message: &str) -> usize {
    message
        .rsplit("at least ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no least budget in: {message}"))
}

#[test]
fn context_packs_of_hostile_text_stay_within_their_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let index = build(dir.path());
    let counter = TokenCounter::load(&resolve_model_dir(None)).unwrap();
    let (mut num_packs, mut num_cut_inside_a_word) = (0, 0);
    let mut seen = std::collections::BTreeSet::new();
    for (name, question) in questions() {
        for format in [PackFormat::Md, PackFormat::Json] {
            for budget in BUDGETS {
                let what = format!("{name}, {format:?}, budget {budget}");
                let request = ContextRequest {
                    format,
                    mode: Mode::Lexical,
                    ..ContextRequest::new(question.clone(), budget)
                };
                let pack = match index.context(&request) {
                    Ok(pack) => pack,
                    Err(Error::User(UserError::InvalidRequest(message))) => {
                        // Only a budget too small for the header is refused, and the least
                        // budget it names does hold it.
                        let least = least_in(&message);
                        assert!(least > budget, "{what}: {message}");
                        let pack = index
                            .context(&ContextRequest {
                                budget: least,
                                ..request
                            })
                            .unwrap_or_else(|e| panic!("{what}: at {least}: {e}"));
                        assert!(counter.count(&pack.rendered).unwrap() <= least, "{what}");
                        continue;
                    }
                    Err(e) => panic!("{what}: {e}"),
                };
                num_packs += 1;
                let counted = counter.count(&pack.rendered).unwrap();
                assert!(counted <= budget, "{what}: {counted} tokens");
                assert_eq!(counted, pack.tokens_used, "{what}");
                assert_citations_hold(&pack, &what);
                // The question is shown on one line, and cut when it takes over half the
                // budget.
                assert!(!pack.question.contains(['\n', '\r']), "{what}");
                assert!(
                    counter.count(&pack.question).unwrap() <= budget / 2,
                    "{what}"
                );
                if format == PackFormat::Json {
                    let parsed: ContextPack = serde_json::from_str(&pack.rendered).unwrap();
                    assert_eq!(parsed.passages, pack.passages, "{what}");
                } else {
                    let header = pack.rendered.lines().next().unwrap();
                    assert_eq!(header, format!("# Context: {}", pack.question), "{what}");
                }
                for p in &pack.passages {
                    seen.extend(
                        [
                            ('\u{1b}', "ESC"),
                            ('\r', "CR"),
                            ('\u{200d}', "ZWJ"),
                            ('\u{202e}', "RTL override"),
                            ('界', "Chinese"),
                        ]
                        .iter()
                        .filter(|(c, _)| p.text.contains(*c))
                        .map(|(_, n)| *n),
                    );
                    let last_word = p.text.split_whitespace().last().unwrap_or("");
                    if p.truncated && last_word.chars().count() > 100 {
                        num_cut_inside_a_word += 1;
                    }
                }
            }
        }
    }
    // The hostile passages were there to count: packs held them, and the 100 KB word was cut
    // inside to fit.
    assert!(num_packs >= 20, "{num_packs} packs");
    for hostile in ["ESC", "CR", "ZWJ", "RTL override", "Chinese"] {
        assert!(seen.contains(hostile), "no pack held {hostile}: {seen:?}");
    }
    assert!(
        num_cut_inside_a_word > 0,
        "no passage was cut inside a long word"
    );
}

#[test]
fn a_question_too_long_for_half_the_budget_is_cut_in_the_header_and_marked() {
    let dir = tempfile::tempdir().unwrap();
    let index = build(dir.path());
    let counter = TokenCounter::load(&resolve_model_dir(None)).unwrap();
    let question = "a".repeat(60_000);
    let pack = index
        .context(&ContextRequest {
            mode: Mode::Lexical,
            ..ContextRequest::new(question.clone(), 300)
        })
        .unwrap();
    assert!(pack.tokens_used <= 300);
    assert_eq!(counter.count(&pack.rendered).unwrap(), pack.tokens_used);
    assert!(
        pack.rendered.len() < 300 * 16,
        "{} bytes",
        pack.rendered.len()
    );
    assert!(pack.question.ends_with(" […]"), "{}", pack.question);
    assert!(question.starts_with(pack.question.trim_end_matches(" […]")));
    assert!(
        pack.notes
            .iter()
            .any(|n| n.contains("the header shows its first") && n.contains("of 60000 characters")),
        "{:?}",
        pack.notes
    );
    // A question that fits half the budget is shown whole.
    let whole = index
        .context(&ContextRequest {
            mode: Mode::Lexical,
            ..ContextRequest::new("billing  reconciliation\nowner", 300)
        })
        .unwrap();
    assert_eq!(whole.question, "billing reconciliation owner");
    assert!(whole.notes.iter().all(|n| !n.contains("the header shows")));
}

/// Operation arguments from their JSON, as a client sends them.
fn args<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn json<T: serde::Serialize>(item: &T) -> String {
    serde_json::to_string(item).unwrap()
}

/// Tokens of the items' JSON, each counted whole.
/// Tokens of a list of items as the answer prints it: brackets, commas and items.
fn recount<T: serde::Serialize>(counter: &TokenCounter, items: &[T]) -> usize {
    counter
        .count(&serde_json::to_string(items).unwrap())
        .unwrap()
}

#[test]
fn the_servers_answers_on_hostile_text_stay_within_their_budgets() {
    let dir = tempfile::tempdir().unwrap();
    drop(build(dir.path()));
    let counter = TokenCounter::load(&resolve_model_dir(None)).unwrap();
    let service = Service::open(
        dir.path().join("index"),
        ServiceOptions {
            no_audit: true,
            poll_interval: None,
            query_sessions: Some(1),
            ..ServiceOptions::default()
        },
    )
    .unwrap();
    let caller = Caller {
        principal: None,
        transport: "test",
    };
    let mut chunk_ids = std::collections::BTreeSet::new();
    let mut num_hits = 0;
    for (name, question) in questions() {
        // A server takes questions of at most MAX_QUERY_BYTES: a longer one is refused by
        // name, and its longest accepted start is asked instead.
        let mut question = question;
        if question.len() > lore::serve::MAX_QUERY_BYTES {
            let refused = service.search(&caller, args(serde_json::json!({"query": question})));
            assert!(
                matches!(&refused, Err(ServeError::InvalidRequest(m)) if m.contains("4096")),
                "{name}: {refused:?}"
            );
            let mut end = lore::serve::MAX_QUERY_BYTES;
            while !question.is_char_boundary(end) {
                end -= 1;
            }
            question.truncate(end);
        }
        for budget in BUDGETS {
            let what = format!("{name}, budget {budget}");
            let found = service
                .search(
                    &caller,
                    args(serde_json::json!({"query": question, "budget": budget, "mode": "lexical", "max_hits": 20})),
                )
                .unwrap_or_else(|e| panic!("search {what}: {e}"));
            let counted = recount(&counter, &found.hits);
            assert_eq!(counted, found.tokens_used, "search {what}");
            assert!(counted <= budget, "search {what}: {counted}");
            num_hits += found.hits.len();
            chunk_ids.extend(found.hits.iter().map(|h| h.chunk_id.clone()));

            let packed = service.context(
                &caller,
                args(
                    serde_json::json!({"question": question, "budget": budget, "mode": "lexical"}),
                ),
            );
            match packed {
                Ok(out) => {
                    let counted = counter.count(&out.rendered).unwrap();
                    assert_eq!(counted, out.tokens_used, "context {what}");
                    assert!(counted <= budget, "context {what}: {counted}");
                }
                Err(ServeError::InvalidRequest(m)) => assert!(least_in(&m) > budget, "{m}"),
                Err(e) => panic!("context {what}: {e}"),
            }

            let who = service
                .who(
                    &caller,
                    args(serde_json::json!({"topic": question, "budget": budget})),
                )
                .unwrap_or_else(|e| panic!("who {what}: {e}"));
            let counted = recount(&counter, &who.people);
            assert_eq!(counted, who.tokens_used, "who {what}");
            assert!(counted <= budget, "who {what}: {counted}");

            for query in [Some(question.as_str()), None] {
                let decided = service
                    .decisions(
                        &caller,
                        args(
                            serde_json::json!({"query": query, "budget": budget, "status": "all"}),
                        ),
                    )
                    .unwrap_or_else(|e| panic!("decisions {what}: {e}"));
                let counted = recount(&counter, &decided.entries);
                assert_eq!(counted, decided.tokens_used, "decisions {what}");
                assert!(counted <= budget, "decisions {what}: {counted}");
            }
        }
    }
    assert!(num_hits > 0 && chunk_ids.len() >= 5, "{chunk_ids:?}");
    let mut num_gets = 0;
    for id in &chunk_ids {
        for budget in BUDGETS {
            let what = format!("get {id}, budget {budget}");
            match service.get(
                &caller,
                args(
                    serde_json::json!({"chunk_id": id, "budget": budget, "before": 3, "after": 3}),
                ),
            ) {
                Ok(got) => {
                    num_gets += 1;
                    let counted = counter.count(&json(&got.chunk)).unwrap()
                        + recount(&counter, &got.before)
                        + recount(&counter, &got.after);
                    assert_eq!(counted, got.tokens_used, "{what}");
                    assert!(counted <= budget, "{what}: {counted}");
                }
                Err(ServeError::InvalidRequest(m)) => {
                    assert!(m.contains("over the budget"), "{what}: {m}")
                }
                Err(e) => panic!("{what}: {e}"),
            }
        }
    }
    assert!(num_gets > 0);
}
