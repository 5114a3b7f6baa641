//! Counting what an answer hands out in tokens and fitting it to the request's budget:
//! [`Counter`] (the JSON of items and lists, counted with the model's tokenizer or estimated
//! without one), [`TextTokens`] (token counts of chunk texts, kept across requests),
//! [`ListSyntax`] (a JSON list's own tokens) and the shrink functions that cut an item that
//! does not fit (a hit's text, a decision's rationale and history, a person's evidence).

use std::collections::HashMap;
use std::sync::Mutex;

use once_cell::sync::OnceCell;
use serde::Serialize;

use crate::embed::TokenCounter;
use crate::index::Index;

use super::{ChunkItem, DecisionItem, Hit, PersonItem, ServeError};

/// What an answer hands out item by item: serialized, and counted in tokens.
pub(super) trait Counted: Serialize {
    /// The item with its long text left empty, and that text: counted apart, so that the
    /// text's count can be kept (see [`TextTokens`]). `None`: count the whole item.
    fn split_text(&self) -> Option<(Self, &str)>
    where
        Self: Sized;
}

impl Counted for Hit {
    fn split_text(&self) -> Option<(Self, &str)> {
        let shell = Hit {
            text: String::new(),
            ..self.clone()
        };
        Some((shell, &self.text))
    }
}

impl Counted for ChunkItem {
    fn split_text(&self) -> Option<(Self, &str)> {
        let shell = ChunkItem {
            text: String::new(),
            ..self.clone()
        };
        Some((shell, &self.text))
    }
}

impl Counted for DecisionItem {
    fn split_text(&self) -> Option<(Self, &str)> {
        None
    }
}

impl Counted for PersonItem {
    fn split_text(&self) -> Option<(Self, &str)> {
        None
    }
}

/// Most text counts [`TextTokens`] keeps before starting afresh.
const MAX_KEPT_COUNTS: usize = 200_000;

/// Token counts of chunk texts, kept across requests and generations (the texts of the hits a
/// server hands out repeat; tokenizing one costs about a millisecond per kilobyte).
///
/// An item's JSON is counted as the JSON with its text left empty plus the text's JSON-escaped
/// form. That sum is exact when the tokenizer splits at punctuation before anything else (as
/// BERT's WordPiece, the shipped model's, does): a quote always ends a word. It is checked once
/// against the whole count on a sample that starts with punctuation and holds escapes; for a
/// tokenizer where the sum differs, every item is counted whole.
///
/// A list of items is counted the same way: its brackets, plus a comma before every item but
/// the first, plus the items ([`ListSyntax`]), checked once like the text; where that sum
/// differs, the whole list is counted again at each item.
#[derive(Default)]
pub(super) struct TextTokens {
    additive: OnceCell<bool>,
    lists: OnceCell<Option<ListSyntax>>,
    counts: Mutex<HashMap<u64, usize>>,
}

/// Tokens of a JSON list's own syntax, when a list counts as the sum of its parts.
#[derive(Debug, Clone, Copy)]
struct ListSyntax {
    /// `[]`
    brackets: usize,
    /// `,` between two items
    comma: usize,
}

impl TextTokens {
    fn list_syntax(&self, tokens: &TokenCounter) -> Result<Option<ListSyntax>, ServeError> {
        self.lists
            .get_or_try_init(|| {
                let items = [
                    serde_json::json!({"rank": 1, "text": "Raise it, \"now\"", "score": 0.5}),
                    serde_json::json!({"rank": 2, "lines": [3, 4], "people": []}),
                ];
                let syntax = ListSyntax {
                    brackets: tokens.count("[]")?,
                    comma: tokens.count(",")?,
                };
                let whole = tokens.count(&serde_json::Value::from(items.to_vec()).to_string())?;
                let mut parts = syntax.brackets + syntax.comma;
                for item in &items {
                    parts += tokens.count(&item.to_string())?;
                }
                Ok::<_, ServeError>((whole == parts).then_some(syntax))
            })
            .copied()
    }

    fn additive(&self, tokens: &TokenCounter) -> Result<bool, ServeError> {
        self.additive
            .get_or_try_init(|| {
                let text = "## Décision: \"Raise\" it to $75K\n\n- x/y#3 (café, 東京) — ok…\tend";
                let shell = serde_json::json!({"rank": 1, "text": "", "score": 0.5});
                let full = serde_json::json!({"rank": 1, "text": text, "score": 0.5});
                let escaped = serde_json::to_string(text).unwrap_or_default();
                let whole = tokens.count(&full.to_string())?;
                let parts = tokens.count(&shell.to_string())?
                    + tokens.count(&escaped[1..escaped.len() - 1])?;
                Ok::<bool, ServeError>(whole == parts)
            })
            .copied()
    }

    /// Tokens of `text` as it appears inside a JSON string.
    fn count(&self, tokens: &TokenCounter, text: &str) -> Result<usize, ServeError> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        let key = hasher.finish();
        let counts = |c: &Mutex<HashMap<u64, usize>>| {
            c.lock()
                .map(|m| m.get(&key).copied())
                .unwrap_or_else(|e| e.into_inner().get(&key).copied())
        };
        if let Some(n) = counts(&self.counts) {
            return Ok(n);
        }
        let escaped = serde_json::to_string(text)
            .map_err(|e| ServeError::Internal(format!("cannot write JSON: {e}")))?;
        let n = tokens.count(&escaped[1..escaped.len() - 1])?;
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEPT_COUNTS {
            map.clear();
        }
        map.insert(key, n);
        Ok(n)
    }
}

/// Counts the tokens of what an operation hands out.
pub(super) struct Counter<'a> {
    pub(super) index: &'a Index,
    pub(super) texts: &'a TextTokens,
    pub(super) notes: Vec<String>,
}

impl Counter<'_> {
    /// Tokens of `item` as JSON: the model's tokenizer, or (without a model) an estimate,
    /// noted once.
    pub(super) fn count<T: Counted>(&mut self, item: &T) -> Result<usize, ServeError> {
        let json = |item: &T| {
            serde_json::to_string(item)
                .map_err(|e| ServeError::Internal(format!("cannot write JSON: {e}")))
        };
        let tokens = match self.index.token_counter() {
            Ok(tokens) => tokens,
            Err(_) => {
                // Not the error itself: it names the server's model folder (the operator saw
                // it when the server started).
                if self.notes.is_empty() {
                    self.notes.push(
                        "tokens estimated (about 4 bytes a token): the model's tokenizer is unavailable"
                            .to_string(),
                    );
                }
                return Ok(crate::chunk::estimate_tokens(&json(item)?));
            }
        };
        if let Some((shell, text)) = item.split_text() {
            if self.texts.additive(tokens)? {
                return Ok(tokens.count(&json(&shell)?)? + self.texts.count(tokens, text)?);
            }
        }
        Ok(tokens.count(&json(item)?)?)
    }

    /// The syntax of a list as the sum of its parts: the tokenizer's (`None` when it does not
    /// count a list so), or, without a model, the estimate's (a token for each bracket and
    /// comma).
    fn list_syntax(&mut self) -> Result<Option<ListSyntax>, ServeError> {
        match self.index.token_counter() {
            Ok(tokens) => self.texts.list_syntax(tokens),
            Err(_) => Ok(Some(ListSyntax {
                brackets: 2,
                comma: 1,
            })),
        }
    }

    /// Tokens of a list as JSON, `items` and its own syntax.
    pub(super) fn list<T: Counted>(&mut self, items: &[T]) -> Result<usize, ServeError> {
        if let Some(syntax) = self.list_syntax()? {
            let mut n = syntax.brackets + syntax.comma * items.len().saturating_sub(1);
            for item in items {
                n += self.count(item)?;
            }
            return Ok(n);
        }
        // Only a tokenizer counts a list other than as its parts.
        let json = serde_json::to_string(items)
            .map_err(|e| ServeError::Internal(format!("cannot write JSON: {e}")))?;
        let tokens = self.index.token_counter().map_err(ServeError::from)?;
        Ok(tokens.count(&json)?)
    }

    /// Tokens that appending `item` adds to the list `items` as JSON.
    fn added<T: Counted>(&mut self, items: &mut Vec<T>, item: T) -> Result<(usize, T), ServeError> {
        if let Some(syntax) = self.list_syntax()? {
            let comma = if items.is_empty() { 0 } else { syntax.comma };
            let n = self.count(&item)?;
            return Ok((comma + n, item));
        }
        let before = self.list(items)?;
        items.push(item);
        let after = self.list(items)?;
        let item = items.pop().expect("just pushed");
        Ok((after.saturating_sub(before), item))
    }

    /// Push `item` onto `out` if what it adds to that list fits what is left of `budget`;
    /// false when there was no item or it did not fit (that side is done).
    pub(super) fn take_if_fits<T: Counted>(
        &mut self,
        item: Option<T>,
        used: &mut usize,
        budget: usize,
        out: &mut Vec<T>,
    ) -> Result<bool, ServeError> {
        let Some(item) = item else {
            return Ok(false);
        };
        let (n, item) = self.added(out, item)?;
        if *used + n > budget {
            return Ok(false);
        }
        *used += n;
        out.push(item);
        Ok(true)
    }

    /// Keep items, in order, while the list of them fits `budget` as JSON: `(kept, left out,
    /// tokens used)`, the tokens counting the list's brackets and commas. The first item that
    /// does not fit is `shrink`-ed (one step a call; false when it can shrink no more) until
    /// it fits, and kept if it does; nothing after it is. A budget below an empty list's
    /// tokens is refused.
    pub(super) fn fit<T: Counted>(
        &mut self,
        items: Vec<T>,
        budget: usize,
        shrink: impl Fn(&mut T) -> bool,
    ) -> Result<(Vec<T>, usize, usize), ServeError> {
        let total = items.len();
        let mut kept = Vec::new();
        let mut used = self.list(&kept)?;
        if used > budget {
            return Err(ServeError::InvalidRequest(format!(
                "budget {budget} is below the {used} tokens of an empty list of results"
            )));
        }
        // The least budget that would have taken the first result, when none fits.
        let mut least = None;
        for item in items {
            let (mut n, mut item) = self.added(&mut kept, item)?;
            if used + n <= budget {
                used += n;
                kept.push(item);
                continue;
            }
            while shrink(&mut item) {
                (n, item) = self.added(&mut kept, item)?;
                if used + n <= budget {
                    used += n;
                    kept.push(item);
                    break;
                }
            }
            if kept.is_empty() {
                least = Some(used + n);
            }
            break;
        }
        let left_out = total - kept.len();
        if left_out > 0 {
            let mut note = format!(
                "{left_out} of {total} results left out to stay within the budget of {budget} tokens"
            );
            if let Some(least) = least {
                note.push_str(&format!(
                    " (the first takes {least} tokens with its list: ask for at least that)"
                ));
            }
            self.notes.push(note);
        }
        Ok((kept, left_out, used))
    }
}

/// Fewest bytes of text a hit cut to fit keeps.
const MIN_CUT_TEXT: usize = 160;

/// Halve a hit's text (at a word boundary, marked `…`); false when it is short already.
pub(super) fn shrink_hit(hit: &mut Hit) -> bool {
    let text = hit.text.trim_end_matches('…');
    if text.len() < 2 * MIN_CUT_TEXT {
        return false;
    }
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = text[..cut].rfind(char::is_whitespace).unwrap_or(cut);
    hit.text = format!("{}…", text[..cut].trim_end());
    hit.truncated = true;
    true
}

/// Drop a decision's rationale, then its history; false when both are gone.
pub(super) fn shrink_decision(d: &mut DecisionItem) -> bool {
    if d.rationale.take().is_some() {
        return true;
    }
    if !d.history.is_empty() {
        d.history.clear();
        return true;
    }
    false
}

/// Drop a person's last piece of evidence; false when none is left.
pub(super) fn shrink_person(p: &mut PersonItem) -> bool {
    p.evidence.pop().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::resolve_model_dir;

    #[test]
    fn a_hit_counted_in_parts_counts_as_a_whole() {
        let tokens = TokenCounter::load(&resolve_model_dir(None)).unwrap();
        let texts = TextTokens::default();
        assert!(
            texts.additive(&tokens).unwrap(),
            "the shipped WordPiece splits at quotes"
        );
        let hit = Hit {
            rank: 3,
            chunk_id: "corpus/decisions/0009-x.md#3".into(),
            score: 0.8125,
            title: "ADR-0009: Raise the outside counsel threshold to $75K".into(),
            path: "corpus/decisions/0009-x.md".into(),
            kind: "decision".into(),
            line_range: Some([27, 31]),
            byte_range: Some([1785, 2159]),
            heading_path: vec!["ADR-0009".into(), "Consequences".into()],
            date: Some("2026-02-10".into()),
            speakers: vec![],
            text: "## Consequences\n\n- \"Spend\" drops to $110K–$130K a year (Tom Okafor).\n- Priya's queue grows; naïve café 東京.".into(),
            truncated: false,
            decision: None,
            stale: None,
        };
        let whole = tokens.count(&serde_json::to_string(&hit).unwrap()).unwrap();
        let index_free = || -> Result<usize, ServeError> {
            let (shell, text) = hit.split_text().unwrap();
            Ok(tokens.count(&serde_json::to_string(&shell).unwrap())?
                + texts.count(&tokens, text)?)
        };
        assert_eq!(index_free().unwrap(), whole);
        // Kept: the second count reads the table.
        assert_eq!(index_free().unwrap(), whole);
        assert_eq!(texts.counts.lock().unwrap().len(), 1);
    }
}
