#!/usr/bin/env bash
# Adapted from the team's tested peer recipe; the project carries its own copy.
# Start a Hardhat Network node (npm `hardhat@2`, EDR engine) on 127.0.0.1:PORT.
# Hardhat 3 needs Node >= 22.13 and does not run on the machine's Node 20.
# `hardhat compile` does NOT work offline (it downloads solc); use deploy-pausable.sh
# (solc-js) to get bytecode instead.
#
# Usage: start-hardhat-node.sh [PORT=8545] [WORKDIR=mktemp]
#   env: HARDHAT_INTERVAL_MS (default 1000: a block every second), HARDHAT_AUTOMINE (default true: also a
#        block per transaction; false: only the timed blocks),
#        HARDHAT_CHAIN_ID (default 31337), HARDHAT_VERSION (default 2.29.1)
# Prints the PID. Stop with: kill PID.   Health: eth_blockNumber answers.
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

PORT="${1:-8545}"
port_free "$PORT"
WORKDIR="${2:-$(mktemp -d "${TMPDIR:-/tmp}/hardhat.XXXXXX")}"
VERSION="${HARDHAT_VERSION:-2.29.1}"
DIR="$(npm_pkg_dir "hardhat-$VERSION" "hardhat@$VERSION")"
mkdir -p "$WORKDIR"
cat > "$WORKDIR/hardhat.config.js" <<CFG
module.exports = { networks: { hardhat: {
  chainId: ${HARDHAT_CHAIN_ID:-31337},
  mining: { auto: ${HARDHAT_AUTOMINE:-true}, interval: ${HARDHAT_INTERVAL_MS:-1000} } } } };
CFG
# Hardhat insists on a *local* installation: link the cached node_modules in.
[ -e "$WORKDIR/node_modules" ] || ln -s "$DIR/node_modules" "$WORKDIR/node_modules"
LOG="$WORKDIR/hardhat.log"
( cd "$WORKDIR" && HARDHAT_DISABLE_TELEMETRY_PROMPT=true \
    exec node "$WORKDIR/node_modules/hardhat/internal/cli/bootstrap.js" \
      --config "$WORKDIR/hardhat.config.js" node --hostname 127.0.0.1 --port "$PORT" \
) >"$LOG" 2>&1 </dev/null &
PID=$!
wait_until 90 "$PID" jsonrpc_ok "http://127.0.0.1:$PORT" || failed hardhat "$PID" "$LOG"
started hardhat-node "$PID" "$LOG"
