//! Context packing: the passages that answer a question, cited, within a token budget counted
//! by the model's own tokenizer — what goes into an AI prompt.
//!
//! [`Index::context`] searches (hybrid by default, [`ContextRequest::num_candidates`] deep) and
//! then, in order:
//!
//! 1. **merges** adjacent chunks of one document that were both found (`{doc_id}#{n}` and
//!    `#{n+1}`) into one passage, joined by a blank line; the passage keeps one citation
//!    ([`Span`]) per chunk, so every cited byte range re-reads to exactly the text it cites;
//! 2. **drops near-duplicates**: a passage whose word 3-shingles overlap an already kept one's
//!    by a Jaccard index of [`DUPLICATE_JACCARD`] or more (the same message quoted in chat and
//!    in notes);
//! 3. **diversifies**: at most [`MAX_PER_DOCUMENT`] passages per document come first, in rank
//!    order; the others follow, in rank order, once every document had its chance;
//! 4. **fills** the budget greedily in that order. Every check counts the tokens of the *whole
//!    rendered output* (header, passages and sources, Markdown or JSON) with the model's
//!    `tokenizer.json` — no estimate — and every printed character counts, including what the
//!    tokenizer alone would drop or fold into one `[UNK]` (see [`TokenCounter::count`]). A
//!    passage that does not fit is cut to what fits and marked (`truncated`, and `[…]` in
//!    Markdown): text in a verbatim format (Markdown, plain text, decision records) is cut at a
//!    word boundary, or inside a word after every [`LONG_WORD`]th character (a long token, a
//!    line of Chinese), and its byte range shrunk to the kept bytes; other formats
//!    (transcripts, HTML, JSON lines) keep whole chunks only, since their cited bytes are not
//!    the text itself. The header shows the question on one line, cut to 1/[`QUESTION_SHARE`]
//!    of the budget when it takes more (marked ` […]`, with a note). When even the header does
//!    not fit, the request fails and names the smallest budget that would do.
//!
//! Before any of that, each found chunk's source file is checked (see the `stale` module guide
//! in the source): a chunk whose text is no longer in its file (**changed**, and for a
//! decision's chunk a file changed anywhere) or whose file is gone (**vanished**) is **left
//! out**, and a note in the header names up to [`MAX_STALE_NAMED`] such files with the reason
//! (`num_stale_left_out` counts them); a chunk whose text is still in the file at other lines
//! (**moved**) is kept, and its span carries `stale` (in Markdown: `moved since indexing: …`
//! after its ranges), since its text is true but its cited ranges are not. The note and marks
//! are counted like the rest, so the pack still never exceeds its budget.
//!
//! The result is deterministic: the same index, question, budget and sources give the same
//! bytes.
//!
//! The steps live in their own files: `candidates` turns the search's hits into candidate
//! passages (stale sources left out, citations for the caller, near-duplicates dropped,
//! documents diversified) and knows how a passage may be cut and where a chunk joins one;
//! `packer` fills the budget (adjacent chunks merged as they are placed, the header settled on
//! a token count that states itself); `render` writes the Markdown.
//!
//! ```no_run
//! use lore::{ContextRequest, Index};
//! let index = Index::open("/tmp/acme")?;
//! let pack = index.context(&ContextRequest::new("who reviews large vendor contracts?", 300))?;
//! assert!(pack.tokens_used <= 300);
//! print!("{}", pack.rendered); // Markdown; PackFormat::Json renders the pack itself as JSON
//! for p in &pack.passages {
//!     for s in &p.spans {
//!         println!("[{}] {} bytes {}..{}", p.number, s.path, s.byte_range[0], s.byte_range[1]);
//!     }
//! }
//! # Ok::<(), lore::Error>(())
//! ```

mod candidates;
mod packer;
mod render;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::access::Principal;
use crate::cite::CitationStyle;
use crate::date::Date;
use crate::embed::TokenizerInfo;
use crate::error::{Error, Result};
use crate::index::Index;
use crate::model::{Filter, SourceFormat};
use crate::query::{DecisionLabel, Mode, RankingOptions, SearchRequest};
use crate::stale::Stale;

use candidates::{candidates_of, cite_for_caller, leave_out_stale};
use packer::fill;

/// Passages of one document that come before any document's third (see the module guide).
pub const MAX_PER_DOCUMENT: usize = 2;
/// Word 3-shingle Jaccard index at or above which a passage repeats one already kept.
pub const DUPLICATE_JACCARD: f64 = 0.8;
/// Candidates searched for by default.
pub const DEFAULT_NUM_CANDIDATES: usize = 30;
/// Files the note on passages left out for stale sources names at most (the others are
/// counted).
pub const MAX_STALE_NAMED: usize = 3;
/// Fewest words a passage cut to fit keeps; a shorter cut is left out instead. A word longer
/// than [`LONG_WORD`] counts as one word per [`LONG_WORD`] characters begun.
const MIN_TRUNCATED_WORDS: usize = 8;
/// The header shows the question whole while it takes at most 1/`QUESTION_SHARE` of the
/// budget, and cut to that share otherwise (see [`ContextPack::question`]).
pub const QUESTION_SHARE: usize = 2;
/// Characters after which a word may be cut inside (at a character boundary): text with no
/// whitespace — a 100 KB token, a line of Chinese — can still be cut to fit. Ordinary words
/// are shorter, so they are cut only between words.
const LONG_WORD: usize = 24;

/// How a [`ContextPack`] is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackFormat {
    /// Markdown: a header, the numbered passages, then the sources.
    #[default]
    Md,
    /// The [`ContextPack`] itself as pretty-printed JSON.
    Json,
}

impl FromStr for PackFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(PackFormat::Md),
            "json" => Ok(PackFormat::Json),
            other => Err(Error::invalid_request(format!(
                "unknown context format `{other}` (expected md or json)"
            ))),
        }
    }
}

/// A request for a context pack: see [`Index::context`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextRequest {
    /// The question.
    pub question: String,
    /// The most tokens the rendered output may take, counted with the model's tokenizer.
    pub budget: usize,
    /// How the pack is rendered (the budget holds for that rendering).
    pub format: PackFormat,
    /// Retrievers to use.
    pub mode: Mode,
    /// All must hold for a passage.
    pub filters: Vec<Filter>,
    /// The date the question is asked at (see [`SearchRequest::as_of`]).
    pub as_of: Option<Date>,
    /// How the candidates are ranked.
    pub ranking: RankingOptions,
    /// How many search hits are considered.
    pub num_candidates: usize,
    /// Who is asking (see [`SearchRequest::principal`](crate::SearchRequest::principal)):
    /// only passages it may read are packed.
    #[serde(skip)]
    pub principal: Option<Principal>,
    /// Who the citations are for: the index's owner (paths as indexed, every range; the
    /// default) or a server's caller (paths relative to the export root, ranges withheld in
    /// files the principal reads in part; see [`Citations`](crate::Citations)).
    #[serde(default)]
    pub citations: CitationStyle,
}

impl ContextRequest {
    /// A hybrid, Markdown request for `question` within `budget` tokens, with default settings.
    pub fn new(question: impl Into<String>, budget: usize) -> Self {
        ContextRequest {
            question: question.into(),
            budget,
            format: PackFormat::Md,
            mode: Mode::Hybrid,
            filters: Vec::new(),
            as_of: None,
            ranking: RankingOptions::default(),
            num_candidates: DEFAULT_NUM_CANDIDATES,
            principal: None,
            citations: CitationStyle::Owner,
        }
    }
}

/// One cited span of a passage: a chunk, or the kept start of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The chunk cited (`{doc_id}#{n}`).
    pub chunk_id: String,
    /// Source file path.
    pub path: String,
    /// Source format: `load::excerpt(format, &file[byte_range])` is the cited text.
    pub format: SourceFormat,
    /// Byte range `[start, end)` in the source file.
    pub byte_range: [usize; 2],
    /// Line range, 1-based and inclusive.
    pub line_range: [usize; 2],
    /// SHA-256 (hex) of the cited text.
    pub content_hash: String,
    /// The byte and line ranges are withheld (both `[0, 0]`): the pack is for a caller who
    /// reads the source file in part, and where the span sits in it would tell of the rest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ranges_withheld: bool,
    /// Set when the source file no longer holds the text at these ranges: only ever `moved`
    /// in a pack (changed and vanished passages are left out, see the module guide).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<Stale>,
}

/// One numbered passage of a [`ContextPack`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    /// The citation number, from 1.
    pub number: usize,
    /// The best search rank among its chunks.
    pub rank: usize,
    /// The text: the cited texts of its spans, joined by a blank line.
    pub text: String,
    /// One citation per chunk, in source order.
    pub spans: Vec<Span>,
    /// Document title.
    pub title: String,
    /// Headings enclosing its first chunk, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heading_path: Vec<String>,
    /// Speakers, in order of first appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speakers: Vec<String>,
    /// Start time (ms) of its first transcript cue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    /// End time (ms) of its last transcript cue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
    /// Document date (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The decision or action it records, with its status at the request's date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionLabel>,
    /// True when the passage was cut to fit the budget.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// The answer to a [`ContextRequest`]: cited passages and their rendering within the budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextPack {
    /// The question as the header shows it: on one line (each run of whitespace one space),
    /// and, when it takes more than 1/[`QUESTION_SHARE`] of the budget, cut to that share,
    /// ending ` […]`, with a note saying how much is shown. The search reads it whole.
    pub question: String,
    /// The budget, in tokens.
    pub budget: usize,
    /// Tokens of [`ContextPack::rendered`], counted with [`ContextPack::tokenizer`].
    pub tokens_used: usize,
    /// The tokenizer that counted.
    pub tokenizer: TokenizerInfo,
    /// The mode the search used (hybrid falls back to lexical when the query cannot be embedded).
    pub mode_used: Mode,
    /// True when a passage was cut to fit.
    pub truncated: bool,
    /// Passages found but left out: they did not fit.
    pub num_left_out: usize,
    /// Chunks found but left out because their source changed or vanished since indexing (a
    /// note names the files).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_stale_left_out: usize,
    /// Anything the caller should know (from the search).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The passages, in the order they are numbered.
    pub passages: Vec<Passage>,
    /// The output, exactly as counted: Markdown, or this pack as JSON.
    #[serde(skip)]
    pub rendered: String,
}

impl Index {
    /// Pack the passages that best answer a question into `budget` tokens of Markdown or JSON,
    /// with numbered citations: adjacent chunks merged, near-duplicates dropped, documents
    /// diversified, the last passage cut to fit (see the `memory::pack` module guide in the source). Fails with
    /// [`UserError::ModelMissing`](crate::UserError::ModelMissing) when the model's tokenizer
    /// cannot be loaded, and with [`UserError::InvalidRequest`](crate::UserError::InvalidRequest)
    /// when the budget cannot hold even the header.
    pub fn context(&self, request: &ContextRequest) -> Result<ContextPack> {
        let counter = self.token_counter()?;
        let response = self.search(&SearchRequest {
            text: request.question.clone(),
            k: request.num_candidates.max(1),
            mode: request.mode,
            filters: request.filters.clone(),
            ranking: request.ranking,
            strict: false,
            as_of: request.as_of,
            principal: request.principal.clone(),
        })?;
        let mut response = response;
        if request.citations == CitationStyle::Caller {
            let citations = self.citations(request.principal.as_ref())?;
            for hit in &mut response.hits {
                if !citations.shows_ranges(&hit.provenance.path) {
                    hit.stale = hit.stale.take().and_then(Stale::for_partial_reader);
                }
                cite_for_caller(&mut hit.provenance, &citations);
            }
        }
        let num_stale_left_out = leave_out_stale(&mut response);
        let candidates = candidates_of(&response.hits);
        // Counting line by line (each distinct line once, plus the runs of line breaks) is
        // exact for tokenizers that split on whitespace first, as WordPiece does; the final text is counted whole to make sure,
        // and packed again counting whole texts if the two ever differ.
        let stale = num_stale_left_out;
        let by_lines = fill(request, counter, &candidates, &response, stale, true)?;
        if counter.count(&by_lines.rendered)? == by_lines.tokens_used {
            return Ok(by_lines);
        }
        fill(request, counter, &candidates, &response, stale, false)
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
