//! Supersession-aware ranking: a decision that was replaced ranks below the decision that
//! replaced it, in every search mode, and every hit says where its decision stands.
//!
//! After the retrievers are fused (and passage context applied), the candidates near the top
//! (`k` plus a margin of 10) are looked up in the ledger, as they stood at the request's date
//! (`as_of`, default today, every known supersession applied):
//!
//! - a candidate from a decision that is **superseded** at that date sinks below every
//!   candidate still standing, keeping its order among the sunk ones, and the decision in force
//!   that replaced it (the end of its `supersedes` chain at that date) takes its place: its
//!   best candidate moves up there, or, when it was not a candidate at all, its best-matching
//!   chunk is pulled in;
//! - with `as_of`, a decision **made after** the date counts as not made yet: it sinks the same
//!   way, and the decision it replaced (in force then) is pulled in if need be;
//! - when the question is about the present ("now", "current", "these days", "still", …), a
//!   decision that is **not in force** for another reason (deprecated, rejected, proposed)
//!   sinks too.
//!
//! Nothing is dropped: an old decision is still there, lower, with its label saying by what and
//! since when it was superseded. Sinking stays within the looked-up candidates, so an old
//! record a question asks for by name still comes back in the first page.

use crate::date::Date;
use crate::error::Result;
use crate::index::Index;
use crate::index::Scope;
use crate::memory::ledger::{EntryKind, Ledger, LedgerEntry, Relation, Status};
use crate::model::{Filter, Provenance};
use crate::query::DecisionLabel;
use crate::query::RankedChunk;

/// How many candidates past `k` are looked up in the ledger.
const LOOKUP_MARGIN: usize = 10;

/// Words that make a question one about the present.
const PRESENT: &[&str] = &[
    "now",
    "current",
    "currently",
    "nowadays",
    "still",
    "today",
    "anymore",
    "latest",
    "these days",
    "any more",
    "at the moment",
    "in force",
    "in effect",
    "right now",
];

/// True when a question asks about the present (see the module documentation).
pub(crate) fn is_about_present(question: &str) -> bool {
    let lower = question.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = format!(" {} ", words.join(" "));
    PRESENT.iter().any(|p| joined.contains(&format!(" {p} ")))
}

/// Where one candidate's decision stands at the request's date.
#[derive(Debug, Clone, PartialEq)]
enum Standing {
    /// Not a decision, or one in force.
    Current,
    /// Replaced: by this entry, the one in force at the date.
    Replaced { by: String },
    /// Made after the date; this entry (in force then) came before it.
    NotYet { before: Option<String> },
    /// Not in force, with no successor: rejected, deprecated, proposed (only for questions
    /// about the present).
    Inactive,
}

/// True when a decision's own status (no successor involved) puts it in force today.
fn entry_in_force(ledger: &Ledger, entry: &LedgerEntry) -> bool {
    entry.kind != EntryKind::Decision
        || ledger
            .status_at(&entry.id, None)
            .is_some_and(|s| s.status.in_force())
}

/// The decision entry that speaks for a chunk: its record's entry when the chunk comes from a
/// decision record, else a superseded decision line it overlaps, else the first decision line.
pub(crate) fn entry_for<'a>(
    ledger: &'a Ledger,
    doc_id: &str,
    byte_range: [usize; 2],
    as_of: Option<Date>,
) -> Option<&'a LedgerEntry> {
    if let Some(record) = ledger.get(doc_id) {
        return Some(record);
    }
    let decisions: Vec<&LedgerEntry> = ledger
        .overlapping(doc_id, byte_range)
        .into_iter()
        .filter(|e| e.kind == EntryKind::Decision)
        .collect();
    decisions
        .iter()
        .find(|e| {
            ledger
                .status_at(&e.id, as_of)
                .is_some_and(|s| s.status == Status::Superseded)
        })
        .or(decisions.first())
        .copied()
}

/// The latest predecessor of `id` made by `as_of`, through `supersedes` links.
fn predecessor_at(ledger: &Ledger, id: &str, as_of: Date) -> Option<String> {
    let mut current = id.to_string();
    let mut seen = vec![current.clone()];
    loop {
        let prev = ledger
            .edges(&current)
            .iter()
            .filter(|e| e.relation == Relation::Supersedes)
            .filter_map(|e| ledger.get(&e.to))
            .filter(|p| !seen.contains(&p.id))
            .max_by(|a, b| a.date.cmp(&b.date))?;
        if prev.day().is_none_or(|d| d <= as_of) {
            return Some(prev.id.clone());
        }
        seen.push(prev.id.clone());
        current = prev.id.clone();
    }
}

fn standing(ledger: &Ledger, entry: &LedgerEntry, as_of: Option<Date>) -> Standing {
    if let (Some(at), Some(day)) = (as_of, entry.day()) {
        if day > at {
            return Standing::NotYet {
                before: predecessor_at(ledger, &entry.id, at),
            };
        }
    }
    match ledger.in_force_successor(&entry.id, as_of) {
        Some(by) => Standing::Replaced { by },
        None => Standing::Current,
    }
}

/// The label a hit carries: its entry and where it stands at `as_of`.
pub(crate) fn label(
    ledger: &Ledger,
    provenance: &Provenance,
    as_of: Option<Date>,
) -> Option<DecisionLabel> {
    let entry = entry_for(ledger, &provenance.doc_id, provenance.byte_range, as_of)?;
    let (status, superseded_by, since, after_as_of) = match ledger.status_at(&entry.id, as_of) {
        Some(s) => (s.status, s.superseded_by, s.since, false),
        // Made after `as_of`: not in force yet.
        None => (entry.status, None, None, true),
    };
    let superseded_by_title = superseded_by
        .as_deref()
        .and_then(|id| ledger.get(id))
        .map(|e| e.title.clone());
    Some(DecisionLabel {
        entry: entry.id.clone(),
        kind: entry.kind,
        title: entry.title.clone(),
        status,
        superseded_by,
        superseded_by_title,
        since,
        after_as_of,
    })
}

impl Index {
    /// Reorder ranked candidates so that no decision ranks above the one that replaced it (at
    /// `as_of`), pulling successors in when they were not candidates. See the module docs.
    pub(crate) fn rank_by_ledger(
        &self,
        text: &str,
        k: usize,
        as_of: Option<Date>,
        filters: &[Filter],
        scope: Option<&Scope>,
        hits: &mut Vec<RankedChunk>,
    ) -> Result<()> {
        let ledger = self.ledger_in(scope)?;
        if ledger.is_empty() || hits.is_empty() {
            return Ok(());
        }
        let present = as_of.is_none() && is_about_present(text);
        let window = hits.len().min(k + LOOKUP_MARGIN);
        // Each candidate's entry and standing.
        let mut standings: Vec<(Option<String>, Standing)> = Vec::with_capacity(window);
        for hit in &hits[..window] {
            let chunk = self.lexical.chunk_by_ord(hit.ord)?;
            let p = &chunk.provenance;
            let found = entry_for(ledger, &p.doc_id, p.byte_range, as_of);
            let standing = match found {
                Some(entry) => match standing(ledger, entry, as_of) {
                    // Asked about the present, a decision no longer (or never) in force
                    // answers below every one in force.
                    Standing::Current if present && !entry_in_force(ledger, entry) => {
                        Standing::Inactive
                    }
                    s => s,
                },
                None => Standing::Current,
            };
            standings.push((found.map(|e| e.id.clone()), standing));
        }
        if standings.iter().all(|(_, s)| *s == Standing::Current) {
            return Ok(());
        }
        // Each entry's best candidate in the window.
        let mut best_of: Vec<(&String, usize)> = Vec::new();
        for (i, (entry, _)) in standings.iter().enumerate() {
            if let Some(e) = entry {
                if !best_of.iter().any(|(x, _)| *x == e) {
                    best_of.push((e, i));
                }
            }
        }
        let mut promoted: Vec<usize> = Vec::new();
        // What is in force at the date keeps its place; what was replaced, not made yet or
        // (asked about the present) no longer in force sinks below it, in its own order, and
        // the decision in force that replaced it is pulled in when it was not a candidate.
        let mut head: Vec<RankedChunk> = Vec::with_capacity(window + 2);
        let mut sunk: Vec<RankedChunk> = Vec::new();
        let mut pulled: Vec<String> = Vec::new();
        for (i, hit) in hits[..window].iter().enumerate() {
            let wanted = match &standings[i].1 {
                Standing::Current if promoted.contains(&i) => continue,
                Standing::Current => {
                    head.push(*hit);
                    continue;
                }
                Standing::Inactive => None,
                Standing::Replaced { by } => Some(by),
                Standing::NotYet { before } => before.as_ref(),
            };
            sunk.push(*hit);
            let Some(wanted) = wanted else {
                continue;
            };
            if pulled.contains(wanted) {
                continue;
            }
            if let Some(&(_, j)) = best_of.iter().find(|(e, _)| *e == wanted) {
                // The successor is a candidate further down: it takes the old one's place.
                if j > i && standings[j].1 == Standing::Current && !promoted.contains(&j) {
                    head.push(hits[j]);
                    promoted.push(j);
                }
                continue;
            }
            pulled.push(wanted.clone());
            if let Some(ord) = self.best_chunk_of(text, wanted, filters, scope)? {
                if !hits[..window].iter().any(|h| h.ord == ord) {
                    head.push(RankedChunk {
                        ord,
                        score: hit.score,
                        lexical: None,
                        dense: None,
                    });
                }
            }
        }
        head.extend(sunk);
        let rest: Vec<RankedChunk> = hits[window..]
            .iter()
            .filter(|h| !head.iter().any(|x| x.ord == h.ord))
            .copied()
            .collect();
        head.extend(rest);
        // Scores stay non-increasing down the list.
        for i in 1..head.len() {
            if head[i].score > head[i - 1].score {
                head[i].score = head[i - 1].score;
            }
        }
        *hits = head;
        Ok(())
    }

    /// The chunk of entry `id`'s document that best matches `text` (its first chunk when none
    /// does), within `filters`; `None` when the filters exclude the document.
    fn best_chunk_of(
        &self,
        text: &str,
        id: &str,
        filters: &[Filter],
        scope: Option<&Scope>,
    ) -> Result<Option<u32>> {
        let visible = scope.map(|s| &s.visible);
        let Some(entry) = self.ledger_in(scope)?.get(id) else {
            return Ok(None);
        };
        let mut scoped = filters.to_vec();
        scoped.push(Filter::PathPrefix(entry.doc_id.clone()));
        let weights = crate::lexical::FieldWeights::default();
        if let Some(hit) = self
            .lexical
            .search(text, 1, &scoped, &weights, visible)?
            .first()
        {
            return Ok(Some(hit.ord));
        }
        // No query term in it: its first chunk, unless the filters rule the document out.
        let Some(ord) = self.lexical.ord_of(&format!("{}#0", entry.doc_id))? else {
            return Ok(None);
        };
        if filters.is_empty() && visible.is_none() {
            return Ok(Some(ord));
        }
        let allowed = self.lexical.filter_ords(filters, visible)?;
        Ok(allowed
            .is_none_or(|ords| ords.binary_search(&ord).is_ok())
            .then_some(ord))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_tense_questions() {
        for q in [
            "What time does the job run now?",
            "Who is the current owner?",
            "Do we still use Jenkins?",
            "what's the rule these days",
            "Is that in force?",
        ] {
            assert!(is_about_present(q), "{q}");
        }
        for q in [
            "Why did we move off Jenkins?",
            "What was the threshold in 2025?",
            "knowledge transfer",
            "Is the snow heavy?",
        ] {
            assert!(!is_about_present(q), "{q}");
        }
    }
}
