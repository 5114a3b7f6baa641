//! The chunks one principal may read, and full-text statistics computed over those chunks
//! alone, so that no BM25 score depends on a chunk the principal may not read (see
//! [`crate::access`]).

use std::collections::HashMap;

use tantivy::collector::DocSetCollector;
use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, Searcher, Term, TERMINATED};

use super::engine;
use super::reader::LexicalReader;
use crate::error::{Error, Result};

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

impl LexicalReader {
    /// The chunks whose readers include any of `tokens`, with their statistics.
    pub fn visible(&self, tokens: &[String]) -> Result<Visible> {
        let searcher = self.reader.searcher();
        let found = searcher
            .search(&self.readers_query(tokens), &DocSetCollector)
            .map_err(engine(&self.dir))?;
        let mut segments: Vec<Vec<bool>> = searcher
            .segment_readers()
            .iter()
            .map(|s| vec![false; s.max_doc() as usize])
            .collect();
        for address in &found {
            segments[address.segment_ord as usize][address.doc_id as usize] = true;
        }
        let scored = [self.fields.body, self.fields.title, self.fields.headings];
        let mut num_tokens: HashMap<Field, u64> = scored.iter().map(|&f| (f, 0)).collect();
        let mut ords = Vec::with_capacity(found.len());
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let column = segment
                .fast_fields()
                .u64("ord")
                .map_err(engine(&self.dir))?;
            let norms = scored
                .iter()
                .map(|&f| {
                    segment
                        .get_fieldnorms_reader(f)
                        .map(|r| (f, r))
                        .map_err(engine(&self.dir))
                })
                .collect::<Result<Vec<_>>>()?;
            for (doc, &readable) in segments[segment_ord].iter().enumerate() {
                if !readable {
                    continue;
                }
                let doc = doc as u32;
                let ord = column.first(doc).ok_or_else(|| {
                    Error::corrupt(&self.dir, format!("chunk without ordinal at {doc}"))
                })?;
                ords.push(ord as u32);
                for (field, reader) in &norms {
                    *num_tokens.entry(*field).or_insert(0) += u64::from(reader.fieldnorm(doc));
                }
            }
        }
        ords.sort_unstable();
        Ok(Visible {
            tokens: tokens.to_vec(),
            ords,
            segments,
            num_tokens,
        })
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
