#!/usr/bin/env bash
# Foundation figures (BENCHMARKS.md): cold start to /readyz on a fresh SQLite database,
# idle RSS, and wrk throughput/latency for /healthz and the overview page at 32
# connections, all from one run against a release build on 127.0.0.1.
#
#   benches/foundation.sh [--duration 10s] [--connections 32]
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-32}
. benches/common.sh "$@"

start() { # $1 = data dir, $2 = port, $3… = extra serve flags; sets PID
  local dir=$1 port=$2; shift 2
  PORTCULLIS_DATA_DIR="$dir" PORTCULLIS_BIND="127.0.0.1:$port" PORTCULLIS_ADMIN_PASSWORD="$PASSWORD" \
    PORTCULLIS_LOG=warn "$BIN" serve "$@" >"$dir.log" 2>&1 &
  PID=$!
}
wait_ready() { # $1 = port
  until curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz" 2>/dev/null; do sleep 0.002; done
}

# --- cold start (fresh database each time: secret, migrations, admin) ----------------
starts=()
for i in 1 2 3 4 5; do
  port=$(free_port)
  t0=$(now_ms); start "$WORK/cold$i" "$port"; wait_ready "$port"; t1=$(now_ms)
  starts+=($((t1 - t0)))
  if [ "$i" -eq 1 ]; then sleep 1; rss_fresh=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status"); fi
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
done
# Restart over an existing database: the everyday case.
port=$(free_port)
start "$WORK/cold1" "$port"; wait_ready "$port"; sleep 1
rss_restart=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
sorted=$(printf '%s\n' "${starts[@]}" | sort -n | tr '\n' ' ')
median=$(printf '%s\n' "${starts[@]}" | sort -n | sed -n 3p)

# --- steady state (demo data) -----------------------------------------------------------
port=$(free_port)
start "$WORK/steady" "$port" --demo; wait_ready "$port"

JAR="$WORK/jar"
token=$(curl -fsS -c "$JAR" "http://127.0.0.1:$port/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
curl -fsS -o /dev/null -b "$JAR" -c "$JAR" --data-urlencode "username=admin" \
  --data-urlencode "password=$PASSWORD" --data-urlencode "csrf_token=$token" "http://127.0.0.1:$port/login"
cookie=$(awk '$6 == "portcullis" {print $7}' "$JAR")
[ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }
curl -fsS -o /dev/null -b "portcullis=$cookie" "http://127.0.0.1:$port/" || { echo "overview failed" >&2; exit 1; }

bench() { # $1 = label, $2 = path, rest = wrk args
  local label=$1 path=$2; shift 2
  local out; out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "http://127.0.0.1:$port$path")
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo "## Foundation ($(date -u +%Y-%m-%d), $(nproc) cores, wrk -t2 -c$CONNECTIONS -d$DURATION, SQLite)"
echo
echo "| figure | value |"
echo "|---|---|"
echo "| cold start to /readyz 200 (fresh SQLite, median of 5) | ${median} ms (runs: ${sorted% }) |"
echo "| idle RSS after a first start (fresh database) | $((rss_fresh / 1024)) MiB ($rss_fresh KiB) |"
echo "| idle RSS after a restart (existing database) | $((rss_restart / 1024)) MiB ($rss_restart KiB) |"
echo
echo "| endpoint | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
bench "GET /healthz" /healthz
bench "GET / (overview, signed in)" / -H "Cookie: portcullis=$cookie"
rss_loaded=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
echo
echo "RSS after the load: $((rss_loaded / 1024)) MiB."
