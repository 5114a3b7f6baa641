//! Crash safety: `lore index` killed with SIGKILL at random moments never leaves a broken or
//! half-updated index.
//!
//! Two editions of an export alternate in one folder (documents changed, removed and added
//! between them), so every build is an update that carries the unchanged files over. Each trial
//! writes the other edition, starts `lore index`, kills it after a random delay spread over
//! the length of a whole update, then checks that the index opens and holds exactly the last
//! committed edition (every document of it findable, none of the other half-present), and that
//! running the same command again completes with every document of the new edition. Vectors
//! come from the embedding cache (the real model fills it once), so every trial also writes
//! vectors and a graph.
//!
//! 20 trials here; `scripts/crash-trials.sh [N]` runs N (default 200) and prints the tally.

#![cfg(unix)]

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lore::{Index, Mode, SearchRequest};

/// The signal `Child::kill` sends on Unix.
const SIGKILL: i32 = 9;

/// Writes one edition into `dir`, over the other one; returns the markers of its documents.
fn edition(dir: &Path, name: &str) -> BTreeSet<String> {
    std::fs::create_dir_all(dir).unwrap();
    let mut markers = BTreeSet::new();
    // Documents 0..150 are shared; 150..200 belong to edition a, 200..250 to edition b; the
    // shared ones whose number is a multiple of 5 differ between the editions.
    let (own, other) = if name == "a" {
        (150..200, 200..250)
    } else {
        (200..250, 150..200)
    };
    for i in other {
        let _ = std::fs::remove_file(dir.join(format!("record-{i:03}.md")));
    }
    for i in (0..150).chain(own) {
        let changed = i < 150 && i % 5 == 0;
        let marker = if changed || i >= 150 {
            format!("m{i}{name}")
        } else {
            format!("m{i}")
        };
        let body = format!(
            "# Record {i}\n\nMarker {marker}. The facilities team logs request {i} and the \
             finance team reviews it within {} days before the quarterly close.\n",
            i % 9 + 1
        );
        std::fs::write(dir.join(format!("record-{i:03}.md")), body).unwrap();
        markers.insert(marker);
    }
    markers
}

#[path = "common/mod.rs"]
mod common;

fn lore(args: &[&str], cache: &Path) -> Command {
    let mut c = common::lore_command_in_cache(cache);
    c.args(args);
    c
}

/// The markers the index at `dir` holds, read from every chunk.
fn markers(dir: &Path) -> BTreeSet<String> {
    let index = Index::open(dir).expect("the index opens after a kill");
    let n = index.manifest().counts.chunks;
    let mut out = BTreeSet::new();
    for ord in 0..n as u32 {
        let chunk = index.chunk(ord).expect("every chunk reads back");
        let marker = chunk
            .text
            .split_whitespace()
            .find(|w| w.starts_with('m') && w.len() > 1 && w.as_bytes()[1].is_ascii_digit())
            .expect("a marker")
            .trim_end_matches('.')
            .to_string();
        out.insert(marker);
    }
    out
}

/// Every marker of `expected` is findable by search, and the dense half answers too.
fn findable(dir: &Path, expected: &BTreeSet<String>) {
    let index = Index::open(dir).unwrap();
    for marker in expected.iter().step_by(37) {
        let response = index
            .search(&SearchRequest {
                text: format!("Marker {marker}"),
                k: 3,
                mode: Mode::Lexical,
                ..SearchRequest::default()
            })
            .unwrap();
        assert!(
            response
                .hits
                .iter()
                .any(|h| h.text.contains(&format!("{marker}."))),
            "{marker} not found"
        );
    }
    let dense = index
        .search(&SearchRequest {
            text: "facilities request reviewed by finance".into(),
            k: 5,
            mode: Mode::Dense,
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(dense.hits.len(), 5);
}

#[test]
fn killed_builds_leave_the_last_committed_index() {
    let trials: usize = std::env::var("LORE_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    // Both editions take turns in one folder, so that every build is an update: shared files
    // carried over, changed ones reloaded, the other edition's own ones removed.
    let src = tmp.path().join("export");
    let markers_b = edition(&src, "b");
    let markers_a = edition(&src, "a");
    let index_dir = tmp.path().join("idx");
    let index_s = index_dir.to_str().unwrap();
    let command = |input: &Path| {
        vec![
            "index".to_string(),
            input.to_str().unwrap().to_string(),
            "--index".to_string(),
            index_s.to_string(),
        ]
    };
    let run = |input: &Path| {
        let args = command(input);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = lore(&args, &cache).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Fill the embedding cache with both editions (the only time the model runs), and time an
    // update from one to the other.
    edition(&src, "a");
    run(&src);
    edition(&src, "b");
    run(&src);
    edition(&src, "a");
    let started = Instant::now();
    run(&src);
    let build = started.elapsed();
    assert_eq!(markers(&index_dir), markers_a);

    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut committed = &markers_a;
    let (mut before_commit, mut after_commit, mut completed) = (0, 0, 0);
    for trial in 0..trials {
        let (name, target) = if trial % 2 == 0 {
            ("b", &markers_b)
        } else {
            ("a", &markers_a)
        };
        edition(&src, name);
        let input = &src;
        // A delay spread over 1.2 builds: some kills land after the commit.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = build.mul_f64((seed % 1_000) as f64 / 1_000.0 * 1.2);
        let args = command(input);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = lore(&args, &cache)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();

        // Killed, or already done: a build never fails on its own.
        let finished = status.success();
        completed += usize::from(finished);
        assert!(
            finished || status.signal() == Some(SIGKILL),
            "trial {trial}: the build ended with {status}, not by the kill"
        );
        let held = markers(&index_dir);
        if held == *committed {
            // A build that exited successfully has committed the new edition.
            assert!(
                !finished,
                "trial {trial}: the build succeeded, yet the index holds the previous edition"
            );
            before_commit += 1;
        } else {
            assert_eq!(
                &held, target,
                "trial {trial}: the index holds neither the last committed edition nor the new one"
            );
            after_commit += 1;
        }
        findable(&index_dir, &held);

        // The same command again completes, with every document of the new edition.
        run(input);
        assert_eq!(&markers(&index_dir), target, "trial {trial}: rerun");
        committed = target;
    }
    eprintln!(
        "{trials} kills ({:.0} ms builds): {before_commit} left the previous edition, \
         {after_commit} the new one ({completed} of them had exited successfully before the \
         kill); every index opened and every rerun completed",
        build.as_secs_f64() * 1e3
    );
}

#[test]
fn a_kill_before_the_first_commit_leaves_no_index_and_a_rerun_builds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let a = tmp.path().join("export");
    let markers_a = edition(&a, "a");
    let index_dir = tmp.path().join("idx");
    let args = [
        "index",
        a.to_str().unwrap(),
        "--index",
        index_dir.to_str().unwrap(),
        "--no-embed",
    ];
    let mut child = lore(&args, &cache)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed as soon as it holds the lock: long before its commit.
    let lock = index_dir.join(lore::internals::generation::LOCK);
    while std::fs::read_to_string(&lock).map_or(true, |t| t.is_empty()) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the writer ended ({status}) before it was killed");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let err = Index::open(&index_dir).unwrap_err();
    assert!(
        matches!(err, lore::Error::User(lore::UserError::NoIndex { .. })),
        "{err}"
    );
    let out = lore(&args, &cache).output().unwrap();
    assert!(out.status.success());
    assert_eq!(markers(&index_dir), markers_a);
}
