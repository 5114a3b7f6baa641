//! The decision ledger: every decision and action item the exports record, as typed entries
//! with their status, people, dates, exact source span and the links between them.
//!
//! Entries are extracted from each document as it is loaded (`memory::extract`), stored with the
//! document's record so that an update carries them with the file, and gathered into one
//! [`Ledger`] per generation (`ledger.json`), where the links are resolved: a link names its
//! target as people write it (`ADR-0009`, `0009-raise-threshold.md`, a title), and resolves to
//! the entry one of whose [`labels`](LedgerEntry::labels) it matches. Links are made symmetric
//! (`A supersedes B` gives `B superseded by A`), and a link to a record that does not exist is
//! kept in [`Ledger::unresolved`], never dropped.
//!
//! Time: an entry is in force at a date when it was made by then, its written status is
//! accepted (an action: open), and no successor dated on or before that date supersedes it. So
//! `--as-of` turns the clock back: a record the ledger now calls superseded was in force before
//! its successor's date.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::error::{Error, Result};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A decision: a decision record, or a decision line or item of meeting notes.
    Decision,
    /// An action item.
    Action,
}

impl EntryKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Decision => "decision",
            EntryKind::Action => "action",
        }
    }
}

impl std::str::FromStr for EntryKind {
    type Err = Error;

    /// `decision` or `action` (also plural, any case).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "decision" | "decisions" => Ok(EntryKind::Decision),
            "action" | "actions" => Ok(EntryKind::Action),
            other => Err(Error::invalid_request(format!(
                "unknown kind `{other}` (expected decision or action)"
            ))),
        }
    }
}

/// The status of an entry: as written in its source ([`LedgerEntry::status`]), or as of a date
/// once the ledger's links are applied ([`Ledger::status_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Proposed, not (yet) decided.
    Proposed,
    /// Decided and in force.
    Accepted,
    /// Considered and turned down.
    Rejected,
    /// No longer followed, with no successor named.
    Deprecated,
    /// Replaced by another decision.
    Superseded,
    /// An action not done yet.
    Open,
    /// An action done.
    Done,
}

impl Status {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Proposed => "proposed",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Deprecated => "deprecated",
            Status::Superseded => "superseded",
            Status::Open => "open",
            Status::Done => "done",
        }
    }

    /// True for the statuses of an entry in force: an accepted decision, an open action.
    pub fn in_force(self) -> bool {
        matches!(self, Status::Accepted | Status::Open)
    }
}

impl std::str::FromStr for Status {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "proposed" => Status::Proposed,
            "accepted" => Status::Accepted,
            "rejected" => Status::Rejected,
            "deprecated" => Status::Deprecated,
            "superseded" => Status::Superseded,
            "open" => Status::Open,
            "done" => Status::Done,
            other => {
                return Err(Error::invalid_request(format!(
                    "unknown status `{other}` (expected proposed, accepted, rejected, deprecated, superseded, open or done)"
                )))
            }
        })
    }
}

/// How one entry refers to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// This entry replaces the target.
    Supersedes,
    /// The target replaces this entry.
    SupersededBy,
    /// This entry changes part of the target, which stays in force.
    Amends,
    /// The target changes part of this entry.
    AmendedBy,
}

impl Relation {
    /// The same link seen from its target.
    pub fn inverse(self) -> Relation {
        match self {
            Relation::Supersedes => Relation::SupersededBy,
            Relation::SupersededBy => Relation::Supersedes,
            Relation::Amends => Relation::AmendedBy,
            Relation::AmendedBy => Relation::Amends,
        }
    }

    /// Words, as printed (`superseded by`).
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Supersedes => "supersedes",
            Relation::SupersededBy => "superseded by",
            Relation::Amends => "amends",
            Relation::AmendedBy => "amended by",
        }
    }
}

/// A link as written in an entry's source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    /// How this entry relates to the target.
    pub relation: Relation,
    /// The target as written, cleaned of Markdown (`ADR-0009`, `0009-raise-threshold.md`).
    pub target: String,
}

/// One decision or action, as its source records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Stable id: the document id for a decision record (one entry per record), else
    /// `{doc_id}@L{line}` with the 1-based line the entry starts on (in a JSON record or chat
    /// message, the line within its text).
    pub id: String,
    /// Decision or action.
    pub kind: EntryKind,
    /// What was decided or is to be done: a record's title, or the text of the line or item.
    pub title: String,
    /// Status as written (a decision marker in meeting notes is `accepted`; an action is `open`
    /// unless checked or marked done).
    pub status: Status,
    /// The status text as the source writes it (`Superseded by [ADR-0009](0009-x.md)`), if any.
    pub status_text: Option<String>,
    /// When it was decided or recorded (`YYYY-MM-DD`): the record's or the meeting's date.
    pub date: Option<String>,
    /// Deciders of a decision, owners of an action, as written.
    pub people: Vec<String>,
    /// Due date of an action (`YYYY-MM-DD` when it parses, else as written).
    pub due: Option<String>,
    /// Why: a record's Context and Decision text (or the text after the marker), trimmed.
    pub rationale: Option<String>,
    /// Id of the document it comes from.
    pub doc_id: String,
    /// Source file path.
    pub path: String,
    /// Title of that document.
    pub doc_title: String,
    /// Byte range `[start, end)` in the source file of the entry's text (the whole record for a
    /// decision record, the line or item otherwise).
    pub byte_range: [usize; 2],
    /// 1-based inclusive line range of that span.
    pub line_range: [usize; 2],
    /// SHA-256 (hex) of the source bytes of that span.
    pub content_hash: String,
    /// The names links may use for it, lower-cased: record number forms (`adr-0009`, `0009`,
    /// `9`), the file name and stem, the title.
    pub labels: Vec<String>,
    /// Links to other entries, as written.
    pub links: Vec<Link>,
}

impl LedgerEntry {
    /// The entry's date, if it parses.
    pub fn day(&self) -> Option<Date> {
        self.date.as_deref().and_then(|d| d.parse().ok())
    }
}

/// A resolved link between two entries of a [`Ledger`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// How the entry relates to `to`.
    pub relation: Relation,
    /// The other entry's id.
    pub to: String,
}

/// A link whose target no entry answers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnresolvedLink {
    /// The entry carrying the link.
    pub entry: String,
    /// Its source file.
    pub path: String,
    /// The link.
    pub link: Link,
}

/// An entry's status at a date, with what replaced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAt {
    /// The status at that date.
    pub status: Status,
    /// The entry that replaced it, when superseded by a known entry.
    pub superseded_by: Option<String>,
    /// Since when (the successor's date), when known.
    pub since: Option<String>,
}

/// Every entry of a generation, with links resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    entries: Vec<LedgerEntry>,
    /// Per entry (same order), its resolved links, both ways.
    edges: Vec<Vec<Edge>>,
    unresolved: Vec<UnresolvedLink>,
    #[serde(skip)]
    by_id: HashMap<String, usize>,
    #[serde(skip)]
    by_doc: HashMap<String, Vec<usize>>,
}

impl Ledger {
    /// Gather entries (in any order) and resolve their links.
    pub fn new(mut entries: Vec<LedgerEntry>) -> Ledger {
        entries.sort_by(|a, b| {
            (a.doc_id.as_str(), a.byte_range[0]).cmp(&(b.doc_id.as_str(), b.byte_range[0]))
        });
        entries.dedup_by(|a, b| a.id == b.id);
        let mut by_label: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            for label in &e.labels {
                by_label.entry(label.as_str()).or_default().push(i);
            }
        }
        let mut edges: Vec<Vec<Edge>> = vec![Vec::new(); entries.len()];
        let mut unresolved = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            for link in &e.links {
                let targets: Vec<usize> = by_label
                    .get(normalize_label(&link.target).as_str())
                    .map(|t| t.iter().copied().filter(|&j| j != i).collect())
                    .unwrap_or_default();
                // An ambiguous label is no link: guessing would be worse than reporting.
                if targets.len() != 1 {
                    unresolved.push(UnresolvedLink {
                        entry: e.id.clone(),
                        path: e.path.clone(),
                        link: link.clone(),
                    });
                    continue;
                }
                let j = targets[0];
                let forward = Edge {
                    relation: link.relation,
                    to: entries[j].id.clone(),
                };
                let back = Edge {
                    relation: link.relation.inverse(),
                    to: e.id.clone(),
                };
                if !edges[i].contains(&forward) {
                    edges[i].push(forward);
                }
                if !edges[j].contains(&back) {
                    edges[j].push(back);
                }
            }
        }
        let mut ledger = Ledger {
            entries,
            edges,
            unresolved,
            by_id: HashMap::new(),
            by_doc: HashMap::new(),
        };
        ledger.index();
        ledger
    }

    /// Build the lookup tables (after deserialising).
    pub(crate) fn index(&mut self) {
        self.by_id = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        self.by_doc.clear();
        for (i, e) in self.entries.iter().enumerate() {
            self.by_doc.entry(e.doc_id.clone()).or_default().push(i);
        }
    }

    /// Every entry, by document id then position.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the ledger holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&LedgerEntry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    /// The resolved links of an entry, both ways.
    pub fn edges(&self, id: &str) -> &[Edge] {
        self.by_id.get(id).map_or(&[], |&i| &self.edges[i])
    }

    /// True when some entry supersedes another.
    pub fn has_supersessions(&self) -> bool {
        self.edges
            .iter()
            .flatten()
            .any(|e| e.relation == Relation::Supersedes)
    }

    /// Links whose target no entry answers to.
    pub fn unresolved(&self) -> &[UnresolvedLink] {
        &self.unresolved
    }

    /// The entries of a document whose span overlaps `[start, end)` of its source.
    pub fn overlapping(&self, doc_id: &str, byte_range: [usize; 2]) -> Vec<&LedgerEntry> {
        self.by_doc
            .get(doc_id)
            .map(|ids| {
                ids.iter()
                    .map(|&i| &self.entries[i])
                    .filter(|e| e.byte_range[0] < byte_range[1] && byte_range[0] < e.byte_range[1])
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The entries that supersede `id` and were made on or before `as_of` (all of them when
    /// `as_of` is `None`), earliest first.
    fn successors(&self, id: &str, as_of: Option<Date>) -> Vec<&LedgerEntry> {
        let mut out: Vec<&LedgerEntry> = self
            .edges(id)
            .iter()
            .filter(|e| e.relation == Relation::SupersededBy)
            .filter_map(|e| self.get(&e.to))
            .filter(|s| match (as_of, s.day()) {
                (Some(at), Some(day)) => day <= at,
                (Some(_), None) => true,
                (None, _) => true,
            })
            .collect();
        out.sort_by(|a, b| a.date.cmp(&b.date).then(a.id.cmp(&b.id)));
        out
    }

    /// The status of an entry at a date (`None`: now, all links applied), or `None` when the
    /// entry was not made yet at that date.
    pub fn status_at(&self, id: &str, as_of: Option<Date>) -> Option<StatusAt> {
        let entry = self.get(id)?;
        if let (Some(at), Some(day)) = (as_of, entry.day()) {
            if day > at {
                return None;
            }
        }
        if let Some(successor) = self.successors(id, as_of).first() {
            return Some(StatusAt {
                status: Status::Superseded,
                superseded_by: Some(successor.id.clone()),
                since: successor.date.clone(),
            });
        }
        let status = match entry.status {
            // Superseded as written, but by nothing made yet at `as_of`: in force then, when a
            // successor is known; with no known successor it stays superseded.
            Status::Superseded if as_of.is_some() && !self.successors(id, None).is_empty() => {
                Status::Accepted
            }
            s => s,
        };
        Some(StatusAt {
            status,
            superseded_by: None,
            since: None,
        })
    }

    /// The entry in force at `as_of` at the end of `id`'s chain of successors, when `id` was
    /// superseded by then (cycles are cut).
    pub fn in_force_successor(&self, id: &str, as_of: Option<Date>) -> Option<String> {
        let mut current = id.to_string();
        let mut seen = vec![current.clone()];
        while let Some(next) = self.status_at(&current, as_of)?.superseded_by {
            if seen.contains(&next) {
                break;
            }
            seen.push(next.clone());
            current = next;
        }
        (current != id).then_some(current)
    }

    /// The chain of records an entry belongs to through `supersedes` links, oldest first
    /// (the entry alone when it has none). Cycles are cut.
    pub fn history(&self, id: &str) -> Vec<&LedgerEntry> {
        let Some(start) = self.get(id) else {
            return Vec::new();
        };
        let mut seen = vec![start.id.as_str()];
        // Walk back to the oldest predecessor, then forward through the successors.
        let mut first = start;
        loop {
            let prev = self
                .edges(&first.id)
                .iter()
                .filter(|e| e.relation == Relation::Supersedes)
                .filter_map(|e| self.get(&e.to))
                .find(|p| !seen.contains(&p.id.as_str()));
            match prev {
                Some(p) => {
                    seen.push(p.id.as_str());
                    first = p;
                }
                None => break,
            }
        }
        let mut chain = vec![first];
        let mut seen: Vec<&str> = vec![first.id.as_str()];
        let mut current = first;
        while let Some(next) = self
            .successors(&current.id, None)
            .into_iter()
            .find(|n| !seen.contains(&n.id.as_str()))
        {
            seen.push(next.id.as_str());
            chain.push(next);
            current = next;
        }
        if !chain.iter().any(|e| e.id == start.id) {
            chain.push(start);
        }
        chain
    }

    /// Counts by kind and status as written, for `lore stats`.
    pub fn tally(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for e in &self.entries {
            *out.entry(format!("{} {}", e.kind.as_str(), e.status.as_str()))
                .or_insert(0) += 1;
        }
        out
    }
}

/// A link target or label as compared, so that the ways people write one name agree:
///
/// * lower case, Markdown and surrounding punctuation removed, inner whitespace squashed;
/// * a path or URL (no whitespace, a `/`) compares by its file name:
///   `./docs/adr/0009-x.md#status` → `0009-x.md`;
/// * a record number compares by its number without leading zeros, under one prefix: `ADR-0009`,
///   `ADR 9`, `adr-009`, `ADR0009`, `ADR #9`, `#9`, `0009`, `9`, `Decision 9` → `adr-9`; other
///   prefixes keep theirs (`RFC-012` → `rfc-12`).
///
/// A bare number that two records answer to stays unresolved ([`Ledger::new`] needs exactly
/// one match).
///
/// ```
/// use lore::normalize_label;
/// assert_eq!(normalize_label("[ADR-0009]"), "adr-9");
/// assert_eq!(normalize_label("#9"), normalize_label("adr 9"));
/// assert_eq!(normalize_label("./docs/adr/0009-Raise.md"), "0009-raise.md");
/// assert_eq!(normalize_label("Use  Postgres."), "use postgres");
/// ```
pub fn normalize_label(text: &str) -> String {
    let t = text.trim().trim_matches(|c: char| {
        matches!(
            c,
            '[' | ']' | '(' | ')' | '`' | '*' | '"' | '\'' | '.' | ',' | ':' | ';' | '<' | '>'
        )
    });
    let t = if !t.contains(char::is_whitespace) && t.contains(['/', '\\']) {
        let t = t.split(['#', '?']).next().unwrap_or(t);
        t.trim_end_matches(['/', '\\'])
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(t)
    } else {
        t
    };
    let squashed = t
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    record_number(&squashed).unwrap_or(squashed)
}

/// Prefixes that all mean "decision record number".
const RECORD_PREFIXES: &[&str] = &["", "adr", "dr", "decision", "record", "mdr"];

/// The canonical form of a lower-cased record number (`adr-0009`, `#9`, `rfc 12`), or `None`
/// when the label is not one.
fn record_number(label: &str) -> Option<String> {
    let letters = label
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(label.len());
    if letters > 10 {
        return None;
    }
    let prefix = &label[..letters];
    let rest = label[letters..].trim_start_matches([' ', '-', '_', '#']);
    if rest.is_empty() || rest.len() > 12 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u64 = rest.parse().ok()?;
    let prefix = if RECORD_PREFIXES.contains(&prefix) {
        "adr"
    } else {
        prefix
    };
    Some(format!("{prefix}-{number}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_numbers_share_one_label() {
        for form in [
            "ADR-0009",
            "ADR-9",
            "ADR 0009",
            "adr-009",
            "0009",
            "9",
            "#9",
            "ADR #9",
            "ADR0009",
            "`ADR-0009`",
            "[ADR-0009]",
            "Decision 9",
            "ADR-0009.",
        ] {
            assert_eq!(normalize_label(form), "adr-9", "{form}");
        }
        assert_eq!(normalize_label("RFC-012"), "rfc-12");
        assert_ne!(normalize_label("ADR-19"), "adr-9");
    }

    #[test]
    fn paths_compare_by_file_name_and_text_by_words() {
        assert_eq!(
            normalize_label("./docs/adr/0009-raise-threshold.md"),
            "0009-raise-threshold.md"
        );
        assert_eq!(
            normalize_label("https://example.org/repo/blob/main/adr/0009-x.md#status"),
            "0009-x.md"
        );
        assert_eq!(normalize_label("0009-x.md"), "0009-x.md");
        assert_eq!(
            normalize_label("  Use CI/CD for   releases "),
            "use ci/cd for releases"
        );
        assert_eq!(normalize_label("Q3 plan"), "q3 plan");
    }

    fn entry(id: &str, date: &str, status: Status, links: &[(Relation, &str)]) -> LedgerEntry {
        LedgerEntry {
            id: id.into(),
            kind: EntryKind::Decision,
            title: format!("{id}: title"),
            status,
            status_text: None,
            date: Some(date.into()),
            people: Vec::new(),
            due: None,
            rationale: None,
            doc_id: format!("adr/{id}.md"),
            path: format!("adr/{id}.md"),
            doc_title: id.into(),
            byte_range: [0, 10],
            line_range: [1, 1],
            content_hash: String::new(),
            labels: vec![normalize_label(id)],
            links: links
                .iter()
                .map(|(relation, target)| Link {
                    relation: *relation,
                    target: target.to_string(),
                })
                .collect(),
        }
    }

    fn day(s: &str) -> Option<Date> {
        Some(s.parse().unwrap())
    }

    /// A (2024) superseded by B (2025, written only on A) superseded by C (2026, written only
    /// on C), and D pointing at a record that does not exist.
    fn chain() -> Ledger {
        Ledger::new(vec![
            entry(
                "C",
                "2026-03-01",
                Status::Accepted,
                &[(Relation::Supersedes, "b")],
            ),
            entry(
                "A",
                "2024-01-10",
                Status::Superseded,
                &[(Relation::SupersededBy, "[B]")],
            ),
            entry("B", "2025-02-01", Status::Accepted, &[]),
            entry(
                "D",
                "2025-05-05",
                Status::Accepted,
                &[(Relation::Amends, "ADR-404")],
            ),
        ])
    }

    #[test]
    fn links_resolve_both_ways_and_dangling_ones_are_kept() {
        let ledger = chain();
        assert_eq!(
            ledger.edges("B"),
            &[
                Edge {
                    relation: Relation::Supersedes,
                    to: "A".into()
                },
                Edge {
                    relation: Relation::SupersededBy,
                    to: "C".into()
                }
            ]
        );
        assert_eq!(ledger.unresolved().len(), 1);
        assert_eq!(ledger.unresolved()[0].entry, "D");
        assert_eq!(ledger.unresolved()[0].link.target, "ADR-404");
        assert!(ledger.has_supersessions());
    }

    #[test]
    fn status_follows_the_clock() {
        let ledger = chain();
        let at = |id: &str, when: Option<Date>| ledger.status_at(id, when);
        // Today: A and B superseded, each by its direct successor; C in force.
        let a = at("A", None).unwrap();
        assert_eq!(
            (a.status, a.superseded_by.as_deref()),
            (Status::Superseded, Some("B"))
        );
        let b = at("B", None).unwrap();
        assert_eq!(b.status, Status::Superseded);
        assert_eq!(b.since.as_deref(), Some("2026-03-01"));
        assert_eq!(at("C", None).unwrap().status, Status::Accepted);
        // In mid-2024, A was in force, though its record now says superseded.
        assert_eq!(at("A", day("2024-06-01")).unwrap().status, Status::Accepted);
        assert_eq!(at("B", day("2024-06-01")), None);
        // In 2025, B was.
        assert_eq!(
            at("A", day("2025-06-01")).unwrap().status,
            Status::Superseded
        );
        assert_eq!(at("B", day("2025-06-01")).unwrap().status, Status::Accepted);
        assert_eq!(at("C", day("2025-06-01")), None);
        assert!(at("missing", None).is_none());
    }

    #[test]
    fn history_is_the_whole_chain_oldest_first() {
        let ledger = chain();
        for id in ["A", "B", "C"] {
            let ids: Vec<&str> = ledger.history(id).iter().map(|e| e.id.as_str()).collect();
            assert_eq!(ids, ["A", "B", "C"], "from {id}");
        }
        let ids: Vec<&str> = ledger.history("D").iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["D"]);
    }

    #[test]
    fn an_ambiguous_target_is_unresolved_not_guessed() {
        let mut one = entry("X1", "2025-01-01", Status::Accepted, &[]);
        one.labels.push("7".into());
        let mut two = entry("X2", "2025-01-01", Status::Accepted, &[]);
        two.labels.push("7".into());
        let three = entry(
            "X3",
            "2025-02-01",
            Status::Accepted,
            &[(Relation::Supersedes, "7")],
        );
        let ledger = Ledger::new(vec![one, two, three]);
        assert_eq!(ledger.unresolved().len(), 1);
        assert_eq!(
            ledger.status_at("X1", None).unwrap().status,
            Status::Accepted
        );
    }

    #[test]
    fn a_cycle_does_not_hang() {
        let ledger = Ledger::new(vec![
            entry(
                "P",
                "2025-01-01",
                Status::Accepted,
                &[(Relation::Supersedes, "Q")],
            ),
            entry(
                "Q",
                "2025-01-02",
                Status::Accepted,
                &[(Relation::Supersedes, "P")],
            ),
        ]);
        assert_eq!(ledger.history("P").len(), 2);
        assert!(ledger.status_at("P", None).is_some());
    }

    #[test]
    fn it_survives_a_round_trip_through_json() {
        let ledger = chain();
        let mut back: Ledger =
            serde_json::from_str(&serde_json::to_string(&ledger).unwrap()).unwrap();
        back.index();
        assert_eq!(back, ledger);
        assert_eq!(back.get("C").unwrap().title, "C: title");
    }
}
