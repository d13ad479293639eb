// Compile Pausable.sol with solc-js (offline) exactly as deploy-pausable.js does, and print the creation
// bytecode as hex (no 0x). Used to refresh responder/tests/data/Pausable.bin:
//   NODE_PATH="$(source tests/peers/_lib.sh; npm_pkg_dir solc-0.8.37 solc@0.8.37)/node_modules" \
//     node tests/peers/eth/compile-pausable.js > responder/tests/data/Pausable.bin
const fs = require('fs');
const path = require('path');
const solc = require('solc');
const src = fs.readFileSync(path.join(__dirname, 'Pausable.sol'), 'utf8');
const input = { language: 'Solidity', sources: { 'Pausable.sol': { content: src } },
  settings: { evmVersion: 'shanghai', optimizer: { enabled: true, runs: 200 },
    outputSelection: { '*': { '*': ['evm.bytecode.object'] } } } };
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errs = (out.errors || []).filter(e => e.severity === 'error');
if (errs.length) { console.error(errs.map(e => e.formattedMessage).join('\n')); process.exit(1); }
process.stdout.write(out.contracts['Pausable.sol'].Pausable.evm.bytecode.object + '\n');
