//! `lore search` and `lore context`: a question asked once, answered with ranked, cited
//! snippets or a context pack, and how a search response is printed as text.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use lore::path_text::display;
use lore::{
    parse_filter, ContextRequest, Date, DecisionLabel, Filter, Mode, PackFormat, SearchRequest,
    SearchResponse, Status,
};

use super::{open_for_one_question, values, AsUser, Model, RankingArgs};

#[derive(Debug, Args)]
pub(super) struct SearchArgs {
    /// The question or keywords.
    query: String,
    /// Index directory (default: $LORE_INDEX).
    #[arg(long, short = 'i', value_name = "DIR", env = "LORE_INDEX")]
    index: PathBuf,
    /// Number of results (at least 1).
    #[arg(short = 'k', long, default_value_t = 10, value_parser = values::count())]
    k: usize,
    /// Retrievers: lexical (BM25), dense (embeddings) or hybrid (both, fused).
    #[arg(long, default_value = "hybrid", value_name = "MODE")]
    mode: Mode,
    /// Restrict results; repeatable, all must hold. Keys: kind, format, path (folder prefix),
    /// author, speaker, person, tag, since, until; any other key matches that metadata field
    /// exactly (e.g. meeting_id=Bed003, status=Accepted).
    #[arg(long = "filter", short = 'f', value_name = "KEY=VALUE")]
    filters: Vec<String>,
    /// Only documents dated on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only documents dated on or before this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    #[command(flatten)]
    ranking: RankingArgs,
    /// Fail when the query cannot be embedded (model missing, index without embeddings)
    /// instead of answering a hybrid search with lexical results and a note.
    #[arg(long)]
    strict: bool,
    /// Rank and label decisions as they stood on this day (YYYY-MM-DD) instead of today: the
    /// decision in force then wins over the one that later replaced it.
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    #[command(flatten)]
    as_user: AsUser,
    /// Print the response as JSON (stable: the same query gives the same bytes).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum PackFormatArg {
    /// Markdown: header, numbered passages, sources.
    Md,
    /// The pack as JSON (passages, citations, token count and tokenizer).
    Json,
}

#[derive(Debug, Args)]
pub(super) struct ContextArgs {
    /// The question.
    question: String,
    /// The most tokens the output may take, counted with the model's tokenizer.
    #[arg(long, short = 'b', value_name = "TOKENS", value_parser = values::count())]
    budget: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    format: PackFormatArg,
    /// Index directory (default: $LORE_INDEX).
    #[arg(long, short = 'i', value_name = "DIR", env = "LORE_INDEX")]
    index: PathBuf,
    /// Retrievers: lexical (BM25), dense (embeddings) or hybrid (both, fused).
    #[arg(long, default_value = "hybrid", value_name = "MODE")]
    mode: Mode,
    /// Restrict passages; repeatable, all must hold (keys as for `lore search`).
    #[arg(long = "filter", short = 'f', value_name = "KEY=VALUE")]
    filters: Vec<String>,
    /// Label and rank decisions as they stood on this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// How many search hits to consider.
    #[arg(long, default_value_t = lore::DEFAULT_NUM_CANDIDATES, value_name = "N", value_parser = values::count())]
    candidates: usize,
    #[command(flatten)]
    as_user: AsUser,
}

fn request_from(args: &SearchArgs) -> anyhow::Result<SearchRequest> {
    let mut filters: Vec<Filter> = args
        .filters
        .iter()
        .map(|f| parse_filter(f))
        .collect::<Result<_, _>>()?;
    if args.since.is_some() || args.until.is_some() {
        filters.push(Filter::DateRange {
            since: args.since.as_deref().map(str::parse).transpose()?,
            until: args.until.as_deref().map(str::parse).transpose()?,
        });
    }
    Ok(SearchRequest {
        text: args.query.clone(),
        k: args.k,
        mode: args.mode,
        filters,
        ranking: args.ranking.options(),
        strict: args.strict,
        as_of: args.as_of,
        principal: args.as_user.principal(),
    })
}

pub(super) fn search(args: SearchArgs, model: Model) -> anyhow::Result<ExitCode> {
    let request = request_from(&args)?;
    let index = open_for_one_question(&args.index, model)?;
    let response = index.search(&request)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &response)?;
        writeln!(out)?;
    } else {
        print_response(&mut out, &response)?;
    }
    out.flush()?;
    // The process ends here: tearing down the model session and the index would only delay
    // the exit, and the operating system reclaims it all at once.
    std::mem::forget(index);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn context(args: ContextArgs, model: Model) -> anyhow::Result<ExitCode> {
    let filters = args
        .filters
        .iter()
        .map(|f| parse_filter(f))
        .collect::<Result<Vec<Filter>, _>>()?;
    let request = ContextRequest {
        format: match args.format {
            PackFormatArg::Md => PackFormat::Md,
            PackFormatArg::Json => PackFormat::Json,
        },
        mode: args.mode,
        filters,
        as_of: args.as_of,
        num_candidates: args.candidates,
        principal: args.as_user.principal(),
        ..ContextRequest::new(args.question, args.budget)
    };
    let index = open_for_one_question(&args.index, model)?;
    let pack = index.context(&request)?;
    let mut out = std::io::stdout().lock();
    out.write_all(pack.rendered.as_bytes())?;
    out.flush()?;
    std::mem::forget(index);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn print_response(
    out: &mut impl Write,
    response: &SearchResponse,
) -> std::io::Result<()> {
    for note in &response.notes {
        writeln!(out, "note: {note}")?;
    }
    if response.hits.is_empty() {
        writeln!(out, "no results")?;
    }
    for hit in &response.hits {
        let p = &hit.provenance;
        let mut place = p.title.clone();
        for h in &p.heading_path {
            if *h != p.title {
                place.push_str(" › ");
                place.push_str(h);
            }
        }
        writeln!(out, "{:>2}. {place}  [{:.4}]", hit.rank, hit.score)?;
        let mut facts = vec![p.kind.clone()];
        facts.extend(p.date.clone());
        if !p.speakers.is_empty() {
            facts.push(p.speakers.join(", "));
        } else if !p.authors.is_empty() {
            facts.push(p.authors.join(", "));
        }
        if let (Some(s), Some(e)) = (p.start_ms, p.end_ms) {
            facts.push(format!("{}–{}", clock(s), clock(e)));
        }
        writeln!(
            out,
            "    {}:{}-{}  ({})",
            display(&p.path),
            p.line_range[0],
            p.line_range[1],
            facts.join(", ")
        )?;
        if let Some(stale) = &hit.stale {
            writeln!(out, "    ⚠ source {}", stale.describe())?;
        }
        if let Some(d) = &hit.decision {
            writeln!(out, "    {}", describe_label(d))?;
        }
        let why: Vec<String> = [("lexical", hit.lexical), ("dense", hit.dense)]
            .iter()
            .filter_map(|(name, r)| r.map(|r| format!("{name} #{} ({:.3})", r.rank, r.score)))
            .collect();
        if !why.is_empty() {
            writeln!(out, "    {}", why.join(" · "))?;
        }
        let snippet = hit.snippet.render("«", "»", hit.text.len());
        for line in snippet.lines().filter(|l| !l.trim().is_empty()) {
            writeln!(out, "    │ {line}")?;
        }
    }
    Ok(())
}

/// `⚠ superseded by ADR-0010: … (since 2026-03-17)`, `decision: accepted`, `action: open`.
fn describe_label(d: &DecisionLabel) -> String {
    if d.after_as_of {
        return format!("⚠ not made yet at that date ({} later)", d.kind.as_str());
    }
    match (&d.superseded_by, d.status) {
        (Some(by), _) => format!(
            "⚠ superseded by {}{}",
            d.superseded_by_title.as_deref().unwrap_or(by),
            d.since
                .as_deref()
                .map(|s| format!(" (since {s})"))
                .unwrap_or_default()
        ),
        (None, Status::Superseded) => "⚠ superseded".to_string(),
        (None, status) => format!("{}: {}", d.kind.as_str(), status.as_str()),
    }
}

fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}
