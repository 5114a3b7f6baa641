//! Architecture decision records (ADRs): Markdown files shaped like
//!
//! ```text
//! # ADR-0004: Route contracts over $50K to outside counsel
//!
//! - Status: Superseded by ADR-0009
//! - Date: 2024-03-05
//! - Deciders: Dana Reyes, Omar Haddad
//!
//! ## Context
//! …
//! ## Decision
//! …
//! ```
//!
//! Detection ([`looks_like_adr`]): the first line is a `# ` title, the lines before the first
//! `##` heading include a `Status:` line (also `- Status:`, `* Status:`, `**Status**:`), or the
//! record has a `## Status` section (Nygard style), or its front matter has a `status:` (MADR 3
//! and 4), and there is a `## Decision…` heading.
//!
//! The `Key: Value` lines before the first `##` become metadata under normalised keys
//! (`status`, `date`, `deciders`, `supersedes`, `superseded_by`, …); `date` is also the
//! document date and `deciders` (split on commas; also from front matter) its authors;
//! `Status: Superseded by ADR-0009` (or `Superceded by`, `Replaced by`) also sets
//! `superseded_by = ADR-0009`. The kind is `decision`; the title is the `# ` line.
//! Front matter, if any, is applied on top. Blocks and heading paths are those of
//! [Markdown](super::markdown) (the title line and status lines form the first block, so the
//! status is searchable), and the text is verbatim.

use std::path::Path;
use std::sync::Arc;

use super::markdown::{front_matter, structure};
use super::{normalize_key, skip, split_list};
use crate::date::normalize_date;
use crate::model::{Document, Skipped, SourceFormat};

/// Loads a decision record as one document.
pub fn load(path: &Path, id: &str, source: &Arc<str>) -> (Vec<Document>, Vec<Skipped>) {
    let (meta, body_start) = match front_matter(source) {
        Ok(x) => x,
        Err((line, reason)) => return (Vec::new(), vec![skip(path, Some(line), reason)]),
    };
    let body = &source[body_start..];
    let mut doc = super::new_document(id, path, SourceFormat::Decision, source);
    let header = parse_header(body);
    if let Some(title) = header.title {
        doc.title = title;
    }
    if let Some(date) = header.fields.get("date") {
        doc.date = Some(normalize_date(date));
    }
    if let Some(deciders) = header.fields.get("deciders") {
        doc.authors = split_list(deciders);
    }
    doc.metadata.extend(header.fields);
    meta.apply(&mut doc);
    if doc.authors.is_empty() {
        if let Some(deciders) = doc.metadata.get("deciders") {
            doc.authors = split_list(deciders);
        }
    }
    doc.blocks = structure(source, body_start).blocks;
    (vec![doc], Vec::new())
}

/// True when a Markdown text (front matter allowed) looks like a decision record: see the
/// module documentation. A front matter `kind` other than `decision`/`adr` says it is not.
pub fn looks_like_adr(text: &str) -> bool {
    let (meta, body_start) = match front_matter(text) {
        Ok(x) => x,
        Err(_) => return false,
    };
    if let Some(kind) = &meta.kind {
        if !matches!(kind.trim().to_lowercase().as_str(), "decision" | "adr") {
            return false;
        }
    }
    let header = parse_header(&text[body_start..]);
    let has_status = header.fields.contains_key("status") || meta.metadata.contains_key("status");
    header.title.is_some() && has_status && header.has_decision_section
}

/// What the header of a decision record says.
#[derive(Debug, Default)]
struct Header {
    title: Option<String>,
    fields: std::collections::BTreeMap<String, String>,
    has_decision_section: bool,
}

/// Reads the title line, the `Key: Value` lines before the first `##` heading, a `## Status`
/// section's first line (when there is no `Status:` line) and whether a `## Decision` heading
/// exists.
fn parse_header(body: &str) -> Header {
    let mut header = Header::default();
    let mut lines = body
        .lines()
        .map(|l| l.trim_end())
        .skip_while(|l| l.trim().is_empty());
    let Some(first) = lines.next() else {
        return header;
    };
    let first = first.trim_start_matches('\u{feff}');
    let Some(title) = first.strip_prefix("# ") else {
        return header;
    };
    let title = title.trim().trim_end_matches('#').trim();
    if title.is_empty() {
        return header;
    }
    header.title = Some(title.to_string());
    let mut before_sections = true;
    let mut in_status_section = false;
    let mut status_section: Option<String> = None;
    let mut in_fence = false;
    for line in lines {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(h) = t.strip_prefix("## ") {
            before_sections = false;
            let h = h.trim().trim_end_matches('#').trim().to_lowercase();
            if h.starts_with("decision") {
                header.has_decision_section = true;
            }
            in_status_section = h == "status";
            continue;
        }
        if t.starts_with('#') {
            in_status_section = false;
            continue;
        }
        if before_sections {
            if let Some((key, value)) = key_value(t) {
                header.fields.entry(key).or_insert(value);
            }
        } else if in_status_section && status_section.is_none() && !t.is_empty() {
            status_section = Some(t.trim_start_matches(['-', '*', ' ']).trim().to_string());
        }
    }
    if !header.fields.contains_key("status") {
        if let Some(status) = status_section.filter(|s| !s.is_empty()) {
            header.fields.insert("status".into(), status);
        }
    }
    if !header.fields.contains_key("superseded_by") {
        if let Some(by) = header.fields.get("status").and_then(|s| superseded_by(s)) {
            header.fields.insert("superseded_by".into(), by);
        }
    }
    header
}

/// Parses a header line `Key: Value` (optionally `- `/`* ` bulleted and with `**` bold around
/// the key). Keys are one to three words; they come back normalised (`superseded_by`).
fn key_value(line: &str) -> Option<(String, String)> {
    let line = line
        .strip_prefix("- ")
        .or_else(|| line.strip_prefix("* "))
        .unwrap_or(line)
        .trim();
    let (key, value) = line.split_once(':')?;
    let key = key.replace("**", "").replace("__", "");
    let key = key.trim();
    let words: Vec<&str> = key.split_whitespace().collect();
    if words.is_empty()
        || words.len() > 3
        || !key
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '_')
    {
        return None;
    }
    let value = value
        .trim()
        .trim_start_matches("**")
        .trim_start_matches("__")
        .trim();
    if value.is_empty() {
        return None;
    }
    Some((normalize_key(key), value.to_string()))
}

/// `Superseded by ADR-0009` (also `superseded by [ADR-0009](0009-x.md)`, the misspelt
/// `Superceded by`, and `Replaced by`) → `ADR-0009`.
fn superseded_by(status: &str) -> Option<String> {
    let lower = status.to_ascii_lowercase();
    let (at, len) = ["superseded by", "superceded by", "replaced by"]
        .iter()
        .filter_map(|k| lower.find(k).map(|at| (at, k.len())))
        .min()?;
    let rest = status[at + len..].trim_start();
    let rest = rest.trim_start_matches(['[', '(', '`', '*', '"']);
    let is_id = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '#');
    let mut id: String = rest.chars().take_while(|&c| is_id(c)).collect();
    // `ADR 7`: a prefix word, a space, a number.
    let after = &rest[id.len()..];
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphabetic()) {
        if let Some(num) = after.strip_prefix(' ') {
            let digits: String = num.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                id = format!("{id} {digits}");
            }
        }
    }
    let id = id.trim_end_matches('.');
    (!id.is_empty()).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADR: &str = "# ADR-0004: Route contracts over $50K to outside counsel

- Status: Superseded by ADR-0009
- Date: 2024-03-05
- Deciders: Dana Reyes, Omar Haddad
- Supersedes: ADR-0002

## Context

Legal review was slow.

## Decision

Contracts over $50K go to outside counsel.

## Consequences

Costs rise.
";

    fn load_str(text: &str) -> Document {
        let source: Arc<str> = Arc::from(text);
        let (mut docs, skipped) = load(Path::new("adr/0004.md"), "corpus/adr/0004.md", &source);
        assert!(skipped.is_empty(), "{skipped:?}");
        docs.remove(0)
    }

    #[test]
    fn adr_metadata() {
        let d = load_str(ADR);
        assert_eq!(
            d.title,
            "ADR-0004: Route contracts over $50K to outside counsel"
        );
        assert_eq!(d.kind, "decision");
        assert_eq!(d.format, SourceFormat::Decision);
        assert_eq!(d.date.as_deref(), Some("2024-03-05"));
        assert_eq!(d.authors, vec!["Dana Reyes", "Omar Haddad"]);
        let m = |k: &str| d.metadata.get(k).map(String::as_str);
        assert_eq!(m("status"), Some("Superseded by ADR-0009"));
        assert_eq!(m("superseded_by"), Some("ADR-0009"));
        assert_eq!(m("supersedes"), Some("ADR-0002"));
        assert_eq!(m("deciders"), Some("Dana Reyes, Omar Haddad"));
    }

    #[test]
    fn adr_blocks_and_heading_paths() {
        let d = load_str(ADR);
        let first = &ADR[d.blocks[0].byte_range.clone()];
        assert!(first.starts_with("# ADR-0004") && first.contains("Status: Superseded"));
        let decision = d
            .blocks
            .iter()
            .find(|b| b.heading_path.last().map(String::as_str) == Some("Decision"))
            .unwrap();
        assert_eq!(
            &ADR[decision.byte_range.clone()],
            "## Decision\n\nContracts over $50K go to outside counsel."
        );
        assert_eq!(decision.heading_path[0], d.title);
    }

    #[test]
    fn adr_detection_variants() {
        assert!(looks_like_adr(ADR));
        assert!(looks_like_adr(
            "# T\n**Status**: Accepted\n\n## Decision Outcome\n\nX"
        ));
        assert!(looks_like_adr("# T\n* Status: proposed\n## Decision\nX"));
        assert!(looks_like_adr(
            "# 1. Record decisions\n\nDate: 2018-01-01\n\n## Status\n\nAccepted\n\n## Decision\n\nX"
        ));
        assert!(!looks_like_adr("# T\n\nStatus: ok\n\n## Notes\n"));
        assert!(!looks_like_adr("# T\n\n## Decision\n\nStatus: x\n"));
        assert!(!looks_like_adr("Intro\n# T\nStatus: x\n## Decision\n"));
        assert!(!looks_like_adr(
            "---\nkind: meeting-notes\n---\n# T\nStatus: x\n## Decision\n"
        ));
        assert!(looks_like_adr(
            "---\nkind: decision\n---\n# T\nStatus: x\n## Decision\n"
        ));
    }

    #[test]
    fn nygard_status_section() {
        let d = load_str("# 1. Record decisions\n\nDate: 2018-01-01\n\n## Status\n\nAccepted\n\n## Decision\n\nX");
        assert_eq!(
            d.metadata.get("status").map(String::as_str),
            Some("Accepted")
        );
        assert_eq!(d.date.as_deref(), Some("2018-01-01"));
    }

    #[test]
    fn superseded_by_forms() {
        assert_eq!(
            superseded_by("Superseded by ADR-0009").as_deref(),
            Some("ADR-0009")
        );
        assert_eq!(
            superseded_by("superseded by [ADR-0012](0012-x.md)").as_deref(),
            Some("ADR-0012")
        );
        assert_eq!(
            superseded_by("Superceded by ADR-0003").as_deref(),
            Some("ADR-0003")
        );
        assert_eq!(
            superseded_by("Deprecated. Replaced by ADR 7").as_deref(),
            Some("ADR 7")
        );
        assert_eq!(superseded_by("Accepted"), None);
    }

    #[test]
    fn madr_front_matter_status_is_a_record() {
        let text = "---\nstatus: \"superseded by ADR-0007\"\ndate: 2024-05-02\ndeciders: [Ana Lima, Bo Chen]\n---\n# Use Kafka\n\n## Context and Problem Statement\n\nX\n\n## Decision Outcome\n\nY\n";
        assert!(looks_like_adr(text));
        assert!(!looks_like_adr(
            "---\ndate: 2024-05-02\n---\n# Use Kafka\n\n## Decision Outcome\n\nY\n"
        ));
        let d = load_str(text);
        assert_eq!(d.title, "Use Kafka");
        assert_eq!(d.date.as_deref(), Some("2024-05-02"));
        assert_eq!(d.authors, vec!["Ana Lima", "Bo Chen"]);
        assert_eq!(
            d.metadata.get("status").map(String::as_str),
            Some("superseded by ADR-0007")
        );
    }
}
