//! Permission-aware retrieval on a small organization with the real model.
//!
//! The leak matrix: every principal × every operation × every document. Two checks:
//!
//! 1. **Nothing of an unreadable document shows:** no output (serialized) of any operation
//!    asked on a principal's behalf holds the secret word, id or title of a document it may
//!    not read.
//! 2. **A principal's view is an index of what it may read:** each operation gives the same
//!    answer (ids, scores, texts, statuses, histories, people) as on an index built from the
//!    readable documents alone, so no count, score or rank can betray the rest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lore::{
    ContextRequest, DecisionsRequest, Index, IndexBuilder, Mode, OpenOptions, Principal,
    SearchRequest, StatusFilter, WhoRequest,
};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// One document of the fixture: its path below the root, text, secret word, and who may read it.
struct Doc {
    rel: &'static str,
    text: &'static str,
    secret: &'static str,
    title: &'static str,
    readers: &'static [&'static str],
}

const ACCESS: &str = "\
default = \"deny\"

[groups]
legal = [\"priya\", \"marcus\"]
eng = [\"omar\", \"dana\"]

[[folder]]
path = \"public\"
readers = [\"*\"]

[[folder]]
path = \"legal\"
readers = [\"group:legal\"]

[[folder]]
path = \"eng\"
readers = [\"@eng\"]
";

const PRINCIPALS: &[&str] = &["priya", "marcus", "omar", "dana", "zed"];

fn docs() -> Vec<Doc> {
    vec![
        Doc {
            rel: "public/0001-outside-counsel-at-50k.md",
            title: "ADR-0001: Contracts over $50K go to outside counsel",
            text: "# ADR-0001: Contracts over $50K go to outside counsel\n\n- Status: Accepted\n- Date: 2025-03-01\n- Deciders: Priya Raman\n\n## Context\n\nVendor contracts need legal review before signature. Marker word: GNUSPARK.\n\n## Decision\n\nVendor contracts over $50K are reviewed by outside counsel at Hartwell & Lane; smaller contracts are reviewed in-house.\n",
            secret: "GNUSPARK",
            readers: &["priya", "marcus", "omar", "dana", "zed"],
        },
        Doc {
            rel: "public/handbook.md",
            title: "Employee handbook",
            text: "---\ntitle: Employee handbook\ndate: 2025-01-10\nauthors: [Dana Whitfield]\n---\n# Employee handbook\n\n## Contracts\n\nAsk legal before you sign any vendor contract. Deploys go through the release train. Marker word: IBEXLOOM.\n",
            secret: "IBEXLOOM",
            readers: &["priya", "marcus", "omar", "dana", "zed"],
        },
        Doc {
            rel: "legal/0002-raise-threshold-to-75k.md",
            title: "ADR-0002: Raise the outside counsel threshold to $75K",
            text: "# ADR-0002: Raise the outside counsel threshold to $75K\n\n- Status: Accepted\n- Date: 2026-02-10\n- Deciders: Marcus Webb\n- Supersedes: ADR-0001\n\n## Context\n\nOutside counsel fees for vendor contracts doubled. Marker word: ZEBRAQUILL.\n\n## Decision\n\nVendor contracts over $75K are reviewed by outside counsel; contracts up to $75K are reviewed in-house by Priya Raman.\n",
            secret: "ZEBRAQUILL",
            readers: &["priya", "marcus"],
        },
        Doc {
            rel: "legal/2026-02-03-legal-sync.md",
            title: "Legal sync",
            text: "---\ntitle: Legal sync\ndate: 2026-02-03\nauthors: [Marcus Webb]\n---\n# Legal sync\n\nWe discussed vendor contract review load and the settlement with Acme. Marker word: MARMOTFIG.\n\n## Action items\n\n- [ ] Marcus Webb to draft the vendor contract threshold change, due 2026-02-09\n",
            secret: "MARMOTFIG",
            readers: &["priya", "marcus"],
        },
        Doc {
            rel: "eng/deploy-runbook.md",
            title: "Deploy runbook",
            text: "---\ntitle: Deploy runbook\ndate: 2026-01-20\nauthors: [Omar Haddad]\n---\n# Deploy runbook\n\nDeploys run through the release train every other Tuesday; vendor contract systems are frozen during deploys. Marker word: OKAPIVANE.\n\nAction: Omar Haddad to automate the deploy freeze check.\n",
            secret: "OKAPIVANE",
            readers: &["omar", "dana"],
        },
        Doc {
            rel: "eng/board-note.md",
            title: "Board note on vendor contracts",
            text: "---\ntitle: Board note on vendor contracts\ndate: 2026-02-20\nreaders: [priya]\n---\n# Board note on vendor contracts\n\nThe board asked that every vendor contract over $1M be escalated to the CFO. Marker word: QUOKKAHELM.\n",
            secret: "QUOKKAHELM",
            readers: &["priya"],
        },
        Doc {
            rel: "misc/unfiled.md",
            title: "Unfiled vendor contract notes",
            text: "# Unfiled vendor contract notes\n\nA vendor contract draft with no folder rule and no readers. Marker word: TAPIRNOOK.\n",
            secret: "TAPIRNOOK",
            readers: &[],
        },
    ]
}

/// Build an index of `docs` (all of them, or those `only` may read) under `dir`.
fn build(dir: &Path, only: Option<&str>, access: &str) -> Index {
    let root = dir.join("org");
    for d in docs() {
        if only.is_none_or(|p| d.readers.contains(&p)) {
            write(&root, d.rel, d.text);
        }
    }
    write(&root, "access.toml", access);
    let index_dir = dir.join("index");
    IndexBuilder::new(&index_dir)
        .embedding_cache(Some(cache_dir()))
        .build(&[root])
        .unwrap();
    // Exact dense search on both sides, so that the comparison is not at the mercy of the graph.
    Index::open_with(&index_dir, OpenOptions::default().exact_dense(true)).unwrap()
}

fn cache_dir() -> PathBuf {
    std::env::temp_dir().join("lore-test-access-cache")
}

const QUERIES: &[&str] = &[
    "who reviews vendor contracts over the threshold?",
    "outside counsel threshold",
    "deploy freeze",
    "ZEBRAQUILL",
    "QUOKKAHELM board escalation",
    "TAPIRNOOK",
    "what is the current rule for vendor contracts?",
];

/// Every operation asked as `principal` on `index`, as comparable JSON values by name.
fn answers(index: &Index, principal: Option<&Principal>) -> BTreeMap<String, serde_json::Value> {
    let mut out = BTreeMap::new();
    for q in QUERIES {
        for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
            let r = index
                .search(&SearchRequest {
                    text: q.to_string(),
                    k: 10,
                    mode,
                    principal: principal.cloned(),
                    ..SearchRequest::default()
                })
                .unwrap();
            let hits: Vec<serde_json::Value> = r
                .hits
                .iter()
                .map(|h| {
                    serde_json::json!({
                        "chunk": h.chunk_id,
                        "score": format!("{:.4}", h.score),
                        "text": h.text,
                        "snippet": h.snippet.text,
                        "decision": h.decision,
                        "title": h.provenance.title,
                    })
                })
                .collect();
            out.insert(format!("search {mode:?} {q}"), serde_json::json!(hits));
        }
        let mut pack = ContextRequest::new(*q, 400);
        pack.principal = principal.cloned();
        let pack = index.context(&pack).unwrap();
        let passages: Vec<serde_json::Value> = pack
            .passages
            .iter()
            .map(|p| serde_json::json!({ "text": p.text, "spans": p.spans.iter().map(|s| &s.chunk_id).collect::<Vec<_>>() }))
            .collect();
        out.insert(format!("context {q}"), serde_json::json!(passages));
        let who = index
            .who(&WhoRequest {
                topic: q.to_string(),
                principal: principal.cloned(),
                as_of: Some("2026-06-01".parse().unwrap()),
                ..WhoRequest::default()
            })
            .unwrap();
        let people: Vec<serde_json::Value> = who
            .people
            .iter()
            .map(|p| serde_json::json!({ "name": p.name, "score": format!("{:.4}", p.score), "evidence": p.evidence.iter().map(|e| (&e.chunk_id, &e.entry)).collect::<Vec<_>>() }))
            .collect();
        out.insert(format!("who {q}"), serde_json::json!(people));
        let decisions = index
            .decisions(&DecisionsRequest {
                query: Some(q.to_string()),
                status: StatusFilter::All,
                principal: principal.cloned(),
                ..DecisionsRequest::default()
            })
            .unwrap();
        out.insert(format!("decisions {q}"), decisions_value(&decisions));
    }
    let all = index
        .decisions(&DecisionsRequest {
            status: StatusFilter::All,
            principal: principal.cloned(),
            ..DecisionsRequest::default()
        })
        .unwrap();
    out.insert("decisions (all)".into(), decisions_value(&all));
    let readable = index.readable(principal).unwrap();
    out.insert("readable".into(), serde_json::to_value(&readable).unwrap());
    out
}

fn decisions_value(d: &lore::DecisionsResponse) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = d
        .entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.entry.id,
                "title": e.entry.title,
                "standing": e.standing,
                "people": e.people,
                "history": e.history,
            })
        })
        .collect();
    let unresolved: Vec<String> = d.unresolved.iter().map(|u| u.entry.clone()).collect();
    serde_json::json!({ "entries": entries, "size": d.ledger_size, "unresolved": unresolved })
}

#[test]
fn no_principal_sees_what_it_may_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let index = build(dir.path(), None, ACCESS);
    assert!(index.access_control().unwrap());
    let docs = docs();
    let chunk_ids: Vec<String> = {
        let all = index.decisions(&DecisionsRequest::default()).unwrap();
        assert!(!all.entries.is_empty());
        (0..index.manifest().counts.chunks as u32)
            .map(|ord| index.chunk(ord).unwrap().id)
            .collect()
    };
    let mut checked = 0usize;
    for user in PRINCIPALS {
        let principal = Principal::new(*user);
        let mut outputs = answers(&index, Some(&principal));
        // get: every chunk by id, with its neighbours.
        for id in &chunk_ids {
            let got = index.neighbours_for(id, 2, 2, Some(&principal)).unwrap();
            let doc_id = id.split('#').next().unwrap();
            let readable = docs
                .iter()
                .find(|d| doc_id.ends_with(d.rel))
                .is_some_and(|d| d.readers.contains(user));
            assert_eq!(got.is_some(), readable, "{user} get {id}");
            outputs.insert(format!("get {id}"), serde_json::to_value(&got).unwrap());
        }
        for d in docs.iter().filter(|d| !d.readers.contains(user)) {
            for (op, value) in &outputs {
                let text = value.to_string();
                for needle in [d.secret, d.rel, d.title] {
                    assert!(
                        !text.contains(needle),
                        "{user} sees `{needle}` of {} through {op}: {text}",
                        d.rel
                    );
                }
                checked += 1;
            }
        }
        // And what it may read, it finds.
        for d in docs.iter().filter(|d| d.readers.contains(user)) {
            let r = index
                .search(&SearchRequest {
                    text: d.secret.to_string(),
                    mode: Mode::Lexical,
                    principal: Some(principal.clone()),
                    ..SearchRequest::default()
                })
                .unwrap();
            assert!(
                r.hits.iter().any(|h| h.text.contains(d.secret)),
                "{user} cannot find {}",
                d.rel
            );
        }
    }
    // The owner sees everything, the unfiled document too.
    let owner = index
        .search(&SearchRequest {
            text: "TAPIRNOOK".into(),
            mode: Mode::Lexical,
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(owner.hits.len(), 1);
    assert!(checked > 1000, "{checked} checks");
    eprintln!("leak matrix: {checked} (principal, document, operation) checks");
}

#[test]
fn a_principal_sees_the_index_of_what_it_may_read() {
    // Both indexes are built at the same path in turn: citations name their paths, and a
    // context pack's budget counts them.
    let place = std::env::temp_dir().join(format!("lore-test-access-view-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&place);
    let full = build(&place, None, ACCESS);
    let seen: BTreeMap<&str, _> = PRINCIPALS
        .iter()
        .map(|user| (*user, answers(&full, Some(&Principal::new(*user)))))
        .collect();
    drop(full);
    for user in PRINCIPALS {
        std::fs::remove_dir_all(&place).unwrap();
        // The readable documents alone, every one open to this principal (access control on,
        // so that both sides count full-text statistics the same way).
        let alone = build(&place, Some(user), "default = \"allow\"\n");
        let expected = answers(&alone, Some(&Principal::new(*user)));
        let seen = &seen[user];
        assert_eq!(seen.len(), expected.len());
        for (op, value) in &expected {
            assert_eq!(&seen[op], value, "{user}: {op}");
        }
    }
    let _ = std::fs::remove_dir_all(&place);
}

#[test]
fn supersession_by_a_hidden_record_does_not_show() {
    let dir = tempfile::tempdir().unwrap();
    let index = build(dir.path(), None, ACCESS);
    let ask = |user: &str| {
        index
            .decisions(&DecisionsRequest {
                query: Some("outside counsel threshold for vendor contracts".into()),
                status: StatusFilter::All,
                principal: Some(Principal::new(user)),
                ..DecisionsRequest::default()
            })
            .unwrap()
    };
    let legal = ask("priya");
    let adr1 = legal
        .entries
        .iter()
        .find(|e| e.entry.title.contains("ADR-0001"))
        .unwrap();
    assert_eq!(adr1.standing.status, lore::Status::Superseded);
    let eng = ask("omar");
    let adr1 = eng
        .entries
        .iter()
        .find(|e| e.entry.title.contains("ADR-0001"))
        .unwrap();
    assert_eq!(adr1.standing.status, lore::Status::Accepted);
    assert_eq!(adr1.history.len(), 1);
    assert!(eng.entries.iter().all(|e| !e.entry.title.contains("75K")));
}

#[test]
fn a_broken_access_file_stops_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("org");
    write(&root, "a.md", "# A\n\nSome text.\n");
    write(&root, "access.toml", "default = \"maybe\"\n");
    let err = IndexBuilder::new(dir.path().join("index"))
        .without_embeddings()
        .build(&[root])
        .unwrap_err()
        .to_string();
    assert!(err.contains("access.toml"), "{err}");
    assert!(!dir.path().join("index").join("CURRENT").exists());
}

#[test]
fn slack_private_channels_and_record_fields_name_readers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("slack");
    write(
        &root,
        "channels.json",
        r#"[{"name": "general", "members": ["U1", "U2"]}, {"name": "exec", "is_private": true, "members": ["U1"]}]"#,
    );
    write(
        &root,
        "groups.json",
        r#"[{"name": "hr-cases", "members": ["U2"]}]"#,
    );
    write(
        &root,
        "general/2026-01-05.json",
        r#"[{"ts": "1767600000.000100", "user": "U2", "text": "Lunch order for the offsite: PELICANWAX"}]"#,
    );
    write(
        &root,
        "exec/2026-01-05.json",
        r#"[{"ts": "1767600000.000200", "user": "U1", "text": "Acquisition talks are on: OCELOTDRUM"}]"#,
    );
    write(
        &root,
        "hr-cases/2026-01-05.json",
        r#"[{"ts": "1767600000.000300", "user": "U2", "text": "Case notes: HERONMASK"}]"#,
    );
    write(
        &root,
        "general/2026-01-06.json",
        r#"[{"ts": "1767686400.000100", "user": "U2", "readers": ["U2"], "text": "Note to self: WALRUSPINE"}]"#,
    );
    // People: U1 is ana, U2 is ben (asking by name works through the people file).
    write(
        &root,
        "people.yaml",
        "- name: Ana Lima\n  aliases: [ana, U1]\n- name: Ben Ode\n  aliases: [ben, U2]\n",
    );
    let index_dir = dir.path().join("index");
    let report = IndexBuilder::new(&index_dir)
        .without_embeddings()
        .build(&[root])
        .unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let index = Index::open(&index_dir).unwrap();
    assert!(index.access_control().unwrap());
    let finds = |user: &str, word: &str| {
        index
            .search(&SearchRequest {
                text: word.into(),
                mode: Mode::Lexical,
                principal: Some(Principal::new(user)),
                ..SearchRequest::default()
            })
            .unwrap()
            .hits
            .iter()
            .any(|h| h.text.contains(word))
    };
    // A public channel is open to the whole workspace; a private one to its members.
    assert!(finds("ana", "PELICANWAX"));
    assert!(finds("ben", "PELICANWAX"));
    assert!(finds("ana", "OCELOTDRUM"));
    assert!(!finds("ben", "OCELOTDRUM"));
    assert!(finds("U2", "HERONMASK"));
    assert!(!finds("ana", "HERONMASK"));
    assert!(finds("ben", "WALRUSPINE"));
    assert!(!finds("ana", "WALRUSPINE"));
}

/// A release thread exported as JSON lines, one message a line, all with one title (so each
/// continues the one before): the first and the last open to everyone, the middle one to priya
/// alone.
const THREAD: [&str; 3] = [
    r#"{"id": "t1", "title": "Release thread", "date": "2026-03-02", "readers": ["*"], "text": "Release train HERONALPHA: the freeze starts on Monday and the release notes follow."}"#,
    r#"{"id": "t2", "title": "Release thread", "date": "2026-03-02", "readers": ["priya"], "text": "Between us: the KESTRELHUSH reorganisation is announced with this release, so keep the release notes vague until the all-hands."}"#,
    r#"{"id": "t3", "title": "Release thread", "date": "2026-03-02", "readers": ["*"], "text": "Decision: the release notes for HERONGAMMA are published on Friday after the freeze."}"#,
];

/// An index of the thread's messages `lines` (in file order), lexical only, under `dir`.
fn thread_index(dir: &Path, lines: &[usize]) -> PathBuf {
    let root = dir.join("chat");
    let text: String = lines.iter().map(|&i| format!("{}\n", THREAD[i])).collect();
    write(&root, "release-thread.jsonl", &text);
    let index_dir = dir.join("index");
    IndexBuilder::new(&index_dir)
        .without_embeddings()
        .build(&[root])
        .unwrap();
    index_dir
}

#[test]
fn a_thread_read_in_part_shows_no_trace_of_its_hidden_messages() {
    use lore::serve::{Caller, ContextArgs, DecisionsArgs, GetArgs, SearchArgs, Service};
    let dir = tempfile::tempdir().unwrap();
    let full = thread_index(&dir.path().join("full"), &[0, 1, 2]);
    let service = Service::open(&full, lore::serve::ServiceOptions::default()).unwrap();
    let caller = |user: &str| Caller::new("test", Some(Principal::new(user)));
    let hit_of = |user: &str, query: &str, chunk: &str| {
        let out = service
            .search(&caller(user), SearchArgs::new(query))
            .unwrap();
        let out = serde_json::to_value(&out).unwrap();
        out["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["chunk_id"] == chunk)
            .unwrap_or_else(|| panic!("{user} finds no {chunk}: {out}"))
            .clone()
    };

    // priya reads the whole thread: her citations say where each message sits.
    let hit = hit_of("priya", "HERONGAMMA release notes", "t3#0");
    assert_eq!(hit["line_range"], serde_json::json!([3, 3]), "{hit}");
    // omar reads lines 1 and 3 only: line 3, or a byte offset past the hidden message, would
    // tell him that something he may not read sits between them, and how long it is.
    for (query, chunk) in [
        ("HERONGAMMA release notes", "t3#0"),
        ("HERONALPHA freeze", "t1#0"),
    ] {
        let hit = hit_of("omar", query, chunk);
        assert!(hit.get("line_range").is_none(), "{hit}");
        assert!(hit.get("byte_range").is_none(), "{hit}");
        assert!(!hit.to_string().contains("KESTRELHUSH"), "{hit}");
    }
    let pack = service
        .context(
            &caller("omar"),
            ContextArgs {
                question: "when are the release notes published?".into(),
                budget: None,
                mode: None,
                filters: Vec::new(),
                as_of: None,
            },
        )
        .unwrap();
    assert!(!pack.citations.is_empty());
    let pack = serde_json::to_value(&pack).unwrap();
    for c in pack["citations"].as_array().unwrap() {
        assert!(c.get("line_range").is_none(), "{c}");
    }
    let rendered = pack["rendered"].as_str().unwrap();
    assert!(!rendered.contains("lines 3"), "{rendered}");
    assert!(!rendered.contains("bytes"), "{rendered}");
    let decisions = service
        .decisions(
            &caller("omar"),
            DecisionsArgs {
                query: Some("release notes".into()),
                status: Some("all".into()),
                ..DecisionsArgs::default()
            },
        )
        .unwrap();
    let decisions = serde_json::to_value(&decisions).unwrap();
    let entry = &decisions["entries"][0];
    assert!(
        entry["title"].as_str().unwrap().contains("HERONGAMMA"),
        "{decisions}"
    );
    assert!(entry.get("line_range").is_none(), "{entry}");
    // Its id names its line within the message, not the file's line 3.
    assert_eq!(entry["id"], "t3@L1", "{entry}");

    // The neighbours of a message are the nearest messages omar may read.
    let got = service.get(&caller("omar"), GetArgs::new("t1#0")).unwrap();
    let after: Vec<&str> = got.after.iter().map(|c| c.chunk_id.as_str()).collect();
    assert_eq!(after, ["t3#0"]);
    let got = service.get(&caller("omar"), GetArgs::new("t3#0")).unwrap();
    let before: Vec<&str> = got.before.iter().map(|c| c.chunk_id.as_str()).collect();
    assert_eq!(before, ["t1#0"]);
    let got = serde_json::to_value(&got).unwrap();
    assert!(!got.to_string().contains("KESTRELHUSH"), "{got}");
    assert!(got["chunk"].get("line_range").is_none(), "{got}");

    // And omar's ranking is that of a thread of his two messages alone: the two lift each
    // other as neighbours, as they would with nothing between them.
    let alone = thread_index(&dir.path().join("alone"), &[0, 2]);
    let ranked = |index: &Path| {
        let index = Index::open(index).unwrap();
        let r = index
            .search(&SearchRequest {
                text: "HERONALPHA freeze release notes".into(),
                mode: Mode::Lexical,
                principal: Some(Principal::new("omar")),
                ..SearchRequest::default()
            })
            .unwrap();
        r.hits
            .iter()
            .map(|h| (h.chunk_id.clone(), format!("{:.5}", h.score)))
            .collect::<Vec<_>>()
    };
    let seen = ranked(&full);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen, ranked(&alone));

    // Messages without ids of their own: their ids are not their lines either (a chunk id
    // `…jsonl:3#0` next to `…jsonl:1#0` would tell what the ranges no longer do).
    let dir = dir.path().join("no-ids");
    let root = dir.join("chat");
    let text: String = THREAD
        .iter()
        .map(|l| format!("{}\n", l.replacen(r#""id": "t"#, r#""n": "t"#, 1)))
        .collect();
    write(&root, "release-thread.jsonl", &text);
    IndexBuilder::new(dir.join("index"))
        .without_embeddings()
        .build(&[root])
        .unwrap();
    let index = Index::open(dir.join("index")).unwrap();
    let r = index
        .search(&SearchRequest {
            text: "HERONALPHA HERONGAMMA release".into(),
            mode: Mode::Lexical,
            principal: Some(Principal::new("omar")),
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(r.hits.len(), 2);
    for hit in &r.hits {
        let id = hit
            .chunk_id
            .strip_prefix("chat/release-thread.jsonl:")
            .unwrap();
        let (key, _) = id.split_once('#').unwrap();
        assert!(
            key.len() == 12 && key.chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            hit.chunk_id
        );
    }
}
