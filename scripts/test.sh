#!/usr/bin/env bash
# The whole test suite, from a fresh clone: fetch the model (idempotent), check formatting and
# lints, run every test with the release profile (shared with the demo build), and make sure the
# library builds without the cli feature and the benchmarks and fuzz targets still compile.
set -euo pipefail
cd "$(dirname "$0")/.."
LORE_MODEL_DIR="$(scripts/fetch-model.sh)"
export LORE_MODEL_DIR
# The MCP client (the official Python SDK, pinned) that tests/mcp.rs drives `lore mcp` with.
LORE_PYTHON="$(scripts/python-env.sh)"
export LORE_PYTHON
cargo fmt --all -- --check
cargo clippy --release --all-targets -- -D warnings
cargo test --release
# The library builds without the command line's crates (clap, anyhow, indicatif).
cargo build --release --no-default-features --lib
cargo bench --no-run
# The fuzz targets (their own workspace, run by scripts/fuzz.sh) still compile against the library.
(cd fuzz && CARGO_TARGET_DIR=../target/fuzz-check cargo check --quiet)
