//! Sources that change after indexing: an edited decision record, a deleted file, a moved
//! file, text shifted inside a file. Every answer that cites them — `search`, `context`,
//! `decisions`, `who`, on the CLI and through `lore serve` — says so (`stale` in JSON, ⚠ in
//! text), `context` leaves changed and vanished passages out with a note naming them, and a
//! file only touched (same bytes) is not flagged.

use std::path::Path;

use serde_json::{json, Value};

use super::common::{fixture, index, lore, Server};

/// The fixture ADR: "$75K", "Status: Accepted".
const ADR: &str = "0009-outside-counsel.md";
const ONBOARDING: &str = "wiki-onboarding.md";

/// Run `lore ARGS --index INDEX` and parse its standard output as JSON.
fn json_of(idx: &Path, args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--index", idx.to_str().unwrap()]);
    let out = lore(&all);
    assert!(
        out.status.success(),
        "lore {all:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "lore {all:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Run `lore ARGS --index INDEX` and return its standard output.
fn text_of(idx: &Path, args: &[&str]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--index", idx.to_str().unwrap()]);
    let out = lore(&all);
    assert!(out.status.success(), "lore {all:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The `stale.reason` of an item (`None` when it has no `stale`).
fn reason(item: &Value) -> Option<&str> {
    item.get("stale").map(|s| s["reason"].as_str().unwrap())
}

fn search(idx: &Path, query: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["search", query, "--mode", "lexical", "-k", "10", "--json"];
    args.extend(extra);
    json_of(idx, &args)["hits"].as_array().unwrap().clone()
}

fn hit_path(hit: &Value) -> &str {
    hit["provenance"]["path"].as_str().unwrap()
}

/// Every evidence item of a `who --json` answer.
fn evidence(answer: &Value) -> Vec<Value> {
    answer["people"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["evidence"].as_array().unwrap().clone())
        .collect()
}

/// The evidence `who` gives from the fixture ADR, on "outside counsel threshold" (some).
fn adr_evidence(idx: &Path) -> Vec<Value> {
    let answer = json_of(
        idx,
        &[
            "who",
            "outside counsel threshold",
            "--mode",
            "lexical",
            "--json",
        ],
    );
    let from_adr: Vec<Value> = evidence(&answer)
        .into_iter()
        .filter(|e| e["path"].as_str().unwrap().ends_with(ADR))
        .collect();
    assert!(!from_adr.is_empty(), "{answer:#}");
    from_adr
}

/// Every span of a `context --format json` pack.
fn spans(pack: &Value) -> Vec<Value> {
    pack["passages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["spans"].as_array().unwrap().clone())
        .collect()
}

fn context(idx: &Path, question: &str, budget: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "context", question, "--budget", budget, "--mode", "lexical", "--format", "json",
    ];
    args.extend(extra);
    json_of(idx, &args)
}

fn edit_adr(ex: &Path) {
    let path = ex.join(ADR);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("$75K") && text.contains("Status: Accepted"));
    std::fs::write(
        &path,
        text.replace("$75K", "$90K")
            .replace("Status: Accepted", "Status: Rejected"),
    )
    .unwrap();
}

#[test]
fn an_edited_decision_record_is_flagged_by_every_answer() {
    let (_tmp, ex, idx) = fixture();
    // Before the edit, nothing is flagged.
    let before = search(&idx, "outside counsel threshold", &[]);
    assert!(before.iter().any(|h| hit_path(h).ends_with(ADR)));
    assert!(
        before.iter().all(|h| h.get("stale").is_none()),
        "{before:#?}"
    );

    edit_adr(&ex);

    // search: every hit of the ADR is changed (its text is gone, or it carries the decision
    // whose status changed); other files' hits are not flagged.
    let hits = search(&idx, "outside counsel threshold", &[]);
    let adr: Vec<&Value> = hits.iter().filter(|h| hit_path(h).ends_with(ADR)).collect();
    assert!(!adr.is_empty(), "{hits:#?}");
    for h in &adr {
        assert_eq!(reason(h), Some("changed"), "{h:#}");
        assert!(!h["stale"]["detail"].as_str().unwrap().is_empty());
    }
    for h in hits.iter().filter(|h| !hit_path(h).ends_with(ADR)) {
        assert_eq!(reason(h), None, "{h:#}");
    }
    let text = text_of(
        &idx,
        &["search", "outside counsel threshold", "--mode", "lexical"],
    );
    assert!(text.contains("⚠ source changed since indexing"), "{text}");

    // decisions: the ADR's entry is changed (its status now reads Rejected); the meeting's
    // entries are as indexed.
    let answer = json_of(
        &idx,
        &["decisions", "--status", "all", "-k", "1000", "--json"],
    );
    let entries = answer["entries"].as_array().unwrap();
    let (adr, others): (Vec<&Value>, Vec<&Value>) = entries
        .iter()
        .partition(|e| e["path"].as_str().unwrap().ends_with(ADR));
    assert_eq!(adr.len(), 1, "{entries:#?}");
    assert_eq!(reason(adr[0]), Some("changed"), "{:#}", adr[0]);
    assert!(!others.is_empty());
    assert!(others.iter().all(|e| reason(e).is_none()), "{others:#?}");
    let text = text_of(&idx, &["decisions", "outside counsel", "--mode", "lexical"]);
    assert!(text.contains("⚠ source changed since indexing"), "{text}");

    // who: Priya's evidence from the ADR is flagged.
    let from_adr = adr_evidence(&idx);
    assert!(
        from_adr.iter().all(|e| reason(e) == Some("changed")),
        "{from_adr:#?}"
    );

    // context: no passage of the ADR; a note names it and why; the budget holds.
    let pack = context(&idx, "outside counsel threshold", "600", &[]);
    assert!(
        spans(&pack)
            .iter()
            .all(|s| !s["path"].as_str().unwrap().ends_with(ADR)),
        "{pack:#}"
    );
    assert!(
        pack["num_stale_left_out"].as_u64().unwrap() >= 1,
        "{pack:#}"
    );
    let notes: Vec<&str> = pack["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains(ADR) && n.contains("(changed)") && n.contains("lore index")),
        "{notes:?}"
    );
    assert!(pack["tokens_used"].as_u64().unwrap() <= 600);
}

#[test]
fn a_deleted_or_moved_file_is_flagged_vanished() {
    let (_tmp, ex, idx) = fixture();
    std::fs::remove_file(ex.join(ONBOARDING)).unwrap();
    // Moved into a folder: the index cites its old path, where there is nothing now.
    std::fs::create_dir(ex.join("decisions")).unwrap();
    std::fs::rename(ex.join(ADR), ex.join("decisions").join(ADR)).unwrap();

    let hits = search(&idx, "laptop buddy payroll", &[]);
    let gone: Vec<&Value> = hits
        .iter()
        .filter(|h| hit_path(h).ends_with(ONBOARDING))
        .collect();
    assert!(!gone.is_empty(), "{hits:#?}");
    assert!(
        gone.iter().all(|h| reason(h) == Some("vanished")),
        "{gone:#?}"
    );

    let hits = search(&idx, "outside counsel threshold", &[]);
    let moved: Vec<&Value> = hits.iter().filter(|h| hit_path(h).ends_with(ADR)).collect();
    assert!(!moved.is_empty());
    assert!(
        moved.iter().all(|h| reason(h) == Some("vanished")),
        "{moved:#?}"
    );

    let answer = json_of(
        &idx,
        &["decisions", "--status", "all", "-k", "1000", "--json"],
    );
    let adr = answer["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with(ADR))
        .unwrap()
        .clone();
    assert_eq!(reason(&adr), Some("vanished"), "{adr:#}");

    // who: Priya decided the ADR, whose file is no longer where the index cites it.
    let from_adr = adr_evidence(&idx);
    assert!(
        from_adr.iter().all(|e| reason(e) == Some("vanished")),
        "{from_adr:#?}"
    );

    let pack = context(&idx, "laptop buddy payroll", "500", &[]);
    assert!(spans(&pack)
        .iter()
        .all(|s| !s["path"].as_str().unwrap().ends_with(ONBOARDING)));
    let notes = pack["notes"].to_string();
    assert!(
        notes.contains(ONBOARDING) && notes.contains("(vanished)"),
        "{notes}"
    );
    // Markdown says it in its header too.
    let md = text_of(
        &idx,
        &[
            "context",
            "laptop buddy payroll",
            "--budget",
            "500",
            "--mode",
            "lexical",
        ],
    );
    assert!(
        md.contains("note: left out") && md.contains("(vanished)"),
        "{md}"
    );
}

#[test]
fn text_shifted_in_its_file_is_kept_in_context_and_marked_moved() {
    let (_tmp, ex, idx) = fixture();
    let path = ex.join(ONBOARDING);
    let text = std::fs::read_to_string(&path).unwrap();
    // Two lines added at the top (after the front matter the chunks do not cover).
    std::fs::write(&path, format!("<!-- imported -->\n\n{text}")).unwrap();

    let hits = search(&idx, "laptop buddy", &[]);
    let hit = hits
        .iter()
        .find(|h| hit_path(h).ends_with(ONBOARDING))
        .unwrap();
    assert_eq!(reason(hit), Some("moved"), "{hit:#}");
    let was = &hit["provenance"]["line_range"];
    let now = &hit["stale"]["lines_now"];
    assert_eq!(
        now[0].as_u64().unwrap(),
        was[0].as_u64().unwrap() + 2,
        "{hit:#}"
    );

    // Kept in the pack, its span marked.
    let pack = context(&idx, "laptop buddy", "500", &[]);
    let span = spans(&pack)
        .into_iter()
        .find(|s| s["path"].as_str().unwrap().ends_with(ONBOARDING))
        .unwrap_or_else(|| panic!("{pack:#}"));
    assert_eq!(reason(&span), Some("moved"), "{span:#}");
    assert_eq!(pack.get("num_stale_left_out"), None);
    let md = text_of(
        &idx,
        &[
            "context",
            "laptop buddy",
            "--budget",
            "500",
            "--mode",
            "lexical",
        ],
    );
    assert!(
        md.contains("moved since indexing: the cited text is now at lines"),
        "{md}"
    );
}

#[test]
fn a_touched_file_is_not_flagged_and_reindexing_clears_every_flag() {
    let (_tmp, ex, idx) = fixture();
    // Same bytes, written again later: a new modification time.
    let path = ex.join(ONBOARDING);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(120))
        .unwrap();
    let hits = search(&idx, "laptop buddy", &[]);
    assert!(hits.iter().any(|h| hit_path(h).ends_with(ONBOARDING)));
    assert!(hits.iter().all(|h| reason(h).is_none()), "{hits:#?}");

    edit_adr(&ex);
    assert!(search(&idx, "outside counsel threshold", &[])
        .iter()
        .any(|h| reason(h).is_some()));
    index(&ex, &idx);
    let hits = search(&idx, "outside counsel threshold", &[]);
    assert!(hits.iter().all(|h| reason(h).is_none()), "{hits:#?}");
    let answer = json_of(
        &idx,
        &["decisions", "--status", "all", "-k", "1000", "--json"],
    );
    let adr = answer["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with(ADR))
        .unwrap()
        .clone();
    assert_eq!(adr["standing"]["status"], "rejected", "{adr:#}");
    assert_eq!(reason(&adr), None);
}

#[test]
fn check_sources_content_sees_an_edit_that_kept_size_and_time_and_off_sees_nothing() {
    let (_tmp, ex, idx) = fixture();
    let path = ex.join(ADR);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    // Same length ($75K → $90K), modification time put back.
    std::fs::write(&path, text.replace("$75K", "$90K")).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(modified)
        .unwrap();

    let by_metadata = search(&idx, "outside counsel threshold", &[]);
    assert!(by_metadata.iter().all(|h| reason(h).is_none()));
    let by_content = search(
        &idx,
        "outside counsel threshold",
        &["--check-sources", "content"],
    );
    assert!(
        by_content
            .iter()
            .any(|h| hit_path(h).ends_with(ADR) && reason(h) == Some("changed")),
        "{by_content:#?}"
    );

    // Unchecked, neither an edited nor a deleted source is flagged.
    std::fs::write(&path, text.replace("Status: Accepted", "Status: Rejected")).unwrap();
    let off = search(
        &idx,
        "outside counsel threshold",
        &["--check-sources", "off"],
    );
    assert!(off.iter().any(|h| hit_path(h).ends_with(ADR)));
    assert!(off.iter().all(|h| reason(h).is_none()), "{off:#?}");
    let text = text_of(
        &idx,
        &[
            "search",
            "outside counsel threshold",
            "--mode",
            "lexical",
            "--check-sources",
            "off",
        ],
    );
    assert!(!text.contains('⚠'), "{text}");
    std::fs::remove_file(&path).unwrap();
    let off = search(
        &idx,
        "outside counsel threshold",
        &["--check-sources", "off"],
    );
    assert!(off.iter().all(|h| reason(h).is_none()), "{off:#?}");
    let answer = json_of(
        &idx,
        &[
            "decisions",
            "--status",
            "all",
            "-k",
            "1000",
            "--json",
            "--check-sources",
            "off",
        ],
    );
    assert!(answer["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| reason(e).is_none()));
}

#[test]
fn the_server_flags_stale_sources_without_naming_its_own_paths() {
    let (tmp, ex, idx) = fixture();
    let server = Server::start(&idx, &["--no-audit"]);
    edit_adr(&ex);
    std::fs::remove_file(ex.join(ONBOARDING)).unwrap();
    let own = tmp.path().to_str().unwrap().to_string();

    let (status, answer) = server.post(
        "/v1/search",
        None,
        &json!({"query": "outside counsel threshold", "mode": "lexical"}),
    );
    assert_eq!(status, 200, "{answer:#}");
    let hits = answer["hits"].as_array().unwrap();
    let adr: Vec<&Value> = hits
        .iter()
        .filter(|h| h["path"] == format!("exports/{ADR}"))
        .collect();
    assert!(!adr.is_empty(), "{answer:#}");
    assert!(adr.iter().all(|h| reason(h) == Some("changed")), "{adr:#?}");

    // get: a chunk whose text the edit took away, with its neighbours, flagged alike.
    let edited = adr
        .iter()
        .find(|h| h["text"].as_str().unwrap().contains("$75K"))
        .unwrap_or_else(|| panic!("{adr:#?}"));
    let (status, got) = server.post("/v1/get", None, &json!({"chunk_id": edited["chunk_id"]}));
    assert_eq!(status, 200, "{got:#}");
    assert_eq!(reason(&got["chunk"]), Some("changed"), "{got:#}");

    let (status, answer) = server.post(
        "/v1/decisions",
        None,
        &json!({"query": "outside counsel threshold"}),
    );
    assert_eq!(status, 200, "{answer:#}");
    let entry = answer["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == format!("exports/{ADR}"))
        .unwrap_or_else(|| panic!("{answer:#}"))
        .clone();
    assert_eq!(reason(&entry), Some("changed"), "{entry:#}");

    let (status, answer) = server.post(
        "/v1/who",
        None,
        &json!({"topic": "outside counsel threshold"}),
    );
    assert_eq!(status, 200, "{answer:#}");
    let from_adr: Vec<Value> = evidence(&answer)
        .into_iter()
        .filter(|e| e["path"] == format!("exports/{ADR}"))
        .collect();
    assert!(!from_adr.is_empty(), "{answer:#}");
    assert!(
        from_adr.iter().all(|e| reason(e) == Some("changed")),
        "{from_adr:#?}"
    );

    let (status, answer) = server.post(
        "/v1/context",
        None,
        &json!({"question": "outside counsel threshold laptop payroll", "mode": "lexical", "budget": 800}),
    );
    assert_eq!(status, 200, "{answer:#}");
    for c in answer["citations"].as_array().unwrap() {
        let path = c["path"].as_str().unwrap();
        assert!(
            !path.ends_with(ADR) && !path.ends_with(ONBOARDING),
            "{answer:#}"
        );
    }
    let notes = answer["notes"].to_string();
    assert!(
        notes.contains(&format!("exports/{ADR} (changed)"))
            && notes.contains(&format!("exports/{ONBOARDING} (vanished)")),
        "{notes}"
    );
    // Nothing in any answer names the server's own folders.
    for body in [
        json!({"query": "outside counsel threshold", "mode": "lexical"}),
        json!({"query": "laptop buddy payroll", "mode": "lexical"}),
    ] {
        let (_, answer) = server.post("/v1/search", None, &body);
        assert!(!answer.to_string().contains(&own), "{answer:#}");
    }
    assert!(!notes.contains(&own));
}

/// A release thread exported as JSON lines, one message a line: the first and the last open to
/// everyone, the middle one to priya alone (as in `tests/access.rs`).
const THREAD: [&str; 3] = [
    r#"{"id": "t1", "title": "Release thread", "date": "2026-03-02", "readers": ["*"], "text": "Release train HERONALPHA: the freeze starts on Monday and the release notes follow."}"#,
    r#"{"id": "t2", "title": "Release thread", "date": "2026-03-02", "readers": ["priya"], "text": "Between us: the KESTRELHUSH reorganisation is announced with this release."}"#,
    r#"{"id": "t3", "title": "Release thread", "date": "2026-03-02", "readers": ["*"], "text": "Decision: the release notes for HERONGAMMA are published on Friday after the freeze."}"#,
];

#[test]
fn an_edit_to_a_message_a_caller_may_not_read_is_not_told_to_that_caller() {
    use lore::serve::{Caller, DecisionsArgs, SearchArgs, Service, ServiceOptions};
    use lore::{IndexBuilder, Principal};
    let tmp = tempfile::tempdir().unwrap();
    let chat = tmp.path().join("chat");
    std::fs::create_dir_all(&chat).unwrap();
    let file = chat.join("release-thread.jsonl");
    std::fs::write(&file, THREAD.join("\n") + "\n").unwrap();
    let idx = tmp.path().join("index");
    IndexBuilder::new(&idx)
        .without_embeddings()
        .build(std::slice::from_ref(&chat))
        .unwrap();
    let service = Service::open(
        &idx,
        ServiceOptions {
            no_audit: true,
            poll_interval: None,
            ..ServiceOptions::default()
        },
    )
    .unwrap();
    let caller = |user: &str| Caller::new("test", Some(Principal::new(user)));
    let t3 = |user: &str| -> (Value, Value) {
        let hits = service
            .search(&caller(user), SearchArgs::new("HERONGAMMA release notes"))
            .unwrap();
        let hits = serde_json::to_value(&hits).unwrap();
        let hit = hits["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["chunk_id"] == "t3#0")
            .unwrap_or_else(|| panic!("{user}: {hits:#}"))
            .clone();
        let decisions = service
            .decisions(
                &caller(user),
                DecisionsArgs {
                    query: Some("release notes".into()),
                    status: Some("all".into()),
                    ..DecisionsArgs::default()
                },
            )
            .unwrap();
        let decisions = serde_json::to_value(&decisions).unwrap();
        let entry = decisions["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["title"].as_str().unwrap().contains("HERONGAMMA"))
            .unwrap_or_else(|| panic!("{user}: {decisions:#}"))
            .clone();
        (hit, entry)
    };
    for user in ["priya", "omar"] {
        let (hit, entry) = t3(user);
        assert_eq!(reason(&hit), None, "{hit:#}");
        assert_eq!(reason(&entry), None, "{entry:#}");
    }

    // Only the message omar may not read is edited (made longer: the last one shifts).
    let lines = [
        THREAD[0].to_string(),
        THREAD[1].replace(
            "announced with this release",
            "announced a week after this release",
        ),
        THREAD[2].to_string(),
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    // priya, who reads it all, is told: the decision's message moved, its file changed.
    let (hit, entry) = t3("priya");
    assert_eq!(reason(&hit), Some("moved"), "{hit:#}");
    assert_eq!(reason(&entry), Some("changed"), "{entry:#}");
    // omar is told nothing: that the file changed would tell of the message he may not read.
    let (hit, entry) = t3("omar");
    assert_eq!(reason(&hit), None, "{hit:#}");
    assert_eq!(reason(&entry), None, "{entry:#}");

    // The message he reads is edited: now he is told, of that one.
    let lines = [
        lines[0].clone(),
        lines[1].clone(),
        THREAD[2].replace("on Friday", "on Thursday"),
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let hits = service
        .search(&caller("omar"), SearchArgs::new("HERONGAMMA release notes"))
        .unwrap();
    let hits = serde_json::to_value(&hits).unwrap();
    let hit = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["chunk_id"] == "t3#0")
        .unwrap()
        .clone();
    assert_eq!(reason(&hit), Some("changed"), "{hit:#}");
}
