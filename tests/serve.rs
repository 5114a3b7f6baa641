//! `lore serve` end to end: the real binary on a fixture index, real HTTP requests (ureq, or a
//! raw socket where the test needs to hold a request open), real tokens files and audit logs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

mod common;
use common::{code, fixture, index, lore, write_tokens, Server, OMAR_TOKEN, PRIYA_TOKEN};

fn chunk_ids(hits: &Value) -> Vec<String> {
    hits.as_array()
        .unwrap()
        .iter()
        .map(|h| h["chunk_id"].as_str().unwrap().to_string())
        .collect()
}

/// Percent-encode a chunk id for a URL path.
fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn every_route_answers_with_cited_results_within_the_budget() {
    let (_tmp, _ex, idx) = fixture();
    let server = Server::start(&idx, &[]);

    let (status, health) = server.get("/healthz", None);
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok");
    // The fixture's board minutes name their readers, so access control is on and the
    // index's counts are not shown to a caller who gave no token.
    assert_eq!(health["access_control"], true);
    assert!(health.get("documents").is_none(), "{health}");
    assert!(health["generation"].as_str().unwrap().starts_with("gen-"));

    let (status, search) = server.post(
        "/v1/search",
        None,
        &json!({"query": "who reviews contracts over the outside counsel threshold?"}),
    );
    assert_eq!(status, 200, "{search}");
    let top = &search["hits"][0];
    assert!(
        top["text"].as_str().unwrap().contains("Hartwell & Lane"),
        "{search}"
    );
    assert!(top["path"]
        .as_str()
        .unwrap()
        .ends_with("0009-outside-counsel.md"));
    assert!(top["line_range"][0].as_u64().unwrap() >= 1);
    assert!(search["tokens_used"].as_u64().unwrap() <= 2000);

    // A small budget: fewer hits, the rest counted as left out, never over the budget.
    let (status, small) = server.post(
        "/v1/search",
        None,
        &json!({"query": "billing reconciliation", "budget": 120, "mode": "lexical"}),
    );
    assert_eq!(status, 200, "{small}");
    assert!(small["tokens_used"].as_u64().unwrap() <= 120, "{small}");
    let (_, large) = server.post(
        "/v1/search",
        None,
        &json!({"query": "billing reconciliation", "mode": "lexical"}),
    );
    let num_small = small["hits"].as_array().unwrap().len();
    let num_large = large["hits"].as_array().unwrap().len();
    assert!(num_small < num_large, "{small}\n{large}");
    assert_eq!(
        num_small + small["num_left_out"].as_u64().unwrap() as usize,
        num_large
    );

    let (status, context) = server.post(
        "/v1/context",
        None,
        &json!({"question": "who reviews large contracts?", "budget": 300}),
    );
    assert_eq!(status, 200, "{context}");
    assert!(context["tokens_used"].as_u64().unwrap() <= 300);
    assert!(context["rendered"].as_str().unwrap().contains("[1]"));
    assert!(!context["citations"].as_array().unwrap().is_empty());

    let (status, decisions) = server.post(
        "/v1/decisions",
        None,
        &json!({"query": "billing reconciliation schedule"}),
    );
    assert_eq!(status, 200, "{decisions}");
    let titles: Vec<&str> = decisions["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.iter().any(|t| t.contains("first business day")),
        "{decisions}"
    );

    let (status, who) = server.post("/v1/who", None, &json!({"topic": "billing reconciliation"}));
    assert_eq!(status, 200, "{who}");
    let names: Vec<&str> = who["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Dana Whitfield"), "{who}");
    assert!(who["people"][0]["evidence"][0]["chunk_id"].is_string());

    // get, by body and by path, gives the chunk a hit named.
    let id = top["chunk_id"].as_str().unwrap();
    let (status, got) = server.post("/v1/get", None, &json!({"chunk_id": id, "before": 1}));
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["chunk"]["chunk_id"], id);
    assert_eq!(got["chunk"]["text"], top["text"]);
    let (status, by_path) = server.get(&format!("/v1/chunks/{}?after=0", encode(id)), None);
    assert_eq!(status, 200, "{by_path}");
    assert_eq!(by_path["chunk"], got["chunk"]);
    assert!(by_path["after"].as_array().unwrap().is_empty());

    // The OpenAPI document lists every route, with the argument schemas.
    let (status, doc) = server.get("/openapi.json", None);
    assert_eq!(status, 200);
    for route in [
        "/v1/search",
        "/v1/context",
        "/v1/decisions",
        "/v1/who",
        "/v1/get",
        "/v1/chunks/{id}",
        "/healthz",
    ] {
        assert!(
            doc["paths"][route].is_object(),
            "{route} missing from {doc}"
        );
    }
    assert!(doc["components"]["schemas"]["SearchArgs"]["properties"]["budget"].is_object());
}

#[test]
fn errors_have_stable_codes_and_statuses() {
    let (_tmp, _ex, idx) = fixture();
    let server = Server::start(&idx, &["--body-limit", "1024"]);

    let (status, body) = server.post_raw("/v1/search", b"{\"query\": ");
    assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");

    let (status, body) = server.post("/v1/search", None, &json!({"qeury": "typo"}));
    assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("qeury"));

    let (status, body) = server.post("/v1/search", None, &json!({"query": "x", "budget": 0}));
    assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");
    // The kinds of entries are parsed as the CLI parses them.
    let (status, body) = server.post("/v1/decisions", None, &json!({"kind": "nope"}));
    assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unknown kind `nope`"));
    let (status, body) = server.post("/v1/decisions", None, &json!({"kind": "Actions"}));
    assert_eq!(status, 200, "{body}");

    // A budget below an empty list's brackets could hold no answer at all.
    let (status, body) = server.post("/v1/search", None, &json!({"query": "x", "budget": 1}));
    assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("empty list"));
    // A budget too small for the first hit says what would take it, and that is enough.
    let ask = |budget: u64| {
        server.post(
            "/v1/search",
            None,
            &json!({"query": "billing reconciliation", "budget": budget, "mode": "lexical"}),
        )
    };
    let (status, body) = ask(20);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hits"].as_array().unwrap().len(), 0, "{body}");
    let note = body["notes"][0].as_str().unwrap().to_string();
    let least: u64 = note
        .split("the first takes ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{note}"));
    let (status, body) = ask(least);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hits"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["tokens_used"], least, "{body}");

    let (status, body) = server.post(
        "/v1/search",
        None,
        &json!({"query": "x", "filters": ["since=yesterday"]}),
    );
    assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");

    let big = json!({"query": "x".repeat(2000)});
    let (status, body) = server.post("/v1/search", None, &big);
    assert_eq!((status, code(&body)), (413, "too_large"), "{body}");

    let (status, body) = server.post("/v1/get", None, &json!({"chunk_id": "nowhere.md#7"}));
    assert_eq!((status, code(&body)), (404, "not_found"), "{body}");
    let (status, body) = server.get("/v1/chunks/nowhere.md%237", None);
    assert_eq!((status, code(&body)), (404, "not_found"), "{body}");

    let (status, body) = server.get("/v2/search", None);
    assert_eq!((status, code(&body)), (404, "not_found"), "{body}");

    let (status, body) = server.get("/v1/search", None);
    assert_eq!(status, 405, "{body}");
    assert_eq!(code(&body), "invalid_request");
}

#[test]
fn a_tokens_file_makes_a_bearer_token_required() {
    let (tmp, _ex, idx) = fixture();
    let tokens = write_tokens(tmp.path());
    let server = Server::start(&idx, &["--tokens", tokens.to_str().unwrap()]);
    let ask = json!({"query": "billing reconciliation"});

    let (status, missing) = server.post("/v1/search", None, &ask);
    assert_eq!((status, code(&missing)), (401, "unauthorized"), "{missing}");
    let (status, wrong) = server.post("/v1/search", Some("priya-token-0123456789abcdeX"), &ask);
    assert_eq!(status, 401);
    // No hint whether a token exists: a missing and a wrong token read the same.
    assert_eq!(missing, wrong);
    let (status, body) = server.get("/v1/chunks/x%230", Some("nope"));
    assert_eq!((status, code(&body)), (401, "unauthorized"));

    let (status, ok) = server.post("/v1/search", Some(PRIYA_TOKEN), &ask);
    assert_eq!(status, 200, "{ok}");
    assert!(!ok["hits"].as_array().unwrap().is_empty());

    // Health and the API description need no token.
    assert_eq!(server.get("/healthz", None).0, 200);
    assert_eq!(server.get("/openapi.json", None).0, 200);
}

#[test]
fn a_non_loopback_address_needs_a_tokens_file() {
    let (_tmp, _ex, idx) = fixture();
    let out = lore(&[
        "serve",
        "--index",
        idx.to_str().unwrap(),
        "--addr",
        "0.0.0.0:0",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("non-loopback") && err.contains("--tokens"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "it must not have listened");
}

#[test]
fn two_principals_see_different_results() {
    let (tmp, _ex, idx) = fixture();
    let tokens = write_tokens(tmp.path());
    let server = Server::start(&idx, &["--tokens", tokens.to_str().unwrap()]);
    let ask = json!({"query": "zanzibar acquisition", "mode": "lexical"});

    let (_, priya) = server.post("/v1/search", Some(PRIYA_TOKEN), &ask);
    let priya_ids = chunk_ids(&priya["hits"]);
    let board = priya_ids
        .iter()
        .find(|id| id.contains("board-minutes"))
        .unwrap_or_else(|| panic!("priya must see the board minutes: {priya}"))
        .clone();
    let (_, omar) = server.post("/v1/search", Some(OMAR_TOKEN), &ask);
    assert!(
        !chunk_ids(&omar["hits"])
            .iter()
            .any(|id| id.contains("board-minutes")),
        "{omar}"
    );
    // Not even by id: a chunk omar may not read is not found, like one that does not exist.
    let (status, body) = server.post("/v1/get", Some(OMAR_TOKEN), &json!({"chunk_id": board}));
    assert_eq!((status, code(&body)), (404, "not_found"), "{body}");
    assert_eq!(
        server
            .post("/v1/get", Some(PRIYA_TOKEN), &json!({"chunk_id": board}))
            .0,
        200
    );
    drop(server);

    // `--as` without tokens: every caller is that user.
    let server = Server::start(&idx, &["--as", "omar"]);
    let (_, omar) = server.post("/v1/search", None, &ask);
    assert!(
        !chunk_ids(&omar["hits"])
            .iter()
            .any(|id| id.contains("board-minutes")),
        "{omar}"
    );
}

#[test]
fn every_request_is_audited_and_lore_audit_filters_the_log() {
    let (tmp, _ex, idx) = fixture();
    let tokens = write_tokens(tmp.path());
    let log = tmp.path().join("audit").join("requests.jsonl");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let server = Server::start(
        &idx,
        &[
            "--tokens",
            tokens.to_str().unwrap(),
            "--audit",
            log.to_str().unwrap(),
        ],
    );
    let ask = json!({"query": "outside counsel threshold"});
    let (_, hits) = server.post("/v1/search", Some(PRIYA_TOKEN), &ask);
    let id = hits["hits"][0]["chunk_id"].as_str().unwrap().to_string();
    server.post("/v1/search", Some(OMAR_TOKEN), &ask);
    server.post("/v1/get", Some(OMAR_TOKEN), &json!({"chunk_id": id}));
    server.post("/v1/who", Some(PRIYA_TOKEN), &json!({"topic": "billing"}));
    server.post("/v1/search", Some("not-a-token-at-all"), &ask);
    let (_, bad) = server.post_raw("/v1/search", b"not json");
    assert_eq!(
        code(&bad),
        "unauthorized",
        "no token: refused before the body"
    );
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 6, "{text}");
    let first = &records[0];
    assert_eq!(first["principal"], "priya");
    assert_eq!(first["transport"], "http");
    assert_eq!(first["operation"], "search");
    assert_eq!(first["query"], "outside counsel threshold");
    assert_eq!(first["outcome"], "ok");
    assert_eq!(first["spans"][0], id.as_str());
    // The operation took time, and the line says how much (a search reads the index).
    let took = first["duration_ms"].as_f64().unwrap();
    assert!(took > 0.0 && took.is_finite(), "{first}");
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(records[4]["outcome"], "unauthorized");
    assert_eq!(records[4]["principal"], Value::Null);

    // A torn line is reported by number, not fatal.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"{\"time\": \"2026\n")
        .unwrap();

    let audit = |args: &[&str]| {
        let mut all = vec!["audit", "--log", log.to_str().unwrap(), "--json"];
        all.extend_from_slice(args);
        let out = lore(&all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (lines, String::from_utf8(out.stderr).unwrap())
    };
    let (priya, stderr) = audit(&["--principal", "priya"]);
    assert_eq!(priya.len(), 2);
    assert!(stderr.contains("requests.jsonl:7"), "{stderr}");
    let (omar_gets, _) = audit(&["--principal", "omar", "--op", "get"]);
    assert_eq!(omar_gets.len(), 1);
    assert!(
        omar_gets[0]["spans"]
            .as_array()
            .unwrap()
            .contains(&json!(id)),
        "{omar_gets:?}"
    );
    let (refused, _) = audit(&["--principal", "-"]);
    assert_eq!(refused.len(), 2, "the two requests without a valid token");
    let (future, _) = audit(&["--since", "2999-01-01"]);
    assert!(future.is_empty());
    let (all, _) = audit(&["--since", "2000-01-01T00:00:00Z"]);
    assert_eq!(all.len(), 6);

    // The table form, read through --index for an index's default log.
    let out = lore(&["audit", "--index", idx.to_str().unwrap()]);
    assert!(!out.status.success(), "this index has no default log");
}

/// Read one HTTP/1.1 response's head from `stream`.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).unwrap() {
            0 => break,
            _ => head.push(byte[0]),
        }
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let (_tmp, _ex, idx) = fixture();
    let server = Server::start(&idx, &[]);
    let body = br#"{"query": "billing reconciliation"}"#;

    // A request whose handler is running: it asked for the body (100 Continue), which has
    // not come yet.
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    write!(
        stream,
        "POST /v1/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 100"), "{head}");

    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    // Wait until the server stops accepting: it has begun shutting down.
    let mut refused = false;
    for _ in 0..500 {
        if TcpStream::connect(server.addr()).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(refused, "the server kept accepting after SIGTERM");

    // The request in flight still gets its whole answer.
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let json_start = response.find("\r\n\r\n").unwrap() + 4;
    let answer: Value = serde_json::from_str(&response[json_start..]).unwrap_or_else(|e| {
        panic!("the answer was cut ({e}): {response}");
    });
    assert!(!answer["hits"].as_array().unwrap().is_empty());

    let mut server = server;
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_new_generation_is_served_without_restart_and_without_failed_requests() {
    let (_tmp, ex, idx) = fixture();
    let server = Arc::new(Server::start(&idx, &["--reload-ms", "50"]));
    let first = server.get("/healthz", None).1["generation"].clone();

    // Clients asking all along, hybrid and lexical.
    let stop = Arc::new(AtomicBool::new(false));
    let num_ok = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..2)
        .map(|c| {
            let (server, stop, num_ok) = (server.clone(), stop.clone(), num_ok.clone());
            std::thread::spawn(move || {
                let mode = if c == 0 { "hybrid" } else { "lexical" };
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let (status, body) = server.post(
                        "/v1/search",
                        None,
                        &json!({"query": "billing reconciliation runbook", "mode": mode}),
                    );
                    if status == 200 && !body["hits"].as_array().unwrap().is_empty() {
                        num_ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failures.push(format!("{status} {body}"));
                    }
                }
                failures
            })
        })
        .collect();

    for n in 0..3 {
        let word = format!("quokkavelvet{n}");
        std::fs::write(
            ex.join(format!("note-{n}.md")),
            format!(
                "---\nreaders: [\"*\"]\n---\n# Note {n}\n\nThe {word} project starts next week.\n"
            ),
        )
        .unwrap();
        index(&ex, &idx);
        // The new word becomes searchable without a restart.
        let mut found = false;
        for _ in 0..600 {
            let (status, body) = server.post(
                "/v1/search",
                None,
                &json!({"query": word, "mode": "lexical"}),
            );
            assert_eq!(status, 200, "{body}");
            if body["hits"][0]["text"]
                .as_str()
                .is_some_and(|t| t.contains(&word))
            {
                found = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(found, "{word} never became searchable");
    }

    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let failures = c.join().unwrap();
        assert!(
            failures.is_empty(),
            "requests failed during reloads: {failures:?}"
        );
    }
    assert!(num_ok.load(Ordering::Relaxed) > 0);
    let health = server.get("/healthz", None).1;
    assert_ne!(health["generation"], first);
    assert!(health["reloads"].as_u64().unwrap() >= 1, "{health}");
}

/// Every string of `value`, keys and values, depth first.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

#[test]
fn no_answer_names_a_path_of_the_server() {
    let (tmp, ex, idx) = fixture();
    assert!(ex.is_absolute());
    let tokens = write_tokens(tmp.path());
    let server = Server::start(&idx, &["--tokens", tokens.to_str().unwrap()]);
    let canonical = tmp.path().canonicalize().unwrap();
    let server_paths = [
        tmp.path().to_string_lossy().into_owned(),
        canonical.to_string_lossy().into_owned(),
    ];
    let mut answers: Vec<(String, Value)> = Vec::new();
    for token in [PRIYA_TOKEN, OMAR_TOKEN] {
        let mut ask = |route: &str, body: Value| {
            let (status, answer) = server.post(route, Some(token), &body);
            answers.push((format!("{route} {body} → {status}"), answer.clone()));
            answer
        };
        let search = ask(
            "/v1/search",
            json!({"query": "who reviews contracts over the outside counsel threshold?"}),
        );
        // Paths are relative to the export root, led by its folder's name.
        assert_eq!(
            search["hits"][0]["path"], "exports/0009-outside-counsel.md",
            "{search}"
        );
        let context = ask(
            "/v1/context",
            json!({"question": "who reviews large contracts?", "budget": 400}),
        );
        let rendered = context["rendered"].as_str().unwrap();
        assert!(
            rendered.contains("exports/0009-outside-counsel.md"),
            "{rendered}"
        );
        assert_eq!(
            context["citations"][0]["path"], "exports/0009-outside-counsel.md",
            "{context}"
        );
        ask("/v1/decisions", json!({}));
        ask(
            "/v1/decisions",
            json!({"query": "billing reconciliation", "status": "all"}),
        );
        ask("/v1/who", json!({"topic": "billing reconciliation"}));
        let id = search["hits"][0]["chunk_id"].as_str().unwrap().to_string();
        ask("/v1/get", json!({"chunk_id": id, "before": 2, "after": 2}));
        // Refusals name no server path either.
        ask("/v1/search", json!({"query": "x", "filters": ["nope=1"]}));
        ask(
            "/v1/search",
            json!({"query": "x", "filters": ["since=someday"]}),
        );
        ask("/v1/get", json!({"chunk_id": "nowhere.md#7"}));
        let (status, by_path) = server.get(&format!("/v1/chunks/{}", encode(&id)), Some(token));
        answers.push((format!("/v1/chunks/{id} → {status}"), by_path));
    }
    let (status, health) = server.get("/healthz", None);
    answers.push((format!("/healthz → {status}"), health));
    // A path filter is relative to the export root: an absolute one would probe the server's
    // file system (which documents lie under /home, /srv, …).
    let probe = format!("path={}", ex.display());
    let (status, refused) = server.post(
        "/v1/search",
        Some(OMAR_TOKEN),
        &json!({"query": "contracts", "filters": [probe]}),
    );
    assert_eq!(
        (status, code(&refused)),
        (400, "invalid_request"),
        "{refused}"
    );
    let (status, relative) = server.post(
        "/v1/search",
        Some(OMAR_TOKEN),
        &json!({"query": "contracts", "filters": ["path=exports"], "mode": "lexical"}),
    );
    assert_eq!(status, 200, "{relative}");
    assert!(
        !relative["hits"].as_array().unwrap().is_empty(),
        "{relative}"
    );

    // An index without embeddings refuses a dense search without naming where it lies.
    let lexical = tmp.path().join("lexical-index");
    let out = lore(&[
        "index",
        ex.to_str().unwrap(),
        "--index",
        lexical.to_str().unwrap(),
        "--no-embed",
        "-q",
    ]);
    assert!(out.status.success(), "{out:?}");
    let plain = Server::start(&lexical, &[]);
    let (status, dense) = plain.post("/v1/search", None, &json!({"query": "x", "mode": "dense"}));
    assert_eq!((status, code(&dense)), (400, "invalid_request"), "{dense}");
    answers.push(("dense search of a lexical index".into(), dense));
    // A server whose model folder is gone answers lexically, or is unavailable, and says so
    // without naming the folder.
    let gone = tmp.path().join("no-model");
    let modelless = Server::start(&idx, &["--model-dir", gone.to_str().unwrap()]);
    let (status, search) = modelless.post("/v1/search", None, &json!({"query": "contracts"}));
    assert_eq!(status, 200, "{search}");
    assert_eq!(search["mode_used"], "lexical", "{search}");
    answers.push(("search without a model".into(), search));
    let (status, context) = modelless.post("/v1/context", None, &json!({"question": "contracts"}));
    assert_eq!((status, code(&context)), (503, "unavailable"), "{context}");
    answers.push(("context without a model".into(), context));

    let mut checked = 0;
    for (what, answer) in &answers {
        let mut all = Vec::new();
        strings(answer, &mut all);
        for s in all {
            for p in &server_paths {
                assert!(!s.contains(p.as_str()), "{what} names {p}: {s}");
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} strings");
}

#[test]
fn requests_are_strict_and_refusals_name_what_is_wrong() {
    let (tmp, _ex, idx) = fixture();
    let tokens = write_tokens(tmp.path());
    let server = Server::start(&idx, &["--tokens", tokens.to_str().unwrap()]);
    let refused = |token: &str, route: &str, body: Value, needles: &[&str]| {
        let (status, answer) = server.post(route, Some(token), &body);
        assert_eq!(
            (status, code(&answer)),
            (400, "invalid_request"),
            "{route} {body}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        for n in needles {
            assert!(
                message.contains(n),
                "{route} {body}: `{n}` not in {message}"
            );
        }
        message.to_string()
    };
    // A filter key that is neither built in nor a metadata field of the documents.
    let message = refused(
        OMAR_TOKEN,
        "/v1/search",
        json!({"query": "contracts", "filters": ["nope=1"]}),
        &["`nope`", "kind", "since"],
    );
    // A field only documents omar may not read carry is unknown to him, and not listed.
    assert!(!message.contains("codename"), "{message}");
    let message = refused(
        OMAR_TOKEN,
        "/v1/search",
        json!({"query": "acquisition", "filters": ["codename=zanzibar"]}),
        &["`codename`"],
    );
    assert!(!message.contains("codename,"), "{message}");
    let (status, answer) = server.post(
        "/v1/search",
        Some(PRIYA_TOKEN),
        &json!({"query": "acquisition", "filters": ["codename=zanzibar"], "mode": "lexical"}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["hits"][0]["title"], "Board minutes", "{answer}");
    for route in ["/v1/context", "/v1/who"] {
        let key = if route == "/v1/who" {
            "topic"
        } else {
            "question"
        };
        refused(
            OMAR_TOKEN,
            route,
            json!({key: "contracts", "filters": ["Nope=1"]}),
            &["`Nope`"],
        );
    }
    // Counts: at least 1, at most a documented ceiling.
    for (route, body, field) in [
        ("/v1/decisions", json!({"limit": 0}), "limit"),
        ("/v1/decisions", json!({"limit": 101}), "limit"),
        ("/v1/who", json!({"topic": "billing", "limit": 0}), "limit"),
        (
            "/v1/who",
            json!({"topic": "billing", "limit": 1000000}),
            "limit",
        ),
        (
            "/v1/search",
            json!({"query": "billing", "max_hits": 0}),
            "max_hits",
        ),
        (
            "/v1/get",
            json!({"chunk_id": "x#0", "before": 21}),
            "before",
        ),
        (
            "/v1/get",
            json!({"chunk_id": "x#0", "after": 1000000}),
            "after",
        ),
    ] {
        refused(OMAR_TOKEN, route, body, &[field, "between"]);
    }
    let (status, answer) = server.post("/v1/decisions", Some(OMAR_TOKEN), &json!({"limit": 100}));
    assert_eq!(status, 200, "{answer}");
    // Empty and blank texts.
    for (route, body, field) in [
        ("/v1/search", json!({"query": ""}), "query"),
        ("/v1/search", json!({"query": " \t\n "}), "query"),
        ("/v1/context", json!({"question": "  "}), "question"),
        ("/v1/who", json!({"topic": ""}), "topic"),
        ("/v1/decisions", json!({"query": "   "}), "query"),
        ("/v1/get", json!({"chunk_id": " "}), "chunk_id"),
    ] {
        refused(OMAR_TOKEN, route, body, &[field, "empty"]);
    }
    // Unknown fields, on every route.
    for (route, body, field) in [
        ("/v1/search", json!({"query": "x", "limit": 3}), "`limit`"),
        (
            "/v1/context",
            json!({"question": "x", "max_hits": 3}),
            "`max_hits`",
        ),
        ("/v1/decisions", json!({"querry": "x"}), "`querry`"),
        ("/v1/who", json!({"topic": "x", "mode": "dense"}), "`mode`"),
        (
            "/v1/get",
            json!({"chunk_id": "x#0", "around": 3}),
            "`around`",
        ),
    ] {
        refused(OMAR_TOKEN, route, body, &[field]);
    }
}
