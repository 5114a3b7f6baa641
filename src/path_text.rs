//! Paths as text: how lore stores, prints and escapes the names of source files.
//!
//! A file name may hold any byte but `/` and NUL: bytes that are not UTF-8 (`caf\xe9.md`, a
//! Latin-1 name), newlines, tabs, other control characters, trailing spaces. lore indexes every
//! such file and keeps three forms of its path:
//!
//! * **stored** ([`to_text`], [`from_text`]): the form the index records (`files.json`,
//!   `skipped.json`, the manifest's sources, every chunk's `provenance.path`) and document ids
//!   are made of. A path that is valid UTF-8 and does not hold the two characters `\x` is
//!   stored as it is. Any other path is stored escaped: each byte that is not part of valid
//!   UTF-8 becomes `\xHH` (two lower-case hex digits) and each backslash becomes `\\`. The
//!   escaped form always holds `\x`, the plain form never does, so [`from_text`] knows which it
//!   reads and gives back the very bytes: the file can be opened again to verify a citation.
//! * **printed** ([`display`], [`display_path`]): one line of text output. A stored path is
//!   printed as it is, unless it holds a control character (newline, tab, …), starts or ends
//!   with white space, or starts with `"`: then it is printed between double quotes with `\\`,
//!   `\"`, `\n`, `\t`, `\r` and `\u{..}` escapes (as git quotes unusual names), so that a
//!   name never breaks a line and a trailing space shows. JSON output carries the stored form
//!   (JSON escapes control characters itself).
//! * **a TSV field** ([`escape_field`], [`unescape_field`]): `documents.tsv` writes ids with
//!   `\\`, `\t`, `\n` and `\r` escaped, so every document is one line of two fields.
//!
//! ```
//! use std::path::Path;
//! use lore::path_text::{display, from_text, to_text};
//! assert_eq!(to_text(Path::new("exports/notes.md")), "exports/notes.md");
//! assert_eq!(display("exports/new\nline.md"), "\"exports/new\\nline.md\"");
//! # #[cfg(unix)] {
//! use std::os::unix::ffi::OsStrExt;
//! let latin1 = Path::new(std::ffi::OsStr::from_bytes(b"exports/caf\xe9.md"));
//! assert_eq!(to_text(latin1), r"exports/caf\xe9.md");
//! assert_eq!(from_text(r"exports/caf\xe9.md"), latin1);
//! # }
//! ```

use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The marker only the escaped stored form holds.
const ESCAPED: &str = "\\x";

/// The stored form of `path` (see the module guide): its text when it is UTF-8 without `\x`,
/// else the escaped form, which [`from_text`] turns back into the same bytes.
pub fn to_text(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        bytes_to_text(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned()
    }
}

/// The stored form of a name given as bytes (see [`to_text`]).
pub fn bytes_to_text(bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if !text.contains(ESCAPED) {
            return text.to_string();
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The path a stored form names: the inverse of [`to_text`].
pub fn from_text(text: &str) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(
            text_to_bytes(text).into_owned(),
        ))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(text)
    }
}

/// The bytes a stored form names: the inverse of [`bytes_to_text`].
pub fn text_to_bytes(text: &str) -> Cow<'_, [u8]> {
    if !text.contains(ESCAPED) {
        return Cow::Borrowed(text.as_bytes());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            match bytes.get(i + 1) {
                Some(b'\\') => {
                    out.push(b'\\');
                    i += 2;
                    continue;
                }
                Some(b'x') => {
                    let hex = text
                        .get(i + 2..i + 4)
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    if let Some(b) = hex {
                        out.push(b);
                        i += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        // Not written by `bytes_to_text`: taken literally.
        out.push(bytes[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// A stored path (or id) as one line of text output: as it is, or quoted and escaped when it
/// holds a control character, starts or ends with white space, or starts with `"` (see the
/// module guide).
pub fn display(text: &str) -> Cow<'_, str> {
    let needs_quotes = text.chars().any(char::is_control)
        || text.starts_with('"')
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace);
    if !needs_quotes {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// A path as one line of text output: [`display`] of its stored form.
pub fn display_path(path: &Path) -> String {
    display(&to_text(path)).into_owned()
}

/// A field of a tab-separated file: `\` → `\\`, tab → `\t`, newline → `\n`, carriage return
/// → `\r`.
pub fn escape_field(text: &str) -> Cow<'_, str> {
    if !text.contains(['\\', '\t', '\n', '\r']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The inverse of [`escape_field`]; `None` for a backslash followed by anything else.
pub fn unescape_field(field: &str) -> Option<String> {
    if !field.contains('\\') {
        return Some(field.to_string());
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

/// `#[serde(with = "crate::path_text::serde_path")]`: a `PathBuf` as its stored form, so that
/// any path serializes (serde's own refuses paths that are not UTF-8).
pub(crate) mod serde_path {
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::to_text(path))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<PathBuf, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(super::from_text(&text))
    }
}

/// `#[serde(with = "crate::path_text::serde_opt_path")]`: an `Option<PathBuf>` as its stored
/// form (see [`serde_path`]).
pub(crate) mod serde_opt_path {
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        path: &Option<PathBuf>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match path {
            Some(path) => serializer.serialize_some(&super::to_text(path)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<PathBuf>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        Ok(text.map(|t| super::from_text(&t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_stored_as_they_are() {
        for name in [
            "a/b.md",
            "new\nline.md",
            "ta\tb.md",
            "trail .md",
            r"back\slash.md",
            "é.md",
        ] {
            assert_eq!(bytes_to_text(name.as_bytes()), name);
            assert_eq!(text_to_bytes(name).as_ref(), name.as_bytes());
        }
    }

    #[test]
    fn every_name_round_trips() {
        let names: &[&[u8]] = &[
            b"caf\xe9.md",
            b"a\\xe9.md",
            b"a\\\\xe9\xff.md",
            b"\\x",
            b"x\\x4",
            b"\xc3\x28\n\t.md",
            "ok é \\x41".as_bytes(),
        ];
        for name in names {
            let text = bytes_to_text(name);
            assert!(text.contains("\\x"), "{text}");
            assert_eq!(text_to_bytes(&text).as_ref(), *name, "{text}");
        }
        assert_eq!(bytes_to_text(b"caf\xe9.md"), r"caf\xe9.md");
        assert_eq!(bytes_to_text(br"a\xe9.md"), r"a\\xe9.md");
    }

    #[test]
    fn printing_quotes_what_would_break_a_line_or_hide() {
        assert_eq!(display("a/b.md"), "a/b.md");
        assert_eq!(display(r"caf\xe9.md"), r"caf\xe9.md");
        assert_eq!(display("new\nline.md"), r#""new\nline.md""#);
        assert_eq!(display("ta\tb.md"), r#""ta\tb.md""#);
        assert_eq!(display("notes.md "), r#""notes.md ""#);
        assert_eq!(display("\"q\".md"), r#""\"q\".md""#);
        assert_eq!(display("bell\u{7}.md"), r#""bell\u{7}.md""#);
    }

    #[test]
    fn tsv_fields_round_trip() {
        for field in ["plain", "a\tb", "a\nb\r", r"back\slash\n", ""] {
            let escaped = escape_field(field);
            assert!(!escaped.contains(['\t', '\n', '\r']));
            assert_eq!(unescape_field(&escaped).as_deref(), Some(field));
        }
        assert_eq!(unescape_field(r"bad\q"), None);
    }
}
