//! The audit log: one JSON line per served request, appended, never rewritten.
//!
//! Every request a [`Service`](crate::serve::Service) answers — or refuses: a bad token, a body
//! too large, a request that timed out — appends one line:
//!
//! ```json
//! {"time":"2026-12-06T18:28:24.123Z","principal":"priya","transport":"http","operation":"search",
//!  "query":"outside counsel threshold","spans":["corpus/adr/0009.md#0"],"outcome":"ok",
//!  "duration_ms":12.4,"generation":"gen-000004"}
//! ```
//!
//! `principal` is `null` for the index owner (a server started without tokens and without
//! `--as`); `outcome` is `ok` or a [`ServeError`] code; `spans` are
//! the ids of the chunks (or ledger entries) the answer handed out.
//!
//! The log lives at `<index>/audit.jsonl` unless told otherwise (`lore serve --audit FILE`).
//! It is opened in append mode and each line is one `write`, so any number of threads and
//! processes (an HTTP server and an MCP server on one index) can share it without interleaving
//! lines. `lore audit` reads it back ([`read_log`]): a line that does not parse is reported with
//! its number and skipped, never fatal.
//!
//! The log holds what callers asked, so a new log is created readable and writable by its
//! owner only (mode 0600 on Unix); an existing one is used as it is, and
//! [`loose_permissions`] tells whether others may read it (the servers warn about it).
//!
//! What callers asked is hostile text: a query may hold a carriage return and terminal escape
//! sequences that, printed raw, erase a row and draw a forged one, or bidirectional overrides
//! that reorder what a reader sees. [`escape_text`] shows every such character as a visible
//! escape (`\x1b`, `\r`, `\u{202e}`) for a terminal; [`to_json_line`] writes a record as JSON
//! whose every invisible character is a `\uXXXX` escape. `lore audit` prints through them.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::serve::ServeError;

/// The log's file name inside an index directory, when no other is given.
pub const DEFAULT_AUDIT_FILE: &str = crate::layout::AUDIT_LOG;

/// Every `operation` the servers write: the five operations, `connect` (a `lore mcp` whose
/// token was refused), `http` (an HTTP request refused before its operation was known) and
/// `mcp` (a `lore mcp` message refused before it reached a tool).
pub const OPERATIONS: &[&str] = &[
    "search",
    "context",
    "decisions",
    "who",
    "get",
    "connect",
    "http",
    "mcp",
];

/// One served request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the request was answered, UTC, RFC 3339.
    pub time: String,
    /// The caller's user id (`None`: the index owner, or not known because authentication
    /// failed).
    pub principal: Option<String>,
    /// The caller's extra groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// `http`, `mcp`, …
    pub transport: String,
    /// `search`, `context`, `decisions`, `who`, `get`, or what the transport was asked for
    /// when it refused the request before knowing (`http`).
    pub operation: String,
    /// The question, topic or chunk id asked about.
    pub query: Option<String>,
    /// Ids of the chunks (ledger entries, for `decisions`) handed out.
    #[serde(default)]
    pub spans: Vec<String>,
    /// `ok`, or the error code.
    pub outcome: String,
    /// Time taken, in milliseconds.
    pub duration_ms: f64,
    /// The generation that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
}

impl AuditRecord {
    /// Who asked, for people: the user, `owner` for the index owner, `-` when authentication
    /// failed (nobody known).
    pub fn principal_label(&self) -> &str {
        match &self.principal {
            Some(p) => p,
            None if self.outcome == "unauthorized" => "-",
            None => "owner",
        }
    }
}

/// The current time, UTC, RFC 3339 with milliseconds.
pub(crate) fn now_rfc3339() -> String {
    let now = jiff::Timestamp::now();
    format!("{:.3}", now)
}

/// An open audit log, shared by every thread of a server.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
}

impl AuditLog {
    /// Open (creating it if needed) the log at `path` for appending.
    pub fn open(path: impl Into<PathBuf>) -> Result<AuditLog, ServeError> {
        let path = path.into();
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Applies only when the file is created (and the umask may take more away).
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(|e| ServeError::Config {
            path: path.clone(),
            reason: format!("cannot open the audit log for appending: {e}"),
        })?;
        Ok(AuditLog { path, file })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record as one line, in one write. A failure is returned, not hidden: the
    /// caller decides (a server reports it on standard error and keeps serving).
    pub fn append(&self, record: &AuditRecord) -> std::io::Result<()> {
        let mut line = to_json_line(record).into_bytes();
        line.push(b'\n');
        // O_APPEND: the kernel places each write at the end, whole.
        (&self.file).write_all(&line)
    }
}

/// The permission bits of the file at `path` when its group or others may read or write it
/// (Unix; `None` elsewhere, when it is private, or when it cannot be looked at).
pub fn loose_permissions(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o066 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Whether `c` changes what a terminal shows other than by drawing itself: a C0 control
/// (carriage return, line feed, tab, escape…), DEL, a C1 control (U+0080–U+009F), a
/// bidirectional mark, embedding, override or isolate (U+061C, U+200E–U+200F,
/// U+202A–U+202E, U+2066–U+2069), or a line or paragraph separator (U+2028–U+2029).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{2028}' | '\u{2029}'
        )
}

/// `text` for a terminal: every [`is_unsafe_char`] shown as a visible escape (`\n`, `\r`,
/// `\t`, `\x1b` for the other C0 controls and DEL, `\u{85}` or `\u{202e}` beyond ASCII), and
/// a backslash doubled, so that an escape the text spelled out itself cannot pass for one
/// this made. Text without either comes back borrowed.
pub fn escape_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == '\\' || is_unsafe_char(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && is_unsafe_char(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `record` as one line of JSON (no line feed) that holds no [`is_unsafe_char`]: serde_json
/// escapes the C0 controls, and this escapes DEL, the C1 controls, the bidirectional
/// controls and the separators as `\uXXXX` too. It parses back to the same record.
pub fn to_json_line(record: &AuditRecord) -> String {
    let json = serde_json::to_string(record).unwrap_or_else(|e| {
        // A record is strings and numbers: serializing it cannot fail.
        unreachable!("an audit record is always JSON: {e}")
    });
    json_escape_unsafe(json)
}

/// Replace every [`is_unsafe_char`] of serialized JSON by its `\uXXXX` escape. Outside its
/// strings JSON is ASCII without controls (serde_json writes no whitespace), so every such
/// character is inside a string, where the escape means the same character.
fn json_escape_unsafe(json: String) -> String {
    if !json.chars().any(is_unsafe_char) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe_char(c) {
            // Every such character is in the Basic Multilingual Plane: one `\u` escape each.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Which records [`read_log`] keeps.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this user (compared without regard to case; `owner` for the index owner's
    /// requests, `-` for those refused as unauthorized).
    pub principal: Option<String>,
    /// Only this operation.
    pub operation: Option<String>,
    /// Only records at or after this time.
    pub since: Option<jiff::Timestamp>,
}

impl AuditFilter {
    /// Parse a `--since` value: `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time.
    pub fn parse_since(text: &str) -> Result<jiff::Timestamp, ServeError> {
        let text = text.trim();
        if let Ok(ts) = text.parse::<jiff::Timestamp>() {
            return Ok(ts);
        }
        if let Ok(date) = text.parse::<jiff::civil::Date>() {
            if let Ok(ts) = date.to_zoned_datetime(jiff::tz::TimeZone::UTC) {
                return Ok(ts.timestamp());
            }
        }
        Err(ServeError::InvalidRequest(format!(
            "`{text}` is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-12-06T18:00:00Z)"
        )))
    }

    fn keeps(&self, record: &AuditRecord) -> bool {
        if let Some(p) = &self.principal {
            if !record.principal_label().eq_ignore_ascii_case(p) {
                return false;
            }
        }
        if let Some(op) = &self.operation {
            if !record.operation.eq_ignore_ascii_case(op) {
                return false;
            }
        }
        if let Some(since) = self.since {
            match record.time.parse::<jiff::Timestamp>() {
                Ok(t) if t >= since => {}
                _ => return false,
            }
        }
        true
    }
}

/// A line of the log that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// What [`read_log`] found.
#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    /// The records the filter kept, in file order.
    pub records: Vec<AuditRecord>,
    /// How many records were read in all.
    pub num_read: usize,
    /// Lines that did not parse.
    pub bad_lines: Vec<BadLine>,
}

/// Read the log at `path`, keeping what `filter` keeps. Fails only when the file cannot be
/// read at all ([`ServeError::Config`] naming it); a broken line is reported in
/// [`AuditReport::bad_lines`].
pub fn read_log(path: &Path, filter: &AuditFilter) -> Result<AuditReport, ServeError> {
    let cannot = |e: std::io::Error| ServeError::Config {
        path: path.to_path_buf(),
        reason: format!("cannot read the audit log: {e}"),
    };
    let file = File::open(path).map_err(cannot)?;
    let mut report = AuditReport::default();
    for (n, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(cannot)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<AuditRecord>(&line) {
            Ok(record) => {
                report.num_read += 1;
                if filter.keeps(&record) {
                    report.records.push(record);
                }
            }
            Err(e) => report.bad_lines.push(BadLine {
                line: n + 1,
                reason: e.to_string(),
            }),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(principal: Option<&str>, op: &str, time: &str) -> AuditRecord {
        AuditRecord {
            time: time.into(),
            principal: principal.map(Into::into),
            groups: Vec::new(),
            transport: "http".into(),
            operation: op.into(),
            query: Some("q".into()),
            spans: vec!["a.md#0".into()],
            outcome: "ok".into(),
            duration_ms: 1.5,
            generation: Some("gen-000001".into()),
        }
    }

    #[test]
    fn lines_from_many_threads_stay_whole_and_filters_apply() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = std::sync::Arc::new(AuditLog::open(&path).unwrap());
        std::thread::scope(|s| {
            for t in 0..4 {
                let log = log.clone();
                s.spawn(move || {
                    for _ in 0..50 {
                        let who = if t % 2 == 0 { Some("priya") } else { None };
                        log.append(&record(who, "search", &now_rfc3339())).unwrap();
                    }
                });
            }
        });
        log.append(&record(Some("omar"), "get", "2020-01-01T00:00:00Z"))
            .unwrap();
        // A torn or foreign line is reported by number, not fatal.
        {
            use std::io::Write;
            let mut f = OpenOptions::new().append(true).open(&path).unwrap();
            f.write_all(b"{\"time\": \n").unwrap();
        }
        let all = read_log(&path, &AuditFilter::default()).unwrap();
        assert_eq!(all.num_read, 201);
        assert_eq!(all.records.len(), 201);
        assert_eq!(all.bad_lines.len(), 1);
        assert_eq!(all.bad_lines[0].line, 202);

        let priya = AuditFilter {
            principal: Some("PRIYA".into()),
            ..AuditFilter::default()
        };
        assert_eq!(read_log(&path, &priya).unwrap().records.len(), 100);
        let owner = AuditFilter {
            principal: Some("owner".into()),
            ..AuditFilter::default()
        };
        assert_eq!(read_log(&path, &owner).unwrap().records.len(), 100);
        let gets = AuditFilter {
            operation: Some("get".into()),
            ..AuditFilter::default()
        };
        assert_eq!(read_log(&path, &gets).unwrap().records.len(), 1);
        let recent = AuditFilter {
            since: Some(AuditFilter::parse_since("2021-01-01").unwrap()),
            ..AuditFilter::default()
        };
        assert_eq!(read_log(&path, &recent).unwrap().records.len(), 200);
        assert!(AuditFilter::parse_since("yesterday").is_err());
        assert!(AuditFilter::parse_since("2026-12-06T18:00:00Z").is_ok());
    }

    #[test]
    fn times_are_rfc3339_utc() {
        let t = now_rfc3339();
        assert!(t.ends_with('Z'), "{t}");
        assert!(t.parse::<jiff::Timestamp>().is_ok(), "{t}");
    }

    #[test]
    fn hostile_text_is_shown_escaped_never_raw() {
        let forged = "x\r\x1b[2K2026-12-06T18:00:00Z  omar  http search ok\x1b[2J\n\ttab\u{7f}\u{85}\u{9b}31m";
        let shown = escape_text(forged);
        assert_eq!(
            shown,
            "x\\r\\x1b[2K2026-12-06T18:00:00Z  omar  http search ok\\x1b[2J\\n\\ttab\\x7f\\u{85}\\u{9b}31m"
        );
        assert!(!shown.chars().any(is_unsafe_char), "{shown}");
        // Bidirectional controls would reorder what a reader sees.
        for c in [
            '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{200f}', '\u{2028}',
        ] {
            let text = format!("a{c}b");
            assert_eq!(escape_text(&text), format!("a\\u{{{:x}}}b", c as u32));
        }
        // A backslash is doubled, so text spelling out an escape cannot pass for one.
        assert_eq!(escape_text("a\\x1b"), "a\\\\x1b");
        assert_ne!(escape_text("a\\x1b"), escape_text("a\x1b"));
        // Ordinary text, accents and all, is left as it is (and not copied).
        assert!(matches!(escape_text("Décision: €75K"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_lines_hold_no_invisible_character_and_parse_back() {
        let mut r = record(Some("pri\u{202e}ya"), "search", "2026-12-06T18:00:00Z");
        r.query =
            Some("a\r\x1b[2K\x1b[2J\n\u{7f}\u{85}\u{9f}\u{202e}\u{2067}\u{2029}\"\\ é".into());
        let line = to_json_line(&r);
        assert!(!line.chars().any(is_unsafe_char), "{line}");
        assert!(line.contains("\\u202e") && line.contains("\\u007f") && line.contains("\\u0085"));
        let back: AuditRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        // The log itself is written that way.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        AuditLog::open(&path).unwrap().append(&r).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{line}\n"));
        let read = read_log(&path, &AuditFilter::default()).unwrap();
        assert_eq!(read.records, vec![r]);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_log_is_private_and_a_shared_one_is_told() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        AuditLog::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(loose_permissions(&path), None);
        // An existing log keeps its mode, and the looseness is told.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        AuditLog::open(&path).unwrap();
        assert_eq!(loose_permissions(&path), Some(0o644));
    }
}
