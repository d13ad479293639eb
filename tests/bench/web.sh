#!/usr/bin/env bash
# Throughput and latency of the public status page and summary.json, measured with wrk on loopback, side
# by side with nginx serving saved copies of the same two responses.
#
# Starts a release Vigil with its default workload (embedded core, collector, detector, responder) on a
# free port and a temp data dir, opens one incident so the page has content, saves / and summary.json,
# serves them from nginx (Debian nginx-light), then runs wrk against all four URLs.
#
# Usage: tests/bench/web.sh                      (builds --release unless VIGIL_BIN is set)
# Env:   VIGIL_BIN, DURATION (10s), CONNECTIONS (32), THREADS (2)
# Prints a Markdown table; installs wrk and nginx-light with apt if missing. Stops what it started by PID.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { echo "[bench] $*" >&2; }
DURATION="${DURATION:-10s}"; CONNECTIONS="${CONNECTIONS:-32}"; THREADS="${THREADS:-2}"

need() { # BINARY PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2"
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >&2 \
    || { apt-get update -q >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >&2; }
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  command -v "$1" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin" command -v "$1" >/dev/null 2>&1
}
need wrk wrk
PATH="$PATH:/usr/sbin"
need nginx nginx-light

if [ -z "${VIGIL_BIN:-}" ]; then
  log "building vigil (release)"
  (cd "$ROOT" && cargo build -q --release -p vigil) >&2
  VIGIL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/vigil"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
VPORT="$(free_port)"; NPORT="$(free_port)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench.XXXXXX")"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

RUST_LOG=warn "$VIGIL_BIN" run --listen "127.0.0.1:$VPORT" --data-dir "$WORK/data" > "$WORK/vigil.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$VPORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$VPORT/readyz" >/dev/null || { tail -20 "$WORK/vigil.log" >&2; exit 1; }
curl -fsS -o /dev/null -H 'content-type: application/json' \
  -d '{"title":"Bridge withdrawals delayed","level":"L2","component":"bridge"}' "http://127.0.0.1:$VPORT/api/v1/incidents"
sleep 1

mkdir -p "$WORK/www/api/v1/status" "$WORK/nginx"
# nginx's workers run as an unprivileged user; mktemp -d is owner-only.
chmod 755 "$WORK"
curl -fsS "http://127.0.0.1:$VPORT/" > "$WORK/www/index.html"
curl -fsS "http://127.0.0.1:$VPORT/api/v1/status/summary.json" > "$WORK/www/api/v1/status/summary.json"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
  types { text/html html; application/json json; }
  sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path $WORK/nginx/tmp; proxy_temp_path $WORK/nginx/tmp; fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp; scgi_temp_path $WORK/nginx/tmp;
  server {
    listen 127.0.0.1:$NPORT;
    root $WORK/www;
    add_header Cache-Control "public, max-age=5";
  }
}
CONF
chmod -R a+rX "$WORK/www"
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2> "$WORK/nginx/stderr.log" &
PIDS+=($!)
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$NPORT/index.html" >/dev/null 2>&1 && break; sleep 0.1; done

run() { # LABEL URL
  local out rps p99 p50 size
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$2")"
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  size="$(curl -fsS "$2" | wc -c)"
  errors="$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)"
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$size" "$rps" "$p50" "$p99" "${errors:-none}"
}
log "vigil on $VPORT, nginx on $NPORT; wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency"
sleep 2
echo "| target | body bytes | requests/s | p50 | p99 | errors |"
echo "|---|---|---|---|---|---|"
run "Vigil /" "http://127.0.0.1:$VPORT/"
run "nginx / (saved copy)" "http://127.0.0.1:$NPORT/index.html"
run "Vigil summary.json" "http://127.0.0.1:$VPORT/api/v1/status/summary.json"
run "nginx summary.json (saved copy)" "http://127.0.0.1:$NPORT/api/v1/status/summary.json"
