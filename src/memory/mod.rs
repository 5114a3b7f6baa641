//! What makes an index an organization's memory rather than a search box, built on the index
//! and its search.
//!
//! - [`ledger`](Ledger): the decisions and action items the exports record, with status,
//!   people, dates, exact spans and `supersedes` links; `extract` finds them in each document.
//! - [`verify`](Index::verify): re-read every cited source and report the ones that changed,
//!   moved or vanished since indexing, so that a citation handed to an AI prompt can be trusted.

pub(crate) mod extract;
mod ledger;
mod verify;

pub use ledger::{
    normalize_label, Edge, EntryKind, Ledger, LedgerEntry, Link, Relation, Status, StatusAt,
    UnresolvedLink,
};
pub use verify::{SourceCheck, SourceStatus, VerifyReport};

#[cfg(doc)]
use crate::Index;
