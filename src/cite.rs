//! How an answer names its sources to a caller who is not the index's owner.
//!
//! The index records each source file by the path it was read from (`/srv/exports/wiki/x.md`:
//! `lore index` makes the paths it is given absolute), and the owner's own answers — the CLI,
//! run by whoever holds the exports — cite it so. An answer handed to a caller of `lore serve`
//! or `lore mcp` says nothing of the server's file system: [`Citations::path`] gives the path
//! relative to the export root the index was built from, led by the root folder's own name as
//! document ids are (`exports/wiki/x.md` for `lore index /srv/exports`; a file indexed by
//! itself is its file name).
//!
//! Nor does it say anything of what the caller may not read. A chunk's lines and bytes tell
//! where it sits in its file; in a file whose documents have different readers (the messages
//! of a chat thread, the records of a JSON export) that tells of the documents around it: two
//! readable messages on lines 1 and 3 betray a hidden one on line 2, and the byte offsets its
//! length. [`Citations::shows_ranges`] is false for the chunks of a file the caller reads
//! only in part, and answers for the caller leave those ranges out; a chunk is still cited by
//! its id and content hash.
//!
//! ```no_run
//! # use lore::{Index, Principal, SearchRequest};
//! let index = Index::open("/tmp/acme")?;
//! let omar = Principal::new("omar");
//! let citations = index.citations(Some(&omar))?;
//! let mut request = SearchRequest::new("release freeze");
//! request.principal = Some(omar);
//! for hit in index.search(&request)?.hits {
//!     let path = citations.path(&hit.provenance.path);
//!     match citations.shows_ranges(&hit.provenance.path) {
//!         true => println!("{path}:{}", hit.provenance.line_range[0]),
//!         false => println!("{path} ({})", hit.chunk_id),
//!     }
//! }
//! # Ok::<(), lore::Error>(())
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::access::Principal;
use crate::error::Result;
use crate::index::Index;

/// Who an answer's citations are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CitationStyle {
    /// The index's owner: source paths as indexed, every line and byte range (the CLI).
    #[default]
    Owner,
    /// A caller of a server: paths relative to the export root, and no ranges in files the
    /// principal reads only in part (see [`Citations`]).
    Caller,
}

/// One folder or file the index was built from.
#[derive(Debug, Clone)]
struct Root {
    /// As the manifest records it.
    path: PathBuf,
    /// Its name, which leads the relative paths of the files below it (`None` for `/`).
    name: Option<String>,
}

/// How to cite sources to one caller: see the module guide and [`Index::citations`].
#[derive(Debug, Clone)]
pub struct Citations {
    roots: Vec<Root>,
    /// Source files the caller reads only in part.
    partly_readable: HashSet<String>,
}

impl Citations {
    /// Citations relative to `sources` (the indexed paths, as the manifest lists them), each
    /// folder led by its name in `root_names` (else its own), that withhold the ranges of the
    /// files in `partly_readable`.
    pub(crate) fn new(
        sources: &[String],
        root_names: &BTreeMap<String, String>,
        partly_readable: HashSet<String>,
    ) -> Self {
        let mut roots: Vec<Root> = sources
            .iter()
            .map(|s| {
                let path = PathBuf::from(s);
                // As the walk names a root's files (see `load::walk_named`).
                let name = root_names
                    .get(s)
                    .cloned()
                    .or_else(|| crate::load::root_name(&path));
                Root { path, name }
            })
            .collect();
        // The most specific root first, when one lies inside another.
        roots.sort_by_key(|r| std::cmp::Reverse(r.path.components().count()));
        Citations {
            roots,
            partly_readable,
        }
    }

    /// `path` (a source path as the index records it) relative to the export root it was read
    /// from, `/`-separated and led by the root's name; the file name alone for a path under no
    /// root (a file added from memory). Never an absolute path.
    pub fn path(&self, path: &str) -> String {
        let file = Path::new(path);
        for root in &self.roots {
            let Ok(rest) = file.strip_prefix(&root.path) else {
                continue;
            };
            let mut parts: Vec<String> = root.name.iter().cloned().collect();
            if rest.as_os_str().is_empty() && parts.is_empty() {
                break;
            }
            parts.extend(
                rest.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned()),
            );
            return parts.join("/");
        }
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Whether the lines and bytes of a chunk of the file at `path` may be shown: false when
    /// the file holds documents the caller may read and others it may not.
    pub fn shows_ranges(&self, path: &str) -> bool {
        !self.partly_readable.contains(path)
    }
}

impl Index {
    /// How to cite this index's sources to `principal` (`None`: the owner, who still gets
    /// relative paths; every range is shown to it): see the `cite` module guide in the source.
    pub fn citations(&self, principal: Option<&Principal>) -> Result<Citations> {
        let partly_readable = match self.scope(principal)? {
            Some(scope) => scope.partly_readable.clone(),
            None => HashSet::new(),
        };
        let manifest = self.manifest();
        Ok(Citations::new(
            &manifest.sources,
            &manifest.root_names,
            partly_readable,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_their_root_and_led_by_its_name() {
        let c = Citations::new(
            &[
                "/srv/exports/wiki".to_string(),
                "/srv/exports/wiki/team".to_string(),
                "/data/one.md".to_string(),
            ],
            &BTreeMap::new(),
            HashSet::new(),
        );
        assert_eq!(c.path("/srv/exports/wiki/a/x.md"), "wiki/a/x.md");
        // The most specific root wins.
        assert_eq!(c.path("/srv/exports/wiki/team/y.md"), "team/y.md");
        // A file indexed by itself is its name.
        assert_eq!(c.path("/data/one.md"), "one.md");
        // Under no root: the file name alone, never the server's path.
        assert_eq!(c.path("/home/someone/secret/notes.md"), "notes.md");
        // Whole components only: `/srv/exports/wikipedia` is not under `/srv/exports/wiki`.
        assert_eq!(c.path("/srv/exports/wikipedia/z.md"), "z.md");
        // An index written with the paths as given (relative) cites them the same way.
        let rel = Citations::new(&["corpus".to_string()], &BTreeMap::new(), HashSet::new());
        assert_eq!(
            rel.path("corpus/decisions/0009-x.md"),
            "corpus/decisions/0009-x.md"
        );
    }

    #[test]
    fn a_moved_folder_is_cited_by_the_name_its_ids_keep() {
        let names = BTreeMap::from([("/srv/exports-2025".to_string(), "exports".to_string())]);
        let c = Citations::new(&["/srv/exports-2025".to_string()], &names, HashSet::new());
        assert_eq!(c.path("/srv/exports-2025/wiki/x.md"), "exports/wiki/x.md");
    }

    #[test]
    fn ranges_are_withheld_only_in_partly_readable_files() {
        let c = Citations::new(
            &["/srv/chat".to_string()],
            &BTreeMap::new(),
            HashSet::from(["/srv/chat/thread.jsonl".to_string()]),
        );
        assert!(!c.shows_ranges("/srv/chat/thread.jsonl"));
        assert!(c.shows_ranges("/srv/chat/other.jsonl"));
    }
}
