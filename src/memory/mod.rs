//! What makes an index an organization's memory rather than a search box, built on the index
//! and its search.
//!
//! - [`ledger`](Ledger): the decisions and action items the exports record, with status,
//!   people, dates, exact spans and `supersedes` links; `extract` finds them in each document.
//! - [`pack`](Index::context): the passages that answer a question, merged, deduplicated and
//!   diversified, cited span by span, within a token budget counted by the model's tokenizer.
//! - [`verify`](Index::verify): re-read every cited source and report the ones that changed,
//!   moved or vanished since indexing, so that a citation handed to an AI prompt can be trusted.

pub(crate) mod extract;
mod ledger;
mod pack;
mod verify;

pub use ledger::{
    normalize_label, Edge, EntryKind, Ledger, LedgerEntry, Link, Relation, Status, StatusAt,
    UnresolvedLink,
};
pub use pack::{
    ContextPack, ContextRequest, PackFormat, Passage, Span, DEFAULT_NUM_CANDIDATES,
    DUPLICATE_JACCARD, MAX_PER_DOCUMENT,
};
pub use verify::{SourceCheck, SourceStatus, VerifyReport};

#[cfg(doc)]
use crate::Index;
