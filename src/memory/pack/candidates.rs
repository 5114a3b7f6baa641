//! From the search's hits to the candidate passages of a context pack, in the order the packer
//! tries them: hits whose source changed or vanished left out, citations made for the caller,
//! one candidate per hit, near-duplicates dropped, documents diversified. A candidate knows the
//! ways it may be cut to fit, and [`joins`] tells where a chunk joins a passage of adjacent
//! chunks of its document.

use std::collections::{BTreeMap, HashSet};

use super::{
    Passage, Span, DUPLICATE_JACCARD, LONG_WORD, MAX_PER_DOCUMENT, MAX_STALE_NAMED,
    MIN_TRUNCATED_WORDS,
};
use crate::cite::Citations;
use crate::load::is_verbatim;
use crate::model::{content_hash, Provenance};
use crate::query::{DecisionLabel, SearchHit};
use crate::stale::{SourceStatus, Stale};

/// The candidates of `hits`, in the order the packer tries them: one per hit, those that
/// repeat a better-ranked one dropped, then diversified by document (see the module guide of
/// `memory::pack` in the source).
pub(super) fn candidates_of(hits: &[SearchHit]) -> Vec<Candidate> {
    diversify(
        drop_near_duplicates(hits.iter().map(|h| candidate(vec![Piece::of(h)])).collect()),
        MAX_PER_DOCUMENT,
    )
}

/// Take the hits whose source changed or vanished since indexing out of `response`, and add
/// a note naming their files (at most [`MAX_STALE_NAMED`], as the hits cite them) and why;
/// returns how many were taken out. Moved hits stay.
pub(super) fn leave_out_stale(response: &mut crate::query::SearchResponse) -> usize {
    let mut files: Vec<(String, SourceStatus)> = Vec::new();
    let before = response.hits.len();
    response.hits.retain(|hit| match &hit.stale {
        Some(stale) if stale.reason != SourceStatus::Moved => {
            let file = (hit.provenance.path.clone(), stale.reason);
            if !files.contains(&file) {
                files.push(file);
            }
            false
        }
        _ => true,
    });
    let num = before - response.hits.len();
    if num == 0 {
        return 0;
    }
    let mut named: Vec<String> = files
        .iter()
        .take(MAX_STALE_NAMED)
        .map(|(path, reason)| format!("{path} ({})", reason.as_str()))
        .collect();
    if files.len() > MAX_STALE_NAMED {
        named.push(format!("{} more files", files.len() - MAX_STALE_NAMED));
    }
    response.notes.push(format!(
        "left out {num} passage{} whose source changed or vanished since indexing: {}; run `lore index` again to cite them as they are now",
        if num == 1 { "" } else { "s" },
        named.join(", ")
    ));
    num
}

/// `provenance` as a server's caller may see it: its path relative to the export root, and
/// its ranges zeroed (`[0, 0]`) when they are withheld.
pub(super) fn cite_for_caller(provenance: &mut Provenance, citations: &Citations) {
    if !citations.shows_ranges(&provenance.path) {
        provenance.byte_range = [0, 0];
        provenance.line_range = [0, 0];
    }
    provenance.path = citations.path(&provenance.path);
}

/// One chunk of a candidate passage.
#[derive(Debug, Clone)]
pub(super) struct Piece {
    chunk_id: String,
    /// Position in its document, when the id says.
    n: Option<usize>,
    rank: usize,
    text: String,
    provenance: Provenance,
    decision: Option<DecisionLabel>,
    stale: Option<Stale>,
}

impl Piece {
    fn of(hit: &SearchHit) -> Piece {
        let n = hit
            .chunk_id
            .strip_prefix(hit.provenance.doc_id.as_str())
            .and_then(|rest| rest.strip_prefix('#'))
            .and_then(|n| n.parse().ok());
        Piece {
            chunk_id: hit.chunk_id.clone(),
            n,
            rank: hit.rank,
            text: hit.text.clone(),
            provenance: hit.provenance.clone(),
            decision: hit.decision.clone(),
            stale: hit.stale.clone(),
        }
    }

    /// True when the text may be cut inside: its bytes are its text.
    pub(super) fn is_verbatim(&self) -> bool {
        let [start, end] = self.provenance.byte_range;
        is_verbatim(self.provenance.format) && end.checked_sub(start) == Some(self.text.len())
    }

    /// The piece cut to its first `len` bytes (a char boundary), trailing space dropped.
    pub(super) fn cut(&self, len: usize) -> Piece {
        let text = self.text[..len].trim_end().to_string();
        let mut provenance = self.provenance.clone();
        let start = provenance.byte_range[0];
        provenance.byte_range = [start, start + text.len()];
        provenance.line_range[1] = provenance.line_range[0] + text.matches('\n').count();
        let mut stale = self.stale.clone();
        if let Some(Stale {
            lines_now: Some(lines),
            detail,
            ..
        }) = &mut stale
        {
            lines[1] = lines[0] + text.matches('\n').count();
            *detail = format!("the cited text is now at lines {}-{}", lines[0], lines[1]);
        }
        Piece {
            text,
            provenance,
            stale,
            ..self.clone()
        }
    }

    fn span(&self) -> Span {
        let p = &self.provenance;
        Span {
            chunk_id: self.chunk_id.clone(),
            path: p.path.clone(),
            format: p.format,
            byte_range: p.byte_range,
            line_range: p.line_range,
            content_hash: content_hash(&self.text),
            // Lines are 1-based: `[0, 0]` is what `cite_for_caller` writes.
            ranges_withheld: p.line_range == [0, 0],
            stale: self.stale.clone(),
        }
    }
}

/// A passage before it is numbered: adjacent chunks of one document, in source order.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) rank: usize,
    pub(super) pieces: Vec<Piece>,
}

impl Candidate {
    fn doc_id(&self) -> &str {
        &self.pieces[0].provenance.doc_id
    }

    pub(super) fn text(&self) -> String {
        join(&self.pieces)
    }

    /// The numbered passage of `pieces` (this candidate's, possibly cut).
    pub(super) fn passage(&self, number: usize, pieces: &[Piece], truncated: bool) -> Passage {
        let first = &pieces[0].provenance;
        let mut speakers: Vec<String> = Vec::new();
        for p in pieces {
            for s in &p.provenance.speakers {
                if !speakers.contains(s) {
                    speakers.push(s.clone());
                }
            }
        }
        let best = self
            .pieces
            .iter()
            .filter(|p| p.decision.is_some())
            .min_by_key(|p| p.rank);
        Passage {
            number,
            rank: self.rank,
            text: join(pieces),
            spans: pieces.iter().map(Piece::span).collect(),
            title: first.title.clone(),
            heading_path: first.heading_path.clone(),
            speakers,
            start_ms: pieces.iter().filter_map(|p| p.provenance.start_ms).min(),
            end_ms: pieces.iter().filter_map(|p| p.provenance.end_ms).max(),
            date: first.date.clone(),
            decision: best.and_then(|p| p.decision.clone()),
            truncated,
        }
    }

    /// Ways to cut this passage, shortest first: `(i, None)` keeps pieces `..=i` whole,
    /// `(i, Some(len))` keeps pieces `..i` and the first `len` bytes of piece `i`. Verbatim
    /// pieces are cut after any word, and inside a word after every [`LONG_WORD`] characters
    /// (keeping at least [`MIN_TRUNCATED_WORDS`] words in all); other pieces are kept whole or
    /// not at all. The whole passage is not among them.
    pub(super) fn cuts(&self) -> Vec<(usize, Option<usize>)> {
        let mut cuts = Vec::new();
        let mut words_before = 0;
        for (i, piece) in self.pieces.iter().enumerate() {
            if piece.is_verbatim() {
                let mut words = words_before;
                // Characters of the word being read.
                let mut run = 0;
                for (at, c) in piece.text.char_indices() {
                    let word_ends = if c.is_whitespace() {
                        std::mem::replace(&mut run, 0) > 0
                    } else {
                        run += 1;
                        run > 1 && (run - 1) % LONG_WORD == 0
                    };
                    if word_ends {
                        words += 1;
                        if words >= MIN_TRUNCATED_WORDS {
                            cuts.push((i, Some(at)));
                        }
                    }
                }
            }
            words_before += num_words(&piece.text);
            if i + 1 < self.pieces.len() && words_before >= MIN_TRUNCATED_WORDS {
                cuts.push((i, None));
            }
        }
        cuts
    }

    /// The pieces one of [`Candidate::cuts`] keeps.
    pub(super) fn cut(&self, (i, len): (usize, Option<usize>)) -> Vec<Piece> {
        let mut kept = self.pieces[..i].to_vec();
        kept.push(match len {
            Some(len) => self.pieces[i].cut(len),
            None => self.pieces[i].clone(),
        });
        kept
    }
}

/// Words of `text` as [`MIN_TRUNCATED_WORDS`] counts them: a word longer than [`LONG_WORD`]
/// characters counts once per [`LONG_WORD`] characters begun.
fn num_words(text: &str) -> usize {
    text.split_whitespace()
        .map(|w| w.chars().count().div_ceil(LONG_WORD))
        .sum()
}

pub(super) fn join(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Where `piece` joins `run` (adjacent chunks of one document, in source order): at its start,
/// at its end, or nowhere when it is not the chunk just before or after it.
pub(super) fn joins(run: &[Piece], piece: &Piece) -> Option<usize> {
    let (first, last) = (run.first()?, run.last()?);
    if first.provenance.doc_id != piece.provenance.doc_id {
        return None;
    }
    let n = piece.n?;
    if last.n.map(|l| l + 1) == Some(n) {
        Some(run.len())
    } else if first.n.and_then(|f| f.checked_sub(1)) == Some(n) {
        Some(0)
    } else {
        None
    }
}

pub(super) fn candidate(pieces: Vec<Piece>) -> Candidate {
    Candidate {
        rank: pieces.iter().map(|p| p.rank).min().unwrap_or(usize::MAX),
        pieces,
    }
}

/// The word 3-shingles of a text (its words, when it has fewer than three), lower-cased.
fn shingles(text: &str) -> HashSet<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.len() < 3 {
        return words.into_iter().collect();
    }
    words.windows(3).map(|w| w.join(" ")).collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// Keep the candidates, in order, that do not repeat a kept one (see [`DUPLICATE_JACCARD`]).
fn drop_near_duplicates(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut kept: Vec<(Candidate, HashSet<String>)> = Vec::new();
    for c in candidates {
        let s = shingles(&c.text());
        if kept.iter().all(|(_, k)| jaccard(&s, k) < DUPLICATE_JACCARD) {
            kept.push((c, s));
        }
    }
    kept.into_iter().map(|(c, _)| c).collect()
}

/// The candidates, in order, up to `max_per_doc` of each document first, then the rest in order.
fn diversify(candidates: Vec<Candidate>, max_per_doc: usize) -> Vec<Candidate> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let (mut first, mut later) = (Vec::new(), Vec::new());
    for c in candidates {
        let n = seen.entry(c.doc_id().to_string()).or_default();
        *n += 1;
        if *n <= max_per_doc {
            first.push(c);
        } else {
            later.push(c);
        }
    }
    first.extend(later);
    first
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::SourceFormat;
    use crate::snippet::Snippet;

    /// A hit on chunk `n` of `doc`, whose text sits at `start` of a verbatim source.
    pub(crate) fn hit(rank: usize, doc: &str, n: usize, start: usize, text: &str) -> SearchHit {
        SearchHit {
            rank,
            chunk_id: format!("{doc}#{n}"),
            score: 1.0 / rank as f32,
            lexical: None,
            dense: None,
            snippet: Snippet {
                text: String::new(),
                highlights: Vec::new(),
                chunk_range: [0, 0],
            },
            text: text.to_string(),
            provenance: Provenance {
                doc_id: doc.to_string(),
                path: format!("{doc}.md"),
                title: doc.to_string(),
                kind: "document".into(),
                format: SourceFormat::Markdown,
                heading_path: Vec::new(),
                byte_range: [start, start + text.len()],
                line_range: [1, 1 + text.matches('\n').count()],
                speakers: Vec::new(),
                start_ms: None,
                end_ms: None,
                date: None,
                authors: Vec::new(),
                url: None,
                tags: Vec::new(),
                metadata: BTreeMap::new(),
                content_hash: content_hash(text),
            },
            decision: None,
            stale: None,
        }
    }

    fn ids(c: &Candidate) -> Vec<&str> {
        c.pieces.iter().map(|p| p.chunk_id.as_str()).collect()
    }

    #[test]
    fn near_duplicates_are_dropped_and_distinct_passages_kept() {
        let quote = "the q3 review always moves two weeks early because of the board meeting";
        let hits = vec![
            hit(1, "slack", 0, 0, quote),
            hit(2, "notes", 7, 0, &format!("Reminder: {quote}.")),
            hit(3, "wiki", 1, 0, "the pager rotates every monday at ten"),
        ];
        let kept = candidates_of(&hits);
        let got: Vec<Vec<&str>> = kept.iter().map(ids).collect();
        assert_eq!(got, vec![vec!["slack#0"], vec!["wiki#1"]]);
        assert!(jaccard(&shingles("a b c d"), &shingles("x y z w")) < DUPLICATE_JACCARD);
    }

    #[test]
    fn a_document_gets_two_passages_before_any_gets_a_third() {
        let hits = vec![
            hit(1, "a", 0, 0, "one"),
            hit(2, "a", 2, 0, "two"),
            hit(3, "a", 4, 0, "three"),
            hit(4, "a", 6, 0, "four"),
            hit(5, "b", 0, 0, "five"),
            hit(6, "c", 0, 0, "six"),
        ];
        assert_eq!(MAX_PER_DOCUMENT, 2);
        let order = candidates_of(&hits);
        let got: Vec<usize> = order.iter().map(|c| c.rank).collect();
        assert_eq!(got, vec![1, 2, 5, 6, 3, 4]);
    }

    #[test]
    fn a_verbatim_cut_ends_at_a_word_and_re_reads_exactly() {
        let source = "# Notes\n\nalpha beta gamma delta epsilon zeta eta theta iota\nkappa lambda mu\n\nnu xi omicron pi rho sigma tau upsilon phi chi psi";
        let first = &source[9..81];
        let second = &source[83..];
        let mut hits = vec![hit(1, "n", 1, 9, first), hit(2, "n", 2, 83, second)];
        for h in &mut hits {
            let [s, e] = h.provenance.byte_range;
            let line = 1 + source[..s].matches('\n').count();
            h.provenance.line_range = [line, line + source[s..e].matches('\n').count()];
        }
        // Each hit is a candidate of its own (the packer joins adjacent ones as it places them).
        let candidates = candidates_of(&hits);
        assert_eq!(candidates.len(), 2);
        for candidate in &candidates {
            let cuts = candidate.cuts();
            assert!(!cuts.is_empty());
            let mut last_len = 0;
            for cut in &cuts {
                assert!(matches!(cut, (0, Some(_))), "{cut:?}");
                let pieces = candidate.cut(*cut);
                let passage = candidate.passage(1, &pieces, true);
                let len = passage.text.len();
                assert!(len > last_len, "cuts are ordered shortest first");
                last_len = len;
                assert!(num_words(&passage.text) >= MIN_TRUNCATED_WORDS);
                for (span, piece) in passage.spans.iter().zip(&pieces) {
                    let [s, e] = span.byte_range;
                    assert_eq!(&source[s..e], piece.text, "{cut:?}");
                    assert_eq!(span.content_hash, content_hash(&source[s..e]));
                    assert!(!piece.text.ends_with(char::is_whitespace));
                    let lines = 1 + source[..s].matches('\n').count();
                    assert_eq!(span.line_range[0], lines);
                    assert_eq!(
                        span.line_range[1],
                        lines + source[s..e].matches('\n').count()
                    );
                }
            }
        }
        // The 8th word of the first chunk ends the shortest cut.
        let first = &candidates[0];
        assert_eq!(
            first.cut(first.cuts()[0])[0].text,
            "alpha beta gamma delta epsilon zeta eta theta"
        );
    }

    #[test]
    fn a_passage_without_whitespace_is_cut_inside_at_character_boundaries() {
        // One 100 KB word of multi-byte characters, and CR-only lines.
        for text in [
            "é界😀".repeat(11_000),
            "a".repeat(100_000),
            "line one of many\rline two of many\rline three".repeat(50),
        ] {
            let candidate = candidate(vec![Piece::of(&hit(1, "w", 0, 0, &text))]);
            let cuts = candidate.cuts();
            assert!(!cuts.is_empty(), "{}", &text[..40]);
            let mut last = 0;
            for cut in cuts {
                let (0, Some(len)) = cut else {
                    panic!("{cut:?}")
                };
                assert!(text.is_char_boundary(len) && len > last);
                last = len;
                let kept = &candidate.cut(cut)[0];
                assert_eq!(kept.provenance.byte_range, [0, kept.text.len()]);
                assert_eq!(&text[..kept.text.len()], kept.text);
                assert!(num_words(&kept.text) >= MIN_TRUNCATED_WORDS);
            }
            let shortest = &candidate.cut(candidate.cuts()[0])[0].text;
            assert!(shortest.chars().count() <= MIN_TRUNCATED_WORDS * LONG_WORD);
        }
        assert_eq!(num_words("short words stay one each"), 5);
        assert_eq!(num_words(&"x".repeat(LONG_WORD + 1)), 2);
    }

    #[test]
    fn a_chunk_joins_the_passage_of_the_chunk_just_before_or_after_it() {
        let run = [
            Piece::of(&hit(1, "a", 2, 200, "two")),
            Piece::of(&hit(2, "a", 3, 300, "three")),
        ];
        let at = |doc: &str, n: usize| joins(&run, &Piece::of(&hit(3, doc, n, 0, "x")));
        assert_eq!(at("a", 4), Some(2));
        assert_eq!(at("a", 1), Some(0));
        assert_eq!(at("a", 5), None);
        assert_eq!(at("a", 0), None);
        assert_eq!(at("b", 4), None);
    }
}
