//! `lore index`, `lore rm` and `lore rollback`: the commands that write an index, and the
//! summary of a build they print.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use lore::path_text::display;
use lore::{BuildReport, ChunkOptions, IndexWriter, LoadOptions};

use super::{builder, progress, InspectArgs, Model, EXIT_SKIPPED};

#[derive(Debug, Args)]
pub(super) struct IndexArgs {
    /// Files or folders to index.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Index directory to write.
    #[arg(long, short = 'i', value_name = "DIR")]
    index: PathBuf,
    /// Build a lexical-only index (no model needed; dense and hybrid search fall back to
    /// lexical).
    #[arg(long)]
    no_embed: bool,
    /// Chunk size limit, in estimated word-piece tokens (default: the existing index's, else
    /// 256).
    #[arg(long, value_name = "N")]
    max_tokens: Option<usize>,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = LoadOptions::default().max_file_bytes, value_name = "BYTES")]
    max_file_size: u64,
    /// Do not use the embedding cache (vectors of text embedded before, kept by content hash in
    /// $LORE_CACHE_DIR, default ~/.cache/lore/embeddings). Unchanged files still keep their
    /// vectors from the index unless --rebuild is given too.
    #[arg(long)]
    no_cache: bool,
    /// Keep the documents of files that are no longer found (add the PATHs to the index
    /// instead of making it mirror them).
    #[arg(long)]
    no_delete: bool,
    /// Let this update remove more than half of the index's documents (and more than 10), or
    /// documents of a PATH that now holds none. Without it such an update stops before writing
    /// anything: a PATH that is unmounted or emptied must not empty the index.
    #[arg(long)]
    allow_mass_delete: bool,
    /// Ignore the existing index: load, chunk and embed every file afresh (with --no-cache, the
    /// model embeds every chunk).
    #[arg(long, conflicts_with = "no_delete")]
    rebuild: bool,
    /// The people file merging name variants (default: people.yaml, people.yml or people.toml
    /// at the root of an indexed folder). See `lore who`.
    #[arg(long, value_name = "FILE")]
    people: Option<PathBuf>,
    /// The access file saying who may read what (default: access.toml at the root of an
    /// indexed folder). See the README's "Access control".
    #[arg(long, value_name = "FILE")]
    access: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct RmArgs {
    /// Document ids, id prefixes (folders of ids) or source paths to remove.
    #[arg(required = true, value_name = "ID-OR-PATH")]
    patterns: Vec<String>,
    /// Index directory.
    #[arg(long, short = 'i', value_name = "DIR", env = "LORE_INDEX")]
    index: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub(super) fn index(args: IndexArgs, model: Model, quiet: bool) -> anyhow::Result<ExitCode> {
    let mut builder = builder(&args.index, model, args.no_embed)
        .reuse_index(!args.rebuild)
        .keep_missing(args.no_delete)
        .allow_mass_delete(args.allow_mass_delete);
    if let Some(max_tokens) = args.max_tokens {
        builder = builder.chunk_options(ChunkOptions { max_tokens });
    }
    if args.no_cache {
        builder = builder.embedding_cache(None);
    }
    if let Some(people) = &args.people {
        builder = builder.people_file(people);
    }
    if let Some(access) = &args.access {
        builder = builder.access_file(access);
    }
    let report = builder
        .load_options(LoadOptions {
            max_file_bytes: args.max_file_size,
        })
        .progress(progress::reporter(quiet))
        .build(&args.paths)
        .with_context(|| format!("cannot build the index at {}", args.index.display()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_summary(&mut out, &report, &args.index)?;
    }
    Ok(if report.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SKIPPED)
    })
}

pub(super) fn rm(args: RmArgs, model: Model, quiet: bool) -> anyhow::Result<ExitCode> {
    let context = || format!("cannot remove from the index at {}", args.index.display());
    let mut writer = IndexWriter::open(&args.index).with_context(context)?;
    if let Some(dir) = model.dir {
        writer = writer.model_dir(dir);
    }
    let before = writer.num_documents();
    let mut unmatched = Vec::new();
    for pattern in &args.patterns {
        if writer.delete_documents(pattern) + writer.delete_path(pattern) == 0 {
            unmatched.push(pattern.clone());
        }
    }
    let removed = before - writer.num_documents();
    // Nothing matched: the index stays as it is, no new generation is written.
    let report = if removed > 0 {
        Some(
            writer
                .progress(progress::reporter(quiet))
                .commit()
                .with_context(context)?,
        )
    } else {
        None
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({
            "removed_documents": removed,
            "unmatched": unmatched,
            "report": report,
        });
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
    } else {
        writeln!(out, "removed {removed} documents")?;
        for pattern in &unmatched {
            writeln!(out, "no document matches {pattern}")?;
        }
        match &report {
            Some(report) => print_summary(&mut out, report, &args.index)?,
            None => writeln!(out, "the index at {} is unchanged", args.index.display())?,
        }
    }
    Ok(if unmatched.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SKIPPED)
    })
}

pub(super) fn rollback(args: InspectArgs) -> anyhow::Result<ExitCode> {
    // The library's errors name the index directory.
    let done = lore::rollback(&args.index)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &done)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "rolled back the index at {}: {} is current again ({} documents, {} chunks); {} was emptied",
            args.index.display(),
            done.to,
            done.num_documents,
            done.num_chunks,
            done.from
        )?;
        for note in &done.notes {
            writeln!(out, "note: {note}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn print_summary(
    out: &mut impl Write,
    report: &BuildReport,
    dir: &Path,
) -> std::io::Result<()> {
    writeln!(
        out,
        "indexed {} documents as {} chunks from {} files in {:.1}s (embedding {:.1}s) into {}",
        report.num_documents,
        report.num_chunks,
        report.num_files,
        report.seconds,
        report.embed_seconds,
        dir.display()
    )?;
    for m in &report.moved_roots {
        writeln!(
            out,
            "export folder moved: {} is now {}; its {} documents were carried over with their ids (`{}/…`), {} files unchanged",
            display(&m.from),
            display(&m.to),
            m.num_documents,
            display(&m.name),
            m.num_files_same
        )?;
    }
    if let Some(c) = &report.changes {
        writeln!(
            out,
            "documents since the last build: {} added, {} updated, {} removed, {} unchanged",
            c.added, c.updated, c.removed, c.unchanged
        )?;
        if report.num_files_loaded + report.num_files_unchanged > 0 {
            writeln!(
                out,
                "files: {} loaded (new or changed), {} unchanged and carried over",
                report.num_files_loaded, report.num_files_unchanged
            )?;
        }
    }
    if report.num_embedded + report.num_cached + report.num_reused > 0 {
        writeln!(
            out,
            "vectors: {} chunks embedded by the model, {} from the embedding cache, {} kept from the index",
            report.num_embedded, report.num_cached, report.num_reused
        )?;
    }
    if report.num_reused > 0 {
        writeln!(
            out,
            "vector graph: {} of {} nodes inserted, the rest kept their links",
            report.num_graph_inserted, report.num_chunks
        )?;
    }
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    if report.skipped.is_empty() {
        writeln!(out, "skipped: none")?;
    } else {
        writeln!(
            out,
            "skipped {} ({} with an unsupported extension):",
            report.skipped.len(),
            report.num_unsupported
        )?;
        for s in &report.skipped {
            writeln!(out, "  {s}")?;
        }
    }
    Ok(())
}
