//! The five operations of lore's [`Service`](super::Service) on one generation: who calls
//! ([`Caller`]), what is asked ([`Request`]) and answered ([`Response`]), the limits a request
//! is held to and checked against, and [`run`], which turns a request into the library call
//! and its answer into one that fits the budget.

use crate::access::Principal;
use crate::cite::CitationStyle;
use crate::date::Date;
use crate::index::Index;
use crate::memory::{
    ContextRequest, DecisionsRequest, EntryKind, PackFormat, StatusFilter, WhoRequest,
};
use crate::model::Filter;
use crate::query::{parse_filter, Mode, SearchRequest};
use serde::Serialize;

use super::budget::{shrink_decision, shrink_hit, shrink_person, Counter, TextTokens};
use super::{
    ChunkItem, Citation, ContextArgs, ContextOutput, DecisionItem, DecisionsArgs, DecisionsOutput,
    GetArgs, GetOutput, Hit, PersonItem, SearchArgs, SearchOutput, ServeError, StaleItem, WhoArgs,
    WhoOutput,
};

/// Tokens an answer may take when the request names no budget.
pub const DEFAULT_BUDGET: usize = 2000;
/// The largest budget a request may ask for.
pub const MAX_BUDGET: usize = 100_000;
/// Hits a search considers when the request does not say.
pub const DEFAULT_MAX_HITS: usize = 10;
/// The most hits a search may ask for.
pub const MAX_HITS: usize = 100;
/// The longest query, question, topic or chunk id a request may carry, in bytes (about 600
/// words): what one search reads is bounded, and so is the memory of many at once.
pub const MAX_QUERY_BYTES: usize = 4096;
/// The most entries (`decisions`) or people (`who`) a request may ask for.
pub const MAX_LIMIT: usize = 100;
/// The most neighbours a `get` may ask for on each side.
pub const MAX_NEIGHBOURS: usize = 20;

/// Who is calling, as a transport established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The principal the caller's credentials stand for; `None` for the index owner (a
    /// server started without tokens and without `--as`), who sees everything.
    pub principal: Option<Principal>,
    /// The transport's name (`http`, `mcp`), for the audit log.
    pub transport: &'static str,
}

impl Caller {
    /// A caller on `transport` on behalf of `principal`.
    pub fn new(transport: &'static str, principal: Option<Principal>) -> Self {
        Caller {
            principal,
            transport,
        }
    }
}

/// A request to any operation: what [`Service::call`](super::Service::call) takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// See [`Service::search`](super::Service::search).
    Search(SearchArgs),
    /// See [`Service::context`](super::Service::context).
    Context(ContextArgs),
    /// See [`Service::decisions`](super::Service::decisions).
    Decisions(DecisionsArgs),
    /// See [`Service::who`](super::Service::who).
    Who(WhoArgs),
    /// See [`Service::get`](super::Service::get).
    Get(GetArgs),
}

impl Request {
    /// Refuse a query, question, topic or chunk id over [`MAX_QUERY_BYTES`].
    fn check_lengths(&self) -> Result<(), ServeError> {
        let (field, text) = match self {
            Request::Search(a) => ("query", a.query.as_str()),
            Request::Context(a) => ("question", a.question.as_str()),
            Request::Decisions(a) => ("query", a.query.as_deref().unwrap_or("")),
            Request::Who(a) => ("topic", a.topic.as_str()),
            Request::Get(a) => ("chunk_id", a.chunk_id.as_str()),
        };
        if text.len() > MAX_QUERY_BYTES {
            return Err(ServeError::InvalidRequest(format!(
                "{field} is {} bytes, over the most a request may carry ({MAX_QUERY_BYTES} \
                 bytes): ask a shorter question",
                text.len()
            )));
        }
        Ok(())
    }

    /// The operation's name, as the audit log writes it.
    pub fn operation(&self) -> &'static str {
        match self {
            Request::Search(_) => "search",
            Request::Context(_) => "context",
            Request::Decisions(_) => "decisions",
            Request::Who(_) => "who",
            Request::Get(_) => "get",
        }
    }

    /// What is asked about: the query, question, topic or chunk id.
    pub fn subject(&self) -> Option<String> {
        match self {
            Request::Search(a) => Some(a.query.clone()),
            Request::Context(a) => Some(a.question.clone()),
            Request::Decisions(a) => a.query.clone(),
            Request::Who(a) => Some(a.topic.clone()),
            Request::Get(a) => Some(a.chunk_id.clone()),
        }
    }
}

/// An answer of any operation: what [`Service::call`](super::Service::call) returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// See [`Service::search`](super::Service::search).
    Search(SearchOutput),
    /// See [`Service::context`](super::Service::context).
    Context(ContextOutput),
    /// See [`Service::decisions`](super::Service::decisions).
    Decisions(DecisionsOutput),
    /// See [`Service::who`](super::Service::who).
    Who(WhoOutput),
    /// See [`Service::get`](super::Service::get) (boxed: the largest answer).
    Get(Box<GetOutput>),
}

impl Response {
    /// Ids of the chunks (ledger entries, for decisions) handed out, for the audit log.
    pub fn span_ids(&self) -> Vec<String> {
        match self {
            Response::Search(o) => o.hits.iter().map(|h| h.chunk_id.clone()).collect(),
            Response::Context(o) => {
                let mut ids: Vec<String> = Vec::new();
                for c in &o.citations {
                    if !ids.contains(&c.chunk_id) {
                        ids.push(c.chunk_id.clone());
                    }
                }
                ids
            }
            Response::Decisions(o) => o.entries.iter().map(|e| e.id.clone()).collect(),
            Response::Who(o) => {
                let mut ids: Vec<String> = Vec::new();
                for e in o.people.iter().flat_map(|p| &p.evidence) {
                    if !ids.contains(&e.chunk_id) {
                        ids.push(e.chunk_id.clone());
                    }
                }
                ids
            }
            Response::Get(o) => o
                .before
                .iter()
                .chain(std::iter::once(&o.chunk))
                .chain(&o.after)
                .map(|c| c.chunk_id.clone())
                .collect(),
        }
    }

    /// The generation that answered.
    pub fn generation(&self) -> &str {
        match self {
            Response::Search(o) => &o.generation,
            Response::Context(o) => &o.generation,
            Response::Decisions(o) => &o.generation,
            Response::Who(o) => &o.generation,
            Response::Get(o) => &o.generation,
        }
    }
}

/// One open generation.
pub(super) struct Loaded {
    pub(super) index: Index,
    /// `gen-NNNNNN` (the directory name of the generation).
    pub(super) generation: String,
}

/// The budget a request asked for, checked.
fn budget_of(budget: Option<usize>) -> Result<usize, ServeError> {
    match budget.unwrap_or(DEFAULT_BUDGET) {
        0 => Err(ServeError::InvalidRequest(
            "budget must be at least 1 token".into(),
        )),
        b if b > MAX_BUDGET => Err(ServeError::InvalidRequest(format!(
            "budget {b} is over the most a request may ask for ({MAX_BUDGET} tokens)"
        ))),
        b => Ok(b),
    }
}

/// A count a request asked for (`field`, `default` when not given), checked to lie in
/// `least..=most`.
fn count_of(
    field: &str,
    value: Option<usize>,
    default: usize,
    least: usize,
    most: usize,
) -> Result<usize, ServeError> {
    let n = value.unwrap_or(default);
    if n < least || n > most {
        return Err(ServeError::InvalidRequest(format!(
            "{field} must be between {least} and {most} (it is {n})"
        )));
    }
    Ok(n)
}

/// The text a request asks about (`field`), which must hold more than white space.
fn text_of<'a>(field: &str, text: &'a str) -> Result<&'a str, ServeError> {
    match text.trim() {
        "" => Err(ServeError::InvalidRequest(format!("{field} is empty"))),
        t => Ok(t),
    }
}

/// The filters of a request. A `path` filter names a folder as answers cite it, relative to
/// the export root: an absolute one would let a caller probe the server's file system.
fn filters_of(specs: &[String]) -> Result<Vec<Filter>, ServeError> {
    specs
        .iter()
        .map(|s| match parse_filter(s)? {
            Filter::PathPrefix(p) if is_server_path(&p) => Err(ServeError::InvalidRequest(format!(
                "filter `{s}`: a path filter names a folder relative to the export root, as answers cite paths (path=exports/wiki)"
            ))),
            f => Ok(f),
        })
        .collect()
}

/// An absolute path, or one that climbs out of its root.
fn is_server_path(p: &str) -> bool {
    let p = p.replace('\\', "/");
    p.starts_with('/') || p.as_bytes().get(1) == Some(&b':') || p.split('/').any(|c| c == "..")
}

fn date_of(text: Option<&str>) -> Result<Option<Date>, ServeError> {
    text.map(|t| t.trim().parse::<Date>().map_err(ServeError::from))
        .transpose()
}

/// Run one operation on one generation.
pub(super) fn run(
    loaded: &Loaded,
    texts: &TextTokens,
    caller: &Caller,
    request: Request,
) -> Result<Response, ServeError> {
    let index = &loaded.index;
    let generation = loaded.generation.clone();
    let principal = caller.principal.clone();
    // Paths relative to the export root; no ranges where they tell of what the caller may not
    // read (see `crate::cite`).
    let citations = index.citations(principal.as_ref())?;
    let mut counter = Counter {
        index,
        texts,
        notes: Vec::new(),
    };
    request.check_lengths()?;
    match request {
        Request::Search(args) => {
            let budget = budget_of(args.budget)?;
            text_of("query", &args.query)?;
            let k = count_of("max_hits", args.max_hits, DEFAULT_MAX_HITS, 1, MAX_HITS)?;
            let response = index.search(&SearchRequest {
                text: args.query.clone(),
                k,
                mode: args.mode.unwrap_or_default().into(),
                filters: filters_of(&args.filters)?,
                as_of: date_of(args.as_of.as_deref())?,
                principal,
                ..SearchRequest::default()
            })?;
            let hits: Vec<Hit> = response
                .hits
                .into_iter()
                .map(|h| Hit::cited(h, &citations))
                .collect();
            let (hits, num_left_out, tokens_used) = counter.fit(hits, budget, shrink_hit)?;
            let mut notes = response.notes;
            notes.append(&mut counter.notes);
            Ok(Response::Search(SearchOutput {
                query: args.query,
                mode_used: response.mode_used.into(),
                hits,
                num_left_out,
                budget,
                tokens_used,
                generation,
                notes,
            }))
        }
        Request::Context(args) => {
            let budget = budget_of(args.budget)?;
            text_of("question", &args.question)?;
            let mut request = ContextRequest::new(args.question.clone(), budget);
            request.format = PackFormat::Md;
            request.mode = args.mode.unwrap_or_default().into();
            request.filters = filters_of(&args.filters)?;
            request.as_of = date_of(args.as_of.as_deref())?;
            request.principal = principal;
            request.citations = CitationStyle::Caller;
            let pack = index.context(&request)?;
            let citations = pack
                .passages
                .iter()
                .flat_map(|p| {
                    p.spans.iter().map(|s| Citation {
                        number: p.number,
                        chunk_id: s.chunk_id.clone(),
                        path: s.path.clone(),
                        line_range: (!s.ranges_withheld).then_some(s.line_range),
                        byte_range: (!s.ranges_withheld).then_some(s.byte_range),
                        content_hash: s.content_hash.clone(),
                        stale: s.stale.clone().map(StaleItem::from),
                    })
                })
                .collect();
            Ok(Response::Context(ContextOutput {
                question: pack.question,
                rendered: pack.rendered,
                budget,
                tokens_used: pack.tokens_used,
                truncated: pack.truncated,
                num_left_out: pack.num_left_out,
                citations,
                generation,
                notes: pack.notes,
            }))
        }
        Request::Decisions(args) => {
            let budget = budget_of(args.budget)?;
            if let Some(query) = &args.query {
                if query.trim().is_empty() {
                    return Err(ServeError::InvalidRequest(
                        "query is empty (leave it out to list every entry)".into(),
                    ));
                }
            }
            let limit = count_of("limit", args.limit, 20, 1, MAX_LIMIT)?;
            let status = match args.status.as_deref() {
                Some(s) => s.parse::<StatusFilter>()?,
                None => StatusFilter::InForce,
            };
            let kind = args
                .kind
                .as_deref()
                .map(str::parse::<EntryKind>)
                .transpose()?;
            let as_of = date_of(args.as_of.as_deref())?;
            let response = index.decisions(&DecisionsRequest {
                query: args.query.clone(),
                as_of,
                status,
                kind,
                limit,
                mode: Mode::Hybrid,
                principal,
            })?;
            let entries: Vec<DecisionItem> = response
                .entries
                .into_iter()
                .map(|d| DecisionItem::cited(d, &citations))
                .collect();
            let (entries, num_left_out, tokens_used) =
                counter.fit(entries, budget, shrink_decision)?;
            Ok(Response::Decisions(DecisionsOutput {
                as_of: as_of.map(|d| d.to_string()),
                entries,
                num_left_out,
                budget,
                tokens_used,
                generation,
                notes: counter.notes,
            }))
        }
        Request::Who(args) => {
            let budget = budget_of(args.budget)?;
            text_of("topic", &args.topic)?;
            let limit = count_of("limit", args.limit, 5, 1, MAX_LIMIT)?;
            let response = index.who(&WhoRequest {
                topic: args.topic.clone(),
                as_of: date_of(args.as_of.as_deref())?,
                limit,
                filters: filters_of(&args.filters)?,
                principal,
                ..WhoRequest::default()
            })?;
            let people: Vec<PersonItem> = response
                .people
                .into_iter()
                .map(|p| PersonItem::cited(p, &citations))
                .collect();
            let (people, num_left_out, tokens_used) = counter.fit(people, budget, shrink_person)?;
            let mut notes = response.notes;
            notes.append(&mut counter.notes);
            Ok(Response::Who(WhoOutput {
                topic: args.topic,
                people,
                num_left_out,
                budget,
                tokens_used,
                generation,
                notes,
            }))
        }
        Request::Get(args) => {
            let budget = budget_of(args.budget)?;
            let id = args.chunk_id.trim();
            if id.is_empty() {
                return Err(ServeError::InvalidRequest("chunk_id is empty".into()));
            }
            let before = count_of("before", args.before, 1, 0, MAX_NEIGHBOURS)?;
            let after = count_of("after", args.after, 1, 0, MAX_NEIGHBOURS)?;
            let Some(n) = index.neighbours_for(id, before, after, principal.as_ref())? else {
                return Err(ServeError::NotFound(format!(
                    "no chunk `{id}` in this index (ids come from search hits and change when their document changes)"
                )));
            };
            let sources = index.source_checker()?;
            let cite = |c: crate::model::Chunk| {
                let stale = sources.passage(&c.provenance, &c.text);
                ChunkItem::cited(c, stale, &citations)
            };
            let chunk = cite(n.chunk);
            // Neighbours nearest first, alternating sides, while they fit.
            let mut before: Vec<ChunkItem> = Vec::new();
            let mut after: Vec<ChunkItem> = Vec::new();
            // The chunk, and the two lists of neighbours, empty.
            let mut used = counter.count(&chunk)? + 2 * counter.list(&before)?;
            if used > budget {
                return Err(ServeError::InvalidRequest(format!(
                    "chunk `{id}` takes {used} tokens with its empty lists of neighbours, over the budget of {budget}"
                )));
            }
            let mut b = n.before.into_iter().rev().map(cite);
            let mut a = n.after.into_iter().map(cite);
            let (mut b_open, mut a_open) = (true, true);
            while b_open || a_open {
                if b_open {
                    b_open = counter.take_if_fits(b.next(), &mut used, budget, &mut before)?;
                }
                if a_open {
                    a_open = counter.take_if_fits(a.next(), &mut used, budget, &mut after)?;
                }
            }
            before.reverse();
            Ok(Response::Get(Box::new(GetOutput {
                chunk,
                before,
                after,
                budget,
                tokens_used: used,
                generation,
            })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_path_filters_are_checked() {
        assert_eq!(count_of("limit", None, 20, 1, MAX_LIMIT).unwrap(), 20);
        assert_eq!(count_of("limit", Some(100), 20, 1, MAX_LIMIT).unwrap(), 100);
        let e = count_of("limit", Some(0), 20, 1, MAX_LIMIT).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid request: limit must be between 1 and 100 (it is 0)"
        );
        assert!(count_of("after", Some(21), 1, 0, MAX_NEIGHBOURS).is_err());
        assert_eq!(count_of("after", Some(0), 1, 0, MAX_NEIGHBOURS).unwrap(), 0);
        for p in ["/srv/exports", "C:\\exports", "wiki/../../etc", ".."] {
            assert!(is_server_path(p), "{p}");
            assert!(filters_of(&[format!("path={p}")]).is_err(), "{p}");
        }
        for p in ["exports/wiki", "wiki", "./wiki"] {
            assert!(!is_server_path(p), "{p}");
            assert!(filters_of(&[format!("path={p}")]).is_ok(), "{p}");
        }
        assert_eq!(text_of("query", "  x ").unwrap(), "x");
        assert!(text_of("query", " \t").is_err());
    }
    #[test]
    fn budgets_are_checked() {
        assert_eq!(budget_of(None).unwrap(), DEFAULT_BUDGET);
        assert!(budget_of(Some(0)).is_err());
        assert!(budget_of(Some(MAX_BUDGET + 1)).is_err());
    }
}
