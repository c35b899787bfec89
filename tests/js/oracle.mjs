// Outside reference for zkrollup's interoperability tests: circomlibjs (pinned in package.json)
// and an independent implementation of SPEC-v2 sections 2-5 written here, sharing no code with
// the Rust engine. Usage: node oracle.mjs COMMAND < input.json > output.json
import { buildPoseidon, buildEddsa, buildBabyjub } from "circomlibjs";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const poseidon = await buildPoseidon();
const eddsa = await buildEddsa();
const babyJub = await buildBabyjub();
const F = poseidon.F;
const WITHDRAWAL_TAG = 1n << 32n;
const dec = (x) => F.toString(x);
const H = (xs) => F.toObject(poseidon(xs.map((x) => BigInt(x))));

function hexToBuf(h) {
  return Buffer.from(h, "hex");
}

// A sparse quaternary tree, computed from the definition: node = H(c0..c3), empty ladder z.
function treeRoot(depth, leaves) {
  const z = [0n];
  for (let k = 0; k < depth; k++) z.push(H([z[k], z[k], z[k], z[k]]));
  const entries = [...leaves.entries()].filter(([, v]) => v !== 0n);
  function node(h, i) {
    const lo = i * 4n ** BigInt(h);
    const hi = (i + 1n) * 4n ** BigInt(h);
    if (!entries.some(([idx]) => idx >= lo && idx < hi)) return z[h];
    if (h === 0) return leaves.get(i);
    return H([0n, 1n, 2n, 3n].map((c) => node(h - 1, 4n * i + c)));
  }
  return node(depth, 0n);
}

const commands = {
  // [[x1..xk], ..] -> [H(x1..xk), ..]
  poseidon: (input) => input.map((xs) => dec(poseidon(xs.map((x) => BigInt(x))))),

  // circomlib's round constants and MDS matrices, as decimal strings, for widths 2..17.
  constants: async () => {
    const url = pathToFileURL(path.join(here, "node_modules/circomlibjs/src/poseidon_constants.js"));
    const { C, M } = (await import(url.href)).default;
    const toDec = (h) => BigInt(h).toString();
    return { C: C.map((c) => c.map(toDec)), M: M.map((m) => m.map((row) => row.map(toDec))) };
  },

  // [{private_key, message}] -> [{pubkey, R8, S}] with circomlibjs signPoseidon.
  sign: (input) =>
    input.map(({ private_key, message }) => {
      const prv = hexToBuf(private_key);
      const A = eddsa.prv2pub(prv);
      const sig = eddsa.signPoseidon(prv, F.e(BigInt(message)));
      return { pubkey: [dec(A[0]), dec(A[1])], R8: [dec(sig.R8[0]), dec(sig.R8[1])], S: sig.S.toString() };
    }),

  // [{pubkey, message, R8, S}] -> [bool] with circomlibjs verifyPoseidon.
  verify: (input) =>
    input.map(({ pubkey, message, R8, S }) =>
      eddsa.verifyPoseidon(
        F.e(BigInt(message)),
        { R8: [F.e(BigInt(R8[0])), F.e(BigInt(R8[1]))], S: BigInt(S) },
        [F.e(BigInt(pubkey[0])), F.e(BigInt(pubkey[1]))],
      ),
    ),

  // {depth, leaves: [[index, leaf]]} -> root
  tree: ({ depth, leaves }) => treeRoot(depth, new Map(leaves.map(([i, v]) => [BigInt(i), BigInt(v)]))).toString(),

  // [[Ax, Ay]] -> [hex of circomlibjs packPoint (32 bytes, little-endian)]
  pack: (input) => input.map(([x, y]) => Buffer.from(babyJub.packPoint([F.e(BigInt(x)), F.e(BigInt(y))])).toString("hex")),

  // [hex of 32 little-endian bytes] -> [[Ax, Ay] or null] with circomlibjs unpackPoint
  unpack: (input) =>
    input.map((h) => {
      const p = babyJub.unpackPoint(hexToBuf(h));
      return p ? [dec(p[0]), dec(p[1])] : null;
    }),

  // [{pubkey, domain, from, amount, nonce, R8, S}] -> [bool]: verifyPoseidon on the withdrawal
  // message H(domain, from, 2^32, amount, nonce), computed here.
  verify_withdrawal: (input) =>
    input.map(({ pubkey, domain, from, amount, nonce, R8, S }) => {
      const m = H([BigInt(domain), BigInt(from), WITHDRAWAL_TAG, BigInt(amount), BigInt(nonce)]);
      return eddsa.verifyPoseidon(
        F.e(m),
        { R8: [F.e(BigInt(R8[0])), F.e(BigInt(R8[1]))], S: BigInt(S) },
        [F.e(BigInt(pubkey[0])), F.e(BigInt(pubkey[1]))],
      );
    }),

  // {depth, batch_size, l1_slots, domain, batch_id, accounts: [{index, private_key, balance, nonce}],
  //  requests: [{type, index, amount, private_key (deposit_new), addr}],
  //  transfers: [{from, to, amount, nonce}] (to = 0: a withdrawal)} -> the state, requests and
  // batch files (keys and signatures by circomlibjs) and what applying the batch must give,
  // computed from SPEC-v2: L1 requests first, then L2 slots.
  scenario: ({ depth, batch_size, l1_slots, domain, batch_id, accounts, requests, transfers }) => {
    const keys = new Map();
    const state = new Map();
    const leaf = (a) => H([a.pubkey[0], a.pubkey[1], a.balance, a.nonce]);
    const leaves = () => new Map([...state.entries()].map(([i, a]) => [BigInt(i), leaf(a)]));
    const pub = (prv) => {
      const A = eddsa.prv2pub(hexToBuf(prv));
      return [F.toObject(A[0]), F.toObject(A[1])];
    };
    for (const a of accounts) {
      keys.set(a.index, hexToBuf(a.private_key));
      state.set(a.index, { pubkey: pub(a.private_key), balance: BigInt(a.balance), nonce: BigInt(a.nonce) });
    }
    const stateFile = {
      depth,
      accounts: [...state.entries()].map(([index, a]) => ({
        index, pubkey: a.pubkey.map(String), balance: String(a.balance), nonce: String(a.nonce),
      })),
    };
    const be = (x, bytes) => Buffer.from(x.toString(16).padStart(bytes * 2, "0"), "hex");
    const oldRoot = treeRoot(depth, leaves());
    const requestsFile = [];
    const l1 = [];
    const TYPES = { deposit_new: 1, deposit: 2, full_exit: 3 };
    for (const r of requests) {
      let amount = BigInt(r.amount);
      let packed = Buffer.alloc(32);
      const entry = { type: r.type, index: r.index, amount: String(r.amount), addr: r.addr };
      if (r.type === "deposit_new") {
        const A = pub(r.private_key);
        keys.set(r.index, hexToBuf(r.private_key));
        entry.pubkey = A.map(String);
        // packPoint gives little-endian bytes; the record is big-endian.
        packed = Buffer.from(babyJub.packPoint([F.e(A[0]), F.e(A[1])])).reverse();
        state.set(r.index, { pubkey: A, balance: amount, nonce: 0n });
      } else if (r.type === "deposit") {
        state.get(r.index).balance += amount;
      } else {
        amount = state.get(r.index).balance;
        state.get(r.index).balance = 0n;
      }
      requestsFile.push(entry);
      l1.push(Buffer.concat([be(BigInt(TYPES[r.type]), 1), be(BigInt(r.index), 4), be(amount, 8), packed]));
    }
    while (l1.length < l1_slots) l1.push(Buffer.alloc(45));
    const batch = [];
    for (const t of transfers) {
      const to = t.to === 0 ? WITHDRAWAL_TAG : BigInt(t.to);
      const m = H([BigInt(domain), t.from, to, t.amount, t.nonce]);
      const sig = eddsa.signPoseidon(keys.get(t.from), F.e(m));
      batch.push({
        from: t.from, to: t.to, amount: String(t.amount), nonce: String(t.nonce),
        signature: { R8: [dec(sig.R8[0]), dec(sig.R8[1])], S: sig.S.toString() },
      });
      const s = state.get(t.from);
      s.balance -= BigInt(t.amount);
      s.nonce += 1n;
      if (t.to !== 0) state.get(t.to).balance += BigInt(t.amount);
    }
    const newRoot = treeRoot(depth, leaves());
    const parts = [be(BigInt(domain), 32), be(BigInt(batch_id), 8), be(oldRoot, 32), be(newRoot, 32), ...l1];
    for (let k = 0; k < batch_size; k++) {
      const t = transfers[k] || { from: 0, to: 0, amount: 0 };
      parts.push(be(BigInt(t.from), 4), be(BigInt(t.to), 4), be(BigInt(t.amount), 8));
    }
    const data = Buffer.concat(parts);
    const digest = BigInt("0x" + createHash("sha256").update(data).digest("hex"));
    const c = digest & ((1n << 253n) - 1n);
    return {
      state: stateFile,
      requests: { requests: requestsFile },
      batch: { transfers: batch },
      expected: { old_root: oldRoot.toString(), new_root: newRoot.toString(), commitment: c.toString(), public_data_hex: data.toString("hex") },
    };
  },
};

const command = commands[process.argv[2]];
if (!command) {
  console.error(`usage: node oracle.mjs (${Object.keys(commands).join("|")}) < input.json`);
  process.exit(2);
}
const input = JSON.parse(readFileSync(0, "utf8") || "null");
process.stdout.write(JSON.stringify(await command(input)));
