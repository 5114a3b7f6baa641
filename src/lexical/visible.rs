//! The chunks one principal may read, and full-text statistics computed over those chunks
//! alone, so that no BM25 score depends on a chunk the principal may not read (see
//! [`crate::access`]).

use std::collections::HashMap;

use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, Searcher, Term, TERMINATED};

/// The chunks a holder of some reader tokens may read, in one generation's text index.
#[derive(Debug, Clone)]
pub struct Visible {
    /// The tokens.
    pub(super) tokens: Vec<String>,
    /// Chunk ordinals, ascending.
    pub(crate) ords: Vec<u32>,
    /// Per segment (by segment ordinal), per document id: readable.
    segments: Vec<Vec<bool>>,
    /// Total tokens of each scored field over the readable chunks.
    num_tokens: HashMap<Field, u64>,
}

impl Visible {
    /// The set of `tokens`: `ords` (ascending), which documents of each segment they are, and
    /// the total tokens of each scored field over them.
    pub(super) fn new(
        tokens: Vec<String>,
        ords: Vec<u32>,
        segments: Vec<Vec<bool>>,
        num_tokens: HashMap<Field, u64>,
    ) -> Visible {
        Visible {
            tokens,
            ords,
            segments,
            num_tokens,
        }
    }

    /// Whether chunk `ord` is readable.
    pub(crate) fn contains(&self, ord: u32) -> bool {
        self.ords.binary_search(&ord).is_ok()
    }

    /// Number of readable chunks.
    pub(crate) fn len(&self) -> usize {
        self.ords.len()
    }

    /// BM25 statistics over the readable chunks of `searcher` (the one this set was made on).
    pub(super) fn statistics<'a>(&'a self, searcher: &'a Searcher) -> VisibleStatistics<'a> {
        VisibleStatistics {
            visible: self,
            searcher,
        }
    }
}

/// BM25 statistics of the readable chunks only: document count, field lengths (from the
/// stored field norms) and document frequencies.
pub(super) struct VisibleStatistics<'a> {
    visible: &'a Visible,
    searcher: &'a Searcher,
}

impl Bm25StatisticsProvider for VisibleStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        Ok(self.visible.num_tokens.get(&field).copied().unwrap_or(0))
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.visible.ords.len() as u64)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let mut count = 0u64;
        for (segment_ord, segment) in self.searcher.segment_readers().iter().enumerate() {
            let readable = &self.visible.segments[segment_ord];
            let index = segment.inverted_index(term.field())?;
            let Some(mut postings) = index.read_postings(term, IndexRecordOption::Basic)? else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if readable.get(doc as usize).copied().unwrap_or(false) {
                    count += 1;
                }
                doc = postings.advance();
            }
        }
        Ok(count)
    }
}
