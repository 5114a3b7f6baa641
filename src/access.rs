//! Who may read what: principals, readers, and the access policy of an index.
//!
//! A document may name its **readers** — users and groups — in its front matter (`readers:`),
//! in its export's fields (a JSONL record's `readers`, a Slack channel's members), or through a
//! folder rule of the **access file** (`access.toml` at an export root, or
//! `lore index --access FILE`):
//!
//! ```toml
//! # Documents that name no readers and fall under no folder rule: "deny" (the default) or "allow".
//! default = "deny"
//!
//! [groups]
//! legal = ["priya", "marcus"]
//! leads = ["priya", "dana", "omar"]
//!
//! [[folder]]
//! path = "meetings/legal"      # relative to the export root; the longest matching rule wins
//! readers = ["group:legal"]
//! ```
//!
//! A reader is a user id (`priya`), a group (`group:legal` or `@legal`), or everyone (`*`).
//! Ids compare without regard to case.
//!
//! Access control is **on** for an index when it was built with an access file or when any of
//! its documents names readers. A query then carries a [`Principal`]; it sees only the chunks
//! whose document lets it read, and nothing else of the index: not in hits, snippets, counts,
//! decision histories, `who` rankings, packed context, or scores (full-text statistics are
//! those of the visible chunks alone). A query without a principal is the index owner's and
//! sees everything, as does any query on an index with access control off.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Who a query is asked on behalf of: a user id and, optionally, groups it belongs to beyond
/// those the index's access file gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Principal {
    /// The user id (compared without regard to case).
    pub user: String,
    /// Extra groups (for example from a server's token mapping).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

impl Principal {
    /// A principal for `user`, with the groups the access file gives it.
    pub fn new(user: impl Into<String>) -> Self {
        Principal {
            user: user.into(),
            groups: Vec::new(),
        }
    }

    /// The same principal, also in `groups`.
    pub fn with_groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups.extend(groups.into_iter().map(Into::into));
        self
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.user)?;
        if !self.groups.is_empty() {
            write!(f, " (+{})", self.groups.join(", "))?;
        }
        Ok(())
    }
}

/// What a document that names no readers, under no folder rule, is open to when access control
/// is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAccess {
    /// Nobody but the index owner (the default).
    #[default]
    Deny,
    /// Everyone.
    Allow,
}

/// A folder rule of the access file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderRule {
    /// Folder, relative to the export root (`meetings/legal`), or prefixed with the root's
    /// name as document ids are (`corpus/meetings/legal`).
    pub path: String,
    /// Its readers.
    pub readers: Vec<String>,
}

/// The access file, as read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicy {
    /// For documents with no readers of their own and no folder rule.
    #[serde(default)]
    pub default: DefaultAccess,
    /// Group → member user ids.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Folder rules.
    #[serde(default, rename = "folder")]
    pub folders: Vec<FolderRule>,
}

/// The token a reader is indexed as: `user:<id>`, `group:<name>` or `*`, lower-cased; `None` for
/// an empty spec.
pub(crate) fn reader_token(spec: &str) -> Option<String> {
    let s = spec.trim();
    if s.is_empty() {
        return None;
    }
    let lower = s.to_lowercase();
    if matches!(lower.as_str(), "*" | "everyone" | "all" | "public") {
        return Some(EVERYONE.to_string());
    }
    if let Some(g) = lower
        .strip_prefix("group:")
        .or_else(|| lower.strip_prefix('@'))
    {
        let g = g.trim();
        return (!g.is_empty()).then(|| format!("group:{g}"));
    }
    let u = lower.strip_prefix("user:").unwrap_or(&lower).trim();
    (!u.is_empty()).then(|| format!("user:{u}"))
}

/// The reader token every principal holds.
pub(crate) const EVERYONE: &str = "*";

impl AccessPolicy {
    /// The reader tokens `principal` holds under this policy: itself, its groups (its own and
    /// the policy's), and everyone.
    pub(crate) fn tokens_of(&self, principal: &Principal) -> BTreeSet<String> {
        let user = principal.user.trim().to_lowercase();
        let mut tokens = BTreeSet::new();
        tokens.insert(EVERYONE.to_string());
        if let Some(t) = reader_token(&format!("user:{user}")) {
            tokens.insert(t);
        }
        for g in &principal.groups {
            if let Some(t) = reader_token(&format!("group:{}", g.trim_start_matches('@'))) {
                tokens.insert(t);
            }
        }
        for (group, members) in &self.groups {
            if members.iter().any(|m| m.trim().to_lowercase() == user) {
                if let Some(t) = reader_token(&format!("group:{group}")) {
                    tokens.insert(t);
                }
            }
        }
        tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_specs_become_tokens() {
        assert_eq!(reader_token("Priya").as_deref(), Some("user:priya"));
        assert_eq!(reader_token("group:Legal").as_deref(), Some("group:legal"));
        assert_eq!(reader_token("@legal").as_deref(), Some("group:legal"));
        assert_eq!(reader_token("*").as_deref(), Some("*"));
        assert_eq!(reader_token("  ").as_deref(), None);
        assert_eq!(reader_token("group:").as_deref(), None);
    }

    #[test]
    fn a_principal_holds_its_groups() {
        let policy: AccessPolicy = toml::from_str(
            "default = \"allow\"\n[groups]\nlegal = [\"Priya\", \"marcus\"]\nops = [\"dana\"]\n",
        )
        .unwrap();
        assert_eq!(policy.default, DefaultAccess::Allow);
        let tokens = policy.tokens_of(&Principal::new("priya").with_groups(["@board"]));
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        assert_eq!(tokens, ["*", "group:board", "group:legal", "user:priya"]);
    }
}
