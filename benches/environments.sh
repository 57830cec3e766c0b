#!/usr/bin/env bash
# Environment-list figures (BENCHMARKS.md) with the peer-comparison workload:
# namespaces `default`, `alice`, then alternating `team-NNNNN` / `org-NNNNN`, ten
# environments each (`env-000`…); the viewer `alice` has
# {"alice/*":["admin"],"team-*/*":["viewer"],"default/*":["viewer"]}.
# For each backend and size: unloaded p50 (1 connection) and 4-connection throughput of
# the API page of 100 (with the exact total), a page of 10, the HTML page, a search, and
# the admin's GET /api/v1/users/alice/environments?limit=500; then the server's RSS.
#
#   benches/environments.sh [--sizes "10000 100000 1000000"] [--backend sqlite|postgres|both] [--duration 5s]
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"10000 100000 1000000"}
DURATION=${DURATION:-5s}
. benches/common.sh "$@"

# Namespaces and environments in bulk, straight into the schema the binary migrated.
seed_sql() { # dialect, environments
  local n=$(( $2 / 10 - 2 ))
  if [ "$1" = sqlite ]; then
    cat <<SQL
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $n)
INSERT INTO namespaces (name, description, created_at, metadata)
SELECT CASE WHEN x % 2 = 1 THEN 'team-' ELSE 'org-' END || printf('%05d', x), '', 0, '{}' FROM c;
WITH RECURSIVE e(y) AS (SELECT 0 UNION ALL SELECT y + 1 FROM e WHERE y < 9)
INSERT INTO environments (namespace_id, name, description, specification, created_at, updated_at)
SELECT ns.id, 'env-' || printf('%03d', e.y), '', '', 0, 0 FROM namespaces ns, e
WHERE ns.name NOT IN (SELECT name FROM namespaces WHERE id IN (SELECT namespace_id FROM environments));
INSERT INTO role_bindings (principal_kind, principal_id, pattern, role, created_at)
SELECT 'user', id, 'team-*/*', 'viewer', 0 FROM users WHERE name = 'alice';
ANALYZE;
SQL
  else
    cat <<SQL
INSERT INTO namespaces (name, description, created_at, metadata)
SELECT CASE WHEN x % 2 = 1 THEN 'team-' ELSE 'org-' END || lpad(x::text, 5, '0'), '', 0, '{}' FROM generate_series(1, $n) x;
INSERT INTO environments (namespace_id, name, description, specification, created_at, updated_at)
SELECT ns.id, 'env-' || lpad(y::text, 3, '0'), '', '', 0, 0 FROM namespaces ns, generate_series(0, 9) y;
INSERT INTO role_bindings (principal_kind, principal_id, pattern, role, created_at)
SELECT 'user', id, 'team-*/*', 'viewer', 0 FROM users WHERE name = 'alice';
SQL
    # In production autovacuum keeps the visibility map current (index-only scans);
    # right after a bulk load it has not run yet.
    echo "VACUUM ANALYZE;"
  fi
}

row() { # label, wrk args…  → "| label | p50 unloaded | req/s c=4 | p50 c=4 | p99 c=4 |"
  local label=$1; shift
  local one four
  one=$(wrk -t1 -c1 -d"$DURATION" --latency "$@")
  four=$(wrk -t2 -c4 -d"$DURATION" --latency "$@")
  local err; err=$(awk '/Non-2xx/ {print $NF}' <<<"$four")
  printf '| %s | %s | %s | %s | %s |%s\n' "$label" \
    "$(awk '$1 == "50%" {print $2}' <<<"$one")" "$(awk '/Requests\/sec/ {print $2}' <<<"$four")" \
    "$(awk '$1 == "50%" {print $2}' <<<"$four")" "$(awk '$1 == "99%" {print $2}' <<<"$four")" \
    "${err:+ non-2xx: $err}"
}

run() { # backend, size, url
  local backend=$1 size=$2 url=$3 dir="$WORK/$1-$2"
  mkdir -p "$dir"
  export PORTCULLIS_DATA_DIR="$dir" PORTCULLIS_DATABASE_URL="$url" PORTCULLIS_LOG=warn
  "$BIN" migrate 2>/dev/null
  echo "admin-benchmark-password" | "$BIN" user create root --admin --password-stdin 2>/dev/null
  echo "alice-benchmark-password" | "$BIN" user create alice --password-stdin 2>/dev/null
  local t0 t1; t0=$(date +%s)
  if [ "$backend" = sqlite ]; then
    seed_sql sqlite "$size" | python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.stdin.read()); c.commit()" "${url#sqlite://}"
  else
    seed_sql postgres "$size" | psql -q "$url" >/dev/null
  fi
  t1=$(date +%s)
  PORT=$(free_port)
  PORTCULLIS_BIND="127.0.0.1:$PORT" "$BIN" serve >"$dir.log" 2>&1 &
  PID=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; do sleep 0.05; done
  local alice root total
  alice=$(curl -fsS -H 'Content-Type: application/json' -d '{"username":"alice","password":"alice-benchmark-password"}' "http://127.0.0.1:$PORT/api/v1/login" | json_field access_token)
  root=$(curl -fsS -H 'Content-Type: application/json' -d '{"username":"root","password":"admin-benchmark-password"}' "http://127.0.0.1:$PORT/api/v1/login" | json_field access_token)
  total=$(curl -fsS -H "Authorization: Bearer $alice" "http://127.0.0.1:$PORT/api/v1/environments?limit=1" | json_field total)
  local b="http://127.0.0.1:$PORT"
  echo
  echo "### $backend, $size environments (alice reads $total; seeded in $((t1 - t0)) s)"
  echo
  echo "| request | p50 unloaded | req/s (c=4) | p50 (c=4) | p99 (c=4) |"
  echo "|---|---|---|---|---|"
  row "GET /api/v1/environments?limit=100 (+ total)" -H "Authorization: Bearer $alice" "$b/api/v1/environments?limit=100"
  row "GET /api/v1/environments?limit=10 (+ total)" -H "Authorization: Bearer $alice" "$b/api/v1/environments?limit=10"
  row "GET /environments (HTML, 50 rows + total)" -H "Authorization: Bearer $alice" "$b/environments"
  row "GET /api/v1/environments?search=env-00&limit=100" -H "Authorization: Bearer $alice" "$b/api/v1/environments?search=env-00&limit=100"
  row "GET /api/v1/users/alice/environments?limit=500 (admin)" -H "Authorization: Bearer $root" "$b/api/v1/users/alice/environments?limit=500"
  echo
  echo "RSS after the runs: $(( $(awk '/VmRSS/ {print $2}' "/proc/$PID/status") / 1024 )) MiB."
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  unset PORTCULLIS_DATA_DIR PORTCULLIS_DATABASE_URL
}

echo "## Environments ($(date -u +%Y-%m-%d), $(nproc) cores, wrk $DURATION per row, release build)"
for size in $SIZES; do
  if [ "$BACKENDS" != postgres ]; then run sqlite "$size" "sqlite://$WORK/sqlite-$size.db"; fi
done
if [ "$BACKENDS" != sqlite ]; then
  pg_start
  for size in $SIZES; do
    psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS bench CASCADE; CREATE SCHEMA bench" >/dev/null
    run postgres "$size" "$PG_URL?options=-csearch_path%3Dbench"
  done
fi
