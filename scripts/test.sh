#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what is missing, then `cargo test`.
# The tests start their own PostgreSQL, app servers and headless Chromium; nothing needs
# to be running beforehand.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec cargo test --locked "$@"
