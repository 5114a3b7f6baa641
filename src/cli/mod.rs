//! Command-line interface: arguments (clap), commands, text and JSON output.
//!
//! Exit codes: 0 success; 1 error; 2 bad usage (including a write refused as given: an input
//! that does not exist or cannot be read, an update that would remove too much without
//! `--allow-mass-delete`, `lore demo` over an index it did not make); 3 `lore index` finished
//! but skipped some inputs (the index is written; the summary lists what was skipped and why),
//! `lore rm` was given something that matched nothing, or `lore verify` found citations that
//! no longer hold.
//!
//! The command line is parsed here ([`Cli`]) and each command runs in the file of its group:
//! `index` (index, rm, rollback), `search` (search, context), `memory` (decisions, who),
//! `inspect` (stats, verify), `demo`, `eval`, `serve` (serve, audit) and `mcp`; `args` holds
//! the arguments several commands share, `model` the model they open an index with.

mod args;
mod demo;
mod eval;
mod index;
mod inspect;
mod mcp;
mod memory;
mod model;
mod progress;
mod search;
mod serve;
mod values;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use lore::{Error, Index, InternalError, QueryPrecision, SourceChecking, UserError};

pub(crate) use args::AsUser;
use args::{InspectArgs, PrecisionArg, RankingArgs, SourceCheckArg};
pub use model::Model;
use model::{builder, open, open_for_one_question};

/// Exit code of `lore index` when some inputs were skipped.
const EXIT_SKIPPED: u8 = 3;

/// lore: an organization's memory for AI systems. Indexes exported meeting notes, transcripts,
/// wiki pages, decision records and chat, and answers questions with cited snippets.
///
/// Exit codes: 0 success, 1 error, 2 bad usage (or a write refused as given: a missing input,
/// too many removals without --allow-mass-delete, `demo` over an index it did not make), 3
/// `index` finished but skipped some inputs (or `rm` matched nothing for some ID-OR-PATH, or
/// `verify` found citations that no longer hold).
#[derive(Debug, Parser)]
#[command(name = "lore", version, about, long_about)]
pub struct Cli {
    /// Directory holding the embedding model and ONNX Runtime (default: $LORE_MODEL_DIR, else
    /// ~/.cache/lore/model; `scripts/fetch-model.sh` fills it).
    #[arg(long, global = true, value_name = "DIR")]
    model_dir: Option<PathBuf>,

    /// How queries are embedded: `int8`, by the query graph `scripts/fetch-model.sh` derives
    /// from the model (about 2.4× faster; vectors within cosine 0.985 of the f32 graph's), or
    /// `full`, by the f32 graph documents are embedded with.
    #[arg(long, global = true, value_enum, default_value_t = PrecisionArg::Int8)]
    query_precision: PrecisionArg,

    /// Print no progress (bars on a terminal, else a line every 10 s of a long stage); errors
    /// and summaries are still printed.
    #[arg(long, short = 'q', global = true)]
    quiet: bool,

    /// How answers (search, context, decisions, who, serve, mcp) check the source files they
    /// cite: `metadata` compares each cited file's size and modification time with what
    /// indexing recorded, and reads and hashes it only when they differ; `content` reads and
    /// hashes every cited file; `off` checks nothing. A citation whose source changed, moved or
    /// vanished since indexing is marked (⚠ in text, `stale` in JSON); `context` leaves
    /// changed and vanished passages out, with a note.
    #[arg(long, global = true, value_enum, default_value_t = SourceCheckArg::Metadata, value_name = "HOW")]
    check_sources: SourceCheckArg,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build an index from files and folders of exports, or bring the index in DIR up to date
    /// with them.
    ///
    /// On an existing index, each file is hashed: unchanged files are carried over without
    /// parsing or the model, new and changed ones are loaded, chunked and embedded, and the
    /// documents of files no longer found are removed (--no-delete keeps them). The summary
    /// says how many documents were added, updated, removed and unchanged.
    ///
    /// Formats: Markdown (.md, YAML front matter; ADR decision records detected), plain text
    /// (.txt), HTML (.html), WebVTT (.vtt) and SubRip (.srt) transcripts, JSONL records (.jsonl,
    /// e.g. a BEIR corpus.jsonl) and Slack-style message exports (.jsonl lines or .json arrays).
    /// Folders are walked respecting .gitignore and .loreignore; symbolic links are followed
    /// (loops are reported, not entered). Unknown extensions, binary or non-UTF-8 files, empty
    /// files, files over --max-file-size and broken files or lines are skipped and reported by
    /// file (and line) with the reason; everything else is indexed. Exit code 3 when anything
    /// was skipped (the index is still written), 0 when nothing was.
    ///
    /// Example: lore index corpus/ --index /tmp/acme
    Index(index::IndexArgs),
    /// Remove documents from an index, by document id (or a folder of ids, e.g. corpus/meetings)
    /// or by source path (a file, or every file below a folder).
    ///
    /// Exit code 3 when some ID-OR-PATH matched nothing (the rest are removed). A later
    /// `lore index` of a folder that still holds a removed file adds it back; list it in a
    /// .loreignore file to keep it out.
    ///
    /// Example: lore rm corpus/meetings/2025-01-07-standup.md --index /tmp/acme
    Rm(index::RmArgs),
    /// Make the generation before the current one current again: undo the last `lore index`
    /// or `lore rm`.
    ///
    /// An index keeps 3 generations: the current one and the two before it. The earlier one is
    /// opened and checked first, then made current by the same atomic switch a commit uses; a
    /// running `lore serve` picks it up like a new commit. The generation rolled back from is
    /// emptied; rolling back again goes one further back. The next `lore index` makes a new
    /// generation from the inputs as usual.
    ///
    /// Example: lore rollback --index /tmp/acme
    Rollback(InspectArgs),
    /// Search an index and print ranked, cited snippets.
    ///
    /// A hit whose source file changed, moved or vanished since indexing is marked ⚠ with the
    /// reason (`stale` with --json); see --check-sources.
    ///
    /// Example: lore search "who approves contracts over 50K" --index /tmp/acme -k 5
    /// --filter kind=decision --since 2025-06-01 --json
    Search(search::SearchArgs),
    /// Pack the passages that answer a question into a token budget, with numbered citations:
    /// what to put in an AI prompt.
    ///
    /// Adjacent chunks of one source are merged, near-duplicates dropped, and sources
    /// diversified (at most 2 passages per document before any gets a third). The whole output
    /// is counted with the embedding model's own tokenizer (tokenizer.json of the model
    /// directory) and never exceeds --budget; the passage that does not fit is cut to what fits
    /// and marked […]. Every citation gives the path, byte and line ranges and SHA-256 of the
    /// exact text it cites.
    ///
    /// A passage whose source file changed or vanished since indexing is left out, and a note
    /// in the header names the files; one whose text moved within its file is kept and its
    /// citation marked (see --check-sources).
    ///
    /// Example: lore context "who reviews vendor contracts over 50K?" --budget 300 --index /tmp/acme
    Context(search::ContextArgs),
    /// Show what an index holds: counts, model, settings, skipped inputs.
    Stats(inspect::StatsArgs),
    /// Check every citation: re-read each source file the index cites and check that each
    /// chunk's byte range still gives its text (by its content hash).
    ///
    /// Reports each source that changed (some cited text is gone), moved (the cited text is
    /// still there, at other bytes) or vanished (the file cannot be read). Exit code 3 when any
    /// did; `lore index` on the sources makes every citation hold again.
    ///
    /// Example: lore verify --index /tmp/acme
    Verify(InspectArgs),
    /// List the decisions and action items in force (or at a past date with --as-of), on a
    /// topic or all of them, each with its status, deciders or owner, source lines and the
    /// chain of decisions it replaced.
    ///
    /// Decisions come from decision records (ADRs, Nygard and MADR styles: status, date,
    /// deciders, supersedes / superseded by / amended by links) and from the explicit markers
    /// of meeting notes and transcripts (Decision:, Action:, TODO:, ## Decisions and
    /// ## Action items sections, - [ ] items with an owner and due date).
    ///
    /// Example: lore decisions "billing reconciliation schedule" --as-of 2025-12-01 --index /tmp/acme
    Decisions(memory::DecisionsArgs),
    /// Rank people by what the index shows they know about a topic: decisions they made,
    /// actions they own, what they said in meetings and chat, what they wrote, weighted by
    /// rank and recency, each with the cited passages that earned the rank.
    ///
    /// Name variants are merged only through a people file (people.yaml at the root of an
    /// indexed folder, or lore index --people FILE); other names are kept as written and
    /// listed by lore stats.
    ///
    /// Example: lore who "billing reconciliation" --index /tmp/acme
    Who(memory::WhoArgs),
    /// Index the shipped corpus/ and answer its sample questions with cited snippets, printing
    /// Recall@5 over corpus/questions.jsonl.
    Demo(demo::DemoArgs),
    /// Measure quality and latency on a labelled data set in the BEIR layout (corpus.jsonl,
    /// queries.jsonl, qrels.tsv): nDCG@10, Recall@10, Recall@100 and MRR@10 per mode, with
    /// trec_eval's conventions, plus query latency percentiles. Builds the index, or reuses it
    /// when the corpus and settings are unchanged; writes eval.json and a TREC run per mode.
    ///
    /// Example: lore eval data/scifact --mode all;
    /// lore eval data/qmsum --scope meeting_id
    Eval(eval::EvalArgs),
    /// Serve an index over HTTP (JSON): search, context, decisions, who and get, each on
    /// behalf of the caller's principal, sized to a token budget, and audited.
    ///
    /// Listens on 127.0.0.1:7070 by default and prints `listening on http://ADDR` first on
    /// standard output. A non-loopback --addr needs --tokens; with --tokens every /v1/ request
    /// needs `Authorization: Bearer <token>`. A generation committed by `lore index` while it
    /// runs is picked up within --reload-ms without a restart. One JSON line per request goes
    /// to the audit log (<index>/audit.jsonl, or --audit FILE). SIGINT/SIGTERM stop it after
    /// requests in flight finish. GET /openapi.json describes the API.
    ///
    /// Example: lore serve --index /tmp/acme --addr 127.0.0.1:7070 --tokens tokens.toml
    Serve(serve::ServeArgs),
    /// Read the audit log a server writes: one line per request (time, user, transport,
    /// operation, outcome, duration, spans returned, query), filtered.
    ///
    /// A line that is not an audit record is reported with its number and skipped.
    ///
    /// Example: lore audit --index /tmp/acme --principal priya --op search --since 2026-12-01
    Audit(serve::AuditArgs),
    /// Serve an index to an AI agent over the Model Context Protocol on standard input and
    /// output: tools search, context, decisions, who and get, each with a JSON schema and a
    /// token budget. An MCP host (Claude Desktop, an IDE, an agent) starts it; see the README's
    /// "Using lore from an AI agent (MCP)" for the host configuration.
    ///
    /// The agent sees what one principal may read: --as USER, or the principal of --token in a
    /// tokens file (--tokens). Every tool call is appended to the audit log.
    ///
    /// Example: lore mcp --index /tmp/acme --as omar
    Mcp(mcp::McpArgs),
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let model = Model {
        dir: cli.model_dir,
        query_precision: match cli.query_precision {
            PrecisionArg::Int8 => QueryPrecision::Int8,
            PrecisionArg::Full => QueryPrecision::Full,
        },
        source_checking: match cli.check_sources {
            SourceCheckArg::Off => SourceChecking::Off,
            SourceCheckArg::Metadata => SourceChecking::Metadata,
            SourceCheckArg::Content => SourceChecking::Content,
        },
    };
    let quiet = cli.quiet;
    match cli.command {
        Command::Index(args) => index::index(args, model, quiet),
        Command::Rm(args) => index::rm(args, model, quiet),
        Command::Rollback(args) => index::rollback(args),
        Command::Search(args) => search::search(args, model),
        Command::Context(args) => search::context(args, model),
        Command::Stats(args) => inspect::stats(args),
        Command::Verify(args) => inspect::verify(args),
        Command::Decisions(args) => memory::decisions(args, model),
        Command::Who(args) => memory::who(args, model),
        Command::Demo(args) => demo::demo(args, model, quiet),
        Command::Eval(args) => eval::eval(args, model, quiet),
        Command::Serve(args) => serve::serve(args, model),
        Command::Audit(args) => serve::audit(args),
        Command::Mcp(args) => mcp::mcp(args, model, quiet),
    }
}

/// True when the error is a closed stdout (e.g. `lore search … | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit code of a failed run: 2 when the request itself was wrong or was refused as given
/// (a bad query, filter, date range, budget or count; options that do not go together; a
/// missing input, a mass delete, a demo over a foreign index: the README's "Exit codes"), 1
/// otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let usage = err.chain().any(|e| {
        e.is::<values::Usage>()
            || matches!(
                e.downcast_ref::<Error>(),
                Some(Error::User(
                    UserError::InvalidRequest(_)
                        | UserError::InputUnavailable { .. }
                        | UserError::MassDelete { .. }
                        | UserError::NotOwned { .. }
                ))
            )
    });
    if usage {
        2
    } else {
        1
    }
}

/// A hint beyond what the error itself says: who must act, and how. User errors name their
/// fix in their message; the hint covers what a user can still do about the rest.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    let lore_err = err.chain().find_map(|e| e.downcast_ref::<Error>())?;
    match lore_err {
        // A failed write touched nothing: whether the index is damaged is for its current
        // generation to say, opened and checked now.
        Error::Internal(InternalError::Write { dir, .. }) => match Index::open(dir) {
            Ok(_) => Some(format!(
                "the index at {} is unchanged and passes its checks; check that lore may write there and that its disk has room, then run the same command again",
                dir.display()
            )),
            Err(Error::User(UserError::NoIndex { .. })) => None,
            Err(e) => Some(format!(
                "the current generation fails its checks too ({e}): `lore rollback --index {}` makes the one before it current again, or rebuild it with `lore index <PATH>... --index {} --rebuild`",
                dir.display(),
                dir.display()
            )),
        },
        Error::User(UserError::ModelMissing { .. }) => Some(
            "without the model, `lore index --no-embed` builds a lexical-only index and `lore search --mode lexical` searches one".into(),
        ),
        Error::User(_) => None,
        Error::Internal(InternalError::Io { .. }) => Some(
            "check that the path exists, that lore may read and write it, and that its disk has room".into(),
        ),
        // The generation whose text index failed is opened and checked again: only one that
        // fails is called damaged.
        Error::Internal(InternalError::Lexical { path, .. })
            if path.parent().is_some_and(|generation| Index::open(generation).is_ok()) =>
        {
            Some(format!(
                "the index holding {} opens and passes its checks: the failure came from its surroundings (permissions, open files, the disk); run the command again",
                path.display()
            ))
        }
        Error::Internal(InternalError::Lexical { .. } | InternalError::Json(_)) => Some(
            "the index may be damaged: `lore rollback --index <DIR>` makes the generation before it current again, or rebuild it with `lore index <PATH>... --index <DIR> --rebuild`".into(),
        ),
        Error::Internal(InternalError::Embedding(_)) => Some(
            "the embedding runtime failed: fetch the model again with `scripts/fetch-model.sh`; a hybrid search without --strict answers with lexical results meanwhile".into(),
        ),
        Error::Internal(_) => None,
    }
}
