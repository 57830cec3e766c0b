#!/usr/bin/env bash
# Steady writes on SQLite (BENCHMARKS.md, #14): five minutes of each write workload at
# 4 connections, reported in slices so a sag or a growing tail shows as rows pile up:
#  1. key login, POST /api/v1/login {"api_key"} (writes an access token and an audit
#     event per request);
#  2. connector registration, POST /api/v1/connectors (a row with sealed secrets and an
#     audit event per request, every name new).
# Each slice prints req/s, p50, p99 and the rows stored so far.
#
#   benches/steady_writes.sh [--duration 30s (one slice)] [--count 10 (slices)]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-30s}
COUNT=${COUNT:-10}
BACKENDS=sqlite
. benches/common.sh "$@"

api() { # method path token [body]
  curl -fsS -X "$1" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' \
    ${4:+--data "$4"} "http://127.0.0.1:$PORT$2"
}
rows() { # table
  python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM ' + sys.argv[2]).fetchone()[0])" \
    "$WORK/sqlite.db" "$1"
}

# Unique connector names across slices: the slice number comes in as wrk's argument.
cat >"$WORK/register.lua" <<'LUA'
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local slice = "0"
function init(args) slice = args[1] or "0" end
local n = 0
request = function()
  n = n + 1
  local body = string.format([[{"name":"s%s-t%d-%d","namespace":"default","connector_type":"aws","auth_method":"secret-key","resource_types":["s3-bucket"],"resource_id":"s3://bucket-%d","configuration":{"region":"eu-west-1","aws_access_key_id":"AKIABENCHMARK0000","aws_secret_access_key":"benchmark-secret-%d"},"labels":{"team":"bench"}}]], slice, tid, n, n, n)
  return wrk.format("POST", "/api/v1/connectors", {["Content-Type"] = "application/json", ["Authorization"] = wrk.headers["Authorization"]}, body)
end
LUA

slice_row() { # label, rows label, table(s), then wrk arguments
  local label=$1 tables=$2; shift 2
  local out rps p50 p99 errors counts=""
  out=$(wrk -t2 -c4 -d"$DURATION" --latency "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  for t in $tables; do counts="$counts $t $(rows "$t")"; done
  printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "${errors:-0}" "${counts# }"
}

serve_backend SQLite "sqlite://$WORK/sqlite.db"
api POST /api/v1/service-accounts "$ADMIN_TOKEN" '{"name":"bench-ci"}' >/dev/null
api PUT /api/v1/service-accounts/bench-ci/role-bindings "$ADMIN_TOKEN" '{"default/*":["viewer"]}' >/dev/null
key=$(api POST /api/v1/service-accounts/bench-ci/api-keys "$ADMIN_TOKEN" '{"name":"main"}' | json_field key)
printf 'wrk.method = "POST"\nwrk.body = [[{"api_key":"%s"}]]\nwrk.headers["Content-Type"] = "application/json"\n' "$key" >"$WORK/login.lua"

echo "## Steady writes ($(date -u +%Y-%m-%d), SQLite, $(nproc) cores, wrk -t2 -c4, $COUNT slices of $DURATION, release build)"
for workload in login register; do
  echo
  echo "| slice | req/s | p50 | p99 | non-2xx | rows so far |"
  echo "|---|---|---|---|---|---|"
  for i in $(seq 1 "$COUNT"); do
    if [ "$workload" = login ]; then
      slice_row "key login $i" "access_tokens audit_events" -s "$WORK/login.lua" "http://127.0.0.1:$PORT/api/v1/login"
    else
      slice_row "registration $i" "connectors audit_events" -H "Authorization: Bearer $ADMIN_TOKEN" \
        -s "$WORK/register.lua" "http://127.0.0.1:$PORT" -- "$i"
    fi
  done
done
echo
echo "RSS at the end: $(( $(awk '/VmRSS/ {print $2}' "/proc/$PID/status") / 1024 )) MiB; database $(( $(stat -c %s "$WORK/sqlite.db") / 1048576 )) MiB."
