# The test OpenID provider (tests/oidc/provider.mjs, certified `oidc-provider` from npm)
# on a free 127.0.0.1 port, for tests/run.sh. Source it, then: oidc_install (npm ci when
# node_modules is missing or older than the lock file), oidc_start (sets OIDC_ISSUER),
# oidc_stop (also run on EXIT by the caller).

oidc_install() {
  local dir=tests/oidc
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
    touch "$dir/node_modules"
  fi
}

oidc_start() {
  OIDC_DIR=$(mktemp -d /tmp/portcullis-oidc.XXXXXX)
  mkfifo "$OIDC_DIR/out"
  OIDC_PORT=0 node tests/oidc/provider.mjs >"$OIDC_DIR/out" 2>"$OIDC_DIR/provider.log" &
  OIDC_PID=$!
  local line=""
  if ! read -r -t 30 line <"$OIDC_DIR/out" || [ "${line%% *}" != "ready" ]; then
    echo "the test OpenID provider did not start:" >&2
    cat "$OIDC_DIR/provider.log" >&2
    return 1
  fi
  # Keep draining stdout so the provider never blocks on a full pipe.
  cat "$OIDC_DIR/out" >/dev/null &
  OIDC_ISSUER=${line#ready }
}

oidc_stop() {
  [ -n "${OIDC_PID:-}" ] || return 0
  kill "$OIDC_PID" 2>/dev/null || true
  wait "$OIDC_PID" 2>/dev/null || true
  rm -rf "$OIDC_DIR"
  OIDC_PID=""
}
