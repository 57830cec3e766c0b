#!/usr/bin/env bash
# Connector figures (BENCHMARKS.md), on SQLite and on PostgreSQL, one run:
#  1. register connectors (validate against the schema, seal the secrets, row +
#     secrets + resources + audit in one transaction), POST /api/v1/connectors, c=4;
#  2. with 10,000 connectors registered: a list page of 50, a list filtered by
#     resource type, one connector, and the catalog, c=4;
#  3. an edit that re-seals the secrets (PATCH labels), c=1;
#  and /healthz for scale.
#
#   benches/connectors.sh [--duration 10s] [--backend sqlite|postgres|both] [--count 10000]
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-10000}
. benches/common.sh "$@"
row() { wrk_row "$@" >/dev/null; }


# Unique names per thread and request, so every POST registers a new connector.
cat >"$WORK/register.lua" <<'EOF'
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", "t" .. threads)
end
local n = 0
request = function()
  n = n + 1
  local body = string.format([[{"name":"wrk-%s-%d","namespace":"default","connector_type":"aws","auth_method":"secret-key","resource_types":["s3-bucket"],"resource_id":"s3://bucket-%d","configuration":{"region":"eu-west-1","aws_access_key_id":"AKIABENCHMARK0000","aws_secret_access_key":"benchmark-secret-%d"},"labels":{"team":"bench"}}]], prefix, n, n, n)
  return wrk.format("POST", "/api/v1/connectors", {["Content-Type"] = "application/json", ["Authorization"] = wrk.headers["Authorization"]}, body)
end
EOF
cat >"$WORK/patch.lua" <<'EOF'
local n = 0
request = function()
  n = n + 1
  local body = string.format([[{"labels":{"team":"bench","round":"%d"}}]], n)
  return wrk.format("PATCH", "/api/v1/connectors/seed-00001", {["Content-Type"] = "application/json", ["Authorization"] = wrk.headers["Authorization"]}, body)
end
EOF

# Registers COUNT connectors through the API (a few clients in parallel).
seed() { # port token
  python3 - "$1" "$2" "$COUNT" <<'EOF'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
types = [("aws", "secret-key", ["s3-bucket"], {"region": "eu-west-1", "aws_access_key_id": "AKIASEED", "aws_secret_access_key": "seed-secret"}),
         ("docker", "password", [], {"username": "u", "password": "p"}),
         ("kubernetes", "token", [], {"server": "https://k8s.example:6443", "cluster_name": "c", "token": "t"})]
def one(i):
    t, m, rts, cfg = types[i % 3]
    body = {"name": f"seed-{i:05d}", "namespace": "default", "connector_type": t, "auth_method": m,
            "resource_types": rts, "configuration": cfg, "labels": {"team": f"t{i % 10}"}}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/connectors", json.dumps(body).encode(),
                                 {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    urllib.request.urlopen(req).read()
with ThreadPoolExecutor(4) as pool:
    list(pool.map(one, range(1, count + 1)))
EOF
}

run_backend() { # name, database URL
  local name=$1 url=$2
  serve_backend "$name" "$url"
  local admin=$ADMIN_TOKEN
  local started=$SECONDS
  seed "$PORT" "$admin"
  local seeded=$((SECONDS - started))
  # As after any bulk load (autovacuum does this in production): fresh planner statistics.
  case "$url" in postgres*) psql -qtA "$url" -c "VACUUM ANALYZE" >/dev/null ;; esac
  local auth=(-H "Authorization: Bearer $admin")
  echo >&3
  echo "### $name ($COUNT connectors registered in ${seeded}s by 4 API clients)" >&3
  echo >&3
  echo "| request | req/s | p50 | p99 | non-2xx |" >&3
  echo "|---|---|---|---|---|" >&3
  row "GET /healthz (c=4)" -c4 "http://127.0.0.1:$PORT/healthz"
  row "GET /api/v1/connectors?limit=50 (c=4)" -c4 "${auth[@]}" "http://127.0.0.1:$PORT/api/v1/connectors?limit=50"
  row "GET /api/v1/connectors?resource_type=s3-bucket&limit=50 (c=4)" -c4 "${auth[@]}" \
    "http://127.0.0.1:$PORT/api/v1/connectors?resource_type=s3-bucket&limit=50"
  row "GET /api/v1/connectors/seed-05000 (c=4)" -c4 "${auth[@]}" "http://127.0.0.1:$PORT/api/v1/connectors/seed-05000"
  row "GET /api/v1/connector-types (c=4)" -c4 "${auth[@]}" "http://127.0.0.1:$PORT/api/v1/connector-types"
  row "GET /connectors (HTML page of 25, c=4)" -c4 "${auth[@]}" "http://127.0.0.1:$PORT/connectors"
  row "POST /api/v1/connectors (register, c=4)" -c4 "${auth[@]}" -s "$WORK/register.lua" "http://127.0.0.1:$PORT"
  row "PATCH /api/v1/connectors/{name} (labels; secrets re-sealed, c=1)" -t1 -c1 "${auth[@]}" -s "$WORK/patch.lua" "http://127.0.0.1:$PORT"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}

exec 3>&1
echo "## Connectors ($(date -u +%Y-%m-%d), $(nproc) cores, wrk -t2 -d$DURATION, release build)"
if [ "$BACKENDS" != postgres ]; then run_backend SQLite "sqlite://$WORK/sqlite.db"; fi
if [ "$BACKENDS" != sqlite ]; then pg_start; run_backend PostgreSQL "$PG_URL"; fi
