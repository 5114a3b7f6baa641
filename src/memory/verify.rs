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
//! Re-indexing the sources (`lore index`) makes every citation hold again. The same notions
//! flag each citation of an answer as it is given (see the `stale` module guide in the source);
//! this is the whole-index pass.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::index::Index;
use crate::load::excerpt;
use crate::model::SourceFormat;
use crate::stale::CitedText;
pub use crate::stale::SourceStatus;

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
        // Only what a check needs is kept per chunk; a broken citation's text is read again.
        let mut by_path: BTreeMap<String, Vec<Citation>> = BTreeMap::new();
        let num_chunks = self.manifest().counts.chunks;
        for ord in 0..num_chunks as u32 {
            let chunk = self.chunk(ord)?;
            let p = chunk.provenance;
            by_path.entry(p.path).or_default().push(Citation {
                ord,
                id: chunk.id,
                format: p.format,
                byte_range: p.byte_range,
                content_hash: p.content_hash,
            });
        }
        let mut report = VerifyReport {
            num_sources: by_path.len(),
            num_chunks,
            ..VerifyReport::default()
        };
        for (path, citations) in by_path {
            let check = check_source(&path, &citations, |ord| Ok(self.chunk(ord)?.text))?;
            report.num_sound_chunks += citations.len() - check.broken_chunks.len();
            if check.status != SourceStatus::Sound {
                report.problems.push(check);
            }
        }
        Ok(report)
    }
}

/// What checking one chunk's citation needs.
struct Citation {
    /// The chunk's ordinal, to read its text again when the citation broke.
    ord: u32,
    id: String,
    format: SourceFormat,
    byte_range: [usize; 2],
    content_hash: String,
}

impl Citation {
    /// Does this citation's byte range of `text` still give the chunk's text?
    fn holds_in(&self, text: &str) -> bool {
        CitedText {
            format: self.format,
            byte_range: self.byte_range,
            content_hash: &self.content_hash,
        }
        .holds_in(text)
    }
}

/// Check the citations of one file; `text_of` reads a chunk's text by ordinal.
fn check_source(
    path: &str,
    citations: &[Citation],
    text_of: impl Fn(u32) -> Result<String>,
) -> Result<SourceCheck> {
    let mut check = SourceCheck {
        path: path.to_string(),
        status: SourceStatus::Sound,
        num_chunks: citations.len(),
        broken_chunks: Vec::new(),
        detail: String::new(),
    };
    let text = match std::fs::read(crate::path_text::from_text(path)).map(String::from_utf8) {
        Ok(Ok(text)) => Some(text),
        Ok(Err(_)) => {
            check.status = SourceStatus::Changed;
            check.detail = "no longer UTF-8 text".into();
            None
        }
        Err(e) => {
            check.status = SourceStatus::Vanished;
            check.detail = e.to_string();
            None
        }
    };
    let Some(text) = text else {
        check.broken_chunks = citations.iter().map(|c| c.id.clone()).collect();
        return Ok(check);
    };
    let broken: Vec<&Citation> = citations.iter().filter(|c| !c.holds_in(&text)).collect();
    if broken.is_empty() {
        return Ok(check);
    }
    // Is each broken citation's text still somewhere in the file?
    let whole = excerpt(broken[0].format, &text);
    let mut all_found = true;
    for citation in &broken {
        if !whole.contains(text_of(citation.ord)?.as_str()) {
            all_found = false;
            break;
        }
    }
    check.status = if all_found {
        SourceStatus::Moved
    } else {
        SourceStatus::Changed
    };
    check.detail = format!(
        "{} of {} citations no longer re-read to their text{}",
        broken.len(),
        citations.len(),
        if all_found {
            "; the text is elsewhere in the file"
        } else {
            ""
        }
    );
    check.broken_chunks = broken.iter().map(|c| c.id.clone()).collect();
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{chunk_document, ChunkOptions};
    use crate::load::load_file;
    use crate::model::Chunk;
    use crate::LoadOptions;

    /// [`check_source`] over chunks held in memory (ordinal = position).
    fn check(path: &str, chunks: &[Chunk]) -> SourceCheck {
        let citations: Vec<Citation> = chunks
            .iter()
            .enumerate()
            .map(|(ord, c)| Citation {
                ord: ord as u32,
                id: c.id.clone(),
                format: c.provenance.format,
                byte_range: c.provenance.byte_range,
                content_hash: c.provenance.content_hash.clone(),
            })
            .collect();
        check_source(path, &citations, |ord| {
            Ok(chunks[ord as usize].text.clone())
        })
        .unwrap()
    }

    fn chunks_of(path: &std::path::Path) -> Vec<Chunk> {
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
        assert_eq!(check(name, &chunks).status, SourceStatus::Sound);

        // A line added before the text shifts every byte range; the text is all still there.
        std::fs::write(&path, format!("Preface.\n\n{NOTES}")).unwrap();
        let moved = check(name, &chunks);
        assert_eq!(moved.status, SourceStatus::Moved, "{moved:?}");
        assert_eq!(moved.broken_chunks.len(), chunks.len());

        // The threshold changes: that citation's text is gone.
        std::fs::write(&path, NOTES.replace("$50K", "$75K")).unwrap();
        let changed = check(name, &chunks);
        assert_eq!(changed.status, SourceStatus::Changed, "{changed:?}");
        assert_eq!(changed.broken_chunks.len(), 1);
        assert!(changed.detail.contains("1 of"), "{}", changed.detail);

        std::fs::remove_file(&path).unwrap();
        let vanished = check(name, &chunks);
        assert_eq!(vanished.status, SourceStatus::Vanished);
        assert_eq!(vanished.broken_chunks.len(), chunks.len());
    }
}
