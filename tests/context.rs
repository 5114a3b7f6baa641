//! Context packs over a small index built with the real model: the budget holds when the
//! rendered output is counted again with the model's tokenizer, every citation re-reads from
//! its file to exactly the text it cites, adjacent chunks merge, the output is the same bytes
//! every time, and a budget too small for the header is refused.

use std::path::Path;

use lore::internals::embed::resolve_model_dir;
use lore::internals::load::excerpt;
use lore::internals::model::content_hash;
use lore::{
    ChunkOptions, ContextPack, ContextRequest, Error, Index, IndexBuilder, PackFormat,
    TokenCounter, UserError,
};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A few Markdown pages (one long enough to span several small chunks) and a transcript.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("org");
    write(
        &root,
        "wiki/billing-reconciliation.md",
        "---\ntitle: Billing reconciliation\ndate: 2026-01-05\nauthors: [Dev Patel]\n---\n# Billing reconciliation\n\n## How the nightly job runs\n\nThe billing reconciliation job runs every night at 02:00 UTC. It compares the usage events metered by ledgerd with the usage records Stripe invoiced.\n\nWhen the billing reconciliation job finds a drift above one percent it pages the billing on-call engineer and writes a drift report to the finance bucket.\n\nThe billing reconciliation job retries twice before paging. Dev Patel owns the job; Ana Ortiz is his backup for the reconciliation runbook.\n\n## Dashboards\n\nThe reconciliation dashboard shows the drift per customer and per day.\n",
    );
    write(
        &root,
        "meetings/2026-02-03-finance.md",
        "---\ntitle: Finance sync\ndate: 2026-02-03\nkind: meeting-notes\n---\n# Finance sync\n\n## Reconciliation\n\nThe finance team asked to move the billing reconciliation to 04:30 UTC so the Stripe export is complete before it runs.\n\n## Budget\n\nThe travel budget for Q2 stays flat.\n",
    );
    write(
        &root,
        "wiki/oncall.md",
        "---\ntitle: On-call handbook\ndate: 2025-09-01\n---\n# On-call handbook\n\n## Handoff\n\nThe pager rotates every Monday at 10:00. The outgoing engineer writes a handoff note.\n",
    );
    write(
        &root,
        "meetings/2026-02-10-platform.vtt",
        "WEBVTT\n\nNOTE\ntitle: Platform weekly\ndate: 2026-02-10\n\n00:00:01.000 --> 00:00:06.000\n<v Marco Silva>The billing reconciliation job failed again on Friday night.\n\n00:00:06.000 --> 00:00:11.000\n<v Ana Ortiz>Only Dev Patel really understands the reconciliation job, we should ask him.\n\n00:00:11.000 --> 00:00:15.000\n<v Marco Silva>Agreed. Let's add an alert on the nightly reconciliation run.\n",
    );
    dir
}

fn build(dir: &Path) -> Index {
    let index_dir = dir.join("index");
    IndexBuilder::new(&index_dir)
        .embedding_cache(Some(dir.join("cache")))
        .chunk_options(ChunkOptions { max_tokens: 40 })
        .build(&[dir.join("org")])
        .expect("build with the real model (run scripts/fetch-model.sh)");
    Index::open(&index_dir).unwrap()
}

const QUESTION: &str = "when does the billing reconciliation job run and who owns it?";

fn pack(index: &Index, budget: usize, format: PackFormat) -> ContextPack {
    index
        .context(&ContextRequest {
            format,
            ..ContextRequest::new(QUESTION, budget)
        })
        .unwrap()
}

/// Every citation of the pack re-reads from its file to exactly its text and hash, and the
/// passage text is its cited texts joined by blank lines.
fn assert_citations_hold(pack: &ContextPack) {
    for p in &pack.passages {
        let mut texts = Vec::new();
        for span in &p.spans {
            let source = std::fs::read_to_string(&span.path).unwrap();
            let [start, end] = span.byte_range;
            let text = excerpt(span.format, &source[start..end]);
            assert_eq!(content_hash(&text), span.content_hash, "{}", span.chunk_id);
            let first_line = 1 + source[..start].matches('\n').count();
            assert_eq!(span.line_range[0], first_line, "{}", span.chunk_id);
            texts.push(text);
        }
        assert_eq!(p.text, texts.join("\n\n"), "passage [{}]", p.number);
    }
}

#[test]
fn packs_fit_the_budget_by_the_models_own_count_and_cite_exact_bytes() {
    let dir = fixture();
    let index = build(dir.path());
    let counter = TokenCounter::load(&resolve_model_dir(None)).unwrap();
    let mut num_passages = Vec::new();
    // JSON spends tokens on its syntax: its header alone takes more than 120.
    for (format, budgets) in [
        (PackFormat::Md, [120, 300, 800]),
        (PackFormat::Json, [300, 500, 800]),
    ] {
        for budget in budgets {
            let pack = pack(&index, budget, format);
            let counted = counter.count(&pack.rendered).unwrap();
            assert!(counted <= budget, "{format:?} {budget}: {counted} tokens");
            assert_eq!(counted, pack.tokens_used, "{format:?} {budget}");
            assert_eq!(pack.tokenizer.algorithm, "WordPiece");
            assert_citations_hold(&pack);
            if format == PackFormat::Json {
                let parsed: ContextPack = serde_json::from_str(&pack.rendered).unwrap();
                assert_eq!(parsed.passages, pack.passages);
                assert_eq!(parsed.tokens_used, pack.tokens_used);
            } else {
                assert!(pack
                    .rendered
                    .contains(&format!("tokens: {} of {budget} (", pack.tokens_used)));
                for p in &pack.passages {
                    assert!(pack.rendered.contains(&format!("\n[{}] ", p.number)));
                }
                let marks = pack.rendered.matches("\n[…]\n").count();
                let cut = pack.passages.iter().filter(|p| p.truncated).count();
                assert_eq!(marks, cut, "{budget}: every cut passage is marked");
                num_passages.push(pack.passages.len());
            }
        }
    }
    // More budget, more context: at 800 tokens the transcript is in too.
    assert!(num_passages[1] >= 1, "{num_passages:?}");
    assert!(num_passages[2] > num_passages[1], "{num_passages:?}");
    let large = pack(&index, 800, PackFormat::Md);
    let paths: Vec<&str> = large
        .passages
        .iter()
        .map(|p| p.spans[0].path.as_str())
        .collect();
    assert!(paths.iter().any(|p| p.ends_with(".vtt")), "{paths:?}");
    assert!(large.rendered.contains("Sources\n"));
}

#[test]
fn adjacent_chunks_merge_into_one_passage() {
    let dir = fixture();
    let index = build(dir.path());
    // A budget that holds every candidate: each chunk found next to another one found joins it.
    let pack = pack(&index, 8000, PackFormat::Json);
    assert_eq!(pack.num_left_out, 0, "{}", pack.rendered);
    let merged = pack
        .passages
        .iter()
        .find(|p| p.spans.len() >= 2)
        .expect("a passage of adjacent chunks");
    for pair in merged.spans.windows(2) {
        let n = |id: &str| id.rsplit_once('#').unwrap().1.parse::<usize>().unwrap();
        let (a, b) = (&pair[0].chunk_id, &pair[1].chunk_id);
        assert_eq!(a.rsplit_once('#').unwrap().0, b.rsplit_once('#').unwrap().0);
        assert_eq!(n(a) + 1, n(b), "{a} then {b}");
    }
    // No chunk is cited twice.
    let mut ids: Vec<&str> = pack
        .passages
        .iter()
        .flat_map(|p| p.spans.iter().map(|s| s.chunk_id.as_str()))
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all);
}

#[test]
fn the_same_question_gives_the_same_bytes() {
    let dir = fixture();
    let index = build(dir.path());
    for format in [PackFormat::Md, PackFormat::Json] {
        let first = pack(&index, 300, format).rendered;
        let again = pack(&Index::open(dir.path().join("index")).unwrap(), 300, format).rendered;
        assert_eq!(first, again);
    }
}

#[test]
fn a_budget_too_small_for_the_header_is_refused_with_the_least_that_fits() {
    let dir = fixture();
    let index = build(dir.path());
    let err = index
        .context(&ContextRequest::new(QUESTION, 10))
        .unwrap_err();
    assert!(
        matches!(err, Error::User(UserError::InvalidRequest(_))),
        "{err}"
    );
    let message = err.to_string();
    let least: usize = message
        .rsplit("at least ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no least budget in: {message}"));
    assert!(least > 10);
    let header_only = index
        .context(&ContextRequest::new(QUESTION, least))
        .unwrap();
    assert!(header_only.tokens_used <= least);
}
