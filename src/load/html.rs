//! HTML (`.html`, `.htm`): the text of the page with its headings.
//!
//! A small hand-written scanner splits the source into a flat stream of text, tags, comments and
//! the raw content of `<script>`, `<style>`, `<title>`, `<template>`, `<noscript>` and
//! `<textarea>`, each with its byte range. It never fails, cuts only at ASCII bytes (so every
//! range is at character boundaries), and gives the same tokens when re-run on any raw fragment
//! of the page, which is what [`excerpt`] and the chunker's cut points rely on. (A DOM parser
//! such as `tl` adds nothing here and its error recovery could make a fragment read differently
//! from the whole page.)
//!
//! * Paragraph-level tags (`p`, `li`, `td`, `th`, `pre`, `blockquote`, `h1`–`h6`, `div`, `tr`,
//!   `section`, …, see [`is_block_tag`]) separate blocks; inline tags (`b`, `a`, `span`, …) do
//!   not. A block is the run of text between two such tags; its byte range starts at the
//!   opening tag before the text and, when the tag after the text closes that element, ends
//!   after it, so it covers the raw element (`<p>Fish &amp; <b>chips</b></p>`).
//! * A block opened by `<h1>`–`<h6>` is a heading: it starts a new section and sets the heading
//!   path; the heading is a block of its section.
//! * Title: `<title>`, else the first `<h1>`, else the file stem.
//! * [`excerpt`]: tags stripped, entities decoded, whitespace collapsed to single spaces; each
//!   paragraph-level element becomes one line, lines joined by `"\n"`. `<br>` is a space.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::{CUT_CHAR, CUT_NONE, CUT_SENTENCE};
use crate::model::{Block, Document, Skipped, SourceFormat};

/// Loads an HTML file as one document.
pub fn load(path: &Path, id: &str, source: &Arc<str>) -> (Vec<Document>, Vec<Skipped>) {
    let mut doc = super::new_document(id, path, SourceFormat::Html, source);
    let tokens = tokenize(source);
    let mut title: Option<String> = None;
    let mut first_h1: Option<String> = None;
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut section = 0usize;
    let mut last_boundary: Option<&Token> = None;
    let mut run: Option<Range<usize>> = None;
    let mut prev: Option<&Token> = None;

    let mut finish = |run: Option<Range<usize>>,
                      opened_by: Option<&Token>,
                      closed_by: Option<&Token>,
                      blocks: &mut Vec<Block>| {
        let Some(run) = run else {
            return;
        };
        let start = match opened_by {
            Some(t) if t.kind == Kind::Start => t.range.start,
            _ => run.start,
        };
        let end = match (opened_by, closed_by) {
            (Some(o), Some(c))
                if o.kind == Kind::Start
                    && c.kind == Kind::End
                    && o.name.eq_ignore_ascii_case(c.name) =>
            {
                c.range.end
            }
            _ => run.end,
        };
        let text = excerpt(&source[start..end]);
        if text.trim().is_empty() {
            return;
        }
        let level = opened_by
            .filter(|t| t.kind == Kind::Start)
            .and_then(|t| heading_level(t.name));
        if let Some(level) = level {
            if level == 1 && first_h1.is_none() {
                first_h1 = Some(text.clone());
            }
            while stack.last().is_some_and(|(l, _)| *l >= level) {
                stack.pop();
            }
            stack.push((level, text));
            section += 1;
        }
        blocks.push(Block {
            byte_range: start..end,
            section,
            heading_path: stack.iter().map(|(_, t)| t.clone()).collect(),
            speaker: None,
            start_ms: None,
            end_ms: None,
        });
    };

    let mut blocks = Vec::new();
    for tok in &tokens {
        match tok.kind {
            Kind::Raw => {
                if title.is_none()
                    && prev.is_some_and(|p| {
                        p.kind == Kind::Start && p.name.eq_ignore_ascii_case("title")
                    })
                {
                    let mut line = String::new();
                    push_collapsed(
                        &mut line,
                        &mut false,
                        &decode_entities(&source[tok.range.clone()]),
                    );
                    if !line.is_empty() {
                        title = Some(line);
                    }
                }
            }
            Kind::Text => {
                let text = &source[tok.range.clone()];
                if !decode_entities(text).trim().is_empty() {
                    match &mut run {
                        Some(r) => r.end = tok.range.end,
                        None => run = Some(tok.range.clone()),
                    }
                }
            }
            Kind::Start | Kind::End if is_block_tag(tok.name) => {
                finish(run.take(), last_boundary, Some(tok), &mut blocks);
                last_boundary = Some(tok);
            }
            Kind::Start | Kind::End => {
                if let Some(r) = &mut run {
                    r.end = tok.range.end;
                }
            }
            Kind::Other => {}
        }
        prev = Some(tok);
    }
    finish(run.take(), last_boundary, None, &mut blocks);
    if let Some(t) = title.or(first_h1) {
        doc.title = t;
    }
    doc.blocks = blocks;
    (vec![doc], Vec::new())
}

/// The text of a raw HTML fragment: see the module documentation.
pub fn excerpt(raw: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut space = false;
    for tok in tokenize(raw) {
        match tok.kind {
            Kind::Text => push_collapsed(
                &mut line,
                &mut space,
                &decode_entities(&raw[tok.range.clone()]),
            ),
            Kind::Start | Kind::End if is_block_tag(tok.name) => {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                space = false;
            }
            Kind::Start | Kind::End if tok.name.eq_ignore_ascii_case("br") => space = true,
            _ => {}
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.join("\n")
}

/// Cut strengths of a raw HTML fragment (see `load::cut_strengths`): never inside a tag, a
/// comment, script/style content or an entity; best at paragraph-level tags.
pub(crate) fn cut_strengths(raw: &str) -> Vec<u8> {
    let mut mask = vec![CUT_NONE; raw.len() + 1];
    for tok in tokenize(raw) {
        match tok.kind {
            Kind::Text => {
                super::mark_text(raw, tok.range.clone(), &mut mask);
                let text = &raw[tok.range.clone()];
                for (i, _) in text.match_indices('&') {
                    if let Some(len) = entity_len(&text[i..]) {
                        let a = tok.range.start + i;
                        for m in &mut mask[a + 1..a + len] {
                            *m = CUT_NONE;
                        }
                    }
                }
            }
            Kind::Start | Kind::End => {
                let s = if is_block_tag(tok.name) {
                    CUT_SENTENCE
                } else {
                    CUT_CHAR
                };
                mask[tok.range.start] = mask[tok.range.start].max(s);
                mask[tok.range.end] = mask[tok.range.end].max(s);
            }
            Kind::Other | Kind::Raw => {
                mask[tok.range.start] = mask[tok.range.start].max(CUT_CHAR);
                mask[tok.range.end] = mask[tok.range.end].max(CUT_CHAR);
            }
        }
    }
    mask
}

/// True for tags that separate paragraph-level blocks of text.
pub fn is_block_tag(name: &str) -> bool {
    const BLOCK: &[&str] = &[
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hgroup",
        "hr",
        "html",
        "legend",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "option",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ];
    name.len() <= 10 && BLOCK.iter().any(|b| b.eq_ignore_ascii_case(name))
}

/// 1–6 for `h1`–`h6`.
fn heading_level(name: &str) -> Option<usize> {
    let b = name.as_bytes();
    (b.len() == 2 && (b[0] == b'h' || b[0] == b'H') && (b'1'..=b'6').contains(&b[1]))
        .then(|| usize::from(b[1] - b'0'))
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Character data.
    Text,
    /// `<name …>`.
    Start,
    /// `</name …>`.
    End,
    /// Comment, doctype, processing instruction, bogus markup.
    Other,
    /// The content of a raw-text element (`script`, `style`, `title`, …).
    Raw,
}

/// A piece of HTML source.
#[derive(Debug, Clone)]
struct Token<'a> {
    kind: Kind,
    range: Range<usize>,
    /// Tag name (as written) for `Start`/`End`, else empty.
    name: &'a str,
}

/// Elements whose content is not markup (or not text worth indexing).
const RAW_TEXT: &[&str] = &[
    "script", "style", "title", "template", "noscript", "textarea",
];

/// Splits HTML into tokens covering the whole input, in order.
fn tokenize(raw: &str) -> Vec<Token<'_>> {
    let b = raw.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut i = 0;
    let mut text_start: Option<usize> = None;
    let flush = |out: &mut Vec<Token<'_>>, text_start: &mut Option<usize>, at: usize| {
        if let Some(s) = text_start.take() {
            if s < at {
                out.push(Token {
                    kind: Kind::Text,
                    range: s..at,
                    name: "",
                });
            }
        }
    };
    while i < n {
        if b[i] != b'<' || i + 1 >= n {
            text_start.get_or_insert(i);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        if raw[i..].starts_with("<!--") {
            flush(&mut out, &mut text_start, i);
            let end = raw[i + 4..].find("-->").map_or(n, |j| i + 4 + j + 3);
            out.push(Token {
                kind: Kind::Other,
                range: i..end,
                name: "",
            });
            i = end;
        } else if c == b'!'
            || c == b'?'
            || (c == b'/' && !b.get(i + 2).is_some_and(u8::is_ascii_alphabetic))
        {
            flush(&mut out, &mut text_start, i);
            let end = raw[i..].find('>').map_or(n, |j| i + j + 1);
            out.push(Token {
                kind: Kind::Other,
                range: i..end,
                name: "",
            });
            i = end;
        } else if c == b'/' || c.is_ascii_alphabetic() {
            flush(&mut out, &mut text_start, i);
            let is_end = c == b'/';
            let name_start = if is_end { i + 2 } else { i + 1 };
            let mut j = name_start;
            while j < n && (b[j].is_ascii_alphanumeric() || b[j] == b'-' || b[j] == b':') {
                j += 1;
            }
            let name = &raw[name_start..j];
            let end = tag_end(b, j);
            out.push(Token {
                kind: if is_end { Kind::End } else { Kind::Start },
                range: i..end,
                name,
            });
            i = end;
            let self_closing = end >= 2 && b[end - 2] == b'/' && b[end - 1] == b'>';
            if !is_end && !self_closing && RAW_TEXT.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                let close = find_close_tag(b, i, name.as_bytes()).unwrap_or(n);
                if close > i {
                    out.push(Token {
                        kind: Kind::Raw,
                        range: i..close,
                        name: "",
                    });
                }
                i = close;
            }
        } else {
            text_start.get_or_insert(i);
            i += 1;
        }
    }
    flush(&mut out, &mut text_start, n);
    out
}

/// End (exclusive) of a tag whose name ends at `j`: after the `>` that is not inside a quoted
/// attribute value, or the end of input.
fn tag_end(b: &[u8], mut j: usize) -> usize {
    let n = b.len();
    while j < n {
        match b[j] {
            b'>' => return j + 1,
            q @ (b'"' | b'\'') => {
                // A quote only opens a value right after `=` (possibly with spaces).
                let mut k = j;
                while k > 0 && b[k - 1].is_ascii_whitespace() {
                    k -= 1;
                }
                if k > 0 && b[k - 1] == b'=' {
                    match b[j + 1..].iter().position(|&x| x == q) {
                        Some(p) => j += p + 2,
                        None => return n,
                    }
                } else {
                    j += 1;
                }
            }
            _ => j += 1,
        }
    }
    n
}

/// Position of the `</name` that closes a raw-text element, searching from `from`.
fn find_close_tag(b: &[u8], from: usize, name: &[u8]) -> Option<usize> {
    let mut i = from;
    while i + 2 + name.len() <= b.len() {
        if b[i] == b'<'
            && b[i + 1] == b'/'
            && b[i + 2..i + 2 + name.len()].eq_ignore_ascii_case(name)
            && b.get(i + 2 + name.len())
                .is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Appends `text` to `line`, collapsing whitespace runs to one space and dropping leading
/// whitespace; `space` carries a pending space between calls.
fn push_collapsed(line: &mut String, space: &mut bool, text: &str) {
    for c in text.chars() {
        if c.is_whitespace() {
            *space = true;
        } else {
            if *space && !line.is_empty() {
                line.push(' ');
            }
            *space = false;
            line.push(c);
        }
    }
}

/// Length of the entity at the start of `s` (`&amp;`, `&#233;`, `&#xE9;`), if it is one.
fn entity_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() != Some(&b'&') {
        return None;
    }
    let end = b.iter().take(34).position(|&c| c == b';')?;
    let body = &b[1..end];
    let ok = !body.is_empty()
        && (body.iter().all(u8::is_ascii_alphanumeric)
            || (body[0] == b'#'
                && body.len() > 1
                && body[1..].iter().all(u8::is_ascii_alphanumeric)));
    ok.then_some(end + 1)
}

/// Decodes character references (named, decimal, hexadecimal). Unknown or malformed references
/// are kept as written.
pub fn decode_entities(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match entity_len(rest) {
            Some(len) if decode_entity(&rest[1..len - 1], &mut out) => rest = &rest[len..],
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Appends the text of one reference body (`amp`, `#233`, `#xE9`) to `out`; false when it is
/// not a known reference.
fn decode_entity(body: &str, out: &mut String) -> bool {
    if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        let Some(code) = code else {
            return false;
        };
        out.push(match code {
            0 => '\u{fffd}',
            c => char::from_u32(c).unwrap_or('\u{fffd}'),
        });
        return true;
    }
    let s = match body {
        "amp" | "AMP" => "&",
        "lt" | "LT" => "<",
        "gt" | "GT" => ">",
        "quot" | "QUOT" => "\"",
        "apos" => "'",
        "nbsp" => "\u{a0}",
        "ensp" => "\u{2002}",
        "emsp" => "\u{2003}",
        "thinsp" => "\u{2009}",
        "shy" | "zwj" | "zwnj" | "lrm" | "rlm" => "",
        "ndash" => "–",
        "mdash" => "—",
        "minus" => "−",
        "hellip" => "…",
        "lsquo" => "‘",
        "rsquo" => "’",
        "sbquo" => "‚",
        "ldquo" => "“",
        "rdquo" => "”",
        "bdquo" => "„",
        "laquo" => "«",
        "raquo" => "»",
        "lsaquo" => "‹",
        "rsaquo" => "›",
        "bull" => "•",
        "middot" => "·",
        "prime" => "′",
        "Prime" => "″",
        "dagger" => "†",
        "Dagger" => "‡",
        "permil" => "‰",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "euro" => "€",
        "pound" => "£",
        "yen" => "¥",
        "cent" => "¢",
        "curren" => "¤",
        "sect" => "§",
        "para" => "¶",
        "deg" => "°",
        "plusmn" => "±",
        "times" => "×",
        "divide" => "÷",
        "micro" => "µ",
        "frac12" => "½",
        "frac14" => "¼",
        "frac34" => "¾",
        "sup1" => "¹",
        "sup2" => "²",
        "sup3" => "³",
        "iexcl" => "¡",
        "iquest" => "¿",
        "not" => "¬",
        "ordf" => "ª",
        "ordm" => "º",
        "larr" => "←",
        "rarr" => "→",
        "uarr" => "↑",
        "darr" => "↓",
        "harr" => "↔",
        "rArr" => "⇒",
        "lArr" => "⇐",
        "le" => "≤",
        "ge" => "≥",
        "ne" => "≠",
        "asymp" => "≈",
        "infin" => "∞",
        "check" => "✓",
        "szlig" => "ß",
        "aelig" => "æ",
        "AElig" => "Æ",
        "oslash" => "ø",
        "Oslash" => "Ø",
        "aring" => "å",
        "Aring" => "Å",
        "ccedil" => "ç",
        "Ccedil" => "Ç",
        "ntilde" => "ñ",
        "Ntilde" => "Ñ",
        _ => match accented(body) {
            Some(c) => {
                out.push(c);
                return true;
            }
            None => return false,
        },
    };
    out.push_str(s);
    true
}

/// `eacute`, `Ouml`, … → the accented vowel.
fn accented(body: &str) -> Option<char> {
    const ACCENTS: [&str; 5] = ["grave", "acute", "circ", "tilde", "uml"];
    const LETTERS: &[(char, [char; 5])] = &[
        ('a', ['à', 'á', 'â', 'ã', 'ä']),
        ('A', ['À', 'Á', 'Â', 'Ã', 'Ä']),
        ('e', ['è', 'é', 'ê', 'ẽ', 'ë']),
        ('E', ['È', 'É', 'Ê', 'Ẽ', 'Ë']),
        ('i', ['ì', 'í', 'î', 'ĩ', 'ï']),
        ('I', ['Ì', 'Í', 'Î', 'Ĩ', 'Ï']),
        ('o', ['ò', 'ó', 'ô', 'õ', 'ö']),
        ('O', ['Ò', 'Ó', 'Ô', 'Õ', 'Ö']),
        ('u', ['ù', 'ú', 'û', 'ũ', 'ü']),
        ('U', ['Ù', 'Ú', 'Û', 'Ũ', 'Ü']),
        ('y', ['ỳ', 'ý', 'ŷ', 'ỹ', 'ÿ']),
        ('Y', ['Ỳ', 'Ý', 'Ŷ', 'Ỹ', 'Ÿ']),
    ];
    let mut chars = body.chars();
    let base = chars.next()?;
    let idx = ACCENTS.iter().position(|a| *a == chars.as_str())?;
    LETTERS
        .iter()
        .find(|(b, _)| *b == base)
        .map(|(_, set)| set[idx])
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html>
<html><head><title>Expense &amp; Travel Policy</title>
<style>p { color: red; }</style>
<script>var x = "<p>not text</p>";</script>
</head>
<body>
<h1>Expenses</h1>
<p>Submit receipts within <b>30&nbsp;days</b>.<!-- hidden --></p>
<h2>Travel</h2>
<ul><li>Economy class</li><li>Hotels &lt; $200/night</li></ul>
<h3>Meals</h3>
<table><tr><td>Breakfast</td><td>$15</td></tr></table>
<h2>Approvals</h2>
<p>Managers approve<br>expenses.
</body></html>
"#;

    fn load_str(text: &str) -> Document {
        let source: Arc<str> = Arc::from(text);
        let (mut docs, _) = load(Path::new("site/policy.html"), "site/policy.html", &source);
        docs.remove(0)
    }

    #[test]
    fn html_title_headings_and_blocks() {
        let d = load_str(PAGE);
        assert_eq!(d.title, "Expense & Travel Policy");
        let texts: Vec<String> = d
            .blocks
            .iter()
            .map(|b| excerpt(&PAGE[b.byte_range.clone()]))
            .collect();
        assert_eq!(
            texts,
            vec![
                "Expenses",
                "Submit receipts within 30 days.",
                "Travel",
                "Economy class",
                "Hotels < $200/night",
                "Meals",
                "Breakfast",
                "$15",
                "Approvals",
                "Managers approve expenses.",
            ]
        );
        assert!(!texts
            .iter()
            .any(|t| t.contains("not text") || t.contains("color")));
        let raw = &PAGE[d.blocks[1].byte_range.clone()];
        assert!(raw.starts_with("<p>") && raw.ends_with("</p>"), "{raw}");
        assert_eq!(d.blocks[4].heading_path, vec!["Expenses", "Travel"]);
        assert_eq!(
            d.blocks[6].heading_path,
            vec!["Expenses", "Travel", "Meals"]
        );
        assert_eq!(d.blocks[9].heading_path, vec!["Expenses", "Approvals"]);
        assert_eq!(d.blocks[3].section, d.blocks[4].section);
        assert_ne!(d.blocks[4].section, d.blocks[5].section);
    }

    #[test]
    fn html_title_falls_back_to_h1() {
        let d = load_str("<h1>Head &amp; shoulders</h1><p>x</p>");
        assert_eq!(d.title, "Head & shoulders");
        let d = load_str("<p>only text</p>");
        assert_eq!(d.title, "policy");
    }

    #[test]
    fn html_without_text_has_no_blocks() {
        let d = load_str("<html><head><title>T</title><script>alert(1)</script></head><body> &nbsp; </body></html>");
        assert!(d.blocks.is_empty());
    }

    #[test]
    fn excerpt_joins_blocks_with_newlines() {
        assert_eq!(
            excerpt("<li>A  <i>b</i>\n c</li><li>D</li> tail"),
            "A b c\nD\ntail"
        );
        assert_eq!(
            excerpt("a &#233;&#xE9; &eacute;&Uuml; &bogus; & x"),
            "a éé éÜ &bogus; & x"
        );
        assert_eq!(excerpt("<p title='a>b'>x</p>"), "x");
        assert_eq!(excerpt("1 < 2 <3 </ > ok"), "1 < 2 <3 ok");
        assert_eq!(excerpt("<p>unterminated <b"), "unterminated");
    }

    #[test]
    fn cut_strengths_avoid_tags_and_entities() {
        let raw = "<p>A b. C &amp; d</p>";
        let mask = cut_strengths(raw);
        assert_eq!(mask[1], CUT_NONE); // inside <p>
        assert!(mask[3] >= CUT_CHAR); // after <p>
        assert_eq!(mask[8], CUT_SENTENCE); // after "b. "
        assert_eq!(mask[11], CUT_NONE); // inside &amp;
        assert!(mask[15] > CUT_NONE); // after &amp;
        assert_eq!(mask[17], CUT_SENTENCE); // before </p>
        assert_eq!(mask[18], CUT_NONE); // inside </p>
    }
}
