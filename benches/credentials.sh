#!/usr/bin/env bash
# Brokered-credential figures (BENCHMARKS.md), against moto (the AWS emulator with IAM
# enforced, from tests/emulators.sh), one run per backend:
#  1. client credentials of an iam-role connector for one bucket, served from the cache,
#     POST /api/v1/connectors/{name}/client-credentials, c=4;
#  2. cold: the first request after each edit of the connector (a new version misses
#     the cache, so each is one AssumeRole on moto): p50 over COUNT edits;
#  3. 200 concurrent cold requests: how many upstream calls moto saw (its request log);
#  4. verify of a connector reaching 1,000 buckets (created once with boto3 from the
#     emulator venv): the time of POST …/verify.
#
#   benches/credentials.sh [--duration 10s] [--backend sqlite|postgres|both] [--count 20]
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-20}
. benches/common.sh "$@"
. tests/emulators.sh
emulators_install >&2
EMU_DIR=$(mktemp -d /tmp/portcullis-emulators.XXXXXX)
trap 'emulators_stop; cleanup' EXIT
emu_moto_launch && emu_moto_ready >&2
BUCKETS=1000

# boto3 (a moto dependency) as the emulator's test user: create buckets fast.
"$EMU_VENV/bin/python" - "$TEST_AWS_ENDPOINT" "$TEST_AWS_ACCESS_KEY_ID" "$TEST_AWS_SECRET_ACCESS_KEY" "$BUCKETS" <<'EOF'
import sys, boto3
endpoint, key, secret, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key, aws_secret_access_key=secret)
for i in range(count):
    s3.create_bucket(Bucket=f"bench-{i:04d}")
EOF

api() { # method path [body]
  curl -fsS -X "$1" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "http://127.0.0.1:$PORT$2"
}
connector() { # name method [extra configuration JSON members]
  printf '{"name":"%s","connector_type":"aws","auth_method":"%s","resource_types":["s3-bucket"],"configuration":{"region":"us-east-1","endpoint_url":"%s","aws_access_key_id":"%s","aws_secret_access_key":"%s"%s}}' \
    "$1" "$2" "$TEST_AWS_ENDPOINT" "$TEST_AWS_ACCESS_KEY_ID" "$TEST_AWS_SECRET_ACCESS_KEY" "${3:+,$3}"
}
moto_posts() { grep -c '"POST / HTTP' "$EMU_MOTO_LOG" || true; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

exec 3>&1
for backend in $( [ "$BACKENDS" = both ] && echo sqlite postgres || echo "$BACKENDS" ); do
  case $backend in
    sqlite) URL="sqlite://$WORK/$backend/portcullis.db"; mkdir -p "$WORK/$backend" ;;
    postgres) pg_start >&2; URL=$PG_URL ;;
  esac
  export PORTCULLIS_CONNECTOR_ALLOW_PRIVATE=true
  serve_backend "$backend" "$URL"
  api POST /api/v1/connectors "$(connector role iam-role "\"role_arn\":\"$TEST_AWS_ROLE_ARN\"")" >/dev/null
  api POST /api/v1/connectors "$(connector everything secret-key)" >/dev/null
  body='{"resource_type":"s3-bucket","resource_id":"s3://bench-0001"}'
  path=/api/v1/connectors/role/client-credentials
  printf 'wrk.method = "POST"\nwrk.body = [[%s]]\nwrk.headers["Content-Type"] = "application/json"\n' "$body" >"$WORK/issue.lua"

  echo "### $backend"
  echo
  echo "| request | req/s | p50 | p99 | non-2xx |"
  echo "|---|---|---|---|---|"
  api POST "$path" "$body" >/dev/null # warm the cache
  wrk_row "client credentials, cached (iam-role, one bucket, c=4)" -c4 \
    -H "Authorization: Bearer $ADMIN_TOKEN" -s "$WORK/issue.lua" "http://127.0.0.1:$PORT$path" >/dev/null
  wrk_row "GET /healthz (for scale, c=4)" -c4 "http://127.0.0.1:$PORT/healthz" >/dev/null

  cold=()
  for i in $(seq 1 "$COUNT"); do
    api PATCH /api/v1/connectors/role "{\"labels\":{\"round\":\"$i\"}}" >/dev/null
    start=$(now_ms)
    api POST "$path" "$body" >/dev/null
    cold+=($(( $(now_ms) - start )))
  done
  echo
  echo "Cold (one AssumeRole on moto each): p50 $(printf '%s\n' "${cold[@]}" | median) ms over $COUNT requests."

  api PATCH /api/v1/connectors/role '{"labels":{"round":"burst"}}' >/dev/null
  before=$(moto_posts)
  burst=()
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
      --data "$body" "http://127.0.0.1:$PORT$path" &
    burst+=($!)
  done
  wait "${burst[@]}"
  echo "200 concurrent cold requests: $(( $(moto_posts) - before )) upstream call(s) to moto."

  start=$(now_ms)
  found=$(api POST /api/v1/connectors/everything/verify '{"resource_type":"s3-bucket"}' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["resources"][0]; print(len(r["resource_ids"] or []), r["error"])')
  echo "Verify of a connector reaching $BUCKETS buckets: $(( $(now_ms) - start )) ms (buckets found, error: $found)."
  echo
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  if [ "$backend" = postgres ]; then pg_stop; fi
done
