#!/usr/bin/env bash
# The one test command: installs what the tests need if missing (PostgreSQL, Chromium,
# chromedriver, Node.js, the test OpenID provider from npm, and the connector emulators:
# moto, docker-registry, azurite, gcp-storage-emulator, sshd; schemathesis), then runs
# every suite — unit tests, the integration suite on SQLite and again on a throwaway
# PostgreSQL cluster, schemathesis against a release server on both, and the
# real-browser tests — against a real OpenID provider on 127.0.0.1.
# Exits non-zero on any failure. The tests that need the provider or the browser are
# #[ignore]d (a plain `cargo test` lists them as ignored, with the reason); here they run
# with --include-ignored, so a missing dependency fails them and nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }

# --- dependencies -------------------------------------------------------------------
. tests/pg.sh
. tests/oidc.sh
. tests/emulators.sh
. tests/schemathesis.sh
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
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
export CHROMIUM=/usr/bin/chromium CHROMEDRIVER=/usr/bin/chromedriver
log "installing the test OpenID provider (npm ci in tests/oidc, if needed)"
oidc_install
log "installing axe-core for the browser tests' accessibility checks (npm ci in tests/browser, if needed)"
if [ ! -d tests/browser/node_modules ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null
  touch tests/browser/node_modules
fi
export AXE_CORE_JS="$PWD/tests/browser/node_modules/axe-core/axe.min.js"
log "installing the connector emulators if missing (moto, docker-registry, azurite, gcp-storage-emulator, sshd)"
emulators_install
log "installing schemathesis for the API fuzzing (venv tests/schemathesis/.venv, if needed)"
schemathesis_install

# --- a throwaway PostgreSQL cluster on a free local port ------------------------------
trap 'pg_stop; oidc_stop; emulators_stop' EXIT
pg_start
log "started PostgreSQL ($("$PGBIN/postgres" --version)) on 127.0.0.1:$PGPORT"
oidc_start
export TEST_OIDC_ISSUER="$OIDC_ISSUER"
emulators_start
log "started the connector emulators (AWS on $TEST_AWS_ENDPOINT, registry on $TEST_REGISTRY_URL, Azure Storage, GCS, SSH on port $TEST_SSH_PORT)"
log "started the test OpenID provider (oidc-provider $(node -p "require('./tests/oidc/node_modules/oidc-provider/package.json').version")) at $OIDC_ISSUER"

# --- suites --------------------------------------------------------------------------
log "unit tests"
cargo test --locked --lib --bins

log "integration tests on SQLite (with the kill -9 crash test)"
env -u TEST_DATABASE_URL cargo test --locked --test app -- --include-ignored --skip outage::

log "integration tests on PostgreSQL (with the crash and three-instance tests)"
TEST_DATABASE_URL="$PG_URL" cargo test --locked --test app -- --include-ignored --skip outage::

log "building the release server for the API fuzzing"
cargo build --locked --release
release_bin="$(cargo metadata --format-version 1 --no-deps | "$ST_VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release/portcullis"

log "API fuzzing on SQLite: schemathesis from the OpenAPI document, as a global admin and as a viewer"
"$ST_VENV/bin/python" tests/schemathesis/fuzz.py --bin "$release_bin" --st "$SCHEMATHESIS_BIN"

log "API fuzzing on PostgreSQL"
"$PGBIN/psql" "$PG_URL" -qc "DROP DATABASE IF EXISTS fuzz" -c "CREATE DATABASE fuzz"
"$ST_VENV/bin/python" tests/schemathesis/fuzz.py --bin "$release_bin" --st "$SCHEMATHESIS_BIN" \
  --database-url "${PG_URL%/postgres}/fuzz"
"$PGBIN/psql" "$PG_URL" -qc "DROP DATABASE fuzz"

log "PostgreSQL stopped mid-load (alone: it takes the cluster away)"
TEST_DATABASE_URL="$PG_URL" cargo test --locked --test app -- --include-ignored outage::

log "browser tests (headless Chromium) on SQLite"
env -u TEST_DATABASE_URL cargo test --locked --test browser -- --include-ignored --test-threads=1

log "browser tests (headless Chromium) on PostgreSQL"
TEST_DATABASE_URL="$PG_URL" cargo test --locked --test browser -- --include-ignored --test-threads=1

log "checking that no per-test PostgreSQL schema was left behind"
left=$("$PGBIN/psql" "$PG_URL" -Atc "SELECT string_agg(nspname, ' ') FROM pg_namespace WHERE nspname ~ '^(t|browser)_'")
if [ -n "$left" ]; then
  echo "schemas left behind: $left" >&2
  exit 1
fi

log "all suites passed"
