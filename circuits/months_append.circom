pragma circom 2.1.0;

// groth16-bn254/months-append/v1 (docs/protocol/proofs.md §1): the new months root is the old
// one with the month commitment P(month_root, n_rows) written into the empty leaf `index`.

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";

// One level of a Merkle path: `bit` = 1 when `node` is the right child.
template PathLevel() {
    signal input node;
    signal input sibling;
    signal input bit;
    signal output parent;

    signal left <== node + bit * (sibling - node);
    component hash = Poseidon(2);
    hash.inputs[0] <== left;
    hash.inputs[1] <== node + sibling - left;
    parent <== hash.out;
}

template MonthsAppend(depth) {
    signal input index;
    signal input old_root;
    signal input month_root;
    signal input n_rows;
    signal input new_root;
    signal input binding;
    signal input siblings[depth];

    // index < 2^depth; its bits, least significant first, choose left or right per level.
    component bits = Num2Bits(depth);
    bits.in <== index;

    component commitment = Poseidon(2);
    commitment.inputs[0] <== month_root;
    commitment.inputs[1] <== n_rows;

    component before[depth];
    component after[depth];
    signal old_nodes[depth + 1];
    signal new_nodes[depth + 1];
    old_nodes[0] <== 0;
    new_nodes[0] <== commitment.out;
    for (var k = 0; k < depth; k++) {
        before[k] = PathLevel();
        before[k].node <== old_nodes[k];
        before[k].sibling <== siblings[k];
        before[k].bit <== bits.out[k];
        old_nodes[k + 1] <== before[k].parent;
        after[k] = PathLevel();
        after[k].node <== new_nodes[k];
        after[k].sibling <== siblings[k];
        after[k].bit <== bits.out[k];
        new_nodes[k + 1] <== after[k].parent;
    }
    old_root === old_nodes[depth];
    new_root === new_nodes[depth];

    // Bind the actuary, month and round: a public input in no constraint would not be bound.
    signal binding_squared <== binding * binding;
}
