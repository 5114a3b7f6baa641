//! The packer: fills a context pack's budget with the candidates in order, merging a chunk
//! into the passage of its neighbours as it is placed, cutting the passage that does not fit,
//! and settling the header on a token count that states itself (counted on the whole rendered
//! output with the model's tokenizer).

use super::candidates::{candidate, join, joins, Candidate, Piece};
use super::render::render_md;
use super::{ContextPack, ContextRequest, PackFormat, Passage, QUESTION_SHARE};
use crate::embed::{line_break_tokens, TokenCounter};
use crate::error::{Error, Result};

/// Fill the budget with `candidates` (see [`Index::context`](crate::Index::context)).
pub(super) fn fill(
    request: &ContextRequest,
    counter: &TokenCounter,
    candidates: &[Candidate],
    response: &crate::query::SearchResponse,
    num_stale_left_out: usize,
    by_lines: bool,
) -> Result<ContextPack> {
    let packer = Packer {
        counter,
        format: request.format,
        by_lines,
        lines: std::cell::RefCell::new(std::collections::HashMap::new()),
        question: &request.question,
        search_notes: &response.notes,
    };
    let mut pack = ContextPack {
        question: String::new(),
        budget: request.budget,
        tokens_used: 0,
        tokenizer: counter.info().clone(),
        mode_used: response.mode_used,
        truncated: false,
        num_left_out: 0,
        num_stale_left_out,
        notes: Vec::new(),
        passages: Vec::new(),
        rendered: String::new(),
    };
    packer.head(&mut pack)?;
    // The header as it reads when nothing fits must fit.
    pack.num_left_out = candidates.len();
    if packer.settle(&mut pack)?.is_none() {
        let least = packer.least_budget(&pack)?;
        return Err(Error::invalid_request(format!(
            "a budget of {} tokens cannot hold even the header of the context; ask for at least {least} tokens",
            request.budget
        )));
    }
    // While filling, the header counts every candidate not placed yet as left out: the
    // final count is known only at the end, and the last placement is undone (a new
    // passage placed again, cut shorter) if the final header takes more tokens. A chunk
    // next to one already placed joins that passage instead of starting its own.
    let mut runs: Vec<Vec<Piece>> = Vec::new();
    let mut placed: Vec<(usize, Placement)> = Vec::new();
    for (i, candidate) in candidates.iter().enumerate() {
        crate::deadline::check("packing passages")?;
        pack.num_left_out = i - placed.len() + (candidates.len() - i - 1);
        let piece = &candidate.pieces[0];
        let next_to = runs.iter().enumerate().find_map(|(j, run)| {
            let open = !pack.passages[j].truncated;
            joins(run, piece).filter(|_| open).map(|at| (j, at))
        });
        if let Some((j, at)) = next_to {
            let before = pack.passages[j].clone();
            if let Some(kept) = packer.extend(&mut pack, j, &runs[j], at, piece)? {
                runs[j] = kept;
                placed.push((i, Placement::Joined(j, Box::new(before))));
            }
            continue;
        }
        if packer.add(&mut pack, candidate)? {
            runs.push(candidate.pieces.clone());
            placed.push((i, Placement::New));
        }
    }
    pack.num_left_out = candidates.len() - placed.len();
    pack.rendered = loop {
        if let Some(text) = packer.settle(&mut pack)? {
            break text;
        }
        let (last, how) = placed
            .pop()
            .ok_or_else(|| Error::bug("the header of a context pack no longer fits"))?;
        match how {
            Placement::Joined(j, before) => {
                pack.passages[j] = *before;
                pack.num_left_out += 1;
            }
            Placement::New => {
                pack.passages.pop();
                runs.pop();
                if !packer.add(&mut pack, &candidates[last])? {
                    pack.num_left_out += 1;
                }
            }
        }
    };
    Ok(pack)
}

/// How a candidate was placed in a pack, to undo it.
enum Placement {
    /// As a new passage (the last one).
    New,
    /// Joined to passage `j`, which read as this before.
    Joined(usize, Box<Passage>),
}

/// Renders packs and counts their tokens.
struct Packer<'a> {
    counter: &'a TokenCounter,
    format: PackFormat,
    /// Count a text as the sum of its lines' counts, each distinct line counted once, and the
    /// tokens of its runs of line breaks.
    by_lines: bool,
    /// Those counts.
    lines: std::cell::RefCell<std::collections::HashMap<String, usize>>,
    /// The question asked.
    question: &'a str,
    /// The search's notes, which the pack repeats.
    search_notes: &'a [String],
}

impl Packer<'_> {
    /// The tokens of `text` (see [`Packer::by_lines`]).
    fn count(&self, text: &str) -> Result<usize> {
        if !self.by_lines {
            return self.counter.count(text);
        }
        let mut lines = self.lines.borrow_mut();
        let mut total = line_break_tokens(text);
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            total += match lines.get(line) {
                Some(&n) => n,
                None => {
                    let n = self.counter.count(line)?;
                    lines.insert(line.to_string(), n);
                    n
                }
            };
        }
        Ok(total)
    }

    fn render(&self, pack: &ContextPack) -> Result<String> {
        Ok(match self.format {
            PackFormat::Md => render_md(pack),
            PackFormat::Json => serde_json::to_string_pretty(pack)? + "\n",
        })
    }

    /// Set `pack.tokens_used` to the token count of the rendering that states it, and return
    /// that rendering, if it fits the budget. The number is a word of its own in both
    /// renderings, so the count is the rest plus that number's own tokens.
    ///
    /// Such a number may not exist: with 878 tokens besides it, a number of one token would
    /// have to be 879 and one of two tokens 880, and `879` is two word pieces while `880` is
    /// one. Then the header takes [`COUNT_NOTE`], which moves the rest off that edge (the
    /// passage that met it is not left out for want of a number).
    fn settle(&self, pack: &mut ContextPack) -> Result<Option<String>> {
        pack.notes.retain(|n| n != COUNT_NOTE);
        if let Some(text) = self.settle_once(pack)? {
            return Ok(Some(text));
        }
        pack.notes.push(COUNT_NOTE.to_string());
        let settled = self.settle_once(pack)?;
        if settled.is_none() {
            pack.notes.retain(|n| n != COUNT_NOTE);
        }
        Ok(settled)
    }

    fn settle_once(&self, pack: &mut ContextPack) -> Result<Option<String>> {
        let before = pack.tokens_used;
        pack.truncated = pack.passages.iter().any(|p| p.truncated);
        pack.tokens_used = pack.budget;
        let total = self.count(&self.render(pack)?)?;

        let rest = total.saturating_sub(self.count(&pack.budget.to_string())?);
        for own in 1..=8 {
            let n = rest + own;
            if n > pack.budget {
                break;
            }
            if self.count(&n.to_string())? != own {
                continue;
            }
            pack.tokens_used = n;
            let text = self.render(pack)?;
            if self.count(&text)? == n {
                return Ok(Some(text));
            }
        }
        // What was counted before still stands (callers undo what did not fit).
        pack.tokens_used = before;
        Ok(None)
    }

    /// Set the question and notes of `pack`'s header for its budget: the question on one line
    /// (each run of whitespace one space), cut when it takes more than
    /// 1/[`QUESTION_SHARE`] of the budget — the cut marked `[…]` and explained in a note.
    /// The search still reads the whole question.
    fn head(&self, pack: &mut ContextPack) -> Result<()> {
        let question = self
            .question
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        pack.notes = self.search_notes.to_vec();
        let share = pack.budget / QUESTION_SHARE;
        let tokens = self.counter.count(&question)?;
        if tokens <= share {
            pack.question = question;
            return Ok(());
        }
        let cut = |len: usize| match question[..len].trim_end() {
            "" => "[…]".to_string(),
            kept => format!("{kept} […]"),
        };
        // Char boundaries where the shown question may end; a prefix of `share` tokens holds
        // far fewer than 32 characters a token (the longest WordPiece pieces are about 20), so
        // the search need not look further.
        let ends: Vec<usize> = question
            .char_indices()
            .map(|(at, _)| at)
            .skip(1)
            .take(32 * (share + 1))
            .collect();
        // The longest prefix that fits (the count grows with the text kept).
        let (mut lo, mut hi) = (0, ends.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if self.counter.count(&cut(ends[mid - 1]))? <= share {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let mut len = if lo == 0 { 0 } else { ends[lo - 1] };
        // At a word's end when the prefix holds one.
        if !question[len..].starts_with(' ') {
            if let Some(space) = question[..len].rfind(' ') {
                len = space;
            }
        }
        pack.question = cut(len);
        pack.notes.push(format!(
            "the question takes {tokens} tokens, more than 1/{QUESTION_SHARE} of the budget: the header shows its first {} of {} characters",
            question[..len].trim_end().chars().count(),
            question.chars().count()
        ));
        Ok(())
    }

    /// The smallest budget that holds `pack` (its header, when it has no passages).
    fn least_budget(&self, pack: &ContextPack) -> Result<usize> {
        let mut probe = pack.clone();
        let mut budget = pack.budget.max(1);
        loop {
            probe.budget = budget;
            self.head(&mut probe)?;
            if self.settle(&mut probe)?.is_some() {
                return Ok(budget);
            }
            // Below the count, nothing fits: jump there, then step.
            let count = self.count(&self.render(&probe)?)?;
            budget = if count > budget { count } else { budget + 1 };
        }
    }

    /// Join `piece` to passage `j` (whose chunks are `run`) at position `at`: whole, or, at the
    /// end of a verbatim passage, cut to fit. Returns the passage's chunks when it fits.
    fn extend(
        &self,
        pack: &mut ContextPack,
        j: usize,
        run: &[Piece],
        at: usize,
        piece: &Piece,
    ) -> Result<Option<Vec<Piece>>> {
        let before = pack.passages[j].clone();
        let mut pieces = run.to_vec();
        pieces.insert(at, piece.clone());
        let joined = candidate(pieces);
        pack.passages[j] = joined.passage(j + 1, &joined.pieces, false);
        if self.settle(pack)?.is_some() {
            return Ok(Some(joined.pieces));
        }
        if at == run.len() && piece.is_verbatim() {
            let alone = candidate(vec![piece.clone()]);
            let cuts: Vec<usize> = alone
                .cuts()
                .into_iter()
                .filter_map(|(_, len)| len)
                .collect();
            // As in `add`: the shortest cut first, the search only when it fits.
            let fits = |cut: usize, pack: &mut ContextPack| -> Result<Option<Vec<Piece>>> {
                let mut kept = run.to_vec();
                kept.push(piece.cut(cut));
                pack.passages[j] = joined.passage(j + 1, &kept, true);
                Ok(self.settle(pack)?.map(|_| kept))
            };
            let mut best = match cuts.first() {
                Some(&shortest) => fits(shortest, pack)?,
                None => None,
            };
            let (mut lo, mut hi) = (1, if best.is_some() { cuts.len() } else { 0 });
            while lo < hi {
                let mid = (lo + hi) / 2;
                let mut kept = run.to_vec();
                kept.push(piece.cut(cuts[mid]));
                pack.passages[j] = joined.passage(j + 1, &kept, true);
                if self.settle(pack)?.is_some() {
                    best = Some(kept);
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if let Some(kept) = best {
                pack.passages[j] = joined.passage(j + 1, &kept, true);
                return Ok(Some(kept));
            }
        }
        pack.passages[j] = before;
        Ok(None)
    }

    /// Add the candidate to the pack, whole or cut to fit; false when no cut fits.
    fn add(&self, pack: &mut ContextPack, candidate: &Candidate) -> Result<bool> {
        let number = pack.passages.len() + 1;
        let may_fit = lower_bound(pack);
        pack.passages
            .push(candidate.passage(number, &candidate.pieces, false));
        if may_fit(&candidate.text()) && self.settle(pack)?.is_some() {
            return Ok(true);
        }
        let cuts = candidate.cuts();
        // When even the shortest cut does not fit, nothing does (one short count, where the
        // search below would count long texts: once the budget is full, every later candidate
        // stops here).
        let Some(&shortest) = cuts.first() else {
            pack.passages.pop();
            return Ok(false);
        };
        *pack.passages.last_mut().expect("pushed above") =
            candidate.passage(number, &candidate.cut(shortest), true);
        if self.settle(pack)?.is_none() {
            pack.passages.pop();
            return Ok(false);
        }
        // The longest cut that fits: the count grows with the text kept.
        let (mut lo, mut hi) = (1, cuts.len());
        let mut best = Some(0);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let kept = candidate.cut(cuts[mid]);
            if !may_fit(&join(&kept)) {
                hi = mid;
                continue;
            }
            *pack.passages.last_mut().expect("pushed above") =
                candidate.passage(number, &kept, true);
            if self.settle(pack)?.is_some() {
                best = Some(mid);
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        match best {
            Some(i) => {
                *pack.passages.last_mut().expect("pushed above") =
                    candidate.passage(number, &candidate.cut(cuts[i]), true);
                Ok(true)
            }
            None => {
                pack.passages.pop();
                Ok(false)
            }
        }
    }
}

/// The note a pack's header takes when no token count can state itself exactly without it
/// (see `Packer::settle`).
pub const COUNT_NOTE: &str = "the token count includes this note";

/// Tokens the header may shed between two counts (the `left out` line changing or going):
/// the slack of [`lower_bound`].
const HEADER_SLACK: usize = 12;

/// A test that passes every text that may fit in `pack` as one more passage, by a lower bound
/// on its tokens: every word is at least one token, on top of what the pack held at its last
/// count (less [`HEADER_SLACK`]). It spares counting long texts that cannot fit.
fn lower_bound(pack: &ContextPack) -> impl Fn(&str) -> bool {
    let (floor, budget) = (pack.tokens_used.saturating_sub(HEADER_SLACK), pack.budget);
    move |text: &str| floor + text.split_whitespace().count() <= budget
}

#[cfg(test)]
mod tests {
    use super::super::candidates::candidates_of;
    use super::super::candidates::tests::hit;
    use super::*;
    use crate::model::{content_hash, SourceFormat};
    use crate::query::{Mode, SearchHit, SearchResponse};

    fn counter() -> TokenCounter {
        TokenCounter::load(&crate::embed::resolve_model_dir(None)).unwrap()
    }

    /// The pack `Index::context` makes of `hits` (found in that order) within `budget`.
    fn pack(counter: &TokenCounter, hits: &[SearchHit], budget: usize) -> Result<ContextPack> {
        let request = ContextRequest::new("what was said?", budget);
        let response = SearchResponse {
            query: request.question.clone(),
            mode: Mode::Lexical,
            mode_used: Mode::Lexical,
            hits: hits.to_vec(),
            notes: Vec::new(),
        };
        fill(&request, counter, &candidates_of(hits), &response, 0, true)
    }

    #[test]
    fn adjacent_chunks_of_one_document_merge_and_keep_a_span_each() {
        let hits = vec![
            hit(1, "a", 3, 300, "three"),
            hit(2, "b", 0, 0, "other"),
            hit(3, "a", 2, 200, "two"),
            hit(4, "a", 5, 500, "five"),
            hit(5, "a", 4, 400, "four"),
            hit(6, "a", 0, 0, "zero"),
        ];
        let pack = pack(&counter(), &hits, 10_000).unwrap();
        let got: Vec<(usize, usize, Vec<&str>)> = pack
            .passages
            .iter()
            .map(|p| {
                let ids = p.spans.iter().map(|s| s.chunk_id.as_str()).collect();
                (p.number, p.rank, ids)
            })
            .collect();
        // `a#5` is placed (after `b#0` and `a#2`, documents diversified) before `a#4` comes:
        // `a#4` then joins the first passage that takes it, and a chunk never bridges two.
        assert_eq!(
            got,
            vec![
                (1, 1, vec!["a#2", "a#3", "a#4"]),
                (2, 2, vec!["b#0"]),
                (3, 4, vec!["a#5"]),
                (4, 6, vec!["a#0"]),
            ]
        );
        let passage = &pack.passages[0];
        assert_eq!(passage.text, "two\n\nthree\n\nfour");
        assert_eq!(passage.spans[1].byte_range, [300, 305]);
        assert_eq!(passage.spans[1].content_hash, content_hash("three"));
        assert_eq!(pack.num_left_out, 0);
        assert!(!pack.truncated);
    }

    #[test]
    fn a_chunk_joined_at_the_end_is_cut_to_fit_and_re_reads_exactly() {
        let first = "alpha beta gamma delta epsilon zeta eta theta iota\nkappa lambda mu";
        let second = "nu xi omicron pi rho sigma tau upsilon phi chi psi omega ".repeat(4);
        let source = format!("# Notes\n\n{first}\n\n{}", second.trim_end());
        let start = source.len() - second.trim_end().len();
        let mut hits = vec![
            hit(1, "n", 1, 9, first),
            hit(2, "n", 2, start, &source[start..]),
        ];
        for h in &mut hits {
            let [s, e] = h.provenance.byte_range;
            let line = 1 + source[..s].matches('\n').count();
            h.provenance.line_range = [line, line + source[s..e].matches('\n').count()];
        }
        let counter = counter();
        let whole = pack(&counter, &hits, 10_000).unwrap();
        assert_eq!(whole.passages.len(), 1);
        assert_eq!(whole.passages[0].spans.len(), 2);
        let mut joined_cut = 0;
        for budget in 1..=whole.tokens_used {
            let Ok(pack) = pack(&counter, &hits, budget) else {
                continue;
            };
            assert!(pack.tokens_used <= budget);
            for p in &pack.passages {
                let texts: Vec<&str> = p
                    .spans
                    .iter()
                    .map(|s| &source[s.byte_range[0]..s.byte_range[1]])
                    .collect();
                assert_eq!(p.text, texts.join("\n\n"), "budget {budget}");
                for (span, text) in p.spans.iter().zip(&texts) {
                    assert_eq!(span.content_hash, content_hash(text));
                    let line = 1 + source[..span.byte_range[0]].matches('\n').count();
                    assert_eq!(span.line_range, [line, line + text.matches('\n').count()]);
                }
                if p.truncated && p.spans.len() == 2 {
                    joined_cut += 1;
                }
            }
        }
        assert!(joined_cut > 0, "some budget cuts the joined chunk");
    }

    #[test]
    fn non_verbatim_passages_are_cut_only_between_whole_chunks() {
        let mut hits = vec![
            hit(1, "t", 0, 0, "one two three four five six seven eight nine"),
            hit(2, "t", 1, 60, "ten eleven twelve"),
            hit(3, "t", 2, 90, "thirteen fourteen"),
        ];
        for h in &mut hits {
            h.provenance.format = SourceFormat::Vtt;
            // The cited bytes of a transcript are not its text.
            h.provenance.byte_range[1] += 30;
        }
        assert!(candidates_of(&hits).iter().all(|c| c.cuts().is_empty()));
        let counter = counter();
        let whole = pack(&counter, &hits, 10_000).unwrap();
        assert_eq!(whole.passages.len(), 1);
        let mut sizes = Vec::new();
        for budget in 1..=whole.tokens_used {
            let Ok(pack) = pack(&counter, &hits, budget) else {
                continue;
            };
            for p in &pack.passages {
                assert!(!p.truncated, "budget {budget}");
                for span in &p.spans {
                    let hit = hits.iter().find(|h| h.chunk_id == span.chunk_id).unwrap();
                    assert_eq!(span.byte_range, hit.provenance.byte_range);
                }
                sizes.push(p.spans.len());
            }
        }
        assert!(sizes.contains(&1) && sizes.contains(&2) && sizes.contains(&3));
    }
}
