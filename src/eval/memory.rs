//! Organizational-memory evaluation: labelled questions by type (who decided, when, why, the
//! rule now, the rule at a past date, who owns an action, who knows a system, approval
//! routing), scored on what each type needs.
//!
//! Per type:
//! - **Recall@5** and **MRR@10**: a gold passage in the top 5; the reciprocal rank of the
//!   first one in the top 10 (searched with the question's `as_of`, if any);
//! - **superseded first**: of the questions about a rule (`rule_now`, `rule_past`, or any
//!   question naming records not in force), how many rank a record not in force at the
//!   question's date (labelled superseded or made later, or listed in `not_in_force`) above
//!   the first gold passage in the top 10 (target 0);
//! - **who P@3**: for questions with `gold_people`, the share of the top three people of
//!   [`Index::who`] that are gold, out of `min(3, gold people)` (so one gold person found
//!   first counts 1);
//! - **context**: for each budget, the share of gold quotes the packed context
//!   ([`Index::context`]) contains, the share of questions whose context holds at least one
//!   (gold passages are alternatives), and the share of its citations whose byte range
//!   re-reads from the source file to exactly the cited text with the cited hash.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::questions::{is_gold, squash, Question};
use crate::error::Result;
use crate::index::Index;
use crate::load::excerpt;
use crate::memory::{ContextPack, ContextRequest, Status, WhoRequest};
use crate::model::content_hash;
use crate::query::{Mode, RankingOptions, SearchHit, SearchRequest};

/// Types whose questions are checked for records not in force ranking first.
const RULE_TYPES: &[&str] = &["rule_now", "rule_past"];

/// How one question fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryOutcome {
    /// Question id.
    pub id: String,
    /// Its type.
    pub kind: String,
    /// Rank of the first gold passage in the top 10.
    pub first_gold_rank: Option<usize>,
    /// Whether it was checked for records not in force ranking first, and whether one did.
    pub superseded_first: Option<bool>,
    /// The top three people `who` ranked, when the question names gold people.
    pub who_top3: Vec<String>,
    /// Gold people among them.
    pub who_found: usize,
    /// Per budget: (budget, gold quotes found, gold quotes, citations re-read exactly,
    /// citations, tokens used).
    pub context: Vec<ContextOutcome>,
}

/// How the packed context of one question fared at one budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextOutcome {
    /// Token budget.
    pub budget: usize,
    /// Tokens the pack used.
    pub tokens: usize,
    /// Gold quotes it contains.
    pub quotes_found: usize,
    /// Gold quotes.
    pub quotes: usize,
    /// Citations that re-read exactly.
    pub citations_exact: usize,
    /// Citations.
    pub citations: usize,
}

/// The figures of one type (or of all questions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeFigures {
    /// The type (`all` for the total).
    pub kind: String,
    /// Questions.
    pub questions: usize,
    /// Recall@5.
    pub recall_at_5: f64,
    /// MRR@10.
    pub mrr_at_10: f64,
    /// Questions checked for records not in force ranking first.
    pub superseded_checked: usize,
    /// Of those, how many ranked one above the gold passage.
    pub superseded_first: usize,
    /// Questions with gold people.
    pub who_questions: usize,
    /// Mean precision@3 of `who` over them.
    pub who_precision_at_3: Option<f64>,
    /// Per budget: share of gold quotes in the packed context.
    pub context_quote_share: BTreeMap<usize, f64>,
    /// Per budget: share of questions whose packed context holds at least one gold quote.
    pub context_question_share: BTreeMap<usize, f64>,
    /// Per budget: citations re-read exactly, of all.
    pub context_citations: BTreeMap<usize, (usize, usize)>,
    /// Per budget: largest number of tokens a pack used.
    pub context_max_tokens: BTreeMap<usize, usize>,
}

/// The report of [`evaluate_memory`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryReport {
    /// Mode searched.
    pub mode: Mode,
    /// Context budgets tried.
    pub budgets: Vec<usize>,
    /// Per type, in name order.
    pub types: Vec<TypeFigures>,
    /// Over all questions.
    pub all: TypeFigures,
    /// Per question.
    pub questions: Vec<MemoryOutcome>,
}

/// Score every question (see the module documentation); `budgets` are the context budgets
/// tried (none: context is not packed).
pub fn evaluate_memory(
    index: &Index,
    questions: &[Question],
    mode: Mode,
    ranking: RankingOptions,
    budgets: &[usize],
) -> Result<MemoryReport> {
    let mut outcomes = Vec::with_capacity(questions.len());
    for q in questions {
        let response = index.search(&SearchRequest {
            text: q.question.clone(),
            k: 10,
            mode,
            ranking,
            as_of: q.as_of,
            ..SearchRequest::default()
        })?;
        let first = response.hits.iter().position(|h| is_gold(h, &q.gold));
        let checked = RULE_TYPES.contains(&q.kind()) || !q.not_in_force.is_empty();
        let superseded_first = checked.then(|| {
            let until = first.unwrap_or(response.hits.len());
            response.hits[..until]
                .iter()
                .any(|h| not_in_force(h, &q.not_in_force))
        });
        let (who_top3, who_found) = if q.gold_people.is_empty() {
            (Vec::new(), 0)
        } else {
            let who = index.who(&WhoRequest {
                topic: q.question.clone(),
                as_of: q.as_of,
                limit: 3,
                mode,
                ..WhoRequest::default()
            })?;
            let top: Vec<String> = who.people.into_iter().map(|p| p.name).collect();
            let found = top
                .iter()
                .filter(|n| q.gold_people.iter().any(|g| g.eq_ignore_ascii_case(n)))
                .count();
            (top, found)
        };
        let mut context = Vec::new();
        for &budget in budgets {
            let pack = index.context(&ContextRequest {
                as_of: q.as_of,
                mode,
                ranking,
                ..ContextRequest::new(q.question.clone(), budget)
            })?;
            context.push(score_pack(&pack, q));
        }
        outcomes.push(MemoryOutcome {
            id: q.id.clone(),
            kind: q.kind().to_string(),
            first_gold_rank: first.map(|i| i + 1),
            superseded_first,
            who_top3,
            who_found,
            context,
        });
    }
    let mut by_type: BTreeMap<&str, Vec<(&Question, &MemoryOutcome)>> = BTreeMap::new();
    for (q, o) in questions.iter().zip(&outcomes) {
        by_type.entry(q.kind()).or_default().push((q, o));
    }
    let types = by_type
        .iter()
        .map(|(kind, rows)| figures(kind, rows, budgets))
        .collect();
    let everything: Vec<(&Question, &MemoryOutcome)> = questions.iter().zip(&outcomes).collect();
    Ok(MemoryReport {
        mode,
        budgets: budgets.to_vec(),
        types,
        all: figures("all", &everything, budgets),
        questions: outcomes,
    })
}

/// True when a hit is from a record not in force at the question's date.
fn not_in_force(hit: &SearchHit, listed: &[String]) -> bool {
    if let Some(d) = &hit.decision {
        if d.after_as_of || d.status == Status::Superseded {
            return true;
        }
    }
    let path = hit.provenance.path.replace('\\', "/");
    listed.iter().any(|l| {
        let l = l.trim_start_matches("./");
        path == l || path.ends_with(&format!("/{l}"))
    })
}

/// How a pack covers a question's gold quotes, and whether its citations re-read.
fn score_pack(pack: &ContextPack, q: &Question) -> ContextOutcome {
    let text = squash(
        &pack
            .passages
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let quotes_found = q
        .gold
        .iter()
        .filter(|g| text.contains(&squash(&g.quote)))
        .count();
    let checks = reread_citations(pack);
    ContextOutcome {
        budget: pack.budget,
        tokens: pack.tokens_used,
        quotes_found,
        quotes: q.gold.len(),
        citations_exact: checks.iter().filter(|ok| **ok).count(),
        citations: checks.len(),
    }
}

/// For each citation of a pack, in order: whether its byte range, re-read from the source
/// file now, gives text with the cited hash that the passage holds.
pub fn reread_citations(pack: &ContextPack) -> Vec<bool> {
    let mut files: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::new();
    for p in &pack.passages {
        for s in &p.spans {
            let text = files
                .entry(s.path.clone())
                .or_insert_with(|| std::fs::read_to_string(&s.path).ok());
            let ok = text
                .as_deref()
                .and_then(|t| t.get(s.byte_range[0]..s.byte_range[1]))
                .map(|raw| excerpt(s.format, raw))
                .is_some_and(|cited| {
                    content_hash(&cited) == s.content_hash && p.text.contains(&cited)
                });
            out.push(ok);
        }
    }
    out
}

fn figures(kind: &str, rows: &[(&Question, &MemoryOutcome)], budgets: &[usize]) -> TypeFigures {
    let n = rows.len().max(1) as f64;
    let recall_at_5 = rows
        .iter()
        .filter(|(_, o)| o.first_gold_rank.is_some_and(|r| r <= 5))
        .count() as f64
        / n;
    let mrr_at_10 = rows
        .iter()
        .map(|(_, o)| o.first_gold_rank.map_or(0.0, |r| 1.0 / r as f64))
        .sum::<f64>()
        / n;
    let checked: Vec<bool> = rows
        .iter()
        .filter_map(|(_, o)| o.superseded_first)
        .collect();
    let who: Vec<f64> = rows
        .iter()
        .filter(|(q, _)| !q.gold_people.is_empty())
        .map(|(q, o)| o.who_found as f64 / q.gold_people.len().min(3) as f64)
        .collect();
    let mut context_quote_share = BTreeMap::new();
    let mut context_question_share = BTreeMap::new();
    let mut context_citations = BTreeMap::new();
    let mut context_max_tokens = BTreeMap::new();
    for (i, &budget) in budgets.iter().enumerate() {
        let (mut found, mut quotes, mut exact, mut cited, mut max_tokens) = (0, 0, 0, 0, 0);
        let mut answered = 0;
        for (_, o) in rows {
            if let Some(c) = o.context.get(i) {
                answered += usize::from(c.quotes_found > 0);
                found += c.quotes_found;
                quotes += c.quotes;
                exact += c.citations_exact;
                cited += c.citations;
                max_tokens = max_tokens.max(c.tokens);
            }
        }
        context_quote_share.insert(budget, found as f64 / quotes.max(1) as f64);
        context_question_share.insert(budget, answered as f64 / rows.len().max(1) as f64);
        context_citations.insert(budget, (exact, cited));
        context_max_tokens.insert(budget, max_tokens);
    }
    TypeFigures {
        kind: kind.to_string(),
        questions: rows.len(),
        recall_at_5,
        mrr_at_10,
        superseded_checked: checked.len(),
        superseded_first: checked.iter().filter(|b| **b).count(),
        who_questions: who.len(),
        who_precision_at_3: (!who.is_empty()).then(|| who.iter().sum::<f64>() / who.len() as f64),
        context_quote_share,
        context_question_share,
        context_citations,
        context_max_tokens,
    }
}
