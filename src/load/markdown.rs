//! Markdown (`.md`, `.markdown`) with optional YAML front matter.
//!
//! * Front matter (`---` … `---` or `...` at the start of the file) gives `title`, `date`,
//!   `authors` (or `author`; a list or a comma-separated string), `tags`, `kind` and `url`; every
//!   other key goes to [`Document::metadata`] as a string (lists joined with `, `, mappings as
//!   JSON). Front matter that does not parse skips the whole file, naming the line of the YAML
//!   error. Front matter is never part of a block.
//! * Title: front matter `title`, else the first `#` (level 1) heading, else the file stem.
//! * Structure comes from `pulldown-cmark`'s offset iterator: every heading starts a new section
//!   and pushes onto the heading path; blocks are the top-level block elements (paragraph, list,
//!   code block, table, block quote, HTML block). A heading is attached to the block that follows
//!   it (the block's range then starts at the heading line), so heading text always ends up in
//!   the first chunk of its section; a heading directly followed by a deeper heading is carried
//!   along to that one's first block, and a heading followed by nothing (or by a heading of the
//!   same or a higher level) is a block of its own.
//! * Verbatim: block byte ranges are exact source slices and `excerpt` is the identity.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use pulldown_cmark::{Event, Options, Parser, Tag};
use yaml_serde::Value;

use super::{normalize_key, skip, split_list};
use crate::date::normalize_date;
use crate::model::{Block, Document, Skipped, SourceFormat};

/// Loads a Markdown file as one document.
pub fn load(path: &Path, id: &str, source: &Arc<str>) -> (Vec<Document>, Vec<Skipped>) {
    let (meta, body_start) = match front_matter(source) {
        Ok(x) => x,
        Err((line, reason)) => return (Vec::new(), vec![skip(path, Some(line), reason)]),
    };
    let structure = structure(source, body_start);
    let mut doc = super::new_document(id, path, SourceFormat::Markdown, source);
    if let Some(h1) = structure.first_h1 {
        doc.title = h1;
    }
    meta.apply(&mut doc);
    doc.blocks = structure.blocks;
    (vec![doc], Vec::new())
}

/// Metadata from front matter (or another header), before it is applied to a [`Document`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    /// `title`.
    pub title: Option<String>,
    /// `date`, normalised.
    pub date: Option<String>,
    /// `authors` / `author`.
    pub authors: Vec<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `kind`.
    pub kind: Option<String>,
    /// `url`.
    pub url: Option<String>,
    /// Everything else.
    pub metadata: BTreeMap<String, String>,
}

impl Meta {
    /// Sets what this metadata knows on `doc`, overriding what is there.
    pub fn apply(self, doc: &mut Document) {
        if let Some(t) = self.title.filter(|t| !t.trim().is_empty()) {
            doc.title = t.trim().to_string();
        }
        if self.date.is_some() {
            doc.date = self.date;
        }
        if !self.authors.is_empty() {
            doc.authors = self.authors;
        }
        if !self.tags.is_empty() {
            doc.tags = self.tags;
        }
        if let Some(k) = self.kind.filter(|k| !k.trim().is_empty()) {
            doc.kind = k.trim().to_string();
        }
        if self.url.is_some() {
            doc.url = self.url;
        }
        doc.metadata.extend(self.metadata);
    }

    /// Records one `key: value` pair, routing the well-known keys to their fields.
    pub fn set(&mut self, key: &str, value: String, list: Vec<String>) {
        match key {
            "title" => self.title = Some(value),
            "date" => self.date = Some(normalize_date(&value)),
            "authors" | "author" => self.authors = list,
            "tags" => self.tags = list,
            "kind" => self.kind = Some(value),
            "url" => self.url = Some(value),
            _ => {
                self.metadata.insert(key.to_string(), value);
            }
        }
    }
}

/// Finds and parses front matter. Returns the metadata and the byte offset where the body
/// starts (after the front matter, or after a byte-order mark), or `(line, reason)` when the
/// front matter is unterminated or not valid YAML.
pub(crate) fn front_matter(source: &str) -> Result<(Meta, usize), (usize, String)> {
    let bom = if source.starts_with('\u{feff}') { 3 } else { 0 };
    let mut lines = super::lines_with_ranges(source);
    let Some((first, first_line)) = lines.next() else {
        return Ok((Meta::default(), bom));
    };
    if first_line.trim_start_matches('\u{feff}').trim_end() != "---" {
        return Ok((Meta::default(), bom));
    }
    let yaml_start = (first.end + 1).min(source.len());
    let yaml_start = if source[first.end..].starts_with("\r\n") {
        first.end + 2
    } else {
        yaml_start
    };
    let mut close = None;
    for (range, line) in lines {
        let l = line.trim_end();
        if l == "---" || l == "..." {
            close = Some(range);
            break;
        }
    }
    let Some(close) = close else {
        return Err((
            1,
            "front matter opened with `---` is never closed".to_string(),
        ));
    };
    let body_start = if source[close.end..].starts_with("\r\n") {
        close.end + 2
    } else {
        (close.end + 1).min(source.len())
    };
    let yaml = &source[yaml_start..close.start];
    let meta = parse_yaml(yaml).map_err(|(line, reason)| (line + 1, reason))?;
    Ok((meta, body_start))
}

/// Parses YAML front matter (a mapping, or nothing). Errors carry the 1-based line within
/// `yaml`.
fn parse_yaml(yaml: &str) -> Result<Meta, (usize, String)> {
    let value: Value = yaml_serde::from_str(yaml).map_err(|e| {
        let line = e.location().map_or(1, |l| l.line());
        (
            line,
            format!(
                "invalid YAML front matter: {}",
                without_positions(&e.to_string())
            ),
        )
    })?;
    let mut meta = Meta::default();
    let map = match value {
        Value::Null => return Ok(meta),
        Value::Mapping(m) => m,
        _ => return Err((1, "front matter is not a mapping of keys to values".into())),
    };
    for (key, value) in &map {
        let Some(key) = yaml_string(key) else {
            continue;
        };
        let key = normalize_key(&key);
        let Some(rendered) = yaml_string(value) else {
            continue;
        };
        if key.is_empty() || rendered.trim().is_empty() {
            continue;
        }
        let list = yaml_list(value);
        meta.set(&key, rendered, list);
    }
    Ok(meta)
}

/// Removes the ` at line N column M` positions (relative to the YAML, not the file) from a
/// YAML error message.
fn without_positions(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + " at line ".len()..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let tail = &tail[digits..];
        rest = match tail.strip_prefix(" column ") {
            Some(t) => &t[t.bytes().take_while(u8::is_ascii_digit).count()..],
            None => tail,
        };
    }
    out.push_str(rest);
    out
}

/// Renders a YAML value as a string: scalars as written, sequences joined with `, `, mappings
/// as JSON; `None` for null.
fn yaml_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Sequence(items) => Some(
            items
                .iter()
                .filter_map(yaml_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Value::Mapping(_) => serde_json::to_string(v)
            .ok()
            .or_else(|| yaml_serde::to_string(v).ok().map(|s| s.trim().to_string())),
        Value::Tagged(t) => yaml_string(&t.value),
    }
}

/// A YAML value as a list of strings: a sequence's items, or a comma-separated string.
fn yaml_list(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(items) => items
            .iter()
            .filter_map(yaml_string)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Value::Tagged(t) => yaml_list(&t.value),
        other => yaml_string(other)
            .map(|s| split_list(&s))
            .unwrap_or_default(),
    }
}

/// The block structure of a Markdown body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Structure {
    /// Blocks with source byte ranges.
    pub blocks: Vec<Block>,
    /// Text of the first level-1 heading.
    pub first_h1: Option<String>,
}

/// A heading waiting for the block it will be attached to.
struct Pending {
    range: Range<usize>,
    level: usize,
    section: usize,
    path: Vec<String>,
}

fn block(range: Range<usize>, section: usize, heading_path: Vec<String>) -> Block {
    Block {
        byte_range: range,
        section,
        heading_path,
        speaker: None,
        start_ms: None,
        end_ms: None,
    }
}

/// Splits the Markdown in `source[body_start..]` into blocks (ranges into `source`).
pub(crate) fn structure(source: &str, body_start: usize) -> Structure {
    let body = &source[body_start..];
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS;
    let mut out = Structure::default();
    let mut depth = 0usize;
    let mut top: Option<(Range<usize>, Option<usize>)> = None;
    let mut heading_text = String::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut section = 0usize;
    let mut pending: Option<Pending> = None;

    for (event, range) in Parser::new_ext(body, opts).into_offset_iter() {
        let in_heading = top.as_ref().is_some_and(|t| t.1.is_some());
        match event {
            Event::Start(tag) => {
                if depth == 0 {
                    let level = match &tag {
                        Tag::Heading { level, .. } => Some(*level as usize),
                        _ => None,
                    };
                    top = Some((range, level));
                    heading_text.clear();
                }
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth > 0 {
                    continue;
                }
                let Some((range, level)) = top.take() else {
                    continue;
                };
                let Some(range) = trimmed(body, range) else {
                    continue;
                };
                let range = range.start + body_start..range.end + body_start;
                match level {
                    Some(level) => {
                        let text = heading_text
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ");
                        if level == 1 && out.first_h1.is_none() && !text.is_empty() {
                            out.first_h1 = Some(text.clone());
                        }
                        while stack.last().is_some_and(|(l, _)| *l >= level) {
                            stack.pop();
                        }
                        stack.push((level, text));
                        section += 1;
                        let path: Vec<String> = stack.iter().map(|(_, t)| t.clone()).collect();
                        pending = match pending.take() {
                            Some(p) if level > p.level => Some(Pending {
                                range: p.range.start..range.end,
                                level,
                                section,
                                path,
                            }),
                            Some(p) => {
                                out.blocks.push(block(p.range, p.section, p.path));
                                Some(Pending {
                                    range,
                                    level,
                                    section,
                                    path,
                                })
                            }
                            None => Some(Pending {
                                range,
                                level,
                                section,
                                path,
                            }),
                        };
                    }
                    None => match pending.take() {
                        Some(p) => {
                            out.blocks
                                .push(block(p.range.start..range.end, p.section, p.path));
                        }
                        None => {
                            let path = stack.iter().map(|(_, t)| t.clone()).collect();
                            out.blocks.push(block(range, section, path));
                        }
                    },
                }
            }
            Event::Text(t) | Event::Code(t) if in_heading => heading_text.push_str(&t),
            Event::SoftBreak | Event::HardBreak if in_heading => heading_text.push(' '),
            _ => {}
        }
    }
    if let Some(p) = pending {
        out.blocks.push(block(p.range, p.section, p.path));
    }
    out
}

/// `range` of `text` without surrounding whitespace; `None` if nothing is left.
fn trimmed(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let s = text.get(range.clone())?;
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    let r = range.start + lead..range.end - trail;
    (r.start < r.end).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> (Vec<Document>, Vec<Skipped>) {
        let source: Arc<str> = Arc::from(text);
        load(Path::new("wiki/sync.md"), "corpus/wiki/sync.md", &source)
    }

    const NOTES: &str = "---
title: Legal & Finance sync
date: 2024-03-05T10:00:00Z
authors: [Dana Reyes, Omar Haddad]
tags: finance, legal
kind: meeting-notes
meeting_id: LF-12
attendees:
  - Dana
  - Omar
empty:
---
# Legal & Finance sync

Intro paragraph.

## Discussion

### Contract approvals

Contracts over **$50K** go to outside counsel.

- item one
- item two

## Action items

```sh
make release
```
";

    #[test]
    fn front_matter_keys_and_metadata() {
        let (docs, skipped) = load_str(NOTES);
        assert!(skipped.is_empty(), "{skipped:?}");
        let d = &docs[0];
        assert_eq!(d.title, "Legal & Finance sync");
        assert_eq!(d.date.as_deref(), Some("2024-03-05"));
        assert_eq!(d.authors, vec!["Dana Reyes", "Omar Haddad"]);
        assert_eq!(d.tags, vec!["finance", "legal"]);
        assert_eq!(d.kind, "meeting-notes");
        assert_eq!(d.format, SourceFormat::Markdown);
        assert_eq!(
            d.metadata.get("meeting_id").map(String::as_str),
            Some("LF-12")
        );
        assert_eq!(
            d.metadata.get("attendees").map(String::as_str),
            Some("Dana, Omar")
        );
        assert!(!d.metadata.contains_key("empty"));
        assert!(!d.metadata.contains_key("title"));
    }

    #[test]
    fn heading_paths_and_verbatim_blocks() {
        let (docs, _) = load_str(NOTES);
        let d = &docs[0];
        let texts: Vec<&str> = d
            .blocks
            .iter()
            .map(|b| &NOTES[b.byte_range.clone()])
            .collect();
        assert_eq!(texts[0], "# Legal & Finance sync\n\nIntro paragraph.");
        assert_eq!(
            texts[1],
            "## Discussion\n\n### Contract approvals\n\nContracts over **$50K** go to outside counsel."
        );
        assert_eq!(texts[2], "- item one\n- item two");
        assert_eq!(texts[3], "## Action items\n\n```sh\nmake release\n```");
        assert_eq!(d.blocks[0].heading_path, vec!["Legal & Finance sync"]);
        assert_eq!(
            d.blocks[1].heading_path,
            vec!["Legal & Finance sync", "Discussion", "Contract approvals"]
        );
        assert_eq!(d.blocks[1].section, d.blocks[2].section);
        assert_ne!(d.blocks[0].section, d.blocks[1].section);
        assert_eq!(
            d.blocks[3].heading_path,
            vec!["Legal & Finance sync", "Action items"]
        );
        assert!(d
            .blocks
            .iter()
            .all(|b| !NOTES[b.byte_range.clone()].contains("meeting_id")));
    }

    #[test]
    fn bad_yaml_is_skipped_with_its_line() {
        let text = "---\ntitle: ok\ndate: [unclosed\nkind: x\n---\n# Body\n";
        let (docs, skipped) = load_str(text);
        assert!(docs.is_empty());
        assert_eq!(skipped.len(), 1);
        let line = skipped[0].line.unwrap();
        assert!((3..=5).contains(&line), "line {line}");
        assert!(
            skipped[0].reason.starts_with("invalid YAML front matter"),
            "{}",
            skipped[0].reason
        );
        assert!(!skipped[0].reason.contains(" at line "));
    }

    #[test]
    fn unterminated_front_matter_is_skipped() {
        let (docs, skipped) = load_str("---\ntitle: x\n\nBody text\n");
        assert!(docs.is_empty());
        assert_eq!(skipped[0].line, Some(1));
        assert!(skipped[0].reason.contains("never closed"));
    }

    #[test]
    fn title_falls_back_to_first_h1_then_stem() {
        let (docs, _) = load_str("Some text.\n\n## Sub\n\n# Real title\n\nMore.");
        assert_eq!(docs[0].title, "Real title");
        let (docs, _) = load_str("Some text.\n");
        assert_eq!(docs[0].title, "sync");
        assert_eq!(docs[0].blocks[0].heading_path, Vec::<String>::new());
    }

    #[test]
    fn sibling_empty_heading_is_its_own_block() {
        let text = "## A\n## B\n\nText b.\n\n## C";
        let (docs, _) = load_str(text);
        let texts: Vec<&str> = docs[0]
            .blocks
            .iter()
            .map(|b| &text[b.byte_range.clone()])
            .collect();
        assert_eq!(texts, vec!["## A", "## B\n\nText b.", "## C"]);
    }

    #[test]
    fn crlf_and_bom_front_matter() {
        let text = "\u{feff}---\r\ntitle: T\r\n---\r\nBody.\r\n";
        let (docs, skipped) = load_str(text);
        assert!(skipped.is_empty());
        assert_eq!(docs[0].title, "T");
        assert_eq!(&text[docs[0].blocks[0].byte_range.clone()], "Body.");
    }

    #[test]
    fn only_front_matter_has_no_blocks() {
        let (docs, _) = load_str("---\ntitle: T\n---\n");
        assert!(docs[0].blocks.is_empty());
    }
}
