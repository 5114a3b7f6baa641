//! The one error type of the library, split by who must act.
//!
//! [`Error::User`] holds a [`UserError`]: something the caller can fix — a file that cannot be
//! loaded, a bad request, a missing, foreign or out-of-date index, a missing model, an index
//! another process is writing. [`Error::Internal`] holds an [`InternalError`]: something that
//! broke inside lore or under it — I/O, a damaged index, the embedding runtime, a broken
//! invariant (a bug). Every message says what to do about it.
//!
//! ```
//! use lore::{Error, Index, UserError};
//! let err = Index::open("/nonexistent/index").unwrap_err();
//! assert!(matches!(err, Error::User(UserError::NoIndex { .. })));
//! assert!(err.is_user_error());
//! assert!(err.to_string().contains("lore index"));
//! ```

use std::path::{Path, PathBuf};

/// `Result` with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in lore, by who must act: the caller ([`UserError`]) or lore
/// and its environment ([`InternalError`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller can fix this.
    #[error(transparent)]
    User(#[from] UserError),
    /// Something broke inside lore or its environment.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

/// What the caller did wrong, or must do first.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// A source file could not be loaded. `line` is 1-based when the problem has a line.
    #[error("{}{}: {reason}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Load {
        /// The file that failed.
        path: PathBuf,
        /// 1-based line of the problem, when there is one.
        line: Option<usize>,
        /// What is wrong with it.
        reason: String,
    },
    /// The request itself is invalid (bad filter, bad date, unknown mode, nothing to search
    /// for, a dense search of an index without embeddings, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The index cannot be used as it is: built by another model or format version, or with
    /// settings an update cannot keep. Rebuilding it from its sources fixes this.
    #[error("the index at {} cannot be used as it is: {reason}; rebuild it with `lore index <PATH>... --index {} --rebuild`", dir.display(), dir.display())]
    Incompatible {
        /// The index directory.
        dir: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// There is no index at the given directory.
    #[error("no lore index at {} (build one with `lore index <PATH>... --index {}`)", dir.display(), dir.display())]
    NoIndex {
        /// The directory that was opened.
        dir: PathBuf,
    },
    /// The embedding model (or ONNX Runtime) is missing from its directory or cannot be
    /// loaded from it.
    #[error("the embedding model in {} is unavailable: {reason} (fetch it with `scripts/fetch-model.sh {}`, or point --model-dir or LORE_MODEL_DIR at a model directory)", dir.display(), dir.display())]
    ModelMissing {
        /// The model directory.
        dir: PathBuf,
        /// What is missing or failed to load.
        reason: String,
    },
    /// The operation ran past the deadline its caller set (see [`crate::deadline`]) and
    /// stopped.
    #[error("the operation ran past its deadline and stopped before {stage}")]
    DeadlineExceeded {
        /// The stage it would have run next.
        stage: &'static str,
    },
    /// Another process is writing the index.
    #[error("the index at {} is being written by another process ({holder}); wait for it to finish or stop it", dir.display())]
    Locked {
        /// The index directory.
        dir: PathBuf,
        /// Who holds the lock, as the holder wrote it.
        holder: String,
    },
    /// An input given to index does not exist or cannot be read: nothing was written, the
    /// index is as it was. (Its documents are never removed for it.)
    #[error("cannot read the input {path:?}: {reason}; check the path (a typo, a trailing space, a share that is not mounted?). Nothing was written")]
    InputUnavailable {
        /// The input as given (printed quoted and escaped, so a stray space shows).
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// An update would remove more documents than an update may without being told to: more
    /// than [`MASS_DELETE_SHARE`](crate::MASS_DELETE_SHARE) of the index (and more than
    /// [`MASS_DELETE_MIN`](crate::MASS_DELETE_MIN) documents, or all of them), or documents of
    /// an input that now holds none. Nothing was written.
    #[error("{}; nothing was written. If that is what you want, run again with --allow-mass-delete (library: IndexBuilder::allow_mass_delete)", describe_mass_delete(*removed, *total, empty_inputs))]
    MassDelete {
        /// Documents the update would remove.
        removed: usize,
        /// Documents the index holds now.
        total: usize,
        /// Inputs that exist but hold no document now (an unmounted or emptied folder?).
        empty_inputs: Vec<PathBuf>,
    },
    /// The directory holds an index that the writer did not make, and the writer only writes
    /// to its own (`lore demo`: see [`IndexBuilder::owned_by`](crate::IndexBuilder::owned_by)).
    #[error("{} holds an index that {owner} did not make; refusing to write over it. Give {owner} a new or empty directory (or the one it made before)", dir.display())]
    NotOwned {
        /// The index directory.
        dir: PathBuf,
        /// Who writes only to its own indexes, e.g. `lore demo`.
        owner: String,
    },
    /// The device holding the index ran out of space while a new generation was written. The
    /// unfinished generation was removed; the index is as it was.
    #[error("no space left on the device holding the index ({}): about {} needed for the new generation, {} free. Nothing was changed: {}free some space and run the same command again", dir.display(), megabytes(*needed_bytes), megabytes(*free_bytes), current.as_deref().map(|c| format!("{c} is still current; ")).unwrap_or_default())]
    NoSpace {
        /// The index directory.
        dir: PathBuf,
        /// About how many bytes the new generation takes.
        needed_bytes: u64,
        /// Bytes free on the device now, the unfinished generation removed.
        free_bytes: u64,
        /// The generation that stays current, if any.
        current: Option<String>,
    },
    /// `lore rollback` found no earlier generation it could make current.
    #[error("cannot roll back the index at {}: {reason}", dir.display())]
    Rollback {
        /// The index directory.
        dir: PathBuf,
        /// Why not.
        reason: String,
    },
}

/// `12 MB`, `0.4 MB` (10^6 bytes).
fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb < 10.0 {
        format!("{mb:.1} MB")
    } else {
        format!("{mb:.0} MB")
    }
}

/// The first part of [`UserError::MassDelete`]'s message.
fn describe_mass_delete(removed: usize, total: usize, empty_inputs: &[PathBuf]) -> String {
    let share = if total == 0 {
        0
    } else {
        (removed * 100).div_ceil(total)
    };
    let mut text = format!(
        "this update would remove {removed} of the {total} documents of the index ({share}%)"
    );
    if !empty_inputs.is_empty() {
        let names: Vec<String> = empty_inputs.iter().map(|p| format!("{p:?}")).collect();
        text.push_str(&format!(
            ", and {} {} no document now (not mounted, or emptied?)",
            names.join(", "),
            if names.len() == 1 { "holds" } else { "hold" }
        ));
    }
    text
}

/// What broke inside lore or under it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InternalError {
    /// An I/O error, with the path it happened on (check that it exists, its permissions and
    /// the free space of its disk).
    #[error("{}: {error}", path.display())]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error (in the message, so not repeated as a source).
        error: std::io::Error,
    },
    /// A file of the index is damaged or inconsistent with the rest.
    #[error("damaged index: {}: {reason}; rebuild the index with `lore index <PATH>... --index <DIR> --rebuild`", path.display())]
    Corrupt {
        /// The index file or directory at fault.
        path: PathBuf,
        /// What is inconsistent.
        reason: String,
    },
    /// The full-text engine failed.
    #[error("full-text index at {}: {error}", path.display())]
    Lexical {
        /// The full-text index directory.
        path: PathBuf,
        /// The engine's error (in the message, so not repeated as a source).
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// One of lore's own JSON files could not be written or read.
    #[error("json: {0}")]
    Json(serde_json::Error),
    /// The embedding runtime failed on a text it was given (the model loaded).
    #[error("embedding failed: {0}")]
    Embedding(String),
    /// Writing a new generation failed (the error it met is `error`); the unfinished
    /// generation was removed and the index is as it was.
    #[error("could not write a new generation of the index at {}: {error}; the unfinished generation was removed, {}", dir.display(), current.as_deref().map_or("and the index had no generation yet".to_string(), |c| format!("{c} is still current")))]
    Write {
        /// The index directory.
        dir: PathBuf,
        /// The generation that stays current, if any.
        current: Option<String>,
        /// What went wrong (in the message, so not repeated as a source).
        error: Box<Error>,
    },
    /// A broken invariant: a bug in lore.
    #[error(
        "internal error (a bug in lore; please report it with the command that caused it): {0}"
    )]
    Bug(String),
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(InternalError::Json(e))
    }
}

impl Error {
    /// True when the caller can fix the problem ([`Error::User`]).
    pub fn is_user_error(&self) -> bool {
        matches!(self, Error::User(_))
    }

    /// True when the device ran out of space (or quota) somewhere below this error: an I/O
    /// error of that kind, also when a JSON or full-text engine error wraps it.
    pub fn is_out_of_space(&self) -> bool {
        fn io_full(e: &std::io::Error) -> bool {
            matches!(
                e.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) || e.raw_os_error() == Some(28)
        }
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = next {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io_full(io) {
                    return true;
                }
            }
            if let Some(json) = e.downcast_ref::<serde_json::Error>() {
                if json.io_error_kind().is_some_and(|kind| {
                    matches!(
                        kind,
                        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                    )
                }) {
                    return true;
                }
            }
            match e.downcast_ref::<Error>() {
                Some(Error::Internal(InternalError::Io { error, .. })) if io_full(error) => {
                    return true
                }
                Some(Error::Internal(InternalError::Json(json)))
                    if json.io_error_kind().is_some_and(|kind| {
                        matches!(
                            kind,
                            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                        )
                    }) =>
                {
                    return true
                }
                Some(Error::Internal(InternalError::Write { error, .. })) => {
                    return error.is_out_of_space()
                }
                Some(Error::Internal(InternalError::Lexical { error, .. })) => {
                    // The full-text engine keeps the I/O error inside its own error type, in
                    // its message only: the operating system's words for ENOSPC and EDQUOT.
                    let mut inner: Option<&(dyn std::error::Error + 'static)> =
                        Some(error.as_ref());
                    while let Some(i) = inner {
                        let text = i.to_string();
                        if text.contains("os error 28")
                            || text.contains("No space left on device")
                            || text.contains("os error 122")
                            || text.contains("Disk quota exceeded")
                        {
                            return true;
                        }
                        if let Some(io) = i.downcast_ref::<std::io::Error>() {
                            if io_full(io) {
                                return true;
                            }
                        }
                        inner = i.source();
                    }
                }
                _ => {}
            }
            next = e.source();
        }
        false
    }

    /// A [`UserError::Load`] without a line.
    pub fn load(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        UserError::Load {
            path: path.into(),
            line: None,
            reason: reason.into(),
        }
        .into()
    }

    /// A [`UserError::Load`] at a 1-based line.
    pub fn load_at(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        UserError::Load {
            path: path.into(),
            line: Some(line),
            reason: reason.into(),
        }
        .into()
    }

    /// A [`UserError::InvalidRequest`].
    pub fn invalid_request(reason: impl Into<String>) -> Self {
        UserError::InvalidRequest(reason.into()).into()
    }

    /// A [`UserError::Incompatible`].
    pub(crate) fn incompatible(dir: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        UserError::Incompatible {
            dir: dir.into(),
            reason: reason.into(),
        }
        .into()
    }

    /// A [`UserError::NoIndex`].
    pub(crate) fn no_index(dir: impl Into<PathBuf>) -> Self {
        UserError::NoIndex { dir: dir.into() }.into()
    }

    /// A [`UserError::ModelMissing`].
    pub(crate) fn model_missing(dir: &Path, reason: impl Into<String>) -> Self {
        UserError::ModelMissing {
            dir: dir.to_path_buf(),
            reason: reason.into(),
        }
        .into()
    }

    /// An [`InternalError::Io`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        InternalError::Io {
            path: path.into(),
            error: source,
        }
        .into()
    }

    /// An [`InternalError::Corrupt`].
    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        InternalError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
        .into()
    }

    /// An [`InternalError::Lexical`] (the engine's own error type stays inside lore).
    pub(crate) fn lexical(
        path: impl Into<PathBuf>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        InternalError::Lexical {
            path: path.into(),
            error: Box::new(source),
        }
        .into()
    }

    /// An [`InternalError::Embedding`].
    pub(crate) fn embedding(reason: impl Into<String>) -> Self {
        InternalError::Embedding(reason.into()).into()
    }

    /// An [`InternalError::Bug`].
    pub(crate) fn bug(reason: impl Into<String>) -> Self {
        InternalError::Bug(reason.into()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_says_what_to_do() {
        let dir = Path::new("/srv/acme-index");
        let cases: Vec<(Error, &str)> = vec![
            (
                Error::no_index(dir),
                "lore index <PATH>... --index /srv/acme-index",
            ),
            (
                Error::incompatible(dir, "format version 2"),
                "--index /srv/acme-index --rebuild",
            ),
            (
                Error::model_missing(Path::new("/m"), "/m/model.onnx is missing"),
                "scripts/fetch-model.sh /m",
            ),
            (
                Error::corrupt(dir.join("gen-000002/neighbours.u32"), "short"),
                "--rebuild",
            ),
            (Error::bug("no previous vectors"), "please report it"),
        ];
        for (err, hint) in cases {
            assert!(err.to_string().contains(hint), "{err} lacks {hint}");
        }
        assert!(Error::no_index(dir).is_user_error());
        assert!(!Error::corrupt(dir, "x").is_user_error());
        assert!(!Error::bug("x").is_user_error());
    }

    #[test]
    fn a_corrupt_index_names_its_file() {
        let err = Error::corrupt("/srv/i/gen-000001/lexical", "chunk record missing");
        assert!(err
            .to_string()
            .contains("/srv/i/gen-000001/lexical: chunk record missing"));
    }
}
