#!/usr/bin/env bash
# Memory under load: the release server on SQLite, 32 connections listing service
# accounts with an access token (the issue's headline workload) for --duration
# (default 300 s), sampling the server's RSS and thread count every 10 s; then, when
# KNOB names a setting (e.g. KNOB=MALLOC_ARENA_MAX=2, KNOB_LABEL=arenas), the same with
# it, to see where memory goes. Prints Markdown tables.
#   [KNOB=NAME=value] benches/memory.sh [--duration 300s]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-300s}
BACKENDS=sqlite
. benches/common.sh "$@"
seconds=${DURATION%s}

sample() { # label
  local rss threads
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  threads=$(awk '/Threads/ {print $2}' "/proc/$PID/status")
  echo "| $1 | $((rss / 1024)) MiB | $threads |"
}

run() { # label, extra environment (VAR=value …)
  local label=$1; shift
  PORT=$(free_port)
  env "$@" PORTCULLIS_DATA_DIR="$WORK/$label" PORTCULLIS_DATABASE_URL="sqlite://$WORK/$label/portcullis.db" \
    PORTCULLIS_BIND="127.0.0.1:$PORT" PORTCULLIS_ADMIN_PASSWORD="$PASSWORD" PORTCULLIS_LOG=warn \
    "$BIN" serve >"$WORK/$label.log" 2>&1 &
  PID=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; do sleep 0.02; done
  ADMIN_TOKEN=$(curl -fsS -H 'Content-Type: application/json' \
    --data "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$PORT/api/v1/login" | json_field access_token)
  for i in $(seq 1 20); do
    curl -fsS -o /dev/null -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
      --data "{\"name\":\"sa-$i\"}" "http://127.0.0.1:$PORT/api/v1/service-accounts"
  done
  echo
  echo "### ${label} ($*)"
  echo
  echo "| after | RSS | threads |"
  echo "|---|---|---|"
  sample "start (idle)"
  wrk -t2 -c32 -d"${seconds}s" -H "Authorization: Bearer $ADMIN_TOKEN" \
    "http://127.0.0.1:$PORT/api/v1/service-accounts?limit=20" >"$WORK/$label.wrk" &
  local wrk_pid=$! t=0
  while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 10; t=$((t + 10))
    if kill -0 "$wrk_pid" 2>/dev/null; then sample "${t} s of load"; fi
  done
  sample "the load's end"
  echo
  echo "$(awk '/Requests\/sec/ {print $2}' "$WORK/$label.wrk") req/s"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}

run default
if [ -n "${KNOB:-}" ]; then run "${KNOB_LABEL:-knob}" "$KNOB"; fi
