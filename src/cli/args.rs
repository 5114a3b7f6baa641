//! The arguments several of lore's commands share: how the retrievers rank
//! ([`RankingArgs`]), the index to inspect ([`InspectArgs`]), `--as USER` ([`AsUser`]), and
//! the values of the global `--query-precision` and `--check-sources`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use lore::{Fusion, Principal, RankingOptions};

use super::values;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum FusionArg {
    /// Reciprocal rank fusion.
    Rrf,
    /// Weighted sum of min-max normalised scores.
    Weighted,
}

/// How the retrievers score and how hybrid mode fuses their lists.
#[derive(Debug, Args)]
pub(super) struct RankingArgs {
    /// Hybrid fusion method.
    #[arg(long, value_enum, default_value = "weighted")]
    fusion: FusionArg,
    /// RRF constant k (above 0).
    #[arg(long, default_value_t = lore::DEFAULT_RRF_K, value_parser = values::positive_f32(), allow_negative_numbers = true)]
    rrf_k: f32,
    /// Lexical weight for --fusion weighted, from 0 to 1 (dense gets 1 - w).
    #[arg(long, default_value_t = lore::DEFAULT_LEXICAL_WEIGHT, value_parser = values::weight(), allow_negative_numbers = true)]
    lexical_weight: f32,
    /// Score full text with plain BM25 over the flat passage (no title boost, no proximity
    /// bonus, question words kept), as Pyserini's "flat" baseline.
    #[arg(long)]
    plain_bm25: bool,
    /// Passage context: how far (0 to 1) a passage's score is lifted towards a better-scoring
    /// neighbour in its meeting, thread or page; 0 turns it off.
    #[arg(long, default_value_t = lore::DEFAULT_CONTEXT_WEIGHT, value_parser = values::weight(), allow_negative_numbers = true)]
    context_weight: f32,
}

impl RankingArgs {
    pub(super) fn options(&self) -> RankingOptions {
        RankingOptions {
            lexical: if self.plain_bm25 {
                lore::LexicalScoring::Plain
            } else {
                lore::LexicalScoring::Tuned
            },
            fusion: match self.fusion {
                FusionArg::Rrf => Fusion::Rrf { k: self.rrf_k },
                FusionArg::Weighted => Fusion::Weighted {
                    lexical_weight: self.lexical_weight,
                },
            },
            context_weight: self.context_weight,
        }
    }
}

/// The arguments of the commands that inspect an index (`stats`, `verify`).
#[derive(Debug, Args)]
pub(super) struct InspectArgs {
    /// Index directory (default: $LORE_INDEX).
    #[arg(long, short = 'i', value_name = "DIR", env = "LORE_INDEX")]
    pub(super) index: PathBuf,
    /// Print as JSON.
    #[arg(long)]
    pub(super) json: bool,
}

/// `--as USER`, for the commands that read an index on a user's behalf.
#[derive(Debug, Args)]
pub(crate) struct AsUser {
    /// Ask on behalf of this user: on an index with access control on, only what USER may
    /// read is used (see the README's "Access control"). Without it, the index owner's view.
    #[arg(long = "as", value_name = "USER", env = "LORE_AS")]
    user: Option<String>,
}

impl AsUser {
    /// The principal asked for, if any.
    pub(crate) fn principal(&self) -> Option<Principal> {
        self.user.as_deref().map(Principal::new)
    }
}

/// `--query-precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum PrecisionArg {
    Int8,
    Full,
}

/// `--check-sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum SourceCheckArg {
    Off,
    Metadata,
    Content,
}
