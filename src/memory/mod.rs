//! What makes an index an organization's memory rather than a search box, built on the index
//! and its search.
//!
//! - [`verify`](Index::verify): re-read every cited source and report the ones that changed,
//!   moved or vanished since indexing, so that a citation handed to an AI prompt can be trusted.

mod verify;

pub use verify::{SourceCheck, SourceStatus, VerifyReport};

#[cfg(doc)]
use crate::Index;
