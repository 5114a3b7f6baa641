//! JSON exports: JSON Lines (`.jsonl`, `.ndjson`, one document per line) and Slack exports
//! (`.json` files holding an array of message objects).
//!
//! Each object is one document, of one of two shapes:
//!
//! * **record** (format `Jsonl`): `text` plus optional `id` (or `_id`, as in BEIR
//!   `corpus.jsonl`; kept exactly, it is what evaluation qrels refer to), `title`, `date`,
//!   `author`/`authors` (string or list), `kind`, `url`, `tags`; every other field goes to
//!   metadata as a string (lists joined with `, `; an object's fields are flattened one level as
//!   `field.key`, so BEIR's `metadata: {"url": …}` becomes `metadata.url`). Without an id the
//!   document id is `<file id>:<line>` — except in a file whose records name different
//!   `readers`, where it is `<file id>:<first 12 hex digits of the SHA-256 of the text>`, since a
//!   line number would tell a reader of some records where the others sit; without a title the
//!   title is the id.
//! * **Slack message** (format `Slack`), recognised by `ts` plus `channel` or `user`: kind
//!   `message`, id `<channel>/<ts>`, title `<channel> — <user>`, authors `[user]`, date from
//!   `ts` (Unix seconds, UTC), metadata `channel`, `ts`, `thread` (= `thread_ts`, else `ts`, so a
//!   thread root and its replies share it), `thread_ts` and `subtype` when present. The channel is
//!   the `channel` field, else the parent directory's name (Slack exports keep one directory per
//!   channel), for `.jsonl` the file stem.
//!
//! Blank lines are ignored; a malformed line or an object without a usable `text` is reported
//! with its line number and the other lines still load.
//!
//! Block byte ranges point at the raw bytes *inside the JSON string literal* of `text` in the
//! source file; [`excerpt`](super::excerpt) decodes the escapes of such a fragment
//! ([`decode_json_string`]). Blocks are the paragraphs of the text (split at blank lines), all in
//! one section.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::Value;

use super::{new_document, skip, split_list, CUT_NONE};
use crate::date::{civil_date, normalize_date, unix_seconds};
use crate::error::Error;
use crate::model::{content_hash, Block, Document, LineIndex, Skipped, SourceFormat};

/// The fields of one JSON object, values still raw (borrowed from the source).
type Fields<'a> = BTreeMap<String, &'a RawValue>;

/// Where an object came from, for ids and messages.
struct Origin<'a> {
    path: &'a Path,
    file_id: &'a str,
    line: usize,
    source: &'a Arc<str>,
    default_channel: String,
}

/// Loads a JSON Lines file: one document per non-blank line.
pub fn load_lines(path: &Path, id: &str, source: &Arc<str>) -> (Vec<Document>, Vec<Skipped>) {
    let mut docs = Vec::new();
    let mut skipped = Vec::new();
    let mut placed = Vec::new();
    for (n, (_, line)) in super::lines_with_ranges(source).enumerate() {
        let line = line.trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        let origin = Origin {
            path,
            file_id: id,
            line: n + 1,
            source,
            default_channel: super::file_stem(path),
        };
        match serde_json::from_str::<Fields<'_>>(line) {
            Err(e) => skipped.push(skip(
                path,
                Some(n + 1),
                format!("invalid JSON: {}", json_error(&e)),
            )),
            Ok(fields) => match document(&fields, &origin) {
                Ok(doc) => {
                    note_placed(&doc, &fields, &origin, docs.len(), &mut placed);
                    docs.push(doc);
                }
                Err(reason) => skipped.push(skip(path, Some(n + 1), reason)),
            },
        }
    }
    unplace_ids(&mut docs, &placed, id);
    (docs, skipped)
}

/// Remember `doc` (to be `docs[at]`) when its id is its place in the file (`<file id>:<line>`),
/// with its raw text.
fn note_placed(
    doc: &Document,
    fields: &Fields<'_>,
    origin: &Origin<'_>,
    at: usize,
    placed: &mut Vec<(usize, String)>,
) {
    if doc.format == SourceFormat::Jsonl && doc.id == format!("{}:{}", origin.file_id, origin.line)
    {
        let text = fields.get("text").map_or("", |t| t.get());
        placed.push((at, text.to_string()));
    }
}

/// In a file whose documents name different readers, give the documents whose id is their
/// line (`placed`: index and raw text) an id from their text instead, so that no id tells a
/// reader of some documents where the others sit.
fn unplace_ids(docs: &mut [Document], placed: &[(usize, String)], file_id: &str) {
    let readers = |d: &Document| d.metadata.get("readers").cloned();
    let Some(first) = docs.first().map(readers) else {
        return;
    };
    if docs.iter().all(|d| readers(d) == first) {
        return;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (at, text) in placed {
        let base = format!("{file_id}:{}", &content_hash(text)[..12]);
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let id = match *n {
            1 => base,
            n => format!("{base}-{n}"),
        };
        let doc = &mut docs[*at];
        if doc.title == doc.id {
            doc.title = id.clone();
        }
        doc.id = id;
    }
}

/// Loads a `.json` file holding an array of message objects (a Slack export's channel day).
pub fn load_array(path: &Path, id: &str, source: &Arc<str>) -> (Vec<Document>, Vec<Skipped>) {
    let text = source.trim_start_matches('\u{feff}');
    let values: Vec<&RawValue> = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return (
                Vec::new(),
                vec![skip(
                    path,
                    Some(e.line().max(1)),
                    format!("expected a JSON array of messages: {e}"),
                )],
            )
        }
    };
    let channel = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| crate::path_text::to_text(Path::new(n)))
        .unwrap_or_else(|| super::file_stem(path));
    let lines = LineIndex::new(source);
    let mut docs = Vec::new();
    let mut skipped = Vec::new();
    let mut placed = Vec::new();
    for value in values {
        let line = offset_in(source, value.get()).map_or(1, |o| lines.line_of(o));
        let origin = Origin {
            path,
            file_id: id,
            line,
            source,
            default_channel: channel.clone(),
        };
        match serde_json::from_str::<Fields<'_>>(value.get()) {
            Err(e) => skipped.push(skip(
                path,
                Some(line),
                format!("invalid message: {}", json_error(&e)),
            )),
            Ok(fields) => match document(&fields, &origin) {
                Ok(doc) => {
                    note_placed(&doc, &fields, &origin, docs.len(), &mut placed);
                    docs.push(doc);
                }
                Err(reason) => skipped.push(skip(path, Some(line), reason)),
            },
        }
    }
    unplace_ids(&mut docs, &placed, id);
    (docs, skipped)
}

/// A serde_json error message without its position on a single line.
fn json_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    msg.replace(" at line 1 column ", " at column ")
}

/// Byte offset of `part` inside `source`, when `part` is a slice of it.
fn offset_in(source: &str, part: &str) -> Option<usize> {
    let off = (part.as_ptr() as usize).checked_sub(source.as_ptr() as usize)?;
    (source.get(off..off + part.len())? == part).then_some(off)
}

/// Builds the document of one object (record or Slack message).
fn document(fields: &Fields<'_>, origin: &Origin<'_>) -> Result<Document, String> {
    let text_raw = fields
        .get("text")
        .ok_or_else(|| "no `text` field".to_string())?
        .get();
    if !(text_raw.len() >= 2 && text_raw.starts_with('"') && text_raw.ends_with('"')) {
        return Err("`text` is not a string".into());
    }
    let literal = offset_in(origin.source, text_raw)
        .ok_or_else(|| "internal error: `text` is not borrowed from the source".to_string())?;
    let inner = literal + 1..literal + text_raw.len() - 1;
    let decoded = decode_json_string(&origin.source[inner.clone()]);
    if decoded.text.trim().is_empty() {
        return Err("empty `text`".into());
    }

    let slack = fields.contains_key("ts")
        && (fields.contains_key("channel") || fields.contains_key("user"));
    let mut doc = if slack {
        slack_document(fields, origin)
    } else {
        record_document(fields, origin)
    };
    let speaker = slack.then(|| doc.authors.first().cloned()).flatten();
    doc.blocks = super::text::paragraphs(&decoded.text)
        .into_iter()
        .map(|r| Block {
            byte_range: inner.start + decoded.offsets[r.start]
                ..inner.start + decoded.offsets[r.end],
            section: 0,
            heading_path: Vec::new(),
            speaker: speaker.clone(),
            start_ms: None,
            end_ms: None,
        })
        .collect();
    Ok(doc)
}

/// A record (`id`, `title`, `text`, …).
fn record_document(fields: &Fields<'_>, origin: &Origin<'_>) -> Document {
    let id = fields
        .get("id")
        .or_else(|| fields.get("_id"))
        .and_then(|v| scalar(v))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{}:{}", origin.file_id, origin.line));
    let mut doc = new_document(&id, origin.path, SourceFormat::Jsonl, origin.source);
    doc.title = id.clone();
    for (key, raw) in fields {
        let Ok(value) = serde_json::from_str::<Value>(raw.get()) else {
            continue;
        };
        match key.as_str() {
            "text" | "id" | "_id" => {}
            "title" => {
                if let Some(t) = render(&value).filter(|t| !t.trim().is_empty()) {
                    doc.title = t.trim().to_string();
                }
            }
            "date" => doc.date = render(&value).map(|d| normalize_date(&d)),
            "author" | "authors" => doc.authors = list(&value),
            "tags" => doc.tags = list(&value),
            "kind" => {
                if let Some(k) = render(&value).filter(|k| !k.trim().is_empty()) {
                    doc.kind = k;
                }
            }
            "url" => doc.url = render(&value).filter(|u| !u.is_empty()),
            _ => flatten(key, &value, &mut doc.metadata),
        }
    }
    doc
}

/// A Slack-style message (`ts`, `channel`/`user`, `text`, `thread_ts`).
fn slack_document(fields: &Fields<'_>, origin: &Origin<'_>) -> Document {
    let get = |k: &str| {
        fields
            .get(k)
            .and_then(|v| scalar(v))
            .filter(|s| !s.trim().is_empty())
    };
    let ts = get("ts").unwrap_or_default();
    let channel = get("channel")
        .or_else(|| get("channel_name"))
        .unwrap_or_else(|| origin.default_channel.clone());
    let user = get("user")
        .or_else(|| get("user_name"))
        .or_else(|| get("username"))
        .unwrap_or_else(|| "unknown".to_string());
    let id = format!("{channel}/{ts}");
    let mut doc = new_document(&id, origin.path, SourceFormat::Slack, origin.source);
    doc.title = format!("{channel} — {user}");
    doc.authors = vec![user];
    doc.date = unix_seconds(&ts).map(civil_date);
    let thread_ts = get("thread_ts");
    doc.metadata.insert("channel".into(), channel);
    doc.metadata.insert(
        "thread".into(),
        thread_ts.clone().unwrap_or_else(|| ts.clone()),
    );
    doc.metadata.insert("ts".into(), ts);
    if let Some(t) = thread_ts {
        doc.metadata.insert("thread_ts".into(), t);
    }
    if let Some(s) = get("subtype") {
        doc.metadata.insert("subtype".into(), s);
    }
    // Who may read the message, when the export says (see `crate::access`).
    if let Some(readers) = fields
        .get("readers")
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
        .and_then(|v| render(&v))
    {
        doc.metadata.insert("readers".into(), readers);
    }
    doc
}

/// The readers of the channels of the Slack exports at `roots`, by channel name (lower case,
/// without `#`): the members of a private channel (every channel of `groups.json`, those of
/// `channels.json` with `"is_private": true`), everyone (`*`) for a public one, open to the
/// whole workspace. A file that cannot be read is an error naming it: membership is never
/// guessed.
pub(crate) fn channel_readers(
    roots: &[String],
) -> crate::error::Result<BTreeMap<String, Vec<String>>> {
    #[derive(serde::Deserialize)]
    struct Channel {
        name: String,
        #[serde(default)]
        members: Vec<String>,
        #[serde(default)]
        is_private: bool,
    }
    let mut out = BTreeMap::new();
    for root in roots {
        for file in super::SLACK_CHANNEL_FILES {
            let path = crate::path_text::from_text(root).join(file);
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::load(&path, format!("cannot read it: {e}")))?;
            let channels: Vec<Channel> = serde_json::from_str(&text).map_err(|e| {
                Error::load(
                    &path,
                    format!("not a Slack channel list ([{{\"name\", \"members\"}}]): {e}"),
                )
            })?;
            let private = *file == "groups.json";
            for c in channels {
                let readers = match private || c.is_private {
                    true => c.members,
                    false => vec!["*".to_string()],
                };
                out.insert(channel_key(&c.name), readers);
            }
        }
    }
    Ok(out)
}

/// A channel name as [`channel_readers`] keys it.
pub(crate) fn channel_key(name: &str) -> String {
    name.trim().trim_start_matches('#').to_lowercase()
}

/// A scalar raw value as a string (strings unquoted, numbers and booleans as written).
fn scalar(raw: &RawValue) -> Option<String> {
    match serde_json::from_str::<Value>(raw.get()).ok()? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A value rendered as a string: scalars as written, arrays joined with `, `, objects as JSON;
/// `None` for null.
fn render(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(render)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Value::Object(_) => Some(v.to_string()),
    }
}

/// A value as a list: an array's items, or a comma-separated string.
fn list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(render)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        other => render(other).map(|s| split_list(&s)).unwrap_or_default(),
    }
}

/// Adds a field to metadata; objects are flattened one level (`field.key`).
fn flatten(key: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if let Some(s) = render(v).filter(|s| !s.is_empty()) {
                    out.insert(format!("{key}.{k}"), s);
                }
            }
        }
        other => {
            if let Some(s) = render(other).filter(|s| !s.is_empty()) {
                out.insert(key.to_string(), s);
            }
        }
    }
}

/// The decoded text of the inside of a JSON string literal, with a map back to raw offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The decoded text.
    pub text: String,
    /// `offsets[i]` is the raw byte offset where the source of decoded byte `i` starts (bytes
    /// of a character produced by an escape all map to the escape's start);
    /// `offsets[text.len()]` is the raw length. So the decoded range `a..b` (at character
    /// boundaries) comes from the raw range `offsets[a]..offsets[b]`.
    pub offsets: Vec<usize>,
}

/// Decodes the JSON string escapes of `raw` (the inside of a string literal, or a piece of it
/// cut between escapes). `\uXXXX` surrogate pairs are combined; a lone surrogate becomes
/// U+FFFD; an invalid or truncated escape is kept as written. Never fails.
///
/// For example `a\"\ud83d\ude00é` decodes to `a"😀é`, and the emoji's offset is 3, the raw
/// byte of its escape (see the unit test `decodes_escapes_with_offsets`).
pub fn decode_json_string(raw: &str) -> Decoded {
    let mut text = String::with_capacity(raw.len());
    let mut offsets = Vec::with_capacity(raw.len() + 1);
    let mut i = 0;
    while i < raw.len() {
        let (len, c) = unit_at(raw, i);
        text.push(c);
        if len > c.len_utf8() || raw.as_bytes()[i] == b'\\' {
            offsets.extend(std::iter::repeat_n(i, c.len_utf8()));
        } else {
            offsets.extend(i..i + len);
        }
        i += len;
    }
    offsets.push(raw.len());
    Decoded { text, offsets }
}

/// Only the text of [`decode_json_string`], without the offset map (what `excerpt` needs).
pub fn unescape_json(raw: &str) -> String {
    let mut text = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('\\') {
        text.push_str(&rest[..i]);
        let (len, c) = unit_at(rest, i);
        text.push(c);
        rest = &rest[i + len..];
    }
    text.push_str(rest);
    text
}

/// The unit (escape or character) starting at `i`: its raw length and decoded character.
fn unit_at(raw: &str, i: usize) -> (usize, char) {
    if raw.as_bytes()[i] == b'\\' {
        if let Some(e) = escape_at(raw.as_bytes(), i) {
            return e;
        }
    }
    let c = raw[i..].chars().next().unwrap_or('\u{fffd}');
    (c.len_utf8(), c)
}

/// The escape at `i` (where `b[i] == b'\\'`): raw length and character; `None` if invalid.
fn escape_at(b: &[u8], i: usize) -> Option<(usize, char)> {
    Some(match *b.get(i + 1)? {
        b'"' => (2, '"'),
        b'\\' => (2, '\\'),
        b'/' => (2, '/'),
        b'b' => (2, '\u{8}'),
        b'f' => (2, '\u{c}'),
        b'n' => (2, '\n'),
        b'r' => (2, '\r'),
        b't' => (2, '\t'),
        b'u' => {
            let hi = hex4(b, i + 2)?;
            if (0xD800..0xDC00).contains(&hi) {
                if b.get(i + 6) == Some(&b'\\') && b.get(i + 7) == Some(&b'u') {
                    if let Some(lo) = hex4(b, i + 8).filter(|lo| (0xDC00..0xE000).contains(lo)) {
                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        return Some((12, char::from_u32(cp).unwrap_or('\u{fffd}')));
                    }
                }
                (6, '\u{fffd}')
            } else {
                (6, char::from_u32(hi).unwrap_or('\u{fffd}'))
            }
        }
        _ => return None,
    })
}

/// Four hex digits at `i`.
fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let digits = b.get(i..i + 4)?;
    let s = std::str::from_utf8(digits).ok()?;
    if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Cut strengths of a raw JSON string fragment: never inside an escape (a surrogate pair is one
/// unit); `\n` escapes count as line breaks.
pub(crate) fn cut_strengths(raw: &str) -> Vec<u8> {
    let mut mask = vec![CUT_NONE; raw.len() + 1];
    let mut prev: Option<char> = None;
    let mut i = 0;
    while i < raw.len() {
        let (len, c) = unit_at(raw, i);
        i += len;
        mask[i] = super::strength_after(prev, Some(c));
        prev = Some(c);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_with_offsets() {
        let d = decode_json_string(r#"a\"\ud83d\ude00é"#);
        assert_eq!(d.text, "a\"😀é");
        assert_eq!(d.offsets[2], 3); // the emoji comes from the escape at raw byte 3
    }
    use crate::load::{excerpt, CUT_SENTENCE};

    fn load_str(name: &str, text: &str) -> (Vec<Document>, Vec<Skipped>) {
        let source: Arc<str> = Arc::from(text);
        if name.ends_with(".json") {
            load_array(Path::new(name), name, &source)
        } else {
            load_lines(Path::new(name), name, &source)
        }
    }

    fn block_texts(d: &Document) -> Vec<String> {
        d.blocks
            .iter()
            .map(|b| excerpt(d.format, &d.source[b.byte_range.clone()]))
            .collect()
    }

    #[test]
    fn beir_line_loads_with_id_preserved() {
        let text = r#"{"_id": "4983", "title": "Microstructural development", "text": "Alterations of the architecture.\n\nSecond \"para\" \u00e9.", "metadata": {"url": "https://x.org/1", "year": 2001}}
"#;
        let (docs, skipped) = load_str("scifact/corpus.jsonl", text);
        assert!(skipped.is_empty(), "{skipped:?}");
        let d = &docs[0];
        assert_eq!(d.id, "4983");
        assert_eq!(d.title, "Microstructural development");
        assert_eq!(d.kind, "record");
        assert_eq!(d.format, SourceFormat::Jsonl);
        assert_eq!(
            d.metadata.get("metadata.url").map(String::as_str),
            Some("https://x.org/1")
        );
        assert_eq!(
            d.metadata.get("metadata.year").map(String::as_str),
            Some("2001")
        );
        assert_eq!(
            block_texts(d),
            vec!["Alterations of the architecture.", "Second \"para\" é."]
        );
        let raw = &text[d.blocks[1].byte_range.clone()];
        assert_eq!(raw, r#"Second \"para\" \u00e9."#);
    }

    #[test]
    fn record_fields_and_fallback_id() {
        let text = "\n{\"text\": \"Hello\", \"author\": [\"Ana\", \"Bo\"], \"date\": \"2024-01-02T03:04:05Z\", \"kind\": \"faq\", \"url\": \"u\", \"team\": \"ops\", \"n\": 3, \"empty\": null}\n";
        let (docs, _) = load_str("kb/faq.jsonl", text);
        let d = &docs[0];
        assert_eq!(d.id, "kb/faq.jsonl:2");
        assert_eq!(d.title, "kb/faq.jsonl:2");
        assert_eq!(d.authors, vec!["Ana", "Bo"]);
        assert_eq!(d.date.as_deref(), Some("2024-01-02"));
        assert_eq!(d.kind, "faq");
        assert_eq!(d.url.as_deref(), Some("u"));
        assert_eq!(d.metadata.get("team").map(String::as_str), Some("ops"));
        assert_eq!(d.metadata.get("n").map(String::as_str), Some("3"));
        assert!(!d.metadata.contains_key("empty"));
    }

    #[test]
    fn in_a_file_of_records_with_different_readers_no_fallback_id_is_a_line() {
        let text = r#"{"text": "open to all", "readers": ["*"]}
{"text": "for priya", "readers": ["priya"]}
{"text": "open to all", "readers": ["*"]}
{"id": "kept", "text": "named", "readers": ["*"]}
"#;
        let (docs, _) = load_str("chat/t.jsonl", text);
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        let of = |t: &str| format!("chat/t.jsonl:{}", &content_hash(t)[..12]);
        let first = of(r#""open to all""#);
        assert_eq!(
            ids,
            [
                first.clone(),
                of(r#""for priya""#),
                format!("{first}-2"),
                "kept".to_string()
            ]
        );
        assert_eq!(docs[1].title, docs[1].id);
        // Records of one set of readers keep their lines.
        let (docs, _) = load_str("chat/u.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["chat/u.jsonl:1", "chat/u.jsonl:2"]);
    }

    #[test]
    fn slack_line_gets_date_channel_thread() {
        let text = r#"{"type": "message", "channel": "legal", "user": "dana", "ts": "1700000000.000200", "thread_ts": "1699990000.000100", "text": "Counsel <@U1> agreed"}"#;
        let (docs, skipped) = load_str("slack/export.jsonl", text);
        assert!(skipped.is_empty());
        let d = &docs[0];
        assert_eq!(d.id, "legal/1700000000.000200");
        assert_eq!(d.format, SourceFormat::Slack);
        assert_eq!(d.kind, "message");
        assert_eq!(d.title, "legal — dana");
        assert_eq!(d.authors, vec!["dana"]);
        assert_eq!(d.date.as_deref(), Some("2023-11-14"));
        let m = |k: &str| d.metadata.get(k).map(String::as_str);
        assert_eq!(m("channel"), Some("legal"));
        assert_eq!(m("ts"), Some("1700000000.000200"));
        assert_eq!(m("thread"), Some("1699990000.000100"));
        assert_eq!(m("thread_ts"), Some("1699990000.000100"));
        assert_eq!(d.blocks[0].speaker.as_deref(), Some("dana"));
    }

    #[test]
    fn malformed_line_reported_others_load() {
        let text = "{\"id\": \"a\", \"text\": \"one\"}\n{\"id\": \"b\", \"text\": \n\n{\"id\": \"c\", \"text\": \"\"}\n{\"id\": \"d\", \"text\": 5}\n[1]\n{\"id\": \"e\", \"text\": \"five\"}";
        let (docs, skipped) = load_str("x.jsonl", text);
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "e"]);
        let lines: Vec<Option<usize>> = skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![Some(2), Some(4), Some(5), Some(6)]);
        assert!(
            skipped[0].reason.starts_with("invalid JSON"),
            "{}",
            skipped[0].reason
        );
        assert!(skipped[1].reason.contains("empty"));
        assert!(skipped[2].reason.contains("not a string"));
    }

    #[test]
    fn slack_export_array_uses_directory_as_channel() {
        let text = "[\n  {\"type\": \"message\", \"user\": \"omar\", \"ts\": \"1700000000.1\", \"text\": \"Ship it\"},\n  {\"user\": \"ana\", \"ts\": \"1700000001.1\", \"text\": \"\"}\n]\n";
        let (docs, skipped) = load_str("export/general/2023-11-14.json", text);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].id, "general/1700000000.1");
        assert_eq!(
            docs[0].metadata.get("thread").map(String::as_str),
            Some("1700000000.1")
        );
        assert_eq!(skipped[0].line, Some(3));
        let (docs, skipped) = load_str("export/general/bad.json", "[\n{\"user\": 1,\n");
        assert!(docs.is_empty());
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].line.is_some());
    }

    #[test]
    fn decoder_handles_escapes_and_surrogates() {
        let raw = r#"\"q\" \\ \/ \b\f\n\r\t \u0041\u00e9 \ud83d\ude00 \ud800x \udc00 \x \u12"#;
        let d = decode_json_string(raw);
        assert_eq!(unescape_json(raw), d.text);
        assert_eq!(
            d.text,
            "\"q\" \\ / \u{8}\u{c}\n\r\t Aé 😀 \u{fffd}x \u{fffd} \\x \\u12"
        );
        assert_eq!(d.offsets.len(), d.text.len() + 1);
        // Every char boundary maps to a raw position that re-decodes to the same suffix.
        let raw = r#"a\u00e9\ud83d\ude00\nb"#;
        let d = decode_json_string(raw);
        for (i, _) in d.text.char_indices() {
            assert_eq!(decode_json_string(&raw[d.offsets[i]..]).text, d.text[i..]);
        }
        assert_eq!(d.offsets[1], 1);
        assert_eq!(d.offsets[3], 7); // the emoji
        assert_eq!(*d.offsets.last().unwrap(), raw.len());
    }

    #[test]
    fn cut_strengths_avoid_escapes() {
        let raw = r#"Hi. \ud83d\ude00\nok"#;
        let mask = cut_strengths(raw);
        assert_eq!(mask[4], CUT_SENTENCE);
        assert!(mask[5..16].iter().all(|&m| m == CUT_NONE));
        assert!(mask[16] > CUT_NONE);
        assert_eq!(mask[18], CUT_SENTENCE); // after \n
        assert_eq!(mask[17], CUT_NONE);
    }
}
