//! What a caller asks ([`SearchRequest`]) and what lore answers ([`SearchResponse`]).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::access::Principal;
use crate::date::Date;
use crate::error::{Error, Result};
use crate::fuse::Fusion;
use crate::memory::{EntryKind, Status};
use crate::model::{Filter, Provenance};
use crate::neighbours::DEFAULT_CONTEXT_WEIGHT;
use crate::snippet::Snippet;
use crate::stale::Stale;

/// Which retrievers answer a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// BM25 over the full-text index.
    Lexical,
    /// Nearest neighbours of the query's embedding.
    Dense,
    /// Both, fused (weighted score fusion unless another [`Fusion`] is asked for).
    #[default]
    Hybrid,
}

impl Mode {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Lexical => "lexical",
            Mode::Dense => "dense",
            Mode::Hybrid => "hybrid",
        }
    }
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "lexical" | "bm25" => Ok(Mode::Lexical),
            "dense" | "vector" => Ok(Mode::Dense),
            "hybrid" => Ok(Mode::Hybrid),
            other => Err(Error::invalid_request(format!(
                "unknown mode `{other}` (expected lexical, dense or hybrid)"
            ))),
        }
    }
}

/// How the full-text retriever scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LexicalScoring {
    /// BM25 over the passage with small title and heading boosts, question words left out of
    /// the query, and a bonus for neighbouring query terms found together.
    #[default]
    Tuned,
    /// Plain BM25 over the flat passage with every query term (as Pyserini's "flat" baseline).
    Plain,
}

/// How a search ranks what its retrievers find.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RankingOptions {
    /// How the full-text retriever scores.
    pub lexical: LexicalScoring,
    /// How hybrid mode combines its lists.
    pub fusion: Fusion,
    /// Passage context: how far (0 to 1) a passage's score is lifted towards a better-scoring
    /// neighbour (a passage it continues or is continued by); see the crate documentation. 0 turns
    /// it off.
    pub context_weight: f32,
}

impl Default for RankingOptions {
    fn default() -> Self {
        RankingOptions {
            lexical: LexicalScoring::default(),
            fusion: Fusion::default(),
            context_weight: DEFAULT_CONTEXT_WEIGHT,
        }
    }
}

/// A search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// The question or keywords.
    pub text: String,
    /// Number of hits wanted.
    pub k: usize,
    /// Retrievers to use.
    pub mode: Mode,
    /// All must hold for a hit.
    pub filters: Vec<Filter>,
    /// How the hits are ranked.
    #[serde(flatten)]
    pub ranking: RankingOptions,
    /// Fail instead of degrading: a hybrid search whose query cannot be embedded (model
    /// missing, index without embeddings) returns the error rather than lexical results with a
    /// note. Default `false`.
    #[serde(default)]
    pub strict: bool,
    /// The date the question is asked at: decisions are ranked and labelled as they stood then
    /// (`None`: today, every known supersession applied).
    #[serde(default)]
    pub as_of: Option<Date>,
    /// Who is asking: on an index with access control on, only what this principal may read
    /// is searched (`None`: the index owner, who sees everything). Never read from a
    /// serialized request; a server sets it from the caller's credentials.
    #[serde(skip)]
    pub principal: Option<Principal>,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            text: String::new(),
            k: 10,
            mode: Mode::Hybrid,
            filters: Vec::new(),
            ranking: RankingOptions::default(),
            strict: false,
            as_of: None,
            principal: None,
        }
    }
}

impl SearchRequest {
    /// A hybrid request for `text` with default settings.
    pub fn new(text: impl Into<String>) -> Self {
        SearchRequest {
            text: text.into(),
            ..SearchRequest::default()
        }
    }
}

/// The filter keys every index knows (see [`parse_filter`]); any other key names a metadata
/// field, and must be one the index's documents carry.
pub const FILTER_KEYS: &[&str] = &[
    "kind", "format", "path", "prefix", "author", "speaker", "person", "tag", "since", "until",
];

/// Parse a `key=value` filter as given on the command line.
///
/// Keys: `kind`, `format`, `path` (directory prefix), `author`, `speaker`, `person` (author or
/// speaker), `tag`, `since`/`until` (`YYYY-MM-DD`, inclusive); any other key is an equality on
/// that metadata field (`meeting_id=Bed003`, `status=Accepted`).
pub fn parse_filter(spec: &str) -> Result<Filter> {
    let (key, value) = spec.split_once('=').ok_or_else(|| {
        Error::invalid_request(format!("filter `{spec}` is not of the form key=value"))
    })?;
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() || value.is_empty() {
        return Err(Error::invalid_request(format!(
            "filter `{spec}` needs both a key and a value"
        )));
    }
    let v = value.to_string();
    Ok(match key.to_ascii_lowercase().as_str() {
        "kind" => Filter::Kind(v),
        "format" => Filter::Format(v),
        "path" | "prefix" => Filter::PathPrefix(v),
        "author" => Filter::Author(v),
        "speaker" => Filter::Speaker(v),
        "person" => Filter::Person(v),
        "tag" => Filter::Tag(v),
        "since" => Filter::DateRange {
            since: Some(value.parse::<Date>()?),
            until: None,
        },
        "until" => Filter::DateRange {
            since: None,
            until: Some(value.parse::<Date>()?),
        },
        _ => Filter::Meta {
            key: key.to_string(),
            value: v,
        },
    })
}

/// Rank and score of a hit in one retriever's list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetrieverScore {
    /// 1-based rank in that retriever's list.
    pub rank: usize,
    /// That retriever's score (BM25, or cosine similarity).
    pub score: f32,
}

/// One answer: a chunk, why it ranked, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// 1-based position in the results.
    pub rank: usize,
    /// Chunk id (`{doc_id}#{n}`).
    pub chunk_id: String,
    /// The final score (fused score in hybrid mode, else the retriever's score).
    pub score: f32,
    /// Rank and score in the lexical list, if the chunk was in it.
    pub lexical: Option<RetrieverScore>,
    /// Rank and score in the dense list, if the chunk was in it.
    pub dense: Option<RetrieverScore>,
    /// The best window of the chunk, with query terms highlighted.
    pub snippet: Snippet,
    /// The whole chunk text.
    pub text: String,
    /// Where the chunk came from.
    pub provenance: Provenance,
    /// The decision or action the chunk records, with its status at the request's date (for a
    /// superseded one: by what and since when).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionLabel>,
    /// Set when the source file no longer holds this text at these bytes (changed, moved or
    /// vanished since indexing; for a hit with a `decision`, also when the file changed
    /// elsewhere, since the decision's status may read differently now). Absent when the source
    /// is as indexed, or sources are not checked (see [`crate::Stale`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<Stale>,
}

/// The decision ledger's word on a hit: which entry the chunk belongs to and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionLabel {
    /// Ledger entry id.
    pub entry: String,
    /// Decision or action.
    pub kind: EntryKind,
    /// The entry's title.
    pub title: String,
    /// Its status at the request's date.
    pub status: Status,
    /// The entry that superseded it, when superseded.
    pub superseded_by: Option<String>,
    /// That entry's title.
    pub superseded_by_title: Option<String>,
    /// Since when it is superseded (the successor's date), when known.
    pub since: Option<String>,
    /// Made after the request's `as_of` date: not in force yet then (`status` is then the one
    /// its source writes).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_as_of: bool,
}

/// One ranked chunk, before it is read: see [`crate::Index::rank`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankedChunk {
    /// Chunk ordinal (row in the index).
    pub ord: u32,
    /// Final score (fused in hybrid mode, else the retriever's own).
    pub score: f32,
    /// Rank and score in the lexical list, if there.
    pub lexical: Option<RetrieverScore>,
    /// Rank and score in the dense list, if there.
    pub dense: Option<RetrieverScore>,
}

/// The outcome of [`crate::Index::rank`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// The mode actually used (hybrid falls back to lexical when the query cannot be embedded).
    pub mode_used: Mode,
    /// Best first, at most `k`.
    pub hits: Vec<RankedChunk>,
    /// Anything the caller should know.
    pub notes: Vec<String>,
}

/// The answer to a [`SearchRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// The query text.
    pub query: String,
    /// The mode asked for.
    pub mode: Mode,
    /// The mode actually used (hybrid falls back to lexical when the query cannot be embedded).
    pub mode_used: Mode,
    /// Hits, best first.
    pub hits: Vec<SearchHit>,
    /// Anything the caller should know (e.g. why a fallback happened).
    pub notes: Vec<String>,
}

/// Refuse filters that together leave no date: a `since` later than an `until` (as flags or
/// filter keys) could only find nothing, and is most often the two dates swapped.
pub fn check_date_range(filters: &[Filter]) -> Result<()> {
    let mut since: Option<Date> = None;
    let mut until: Option<Date> = None;
    for f in filters {
        if let Filter::DateRange { since: s, until: u } = f {
            since = since.max(*s);
            until = match (until, *u) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    match (since, until) {
        (Some(s), Some(u)) if s > u => Err(Error::invalid_request(format!(
            "since {s} is after until {u}: no date lies between them (swap the two dates?)"
        ))),
        _ => Ok(()),
    }
}

impl RankingOptions {
    /// Refuse weights and constants out of their range, naming them.
    pub fn check(&self) -> Result<()> {
        let unit = |name: &str, w: f32| {
            if (0.0..=1.0).contains(&w) {
                Ok(())
            } else {
                Err(Error::invalid_request(format!(
                    "{name} {w} is not a weight from 0 to 1"
                )))
            }
        };
        unit("context_weight", self.context_weight)?;
        match self.fusion {
            Fusion::Weighted { lexical_weight } => unit("lexical_weight", lexical_weight),
            Fusion::Rrf { k } if !(k > 0.0 && k.is_finite()) => Err(Error::invalid_request(
                format!("rrf_k {k} is not a number above 0"),
            )),
            Fusion::Rrf { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inverted_date_range_is_refused() {
        let since = parse_filter("since=2026-05-01").unwrap();
        let until = parse_filter("until=2026-01-01").unwrap();
        let e = check_date_range(&[since.clone(), until.clone()]).unwrap_err();
        assert!(
            e.to_string()
                .contains("since 2026-05-01 is after until 2026-01-01"),
            "{e}"
        );
        assert!(
            check_date_range(&[until.clone(), parse_filter("since=2025-12-31").unwrap()]).is_ok()
        );
        assert!(check_date_range(std::slice::from_ref(&since)).is_ok());
        // The tightest bounds count, however given.
        let range = Filter::DateRange {
            since: "2025-01-01".parse().ok(),
            until: "2026-12-31".parse().ok(),
        };
        assert!(check_date_range(&[range.clone(), until]).is_ok());
        assert!(
            check_date_range(&[range, since, parse_filter("until=2026-04-30").unwrap()]).is_err()
        );
    }

    #[test]
    fn ranking_options_out_of_range_are_refused() {
        assert!(RankingOptions::default().check().is_ok());
        let weighted = |w| RankingOptions {
            fusion: Fusion::Weighted { lexical_weight: w },
            ..RankingOptions::default()
        };
        assert!(weighted(1.0).check().is_ok());
        for bad in [7.0, -0.5, f32::NAN] {
            let e = weighted(bad).check().unwrap_err();
            assert!(e.to_string().contains("lexical_weight"), "{e}");
        }
        let rrf = RankingOptions {
            fusion: Fusion::Rrf { k: 0.0 },
            ..RankingOptions::default()
        };
        assert!(rrf.check().is_err());
        let lifted = RankingOptions {
            context_weight: 2.0,
            ..RankingOptions::default()
        };
        assert!(lifted
            .check()
            .unwrap_err()
            .to_string()
            .contains("context_weight"));
    }

    #[test]
    fn parses_filters() {
        assert_eq!(
            parse_filter("kind=decision").unwrap(),
            Filter::Kind("decision".into())
        );
        assert_eq!(
            parse_filter("meeting_id=Bed003").unwrap(),
            Filter::Meta {
                key: "meeting_id".into(),
                value: "Bed003".into()
            }
        );
        assert!(matches!(
            parse_filter("since=2026-01-01").unwrap(),
            Filter::DateRange {
                since: Some(_),
                until: None
            }
        ));
        assert!(parse_filter("since=yesterday").is_err());
        assert!(parse_filter("nokey").is_err());
        assert!(parse_filter("=x").is_err());
    }

    #[test]
    fn parses_modes() {
        assert_eq!("Dense".parse::<Mode>().unwrap(), Mode::Dense);
        assert!("fuzzy".parse::<Mode>().is_err());
    }
}
