//! `lore eval`: quality and latency on a labelled data set (BEIR layout).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use sha2::Digest;

use lore::eval::{
    evaluate_memory, evaluate_mode, plan, read_questions, write_trec_run, Dataset, EvalOptions,
    ModeResult,
};
use lore::ChunkOptions;
use lore::RankingOptions;
use lore::{Mode, Skipped};

use super::memory::print_memory_table;
use super::{builder, open, progress, Model, RankingArgs};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A BEIR-style folder holding corpus.jsonl, queries.jsonl and qrels.tsv (e.g.
    /// data/scifact); or a questions file (JSONL: id, question, gold passages, and for
    /// organizational-memory questions type, as_of, gold_people, not_in_force), evaluated on
    /// the folder that holds it (e.g. corpus/questions.jsonl). Or give --corpus, --queries and --qrels.
    #[arg(value_name = "DATASET_DIR")]
    dataset: Option<PathBuf>,
    /// Corpus to index (a JSONL file or any path `lore index` takes).
    #[arg(long, value_name = "PATH", requires_all = ["queries", "qrels"], conflicts_with = "dataset")]
    corpus: Option<PathBuf>,
    /// Queries file (JSONL with id and text).
    #[arg(long, value_name = "FILE", requires = "corpus")]
    queries: Option<PathBuf>,
    /// Judgements (TSV: query-id, corpus-id, score).
    #[arg(long, value_name = "FILE", requires = "corpus")]
    qrels: Option<PathBuf>,
    /// Modes to evaluate: all, or a comma-separated list of lexical, dense, hybrid.
    #[arg(
        long,
        default_value = "all",
        value_name = "MODES",
        value_delimiter = ','
    )]
    mode: Vec<String>,
    /// Restrict each query's candidates to documents whose metadata FIELD equals the query's
    /// FIELD (meeting-scoped evaluation on QMSum: --scope meeting_id).
    #[arg(long, value_name = "FIELD")]
    scope: Option<String>,
    /// Index directory to build or reuse (default: ~/.cache/lore/eval/<name>-<hash of the
    /// corpus path>). Reused when the corpus and settings are unchanged.
    #[arg(long, short = 'i', value_name = "DIR")]
    index: Option<PathBuf>,
    /// Build a lexical-only index (no model needed; only --mode lexical can be evaluated).
    #[arg(long)]
    no_embed: bool,
    /// Rebuild the index even when it is current (vectors still come from the embedding cache).
    #[arg(long)]
    rebuild: bool,
    /// Where to write eval.json and one TREC run file per mode (default:
    /// ./lore-eval/<name>[-<scope>]).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Chunk size limit, in estimated word-piece tokens.
    #[arg(long, default_value_t = ChunkOptions::default().max_tokens, value_name = "N")]
    max_tokens: usize,
    /// Documents ranked per query (Recall@100 needs at least 100).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = super::values::count())]
    depth: usize,
    #[command(flatten)]
    ranking: RankingArgs,
    /// Context budgets (tokens) tried for a questions file.
    #[arg(long, value_delimiter = ',', default_values_t = [300, 800], value_name = "TOKENS", value_parser = super::values::count())]
    budgets: Vec<usize>,
    /// Print eval.json to stdout instead of the table.
    #[arg(long)]
    json: bool,
}

fn parse_modes(specs: &[String]) -> anyhow::Result<Vec<Mode>> {
    let mut modes = Vec::new();
    for spec in specs {
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case("all") {
            for m in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
                if !modes.contains(&m) {
                    modes.push(m);
                }
            }
            continue;
        }
        let m: Mode = spec.parse()?;
        if !modes.contains(&m) {
            modes.push(m);
        }
    }
    if modes.is_empty() {
        return Err(super::values::usage(
            "--mode needs at least one of lexical, dense, hybrid or all",
        ));
    }
    Ok(modes)
}

#[derive(Debug, Serialize)]
struct IndexInfo {
    dir: PathBuf,
    reused: bool,
    build_seconds: f64,
    embed_seconds: f64,
    embedded: usize,
    from_cache: usize,
    documents: usize,
    chunks: usize,
    model: Option<String>,
    max_tokens: usize,
    skipped: Vec<Skipped>,
}

#[derive(Debug, Serialize)]
struct ModeReport {
    #[serde(flatten)]
    result: ModeResult,
    run_file: PathBuf,
}

#[derive(Debug, Serialize)]
struct Report {
    dataset: String,
    corpus: PathBuf,
    queries_file: PathBuf,
    qrels_file: PathBuf,
    scope: Option<String>,
    ranking: RankingOptions,
    depth: usize,
    queries_total: usize,
    queries_evaluated: usize,
    queries_skipped: BTreeMap<String, usize>,
    judged_without_query: usize,
    unreadable_lines: Vec<Skipped>,
    index: IndexInfo,
    modes: BTreeMap<String, ModeReport>,
    seconds: f64,
}

pub fn eval(args: EvalArgs, model: Model, quiet: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let modes = parse_modes(&args.mode)?;
    if let Some(file) = args.dataset.as_ref().filter(|d| d.is_file()) {
        return eval_questions(&args, file, &modes, model, quiet);
    }
    let dataset = match (&args.dataset, &args.corpus, &args.queries, &args.qrels) {
        (Some(dir), _, _, _) => Dataset::open_dir(dir)?,
        (None, Some(c), Some(q), Some(r)) => Dataset::from_paths(c, q, r)?,
        _ => {
            return Err(super::values::usage(
                "give a data set folder, or --corpus, --queries and --qrels",
            ))
        }
    };
    let corpus = dataset
        .corpus
        .canonicalize()
        .with_context(|| format!("cannot read the corpus at {}", dataset.corpus.display()))?;
    let index_dir = args
        .index
        .clone()
        .unwrap_or_else(|| default_index_dir(&corpus, &dataset.name));
    let out_dir = args.out.clone().unwrap_or_else(|| {
        let name = match &args.scope {
            Some(s) => format!("{}-{s}", dataset.name),
            None => dataset.name.clone(),
        };
        PathBuf::from("lore-eval").join(name)
    });
    let built = build_or_reuse(&args, &modes, &corpus, &index_dir, model.clone(), quiet)?;
    let mut err = std::io::stderr().lock();
    let reused = built.is_none();
    let (build_seconds, embed_seconds, embedded, from_cache) = match &built {
        None => (0.0, 0.0, 0, 0),
        Some(report) => (
            report.seconds,
            report.embed_seconds,
            report.num_embedded,
            report.num_cached,
        ),
    };
    let index = open(&index_dir, model)?;
    let manifest = index.manifest().clone();
    let index_skipped = index.skipped()?;
    for s in index_skipped.iter().chain(&dataset.skipped) {
        writeln!(err, "skipped {s}")?;
    }

    let options = EvalOptions {
        scope: args.scope.clone(),
        ranking: args.ranking.options(),
        depth: args.depth,
    };
    let plan = plan(&dataset, &options);
    let mut skipped_reasons: BTreeMap<String, usize> = BTreeMap::new();
    for s in &plan.skipped {
        *skipped_reasons.entry(s.reason.clone()).or_default() += 1;
    }
    for (reason, n) in &skipped_reasons {
        writeln!(err, "{n} queries not evaluated: {reason}")?;
    }
    if plan.judged_without_query > 0 {
        writeln!(
            err,
            "{} judged query ids have no query in {}",
            plan.judged_without_query,
            dataset.queries_path.display()
        )?;
    }
    if plan.queries.is_empty() {
        bail!(
            "no query of {} has a relevant document in {}",
            dataset.queries_path.display(),
            dataset.qrels_path.display()
        );
    }

    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let doc_ids = index.doc_ids_by_ord()?;
    let progress = progress::reporter(quiet);
    let mut reports = BTreeMap::new();
    for mode in &modes {
        let result = evaluate_mode(
            &index, &doc_ids, &dataset, &plan, *mode, &options, &*progress,
        )?;
        let run_file = out_dir.join(format!("{}.trec", mode.as_str()));
        write_trec_run(&run_file, &result.runs, &format!("lore-{}", mode.as_str()))?;
        reports.insert(mode.as_str().to_string(), ModeReport { result, run_file });
    }

    let report = Report {
        dataset: dataset.name.clone(),
        corpus,
        queries_file: dataset.queries_path.clone(),
        qrels_file: dataset.qrels_path.clone(),
        scope: args.scope.clone(),
        ranking: options.ranking,
        depth: options.depth,
        queries_total: dataset.queries.len(),
        queries_evaluated: plan.queries.len(),
        queries_skipped: skipped_reasons,
        judged_without_query: plan.judged_without_query,
        unreadable_lines: dataset.skipped.clone(),
        index: IndexInfo {
            dir: index_dir.clone(),
            reused,
            build_seconds,
            embed_seconds,
            embedded,
            from_cache,
            documents: manifest.counts.documents,
            chunks: manifest.counts.chunks,
            model: manifest.model.as_ref().map(|m| m.id.clone()),
            max_tokens: manifest.chunking.max_tokens,
            skipped: index_skipped,
        },
        modes: reports,
        seconds: started.elapsed().as_secs_f64(),
    };
    let json_path = out_dir.join("eval.json");
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(&json_path, format!("{json}\n"))
        .with_context(|| format!("cannot write {}", json_path.display()))?;

    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{json}")?;
    } else {
        print_table(&mut out, &report, &modes)?;
        writeln!(
            out,
            "wrote {} and one TREC run per mode",
            json_path.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(out: &mut impl Write, report: &Report, modes: &[Mode]) -> std::io::Result<()> {
    let scope = match &report.scope {
        Some(field) => format!("scoped by {field}"),
        None => "corpus-wide".to_string(),
    };
    writeln!(
        out,
        "{}: {} of {} queries evaluated, {scope}; {} documents as {} chunks ({})",
        report.dataset,
        report.queries_evaluated,
        report.queries_total,
        report.index.documents,
        report.index.chunks,
        if report.index.reused {
            "index reused".to_string()
        } else {
            format!(
                "indexed in {:.1}s, embedding {:.1}s: {} embedded, {} from the cache",
                report.index.build_seconds,
                report.index.embed_seconds,
                report.index.embedded,
                report.index.from_cache
            )
        }
    )?;
    writeln!(
        out,
        "{:<8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>10}",
        "mode", "nDCG@10", "R@10", "R@100", "MRR@10", "p50 ms", "p90 ms", "p99 ms", "first ms"
    )?;
    for mode in modes {
        let Some(r) = report.modes.get(mode.as_str()) else {
            continue;
        };
        let (m, l) = (&r.result.metrics, &r.result.latency_ms);
        writeln!(
            out,
            "{:<8} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>9.2} {:>9.2} {:>9.2} {:>10.1}",
            mode.as_str(),
            m.ndcg_10,
            m.recall_10,
            m.recall_100,
            m.mrr_10,
            l.p50,
            l.p90,
            l.p99,
            r.result.first_query_ms
        )?;
        for note in &r.result.notes {
            writeln!(out, "  note: {note}")?;
        }
        if r.result.fallbacks > 0 {
            writeln!(
                out,
                "  {} queries fell back to another mode",
                r.result.fallbacks
            )?;
        }
    }
    Ok(())
}

/// `lore eval QUESTIONS.jsonl`: organizational-memory figures per question type on the folder
/// that holds the questions file.
fn eval_questions(
    args: &EvalArgs,
    file: &std::path::Path,
    modes: &[Mode],
    model: Model,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let questions = read_questions(file)?;
    if questions.is_empty() {
        bail!("{} holds no questions", file.display());
    }
    let corpus = file
        .canonicalize()
        .with_context(|| format!("cannot read {}", file.display()))?
        .parent()
        .map(PathBuf::from)
        .context("the questions file has no folder")?;
    let name = corpus
        .file_name()
        .map_or("corpus".to_string(), |n| n.to_string_lossy().into_owned());
    let index_dir = args
        .index
        .clone()
        .unwrap_or_else(|| default_index_dir(&corpus, &name));
    build_or_reuse(args, modes, &corpus, &index_dir, model.clone(), quiet)?;
    let index = open(&index_dir, model)?;
    let mut reports = BTreeMap::new();
    for mode in modes {
        let report = evaluate_memory(
            &index,
            &questions,
            *mode,
            args.ranking.options(),
            &args.budgets,
        )?;
        reports.insert(mode.as_str().to_string(), report);
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("lore-eval").join(format!("{name}-questions")));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let value = serde_json::json!({
        "questions_file": file,
        "corpus": corpus,
        "index": index_dir,
        "budgets": args.budgets,
        "modes": reports,
        "seconds": started.elapsed().as_secs_f64(),
    });
    let eval_json = out_dir.join("eval.json");
    std::fs::write(&eval_json, serde_json::to_string_pretty(&value)? + "\n")
        .with_context(|| format!("cannot write {}", eval_json.display()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "{} questions in {}", questions.len(), file.display())?;
    for (mode, report) in &reports {
        writeln!(out, "\n{mode}:")?;
        print_memory_table(&mut out, report)?;
    }
    writeln!(
        out,
        "\nwritten to {} ({:.1}s)",
        eval_json.display(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The default index of an evaluated corpus: `~/.cache/lore/eval/<name>-<hash of its path>`.
fn default_index_dir(corpus: &std::path::Path, name: &str) -> PathBuf {
    let key = format!(
        "{:x}",
        sha2::Sha256::digest(corpus.to_string_lossy().as_bytes())
    );
    lore::cache_home()
        .join("eval")
        .join(format!("{name}-{}", &key[..8]))
}

/// Build the index of `corpus` for an evaluation, or reuse it when it is current (unless
/// `--rebuild`): the build report when it was built.
fn build_or_reuse(
    args: &EvalArgs,
    modes: &[Mode],
    corpus: &std::path::Path,
    index_dir: &std::path::Path,
    model: Model,
    quiet: bool,
) -> anyhow::Result<Option<lore::BuildReport>> {
    let mut err = std::io::stderr().lock();
    if args.no_embed && modes.iter().any(|m| *m != Mode::Lexical) {
        return Err(super::values::usage(
            "--no-embed builds a lexical-only index: evaluate it with --mode lexical",
        ));
    }
    let build = builder(index_dir, model, args.no_embed)
        .chunk_options(ChunkOptions {
            max_tokens: args.max_tokens,
        })
        // A rebuild starts from nothing, so that its time is a full build's.
        .reuse_index(!args.rebuild)
        // The evaluation's index mirrors its corpus, whatever share of it changed.
        .allow_mass_delete(true);
    let inputs = [corpus.to_path_buf()];
    if !args.rebuild && build.is_current(&inputs)? {
        writeln!(err, "reusing the current index at {}", index_dir.display())?;
        return Ok(None);
    }
    writeln!(
        err,
        "indexing {} into {} (vectors of text embedded before come from the cache)",
        corpus.display(),
        index_dir.display()
    )?;
    let report = build
        .progress(progress::reporter(quiet))
        .build(&inputs)
        .with_context(|| format!("cannot build the index at {}", index_dir.display()))?;
    for note in &report.notes {
        writeln!(err, "note: {note}")?;
    }
    Ok(Some(report))
}
