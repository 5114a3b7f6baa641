//! What keeps a write from costing an index: inputs that cannot be read, updates that would
//! remove most of it, a full disk, and a writer that keeps to the indexes it made.
//!
//! * [`check_inputs`]: every input given must exist and be readable, or nothing is written
//!   (a typo, or an unmounted share, must never empty the index);
//! * [`check_removals`]: an update that would remove more than [`MASS_DELETE_SHARE`] of the
//!   index's documents (and more than [`MASS_DELETE_MIN`], or all of them), or any document
//!   while an input holds none, stops before writing unless it was allowed
//!   ([`IndexBuilder::allow_mass_delete`](super::IndexBuilder::allow_mass_delete));
//! * [`failed_write`]: a write that failed (its unfinished generation is already removed, see
//!   [`crate::generation::NewGeneration`]) is reported as out of space when the device filled,
//!   with about how much the generation needs, else as a failed write naming the generation
//!   that stays current;
//! * [`claim`]: a writer with an owner (`lore demo`) writes only to a new or empty directory or
//!   to an index marked as its own, and marks what it makes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::IndexWriter;
use crate::error::{Error, InternalError, Result, UserError};
use crate::generation;
use crate::layout::{DOCUMENTS, OWNER};

/// An update may remove up to this share of the index's documents without
/// [`IndexBuilder::allow_mass_delete`](super::IndexBuilder::allow_mass_delete) (`lore index
/// --allow-mass-delete`).
pub const MASS_DELETE_SHARE: f64 = 0.5;

/// An update may remove up to this many documents whatever their share (a small index is
/// edited by hand), as long as it does not remove them all.
pub const MASS_DELETE_MIN: usize = 10;

/// Refuse inputs that do not exist or cannot be read, naming the first such one.
pub(super) fn check_inputs(paths: &[PathBuf]) -> Result<()> {
    for path in paths {
        let unavailable = |reason: String| -> Error {
            UserError::InputUnavailable {
                path: path.clone(),
                reason,
            }
            .into()
        };
        let meta = std::fs::metadata(path).map_err(|e| unavailable(os_reason(&e)))?;
        if meta.is_dir() {
            std::fs::read_dir(path).map_err(|e| {
                unavailable(format!("the folder cannot be listed: {}", os_reason(&e)))
            })?;
        } else {
            std::fs::File::open(path).map_err(|e| {
                unavailable(format!("the file cannot be opened: {}", os_reason(&e)))
            })?;
        }
    }
    Ok(())
}

/// An I/O error in the system's words, without the error number.
fn os_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Refuse an update that would remove too much (see the module documentation). `roots` are
/// the inputs of a sync (none for an update that only adds).
pub(super) fn check_removals(writer: &IndexWriter, roots: &[PathBuf]) -> Result<()> {
    let Some(before) = previous_ids(writer) else {
        return Ok(());
    };
    let after: HashSet<&str> = writer
        .entries
        .values()
        .flat_map(|e| &e.record.documents)
        .map(|d| d.id.as_str())
        .collect();
    let removed = before
        .iter()
        .filter(|id| !after.contains(id.as_str()))
        .count();
    if removed == 0 {
        return Ok(());
    }
    // An input that exists but holds no document now: an emptied or half-mounted folder.
    let roots = super::absolute_inputs(roots);
    let empty_inputs: Vec<PathBuf> = roots
        .iter()
        .filter(|root| {
            !writer
                .entries
                .iter()
                .any(|(path, e)| path.starts_with(root) && !e.record.documents.is_empty())
        })
        .cloned()
        .collect();
    let total = before.len();
    let too_many = removed as f64 > MASS_DELETE_SHARE * total as f64
        && (removed > MASS_DELETE_MIN || removed == total);
    if too_many || !empty_inputs.is_empty() {
        return Err(UserError::MassDelete {
            removed,
            total,
            empty_inputs,
        }
        .into());
    }
    Ok(())
}

/// The ids of the documents the current generation holds (`None`: no generation, or one that
/// does not list them).
fn previous_ids(writer: &IndexWriter) -> Option<Vec<String>> {
    let previous = writer.previous.as_ref()?;
    if let Some(signatures) = super::digest::read_signatures(&previous.dir.join(DOCUMENTS)) {
        return Some(signatures.into_keys().collect());
    }
    (!previous.ranges.is_empty()).then(|| previous.ranges.keys().cloned().collect())
}

/// What a commit knows before it starts, to describe its failure (sizes are measured only
/// then).
pub(super) struct WriteContext {
    dir: PathBuf,
    /// The generation it replaces and the documents that holds, if any.
    previous: Option<(PathBuf, usize)>,
    /// Documents the new generation will hold.
    num_documents: usize,
    /// The inputs (for a first build, whose size is all there is to go by).
    sources: Vec<String>,
    embeds: bool,
}

impl WriteContext {
    /// Taken from the writer just before it commits.
    pub(super) fn of(writer: &IndexWriter) -> Self {
        WriteContext {
            dir: writer.dir.clone(),
            previous: writer.previous.as_ref().map(|p| {
                let counted = p.manifest.as_ref().map_or(0, |m| m.counts.documents);
                (p.dir.clone(), counted)
            }),
            num_documents: writer.num_documents(),
            sources: writer.sources.clone(),
            embeds: writer.settings.model_id.is_some(),
        }
    }

    /// About how many bytes the new generation takes: the generation it replaces, scaled by
    /// the documents it will hold; for a first build, from the size of the inputs (the text
    /// index takes about twice the text, the vectors about as much again: 1,536 bytes per
    /// chunk of about 1,000 bytes).
    fn estimate(&self) -> u64 {
        match &self.previous {
            Some((dir, counted)) => {
                let size = dir_size(dir) as f64;
                let scale = if *counted > 0 {
                    (self.num_documents as f64 / *counted as f64).max(1.0)
                } else {
                    1.0
                };
                (size * scale) as u64
            }
            None => {
                let input: u64 = self.sources.iter().map(|s| dir_size(Path::new(s))).sum();
                input * if self.embeds { 4 } else { 2 }
            }
        }
    }
}

/// The error a failed commit reports (its unfinished generation already removed): out of
/// space when the device filled, else the error it met, naming the generation that stays
/// current. A user error (a bad access file) is reported as it is.
pub(super) fn failed_write(context: WriteContext, error: Error) -> Error {
    let current = generation::read_current(&context.dir).ok().flatten();
    if error.is_out_of_space() {
        return UserError::NoSpace {
            free_bytes: free_bytes(&context.dir).unwrap_or(0),
            needed_bytes: context.estimate(),
            dir: context.dir,
            current,
        }
        .into();
    }
    if error.is_user_error() {
        return error;
    }
    InternalError::Write {
        dir: context.dir,
        current,
        error: Box::new(error),
    }
    .into()
}

/// Bytes of the files below `dir` (or of the file `dir`).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return std::fs::metadata(dir).map_or(0, |m| m.len());
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Bytes free for an unprivileged writer on the device holding `dir`.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statvfs` only writes into the zeroed struct we pass and reads the
    // NUL-terminated path, which outlives the call.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut stats) };
    (rc == 0).then(|| stats.f_bavail as u64 * stats.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

/// Let a writer owned by `owner` write to `dir` (absolute, locked by the caller): a new or
/// empty directory is marked as `owner`'s, an index marked as its own is fine, anything else
/// is refused. Without an owner, nothing to check ([`disown`] comes before its commit).
pub(super) fn claim(dir: &Path, owner: Option<&str>) -> Result<()> {
    let mark = dir.join(OWNER);
    let marked = std::fs::read_to_string(&mark).ok();
    match owner {
        None => Ok(()),
        Some(owner) if marked.as_deref().map(str::trim) == Some(owner) => Ok(()),
        Some(owner) => {
            if holds_index(dir)? {
                return Err(UserError::NotOwned {
                    dir: dir.to_path_buf(),
                    owner: owner.to_string(),
                }
                .into());
            }
            std::fs::write(&mark, format!("{owner}\n")).map_err(|e| Error::io(&mark, e))
        }
    }
}

/// Before a commit by a writer without an owner: a mark left by one is removed, the index is
/// no longer the owner's to write over.
pub(super) fn disown(dir: &Path) -> Result<()> {
    let mark = dir.join(OWNER);
    match std::fs::remove_file(&mark) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&mark, e)),
        _ => Ok(()),
    }
}

/// True when `dir` holds an index or part of one (a pointer, a generation, the files of an
/// index written before generations).
fn holds_index(dir: &Path) -> Result<bool> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let bookkeeping = [crate::layout::LOCK, OWNER, crate::layout::AUDIT_LOG];
        if !bookkeeping.contains(&name.as_ref()) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_input_is_named_quoted() {
        let tmp = tempfile::tempdir().unwrap();
        let typo = tmp.path().join("corpus ");
        let err = check_inputs(&[tmp.path().to_path_buf(), typo]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("corpus \""), "{text}");
        assert!(text.contains("No such file or directory"), "{text}");
        assert!(matches!(
            err,
            Error::User(UserError::InputUnavailable { .. })
        ));
    }

    #[test]
    fn out_of_space_is_found_through_wrappers() {
        let full = std::io::Error::from_raw_os_error(28);
        assert!(Error::io("/x", full).is_out_of_space());
        let json = serde_json::Error::io(std::io::Error::from_raw_os_error(28));
        assert!(Error::from(json).is_out_of_space());
        let lexical = Error::lexical(
            "/x/lexical",
            std::io::Error::other("An IO error occurred: 'No space left on device (os error 28)'"),
        );
        assert!(lexical.is_out_of_space());
        let wrapped: Error = InternalError::Write {
            dir: "/x".into(),
            current: None,
            error: Box::new(Error::io("/x", std::io::Error::from_raw_os_error(28))),
        }
        .into();
        assert!(wrapped.is_out_of_space());
        assert!(!Error::io("/x", std::io::Error::from_raw_os_error(13)).is_out_of_space());
    }

    #[test]
    fn an_owned_writer_keeps_to_its_own_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        std::fs::create_dir_all(&dir).unwrap();
        // New (the writer lock already taken): marked.
        std::fs::write(dir.join(crate::layout::LOCK), "").unwrap();
        claim(&dir, Some("lore demo")).unwrap();
        assert!(dir.join(OWNER).is_file());
        std::fs::create_dir(dir.join("gen-000001")).unwrap();
        claim(&dir, Some("lore demo")).unwrap();
        // Written by another writer: no longer the demo's.
        claim(&dir, None).unwrap();
        claim(&dir, Some("lore demo")).unwrap();
        disown(&dir).unwrap();
        let err = claim(&dir, Some("lore demo")).unwrap_err().to_string();
        assert!(err.contains("did not make"), "{err}");
    }
}
