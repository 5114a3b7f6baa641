//! The attack suite: `lore serve` against slow, flooding, rebinding and malformed clients.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{self, Server};

/// A ceiling only a hang crosses.
const HANG: Duration = Duration::from_secs(60);

/// Send `request` whole on a new connection and read the answer until the server closes it
/// (every request here asks `Connection: close`): `(status, JSON body)`.
fn exchange(server: &Server, request: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(HANG)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    parse(&response)
}

fn parse(response: &str) -> (u16, Value) {
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {response:?}"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let body = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("the body is not the JSON error shape ({e}): {response:?}"));
    (status, body)
}

fn post(path: &str, headers: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nContent-Type: application/json\r\nConnection: close\r\n{headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Read until the server closes the connection; `true` when it did within [`HANG`].
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(HANG)).unwrap();
    let mut sink = Vec::new();
    match stream.read_to_end(&mut sink) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Resident and peak resident size of a process, in kB.
fn memory_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn audit_lines(idx: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(idx.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Slowloris: connections that send part of a header, or a header and part of a body, and
/// then nothing. Each is closed by the server (the body one with a 408 in the JSON shape),
/// and a legitimate request is answered meanwhile.
#[test]
fn slow_headers_and_slow_bodies_are_cut_off() {
    let (_tmp, _ex, idx) = support::fixture();
    let server = Server::start(
        &idx,
        &["--header-timeout-ms", "1000", "--body-timeout-ms", "1000"],
    );
    let mut headers: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr()).unwrap();
            s.write_all(b"POST /v1/search HTTP/1.1\r\nHost: localh")
                .unwrap();
            s
        })
        .collect();
    // A header that claims a longer body than comes.
    let mut bodies: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr()).unwrap();
            s.write_all(
                b"POST /v1/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                  Content-Length: 400\r\n\r\n{\"query\": \"bill",
            )
            .unwrap();
            s
        })
        .collect();
    let (status, _) = exchange(
        &server,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200, "a legitimate client is served meanwhile");
    for s in &mut headers {
        assert!(
            closed_by_server(s),
            "a half-sent header kept its connection"
        );
    }
    let mut timeouts = 0;
    for s in &mut bodies {
        s.set_read_timeout(Some(HANG)).unwrap();
        let mut response = String::new();
        let _ = s.read_to_string(&mut response);
        let (status, body) = parse(&response);
        assert_eq!((status, code(&body)), (408, "timeout"), "{response}");
        timeouts += 1;
    }
    assert_eq!(timeouts, 20);
    let lines = audit_lines(&idx);
    let timeouts = |operation: &str| {
        lines
            .iter()
            .filter(|l| l["outcome"] == "timeout" && l["operation"] == operation)
            .count()
    };
    assert_eq!(timeouts("search"), 20, "slow bodies audited as their route");
    assert_eq!(timeouts("http"), 40, "half-sent headers audited");
}

/// A flood of connections: past --max-connections each is answered 503 in the JSON shape and
/// closed, the server's open files stay bounded, every refusal is audited, and once the
/// flood lets go the server answers again.
#[test]
fn a_connection_flood_is_bounded_and_answered_503() {
    let (_tmp, _ex, idx) = support::fixture();
    let server = Server::start(
        &idx,
        &["--max-connections", "16", "--header-timeout-ms", "600000"],
    );
    let before = open_files(server.pid());
    let mut flood: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let during = open_files(server.pid());
    let mut held = 0;
    let mut refused = 0;
    for s in &mut flood {
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut response = Vec::new();
        match s.read_to_end(&mut response) {
            Ok(_) => {
                let (status, body) = parse(&String::from_utf8_lossy(&response));
                assert_eq!((status, code(&body)), (503, "unavailable"));
                refused += 1;
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                assert!(response.is_empty(), "a held connection was answered");
                held += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    eprintln!(
        "flood: {held} connections held, {refused} refused with 503; open files {before} before, {during} during"
    );
    assert_eq!(held, 16, "{held} connections held");
    assert_eq!(refused, 300 - 16);
    // Held connections, and refused ones being closed gently (64 at most).
    assert!(
        during <= before + 16 + 64 + 8,
        "open files {before} -> {during}"
    );
    drop(flood);
    std::thread::sleep(Duration::from_millis(300));
    let (status, _) = exchange(
        &server,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    let audited = audit_lines(&idx)
        .iter()
        .filter(|l| l["operation"] == "connect" && l["outcome"] == "unavailable")
        .count();
    assert_eq!(audited, refused, "every refused connection is audited");
}

/// SIGTERM while idle, half-sent and in-flight connections are open: the process exits
/// promptly (idle and half-sent connections are dropped, not waited for), with status 0.
#[test]
fn sigterm_with_half_open_connections_exits_promptly() {
    let (_tmp, _ex, idx) = support::fixture();
    // Deadlines far beyond the ceiling: only closing half-open connections at once exits in
    // time.
    let long = "600000";
    let mut server = Server::start(
        &idx,
        &[
            "--header-timeout-ms",
            long,
            "--body-timeout-ms",
            long,
            "--shutdown-grace-ms",
            long,
        ],
    );
    let mut open: Vec<TcpStream> = Vec::new();
    for i in 0..30 {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        match i % 3 {
            0 => {} // idle
            1 => s
                .write_all(b"POST /v1/search HTTP/1.1\r\nHost: loc")
                .unwrap(),
            _ => s
                .write_all(
                    b"POST /v1/search HTTP/1.1\r\nHost: localhost\r\nContent-Length: 90\r\n\
                      Content-Type: application/json\r\n\r\n{\"qu",
                )
                .unwrap(),
        }
        open.push(s);
    }
    // One keep-alive connection that has been answered once.
    let mut kept = TcpStream::connect(server.addr()).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    assert!(kept.read(&mut buf).unwrap() > 0);
    std::thread::sleep(Duration::from_millis(300));

    let started = Instant::now();
    let pid = server.pid().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < HANG,
            "still running {HANG:?} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!("exited {:?} after SIGTERM", started.elapsed());
    assert!(status.success(), "{status}");
    drop(open);
}

/// DNS rebinding: a request whose Host or Origin is a foreign site is refused (403, JSON,
/// audited) on every route, while the listening address, localhost and --allow-host names
/// are answered.
#[test]
fn foreign_hosts_and_origins_are_refused() {
    let (_tmp, _ex, idx) = support::fixture();
    let server = Server::start(&idx, &["--allow-host", "lore.internal.example"]);
    let port = server.addr().rsplit_once(':').unwrap().1.to_string();
    let body = r#"{"query": "zanzibar acquisition"}"#;
    let refused = [
        format!("Host: attacker.example.com:{port}\r\n"),
        format!("Host: attacker.example.com:{port}\r\nOrigin: http://attacker.example.com\r\n"),
        format!("Host: 127.0.0.1:{port}\r\nOrigin: http://attacker.example.com:{port}\r\n"),
        format!("Host: localhost:{port}\r\nOrigin: null\r\n"),
        format!("Host: localhost:{port}\r\nOrigin: file://\r\n"),
        format!("Host: 127.0.0.2:{port}\r\n"),
        "Host: localhost.attacker.example\r\n".to_string(),
    ];
    for headers in &refused {
        for path in ["/v1/search", "/v1/context"] {
            let (status, answer) = exchange(&server, &post(path, headers, body));
            assert_eq!((status, code(&answer)), (403, "forbidden"), "{headers}");
            assert!(answer.get("hits").is_none());
        }
        let get = format!("GET /healthz HTTP/1.1\r\n{headers}Connection: close\r\n\r\n");
        assert_eq!(exchange(&server, &get).0, 403, "{headers}");
    }
    let allowed = [
        format!("Host: 127.0.0.1:{port}\r\n"),
        format!("Host: localhost:{port}\r\n"),
        "Host: LOCALHOST.\r\n".to_string(),
        format!("Host: localhost:{port}\r\nOrigin: http://localhost:{port}\r\n"),
        format!("Host: 127.0.0.1:{port}\r\nOrigin: https://127.0.0.1\r\n"),
        "Host: lore.internal.example\r\nOrigin: https://lore.internal.example\r\n".to_string(),
    ];
    for headers in &allowed {
        let (status, answer) = exchange(&server, &post("/v1/search", headers, body));
        assert_eq!(status, 200, "{headers}: {answer}");
    }
    let forbidden = audit_lines(&idx)
        .iter()
        .filter(|l| l["outcome"] == "forbidden")
        .count();
    assert_eq!(forbidden, refused.len() * 3, "every refusal is audited");
}

/// Malformed and oversized requests: every refusal is the JSON error shape with its stable
/// code, and every one is audited.
#[test]
fn every_refusal_is_json_and_audited() {
    let (_tmp, _ex, idx) = support::fixture();
    let server = Server::start(&idx, &["--body-limit", "8192"]);
    let h = "Host: localhost\r\n";
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\n{h}Connection: close\r\n\r\n");
    let cases: Vec<(String, u16, &str)> = vec![
        (get("/nope"), 404, "not_found"),
        (get("/v1/nope"), 404, "not_found"),
        (get("/v1/search"), 405, "invalid_request"),
        (
            format!("DELETE /v1/search HTTP/1.1\r\n{h}Connection: close\r\n\r\n"),
            405,
            "invalid_request",
        ),
        (get("/v1/chunks/x?befor=1"), 400, "invalid_request"),
        (get("/v1/chunks/x?before=-1"), 400, "invalid_request"),
        (
            get("/v1/chunks/x?before=1&before=2"),
            400,
            "invalid_request",
        ),
        (get("/v1/chunks/%FF%FE"), 400, "invalid_request"),
        (
            post("/v1/search", h, "{\"query\": "),
            400,
            "invalid_request",
        ),
        (post("/v1/search", h, "[1, 2]"), 400, "invalid_request"),
        (
            post("/v1/search", h, "{\"query\": \"x\", \"budgte\": 5}"),
            400,
            "invalid_request",
        ),
        (
            post("/v1/search", h, "{\"query\": \"\\ud800\"}"),
            400,
            "invalid_request",
        ),
        (
            post(
                "/v1/search",
                h,
                &format!("{{\"query\": \"{}\"}}", "a".repeat(9000)),
            ),
            413,
            "too_large",
        ),
        (
            format!(
                "POST /v1/search HTTP/1.1\r\n{h}Content-Type: text/plain\r\nConnection: close\r\n\
                 Content-Length: 2\r\n\r\n{{}}"
            ),
            400,
            "invalid_request",
        ),
    ];
    for (request, status, expected) in &cases {
        let (got, body) = exchange(&server, request);
        assert_eq!((got, code(&body)), (*status, *expected), "{request}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    // A query over the longest a request may carry, within the body limit.
    let long = format!("{{\"query\": \"{}\"}}", "word ".repeat(900));
    let (got, body) = exchange(&server, &post("/v1/search", h, &long));
    assert_eq!((got, code(&body)), (400, "invalid_request"));
    assert!(body["error"]["message"].as_str().unwrap().contains("4096"));
    let lines = audit_lines(&idx);
    let refused = lines.iter().filter(|l| l["outcome"] != "ok").count();
    assert_eq!(refused, cases.len() + 1, "{lines:#?}");
}

/// A request over --timeout-ms is answered 504 and its operation stops at its next stage:
/// its audit line says `timeout`, and the server keeps serving.
#[test]
fn a_timed_out_operation_is_answered_504_and_stops() {
    let (_tmp, _ex, idx) = support::fixture();
    let server = Server::start(&idx, &["--timeout-ms", "1"]);
    let h = "Host: localhost\r\n";
    let (status, body) = exchange(
        &server,
        &post(
            "/v1/context",
            h,
            r#"{"question": "billing reconciliation"}"#,
        ),
    );
    assert_eq!((status, code(&body)), (504, "timeout"), "{body}");
    std::thread::sleep(Duration::from_millis(500));
    let lines = audit_lines(&idx);
    assert!(
        lines
            .iter()
            .any(|l| l["operation"] == "context" && l["outcome"] == "timeout"),
        "{lines:#?}"
    );
}

/// 200 clients at once, each with the largest body the server accepts (a 60 KB query), then
/// 200 with the longest query it answers: the server answers every one (refused by name, or
/// served), and its resident memory stays bounded and comes back down.
#[test]
fn memory_stays_bounded_under_200_concurrent_large_queries() {
    let (_tmp, _ex, idx) = support::fixture();
    let server = Server::start(&idx, &[]);
    let h = "Host: localhost\r\n";
    let (status, _) = exchange(&server, &post("/v1/search", h, r#"{"query": "warm up"}"#));
    assert_eq!(status, 200);
    let (rss_before, _) = memory_kb(server.pid());
    let huge = format!("{{\"query\": \"{}\"}}", "reconciliation ".repeat(4000));
    let words: Vec<&str> = [
        "billing",
        "reconciliation",
        "counsel",
        "threshold",
        "vendor",
        "renewal",
        "onboarding",
        "laptop",
    ]
    .to_vec();
    let long: String = (0..1000)
        .map(|i| words[i % words.len()])
        .collect::<Vec<_>>()
        .join(" ");
    let long = format!("{{\"query\": \"{}\", \"max_hits\": 100}}", &long[..4000]);
    let mut peak = 0;
    for (round, body, expected) in [(0, &huge, 400u16), (1, &long, 200)] {
        let threads: Vec<_> = (0..200)
            .map(|_| {
                let request = post("/v1/search", h, body);
                let addr = server.addr();
                std::thread::spawn(move || {
                    let mut stream = TcpStream::connect(addr).unwrap();
                    stream.set_read_timeout(Some(HANG)).unwrap();
                    stream.write_all(request.as_bytes()).unwrap();
                    let mut response = String::new();
                    stream.read_to_string(&mut response).unwrap();
                    parse(&response).0
                })
            })
            .collect();
        while !threads.iter().all(|t| t.is_finished()) {
            peak = peak.max(memory_kb(server.pid()).0);
            std::thread::sleep(Duration::from_millis(5));
        }
        let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(
            statuses.iter().all(|s| *s == expected),
            "round {round}: {statuses:?}"
        );
    }
    let (rss_after, hwm) = memory_kb(server.pid());
    eprintln!(
        "rss before {rss_before} kB, peak sampled {peak} kB, peak (VmHWM) {hwm} kB, after {rss_after} kB"
    );
    assert!(
        hwm < rss_before + 400 * 1024,
        "peak {hwm} kB against {rss_before} kB before"
    );
}

/// What never becomes a request a route sees is still answered in the JSON error shape and
/// audited, as `http`: a broken request line (400) and a header over 64 KiB (431). A keep-alive connection that waits
/// idle past the header deadline after its answer is not a request, and writes no line.
#[test]
fn malformed_http_is_audited_and_idle_keep_alive_is_not() {
    let (_tmp, _ex, idx) = support::fixture();
    let server = Server::start(&idx, &["--header-timeout-ms", "500"]);
    // Each is answered in the JSON error shape, with its code, and the connection closed.
    let answer_to = |request: &[u8]| {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream.set_read_timeout(Some(HANG)).unwrap();
        stream.write_all(request).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split_whitespace().nth(1).unwrap_or("").to_string();
        let head = head.to_ascii_lowercase();
        assert!(head.contains("content-type: application/json"), "{text}");
        assert!(head.contains("connection: close"), "{text}");
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
        let code = body["error"]["code"].as_str().unwrap_or("").to_string();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .starts_with(&code),
            "{body}"
        );
        (status, code)
    };
    assert_eq!(
        answer_to(b"GARBAGE\x00\x01 / HTTP/9\r\n\r\n"),
        ("400".into(), "invalid_request".into())
    );
    let mut huge = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Pad: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 70_000));
    huge.extend(b"\r\n\r\n");
    assert_eq!(answer_to(&huge), ("431".into(), "too_large".into()));
    // Answered, then idle past the deadline: closed by the server, not audited.
    let mut kept = TcpStream::connect(server.addr()).unwrap();
    kept.write_all(
        post(
            "/v1/search",
            "Host: localhost\r\n",
            r#"{"query": "billing reconciliation"}"#,
        )
        .replace("Connection: close\r\n", "")
        .as_bytes(),
    )
    .unwrap();
    assert!(closed_by_server(&mut kept));
    std::thread::sleep(Duration::from_millis(300));
    let lines = audit_lines(&idx);
    let http: Vec<&str> = lines
        .iter()
        .filter(|l| l["operation"] == "http")
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(http, ["invalid_request", "too_large"], "{lines:#?}");
    assert_eq!(
        lines.iter().filter(|l| l["operation"] == "search").count(),
        1,
        "{lines:#?}"
    );
}
