#!/usr/bin/env bash
# The ceremony and `prove-zkey` against snarkjs (pinned in tests/js), same machine, same run:
# wall time and peak resident memory (`/usr/bin/time`) of each step at a domain of 2^16 (a
# circom circuit: benches/circom/poseidon_chain.circom) and 2^18 (the batch circuit's default
# shape, M = 3, N = 3, D = 16), on INSECURE seeded ptau files (examples/insecure_ptau.rs; snarkjs
# takes hours to prepare a ptau of these powers on two cores).
#
# Usage, from the repository root, after `cargo build --release --examples` and
# `npm ci --prefix tests/js`: bash benches/ceremony_vs_snarkjs.sh WORKDIR [16|18 ...]
# SNARKJS_SETUP=0 skips `snarkjs groth16 setup` (over ten minutes at 2^18) and its comparison.
# PROVE_ONLY=1 runs only the proofs, on the k1.zkey and w.wtns an earlier run left in WORKDIR.
# ZKROLLUP_BIN=PATH times another build of zkrollup (a baseline) in place of target/release's.
# RAPIDSNARK=PATH adds rapidsnark's `prover` to the proofs, alternating with the others, where
# it is installed (its build: BENCHMARKS.md, "rapidsnark"); snarkjs verifies its proof too.
set -euo pipefail
ROOT=$(pwd)
W=$(realpath -m "${1:?usage: ceremony_vs_snarkjs.sh WORKDIR [16|18 ...]}")
shift
SIZES=${*:-16 18}
Z=${ZKROLLUP_BIN:-$ROOT/target/release/zkrollup}
S="node $ROOT/tests/js/node_modules/snarkjs/build/cli.cjs"
PTAU=$ROOT/target/release/examples/insecure_ptau
mkdir -p "$W"
timed() { # timed LABEL COMMAND...: one line "LABEL: S s, K KB"
    local label=$1
    shift
    /usr/bin/time -f "$label: %e s, %M KB" "$@" >"$W/last.log" 2>"$W/last.err" || { cat "$W/last.log" "$W/last.err"; exit 1; }
    tail -1 "$W/last.err"
}

proofs() { # ROUNDS (default 3) of each, alternating, on k1.zkey and w.wtns; snarkjs verifies ours
    sha=$(sha256sum k1.zkey | cut -d' ' -f1)
    for i in $(seq "${ROUNDS:-3}"); do
        timed "snarkjs groth16 prove" $S groth16 prove k1.zkey w.wtns sp.json spub.json
        if [ -n "${RAPIDSNARK:-}" ]; then
            timed "rapidsnark prover" "$RAPIDSNARK" k1.zkey w.wtns rp.json rpub.json
        fi
        timed "zkrollup prove-zkey (points checked)" "$Z" prove-zkey --zkey k1.zkey --wtns w.wtns --out ours
        timed "zkrollup prove-zkey --zkey-sha256 (pinned)" "$Z" prove-zkey --zkey k1.zkey --zkey-sha256 "$sha" --wtns w.wtns --out ours
        ZKROLLUP_NO_IFMA=1 timed "zkrollup prove-zkey --zkey-sha256, ZKROLLUP_NO_IFMA=1" "$Z" prove-zkey --zkey k1.zkey --zkey-sha256 "$sha" --wtns w.wtns --out ours
    done
    $S zkey export verificationkey k1.zkey vk.json >/dev/null
    $S groth16 verify vk.json ours/public.json ours/proof.json | grep -o "OK!"
    if [ -n "${RAPIDSNARK:-}" ]; then
        $S groth16 verify vk.json rpub.json rp.json | grep -o "OK!"
    fi
}

for size in $SIZES; do
    D=$W/$size
    mkdir -p "$D"
    cd "$D"
    echo "== domain 2^$size =="
    if [ "${PROVE_ONLY:-0}" = 1 ]; then
        proofs
        cd "$ROOT"
        continue
    fi
    [ -f t.ptau ] || "$PTAU" $((size + 1)) t.ptau >/dev/null
    if [ "$size" = 16 ]; then
        rel=$(realpath --relative-to="$ROOT" "$D")
        (cd "$ROOT" && node tests/js/node_modules/circom2/cli.js benches/circom/poseidon_chain.circom --O2 --r1cs --wasm \
            -l tests/js/node_modules -o "$rel" >/dev/null)
        mv poseidon_chain.r1cs c.r1cs
        echo '{"x": "7"}' >input.json
        $S wtns calculate poseidon_chain_js/poseidon_chain.wasm input.json w.wtns >/dev/null
        CIRCUIT=(--r1cs c.r1cs)
    else
        SHAPE=(--l1-slots 3 --batch-size 3 --depth 16)
        "$Z" export-r1cs "${SHAPE[@]}" --out c.r1cs >/dev/null
        a=$("$Z" keygen --private-key 0909090909090909090909090909090909090909090909090909090909090909)
        b=$("$Z" keygen --private-key 0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a)
        python3 - "$a" "$b" >state.json <<'PY'
import json, sys
a, b = (json.loads(x)["pubkey"] for x in sys.argv[1:3])
print(json.dumps({"depth": 16, "accounts": [
    {"index": 1, "pubkey": a, "balance": "100", "nonce": "0"},
    {"index": 2, "pubkey": b, "balance": "0", "nonce": "0"}]}))
PY
        t=$("$Z" sign --private-key 0909090909090909090909090909090909090909090909090909090909090909 --from 1 --to 2 --amount 40 --nonce 0 --domain 7)
        echo "{\"transfers\": [$t]}" >batch.json
        "$Z" export-wtns "${SHAPE[@]}" --state state.json --batch batch.json --domain 7 --out w.wtns >/dev/null 2>&1
        CIRCUIT=("${SHAPE[@]}")
    fi
    $S r1cs info c.r1cs 2>&1 | grep -o "# of Constraints: [0-9]*"
    timed "zkrollup ceremony new" "$Z" ceremony new --ptau t.ptau "${CIRCUIT[@]}" --out k0.zkey
    if [ "${SNARKJS_SETUP:-1}" != 0 ]; then
        timed "snarkjs groth16 setup" $S groth16 setup c.r1cs t.ptau s0.zkey
        cmp k0.zkey s0.zkey && echo "ceremony new == snarkjs groth16 setup, byte for byte"
    fi
    timed "zkrollup ceremony contribute" "$Z" ceremony contribute --in k0.zkey --out k1.zkey --entropy one
    timed "snarkjs zkey contribute" $S zkey contribute k0.zkey s1.zkey --name=two -e=two
    timed "zkrollup ceremony verify (snarkjs's contribution)" "$Z" ceremony verify --zkey s1.zkey --ptau t.ptau "${CIRCUIT[@]}"
    timed "snarkjs zkey verify (our contribution)" $S zkey verify c.r1cs t.ptau k1.zkey
    grep -q "ZKey Ok!" "$W/last.log" "$W/last.err" || { echo "snarkjs refused our contribution"; exit 1; }
    proofs
    cd "$ROOT"
done
