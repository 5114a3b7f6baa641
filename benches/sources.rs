//! What checking cited sources costs a warm search (see the `stale` module guide in the
//! source): search latency on an index of the shipped `corpus/`, the same index opened with
//! `SourceChecking::Off` and with the default `Metadata` (one `stat` per distinct cited file
//! per search), and with `Content` (every cited file read and hashed); then with every source
//! file touched (same bytes, new modification time), the worst case of `Metadata`: each cited
//! file read and hashed on every search until the next `lore index`.
//!
//! `corpus/` is copied to a temporary folder and indexed there (with embeddings, from the
//! embedding cache after the first run), so that touching the copies leaves the repository
//! alone. Each latency pass opens the index, runs three untimed rounds over the questions of
//! `corpus/questions.jsonl`, then `ROUNDS` timed rounds in which the checkings take turns query
//! by query (so that a drift of the machine's speed falls on both alike), and reports p50/p99
//! (nearest rank) per mode and checking. Correctness is asserted once before timing: on the
//! fresh index the checked answers flag nothing and hold the same hits as the unchecked ones;
//! once touched, still nothing is flagged. The check alone (a fresh checker over the hits of
//! each lexical answer, as a search makes one) is timed too: what the searches' difference
//! should be, without their noise.
//!
//! Run: `cargo bench --bench sources`. Results: printed, and written to
//! `target/lore-bench/sources.json`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use common::{corpus_dir, corpus_questions, ms, percentile};
use criterion::Criterion;
use lore::{Index, IndexBuilder, Mode, OpenOptions, SearchRequest, SourceChecking};
use serde_json::json;

const ROUNDS: usize = 30;
const K: usize = 10;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read corpus/") {
        let entry = entry.expect("read corpus/");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a corpus file");
        }
    }
}

/// Every file below `dir`, given a modification time an hour ahead (same bytes).
fn touch_all(dir: &Path) -> usize {
    let later = SystemTime::now() + Duration::from_secs(3600);
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("read the copy") {
        let path = entry.expect("read the copy").path();
        if path.is_dir() {
            n += touch_all(&path);
        } else {
            std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(later))
                .expect("touch a file");
            n += 1;
        }
    }
    n
}

fn open(dir: &Path, how: SourceChecking) -> Index {
    Index::open_with(dir, OpenOptions::default().source_checking(how)).expect("open the index")
}

fn request(q: &str, mode: Mode) -> SearchRequest {
    SearchRequest {
        text: q.to_string(),
        k: K,
        mode,
        ..SearchRequest::default()
    }
}

/// Assert that `checked` answers like `plain` and flags nothing.
fn assert_same_and_fresh(plain: &Index, checked: &Index, questions: &[String], mode: Mode) {
    for q in questions {
        let a = plain.search(&request(q, mode)).expect("search");
        let b = checked.search(&request(q, mode)).expect("search");
        let ids = |r: &lore::SearchResponse| -> Vec<String> {
            r.hits.iter().map(|h| h.chunk_id.clone()).collect()
        };
        assert_eq!(ids(&a), ids(&b), "{q}");
        assert!(
            b.hits.iter().all(|h| h.stale.is_none()),
            "{q}: {:?}",
            b.hits
        );
    }
}

/// p50 and p99 of each index in `indexes`, which take turns query by query.
fn latency(indexes: &[(&str, &Index)], questions: &[String], mode: Mode) -> serde_json::Value {
    for _ in 0..3 {
        for q in questions {
            for (_, index) in indexes {
                index.search(&request(q, mode)).expect("search");
            }
        }
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); indexes.len()];
    for round in 0..ROUNDS {
        for q in questions {
            for i in 0..indexes.len() {
                // Who goes first changes every round.
                let at = (i + round) % indexes.len();
                let started = Instant::now();
                let response = indexes[at].1.search(&request(q, mode)).expect("search");
                times[at].push(started.elapsed());
                std::hint::black_box(response);
            }
        }
    }
    let mut out = serde_json::Map::new();
    for ((name, _), mut t) in indexes.iter().zip(times) {
        t.sort();
        let (p50, p99) = (ms(percentile(&t, 50.0)), ms(percentile(&t, 99.0)));
        eprintln!(
            "  {:<8} {:<22} p50 {p50:.3} ms  p99 {p99:.3} ms  ({} searches)",
            mode.as_str(),
            name,
            t.len()
        );
        out.insert(
            name.to_string(),
            json!({ "p50_ms": p50, "p99_ms": p99, "runs": t.len() }),
        );
    }
    serde_json::Value::Object(out)
}

fn main() {
    let questions = corpus_questions();
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let corpus = tmp.path().join("corpus");
    copy_dir(&corpus_dir(), &corpus);
    let dir = tmp.path().join("index");
    let report = IndexBuilder::new(&dir)
        .build(std::slice::from_ref(&corpus))
        .expect("index corpus/");
    eprintln!(
        "corpus/: {} documents, {} chunks; {} questions, {ROUNDS} timed rounds",
        report.num_documents,
        report.num_chunks,
        questions.len()
    );

    let off = open(&dir, SourceChecking::Off);
    let metadata = open(&dir, SourceChecking::Metadata);
    let content = open(&dir, SourceChecking::Content);
    let mut results = serde_json::Map::new();
    for mode in [Mode::Lexical, Mode::Hybrid] {
        assert_same_and_fresh(&off, &metadata, &questions, mode);
        assert_same_and_fresh(&off, &content, &questions, mode);
        let fresh = latency(
            &[
                ("off", &off),
                ("metadata", &metadata),
                ("content", &content),
            ],
            &questions,
            mode,
        );
        results.insert(mode.as_str().to_string(), fresh);
    }

    // The check alone, as a search adds it: a fresh checker (one per answer) over the hits of
    // each lexical answer, one `stat` per distinct cited file.
    let answers: Vec<lore::SearchResponse> = questions
        .iter()
        .map(|q| off.search(&request(q, Mode::Lexical)).expect("search"))
        .collect();
    let mut alone = Vec::new();
    let mut num_files = Vec::new();
    for round in 0..ROUNDS + 3 {
        for answer in &answers {
            let started = Instant::now();
            let checker = metadata.source_checker().expect("a checker");
            for hit in &answer.hits {
                assert!(checker.passage(&hit.provenance, &hit.text).is_none());
            }
            let took = started.elapsed();
            if round >= 3 {
                alone.push(took);
            }
            if round == 0 {
                let mut paths: Vec<&str> = answer
                    .hits
                    .iter()
                    .map(|h| h.provenance.path.as_str())
                    .collect();
                paths.sort_unstable();
                paths.dedup();
                num_files.push(paths.len());
            }
        }
    }
    alone.sort();
    num_files.sort_unstable();
    let (p50, p99) = (ms(percentile(&alone, 50.0)), ms(percentile(&alone, 99.0)));
    let median_files = num_files[num_files.len() / 2];
    eprintln!(
        "  the check alone (metadata, 10 hits): p50 {p50:.4} ms  p99 {p99:.4} ms; {median_files} distinct files per answer (median)"
    );
    results.insert(
        "check_alone".into(),
        json!({ "p50_ms": p50, "p99_ms": p99, "median_distinct_files": median_files }),
    );

    // The same searches once every source file was touched.
    let touched = touch_all(&corpus);
    eprintln!("touched {touched} files (same bytes, new modification time)");
    let metadata_touched = open(&dir, SourceChecking::Metadata);
    for mode in [Mode::Lexical, Mode::Hybrid] {
        assert_same_and_fresh(&off, &metadata_touched, &questions, mode);
        let worst = latency(
            &[("off", &off), ("metadata_touched", &metadata_touched)],
            &questions,
            mode,
        );
        results.insert(format!("{}_touched", mode.as_str()), worst);
    }

    // criterion's own estimate of the two lexical searches, cycling through the questions.
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("sources_lexical");
    for (name, index) in [("off", &off), ("metadata", &metadata)] {
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % questions.len();
                index
                    .search(&request(&questions[i], Mode::Lexical))
                    .expect("search")
            })
        });
    }
    group.finish();
    criterion.final_summary();

    let path = common::write_result("sources.json", &serde_json::Value::Object(results));
    eprintln!("written to {}", path.display());
}
