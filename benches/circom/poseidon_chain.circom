pragma circom 2.0.0;
include "circomlib/circuits/poseidon.circom";

// A benchmark circuit for the ceremony and `prove-zkey` (benches/ceremony_vs_snarkjs.sh):
// K Poseidon(2) hashes in a chain, s_{i+1} = Poseidon(s_i, i), out = s_K. At K = 255, compiled
// with --O2, it has 60,435 constraints: a domain of 2^16 with its public input rows.
template PoseidonChain(K) {
    signal input x;
    signal output out;
    signal s[K + 1];
    component h[K];
    s[0] <== x;
    for (var i = 0; i < K; i++) {
        h[i] = Poseidon(2);
        h[i].inputs[0] <== s[i];
        h[i].inputs[1] <== i;
        s[i + 1] <== h[i].out;
    }
    out <== s[K];
}
component main = PoseidonChain(255);
