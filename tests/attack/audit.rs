//! The attack suite: the audit log and the files a server keeps secrets in. A caller's query
//! holding terminal escape sequences, carriage returns, line feeds, C1 controls or
//! bidirectional overrides must come out of `lore audit` visibly escaped — in text and in
//! JSON alike — never raw, so it cannot erase a row, forge one or clear the screen. A fresh
//! audit log is private (0600); a tokens file others may read is refused.

use std::path::Path;
use std::process::Stdio;

use serde_json::{json, Value};

use crate::support::{self, Server};

/// What a hostile caller asks: each would rewrite a terminal printed raw.
const HOSTILE: &[&str] = &[
    // Return to the line's start, erase it, draw a forged row attributed to omar.
    "counsel\r\x1b[2K2026-12-06T18:00:00.000Z  omar       http  search    ok         1.0 ms  1   spans  harmless",
    // Clear the screen and home the cursor.
    "\x1b[2J\x1b[Hcleared",
    // Right-to-left override: the rest reads backwards.
    "\u{202e}gnirts desrever",
    "two\nlines",
    // The C1 control sequence introducer (ESC [ in one character), DEL, a bidi isolate.
    "\u{9b}31mred\u{7f}\u{2066}isolated\u{2069}",
];

/// Whether `c` would act on a terminal rather than be drawn (line feed aside, which ends
/// each printed line).
fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

fn search(server: &Server, query: &str) {
    let response = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .post(&server.url("/v1/search"))
        .send_json(json!({ "query": query, "budget": 200 }));
    assert!(response.is_ok(), "{query:?}: {response:?}");
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn hostile_queries_come_out_of_lore_audit_escaped_in_text_and_json() {
    let (tmp, _ex, idx) = support::fixture();
    let log = tmp.path().join("fresh-audit.jsonl");
    let server = Server::start(&idx, &["--audit", log.to_str().unwrap()]);
    for q in HOSTILE {
        search(&server, q);
    }
    drop(server);
    // Created by the server: private to its owner.
    assert_eq!(mode_of(&log), 0o600);
    // The log itself holds no character that would act on a terminal (`tail -f` is safe).
    let raw = std::fs::read_to_string(&log).unwrap();
    assert!(!raw.chars().any(acts_on_terminal), "{raw:?}");
    assert_eq!(raw.lines().count(), HOSTILE.len());

    // Text: one row per record, every field escaped.
    let out = support::lore(&["audit", "--log", log.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.chars().any(acts_on_terminal), "{text:?}");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), HOSTILE.len(), "{text}");
    assert!(rows.iter().all(|r| r.contains("owner")), "{text}");
    assert!(rows[0].ends_with("counsel\\r\\x1b[2K2026-12-06T18:00:00.000Z  omar       http  search    ok         1.0 ms  1   spans  harmless"), "{}", rows[0]);
    assert!(rows[1].ends_with("\\x1b[2J\\x1b[Hcleared"), "{}", rows[1]);
    assert!(rows[2].ends_with("\\u{202e}gnirts desrever"), "{}", rows[2]);
    assert!(rows[3].ends_with("two\\nlines"), "{}", rows[3]);
    assert!(
        rows[4].ends_with("\\u{9b}31mred\\x7f\\u{2066}isolated\\u{2069}"),
        "{}",
        rows[4]
    );

    // JSON: no raw invisible character either, and each line parses back to the query asked.
    let out = support::lore(&["audit", "--log", log.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let json_lines = String::from_utf8(out.stdout).unwrap();
    assert!(!json_lines.chars().any(acts_on_terminal), "{json_lines:?}");
    let queries: Vec<String> = json_lines
        .lines()
        .map(|l| {
            let record: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            record["query"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(queries, HOSTILE);
}

#[test]
fn lore_audit_refuses_an_unknown_operation_and_an_empty_principal() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("audit.jsonl");
    std::fs::write(
        &log,
        r#"{"time":"2026-12-06T18:28:24.123Z","principal":"priya","transport":"mcp","operation":"search","query":"q","spans":[],"outcome":"ok","duration_ms":1.0}
"#,
    )
    .unwrap();
    let log = log.to_str().unwrap();
    let out = support::lore(&["audit", "--log", log, "--op", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for op in [
        "search",
        "context",
        "decisions",
        "who",
        "get",
        "connect",
        "http",
        "mcp",
    ] {
        assert!(err.contains(op), "{op} is not offered: {err}");
    }
    for blank in ["", "  "] {
        let out = support::lore(&["audit", "--log", log, "--principal", blank]);
        assert_eq!(out.status.code(), Some(2), "{blank:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be empty"));
    }
    // Known operations, in any case, still filter.
    let out = support::lore(&[
        "audit",
        "--log",
        log,
        "--op",
        "SEARCH",
        "--principal",
        "Priya",
    ]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let out = support::lore(&["audit", "--log", log, "--op", "get"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 0);
}

#[test]
fn a_tokens_file_others_may_read_is_refused_and_a_shared_log_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let (tmp, _ex, idx) = support::fixture();
    let tokens = support::write_tokens(tmp.path());
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();
    let tokens_arg = tokens.to_str().unwrap();
    let idx_arg = idx.to_str().unwrap();
    let serve = support::lore_command()
        .args(["serve", "--index", idx_arg, "--addr", "127.0.0.1:0"])
        .args(["--tokens", tokens_arg])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mcp = support::lore_command()
        .args(["mcp", "--index", idx_arg, "--tokens", tokens_arg])
        .env("LORE_TOKEN", support::PRIYA_TOKEN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    for (what, out) in [("serve", serve), ("mcp", mcp)] {
        assert_eq!(out.status.code(), Some(1), "lore {what} started");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(tokens_arg), "lore {what}: {err}");
        assert!(err.contains("0644"), "lore {what}: {err}");
        assert!(
            err.contains(&format!("chmod 600 {tokens_arg}")),
            "lore {what}: {err}"
        );
    }

    // An existing audit log others may read is used, and said to be.
    let log = tmp.path().join("shared-audit.jsonl");
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = support::lore_command()
        .args(["mcp", "--index", idx_arg, "--audit", log.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("0644") && err.contains("chmod 600"),
        "{err}"
    );
    assert_eq!(mode_of(&log), 0o644, "an existing log keeps its mode");
}
