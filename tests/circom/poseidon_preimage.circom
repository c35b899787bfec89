pragma circom 2.0.0;
include "circomlib/circuits/poseidon.circom";

// Knows a and b with Poseidon(a, b) = hash.
template PoseidonPreimage() {
    signal input a;
    signal input b;
    signal output hash;
    component h = Poseidon(2);
    h.inputs[0] <== a;
    h.inputs[1] <== b;
    hash <== h.out;
}
component main = PoseidonPreimage();
