#!/usr/bin/env bash
# API-key figures (BENCHMARKS.md), on SQLite and on PostgreSQL, one run:
#  1. GET /api/v1/whoami with an API key vs GET /healthz, 32 connections
#     (throughput ratio, p99) — and how many rows the key checks wrote;
#  2. key → token exchange, POST /api/v1/login {"api_key"}, 4 connections;
#  3. GET /api/v1/service-accounts?limit=20 with an API key, 51 accounts, 4 connections;
#  4. the same with an access token from the key login.
#
#   benches/api_keys.sh [--duration 10s] [--backend sqlite|postgres|both]
set -euo pipefail
cd "$(dirname "$0")/.."

. benches/common.sh "$@"

api() { # method path token [body]
  curl -fsS -X "$1" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' \
    ${4:+--data "$4"} "http://127.0.0.1:$PORT$2"
}

STATE_SQL="SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM access_tokens) + (SELECT count(*) FROM sessions), (SELECT count(DISTINCT last_used_at) FROM api_keys WHERE last_used_at IS NOT NULL)"
db_state() { # database URL → "rows_added_so_far last_used_values"
  case "$1" in
    sqlite://*) python3 -c "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0], r[1])" "${1#sqlite://}" "$STATE_SQL" ;;
    *) psql -qtA -F ' ' "$1" -c "$STATE_SQL" ;;
  esac
}


run_backend() { # name, database URL
  local name=$1 url=$2
  local key
  serve_backend "$name" "$url"
  local admin=$ADMIN_TOKEN
  for i in $(seq -w 1 50); do api POST /api/v1/service-accounts "$admin" "{\"name\":\"bench-$i\"}" >/dev/null; done
  api POST /api/v1/service-accounts "$admin" '{"name":"bench-ci"}' >/dev/null
  api PUT /api/v1/service-accounts/bench-ci/role-bindings "$admin" '{"default/*":["viewer"]}' >/dev/null
  key=$(api POST /api/v1/service-accounts/bench-ci/api-keys "$admin" '{"name":"main"}' | json_field key)
  printf 'wrk.method = "POST"\nwrk.body = [[{"api_key":"%s"}]]\nwrk.headers["Content-Type"] = "application/json"\n' "$key" >"$WORK/login.lua"

  echo >&3
  echo "### $name" >&3
  echo >&3
  echo "| request | req/s | p50 | p99 | non-2xx |" >&3
  echo "|---|---|---|---|---|" >&3
  local base who
  base=$(wrk_row "GET /healthz (c=32)" -c32 "http://127.0.0.1:$PORT/healthz" | cut -d' ' -f1)
  local before after
  before=$(db_state "$url")
  local who_out whoami_requests
  who_out=$(wrk_row "GET /api/v1/whoami with an API key (c=32)" -c32 -H "Authorization: Bearer $key" "http://127.0.0.1:$PORT/api/v1/whoami")
  who=${who_out%% *}
  whoami_requests=${who_out##* }
  sleep 6 # let the 5 s usage flush run
  after=$(db_state "$url")
  wrk_row "POST /api/v1/login {api_key} (c=4)" -c4 -s "$WORK/login.lua" "http://127.0.0.1:$PORT/api/v1/login" >/dev/null
  wrk_row "GET /api/v1/service-accounts?limit=20 with an API key, 51 accounts (c=4)" -c4 \
    -H "Authorization: Bearer $key" "http://127.0.0.1:$PORT/api/v1/service-accounts?limit=20" >/dev/null
  local token
  token=$(curl -fsS -X POST -H 'Content-Type: application/json' --data "{\"api_key\":\"$key\"}" \
    "http://127.0.0.1:$PORT/api/v1/login" | json_field access_token)
  wrk_row "GET /api/v1/service-accounts?limit=20 with a token from key login (c=4)" -c4 \
    -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/api/v1/service-accounts?limit=20" >/dev/null
  echo >&3
  echo "whoami / healthz throughput ratio: $(python3 -c "print(round($who / $base, 2))")" >&3
  echo "During $whoami_requests key-authenticated whoami requests: rows inserted (audit, tokens, sessions): $(( ${after%% *} - ${before%% *} )); distinct last_used_at values written: ${after##* } (coalesced to one write a minute per key)." >&3
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}

exec 3>&1
echo "## API keys ($(date -u +%Y-%m-%d), $(nproc) cores, wrk -t2 -d$DURATION, release build)"
if [ "$BACKENDS" != postgres ]; then run_backend SQLite "sqlite://$WORK/sqlite.db"; fi
if [ "$BACKENDS" != sqlite ]; then pg_start; run_backend PostgreSQL "$PG_URL"; fi
