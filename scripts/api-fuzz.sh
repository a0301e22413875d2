#!/usr/bin/env bash
# Schemathesis (from PyPI) against the running app's OpenAPI document, authenticated as an
# Admin and as a Product Administrator of a small demo company (JWT access tokens), then once
# more with a long-lived API token of the Admin (every write scope; fewer examples): no 5xx,
# every status, header, content type and body as documented, schema-violating requests
# refused. The seed and the
# number of examples are fixed, so a failure reproduces; `timeout` bounds each run.
#
#   bash scripts/api-fuzz.sh [path/to/portalops]     (default: target/debug/portalops)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/portalops}
[ -x "$bin" ] || cargo build --locked
venv=target/schemathesis-venv
version=4.32.5
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

data=$(mktemp -d -t portalops-fuzz-XXXXXX)
server=
cleanup() {
    [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
export PORTALOPS_DATA_DIR=$data PORTALOPS_BIND=127.0.0.1:$port PORTALOPS_PUBLIC_URL=$base
# Short login delays: the fuzzer's wrong passwords would otherwise make each login wait.
export PORTALOPS_LOG=warn PORTALOPS_LOGIN_DELAY_MS=10
# The access token that makes the API token is taken before the JWT runs (whose wrong
# passwords lock the address out of later logins) and used after them: it must outlive both.
export PORTALOPS_ACCESS_TOKEN_TTL=3600

password=$("$bin" demo-data --scale 0.05 2>/dev/null | sed -n 's/.*with the password //p')
[ -n "$password" ] || { echo "demo-data printed no password" >&2; exit 1; }
"$bin" serve > "$data/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    curl -fs "$base/healthz" > /dev/null && break
    sleep 0.2
done

token() {
    curl -fs -X POST -H 'content-type: application/json' \
        -d "{\"username\": \"$1\", \"password\": \"$password\"}" "$base/api/v1/auth/login" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# A long-lived API token (POST /api/v1/tokens with the access token $1): its secret.
api_token() {
    curl -fs -X POST -H 'content-type: application/json' -H "Authorization: Bearer $1" \
        -d '{"name": "api-fuzz", "scopes": ["people:write", "inventory:write", "billing:write", "workflows:write", "audit:write"]}' \
        "$base/api/v1/tokens" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

fuzz() {
    local label=$1 bearer=$2 examples=$3
    echo "== schemathesis as $label"
    timeout 600 "$venv/bin/schemathesis" --config-file tests/api-fuzz/schemathesis.toml run \
        "$base/api/v1/openapi.json" \
        --header "Authorization: Bearer $bearer" \
        --checks all --seed 42 --max-examples "$examples" --workers 2 \
        --exclude-operation-id logout \
        --request-timeout 30 --generation-database none --no-color --output-truncate true
}

status=0
maker=$(token admin1)
for user in admin1 product1; do
    fuzz "$user" "$(token "$user")" 40 || status=1
done
# Made after the JWT runs, so their DELETE /api/v1/tokens/{id} cannot revoke it first.
secret=$(api_token "$maker")
[ -n "$secret" ] || { echo "could not make an API token for admin1" >&2; exit 1; }
fuzz "admin1 (API token)" "$secret" 20 || status=1
if grep -q "panicked" "$data/server.log"; then
    echo "the server panicked:" >&2
    grep -A5 "panicked" "$data/server.log" >&2
    status=1
fi
exit $status
