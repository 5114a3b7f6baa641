//! The data lore works on: [`Document`]s as loaded from exports, their [`Block`]s (the smallest
//! spans a loader recognises), and the [`Chunk`]s that get indexed, each with its [`Provenance`].
//!
//! Spans are byte ranges into the *source file* (not into any decoded copy of it), so a citation
//! can always be checked against the original export: `load::excerpt(format, &file[range])`
//! re-derives exactly the text a chunk claims (for Markdown, plain text and decision records that
//! function is the identity, so the bytes themselves are the text).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::date::Date;

/// The file format a document was loaded from. It decides how raw source bytes turn into text
/// (see `load::excerpt`) and the default [`Document::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// Markdown, with optional YAML front matter.
    Markdown,
    /// Plain text.
    Text,
    /// HTML.
    Html,
    /// WebVTT transcript.
    Vtt,
    /// SubRip transcript.
    Srt,
    /// One JSON record per line (`id`, `title`, `text`, …), e.g. a BEIR `corpus.jsonl`.
    Jsonl,
    /// A Slack-style message export (`channel`, `user`, `ts`, `text`, `thread_ts`).
    Slack,
    /// An architecture/decision record (ADR) in Markdown.
    Decision,
}

impl SourceFormat {
    /// Lower-case name, as stored in the index and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Markdown => "markdown",
            SourceFormat::Text => "text",
            SourceFormat::Html => "html",
            SourceFormat::Vtt => "vtt",
            SourceFormat::Srt => "srt",
            SourceFormat::Jsonl => "jsonl",
            SourceFormat::Slack => "slack",
            SourceFormat::Decision => "decision",
        }
    }

    /// The kind a document of this format gets when its source does not name one.
    pub fn default_kind(self) -> &'static str {
        match self {
            SourceFormat::Markdown | SourceFormat::Text | SourceFormat::Html => "document",
            SourceFormat::Vtt | SourceFormat::Srt => "transcript",
            SourceFormat::Jsonl => "record",
            SourceFormat::Slack => "message",
            SourceFormat::Decision => "decision",
        }
    }

    /// True for transcript formats, whose blocks are speaker turns.
    pub fn is_transcript(self) -> bool {
        matches!(self, SourceFormat::Vtt | SourceFormat::Srt)
    }
}

/// The smallest unit a loader recognises: a paragraph, a list, a code block, a speaker turn
/// (one cue), a record's paragraph. Chunking merges consecutive blocks of one section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Byte range in the source file. `load::excerpt(format, &source[byte_range])` is its text.
    pub byte_range: Range<usize>,
    /// Section number within the document; blocks of different sections are never merged into
    /// one chunk (Markdown heading sections, ADR sections, JSONL records).
    pub section: usize,
    /// Headings enclosing the block, outermost first (e.g. `["Vendor contracts", "Approvals"]`).
    pub heading_path: Vec<String>,
    /// The speaker of a transcript turn or the author of a message.
    pub speaker: Option<String>,
    /// Start time of a transcript cue, in milliseconds.
    pub start_ms: Option<u64>,
    /// End time of a transcript cue, in milliseconds.
    pub end_ms: Option<u64>,
}

/// One loaded document: metadata plus the blocks of its text.
#[derive(Debug, Clone)]
pub struct Document {
    /// Stable id: the record id for JSONL exports, `channel/ts` for Slack messages, otherwise the
    /// file's path relative to the walked root, prefixed with the root's name (`corpus/wiki/x.md`;
    /// the name an index keeps for the folder, which stays when the folder moves), in the
    /// stored form of [`crate::path_text`].
    pub id: String,
    /// The source file (as walked; any bytes).
    pub path: PathBuf,
    /// Title: front matter `title`, the first heading, the record's title, else the file stem.
    pub title: String,
    /// What the document is (`meeting-notes`, `transcript`, `wiki`, `decision`, `message`, …):
    /// from the source when it says, else [`SourceFormat::default_kind`].
    pub kind: String,
    /// The format it was loaded from.
    pub format: SourceFormat,
    /// Date, normalised to `YYYY-MM-DD` when it parses as a date.
    pub date: Option<String>,
    /// Authors (front matter `authors`/`author`, record `author`, message `user`, ADR deciders).
    pub authors: Vec<String>,
    /// Tags from front matter.
    pub tags: Vec<String>,
    /// A URL pointing at the original, when the export has one.
    pub url: Option<String>,
    /// Every other metadata key, values rendered as strings (lists joined with `, `).
    pub metadata: BTreeMap<String, String>,
    /// The whole source file's text, shared by all documents of one file.
    pub source: Arc<str>,
    /// The blocks of the document's text, in source order.
    pub blocks: Vec<Block>,
}

/// A reason an input was not (fully) indexed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file (serialized in its stored form, see [`crate::path_text`]: any name, losslessly).
    #[serde(with = "crate::path_text::serde_path")]
    pub path: PathBuf,
    /// 1-based line, for line-oriented formats.
    pub line: Option<usize>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    /// `path:line: reason`, or `path: reason` without a line; the path printed escaped
    /// ([`crate::path_text::display_path`]), so that any name stays on one line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", crate::path_text::display_path(&self.path))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Where a chunk came from, precisely enough to cite and to re-read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Id of the document the chunk belongs to.
    pub doc_id: String,
    /// Source file path, in its stored form ([`crate::path_text::to_text`]: the file's name
    /// as it is when it is UTF-8, escaped losslessly when it is not; [`crate::path_text::from_text`]
    /// gives back the path to open).
    pub path: String,
    /// Document title.
    pub title: String,
    /// Document kind.
    pub kind: String,
    /// Source format.
    pub format: SourceFormat,
    /// Headings enclosing the chunk, outermost first.
    pub heading_path: Vec<String>,
    /// Byte range `[start, end)` in the source file.
    pub byte_range: [usize; 2],
    /// Line range, 1-based and inclusive: `[first, last]`.
    pub line_range: [usize; 2],
    /// Speakers of the chunk, in order of first appearance.
    pub speakers: Vec<String>,
    /// Start time (ms) of the first transcript cue in the chunk.
    pub start_ms: Option<u64>,
    /// End time (ms) of the last transcript cue in the chunk.
    pub end_ms: Option<u64>,
    /// Document date (`YYYY-MM-DD`).
    pub date: Option<String>,
    /// Document authors.
    pub authors: Vec<String>,
    /// Document URL.
    pub url: Option<String>,
    /// Document tags.
    pub tags: Vec<String>,
    /// Other document metadata.
    pub metadata: BTreeMap<String, String>,
    /// SHA-256 (hex) of the chunk text.
    pub content_hash: String,
}

/// The unit of indexing and retrieval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// `"{doc_id}#{n}"`, n counting from 0 in source order.
    pub id: String,
    /// The chunk's text (exactly `load::excerpt(format, &source[byte_range])`).
    pub text: String,
    /// Where it came from.
    pub provenance: Provenance,
}

/// Hex SHA-256 of some text: the content hash used for chunks and documents.
pub fn content_hash(text: &str) -> String {
    content_hash_bytes(text.as_bytes())
}

/// Hex SHA-256 of some bytes.
pub fn content_hash_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    to_hex(&Sha256::digest(bytes))
}

/// Lower-case hex of some bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Maps byte offsets of a text to 1-based line numbers.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Index the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line of the byte at `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// 1-based inclusive line range of a non-empty byte range.
    pub fn lines_of(&self, range: &Range<usize>) -> [usize; 2] {
        let last = if range.end > range.start {
            range.end - 1
        } else {
            range.start
        };
        [self.line_of(range.start), self.line_of(last)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_reads_as_path_line_reason() {
        let mut s = Skipped {
            path: PathBuf::from("exports/a.jsonl"),
            line: Some(7),
            reason: "not JSON".into(),
        };
        assert_eq!(s.to_string(), "exports/a.jsonl:7: not JSON");
        s.line = None;
        assert_eq!(s.to_string(), "exports/a.jsonl: not JSON");
    }

    #[test]
    fn line_index_maps_offsets_to_lines() {
        let idx = LineIndex::new("ab\ncd\n\nef");
        assert_eq!(idx.line_of(0), 1);
        assert_eq!(idx.line_of(2), 1);
        assert_eq!(idx.line_of(3), 2);
        assert_eq!(idx.line_of(6), 3);
        assert_eq!(idx.line_of(7), 4);
        assert_eq!(idx.lines_of(&(3..6)), [2, 2]);
        assert_eq!(idx.lines_of(&(0..9)), [1, 4]);
    }

    #[test]
    fn content_hash_is_sha256_hex() {
        assert_eq!(
            content_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}

/// A restriction on which chunks a search may return. Text values of kind, author, speaker and
/// tag compare case-insensitively; metadata values compare exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// Document kind equals (e.g. `decision`).
    Kind(String),
    /// Source format equals (e.g. `vtt`).
    Format(String),
    /// Document id or source path starts with this directory prefix (whole components).
    PathPrefix(String),
    /// One of the document's authors is.
    Author(String),
    /// One of the chunk's speakers is.
    Speaker(String),
    /// An author of the document or a speaker of the chunk is.
    Person(String),
    /// The document carries this tag.
    Tag(String),
    /// The document is dated within `[since, until]` (both inclusive, either open); undated
    /// documents never match.
    DateRange {
        /// First day allowed.
        since: Option<Date>,
        /// Last day allowed.
        until: Option<Date>,
    },
    /// Metadata field `key` equals `value` (e.g. `meeting_id=Bed003`).
    Meta {
        /// Metadata key.
        key: String,
        /// Required value.
        value: String,
    },
}
