# Throwaway PostgreSQL cluster on a free 127.0.0.1 port, for tests/run.sh and benches/.
# Source it, then: pg_start (sets PG_URL), pg_stop (also run on EXIT by the caller).

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

pg_start() {
  PGBIN=$(pg_bin)
  PGDIR=$(mktemp -d /tmp/portcullis-pg.XXXXXX)
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$PGDIR"
  pg_as_owner "$PGBIN/initdb -D $PGDIR/data -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8" >/dev/null
  pg_as_owner "$PGBIN/pg_ctl -D $PGDIR/data -l $PGDIR/pg.log -w -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200' start" >/dev/null
  PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
  # `$TEST_PG_CTL stop|start`: for the test that takes PostgreSQL away mid-load.
  local owner='sh -c'
  [ "$(id -u)" -ne 0 ] || owner='su postgres -s /bin/sh -c'
  cat > "$PGDIR/ctl" <<EOS
#!/bin/sh
case "\$1" in
  stop) $owner "$PGBIN/pg_ctl -D $PGDIR/data -m immediate -w stop" >/dev/null ;;
  start) $owner "$PGBIN/pg_ctl -D $PGDIR/data -l $PGDIR/pg.log -w -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200' start" >/dev/null ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
EOS
  chmod +x "$PGDIR/ctl"
  export TEST_PG_CTL="$PGDIR/ctl"
}

pg_stop() {
  [ -n "${PGDIR:-}" ] || return 0
  pg_as_owner "$PGBIN/pg_ctl -D $PGDIR/data -m immediate -w stop" >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
  PGDIR=""
}
