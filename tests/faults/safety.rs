//! Nothing a hurried user does costs the index: a wrong or missing input, an emptied or
//! unmounted export folder, an update that would remove most of the index, a full disk (a real
//! small tmpfs; these tests run as root in CI), a writer killed mid-write, `lore demo` pointed
//! at an index it did not make. Each time the error names the path or option and what to do,
//! nothing is committed, and the index goes on answering; `lore rollback` undoes the last
//! commit, also under a running `lore serve`.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::common::{lore_command, Server};

fn lore(args: &[&str]) -> Output {
    lore_command().args(args).output().expect("run lore")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `n` Markdown notes in `dir`, each holding the word `word{i}`.
fn notes(dir: &Path, n: usize, word: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        std::fs::write(
            dir.join(format!("note-{i:03}.md")),
            format!(
                "# Note {i}\n\nThe {word}{i} review covers vendor contracts, billing reconciliation \
                 and the quarterly close. Owners report back within {} days.\n",
                i % 7 + 1
            ),
        )
        .unwrap();
    }
}

/// `lore index INPUTS --index INDEX --no-embed -q EXTRA`.
fn index(inputs: &[&Path], idx: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["index"];
    args.extend(inputs.iter().map(|p| s(p)));
    args.extend(["--index", s(idx), "--no-embed", "-q"]);
    args.extend(extra);
    lore(&args)
}

fn current(idx: &Path) -> String {
    std::fs::read_to_string(idx.join("CURRENT"))
        .unwrap()
        .trim()
        .to_string()
}

/// The entries of the index directory, sorted.
fn listing(idx: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(idx)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The number of documents `lore stats --json` reports.
fn documents(idx: &Path) -> u64 {
    let out = lore(&["stats", "--index", s(idx), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["manifest"]["counts"]["documents"].as_u64().unwrap()
}

/// True when a lexical search for `word` finds it.
fn finds(idx: &Path, word: &str) -> bool {
    let out = lore(&[
        "search",
        word,
        "--index",
        s(idx),
        "--mode",
        "lexical",
        "-k",
        "1",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["hits"][0]["text"]
        .as_str()
        .is_some_and(|t| t.contains(word))
}

fn assert_refused(out: &Output, code: i32, says: &[&str]) {
    let all = text(out);
    assert_eq!(out.status.code(), Some(code), "{all}");
    for s in says {
        assert!(all.contains(s), "missing {s:?} in: {all}");
    }
}

#[test]
fn a_typo_or_a_stray_space_in_an_input_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let exports = tmp.path().join("exports");
    notes(&exports, 12, "alpha");
    let idx = tmp.path().join("idx");
    let out = index(&[&exports], &idx, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let before = listing(&idx);

    // One letter missing, a trailing space: named quoted, exit 2, nothing committed.
    let typo = tmp.path().join("export");
    let out = index(&[&typo], &idx, &[]);
    assert_refused(
        &out,
        2,
        &[
            &format!("{:?}", typo),
            "No such file or directory",
            "Nothing was written",
        ],
    );
    let spaced = PathBuf::from(format!("{} ", exports.display()));
    let out = index(&[&spaced], &idx, &[]);
    assert_refused(&out, 2, &[&format!("{} \"", exports.display())]);
    // Also beside a good input, and with --no-delete.
    let out = index(&[&exports, &typo], &idx, &["--no-delete"]);
    assert_refused(&out, 2, &[&format!("{:?}", typo)]);
    assert_eq!(listing(&idx), before);
    assert_eq!(current(&idx), "gen-000001");
    assert_eq!(documents(&idx), 12);
    assert!(finds(&idx, "alpha3"));

    // A first build from a missing input creates nothing at all.
    let fresh = tmp.path().join("fresh");
    let out = index(&[&typo], &fresh, &[]);
    assert_refused(&out, 2, &[&format!("{:?}", typo)]);
    assert!(!fresh.exists());
}

#[test]
fn an_unmounted_or_emptied_export_folder_does_not_empty_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let share = tmp.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    let idx = tmp.path().join("idx");
    // A share mounted over the folder, then unmounted: the folder is there, empty. Without
    // the right to mount, the folder is emptied by hand, which looks the same to lore.
    let mounted = Tmpfs::mount_at(&share, "8m");
    if let Err(why) = &mounted {
        eprintln!("not mounting a share ({why}); emptying the folder instead");
    }
    notes(&share, 4, "beta");
    let out = index(&[&share], &idx, &[]);
    assert!(out.status.success(), "{}", text(&out));
    match mounted {
        Ok(m) => drop(m),
        Err(_) => {
            for e in std::fs::read_dir(&share).unwrap() {
                std::fs::remove_file(e.unwrap().path()).unwrap();
            }
        }
    }
    assert!(share.is_dir() && std::fs::read_dir(&share).unwrap().next().is_none());

    // Four documents are under the 10 any update may remove, yet the emptied input stops it.
    let out = index(&[&share], &idx, &[]);
    assert_refused(
        &out,
        2,
        &[
            "would remove 4 of the 4 documents",
            &format!("{:?} holds no document now", share),
            "--allow-mass-delete",
        ],
    );
    assert_eq!(current(&idx), "gen-000001");
    assert_eq!(documents(&idx), 4);
    assert!(finds(&idx, "beta2"));

    // Told to, it empties the index; rollback brings the documents back.
    let out = index(&[&share], &idx, &["--allow-mass-delete"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("4 removed"), "{}", text(&out));
    assert_eq!(documents(&idx), 0);
    let out = lore(&["rollback", "--index", s(&idx)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("gen-000001 is current again (4 documents"),
        "{}",
        text(&out)
    );
    assert!(finds(&idx, "beta2"));
}

#[test]
fn an_update_that_would_remove_most_of_the_index_stops_and_asks() {
    let tmp = tempfile::tempdir().unwrap();
    let exports = tmp.path().join("exports");
    notes(&exports, 30, "gamma");
    let idx = tmp.path().join("idx");
    assert!(index(&[&exports], &idx, &[]).status.success());

    // 8 of 30 gone: an ordinary update.
    for i in 0..8 {
        std::fs::remove_file(exports.join(format!("note-{i:03}.md"))).unwrap();
    }
    let out = index(&[&exports], &idx, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("8 removed"), "{}", text(&out));

    // 12 more of the 22 left: more than half, and more than 10.
    for i in 8..20 {
        std::fs::remove_file(exports.join(format!("note-{i:03}.md"))).unwrap();
    }
    let out = index(&[&exports], &idx, &[]);
    assert_refused(
        &out,
        2,
        &[
            "would remove 12 of the 22 documents of the index (55%)",
            "--allow-mass-delete",
        ],
    );
    assert_eq!(documents(&idx), 22);
    assert_eq!(current(&idx), "gen-000002");
    let out = index(&[&exports], &idx, &["--allow-mass-delete", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(documents(&idx), 10);

    // Another folder given by mistake would replace every document: never without being told,
    // however small the index.
    let other = tmp.path().join("other");
    notes(&other, 1, "delta");
    std::fs::rename(other.join("note-000.md"), other.join("other.md")).unwrap();
    let out = index(&[&other], &idx, &[]);
    assert_refused(
        &out,
        2,
        &["would remove 10 of the 10 documents of the index (100%)"],
    );
    assert_eq!(documents(&idx), 10);
}

#[test]
fn rollback_makes_the_generation_before_current_and_a_server_follows() {
    let tmp = tempfile::tempdir().unwrap();
    let exports = tmp.path().join("exports");
    let idx = tmp.path().join("idx");
    std::fs::create_dir_all(&exports).unwrap();
    // Five commits, each edition with its own word.
    for (n, word) in ["one", "two", "three", "four", "five"].iter().enumerate() {
        std::fs::write(
            exports.join("edition.md"),
            format!("# Edition\n\nThis is edition {word}, word zz{word}.\n"),
        )
        .unwrap();
        let out = index(&[&exports], &idx, &[]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(current(&idx), format!("gen-{:06}", n + 1));
    }
    // Three generations are kept: the current one and two to roll back to.
    let gens: Vec<String> = listing(&idx)
        .into_iter()
        .filter(|n| n.starts_with("gen-"))
        .collect();
    assert_eq!(gens, vec!["gen-000003", "gen-000004", "gen-000005"]);

    let server = Server::start(&idx, &["--reload-ms", "50"]);
    let generation = |server: &Server| {
        server.get("/healthz", None).1["generation"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(generation(&server), "gen-000005");

    let out = lore(&["rollback", "--index", s(&idx)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(
            "gen-000004 is current again (1 documents, 1 chunks); gen-000005 was emptied"
        ),
        "{}",
        text(&out)
    );
    assert_eq!(current(&idx), "gen-000004");
    assert!(finds(&idx, "zzfour") && !finds(&idx, "zzfive"));
    // The server picks the rollback up like a commit.
    let mut served = String::new();
    for _ in 0..500 {
        served = generation(&server);
        if served == "gen-000004" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(served, "gen-000004");
    let (status, body) = server.post(
        "/v1/search",
        None,
        &serde_json::json!({"query": "zzfour", "mode": "lexical"}),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body["hits"][0]["text"].as_str().unwrap().contains("zzfour"));
    drop(server);

    // Once more, then there is nothing left to roll back to.
    let out = lore(&["rollback", "--index", s(&idx), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["to"], "gen-000003");
    assert_eq!(json["from"], "gen-000004");
    let out = lore(&["rollback", "--index", s(&idx)]);
    assert_refused(&out, 1, &["no generation before gen-000003 is kept"]);
    assert!(finds(&idx, "zzthree"));

    // The next commit takes a name no generation had, and keeps the rolled-back-to one.
    let out = index(&[&exports], &idx, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(current(&idx), "gen-000006");
    assert!(finds(&idx, "zzfive"));
    assert!(listing(&idx).contains(&"gen-000003".to_string()));

    // No index, nothing to roll back.
    let out = lore(&["rollback", "--index", s(&tmp.path().join("none"))]);
    assert_refused(&out, 1, &["no lore index at"]);
}

#[test]
fn a_full_disk_fails_cleanly_and_the_same_command_succeeds_once_there_is_room() {
    let tmp = tempfile::tempdir().unwrap();
    let exports = tmp.path().join("exports");
    notes(&exports, 5, "epsilon");
    let disk = match Tmpfs::mount("4m") {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!(
                "skipped: cannot mount a tmpfs ({why}); \
                 a_writer_killed_by_its_file_size_limit_leaves_nothing_behind stands in"
            );
            return;
        }
    };
    let idx = disk.dir.join("idx");
    let out = index(&[&exports], &idx, &[]);
    assert!(out.status.success(), "{}", text(&out));

    // The update grows the index well past the room left.
    let more = tmp.path().join("more");
    notes(&more, 80, "zeta");
    let filler = disk.fill(96 * 1024);
    let out = index(&[&exports, &more], &idx, &[]);
    assert_refused(
        &out,
        1,
        &[
            &format!(
                "no space left on the device holding the index ({})",
                idx.display()
            ),
            " MB needed for the new generation",
            "gen-000001 is still current",
            "run the same command again",
        ],
    );
    assert!(!text(&out).contains("damaged"), "{}", text(&out));
    // No half-written generation or pointer is left, and the index answers as before.
    assert_eq!(listing(&idx), vec!["CURRENT", "gen-000001", "lock"]);
    assert!(finds(&idx, "epsilon4"));
    assert_eq!(documents(&idx), 5);

    // With room again, the same command (no --rebuild) succeeds.
    std::fs::remove_file(&filler).unwrap();
    let out = index(&[&exports, &more], &idx, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(documents(&idx), 85);
    assert!(finds(&idx, "zeta79"));
}

#[test]
fn what_a_killed_writer_left_on_a_full_disk_is_cleared_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let exports = tmp.path().join("exports");
    notes(&exports, 5, "eta");
    let disk = match Tmpfs::mount("4m") {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipped: cannot mount a tmpfs ({why})");
            return;
        }
    };
    let idx = disk.dir.join("idx");
    assert!(index(&[&exports], &idx, &[]).status.success());
    // A writer killed mid-commit left its generation, which filled the disk, and its pointer.
    let leftover = idx.join("gen-000002");
    std::fs::create_dir(&leftover).unwrap();
    std::fs::write(idx.join("CURRENT.tmp"), "gen-000002\n").unwrap();
    let mut junk = std::fs::File::create(leftover.join("vectors.f32")).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    while std::io::Write::write_all(&mut junk, &chunk).is_ok() {}
    drop(junk);
    notes(&exports, 40, "eta");
    let out = index(&[&exports], &idx, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(documents(&idx), 40);
    assert!(!idx.join("CURRENT.tmp").exists());
    let gens: Vec<String> = listing(&idx)
        .into_iter()
        .filter(|n| n.starts_with("gen-"))
        .collect();
    // The leftover went; the new generation took the next number, and no junk is left in it.
    assert_eq!(gens, vec!["gen-000001", "gen-000002"]);
    assert!(!idx.join("gen-000002/vectors.f32").exists());
    assert!(finds(&idx, "eta39"));
}

/// A real write failure that needs no mount: a writer over its file size limit (`ulimit -f`)
/// is killed by SIGXFSZ mid-write, leaving a half-written generation; the index answers as
/// before, and the next run clears the leftover and succeeds.
#[test]
fn a_writer_killed_by_its_file_size_limit_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let exports = tmp.path().join("exports");
    notes(&exports, 5, "epsilon");
    let exports = exports.as_path();
    let idx = tmp.path().join("idx");
    assert!(index(&[exports], &idx, &[]).status.success());
    let more = tmp.path().join("more");
    notes(&more, 200, "theta");
    let bin = env!("CARGO_BIN_EXE_lore");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -f 16; exec '{bin}' index '{}' '{}' --index '{}' --no-embed -q",
            exports.display(),
            more.display(),
            idx.display()
        ))
        .env("LORE_CACHE_DIR", tmp.path().join("cache"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(current(&idx), "gen-000001");
    assert!(
        listing(&idx).contains(&"gen-000002".to_string()),
        "{:?}",
        listing(&idx)
    );
    assert!(finds(&idx, "epsilon4"));
    let out = index(&[exports, &more], &idx, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let gens: Vec<String> = listing(&idx)
        .into_iter()
        .filter(|n| n.starts_with("gen-"))
        .collect();
    assert_eq!(gens.len(), 2, "{gens:?}");
    assert_eq!(documents(&idx), 205);
}

#[test]
fn demo_writes_only_to_an_index_it_made() {
    let tmp = tempfile::tempdir().unwrap();
    // Someone's index.
    let exports = tmp.path().join("exports");
    notes(&exports, 12, "iota");
    let idx = tmp.path().join("idx");
    assert!(index(&[&exports], &idx, &[]).status.success());
    let before = listing(&idx);
    let corpus = demo_corpus(&tmp.path().join("corpus"));
    let demo = |dir: &Path| {
        lore(&[
            "demo",
            "--corpus",
            s(&corpus),
            "--index",
            s(dir),
            "--show",
            "1",
            "-q",
        ])
    };
    let out = demo(&idx);
    assert_refused(
        &out,
        2,
        &[&format!(
            "{} holds an index that lore demo did not make",
            idx.display()
        )],
    );
    assert_eq!(listing(&idx), before);
    assert_eq!(documents(&idx), 12);

    // A directory with other things in it is refused too.
    let stuff = tmp.path().join("stuff");
    std::fs::create_dir_all(&stuff).unwrap();
    std::fs::write(stuff.join("thesis.txt"), "mine").unwrap();
    let out = demo(&stuff);
    assert_refused(&out, 2, &["thesis.txt", "refusing to write into it"]);
    assert_eq!(
        std::fs::read_to_string(stuff.join("thesis.txt")).unwrap(),
        "mine"
    );

    // A new directory becomes the demo's; the demo may write to it again.
    let own = tmp.path().join("demo");
    let out = demo(&own);
    assert!(out.status.success(), "{}", text(&out));
    assert!(own.join("owner").is_file());
    let out = demo(&own);
    assert!(out.status.success(), "{}", text(&out));
    // Once `lore index` wrote to it, it is the user's.
    assert!(index(&[&exports], &own, &["--allow-mass-delete"])
        .status
        .success());
    assert!(!own.join("owner").exists());
    let out = demo(&own);
    assert_refused(&out, 2, &["did not make"]);
    assert_eq!(documents(&own), 12);
}

/// A corpus `lore demo` can run: two documents and one labelled question.
fn demo_corpus(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("retention.md"),
        "# Retention\n\nCustomer logs are kept for 90 days, then deleted.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("travel.md"),
        "# Travel\n\nTrips over $500 need a manager's approval.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("questions.jsonl"),
        "{\"id\": \"q1\", \"question\": \"how long are customer logs kept?\", \"gold\": [{\"path\": \"retention.md\", \"quote\": \"kept for 90 days\"}]}\n",
    )
    .unwrap();
    std::fs::write(dir.join(".loreignore"), "questions.jsonl\n").unwrap();
    dir.to_path_buf()
}

/// A tmpfs mounted for a test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Tmpfs {
    /// A new tmpfs of `size` (e.g. `4m`).
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut disk = Tmpfs::mount_at(tmp.path(), size)?;
        disk._tmp = Some(tmp);
        Ok(disk)
    }

    /// A tmpfs of `size` mounted over `dir`.
    fn mount_at(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs {
            dir: dir.to_path_buf(),
            _tmp: None,
        })
    }

    /// Fill the disk, leaving about `room` bytes free; returns the filler file.
    fn fill(&self, room: u64) -> PathBuf {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(room)).unwrap();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).output();
    }
}
