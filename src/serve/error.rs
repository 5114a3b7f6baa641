//! [`ServeError`]: why a request to lore's [`Service`](super::Service) was not answered, its
//! stable machine-readable code and HTTP status, and how a library [`Error`] becomes one
//! (the caller is told what is wrong, the server's log gets the details).

use std::path::PathBuf;

use crate::error::{Error, UserError};

/// Why a request was not answered, with a stable machine-readable [`code`](ServeError::code).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The request is malformed or asks for something impossible (`invalid_request`).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// What was asked for is not there, or the caller may not see it: the two look the same
    /// (`not_found`).
    #[error("not found: {0}")]
    NotFound(String),
    /// No credentials, or credentials the server does not know (`unauthorized`).
    #[error("unauthorized: a valid bearer token is required")]
    Unauthorized,
    /// Known credentials that may not do this (`forbidden`).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request is larger than the server accepts (`too_large`).
    #[error("request too large: {0}")]
    TooLarge(String),
    /// The request took longer than the server allows (`timeout`).
    #[error("timed out: {0}")]
    Timeout(String),
    /// The index or model cannot answer now: missing, incompatible, being rebuilt
    /// (`unavailable`).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Something broke inside the server (`internal`); the details go to the server's log,
    /// not to the caller.
    #[error("internal error: {0}")]
    Internal(String),
    /// The server cannot start as asked (an address it must not or cannot listen on; `config`;
    /// never an answer to a request).
    #[error("{0}")]
    Setup(String),
    /// A file the server was started with (tokens file, audit log) is unusable (`config`;
    /// never an answer to a request).
    #[error("{}: {reason}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl ServeError {
    /// The stable code: `invalid_request`, `not_found`, `unauthorized`, `forbidden`,
    /// `too_large`, `timeout`, `unavailable`, `internal` (or `config` for a startup problem).
    pub fn code(&self) -> &'static str {
        match self {
            ServeError::InvalidRequest(_) => "invalid_request",
            ServeError::NotFound(_) => "not_found",
            ServeError::Unauthorized => "unauthorized",
            ServeError::Forbidden(_) => "forbidden",
            ServeError::TooLarge(_) => "too_large",
            ServeError::Timeout(_) => "timeout",
            ServeError::Unavailable(_) => "unavailable",
            ServeError::Internal(_) => "internal",
            ServeError::Setup(_) | ServeError::Config { .. } => "config",
        }
    }

    /// The HTTP status of this error.
    pub fn http_status(&self) -> u16 {
        match self {
            ServeError::InvalidRequest(_) => 400,
            ServeError::NotFound(_) => 404,
            ServeError::Unauthorized => 401,
            ServeError::Forbidden(_) => 403,
            ServeError::TooLarge(_) => 413,
            ServeError::Timeout(_) => 504,
            ServeError::Unavailable(_) => 503,
            ServeError::Internal(_) | ServeError::Setup(_) | ServeError::Config { .. } => 500,
        }
    }
}

impl From<Error> for ServeError {
    fn from(err: Error) -> Self {
        match &err {
            Error::User(UserError::InvalidRequest(reason)) => {
                ServeError::InvalidRequest(reason.clone())
            }
            // The rest name the server's folders (index, model, sources): the caller gets what
            // is wrong, the operator the details.
            Error::User(UserError::Load { .. }) => {
                eprintln!("lore serve: {err}");
                ServeError::InvalidRequest(
                    "a file the request needs cannot be read (the server's log says which)".into(),
                )
            }
            Error::User(UserError::DeadlineExceeded { .. }) => ServeError::Timeout(err.to_string()),
            Error::User(user) => {
                eprintln!("lore serve: {err}");
                let what = match user {
                    UserError::NoIndex { .. } => "there is no index to serve",
                    UserError::Incompatible { .. } => "the index cannot be used as it is",
                    UserError::ModelMissing { .. } => "the embedding model is unavailable",
                    UserError::Locked { .. } => "the index is being written; try again",
                    _ => "the index cannot answer now",
                };
                ServeError::Unavailable(format!("{what} (details in the server's log)"))
            }
            Error::Internal(_) => {
                // The caller gets the code; the operator gets the details.
                eprintln!("lore serve: internal error: {err}");
                ServeError::Internal("see the server's log".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_stable() {
        let cases = [
            (
                ServeError::InvalidRequest("x".into()),
                "invalid_request",
                400,
            ),
            (ServeError::NotFound("x".into()), "not_found", 404),
            (ServeError::Unauthorized, "unauthorized", 401),
            (ServeError::Forbidden("x".into()), "forbidden", 403),
            (ServeError::TooLarge("x".into()), "too_large", 413),
            (ServeError::Timeout("x".into()), "timeout", 504),
            (ServeError::Unavailable("x".into()), "unavailable", 503),
            (ServeError::Internal("x".into()), "internal", 500),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.http_status(), status);
        }
    }
    #[test]
    fn library_errors_map_to_codes() {
        let e: ServeError = Error::invalid_request("bad filter").into();
        assert_eq!(e.code(), "invalid_request");
        let e: ServeError = Error::no_index("/nowhere").into();
        assert_eq!(e.code(), "unavailable");
        assert!(
            !e.to_string().contains("/nowhere"),
            "a server's folders stay in its log: {e}"
        );
        let e: ServeError = Error::bug("oops").into();
        assert_eq!(e.code(), "internal");
        assert!(
            !e.to_string().contains("oops"),
            "internal details stay in the log"
        );
    }
}
