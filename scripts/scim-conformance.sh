#!/usr/bin/env bash
# The SCIM 2.0 service against scim2-tester (PyPI; through scim2-cli's `scim2 test`), the
# conformance checker of the scim2 Python libraries: it reads the service's own
# ServiceProviderConfig, ResourceTypes and Schemas, then creates, reads, lists, searches,
# replaces, patches (add, replace, remove on every attribute) and deletes Users and Groups,
# checking statuses, content types, attribute filtering and what comes back. Every check
# must succeed (a skipped one fails the run too).
#
#   bash scripts/scim-conformance.sh [path/to/portalops]     (default: target/debug/portalops)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/portalops}
[ -x "$bin" ] || cargo build --locked
venv=target/scim-venv
cli=0.6.0
tester=0.5.2
if ! "$venv/bin/pip" freeze 2>/dev/null | grep -qx "scim2-tester==$tester"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "scim2-cli==$cli" "scim2-tester==$tester"
fi

data=$(mktemp -d -t portalops-scim-XXXXXX)
server=
cleanup() {
    [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
export PORTALOPS_DATA_DIR=$data PORTALOPS_BIND=127.0.0.1:$port PORTALOPS_PUBLIC_URL=$base
export PORTALOPS_LOG=warn

"$bin" demo-data --scale 0.01 > /dev/null 2>&1
# The provisioning token: the scim scope alone, of the demo's first Admin.
token=$("$bin" token create --user admin1 --name scim-conformance --scopes scim:write 2>/dev/null)
[ -n "$token" ] || { echo "could not make a SCIM token" >&2; exit 1; }
"$bin" serve > "$data/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    curl -fs "$base/healthz" > /dev/null && break
    sleep 0.2
done

echo "== scim2-tester against $base/scim/v2"
status=0
# The token goes in the environment, not on the command line (other users could read it).
SCIM_CLI_HEADERS="Authorization: Bearer $token" timeout 600 \
    "$venv/bin/scim2" --url "$base/scim/v2" test > "$data/result.txt" 2>&1 || status=1
passed=$(grep -c '^SUCCESS' "$data/result.txt" || true)
if [ "$status" -ne 0 ]; then
    grep -v '^SUCCESS' "$data/result.txt" | grep -v '^  Successfully' >&2 || true
fi
echo "scim2-tester: $passed checks succeeded"
[ "$passed" -ge 60 ] || { echo "scim2-tester ran fewer checks than expected" >&2; status=1; }
if grep -q "panicked" "$data/server.log"; then
    echo "the server panicked:" >&2
    grep -B2 -A5 "panicked" "$data/server.log" >&2
    status=1
fi
exit $status
