#!/usr/bin/env bash
# Runs PortalOps on a fresh machine: installs PostgreSQL if missing (for the embedded
# database under ./data), builds the release binary and serves on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --no-browser
exec cargo run --release --locked -- serve "$@"
