//! What the integration tests share: the one way to run the binary (its environment policy:
//! the model directory kept, the embedding cache in a per-process scratch directory or the one
//! a test gives, no other inherited `LORE_*` variable), the fixture exports and index, a tokens
//! file, a running `lore serve`, and a JSON client that gives up on a hung server. A suite
//! includes it with `#[path = "common/mod.rs"] mod common;`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const PRIYA_TOKEN: &str = "priya-token-0123456789abcdef";
pub const OMAR_TOKEN: &str = "omar-token-0123456789abcdef";

/// The per-process scratch embedding cache of [`lore_command`].
pub fn scratch_cache() -> PathBuf {
    std::env::temp_dir().join(format!("lore-test-cache-{}", std::process::id()))
}

/// `lore` under the tests' environment policy: every inherited `LORE_*` variable removed but
/// `LORE_MODEL_DIR` (where the model is), and the embedding cache in [`scratch_cache`] (never
/// the user's).
pub fn lore_command() -> Command {
    lore_command_in_cache(&scratch_cache())
}

/// [`lore_command`] with the embedding cache in `cache`.
pub fn lore_command_in_cache(cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lore"));
    for (name, _) in std::env::vars_os() {
        let inherited = name.to_str().is_some_and(|n| n.starts_with("LORE_"));
        if inherited && name != "LORE_MODEL_DIR" {
            cmd.env_remove(name);
        }
    }
    cmd.env("LORE_CACHE_DIR", cache);
    cmd
}

/// Run `lore ARGS` under [`lore_command`]'s policy.
pub fn lore(args: &[&str]) -> Output {
    lore_command().args(args).output().expect("run lore")
}

/// Run `lore ARGS` with the embedding cache in `cache`.
pub fn lore_in_cache(args: &[&str], cache: &Path) -> Output {
    lore_command_in_cache(cache)
        .args(args)
        .output()
        .expect("run lore")
}

/// The fixture exports: a decision record, meeting notes, a wiki page, and board minutes only
/// priya may read, with a `codename` field only she may filter on (every other document is
/// open to everyone).
pub fn exports(dir: &Path) -> PathBuf {
    let files: &[(&str, &str)] = &[
        (
            "0009-outside-counsel.md",
            "---\nreaders: [\"*\"]\n---\n# ADR-0009: Raise the outside counsel threshold to $75K\n\n\
             - Status: Accepted\n- Date: 2026-02-10\n- Deciders: Priya Raman\n\n## Context\n\n\
             Outside counsel spend grew to $240K last year.\n\n## Decision\n\n\
             Contracts over $75K go to Hartwell & Lane; smaller ones are reviewed in-house by Priya Raman.\n",
        ),
        (
            "2026-03-02-finance-sync.md",
            "---\ntitle: Finance sync\ndate: 2026-03-02\nauthors: [Dana Whitfield]\nreaders: [\"*\"]\n---\n\
             # Finance sync\n\nDana Whitfield walked through billing reconciliation for February.\n\n\
             Decision: billing reconciliation moves to the first business day of each month.\n\n\
             Action: Marcus Lee to update the reconciliation runbook by 2026-03-09.\n\n\
             ## Vendor review\n\nThe team reviewed the cloud vendor renewal and its pricing tiers.\n",
        ),
        (
            "wiki-onboarding.md",
            "---\nreaders: [\"*\"]\n---\n# Onboarding\n\nNew engineers get a laptop on day one and a \
             buddy for their first month. Questions about payroll go to Dana Whitfield.\n",
        ),
        (
            "board-minutes.md",
            "---\ntitle: Board minutes\ndate: 2026-03-01\nreaders: [priya]\ncodename: zanzibar\n---\n# Board minutes\n\n\
             The board discussed the zanzibar acquisition in private session.\n",
        ),
    ];
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir.to_path_buf()
}

/// Index `exports` into `index` with the real binary.
pub fn index(exports: &Path, index: &Path) {
    let out = lore(&[
        "index",
        exports.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "lore index failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fixture index in a fresh temporary directory: `(tmp, exports, index)`.
pub fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let ex = exports(&tmp.path().join("exports"));
    let idx = tmp.path().join("index");
    index(&ex, &idx);
    (tmp, ex, idx)
}

/// A tokens file for priya and omar, private to its owner.
pub fn write_tokens(dir: &Path) -> PathBuf {
    let path = dir.join("tokens.toml");
    std::fs::write(
        &path,
        format!(
            "[[token]]\ntoken = \"{PRIYA_TOKEN}\"\nuser = \"priya\"\n\n\
             [[token]]\ntoken = \"{OMAR_TOKEN}\"\nuser = \"omar\"\n"
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

/// A running `lore serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Start `lore serve --index INDEX --addr 127.0.0.1:0 EXTRA…` and read the address it
    /// prints.
    pub fn start(index: &Path, extra: &[&str]) -> Server {
        let mut child = lore_command()
            .args(["serve", "--index", index.to_str().unwrap()])
            .args(["--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start lore serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("lore serve printed {line:?}, not its address"))
            .to_string();
        Server { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// POST `body` as JSON, with an optional bearer token: `(status, body as JSON)`.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = agent().post(&self.url(path));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        answer(req.send_json(body.clone()))
    }

    /// POST raw bytes as JSON.
    pub fn post_raw(&self, path: &str, body: &[u8]) -> (u16, Value) {
        answer(
            agent()
                .post(&self.url(path))
                .set("Content-Type", "application/json")
                .send_bytes(body),
        )
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = agent().get(&self.url(path));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        answer(req.call())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that gives up on a server that stopped answering, so that a hung server fails
/// the test instead of hanging it.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(120))
        .build()
}

/// `(status, body as JSON)` of an answer, whatever its status.
pub fn answer(result: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, value)
}

/// The `error.code` of an error answer (empty when there is none).
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}
