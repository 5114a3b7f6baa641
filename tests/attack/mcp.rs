//! The attack suite: `lore mcp` fed what a broken or hostile host sends — garbage, truncated
//! JSON, bytes that are not UTF-8, lone surrogates, batches, arguments that are not an object,
//! unknown tools and methods, a 5 MB line — by hand, one raw line at a time. Every malformed
//! message must get the JSON-RPC error the specification names, and the next real tool call
//! must still be answered.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support;

/// Longest wait for one reply: a ceiling only a hung or silent server reaches.
const REPLY_CEILING: Duration = Duration::from_secs(120);

/// A running `lore mcp`, spoken to in raw lines; killed when dropped.
struct Mcp {
    child: Child,
    /// `None` once closed.
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    next_id: i64,
}

impl Mcp {
    /// Start `lore mcp --index INDEX EXTRA…` (standard error kept in the test's output).
    fn start(index: &Path, extra: &[&str]) -> Mcp {
        let mut child = support::lore_command()
            .args(["mcp", "--index", index.to_str().unwrap()])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start lore mcp");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Mcp {
            child,
            stdin: Some(stdin),
            lines,
            next_id: 1000,
        }
    }

    /// The handshake, as a host does it: `initialize`, then `notifications/initialized`.
    fn initialize(&mut self) {
        self.send_json(&json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "attack", "version": "1" },
            },
        }));
        let reply = self.reply();
        assert_eq!(reply["id"], 0, "{reply}");
        assert_eq!(reply["result"]["serverInfo"]["name"], "lore", "{reply}");
        self.send_json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    }

    /// Write `bytes` and a line feed.
    fn send(&mut self, bytes: &[u8]) {
        self.send_raw(bytes);
        self.send_raw(b"\n");
    }

    /// Write `bytes` as they are.
    fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("standard input is open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    fn send_json(&mut self, message: &Value) {
        self.send(message.to_string().as_bytes());
    }

    /// The next line the server writes, as JSON.
    fn reply(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(REPLY_CEILING)
            .expect("lore mcp gave no reply (or ended)");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("reply not JSON ({e}): {line}"))
    }

    /// Call `search` for `query` and return the result; the reply must be the answer to
    /// this very call.
    fn search(&mut self, query: &str) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send_json(&json!({
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "search", "arguments": { "query": query } },
        }));
        let reply = self.reply();
        assert_eq!(reply["id"], id, "{reply}");
        reply["result"].clone()
    }

    /// The server still answers a real call with the fixture's passage.
    fn assert_serving(&mut self, after: &str) {
        let result = self.search("laptop on day one");
        assert_ne!(result["isError"], true, "after {after}: {result}");
        let hits = result["structuredContent"]["hits"].as_array();
        assert!(
            hits.is_some_and(|h| h.iter().any(|h| h["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("wiki-onboarding.md")))),
            "after {after}: {result}"
        );
    }

    /// Close standard input (the host is done).
    fn close(&mut self) {
        self.stdin = None;
    }

    /// Close standard input; the server's exit status.
    fn finish(&mut self) -> std::process::ExitStatus {
        self.close();
        self.child.wait().unwrap()
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tool call whose `arguments` are `arguments`, as a raw line.
fn call_with(id: i64, tool: &str, arguments: &str) -> Vec<u8> {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}"#
    )
    .into_bytes()
}

#[test]
fn every_malformed_message_gets_its_json_rpc_error_and_the_server_keeps_serving() {
    let (tmp, _ex, idx) = support::fixture();
    let audit = tmp.path().join("audit.jsonl");
    let mut mcp = Mcp::start(&idx, &["--audit", audit.to_str().unwrap()]);
    mcp.initialize();
    mcp.assert_serving("initialize");

    let five_mb = {
        let mut line = br#"{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{"name":"search","arguments":{"query":""#.to_vec();
        line.extend(std::iter::repeat_n(b'a', 5 * 1024 * 1024));
        line.extend_from_slice(br#""}}}"#);
        line
    };
    // (what, the line, the error code, the id answered)
    let cases: Vec<(&str, Vec<u8>, i64, Value)> = vec![
        ("garbage", b"hello there".to_vec(), -32700, Value::Null),
        (
            "truncated JSON",
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sea"#.to_vec(),
            -32700,
            Value::Null,
        ),
        (
            "invalid UTF-8",
            b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"search\",\"arguments\":{\"query\":\"\xff\xfe\xc3\"}}}".to_vec(),
            -32700,
            Value::Null,
        ),
        ("a lone leading surrogate", call_with(3, "search", r#"{"query":"\ud800"}"#), -32700, Value::Null),
        ("a lone trailing surrogate", call_with(4, "search", r#"{"query":"x\udc00y"}"#), -32700, Value::Null),
        ("array arguments", call_with(5, "search", r#"["laptop"]"#), -32602, json!(5)),
        ("string arguments", call_with(6, "search", r#""laptop""#), -32602, json!(6)),
        ("number arguments", call_with(7, "search", "42"), -32602, json!(7)),
        ("an unknown tool", call_with(8, "drop_tables", r#"{"query":"x"}"#), -32602, json!(8)),
        (
            "an unknown method",
            br#"{"jsonrpc":"2.0","id":9,"method":"resources/delete"}"#.to_vec(),
            -32601,
            json!(9),
        ),
        ("an empty batch", b"[]".to_vec(), -32600, Value::Null),
        (
            "a batch",
            br#"[{"jsonrpc":"2.0","id":10,"method":"ping"}]"#.to_vec(),
            -32600,
            Value::Null,
        ),
        ("a bare number", b"42".to_vec(), -32600, Value::Null),
        (
            "JSON-RPC 1.0",
            br#"{"jsonrpc":"1.0","id":11,"method":"ping"}"#.to_vec(),
            -32600,
            json!(11),
        ),
        ("no method", br#"{"jsonrpc":"2.0","id":12}"#.to_vec(), -32600, json!(12)),
        (
            "an object id",
            br#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#.to_vec(),
            -32600,
            Value::Null,
        ),
        (
            "nesting 100 000 deep",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
            -32700,
            Value::Null,
        ),
        ("a 5 MB line", five_mb, -32600, Value::Null),
    ];
    for (what, line, code, id) in &cases {
        mcp.send(line);
        let reply = mcp.reply();
        assert_eq!(reply["jsonrpc"], "2.0", "{what}: {reply}");
        assert_eq!(reply["error"]["code"], *code, "{what}: {reply}");
        assert_eq!(&reply["id"], id, "{what}: {reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {reply}"
        );
        mcp.assert_serving(what);
    }

    // A host that echoes an error answer back starts no storm: an error response is no
    // request, and gets no answer.
    mcp.send(br#"{"error":{"code":-32700,"message":"Parse error"},"id":null,"jsonrpc":"2.0"}"#);
    mcp.send(br#"{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"Invalid params"}}"#);
    mcp.assert_serving("echoed error answers");
    // An empty line is no message: no answer, and the next answer is the next call's.
    mcp.send(b"");
    mcp.send(b"   \r");
    mcp.assert_serving("empty lines");
    // A malformed notification gets no answer either.
    mcp.send(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":7}"#);
    mcp.assert_serving("a malformed notification");

    assert!(mcp.finish().success(), "lore mcp did not end cleanly");
    // Each refused message is in the audit log, the 5 MB line as too large.
    let out = support::lore(&["audit", "--log", audit.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let records: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let refused = records.iter().filter(|r| r["outcome"] != "ok").count();
    // Every case is audited, the unknown tool and method too.
    assert_eq!(refused, cases.len(), "{records:#?}");
    assert_eq!(
        records
            .iter()
            .filter(|r| r["outcome"] == "too_large")
            .count(),
        1
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r["operation"] == "search" && r["outcome"] == "invalid_request")
            .count(),
        3,
        "arguments that are not an object are audited under the tool's name"
    );
}

#[test]
fn malformed_messages_before_initialize_do_not_end_the_session() {
    let (_tmp, _ex, idx) = support::fixture();
    let mut mcp = Mcp::start(&idx, &["--no-audit"]);
    mcp.send(b"{not json");
    assert_eq!(mcp.reply()["error"]["code"], -32700);
    // A notification or a response before `initialize` used to end the session: dropped.
    mcp.send(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    mcp.send(br#"{"jsonrpc":"2.0","id":5,"result":{}}"#);
    mcp.send(&call_with(6, "search", "[]"));
    let reply = mcp.reply();
    assert_eq!(
        (reply["id"].clone(), reply["error"]["code"].clone()),
        (json!(6), json!(-32602))
    );
    mcp.initialize();
    mcp.assert_serving("messages before initialize");
    assert!(mcp.finish().success());
}

#[test]
fn a_last_line_without_its_line_feed_is_still_answered() {
    let (_tmp, _ex, idx) = support::fixture();
    let mut mcp = Mcp::start(&idx, &["--no-audit"]);
    mcp.initialize();
    mcp.send_raw(br#"{"jsonrpc":"2.0","id":"last","method":"ping"}"#);
    mcp.close();
    let reply = mcp.reply();
    assert_eq!(reply["id"], "last", "{reply}");
    assert!(reply.get("result").is_some(), "{reply}");
    assert!(mcp.finish().success());
}
