//! `lore stats` and `lore verify`: what an index holds (or what one user may read of it),
//! and whether every citation still holds.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use lore::path_text::display;
use lore::{Index, Principal, SourceStatus};

use super::{AsUser, InspectArgs, EXIT_SKIPPED};

/// The arguments of `lore stats`.
#[derive(Debug, Args)]
pub(super) struct StatsArgs {
    #[command(flatten)]
    inspect: InspectArgs,
    #[command(flatten)]
    as_user: AsUser,
}

pub(super) fn verify(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let index = Index::open(&args.index)?;
    let report = index.verify()?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        for p in &report.problems {
            writeln!(
                out,
                "{:<8}  {}  ({})",
                p.status.as_str(),
                display(&p.path),
                p.detail
            )?;
            for id in p.broken_chunks.iter().take(3) {
                writeln!(out, "          {}", display(id))?;
            }
            if p.broken_chunks.len() > 3 {
                writeln!(out, "          … and {} more", p.broken_chunks.len() - 3)?;
            }
        }
        writeln!(
            out,
            "{} of {} citations hold; sources: {} cited, {} changed, {} moved, {} vanished",
            report.num_sound_chunks,
            report.num_chunks,
            report.num_sources,
            report.count(SourceStatus::Changed),
            report.count(SourceStatus::Moved),
            report.count(SourceStatus::Vanished),
        )?;
        if !report.is_sound() {
            writeln!(
                out,
                "re-index the sources (`lore index <PATH>... --index {}`) to make every citation hold again",
                args.index.display()
            )?;
        }
    }
    Ok(if report.is_sound() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SKIPPED)
    })
}

/// `lore stats --as USER`: what USER may read, counted, and nothing about the rest.
fn stats_as(index: &Index, args: &InspectArgs, principal: &Principal) -> anyhow::Result<ExitCode> {
    let readable = index.readable(Some(principal))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({ "as": principal.user, "readable": readable });
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "index:      {}", args.index.display())?;
    writeln!(out, "as:         {}", principal.user)?;
    writeln!(out, "documents:  {}", readable.documents)?;
    writeln!(out, "chunks:     {}", readable.chunks)?;
    let tally = readable
        .ledger
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    match tally.is_empty() {
        true => writeln!(out, "ledger:     no decisions or action items")?,
        false => writeln!(out, "ledger:     {tally}")?,
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn stats(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let StatsArgs {
        inspect: args,
        as_user,
    } = args;
    let index = Index::open(&args.index)?;
    if let Some(principal) = as_user.principal() {
        return stats_as(&index, &args, &principal);
    }
    let access = index.access_summary()?;
    let manifest = index.manifest();
    let skipped = index.skipped()?;
    let ledger = index.ledger()?;
    let people = index.people()?;
    let unknown = people.unknown();
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({
            "manifest": manifest,
            "skipped": skipped,
            "ledger": {
                "entries": ledger.tally(),
                "unresolved_links": ledger.unresolved(),
            },
            "access": access,
            "people": {
                "file": people.file,
                "known": people.people.len(),
                "unknown_names": unknown
                    .iter()
                    .map(|(name, count)| serde_json::json!({ "name": name, "count": count }))
                    .collect::<Vec<_>>(),
            },
        });
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let c = &manifest.counts;
    writeln!(out, "index:      {}", args.index.display())?;
    writeln!(
        out,
        "format:     version {} (lore {})",
        manifest.format_version, manifest.lore_version
    )?;
    match &manifest.model {
        Some(m) => writeln!(out, "model:      {} ({} dimensions)", m.id, m.dim)?,
        None => writeln!(out, "model:      none (lexical only)")?,
    }
    writeln!(
        out,
        "chunking:   up to {} tokens",
        manifest.chunking.max_tokens
    )?;
    writeln!(out, "files:      {}", c.files)?;
    writeln!(out, "documents:  {}", c.documents)?;
    let list = |m: &std::collections::BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "  by kind:   {}", list(&c.documents_by_kind))?;
    writeln!(out, "  by format: {}", list(&c.documents_by_format))?;
    writeln!(out, "chunks:     {}", c.chunks)?;
    writeln!(out, "skipped:    {}", c.skipped)?;
    for s in skipped.iter().take(20) {
        writeln!(out, "  {s}")?;
    }
    if skipped.len() > 20 {
        writeln!(
            out,
            "  … and {} more (lore stats --json lists all)",
            skipped.len() - 20
        )?;
    }
    let sources: Vec<String> = manifest
        .sources
        .iter()
        .map(|s| match manifest.root_names.get(s) {
            Some(name) if s.trim_end_matches('/').rsplit('/').next() != Some(name.as_str()) => {
                format!("{} (ids `{}/…`)", display(s), display(name))
            }
            _ => display(s).into_owned(),
        })
        .collect();
    writeln!(out, "sources:    {}", sources.join(", "))?;
    if access.enabled {
        let file = access
            .file
            .as_ref()
            .map_or("no access file".to_string(), |f| {
                lore::path_text::display_path(f)
            });
        writeln!(
            out,
            "access:     on ({file}; documents without readers: {})",
            match access.policy.default {
                lore::DefaultAccess::Deny => "deny",
                lore::DefaultAccess::Allow => "allow",
            }
        )?;
        for (readers, n) in &access.documents_by_readers {
            writeln!(out, "  {n:>5} documents readable by {readers}")?;
        }
    } else {
        writeln!(out, "access:     off (every query sees every document)")?;
    }
    let tally = ledger.tally();
    if tally.is_empty() {
        writeln!(out, "ledger:     no decisions or action items")?;
    } else {
        writeln!(out, "ledger:     {}", list(&tally))?;
    }
    for u in ledger.unresolved() {
        writeln!(
            out,
            "  {} says `{} {}`, but no record answers to that name",
            display(&u.path),
            u.link.relation.as_str(),
            u.link.target
        )?;
    }
    match &people.file {
        Some(file) => writeln!(
            out,
            "people:     {} in {}; {} names used in the documents, {} of them unknown to it",
            people.people.len(),
            display(file),
            people.seen.len(),
            unknown.len()
        )?,
        None => writeln!(
            out,
            "people:     no people file; {} names used in the documents, all kept as written",
            people.seen.len()
        )?,
    }
    if people.file.is_some() {
        for (name, count) in unknown.iter().take(20) {
            writeln!(out, "  unknown: {name} ({count})")?;
        }
        if unknown.len() > 20 {
            writeln!(
                out,
                "  … and {} more (lore stats --json lists all)",
                unknown.len() - 20
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
