//! Names and identity: any file name the file system allows is indexed, stored losslessly and
//! printed escaped; a document's id does not depend on how its export folder is spelled on the
//! command line, nor on where the folder is now (a moved or renamed folder carries its
//! documents over, with or without `--no-delete`).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::lore_command;

/// `lore ARGS` run in `cwd`.
fn lore_in(cwd: &Path, args: &[&str]) -> Output {
    lore_command()
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("run lore")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Standard output as JSON (which must parse).
fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

/// `lore index ARGS --json` in `cwd`, which must exit with `code`; its report.
fn index(cwd: &Path, args: &[&str], code: i32) -> Value {
    let mut all = vec!["index"];
    all.extend(args);
    all.extend(["--json", "-q"]);
    let out = lore_in(cwd, &all);
    assert_eq!(out.status.code(), Some(code), "{}", text(&out));
    json(&out)
}

/// The document ids of the current generation (from `documents.tsv`, unescaped by hand: its
/// lines must be exactly one id, a tab and a signature each).
fn document_ids(index: &Path) -> Vec<String> {
    let generation = lore::internals::generation::resolve(index).unwrap();
    let tsv = std::fs::read_to_string(generation.join("documents.tsv")).unwrap();
    let mut lines = tsv.lines();
    assert!(lines.next().unwrap().starts_with("# lore documents"));
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(
                fields.len(),
                2,
                "one id and one signature per line: {line:?}"
            );
            assert_eq!(fields[1].len(), 64, "{line:?}");
            lore::path_text::unescape_field(fields[0]).expect("a well-escaped id")
        })
        .collect()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An export folder `exports` in `dir`: three decision records of the shipped corpus, one
/// superseded by the next, which the third amends (ledger links), and a page of notes.
fn decisions_export(dir: &Path) -> PathBuf {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/decisions");
    let root = dir.join("exports");
    for name in [
        "0004-route-contracts-over-50k-to-outside-counsel.md",
        "0009-raise-outside-counsel-threshold-to-75k.md",
        "0015-fixed-fee-for-harlow-pike-mid-size-reviews.md",
    ] {
        write(
            &root.join("decisions").join(name),
            &std::fs::read_to_string(corpus.join(name)).unwrap(),
        );
    }
    write(
        &root.join("notes/legal-sync.md"),
        "# Legal sync\n\nPriya Raman reviews contracts under the threshold in-house.\n",
    );
    root
}

/// The chain ADR-0004 → ADR-0009 as `lore decisions` prints it, with the path it cites.
fn assert_ledger_links_hold(cwd: &Path, index: &str, folder: &str) {
    let out = lore_in(
        cwd,
        &["decisions", "outside counsel threshold", "--index", index],
    );
    assert!(out.status.success(), "{}", text(&out));
    let answer = text(&out);
    assert!(
        answer.contains("history: ADR-0004 (2025-06-12, superseded) → ADR-0009"),
        "{answer}"
    );
    assert!(
        answer.contains(&format!("/{folder}/decisions/0009-")),
        "cites the folder where it is now: {answer}"
    );
    let stats = lore_in(cwd, &["stats", "--index", index]);
    assert!(
        text(&stats).contains("ledger:     decision accepted 2, decision superseded 1"),
        "{}",
        text(&stats)
    );
    assert!(
        !text(&stats).contains("no record answers to that name"),
        "{}",
        text(&stats)
    );
    let verify = lore_in(cwd, &["verify", "--index", index]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
}

/// Moving the folder and indexing it again: every document carried over under its id, none
/// twice, vectors kept from the index (the embedding cache is off, and the model embeds
/// nothing), and the report says where the folder went.
fn moved_folder_carries_over(extra: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    decisions_export(dir);
    let first = index(dir, &["exports", "--index", "idx"], 0);
    let ids = document_ids(&dir.join("idx"));
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|id| id.starts_with("exports/")), "{ids:?}");
    assert_ledger_links_hold(dir, "idx", "exports");

    std::fs::rename(dir.join("exports"), dir.join("exports-2025")).unwrap();
    let mut args = vec!["exports-2025", "--index", "idx", "--no-cache"];
    args.extend(extra);
    let report = index(dir, &args, 0);
    assert_eq!(report["num_documents"], 4, "{report:#}");
    assert_eq!(report["num_chunks"], first["num_chunks"], "{report:#}");
    assert_eq!(
        report["changes"],
        serde_json::json!({"added": 0, "updated": 0, "removed": 0, "unchanged": 4}),
        "{report:#}"
    );
    assert_eq!(report["num_embedded"], 0, "{report:#}");
    assert_eq!(report["num_cached"], 0, "{report:#}");
    assert_eq!(report["num_reused"], first["num_chunks"], "{report:#}");
    assert_eq!(report["num_files_loaded"], 0, "{report:#}");
    let moved = &report["moved_roots"][0];
    assert_eq!(moved["name"], "exports", "{report:#}");
    assert_eq!(moved["num_documents"], 4, "{report:#}");
    assert_eq!(moved["num_files_same"], 4, "{report:#}");
    let to = moved["to"].as_str().unwrap();
    assert!(to.ends_with("/exports-2025"), "{report:#}");
    assert_eq!(
        document_ids(&dir.join("idx")),
        ids,
        "the same ids, none twice"
    );
    assert_ledger_links_hold(dir, "idx", "exports-2025");

    // Searching cites the new place; the old one is gone from every answer.
    let out = lore_in(
        dir,
        &["search", "outside counsel", "--index", "idx", "--json"],
    );
    let hits = json(&out)["hits"].as_array().unwrap().clone();
    assert!(!hits.is_empty());
    for hit in &hits {
        let path = hit["provenance"]["path"].as_str().unwrap();
        assert!(path.contains("/exports-2025/"), "{path}");
    }

    // Said in the text summary too, and the index stays put on the next run.
    std::fs::rename(dir.join("exports-2025"), dir.join("renamed")).unwrap();
    let mut args = vec!["index", "renamed", "--index", "idx"];
    args.extend(extra);
    let out = lore_in(dir, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary = text(&out);
    assert!(
        summary.contains("is now")
            && summary.contains("/renamed")
            && summary.contains("`exports/…`"),
        "{summary}"
    );
    assert!(
        summary.contains("0 added, 0 updated, 0 removed, 4 unchanged"),
        "{summary}"
    );
    assert_eq!(document_ids(&dir.join("idx")), ids);
}

#[test]
fn a_moved_export_folder_is_carried_over_with_no_delete() {
    moved_folder_carries_over(&["--no-delete"]);
}

#[test]
fn a_moved_export_folder_is_carried_over_without_no_delete() {
    moved_folder_carries_over(&[]);
}

#[test]
fn the_spelling_of_the_export_folder_changes_no_id() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = decisions_export(dir);
    index(dir, &["exports", "--index", "idx", "--no-embed"], 0);
    let ids = document_ids(&dir.join("idx"));
    let absolute = root.to_str().unwrap().to_string();
    for spelling in ["./exports/", "exports/.", absolute.as_str()] {
        let report = index(dir, &[spelling, "--index", "idx", "--no-embed"], 0);
        assert_eq!(report["num_files_loaded"], 0, "{spelling}: {report:#}");
        assert_eq!(report["changes"]["unchanged"], 4, "{spelling}: {report:#}");
        assert!(report.get("moved_roots").is_none(), "{report:#}");
        assert_eq!(document_ids(&dir.join("idx")), ids, "{spelling}");
    }
    // From inside the folder, `.` is the same folder.
    let report = index(&root, &[".", "--index", "../idx", "--no-embed"], 0);
    assert_eq!(report["num_files_loaded"], 0, "{report:#}");
    assert_eq!(document_ids(&dir.join("idx")), ids);
}

#[test]
fn two_folders_of_one_name_keep_their_documents_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        &dir.join("a/exports/notes.md"),
        "# Notes A\n\nAlpha notes.\n",
    );
    write(
        &dir.join("b/exports/notes.md"),
        "# Notes B\n\nBeta notes.\n",
    );
    let report = index(
        dir,
        &["a/exports", "b/exports", "--index", "idx", "--no-embed"],
        0,
    );
    assert_eq!(report["num_documents"], 2, "{report:#}");
    assert_eq!(
        document_ids(&dir.join("idx")),
        ["exports-2/notes.md", "exports/notes.md"]
    );
    // Again, and with --no-delete one at a time: the names stay with their folders.
    index(
        dir,
        &["b/exports", "a/exports", "--index", "idx", "--no-embed"],
        0,
    );
    index(
        dir,
        &["b/exports", "--index", "idx", "--no-delete", "--no-embed"],
        0,
    );
    assert_eq!(
        document_ids(&dir.join("idx")),
        ["exports-2/notes.md", "exports/notes.md"]
    );
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_indexed_and_cited() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = dir.join("exports");
    let latin1 = root.join(std::ffi::OsStr::from_bytes(b"caf\xe9.md"));
    write(
        &latin1,
        "# Cafe\n\nThe cafe on the ground floor opens at nine.\n",
    );
    write(&root.join("plain.md"), "# Plain\n\nNothing special here.\n");
    let report = index(dir, &["exports", "--index", "idx", "--no-embed"], 0);
    assert_eq!(report["num_documents"], 2, "{report:#}");
    assert_eq!(report["skipped"], serde_json::json!([]), "{report:#}");
    assert_eq!(
        document_ids(&dir.join("idx")),
        [r"exports/caf\xe9.md", "exports/plain.md"]
    );

    let out = lore_in(
        dir,
        &["search", "cafe ground floor", "--index", "idx", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let hit = &json(&out)["hits"][0];
    assert_eq!(hit["provenance"]["doc_id"], r"exports/caf\xe9.md");
    // Its source is found under its stored name: fresh, not flagged.
    assert!(hit.get("stale").is_none_or(Value::is_null), "{hit:#}");
    let path = hit["provenance"]["path"].as_str().unwrap();
    assert!(path.ends_with(r"/exports/caf\xe9.md"), "{path}");
    // The stored form names the very file.
    assert_eq!(
        lore::path_text::from_text(path),
        latin1.canonicalize().unwrap()
    );
    let out = lore_in(dir, &["search", "cafe ground floor", "--index", "idx"]);
    assert!(
        text(&out).contains(r"/exports/caf\xe9.md:1-3"),
        "{}",
        text(&out)
    );

    // verify re-reads it by that name: it holds, then an edit is seen.
    let out = lore_in(dir, &["verify", "--index", "idx"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    write(
        &latin1,
        "# Cafe\n\nThe cafe on the ground floor opens at ten.\n",
    );
    let out = lore_in(dir, &["verify", "--index", "idx"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains(r"caf\xe9.md"), "{}", text(&out));
    // And an answer now says that the source changed.
    let out = lore_in(
        dir,
        &["search", "cafe ground floor", "--index", "idx", "--json"],
    );
    let hit = &json(&out)["hits"][0];
    assert_eq!(hit["stale"]["reason"], "changed", "{hit:#}");

    // An update reads it again, and `lore rm` takes its id as printed.
    let report = index(dir, &["exports", "--index", "idx", "--no-embed"], 0);
    assert_eq!(report["changes"]["updated"], 1, "{report:#}");
    let out = lore_in(dir, &["rm", r"exports/caf\xe9.md", "--index", "idx"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(document_ids(&dir.join("idx")), ["exports/plain.md"]);
}

/// An export folder whose own name is not UTF-8, holding a people file and an access file: the
/// index records both by their paths (which JSON could not hold as they are).
#[cfg(unix)]
#[test]
fn an_export_folder_whose_name_is_not_utf8_keeps_its_people_and_access_files() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let name = std::ffi::OsStr::from_bytes(b"d\xe9p\xf4t");
    let root = dir.join(name);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for file in ["people.yaml", "access.toml"] {
        write(
            &root.join(file),
            &std::fs::read_to_string(corpus.join(file)).unwrap(),
        );
    }
    write(
        &root.join("meetings/standup.md"),
        "# Standup\n\nDana Whitfield moved the reconciliation job.\n",
    );
    let out = lore_command()
        .current_dir(dir)
        .arg("index")
        .arg(name)
        .args(["--index", "idx", "--no-embed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        document_ids(&dir.join("idx")),
        [r"d\xe9p\xf4t/meetings/standup.md"]
    );
    let stats = text(&lore_in(dir, &["stats", "--index", "idx"]));
    assert!(stats.contains(r"/d\xe9p\xf4t/people.yaml;"), "{stats}");
    assert!(stats.contains(r"access:     on"), "{stats}");
    // The next update finds both again and changes nothing.
    let out = lore_command()
        .current_dir(dir)
        .arg("index")
        .arg(name)
        .args(["--index", "idx", "--no-embed", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["num_files_loaded"], 0);
}

#[test]
fn names_with_newlines_tabs_and_edge_spaces_stay_on_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = dir.join("exports");
    write(
        &root.join("new\nline.md"),
        "# Newline\n\nA name that holds a newline.\n",
    );
    write(
        &root.join("ta\tb.md"),
        "# Tabbed\n\nA name that holds a tab.\n",
    );
    write(
        &root.join("notes.md "),
        "# Trailing\n\nA name that ends with a space.\n",
    );
    write(&root.join("bell\u{7}.txt"), "A name that holds a bell.\n");
    write(&root.join("odd.bin\n"), "not a format lore reads\n");
    let report = index(dir, &["exports", "--index", "idx", "--no-embed"], 3);
    assert_eq!(report["num_documents"], 4, "{report:#}");
    assert_eq!(report["skipped"].as_array().unwrap().len(), 1, "{report:#}");

    let mut ids = document_ids(&dir.join("idx"));
    ids.sort();
    assert_eq!(
        ids,
        [
            "exports/bell\u{7}.txt",
            "exports/new\nline.md",
            "exports/notes.md ",
            "exports/ta\tb.md"
        ]
    );

    // The text summary lists the skipped file on one line, quoted and escaped.
    let out = lore_in(dir, &["index", "exports", "--index", "idx", "--no-embed"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let summary = String::from_utf8(out.stdout.clone()).unwrap();
    let line = summary
        .lines()
        .find(|l| l.contains("odd.bin"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(
        line.contains(r#"/exports/odd.bin\n": unsupported extension"#),
        "{line}"
    );

    // Search output: one line per path, escaped; JSON holds the name as it is.
    for (query, shown) in [
        ("holds a newline", r#"/exports/new\nline.md":1-3"#),
        ("holds a tab", r#"/exports/ta\tb.md":1-3"#),
        ("ends with a space", r#"/exports/notes.md ":1-3"#),
        ("holds a bell", r#"/exports/bell\u{7}.txt":1-1"#),
    ] {
        let out = lore_in(dir, &["search", query, "--index", "idx", "-k", "1"]);
        assert!(out.status.success(), "{}", text(&out));
        let printed = String::from_utf8(out.stdout).unwrap();
        assert!(
            printed
                .lines()
                .any(|l| l.trim_start().starts_with('"')
                    && l.ends_with(&format!("{shown}  (document)"))),
            "{query}: {printed}"
        );
    }
    let out = lore_in(
        dir,
        &[
            "search",
            "holds a newline",
            "--index",
            "idx",
            "-k",
            "1",
            "--json",
        ],
    );
    let path = json(&out)["hits"][0]["provenance"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(path.ends_with("/exports/new\nline.md"), "{path:?}");
    let out = lore_in(dir, &["verify", "--index", "idx"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// An index written before folder names were recorded (no `root_names` in its manifest, and a
/// `documents.tsv` without the header, whose signatures held paths) is updated as before, and a
/// folder of it that moved is still taken over.
#[test]
fn an_index_from_before_folder_names_were_kept_takes_a_moved_folder_over() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    decisions_export(dir);
    index(dir, &["exports", "--index", "idx", "--no-embed"], 0);
    let ids = document_ids(&dir.join("idx"));
    // Make it look written by the lore before.
    let generation = lore::internals::generation::resolve(&dir.join("idx")).unwrap();
    let manifest_path = generation.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    assert!(manifest["root_names"].is_object(), "{manifest:#}");
    manifest.as_object_mut().unwrap().remove("root_names");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let tsv_path = generation.join("documents.tsv");
    let tsv = std::fs::read_to_string(&tsv_path).unwrap();
    std::fs::write(&tsv_path, tsv.split_once('\n').unwrap().1).unwrap();

    std::fs::rename(dir.join("exports"), dir.join("exports-2025")).unwrap();
    let report = index(
        dir,
        &[
            "exports-2025",
            "--index",
            "idx",
            "--no-embed",
            "--no-delete",
        ],
        0,
    );
    assert!(
        report["changes"].is_null(),
        "not comparable once: {report:#}"
    );
    assert_eq!(report["num_documents"], 4, "{report:#}");
    assert_eq!(report["num_files_unchanged"], 4, "{report:#}");
    assert_eq!(report["moved_roots"][0]["name"], "exports", "{report:#}");
    assert_eq!(document_ids(&dir.join("idx")), ids);
    let report = index(dir, &["exports-2025", "--index", "idx", "--no-embed"], 0);
    assert_eq!(report["changes"]["unchanged"], 4, "{report:#}");
    assert_ledger_links_hold(dir, "idx", "exports-2025");
}
