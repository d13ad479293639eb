// Compile every tests/peers/eth/contracts/*.sol with solc-js (offline: the compiler ships inside the
// npm package) and write one hardhat-style artifact per contract:
//   OUT_DIR/<Name>.json = {"contractName", "abi", "bytecode": "0x..."}
// Usage: NODE_PATH=<solc>/node_modules node compile-contracts.js OUT_DIR   (see compile-contracts.sh)
// Skips compiling when OUT_DIR/.sources-hash matches the sources, settings and compiler.
// Prints only progress and errors, on stderr; exits 1 with the compiler's errors on failure.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const outDir = process.argv[2];
if (!outDir) { console.error('usage: compile-contracts.js OUT_DIR'); process.exit(2); }
const srcDir = path.join(__dirname, 'contracts');
const files = fs.readdirSync(srcDir).filter(f => f.endsWith('.sol')).sort();
const settings = { evmVersion: 'shanghai', // ganache 7 knows no hardfork after shanghai
  optimizer: { enabled: true, runs: 200 },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } };
const sources = {};
for (const f of files) sources[f] = { content: fs.readFileSync(path.join(srcDir, f), 'utf8') };

// The solc package's version (read without loading the 8 MB compiler) is part of the hash.
const solcPkg = require.resolve('solc/package.json');
const solcVersion = JSON.parse(fs.readFileSync(solcPkg, 'utf8')).version;
const hash = crypto.createHash('sha256')
  .update(JSON.stringify({ solcVersion, settings, sources, script: fs.readFileSync(__filename, 'utf8') }))
  .digest('hex');
const hashFile = path.join(outDir, '.sources-hash');
try {
  const manifest = JSON.parse(fs.readFileSync(hashFile, 'utf8'));
  if (manifest.hash === hash && manifest.contracts.every(n => fs.existsSync(path.join(outDir, n + '.json')))) {
    console.error(`[compile-contracts] ${manifest.contracts.length} artifacts in ${outDir} are up to date`);
    process.exit(0);
  }
} catch (_) { /* no or unreadable manifest: compile */ }

const started = Date.now();
console.error(`[compile-contracts] compiling ${files.join(', ')} with solc ${solcVersion}`);
const solc = require('solc');
const out = JSON.parse(solc.compile(JSON.stringify({ language: 'Solidity', sources, settings })));
const diagnostics = out.errors || [];
const errors = diagnostics.filter(e => e.severity === 'error');
if (errors.length) {
  console.error(errors.map(e => e.formattedMessage).join('\n'));
  process.exit(1);
}
for (const w of diagnostics) console.error(w.formattedMessage);

fs.mkdirSync(outDir, { recursive: true });
const names = [];
for (const file of Object.keys(out.contracts || {}).sort()) {
  for (const [name, c] of Object.entries(out.contracts[file])) {
    if (!c.evm.bytecode.object) continue; // interfaces and abstract contracts
    if (names.includes(name)) { console.error(`duplicate contract name ${name}`); process.exit(1); }
    names.push(name);
    const artifact = { contractName: name, sourceName: file, abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
    // Write-then-rename: a concurrent reader never sees half a file.
    const tmp = path.join(outDir, `.${name}.json.${process.pid}`);
    fs.writeFileSync(tmp, JSON.stringify(artifact, null, 2) + '\n');
    fs.renameSync(tmp, path.join(outDir, name + '.json'));
  }
}
const tmp = `${hashFile}.${process.pid}`;
fs.writeFileSync(tmp, JSON.stringify({ hash, solcVersion, contracts: names }) + '\n');
fs.renameSync(tmp, hashFile);
console.error(`[compile-contracts] wrote ${names.join(', ')} to ${outDir} in ${Date.now() - started} ms`);
