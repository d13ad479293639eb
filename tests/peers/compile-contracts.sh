#!/usr/bin/env bash
# Compile tests/peers/eth/contracts/*.sol with solc-js 0.8.37 (npm `solc`, offline, evmVersion
# shanghai) into hardhat-style artifacts: OUT_DIR/<Name>.json = {"contractName","abi","bytecode"}.
# Usage: tests/peers/compile-contracts.sh OUT_DIR
# Does nothing when OUT_DIR already holds artifacts of the same sources (hash in OUT_DIR/.sources-hash).
# Prints nothing on stdout; progress and compiler errors go to stderr; exit status != 0 on failure.
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
[ $# -ge 1 ] || die "usage: compile-contracts.sh OUT_DIR"
OUT_DIR="$1"
mkdir -p "$OUT_DIR"
DIR="$(npm_pkg_dir solc-0.8.37 solc@0.8.37)"
NODE_PATH="$DIR/node_modules" exec node "$PEERS_DIR/eth/compile-contracts.js" "$OUT_DIR"
