// One phase-2 contribution with seeded entropy (zk/setup.py): the devnet's actuaries derive
// the seed from their secret, so a rerun gives the same key. Prints the contribution hash.
//   node circuits/contribute.cjs <in.zkey> <out.zkey> <name> <seed hex>
"use strict";
const { reseed } = require("./seeded.cjs");
const snarkjs = require("snarkjs");

const [input, output, name, seed] = process.argv.slice(2);
reseed(seed);
snarkjs.zKey
  .contribute(input, output, name, `seeded ${seed}`)
  .then((hash) => {
    process.stdout.write(Buffer.from(hash).toString("hex") + "\n");
    process.exit(0);
  })
  .catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
    process.exit(1);
  });
