//! Exit codes and limits: bad usage exits 2 in every command, naming the option; a count is
//! at least 1 everywhere; an inverted date range and a weight out of range are refused.

use std::path::Path;

use crate::common;

fn run(args: &[&str], index: &Path) -> (Option<i32>, String) {
    let mut args: Vec<&str> = args.to_vec();
    args.extend(["--index", index.to_str().unwrap()]);
    let out = common::lore(&args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn bad_usage_exits_2_in_every_command_and_names_the_option() {
    let (_tmp, _ex, idx) = common::fixture();
    let cases: &[(&[&str], &str)] = &[
        (&["search", "x", "-k", "0"], "--k"),
        (&["who", "x", "-k", "0"], "--k"),
        (&["decisions", "x", "-k", "0"], "--k"),
        (&["context", "x", "--budget", "0"], "--budget"),
        (
            &["context", "x", "--budget", "300", "--candidates", "0"],
            "--candidates",
        ),
        (&["context", "x", "--budget", "5"], "budget"),
        (&["search", "x", "-f", "nope=1"], "nope"),
        (&["search", "x", "-f", "oops"], "key=value"),
        (&["search", "x", "-f", "since=yesterday"], "yesterday"),
        (
            &[
                "search",
                "x",
                "--since",
                "2026-05-01",
                "--until",
                "2026-01-01",
            ],
            "since 2026-05-01 is after until 2026-01-01",
        ),
        (
            &[
                "search",
                "x",
                "-f",
                "since=2026-05-01",
                "-f",
                "until=2026-01-01",
            ],
            "since 2026-05-01 is after until 2026-01-01",
        ),
        (
            &[
                "context",
                "x",
                "--budget",
                "300",
                "-f",
                "since=2026-05-01",
                "-f",
                "until=2026-01-01",
            ],
            "is after until",
        ),
        (
            &["search", "x", "--lexical-weight", "7"],
            "--lexical-weight",
        ),
        (
            &["search", "x", "--lexical-weight", "-0.1"],
            "--lexical-weight",
        ),
        (
            &["search", "x", "--context-weight", "NaN"],
            "--context-weight",
        ),
        (
            &["search", "x", "--fusion", "rrf", "--rrf-k", "0"],
            "--rrf-k",
        ),
        (&["who", "x", "--half-life", "0"], "--half-life"),
        (&["search", "x", "--mode", "fuzzy"], "fuzzy"),
        (&["audit", "--op", "nope"], "--op"),
        (&["decisions", "--kind", "nope"], "unknown kind `nope`"),
    ];
    for (args, names) in cases {
        let (code, err) = run(args, &idx);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(names), "{args:?} should name {names}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn errors_that_are_not_usage_exit_1_and_good_limits_pass() {
    let (tmp, _ex, idx) = common::fixture();
    // A wrong --index is an error, not bad usage: exit 1, naming the directory.
    let missing = tmp.path().join("no-such-index");
    let (code, err) = run(&["search", "x"], &missing);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no-such-index"), "{err}");
    // The edges of each range are accepted.
    for args in [
        &["search", "billing", "-k", "1", "--lexical-weight", "0"][..],
        &[
            "search",
            "billing",
            "--lexical-weight",
            "1",
            "--context-weight",
            "0",
        ],
        &[
            "search",
            "billing",
            "--since",
            "2026-03-02",
            "--until",
            "2026-03-02",
        ],
        &["who", "billing", "-k", "1"],
        &["decisions", "-k", "1", "--status", "all"],
    ] {
        let (code, err) = run(args, &idx);
        assert_eq!(code, Some(0), "{args:?}: {err}");
    }
    // -k 1 means one.
    let mut args = vec![
        "decisions",
        "--status",
        "all",
        "-k",
        "1",
        "--json",
        "--index",
    ];
    args.push(idx.to_str().unwrap());
    let out = common::lore(&args);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["entries"].as_array().map(Vec::len), Some(1), "{json}");
}
