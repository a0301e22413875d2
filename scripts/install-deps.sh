#!/usr/bin/env bash
# Installs the system packages PortalOps needs to build, run and test, when missing:
# PostgreSQL server binaries (the embedded database and the test harness), libpq headers
# (Diesel), and Debian's Chromium with its WebDriver and poppler's pdftotext (the browser
# journeys, printing included), nginx and openssl (the reverse-proxy test), curl and
# Python's venv (the API fuzzing).
set -euo pipefail

need=()
have_pg_server() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
have_pg_server || need+=(postgresql)
dpkg -s libpq-dev >/dev/null 2>&1 || need+=(libpq-dev)
if [ "${1:-}" != "--no-browser" ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  # pdftotext checks what the browser printed to PDF.
  command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
fi
# nginx (and openssl for a throwaway certificate): the test that runs two instances behind
# the shipped reverse-proxy configuration.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# curl and Python's venv: scripts/api-fuzz.sh logs in and installs schemathesis from PyPI.
command -v curl >/dev/null 2>&1 || need+=(curl)
# faketime: scripts/test.sh runs the suite a second time with the clock years ahead.
command -v faketime >/dev/null 2>&1 || need+=(faketime)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# Node.js and npm: the OpenID provider the single sign-on tests sign in at (tests/oidc);
# only for the tests (scripts/run.sh passes --no-browser and needs neither).
if [ "${1:-}" != "--no-browser" ]; then
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
fi

if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The test OpenID provider's packages, exactly as locked (tests/oidc/package-lock.json).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${1:-}" != "--no-browser" ] && [ ! -d "$here/tests/oidc/node_modules" ]; then
  echo "installing the test OpenID provider (npm ci in tests/oidc)"
  (cd "$here/tests/oidc" && npm ci --no-audit --no-fund --loglevel=error)
fi
