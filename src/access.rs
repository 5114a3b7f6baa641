//! Who may read what: principals, readers, and the access policy of an index.
//!
//! A document may name its **readers** — users and groups — in its front matter (`readers:`),
//! in its export's fields (a JSONL record's or message's `readers`; a Slack export's
//! `channels.json` and `groups.json`: a private channel's members, everyone for a public
//! channel), or through a folder rule of the **access file** (`access.toml` at an export root, or
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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::memory::People;

pub(crate) use crate::load::ACCESS_FILE_NAME;

/// The token of documents that name no readers and fall under no folder rule: readable by
/// every principal when the policy's default is `allow`.
pub(crate) const DEFAULT_TOKEN: &str = "~default";

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

/// A document's own readers, as its front matter or export fields give them (the `readers`
/// metadata field, a list or comma-separated); `None` when it names none.
pub(crate) fn own_readers(metadata: &BTreeMap<String, String>) -> Option<Vec<String>> {
    let value = metadata.get("readers")?;
    let readers: Vec<String> = value
        .split(',')
        .map(|r| {
            r.trim()
                .trim_matches(|c| c == '[' || c == ']' || c == '"' || c == '\'')
        })
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    Some(readers)
}

/// `file_id` (`corpus/meetings/legal/x.md`) lies in `folder` (`meetings/legal`, or with the
/// root's name, `corpus/meetings/legal`).
fn in_folder(file_id: &str, folder: &str) -> bool {
    let folder = folder.trim().trim_matches('/').replace('\\', "/");
    let folder = folder.strip_prefix("./").unwrap_or(&folder);
    if folder.is_empty() {
        return true;
    }
    let under = |id: &str| id == folder || id.starts_with(&format!("{folder}/"));
    under(file_id) || file_id.split_once('/').is_some_and(|(_, rest)| under(rest))
}

impl AccessPolicy {
    /// Read an access file (TOML).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::load(path, format!("cannot read the access file: {e}")))?;
        let policy: AccessPolicy = toml::from_str(&text)
            .map_err(|e| Error::load(path, format!("not a valid access file: {e}")))?;
        for rule in &policy.folders {
            if rule.readers.iter().all(|r| reader_token(r).is_none()) {
                return Err(Error::load(
                    path,
                    format!(
                        "the folder rule for `{}` names no readers (use readers = [\"*\"] to open it to everyone)",
                        rule.path
                    ),
                ));
            }
        }
        Ok(policy)
    }

    /// The reader tokens of a document: its own readers when it names some, else those of the
    /// longest folder rule its file (`file_id`, as the walk names it) lies in, else the
    /// default's token.
    pub(crate) fn document_tokens(&self, own: Option<&[String]>, file_id: &str) -> Vec<String> {
        let readers: &[String] = match own {
            Some(own) => own,
            None => match self
                .folders
                .iter()
                .filter(|r| in_folder(file_id, &r.path))
                .max_by_key(|r| r.path.trim_matches('/').len())
            {
                Some(rule) => &rule.readers,
                None => return vec![DEFAULT_TOKEN.to_string()],
            },
        };
        let mut tokens: Vec<String> = readers.iter().filter_map(|r| reader_token(r)).collect();
        tokens.sort();
        tokens.dedup();
        tokens
    }

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

/// A generation's access control (`access.json`): whether it is on, the policy, and the
/// reader tokens of every document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessControl {
    /// On when the index was built with an access file or a document names readers.
    pub(crate) enabled: bool,
    /// The access file read, if any (an update reads it again); stored as
    /// [`crate::path_text`] says, so that any path is recorded.
    #[serde(default, with = "crate::path_text::serde_opt_path")]
    pub(crate) file: Option<PathBuf>,
    /// Its policy (the default one without a file).
    pub(crate) policy: AccessPolicy,
    /// The distinct token lists of the documents.
    pub(crate) lists: Vec<Vec<String>>,
    /// Each document's list (an index into `lists`).
    pub(crate) documents: BTreeMap<String, u32>,
    /// The source files (by path, as provenance gives it) whose documents do not all have the
    /// same readers, with the distinct lists of their documents: a chat thread or JSON export
    /// whose messages some principals read only in part. Empty in an index written before it
    /// was recorded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) mixed_files: BTreeMap<String, Vec<u32>>,
    /// The metadata fields the documents carry, lower-cased as filters name them, each with
    /// the distinct lists of the documents that carry it (so that a principal is told only of
    /// the fields of what it may read). `None` in an index written before they were recorded:
    /// a filter may then name any field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metadata_keys: Option<BTreeMap<String, Vec<u32>>>,
}

impl AccessControl {
    /// The index into `lists` of document `doc_id`'s readers.
    pub(crate) fn list_of(&self, doc_id: &str) -> Option<u32> {
        self.documents.get(doc_id).copied()
    }

    /// Record that document `doc_id` carries the metadata fields `keys`.
    pub(crate) fn add_metadata_keys<'a>(
        &mut self,
        doc_id: &str,
        keys: impl IntoIterator<Item = &'a String>,
    ) {
        let Some(list) = self.list_of(doc_id) else {
            return;
        };
        let known = self.metadata_keys.get_or_insert_with(BTreeMap::new);
        for key in keys {
            let lists = known.entry(key.to_lowercase()).or_default();
            if !lists.contains(&list) {
                lists.push(list);
            }
        }
    }

    /// The metadata fields of the documents a holder of `tokens` may read (`None` for
    /// `tokens`: every document's); `None` when the index did not record them.
    pub(crate) fn metadata_keys_for(
        &self,
        tokens: Option<&BTreeSet<String>>,
    ) -> Option<BTreeSet<String>> {
        let open = |l: &u32| {
            tokens.is_none_or(|tokens| {
                self.lists
                    .get(*l as usize)
                    .is_some_and(|l| l.iter().any(|t| tokens.contains(t)))
            })
        };
        let known = self.metadata_keys.as_ref()?;
        Some(
            known
                .iter()
                .filter(|(_, lists)| lists.iter().any(open))
                .map(|(key, _)| key.clone())
                .collect(),
        )
    }

    /// The reader tokens of document `doc_id` (none for an unknown document).
    pub(crate) fn readers_of(&self, doc_id: &str) -> &[String] {
        self.documents
            .get(doc_id)
            .and_then(|&l| self.lists.get(l as usize))
            .map_or(&[], Vec::as_slice)
    }

    /// The tokens `principal` holds: its own and its groups' (see
    /// [`AccessPolicy::tokens_of`]), those of every name the people file gives the same person
    /// (a Slack id, an email, an alias), and the default's token when the default is `allow`.
    pub(crate) fn tokens_of(&self, principal: &Principal, people: &People) -> BTreeSet<String> {
        let mut tokens = self.policy.tokens_of(principal);
        if let Some(person) = people.resolve(&principal.user) {
            for name in person.names() {
                let same = Principal {
                    user: name.to_string(),
                    groups: Vec::new(),
                };
                tokens.extend(self.policy.tokens_of(&same));
            }
        }
        if self.policy.default == DefaultAccess::Allow {
            tokens.insert(DEFAULT_TOKEN.to_string());
        }
        tokens
    }

    /// One line on access control for a build's summary (`None` when it is off): where readers
    /// came from, and what the documents with none follow.
    pub(crate) fn describe(&self) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let mut by_default = 0usize;
        let mut nobody = 0usize;
        for &list in self.documents.values() {
            match self.lists.get(list as usize).map(Vec::as_slice) {
                Some([t]) if t == DEFAULT_TOKEN => by_default += 1,
                Some([]) => nobody += 1,
                _ => {}
            }
        }
        let restricted = self.documents.len() - by_default - nobody;
        let source = match &self.file {
            Some(f) => format!("access file {}", f.display()),
            None => "no access file: documents name their readers".to_string(),
        };
        let default = match self.policy.default {
            DefaultAccess::Deny => "deny: only the index owner reads them",
            DefaultAccess::Allow => "allow: everyone reads them",
        };
        Some(format!(
            "access control on ({source}): {restricted} documents have readers, {by_default} name none and follow the default ({default}){}",
            match nobody {
                0 => String::new(),
                n => format!(", {n} have an empty reader list"),
            }
        ))
    }

    /// The source files a holder of `tokens` may read in part only: some of their documents
    /// are open to it and some are not. Where a chunk of such a file sits in it (its lines and
    /// bytes) tells of the documents around it, so answers withhold it.
    pub(crate) fn partly_readable_files(&self, tokens: &BTreeSet<String>) -> HashSet<String> {
        let open = |l: &u32| {
            self.lists
                .get(*l as usize)
                .is_some_and(|l| l.iter().any(|t| tokens.contains(t)))
        };
        self.mixed_files
            .iter()
            .filter(|(_, lists)| lists.iter().any(open) && !lists.iter().all(open))
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// The ids of the documents a holder of `tokens` may read.
    pub(crate) fn readable(&self, tokens: &BTreeSet<String>) -> HashSet<String> {
        let open: Vec<bool> = self
            .lists
            .iter()
            .map(|l| l.iter().any(|t| tokens.contains(t)))
            .collect();
        self.documents
            .iter()
            .filter(|(_, &l)| open.get(l as usize).copied().unwrap_or(false))
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// Builds an [`AccessControl`] document by document.
#[derive(Debug, Default)]
pub(crate) struct AccessBuilder {
    control: AccessControl,
    interned: HashMap<Vec<String>, u32>,
    /// The distinct lists of each file's documents, by path.
    files: BTreeMap<String, Vec<u32>>,
}

impl AccessBuilder {
    pub(crate) fn new(policy: AccessPolicy, file: Option<PathBuf>) -> Self {
        AccessBuilder {
            control: AccessControl {
                enabled: file.is_some(),
                file,
                policy,
                ..AccessControl::default()
            },
            interned: HashMap::new(),
            files: BTreeMap::new(),
        }
    }

    /// Record a document, read from the file at `path` (whose documents are walked as
    /// `file_id`).
    pub(crate) fn add(&mut self, doc_id: &str, own: Option<&[String]>, file_id: &str, path: &str) {
        self.control.enabled |= own.is_some();
        let tokens = self.control.policy.document_tokens(own, file_id);
        let next = self.control.lists.len() as u32;
        let list = *self.interned.entry(tokens.clone()).or_insert(next);
        if list == next {
            self.control.lists.push(tokens);
        }
        self.control.documents.insert(doc_id.to_string(), list);
        let lists = self.files.entry(path.to_string()).or_default();
        if !lists.contains(&list) {
            lists.push(list);
        }
    }

    pub(crate) fn finish(mut self) -> AccessControl {
        // Filled in as the chunks are written (`add_metadata_keys`): an index with no
        // metadata at all still records that it has none.
        self.control.metadata_keys = Some(BTreeMap::new());
        self.control.mixed_files = self
            .files
            .into_iter()
            .filter(|(_, lists)| lists.len() > 1)
            .map(|(path, mut lists)| {
                lists.sort_unstable();
                (path, lists)
            })
            .collect();
        self.control
    }
}

/// The access file at the root of one of `roots` (folders), if any.
pub(crate) fn find_access_file(roots: &[String]) -> Option<PathBuf> {
    crate::load::file_at_roots(roots, &[ACCESS_FILE_NAME])
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
    fn a_file_of_mixed_readers_is_read_in_part_and_its_fields_are_told_only_to_its_readers() {
        let mut b = AccessBuilder::new(AccessPolicy::default(), None);
        let everyone = ["*".to_string()];
        let priya = ["priya".to_string()];
        b.add("t1", Some(&everyone), "chat/t.jsonl", "/x/chat/t.jsonl");
        b.add("t2", Some(&priya), "chat/t.jsonl", "/x/chat/t.jsonl");
        b.add("w", Some(&priya), "wiki/w.md", "/x/wiki/w.md");
        let mut control = b.finish();
        assert_eq!(control.mixed_files.len(), 1);
        control.add_metadata_keys("t1", &["Channel".to_string()]);
        control.add_metadata_keys("t2", &["codename".to_string()]);
        let omar = control.tokens_of(&Principal::new("omar"), &People::default());
        let priya = control.tokens_of(&Principal::new("priya"), &People::default());
        // omar reads t1 only: the thread is read in part; priya reads all of it.
        assert_eq!(
            control.partly_readable_files(&omar),
            HashSet::from(["/x/chat/t.jsonl".to_string()])
        );
        assert!(control.partly_readable_files(&priya).is_empty());
        let keys = |t: Option<&BTreeSet<String>>| {
            control
                .metadata_keys_for(t)
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(Some(&omar)), ["channel"]);
        assert_eq!(keys(Some(&priya)), ["channel", "codename"]);
        assert_eq!(keys(None), ["channel", "codename"]);
        // An index written before the fields were recorded names none, and refuses none.
        let old: AccessControl = serde_json::from_str(
            r#"{"enabled": true, "file": null, "policy": {}, "lists": [], "documents": {}}"#,
        )
        .unwrap();
        assert_eq!(old.metadata_keys_for(None), None);
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
