#!/usr/bin/env bash
# Makes a PostgreSQL server available to the test suite and prints its URL (only the URL, on stdout).
#
#   export VIGIL_TEST_POSTGRES_URL=$(tests/peers/postgres.sh)
#
# 1. a server already answering on 127.0.0.1:5432 (trust auth, database `test`) is used as it is;
# 2. otherwise an installed Debian cluster is started (pg_ctlcluster);
# 3. otherwise PostgreSQL is installed from Debian's packages and a throwaway cluster is started on
#    127.0.0.1:${VIGIL_PG_PORT:-15432} under ${VIGIL_PG_DIR:-/tmp/vigil-pg}.
set -euo pipefail
log() { echo "[postgres] $*" >&2; }

ready() { pg_isready -q -h 127.0.0.1 -p "$1" 2>/dev/null; }
ensure_test_db() {
  local port="$1"
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -Atc "select 1 from pg_database where datname='test'" postgres 2>/dev/null | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -c "create database test" postgres >&2
  fi
  echo "postgres://postgres@127.0.0.1:$port/test"
}

if command -v pg_isready >/dev/null && ready 5432; then
  ensure_test_db 5432; exit 0
fi
if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
  log "starting the installed cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2 || true
  for _ in $(seq 50); do ready 5432 && { ensure_test_db 5432; exit 0; }; sleep 0.2; done
fi

PORT="${VIGIL_PG_PORT:-15432}"
if ready "$PORT"; then ensure_test_db "$PORT"; exit 0; fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ]; then
  log "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  apt-get install -y -q --no-install-recommends postgresql >&2 || { apt-get update -q >&2; apt-get install -y -q --no-install-recommends postgresql >&2; }
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
DIR="${VIGIL_PG_DIR:-/tmp/vigil-pg}"
rm -rf "$DIR"; mkdir -p "$DIR"; chown postgres:postgres "$DIR"; chmod 700 "$DIR"
log "starting a throwaway cluster on 127.0.0.1:$PORT in $DIR"
runuser -u postgres -- "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 -N >&2
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$DIR -c fsync=off" start >&2
ensure_test_db "$PORT"
