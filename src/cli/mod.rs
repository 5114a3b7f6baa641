//! Command-line interface: arguments (clap), commands, text and JSON output.
//!
//! Exit codes: 0 success; 1 error; 2 bad usage (including a write refused as given: an input
//! that does not exist or cannot be read, an update that would remove too much without
//! `--allow-mass-delete`, `lore demo` over an index it did not make); 3 `lore index` finished
//! but skipped some inputs (the index is written; the summary lists what was skipped and why),
//! `lore rm` was given something that matched nothing, or `lore verify` found citations that
//! no longer hold.

mod eval;
mod mcp;
mod memory;
mod progress;
mod serve;
mod values;

use lore::path_text::display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use lore::eval::{evaluate_memory, is_gold, read_questions, recall_at_k};
use lore::parse_filter;
use lore::ChunkOptions;
use lore::LoadOptions;
use lore::{
    BuildReport, ContextRequest, Date, DecisionLabel, Error, Filter, Fusion, Index, IndexBuilder,
    IndexWriter, InternalError, Mode, OpenOptions, PackFormat, Principal, QueryPrecision,
    RankingOptions, SearchRequest, SearchResponse, SourceChecking, SourceStatus, Status, UserError,
};

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
    Index(IndexArgs),
    /// Remove documents from an index, by document id (or a folder of ids, e.g. corpus/meetings)
    /// or by source path (a file, or every file below a folder).
    ///
    /// Exit code 3 when some ID-OR-PATH matched nothing (the rest are removed). A later
    /// `lore index` of a folder that still holds a removed file adds it back; list it in a
    /// .loreignore file to keep it out.
    ///
    /// Example: lore rm corpus/meetings/2025-01-07-standup.md --index /tmp/acme
    Rm(RmArgs),
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
    Search(SearchArgs),
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
    Context(ContextArgs),
    /// Show what an index holds: counts, model, settings, skipped inputs.
    Stats(StatsArgs),
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
    Demo(DemoArgs),
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

#[derive(Debug, Args)]
struct IndexArgs {
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
struct RmArgs {
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FusionArg {
    /// Reciprocal rank fusion.
    Rrf,
    /// Weighted sum of min-max normalised scores.
    Weighted,
}

/// How the retrievers score and how hybrid mode fuses their lists.
#[derive(Debug, Args)]
struct RankingArgs {
    /// Hybrid fusion method.
    #[arg(long, value_enum, default_value = "weighted")]
    fusion: FusionArg,
    /// RRF constant k (above 0).
    #[arg(long, default_value_t = lore::DEFAULT_RRF_K, value_parser = values::positive_f32(), allow_negative_numbers = true)]
    rrf_k: f32,
    /// Lexical weight for --fusion weighted, from 0 to 1 (dense gets 1 - w).
    #[arg(long, default_value_t = lore::DEFAULT_LEXICAL_WEIGHT, value_parser = values::weight(), allow_negative_numbers = true)]
    lexical_weight: f32,
    /// Score full text with plain BM25 over the flat passage (no title boost, no proximity
    /// bonus, question words kept), as Pyserini's "flat" baseline.
    #[arg(long)]
    plain_bm25: bool,
    /// Passage context: how far (0 to 1) a passage's score is lifted towards a better-scoring
    /// neighbour in its meeting, thread or page; 0 turns it off.
    #[arg(long, default_value_t = lore::DEFAULT_CONTEXT_WEIGHT, value_parser = values::weight(), allow_negative_numbers = true)]
    context_weight: f32,
}

impl RankingArgs {
    fn options(&self) -> RankingOptions {
        RankingOptions {
            lexical: if self.plain_bm25 {
                lore::LexicalScoring::Plain
            } else {
                lore::LexicalScoring::Tuned
            },
            fusion: match self.fusion {
                FusionArg::Rrf => Fusion::Rrf { k: self.rrf_k },
                FusionArg::Weighted => Fusion::Weighted {
                    lexical_weight: self.lexical_weight,
                },
            },
            context_weight: self.context_weight,
        }
    }
}

#[derive(Debug, Args)]
struct SearchArgs {
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
enum PackFormatArg {
    /// Markdown: header, numbered passages, sources.
    Md,
    /// The pack as JSON (passages, citations, token count and tokenizer).
    Json,
}

#[derive(Debug, Args)]
struct ContextArgs {
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

/// The arguments of the commands that inspect an index (`stats`, `verify`).
#[derive(Debug, Args)]
struct InspectArgs {
    /// Index directory (default: $LORE_INDEX).
    #[arg(long, short = 'i', value_name = "DIR", env = "LORE_INDEX")]
    index: PathBuf,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// The arguments of `lore stats`.
#[derive(Debug, Args)]
struct StatsArgs {
    #[command(flatten)]
    inspect: InspectArgs,
    #[command(flatten)]
    as_user: AsUser,
}

/// `--as USER`, for the commands that read an index on a user's behalf.
#[derive(Debug, Args)]
pub(crate) struct AsUser {
    /// Ask on behalf of this user: on an index with access control on, only what USER may
    /// read is used (see the README's "Access control"). Without it, the index owner's view.
    #[arg(long = "as", value_name = "USER", env = "LORE_AS")]
    user: Option<String>,
}

impl AsUser {
    /// The principal asked for, if any.
    pub(crate) fn principal(&self) -> Option<Principal> {
        self.user.as_deref().map(Principal::new)
    }
}

#[derive(Debug, Args)]
struct DemoArgs {
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

/// `--query-precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PrecisionArg {
    Int8,
    Full,
}

/// `--check-sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SourceCheckArg {
    Off,
    Metadata,
    Content,
}

/// The model a command uses: where it is (`--model-dir`) and how queries are embedded
/// (`--query-precision`); and how its answers check their sources (`--check-sources`).
#[derive(Debug, Clone)]
pub struct Model {
    dir: Option<PathBuf>,
    query_precision: QueryPrecision,
    source_checking: SourceChecking,
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
        Command::Index(args) => index(args, model, quiet),
        Command::Rm(args) => rm(args, model, quiet),
        Command::Rollback(args) => rollback(args),
        Command::Search(args) => search(args, model),
        Command::Context(args) => context(args, model),
        Command::Stats(args) => stats(args),
        Command::Verify(args) => verify(args),
        Command::Decisions(args) => memory::decisions(args, model),
        Command::Who(args) => memory::who(args, model),
        Command::Demo(args) => demo(args, model, quiet),
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

fn builder(dir: &Path, model: Model, no_embed: bool) -> IndexBuilder {
    let b = IndexBuilder::new(dir);
    match (no_embed, model.dir) {
        (true, _) => b.without_embeddings(),
        (false, Some(m)) => b.model_dir(m),
        (false, None) => b,
    }
}

fn index(args: IndexArgs, model: Model, quiet: bool) -> anyhow::Result<ExitCode> {
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

fn rm(args: RmArgs, model: Model, quiet: bool) -> anyhow::Result<ExitCode> {
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

fn rollback(args: InspectArgs) -> anyhow::Result<ExitCode> {
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

fn print_summary(out: &mut impl Write, report: &BuildReport, dir: &Path) -> std::io::Result<()> {
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

/// Open an index to answer one question and exit: the dense half scans every vector exactly,
/// which costs less than loading the graph once. Callers end with `std::mem::forget(index)`:
/// tearing down the model session and the index would only delay the exit, and the operating
/// system reclaims it all at once.
fn open_for_one_question(dir: &Path, model: Model) -> anyhow::Result<Index> {
    open_with(dir, model, OpenOptions::default().exact_dense(true))
}

fn open(dir: &Path, model: Model) -> anyhow::Result<Index> {
    open_with(dir, model, OpenOptions::default())
}

fn open_with(dir: &Path, model: Model, options: OpenOptions) -> anyhow::Result<Index> {
    let options = match model.dir {
        Some(m) => options.model_dir(m),
        None => options,
    };
    Ok(Index::open_with(
        dir,
        options
            .query_precision(model.query_precision)
            .source_checking(model.source_checking),
    )?)
}

fn search(args: SearchArgs, model: Model) -> anyhow::Result<ExitCode> {
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

fn context(args: ContextArgs, model: Model) -> anyhow::Result<ExitCode> {
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

fn print_response(out: &mut impl Write, response: &SearchResponse) -> std::io::Result<()> {
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

fn verify(args: InspectArgs) -> anyhow::Result<ExitCode> {
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

fn stats(args: StatsArgs) -> anyhow::Result<ExitCode> {
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

fn demo(args: DemoArgs, model: Model, quiet: bool) -> anyhow::Result<ExitCode> {
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
