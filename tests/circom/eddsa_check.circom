pragma circom 2.0.0;
include "circomlib/circuits/eddsaposeidon.circom";

// A valid EdDSA-Poseidon signature on msg under the public key (Ax, Ay).
template SignedMessage() {
    signal input Ax;
    signal input Ay;
    signal input R8x;
    signal input R8y;
    signal input S;
    signal input msg;
    component v = EdDSAPoseidonVerifier();
    v.enabled <== 1;
    v.Ax <== Ax;
    v.Ay <== Ay;
    v.R8x <== R8x;
    v.R8y <== R8y;
    v.S <== S;
    v.M <== msg;
}
component main {public [Ax, Ay, msg]} = SignedMessage();
