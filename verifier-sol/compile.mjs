// Compile Solidity files with the pinned solcjs; print one JSON object on stdout:
// {"solc": version, "contracts": {Name: {"bytecode": hex, "methods": {signature: selector}}}}.
// Usage: node verifier-sol/compile.mjs FILE.sol... (compiler errors: exit 1, on stderr).
//
// The optimizer runs 10,000 times, except for a file with a line `// solc-optimizer-runs: N`:
// files are compiled together, one solc call per runs value (a contract whose code would pass
// the 24,576-byte limit at 10,000 names a lower value; EIP-170). A contract is reported as its
// own file compiles it when that file is given, else as the first file importing it does.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import solc from 'solc';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node compile.mjs FILE.sol...');
  process.exit(2);
}
const groups = new Map();
for (const f of files) {
  const content = readFileSync(f, 'utf8');
  const m = content.match(/^\/\/ solc-optimizer-runs: (\d+)$/m);
  const runs = m ? Number(m[1]) : 10000;
  if (!groups.has(runs)) groups.set(runs, {});
  groups.get(runs)[basename(f)] = { content };
}
// Imports ("./X.sol") resolve beside the files given.
const dirs = [...new Set(files.map((f) => dirname(f)))];
const findImports = (path) => {
  for (const d of dirs) {
    const p = join(d, basename(path));
    if (existsSync(p)) return { contents: readFileSync(p, 'utf8') };
  }
  return { error: `not found: ${path}` };
};
const contracts = {};
for (const [runs, sources] of groups) {
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      evmVersion: 'prague',
      optimizer: { enabled: true, runs },
      outputSelection: { '*': { '*': ['evm.bytecode.object', 'evm.methodIdentifiers'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    for (const e of errors) console.error(e.formattedMessage);
    process.exit(1);
  }
  for (const file of Object.keys(output.contracts || {})) {
    for (const [name, c] of Object.entries(output.contracts[file])) {
      // A contract only imported here yields to the one compiled from a file given for it
      // (with that file's runs).
      if (!(name in contracts) || file in sources) {
        contracts[name] = { bytecode: c.evm.bytecode.object, methods: c.evm.methodIdentifiers };
      }
    }
  }
}
console.log(JSON.stringify({ solc: solc.version(), contracts }));
