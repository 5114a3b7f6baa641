//! Transcripts: WebVTT (`.vtt`) and SubRip (`.srt`).
//!
//! One block per cue, with its start and end time in milliseconds and its speaker: the name of a
//! `<v Name>` voice tag (VTT), else a `Name: ` prefix of the cue text (both formats; the name is
//! one to four capitalised words without digits). The block's byte range covers the whole cue,
//! from its identifier (or timing) line through its last text line, without the blank line after
//! it. Consecutive cues of one speaker form a turn, which the chunker keeps together.
//!
//! A leading `NOTE` block of a VTT file holding `key: value` lines gives the title, date, kind,
//! authors, tags, url and other metadata (`meeting_id: …`). The title is otherwise the file stem;
//! the kind `transcript`.
//!
//! [`excerpt`] renders a raw fragment as one line per cue, `Speaker: text` (or `text`), the cue's
//! text lines joined by `" "`, tags (`<v …>`, `<i>`, `<c.x>`, `<00:01.000>`, `{\an8}`) stripped,
//! entities decoded; cue identifiers, timing lines and `NOTE`/`STYLE`/`REGION` blocks are dropped.
//! A fragment without any timing line (a piece of a long cue) is read as payload text lines.
//!
//! Problems: a VTT file not starting with `WEBVTT` is skipped; a cue with a broken timing line
//! (or a truncated final cue) is reported with its line number and left out, and the other cues
//! still load.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::markdown::Meta;
use super::{normalize_key, skip, split_list, CUT_NONE};
use crate::model::{Block, Document, Skipped, SourceFormat};

/// Loads a transcript (`format` is [`SourceFormat::Vtt`] or [`SourceFormat::Srt`]).
pub fn load(
    path: &Path,
    id: &str,
    source: &Arc<str>,
    format: SourceFormat,
) -> (Vec<Document>, Vec<Skipped>) {
    let vtt = format == SourceFormat::Vtt;
    let lines: Vec<(Range<usize>, &str)> = super::lines_with_ranges(source).collect();
    let mut skipped = Vec::new();
    let mut doc = super::new_document(id, path, format, source);
    let mut meta = Meta::default();
    let mut groups = groups(&lines).into_iter().peekable();

    if vtt {
        let header_ok = lines.first().is_some_and(|(_, l)| {
            let l = l.trim_start_matches('\u{feff}');
            l.strip_prefix("WEBVTT")
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        });
        if !header_ok {
            return (
                Vec::new(),
                vec![skip(path, Some(1), "missing WEBVTT header")],
            );
        }
        groups.next(); // the header block
    }

    let mut section = 0usize;
    let mut seen_cue = false;
    let ends_with_newline = source.ends_with('\n');
    while let Some(group) = groups.next() {
        let is_last = groups.peek().is_none();
        let first = lines[group.start].1.trim_start_matches('\u{feff}');
        if vtt && is_non_cue_block(first) {
            if !seen_cue && word_is(first, "NOTE") {
                read_note(&lines[group.clone()], &mut meta);
            }
            continue;
        }
        let g = &lines[group.clone()];
        let line_no = |i: usize| group.start + i + 1;
        let timing_at = g.iter().take(2).position(|(_, l)| l.contains("-->"));
        let Some(t) = timing_at else {
            let bad = if g.len() == 1 || looks_like_timing(g[0].1) {
                0
            } else {
                1
            };
            skipped.push(skip(
                path,
                Some(line_no(bad)),
                format!(
                    "invalid cue timing line `{}`: expected `start --> end`",
                    shorten(g[bad].1)
                ),
            ));
            section += 1;
            continue;
        };
        let Some((start_ms, end_ms)) = parse_timing(g[t].1) else {
            skipped.push(skip(
                path,
                Some(line_no(t)),
                format!("invalid cue timing line `{}`", shorten(g[t].1)),
            ));
            section += 1;
            continue;
        };
        let payload: Vec<&str> = g[t + 1..].iter().map(|(_, l)| *l).collect();
        if payload.is_empty() && is_last && !ends_with_newline {
            skipped.push(skip(
                path,
                Some(line_no(t)),
                "truncated cue: no text after the timing line",
            ));
            continue;
        }
        let (speaker, text) = cue_text(&payload);
        if text.is_empty() {
            continue;
        }
        seen_cue = true;
        doc.blocks.push(Block {
            byte_range: g[0].0.start..g[g.len() - 1].0.end,
            section,
            heading_path: Vec::new(),
            speaker,
            start_ms: Some(start_ms),
            end_ms: Some(end_ms),
        });
    }
    meta.apply(&mut doc);
    (vec![doc], skipped)
}

/// Index ranges of the runs of non-blank lines.
fn groups(lines: &[(Range<usize>, &str)]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, (_, l)) in lines.iter().enumerate() {
        let blank = l
            .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
            .is_empty();
        match (blank, start) {
            (true, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..lines.len());
    }
    out
}

/// True when `line` is `word` alone or followed by a space or tab.
fn word_is(line: &str, word: &str) -> bool {
    line.strip_prefix(word)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// First line of a VTT block that is not a cue (`NOTE`, `STYLE`, `REGION`, the header).
fn is_non_cue_block(first: &str) -> bool {
    ["NOTE", "STYLE", "REGION", "WEBVTT"]
        .iter()
        .any(|w| word_is(first, w))
}

/// Reads `key: value` lines of a NOTE block into `meta`.
fn read_note(lines: &[(Range<usize>, &str)], meta: &mut Meta) {
    for (i, (_, line)) in lines.iter().enumerate() {
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
                .strip_prefix("NOTE")
                .unwrap_or(line)
        } else {
            line
        };
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        let value = value.trim();
        if key.is_empty()
            || value.is_empty()
            || key.split_whitespace().count() > 4
            || !key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '-'))
        {
            continue;
        }
        meta.set(&normalize_key(key), value.to_string(), split_list(value));
    }
}

/// A line that starts like a timestamp (`00:01…`).
fn looks_like_timing(line: &str) -> bool {
    line.trim_start().starts_with(|c: char| c.is_ascii_digit()) && line.contains(':')
}

/// At most 60 characters of a line, for messages.
fn shorten(line: &str) -> String {
    let mut s: String = line.chars().take(60).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

/// Parses `start --> end [settings]` into milliseconds; `None` when malformed or end < start.
pub(crate) fn parse_timing(line: &str) -> Option<(u64, u64)> {
    let (a, b) = line.split_once("-->")?;
    let start = parse_time(a)?;
    let end = parse_time(b.split_whitespace().next()?)?;
    (end >= start).then_some((start, end))
}

/// Parses `hh:mm:ss.mmm`, `mm:ss.mmm` (also with `,`, as in SRT) into milliseconds.
pub(crate) fn parse_time(s: &str) -> Option<u64> {
    let s = s.trim();
    let (hms, frac) = match s.rfind(['.', ',']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let ms = if frac.is_empty() {
        0
    } else if frac.len() <= 3 && digits(frac) {
        frac.parse::<u64>().ok()? * 10u64.pow(3 - frac.len() as u32)
    } else {
        return None;
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| digits(p) && p.len() <= 9) {
        return None;
    }
    let nums: Vec<u64> = parts.iter().map(|p| p.parse().unwrap_or(0)).collect();
    let (h, m, sec) = match nums[..] {
        [m, s] => (0, m, s),
        [h, m, s] => (h, m, s),
        _ => return None,
    };
    if sec >= 60 || (parts.len() == 3 && m >= 60) {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms)
}

/// The speaker and text of a cue's payload lines: see the module documentation.
pub(crate) fn cue_text(payload: &[&str]) -> (Option<String>, String) {
    let mut speaker = None;
    let mut text = String::new();
    for line in payload {
        if speaker.is_none() {
            speaker = voice(line);
        }
        let stripped = strip_tags(line);
        let decoded = super::html::decode_entities(&stripped);
        for word in decoded.split_whitespace() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(word);
        }
    }
    if speaker.is_none() {
        if let Some((name, rest)) = name_prefix(&text) {
            speaker = Some(name.to_string());
            text = rest.to_string();
        }
    }
    (speaker, text)
}

/// Renders one cue as `Speaker: text` or `text`.
fn render(speaker: Option<&str>, text: &str) -> String {
    match speaker {
        Some(s) => format!("{s}: {text}"),
        None => text.to_string(),
    }
}

/// The annotation of the first `<v …>` voice tag of a line.
fn voice(line: &str) -> Option<String> {
    let mut rest = line;
    while let Some(i) = rest.find("<v") {
        let after = &rest[i + 2..];
        if after.starts_with([' ', '\t', '.']) {
            let end = after.find('>')?;
            let inner = &after[..end];
            // Skip `.class.names`, then the annotation is the rest.
            let inner = if inner.starts_with('.') {
                inner.find([' ', '\t']).map_or("", |j| &inner[j..])
            } else {
                inner
            };
            let name = inner.split_whitespace().collect::<Vec<_>>().join(" ");
            return (!name.is_empty()).then_some(name);
        }
        rest = after;
    }
    None
}

/// `Name: rest` with a plausible speaker name (1–4 capitalised words, no digits).
fn name_prefix(text: &str) -> Option<(&str, &str)> {
    let colon = text.find(':')?;
    let name = text[..colon].trim();
    let rest = &text[colon + 1..];
    if !rest.starts_with(char::is_whitespace) || rest.trim().is_empty() || name.len() > 60 {
        return None;
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    let plausible = (1..=4).contains(&words.len())
        && words.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars()
                    .all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-' | '.'))
        });
    plausible.then(|| (name, rest.trim()))
}

/// Removes `<…>` tags and `{\…}` SSA overrides from a cue line.
fn strip_tags(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        let next = rest.find(['<', '{']);
        let Some(i) = next else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let close = if tail.starts_with('<') {
            tail.find('>')
        } else if tail.starts_with("{\\") {
            tail.find('}')
        } else {
            None
        };
        match close {
            Some(j) => rest = &tail[j + 1..],
            None => {
                let c = tail.chars().next().unwrap_or('<');
                out.push(c);
                rest = &tail[c.len_utf8()..];
            }
        }
    }
    out
}

/// The text of a raw transcript fragment: see the module documentation.
pub fn excerpt(raw: &str) -> String {
    let lines: Vec<&str> = raw
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let has_timing = lines.iter().any(|l| l.contains("-->"));
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && !lines[i].trim().is_empty() {
            i += 1;
        }
        let group = &lines[start..i];
        if has_timing && is_non_cue_block(group[0].trim_start_matches('\u{feff}')) {
            continue;
        }
        let payload = match group.iter().position(|l| l.contains("-->")) {
            Some(t) => &group[t + 1..],
            None => group,
        };
        let (speaker, text) = cue_text(payload);
        if !text.is_empty() {
            out.push(render(speaker.as_deref(), &text));
        }
    }
    out.join("\n")
}

/// Cut strengths of a raw transcript fragment (a cue): only inside its text lines, never inside
/// a tag or an entity.
pub(crate) fn cut_strengths(raw: &str) -> Vec<u8> {
    let mut mask = vec![CUT_NONE; raw.len() + 1];
    let payload_start = match raw.find("-->") {
        Some(i) => raw[i..].find('\n').map_or(raw.len(), |j| i + j + 1),
        None => 0,
    };
    super::mark_text(raw, payload_start..raw.len(), &mut mask);
    if payload_start > 0 {
        mask[payload_start] = CUT_NONE;
    }
    let b = raw.as_bytes();
    let mut i = payload_start;
    while i < b.len() {
        let close = match b[i] {
            b'<' => raw[i..].find('>'),
            b'{' if b.get(i + 1) == Some(&b'\\') => raw[i..].find('}'),
            b'&' => raw[i..]
                .bytes()
                .take(34)
                .position(|c| c == b';')
                .filter(|&j| {
                    raw[i + 1..i + j]
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'#')
                }),
            _ => None,
        };
        if let Some(j) = close {
            for m in &mut mask[i + 1..=i + j] {
                *m = CUT_NONE;
            }
            i += j + 1;
        } else {
            i += 1;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(name: &str, text: &str) -> (Vec<Document>, Vec<Skipped>) {
        let source: Arc<str> = Arc::from(text);
        let format = if name.ends_with(".vtt") {
            SourceFormat::Vtt
        } else {
            SourceFormat::Srt
        };
        load(Path::new(name), name, &source, format)
    }

    const VTT: &str = "WEBVTT - weekly sync

NOTE
title: Legal & Finance weekly
date: 2024-03-05
kind: meeting
meeting_id: LF-12

1
00:00:01.000 --> 00:00:04.500 align:start
<v Dana Reyes>Let's start with contracts.

00:00:05.000 --> 00:00:07.000
<v.loud Dana Reyes>Anything over <b>fifty</b>
thousand &amp; up?

NOTE a comment in the middle

00:01:07.250 --> 00:01:09.000
<v Omar>Outside counsel.
";

    #[test]
    fn vtt_speakers_times_and_note_metadata() {
        let (docs, skipped) = load_str("calls/sync.vtt", VTT);
        assert!(skipped.is_empty(), "{skipped:?}");
        let d = &docs[0];
        assert_eq!(d.title, "Legal & Finance weekly");
        assert_eq!(d.date.as_deref(), Some("2024-03-05"));
        assert_eq!(d.kind, "meeting");
        assert_eq!(d.format, SourceFormat::Vtt);
        assert_eq!(
            d.metadata.get("meeting_id").map(String::as_str),
            Some("LF-12")
        );
        assert_eq!(d.blocks.len(), 3);
        let b = &d.blocks;
        assert_eq!(b[0].speaker.as_deref(), Some("Dana Reyes"));
        assert_eq!((b[0].start_ms, b[0].end_ms), (Some(1000), Some(4500)));
        assert_eq!(b[1].speaker.as_deref(), Some("Dana Reyes"));
        assert_eq!(b[2].speaker.as_deref(), Some("Omar"));
        assert_eq!((b[2].start_ms, b[2].end_ms), (Some(67_250), Some(69_000)));
        assert!(VTT[b[0].byte_range.clone()].starts_with("1\n00:00:01.000"));
        assert_eq!(
            excerpt(&VTT[b[1].byte_range.clone()]),
            "Dana Reyes: Anything over fifty thousand & up?"
        );
        assert_eq!(
            excerpt(&VTT[b[0].byte_range.start..b[2].byte_range.end]),
            "Dana Reyes: Let's start with contracts.\nDana Reyes: Anything over fifty thousand & up?\nOmar: Outside counsel."
        );
    }

    #[test]
    fn vtt_title_defaults_to_stem() {
        let (docs, _) = load_str(
            "calls/standup.vtt",
            "WEBVTT\n\n00:01.000 --> 00:02.000\nHello.\n",
        );
        assert_eq!(docs[0].title, "standup");
        assert_eq!(docs[0].kind, "transcript");
        assert_eq!(docs[0].blocks[0].speaker, None);
    }

    #[test]
    fn missing_webvtt_header_is_an_error() {
        let (docs, skipped) = load_str("a.vtt", "00:01.000 --> 00:02.000\nHello.\n");
        assert!(docs.is_empty());
        assert_eq!(skipped[0].line, Some(1));
        assert!(skipped[0].reason.contains("WEBVTT"));
    }

    const SRT: &str = "1
00:00:01,000 --> 00:00:03,000
Dana Reyes: We need a policy.

2
00:00:03,500 --> 00:00:05,000
<i>Omar:</i> Agreed, by Friday.

3
00:00:06,000 --> 00:00:08,000
Note 2: this is not a speaker.
";

    #[test]
    fn srt_with_name_prefix() {
        let (docs, skipped) = load_str("calls/x.srt", SRT);
        assert!(skipped.is_empty());
        let b = &docs[0].blocks;
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].speaker.as_deref(), Some("Dana Reyes"));
        assert_eq!((b[0].start_ms, b[0].end_ms), (Some(1000), Some(3000)));
        assert_eq!(b[1].speaker.as_deref(), Some("Omar"));
        assert_eq!(b[2].speaker, None);
        assert_eq!(
            excerpt(&SRT[b[1].byte_range.clone()]),
            "Omar: Agreed, by Friday."
        );
        assert_eq!(
            excerpt(&SRT[b[2].byte_range.clone()]),
            "Note 2: this is not a speaker."
        );
        assert_eq!(docs[0].format, SourceFormat::Srt);
    }

    #[test]
    fn broken_timing_line_is_reported_and_other_cues_load() {
        let text = "1\n00:00:01,000 --> 00:00:02,000\nFirst.\n\n2\n00:00:03,000 -> 00:00:04,000\nLost.\n\n3\n00:00:05,000 --> 00:00:06,000\nThird.\n";
        let (docs, skipped) = load_str("b.srt", text);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].line, Some(6));
        assert!(
            skipped[0].reason.contains("timing"),
            "{}",
            skipped[0].reason
        );
        let b = &docs[0].blocks;
        assert_eq!(b.len(), 2);
        assert_ne!(b[0].section, b[1].section);
    }

    #[test]
    fn truncated_final_cue_keeps_good_cues() {
        let text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nGood.\n\n00:00:03.000 --> 00:00:0";
        let (docs, skipped) = load_str("t.vtt", text);
        assert_eq!(docs[0].blocks.len(), 1);
        assert_eq!(skipped[0].line, Some(6));
        let text =
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nGood.\n\n00:00:03.000 --> 00:00:04.000";
        let (docs, skipped) = load_str("t.vtt", text);
        assert_eq!(docs[0].blocks.len(), 1);
        assert_eq!(skipped[0].line, Some(6));
        assert!(skipped[0].reason.contains("truncated"));
    }

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("01:02:03.004"), Some(3_723_004));
        assert_eq!(parse_time("02:03,4"), Some(123_400));
        assert_eq!(parse_time("100:00:00.000"), Some(360_000_000));
        assert_eq!(parse_time("00:60.000"), None);
        assert_eq!(parse_time("0a:01.000"), None);
        assert_eq!(parse_timing("00:02.000 --> 00:01.000"), None);
    }

    #[test]
    fn excerpt_of_plain_fragment_and_tags() {
        assert_eq!(
            excerpt("the rest of\n<i>a</i> long cue"),
            "the rest of a long cue"
        );
        assert_eq!(excerpt("{\\an8}Top: text"), "Top: text");
        assert_eq!(excerpt("x < y"), "x < y");
    }

    #[test]
    fn cut_strengths_skip_timing_and_tags() {
        let raw = "3\n00:01.000 --> 00:02.000\n<v Bo>Hi. There";
        let mask = cut_strengths(raw);
        let payload = raw.find("<v").unwrap();
        assert!(mask[..=payload].iter().all(|&m| m == CUT_NONE));
        assert!(mask[payload + 1..payload + 6]
            .iter()
            .all(|&m| m == CUT_NONE));
        assert_eq!(mask[raw.find("There").unwrap()], super::super::CUT_SENTENCE);
    }
}
