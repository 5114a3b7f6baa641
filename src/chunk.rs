//! Documents → [`Chunk`]s: the units that get indexed, each with its provenance.
//!
//! [`chunk_document`] walks a document's [`Block`]s section by section (blocks of different
//! sections never share a chunk) and merges consecutive blocks while the estimated token count
//! ([`estimate_tokens`]) of the merged text stays within [`ChunkOptions::max_tokens`]. For
//! transcripts the unit of merging is a *turn* (consecutive cues of one speaker): a turn is never
//! split across chunks unless it alone is over the limit, in which case it is packed cue by cue.
//! A single block over the limit is split at sentence ends (`. `, `? `, `! `, a line break),
//! falling back to whitespace, and only as a last resort inside a word; never inside a UTF-8
//! character, an HTML tag or entity, a JSON escape, or a transcript timing line.
//!
//! A chunk's byte range runs from its first block's start to its last block's end, and its text
//! is `load::excerpt(format, &source[range])`: for Markdown, plain text and decision records the
//! text is exactly the source bytes.
//!
//! ```
//! use std::path::PathBuf;
//! use lore::internals::chunk::chunk_document;
//! use lore::internals::load::load_file;
//! use lore::{ChunkOptions, LoadOptions};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("policy.md");
//! std::fs::write(&path, "# Travel\n\nBook economy.\n\n## Hotels\n\nUnder $200.\n").unwrap();
//! let (docs, _) = load_file(&path, "policy.md", &LoadOptions::default());
//! let chunks = chunk_document(&docs[0], &ChunkOptions::default());
//! assert_eq!(chunks.len(), 2);
//! assert_eq!(chunks[1].id, "policy.md#1");
//! assert_eq!(chunks[1].text, "## Hotels\n\nUnder $200.");
//! assert_eq!(chunks[1].provenance.heading_path, vec!["Travel", "Hotels"]);
//! assert_eq!(chunks[1].provenance.line_range, [5, 7]);
//! ```

use std::cell::RefCell;
use std::ops::Range;
use std::sync::{Arc, Weak};

use crate::load::{self, CUT_NONE, CUT_SENTENCE, CUT_SPACE};
use crate::model::{content_hash, Block, Chunk, Document, LineIndex, Provenance};

/// How to cut documents into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Upper bound on [`estimate_tokens`] of a chunk's text (default 512: passages of a few
    /// hundred words stay whole, which measured best for hybrid search on SciFact and QMSum even
    /// though MiniLM reads only the first 256 word pieces; see `benches/RESULTS.md`). A single
    /// word longer than the limit can still exceed it.
    pub max_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions { max_tokens: 512 }
    }
}

/// Estimates the number of BERT word pieces of `text`, cheaply and without a vocabulary.
///
/// Each run of alphanumeric characters counts as one token, or as `1 + (len - 1) / 8` tokens
/// when longer than 8 characters (so a 9–16 character word counts 2, as long words split into
/// several pieces); each punctuation or symbol character counts 1; each CJK ideograph counts 1
/// (BERT splits them one by one); whitespace counts 0. On English prose this is within ~10% of
/// the `all-MiniLM-L6-v2` tokenizer, slightly above it more often than below.
///
/// ```
/// use lore::internals::chunk::estimate_tokens;
/// assert_eq!(estimate_tokens("Route contracts to counsel."), 6); // "contracts" has 9 letters
/// assert_eq!(estimate_tokens("internationalization"), 3);
/// assert_eq!(estimate_tokens("ADR-0004: $50K"), 6);
/// ```
pub fn estimate_tokens(text: &str) -> usize {
    let word = |len: usize| if len == 0 { 0 } else { 1 + (len - 1) / 8 };
    let mut n = 0;
    let mut len = 0;
    for c in text.chars() {
        let alnum = if c.is_ascii() {
            c.is_ascii_alphanumeric()
        } else {
            c.is_alphanumeric() && !is_cjk(c)
        };
        if alnum {
            len += 1;
            continue;
        }
        n += word(len);
        len = 0;
        if !c.is_whitespace() {
            n += 1;
        }
    }
    n + word(len)
}

/// CJK ideographs, which BERT's basic tokenizer treats as words of their own.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

/// Cuts a document into chunks (see the module documentation). Chunk ids are
/// `"{doc_id}#{n}"`, `n` counting from 0; chunks whose text is only whitespace are dropped.
pub fn chunk_document(doc: &Document, opts: &ChunkOptions) -> Vec<Chunk> {
    let source: &str = &doc.source;
    let blocks: Vec<&Block> = doc
        .blocks
        .iter()
        .filter(|b| {
            b.byte_range.start < b.byte_range.end && source.get(b.byte_range.clone()).is_some()
        })
        .collect();
    let mut chunker = Chunker {
        doc,
        source,
        blocks: &blocks,
        max_tokens: opts.max_tokens.max(1),
        planned: Vec::new(),
    };
    let mut i = 0;
    while i < blocks.len() {
        let mut j = i + 1;
        while j < blocks.len() && blocks[j].section == blocks[i].section {
            j += 1;
        }
        let units = chunker.units(i, j);
        chunker.pack(&units);
        i = j;
    }
    let planned = std::mem::take(&mut chunker.planned);
    if planned.is_empty() {
        return Vec::new();
    }
    let lines = line_index(&doc.source);
    let mut chunks = Vec::with_capacity(planned.len());
    for piece in planned {
        let text = load::excerpt(doc.format, &source[piece.range.clone()]);
        if text.trim().is_empty() {
            continue;
        }
        let covered = &blocks[piece.first..=piece.last];
        let mut speakers: Vec<String> = Vec::new();
        for s in covered.iter().filter_map(|b| b.speaker.as_ref()) {
            if !speakers.contains(s) {
                speakers.push(s.clone());
            }
        }
        let provenance = Provenance {
            doc_id: doc.id.clone(),
            path: crate::path_text::to_text(&doc.path),
            title: doc.title.clone(),
            kind: doc.kind.clone(),
            format: doc.format,
            heading_path: covered[0].heading_path.clone(),
            byte_range: [piece.range.start, piece.range.end],
            line_range: lines.lines_of(&piece.range),
            speakers,
            start_ms: covered.iter().find_map(|b| b.start_ms),
            end_ms: covered.iter().rev().find_map(|b| b.end_ms),
            date: doc.date.clone(),
            authors: doc.authors.clone(),
            url: doc.url.clone(),
            tags: doc.tags.clone(),
            metadata: doc.metadata.clone(),
            content_hash: content_hash(&text),
        };
        chunks.push(Chunk {
            id: format!("{}#{}", doc.id, chunks.len()),
            text,
            provenance,
        });
    }
    chunks
}

/// A chunk to be: its byte range and the (inclusive) indices of the blocks it covers.
#[derive(Debug)]
struct Planned {
    range: Range<usize>,
    first: usize,
    last: usize,
}

/// The state of chunking one document.
struct Chunker<'a> {
    doc: &'a Document,
    source: &'a str,
    blocks: &'a [&'a Block],
    max_tokens: usize,
    planned: Vec<Planned>,
}

impl Chunker<'_> {
    /// The merge units of the blocks `i..j` of one section, as block index ranges: turns
    /// (consecutive blocks of one speaker) for transcripts, single blocks otherwise.
    fn units(&self, i: usize, j: usize) -> Vec<(usize, usize)> {
        if !self.doc.format.is_transcript() {
            return (i..j).map(|k| (k, k + 1)).collect();
        }
        let mut out = Vec::new();
        let mut a = i;
        for k in i + 1..=j {
            if k == j || self.blocks[k].speaker != self.blocks[a].speaker {
                out.push((a, k));
                a = k;
            }
        }
        out
    }

    /// Source range of the blocks `a..b`.
    fn range_of(&self, a: usize, b: usize) -> Range<usize> {
        let start = self.blocks[a].byte_range.start;
        let end = self.blocks[b - 1].byte_range.end.max(start);
        start..end
    }

    /// Estimated tokens of the text of a source range.
    fn tokens(&self, range: Range<usize>) -> usize {
        let raw = &self.source[range];
        if load::is_verbatim(self.doc.format) {
            estimate_tokens(raw)
        } else {
            estimate_tokens(&load::excerpt(self.doc.format, raw))
        }
    }

    fn fits(&self, a: usize, b: usize) -> bool {
        self.tokens(self.range_of(a, b)) <= self.max_tokens
    }

    /// Greedily merges consecutive units; a unit over the limit is packed block by block, and
    /// a block over the limit is split.
    fn pack(&mut self, units: &[(usize, usize)]) {
        let mut current: Option<(usize, usize)> = None;
        for &(ua, ub) in units {
            if let Some((a, b)) = current {
                if self.fits(a, ub) {
                    current = Some((a, ub));
                    continue;
                }
                self.push_blocks(a, b);
                current = None;
            }
            if self.fits(ua, ub) {
                current = Some((ua, ub));
            } else if ub - ua > 1 {
                let singles: Vec<(usize, usize)> = (ua..ub).map(|k| (k, k + 1)).collect();
                self.pack(&singles);
            } else {
                self.split(ua);
            }
        }
        if let Some((a, b)) = current {
            self.push_blocks(a, b);
        }
    }

    fn push_blocks(&mut self, a: usize, b: usize) {
        self.planned.push(Planned {
            range: self.range_of(a, b),
            first: a,
            last: b - 1,
        });
    }

    /// Splits block `k`, which is over the limit, into pieces within it.
    fn split(&mut self, k: usize) {
        let base = self.blocks[k].byte_range.clone();
        let raw = &self.source[base.clone()];
        let len = raw.len();
        let mask = load::cut_strengths(self.doc.format, raw);
        let tokens_to = |s: usize, p: usize| self.tokens(base.start + s..base.start + p);
        let mut pieces = Vec::new();
        let mut s = 0;
        loop {
            s = skip_space(raw, &mask, s);
            if s >= len {
                break;
            }
            // Largest allowed cut `lo` with tokens(s..lo) within the limit: grow the probe
            // exponentially (so a long block costs O(n log n), not O(n²)), then bisect (token
            // counts grow with the prefix).
            let mut lo = s;
            let mut step = 256;
            let hi = loop {
                match next_allowed(&mask, (s + step).min(len), len) {
                    Some(p) if tokens_to(s, p) <= self.max_tokens => {
                        lo = p;
                        step *= 2;
                    }
                    Some(p) => break Some(p),
                    None if tokens_to(s, len) <= self.max_tokens => break None,
                    None => break Some(len),
                }
            };
            let Some(mut hi) = hi else {
                pieces.push(s..trim_space_back(raw, &mask, s, len));
                break;
            };
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                match next_allowed(&mask, mid, hi) {
                    None => hi = mid,
                    Some(p) if tokens_to(s, p) <= self.max_tokens => lo = p,
                    Some(p) => hi = p,
                }
            }
            let cut = if lo > s {
                best_cut(&mask, s, lo)
            } else {
                next_allowed(&mask, s + 1, len).unwrap_or(len)
            };
            let end = trim_space_back(raw, &mask, s, cut);
            if end > s {
                pieces.push(s..end);
            }
            s = cut;
        }
        for p in pieces {
            self.planned.push(Planned {
                range: base.start + p.start..base.start + p.end,
                first: k,
                last: k,
            });
        }
    }
}

/// The smallest position `p` in `from..below` where a cut is allowed.
fn next_allowed(mask: &[u8], from: usize, below: usize) -> Option<usize> {
    (from..below).find(|&p| mask[p] > CUT_NONE)
}

/// The best cut in `(s, lo]` (all of which fit): the last sentence end in the second half,
/// else the last whitespace, else the last sentence end, else `lo`.
fn best_cut(mask: &[u8], s: usize, lo: usize) -> usize {
    let half = s + (lo - s) / 2;
    let last = |from: usize, min: u8| (from + 1..=lo).rev().find(|&p| mask[p] >= min);
    last(half.max(s), CUT_SENTENCE)
        .or_else(|| last(s, CUT_SPACE))
        .unwrap_or(lo)
}

/// Moves a piece start forward over whitespace, staying at allowed cut positions.
fn skip_space(raw: &str, mask: &[u8], mut s: usize) -> usize {
    while let Some(c) = raw.get(s..).and_then(|r| r.chars().next()) {
        let next = s + c.len_utf8();
        if !c.is_whitespace() || (next < raw.len() && mask[next] == CUT_NONE) {
            break;
        }
        s = next;
    }
    s
}

/// Moves a piece end back over whitespace, staying at allowed cut positions (and after `s`).
fn trim_space_back(raw: &str, mask: &[u8], s: usize, mut e: usize) -> usize {
    while e > s {
        let Some(c) = raw[s..e].chars().next_back() else {
            break;
        };
        let prev = e - c.len_utf8();
        if !c.is_whitespace() || (prev > s && mask[prev] == CUT_NONE) {
            break;
        }
        e = prev;
    }
    e
}

thread_local! {
    /// The line index of the last source chunked on this thread. Documents of one JSONL file
    /// share their source, and indexing it once per record would be quadratic. The `Weak`
    /// keeps the allocation's address from being reused while cached.
    static LINES: RefCell<Option<(Weak<str>, Arc<LineIndex>)>> = const { RefCell::new(None) };
}

/// The line index of a document source, cached per thread for the last source seen.
fn line_index(source: &Arc<str>) -> Arc<LineIndex> {
    LINES.with(|cell| {
        let mut cell = cell.borrow_mut();
        if let Some((weak, index)) = cell.as_ref() {
            if Weak::ptr_eq(weak, &Arc::downgrade(source)) {
                return Arc::clone(index);
            }
        }
        let index = Arc::new(LineIndex::new(source));
        *cell = Some((Arc::downgrade(source), Arc::clone(&index)));
        index
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::load::{adr, excerpt, html, is_verbatim, jsonl, markdown, text, transcript};
    use crate::model::SourceFormat;

    fn arc(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    const MD: &str = "---
title: Legal & Finance sync
date: 2024-03-05
---
# Legal & Finance sync

Attendees: Dana, Omar, Priya.

## Discussion

### Contract approvals

Contracts over $50K now go to outside counsel. This was decided after the Q2 review showed that internal review took on average three weeks. Dana noted that counsel charges a flat fee. Omar asked whether the threshold should be indexed to inflation; the group agreed to revisit it next year.

- Priya to draft the routing memo
- Omar to update the vendor checklist

### Budget

The travel budget is frozen until September.

## Next steps

Meet again on Friday. Bring the numbers. Über-long-compound-words-like-this-one cause splits. 日本語のテキストも少し。
";

    const ADR: &str = "# ADR-0004: Route contracts over $50K to outside counsel

- Status: Superseded by ADR-0009
- Date: 2024-03-05

## Context

Legal review of large contracts was slow and inconsistent.

## Decision

Contracts over $50K go to outside counsel; smaller ones stay in house.
";

    const TXT: &str = "Quarterly notes

We shipped the importer. It handles Slack, HTML and transcripts.
Customers asked for a faster search.

Next quarter: embeddings, a better ranking, and a CLI.";

    const HTML: &str = "<html><head><title>Policy</title><script>var a = '<p>x</p>';</script></head><body>
<h1>Expenses</h1><p>Submit receipts within 30&nbsp;days. Late receipts need a manager&rsquo;s approval. Receipts over $500 need a second approver &amp; a note.</p>
<h2>Travel</h2><ul><li>Economy class for flights under six hours.</li><li>Hotels &lt; $200 per night.</li></ul>
</body></html>";

    const VTT: &str = "WEBVTT

NOTE
title: Weekly sync

00:00:01.000 --> 00:00:03.000
<v Dana Reyes>Let's start with contracts.

00:00:03.000 --> 00:00:06.000
<v Dana Reyes>Anything over fifty thousand goes to counsel.

00:00:06.000 --> 00:00:08.000
<v Omar>Agreed. What about renewals?

00:00:08.000 --> 00:00:10.000
<v Omar>They should follow the same rule.

00:00:10.000 --> 00:00:14.000
<v Dana Reyes>Yes, renewals too. And amendments that raise the value above the threshold, which happens more than you'd think, especially with the cloud vendors.
";

    const SRT: &str = "1
00:00:01,000 --> 00:00:03,000
Dana Reyes: We need a policy.

2
00:00:03,500 --> 00:00:05,000
Omar: Agreed, by Friday.
";

    const JSONL: &str = r#"{"_id": "d1", "title": "T", "text": "First paragraph with \"quotes\" and caf\u00e9.\n\nSecond paragraph \ud83d\ude00 is here. It has two sentences.\nAnd a line."}
{"channel": "legal", "user": "dana", "ts": "1700000000.000200", "text": "Counsel agreed.\n\nSee thread."}
"#;

    fn fixtures() -> Vec<Document> {
        let mut docs = Vec::new();
        let p = Path::new;
        docs.extend(markdown::load(p("w/sync.md"), "w/sync.md", &arc(MD)).0);
        docs.extend(adr::load(p("adr/4.md"), "adr/4.md", &arc(ADR)).0);
        docs.extend(text::load(p("n.txt"), "n.txt", &arc(TXT)).0);
        docs.extend(html::load(p("p.html"), "p.html", &arc(HTML)).0);
        docs.extend(transcript::load(p("c.vtt"), "c.vtt", &arc(VTT), SourceFormat::Vtt).0);
        docs.extend(transcript::load(p("c.srt"), "c.srt", &arc(SRT), SourceFormat::Srt).0);
        docs.extend(jsonl::load_lines(p("r.jsonl"), "r.jsonl", &arc(JSONL)).0);
        assert_eq!(docs.len(), 8);
        docs
    }

    /// The provenance invariant and the limits, for every chunk of every fixture.
    fn check(doc: &Document, chunks: &[Chunk], max: usize) {
        let lines = LineIndex::new(&doc.source);
        for (n, c) in chunks.iter().enumerate() {
            let [s, e] = c.provenance.byte_range;
            let raw = &doc.source[s..e];
            assert_eq!(excerpt(doc.format, raw), c.text, "{}", c.id);
            if is_verbatim(doc.format) {
                assert_eq!(raw, c.text);
            }
            assert!(!c.text.trim().is_empty());
            assert_eq!(c.id, format!("{}#{n}", doc.id));
            assert_eq!(c.provenance.line_range, lines.lines_of(&(s..e)));
            assert_eq!(c.provenance.content_hash, content_hash(&c.text));
            assert_eq!(c.provenance.format, doc.format);
            assert!(
                estimate_tokens(&c.text) <= max,
                "{} has {} tokens > {max}: {:?}",
                c.id,
                estimate_tokens(&c.text),
                c.text
            );
        }
        for w in chunks.windows(2) {
            assert!(w[0].provenance.byte_range[1] <= w[1].provenance.byte_range[0]);
        }
    }

    #[test]
    fn every_chunk_of_every_fixture_rederives_its_text() {
        for doc in fixtures() {
            for max in [8, 12, 20, 35, 60, 200, 1000] {
                let chunks = chunk_document(&doc, &ChunkOptions { max_tokens: max });
                assert!(!chunks.is_empty(), "{} at {max}", doc.id);
                check(&doc, &chunks, max);
            }
        }
    }

    #[test]
    fn large_limit_keeps_sections_apart_and_blocks_whole() {
        for doc in fixtures() {
            let chunks = chunk_document(&doc, &ChunkOptions { max_tokens: 10_000 });
            let sections: std::collections::BTreeSet<usize> =
                doc.blocks.iter().map(|b| b.section).collect();
            assert_eq!(chunks.len(), sections.len(), "{}", doc.id);
            for b in &doc.blocks {
                let inside = chunks.iter().filter(|c| {
                    let [s, e] = c.provenance.byte_range;
                    s <= b.byte_range.start && b.byte_range.end <= e
                });
                assert_eq!(inside.count(), 1);
            }
        }
    }

    #[test]
    fn markdown_chunks_keep_headings() {
        let doc = &fixtures()[0];
        let chunks = chunk_document(doc, &ChunkOptions { max_tokens: 60 });
        let contract = chunks
            .iter()
            .find(|c| {
                c.provenance.heading_path.last().map(String::as_str) == Some("Contract approvals")
            })
            .unwrap();
        assert!(contract
            .text
            .starts_with("## Discussion\n\n### Contract approvals"));
        assert_eq!(
            contract.provenance.heading_path,
            vec!["Legal & Finance sync", "Discussion", "Contract approvals"]
        );
        assert_eq!(contract.provenance.title, "Legal & Finance sync");
        assert_eq!(contract.provenance.date.as_deref(), Some("2024-03-05"));
        assert!(chunks.iter().any(|c| c.text.starts_with("### Budget")));
        assert!(!chunks.iter().any(|c| c.text.contains("title:")));
    }

    #[test]
    fn oversize_block_is_split_at_sentences() {
        let doc = &fixtures()[0];
        let chunks = chunk_document(doc, &ChunkOptions { max_tokens: 30 });
        let pieces: Vec<&Chunk> = chunks
            .iter()
            .filter(|c| {
                c.provenance.heading_path.last().map(String::as_str) == Some("Contract approvals")
            })
            .collect();
        assert!(pieces.len() >= 3, "{pieces:#?}");
        for p in &pieces[..pieces.len() - 1] {
            assert!(p.text.ends_with('.'), "{:?}", p.text);
        }
        assert!(
            pieces[1].text.starts_with(char::is_alphabetic),
            "{:?}",
            pieces[1].text
        );
    }

    #[test]
    fn transcript_turns_are_not_split() {
        let doc = &fixtures()[4];
        assert_eq!(doc.format, SourceFormat::Vtt);
        // Dana's first turn (two cues) is 22 tokens, Omar's turn 17 (8 + 9): a limit of 32
        // keeps each turn whole although Omar's first cue alone would still fit after Dana's.
        assert_eq!(
            estimate_tokens(&chunk_document(doc, &ChunkOptions { max_tokens: 22 })[0].text),
            22
        );
        let chunks = chunk_document(doc, &ChunkOptions { max_tokens: 32 });
        assert_eq!(chunks[0].provenance.speakers, vec!["Dana Reyes"]);
        assert_eq!(
            chunks[0].text,
            "Dana Reyes: Let's start with contracts.\nDana Reyes: Anything over fifty thousand goes to counsel."
        );
        assert_eq!(chunks[0].provenance.start_ms, Some(1000));
        assert_eq!(chunks[0].provenance.end_ms, Some(6000));
        assert_eq!(chunks[1].provenance.speakers, vec!["Omar"]);
        assert_eq!(chunks[1].provenance.start_ms, Some(6000));
        assert_eq!(chunks[1].provenance.end_ms, Some(10_000));
        // The last cue alone is over the limit: split, each piece keeps the cue's speaker/time.
        let rest = &chunks[2..];
        assert!(rest.len() >= 2);
        assert!(rest[0].text.starts_with("Dana Reyes: Yes, renewals too."));
        for c in rest {
            assert_eq!(c.provenance.speakers, vec!["Dana Reyes"]);
            assert_eq!(c.provenance.start_ms, Some(10_000));
        }
        // With room for everything, turns merge into one chunk with both speakers.
        let all = chunk_document(doc, &ChunkOptions { max_tokens: 500 });
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].provenance.speakers, vec!["Dana Reyes", "Omar"]);
    }

    #[test]
    fn json_chunks_never_cut_escapes() {
        let doc = &fixtures()[6];
        for max in 3..40 {
            for c in chunk_document(doc, &ChunkOptions { max_tokens: max }) {
                let [s, e] = c.provenance.byte_range;
                let raw = &doc.source[s..e];
                assert!(!raw.ends_with('\\'));
                assert!(!c.text.contains('\u{fffd}'), "{max}: {raw:?}");
                assert_eq!(excerpt(doc.format, raw), c.text);
            }
        }
    }

    #[test]
    fn html_chunks_never_cut_tags() {
        let doc = &fixtures()[3];
        for max in 3..40 {
            for c in chunk_document(doc, &ChunkOptions { max_tokens: max }) {
                assert!(
                    !c.text.contains('>') && !c.text.contains("</"),
                    "{:?}",
                    c.text
                );
                for (i, _) in c.text.match_indices('&') {
                    let next = c.text[i + 1..].chars().next();
                    assert!(matches!(next, None | Some(' ')), "{:?}", c.text);
                }
            }
        }
    }

    #[test]
    fn slack_chunk_provenance() {
        let doc = &fixtures()[7];
        let chunks = chunk_document(doc, &ChunkOptions::default());
        assert_eq!(chunks.len(), 1);
        let p = &chunks[0].provenance;
        assert_eq!(chunks[0].id, "legal/1700000000.000200#0");
        assert_eq!(chunks[0].text, "Counsel agreed.\n\nSee thread.");
        assert_eq!(p.speakers, vec!["dana"]);
        assert_eq!(p.line_range, [2, 2]);
        assert_eq!(p.metadata.get("channel").map(String::as_str), Some("legal"));
        assert_eq!(p.path, "r.jsonl");
    }

    #[test]
    fn token_estimate() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("  \n\t"), 0);
        assert_eq!(estimate_tokens("a b c"), 3);
        assert_eq!(estimate_tokens("abcdefgh"), 1);
        assert_eq!(estimate_tokens("abcdefghi"), 2);
        assert_eq!(estimate_tokens("don't"), 3);
        assert_eq!(estimate_tokens("日本語"), 3);
        assert_eq!(estimate_tokens("a".repeat(40).as_str()), 5);
    }

    #[test]
    fn bad_block_ranges_do_not_panic() {
        let mut doc = fixtures().remove(2);
        let mut bad = doc.blocks[0].clone();
        bad.byte_range = 1_000_000..1_000_010;
        doc.blocks.push(bad);
        let mut empty = doc.blocks[0].clone();
        empty.byte_range = 0..0;
        doc.blocks.push(empty);
        let chunks = chunk_document(&doc, &ChunkOptions::default());
        check(&doc, &chunks, 200);
    }

    #[test]
    fn unsplittable_word_still_progresses() {
        let source = arc(&"x".repeat(5000));
        let doc = text::load(Path::new("w.txt"), "w.txt", &source).0.remove(0);
        let chunks = chunk_document(&doc, &ChunkOptions { max_tokens: 10 });
        let total: usize = chunks.iter().map(|c| c.text.len()).sum();
        assert_eq!(total, 5000);
        check(&doc, &chunks, 10);
    }
}
