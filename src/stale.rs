//! Is a cited source still what the index read? This module alone answers it: every answer
//! that cites a file (search hits, context citations, decisions, `who` evidence, on the CLI and
//! through `lore serve` / `lore mcp`) asks it here, and [`crate::Index::verify`] uses the same notions
//! for a whole index.
//!
//! When a generation is written it records, for every file it read, the file's size and
//! modification time as they were just before the read, and the SHA-256 of the bytes read
//! (`sources.json`, see [`crate::layout`]). An answer checks each file it cites **once per
//! request** ([`SourceChecker`] keeps what it found):
//!
//! 1. **one metadata call** (`stat`): the same size and modification time as recorded — the
//!    file is taken to be what was indexed, and nothing is read;
//! 2. otherwise (or always, with [`SourceChecking::Content`]) the file is **read and hashed**:
//!    the same SHA-256 — it was only touched;
//! 3. otherwise each citation is judged by its own text, as `lore verify` does:
//!    * the cited bytes still give the cited text: the citation holds, nothing is flagged;
//!    * the text is still in the file, at other bytes: [`SourceStatus::Moved`] (with the
//!      lines it is at now, when the format's text is its bytes);
//!    * the text is no longer in the file: [`SourceStatus::Changed`].
//!
//! A file that cannot be read any more (deleted, renamed, moved away, unreadable) is
//! [`SourceStatus::Vanished`] for every citation of it.
//!
//! A decision or action item is read from its whole document (its status, date, people and
//! links may sit anywhere in it), so [`SourceChecker::entry`] flags it as changed whenever the
//! file's bytes differ from what was indexed, even where its own span still holds.
//!
//! The cost, when nothing changed: one `stat` per distinct cited file per request, and reading
//! `sources.json` once per open index (see `benches/RESULTS.md`). A file whose metadata
//! changed but whose bytes did not (a `touch`, a copy that kept the content) is read and
//! hashed on every request until the next `lore index` records its new metadata.
//!
//! Nothing here names a file: the details say what happened, never where, so a server hands
//! them to its callers as they are.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::load::{excerpt, is_verbatim};
use crate::model::{content_hash, content_hash_bytes, LineIndex, Provenance, SourceFormat};

/// How a cited source compares with what the index read of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceStatus {
    /// Every citation re-reads to its text.
    Sound,
    /// The cited text is still in the file, but not at the cited bytes (an edit elsewhere in
    /// the file shifted it): the facts stand, the byte and line ranges do not.
    Moved,
    /// The cited text is no longer in the file (for a decision: the file changed at all).
    Changed,
    /// The file cannot be read any more (deleted, renamed, moved away, unreadable).
    Vanished,
}

impl SourceStatus {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceStatus::Sound => "sound",
            SourceStatus::Moved => "moved",
            SourceStatus::Changed => "changed",
            SourceStatus::Vanished => "vanished",
        }
    }
}

/// Why a citation no longer matches its source: see the `stale` module guide in the source.
/// Answers carry it as `stale` (absent when the source is as indexed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stale {
    /// `moved`, `changed` or `vanished` (never `sound`).
    pub reason: SourceStatus,
    /// What was found, in a few words (no path).
    pub detail: String,
    /// For a moved citation in a file whose text is its bytes (Markdown, plain text, decision
    /// records): the lines, 1-based and inclusive, where the cited text is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_now: Option<[usize; 2]>,
    /// Judged by the whole file rather than the item's own text (a decision, which is read
    /// from its whole document; a hit flagged for its decision): not said to a caller who reads
    /// the file only in part, since the change may be in documents it may not read.
    #[serde(skip)]
    pub(crate) whole_file: bool,
}

impl Stale {
    /// `changed since indexing: the cited text is no longer in the file`, for text output.
    pub fn describe(&self) -> String {
        format!("{} since indexing: {}", self.reason.as_str(), self.detail)
    }

    /// What may be said to a caller who reads the file only in part (see
    /// [`crate::Citations::shows_ranges`]): only what befell the item's own text, or the whole
    /// file vanishing. A moved text is not flagged (the caller is shown no ranges to correct,
    /// and that the text moved would tell of an edit before it), nor anything judged by the
    /// whole file (a decision: the change may be in documents the caller may not read).
    pub fn for_partial_reader(self) -> Option<Stale> {
        let told = match self.reason {
            SourceStatus::Vanished => true,
            SourceStatus::Moved | SourceStatus::Sound => false,
            SourceStatus::Changed => !self.whole_file,
        };
        told.then_some(self)
    }
}

/// How hard an answer checks its sources (see the module guide).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceChecking {
    /// Not at all: no `stale` field is ever set.
    Off,
    /// One metadata call per cited file; the file is read and hashed only when its size or
    /// modification time differs from what was recorded (the default).
    #[default]
    Metadata,
    /// Every cited file is read and hashed, whatever its metadata says (catches an edit that
    /// kept the size and restored the modification time).
    Content,
}

impl SourceChecking {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceChecking::Off => "off",
            SourceChecking::Metadata => "metadata",
            SourceChecking::Content => "content",
        }
    }
}

impl FromStr for SourceChecking {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Ok(SourceChecking::Off),
            "metadata" => Ok(SourceChecking::Metadata),
            "content" => Ok(SourceChecking::Content),
            other => Err(Error::invalid_request(format!(
                "unknown source check `{other}` (expected off, metadata or content)"
            ))),
        }
    }
}

/// A file's size and modification time, as a generation records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileStamp {
    /// Bytes.
    pub(crate) size: u64,
    /// Nanoseconds since the Unix epoch (`None` where the file system keeps none).
    pub(crate) modified_ns: Option<u64>,
}

impl FileStamp {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Self {
        FileStamp {
            size: meta.len(),
            modified_ns: meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .and_then(|d| u64::try_from(d.as_nanos()).ok()),
        }
    }

    /// The stamp of the file at `path` now.
    pub(crate) fn read(path: &Path) -> std::io::Result<Self> {
        std::fs::metadata(path).map(|m| FileStamp::of(&m))
    }
}

/// What a generation records of one source file it read (`sources.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SourceRecord {
    /// As provenance cites it.
    pub(crate) path: String,
    /// SHA-256 of the bytes read.
    pub(crate) sha256: String,
    /// Size and modification time just before the read (`None`: the bytes came from memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stamp: Option<FileStamp>,
}

/// Every source file of a generation, by path.
#[derive(Debug, Default)]
pub(crate) struct SourceRecords {
    by_path: HashMap<String, SourceRecord>,
}

impl SourceRecords {
    pub(crate) fn new(records: Vec<SourceRecord>) -> Self {
        SourceRecords {
            by_path: records.into_iter().map(|r| (r.path.clone(), r)).collect(),
        }
    }

    fn get(&self, path: &str) -> Option<&SourceRecord> {
        self.by_path.get(path)
    }
}

/// What one cited text is: a chunk's (or a decision's) format, bytes and content hash.
pub(crate) struct CitedText<'a> {
    pub(crate) format: SourceFormat,
    pub(crate) byte_range: [usize; 2],
    /// SHA-256 of the text the bytes give through the format's excerpt.
    pub(crate) content_hash: &'a str,
}

impl<'a> CitedText<'a> {
    pub(crate) fn of(p: &'a Provenance) -> Self {
        CitedText {
            format: p.format,
            byte_range: p.byte_range,
            content_hash: &p.content_hash,
        }
    }

    /// Does the cited byte range of `text` (a whole file) still give the cited text?
    pub(crate) fn holds_in(&self, text: &str) -> bool {
        let [start, end] = self.byte_range;
        text.get(start..end)
            .is_some_and(|raw| content_hash(&excerpt(self.format, raw)) == self.content_hash)
    }
}

/// The state of one file, as found once per request.
enum FileState {
    /// As indexed (same metadata, or same bytes).
    Same,
    /// It cannot be read; why.
    Unreadable(String),
    /// It is no longer UTF-8 text.
    NotText,
    /// Its bytes differ from what was indexed (or nothing was recorded of them): its text.
    Differs(FileText),
}

/// The text of a file that differs, and its excerpt, made once (by the format of the first
/// citation that needs it: a file has one format).
struct FileText {
    text: String,
    excerpt: once_cell::unsync::OnceCell<(SourceFormat, String)>,
}

impl FileText {
    /// Is `cited` somewhere in the file's text as `format` reads it?
    fn holds_text(&self, format: SourceFormat, cited: &str) -> bool {
        let (made_for, whole) = self
            .excerpt
            .get_or_init(|| (format, excerpt(format, &self.text)));
        match *made_for == format {
            true => whole.contains(cited),
            false => excerpt(format, &self.text).contains(cited),
        }
    }
}

/// Checks the sources one answer cites, each file once: see the module guide. Made by
/// [`crate::Index::source_checker`], for one request (it is not shared between threads).
pub struct SourceChecker<'a> {
    records: Option<&'a SourceRecords>,
    how: SourceChecking,
    files: RefCell<HashMap<String, FileState>>,
}

impl<'a> SourceChecker<'a> {
    pub(crate) fn new(records: Option<&'a SourceRecords>, how: SourceChecking) -> Self {
        SourceChecker {
            records,
            how,
            files: RefCell::new(HashMap::new()),
        }
    }

    /// A checker that checks nothing.
    pub fn off() -> Self {
        SourceChecker::new(None, SourceChecking::Off)
    }

    /// Look at the file at `path` (once), then apply `f` to what was found.
    fn with_file<T>(&self, path: &str, f: impl FnOnce(&FileState) -> T) -> T {
        if let Some(state) = self.files.borrow().get(path) {
            return f(state);
        }
        let state = self.look(path);
        let out = f(&state);
        self.files.borrow_mut().insert(path.to_string(), state);
        out
    }

    fn look(&self, path: &str) -> FileState {
        let record = self.records.and_then(|r| r.get(path));
        // The path as stored (any bytes, escaped): the file it names.
        let file = crate::path_text::from_text(path);
        let stamp = match FileStamp::read(&file) {
            Ok(stamp) => stamp,
            // Bytes a program gave the writer from memory (`IndexWriter::add_bytes`) name a
            // path that may never have existed: there is no file to compare with.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && record.is_some_and(|r| r.stamp.is_none()) =>
            {
                return FileState::Same
            }
            Err(e) => return FileState::Unreadable(io_reason(&e)),
        };
        if self.how == SourceChecking::Metadata
            && record.is_some_and(|r| r.stamp.as_ref() == Some(&stamp))
        {
            return FileState::Same;
        }
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(e) => return FileState::Unreadable(io_reason(&e)),
        };
        if record.is_some_and(|r| r.sha256 == content_hash_bytes(&bytes)) {
            return FileState::Same;
        }
        match String::from_utf8(bytes) {
            Ok(text) => FileState::Differs(FileText {
                text,
                excerpt: once_cell::unsync::OnceCell::new(),
            }),
            Err(_) => FileState::NotText,
        }
    }

    /// Is the chunk `text` cited by `provenance` still what its file holds at its bytes?
    /// `None` when it is (or checking is off).
    pub fn passage(&self, provenance: &Provenance, text: &str) -> Option<Stale> {
        if self.how == SourceChecking::Off {
            return None;
        }
        self.with_file(&provenance.path, |state| {
            judge_passage(state, &CitedText::of(provenance), text)
        })
    }

    /// A hit's staleness: [`SourceChecker::passage`], and for a chunk that records a decision
    /// (`labelled`), a file whose bytes changed elsewhere too.
    pub(crate) fn hit(&self, provenance: &Provenance, text: &str, labelled: bool) -> Option<Stale> {
        if self.how == SourceChecking::Off {
            return None;
        }
        let stale = self.passage(provenance, text);
        if stale.is_some() || !labelled {
            return stale;
        }
        self.with_file(&provenance.path, |state| {
            matches!(state, FileState::Differs(_)).then(|| Stale {
                reason: SourceStatus::Changed,
                detail: "the cited text still holds, but the file changed elsewhere: the decision's status may read differently now".into(),
                lines_now: None,
                whole_file: true,
            })
        })
    }

    /// Is the file a decision or action item was read from still what was indexed? `None`
    /// when it is (or checking is off). `span` is the entry's own bytes, judged only when the
    /// index recorded nothing of the file.
    pub(crate) fn entry(&self, path: &str, span: [usize; 2], raw_hash: &str) -> Option<Stale> {
        if self.how == SourceChecking::Off {
            return None;
        }
        let recorded = self.records.and_then(|r| r.get(path)).is_some();
        self.with_file(path, |state| match state {
            FileState::Same => None,
            FileState::Unreadable(why) => Some(vanished(why)),
            FileState::NotText => Some(not_text()),
            FileState::Differs(file) => {
                let own = file
                    .text
                    .as_bytes()
                    .get(span[0]..span[1])
                    .is_some_and(|raw| content_hash_bytes(raw) == raw_hash);
                // Nothing recorded of the file: the entry's own bytes are all there is to go by.
                if own && !recorded {
                    return None;
                }
                Some(Stale {
                    reason: SourceStatus::Changed,
                    detail: match own {
                        true => "the entry's own text still holds, but the file changed elsewhere: its status or links may read differently now",
                        false => "the entry's text changed: its status, text or links may read differently now",
                    }
                    .into(),
                    lines_now: None,
                    whole_file: true,
                })
            }
        })
    }
}

impl std::fmt::Debug for SourceChecker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceChecker")
            .field("how", &self.how)
            .field("files_checked", &self.files.borrow().len())
            .finish()
    }
}

fn judge_passage(state: &FileState, cited: &CitedText, text: &str) -> Option<Stale> {
    let file = match state {
        FileState::Same => return None,
        FileState::Unreadable(why) => return Some(vanished(why)),
        FileState::NotText => return Some(not_text()),
        FileState::Differs(file) => file,
    };
    if cited.holds_in(&file.text) {
        return None;
    }
    let found = match is_verbatim(cited.format) {
        true => file.text.find(text).map(|at| Some(at..at + text.len())),
        false => file.holds_text(cited.format, text).then_some(None),
    };
    Some(match found {
        Some(range) => {
            let lines_now = range.map(|r| LineIndex::new(&file.text).lines_of(&r));
            Stale {
                reason: SourceStatus::Moved,
                detail: match lines_now {
                    Some([a, b]) => format!("the cited text is now at lines {a}-{b}"),
                    None => "the cited text is elsewhere in the file".into(),
                },
                lines_now,
                whole_file: false,
            }
        }
        None => Stale {
            reason: SourceStatus::Changed,
            detail: "the cited text is no longer in the file".into(),
            lines_now: None,
            whole_file: false,
        },
    })
}

fn vanished(why: &str) -> Stale {
    Stale {
        reason: SourceStatus::Vanished,
        detail: format!("the file cannot be read: {why}"),
        lines_now: None,
        whole_file: false,
    }
}

fn not_text() -> Stale {
    Stale {
        reason: SourceStatus::Changed,
        detail: "the file is no longer UTF-8 text".into(),
        lines_now: None,
        whole_file: false,
    }
}

/// An I/O error in a few words, without the path.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file (deleted, renamed or moved away)".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            // `io::Error`'s own text names no path; drop the OS error number.
            let text = e.to_string();
            match text.find(" (os error") {
                Some(at) => text[..at].to_string(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{chunk_document, ChunkOptions};
    use crate::load::load_file;
    use crate::model::Chunk;
    use crate::LoadOptions;

    const NOTES: &str = "# Notes\n\n## Contracts\n\nContracts under $50K are reviewed in-house by Priya.\n\n## Hiring\n\nTwo paralegal positions open in March.\n";

    fn chunks_of(path: &Path) -> Vec<Chunk> {
        let (docs, skipped) = load_file(path, "notes.md", &LoadOptions::default());
        assert!(skipped.is_empty(), "{skipped:?}");
        docs.iter()
            .flat_map(|d| chunk_document(d, &ChunkOptions { max_tokens: 24 }))
            .collect()
    }

    fn records(path: &Path) -> SourceRecords {
        SourceRecords::new(vec![SourceRecord {
            path: path.to_string_lossy().into_owned(),
            sha256: content_hash_bytes(&std::fs::read(path).unwrap()),
            stamp: Some(FileStamp::read(path).unwrap()),
        }])
    }

    /// The first chunk whose text contains `needle`, judged by a fresh checker.
    fn judge(
        records: &SourceRecords,
        how: SourceChecking,
        chunks: &[Chunk],
        needle: &str,
    ) -> Option<Stale> {
        let chunk = chunks.iter().find(|c| c.text.contains(needle)).unwrap();
        SourceChecker::new(Some(records), how).passage(&chunk.provenance, &chunk.text)
    }

    #[test]
    fn fresh_touched_moved_changed_and_vanished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.md");
        std::fs::write(&path, NOTES).unwrap();
        let chunks = chunks_of(&path);
        let records = records(&path);
        let m = SourceChecking::Metadata;
        assert_eq!(judge(&records, m, &chunks, "$50K"), None);

        // Same bytes, new modification time: read, hashed, found the same.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(judge(&records, m, &chunks, "$50K"), None);

        // A preface shifts every byte range: the text is all still there, two lines lower.
        std::fs::write(&path, format!("Preface.\n\n{NOTES}")).unwrap();
        let moved = judge(&records, m, &chunks, "$50K").unwrap();
        assert_eq!(moved.reason, SourceStatus::Moved, "{moved:?}");
        let was = chunks.iter().find(|c| c.text.contains("$50K")).unwrap();
        let [a, b] = was.provenance.line_range;
        assert_eq!(moved.lines_now, Some([a + 2, b + 2]));

        // The threshold changes: that citation's text is gone; the other one still holds.
        std::fs::write(&path, NOTES.replace("$50K", "$75K")).unwrap();
        let changed = judge(&records, m, &chunks, "$50K").unwrap();
        assert_eq!(changed.reason, SourceStatus::Changed);
        assert_eq!(judge(&records, m, &chunks, "paralegal"), None);

        std::fs::remove_file(&path).unwrap();
        let gone = judge(&records, m, &chunks, "paralegal").unwrap();
        assert_eq!(gone.reason, SourceStatus::Vanished);
        assert!(!gone.detail.contains("notes.md"), "{}", gone.detail);
    }

    #[test]
    fn a_format_whose_bytes_are_not_its_text_is_judged_by_its_excerpt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.html");
        let page = "<html><body><h1>Notes</h1><p>Contracts under $50K are reviewed in-house by Priya.</p></body></html>\n";
        std::fs::write(&path, page).unwrap();
        let chunks = chunks_of(&path);
        let records = records(&path);
        let m = SourceChecking::Metadata;
        assert_eq!(judge(&records, m, &chunks, "$50K"), None);
        std::fs::write(&path, format!("<!-- exported again -->\n{page}")).unwrap();
        let moved = judge(&records, m, &chunks, "$50K").unwrap();
        assert_eq!(moved.reason, SourceStatus::Moved, "{moved:?}");
        assert_eq!(moved.lines_now, None);
        std::fs::write(&path, page.replace("$50K", "$75K")).unwrap();
        assert_eq!(
            judge(&records, m, &chunks, "$50K").unwrap().reason,
            SourceStatus::Changed
        );
    }

    #[test]
    fn content_checking_sees_an_edit_that_kept_the_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.md");
        std::fs::write(&path, NOTES).unwrap();
        let chunks = chunks_of(&path);
        let records = records(&path);
        let stamp = FileStamp::read(&path).unwrap();
        // Same length, modification time put back.
        std::fs::write(&path, NOTES.replace("$50K", "$90K")).unwrap();
        let when = UNIX_EPOCH + std::time::Duration::from_nanos(stamp.modified_ns.unwrap());
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
        assert_eq!(FileStamp::read(&path).unwrap(), stamp);
        assert_eq!(
            judge(&records, SourceChecking::Metadata, &chunks, "$50K"),
            None
        );
        let changed = judge(&records, SourceChecking::Content, &chunks, "$50K").unwrap();
        assert_eq!(changed.reason, SourceStatus::Changed);
        assert_eq!(judge(&records, SourceChecking::Off, &chunks, "$50K"), None);
        // Nor does an unchecked answer flag a decision's chunk, or a decision.
        let off = SourceChecker::new(Some(&records), SourceChecking::Off);
        let held = chunks
            .iter()
            .find(|c| c.text.contains("paralegal"))
            .unwrap();
        assert_eq!(off.hit(&held.provenance, &held.text, true), None);
        assert_eq!(off.entry(&held.provenance.path, [0, 1], "x"), None);
        let checked = SourceChecker::new(Some(&records), SourceChecking::Content);
        assert_eq!(
            checked
                .hit(&held.provenance, &held.text, true)
                .unwrap()
                .reason,
            SourceStatus::Changed
        );
        assert_eq!(checked.hit(&held.provenance, &held.text, false), None);
        // A caller who reads the file in part is told only of the item's own text.
        let elsewhere = checked.hit(&held.provenance, &held.text, true).unwrap();
        assert_eq!(elsewhere.for_partial_reader(), None);
        let gone = chunks.iter().find(|c| c.text.contains("$50K")).unwrap();
        let own = checked.passage(&gone.provenance, &gone.text).unwrap();
        assert_eq!(own.clone().for_partial_reader(), Some(own));
    }

    #[test]
    fn each_file_is_looked_at_once_per_checker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.md");
        std::fs::write(&path, NOTES).unwrap();
        let chunks = chunks_of(&path);
        let records = records(&path);
        let checker = SourceChecker::new(Some(&records), SourceChecking::Metadata);
        let first = &chunks[0];
        assert_eq!(checker.passage(&first.provenance, &first.text), None);
        // Deleted after the first look: the same checker still answers from what it found.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(checker.passage(&first.provenance, &first.text), None);
        let fresh = SourceChecker::new(Some(&records), SourceChecking::Metadata);
        assert_eq!(
            fresh
                .passage(&first.provenance, &first.text)
                .unwrap()
                .reason,
            SourceStatus::Vanished
        );
    }
}
