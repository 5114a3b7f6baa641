//! Who a caller is: the tokens file that maps bearer tokens to principals.
//!
//! A server given a tokens file (`lore serve --tokens FILE`) answers only requests that carry
//! one of its tokens (`Authorization: Bearer <token>`), each on behalf of the principal the
//! token maps to:
//!
//! ```toml
//! [[token]]
//! token = "4f1c…"          # a long random string (e.g. `openssl rand -hex 32`)
//! user = "priya"
//! groups = ["board"]       # optional: groups beyond those the index's access file gives
//!
//! [[token]]
//! token = "9a7e…"
//! user = "omar"
//! ```
//!
//! Tokens are compared in constant time (for a given length), and an unknown token is told
//! apart from a missing one by nobody: both are `unauthorized`.
//!
//! The file is a set of passwords: on Unix, [`Tokens::load`] refuses one that its group or
//! others may read or write (`chmod 600 FILE` fixes it), as ssh refuses a private key anyone
//! can read.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::access::Principal;
use crate::serve::ServeError;

/// The fewest characters a token may have.
pub const MIN_TOKEN_LEN: usize = 16;

/// One `[[token]]` of the tokens file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token: String,
    user: String,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    token: Vec<TokenEntry>,
}

/// Bearer tokens and the principals they stand for (see the module guide).
#[derive(Clone)]
pub struct Tokens {
    path: PathBuf,
    entries: Vec<(String, Principal)>,
}

impl std::fmt::Debug for Tokens {
    // Never print the tokens themselves.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("path", &self.path)
            .field("num_tokens", &self.entries.len())
            .finish()
    }
}

impl Tokens {
    /// Read a tokens file. Fails with [`ServeError::Config`] naming the file and what is wrong
    /// with it: unreadable, readable or writable by its group or others (on Unix), not TOML of
    /// the documented shape, no token, a token shorter than [`MIN_TOKEN_LEN`], an empty user,
    /// or one token given twice.
    pub fn load(path: impl AsRef<Path>) -> Result<Tokens, ServeError> {
        let path = path.as_ref();
        let bad = |reason: String| ServeError::Config {
            path: path.to_path_buf(),
            reason,
        };
        check_private(path)?;
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let file: TokensFile = toml::from_str(&text).map_err(|e| {
            bad(format!(
                "not a tokens file ({}); expected [[token]] tables with token, user and groups",
                e.message()
            ))
        })?;
        Tokens::from_entries(
            path,
            file.token
                .into_iter()
                .map(|e| (e.token, Principal::new(e.user).with_groups(e.groups))),
        )
    }

    /// Tokens given in code: `(token, principal)` pairs (`path` is only used in messages).
    pub fn from_entries(
        path: impl Into<PathBuf>,
        entries: impl IntoIterator<Item = (String, Principal)>,
    ) -> Result<Tokens, ServeError> {
        let path = path.into();
        let bad = |reason: String| ServeError::Config {
            path: path.clone(),
            reason,
        };
        let mut out: Vec<(String, Principal)> = Vec::new();
        for (n, (token, principal)) in entries.into_iter().enumerate() {
            let n = n + 1;
            if token.trim().len() < MIN_TOKEN_LEN {
                return Err(bad(format!(
                    "token {n} (user `{}`) is shorter than {MIN_TOKEN_LEN} characters",
                    principal.user
                )));
            }
            if principal.user.trim().is_empty() {
                return Err(bad(format!("token {n} has an empty user")));
            }
            if out.iter().any(|(t, _)| t == token.trim()) {
                return Err(bad(format!("token {n} is given twice")));
            }
            out.push((token.trim().to_string(), principal));
        }
        if out.is_empty() {
            return Err(bad("it holds no [[token]]".into()));
        }
        Ok(Tokens { path, entries: out })
    }

    /// The file the tokens were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Always false: a tokens file holds at least one token.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal of a bearer token; [`ServeError::Unauthorized`] when there is no token or
    /// it is not one of the file's (the two look the same).
    pub fn principal_for(&self, token: Option<&str>) -> Result<Principal, ServeError> {
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(ServeError::Unauthorized);
        };
        // Look at every entry whatever matches, so timing tells little about which matched.
        let mut found = None;
        for (t, principal) in &self.entries {
            if constant_time_eq(t.as_bytes(), token.as_bytes()) && found.is_none() {
                found = Some(principal);
            }
        }
        found.cloned().ok_or(ServeError::Unauthorized)
    }
}

/// Refuse a tokens file its group or others may read or write (Unix only: elsewhere file
/// modes do not say who may read).
fn check_private(path: &Path) -> Result<(), ServeError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::metadata(path).map_err(|e| ServeError::Config {
            path: path.to_path_buf(),
            reason: format!("cannot read it: {e}"),
        })?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ServeError::Config {
                path: path.to_path_buf(),
                reason: format!(
                    "its mode is {mode:04o}: its group or others may read or change the tokens; \
                     make it private to its owner with `chmod 600 {}`",
                    path.display()
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Byte equality whose time depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Write `text` to `path`, private to its owner.
    fn write_private(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    #[test]
    fn a_tokens_file_maps_tokens_to_principals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        write_private(
            &path,
            "[[token]]\ntoken = \"priya-0123456789abcdef\"\nuser = \"priya\"\ngroups = [\"board\"]\n\n\
             [[token]]\ntoken = \"omar-0123456789abcdef\"\nuser = \"omar\"\n",
        );
        let tokens = Tokens::load(&path).unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(
            tokens
                .principal_for(Some("priya-0123456789abcdef"))
                .unwrap(),
            Principal::new("priya").with_groups(["board"])
        );
        assert_eq!(
            tokens.principal_for(Some("omar-0123456789abcdef")).unwrap(),
            Principal::new("omar")
        );
        for bad in [None, Some(""), Some("omar-0123456789abcdeX"), Some("omar")] {
            assert!(matches!(
                tokens.principal_for(bad),
                Err(ServeError::Unauthorized)
            ));
        }
        assert!(!format!("{tokens:?}").contains("0123456789"));
    }

    #[test]
    fn a_bad_tokens_file_is_named_with_its_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        let cases = [
            ("", "holds no [[token]]"),
            ("[[token]]\ntoken = \"short\"\nuser = \"a\"\n", "shorter than 16"),
            ("[[token]]\ntoken = \"0123456789abcdefgh\"\nuser = \" \"\n", "empty user"),
            ("[[token]]\ntokn = \"x\"\n", "not a tokens file"),
            (
                "[[token]]\ntoken = \"0123456789abcdefgh\"\nuser = \"a\"\n[[token]]\ntoken = \"0123456789abcdefgh\"\nuser = \"b\"\n",
                "given twice",
            ),
        ];
        for (text, want) in cases {
            write_private(&path, text);
            let err = Tokens::load(&path).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
            assert!(err.contains("tokens.toml"), "{err}");
        }
        let err = Tokens::load(dir.path().join("missing.toml")).unwrap_err();
        assert!(err.to_string().contains("missing.toml: cannot read it"));
    }

    #[cfg(unix)]
    #[test]
    fn a_tokens_file_others_may_read_or_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        write_private(
            &path,
            "[[token]]\ntoken = \"priya-0123456789abcdef\"\nuser = \"priya\"\n",
        );
        assert!(Tokens::load(&path).is_ok());
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = Tokens::load(&path).unwrap_err().to_string();
            assert!(err.contains(&format!("{mode:04o}")), "{err}");
            assert!(
                err.contains(&format!("chmod 600 {}", path.display())),
                "{err}"
            );
            assert!(err.starts_with(&path.display().to_string()), "{err}");
        }
        // Owner-only modes stricter than 0600 are fine.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(Tokens::load(&path).is_ok());
    }
}
