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
            // Highlights come in order, inside the text, on character boundaries; one that
            // does not (a snippet built or edited elsewhere) is left unmarked, not a panic.
            let (Some(before), Some(word)) = (self.text.get(at..s), self.text.get(s..e)) else {
                continue;
            };
            out.push_str(before);
            out.push_str(open);
            out.push_str(word);
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
    // (distinct terms, matches, start token, end of its last match), for the window that
    // starts a little before each matching token: counted over exactly the bytes it shows.
    let mut best: Option<(usize, usize, usize, usize)> = None;
    for (start, token) in tokens.iter().enumerate() {
        if !matches[start] && best.is_some() {
            continue;
        }
        let limit = lead_of(text, token.range.start) + SNIPPET_CHARS;
        let mut distinct: HashSet<&str> = HashSet::new();
        let mut count = 0;
        let mut last_end = 0;
        for (t, m) in tokens[start..].iter().zip(&matches[start..]) {
            if t.range.end > limit {
                break;
            }
            if *m {
                distinct.insert(&t.term);
                count += 1;
                last_end = t.range.end;
            }
        }
        let better = match best {
            None => true,
            Some((d, c, _, _)) => (distinct.len(), count) > (d, c),
        };
        if better {
            best = Some((distinct.len(), count, start, last_end));
        }
    }
    let (window_start, window_end) = match best {
        Some((distinct, _, start, last_end)) if distinct > 0 => {
            let lead = lead_of(text, tokens[start].range.start);
            // End at the last word boundary before the target length, but never before the
            // last match counted ends: in a long unbroken run (a JSON log line) the last
            // boundary may lie before the window, and the window is cut inside the run.
            (lead, cut_end(text, last_end, lead + SNIPPET_CHARS))
        }
        _ => (0, cut_end(text, 0, SNIPPET_CHARS)),
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

/// Where a window whose first match starts at `first` begins: a little before it, at a word
/// boundary, for context (at `first` itself when no boundary is near).
fn lead_of(text: &str, first: usize) -> usize {
    if first <= SNIPPET_CHARS / 5 {
        return 0;
    }
    let lead = floor_char(text, first - SNIPPET_CHARS / 5);
    // After the whitespace, which may be more than a byte (U+3000, U+2028).
    text[lead..first]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
        .map_or(lead, |(i, c)| lead + i + c.len_utf8())
        .min(first)
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// End of a window that should stop near `limit`: at the last whitespace after `keep` and
/// before `limit`, else at `limit` itself (on a character boundary, never before `keep`).
fn cut_end(text: &str, keep: usize, limit: usize) -> usize {
    if limit >= text.len() {
        return text.len();
    }
    let keep = floor_char(text, keep.min(limit));
    let limit = floor_char(text, limit).max(keep);
    if text[limit..].starts_with(char::is_whitespace) {
        return limit;
    }
    text[keep..limit]
        .rfind(char::is_whitespace)
        .map(|i| keep + i)
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

    /// Everything a snippet promises, whatever the text: its text is the chunk's bytes at its
    /// range, it is no longer than [`SNIPPET_CHARS`], its highlights are matching words inside
    /// it, in order, on character boundaries, and it renders.
    fn check(text: &str, query: &str) -> Snippet {
        let terms: HashSet<String> = analyze(query).into_iter().map(|t| t.term).collect();
        let tokens = analyze(text);
        let s = best_window(text, &tokens, &terms);
        let [a, b] = s.chunk_range;
        assert!(
            a <= b && b <= text.len(),
            "range {a}..{b} of {}",
            text.len()
        );
        assert_eq!(&text[a..b], s.text);
        assert!(s.text.len() <= SNIPPET_CHARS, "{} bytes", s.text.len());
        let mut at = 0;
        for &[h0, h1] in &s.highlights {
            assert!(
                at <= h0 && h0 < h1 && h1 <= s.text.len(),
                "{:?}",
                s.highlights
            );
            assert!(s.text.is_char_boundary(h0) && s.text.is_char_boundary(h1));
            at = h1;
        }
        let rendered = s.render("[", "]", text.len());
        assert!(rendered.len() >= s.text.len());
        // A matching word short enough to fit a window is always shown.
        let fits = tokens
            .iter()
            .any(|t| terms.contains(&t.term) && t.range.len() <= SNIPPET_CHARS / 2);
        assert!(
            !fits || !s.highlights.is_empty(),
            "no highlight: {query:?} in {text:?}"
        );
        s
    }

    /// The shape that ended `lore search -k 50` with `begin > end (288 > 62)`: a match inside
    /// a long unbroken run (a JSON log line in a code block), whose last whitespace lies
    /// before the window's start.
    #[test]
    fn regression_a_match_inside_a_long_unbroken_run() {
        let json = r#"{"volume":{"storage_class":"fast-csi","parameters":{"csi.storage.example/pv":"pv-1","csi.storage.example/pvc":"claim-7","replication":"none","type":"standard"},"zone":"eu-west-1b","capacity":{"bytes":21474836480},"labels":{"team":"storage","tier":"gold"}}}"#;
        let text = format!(
            "```\nI0101 00:00:00.000001       1 connection.go:184] GRPC request: {json}{json}\n```\n"
        );
        let s = check(&text, "csi storage claim");
        assert!(!s.highlights.is_empty());
        // The same with the run at the very start, and with no whitespace at all.
        check(&format!("{json}{json}"), "csi storage claim");
        check(&format!("{json}{json}").replace(' ', ""), "claim tier");
        let run = "x".repeat(2000) + "claim" + &"y".repeat(2000);
        check(&run, "claim");
        check(&format!("lead {}", "z".repeat(900) + ",claim,"), "claim");
    }

    #[test]
    fn matches_at_the_very_start_and_end() {
        let filler = "filler words here and there ".repeat(40);
        check(&format!("Claim {filler}"), "claim");
        let s = check(&format!("{filler}claim"), "claim");
        assert!(s.text.ends_with("claim"), "{}", s.text);
        check("claim", "claim");
        check("", "claim");
        check("   ", "claim");
    }

    #[test]
    fn multibyte_text_and_cr_only_lines() {
        let text = "Décision prise à Zürich\rl'équipe 東京 approuve\r".repeat(30) + "approval";
        check(&text, "approval équipe");
        let text = "ℵ".repeat(150) + "claim" + &"€".repeat(150);
        check(&text, "claim");
        let text = "🙂\u{200d}🙂".repeat(100) + " claim " + &"\r".repeat(300);
        check(&text, "claim");
        check(&"\r".repeat(600), "claim");
    }

    /// Texts drawn from the pieces that broke windows before (long runs, multi-byte letters,
    /// CR, tabs, punctuation) around matching words, with a fixed seed: no panic, and every
    /// promise of [`check`] holds.
    #[test]
    fn random_texts_keep_every_promise() {
        let pieces = [
            "claim",
            "storage",
            " ",
            "  ",
            "\u{3000}",
            "\u{2028}",
            "\r",
            "\n",
            "\t",
            "é",
            "東京",
            "🙂",
            "\u{200d}",
            ",",
            "\"zone\":",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "-",
            "ß",
            "\u{0301}",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..3000 {
            let len = next(400);
            let text: String = (0..len).map(|_| pieces[next(pieces.len())]).collect();
            check(&text, "claim storage");
            check(&text, "zone é");
        }
    }
}
