//! The organizational-memory commands: `lore decisions` and `lore who`.

use lore::path_text::display;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use lore::eval::MemoryReport;
use lore::{
    Date, DecisionsRequest, EntryKind, Mode, StatusFilter, WhoRequest, DEFAULT_HALF_LIFE_DAYS,
};

use super::{open_for_one_question, AsUser, Model};

#[derive(Debug, Args)]
pub struct DecisionsArgs {
    /// A topic (e.g. "billing reconciliation schedule"); without one, every entry is listed,
    /// newest first.
    query: Option<String>,
    /// Index directory (default: $LORE_INDEX).
    #[arg(long, short = 'i', value_name = "DIR", env = "LORE_INDEX")]
    index: PathBuf,
    /// Stand at this day (YYYY-MM-DD) instead of today: list what was in force then.
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// Which entries: in-force (accepted decisions and open actions, the default), all, or one
    /// status: proposed, accepted, rejected, deprecated, superseded, open, done.
    #[arg(long, default_value = "in-force", value_name = "STATUS")]
    status: StatusFilter,
    /// Only decisions or only actions.
    #[arg(long, value_name = "KIND", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<EntryKind>()))]
    kind: Option<EntryKind>,
    /// At most this many entries (at least 1).
    #[arg(short = 'k', long, default_value_t = 10, value_parser = super::values::count())]
    k: usize,
    /// Retrievers used to match the topic: lexical, dense or hybrid.
    #[arg(long, default_value = "hybrid", value_name = "MODE")]
    mode: Mode,
    #[command(flatten)]
    as_user: AsUser,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

pub fn decisions(args: DecisionsArgs, model: Model) -> anyhow::Result<ExitCode> {
    let index = open_for_one_question(&args.index, model)?;
    let answer = index.decisions(&DecisionsRequest {
        query: args.query.clone(),
        as_of: args.as_of,
        status: args.status,
        kind: args.kind,
        limit: args.k,
        mode: args.mode,
        principal: args.as_user.principal(),
    })?;
    std::mem::forget(index);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &answer)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let when = match answer.as_of {
        Some(d) => format!("as of {d}"),
        None => "today".to_string(),
    };
    if answer.entries.is_empty() {
        writeln!(
            out,
            "no entries match ({} in the ledger, {when})",
            answer.ledger_size
        )?;
    }
    for (i, d) in answer.entries.iter().enumerate() {
        let e = &d.entry;
        writeln!(out, "{:>2}. {}", i + 1, e.title)?;
        let mut facts = vec![format!(
            "{} {}",
            e.kind.as_str(),
            d.standing.status.as_str()
        )];
        if let Some(by) = &d.standing.superseded_by {
            let since = d
                .standing
                .since
                .as_deref()
                .map(|s| format!(" since {s}"))
                .unwrap_or_default();
            facts.push(format!("by {by}{since}"));
        }
        facts.extend(e.date.clone());
        if !d.people.is_empty() {
            let role = match e.kind {
                EntryKind::Decision => "decided by",
                EntryKind::Action => "owner",
            };
            let names: Vec<String> = d
                .people
                .iter()
                .zip(&e.people)
                .map(|(canonical, written)| {
                    if canonical == written {
                        canonical.clone()
                    } else {
                        format!("{canonical} (as {written})")
                    }
                })
                .collect();
            facts.push(format!("{role} {}", names.join(", ")));
        }
        if let Some(due) = &e.due {
            facts.push(format!("due {due}"));
        }
        writeln!(out, "    {}", facts.join(" · "))?;
        writeln!(
            out,
            "    {}:{}-{}",
            display(&e.path),
            e.line_range[0],
            e.line_range[1]
        )?;
        if let Some(stale) = &d.stale {
            writeln!(out, "    ⚠ source {}", stale.describe())?;
        }
        if d.history.len() > 1 {
            let steps: Vec<String> = d
                .history
                .iter()
                .map(|h| {
                    let status = h.status.map_or("not yet made", |s| s.as_str());
                    format!(
                        "{} ({}, {status})",
                        short_title(&h.title),
                        h.date.as_deref().unwrap_or("undated")
                    )
                })
                .collect();
            writeln!(out, "    history: {}", steps.join(" → "))?;
        }
        if let Some(why) = &e.rationale {
            writeln!(out, "    why: {}", clip(why, 200))?;
        }
    }
    for u in &answer.unresolved {
        writeln!(
            out,
            "note: {} says `{} {}`, but no record answers to that name ({})",
            u.entry,
            u.link.relation.as_str(),
            u.link.target,
            display(&u.path)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `ADR-0005` out of `ADR-0005: Run billing reconciliation nightly`, else the title clipped.
fn short_title(title: &str) -> String {
    match title.split_once(':') {
        Some((head, _)) if head.len() <= 16 => head.to_string(),
        _ => clip(title, 48),
    }
}

/// At most `max` characters, cut at a word boundary with `…`.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("{cut}…")
}

#[derive(Debug, Args)]
pub struct WhoArgs {
    /// The topic or question (e.g. "billing reconciliation", "who knows SSO?").
    topic: String,
    /// Index directory (default: $LORE_INDEX).
    #[arg(long, short = 'i', value_name = "DIR", env = "LORE_INDEX")]
    index: PathBuf,
    /// Stand at this day (YYYY-MM-DD): evidence dated later does not count, and age is
    /// measured from it.
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// People to list (at least 1).
    #[arg(short = 'k', long, default_value_t = 5, value_parser = super::values::count())]
    k: usize,
    /// Evidence halves in weight every this many days.
    #[arg(long, default_value_t = DEFAULT_HALF_LIFE_DAYS, value_name = "DAYS", value_parser = super::values::positive(), allow_negative_numbers = true)]
    half_life: f64,
    /// Retrievers used to find the evidence: lexical, dense or hybrid.
    #[arg(long, default_value = "hybrid", value_name = "MODE")]
    mode: Mode,
    #[command(flatten)]
    as_user: AsUser,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

pub fn who(args: WhoArgs, model: Model) -> anyhow::Result<ExitCode> {
    let index = open_for_one_question(&args.index, model)?;
    let answer = index.who(&WhoRequest {
        topic: args.topic.clone(),
        as_of: args.as_of,
        limit: args.k,
        half_life_days: args.half_life,
        mode: args.mode,
        filters: Vec::new(),
        principal: args.as_user.principal(),
    })?;
    std::mem::forget(index);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &answer)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    for note in &answer.notes {
        writeln!(out, "note: {note}")?;
    }
    if answer.people.is_empty() {
        writeln!(out, "nobody: no passage on this topic names a person")?;
    }
    for (i, p) in answer.people.iter().enumerate() {
        let mut about: Vec<String> = Vec::new();
        about.extend(p.role.clone());
        about.extend(p.team.clone());
        if !p.known {
            about.push("not in the people file".to_string());
        }
        let about = if about.is_empty() {
            String::new()
        } else {
            format!(" — {}", about.join(", "))
        };
        writeln!(
            out,
            "{:>2}. {}{about}  [{:.3}, {} passages]",
            i + 1,
            p.name,
            p.score,
            p.num_evidence
        )?;
        for e in &p.evidence {
            let written = if e.as_written == p.name {
                String::new()
            } else {
                format!(" (as {})", e.as_written)
            };
            writeln!(
                out,
                "    {}{written}: {} {}:{}-{}{}",
                e.kind.as_str(),
                clip(&e.title, 60),
                display(&e.path),
                e.line_range[0],
                e.line_range[1],
                e.date
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )?;
            if let Some(stale) = &e.stale {
                writeln!(out, "      ⚠ source {}", stale.describe())?;
            }
        }
    }
    writeln!(
        out,
        "(evidence weighted by role, rank and age: half-life {} days)",
        answer.half_life_days
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The per-type table of an organizational-memory evaluation.
pub fn print_memory_table(out: &mut impl Write, report: &MemoryReport) -> std::io::Result<()> {
    let budgets: Vec<String> = report.budgets.iter().map(|b| format!("ctx@{b}")).collect();
    writeln!(
        out,
        "  {:<17} {:>3}  {:>5}  {:>6}  {:>10}  {:>8}  {}",
        "type",
        "n",
        "R@5",
        "MRR@10",
        "superseded",
        "who P@3",
        budgets
            .iter()
            .map(|b| format!("{b:>8}"))
            .collect::<Vec<_>>()
            .join("  ")
    )?;
    for t in report.types.iter().chain(std::iter::once(&report.all)) {
        let superseded = if t.superseded_checked > 0 {
            format!("{}/{}", t.superseded_first, t.superseded_checked)
        } else {
            "-".to_string()
        };
        let who = t
            .who_precision_at_3
            .map_or("-".to_string(), |p| format!("{p:.3}"));
        let context: Vec<String> = report
            .budgets
            .iter()
            .map(|b| {
                t.context_quote_share
                    .get(b)
                    .map_or("-".to_string(), |s| format!("{s:.3}"))
            })
            .map(|s| format!("{s:>8}"))
            .collect();
        writeln!(
            out,
            "  {:<17} {:>3}  {:>5.3}  {:>6.3}  {:>10}  {:>8}  {}",
            t.kind,
            t.questions,
            t.recall_at_5,
            t.mrr_at_10,
            superseded,
            who,
            context.join("  ")
        )?;
    }
    let all = &report.all;
    for b in &report.budgets {
        let (exact, cited) = all.context_citations.get(b).copied().unwrap_or((0, 0));
        let max = all.context_max_tokens.get(b).copied().unwrap_or(0);
        let answered = all.context_question_share.get(b).copied().unwrap_or(0.0);
        writeln!(
            out,
            "  context at {b} tokens: {exact} of {cited} citations re-read exactly; largest pack {max} tokens; {:.0}% of questions get a gold quote",
            100.0 * answered
        )?;
    }
    writeln!(
        out,
        "  (superseded: rule questions where a record not in force at the question's date ranks above the gold passage; ctx@N: share of gold quotes inside the context packed in N tokens)"
    )
}
