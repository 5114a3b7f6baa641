//! Text analysis: how chunk text and queries are split into terms (lower-cased, ASCII-folded,
//! English stop words removed, Snowball-stemmed), and which query words are left out.

use std::collections::HashSet;
use std::ops::Range;

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, TextAnalyzerBuilder, TokenStream, Tokenizer,
};

pub(super) fn analyzer() -> TextAnalyzer {
    words().filter(Stemmer::new(Language::English)).build()
}

/// The analyzer's chain up to, not including, stemming: lower-cased, ASCII-folded words of
/// at most 40 bytes, stop words removed.
pub(super) fn words() -> TextAnalyzerBuilder<impl Tokenizer> {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::new(Language::English).expect("English stop words exist"))
}

/// A token of analysed text: its byte range in the text and its indexed term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Byte range in the analysed text.
    pub range: Range<usize>,
    /// The term as indexed (lower-cased, stemmed).
    pub term: String,
}

/// Analyse `text` the way the text fields are indexed.
pub fn analyze(text: &str) -> Vec<Token> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        out.push(Token {
            range: t.offset_from..t.offset_to,
            term: t.text.clone(),
        });
    }
    out
}

/// Analyse `text` for finding `terms` (analysed terms, as [`query_tokens`] gives): the same
/// tokens as `analyze`, except that only words whose first letter starts one of `terms` are
/// stemmed, the others keep their lower-cased form. Stemming never changes a word's first
/// letter, so a word left unstemmed could not have matched; the matches are exactly those of
/// `analyze`, at a fraction of the cost (snippets analyse every hit's text).
pub fn analyze_for(text: &str, terms: &HashSet<String>) -> Vec<Token> {
    let firsts: HashSet<char> = terms.iter().filter_map(|t| t.chars().next()).collect();
    let mut words = words().build();
    let mut stemmer = TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
        .filter(Stemmer::new(Language::English))
        .build();
    let mut stream = words.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        let term = match t.text.chars().next() {
            Some(c) if firsts.contains(&c) => {
                let mut stemmed = stemmer.token_stream(&t.text);
                match stemmed.advance() {
                    true => stemmed.token().text.clone(),
                    false => t.text.clone(),
                }
            }
            _ => t.text.clone(),
        };
        out.push(Token {
            range: t.offset_from..t.offset_to,
            term,
        });
    }
    out
}

/// Words that frame a question rather than say what it is about: interrogatives, pronouns,
/// auxiliaries and other function words the analyzer's stop list (Lucene's short English one)
/// keeps, and the verbs of asking about a conversation ("what did they *say* / *discuss*",
/// "*summarize* the *discussion*"). Sorted, for binary search.
const QUESTION_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "am",
    "an",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "but",
    "by",
    "can",
    "could",
    "did",
    "discuss",
    "discussed",
    "discusses",
    "discussing",
    "discussion",
    "discussions",
    "do",
    "does",
    "doing",
    "done",
    "for",
    "from",
    "get",
    "got",
    "had",
    "has",
    "have",
    "he",
    "her",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "me",
    "mention",
    "mentioned",
    "more",
    "my",
    "need",
    "now",
    "of",
    "on",
    "or",
    "our",
    "out",
    "over",
    "said",
    "say",
    "says",
    "she",
    "should",
    "so",
    "some",
    "summarise",
    "summarize",
    "talk",
    "talked",
    "talking",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "think",
    "this",
    "those",
    "thought",
    "to",
    "up",
    "us",
    "use",
    "used",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
];

/// The content tokens of a query: its analysed tokens without question words (`QUESTION_WORDS`), unless the
/// query has nothing else (then all of them). Both the full-text query and the highlighted
/// snippet use these, so "What did Omar say about the billing job?" searches for and highlights
/// `omar`, `bill`, `job`.
pub fn query_tokens(query: &str) -> Vec<Token> {
    let tokens = analyze(query);
    let content: Vec<Token> = tokens
        .iter()
        .filter(|t| {
            let word = query[t.range.clone()].to_lowercase();
            QUESTION_WORDS.binary_search(&word.as_str()).is_err()
        })
        .cloned()
        .collect();
    if content.is_empty() {
        tokens
    } else {
        content
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_words_are_sorted_and_left_out_of_queries() {
        assert!(QUESTION_WORDS.windows(2).all(|w| w[0] < w[1]), "sorted");
        let terms: Vec<String> = query_tokens("What did Omar say about the billing job?")
            .into_iter()
            .map(|t| t.term)
            .collect();
        assert_eq!(terms, ["omar", "bill", "job"]);
        let terms: Vec<String> = query_tokens("Summarize the discussion about hiring")
            .into_iter()
            .map(|t| t.term)
            .collect();
        assert_eq!(terms, ["hire"]);
        // A query of nothing but question words keeps them all ("they" is a stop word).
        let terms: Vec<String> = query_tokens("what did they discuss")
            .into_iter()
            .map(|t| t.term)
            .collect();
        assert_eq!(terms, ["what", "did", "discuss"]);
    }

    #[test]
    fn analyzing_for_terms_finds_exactly_what_full_analysis_finds() {
        let text = "Dying policies: the happy skis were generously gentler than early news \
                    about Über-running caddies; Yesterday's yields were dyed, die, dies, dying.";
        let all = analyze(text);
        let every_term: HashSet<String> = all.iter().map(|t| t.term.clone()).collect();
        for query in [
            "die polici",
            "happi ski",
            "generous gentl earli",
            "uber run caddi",
            "yesterday yield dye",
        ] {
            let terms: HashSet<String> = query.split(' ').map(str::to_string).collect();
            let fast = analyze_for(text, &terms);
            let hits = |tokens: &[Token]| -> Vec<(std::ops::Range<usize>, String)> {
                tokens
                    .iter()
                    .filter(|t| terms.contains(&t.term))
                    .map(|t| (t.range.clone(), t.term.clone()))
                    .collect()
            };
            assert_eq!(hits(&fast), hits(&all), "{query}");
            assert_eq!(fast.len(), all.len());
        }
        // With every term of the text wanted, it is the full analysis.
        let fast = analyze_for(text, &every_term);
        let terms = |tokens: &[Token]| tokens.iter().map(|t| t.term.clone()).collect::<Vec<_>>();
        assert_eq!(terms(&fast), terms(&all));
    }

    #[test]
    fn analyzer_stems_and_keeps_offsets() {
        let tokens = analyze("The Contracts were approved");
        let terms: Vec<&str> = tokens.iter().map(|t| t.term.as_str()).collect();
        // Lucene's English stop set (as in Pyserini): "the" goes, "were" stays.
        assert_eq!(terms, vec!["contract", "were", "approv"]);
        assert_eq!(tokens[0].range, 4..13);
    }
}
