#!/usr/bin/env bash
# The one test command: installs what the tests need if missing (PostgreSQL, Chromium,
# chromedriver), then runs every suite — unit tests, the integration suite on SQLite
# and again on a throwaway PostgreSQL cluster, and the real-browser tests.
# Exits non-zero on any failure. With CI=true nothing is ever skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }
CI=${CI:-false}

# --- dependencies -------------------------------------------------------------------
. tests/pg.sh
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
{ [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ]; } || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export CHROMIUM=/usr/bin/chromium CHROMEDRIVER=/usr/bin/chromedriver PORTCULLIS_REQUIRE_BROWSER=1

# --- a throwaway PostgreSQL cluster on a free local port ------------------------------
trap pg_stop EXIT
pg_start
log "started PostgreSQL ($("$PGBIN/postgres" --version)) on 127.0.0.1:$PGPORT"

# --- suites --------------------------------------------------------------------------
log "unit tests"
cargo test --locked --lib --bins

log "integration tests on SQLite"
env -u TEST_DATABASE_URL cargo test --locked --test app

log "integration tests on PostgreSQL"
TEST_DATABASE_URL="$PG_URL" cargo test --locked --test app

log "browser tests (headless Chromium) on SQLite"
env -u TEST_DATABASE_URL cargo test --locked --test browser -- --test-threads=1

log "browser tests (headless Chromium) on PostgreSQL"
TEST_DATABASE_URL="$PG_URL" cargo test --locked --test browser -- --test-threads=1

log "all suites passed"
