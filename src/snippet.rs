//! The best window of a chunk for a query, with the query's terms highlighted.
//!
//! Pure text work over analysed tokens: the window (about [`SNIPPET_CHARS`] bytes, cut at word
//! boundaries) that covers the most distinct query terms, then the most matches, earliest first.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::lexical::Token;

/// Target length of a snippet in bytes.
pub const SNIPPET_CHARS: usize = 280;

/// A window of a chunk's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    /// The window's text.
    pub text: String,
    /// Byte ranges `[start, end)` within `text` of words matching the query.
    pub highlights: Vec<[usize; 2]>,
    /// Byte range of the window within the chunk text.
    pub chunk_range: [usize; 2],
}

impl Snippet {
    /// The snippet with highlights wrapped in `open`/`close`, and `…` where it was cut.
    pub fn render(&self, open: &str, close: &str, full_len: usize) -> String {
        let mut out = String::new();
        if self.chunk_range[0] > 0 {
            out.push('…');
        }
        let mut at = 0;
        for &[s, e] in &self.highlights {
            out.push_str(&self.text[at..s]);
            out.push_str(open);
            out.push_str(&self.text[s..e]);
            out.push_str(close);
            at = e;
        }
        out.push_str(&self.text[at..]);
        if self.chunk_range[1] < full_len {
            out.push('…');
        }
        out
    }
}

/// The analysed terms of `query` worth highlighting: its content terms (see
/// [`crate::lexical::query_tokens`]).
pub fn query_terms(query: &str) -> HashSet<String> {
    crate::lexical::query_tokens(query)
        .into_iter()
        .map(|t| t.term)
        .collect()
}

/// Pick the best window of `text` (whose analysed tokens are `tokens`) for `query_terms`.
pub fn best_window(text: &str, tokens: &[Token], query_terms: &HashSet<String>) -> Snippet {
    let matches: Vec<bool> = tokens
        .iter()
        .map(|t| query_terms.contains(&t.term))
        .collect();
    let mut best: Option<(usize, usize, usize)> = None; // (distinct, count, start token)
    for (start, token) in tokens.iter().enumerate() {
        if !matches[start] && best.is_some() {
            continue;
        }
        let limit = token.range.start + SNIPPET_CHARS;
        let mut distinct: HashSet<&str> = HashSet::new();
        let mut count = 0;
        for (t, m) in tokens[start..].iter().zip(&matches[start..]) {
            if t.range.end > limit {
                break;
            }
            if *m {
                distinct.insert(&t.term);
                count += 1;
            }
        }
        let candidate = (distinct.len(), count, start);
        let better = match best {
            None => true,
            Some((d, c, _)) => (candidate.0, candidate.1) > (d, c),
        };
        if better {
            best = Some(candidate);
        }
    }
    let (window_start, window_end) = match best {
        Some((distinct, _, start)) if distinct > 0 => {
            // Start a little before the first match, at a word boundary, for context.
            let first = tokens[start].range.start;
            let lead = floor_char(text, first.saturating_sub(SNIPPET_CHARS / 5));
            // After the whitespace, which may be more than a byte (U+3000, U+2028).
            let lead = text[lead..first]
                .char_indices()
                .find(|(_, c)| c.is_whitespace())
                .map_or(lead, |(i, c)| lead + i + c.len_utf8());
            let lead = if first.saturating_sub(SNIPPET_CHARS / 5) == 0 {
                0
            } else {
                lead
            };
            (lead, cut_end(text, lead + SNIPPET_CHARS))
        }
        _ => (0, cut_end(text, SNIPPET_CHARS)),
    };
    let window = &text[window_start..window_end];
    let highlights = tokens
        .iter()
        .zip(&matches)
        .filter(|(t, m)| **m && t.range.start >= window_start && t.range.end <= window_end)
        .map(|(t, _)| [t.range.start - window_start, t.range.end - window_start])
        .collect();
    Snippet {
        text: window.trim_end().to_string(),
        highlights,
        chunk_range: [window_start, window_start + window.trim_end().len()],
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// End of a window that should stop near `limit`: at the last whitespace before it.
fn cut_end(text: &str, limit: usize) -> usize {
    if limit >= text.len() {
        return text.len();
    }
    let limit = floor_char(text, limit);
    text[..limit]
        .rfind(char::is_whitespace)
        .filter(|&i| i > 0)
        .unwrap_or(limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexical::analyze;

    fn snippet(text: &str, query: &str) -> Snippet {
        let terms = analyze(query).into_iter().map(|t| t.term).collect();
        best_window(text, &analyze(text), &terms)
    }

    #[test]
    fn a_window_may_start_after_multi_byte_whitespace() {
        for space in ["\u{2028}", "\u{3000}", "\u{85}", " "] {
            let text = format!("{}{space}billing reconciliation", "x".repeat(100));
            let s = snippet(&text, "reconciliation");
            assert!(s.text.ends_with("billing reconciliation"), "{:?}", s.text);
            let [start, end] = s.chunk_range;
            assert_eq!(&text[start..end], s.text);
        }
    }

    #[test]
    fn function_words_are_not_highlighted() {
        let terms = query_terms("Who should we ask about the billing job now?");
        let mut terms: Vec<_> = terms.into_iter().collect();
        terms.sort();
        assert_eq!(terms, vec!["ask", "bill", "job"]);
        assert_eq!(query_terms("who are we").len(), 2); // "are" is a stop word
    }

    #[test]
    fn highlights_stemmed_matches() {
        let s = snippet("Contracts are approved by Priya.", "contract approval");
        assert_eq!(s.text, "Contracts are approved by Priya.");
        let words: Vec<&str> = s.highlights.iter().map(|&[a, b]| &s.text[a..b]).collect();
        assert_eq!(words, vec!["Contracts", "approved"]);
        assert_eq!(
            s.render("[", "]", s.text.len()),
            "[Contracts] are [approved] by Priya."
        );
    }

    #[test]
    fn picks_the_window_with_most_terms() {
        let filler = "lorem ipsum dolor sit amet ".repeat(30);
        let text = format!("{filler}the billing reconciliation job belongs to Marco. {filler}");
        let s = snippet(&text, "who owns billing reconciliation");
        assert!(s.text.contains("billing reconciliation"), "{}", s.text);
        assert!(s.text.len() <= SNIPPET_CHARS);
        assert!(s.chunk_range[0] > 0);
        assert_eq!(&text[s.chunk_range[0]..s.chunk_range[1]], s.text);
    }

    #[test]
    fn no_match_gives_the_opening() {
        let s = snippet("Nothing relevant here at all.", "zebra");
        assert_eq!(s.text, "Nothing relevant here at all.");
        assert!(s.highlights.is_empty());
    }

    #[test]
    fn multibyte_text_is_cut_on_char_boundaries() {
        let text = "é".repeat(400) + " approval";
        let s = snippet(&text, "approval");
        assert!(s.text.ends_with("approval"));
    }
}
