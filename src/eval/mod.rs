//! Measuring retrieval quality.
//!
//! - [`questions`]: the shipped corpus's own questions (gold passages named by file and quote),
//!   scored by `lore demo` as Recall@k.
//! - [`beir`], [`metrics`], [`run`]: labelled data sets in the BEIR layout (corpus, queries,
//!   graded qrels), scored by `lore eval` with trec_eval's conventions (nDCG@10, Recall@10,
//!   Recall@100, MRR@10), with TREC run files for outside checks.

pub mod beir;
pub mod metrics;
pub mod questions;
pub mod run;

pub use beir::{Dataset, EvalQuery};
pub use metrics::{Latency, QueryMetrics, Scored};
pub use questions::{is_gold, read_questions, recall_at_k, Gold, Question, RecallReport};
pub use run::{evaluate_mode, plan, write_trec_run, EvalOptions, ModeResult, Plan};
