#!/usr/bin/env bash
# Figures of "Beyond long-lived keys" (BENCHMARKS.md), on SQLite, one run:
#  1. POST /api/v1/token-exchange with a CI-style JWT from the test OpenID provider
#     (tests/oidc; its keys cached after the first call), 4 connections;
#  2. GET /api/v1/whoami with an API key, 4 connections: this build without a key
#     policy, with an allowed-networks policy (127.0.0.0/8, so every request is
#     checked and admitted), and BASE_BIN (the build before key policies) when given —
#     alternated, ROUNDS times each;
#  3. the webhook worker: 10,000 alerts queued for a local receiver, the time until all
#     are delivered; then 10,000 more with the server killed (-9) mid-run and started
#     again: how many arrive, and how many twice.
#
#   BASE_BIN=/tmp/portcullis-base benches/beyond_keys.sh [--duration 10s]
# PARTS (default "exchange whoami webhooks") runs only some of them.
set -euo pipefail
cd "$(dirname "$0")/.."

BACKENDS=sqlite
ROUNDS=${ROUNDS:-2}
PARTS=${PARTS:-exchange whoami webhooks}
want() { [[ " $PARTS " == *" $1 "* ]]; }
. benches/common.sh "$@"
exec 3>&1

api() { # method path token [body]
  curl -fsS -X "$1" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' \
    ${4:+--data "$4"} "http://127.0.0.1:$PORT$2"
}

# The test OpenID provider (needs tests/oidc/node_modules: npm ci --prefix tests/oidc).
[ -d tests/oidc/node_modules ] || npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error >/dev/null
mkfifo "$WORK/oidc.out"
OIDC_PORT=0 node tests/oidc/provider.mjs >"$WORK/oidc.out" 2>"$WORK/oidc.log" &
OIDC_PID=$!
read -r line <"$WORK/oidc.out"
cat "$WORK/oidc.out" >/dev/null &
ISSUER=${line#ready }
RECEIVER_PID=""
trap 'kill $OIDC_PID $RECEIVER_PID 2>/dev/null || true; cleanup' EXIT

export PORTCULLIS_CONNECTOR_ALLOW_PRIVATE=true PORTCULLIS_WEBHOOK_ALLOW_PRIVATE=true
serve_backend sqlite "sqlite://$WORK/sqlite/portcullis.db"
DB="$WORK/sqlite/portcullis.db"
admin=$ADMIN_TOKEN

AUD="https://portcullis.bench"
api POST /api/v1/service-accounts "$admin" '{"name":"deployer","namespace":"default"}' >/dev/null
api PUT /api/v1/service-accounts/deployer/role-bindings "$admin" '{"default/*":["viewer"]}' >/dev/null
if want exchange; then
echo "## Token exchange (SQLite, $DURATION, 4 connections)"
echo
api PUT /api/v1/service-accounts/deployer/trust "$admin" \
  "{\"policies\":[{\"issuer\":\"$ISSUER\",\"audience\":\"$AUD\",\"claims\":{\"repository\":\"org/api\",\"ref\":\"refs/heads/*\"}}]}" >/dev/null
client=$(curl -fsS -X POST "$ISSUER/reg" -H 'Content-Type: application/json' \
  -d '{"grant_types":["client_credentials"],"response_types":[],"redirect_uris":[],"ci_claims":{"repository":"org/api","ref":"refs/heads/main"},"ci_token_ttl":3600}')
cid=$(json_field client_id <<<"$client")
csecret=$(json_field client_secret <<<"$client")
JWT=$(curl -fsS -u "$cid:$csecret" "$ISSUER/token" -d grant_type=client_credentials -d "resource=$AUD" | json_field access_token)
FORM="grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&service_account=default%2Fdeployer&subject_token=$JWT"
printf 'wrk.method = "POST"\nwrk.body = "%s"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n' "$FORM" >"$WORK/exchange.lua"
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/x-www-form-urlencoded' --data "$FORM" "http://127.0.0.1:$PORT/api/v1/token-exchange"
echo "| request | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
wrk_row "token exchange (RS256 JWT, cached keys)" -c4 -s "$WORK/exchange.lua" "http://127.0.0.1:$PORT/api/v1/token-exchange" >/dev/null
fi

if want whoami; then
echo
echo "## Key-authenticated whoami with and without a network policy (SQLite, $DURATION, 4 connections)"
echo
KEY=$(api POST /api/v1/service-accounts/deployer/api-keys "$admin" '{"name":"bench"}' | json_field key)
policy() { api PUT /api/v1/namespaces/default/policy "$admin" "$1" >/dev/null; }
echo "| build | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
NEW_BIN=$BIN
for round in $(seq "$ROUNDS"); do
  policy '{}'
  wrk_row "this build, no policy (round $round)" -c4 -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/api/v1/whoami" >/dev/null
  policy '{"allowed_networks":["127.0.0.0/8"]}'
  wrk_row "this build, allowed networks 127.0.0.0/8 (round $round)" -c4 -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/api/v1/whoami" >/dev/null
  if [ -n "${BASE_BIN:-}" ]; then
    kill "$PID"; wait "$PID" 2>/dev/null || true
    BIN=$BASE_BIN serve_backend base "sqlite://$WORK/base/portcullis.db"
    base_key=$(curl -fsS -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
      --data '{"name":"bench"}' "http://127.0.0.1:$PORT/api/v1/service-accounts" >/dev/null 2>&1; \
      curl -fsS -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
      --data "{\"name\":\"k$round\"}" "http://127.0.0.1:$PORT/api/v1/service-accounts/bench/api-keys" | json_field key)
    wrk_row "build before key policies (round $round)" -c4 -H "Authorization: Bearer $base_key" "http://127.0.0.1:$PORT/api/v1/whoami" >/dev/null
    kill "$PID"; wait "$PID" 2>/dev/null || true
    BIN=$NEW_BIN serve_backend sqlite "sqlite://$DB"
    admin=$ADMIN_TOKEN
  fi
done
policy '{}'
fi

want webhooks || exit 0
echo
echo "## Webhook worker: 10,000 alerts to a local receiver (SQLite)"
echo
RPORT=$(free_port)
python3 - "$RPORT" "$WORK/received" <<'PY' &
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, path = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
out = open(path, "a", buffering=1)
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            out.write(self.headers.get("portcullis-delivery", "?") + "\n")
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
RECEIVER_PID=$!
until curl -s -o /dev/null "http://127.0.0.1:$RPORT/" 2>/dev/null; do sleep 0.05; done
api POST /api/v1/namespaces/default/webhooks "$admin" \
  "{\"url\":\"http://127.0.0.1:$RPORT/hook\",\"events\":[\"policy.violation\"]}" >/dev/null
kill "$PID"; wait "$PID" 2>/dev/null || true

queue() { # first, count: queue deliveries first..first+count-1 while the server is down
  python3 - "$DB" "$1" "$2" <<'PY'
import sqlite3, sys, time, json
db, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(db)
hook = c.execute("SELECT id FROM webhooks").fetchone()[0]
now = int(time.time() * 1000)
body = json.dumps({"event": "policy.violation", "namespace": "default", "data": {"bench": True}})
c.executemany(
    "INSERT INTO webhook_deliveries (webhook_id, event, dedupe, payload, state, attempts, next_attempt_at, created_at)"
    " VALUES (?, 'policy.violation', ?, ?, 'pending', 0, ?, ?)",
    [(hook, f"bench:{i}", body, now, now) for i in range(first, first + count)])
c.commit()
PY
}
delivered() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM webhook_deliveries WHERE state='delivered'\").fetchone()[0])" "$DB"; }
received() { [ -f "$WORK/received" ] && sort -u "$WORK/received" | wc -l || echo 0; }

queue 0 10000
: >"$WORK/received"
start=$(now_ms)
serve_backend sqlite "sqlite://$DB"
until [ "$(received)" -ge 10000 ]; do sleep 0.05; done
end=$(now_ms)
echo "| run | alerts | received (unique) | received twice | delivered in the database | time |"
echo "|---|---|---|---|---|---|"
sleep 1
echo "| straight | 10000 | $(received) | $(( $(wc -l <"$WORK/received") - $(received) )) | $(delivered) | $(( end - start )) ms (from start-up) |"

kill "$PID"; wait "$PID" 2>/dev/null || true
queue 10000 10000
: >"$WORK/received"
start=$(now_ms)
serve_backend sqlite "sqlite://$DB"
until [ "$(wc -l <"$WORK/received")" -ge 3000 ]; do sleep 0.005; done
kill -9 "$PID"; wait "$PID" 2>/dev/null || true
at_kill=$(received)
serve_backend sqlite "sqlite://$DB"
# Done when the database has every delivery delivered: the batch in flight at the kill
# is sent again once its lease runs out, received before or not.
until [ "$(delivered)" -ge 20000 ]; do sleep 0.2; done
end=$(now_ms)
total=$(wc -l <"$WORK/received")
echo "| kill -9 after ~3,000, restart | 10000 | $(received) | $(( total - $(received) )) | $(( $(delivered) - 10000 )) | $(( end - start )) ms (incl. the 30 s lease of the batch in flight) |"
echo
echo "Received at the kill: $at_kill; a delivery batch leases 32, so at most 32 can arrive twice."
