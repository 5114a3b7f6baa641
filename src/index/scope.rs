//! A principal's view of an open index: the chunks it may read, the full-text statistics of
//! those chunks, and the decision ledger of its documents alone (see [`crate::access`]).
//!
//! Every read operation of [`Index`] asks for the scope of its request's principal first and
//! then works inside it: retrievers filter before they rank, BM25 counts only what the scope
//! holds, and supersession, histories and `who` read the scope's own ledger, whose links are
//! resolved among the entries the principal can see. What lies outside a scope leaves no
//! trace in an answer: the answer is the one an index of the readable documents alone gives.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::Index;
use crate::access::{AccessControl, AccessPolicy, Principal};
use crate::error::{Error, Result};
use crate::layout::ACCESS;
use crate::lexical::Visible;
use crate::memory::Ledger;

/// Scopes kept per open index (one per distinct set of reader tokens); the cache is emptied
/// when full.
const MAX_SCOPES: usize = 256;

/// What one principal may read in one generation.
#[derive(Debug)]
pub(crate) struct Scope {
    /// The readable chunks and their statistics.
    pub(crate) visible: Visible,
    /// The readable documents.
    pub(crate) num_documents: usize,
    /// The ledger of the readable documents, links resolved among them.
    pub(crate) ledger: Ledger,
    /// The source files it reads only in part (see [`crate::cite`]).
    pub(crate) partly_readable: HashSet<String>,
    /// The metadata fields of the readable documents (`None`: not recorded by the build).
    pub(crate) metadata_keys: Option<BTreeSet<String>>,
}

/// The scopes of an open index, by token set.
#[derive(Debug, Default)]
pub(crate) struct Scopes(Mutex<HashMap<BTreeSet<String>, Arc<Scope>>>);

impl Index {
    /// The access control of this generation (read on first use).
    pub(crate) fn access(&self) -> Result<&AccessControl> {
        self.access
            .get_or_try_init(|| self.read_json(&self.access_file, ACCESS))
    }

    /// Whether access control is on for this index: built with an access file, or some
    /// document names its readers.
    pub fn access_control(&self) -> Result<bool> {
        Ok(self.access()?.enabled)
    }

    /// The scope of `principal`: `None` (everything) for the index owner (no principal) or
    /// when access control is off.
    pub(crate) fn scope(&self, principal: Option<&Principal>) -> Result<Option<Arc<Scope>>> {
        let Some(principal) = principal else {
            return Ok(None);
        };
        let access = self.access()?;
        if !access.enabled {
            return Ok(None);
        }
        let tokens = access.tokens_of(principal, self.people()?);
        let mut scopes = self
            .scopes
            .0
            .lock()
            .map_err(|_| Error::bug("the scope cache was poisoned"))?;
        if let Some(scope) = scopes.get(&tokens) {
            return Ok(Some(Arc::clone(scope)));
        }
        let list: Vec<String> = tokens.iter().cloned().collect();
        let visible = self.lexical.visible(&list)?;
        let readable = access.readable(&tokens);
        let ledger = Ledger::new(
            self.ledger()?
                .entries()
                .iter()
                .filter(|e| readable.contains(&e.doc_id))
                .cloned()
                .collect(),
        );
        let scope = Arc::new(Scope {
            visible,
            num_documents: readable.len(),
            ledger,
            partly_readable: access.partly_readable_files(&tokens),
            metadata_keys: access.metadata_keys_for(Some(&tokens)),
        });
        if scopes.len() >= MAX_SCOPES {
            scopes.clear();
        }
        scopes.insert(tokens, Arc::clone(&scope));
        Ok(Some(scope))
    }

    /// The metadata fields a filter may name in `scope` (`None` for the whole index): those of
    /// the documents it may read; `None` when the build did not record them.
    pub(crate) fn metadata_keys_in(
        &self,
        scope: Option<&Scope>,
    ) -> Result<Option<BTreeSet<String>>> {
        Ok(match scope {
            Some(scope) => scope.metadata_keys.clone(),
            None => self.access()?.metadata_keys_for(None),
        })
    }

    /// The ledger a scope sees: its own, or the whole index's.
    pub(crate) fn ledger_in<'a>(&'a self, scope: Option<&'a Scope>) -> Result<&'a Ledger> {
        match scope {
            Some(scope) => Ok(&scope.ledger),
            None => self.ledger(),
        }
    }

    /// What `principal` may read, counted (everything for the owner): what `lore stats --as`
    /// shows, and all it shows.
    pub fn readable(&self, principal: Option<&Principal>) -> Result<Readable> {
        let scope = self.scope(principal)?;
        let ledger = self.ledger_in(scope.as_deref())?.tally();
        Ok(match &scope {
            Some(scope) => Readable {
                documents: scope.num_documents,
                chunks: scope.visible.len(),
                ledger,
            },
            None => Readable {
                documents: self.manifest.counts.documents,
                chunks: self.manifest.counts.chunks,
                ledger,
            },
        })
    }

    /// The index's access control as its owner sees it: the policy and how many documents
    /// each set of readers opens.
    pub fn access_summary(&self) -> Result<AccessSummary> {
        let access = self.access()?;
        let mut by_readers: BTreeMap<String, usize> = BTreeMap::new();
        let mut counts = vec![0usize; access.lists.len()];
        for &list in access.documents.values() {
            if let Some(c) = counts.get_mut(list as usize) {
                *c += 1;
            }
        }
        for (list, n) in access.lists.iter().zip(counts) {
            let key = match list.is_empty() {
                true => "(nobody)".to_string(),
                false => list.join(" "),
            };
            *by_readers.entry(key).or_insert(0) += n;
        }
        Ok(AccessSummary {
            enabled: access.enabled,
            file: access.file.clone(),
            policy: access.policy.clone(),
            documents_by_readers: by_readers,
        })
    }
}

/// What a principal may read, counted: see [`Index::readable`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readable {
    /// Documents.
    pub documents: usize,
    /// Chunks.
    pub chunks: usize,
    /// Ledger entries by kind and status (see [`Ledger::tally`]).
    pub ledger: BTreeMap<String, usize>,
}

/// An index's access control: see [`Index::access_summary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessSummary {
    /// Whether access control is on.
    pub enabled: bool,
    /// The access file the index was built with.
    pub file: Option<std::path::PathBuf>,
    /// Its policy.
    pub policy: AccessPolicy,
    /// Documents by their reader tokens (`user:…`, `group:…`, `*`; `~default` for those that
    /// follow the policy's default).
    pub documents_by_readers: BTreeMap<String, usize>,
}
