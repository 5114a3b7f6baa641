//! Searching a full-text index: BM25 text queries with field boosts and proximity pairs,
//! filters, and reading stored chunks back by ordinal.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use once_cell::sync::OnceCell;

use tantivy::collector::{Collector, DocSetCollector, SegmentCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::query::{
    Bm25StatisticsProvider, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, DocId, Index, IndexReader, ReloadPolicy, Score, SegmentReader, Term};

use super::analysis::{analyze, query_tokens};
use super::engine;
use super::schema::{build_schema, normalize_prefix, register, Fields};
use super::visible::Visible;
use crate::error::{Error, Result};
use crate::model::{Chunk, Filter};

/// Field boosts for a lexical query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldWeights {
    /// Weight of the flat passage field (title + headings + text).
    pub body: f32,
    /// Extra weight of a title match.
    pub title: f32,
    /// Extra weight of a heading match.
    pub headings: f32,
    /// Weight of each pair of neighbouring query terms that also stand together in the passage.
    pub pairs: f32,
    /// Leave question words out of the query (see [`query_tokens`]).
    pub skip_question_words: bool,
}

impl FieldWeights {
    /// Plain BM25 over the flat passage (title, headings and text), every query term, no
    /// proximity: the setting of Lucene's or Pyserini's "flat" BM25 baselines.
    pub fn plain() -> Self {
        FieldWeights {
            body: 1.0,
            title: 0.0,
            headings: 0.0,
            pairs: 0.0,
            skip_question_words: false,
        }
    }
}

/// Words allowed between the two terms of a proximity pair.
const PAIR_SLOP: u32 = 1;

impl Default for FieldWeights {
    fn default() -> Self {
        FieldWeights {
            body: 1.0,
            title: 0.2,
            headings: 0.2,
            pairs: 0.2,
            skip_question_words: true,
        }
    }
}

/// A lexical search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LexicalHit {
    /// Chunk ordinal.
    pub ord: u32,
    /// BM25 score.
    pub score: f32,
}

/// Searches an index written by [`LexicalWriter`](super::LexicalWriter).
pub struct LexicalReader {
    /// The index directory, named by every error.
    pub(super) dir: PathBuf,
    pub(super) reader: IndexReader,
    pub(super) fields: Fields,
    /// Where each chunk is stored, by ordinal: read from the `ord` column on first use.
    addresses: OnceCell<Vec<DocAddress>>,
}

impl std::fmt::Debug for LexicalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LexicalReader")
            .field("num_chunks", &self.num_chunks())
            .finish()
    }
}

impl LexicalReader {
    /// Open the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let index = Index::open_in_dir(dir).map_err(engine(dir))?;
        register(&index);
        let (_, fields) = build_schema();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(engine(dir))?;
        Ok(LexicalReader {
            reader,
            fields,
            addresses: OnceCell::new(),
            dir: dir.to_path_buf(),
        })
    }

    /// Number of chunks indexed.
    pub fn num_chunks(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The text query for `text`: every analysed term, in every text field, as a disjunction.
    /// `None` when the text has no searchable term.
    fn text_query(&self, text: &str, weights: &FieldWeights) -> Option<Box<dyn Query>> {
        let tokens = if weights.skip_question_words {
            query_tokens(text)
        } else {
            analyze(text)
        };
        let ordered: Vec<String> = tokens.into_iter().map(|t| t.term).collect();
        let mut terms = ordered.clone();
        terms.sort();
        terms.dedup();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, weight) in [
            (self.fields.body, weights.body),
            (self.fields.title, weights.title),
            (self.fields.headings, weights.headings),
        ] {
            if weight <= 0.0 {
                continue;
            }
            for term in &terms {
                let q = TermQuery::new(
                    Term::from_field_text(field, term),
                    IndexRecordOption::WithFreqs,
                );
                let q: Box<dyn Query> = if (weight - 1.0).abs() < f32::EPSILON {
                    Box::new(q)
                } else {
                    Box::new(BoostQuery::new(Box::new(q), weight))
                };
                clauses.push((Occur::Should, q));
            }
        }
        // Proximity: each pair of neighbouring query terms found next to each other (at most
        // one word apart) in the passage adds a little, as in sequential dependence models.
        if weights.pairs > 0.0 {
            for pair in ordered.windows(2).filter(|p| p[0] != p[1]) {
                let mut q = PhraseQuery::new(vec![
                    Term::from_field_text(self.fields.body, &pair[0]),
                    Term::from_field_text(self.fields.body, &pair[1]),
                ]);
                q.set_slop(PAIR_SLOP);
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(q), weights.pairs)),
                ));
            }
        }
        (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
    }

    fn term(&self, field: Field, value: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        ))
    }

    fn filter_query(&self, filter: &Filter) -> Box<dyn Query> {
        let f = &self.fields;
        match filter {
            Filter::Kind(v) => self.term(f.kind, &v.to_lowercase()),
            Filter::Format(v) => self.term(f.format, &v.to_lowercase()),
            Filter::PathPrefix(v) => {
                // `wiki` matches the folder `wiki/` (whole components) or a file named `wiki`.
                let p = normalize_prefix(v);
                let folder = format!("{}/", p.trim_end_matches('/'));
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, self.term(f.path, &p)),
                    (Occur::Should, self.term(f.path, &folder)),
                ]))
            }
            Filter::Author(v) => self.term(f.author, &v.to_lowercase()),
            Filter::Speaker(v) => self.term(f.speaker, &v.to_lowercase()),
            Filter::Person(v) => Box::new(BooleanQuery::new(vec![
                (Occur::Should, self.term(f.author, &v.to_lowercase())),
                (Occur::Should, self.term(f.speaker, &v.to_lowercase())),
            ])),
            Filter::Tag(v) => self.term(f.tag, &v.to_lowercase()),
            Filter::DateRange { since, until } => {
                let lower = since.map_or(Bound::Unbounded, |d| {
                    Bound::Included(Term::from_field_i64(f.date, d.days()))
                });
                let upper = until.map_or(Bound::Unbounded, |d| {
                    Bound::Included(Term::from_field_i64(f.date, d.days()))
                });
                if since.is_none() && until.is_none() {
                    // Still require a date, as documented.
                    Box::new(RangeQuery::new(
                        Bound::Included(Term::from_field_i64(f.date, i64::MIN)),
                        Bound::Unbounded,
                    ))
                } else {
                    Box::new(RangeQuery::new(lower, upper))
                }
            }
            Filter::Meta { key, value } => {
                self.term(f.meta, &format!("{}={}", key.to_lowercase(), value))
            }
        }
    }

    /// The chunks any of whose reader tokens is among `tokens`.
    pub(super) fn readers_query(&self, tokens: &[String]) -> TermSetQuery {
        TermSetQuery::new(
            tokens
                .iter()
                .map(|t| Term::from_field_text(self.fields.readers, t)),
        )
    }

    /// All filters, and the readers of `visible`, as one non-scoring conjunction; `None` when
    /// there are none.
    fn filters_query(
        &self,
        filters: &[Filter],
        visible: Option<&Visible>,
    ) -> Option<Box<dyn Query>> {
        if filters.is_empty() && visible.is_none() {
            return None;
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = filters
            .iter()
            .map(|flt| (Occur::Must, self.filter_query(flt)))
            .collect();
        if let Some(v) = visible {
            clauses.push((Occur::Must, Box::new(self.readers_query(&v.tokens))));
        }
        Some(Box::new(ConstScoreQuery::new(
            Box::new(BooleanQuery::new(clauses)),
            0.0,
        )))
    }

    /// BM25 search for `text` among chunks passing `filters`; best first, ties broken by ordinal.
    /// With `visible`, only among those chunks, scored with their statistics alone.
    pub fn search(
        &self,
        text: &str,
        num_hits: usize,
        filters: &[Filter],
        weights: &FieldWeights,
        visible: Option<&Visible>,
    ) -> Result<Vec<LexicalHit>> {
        let Some(text_query) = self.text_query(text, weights) else {
            return Ok(Vec::new());
        };
        if num_hits == 0 || visible.is_some_and(|v| v.len() == 0) {
            return Ok(Vec::new());
        }
        let query: Box<dyn Query> = match self.filters_query(filters, visible) {
            Some(filter) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, text_query),
                (Occur::Must, filter),
            ])),
            None => text_query,
        };
        let searcher = self.reader.searcher();
        // Fetch a margin beyond `num_hits` so ties at the cut are resolved by ordinal, not by
        // segment order.
        let limit = num_hits + num_hits / 2 + 8;
        let statistics = visible.map(|v| v.statistics(&searcher));
        let top = top_docs_in_parallel(
            &searcher,
            query.as_ref(),
            limit,
            PARALLEL_SEARCH_MIN_DOCS,
            statistics
                .as_ref()
                .map(|s| s as &dyn Bm25StatisticsProvider),
        )
        .map_err(engine(&self.dir))?;
        let columns = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.fast_fields().u64("ord"))
            .collect::<tantivy::Result<Vec<_>>>()
            .map_err(engine(&self.dir))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let ord = columns[address.segment_ord as usize]
                .first(address.doc_id)
                .map(|o| o as u32)
                .ok_or_else(|| {
                    Error::corrupt(&self.dir, format!("chunk without ordinal at {address:?}"))
                })?;
            hits.push(LexicalHit { ord, score });
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ord.cmp(&b.ord)));
        hits.truncate(num_hits);
        Ok(hits)
    }

    /// The ordinal of the chunk whose id is `chunk_id`, if the index holds it.
    pub fn ord_of(&self, chunk_id: &str) -> Result<Option<u32>> {
        let term = Term::from_field_text(self.fields.chunk_id, chunk_id);
        let query = TermQuery::new(term, IndexRecordOption::Basic);
        let ords = self
            .reader
            .searcher()
            .search(&query, &OrdCollector)
            .map_err(engine(&self.dir))?;
        Ok(ords.into_iter().min())
    }

    /// Ordinals (ascending) of the chunks passing `filters` (among `visible`); `None` when
    /// there are no filters and no `visible`.
    pub fn filter_ords(
        &self,
        filters: &[Filter],
        visible: Option<&Visible>,
    ) -> Result<Option<Vec<u32>>> {
        if filters.is_empty() {
            return Ok(visible.map(|v| v.ords.clone()));
        }
        let Some(query) = self.filters_query(filters, visible) else {
            return Ok(None);
        };
        let searcher = self.reader.searcher();
        let mut ords = searcher
            .search(&query, &OrdCollector)
            .map_err(engine(&self.dir))?;
        ords.sort_unstable();
        Ok(Some(ords))
    }

    /// The document id of every chunk, indexed by chunk ordinal.
    pub fn doc_ids_by_ord(&self) -> Result<Vec<String>> {
        let searcher = self.reader.searcher();
        let mut out = vec![String::new(); self.num_chunks() as usize];
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let store = segment
                .get_store_reader(1)
                .map_err(tantivy::TantivyError::from)
                .map_err(engine(&self.dir))?;
            let ords = segment
                .fast_fields()
                .u64("ord")
                .map_err(engine(&self.dir))?;
            for doc_id in segment.doc_ids_alive() {
                let ord = ords.first(doc_id).ok_or_else(|| {
                    Error::corrupt(
                        &self.dir,
                        format!("chunk without ordinal at segment {segment_ord} doc {doc_id}"),
                    )
                })? as usize;
                let doc: tantivy::TantivyDocument = store.get(doc_id).map_err(engine(&self.dir))?;
                let id = doc
                    .get_first(self.fields.doc_id)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                match out.get_mut(ord) {
                    Some(slot) => *slot = id.to_string(),
                    None => {
                        return Err(Error::corrupt(
                            &self.dir,
                            format!("chunk ordinal {ord} beyond the chunk count"),
                        ))
                    }
                }
            }
        }
        Ok(out)
    }

    /// The stored chunk with ordinal `ord`.
    pub fn chunk_by_ord(&self, ord: u32) -> Result<Chunk> {
        let corrupt = |reason: String| Error::corrupt(&self.dir, reason);
        let addresses = self.addresses.get_or_try_init(|| self.read_addresses())?;
        let address = addresses
            .get(ord as usize)
            .filter(|a| a.doc_id != DocId::MAX)
            .ok_or_else(|| {
                corrupt(format!(
                    "no chunk with ordinal {ord} in the full-text index"
                ))
            })?;
        self.chunk_at(*address)
    }

    /// Every chunk's address, by ordinal (`DocId::MAX` for an ordinal no chunk has), from the
    /// `ord` column: a few hundred microseconds for 100,000 chunks, instead of a term query
    /// per chunk read.
    fn read_addresses(&self) -> Result<Vec<DocAddress>> {
        let searcher = self.reader.searcher();
        let mut out = vec![DocAddress::new(0, DocId::MAX); self.num_chunks() as usize];
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let ords = segment
                .fast_fields()
                .u64("ord")
                .map_err(engine(&self.dir))?;
            for doc_id in segment.doc_ids_alive() {
                let slot = ords
                    .first(doc_id)
                    .and_then(|ord| out.get_mut(ord as usize))
                    .ok_or_else(|| {
                        Error::corrupt(
                            &self.dir,
                            format!(
                            "chunk without a valid ordinal at segment {segment_ord} doc {doc_id}"
                        ),
                        )
                    })?;
                *slot = DocAddress::new(segment_ord as u32, doc_id);
            }
        }
        Ok(out)
    }

    fn chunk_at(&self, address: DocAddress) -> Result<Chunk> {
        let searcher = self.reader.searcher();
        let doc: tantivy::TantivyDocument = searcher.doc(address).map_err(engine(&self.dir))?;
        let json = doc
            .get_first(self.fields.record)
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                Error::corrupt(&self.dir, format!("chunk record missing at {address:?}"))
            })?;
        Ok(serde_json::from_str(json)?)
    }
}

/// Indexes at least this large have their segments searched on parallel threads: below it, a
/// thread costs more than it saves.
const PARALLEL_SEARCH_MIN_DOCS: u32 = 20_000;

/// The best `limit` documents for `query`: each segment (a build writes one per indexing
/// thread) searched on its own thread when the index holds at least `min_docs`, then merged. Scoped threads
/// rather than a pool, so that no idle worker spins beside the rest of the search.
fn top_docs_in_parallel(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    limit: usize,
    min_docs: u32,
    statistics: Option<&dyn Bm25StatisticsProvider>,
) -> tantivy::Result<Vec<(Score, DocAddress)>> {
    let collector = TopDocs::with_limit(limit).order_by_score();
    let segments = searcher.segment_readers();
    if segments.len() < 2 || searcher.num_docs() < u64::from(min_docs) {
        return match statistics {
            Some(s) => searcher.search_with_statistics_provider(query, &collector, s),
            None => searcher.search(query, &collector),
        };
    }
    let scoring = match statistics {
        Some(s) => tantivy::query::EnableScoring::enabled_from_statistics_provider(s, searcher),
        None => tantivy::query::EnableScoring::enabled_from_searcher(searcher),
    };
    let weight = query.weight(scoring)?;
    let weight = weight.as_ref();
    let collector = &collector;
    let fruits = std::thread::scope(|scope| {
        let others: Vec<_> = segments
            .iter()
            .enumerate()
            .skip(1)
            .map(|(ord, segment)| {
                scope.spawn(move || collector.collect_segment(weight, ord as u32, segment))
            })
            .collect();
        let mut fruits = vec![collector.collect_segment(weight, 0, &segments[0])];
        for other in others {
            fruits.push(other.join().unwrap_or_else(|_| {
                Err(tantivy::TantivyError::InternalError(
                    "a segment search panicked".into(),
                ))
            }));
        }
        fruits.into_iter().collect::<tantivy::Result<Vec<_>>>()
    })?;
    collector.merge_fruits(fruits)
}

/// Collects the `ord` fast field of every matching document.
struct OrdCollector;

struct OrdSegmentCollector {
    column: Column<u64>,
    ords: Vec<u32>,
}

impl Collector for OrdCollector {
    type Fruit = Vec<u32>;
    type Child = OrdSegmentCollector;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<Self::Child> {
        Ok(OrdSegmentCollector {
            column: segment.fast_fields().u64("ord")?,
            ords: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u32>>) -> tantivy::Result<Vec<u32>> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for OrdSegmentCollector {
    type Fruit = Vec<u32>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(ord) = self.column.first(doc) {
            self.ords.push(ord as u32);
        }
    }

    fn harvest(self) -> Vec<u32> {
        self.ords
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
        Ok(Visible::new(tokens.to_vec(), ords, segments, num_tokens))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexical::LexicalWriter;

    #[test]
    fn segments_searched_in_parallel_give_the_sequential_top() {
        use crate::chunk::{chunk_document, ChunkOptions};
        let dir = tempfile::tempdir().unwrap();
        let words = [
            "budget", "review", "contract", "vendor", "pager", "deploy", "board",
        ];
        let jsonl: String = (0..80)
            .map(|i| {
                let text: Vec<&str> = (0..12)
                    .map(|j| words[(i * 7 + j * j) % words.len()])
                    .collect();
                format!(
                    "{}\n",
                    serde_json::json!({"id": format!("d{i:02}"), "text": text.join(" ")})
                )
            })
            .collect();
        let source: std::sync::Arc<str> = std::sync::Arc::from(jsonl.as_str());
        let (docs, _) = crate::load::jsonl::load_lines(Path::new("/x/a.jsonl"), "a.jsonl", &source);
        let chunks: Vec<Chunk> = docs
            .iter()
            .flat_map(|d| chunk_document(d, &ChunkOptions::default()))
            .collect();
        let mut writer = LexicalWriter::create(dir.path()).unwrap();
        for (ord, chunk) in chunks.iter().enumerate() {
            writer.add(ord as u32, chunk, &[]).unwrap();
            if ord == 40 {
                // A second segment.
                writer.writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        let reader = LexicalReader::open(dir.path()).unwrap();
        let searcher = reader.reader.searcher();
        assert!(searcher.segment_readers().len() >= 2);
        let query = reader
            .text_query("budget review board", &FieldWeights::default())
            .unwrap();
        for limit in [1, 5, 30, 200] {
            let sequential = searcher
                .search(query.as_ref(), &TopDocs::with_limit(limit).order_by_score())
                .unwrap();
            let parallel = top_docs_in_parallel(&searcher, query.as_ref(), limit, 0, None).unwrap();
            assert_eq!(parallel, sequential, "limit {limit}");
        }
    }
}
