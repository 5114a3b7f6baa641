//! Verifiable provenance: re-read every source an index cites and check each citation.
//!
//! A chunk's text is exactly what its source's bytes at its byte range give (through the
//! format's excerpt: HTML tags stripped, JSON escapes decoded, transcript timings dropped), and
//! its provenance records the SHA-256 of that text. [`Index::verify`] re-reads each cited file
//! once, re-derives every chunk's text from its byte range and compares the hash. A source
//! whose citations all hold is sound; otherwise it is:
//!
//! * **vanished**: the file cannot be read any more (deleted, renamed, unreadable);
//! * **moved**: every cited text is still in the file, but not all at the cited bytes (an edit
//!   elsewhere in the file shifted it): the facts stand, the byte and line ranges do not;
//! * **changed**: some cited text is no longer in the file at all.
//!
//! Re-indexing the sources (`lore index`) makes every citation hold again.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::index::Index;
use crate::load::excerpt;
use crate::model::{content_hash, Chunk};

/// How a cited source compares with what the index says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceStatus {
    /// Every citation re-reads to its text.
    Sound,
    /// Every cited text is still in the file, but not all at the cited bytes.
    Moved,
    /// Some cited text is no longer in the file.
    Changed,
    /// The file cannot be read.
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

/// One cited source file, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCheck {
    /// The file, as the index cites it.
    pub path: String,
    /// What was found.
    pub status: SourceStatus,
    /// Chunks that cite it.
    pub num_chunks: usize,
    /// Ids of the chunks whose citation no longer holds, in index order.
    pub broken_chunks: Vec<String>,
    /// Why, in a few words (the read error of a vanished file; empty when sound).
    pub detail: String,
}

/// What [`Index::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Source files cited.
    pub num_sources: usize,
    /// Chunks checked.
    pub num_chunks: usize,
    /// Chunks whose citation re-reads to their text.
    pub num_sound_chunks: usize,
    /// Sources whose citations do not all hold, by path (sound ones are left out).
    pub problems: Vec<SourceCheck>,
}

impl VerifyReport {
    /// True when every citation holds.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }

    /// How many problem sources have `status`.
    pub fn count(&self, status: SourceStatus) -> usize {
        self.problems.iter().filter(|p| p.status == status).count()
    }
}

impl Index {
    /// Re-read every source file this index cites and check each chunk's byte range against
    /// its content hash (see [`crate::SourceStatus`] for what is reported). Reads each file once.
    ///
    /// ```no_run
    /// let index = lore::Index::open("/tmp/acme")?;
    /// let report = index.verify()?;
    /// for p in &report.problems {
    ///     println!("{} {} ({} of {} citations broken)", p.status.as_str(), p.path,
    ///              p.broken_chunks.len(), p.num_chunks);
    /// }
    /// # Ok::<(), lore::Error>(())
    /// ```
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut by_path: BTreeMap<String, Vec<Chunk>> = BTreeMap::new();
        let num_chunks = self.manifest().counts.chunks;
        for ord in 0..num_chunks as u32 {
            let chunk = self.chunk(ord)?;
            by_path
                .entry(chunk.provenance.path.clone())
                .or_default()
                .push(chunk);
        }
        let mut report = VerifyReport {
            num_sources: by_path.len(),
            num_chunks,
            ..VerifyReport::default()
        };
        for (path, chunks) in by_path {
            let check = check_source(&path, &chunks);
            report.num_sound_chunks += chunks.len() - check.broken_chunks.len();
            if check.status != SourceStatus::Sound {
                report.problems.push(check);
            }
        }
        Ok(report)
    }
}

/// Check the chunks citing one file.
fn check_source(path: &str, chunks: &[Chunk]) -> SourceCheck {
    let mut check = SourceCheck {
        path: path.to_string(),
        status: SourceStatus::Sound,
        num_chunks: chunks.len(),
        broken_chunks: Vec::new(),
        detail: String::new(),
    };
    let text = match std::fs::read(Path::new(path)).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => {
            check.status = SourceStatus::Changed;
            check.detail = "no longer UTF-8 text".into();
            check.broken_chunks = chunks.iter().map(|c| c.id.clone()).collect();
            return check;
        }
        Err(e) => {
            check.status = SourceStatus::Vanished;
            check.detail = e.to_string();
            check.broken_chunks = chunks.iter().map(|c| c.id.clone()).collect();
            return check;
        }
    };
    let broken: Vec<&Chunk> = chunks.iter().filter(|c| !cites(&text, c)).collect();
    if broken.is_empty() {
        return check;
    }
    // Is each broken citation's text still somewhere in the file?
    let format = broken[0].provenance.format;
    let whole = excerpt(format, &text);
    let all_found = broken.iter().all(|c| whole.contains(c.text.as_str()));
    check.status = if all_found {
        SourceStatus::Moved
    } else {
        SourceStatus::Changed
    };
    check.detail = format!(
        "{} of {} citations no longer re-read to their text{}",
        broken.len(),
        chunks.len(),
        if all_found {
            "; the text is elsewhere in the file"
        } else {
            ""
        }
    );
    check.broken_chunks = broken.iter().map(|c| c.id.clone()).collect();
    check
}

/// Does `chunk`'s byte range of `text` still give its text?
fn cites(text: &str, chunk: &Chunk) -> bool {
    let [start, end] = chunk.provenance.byte_range;
    let Some(raw) = text.get(start..end) else {
        return false;
    };
    content_hash(&excerpt(chunk.provenance.format, raw)) == chunk.provenance.content_hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{chunk_document, ChunkOptions};
    use crate::load::load_file;
    use crate::LoadOptions;

    fn chunks_of(path: &Path) -> Vec<Chunk> {
        let (docs, skipped) = load_file(path, "notes.md", &LoadOptions::default());
        assert!(skipped.is_empty(), "{skipped:?}");
        docs.iter()
            .flat_map(|d| chunk_document(d, &ChunkOptions { max_tokens: 24 }))
            .collect()
    }

    const NOTES: &str = "# Notes\n\n## Contracts\n\nContracts under $50K are reviewed in-house by Priya.\n\n## Hiring\n\nTwo paralegal positions open in March.\n";

    #[test]
    fn sound_moved_changed_and_vanished_sources() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.md");
        std::fs::write(&path, NOTES).unwrap();
        let chunks = chunks_of(&path);
        assert!(chunks.len() >= 2, "{chunks:?}");
        let name = path.to_str().unwrap();
        assert_eq!(check_source(name, &chunks).status, SourceStatus::Sound);

        // A line added before the text shifts every byte range; the text is all still there.
        std::fs::write(&path, format!("Preface.\n\n{NOTES}")).unwrap();
        let moved = check_source(name, &chunks);
        assert_eq!(moved.status, SourceStatus::Moved, "{moved:?}");
        assert_eq!(moved.broken_chunks.len(), chunks.len());

        // The threshold changes: that citation's text is gone.
        std::fs::write(&path, NOTES.replace("$50K", "$75K")).unwrap();
        let changed = check_source(name, &chunks);
        assert_eq!(changed.status, SourceStatus::Changed, "{changed:?}");
        assert_eq!(changed.broken_chunks.len(), 1);
        assert!(changed.detail.contains("1 of"), "{}", changed.detail);

        std::fs::remove_file(&path).unwrap();
        let vanished = check_source(name, &chunks);
        assert_eq!(vanished.status, SourceStatus::Vanished);
        assert_eq!(vanished.broken_chunks.len(), chunks.len());
    }
}
