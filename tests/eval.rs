//! `lore eval` end to end on a small labelled data set written at test time: the report's
//! shape and figures, TREC run files, index reuse, meeting-scoped runs and bad input lines.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

#[path = "common/mod.rs"]
mod common;

fn lore(args: &[&str], cache: &Path) -> Output {
    common::lore_in_cache(args, cache)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Two meetings, four passages each; queries carry their meeting.
fn write_dataset(dir: &Path) {
    let passages = [
        ("m1_a", "m1", "Priya: The renewal contract with Northwind goes to Dana in legal because it is under fifty thousand dollars."),
        ("m1_b", "m1", "Omar: Contracts above fifty thousand dollars go to the outside firm, Barrow and Kemp, for review."),
        ("m1_c", "m1", "Priya: The quarterly business review moves two weeks early every year because of the audit."),
        ("m1_d", "m1", "Omar: Lunch is sandwiches again. Nobody objected to the sandwiches."),
        ("m2_a", "m2", "Lena: We agreed to retire the old billing service once the ledger migration finishes."),
        ("m2_b", "m2", "Sam: The ledger migration owner is Lena; Sam handles the rollback plan."),
        ("m2_c", "m2", "Lena: Contracts for cloud hosting renew in March; procurement tracks them."),
        ("m2_d", "m2", "Sam: The office plants need water on Fridays."),
    ];
    let corpus: String = passages
        .iter()
        .map(|(id, meeting, text)| {
            serde_json::json!({"id": id, "title": meeting, "text": text, "meeting_id": meeting})
                .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(dir.join("corpus.jsonl"), corpus).unwrap();
    let queries = [
        (
            "q1",
            "m1",
            "Who reviews contracts over fifty thousand dollars?",
        ),
        (
            "q2",
            "m1",
            "When does the quarterly business review happen?",
        ),
        ("q3", "m2", "Who owns the ledger migration?"),
        ("q4", "m2", "Which contracts renew in March?"),
        ("q5", "m2", "A query nobody judged"),
    ];
    let mut lines: Vec<String> = queries
        .iter()
        .map(|(id, meeting, text)| {
            serde_json::json!({"id": id, "text": text, "meeting_id": meeting}).to_string()
        })
        .collect();
    lines.push("{not json".into());
    std::fs::write(dir.join("queries.jsonl"), lines.join("\n") + "\n").unwrap();
    std::fs::write(
        dir.join("qrels.tsv"),
        "query-id\tcorpus-id\tscore\nq1\tm1_b\t2\nq1\tm1_a\t1\nq2\tm1_c\t1\nq3\tm2_b\t1\nq4\tm2_c\t1\nq4\tm1_b\t0\n",
    )
    .unwrap();
}

fn report(out_dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out_dir.join("eval.json")).unwrap()).unwrap()
}

#[test]
fn eval_reports_every_mode_writes_runs_and_reuses_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("tiny");
    std::fs::create_dir(&data).unwrap();
    write_dataset(&data);
    let cache = tmp.path().join("cache");
    let index = tmp.path().join("index");
    let out_dir = tmp.path().join("out");
    let args = [
        "eval",
        data.to_str().unwrap(),
        "--mode",
        "all",
        "--index",
        index.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let out = lore(&args, &cache);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for mode in ["lexical", "dense", "hybrid"] {
        assert!(table.contains(mode), "{table}");
    }
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("queries.jsonl:6"),
        "bad line named: {stderr}"
    );
    assert!(
        stderr.contains("1 queries not evaluated: no relevant document"),
        "{stderr}"
    );

    let r = report(&out_dir);
    assert_eq!(r["dataset"], "tiny");
    assert_eq!(r["queries_total"], 5);
    assert_eq!(r["queries_evaluated"], 4);
    assert_eq!(r["index"]["reused"], false);
    assert_eq!(r["index"]["documents"], 8);
    for mode in ["lexical", "dense", "hybrid"] {
        let m = &r["modes"][mode];
        for metric in ["ndcg@10", "recall@10", "recall@100", "mrr@10"] {
            let v = m[metric].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{mode} {metric} {v}");
        }
        // Every relevant passage is among 8, so all of them are within the top 10.
        assert_eq!(m["recall@10"].as_f64().unwrap(), 1.0, "{mode}");
        assert!(m["ndcg@10"].as_f64().unwrap() > 0.6, "{mode}: {m}");
        assert_eq!(m["queries"], 4);
        assert!(m["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
        let run = std::fs::read_to_string(out_dir.join(format!("{mode}.trec"))).unwrap();
        let lines: Vec<&str> = run.lines().collect();
        // Four queries, each ranking all 8 passages (every one shares a word or a vector).
        assert!(lines.len() > 4 && lines.len() <= 32, "{run}");
        for line in &lines {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f.len(), 6, "{line}");
            assert_eq!(f[1], "Q0");
            assert_eq!(f[5], format!("lore-{mode}"));
        }
    }
    // Lexically, q1's grade-2 passage is the best match.
    let lexical = std::fs::read_to_string(out_dir.join("lexical.trec")).unwrap();
    assert!(lexical.starts_with("q1 Q0 m1_b 1 "), "{lexical}");

    // A second run finds the index current and reuses it.
    let out = lore(&args, &cache);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("reusing the current index"));
    let again = report(&out_dir);
    assert_eq!(again["index"]["reused"], true);
    assert_eq!(
        again["modes"]["hybrid"]["ndcg@10"],
        r["modes"]["hybrid"]["ndcg@10"]
    );

    // A different chunking setting is a different index: rebuilt, with vectors from the cache.
    let mut changed: Vec<&str> = args.to_vec();
    changed.extend(["--max-tokens", "64", "--mode", "lexical"]);
    let out = lore(&changed, &cache);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(report(&out_dir)["index"]["reused"], false);
}

#[test]
fn scoped_eval_only_ranks_the_querys_own_meeting() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("tiny");
    std::fs::create_dir(&data).unwrap();
    write_dataset(&data);
    let cache = tmp.path().join("cache");
    let out_dir = tmp.path().join("scoped");
    let out = lore(
        &[
            "eval",
            "--corpus",
            data.join("corpus.jsonl").to_str().unwrap(),
            "--queries",
            data.join("queries.jsonl").to_str().unwrap(),
            "--qrels",
            data.join("qrels.tsv").to_str().unwrap(),
            "--mode",
            "dense,lexical",
            "--scope",
            "meeting_id",
            "--index",
            tmp.path().join("index").to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
        &cache,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = report(&out_dir);
    assert_eq!(r["scope"], "meeting_id");
    assert!(r["modes"].get("hybrid").is_none());
    for mode in ["dense", "lexical"] {
        let run = std::fs::read_to_string(out_dir.join(format!("{mode}.trec"))).unwrap();
        for line in run.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let meeting = if ["q1", "q2"].contains(&f[0]) {
                "m1_"
            } else {
                "m2_"
            };
            assert!(f[2].starts_with(meeting), "{mode}: {line}");
        }
    }
    // Scoped to one meeting, recall@10 is perfect and dense ranks all four passages.
    let dense = std::fs::read_to_string(out_dir.join("dense.trec")).unwrap();
    assert_eq!(dense.lines().filter(|l| l.starts_with("q3 ")).count(), 4);
}

#[test]
fn eval_refuses_unusable_input_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let out = lore(&["eval", tmp.path().to_str().unwrap()], &cache);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("corpus.jsonl") && err.contains("does not exist"),
        "{err}"
    );

    let out = lore(
        &["eval", tmp.path().to_str().unwrap(), "--mode", "fuzzy"],
        &cache,
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown mode `fuzzy`"));
}
