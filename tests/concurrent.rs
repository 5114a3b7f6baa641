//! Searches while updates commit, and one writer at a time.
//!
//! The dense half here uses the small deterministic `HashEmbedder`: what is under test is the
//! plumbing of generations (which files a search reads while another process replaces them),
//! not the quality of the vectors.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lore::internals::embed::HashEmbedder;
use lore::internals::generation::WriterLock;
use lore::Embedder;
use lore::{Index, IndexBuilder, Mode, OpenOptions, SearchRequest};

/// Twenty short policies, every one carrying `marker`.
fn corpus(root: &Path, marker: &str) -> PathBuf {
    let dir = root.join(marker);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..20 {
        std::fs::write(
            dir.join(format!("policy-{i:02}.md")),
            format!(
                "# Travel policy {i}\n\nRule {i} of the {marker} edition: travel is booked \
                 through the portal, and the {marker} approver signs trips over ${i}00.\n"
            ),
        )
        .unwrap();
    }
    dir
}

fn build(index: &Path, input: &Path, embedder: &Arc<dyn Embedder>) {
    IndexBuilder::new(index)
        .embedder(embedder.clone())
        .embedding_cache(None)
        // Each edition is another folder, replacing every document of the one before.
        .allow_mass_delete(true)
        .build(&[input.to_path_buf()])
        .unwrap();
}

fn request(mode: Mode) -> SearchRequest {
    SearchRequest {
        text: "travel booked through the portal approver".into(),
        k: 10,
        mode,
        ..SearchRequest::default()
    }
}

/// The edition every hit comes from; panics on a mix.
fn edition(index: &Index, mode: Mode) -> String {
    let response = index
        .search(&request(mode))
        .expect("search during a commit");
    assert_eq!(response.hits.len(), 10);
    let editions: Vec<&str> = response
        .hits
        .iter()
        .map(|h| {
            if h.text.contains("alpha edition") {
                "alpha"
            } else {
                assert!(h.text.contains("bravo edition"), "{}", h.text);
                "bravo"
            }
        })
        .collect();
    assert!(
        editions.iter().all(|e| *e == editions[0]),
        "one answer mixes generations: {editions:?}"
    );
    editions[0].to_string()
}

/// Sets its flag when dropped, unwinding included.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The number of a generation directory (`gen-000004` is 4).
fn generation_of(dir: &Path) -> u64 {
    let name = dir.file_name().unwrap().to_str().unwrap();
    name.strip_prefix("gen-")
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("{} is not a generation directory", dir.display()))
}

/// The number of the current generation of the index at `dir`.
fn generation(dir: &Path) -> u64 {
    generation_of(Path::new(
        &lore::internals::generation::read_current(dir)
            .unwrap()
            .unwrap(),
    ))
}

#[test]
fn searches_during_commits_see_one_generation_or_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let alpha = corpus(tmp.path(), "alpha");
    let bravo = corpus(tmp.path(), "bravo");
    let index_dir = tmp.path().join("idx");
    let embedder: Arc<dyn Embedder> = Arc::new(HashEmbedder::new(32));
    build(&index_dir, &alpha, &embedder);
    let options = OpenOptions::default().embedder(embedder.clone());
    // Opened before every commit below; its dense half is loaded only after they are done,
    // when its generation's directory is long gone.
    let early = Index::open_with(&index_dir, options.clone()).unwrap();

    // Every committed generation and the edition it holds, as the writer made them.
    let committed = std::sync::Mutex::new(vec![(generation(&index_dir), "alpha".to_string())]);
    let done = AtomicBool::new(false);
    let commits = 8;
    let seen = std::thread::scope(|scope| {
        scope.spawn(|| {
            // Set however the writer ends: a failed commit then fails the test instead of
            // leaving the readers below looping for ever.
            let _done = SetOnDrop(&done);
            for i in 0..commits {
                let (input, name) = if i % 2 == 0 {
                    (&bravo, "bravo")
                } else {
                    (&alpha, "alpha")
                };
                build(&index_dir, input, &embedder);
                let mut committed = committed.lock().unwrap();
                committed.push((generation(&index_dir), name.to_string()));
            }
        });
        let readers: Vec<_> = [Mode::Hybrid, Mode::Lexical]
            .into_iter()
            .map(|mode| {
                let (done, index_dir, options) = (&done, &index_dir, &options);
                scope.spawn(move || {
                    // (generation number, edition) of every open, in order.
                    let mut seen = Vec::new();
                    let open = |seen: &mut Vec<(u64, String)>| {
                        let index = Index::open_with(index_dir, options.clone())
                            .expect("open during a commit");
                        seen.push((generation_of(index.dir()), edition(&index, mode)));
                    };
                    while !done.load(Ordering::SeqCst) || seen.is_empty() {
                        open(&mut seen);
                    }
                    // Opened after the last commit: the last generation.
                    open(&mut seen);
                    (mode, seen)
                })
            })
            .collect();
        while !done.load(Ordering::SeqCst) {
            assert_eq!(edition(&early, Mode::Lexical), "alpha");
        }
        readers
            .into_iter()
            .map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
    });
    // Each reader saw only committed generations, each holding the edition committed with it,
    // never an older generation after a newer one, and the last one once the writer was done.
    let committed = committed.into_inner().unwrap();
    assert_eq!(committed.len(), commits + 1);
    for (mode, seen) in &seen {
        for (generation, name) in seen {
            assert!(
                committed.contains(&(*generation, name.clone())),
                "{mode:?}: generation {generation} answered {name}; committed: {committed:?}"
            );
        }
        assert!(
            seen.windows(2).all(|w| w[0].0 <= w[1].0),
            "{mode:?}: generations went back: {seen:?}"
        );
        assert_eq!(seen.last(), committed.last(), "{mode:?}: {seen:?}");
        let distinct: std::collections::BTreeSet<u64> = seen.iter().map(|s| s.0).collect();
        eprintln!(
            "{mode:?}: {} searches saw {} of the {} generations",
            seen.len(),
            distinct.len(),
            committed.len()
        );
    }
    // Eight commits later the first generation's directory is removed, yet the index opened on
    // it still answers, dense half included, from that generation.
    assert!(!index_dir.join("gen-000001").exists());
    assert_eq!(edition(&early, Mode::Hybrid), "alpha");
    assert_eq!(edition(&early, Mode::Dense), "alpha");
    let latest = Index::open_with(&index_dir, options).unwrap();
    assert_eq!(edition(&latest, Mode::Hybrid), "alpha");
    // The current generation and the two before it are all that is left.
    let generations = std::fs::read_dir(&index_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gen-")
        })
        .count();
    assert_eq!(generations, lore::KEPT_GENERATIONS);
}

/// `lore index INPUT --index INDEX --no-embed`
fn index_args<'a>(input: &'a Path, index: &'a Path) -> [&'a str; 5] {
    [
        "index",
        input.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
        "--no-embed",
    ]
}

#[path = "common/mod.rs"]
mod common;

use common::lore;

#[test]
fn a_second_writer_fails_at_once_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let input = corpus(tmp.path(), "alpha");
    let index_dir = tmp.path().join("idx");
    let args = index_args(&input, &index_dir);
    let lock = WriterLock::acquire(&index_dir).unwrap();
    let out = lore(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("being written by another process"), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    drop(lock);
    let out = lore(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(unix)]
#[test]
fn a_lock_left_by_a_killed_writer_is_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("big");
    std::fs::create_dir_all(&input).unwrap();
    // Enough text that the build is still running when it is killed.
    let body = "The quarterly review moves two weeks early when the board meets. ".repeat(40);
    for i in 0..4_000 {
        std::fs::write(
            input.join(format!("note-{i:04}.md")),
            format!("# Note {i}\n\n{body}\n"),
        )
        .unwrap();
    }
    let index_dir = tmp.path().join("idx");
    let args = index_args(&input, &index_dir);
    let mut child = common::lore_command()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it holds the lock, then kill it (SIGKILL: no chance to clean up).
    let lock = index_dir.join(lore::internals::generation::LOCK);
    while std::fs::read_to_string(&lock).map_or(true, |t| t.is_empty()) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the writer ended ({status}) before it was killed: make the input bigger");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!std::fs::read_to_string(&lock).unwrap().is_empty());

    let out = lore(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = Index::open(&index_dir).unwrap();
    assert_eq!(index.manifest().counts.documents, 4_000);
    // The killed writer's unfinished generation is gone; only the committed one is left.
    let entries: Vec<String> = std::fs::read_dir(&index_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    let current = lore::internals::generation::read_current(&index_dir)
        .unwrap()
        .unwrap();
    assert_eq!(entries, vec![current], "{entries:?}");
}
