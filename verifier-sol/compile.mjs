// Compile Solidity files with the pinned solcjs; print one JSON object on stdout:
// {"solc": version, "contracts": {Name: {"bytecode": hex, "methods": {signature: selector}}}}.
// Usage: node verifier-sol/compile.mjs FILE.sol... (compiler errors: exit 1, on stderr).
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import solc from 'solc';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node compile.mjs FILE.sol...');
  process.exit(2);
}
const sources = {};
for (const f of files) sources[basename(f)] = { content: readFileSync(f, 'utf8') };
const input = {
  language: 'Solidity',
  sources,
  settings: {
    evmVersion: 'prague',
    optimizer: { enabled: true, runs: 10000 },
    outputSelection: { '*': { '*': ['evm.bytecode.object', 'evm.methodIdentifiers'] } },
  },
};
// Imports ("./X.sol") resolve beside the files given.
const dirs = [...new Set(files.map((f) => dirname(f)))];
const findImports = (path) => {
  for (const d of dirs) {
    const p = join(d, basename(path));
    if (existsSync(p)) return { contents: readFileSync(p, 'utf8') };
  }
  return { error: `not found: ${path}` };
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
if (errors.length > 0) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const contracts = {};
for (const file of Object.keys(output.contracts || {})) {
  for (const [name, c] of Object.entries(output.contracts[file])) {
    contracts[name] = { bytecode: c.evm.bytecode.object, methods: c.evm.methodIdentifiers };
  }
}
console.log(JSON.stringify({ solc: solc.version(), contracts }));
