#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what is missing, runs `cargo test`, then
# fuzzes the REST API with schemathesis against its OpenAPI document (scripts/api-fuzz.sh).
# The tests start their own PostgreSQL, app servers and headless Chromium; nothing needs to
# be running beforehand. Arguments go to `cargo test` (a filter skips the API fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo test --locked "$@"
if [ $# -eq 0 ]; then
    bash scripts/api-fuzz.sh target/debug/portalops
fi
