//! A folder of junk beside good files, indexed by the `lore` binary: every bad input yields a
//! message naming the file (and line) and the reason, everything else is indexed, and the exit
//! code says that something was skipped. The fixtures are generated at test time (one of them
//! is 100 MB).

use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "common/mod.rs"]
mod common;

use common::lore;

/// `lore index ROOT --index INDEX --no-embed EXTRA...`
fn index_lexical(root: &Path, index: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "index",
        root.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
        "--no-embed",
    ];
    args.extend_from_slice(extra);
    lore(&args)
}

fn write(root: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The junk folder; returns the path of the unreadable file.
fn junk(root: &Path) -> PathBuf {
    write(
        root,
        "good.md",
        b"# Travel policy\n\nHotels under $200 per night; economy class under six hours.\n",
    );
    // A PNG with a text extension.
    write(
        root,
        "image.txt",
        &[
            0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', 0, 0, 0, 13, b'I', b'H',
        ],
    );
    write(root, "latin1.md", b"# Caf\xe9\n\nna\xefve text.\n");
    write(root, "empty.txt", b"");
    // 100 MB of text, over the default limit of 64 MiB.
    let line = b"quarterly numbers are reviewed by the finance team every friday\n";
    let huge: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(100 * 1024 * 1024)
        .collect();
    write(root, "huge.txt", &huge);
    write(
        root,
        "front-matter.md",
        b"---\ntitle: Broken\ntags: [a, b\n---\n# Broken\n\nNever indexed.\n",
    );
    write(
        root,
        "records.jsonl",
        b"{\"id\": \"r1\", \"text\": \"The vendor contract renews every March.\"}\n{\"id\": \"r2\", \"text\": \"unterminated\n{\"id\": \"r3\", \"text\": \"Offsites are planned by the people team.\"}\n",
    );
    write(
        root,
        "call.vtt",
        b"WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Dana>The board meets on the second Tuesday.\n\n00:00:05.000 --> 00:0",
    );
    write(
        root,
        "blank.html",
        b"<html><head><title>Nothing</title></head><body>  <script>x()</script></body></html>",
    );
    let deep: String = (0..60).map(|i| format!("level{i}/")).collect();
    write(
        root,
        &format!("{deep}deep.md"),
        b"# Deep\n\nThe archive retention period is seven years.\n",
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("..", root.join("level0/loop")).unwrap();
        std::os::unix::fs::symlink("missing.md", root.join("dangling.md")).unwrap();
    }
    let locked = write(root, "locked.md", b"# Locked\n\nNobody may read this.\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    locked
}

#[test]
fn junk_is_reported_by_file_and_line_and_everything_else_is_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("junk");
    let locked = junk(&root);
    // Root reads any file whatever its mode: then the unreadable case cannot be made here.
    let unreadable = std::fs::read(&locked).is_err();
    let index = tmp.path().join("idx");
    let out = index_lexical(&root, &index, &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{text}\n{err}");

    // One line per problem: the file (with the line where there is one), then the reason.
    let line_of = |needle: &str| -> String {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line for {needle} in:\n{text}"))
            .to_string()
    };
    assert!(line_of("image.txt").contains("binary content (NUL byte at byte 8)"));
    assert!(line_of("latin1.md").contains("invalid UTF-8 at byte 5"));
    assert!(line_of("empty.txt").contains("empty file"));
    assert!(line_of("huge.txt").contains("over the limit"));
    assert!(line_of("front-matter.md:").contains("invalid YAML front matter"));
    assert!(line_of("records.jsonl:2").contains("invalid JSON"));
    assert!(
        line_of("call.vtt:").contains("cue"),
        "{}",
        line_of("call.vtt")
    );
    assert!(line_of("blank.html").contains("no text"));
    #[cfg(unix)]
    {
        let lp = line_of("level0/loop:");
        assert!(lp.contains("symbolic link loop: leads back to"), "{lp}");
        let dangling = line_of("dangling.md:");
        assert!(dangling.contains("broken symbolic link"), "{dangling}");
    }
    if unreadable {
        assert!(line_of("locked.md").contains("cannot read"));
    }
    // Nothing else was skipped, and what was is also in `skipped.json` (`lore stats`).
    let expected = 8 + 2 * usize::from(cfg!(unix)) + usize::from(unreadable);
    assert!(
        text.contains(&format!("skipped {expected} ")),
        "expected {expected} skipped:\n{text}"
    );
    let info = lore(&["stats", "--index", index.to_str().unwrap(), "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["skipped"].as_array().unwrap().len(), expected);

    // Everything else is searchable, each from its own file.
    for (query, file) in [
        ("hotels per night", "good.md"),
        ("vendor contract renews", "records.jsonl"),
        ("offsites people team", "records.jsonl"),
        ("board meets second Tuesday", "call.vtt"),
        ("archive retention period", "deep.md"),
    ] {
        let out = lore(&[
            "search",
            query,
            "--index",
            index.to_str().unwrap(),
            "--json",
            "-k",
            "1",
        ]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let path = json["hits"][0]["provenance"]["path"].as_str().unwrap_or("");
        assert!(path.ends_with(file), "{query}: {path}");
    }
    // The deep file was found once, not again through the loop.
    let out = lore(&[
        "search",
        "archive retention period",
        "--index",
        index.to_str().unwrap(),
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let deep_hits = json["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["text"].as_str().unwrap_or("").contains("seven years"))
        .count();
    assert_eq!(deep_hits, 1, "{json:#}");
}

#[test]
fn the_size_limit_is_configurable_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("docs");
    write(
        &root,
        "small.md",
        b"# Small\n\nThe parking permit costs $40.\n",
    );
    let big = "The quarterly review moves two weeks early. ".repeat(100);
    write(&root, "big.md", format!("# Big\n\n{big}\n").as_bytes());
    let index = tmp.path().join("idx");
    let out = index_lexical(&root, &index, &["--max-file-size", "1000"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(3), "{text}");
    let line = text.lines().find(|l| l.contains("big.md")).unwrap();
    assert!(line.contains("over the limit of 1000 bytes"), "{line}");
    assert!(!text.lines().any(|l| l.contains("small.md")), "{text}");
}
