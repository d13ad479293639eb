#!/usr/bin/env bash
# Browser tests of Vigil's pages in a real headless Chromium (Debian `chromium`, driven by npm
# `playwright-core`), with axe-core accessibility checks. Starts its own Vigil on a free loopback port with a
# fast core (slot_ms 200) and a temporary data dir, runs test.js, stops Vigil (by PID), and exits non-zero
# on failure. Screenshots go to tests/browser/screenshots/.
#
# Usage: tests/browser/run.sh            (builds with cargo unless VIGIL_BIN points at a binary)
# Env:   VIGIL_BIN, CARGO_TARGET_DIR, CHROMIUM (default /usr/bin/chromium), KEEP_DATA=1
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { echo "[browser] $*" >&2; }

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  log "installing Debian chromium"
  # policy-rc.d keeps postinst scripts from starting daemons (see tests/peers/_lib.sh).
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2 \
    || { apt-get update -q >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2; }
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
if [ ! -f "$HERE/node_modules/playwright-core/package.json" ] || [ ! -f "$HERE/node_modules/axe-core/axe.min.js" ]; then
  log "installing playwright-core and axe-core from package.json"
  (cd "$HERE" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi) >&2
fi

if [ -z "${VIGIL_BIN:-}" ]; then
  log "building vigil"
  (cd "$ROOT" && cargo build -q -p vigil) >&2
  VIGIL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/vigil"
fi

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/vigil-browser.XXXXXX")"
cat > "$DATA/vigil.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
[storage]
data_dir = "$DATA/data"
[core]
slot_ms = 200
price_tick = "200ms"
scrape_interval = "1s"
# An email channel (to a closed port: nothing is mailed) so the status page offers email subscriptions too.
[[channels]]
name = "log"
kind = "log"
[[channels]]
name = "email"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = 9
tls = "none"
from = "status@example.test"
to = ["oncall@example.test"]
[responder.subscriptions]
# The subscription check posts a loopback webhook URL; a real deployment keeps this off.
allow_private_webhooks = true
TOML
"$VIGIL_BIN" run --config "$DATA/vigil.toml" > "$DATA/vigil.log" 2>&1 &
VIGIL_PID=$!
cleanup() {
  kill "$VIGIL_PID" 2>/dev/null || true
  wait "$VIGIL_PID" 2>/dev/null || true
  if [ "${KEEP_DATA:-0}" = 1 ]; then log "kept $DATA"; else rm -rf "$DATA"; fi
}
trap cleanup EXIT
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$VIGIL_PID" 2>/dev/null || { log "vigil exited:"; tail -20 "$DATA/vigil.log" >&2; exit 1; }
  sleep 0.1
done
log "vigil is up on 127.0.0.1:$PORT (pid $VIGIL_PID)"
mkdir -p "$HERE/screenshots"
set +e
VIGIL_URL="http://127.0.0.1:$PORT" NODE_PATH="$HERE/node_modules" node "$HERE/test.js"
status=$?
set -e
if [ "$status" != 0 ]; then log "vigil log tail:"; tail -20 "$DATA/vigil.log" >&2; fi
exit "$status"
