//! Finding decisions and action items in loaded documents: decision records (Nygard and MADR
//! styles) and the explicit markers of meeting notes, minutes, transcripts and messages.
//!
//! # Decision records
//!
//! A document of format [`SourceFormat::Decision`] (or of kind `decision`/`adr`) is one
//! [`EntryKind::Decision`] entry with the document's id, title, date and deciders (its
//! authors, else its `deciders` field), spanning its first to its last block.
//!
//! * **Status** is read from a `## Status` section (every line of it, joined with `; `), else
//!   from the `status` field (a `Status:` header line, bulleted or bold, or front matter
//!   `status:`). `superseded`/`superceded`/`replaced by` anywhere in it → superseded; otherwise
//!   the last of accepted/approved/agreed/adopted (accepted), proposed/draft/under review/in
//!   review/pending (proposed), rejected/declined/withdrawn (rejected), deprecated/obsolete/
//!   retired (deprecated). Unrecognised text is proposed; a record with no status at all is
//!   taken as accepted.
//! * **Links**: in the status text, `Superseded by X`, `Superceded by X`, `Replaced by X`
//!   (superseded by), `Amended by X` (amended by), `Supersedes X`, `Supercedes X`, `Replaces X`
//!   (supersedes), `Amends X` (amends); and the fields `supersedes`, `superseded_by`,
//!   `replaces`, `replaced_by`, `amends`, `amended_by` (header lines or front matter; the
//!   loader's `superseded_by` derived from the status is not counted twice). Several targets
//!   may follow, separated by `,`, `;`, `&` or `and`. A target is a Markdown link (the file name
//!   of its URL: `[3. Use Y](./0003-use-y.md)` → `0003-use-y.md`), a reference-style link
//!   (`[ADR-7]` with `[ADR-7]: 0007-x.md` elsewhere in the file → `0007-x.md`; undefined → the
//!   bracket text), or a plain name holding a digit or a file name (`ADR-0009`, `ADR 9`, `#9`,
//!   `0009-x.md`). A plain title (`superseded by the new vendor policy`) is not taken as a
//!   target.
//! * **Labels** (what links may call the record, through
//!   [`normalize_label`]): the record number (`ADR-9`, from the file stem `0009-…`/`adr-0009-…`
//!   or a title prefix `ADR-0009:`/`9.`), the file name and stem, the title, and the title
//!   without its number prefix.
//! * **Rationale**: the Context (`Context and Problem Statement`, `Problem Statement`) and
//!   Decision (`Decision Outcome`) sections' text, whitespace squashed, cut at a word boundary
//!   to [`MAX_RATIONALE_CHARS`] characters with `…`.
//!
//! # Meeting notes, wiki pages, transcripts, messages
//!
//! Only explicit markers count; nothing is guessed from prose, and nothing inside a fenced
//! code block counts.
//!
//! * A line or list item starting (after a list bullet `-`/`*`/`+`/`•`/`1.`, and with the
//!   marker possibly bold: `**Decision:**`, `**Decision**:`) with `Decision:`, `Decided:`,
//!   `Agreed:`, `Decision made:` is an accepted decision; with `Action:`, `Action item:`,
//!   `Action point:`, `AI:` (upper case), `TODO:`, `To-do:`, `Follow-up:` an open action.
//!   `Decision (Tom, Priya): …` names the deciders; `Action item for Marco: …` the owner.
//! * Every list item of a section headed `Decisions`, `Decisions made`, `Key decisions`,
//!   `Decision` (any heading level, or a line holding only `Decisions:`/`**Decisions**`) is a
//!   decision; of `Action items`, `Actions`, `Action points`, `Next steps`, `Follow-ups`,
//!   `To do` an action. The section lasts until a heading of the same or a higher level (a
//!   bare `Decisions:` line: until the next line that is neither a list item nor blank).
//! * A checkbox item `- [ ] …` anywhere is an open action, `- [x] …` a done one; an action whose
//!   text ends in `(done)`, `[done]` or `✅` is done.
//! * An entry's span is its line (from the bullet or marker), its continuation lines and the
//!   items nested under it (which are then part of it, not entries of their own), without the
//!   trailing line break. A marker paragraph spans its lines up to a blank line.
//! * **Owners** of an action (people), each annotation removed from the title: `Owner: Name`
//!   / `Owners: A, B` anywhere; a trailing `(Name)` or `(Name, Name)`; a trailing `— Name`,
//!   `– Name`, `- Name`; a leading `**Name**:`, `Name:` or `Name (note):` when the name looks
//!   like a person (one to three capitalised words without digits, not a common word such as
//!   `Note`); a leading `Name to <verb>` (one or two capitalised words); `@name` mentions
//!   (kept in the title, `@name` also counts at the start or end). In a transcript, an action
//!   whose text starts with `I'll`/`I will`/`I'm going to` is owned by the speaker.
//! * **Due** dates: `due 2026-03-01`, `due: …`, `due by …`, `deadline: …` (a date, else up to
//!   three words), `by <date>` (an ISO or slashed date, `March 1`, `1 March 2026`, a weekday,
//!   `end of week`, `EOD`, `tomorrow`, `next week`), normalised to `YYYY-MM-DD` when it parses.
//! * Deciders of a meeting decision are only those its line names: a meeting's authors or
//!   attendees are not taken as deciders.
//! * Transcripts (VTT, SRT): a cue whose text (after the speaker) starts with a marker; the span
//!   is the cue's text lines. Slack messages and JSON records: their text is scanned like notes
//!   and spans are the raw bytes inside the JSON string. HTML is not scanned (its source bytes
//!   are not its text).
//!
//! Entry ids are `{doc_id}@L{line}` (for a JSON record or chat message, the line within its
//! text, since its line in the file would tell of the messages around it); the date is the
//! document's date; rationale is none.

use std::collections::HashMap;
use std::ops::Range;

use crate::date::normalize_date;
use crate::load::jsonl::decode_json_string;
use crate::load::lines_with_ranges;
use crate::load::transcript::cue_text;
use crate::memory::ledger::{normalize_label, EntryKind, LedgerEntry, Link, Relation, Status};
use crate::model::{content_hash_bytes, Document, LineIndex, SourceFormat};

/// Longest rationale kept for a decision record, in characters (before the `…`).
pub const MAX_RATIONALE_CHARS: usize = 1200;

/// The ledger entries a document records, in source order.
pub fn extract(doc: &Document) -> Vec<LedgerEntry> {
    let (Some(first), Some(last)) = (doc.blocks.first(), doc.blocks.last()) else {
        return Vec::new();
    };
    let span = first.byte_range.start..last.byte_range.end.max(first.byte_range.start);
    // Built only when an entry is found: a JSON Lines export shares one source among
    // thousands of documents, most of which record nothing.
    let lines = Lines::new(&doc.source);
    if is_record(doc) {
        return vec![record_entry(doc, span, &lines)];
    }
    // Most documents record no decision or action: a single pass for the words every marker
    // needs spares them the line-by-line scan (and a JSON record its decoding).
    let raw = &doc.source[span.clone()];
    if !might_have_markers(raw) {
        return Vec::new();
    }
    match doc.format {
        SourceFormat::Markdown | SourceFormat::Text => {
            let text = &doc.source[span.clone()];
            scan_notes(text)
                .into_iter()
                .map(|item| {
                    let range = span.start + item.range.start..span.start + item.range.end;
                    let line = lines.line_of(range.start);
                    note_entry(doc, &lines, range, line, item)
                })
                .collect()
        }
        SourceFormat::Slack | SourceFormat::Jsonl => {
            let decoded = decode_json_string(&doc.source[span.clone()]);
            scan_notes(&decoded.text)
                .into_iter()
                .map(|item| {
                    let range = span.start + decoded.offsets[item.range.start]
                        ..span.start + decoded.offsets[item.range.end];
                    // The line within the message, not the file: a file of messages may hold
                    // some its reader may not see, and the id must not tell where they sit.
                    let line = 1 + decoded.text[..item.range.start].matches('\n').count();
                    note_entry(doc, &lines, range, line, item)
                })
                .collect()
        }
        SourceFormat::Vtt | SourceFormat::Srt => transcript_entries(doc, &lines),
        SourceFormat::Html | SourceFormat::Decision => Vec::new(),
    }
}

/// Words at least one of which every marker, marker heading and checkbox holds (ASCII case
/// aside): a text with none of them records no entry.
const MARKER_WORDS: &[&str] = &[
    "decision",
    "decided",
    "agreed",
    "action",
    "todo",
    "to do",
    "to-do",
    "next step",
    "follow",
    "ai:",
    "[ ]",
    "[x]",
];

/// True when `text` holds one of [`MARKER_WORDS`].
fn might_have_markers(text: &str) -> bool {
    static WORDS: once_cell::sync::Lazy<aho_corasick::AhoCorasick> =
        once_cell::sync::Lazy::new(|| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(MARKER_WORDS)
                .expect("the marker words make an automaton")
        });
    WORDS.is_match(text)
}

/// The line numbers of a source, indexed on first use.
struct Lines<'a> {
    source: &'a str,
    index: once_cell::unsync::OnceCell<LineIndex>,
}

impl<'a> Lines<'a> {
    fn new(source: &'a str) -> Self {
        Lines {
            source,
            index: once_cell::unsync::OnceCell::new(),
        }
    }

    fn index(&self) -> &LineIndex {
        self.index.get_or_init(|| LineIndex::new(self.source))
    }

    fn line_of(&self, offset: usize) -> usize {
        self.index().line_of(offset)
    }

    fn lines_of(&self, range: &Range<usize>) -> [usize; 2] {
        self.index().lines_of(range)
    }
}

/// True for a decision record: the decision format, or a document whose kind says so.
fn is_record(doc: &Document) -> bool {
    doc.format == SourceFormat::Decision
        || matches!(doc.kind.to_ascii_lowercase().as_str(), "decision" | "adr")
}

// ---------------------------------------------------------------------------------------------
// Decision records

/// The one entry of a decision record spanning `span` of its source.
fn record_entry(doc: &Document, span: Range<usize>, lines: &Lines) -> LedgerEntry {
    // Link reference definitions are no block of their own: read on to the end of the file.
    let sections = record_sections(&doc.source[span.start..]);
    let status_text = sections
        .status
        .clone()
        .or_else(|| doc.metadata.get("status").map(|s| s.trim().to_string()))
        .filter(|s| !s.is_empty());
    let status = match &status_text {
        Some(text) => status_of(text).unwrap_or(Status::Proposed),
        None => Status::Accepted,
    };
    let mut links = status_text
        .as_deref()
        .map(|t| keyword_links(t, &sections.refs))
        .unwrap_or_default();
    let status_names_successor = links.iter().any(|l| l.relation == Relation::SupersededBy)
        || status_text.as_deref().is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            ["superseded", "superceded", "replaced by"]
                .iter()
                .any(|k| t.contains(k))
        });
    for (field, relation) in [
        ("supersedes", Relation::Supersedes),
        ("supercedes", Relation::Supersedes),
        ("replaces", Relation::Supersedes),
        ("superseded_by", Relation::SupersededBy),
        ("superceded_by", Relation::SupersededBy),
        ("replaced_by", Relation::SupersededBy),
        ("amends", Relation::Amends),
        ("amended_by", Relation::AmendedBy),
    ] {
        if relation == Relation::SupersededBy && status_names_successor {
            continue;
        }
        if let Some(value) = doc.metadata.get(field) {
            for target in parse_targets(value, &sections.refs) {
                links.push(Link { relation, target });
            }
        }
    }
    let mut seen = Vec::new();
    links.retain(|l| {
        let key = (l.relation, normalize_label(&l.target));
        let fresh = !seen.contains(&key);
        seen.push(key);
        fresh
    });
    let people = if doc.authors.is_empty() {
        doc.metadata
            .get("deciders")
            .map(|d| split_people(d))
            .unwrap_or_default()
    } else {
        doc.authors.clone()
    };
    let rationale = (!sections.rationale.is_empty()).then(|| cap(&sections.rationale));
    let bytes = &doc.source.as_bytes()[span.clone()];
    LedgerEntry {
        id: doc.id.clone(),
        kind: EntryKind::Decision,
        title: doc.title.clone(),
        status,
        status_text,
        date: doc.date.clone(),
        people,
        due: None,
        rationale,
        doc_id: doc.id.clone(),
        path: crate::path_text::to_text(&doc.path),
        doc_title: doc.title.clone(),
        line_range: lines.lines_of(&span),
        byte_range: [span.start, span.end],
        content_hash: content_hash_bytes(bytes),
        labels: record_labels(doc),
        links,
    }
}

/// What a decision record's body says, section by section.
#[derive(Debug, Default)]
struct RecordSections {
    /// The `## Status` section's lines joined with `; `.
    status: Option<String>,
    /// Context and Decision text, whitespace squashed.
    rationale: String,
    /// Reference-style link definitions, label lower-cased → URL.
    refs: HashMap<String, String>,
}

/// Which part of a record a heading opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordPart {
    Status,
    Rationale,
    Other,
}

/// Reads the status section, the rationale sections and the link definitions of a record.
fn record_sections(body: &str) -> RecordSections {
    let mut out = RecordSections::default();
    let mut part = RecordPart::Other;
    let mut in_fence = false;
    let mut status_lines: Vec<String> = Vec::new();
    let mut rationale: Vec<&str> = Vec::new();
    for (_, line) in lines_with_ranges(body) {
        let t = line.trim();
        if is_fence(t) {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some((label, url)) = link_definition(line) {
            out.refs.entry(label).or_insert(url);
            continue;
        }
        if let Some((_, heading)) = heading(t) {
            let name = section_name(heading);
            part = match name.as_str() {
                "status" => RecordPart::Status,
                "context"
                | "context and problem statement"
                | "problem statement"
                | "decision"
                | "decision outcome" => RecordPart::Rationale,
                _ => RecordPart::Other,
            };
            continue;
        }
        if t.is_empty() {
            continue;
        }
        match part {
            RecordPart::Status => {
                let l = strip_bullet(t).replace("**", "");
                let l = l.trim();
                let l = strip_prefix_ci(l, "status:").map_or(l, str::trim);
                if !l.is_empty() {
                    status_lines.push(l.to_string());
                }
            }
            RecordPart::Rationale => rationale.push(t),
            RecordPart::Other => {}
        }
    }
    if !status_lines.is_empty() {
        out.status = Some(status_lines.join("; "));
    }
    out.rationale = squash(&rationale.join(" "));
    out
}

/// `[label]: url` (up to three spaces of indent), label lower-cased.
fn link_definition(line: &str) -> Option<(String, String)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = line.trim_start().strip_prefix('[')?;
    let close = rest.find(']')?;
    let label = &rest[..close];
    let url = rest[close + 1..].strip_prefix(':')?.trim();
    let url = url.split_whitespace().next()?;
    let url = url.trim_start_matches('<').trim_end_matches('>');
    (!label.trim().is_empty() && !url.is_empty())
        .then(|| (label.trim().to_lowercase(), url.to_string()))
}

/// A section heading's name as compared: lower case, without a leading number (`2.1`) or a
/// trailing colon.
fn section_name(heading: &str) -> String {
    let h = heading.replace("**", "");
    let h = h
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
        .trim()
        .trim_end_matches(':')
        .trim();
    squash(h).to_lowercase()
}

/// The written status a status text gives: see the module documentation.
fn status_of(text: &str) -> Option<Status> {
    // Link texts (`[3. Use accepted tools](…)`) say nothing about this record's status.
    let mut plain = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let lower = plain.to_ascii_lowercase();
    if ["superseded", "superceded", "replaced by"]
        .iter()
        .any(|k| find_word(&lower, k).is_some())
    {
        return Some(Status::Superseded);
    }
    const WORDS: &[(&str, Status)] = &[
        ("accepted", Status::Accepted),
        ("approved", Status::Accepted),
        ("agreed", Status::Accepted),
        ("adopted", Status::Accepted),
        ("proposed", Status::Proposed),
        ("draft", Status::Proposed),
        ("drafted", Status::Proposed),
        ("under review", Status::Proposed),
        ("in review", Status::Proposed),
        ("pending", Status::Proposed),
        ("rejected", Status::Rejected),
        ("declined", Status::Rejected),
        ("withdrawn", Status::Rejected),
        ("deprecated", Status::Deprecated),
        ("obsolete", Status::Deprecated),
        ("retired", Status::Deprecated),
    ];
    WORDS
        .iter()
        .filter_map(|(w, s)| rfind_word(&lower, w).map(|at| (at, *s)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, s)| s)
}

/// The relation keywords of a status text, longest first where one starts another.
const KEYWORDS: &[(&str, Relation)] = &[
    ("superseded by", Relation::SupersededBy),
    ("superceded by", Relation::SupersededBy),
    ("replaced by", Relation::SupersededBy),
    ("amended by", Relation::AmendedBy),
    ("supersedes", Relation::Supersedes),
    ("supercedes", Relation::Supersedes),
    ("replaces", Relation::Supersedes),
    ("amends", Relation::Amends),
];

/// The links a status text names with relation keywords.
fn keyword_links(text: &str, refs: &HashMap<String, String>) -> Vec<Link> {
    let lower = text.to_ascii_lowercase();
    let mut hits: Vec<(usize, usize, Relation)> = Vec::new();
    for &(word, relation) in KEYWORDS {
        let mut from = 0;
        while let Some(at) = find_word(&lower[from..], word) {
            hits.push((from + at, from + at + word.len(), relation));
            from += at + word.len();
        }
    }
    hits.sort_by_key(|h| h.0);
    let mut links = Vec::new();
    for (i, &(_, end, relation)) in hits.iter().enumerate() {
        let stop = hits.get(i + 1).map_or(text.len(), |h| h.0);
        for target in parse_targets(&text[end..stop.max(end)], refs) {
            links.push(Link { relation, target });
        }
    }
    links
}

/// The targets a link list names (`ADR-2, [ADR-3](0003-x.md) and #4`): see the module
/// documentation.
fn parse_targets(text: &str, refs: &HashMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ':' || c == '*');
        let found = if rest.starts_with('[') {
            markdown_target(rest, refs)
        } else {
            plain_target(rest)
        };
        let Some((target, after)) = found else {
            break;
        };
        out.push(target);
        let a = after.trim_start_matches(|c: char| c.is_whitespace() || c == '*');
        if let Some(r) = a
            .strip_prefix(',')
            .or_else(|| a.strip_prefix(';'))
            .or_else(|| a.strip_prefix('&'))
        {
            rest = r;
        } else if let Some(r) = strip_prefix_ci(a, "and ") {
            rest = r;
        } else {
            break;
        }
        rest = strip_prefix_ci(rest.trim_start(), "and ").unwrap_or(rest);
    }
    out
}

/// A Markdown (inline or reference-style) link at the start of `text`: its target and the
/// text after it.
fn markdown_target<'a>(text: &'a str, refs: &HashMap<String, String>) -> Option<(String, &'a str)> {
    let inner = text.strip_prefix('[')?;
    let close = inner.find(']')?;
    let label = inner[..close].trim();
    let after = &inner[close + 1..];
    if let Some(paren) = after.strip_prefix('(') {
        let end = paren.find(')')?;
        let url = paren[..end].split_whitespace().next().unwrap_or("");
        let url = url.trim_start_matches('<').trim_end_matches('>');
        let target = url_file_name(url).unwrap_or_else(|| label.to_string());
        return (!target.is_empty()).then(|| (target, &paren[end + 1..]));
    }
    let (key, after) = match after.strip_prefix('[') {
        Some(r) => {
            let end = r.find(']')?;
            let key = r[..end].trim();
            (if key.is_empty() { label } else { key }, &r[end + 1..])
        }
        None => (label, after),
    };
    let target = refs
        .get(&key.to_lowercase())
        .and_then(|url| url_file_name(url))
        .unwrap_or_else(|| label.to_string());
    (!target.is_empty()).then_some((target, after))
}

/// The file name a URL or path ends in (`./0003-use-y.md#status` → `0003-use-y.md`); `None`
/// for an empty URL or a fragment of the same page.
fn url_file_name(url: &str) -> Option<String> {
    if url.is_empty() || url.starts_with('#') {
        return None;
    }
    let url = url.split(['#', '?']).next().unwrap_or(url);
    let name = url.trim_end_matches('/').rsplit(['/', '\\']).next()?;
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_string())
}

/// A plain target at the start of `text` (`ADR-0009`, `ADR 9`, `#9`, `0009-x.md`) and the text
/// after it; `None` unless it holds a digit or is a file name.
fn plain_target(text: &str) -> Option<(String, &str)> {
    let is_token = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '#');
    let end = text.find(|c: char| !is_token(c)).unwrap_or(text.len());
    let mut token = text[..end].trim_end_matches('.');
    let mut after = &text[token.len()..];
    if !token.is_empty() && token.chars().all(|c| c.is_ascii_alphabetic()) && token.len() <= 10 {
        // `ADR 9`, `ADR #9`: a prefix word and a number.
        let gap = after.len() - after.trim_start_matches([' ', '#']).len();
        let digits = after[gap..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len() - gap);
        if gap > 0 && digits > 0 {
            let whole = token.len() + gap + digits;
            token = &text[..whole];
            after = &text[whole..];
        }
    }
    let looks_like_file = (token.contains('.') && !token.ends_with('.')) || token.contains('/');
    if token.is_empty() || !(token.chars().any(|c| c.is_ascii_digit()) || looks_like_file) {
        return None;
    }
    Some((token.to_string(), after))
}

/// The labels of a decision record: see the module documentation.
fn record_labels(doc: &Document) -> Vec<String> {
    let mut raw: Vec<String> = Vec::new();
    if let Some(name) = doc.path.file_name() {
        raw.push(name.to_string_lossy().into_owned());
    }
    let stem = doc
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    raw.push(stem.clone());
    raw.push(doc.title.clone());
    let numbered = numbered_title(&doc.title);
    if let Some((prefix, number, rest)) = &numbered {
        raw.push(rest.to_string());
        raw.push(format!("ADR-{number}"));
        if let Some(p) = prefix {
            raw.push(format!("{p}-{number}"));
        }
    }
    if let Some(number) = stem_number(&stem) {
        raw.push(format!("ADR-{number}"));
    }
    let mut labels: Vec<String> = Vec::new();
    for l in raw.iter().map(|l| normalize_label(l)) {
        if !l.is_empty() && !labels.contains(&l) {
            labels.push(l);
        }
    }
    labels
}

/// Prefix words a record number may carry (`ADR-0009`, `RFC 12`, `Decision 4`).
const NUMBER_PREFIXES: &[&str] = &["adr", "dr", "rfc", "decision", "record", "mdr"];

/// `ADR-0009: Raise the threshold` → (`Some("ADR")`, 9, `Raise the threshold`);
/// `1. Record decisions` → (`None`, 1, `Record decisions`). A number without a prefix needs a
/// `.` or `:` after it.
fn numbered_title(title: &str) -> Option<(Option<&str>, u64, &str)> {
    let t = title.trim();
    let letters = t
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(t.len());
    let (prefix, rest) =
        if letters > 0 && NUMBER_PREFIXES.contains(&t[..letters].to_ascii_lowercase().as_str()) {
            let rest = t[letters..].trim_start_matches([' ', '-', '_', '#']);
            (Some(&t[..letters]), rest)
        } else if letters == 0 {
            (None, t.trim_start_matches('#'))
        } else {
            return None;
        };
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if digits == 0 || digits > 6 {
        return None;
    }
    let number: u64 = rest[..digits].parse().ok()?;
    let after = &rest[digits..];
    let sep = after.len() - after.trim_start_matches([':', '.', '-', '–', '—']).len();
    if prefix.is_none() && !after.starts_with(['.', ':']) {
        return None;
    }
    let text = after[sep..].trim();
    (sep > 0 || after.starts_with(' ') || after.is_empty()).then_some((prefix, number, text))
}

/// The record number a file stem starts with (`0009-raise`, `adr-0009-raise`, `ADR0009`).
fn stem_number(stem: &str) -> Option<u64> {
    let letters = stem
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(stem.len());
    if letters > 0 && !NUMBER_PREFIXES.contains(&stem[..letters].to_ascii_lowercase().as_str()) {
        return None;
    }
    let rest = stem[letters..].trim_start_matches(['-', '_']);
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if digits == 0 || digits > 6 {
        return None;
    }
    let after = &rest[digits..];
    if !(after.is_empty() || after.starts_with(['-', '_', '.', ' '])) {
        return None;
    }
    rest[..digits].parse().ok()
}

/// Text cut to [`MAX_RATIONALE_CHARS`] characters at a word boundary, with `…` when cut.
fn cap(text: &str) -> String {
    if text.chars().count() <= MAX_RATIONALE_CHARS {
        return text.to_string();
    }
    let end = text
        .char_indices()
        .nth(MAX_RATIONALE_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let cut = text[..end].rfind(' ').filter(|&i| i > 0).unwrap_or(end);
    format!("{}…", text[..cut].trim_end())
}

// ---------------------------------------------------------------------------------------------
// Notes: markers, sections, checkboxes

/// An entry found in a text, with its byte range in that text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    range: Range<usize>,
    kind: EntryKind,
    status: Status,
    title: String,
    people: Vec<String>,
    due: Option<String>,
}

/// What a section of notes holds.
#[derive(Debug, Clone, Copy)]
struct Section {
    kind: EntryKind,
    /// Heading level (1–6), or 7 for a bare `Decisions:` line.
    level: usize,
}

/// The entries of a text of notes, in order: see the module documentation.
fn scan_notes(text: &str) -> Vec<Item> {
    let lines: Vec<(Range<usize>, &str)> = lines_with_ranges(text).collect();
    let mut items = Vec::new();
    let mut section: Option<Section> = None;
    let mut in_fence = false;
    let mut i = 0;
    while i < lines.len() {
        let (range, line) = (&lines[i].0, lines[i].1);
        let t = line.trim();
        i += 1;
        if is_fence(t) {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || t.is_empty() {
            continue;
        }
        if let Some((level, name)) = heading(t) {
            section = match (section_kind(name), section) {
                (Some(kind), _) => Some(Section { kind, level }),
                (None, Some(s)) if level > s.level && s.level < 7 => Some(s),
                _ => None,
            };
            continue;
        }
        let start = range.start + (line.len() - line.trim_start().len());
        if let Some(content_at) = list_item(line) {
            let indent = line.len() - line.trim_start().len();
            let end_line = item_end(&lines, i - 1, indent);
            let content = &line[content_at..];
            let continuation: Vec<&str> = lines[i..=end_line.max(i - 1)]
                .iter()
                .map(|(_, l)| *l)
                .take_while(|l| list_item(l).is_none())
                .collect();
            let found = classify(content, section.map(|s| s.kind));
            if let Some(found) = found {
                let mut full = found.text.to_string();
                for c in &continuation {
                    full.push(' ');
                    full.push_str(c.trim());
                }
                items.push(finish(found, &full, start..lines[end_line].0.end, None));
                i = end_line + 1;
            }
            continue;
        }
        if section.is_some_and(|s| s.level == 7) {
            section = None;
        }
        let bare = t.replace("**", "").replace("__", "");
        let bare = bare.trim().trim_end_matches(':').trim();
        if t.len() < 40 && (t.ends_with(':') || t.starts_with("**")) {
            if let Some(kind) = section_kind(bare) {
                section = Some(Section { kind, level: 7 });
                continue;
            }
        }
        if let Some(found) = parse_marker(t) {
            let mut end_line = i - 1;
            let mut full = found.text.to_string();
            while end_line + 1 < lines.len() {
                let next = lines[end_line + 1].1.trim();
                if next.is_empty()
                    || heading(next).is_some()
                    || is_fence(next)
                    || list_item(lines[end_line + 1].1).is_some()
                    || parse_marker(next).is_some()
                {
                    break;
                }
                full.push(' ');
                full.push_str(next);
                end_line += 1;
            }
            items.push(finish(found, &full, start..lines[end_line].0.end, None));
            i = end_line + 1;
        }
    }
    items
}

/// The index of the last line of the list item starting at line `first` with its bullet at
/// `indent`: continuation lines, nested items, and indented paragraphs after blank lines.
fn item_end(lines: &[(Range<usize>, &str)], first: usize, indent: usize) -> usize {
    let mut end = first;
    let mut j = first + 1;
    let mut blank = false;
    while j < lines.len() {
        let l = lines[j].1;
        let t = l.trim();
        if t.is_empty() {
            blank = true;
            j += 1;
            continue;
        }
        let ind = l.len() - l.trim_start().len();
        if heading(t).is_some() || (is_fence(t) && ind <= indent) {
            break;
        }
        if list_item(l).is_some() && ind <= indent {
            break;
        }
        if ind <= indent && blank {
            break;
        }
        if ind <= indent && parse_marker(t).is_some() {
            break;
        }
        blank = false;
        end = j;
        j += 1;
    }
    end
}

/// Where the content of a list item line starts (after the bullet and its space), or `None`.
fn list_item(line: &str) -> Option<usize> {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    let bullet = if rest.starts_with(['-', '*', '+']) {
        1
    } else if rest.starts_with('•') {
        '•'.len_utf8()
    } else {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
        if (1..=3).contains(&digits) && rest[digits..].starts_with(['.', ')']) {
            digits + 1
        } else {
            return None;
        }
    };
    let after = &rest[bullet..];
    if !after.starts_with([' ', '\t']) {
        return None;
    }
    // `* * *` and `- - -` are rules, not items.
    if after.trim().chars().all(|c| matches!(c, '-' | '*' | ' ')) {
        return None;
    }
    Some(indent + bullet + (after.len() - after.trim_start().len()))
}

/// `#`–`######` heading: its level and text.
fn heading(t: &str) -> Option<(usize, &str)> {
    let level = t.find(|c: char| c != '#').unwrap_or(t.len());
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some((level, rest.trim().trim_end_matches('#').trim()))
}

/// True for a code fence line.
fn is_fence(t: &str) -> bool {
    t.starts_with("```") || t.starts_with("~~~")
}

/// The kind of entries a section of this name lists.
fn section_kind(name: &str) -> Option<EntryKind> {
    match section_name(name).as_str() {
        "decisions" | "decisions made" | "decision" | "key decisions" | "decisions taken"
        | "agreed decisions" => Some(EntryKind::Decision),
        "action items" | "actions" | "action points" | "next steps" | "follow-ups"
        | "follow ups" | "followups" | "to do" | "todo" | "to-do" | "todos"
        | "open action items" => Some(EntryKind::Action),
        _ => None,
    }
}

/// An entry's start as recognised: kind, status, people named by the marker, the text after
/// the marker (and checkbox).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found<'a> {
    kind: EntryKind,
    status: Status,
    people: Vec<String>,
    text: &'a str,
}

/// Whether a list item's content is an entry: a checkbox, a marker, or an item of a section.
fn classify(content: &str, section: Option<EntryKind>) -> Option<Found<'_>> {
    let c = content.trim_start();
    let checkbox = if let Some(r) = c.strip_prefix("[ ]") {
        Some((Status::Open, r))
    } else {
        c.strip_prefix("[x]")
            .or_else(|| c.strip_prefix("[X]"))
            .map(|r| (Status::Done, r))
    };
    if let Some((status, rest)) = checkbox {
        let rest = rest.trim_start();
        return Some(match parse_marker(rest) {
            Some(f) if f.kind == EntryKind::Decision => f,
            Some(f) => Found { status, ..f },
            None => Found {
                kind: EntryKind::Action,
                status,
                people: Vec::new(),
                text: rest,
            },
        });
    }
    if let Some(f) = parse_marker(c) {
        return Some(f);
    }
    section.map(|kind| Found {
        kind,
        status: match kind {
            EntryKind::Decision => Status::Accepted,
            EntryKind::Action => Status::Open,
        },
        people: Vec::new(),
        text: c,
    })
}

/// A marker at the start of a line or item (`Decision:`, `**Action item:**`,
/// `Decision (Tom, Priya):`, `Action item for Marco:`): see the module documentation.
fn parse_marker(text: &str) -> Option<Found<'_>> {
    let t = text.trim_start();
    let colon = t.find(':')?;
    if colon > 48 {
        return None;
    }
    let key_raw = t[..colon].replace(['*', '_'], "");
    let mut key = key_raw.trim();
    let mut people = Vec::new();
    if let (Some(open), true) = (key.find('('), key.ends_with(')')) {
        people = split_people(&key[open + 1..key.len() - 1]);
        key = key[..open].trim();
    }
    let lower = key.to_ascii_lowercase();
    for lead in ["action item for ", "action for ", "todo for "] {
        if let Some(name) = lower.strip_prefix(lead) {
            people = split_people(&key[key.len() - name.len()..]);
            key = &key[..lead.len() - " for ".len()];
        }
    }
    let lower = key.to_ascii_lowercase();
    let kind = match lower.as_str() {
        "decision" | "decided" | "agreed" | "decision made" => EntryKind::Decision,
        "action" | "action item" | "action point" | "todo" | "to do" | "to-do" | "follow-up" => {
            EntryKind::Action
        }
        "ai" if key == "AI" => EntryKind::Action,
        _ => return None,
    };
    let rest = t[colon + 1..].trim_start();
    let rest = rest
        .trim_start_matches("**")
        .trim_start_matches("__")
        .trim_start();
    let status = match kind {
        EntryKind::Decision => Status::Accepted,
        EntryKind::Action => Status::Open,
    };
    Some(Found {
        kind,
        status,
        people,
        text: rest,
    })
}

/// Completes an item from its marker, its full text (continuation lines joined) and its range:
/// owners, due date and done markers are read and removed from the title.
fn finish(found: Found<'_>, full: &str, range: Range<usize>, speaker: Option<&str>) -> Item {
    let mut text = squash(full);
    let mut status = found.status;
    let mut people = found.people;
    let mut due = None;
    if found.kind == EntryKind::Action {
        if let Some(t) = strip_done(&text) {
            text = t;
            status = Status::Done;
        }
        if let Some((value, rest)) = take_due(&text) {
            due = Some(normalize_date(&value));
            text = rest;
        }
        let (owners, rest) = take_owners(&text);
        if people.is_empty() {
            people = owners;
        }
        text = rest;
        if people.is_empty() {
            if let Some(speaker) = speaker {
                let lower = text.to_lowercase().replace('’', "'");
                if ["i'll ", "i will ", "i'm going to ", "i am going to "]
                    .iter()
                    .any(|p| lower.starts_with(p))
                {
                    people.push(speaker.to_string());
                }
            }
        }
    }
    let title = text
        .trim()
        .trim_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '–' | '—' | ',' | ';' | ':'))
        .trim_end_matches('.')
        .trim()
        .to_string();
    Item {
        range,
        kind: found.kind,
        status,
        title,
        people,
        due,
    }
}

/// The text without a trailing done marker (`(done)`, `[done]`, `✅`, `✔`), or `None`.
fn strip_done(text: &str) -> Option<String> {
    let t = text.trim_end().trim_end_matches('.');
    let lower = t.to_ascii_lowercase();
    for mark in ["(done)", "[done]", "✅", "✔", "— done", "- done"] {
        if lower.ends_with(mark) {
            return Some(t[..t.len() - mark.len()].trim_end().to_string());
        }
    }
    None
}

/// A due date in an action's text: the value and the text without the annotation.
fn take_due(text: &str) -> Option<(String, String)> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    // `due …`, `deadline …`.
    for word in ["due", "deadline"] {
        while let Some(at) = find_word(&lower[from..], word).map(|a| a + from) {
            from = at + word.len();
            let mut v = at + word.len();
            v += lower[v..].len() - lower[v..].trim_start_matches([':', ' ']).len();
            for joiner in ["by ", "on ", "date "] {
                if lower[v..].starts_with(joiner) {
                    v += joiner.len();
                }
            }
            let len = date_phrase(&lower[v..]).or_else(|| few_words(&lower[v..], 3));
            if let Some(len) = len {
                return Some((
                    text[v..v + len].trim().to_string(),
                    cut_out(text, at, v + len),
                ));
            }
        }
        from = 0;
    }
    // `by <date>`.
    while let Some(at) = find_word(&lower[from..], "by").map(|a| a + from) {
        from = at + 2;
        let v = at + 3;
        if v > lower.len() || !lower[at + 2..].starts_with(' ') {
            continue;
        }
        if let Some(len) = date_phrase(&lower[v..]) {
            return Some((
                text[v..v + len].trim().to_string(),
                cut_out(text, at, v + len),
            ));
        }
    }
    None
}

/// `text` without `[start, end)`, with an opening bracket or a separator before it (and a
/// closing bracket after it) removed too.
fn cut_out(text: &str, start: usize, end: usize) -> String {
    let before = text[..start].trim_end();
    let after = &text[end..];
    let (before, after) = if let Some(b) = before.strip_suffix('(') {
        (b, after.trim_start().strip_prefix(')').unwrap_or(after))
    } else if let Some(b) = before.strip_suffix('[') {
        (b, after.trim_start().strip_prefix(']').unwrap_or(after))
    } else {
        (
            before.trim_end_matches(|c: char| {
                matches!(c, ',' | ';' | '—' | '–' | '|' | '-') || c.is_whitespace()
            }),
            after,
        )
    };
    let after = after.trim_start();
    if after.is_empty() || after.starts_with(['.', ',', ';', ')']) {
        format!("{}{}", before.trim_end(), after)
    } else {
        format!("{} {}", before.trim_end(), after)
    }
}

/// The length of a date phrase at the start of a lower-cased text: see the module
/// documentation.
fn date_phrase(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let digits = |from: usize| {
        b[from.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    // 2026-03-01, 2026/03/01
    if digits(0) == 4
        && b.len() >= 10
        && matches!(b[4], b'-' | b'/' | b'.')
        && b[7] == b[4]
        && digits(5) == 2
        && digits(8) == 2
    {
        return Some(10);
    }
    // 3/1, 03/01/2026
    let d1 = digits(0);
    if (1..=2).contains(&d1) && b.get(d1) == Some(&b'/') {
        let d2 = digits(d1 + 1);
        if (1..=2).contains(&d2) {
            let mut len = d1 + 1 + d2;
            if b.get(len) == Some(&b'/') && matches!(digits(len + 1), 2 | 4) {
                len += 1 + digits(len + 1);
            }
            return Some(len);
        }
    }
    const MONTHS: &[&str] = &[
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sept",
        "sep",
        "oct",
        "nov",
        "dec",
    ];
    let month_at = |from: usize| -> Option<usize> {
        let rest = &s[from.min(s.len())..];
        MONTHS
            .iter()
            .find(|m| {
                rest.starts_with(*m)
                    && !rest[m.len()..].starts_with(|c: char| c.is_ascii_alphabetic())
            })
            .map(|m| m.len() + usize::from(rest[m.len()..].starts_with('.')))
    };
    let year_after = |at: usize| -> usize {
        let rest = &s[at.min(s.len())..];
        let gap = rest.len() - rest.trim_start_matches([',', ' ']).len();
        if gap > 0 && digits(at + gap) == 4 {
            gap + 4
        } else {
            0
        }
    };
    let ordinal = |at: usize| -> usize {
        ["st", "nd", "rd", "th"]
            .iter()
            .find(|o| s[at.min(s.len())..].starts_with(*o))
            .map_or(0, |o| o.len())
    };
    // March 1, March 1st 2026
    if let Some(m) = month_at(0) {
        if s[m..].starts_with(' ') {
            let d = digits(m + 1);
            if (1..=2).contains(&d) {
                let mut len = m + 1 + d;
                len += ordinal(len);
                return Some(len + year_after(len));
            }
        }
    }
    // 1 March 2026
    if (1..=2).contains(&d1) {
        let at = d1 + ordinal(d1);
        if s[at..].starts_with(' ') {
            if let Some(m) = month_at(at + 1) {
                let len = at + 1 + m;
                return Some(len + year_after(len));
            }
        }
    }
    const PHRASES: &[&str] = &[
        "end of day",
        "end of week",
        "end of the week",
        "end of month",
        "end of the month",
        "end of quarter",
        "end of the quarter",
        "end of sprint",
        "end of the sprint",
        "eod",
        "eow",
        "tomorrow",
        "next week",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "next monday",
        "next tuesday",
        "next wednesday",
        "next thursday",
        "next friday",
    ];
    PHRASES
        .iter()
        .filter(|p| {
            s.starts_with(*p) && !s[p.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
        })
        .map(|p| p.len())
        .max()
}

/// The length of up to `n` words at the start of `s`, stopping at `,`, `;`, `)` or `]`.
fn few_words(s: &str, n: usize) -> Option<usize> {
    let stop = s.find([',', ';', ')', ']']).unwrap_or(s.len());
    let part = &s[..stop];
    let mut end = 0;
    for (count, word) in part.split_whitespace().enumerate() {
        if count == n {
            break;
        }
        let at = part[end..].find(word).map(|i| end + i)?;
        end = at + word.len();
    }
    let end = s[..end].trim_end_matches('.').len();
    (end > 0).then_some(end)
}

/// Owners named in an action's text and the text without their annotation: see the module
/// documentation.
fn take_owners(text: &str) -> (Vec<String>, String) {
    let lower = text.to_ascii_lowercase();
    // `Owner: Name`, `Owners: A, B`.
    for word in ["owners", "owner"] {
        if let Some(at) = find_word(&lower, word) {
            let after = &lower[at + word.len()..];
            let gap = after.len() - after.trim_start_matches([' ', ':', '-']).len();
            if after[..gap].contains([':', '-']) {
                let v = at + word.len() + gap;
                let end = lower[v..]
                    .find([';', ')', ']', '|'])
                    .map_or(text.len(), |i| v + i);
                let end = find_word(&lower[v..end], "due").map_or(end, |i| v + i);
                let value = text[v..end].trim().trim_end_matches(['.', ',']);
                let people = split_people(value);
                if !people.is_empty() {
                    return (people, cut_out(text, at, end));
                }
            }
        }
    }
    let t = text.trim_end().trim_end_matches('.');
    // Trailing `(Name)`, `(Name, Name)`, `(@name)`.
    if let Some(inner) = t.strip_suffix(')') {
        if let Some(open) = inner.rfind('(') {
            let people = split_people(&inner[open + 1..]);
            if !people.is_empty() && people.iter().all(|p| is_person(p)) {
                return (people, inner[..open].trim_end().to_string());
            }
        }
    }
    // Trailing `— Name`, `– Name`, `- Name`.
    for sep in [" — ", " – ", " -- ", " - ", "—", "–"] {
        if let Some(at) = t.rfind(sep) {
            let name = t[at + sep.len()..].trim();
            let people = split_people(name);
            if !people.is_empty() && people.iter().all(|p| is_person(p)) {
                return (people, t[..at].trim_end().to_string());
            }
        }
    }
    // Leading `**Name**:`, `Name:`, `Name (note):`, `@name:`.
    if let Some(colon) = text.find(':') {
        let head = text[..colon].replace("**", "").replace("__", "");
        let head = head.trim();
        let name = head.split('(').next().unwrap_or(head).trim();
        if colon <= 60 && is_person(name) {
            let rest = text[colon + 1..]
                .trim_start()
                .trim_start_matches("**")
                .trim_start();
            return (vec![clean_person(name)], rest.to_string());
        }
    }
    // Leading `Name to <verb>`, `@name to <verb>`.
    let words: Vec<&str> = text.split_whitespace().take(4).collect();
    for n in [1, 2] {
        if words.len() > n + 1
            && words[n] == "to"
            && words[n + 1].starts_with(|c: char| c.is_lowercase())
        {
            let name = words[..n].join(" ");
            if is_person(&name) {
                let at = text.find(" to ").map_or(0, |i| i + 4);
                return (vec![clean_person(&name)], text[at..].to_string());
            }
        }
    }
    // `@name` mentions, kept in the title.
    let mentions: Vec<String> = text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(|w| format!("@{w}"))
        .collect();
    (mentions, text.to_string())
}

/// Words that start a line like a name but are not people.
const NOT_PEOPLE: &[&str] = &[
    "note",
    "notes",
    "update",
    "updates",
    "status",
    "summary",
    "context",
    "agenda",
    "question",
    "questions",
    "risk",
    "risks",
    "issue",
    "issues",
    "blocker",
    "blockers",
    "outcome",
    "next",
    "need",
    "needs",
    "remember",
    "make",
    "try",
    "want",
    "plan",
    "going",
    "have",
    "has",
    "ask",
    "talk",
    "reach",
    "decide",
    "continue",
    "agree",
    "back",
    "due",
    "nothing",
    "someone",
    "somebody",
    "anyone",
    "we",
    "i",
    "they",
    "he",
    "she",
    "you",
    "who",
    "time",
    "still",
    "also",
    "then",
    "add",
    "move",
    "how",
    "what",
    "ready",
    "unable",
    "able",
    "up",
    "set",
    "go",
    "way",
    "owner",
    "decision",
    "action",
    "todo",
    "done",
    "open",
    "tbd",
    "background",
    "goal",
    "goals",
    "result",
    "results",
    "reason",
    "why",
    "when",
    "where",
    "important",
    "fyi",
    "ps",
    "nb",
];

/// True when `name` looks like a person: `@handle`, or one to three capitalised words with a
/// lower-case letter each and no digits, not a common word.
fn is_person(name: &str) -> bool {
    let name = name.trim();
    if let Some(handle) = name.strip_prefix('@') {
        return !handle.is_empty()
            && handle
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    // A word of a name, or an initial (`S.` in `S. Lindqvist`).
    let word = |w: &&str| {
        w.chars().next().is_some_and(char::is_uppercase)
            && w.chars().any(char::is_lowercase)
            && w.chars()
                .all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-' | '.'))
    };
    let initial = |w: &&str| {
        let mut c = w.chars();
        matches!((c.next(), c.next(), c.next()), (Some(a), Some('.'), None) if a.is_uppercase())
    };
    (1..=3).contains(&words.len())
        && !NOT_PEOPLE.contains(&words[0].to_lowercase().as_str())
        && words.iter().all(|w| word(w) || initial(w))
        && words.iter().any(word)
}

/// A person's name without decoration.
fn clean_person(name: &str) -> String {
    name.trim()
        .trim_matches(|c: char| matches!(c, '*' | '_' | '`' | '.' | ','))
        .to_string()
}

/// A list of people (`Tom, Priya and Ana`), split and cleaned.
fn split_people(text: &str) -> Vec<String> {
    text.split([',', ';', '/', '&'])
        .flat_map(|p| p.split(" and "))
        .map(clean_person)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Builds the entry of a note item spanning `range` of the document's source, whose id names
/// `line`.
fn note_entry(
    doc: &Document,
    lines: &Lines,
    range: Range<usize>,
    line: usize,
    item: Item,
) -> LedgerEntry {
    LedgerEntry {
        id: format!("{}@L{line}", doc.id),
        kind: item.kind,
        title: item.title,
        status: item.status,
        status_text: None,
        date: doc.date.clone(),
        people: item.people,
        due: item.due,
        rationale: None,
        doc_id: doc.id.clone(),
        path: crate::path_text::to_text(&doc.path),
        doc_title: doc.title.clone(),
        line_range: lines.lines_of(&range),
        content_hash: content_hash_bytes(&doc.source.as_bytes()[range.clone()]),
        byte_range: [range.start, range.end],
        labels: Vec::new(),
        links: Vec::new(),
    }
}

/// The entries of a transcript: cues whose text starts with a marker.
fn transcript_entries(doc: &Document, lines: &Lines) -> Vec<LedgerEntry> {
    let mut out = Vec::new();
    for block in &doc.blocks {
        let raw = &doc.source[block.byte_range.clone()];
        let cue: Vec<(Range<usize>, &str)> = lines_with_ranges(raw).collect();
        let Some(timing) = cue.iter().position(|(_, l)| l.contains("-->")) else {
            continue;
        };
        let payload = &cue[timing + 1..];
        let (Some(first), Some(last)) = (payload.first(), payload.last()) else {
            continue;
        };
        let texts: Vec<&str> = payload.iter().map(|(_, l)| *l).collect();
        let (speaker, text) = cue_text(&texts);
        let Some(found) = parse_marker(&text) else {
            continue;
        };
        let range = block.byte_range.start + first.0.start..block.byte_range.start + last.0.end;
        let speaker = speaker.or_else(|| block.speaker.clone());
        let item = finish(found.clone(), found.text, range.clone(), speaker.as_deref());
        let line = lines.line_of(range.start);
        out.push(note_entry(doc, lines, range, line, item));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/// Whitespace runs squashed to single spaces, trimmed.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A list bullet (`-`, `*`, `+`, `•`, `1.`) and the spaces after it removed.
fn strip_bullet(t: &str) -> &str {
    list_item(t).map_or(t, |at| &t[at..])
}

/// `text` without an ASCII `prefix` compared case-insensitively.
fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    (text.len() >= prefix.len()
        && text.is_char_boundary(prefix.len())
        && text[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &text[prefix.len()..])
}

/// True when no letter or digit touches `[at, at + len)` of `text`.
fn is_word_at(text: &str, at: usize, len: usize) -> bool {
    let before = text[..at].chars().next_back();
    let after = text[at + len..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// The first whole-word occurrence of `word` in `text`.
fn find_word(text: &str, word: &str) -> Option<usize> {
    text.match_indices(word)
        .map(|(i, _)| i)
        .find(|&i| is_word_at(text, i, word.len()))
}

/// The last whole-word occurrence of `word` in `text`.
fn rfind_word(text: &str, word: &str) -> Option<usize> {
    text.rmatch_indices(word)
        .map(|(i, _)| i)
        .find(|&i| is_word_at(text, i, word.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Item {
        let items = scan_notes(text);
        assert_eq!(items.len(), 1, "{items:?}");
        items.into_iter().next().unwrap()
    }

    #[test]
    fn decision_markers_with_bullets_and_bold() {
        for line in [
            "Decision: ship on Friday",
            "- Decided: ship on Friday",
            "* **Agreed:** ship on Friday",
            "1. **Decision**: ship on Friday.",
        ] {
            let item = one(line);
            assert_eq!(item.kind, EntryKind::Decision, "{line}");
            assert_eq!(item.status, Status::Accepted);
            assert_eq!(item.title, "ship on Friday", "{line}");
            assert!(item.people.is_empty());
        }
        let item = one("Decision (Tom, Priya): raise the cap");
        assert_eq!(item.people, vec!["Tom", "Priya"]);
        assert_eq!(item.title, "raise the cap");
    }

    #[test]
    fn prose_and_code_blocks_are_not_markers() {
        assert!(scan_notes("We decided to ship on Friday.\nThe decision: maybe.\n").is_empty());
        assert!(scan_notes("```\nDecision: not this\n```\n").is_empty());
        assert!(scan_notes("ai: lower case is a topic, not a marker\n").is_empty());
    }

    #[test]
    fn action_owners() {
        let cases = [
            ("- Action: update the runbook (Dana Reyes)", "Dana Reyes"),
            (
                "- Action item: update the runbook — Dana Reyes",
                "Dana Reyes",
            ),
            (
                "- Action: update the runbook, owner: Dana Reyes",
                "Dana Reyes",
            ),
            ("- TODO: **Dana**: update the runbook", "Dana"),
            ("- AI: Dana to update the runbook", "Dana"),
            ("- Action: @dana to update the runbook", "@dana"),
            ("- Action item for Dana: update the runbook", "Dana"),
        ];
        for (line, owner) in cases {
            let item = one(line);
            assert_eq!(item.kind, EntryKind::Action, "{line}");
            assert_eq!(item.status, Status::Open);
            assert_eq!(item.people, vec![owner.to_string()], "{line}");
            assert_eq!(item.title, "update the runbook", "{line}");
        }
        let item = one("- Action: Update: the wiki");
        assert!(item.people.is_empty(), "{item:?}");
    }

    #[test]
    fn due_dates() {
        let item = one("- Action: send the deck, due 2026-03-01");
        assert_eq!(item.due.as_deref(), Some("2026-03-01"));
        assert_eq!(item.title, "send the deck");
        let item = one("- Action: send the deck by 2026/03/01 (Tom)");
        assert_eq!(item.due.as_deref(), Some("2026-03-01"));
        assert_eq!(item.people, vec!["Tom"]);
        let item = one("- TODO: Priya: draft the playbook by June 20.");
        assert_eq!(item.due.as_deref(), Some("June 20"));
        assert_eq!(item.title, "draft the playbook");
        let item = one("- Action: review the draft by the legal team");
        assert_eq!(item.due, None);
        assert_eq!(item.title, "review the draft by the legal team");
    }

    #[test]
    fn sections_and_checkboxes() {
        let text = "# Notes\n\n## Decisions made\n\n- Use Rust\n- Use tantivy\n  for search\n\n## Next steps\n\n- Ana: benchmark it\n\n## Other\n\n- not an entry\n- [ ] open task\n- [x] done task\n";
        let items = scan_notes(text);
        let got: Vec<(EntryKind, Status, &str)> = items
            .iter()
            .map(|i| (i.kind, i.status, i.title.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (EntryKind::Decision, Status::Accepted, "Use Rust"),
                (
                    EntryKind::Decision,
                    Status::Accepted,
                    "Use tantivy for search"
                ),
                (EntryKind::Action, Status::Open, "benchmark it"),
                (EntryKind::Action, Status::Open, "open task"),
                (EntryKind::Action, Status::Done, "done task"),
            ]
        );
        assert_eq!(&text[items[1].range.clone()], "- Use tantivy\n  for search");
        assert_eq!(items[2].people, vec!["Ana"]);
    }

    #[test]
    fn bare_section_line() {
        let items = scan_notes("Decisions:\n- one\n- two\n\nThat was all.\n- three\n");
        let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(titles, vec!["one", "two"]);
    }

    #[test]
    fn status_words() {
        assert_eq!(status_of("Accepted"), Some(Status::Accepted));
        assert_eq!(status_of("approved"), Some(Status::Accepted));
        assert_eq!(status_of("Draft"), Some(Status::Proposed));
        assert_eq!(status_of("under review"), Some(Status::Proposed));
        assert_eq!(status_of("Declined"), Some(Status::Rejected));
        assert_eq!(status_of("obsolete"), Some(Status::Deprecated));
        assert_eq!(
            status_of("Accepted; Superceded by [ADR-3](0003-x.md)"),
            Some(Status::Superseded)
        );
        assert_eq!(status_of("Proposed; Accepted"), Some(Status::Accepted));
        assert_eq!(
            status_of("Accepted, amended by ADR-0012"),
            Some(Status::Accepted)
        );
        assert_eq!(
            status_of("Accepted; Supersedes [1. Rejected ideas](0001-x.md)"),
            Some(Status::Accepted)
        );
        assert_eq!(status_of("WIP"), None);
    }

    #[test]
    fn link_targets() {
        let refs: HashMap<String, String> =
            [("adr-7".to_string(), "docs/0007-x.md".to_string())].into();
        let links = keyword_links(
            "Accepted, amended by ADR-0012 and #13; supersedes [ADR-7], ADR 4 and [3. Use Y](./0003-use-y.md)",
            &refs,
        );
        let got: Vec<(Relation, &str)> = links
            .iter()
            .map(|l| (l.relation, l.target.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Relation::AmendedBy, "ADR-0012"),
                (Relation::AmendedBy, "#13"),
                (Relation::Supersedes, "0007-x.md"),
                (Relation::Supersedes, "ADR 4"),
                (Relation::Supersedes, "0003-use-y.md"),
            ]
        );
        assert!(keyword_links("Superseded by the new vendor policy", &refs).is_empty());
        assert_eq!(
            parse_targets("[ADR-8]", &HashMap::new()),
            vec!["ADR-8".to_string()]
        );
    }

    #[test]
    fn record_numbers_and_rationale_cap() {
        assert_eq!(
            numbered_title("ADR-0009: Raise the threshold"),
            Some((Some("ADR"), 9, "Raise the threshold"))
        );
        assert_eq!(
            numbered_title("1. Record decisions"),
            Some((None, 1, "Record decisions"))
        );
        assert_eq!(numbered_title("2025 budget freeze"), None);
        assert_eq!(numbered_title("Use 2 regions"), None);
        assert_eq!(stem_number("0009-raise-threshold"), Some(9));
        assert_eq!(stem_number("adr-012-x"), Some(12));
        assert_eq!(stem_number("readme"), None);
        let long = "word ".repeat(400);
        let capped = cap(long.trim());
        assert!(capped.ends_with("word…"), "{capped}");
        assert!(capped.chars().count() <= MAX_RATIONALE_CHARS + 1);
    }
}
