//! How a context pack reads in Markdown: a header (the question, the tokens counted, what was
//! left out, notes), the numbered passages, then the sources with their byte and line ranges.
//! (The JSON rendering is the pack itself, serialised.)

use std::fmt::Write as _;

use super::ContextPack;
use crate::query::DecisionLabel;

fn mmss(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The Markdown rendering: header, passages, sources.
pub(super) fn render_md(pack: &ContextPack) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Context: {}", pack.question.trim());
    let _ = writeln!(
        out,
        "tokens: {} of {} ({})",
        pack.tokens_used,
        pack.budget,
        pack.tokenizer.describe()
    );
    if pack.num_left_out > 0 {
        let _ = writeln!(out, "left out (did not fit): {}", pack.num_left_out);
    }
    for note in &pack.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if pack.passages.is_empty() {
        return out;
    }
    for p in &pack.passages {
        let mut place = p.title.clone();
        let headings: Vec<&str> = p
            .heading_path
            .iter()
            .map(String::as_str)
            .filter(|h| *h != p.title)
            .collect();
        if !headings.is_empty() {
            place.push_str(" — ");
            place.push_str(&headings.join(" › "));
        }
        let mut facts: Vec<String> = p.date.iter().cloned().collect();
        if !p.speakers.is_empty() {
            facts.push(p.speakers.join(", "));
        }
        if let Some(d) = &p.decision {
            facts.push(status_line(d));
        }
        let facts = if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        };
        let _ = writeln!(out, "\n[{}] {place}{facts}", p.number);
        let _ = writeln!(out, "{}", p.text.trim_end());
        if p.truncated {
            let _ = writeln!(out, "[…]");
        }
    }
    let _ = writeln!(out, "\nSources");
    for p in &pack.passages {
        // The passage's own line above holds its title, headings, date and speakers.
        let mut line = format!(
            "[{}] {}",
            p.number,
            crate::path_text::display(&p.spans[0].path)
        );
        if let (Some(s), Some(e)) = (p.start_ms, p.end_ms) {
            let _ = write!(line, " · {}–{} ({s}–{e} ms)", mmss(s), mmss(e));
        }
        if p.truncated {
            line.push_str(" · truncated");
        }
        let _ = writeln!(out, "{line}");
        for s in &p.spans {
            let stale = match &s.stale {
                Some(stale) => format!(" · {}", stale.describe()),
                None => String::new(),
            };
            if s.ranges_withheld {
                let _ = writeln!(
                    out,
                    "    {} · sha256 {}…{stale}",
                    crate::path_text::display(&s.chunk_id),
                    &s.content_hash[..12]
                );
                continue;
            }
            let _ = writeln!(
                out,
                "    {} · bytes {}–{} · lines {}–{} · sha256 {}…{stale}",
                crate::path_text::display(&s.chunk_id),
                s.byte_range[0],
                s.byte_range[1],
                s.line_range[0],
                s.line_range[1],
                &s.content_hash[..12]
            );
        }
    }
    out
}

/// `status: accepted`, or `status: superseded by ADR-0010 (since 2026-03-17)`.
fn status_line(d: &DecisionLabel) -> String {
    if d.after_as_of {
        return "status: not made yet at that date".to_string();
    }
    let mut s = format!("status: {}", d.status.as_str());
    if let Some(by) = &d.superseded_by {
        // `ADR-0010` out of `ADR-0010: Move …`, else the successor's title or id.
        let name = d.superseded_by_title.as_deref().map_or(by.as_str(), |t| {
            t.split_once(':')
                .filter(|(head, _)| head.len() <= 16)
                .map_or(t, |(head, _)| head)
        });
        let _ = write!(s, " by {name}");
        if let Some(since) = &d.since {
            let _ = write!(s, " (since {since})");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::PackFormat;

    #[test]
    fn statuses_read_as_the_ledger_says() {
        let mut label = DecisionLabel {
            entry: "adr-0005".into(),
            kind: crate::memory::EntryKind::Decision,
            title: "Nightly reconciliation at 02:00".into(),
            status: crate::memory::Status::Accepted,
            superseded_by: None,
            superseded_by_title: None,
            since: None,
            after_as_of: false,
        };
        assert_eq!(status_line(&label), "status: accepted");
        label.status = crate::memory::Status::Superseded;
        label.superseded_by = Some("ADR-0010".into());
        label.since = Some("2026-03-17".into());
        assert_eq!(
            status_line(&label),
            "status: superseded by ADR-0010 (since 2026-03-17)"
        );
        assert_eq!(mmss(754_000), "12:34");
        assert_eq!("JSON".parse::<PackFormat>().unwrap(), PackFormat::Json);
        assert!("yaml".parse::<PackFormat>().is_err());
    }
}
