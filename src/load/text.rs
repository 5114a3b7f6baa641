//! Plain text (`.txt`): blocks are paragraphs separated by blank lines, all in one section, and
//! the text is verbatim (`excerpt` is the identity).
//!
//! Title: the first line when the file opens with a one-line paragraph of at most 100
//! characters that does not end like a sentence (`.`, `!`, `?`, `,`, `;`, `:`), which is how
//! exported notes usually start (`Q3 planning notes`); otherwise the file stem. The title line
//! stays part of the first block, so it is searchable.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::model::{Block, Document, Skipped, SourceFormat};

/// Loads a plain-text file as one document.
pub fn load(path: &Path, id: &str, source: &Arc<str>) -> (Vec<Document>, Vec<Skipped>) {
    let mut doc = super::new_document(id, path, SourceFormat::Text, source);
    let paras = paragraphs(source);
    if let Some(first) = paras.first() {
        let first = &source[first.clone()];
        let first = first.trim_start_matches('\u{feff}').trim();
        if !first.contains('\n')
            && first.chars().count() <= 100
            && !first.ends_with(['.', '!', '?', ',', ';', ':'])
        {
            doc.title = first.to_string();
        }
    }
    doc.blocks = paras
        .into_iter()
        .map(|byte_range| Block {
            byte_range,
            section: 0,
            heading_path: Vec::new(),
            speaker: None,
            start_ms: None,
            end_ms: None,
        })
        .collect();
    (vec![doc], Vec::new())
}

/// Byte ranges of the paragraphs of `text`: maximal runs of lines that are not blank, each
/// trimmed of surrounding whitespace (and a leading byte-order mark).
pub(crate) fn paragraphs(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut current: Option<Range<usize>> = None;
    for (range, line) in super::lines_with_ranges(text) {
        let blank = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if blank.is_empty() {
            if let Some(r) = current.take() {
                out.push(r);
            }
        } else {
            match &mut current {
                Some(r) => r.end = range.end,
                None => current = Some(range),
            }
        }
    }
    out.extend(current);
    out.into_iter()
        .filter_map(|r| {
            let s = &text[r.clone()];
            let lead = s.len()
                - s.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                    .len();
            let trail = s.len() - s.trim_end().len();
            let r = r.start + lead..r.end - trail;
            (r.start < r.end).then_some(r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(name: &str, text: &str) -> Document {
        let source: Arc<str> = Arc::from(text);
        let (mut docs, skipped) = load(Path::new(name), name, &source);
        assert!(skipped.is_empty());
        docs.remove(0)
    }

    #[test]
    fn paragraphs_split_on_blank_lines() {
        let text = "\u{feff}  One\nline two\n \t\nThree\r\n\r\n\r\n";
        let paras = paragraphs(text);
        let got: Vec<&str> = paras.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(got, vec!["One\nline two", "Three"]);
    }

    #[test]
    fn text_title_is_short_first_line_else_stem() {
        let doc = load_str("notes/q3.txt", "Q3 planning notes\n\nWe agreed to ship.\n");
        assert_eq!(doc.title, "Q3 planning notes");
        assert_eq!(doc.blocks.len(), 2);
        assert_eq!(doc.kind, "document");
        let doc = load_str("notes/q3.txt", "We agreed to ship.\n\nThen lunch.");
        assert_eq!(doc.title, "q3");
    }

    #[test]
    fn text_blocks_are_verbatim() {
        let text = "Title\n\nPara one\ncontinues.\n\nPara two.";
        let doc = load_str("a.txt", text);
        let got: Vec<&str> = doc
            .blocks
            .iter()
            .map(|b| &text[b.byte_range.clone()])
            .collect();
        assert_eq!(got, vec!["Title", "Para one\ncontinues.", "Para two."]);
        assert!(doc.blocks.iter().all(|b| b.section == 0));
    }
}
