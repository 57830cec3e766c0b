#!/usr/bin/env bash
# Key logins on SQLite with the write-ahead log watched (BENCHMARKS.md, "Writes:
# checkpoints off the commit path"): 4 connections of POST /api/v1/login {"api_key"}
# for the duration, the `-wal` file's size sampled every second, then req/s and p99.
#
#   benches/wal.sh [--duration 10s]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
BACKENDS=sqlite
. benches/common.sh "$@"

api() { # method path token [body]
  curl -fsS -X "$1" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' \
    ${4:+--data "$4"} "http://127.0.0.1:$PORT$2"
}

serve_backend SQLite "sqlite://$WORK/sqlite.db"
api POST /api/v1/service-accounts "$ADMIN_TOKEN" '{"name":"bench-ci"}' >/dev/null
key=$(api POST /api/v1/service-accounts/bench-ci/api-keys "$ADMIN_TOKEN" '{"name":"main"}' | json_field key)
printf 'wrk.method = "POST"\nwrk.body = [[{"api_key":"%s"}]]\nwrk.headers["Content-Type"] = "application/json"\n' "$key" >"$WORK/login.lua"

seconds=${DURATION%s}
( for i in $(seq 1 "$seconds"); do
    sleep 1
    echo "after ${i} s: -wal $(( $(stat -c %s "$WORK/sqlite.db-wal") / 1024 )) KiB"
  done ) &
watcher=$!
out=$(wrk -t2 -c4 -d"$DURATION" --latency -s "$WORK/login.lua" "http://127.0.0.1:$PORT/api/v1/login")
wait "$watcher"
echo "key login (c=4): $(awk '/Requests\/sec/ {print $2}' <<<"$out") req/s, p50 $(awk '$1 == "50%" {print $2}' <<<"$out"), p99 $(awk '$1 == "99%" {print $2}' <<<"$out"), non-2xx $(awk '/Non-2xx/ {print $NF}' <<<"$out")"
