//! Who is who: the people file that merges the ways one person is written ("Sarah Chen",
//! "S. Chen", "sarah.chen", a Slack user id), and the names an index has seen.
//!
//! Merging is never guessed: two names are the same person only when the people file says so.
//! The file is `people.yaml` (or `.yml`, `.toml`) at the root of an indexed folder, or the one
//! given with `lore index --people FILE`. YAML is a list of people (or a map with a `people`
//! list); TOML is `[[people]]` tables:
//!
//! ```yaml
//! - name: Sarah Chen              # canonical name, as lore prints it
//!   aliases: [S. Chen, sarah, U04ABCDEF]
//!   email: sarah.chen@example.com # its local part (sarah.chen) is an alias too
//!   role: Staff engineer
//!   team: Billing
//! ```
//!
//! Names compare case-insensitively, with whitespace squashed and a leading `@` dropped. A
//! name or alias that would stand for two people is an error naming both. Every person name an
//! index meets (authors, speakers, Slack users, deciders, owners) is counted at build time;
//! those the file does not know are kept as written and listed by `lore stats`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::load::PEOPLE_FILE_NAMES;

/// One person, as the people file describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Canonical name.
    pub name: String,
    /// Other ways they are written: initials, handles, Slack user ids.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Role or title.
    #[serde(default)]
    pub role: Option<String>,
    /// Team.
    #[serde(default)]
    pub team: Option<String>,
}

impl Person {
    /// Every name the person goes by: the canonical one, the aliases, the e-mail address.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .chain(self.email.as_deref())
    }
}

/// The people of an index: the people file (if any) and every name seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct People {
    /// The people file read at build time, in its stored form ([`crate::path_text`]).
    pub file: Option<String>,
    /// The people it lists.
    pub people: Vec<Person>,
    /// Every person name the index met as written, with how many chunks or entries name them.
    pub seen: BTreeMap<String, usize>,
    #[serde(skip)]
    pub(crate) by_key: HashMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PeopleFile {
    List(Vec<Person>),
    Map { people: Vec<Person> },
}

/// How names compare: lower-case, whitespace squashed, a leading `@` dropped.
pub fn name_key(name: &str) -> String {
    name.trim()
        .trim_start_matches('@')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl People {
    /// Read a people file (YAML or TOML by extension).
    pub fn read(path: &Path) -> Result<People> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let is_toml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let parsed: PeopleFile = if is_toml {
            toml::from_str(&text)
                .map_err(|e| Error::load(path, format!("not a people file: {e}")))?
        } else {
            yaml_serde::from_str(&text)
                .map_err(|e| Error::load(path, format!("not a people file: {e}")))?
        };
        let people = match parsed {
            PeopleFile::List(p) | PeopleFile::Map { people: p } => p,
        };
        let mut out = People {
            file: Some(crate::path_text::to_text(path)),
            people,
            ..People::default()
        };
        out.index().map_err(|reason| Error::load(path, reason))?;
        Ok(out)
    }

    /// Build the name lookup; a name standing for two people is an error.
    pub(crate) fn index(&mut self) -> std::result::Result<(), String> {
        self.by_key.clear();
        for (i, p) in self.people.iter().enumerate() {
            if p.name.trim().is_empty() {
                return Err(format!("person {} has no name", i + 1));
            }
            let mut keys: Vec<String> = p.names().map(name_key).collect();
            // The e-mail's local part names the person too (how browsers join meetings).
            if let Some((local, _)) = p.email.as_deref().and_then(|e| e.split_once('@')) {
                keys.push(name_key(local));
            }
            for key in keys.into_iter().filter(|k| !k.is_empty()) {
                match self.by_key.get(&key) {
                    Some(&j) if j != i => {
                        return Err(format!(
                            "`{key}` names both {} and {}: make it an alias of one of them only",
                            self.people[j].name, p.name
                        ))
                    }
                    _ => {
                        self.by_key.insert(key, i);
                    }
                }
            }
        }
        Ok(())
    }

    /// The person a name stands for, if the people file says.
    pub fn resolve(&self, name: &str) -> Option<&Person> {
        self.by_key.get(&name_key(name)).map(|&i| &self.people[i])
    }

    /// The canonical name for a name: the person's, or the name as written when unknown.
    pub fn canonical(&self, name: &str) -> String {
        match self.resolve(name) {
            Some(p) => p.name.clone(),
            None => name.trim().to_string(),
        }
    }

    /// Names seen that the people file does not know, with their counts, most frequent first.
    pub fn unknown(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = self
            .seen
            .iter()
            .filter(|(name, _)| self.resolve(name).is_none())
            .map(|(n, c)| (n.clone(), *c))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// The people file at the root of one of `roots` (folders), if any.
pub fn find_people_file(roots: &[String]) -> Option<std::path::PathBuf> {
    crate::load::file_at_roots(roots, PEOPLE_FILE_NAMES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn aliases_emails_and_handles_merge_only_as_written() {
        let (_d, path) = write(
            "people.yaml",
            "- name: Sarah Chen\n  aliases: [S. Chen, U04ABCDEF]\n  email: sarah.chen@example.com\n  team: Billing\n- name: Sam Chen\n",
        );
        let people = People::read(&path).unwrap();
        for variant in [
            "Sarah Chen",
            "s. chen",
            "@sarah.chen",
            "U04ABCDEF",
            "sarah.chen@example.com",
            "  Sarah   CHEN ",
        ] {
            assert_eq!(people.canonical(variant), "Sarah Chen", "{variant}");
        }
        // Not guessed: a surname alone, or another Chen, stays as written.
        assert_eq!(people.canonical("Chen"), "Chen");
        assert_eq!(people.canonical("S Chen"), "S Chen");
        assert_eq!(people.canonical("Sam Chen"), "Sam Chen");
        assert_eq!(people.resolve("Sam Chen").unwrap().aliases.len(), 0);
    }

    #[test]
    fn toml_and_map_forms_read_too() {
        let (_d, path) = write(
            "people.toml",
            "[[people]]\nname = \"Omar Haddad\"\naliases = [\"O. Haddad\"]\n",
        );
        assert_eq!(
            People::read(&path).unwrap().canonical("o. haddad"),
            "Omar Haddad"
        );
        let (_d, path) = write(
            "people.yml",
            "people:\n  - name: Noor Haddad\n    aliases: [noor]\n",
        );
        assert_eq!(
            People::read(&path).unwrap().canonical("Noor"),
            "Noor Haddad"
        );
    }

    #[test]
    fn an_alias_of_two_people_is_an_error_naming_both() {
        let (_d, path) = write(
            "people.yaml",
            "- name: Omar Haddad\n  aliases: [Haddad]\n- name: Noor Haddad\n  aliases: [Haddad]\n",
        );
        let err = People::read(&path).unwrap_err().to_string();
        assert!(err.contains("people.yaml"), "{err}");
        assert!(
            err.contains("Omar Haddad") && err.contains("Noor Haddad"),
            "{err}"
        );
        let (_d, path) = write("people.yaml", "name: [unclosed");
        let err = People::read(&path).unwrap_err().to_string();
        assert!(err.contains("not a people file"), "{err}");
    }

    #[test]
    fn unknown_names_are_listed_most_frequent_first() {
        let mut people = People {
            people: vec![Person {
                name: "Ana Lima".into(),
                aliases: vec!["ana".into()],
                email: None,
                role: None,
                team: None,
            }],
            ..People::default()
        };
        people.index().unwrap();
        people.seen = [
            ("ana".to_string(), 4),
            ("Bob Ray".to_string(), 1),
            ("Kim".to_string(), 3),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            people.unknown(),
            vec![("Kim".to_string(), 3), ("Bob Ray".to_string(), 1)]
        );
    }
}
