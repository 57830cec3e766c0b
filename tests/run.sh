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
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
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
PGBIN=$(pg_bin)
PGDIR=$(mktemp -d /tmp/portcullis-pg.XXXXXX)
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
cleanup() {
  as_pg "$PGBIN/pg_ctl -D $PGDIR/data -m immediate -w stop" >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap cleanup EXIT
[ "$(id -u)" -ne 0 ] || chown postgres:postgres "$PGDIR"
log "starting PostgreSQL ($("$PGBIN/postgres" --version)) on 127.0.0.1:$PGPORT"
as_pg "$PGBIN/initdb -D $PGDIR/data -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8" >/dev/null
as_pg "$PGBIN/pg_ctl -D $PGDIR/data -l $PGDIR/pg.log -w -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200' start" >/dev/null
PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"

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
