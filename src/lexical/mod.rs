//! Full-text search with tantivy: the only module that knows tantivy.
//!
//! One tantivy document per chunk. Text fields (`title`, `headings`, `body`) use the `lore_en`
//! analyzer (simple tokenizer, lower-casing, ASCII folding, English stop words, English
//! Snowball stemming) and are scored with BM25. `body` holds the title, the heading path and the
//! chunk text together, so a plain query scores like flat BM25 over the whole passage; `title` and
//! `headings` add a small boost. Filter fields are raw, untokenised terms. The chunk itself (text
//! and provenance) is stored as JSON in `record`.

use std::collections::HashSet;
use std::ops::{Bound, Range};
use std::path::Path;

use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, TextAnalyzerBuilder, Tokenizer,
};
use tantivy::{DocAddress, DocId, Index, IndexReader, ReloadPolicy, Score, SegmentReader, Term};

use crate::error::{Error, Result};
use crate::model::{Chunk, Filter};

/// Name of the analyzer used by the text fields.
const ANALYZER: &str = "lore_en";

/// Memory the writer may use before flushing a segment.
const WRITER_MEMORY: usize = 128 * 1024 * 1024;

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

#[derive(Debug, Clone, Copy)]
struct Fields {
    chunk_id: Field,
    doc_id: Field,
    ord: Field,
    title: Field,
    headings: Field,
    body: Field,
    kind: Field,
    format: Field,
    path: Field,
    author: Field,
    speaker: Field,
    tag: Field,
    date: Field,
    meta: Field,
    record: Field,
}

fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        chunk_id: b.add_text_field("chunk_id", STRING | STORED),
        doc_id: b.add_text_field("doc_id", STRING | STORED),
        ord: b.add_u64_field("ord", INDEXED | FAST | STORED),
        title: b.add_text_field("title", text.clone()),
        headings: b.add_text_field("headings", text.clone()),
        body: b.add_text_field("body", text),
        kind: b.add_text_field("kind", STRING),
        format: b.add_text_field("format", STRING),
        path: b.add_text_field("path", STRING),
        author: b.add_text_field("author", STRING),
        speaker: b.add_text_field("speaker", STRING),
        tag: b.add_text_field("tag", STRING),
        date: b.add_i64_field("date", INDEXED | FAST),
        meta: b.add_text_field("meta", STRING),
        record: b.add_text_field("record", STORED),
    };
    (b.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    words().filter(Stemmer::new(Language::English)).build()
}

/// The analyzer's chain up to, not including, stemming: lower-cased, ASCII-folded words of
/// at most 40 bytes, stop words removed.
fn words() -> TextAnalyzerBuilder<impl Tokenizer> {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::new(Language::English).expect("English stop words exist"))
}

fn register(index: &Index) {
    index.tokenizers().register(ANALYZER, analyzer());
}

/// Every directory prefix of a `/`-separated path, with a trailing `/`, plus the path itself.
fn path_prefixes(path: &str) -> Vec<String> {
    let path = path.replace('\\', "/");
    let mut out: Vec<String> = path
        .match_indices('/')
        .map(|(i, _)| path[..=i].to_string())
        .filter(|p| p != "/")
        .collect();
    out.push(path.clone());
    out
}

/// Normalise a user-given path prefix to the form stored by [`path_prefixes`].
fn normalize_prefix(prefix: &str) -> String {
    let p = prefix.replace('\\', "/");
    let p = p.strip_prefix("./").unwrap_or(&p);
    p.to_string()
}

/// A token of analysed text: its byte range in the text and its indexed term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Byte range in the analysed text.
    pub range: Range<usize>,
    /// The term as indexed (lower-cased, stemmed).
    pub term: String,
}

/// Analyse `text` the way the text fields are indexed.
pub fn analyze(text: &str) -> Vec<Token> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        out.push(Token {
            range: t.offset_from..t.offset_to,
            term: t.text.clone(),
        });
    }
    out
}

/// Analyse `text` for finding `terms` (analysed terms, as [`query_tokens`] gives): the same
/// tokens as [`analyze`], except that only words whose first letter starts one of `terms` are
/// stemmed, the others keep their lower-cased form. Stemming never changes a word's first
/// letter, so a word left unstemmed could not have matched; the matches are exactly those of
/// [`analyze`], at a fraction of the cost (snippets analyse every hit's text).
pub fn analyze_for(text: &str, terms: &HashSet<String>) -> Vec<Token> {
    let firsts: HashSet<char> = terms.iter().filter_map(|t| t.chars().next()).collect();
    let mut words = words().build();
    let mut stemmer = TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
        .filter(Stemmer::new(Language::English))
        .build();
    let mut stream = words.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        let term = match t.text.chars().next() {
            Some(c) if firsts.contains(&c) => {
                let mut stemmed = stemmer.token_stream(&t.text);
                match stemmed.advance() {
                    true => stemmed.token().text.clone(),
                    false => t.text.clone(),
                }
            }
            _ => t.text.clone(),
        };
        out.push(Token {
            range: t.offset_from..t.offset_to,
            term,
        });
    }
    out
}

/// Words that frame a question rather than say what it is about: interrogatives, pronouns,
/// auxiliaries and other function words the analyzer's stop list (Lucene's short English one)
/// keeps, and the verbs of asking about a conversation ("what did they *say* / *discuss*",
/// "*summarize* the *discussion*"). Sorted, for binary search.
const QUESTION_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "am",
    "an",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "but",
    "by",
    "can",
    "could",
    "did",
    "discuss",
    "discussed",
    "discusses",
    "discussing",
    "discussion",
    "discussions",
    "do",
    "does",
    "doing",
    "done",
    "for",
    "from",
    "get",
    "got",
    "had",
    "has",
    "have",
    "he",
    "her",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "me",
    "mention",
    "mentioned",
    "more",
    "my",
    "need",
    "now",
    "of",
    "on",
    "or",
    "our",
    "out",
    "over",
    "said",
    "say",
    "says",
    "she",
    "should",
    "so",
    "some",
    "summarise",
    "summarize",
    "talk",
    "talked",
    "talking",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "think",
    "this",
    "those",
    "thought",
    "to",
    "up",
    "us",
    "use",
    "used",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
];

/// The content tokens of a query: its analysed tokens without [`QUESTION_WORDS`], unless the
/// query has nothing else (then all of them). Both the full-text query and the highlighted
/// snippet use these, so "What did Omar say about the billing job?" searches for and highlights
/// `omar`, `bill`, `job`.
pub fn query_tokens(query: &str) -> Vec<Token> {
    let tokens = analyze(query);
    let content: Vec<Token> = tokens
        .iter()
        .filter(|t| {
            let word = query[t.range.clone()].to_lowercase();
            QUESTION_WORDS.binary_search(&word.as_str()).is_err()
        })
        .cloned()
        .collect();
    if content.is_empty() {
        tokens
    } else {
        content
    }
}

/// Writes a new lexical index.
pub struct LexicalWriter {
    writer: tantivy::IndexWriter,
    fields: Fields,
}

impl LexicalWriter {
    /// Create an empty index in `dir` (created if missing).
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (schema, fields) = build_schema();
        let index = Index::create_in_dir(dir, schema)?;
        register(&index);
        let writer = index.writer(WRITER_MEMORY)?;
        Ok(LexicalWriter { writer, fields })
    }

    /// Add one chunk under ordinal `ord`.
    pub fn add(&mut self, ord: u32, chunk: &Chunk) -> Result<()> {
        let f = &self.fields;
        let p = &chunk.provenance;
        let mut doc = tantivy::TantivyDocument::default();
        doc.add_text(f.chunk_id, &chunk.id);
        doc.add_text(f.doc_id, &p.doc_id);
        doc.add_u64(f.ord, u64::from(ord));
        doc.add_text(f.title, &p.title);
        let headings = p.heading_path.join(" / ");
        doc.add_text(f.headings, &headings);
        doc.add_text(f.body, format!("{}\n{}\n{}", p.title, headings, chunk.text));
        doc.add_text(f.kind, p.kind.to_lowercase());
        doc.add_text(f.format, p.format.as_str());
        let mut prefixes = path_prefixes(&p.doc_id);
        prefixes.extend(path_prefixes(&p.path));
        prefixes.sort();
        prefixes.dedup();
        for prefix in prefixes {
            doc.add_text(f.path, prefix);
        }
        for a in &p.authors {
            doc.add_text(f.author, a.to_lowercase());
        }
        for s in &p.speakers {
            doc.add_text(f.speaker, s.to_lowercase());
        }
        for t in &p.tags {
            doc.add_text(f.tag, t.to_lowercase());
        }
        if let Some(days) = p.date.as_deref().and_then(crate::model::parse_date) {
            doc.add_i64(f.date, days);
        }
        for (k, v) in &p.metadata {
            doc.add_text(f.meta, format!("{}={}", k.to_lowercase(), v));
        }
        doc.add_text(f.record, serde_json::to_string(chunk)?);
        self.writer.add_document(doc)?;
        Ok(())
    }

    /// Commit everything added and wait for merges to finish.
    pub fn commit(mut self) -> Result<()> {
        self.writer.commit()?;
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}

/// A lexical search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LexicalHit {
    /// Chunk ordinal.
    pub ord: u32,
    /// BM25 score.
    pub score: f32,
    address: DocAddress,
}

/// Searches an index written by [`LexicalWriter`].
pub struct LexicalReader {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Where each chunk is stored, by ordinal: read from the `ord` column on first use.
    addresses: std::sync::OnceLock<std::result::Result<Vec<DocAddress>, String>>,
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
        let index = Index::open_in_dir(dir)?;
        register(&index);
        let (_, fields) = build_schema();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(LexicalReader {
            index,
            reader,
            fields,
            addresses: std::sync::OnceLock::new(),
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
                    Bound::Included(Term::from_field_i64(f.date, d))
                });
                let upper = until.map_or(Bound::Unbounded, |d| {
                    Bound::Included(Term::from_field_i64(f.date, d))
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

    /// All filters as one non-scoring conjunction, `None` when there are none.
    fn filters_query(&self, filters: &[Filter]) -> Option<Box<dyn Query>> {
        if filters.is_empty() {
            return None;
        }
        let clauses = filters
            .iter()
            .map(|flt| (Occur::Must, self.filter_query(flt)))
            .collect();
        Some(Box::new(ConstScoreQuery::new(
            Box::new(BooleanQuery::new(clauses)),
            0.0,
        )))
    }

    /// BM25 search for `text` among chunks passing `filters`; best first, ties broken by ordinal.
    pub fn search(
        &self,
        text: &str,
        num_hits: usize,
        filters: &[Filter],
        weights: &FieldWeights,
    ) -> Result<Vec<LexicalHit>> {
        let Some(text_query) = self.text_query(text, weights) else {
            return Ok(Vec::new());
        };
        if num_hits == 0 {
            return Ok(Vec::new());
        }
        let query: Box<dyn Query> = match self.filters_query(filters) {
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
        let top = top_docs_in_parallel(&searcher, query.as_ref(), limit, PARALLEL_SEARCH_MIN_DOCS)?;
        let columns = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.fast_fields().u64("ord"))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let ord = columns[address.segment_ord as usize]
                .first(address.doc_id)
                .map(|o| o as u32)
                .ok_or_else(|| Error::Corrupt {
                    dir: Default::default(),
                    reason: format!("chunk without ordinal at {address:?}"),
                })?;
            hits.push(LexicalHit {
                ord,
                score,
                address,
            });
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ord.cmp(&b.ord)));
        hits.truncate(num_hits);
        Ok(hits)
    }

    /// Ordinals (ascending) of the chunks passing `filters`; `None` when there are no filters.
    pub fn filter_ords(&self, filters: &[Filter]) -> Result<Option<Vec<u32>>> {
        let Some(query) = self.filters_query(filters) else {
            return Ok(None);
        };
        let searcher = self.reader.searcher();
        let mut ords = searcher.search(&query, &OrdCollector)?;
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
                .map_err(tantivy::TantivyError::from)?;
            let ords = segment.fast_fields().u64("ord")?;
            for doc_id in segment.doc_ids_alive() {
                let ord = ords.first(doc_id).ok_or_else(|| Error::Corrupt {
                    dir: Default::default(),
                    reason: format!("chunk without ordinal at segment {segment_ord} doc {doc_id}"),
                })? as usize;
                let doc: tantivy::TantivyDocument = store.get(doc_id)?;
                let id = doc
                    .get_first(self.fields.doc_id)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                match out.get_mut(ord) {
                    Some(slot) => *slot = id.to_string(),
                    None => {
                        return Err(Error::Corrupt {
                            dir: Default::default(),
                            reason: format!("chunk ordinal {ord} beyond the chunk count"),
                        })
                    }
                }
            }
        }
        Ok(out)
    }

    /// The stored chunk of a lexical hit.
    pub fn chunk(&self, hit: &LexicalHit) -> Result<Chunk> {
        self.chunk_at(hit.address)
    }

    /// The stored chunk with ordinal `ord`.
    pub fn chunk_by_ord(&self, ord: u32) -> Result<Chunk> {
        let corrupt = |reason: String| Error::Corrupt {
            dir: Default::default(),
            reason,
        };
        let addresses = self
            .addresses
            .get_or_init(|| self.read_addresses().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| corrupt(e.clone()))?;
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
            let ords = segment.fast_fields().u64("ord")?;
            for doc_id in segment.doc_ids_alive() {
                let slot = ords
                    .first(doc_id)
                    .and_then(|ord| out.get_mut(ord as usize))
                    .ok_or_else(|| Error::Corrupt {
                        dir: Default::default(),
                        reason: format!(
                            "chunk without a valid ordinal at segment {segment_ord} doc {doc_id}"
                        ),
                    })?;
                *slot = DocAddress::new(segment_ord as u32, doc_id);
            }
        }
        Ok(out)
    }

    fn chunk_at(&self, address: DocAddress) -> Result<Chunk> {
        let searcher = self.reader.searcher();
        let doc: tantivy::TantivyDocument = searcher.doc(address)?;
        let json = doc
            .get_first(self.fields.record)
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::Corrupt {
                dir: Default::default(),
                reason: format!("chunk record missing at {address:?}"),
            })?;
        Ok(serde_json::from_str(json)?)
    }

    /// The tantivy index (for statistics).
    pub fn index(&self) -> &Index {
        &self.index
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
) -> Result<Vec<(Score, DocAddress)>> {
    let collector = TopDocs::with_limit(limit).order_by_score();
    let segments = searcher.segment_readers();
    if segments.len() < 2 || searcher.num_docs() < u64::from(min_docs) {
        return Ok(searcher.search(query, &collector)?);
    }
    let weight = query.weight(tantivy::query::EnableScoring::enabled_from_searcher(
        searcher,
    ))?;
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
    Ok(collector.merge_fruits(fruits)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_words_are_sorted_and_left_out_of_queries() {
        assert!(QUESTION_WORDS.windows(2).all(|w| w[0] < w[1]), "sorted");
        let terms: Vec<String> = query_tokens("What did Omar say about the billing job?")
            .into_iter()
            .map(|t| t.term)
            .collect();
        assert_eq!(terms, ["omar", "bill", "job"]);
        let terms: Vec<String> = query_tokens("Summarize the discussion about hiring")
            .into_iter()
            .map(|t| t.term)
            .collect();
        assert_eq!(terms, ["hire"]);
        // A query of nothing but question words keeps them all ("they" is a stop word).
        let terms: Vec<String> = query_tokens("what did they discuss")
            .into_iter()
            .map(|t| t.term)
            .collect();
        assert_eq!(terms, ["what", "did", "discuss"]);
    }

    #[test]
    fn analyzing_for_terms_finds_exactly_what_full_analysis_finds() {
        let text = "Dying policies: the happy skis were generously gentler than early news \
                    about Über-running caddies; Yesterday's yields were dyed, die, dies, dying.";
        let all = analyze(text);
        let every_term: HashSet<String> = all.iter().map(|t| t.term.clone()).collect();
        for query in [
            "die polici",
            "happi ski",
            "generous gentl earli",
            "uber run caddi",
            "yesterday yield dye",
        ] {
            let terms: HashSet<String> = query.split(' ').map(str::to_string).collect();
            let fast = analyze_for(text, &terms);
            let hits = |tokens: &[Token]| -> Vec<(std::ops::Range<usize>, String)> {
                tokens
                    .iter()
                    .filter(|t| terms.contains(&t.term))
                    .map(|t| (t.range.clone(), t.term.clone()))
                    .collect()
            };
            assert_eq!(hits(&fast), hits(&all), "{query}");
            assert_eq!(fast.len(), all.len());
        }
        // With every term of the text wanted, it is the full analysis.
        let fast = analyze_for(text, &every_term);
        let terms = |tokens: &[Token]| tokens.iter().map(|t| t.term.clone()).collect::<Vec<_>>();
        assert_eq!(terms(&fast), terms(&all));
    }

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
            writer.add(ord as u32, chunk).unwrap();
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
            let parallel = top_docs_in_parallel(&searcher, query.as_ref(), limit, 0).unwrap();
            assert_eq!(parallel, sequential, "limit {limit}");
        }
    }

    #[test]
    fn analyzer_stems_and_keeps_offsets() {
        let tokens = analyze("The Contracts were approved");
        let terms: Vec<&str> = tokens.iter().map(|t| t.term.as_str()).collect();
        // Lucene's English stop set (as in Pyserini): "the" goes, "were" stays.
        assert_eq!(terms, vec!["contract", "were", "approv"]);
        assert_eq!(tokens[0].range, 4..13);
    }

    #[test]
    fn path_prefixes_cover_every_directory() {
        assert_eq!(
            path_prefixes("corpus/wiki/a.md"),
            vec!["corpus/", "corpus/wiki/", "corpus/wiki/a.md"]
        );
    }
}
