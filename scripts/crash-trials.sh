#!/usr/bin/env bash
# Crash safety at scale: kill `lore index` with SIGKILL at N random moments (default 200) and
# check after each kill that the index opens and holds exactly the last committed edition, and
# that the same command run again completes (tests/crash.rs; the test suite runs 20).
#
# Usage: scripts/crash-trials.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
LORE_MODEL_DIR="$(scripts/fetch-model.sh)"
export LORE_MODEL_DIR
LORE_CRASH_TRIALS="${1:-200}" cargo test --release --test crash killed_builds -- --nocapture 2>&1 |
  grep -E "kills|test result|panicked|assert"
