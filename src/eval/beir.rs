//! Labelled retrieval data in the BEIR layout: `corpus.jsonl`, `queries.jsonl`, `qrels.tsv`.
//!
//! - `queries.jsonl`: one JSON object per line with `id` (or `_id`) and `text`; every other
//!   string or number field is kept (e.g. `meeting_id`, used by scoped evaluation).
//! - `qrels.tsv`: `query-id<TAB>corpus-id<TAB>score`, with or without BEIR's header line; the
//!   four-column TREC form `query-id 0 corpus-id score` is read too.
//!
//! Bad lines are not fatal: each is reported as [`Skipped`] (file, line, reason) and the rest
//! is read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::eval::metrics::Qrels;
use crate::model::Skipped;

/// One labelled query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalQuery {
    /// Query id, as in the qrels.
    pub id: String,
    /// The query text.
    pub text: String,
    /// Other fields of the query record, as strings.
    pub fields: BTreeMap<String, String>,
}

/// A labelled data set: a corpus to index, queries and graded judgements.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Short name (the folder name, or the corpus file's stem).
    pub name: String,
    /// The corpus file (or folder) to index.
    pub corpus: PathBuf,
    /// The queries file.
    pub queries_path: PathBuf,
    /// The judgements file.
    pub qrels_path: PathBuf,
    /// Queries, in file order.
    pub queries: Vec<EvalQuery>,
    /// Judgements by query id.
    pub qrels: Qrels,
    /// Lines that could not be read.
    pub skipped: Vec<Skipped>,
}

impl Dataset {
    /// Open a BEIR-style directory holding `corpus.jsonl`, `queries.jsonl` and `qrels.tsv`
    /// (BEIR's `qrels/test.tsv` is found too).
    pub fn open_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::invalid_request(format!(
                "{} is not a directory (expected one holding corpus.jsonl, queries.jsonl and qrels.tsv)",
                dir.display()
            )));
        }
        let qrels = [dir.join("qrels.tsv"), dir.join("qrels").join("test.tsv")]
            .into_iter()
            .find(|p| p.is_file())
            .unwrap_or_else(|| dir.join("qrels.tsv"));
        let mut dataset = Dataset::from_paths(
            &dir.join("corpus.jsonl"),
            &dir.join("queries.jsonl"),
            &qrels,
        )?;
        if let Some(name) = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        {
            dataset.name = name;
        }
        Ok(dataset)
    }

    /// Read a data set from explicit paths.
    pub fn from_paths(corpus: &Path, queries: &Path, qrels: &Path) -> Result<Self> {
        for (what, path) in [("corpus", corpus), ("queries", queries), ("qrels", qrels)] {
            if !path.exists() {
                return Err(Error::invalid_request(format!(
                    "{what} file {} does not exist",
                    path.display()
                )));
            }
        }
        let mut skipped = Vec::new();
        let queries_text = read(queries)?;
        let qrels_text = read(qrels)?;
        let parsed_queries = parse_queries(queries, &queries_text, &mut skipped);
        let parsed_qrels = parse_qrels(qrels, &qrels_text, &mut skipped);
        let name = corpus
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "corpus".into());
        Ok(Dataset {
            name,
            corpus: corpus.to_path_buf(),
            queries_path: queries.to_path_buf(),
            qrels_path: qrels.to_path_buf(),
            queries: parsed_queries,
            qrels: parsed_qrels,
            skipped,
        })
    }
}

fn read(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| Error::load(path, format!("not UTF-8 ({e})")))
}

/// Parse `queries.jsonl`.
pub fn parse_queries(path: &Path, text: &str, skipped: &mut Vec<Skipped>) -> Vec<EvalQuery> {
    let mut out = Vec::new();
    let mut skip = |line: usize, reason: String| {
        skipped.push(Skipped {
            path: path.to_path_buf(),
            line: Some(line),
            reason,
        })
    };
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                skip(line_no, format!("not JSON: {e}"));
                continue;
            }
        };
        let Some(object) = value.as_object() else {
            skip(line_no, "not a JSON object".into());
            continue;
        };
        let id = match object.get("id").or_else(|| object.get("_id")) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => {
                skip(line_no, "no `id` (or `_id`)".into());
                continue;
            }
        };
        let Some(text) = object.get("text").and_then(|t| t.as_str()) else {
            skip(line_no, format!("query `{id}` has no `text`"));
            continue;
        };
        if text.trim().is_empty() {
            skip(line_no, format!("query `{id}` has an empty `text`"));
            continue;
        }
        let fields = object
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "id" | "_id" | "text"))
            .filter_map(|(k, v)| match v {
                serde_json::Value::String(s) => Some((k.clone(), s.clone())),
                serde_json::Value::Number(n) => Some((k.clone(), n.to_string())),
                serde_json::Value::Bool(b) => Some((k.clone(), b.to_string())),
                _ => None,
            })
            .collect();
        out.push(EvalQuery {
            id,
            text: text.to_string(),
            fields,
        });
    }
    out
}

/// Parse judgements (BEIR TSV with or without header, or TREC's four columns).
pub fn parse_qrels(path: &Path, text: &str, skipped: &mut Vec<Skipped>) -> Qrels {
    let mut qrels = Qrels::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let fields: Vec<&str> = if line.contains('\t') {
            line.split('\t').map(str::trim).collect()
        } else {
            line.split_whitespace().collect()
        };
        let (query, doc, score) = match fields.as_slice() {
            [] | [""] => continue,
            [q, ..] if i == 0 && q.eq_ignore_ascii_case("query-id") => continue,
            [q, d, s] => (*q, *d, *s),
            [q, _, d, s] => (*q, *d, *s),
            _ => {
                skipped.push(Skipped {
                    path: path.to_path_buf(),
                    line: Some(line_no),
                    reason: format!(
                        "expected `query-id<TAB>corpus-id<TAB>score`, found {} fields",
                        fields.len()
                    ),
                });
                continue;
            }
        };
        let Ok(score) = score.parse::<i64>() else {
            skipped.push(Skipped {
                path: path.to_path_buf(),
                line: Some(line_no),
                reason: format!("score `{score}` is not an integer"),
            });
            continue;
        };
        qrels
            .entry(query.to_string())
            .or_default()
            .insert(doc.to_string(), score.max(0) as u32);
    }
    qrels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_queries_with_their_fields_and_reports_bad_lines() {
        let mut skipped = Vec::new();
        let text = "{\"_id\": \"1\", \"text\": \"first\", \"meeting_id\": \"Bed003\", \"n\": 2, \"spans\": [[1, 2]]}\n\
                    not json\n\
                    \n\
                    {\"id\": \"3\"}\n\
                    {\"id\": 4, \"text\": \"fourth\"}\n";
        let q = parse_queries(Path::new("q.jsonl"), text, &mut skipped);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].id, "1");
        assert_eq!(q[0].fields["meeting_id"], "Bed003");
        assert_eq!(q[0].fields["n"], "2");
        assert!(!q[0].fields.contains_key("spans"));
        assert_eq!(q[1].id, "4");
        let lines: Vec<_> = skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [Some(2), Some(4)]);
        assert!(skipped[1].reason.contains("no `text`"), "{skipped:?}");
    }

    #[test]
    fn reads_beir_and_trec_qrels() {
        let mut skipped = Vec::new();
        let beir =
            "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t2\nq2\td3\t0\nq3\tbroken\nq4\td4\tx\n";
        let qrels = parse_qrels(Path::new("qrels.tsv"), beir, &mut skipped);
        assert_eq!(qrels["q1"]["d2"], 2);
        assert_eq!(qrels["q2"]["d3"], 0);
        assert_eq!(skipped.len(), 2);
        assert_eq!(skipped[0].line, Some(5));
        assert_eq!(skipped[1].line, Some(6));

        let mut skipped = Vec::new();
        let trec = "q1 0 d1 1\nq1 0 d9 0\n";
        let qrels = parse_qrels(Path::new("qrels.txt"), trec, &mut skipped);
        assert_eq!(qrels["q1"].len(), 2);
        assert!(skipped.is_empty());
    }
}
