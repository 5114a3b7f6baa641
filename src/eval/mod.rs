//! Measuring retrieval quality.
//!
//! - questions ([`read_questions`], [`recall_at_k`]): the shipped corpus's own questions (gold
//!   passages named by file and quote), scored by `lore demo` as Recall@k.
//! - data sets, metrics and runs ([`Dataset`], [`plan`], [`evaluate_mode`]): labelled data sets
//!   in the BEIR layout (corpus, queries, graded qrels), scored by `lore eval` with trec_eval's
//!   conventions (nDCG@10, Recall@10, Recall@100, MRR@10), with TREC run files for outside
//!   checks ([`write_trec_run`]).
//! - organizational memory ([`evaluate_memory`]): typed questions (who decided, the rule now
//!   and at a past date, who owns an action, who knows a system, …) scored per type: recall,
//!   records not in force ranked first, `who` precision and packed-context coverage
//!   (`lore eval corpus/questions.jsonl`, `lore demo`).

mod beir;
mod memory;
mod metrics;
mod questions;
mod run;

pub use beir::{Dataset, EvalQuery};
pub use memory::{
    evaluate_memory, reread_citations, ContextOutcome, MemoryOutcome, MemoryReport, TypeFigures,
};
pub use metrics::{Latency, QueryMetrics, Scored};
pub use questions::{is_gold, read_questions, recall_at_k, Gold, Question, RecallReport};
pub use run::{evaluate_mode, plan, write_trec_run, EvalOptions, ModeResult, Plan};
