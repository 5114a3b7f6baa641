//! The shipped corpus's labelled questions.
//!
//! [`Question`]s name gold passages by source path and an exact quote; a hit finds a gold passage
//! when it comes from that file and its text contains the quote (whitespace-insensitive). This is
//! how `corpus/questions.jsonl` is scored by `lore demo`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::error::{Error, Result};
use crate::index::Index;
use crate::query::{Mode, RankingOptions, SearchHit, SearchRequest};

/// A gold passage: a file (path relative to the corpus root) and an exact quote from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gold {
    /// Path of the source file, relative to the corpus root (`decisions/0009-x.md`).
    pub path: String,
    /// Text that occurs in the passage.
    pub quote: String,
}

/// A labelled question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Question id.
    pub id: String,
    /// The question as a user would ask it.
    pub question: String,
    /// Passages that answer it (any one counts).
    pub gold: Vec<Gold>,
    /// What kind of question it is (`rule_now`, `who_knows`, …); untyped questions are
    /// reported as `general`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The date the question is asked at (`rule_past`): searched with that `as_of`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<Date>,
    /// The people a good answer names (canonical names of the people file), for the
    /// questions about people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gold_people: Vec<String>,
    /// Decision records on the topic that were not in force at the question's date: none of
    /// them may rank above the gold passage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_in_force: Vec<String>,
}

impl Question {
    /// The question's type, `general` when untyped.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("general")
    }
}

/// Read a questions file (one JSON [`Question`] per line; blank lines ignored).
pub fn read_questions(path: &Path) -> Result<Vec<Question>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| Error::load_at(path, i + 1, e.to_string()))
        })
        .collect()
}

/// Whitespace squashed to single spaces.
pub(crate) fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when `hit` is one of `gold`'s passages.
pub fn is_gold(hit: &SearchHit, gold: &[Gold]) -> bool {
    let path = hit.provenance.path.replace('\\', "/");
    let text = squash(&hit.text);
    gold.iter().any(|g| {
        let gp = g.path.trim_start_matches("./");
        (path == gp || path.ends_with(&format!("/{gp}"))) && text.contains(&squash(&g.quote))
    })
}

/// The outcome of one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionResult {
    /// Question id.
    pub id: String,
    /// 1-based rank of the first gold hit within the top `k`, if any.
    pub first_gold_rank: Option<usize>,
}

/// Recall@k over questions: the share of questions with a gold passage in the top `k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecallReport {
    /// Mode evaluated.
    pub mode: Mode,
    /// Cut-off.
    pub k: usize,
    /// Share of questions answered within the top `k`.
    pub recall: f64,
    /// Per question.
    pub results: Vec<QuestionResult>,
}

/// Run every question through `index` in `mode` (hybrid fusing with `fusion`) and measure
/// Recall@k.
pub fn recall_at_k(
    index: &Index,
    questions: &[Question],
    mode: Mode,
    k: usize,
    ranking: RankingOptions,
) -> Result<RecallReport> {
    let mut results = Vec::with_capacity(questions.len());
    for q in questions {
        let response = index.search(&SearchRequest {
            text: q.question.clone(),
            k,
            mode,
            ranking,
            as_of: q.as_of,
            ..SearchRequest::default()
        })?;
        let first_gold_rank = response
            .hits
            .iter()
            .position(|h| is_gold(h, &q.gold))
            .map(|i| i + 1);
        results.push(QuestionResult {
            id: q.id.clone(),
            first_gold_rank,
        });
    }
    let found = results
        .iter()
        .filter(|r| r.first_gold_rank.is_some())
        .count();
    Ok(RecallReport {
        mode,
        k,
        recall: if questions.is_empty() {
            0.0
        } else {
            found as f64 / questions.len() as f64
        },
        results,
    })
}
