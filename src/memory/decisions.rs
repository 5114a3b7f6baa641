//! Asking the ledger: which decisions and actions are in force at a date, on a topic, with the
//! history of each ([`Index::decisions`], `lore decisions`).

use serde::{Deserialize, Serialize};

use crate::access::Principal;
use crate::date::Date;
use crate::error::{Error, Result};
use crate::index::Index;
use crate::memory::ledger::{EntryKind, Ledger, LedgerEntry, Status, StatusAt, UnresolvedLink};
use crate::memory::supersede::entry_for;
use crate::query::{Mode, SearchRequest};
use crate::stale::Stale;

/// Which entries a [`DecisionsRequest`] wants, by their status at its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    /// Accepted decisions and open actions.
    #[default]
    InForce,
    /// Every entry made by the date.
    All,
    /// Entries with exactly this status at the date.
    Is(Status),
}

impl std::str::FromStr for StatusFilter {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "in-force" | "in_force" | "inforce" | "current" => Ok(StatusFilter::InForce),
            "all" | "any" => Ok(StatusFilter::All),
            other => other.parse().map(StatusFilter::Is),
        }
    }
}

/// A question to the ledger.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionsRequest {
    /// A topic: entries are ranked by how well their text answers it (through the index's
    /// search); `None` lists every entry, newest first.
    pub query: Option<String>,
    /// The date to stand at (`None`: today, every supersession applied).
    pub as_of: Option<Date>,
    /// Which statuses to list.
    pub status: StatusFilter,
    /// Only decisions or only actions.
    pub kind: Option<EntryKind>,
    /// At most this many entries (0: no limit).
    pub limit: usize,
    /// Retrievers used to match `query` (default hybrid).
    pub mode: Mode,
    /// Who is asking (see [`SearchRequest::principal`]): only entries of documents it may
    /// read are listed, and histories and links are those of the ledger it can see.
    #[serde(skip)]
    pub principal: Option<Principal>,
}

/// One step of an entry's history chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryStep {
    /// Entry id.
    pub id: String,
    /// Title.
    pub title: String,
    /// When it was made.
    pub date: Option<String>,
    /// Its status at the request's date (`None`: not made yet then).
    pub status: Option<Status>,
}

/// An entry as the ledger stands at the request's date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionView {
    /// The entry as its source records it.
    #[serde(flatten)]
    pub entry: LedgerEntry,
    /// Where it stands at the date.
    pub standing: StatusAt,
    /// Its deciders or owners by their canonical names (the people file's; as written when it
    /// does not know them), in the entry's order.
    pub people: Vec<String>,
    /// Its `supersedes` chain, oldest first (just itself when it has none).
    pub history: Vec<HistoryStep>,
    /// Set when its source file changed (anywhere: the entry's status, text or links may read
    /// differently now) or vanished since indexing; absent when it is as indexed (see
    /// [`crate::Stale`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<Stale>,
}

/// The answer to a [`DecisionsRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionsResponse {
    /// The date stood at (`None`: today).
    pub as_of: Option<Date>,
    /// The entries, best match (or newest) first.
    pub entries: Vec<DecisionView>,
    /// Links of the listed entries whose target no entry answers to.
    pub unresolved: Vec<UnresolvedLink>,
    /// How many entries the ledger holds in all.
    pub ledger_size: usize,
}

impl Index {
    /// The decisions and actions that stand at a date, optionally on a topic, each with its
    /// history. See `lore decisions`.
    ///
    /// ```no_run
    /// use lore::{DecisionsRequest, Index};
    /// let index = Index::open("lore-index")?;
    /// let answer = index.decisions(&DecisionsRequest {
    ///     query: Some("billing reconciliation schedule".into()),
    ///     as_of: Some("2025-12-01".parse()?),
    ///     ..DecisionsRequest::default()
    /// })?;
    /// for d in &answer.entries {
    ///     println!("{} ({})", d.entry.title, d.standing.status.as_str());
    /// }
    /// # Ok::<(), lore::Error>(())
    /// ```
    pub fn decisions(&self, request: &DecisionsRequest) -> Result<DecisionsResponse> {
        let scope = self.scope(request.principal.as_ref())?;
        let ledger = self.ledger_in(scope.as_deref())?;
        let people = self.people()?;
        let as_of = request.as_of;
        let mut ids: Vec<String> = Vec::new();
        match request.query.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => {
                let hits = self.search(&SearchRequest {
                    text: text.to_string(),
                    k: 50,
                    mode: request.mode,
                    as_of,
                    principal: request.principal.clone(),
                    ..SearchRequest::default()
                })?;
                for hit in &hits.hits {
                    let p = &hit.provenance;
                    let mut found: Vec<&LedgerEntry> = ledger.overlapping(&p.doc_id, p.byte_range);
                    if let Some(e) = entry_for(ledger, &p.doc_id, p.byte_range, as_of) {
                        found.insert(0, e);
                    }
                    for e in found {
                        // The decision in force that replaced a match answers for it, first.
                        for id in chain_from(ledger, &e.id, as_of) {
                            if !ids.contains(&id) {
                                ids.push(id);
                            }
                        }
                    }
                }
            }
            _ => {
                let mut all: Vec<&LedgerEntry> = ledger.entries().iter().collect();
                all.sort_by(|a, b| b.date.cmp(&a.date).then(a.id.cmp(&b.id)));
                ids = all.into_iter().map(|e| e.id.clone()).collect();
            }
        }
        let sources = self.source_checker()?;
        let mut entries = Vec::new();
        for id in ids {
            let Some(entry) = ledger.get(&id) else {
                continue;
            };
            if request.kind.is_some_and(|k| k != entry.kind) {
                continue;
            }
            let Some(standing) = ledger.status_at(&id, as_of) else {
                continue;
            };
            let wanted = match request.status {
                StatusFilter::InForce => standing.status.in_force(),
                StatusFilter::All => true,
                StatusFilter::Is(s) => standing.status == s,
            };
            if !wanted {
                continue;
            }
            let history = ledger
                .history(&id)
                .into_iter()
                .map(|h| HistoryStep {
                    id: h.id.clone(),
                    title: h.title.clone(),
                    date: h.date.clone(),
                    status: ledger.status_at(&h.id, as_of).map(|s| s.status),
                })
                .collect();
            entries.push(DecisionView {
                people: entry.people.iter().map(|p| people.canonical(p)).collect(),
                stale: sources.entry(&entry.path, entry.byte_range, &entry.content_hash),
                entry: entry.clone(),
                standing,
                history,
            });
            if request.limit > 0 && entries.len() >= request.limit {
                break;
            }
        }
        let unresolved = ledger
            .unresolved()
            .iter()
            .filter(|u| entries.iter().any(|e| e.entry.id == u.entry))
            .cloned()
            .collect();
        Ok(DecisionsResponse {
            as_of,
            entries,
            unresolved,
            ledger_size: ledger.len(),
        })
    }
}

/// `id` preceded by the entry in force at `as_of` that replaced it, if any.
fn chain_from(ledger: &Ledger, id: &str, as_of: Option<Date>) -> Vec<String> {
    let mut out: Vec<String> = ledger.in_force_successor(id, as_of).into_iter().collect();
    out.push(id.to_string());
    out
}
