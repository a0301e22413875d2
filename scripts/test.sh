#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what is missing, runs `cargo test`, then
# fuzzes the REST API with schemathesis against its OpenAPI document (scripts/api-fuzz.sh)
# and checks the SCIM service with scim2-tester (scripts/scim-conformance.sh).
# The tests start their own PostgreSQL, app servers and headless Chromium; nothing needs to
# be running beforehand. Arguments go to `cargo test` (a filter skips the API fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo test --locked "$@"
if [ $# -eq 0 ]; then
    # The suite must not depend on the day it runs: the integration tests again with every
    # process's clock (PostgreSQL's too) moved 1,200 days ahead. The browser journeys ran
    # above; here they would only repeat the same pages.
    # The binary is run directly: the compiler itself hangs under libfaketime.
    it=$(cargo test --locked --test it --no-run 2>&1 | sed -n 's/.*Executable tests\/it\/main.rs (\(.*\))$/\1/p')
    [ -x "$it" ] || { echo "test.sh: the integration-test binary was not found" >&2; exit 1; }
    FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f '+1200d' "$it" --skip browser::
    bash scripts/api-fuzz.sh target/debug/portalops
    bash scripts/scim-conformance.sh target/debug/portalops
fi
