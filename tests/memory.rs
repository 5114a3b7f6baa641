//! Organizational memory on a small fixture with the real model: supersession-aware ranking in
//! every mode (and with the clock turned back), `decisions`, `who` with a people file, and the
//! ledger kept right by an incremental update.

use std::path::{Path, PathBuf};

use lore::{
    DecisionsRequest, EntryKind, Index, IndexBuilder, Mode, SearchRequest, Status, StatusFilter,
    WhoRequest,
};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An organization with a reconciliation schedule decided twice: the first record's wording
/// is the closer match to the questions, the second replaced it.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("org");
    write(
        &root,
        "decisions/0001-nightly-reconciliation-at-0200.md",
        "# ADR-0001: Run the nightly billing reconciliation job at 02:00 UTC\n\n- Status: Superseded by ADR-0002\n- Date: 2025-03-01\n- Deciders: Marco Silva, Tom Okafor\n\n## Context\n\nThe nightly billing reconciliation job compares invoices with usage. It needs a fixed time to run every night.\n\n## Decision\n\nThe nightly billing reconciliation job runs at 02:00 UTC every night.\n",
    );
    write(
        &root,
        "decisions/0002-move-recon-later.md",
        "# ADR-0002: Move recon to 04:30 and gate it on the rollup marker\n\n- Status: Accepted\n- Date: 2026-03-17\n- Deciders: Marco Silva, Kenji Mori\n- Supersedes: ADR-0001\n\n## Context\n\nThe rollup overran its window and recon read half-written data.\n\n## Decision\n\nRecon starts at 04:30 UTC and waits for the rollup completion marker.\n",
    );
    write(
        &root,
        "decisions/0003-weekly-on-call.md",
        "# ADR-0003: Weekly on-call rotation\n\n- Status: Accepted\n- Date: 2025-01-15\n- Deciders: Priya Raman\n- Amends: ADR-0099\n\n## Context\n\nPages went to whoever was awake.\n\n## Decision\n\nOne engineer is on call for a week, handing over on Mondays.\n",
    );
    write(
        &root,
        "meetings/2026-03-20-billing-sync.md",
        "---\ntitle: Billing sync\ndate: 2026-03-20\nauthors: [Jamal Reyes]\nkind: meeting-notes\n---\n# Billing sync\n\n## Notes\n\nWe went over the reconciliation exceptions from the incident week.\n\n## Action items\n\n- [ ] M. Silva to write the reconciliation runbook section on the rollup marker, due 2026-04-01\n- [x] Jamal Reyes to cancel the credit batch\n",
    );
    write(
        &root,
        "meetings/2026-03-24-handover.vtt",
        "WEBVTT\n\nNOTE\ntitle: Recon handover\ndate: 2026-03-24\n\n00:00:01.000 --> 00:00:06.000\n<v msilva>The reconciliation job waits for the rollup marker before it reads usage.\n\n00:00:06.000 --> 00:00:11.000\n<v Owen Brandt>So if the marker is late the reconciliation just waits, up to two hours.\n",
    );
    write(
        &root,
        "people.yaml",
        "# Who is who.\n- name: Marco Silva\n  aliases: [M. Silva, msilva]\n  email: marco.silva@example.com\n  role: Billing engineer\n  team: Billing\n- name: Jamal Reyes\n  team: Finance\n- name: Tom Okafor\n- name: Kenji Mori\n- name: Priya Raman\n",
    );
    dir
}

fn build(dir: &Path) -> (PathBuf, Index) {
    let index_dir = dir.join("index");
    let report = IndexBuilder::new(&index_dir)
        .embedding_cache(Some(dir.join("cache")))
        .build(&[dir.join("org")])
        .expect("build with the real model (run scripts/fetch-model.sh)");
    // The people file is read, not indexed or skipped.
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    (index_dir.clone(), Index::open(&index_dir).unwrap())
}

fn search(index: &Index, text: &str, mode: Mode, as_of: Option<&str>) -> Vec<lore::SearchHit> {
    let response = index
        .search(&SearchRequest {
            text: text.into(),
            k: 5,
            mode,
            as_of: as_of.map(|d| d.parse().unwrap()),
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(response.mode_used, mode, "{:?}", response.notes);
    response.hits
}

fn file_of(hit: &lore::SearchHit) -> &str {
    hit.provenance.path.rsplit('/').next().unwrap()
}

#[test]
fn a_superseded_decision_never_ranks_above_its_successor() {
    let dir = fixture();
    let (_, index) = build(dir.path());
    let question = "What time does the nightly billing reconciliation job run now?";
    for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
        let hits = search(&index, question, mode, None);
        let old = hits
            .iter()
            .position(|h| file_of(h).starts_with("0001"))
            .unwrap_or(usize::MAX);
        let new = hits
            .iter()
            .position(|h| file_of(h).starts_with("0002"))
            .unwrap_or_else(|| panic!("{mode:?}: the successor is missing: {hits:#?}"));
        assert!(
            new < old,
            "{mode:?}: successor at {new}, superseded at {old}"
        );
        assert!(!file_of(&hits[0]).starts_with("0001"), "{mode:?}");
        // The old record says by what and since when.
        if let Some(h) = hits.get(old) {
            let label = h.decision.as_ref().expect("a label");
            assert_eq!(label.status, Status::Superseded);
            assert!(label
                .superseded_by
                .as_deref()
                .unwrap()
                .ends_with("0002-move-recon-later.md"));
            assert_eq!(label.since.as_deref(), Some("2026-03-17"));
        }
        let new_label = hits[new].decision.as_ref().expect("a label");
        assert_eq!(new_label.status, Status::Accepted);
    }
    // Words only the old record has: the successor is pulled in above it all the same.
    let hits = search(&index, "fixed time every night", Mode::Lexical, None);
    let files: Vec<&str> = hits.iter().map(file_of).collect();
    let old = files.iter().position(|f| f.starts_with("0001")).unwrap();
    let new = files.iter().position(|f| f.starts_with("0002")).unwrap();
    assert!(new < old, "{files:?}");
}

#[test]
fn turning_the_clock_back_puts_the_old_decision_first() {
    let dir = fixture();
    let (_, index) = build(dir.path());
    let question = "When does the billing reconciliation job run?";
    for mode in [Mode::Lexical, Mode::Hybrid] {
        let hits = search(&index, question, mode, Some("2025-12-01"));
        assert!(
            file_of(&hits[0]).starts_with("0001"),
            "{mode:?}: {:?}",
            hits.iter().map(file_of).collect::<Vec<_>>()
        );
        let label = hits[0].decision.as_ref().unwrap();
        assert_eq!(label.status, Status::Accepted);
        // The later decision, if it is in the top five at all, says it was not made yet.
        if let Some(later) = hits.iter().find(|h| file_of(h).starts_with("0002")) {
            assert!(later.decision.as_ref().unwrap().after_as_of);
        }
    }
    // The ledger agrees.
    let then = index
        .decisions(&DecisionsRequest {
            query: Some("billing reconciliation schedule".into()),
            as_of: Some("2025-12-01".parse().unwrap()),
            kind: Some(EntryKind::Decision),
            ..DecisionsRequest::default()
        })
        .unwrap();
    assert!(then.entries[0]
        .entry
        .id
        .ends_with("0001-nightly-reconciliation-at-0200.md"));
    assert_eq!(then.entries[0].standing.status, Status::Accepted);
    assert!(then.entries.iter().all(|e| !e.entry.id.contains("0002")));
}

#[test]
fn decisions_lists_what_is_in_force_with_history_and_dangling_links() {
    let dir = fixture();
    let (_, index) = build(dir.path());
    let now = index
        .decisions(&DecisionsRequest {
            query: Some("billing reconciliation schedule".into()),
            kind: Some(EntryKind::Decision),
            ..DecisionsRequest::default()
        })
        .unwrap();
    let first = &now.entries[0];
    assert!(
        first.entry.id.ends_with("0002-move-recon-later.md"),
        "{:#?}",
        now.entries
    );
    assert_eq!(first.entry.people, ["Marco Silva", "Kenji Mori"]);
    let chain: Vec<&str> = first
        .history
        .iter()
        .map(|h| h.date.as_deref().unwrap())
        .collect();
    assert_eq!(chain, ["2025-03-01", "2026-03-17"]);
    assert!(now.entries.iter().all(|e| e.standing.status.in_force()));
    // The open action is in force, the done one is not; all statuses on request.
    let actions = index
        .decisions(&DecisionsRequest {
            kind: Some(EntryKind::Action),
            status: StatusFilter::All,
            ..DecisionsRequest::default()
        })
        .unwrap();
    let statuses: Vec<(Status, Option<&str>)> = actions
        .entries
        .iter()
        .map(|e| (e.standing.status, e.entry.due.as_deref()))
        .collect();
    assert!(
        statuses.contains(&(Status::Open, Some("2026-04-01"))),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|(s, _)| *s == Status::Done),
        "{statuses:?}"
    );
    // A link to a record that does not exist is reported, not dropped.
    let ledger = index.ledger().unwrap();
    assert!(
        ledger
            .unresolved()
            .iter()
            .any(|u| u.link.target.contains("0099")),
        "{:?}",
        ledger.unresolved()
    );
}

#[test]
fn who_merges_name_variants_only_through_the_people_file() {
    let dir = fixture();
    let (_, index) = build(dir.path());
    let answer = index
        .who(&WhoRequest {
            topic: "billing reconciliation job".into(),
            ..WhoRequest::default()
        })
        .unwrap();
    let names: Vec<&str> = answer.people.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names[0], "Marco Silva", "{answer:#?}");
    // "M. Silva" (an action owner) and "msilva" (a speaker) are Marco, by the people file.
    let marco = &answer.people[0];
    assert!(marco.known);
    assert_eq!(marco.team.as_deref(), Some("Billing"));
    let written: Vec<&str> = marco
        .evidence
        .iter()
        .map(|e| e.as_written.as_str())
        .collect();
    assert!(
        written.contains(&"msilva") || written.contains(&"M. Silva"),
        "{written:?}"
    );
    assert!(!names.iter().any(|n| *n == "msilva" || *n == "M. Silva"));
    // Owen Brandt is not in the people file: kept as written, and listed as unknown.
    let owen = answer
        .people
        .iter()
        .find(|p| p.name == "Owen Brandt")
        .expect("Owen");
    assert!(!owen.known);
    let unknown: Vec<String> = index
        .people()
        .unwrap()
        .unknown()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(unknown, ["Owen Brandt"]);
    // Every person's evidence cites a real span.
    for p in &answer.people {
        for e in &p.evidence {
            assert!(
                e.byte_range[0] < e.byte_range[1] && e.line_range[0] >= 1,
                "{e:?}"
            );
        }
    }
}

#[test]
fn an_update_keeps_the_ledger_right() {
    let dir = fixture();
    let (index_dir, _) = build(dir.path());
    // ADR-0001 goes: ADR-0002's link now dangles; a new record supersedes ADR-0003.
    std::fs::remove_file(
        dir.path()
            .join("org/decisions/0001-nightly-reconciliation-at-0200.md"),
    )
    .unwrap();
    write(
        &dir.path().join("org"),
        "decisions/0004-follow-the-sun-on-call.md",
        "# ADR-0004: Follow-the-sun on-call\n\n- Status: Accepted\n- Date: 2026-05-01\n- Deciders: Priya Raman\n- Supersedes: ADR-0003\n\n## Decision\n\nOn-call follows the sun between two regions.\n",
    );
    let report = IndexBuilder::new(&index_dir)
        .embedding_cache(Some(dir.path().join("cache")))
        .build(&[dir.path().join("org")])
        .unwrap();
    assert_eq!(report.num_files_unchanged, 4, "{report:?}");
    let index = Index::open(&index_dir).unwrap();
    let ledger = index.ledger().unwrap();
    assert!(ledger.entries().iter().all(|e| !e.id.contains("0001")));
    assert!(ledger
        .unresolved()
        .iter()
        .any(|u| u.link.target.contains("0001")));
    let oncall = ledger
        .entries()
        .iter()
        .find(|e| e.id.ends_with("0003-weekly-on-call.md"))
        .unwrap();
    let standing = ledger.status_at(&oncall.id, None).unwrap();
    assert_eq!(standing.status, Status::Superseded);
    assert_eq!(standing.since.as_deref(), Some("2026-05-01"));
}
