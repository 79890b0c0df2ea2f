pragma circom 2.1.0;

// The circuit of groth16-bn254/months-append/v1 for the default months_depth (16): MonthsAppend at depth 16.
include "months_append.circom";

component main {public [index, old_root, month_root, n_rows, new_root, binding]} = MonthsAppend(16);
