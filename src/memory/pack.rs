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

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::access::Principal;
use crate::cite::{CitationStyle, Citations};
use crate::date::Date;
use crate::embed::{line_break_tokens, TokenCounter, TokenizerInfo};
use crate::error::{Error, Result};
use crate::index::Index;
use crate::load::is_verbatim;
use crate::model::{content_hash, Filter, Provenance, SourceFormat};
use crate::query::{DecisionLabel, Mode, RankingOptions, SearchHit, SearchRequest};
use crate::stale::{SourceStatus, Stale};

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
        let candidates = diversify(
            drop_near_duplicates(
                response
                    .hits
                    .iter()
                    .map(|h| candidate(vec![Piece::of(h)]))
                    .collect(),
            ),
            MAX_PER_DOCUMENT,
        );
        // Counting line by line (each distinct line once, plus the runs of line breaks) is
        // exact for tokenizers that split on whitespace first, as WordPiece does; the final text is counted whole to make sure,
        // and packed again counting whole texts if the two ever differ.
        let stale = num_stale_left_out;
        let by_lines = self.fill(request, counter, &candidates, &response, stale, true)?;
        if counter.count(&by_lines.rendered)? == by_lines.tokens_used {
            return Ok(by_lines);
        }
        self.fill(request, counter, &candidates, &response, stale, false)
    }

    /// Fill the budget with `candidates` (see [`Index::context`]).
    fn fill(
        &self,
        request: &ContextRequest,
        counter: &TokenCounter,
        candidates: &[Candidate],
        response: &crate::query::SearchResponse,
        num_stale_left_out: usize,
        by_lines: bool,
    ) -> Result<ContextPack> {
        let packer = Packer {
            counter,
            format: request.format,
            by_lines,
            lines: std::cell::RefCell::new(std::collections::HashMap::new()),
            question: &request.question,
            search_notes: &response.notes,
        };
        let mut pack = ContextPack {
            question: String::new(),
            budget: request.budget,
            tokens_used: 0,
            tokenizer: counter.info().clone(),
            mode_used: response.mode_used,
            truncated: false,
            num_left_out: 0,
            num_stale_left_out,
            notes: Vec::new(),
            passages: Vec::new(),
            rendered: String::new(),
        };
        packer.head(&mut pack)?;
        // The header as it reads when nothing fits must fit.
        pack.num_left_out = candidates.len();
        if packer.settle(&mut pack)?.is_none() {
            let least = packer.least_budget(&pack)?;
            return Err(Error::invalid_request(format!(
                "a budget of {} tokens cannot hold even the header of the context; ask for at least {least} tokens",
                request.budget
            )));
        }
        // While filling, the header counts every candidate not placed yet as left out: the
        // final count is known only at the end, and the last placement is undone (a new
        // passage placed again, cut shorter) if the final header takes more tokens. A chunk
        // next to one already placed joins that passage instead of starting its own.
        let mut runs: Vec<Vec<Piece>> = Vec::new();
        let mut placed: Vec<(usize, Placement)> = Vec::new();
        for (i, candidate) in candidates.iter().enumerate() {
            crate::deadline::check("packing passages")?;
            pack.num_left_out = i - placed.len() + (candidates.len() - i - 1);
            let piece = &candidate.pieces[0];
            let next_to = runs.iter().enumerate().find_map(|(j, run)| {
                let open = !pack.passages[j].truncated;
                joins(run, piece).filter(|_| open).map(|at| (j, at))
            });
            if let Some((j, at)) = next_to {
                let before = pack.passages[j].clone();
                if let Some(kept) = packer.extend(&mut pack, j, &runs[j], at, piece)? {
                    runs[j] = kept;
                    placed.push((i, Placement::Joined(j, Box::new(before))));
                }
                continue;
            }
            if packer.add(&mut pack, candidate)? {
                runs.push(candidate.pieces.clone());
                placed.push((i, Placement::New));
            }
        }
        pack.num_left_out = candidates.len() - placed.len();
        pack.rendered = loop {
            if let Some(text) = packer.settle(&mut pack)? {
                break text;
            }
            let (last, how) = placed
                .pop()
                .ok_or_else(|| Error::bug("the header of a context pack no longer fits"))?;
            match how {
                Placement::Joined(j, before) => {
                    pack.passages[j] = *before;
                    pack.num_left_out += 1;
                }
                Placement::New => {
                    pack.passages.pop();
                    runs.pop();
                    if !packer.add(&mut pack, &candidates[last])? {
                        pack.num_left_out += 1;
                    }
                }
            }
        };
        Ok(pack)
    }
}

/// Take the hits whose source changed or vanished since indexing out of `response`, and add
/// a note naming their files (at most [`MAX_STALE_NAMED`], as the hits cite them) and why;
/// returns how many were taken out. Moved hits stay.
fn leave_out_stale(response: &mut crate::query::SearchResponse) -> usize {
    let mut files: Vec<(String, SourceStatus)> = Vec::new();
    let before = response.hits.len();
    response.hits.retain(|hit| match &hit.stale {
        Some(stale) if stale.reason != SourceStatus::Moved => {
            let file = (hit.provenance.path.clone(), stale.reason);
            if !files.contains(&file) {
                files.push(file);
            }
            false
        }
        _ => true,
    });
    let num = before - response.hits.len();
    if num == 0 {
        return 0;
    }
    let mut named: Vec<String> = files
        .iter()
        .take(MAX_STALE_NAMED)
        .map(|(path, reason)| format!("{path} ({})", reason.as_str()))
        .collect();
    if files.len() > MAX_STALE_NAMED {
        named.push(format!("{} more files", files.len() - MAX_STALE_NAMED));
    }
    response.notes.push(format!(
        "left out {num} passage{} whose source changed or vanished since indexing: {}; run `lore index` again to cite them as they are now",
        if num == 1 { "" } else { "s" },
        named.join(", ")
    ));
    num
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `provenance` as a server's caller may see it: its path relative to the export root, and
/// its ranges zeroed (`[0, 0]`) when they are withheld.
fn cite_for_caller(provenance: &mut Provenance, citations: &Citations) {
    if !citations.shows_ranges(&provenance.path) {
        provenance.byte_range = [0, 0];
        provenance.line_range = [0, 0];
    }
    provenance.path = citations.path(&provenance.path);
}

/// One chunk of a candidate passage.
#[derive(Debug, Clone)]
struct Piece {
    chunk_id: String,
    /// Position in its document, when the id says.
    n: Option<usize>,
    rank: usize,
    text: String,
    provenance: Provenance,
    decision: Option<DecisionLabel>,
    stale: Option<Stale>,
}

impl Piece {
    fn of(hit: &SearchHit) -> Piece {
        let n = hit
            .chunk_id
            .strip_prefix(hit.provenance.doc_id.as_str())
            .and_then(|rest| rest.strip_prefix('#'))
            .and_then(|n| n.parse().ok());
        Piece {
            chunk_id: hit.chunk_id.clone(),
            n,
            rank: hit.rank,
            text: hit.text.clone(),
            provenance: hit.provenance.clone(),
            decision: hit.decision.clone(),
            stale: hit.stale.clone(),
        }
    }

    /// True when the text may be cut inside: its bytes are its text.
    fn is_verbatim(&self) -> bool {
        let [start, end] = self.provenance.byte_range;
        is_verbatim(self.provenance.format) && end.checked_sub(start) == Some(self.text.len())
    }

    /// The piece cut to its first `len` bytes (a char boundary), trailing space dropped.
    fn cut(&self, len: usize) -> Piece {
        let text = self.text[..len].trim_end().to_string();
        let mut provenance = self.provenance.clone();
        let start = provenance.byte_range[0];
        provenance.byte_range = [start, start + text.len()];
        provenance.line_range[1] = provenance.line_range[0] + text.matches('\n').count();
        let mut stale = self.stale.clone();
        if let Some(Stale {
            lines_now: Some(lines),
            detail,
            ..
        }) = &mut stale
        {
            lines[1] = lines[0] + text.matches('\n').count();
            *detail = format!("the cited text is now at lines {}-{}", lines[0], lines[1]);
        }
        Piece {
            text,
            provenance,
            stale,
            ..self.clone()
        }
    }

    fn span(&self) -> Span {
        let p = &self.provenance;
        Span {
            chunk_id: self.chunk_id.clone(),
            path: p.path.clone(),
            format: p.format,
            byte_range: p.byte_range,
            line_range: p.line_range,
            content_hash: content_hash(&self.text),
            // Lines are 1-based: `[0, 0]` is what `cite_for_caller` writes.
            ranges_withheld: p.line_range == [0, 0],
            stale: self.stale.clone(),
        }
    }
}

/// A passage before it is numbered: adjacent chunks of one document, in source order.
#[derive(Debug, Clone)]
struct Candidate {
    rank: usize,
    pieces: Vec<Piece>,
}

impl Candidate {
    fn doc_id(&self) -> &str {
        &self.pieces[0].provenance.doc_id
    }

    fn text(&self) -> String {
        join(&self.pieces)
    }

    /// The numbered passage of `pieces` (this candidate's, possibly cut).
    fn passage(&self, number: usize, pieces: &[Piece], truncated: bool) -> Passage {
        let first = &pieces[0].provenance;
        let mut speakers: Vec<String> = Vec::new();
        for p in pieces {
            for s in &p.provenance.speakers {
                if !speakers.contains(s) {
                    speakers.push(s.clone());
                }
            }
        }
        let best = self
            .pieces
            .iter()
            .filter(|p| p.decision.is_some())
            .min_by_key(|p| p.rank);
        Passage {
            number,
            rank: self.rank,
            text: join(pieces),
            spans: pieces.iter().map(Piece::span).collect(),
            title: first.title.clone(),
            heading_path: first.heading_path.clone(),
            speakers,
            start_ms: pieces.iter().filter_map(|p| p.provenance.start_ms).min(),
            end_ms: pieces.iter().filter_map(|p| p.provenance.end_ms).max(),
            date: first.date.clone(),
            decision: best.and_then(|p| p.decision.clone()),
            truncated,
        }
    }

    /// Ways to cut this passage, shortest first: `(i, None)` keeps pieces `..=i` whole,
    /// `(i, Some(len))` keeps pieces `..i` and the first `len` bytes of piece `i`. Verbatim
    /// pieces are cut after any word, and inside a word after every [`LONG_WORD`] characters
    /// (keeping at least [`MIN_TRUNCATED_WORDS`] words in all); other pieces are kept whole or
    /// not at all. The whole passage is not among them.
    fn cuts(&self) -> Vec<(usize, Option<usize>)> {
        let mut cuts = Vec::new();
        let mut words_before = 0;
        for (i, piece) in self.pieces.iter().enumerate() {
            if piece.is_verbatim() {
                let mut words = words_before;
                // Characters of the word being read.
                let mut run = 0;
                for (at, c) in piece.text.char_indices() {
                    let word_ends = if c.is_whitespace() {
                        std::mem::replace(&mut run, 0) > 0
                    } else {
                        run += 1;
                        run > 1 && (run - 1) % LONG_WORD == 0
                    };
                    if word_ends {
                        words += 1;
                        if words >= MIN_TRUNCATED_WORDS {
                            cuts.push((i, Some(at)));
                        }
                    }
                }
            }
            words_before += num_words(&piece.text);
            if i + 1 < self.pieces.len() && words_before >= MIN_TRUNCATED_WORDS {
                cuts.push((i, None));
            }
        }
        cuts
    }

    /// The pieces one of [`Candidate::cuts`] keeps.
    fn cut(&self, (i, len): (usize, Option<usize>)) -> Vec<Piece> {
        let mut kept = self.pieces[..i].to_vec();
        kept.push(match len {
            Some(len) => self.pieces[i].cut(len),
            None => self.pieces[i].clone(),
        });
        kept
    }
}

/// Words of `text` as [`MIN_TRUNCATED_WORDS`] counts them: a word longer than [`LONG_WORD`]
/// characters counts once per [`LONG_WORD`] characters begun.
fn num_words(text: &str) -> usize {
    text.split_whitespace()
        .map(|w| w.chars().count().div_ceil(LONG_WORD))
        .sum()
}

fn join(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// How a candidate was placed in a pack, to undo it.
enum Placement {
    /// As a new passage (the last one).
    New,
    /// Joined to passage `j`, which read as this before.
    Joined(usize, Box<Passage>),
}

/// Where `piece` joins `run` (adjacent chunks of one document, in source order): at its start,
/// at its end, or nowhere when it is not the chunk just before or after it.
fn joins(run: &[Piece], piece: &Piece) -> Option<usize> {
    let (first, last) = (run.first()?, run.last()?);
    if first.provenance.doc_id != piece.provenance.doc_id {
        return None;
    }
    let n = piece.n?;
    if last.n.map(|l| l + 1) == Some(n) {
        Some(run.len())
    } else if first.n.and_then(|f| f.checked_sub(1)) == Some(n) {
        Some(0)
    } else {
        None
    }
}

/// Merge the hits that are adjacent chunks of one document into one candidate each, ordered
/// by their best rank.
#[cfg(test)]
fn merge_adjacent(hits: &[SearchHit]) -> Vec<Candidate> {
    let mut by_doc: BTreeMap<&str, Vec<Piece>> = BTreeMap::new();
    let mut candidates = Vec::new();
    for hit in hits {
        let piece = Piece::of(hit);
        match piece.n {
            Some(_) => by_doc
                .entry(hit.provenance.doc_id.as_str())
                .or_default()
                .push(piece),
            None => candidates.push(Candidate {
                rank: piece.rank,
                pieces: vec![piece],
            }),
        }
    }
    for (_, mut pieces) in by_doc {
        pieces.sort_by_key(|p| p.n);
        pieces.dedup_by_key(|p| p.n);
        let mut run: Vec<Piece> = Vec::new();
        for piece in pieces {
            let follows = run
                .last()
                .is_some_and(|last| last.n.map(|n| n + 1) == piece.n);
            if !follows && !run.is_empty() {
                candidates.push(candidate(std::mem::take(&mut run)));
            }
            run.push(piece);
        }
        if !run.is_empty() {
            candidates.push(candidate(run));
        }
    }
    candidates.sort_by_key(|c| c.rank);
    candidates
}

fn candidate(pieces: Vec<Piece>) -> Candidate {
    Candidate {
        rank: pieces.iter().map(|p| p.rank).min().unwrap_or(usize::MAX),
        pieces,
    }
}

/// The word 3-shingles of a text (its words, when it has fewer than three), lower-cased.
fn shingles(text: &str) -> HashSet<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.len() < 3 {
        return words.into_iter().collect();
    }
    words.windows(3).map(|w| w.join(" ")).collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// Keep the candidates, in order, that do not repeat a kept one (see [`DUPLICATE_JACCARD`]).
fn drop_near_duplicates(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut kept: Vec<(Candidate, HashSet<String>)> = Vec::new();
    for c in candidates {
        let s = shingles(&c.text());
        if kept.iter().all(|(_, k)| jaccard(&s, k) < DUPLICATE_JACCARD) {
            kept.push((c, s));
        }
    }
    kept.into_iter().map(|(c, _)| c).collect()
}

/// The candidates, in order, up to `max_per_doc` of each document first, then the rest in order.
fn diversify(candidates: Vec<Candidate>, max_per_doc: usize) -> Vec<Candidate> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let (mut first, mut later) = (Vec::new(), Vec::new());
    for c in candidates {
        let n = seen.entry(c.doc_id().to_string()).or_default();
        *n += 1;
        if *n <= max_per_doc {
            first.push(c);
        } else {
            later.push(c);
        }
    }
    first.extend(later);
    first
}

/// Renders packs and counts their tokens.
struct Packer<'a> {
    counter: &'a TokenCounter,
    format: PackFormat,
    /// Count a text as the sum of its lines' counts, each distinct line counted once, and the
    /// tokens of its runs of line breaks.
    by_lines: bool,
    /// Those counts.
    lines: std::cell::RefCell<std::collections::HashMap<String, usize>>,
    /// The question asked.
    question: &'a str,
    /// The search's notes, which the pack repeats.
    search_notes: &'a [String],
}

impl Packer<'_> {
    /// The tokens of `text` (see [`Packer::by_lines`]).
    fn count(&self, text: &str) -> Result<usize> {
        if !self.by_lines {
            return self.counter.count(text);
        }
        let mut lines = self.lines.borrow_mut();
        let mut total = line_break_tokens(text);
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            total += match lines.get(line) {
                Some(&n) => n,
                None => {
                    let n = self.counter.count(line)?;
                    lines.insert(line.to_string(), n);
                    n
                }
            };
        }
        Ok(total)
    }

    fn render(&self, pack: &ContextPack) -> Result<String> {
        Ok(match self.format {
            PackFormat::Md => render_md(pack),
            PackFormat::Json => serde_json::to_string_pretty(pack)? + "\n",
        })
    }

    /// Set `pack.tokens_used` to the token count of the rendering that states it, and return
    /// that rendering, if it fits the budget. The number is a word of its own in both
    /// renderings, so the count is the rest plus that number's own tokens.
    ///
    /// Such a number may not exist: with 878 tokens besides it, a number of one token would
    /// have to be 879 and one of two tokens 880, and `879` is two word pieces while `880` is
    /// one. Then the header takes [`COUNT_NOTE`], which moves the rest off that edge (the
    /// passage that met it is not left out for want of a number).
    fn settle(&self, pack: &mut ContextPack) -> Result<Option<String>> {
        pack.notes.retain(|n| n != COUNT_NOTE);
        if let Some(text) = self.settle_once(pack)? {
            return Ok(Some(text));
        }
        pack.notes.push(COUNT_NOTE.to_string());
        let settled = self.settle_once(pack)?;
        if settled.is_none() {
            pack.notes.retain(|n| n != COUNT_NOTE);
        }
        Ok(settled)
    }

    fn settle_once(&self, pack: &mut ContextPack) -> Result<Option<String>> {
        let before = pack.tokens_used;
        pack.truncated = pack.passages.iter().any(|p| p.truncated);
        pack.tokens_used = pack.budget;
        let total = self.count(&self.render(pack)?)?;

        let rest = total.saturating_sub(self.count(&pack.budget.to_string())?);
        for own in 1..=8 {
            let n = rest + own;
            if n > pack.budget {
                break;
            }
            if self.count(&n.to_string())? != own {
                continue;
            }
            pack.tokens_used = n;
            let text = self.render(pack)?;
            if self.count(&text)? == n {
                return Ok(Some(text));
            }
        }
        // What was counted before still stands (callers undo what did not fit).
        pack.tokens_used = before;
        Ok(None)
    }

    /// Set the question and notes of `pack`'s header for its budget: the question on one line
    /// (each run of whitespace one space), cut when it takes more than
    /// 1/[`QUESTION_SHARE`] of the budget — the cut marked `[…]` and explained in a note.
    /// The search still reads the whole question.
    fn head(&self, pack: &mut ContextPack) -> Result<()> {
        let question = self
            .question
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        pack.notes = self.search_notes.to_vec();
        let share = pack.budget / QUESTION_SHARE;
        let tokens = self.counter.count(&question)?;
        if tokens <= share {
            pack.question = question;
            return Ok(());
        }
        let cut = |len: usize| match question[..len].trim_end() {
            "" => "[…]".to_string(),
            kept => format!("{kept} […]"),
        };
        // Char boundaries where the shown question may end; a prefix of `share` tokens holds
        // far fewer than 32 characters a token (the longest WordPiece pieces are about 20), so
        // the search need not look further.
        let ends: Vec<usize> = question
            .char_indices()
            .map(|(at, _)| at)
            .skip(1)
            .take(32 * (share + 1))
            .collect();
        // The longest prefix that fits (the count grows with the text kept).
        let (mut lo, mut hi) = (0, ends.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if self.counter.count(&cut(ends[mid - 1]))? <= share {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let mut len = if lo == 0 { 0 } else { ends[lo - 1] };
        // At a word's end when the prefix holds one.
        if !question[len..].starts_with(' ') {
            if let Some(space) = question[..len].rfind(' ') {
                len = space;
            }
        }
        pack.question = cut(len);
        pack.notes.push(format!(
            "the question takes {tokens} tokens, more than 1/{QUESTION_SHARE} of the budget: the header shows its first {} of {} characters",
            question[..len].trim_end().chars().count(),
            question.chars().count()
        ));
        Ok(())
    }

    /// The smallest budget that holds `pack` (its header, when it has no passages).
    fn least_budget(&self, pack: &ContextPack) -> Result<usize> {
        let mut probe = pack.clone();
        let mut budget = pack.budget.max(1);
        loop {
            probe.budget = budget;
            self.head(&mut probe)?;
            if self.settle(&mut probe)?.is_some() {
                return Ok(budget);
            }
            // Below the count, nothing fits: jump there, then step.
            let count = self.count(&self.render(&probe)?)?;
            budget = if count > budget { count } else { budget + 1 };
        }
    }

    /// Join `piece` to passage `j` (whose chunks are `run`) at position `at`: whole, or, at the
    /// end of a verbatim passage, cut to fit. Returns the passage's chunks when it fits.
    fn extend(
        &self,
        pack: &mut ContextPack,
        j: usize,
        run: &[Piece],
        at: usize,
        piece: &Piece,
    ) -> Result<Option<Vec<Piece>>> {
        let before = pack.passages[j].clone();
        let mut pieces = run.to_vec();
        pieces.insert(at, piece.clone());
        let joined = candidate(pieces);
        pack.passages[j] = joined.passage(j + 1, &joined.pieces, false);
        if self.settle(pack)?.is_some() {
            return Ok(Some(joined.pieces));
        }
        if at == run.len() && piece.is_verbatim() {
            let alone = candidate(vec![piece.clone()]);
            let cuts: Vec<usize> = alone
                .cuts()
                .into_iter()
                .filter_map(|(_, len)| len)
                .collect();
            // As in `add`: the shortest cut first, the search only when it fits.
            let fits = |cut: usize, pack: &mut ContextPack| -> Result<Option<Vec<Piece>>> {
                let mut kept = run.to_vec();
                kept.push(piece.cut(cut));
                pack.passages[j] = joined.passage(j + 1, &kept, true);
                Ok(self.settle(pack)?.map(|_| kept))
            };
            let mut best = match cuts.first() {
                Some(&shortest) => fits(shortest, pack)?,
                None => None,
            };
            let (mut lo, mut hi) = (1, if best.is_some() { cuts.len() } else { 0 });
            while lo < hi {
                let mid = (lo + hi) / 2;
                let mut kept = run.to_vec();
                kept.push(piece.cut(cuts[mid]));
                pack.passages[j] = joined.passage(j + 1, &kept, true);
                if self.settle(pack)?.is_some() {
                    best = Some(kept);
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if let Some(kept) = best {
                pack.passages[j] = joined.passage(j + 1, &kept, true);
                return Ok(Some(kept));
            }
        }
        pack.passages[j] = before;
        Ok(None)
    }

    /// Add the candidate to the pack, whole or cut to fit; false when no cut fits.
    fn add(&self, pack: &mut ContextPack, candidate: &Candidate) -> Result<bool> {
        let number = pack.passages.len() + 1;
        let may_fit = lower_bound(pack);
        pack.passages
            .push(candidate.passage(number, &candidate.pieces, false));
        if may_fit(&candidate.text()) && self.settle(pack)?.is_some() {
            return Ok(true);
        }
        let cuts = candidate.cuts();
        // When even the shortest cut does not fit, nothing does (one short count, where the
        // search below would count long texts: once the budget is full, every later candidate
        // stops here).
        let Some(&shortest) = cuts.first() else {
            pack.passages.pop();
            return Ok(false);
        };
        *pack.passages.last_mut().expect("pushed above") =
            candidate.passage(number, &candidate.cut(shortest), true);
        if self.settle(pack)?.is_none() {
            pack.passages.pop();
            return Ok(false);
        }
        // The longest cut that fits: the count grows with the text kept.
        let (mut lo, mut hi) = (1, cuts.len());
        let mut best = Some(0);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let kept = candidate.cut(cuts[mid]);
            if !may_fit(&join(&kept)) {
                hi = mid;
                continue;
            }
            *pack.passages.last_mut().expect("pushed above") =
                candidate.passage(number, &kept, true);
            if self.settle(pack)?.is_some() {
                best = Some(mid);
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        match best {
            Some(i) => {
                *pack.passages.last_mut().expect("pushed above") =
                    candidate.passage(number, &candidate.cut(cuts[i]), true);
                Ok(true)
            }
            None => {
                pack.passages.pop();
                Ok(false)
            }
        }
    }
}

/// The note a pack's header takes when no token count can state itself exactly without it
/// (see `Packer::settle`).
pub const COUNT_NOTE: &str = "the token count includes this note";

/// Tokens the header may shed between two counts (the `left out` line changing or going):
/// the slack of [`lower_bound`].
const HEADER_SLACK: usize = 12;

/// A test that passes every text that may fit in `pack` as one more passage, by a lower bound
/// on its tokens: every word is at least one token, on top of what the pack held at its last
/// count (less [`HEADER_SLACK`]). It spares counting long texts that cannot fit.
fn lower_bound(pack: &ContextPack) -> impl Fn(&str) -> bool {
    let (floor, budget) = (pack.tokens_used.saturating_sub(HEADER_SLACK), pack.budget);
    move |text: &str| floor + text.split_whitespace().count() <= budget
}

/// `mm:ss` of a time in milliseconds.
fn mmss(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The Markdown rendering: header, passages, sources.
fn render_md(pack: &ContextPack) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Context: {}", pack.question.trim());
    let _ = writeln!(
        out,
        "tokens: {} of {} ({})",
        pack.tokens_used,
        pack.budget,
        pack.tokenizer.describe()
    );
    if pack.num_left_out > 0 {
        let _ = writeln!(out, "left out (did not fit): {}", pack.num_left_out);
    }
    for note in &pack.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if pack.passages.is_empty() {
        return out;
    }
    for p in &pack.passages {
        let mut place = p.title.clone();
        let headings: Vec<&str> = p
            .heading_path
            .iter()
            .map(String::as_str)
            .filter(|h| *h != p.title)
            .collect();
        if !headings.is_empty() {
            place.push_str(" — ");
            place.push_str(&headings.join(" › "));
        }
        let mut facts: Vec<String> = p.date.iter().cloned().collect();
        if !p.speakers.is_empty() {
            facts.push(p.speakers.join(", "));
        }
        if let Some(d) = &p.decision {
            facts.push(status_line(d));
        }
        let facts = if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        };
        let _ = writeln!(out, "\n[{}] {place}{facts}", p.number);
        let _ = writeln!(out, "{}", p.text.trim_end());
        if p.truncated {
            let _ = writeln!(out, "[…]");
        }
    }
    let _ = writeln!(out, "\nSources");
    for p in &pack.passages {
        // The passage's own line above holds its title, headings, date and speakers.
        let mut line = format!(
            "[{}] {}",
            p.number,
            crate::path_text::display(&p.spans[0].path)
        );
        if let (Some(s), Some(e)) = (p.start_ms, p.end_ms) {
            let _ = write!(line, " · {}–{} ({s}–{e} ms)", mmss(s), mmss(e));
        }
        if p.truncated {
            line.push_str(" · truncated");
        }
        let _ = writeln!(out, "{line}");
        for s in &p.spans {
            let stale = match &s.stale {
                Some(stale) => format!(" · {}", stale.describe()),
                None => String::new(),
            };
            if s.ranges_withheld {
                let _ = writeln!(
                    out,
                    "    {} · sha256 {}…{stale}",
                    crate::path_text::display(&s.chunk_id),
                    &s.content_hash[..12]
                );
                continue;
            }
            let _ = writeln!(
                out,
                "    {} · bytes {}–{} · lines {}–{} · sha256 {}…{stale}",
                crate::path_text::display(&s.chunk_id),
                s.byte_range[0],
                s.byte_range[1],
                s.line_range[0],
                s.line_range[1],
                &s.content_hash[..12]
            );
        }
    }
    out
}

/// `status: accepted`, or `status: superseded by ADR-0010 (since 2026-03-17)`.
fn status_line(d: &DecisionLabel) -> String {
    if d.after_as_of {
        return "status: not made yet at that date".to_string();
    }
    let mut s = format!("status: {}", d.status.as_str());
    if let Some(by) = &d.superseded_by {
        // `ADR-0010` out of `ADR-0010: Move …`, else the successor's title or id.
        let name = d.superseded_by_title.as_deref().map_or(by.as_str(), |t| {
            t.split_once(':')
                .filter(|(head, _)| head.len() <= 16)
                .map_or(t, |(head, _)| head)
        });
        let _ = write!(s, " by {name}");
        if let Some(since) = &d.since {
            let _ = write!(s, " (since {since})");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snippet::Snippet;

    /// A hit on chunk `n` of `doc`, whose text sits at `start` of a verbatim source.
    fn hit(rank: usize, doc: &str, n: usize, start: usize, text: &str) -> SearchHit {
        SearchHit {
            rank,
            chunk_id: format!("{doc}#{n}"),
            score: 1.0 / rank as f32,
            lexical: None,
            dense: None,
            snippet: Snippet {
                text: String::new(),
                highlights: Vec::new(),
                chunk_range: [0, 0],
            },
            text: text.to_string(),
            provenance: Provenance {
                doc_id: doc.to_string(),
                path: format!("{doc}.md"),
                title: doc.to_string(),
                kind: "document".into(),
                format: SourceFormat::Markdown,
                heading_path: Vec::new(),
                byte_range: [start, start + text.len()],
                line_range: [1, 1 + text.matches('\n').count()],
                speakers: Vec::new(),
                start_ms: None,
                end_ms: None,
                date: None,
                authors: Vec::new(),
                url: None,
                tags: Vec::new(),
                metadata: BTreeMap::new(),
                content_hash: content_hash(text),
            },
            decision: None,
            stale: None,
        }
    }

    fn ids(c: &Candidate) -> Vec<&str> {
        c.pieces.iter().map(|p| p.chunk_id.as_str()).collect()
    }

    #[test]
    fn adjacent_chunks_of_one_document_merge_and_keep_a_span_each() {
        let hits = vec![
            hit(1, "a", 3, 300, "three"),
            hit(2, "b", 0, 0, "other"),
            hit(3, "a", 2, 200, "two"),
            hit(4, "a", 5, 500, "five"),
            hit(5, "a", 4, 400, "four"),
            hit(6, "a", 0, 0, "zero"),
        ];
        let merged = merge_adjacent(&hits);
        let got: Vec<(usize, Vec<&str>)> = merged.iter().map(|c| (c.rank, ids(c))).collect();
        assert_eq!(
            got,
            vec![
                (1, vec!["a#2", "a#3", "a#4", "a#5"]),
                (2, vec!["b#0"]),
                (6, vec!["a#0"]),
            ]
        );
        let passage = merged[0].passage(1, &merged[0].pieces, false);
        assert_eq!(passage.text, "two\n\nthree\n\nfour\n\nfive");
        assert_eq!(passage.spans.len(), 4);
        assert_eq!(passage.spans[1].byte_range, [300, 305]);
        assert_eq!(passage.spans[1].content_hash, content_hash("three"));
        assert_eq!(passage.rank, 1);
    }

    #[test]
    fn near_duplicates_are_dropped_and_distinct_passages_kept() {
        let quote = "the q3 review always moves two weeks early because of the board meeting";
        let hits = vec![
            hit(1, "slack", 0, 0, quote),
            hit(2, "notes", 7, 0, &format!("Reminder: {quote}.")),
            hit(3, "wiki", 1, 0, "the pager rotates every monday at ten"),
        ];
        let kept = drop_near_duplicates(merge_adjacent(&hits));
        let got: Vec<Vec<&str>> = kept.iter().map(ids).collect();
        assert_eq!(got, vec![vec!["slack#0"], vec!["wiki#1"]]);
        assert!(jaccard(&shingles("a b c d"), &shingles("x y z w")) < DUPLICATE_JACCARD);
    }

    #[test]
    fn a_document_gets_two_passages_before_any_gets_a_third() {
        let hits = vec![
            hit(1, "a", 0, 0, "one"),
            hit(2, "a", 2, 0, "two"),
            hit(3, "a", 4, 0, "three"),
            hit(4, "a", 6, 0, "four"),
            hit(5, "b", 0, 0, "five"),
            hit(6, "c", 0, 0, "six"),
        ];
        let order = diversify(merge_adjacent(&hits), 2);
        let got: Vec<usize> = order.iter().map(|c| c.rank).collect();
        assert_eq!(got, vec![1, 2, 5, 6, 3, 4]);
    }

    #[test]
    fn a_verbatim_cut_ends_at_a_word_and_re_reads_exactly() {
        let source = "# Notes\n\nalpha beta gamma delta epsilon zeta eta theta iota\nkappa lambda mu\n\nnu xi omicron pi rho sigma tau upsilon phi chi psi";
        let first = &source[9..81];
        let second = &source[83..];
        let mut hits = vec![hit(1, "n", 1, 9, first), hit(2, "n", 2, 83, second)];
        for h in &mut hits {
            let [s, e] = h.provenance.byte_range;
            let line = 1 + source[..s].matches('\n').count();
            h.provenance.line_range = [line, line + source[s..e].matches('\n').count()];
        }
        let candidate = &merge_adjacent(&hits)[0];
        let cuts = candidate.cuts();
        assert!(!cuts.is_empty());
        let mut last_len = 0;
        for cut in &cuts {
            let pieces = candidate.cut(*cut);
            let passage = candidate.passage(1, &pieces, true);
            let len = passage.text.len();
            assert!(len > last_len, "cuts are ordered shortest first");
            last_len = len;
            assert!(num_words(&passage.text) >= MIN_TRUNCATED_WORDS);
            for (span, piece) in passage.spans.iter().zip(&pieces) {
                let [s, e] = span.byte_range;
                assert_eq!(&source[s..e], piece.text, "{cut:?}");
                assert_eq!(span.content_hash, content_hash(&source[s..e]));
                assert!(!piece.text.ends_with(char::is_whitespace));
                let lines = 1 + source[..s].matches('\n').count();
                assert_eq!(span.line_range[0], lines);
                assert_eq!(
                    span.line_range[1],
                    lines + source[s..e].matches('\n').count()
                );
            }
        }
        // The 8th word of the first chunk ends the shortest cut; the first chunk whole is one cut.
        assert_eq!(
            candidate.cut(cuts[0])[0].text,
            "alpha beta gamma delta epsilon zeta eta theta"
        );
        assert!(cuts.contains(&(0, None)));
    }

    #[test]
    fn a_passage_without_whitespace_is_cut_inside_at_character_boundaries() {
        // One 100 KB word of multi-byte characters, and CR-only lines.
        for text in [
            "é界😀".repeat(11_000),
            "a".repeat(100_000),
            "line one of many\rline two of many\rline three".repeat(50),
        ] {
            let candidate = candidate(vec![Piece::of(&hit(1, "w", 0, 0, &text))]);
            let cuts = candidate.cuts();
            assert!(!cuts.is_empty(), "{}", &text[..40]);
            let mut last = 0;
            for cut in cuts {
                let (0, Some(len)) = cut else {
                    panic!("{cut:?}")
                };
                assert!(text.is_char_boundary(len) && len > last);
                last = len;
                let kept = &candidate.cut(cut)[0];
                assert_eq!(kept.provenance.byte_range, [0, kept.text.len()]);
                assert_eq!(&text[..kept.text.len()], kept.text);
                assert!(num_words(&kept.text) >= MIN_TRUNCATED_WORDS);
            }
            let shortest = &candidate.cut(candidate.cuts()[0])[0].text;
            assert!(shortest.chars().count() <= MIN_TRUNCATED_WORDS * LONG_WORD);
        }
        assert_eq!(num_words("short words stay one each"), 5);
        assert_eq!(num_words(&"x".repeat(LONG_WORD + 1)), 2);
    }

    #[test]
    fn non_verbatim_passages_are_cut_only_between_whole_chunks() {
        let mut hits = vec![
            hit(1, "t", 0, 0, "one two three four five six seven eight nine"),
            hit(2, "t", 1, 60, "ten eleven twelve"),
            hit(3, "t", 2, 90, "thirteen fourteen"),
        ];
        for h in &mut hits {
            h.provenance.format = SourceFormat::Vtt;
            // The cited bytes of a transcript are not its text.
            h.provenance.byte_range[1] += 30;
        }
        let candidate = &merge_adjacent(&hits)[0];
        assert_eq!(candidate.cuts(), vec![(0, None), (1, None)]);
    }

    #[test]
    fn statuses_read_as_the_ledger_says() {
        let mut label = DecisionLabel {
            entry: "adr-0005".into(),
            kind: crate::memory::EntryKind::Decision,
            title: "Nightly reconciliation at 02:00".into(),
            status: crate::memory::Status::Accepted,
            superseded_by: None,
            superseded_by_title: None,
            since: None,
            after_as_of: false,
        };
        assert_eq!(status_line(&label), "status: accepted");
        label.status = crate::memory::Status::Superseded;
        label.superseded_by = Some("ADR-0010".into());
        label.since = Some("2026-03-17".into());
        assert_eq!(
            status_line(&label),
            "status: superseded by ADR-0010 (since 2026-03-17)"
        );
        assert_eq!(mmss(754_000), "12:34");
        assert_eq!("JSON".parse::<PackFormat>().unwrap(), PackFormat::Json);
        assert!("yaml".parse::<PackFormat>().is_err());
    }
}
