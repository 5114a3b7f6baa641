//! The decision ledger end to end: fixture folders of decision records in the shapes public
//! projects use (adr-tools/Nygard, MADR 2, MADR 3 with front matter) and meeting notes are
//! loaded, extracted and gathered into a [`Ledger`], whose statuses, people, dates, links,
//! history and spans are checked.

use std::path::{Path, PathBuf};

use lore::internals::load::load_paths;
use lore::internals::memory::extract;
use lore::{Date, EntryKind, Ledger, LedgerEntry, LoadOptions, Relation, Status};

fn fixtures(names: &[&str]) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/decisions");
    names.iter().map(|n| root.join(n)).collect()
}

/// Loads folders and builds their ledger; also checks every entry's span against the source.
fn ledger(names: &[&str]) -> Ledger {
    let report = load_paths(&fixtures(names), &LoadOptions::default(), &|_| {});
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let entries: Vec<LedgerEntry> = report.documents.iter().flat_map(extract).collect();
    for e in &entries {
        let bytes = std::fs::read(&e.path).unwrap();
        let span = &bytes[e.byte_range[0]..e.byte_range[1]];
        assert_eq!(
            lore::internals::model::content_hash_bytes(span),
            e.content_hash,
            "{}",
            e.id
        );
        let text = String::from_utf8_lossy(span).to_lowercase();
        for word in e.title.split_whitespace() {
            let word = word.to_lowercase();
            assert!(text.contains(&word), "{}: `{word}` not in {text:?}", e.id);
        }
        let first_line = bytes[..e.byte_range[0]]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        assert_eq!(e.line_range[0], first_line, "{}", e.id);
    }
    Ledger::new(entries)
}

fn id_of<'a>(ledger: &'a Ledger, file: &str) -> &'a LedgerEntry {
    ledger
        .entries()
        .iter()
        .find(|e| e.path.ends_with(file))
        .unwrap_or_else(|| panic!("no entry for {file}"))
}

/// Kind, status, title, people and due date of an entry, as compared.
type Row<'a> = (EntryKind, Status, &'a str, Vec<&'a str>, Option<&'a str>);

fn day(s: &str) -> Option<Date> {
    Some(s.parse().unwrap())
}

#[test]
fn adr_tools_folder_links_through_status_sections() {
    let l = ledger(&["adr-tools"]);
    assert_eq!(l.len(), 3);
    let first = id_of(&l, "0001-record-architecture-decisions.md");
    let pg = id_of(&l, "0002-use-postgresql-for-persistence.md");
    let crdb = id_of(&l, "0003-use-cockroachdb-for-persistence.md");
    assert_eq!(first.status, Status::Accepted);
    assert_eq!(first.title, "1. Record architecture decisions");
    assert!(first.labels.contains(&"adr-1".to_string()));
    assert!(first
        .labels
        .contains(&"record architecture decisions".to_string()));
    assert_eq!(pg.status, Status::Superseded);
    assert_eq!(pg.date.as_deref(), Some("2019-04-10"));
    assert_eq!(
        pg.status_text.as_deref(),
        Some("Accepted; Superseded by [3. Use CockroachDB for persistence](0003-use-cockroachdb-for-persistence.md)")
    );
    assert_eq!(
        pg.links[0].target,
        "0003-use-cockroachdb-for-persistence.md"
    );
    assert_eq!(crdb.status, Status::Accepted);
    let rationale = crdb.rationale.as_deref().unwrap();
    assert!(
        rationale.starts_with("Customers in three regions"),
        "{rationale}"
    );
    assert!(rationale.contains("three-region CockroachDB cluster"));
    assert!(
        !rationale.contains("Schema changes"),
        "consequences are not rationale"
    );
    assert!(l.unresolved().is_empty(), "{:?}", l.unresolved());

    // Both records name the link; it resolves once, both ways.
    assert_eq!(l.edges(&pg.id).len(), 1);
    assert_eq!(l.edges(&pg.id)[0].relation, Relation::SupersededBy);
    assert_eq!(l.edges(&pg.id)[0].to, crdb.id);
    assert_eq!(l.edges(&crdb.id)[0].relation, Relation::Supersedes);
    let history: Vec<&str> = l.history(&crdb.id).iter().map(|e| e.id.as_str()).collect();
    assert_eq!(history, vec![pg.id.as_str(), crdb.id.as_str()]);
    assert_eq!(l.history(&pg.id).len(), 2);

    let before = l.status_at(&pg.id, day("2020-01-01")).unwrap();
    assert_eq!(before.status, Status::Accepted);
    let after = l.status_at(&pg.id, day("2020-09-01")).unwrap();
    assert_eq!(after.status, Status::Superseded);
    assert_eq!(after.superseded_by.as_deref(), Some(crdb.id.as_str()));
    assert_eq!(after.since.as_deref(), Some("2020-09-01"));
    assert!(l.status_at(&crdb.id, day("2020-08-31")).is_none());
}

#[test]
fn madr2_misspelling_amendments_and_deciders() {
    let l = ledger(&["madr2"]);
    assert_eq!(l.len(), 5);
    let md = id_of(&l, "0001-use-markdown-architectural-decision-records.md");
    let memcached = id_of(&l, "0002-store-sessions-in-memcached.md");
    let json = id_of(&l, "0003-json-logging.md");
    let redis = id_of(&l, "0004-store-sessions-in-redis.md");
    let redact = id_of(&l, "0005-redact-personal-data-in-logs.md");
    assert_eq!(md.people, vec!["Oliver Brandt", "Stefanie Kühn"]);
    assert_eq!(md.date.as_deref(), Some("2021-01-12"));
    assert!(md
        .rationale
        .as_deref()
        .unwrap()
        .contains("Which format and structure"));
    assert!(md
        .rationale
        .as_deref()
        .unwrap()
        .contains("Chosen option: \"MADR 2.1.2\""));
    assert!(!md.rationale.as_deref().unwrap().contains("Formless"));
    assert_eq!(memcached.status, Status::Superseded);
    assert_eq!(json.status, Status::Accepted);
    assert_eq!(json.links[0].relation, Relation::AmendedBy);
    assert_eq!(redis.status, Status::Accepted);
    assert_eq!(redact.people, vec!["Amara Nwosu"]);
    assert!(l.unresolved().is_empty(), "{:?}", l.unresolved());

    assert!(l
        .edges(&memcached.id)
        .iter()
        .any(|e| e.relation == Relation::SupersededBy && e.to == redis.id));
    assert!(l
        .edges(&redis.id)
        .iter()
        .any(|e| e.relation == Relation::Supersedes && e.to == memcached.id));
    assert!(l
        .edges(&json.id)
        .iter()
        .any(|e| e.relation == Relation::AmendedBy && e.to == redact.id));
    assert!(l
        .edges(&redact.id)
        .iter()
        .any(|e| e.relation == Relation::Amends && e.to == json.id));
    // An amended record stays in force.
    assert_eq!(
        l.status_at(&json.id, None).unwrap().status,
        Status::Accepted
    );
    assert_eq!(
        l.status_at(&memcached.id, day("2021-06-20"))
            .unwrap()
            .status,
        Status::Accepted
    );
    assert_eq!(
        l.status_at(&memcached.id, day("2021-06-21"))
            .unwrap()
            .status,
        Status::Superseded
    );
}

#[test]
fn madr3_front_matter_replaced_by_reference_link_and_dangling_target() {
    let l = ledger(&["madr3"]);
    assert_eq!(l.len(), 4);
    let kafka = id_of(&l, "0001-use-kafka-for-domain-events.md");
    let nats = id_of(&l, "0007-use-nats-jetstream-for-domain-events.md");
    let legacy = id_of(&l, "0008-retire-the-legacy-job-queue.md");
    let managed = id_of(&l, "0009-use-a-managed-job-queue.md");
    assert_eq!(kafka.kind, EntryKind::Decision);
    assert_eq!(kafka.status, Status::Superseded);
    assert_eq!(kafka.people, vec!["Lena Fischer", "Rahul Mehta"]);
    assert_eq!(kafka.date.as_deref(), Some("2023-01-10"));
    assert_eq!(nats.status, Status::Accepted);
    assert_eq!(legacy.status, Status::Superseded);
    assert_eq!(legacy.title, "ADR-0008: Retire the legacy job queue");
    assert!(legacy
        .labels
        .contains(&"retire the legacy job queue".to_string()));
    assert_eq!(legacy.links[0].target, "0009-use-a-managed-job-queue.md");
    assert_eq!(managed.status, Status::Proposed);

    let history: Vec<&str> = l.history(&kafka.id).iter().map(|e| e.id.as_str()).collect();
    assert_eq!(history, vec![kafka.id.as_str(), nats.id.as_str()]);
    assert!(l
        .edges(&managed.id)
        .iter()
        .any(|e| e.relation == Relation::Supersedes && e.to == legacy.id));
    assert_eq!(
        l.status_at(&kafka.id, day("2024-03-04")).unwrap().status,
        Status::Accepted
    );
    assert_eq!(
        l.status_at(&kafka.id, day("2024-03-05"))
            .unwrap()
            .superseded_by
            .as_deref(),
        Some(nats.id.as_str())
    );

    let dangling: Vec<(&str, &str)> = l
        .unresolved()
        .iter()
        .map(|u| (u.entry.as_str(), u.link.target.as_str()))
        .collect();
    assert_eq!(dangling, vec![(managed.id.as_str(), "ADR-0042")]);
}

#[test]
fn bare_numbers_matching_two_records_stay_unresolved() {
    // madr2 and adr-tools both have a record 3: `Amends: ADR-0003` is ambiguous together,
    // while `amended by ADR-0005` (one record 5) and links written as file names resolve.
    let l = ledger(&["adr-tools", "madr2"]);
    let redact = id_of(&l, "0005-redact-personal-data-in-logs.md");
    let json = id_of(&l, "0003-json-logging.md");
    let unresolved: Vec<(&str, &str)> = l
        .unresolved()
        .iter()
        .map(|u| (u.entry.as_str(), u.link.target.as_str()))
        .collect();
    assert_eq!(unresolved, vec![(redact.id.as_str(), "ADR-0003")]);
    assert_eq!(l.edges(&json.id).len(), 1);
    assert_eq!(l.edges(&json.id)[0].to, redact.id);
    let memcached = id_of(&l, "0002-store-sessions-in-memcached.md");
    assert_eq!(l.edges(&memcached.id).len(), 1);
    let pg = id_of(&l, "0002-use-postgresql-for-persistence.md");
    assert_eq!(l.edges(&pg.id).len(), 1);
}

#[test]
fn meeting_markers_sections_and_checkboxes() {
    let l = ledger(&["meetings"]);
    let notes: Vec<&LedgerEntry> = l
        .entries()
        .iter()
        .filter(|e| e.path.ends_with(".md"))
        .collect();
    let got: Vec<Row<'_>> = notes
        .iter()
        .map(|e| {
            (
                e.kind,
                e.status,
                e.title.as_str(),
                e.people.iter().map(String::as_str).collect(),
                e.due.as_deref(),
            )
        })
        .collect();
    use EntryKind::{Action, Decision};
    use Status::{Accepted, Done, Open};
    assert_eq!(
        got,
        vec![
            (
                Decision,
                Accepted,
                "the job queue pilot runs on the billing workers first",
                vec![],
                None
            ),
            (
                Decision,
                Accepted,
                "staging keeps its own queue until the pilot is over",
                vec!["Tom", "Priya"],
                None
            ),
            (
                Action,
                Open,
                "write the migration runbook for the job table",
                vec!["Amara Nwosu"],
                Some("2026-03-09")
            ),
            (
                Decision,
                Accepted,
                "retries back off exponentially, capped at ten minutes between attempts",
                vec![],
                None
            ),
            (
                Decision,
                Accepted,
                "Keep the legacy job table read-only from 2026-04-01",
                vec![],
                None
            ),
            (
                Decision,
                Accepted,
                "Dead letters go to a separate queue that pages nobody",
                vec![],
                None
            ),
            (
                Action,
                Open,
                "provision the pilot queue",
                vec!["Rahul"],
                Some("March 6")
            ),
            (
                Action,
                Done,
                "Export the job table schema",
                vec!["Amara Nwosu"],
                None
            ),
            (
                Action,
                Open,
                "announce the read-only date in #eng",
                vec!["@lena.f"],
                None
            ),
            (
                Action,
                Open,
                "update the cost model",
                vec!["Tom"],
                Some("next week")
            ),
            (
                Action,
                Open,
                "Check the retry settings with support",
                vec!["Priya Raman"],
                None
            ),
            (
                Action,
                Open,
                "look at dead-letter alerting",
                vec!["Amara"],
                None
            ),
            (
                Action,
                Open,
                "rename the billing-workers deployment",
                vec![],
                None
            ),
        ]
    );
    for e in &notes {
        assert_eq!(e.date.as_deref(), Some("2026-03-02"));
        assert!(
            e.id.starts_with("meetings/2026-03-02-platform-sync.md@L"),
            "{}",
            e.id
        );
        assert_eq!(e.id, format!("{}@L{}", e.doc_id, e.line_range[0]));
    }
    // The wrapped `Agreed:` item spans both of its lines, without the line break after it.
    let agreed = notes[3];
    assert_eq!(agreed.line_range[1], agreed.line_range[0] + 1);
    let bytes = std::fs::read(&agreed.path).unwrap();
    assert!(bytes[agreed.byte_range[0]..agreed.byte_range[1]].ends_with(b"attempts."));

    let cues: Vec<&LedgerEntry> = l
        .entries()
        .iter()
        .filter(|e| e.path.ends_with(".vtt"))
        .collect();
    assert_eq!(cues.len(), 2);
    assert_eq!(cues[0].kind, Decision);
    assert_eq!(
        cues[0].title,
        "we move the invoice jobs to the managed queue next"
    );
    assert!(cues[0].people.is_empty());
    assert_eq!(cues[1].kind, Action);
    assert_eq!(cues[1].people, vec!["Rahul Mehta"]);
    assert_eq!(cues[1].due.as_deref(), Some("Friday"));
    assert_eq!(cues[1].date.as_deref(), Some("2026-03-03"));
}
