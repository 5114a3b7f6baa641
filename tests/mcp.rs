//! `lore mcp` end to end with a real MCP client: builds an index of `tests/fixtures/mcp/`, then
//! runs `tests/mcp_client.py` (the official MCP Python SDK, in the environment
//! `scripts/python-env.sh` makes) against the `lore` binary, and fails when it fails.
//!
//! The interpreter comes from `LORE_PYTHON`, which `scripts/test.sh` sets; by hand:
//!
//! ```sh
//! LORE_PYTHON="$(scripts/python-env.sh)" cargo test --release --test mcp
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/mod.rs"]
mod common;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mcp")
}

/// The Python interpreter holding the `mcp` package, from `LORE_PYTHON`.
fn python() -> PathBuf {
    match std::env::var_os("LORE_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "LORE_PYTHON is not set: it names the Python interpreter with the MCP client SDK \
             these tests drive `lore mcp` with. scripts/test.sh sets it; by hand run \
             LORE_PYTHON=\"$(scripts/python-env.sh)\" cargo test --release --test mcp"
        ),
    }
}

/// Index `inputs` into `dir/idx` (with the embedding cache in `dir`, never the user's).
fn index(dir: &Path, inputs: &[PathBuf]) -> PathBuf {
    let idx = dir.join("idx");
    let out = common::lore_command_in_cache(&dir.join("cache"))
        .arg("index")
        .args(inputs)
        .arg("--index")
        .arg(&idx)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run lore index");
    assert!(
        out.status.success(),
        "lore index failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    idx
}

/// Run the MCP client script on the index at `idx` with `extra` arguments; fail with its
/// output when it fails.
fn run_client(dir: &Path, idx: &Path, extra: &[&str]) {
    let tokens = dir.join("tokens.toml");
    std::fs::write(
        &tokens,
        "[[token]]\ntoken = \"priya-0123456789abcdef\"\nuser = \"priya\"\ngroups = [\"board\"]\n",
    )
    .unwrap();
    // A tokens file others may read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py");
    let out = Command::new(python())
        .arg(&script)
        .arg("--lore")
        .arg(env!("CARGO_BIN_EXE_lore"))
        .arg("--index")
        .arg(idx)
        .arg("--audit")
        .arg(dir.join("audit.jsonl"))
        .arg("--tokens")
        .arg(&tokens)
        .args(extra)
        .env("LORE_CACHE_DIR", dir.join("cache"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} (LORE_PYTHON): {e}", python().display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/mcp_client.py failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("checks passed"), "{stdout}\n{stderr}");
    eprintln!("{stdout}");
}

/// Every tool listed with a schema and description, called, its answer checked (citations,
/// budgets, errors as tool errors with stable codes), tokens, and the audit log.
#[test]
fn an_mcp_client_lists_and_calls_every_tool() {
    let tmp = tempfile::tempdir().unwrap();
    // The folders every reader may read (the whole fixture, with its board page, is the
    // readers test's).
    let inputs: Vec<PathBuf> = ["decisions", "meetings", "wiki"]
        .iter()
        .map(|d| fixture().join(d))
        .collect();
    let idx = index(tmp.path(), &inputs);
    run_client(tmp.path(), &idx, &[]);
}

/// A document whose front matter says `readers: [priya]` is never shown to a server started
/// `--as omar`, by any tool, and is shown to priya.
#[test]
fn an_mcp_server_started_as_omar_never_shows_priyas_document() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = index(tmp.path(), &[fixture()]);
    run_client(tmp.path(), &idx, &["--readers"]);
}
