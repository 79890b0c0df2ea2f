pragma circom 2.1.0;

// The same statement at depth 1 (724 constraints, a 2^10 setup): what the tests prove and verify quickly: MonthsAppend at depth 1.
include "months_append.circom";

component main {public [index, old_root, month_root, n_rows, new_root, binding]} = MonthsAppend(1);
