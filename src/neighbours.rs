//! Passage context: which chunk continues which, and the ranking stage that lets a passage's
//! neighbours support it.
//!
//! Meetings, threads and long pages are split into passages, and what a question asks about
//! often spans a boundary: the passage that answers it sits next to another that matches it
//! too. So after retrieval (and fusion) every candidate's score, min-max normalised over the top
//! of the list, is lifted towards the better normalised score of its two neighbours when that is
//! higher, by `weight ×` the difference ([`rescore`]). A passage never rises above its best
//! neighbour, and one whose neighbours score lower keeps its score, so a long document's many
//! middling passages cannot outrank a short document's one good passage. Measured in
//! `benches/RESULTS.md`: on QMSum meeting transcripts it lifts every mode; an index without
//! neighbours ranks exactly as without it.
//!
//! Two chunks are neighbours when one continues the other ([`Neighbours::link`]):
//!
//! * consecutive chunks of one document;
//! * the last chunk of a document and the first of the next document *of the same file*
//!   (in file order) when both documents carry the same non-empty title ([`continues`]) —
//!   a meeting exported as one JSON record per stretch of turns, a page exported section by
//!   section.
//!
//! The links are stored with the index as one little-endian `u32` per chunk: the ordinal of the
//! chunk it continues, or [`NONE`].

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fuse::{min_max, normalization_range};

/// "No predecessor" in the stored links.
pub const NONE: u32 = u32::MAX;

/// Default passage-context weight ([`RankingOptions::context_weight`](crate::RankingOptions::context_weight)): how far a passage is lifted towards a better neighbour.
pub const DEFAULT_CONTEXT_WEIGHT: f32 = 0.5;

/// Does a document titled `next` continue the one titled `prev`, right before it in the same
/// file? When both carry the same non-empty title.
pub fn continues(prev: &str, next: &str) -> bool {
    !next.is_empty() && prev == next
}

/// For one file's documents in file order, given as `(id, title)`, record in `out` the id of the
/// document each one continues.
pub fn predecessors<'a>(
    file: impl IntoIterator<Item = (&'a str, &'a str)>,
    out: &mut HashMap<String, String>,
) {
    let mut prev: Option<(&str, &str)> = None;
    for (id, title) in file {
        if let Some((prev_id, prev_title)) = prev {
            if continues(prev_title, title) {
                out.insert(id.to_string(), prev_id.to_string());
            }
        }
        prev = Some((id, title));
    }
}

/// Which chunk each chunk continues, by ordinal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Neighbours {
    prev: Vec<u32>,
    next: Vec<u32>,
    num_links: usize,
}

impl Neighbours {
    /// Links for the chunks of `documents`, given in ordinal order as `(id, number of chunks)`
    /// (each document's chunks take consecutive ordinals): consecutive chunks of a document,
    /// and across documents as `predecessors` says (the last chunk of the predecessor to the
    /// first chunk of its successor).
    pub fn link(documents: &[(&str, usize)], predecessors: &HashMap<String, String>) -> Self {
        let mut last_of: HashMap<&str, u32> = HashMap::with_capacity(documents.len());
        let mut next = 0u32;
        for &(id, n) in documents {
            next += n as u32;
            if n > 0 {
                last_of.insert(id, next - 1);
            }
        }
        let mut prev = Vec::with_capacity(next as usize);
        for &(id, n) in documents {
            let start = prev.len() as u32;
            for i in 0..n as u32 {
                prev.push(if i > 0 {
                    start + i - 1
                } else {
                    predecessors
                        .get(id)
                        .and_then(|p| last_of.get(p.as_str()).copied())
                        .unwrap_or(NONE)
                });
            }
        }
        Neighbours::from_prev(prev)
    }

    fn from_prev(prev: Vec<u32>) -> Self {
        let mut next = vec![NONE; prev.len()];
        let mut num_links = 0;
        for (ord, &p) in prev.iter().enumerate() {
            if let Some(slot) = next.get_mut(p as usize) {
                *slot = ord as u32;
                num_links += 1;
            }
        }
        Neighbours {
            prev,
            next,
            num_links,
        }
    }

    /// Does passage context at `weight` change any ranking? Not at 0, nor without links.
    pub fn lift(&self, weight: f32) -> bool {
        weight > 0.0 && self.num_links > 0
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.prev.len()
    }

    /// Number of links (pairs of neighbouring chunks).
    #[cfg(test)]
    pub fn num_links(&self) -> usize {
        self.num_links
    }

    /// The chunk `ord` continues, if any.
    pub fn prev(&self, ord: u32) -> Option<u32> {
        self.prev.get(ord as usize).copied().filter(|&p| p != NONE)
    }

    /// The chunk that continues `ord`, if any.
    pub fn next(&self, ord: u32) -> Option<u32> {
        self.next.get(ord as usize).copied().filter(|&n| n != NONE)
    }

    /// The nearest chunk before `ord` in its sequence that passes `keep`, passing over those
    /// that do not (a principal's view of a thread with messages it may not read).
    pub fn prev_where(&self, ord: u32, keep: impl Fn(u32) -> bool) -> Option<u32> {
        self.nearest_where(ord, keep, |o| self.prev(o))
    }

    /// The nearest chunk after `ord` in its sequence that passes `keep` (see
    /// [`Neighbours::prev_where`]).
    pub fn next_where(&self, ord: u32, keep: impl Fn(u32) -> bool) -> Option<u32> {
        self.nearest_where(ord, keep, |o| self.next(o))
    }

    fn nearest_where(
        &self,
        ord: u32,
        keep: impl Fn(u32) -> bool,
        step: impl Fn(u32) -> Option<u32>,
    ) -> Option<u32> {
        let mut at = ord;
        // At most every chunk once, even over links a damaged file makes circular.
        for _ in 0..self.prev.len() {
            let next = step(at)?;
            if next == ord {
                return None;
            }
            if keep(next) {
                return Some(next);
            }
            at = next;
        }
        None
    }

    /// The stored form: one little-endian `u32` per chunk.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.prev.iter().flat_map(|p| p.to_le_bytes()).collect()
    }

    /// Write to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_bytes()).map_err(|e| Error::io(path, e))
    }

    /// Read from `path`, checking that it holds links for `num_chunks` chunks.
    pub fn load(path: &Path, num_chunks: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let corrupt = |reason: String| Error::corrupt(path, reason);
        if bytes.len() != num_chunks * 4 {
            return Err(corrupt(format!(
                "{} bytes, expected {} for {num_chunks} chunks",
                bytes.len(),
                num_chunks * 4
            )));
        }
        let prev: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some((ord, p)) = prev
            .iter()
            .enumerate()
            .find(|&(ord, &p)| p != NONE && (p as usize >= num_chunks || p as usize == ord))
        {
            return Err(corrupt(format!(
                "chunk {ord} is said to continue chunk {p}"
            )));
        }
        Ok(Neighbours::from_prev(prev))
    }
}

/// New scores for `candidates` (chunk ordinal and score, best first), in the same order: each
/// score `s`, min-max normalised over the top
/// [`NORMALIZATION_DEPTH`](crate::fuse::NORMALIZATION_DEPTH) of the list (clamped at 0), becomes
/// `s + weight × max(0, n − s)` where `n` is the better normalised score of its neighbours among
/// the candidates (0 for a neighbour that is not one); `weight` is clamped to at most 1, so no
/// passage overtakes the neighbour that lifts it. `None` (keep the list as it is) when `weight`
/// is 0 or the index has no links.
///
/// Only the chunks that pass `keep` count (a principal's readable chunks): a chunk's neighbours
/// are the nearest ones that pass, those that do not passed over.
pub fn rescore(
    candidates: &[(u32, f32)],
    neighbours: &Neighbours,
    weight: f32,
    keep: impl Fn(u32) -> bool,
) -> Option<Vec<f32>> {
    if !neighbours.lift(weight) || candidates.is_empty() {
        return None;
    }
    let weight = weight.min(1.0);
    let range = normalization_range(candidates);
    let own: HashMap<u32, f32> = candidates
        .iter()
        .map(|&(ord, s)| (ord, min_max(s, range)))
        .collect();
    let score_of = |ord: Option<u32>| ord.and_then(|o| own.get(&o).copied()).unwrap_or(0.0);
    Some(
        candidates
            .iter()
            .map(|&(ord, _)| {
                let own = own[&ord];
                let best = score_of(neighbours.prev_where(ord, &keep))
                    .max(score_of(neighbours.next_where(ord, &keep)));
                own + weight * (best - own).max(0.0)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::chunk::{chunk_document, ChunkOptions};
    use crate::load::jsonl::load_lines;
    use crate::model::Chunk;

    /// Chunks of `jsonl` the way a build makes them: documents sorted by id, then chunked.
    fn build(jsonl: &str, max_tokens: usize) -> (Vec<Chunk>, Neighbours) {
        let source: Arc<str> = Arc::from(jsonl);
        let (mut docs, skipped) = load_lines(Path::new("/x/m.jsonl"), "m.jsonl", &source);
        assert!(skipped.is_empty(), "{skipped:?}");
        let mut preds = HashMap::new();
        predecessors(
            docs.iter().map(|d| (d.id.as_str(), d.title.as_str())),
            &mut preds,
        );
        docs.sort_by(|a, b| a.id.cmp(&b.id));
        let opts = ChunkOptions { max_tokens };
        let chunks: Vec<Chunk> = docs.iter().flat_map(|d| chunk_document(d, &opts)).collect();
        let documents: Vec<(&str, usize)> = chunks
            .chunk_by(|a, b| a.provenance.doc_id == b.provenance.doc_id)
            .map(|doc| (doc[0].provenance.doc_id.as_str(), doc.len()))
            .collect();
        let links = Neighbours::link(&documents, &preds);
        (chunks, links)
    }

    fn ids(chunks: &[Chunk], ords: impl Iterator<Item = Option<u32>>) -> Vec<Option<String>> {
        ords.map(|o| o.map(|o| chunks[o as usize].provenance.doc_id.clone()))
            .collect()
    }

    #[test]
    fn consecutive_records_with_one_title_continue_each_other() {
        // File order: c, a, b share a title; z has another; d has the first title again but
        // after z, so it starts a new sequence. Sorted by id the ordinals are a, b, c, d, z.
        let jsonl = r#"{"id": "c", "title": "Bed003", "text": "first stretch of turns"}
{"id": "a", "title": "Bed003", "text": "second stretch of turns"}
{"id": "b", "title": "Bed003", "text": "third stretch of turns"}
{"id": "z", "title": "Other", "text": "another meeting"}
{"id": "d", "title": "Bed003", "text": "not next to the others"}
"#;
        let (chunks, links) = build(jsonl, 512);
        let order: Vec<&str> = chunks
            .iter()
            .map(|c| c.provenance.doc_id.as_str())
            .collect();
        assert_eq!(order, ["a", "b", "c", "d", "z"]);
        let n = chunks.len() as u32;
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            ids(&chunks, (0..n).map(|o| links.prev(o))),
            [some("c"), some("a"), None, None, None]
        );
        assert_eq!(
            ids(&chunks, (0..n).map(|o| links.next(o))),
            [some("b"), None, some("a"), None, None]
        );
        assert_eq!(links.num_links(), 2);
    }

    #[test]
    fn chunks_of_one_document_continue_each_other() {
        let long: String = (0..30)
            .map(|i| format!("Paragraph {i} says something about the budget review.\n\n"))
            .collect();
        let jsonl = format!(
            "{}\n{}\n",
            serde_json::json!({"id": "long", "title": "Notes", "text": long}),
            serde_json::json!({"id": "other", "title": "Else", "text": "short"})
        );
        let (chunks, links) = build(&jsonl, 40);
        let n = chunks
            .iter()
            .filter(|c| c.provenance.doc_id == "long")
            .count();
        assert!(n >= 3, "{n} chunks");
        for ord in 0..n as u32 {
            assert_eq!(links.prev(ord), ord.checked_sub(1));
            let next = if (ord as usize) + 1 < n {
                Some(ord + 1)
            } else {
                None
            };
            assert_eq!(links.next(ord), next);
        }
        assert_eq!(links.prev(n as u32), None);
        assert_eq!(links.num_links(), n - 1);
    }

    #[test]
    fn rescore_by_hand() {
        // Chain 0 - 1 - 2; 3 alone.
        let links = Neighbours::from_prev(vec![NONE, 0, 1, NONE]);
        // Normalised over the list: 10 → 1, 6 → 0.5, 2 → 0; 0 is not a candidate.
        let candidates = [(3, 10.0), (1, 6.0), (2, 2.0)];
        let scores = rescore(&candidates, &links, 0.5, |_| true).unwrap();
        // 3: no neighbours, 1; 1: neighbours 0 (absent) and 2 (0), both lower: 0.5;
        // 2: 0 + 0.5 × (0.5 − 0).
        assert_eq!(scores, [1.0, 0.5, 0.25]);
        // Off by weight, or without links.
        assert_eq!(rescore(&candidates, &links, 0.0, |_| true), None);
        assert_eq!(
            rescore(
                &candidates,
                &Neighbours::from_prev(vec![NONE; 4]),
                0.5,
                |_| true
            ),
            None
        );
    }

    #[test]
    fn neighbours_a_principal_may_not_read_are_passed_over() {
        // One thread 0 - 1 - 2 - 3; 1 and 2 are hidden.
        let links = Neighbours::from_prev(vec![NONE, 0, 1, 2]);
        let readable = |o: u32| o != 1 && o != 2;
        assert_eq!(links.next_where(0, readable), Some(3));
        assert_eq!(links.prev_where(3, readable), Some(0));
        assert_eq!(links.prev_where(0, readable), None);
        assert_eq!(links.next_where(3, readable), None);
        // So 0 and 3 lift each other as in a thread of the two alone.
        let candidates = [(0, 1.0), (3, 0.5), (9, 0.0)];
        let seen = rescore(&candidates, &links, 0.5, readable).unwrap();
        let alone = rescore(
            &[(0, 1.0), (1, 0.5), (9, 0.0)],
            &Neighbours::from_prev(vec![NONE, 0]),
            0.5,
            |_| true,
        )
        .unwrap();
        assert_eq!(seen, alone);
        assert_eq!(seen[1], 0.75);
        // Links a damaged file makes circular end the walk.
        let circular = Neighbours::from_prev(vec![1, 0]);
        assert_eq!(circular.next_where(0, |_| false), None);
    }

    #[test]
    fn a_neighbour_of_the_top_hit_overtakes_a_lone_passage() {
        let links = Neighbours::from_prev(vec![NONE, 0, NONE]);
        let candidates = [(0, 1.0), (2, 0.6), (1, 0.5), (9, 0.0)];
        let scores = rescore(&candidates, &links, 0.5, |_| true).unwrap();
        assert!(scores[2] > scores[1], "{scores:?}");
        assert!(scores[0] > scores[2], "{scores:?}");
        assert_eq!(scores, [1.0, 0.6, 0.75, 0.0]);
    }

    #[test]
    fn passages_that_support_each_other_stay_below_a_better_lone_one() {
        // 0 - 1 - 2 is one long document of middling passages; 5 stands alone.
        let links = Neighbours::from_prev(vec![NONE, 0, 1, NONE, NONE, NONE]);
        let candidates = [(5, 1.0), (1, 0.8), (0, 0.75), (2, 0.7), (4, 0.0)];
        let scores = rescore(&candidates, &links, 0.9, |_| true).unwrap();
        assert_eq!(scores[0], 1.0);
        assert!(scores[1..].iter().all(|&s| s <= 0.8), "{scores:?}");
    }

    #[test]
    fn stored_links_round_trip_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("neighbours.u32");
        let links = Neighbours::from_prev(vec![NONE, 0, 1, NONE]);
        links.save(&path).unwrap();
        assert_eq!(Neighbours::load(&path, 4).unwrap(), links);
        let err = Neighbours::load(&path, 5).unwrap_err().to_string();
        assert!(err.contains("16 bytes, expected 20"), "{err}");
        Neighbours::from_prev(vec![NONE, 7]).save(&path).unwrap();
        let err = Neighbours::load(&path, 2).unwrap_err().to_string();
        assert!(err.contains("chunk 1 is said to continue chunk 7"), "{err}");
    }
}
