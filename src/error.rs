//! The one error type of the library.
//!
//! Errors are split by who can fix them: some variants ([`Error::Load`], [`Error::InvalidRequest`],
//! [`Error::Incompatible`], …) describe something the caller
//! did (a bad query, an unknown filter, an index built with another model), the rest describe
//! something that broke inside (I/O, a corrupt index, the embedding runtime). The CLI uses
//! [`Error::is_user_error`] to decide between a hint and a bug report.

use std::path::PathBuf;

/// `Result` with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in lore.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    /// The request itself is invalid (bad filter, bad date, unknown mode, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The index was built by another model, another dimension or another format version.
    #[error("incompatible index at {}: {reason}", dir.display())]
    Incompatible {
        /// The index directory.
        dir: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// There is no index at the given directory.
    #[error("no lore index at {} (run `lore index <PATH>... --index {}` first)", dir.display(), dir.display())]
    NoIndex {
        /// The directory that was opened.
        dir: PathBuf,
    },
    /// The embedding model is missing or cannot be loaded.
    #[error("embedding model unavailable: {0}")]
    Model(String),
    /// The index on disk is damaged or inconsistent.
    #[error("corrupt index at {}: {reason}", dir.display())]
    Corrupt {
        /// The index directory.
        dir: PathBuf,
        /// What is inconsistent.
        reason: String,
    },
    /// Another process is writing the index.
    #[error("the index at {} is being written by another process ({holder}); wait for it to finish or stop it", dir.display())]
    Locked {
        /// The index directory.
        dir: PathBuf,
        /// Who holds the lock, as the holder wrote it.
        holder: String,
    },
    /// An I/O error, with the path it happened on.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An error from the full-text engine.
    #[error("full-text index: {0}")]
    Lexical(#[from] tantivy::TantivyError),
    /// A JSON (de)serialization error of lore's own files.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// True when the caller can fix the problem (bad input, bad request, wrong index), false when
    /// something broke inside.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::Load { .. }
                | Error::InvalidRequest(_)
                | Error::Incompatible { .. }
                | Error::NoIndex { .. }
                | Error::Locked { .. }
                | Error::Model(_)
        )
    }

    /// Shorthand for a [`Error::Load`] without a line.
    pub fn load(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Load {
            path: path.into(),
            line: None,
            reason: reason.into(),
        }
    }

    /// Shorthand for a [`Error::Load`] at a 1-based line.
    pub fn load_at(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        Error::Load {
            path: path.into(),
            line: Some(line),
            reason: reason.into(),
        }
    }

    /// Shorthand for an [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
