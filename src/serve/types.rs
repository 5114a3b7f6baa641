//! What the operations of a [`Service`](crate::serve::Service) take and answer: the wire
//! types every transport shares. Each derives serde, `schemars::JsonSchema` (for MCP tool
//! schemas) and `utoipa::ToSchema` (for the OpenAPI document), so that both describe the same
//! fields. Arguments refuse unknown fields; every optional argument has a default.
//!
//! They are lore's own answers cut for a caller with a token budget: flat citations (path,
//! lines, bytes) instead of the library's full provenance, and names instead of enums. A
//! citation tells the caller nothing it may not know (see [`Citations`]): its `path` is relative
//! to the export root the index was built from (`exports/wiki/x.md`), never the server's own,
//! and its `line_range` and `byte_range` are left out for a chunk of a file the caller reads only
//! in part (a thread with messages it may not read), where they would tell of the others.

use serde::{Deserialize, Serialize};

use crate::cite::Citations;
use crate::memory::{DecisionView, RankedPerson};
use crate::model::{Chunk, Provenance};
use crate::query::{Mode, SearchHit};
use crate::stale::Stale;

/// A chunk's ranges as a caller may see them: `None` each where they are withheld.
type Ranges = (Option<[usize; 2]>, Option<[usize; 2]>);

/// The lines and bytes of `p`, unless `citations` withholds them.
fn ranges(p: &Provenance, citations: &Citations) -> Ranges {
    match citations.shows_ranges(&p.path) {
        true => (Some(p.line_range), Some(p.byte_range)),
        false => (None, None),
    }
}

/// Why a citation no longer matches its source file as the server sees it now (the wire form
/// of [`Stale`]): absent from an item whose source is as indexed.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct StaleItem {
    /// `changed` (the cited text is no longer in the file; for a decision, the file changed),
    /// `moved` (the text is in the file at other lines) or `vanished` (the file is gone).
    pub reason: String,
    /// What was found, in a few words.
    pub detail: String,
    /// Where a moved text is now, lines 1-based and inclusive. In a file the caller reads in
    /// part, only a changed or vanished text of the item's own is flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_now: Option<[usize; 2]>,
}

impl From<Stale> for StaleItem {
    fn from(s: Stale) -> StaleItem {
        StaleItem {
            reason: s.reason.as_str().to_string(),
            detail: s.detail,
            lines_now: s.lines_now,
        }
    }
}

/// `stale` as a caller may see it: in a file it reads only in part, only what befell the
/// item's own text (see [`Stale::for_partial_reader`]).
fn stale_for(stale: Option<Stale>, path: &str, citations: &Citations) -> Option<StaleItem> {
    let stale = match citations.shows_ranges(path) {
        true => stale?,
        false => stale?.for_partial_reader()?,
    };
    Some(stale.into())
}

/// Which retrievers answer (the wire form of [`Mode`]).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// BM25 full-text search.
    Lexical,
    /// Nearest neighbours of the query's embedding.
    Dense,
    /// Both, fused (the default).
    #[default]
    Hybrid,
}

impl From<SearchMode> for Mode {
    fn from(m: SearchMode) -> Mode {
        match m {
            SearchMode::Lexical => Mode::Lexical,
            SearchMode::Dense => Mode::Dense,
            SearchMode::Hybrid => Mode::Hybrid,
        }
    }
}

impl From<Mode> for SearchMode {
    fn from(m: Mode) -> SearchMode {
        match m {
            Mode::Lexical => SearchMode::Lexical,
            Mode::Dense => SearchMode::Dense,
            Mode::Hybrid => SearchMode::Hybrid,
        }
    }
}

/// Arguments of [`Service::search`](super::Service::search).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// The question or keywords.
    pub query: String,
    /// Most tokens the `hits` list may take as JSON (counted with the model's tokenizer,
    /// brackets and commas included; default 2000).
    #[serde(default)]
    pub budget: Option<usize>,
    /// Most hits wanted (default 10, at most 100); fewer come back when the budget is reached.
    #[serde(default)]
    pub max_hits: Option<usize>,
    /// Retrievers to use (default hybrid).
    #[serde(default)]
    pub mode: Option<SearchMode>,
    /// Filters, all of which must hold, as `key=value`: kind, format, path (folder prefix),
    /// author, speaker, person, tag, since/until (YYYY-MM-DD), or a metadata field the
    /// documents carry (any other key is refused, and the error lists the fields).
    #[serde(default)]
    pub filters: Vec<String>,
    /// The date to ask at (YYYY-MM-DD): decisions are labelled as they stood then.
    #[serde(default)]
    pub as_of: Option<String>,
}

impl SearchArgs {
    /// A hybrid search for `query` with default settings.
    pub fn new(query: impl Into<String>) -> Self {
        SearchArgs {
            query: query.into(),
            budget: None,
            max_hits: None,
            mode: None,
            filters: Vec::new(),
            as_of: None,
        }
    }
}

/// A decision or action a hit records, as it stands at the request's date.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct HitDecision {
    /// Ledger entry id.
    pub entry: String,
    /// `decision` or `action`.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its status at the date (`accepted`, `superseded`, `open`, …).
    pub status: String,
    /// The entry that superseded it, when superseded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
}

/// One search hit: a chunk, its score, and where to cite it.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct Hit {
    /// 1-based rank.
    pub rank: usize,
    /// Chunk id (`{doc_id}#{n}`): `get` fetches it with its neighbours.
    pub chunk_id: String,
    /// The final score.
    pub score: f32,
    /// Document title.
    pub title: String,
    /// Source file path, relative to the export root.
    pub path: String,
    /// Document kind.
    pub kind: String,
    /// Lines of the source, 1-based, inclusive; left out in a file the caller reads in part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_range: Option<[usize; 2]>,
    /// Bytes of the source, `[start, end)`; left out with `line_range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_range: Option<[usize; 2]>,
    /// Headings enclosing the chunk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heading_path: Vec<String>,
    /// Document date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Speakers of the chunk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speakers: Vec<String>,
    /// The chunk's text (cut to fit the budget when `truncated`: `get` gives it whole).
    pub text: String,
    /// The text was cut to fit the budget (only ever the last hit).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The decision the chunk records, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<HitDecision>,
    /// Set when the source file no longer holds this text as indexed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<StaleItem>,
}

impl Hit {
    /// The wire form of a library hit, cited as `citations` says.
    pub fn cited(h: SearchHit, citations: &Citations) -> Hit {
        let (line_range, byte_range) = ranges(&h.provenance, citations);
        let stale = stale_for(h.stale, &h.provenance.path, citations);
        let p = h.provenance;
        Hit {
            rank: h.rank,
            chunk_id: h.chunk_id,
            score: h.score,
            title: p.title,
            path: citations.path(&p.path),
            kind: p.kind,
            line_range,
            byte_range,
            heading_path: p.heading_path,
            date: p.date,
            speakers: p.speakers,
            text: h.text,
            truncated: false,
            decision: h.decision.map(|d| HitDecision {
                entry: d.entry,
                kind: d.kind.as_str().to_string(),
                title: d.title,
                status: d.status.as_str().to_string(),
                superseded_by: d.superseded_by,
            }),
            stale,
        }
    }
}

/// The answer of [`Service::search`](super::Service::search).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct SearchOutput {
    /// The query.
    pub query: String,
    /// The retrievers actually used (hybrid falls back to lexical when the query cannot be
    /// embedded; `notes` says why).
    pub mode_used: SearchMode,
    /// Hits, best first, as many as fit the budget.
    pub hits: Vec<Hit>,
    /// Hits found but left out because the budget was reached.
    pub num_left_out: usize,
    /// The budget, in tokens.
    pub budget: usize,
    /// Tokens the `hits` list takes as JSON, brackets and commas included.
    pub tokens_used: usize,
    /// The index generation that answered.
    pub generation: String,
    /// Anything the caller should know.
    pub notes: Vec<String>,
}

/// Arguments of [`Service::context`](super::Service::context).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct ContextArgs {
    /// The question.
    pub question: String,
    /// Most tokens the rendered pack may take (default 2000).
    #[serde(default)]
    pub budget: Option<usize>,
    /// Retrievers to use (default hybrid).
    #[serde(default)]
    pub mode: Option<SearchMode>,
    /// Filters as `key=value` (see `SearchArgs::filters`).
    #[serde(default)]
    pub filters: Vec<String>,
    /// The date to ask at (YYYY-MM-DD).
    #[serde(default)]
    pub as_of: Option<String>,
}

/// One citation of a context pack: where the text of passage `number` comes from.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct Citation {
    /// The passage's number in the rendered pack (`[1]`, `[2]`, …).
    pub number: usize,
    /// The chunk cited.
    pub chunk_id: String,
    /// Source file path, relative to the export root.
    pub path: String,
    /// Lines cited, 1-based, inclusive; left out in a file the caller reads in part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_range: Option<[usize; 2]>,
    /// Bytes cited, `[start, end)`; left out with `line_range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_range: Option<[usize; 2]>,
    /// SHA-256 of the cited text.
    pub content_hash: String,
    /// Set when the source file holds the text at other lines now (`moved`): passages whose
    /// source changed or vanished are left out of the pack, with a note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<StaleItem>,
}

/// The answer of [`Service::context`](super::Service::context).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct ContextOutput {
    /// The question as the pack's header shows it: on one line, and cut (ending ` […]`, with a
    /// note) when it takes more than half the budget, so a long question is not sent back
    /// whole outside the budget.
    pub question: String,
    /// The pack as Markdown: numbered passages and their sources, within the budget.
    pub rendered: String,
    /// The budget, in tokens.
    pub budget: usize,
    /// Tokens `rendered` takes.
    pub tokens_used: usize,
    /// A passage was cut to fit.
    pub truncated: bool,
    /// Passages found but left out.
    pub num_left_out: usize,
    /// Every cited span.
    pub citations: Vec<Citation>,
    /// The index generation that answered.
    pub generation: String,
    /// Anything the caller should know.
    pub notes: Vec<String>,
}

/// Arguments of [`Service::decisions`](super::Service::decisions).
#[derive(
    Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct DecisionsArgs {
    /// A topic; without one every entry is listed, newest first.
    #[serde(default)]
    pub query: Option<String>,
    /// The date to stand at (YYYY-MM-DD; default today).
    #[serde(default)]
    pub as_of: Option<String>,
    /// `in-force` (default), `all`, or one status: proposed, accepted, rejected, deprecated,
    /// superseded, open, done.
    #[serde(default)]
    pub status: Option<String>,
    /// `decision` or `action` (default both).
    #[serde(default)]
    pub kind: Option<String>,
    /// Most entries wanted (default 20, from 1 to 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Most tokens the entries may take (default 2000).
    #[serde(default)]
    pub budget: Option<usize>,
}

/// One step of a decision's history.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct HistoryItem {
    /// Entry id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Date made.
    pub date: Option<String>,
    /// Status at the request's date (`None`: not made yet then).
    pub status: Option<String>,
}

/// A decision or action as it stands at the request's date.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct DecisionItem {
    /// Ledger entry id.
    pub id: String,
    /// `decision` or `action`.
    pub kind: String,
    /// What was decided or is to be done.
    pub title: String,
    /// Status at the date.
    pub status: String,
    /// The entry that replaced it, when superseded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// Date made.
    pub date: Option<String>,
    /// Deciders or owners.
    pub people: Vec<String>,
    /// Due date of an action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// Source file path, relative to the export root.
    pub path: String,
    /// Lines of the source, 1-based, inclusive; left out in a file the caller reads in part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_range: Option<[usize; 2]>,
    /// The chain of entries it replaced, oldest first.
    pub history: Vec<HistoryItem>,
    /// Set when its source file changed (its status or text may read differently now) or
    /// vanished since indexing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<StaleItem>,
}

impl DecisionItem {
    /// The wire form of a library decision, cited as `citations` says.
    pub fn cited(d: DecisionView, citations: &Citations) -> DecisionItem {
        let line_range = citations
            .shows_ranges(&d.entry.path)
            .then_some(d.entry.line_range);
        let stale = stale_for(d.stale, &d.entry.path, citations);
        DecisionItem {
            id: d.entry.id,
            kind: d.entry.kind.as_str().to_string(),
            title: d.entry.title,
            status: d.standing.status.as_str().to_string(),
            superseded_by: d.standing.superseded_by,
            date: d.entry.date,
            people: d.people,
            due: d.entry.due,
            rationale: d.entry.rationale,
            path: citations.path(&d.entry.path),
            line_range,
            history: d
                .history
                .into_iter()
                .map(|h| HistoryItem {
                    id: h.id,
                    title: h.title,
                    date: h.date,
                    status: h.status.map(|s| s.as_str().to_string()),
                })
                .collect(),
            stale,
        }
    }
}

/// The answer of [`Service::decisions`](super::Service::decisions).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct DecisionsOutput {
    /// The date stood at (`None`: today).
    pub as_of: Option<String>,
    /// Entries, best match (or newest) first, as many as fit the budget.
    pub entries: Vec<DecisionItem>,
    /// Entries found but left out because the budget was reached.
    pub num_left_out: usize,
    /// The budget, in tokens.
    pub budget: usize,
    /// Tokens the `entries` list takes as JSON, brackets and commas included.
    pub tokens_used: usize,
    /// The index generation that answered.
    pub generation: String,
    /// Anything the caller should know.
    pub notes: Vec<String>,
}

/// Arguments of [`Service::who`](super::Service::who).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct WhoArgs {
    /// The topic or question.
    pub topic: String,
    /// The date to stand at (YYYY-MM-DD; default today).
    #[serde(default)]
    pub as_of: Option<String>,
    /// Most people wanted (default 5, from 1 to 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Filters as `key=value` on the passages searched (see `SearchArgs::filters`).
    #[serde(default)]
    pub filters: Vec<String>,
    /// Most tokens the people may take (default 2000).
    #[serde(default)]
    pub budget: Option<usize>,
}

/// A passage that shows what a person knows.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct EvidenceItem {
    /// How it shows them: `decided`, `owns_action`, `said`, `authored`, `mentioned`.
    pub kind: String,
    /// The chunk.
    pub chunk_id: String,
    /// Source file path, relative to the export root.
    pub path: String,
    /// Document title.
    pub title: String,
    /// Lines of the source, 1-based, inclusive; left out in a file the caller reads in part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_range: Option<[usize; 2]>,
    /// Its date.
    pub date: Option<String>,
    /// Set when the source file no longer holds this passage as indexed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<StaleItem>,
}

/// A person and the evidence of what they know.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct PersonItem {
    /// Canonical name.
    pub name: String,
    /// Role, when the people file gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Team, when the people file gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Score (sum of weighted evidence).
    pub score: f64,
    /// Pieces of evidence found in all.
    pub num_evidence: usize,
    /// The best pieces of evidence.
    pub evidence: Vec<EvidenceItem>,
}

impl PersonItem {
    /// The wire form of a library ranking's person, cited as `citations` says.
    pub fn cited(p: RankedPerson, citations: &Citations) -> PersonItem {
        PersonItem {
            name: p.name,
            role: p.role,
            team: p.team,
            score: p.score,
            num_evidence: p.num_evidence,
            evidence: p
                .evidence
                .into_iter()
                .map(|e| EvidenceItem {
                    kind: serde_json::to_value(e.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| e.kind.as_str().to_string()),
                    chunk_id: e.chunk_id,
                    stale: stale_for(e.stale, &e.path, citations),
                    line_range: citations.shows_ranges(&e.path).then_some(e.line_range),
                    path: citations.path(&e.path),
                    title: e.title,
                    date: e.date,
                })
                .collect(),
        }
    }
}

/// The answer of [`Service::who`](super::Service::who).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct WhoOutput {
    /// The topic.
    pub topic: String,
    /// People, best first, as many as fit the budget.
    pub people: Vec<PersonItem>,
    /// People found but left out because the budget was reached.
    pub num_left_out: usize,
    /// The budget, in tokens.
    pub budget: usize,
    /// Tokens the `people` list takes as JSON, brackets and commas included.
    pub tokens_used: usize,
    /// The index generation that answered.
    pub generation: String,
    /// Anything the caller should know.
    pub notes: Vec<String>,
}

/// Arguments of [`Service::get`](super::Service::get).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct GetArgs {
    /// The chunk id, as a hit gives it (`{doc_id}#{n}`).
    pub chunk_id: String,
    /// Chunks wanted before it in its meeting, thread or page (default 1, at most 20).
    #[serde(default)]
    pub before: Option<usize>,
    /// Chunks wanted after it (default 1, at most 20).
    #[serde(default)]
    pub after: Option<usize>,
    /// Most tokens the chunks may take (default 2000); neighbours, nearest first, come only
    /// while they fit.
    #[serde(default)]
    pub budget: Option<usize>,
}

impl GetArgs {
    /// The chunk `chunk_id` with one neighbour on each side.
    pub fn new(chunk_id: impl Into<String>) -> Self {
        GetArgs {
            chunk_id: chunk_id.into(),
            before: None,
            after: None,
            budget: None,
        }
    }
}

/// A chunk, with what it takes to cite it.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct ChunkItem {
    /// Chunk id.
    pub chunk_id: String,
    /// Document title.
    pub title: String,
    /// Source file path, relative to the export root.
    pub path: String,
    /// Document kind.
    pub kind: String,
    /// Source format.
    pub format: String,
    /// Lines of the source, 1-based, inclusive; left out in a file the caller reads in part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_range: Option<[usize; 2]>,
    /// Bytes of the source, `[start, end)`; left out with `line_range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_range: Option<[usize; 2]>,
    /// Headings enclosing the chunk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heading_path: Vec<String>,
    /// Document date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Speakers of the chunk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speakers: Vec<String>,
    /// SHA-256 of the text.
    pub content_hash: String,
    /// The text.
    pub text: String,
    /// Set when the source file no longer holds this text as indexed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<StaleItem>,
}

impl ChunkItem {
    /// The wire form of a chunk whose source check found `stale`, cited as `citations` says.
    pub fn cited(c: Chunk, stale: Option<Stale>, citations: &Citations) -> ChunkItem {
        let (line_range, byte_range) = ranges(&c.provenance, citations);
        let stale = stale_for(stale, &c.provenance.path, citations);
        let p = c.provenance;
        ChunkItem {
            chunk_id: c.id,
            title: p.title,
            path: citations.path(&p.path),
            kind: p.kind,
            format: p.format.as_str().to_string(),
            line_range,
            byte_range,
            heading_path: p.heading_path,
            date: p.date,
            speakers: p.speakers,
            content_hash: p.content_hash,
            text: c.text,
            stale,
        }
    }
}

/// The answer of [`Service::get`](super::Service::get).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct GetOutput {
    /// The chunk asked for.
    pub chunk: ChunkItem,
    /// Chunks before it, in reading order (the nearest last).
    pub before: Vec<ChunkItem>,
    /// Chunks after it, in reading order (the nearest first).
    pub after: Vec<ChunkItem>,
    /// The budget, in tokens.
    pub budget: usize,
    /// Tokens `chunk` and the `before` and `after` lists take as JSON, brackets and commas
    /// included.
    pub tokens_used: usize,
    /// The index generation that answered.
    pub generation: String,
}

/// What a [`Service`](super::Service) serves: the answer to `GET /healthz`.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The generation serving now.
    pub generation: String,
    /// Documents it holds; left out when access control is on (no count may tell a caller
    /// about documents it may not read, and `/healthz` asks for no token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<usize>,
    /// Chunks it holds; left out when access control is on, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<usize>,
    /// Whether access control is on for the index served.
    pub access_control: bool,
    /// The embedding model's id (`None`: a lexical-only index).
    pub model: Option<String>,
    /// Generations swapped in since the server started.
    pub reloads: u64,
    /// lore's version.
    pub version: String,
}
