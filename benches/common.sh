# What every benchmark script shares; source it with the script's arguments, after
# setting the defaults that differ from these (defaults yield to the environment):
#   COUNT=${COUNT:-100}; . benches/common.sh "$@"
# Options: --duration, --backend (sqlite|postgres|both), --count, --sizes, --connections.
# Builds the release binary (or takes PORTCULLIS_BIN, to measure another build side by
# side), makes a scratch folder, and on exit stops the server and any PostgreSQL.

DURATION=${DURATION:-10s}
BACKENDS=${BACKENDS:-both}

while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "option $1 needs a value" >&2; exit 2; }
  case "$1" in
    --duration) DURATION=$2 ;;
    --backend) BACKENDS=$2 ;;
    --count) COUNT=$2 ;;
    --sizes) SIZES=$2 ;;
    --connections) CONNECTIONS=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -n "${PORTCULLIS_BIN:-}" ]; then
  BIN=$PORTCULLIS_BIN
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
  cargo build --release --locked >&2
  BIN="$CARGO_TARGET_DIR/release/portcullis"
fi
PASSWORD="benchmark-admin-password"
WORK=$(mktemp -d /tmp/portcullis-bench.XXXXXX)
PID=""
. tests/pg.sh
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; pg_stop; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
now_ms() { date +%s%3N; }

# Starts the release server on a free port (PORT, PID) with the database at URL $2 and
# data in $WORK/$1, waits until ready, and signs the admin in (ADMIN_TOKEN).
serve_backend() { # name, database URL
  PORT=$(free_port)
  PORTCULLIS_DATA_DIR="$WORK/$1" PORTCULLIS_DATABASE_URL="$2" PORTCULLIS_BIND="127.0.0.1:$PORT" \
    PORTCULLIS_ADMIN_PASSWORD="$PASSWORD" PORTCULLIS_LOG=warn "$BIN" serve >"$WORK/$1.log" 2>&1 &
  PID=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; do sleep 0.02; done
  ADMIN_TOKEN=$(curl -fsS -H 'Content-Type: application/json' \
    --data "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$PORT/api/v1/login" | json_field access_token)
}

# One table row (label | req/s | p50 | p99 | non-2xx) on descriptor 3; prints
# "req/s requests" on standard output for scripts that compute with them.
wrk_row() { # label, then wrk arguments
  local label=$1; shift
  local out; out=$(wrk -t2 -d"$DURATION" --latency "$@")
  local requests rps p50 p99 errors
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "${errors:-0}" >&3
  echo "$rps $requests"
}
