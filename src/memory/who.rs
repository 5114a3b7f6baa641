//! Who knows what: people ranked by the evidence the index holds on a topic
//! ([`Index::who`], `lore who`).
//!
//! The topic is searched like any question (hybrid by default, decisions ranked as they stood
//! at `as_of`), and every passage found counts for the people it names by role:
//!
//! | evidence | weight |
//! |---|---|
//! | decided it (a decision record's deciders, a decision line's deciders) | 3 |
//! | owns an action item in it | 2 |
//! | said it (a transcript speaker, a chat message's author) | 1.5 |
//! | wrote it (a document's authors) | 1 |
//! | is named in it (a name or multi-word alias from the people file) | 0.5 |
//!
//! Each piece of evidence is scaled by the passage's rank (`10 / (rank + 9)`: 1 for the top
//! passage, ½ for the eleventh) and by its age at `as_of` (default today): it halves every
//! [`DEFAULT_HALF_LIFE_DAYS`] days (undated passages count half). One passage counts once per
//! person, by the heaviest role. Names are merged only through the people file; names it does
//! not know are kept as written (case and spacing aside). Every person comes with the cited
//! spans that earned the rank.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::access::Principal;
use crate::date::Date;
use crate::error::{Error, Result};
use crate::index::Index;
use crate::lexical::analyze_for;
use crate::memory::ledger::EntryKind;
use crate::memory::people::{name_key, People};
use crate::model::{Filter, SourceFormat};
use crate::query::{Mode, SearchHit, SearchRequest};
use crate::snippet::query_terms;
use crate::stale::Stale;

/// Evidence halves in weight every this many days (about half a year: who ran a system last
/// quarter knows more than who ran it three years ago, but not four times more).
pub const DEFAULT_HALF_LIFE_DAYS: f64 = 180.0;

/// Passages searched for evidence.
const PASSAGES: usize = 30;

/// The least share of its weight a decision or action line of a passage carries when it names
/// none of the topic's terms (see [`topic_share`]).
const ENTRY_FLOOR: f64 = 0.25;

/// Spans kept per person.
const SPANS_PER_PERSON: usize = 5;

/// A question about who knows a topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WhoRequest {
    /// The topic or question ("billing reconciliation", "who should I ask about SSO?").
    pub topic: String,
    /// The date to stand at (`None`: today). Passages dated later are not evidence.
    pub as_of: Option<Date>,
    /// People wanted.
    pub limit: usize,
    /// Evidence halves in weight every this many days.
    pub half_life_days: f64,
    /// Retrievers used to find passages.
    pub mode: Mode,
    /// Restrict the passages searched.
    pub filters: Vec<Filter>,
    /// Who is asking (see [`SearchRequest::principal`](crate::SearchRequest::principal)):
    /// only passages and ledger entries it may read are evidence.
    #[serde(skip)]
    pub principal: Option<Principal>,
}

impl Default for WhoRequest {
    fn default() -> Self {
        WhoRequest {
            topic: String::new(),
            as_of: None,
            limit: 5,
            half_life_days: DEFAULT_HALF_LIFE_DAYS,
            mode: Mode::Hybrid,
            filters: Vec::new(),
            principal: None,
        }
    }
}

/// The role a passage shows a person in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Named in it.
    Mentioned,
    /// Wrote it.
    Authored,
    /// Said it.
    Said,
    /// Owns an action item in it.
    OwnsAction,
    /// Decided it.
    Decided,
}

impl EvidenceKind {
    /// Its weight (see the module documentation).
    pub fn weight(self) -> f64 {
        match self {
            EvidenceKind::Decided => 3.0,
            EvidenceKind::OwnsAction => 2.0,
            EvidenceKind::Said => 1.5,
            EvidenceKind::Authored => 1.0,
            EvidenceKind::Mentioned => 0.5,
        }
    }

    /// Words, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Decided => "decided",
            EvidenceKind::OwnsAction => "owns an action",
            EvidenceKind::Said => "said",
            EvidenceKind::Authored => "wrote",
            EvidenceKind::Mentioned => "is named",
        }
    }
}

/// One cited span that counts for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The role.
    pub kind: EvidenceKind,
    /// The name as the source writes it.
    pub as_written: String,
    /// The passage's chunk id.
    pub chunk_id: String,
    /// Its rank in the topic search.
    pub rank: usize,
    /// Source file.
    pub path: String,
    /// Document title.
    pub title: String,
    /// Byte range in the source file.
    pub byte_range: [usize; 2],
    /// Line range, 1-based, inclusive.
    pub line_range: [usize; 2],
    /// Document date.
    pub date: Option<String>,
    /// The ledger entry (decision or action) it rests on, if any.
    pub entry: Option<String>,
    /// What it adds to the person's score.
    pub score: f64,
    /// Set when the source file no longer holds this passage as indexed (changed, moved or
    /// vanished since; see [`crate::Stale`]): the evidence still counts, flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<Stale>,
}

/// A person, ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedPerson {
    /// Canonical name (as written, when the people file does not know them).
    pub name: String,
    /// True when the people file knows them.
    pub known: bool,
    /// Role, from the people file.
    pub role: Option<String>,
    /// Team, from the people file.
    pub team: Option<String>,
    /// Sum of the evidence's scores.
    pub score: f64,
    /// Passages that count for them.
    pub num_evidence: usize,
    /// The strongest evidence of each document that counts for them (the passage that counts
    /// most there), best first, at most five.
    pub evidence: Vec<Evidence>,
}

/// The answer to a [`WhoRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoResponse {
    /// The topic.
    pub topic: String,
    /// The date stood at (`None`: today).
    pub as_of: Option<Date>,
    /// The half-life used, in days.
    pub half_life_days: f64,
    /// People, best first.
    pub people: Vec<RankedPerson>,
    /// Anything the caller should know.
    pub notes: Vec<String>,
}

impl Index {
    /// Rank people by the evidence the index holds on a topic. See the module documentation.
    pub fn who(&self, request: &WhoRequest) -> Result<WhoResponse> {
        if request.half_life_days.is_nan() || request.half_life_days <= 0.0 {
            return Err(Error::invalid_request(
                "the half-life must be more than 0 days",
            ));
        }
        if request.limit == 0 {
            return Err(Error::invalid_request("limit must be at least 1"));
        }
        let today = request.as_of.unwrap_or_else(Date::today);
        let response = self.search(&SearchRequest {
            text: request.topic.clone(),
            k: PASSAGES,
            mode: request.mode,
            filters: request.filters.clone(),
            as_of: request.as_of,
            principal: request.principal.clone(),
            ..SearchRequest::default()
        })?;
        let scope = self.scope(request.principal.as_ref())?;
        let ledger = self.ledger_in(scope.as_deref())?;
        let people = self.people()?;
        let mut notes = response.notes.clone();
        if people.people.is_empty() {
            notes.push(
                "no people file: names are compared as written (add people.yaml to merge variants)"
                    .to_string(),
            );
        }
        let mentions = MentionFinder::new(people);
        let terms = query_terms(&request.topic);
        // Per person key: (canonical name, evidence).
        let mut found: HashMap<String, (String, Vec<Evidence>)> = HashMap::new();
        for hit in &response.hits {
            crate::deadline::check("weighing the evidence of people")?;
            let p = &hit.provenance;
            let day = p.date.as_deref().and_then(|d| d.parse::<Date>().ok());
            if request.as_of.is_some_and(|at| day.is_some_and(|d| d > at)) {
                continue;
            }
            let recency = match day {
                Some(d) => {
                    0.5f64.powf((today.days() - d.days()).max(0) as f64 / request.half_life_days)
                }
                None => 0.5,
            };
            let relevance = 10.0 / (hit.rank as f64 + 9.0);
            let mut roles: Vec<(String, EvidenceKind, Option<String>, f64)> = Vec::new();
            for e in ledger.overlapping(&p.doc_id, p.byte_range) {
                if request
                    .as_of
                    .is_some_and(|at| e.day().is_some_and(|d| d > at))
                {
                    continue;
                }
                let kind = match e.kind {
                    EntryKind::Decision => EvidenceKind::Decided,
                    EntryKind::Action => EvidenceKind::OwnsAction,
                };
                // A line of a passage counts by how much of the topic it names itself: of a
                // meeting's eight action items, the one about the topic.
                let share = if e.id == p.doc_id {
                    1.0
                } else {
                    ENTRY_FLOOR + (1.0 - ENTRY_FLOOR) * topic_share(&e.title, &terms)
                };
                for name in &e.people {
                    roles.push((name.clone(), kind, Some(e.id.clone()), share));
                }
            }
            let authored = match (p.kind.as_str(), p.format) {
                ("decision", _) | (_, SourceFormat::Decision) => EvidenceKind::Decided,
                (_, SourceFormat::Slack) => EvidenceKind::Said,
                _ => EvidenceKind::Authored,
            };
            let record = ledger.get(&p.doc_id).map(|e| e.id.clone());
            for name in &p.authors {
                roles.push((name.clone(), authored, record.clone(), 1.0));
            }
            for name in &p.speakers {
                roles.push((name.clone(), EvidenceKind::Said, None, 1.0));
            }
            for name in mentions.find(&hit.text) {
                roles.push((name, EvidenceKind::Mentioned, None, 1.0));
            }
            // One passage counts once per person, by the heaviest role.
            let mut best: HashMap<String, (String, EvidenceKind, Option<String>, f64)> =
                HashMap::new();
            for (written, kind, entry, share) in roles {
                let canonical = people.canonical(&written);
                let key = name_key(&canonical);
                if key.is_empty() {
                    continue;
                }
                let weight = kind.weight() * share;
                match best.get(&key) {
                    Some((_, k, _, s)) if k.weight() * s >= weight => {}
                    _ => {
                        best.insert(key, (written, kind, entry, share));
                    }
                }
            }
            for (key, (written, kind, entry, share)) in best {
                let canonical = people.canonical(&written);
                found
                    .entry(key)
                    .or_insert_with(|| (canonical, Vec::new()))
                    .1
                    .push(evidence(
                        hit,
                        written,
                        kind,
                        entry,
                        share * relevance * recency,
                    ));
            }
        }
        let mut ranked: Vec<RankedPerson> = found
            .into_values()
            .map(|(name, mut evidence)| {
                evidence.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.rank.cmp(&b.rank)));
                let person = people.resolve(&name);
                RankedPerson {
                    known: person.is_some(),
                    role: person.and_then(|p| p.role.clone()),
                    team: person.and_then(|p| p.team.clone()),
                    score: by_document(&evidence),
                    num_evidence: evidence.len(),
                    evidence: best_per_document(evidence),
                    name,
                }
            })
            .collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
        ranked.truncate(request.limit);
        Ok(WhoResponse {
            topic: request.topic.clone(),
            as_of: request.as_of,
            half_life_days: request.half_life_days,
            people: ranked,
            notes,
        })
    }
}

/// A person's score: per document, their best piece of evidence there (many passages of one
/// record are one decision), summed.
fn by_document(evidence: &[Evidence]) -> f64 {
    let mut best: HashMap<&str, f64> = HashMap::new();
    for e in evidence {
        let b = best.entry(e.path.as_str()).or_insert(0.0);
        *b = b.max(e.score);
    }
    best.values().sum()
}

/// The strongest evidence of each document (best first, as sorted), at most
/// [`SPANS_PER_PERSON`] of them.
fn best_per_document(evidence: Vec<Evidence>) -> Vec<Evidence> {
    let mut seen: HashSet<String> = HashSet::new();
    evidence
        .into_iter()
        .filter(|e| seen.insert(e.path.clone()))
        .take(SPANS_PER_PERSON)
        .collect()
}

/// The share of the topic's terms that `text` names (0 when the topic has none).
fn topic_share(text: &str, terms: &HashSet<String>) -> f64 {
    if terms.is_empty() {
        return 0.0;
    }
    let found: HashSet<String> = analyze_for(text, terms)
        .into_iter()
        .map(|t| t.term)
        .filter(|t| terms.contains(t))
        .collect();
    found.len() as f64 / terms.len() as f64
}

fn evidence(
    hit: &SearchHit,
    as_written: String,
    kind: EvidenceKind,
    entry: Option<String>,
    scale: f64,
) -> Evidence {
    let p = &hit.provenance;
    Evidence {
        kind,
        as_written,
        chunk_id: hit.chunk_id.clone(),
        rank: hit.rank,
        path: p.path.clone(),
        title: p.title.clone(),
        byte_range: p.byte_range,
        line_range: p.line_range,
        date: p.date.clone(),
        entry,
        score: kind.weight() * scale,
        stale: hit.stale.clone(),
    }
}

/// Finds the people file's people named in a text: by canonical name or multi-word alias,
/// case-insensitively, as whole words. Single-word aliases ("sarah") are not looked for in
/// prose, where they are too often something else.
struct MentionFinder {
    names: Vec<(Vec<String>, String)>,
}

impl MentionFinder {
    fn new(people: &People) -> Self {
        let mut names = Vec::new();
        for p in &people.people {
            for n in std::iter::once(&p.name).chain(&p.aliases) {
                let words = words(n);
                if words.len() >= 2 {
                    names.push((words, p.name.clone()));
                }
            }
        }
        MentionFinder { names }
    }

    fn find(&self, text: &str) -> Vec<String> {
        if self.names.is_empty() {
            return Vec::new();
        }
        let words = words(text);
        let mut out: Vec<String> = Vec::new();
        for (name, canonical) in &self.names {
            if out.contains(canonical) {
                continue;
            }
            if words.windows(name.len()).any(|w| w == name.as_slice()) {
                out.push(canonical.clone());
            }
        }
        out
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '\''))
        .map(|w| w.trim_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::people::Person;

    #[test]
    fn mentions_need_a_full_name_or_multi_word_alias() {
        let mut people = People {
            people: vec![Person {
                name: "Marco Silva".into(),
                aliases: vec!["M. Silva".into(), "marco".into()],
                email: None,
                role: None,
                team: None,
            }],
            ..People::default()
        };
        people.index().unwrap();
        let finder = MentionFinder::new(&people);
        assert_eq!(
            finder.find("Ask Marco Silva about it."),
            vec!["Marco Silva"]
        );
        assert_eq!(finder.find("as m. silva wrote"), vec!["Marco Silva"]);
        assert!(finder.find("marco polo").is_empty());
        assert!(finder.find("Silva").is_empty());
    }

    #[test]
    fn roles_are_ordered_by_weight() {
        let mut kinds = [
            EvidenceKind::Said,
            EvidenceKind::Decided,
            EvidenceKind::Mentioned,
            EvidenceKind::OwnsAction,
            EvidenceKind::Authored,
        ];
        kinds.sort();
        let weights: Vec<f64> = kinds.iter().map(|k| k.weight()).collect();
        assert!(weights.windows(2).all(|w| w[0] < w[1]), "{weights:?}");
    }
}
