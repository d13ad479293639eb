# Shared helpers for the start-*.sh peer scripts. Source it; do not run it.
# Adapted from the team's tested peer recipes; the project carries its own copy.
# Conventions for every start script:
#   - binds 127.0.0.1 only; refuses to start if the port is already taken
#   - installs what is missing (Debian apt / pip / npm into a cache dir)
#   - starts the peer in the background, logs into WORKDIR, waits until healthy
#   - prints ONLY the PID on stdout (progress goes to stderr), so
#       PID=$(peers/start-x.sh PORT)   ...   kill "$PID"
#   - exit status != 0 if install/start/health check failed (peer is stopped then)

set -euo pipefail

PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_CACHE="${PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil-peers}"
export DEBIAN_FRONTEND=noninteractive

log() { echo "[peers] $*" >&2; }
die() { echo "[peers] ERROR: $*" >&2; exit 1; }

# sudo only when not root (the project machines run as root)
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_install PACKAGE... : apt-get install (apt-get update + retry on failure).
# Uses a temporary policy-rc.d (exit 101) when none exists, so Debian's postinst
# never auto-starts a daemon on its default (often 0.0.0.0) port.
apt_install() {
  log "installing Debian package(s): $*"
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d; made_policy=1
  fi
  local rc=0
  if ! as_root apt-get install -y -q --no-install-recommends "$@" >&2; then
    log "apt-get install failed; running apt-get update and retrying"
    as_root apt-get update -q >&2 || true
    as_root apt-get install -y -q --no-install-recommends "$@" >&2 || rc=$?
  fi
  if [ "$made_policy" = 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
  return "$rc"
}

# need_apt BINARY PACKAGE... : apt_install PACKAGE(s) unless BINARY is on PATH.
need_apt() {
  local bin="$1"; shift
  command -v "$bin" >/dev/null 2>&1 && return 0
  apt_install "$@" || die "apt-get install $* failed"
  command -v "$bin" >/dev/null 2>&1 || die "$bin still missing after installing $*"
}

# need_pip MODULE SPEC : pip install SPEC unless python3 can import MODULE
need_pip() {
  python3 -c "import $1" >/dev/null 2>&1 && return 0
  log "pip installing $2"
  python3 -m pip install -q --disable-pip-version-check "$2" >&2
}

# npm_pkg_dir NAME SPEC : install SPEC (e.g. ganache@7.9.2) into $PEERS_CACHE/NAME
# once, print that directory.
npm_pkg_dir() {
  local name="$1" spec="$2" dir="$PEERS_CACHE/$1"
  local pkg="${spec%@*}"
  [ -n "$pkg" ] || pkg="$spec"
  if [ ! -f "$dir/node_modules/$pkg/package.json" ]; then
    command -v npm >/dev/null 2>&1 || die "npm not found (Node.js is preinstalled on the rust machine kind)"
    log "npm installing $spec into $dir"
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || echo '{"name":"obs-peer-'"$name"'","private":true}' > "$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$spec" >&2)
  fi
  echo "$dir"
}

port_free() {
  local port="$1"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "127.0.0.1:$port is already in use (stale peer?); pick another port"
  fi
}

# wait_until TIMEOUT_S PID CMD... : poll CMD every 0.1 s until it succeeds; fail
# early if PID died.
wait_until() {
  local timeout="$1" pid="$2"; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.1
  done
}

http_ok() { curl -fsS --max-time 2 "$1" >/dev/null; }
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
jsonrpc_ok() {
  curl -fsS --max-time 2 -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$1" | grep -q '"result"'
}

# started NAME PID LOG : common epilogue for a healthy start
started() {
  log "$1 is up (pid $2, log $3)"
  echo "$2"
}

# failed NAME PID LOG : stop the half-started peer, show its log tail, exit 1
failed() {
  log "$1 did not become healthy; last log lines:"
  tail -n 20 "$3" >&2 || true
  kill "$2" 2>/dev/null || true
  exit 1
}
