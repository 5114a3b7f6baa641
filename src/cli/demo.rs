//! `lore demo`: index the shipped corpus, answer its sample questions with cited snippets,
//! print Recall@5 and the organizational-memory table, and show access control at work.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use lore::eval::{evaluate_memory, is_gold, read_questions, recall_at_k};
use lore::{Index, Mode, Principal, SearchRequest};

use super::index::print_summary;
use super::search::print_response;
use super::{builder, memory, open, progress, Model, RankingArgs};

#[derive(Debug, Args)]
pub(super) struct DemoArgs {
    /// The corpus folder (default: ./corpus, else the one shipped with the source).
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
    /// Where to build the demo index (default: ~/.cache/lore/demo-index): a new or empty
    /// directory, or one the demo made before; any other index is refused, never replaced.
    #[arg(long, value_name = "DIR")]
    index: Option<PathBuf>,
    /// How many sample questions to answer in full.
    #[arg(long, default_value_t = 5)]
    show: usize,
    #[command(flatten)]
    ranking: RankingArgs,
}

/// The demo's access control part: one question asked as two people of `corpus/`.
fn demo_access(out: &mut impl Write, index: &Index) -> anyhow::Result<()> {
    const QUESTION: &str = "parental leave coverage plan for Marco";
    writeln!(
        out,
        "\nAccess control (corpus/access.toml, and readers in front matter): one question, two people."
    )?;
    writeln!(out, "Q: {QUESTION}")?;
    let owner = index.readable(None)?;
    for (user, who) in [("tessa", "sales"), ("lena", "people ops")] {
        let principal = Principal::new(user);
        let readable = index.readable(Some(&principal))?;
        let response = index.search(&SearchRequest {
            k: 1,
            principal: Some(principal),
            ..SearchRequest::new(QUESTION)
        })?;
        let top = match response.hits.first() {
            Some(h) => format!(
                "{} ({}:{}-{})",
                h.provenance.title,
                h.provenance.doc_id,
                h.provenance.line_range[0],
                h.provenance.line_range[1]
            ),
            None => "nothing".to_string(),
        };
        writeln!(
            out,
            "  as {user:<6} ({who}, may read {} of {} documents): {top}",
            readable.documents, owner.documents
        )?;
    }
    Ok(())
}

pub(super) fn demo(args: DemoArgs, model: Model, quiet: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let corpus = match args.corpus {
        Some(c) => c,
        None if Path::new("corpus/questions.jsonl").is_file() => PathBuf::from("corpus"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus"),
    };
    let corpus = corpus
        .canonicalize()
        .with_context(|| format!("cannot find the demo corpus at {}", corpus.display()))?;
    let dir = args
        .index
        .unwrap_or_else(|| lore::cache_home().join("demo-index"));
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "lore demo: indexing {} into {}",
        corpus.display(),
        dir.display()
    )?;
    // The demo writes only to a directory it made (or a new or empty one), and may replace all
    // of what it made.
    let report = builder(&dir, model.clone(), false)
        .owned_by("lore demo")
        .allow_mass_delete(true)
        .progress(progress::reporter(quiet))
        .build(std::slice::from_ref(&corpus))
        .context("cannot build the demo index")?;
    print_summary(&mut out, &report, &dir)?;

    let index = open(&dir, model)?;
    let questions = read_questions(&corpus.join("questions.jsonl"))?;
    writeln!(
        out,
        "\n{} sample questions; the first {} answered in full:\n",
        questions.len(),
        args.show.min(questions.len())
    )?;
    for q in questions.iter().take(args.show) {
        writeln!(out, "Q: {}", q.question)?;
        let response = index.search(&SearchRequest {
            text: q.question.clone(),
            k: 3,
            ranking: args.ranking.options(),
            ..SearchRequest::default()
        })?;
        print_response(&mut out, &response)?;
        let found = response.hits.iter().position(|h| is_gold(h, &q.gold));
        match found {
            Some(i) => writeln!(out, "    ✓ gold passage at rank {}\n", i + 1)?,
            None => writeln!(out, "    ✗ gold passage not in the top 3\n")?,
        }
    }
    writeln!(
        out,
        "Recall@5 over {} questions in corpus/questions.jsonl:",
        questions.len()
    )?;
    for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
        let r = recall_at_k(&index, &questions, mode, 5, args.ranking.options())?;
        let missed: Vec<&str> = r
            .results
            .iter()
            .filter(|q| q.first_gold_rank.is_none())
            .map(|q| q.id.as_str())
            .collect();
        writeln!(
            out,
            "  {:<8} {:.3}  ({}/{}){}",
            mode.as_str(),
            r.recall,
            r.results.len() - missed.len(),
            r.results.len(),
            if missed.is_empty() {
                String::new()
            } else {
                format!("  missed: {}", missed.join(" "))
            }
        )?;
    }
    let typed = questions.iter().filter(|q| q.kind.is_some()).count();
    writeln!(
        out,
        "\nOrganizational memory: {} questions, {typed} of them typed (hybrid; `lore eval corpus/questions.jsonl` for every mode):",
        questions.len()
    )?;
    let memory = evaluate_memory(
        &index,
        &questions,
        Mode::Hybrid,
        args.ranking.options(),
        &[300, 800],
    )?;
    memory::print_memory_table(&mut out, &memory)?;
    if index.access_control()? {
        demo_access(&mut out, &index)?;
    }
    writeln!(
        out,
        "demo finished in {:.1}s",
        started.elapsed().as_secs_f64()
    )?;
    writeln!(
        out,
        "ask your own: cargo run --release -- search \"who really approves discounts?\" --index {}",
        dir.display()
    )?;
    Ok(ExitCode::SUCCESS)
}
