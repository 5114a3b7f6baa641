//! What makes an index an organization's memory rather than a search box, built on the index
//! and its search.
//!
//! - [`ledger`](Ledger): the decisions and action items the exports record, with status,
//!   people, dates, exact spans and `supersedes` links; `extract` finds them in each document.
//! - [`decisions`](Index::decisions): the entries that stand at a date, on a topic, with
//!   their history.
//! - [`people`](People): the people file merging name variants, and the names an index met.
//! - [`who`](Index::who): people ranked by the evidence the index holds on a topic.
//! - `supersede`: supersession-aware ranking and the decision label of every hit.
//! - [`pack`](Index::context): the passages that answer a question, merged, deduplicated and
//!   diversified, cited span by span, within a token budget counted by the model's tokenizer.
//! - [`verify`](Index::verify): re-read every cited source and report the ones that changed,
//!   moved or vanished since indexing, so that a citation handed to an AI prompt can be trusted.

mod decisions;
pub(crate) mod extract;
mod ledger;
mod pack;
mod people;
pub(crate) mod supersede;
mod verify;
mod who;

pub use decisions::{DecisionView, DecisionsRequest, DecisionsResponse, HistoryStep, StatusFilter};
pub use ledger::{
    normalize_label, Edge, EntryKind, Ledger, LedgerEntry, Link, Relation, Status, StatusAt,
    UnresolvedLink,
};
pub use pack::{
    ContextPack, ContextRequest, PackFormat, Passage, Span, DEFAULT_NUM_CANDIDATES,
    DUPLICATE_JACCARD, MAX_PER_DOCUMENT, QUESTION_SHARE,
};
pub(crate) use people::find_people_file;
pub use people::{name_key, People, Person};
pub use verify::{SourceCheck, SourceStatus, VerifyReport};
pub use who::{
    Evidence, EvidenceKind, RankedPerson, WhoRequest, WhoResponse, DEFAULT_HALF_LIFE_DAYS,
};

#[cfg(doc)]
use crate::Index;
