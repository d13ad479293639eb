#!/usr/bin/env bash
# Compile tests/peers/eth/Pausable.sol with solc-js 0.8.37 (npm `solc`, offline) and
# deploy it to a dev JSON-RPC node (ganache / hardhat: unlocked accounts).
# Usage: tests/peers/deploy-pausable.sh [RPC_URL=http://127.0.0.1:8545] [--pause]
# Prints one JSON line with "address", "deployTx", "selectors", "paused".
#   pause()  = 0x8456cb59   unpause() = 0x3f4ba83a   paused() = 0x5c975abb
#   bump()   = 0x68110b2f (reverts "paused" while paused)   owner() = 0x8da5cb5b
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
DIR="$(npm_pkg_dir solc-0.8.37 solc@0.8.37)"
NODE_PATH="$DIR/node_modules" exec node "$PEERS_DIR/eth/deploy-pausable.js" "${1:-http://127.0.0.1:8545}" "${@:2}"
