//! Loading exported files into [`Document`]s: one loader per format, a parallel directory walk,
//! and [`excerpt`], the function that turns raw source bytes back into text.
//!
//! # The provenance invariant
//!
//! Every [`Block`](crate::model::Block) a loader produces satisfies
//! `excerpt(doc.format, &doc.source[block.byte_range]) == <the block's text>`, and the chunker
//! sets `chunk.text = excerpt(format, &source[chunk_range])`. So a citation (path + byte range)
//! can always be checked against the original export. For Markdown, plain text and decision
//! records `excerpt` is the identity; for HTML it strips tags; for transcripts it renders cues as
//! `Speaker: text`; for JSON exports it decodes the string escapes of the `text` literal.
//!
//! # Formats
//!
//! | extension | loader | format |
//! |---|---|---|
//! | `.md`, `.markdown` | [`markdown`] (or [`adr`] when the text looks like a decision record) | `Markdown` / `Decision` |
//! | `.txt`, `.text` | [`text`] | `Text` |
//! | `.html`, `.htm` | [`html`] | `Html` |
//! | `.vtt`, `.srt` | [`transcript`] | `Vtt`, `Srt` |
//! | `.jsonl`, `.ndjson` | [`jsonl`] (records, or Slack-style messages per line) | `Jsonl` / `Slack` |
//! | `.json` | [`jsonl`] (an array of Slack-style messages, as in a Slack export) | `Slack` |
//!
//! Problems never abort a load: a file (or a line of it) that cannot be loaded becomes a
//! [`Skipped`] entry naming the path, the line when there is one, and the reason.
//!
//! ```
//! use lore::internals::load::load_file;
//! use lore::LoadOptions;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("notes.md");
//! std::fs::write(&path, "# Notes\n\nShip it on Friday.\n").unwrap();
//! let (docs, skipped) = load_file(&path, "notes.md", &LoadOptions::default());
//! assert!(skipped.is_empty());
//! assert_eq!(docs[0].title, "Notes");
//! ```

pub mod adr;
pub mod html;
pub mod jsonl;
pub(crate) use jsonl::{channel_key, channel_readers};
pub mod markdown;
pub mod text;
pub mod transcript;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::model::{Document, Skipped, SourceFormat};

/// The names of a people file at the root of a walked folder (see `crate::memory`): read by
/// the writer, not indexed as a document, and so neither loaded nor reported as skipped.
pub(crate) const PEOPLE_FILE_NAMES: &[&str] = &["people.yaml", "people.yml", "people.toml"];

/// The name of the access file at the root of a walked folder (see `crate::access`): read by
/// the writer, like a people file.
pub(crate) const ACCESS_FILE_NAME: &str = "access.toml";

/// The first of `names` found at the root of one of `roots` (folders, in their stored form),
/// in root order: where the writer finds the people file and the access file.
pub(crate) fn file_at_roots(roots: &[String], names: &[&str]) -> Option<PathBuf> {
    roots.iter().find_map(|root| {
        names
            .iter()
            .map(|name| crate::path_text::from_text(root).join(name))
            .find(|p| p.is_file())
    })
}

/// The files of a Slack export's root that list channels and their members (public channels,
/// private ones): read by the writer for channel membership, not loaded as messages.
pub(crate) const SLACK_CHANNEL_FILES: &[&str] = &["channels.json", "groups.json"];

/// Options for loading files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Files larger than this many bytes are skipped (default 64 MiB).
    pub max_file_bytes: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_file_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What [`load_paths`] found.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// The loaded documents, ordered by path, then by their order within the file.
    pub documents: Vec<Document>,
    /// One entry per problem (a file, or a line of a file, that was not loaded), ordered by path.
    pub skipped: Vec<Skipped>,
    /// Files seen, supported or not.
    pub num_files: usize,
    /// Files skipped for an unknown extension (they are also listed in `skipped`).
    pub num_unsupported: usize,
}

/// Walks `paths` (files or directories) and loads every file in parallel.
///
/// Directories are walked with the `ignore` crate: `.gitignore` files (also outside a git
/// repository), hidden files and `.loreignore` files (same syntax as `.gitignore`) are respected.
/// A people file at a folder's root (`people.yaml`, `.yml`, `.toml`) and an access file
/// (`access.toml`) are not documents and are left to the writer. A file given directly is
/// always loaded. Document ids are `<root name>/<path below root>` for walked files and the
/// file name for files given directly (see [`Document::id`]), in the stored form of
/// [`crate::path_text`] (any file name, losslessly).
///
/// `on_file` is called once for every file seen, after it has been processed (from worker
/// threads), e.g. to drive a progress bar.
pub fn load_paths(
    paths: &[PathBuf],
    opts: &LoadOptions,
    on_file: &(dyn Fn(&Path) + Sync),
) -> LoadReport {
    let (files, mut skipped) = walk(paths);
    let results: Vec<(Vec<Document>, Vec<Skipped>, bool)> = files
        .par_iter()
        .map(|(path, id)| {
            let out = match unsupported(path) {
                Some(reason) => (Vec::new(), vec![skip(path, None, reason)], true),
                None => {
                    let (docs, skipped) = load_file(path, id, opts);
                    (docs, skipped, false)
                }
            };
            on_file(path);
            out
        })
        .collect();

    let mut report = LoadReport {
        num_files: files.len(),
        ..LoadReport::default()
    };
    for (docs, skips, unsupported) in results {
        report.documents.extend(docs);
        report.skipped.extend(skips);
        report.num_unsupported += usize::from(unsupported);
    }
    skipped.append(&mut report.skipped);
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    report.skipped = skipped;
    report
}

/// The files `paths` (files or directories) name, sorted by path, each with the id its
/// path-derived documents get, and the problems met on the way (unreadable folders, symbolic
/// link loops, broken links, sockets). Directories are walked as [`load_paths`] says.
pub fn walk(paths: &[PathBuf]) -> (Vec<(PathBuf, String)>, Vec<Skipped>) {
    walk_named(paths, &|_| None)
}

/// [`walk`], with the name that leads the ids of each folder's files given by `name_of`
/// (`None`: the folder's own name, [`root_name`]). The writer names a folder by the name the
/// index recorded for it, so that a moved or renamed export folder keeps its ids.
pub fn walk_named(
    paths: &[PathBuf],
    name_of: &dyn Fn(&Path) -> Option<String>,
) -> (Vec<(PathBuf, String)>, Vec<Skipped>) {
    let mut skipped = Vec::new();
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for root in paths {
        match std::fs::metadata(root) {
            Err(e) => skipped.push(skip(root, None, format!("cannot read: {e}"))),
            Ok(meta) if meta.is_dir() => {
                let name = name_of(root).or_else(|| root_name(root));
                walk_dir(root, name, &mut files, &mut skipped)
            }
            Ok(_) => {
                let id = match root.file_name() {
                    Some(n) => crate::path_text::to_text(Path::new(n)),
                    None => crate::path_text::to_text(root),
                };
                files.push((root.clone(), id));
            }
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.0 == b.0);
    (files, skipped)
}

/// Why a file is not loaded at all, judged by its name alone (an unknown extension), or `None`
/// when some loader takes it.
pub fn unsupported(path: &Path) -> Option<String> {
    if format_for_extension(path).is_some() {
        return None;
    }
    Some(match extension(path) {
        Some(ext) => format!("unsupported extension .{ext}"),
        None => "unsupported extension (none)".to_string(),
    })
}

/// The name a folder gives the ids of its files: its own name (of the folder it resolves to,
/// for `.`), in the stored form of [`crate::path_text`]; `None` for `/`.
pub fn root_name(root: &Path) -> Option<String> {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| crate::path_text::to_text(Path::new(n)))
    };
    name(root).or_else(|| std::fs::canonicalize(root).ok().and_then(|p| name(&p)))
}

/// Collects the files below `root` with their ids, led by `root_name`.
fn walk_dir(
    root: &Path,
    root_name: Option<String>,
    files: &mut Vec<(PathBuf, String)>,
    skipped: &mut Vec<Skipped>,
) {
    // Symbolic links are followed (an export may link shared pages in); a link that leads back
    // into its own ancestry is reported as a loop and not entered.
    let walker = ignore::WalkBuilder::new(root)
        .add_custom_ignore_filename(".loreignore")
        .require_git(false)
        .follow_links(true)
        .build();
    for entry in walker {
        match entry {
            Err(e) => {
                let path = error_path(&e).unwrap_or_else(|| root.to_path_buf());
                let reason = walk_error_reason(&e, &path);
                skipped.push(skip(&path, None, reason));
            }
            Ok(entry) => {
                let path = entry.path();
                match entry.file_type() {
                    Some(t) if t.is_file() => {}
                    Some(t) if t.is_dir() => continue,
                    // Standard input given as a path.
                    None => continue,
                    Some(_) => {
                        skipped.push(skip(
                            path,
                            None,
                            "not a regular file (a socket, FIFO, device or dangling link)",
                        ));
                        continue;
                    }
                }
                let rel = path.strip_prefix(root).unwrap_or(path);
                // The whole relative path at once: its stored form is escaped as a whole.
                let rel = if cfg!(unix) {
                    crate::path_text::to_text(rel)
                } else {
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/")
                };
                if PEOPLE_FILE_NAMES.contains(&rel.as_str())
                    || rel == ACCESS_FILE_NAME
                    || SLACK_CHANNEL_FILES.contains(&rel.as_str())
                {
                    continue;
                }
                let id = match &root_name {
                    Some(name) => format!("{name}/{rel}"),
                    None => rel,
                };
                files.push((path.to_path_buf(), id));
            }
        }
    }
}

/// The path an `ignore` error is about, if it names one (for a loop, the link).
fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

/// Why the walk could not go into `path`, without repeating the path.
fn walk_error_reason(err: &ignore::Error, path: &Path) -> String {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => walk_error_reason(err, path),
        ignore::Error::Loop { ancestor, .. } => format!(
            "symbolic link loop: leads back to {}, which is already being read",
            ancestor.display()
        ),
        ignore::Error::Io(io) => {
            let dangling = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink())
                && std::fs::metadata(path).is_err();
            if dangling {
                format!("broken symbolic link: {io}")
            } else {
                format!("cannot read: {io}")
            }
        }
        other => other.to_string(),
    }
}

/// Loads one file. `id` is the id of path-derived documents (JSONL records and Slack messages
/// have their own ids). Returns the documents and the problems found; a file that cannot be
/// loaded at all yields no documents and at least one [`Skipped`] entry.
pub fn load_file(path: &Path, id: &str, opts: &LoadOptions) -> (Vec<Document>, Vec<Skipped>) {
    match read_file(path, opts) {
        Ok(bytes) => load_bytes(path, id, bytes),
        Err(skipped) => (Vec::new(), vec![skipped]),
    }
}

/// A file's bytes, or why they cannot be loaded (unreadable, or over
/// [`LoadOptions::max_file_bytes`], which is checked before reading).
pub fn read_file(path: &Path, opts: &LoadOptions) -> Result<Vec<u8>, Skipped> {
    let fail = |reason: String| skip(path, None, reason);
    let too_big = |len: u64| {
        fail(format!(
            "file is {len} bytes, over the limit of {} bytes",
            opts.max_file_bytes
        ))
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if meta.len() > opts.max_file_bytes {
        return Err(too_big(meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > opts.max_file_bytes {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Loads a file's contents already read: what [`load_file`] does after reading (binary and
/// UTF-8 checks, format detection from `path` and the text, the format's loader). Never
/// panics, whatever `bytes` hold (the fuzz targets under `fuzz/` check).
pub fn load_bytes(path: &Path, id: &str, bytes: Vec<u8>) -> (Vec<Document>, Vec<Skipped>) {
    let fail = |reason: String| (Vec::new(), vec![skip(path, None, reason)]);
    // Text never holds NUL: a file that does is binary whatever its extension says (the test
    // git and ripgrep use, here over the whole file).
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        let line = line_at(&bytes, offset);
        return (
            Vec::new(),
            vec![skip(
                path,
                Some(line),
                format!("binary content (NUL byte at byte {offset})"),
            )],
        );
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let line = line_at(e.as_bytes(), offset);
            return (
                Vec::new(),
                vec![skip(
                    path,
                    Some(line),
                    format!("invalid UTF-8 at byte {offset}"),
                )],
            );
        }
    };
    if text.trim().is_empty() {
        return fail(if text.is_empty() {
            "empty file".to_string()
        } else {
            "no text".to_string()
        });
    }
    let Some(format) = detect_format(path, &text) else {
        // Only an extension no loader takes comes here.
        return fail(unsupported(path).unwrap_or_else(|| "unsupported format".to_string()));
    };
    let source: Arc<str> = Arc::from(text);
    let (docs, mut skipped) = match format {
        SourceFormat::Markdown => markdown::load(path, id, &source),
        SourceFormat::Decision => adr::load(path, id, &source),
        SourceFormat::Text => text::load(path, id, &source),
        SourceFormat::Html => html::load(path, id, &source),
        SourceFormat::Vtt | SourceFormat::Srt => transcript::load(path, id, &source, format),
        SourceFormat::Jsonl => jsonl::load_lines(path, id, &source),
        SourceFormat::Slack => jsonl::load_array(path, id, &source),
    };
    let docs: Vec<Document> = docs.into_iter().filter(|d| !d.blocks.is_empty()).collect();
    if docs.is_empty() && skipped.is_empty() {
        skipped.push(skip(path, None, "no text"));
    }
    (docs, skipped)
}

/// The 1-based line of byte `offset` in `bytes`.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Which format a path is, by its extension, and for Markdown by its content (a Markdown file
/// without a front matter `kind` (or with `kind: decision`/`adr`) that looks like an
/// architecture decision record is [`SourceFormat::Decision`]). `None`: unsupported.
///
/// `.jsonl`/`.ndjson` files are [`SourceFormat::Jsonl`] here, although lines holding Slack-style
/// messages become [`SourceFormat::Slack`] documents; `.json` files (Slack exports) are
/// [`SourceFormat::Slack`].
pub fn detect_format(path: &Path, text: &str) -> Option<SourceFormat> {
    let format = format_for_extension(path)?;
    if format == SourceFormat::Markdown && adr::looks_like_adr(text) {
        return Some(SourceFormat::Decision);
    }
    Some(format)
}

/// The format implied by a path's extension alone (Markdown for both Markdown and decision
/// records).
fn format_for_extension(path: &Path) -> Option<SourceFormat> {
    Some(match extension(path)?.as_str() {
        "md" | "markdown" => SourceFormat::Markdown,
        "txt" | "text" => SourceFormat::Text,
        "html" | "htm" => SourceFormat::Html,
        "vtt" => SourceFormat::Vtt,
        "srt" => SourceFormat::Srt,
        "jsonl" | "ndjson" => SourceFormat::Jsonl,
        "json" => SourceFormat::Slack,
        _ => return None,
    })
}

/// Lower-cased extension of a path, without trailing white space (`notes.md ` is Markdown).
fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().trim_end().to_ascii_lowercase())
}

/// Re-derives the text of a raw slice of a source file of the given format.
///
/// * Markdown, Text, Decision: the slice itself.
/// * Html: tags stripped (`<script>`, `<style>`, `<title>` and comments with their content),
///   entities decoded, whitespace collapsed to single spaces; paragraph-level elements
///   (`p`, `li`, `td`, headings, …) become lines joined by `"\n"`.
/// * Vtt, Srt: one line per cue, `Speaker: text` (or `text`), the cue's lines joined by `" "`,
///   tags stripped; cue numbers, timing lines and `NOTE`/`STYLE`/`REGION` blocks dropped. A
///   fragment without a timing line is read as payload text lines.
/// * Jsonl, Slack: the JSON string escapes of the fragment decoded (the fragment is a piece of
///   the inside of a JSON string literal).
///
/// ```
/// use lore::internals::load::excerpt;
/// use lore::SourceFormat;
/// assert_eq!(excerpt(SourceFormat::Html, "<p>Fish &amp;\n  chips</p><p>Peas</p>"), "Fish & chips\nPeas");
/// assert_eq!(excerpt(SourceFormat::Jsonl, r"caf\u00e9\nau lait"), "café\nau lait");
/// assert_eq!(excerpt(SourceFormat::Vtt, "00:01.000 --> 00:02.000\n<v Ana>Hello\nthere"), "Ana: Hello there");
/// ```
pub fn excerpt(format: SourceFormat, raw: &str) -> String {
    match format {
        SourceFormat::Markdown | SourceFormat::Text | SourceFormat::Decision => raw.to_string(),
        SourceFormat::Html => html::excerpt(raw),
        SourceFormat::Vtt | SourceFormat::Srt => transcript::excerpt(raw),
        SourceFormat::Jsonl | SourceFormat::Slack => jsonl::unescape_json(raw),
    }
}

/// True for formats whose [`excerpt`] is the identity.
pub fn is_verbatim(format: SourceFormat) -> bool {
    matches!(
        format,
        SourceFormat::Markdown | SourceFormat::Text | SourceFormat::Decision
    )
}

/// Cut strengths for a raw fragment of the given format: a vector of `raw.len() + 1` entries, one
/// per byte position, telling whether the fragment may be cut there and how good a cut it is:
/// [`CUT_NONE`] (never: inside a character, tag, entity or escape), [`CUT_CHAR`],
/// [`CUT_SPACE`] (after whitespace) or [`CUT_SENTENCE`] (after `. `, `? `, `! ` or a newline,
/// or at a paragraph-level HTML tag). Used by the chunker to split oversized blocks.
pub(crate) fn cut_strengths(format: SourceFormat, raw: &str) -> Vec<u8> {
    match format {
        SourceFormat::Markdown | SourceFormat::Text | SourceFormat::Decision => {
            let mut mask = vec![CUT_NONE; raw.len() + 1];
            mark_text(raw, 0..raw.len(), &mut mask);
            mask
        }
        SourceFormat::Html => html::cut_strengths(raw),
        SourceFormat::Vtt | SourceFormat::Srt => transcript::cut_strengths(raw),
        SourceFormat::Jsonl | SourceFormat::Slack => jsonl::cut_strengths(raw),
    }
}

/// Never cut here.
pub(crate) const CUT_NONE: u8 = 0;
/// A character boundary inside a word.
pub(crate) const CUT_CHAR: u8 = 1;
/// After whitespace.
pub(crate) const CUT_SPACE: u8 = 2;
/// After a sentence end or a line break.
pub(crate) const CUT_SENTENCE: u8 = 3;

/// Marks the cut strengths of the char boundaries strictly inside `range` of plain text (and its
/// end), judging each position by the characters before it.
pub(crate) fn mark_text(raw: &str, range: std::ops::Range<usize>, mask: &mut [u8]) {
    let Some(text) = raw.get(range.clone()) else {
        return;
    };
    let mut prev: Option<char> = None;
    let mut prev2: Option<char> = None;
    for (i, c) in text.char_indices() {
        if i > 0 {
            mask[range.start + i] = strength_after(prev2, prev);
        }
        prev2 = prev;
        prev = Some(c);
    }
    if !text.is_empty() {
        mask[range.end] = mask[range.end].max(strength_after(prev2, prev));
    }
}

/// Strength of a cut right after the characters `a` `b`.
pub(crate) fn strength_after(a: Option<char>, b: Option<char>) -> u8 {
    match (a, b) {
        (_, Some('\n')) => CUT_SENTENCE,
        (Some('.' | '?' | '!'), Some(c)) if c.is_whitespace() => CUT_SENTENCE,
        (_, Some(c)) if c.is_whitespace() => CUT_SPACE,
        _ => CUT_CHAR,
    }
}

/// A [`Skipped`] entry.
pub(crate) fn skip(path: &Path, line: Option<usize>, reason: impl Into<String>) -> Skipped {
    Skipped {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

/// A document with no metadata and no blocks yet.
pub(crate) fn new_document(
    id: &str,
    path: &Path,
    format: SourceFormat,
    source: &Arc<str>,
) -> Document {
    Document {
        id: id.to_string(),
        path: path.to_path_buf(),
        title: file_stem(path),
        kind: format.default_kind().to_string(),
        format,
        date: None,
        authors: Vec::new(),
        tags: Vec::new(),
        url: None,
        metadata: BTreeMap::new(),
        source: Arc::clone(source),
        blocks: Vec::new(),
    }
}

/// The file name without its extension, as a title: control characters (a newline in a file
/// name) become spaces, bytes that are not UTF-8 the replacement character.
pub(crate) fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| {
            s.to_string_lossy()
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        })
        .unwrap_or_default()
}

/// Normalises a metadata key: lower case, runs of spaces/hyphens become `_`.
pub(crate) fn normalize_key(key: &str) -> String {
    let mut out = String::new();
    for word in key
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

/// Splits a list written as one string (`"a, b; c"`) into trimmed, non-empty items.
pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Lines of a text with their byte ranges (without the line break; a `\r` before `\n` is
/// excluded too).
pub(crate) fn lines_with_ranges(
    text: &str,
) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let start = pos;
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        pos = end + 1;
        let line_end = if text[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        Some((start..line_end, &text[start..line_end]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        let f = |p: &str, t: &str| detect_format(Path::new(p), t);
        assert_eq!(f("a/b.MD", "# x"), Some(SourceFormat::Markdown));
        assert_eq!(f("b.txt", ""), Some(SourceFormat::Text));
        assert_eq!(f("b.htm", ""), Some(SourceFormat::Html));
        assert_eq!(f("b.vtt", ""), Some(SourceFormat::Vtt));
        assert_eq!(f("b.srt", ""), Some(SourceFormat::Srt));
        assert_eq!(f("b.ndjson", ""), Some(SourceFormat::Jsonl));
        assert_eq!(f("general/2024-01-01.json", ""), Some(SourceFormat::Slack));
        assert_eq!(f("notes.md ", "# x"), Some(SourceFormat::Markdown));
        assert_eq!(f("b.pdf", ""), None);
        assert_eq!(f("Makefile", ""), None);
        let adr = "# ADR-0001: Use Rust\n\nStatus: Accepted\n\n## Decision\n\nRust.\n";
        assert_eq!(f("0001.md", adr), Some(SourceFormat::Decision));
    }

    #[test]
    fn keys_and_lists() {
        assert_eq!(normalize_key("Superseded by"), "superseded_by");
        assert_eq!(normalize_key("Meeting-ID"), "meeting_id");
        assert_eq!(split_list("Ana, Bo;  Cy ,"), vec!["Ana", "Bo", "Cy"]);
    }

    #[test]
    fn cut_strengths_of_plain_text() {
        let raw = "Hi. Yo\nok é";
        let mask = cut_strengths(SourceFormat::Text, raw);
        assert_eq!(mask.len(), raw.len() + 1);
        assert_eq!(mask[4], CUT_SENTENCE); // after ". "
        assert_eq!(mask[7], CUT_SENTENCE); // after "\n"
        assert_eq!(mask[10], CUT_SPACE);
        assert_eq!(mask[11], CUT_NONE); // inside 'é'
        assert_eq!(mask[1], CUT_CHAR);
    }

    fn load_bytes(name: &str, bytes: &[u8], opts: &LoadOptions) -> (Vec<Document>, Vec<Skipped>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        load_file(&path, name, opts)
    }

    #[test]
    fn invalid_utf8_names_byte_offset_and_line() {
        let (docs, skipped) =
            load_bytes("a.md", b"# T\n\nok \xc3\x28 bad", &LoadOptions::default());
        assert!(docs.is_empty());
        assert_eq!(skipped[0].reason, "invalid UTF-8 at byte 8");
        assert_eq!(skipped[0].line, Some(3));
    }

    #[test]
    fn empty_and_blank_files_are_skipped() {
        for ext in ["md", "txt", "html", "vtt", "srt", "jsonl", "json"] {
            let (docs, skipped) = load_bytes(&format!("e.{ext}"), b"", &LoadOptions::default());
            assert!(docs.is_empty());
            assert_eq!(skipped[0].reason, "empty file", "{ext}");
            let (docs, skipped) =
                load_bytes(&format!("e.{ext}"), b" \n\t\n", &LoadOptions::default());
            assert!(docs.is_empty());
            assert_eq!(skipped[0].reason, "no text", "{ext}");
        }
        let (docs, skipped) = load_bytes("h.md", b"---\ntitle: x\n---\n", &LoadOptions::default());
        assert!(docs.is_empty());
        assert_eq!(skipped[0].reason, "no text");
    }

    #[test]
    fn oversized_missing_and_unsupported_files() {
        let (docs, skipped) = load_bytes(
            "big.txt",
            b"0123456789ab",
            &LoadOptions { max_file_bytes: 10 },
        );
        assert!(docs.is_empty());
        assert_eq!(
            skipped[0].reason,
            "file is 12 bytes, over the limit of 10 bytes"
        );
        let (docs, skipped) = load_bytes("x.docx", b"PK", &LoadOptions::default());
        assert!(docs.is_empty());
        assert_eq!(skipped[0].reason, "unsupported extension .docx");
        let (docs, skipped) = load_file(
            Path::new("/nonexistent/x.md"),
            "x.md",
            &LoadOptions::default(),
        );
        assert!(docs.is_empty());
        assert!(skipped[0].reason.starts_with("cannot read"));
        assert_eq!(skipped[0].path, Path::new("/nonexistent/x.md"));
    }

    #[test]
    fn load_file_dispatches_by_format() {
        let (docs, _) = load_bytes(
            "0001.md",
            b"# ADR-0001: Use Rust\n\nStatus: Accepted\n\n## Decision\n\nRust.\n",
            &LoadOptions::default(),
        );
        assert_eq!(docs[0].format, SourceFormat::Decision);
        assert_eq!(docs[0].id, "0001.md");
        let (docs, _) = load_bytes("p.htm", b"<p>Hi</p>", &LoadOptions::default());
        assert_eq!(docs[0].format, SourceFormat::Html);
    }

    #[test]
    fn lines_have_ranges() {
        let lines: Vec<_> = lines_with_ranges("a\r\nbc\n\nd").collect();
        assert_eq!(lines[0], (0..1, "a"));
        assert_eq!(lines[1], (3..5, "bc"));
        assert_eq!(lines[2], (6..6, ""));
        assert_eq!(lines[3], (7..8, "d"));
    }
}
